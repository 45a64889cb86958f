//! The workspace's estate (issue 14) through the built binary: the seeded primary holds a
//! secret-bearing and an identity datastore, a connection with a PAT, a compute cluster, a batch
//! endpoint with a deployment, an online endpoint with two deployments and a traffic split, and
//! an enabled schedule. `copy` writes every definition into the failover workspace (checked
//! directly against the emulator), never a secret into any file; a rerun is a no-op;
//! `--with-secrets` creates the secret-bearing ones; a region short of quota fails the cluster;
//! failover enables the pre-staged schedules and deploys the online endpoints; verify names the
//! estate's drift; Microsoft's azure-ai-ml reads back every definition the tool created.

mod common;

use aml_emulator::faults::Fault;
use common::*;
use serde_json::Value;
use std::path::Path;

/// The seed's secrets (testdata/seed/primary/estate): none may reach a file the tool writes.
const SEED_ACCOUNT_KEY: &str = "U0VFRC1hY2NvdW50LWtleS1hbWxzaGFyZWRzYS1kby1ub3QtbGVhaw==";
const SEED_PAT: &str = "SEED-git-pat-do-not-leak";

/// What a first `copy` (and a restore of a snapshot) does with each seeded definition when no
/// option is given: secret-bearing ones and online endpoints are left as YAML for a person.
const SEEDED_ESTATE_WITHOUT_OPTIONS: [(&str, &str, &str); 10] = [
    ("datastore", "curated_lake", "create"),
    ("datastore", "shared_training_data", "manual"),
    ("connection", "contoso-git", "manual"),
    ("compute", "cpu-cluster", "create"),
    ("batch-endpoint", "nightly-scoring", "create"),
    ("batch-deployment", "nightly-scoring/mlflow-v1", "create"),
    ("online-endpoint", "scoring-online", "yaml"),
    ("online-deployment", "scoring-online/blue", "yaml"),
    ("online-deployment", "scoring-online/green", "yaml"),
    ("schedule", "nightly-hello", "create"),
];

/// The binary, run in `dir` (its default output folders go there, not into the checkout).
fn command_in(tb: &TestBed, dir: &Path) -> std::process::Command {
    let mut c = command(tb);
    c.current_dir(dir);
    c
}

fn copy_args<'a>(from: &'a str, to: &'a str, manifest: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["copy", "--from", from, "--to", to, "--manifest", manifest, "--accept-data-warnings", "-o", "json"];
    v.extend_from_slice(extra);
    v
}

/// `(kind, name) -> action` of the report's estate items.
fn actions(report: &Value) -> Vec<(String, String, String)> {
    let mut v: Vec<(String, String, String)> = report["estate"]
        .as_array()
        .unwrap_or_else(|| panic!("no estate in the report: {report}"))
        .iter()
        .map(|d| (d["kind"].as_str().unwrap().to_string(), d["name"].as_str().unwrap().to_string(), d["action"].as_str().unwrap().to_string()))
        .collect();
    v.sort();
    v
}

fn action_of(report: &Value, kind: &str, name: &str) -> String {
    actions(report).into_iter().find(|(k, n, _)| k == kind && n == name).map(|x| x.2).unwrap_or_else(|| panic!("{kind} {name} not in {report}"))
}

/// Every file under `dir`, with its text.
fn files(dir: &Path, out: &mut Vec<(String, String)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push((p.display().to_string(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()));
        }
    }
}

fn assert_no_seed_secret(tb: &TestBed, dir: &Path, runs: &[&Run], min_files: usize) {
    let (_, _, client_secret) = tb.service_principal();
    let secrets = [SEED_ACCOUNT_KEY, SEED_PAT, client_secret.as_str(), tb.token(), tb.primary().storage_key.as_str(), tb.failover().storage_key.as_str()];
    let mut all = Vec::new();
    files(dir, &mut all);
    for r in runs {
        all.push(("stdout".into(), r.stdout.clone()));
        all.push(("stderr".into(), r.stderr.clone()));
    }
    assert!(all.len() >= min_files + 2 * runs.len(), "the manifest and the YAML files are scanned: {:?}", all.iter().map(|x| &x.0).collect::<Vec<_>>());
    for (name, text) in &all {
        for s in secrets {
            assert!(!text.contains(s), "a secret reached {name}");
        }
        assert!(!text.contains("sig="), "a SAS signature reached {name}");
    }
}

