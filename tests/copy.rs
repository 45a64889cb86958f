//! `aml-failover copy` through the built binary: models and environments from the primary
//! (eastus) to the failover (westus) workspace of the test bed, checked independently of the
//! tool (direct ARM and Azurite reads).

mod common;

use aml_emulator::storage_proxy::StorageFault;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

fn ws_path(ws: &aml_emulator::testbed::WorkspaceInfo) -> String {
    ws.arm_id()
}

/// Every version of every model and environment of a workspace: ((kind, name, version), properties).
fn versions(d: &Direct, ws: &aml_emulator::testbed::WorkspaceInfo) -> Vec<((String, String, String), Value)> {
    let mut out = Vec::new();
    for kind in ["models", "environments"] {
        for c in d.list(&format!("{}/{kind}", ws_path(ws))) {
            let name = c["name"].as_str().unwrap().to_string();
            for v in d.list(&format!("{}/{kind}/{name}/versions", ws_path(ws))) {
                out.push(((kind.to_string(), name.clone(), v["name"].as_str().unwrap().to_string()), v["properties"].clone()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Properties without what legitimately differs between workspaces.
fn portable(mut p: Value) -> Value {
    let m = p.as_object_mut().unwrap();
    for k in ["modelUri", "provisioningState", "environmentType", "isAnonymous"] {
        m.remove(k);
    }
    if let Some(b) = m.get_mut("build").and_then(Value::as_object_mut) {
        b.remove("contextUri");
    }
    m.retain(|_, v| !v.is_null());
    p
}

fn copy_args<'a>(tb: &'a TestBed, extra: &[&'a str], from: &'a str, to: &'a str, manifest: &'a str) -> Vec<&'a str> {
    let _ = tb;
    let mut v = vec!["copy", "--from", from, "--to", to, "--manifest", manifest, "-o", "json"];
    // This file covers models and environments; the other kinds are in tests/graph_copy.rs.
    if !extra.contains(&"--kinds") {
        v.extend_from_slice(&["--kinds", "models,environments"]);
    }
    v.extend_from_slice(extra);
    v
}

/// Adds an image-only environment and a Triton model to the primary, so every kind is present.
fn add_more_kinds(d: &Direct, tb: &TestBed) {
    let p = ws_path(tb.primary());
    assert!(d.put(&format!("{p}/environments/image-only-example"), &json!({"properties": {"description": "image only"}})) < 300);
    assert!(
        d.put(
            &format!("{p}/environments/image-only-example/versions/4"),
            &json!({"properties": {"image": "mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:latest", "osType": "Linux",
                "inferenceConfig": {"livenessRoute": {"path": "/live", "port": 5001}, "readinessRoute": {"path": "/ready", "port": 5001}, "scoringRoute": {"path": "/score", "port": 5001}},
                "tags": {"kind": "image-only"}}}),
        ) < 300
    );
    let mlflow = d.get(&format!("{p}/models/local-mlflow-example/versions/1")).expect("seeded mlflow model");
    let uri = mlflow["properties"]["modelUri"].as_str().unwrap().to_string();
    assert!(d.put(&format!("{p}/models/triton-example"), &json!({"properties": {"tags": {"serving": "triton"}}})) < 300);
    assert!(
        d.put(
            &format!("{p}/models/triton-example/versions/7"),
            &json!({"properties": {"modelType": "triton_model", "modelUri": uri, "stage": "Staging",
                "flavors": {"triton": {"data": {"platform": "onnxruntime"}}}, "properties": {"source": "test"}, "description": "triton"}}),
        ) < 300
    );
}

#[test]
fn copy_preserves_versions_metadata_and_every_byte() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    add_more_kinds(&d, &tb);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let (from, to, m) = (tb.primary().arm_id(), tb.failover().arm_id(), manifest.to_str().unwrap().to_string());
    let r = run(command(&tb), &copy_args(&tb, &[], &from, &to, &m));
    r.expect_code(0);
    let report = r.json();
    assert_eq!(report, serde_json::from_str::<Value>(&std::fs::read_to_string(&manifest).unwrap()).unwrap(), "manifest = report");

    // Same versions, same metadata.
    let src = versions(&d, tb.primary());
    let tgt = versions(&d, tb.failover());
    assert_eq!(src.iter().map(|x| &x.0).collect::<Vec<_>>(), tgt.iter().map(|x| &x.0).collect::<Vec<_>>());
    assert!(src.len() >= 8, "{src:?}");
    for ((key, sp), (_, tp)) in src.iter().zip(&tgt) {
        assert_eq!(portable(sp.clone()), portable(tp.clone()), "{key:?}");
    }
    // Model types present: custom, mlflow, triton; environments: context, image+conda, image-only.
    let types: Vec<&str> = src.iter().filter_map(|(_, p)| p["modelType"].as_str()).collect();
    for t in ["custom_model", "mlflow_model", "triton_model"] {
        assert!(types.iter().any(|x| x.eq_ignore_ascii_case(t)), "{types:?}");
    }

    // Every file: the target bytes equal the source bytes and the seed's local file, and the
    // manifest's sha256 is right.
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary");
    let items = report["items"].as_array().unwrap();
    let mut files_checked = 0;
    for item in items {
        assert_eq!(item["status"], "copied", "{item}");
        for f in item["files"].as_array().unwrap() {
            let src_blob = f["sourceUri"].as_str().unwrap().split(&format!("/{}/", tb.primary().default_container())).nth(1).unwrap().to_string();
            let tgt_blob = f["targetUri"].as_str().unwrap().split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap().to_string();
            let a = d.blob(tb.primary(), &percent_decode(&src_blob)).unwrap();
            let b = d.blob(tb.failover(), &percent_decode(&tgt_blob)).expect("target blob exists");
            assert_eq!(a, b, "{f}");
            assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(&b));
            assert_eq!(f["size"].as_u64().unwrap(), b.len() as u64);
            files_checked += 1;
        }
    }
    assert!(files_checked >= 8, "{files_checked}");

    // The target's modelUri of the mlflow model names the folder that holds the seed's files.
    let t = d.get(&format!("{}/models/local-mlflow-example/versions/1", tb.failover().arm_id())).unwrap();
    let folder = datastore_path(t["properties"]["modelUri"].as_str().unwrap());
    assert!(t["properties"]["modelUri"].as_str().unwrap().contains("/workspaces/aml-failover/"), "{t}");
    for entry in std::fs::read_dir(seed.join("model/mlflow-model")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let bytes = d.blob(tb.failover(), &format!("{folder}/{name}")).unwrap_or_else(|| panic!("{folder}/{name} missing"));
        assert_eq!(bytes, std::fs::read(entry.path()).unwrap(), "{name}");
    }
    // The build context arrives byte for byte; the conda file comes along inline.
    let env = d.get(&format!("{}/environments/docker-context-example/versions/1", tb.failover().arm_id())).unwrap();
    let ctx_uri = env["properties"]["build"]["contextUri"].as_str().unwrap();
    let ctx_path = ctx_uri.split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap().trim_end_matches('/');
    for name in ["Dockerfile", "requirements.txt"] {
        let local = std::fs::read(seed.join("environment/docker-contexts/python-and-pip").join(name)).unwrap();
        assert_eq!(d.blob(tb.failover(), &format!("{ctx_path}/{name}")).unwrap(), local, "{name}");
    }
    let conda = d.get(&format!("{}/environments/docker-image-plus-conda-example/versions/1", tb.failover().arm_id())).unwrap();
    assert_eq!(
        conda["properties"]["condaFile"].as_str().unwrap(),
        std::fs::read_to_string(seed.join("environment/conda-yamls/pydata.yml")).unwrap()
    );
    assert_no_secrets(&tb, &r);
    let manifest_text = std::fs::read_to_string(&manifest).unwrap();
    assert!(!manifest_text.contains(&tb.primary().storage_key) && !manifest_text.contains("sig="), "secret in manifest");

    // The counter the no-op assertions below rely on does see this run's registrations.
    assert!(tb.request_count("PUT", "/workspaces/aml-failover/") > 0, "the request counter saw no PUT to the target");
    // Running the same copy again changes nothing and says so, without reading any file:
    // the target's copies record the source version they were verified from.
    tb.reset_counters();
    tb.storage_proxy().unwrap().reset_counters();
    let again = run(command(&tb), &copy_args(&tb, &[], &from, &to, &m));
    again.expect_code(0);
    let v = again.json();
    assert_eq!(v["summary"]["copied"], 0);
    assert_eq!(v["summary"]["skipped"], items.len());
    assert_eq!(v["summary"]["bytesTransferred"], 0);
    assert_eq!(tb.request_count("PUT", "/workspaces/aml-failover/"), 0, "a second run wrote to the target");
    for file in ["model.pkl", "MLmodel", "Dockerfile"] {
        assert_eq!(tb.storage_request_count("GET", file), 0, "the second run read {file}");
    }
    assert_eq!(tb.storage_request_count("PUT", ""), 0, "the second run wrote to storage");
    let human = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--manifest", &m]);
    human.expect_code(0);
    assert!(human.stdout.contains("nothing to do"), "{}", human.stdout);
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[test]
fn dry_run_plans_and_writes_nothing() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    tb.reset_counters();
    let mut c = command(&tb);
    c.current_dir(dir.path());
    let r = run(c, &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--dry-run", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["dryRun"], true);
    let items = v["items"].as_array().unwrap();
    assert!(items.len() >= 6);
    assert!(items.iter().all(|i| i["action"] == "copy" && i["status"] == "planned"), "{v}");
    assert!(versions(&d, tb.failover()).is_empty(), "the dry run registered something");
    assert_eq!(tb.request_count("PUT", "/workspaces/aml-failover/"), 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "the dry run wrote a file");
    // The human plan lists each item.
    let mut c = command(&tb);
    c.current_dir(dir.path());
    let h = run(c, &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--dry-run"]);
    h.expect_code(0);
    assert!(h.stdout.contains("copy      model local-file-example:2"), "{}", h.stdout);
    assert!(h.stdout.contains("nothing was written"), "{}", h.stdout);
    // `plan` is the same plan under its own name, also writing nothing.
    let mut c = command(&tb);
    c.current_dir(dir.path());
    let p = run(c, &["plan", "--from", &from, "--to", &to, "--kinds", "models,environments", "-o", "json"]);
    p.expect_code(0);
    let pv = p.json();
    assert_eq!(pv["command"], "plan");
    assert_eq!(pv["dryRun"], true);
    let keys = |v: &serde_json::Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|i| format!("{} {} {}:{}", i["action"], i["kind"], i["name"], i["version"])).collect()
    };
    assert_eq!(keys(&pv), keys(&v));
    assert!(versions(&d, tb.failover()).is_empty(), "plan registered something");
    assert_eq!(tb.request_count("PUT", "/workspaces/aml-failover/"), 0);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "plan wrote a file");
}

#[test]
fn a_conflict_is_reported_and_not_overwritten_unless_asked() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    // The failover already has local-file-example:1 with the same spec but other bytes.
    let src = d.get(&format!("{from}/models/local-file-example/versions/1")).unwrap();
    // Same size, one byte different: only the sha256 can tell.
    let mut other = d.blob(tb.primary(), &datastore_path(src["properties"]["modelUri"].as_str().unwrap())).unwrap();
    other[0] ^= 0xff;
    d.put_blob(tb.failover(), "elsewhere/model.pkl", &other);
    let mut props = src["properties"].clone();
    props["modelUri"] = json!(format!(
        "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/workspaceblobstore/paths/elsewhere/model.pkl",
        tb.failover().subscription_id, tb.failover().resource_group, tb.failover().name
    ));
    props.as_object_mut().unwrap().remove("provisioningState");
    assert!(d.put(&format!("{to}/models/local-file-example"), &json!({"properties": {}})) < 300);
    assert!(d.put(&format!("{to}/models/local-file-example/versions/1"), &json!({"properties": props})) < 300);

    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--name", "local-file-*", "--manifest", &m, "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let item = |ver: &str| v["items"].as_array().unwrap().iter().find(|i| i["version"] == ver).unwrap().clone();
    assert_eq!(item("1")["status"], "conflict");
    assert!(item("1")["reason"].as_str().unwrap().contains("sha256 differs"), "{}", item("1"));
    assert_eq!(item("2")["status"], "copied");
    let still = d.get(&format!("{to}/models/local-file-example/versions/1")).unwrap();
    assert!(still["properties"]["modelUri"].as_str().unwrap().ends_with("/paths/elsewhere/model.pkl"), "overwritten: {still}");
    assert_eq!(d.blob(tb.failover(), "elsewhere/model.pkl").unwrap(), other);

    // --on-conflict new-version registers the source's bytes under the next free number.
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--name", "local-file-*", "--on-conflict", "new-version", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let one = v["items"].as_array().unwrap().iter().find(|i| i["version"] == "1").unwrap();
    assert_eq!((one["status"].as_str(), one["targetVersion"].as_str()), (Some("copied"), Some("3")), "{one}");
    let v3 = d.get(&format!("{to}/models/local-file-example/versions/3")).unwrap();
    let bytes = d.blob(tb.failover(), &datastore_path(v3["properties"]["modelUri"].as_str().unwrap())).unwrap();
    let src_bytes = d.blob(tb.primary(), &datastore_path(src["properties"]["modelUri"].as_str().unwrap())).unwrap();
    assert_eq!(bytes, src_bytes);
}

#[test]
fn corruption_in_transit_is_detected_nothing_half_copied_is_registered_and_a_rerun_resumes() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let src = d.get(&format!("{from}/models/local-file-example/versions/1")).unwrap();
    let blob = datastore_path(src["properties"]["modelUri"].as_str().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let check_failed = |r: &Run| {
        r.expect_code(1);
        let v = r.json();
        let bad = v["items"].as_array().unwrap().iter().find(|i| i["name"] == "local-file-example" && i["version"] == "1").unwrap().clone();
        assert_eq!(bad["status"], "failed", "{bad}");
        assert!(bad["reason"].as_str().unwrap().contains("corrupted in transfer"), "{bad}");
        assert!(bad["reason"].as_str().unwrap().contains("nothing registered"), "{bad}");
        assert!(d.get(&format!("{to}/models/local-file-example/versions/1")).is_none(), "a corrupted item was registered");
    };
    // Streaming: every read of that source blob arrives with one byte flipped; the source's
    // stored Content-MD5 exposes it before anything is published.
    tb.set_storage_fault(StorageFault::corrupt_response(100).on("GET", &blob));
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--server-side", "never", "--manifest", &m, "-o", "json"]);
    check_failed(&r);
    assert_eq!(r.json()["summary"]["failed"], 1, "{}", r.json()["summary"]);
    // --server-side auto: model.pkl is one block with no recorded sha256, so it is streamed
    // (reading it is what learns its sha256); its corrupted read fails its range MD5 and nothing
    // is published. (The read-back after a server-side copy of a larger file is in
    // tests/fault_matrix.rs.)
    tb.clear_storage_faults();
    tb.set_storage_fault(StorageFault::corrupt_response(100).on("GET", "model.pkl"));
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--server-side", "auto", "--manifest", &m, "-o", "json"]);
    check_failed(&r);
    // Everything else arrived; a rerun without the fault copies only what is missing.
    tb.clear_storage_faults();
    tb.reset_counters();
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["copied"], 1, "{}", v["summary"]);
    assert_eq!(tb.request_count("PUT", "/versions/"), 1, "only the missing version is registered");
    let t = d.get(&format!("{to}/models/local-file-example/versions/1")).unwrap();
    assert_eq!(
        d.blob(tb.failover(), &datastore_path(t["properties"]["modelUri"].as_str().unwrap())).unwrap(),
        d.blob(tb.primary(), &blob).unwrap()
    );
}

#[test]
fn storage_throttling_is_retried_with_retry_after() {
    let tb = seeded_testbed(true);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    tb.set_storage_fault(StorageFault::status(503, 1).on("GET", "requirements.txt").times(1));
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--server-side", "never", "--kinds", "models", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["failed"], 0);
    assert!(tb.storage_request_count("GET", "requirements.txt") >= 2, "the throttled read was not retried");
}

#[test]
fn bad_copy_input_is_exit_2() {
    let tb = testbed(None, false);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    for args in [
        vec!["copy", "--from", from.as_str()],
        vec!["copy", "--from", from.as_str(), "--to", from.as_str()],
        vec!["copy", "--from", from.as_str(), "--to", to.as_str(), "--kinds", "pipelines,widgets"],
        vec!["copy", "--from", from.as_str(), "--to", to.as_str(), "--shared-datastore", "=x"],
        vec!["copy", "--from", from.as_str(), "--to", to.as_str(), "--on-conflict", "clobber"],
    ] {
        let r = run(command(&tb), &args);
        r.expect_code(2);
        assert!(r.stderr.starts_with("error: "), "{args:?}: {}", r.stderr);
    }
}
