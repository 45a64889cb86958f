//! `aml-failover readiness` through the built binary against the test bed: a pair set up as
//! Microsoft's disaster-recovery guidance wants it is ready (exit 0); the same pair with one
//! rule broken per check gets that check's own line, with the evidence read and the fix, and
//! exit 7; the RPO lines name the seeded snapshot time and the storage's lastSyncTime.

mod common;

use aml_emulator::resources::acr::RegistryRecord;
use aml_emulator::testbed::names;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

const SYNC: &str = "2026-12-06T04:00:00Z";

/// The check lines with this id.
fn lines<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["checks"].as_array().unwrap().iter().filter(|c| c["id"] == id).collect()
}

/// The one line with this id.
fn line<'a>(v: &'a Value, id: &str) -> &'a Value {
    let l = lines(v, id);
    assert_eq!(l.len(), 1, "expected one {id} line in {v:#}");
    l[0]
}

fn evidence(c: &Value) -> String {
    c["evidence"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect::<Vec<_>>().join(" | ")
}

/// Puts an AmlCompute cluster into a workspace (through ARM, as `az ml compute create` would).
fn put_cluster(d: &Direct, ws: &str, name: &str, size: &str, max: u64, location: &str) {
    let path = format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{ws}/computes/{name}", names::SUBSCRIPTION, names::RESOURCE_GROUP);
    let body = json!({"location": location, "properties": {"computeType": "AmlCompute", "properties": {
        "vmSize": size, "vmPriority": "Dedicated", "scaleSettings": {"minNodeCount": 0, "maxNodeCount": max}}}});
    let status = d.put(&path, &body);
    assert!((200..300).contains(&status), "PUT compute {name}: {status}");
    for _ in 0..100 {
        if d.get(&path).is_some_and(|v| v.pointer("/properties/provisioningState").and_then(Value::as_str) == Some("Succeeded")) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("compute {name} never provisioned");
}

/// A snapshot bundle of the (empty) primary whose newest snapshot says it was taken at `at`.
fn bundle_taken_at(tb: &TestBed, dir: &Path, at: &str) -> String {
    let bundle = dir.join("bundle");
    run(command(tb), &["snapshot", "export", "--from", &tb.primary().arm_id(), "--to", bundle.to_str().unwrap(), "-q"]).expect_code(0);
    let snaps = bundle.join("snapshots");
    let id = std::fs::read_dir(&snaps).unwrap().next().unwrap().unwrap().path();
    let m = id.join("manifest.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&m).unwrap()).unwrap();
    v["createdAt"] = json!(at);
    std::fs::write(&m, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    bundle.to_str().unwrap().to_string()
}

fn now_minus(minutes: i64) -> String {
    (time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes)).format(&time::format_description::well_known::Rfc3339).unwrap()
}

fn readiness(tb: &TestBed, extra: &[&str]) -> Run {
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    run(command(tb), &[&["readiness", "--from", &from, "--to", &to, "-o", "json"][..], extra].concat())
}

#[test]
fn a_ready_pair_passes_every_check_and_exits_0() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    let synced = now_minus(10);
    tb.configure_storage_account(names::PRIMARY_STORAGE, |a| a.last_sync_time = Some(synced.clone())).unwrap();
    put_cluster(&d, names::PRIMARY_WORKSPACE, "cpu-cluster", "Standard_DS3_v2", 4, names::PRIMARY_LOCATION);
    put_cluster(&d, names::FAILOVER_WORKSPACE, "cpu-cluster", "Standard_DS3_v2", 4, names::FAILOVER_LOCATION);
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle_taken_at(&tb, dir.path(), &now_minus(20));

    let r = readiness(&tb, &["--snapshot", &bundle, "--max-rpo", "1h"]);
    let v = r.json();
    let not_pass: Vec<&Value> = v["checks"].as_array().unwrap().iter().filter(|c| c["status"] != "pass").collect();
    assert!(not_pass.is_empty(), "every check passes on a ready pair: {not_pass:#?}\n{}", r.stderr);
    r.expect_code(0);
    assert_eq!(v["verdict"], "ready");
    assert_eq!(v["schemaVersion"], 1);
    for id in ["control-plane", "storage-reachable", "regions", "storage-separate", "storage-geo", "storage-shared-key", "key-vault",
        "container-registry", "application-insights", "compute", "online-endpoints", "schedules", "assets", "rpo-assets", "rpo-storage"] {
        assert!(!lines(&v, id).is_empty(), "no {id} line: {v:#}");
    }
    assert!(evidence(line(&v, "storage-geo")).contains("sku Standard_RAGRS"), "{v:#}");
    assert!(evidence(line(&v, "container-registry")).contains(&format!("Replications_List: {}, {}", names::PRIMARY_LOCATION, names::FAILOVER_LOCATION)), "{v:#}");
    assert_eq!(v["rpo"]["storageSince"].as_str(), Some(synced.as_str()));
    assert_no_secrets(&tb, &r);

    // The human form: one line per check, then the RPO lines and the summary.
    let h = run(command(&tb), &["readiness", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--snapshot", &bundle]);
    h.expect_code(0);
    assert!(h.stdout.contains("pass  storage-geo"), "{}", h.stdout);
    assert!(h.stdout.contains(&format!("RPO storage: written after {synced}")), "{}", h.stdout);
    assert!(h.stdout.lines().last().unwrap().starts_with("readiness (warm tier): ready"), "{}", h.stdout);
}

#[test]
fn each_broken_rule_gets_its_own_line_with_evidence_and_fix_and_exit_7() {
    let tb = testbed(None, false);
    let d = Direct::new(&tb);
    // LRS primary storage; the registry not replicated into westus; separate Key Vaults;
    // westus's DSv2 quota too short for the cluster; a second cluster missing from the failover
    // workspace; the newest snapshot three hours old.
    tb.configure_storage_account(names::PRIMARY_STORAGE, |a| a.sku = "Standard_LRS".into()).unwrap();
    tb.put_registry(RegistryRecord::new(names::SUBSCRIPTION, names::RESOURCE_GROUP, names::REGISTRY, names::PRIMARY_LOCATION, "Premium", &[]));
    tb.set_workspace_property(names::FAILOVER_WORKSPACE, "keyVault", json!(aml_emulator::testbed::standard_id("Microsoft.KeyVault/vaults", "kv-failover-only"))).unwrap();
    put_cluster(&d, names::PRIMARY_WORKSPACE, "gpu-cluster", "Standard_DS4_v2", 10, names::PRIMARY_LOCATION);
    put_cluster(&d, names::PRIMARY_WORKSPACE, "cpu-cluster", "Standard_DS3_v2", 2, names::PRIMARY_LOCATION);
    put_cluster(&d, names::FAILOVER_WORKSPACE, "cpu-cluster", "Standard_DS3_v2", 2, names::FAILOVER_LOCATION);
    assert_eq!(d.put(&format!("/_emulator/regions/{}", names::FAILOVER_LOCATION), &json!({"familyLimits": {"standardDSv2Family": 16}})), 200);
    let dir = tempfile::tempdir().unwrap();
    let taken = now_minus(180);
    let bundle = bundle_taken_at(&tb, dir.path(), &taken);

    let r = readiness(&tb, &["--snapshot", &bundle, "--max-rpo", "1h"]);
    r.expect_code(7);
    let v = r.json();
    assert_eq!(v["verdict"], "not-ready");

    let geo = line(&v, "storage-geo");
    assert_eq!(geo["status"], "fail", "{geo:#}");
    assert!(evidence(geo).contains("sku Standard_LRS"), "{geo:#}");
    assert!(geo["fix"].as_str().unwrap().contains(&format!("az storage account update --subscription {} -g {} -n {} --sku Standard_RAGRS", names::SUBSCRIPTION, names::RESOURCE_GROUP, names::PRIMARY_STORAGE)), "{geo:#}");

    let acr = line(&v, "container-registry");
    assert_eq!(acr["status"], "warn", "{acr:#}");
    assert!(acr["title"].as_str().unwrap().contains(&format!("no replication in {}", names::FAILOVER_LOCATION)), "{acr:#}");
    assert!(evidence(acr).contains(&format!("Replications_List: {}", names::PRIMARY_LOCATION)), "{acr:#}");
    assert_eq!(acr["fix"].as_str().unwrap().split(';').next().unwrap(), format!("az acr replication create -r {} --location {}", names::REGISTRY, names::FAILOVER_LOCATION));

    let kv = line(&v, "key-vault");
    assert_eq!(kv["status"], "warn", "{kv:#}");
    assert!(evidence(kv).contains("kv-failover-only") && evidence(kv).contains(names::KEY_VAULT), "{kv:#}");
    assert!(kv["fix"].as_str().unwrap().contains("--key-vault"), "{kv:#}");

    let computes = lines(&v, "compute");
    let missing = computes.iter().find(|c| c["title"].as_str().unwrap().contains("gpu-cluster")).expect("a line for gpu-cluster");
    assert_eq!(missing["status"], "fail", "{missing:#}");
    assert!(missing["title"].as_str().unwrap().contains("missing from the failover workspace"), "{missing:#}");
    assert!(missing["fix"].as_str().unwrap().contains("--kinds computes"), "{missing:#}");
    let present = computes.iter().find(|c| c["title"].as_str().unwrap().contains("cpu-cluster")).expect("a line for cpu-cluster");
    assert_eq!(present["status"], "pass", "{present:#}");

    let quota = line(&v, "compute-quota");
    assert_eq!(quota["status"], "fail", "{quota:#}");
    // 10 nodes × 8 vCPUs of Standard_DS4_v2 = 80 > the 16 of standardDSv2Family in westus.
    assert!(quota["title"].as_str().unwrap().contains("needs 80 vCPUs of standardDSv2Family"), "{quota:#}");
    assert!(quota["fix"].as_str().unwrap().contains("quota"), "{quota:#}");

    let rpo = line(&v, "rpo-assets");
    assert_eq!(rpo["status"], "fail", "{rpo:#}");
    assert!(rpo["title"].as_str().unwrap().contains(&format!("after {taken} (3h 0m ago)")) && rpo["title"].as_str().unwrap().contains("--max-rpo 1h"), "{rpo:#}");
    assert!(rpo["fix"].as_str().unwrap().contains("snapshot export"), "{rpo:#}");
    // LRS: no secondary, nothing synced — said, not passed.
    assert_eq!(line(&v, "rpo-storage")["status"], "warn");

    // The human output: FAIL lines with their evidence and fix.
    let h = run(command(&tb), &["readiness", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--snapshot", &bundle, "--max-rpo", "1h"]);
    h.expect_code(7);
    assert!(h.stdout.contains("FAIL  storage-geo"), "{}", h.stdout);
    assert!(h.stdout.contains("        fix: az storage account update"), "{}", h.stdout);
    assert!(h.stdout.contains("readiness (warm tier): not-ready"), "{}", h.stdout);
}

#[test]
fn rpo_lines_name_the_snapshot_time_and_the_last_sync_time_and_warnings_alone_exit_1() {
    let tb = testbed(None, false);
    tb.configure_storage_account(names::PRIMARY_STORAGE, |a| a.last_sync_time = Some(SYNC.into())).unwrap();
    // A cold pair without Application Insights in the failover workspace: warnings only.
    tb.set_workspace_property(names::FAILOVER_WORKSPACE, "applicationInsights", Value::Null).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let taken = "2026-12-05T22:15:00Z";
    let bundle = bundle_taken_at(&tb, dir.path(), taken);
    let r = readiness(&tb, &["--snapshot", &bundle, "--tier", "cold"]);
    let v = r.json();
    assert_eq!(v["rpo"]["assetsSince"], taken, "{v:#}");
    assert_eq!(v["rpo"]["storageSince"], SYNC, "{v:#}");
    assert_eq!(
        v["rpo"]["statement"],
        format!("a failover now would lose what was registered after {taken} and what was written to storage after {SYNC}")
    );
    assert!(evidence(line(&v, "rpo-storage")).contains(&format!("lastSyncTime of {} (Standard_RAGRS): {SYNC}", names::PRIMARY_STORAGE)), "{v:#}");
    assert!(line(&v, "rpo-assets")["evidence"][0].as_str().unwrap().starts_with("snapshot "), "{v:#}");
    let ai = line(&v, "application-insights");
    assert_eq!(ai["status"], "warn", "{ai:#}");
    assert!(ai["fix"].as_str().unwrap().starts_with("az ml workspace update"), "{ai:#}");
    assert_eq!(v["verdict"], "warnings", "{v:#}");
    r.expect_code(1);

    // `failover` prints the same RPO lines in its report (the storage's, and the snapshot's).
    let out = dir.path().join("run");
    let f = run(command(&tb), &["failover", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--snapshot", &bundle, "--out-dir", out.to_str().unwrap()]);
    assert!(f.stdout.contains(&format!("RPO storage: written after {SYNC}")), "{}\n{}", f.stdout, f.stderr);
    assert!(f.stdout.contains(&format!("RPO assets:  registered after {taken}")), "{}\n{}", f.stdout, f.stderr);

    // Bad input: exit 2 before anything is read.
    let bad = run(command(&tb), &["readiness", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--max-rpo", "soon"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("--max-rpo 'soon' is not a duration"), "{}", bad.stderr);
}