#[test]
fn copy_writes_every_definition_into_the_target_without_a_secret_in_any_file() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("copy.json");
    let (from, to, m) = (tb.primary().arm_id(), tb.failover().arm_id(), manifest.to_str().unwrap().to_string());

    let r = run(command_in(&tb, dir.path()), &copy_args(&from, &to, &m, &[]));
    r.expect_code(0);
    let report = r.json();
    let acts = actions(&report);
    for (k, n, a) in SEEDED_ESTATE_WITHOUT_OPTIONS {
        assert_eq!(action_of(&report, k, n), a, "{k} {n}: {acts:?}");
    }
    assert!(!acts.iter().any(|(_, n, _)| n.starts_with("workspace")), "the workspace's default datastores are never copied: {acts:?}");

    // Read back from the target, independently of the tool.
    let (p, t) = (tb.primary().arm_id(), tb.failover().arm_id());
    assert!(d.get(&format!("{t}/datastores/curated_lake")).is_some(), "identity-based datastore created");
    assert!(d.get(&format!("{t}/datastores/shared_training_data")).is_none(), "secret-bearing datastore left to a person");
    assert!(d.get(&format!("{t}/connections/contoso-git")).is_none(), "PAT connection left to a person");
    let cluster = d.get(&format!("{t}/computes/cpu-cluster")).expect("cluster created");
    let scale = &cluster["properties"]["properties"]["scaleSettings"];
    assert_eq!(scale["minNodeCount"], 0, "clusters are created with min nodes 0: {scale}");
    assert_eq!(scale["maxNodeCount"], 4, "{scale}");
    assert_eq!(cluster["location"], "westus", "created in the target's region");
    let dep = d.get(&format!("{t}/batchEndpoints/nightly-scoring/deployments/mlflow-v1")).expect("batch deployment created");
    let model = dep["properties"]["model"]["assetId"].as_str().or(dep["properties"]["model"].as_str()).unwrap_or_default().to_string();
    assert!(model.to_ascii_lowercase().starts_with(&t.to_ascii_lowercase()), "model reference rewritten to the target: {model}");
    let compute = dep["properties"]["compute"].as_str().unwrap_or_default();
    assert!(compute.to_ascii_lowercase().starts_with(&t.to_ascii_lowercase()), "compute reference rewritten: {compute}");
    let ep = d.get(&format!("{t}/batchEndpoints/nightly-scoring")).unwrap();
    assert_eq!(ep["properties"]["defaults"]["deploymentName"], "mlflow-v1", "the endpoint's default deployment kept");
    assert!(d.get(&format!("{t}/onlineEndpoints/scoring-online")).is_none(), "online endpoints are YAML without --deploy");
    let sched = d.get(&format!("{t}/schedules/nightly-hello")).expect("schedule created");
    assert_eq!(sched["properties"]["isEnabled"], false, "schedules are copied disabled");
    assert_eq!(d.get(&format!("{p}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], true, "the source's schedule untouched");

    // The YAML of what is left, beside the manifest, secrets as placeholders.
    let yaml_dir = dir.path().join("aml-failover-estate");
    let ds_yaml = std::fs::read_to_string(yaml_dir.join("datastores/datastore-shared_training_data.yml")).unwrap();
    assert!(ds_yaml.contains("<secret:") && ds_yaml.contains("account_name: amlsharedsa"), "{ds_yaml}");
    let online = std::fs::read_to_string(yaml_dir.join("online-deployments/deployment-scoring-online-blue.yml")).unwrap();
    assert!(online.contains("model: azureml:local-mlflow-example:1") && online.contains("endpoint_name: scoring-online"), "{online}");

    // Rerun: nothing to write.
    let again = run(command_in(&tb, dir.path()), &copy_args(&from, &to, &m, &[]));
    again.expect_code(0);
    let rep2 = again.json();
    for d2 in rep2["estate"].as_array().unwrap() {
        assert_eq!(d2["written"], false, "a rerun writes nothing: {d2}");
        assert!(["skip", "manual", "yaml"].contains(&d2["action"].as_str().unwrap()), "{d2}");
    }
    assert_no_seed_secret(&tb, dir.path(), &[&r, &again], 6);

    // Human output: one line per definition, and the summary line.
    let human = run(command_in(&tb, dir.path()), &["plan", "--from", &from, "--to", &to, "--kinds", "datastores,computes,schedules"]);
    human.expect_code(0);
    assert!(human.stdout.contains("skipped   compute cpu-cluster"), "{}", human.stdout);
    assert!(human.stdout.contains("estate: 4 definitions:"), "{}", human.stdout);
}

#[test]
fn with_secrets_creates_the_secret_bearing_definitions_and_the_secret_stays_in_the_target() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("copy.json");
    let (from, to, m) = (tb.primary().arm_id(), tb.failover().arm_id(), manifest.to_str().unwrap().to_string());
    let r = run(command_in(&tb, dir.path()), &copy_args(&from, &to, &m, &["--kinds", "datastores,connections", "--with-secrets"]));
    r.expect_code(0);
    let report = r.json();
    assert_eq!(action_of(&report, "datastore", "shared_training_data"), "create");
    assert_eq!(action_of(&report, "connection", "contoso-git"), "create");
    let t = tb.failover().arm_id();
    let secrets = d.post(&format!("{t}/datastores/shared_training_data/listSecrets")).expect("listSecrets answers");
    assert_eq!(secrets["key"], SEED_ACCOUNT_KEY, "the target holds the source's key: {secrets}");
    let conn = d.post(&format!("{t}/connections/contoso-git/listsecrets")).expect("listsecrets answers");
    assert_eq!(conn["properties"]["credentials"]["pat"], SEED_PAT, "{conn}");
    assert_no_seed_secret(&tb, dir.path(), &[&r], 1);
    // A rerun is a no-op (the service never lists secrets: compared without them).
    let again = run(command_in(&tb, dir.path()), &copy_args(&from, &to, &m, &["--kinds", "datastores,connections", "--with-secrets"]));
    again.expect_code(0);
    assert!(again.json()["estate"].as_array().unwrap().iter().all(|x| x["action"] == "skip"), "{}", again.stdout);
}

#[test]
fn a_region_short_of_quota_fails_the_cluster_naming_the_family_and_the_numbers() {
    let tb = seeded_testbed(false);
    let mut settings = aml_emulator::resources::regions::RegionSettings::default();
    settings.family_limits.insert("standardDSv2Family".into(), 8);
    tb.set_region("westus", settings);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("copy.json");
    let (from, to, m) = (tb.primary().arm_id(), tb.failover().arm_id(), manifest.to_str().unwrap().to_string());
    let r = run(command_in(&tb, dir.path()), &copy_args(&from, &to, &m, &["--kinds", "computes"]));
    r.expect_code(1);
    let report = r.json();
    let c = report["estate"].as_array().unwrap().iter().find(|x| x["name"] == "cpu-cluster").unwrap().clone();
    assert_eq!(c["action"], "fail", "{c}");
    let why = c["reason"].as_str().unwrap();
    assert!(why.contains("standardDSv2Family") && why.contains('8') && why.contains("16"), "names the family, the limit and the need: {why}");
    assert!(Direct::new(&tb).get(&format!("{}/computes/cpu-cluster", tb.failover().arm_id())).is_none(), "nothing created");
}

fn step<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["steps"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no step {name}: {v}"))
}

#[test]
fn failover_enables_the_pre_staged_schedules_and_deploys_the_online_endpoints() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    // Pre-staging (warm): everything but the online endpoints, the schedule disabled.
    let m = dir.path().join("pre.json");
    run(command_in(&tb, dir.path()), &copy_args(&from, &to, m.to_str().unwrap(), &[])).expect_code(0);
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], false);

    let out = dir.path().join("out");
    let r = run(
        command_in(&tb, dir.path()),
        &["failover", "--from", &from, "--to", &to, "--out-dir", out.to_str().unwrap(), "--skip-outputs", "--skip-notebooks", "--accept-data-warnings",
            "--deploy-endpoints", "--instance-count", "1", "-o", "json"],
    );
    r.expect_code(0);
    let v = r.json();
    assert_eq!(step(&v, "estate")["outcome"], "done", "{v}");
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], true, "the schedule runs in the failover workspace now");
    let ep = d.get(&format!("{to}/onlineEndpoints/scoring-online")).expect("online endpoint created at failover");
    assert_eq!(ep["properties"]["traffic"], serde_json::json!({"blue": 90, "green": 10}), "traffic split kept: {ep}");
    let blue = d.get(&format!("{to}/onlineEndpoints/scoring-online/deployments/blue")).expect("deployment blue created");
    assert_eq!(blue["sku"]["capacity"], 1, "--instance-count: {blue}");
    let model = blue["properties"]["model"].as_str().unwrap_or_default();
    assert!(model.to_ascii_lowercase().starts_with(&to.to_ascii_lowercase()), "model reference rewritten to the target: {model}");
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("disable the failover workspace's schedules again")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains("datastore shared_training_data") && m.contains("--with-secrets")), "{manual:?}");
    assert!(!manual.iter().any(|m| m.contains("online endpoint") || m.contains("redeploy")), "online endpoints were created: {manual:?}");
    assert_no_seed_secret(&tb, dir.path(), &[&r], 6);
    // Failing back: copying to the primary leaves its (enabled) schedule as it is.
    let back = dir.path().join("back.json");
    let r = run(command_in(&tb, dir.path()), &copy_args(&to, &from, back.to_str().unwrap(), &["--kinds", "schedules,computes"]));
    r.expect_code(0);
    assert_eq!(action_of(&r.json(), "schedule", "nightly-hello"), "skip", "{}", r.stdout);
    assert_eq!(d.get(&format!("{from}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], true);
}

#[test]
fn failover_with_the_primary_down_enables_the_pre_staged_schedules() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let m = dir.path().join("pre.json");
    run(command_in(&tb, dir.path()), &copy_args(&from, &to, m.to_str().unwrap(), &["--kinds", "schedules"])).expect_code(0);
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], false);
    tb.set_fault(Fault::region_down("eastus"));
    let out = dir.path().join("out");
    let r = run(
        command_in(&tb, dir.path()),
        &["failover", "--from", &from, "--to", &to, "--out-dir", out.to_str().unwrap(), "--skip-outputs", "--skip-notebooks", "--max-retries", "0", "-o", "json"],
    );
    r.expect_code(1);
    let v = r.json();
    assert_eq!(step(&v, "estate")["outcome"], "done", "{v}");
    tb.clear_faults();
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], true);
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("aml-failover-estate/")), "{manual:?}");
}

