//! `aml-failover outputs list|copy` through the built binary: job outputs and logs, through the
//! control plane and — with the primary region down — through storage only, from the RA-GRS
//! secondary endpoint, with nothing but a SAS for the source account.

mod common;

use aml_emulator::faults::Fault;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn seed_run(stem: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary/jobs").join(format!("{stem}.run"))
}

/// Every file under `dir`, as (relative path with '/', bytes).
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The seeded jobs' run folders as the destination must hold them, relative to `<source>/`.
fn expected(source_label: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (stem, job) in [("hello-outputs", "hello_outputs_1714"), ("train-run", "train_run_0042")] {
        for (rel, bytes) in tree(&seed_run(stem).join("outputs")) {
            out.push((format!("{source_label}/{job}/outputs/{rel}"), bytes));
        }
        for (rel, bytes) in tree(&seed_run(stem).join("artifacts")) {
            out.push((format!("{source_label}/{job}/artifacts/{rel}"), bytes));
        }
    }
    out.sort();
    out
}

/// An account SAS (blob service; service, container and object level; read and list).
fn account_sas(account: &str, key_b64: &str) -> String {
    use azure_sharedkey::sas::{sas_time, AccountSas};
    let key = azure_sharedkey::SharedKey::new(account, key_b64).unwrap();
    let sas = AccountSas {
        account: account.into(),
        permissions: "rl".into(),
        services: "b".into(),
        resource_types: "sco".into(),
        start: Some(sas_time(-300)),
        expiry: sas_time(3600),
        ip: None,
        protocol: None,
        version: "2021-12-02".into(),
        encryption_scope: None,
    };
    let sig = key.sign_raw(&sas.string_to_sign());
    let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!(
        "sv={}&ss=b&srt=sco&sp=rl&st={}&se={}&sig={}",
        sas.version,
        enc(sas.start.as_deref().unwrap()),
        enc(&sas.expiry),
        enc(&sig)
    )
}

