//! Snapshot bundles: a self-contained, content-addressed copy of a workspace's assets, kept in
//! any [`Store`] (a local directory or a blob container, under an optional folder).
//!
//! Layout under the bundle root:
//!
//! ```text
//! objects/sha256/<aa>/<sha256>          file bodies, named by the sha256 of their bytes
//! snapshots/<id>/manifest.json          one per export: every asset and its files
//! ```
//!
//! `<id>` is the export's UTC time, `YYYYMMDDTHHMMSS.mmmZ`, so ids sort by age. A manifest
//! lists every asset version exported: kind, name, version, the container's and the version's
//! REST `properties`, its `az ml` YAML text, and its files (path relative to the content
//! root, size, sha256, and the source version they were read from). An object is stored once
//! whatever the number of assets and snapshots that hold the same bytes.
//!
//! Models, environments and code (the assets with files) are listed under `assets`, as every
//! manifest has; components, pipeline jobs (kept as their definition: a pipeline component
//! plus the job's properties) and data assets (specification only, their data is never in the
//! bundle) under `specAssets`, their kinds under `specKinds`. Both are optional additions to
//! schemaVersion 1: a reader that only knows `assets` (an earlier release of this tool) restores
//! what it understands and never registers a component with its references unrewritten, nor a
//! data asset pointing at the source's storage. In memory [`Manifest::assets`] holds all of them.
//!
//! Crash safety: objects are written (and verified) before the manifest that names them, and
//! the manifest is published atomically (local: rename; blob: Put Block List), so a listed
//! snapshot never points at a missing object. Pruning deletes manifests first, then the
//! objects no remaining manifest names.

use crate::storage::{FinishInfo, Hold, Store, StorePath};
use crate::assets::Kind;
use crate::error::{Error, Result};
use bytes::Bytes;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// `schemaVersion` of the manifest (schema: `docs/schemas/bundle-manifest.v1.schema.json`,
/// generated from [`Manifest`] by [`crate::wire`]).
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;
/// Whether a snapshot keeps a kind's files (its versions are kept under `assets` in the file,
/// the rest under `specAssets`): what the kind's module says ([`crate::assets::kind::AssetKind::files_in_snapshot`]).
pub fn is_file_kind(kind: Kind) -> bool {
    kind.spec().files_in_snapshot()
}

/// The kinds a snapshot keeps with their files, in dependency order (environment, code, model).
pub fn file_kinds() -> impl Iterator<Item = Kind> {
    Kind::ALL.iter().copied().filter(|k| is_file_kind(*k))
}
const OBJECTS: &str = "objects/sha256";
const SNAPSHOTS: &str = "snapshots";
const MANIFEST: &str = "manifest.json";

/// One file of an asset in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct BundleFile {
    /// path relative to the asset's content root (a single-file model: the file name)
    pub path: String,
    pub size: u64,
    /// sha256 of the bytes, lowercase hex
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// hash of the source URI + its ETag: an unchanged source file is not read again by the next export
    // (`super::source_tag` of the source object this was read from.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_tag: Option<String>,
}

/// An asset's files in a snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct BundleContent {
    /// the content is one file (a model `path:` to a file), not a folder
    pub single_file: bool,
    /// the folder's own name (restored as `LocalUpload/<fingerprint>/<leaf>/...`)
    pub leaf: String,
    pub files: Vec<BundleFile>,
}

/// The pipeline job a definition component was made from.
// (`pipeline::portable_job`; a restore rewrites the references, then builds the definition.)
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct BundleJob {
    /// the job's name in the source workspace
    pub name: String,
    #[schemars(extend("type" = "object"))]
    pub properties: Value,
}

