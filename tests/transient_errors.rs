//! A transient error never changes a decision (issue 12, items 3 and 7), through the binary:
//! a dropped control-plane connection is retried, and a storage error while comparing with the
//! target is "unknown" — the item fails with the error and nothing in the target is touched,
//! whatever `--on-conflict` says. The target is checked with the test bed, not the tool.

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::storage_proxy::StorageFault;
use common::*;

fn manifest(dir: &tempfile::TempDir) -> String {
    dir.path().join("m.json").to_str().unwrap().to_string()
}

#[test]
fn a_dropped_control_plane_connection_is_retried() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    // The first request of the run, whatever it is, and the first registration: the emulator
    // sends the response headers, then closes the connection before the body.
    tb.set_fault(Fault::drop_connection(1));
    tb.set_fault(Fault::drop_connection(1).on("PUT", "/versions/"));
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&dir);
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["failed"], 0, "{}", v["summary"]);
    assert!(tb.app().faults.list().is_empty(), "both faults were used");
    // Every source model version is in the target.
    for c in d.list(&format!("{from}/models")) {
        let name = c["name"].as_str().unwrap();
        for ver in d.list(&format!("{from}/models/{name}/versions")) {
            let ver = ver["name"].as_str().unwrap();
            assert!(d.get(&format!("{to}/models/{name}/versions/{ver}")).is_some(), "{name}:{ver} missing in the target");
        }
    }
}

/// Every model version of the target: (name, version) → properties.
fn target_models(d: &Direct, tb: &TestBed) -> std::collections::BTreeMap<(String, String), serde_json::Value> {
    let to = tb.failover().arm_id();
    let mut out = std::collections::BTreeMap::new();
    for c in d.list(&format!("{to}/models")) {
        let name = c["name"].as_str().unwrap().to_string();
        for v in d.list(&format!("{to}/models/{name}/versions")) {
            out.insert((name.clone(), v["name"].as_str().unwrap().to_string()), v["properties"].clone());
        }
    }
    out
}

