//! `aml-failover copy`: every asset kind from one workspace to another, in dependency order.
//! resolve → enumerate (with the dependency graph) → compare → plan → transfer (verified) →
//! register (dependencies first, references rewritten) → report.

use crate::settings::Progress;
use crate::assets::uri::ContentUri;
use crate::assets::graph::{self, Edges};
use crate::assets::refs::{self, Rewrite, Rewriter, VersionSpec, WsId};
use crate::assets::{self, data, pipeline, AssetItem, Kind, Selection};
use crate::plan::CopyOptions;
use crate::settings::{OutputFormat, Settings};
use crate::compare;
use crate::error::{Error, Exit, Result};
use crate::plan::{self, Action, Comparison, Decision, Facts, OnConflict};
use crate::report::{FileRecord, ItemRecord, Report, Status};
use crate::storage::datastore::Datastores;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob, Silent, TransferReporter};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

type Key = (Kind, String, String);


pub(crate) fn ws_id(w: &WorkspaceRef) -> WsId {
    (w.subscription_id.clone(), w.resource_group.clone(), w.workspace_name.clone())
}

fn label(k: &Key) -> String {
    if k.0 == Kind::Pipeline {
        format!("pipeline {}", k.1)
    } else {
        format!("{} {}:{}", k.0, k.1, k.2)
    }
}

fn chain_text(chain: &[Key], last: &str) -> String {
    let mut s: Vec<String> = chain.iter().map(label).collect();
    if let Some(l) = s.last_mut() {
        l.push(' ');
        l.push_str(last);
    }
    s.join(" → ")
}

/// The properties a spec-only item (component, pipeline) gets in the target, with its
/// references rewritten, and the rewrites; other kinds: their portable properties.
fn desired(item: &AssetItem, from: &WorkspaceRef, submit: bool, rw: &Rewriter) -> (Value, Vec<Rewrite>) {
    item.kind.spec().desired(item, from, submit, rw).unwrap_or_else(|| (item.portable_properties(), Vec::new()))
}

pub async fn run(s: &Settings, o: &CopyOptions) -> Result<Exit> {
    let report = run_report(s, o).await?;
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&serde_json::to_value(&report).expect("report serializes")),
        OutputFormat::Human => print!("{}", report.human(o.show_all_items || o.dry_run)),
    }
    Ok(report.exit_with(o.data.accept_warnings))
}

/// `plan`: `copy --dry-run`, reported as the command "plan".
pub async fn plan(s: &Settings, o: &CopyOptions) -> Result<Exit> {
    let mut o = o.clone();
    o.dry_run = true;
    let mut report = run_report(s, &o).await?;
    report.command = "plan";
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&serde_json::to_value(&report).expect("report serializes")),
        OutputFormat::Human => print!("{}", report.human(true)),
    }
    Ok(report.exit_with(o.data.accept_warnings))
}

