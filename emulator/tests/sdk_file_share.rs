//! The emulator's Azure Files service judged by Microsoft's Python SDK
//! `azure-storage-file-share` (pinned in emulator/tests/sdk/requirements.txt, installed into
//! `.venv-sdk` by scripts/setup.sh): `tests/sdk/file_share_check.py` round-trips a tree (nested
//! folders, unicode names, empty files, a 50 MiB random file in ranges), lists it recursively
//! across pages, downloads and compares everything, snapshots the share and reads deleted and
//! overwritten files back from the snapshot, lists shares with a prefix and with snapshots, and
//! reads through share, file and account SAS (tampered, widened and expired ones refused).
//!
//! Also here: every operation the emulator serves exists in file.json with that verb and
//! `restype`/`comp`, and raw FileREST checks the SDK cannot make (Md5Mismatch, no credentials).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aml_emulator::files::ops::OPERATIONS;
use aml_emulator::files::{FilesOptions, FilesServer};
use aml_emulator::testbed::{FilesBedOptions, TestBed, TestBedOptions};

const TIMEOUT: Duration = Duration::from_secs(600);
const PAGE_SIZE: usize = 4;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn file_share_sdk_against_the_emulator() {
    let repo = repo();
    let python = repo.join(".venv-sdk/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the pinned azure-storage-file-share into .venv-sdk)",
        python.display()
    );
    let script = repo.join("emulator/tests/sdk/file_share_check.py");
    let bed = TestBed::start_with_files(TestBedOptions::default(), FilesBedOptions { page_size: Some(PAGE_SIZE) }).expect("test bed starts");
    let env = bed.env();
    assert!(env.iter().any(|(k, v)| k == "AML_FAILOVER_FILE_ENDPOINT" && *v == bed.files_endpoint_template()), "{env:?}");

    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    let started = Instant::now();
    let mut child = Command::new(&python)
        .arg(&script)
        .current_dir(&repo)
        .envs(env)
        .env("FILES_CHECK_ACCOUNT", &bed.primary().storage_account)
        .env("FILES_CHECK_KEY", &bed.primary().storage_key)
        .env("FILES_CHECK_OTHER_ACCOUNT", &bed.failover().storage_account)
        .env("FILES_CHECK_WORKSPACE_ID", &bed.primary().workspace_id)
        .env("FILES_CHECK_PAGE_SIZE", PAGE_SIZE.to_string())
        // Only what the bed gives: no Azure login or proxy settings from the developer's shell.
        .env_remove("AZURE_STORAGE_CONNECTION_STRING")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start .venv-sdk/bin/python");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let report = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    match status {
        None => panic!("file_share_check.py did not finish within {TIMEOUT:?}\n{report}"),
        Some(s) if !s.success() => panic!("file_share_check.py failed ({s})\n{report}"),
        Some(_) => {}
    }
    eprintln!("file_share_check.py passed in {:.1} s\n{stdout}", started.elapsed().as_secs_f64());
    // What the SDK did, seen from the service: the 50 MiB file went in 4 MiB ranges with a
    // Content-MD5 each, lists crossed pages, every operation was used.
    let files = bed.files().unwrap();
    let counts = files.operation_counts();
    eprintln!("operations: {counts:?}");
    for (op, at_least) in [
        ("Service_ListSharesSegment", 8),
        ("Share_Create", 1),
        ("Share_GetProperties", 2),
        ("Share_CreateSnapshot", 1),
        ("Share_Delete", 2),
        ("Directory_Create", 12),
        ("Directory_GetProperties", 1),
        ("Directory_ListFilesAndDirectoriesSegment", 16),
        ("Directory_Delete", 2),
        ("File_Create", 16),
        ("File_UploadRange", 14),
        ("File_UploadRange+Content-MD5", 13),
        ("File_Download", 20),
        ("File_GetProperties", 3),
        ("File_Delete", 2),
    ] {
        let n = files.operation_count(op);
        assert!(n >= at_least, "{op}: {n} requests, expected at least {at_least}\n{counts:?}\n{report}");
    }
    // The share and its snapshot were deleted: no blob left behind but the default shares' (none).
    let blobs = std::fs::read_dir(bed.files().unwrap().data_dir().join("blobs")).unwrap().count();
    assert_eq!(blobs, 0, "file contents left on disk after the share was deleted");
}

fn specs_dir() -> PathBuf {
    match std::env::var_os("AML_SPECS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs"),
    }
}

