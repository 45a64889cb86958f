//! `aml-failover notebooks list|recover|copy` through the built binary, against the emulator's
//! Azure Files service: recovery of a deleted workspace's notebooks from its storage account.

mod common;

use aml_emulator::testbed::{FilesBedOptions, TestBedOptions};
use common::*;
use std::path::{Path, PathBuf};

const WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

fn notebooks_seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/notebooks")
}

fn files_bed() -> TestBed {
    TestBed::start_with_files(TestBedOptions::default(), FilesBedOptions { page_size: Some(2) }).expect("test bed starts")
}

/// Every file under a local folder: (relative path, bytes).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The bytes of a file in a share, read from the emulator's own store (not through the tool).
fn share_file(tb: &TestBed, account: &str, share: &str, path: &str) -> Option<Vec<u8>> {
    let v = tb.files().unwrap().store().file(account, share, None, path).ok()?;
    let mut bytes = std::fs::read(&v.blob_path).unwrap();
    bytes.truncate(v.size as usize);
    Some(bytes)
}

fn delete_workspace(tb: &TestBed, ws: &aml_emulator::testbed::WorkspaceInfo) {
    let d = Direct::new(tb);
    let status = d.delete(&ws.arm_id());
    assert!(status < 300, "deleting the workspace: {status}");
    assert!(d.get(&ws.arm_id()).is_none(), "the workspace still exists");
}

#[test]
fn a_deleted_workspaces_notebooks_are_found_by_id_and_restored_byte_identical() {
    let tb = files_bed();
    let p = tb.primary().clone();
    tb.seed_share(&p.storage_account, WORKING_DIR, &notebooks_seed()).unwrap();
    delete_workspace(&tb, &p);

    // Without an id: the candidates, and nothing copied.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--to", &tb.failover().arm_id()]);
    r.expect_code(2);
    assert!(r.stdout.contains(WORKING_DIR), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("azureml-filestore-{}", p.workspace_id)), "{}", r.stdout);
    assert!(r.stderr.contains("--workspace-id"), "{}", r.stderr);
    assert!(share_file(&tb, &tb.failover().storage_account, WORKING_DIR, "Users/bob/data.csv").is_none());

    // With the id: into the failover workspace's notebooks share.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id,
        "--to", &tb.failover().arm_id(), "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let expected = tree(&notebooks_seed());
    assert_eq!(r.json()["summary"]["copied"].as_u64().unwrap() as usize, expected.len());
    for (rel, bytes) in &expected {
        assert_eq!(share_file(&tb, &tb.failover().storage_account, WORKING_DIR, rel).as_ref(), Some(bytes), "{rel}");
    }
    // And into a local folder.
    let out = dir.path().join("restored");
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id,
        "--to-dir", out.to_str().unwrap(), "--manifest", &m]);
    r.expect_code(0);
    assert_eq!(tree(&out), expected);

    // A rerun into the workspace is a no-op.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id,
        "--to", &tb.failover().arm_id(), "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["copied"], 0, "{}", v["summary"]);
    assert_eq!(v["summary"]["bytesTransferred"], 0);
    assert_no_secrets(&tb, &r);
}

