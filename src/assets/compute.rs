//! Computes as a definition kind: AmlCompute clusters are copied as definitions (VM size,
//! scale settings, identity, idle time; minimum nodes 0 unless `--keep-scale`; subnets mapped
//! with `--subnet-map SRC=TGT`); compute instances (one per user) and attached computes are
//! manual steps. Before a cluster is created, the target region is checked: the VM size is
//! offered there (`VirtualMachineSizes_List`) and the family's quota suffices (`Usages_List`,
//! `Quotas_List`) — [`check_capacity`], pure.
//!
//! | YAML (`az ml compute`, `type: amlcompute`) | REST (`ComputeResource`)                      |
//! |-------------------------------------------|-----------------------------------------------|
//! | `type`                                     | `properties.computeType`                      |
//! | `description`, `tags`                      | `properties.description`, `tags`              |
//! | `size`, `tier` (`dedicated`/`low_priority`) | `properties.properties.vmSize`, `.vmPriority` |
//! | `min_instances`, `max_instances`, `idle_time_before_scale_down` (s) | `…scaleSettings.minNodeCount`, `.maxNodeCount`, `.nodeIdleTimeBeforeScaleDown` (ISO) |
//! | `network_settings.subnet`                  | `…subnet.id`                                  |
//! | `enable_node_public_ip`, `os_type`         | `…enableNodePublicIp`, `…osType`              |
//! | `ssh_settings.{admin_username, ssh_key_value, admin_password}` | `…userAccountCredentials.{adminUserName, adminUserSshPublicKey, adminUserPassword}` |
//! | `identity.type`, `identity.user_assigned_identities: [{resource_id}]` | `identity.type`, `identity.userAssignedIdentities` |

use super::definition::{f, get_path, remove_path, set_path_value, Conv, CopyOptions, Ctx, DefKind, Definition, Field};
use crate::error::Result;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/amlCompute.schema.json";

pub const SERVICE_PATHS: &[&str] = &[
    "properties.computeLocation",
    "properties.createdOn",
    "properties.modifiedOn",
    "properties.provisioningErrors",
    "properties.isAttachedCompute",
    "properties.resourceId",
    "properties.properties.allocationState",
    "properties.properties.allocationStateTransitionTime",
    "properties.properties.errors",
    "properties.properties.currentNodeCount",
    "properties.properties.targetNodeCount",
    "properties.properties.nodeStateCounts",
];

const TYPES: &[(&str, &str)] = &[("amlcompute", "AmlCompute"), ("computeinstance", "ComputeInstance"), ("kubernetes", "Kubernetes")];
const TIERS: &[(&str, &str)] = &[("dedicated", "Dedicated"), ("low_priority", "LowPriority")];
pub const IDENTITY_TYPES: &[(&str, &str)] = &[
    ("system_assigned", "SystemAssigned"),
    ("user_assigned", "UserAssigned"),
    ("system_assigned,user_assigned", "SystemAssigned,UserAssigned"),
    ("none", "None"),
];

/// `identity` of a tracked resource, shared by computes and endpoints.
pub const IDENTITY: &[Field] = &[
    f("identity.type", "identity.type", Conv::Enum(IDENTITY_TYPES)),
    f("identity.user_assigned_identities", "identity.userAssignedIdentities", Conv::Custom(uai_to_rest, uai_to_yaml)),
];

