//! Running the built `aml-failover` binary against the test bed (Azurite + the emulator).

#![allow(dead_code)]

pub use aml_emulator::testbed::{TestBed, TestBedOptions};
use std::path::Path;
use std::process::{Command, Output};

/// The outcome of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
    /// Panics with everything printed when the exit code is not `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A command for the binary with a clean environment: nothing from the developer's machine
/// (no AZURE_* or AML_FAILOVER_* variables) leaks into a test.
pub fn bare_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aml-failover"));
    c.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            c.env(keep, v);
        }
    }
    // Retries stay real but short in tests.
    c.env("AML_FAILOVER_RETRY_BASE_MS", "20");
    // Journals and locks go to a folder of this test process, never to the developer's $HOME.
    c.env("AML_FAILOVER_STATE_DIR", std::env::temp_dir().join(format!("aml-failover-test-state-{}", std::process::id())));
    c
}

/// A command pointed at the test bed, with its static token.
pub fn command(tb: &TestBed) -> Command {
    let mut c = bare_command();
    for (k, v) in tb.env() {
        if k.starts_with("AML_FAILOVER_") {
            c.env(k, v);
        }
    }
    c
}

pub fn run(mut c: Command, args: &[&str]) -> Run {
    c.args(args).output().expect("the binary runs").into()
}

/// Starts the standard two-region bed (primary eastus, failover westus).
pub fn testbed(page_size: Option<usize>, seed: bool) -> TestBed {
    let seed_primary = seed.then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary"));
    TestBed::start(TestBedOptions { page_size, seed_primary, ..Default::default() }).expect("test bed starts (run scripts/setup.sh first)")
}

/// Asserts that no secret of the bed appears in what the tool printed.
pub fn assert_no_secrets(tb: &TestBed, r: &Run) {
    let (_, _, secret) = tb.service_principal();
    for s in [tb.token().to_string(), tb.primary().storage_key.clone(), tb.failover().storage_key.clone(), secret] {
        assert!(!r.stdout.contains(&s) && !r.stderr.contains(&s), "a secret was printed:\n{}\n{}", r.stdout, r.stderr);
    }
}

/// Starts the bed with the primary seeded and, when asked, the fault-injecting storage proxy
/// between the tool and Azurite.
pub fn seeded_testbed(storage_proxy: bool) -> TestBed {
    let seed_primary = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary"));
    TestBed::start(TestBedOptions { page_size: Some(3), seed_primary, storage_proxy }).expect("test bed starts (run scripts/setup.sh first)")
}

/// The notebooks share (`workspaceworkingdirectory` of current workspaces) the seeded primary holds.
pub const SEEDED_WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

/// The bed with the primary seeded and the Azure Files service, the primary's notebooks share
/// seeded from testdata/seed/notebooks.
pub fn seeded_testbed_with_notebooks() -> TestBed {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tb = TestBed::start_with_files(
        TestBedOptions { seed_primary: Some(root.join("testdata/seed/primary")), ..Default::default() },
        aml_emulator::testbed::FilesBedOptions::default(),
    )
    .expect("test bed starts");
    tb.seed_share(&tb.primary().storage_account, SEEDED_WORKING_DIR, &root.join("testdata/seed/notebooks")).unwrap();
    tb
}

/// Direct access to the bed's control plane and storage, independent of the tool, for checks.
pub struct Direct<'a> {
    tb: &'a TestBed,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl<'a> Direct<'a> {
    pub fn new(tb: &'a TestBed) -> Direct<'a> {
        let pem = std::fs::read(tb.ca_pem_path()).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_merge(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
            .build()
            .unwrap();
        Direct { tb, rt: tokio::runtime::Runtime::new().unwrap(), http }
    }

    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version=2025-12-01", self.tb.arm_url())
    }

    /// GET an ARM path; `None` on 404.
    pub fn get(&self, path: &str) -> Option<serde_json::Value> {
        self.rt.block_on(async {
            let r = self.http.get(self.url(path)).bearer_auth(self.tb.token()).send().await.unwrap();
            if r.status() == 404 {
                return None;
            }
            assert!(r.status().is_success(), "GET {path}: {}", r.status());
            Some(r.json().await.unwrap())
        })
    }

    /// Every item of an ARM list, following nextLink.
    pub fn list(&self, path: &str) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        let mut url = self.url(path);
        self.rt.block_on(async {
            loop {
                let r = self.http.get(&url).bearer_auth(self.tb.token()).send().await.unwrap();
                assert!(r.status().is_success(), "GET {url}: {}", r.status());
                let v: serde_json::Value = r.json().await.unwrap();
                out.extend(v["value"].as_array().unwrap().iter().cloned());
                match v["nextLink"].as_str() {
                    Some(n) => url = n.to_string(),
                    None => break,
                }
            }
        });
        out
    }

    pub fn delete(&self, path: &str) -> u16 {
        self.rt.block_on(async { self.http.delete(self.url(path)).bearer_auth(self.tb.token()).send().await.unwrap().status().as_u16() })
    }

    /// POST an ARM action (`listSecrets`); `None` unless it answers 2xx.
    pub fn post(&self, path: &str) -> Option<serde_json::Value> {
        self.rt.block_on(async {
            let r = self.http.post(self.url(path)).bearer_auth(self.tb.token()).send().await.unwrap();
            if !r.status().is_success() {
                return None;
            }
            Some(r.json().await.unwrap())
        })
    }

    pub fn put(&self, path: &str, body: &serde_json::Value) -> u16 {
        self.rt.block_on(async {
            self.http.put(self.url(path)).bearer_auth(self.tb.token()).json(body).send().await.unwrap().status().as_u16()
        })
    }

    /// The bytes of a blob in a workspace's default container.
    pub fn blob(&self, ws: &aml_emulator::testbed::WorkspaceInfo, name: &str) -> Option<Vec<u8>> {
        let svc = aml_emulator::blob::BlobService::new(self.tb.azurite_blob_endpoint());
        self.rt.block_on(svc.get_blob(&ws.storage_account, &ws.storage_key, &ws.default_container(), name)).ok()
    }

    pub fn put_blob(&self, ws: &aml_emulator::testbed::WorkspaceInfo, name: &str, data: &[u8]) {
        let svc = aml_emulator::blob::BlobService::new(self.tb.azurite_blob_endpoint());
        self.rt.block_on(svc.put_blob(&ws.storage_account, &ws.storage_key, &ws.default_container(), name, data.to_vec())).unwrap();
    }

    /// Uploads a blob in blocks without any MD5, so that the service stores no Content-MD5.
    pub fn put_blob_in_blocks(&self, ws: &aml_emulator::testbed::WorkspaceInfo, name: &str, data: &[u8], block: usize) {
        let svc = aml_emulator::blob::BlobService::new(self.tb.azurite_blob_endpoint());
        self.rt.block_on(svc.put_blob_in_blocks(&ws.storage_account, &ws.storage_key, &ws.default_container(), name, data, block)).unwrap();
    }
}

