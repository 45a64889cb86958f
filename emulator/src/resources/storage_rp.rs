//! The Storage resource provider (`Microsoft.Storage`, api-version 2025-01-01), the part a
//! readiness check reads: `StorageAccounts_GetProperties` (with `$expand=geoReplicationStats`),
//! `StorageAccounts_List` and `StorageAccounts_ListByResourceGroup`.
//!
//! Every storage account the emulator knows (its configuration's `storage_accounts`) is a
//! resource here. A workspace created on an account places it in the workspace's subscription,
//! resource group and region. Defaults: `Standard_RAGRS`, replication `Live`, `lastSyncTime` five
//! minutes before each answer, `allowSharedKeyAccess` absent (null: shared key allowed). Tests
//! change any of these with [`configure`] (`TestBed::configure_storage_account`).

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Ctx;
use crate::arm::{now_rfc3339, ArmError};
use crate::server::App;

pub const PROVIDER: &str = "Microsoft.Storage";
pub const TYPE: &str = "Microsoft.Storage/storageAccounts";
/// Stable versions of Microsoft.Storage accepted; answers use 2025-01-01's shapes.
pub const API_VERSIONS: &[&str] = &["2025-01-01", "2024-01-01", "2023-05-01", "2023-01-01", "2022-09-01"];

/// One storage account as the resource provider describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StorageAccountRecord {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    /// `sku.name`: `Standard_LRS`, `Standard_RAGRS`, ...
    pub sku: String,
    /// `properties.allowSharedKeyAccess`; None: the property is absent (null, which means true).
    pub allow_shared_key_access: Option<bool>,
    /// `geoReplicationStats.lastSyncTime` (RFC 3339); None: five minutes before each answer.
    pub last_sync_time: Option<String>,
    /// `geoReplicationStats.status`: `Live`, `Bootstrap`, `Unavailable`.
    pub geo_status: String,
    pub can_failover: bool,
    pub creation_time: String,
}

impl StorageAccountRecord {
    pub fn new(subscription_id: &str, resource_group: &str, name: &str, location: &str) -> Self {
        StorageAccountRecord {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
            location: location.into(),
            sku: "Standard_RAGRS".into(),
            allow_shared_key_access: None,
            last_sync_time: None,
            geo_status: "Live".into(),
            can_failover: true,
            creation_time: now_rfc3339(),
        }
    }
    pub fn arm_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}/providers/{TYPE}/{}", self.subscription_id, self.resource_group, self.name)
    }
    /// GRS, RA-GRS, GZRS, RA-GZRS (Standard or StandardV2).
    pub fn geo_redundant(&self) -> bool {
        let s = self.sku.to_ascii_uppercase();
        s.ends_with("GRS") || s.ends_with("GZRS")
    }
    pub fn read_access_secondary(&self) -> bool {
        let s = self.sku.to_ascii_uppercase();
        s.ends_with("_RAGRS") || s.ends_with("_RAGZRS")
    }

    /// The resource as `StorageAccounts_GetProperties` answers it.
    pub fn resource(&self, blob_endpoint: Option<&str>, expand_geo: bool) -> Value {
        let endpoints = |suffix: &str| {
            let blob = match blob_endpoint {
                Some(b) => format!("{}/{}{suffix}/", b.trim_end_matches('/'), self.name),
                None => format!("https://{}{suffix}.blob.core.windows.net/", self.name),
            };
            json!({
                "blob": blob,
                "dfs": format!("https://{}{suffix}.dfs.core.windows.net/", self.name),
                "file": format!("https://{}{suffix}.file.core.windows.net/", self.name),
                "queue": format!("https://{}{suffix}.queue.core.windows.net/", self.name),
                "table": format!("https://{}{suffix}.table.core.windows.net/", self.name),
                "web": format!("https://{}{suffix}.z13.web.core.windows.net/", self.name),
            })
        };
        let tier = if self.sku.starts_with("Premium") { "Premium" } else { "Standard" };
        let mut props = json!({
            "provisioningState": "Succeeded",
            "primaryEndpoints": endpoints(""),
            "primaryLocation": self.location,
            "statusOfPrimary": "available",
            "creationTime": self.creation_time,
            "keyCreationTime": {"key1": self.creation_time, "key2": self.creation_time},
            "accessTier": "Hot",
            "supportsHttpsTrafficOnly": true,
            "minimumTlsVersion": "TLS1_2",
            "allowBlobPublicAccess": false,
            "isHnsEnabled": false,
            "publicNetworkAccess": "Enabled",
            "networkAcls": {"bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []},
            "encryption": {
                "services": {
                    "blob": {"keyType": "Account", "enabled": true, "lastEnabledTime": self.creation_time},
                    "file": {"keyType": "Account", "enabled": true, "lastEnabledTime": self.creation_time},
                },
                "keySource": "Microsoft.Storage",
            },
            "isSkuConversionBlocked": false,
            "accountMigrationInProgress": false,
        });
        if let Some(allow) = self.allow_shared_key_access {
            props["allowSharedKeyAccess"] = json!(allow);
        }
        if self.geo_redundant() {
            props["secondaryLocation"] = json!(paired_region(&self.location));
            props["statusOfSecondary"] = json!(if self.geo_status == "Unavailable" { "unavailable" } else { "available" });
            if self.read_access_secondary() {
                props["secondaryEndpoints"] = endpoints("-secondary");
            }
            if expand_geo {
                let last_sync = self.last_sync_time.clone().unwrap_or_else(|| {
                    let t = time::OffsetDateTime::now_utc() - time::Duration::minutes(5);
                    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
                });
                let zone = self.sku.to_ascii_uppercase().ends_with("GZRS");
                props["geoReplicationStats"] = json!({
                    "status": self.geo_status,
                    "lastSyncTime": last_sync,
                    "canFailover": self.can_failover,
                    "canPlannedFailover": self.can_failover,
                    "postFailoverRedundancy": if zone { "Standard_ZRS" } else { "Standard_LRS" },
                    "postPlannedFailoverRedundancy": if zone { "Standard_GZRS" } else { "Standard_GRS" },
                });
            }
        }
        json!({
            "id": self.arm_id(),
            "name": self.name,
            "type": TYPE,
            "location": self.location,
            "tags": {},
            "sku": {"name": self.sku, "tier": tier},
            "kind": "StorageV2",
            "properties": props,
        })
    }
}

