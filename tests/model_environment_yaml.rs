//! `aml-failover model|environment list|download|register` through the built binary, against
//! Azurite and the emulator: the az ml YAML side, and a round trip that proves it lossless.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary")
}

/// The shared azureml-examples corpus: `AML_TESTDATA_DIR`, else `../shared/testdata`.
fn shared_testdata() -> PathBuf {
    let dir = std::env::var_os("AML_TESTDATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"));
    assert!(
        dir.join("azureml-examples/MANIFEST.md").is_file(),
        "shared test data missing at {} (set AML_TESTDATA_DIR to the folder holding azureml-examples/)",
        dir.display()
    );
    dir
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `<kind> list -o json` of a workspace, as name:version → REST properties.
fn listed(tb: &TestBed, kind: &str, ws_flag: &str, ws: &str) -> BTreeMap<String, Value> {
    let r = run(command(tb), &[kind, "list", ws_flag, ws, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["command"], format!("{kind} list"));
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (format!("{}:{}", i["name"].as_str().unwrap(), i["version"].as_str().unwrap()), i["properties"].clone()))
        .collect()
}

/// Properties without the content location (the one thing a copy changes).
fn without_location(kind: &str, p: &Value) -> Value {
    let mut p = p.clone();
    match kind {
        "model" => {
            p.as_object_mut().unwrap().remove("modelUri");
        }
        _ => {
            if let Some(b) = p.get_mut("build").and_then(Value::as_object_mut) {
                b.remove("contextUri");
            }
        }
    }
    p
}

fn assert_same_bytes(got: &Path, want: &Path) {
    let g = std::fs::read(got).unwrap_or_else(|e| panic!("{}: {e}", got.display()));
    let w = std::fs::read(want).unwrap();
    assert!(g == w, "{} differs from {}", got.display(), want.display());
}

