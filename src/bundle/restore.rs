//! `snapshot restore`: compare each asset of a snapshot with the target, upload the objects of
//! the missing ones (verified), register them in dependency order with references rewritten;
//! data assets get their YAML only.
//!
//! The transfer and the registration order are the executor's ([`crate::execute::transfer`],
//! [`crate::execute::Gate`]), as in `copy`. What it runs is not a `plan::Plan`: the source is
//! a bundle's manifest (no workspace to list), a version is only ever registered under its own
//! number (no `--on-conflict`), and its report is `snapshot restore`'s own document.

use super::{as_item, chain_text, key_of, note_latest, open_snapshot, source_ws, DataRestoreOptions, Key, RestoreOptions, MANUAL, SCHEMA_VERSION};
use crate::assets::graph;
use crate::assets::refs::{Rewrite, Rewriter, WsId};
use crate::assets::uri::ContentUri;
use crate::assets::{self, data, pipeline, AssetItem, Kind};
use crate::azureml::workspace_path;
use crate::workspace::blob_folder_url;
use crate::assets::refs::ws_id;
use crate::compare::TargetComparer;
use crate::error::{Error, Exit, Result};
use crate::plan::Comparison;
use crate::settings::Settings;
use crate::bundle::manifest::{BundleAsset, BundleContent};
use crate::storage::datastore::Datastores;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob, Method, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// restore

/// One asset version of a restore.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct RestoredItem {
    /// component: a component, or a pipeline job's definition (then `job` names the job)
    #[schemars(extend("enum" = ["environment", "code", "model", "component", "data"]))]
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// needs-manual-reregistration: a data asset missing in the target; never registered, its
    /// az ml YAML is written (`yaml`)
    #[schemars(extend("enum" = ["registered", "unchanged", "conflict", "failed", "needs-manual-reregistration"]))]
    pub status: &'static str,
    pub reason: String,
    pub files: usize,
    pub bytes: u64,
    /// redacted content location in the target
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// a pipeline job's definition: the job's name
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// needs-manual-reregistration: the az ml YAML written for the data asset (path as in the
    /// source)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// references rewritten from the source workspace to the target (components, pipeline
    /// definitions); absent when none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub rewrites: Vec<Rewrite>,
}


/// The item `copy` compares and registers for a spec-only asset: a component, or the pipeline
/// job a definition is made from.
fn spec_item(a: &BundleAsset) -> AssetItem {
    match &a.job {
        Some(j) => AssetItem { kind: Kind::Job, name: j.name.clone(), version: "1".into(), properties: j.properties.clone(), container: Default::default(), content: None },
        None => as_item(a),
    }
}


