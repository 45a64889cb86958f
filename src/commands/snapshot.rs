//! `aml-failover snapshot export|restore|list|prune`: pre-staging through a self-contained,
//! content-addressed bundle (layout in [`crate::storage::bundle`]).
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
//!   `--older-than DURATION`): deletes manifests, then every object no remaining manifest names.

use super::assets_cmd::{blob_folder_url, context, read_workspace, run_jobs, write_workspace};
use super::copy::{ws_id, TargetComparer};
use crate::assets::graph::{self, Edges};
use crate::assets::refs::{self, Rewrite, Rewriter, VersionSpec, WsId};
use crate::assets::uri::ContentUri;
use crate::assets::yaml::{self, LocalNames};
use crate::assets::{self, data, pipeline, AssetItem, Kind, Selection};
use crate::azureml::workspace_path;
use crate::bundle::{DataRestoreOptions, ExportOptions, PruneOptions, RestoreCommand, RestoreOptions};
use crate::settings::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::plan::Comparison;
use crate::storage::bundle::{self, Bundle, BundleAsset, BundleContent, BundleFile, BundleJob, Manifest};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob, Method, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SCHEMA_VERSION: u32 = 1;

/// The status of a data asset a restore does not register.
const MANUAL: &str = "needs-manual-reregistration";

fn is_url(raw: &str) -> bool {
    let l = raw.to_ascii_lowercase();
    l.starts_with("https://") || l.starts_with("http://")
}

/// Opens a bundle: a blob container URL (`https://<account>.blob.<suffix>/<container>[/<folder>]`,
/// SAS in the URL or `AML_FAILOVER_TARGET_SAS`, else an Entra token), or a local directory.
fn open_bundle(ctx: Option<&Context>, raw: &str) -> Result<Bundle> {
    if is_url(raw) {
        let ctx = ctx.ok_or_else(|| Error::Internal("a URL bundle needs a connection".into()))?;
        let (store, folder) = super::outputs::url_destination(ctx, raw)?;
        return Ok(Bundle::new(store, &folder));
    }
    if raw.trim().is_empty() {
        return Err(Error::usage("the bundle is empty: give a directory or a blob container URL"));
    }
    Ok(Bundle::new(Arc::new(LocalStore::new(raw)), ""))
}

fn connect_for(s: &Settings, raw: &str) -> Result<Option<Context>> {
    if is_url(raw) {
        Ok(Some(Context::connect(&s.connect)?))
    } else {
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// the dependency graph (export and restore)

type Key = (Kind, String, String);

fn key_of(a: &BundleAsset) -> Key {
    (a.kind, a.name.clone(), a.version.clone())
}


/// Notes the version an unversioned or `@latest` reference to (kind, name) means: the
/// container's `latestVersion`, else the highest version seen.
fn note_latest(latest: &mut HashMap<(Kind, String), String>, kind: Kind, name: &str, version: &str, container: &Value) {
    let l = container.get("latestVersion").and_then(Value::as_str).map(str::to_string);
    let e = latest.entry((kind, name.to_string())).or_insert_with(|| version.to_string());
    if let Some(l) = l {
        *e = l;
    } else if assets::version_order(version, e) == std::cmp::Ordering::Greater {
        *e = version.to_string();
    }
}

/// What each item references in the source workspace `src` (or relatively): its edges.
/// `items`: (key, the kind its properties are parsed as, the properties).
fn edges_of<'a>(items: impl Iterator<Item = (Key, Kind, &'a Value)>, src: &WsId, latest: &HashMap<(Kind, String), String>) -> Edges<Key> {
    let mut edges: Edges<Key> = BTreeMap::new();
    for (k, kind, props) in items {
        let deps: Vec<Key> = refs::dependencies(kind, props)
            .into_iter()
            .filter(|d| d.workspace.as_ref().is_none_or(|w| refs::same_ws(w, src)))
            .map(|d| {
                let v = match d.version {
                    VersionSpec::Exact(v) => v,
                    VersionSpec::Latest | VersionSpec::Label(_) => latest.get(&(d.kind, d.name.clone())).cloned().unwrap_or_else(|| "latest".into()),
                };
                (d.kind, d.name, v)
            })
            .collect();
        if !deps.is_empty() {
            edges.insert(k, deps);
        }
    }
    edges
}

/// "component c:1", or "pipeline p (definition p:1)" for a pipeline job's definition.
fn label(k: &Key, job_of: &dyn Fn(&Key) -> Option<String>) -> String {
    match job_of(k) {
        Some(job) => format!("pipeline {job} (definition {}:{})", k.1, k.2),
        None => format!("{} {}:{}", k.0, k.1, k.2),
    }
}

fn chain_text(chain: &[Key], last: &str, job_of: &dyn Fn(&Key) -> Option<String>) -> String {
    let mut s: Vec<String> = chain.iter().map(|k| label(k, job_of)).collect();
    if let Some(l) = s.last_mut() {
        l.push(' ');
        l.push_str(last);
    }
    s.join(" → ")
}

/// What an export holds: the selected items and everything they reference.
struct Picked {
    /// Pipeline jobs appear as their definition component.
    items: Vec<AssetItem>,
    /// The job of each definition.
    jobs: HashMap<Key, BundleJob>,
    /// Items that cannot be exported, and why.
    errors: HashMap<Key, String>,
    /// Pipeline jobs that cannot be kept as a definition: (job, why).
    refused: Vec<(String, String)>,
}

