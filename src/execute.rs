//! The executor: runs a [`Plan`]. Transfers every file of the items to copy through one engine
//! (verified), then registers in dependency order only items whose every file was verified and
//! whose every dependency is in the target, journaling each step so a rerun resumes.
//!
//! [`copy`] is the library API of `copy` (and of `plan`/`--dry-run`, which print the plan
//! without running it): resolve → journal and lock → [`crate::plan::build`] → [`run`] →
//! report (manifest written). `failover` calls [`copy`] instead of a command.
//!
//! Its two steps are shared by every writing path: [`transfer`] (every file through one
//! engine, verified, with progress and the journal) runs the transfers of `copy`, `failover`,
//! `snapshot export|restore`, `outputs copy`, `notebooks copy|recover` and the single-asset
//! verbs; [`Gate`] (dependency order; nothing registered whose dependency is not in the
//! target) orders the registrations of [`run`] and of `snapshot restore`, whose plan is a
//! bundle's manifest rather than a [`Plan`] (see `crate::bundle::restore`).

use crate::assets::refs::{self, Rewriter};
use crate::assets::uri::ContentUri;
use crate::assets::graph::{self, Edges};
use crate::assets::{self, data, AssetItem, Kind};
use crate::settings::Settings;
use crate::compare::TargetComparer;
use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::plan::{self, Action, CopyOptions, Decision, Key, Plan};
use crate::report::{FileRecord, ItemRecord, Report, Status};
use crate::storage::datastore::Datastores;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, EngineOptions, FileDone, FileJob, Silent, TransferReporter};
use crate::workspace::{Context, WorkspaceRef};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// A copy from `--from` to `--to` (a dry run: its plan): the finished report, manifest
/// written, nothing printed. `command` names the report ("copy", "plan").
pub async fn copy(s: &Settings, o: &CopyOptions, command: &'static str) -> Result<Report> {
    let started = Instant::now();
    let started_at = crate::report::now_rfc3339();
    let from = s.from.clone().ok_or_else(|| Error::usage("copy needs --from (the primary workspace)"))?;
    let to = s.to.clone().ok_or_else(|| Error::usage("copy needs --to (the failover workspace)"))?;
    if from == to {
        return Err(Error::usage("--from and --to name the same workspace"));
    }
    // Lock the target and open (or resume) the journal before anything is read or written.
    let (journal, stale_lock) = match o.dry_run {
        true => (None, None),
        false => {
            let root = s.state_dir.clone().ok_or_else(|| Error::usage("no state directory for the journal and lock: give --state-dir or AML_FAILOVER_STATE_DIR"))?;
            let dir = crate::journal::target_dir(&root, s.connect.cloud.resource_manager.as_str(), &to.arm_id());
            let (j, stale) = Journal::open(&dir, &from.arm_id(), &to.arm_id())?;
            (Some(Arc::new(j)), stale)
        }
    };
    let ctx = Context::connect(&s.connect)?;
    let mut listing = plan::list(&ctx, &from, &to, &o.selection).await?;
    // The target-side lock (a lease on a blob in the target's storage): a run from another
    // machine (or state directory) holding it stops this one here. Taken before the first write.
    let mut target_lock = match &journal {
        Some(j) => {
            let store = listing.tgt_ds.open(&listing.tgt_ds.default_blob()?.name).await?;
            let me = crate::lease::Me { plan_id: j.plan_id.clone(), started_at: started_at.clone(), source: from.arm_id() };
            Some(crate::lease::TargetLock::check(store, &j.lease_id, me).await?)
        }
        None => None,
    };
    // The estate's datastores, connections and computes first (under the target's lock): a
    // data asset whose datastore is now in the target re-registers against it.
    let estate = crate::estate::Run::new(&ctx, &from, &to, o).await?;
    if let (Some(l), true) = (target_lock.as_mut(), estate.is_some() && !o.dry_run) {
        l.acquire().await?;
    }
    let mut defs = Vec::new();
    if let Some(e) = &estate {
        defs = e.phase(true).await?;
        if defs.iter().any(|d| d.written && d.kind == crate::assets::definition::DefKind::Datastore) {
            listing.tgt_ds = crate::storage::datastore::Datastores::load(&ctx, &to).await?;
        }
    }
    let plan = plan::build(&ctx, &from, &to, listing, &o.plan_options()).await?;
    if o.dry_run {
        let mut report = plan.report(command, started_at);
        if let Some(e) = &estate {
            defs.extend(e.phase(false).await?);
        }
        report.estate = defs;
        return finish(o, report, started);
    }

    // The target's lock is held from the first write to the end, however the copy ends (a
    // panic or kill leaves it to expire).
    if let (Some(l), true) = (target_lock.as_mut(), plan.writes()) {
        if !l.held() {
            l.acquire().await?;
        }
    }
    let show_progress = s.printer.show_progress();
    let mut report = plan.empty_report(command, false, started_at);
    report.warnings.extend(stale_lock);
    let mut written = run(&ctx, &plan, journal.as_ref(), show_progress, &o.data.output_dir, &mut report).await;
    // Then what refers to models, environments and code: endpoints, deployments, schedules.
    if let (Some(e), true) = (&estate, written.is_ok()) {
        match e.phase(false).await {
            Ok(more) => defs.extend(more),
            Err(err) => written = Err(err),
        }
    }
    report.estate = defs;
    if let Some(l) = target_lock.as_mut() {
        l.release().await;
    }
    written?;
    // A run with failures keeps its journal open: the next run resumes it.
    if let Some(j) = &journal {
        if !report.items.iter().any(|i| i.status == Status::Failed) {
            j.complete();
        }
    }
    finish(o, report, started)
}

