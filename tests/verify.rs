//! `aml-failover verify` through the built binary: drift between the primary and the failover
//! workspace of the test bed, made with direct writes independent of the tool.

mod common;

use common::*;
use serde_json::{json, Value};

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// (kind, name, version, state) of every item of a verify document that is not in sync.
fn drift(v: &Value) -> Vec<(String, String, String, String)> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["state"] != "in-sync")
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap().to_string();
            (s("kind"), s("name"), s("version"), s("state"))
        })
        .collect()
}

fn item<'a>(v: &'a Value, kind: &str, name: &str, version: &str) -> &'a Value {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == kind && i["name"] == name && i["version"] == version)
        .unwrap_or_else(|| panic!("{kind} {name}:{version} not in {v}"))
}

/// No write of any kind reached the control plane or storage since the last counter reset.
fn assert_nothing_written(tb: &TestBed) {
    for m in ["PUT", "PATCH", "DELETE", "POST"] {
        // POST: listSecrets is a read; anything else posted would be a write.
        let n = if m == "POST" { tb.request_count(m, "") - tb.request_count(m, "/listsecrets") } else { tb.request_count(m, "") };
        assert_eq!(n, 0, "verify sent {m} to the control plane");
    }
    for m in ["PUT", "DELETE", "POST", "PATCH"] {
        assert_eq!(tb.storage_request_count(m, ""), 0, "verify sent {m} to storage");
    }
}

