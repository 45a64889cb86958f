//! The Container Registry resource provider (`Microsoft.ContainerRegistry`, api-version
//! 2025-04-01), the part a readiness check reads: `Registries_Get`, `Registries_List`,
//! `Registries_ListByResourceGroup`, `Replications_List` and `Replications_Get`.
//!
//! Registries exist only when put with [`put`] (`TestBed::put_registry`; the standard test bed
//! puts one shared Premium registry replicated into both regions). A registry's home region is a
//! replication too, as Azure lists it.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::Ctx;
use crate::arm::{now_rfc3339, ArmError};
use crate::server::App;

pub const PROVIDER: &str = "Microsoft.ContainerRegistry";
pub const TYPE: &str = "Microsoft.ContainerRegistry/registries";
pub const REPLICATION_TYPE: &str = "Microsoft.ContainerRegistry/registries/replications";
/// Stable versions accepted; answers use 2025-04-01's shapes.
pub const API_VERSIONS: &[&str] = &["2025-04-01", "2023-07-01", "2023-01-01-preview", "2022-12-01", "2019-05-01"];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegistryRecord {
    pub subscription_id: String,
    pub resource_group: String,
    /// 5-50 letters and digits.
    pub name: String,
    pub location: String,
    /// `Basic`, `Standard`, `Premium`.
    pub sku: String,
    /// Regions of the replications other than the home region (which is always one).
    pub replications: Vec<String>,
    pub creation_date: String,
}

impl RegistryRecord {
    pub fn new(subscription_id: &str, resource_group: &str, name: &str, location: &str, sku: &str, replications: &[&str]) -> Self {
        RegistryRecord {
            subscription_id: subscription_id.into(),
            resource_group: resource_group.into(),
            name: name.into(),
            location: location.into(),
            sku: sku.into(),
            replications: replications.iter().map(|s| s.to_string()).collect(),
            creation_date: now_rfc3339(),
        }
    }
    pub fn arm_id(&self) -> String {
        format!("/subscriptions/{}/resourceGroups/{}/providers/{TYPE}/{}", self.subscription_id, self.resource_group, self.name)
    }
    pub fn login_server(&self) -> String {
        format!("{}.azurecr.io", self.name.to_ascii_lowercase())
    }

    pub fn resource(&self) -> Value {
        json!({
            "id": self.arm_id(),
            "name": self.name,
            "type": TYPE,
            "location": self.location,
            "tags": {},
            "sku": {"name": self.sku, "tier": self.sku},
            "properties": {
                "loginServer": self.login_server(),
                "creationDate": self.creation_date,
                "provisioningState": "Succeeded",
                "adminUserEnabled": false,
                "policies": {
                    "quarantinePolicy": {"status": "disabled"},
                    "trustPolicy": {"type": "Notary", "status": "disabled"},
                    "retentionPolicy": {"days": 7, "lastUpdatedTime": self.creation_date, "status": "disabled"},
                    "exportPolicy": {"status": "enabled"},
                },
                "encryption": {"status": "disabled"},
                "networkRuleSet": {"defaultAction": "Allow", "ipRules": []},
                "status": {"displayStatus": "Ready", "timestamp": self.creation_date},
                "dataEndpointEnabled": false,
                "dataEndpointHostNames": [],
                "privateEndpointConnections": [],
                "publicNetworkAccess": "Enabled",
                "networkRuleBypassOptions": "AzureServices",
                "zoneRedundancy": "Disabled",
            },
        })
    }

