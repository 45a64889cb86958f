//! Maps request paths onto the Azure ML operations the emulator serves.
//! Fixed segments match case-insensitively, as in ARM; names keep their casing.

use crate::arm::{WorkspaceRef, PROVIDER};

/// The asset families with containers and versions, one row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssetKind {
    /// Path segment under the workspace: `models`.
    pub segment: &'static str,
    /// operationId prefix: `Model` (ModelContainers_Get, ModelVersions_List, ...).
    pub op_prefix: &'static str,
}

pub const ASSET_KINDS: &[AssetKind] = &[
    AssetKind { segment: "models", op_prefix: "Model" },
    AssetKind { segment: "environments", op_prefix: "Environment" },
    AssetKind { segment: "components", op_prefix: "Component" },
    AssetKind { segment: "codes", op_prefix: "Code" },
    AssetKind { segment: "data", op_prefix: "Data" },
];

impl AssetKind {
    pub fn by_segment(seg: &str) -> Option<AssetKind> {
        ASSET_KINDS.iter().copied().find(|k| k.segment.eq_ignore_ascii_case(seg))
    }
    pub fn container_type(&self) -> String {
        format!("{PROVIDER}/workspaces/{}", self.segment)
    }
    pub fn version_type(&self) -> String {
        format!("{PROVIDER}/workspaces/{}/versions", self.segment)
    }
}

/// Workspace child families served by `resources::children` (ARM resources with their own
/// ids, some long-running): one row each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildFamily {
    Connections,
    Computes,
    OnlineEndpoints,
    OnlineDeployments,
    BatchEndpoints,
    BatchDeployments,
    Schedules,
}

impl ChildFamily {
    /// Top-level families by their path segment under the workspace.
    fn top(seg: &str) -> Option<ChildFamily> {
        [ChildFamily::Connections, ChildFamily::Computes, ChildFamily::OnlineEndpoints, ChildFamily::BatchEndpoints, ChildFamily::Schedules]
            .into_iter()
            .find(|f| f.segment().eq_ignore_ascii_case(seg))
    }
    /// Path segment of the collection (`deployments` under an endpoint).
    pub fn segment(&self) -> &'static str {
        match self {
            ChildFamily::Connections => "connections",
            ChildFamily::Computes => "computes",
            ChildFamily::OnlineEndpoints => "onlineEndpoints",
            ChildFamily::BatchEndpoints => "batchEndpoints",
            ChildFamily::OnlineDeployments | ChildFamily::BatchDeployments => "deployments",
            ChildFamily::Schedules => "schedules",
        }
    }
    /// operationId prefix.
    pub fn op_prefix(&self) -> &'static str {
        match self {
            ChildFamily::Connections => "WorkspaceConnections",
            ChildFamily::Computes => "Compute",
            ChildFamily::OnlineEndpoints => "OnlineEndpoints",
            ChildFamily::OnlineDeployments => "OnlineDeployments",
            ChildFamily::BatchEndpoints => "BatchEndpoints",
            ChildFamily::BatchDeployments => "BatchDeployments",
            ChildFamily::Schedules => "Schedules",
        }
    }
    /// ARM type below the provider (`workspaces/onlineEndpoints/deployments`).
    pub fn type_path(&self) -> String {
        match self {
            ChildFamily::OnlineDeployments => "workspaces/onlineEndpoints/deployments".into(),
            ChildFamily::BatchDeployments => "workspaces/batchEndpoints/deployments".into(),
            f => format!("workspaces/{}", f.segment()),
        }
    }
    /// The deployments family under an endpoint family.
    fn deployments(&self) -> Option<ChildFamily> {
        match self {
            ChildFamily::OnlineEndpoints => Some(ChildFamily::OnlineDeployments),
            ChildFamily::BatchEndpoints => Some(ChildFamily::BatchDeployments),
            _ => None,
        }
    }
    /// Actions (`POST|GET .../{name}/<action>`): (segment, method, operation suffix).
    pub fn actions(&self) -> &'static [(&'static str, &'static str, &'static str)] {
        match self {
            ChildFamily::Connections => &[("listsecrets", "POST", "ListSecrets")],
            ChildFamily::Computes => &[
                ("listNodes", "POST", "ListNodes"),
                ("listKeys", "POST", "ListKeys"),
                ("start", "POST", "Start"),
                ("stop", "POST", "Stop"),
                ("restart", "POST", "Restart"),
            ],
            ChildFamily::OnlineEndpoints => &[("listKeys", "POST", "ListKeys"), ("regenerateKeys", "POST", "RegenerateKeys"), ("token", "POST", "GetToken")],
            ChildFamily::OnlineDeployments => &[("getLogs", "POST", "GetLogs"), ("skus", "GET", "ListSkus")],
            ChildFamily::BatchEndpoints => &[("listkeys", "POST", "ListKeys")],
            ChildFamily::BatchDeployments | ChildFamily::Schedules => &[],
        }
    }
    /// Canonical action segment for `seg` (case-insensitive).
    fn action(&self, seg: &str) -> Option<&'static str> {
        self.actions().iter().find(|a| a.0.eq_ignore_ascii_case(seg)).map(|a| a.0)
    }
}

