//! Microsoft's Python SDK `azure-ai-ml` (pinned in emulator/tests/sdk/requirements.txt, installed
//! into `.venv-sdk` by scripts/setup.sh) against the emulator: `tests/sdk/azure_ai_ml_check.py`
//! reads the seeded primary workspace through `MLClient` (static token and azure-identity's
//! ClientSecretCredential against the emulator's token endpoint), compares with the seed, creates
//! a model version, an environment version and a command job and reads them back, and submits a
//! two-step pipeline job through ClientSecretCredential; reads the seeded estate (datastores with
//! and without secrets, a connection, a cluster, VM sizes and usage, an online endpoint with two
//! deployments and a traffic split, a batch endpoint and deployment, a schedule) and creates one
//! of each through the SDK's (long-running) create calls; it submits a
//! two-step pipeline job through ClientSecretCredential (the SDK checks that the token minted for
//! the workspace audience has `aud` equal to it, as Entra issues it). Page size 2,
//! so the SDK follows `nextLink` in every list longer than two.
//!
//! Limit: the model's `path` is an existing `azureml://datastores/workspaceblobstore/paths/...`
//! URI. A local path would make the SDK upload to `https://<account>.blob.<storage suffix>`,
//! which cannot address Azurite's path-style URLs (`http://127.0.0.1:P/<account>`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aml_emulator::testbed::{TestBed, TestBedOptions};

const TIMEOUT: Duration = Duration::from_secs(300);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn azure_ai_ml_sdk_against_the_emulator() {
    let repo = repo();
    let python = repo.join(".venv-sdk/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the pinned azure-ai-ml into .venv-sdk)",
        python.display()
    );
    let script = repo.join("emulator/tests/sdk/azure_ai_ml_check.py");

    let bed = TestBed::start(TestBedOptions {
        page_size: Some(2),
        seed_primary: Some(repo.join("testdata/seed/primary")),
        ..Default::default()
    })
    .expect("test bed starts");

    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("stdout"), out_dir.path().join("stderr"));
    let started = Instant::now();
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .current_dir(&repo)
        .envs(bed.env())
        // Only what the bed gives: no Azure login, proxy or CA settings from the developer's shell.
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_SECRET")
        .env_remove("AZUREML_CURRENT_CLOUD")
        .env_remove("CURL_CA_BUNDLE")
        .env_remove("SSL_CERT_FILE")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut child = cmd.spawn().expect("start .venv-sdk/bin/python");
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let report = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    match status {
        None => panic!("azure_ai_ml_check.py did not finish within {TIMEOUT:?}\n{report}"),
        Some(s) if !s.success() => panic!("azure_ai_ml_check.py failed ({s})\n{report}"),
        Some(_) => {}
    }
    eprintln!("azure_ai_ml_check.py passed in {:.1} s\n{stdout}", started.elapsed().as_secs_f64());

    // What the SDK did, seen from the emulator: both credentials, the writes, and lists that
    // crossed pages (page size 2; two MLClients).
    for (op, at_least) in [
        ("OpenIdConfiguration", 1),
        ("Token", 1),
        ("Workspaces_Get", 2),
        ("ModelVersions_CreateOrUpdate", 2),
        ("EnvironmentVersions_CreateOrUpdate", 1),
        ("Datastores_List", 2 * 2),
        ("ModelContainers_List", 2 * 2),
        ("EnvironmentContainers_List", 2 * 2),
        ("ModelVersions_List", 1),
        ("ComponentVersions_Get", 2),
        ("DataVersions_Get", 2),
        ("Jobs_List", 2),
        ("Jobs_CreateOrUpdate", 2),
        ("Jobs_Get", 2),
        ("Datastores_ListSecrets", 2),
        ("Datastores_CreateOrUpdate", 1),
        ("WorkspaceConnections_List", 2),
        ("WorkspaceConnections_ListSecrets", 2),
        ("WorkspaceConnections_Create", 1),
        ("Compute_List", 2),
        ("Compute_Get", 2),
        ("Compute_CreateOrUpdate", 1),
        ("VirtualMachineSizes_List", 2),
        ("Usages_List", 2),
        ("OnlineEndpoints_Get", 2),
        ("OnlineEndpoints_CreateOrUpdate", 2),
        ("OnlineEndpoints_ListKeys", 1),
        ("OnlineDeployments_List", 2),
        ("OnlineDeployments_CreateOrUpdate", 1),
        ("BatchEndpoints_Get", 2),
        ("BatchEndpoints_CreateOrUpdate", 1),
        ("BatchDeployments_List", 2),
        ("BatchDeployments_CreateOrUpdate", 1),
        ("Schedules_List", 2),
        ("Schedules_Get", 2),
        ("Schedules_CreateOrUpdate", 2),
        ("OperationStatus_Get", 6),
    ] {
        let n = bed.operation_count(op);
        assert!(n >= at_least, "{op}: {n} requests, expected at least {at_least}\n{report}");
    }
}
