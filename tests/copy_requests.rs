//! The storage requests a copy costs per file (issue 16): a counting test, not a timing test.
//! The storage proxy in front of Azurite records every request the tool sends; Azurite's cost
//! per request sets the rate of a copy of many small files, so the count is what is asserted.

mod common;

use common::*;
use std::collections::BTreeMap;

/// Storage requests by kind, telling the source account's from the destination's.
fn storage_requests(tb: &TestBed) -> BTreeMap<String, usize> {
    let src = format!("/{}/", tb.primary().storage_account);
    let mut out = BTreeMap::new();
    for r in tb.storage_proxy().expect("bed with the storage proxy").requests() {
        let q = r.query.as_deref().unwrap_or_default();
        let side = if r.path.starts_with(&src) { "source" } else { "destination" };
        let kind = match r.method.as_str() {
            "GET" if q.contains("comp=list") => "list",
            "GET" => "read",
            "HEAD" => "head",
            "PUT" if q.contains("comp=metadata") => "set-metadata",
            "PUT" if q.contains("comp=blocklist") => "put-block-list",
            "PUT" if q.contains("comp=block") => "put-block",
            "PUT" if q.contains("comp=lease") => "lease",
            "PUT" => "put",
            "DELETE" => "delete",
            m => m,
        };
        *out.entry(format!("{side} {kind}")).or_insert(0) += 1;
    }
    out
}

/// N small run-output files in several folders of one job: `outputs copy` into the failover
/// workspace sends, per file, one read of the source and one Put Blob that lands the bytes with
/// the service-checked MD5 and the verified sha256 — nothing else per file; everything else is
/// listing pages and the target's lock. Before this, a small file went by Copy Blob, was read back
/// to learn its sha256, and was marked verified with Set Blob Metadata (3 requests, 2 writes), and
/// the destination was listed once per folder.
#[test]
fn outputs_copy_sends_at_most_two_storage_requests_per_small_file() {
    const FOLDERS: usize = 6;
    const PER_FOLDER: usize = 10;
    let n = FOLDERS * PER_FOLDER;
    let tb = TestBed::start(TestBedOptions { storage_proxy: true, ..Default::default() }).expect("test bed starts (run scripts/setup.sh first)");
    let scratch = tempfile::tempdir().unwrap();
    let job = "many_small_outputs_1";
    let out = scratch.path().join(job).join("jobs").join(format!("{job}.run/outputs/out"));
    let mut files = Vec::new();
    for d in 0..FOLDERS {
        std::fs::create_dir_all(out.join(format!("part-{d}"))).unwrap();
        for f in 0..PER_FOLDER {
            let bytes: Vec<u8> = (0..(1000 + 37 * (d * PER_FOLDER + f))).map(|i| (i * 7 + d * 13 + f) as u8).collect();
            files.push((format!("part-{d}/file-{f}.txt"), bytes));
        }
    }
    seed_job_output(&tb, scratch.path(), job, &files);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let proxy = tb.storage_proxy().unwrap();

    proxy.reset_counters();
    let m = scratch.path().join("m.json");
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--manifest", m.to_str().unwrap(), "-o", "json"]);
    r.expect_code(0);
    let asked = storage_requests(&tb);

    // Every file landed, byte for byte, and each was checked on both sides.
    let d = Direct::new(&tb);
    let ws = &tb.primary().workspace_id;
    for (rel, bytes) in &files {
        let name = format!("failover-outputs/{ws}/{job}/outputs/out/{rel}");
        assert_eq!(d.blob(tb.failover(), &name).unwrap_or_else(|| panic!("{name} missing")).as_slice(), bytes.as_slice(), "{name}");
    }
    let v = r.json();
    let recs: Vec<&serde_json::Value> = v["items"].as_array().unwrap().iter().flat_map(|i| i["files"].as_array().into_iter().flatten()).collect();
    assert_eq!(recs.len(), n, "{v}");
    for f in &recs {
        let checks: Vec<&str> = f["checks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        assert_eq!(f["method"], "streamed", "{f}");
        let read_checked = checks.contains(&"rangeMd5") || checks.contains(&"sourceContentMd5");
        assert!(read_checked && checks.contains(&"serviceEchoMd5"), "every file's bytes checked on read and on landing: {f}");
    }

    // Requests on the files themselves (every seeded name has "/file-" in it), and the rest:
    // listing pages, and the target's lock (its own blob, taken and released once per command).
    let on_files: usize = tb.storage_proxy().unwrap().requests().iter().filter(|r| r.path.contains("/file-")).count();
    let count = |k: &str| asked.get(k).copied().unwrap_or(0);
    let listings: usize = asked.iter().filter(|(k, _)| k.ends_with(" list")).map(|(_, v)| *v).sum();
    assert_eq!((count("source read"), on_files), (n, 2 * n), "one read and one write per file, nothing else on the files: {asked:?}");
    assert_eq!(count("destination read"), 0, "nothing read back: {asked:?}");
    assert!(listings <= 3, "the source listed per job and container, the destination once, not per folder: {asked:?}");
    // The rest: the target's lock (its own blob: a HEAD, a lease taken and released, its record).
    let total: usize = asked.values().sum();
    assert!(total <= 2 * n + listings + 5, "at most 2 requests per file + listing pages + the lock: {total} for {n} files: {asked:?}");
}
