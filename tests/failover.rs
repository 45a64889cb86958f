//! `aml-failover failover` through the built binary: the runbook in one command, with both
//! regions up and with the primary region down.

mod common;

use aml_emulator::faults::Fault;
use common::*;
use std::path::Path;

const WORKING_DIR: &str = SEEDED_WORKING_DIR;

fn bed() -> TestBed {
    seeded_testbed_with_notebooks()
}

fn step<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    v["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step {name}: {v}"))
}

#[test]
fn with_both_regions_up_everything_arrives_and_the_manual_steps_are_listed() {
    let tb = bed();
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let out = tempfile::tempdir().unwrap();
    let r = run(command(&tb), &["failover", "--from", &from, "--to", &to, "--out-dir", out.path().to_str().unwrap(),
        "--data-output-dir", out.path().join("data").to_str().unwrap(), "--accept-data-warnings", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["sourceReachable"], true);
    let checks: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(checks.iter().any(|c| c.starts_with("primary workspace storage ") && c.contains(" answers")), "{checks:?}");
    assert!(checks.iter().any(|c| c.starts_with("failover workspace storage ") && c.contains(" answers")), "{checks:?}");
    for name in ["assets", "outputs", "notebooks"] {
        assert_eq!(step(&v, name)["outcome"], "done", "{name}: {v}");
        assert!(Path::new(step(&v, name)["manifest"].as_str().unwrap()).exists(), "{name} manifest");
    }
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("re-register data asset local-file-example-titanic:1")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains("online endpoint scoring-online") && m.contains("az ml online-endpoint create -f")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains(&to)), "{manual:?}");
    assert!(out.path().join("failover-report.json").exists());
    // Independently: a model version, a job output and a notebook are in the failover workspace.
    assert!(d.get(&format!("{to}/models/local-mlflow-example/versions/1")).is_some());
    let f = tb.failover();
    assert_eq!(
        d.blob(f, &format!("failover-outputs/{}/train_run_0042/outputs/model_output/metrics.json", tb.primary().workspace_id)).unwrap(),
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/jobs/train-run.run/outputs/model_output/metrics.json")).unwrap()
    );
    let nb = tb.files().unwrap().store().file(&f.storage_account, WORKING_DIR, None, "Users/alice/train.ipynb").expect("notebook restored");
    assert_eq!(nb.size, std::fs::metadata(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/notebooks/Users/alice/train.ipynb")).unwrap().len());
    // Rerun: nothing to do, same exit.
    let r = run(command(&tb), &["failover", "--from", &from, "--to", &to, "--out-dir", out.path().to_str().unwrap(),
        "--data-output-dir", out.path().join("data").to_str().unwrap(), "--accept-data-warnings", "-o", "json"]);
    r.expect_code(0);
    assert_eq!(step(&r.json(), "assets")["summary"]["copied"], 0);
    assert_no_secrets(&tb, &r);
}

#[test]
fn with_the_primary_region_down_it_takes_what_storage_gives_and_says_so() {
    let tb = bed();
    let d = Direct::new(&tb);
    let p = tb.primary().clone();
    let (from, to) = (p.arm_id(), tb.failover().arm_id());
    tb.set_fault(Fault::region_down("eastus"));
    let out = tempfile::tempdir().unwrap();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["failover", "--from", &from, "--to", &to, "--storage-account", &p.storage_account, "--max-retries", "0",
        "--out-dir", out.path().to_str().unwrap()]);
    r.expect_code(1);
    assert!(r.stdout.contains("does NOT answer"), "{}", r.stdout);
    assert!(r.stdout.contains("RA-GRS secondary"), "{}", r.stdout);
    assert!(r.stdout.contains("notebooks recover"), "{}", r.stdout);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.path().join("failover-report.json")).unwrap()).unwrap();
    assert_eq!(v["sourceReachable"], false);
    assert_eq!(step(&v, "assets")["outcome"], "skipped");
    assert_eq!(step(&v, "outputs")["outcome"], "done", "{v}");
    assert_eq!(step(&v, "notebooks")["outcome"], "skipped");
    assert!(d.blob(tb.failover(), &format!("failover-outputs/{}/train_run_0042/outputs/model_output/model.bin", p.workspace_id)).is_some());
    // The failover workspace down: nowhere to fail over to.
    tb.set_fault(Fault::region_down("westus"));
    let r = run(command(&tb), &["failover", "--from", &from, "--to", &to, "--max-retries", "0", "--out-dir", out.path().to_str().unwrap()]);
    r.expect_code(5);
    assert!(r.stderr.contains("nowhere to fail over to"), "{}", r.stderr);
}

