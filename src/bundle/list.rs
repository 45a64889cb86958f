//! `snapshot list` and `snapshot prune`.

use super::{connect_for, open_bundle, PruneOptions, SCHEMA_VERSION};
use crate::error::{Error, Result};
use crate::bundle::manifest::Manifest;
use crate::workspace::ConnectOptions;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

fn version(_: &mut SchemaGenerator) -> Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// The schema of a list of snapshot ids.
fn snapshot_ids(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "array", "items": {
        "type": "string",
        "pattern": r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$",
        "description": "snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)"}})
}

/// The schema of a list of stored objects (their sha256).
fn object_hashes(_: &mut SchemaGenerator) -> Schema {
    schemars::json_schema!({"type": "array", "items": {
        "type": "string", "pattern": "^[0-9a-f]{64}$", "description": "sha256 of the bytes, lowercase hex"}})
}

/// What `snapshot list` shows: the document `-o json` prints. Tolerant of added fields.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct ListReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "snapshot list"))]
    pub command: &'static str,
    pub bundle: String,
    /// objects stored in the bundle (each distinct file once)
    pub objects: usize,
    /// their total size
    pub bytes: u64,
    /// oldest first
    pub snapshots: Vec<ListedSnapshot>,
}

/// What `snapshot prune` deleted (or would delete, with `dry_run`). Tolerant of added fields.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct PruneReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "snapshot prune"))]
    pub command: &'static str,
    /// true: the lists say what would be deleted; nothing was
    pub dry_run: bool,
    pub bundle: String,
    #[schemars(schema_with = "snapshot_ids")]
    pub deleted_snapshots: Vec<String>,
    #[schemars(schema_with = "snapshot_ids")]
    pub kept_snapshots: Vec<String>,
    #[schemars(schema_with = "object_hashes")]
    pub deleted_objects: Vec<String>,
    pub kept_objects: usize,
    pub bytes_freed: u64,
}

// ---------------------------------------------------------------------------------------
// list and prune

/// One snapshot of a bundle, as `snapshot list` shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct ListedSnapshot {
    /// snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)
    #[schemars(regex(pattern = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$"))]
    pub id: String,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    pub source: String,
    pub assets: usize,
    /// distinct sha256 the snapshot references
    pub objects: usize,
    pub bytes: u64,
}

fn listed(m: &Manifest) -> ListedSnapshot {
    let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
    for f in m.assets.iter().filter_map(|a| a.content.as_ref()).flat_map(|c| c.files.iter()) {
        sizes.insert(&f.sha256, f.size);
    }
    ListedSnapshot {
        id: m.id.clone(),
        created_at: m.created_at.clone(),
        source: m.source.clone(),
        assets: m.assets.len(),
        objects: sizes.len(),
        bytes: sizes.values().sum(),
    }
}

/// The snapshots of a bundle, oldest first, and what it stores.
pub async fn list(connect: &ConnectOptions, raw: &str) -> Result<ListReport> {
    let ctx = connect_for(connect, raw)?;
    let bundle = open_bundle(ctx.as_ref(), raw)?;
    let mut rows = Vec::new();
    for id in bundle.snapshot_ids().await? {
        rows.push(listed(&bundle.read_manifest(&id).await?));
    }
    let objects = bundle.objects().await?;
    Ok(ListReport {
        schema_version: SCHEMA_VERSION,
        command: "snapshot list",
        bundle: bundle.describe(),
        objects: objects.len(),
        bytes: objects.values().sum(),
        snapshots: rows,
    })
}

/// Deletes the snapshots outside `--keep` and older than `--older-than`, then every object no
/// remaining snapshot names (nothing with `dry_run`).
pub async fn prune(connect: &ConnectOptions, o: &PruneOptions) -> Result<PruneReport> {
    if o.keep.is_none() && o.older_than.is_none() {
        return Err(Error::usage("snapshot prune needs --keep N, --older-than DURATION, or both"));
    }
    let ctx = connect_for(connect, &o.bundle)?;
    let bundle = open_bundle(ctx.as_ref(), &o.bundle)?;
    let ids = bundle.snapshot_ids().await?;
    // Every manifest must be readable: an object is only deleted when nothing kept names it.
    let mut manifests = Vec::new();
    for id in &ids {
        manifests.push(bundle.read_manifest(id).await?);
    }
    let now = time::OffsetDateTime::now_utc();
    let n = manifests.len();
    let delete: Vec<bool> = manifests
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let beyond_keep = o.keep.is_none_or(|k| i + k < n);
            let old = o.older_than.is_none_or(|d| {
                time::OffsetDateTime::parse(&m.created_at, &time::format_description::well_known::Rfc3339)
                    .map(|t| now - t > time::Duration::try_from(d).unwrap_or(time::Duration::MAX))
                    .unwrap_or(false)
            });
            beyond_keep && old
        })
        .collect();
    let referenced: BTreeSet<String> = manifests.iter().zip(&delete).filter(|(_, d)| !**d).flat_map(|(m, _)| m.objects()).collect();
    let deleted_ids: Vec<String> = manifests.iter().zip(&delete).filter(|(_, d)| **d).map(|(m, _)| m.id.clone()).collect();
    let objects = bundle.objects().await?;
    let unreferenced: Vec<(&String, &u64)> = objects.iter().filter(|(h, _)| !referenced.contains(*h)).collect();
    if !o.dry_run {
        for id in &deleted_ids {
            bundle.delete_snapshot(id).await?;
        }
        for (h, _) in &unreferenced {
            bundle.delete_object(h).await?;
        }
    }
    let freed: u64 = unreferenced.iter().map(|(_, s)| **s).sum();
    let kept: Vec<&String> = manifests.iter().zip(&delete).filter(|(_, d)| !**d).map(|(m, _)| &m.id).collect();
    Ok(PruneReport {
        schema_version: SCHEMA_VERSION,
        command: "snapshot prune",
        dry_run: o.dry_run,
        bundle: bundle.describe(),
        deleted_snapshots: deleted_ids,
        kept_snapshots: kept.into_iter().cloned().collect(),
        deleted_objects: unreferenced.iter().map(|(h, _)| h.to_string()).collect(),
        kept_objects: objects.len() - unreferenced.len(),
        bytes_freed: freed,
    })
}
