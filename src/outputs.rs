//! Jobs' outputs and logs, read straight from the source workspace's storage (through the
//! control plane's job list, or by Azure ML's storage layout alone) and copied, verified.

use crate::assets::uri::ContentUri;
use crate::error::{Error, Result};
use crate::storage::blob::BlobStore;
use crate::storage::Store;
use crate::transfer::EngineOptions;
use crate::workspace::Context;
use std::path::PathBuf;
use std::sync::Arc;

/// Where `outputs copy` writes.
#[derive(Debug, Clone)]
pub enum Destination {
    Workspace,
    Dir(PathBuf),
    /// Any blob container URL, optionally with a folder path and a SAS query.
    Url(String),
}

#[derive(Debug, Clone)]
pub struct OutputsOptions {
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub secondary: bool,
    pub jobs: Vec<String>,
    pub experiment: Option<String>,
    pub since: Option<time::OffsetDateTime>,
    pub destination: Option<Destination>,
    pub register_as_data: bool,
    pub dry_run: bool,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}

/// Environment variable with a SAS for a `--to-url` container (instead of one in the URL).
pub const ENV_TARGET_SAS: &str = "AML_FAILOVER_TARGET_SAS";

/// A blob container URL (`https://<account>.blob.<suffix>/<container>[/<folder>][?<sas>]`,
/// or the emulator's path-style form) as a store plus the folder inside it.
pub fn url_destination(ctx: &Context, raw: &str) -> Result<(Arc<dyn Store>, String)> {
    let (no_query, query) = match raw.split_once('?') {
        Some((a, q)) => (a, Some(q.to_string())),
        None => (raw, None),
    };
    let (account, container, folder) = match ContentUri::parse(no_query) {
        Ok(ContentUri::Blob { account, container, path }) => (account, container, path),
        _ => {
            return Err(Error::usage(format!(
                "--to-url '{}' is not a blob container URL: give it like https://<account>.blob.core.windows.net/<container>[/<folder>]",
                crate::redact::url_str(raw)
            )))
        }
    };
    let cred = match query.filter(|q| q.contains("sig=")).or_else(|| std::env::var(ENV_TARGET_SAS).ok().filter(|v| !v.trim().is_empty())) {
        Some(sas) => crate::storage::StorageCredential::Sas(sas.trim_start_matches('?').to_string()),
        None => crate::storage::StorageCredential::Bearer(Arc::clone(ctx.arm.tokens())),
    };
    let url = ctx.cloud.blob_account_url(&account, false)?;
    let store = BlobStore::new(ctx.http.clone(), &url, &account, &container, cred, ctx.retry.clone())?;
    Ok((Arc::new(store), folder))
}
