"""Microsoft's azure-storage-file-share SDK against aml-emulator's Azure Files service.

Run by emulator/tests/sdk_file_share.rs with .venv-sdk/bin/python (scripts/setup.sh installs it)
and the variables of a test bed started with TestBed::start_with_files:
AML_FAILOVER_FILE_ENDPOINT (http://127.0.0.1:F/{account}), FILES_CHECK_ACCOUNT, FILES_CHECK_KEY,
FILES_CHECK_OTHER_ACCOUNT, FILES_CHECK_WORKSPACE_ID, FILES_CHECK_PAGE_SIZE.

Round-trips a tree (nested folders, unicode names, empty files, a 50 MiB random file uploaded in
4 MiB ranges with Content-MD5) through ShareServiceClient with the account key, lists it back
recursively (crossing pages), downloads everything and compares bytes and sizes; snapshots the
share, deletes and overwrites files and reads the old content from the snapshot; lists shares
with a prefix and with snapshots; reads through share, file and account SAS and checks that a
tampered or too-narrow SAS is refused. Any connection to a host other than loopback fails the
run. Exits 0 when every check passed, 1 with the failures otherwise.
"""

import base64
import hashlib
import os
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone


def env(name):
    value = os.environ.get(name)
    if not value:
        sys.exit(f"file_share_check: environment variable {name} is not set (run through emulator/tests/sdk_file_share.rs)")
    return value


TEMPLATE = env("AML_FAILOVER_FILE_ENDPOINT")
ACCOUNT = env("FILES_CHECK_ACCOUNT")
KEY = env("FILES_CHECK_KEY")
OTHER_ACCOUNT = env("FILES_CHECK_OTHER_ACCOUNT")
WORKSPACE_ID = env("FILES_CHECK_WORKSPACE_ID")
PAGE_SIZE = int(env("FILES_CHECK_PAGE_SIZE"))
ACCOUNT_URL = TEMPLATE.replace("{account}", ACCOUNT)
CODE_SHARE = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6"

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback_guard import OUTSIDE  # noqa: E402  (nothing may leave the machine)

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError  # noqa: E402
from azure.storage.fileshare import (  # noqa: E402
    AccountSasPermissions,
    ContentSettings,
    FileSasPermissions,
    ResourceTypes,
    ShareClient,
    ShareFileClient,
    ShareSasPermissions,
    ShareServiceClient,
    generate_account_sas,
    generate_file_sas,
    generate_share_sas,
)

FAILURES = []
STEPS = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print(f"FAIL {what}", flush=True)


def step(name):
    def deco(fn):
        def run(*a, **kw):
            t0 = time.monotonic()
            try:
                out = fn(*a, **kw)
                STEPS.append((name, time.monotonic() - t0))
                print(f"ok   {name} ({time.monotonic() - t0:.2f} s)", flush=True)
                return out
            except Exception:  # noqa: BLE001 - every failure is reported, then the run fails
                FAILURES.append(f"{name}: {traceback.format_exc()}")
                print(f"FAIL {name}\n{traceback.format_exc()}", flush=True)
                return None

        return run

    return deco


def error_code(exc):
    return getattr(exc, "error_code", None) or (exc.response.headers.get("x-ms-error-code") if getattr(exc, "response", None) is not None else None)


def expect_error(fn, status, code, what):
    try:
        fn()
    except HttpResponseError as e:  # ClientAuthenticationError and ResourceNotFoundError are subclasses
        check(e.status_code == status, f"{what}: status {e.status_code}, expected {status}")
        check(error_code(e) == code, f"{what}: error code {error_code(e)!r}, expected {code!r}")
        return
    check(False, f"{what}: no error, expected {status} {code}")


BIG = 50 * 1024 * 1024
NOTEBOOK = b'{"cells": [{"cell_type": "markdown", "source": ["# \xc3\xbc"]}], "nbformat": 4, "nbformat_minor": 5}\n'
TREE = {
    "Users/zoë/ノート/Ünïcode.ipynb": NOTEBOOK,
    "Users/zoë/ノート/empty.ipynb": b"",
    "Users/zoë/a&b #1 %20 'q'.txt": b"special characters in the name\n",
    "Users/alice/deep/er/and/deeper/x.ipynb": NOTEBOOK * 3,
    "Users/alice/empty-dir-sibling.txt": b"",
    "big/random.bin": None,  # 50 MiB of random bytes, filled below
}
for i in range(PAGE_SIZE * 2 + 1):
    TREE[f"Users/many/notebook-{i:02}.ipynb"] = NOTEBOOK + str(i).encode()
EMPTY_DIRS = ["Users/bob/empty"]


