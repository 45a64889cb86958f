//! Nothing is recorded or reported as verified unless a check independent of the reader
//! confirms every byte (issue 12, items 1 and 2), through the binary against the test bed
//! with the storage proxy's faults. Every assertion on content re-hashes the target's bytes,
//! downloaded by the test itself, against the source's: never the tool's own metadata.

mod common;

use aml_emulator::storage_proxy::StorageFault;
use common::*;
use serde_json::Value;

const MIB: usize = 1024 * 1024;

/// Deterministic bytes that differ with `seed`.
fn payload(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// The blob of the seeded model `local-file-example` version 1 in the primary.
fn source_blob(d: &Direct, tb: &TestBed) -> String {
    let src = d.get(&format!("{}/models/local-file-example/versions/1", tb.primary().arm_id())).expect("seeded model");
    datastore_path(src["properties"]["modelUri"].as_str().unwrap())
}

/// The bytes of `local-file-example` version 1 in the failover workspace, downloaded by the
/// test (`None`: not registered there).
fn target_bytes(d: &Direct, tb: &TestBed) -> Option<Vec<u8>> {
    let t = d.get(&format!("{}/models/local-file-example/versions/1", tb.failover().arm_id()))?;
    Some(d.blob(tb.failover(), &datastore_path(t["properties"]["modelUri"].as_str().unwrap())).expect("a registered model's blob"))
}

fn item(report: &Value) -> &Value {
    report["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "local-file-example" && i["version"] == "1")
        .unwrap_or_else(|| panic!("no local-file-example:1 in {report}"))
}

fn copy(tb: &TestBed, manifest: &str) -> Vec<String> {
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    ["copy", "--from", &from, "--to", &to, "--kinds", "models", "--server-side", "never", "--block-size-mib", "1", "--manifest", manifest, "-o", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn run_args(tb: &TestBed, args: &[String]) -> Run {
    run(command(tb), &args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Every read of `blob` arrives with one byte flipped: the item fails as corrupted in
/// transfer and nothing is registered (bytes the test re-hashes itself, if any landed).
fn every_corrupted_read_fails_the_item(tb: &TestBed, d: &Direct, blob: &str, m: &str, want: &str) {
    tb.set_storage_fault(StorageFault::corrupt_response(100).on("GET", blob));
    let r = run_args(tb, &copy(tb, m));
    if let Some(bytes) = target_bytes(d, tb) {
        assert_eq!(sha256_hex(&bytes), want, "corrupted bytes registered in the target (exit {}):\n{}", r.code, r.stdout);
    }
    r.expect_code(1);
    let v = r.json();
    let it = item(&v);
    assert_eq!(it["status"], "failed", "{it}");
    assert!(it["reason"].as_str().unwrap().contains("corrupted in transfer"), "{it}");
    assert!(target_bytes(d, tb).is_none(), "a corrupted item was registered");
}

/// One read of `blob` corrupted: the file is read again and the copy ends byte-identical
/// (re-hashed by the test). Returns the copy's report.
fn one_corrupted_read_is_read_again(tb: &TestBed, d: &Direct, blob: &str, m: &str, want: &str) -> Value {
    tb.clear_storage_faults();
    tb.set_storage_fault(StorageFault::corrupt_response(100).on("GET", blob).times(1));
    let r = run_args(tb, &copy(tb, m));
    assert_eq!(target_bytes(d, tb).as_deref().map(sha256_hex).as_deref(), Some(want), "exit {}:\n{}\n{}", r.code, r.stdout, r.stderr);
    r.expect_code(0);
    r.json()
}

#[test]
fn bytes_corrupted_on_the_way_from_a_blob_without_content_md5_are_never_verified() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let blob = source_blob(&d, &tb);
    // Uploaded in blocks without any MD5, as SDKs do for large files: the service keeps no
    // Content-MD5, so only the service's MD5 of each range can vouch for the bytes read.
    let content = payload(3 * MIB + 123, 1);
    d.put_blob_in_blocks(tb.primary(), &blob, &content, MIB);
    let want = sha256_hex(&content);
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();

    // Every read of the source arrives with one byte flipped: the item fails, nothing is
    // registered, and verify does not call the target in sync.
    every_corrupted_read_fails_the_item(&tb, &d, &blob, &m, &want);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let verify = run(command(&tb), &["verify", "--from", &from, "--to", &to, "--kinds", "models", "-o", "json"]);
    assert_ne!(verify.code, 0, "verify says in sync over a failed copy:\n{}", verify.stdout);

    // One corrupted read: caught by the range MD5, the file is read again, and the copy
    // ends byte-identical, saying which check verified it.
    let v = one_corrupted_read_is_read_again(&tb, &d, &blob, &m, &want);
    let it = item(&v);
    assert_eq!(it["status"], "copied", "{it}");
    let checks = &it["files"][0]["checks"];
    assert!(checks.as_array().is_some_and(|c| c.contains(&Value::from("rangeMd5"))), "{it}");

    // A rerun skips it (the target holds the right bytes), and verify says in sync — over
    // bytes the test re-hashed itself.
    tb.clear_storage_faults();
    let r = run_args(&tb, &copy(&tb, &m));
    r.expect_code(0);
    assert_eq!(item(&r.json())["status"], "skipped");
    let verify = run(command(&tb), &["verify", "--from", &from, "--to", &to, "--kinds", "models", "-o", "json"]);
    verify.expect_code(0);
    assert_eq!(target_bytes(&d, &tb).as_deref().map(sha256_hex), Some(want));
}

#[test]
fn bytes_corrupted_on_the_way_from_a_blob_with_content_md5_are_caught_by_its_whole_md5() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let blob = source_blob(&d, &tb);
    // One Put Blob: the service stores the blob's Content-MD5. The whole file's MD5, checked
    // against it before anything is published, vouches for the bytes read: no per-range MD5 is
    // asked for (one MD5 pass per byte instead of two), and a corrupted read is still never
    // published.
    let content = payload(6 * MIB + 123, 4);
    d.put_blob(tb.primary(), &blob, &content);
    let want = sha256_hex(&content);
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();

    // Every read of one block arrives with one byte flipped: the item fails, nothing registered.
    every_corrupted_read_fails_the_item(&tb, &d, &blob, &m, &want);

    // One corrupted read: the file is read again and the copy ends byte-identical, vouched for
    // by the source's Content-MD5 (and confirmed by the service's echo of it), not range MD5s.
    let v = one_corrupted_read_is_read_again(&tb, &d, &blob, &m, &want);
    let checks: Vec<&str> = item(&v)["files"][0]["checks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert_eq!(checks, ["sourceContentMd5", "serviceEchoMd5"], "{}", item(&v));
}

#[test]
fn a_source_rewritten_during_the_copy_is_never_copied_with_mixed_bytes() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let blob = source_blob(&d, &tb);
    let old = payload(3 * MIB, 2);
    let new = payload(3 * MIB + 1000, 3);
    d.put_blob_in_blocks(tb.primary(), &blob, &old, MIB);
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();

    // The first read of the source is held back 3 s; meanwhile the other blocks are read and
    // the blob is rewritten: the held-back read would return bytes of the new version.
    tb.set_storage_fault(StorageFault::slow(3000).on("GET", &blob).times(1));
    let mut c = command(&tb);
    c.args(copy(&tb, &m)).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let child = c.spawn().expect("the binary runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while tb.storage_request_count("GET", &blob) == 0 {
        assert!(std::time::Instant::now() < deadline, "the copy never read the source");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    d.put_blob_in_blocks(tb.primary(), &blob, &new, MIB);
    let r: Run = child.wait_with_output().unwrap().into();

    let v = r.json();
    let it = item(&v);
    match target_bytes(&d, &tb) {
        // Copied: every byte is of the new version.
        Some(bytes) => {
            assert_eq!(sha256_hex(&bytes), sha256_hex(&new), "mixed or stale bytes registered as verified: {it}");
            assert_eq!(it["status"], "copied", "{it}");
            r.expect_code(0);
        }
        None => {
            assert_eq!(it["status"], "failed", "{it}");
            assert!(it["reason"].as_str().unwrap().contains("changed during the copy"), "{it}");
            r.expect_code(1);
        }
    }
    // Either way, a rerun ends with the new version, verified.
    tb.clear_storage_faults();
    let r = run_args(&tb, &copy(&tb, &m));
    r.expect_code(0);
    assert_eq!(target_bytes(&d, &tb).as_deref().map(sha256_hex), Some(sha256_hex(&new)));
}

/// A TLS failure (here: the emulator's certificate, not trusted) is not a transient failure:
/// it is not retried, and it is reported on one plain line (no ANSI colour on a non-terminal).
#[test]
fn a_tls_failure_is_not_retried_and_is_one_plain_line() {
    let tb = testbed(None, false);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_CA_CERT");
    let r = run(c, &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--dry-run", "-v"]);
    assert_eq!(r.code, 5, "exit code\n--- stdout\n{}\n--- stderr\n{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains('\u{1b}'), "ANSI colour on a non-terminal stderr:\n{}", r.stderr);
    assert!(!r.stderr.contains("retrying"), "a TLS failure was retried:\n{}", r.stderr);
    let errors: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(errors[0].contains("certificate"), "{}", r.stderr);
    let after: Vec<&str> = r.stderr.lines().skip_while(|l| !l.starts_with("error:")).skip(1).collect();
    assert!(after.iter().all(|l| l.trim().is_empty()), "the error spans several lines:\n{}", r.stderr);
}

/// A block whose bytes change on the way to the target is refused by the service (its MD5 does
/// not match the one sent with it): the file is tried again, and when it keeps happening the
/// item fails saying so — not as a bare "400 InvalidOperation".
#[test]
fn a_put_corrupted_on_the_way_is_named_as_such_and_tried_again() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let src = d.blob(tb.primary(), &source_blob(&d, &tb)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    tb.set_storage_fault(StorageFault::corrupt_request(10).on("PUT", "model.pkl"));
    let r = run_args(&tb, &copy(&tb, &m));
    r.expect_code(1);
    let v = r.json();
    let it = item(&v);
    assert_eq!(it["status"], "failed", "{it}");
    let reason = it["reason"].as_str().unwrap();
    assert!(reason.contains("received bytes whose MD5 did not match what was sent (corrupted on the way"), "{it}");
    assert!(target_bytes(&d, &tb).is_none(), "a corrupted item was registered");

    tb.clear_storage_faults();
    tb.set_storage_fault(StorageFault::corrupt_request(10).on("PUT", "model.pkl").times(1));
    let r = run_args(&tb, &copy(&tb, &m));
    r.expect_code(0);
    assert_eq!(target_bytes(&d, &tb).as_deref().map(sha256_hex), Some(sha256_hex(&src)));
}
