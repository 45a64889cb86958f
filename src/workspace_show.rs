//! `workspace show` as a library: a workspace's region, storage account, default datastores,
//! counts per asset kind, and whether its default blob storage answers (also `failover`'s check).

use crate::azureml::datastores::{self, Datastore, DatastoreSecret};
use crate::azureml::workspaces::{self, Workspace};
use crate::error::{Error, Result};
use crate::settings::Settings;
use crate::storage::blob::BlobStore;
use crate::storage::StorageCredential;
use crate::workspace::{Context, WorkspaceRef};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// JSON schema version of `workspace show --output json`.
pub const SCHEMA_VERSION: u32 = 1;

/// One workspace shown: its role (source, target, workspace), reference and details (or why not).
pub struct Shown {
    pub role: &'static str,
    pub reference: WorkspaceRef,
    pub outcome: Result<Details>,
}

/// What the control plane and storage say about a workspace.
pub struct Details {
    pub ws: Workspace,
    pub datastores: Vec<Datastore>,
    pub counts: Vec<(&'static str, usize)>,
    pub storage: StorageCheck,
}

/// Whether the default blob storage answers.
pub struct StorageCheck {
    pub endpoint: String,
    pub container: String,
    pub reachable: bool,
    pub detail: String,
}

/// Shows --from (or -w) and --to: each workspace's details, or the error reading it.
pub async fn show(s: &Settings) -> Result<Vec<Shown>> {
    let mut targets = Vec::new();
    if let Some(f) = &s.from {
        targets.push((if s.from_is_workspace_name { "workspace" } else { "source" }, f.clone()));
    }
    if let Some(t) = &s.to {
        targets.push(("target", t.clone()));
    }
    if targets.is_empty() {
        return Err(Error::usage(
            "which workspace? give --from and/or --to (config.json, ARM id, or name with --subscription and -g), or -w NAME",
        ));
    }
    let ctx = Context::connect(&s.connect)?;
    let futs = targets.into_iter().map(|(role, r)| {
        let ctx = ctx.clone();
        async move {
            let outcome = details(&ctx, &r).await;
            Shown { role, reference: r, outcome }
        }
    });
    Ok(futures::future::join_all(futs).await)
}


async fn details(ctx: &Context, r: &WorkspaceRef) -> Result<Details> {
    let ws = workspaces::get(&ctx.arm, r).await?;
    let (datastores, counts) =
        futures::future::try_join(datastores::list(&ctx.arm, r), workspaces::asset_counts(&ctx.arm, r)).await?;
    let storage = check_storage(ctx, r, &ws, &datastores).await;
    Ok(Details { ws, datastores, counts, storage })
}

/// Whether a workspace's default blob storage answers (one listing with the datastore's own
/// credential), as one line for `failover`'s checks.
pub async fn storage_reachable(ctx: &Context, r: &WorkspaceRef, ws: &Workspace) -> (bool, String) {
    match datastores::list(&ctx.arm, r).await {
        Err(e) => (false, format!("its datastores cannot be listed: {e}")),
        Ok(ds) => {
            let c = check_storage(ctx, r, ws, &ds).await;
            let what = format!("{}/{}", c.endpoint, c.container);
            if c.reachable {
                (true, format!("storage {what} answers ({})", c.detail))
            } else {
                (false, format!("storage {what} does NOT answer: {}", c.detail))
            }
        }
    }
}

/// Lists one blob of the default blob datastore with the credential it hands out.
async fn check_storage(ctx: &Context, r: &WorkspaceRef, ws: &Workspace, ds: &[Datastore]) -> StorageCheck {
    let default = ds
        .iter()
        .find(|d| d.is_default && d.datastore_type == "AzureBlob")
        .or_else(|| ds.iter().find(|d| d.name == "workspaceblobstore"));
    let Some(d) = default else {
        return StorageCheck {
            endpoint: String::new(),
            container: String::new(),
            reachable: false,
            detail: "no default blob datastore".into(),
        };
    };
    let account = d.account_name.clone().or_else(|| ws.storage_account_name().map(str::to_string)).unwrap_or_default();
    let container = d.container_name.clone().unwrap_or_default();
    let endpoint = match ctx.cloud.blob_account_url(&account, false) {
        Ok(u) => u,
        Err(e) => return StorageCheck { endpoint: String::new(), container, reachable: false, detail: e.to_string() },
    };
    let shown_endpoint = crate::redact::url(&endpoint);
    let result: Result<(usize, &'static str)> = async {
        let cred = match datastores::list_secrets(&ctx.arm, r, &d.name).await? {
            DatastoreSecret::AccountKey(k) => StorageCredential::AccountKey(
                azure_sharedkey::SharedKey::new(account.clone(), &k).map_err(|e| Error::Service(e.to_string()))?,
            ),
            DatastoreSecret::Sas(t) => StorageCredential::Sas(t),
            DatastoreSecret::Other(_) => StorageCredential::Bearer(Arc::clone(ctx.arm.tokens())),
        };
        let kind = cred.kind();
        let c = BlobStore::new(ctx.http.clone(), &endpoint, &account, &container, cred, ctx.retry.clone())?;
        let n = c.list_limited("", Some(1)).await?.len();
        Ok((n, kind))
    }
    .await;
    match result {
        Ok((_, kind)) => StorageCheck {
            endpoint: shown_endpoint,
            container,
            reachable: true,
            detail: format!("listed with the datastore's {kind}"),
        },
        Err(e) => StorageCheck { endpoint: shown_endpoint, container, reachable: false, detail: e.to_string() },
    }
}

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// The document `workspace show -o json` prints.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Document {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "workspace show"))]
    pub command: &'static str,
    #[schemars(length(min = 1))]
    pub workspaces: Vec<Entry>,
}

