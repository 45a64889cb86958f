#!/usr/bin/env python3
"""Prints an account SAS URL for rclone's azureblob `sas_url` (Blob service, all resource types).

    account_sas.py ACCOUNT_URL ACCOUNT_NAME BASE64_KEY

rclone 1.60 with `use_emulator = true` always signs as Azurite's dev account (it ignores
`account`/`key`), and without it builds `https://<account>.<endpoint>` (no path-style URLs), so
for the test bed's own accounts it is given an account SAS on the path-style account URL.
"""
import base64
import datetime
import hashlib
import hmac
import sys
import urllib.parse


def main():
    url, account, key = sys.argv[1], sys.argv[2], sys.argv[3]
    sv, ss, srt, sp = "2019-12-12", "b", "sco", "racwdl"
    now = datetime.datetime.now(datetime.timezone.utc)
    st = (now - datetime.timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    se = (now + datetime.timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Account SAS string-to-sign for versions before 2020-12-06 (no encryption scope line).
    to_sign = "\n".join([account, sp, ss, srt, st, se, "", "", sv]) + "\n"
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
    q = urllib.parse.urlencode({"sv": sv, "ss": ss, "srt": srt, "sp": sp, "st": st, "se": se, "sig": sig})
    print(f"{url.rstrip('/')}?{q}")


if __name__ == "__main__":
    main()
