//! The connection to the workspaces a command works on ([`Context`]), built from references,
//! cloud endpoints and credentials (in `crate::azure`, re-exported here).

pub use crate::azure::{cloud, credentials, reference};
pub use reference::WorkspaceRef;

use crate::azureml::ArmClient;
use crate::error::Result;
use crate::http::RetryPolicy;
use cloud::Cloud;
use credentials::{AuthMethod, TokenProvider};
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a command needs to talk to Azure: built once from the global options.
#[derive(Clone)]
pub struct Context {
    pub cloud: Cloud,
    pub http: reqwest::Client,
    pub arm: ArmClient,
    pub retry: RetryPolicy,
}

/// Connection settings, already validated by `cli.rs`.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub cloud: Cloud,
    pub auth: AuthMethod,
    pub ca_files: Vec<PathBuf>,
    pub retry: RetryPolicy,
}

impl Context {
    pub fn connect(o: &ConnectOptions) -> Result<Context> {
        let http = crate::http::client(&o.ca_files)?;
        let tokens = Arc::new(TokenProvider::new(o.auth, &http, &o.cloud.authority_host)?);
        let arm = ArmClient::new(
            http.clone(),
            o.cloud.resource_manager.clone(),
            o.cloud.arm_scope.clone(),
            tokens,
            o.retry.clone(),
        );
        Ok(Context { cloud: o.cloud.clone(), http, arm, retry: o.retry.clone() })
    }
}

/// The `https://` URL of a folder (`path/`) in a blob container of this cloud: what a
/// registered asset's `path` names after an upload.
pub fn blob_folder_url(ctx: &Context, account: &str, container: &str, path: &str) -> String {
    format!("https://{account}.blob.{}/{container}/{path}/", ctx.cloud.storage_suffix)
}