#[test]
fn verify_is_in_sync_after_copy_then_detects_an_edited_model_file_a_deleted_environment_and_an_extra_version() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let manifest = dir.path().join("copy.json");
    let kinds = ["--kinds", "models,environments"];
    let copied = run(command(&tb), &[&["copy", "--from", &from, "--to", &to, "-o", "json", "--manifest", manifest.to_str().unwrap()][..], &kinds].concat());
    copied.expect_code(0);
    let copied = copied.json();
    let n_copied = copied["items"].as_array().unwrap().len();
    assert!(n_copied >= 6, "{copied}");

    // In sync: exit 0, every copied version listed as in-sync, nothing read (recorded sha256 +
    // source tag), nothing written, not even a file in the working directory.
    let cwd = tempfile::tempdir().unwrap();
    tb.reset_counters();
    tb.storage_proxy().unwrap().reset_counters();
    let verify = |args: &[&str]| {
        let mut c = command(&tb);
        c.current_dir(cwd.path());
        run(c, &[&["verify", "--from", &from, "--to", &to][..], &kinds, args].concat())
    };
    let ok = verify(&["-o", "json"]);
    ok.expect_code(0);
    let v = ok.json();
    assert_eq!(v["schemaVersion"], 1);
    assert_eq!(v["command"], "verify");
    assert_eq!(v["inSync"], true);
    assert_eq!(v["summary"]["items"], n_copied, "{v}");
    assert_eq!(v["summary"]["inSync"], n_copied, "{v}");
    assert!(drift(&v).is_empty(), "{v}");
    for file in ["model.pkl", "MLmodel", "Dockerfile"] {
        assert_eq!(tb.storage_request_count("GET", file), 0, "verify read {file} although the copy recorded its hash");
    }
    assert_nothing_written(&tb);
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "verify wrote a file");
    let human = verify(&[]);
    human.expect_code(0);
    assert_eq!(human.stdout.lines().count(), 1, "in sync: only the summary line\n{}", human.stdout);
    assert!(human.stdout.contains("IN SYNC"), "{}", human.stdout);

    // Drift, made directly: one copied model file edited in place (same size, other bytes;
    // its recorded sha256 goes with the overwrite) and one environment version deleted.
    let model = copied["items"].as_array().unwrap().iter().find(|i| i["kind"] == "model" && i["name"] == "local-file-example" && i["version"] == "1").expect("model copied");
    let file = &model["files"][0];
    let rel = file["path"].as_str().unwrap().to_string();
    let blob = percent_decode(file["targetUri"].as_str().unwrap().split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap());
    let mut bytes = d.blob(tb.failover(), &blob).expect("the copied blob");
    assert!(!bytes.is_empty());
    for b in bytes.iter_mut() {
        *b = !*b;
    }
    d.put_blob(tb.failover(), &blob, &bytes);
    assert_eq!(d.delete(&format!("{to}/environments/docker-context-example/versions/1")), 200);
    assert!(d.get(&format!("{to}/environments/docker-context-example/versions/1")).is_none());

    tb.reset_counters();
    tb.storage_proxy().unwrap().reset_counters();
    let drifted = verify(&["-o", "json"]);
    drifted.expect_code(7);
    let v = drifted.json();
    assert_eq!(v["inSync"], false);
    assert_eq!(
        drift(&v),
        vec![
            ("environment".into(), "docker-context-example".into(), "1".into(), "missing".into()),
            ("model".into(), "local-file-example".into(), "1".into(), "different".into()),
        ],
        "{v}"
    );
    let reasons = item(&v, "model", "local-file-example", "1")["reasons"].to_string();
    assert!(reasons.contains(&rel) && reasons.contains("sha256"), "the reason names the file: {reasons}");
    assert_eq!(v["summary"]["missing"], 1);
    assert_eq!(v["summary"]["different"], 1);
    assert_eq!(v["summary"]["inSync"], n_copied - 2);
    assert_nothing_written(&tb);
    // The counters are live: verify listed the target and read the edited file (its recorded hash is gone).
    assert!(tb.request_count("GET", "/workspaces/aml-failover/models") > 0);
    assert!(tb.storage_request_count("GET", &rel) > 0, "the edited file was not read");
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "verify wrote a file");
    // The edit is still there: verify repaired nothing.
    assert_eq!(d.blob(tb.failover(), &blob).unwrap(), bytes);
    assert!(d.get(&format!("{to}/environments/docker-context-example/versions/1")).is_none());

    // The human output lists exactly the drift, then the summary.
    let human = verify(&[]);
    human.expect_code(7);
    let lines: Vec<&str> = human.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", human.stdout);
    assert!(lines[0].starts_with("MISSING") && lines[0].contains("environment docker-context-example:1"), "{}", human.stdout);
    assert!(lines[1].starts_with("DIFFERENT") && lines[1].contains("model local-file-example:1") && lines[1].contains(&rel), "{}", human.stdout);
    assert!(lines[2].contains("DRIFTED") && lines[2].contains("1 missing, 1 different, 0 extra"), "{}", human.stdout);

    // A version only the failover has is extra; --manifest writes the same document to a file.
    assert!(d.put(&format!("{to}/environments/only-in-failover"), &json!({"properties": {}})) < 300);
    assert!(d.put(&format!("{to}/environments/only-in-failover/versions/3"), &json!({"properties": {"image": "mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest", "osType": "Linux"}})) < 300);
    let report = dir.path().join("verify.json");
    let extra = verify(&["-o", "json", "--manifest", report.to_str().unwrap()]);
    extra.expect_code(7);
    let v = extra.json();
    assert_eq!(item(&v, "environment", "only-in-failover", "3")["state"], "extra", "{v}");
    assert_eq!(v["summary"]["extra"], 1);
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written["items"], v["items"]);

    // --name narrows the check: a name without drift is in sync, the edited model is not.
    let named = verify(&["-o", "json", "--name", "local-mlflow-*"]);
    named.expect_code(0);
    assert!(named.json()["summary"]["items"].as_u64().unwrap() >= 1);
    let named = verify(&["-o", "json", "--name", "local-file-*"]);
    named.expect_code(7);
    assert_eq!(drift(&named.json()), vec![("model".into(), "local-file-example".into(), "1".into(), "different".into())]);
    assert_no_secrets(&tb, &drifted);

    // A scheduled job's environment names both workspaces: `verify BUNDLE` still checks the
    // bundle alone; only a --to typed on the command line compares a workspace with it.
    let bundle = dir.path().join("bundle");
    let b = bundle.to_str().unwrap();
    run(command(&tb), &["snapshot", "export", "--from", &from, "--to", b, "--kinds", "models", "-q"]).expect_code(0);
    let env_cmd = || {
        let mut c = command(&tb);
        c.env("AML_FAILOVER_FROM", &from).env("AML_FAILOVER_TO", &to);
        c
    };
    let alone = run(env_cmd(), &["verify", b, "-o", "json"]);
    alone.expect_code(0);
    assert_eq!(alone.json()["target"], b, "{}", alone.stdout);
    let against = run(env_cmd(), &["verify", b, "--to", &to, "-o", "json"]);
    against.expect_code(7); // local-file-example:1 was edited in the failover
    assert_eq!(against.json()["target"], to.as_str());
    assert_eq!(drift(&against.json()), vec![("model".into(), "local-file-example".into(), "1".into(), "different".into())]);
    let typed_from = run(env_cmd(), &["verify", b, "--from", &from]);
    typed_from.expect_code(2);
    assert!(typed_from.stderr.contains("not --from"), "{}", typed_from.stderr);
}

#[test]
fn verify_needs_both_workspaces() {
    let r = run(bare_command(), &["verify", "--from", "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/a"]);
    r.expect_code(2);
    assert!(r.stderr.contains("--to"), "{}", r.stderr);
}
