//! Per-region VM sizes and vCPU quotas: `VirtualMachineSizes_List`, `Usages_List`, `Quotas_List`,
//! `Quotas_Update`. The catalogue below is what every region offers unless the configuration or
//! the admin API (`PUT /_emulator/regions/{location}`) narrows it, so a test can make a size
//! missing or a family's quota short in one region.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{Ctx, Reply};
use crate::arm::{ArmError, PROVIDER};
use crate::server::App;
use crate::store::State;

/// One VM size: (name, family quota name, vCPUs, GPUs, memory GB, resource disk MB).
pub struct VmSize {
    pub name: &'static str,
    pub family: &'static str,
    pub vcpus: u64,
    pub gpus: u64,
    pub memory_gb: f64,
    pub resource_disk_mb: u64,
}

const fn vm(name: &'static str, family: &'static str, vcpus: u64, gpus: u64, memory_gb: f64, resource_disk_mb: u64) -> VmSize {
    VmSize { name, family, vcpus, gpus, memory_gb, resource_disk_mb }
}

/// The sizes Azure ML offers in most regions (a subset), with their quota families.
pub const CATALOGUE: &[VmSize] = &[
    vm("Standard_DS1_v2", "standardDSv2Family", 1, 0, 3.5, 7168),
    vm("Standard_DS2_v2", "standardDSv2Family", 2, 0, 7.0, 14336),
    vm("Standard_DS3_v2", "standardDSv2Family", 4, 0, 14.0, 28672),
    vm("Standard_DS4_v2", "standardDSv2Family", 8, 0, 28.0, 57344),
    vm("Standard_DS11_v2", "standardDSv2Family", 2, 0, 14.0, 28672),
    vm("Standard_D2s_v3", "standardDSv3Family", 2, 0, 8.0, 16384),
    vm("Standard_D4s_v3", "standardDSv3Family", 4, 0, 16.0, 32768),
    vm("Standard_E4s_v3", "standardESv3Family", 4, 0, 32.0, 65536),
    vm("Standard_F2s_v2", "standardFSv2Family", 2, 0, 4.0, 16384),
    vm("Standard_F4s_v2", "standardFSv2Family", 4, 0, 8.0, 32768),
    vm("Standard_F8s_v2", "standardFSv2Family", 8, 0, 16.0, 65536),
    vm("Standard_NC6s_v3", "standardNCSv3Family", 6, 1, 112.0, 344064),
    vm("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", 4, 1, 28.0, 180224),
    vm("Standard_ND96asr_v4", "standardNDASv4_A100Family", 96, 8, 900.0, 6_000_000),
];

/// Default vCPU limit of each family in a region, and of the region as a whole.
pub const DEFAULT_FAMILY_LIMIT: u64 = 100;
pub const DEFAULT_TOTAL_LIMIT: u64 = 300;

/// What one region offers. Every field is optional; absent means the default.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, rename_all = "camelCase")]
pub struct RegionSettings {
    /// Names of the VM sizes offered (None: the whole catalogue).
    pub vm_sizes: Option<Vec<String>>,
    /// vCPU limit per family (`standardDSv2Family`).
    pub family_limits: BTreeMap<String, u64>,
    /// Limit of families not in `family_limits` (default [`DEFAULT_FAMILY_LIMIT`]).
    pub default_family_limit: Option<u64>,
    /// Regional vCPU limit (default [`DEFAULT_TOTAL_LIMIT`]).
    pub total_limit: Option<u64>,
    /// vCPUs in use per family besides the emulator's computes (other workspaces, other teams).
    pub family_usage: BTreeMap<String, u64>,
    /// Workspace-level limits set by `Quotas_Update`: `<workspace name lower-case>/<family>`.
    pub workspace_limits: BTreeMap<String, u64>,
}