#[test]
fn after_a_full_copy_verify_is_in_sync_azure_ai_ml_reads_every_definition_back_and_drift_is_named() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let m = dir.path().join("copy.json");
    let kinds = "datastores,connections,computes,endpoints,schedules,models";
    run(command_in(&tb, dir.path()), &copy_args(&from, &to, m.to_str().unwrap(), &["--kinds", kinds, "--with-secrets", "--deploy"])).expect_code(0);
    let v = run(command_in(&tb, dir.path()), &["verify", "--from", &from, "--to", &to, "--kinds", kinds, "-o", "json"]);
    v.expect_code(0);
    let rep = v.json();
    assert_eq!(rep["inSync"], true, "{rep}");
    let estate = rep["estate"].as_array().unwrap();
    assert_eq!(estate.len(), 10, "every definition compared: {rep}");
    assert!(estate.iter().all(|e| e["state"] == "in-sync"), "{rep}");
    // Microsoft's azure-ai-ml reads back every definition the tool created in the failover workspace.
    let specs: Vec<String> = estate.iter().map(|e| format!("{}:{}:-", e["kind"].as_str().unwrap().replace('-', "_"), e["name"].as_str().unwrap())).collect();
    sdk_reads_back(&tb, &tb.failover().name, &specs);

    // Drift: the target's schedule runs at another time; the target has a datastore the source has not.
    let mut s = d.get(&format!("{to}/schedules/nightly-hello")).unwrap();
    s["properties"]["trigger"]["expression"] = serde_json::json!("0 3 * * *");
    assert!(d.put(&format!("{to}/schedules/nightly-hello"), &serde_json::json!({"properties": s["properties"]})) < 300);
    let lake = d.get(&format!("{to}/datastores/curated_lake")).unwrap();
    assert!(d.put(&format!("{to}/datastores/extra_lake"), &serde_json::json!({"properties": lake["properties"]})) < 300);
    let v = run(command_in(&tb, dir.path()), &["verify", "--from", &from, "--to", &to, "--kinds", kinds]);
    v.expect_code(7);
    assert!(v.stdout.contains("DIFFERENT  schedule nightly-hello"), "{}", v.stdout);
    assert!(v.stdout.contains("EXTRA      datastore extra_lake"), "{}", v.stdout);
    assert!(v.stdout.contains("estate: 11 definitions: 9 in sync, 0 missing, 1 different, 1 extra"), "{}", v.stdout);
}