const FIELDS: &[Field] = &[
    f("type", "properties.computeType", Conv::Enum(TYPES)),
    f("description", "properties.description", Conv::Same),
    f("tags", "tags", Conv::Same),
    f("size", "properties.properties.vmSize", Conv::Same),
    f("tier", "properties.properties.vmPriority", Conv::Enum(TIERS)),
    f("min_instances", "properties.properties.scaleSettings.minNodeCount", Conv::Same),
    f("max_instances", "properties.properties.scaleSettings.maxNodeCount", Conv::Same),
    f("idle_time_before_scale_down", "properties.properties.scaleSettings.nodeIdleTimeBeforeScaleDown", Conv::Seconds),
    f("network_settings.subnet", "properties.properties.subnet.id", Conv::Same),
    f("enable_node_public_ip", "properties.properties.enableNodePublicIp", Conv::Same),
    f("os_type", "properties.properties.osType", Conv::Same),
    f("ssh_settings.admin_username", "properties.properties.userAccountCredentials.adminUserName", Conv::Same),
    f("ssh_settings.ssh_key_value", "properties.properties.userAccountCredentials.adminUserSshPublicKey", Conv::Same),
    f("ssh_settings.admin_password", "properties.properties.userAccountCredentials.adminUserPassword", Conv::Same),
];

const PASSWORD: &str = "properties.properties.userAccountCredentials.adminUserPassword";

pub fn secret_paths(body: &Value, out: &mut Vec<String>) {
    if get_path(body, PASSWORD).is_some() {
        out.push(PASSWORD.into());
    }
}

fn uai_to_yaml(v: &Value, _: &Ctx) -> Value {
    match v.as_object() {
        Some(m) => Value::Array(m.keys().map(|id| json!({"resource_id": id})).collect()),
        None => v.clone(),
    }
}

fn uai_to_rest(v: &Value, _: &Ctx) -> Value {
    match v.as_array() {
        Some(a) => Value::Object(a.iter().filter_map(|x| x.get("resource_id").and_then(Value::as_str)).map(|id| (id.to_string(), json!({}))).collect::<Map<_, _>>()),
        None => v.clone(),
    }
}

pub fn to_yaml(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    let head = vec![("$schema", json!(SCHEMA)), ("name", json!(def.name))];
    super::definition::to_yaml(DefKind::Compute, head, &def.body(), &[FIELDS, IDENTITY], ws)
}

pub fn from_yaml(file: &str, yaml: &Value, ws: Option<&WorkspaceRef>) -> Result<Definition> {
    let (name, mut body) = super::definition::to_rest(DefKind::Compute, file, yaml, &[], &[FIELDS, IDENTITY], ws)?;
    if get_path(&body, "properties.computeType").is_none() {
        set_path_value(&mut body, "properties.computeType", json!("AmlCompute"));
    }
    body["name"] = json!(name);
    Ok(Definition::new(DefKind::Compute, None, body))
}

/// The target's cluster: minimum nodes 0 unless `--keep-scale`, the subnet mapped, created in
/// the target's region. `Some(why)` when the tool cannot create it (a compute instance, an
/// attached compute, a subnet not mapped).
pub fn prepare(body: &mut Value, opts: &CopyOptions) -> Option<String> {
    match get_path(body, "properties.computeType").and_then(Value::as_str) {
        Some("AmlCompute") => {}
        Some("ComputeInstance") => return Some("a compute instance belongs to one user: create it in the target for that user".into()),
        Some(t) => return Some(format!("a {t} compute is attached, not created: attach it to the target")),
        None => return Some("no computeType".into()),
    }
    if !opts.keep_scale {
        if let Some(s) = body.pointer_mut("/properties/properties/scaleSettings").and_then(Value::as_object_mut) {
            s.insert("minNodeCount".into(), json!(0));
        }
    }
    if let Some(subnet) = get_path(body, "properties.properties.subnet.id").and_then(Value::as_str).map(str::to_string) {
        match opts.subnet_map.iter().find(|(s, _)| s.eq_ignore_ascii_case(&subnet)) {
            Some((_, t)) => set_path_value(body, "properties.properties.subnet.id", json!(t)),
            None => return Some(format!("its subnet {subnet} is in the primary's network: map it with --subnet-map {subnet}=<target subnet id>")),
        }
    }
    None
}