/// an asset version in the snapshot
// (Its schema in a manifest: `asset_list_schema`, one per list.)
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct BundleAsset {
    #[serde(deserialize_with = "de_kind")]
    #[schemars(with = "String")]
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// the version's REST properties as the source returned them (a definition: the component's properties, references as in the source)
    #[schemars(extend("type" = "object"))]
    pub properties: Value,
    /// the container's REST properties (description, tags); null when unknown
    #[serde(default)]
    #[schemars(extend("type" = ["object", "null"]))]
    pub container: Value,
    /// az ml v2 YAML of the version (its content path named by `content.leaf`); a component's: its specification; a data asset's: to re-register it, with the path it had
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<BundleContent>,
    /// a pipeline job kept as its definition (this asset: the component `copy` would register): the job's name and REST properties (run state dropped, references as in the source)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<BundleJob>,
    /// ARM id of the workspace it was exported from: the manifest's `source` (not stored per
    /// asset), what its references are rewritten from.
    #[serde(skip)]
    pub source: String,
}

/// a definition of the source's estate (datastore, connection, compute, endpoint, deployment, schedule): what `copy` reads from the source, never a secret
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct BundleDefinition {
    pub kind: crate::assets::definition::DefKind,
    pub name: String,
    /// the endpoint a deployment belongs to
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// the REST resource as the source returned it (properties, identity, sku, kind, tags), references as in the source, every secret field as a placeholder
    #[schemars(extend("type" = "object"))]
    pub resource: Value,
    /// its az ml YAML (references as in the source, secrets as placeholders)
    pub yaml: String,
}

impl BundleDefinition {
    /// What a snapshot keeps of `def` (read from `from`): its body with every secret field as a
    /// placeholder, and its `az ml` YAML.
    pub fn of(def: &crate::assets::definition::Definition, from: &crate::workspace::WorkspaceRef) -> Result<BundleDefinition> {
        use crate::assets::definition::{redacted, Definition};
        let mut resource = redacted(def.kind, &def.body());
        resource["name"] = json!(def.name);
        let safe = Definition { resource: resource.clone(), ..def.clone() };
        let yaml = serde_norway::to_string(&crate::estate::yaml_of(&safe, Some(from))).map_err(|e| Error::Internal(format!("YAML of {} {}: {e}", def.kind, def.name)))?;
        Ok(BundleDefinition { kind: def.kind, name: def.name.clone(), endpoint: def.endpoint.clone(), resource, yaml })
    }

    /// The definition `snapshot restore` writes (as `copy` writes one read from the source).
    pub fn definition(&self) -> crate::assets::definition::Definition {
        let mut resource = self.resource.clone();
        resource["name"] = json!(self.name);
        crate::assets::definition::Definition::new(self.kind, self.endpoint.as_deref(), resource)
    }
}

impl BundleAsset {
    /// The kind `--kinds` selects it by: a pipeline job's definition is a pipeline.
    pub fn selected_kind(&self) -> Kind {
        if self.job.is_some() {
            Kind::Job
        } else {
            self.kind
        }
    }

    fn in_assets(&self) -> bool {
        is_file_kind(self.kind) && self.job.is_none()
    }
}

/// `snapshots/<id>/manifest.json` (written as [`ManifestFile`]).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(from = "ManifestFile", into = "ManifestFile")]
pub struct Manifest {
    pub schema_version: u32,
    pub id: String,
    /// RFC 3339 UTC time of the export.
    pub created_at: String,
    /// ARM id of the exported workspace.
    pub source: String,
    /// The kinds the export selected (every kind, whatever part of the file it is kept in).
    pub kinds: Vec<Kind>,
    /// Every asset version (every kind, `source` set).
    pub assets: Vec<BundleAsset>,
    /// The source's estate definitions (`definitions` in the file; absent in bundles written before).
    pub definitions: Vec<BundleDefinition>,
}