/// Picks what an export of `kinds` (names matching `name`) holds, from every listed version of
/// the kinds they need (`listed`) and the pipeline jobs (`jobs`, already filtered by name).
fn pick(from: &WorkspaceRef, kinds: &[Kind], name: Option<&str>, listed: Vec<AssetItem>, jobs: Vec<AssetItem>) -> Picked {
    let name_ok = |n: &str| name.is_none_or(|p| assets::name_matches(p, n));
    let mut latest = HashMap::new();
    for i in &listed {
        note_latest(&mut latest, i.kind, &i.name, &i.version, &i.container);
    }
    let mut index: BTreeMap<Key, AssetItem> = BTreeMap::new();
    let mut roots: Vec<Key> = Vec::new();
    for i in listed {
        if kinds.contains(&i.kind) && name_ok(&i.name) {
            roots.push(i.key());
        }
        index.insert(i.key(), i);
    }
    let mut job_of: HashMap<Key, BundleJob> = HashMap::new();
    let mut refused = Vec::new();
    for j in jobs.into_iter().filter(|j| kinds.contains(&Kind::Pipeline) && j.kind == Kind::Pipeline) {
        let key = (Kind::Component, pipeline::definition_name(&j.name), "1".to_string());
        if let Some(other) = job_of.get(&key) {
            refused.push((j.name, format!("its definition would be component {}:1, as the definition of pipeline job {}", key.1, other.name)));
            continue;
        }
        if let Some(existing) = index.get(&key) {
            if existing.properties.pointer("/properties/aml-failover.sourceJob").is_some() {
                // The source already holds this job's definition (a workspace failed over
                // into): that component is the pipeline's entry, as `copy` sends it.
                if !roots.contains(&key) {
                    roots.push(key);
                }
            } else {
                refused.push((j.name, format!("its definition would be component {}:1, which the source workspace has as another component", key.1)));
            }
            continue;
        }
        let job = pipeline::portable_job(&j.properties);
        let props = pipeline::definition(&j.name, &format!("{}/jobs/{}", from.arm_id(), j.name), &job);
        let container = json!({"description": props.get("description").cloned().unwrap_or(Value::Null)});
        index.insert(key.clone(), AssetItem { kind: Kind::Component, name: key.1.clone(), version: "1".into(), properties: props, container, content: None });
        job_of.insert(key.clone(), BundleJob { name: j.name, properties: job });
        roots.push(key);
    }
    let src = ws_id(from);
    let edges = edges_of(
        index.iter().map(|(k, i)| match job_of.get(k) {
            Some(j) => (k.clone(), Kind::Pipeline, &j.properties),
            None => (k.clone(), i.kind, &i.properties),
        }),
        &src,
        &latest,
    );
    let jobname = |k: &Key| job_of.get(k).map(|j| j.name.clone());
    let mut errors = HashMap::new();
    for r in &roots {
        if let Some(chain) = graph::chain_to(r, &edges, &|k: &Key| !index.contains_key(k)) {
            errors.insert(r.clone(), format!("{}; not exported (a snapshot holds what its assets reference)", chain_text(&chain, "missing in the source workspace", &jobname)));
        }
    }
    let items = graph::closure(&roots, &edges).into_iter().filter_map(|k| index.remove(&k)).collect();
    Picked { items, jobs: job_of, errors, refused }
}