/// Azure's region pairs for the regions the emulator names (the secondary of GRS).
pub fn paired_region(location: &str) -> String {
    let pairs = [
        ("eastus", "westus"), ("eastus2", "centralus"), ("westus2", "westcentralus"), ("westus3", "eastus"),
        ("northeurope", "westeurope"), ("uksouth", "ukwest"), ("swedencentral", "swedensouth"),
        ("southeastasia", "eastasia"), ("japaneast", "japanwest"), ("australiaeast", "australiasoutheast"),
    ];
    let l = location.to_ascii_lowercase();
    pairs
        .iter()
        .find_map(|(a, b)| if *a == l { Some(b.to_string()) } else if *b == l { Some(a.to_string()) } else { None })
        .unwrap_or_else(|| "westus".into())
}

/// A path under `Microsoft.Storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    List { subscription_id: String },
    ListByResourceGroup { subscription_id: String, resource_group: String },
    Account { subscription_id: String, resource_group: String, name: String },
}

impl Route {
    /// `segs`: the decoded path segments. None when the path is not under this provider.
    pub fn parse(segs: &[&str]) -> Option<Result<Route, String>> {
        let (subscription_id, rg, rest) = super::provider_path(segs, PROVIDER)?;
        let is = |t: &str| t.eq_ignore_ascii_case("storageAccounts");
        Some(match (rg, rest) {
            (None, [t]) if is(t) => Ok(Route::List { subscription_id }),
            (Some(resource_group), [t]) if is(t) => Ok(Route::ListByResourceGroup { subscription_id, resource_group }),
            (Some(resource_group), [t, n]) if is(t) => Ok(Route::Account { subscription_id, resource_group, name: n.to_string() }),
            (_, rest) => Err(rest.iter().step_by(2).copied().collect::<Vec<_>>().join("/")),
        })
    }

    pub fn operation_id(&self, method: &str) -> Option<String> {
        if !method.eq_ignore_ascii_case("GET") {
            return None;
        }
        Some(match self {
            Route::List { .. } => "StorageAccounts_List",
            Route::ListByResourceGroup { .. } => "StorageAccounts_ListByResourceGroup",
            Route::Account { .. } => "StorageAccounts_GetProperties",
        }.into())
    }
}

