//! Storage access. Groundwork for the transfer engine: the blob client with the credential
//! kinds datastores hand out (account key, SAS, Entra bearer token) and per-account endpoints,
//! including the RA-GRS `<account>-secondary` host used when the primary region is down.

pub mod blob;

use crate::workspace::credentials::TokenProvider;
use azure_sharedkey::SharedKey;
use std::sync::Arc;

/// Service version sent as `x-ms-version` (shared/specs/storage/blob/2027-03-07).
pub const STORAGE_VERSION: &str = "2027-03-07";

/// Token scope for Azure Storage with Entra ID.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// How requests to a storage account are authorized. `Debug` never shows the secret.
#[derive(Clone)]
pub enum StorageCredential {
    /// Shared Key with the account key.
    AccountKey(SharedKey),
    /// A SAS token (the query string, without the leading `?`).
    Sas(String),
    /// An Entra ID bearer token from the tool's credential chain.
    Bearer(Arc<TokenProvider>),
    /// Public read access.
    Anonymous,
}

impl std::fmt::Debug for StorageCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StorageCredential::AccountKey(_) => "AccountKey(<redacted>)",
            StorageCredential::Sas(_) => "Sas(<redacted>)",
            StorageCredential::Bearer(_) => "Bearer",
            StorageCredential::Anonymous => "Anonymous",
        })
    }
}

impl StorageCredential {
    pub fn kind(&self) -> &'static str {
        match self {
            StorageCredential::AccountKey(_) => "account key",
            StorageCredential::Sas(_) => "SAS",
            StorageCredential::Bearer(_) => "Entra ID token",
            StorageCredential::Anonymous => "anonymous",
        }
    }
}
