//! Data assets in a failover: registered datasets cannot simply be copied. Pure decisions:
//! which data asset can be re-registered against a datastore both workspaces reach, and the
//! `az ml` YAML written for the ones a person has to re-register.
//!
//! A data asset's path is *shared* when its source datastore's storage (account and
//! container) is also a datastore of the target, or when the user names the pair with
//! `--shared-datastore SRC[=TGT]` (a geo-replicated account the tool cannot detect).

use super::kind::{AssetKind, Kind, Names};
use super::uri::ContentUri;
use super::AssetItem;
use crate::azureml::datastores::Datastore;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};

/// The data kind: compared by specification (its path may be anywhere), by files too when
/// `--copy-data` copies them; recorded as an `azureml://datastores/…` URI; YAML `data.yml`.
pub struct Data;

impl AssetKind for Data {
    fn kind(&self) -> Kind {
        Kind::Data
    }
    fn names(&self) -> &'static Names {
        &Names { name: "data", plural: "data", aliases: &["data"], segment: "data" }
    }
    fn location_pointer(&self) -> Option<&'static str> {
        Some("/dataUri")
    }
    fn recorded_as_datastore_uri(&self) -> bool {
        true
    }
    /// A snapshot keeps a data asset's specification only: its data may be storage the target
    /// cannot reach (re-registered by hand from the YAML restore writes).
    fn files_in_snapshot(&self) -> bool {
        false
    }
    fn files_are_copied(&self, item: &AssetItem, from: &WorkspaceRef, src_ds: &[Datastore], copy_data: bool) -> bool {
        copy_data && copyable(item, from, src_ds)
    }
    fn yaml_file(&self) -> Option<&'static str> {
        Some("data.yml")
    }
    fn schema(&self) -> Option<&'static str> {
        Some(DATA_SCHEMA)
    }
}

/// Whether `--copy-data` can copy a data asset: a uri_file, uri_folder or mltable (its MLTable
/// folder, copied like a uri_folder) on the source's storage.
pub fn copyable(item: &AssetItem, from: &WorkspaceRef, src_ds: &[Datastore]) -> bool {
    let t = item.properties.get("dataType").and_then(Value::as_str).unwrap_or("");
    matches!(t, "uri_file" | "uri_folder" | "mltable") && source_datastore(item, from, src_ds).is_some()
}

/// The path of a data asset that is on no datastore of the source workspace but at a URL
/// (https, wasbs, abfss…): the failover workspace reaches it as the primary did, so it is
/// re-registered with the same path without reading it, as `az ml data create` registers a
/// remote path. `None` for a path on a workspace datastore (see [`source_datastore`]) or an
/// `azureml://` URI.
pub fn remote_url(item: &AssetItem, from: &WorkspaceRef, src_ds: &[Datastore]) -> Option<String> {
    let loc = item.location()?;
    let remote = loc.contains("://") && !loc.starts_with("azureml:");
    (remote && source_datastore(item, from, src_ds).is_none()).then(|| loc.to_string())
}

pub const DATA_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/data.schema.json";

/// The warning every copy prints when it meets data assets.
pub const WARNING: &str = "registered datasets (data assets) are not copied like other assets: each must be re-registered in the failover workspace, pointing at data the failover workspace can reach";

/// Where a source data asset's path is, if it is on a datastore of the source workspace.
pub fn source_datastore(item: &AssetItem, src: &WorkspaceRef, src_ds: &[Datastore]) -> Option<(String, String)> {
    match ContentUri::parse(item.location()?).ok()? {
        ContentUri::Datastore { workspace, datastore, path } => {
            let mine = workspace.is_none_or(|(s, g, w)| {
                s.eq_ignore_ascii_case(&src.subscription_id) && g.eq_ignore_ascii_case(&src.resource_group) && w.eq_ignore_ascii_case(&src.workspace_name)
            });
            mine.then_some((datastore, path))
        }
        ContentUri::Blob { account, container, path } => src_ds
            .iter()
            .find(|d| d.account_name.as_deref() == Some(account.as_str()) && d.container_name.as_deref() == Some(container.as_str()))
            .map(|d| (d.name.clone(), path)),
    }
}

/// The target datastore that reaches the same data as source datastore `src_name`: named by
/// `--shared-datastore` (`mapping`: source → target), or a target datastore on the same
/// storage account and container. Returns the target datastore's name and why it is shared.
pub fn shared_target(src_name: &str, src_ds: &[Datastore], tgt_ds: &[Datastore], mapping: &[(String, String)]) -> Option<(String, String)> {
    if let Some((_, t)) = mapping.iter().find(|(s, _)| s == src_name) {
        return Some((t.clone(), format!("--shared-datastore {src_name}={t}")));
    }
    let s = src_ds.iter().find(|d| d.name == src_name)?;
    let (acct, cont) = (s.account_name.as_deref()?, s.container_name.as_deref()?);
    tgt_ds
        .iter()
        .find(|d| d.account_name.as_deref() == Some(acct) && d.container_name.as_deref() == Some(cont))
        .map(|d| (d.name.clone(), format!("datastore {} of the target uses the same storage ({acct}/{cont})", d.name)))
}

