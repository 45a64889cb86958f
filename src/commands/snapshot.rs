//! `aml-failover snapshot export|restore|list|prune`: pre-staging through a self-contained,
//! content-addressed bundle (layout in [`crate::storage::bundle`]).
//!
//! - **export** (`--from A --to <dir | blob container URL>`): lists the selected asset versions
//!   (models and environments by default; `code` too), finds each file's sha256 (recorded on
//!   the blob, else known from the previous snapshot for the same source version (URI +
//!   ETag), else read), copies each sha256 not yet in the bundle through the transfer engine
//!   (verified against that sha256), then publishes the manifest. A second export with nothing
//!   changed reads no file and writes only a new manifest. Any failure: no manifest (the
//!   objects written stay, so a rerun resumes), exit 1.
//! - **restore** (`<bundle> --to B`): for each asset of the snapshot (the newest, or
//!   `--snapshot ID`): a version already in B with the same specification and files is left
//!   alone; one that differs is a conflict (reported, never overwritten); a missing one has its
//!   objects uploaded to B's default blob datastore under `LocalUpload/<fingerprint>/` (verified
//!   by sha256), then is registered. The source workspace is never contacted.
//! - **list**: the snapshots, oldest first, with counts; **prune** (`--keep N`,
//!   `--older-than DURATION`): deletes manifests, then every object no remaining manifest names.

use super::assets_cmd::{blob_folder_url, context, read_workspace, run_jobs, write_workspace};
use crate::assets::uri::ContentUri;
use crate::assets::yaml::{self, LocalNames};
use crate::assets::{self, AssetItem, Kind, Selection};
use crate::azureml::workspace_path;
use crate::cli::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::storage::bundle::{self, Bundle, BundleAsset, BundleContent, BundleFile, Manifest};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, EngineOptions, FileJob, Method, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

pub const SCHEMA_VERSION: u32 = 1;

/// Kinds a snapshot can hold: those whose versions are their own files and specification.
pub const SNAPSHOT_KINDS: &[Kind] = &[Kind::Environment, Kind::Code, Kind::Model];

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The bundle: a local directory or a blob container URL (from `--to`).
    pub bundle: String,
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub bundle: String,
    pub snapshot: Option<String>,
    pub kinds: Option<Vec<Kind>>,
    pub engine: EngineOptions,
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
        return Err(Error::usage(format!(
            "snapshots hold models, environments and code; not {} (use `copy` for those)",
            bad.join(", ")
        )));
    }
    Ok(kinds)
}

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
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