/// The manifest as stored: models, environments and code under `kinds`/`assets` (what every
/// reader of schemaVersion 1 restores), the other kinds under `specKinds`/`specAssets`.
#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
struct ManifestFile {
    #[schemars(schema_with = "manifest_version")]
    schema_version: u32,
    /// snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)
    #[schemars(regex(pattern = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$"))]
    id: String,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    created_at: String,
    /// ARM id of the exported workspace
    source: String,
    #[serde(deserialize_with = "de_kinds")]
    #[schemars(schema_with = "file_kinds_schema")]
    kinds: Vec<Kind>,
    #[schemars(schema_with = "file_assets_schema")]
    assets: Vec<BundleAsset>,
    /// the kinds selected besides models, environments and code
    #[serde(default, deserialize_with = "de_kinds", skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "spec_kinds_schema")]
    spec_kinds: Vec<Kind>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "spec_assets_schema")]
    spec_assets: Vec<BundleAsset>,
    /// the source's datastores, connections, computes, endpoints with their deployments, and schedules (never a secret); `snapshot restore` creates them in the target
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    definitions: Vec<BundleDefinition>,
}

fn manifest_version(_: &mut SchemaGenerator) -> Schema {
    crate::wire::version_schema(MANIFEST_SCHEMA_VERSION)
}

fn kind_names(kinds: impl Iterator<Item = Kind>) -> Vec<Value> {
    kinds.map(|k| serde_json::to_value(k).expect("a kind serializes")).collect()
}

/// The kinds kept under `specAssets`: every kind but the [`file_kinds`].
fn spec_kinds() -> impl Iterator<Item = Kind> {
    Kind::ALL.iter().copied().filter(|k| !is_file_kind(*k))
}

fn file_kinds_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "array", "items": {"enum": kind_names(file_kinds())}})
}

fn spec_kinds_schema(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "array", "items": {"enum": kind_names(spec_kinds())}})
}

/// `assets`: models, environments and code, with their files.
fn file_assets_schema(g: &mut SchemaGenerator) -> Schema {
    asset_list_schema(g, kind_names(file_kinds()), "job", None)
}

/// `specAssets`: a component, a pipeline job's definition (a component with `job`) or a data
/// asset; never files.
fn spec_assets_schema(g: &mut SchemaGenerator) -> Schema {
    let kinds = kind_names(spec_kinds().filter(|k| *k != Kind::Job));
    asset_list_schema(g, kinds, "content", Some("a component; a pipeline job kept as its definition (the pipeline component copy registers, named after the job, version 1; `job` holds the job); or a data asset (specification and YAML only, its data is never in the bundle). No files."))
}

/// An array of [`BundleAsset`] of these kinds, without the property `absent`.
fn asset_list_schema(g: &mut SchemaGenerator, kinds: Vec<Value>, absent: &str, description: Option<&str>) -> Schema {
    let mut item = BundleAsset::json_schema(g).to_value();
    item["properties"]["kind"] = json!({"enum": kinds});
    item["properties"].as_object_mut().expect("an object's properties").remove(absent);
    if let Some(d) = description {
        item["description"] = json!(d);
    }
    schemars::json_schema!({"type": "array", "items": item})
}

impl From<ManifestFile> for Manifest {
    fn from(f: ManifestFile) -> Manifest {
        let mut kinds = f.kinds;
        for k in f.spec_kinds {
            if !kinds.contains(&k) {
                kinds.push(k);
            }
        }
        let mut assets = f.assets;
        assets.extend(f.spec_assets);
        for a in &mut assets {
            a.source = f.source.clone();
        }
        Manifest { schema_version: f.schema_version, id: f.id, created_at: f.created_at, source: f.source, kinds, assets, definitions: f.definitions }
    }
}

impl From<Manifest> for ManifestFile {
    fn from(m: Manifest) -> ManifestFile {
        let (kinds, spec_kinds) = m.kinds.into_iter().partition(|k| is_file_kind(*k));
        let (assets, spec_assets) = m.assets.into_iter().partition(BundleAsset::in_assets);
        ManifestFile { schema_version: m.schema_version, id: m.id, created_at: m.created_at, source: m.source, kinds, assets, spec_kinds, spec_assets, definitions: m.definitions }
    }
}

