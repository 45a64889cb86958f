//! Workspaces_Get and the per-kind counts `workspace show` prints.

use super::{workspace_path, ArmClient, ASSET_KINDS};
use crate::error::Result;
use crate::azure::WorkspaceRef;
use serde::Serialize;
use serde_json::Value;

/// What the tool needs of a workspace (`Workspace` in workspaceRP.json). In JSON (`workspace
/// show`): optional values are null, not absent.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub location: String,
    pub workspace_id: Option<String>,
    /// ARM id of the default storage account
    pub storage_account: Option<String>,
    pub discovery_url: Option<String>,
    pub friendly_name: Option<String>,
    pub provisioning_state: Option<String>,
}

impl Workspace {
    pub fn from_json(v: &Value) -> Workspace {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        Workspace {
            id: s("/id").unwrap_or_default(),
            name: s("/name").unwrap_or_default(),
            location: s("/location").unwrap_or_default(),
            workspace_id: s("/properties/workspaceId"),
            storage_account: s("/properties/storageAccount"),
            discovery_url: s("/properties/discoveryUrl"),
            friendly_name: s("/properties/friendlyName"),
            provisioning_state: s("/properties/provisioningState"),
        }
    }

    /// The storage account name: the last segment of its ARM id.
    pub fn storage_account_name(&self) -> Option<&str> {
        self.storage_account.as_deref().and_then(|id| id.trim_end_matches('/').rsplit('/').next())
    }
}

pub async fn get(arm: &ArmClient, ws: &WorkspaceRef) -> Result<Workspace> {
    let v = arm.get(&workspace_path(ws)).await.map_err(|e| match e {
        crate::error::Error::NotFound(m) => crate::error::Error::NotFound(format!(
            "workspace {ws} does not exist or is not visible to this identity ({m}). Fix: check the subscription, resource group and name"
        )),
        other => other,
    })?;
    Ok(Workspace::from_json(&v))
}

/// Number of containers of each asset kind (and jobs), in [`ASSET_KINDS`] order.
pub async fn asset_counts(arm: &ArmClient, ws: &WorkspaceRef) -> Result<Vec<(&'static str, usize)>> {
    let base = workspace_path(ws);
    let futs = ASSET_KINDS.iter().map(|(kind, seg)| {
        let path = format!("{base}/{seg}");
        async move { arm.list(&path).await.map(|items| (*kind, items.len())) }
    });
    futures::future::try_join_all(futs).await
}