#[test]
fn a_storage_error_while_comparing_fails_the_item_and_changes_nothing_whatever_on_conflict_says() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&dir);
    let copy = |extra: &[&str]| {
        let mut args = vec!["copy", "--from", from.as_str(), "--to", to.as_str(), "--kinds", "models", "--manifest", m.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        run(command(&tb), &args)
    };
    copy(&[]).expect_code(0);
    let before = target_models(&d, &tb);
    let with_files: Vec<(String, String)> = before.iter().filter(|(_, p)| p["modelUri"].is_string()).map(|(k, _)| k.clone()).collect();
    assert!(!with_files.is_empty());
    // The bytes of every single-file target model, read from Azurite directly (not through the proxy).
    let bytes_of = |k: &(String, String)| d.blob(tb.failover(), &datastore_path(before[k]["modelUri"].as_str().unwrap()));
    let bytes_before: Vec<_> = with_files.iter().map(bytes_of).collect();
    assert!(bytes_before.iter().any(Option::is_some), "no single-file model to check bytes of");
    tb.reset_counters();

    // Reads of the target's model files answer 503 (after the tool's retries too): listings
    // and reads of its container, HEADs of its uploaded files (not of its lock blob).
    let container = format!("{}/{}", tb.failover().storage_account, tb.failover().default_container());
    let head_files = format!("{container}/LocalUpload");
    let check = |policy: &str, r: &Run| {
        r.expect_code(1);
        let v = r.json();
        for (name, version) in &with_files {
            let item = v["items"].as_array().unwrap().iter().find(|i| i["name"] == name.as_str() && i["version"] == version.as_str()).unwrap();
            assert_eq!(item["status"], "failed", "{policy}: {item}");
            let reason = item["reason"].as_str().unwrap();
            assert!(reason.contains("cannot compare with the target") && reason.contains("503"), "{policy}: {reason}");
        }
        assert_eq!(v["summary"]["conflict"], 0, "{policy}: not a conflict: {}", v["summary"]);
        // The target is as it was: no version deleted, replaced or added.
        assert_eq!(tb.request_count("DELETE", "/models/"), 0, "{policy}: a target version was deleted");
        assert_eq!(tb.request_count("PUT", "/versions/"), 0, "{policy}: a version was registered");
        assert_eq!(target_models(&d, &tb), before, "{policy}: the target's model versions changed");
    };
    // Default policy, every such read failing: the comparison is unknown, not a conflict.
    tb.set_storage_fault(StorageFault::status(503, 0).on("GET", &container));
    tb.set_storage_fault(StorageFault::status(503, 0).on("HEAD", &head_files));
    let count = || (tb.storage_request_count("GET", &container), tb.storage_request_count("HEAD", &head_files));
    let (g0, h0) = count();
    check("report", &copy(&[]));
    // The comparing reads of one run, retries included.
    let (g1, h1) = count();
    let (gets, heads) = ((g1 - g0) as u32, (h1 - h0) as u32);
    assert!(gets + heads > 0, "the target's files were not read while comparing");
    // verify says so too: neither in sync nor different.
    let r = run(command(&tb), &["verify", "--from", &from, "--to", &to, "--kinds", "models", "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    assert_eq!((v["inSync"].as_bool(), v["summary"]["different"].as_u64()), (Some(false), Some(0)), "{}", v["summary"]);
    assert_eq!(v["summary"]["unknown"].as_u64(), Some(with_files.len() as u64), "{}", v["summary"]);
    // The next runs fail exactly the comparing reads, so the writes that overwrite or
    // new-version would do after a wrong decision find the target answering.
    for policy in ["overwrite", "new-version"] {
        tb.clear_storage_faults();
        for (method, path, n) in [("GET", &container, gets), ("HEAD", &head_files, heads)] {
            if n > 0 {
                tb.set_storage_fault(StorageFault::status(503, 0).on(method, path.as_str()).times(n));
            }
        }
        check(policy, &copy(&["--on-conflict", policy]));
    }
    tb.clear_storage_faults();
    let after: Vec<_> = with_files.iter().map(bytes_of).collect();
    assert_eq!(after, bytes_before, "the target's files changed");

    // Once the target answers, a rerun finds every version identical.
    let r = copy(&["--on-conflict", "overwrite"]);
    r.expect_code(0);
    let v = r.json();
    for (name, version) in &with_files {
        let item = v["items"].as_array().unwrap().iter().find(|i| i["name"] == name.as_str() && i["version"] == version.as_str()).unwrap();
        assert_eq!(item["status"], "skipped", "{item}");
    }
    assert_eq!(target_models(&d, &tb), before);
}

#[test]
fn new_version_registers_nothing_when_another_target_version_cannot_be_compared() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&dir);
    let copy = |extra: &[&str]| {
        let mut args = vec!["copy", "--from", from.as_str(), "--to", to.as_str(), "--kinds", "models", "--name", "local-file-*", "--manifest", m.as_str(), "-o", "json"];
        args.extend_from_slice(extra);
        run(command(&tb), &args)
    };
    copy(&[]).expect_code(0);
    // The target's local-file-example:1 gets another description: a difference known without
    // reading any file, so new-version asks whether another target version already holds it
    // (here 3, registered by a first new-version run; its files are what cannot be read).
    let p = format!("{to}/models/local-file-example/versions/1");
    let mut props = d.get(&p).unwrap()["properties"].clone();
    props["description"] = serde_json::json!("changed in the failover");
    props.as_object_mut().unwrap().remove("provisioningState");
    assert!(d.put(&p, &serde_json::json!({ "properties": props })) < 300);
    // A first new-version run registers the source's 1 as the target's 3.
    copy(&["--on-conflict", "new-version"]).expect_code(0);
    let before = target_models(&d, &tb);
    assert!(before.contains_key(&("local-file-example".to_string(), "3".to_string())), "{before:?}");
    tb.reset_counters();

    // Reads of the target's files answer 503: a dry run counts them (retries included) ...
    let container = format!("{}/{}", tb.failover().storage_account, tb.failover().default_container());
    let head_files = format!("{container}/LocalUpload");
    let count = || (tb.storage_request_count("GET", &container), tb.storage_request_count("HEAD", &head_files));
    tb.set_storage_fault(StorageFault::status(503, 0).on("GET", &container));
    tb.set_storage_fault(StorageFault::status(503, 0).on("HEAD", &head_files));
    let (g0, h0) = count();
    copy(&["--on-conflict", "new-version", "--dry-run"]);
    let (g1, h1) = count();
    assert!(g1 + h1 > g0 + h0, "the dry run read none of the target's files");
    // ... and the run fails exactly those, so a write after a wrong decision would succeed.
    tb.clear_storage_faults();
    for (method, path, n) in [("GET", &container, g1 - g0), ("HEAD", &head_files, h1 - h0)] {
        if n > 0 {
            tb.set_storage_fault(StorageFault::status(503, 0).on(method, path.as_str()).times(n as u32));
        }
    }
    let r = copy(&["--on-conflict", "new-version"]);
    r.expect_code(1);
    let v = r.json();
    let one = v["items"].as_array().unwrap().iter().find(|i| i["name"] == "local-file-example" && i["version"] == "1").unwrap();
    assert_eq!(one["status"], "failed", "{one}");
    let reason = one["reason"].as_str().unwrap();
    assert!(reason.contains("cannot compare with the target") && reason.contains("503"), "{reason}");
    assert_eq!(tb.request_count("PUT", "/versions/"), 0, "a version was registered");
    assert_eq!(target_models(&d, &tb), before, "the target's model versions changed");
}