fn finish(o: &CopyOptions, mut report: Report, started: Instant) -> Result<Report> {
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.summarize();
    if !o.dry_run {
        report.write_manifest(o.manifest.clone(), "aml-failover-manifest")?;
    }
    Ok(report)
}

impl Plan {
    /// The report's header (the plan's warnings, no items yet).
    pub fn empty_report(&self, command: &'static str, dry_run: bool, started_at: String) -> Report {
        let mut r = Report::new(command, dry_run, self.from.arm_id(), self.to.arm_id(), started_at);
        r.warnings = self.warnings.clone();
        r
    }

    /// The plan as a report: every item planned (or failed), nothing written.
    pub fn report(&self, command: &'static str, started_at: String) -> Report {
        let mut report = self.empty_report(command, true, started_at);
        for p in &self.items {
            let d = &p.decision;
            let mut rec = record(&p.item, d, if d.action == Action::Fail { Status::Failed } else { Status::Planned }, Vec::new());
            rec.rewrites = p.rewrites.clone();
            report.items.push(rec);
        }
        report
    }
}

/// Runs `plan`: transfers, then registers in dependency order; the items go into `report`
/// (in plan order), with the journal's and the transfer's warnings.
pub async fn run(ctx: &Context, plan: &Plan, journal: Option<&Arc<Journal>>, show_progress: bool, yaml_dir: &std::path::Path, report: &mut Report) -> Result<()> {
    let (from, to, tgt_ds) = (&plan.from, &plan.to, &plan.tgt_ds);
    let items: HashMap<Key, &plan::PlannedItem> = plan.items.iter().map(|p| (p.key(), p)).collect();
    // Transfer: one job per file of every item to copy, all through one engine.
    let upload_ds = tgt_ds.default_blob()?.name.clone();
    let dst_store: Arc<dyn Store> = tgt_ds.open(&upload_ds).await?;
    let mut jobs: Vec<FileJob> = Vec::new();
    let mut job_owner: Vec<(Key, String)> = Vec::new();
    let mut new_locations: HashMap<Key, (String, String)> = HashMap::new();
    for p in plan.items.iter().filter(|p| p.decision.action.transfers()) {
        let Some(content) = &p.item.content else { continue };
        let (prefix, uri) = target_location(&p.item, from, to, tgt_ds, &upload_ds, ctx)?;
        for file in &content.files {
            let dst_path = StorePath::parse(&format!("{prefix}/{}", file.rel))?;
            job_owner.push((p.key(), file.rel.clone()));
            jobs.push(FileJob::from_source(&content.store, &file.meta, &dst_store, dst_path));
        }
        new_locations.insert(p.key(), (prefix, uri));
    }
    let results = transfer(&plan.engine, show_progress, journal, &jobs).await;
    if let Some(p) = journal.and_then(|j| j.previous.as_ref()) {
        report.warnings.push(crate::journal::resume_message(p, &jobs, &results));
    }

    let mut files_by_item: HashMap<Key, Vec<FileRecord>> = HashMap::new();
    for ((key, rel), (job, r)) in job_owner.into_iter().zip(jobs.iter().zip(results)) {
        files_by_item.entry(key).or_default().push(FileRecord::from_result(rel, job, &r));
    }

    // Register in dependency order: only items whose every file was verified and whose
    // every dependency is in the target.
    let target_version: HashMap<Key, String> = plan.items.iter().map(|p| (p.key(), p.decision.target_version.clone())).collect();
    let version_of = |k: Kind, n: &str, v: &str| target_version.get(&(k, n.to_string(), v.to_string())).cloned().unwrap_or_else(|| v.to_string());
    let register_rw = Rewriter { src: refs::ws_id(from), dst: refs::ws_id(to), version_of: &version_of };
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let compare_rw = Rewriter { src: refs::ws_id(from), dst: refs::ws_id(to), version_of: &same_version };
    let quiet_engine = Engine::new(plan.engine.clone(), Arc::new(Silent));
    let cmp = TargetComparer { ctx, from, to, src_ds: &plan.src_ds, tgt_ds, engine: &quiet_engine, rw: &compare_rw, submit: plan.submit, copy_data: plan.copy_data };
    let plan_keys: Vec<Key> = plan.items.iter().map(|p| p.key()).collect();
    let mut gate = Gate::new(&plan.edges, []);
    let mut records: HashMap<Key, ItemRecord> = HashMap::new();
    for key in gate.order(&plan_keys) {
        let p = items[&key];
        let (item, d) = (&p.item, &p.decision);
        let files = files_by_item.remove(&key).unwrap_or_default();
        let mut rec = record(item, d, status_of(d.action), files);
        let writes = d.action.writes();
        if writes {
            if let Some(chain) = gate.blocked(&key, &|_| false) {
                rec.status = Status::Failed;
                rec.reason = format!("{}; nothing of it is registered", plan::chain_text(&chain, "was not copied"));
            }
        }
        if writes && rec.status != Status::Failed {
            let failed: Vec<&FileRecord> = rec.files.iter().filter(|f| f.error.is_some()).collect();
            if !failed.is_empty() {
                rec.status = Status::Failed;
                rec.reason = format!(
                    "{} of {} files failed; nothing registered (rerun to resume): {}",
                    failed.len(),
                    rec.files.len(),
                    failed[0].error.as_deref().unwrap_or("")
                );
            } else {
                register_item(ctx, plan, p, journal, &cmp, &register_rw, new_locations.get(&key), &mut rec).await;
            }
        }
        if d.action == Action::Manual {
            match write_data_yaml(yaml_dir, item) {
                Ok(path) => rec.yaml = Some(path.display().to_string()),
                Err(e) => {
                    rec.status = Status::Failed;
                    rec.reason = format!("{}; and its YAML could not be written: {e}", rec.reason);
                }
            }
        }
        if matches!(rec.status, Status::Failed | Status::Conflict) {
            gate.failed(key.clone());
        }
        records.insert(key, rec);
    }
    for k in &plan_keys {
        if let Some(r) = records.remove(k) {
            report.items.push(r);
        }
    }
    Ok(())
}