    /// Home region first, then the others, without duplicates.
    pub fn replication_locations(&self) -> Vec<String> {
        let mut out = vec![self.location.clone()];
        for r in &self.replications {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(r)) {
                out.push(r.clone());
            }
        }
        out
    }

    pub fn replication(&self, location: &str) -> Value {
        json!({
            "id": format!("{}/replications/{location}", self.arm_id()),
            "name": location,
            "type": REPLICATION_TYPE,
            "location": location,
            "tags": {},
            "properties": {
                "provisioningState": "Succeeded",
                "status": {"displayStatus": "Ready", "timestamp": self.creation_date},
                "regionEndpointEnabled": true,
                "zoneRedundancy": "Disabled",
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    List { subscription_id: String },
    ListByResourceGroup { subscription_id: String, resource_group: String },
    Registry { subscription_id: String, resource_group: String, name: String },
    Replications { subscription_id: String, resource_group: String, name: String },
    Replication { subscription_id: String, resource_group: String, name: String, replication: String },
}

impl Route {
    /// `segs`: the decoded path segments. None when the path is not under this provider.
    pub fn parse(segs: &[&str]) -> Option<Result<Route, String>> {
        let (subscription_id, rg, rest) = super::provider_path(segs, PROVIDER)?;
        let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
        Some(match (rg, rest) {
            (None, [t]) if eq(t, "registries") => Ok(Route::List { subscription_id }),
            (Some(resource_group), [t]) if eq(t, "registries") => Ok(Route::ListByResourceGroup { subscription_id, resource_group }),
            (Some(resource_group), [t, n]) if eq(t, "registries") => Ok(Route::Registry { subscription_id, resource_group, name: n.to_string() }),
            (Some(resource_group), [t, n, r]) if eq(t, "registries") && eq(r, "replications") => {
                Ok(Route::Replications { subscription_id, resource_group, name: n.to_string() })
            }
            (Some(resource_group), [t, n, r, x]) if eq(t, "registries") && eq(r, "replications") => {
                Ok(Route::Replication { subscription_id, resource_group, name: n.to_string(), replication: x.to_string() })
            }
            (_, rest) => Err(rest.iter().step_by(2).copied().collect::<Vec<_>>().join("/")),
        })
    }

    pub fn operation_id(&self, method: &str) -> Option<String> {
        if !method.eq_ignore_ascii_case("GET") {
            return None;
        }
        Some(match self {
            Route::List { .. } => "Registries_List",
            Route::ListByResourceGroup { .. } => "Registries_ListByResourceGroup",
            Route::Registry { .. } => "Registries_Get",
            Route::Replications { .. } => "Replications_List",
            Route::Replication { .. } => "Replications_Get",
        }.into())
    }
}

fn find(app: &App, sub: &str, rg: &str, name: &str) -> Result<RegistryRecord, ArmError> {
    app.store
        .read(|s| {
            s.registries
                .iter()
                .find(|r| r.subscription_id.eq_ignore_ascii_case(sub) && r.resource_group.eq_ignore_ascii_case(rg) && r.name.eq_ignore_ascii_case(name))
                .cloned()
        })
        .ok_or_else(|| ArmError::resource_not_found(&format!("{TYPE}/{name}"), rg))
}

pub fn dispatch(app: &App, ctx: &Ctx, route: &Route) -> Result<(StatusCode, Value), ArmError> {
    match route {
        Route::List { subscription_id } | Route::ListByResourceGroup { subscription_id, .. } => {
            let rg = match route {
                Route::ListByResourceGroup { resource_group, .. } => Some(resource_group.as_str()),
                _ => None,
            };
            let items: Vec<Value> = app.store.read(|s| {
                s.registries
                    .iter()
                    .filter(|r| super::listed(&r.subscription_id, &r.resource_group, subscription_id, rg))
                    .map(RegistryRecord::resource)
                    .collect()
            });
            Ok((StatusCode::OK, ctx.page(items)?))
        }
        Route::Registry { subscription_id, resource_group, name } => {
            Ok((StatusCode::OK, find(app, subscription_id, resource_group, name)?.resource()))
        }
        Route::Replications { subscription_id, resource_group, name } => {
            let r = find(app, subscription_id, resource_group, name)?;
            let items = r.replication_locations().iter().map(|l| r.replication(l)).collect();
            Ok((StatusCode::OK, ctx.page(items)?))
        }
        Route::Replication { subscription_id, resource_group, name, replication } => {
            let r = find(app, subscription_id, resource_group, name)?;
            r.replication_locations()
                .iter()
                .find(|l| l.eq_ignore_ascii_case(replication))
                .map(|l| (StatusCode::OK, r.replication(l)))
                .ok_or_else(|| ArmError::resource_not_found(&format!("{TYPE}/{name}/replications/{replication}"), resource_group))
        }
    }
}

/// Creates or replaces a registry (tests, demos).
pub fn put(app: &App, registry: RegistryRecord) {
    let _ = app.store.write(|s| {
        s.registries.retain(|r| !(r.subscription_id.eq_ignore_ascii_case(&registry.subscription_id)
            && r.resource_group.eq_ignore_ascii_case(&registry.resource_group)
            && r.name.eq_ignore_ascii_case(&registry.name)));
        s.registries.push(registry);
        Ok::<_, ArmError>(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_replications() {
        let r = Route::parse(&["subscriptions", "s", "resourceGroups", "rg", "providers", "Microsoft.ContainerRegistry", "registries", "acr1", "replications"]);
        assert!(matches!(r, Some(Ok(Route::Replications { .. }))));
        assert_eq!(r.unwrap().unwrap().operation_id("GET").as_deref(), Some("Replications_List"));
        let reg = RegistryRecord::new("s", "rg", "acr12", "eastus", "Premium", &["westus", "EastUS"]);
        assert_eq!(reg.replication_locations(), ["eastus", "westus"]);
        assert_eq!(reg.replication("westus")["location"], "westus");
    }
}
