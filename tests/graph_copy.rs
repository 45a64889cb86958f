//! `aml-failover copy` for code, components, pipeline jobs and data assets through the built
//! binary: the dependency graph, rewritten references, the missing-dependency chain and the
//! data-asset warning. Checked independently of the tool (direct ARM and Azurite reads).

mod common;

use common::*;
use serde_json::{json, Value};
use std::path::Path;

const PRIMARY_NAME: &str = "aml-primary";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every string in a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Every version of every component, code, environment and data asset of a workspace.
fn all_versions(d: &Direct, ws: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for kind in ["components", "codes", "environments", "data", "models"] {
        for c in d.list(&format!("{ws}/{kind}")) {
            let name = c["name"].as_str().unwrap().to_string();
            for v in d.list(&format!("{ws}/{kind}/{name}/versions")) {
                out.push((format!("{kind}/{name}/{}", v["name"].as_str().unwrap()), v["properties"].clone()));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The seeded component's anonymous code asset, as `azureml:<ARM id>`.
fn seeded_code_ref(d: &Direct, p: &str) -> String {
    let c = d.get(&format!("{p}/components/train_data_component_cli/versions/1")).expect("seeded component");
    c["properties"]["componentSpec"]["code"].as_str().unwrap().to_string()
}

/// Adds to the primary what `az ml` leaves there for azureml-examples'
/// `cli/jobs/pipelines-with-components/basics/1b_e2e_registered_components`: a second
/// component sharing the seeded component's code, with a registered environment, and a
/// pipeline job whose steps reference both components (one by ARM id, one by `@latest`),
/// a registered data asset and a compute of the primary.
fn add_pipeline(d: &Direct, p: &str, job: &str, score_env: &str) {
    let code = seeded_code_ref(d, p);
    assert!(d.put(&format!("{p}/components/my_score"), &json!({"properties": {"description": "score"}})) < 300);
    let spec = json!({"$schema": "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json",
        "name": "my_score", "version": "1", "type": "command", "display_name": "Score",
        "inputs": {"model_input": {"type": "uri_folder"}, "test_data": {"type": "uri_folder"}},
        "outputs": {"score_output": {"type": "uri_folder"}},
        "code": code, "environment": format!("azureml:{p}/environments/{score_env}/versions/1"),
        "command": "python score.py --model_input ${{inputs.model_input}} --test_data ${{inputs.test_data}} --score_output ${{outputs.score_output}}"});
    assert!(d.put(&format!("{p}/components/my_score/versions/1"), &json!({"properties": {"componentSpec": spec, "description": "score"}})) < 300);
    let body = json!({"properties": {
        "jobType": "Pipeline", "displayName": "1b_e2e_registered_components", "experimentName": "e2e",
        "description": "E2E dummy train-score pipeline with registered components",
        "computeId": format!("{p}/computes/cpu-cluster"),
        "settings": {"default_compute": format!("{p}/computes/cpu-cluster")},
        "inputs": {"pipeline_job_training_input": {"jobInputType": "uri_file", "uri": "azureml:local-file-example-titanic:1"},
                   "pipeline_job_training_max_epocs": {"jobInputType": "literal", "value": "20"},
                   "web": {"jobInputType": "uri_file", "uri": "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv"}},
        "outputs": {"pipeline_job_trained_model": {"jobOutputType": "uri_folder", "mode": "Upload"}},
        "jobs": {
            "train_job": {"type": "command", "component": format!("azureml:{p}/components/train_data_component_cli/versions/1"),
                "inputs": {"training_data": {"job_input_type": "literal", "value": "${{parent.inputs.pipeline_job_training_input}}"},
                           "max_epocs": {"job_input_type": "literal", "value": "${{parent.inputs.pipeline_job_training_max_epocs}}"}},
                "outputs": {"model_output": {"type": "literal", "value": "${{parent.outputs.pipeline_job_trained_model}}"}}},
            "score_job": {"type": "command", "component": "azureml:my_score@latest",
                "inputs": {"model_input": {"job_input_type": "literal", "value": "${{parent.jobs.train_job.outputs.model_output}}"},
                           "test_data": {"job_input_type": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/data/"}}}
        }}});
    assert!(d.put(&format!("{p}/jobs/{job}"), &body) < 300);
}

#[test]
fn pipeline_graph_is_copied_with_every_reference_pointing_at_the_target() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    add_pipeline(&d, &p, "e2e-registered", "docker-image-plus-conda-example");
    let dir = tempfile::tempdir().unwrap();
    let (man, data_dir) = (dir.path().join("m.json"), dir.path().join("data"));
    let args = ["copy", "--from", &p, "--to", &f, "--manifest", s(&man), "--data-output-dir", s(&data_dir), "--accept-data-warnings", "-o", "json"];
    let r = run(command(&tb), &args);
    r.expect_code(0);
    assert_no_secrets(&tb, &r);
    let report = r.json();
    let items = report["items"].as_array().unwrap();
    let item = |kind: &str, name: &str| items.iter().find(|i| i["kind"] == kind && i["name"] == name).unwrap_or_else(|| panic!("{kind} {name}: {report}")).clone();

    // Components: both exist in the target and share one code asset, which is the target's.
    let f_lower = f.to_ascii_lowercase();
    let code_src = seeded_code_ref(&d, &p);
    let code_name = code_src.split("/codes/").nth(1).unwrap().split('/').next().unwrap().to_string();
    let train = d.get(&format!("{f}/components/train_data_component_cli/versions/1")).expect("train component in the target");
    let score = d.get(&format!("{f}/components/my_score/versions/1")).expect("score component in the target");
    let tcode = train["properties"]["componentSpec"]["code"].as_str().unwrap();
    assert_eq!(tcode, score["properties"]["componentSpec"]["code"].as_str().unwrap(), "shared code stays shared");
    assert_eq!(tcode.to_ascii_lowercase(), format!("azureml:{f_lower}/codes/{code_name}/versions/1"));
    // The registry environment is untouched; the workspace one points at the target's copy.
    assert_eq!(train["properties"]["componentSpec"]["environment"], "azureml://registries/azureml/environments/sklearn-1.5/labels/latest");
    let senv = score["properties"]["componentSpec"]["environment"].as_str().unwrap().to_ascii_lowercase();
    assert_eq!(senv, format!("azureml:{f_lower}/environments/docker-image-plus-conda-example/versions/1"));
    assert!(d.get(&format!("{f}/environments/docker-image-plus-conda-example/versions/1")).is_some());

    // The code's files arrived byte for byte (compared with the seed's local file).
    let code = d.get(&format!("{f}/codes/{code_name}/versions/1")).expect("code in the target");
    let code_uri = code["properties"]["codeUri"].as_str().unwrap();
    let folder = code_uri.split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap().trim_end_matches('/');
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/component/train_src/train.py");
    assert_eq!(d.blob(tb.failover(), &format!("{folder}/train.py")).expect("train.py in the target"), std::fs::read(&seed).unwrap());
    let code_item = item("code", &code_name);
    assert_eq!(code_item["status"], "copied");
    assert_eq!(code_item["files"][0]["sha256"], sha256_hex(&std::fs::read(&seed).unwrap()));

    // The pipeline: recreated as a definition (pipeline component), not as a job.
    assert!(d.get(&format!("{f}/jobs/e2e-registered")).is_none(), "not submitted without --submit");
    let def = d.get(&format!("{f}/components/e2e_registered/versions/1")).expect("pipeline definition in the target");
    let spec = &def["properties"]["componentSpec"];
    assert_eq!(spec["type"], "pipeline");
    assert_eq!(
        spec["jobs"]["train_job"]["component"].as_str().unwrap().to_ascii_lowercase(),
        format!("azureml:{f_lower}/components/train_data_component_cli/versions/1")
    );
    assert_eq!(spec["jobs"]["score_job"]["component"], "azureml:my_score@latest", "relative references stay relative");
    // A data input has no default in a component (azure-ai-ml refuses one); the job's value is
    // kept with the job's definition for a later submit.
    assert!(spec["inputs"]["web"].get("default").is_none(), "{}", spec["inputs"]["web"]);
    let kept: Value = serde_json::from_str(def["properties"]["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
    assert_eq!(kept["inputs"]["web"]["uri"], "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv");
    let pipe = item("job", "e2e-registered");
    assert_eq!(pipe["status"], "copied", "{pipe}");
    assert!(pipe["reason"].as_str().unwrap().contains("do not transfer"), "{pipe}");
    let fields: Vec<&str> = pipe["rewrites"].as_array().unwrap().iter().map(|r| r["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"jobs.train_job.component"), "{fields:?}");
    assert!(fields.contains(&"settings.default_compute"), "{fields:?}");
    assert!(fields.iter().any(|f| f.contains("computeId")), "{fields:?}");
    assert!(!item("component", "my_score")["rewrites"].as_array().unwrap().is_empty());
    assert!(report["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("do not transfer")), "{report}");

    // Walk everything in the target: nothing names the primary workspace.
    let target = all_versions(&d, &f);
    assert!(target.len() >= 10, "{target:?}");
    // (Except the provenance the definition records on purpose: the job it came from.)
    assert_eq!(def["properties"]["properties"]["aml-failover.sourceJob"], format!("{p}/jobs/e2e-registered"));
    for (key, props) in &target {
        let mut props = props.clone();
        if let Some(m) = props.pointer_mut("/properties").and_then(Value::as_object_mut) {
            m.remove("aml-failover.sourceJob");
        }
        let mut all = Vec::new();
        strings(&props, &mut all);
        for x in all {
            assert!(!x.to_ascii_lowercase().contains(&format!("/workspaces/{PRIMARY_NAME}")), "{key} still points at the primary: {x}");
        }
    }

    // A second copy is a no-op: nothing copied, the target unchanged; components are compared
    // with the target's listing, not fetched one by one.
    tb.reset_counters();
    let again = run(command(&tb), &args);
    again.expect_code(0);
    let v = again.json();
    let pipelines = v["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "job").count();
    let components = v["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "component").count();
    assert!(pipelines >= 1 && components >= 1, "{v}");
    // Only each pipeline's definition component is asked for by name.
    assert_eq!(tb.operation_count("ComponentVersions_Get"), pipelines, "component versions were fetched one by one");
    assert_eq!(v["summary"]["copied"], 0, "{v}");
    assert_eq!(v["summary"]["failed"], 0, "{v}");
    assert_eq!(v["summary"]["conflict"], 0, "{v}");
    assert_eq!(all_versions(&d, &f).len(), target.len());
}

#[test]
fn missing_environment_fails_with_the_chain_and_registers_nothing_of_the_pipeline() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    add_pipeline(&d, &p, "broken-pipeline", "no-such-env");
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("m.json");
    let before = all_versions(&d, &f);
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "pipelines", "--name", "broken-pipeline", "--manifest", s(&man), "--accept-data-warnings", "--data-output-dir", s(&dir.path().join("d")), "-o", "json"]);
    r.expect_code(1);
    let v = r.json();
    let items = v["items"].as_array().unwrap();
    let pipe = items.iter().find(|i| i["kind"] == "job").unwrap();
    assert_eq!(pipe["status"], "failed");
    assert!(
        pipe["reason"].as_str().unwrap().contains("job broken-pipeline → component my_score:1 → environment no-such-env:1 missing"),
        "{pipe}"
    );
    let score = items.iter().find(|i| i["name"] == "my_score").unwrap();
    assert_eq!(score["status"], "failed", "{score}");
    // Nothing of that pipeline is in the target: not its definition, not its components or code.
    let after = all_versions(&d, &f);
    assert_eq!(before, after, "the target changed");
    assert!(d.get(&format!("{f}/components/broken_pipeline/versions/1")).is_none());
    // Human output names the chain too.
    let h = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "pipelines", "--name", "broken-pipeline", "--manifest", s(&man), "--accept-data-warnings", "--data-output-dir", s(&dir.path().join("d"))]);
    h.expect_code(1);
    assert!(h.stdout.contains("→ environment no-such-env:1 missing"), "{}", h.stdout);
}

#[test]
fn data_assets_warn_reregister_on_a_shared_datastore_or_get_yaml_for_manual_registration() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let (man, out) = (dir.path().join("m.json"), dir.path().join("data-yaml"));
    let src = d.get(&format!("{p}/data/local-file-example-titanic/versions/1")).expect("seeded data asset");
    let src_uri = src["properties"]["dataUri"].as_str().unwrap().to_string();

    // Not shared: a warning (human), YAML written with the path it had, exit 1 (partial).
    let base = ["copy", "--from", &p, "--to", &f, "--kinds", "data", "--manifest", s(&man), "--data-output-dir", s(&out)];
    let h = run(command(&tb), &base);
    h.expect_code(1);
    assert!(h.stdout.contains("WARNING: registered datasets (data assets)"), "{}", h.stdout);
    assert!(h.stdout.contains("local-file-example-titanic:1"), "{}", h.stdout);
    assert!(h.stdout.contains("MANUAL"), "{}", h.stdout);
    let yml = out.join("local-file-example-titanic-1.yml");
    let y: Value = serde_norway::from_str(&std::fs::read_to_string(&yml).unwrap()).unwrap();
    assert_eq!(y["path"], src_uri.as_str());
    assert_eq!((y["type"].as_str(), y["name"].as_str()), (Some("uri_file"), Some("local-file-example-titanic")));
    assert!(d.get(&format!("{f}/data/local-file-example-titanic/versions/1")).is_none(), "nothing registered");

    // The same in JSON; --accept-data-warnings makes it exit 0.
    let mut json_args = base.to_vec();
    json_args.extend(["-o", "json"]);
    let j = run(command(&tb), &json_args);
    j.expect_code(1);
    let v = j.json();
    assert!(v["warnings"][0].as_str().unwrap().contains("re-registered"), "{v}");
    assert_eq!(v["items"][0]["status"], "needs-manual-reregistration");
    assert_eq!(v["summary"]["needsManualReregistration"], 1);
    let mut accept = json_args.clone();
    accept.push("--accept-data-warnings");
    run(command(&tb), &accept).expect_code(0);

    // Shared datastore named by the user, but the data is not there: refused, nothing registered.
    let mut shared = json_args.clone();
    shared.extend(["--reregister-shared-data", "--shared-datastore", "workspaceblobstore"]);
    let r = run(command(&tb), &shared);
    r.expect_code(1);
    let v = r.json();
    assert_eq!(v["items"][0]["status"], "failed", "{v}");
    assert!(v["items"][0]["reason"].as_str().unwrap().contains("is it replicated?"), "{v}");
    // Once the data is replicated there, the asset is re-registered pointing at the same path.
    let path = datastore_path(&src_uri);
    let bytes = d.blob(tb.primary(), &path).unwrap();
    d.put_blob(tb.failover(), &path, &bytes);
    let r = run(command(&tb), &shared);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((v["items"][0]["action"].as_str(), v["items"][0]["status"].as_str()), (Some("reregister"), Some("copied")), "{v}");
    let t = d.get(&format!("{f}/data/local-file-example-titanic/versions/1")).expect("re-registered in the target");
    let t_uri = t["properties"]["dataUri"].as_str().unwrap();
    assert!(t_uri.contains("/workspaces/aml-failover/datastores/workspaceblobstore/paths/"), "{t_uri}");
    assert_eq!(datastore_path(t_uri), path);
    assert_eq!(t["properties"]["dataType"], "uri_file");
    // And a rerun sees it as identical.
    let r = run(command(&tb), &shared);
    r.expect_code(0);
    assert_eq!(r.json()["items"][0]["status"], "skipped");
}

#[test]
fn copy_data_copies_uri_files_on_workspace_storage_verified() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("m.json");
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--kinds", "data", "--copy-data", "--manifest", s(&man), "--data-output-dir", s(&dir.path().join("y")), "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["items"][0]["status"], "copied", "{v}");
    let t = d.get(&format!("{f}/data/local-file-example-titanic/versions/1")).expect("copied");
    let path = datastore_path(t["properties"]["dataUri"].as_str().unwrap());
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/data/sample-data/titanic.csv");
    assert_eq!(d.blob(tb.failover(), &path).expect("file in the target"), std::fs::read(seed).unwrap());
    assert!(!dir.path().join("y").exists(), "no YAML for a copied data asset");
}

#[test]
fn submitted_pipeline_round_trips_through_pipeline_get_and_create() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    add_pipeline(&d, &p, "e2e-registered", "docker-image-plus-conda-example");
    let dir = tempfile::tempdir().unwrap();
    let man = dir.path().join("m.json");
    let r = run(command(&tb), &["copy", "--from", &p, "--to", &f, "--submit", "--accept-data-warnings", "--data-output-dir", s(&dir.path().join("y")), "--manifest", s(&man), "-o", "json"]);
    r.expect_code(0);
    // --submit: the job itself exists in the target (a new run), its steps point at the target.
    let job = d.get(&format!("{f}/jobs/e2e-registered")).expect("job submitted in the target");
    assert_eq!(
        job["properties"]["jobs"]["train_job"]["component"].as_str().unwrap().to_ascii_lowercase(),
        format!("azureml:{}/components/train_data_component_cli/versions/1", f.to_ascii_lowercase())
    );
    assert!(d.get(&format!("{f}/components/e2e_registered/versions/1")).is_none(), "no definition with --submit");

    // get from the target: az ml YAML with its components and code.
    let out = dir.path().join("get");
    let g = run(command(&tb), &["pipeline", "get", "--from", &f, "--name", "e2e-registered", "-p", s(&out), "-o", "json"]);
    g.expect_code(0);
    let folder = out.join("e2e-registered");
    let y: Value = serde_norway::from_str(&std::fs::read_to_string(folder.join("pipeline.yml")).unwrap()).unwrap();
    assert_eq!(y["type"], "pipeline");
    assert_eq!(y["jobs"]["train_job"]["component"], "./components/train_data_component_cli_1.yml");
    assert_eq!(y["jobs"]["score_job"]["component"], "./components/my_score_1.yml");
    assert_eq!(y["compute"], "azureml:cpu-cluster");
    assert_eq!(y["inputs"]["pipeline_job_training_input"]["path"], "azureml:local-file-example-titanic:1");
    let score: Value = serde_norway::from_str(&std::fs::read_to_string(folder.join("components/my_score_1.yml")).unwrap()).unwrap();
    assert_eq!(score["environment"], "azureml:docker-image-plus-conda-example:1");
    assert_eq!(score["code"], "./my_score_1_code");
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/component/train_src/train.py");
    assert_eq!(std::fs::read(folder.join("components/my_score_1_code/train.py")).unwrap(), std::fs::read(&seed).unwrap());
    for entry in ["pipeline.yml", "components/my_score_1.yml", "components/train_data_component_cli_1.yml"] {
        let text = std::fs::read_to_string(folder.join(entry)).unwrap().to_ascii_lowercase();
        assert!(!text.contains("/subscriptions/"), "{entry} is not portable:\n{text}");
    }

    // create accepts it again: its local step components are registered anonymously, as az ml
    // does (azureml_anonymous, version a hash of their content), the definition is new.
    let pyml = folder.join("pipeline.yml");
    let c = run(command(&tb), &["pipeline", "create", "-f", s(&pyml), "--to", &f, "--name", "e2e-roundtrip", "-o", "json"]);
    c.expect_code(0);
    assert_eq!(c.json()["status"], "registered", "{}", c.stdout);
    let def = d.get(&format!("{f}/components/e2e_roundtrip/versions/1")).expect("definition registered");
    let anon = format!("azureml:{}/components/azureml_anonymous/versions/", f.to_ascii_lowercase());
    let step_of = |def: &Value, step: &str| def["properties"]["componentSpec"]["jobs"][step]["component"].as_str().unwrap().to_ascii_lowercase();
    assert!(step_of(&def, "train_job").starts_with(&anon), "{def}");
    let registered = c.json()["registered"].as_array().unwrap().clone();
    assert!(registered.len() == 2 && registered.iter().all(|r| r.as_str().unwrap().starts_with("component azureml_anonymous:")), "{}", c.stdout);
    let again = run(command(&tb), &["pipeline", "create", "-f", s(&pyml), "--to", &f, "--name", "e2e-roundtrip", "-o", "json"]);
    again.expect_code(0);
    assert_eq!(again.json()["status"], "unchanged");

    // A changed code file is another anonymous version: the first is kept, nothing collides.
    std::fs::write(folder.join("components/my_score_1_code/train.py"), b"print('changed')\n").unwrap();
    run(command(&tb), &["pipeline", "create", "-f", s(&pyml), "--to", &f, "--name", "e2e-other", "-o", "json"]).expect_code(0);
    let other = d.get(&format!("{f}/components/e2e_other/versions/1")).expect("definition registered");
    assert!(step_of(&other, "score_job").starts_with(&anon) && step_of(&other, "score_job") != step_of(&def, "score_job"), "{other}");
    assert_eq!(step_of(&other, "train_job"), step_of(&def, "train_job"), "the unchanged step reuses its version");
    assert!(d.get(step_of(&def, "score_job").trim_start_matches("azureml:")).is_some(), "the first version is kept");
    // A component whose environment is not in the workspace: refused before anything is written.
    let syml = folder.join("components/my_score_1.yml");
    let text = std::fs::read_to_string(&syml).unwrap().replace("azureml:docker-image-plus-conda-example:1", "azureml:no-such-env:3");
    std::fs::write(&syml, text).unwrap();
    let before = all_versions(&d, &f);
    let bad = run(command(&tb), &["pipeline", "create", "-f", s(&pyml), "--to", &f, "--name", "e2e-third"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("pipeline e2e-third → component my_score:1 → environment no-such-env:3 missing"), "{}", bad.stderr);
    assert_eq!(all_versions(&d, &f), before, "nothing written");
}

#[test]
fn component_and_data_list_download_register_round_trip() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary");

    let l = run(command(&tb), &["component", "list", "--from", &p, "-o", "json"]);
    l.expect_code(0);
    let items = l.json()["items"].as_array().unwrap().clone();
    assert!(items.iter().any(|i| i["name"] == "train_data_component_cli" && i["type"] == "command"), "{items:?}");
    let l = run(command(&tb), &["data", "list", "--from", &p]);
    l.expect_code(0);
    assert!(l.stdout.contains("local-file-example-titanic") && l.stdout.contains("uri_file"), "{}", l.stdout);

    // component: download (code verified) → register into the failover → unchanged the second time.
    let out = dir.path().join("c");
    run(command(&tb), &["component", "download", "-n", "train_data_component_cli", "--from", &p, "-p", s(&out)]).expect_code(0);
    let cyml = out.join("train_data_component_cli/component.yml");
    assert_eq!(std::fs::read(out.join("train_data_component_cli/code/train.py")).unwrap(), std::fs::read(seed.join("component/train_src/train.py")).unwrap());
    let r = run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &f, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["status"], "registered");
    let t = d.get(&format!("{f}/components/train_data_component_cli/versions/1")).expect("registered");
    let code = t["properties"]["componentSpec"]["code"].as_str().unwrap().to_string();
    assert!(code.to_ascii_lowercase().starts_with(&format!("azureml:{}/codes/code-", f.to_ascii_lowercase())), "{code}");
    let code_name = code.split("/codes/").nth(1).unwrap().split('/').next().unwrap();
    let cv = d.get(&format!("{f}/codes/{code_name}/versions/1")).unwrap();
    let folder = cv["properties"]["codeUri"].as_str().unwrap().split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap().trim_end_matches('/').to_string();
    assert_eq!(d.blob(tb.failover(), &format!("{folder}/train.py")).unwrap(), std::fs::read(seed.join("component/train_src/train.py")).unwrap());
    let r = run(command(&tb), &["component", "register", "-f", s(&cyml), "--to", &f, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["status"], "unchanged");

    // data: download (file verified) → register into the failover → unchanged the second time.
    let out = dir.path().join("d");
    run(command(&tb), &["data", "download", "-n", "local-file-example-titanic", "--from", &p, "-p", s(&out)]).expect_code(0);
    let dyml = out.join("local-file-example-titanic/data.yml");
    let y: Value = serde_norway::from_str(&std::fs::read_to_string(&dyml).unwrap()).unwrap();
    assert_eq!(y["path"], "./titanic.csv");
    let csv = std::fs::read(seed.join("data/sample-data/titanic.csv")).unwrap();
    assert_eq!(std::fs::read(out.join("local-file-example-titanic/titanic.csv")).unwrap(), csv);
    let r = run(command(&tb), &["data", "register", "-f", s(&dyml), "--to", &f, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["status"], "registered");
    let t = d.get(&format!("{f}/data/local-file-example-titanic/versions/1")).expect("registered");
    assert_eq!(t["properties"]["dataType"], "uri_file");
    assert_eq!(d.blob(tb.failover(), &datastore_path(t["properties"]["dataUri"].as_str().unwrap())).unwrap(), csv);
    let r = run(command(&tb), &["data", "register", "-f", s(&dyml), "--to", &f, "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["status"], "unchanged");
}