/// Lists and gets (GET only; [`Route::operation_id`] refused the other methods).
pub fn dispatch(app: &App, ctx: &Ctx, route: &Route) -> Result<(StatusCode, Value), ArmError> {
    let blob = app.config.blob_endpoint.as_deref();
    match route {
        Route::List { subscription_id } | Route::ListByResourceGroup { subscription_id, .. } => {
            let rg = match route {
                Route::ListByResourceGroup { resource_group, .. } => Some(resource_group.as_str()),
                _ => None,
            };
            let items: Vec<Value> = app.store.read(|s| {
                s.storage_accounts
                    .iter()
                    .filter(|a| super::listed(&a.subscription_id, &a.resource_group, subscription_id, rg))
                    .map(|a| a.resource(blob, false))
                    .collect()
            });
            Ok((StatusCode::OK, ctx.page(items)?))
        }
        Route::Account { subscription_id, resource_group, name } => {
            let expand = ctx.query.get("$expand").map(String::as_str);
            let expand_geo = match expand {
                None => false,
                Some(e) if e.eq_ignore_ascii_case("geoReplicationStats") => true,
                Some(e) if e.eq_ignore_ascii_case("blobRestoreStatus") => false,
                Some(e) => {
                    return Err(ArmError::bad_request("InvalidQueryParameterValue", format!(
                        "Value '{e}' for query parameter '$expand' is invalid: use geoReplicationStats or blobRestoreStatus.")))
                }
            };
            app.store
                .read(|s| {
                    s.storage_accounts
                        .iter()
                        .find(|a| a.subscription_id.eq_ignore_ascii_case(subscription_id) && a.resource_group.eq_ignore_ascii_case(resource_group) && a.name.eq_ignore_ascii_case(name))
                        .map(|a| a.resource(blob, expand_geo))
                })
                .map(|v| (StatusCode::OK, v))
                .ok_or_else(|| ArmError::resource_not_found(&format!("{TYPE}/{name}"), resource_group))
        }
    }
}

/// Makes `name` a resource in the workspace's subscription, group and region (if it is not one yet).
pub fn ensure(app: &App, subscription_id: &str, resource_group: &str, name: &str, location: &str) {
    let _ = app.store.write(|s| {
        if !s.storage_accounts.iter().any(|a| a.name.eq_ignore_ascii_case(name)) {
            s.storage_accounts.push(StorageAccountRecord::new(subscription_id, resource_group, name, location));
        }
        Ok::<_, ArmError>(())
    });
}

/// Changes what the resource provider says about the account `name` (tests, demos).
pub fn configure(app: &App, name: &str, f: impl FnOnce(&mut StorageAccountRecord)) -> anyhow::Result<()> {
    app.store.write(|s| {
        let a = s.storage_accounts.iter_mut().find(|a| a.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| anyhow::anyhow!("no storage account {name} in the emulator"))?;
        f(a);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_geo_rules() {
        let segs = ["subscriptions", "s", "resourceGroups", "rg", "providers", "microsoft.storage", "StorageAccounts", "acct"];
        let r = Route::parse(&segs).unwrap().unwrap();
        assert_eq!(r.operation_id("GET").as_deref(), Some("StorageAccounts_GetProperties"));
        assert_eq!(r.operation_id("DELETE"), None);
        assert!(Route::parse(&["subscriptions", "s", "providers", "Microsoft.Storage", "storageAccounts"]).unwrap().is_ok());
        assert!(Route::parse(&["subscriptions", "s", "providers", "Microsoft.MachineLearningServices", "workspaces"]).is_none());
        let mut a = StorageAccountRecord::new("s", "rg", "acct", "eastus");
        assert!(a.geo_redundant() && a.read_access_secondary());
        let v = a.resource(None, true);
        assert_eq!(v["properties"]["secondaryLocation"], "westus");
        assert_eq!(v["properties"]["geoReplicationStats"]["status"], "Live");
        a.sku = "Standard_LRS".into();
        let v = a.resource(None, true);
        assert!(v["properties"].get("geoReplicationStats").is_none() && v["properties"].get("secondaryLocation").is_none());
    }
}