// ---------------------------------------------------------------------------------------
// export

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportedItem {
    kind: Kind,
    name: String,
    version: String,
    status: &'static str,
    files: usize,
    bytes: u64,
    /// A pipeline job's definition: the job's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The `az ml` YAML kept for a version: a component's specification, a data asset's YAML to
/// re-register it with the path it had, the YAML `download` writes for the others.
fn asset_yaml(item: &AssetItem, names: &LocalNames) -> Option<String> {
    match item.kind {
        Kind::Data => Some(data::yaml(item)),
        Kind::Component | Kind::Pipeline => item.properties.get("componentSpec").and_then(|s| serde_norway::to_string(s).ok()),
        _ => yaml::to_yaml(item, names).ok(),
    }
}

pub async fn export(s: &Settings, o: &ExportOptions) -> Result<Exit> {
    let started = std::time::Instant::now();
    let from = read_workspace(s, "snapshot export")?;
    let ctx = Context::connect(&s.connect)?;
    let bundle = open_bundle(Some(&ctx), &o.bundle)?;
    // Components and pipelines need what they reference, whatever its name: list all of it.
    let with_refs = o.kinds.iter().any(|k| matches!(k, Kind::Component | Kind::Pipeline));
    let sel = match with_refs {
        true => Selection { kinds: graph::needed_kinds(&o.kinds), name: None, latest_only: false },
        false => Selection { kinds: o.kinds.clone(), name: o.name.clone(), latest_only: false },
    };
    let (listed, ds) = futures::future::try_join(assets::list_versions(&ctx.arm, &from, &sel), Datastores::load(&ctx, &from)).await?;
    let jobs = if o.kinds.contains(&Kind::Pipeline) { pipeline::list(&ctx.arm, &from, o.name.as_deref()).await? } else { Vec::new() };
    let Picked { mut items, jobs: job_of, errors: pick_errors, refused } = pick(&from, &o.kinds, o.name.as_deref(), listed, jobs);
    items.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)).then_with(|| assets::version_order(&a.version, &b.version)));

    // What the bundle already knows: stored objects, and the sha256 of source versions read before.
    let ids = bundle.snapshot_ids().await?;
    let mut known: HashMap<String, (String, u64)> = HashMap::new();
    if let Some(last) = ids.last() {
        let m = bundle.read_manifest(last).await?;
        for f in m.assets.iter().filter_map(|a| a.content.as_ref()).flat_map(|c| c.files.iter()) {
            if let Some(t) = &f.source_tag {
                known.insert(t.clone(), (f.sha256.clone(), f.size));
            }
        }
    }
    let stored = bundle.objects().await?;

    // Resolve the files of every item that has some (never a data asset's) and find each file's sha256.
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let mut errors: Vec<Option<String>> = items.iter().map(|i| pick_errors.get(&i.key()).cloned()).collect();
    for (i, item) in items.iter_mut().enumerate() {
        if errors[i].is_some() || !bundle::FILE_KINDS.contains(&item.kind) {
            continue;
        }
        if let Err(e) = assets::resolve_content(item, &ds).await {
            errors[i] = Some(format!("cannot read its files: {e}"));
        }
    }
    struct Need {
        item: usize,
        file: usize,
    }
    let mut shas: Vec<Vec<Option<String>>> = items.iter().map(|i| vec![None; i.content.as_ref().map_or(0, |c| c.files.len())]).collect();
    let mut tags: Vec<Vec<Option<String>>> = shas.clone();
    let mut needs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(c) = &item.content else { continue };
        for (j, f) in c.files.iter().enumerate() {
            let tag = crate::storage::source_tag(&c.store.uri(&f.meta.path), f.meta.etag.as_deref());
            tags[i][j] = tag.clone();
            if let Some(h) = &f.meta.sha256 {
                shas[i][j] = Some(h.clone());
            } else if let Some((h, _)) = tag.as_ref().and_then(|t| known.get(t)).filter(|(_, size)| *size == f.meta.size) {
                shas[i][j] = Some(h.clone());
            } else {
                needs.push(Need { item: i, file: j });
            }
        }
    }
    let digests: Vec<(usize, usize, Result<String>)> = futures::stream::iter(needs.iter().map(|n| {
        let c = items[n.item].content.as_ref().expect("has content");
        let f = &c.files[n.file];
        let (store, path, size, quiet) = (Arc::clone(&c.store), f.meta.path.clone(), f.meta.size, &quiet);
        async move { (n.item, n.file, quiet.digest(&*store, &path, size, false).await.map(|d| d.sha256)) }
    }))
    .buffer_unordered(o.engine.concurrency.max(1))
    .collect()
    .await;
    for (i, j, r) in digests {
        match r {
            Ok(h) => shas[i][j] = Some(h),
            Err(e) => {
                let c = items[i].content.as_ref().expect("has content");
                errors[i].get_or_insert(format!("cannot read {}: {e}", c.files[j].rel));
            }
        }
    }

    // Copy every sha256 the bundle lacks, once.
    let mut jobs = Vec::new();
    let mut job_sha = Vec::new();
    let mut queued = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(c) = &item.content else { continue };
        if errors[i].is_some() {
            continue;
        }
        for (j, f) in c.files.iter().enumerate() {
            let sha = shas[i][j].clone().expect("hashed");
            if stored.get(&sha) == Some(&f.meta.size) || !queued.insert(sha.clone()) {
                continue;
            }
            jobs.push(FileJob {
                src: Arc::clone(&c.store),
                src_path: f.meta.path.clone(),
                dst: Arc::clone(&bundle.store),
                dst_path: bundle.object_path(&sha)?,
                size: f.meta.size,
                expected_sha256: Some(sha.clone()),
                src_md5: f.meta.content_md5,
                src_tag: tags[i][j].clone(),
                src_etag: f.meta.etag.clone(),
            });
            job_sha.push(sha);
        }
    }
    let results = run_jobs(s, &o.engine, &jobs).await;
    let mut failed_sha: HashMap<String, String> = HashMap::new();
    let mut written = 0usize;
    let mut written_bytes = 0u64;
    for ((sha, job), r) in job_sha.iter().zip(&jobs).zip(results) {
        match r {
            Ok(d) => {
                if d.method != Method::AlreadyPresent {
                    written += 1;
                    written_bytes += d.size;
                }
            }
            Err(e) => {
                failed_sha.insert(sha.clone(), format!("{}: {e}", job.src.uri(&job.src_path)));
            }
        }
    }

    // The manifest: every asset, or none when anything failed.
    let mut out = Vec::new();
    let mut assets_out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut err = errors[i].clone();
        let mut content = None;
        if let (Some(c), None) = (&item.content, &err) {
            let files: Vec<BundleFile> = c
                .files
                .iter()
                .enumerate()
                .map(|(j, f)| BundleFile { path: f.rel.clone(), size: f.meta.size, sha256: shas[i][j].clone().expect("hashed"), source_tag: tags[i][j].clone() })
                .collect();
            if let Some(e) = files.iter().find_map(|f| failed_sha.get(&f.sha256)) {
                err = Some(e.clone());
            }
            let leaf = if c.single_file {
                c.files[0].rel.clone()
            } else {
                c.base.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(default_leaf(item.kind)).to_string()
            };
            content = Some(BundleContent { single_file: c.single_file, leaf, files });
        }
        let job = job_of.get(&item.key()).cloned();
        out.push(ExportedItem {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            status: if err.is_some() { "failed" } else { "exported" },
            files: content.as_ref().map_or(0, |c| c.files.len()),
            bytes: item.total_bytes(),
            job: job.as_ref().map(|j| j.name.clone()),
            error: err,
        });
        let names = LocalNames { content: content.as_ref().map(|c| c.leaf.clone()), conda_file: None };
        assets_out.push(BundleAsset {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            properties: item.properties.clone(),
            container: item.container.clone(),
            yaml: asset_yaml(item, &names),
            content,
            job,
            source: from.arm_id(),
        });
    }
    for (job, why) in refused {
        out.push(ExportedItem { kind: Kind::Pipeline, name: job, version: "1".into(), status: "failed", files: 0, bytes: 0, job: None, error: Some(format!("{why}; not exported")) });
    }
    let failed = out.iter().filter(|i| i.error.is_some()).count();
    let mut snapshot = None;
    if failed == 0 {
        let mut now = time::OffsetDateTime::now_utc();
        let mut id = bundle::snapshot_id(now);
        while bundle.manifest_exists(&id).await? || ids.last().is_some_and(|l| *l >= id) {
            now += time::Duration::milliseconds(1);
            id = bundle::snapshot_id(now);
        }
        let m = Manifest {
            schema_version: bundle::MANIFEST_SCHEMA_VERSION,
            id: id.clone(),
            created_at: now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            source: from.arm_id(),
            kinds: o.kinds.clone(),
            assets: assets_out,
        };
        bundle.write_manifest(&m).await?;
        snapshot = Some(id);
    }
    let objects: BTreeSet<&String> = shas.iter().flatten().flatten().collect();
    let doc = json!({
        "schemaVersion": SCHEMA_VERSION,
        "command": "snapshot export",
        "source": from.arm_id(),
        "bundle": bundle.describe(),
        "snapshot": snapshot,
        "durationMs": started.elapsed().as_millis() as u64,
        "summary": {
            "assets": out.len(),
            "failed": failed,
            "files": shas.iter().map(Vec::len).sum::<usize>(),
            "objects": objects.len(),
            "objectsWritten": written,
            "bytesWritten": written_bytes,
            "filesRead": needs.len(),
        },
        "items": out,
    });
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&doc),
        OutputFormat::Human => {
            if s.printer.verbose() > 0 || failed > 0 {
                for it in &out {
                    let what = match &it.job {
                        Some(job) => format!("pipeline {job} (definition {}:{})", it.name, it.version),
                        None => format!("{} {}:{}", it.kind, it.name, it.version),
                    };
                    match &it.error {
                        None => println!("exported {what} ({} files)", it.files),
                        Some(e) => println!("FAILED   {what}  {e}"),
                    }
                }
            }
            match &snapshot {
                Some(id) => println!(
                    "snapshot {id} in {}: {} asset versions, {} distinct files; {} new objects written ({}), {} files hashed",
                    bundle.describe(),
                    out.len(),
                    objects.len(),
                    written,
                    crate::report::human_bytes(written_bytes),
                    needs.len()
                ),
                None => println!(
                    "no snapshot written: {failed} of {} asset versions failed (the objects already stored stay; rerun to resume)",
                    out.len()
                ),
            }
        }
    }
    Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
}