#[test]
fn with_the_primary_region_down_it_restores_the_pre_staged_snapshot_and_reads_outputs_from_the_secondary() {
    let tb = bed();
    let d = Direct::new(&tb);
    let p = tb.primary().clone();
    let (from, to) = (p.arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle");
    let b = bundle.to_str().unwrap();
    // Pre-staging, while the primary is up: every asset kind into a bundle.
    run(command(&tb), &["snapshot", "export", "--from", &from, "--to", b, "-q"]).expect_code(0);
    let model = d.get(&format!("{from}/models/local-mlflow-example/versions/1")).unwrap();
    assert!(d.get(&format!("{to}/models/local-mlflow-example/versions/1")).is_none(), "the target already had the model");

    tb.set_fault(Fault::region_down("eastus"));
    let out = dir.path().join("out");
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let data_dir = dir.path().join("data");
    let args = ["failover", "--from", &from, "--to", &to, "--snapshot", b, "--storage-account", &p.storage_account, "--max-retries", "0",
        "--out-dir", out.to_str().unwrap(), "--data-output-dir", data_dir.to_str().unwrap(), "-o", "json"];
    let r = run(c, &args);
    r.expect_code(1); // partial: the primary is down (notebooks wait; later assets need a copy)
    let v = r.json();
    assert_eq!(v["sourceReachable"], false);
    let checks: Vec<&str> = v["checks"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    assert!(checks.iter().any(|c| c.starts_with("failover workspace storage ") && c.contains(" answers (listed with")), "{checks:?}");
    assert!(checks.iter().any(|c| c.starts_with("snapshot ") && c.contains("is readable")), "{checks:?}");
    let assets = step(&v, "assets");
    assert_eq!(assets["outcome"], "partial", "a data asset needs re-registration by hand: {v}");
    assert!(assets["detail"].as_str().unwrap().contains("restored from snapshot"), "{v}");
    let restored = &assets["snapshot"]["summary"];
    assert!(restored["registered"].as_u64().unwrap() >= 3, "{v}");
    assert_eq!(restored["failed"], 0, "{v}");
    assert_eq!(restored["conflicts"], 0, "{v}");
    assert!(Path::new(assets["manifest"].as_str().unwrap()).exists());
    let outputs = step(&v, "outputs");
    assert_eq!(outputs["outcome"], "done", "{v}");
    assert!(outputs["detail"].as_str().unwrap().contains("secondary"), "{v}");
    assert_eq!(step(&v, "notebooks")["outcome"], "skipped");
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("anything registered later")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains("re-register data asset local-file-example-titanic:1") && m.contains(data_dir.to_str().unwrap())), "{manual:?}");
    assert!(std::fs::read_dir(&data_dir).unwrap().count() >= 1, "no data asset YAML written");
    // A component arrived with its code reference rewritten to the failover workspace.
    let comp = d.get(&format!("{to}/components/train_data_component_cli/versions/1")).expect("component restored from the snapshot");
    let code_id = comp["properties"]["componentSpec"]["code"].as_str().unwrap_or_default().to_string();
    assert!(code_id.contains(&format!("{to}/codes/")), "code reference not rewritten to the failover workspace: {code_id}");
    assert!(!code_id.contains(&from), "{code_id}");

    // The model arrived from the bundle alone, byte for byte what the primary holds.
    let t = d.get(&format!("{to}/models/local-mlflow-example/versions/1")).expect("model restored from the snapshot");
    assert!(model["properties"]["modelUri"].is_string());
    let tgt = datastore_path(t["properties"]["modelUri"].as_str().unwrap());
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/model/mlflow-model");
    let mut files = 0;
    for e in std::fs::read_dir(&seed).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            let name = e.file_name().into_string().unwrap();
            let got = d.blob(tb.failover(), &format!("{tgt}/{name}")).unwrap_or_else(|| panic!("{tgt}/{name} missing in the target"));
            assert_eq!(sha256_hex(&got), sha256_hex(&std::fs::read(e.path()).unwrap()), "{name} differs");
            files += 1;
        }
    }
    assert!(files >= 2, "the seeded model has files");
    assert!(d.blob(tb.failover(), &format!("failover-outputs/{}/train_run_0042/outputs/model_output/model.bin", p.workspace_id)).is_some());

    // Rerun during the same outage: nothing registered again.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    tb.reset_counters();
    let r = run(c, &args);
    r.expect_code(1);
    let v = r.json();
    assert_eq!(step(&v, "assets")["snapshot"]["summary"]["registered"], 0, "{v}");
    assert_eq!(tb.operation_count("ModelVersions_CreateOrUpdate"), 0);
    assert_no_secrets(&tb, &r);
}
