//! Datastores_List and Datastores_ListSecrets.

use super::{workspace_path, ArmClient};
use crate::error::Result;
use crate::azure::WorkspaceRef;
use serde::Serialize;
use serde_json::Value;

/// A datastore (`workspace show`): optional values are absent, not null; never a secret.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Datastore {
    pub name: String,
    /// `AzureBlob`, `AzureFile`, `AzureDataLakeGen2`, ...
    pub datastore_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_share_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub is_default: bool,
    /// `AccountKey`, `Sas`, `None`, `ServicePrincipal`, ... (the type only, never the secret)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_type: Option<String>,
}

impl Datastore {
    pub fn from_json(v: &Value) -> Datastore {
        let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        Datastore {
            name: s("/name").unwrap_or_default(),
            datastore_type: s("/properties/datastoreType").unwrap_or_default(),
            account_name: s("/properties/accountName"),
            container_name: s("/properties/containerName"),
            file_share_name: s("/properties/fileShareName"),
            endpoint: s("/properties/endpoint"),
            is_default: v.pointer("/properties/isDefault").and_then(Value::as_bool).unwrap_or(false),
            credentials_type: s("/properties/credentials/credentialsType"),
        }
    }

    /// The container or share this datastore names.
    pub fn location(&self) -> String {
        let acct = self.account_name.as_deref().unwrap_or("?");
        let inner = self.container_name.as_deref().or(self.file_share_name.as_deref()).unwrap_or("?");
        format!("{acct}/{inner}")
    }
}

pub async fn list(arm: &ArmClient, ws: &WorkspaceRef) -> Result<Vec<Datastore>> {
    let items = arm.list(&format!("{}/datastores", workspace_path(ws))).await?;
    Ok(items.iter().map(Datastore::from_json).collect())
}

/// The datastore's secret: an account key or a SAS token (never logged).
#[derive(Clone)]
pub enum DatastoreSecret {
    AccountKey(String),
    Sas(String),
    Other(String),
}

impl std::fmt::Debug for DatastoreSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatastoreSecret::AccountKey(_) => f.write_str("AccountKey(<redacted>)"),
            DatastoreSecret::Sas(_) => f.write_str("Sas(<redacted>)"),
            DatastoreSecret::Other(t) => write!(f, "Other({t})"),
        }
    }
}

pub async fn list_secrets(arm: &ArmClient, ws: &WorkspaceRef, name: &str) -> Result<DatastoreSecret> {
    let v = arm.post(&format!("{}/datastores/{name}/listSecrets", workspace_path(ws)), None).await?;
    let kind = v.get("secretsType").and_then(Value::as_str).unwrap_or("");
    Ok(match kind {
        "AccountKey" => DatastoreSecret::AccountKey(v.get("key").and_then(Value::as_str).unwrap_or("").to_string()),
        "Sas" => DatastoreSecret::Sas(v.get("sasToken").and_then(Value::as_str).unwrap_or("").to_string()),
        other => DatastoreSecret::Other(other.to_string()),
    })
}