fn default_leaf(kind: Kind) -> &'static str {
    match kind {
        Kind::Model => "model",
        Kind::Code => "code",
        _ => "build-context",
    }
}

// ---------------------------------------------------------------------------------------
// restore

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RestoredItem {
    kind: Kind,
    name: String,
    version: String,
    /// registered | unchanged | conflict | failed | needs-manual-reregistration
    status: &'static str,
    reason: String,
    files: usize,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    /// A pipeline job's definition: the job's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    job: Option<String>,
    /// A data asset to re-register: the YAML written for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    yaml: Option<String>,
    /// References rewritten from the source workspace to the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    rewrites: Vec<Rewrite>,
}

fn as_item(a: &BundleAsset) -> AssetItem {
    AssetItem {
        kind: a.kind,
        name: a.name.clone(),
        version: a.version.clone(),
        properties: a.properties.clone(),
        container: a.container.clone(),
        content: None,
    }
}

/// The item `copy` compares and registers for a spec-only asset: a component, or the pipeline
/// job a definition is made from.
fn spec_item(a: &BundleAsset) -> AssetItem {
    match &a.job {
        Some(j) => AssetItem { kind: Kind::Pipeline, name: j.name.clone(), version: "1".into(), properties: j.properties.clone(), container: Value::Null, content: None },
        None => as_item(a),
    }
}

/// The workspace a snapshot was exported from (its ARM id, as the manifest records it).
fn source_ws(source: &str) -> Option<WorkspaceRef> {
    if !source.starts_with('/') {
        return None;
    }
    crate::workspace::reference::parse("the snapshot's source", source, &Default::default()).ok()
}

/// The properties a component (or a pipeline job's definition) gets in the target, and the
/// references rewritten: what `copy` registers without `--submit`.
fn spec_desired(a: &BundleAsset, from: &WorkspaceRef, rw: &Rewriter) -> (Value, Vec<Rewrite>) {
    match &a.job {
        Some(j) => {
            // Rewrite the job first: the definition keeps some of it as text (settings).
            let mut job = pipeline::portable_job(&j.properties);
            let rewrites = rw.rewrite(&mut job);
            (pipeline::definition(&j.name, &format!("{}/jobs/{}", from.arm_id(), j.name), &job), rewrites)
        }
        None => {
            let mut v = as_item(a).portable_properties();
            let rewrites = rw.rewrite(&mut v);
            (v, rewrites)
        }
    }
}

/// Upload folder in the target: a fingerprint of the asset and its files, so a rerun writes
/// to the same place and verified files are not sent again.
fn restore_prefix(a: &BundleAsset, c: &BundleContent) -> String {
    let mut h = Sha256::new();
    h.update(format!("snapshot\n{}\n{}\n{}\n", a.kind, a.name, a.version));
    for f in &c.files {
        h.update(format!("{}\t{}\t{}\n", f.path, f.size, f.sha256));
    }
    let fp = hex::encode(h.finalize())[..32].to_string();
    if c.single_file {
        format!("LocalUpload/{fp}")
    } else {
        format!("LocalUpload/{fp}/{}", c.leaf)
    }
}

/// How a target compares with one asset of a snapshot.
pub(crate) enum Against {
    /// No version of that name and number in the target.
    Missing,
    /// The same specification and files; the target's content location (redacted).
    Identical(Option<String>),
    /// Same name and version, other content: the reasons.
    Different(Vec<String>),
    /// The target could not be read.
    Unreadable(String),
}

/// Compares the target's version of `a` (if any) with the snapshot's. Components, pipeline
/// definitions and data assets are compared as `copy` and `verify` compare them
/// ([`TargetComparer`]): by the specification the target would get, references rewritten.
pub(crate) async fn against_target(ctx: &Context, to: &WorkspaceRef, ds: &Datastores, engine: &Engine, a: &BundleAsset) -> Against {
    if matches!(a.kind, Kind::Component | Kind::Data | Kind::Pipeline) {
        return against_spec(ctx, to, ds, engine, a).await;
    }
    let vpath = format!("{}/{}/{}/versions/{}", workspace_path(to), a.kind.segment(), assets::enc(&a.name), assets::enc(&a.version));
    let existing = match ctx.arm.get(&vpath).await {
        Ok(v) => v,
        Err(Error::NotFound(_)) => return Against::Missing,
        Err(e) => return Against::Unreadable(format!("cannot read the target: {e}")),
    };
    let mut have = as_item(a);
    have.properties = existing.get("properties").cloned().unwrap_or(Value::Null);
    match differences(a, &mut have, ds, engine).await {
        Ok(why) if why.is_empty() => Against::Identical(have.location().map(crate::redact::url_str)),
        Ok(why) => Against::Different(why),
        Err(e) => Against::Unreadable(format!("cannot compare with the target: {e}")),
    }
}