/// A warm copy scaled to zero is in step with its source, and a cluster the target keeps warm is
/// in step with a copy scaled to zero (copying back to the primary): the minimum node count is
/// compared only when both sides keep one.
pub fn comparable(want: &mut Value, have: &mut Value) {
    let p = "properties.properties.scaleSettings.minNodeCount";
    let min = |v: &Value| get_path(v, p).and_then(Value::as_u64).unwrap_or(0);
    if min(have) == 0 || min(want) == 0 {
        remove_path(want, p);
        remove_path(have, p);
    }
}

/// `--subnet-map SRC=TGT` values.
pub fn parse_subnet_map(values: &[String]) -> Result<Vec<(String, String)>> {
    values
        .iter()
        .map(|v| match v.split_once('=') {
            Some((s, t)) if s.trim().starts_with('/') && t.trim().starts_with('/') => Ok((s.trim().to_string(), t.trim().to_string())),
            _ => Err(crate::error::Error::usage(format!(
                "--subnet-map '{v}': expected SRC=TGT, two subnet resource ids (/subscriptions/…/virtualNetworks/<vnet>/subnets/<subnet>)"
            ))),
        })
        .collect()
}

/// What the target region offers, as `VirtualMachineSizes_List`, `Usages_List` and
/// `Quotas_List` answered (their `value` arrays).
#[derive(Debug, Clone, Default)]
pub struct RegionCapacity {
    pub region: String,
    pub sizes: Vec<Value>,
    pub usages: Vec<Value>,
    pub quotas: Vec<Value>,
}

