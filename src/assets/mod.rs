//! Asset kinds: how each lists itself, where its files are, and how its version is written
//! in another workspace. One place per kind for what differs ([`kind`]: the `AssetKind` trait
//! and its table; one module per kind: [`model`], [`environment`], [`code`], [`component`],
//! [`data`], [`pipeline`]); the stages around it (listing versions, finding content,
//! registering) are shared and live here.

pub mod code;
pub mod component;
pub mod compute;
pub mod connection;
pub mod data;
pub mod datastore;
pub mod definition;
pub mod definition_arm;
pub mod endpoint;
pub mod environment;
pub mod graph;
pub mod job;
pub mod kind;
pub mod local;
pub mod model;
pub mod options;
pub mod pipeline;
pub mod refs;
pub mod schedule;
pub mod spec;
pub mod uri;
pub mod yaml;

use crate::azureml::{workspace_path, ArmClient};
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::storage::{ObjectMeta, Store, StorePath};
use crate::workspace::WorkspaceRef;
use serde_json::{Map, Value};
use std::sync::Arc;
use uri::ContentUri;

pub use kind::{AssetKind, Kind};

/// One file of an asset's content.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Path relative to the content root (for a single-file model: the file name).
    pub rel: String,
    pub meta: ObjectMeta,
}

/// Where an asset version's files are.
#[derive(Clone)]
pub struct Content {
    /// The URI as the asset records it.
    pub uri: String,
    pub store: Arc<dyn Store>,
    /// Folder prefix in the store; for a single file, its parent folder.
    pub base: String,
    /// The content is one file (a model `path:` to a file), not a folder.
    pub single_file: bool,
    pub files: Vec<FileEntry>,
}

/// An asset version as read from a workspace.
#[derive(Clone)]
pub struct AssetItem {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// The version's `properties` as the service returned them.
    pub properties: Value,
    /// The container's `properties` (description, tags), shared by all its versions: a
    /// container with many versions is held once, not once per version.
    pub container: Arc<Value>,
    pub content: Option<Content>,
}

impl AssetItem {
    pub fn key(&self) -> (Kind, String, String) {
        (self.kind, self.name.clone(), self.version.clone())
    }