#[test]
fn a_snapshot_carries_the_definitions_and_restores_them_with_the_primary_down() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let bundle = dir.path().join("bundle");
    let data = dir.path().join("data");

    // Export: every definition copy would write, in the manifest, never a secret.
    let exp = run(command_in(&tb, dir.path()), &["snapshot", "export", "--from", &from, "--to", bundle.to_str().unwrap(), "-o", "json"]);
    exp.expect_code(0);
    let id = exp.json()["snapshot"].as_str().unwrap().to_string();
    let m: Value = serde_json::from_slice(&std::fs::read(bundle.join("snapshots").join(&id).join("manifest.json")).unwrap()).unwrap();
    let defs = m["definitions"].as_array().unwrap_or_else(|| panic!("no definitions in the manifest: {m}"));
    let mut listed: Vec<String> = defs.iter().map(|x| format!("{} {}", x["kind"].as_str().unwrap(), x.get("endpoint").and_then(Value::as_str).map_or(x["name"].as_str().unwrap().to_string(), |e| format!("{e}/{}", x["name"].as_str().unwrap())))).collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "batch-deployment nightly-scoring/mlflow-v1", "batch-endpoint nightly-scoring", "compute cpu-cluster", "connection contoso-git", "datastore curated_lake",
            "datastore shared_training_data", "online-deployment scoring-online/blue", "online-deployment scoring-online/green", "online-endpoint scoring-online", "schedule nightly-hello",
        ],
        "every definition but the workspace's default datastores"
    );
    let ds = defs.iter().find(|x| x["name"] == "shared_training_data").unwrap();
    assert!(ds["yaml"].as_str().unwrap().contains("<secret:") && ds["yaml"].as_str().unwrap().contains("account_name: amlsharedsa"), "{ds}");
    assert_eq!(exp.json()["definitions"], 10, "{}", exp.stdout);

    // Restore with the primary's region down: written as copy writes them, into the failover workspace.
    tb.set_fault(Fault::region_down("eastus"));
    let restore = || {
        let r = run(
            command_in(&tb, dir.path()),
            &["snapshot", "restore", bundle.to_str().unwrap(), "--to", &to, "--data-output-dir", data.to_str().unwrap(), "--accept-data-warnings", "-o", "json"],
        );
        r.expect_code(0);
        r
    };
    let r1 = restore();
    let rep = r1.json();
    for (k, n, a) in SEEDED_ESTATE_WITHOUT_OPTIONS {
        assert_eq!(action_of(&rep, k, n), a, "{k} {n}: {:?}", actions(&rep));
    }
    assert!(d.get(&format!("{to}/datastores/curated_lake")).is_some(), "identity-based datastore created");
    assert!(d.get(&format!("{to}/datastores/shared_training_data")).is_none(), "a snapshot holds no secret: left to a person");
    let cluster = d.get(&format!("{to}/computes/cpu-cluster")).expect("cluster created");
    assert_eq!(cluster["properties"]["properties"]["scaleSettings"]["minNodeCount"], 0, "{cluster}");
    assert_eq!(cluster["location"], "westus", "created in the target's region");
    let dep = d.get(&format!("{to}/batchEndpoints/nightly-scoring/deployments/mlflow-v1")).expect("batch deployment created");
    let model = dep["properties"]["model"]["assetId"].as_str().or(dep["properties"]["model"].as_str()).unwrap_or_default().to_ascii_lowercase();
    assert!(model.starts_with(&to.to_ascii_lowercase()), "model reference rewritten to the target: {model}");
    assert!(dep["properties"]["compute"].as_str().unwrap_or_default().to_ascii_lowercase().starts_with(&to.to_ascii_lowercase()), "{dep}");
    assert_eq!(d.get(&format!("{to}/batchEndpoints/nightly-scoring")).unwrap()["properties"]["defaults"]["deploymentName"], "mlflow-v1");
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).expect("schedule created")["properties"]["isEnabled"], false, "restored disabled");
    assert!(d.get(&format!("{to}/onlineEndpoints/scoring-online")).is_none(), "online endpoints are YAML without --deploy");
    let ds_yaml = std::fs::read_to_string(dir.path().join("aml-failover-estate/datastores/datastore-shared_training_data.yml")).unwrap();
    assert!(ds_yaml.contains("<secret:"), "{ds_yaml}");

    // A rerun writes nothing.
    let r2 = restore();
    for x in r2.json()["estate"].as_array().unwrap() {
        assert_eq!(x["written"], false, "a rerun writes nothing: {x}");
        assert!(["skip", "manual", "yaml"].contains(&x["action"].as_str().unwrap()), "{x}");
    }

    // Failover from the snapshot, the primary still down: schedules enabled, online endpoints deployed.
    let out = dir.path().join("out");
    let fo = run(
        command_in(&tb, dir.path()),
        &["failover", "--from", &from, "--to", &to, "--snapshot", bundle.to_str().unwrap(), "--out-dir", out.to_str().unwrap(), "--skip-outputs", "--skip-notebooks",
            "--accept-data-warnings", "--deploy-endpoints", "--instance-count", "1", "--max-retries", "0", "-o", "json"],
    );
    fo.expect_code(1);
    let v = fo.json();
    assert_eq!(step(&v, "estate")["outcome"], "done", "{v}");
    assert_eq!(d.get(&format!("{to}/schedules/nightly-hello")).unwrap()["properties"]["isEnabled"], true, "enabled at failover");
    let ep = d.get(&format!("{to}/onlineEndpoints/scoring-online")).expect("online endpoint created from the snapshot");
    assert_eq!(ep["properties"]["traffic"], serde_json::json!({"blue": 90, "green": 10}), "traffic split kept: {ep}");
    let blue = d.get(&format!("{to}/onlineEndpoints/scoring-online/deployments/blue")).expect("deployment blue created");
    assert_eq!(blue["sku"]["capacity"], 1, "--instance-count: {blue}");
    assert!(blue["properties"]["model"].as_str().unwrap_or_default().to_ascii_lowercase().starts_with(&to.to_ascii_lowercase()), "{blue}");
    let manual: Vec<&str> = v["manualSteps"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    assert!(manual.iter().any(|m| m.contains("datastore shared_training_data")), "{manual:?}");
    assert!(!manual.iter().any(|m| m.contains("its definitions cannot be read")), "the snapshot gave them: {manual:?}");
    tb.clear_faults();

    // The bundle, the YAML and every output: no secret of the seed.
    assert_no_seed_secret(&tb, dir.path(), &[&exp, &r1, &r2, &fo], 10);
}
