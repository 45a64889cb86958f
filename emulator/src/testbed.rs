//! The standard two-region test bed (Azurite + emulator) behind a synchronous API for
//! integration tests that run the tool as a child process, and for `aml-emulator up`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use serde::Serialize;

use crate::azurite::{Azurite, AzuriteOptions};
use crate::config::{EmulatorConfig, ServicePrincipal, StorageAccount, WorkspaceSpec};
use crate::faults::Fault;
use crate::files::{FilesOptions, FilesServer};
use crate::server::{App, RunningEmulator};
use crate::storage_proxy::{StorageFault, StorageProxy};

/// Names of the standard test bed, kept in one place.
pub mod names {
    pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000001";
    pub const RESOURCE_GROUP: &str = "rg-aml-failover";
    pub const TENANT_ID: &str = "00000000-0000-0000-0000-0000000000aa";
    pub const CLIENT_ID: &str = "00000000-0000-0000-0000-0000000000c1";
    pub const PRIMARY_WORKSPACE: &str = "aml-primary";
    pub const PRIMARY_LOCATION: &str = "eastus";
    pub const PRIMARY_STORAGE: &str = "amlprimarysa";
    pub const FAILOVER_WORKSPACE: &str = "aml-failover";
    pub const FAILOVER_LOCATION: &str = "westus";
    pub const FAILOVER_STORAGE: &str = "amlfailoversa";
    /// The container registry both workspaces share (Premium, replicated into both regions).
    pub const REGISTRY: &str = "amlfailoveracr";
    /// The Key Vault both workspaces share.
    pub const KEY_VAULT: &str = "kv-aml-failover";
}

/// ARM id of a resource of `provider_type` (`Microsoft.KeyVault/vaults`) in the standard group.
pub fn standard_id(provider_type: &str, name: &str) -> String {
    format!("/subscriptions/{}/resourceGroups/{}/providers/{provider_type}/{name}", names::SUBSCRIPTION, names::RESOURCE_GROUP)
}

