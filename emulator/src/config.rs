//! Emulator configuration: everything `serve` accepts through flags or a JSON file.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Default page size of every list operation (Azure ML pages at about 100 items).
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A service principal that may obtain tokens from the emulator's token endpoint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServicePrincipal {
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
}

/// A storage account known to the emulator (it must exist in the configured Azurite).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct StorageAccount {
    pub name: String,
    /// Base64 account key.
    pub key: String,
}

/// A workspace the emulator creates at start (if it does not exist in the state yet).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkspaceSpec {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// Name of a storage account listed in [`EmulatorConfig::storage_accounts`].
    pub storage_account: String,
}

/// Configuration of one emulator instance.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default)]
pub struct EmulatorConfig {
    /// Port to listen on (127.0.0.1); 0 picks a free port.
    pub port: u16,
    /// Serve HTTPS with a generated CA (default) or plain HTTP.
    pub tls: bool,
    /// Folder for the persisted state and the CA certificate; a temporary folder when `None`.
    pub data_dir: Option<PathBuf>,
    /// Bearer token accepted on every request (and the admin API's token).
    pub static_token: String,
    /// Service principals for the token endpoint.
    pub service_principals: Vec<ServicePrincipal>,
    /// Items per page of every list operation.
    pub page_size: usize,
    /// Azurite blob endpoint, path style, e.g. `http://127.0.0.1:10000`.
    pub blob_endpoint: Option<String>,
    /// Storage accounts (names and keys) that workspaces can use.
    pub storage_accounts: Vec<StorageAccount>,
    /// Workspaces to create at start.
    pub workspaces: Vec<WorkspaceSpec>,
    /// Polls (of the operation's status URL or of the resource) before a long-running operation
    /// reports `Succeeded` (at least 1). The admin API changes it at run time (`/_emulator/lro`).
    pub lro_polls: u32,
    /// `Retry-After` (seconds) of long-running operations' answers.
    pub lro_retry_after_secs: u64,
    /// VM sizes and quotas per region (lower-case location); absent regions use the defaults
    /// (every size of the catalogue, see `resources::regions`). `/_emulator/regions/{location}` changes them.
    pub regions: std::collections::BTreeMap<String, crate::resources::regions::RegionSettings>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            tls: true,
            data_dir: None,
            static_token: format!("emu-static-{}", uuid::Uuid::new_v4().simple()),
            service_principals: Vec::new(),
            page_size: DEFAULT_PAGE_SIZE,
            blob_endpoint: None,
            storage_accounts: Vec::new(),
            workspaces: Vec::new(),
            lro_polls: 1,
            lro_retry_after_secs: 1,
            regions: Default::default(),
        }
    }
}

impl EmulatorConfig {
    pub fn storage_key(&self, account: &str) -> Option<&str> {
        self.storage_accounts
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(account))
            .map(|a| a.key.as_str())
    }

    /// Tenant reported in workspace properties and tokens.
    pub fn tenant_id(&self) -> String {
        self.service_principals
            .first()
            .map(|s| s.tenant_id.clone())
            .unwrap_or_else(|| "00000000-0000-0000-0000-000000000000".to_string())
    }
}