/// One workspace given: its details, or why it could not be shown.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Entry {
    Shown(Box<ShownEntry>),
    Failed(FailedEntry),
}

/// A workspace shown.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "shown", deny_unknown_fields)]
pub struct ShownEntry {
    /// workspace (-w NAME), source (--from), target (--to)
    #[schemars(extend("enum" = ["workspace", "source", "target"]))]
    pub role: &'static str,
    /// ARM id of the reference given
    pub reference: String,
    pub workspace: Workspace,
    pub datastores: Vec<Datastore>,
    /// number of containers of each kind (ASSET_KINDS in src/azureml/mod.rs)
    #[schemars(schema_with = "asset_counts_schema")]
    #[serde(serialize_with = "counts_as_object")]
    pub asset_counts: Vec<(&'static str, usize)>,
    pub storage: StorageEntry,
}

/// `[(kind, n)]` as the object `{kind: n}`, in that order.
fn counts_as_object<S: serde::Serializer>(counts: &[(&'static str, usize)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(counts.iter().map(|(k, n)| (k, n)))
}

fn asset_counts_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let kinds: Vec<&str> = crate::azureml::ASSET_KINDS.iter().map(|(k, _)| *k).collect();
    let props: serde_json::Map<String, Value> = kinds.iter().map(|k| (k.to_string(), json!({"type": "integer", "minimum": 0}))).collect();
    schemars::json_schema!({"type": "object", "required": kinds, "properties": props, "additionalProperties": false})
}

/// Whether the default blob storage answers.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct StorageEntry {
    /// redacted; empty when there is no default blob datastore
    pub blob_endpoint: String,
    pub container: String,
    pub reachable: bool,
    pub detail: String,
}

/// a workspace that could not be shown; the exit code is that of the first such error
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "failed", deny_unknown_fields)]
pub struct FailedEntry {
    #[schemars(extend("enum" = ["workspace", "source", "target"]))]
    pub role: &'static str,
    pub reference: String,
    pub error: crate::wire::ErrorBody,
}

/// The document `workspace show -o json` prints.
pub fn document(shown: &[Shown]) -> Document {
    let workspaces = shown
        .iter()
        .map(|x| match &x.outcome {
            Ok(d) => Entry::Shown(Box::new(ShownEntry {
                role: x.role,
                reference: x.reference.arm_id(),
                workspace: d.ws.clone(),
                datastores: d.datastores.clone(),
                asset_counts: d.counts.clone(),
                storage: StorageEntry {
                    blob_endpoint: d.storage.endpoint.clone(),
                    container: d.storage.container.clone(),
                    reachable: d.storage.reachable,
                    detail: d.storage.detail.clone(),
                },
            })),
            Err(e) => Entry::Failed(FailedEntry { role: x.role, reference: x.reference.arm_id(), error: crate::wire::ErrorBody::of(e) }),
        })
        .collect();
    Document { schema_version: SCHEMA_VERSION, command: "workspace show", workspaces }
}