/// The properties a component (or a pipeline job's definition) gets in the target, and the
/// references rewritten: what `copy` registers without `--submit`.
fn spec_desired(a: &BundleAsset, from: &WorkspaceRef, rw: &Rewriter) -> (Value, Vec<Rewrite>) {
    match &a.job {
        Some(j) => {
            // Rewrite the job first: the definition keeps some of it as text (settings).
            let mut job = pipeline::portable_job(&j.properties);
            let rewrites = rw.rewrite(&mut job);
            // Export keeps only jobs with a definition form; any other is restored as its job.
            let def = pipeline::definition(&j.name, &format!("{}/jobs/{}", from.arm_id(), j.name), &job);
            (def.unwrap_or(job), rewrites)
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
pub enum Against {
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
pub async fn against_target(ctx: &Context, to: &WorkspaceRef, ds: &Datastores, engine: &Engine, a: &BundleAsset) -> Against {
    if matches!(a.kind, Kind::Component | Kind::Data | Kind::Job) {
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


fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// What a restore did: the document `snapshot restore -o json` prints (and `failover` writes
/// to failover-snapshot-restore.json), and its exit code. Tolerant of added fields.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct RestoreReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "snapshot restore"))]
    pub command: &'static str,
    /// the bundle: local directory or redacted blob URL
    pub bundle: String,
    /// snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)
    #[schemars(regex(pattern = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$"))]
    pub snapshot: String,
    /// when the snapshot was taken (RFC 3339, UTC)
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// ARM id of the workspace the snapshot was exported from (from its manifest)
    pub source: String,
    /// ARM id of --to
    pub target: String,
    pub duration_ms: u64,
    pub summary: RestoreSummary,
    pub items: Vec<RestoredItem>,
    /// the snapshot's definitions written into the target as `copy` writes them (the copy
    /// report's estate items); absent when none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub estate: Vec<crate::estate::DefOutcome>,
    /// 0, or 1 (partial) on conflicts, failures, or data assets to re-register (unless accepted).
    #[serde(skip)]
    pub exit: Exit,
    /// One line: "snapshot <id> -> <ws>: n registered, ...".
    #[serde(skip)]
    pub summary_line: String,
}

/// counters of a snapshot restore: assets, then one per item status (conflicts: plural), data
/// assets needing manual re-registration, and files uploaded
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "restoreSummary", extend("additionalProperties" = true))]
pub struct RestoreSummary {
    pub assets: usize,
    pub registered: usize,
    pub unchanged: usize,
    pub conflicts: usize,
    pub failed: usize,
    /// data assets whose az ml YAML was written for re-registration by hand
    pub needs_manual_reregistration: usize,
    pub files_uploaded: usize,
}

impl RestoreReport {
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
        for d in &self.estate {
            if verbose || d.action != crate::estate::DefAction::Skip {
                out.push_str(&d.human());
            }
        }
        if !self.estate.is_empty() {
            out.push_str(&crate::estate::summary_line(&self.estate, false));
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


fn write_data_yaml(dir: &Path, item: &AssetItem) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-{}.yml", item.name, item.version));
    crate::atomic::write(&path, data::yaml(item).as_bytes())?;
    Ok(path)
}

/// Restores a snapshot into `to` and reports, printing nothing (`snapshot restore`, and
/// `failover --snapshot` when the primary is down). The target is locked meanwhile (its lease
/// and the local lock under `s.state_dir`); transfers show the printer's progress.
pub async fn restore(s: &Settings, ctx: &Context, to: &WorkspaceRef, o: &RestoreOptions, data_o: &DataRestoreOptions) -> Result<RestoreReport> {
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
    let edges = crate::assets::refs::edges_of(
        m.assets.iter().map(|a| match &a.job {
            Some(j) => (key_of(a), Kind::Job, &j.properties),
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
    let results = crate::execute::transfer(&o.engine, s.printer.show_progress(), None, &jobs).await;
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
    let mut gate = crate::execute::Gate::new(&edges, keys.iter().zip(&out).filter(|(_, it)| matches!(it.status, "conflict" | "failed")).map(|(k, _)| k.clone()));
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let rw = from.as_ref().map(|f| Rewriter { src: ws_id(f), dst: ws_id(to), version_of: &same_version });
    for key in gate.order(&keys) {
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
        if let Some(chain) = gate.blocked(&key, &|k: &Key| !in_snapshot.contains(k)) {
            let last = chain.last().expect("a chain");
            let why = if in_snapshot.contains(last) { "was not restored" } else { "is not in the snapshot" };
            out[i].status = "failed";
            out[i].reason = format!("{}; nothing of it is registered", chain_text(&chain, why, &job_of));
            gate.failed(key);
            continue;
        }
        if let Some(e) = file_err.get(&i) {
            out[i].status = "failed";
            out[i].reason = format!("a file failed, nothing registered (rerun to resume): {e}");
            gate.failed(key);
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
                match a.kind.spec().recorded_as_datastore_uri() {
                    true => ContentUri::datastore_uri(to, &upload_ds, &content_path),
                    false => blob_folder_url(ctx, dst.account(), dst.container(), &content_path),
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
                    Some(_) => e.context("files verified, but registering failed").to_string(),
                    None => format!("registering failed: {e}"),
                };
                gate.failed(key);
            }
        }
    }

    let count = |st: &str| out.iter().filter(|i| i.status == st).count();
    let (registered, unchanged, conflicts, failed, manual) = (count("registered"), count("unchanged"), count("conflict"), count("failed"), count(MANUAL));
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
    // The estate, after the assets its deployments and schedules refer to.
    let estate = match restore_estate(ctx, to, from.as_ref(), &m.definitions, o).await {
        Ok(e) => e,
        Err(e) => {
            guard.release().await;
            return Err(e);
        }
    };
    let estate_bad = estate.iter().any(|d| matches!(d.action, crate::estate::DefAction::Fail | crate::estate::DefAction::Conflict));
    let exit = if conflicts + failed > 0 || estate_bad || (manual > 0 && !data_o.accept_warnings) { Exit::Partial } else { Exit::Ok };
    guard.release().await;
    Ok(RestoreReport {
        schema_version: SCHEMA_VERSION,
        command: "snapshot restore",
        bundle: bundle.describe(),
        snapshot: id,
        created_at: m.created_at,
        source: m.source,
        target: to.arm_id(),
        duration_ms: started.elapsed().as_millis() as u64,
        summary: RestoreSummary {
            assets: out.len(),
            registered,
            unchanged,
            conflicts,
            failed,
            needs_manual_reregistration: manual,
            files_uploaded: uploaded,
        },
        items: out,
        estate,
        exit,
        summary_line,
    })
}

/// Writes the snapshot's definitions of `o.estate.kinds` into `to` through the estate code path
/// `copy` uses, the snapshot standing for the source (which is not contacted).
async fn restore_estate(ctx: &Context, to: &WorkspaceRef, from: Option<&WorkspaceRef>, defs: &[crate::bundle::manifest::BundleDefinition], o: &RestoreOptions) -> Result<Vec<crate::estate::DefOutcome>> {
    let defs: Vec<_> = defs.iter().filter(|d| o.estate.kinds.contains(&d.kind)).map(|d| d.definition()).collect();
    if defs.is_empty() {
        return Ok(Vec::new());
    }
    let from = from.ok_or_else(|| Error::Usage("the snapshot's source is not a workspace ARM id: its definitions' references cannot be rewritten".into()))?;
    let region = crate::azureml::workspaces::get(&ctx.arm, to).await?.location;
    let opts = crate::estate::Options {
        kinds: o.estate.kinds.clone(),
        name: None,
        copy: o.estate.copy.clone(),
        on_conflict: crate::plan::OnConflict::Report,
        deploy_online: o.estate.deploy_online,
        yaml_dir: Some(o.estate_dir.clone()),
        dry_run: false,
    };
    crate::estate::run_from(crate::estate::Source::Snapshot(&defs), &ctx.arm, from, to, &region, &opts).await
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