impl RegionSettings {
    pub fn offers(&self, size: &str) -> bool {
        size_info(size).is_some() && self.vm_sizes.as_ref().is_none_or(|v| v.iter().any(|s| s.eq_ignore_ascii_case(size)))
    }
    pub fn family_limit(&self, family: &str) -> u64 {
        self.family_limits.get(family).copied().or(self.default_family_limit).unwrap_or(DEFAULT_FAMILY_LIMIT)
    }
    pub fn total_limit(&self) -> u64 {
        self.total_limit.unwrap_or(DEFAULT_TOTAL_LIMIT)
    }
}

pub fn size_info(name: &str) -> Option<&'static VmSize> {
    CATALOGUE.iter().find(|v| v.name.eq_ignore_ascii_case(name))
}

/// The settings of `location` (state overrides the configuration).
pub fn settings(app: &App, s: &State, location: &str) -> RegionSettings {
    let key = location.to_ascii_lowercase();
    s.regions.get(&key).or_else(|| app.config.regions.get(&key)).cloned().unwrap_or_default()
}

/// vCPUs the emulator's computes hold in `location`, per family: a cluster its current nodes,
/// a running compute instance its size.
pub fn used_by_computes(s: &State, location: &str) -> BTreeMap<String, u64> {
    let mut used = BTreeMap::new();
    for w in s.workspaces.iter().filter(|w| w.location.eq_ignore_ascii_case(location)) {
        for c in &w.children {
            let Some(p) = c.resource.get("properties") else { continue };
            if c.resource.get("type").and_then(Value::as_str) != Some(super::computes::COMPUTE_TYPE) {
                continue;
            }
            let inner = p.get("properties").cloned().unwrap_or(Value::Null);
            let Some(size) = inner.get("vmSize").and_then(Value::as_str).and_then(size_info) else { continue };
            let nodes = match p.get("computeType").and_then(Value::as_str) {
                Some("AmlCompute") => inner.get("currentNodeCount").and_then(Value::as_u64).unwrap_or(0),
                Some("ComputeInstance") => u64::from(inner.get("state").and_then(Value::as_str) != Some("Stopped")),
                _ => 0,
            };
            *used.entry(size.family.to_string()).or_insert(0) += nodes * size.vcpus;
        }
    }
    used
}

/// (family usage, family limit, regional usage, regional limit) in `location`.
pub fn usage_of(app: &App, s: &State, location: &str, family: &str) -> (u64, u64, u64, u64) {
    let rs = settings(app, s, location);
    let mut used = used_by_computes(s, location);
    for (f, n) in &rs.family_usage {
        *used.entry(f.clone()).or_insert(0) += n;
    }
    let total: u64 = used.values().sum();
    (used.get(family).copied().unwrap_or(0), rs.family_limit(family), total, rs.total_limit())
}

fn families() -> Vec<&'static str> {
    let mut f: Vec<&str> = CATALOGUE.iter().map(|v| v.family).collect();
    f.dedup();
    f
}

fn localized(family: &str) -> String {
    let body = family.strip_prefix("standard").unwrap_or(family).trim_end_matches("Family");
    format!("Standard {body} Family Cluster Dedicated vCPUs")
}