async fn against_spec(ctx: &Context, to: &WorkspaceRef, ds: &Datastores, engine: &Engine, a: &BundleAsset) -> Against {
    let Some(from) = source_ws(&a.source) else {
        return Against::Unreadable(format!("the snapshot's source '{}' is not a workspace ARM id: its references cannot be rewritten", a.source));
    };
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let rw = Rewriter { src: ws_id(&from), dst: ws_id(to), version_of: &same_version };
    // Data files are never read here (copy_data: false), so the target's datastores serve as the source's.
    let cmp = TargetComparer { ctx, from: &from, to, src_ds: ds, tgt_ds: ds, engine, rw: &rw, submit: false, copy_data: false };
    let target = if matches!(a.kind, Kind::Data | Kind::Component) {
        let vpath = format!("{}/{}/{}/versions/{}", workspace_path(to), a.kind.segment(), assets::enc(&a.name), assets::enc(&a.version));
        match ctx.arm.get(&vpath).await {
            Err(Error::NotFound(_)) => return Against::Missing,
            Err(e) => return Against::Unreadable(format!("cannot read the target: {e}")),
            Ok(v) => Some(AssetItem { properties: v.get("properties").cloned().unwrap_or(Value::Null), ..as_item(a) }),
        }
    } else {
        None
    };
    let (_, _, comparison) = cmp.compare(spec_item(a), target).await;
    match comparison {
        Comparison::Missing => Against::Missing,
        Comparison::Identical => Against::Identical(None),
        Comparison::Different(why) => Against::Different(why),
        Comparison::Unknown(why) => Against::Unreadable(why),
    }
}

/// Opens a bundle and reads one snapshot's manifest (the newest when `id` is None).
pub(crate) async fn open_snapshot(ctx: Option<&Context>, raw: &str, id: Option<&str>) -> Result<(Bundle, Manifest)> {
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

/// What a restore did: the document `snapshot restore -o json` prints, and its exit code.
pub struct Restored {
    pub doc: Value,
    pub exit: Exit,
    /// One line: "snapshot <id> -> <ws>: n registered, ...".
    pub summary_line: String,
    items: Vec<RestoredItem>,
}

impl Restored {
    /// The human lines: what was registered, what conflicts, failed or needs manual
    /// re-registration (all with `verbose`).
    pub fn human(&self, verbose: bool) -> String {
        let mut out = String::new();
        for it in &self.items {
            if verbose || matches!(it.status, "conflict" | "failed" | "registered" | MANUAL) {
                let what = match &it.job {
                    Some(job) => format!("pipeline {job} (definition {}:{})", it.name, it.version),
                    None => format!("{} {}:{}", it.kind, it.name, it.version),
                };
                out.push_str(&format!("{:<10} {what}  {}\n", it.status, it.reason));
            }
        }
        out.push_str(&self.summary_line);
        out.push('\n');
        out
    }

    /// Per status: (registered, unchanged, conflicts, failed); data assets needing manual
    /// re-registration are in none of them.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let count = |st: &str| self.items.iter().filter(|i| i.status == st).count();
        (count("registered"), count("unchanged"), count("conflict"), count("failed"))
    }
}

pub async fn restore(s: &Settings, o: &RestoreCommand) -> Result<Exit> {
    let to = write_workspace(s, "snapshot restore")?;
    let ctx = Context::connect(&s.connect)?;
    let r = restore_into_with(s, &ctx, &to, &o.restore, &o.data).await?;
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&r.doc),
        OutputFormat::Human => print!("{}", r.human(s.printer.verbose() > 0)),
    }
    Ok(r.exit)
}

/// Restores a snapshot into `to` and reports, printing nothing (`failover --snapshot` when the
/// primary is down): [`restore_into_with`] with the default data options (YAML into
/// `./aml-failover-data`, data assets to re-register make the exit code 1).
pub async fn restore_into(s: &Settings, ctx: &Context, to: &WorkspaceRef, o: &RestoreOptions) -> Result<Restored> {
    restore_into_with(s, ctx, to, o, &DataRestoreOptions::default()).await
}

fn write_data_yaml(dir: &Path, item: &AssetItem) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-{}.yml", item.name, item.version));
    crate::atomic::write(&path, data::yaml(item).as_bytes())?;
    Ok(path)
}