#[test]
fn older_workspaces_filestore_share_and_snapshots() {
    let tb = files_bed();
    let p = tb.primary().clone();
    let share = format!("azureml-filestore-{}", p.workspace_id);
    tb.seed_share(&p.storage_account, &share, &notebooks_seed()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("restored");
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "list", "--storage-account", &p.storage_account, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let s = v["shares"].as_array().unwrap().iter().find(|s| s["share"] == share.as_str()).unwrap().clone();
    assert_eq!(s["files"].as_u64().unwrap() as usize, tree(&notebooks_seed()).len());
    assert_eq!(s["workspaceId"], p.workspace_id.as_str());
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id,
        "--to-dir", out.to_str().unwrap(), "--manifest", &m]);
    r.expect_code(0);
    assert_eq!(tree(&out), tree(&notebooks_seed()));
    // A snapshot keeps a file deleted later; restoring from it brings the file back.
    let store = tb.files().unwrap().store();
    let (snap, _) = store.create_snapshot(&p.storage_account, &share, Default::default()).unwrap();
    store.delete_file(&p.storage_account, &share, "Users/bob/data.csv").unwrap();
    let from_snapshot = dir.path().join("from-snapshot");
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "list", "--storage-account", &p.storage_account]);
    r.expect_code(0);
    assert!(r.stdout.contains(&format!("snapshot {snap}")), "{}", r.stdout);
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--share", &share, "--snapshot", &snap,
        "--to-dir", from_snapshot.to_str().unwrap(), "--manifest", &m]);
    r.expect_code(0);
    assert_eq!(tree(&from_snapshot), tree(&notebooks_seed()));
    assert!(from_snapshot.join("Users/bob/data.csv").exists());

    // A snapshot that does not exist is a clear not-found.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--share", &share,
        "--snapshot", "2020-01-01T00:00:00.0000000Z", "--to-dir", out.to_str().unwrap(), "--manifest", &m]);
    r.expect_code(4);
    assert!(r.stderr.contains("no snapshot"), "{}", r.stderr);
}

#[test]
fn a_name_that_would_escape_is_refused_and_reported() {
    let tb = files_bed();
    let p = tb.primary().clone();
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("Users/mallory")).unwrap();
    std::fs::write(seed.join("Users/mallory/ok.ipynb"), b"{}").unwrap();
    std::fs::write(seed.join("Users/mallory/..\\..\\escape.txt"), b"outside").unwrap();
    tb.seed_share(&p.storage_account, WORKING_DIR, &seed).unwrap();
    let out = dir.path().join("restored");
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["notebooks", "recover", "--storage-account", &p.storage_account, "--share", WORKING_DIR,
        "--to-dir", out.to_str().unwrap(), "--manifest", &m, "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let refused: Vec<&serde_json::Value> = v["items"].as_array().unwrap().iter().filter(|i| i["status"] == "failed").collect();
    assert_eq!(refused.len(), 1, "{v}");
    assert!(refused[0]["name"].as_str().unwrap().contains("escape.txt"));
    assert!(refused[0]["reason"].as_str().unwrap().contains("escape the destination"));
    assert_eq!(std::fs::read(out.join("Users/mallory/ok.ipynb")).unwrap(), b"{}");
    assert!(!dir.path().join("escape.txt").exists() && !out.join("escape.txt").exists());
    assert_eq!(tree(&out).len(), 1, "only the safe file was written");
}

#[test]
fn live_copy_between_workspaces_is_incremental() {
    let tb = files_bed();
    let (p, f) = (tb.primary().clone(), tb.failover().clone());
    tb.seed_share(&p.storage_account, WORKING_DIR, &notebooks_seed()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let r = run(command(&tb), &["notebooks", "copy", "--from", &p.arm_id(), "--to", &f.arm_id(), "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    for (rel, bytes) in tree(&notebooks_seed()) {
        assert_eq!(share_file(&tb, &f.storage_account, WORKING_DIR, &rel), Some(bytes), "{rel}");
    }
    // Only a changed notebook is copied again.
    let changed = dir.path().join("changed");
    std::fs::create_dir_all(changed.join("Users/alice")).unwrap();
    std::fs::write(changed.join("Users/alice/train.ipynb"), b"{\"cells\": []}").unwrap();
    tb.seed_share(&p.storage_account, WORKING_DIR, &changed).unwrap();
    let r = run(command(&tb), &["notebooks", "copy", "--from", &p.arm_id(), "--to", &f.arm_id(), "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["copied"], 1, "{}", v["summary"]);
    assert_eq!(share_file(&tb, &f.storage_account, WORKING_DIR, "Users/alice/train.ipynb").unwrap(), b"{\"cells\": []}");
}
