//! Snapshot bundles as a library (`aml-failover snapshot export|restore|list|prune` render what
//! these return): pre-staging through a self-contained, content-addressed bundle (layout in
//! [`crate::bundle::manifest`]). Nothing here prints; each operation returns a typed report.
//!
//! - **export** (`--from A --to <dir | blob container URL>`): lists the selected asset versions
//!   (every kind by default: models, environments, code, components, pipelines, data), with
//!   what they reference, as `copy` does: a component's code and environment, a pipeline's
//!   components and data are exported even when `--name`/`--kinds` leave them out, and an item
//!   whose reference is missing in the source fails (the chain named). A pipeline job is kept
//!   as its definition, the pipeline component `copy` registers without `--submit`
//!   ([`pipeline::definition`], named [`pipeline::definition_name`], version 1), with the
//!   job's properties. A data asset is kept as its specification and `az ml` YAML only: its
//!   data is never read nor copied. For models, environments and code it finds each file's
//!   sha256 (recorded on the blob, else known from the previous snapshot for the same source
//!   version (URI + ETag), else read), copies each sha256 not yet in the bundle through the
//!   transfer engine (verified against that sha256), then publishes the manifest. A second
//!   export with nothing changed reads no file and writes only a new manifest. Any failure:
//!   no manifest (the objects written stay, so a rerun resumes), exit 1.
//! - **restore** (`<bundle> --to B`): for each asset of the snapshot (the newest, or
//!   `--snapshot ID`; `--kinds` selects, what the selection references comes along): a
//!   version already in B with the same specification and files is left alone; one that
//!   differs is a conflict (reported, never overwritten); a missing one has its objects
//!   uploaded to B's default blob datastore under `LocalUpload/<fingerprint>/` (verified by
//!   sha256), then is registered. Components and pipeline definitions are registered after
//!   everything they reference (dependency order), with their references rewritten from the
//!   source workspace to B ([`Rewriter`], as `copy`); registry references and URLs stay.
//!   Nothing is registered when something it references was not (a conflict, a failure).
//!   Data assets are never registered (their path is the source's storage): each missing one
//!   gets its `az ml` YAML written into the data output folder and the status
//!   `needs-manual-reregistration` (exit 1 unless `--accept-data-warnings`), as `copy` does.
//!   The source workspace is never contacted.
//! - **list**: the snapshots, oldest first, with counts; **prune** (`--keep N`,

pub mod export;
pub mod list;
pub mod manifest;
pub mod restore;

pub use export::{export, ExportReport};
pub use list::{list, prune, ListReport, PruneReport};
pub use restore::{against_target, restore, Against, RestoreReport};

use crate::assets::{self, AssetItem, Kind};
use crate::error::{Error, Result};
use crate::bundle::manifest::{Bundle, BundleAsset, Manifest};
use crate::storage::local::LocalStore;
use crate::transfer::EngineOptions;
use crate::workspace::{ConnectOptions, Context, WorkspaceRef};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Kinds a snapshot can hold: every kind (pipelines as their definition, data as YAML only).
pub const SNAPSHOT_KINDS: &[Kind] = Kind::ALL;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The bundle: a local directory or a blob container URL (from `--to`).
    pub bundle: String,
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    pub engine: EngineOptions,
    /// The estate definitions kept too (`--kinds`: every one by default).
    pub definitions: Vec<crate::assets::definition::DefKind>,
}

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub bundle: String,
    pub snapshot: Option<String>,
    pub kinds: Option<Vec<Kind>>,
    pub engine: EngineOptions,
    /// The snapshot's definitions of `estate.kinds`, written as `copy` writes them (schedules
    /// disabled unless `estate.copy.schedules` says otherwise, online endpoints as YAML unless
    /// `estate.deploy_online`); their manual steps' YAML goes to `estate_dir`.
    pub estate: crate::plan::EstateOptions,
    pub estate_dir: PathBuf,
}

/// What a restore does with data assets (never registered: see the module doc).
#[derive(Debug, Clone)]
pub struct DataRestoreOptions {
    /// Where the `az ml` YAML of each data asset to re-register is written.
    pub output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    pub accept_warnings: bool,
}

impl Default for DataRestoreOptions {
    fn default() -> Self {
        DataRestoreOptions { output_dir: PathBuf::from("aml-failover-data"), accept_warnings: false }
    }
}

/// `snapshot restore`'s options.
#[derive(Debug, Clone)]
pub struct RestoreCommand {
    pub restore: RestoreOptions,
    pub data: DataRestoreOptions,
}

#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub bundle: String,
    pub keep: Option<usize>,
    pub older_than: Option<std::time::Duration>,
    pub dry_run: bool,
}