/// Restores a snapshot into `to` and reports, printing nothing (`snapshot restore`).
pub async fn restore_into_with(s: &Settings, ctx: &Context, to: &WorkspaceRef, o: &RestoreOptions, data_o: &DataRestoreOptions) -> Result<Restored> {
    let started = std::time::Instant::now();
    let (bundle, m) = open_snapshot(Some(ctx), &o.bundle, o.snapshot.as_deref()).await?;
    let id = m.id.clone();
    let ds = Datastores::load(ctx, to).await?;
    let guard = crate::guard::TargetGuard::take(ctx, s.state_dir.as_deref(), to, &ds, &bundle.describe()).await?;
    let upload_ds = ds.default_blob()?.name.clone();
    let dst = ds.open(&upload_ds).await?;
    let dst_dyn: Arc<dyn Store> = dst.clone();
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));

    // The selected assets, and every asset of the snapshot they reference.
    let from = source_ws(&m.source);
    let src_id: WsId = from.as_ref().map(ws_id).unwrap_or_default();
    let mut latest = HashMap::new();
    for a in &m.assets {
        note_latest(&mut latest, a.kind, &a.name, &a.version, &a.container);
    }
    let edges = edges_of(
        m.assets.iter().map(|a| match &a.job {
            Some(j) => (key_of(a), Kind::Pipeline, &j.properties),
            None => (key_of(a), a.kind, &a.properties),
        }),
        &src_id,
        &latest,
    );
    let roots: Vec<Key> = m.assets.iter().filter(|a| o.kinds.as_ref().is_none_or(|k| k.contains(&a.selected_kind()))).map(key_of).collect();
    let chosen: BTreeSet<Key> = graph::closure(&roots, &edges).into_iter().collect();
    let assets: Vec<&BundleAsset> = m.assets.iter().filter(|a| chosen.contains(&key_of(a))).collect();
    let in_snapshot: BTreeSet<Key> = m.assets.iter().map(key_of).collect();
    let job_names: HashMap<Key, String> = m.assets.iter().filter_map(|a| a.job.as_ref().map(|j| (key_of(a), j.name.clone()))).collect();
    let job_of = |k: &Key| job_names.get(k).cloned();

    // Compare with the target.
    let conc = o.engine.concurrency.max(1);
    let compared: Vec<Against> = futures::stream::iter(assets.iter().map(|a| against_target(ctx, to, &ds, &quiet, a))).buffered(conc).collect().await;
    let mut out: Vec<RestoredItem> = Vec::new();
    let mut missing = Vec::new();
    for (i, (a, against)) in assets.iter().zip(compared).enumerate() {
        let (files, bytes) = a.content.as_ref().map_or((0, 0), |c| (c.files.len(), c.files.iter().map(|f| f.size).sum()));
        let mut item = RestoredItem {
            kind: a.kind,
            name: a.name.clone(),
            version: a.version.clone(),
            status: "registered",
            reason: String::new(),
            files,
            bytes,
            location: None,
            job: a.job.as_ref().map(|j| j.name.clone()),
            yaml: None,
            rewrites: Vec::new(),
        };
        match against {
            Against::Missing if a.kind == Kind::Data => item.status = MANUAL,
            Against::Missing => missing.push(i),
            Against::Identical(location) => {
                item.status = "unchanged";
                item.reason = "the same version with the same specification and files is already registered".into();
                item.location = location;
            }
            Against::Different(why) => {
                item.status = "conflict";
                item.reason = format!("the target's version differs ({}); not overwritten", why.join("; "));
            }
            Against::Unreadable(why) => {
                item.status = "failed";
                item.reason = why;
            }
        }
        out.push(item);
    }

    // Upload the missing ones' objects (verified by sha256).
    let mut jobs = Vec::new();
    let mut owner = Vec::new();
    for &i in &missing {
        let Some(c) = &assets[i].content else { continue };
        let prefix = restore_prefix(assets[i], c);
        for f in &c.files {
            owner.push(i);
            jobs.push(FileJob {
                src: Arc::clone(&bundle.store),
                src_path: bundle.object_path(&f.sha256)?,
                dst: Arc::clone(&dst_dyn),
                dst_path: StorePath::join(&prefix, &f.path)?,
                size: f.size,
                expected_sha256: Some(f.sha256.clone()),
                src_md5: None,
                src_tag: None,
                src_etag: None,
            });
        }
    }
    let results = run_jobs(s, &o.engine, &jobs).await;
    let mut uploaded = 0usize;
    let mut file_err: HashMap<usize, String> = HashMap::new();
    for ((i, job), r) in owner.iter().zip(&jobs).zip(results) {
        match r {
            Ok(d) => uploaded += usize::from(d.method != Method::AlreadyPresent),
            Err(e) => {
                file_err.entry(*i).or_insert_with(|| format!("{}: {e}", job.dst_path));
            }
        }
    }

    // Register in dependency order: each missing version whose files all arrived and whose
    // every reference is in the target (a data asset to re-register does not hold it back, as
    // in `copy`: its name is what the reference keeps). Data assets: their YAML only.
    let keys: Vec<Key> = assets.iter().map(|a| key_of(a)).collect();
    let pos: HashMap<&Key, usize> = keys.iter().enumerate().map(|(i, k)| (k, i)).collect();
    let is_missing: BTreeSet<usize> = missing.iter().copied().collect();
    let mut broken: BTreeSet<Key> = keys.iter().zip(&out).filter(|(_, it)| matches!(it.status, "conflict" | "failed")).map(|(k, _)| k.clone()).collect();
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let rw = from.as_ref().map(|f| Rewriter { src: ws_id(f), dst: ws_id(to), version_of: &same_version });
    for key in graph::order(&keys, &edges) {
        let i = pos[&key];
        let a = assets[i];
        if a.kind == Kind::Data {
            if out[i].status == MANUAL {
                match write_data_yaml(&data_o.output_dir, &as_item(a)) {
                    Ok(p) => {
                        out[i].reason = "needs manual re-registration: a snapshot never registers data assets (their path may be storage the target cannot reach); \
                            re-register it from the YAML written once its data is reachable from the target (az ml data create -f <yaml>)"
                            .into();
                        out[i].yaml = Some(p.display().to_string());
                    }
                    Err(e) => {
                        out[i].status = "failed";
                        out[i].reason = format!("needs manual re-registration, and its YAML could not be written into {}: {e}", data_o.output_dir.display());
                    }
                }
            }
            continue;
        }
        if !is_missing.contains(&i) {
            continue;
        }
        if let Some(chain) = graph::chain_to(&key, &edges, &|k: &Key| broken.contains(k) || !in_snapshot.contains(k)) {
            let last = chain.last().expect("a chain");
            let why = if in_snapshot.contains(last) { "was not restored" } else { "is not in the snapshot" };
            out[i].status = "failed";
            out[i].reason = format!("{}; nothing of it is registered", chain_text(&chain, why, &job_of));
            broken.insert(key);
            continue;
        }
        if let Some(e) = file_err.get(&i) {
            out[i].status = "failed";
            out[i].reason = format!("a file failed, nothing registered (rerun to resume): {e}");
            broken.insert(key);
            continue;
        }
        let result = if a.kind == Kind::Component {
            match (&from, &rw) {
                (Some(from), Some(rw)) => {
                    let (props, rewrites) = spec_desired(a, from, rw);
                    out[i].rewrites = rewrites;
                    assets::register_props(&ctx.arm, to, Kind::Component, &a.name, &a.container, &a.version, false, &props).await
                }
                _ => Err(Error::Usage(format!("the snapshot's source '{}' is not a workspace ARM id: references cannot be rewritten", m.source))),
            }
        } else {
            let location = a.content.as_ref().map(|c| {
                let prefix = restore_prefix(a, c);
                let content_path = if c.single_file { format!("{prefix}/{}", c.files[0].path) } else { prefix };
                match a.kind {
                    Kind::Model => ContentUri::datastore_uri(to, &upload_ds, &content_path),
                    _ => blob_folder_url(ctx, dst.account(), dst.container(), &content_path),
                }
            });
            out[i].location = location.as_deref().map(crate::redact::url_str);
            assets::register(&ctx.arm, to, &as_item(a), &a.version, false, location.as_deref()).await
        };
        match result {
            Ok(()) => {
                out[i].reason = match (&a.content, &a.job) {
                    (Some(c), _) => format!("{} files uploaded and verified (sha256), then registered", c.files.len()),
                    (None, Some(_)) => format!("registered as the job's definition (a pipeline component, not run); {}", pipeline::NOT_TRANSFERRED),
                    (None, None) if !out[i].rewrites.is_empty() => format!("registered, {} references rewritten to the target", out[i].rewrites.len()),
                    (None, None) => "registered (no files)".into(),
                };
            }
            Err(e) => {
                out[i].status = "failed";
                out[i].location = None;
                out[i].reason = match a.content {
                    Some(_) => context(e, "files verified, but registering failed").to_string(),
                    None => format!("registering failed: {e}"),
                };
                broken.insert(key);
            }
        }
    }

    let count = |st: &str| out.iter().filter(|i| i.status == st).count();
    let (registered, unchanged, conflicts, failed, manual) = (count("registered"), count("unchanged"), count("conflict"), count("failed"), count(MANUAL));
    let doc = json!({
        "schemaVersion": SCHEMA_VERSION,
        "command": "snapshot restore",
        "bundle": bundle.describe(),
        "snapshot": id,
        "createdAt": m.created_at,
        "source": m.source,
        "target": to.arm_id(),
        "durationMs": started.elapsed().as_millis() as u64,
        "summary": {"assets": out.len(), "registered": registered, "unchanged": unchanged, "conflicts": conflicts, "failed": failed,
            "needsManualReregistration": manual, "filesUploaded": uploaded},
        "items": out,
    });
    let mut summary_line = format!(
        "snapshot {id} -> {}: {registered} registered, {unchanged} unchanged, {conflicts} conflicts, {failed} failed; {uploaded} files uploaded",
        to.workspace_name
    );
    if manual > 0 {
        summary_line.push_str(&format!(
            "; {manual} data assets need manual re-registration (YAML in {}{})",
            data_o.output_dir.display(),
            if data_o.accept_warnings { "" } else { "; exit 1 unless --accept-data-warnings" }
        ));
    }
    let exit = if conflicts + failed > 0 || (manual > 0 && !data_o.accept_warnings) { Exit::Partial } else { Exit::Ok };
    guard.release().await;
    Ok(Restored { doc, exit, summary_line, items: out })
}