/// The transfer step of every writing command: every file of every item through one engine,
/// each verified (sha256) as it lands, with progress (a bar for people when `show_progress`)
/// and, when given, the run's journal (a rerun resumes it). One result per job, in order.
pub async fn transfer(opts: &EngineOptions, show_progress: bool, journal: Option<&Arc<Journal>>, jobs: &[FileJob]) -> Vec<Result<FileDone>> {
    let total_bytes: u64 = jobs.iter().map(|j| j.size).sum();
    let progress = Arc::new(crate::settings::Progress::new(show_progress, total_bytes, jobs.len() as u64));
    let reporter: Arc<dyn TransferReporter> = match journal {
        Some(j) => Arc::new(crate::journal::Journaling { inner: progress.clone(), journal: j.clone() }),
        None => progress.clone(),
    };
    let results = Engine::new(opts.clone(), reporter).run(jobs.to_vec()).await;
    progress.finish();
    results
}

/// The register step's rule: items are registered in dependency order (what is needed
/// first), and one only when every item it needs is in the target; an item that did not get
/// there (failed, conflict, blocked) blocks everything that needs it, named as a chain.
pub struct Gate<'a, K: Ord + Clone> {
    edges: &'a Edges<K>,
    broken: BTreeSet<K>,
}

impl<'a, K: Ord + Clone> Gate<'a, K> {
    /// `broken`: the items known from the start not to reach the target.
    pub fn new(edges: &'a Edges<K>, broken: impl IntoIterator<Item = K>) -> Self {
        Gate { edges, broken: broken.into_iter().collect() }
    }