/// Subscription-level operations under `/providers/Microsoft.MachineLearningServices/locations/{location}/`.
pub const REGIONAL: &[(&str, &str, &str)] = &[
    ("usages", "GET", "Usages_List"),
    ("vmSizes", "GET", "VirtualMachineSizes_List"),
    ("quotas", "GET", "Quotas_List"),
    ("updateQuotas", "POST", "Quotas_Update"),
    // Long-running operations' polling URLs (Azure-AsyncOperation / Location); not in the spec's paths.
    ("mfeOperationsStatus", "GET", "OperationStatus_Get"),
    ("computeOperationsStatus", "GET", "OperationStatus_Get"),
    ("mfeOperationResults", "GET", "OperationResults_Get"),
    ("computeOperationResults", "GET", "OperationResults_Get"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    WorkspacesBySubscription { subscription_id: String },
    WorkspacesByResourceGroup { subscription_id: String, resource_group: String },
    Workspace { ws: WorkspaceRef },
    Datastores { ws: WorkspaceRef },
    Datastore { ws: WorkspaceRef, name: String },
    DatastoreListSecrets { ws: WorkspaceRef, name: String },
    Containers { ws: WorkspaceRef, kind: AssetKind },
    Container { ws: WorkspaceRef, kind: AssetKind, name: String },
    Versions { ws: WorkspaceRef, kind: AssetKind, name: String },
    Version { ws: WorkspaceRef, kind: AssetKind, name: String, version: String },
    StartPendingUpload { ws: WorkspaceRef, kind: AssetKind, name: String, version: String },
    Jobs { ws: WorkspaceRef },
    Job { ws: WorkspaceRef, id: String },
    JobCancel { ws: WorkspaceRef, id: String },
    /// Microsoft.Storage (resources/storage_rp.rs).
    Storage(crate::resources::storage_rp::Route),
    /// Microsoft.ContainerRegistry (resources/acr.rs).
    Registry(crate::resources::acr::Route),
    /// A child family: a list (`name` None), one resource, or an action on it. `parent` is the
    /// endpoint of deployments.
    Child { ws: WorkspaceRef, family: ChildFamily, parent: Option<String>, name: Option<String>, action: Option<&'static str> },
    /// `/subscriptions/S/providers/P/locations/L/<what>[/<id>]` (`what` canonical, see [`REGIONAL`]).
    Regional { subscription_id: String, location: String, what: &'static str, id: Option<String> },
}

/// Why a path is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// Under the ML provider, but an unknown resource type (`type` path like `workspaces/foo`).
    UnknownType(String),
    /// Not an ARM path of the ML provider at all.
    NotFound,
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Percent-decodes one path segment.
fn decode(seg: &str) -> String {
    percent_encoding::percent_decode_str(seg).decode_utf8_lossy().into_owned()
}

pub fn parse(path: &str) -> Result<Route, NoRoute> {
    let segs: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    if s.len() < 2 || !eq(s[0], "subscriptions") {
        return Err(NoRoute::NotFound);
    }
    if let Some(r) = provider_route(&s) {
        return r;
    }
    let sub = s[1].to_string();
    // /subscriptions/S/providers/P/locations/L/<what>[/<id>]
    if (7..=8).contains(&s.len()) && eq(s[2], "providers") && eq(s[3], PROVIDER) && eq(s[4], "locations") {
        let Some(what) = REGIONAL.iter().find(|r| eq(r.0, s[6])).map(|r| r.0) else {
            return Err(NoRoute::UnknownType(format!("locations/{}", s[6])));
        };
        let needs_id = what.contains("Operation");
        if needs_id != (s.len() == 8) {
            return Err(NoRoute::NotFound);
        }
        return Ok(Route::Regional { subscription_id: sub, location: s[5].to_string(), what, id: s.get(7).map(|x| x.to_string()) });
    }
    // /subscriptions/S/providers/P/workspaces
    if s.len() == 5 && eq(s[2], "providers") && eq(s[3], PROVIDER) {
        return if eq(s[4], "workspaces") {
            Ok(Route::WorkspacesBySubscription { subscription_id: sub })
        } else {
            Err(NoRoute::UnknownType(s[4].to_string()))
        };
    }
    if s.len() < 7 || !eq(s[2], "resourceGroups") || !eq(s[4], "providers") || !eq(s[5], PROVIDER) {
        return Err(NoRoute::NotFound);
    }
    let rg = s[3].to_string();
    if !eq(s[6], "workspaces") {
        return Err(NoRoute::UnknownType(s[6].to_string()));
    }
    if s.len() == 7 {
        return Ok(Route::WorkspacesByResourceGroup { subscription_id: sub, resource_group: rg });
    }
    let ws = WorkspaceRef { subscription_id: sub, resource_group: rg, name: s[7].to_string() };
    let rest = &s[8..];
    let unknown = || NoRoute::UnknownType(format!("workspaces/{}", rest.iter().step_by(2).copied().collect::<Vec<_>>().join("/")));
    match rest {
        [] => Ok(Route::Workspace { ws }),
        [t] if eq(t, "datastores") => Ok(Route::Datastores { ws }),
        [t, n] if eq(t, "datastores") => Ok(Route::Datastore { ws, name: n.to_string() }),
        [t, n, a] if eq(t, "datastores") && eq(a, "listSecrets") => {
            Ok(Route::DatastoreListSecrets { ws, name: n.to_string() })
        }
        [t] if eq(t, "jobs") => Ok(Route::Jobs { ws }),
        [t, n] if eq(t, "jobs") => Ok(Route::Job { ws, id: n.to_string() }),
        [t, n, a] if eq(t, "jobs") && eq(a, "cancel") => Ok(Route::JobCancel { ws, id: n.to_string() }),
        [t, tail @ ..] if ChildFamily::top(t).is_some() => {
            let family = ChildFamily::top(t).expect("checked");
            let child = |family: ChildFamily, parent: Option<String>, tail: &[&str]| -> Result<Route, NoRoute> {
                let ws = ws.clone();
                match tail {
                    [] => Ok(Route::Child { ws, family, parent, name: None, action: None }),
                    [n] => Ok(Route::Child { ws, family, parent, name: Some(n.to_string()), action: None }),
                    [n, a] => match family.action(a) {
                        Some(action) => Ok(Route::Child { ws, family, parent, name: Some(n.to_string()), action: Some(action) }),
                        None => Err(unknown()),
                    },
                    _ => Err(unknown()),
                }
            };
            match (family.deployments(), tail) {
                (Some(dep), [e, d, rest @ ..]) if eq(d, "deployments") => child(dep, Some(e.to_string()), rest),
                _ => child(family, None, tail),
            }
        }
        [t, tail @ ..] => {
            let Some(kind) = AssetKind::by_segment(t) else { return Err(unknown()) };
            match tail {
                [] => Ok(Route::Containers { ws, kind }),
                [n] => Ok(Route::Container { ws, kind, name: n.to_string() }),
                [n, v] if eq(v, "versions") => Ok(Route::Versions { ws, kind, name: n.to_string() }),
                [n, v, ver] if eq(v, "versions") => {
                    Ok(Route::Version { ws, kind, name: n.to_string(), version: ver.to_string() })
                }
                [n, v, ver, a] if eq(v, "versions") && eq(a, "startPendingUpload") && kind.segment == "codes" => {
                    Ok(Route::StartPendingUpload { ws, kind, name: n.to_string(), version: ver.to_string() })
                }
                _ => Err(unknown()),
            }
        }
    }
}

/// The provider namespace a path names (for messages): Storage, Container Registry or Azure ML.
pub fn namespace_of(path: &str) -> &'static str {
    use crate::resources::{acr, storage_rp};
    let p = path.to_ascii_lowercase();
    if p.contains(&format!("/providers/{}/", storage_rp::PROVIDER.to_ascii_lowercase())) {
        storage_rp::PROVIDER
    } else if p.contains(&format!("/providers/{}/", acr::PROVIDER.to_ascii_lowercase())) {
        acr::PROVIDER
    } else {
        PROVIDER
    }
}

/// The other resource providers the emulator serves (Storage, Container Registry).
fn provider_route(s: &[&str]) -> Option<Result<Route, NoRoute>> {
    use crate::resources::{acr, storage_rp};
    if let Some(r) = storage_rp::Route::parse(s) {
        return Some(r.map(Route::Storage).map_err(NoRoute::UnknownType));
    }
    acr::Route::parse(s).map(|r| r.map(Route::Registry).map_err(NoRoute::UnknownType))
}

impl Route {
    /// Whether `v` is an api-version of this route's resource provider.
    pub fn api_version_accepted(&self, v: &str) -> bool {
        match self {
            Route::Storage(_) => crate::resources::storage_rp::API_VERSIONS.contains(&v),
            Route::Registry(_) => crate::resources::acr::API_VERSIONS.contains(&v),
            _ => crate::arm::api_version_accepted(v),
        }
    }

    pub fn accepted_api_versions(&self) -> &'static [&'static str] {
        match self {
            Route::Storage(_) => crate::resources::storage_rp::API_VERSIONS,
            Route::Registry(_) => crate::resources::acr::API_VERSIONS,
            _ => crate::arm::ACCEPTED_API_VERSIONS,
        }
    }

    pub fn workspace(&self) -> Option<&WorkspaceRef> {
        match self {
            Route::WorkspacesBySubscription { .. } | Route::WorkspacesByResourceGroup { .. } => None,
            Route::Storage(_) | Route::Registry(_) => None,
            Route::Workspace { ws }
            | Route::Datastores { ws }
            | Route::Datastore { ws, .. }
            | Route::DatastoreListSecrets { ws, .. }
            | Route::Containers { ws, .. }
            | Route::Container { ws, .. }
            | Route::Versions { ws, .. }
            | Route::Version { ws, .. }
            | Route::StartPendingUpload { ws, .. }
            | Route::Jobs { ws }
            | Route::Job { ws, .. }
            | Route::JobCancel { ws, .. }
            | Route::Child { ws, .. } => Some(ws),
            Route::Regional { .. } => None,
        }
    }

    /// The location of a subscription-level regional operation.
    pub fn location(&self) -> Option<&str> {
        match self {
            Route::Regional { location, .. } => Some(location),
            _ => None,
        }
    }

    /// ARM resource type path for messages (`workspaces/models/versions`).
    pub fn type_path(&self) -> String {
        match self {
            Route::WorkspacesBySubscription { .. } | Route::WorkspacesByResourceGroup { .. } | Route::Workspace { .. } => {
                "workspaces".into()
            }
            Route::Datastores { .. } | Route::Datastore { .. } | Route::DatastoreListSecrets { .. } => {
                "workspaces/datastores".into()
            }
            Route::Containers { kind, .. } | Route::Container { kind, .. } => format!("workspaces/{}", kind.segment),
            Route::Versions { kind, .. } | Route::Version { kind, .. } | Route::StartPendingUpload { kind, .. } => {
                format!("workspaces/{}/versions", kind.segment)
            }
            Route::Jobs { .. } | Route::Job { .. } | Route::JobCancel { .. } => "workspaces/jobs".into(),
            Route::Storage(_) => "storageAccounts".into(),
            Route::Registry(crate::resources::acr::Route::Replications { .. } | crate::resources::acr::Route::Replication { .. }) => {
                "registries/replications".into()
            }
            Route::Registry(_) => "registries".into(),
            Route::Child { family, .. } => family.type_path(),
            Route::Regional { what, .. } => format!("locations/{what}"),
        }
    }

    /// The spec's operationId for `method` on this route (None: method not allowed).
    pub fn operation_id(&self, method: &str) -> Option<String> {
        let m = method.to_ascii_uppercase();
        let crud = |family: &str, list: bool| -> Option<String> {
            let op = match (m.as_str(), list) {
                ("GET", true) => "List",
                ("GET", false) => "Get",
                ("PUT", false) => "CreateOrUpdate",
                ("DELETE", false) => "Delete",
                _ => return None,
            };
            Some(format!("{family}_{op}"))
        };
        match self {
            Route::WorkspacesBySubscription { .. } => (m == "GET").then(|| "Workspaces_ListBySubscription".into()),
            Route::WorkspacesByResourceGroup { .. } => (m == "GET").then(|| "Workspaces_ListByResourceGroup".into()),
            Route::Workspace { .. } => match m.as_str() {
                "PATCH" => Some("Workspaces_Update".into()),
                _ => crud("Workspaces", false),
            },
            Route::Datastores { .. } => crud("Datastores", true),
            Route::Datastore { .. } => crud("Datastores", false),
            Route::DatastoreListSecrets { .. } => (m == "POST").then(|| "Datastores_ListSecrets".into()),
            Route::Containers { kind, .. } => crud(&format!("{}Containers", kind.op_prefix), true),
            Route::Container { kind, .. } => crud(&format!("{}Containers", kind.op_prefix), false),
            Route::Versions { kind, .. } => crud(&format!("{}Versions", kind.op_prefix), true),
            Route::Version { kind, .. } => crud(&format!("{}Versions", kind.op_prefix), false),
            Route::StartPendingUpload { kind, .. } => {
                (m == "POST").then(|| format!("{}Versions_CreateOrGetStartPendingUpload", kind.op_prefix))
            }
            Route::Jobs { .. } => crud("Jobs", true),
            Route::Job { .. } => crud("Jobs", false),
            Route::JobCancel { .. } => (m == "POST").then(|| "Jobs_Cancel".into()),
            Route::Storage(r) => r.operation_id(&m),
            Route::Registry(r) => r.operation_id(&m),
            Route::Child { family, name, action, .. } => {
                let prefix = family.op_prefix();
                let op = match (name, action, m.as_str()) {
                    (None, _, "GET") => "List",
                    (None, _, _) => return None,
                    (Some(_), Some(a), _) => {
                        let (_, verb, op) = family.actions().iter().find(|x| x.0 == *a)?;
                        return (*verb == m).then(|| format!("{prefix}_{op}"));
                    }
                    (Some(_), None, "GET") => "Get",
                    (Some(_), None, "PUT") if *family == ChildFamily::Connections => "Create",
                    (Some(_), None, "PUT") => "CreateOrUpdate",
                    (Some(_), None, "PATCH") if *family != ChildFamily::Schedules => "Update",
                    (Some(_), None, "DELETE") => "Delete",
                    _ => return None,
                };
                Some(format!("{prefix}_{op}"))
            }
            Route::Regional { what, .. } => REGIONAL.iter().find(|r| r.0 == *what).filter(|r| r.1 == m).map(|r| r.2.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/W1";

    #[test]
    fn routes_model_versions_case_insensitively() {
        let r = parse(&format!("{}/MODELS/m1/Versions/3", WS.to_ascii_uppercase())).unwrap();
        match &r {
            Route::Version { ws, kind, name, version } => {
                assert_eq!(ws.name, "W1");
                assert_eq!(kind.segment, "models");
                assert_eq!((name.as_str(), version.as_str()), ("m1", "3"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.operation_id("PUT").as_deref(), Some("ModelVersions_CreateOrUpdate"));
        assert_eq!(r.operation_id("POST"), None);
    }

    #[test]
    fn routes_lists_actions_and_unknowns() {
        assert!(matches!(parse("/subscriptions/s/providers/Microsoft.MachineLearningServices/workspaces"), Ok(Route::WorkspacesBySubscription { .. })));
        assert!(matches!(parse(&format!("{WS}/datastores/x/listSecrets")), Ok(Route::DatastoreListSecrets { .. })));
        assert!(matches!(parse(&format!("{WS}/codes/c/versions/1/startPendingUpload")), Ok(Route::StartPendingUpload { .. })));
        assert!(parse(&format!("{WS}/models/m/versions/1/startPendingUpload")).is_err());
        assert_eq!(parse(&format!("{WS}/featuresets")), Err(NoRoute::UnknownType("workspaces/featuresets".into())));
        assert_eq!(parse("/foo"), Err(NoRoute::NotFound));
        assert_eq!(parse(&format!("{WS}/data/d%20x")).unwrap(), Route::Container {
            ws: WorkspaceRef::parse(WS).unwrap(), kind: AssetKind::by_segment("data").unwrap(), name: "d x".into() });
    }

    #[test]
    fn routes_child_families_deployments_actions_and_regional_operations() {
        let r = parse(&format!("{WS}/onlineEndpoints/ep/deployments/blue")).unwrap();
        assert!(matches!(&r, Route::Child { family: ChildFamily::OnlineDeployments, parent: Some(p), name: Some(n), action: None, .. } if p == "ep" && n == "blue"));
        assert_eq!(r.operation_id("PUT").as_deref(), Some("OnlineDeployments_CreateOrUpdate"));
        assert_eq!(r.type_path(), "workspaces/onlineEndpoints/deployments");
        assert_eq!(parse(&format!("{WS}/connections/c1")).unwrap().operation_id("PUT").as_deref(), Some("WorkspaceConnections_Create"));
        assert_eq!(parse(&format!("{WS}/connections/c1/LISTSECRETS")).unwrap().operation_id("POST").as_deref(), Some("WorkspaceConnections_ListSecrets"));
        assert_eq!(parse(&format!("{WS}/computes")).unwrap().operation_id("GET").as_deref(), Some("Compute_List"));
        assert_eq!(parse(&format!("{WS}/schedules/s")).unwrap().operation_id("PATCH"), None);
        assert_eq!(parse(&format!("{WS}/batchEndpoints/b/listkeys")).unwrap().operation_id("POST").as_deref(), Some("BatchEndpoints_ListKeys"));
        assert!(parse(&format!("{WS}/schedules/s/deployments/x")).is_err());
        let u = parse("/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westus/USAGES").unwrap();
        assert_eq!(u.operation_id("GET").as_deref(), Some("Usages_List"));
        assert_eq!(u.location(), Some("westus"));
        assert!(matches!(parse("/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westus/mfeOperationsStatus/abc"), Ok(Route::Regional { what: "mfeOperationsStatus", id: Some(_), .. })));
        assert!(parse("/subscriptions/s/providers/Microsoft.MachineLearningServices/locations/westus/vmSizes/x").is_err());
    }
}