/// Why the target's version differs from the snapshot's (empty: identical).
async fn differences(a: &BundleAsset, have: &mut AssetItem, ds: &Datastores, engine: &Engine) -> Result<Vec<String>> {
    let mut why = Vec::new();
    let want = as_item(a);
    why.extend(crate::compare::spec_difference(&want.portable_properties(), &have.portable_properties()));
    match (&a.content, have.location().is_some()) {
        (None, false) => {}
        (None, true) | (Some(_), false) => why.push("one has files, the other has none".into()),
        (Some(c), true) => {
            let ours: Vec<(String, u64, String)> = c.files.iter().map(|f| (f.path.clone(), f.size, f.sha256.clone())).collect();
            if !crate::compare::holds_files(&ours, have, ds, engine).await? {
                why.push("the files differ (names, sizes or sha256)".into());
            }
        }
    }
    Ok(why)
}

// ---------------------------------------------------------------------------------------
// list and prune

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedSnapshot {
    id: String,
    created_at: String,
    source: String,
    assets: usize,
    objects: usize,
    bytes: u64,
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

pub async fn list(s: &Settings, raw: &str) -> Result<Exit> {
    let ctx = connect_for(s, raw)?;
    let bundle = open_bundle(ctx.as_ref(), raw)?;
    let mut rows = Vec::new();
    for id in bundle.snapshot_ids().await? {
        rows.push(listed(&bundle.read_manifest(&id).await?));
    }
    let objects = bundle.objects().await?;
    let stored: u64 = objects.values().sum();
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": SCHEMA_VERSION,
            "command": "snapshot list",
            "bundle": bundle.describe(),
            "objects": objects.len(),
            "bytes": stored,
            "snapshots": rows,
        })),
        OutputFormat::Human => {
            println!("{:<22}  {:<25}  {:>6}  {:>7}  {:>10}  SOURCE", "SNAPSHOT", "CREATED", "ASSETS", "FILES", "SIZE");
            for r in &rows {
                let src = r.source.rsplit('/').next().unwrap_or(&r.source);
                println!("{:<22}  {:<25}  {:>6}  {:>7}  {:>10}  {src}", r.id, r.created_at, r.assets, r.objects, crate::report::human_bytes(r.bytes));
            }
            println!(
                "{} snapshots in {}; {} objects stored once, {}",
                rows.len(),
                bundle.describe(),
                objects.len(),
                crate::report::human_bytes(stored)
            );
        }
    }
    Ok(Exit::Ok)
}

