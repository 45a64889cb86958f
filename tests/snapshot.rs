//! `aml-failover snapshot export|restore|list|prune` through the built binary, against Azurite
//! and the emulator: content-addressed storage across snapshots, restore with the primary
//! region down (every kind: components and pipeline definitions with their references
//! rewritten, data assets as YAML to re-register), and pruning that keeps exactly what the
//! kept snapshots reference.

mod common;

use aml_emulator::faults::Fault;
use common::*;
use serde_json::{json, Value};
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

/// Every asset of a manifest: models, environments and code (`assets`), then the other kinds
/// (`specAssets`).
fn all_assets(m: &Value) -> Vec<Value> {
    let mut out = m["assets"].as_array().unwrap().clone();
    out.extend(m["specAssets"].as_array().cloned().unwrap_or_default());
    out
}

fn ws_path(w: &aml_emulator::testbed::WorkspaceInfo) -> String {
    format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}", w.subscription_id, w.resource_group, w.name)
}

/// Adds to the primary what `az ml` leaves for a pipeline of registered components: a second
/// component (the seeded one's code, a workspace environment by ARM id) and a pipeline job
/// whose steps reference both components (by ARM id and by `@latest`), the seeded data asset,
/// a public URL and a compute of the primary.
fn add_pipeline(d: &Direct, p: &str) {
    let seeded = d.get(&format!("{p}/components/train_data_component_cli/versions/1")).expect("seeded component");
    let code = seeded["properties"]["componentSpec"]["code"].as_str().unwrap().to_string();
    assert!(d.put(&format!("{p}/components/my_score"), &json!({"properties": {"description": "score"}})) < 300);
    let spec = json!({"$schema": "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json",
        "name": "my_score", "version": "1", "type": "command", "display_name": "Score",
        "inputs": {"model_input": {"type": "uri_folder"}}, "outputs": {"score_output": {"type": "uri_folder"}},
        "code": code, "environment": format!("azureml:{p}/environments/docker-image-plus-conda-example/versions/1"),
        "command": "python score.py --model_input ${{inputs.model_input}} --score_output ${{outputs.score_output}}"});
    assert!(d.put(&format!("{p}/components/my_score/versions/1"), &json!({"properties": {"componentSpec": spec, "description": "score"}})) < 300);
    let body = json!({"properties": {
        "jobType": "Pipeline", "displayName": "e2e", "experimentName": "e2e", "status": "Completed",
        "computeId": format!("{p}/computes/cpu-cluster"),
        "settings": {"default_compute": format!("{p}/computes/cpu-cluster")},
        "inputs": {"training_input": {"jobInputType": "uri_file", "uri": "azureml:local-file-example-titanic:1"},
                   "web": {"jobInputType": "uri_file", "uri": "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv"}},
        "outputs": {"trained_model": {"jobOutputType": "uri_folder", "mode": "Upload"}},
        "jobs": {
            "train_job": {"type": "command", "component": format!("azureml:{p}/components/train_data_component_cli/versions/1"),
                "inputs": {"training_data": {"job_input_type": "literal", "value": "${{parent.inputs.training_input}}"}},
                "outputs": {"model_output": {"type": "literal", "value": "${{parent.outputs.trained_model}}"}}},
            "score_job": {"type": "command", "component": "azureml:my_score@latest",
                "inputs": {"model_input": {"job_input_type": "literal", "value": "${{parent.jobs.train_job.outputs.model_output}}"}}}
        }}});
    assert!(d.put(&format!("{p}/jobs/e2e-registered"), &body) < 300);
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
    let data_dir = dir.path().join("data-to-register");
    let seed = seed_dir();
    let d = Direct::new(&tb);
    let p = ws_path(tb.primary());
    add_pipeline(&d, &p);

    // First export: every kind; each distinct file once.
    let j1 = export(&tb, &bundle);
    let id1 = j1["snapshot"].as_str().unwrap().to_string();
    let m1 = manifest(&bundle, &id1);
    let key = |a: &Value| format!("{}/{}:{}", a["kind"].as_str().unwrap(), a["name"].as_str().unwrap(), a["version"].as_str().unwrap());
    let keys: Vec<String> = all_assets(&m1).iter().map(key).collect();
    for want in [
        "model/local-file-example:1",
        "model/local-file-example:2",
        "model/local-mlflow-example:1",
        "model/diabetes-regression:3",
        "environment/docker-context-example:1",
        "environment/docker-image-plus-conda-example:1",
        "component/train_data_component_cli:1",
        "component/my_score:1",
        "component/e2e_registered:1",
        "data/local-file-example-titanic:1",
    ] {
        assert!(keys.contains(&want.to_string()), "{want} missing from {keys:?}");
    }
    // Models, environments and code where every manifest has them; the other kinds beside them.
    assert!(m1["assets"].as_array().unwrap().iter().all(|a| ["model", "environment", "code"].contains(&a["kind"].as_str().unwrap())), "{keys:?}");
    let spec_kinds: BTreeSet<&str> = m1["specKinds"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(spec_kinds, ["component", "data", "job"].into(), "{}", m1["specKinds"]);
    let spec_assets = m1["specAssets"].as_array().unwrap();
    let def = spec_assets.iter().find(|a| a["name"] == "e2e_registered").unwrap();
    assert_eq!(def["job"]["name"], "e2e-registered");
    assert_eq!(def["properties"]["componentSpec"]["type"], "pipeline");
    assert!(def["job"]["properties"].get("status").is_none(), "run state is not kept: {def}");
    let data = spec_assets.iter().find(|a| a["kind"] == "data").unwrap();
    assert!(data.get("content").is_none(), "data is never copied: {data}");
    assert!(data["yaml"].as_str().unwrap().contains("path: azureml://"), "{data}");
    let n_data = spec_assets.iter().filter(|a| a["kind"] == "data").count();
    let code_item = all_assets(&m1).into_iter().find(|a| a["kind"] == "code").expect("the component's code is in the snapshot");
    let code_name = code_item["name"].as_str().unwrap().to_string();
    let after1 = objects(&bundle);
    assert_eq!(after1, referenced(&m1), "the bundle holds exactly what the manifest references");
    // model.pkl is in local-file-example 1, 2 and local-mlflow-example; requirements.txt in
    // diabetes-regression and local-mlflow-example: stored once each.
    let files_in_manifest: usize = m1["assets"].as_array().unwrap().iter().filter_map(|a| a["content"]["files"].as_array()).map(Vec::len).sum();
    assert!(after1.len() < files_in_manifest, "{} objects for {files_in_manifest} files", after1.len());
    assert!(after1.contains(&sha256_hex(&std::fs::read(seed.join("model/mlflow-model/model.pkl")).unwrap())));
    assert!(after1.contains(&sha256_hex(&std::fs::read(seed.join("component/train_src/train.py")).unwrap())));
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
    let f_id = f.arm_id();
    let restore = |extra: &[&str], code: i32| -> Value {
        let mut args = vec!["snapshot", "restore", s(&bundle), "--to", &f_id, "--data-output-dir", s(&data_dir), "-o", "json"];
        args.extend_from_slice(extra);
        let r = run(command(&tb), &args);
        r.expect_code(code);
        assert_no_secrets(&tb, &r);
        r.json()
    };
    // Data assets are not registered: their YAML is written, and they make the exit code 1.
    let j = restore(&[], 1);
    assert_eq!(j["snapshot"], id2.as_str());
    assert_eq!(j["summary"]["registered"].as_u64().unwrap(), (keys.len() - n_data) as u64, "{j}");
    assert_eq!(j["summary"]["needsManualReregistration"].as_u64().unwrap(), n_data as u64, "{j}");
    assert_eq!(j["summary"]["failed"], 0, "{j}");
    assert_eq!(j["summary"]["conflicts"], 0, "{j}");
    let item = |j: &Value, name: &str| j["items"].as_array().unwrap().iter().find(|i| i["name"] == name).unwrap_or_else(|| panic!("{name}: {j}")).clone();
    let titanic = item(&j, "local-file-example-titanic");
    assert_eq!(titanic["status"], "needs-manual-reregistration", "{titanic}");
    let written = Path::new(titanic["yaml"].as_str().unwrap());
    assert_eq!(written, data_dir.join("local-file-example-titanic-1.yml"));
    let y: Value = serde_norway::from_str(&std::fs::read_to_string(written).unwrap()).unwrap();
    assert_eq!((y["name"].as_str(), y["type"].as_str()), (Some("local-file-example-titanic"), Some("uri_file")));
    assert!(y["path"].as_str().unwrap().contains(&tb.primary().name), "the path it had, in the primary: {y:?}");
    let ws = ws_path(&f);
    assert!(d.get(&format!("{ws}/data/local-file-example-titanic/versions/1")).is_none(), "a data asset was registered");
    assert_eq!(item(&j, "e2e_registered")["job"], "e2e-registered");
    assert!(!item(&j, "my_score")["rewrites"].as_array().unwrap().is_empty(), "{j}");

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

    // Components: their code and environment are the failover workspace's; the registry
    // environment stays. The code's file arrived byte for byte.
    let (f_lower, p_lower) = (ws.to_ascii_lowercase(), p.to_ascii_lowercase());
    let train = d.get(&format!("{ws}/components/train_data_component_cli/versions/1")).expect("component restored");
    let tcode = train["properties"]["componentSpec"]["code"].as_str().unwrap().to_ascii_lowercase();
    assert_eq!(tcode, format!("azureml:{f_lower}/codes/{}/versions/1", code_name.to_ascii_lowercase()));
    assert_eq!(train["properties"]["componentSpec"]["environment"], "azureml://registries/azureml/environments/sklearn-1.5/labels/latest");
    let score = d.get(&format!("{ws}/components/my_score/versions/1")).expect("component restored");
    assert_eq!(score["properties"]["componentSpec"]["code"].as_str().unwrap().to_ascii_lowercase(), tcode, "shared code stays shared");
    assert_eq!(
        score["properties"]["componentSpec"]["environment"].as_str().unwrap().to_ascii_lowercase(),
        format!("azureml:{f_lower}/environments/docker-image-plus-conda-example/versions/1")
    );
    let code = d.get(&format!("{ws}/codes/{code_name}/versions/1")).expect("code restored");
    let code_path = code["properties"]["codeUri"].as_str().unwrap().split_once(&container).unwrap().1.trim_end_matches('/').to_string();
    assert_eq!(d.blob(&f, &format!("{code_path}/train.py")).unwrap(), std::fs::read(seed.join("component/train_src/train.py")).unwrap());
    // The pipeline: its definition (a pipeline component named after the job), references in the failover.
    let def = d.get(&format!("{ws}/components/e2e_registered/versions/1")).expect("pipeline definition restored");
    let spec = &def["properties"]["componentSpec"];
    assert_eq!(spec["type"], "pipeline");
    assert_eq!(spec["jobs"]["train_job"]["component"].as_str().unwrap().to_ascii_lowercase(), format!("azureml:{f_lower}/components/train_data_component_cli/versions/1"));
    assert_eq!(spec["jobs"]["score_job"]["component"], "azureml:my_score@latest", "relative references stay relative");
    // A data input has no default in a component (azure-ai-ml refuses one): its path is kept with the job.
    assert!(spec["inputs"]["web"].get("default").is_none(), "{}", spec["inputs"]["web"]);
    let kept: Value = serde_json::from_str(def["properties"]["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
    assert_eq!(kept["inputs"]["web"]["uri"], "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv");
    assert_eq!(def["properties"]["properties"]["aml-failover.sourceJob"], format!("{p}/jobs/e2e-registered"));
    assert!(def["properties"]["properties"]["aml-failover.computeId"].as_str().unwrap().to_ascii_lowercase().starts_with(&f_lower), "{def}");
    assert!(!def.to_string().to_ascii_lowercase().replace(&format!("{p_lower}/jobs/"), "").contains(&p_lower), "the definition names the primary: {def}");
    assert!(d.get(&format!("{ws}/jobs/e2e-registered")).is_none(), "nothing is run");

    // A second restore changes nothing (--accept-data-warnings: exit 0 with data to re-register).
    let j = restore(&["--accept-data-warnings"], 0);
    assert_eq!(j["summary"]["registered"], 0, "{j}");
    assert_eq!(j["summary"]["unchanged"].as_u64().unwrap(), (keys.len() - n_data) as u64, "{j}");
    assert_eq!(j["summary"]["needsManualReregistration"].as_u64().unwrap(), n_data as u64, "{j}");
    assert_eq!(j["summary"]["filesUploaded"], 0);
    let spec_kinds = "models,environments,code,components,pipelines";
    let r = run(command(&tb), &["verify", s(&bundle), "--to", &f.arm_id(), "--kinds", spec_kinds, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["inSync"].as_u64().unwrap(), (keys.len() - n_data) as u64, "{}", r.stdout);

    // A version in the target that differs from the snapshot is a conflict, never overwritten.
    let mut changed = d.get(&format!("{ws}/models/diabetes-regression/versions/3")).unwrap();
    changed["properties"]["description"] = Value::String("edited in the failover workspace".into());
    assert!(d.delete(&format!("{ws}/models/diabetes-regression/versions/3")) < 300);
    assert!(d.put(&format!("{ws}/models/diabetes-regression/versions/3"), &json!({"properties": changed["properties"]})) < 300);
    let j = restore(&["--accept-data-warnings"], 1);
    assert_eq!(j["summary"]["conflicts"], 1, "{j}");
    let v = d.get(&format!("{ws}/models/diabetes-regression/versions/3")).unwrap();
    assert_eq!(v["properties"]["description"], "edited in the failover workspace");
    let r = run(command(&tb), &["verify", s(&bundle), "--to", &f.arm_id(), "--kinds", spec_kinds, "-o", "json"]);
    r.expect_code(7);
    let j = r.json();
    assert_eq!(j["summary"]["different"], 1, "{j}");
    let drifted: Vec<&Value> = j["items"].as_array().unwrap().iter().filter(|i| i["state"] != "in-sync").collect();
    assert_eq!(drifted[0]["name"], "diabetes-regression", "{j}");

    // Nothing is registered before what it references: with the components' code a conflict
    // in the target, neither component nor the pipeline definition is registered.
    for c in ["components/train_data_component_cli", "components/my_score", "components/e2e_registered"] {
        assert!(d.delete(&format!("{ws}/{c}/versions/1")) < 300, "{c}");
    }
    let mut code = d.get(&format!("{ws}/codes/{code_name}/versions/1")).unwrap();
    code["properties"]["description"] = Value::String("edited".into());
    assert!(d.delete(&format!("{ws}/codes/{code_name}/versions/1")) < 300);
    assert!(d.put(&format!("{ws}/codes/{code_name}/versions/1"), &json!({"properties": code["properties"]})) < 300);
    let j = restore(&["--accept-data-warnings", "--kinds", "pipelines"], 1);
    assert_eq!(item(&j, &code_name)["status"], "conflict", "{j}");
    for (c, why) in [
        ("train_data_component_cli", format!("code {code_name}:1 was not restored")),
        ("my_score", format!("code {code_name}:1 was not restored")),
        ("e2e_registered", "was not restored".to_string()),
    ] {
        let it = item(&j, c);
        assert_eq!(it["status"], "failed", "{it}");
        assert!(it["reason"].as_str().unwrap().contains(&why), "{it}");
        assert!(d.get(&format!("{ws}/components/{c}/versions/1")).is_none(), "{c} was registered");
    }
    assert!(j["items"].as_array().unwrap().iter().all(|i| i["kind"] != "model"), "--kinds pipelines restores what pipelines reference: {j}");

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
    let data_dir = dir.path().join("data");
    let r = run(command(&tb), &["snapshot", "restore", s(&bundle), "--to", &f.arm_id(), "--data-output-dir", s(&data_dir), "--accept-data-warnings", "-o", "json"]);
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
    let data_dir = tempfile::tempdir().unwrap();
    let r = run(command(&tb), &["snapshot", "restore", &url, "--to", &f.arm_id(), "--data-output-dir", s(data_dir.path()), "--accept-data-warnings", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["snapshot"], j2["snapshot"]);
    assert!(data_dir.path().join("local-file-example-titanic-1.yml").is_file());
    let fws = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
        f.subscription_id, f.resource_group, f.name
    );
    let v = d.get(&format!("{fws}/models/local-file-example/versions/1")).expect("registered");
    assert_eq!(d.blob(&f, &datastore_path(v["properties"]["modelUri"].as_str().unwrap())).unwrap(), b"a new model.pkl\n");
}