def dirs_of(paths):
    out = set()
    for p in paths:
        parts = p.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            out.add("/".join(parts[:i]))
    return sorted(out, key=lambda d: (d.count("/"), d))


def walk(share, path=""):
    """Every (path, is_dir, size) under `path`, and the number of pages of each list."""
    found, pages = [], {}
    d = share.get_directory_client(path)
    n = 0
    for page in d.list_directories_and_files().by_page():
        n += 1
        for item in page:
            p = f"{path}/{item['name']}" if path else item["name"]
            if item["is_directory"]:
                found.append((p, True, None))
                sub, subpages = walk(share, p)
                found.extend(sub)
                pages.update(subpages)
            else:
                found.append((p, False, item["size"]))
    pages[path] = n
    return found, pages


def main():
    t_start = time.monotonic()
    TREE["big/random.bin"] = os.urandom(BIG)
    conn = f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};FileEndpoint={ACCOUNT_URL}"
    svc = ShareServiceClient.from_connection_string(conn)
    share_name = f"sdk-check-{uuid.uuid4().hex[:8]}"
    share = svc.get_share_client(share_name)
    state = {}

    @step("default shares of the workspace exist")
    def default_shares():
        names = {s.name for s in svc.list_shares()}
        check(CODE_SHARE in names, f"{CODE_SHARE} missing from {names}")
        check(f"azureml-filestore-{WORKSPACE_ID}" in names, f"azureml-filestore-{WORKSPACE_ID} missing from {names}")
        props = svc.get_share_client(CODE_SHARE).get_share_properties()
        check(props.quota > 0 and props.etag and props.last_modified, f"share properties {props}")

    @step("create share; duplicate is ShareAlreadyExists")
    def create_share():
        share.create_share(metadata={"purpose": "sdk"})
        expect_error(lambda: share.create_share(), 409, "ShareAlreadyExists", "second create_share")

    @step("upload tree (directories, unicode, empty, 50 MiB in ranges with Content-MD5)")
    def upload():
        for d in dirs_of(list(TREE) + [e + "/x" for e in EMPTY_DIRS]):
            share.get_directory_client(d).create_directory()
        expect_error(lambda: share.get_directory_client("Users").create_directory(), 409, "ResourceAlreadyExists", "create existing directory")
        expect_error(lambda: share.get_directory_client("nope/sub").create_directory(), 404, "ParentNotFound", "create directory without parent")
        for path, data in TREE.items():
            fc = share.get_file_client(path)
            if path.endswith("Ünïcode.ipynb"):
                md5 = hashlib.md5(data).digest()
                fc.upload_file(data, content_settings=ContentSettings(content_type="application/x-ipynb+json", content_md5=md5))
            else:
                fc.upload_file(data, validate_content=(path == "big/random.bin"), max_concurrency=2)

    @step("get properties: size, content type, content MD5")
    def properties():
        p = share.get_file_client("big/random.bin").get_file_properties()
        check(p.size == BIG, f"big size {p.size}")
        p = share.get_file_client("Users/zoë/ノート/Ünïcode.ipynb").get_file_properties()
        check(p.size == len(NOTEBOOK), f"notebook size {p.size}")
        check(p.content_settings.content_type == "application/x-ipynb+json", f"content type {p.content_settings.content_type}")
        check(bytes(p.content_settings.content_md5 or b"") == hashlib.md5(NOTEBOOK).digest(), f"content md5 {p.content_settings.content_md5}")
        d = share.get_directory_client("Users/zoë").get_directory_properties()
        check(bool(d.etag) and d.last_modified is not None, f"directory properties {d}")

    @step("list recursively (crossing pages) and compare names, kinds and sizes")
    def listing():
        found, pages = walk(share)
        files = {p: s for p, is_dir, s in found if not is_dir}
        dirs = {p for p, is_dir, _ in found if is_dir}
        check(files == {p: len(d) for p, d in TREE.items()}, f"listed files differ: {sorted(set(files) ^ set(TREE))}")
        check(dirs == set(dirs_of(list(TREE) + [e + "/x" for e in EMPTY_DIRS])), f"listed directories {sorted(dirs)}")
        check(pages.get("Users/many", 0) >= 3, f"Users/many listed in {pages.get('Users/many')} pages (page size {PAGE_SIZE})")
        by_prefix = [i["name"] for i in share.get_directory_client("Users/many").list_directories_and_files(name_starts_with="notebook-1")]
        check(by_prefix == [n for n in sorted(p.split("/")[-1] for p in TREE if p.startswith("Users/many/notebook-1"))], f"prefix list {by_prefix}")
        state["pages"] = pages

    @step("download everything and compare bytes; ranged download")
    def download():
        for path, data in TREE.items():
            got = share.get_file_client(path).download_file(max_concurrency=2).readall()
            check(len(got) == len(data), f"{path}: {len(got)} bytes, expected {len(data)}")
            check(hashlib.sha256(got).digest() == hashlib.sha256(data).digest(), f"{path}: content differs")
        big = TREE["big/random.bin"]
        part = share.get_file_client("big/random.bin").download_file(offset=BIG - 1000, length=5000).readall()
        check(part == big[BIG - 1000:], "ranged download past the end")
        part = share.get_file_client("big/random.bin").download_file(offset=12345, length=4096, validate_content=True).readall()
        check(part == big[12345:12345 + 4096], "ranged download with x-ms-range-get-content-md5")

    @step("errors: missing file, non-empty directory")
    def errors():
        expect_error(lambda: share.get_file_client("Users/nobody.ipynb").download_file().readall(), 404, "ResourceNotFound", "download missing file")
        expect_error(lambda: share.get_directory_client("Users/many").delete_directory(), 409, "DirectoryNotEmpty", "delete non-empty directory")
        expect_error(lambda: svc.get_share_client("no-such-share").get_share_properties(), 404, "ShareNotFound", "missing share")

    @step("snapshot; delete and overwrite; read old content from the snapshot")
    def snapshot():
        snap = share.create_snapshot()
        value = snap["snapshot"]
        check(len(value) == 28 and value.endswith("Z"), f"snapshot value {value!r}")
        share.get_file_client("Users/zoë/ノート/Ünïcode.ipynb").delete_file()
        share.get_file_client("Users/alice/deep/er/and/deeper/x.ipynb").upload_file(b"overwritten")
        share.get_file_client("big/random.bin").upload_range(b"\0" * 4096, offset=0, length=4096)
        expect_error(lambda: share.get_file_client("Users/zoë/ノート/Ünïcode.ipynb").get_file_properties(), 404, "ResourceNotFound", "deleted file")
        old = svc.get_share_client(share_name, snapshot=value)
        check(old.get_file_client("Users/zoë/ノート/Ünïcode.ipynb").download_file().readall() == NOTEBOOK, "deleted file from snapshot")
        check(old.get_file_client("Users/alice/deep/er/and/deeper/x.ipynb").download_file().readall() == NOTEBOOK * 3, "overwritten file from snapshot")
        big_old = old.get_file_client("big/random.bin").download_file(max_concurrency=2).readall()
        check(big_old == TREE["big/random.bin"], "big file from snapshot (after a range write on the live file)")
        names = [i["name"] for i in old.get_directory_client("Users/zoë/ノート").list_directories_and_files()]
        check("Ünïcode.ipynb" in names, f"snapshot listing {names}")
        live = [i["name"] for i in share.get_directory_client("Users/zoë/ノート").list_directories_and_files()]
        check("Ünïcode.ipynb" not in live, f"live listing {live}")
        expect_error(lambda: old.get_directory_client("Users/zoë").create_directory(), 400, "ShareSnapshotOperationNotSupported", "write to a snapshot")
        state["snapshot"] = value

    @step("list shares with a prefix and with snapshots")
    def list_shares():
        plain = [(s.name, s.snapshot) for s in svc.list_shares(name_starts_with="sdk-check-")]
        check((share_name, None) in plain and all(n.startswith("sdk-check-") and s is None for n, s in plain), f"prefix list {plain}")
        with_snaps = [(s.name, s.snapshot) for s in svc.list_shares(name_starts_with=share_name, include_snapshots=True, include_metadata=True)]
        check(with_snaps == [(share_name, state.get("snapshot")), (share_name, None)], f"list with snapshots {with_snaps}")
        meta = [s.metadata for s in svc.list_shares(name_starts_with=share_name, include_metadata=True)]
        check(meta == [{"purpose": "sdk"}], f"metadata {meta}")
        code = [s.name for s in svc.list_shares(name_starts_with="code-")]
        check(code == [CODE_SHARE], f"code- prefix {code}")
        paged = [s.name for s in svc.list_shares(results_per_page=1)]
        check(len(paged) >= 3 and paged == sorted(paged), f"paged share list {paged}")

    @step("SAS: share, file and account SAS read; tampered and too narrow refused")
    def sas():
        expiry = datetime.now(timezone.utc) + timedelta(hours=1)
        token = generate_share_sas(ACCOUNT, share_name, account_key=KEY, permission=ShareSasPermissions(read=True, list=True), expiry=expiry)
        via = ShareClient(account_url=ACCOUNT_URL, share_name=share_name, credential=token)
        names = sorted(i["name"] for i in via.get_directory_client("Users/zoë").list_directories_and_files())
        check("ノート" in names, f"share SAS listing {names}")
        check(via.get_file_client("Users/many/notebook-00.ipynb").download_file().readall() == TREE["Users/many/notebook-00.ipynb"], "share SAS download")
        expect_error(lambda: via.get_file_client("Users/sas-write.txt").upload_file(b"x"), 403, "AuthorizationPermissionMismatch", "write with a read/list share SAS")

        path = "Users/zoë/a&b #1 %20 'q'.txt"
        ftoken = generate_file_sas(ACCOUNT, share_name, path.split("/"), account_key=KEY, permission=FileSasPermissions(read=True), expiry=expiry)
        fc = ShareFileClient(account_url=ACCOUNT_URL, share_name=share_name, file_path=path, credential=ftoken)
        check(fc.download_file().readall() == TREE[path], "file SAS download")
        other = ShareFileClient(account_url=ACCOUNT_URL, share_name=share_name, file_path="Users/many/notebook-01.ipynb", credential=ftoken)
        expect_error(lambda: other.download_file().readall(), 403, "AuthenticationFailed", "file SAS used on another file")

        sig = token.split("sig=")[1].split("&")[0]
        flipped = ("B" if sig[0] != "B" else "C") + sig[1:]
        bad = ShareClient(account_url=ACCOUNT_URL, share_name=share_name, credential=token.replace(sig, flipped))
        expect_error(lambda: bad.get_file_client("Users/many/notebook-00.ipynb").download_file().readall(), 403, "AuthenticationFailed", "tampered SAS")
        longer = token.replace("sp=rl", "sp=rwdl")
        check(longer != token, "token has sp=rl")
        widened = ShareClient(account_url=ACCOUNT_URL, share_name=share_name, credential=longer)
        expect_error(lambda: widened.get_file_client("Users/many/notebook-00.ipynb").delete_file(), 403, "AuthenticationFailed", "SAS with widened permissions")
        past = generate_share_sas(ACCOUNT, share_name, account_key=KEY, permission=ShareSasPermissions(read=True), expiry=datetime.now(timezone.utc) - timedelta(minutes=10))
        expect_error(lambda: ShareClient(account_url=ACCOUNT_URL, share_name=share_name, credential=past).get_file_client("Users/many/notebook-00.ipynb").download_file().readall(), 403, "AuthenticationFailed", "expired SAS")

        atoken = generate_account_sas(ACCOUNT, KEY, resource_types=ResourceTypes(service=True, container=True, object=True), permission=AccountSasPermissions(read=True, list=True), expiry=expiry)
        asvc = ShareServiceClient(account_url=ACCOUNT_URL, credential=atoken)
        check(share_name in [s.name for s in asvc.list_shares(name_starts_with="sdk-check-")], "account SAS list shares")
        check(asvc.get_share_client(share_name).get_file_client("Users/many/notebook-02.ipynb").download_file().readall() == TREE["Users/many/notebook-02.ipynb"], "account SAS download")
        expect_error(lambda: asvc.create_share("sdk-sas-denied"), 403, "AuthorizationPermissionMismatch", "create share with a read/list account SAS")

        other_key = ShareServiceClient(account_url=TEMPLATE.replace("{account}", OTHER_ACCOUNT), credential={"account_name": OTHER_ACCOUNT, "account_key": KEY})
        expect_error(lambda: list(other_key.list_shares()), 403, "AuthenticationFailed", "Shared Key with another account's key")

    @step("delete: file, empty directory, snapshot, share")
    def cleanup():
        share.get_file_client("Users/alice/empty-dir-sibling.txt").delete_file()
        share.get_directory_client("Users/bob/empty").delete_directory()
        expect_error(lambda: share.delete_share(), 409, "ShareHasSnapshots", "delete share with snapshots")
        svc.get_share_client(share_name, snapshot=state.get("snapshot")).delete_share()
        share.delete_share()
        check(share_name not in [s.name for s in svc.list_shares(include_snapshots=True)], "share deleted")

    default_shares()
    create_share()
    upload()
    properties()
    listing()
    download()
    errors()
    snapshot()
    list_shares()
    sas()
    cleanup()

    check(not OUTSIDE, f"non-local hosts were contacted: {OUTSIDE}")
    print(f"pages per listed directory: {state.get('pages')}")
    print(f"total {time.monotonic() - t_start:.1f} s")
    if FAILURES:
        print(f"\n{len(FAILURES)} failure(s)")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