    pub fn location(&self) -> Option<&str> {
        self.properties.pointer(self.kind.location_pointer()?).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    /// The version's properties as written to another workspace: read-only and
    /// service-managed fields dropped, nulls dropped, content location removed (the caller
    /// sets the new one).
    pub fn portable_properties(&self) -> Value {
        let mut p = strip_nulls(self.properties.clone());
        if let Value::Object(m) = &mut p {
            for ro in self.kind.spec().read_only_fields() {
                m.remove(*ro);
            }
        }
        if let Some(ptr) = self.kind.location_pointer() {
            remove_pointer(&mut p, ptr);
        }
        p
    }

    /// Properties for the target with the content at `uri`.
    pub fn properties_with_location(&self, uri: Option<&str>) -> Value {
        let mut p = self.portable_properties();
        if let (Some(u), Some(ptr)) = (uri, self.kind.location_pointer()) {
            set_pointer(&mut p, ptr, Value::String(u.to_string()));
        }
        p
    }

    pub fn total_bytes(&self) -> u64 {
        self.content.as_ref().map(|c| c.files.iter().map(|f| f.meta.size).sum()).unwrap_or(0)
    }
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, strip_nulls(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

fn remove_pointer(v: &mut Value, pointer: &str) {
    let (parent, last) = pointer.rsplit_once('/').expect("pointer");
    let target = if parent.is_empty() { Some(v) } else { v.pointer_mut(parent) };
    if let Some(Value::Object(m)) = target {
        m.remove(last);
    }
}

pub(crate) fn set_pointer(v: &mut Value, pointer: &str, new: Value) {
    let mut cur = v;
    let parts: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let m = cur.as_object_mut().expect("object");
        if i == parts.len() - 1 {
            m.insert(part.to_string(), new);
            return;
        }
        cur = m.entry(part.to_string()).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// A `--name` pattern: `*` any run of characters, `?` one character, everything else literal,
/// case-sensitive like asset names (`None`: every name). Compiled once with `globset`; the
/// glob's other syntax (`[...]`, `{a,b}`, a backslash) is escaped, so a name with such characters is
/// matched as written.
pub struct NamePattern(Option<globset::GlobMatcher>);

impl NamePattern {
    pub fn new(pattern: Option<&str>) -> NamePattern {
        NamePattern(pattern.map(|p| {
            let mut glob = String::with_capacity(p.len());
            for c in p.chars() {
                match c {
                    // A run of `*` is one `*` (globset gives `**` a path meaning).
                    '*' if glob.ends_with('*') => {}
                    '*' | '?' => glob.push(c),
                    c => glob.push_str(&globset::escape(c.encode_utf8(&mut [0; 4]))),
                }
            }
            globset::GlobBuilder::new(&glob)
                .literal_separator(false)
                .backslash_escape(false)
                .build()
                .expect("a glob of literals, `*` and `?` always compiles")
                .compile_matcher()
        }))
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.as_ref().is_none_or(|g| g.is_match(name))
    }
}

/// Whether `name` matches the `--name` pattern `pattern` (see [`NamePattern`]).
pub fn name_matches(pattern: &str, name: &str) -> bool {
    NamePattern::new(Some(pattern)).matches(name)
}

/// Which versions to take.
#[derive(Debug, Clone)]
pub struct Selection {
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    pub latest_only: bool,
}

/// Lists the selected asset versions of a workspace (without their files).
pub async fn list_versions(arm: &ArmClient, ws: &WorkspaceRef, sel: &Selection) -> Result<Vec<AssetItem>> {
    let base = workspace_path(ws);
    let mut out = Vec::new();
    let pattern = NamePattern::new(sel.name.as_deref());
    for &kind in sel.kinds.iter().filter(|k| k.is_versioned()) {
        let containers = arm.list(&format!("{base}/{}", kind.segment())).await?;
        let wanted: Vec<&Value> = containers
            .iter()
            .filter(|c| {
                let n = c.get("name").and_then(Value::as_str).unwrap_or("");
                pattern.matches(n)
            })
            .collect();
        let futs = wanted.iter().map(|c| {
            let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let cprops = Arc::new(c.get("properties").cloned().unwrap_or(Value::Null));
            let path = format!("{base}/{}/{}/versions", kind.segment(), enc(&name));
            async move {
                // Turned into items as each list arrives, the documents' parts moved, not copied.
                let versions = arm.list(&path).await?;
                Ok::<_, Error>(container_versions(kind, name, cprops, versions, sel.latest_only))
            }
        });
        // A bounded number of version lists at once: a workspace may hold thousands of assets.
        use futures::{StreamExt, TryStreamExt};
        let listed: Vec<Vec<AssetItem>> = futures::stream::iter(futs).buffered(16).try_collect().await?;
        out.extend(listed.into_iter().flatten());
    }
    Ok(out)
}

/// The items of one container's versions (as its version list returned them), in version
/// order; only the latest when `latest_only`. Every item shares `container`.
fn container_versions(kind: Kind, name: String, container: Arc<Value>, versions: Vec<Value>, latest_only: bool) -> Vec<AssetItem> {
    let mut items: Vec<AssetItem> = versions
        .into_iter()
        .map(|v| {
            let (version, properties) = match v {
                Value::Object(mut m) => (m.remove("name"), m.remove("properties")),
                _ => (None, None),
            };
            AssetItem {
                kind,
                name: name.clone(),
                version: version.as_ref().and_then(Value::as_str).unwrap_or("").to_string(),
                properties: properties.unwrap_or(Value::Null),
                container: Arc::clone(&container),
                content: None,
            }
        })
        .collect();
    items.sort_by(|a, b| version_order(&a.version, &b.version));
    if latest_only {
        let latest = container.get("latestVersion").and_then(Value::as_str).map(str::to_string);
        let keep = latest.or_else(|| items.last().map(|i| i.version.clone()));
        items.retain(|i| Some(&i.version) == keep.as_ref());
    }
    items
}

/// Numeric versions in numeric order, others after them by text.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    }
}

pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// Registers `item` in `ws` as `version`: creates the container if it is missing (with the
/// source container's description, tags and properties), deletes an existing version first
/// when `replace`, then PUTs the version with its content at `location`.
pub async fn register(
    arm: &ArmClient,
    ws: &WorkspaceRef,
    item: &AssetItem,
    version: &str,
    replace: bool,
    location: Option<&str>,
) -> Result<()> {
    let props = item.properties_with_location(location);
    register_props(arm, ws, item.kind, &item.name, &item.container, version, replace, &props).await
}

/// Registers version `version` of `name` (kind `kind`) with the version properties `props`;
/// the container is created from `container` (description, tags, properties) when missing.
#[allow(clippy::too_many_arguments)]
pub async fn register_props(
    arm: &ArmClient,
    ws: &WorkspaceRef,
    kind: Kind,
    name: &str,
    container: &Value,
    version: &str,
    replace: bool,
    props: &Value,
) -> Result<()> {
    let base = format!("{}/{}/{}", workspace_path(ws), kind.segment(), enc(name));
    match arm.get(&base).await {
        Ok(_) => {}
        Err(Error::NotFound(_)) => {
            let mut cprops = Map::new();
            for k in ["description", "tags", "properties"] {
                if let Some(v) = container.get(k).filter(|v| !v.is_null()) {
                    cprops.insert(k.to_string(), v.clone());
                }
            }
            arm.put(&base, &serde_json::json!({ "properties": cprops })).await?;
        }
        Err(e) => return Err(e),
    }
    let vpath = format!("{base}/versions/{}", enc(version));
    if replace {
        arm.delete(&vpath).await?;
    }
    arm.put(&vpath, &serde_json::json!({ "properties": props })).await?;
    Ok(())
}

/// The store (container) and object path of an item's content, `None` for an item without
/// files (image-only environments).
async fn locate(item: &AssetItem, ds: &Datastores) -> Result<Option<(Arc<crate::storage::blob::BlobStore>, String, String)>> {
    let Some(loc) = item.location().map(str::to_string) else {
        return Ok(None);
    };
    let parsed = ContentUri::parse(&loc)?;
    let (store, path) = match &parsed {
        ContentUri::Datastore { workspace, datastore, path } => {
            if let Some((s, g, w)) = workspace {
                let me = ds.workspace();
                if !(s.eq_ignore_ascii_case(&me.subscription_id)
                    && g.eq_ignore_ascii_case(&me.resource_group)
                    && w.eq_ignore_ascii_case(&me.workspace_name))
                {
                    return Err(Error::Service(format!(
                        "{} {}:{} keeps its files in another workspace ({s}/{g}/{w}); copy from that workspace",
                        item.kind, item.name, item.version
                    )));
                }
            }
            (ds.open(datastore).await?, path.clone())
        }
        ContentUri::Blob { account, container, path } => (ds.open_container(account, container).await?, path.clone()),
    };
    Ok(Some((store, path, loc)))
}

/// Planning by listing: indexes the contents of `items` in their datastores' containers with
/// one flat listing each ([`Datastores::index`]), so that [`resolve_content`] answers them
/// from memory instead of a listing or HEAD per item. An item whose location cannot be read is
/// left to [`resolve_content`] to report.
pub async fn index_contents<'a>(items: impl IntoIterator<Item = &'a AssetItem>, ds: &Datastores) {
    let mut wanted = Vec::new();
    for item in items {
        if let Ok(Some((store, path, _))) = locate(item, ds).await {
            if !path.is_empty() {
                wanted.push((store, path));
            }
        }
    }
    if !wanted.is_empty() {
        ds.index(wanted).await;
    }
}

/// Finds the files of an item's content (none for image-only environments): from the listing
/// index where one covers it ([`index_contents`]), else with a request or two.
pub async fn resolve_content(item: &mut AssetItem, ds: &Datastores) -> Result<()> {
    let Some((blob_store, path, loc)) = locate(item, ds).await? else {
        return Ok(());
    };
    let index = ds.indexed(&blob_store, &path);
    let store: Arc<dyn Store> = blob_store;
    // A file if a blob has exactly this name; otherwise a folder. From the index when it covers
    // the path (no request). Otherwise one request where the name
    // allows: a name with an extension (`model.pkl`) is most likely a file, so it is asked with
    // HEAD (then listed as a folder if there is no such blob); any other name (`model`,
    // `outputs/`) is listed once with the path itself as prefix, which finds both a blob of
    // exactly that name and the blobs under `path/` (siblings sharing the prefix are dropped).
    // (`scripts/bench/plan.sh`, 10,000 versions, half of them folders: 14,949 storage requests
    // instead of 22,449 with a HEAD before every listing.)
    let (exact, listed) = if path.is_empty() {
        (None, None)
    } else if let Some(index) = index {
        match index.get(&path) {
            Some(m) => (Some(m), None),
            None => (None, Some(index.folder(&path))),
        }
    } else {
        let sp = StorePath::parse(&path)?;
        let leaf = path.rsplit('/').next().unwrap_or_default();
        let file_like = !loc.ends_with('/') && leaf.rfind('.').is_some_and(|i| i > 0 && i + 1 < leaf.len());
        if file_like {
            (store.head(&sp).await?, None)
        } else {
            let listed = store.list(&path).await?;
            match listed.iter().find(|m| m.path == sp) {
                Some(m) => (Some(m.clone()), None),
                None => (None, Some(listed)),
            }
        }
    };
    let content = match exact {
        Some(meta) => {
            let (base, file) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            Content {
                uri: loc,
                store,
                base: base.to_string(),
                single_file: true,
                files: vec![FileEntry { rel: file.to_string(), meta }],
            }
        }
        None => {
            let listed = match listed {
                Some(l) => l,
                None => store.list(&crate::storage::folder_prefix(&path)).await?,
            };
            let files: Vec<FileEntry> = listed
                .into_iter()
                .filter_map(|m| m.path.strip_prefix(&path).map(|r| FileEntry { rel: r.to_string(), meta: m.clone() }))
                .collect();
            if files.is_empty() {
                return Err(Error::Service(format!(
                    "{} {}:{}: no files at {}",
                    item.kind,
                    item.name,
                    item.version,
                    crate::redact::url_str(&loc)
                )));
            }
            Content { uri: loc, store, base: path.clone(), single_file: false, files }
        }
    };
    item.content = Some(content);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wildcards() {
        assert!(name_matches("*", "anything"));
        assert!(name_matches("diab*", "diabetes-model"));
        assert!(name_matches("m?del", "model"));
        assert!(!name_matches("diab*", "xdiab"));
        assert!(name_matches("exact", "exact"));
        assert!(!name_matches("exact", "exactly") && !name_matches("m?del", "mdel"));
        assert!(name_matches("a**b", "a/x/b") && name_matches("*", ""), "a run of * is one *, which also matches / and nothing");
        // Only * and ? are wildcards: glob syntax in a name is matched as written.
        assert!(name_matches("m[1]-{a,b}\\x", "m[1]-{a,b}\\x") && !name_matches("m[12]", "m1") && !name_matches("{a,b}", "a"));
        assert!(!name_matches("Model", "model"), "case-sensitive");
        assert!(NamePattern::new(None).matches("anything"));
    }

    #[test]
    fn versions_sort_numerically() {
        let mut v = vec!["10", "2", "1", "beta"];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(v, ["1", "2", "10", "beta"]);
    }

    #[test]
    fn a_containers_versions_share_its_properties_and_keep_their_own() {
        let container = Arc::new(json!({"description": "d", "latestVersion": "10"}));
        let versions = vec![
            json!({"name": "10", "properties": {"modelUri": "b"}}),
            json!({"name": "2", "properties": {"modelUri": "a"}}),
            json!({"name": "beta", "id": "x"}),
        ];
        let items = container_versions(Kind::Model, "m".into(), Arc::clone(&container), versions.clone(), false);
        let got: Vec<(&str, &Value)> = items.iter().map(|i| (i.version.as_str(), &i.properties)).collect();
        assert_eq!(got, [("2", &json!({"modelUri": "a"})), ("10", &json!({"modelUri": "b"})), ("beta", &Value::Null)]);
        // One copy of the container's properties, however many versions.
        assert!(items.iter().all(|i| Arc::ptr_eq(&i.container, &container)));
        assert_eq!(Arc::strong_count(&container), 4);
        let latest = container_versions(Kind::Model, "m".into(), container, versions, true);
        assert_eq!(latest.iter().map(|i| i.version.as_str()).collect::<Vec<_>>(), ["10"]);
    }

    #[test]
    fn portable_properties_drop_read_only_fields_and_location() {
        let item = AssetItem {
            kind: Kind::Environment,
            name: "e".into(),
            version: "1".into(),
            properties: json!({"image": "img", "build": {"contextUri": "https://a.blob.x/c/p", "dockerfilePath": "Dockerfile"},
                "provisioningState": "Succeeded", "environmentType": "UserCreated", "description": null, "tags": {"a": "b"}}),
            container: Default::default(),
            content: None,
        };
        let p = item.portable_properties();
        assert_eq!(p, json!({"image": "img", "build": {"dockerfilePath": "Dockerfile"}, "tags": {"a": "b"}}));
        let q = item.properties_with_location(Some("https://t.blob.x/c/q"));
        assert_eq!(q["build"]["contextUri"], "https://t.blob.x/c/q");
        assert_eq!(q["build"]["dockerfilePath"], "Dockerfile");
    }
}
