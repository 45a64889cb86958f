//! `aml-failover failover` through the built binary: the runbook in one command, with both
//! regions up and with the primary region down.

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::testbed::{FilesBedOptions, TestBedOptions};
use common::*;
use std::path::Path;

const WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

fn bed() -> TestBed {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tb = TestBed::start_with_files(
        TestBedOptions { seed_primary: Some(root.join("testdata/seed/primary")), ..Default::default() },
        FilesBedOptions::default(),
    )
    .expect("test bed starts");
    tb.seed_share(&tb.primary().storage_account, WORKING_DIR, &root.join("testdata/seed/notebooks")).unwrap();
    tb
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
    for name in ["assets", "outputs", "notebooks"] {
        assert_eq!(step(&v, name)["outcome"], "done", "{name}: {v}");
        assert!(Path::new(step(&v, name)["manifest"].as_str().unwrap()).exists(), "{name} manifest");
    }
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("re-register data asset local-file-example-titanic:1")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains("redeploy")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains(&to)), "{manual:?}");
    assert!(out.path().join("failover-report.json").exists());
    // Independently: a model version, a job output and a notebook are in the failover workspace.
    assert!(d.get(&format!("{to}/models/local-mlflow-example/versions/1")).is_some());
    let f = tb.failover();
    assert_eq!(
        d.blob(f, &format!("failover-outputs/{}/train_run_0042/outputs/model_output/metrics.json", tb.primary().name)).unwrap(),
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