pub async fn prune(s: &Settings, o: &PruneOptions) -> Result<Exit> {
    if o.keep.is_none() && o.older_than.is_none() {
        return Err(Error::usage("snapshot prune needs --keep N, --older-than DURATION, or both"));
    }
    let ctx = connect_for(s, &o.bundle)?;
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
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": SCHEMA_VERSION,
            "command": "snapshot prune",
            "dryRun": o.dry_run,
            "bundle": bundle.describe(),
            "deletedSnapshots": deleted_ids,
            "keptSnapshots": kept,
            "deletedObjects": unreferenced.iter().map(|(h, _)| h.as_str()).collect::<Vec<_>>(),
            "keptObjects": objects.len() - unreferenced.len(),
            "bytesFreed": freed,
        })),
        OutputFormat::Human => {
            let verb = if o.dry_run { "would delete" } else { "deleted" };
            for id in &deleted_ids {
                println!("{verb} snapshot {id}");
            }
            println!(
                "{verb} {} snapshots and {} objects ({}); kept {} snapshots and {} objects",
                deleted_ids.len(),
                unreferenced.len(),
                crate::report::human_bytes(freed),
                kept.len(),
                objects.len() - unreferenced.len()
            );
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/primary";

    fn ws() -> WorkspaceRef {
        WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "primary".into() }
    }

    fn item(kind: Kind, name: &str, version: &str, properties: Value) -> AssetItem {
        AssetItem { kind, name: name.into(), version: version.into(), properties, container: Value::Null, content: None }
    }

    fn listed() -> Vec<AssetItem> {
        vec![
            item(Kind::Code, "c", "1", json!({"codeUri": "https://a.blob.core.windows.net/c/x"})),
            item(Kind::Environment, "e", "1", json!({"image": "python"})),
            item(Kind::Environment, "e", "2", json!({"image": "python"})),
            item(Kind::Component, "train", "1", json!({"componentSpec": {"code": format!("azureml:{WS}/codes/c/versions/1"), "environment": "azureml:e:1"}})),
            item(Kind::Component, "score", "1", json!({"componentSpec": {"environment": "azureml:e@latest"}})),
            item(Kind::Component, "broken", "1", json!({"componentSpec": {"code": format!("azureml:{WS}/codes/gone/versions/3")}})),
            item(Kind::Data, "d", "1", json!({"dataType": "uri_file", "dataUri": "https://x/y.csv"})),
            item(Kind::Model, "m", "1", json!({"modelUri": "azureml://datastores/x/paths/m"})),
        ]
    }

    fn job(name: &str) -> AssetItem {
        item(
            Kind::Pipeline,
            name,
            "1",
            json!({"jobType": "Pipeline", "status": "Completed", "inputs": {"raw": {"jobInputType": "uri_file", "uri": "azureml:d:1"}},
                "jobs": {"train": {"component": format!("azureml:{WS}/components/train/versions/1")}, "score": {"component": "azureml:score@latest"}}}),
        )
    }

    fn keys(p: &Picked) -> BTreeSet<String> {
        p.items.iter().map(|i| format!("{}/{}:{}", i.kind, i.name, i.version)).collect()
    }

    #[test]
    fn an_export_holds_what_its_components_and_pipelines_reference() {
        // --kinds components --name train: its code and environment come along, nothing else.
        let p = pick(&ws(), &[Kind::Component], Some("train"), listed(), Vec::new());
        assert_eq!(keys(&p), ["code/c:1", "component/train:1", "environment/e:1"].map(String::from).into());
        assert!(p.errors.is_empty() && p.refused.is_empty());

        // A pipeline: kept as its definition (version 1, named after the job), with every
        // component, code, environment (latest: e:2) and data asset it references.
        let p = pick(&ws(), &[Kind::Pipeline], None, listed(), vec![job("hello-pipe")]);
        assert_eq!(
            keys(&p),
            ["code/c:1", "component/hello_pipe:1", "component/score:1", "component/train:1", "data/d:1", "environment/e:1", "environment/e:2"].map(String::from).into()
        );
        let key = (Kind::Component, "hello_pipe".to_string(), "1".to_string());
        let def = p.items.iter().find(|i| i.key() == key).unwrap();
        assert_eq!(def.properties["componentSpec"]["type"], "pipeline");
        assert_eq!(def.properties["properties"]["aml-failover.sourceJob"], format!("{WS}/jobs/hello-pipe"));
        let j = &p.jobs[&key];
        assert_eq!(j.name, "hello-pipe");
        assert!(j.properties.get("status").is_none(), "run state is not kept: {}", j.properties);

        // A reference missing in the source fails the item, naming the chain.
        let p = pick(&ws(), &[Kind::Component], None, listed(), Vec::new());
        let e = &p.errors[&(Kind::Component, "broken".to_string(), "1".to_string())];
        assert_eq!(e.split(';').next().unwrap(), "component broken:1 → code gone:3 missing in the source workspace");
        assert_eq!(p.errors.len(), 1);

        // A job whose definition name is taken by another component is refused; a definition
        // the source already holds stands for its job.
        let mut l = listed();
        l.push(item(Kind::Component, "hello_pipe", "1", json!({"componentSpec": {}})));
        let p = pick(&ws(), &[Kind::Pipeline], None, l.clone(), vec![job("hello-pipe")]);
        assert_eq!(p.refused.len(), 1, "{:?}", p.refused);
        l.last_mut().unwrap().properties = json!({"componentSpec": {"type": "pipeline"}, "properties": {"aml-failover.sourceJob": "x/jobs/hello-pipe"}});
        let p = pick(&ws(), &[Kind::Pipeline], None, l, vec![job("hello-pipe")]);
        assert!(p.refused.is_empty() && p.jobs.is_empty());
        assert!(keys(&p).contains("component/hello_pipe:1"));
    }
}