/// The copy itself: the finished report (manifest written), nothing printed.
pub async fn run_report(s: &Settings, o: &CopyOptions) -> Result<Report> {
    let started = Instant::now();
    let started_at = now_rfc3339();
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
            let (j, stale) = crate::journal::Journal::open(&dir, &from.arm_id(), &to.arm_id())?;
            (Some(Arc::new(j)), stale)
        }
    };
    let ctx = Context::connect(&s.connect)?;
    let sel = &o.selection;
    let kinds = graph::needed_kinds(&sel.kinds);

    // Enumerate both sides: every version of every kind the selection needs (dependencies
    // may be older versions), then pick the selected items in memory.
    let all_versions = Selection { kinds: kinds.clone(), name: None, latest_only: false };
    let want_pipelines = sel.kinds.contains(&Kind::Pipeline);
    let (src_all, tgt_items, src_ds, tgt_ds) = futures::future::try_join4(
        assets::list_versions(&ctx.arm, &from, &all_versions),
        assets::list_versions(&ctx.arm, &to, &all_versions),
        Datastores::load(&ctx, &from),
        Datastores::load(&ctx, &to),
    )
    .await?;
    // The target-side lock (a lease on a blob in the target's storage): a run from another
    // machine (or state directory) holding it stops this one here. Taken before the first write.
    let mut target_lock = match &journal {
        Some(j) => {
            let store = tgt_ds.open(&tgt_ds.default_blob()?.name).await?;
            let me = crate::lease::Me { plan_id: j.plan_id.clone(), started_at: started_at.clone(), source: from.arm_id() };
            Some(crate::lease::TargetLock::check(store, &j.lease_id, me).await?)
        }
        None => None,
    };
    let src_pipelines = if want_pipelines { pipeline::list(&ctx.arm, &from, sel.name.as_deref()).await? } else { Vec::new() };

    let mut latest: HashMap<(Kind, String), String> = HashMap::new();
    for i in &src_all {
        let l = i.container.get("latestVersion").and_then(Value::as_str).map(str::to_string);
        let e = latest.entry((i.kind, i.name.clone())).or_insert_with(|| i.version.clone());
        if let Some(l) = l {
            *e = l;
        } else if assets::version_order(&i.version, e) == std::cmp::Ordering::Greater {
            *e = i.version.clone();
        }
    }
    let mut index: BTreeMap<Key, AssetItem> = BTreeMap::new();
    let mut roots: Vec<Key> = Vec::new();
    // A source that already holds a pipeline's definition component (a workspace this tool
    // failed over into, copied back) sends it as that component: registering the job's
    // definition too would write the same component version twice.
    let definitions: BTreeSet<String> = if sel.kinds.contains(&Kind::Component) {
        src_all
            .iter()
            .filter(|i| i.kind == Kind::Component && i.version == "1" && sel.name.as_deref().is_none_or(|p| assets::name_matches(p, &i.name)))
            .filter(|i| i.properties.get("properties").and_then(|p| p.get("aml-failover.sourceJob")).is_some())
            .map(|i| i.name.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    for i in src_all.into_iter().chain(src_pipelines) {
        let selected = sel.kinds.contains(&i.kind)
            && sel.name.as_deref().is_none_or(|p| assets::name_matches(p, &i.name))
            && (!sel.latest_only || i.kind == Kind::Pipeline || latest.get(&(i.kind, i.name.clone())) == Some(&i.version))
            && !(i.kind == Kind::Pipeline && definitions.contains(&pipeline::definition_name(&i.name)));
        if selected {
            roots.push(i.key());
        }
        index.insert(i.key(), i);
    }

    // The dependency graph (references into the source workspace, or relative ones).
    let src_ws = ws_id(&from);
    let mut edges: Edges<Key> = BTreeMap::new();
    for (k, i) in &index {
        let deps: Vec<Key> = refs::dependencies(i.kind, &i.properties)
            .into_iter()
            .filter(|d| d.workspace.as_ref().is_none_or(|w| refs::same_ws(w, &src_ws)))
            .map(|d| {
                let v = match d.version {
                    VersionSpec::Exact(v) => v,
                    VersionSpec::Latest | VersionSpec::Label(_) => latest.get(&(d.kind, d.name.clone())).cloned().unwrap_or_else(|| "latest".into()),
                };
                (d.kind, d.name, v)
            })
            .collect();
        if !deps.is_empty() {
            edges.insert(k.clone(), deps);
        }
    }
    let nodes: Vec<Key> = graph::closure(&roots, &edges).into_iter().filter(|k| index.contains_key(k)).collect();
    let src_items: Vec<AssetItem> = nodes.iter().map(|k| index[k].clone()).collect();

    let quiet_engine = Engine::new(o.engine.clone(), Arc::new(Silent));
    // Every target version by name, for --on-conflict new-version (see `copied_as`).
    let mut tgt_by_name: HashMap<(Kind, String), Vec<AssetItem>> = HashMap::new();
    if o.on_conflict == OnConflict::NewVersion {
        for i in &tgt_items {
            tgt_by_name.entry((i.kind, i.name.clone())).or_default().push(i.clone());
        }
    }
    let mut targets: HashMap<Key, AssetItem> = tgt_items.into_iter().map(|i| (i.key(), i)).collect();
    let mut target_versions: HashMap<(Kind, String), Vec<String>> = HashMap::new();
    // New version numbers must not collide with the target's versions nor with the
    // source versions this run copies under their own numbers.
    for (k, n, v) in targets.keys().chain(src_items.iter().map(|i| (i.kind, i.name.clone(), i.version.clone())).collect::<Vec<_>>().iter()) {
        target_versions.entry((*k, n.clone())).or_default().push(v.clone());
    }
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let compare_rw = Rewriter { src: src_ws.clone(), dst: ws_id(&to), version_of: &same_version };
    let data_o = &o.data;

    // Resolve content and compare with the target (reads hashes only where a target exists).
    let conc = o.engine.concurrency.max(plan::PLAN_CONCURRENCY);
    let cmp = TargetComparer { ctx: &ctx, from: &from, to: &to, src_ds: &src_ds, tgt_ds: &tgt_ds, engine: &quiet_engine, rw: &compare_rw, submit: o.submit, copy_data: data_o.copy_data };
    let compared: Vec<(AssetItem, Facts)> = futures::stream::iter(src_items.into_iter().map(|item| {
        let target = targets.remove(&item.key());
        let tv = target_versions.get(&(item.kind, item.name.clone())).cloned().unwrap_or_default();
        let cmp = &cmp;
        async move {
            let (item, unreadable, comparison) = cmp.compare(item, target).await;
            let facts = Facts { kind: item.kind, name: item.name.clone(), version: item.version.clone(), unreadable, comparison, target_versions: tv };
            (item, facts)
        }
    }))
    .buffer_unordered(conc)
    .collect()
    .await;

    let mut items: HashMap<Key, AssetItem> = HashMap::new();
    let mut facts_list = Vec::new();
    for (item, facts) in compared {
        items.insert(item.key(), item);
        facts_list.push(facts);
    }
    let mut planned = plan::plan(facts_list, o.on_conflict);
    // --on-conflict new-version: a source version the target already holds, identical, under
    // another number (registered by an earlier run, or by one killed before its journal said
    // so) is not registered once more: a rerun changes nothing.
    for (f, d) in planned.iter_mut().filter(|(_, d)| d.action == Action::NewVersion) {
        let item = &items[&(f.kind, f.name.clone(), f.version.clone())];
        let others = tgt_by_name.get(&(f.kind, f.name.clone())).map(Vec::as_slice).unwrap_or_default();
        match cmp.copied_as(item, others).await {
            Ok(Some(v)) => {
                d.action = Action::Skip;
                d.reason = format!("already in the target as version {v}, identical (spec and sha256 of every file): copied there by an earlier --on-conflict new-version run");
                d.target_version = v;
            }
            Ok(None) => {}
            // Whether another version already holds it is unknown: a new one could duplicate it.
            Err(why) => *d = plan::decide(&Facts { comparison: Comparison::Unknown(why), ..f.clone() }, o.on_conflict),
        }
    }
    plan::allocate_new_versions(&mut planned);

    // A missing dependency fails the item, naming the chain; data assets get their policy.
    let mut shared_locations: HashMap<Key, (String, String)> = HashMap::new();
    let mut data_names = Vec::new();
    let mut unresolvable: BTreeSet<Key> = BTreeSet::new();
    for (f, d) in planned.iter_mut() {
        let key = (f.kind, f.name.clone(), f.version.clone());
        if let Some(chain) = graph::chain_to(&key, &edges, &|k: &Key| !index.contains_key(k)) {
            *d = Decision {
                action: Action::Fail,
                target_version: d.target_version.clone(),
                reason: format!("{}; nothing of it is registered", chain_text(&chain, "missing in the source workspace")),
            };
            unresolvable.insert(key);
        }
    }
    // What only unresolvable items need is not copied either ("registers nothing of it").
    let ok_roots: Vec<Key> = roots.iter().filter(|k| !unresolvable.contains(*k)).cloned().collect();
    let needed: BTreeSet<Key> = graph::closure(&ok_roots, &edges).into_iter().collect();
    for (f, d) in planned.iter_mut() {
        let key = (f.kind, f.name.clone(), f.version.clone());
        if unresolvable.contains(&key) {
            continue;
        }
        if !needed.contains(&key) {
            if matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion) {
                d.action = Action::Skip;
                d.reason = "not copied: only items that cannot be copied need it".into();
            }
            continue;
        }
        if f.kind != Kind::Data {
            continue;
        }
        data_names.push(format!("{}:{}", f.name, f.version));
        if !matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion) {
            continue;
        }
        let item = &items[&key];
        if data_o.copy_data && item.content.is_some() {
            continue;
        }
        let src_place = data::source_datastore(item, &from, src_ds.all());
        let shared = src_place.as_ref().and_then(|(sd, _)| data::shared_target(sd, src_ds.all(), tgt_ds.all(), &data_o.shared));
        match (data_o.reregister_shared, shared, src_place) {
            (true, Some((tds, why)), Some((_, path))) => {
                let mut uri = ContentUri::datastore_uri(&to, &tds, &path);
                if item.location().is_some_and(|l| l.ends_with('/')) {
                    uri.push('/');
                }
                shared_locations.insert(key.clone(), (tds, uri));
                d.action = Action::Reregister;
                d.reason = format!("its path is on a datastore both workspaces reach ({why}); re-registered pointing at the same data");
            }
            (false, Some((_, why)), _) => {
                d.action = Action::Manual;
                d.reason = format!("needs manual re-registration: its path is on a shared datastore ({why}); --reregister-shared-data re-registers it");
            }
            _ => {
                d.action = Action::Manual;
                d.reason = "needs manual re-registration: its path is not on a datastore the failover workspace reaches (name one with --shared-datastore, or --copy-data for uri_file/uri_folder on workspace storage)".into();
            }
        }
    }

    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        command: "copy",
        dry_run: o.dry_run,
        source: from.arm_id(),
        target: to.arm_id(),
        started_at,
        duration_ms: 0,
        warnings: Vec::new(),
        summary: Default::default(),
        items: Vec::new(),
        manifest: None,
        access: None,
    };
    if !data_names.is_empty() {
        report.warnings.push(format!("{}; data assets met: {}", data::WARNING, data_names.join(", ")));
    }
    if planned.iter().any(|(f, _)| f.kind == Kind::Pipeline) {
        report.warnings.push(format!(
            "pipeline jobs are recreated {}; {}",
            if o.submit { "and submitted (--submit): each creates a new run in the target" } else { "as definitions (pipeline components named after the job), not run; --submit runs them" },
            pipeline::NOT_TRANSFERRED
        ));
    }

    if o.dry_run {
        for (f, d) in &planned {
            let item = &items[&(f.kind, f.name.clone(), f.version.clone())];
            let (_, rewrites) = desired(item, &from, o.submit, &compare_rw);
            let mut rec = record(item, d, if d.action == Action::Fail { Status::Failed } else { Status::Planned }, Vec::new());
            if matches!(item.kind, Kind::Component | Kind::Pipeline) {
                rec.rewrites = rewrites;
            }
            report.items.push(rec);
        }
        return finish(o, report, started);
    }

    // The target's lock is held from the first write to the end, however the copy ends (a
    // panic or kill leaves it to expire).
    let writes = planned.iter().any(|(_, d)| matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion | Action::Reregister));
    if let (Some(l), true) = (target_lock.as_mut(), writes) {
        l.acquire().await?;
    }
    let written: Result<Report> = async {
        // Transfer: one job per file of every item to copy, all through one engine.
        let upload_ds = tgt_ds.default_blob()?.name.clone();
        let dst_store: Arc<dyn Store> = tgt_ds.open(&upload_ds).await?;
        let mut jobs: Vec<FileJob> = Vec::new();
        let mut job_owner: Vec<(Key, String)> = Vec::new();
        let mut new_locations: HashMap<Key, (String, String)> = HashMap::new();
        for (f, d) in &planned {
            if !matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion) {
                continue;
            }
            let key = (f.kind, f.name.clone(), f.version.clone());
            let item = &items[&key];
            let Some(content) = &item.content else { continue };
            let (prefix, uri) = target_location(item, &from, &to, &tgt_ds, &upload_ds, &ctx)?;
            for file in &content.files {
                let dst_path = StorePath::parse(&format!("{prefix}/{}", file.rel))?;
                job_owner.push((key.clone(), file.rel.clone()));
                jobs.push(FileJob::from_source(&content.store, &file.meta, &dst_store, dst_path));
            }
            new_locations.insert(key, (prefix, uri));
        }
        let total_bytes: u64 = jobs.iter().map(|j| j.size).sum();
        let show_progress = s.printer.show_progress();
        let progress = Arc::new(Progress::new(show_progress, total_bytes, jobs.len() as u64));
        let reporter: Arc<dyn TransferReporter> = match &journal {
            Some(j) => Arc::new(crate::journal::Journaling { inner: progress.clone(), journal: j.clone() }),
            None => progress.clone(),
        };
        let engine = Engine::new(o.engine.clone(), reporter);
        let results = engine.run(jobs.clone()).await;
        progress.finish();
        report.warnings.extend(stale_lock);
        if let Some(p) = journal.as_ref().and_then(|j| j.previous.as_ref()) {
            report.warnings.push(crate::journal::resume_message(p, &jobs, &results));
        }

        let mut files_by_item: HashMap<Key, Vec<FileRecord>> = HashMap::new();
        for ((key, rel), (job, r)) in job_owner.into_iter().zip(jobs.iter().zip(results)) {
            let rec = FileRecord::from_result(rel, job, &r);
            files_by_item.entry(key).or_default().push(rec);
        }

        // Register in dependency order: only items whose every file was verified and whose
        // every dependency is in the target.
        let target_version: HashMap<Key, String> = planned.iter().map(|(f, d)| ((f.kind, f.name.clone(), f.version.clone()), d.target_version.clone())).collect();
        let version_of = |k: Kind, n: &str, v: &str| target_version.get(&(k, n.to_string(), v.to_string())).cloned().unwrap_or_else(|| v.to_string());
        let register_rw = Rewriter { src: src_ws.clone(), dst: ws_id(&to), version_of: &version_of };
        let plan_keys: Vec<Key> = planned.iter().map(|(f, _)| (f.kind, f.name.clone(), f.version.clone())).collect();
        let decisions: HashMap<Key, Decision> = planned.iter().map(|(f, d)| ((f.kind, f.name.clone(), f.version.clone()), d.clone())).collect();
        let mut broken: BTreeSet<Key> = BTreeSet::new();
        let mut records: HashMap<Key, ItemRecord> = HashMap::new();
        for key in graph::order(&plan_keys, &edges) {
            let item = &items[&key];
            let d = &decisions[&key];
            let files = files_by_item.remove(&key).unwrap_or_default();
            let status_of = |d: &Decision| match d.action {
                Action::Skip => Status::Skipped,
                Action::Conflict => Status::Conflict,
                Action::Fail => Status::Failed,
                Action::Manual => Status::NeedsManualReregistration,
                _ => Status::Copied,
            };
            let mut rec = record(item, d, status_of(d), files);
            let writes = matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion | Action::Reregister);
            if writes {
                if let Some(chain) = graph::chain_to(&key, &edges, &|k: &Key| broken.contains(k)) {
                    rec.status = Status::Failed;
                    rec.reason = format!("{}; nothing of it is registered", chain_text(&chain, "was not copied"));
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
                    let replace = d.action == Action::Overwrite;
                    let jkey = crate::journal::item_key(item.kind, &item.name, &item.version);
                    // Registered under another number by the interrupted run this one resumes?
                    let content = crate::journal::content_digest(item);
                    let earlier = match &journal {
                        Some(j) => j.registered_elsewhere(&jkey, &d.target_version, &content, |v| held_by_target(&cmp, &ctx, &to, item, &tgt_by_name, v, o.submit)).await,
                        None => None,
                    };
                    if let Some(j) = journal.as_ref().filter(|_| earlier.is_none()) {
                        j.register_started(&jkey, &d.target_version, &content);
                    }
                    let result = match (item.kind, d.action) {
                        _ if earlier.is_some() => {
                            let v = earlier.clone().unwrap_or_default();
                            rec.target_uri = new_locations.get(&key).map(|(_, u)| crate::redact::url_str(u));
                            rec.reason = format!("already registered as version {v} by the interrupted run this one resumes");
                            rec.target_version = v;
                            Ok(())
                        }
                        (Kind::Data, Action::Reregister) => {
                            let (tds, uri) = shared_locations[&key].clone();
                            rec.target_uri = Some(crate::redact::url_str(&uri));
                            reregister_data(&ctx, &to, &tgt_ds, item, &tds, &uri, &d.target_version).await
                        }
                        (Kind::Component | Kind::Pipeline, _) => {
                            let (props, rewrites) = desired(item, &from, o.submit, &register_rw);
                            rec.rewrites = rewrites;
                            item.kind.spec().register(&ctx.arm, &to, item, &d.target_version, replace, &props, o.submit).await.map(|name| {
                                rec.target_name = name;
                            })
                        }
                        _ => {
                            let loc = new_locations.get(&key).map(|(_, u)| u.clone());
                            rec.target_uri = loc.as_deref().map(crate::redact::url_str);
                            assets::register(&ctx.arm, &to, item, &d.target_version, replace, loc.as_deref()).await
                        }
                    };
                    if let (Ok(()), Some(j), None) = (&result, &journal, &earlier) {
                        j.registered(&jkey, &d.target_version);
                    }
                    match result {
                        Ok(()) if earlier.is_some() => {}
                        Ok(()) => {
                            rec.reason = match d.action {
                                Action::Copy if item.kind == Kind::Pipeline => format!(
                                    "{}; {}",
                                    if o.submit { "submitted in the target (a new run)" } else { "recreated as a definition (pipeline component), not run" },
                                    pipeline::NOT_TRANSFERRED
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
            }
            if d.action == Action::Manual {
                match write_data_yaml(&data_o.output_dir, item) {
                    Ok(p) => rec.yaml = Some(p.display().to_string()),
                    Err(e) => {
                        rec.status = Status::Failed;
                        rec.reason = format!("{}; and its YAML could not be written: {e}", rec.reason);
                    }
                }
            }
            if matches!(rec.status, Status::Failed | Status::Conflict) {
                broken.insert(key.clone());
            }
            records.insert(key, rec);
        }
        for k in &plan_keys {
            if let Some(r) = records.remove(k) {
                report.items.push(r);
            }
        }
        Ok(report)
    }
    .await;
    if let Some(l) = target_lock.as_mut() {
        l.release().await;
    }
    let report = written?;
    // A run with failures keeps its journal open: the next run resumes it.
    if let Some(j) = &journal {
        if !report.items.iter().any(|i| i.status == Status::Failed) {
            j.complete();
        }
    }
    finish(o, report, started)
}

/// Compares source items with the target's version of the same name and number, the way
/// `copy` plans and `verify` reports: components and pipelines by their (rewritten)
/// specification, data assets by specification (unless their files are copied), everything
/// else by specification and the sha256 of every file. Reads hashes only where needed; a
/// target copy recording this very source version (sha256 + source tag) is not read.
pub(crate) struct TargetComparer<'a> {
    pub ctx: &'a Context,
    pub from: &'a WorkspaceRef,
    pub to: &'a WorkspaceRef,
    pub src_ds: &'a Datastores,
    pub tgt_ds: &'a Datastores,
    pub engine: &'a Engine,
    pub rw: &'a Rewriter<'a>,
    /// Pipelines are compared as submitted jobs (`--submit`) rather than definitions.
    pub submit: bool,
    /// Data assets on the source's storage are compared by their files (`--copy-data`).
    pub copy_data: bool,
}

impl TargetComparer<'_> {
    /// Returns the item (its content resolved where it has files), why the source cannot be
    /// read (if so), and the comparison with `target` (the target's same name and version).
    pub(crate) async fn compare(&self, mut item: AssetItem, target: Option<AssetItem>) -> (AssetItem, Option<String>, Comparison) {
        let (ctx, from, to, o_submit) = (self.ctx, self.from, self.to, self.submit);
        let spec = item.kind.spec();
        if let Some((want, _)) = spec.desired(&item, from, o_submit, self.rw) {
            // A component is compared with the target's listed version (`target`); a
            // pipeline's counterpart has another name or kind (its definition component,
            // or a job with --submit), so it is asked for.
            let found = if spec.compare_listed() {
                Ok(target.map(|t| t.properties))
            } else {
                match ctx.arm.get(&spec.target_path(to, &item.name, &item.version, o_submit)).await {
                    Err(Error::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                    Ok(t) => Ok(Some(t.get("properties").cloned().unwrap_or(Value::Null))),
                }
            };
            let comparison = match found {
                Ok(None) => Comparison::Missing,
                Err(e) => Comparison::Unknown(format!("cannot compare with the target: {e}")),
                Ok(Some(have)) => compare::specs(&want, &spec.comparable_target(have, o_submit)),
            };
            return (item, None, comparison);
        }
        if !spec.files_are_copied(&item, from, self.src_ds.all(), self.copy_data) {
            // Not read (data: its path may be anywhere): compared by specification only.
            let comparison = match target {
                Some(t) => compare::specs(&item.portable_properties(), &t.portable_properties()),
                None => Comparison::Missing,
            };
            return (item, None, comparison);
        }
        if let Err(e) = assets::resolve_content(&mut item, self.src_ds).await {
            return (item, Some(format!("cannot read the source's files: {e}")), Comparison::Missing);
        }
        let comparison = match target {
            Some(mut t) => compare::versions(&item, &mut t, self.tgt_ds, self.engine).await,
            None => Comparison::Missing,
        };
        (item, None, comparison)
    }
}

/// Whether the target's version `v` of `item` holds `item`'s content: identical by the same
/// comparison `--on-conflict new-version` uses (a pipeline, which has one version per name:
/// that the version exists).
async fn held_by_target(cmp: &TargetComparer<'_>, ctx: &Context, to: &WorkspaceRef, item: &AssetItem, tgt_by_name: &HashMap<(Kind, String), Vec<AssetItem>>, v: String, submit: bool) -> bool {
    if item.kind == Kind::Pipeline {
        return ctx.arm.get(&item.kind.spec().target_path(to, &item.name, &v, submit)).await.is_ok();
    }
    let listed: Vec<AssetItem> = tgt_by_name.get(&(item.kind, item.name.clone())).into_iter().flatten().filter(|t| t.version == v).cloned().collect();
    matches!(cmp.copied_as(item, &listed).await, Ok(Some(ref got)) if *got == v)
}

impl TargetComparer<'_> {
    /// The version, other than its own number, under which the target already holds `item`
    /// identically (`others`: the target's versions of the same name), newest first; an error
    /// (the unknown comparison's reason) when none is identical but some could not be compared.
    pub(crate) async fn copied_as(&self, item: &AssetItem, others: &[AssetItem]) -> std::result::Result<Option<String>, String> {
        let mut others: Vec<&AssetItem> = others.iter().filter(|t| t.version != item.version).collect();
        others.sort_by(|a, b| assets::version_order(&b.version, &a.version));
        let mut unknown = None;
        for t in others {
            let spec = item.kind.spec();
            let same = if !spec.compare_listed() {
                false
            } else if let Some((want, _)) = spec.desired(item, self.from, self.submit, self.rw) {
                compare::spec_difference(&want, &t.properties).is_none()
            } else if !spec.files_are_copied(item, self.from, self.src_ds.all(), self.copy_data) {
                compare::spec_difference(&item.portable_properties(), &t.portable_properties()).is_none()
            } else {
                match compare::versions(item, &mut t.clone(), self.tgt_ds, self.engine).await {
                    Comparison::Identical => true,
                    Comparison::Unknown(why) => {
                        unknown.get_or_insert(format!("version {}: {why}", t.version));
                        false
                    }
                    _ => false,
                }
            };
            if same {
                return Ok(Some(t.version.clone()));
            }
        }
        match unknown {
            Some(why) => Err(why),
            None => Ok(None),
        }
    }
}

