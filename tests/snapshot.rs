//! `aml-failover snapshot export|restore|list|prune` through the built binary, against Azurite
//! and the emulator: content-addressed storage across snapshots, restore with the primary
//! region down, and pruning that keeps exactly what the kept snapshots reference.

mod common;

use aml_emulator::faults::Fault;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every object file under `<bundle>/objects`, as sha256 names (checked: name == sha256 of bytes).
fn objects(bundle: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let root = bundle.join("objects/sha256");
    if !root.exists() {
        return out;
    }
    for d in std::fs::read_dir(&root).unwrap() {
        let d = d.unwrap().path();
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            let name = f.file_name().unwrap().to_str().unwrap().to_string();
            assert_eq!(sha256_hex(&std::fs::read(&f).unwrap()), name, "{} holds other bytes than its name says", f.display());
            assert_eq!(d.file_name().unwrap().to_str().unwrap(), &name[..2]);
            out.insert(name);
        }
    }
    out
}

fn manifest(bundle: &Path, id: &str) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("snapshots").join(id).join("manifest.json")).unwrap()).unwrap()
}

/// Every sha256 a manifest references.
fn referenced(m: &Value) -> BTreeSet<String> {
    m["assets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["content"]["files"].as_array())
        .flatten()
        .map(|f| f["sha256"].as_str().unwrap().to_string())
        .collect()
}

fn export(tb: &TestBed, bundle: &Path) -> Value {
    let r = run(command(tb), &["snapshot", "export", "--from", &tb.primary().arm_id(), "--to", s(bundle), "-o", "json"]);
    r.expect_code(0);
    assert_no_secrets(tb, &r);
    r.json()
}

fn list(tb: &TestBed, bundle: &Path) -> Vec<String> {
    let r = run(command(tb), &["snapshot", "list", s(bundle), "-o", "json"]);
    r.expect_code(0);
    r.json()["snapshots"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn export_twice_stores_unchanged_files_once_and_restore_works_with_the_primary_down() {
    let tb = seeded_testbed(true);
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let seed = seed_dir();

    // First export: every model and environment version, each distinct file once.
    let j1 = export(&tb, &bundle);
    let id1 = j1["snapshot"].as_str().unwrap().to_string();
    let m1 = manifest(&bundle, &id1);
    let keys: Vec<String> = m1["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}:{}", a["kind"].as_str().unwrap(), a["name"].as_str().unwrap(), a["version"].as_str().unwrap()))
        .collect();
    for want in [
        "model/local-file-example:1",
        "model/local-file-example:2",
        "model/local-mlflow-example:1",
        "model/diabetes-regression:3",
        "environment/docker-context-example:1",
        "environment/docker-image-plus-conda-example:1",
    ] {
        assert!(keys.contains(&want.to_string()), "{want} missing from {keys:?}");
    }
    let after1 = objects(&bundle);
    assert_eq!(after1, referenced(&m1), "the bundle holds exactly what the manifest references");
    // model.pkl is in local-file-example 1, 2 and local-mlflow-example; requirements.txt in
    // diabetes-regression and local-mlflow-example: stored once each.
    let files_in_manifest: usize = m1["assets"].as_array().unwrap().iter().filter_map(|a| a["content"]["files"].as_array()).map(Vec::len).sum();
    assert!(after1.len() < files_in_manifest, "{} objects for {files_in_manifest} files", after1.len());
    assert!(after1.contains(&sha256_hex(&std::fs::read(seed.join("model/mlflow-model/model.pkl")).unwrap())));
    assert_eq!(j1["summary"]["objectsWritten"].as_u64().unwrap(), after1.len() as u64);
    let yaml = m1["assets"].as_array().unwrap().iter().find(|a| a["name"] == "local-mlflow-example").unwrap()["yaml"].as_str().unwrap();
    assert!(yaml.contains("path: mlflow-model") && yaml.contains("type: mlflow_model"), "{yaml}");

    // Second export, nothing changed: no new object, no file read, a second manifest.
    let mtimes = |b: &Path| -> Vec<std::time::SystemTime> {
        objects(b).iter().map(|h| std::fs::metadata(b.join("objects/sha256").join(&h[..2]).join(h)).unwrap().modified().unwrap()).collect()
    };
    let before = mtimes(&bundle);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let j2 = export(&tb, &bundle);
    assert_eq!(mtimes(&bundle), before, "an object was written again");
    let id2 = j2["snapshot"].as_str().unwrap().to_string();
    assert_ne!(id1, id2);
    assert_eq!(objects(&bundle), after1);
    assert_eq!(j2["summary"]["objectsWritten"], 0, "{j2}");
    assert_eq!(j2["summary"]["filesRead"], 0, "{j2}");
    assert_eq!(referenced(&manifest(&bundle, &id2)), referenced(&m1));
    assert_eq!(list(&tb, &bundle), [id1.clone(), id2.clone()]);

    // Restore into the failover workspace with the primary region down.
    tb.set_fault(Fault::region_down("eastus"));
    let f = tb.failover().clone();
    // Before the restore, verify against the snapshot: every asset of it is missing; nothing written.
    let r = run(command(&tb), &["verify", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(7);
    let j = r.json();
    assert_eq!(j["summary"]["missing"].as_u64().unwrap(), keys.len() as u64, "{j}");
    assert_eq!(j["snapshot"]["id"], id2.as_str());
    let r = run(command(&tb), &["snapshot", "restore", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    assert_no_secrets(&tb, &r);
    let j = r.json();
    assert_eq!(j["snapshot"], id2.as_str());
    assert_eq!(j["summary"]["registered"].as_u64().unwrap(), keys.len() as u64, "{j}");
    assert_eq!(j["summary"]["failed"], 0);

    let d = Direct::new(&tb);
    let ws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        f.subscription_id, f.resource_group, f.name
    );
    // A single-file model and a folder model: registered, bytes equal to the seed's files.
    let v = d.get(&format!("{ws}/models/local-file-example/versions/2")).expect("registered");
    assert_eq!(v["properties"]["stage"], "Production");
    let path = datastore_path(v["properties"]["modelUri"].as_str().unwrap());
    assert!(path.ends_with("/model.pkl"), "{path}");
    assert_eq!(d.blob(&f, &path).unwrap(), std::fs::read(seed.join("model/mlflow-model/model.pkl")).unwrap());
    let v = d.get(&format!("{ws}/models/local-mlflow-example/versions/1")).expect("registered");
    assert_eq!(v["properties"]["modelType"], "mlflow_model");
    let base = datastore_path(v["properties"]["modelUri"].as_str().unwrap());
    for file in ["MLmodel", "conda.yaml", "input_example.json", "model.pkl", "requirements.txt"] {
        assert_eq!(d.blob(&f, &format!("{base}/{file}")).unwrap(), std::fs::read(seed.join("model/mlflow-model").join(file)).unwrap(), "{file}");
    }
    // An environment with a build context, and one with an image and an inline conda file.
    let v = d.get(&format!("{ws}/environments/docker-context-example/versions/1")).expect("registered");
    let ctx_uri = v["properties"]["build"]["contextUri"].as_str().unwrap();
    let container = format!("/{}/", f.default_container());
    let ctx_path = ctx_uri.split_once(&container).unwrap_or_else(|| panic!("{ctx_uri}")).1.trim_end_matches('/');
    assert_eq!(
        d.blob(&f, &format!("{ctx_path}/Dockerfile")).unwrap(),
        std::fs::read(seed.join("environment/docker-contexts/python-and-pip/Dockerfile")).unwrap()
    );
    let v = d.get(&format!("{ws}/environments/docker-image-plus-conda-example/versions/1")).expect("registered");
    assert!(v["properties"]["image"].as_str().unwrap().contains("openmpi"), "{v}");
    assert!(v["properties"]["condaFile"].as_str().is_some_and(|c| !c.is_empty()), "{v}");

    // A second restore changes nothing.
    let r = run(command(&tb), &["snapshot", "restore", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["summary"]["registered"], 0, "{j}");
    assert_eq!(j["summary"]["unchanged"].as_u64().unwrap(), keys.len() as u64, "{j}");
    assert_eq!(j["summary"]["filesUploaded"], 0);
    let r = run(command(&tb), &["verify", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["inSync"].as_u64().unwrap(), keys.len() as u64, "{}", r.stdout);

    // A version in the target that differs from the snapshot is a conflict, never overwritten.
    let mut changed = d.get(&format!("{ws}/models/diabetes-regression/versions/3")).unwrap();
    changed["properties"]["description"] = Value::String("edited in the failover workspace".into());
    assert!(d.delete(&format!("{ws}/models/diabetes-regression/versions/3")) < 300);
    assert!(d.put(&format!("{ws}/models/diabetes-regression/versions/3"), &serde_json::json!({"properties": changed["properties"]})) < 300);
    let r = run(command(&tb), &["snapshot", "restore", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(1);
    let j = r.json();
    assert_eq!(j["summary"]["conflicts"], 1, "{j}");
    let v = d.get(&format!("{ws}/models/diabetes-regression/versions/3")).unwrap();
    assert_eq!(v["properties"]["description"], "edited in the failover workspace");
    let r = run(command(&tb), &["verify", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(7);
    let j = r.json();
    assert_eq!(j["summary"]["different"], 1, "{j}");
    let drifted: Vec<&Value> = j["items"].as_array().unwrap().iter().filter(|i| i["state"] != "in-sync").collect();
    assert_eq!(drifted[0]["name"], "diabetes-regression", "{j}");

    // The bundle itself: intact, then one object damaged (same size) and one deleted.
    let r = run(command(&tb), &["verify", s(&bundle), "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["inSync"].as_u64().unwrap(), keys.len() as u64, "{}", r.stdout);
    let obj = |h: &str| bundle.join("objects/sha256").join(&h[..2]).join(h);
    let pkl = sha256_hex(&std::fs::read(seed.join("model/mlflow-model/model.pkl")).unwrap());
    let mut bytes = std::fs::read(obj(&pkl)).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(obj(&pkl), &bytes).unwrap();
    let dockerfile = sha256_hex(&std::fs::read(seed.join("environment/docker-contexts/python-and-pip/Dockerfile")).unwrap());
    std::fs::remove_file(obj(&dockerfile)).unwrap();
    let r = run(command(&tb), &["verify", s(&bundle), "-o", "json"]);
    r.expect_code(7);
    let j = r.json();
    let state = |name: &str, version: &str| j["items"].as_array().unwrap().iter().find(|i| i["name"] == name && i["version"] == version).unwrap_or_else(|| panic!("{name}: {j}"))["state"].clone();
    assert_eq!(state("local-file-example", "2"), "different", "{j}");
    assert_eq!(state("local-mlflow-example", "1"), "different", "{j}");
    assert_eq!(state("docker-context-example", "1"), "missing", "{j}");
    assert_eq!(state("docker-image-plus-conda-example", "1"), "in-sync", "{j}");
    assert!(r.stdout.contains("is damaged") && r.stdout.contains("model.pkl"), "{}", r.stdout);
    let human = run(command(&tb), &["verify", s(&bundle)]);
    human.expect_code(7);
    assert!(human.stdout.contains("DRIFTED"), "{}", human.stdout);
}

#[test]
fn prune_keeps_the_newest_snapshots_and_every_object_they_reference() {
    let tb = seeded_testbed(false);
    let p = tb.primary().clone();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let d = Direct::new(&tb);
    let ws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        p.subscription_id, p.resource_group, p.name
    );
    // The one file of diabetes-regression:3, edited in the primary between exports.
    let v = d.get(&format!("{ws}/models/diabetes-regression/versions/3")).unwrap();
    let blob = datastore_path(v["properties"]["modelUri"].as_str().unwrap());
    let original = d.blob(&p, &blob).unwrap();

    let id1 = export(&tb, &bundle)["snapshot"].as_str().unwrap().to_string();
    let after1 = objects(&bundle);
    d.put_blob(&p, &blob, b"edited once\n");
    let j2 = export(&tb, &bundle);
    let id2 = j2["snapshot"].as_str().unwrap().to_string();
    assert_eq!(j2["summary"]["objectsWritten"], 1, "only the edited file is new: {j2}");
    assert_eq!(j2["summary"]["filesRead"], 1, "only the edited file is read: {j2}");
    d.put_blob(&p, &blob, b"edited twice\n");
    let id3 = export(&tb, &bundle)["snapshot"].as_str().unwrap().to_string();
    assert_eq!(list(&tb, &bundle), [id1.clone(), id2.clone(), id3.clone()]);

    let (r1, r2, r3) = (referenced(&manifest(&bundle, &id1)), referenced(&manifest(&bundle, &id2)), referenced(&manifest(&bundle, &id3)));
    let (sha0, sha1, sha2) = (sha256_hex(&original), sha256_hex(b"edited once\n"), sha256_hex(b"edited twice\n"));
    // requirements.txt is also in local-mlflow-example: the original stays referenced by every snapshot.
    assert!(r1.contains(&sha0) && r2.contains(&sha0) && r3.contains(&sha0));
    assert!(!r1.contains(&sha1) && r2.contains(&sha1) && !r3.contains(&sha1));
    assert!(!r2.contains(&sha2) && r3.contains(&sha2));
    let all = objects(&bundle);
    assert_eq!(all, after1.iter().cloned().chain([sha1.clone(), sha2.clone()]).collect());

    // Not old enough: nothing goes.
    let r = run(command(&tb), &["snapshot", "prune", s(&bundle), "--older-than", "1h", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["deletedSnapshots"].as_array().unwrap().len(), 0);
    assert_eq!(objects(&bundle), all);
    // Neither flag: refused.
    run(command(&tb), &["snapshot", "prune", s(&bundle)]).expect_code(2);

    // A dry run deletes nothing.
    let r = run(command(&tb), &["snapshot", "prune", s(&bundle), "--keep", "1", "--dry-run", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["deletedObjects"].as_array().unwrap().len(), 1, "{}", r.stdout);
    assert_eq!(list(&tb, &bundle).len(), 3);

    // --keep 2: the oldest snapshot goes; the edited-once file is still referenced by id2.
    let r = run(command(&tb), &["snapshot", "prune", s(&bundle), "--keep", "2", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(list(&tb, &bundle), [id2.clone(), id3.clone()]);
    assert_eq!(objects(&bundle), all, "every object is still referenced by id2 or id3");

    // --keep 1: exactly the newest snapshot's objects remain.
    let r = run(command(&tb), &["snapshot", "prune", s(&bundle), "--keep", "1", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["deletedObjects"], serde_json::json!([sha1]));
    assert_eq!(list(&tb, &bundle), [id3.as_str()]);
    assert_eq!(objects(&bundle), r3);
    for old in [&id1, &id2] {
        assert!(!bundle.join("snapshots").join(old).join("manifest.json").exists());
    }

    // What remains restores (the newest snapshot is whole).
    let f = tb.failover().clone();
    let r = run(command(&tb), &["snapshot", "restore", s(&bundle), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    let v = d.get(&format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}/models/diabetes-regression/versions/3",
        f.subscription_id, f.resource_group, f.name
    ))
    .unwrap();
    assert_eq!(d.blob(&f, &datastore_path(v["properties"]["modelUri"].as_str().unwrap())).unwrap(), b"edited twice\n");
}

#[test]
fn a_blob_container_url_bundle_exports_lists_prunes_and_restores() {
    let tb = seeded_testbed(true);
    let p = tb.primary().clone();
    let f = tb.failover().clone();
    let d = Direct::new(&tb);
    // The bundle lives in a container of the failover region's account, reached with a container SAS.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = aml_emulator::blob::BlobService::new(tb.azurite_blob_endpoint());
    rt.block_on(svc.create_container(&f.storage_account, &f.storage_key, "aml-snapshots")).unwrap();
    let key = azure_sharedkey::SharedKey::new(&f.storage_account, &f.storage_key).unwrap();
    let sas = azure_sharedkey::sas::ServiceSas {
        account: f.storage_account.clone(),
        container: "aml-snapshots".into(),
        blob: None,
        permissions: "rcwdl".into(),
        start: Some(azure_sharedkey::sas::sas_time(-300)),
        expiry: azure_sharedkey::sas::sas_time(3600),
        protocol: None,
    }
    .token(&key);
    let url = format!("{}/{}/aml-snapshots/nightly?{sas}", tb.blob_endpoint(), f.storage_account);
    let object = |sha: &str| rt.block_on(svc.get_blob(&f.storage_account, &f.storage_key, "aml-snapshots", &format!("nightly/objects/sha256/{}/{sha}", &sha[..2]))).ok();
    let ws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        p.subscription_id, p.resource_group, p.name
    );
    let v = d.get(&format!("{ws}/models/local-file-example/versions/1")).unwrap();
    let blob = datastore_path(v["properties"]["modelUri"].as_str().unwrap());
    let original = d.blob(&p, &blob).unwrap();

    let export = || {
        let r = run(command(&tb), &["snapshot", "export", "--from", &p.arm_id(), "--to", &url, "-o", "json"]);
        r.expect_code(0);
        let sig = sas.split("sig=").nth(1).unwrap();
        assert!(!r.stdout.contains(sig) && !r.stderr.contains(sig), "the SAS signature was printed");
        r.json()
    };
    let j1 = export();
    assert!(j1["summary"]["objectsWritten"].as_u64().unwrap() > 0);
    assert_eq!(object(&sha256_hex(&original)).unwrap(), original);
    d.put_blob(&p, &blob, b"a new model.pkl\n");
    let j2 = export();
    assert_eq!(j2["summary"]["objectsWritten"], 1, "{j2}");
    assert_eq!(object(&sha256_hex(b"a new model.pkl\n")).unwrap(), b"a new model.pkl\n");

    let r = run(command(&tb), &["snapshot", "list", &url, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["snapshots"].as_array().unwrap().len(), 2);

    // The original model.pkl is still in local-file-example:2 and local-mlflow-example: it stays.
    // Nothing else changed, so prune --keep 1 deletes the first manifest and no object.
    let r = run(command(&tb), &["snapshot", "prune", &url, "--keep", "1", "-o", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!(j["deletedSnapshots"], serde_json::json!([j1["snapshot"]]));
    assert_eq!(j["deletedObjects"], serde_json::json!([]));
    assert!(object(&sha256_hex(&original)).is_some());

    tb.set_fault(Fault::region_down("eastus"));
    let r = run(command(&tb), &["snapshot", "restore", &url, "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["snapshot"], j2["snapshot"]);
    let fws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        f.subscription_id, f.resource_group, f.name
    );
    let v = d.get(&format!("{fws}/models/local-file-example/versions/1")).expect("registered");
    assert_eq!(d.blob(&f, &datastore_path(v["properties"]["modelUri"].as_str().unwrap())).unwrap(), b"a new model.pkl\n");
}