/// Checks that the target region can hold cluster `name` (`body`: the prepared definition) at
/// its maximum size, counting what earlier clusters of this run already claimed (`claimed`:
/// vCPUs per family). `Err` names the VM size or the family and the numbers.
pub fn check_capacity(name: &str, body: &Value, cap: &RegionCapacity, claimed: &mut HashMap<String, u64>) -> std::result::Result<(), String> {
    let props = get_path(body, "properties.properties").cloned().unwrap_or(Value::Null);
    let Some(size) = props.get("vmSize").and_then(Value::as_str) else { return Ok(()) };
    let nodes = props.pointer("/scaleSettings/maxNodeCount").and_then(Value::as_u64).unwrap_or(0);
    let low = props.get("vmPriority").and_then(Value::as_str) == Some("LowPriority");
    let Some(vm) = cap.sizes.iter().find(|s| s.get("name").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(size))) else {
        return Err(format!("compute {name}: VM size {size} is not offered in {} (VirtualMachineSizes_List)", cap.region));
    };
    let family = vm.get("family").and_then(Value::as_str).unwrap_or_default().to_string();
    let per_node = vm.get("vCPUs").and_then(Value::as_u64).unwrap_or(0);
    let need = nodes * per_node;
    // Low-priority cores count against the region's low-priority total, dedicated ones against
    // their family.
    let usage_name = if low { "TotalLowPriorityCores".to_string() } else { family.clone() };
    let named = |v: &&Value| v.pointer("/name/value").and_then(Value::as_str).is_some_and(|n| n.eq_ignore_ascii_case(&usage_name));
    let Some(usage) = cap.usages.iter().find(named) else {
        // A region that reports no low-priority total does not cap it.
        if low {
            return Ok(());
        }
        return Err(format!("compute {name}: {size} needs {need} vCPUs of {usage_name} in {}, which has no quota for it (Usages_List)", cap.region));
    };
    let current = usage.get("currentValue").and_then(Value::as_u64).unwrap_or(0);
    let limit = usage.get("limit").and_then(Value::as_u64).unwrap_or(0);
    let already = claimed.get(&usage_name).copied().unwrap_or(0);
    let free = limit.saturating_sub(current + already);
    let shape = format!("{nodes} nodes × {per_node} vCPUs of {size}");
    if need > free {
        let others = if already > 0 { format!(", {already} claimed by clusters before it in this run") } else { String::new() };
        return Err(format!(
            "compute {name}: needs {need} vCPUs of {usage_name} in {} ({shape}); {free} free ({current} of {limit} in use{others}): raise the quota or lower max_instances",
            cap.region
        ));
    }
    // The workspace's own cap on the family, where set (a negative limit: none).
    if let Some(q) = cap.quotas.iter().find(named) {
        if let Some(l) = q.get("limit").and_then(Value::as_i64).filter(|l| *l >= 0) {
            if need + already > l as u64 {
                return Err(format!("compute {name}: needs {need} vCPUs of {usage_name} ({shape}); the target workspace's quota for it is {l} (Quotas_List)"));
            }
        }
    }
    *claimed.entry(usage_name).or_default() += need;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::definition::{self, tests::ws};
    use crate::assets::refs::Rewriter;
    use crate::compare::Comparison;

    pub fn cluster() -> Definition {
        Definition::new(
            DefKind::Compute,
            None,
            json!({"name": "cpu-cluster", "location": "eastus", "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"},
                "tags": {"env": "prod"},
                "properties": {"computeType": "AmlCompute", "computeLocation": "eastus", "provisioningState": "Succeeded", "description": "training",
                    "createdOn": "2026-01-01T00:00:00Z", "isAttachedCompute": false,
                    "properties": {"vmSize": "Standard_DS3_v2", "vmPriority": "Dedicated",
                        "scaleSettings": {"minNodeCount": 1, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT120S"},
                        "subnet": {"id": "/subscriptions/s1/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v1/subnets/train"},
                        "allocationState": "Steady", "currentNodeCount": 1, "targetNodeCount": 1, "nodeStateCounts": {"idleNodeCount": 1},
                        "remoteLoginPortPublicAccess": "Disabled"}}}),
        )
    }

    fn rw_same() -> impl Fn(crate::assets::Kind, &str, &str) -> String {
        |_: crate::assets::Kind, _: &str, v: &str| v.to_string()
    }

    #[test]
    fn round_trip() {
        let c = cluster();
        let y = to_yaml(&c, Some(&ws("primary")));
        assert_eq!(y["size"], "Standard_DS3_v2");
        assert_eq!(y["idle_time_before_scale_down"], 120);
        assert_eq!(y["min_instances"], 1);
        assert_eq!(y["identity"]["type"], "system_assigned");
        assert_eq!(y["extra_rest_fields"], json!({"properties": {"properties": {"remoteLoginPortPublicAccess": "Disabled"}}}), "{y}");
        let back = from_yaml("c.yml", &y, None).unwrap();
        assert_eq!(definition::compare(DefKind::Compute, &back.body(), Some(&c.resource)), Comparison::Identical);
    }

    #[test]
    fn min_nodes_zero_subnet_map_and_manual_steps() {
        let c = cluster();
        let (src, dst) = definition::tests::rewriter_ids();
        let same = rw_same();
        let rw = Rewriter { src, dst, version_of: &same };
        let p = definition::prepare(&c, &CopyOptions::default(), &rw);
        assert!(p.manual.as_deref().is_some_and(|m| m.contains("--subnet-map") && m.contains("subnets/train")), "{:?}", p.manual);
        let tgt = "/subscriptions/s2/resourceGroups/net2/providers/Microsoft.Network/virtualNetworks/v2/subnets/train";
        let map = parse_subnet_map(&[format!("{}={tgt}", "/subscriptions/s1/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/v1/subnets/train")]).unwrap();
        let opts = CopyOptions { subnet_map: map, location: Some("westus2".into()), ..Default::default() };
        let p = definition::prepare(&c, &opts, &rw);
        assert_eq!(p.manual, None);
        assert_eq!(p.body["properties"]["properties"]["scaleSettings"]["minNodeCount"], 0);
        assert_eq!(p.body["properties"]["properties"]["subnet"]["id"], tgt);
        assert_eq!(p.body["location"], "westus2");
        assert!(p.body["properties"].get("computeLocation").is_none());
        // Scaled to zero it is in step with the source; with another max it is not.
        let mut have = json!({"properties": p.body["properties"].clone(), "identity": {"type": "SystemAssigned"}, "tags": {"env": "prod"}});
        let want = definition::prepare(&c, &opts, &rw).body;
        assert_eq!(definition::compare(DefKind::Compute, &want, Some(&have)), Comparison::Identical);
        have["properties"]["properties"]["scaleSettings"]["maxNodeCount"] = json!(2);
        assert!(matches!(definition::compare(DefKind::Compute, &want, Some(&have)), Comparison::Different(_)));
        let keep = definition::prepare(&c, &CopyOptions { keep_scale: true, ..opts.clone() }, &rw);
        assert_eq!(keep.body["properties"]["properties"]["scaleSettings"]["minNodeCount"], 1);
        // Copied back to a primary that keeps one node warm: in step (the scale is its own).
        let warm = json!({"properties": keep.body["properties"].clone(), "identity": {"type": "SystemAssigned"}, "tags": {"env": "prod"}});
        assert_eq!(definition::compare(DefKind::Compute, &want, Some(&warm)), Comparison::Identical);
        let ci = Definition::new(DefKind::Compute, None, json!({"name": "alice-ci", "properties": {"computeType": "ComputeInstance"}}));
        assert!(definition::prepare(&ci, &opts, &rw).manual.unwrap().contains("one user"));
        assert!(parse_subnet_map(&["a=b".into()]).unwrap_err().to_string().contains("SRC=TGT"));
    }

    fn region(limit: u64, current: u64) -> RegionCapacity {
        RegionCapacity {
            region: "westus2".into(),
            sizes: vec![json!({"name": "Standard_DS3_v2", "family": "standardDSv2Family", "vCPUs": 4})],
            usages: vec![
                json!({"name": {"value": "standardDSv2Family", "localizedValue": "Standard DSv2 Family vCPUs"}, "currentValue": current, "limit": limit, "unit": "Count"}),
                json!({"name": {"value": "TotalLowPriorityCores"}, "currentValue": 0, "limit": 100}),
            ],
            quotas: vec![],
        }
    }

    #[test]
    fn capacity_is_checked_per_item_with_the_numbers() {
        let body = cluster().body();
        let mut claimed = HashMap::new();
        assert_eq!(check_capacity("cpu-cluster", &body, &region(24, 0), &mut claimed), Ok(()));
        // A second cluster of the same family in the same run counts the first one's 16 vCPUs.
        let e = check_capacity("cpu-cluster-2", &body, &region(24, 0), &mut claimed).unwrap_err();
        assert!(e.contains("needs 16 vCPUs of standardDSv2Family") && e.contains("8 free") && e.contains("16 claimed"), "{e}");
        let e = check_capacity("cpu-cluster", &body, &region(24, 12), &mut HashMap::new()).unwrap_err();
        assert!(e.contains("westus2") && e.contains("4 nodes × 4 vCPUs") && e.contains("12 free (12 of 24 in use)"), "{e}");
        let mut other = body.clone();
        other["properties"]["properties"]["vmSize"] = json!("Standard_NC6");
        let e = check_capacity("gpu", &other, &region(24, 0), &mut HashMap::new()).unwrap_err();
        assert!(e.contains("Standard_NC6 is not offered in westus2"), "{e}");
        let mut low = body.clone();
        low["properties"]["properties"]["vmPriority"] = json!("LowPriority");
        assert_eq!(check_capacity("low", &low, &region(0, 0), &mut HashMap::new()), Ok(()));
        let mut q = region(100, 0);
        q.quotas = vec![json!({"name": {"value": "standardDSv2Family"}, "limit": 8})];
        let e = check_capacity("cpu-cluster", &body, &q, &mut HashMap::new()).unwrap_err();
        assert!(e.contains("quota for it is 8"), "{e}");
    }
}
