//! Datastores, connections, computes, endpoints, deployments and schedules as ARM resources:
//! list, read, write (waiting for long-running operations), `listSecrets`, and what a region
//! offers computes (`VirtualMachineSizes_List`, `Usages_List`, `Quotas_List`).
//! It lives in `assets`, beside the definitions it reads and writes, so that `azureml` stays
//! below the asset kinds.

use crate::azureml::{workspace_path, ArmClient};
use super::compute::RegionCapacity;
use super::definition::{DefKind, Definition};
use super::enc;
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use serde_json::Value;
use std::time::Duration;

/// How long a definition's creation may take (online deployments take minutes on Azure).
pub const CREATE_LIMIT: Duration = Duration::from_secs(45 * 60);

/// Every definition of `kind` in `ws` (deployments: of every endpoint of their kind).
pub async fn list(arm: &ArmClient, ws: &WorkspaceRef, kind: DefKind) -> Result<Vec<Definition>> {
    let base = workspace_path(ws);
    match kind.parent() {
        None => Ok(arm.list(&format!("{base}/{}", kind.segment())).await?.into_iter().map(|r| Definition::new(kind, None, r)).collect()),
        Some(parent) => {
            let mut out = Vec::new();
            for ep in arm.list(&format!("{base}/{}", parent.segment())).await? {
                let Some(name) = ep.get("name").and_then(Value::as_str) else { continue };
                let deps = arm.list(&format!("{base}/{}/{}/deployments", parent.segment(), enc(name))).await?;
                out.extend(deps.into_iter().map(|r| Definition::new(kind, Some(name), r)));
            }
            Ok(out)
        }
    }
}

/// The target's version of `def` (`None`: not there).
pub async fn get(arm: &ArmClient, ws: &WorkspaceRef, def: &Definition) -> Result<Option<Value>> {
    match arm.get(&def.arm_path(&workspace_path(ws))).await {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `body` as `def` in `ws` and waits until it is created.
pub async fn put(arm: &ArmClient, ws: &WorkspaceRef, def: &Definition, body: &Value) -> Result<Value> {
    arm.put_and_wait(&def.arm_path(&workspace_path(ws)), body, CREATE_LIMIT).await
}

/// What `listSecrets` answers for a datastore (`DatastoreSecrets`) or a connection (the
/// connection with its credentials). Never logged, never written: only sent to the target.
pub async fn list_secrets(arm: &ArmClient, ws: &WorkspaceRef, def: &Definition) -> Result<Value> {
    let action = match def.kind {
        DefKind::Datastore => "listSecrets",
        DefKind::Connection => "listsecrets",
        other => return Err(Error::Internal(format!("{other} has no listSecrets"))),
    };
    arm.post(&format!("{}/{action}", def.arm_path(&workspace_path(ws))), None).await
}

/// What `region` offers computes, and the target workspace's own quotas.
pub async fn region_capacity(arm: &ArmClient, ws: &WorkspaceRef, region: &str) -> Result<RegionCapacity> {
    let base = format!("/subscriptions/{}/providers/Microsoft.MachineLearningServices/locations/{}", ws.subscription_id, enc(region));
    let sizes = arm.get(&format!("{base}/vmSizes")).await?.get("value").and_then(Value::as_array).cloned().unwrap_or_default();
    let usages = arm.list(&format!("{base}/usages")).await?;
    let prefix = format!("{}/quotas/", ws.arm_id()).to_ascii_lowercase();
    let quotas = arm
        .list(&format!("{base}/quotas"))
        .await?
        .into_iter()
        .filter(|q| q.get("id").and_then(Value::as_str).is_some_and(|id| id.to_ascii_lowercase().starts_with(&prefix)))
        .collect();
    Ok(RegionCapacity { region: region.to_string(), sizes, usages, quotas })
}