fn kind_of(s: &str) -> Option<Kind> {
    // Bundles written before jobs of every type were a kind name them `pipeline`.
    if s == "pipeline" {
        return Some(Kind::Job);
    }
    Kind::ALL.iter().copied().find(|k| serde_json::to_value(k).ok().and_then(|v| v.as_str().map(|t| t == s)).unwrap_or(false))
}

fn de_kind<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Kind, D::Error> {
    let s = String::deserialize(d)?;
    kind_of(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown asset kind '{s}'")))
}

fn de_kinds<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<Kind>, D::Error> {
    let v = Vec::<String>::deserialize(d)?;
    v.iter().map(|s| kind_of(s).ok_or_else(|| serde::de::Error::custom(format!("unknown asset kind '{s}'")))).collect()
}

impl Manifest {
    /// Every sha256 the snapshot references.
    pub fn objects(&self) -> BTreeSet<String> {
        self.assets.iter().filter_map(|a| a.content.as_ref()).flat_map(|c| c.files.iter().map(|f| f.sha256.clone())).collect()
    }
}

/// A bundle: a store and the folder inside it that holds `objects/` and `snapshots/`.
#[derive(Clone)]
pub struct Bundle {
    pub store: Arc<dyn Store>,
    root: String,
}

impl Bundle {
    pub fn new(store: Arc<dyn Store>, root: &str) -> Bundle {
        Bundle { store, root: root.trim_matches('/').to_string() }
    }

    pub fn describe(&self) -> String {
        if self.root.is_empty() {
            self.store.describe()
        } else {
            format!("{}/{}", self.store.describe().trim_end_matches('/'), self.root)
        }
    }

    fn path(&self, rel: &str) -> Result<StorePath> {
        StorePath::join(&self.root, rel)
    }

    fn folder(&self, rel: &str) -> String {
        if self.root.is_empty() {
            format!("{rel}/")
        } else {
            format!("{}/{rel}/", self.root)
        }
    }

    /// Where the object with this sha256 is kept.
    pub fn object_path(&self, sha256: &str) -> Result<StorePath> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::usage(format!("'{sha256}' is not a sha256 (64 hex digits)")));
        }
        let s = sha256.to_ascii_lowercase();
        self.path(&format!("{OBJECTS}/{}/{s}", &s[..2]))
    }

    /// Every stored object: sha256 → size.
    pub async fn objects(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let listed = self.store.list(&self.folder(OBJECTS)).await?;
        Ok(listed
            .into_iter()
            .filter_map(|m| {
                let name = m.path.as_str().rsplit('/').next()?.to_string();
                (name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit())).then_some((name, m.size))
            })
            .collect())
    }

    /// Snapshot ids, oldest first (only snapshots whose manifest was published).
    pub async fn snapshot_ids(&self) -> Result<Vec<String>> {
        let listed = self.store.list(&self.folder(SNAPSHOTS)).await?;
        let base = self.folder(SNAPSHOTS);
        let base = base.trim_start_matches('/');
        let mut ids: Vec<String> = listed
            .into_iter()
            .filter_map(|m| {
                let rel = m.path.as_str().strip_prefix(base)?;
                let (id, file) = rel.split_once('/')?;
                (file == MANIFEST).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    pub async fn read_manifest(&self, id: &str) -> Result<Manifest> {
        let p = self.path(&format!("{SNAPSHOTS}/{id}/{MANIFEST}"))?;
        let meta = self
            .store
            .head(&p)
            .await?
            .ok_or_else(|| Error::NotFound(format!("snapshot {id} does not exist in {}", self.describe())))?;
        let bytes = if meta.size == 0 { Bytes::new() } else { self.store.get_range(&p, 0, meta.size).await? };
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Usage(format!("{}: not a snapshot manifest: {e}", self.store.uri(&p))))?;
        if m.schema_version != MANIFEST_SCHEMA_VERSION {
            return Err(Error::Usage(format!(
                "{}: manifest schemaVersion {} is not supported (this tool reads {MANIFEST_SCHEMA_VERSION})",
                self.store.uri(&p),
                m.schema_version
            )));
        }
        Ok(m)
    }

    /// Publishes a manifest atomically (call after every object it names is stored).
    pub async fn write_manifest(&self, m: &Manifest) -> Result<StorePath> {
        let p = self.path(&format!("{SNAPSHOTS}/{}/{MANIFEST}", m.id))?;
        let data = serde_json::to_vec_pretty(m).map_err(|e| Error::Internal(format!("manifest: {e}")))?;
        self.put(&p, data).await?;
        Ok(p)
    }

    pub async fn manifest_exists(&self, id: &str) -> Result<bool> {
        Ok(self.store.head(&self.path(&format!("{SNAPSHOTS}/{id}/{MANIFEST}"))?).await?.is_some())
    }

    async fn put(&self, p: &StorePath, data: Vec<u8>) -> Result<()> {
        use md5::{Digest as _, Md5};
        use sha2::Sha256;
        let sha256 = hex::encode(Sha256::digest(&data));
        let md5: [u8; 16] = Md5::digest(&data).into();
        let mut w = self.store.writer(p, data.len() as u64).await?;
        if !data.is_empty() {
            w.write_block(Bytes::from(data), md5, Hold::none()).await?;
        }
        w.finish(FinishInfo { sha256, md5, source: None }).await?;
        Ok(())
    }

    /// Deletes a snapshot's manifest and anything else under its folder.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        let manifest = self.path(&format!("{SNAPSHOTS}/{id}/{MANIFEST}"))?;
        self.store.delete(&manifest).await?;
        for m in self.store.list(&self.folder(&format!("{SNAPSHOTS}/{id}"))).await? {
            self.store.delete(&m.path).await?;
        }
        Ok(())
    }

    pub async fn delete_object(&self, sha256: &str) -> Result<()> {
        self.store.delete(&self.object_path(sha256)?).await
    }
}