pub fn dispatch(app: &App, ctx: &Ctx, sub: &str, location: &str, what: &str, id: Option<&str>, body: &[u8]) -> Result<Reply, ArmError> {
    let loc = location.to_ascii_lowercase();
    let base = format!("/subscriptions/{sub}/providers/{PROVIDER}/locations/{loc}");
    match what {
        "vmSizes" => {
            let rs = app.store.read(|s| settings(app, s, &loc));
            let value: Vec<Value> = CATALOGUE
                .iter()
                .filter(|v| rs.offers(v.name))
                .map(|v| {
                    json!({
                        "name": v.name, "family": v.family, "vCPUs": v.vcpus, "gpus": v.gpus,
                        "osVhdSizeMB": 1_047_552, "maxResourceVolumeMB": v.resource_disk_mb, "memoryGB": v.memory_gb,
                        "lowPriorityCapable": v.gpus < 8, "premiumIO": true,
                        "supportedComputeTypes": ["AmlCompute", "ComputeInstance"],
                    })
                })
                .collect();
            Ok(Reply::new(StatusCode::OK, json!({"value": value})))
        }
        "usages" => {
            let items = app.store.read(|s| {
                let mut items = Vec::new();
                let mut total = (0, 0);
                for f in families() {
                    let (used, limit, t_used, t_limit) = usage_of(app, s, &loc, f);
                    total = (t_used, t_limit);
                    items.push(json!({
                        "id": format!("{base}/usages/{f}"), "amlWorkspaceLocation": loc,
                        "type": format!("{PROVIDER}/vmFamily/usages"), "unit": "Count",
                        "currentValue": used, "limit": limit,
                        "name": {"value": f, "localizedValue": localized(f)},
                    }));
                }
                items.insert(0, json!({
                    "id": format!("{base}/usages/totalCores"), "amlWorkspaceLocation": loc,
                    "type": format!("{PROVIDER}/totalCores/usages"), "unit": "Count",
                    "currentValue": total.0, "limit": total.1,
                    "name": {"value": "Total Cluster Dedicated Regional vCPUs", "localizedValue": "Total Cluster Dedicated Regional vCPUs"},
                }));
                items
            });
            Ok(Reply::new(StatusCode::OK, ctx.page(items)?))
        }
        "quotas" => {
            let items = app.store.read(|s| {
                let rs = settings(app, s, &loc);
                let mut items = Vec::new();
                for w in s.workspaces.iter().filter(|w| w.subscription_id.eq_ignore_ascii_case(sub) && w.location.eq_ignore_ascii_case(&loc)) {
                    for f in families() {
                        let limit = rs.workspace_limits.get(&format!("{}/{f}", w.name.to_ascii_lowercase())).copied().unwrap_or_else(|| rs.family_limit(f));
                        items.push(json!({
                            "id": format!("{}/quotas/{f}", w.arm_id()), "amlWorkspaceLocation": loc,
                            "type": format!("{PROVIDER}/workspaces/quotas"), "unit": "Count", "limit": limit,
                            "name": {"value": f, "localizedValue": localized(f)},
                        }));
                    }
                }
                items
            });
            Ok(Reply::new(StatusCode::OK, ctx.page(items)?))
        }
        "updateQuotas" => update_quotas(app, &loc, body),
        _ => super::lro::poll(app, ctx, sub, &loc, what, id.unwrap_or("")),
    }
}

/// Quotas_Update: `{"value":[{"id":"<workspace>/quotas/<family>","type":…,"limit":n,"unit":"Count"}]}`.
fn update_quotas(app: &App, loc: &str, body: &[u8]) -> Result<Reply, ArmError> {
    let body = super::parse_body(body)?;
    let items = body.get("value").and_then(Value::as_array).cloned().unwrap_or_default();
    app.store.write(|s| {
        let mut rs = settings(app, s, loc);
        let mut out = Vec::new();
        for it in items {
            let id = it.get("id").and_then(Value::as_str).unwrap_or("").to_string();
            let limit = it.get("limit").and_then(Value::as_u64);
            let (ws, family) = match (super::lro::workspace_of(&id), id.rsplit_once("/quotas/")) {
                (Some(w), Some((_, f))) => (w, f.to_string()),
                _ => return Err(ArmError::user_error(format!("Quota id '{id}' is not '<workspace id>/quotas/<vm family>'."))),
            };
            let status = match limit {
                Some(l) if l <= rs.family_limit(&family) => {
                    rs.workspace_limits.insert(format!("{}/{family}", ws.name.to_ascii_lowercase()), l);
                    "Success"
                }
                Some(_) => "InvalidQuotaExceedsSubscriptionLimit",
                None => "InvalidQuotaBelowClusterMinimum",
            };
            out.push(json!({"id": id, "type": it.get("type").cloned().unwrap_or(json!(format!("{PROVIDER}/workspaces/quotas"))), "limit": limit, "unit": "Count", "status": status}));
        }
        s.regions.insert(loc.to_string(), rs);
        Ok(Reply::new(StatusCode::OK, json!({"value": out})))
    })
}