#[test]
fn through_the_control_plane_into_a_folder_and_the_failover_workspace() {
    let tb = seeded_testbed(false);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let r = run(command(&tb), &["outputs", "list", "--from", &from, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["access"], "the control plane");
    let parts = v["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 4, "{v}");

    // Into a local folder: byte-identical to what the jobs wrote.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to-dir", out.to_str().unwrap(), "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let got: Vec<(String, Vec<u8>)> = tree(&out).into_iter().map(|(p, b)| (p.trim_start_matches("failover-outputs/").to_string(), b)).collect();
    assert_eq!(got, expected(&tb.primary().workspace_id));

    // Into the failover workspace, registered as data assets only after verify.
    let d = Direct::new(&tb);
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--register-as-data", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["copied"], 4, "{}", v["summary"]);
    for (rel, bytes) in expected(&tb.primary().workspace_id) {
        assert_eq!(d.blob(tb.failover(), &format!("failover-outputs/{rel}")).unwrap_or_else(|| panic!("{rel} missing")), bytes, "{rel}");
    }
    let data = d.get(&format!("{to}/data/train_run_0042-model_output/versions/1")).expect("data asset registered");
    assert!(data["properties"]["dataUri"].as_str().unwrap().ends_with(&format!("/paths/failover-outputs/{}/train_run_0042/outputs/model_output/", tb.primary().workspace_id)), "{data}");
    assert_eq!(data["properties"]["dataType"], "uri_folder");

    // A rerun is a no-op (the counter did see the first run's registrations).
    assert!(tb.request_count("PUT", "/workspaces/aml-failover/") > 0);
    tb.reset_counters();
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--register-as-data", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!((v["summary"]["copied"].as_u64(), v["summary"]["skipped"].as_u64()), (Some(0), Some(4)), "{}", v["summary"]);
    assert_eq!(v["summary"]["bytesTransferred"], 0);
    assert_eq!(tb.request_count("PUT", "/workspaces/aml-failover/"), 0);

    // Into any blob container, by URL with a container SAS: the URL's folder replaces failover-outputs/.
    let f = tb.failover().clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = aml_emulator::blob::BlobService::new(tb.azurite_blob_endpoint());
    rt.block_on(svc.create_container(&f.storage_account, &f.storage_key, "outputs-archive")).unwrap();
    let key = azure_sharedkey::SharedKey::new(&f.storage_account, &f.storage_key).unwrap();
    let sas = azure_sharedkey::sas::ServiceSas {
        account: f.storage_account.clone(),
        container: "outputs-archive".into(),
        blob: None,
        permissions: "rcwl".into(),
        start: Some(azure_sharedkey::sas::sas_time(-300)),
        expiry: azure_sharedkey::sas::sas_time(3600),
        protocol: None,
    }
    .token(&key);
    let url = format!("{}/{}/outputs-archive/nightly?{sas}", tb.blob_endpoint(), f.storage_account);
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--job", "train_*", "--to-url", &url, "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let sig = sas.split("sig=").nth(1).unwrap();
    assert!(!r.stdout.contains(sig) && !r.stderr.contains(sig), "the SAS signature was printed");
    assert!(!std::fs::read_to_string(&m).unwrap().contains(sig), "the SAS signature reached the manifest");
    let model = rt
        .block_on(svc.get_blob(&f.storage_account, &f.storage_key, "outputs-archive", &format!("nightly/{}/train_run_0042/outputs/model_output/model.bin", tb.primary().workspace_id)))
        .unwrap();
    assert_eq!(model, std::fs::read(seed_run("train-run").join("outputs/model_output/model.bin")).unwrap());

    // Filters: by job and by experiment.
    let r = run(command(&tb), &["outputs", "list", "--from", &from, "--experiment", "diabetes-training", "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let jobs: Vec<&str> = v["parts"].as_array().unwrap().iter().map(|p| p["job"].as_str().unwrap()).collect();
    assert!(jobs.iter().all(|j| *j == "train_run_0042") && !jobs.is_empty(), "{jobs:?}");
}

#[test]
fn with_the_primary_region_down_from_the_secondary_endpoint_with_only_a_sas() {
    let tb = seeded_testbed(true);
    let p = tb.primary().clone();
    let (from, to) = (p.arm_id(), tb.failover().arm_id());
    tb.set_fault(Fault::region_down("eastus"));
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let sas = account_sas(&p.storage_account, &p.storage_key);

    // Through the control plane alone there is no way in.
    let r = run(command(&tb), &["outputs", "copy", "--from", &from, "--to", &to, "--max-retries", "0", "--manifest", &m]);
    r.expect_code(5);
    assert!(r.stderr.contains("region may be down"), "{}", r.stderr);

    // Storage only, from the secondary, with a SAS and no key; the fallback says which way it took.
    tb.storage_proxy().unwrap().reset_counters();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_SAS", &sas);
    let r = run(
        c,
        &["outputs", "copy", "--from", &from, "--storage-account", &p.storage_account, "--source-endpoint", "secondary",
          "--to", &to, "--max-retries", "0", "--manifest", &m, "-o", "json"],
    );
    r.expect_code(0);
    let v = r.json();
    assert!(v["access"].as_str().unwrap().starts_with("storage only (RA-GRS secondary endpoint)"), "{}", v["access"]);
    assert!(v["access"].as_str().unwrap().contains("did not answer"), "{}", v["access"]);
    assert!(v["source"].as_str().unwrap().ends_with(&format!("/{}-secondary", p.storage_account)), "{}", v["source"]);
    assert_eq!(v["summary"]["copied"], 4);
    let d = Direct::new(&tb);
    for (rel, bytes) in expected(&p.workspace_id) {
        assert_eq!(d.blob(tb.failover(), &format!("failover-outputs/{rel}")).unwrap_or_else(|| panic!("{rel} missing")), bytes, "{rel}");
    }
    // The source was only read, and only through the secondary endpoint.
    let secondary = format!("/{}-secondary/", p.storage_account);
    let reads = tb.storage_request_count("GET", &secondary);
    assert!(reads > 0, "nothing was read from the secondary");
    assert_eq!(tb.storage_request_count("GET", &format!("/{}/", p.storage_account)), 0, "the primary endpoint was read");
    for method in ["PUT", "POST", "DELETE"] {
        assert_eq!(tb.storage_request_count(method, &secondary), 0, "{method} sent to the secondary");
        assert_eq!(tb.storage_request_count(method, &format!("/{}/", p.storage_account)), 0, "{method} sent to the source");
    }
    assert!(!std::fs::read_to_string(&m).unwrap().contains("sig="), "the SAS reached the manifest");
    assert!(!r.stdout.contains(&sas) && !r.stderr.contains(&sas));

    // A rerun is a no-op; the human summary says how the source was reached.
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_SAS", &sas);
    let r = run(c, &["outputs", "copy", "--storage-account", &p.storage_account, "--source-endpoint", "secondary", "--to", &to, "--manifest", &m]);
    r.expect_code(0);
    assert!(r.stdout.contains("source reached through storage only (RA-GRS secondary endpoint)"), "{}", r.stdout);
    assert!(r.stdout.contains("0 copied, 4 skipped"), "{}", r.stdout);
}

#[test]
fn storage_only_needs_the_workspace_id_when_the_account_holds_several() {
    let tb = seeded_testbed(false);
    let p = tb.primary().clone();
    let other = "azureml-blobstore-11111111-2222-3333-4444-555555555555";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let svc = aml_emulator::blob::BlobService::new(tb.azurite_blob_endpoint());
    rt.block_on(svc.create_container(&p.storage_account, &p.storage_key, other)).unwrap();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "list", "--storage-account", &p.storage_account]);
    r.expect_code(2);
    assert!(r.stderr.contains("--workspace-id") && r.stderr.contains(other), "{}", r.stderr);
    let mut c = command(&tb);
    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
    let r = run(c, &["outputs", "list", "--storage-account", &p.storage_account, "--workspace-id", &p.workspace_id, "--job", "train_*", "-o", "json"]);
    r.expect_code(0);
    let v: Value = r.json();
    let jobs: Vec<&str> = v["parts"].as_array().unwrap().iter().map(|x| x["job"].as_str().unwrap()).collect();
    assert_eq!(jobs, ["train_run_0042", "train_run_0042"]);
    assert_no_secrets(&tb, &r);
}