/// A new snapshot id for `now`: `YYYYMMDDTHHMMSS.mmmZ` (UTC), sortable by age.
pub fn snapshot_id(now: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!("[year][month][day]T[hour][minute][second].[subsecond digits:3]Z");
    now.to_offset(time::UtcOffset::UTC).format(&f).expect("formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::local::LocalStore;

    #[test]
    fn durations_and_ids() {
        let t = time::macros::datetime!(2026-11-26 12:34:56.789 UTC);
        assert_eq!(snapshot_id(t), "20261126T123456.789Z");
    }

    #[tokio::test]
    async fn manifests_round_trip_and_list_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let b = Bundle::new(Arc::new(LocalStore::new(dir.path())), "sub/folder");
        assert!(b.snapshot_ids().await.unwrap().is_empty());
        let sha = "ab".repeat(32);
        for id in ["20260102T000000.000Z", "20260101T000000.000Z"] {
            let m = Manifest {
                schema_version: MANIFEST_SCHEMA_VERSION,
                id: id.into(),
                created_at: "2026-01-01T00:00:00Z".into(),
                source: "ws".into(),
                kinds: vec![Kind::Model],
                assets: vec![BundleAsset {
                    kind: Kind::Model,
                    name: "m".into(),
                    version: "1".into(),
                    properties: serde_json::json!({"modelType": "custom_model"}),
                    container: Value::Null,
                    yaml: None,
                    content: Some(BundleContent {
                        single_file: true,
                        leaf: "m.pkl".into(),
                        files: vec![BundleFile { path: "m.pkl".into(), size: 3, sha256: sha.clone(), source_tag: None }],
                    }),
                    job: None,
                    source: String::new(),
                }],
                definitions: vec![],
            };
            b.write_manifest(&m).await.unwrap();
        }
        assert_eq!(b.snapshot_ids().await.unwrap(), ["20260101T000000.000Z", "20260102T000000.000Z"]);
        let m = b.read_manifest("20260102T000000.000Z").await.unwrap();
        assert_eq!(m.objects().into_iter().collect::<Vec<_>>(), [sha.as_str()]);
        assert!(dir.path().join("sub/folder/snapshots/20260101T000000.000Z/manifest.json").is_file());
        assert_eq!(
            b.object_path(&sha).unwrap().as_str(),
            format!("sub/folder/objects/sha256/ab/{sha}")
        );
        b.delete_snapshot("20260101T000000.000Z").await.unwrap();
        assert_eq!(b.snapshot_ids().await.unwrap(), ["20260102T000000.000Z"]);
        assert!(b.object_path("xyz").is_err());
    }

    fn spec(kind: Kind, name: &str, job: Option<BundleJob>) -> BundleAsset {
        BundleAsset {
            kind,
            name: name.into(),
            version: "1".into(),
            properties: serde_json::json!({"componentSpec": {"name": name}}),
            container: Value::Null,
            yaml: Some("name: x\n".into()),
            content: None,
            job,
            source: String::new(),
        }
    }

    #[test]
    fn other_kinds_are_kept_apart_from_assets_in_the_file() {
        let job = BundleJob { name: "hello-pipe".into(), properties: serde_json::json!({"jobType": "Pipeline"}) };
        let mut model = spec(Kind::Model, "m", None);
        model.properties = serde_json::json!({"modelType": "custom_model"});
        let m = Manifest {
            schema_version: MANIFEST_SCHEMA_VERSION,
            id: "20260101T000000.000Z".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            source: "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w".into(),
            kinds: Kind::ALL.to_vec(),
            assets: vec![model, spec(Kind::Component, "train", None), spec(Kind::Component, "hello_pipe", Some(job.clone())), spec(Kind::Data, "d", None)],
            definitions: vec![],
        };
        let v = serde_json::to_value(&m).unwrap();
        // A reader of the first release sees only what it can restore.
        assert_eq!(v["kinds"], serde_json::json!(["environment", "code", "model"]));
        assert_eq!(v["assets"].as_array().unwrap().len(), 1);
        assert_eq!(v["assets"][0]["kind"], "model");
        assert_eq!(v["specKinds"], serde_json::json!(["data", "component", "job"]));
        let spec_assets = v["specAssets"].as_array().unwrap();
        assert_eq!(spec_assets.iter().map(|a| a["kind"].as_str().unwrap()).collect::<Vec<_>>(), ["component", "component", "data"]);
        assert_eq!(spec_assets[1]["job"]["name"], "hello-pipe");
        assert!(spec_assets[0].get("job").is_none() && spec_assets[0].get("source").is_none());
        // Read back: one list again, each asset knowing its source workspace.
        let back: Manifest = serde_json::from_value(v).unwrap();
        assert_eq!(back.kinds.len(), Kind::ALL.len());
        assert_eq!(back.assets.len(), 4);
        assert!(back.assets.iter().all(|a| a.source == m.source));
        assert_eq!(back.assets[2].job.as_ref(), Some(&job));
        assert_eq!(back.assets[2].selected_kind(), Kind::Job);
        assert_eq!(back.assets[1].selected_kind(), Kind::Component);
        assert_eq!(kind_of("pipeline"), Some(Kind::Job), "bundles written before jobs of every type name them pipeline");
        // A manifest written before specAssets existed still reads.
        let old = serde_json::json!({"schemaVersion": 1, "id": "20250101T000000.000Z", "createdAt": "2025-01-01T00:00:00Z", "source": "ws",
            "kinds": ["model"], "assets": [{"kind": "model", "name": "m", "version": "1", "properties": {}, "container": null}]});
        let old: Manifest = serde_json::from_value(old).unwrap();
        assert_eq!((old.kinds, old.assets.len(), old.assets[0].source.as_str()), (vec![Kind::Model], 1, "ws"));
    }
}
