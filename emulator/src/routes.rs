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
            | Route::JobCancel { ws, .. } => Some(ws),
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
        assert_eq!(parse(&format!("{WS}/computes")), Err(NoRoute::UnknownType("workspaces/computes".into())));
        assert_eq!(parse("/foo"), Err(NoRoute::NotFound));
        assert_eq!(parse(&format!("{WS}/data/d%20x")).unwrap(), Route::Container {
            ws: WorkspaceRef::parse(WS).unwrap(), kind: AssetKind::by_segment("data").unwrap(), name: "d x".into() });
    }
}