#[test]
fn list_download_register_round_trip_is_lossless() {
    let tb = testbed(Some(2), true);
    let p = tb.primary();
    let f = tb.failover();
    let seed = seed_dir();

    // list: the seeded versions, as a table and as JSON.
    let r = run(command(&tb), &["model", "list", "--subscription", &p.subscription_id, "-g", &p.resource_group, "-w", &p.name]);
    r.expect_code(0);
    for needle in ["local-mlflow-example", "mlflow_model", "local-file-example", "Production", "diabetes-regression", "4 model versions"] {
        assert!(r.stdout.contains(needle), "{needle} missing:\n{}", r.stdout);
    }
    let r = run(command(&tb), &["model", "list", "--from", &p.arm_id(), "--name", "local-file*", "--latest"]);
    r.expect_code(0);
    assert!(r.stdout.contains("local-file-example  2") && r.stdout.contains("1 model version\n"), "{}", r.stdout);
    let src_models = listed(&tb, "model", "--from", &p.arm_id());
    let mut src_envs = listed(&tb, "environment", "--from", &p.arm_id());
    // The seeded command job's inline environment, registered as az ml registers it before the
    // job (CliV2AnonymousEnvironment, a content-hash version): listed like any environment.
    let anonymous: Vec<String> = src_envs.keys().filter(|k| k.starts_with("CliV2AnonymousEnvironment:")).cloned().collect();
    assert_eq!(anonymous.len(), 1, "{:?}", src_envs.keys());
    src_envs.retain(|k, _| !k.starts_with("CliV2AnonymousEnvironment:"));
    assert_eq!(
        src_models.keys().collect::<Vec<_>>(),
        ["diabetes-regression:3", "local-file-example:1", "local-file-example:2", "local-mlflow-example:1"]
    );
    assert_eq!(src_envs.keys().collect::<Vec<_>>(), ["docker-context-example:1", "docker-image-plus-conda-example:1"]);
    let r = run(command(&tb), &["environment", "list", "--from", &p.arm_id()]);
    r.expect_code(0);
    assert!(r.stdout.contains("image mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04") && r.stdout.contains("build context"), "{}", r.stdout);

    // download: files byte-identical to the seed, plus a YAML.
    let dl = tempfile::tempdir().unwrap();
    let d = dl.path();
    let src_id = p.arm_id();
    let download = |kind: &str, name: &str, extra: &[&str]| {
        let mut args = vec![kind, "download", "--from", src_id.as_str(), "--name", name, "--download-path", s(d), "-o", "json"];
        args.extend_from_slice(extra);
        let r = run(command(&tb), &args);
        r.expect_code(0);
        assert_no_secrets(&tb, &r);
        r.json()
    };
    let j = download("model", "local-mlflow-example", &[]);
    assert_eq!(j["items"][0]["status"], "downloaded");
    for f in ["MLmodel", "conda.yaml", "input_example.json", "model.pkl", "requirements.txt"] {
        assert_same_bytes(&d.join("local-mlflow-example/mlflow-model").join(f), &seed.join("model/mlflow-model").join(f));
    }
    for item in j["items"][0]["files"].as_array().unwrap() {
        assert_eq!(item["sha256"].as_str().unwrap().len(), 64, "{item}");
    }
    let y = std::fs::read_to_string(d.join("local-mlflow-example/model.yml")).unwrap();
    assert!(y.contains("path: mlflow-model") && y.contains("type: mlflow_model") && y.contains("flavors:"), "{y}");
    download("model", "local-file-example", &["--all-versions"]);
    for v in ["1", "2"] {
        assert_same_bytes(&d.join("local-file-example").join(v).join("model.pkl"), &seed.join("model/mlflow-model/model.pkl"));
    }
    let y = std::fs::read_to_string(d.join("local-file-example/2/model.yml")).unwrap();
    assert!(y.contains("stage: Production") && y.contains("path: model.pkl") && y.contains("version: '2'"), "{y}");
    download("model", "diabetes-regression", &["--version", "3"]);
    assert_same_bytes(&d.join("diabetes-regression/requirements.txt"), &seed.join("model/mlflow-model/requirements.txt"));
    download("environment", "docker-image-plus-conda-example", &[]);
    assert_same_bytes(&d.join("docker-image-plus-conda-example/conda.yml"), &seed.join("environment/conda-yamls/pydata.yml"));
    let y = std::fs::read_to_string(d.join("docker-image-plus-conda-example/environment.yml")).unwrap();
    assert!(y.contains("conda_file: conda.yml") && y.contains("image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04"), "{y}");
    download("environment", "docker-context-example", &[]);
    for f in ["Dockerfile", "requirements.txt"] {
        assert_same_bytes(
            &d.join("docker-context-example/python-and-pip").join(f),
            &seed.join("environment/docker-contexts/python-and-pip").join(f),
        );
    }
    let y = std::fs::read_to_string(d.join("docker-context-example/environment.yml")).unwrap();
    assert!(y.contains("build:\n  path: python-and-pip"), "{y}");
    // Unknown name: not found (exit 4).
    let r = run(command(&tb), &["model", "download", "--from", &p.arm_id(), "--name", "nope", "--download-path", s(d)]);
    r.expect_code(4);

    // register the downloaded folders into the failover workspace.
    let yamls = [
        ("model", "local-mlflow-example/model.yml"),
        ("model", "local-file-example/1/model.yml"),
        ("model", "local-file-example/2/model.yml"),
        ("model", "diabetes-regression/model.yml"),
        ("environment", "docker-image-plus-conda-example/environment.yml"),
        ("environment", "docker-context-example/environment.yml"),
    ];
    for (kind, y) in yamls {
        let r = run(command(&tb), &[kind, "register", "--file", s(&d.join(y)), "--to", &f.arm_id(), "-o", "json"]);
        r.expect_code(0);
        assert_no_secrets(&tb, &r);
        let j = r.json();
        assert_eq!(j["status"], "registered", "{y}: {j}");
        assert!(j["files"].as_array().unwrap().iter().all(|f| f["sha256"].as_str().is_some_and(|h| h.len() == 64)), "{j}");
    }
    // A rerun changes nothing.
    let r = run(command(&tb), &["model", "register", "-f", s(&d.join("local-mlflow-example/model.yml")), "--to", &f.arm_id()]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("unchanged"), "{}", r.stdout);

    // The target's REST properties equal the source's, except where the content is.
    let tgt_models = listed(&tb, "model", "--to", &f.arm_id());
    let tgt_envs = listed(&tb, "environment", "--to", &f.arm_id());
    for (kind, src, tgt) in [("model", &src_models, &tgt_models), ("environment", &src_envs, &tgt_envs)] {
        assert_eq!(src.keys().collect::<Vec<_>>(), tgt.keys().collect::<Vec<_>>(), "{kind}");
        for (k, sp) in src {
            assert_eq!(without_location(kind, sp), without_location(kind, &tgt[k]), "{kind} {k}");
        }
    }

    // copy sees every version as identical: nothing to do.
    let man = dl.path().join("manifest.json");
    let r = run(command(&tb), &["copy", "--from", &p.arm_id(), "--to", &f.arm_id(), "--kinds", "models,environments", "--manifest", s(&man), "-o", "json"]);
    r.expect_code(0);
    let j = r.json();
    let items = j["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{j}");
    for i in items {
        // The anonymous environment is the one version the YAML round trip did not register.
        let anonymous = i["name"].as_str().is_some_and(|n| n.starts_with("CliV2AnonymousEnvironment"));
        assert_eq!(i["status"], if anonymous { "copied" } else { "skipped" }, "{i}");
    }

    // A path already in the target's datastore is registered without upload...
    let uri = tgt_models["local-file-example:2"]["modelUri"].as_str().unwrap().to_string();
    let yml = d.join("by-datastore-path.yml");
    std::fs::write(&yml, format!("name: by-datastore-path\npath: {uri}\ntags:\n  origin: datastore\n")).unwrap();
    let r = run(command(&tb), &["model", "register", "-f", s(&yml), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    let j = r.json();
    assert_eq!((j["version"].as_str(), j["files"].as_array().unwrap().len()), (Some("1"), 0), "{j}");
    // ...and the next register of the same name, without a version, takes the next number.
    let r = run(command(&tb), &["model", "register", "-f", s(&yml), "--to", &f.arm_id(), "-o", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["version"], "2");
    // A datastore path with nothing there, or in another workspace, is refused (exit 2).
    std::fs::write(&yml, "name: x\npath: azureml://datastores/workspaceblobstore/paths/not/there\n").unwrap();
    let r = run(command(&tb), &["model", "register", "-f", s(&yml), "--to", &f.arm_id()]);
    r.expect_code(2);
    assert!(r.stderr.contains("by-datastore-path.yml: path:") && r.stderr.contains("no files"), "{}", r.stderr);
    std::fs::write(&yml, format!("name: x\npath: {}\n", src_models["local-file-example:2"]["modelUri"].as_str().unwrap())).unwrap();
    let r = run(command(&tb), &["model", "register", "-f", s(&yml), "--to", &f.arm_id()]);
    r.expect_code(2);
    assert!(r.stderr.contains("path:") && r.stderr.contains(&format!("is in workspace {}", p.name)), "{}", r.stderr);
    // A version that exists with other content is not touched.
    let r = run(
        command(&tb),
        &["model", "register", "-f", s(&d.join("diabetes-regression/model.yml")), "--to", &f.arm_id(), "--version", "1"],
    );
    r.expect_code(0);
    let r = run(
        command(&tb),
        &["model", "register", "-f", s(&d.join("local-file-example/2/model.yml")), "--to", &f.arm_id(), "--version", "3"],
    );
    r.expect_code(0);
    let r = run(command(&tb), &["model", "register", "-f", s(&d.join("local-file-example/1/model.yml")), "--to", &f.arm_id(), "--version", "3"]);
    r.expect_code(2);
    assert!(r.stderr.contains("already exists") && r.stderr.contains("different content"), "{}", r.stderr);
    // register names the workspace it writes with --to (or -w), never --from.
    let r = run(command(&tb), &["model", "register", "-f", s(&d.join("diabetes-regression/model.yml")), "--from", &f.arm_id()]);
    r.expect_code(2);
    assert!(r.stderr.contains("--to"), "{}", r.stderr);
}

/// Every model and environment YAML of azureml-examples, and what happens to it.
const EXAMPLES: &[(&str, &str, Option<&str>)] = &[
    ("environment", "cli/assets/environment/docker-context.yml", None),
    ("environment", "cli/assets/environment/docker-image-plus-conda.yaml", None),
    ("environment", "cli/assets/environment/docker-image.yml", None),
    ("model", "cli/assets/model/local-file.yml", None),
    ("model", "cli/assets/model/local-mlflow.yml", None),
    ("environment", "cli/endpoints/batch/deploy-pipelines/training-with-components/environment/xgboost-sklearn-py38.yml", None),
    ("environment", "cli/endpoints/online/deploy-with-packages/custom-model/environment/sklearn-regression-env.yml", None),
    // The corpus left out models/iris.pkl (168 KB): its folder is missing.
    ("model", "cli/endpoints/online/managed/inference-schema/model.yml", Some("model.yml: path: ")),
];

fn find_asset_yamls(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            find_asset_yamls(&p, root, out);
        } else if let Ok(text) = std::fs::read_to_string(&p) {
            if p.extension().is_some_and(|e| e == "md") {
                continue;
            }
            let kind = if text.contains("model.schema.json") {
                "model"
            } else if text.contains("environment.schema.json") {
                "environment"
            } else {
                continue;
            };
            out.push((kind.to_string(), p.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/")));
        }
    }
}

#[test]
fn every_azureml_examples_model_and_environment_registers_or_is_refused_with_its_reason() {
    let root = shared_testdata().join("azureml-examples");
    let mut found = Vec::new();
    find_asset_yamls(&root, &root, &mut found);
    let expected: Vec<(String, String)> = EXAMPLES.iter().map(|(k, p, _)| (k.to_string(), p.to_string())).collect();
    assert_eq!(found, expected, "the corpus changed: update EXAMPLES with what each new file should do");

    let tb = testbed(None, false);
    let f = tb.failover();
    for (kind, rel, refusal) in EXAMPLES {
        let file = root.join(rel);
        let r = run(command(&tb), &[kind, "register", "--file", s(&file), "--to", &f.arm_id(), "-o", "json"]);
        assert_no_secrets(&tb, &r);
        match refusal {
            None => {
                r.expect_code(0);
                assert_eq!(r.json()["status"], "registered", "{rel}");
            }
            Some(reason) => {
                r.expect_code(2);
                assert!(r.stderr.contains(reason) && r.stderr.contains("models") && r.stderr.contains("does not exist"), "{rel}: {}", r.stderr);
                assert_eq!(r.json()["error"]["exitCode"], 2);
            }
        }
    }
    let models = listed(&tb, "model", "--to", &f.arm_id());
    assert_eq!(models.keys().collect::<Vec<_>>(), ["local-file-example:1", "local-mlflow-example:1"]);
    assert_eq!(models["local-mlflow-example:1"]["modelType"], "mlflow_model");
    assert_eq!(models["local-file-example:1"]["modelType"], "custom_model");
    let envs = listed(&tb, "environment", "--to", &f.arm_id());
    assert_eq!(
        envs.keys().collect::<Vec<_>>(),
        [
            "docker-context-example:1",
            "docker-image-example:1",
            "docker-image-plus-conda-example:1",
            "sklearn-regression-env:1",
            "xgboost-sklearn-py38:1"
        ]
    );
    // conda files are registered byte for byte (this one has CRLF line endings).
    let crlf = std::fs::read_to_string(root.join("cli/endpoints/online/deploy-with-packages/custom-model/environment/conda.yaml")).unwrap();
    assert!(crlf.contains("\r\n"));
    assert_eq!(envs["sklearn-regression-env:1"]["condaFile"], crlf.as_str());
    assert!(envs["docker-context-example:1"]["build"]["contextUri"].as_str().unwrap().ends_with("/python-and-pip/"));

    // And they download again into the same files.
    let dl = tempfile::tempdir().unwrap();
    let r = run(
        command(&tb),
        &["environment", "download", "--to", &f.arm_id(), "--name", "docker-context-example", "--download-path", s(dl.path())],
    );
    r.expect_code(0);
    for name in ["Dockerfile", "requirements.txt"] {
        assert_same_bytes(
            &dl.path().join("docker-context-example/python-and-pip").join(name),
            &root.join("cli/assets/environment/docker-contexts/python-and-pip").join(name),
        );
    }
}

#[test]
fn a_missing_local_file_is_a_clear_usage_error_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("model.yml");
    std::fs::write(&yml, "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: m\npath: weights/model.pt\n").unwrap();
    let ws = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws";
    let r = run(bare_command(), &["model", "register", "--file", s(&yml), "--to", ws]);
    r.expect_code(2);
    let missing = dir.path().join("weights/model.pt");
    assert!(r.stderr.contains(&format!("path: {} does not exist", missing.display())), "{}", r.stderr);
    assert!(r.stderr.contains(s(&yml)), "{}", r.stderr);
    // An environment whose conda file is missing: the field and the path are named.
    let env = dir.path().join("env.yml");
    std::fs::write(&env, "name: e\nimage: python:3.11\nconda_file: conda/env.yml\n").unwrap();
    let r = run(bare_command(), &["environment", "register", "--file", s(&env), "--to", ws]);
    r.expect_code(2);
    assert!(r.stderr.contains("conda_file: cannot read") && r.stderr.contains("conda/env.yml"), "{}", r.stderr);
    // A model YAML given to `environment register` is refused.
    let r = run(bare_command(), &["environment", "register", "--file", s(&yml), "--to", ws]);
    r.expect_code(2);
    assert!(r.stderr.contains("not an environment one"), "{}", r.stderr);
}