/// The blob path inside a workspace's default container that a model's `modelUri` names.
pub fn datastore_path(uri: &str) -> String {
    uri.split("/paths/").nth(1).unwrap_or_else(|| panic!("not a datastore URI: {uri}")).trim_end_matches('/').to_string()
}

/// sha256 hex of bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// ../shared/testdata/azureml-examples (or `$AML_TESTDATA_DIR/azureml-examples`): Microsoft's
/// public examples, the corpus of tests/corpus_pipelines.rs and tests/sdk_corpus.rs.
pub fn azureml_examples() -> std::path::PathBuf {
    let dir = std::env::var_os("AML_TESTDATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"))
        .join("azureml-examples");
    assert!(dir.is_dir(), "shared test data missing at {} (set AML_TESTDATA_DIR)", dir.display());
    dir
}

/// Every `.yml`/`.yaml` file under `dir`, in path order.
pub fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
}

/// Reproducible test bytes of length `len`, different for each `tag`.
pub fn bytes_for(tag: &str, len: usize) -> Vec<u8> {
    let h = sha256_hex(tag.as_bytes());
    let k = u32::from_str_radix(&h[..8], 16).unwrap();
    (0..len as u32).map(|b| (b.wrapping_mul(31).wrapping_add(k) % 251) as u8).collect()
}

/// `azureml://…/datastores/workspaceblobstore/paths/` of a workspace.
pub fn datastore_base(ws: &aml_emulator::testbed::WorkspaceInfo) -> String {
    format!(
        "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/workspaceblobstore/paths/",
        ws.subscription_id, ws.resource_group, ws.name
    )
}

/// Seeds a completed command job `job` in the primary whose output `out` holds `files`
/// (relative name, bytes), laid out as Azure ML writes it (`azureml/<job>/out/…`), through the
/// emulator's seeding of a job YAML and its `.run/` folder (written under `scratch`).
pub fn seed_job_output(tb: &TestBed, scratch: &Path, job: &str, files: &[(String, Vec<u8>)]) {
    let jobs = scratch.join(job).join("jobs");
    let out = jobs.join(format!("{job}.run/outputs/out"));
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        jobs.join(format!("{job}.yml")),
        format!("$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json\nname: {job}\nexperiment_name: tests\ncommand: echo\noutputs:\n  out:\n    type: uri_folder\nenvironment:\n  image: python\n"),
    )
    .unwrap();
    for (rel, b) in files {
        std::fs::write(out.join(rel), b).unwrap();
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(aml_emulator::seed::seed_workspace(tb.app(), &tb.primary().arm_id(), &scratch.join(job))).unwrap();
}

/// A storage proxy in front of the bed's Azure Files service (faults on notebooks), and the
/// `AML_FAILOVER_FILE_ENDPOINT` value that sends the tool through it.
pub fn files_proxy(tb: &TestBed) -> (aml_emulator::storage_proxy::StorageProxy, String) {
    let p = aml_emulator::storage_proxy::StorageProxy::start(tb.files_endpoint()).expect("a storage proxy in front of Azure Files");
    let template = format!("{}/{{account}}", p.blob_endpoint());
    (p, template)
}

pub mod oracle;

/// `ml.<kind>.get` of azure-ai-ml (emulator/tests/sdk/sdk_oracle.py get) for every spec
/// (`kind:name:version`, `-` for unversioned kinds) in `workspace`.
pub fn sdk_reads_back(tb: &TestBed, workspace: &str, specs: &[String]) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = repo.join(".venv-sdk/bin/python");
    assert!(python.is_file(), "{} is missing: run scripts/setup.sh (it installs the pinned azure-ai-ml)", python.display());
    let mut c = std::process::Command::new(python);
    c.arg(repo.join("emulator/tests/sdk/sdk_oracle.py")).arg("get").arg(workspace).args(specs);
    c.env_clear().envs(tb.env()).env("NO_PROXY", "127.0.0.1,localhost").env("PYTHONDONTWRITEBYTECODE", "1");
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            c.env(keep, v);
        }
    }
    let out = c.output().expect("python runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "azure-ai-ml could not read back:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.lines().filter(|l| l.starts_with("ok ")).count(), specs.len(), "{text}");
}