/// Registers a data asset at `uri` on the target's datastore `tds`, after checking that the
/// shared datastore really holds something at that path.
async fn reregister_data(ctx: &Context, to: &WorkspaceRef, tgt_ds: &Datastores, item: &AssetItem, tds: &str, uri: &str, version: &str) -> Result<()> {
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

fn record(item: &AssetItem, d: &Decision, status: Status, files: Vec<FileRecord>) -> ItemRecord {
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

fn finish(o: &CopyOptions, mut report: Report, started: Instant) -> Result<Report> {
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.summarize();
    if !o.dry_run {
        report.write_manifest(o.manifest.clone(), "aml-failover-manifest")?;
    }
    Ok(report)
}

/// Where an item's files go in the target, and the URI its version will record. The
/// prefix is a fingerprint of the source item, so a rerun writes to the same place and the
/// engine skips files that are already there and verified.
fn target_location(
    item: &AssetItem,
    from: &WorkspaceRef,
    to: &WorkspaceRef,
    tgt_ds: &Datastores,
    upload_ds: &str,
    ctx: &Context,
) -> Result<(String, String)> {
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
    let uri = match item.kind.spec().recorded_as_datastore_uri() {
        true => ContentUri::datastore_uri(to, upload_ds, &content_path),
        false => {
            let d = tgt_ds.default_blob()?;
            format!(
                "https://{}.blob.{}/{}/{}/",
                d.account_name.as_deref().unwrap_or_default(),
                ctx.cloud.storage_suffix,
                d.container_name.as_deref().unwrap_or_default(),
                content_path
            )
        }
    };
    Ok((prefix, uri))
}

pub(crate) fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