/// Checks `--kinds` for snapshots.
pub fn check_kinds(kinds: Vec<Kind>) -> Result<Vec<Kind>> {
    let bad: Vec<String> = kinds.iter().filter(|k| !SNAPSHOT_KINDS.contains(k)).map(|k| k.plural().to_string()).collect();
    if !bad.is_empty() {
        return Err(Error::usage(format!("snapshots cannot hold {} (use `copy` for those)", bad.join(", "))));
    }
    Ok(kinds)
}

pub const SCHEMA_VERSION: u32 = 1;

/// The status of a data asset a restore does not register.
pub(crate) const MANUAL: &str = "needs-manual-reregistration";

fn is_url(raw: &str) -> bool {
    let l = raw.to_ascii_lowercase();
    l.starts_with("https://") || l.starts_with("http://")
}

/// Opens a bundle: a blob container URL (`https://<account>.blob.<suffix>/<container>[/<folder>]`,
/// SAS in the URL or `AML_FAILOVER_TARGET_SAS`, else an Entra token), or a local directory.
pub fn open_bundle(ctx: Option<&Context>, raw: &str) -> Result<Bundle> {
    if is_url(raw) {
        let ctx = ctx.ok_or_else(|| Error::Internal("a URL bundle needs a connection".into()))?;
        let (store, folder) = crate::outputs::url_destination(ctx, raw)?;
        return Ok(Bundle::new(store, &folder));
    }
    if raw.trim().is_empty() {
        return Err(Error::usage("the bundle is empty: give a directory or a blob container URL"));
    }
    Ok(Bundle::new(Arc::new(LocalStore::new(raw)), ""))
}

/// A connection when the bundle is a URL (a local directory needs none).
pub fn connect_for(connect: &ConnectOptions, raw: &str) -> Result<Option<Context>> {
    if is_url(raw) {
        Ok(Some(Context::connect(connect)?))
    } else {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// the dependency graph (export and restore)

pub(crate) type Key = (Kind, String, String);

pub(crate) fn key_of(a: &BundleAsset) -> Key {
    (a.kind, a.name.clone(), a.version.clone())
}


/// Notes the version an unversioned or `@latest` reference to (kind, name) means: the
/// container's `latestVersion`, else the highest version seen.
pub(crate) fn note_latest(latest: &mut HashMap<(Kind, String), String>, kind: Kind, name: &str, version: &str, container: &Value) {
    let l = container.get("latestVersion").and_then(Value::as_str).map(str::to_string);
    let e = latest.entry((kind, name.to_string())).or_insert_with(|| version.to_string());
    if let Some(l) = l {
        *e = l;
    } else if assets::version_order(version, e) == std::cmp::Ordering::Greater {
        *e = version.to_string();
    }
}


/// "component c:1", or "pipeline p (definition p:1)" for a pipeline job's definition.
fn label(k: &Key, job_of: &dyn Fn(&Key) -> Option<String>) -> String {
    match job_of(k) {
        Some(job) => format!("pipeline {job} (definition {}:{})", k.1, k.2),
        None => format!("{} {}:{}", k.0, k.1, k.2),
    }
}

pub(crate) fn chain_text(chain: &[Key], last: &str, job_of: &dyn Fn(&Key) -> Option<String>) -> String {
    let mut s: Vec<String> = chain.iter().map(|k| label(k, job_of)).collect();
    if let Some(l) = s.last_mut() {
        l.push(' ');
        l.push_str(last);
    }
    s.join(" → ")
}


pub(crate) fn as_item(a: &BundleAsset) -> AssetItem {
    AssetItem {
        kind: a.kind,
        name: a.name.clone(),
        version: a.version.clone(),
        properties: a.properties.clone(),
        container: std::sync::Arc::new(a.container.clone()),
        content: None,
    }
}


/// The workspace a snapshot was exported from (its ARM id, as the manifest records it).
pub(crate) fn source_ws(source: &str) -> Option<WorkspaceRef> {
    if !source.starts_with('/') {
        return None;
    }
    crate::workspace::reference::parse("the snapshot's source", source, &Default::default()).ok()
}


/// Opens a bundle and reads one snapshot's manifest (the newest when `id` is None).
pub async fn open_snapshot(ctx: Option<&Context>, raw: &str, id: Option<&str>) -> Result<(Bundle, Manifest)> {
    let bundle = open_bundle(ctx, raw)?;
    let id = match id {
        Some(id) => id.to_string(),
        None => bundle
            .snapshot_ids()
            .await?
            .pop()
            .ok_or_else(|| Error::NotFound(format!("{} holds no snapshot (export one with `aml-failover snapshot export`)", bundle.describe())))?,
    };
    let m = bundle.read_manifest(&id).await?;
    Ok((bundle, m))
}