/// The standard bed's estate as Microsoft's disaster-recovery guidance for Azure ML wants it:
/// each workspace its own RA-GRS storage account (the Storage RP's default) and Application
/// Insights; one Key Vault and one Premium container registry, replicated into the failover
/// region, shared by both. Tests then break one rule at a time.
pub fn standard_estate(app: &App) -> anyhow::Result<()> {
    use crate::resources::{acr, workspaces};
    use names::*;
    let registry = acr::RegistryRecord::new(SUBSCRIPTION, RESOURCE_GROUP, REGISTRY, PRIMARY_LOCATION, "Premium", &[FAILOVER_LOCATION]);
    let registry_id = registry.arm_id();
    acr::put(app, registry);
    for ws in [PRIMARY_WORKSPACE, FAILOVER_WORKSPACE] {
        let r = crate::arm::WorkspaceRef { subscription_id: SUBSCRIPTION.into(), resource_group: RESOURCE_GROUP.into(), name: ws.into() };
        workspaces::set_property(app, &r, "containerRegistry", serde_json::json!(registry_id))?;
        workspaces::set_property(app, &r, "keyVault", serde_json::json!(standard_id("Microsoft.KeyVault/vaults", KEY_VAULT)))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct TestBedOptions {
    /// Page size of every list (default 100).
    pub page_size: Option<usize>,
    /// Folder of `az ml` YAML files to load into the primary workspace.
    pub seed_primary: Option<PathBuf>,
    /// Start a fault-injecting [`StorageProxy`] in front of Azurite and point the tool at it
    /// (`blob_endpoint`, `blob_endpoint_template`, `AML_FAILOVER_BLOB_ENDPOINT`). The emulator
    /// itself (seeding, SAS) keeps talking to Azurite directly.
    pub storage_proxy: bool,
}

/// The bed's Azure Files service ([`TestBed::start_with_files`]). Kept out of [`TestBedOptions`]
/// because existing callers build that struct field by field.
#[derive(Debug, Clone, Default)]
pub struct FilesBedOptions {
    /// Largest page of List Shares / List Directories and Files (default 5000, Azure's).
    pub page_size: Option<usize>,
}

/// Connection facts of one workspace.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WorkspaceInfo {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub workspace_id: String,
    pub storage_account: String,
    pub storage_key: String,
}

impl WorkspaceInfo {
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
    /// Name of the workspace's default blob container (`workspaceblobstore`).
    pub fn default_container(&self) -> String {
        format!("azureml-blobstore-{}", self.workspace_id)
    }
    /// The file share of the notebooks tree in current workspaces (`workspaceworkingdirectory`).
    pub fn code_share(&self) -> String {
        crate::files::CODE_SHARE.to_string()
    }
    /// The file share older workspaces used (`azureml-filestore-<workspaceId>`).
    pub fn filestore_share(&self) -> String {
        crate::files::filestore_share(&self.workspace_id)
    }
}

/// Every connection fact of a running test bed (what `up --state-file` writes).
#[derive(Debug, Clone, Serialize)]
pub struct TestBedFacts {
    pub arm_url: String,
    pub authority_host: String,
    pub admin_url: String,
    pub ca_pem_path: Option<PathBuf>,
    pub token: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    /// The blob endpoint the tool uses: Azurite, or the storage proxy in front of it.
    pub blob_endpoint: String,
    pub blob_endpoint_template: String,
    /// Azurite itself (equal to `blob_endpoint` without a storage proxy).
    pub azurite_blob_endpoint: String,
    pub primary: WorkspaceInfo,
    pub failover: WorkspaceInfo,
    /// The Azure Files service (`http://127.0.0.1:F`) when the bed runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_endpoint: Option<String>,
    /// `http://127.0.0.1:F/{account}`
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files_endpoint_template: Option<String>,
}

impl TestBedFacts {
    /// The `AML_FAILOVER_*` and `EMU_*` variables of the env file.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("AML_FAILOVER_RESOURCE_MANAGER", self.arm_url.clone()),
            ("AML_FAILOVER_AUTHORITY_HOST", self.authority_host.clone()),
            ("AML_FAILOVER_BLOB_ENDPOINT", self.blob_endpoint_template.clone()),
        ];
        if let Some(t) = &self.files_endpoint_template {
            v.push(("AML_FAILOVER_FILE_ENDPOINT", t.clone()));
        }
        if let Some(ca) = &self.ca_pem_path {
            v.push(("AML_FAILOVER_CA_CERT", ca.display().to_string()));
        }
        v.extend([
            ("AML_FAILOVER_ACCESS_TOKEN", self.token.clone()),
            ("EMU_TENANT_ID", self.tenant_id.clone()),
            ("EMU_CLIENT_ID", self.client_id.clone()),
            ("EMU_CLIENT_SECRET", self.client_secret.clone()),
            ("EMU_SUBSCRIPTION", self.primary.subscription_id.clone()),
            ("EMU_RESOURCE_GROUP", self.primary.resource_group.clone()),
            ("EMU_PRIMARY_WORKSPACE", self.primary.name.clone()),
            ("EMU_FAILOVER_WORKSPACE", self.failover.name.clone()),
            ("EMU_ADMIN_URL", self.admin_url.clone()),
        ]);
        v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }

    /// Points the tool's blob endpoint at a storage proxy (`http://127.0.0.1:P`) in front of Azurite.
    pub fn use_storage_proxy(&mut self, proxy_endpoint: &str) {
        self.blob_endpoint = proxy_endpoint.trim_end_matches('/').to_string();
        self.blob_endpoint_template = format!("{}/{{account}}", self.blob_endpoint);
    }

    /// Records a running Azure Files service (`http://127.0.0.1:F`).
    pub fn use_files(&mut self, files_endpoint: &str) {
        let e = files_endpoint.trim_end_matches('/').to_string();
        self.files_endpoint_template = Some(format!("{e}/{{account}}"));
        self.files_endpoint = Some(e);
    }

    /// Shell `KEY=VALUE` lines (values single-quoted).
    pub fn env_file(&self) -> String {
        self.env().into_iter().map(|(k, v)| format!("{k}='{}'\n", v.replace('\'', "'\\''"))).collect()
    }
}