pub async fn export(s: &Settings, o: &ExportOptions) -> Result<Exit> {
    let started = std::time::Instant::now();
    let from = read_workspace(s, "snapshot export")?;
    let ctx = Context::connect(&s.connect)?;
    let bundle = open_bundle(Some(&ctx), &o.bundle)?;
    let sel = Selection { kinds: o.kinds.clone(), name: o.name.clone(), latest_only: false };
    let (mut items, ds) = futures::future::try_join(assets::list_versions(&ctx.arm, &from, &sel), Datastores::load(&ctx, &from)).await?;
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

    // Resolve every item's files and find each file's sha256.
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let mut errors: Vec<Option<String>> = vec![None; items.len()];
    for (i, item) in items.iter_mut().enumerate() {
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
        out.push(ExportedItem {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            status: if err.is_some() { "failed" } else { "exported" },
            files: content.as_ref().map_or(0, |c| c.files.len()),
            bytes: item.total_bytes(),
            error: err,
        });
        let names = LocalNames { content: content.as_ref().map(|c| c.leaf.clone()), conda_file: None };
        assets_out.push(BundleAsset {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            properties: item.properties.clone(),
            container: item.container.clone(),
            yaml: yaml::to_yaml(item, &names).ok(),
            content,
        });
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
    match s.output {
        OutputFormat::Json => super::print_json(&doc),
        OutputFormat::Human => {
            if s.verbose > 0 || failed > 0 {
                for it in &out {
                    match &it.error {
                        None => println!("exported {} {}:{} ({} files)", it.kind, it.name, it.version, it.files),
                        Some(e) => println!("FAILED   {} {}:{}  {e}", it.kind, it.name, it.version),
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
    /// registered | unchanged | conflict | failed
    status: &'static str,
    reason: String,
    files: usize,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
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

/// Compares the target's version of `a` (if any) with the snapshot's.
pub(crate) async fn against_target(ctx: &Context, to: &WorkspaceRef, ds: &Datastores, engine: &Engine, a: &BundleAsset) -> Against {
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
    /// The human lines: what was registered, what conflicts or failed (all with `verbose`).
    pub fn human(&self, verbose: bool) -> String {
        let mut out = String::new();
        for it in &self.items {
            if verbose || matches!(it.status, "conflict" | "failed" | "registered") {
                out.push_str(&format!("{:<10} {} {}:{}  {}\n", it.status, it.kind, it.name, it.version, it.reason));
            }
        }
        out.push_str(&self.summary_line);
        out.push('\n');
        out
    }

    /// Per status: (registered, unchanged, conflicts, failed).
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let count = |st: &str| self.items.iter().filter(|i| i.status == st).count();
        (count("registered"), count("unchanged"), count("conflict"), count("failed"))
    }
}

pub async fn restore(s: &Settings, o: &RestoreOptions) -> Result<Exit> {
    let to = write_workspace(s, "snapshot restore")?;
    let ctx = Context::connect(&s.connect)?;
    let r = restore_into(s, &ctx, &to, o).await?;
    match s.output {
        OutputFormat::Json => super::print_json(&r.doc),
        OutputFormat::Human => print!("{}", r.human(s.verbose > 0)),
    }
    Ok(r.exit)
}

/// Restores a snapshot into `to` and reports, printing nothing (`snapshot restore`, and
/// `failover --snapshot` when the primary is down).
pub async fn restore_into(s: &Settings, ctx: &Context, to: &WorkspaceRef, o: &RestoreOptions) -> Result<Restored> {
    let started = std::time::Instant::now();
    let (bundle, m) = open_snapshot(Some(ctx), &o.bundle, o.snapshot.as_deref()).await?;
    let id = m.id.clone();
    let ds = Datastores::load(ctx, to).await?;
    let upload_ds = ds.default_blob()?.name.clone();
    let dst = ds.open(&upload_ds).await?;
    let dst_dyn: Arc<dyn Store> = dst.clone();
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let assets: Vec<&BundleAsset> = m.assets.iter().filter(|a| o.kinds.as_ref().is_none_or(|k| k.contains(&a.kind))).collect();

    // Compare with the target.
    let mut out: Vec<RestoredItem> = Vec::new();
    let mut missing = Vec::new();
    for (i, a) in assets.iter().enumerate() {
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
        };
        match against_target(ctx, to, &ds, &quiet, a).await {
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

    // Upload the missing ones' objects (verified by sha256), then register each whose files all arrived.
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
    for &i in &missing {
        let a = assets[i];
        if let Some(e) = file_err.get(&i) {
            out[i].status = "failed";
            out[i].reason = format!("a file failed, nothing registered (rerun to resume): {e}");
            continue;
        }
        let location = a.content.as_ref().map(|c| {
            let prefix = restore_prefix(a, c);
            let content_path = if c.single_file { format!("{prefix}/{}", c.files[0].path) } else { prefix };
            match a.kind {
                Kind::Model => ContentUri::datastore_uri(to, &upload_ds, &content_path),
                _ => blob_folder_url(ctx, dst.account(), dst.container(), &content_path),
            }
        });
        match assets::register(&ctx.arm, to, &as_item(a), &a.version, false, location.as_deref()).await {
            Ok(()) => {
                out[i].reason = match &a.content {
                    Some(c) => format!("{} files uploaded and verified (sha256), then registered", c.files.len()),
                    None => "registered (no files)".into(),
                };
                out[i].location = location.as_deref().map(crate::redact::url_str);
            }
            Err(e) => {
                out[i].status = "failed";
                out[i].reason = context(e, "files verified, but registering failed").to_string();
            }
        }
    }

    let count = |st: &str| out.iter().filter(|i| i.status == st).count();
    let (registered, unchanged, conflicts, failed) = (count("registered"), count("unchanged"), count("conflict"), count("failed"));
    let doc = json!({
        "schemaVersion": SCHEMA_VERSION,
        "command": "snapshot restore",
        "bundle": bundle.describe(),
        "snapshot": id,
        "createdAt": m.created_at,
        "source": m.source,
        "target": to.arm_id(),
        "durationMs": started.elapsed().as_millis() as u64,
        "summary": {"assets": out.len(), "registered": registered, "unchanged": unchanged, "conflicts": conflicts, "failed": failed, "filesUploaded": uploaded},
        "items": out,
    });
    let summary_line = format!(
        "snapshot {id} -> {}: {registered} registered, {unchanged} unchanged, {conflicts} conflicts, {failed} failed; {uploaded} files uploaded",
        to.workspace_name
    );
    let exit = if conflicts + failed > 0 { Exit::Partial } else { Exit::Ok };
    Ok(Restored { doc, exit, summary_line, items: out })
}

/// Why the target's version differs from the snapshot's (empty: identical).
async fn differences(a: &BundleAsset, have: &mut AssetItem, ds: &Datastores, engine: &Engine) -> Result<Vec<String>> {
    let mut why = Vec::new();
    let want = as_item(a);
    if want.portable_properties() != have.portable_properties() {
        why.push("the specification differs".to_string());
    }
    match (&a.content, have.location().is_some()) {
        (None, false) => {}
        (None, true) | (Some(_), false) => why.push("one has files, the other has none".into()),
        (Some(c), true) => {
            assets::resolve_content(have, ds).await?;
            let hc = have.content.as_ref().expect("resolved");
            let mut theirs = Vec::new();
            for f in &hc.files {
                let sha = match &f.meta.sha256 {
                    Some(h) => h.clone(),
                    None => engine.digest(&*hc.store, &f.meta.path, f.meta.size, false).await?.sha256,
                };
                theirs.push((f.rel.clone(), f.meta.size, sha));
            }
            let mut ours: Vec<(String, u64, String)> = c.files.iter().map(|f| (f.path.clone(), f.size, f.sha256.clone())).collect();
            theirs.sort();
            ours.sort();
            if theirs != ours {
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
    match s.output {
        OutputFormat::Json => super::print_json(&json!({
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
    match s.output {
        OutputFormat::Json => super::print_json(&json!({
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