    /// `keys` in the order they are registered.
    pub fn order(&self, keys: &[K]) -> Vec<K> {
        graph::order(keys, self.edges)
    }

    /// The chain from `key` to the first item it needs that is not in the target (failed
    /// before, or `absent`: e.g. not in the snapshot), if any: `key` is not registered.
    pub fn blocked(&self, key: &K, absent: &dyn Fn(&K) -> bool) -> Option<Vec<K>> {
        graph::chain_to(key, self.edges, &|k: &K| self.broken.contains(k) || absent(k))
    }

    /// `key` did not reach the target: what needs it is blocked.
    pub fn failed(&mut self, key: K) {
        self.broken.insert(key);
    }
}

/// Registers one item whose files are verified (journaled: a version registered by the
/// interrupted run this one resumes is not registered again); the outcome goes into `rec`.
#[allow(clippy::too_many_arguments)]
async fn register_item(
    ctx: &Context,
    plan: &Plan,
    p: &plan::PlannedItem,
    journal: Option<&Arc<Journal>>,
    cmp: &TargetComparer<'_>,
    register_rw: &Rewriter<'_>,
    new_location: Option<&(String, String)>,
    rec: &mut ItemRecord,
) {
    let (item, d, to) = (&p.item, &p.decision, &plan.to);
    let replace = d.action == Action::Overwrite;
    let jkey = crate::journal::item_key(item.kind, &item.name, &item.version);
    // Registered under another number by the interrupted run this one resumes?
    let content = crate::journal::content_digest(item);
    let earlier = match journal {
        Some(j) => j.registered_elsewhere(&jkey, &d.target_version, &content, |v| cmp.held_by_target(item, &plan.tgt_by_name, v)).await,
        None => None,
    };
    if let Some(j) = journal.filter(|_| earlier.is_none()) {
        j.register_started(&jkey, &d.target_version, &content);
    }
    let spec = item.kind.spec();
    let result = if let Some(v) = earlier.clone() {
        rec.target_uri = new_location.map(|(_, u)| crate::redact::url_str(u));
        rec.reason = format!("already registered as version {v} by the interrupted run this one resumes");
        rec.target_version = v;
        Ok(())
    } else if let (Action::Reregister, Some((tds, uri))) = (d.action, &p.shared) {
        rec.target_uri = Some(crate::redact::url_str(uri));
        reregister_data(ctx, to, &plan.tgt_ds, item, tds, uri, &d.target_version).await
    } else if let Some((props, rewrites)) = spec.desired(item, &plan.from, plan.submit, register_rw) {
        rec.rewrites = rewrites;
        spec.register(&ctx.arm, to, item, crate::assets::kind::Registration { version: &d.target_version, replace, submit: plan.submit }, &props).await.map(|name| {
            rec.target_name = name;
        })
    } else {
        let loc = new_location.map(|(_, u)| u.clone());
        rec.target_uri = loc.as_deref().map(crate::redact::url_str);
        assets::register(&ctx.arm, to, item, &d.target_version, replace, loc.as_deref()).await
    };
    if let (Ok(()), Some(j), None) = (&result, journal, &earlier) {
        j.registered(&jkey, &d.target_version);
    }
    match result {
        Ok(()) if earlier.is_some() => {}
        Ok(()) => {
            rec.reason = match d.action {
                Action::Copy if item.kind == Kind::Job => format!(
                    "{}; {}",
                    if plan.submit { "submitted in the target (a new run)" } else { "recreated as a definition (a component), not run" },
                    assets::pipeline::NOT_TRANSFERRED
                ),
                Action::Copy if item.content.is_some() => "copied and verified".into(),
                Action::Copy => "registered".into(),
                _ => d.reason.clone(),
            };
        }
        Err(e) => {
            rec.status = Status::Failed;
            rec.target_uri = None;
            rec.reason = if item.content.is_some() { format!("files verified, but registering failed: {e}") } else { format!("registering failed: {e}") };
        }
    }
}