fn random_key() -> String {
    let bytes: [u8; 64] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Configuration of the standard bed against an Azurite at `blob_endpoint`.
pub fn standard_config(blob_endpoint: &str, page_size: Option<usize>, data_dir: Option<PathBuf>, primary_key: &str, failover_key: &str) -> EmulatorConfig {
    use names::*;
    EmulatorConfig {
        data_dir,
        page_size: page_size.unwrap_or(crate::config::DEFAULT_PAGE_SIZE),
        service_principals: vec![ServicePrincipal {
            tenant_id: TENANT_ID.into(),
            client_id: CLIENT_ID.into(),
            client_secret: format!("emu-secret-{}", uuid::Uuid::new_v4().simple()),
        }],
        blob_endpoint: Some(blob_endpoint.to_string()),
        storage_accounts: vec![
            StorageAccount { name: PRIMARY_STORAGE.into(), key: primary_key.into() },
            StorageAccount { name: FAILOVER_STORAGE.into(), key: failover_key.into() },
        ],
        workspaces: vec![
            WorkspaceSpec { subscription_id: SUBSCRIPTION.into(), resource_group: RESOURCE_GROUP.into(), name: PRIMARY_WORKSPACE.into(), location: PRIMARY_LOCATION.into(), storage_account: PRIMARY_STORAGE.into() },
            WorkspaceSpec { subscription_id: SUBSCRIPTION.into(), resource_group: RESOURCE_GROUP.into(), name: FAILOVER_WORKSPACE.into(), location: FAILOVER_LOCATION.into(), storage_account: FAILOVER_STORAGE.into() },
        ],
        ..EmulatorConfig::default()
    }
}

/// Starts Azurite with fresh keys for the two standard storage accounts.
pub fn start_azurite() -> anyhow::Result<(Azurite, String, String)> {
    let (pk, fk) = (random_key(), random_key());
    let azurite = Azurite::start(AzuriteOptions {
        accounts: vec![(names::PRIMARY_STORAGE.into(), pk.clone()), (names::FAILOVER_STORAGE.into(), fk.clone())],
        location: None,
    })?;
    Ok((azurite, pk, fk))
}

/// Facts of a running emulator configured by [`standard_config`].
pub fn facts(emu: &RunningEmulator) -> anyhow::Result<TestBedFacts> {
    let cfg = emu.config();
    let sp = cfg.service_principals.first().ok_or_else(|| anyhow::anyhow!("no service principal"))?;
    let info = |name: &str| -> anyhow::Result<WorkspaceInfo> {
        emu.app().store.read(|s| {
            let key = crate::arm::workspace_key(names::SUBSCRIPTION, names::RESOURCE_GROUP, name);
            let w = s.workspace(&key).ok_or_else(|| anyhow::anyhow!("workspace {name} missing"))?;
            Ok(WorkspaceInfo {
                subscription_id: w.subscription_id.clone(),
                resource_group: w.resource_group.clone(),
                name: w.name.clone(),
                location: w.location.clone(),
                workspace_id: w.workspace_id.clone(),
                storage_account: w.storage_account.clone(),
                storage_key: w.storage_key.clone(),
            })
        })
    };
    let blob = cfg.blob_endpoint.clone().unwrap_or_default();
    Ok(TestBedFacts {
        arm_url: emu.base_url().to_string(),
        authority_host: emu.base_url().to_string(),
        admin_url: format!("{}/_emulator", emu.base_url()),
        ca_pem_path: emu.ca_pem_path().map(Path::to_path_buf),
        token: emu.static_token().to_string(),
        tenant_id: sp.tenant_id.clone(),
        client_id: sp.client_id.clone(),
        client_secret: sp.client_secret.clone(),
        blob_endpoint_template: format!("{blob}/{{account}}"),
        azurite_blob_endpoint: blob.clone(),
        blob_endpoint: blob,
        primary: info(names::PRIMARY_WORKSPACE)?,
        failover: info(names::FAILOVER_WORKSPACE)?,
        files_endpoint: None,
        files_endpoint_template: None,
    })
}

/// Starts the Azure Files service for both workspaces' storage accounts (keys from `facts`)
/// with each workspace's two default shares, and records it in `facts`.
pub fn start_files(facts: &mut TestBedFacts, data_dir: Option<PathBuf>, opts: &FilesBedOptions) -> anyhow::Result<FilesServer> {
    let files = FilesServer::start(FilesOptions {
        accounts: vec![
            (facts.primary.storage_account.clone(), facts.primary.storage_key.clone()),
            (facts.failover.storage_account.clone(), facts.failover.storage_key.clone()),
        ],
        data_dir,
        page_size: opts.page_size,
    })?;
    for ws in [&facts.primary, &facts.failover] {
        for share in [ws.code_share(), ws.filestore_share()] {
            match files.store().create_share(&ws.storage_account, &share, None, Default::default()) {
                Ok(_) => {}
                Err(e) if e.code == "ShareAlreadyExists" => {}
                Err(e) => anyhow::bail!("creating share {}/{share}: {e}", ws.storage_account),
            }
        }
    }
    facts.use_files(files.endpoint());
    Ok(files)
}

/// Azurite + emulator on a background thread with its own tokio runtime.
pub struct TestBed {
    facts: TestBedFacts,
    app: Arc<App>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    storage_proxy: Option<StorageProxy>,
    files: Option<FilesServer>,
    _azurite: Azurite,
    _dir: tempfile::TempDir,
}

impl TestBed {
    pub fn start(opts: TestBedOptions) -> anyhow::Result<TestBed> {
        Self::start_inner(opts, None)
    }

    /// [`TestBed::start`] plus the Azure Files service for both storage accounts, each workspace's
    /// two default shares (`code-391ff5ac-…` and `azureml-filestore-<workspaceId>`) created:
    /// [`TestBed::files_endpoint`], `AML_FAILOVER_FILE_ENDPOINT` in [`TestBed::env`].
    pub fn start_with_files(opts: TestBedOptions, files: FilesBedOptions) -> anyhow::Result<TestBed> {
        Self::start_inner(opts, Some(files))
    }

    fn start_inner(opts: TestBedOptions, files_opts: Option<FilesBedOptions>) -> anyhow::Result<TestBed> {
        let (azurite, pk, fk) = start_azurite()?;
        let storage_proxy = if opts.storage_proxy { Some(StorageProxy::start(&azurite.blob_endpoint())?) } else { None };
        let dir = tempfile::Builder::new().prefix("aml-testbed-").tempdir()?;
        let config = standard_config(&azurite.blob_endpoint(), opts.page_size, Some(dir.path().join("emulator")), &pk, &fk);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<(Arc<App>, TestBedFacts)>>();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let seed = opts.seed_primary.clone();
        let thread = std::thread::Builder::new().name("aml-emulator".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let started = async {
                    let emu = crate::server::start(config).await?;
                    standard_estate(emu.app())?;
                    let facts = facts(&emu)?;
                    if let Some(folder) = &seed {
                        crate::seed::seed_workspace(emu.app(), &facts.primary.arm_id(), folder).await?;
                    }
                    anyhow::Ok((emu, facts))
                }
                .await;
                match started {
                    Ok((emu, facts)) => {
                        let _ = ready_tx.send(Ok((emu.app().clone(), facts)));
                        let _ = stop_rx.await;
                        emu.shutdown().await;
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                }
            });
        })?;
        let (app, mut facts) = ready_rx.recv().map_err(|_| anyhow::anyhow!("emulator thread ended before it was ready"))??;
        if let Some(proxy) = &storage_proxy {
            crate::storage_proxy::attach(&app, proxy.faults());
            facts.use_storage_proxy(proxy.blob_endpoint());
        }
        let files = match &files_opts {
            Some(fo) => Some(start_files(&mut facts, Some(dir.path().join("files")), fo)?),
            None => None,
        };
        Ok(TestBed { facts, app, stop: Some(stop_tx), thread: Some(thread), storage_proxy, files, _azurite: azurite, _dir: dir })
    }

    /// ARM endpoint (`https://127.0.0.1:P`), also the authority host.
    pub fn arm_url(&self) -> &str {
        &self.facts.arm_url
    }
    pub fn authority_host(&self) -> &str {
        &self.facts.authority_host
    }
    pub fn ca_pem_path(&self) -> &Path {
        self.facts.ca_pem_path.as_deref().expect("the test bed serves HTTPS")
    }
    /// The static bearer token.
    pub fn token(&self) -> &str {
        &self.facts.token
    }
    /// (tenant, client id, secret) accepted by the token endpoint.
    pub fn service_principal(&self) -> (String, String, String) {
        (self.facts.tenant_id.clone(), self.facts.client_id.clone(), self.facts.client_secret.clone())
    }
    /// `http://127.0.0.1:B` — the storage proxy when the bed runs one, else Azurite.
    pub fn blob_endpoint(&self) -> &str {
        &self.facts.blob_endpoint
    }
    /// Azurite itself, bypassing any storage proxy (to check what really landed).
    pub fn azurite_blob_endpoint(&self) -> &str {
        &self.facts.azurite_blob_endpoint
    }
    /// `http://127.0.0.1:B/{account}` (through the storage proxy when the bed runs one)
    pub fn blob_endpoint_template(&self) -> &str {
        &self.facts.blob_endpoint_template
    }
    pub fn primary(&self) -> &WorkspaceInfo {
        &self.facts.primary
    }
    pub fn failover(&self) -> &WorkspaceInfo {
        &self.facts.failover
    }
    pub fn facts(&self) -> &TestBedFacts {
        &self.facts
    }
    pub fn admin_url(&self) -> &str {
        &self.facts.admin_url
    }
    pub fn set_fault(&self, fault: Fault) {
        self.app.faults.set(fault)
    }
    pub fn clear_faults(&self) {
        self.app.faults.clear()
    }
    /// Requests served (faulted ones included) with `method` whose path contains `path_substring`.
    pub fn request_count(&self, method: &str, path_substring: &str) -> usize {
        self.app.faults.request_count(method, path_substring)
    }
    /// Requests served per operationId (`ModelVersions_CreateOrUpdate`, ...).
    pub fn operation_count(&self, operation: &str) -> usize {
        self.app.faults.operation_count(operation)
    }
    pub fn reset_counters(&self) {
        self.app.faults.reset_counters()
    }
    /// The storage proxy in front of Azurite (`TestBedOptions::storage_proxy`).
    /// Makes both storage accounts Entra-only (shared key access disabled), as many enterprises
    /// run them: the storage proxy refuses Shared Key and SAS and accepts the emulator's bearer
    /// tokens, and the workspaces' blob datastores become identity-based (credentials type
    /// `None`, no secrets). Needs the storage proxy.
    pub fn make_storage_entra_only(&self) -> anyhow::Result<()> {
        let proxy = self.storage_proxy.as_ref().ok_or_else(|| anyhow::anyhow!("Entra-only storage needs TestBedOptions::storage_proxy"))?;
        for account in [names::PRIMARY_STORAGE, names::FAILOVER_STORAGE] {
            proxy.faults().set_entra_only(account, true);
        }
        self.app.store.write(|s| {
            for w in &mut s.workspaces {
                for d in &mut w.datastores {
                    if d.resource.pointer("/properties/datastoreType").and_then(|t| t.as_str()) == Some("AzureBlob") {
                        if let Some(p) = d.resource.get_mut("properties").and_then(|p| p.as_object_mut()) {
                            p.insert("credentials".into(), serde_json::json!({"credentialsType": "None"}));
                        }
                        d.secrets = None;
                    }
                }
            }
            anyhow::Ok(())
        })
    }

    pub fn storage_proxy(&self) -> Option<&StorageProxy> {
        self.storage_proxy.as_ref()
    }
    fn proxy(&self) -> &StorageProxy {
        self.storage_proxy.as_ref().expect("this test bed runs no storage proxy: start it with TestBedOptions { storage_proxy: true, .. }")
    }
    /// Adds a storage fault. Panics when the bed runs no storage proxy.
    pub fn set_storage_fault(&self, fault: StorageFault) {
        self.proxy().set_fault(fault)
    }
    /// Clears the storage faults (nothing to do without a storage proxy).
    pub fn clear_storage_faults(&self) {
        if let Some(p) = &self.storage_proxy {
            p.clear_faults()
        }
    }
    /// Storage requests received by the proxy with `method` whose decoded path plus `?query`
    /// contains `path_substring` (case-insensitive), faulted ones included. Panics when the bed
    /// runs no storage proxy.
    pub fn storage_request_count(&self, method: &str, path_substring: &str) -> usize {
        self.proxy().request_count(method, path_substring)
    }
    /// The Azure Files service ([`TestBed::start_with_files`]).
    pub fn files(&self) -> Option<&FilesServer> {
        self.files.as_ref()
    }
    fn files_server(&self) -> &FilesServer {
        self.files.as_ref().expect("this test bed runs no Azure Files service: start it with TestBed::start_with_files")
    }
    /// `http://127.0.0.1:F`. Panics without a Files service.
    pub fn files_endpoint(&self) -> &str {
        self.files_server().endpoint()
    }
    /// `http://127.0.0.1:F/{account}`. Panics without a Files service.
    pub fn files_endpoint_template(&self) -> String {
        self.files_server().endpoint_template()
    }
    /// Copies a local folder into a share of `account` (e.g. notebooks as `Users/<name>/*.ipynb`
    /// into `code-391ff5ac-…`); the share is created when missing. Returns the number of files.
    /// Panics without a Files service.
    pub fn seed_share(&self, account: &str, share: &str, folder: &Path) -> anyhow::Result<usize> {
        self.files_server().seed_share(account, share, folder)
    }

    /// Bulk-seeds `versions` asset versions (`per_container` a container) as `aml-emulator up
    /// --bulk` does ([`crate::seed::bulk`]): returns what a plan must decide.
    pub fn seed_bulk(&self, versions: usize, per_container: usize) -> anyhow::Result<crate::seed::bulk::BulkReport> {
        let opts = crate::seed::bulk::BulkOptions { versions, per_container, tool_blob_endpoint_template: self.facts.blob_endpoint_template.clone() };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        rt.block_on(crate::seed::bulk::seed_bulk(&self.app, &self.facts.primary.arm_id(), &self.facts.failover.arm_id(), &opts))
    }

    /// Changes what the Storage resource provider says about an account (SKU, lastSyncTime,
    /// allowSharedKeyAccess, replication status, region).
    pub fn configure_storage_account(&self, name: &str, f: impl FnOnce(&mut crate::resources::storage_rp::StorageAccountRecord)) -> anyhow::Result<()> {
        crate::resources::storage_rp::configure(&self.app, name, f)
    }
    /// Creates or replaces a container registry (`RegistryRecord::new(sub, rg, name, region, sku, replications)`).
    pub fn put_registry(&self, registry: crate::resources::acr::RegistryRecord) {
        crate::resources::acr::put(&self.app, registry)
    }
    /// Sets (null: removes) a property of a workspace of the bed: its `keyVault`,
    /// `containerRegistry` or `applicationInsights` id.
    pub fn set_workspace_property(&self, workspace: &str, key: &str, value: serde_json::Value) -> anyhow::Result<()> {
        let ws = crate::arm::WorkspaceRef { subscription_id: names::SUBSCRIPTION.into(), resource_group: names::RESOURCE_GROUP.into(), name: workspace.into() };
        crate::resources::workspaces::set_property(&self.app, &ws, key, value)
    }

    /// The `AML_FAILOVER_*` / `EMU_*` variables for a child process.
    pub fn env(&self) -> Vec<(String, String)> {
        self.facts.env()
    }
    /// VM sizes and quotas of one region from now on (a size missing, a family's quota short);
    /// same as `PUT /_emulator/regions/{location}`.
    pub fn set_region(&self, location: &str, settings: crate::resources::regions::RegionSettings) {
        let _ = self.app.store.write(|s| {
            s.regions.insert(location.to_ascii_lowercase(), settings);
            Ok::<_, ()>(())
        });
    }
    /// Polls before a long-running operation reports `Succeeded` (default 1); same as `PUT /_emulator/lro`.
    pub fn set_lro_polls(&self, polls: u32) {
        let _ = self.app.store.write(|s| {
            s.lro_polls = Some(polls.max(1));
            Ok::<_, ()>(())
        });
    }
    /// Direct access to the emulator's state (assertions in tests).
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }
}

impl Drop for TestBed {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