/// The `az ml` data YAML of a source data asset, with the path it had, for a person to
/// re-register (`az ml data create -f`) once the data is reachable from the failover workspace.
pub fn yaml(item: &AssetItem) -> String {
    let p = &item.properties;
    let mut y = Map::new();
    y.insert("$schema".into(), json!(DATA_SCHEMA));
    y.insert("name".into(), json!(item.name));
    y.insert("version".into(), json!(item.version));
    y.insert("type".into(), p.get("dataType").cloned().unwrap_or(json!("uri_folder")));
    y.insert("path".into(), json!(item.location().unwrap_or_default()));
    for k in ["description", "tags", "properties"] {
        if let Some(v) = p.get(k).filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty())) {
            y.insert(k.into(), v.clone());
        }
    }
    let text = serde_norway::to_string(&Value::Object(y)).unwrap_or_default();
    format!(
        "# Re-register in the failover workspace once `path` is reachable from it\n# (copy the data, or point path at a replica), then: az ml data create -f <this file>\n{text}"
    )
}

/// Whether a data YAML's `path:` is remote (a datastore URI, a URL, a `wasbs://`, `abfss://` or
/// `adl://` path, an `azureml:` reference): `az ml data create` registers such a path as it is,
/// without reading it; only a local file or folder is uploaded.
pub fn is_remote(path: &str) -> bool {
    path.contains("://") || path.starts_with("azureml:")
}

/// The workspace a long-form `azureml://subscriptions/…/workspaces/<w>/datastores/…` path names,
/// when it is not `ws`: a data asset registered in the failover workspace that still points at
/// the primary's datastore would fail with the primary, so `data register` refuses it.
pub fn other_workspace(path: &str, ws: &WorkspaceRef) -> Option<String> {
    match ContentUri::parse(path).ok()? {
        ContentUri::Datastore { workspace: Some((s, g, w)), .. }
            if !(s.eq_ignore_ascii_case(&ws.subscription_id) && g.eq_ignore_ascii_case(&ws.resource_group) && w.eq_ignore_ascii_case(&ws.workspace_name)) =>
        {
            Some(w)
        }
        _ => None,
    }
}

/// The https form of a `wasb[s]://<container>@<account>.blob.<suffix>/<path>` URI, which
/// [`ContentUri`] reads; `None` for any other path.
pub fn wasbs_as_https(path: &str) -> Option<String> {
    let rest = path.strip_prefix("wasbs://").or_else(|| path.strip_prefix("wasb://"))?;
    let (authority, blob) = rest.split_once('/').unwrap_or((rest, ""));
    let (container, host) = authority.split_once('@')?;
    (!container.is_empty() && host.contains(".blob.")).then(|| format!("https://{host}/{container}/{blob}"))
}