/// The status an item has in a report when nothing else happened to it.
fn status_of(a: Action) -> Status {
    match a {
        Action::Skip => Status::Skipped,
        Action::Conflict => Status::Conflict,
        Action::Fail => Status::Failed,
        Action::Manual => Status::NeedsManualReregistration,
        _ => Status::Copied,
    }
}

/// An item's record in a report, as decided (files: those transferred, else the source's).
pub fn record(item: &AssetItem, d: &Decision, status: Status, files: Vec<FileRecord>) -> ItemRecord {
    // Items that transferred nothing still list their source files in the manifest.
    let files = if files.is_empty() { source_files(item) } else { files };
    ItemRecord {
        kind: crate::report::ItemKind::Asset(item.kind),
        name: item.name.clone(),
        version: item.version.clone(),
        target_version: d.target_version.clone(),
        action: d.action,
        status,
        reason: d.reason.clone(),
        source_uri: item.location().map(crate::redact::url_str),
        target_uri: None,
        target_name: None,
        yaml: None,
        rewrites: Vec::new(),
        files,
    }
}

fn source_files(item: &AssetItem) -> Vec<FileRecord> {
    let Some(c) = &item.content else { return Vec::new() };
    c.files
        .iter()
        .map(|f| FileRecord::planned(f.rel.clone(), f.meta.size, f.meta.sha256.clone(), c.store.uri(&f.meta.path)))
        .collect()
}

/// Registers a data asset at `uri` on the target's datastore `tds`, after checking that the
/// shared datastore really holds something at that path.
/// Registers a data asset in the target at `uri`, on the target's datastore `tds` after checking
/// its data is there; `tds` empty: a URL outside any datastore, registered as it is, not read.
async fn reregister_data(ctx: &Context, to: &WorkspaceRef, tgt_ds: &Datastores, item: &AssetItem, tds: &str, uri: &str, version: &str) -> Result<()> {
    if tds.is_empty() {
        return assets::register(&ctx.arm, to, item, version, false, Some(uri)).await;
    }
    let mut probe = item.clone();
    probe.properties = item.properties_with_location(Some(uri));
    assets::resolve_content(&mut probe, tgt_ds).await.map_err(|e| {
        Error::Service(format!("datastore {tds} of the target was named as shared, but its data is not there ({e}); is it replicated?"))
    })?;
    assets::register(&ctx.arm, to, item, version, false, Some(uri)).await
}

fn write_data_yaml(dir: &std::path::Path, item: &AssetItem) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{}-{}.yml", item.name, item.version));
    crate::atomic::write(&path, data::yaml(item).as_bytes())?;
    Ok(path)
}

/// Where an item's files go in the target, and the URI its version will record. The
/// prefix is a fingerprint of the source item, so a rerun writes to the same place and the
/// engine skips files that are already there and verified.
fn target_location(item: &AssetItem, from: &WorkspaceRef, to: &WorkspaceRef, tgt_ds: &Datastores, upload_ds: &str, ctx: &Context) -> Result<(String, String)> {
    let content = item.content.as_ref().expect("only items with content");
    let mut h = Sha256::new();
    h.update(from.arm_id().to_ascii_lowercase());
    h.update(format!("\n{}\n{}\n{}\n", item.kind, item.name, item.version));
    for f in &content.files {
        h.update(format!("{}\t{}\t{}\n", f.rel, f.meta.size, f.meta.etag.as_deref().unwrap_or("")));
    }
    let fp = hex::encode(h.finalize())[..32].to_string();
    let leaf = content.base.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("content");
    let prefix = if content.single_file { format!("LocalUpload/{fp}") } else { format!("LocalUpload/{fp}/{leaf}") };
    let content_path = if content.single_file { format!("{prefix}/{}", content.files[0].rel) } else { prefix.clone() };
    let uri = if item.kind.spec().recorded_as_datastore_uri() {
        ContentUri::datastore_uri(to, upload_ds, &content_path)
    } else {
        let d = tgt_ds.default_blob()?;
        format!(
            "https://{}.blob.{}/{}/{}/",
            d.account_name.as_deref().unwrap_or_default(),
            ctx.cloud.storage_suffix,
            d.container_name.as_deref().unwrap_or_default(),
            content_path
        )
    };
    Ok((prefix, uri))
}