#[test]
fn every_served_operation_is_in_file_json() {
    let path = specs_dir().join("storage/file/2027-03-07/file.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e} (set AML_SPECS_DIR to the vendored shared/specs)", path.display()));
    let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(spec["info"]["version"], "2027-03-07");
    let paths = spec["x-ms-paths"].as_object().unwrap();
    for op in OPERATIONS {
        let key = op.spec_path();
        let item = paths.get(&key).unwrap_or_else(|| panic!("{}: path {key:?} is not in file.json", op.operation_id));
        let verb = item.get(op.method.to_ascii_lowercase()).unwrap_or_else(|| panic!("{}: {} {key} is not in file.json", op.operation_id, op.method));
        assert_eq!(verb["operationId"], op.operation_id, "{} {key}", op.method);
        // restype/comp as file.json declares them (path-level or operation-level enum parameters).
        let mut declared = std::collections::BTreeMap::new();
        let params = item.get("parameters").and_then(|p| p.as_array()).into_iter().flatten().chain(verb.get("parameters").and_then(|p| p.as_array()).into_iter().flatten());
        for p in params {
            let p = match p.get("$ref").and_then(|r| r.as_str()) {
                Some(r) => &spec["parameters"][r.trim_start_matches("#/parameters/")],
                None => p,
            };
            if let Some(name @ ("restype" | "comp")) = p["name"].as_str() {
                if p["in"] == "query" {
                    declared.insert(name.to_string(), p["enum"][0].as_str().unwrap_or_default().to_string());
                }
            }
        }
        // Where the spec encodes them only in the path key, that key was matched above.
        if let Some(r) = op.restype {
            assert!(declared.get("restype").is_none_or(|v| v == r), "{}: restype {r} vs {declared:?}", op.operation_id);
        }
        if let Some(c) = op.comp {
            assert!(declared.get("comp").is_none_or(|v| v == c), "{}: comp {c} vs {declared:?}", op.operation_id);
        }
        if op.restype.is_none() {
            assert!(!declared.contains_key("restype"), "{}: spec declares restype {declared:?}", op.operation_id);
        }
        if op.comp.is_none() {
            assert!(!declared.contains_key("comp"), "{}: spec declares comp {declared:?}", op.operation_id);
        }
        let responses = verb["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{}: no success response", op.operation_id);
    }
}

const KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A Shared Key–signed request with the crate the tool uses.
fn signed(client: &reqwest::Client, method: reqwest::Method, url: &str, headers: &[(&str, String)], body: Vec<u8>) -> reqwest::RequestBuilder {
    let key = azure_sharedkey::SharedKey::new("acct", KEY).unwrap();
    let u = url::Url::parse(url).unwrap();
    let mut h: Vec<(String, String)> = headers.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    h.push(("x-ms-date".into(), azure_sharedkey::httpdate_now()));
    h.push(("x-ms-version".into(), "2026-02-06".into()));
    h.push(("content-length".into(), body.len().to_string()));
    let auth = key.authorization(method.as_str(), &u, h.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut rb = client.request(method, url).header("authorization", auth).body(body);
    for (k, v) in &h {
        if k != "content-length" {
            rb = rb.header(k.as_str(), v.as_str());
        }
    }
    rb
}

#[tokio::test]
async fn raw_filerest_checks() {
    let files = tokio::task::spawn_blocking(|| FilesServer::start(FilesOptions { accounts: vec![("acct".into(), KEY.into())], data_dir: None, page_size: Some(2) })).await.unwrap().unwrap();
    let base = files.account_url("acct");
    let c = reqwest::Client::builder().no_proxy().build().unwrap();
    let put = reqwest::Method::PUT;

    // No credentials → 403 AuthenticationFailed with the XML error and x-ms-error-code.
    let r = c.get(format!("{base}?comp=list")).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-ms-error-code"], "AuthenticationFailed");
    assert!(r.headers().contains_key("x-ms-request-id"));
    assert!(r.text().await.unwrap().contains("<Error><Code>AuthenticationFailed</Code><Message>"));

    let r = signed(&c, put.clone(), &format!("{base}/sh1?restype=share"), &[], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let r = signed(&c, put.clone(), &format!("{base}/sh1/f.bin"), &[("x-ms-type", "file".into()), ("x-ms-content-length", "8".into())], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 201);

    // Put Range with a wrong Content-MD5 → 400 Md5Mismatch, nothing written.
    let wrong = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [0u8; 16]);
    let range = [("x-ms-range", "bytes=0-3".to_string()), ("x-ms-write", "update".into()), ("content-md5", wrong)];
    let r = signed(&c, put.clone(), &format!("{base}/sh1/f.bin?comp=range"), &range, b"abcd".to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-ms-error-code"], "Md5Mismatch");
    // Right MD5 → 201 with the server's Content-MD5.
    let md5 = "4vxxTEcn7pOV8yTNLn8zHw=="; // md5("abcd")
    let range = [("x-ms-range", "bytes=4-7".to_string()), ("x-ms-write", "update".into()), ("content-md5", md5.into())];
    let r = signed(&c, put.clone(), &format!("{base}/sh1/f.bin?comp=range"), &range, b"abcd".to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["content-md5"], md5);
    // Past the end → 416 InvalidRange.
    let range = [("x-ms-range", "bytes=6-9".to_string()), ("x-ms-write", "update".into())];
    let r = signed(&c, put.clone(), &format!("{base}/sh1/f.bin?comp=range"), &range, b"abcd".to_vec()).send().await.unwrap();
    assert_eq!(r.status(), 416);
    assert_eq!(r.headers()["x-ms-error-code"], "InvalidRange");

    // Get File: full, and a range with Range (not x-ms-range) → 206 + Content-Range.
    let r = signed(&c, reqwest::Method::GET, &format!("{base}/sh1/f.bin"), &[], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\0\0\0\0abcd");
    let r = signed(&c, reqwest::Method::GET, &format!("{base}/sh1/f.bin"), &[("range", "bytes=3-".into())], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.headers()["content-range"], "bytes 3-7/8");
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"\0abcd");
    // HEAD: x-ms-type and the file's Content-Length.
    let r = signed(&c, reqwest::Method::HEAD, &format!("{base}/sh1/f.bin"), &[], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-ms-type"], "File");
    assert_eq!(r.headers()["content-length"], "8");

    // An operation of file.json the emulator does not serve → 501, said plainly.
    let r = signed(&c, put.clone(), &format!("{base}/sh1/f.bin?comp=lease"), &[], vec![]).send().await.unwrap();
    assert_eq!(r.status(), 501);

    // Directory listing pages with NextMarker (page size 2).
    for n in ["a", "b", "c"] {
        let r = signed(&c, put.clone(), &format!("{base}/sh1/{n}?restype=directory"), &[], vec![]).send().await.unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = signed(&c, reqwest::Method::GET, &format!("{base}/sh1?restype=directory&comp=list"), &[], vec![]).send().await.unwrap();
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<Directory><Name>a</Name><Properties></Properties></Directory><Directory><Name>b</Name>"), "{xml}");
    let marker = xml.split("<NextMarker>").nth(1).and_then(|s| s.split("</NextMarker>").next()).expect("a NextMarker").to_string();
    let r = signed(&c, reqwest::Method::GET, &format!("{base}/sh1?restype=directory&comp=list&marker={marker}"), &[], vec![]).send().await.unwrap();
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<Directory><Name>c</Name>") && xml.contains("<File><Name>f.bin</Name><Properties><Content-Length>8</Content-Length>") && xml.contains("<NextMarker />"), "{xml}");
    tokio::task::spawn_blocking(move || drop(files)).await.unwrap();
}

#[test]
fn seed_share_copies_a_local_folder() {
    let src = tempfile::tempdir().unwrap();
    let nb = src.path().join("Users/zoë/ノート");
    std::fs::create_dir_all(&nb).unwrap();
    std::fs::write(nb.join("Ünïcode.ipynb"), b"{\"cells\": []}").unwrap();
    std::fs::write(src.path().join("Users/empty.txt"), b"").unwrap();
    let files = FilesServer::start(FilesOptions { accounts: vec![("acct".into(), KEY.into())], data_dir: None, page_size: None }).unwrap();
    assert_eq!(files.seed_share("acct", aml_emulator::files::CODE_SHARE, src.path()).unwrap(), 2);
    let st = files.store();
    let v = st.file("acct", aml_emulator::files::CODE_SHARE, None, "Users/zoë/ノート/Ünïcode.ipynb").unwrap();
    assert_eq!((v.size, std::fs::read(&v.blob_path).unwrap()), (13, b"{\"cells\": []}".to_vec()));
    assert_eq!(st.file("acct", aml_emulator::files::CODE_SHARE, None, "Users/empty.txt").unwrap().size, 0);
    // Seeding again replaces the files and keeps the directories.
    assert_eq!(files.seed_share("acct", aml_emulator::files::CODE_SHARE, src.path()).unwrap(), 2);
}