/// `data register --check-paths`: reads what a remote `path:` names through the workspace's
/// datastores and returns how many files are there. A `uri_file` must name one file, a
/// `uri_folder` (or `mltable`) a folder holding files. The error says why the path could not be
/// read; without `--check-paths` the path is registered as given, as `az ml data create` does.
pub async fn check_remote(
    name: &str,
    version: &str,
    data_type: &str,
    path: &str,
    ds: &crate::storage::datastore::Datastores,
) -> crate::error::Result<usize> {
    let readable = wasbs_as_https(path).unwrap_or_else(|| path.to_string());
    ContentUri::parse(&readable).map_err(|_| {
        crate::error::Error::Usage(format!(
            "--check-paths can read azureml://…/datastores/<name>/paths/… and blob (https, wasbs) paths, not '{}'; register without --check-paths to accept it as az ml does",
            crate::redact::url_str(path)
        ))
    })?;
    let mut probe = AssetItem {
        kind: super::Kind::Data,
        name: name.to_string(),
        version: version.to_string(),
        properties: json!({"dataUri": readable}),
        container: Default::default(),
        content: None,
    };
    super::resolve_content(&mut probe, ds).await?;
    let content = probe.content.expect("resolve_content sets the content");
    match (data_type, content.single_file) {
        ("uri_file", false) => Err(crate::error::Error::Usage(format!(
            "type uri_file but {} is a folder ({} files): use type uri_folder",
            crate::redact::url_str(path),
            content.files.len()
        ))),
        _ => Ok(content.files.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::Kind;

    #[test]
    fn remote_paths_are_the_ones_az_ml_does_not_read() {
        for p in [
            "azureml://datastores/workspaceblobstore/paths/data/iris.csv",
            "azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/d/paths/p/",
            "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv",
            "wasbs://datasets@azuremlexamples.blob.core.windows.net/iris.csv",
            "abfss://fs@acct.dfs.core.windows.net/folder",
        ] {
            assert!(is_remote(p), "{p}");
        }
        for p in ["./data", "data/iris.csv", "/abs/folder", "C:/x"] {
            assert!(!is_remote(p), "{p}");
        }
    }

    #[test]
    fn a_long_form_path_of_another_workspace_is_named() {
        let ws = WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "failover".into() };
        let of = |p: &str| other_workspace(p, &ws);
        assert_eq!(of("azureml://subscriptions/s/resourcegroups/g/workspaces/primary/datastores/d/paths/x").as_deref(), Some("primary"));
        assert_eq!(of("azureml://subscriptions/S/resourceGroups/G/workspaces/Failover/datastores/d/paths/x"), None);
        assert_eq!(of("azureml://datastores/d/paths/x"), None);
        assert_eq!(of("https://a.blob.core.windows.net/c/x"), None);
    }

    #[test]
    fn wasbs_reads_as_its_https_blob_url() {
        assert_eq!(
            wasbs_as_https("wasbs://datasets@azuremlexamples.blob.core.windows.net/titanic/titanic.csv").as_deref(),
            Some("https://azuremlexamples.blob.core.windows.net/datasets/titanic/titanic.csv")
        );
        assert_eq!(wasbs_as_https("wasb://c@a.blob.core.windows.net").as_deref(), Some("https://a.blob.core.windows.net/c/"));
        assert_eq!(wasbs_as_https("https://a.blob.core.windows.net/c/x"), None);
        assert_eq!(wasbs_as_https("wasbs://a.blob.core.windows.net/x"), None);
    }

    fn ds(name: &str, acct: &str, cont: &str) -> Datastore {
        Datastore {
            name: name.into(),
            datastore_type: "AzureBlob".into(),
            account_name: Some(acct.into()),
            container_name: Some(cont.into()),
            file_share_name: None,
            endpoint: None,
            is_default: false,
            credentials_type: None,
        }
    }

    fn data(uri: &str) -> AssetItem {
        AssetItem {
            kind: Kind::Data,
            name: "titanic".into(),
            version: "1".into(),
            properties: json!({"dataType": "uri_file", "dataUri": uri, "description": "d", "tags": {}}),
            container: Default::default(),
            content: None,
        }
    }

    #[test]
    fn shared_by_flag_or_by_same_storage() {
        let src = [ds("workspaceblobstore", "acct1", "c1"), ds("lake", "shared", "raw")];
        let tgt = [ds("workspaceblobstore", "acct2", "c2"), ds("lake2", "shared", "raw")];
        assert_eq!(shared_target("lake", &src, &tgt, &[]).unwrap().0, "lake2");
        assert_eq!(shared_target("workspaceblobstore", &src, &tgt, &[]), None);
        let m = [("workspaceblobstore".to_string(), "replica".to_string())];
        assert_eq!(shared_target("workspaceblobstore", &src, &tgt, &m).unwrap().0, "replica");
    }

    #[test]
    fn finds_the_source_datastore_of_a_path() {
        let ws = WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "w".into() };
        let src = [ds("workspaceblobstore", "acct1", "c1")];
        let a = data("azureml://subscriptions/s/resourcegroups/g/workspaces/w/datastores/workspaceblobstore/paths/LocalUpload/x/titanic.csv");
        assert_eq!(source_datastore(&a, &ws, &src), Some(("workspaceblobstore".into(), "LocalUpload/x/titanic.csv".into())));
        assert_eq!(source_datastore(&data("https://acct1.blob.core.windows.net/c1/a/b.csv"), &ws, &src).unwrap().1, "a/b.csv");
        assert_eq!(source_datastore(&data("https://public.blob.core.windows.net/datasets/iris.csv"), &ws, &src), None);
        assert_eq!(source_datastore(&data("azureml://subscriptions/s/resourcegroups/g/workspaces/other/datastores/d/paths/p"), &ws, &src), None);
    }

    #[test]
    fn yaml_keeps_the_path_it_had() {
        let uri = "https://public.blob.core.windows.net/datasets/iris.csv";
        let y = yaml(&data(uri));
        let v: Value = serde_norway::from_str(&y).unwrap();
        assert_eq!(v["path"], uri);
        assert_eq!(v["type"], "uri_file");
        assert_eq!((v["name"].as_str(), v["version"].as_str()), (Some("titanic"), Some("1")));
        assert!(v.get("tags").is_none());
    }
}
