//! `aml-failover copy`: models and environments from one workspace to another.
//! resolve → enumerate → compare → plan → transfer (verified) → register → report.

use super::progress::Progress;
use crate::assets::uri::ContentUri;
use crate::assets::{self, AssetItem, Kind, Selection};
use crate::cli::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::plan::{self, Action, Comparison, Decision, Facts, OnConflict};
use crate::report::{FileRecord, ItemRecord, Report, Status};
use crate::storage::datastore::Datastores;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, EngineOptions, FileJob, Silent, TransferReporter};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `copy`, validated.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub selection: Selection,
    pub dry_run: bool,
    pub on_conflict: OnConflict,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}

type Key = (Kind, String, String);

pub async fn run(s: &Settings, o: &CopyOptions) -> Result<Exit> {
    let started = Instant::now();
    let started_at = now_rfc3339();
    let from = s.from.clone().ok_or_else(|| Error::usage("copy needs --from (the primary workspace)"))?;
    let to = s.to.clone().ok_or_else(|| Error::usage("copy needs --to (the failover workspace)"))?;
    if from == to {
        return Err(Error::usage("--from and --to name the same workspace"));
    }
    let ctx = Context::connect(&s.connect)?;

    // Enumerate both sides.
    let all_versions = Selection { kinds: o.selection.kinds.clone(), name: o.selection.name.clone(), latest_only: false };
    let (src_items, tgt_items, src_ds, tgt_ds) = futures::future::try_join4(
        assets::list_versions(&ctx.arm, &from, &o.selection),
        assets::list_versions(&ctx.arm, &to, &all_versions),
        Datastores::load(&ctx, &from),
        Datastores::load(&ctx, &to),
    )
    .await?;
    let quiet_engine = Engine::new(o.engine.clone(), Arc::new(Silent));
    let mut targets: HashMap<Key, AssetItem> = tgt_items.into_iter().map(|i| (i.key(), i)).collect();
    let mut target_versions: HashMap<(Kind, String), Vec<String>> = HashMap::new();
    // New version numbers must not collide with the target's versions nor with the
    // source versions this run copies under their own numbers.
    for (k, n, v) in targets.keys().chain(src_items.iter().map(|i| (i.kind, i.name.clone(), i.version.clone())).collect::<Vec<_>>().iter()) {
        target_versions.entry((*k, n.clone())).or_default().push(v.clone());
    }

    // Resolve content and compare with the target (reads hashes only where a target exists).
    let conc = o.engine.concurrency.max(1);
    let compared: Vec<(AssetItem, Facts)> = futures::stream::iter(src_items.into_iter().map(|mut item| {
        let target = targets.remove(&item.key());
        let tv = target_versions.get(&(item.kind, item.name.clone())).cloned().unwrap_or_default();
        let (src_ds, tgt_ds, engine) = (&src_ds, &tgt_ds, &quiet_engine);
        async move {
            let mut facts = Facts {
                kind: item.kind,
                name: item.name.clone(),
                version: item.version.clone(),
                unreadable: None,
                comparison: Comparison::Missing,
                target_versions: tv,
            };
            if let Err(e) = assets::resolve_content(&mut item, src_ds).await {
                facts.unreadable = Some(format!("cannot read the source's files: {e}"));
                return (item, facts);
            }
            if let Some(mut t) = target {
                facts.comparison = match compare(&item, &mut t, tgt_ds, engine).await {
                    Ok(c) => c,
                    Err(e) => Comparison::Different(vec![format!("cannot compare with the target: {e}")]),
                };
            }
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
    let planned = plan::plan(facts_list, o.on_conflict);

    let mut report = Report {
        schema_version: crate::report::SCHEMA_VERSION,
        command: "copy",
        dry_run: o.dry_run,
        source: from.arm_id(),
        target: to.arm_id(),
        started_at,
        duration_ms: 0,
        summary: Default::default(),
        items: Vec::new(),
        manifest: None,
    };

    if o.dry_run {
        for (f, d) in &planned {
            let item = &items[&(f.kind, f.name.clone(), f.version.clone())];
            report.items.push(record(item, d, if d.action == Action::Fail { Status::Failed } else { Status::Planned }, Vec::new()));
        }
        return finish(s, o, report, started);
    }

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
            jobs.push(FileJob {
                src: Arc::clone(&content.store),
                src_path: file.meta.path.clone(),
                dst: Arc::clone(&dst_store),
                dst_path,
                size: file.meta.size,
                expected_sha256: file.meta.sha256.clone(),
                src_md5: file.meta.content_md5,
                src_tag: crate::storage::source_tag(&content.store.uri(&file.meta.path), file.meta.etag.as_deref()),
            });
        }
        new_locations.insert(key, (prefix, uri));
    }
    let total_bytes: u64 = jobs.iter().map(|j| j.size).sum();
    let show_progress = !s.quiet && s.output == OutputFormat::Human;
    let progress = Arc::new(Progress::new(show_progress, total_bytes, jobs.len() as u64));
    let engine = Engine::new(o.engine.clone(), progress.clone() as Arc<dyn TransferReporter>);
    let results = engine.run(jobs.clone()).await;
    progress.finish();

    let mut files_by_item: HashMap<Key, Vec<FileRecord>> = HashMap::new();
    for ((key, rel), (job, r)) in job_owner.into_iter().zip(jobs.iter().zip(results)) {
        let rec = match r {
            Ok(done) => FileRecord {
                path: rel,
                size: done.size,
                sha256: Some(done.sha256),
                source_uri: job.src.uri(&job.src_path),
                target_uri: Some(job.dst.uri(&job.dst_path)),
                method: Some(done.method),
                error: None,
            },
            Err(e) => FileRecord {
                path: rel,
                size: job.size,
                sha256: None,
                source_uri: job.src.uri(&job.src_path),
                target_uri: None,
                method: None,
                error: Some(e.to_string()),
            },
        };
        files_by_item.entry(key).or_default().push(rec);
    }

    // Register: only items whose every file was verified.
    for (f, d) in &planned {
        let key = (f.kind, f.name.clone(), f.version.clone());
        let item = &items[&key];
        let files = files_by_item.remove(&key).unwrap_or_default();
        let status_of = |d: &Decision| match d.action {
            Action::Skip => Status::Skipped,
            Action::Conflict => Status::Conflict,
            Action::Fail => Status::Failed,
            _ => Status::Copied,
        };
        let mut rec = record(item, d, status_of(d), files);
        if matches!(d.action, Action::Copy | Action::Overwrite | Action::NewVersion) {
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
                let loc = new_locations.get(&key).map(|(_, u)| u.clone());
                match assets::register(&ctx.arm, &to, item, &d.target_version, d.action == Action::Overwrite, loc.as_deref()).await {
                    Ok(()) => {
                        rec.target_uri = loc.map(|u| crate::redact::url_str(&u));
                        rec.reason = match d.action {
                            Action::Copy => "copied and verified".into(),
                            _ => d.reason.clone(),
                        };
                    }
                    Err(e) => {
                        rec.status = Status::Failed;
                        rec.reason = format!("files verified, but registering failed: {e}");
                    }
                }
            }
        }
        report.items.push(rec);
    }
    finish(s, o, report, started)
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
        files,
    }
}

fn source_files(item: &AssetItem) -> Vec<FileRecord> {
    let Some(c) = &item.content else { return Vec::new() };
    c.files
        .iter()
        .map(|f| FileRecord {
            path: f.rel.clone(),
            size: f.meta.size,
            sha256: f.meta.sha256.clone(),
            source_uri: c.store.uri(&f.meta.path),
            target_uri: None,
            method: None,
            error: None,
        })
        .collect()
}

fn finish(s: &Settings, o: &CopyOptions, mut report: Report, started: Instant) -> Result<Exit> {
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.summarize();
    if !o.dry_run {
        let path = o.manifest.clone().unwrap_or_else(|| {
            let stamp: String = report.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
            PathBuf::from(format!("aml-failover-manifest-{}T{}Z.json", &stamp[..8.min(stamp.len())], &stamp[8.min(stamp.len())..]))
        });
        report.manifest = Some(path.display().to_string());
        let text = serde_json::to_string_pretty(&report).expect("report serializes");
        let tmp = path.with_extension("json.partial");
        std::fs::write(&tmp, text.as_bytes())
            .and_then(|_| std::fs::rename(&tmp, &path))
            .map_err(|e| Error::usage(format!("cannot write the manifest {}: {e} (choose another --manifest path)", path.display())))?;
    }
    match s.output {
        OutputFormat::Json => super::print_json(&serde_json::to_value(&report).expect("report serializes")),
        OutputFormat::Human => print!("{}", report.human(o.show_all_items || o.dry_run)),
    }
    Ok(report.exit())
}

/// Compares a source item with the target's version of the same name and number.
async fn compare(src: &AssetItem, tgt: &mut AssetItem, tgt_ds: &Datastores, engine: &Engine) -> Result<Comparison> {
    let mut why = Vec::new();
    if src.portable_properties() != tgt.portable_properties() {
        why.push(format!("the specification differs ({})", spec_diff(&src.portable_properties(), &tgt.portable_properties())));
    }
    match (&src.content, tgt.location().is_some()) {
        (None, false) => {}
        (Some(_), false) | (None, true) => why.push("one has files, the other has none".into()),
        (Some(sc), true) => {
            assets::resolve_content(tgt, tgt_ds).await?;
            let tc = tgt.content.as_ref().expect("resolved");
            let tmap: HashMap<&str, &assets::FileEntry> = tc.files.iter().map(|f| (f.rel.as_str(), f)).collect();
            if sc.files.len() != tc.files.len() || sc.files.iter().any(|f| !tmap.contains_key(f.rel.as_str())) {
                why.push("the file lists differ".into());
            } else {
                for f in &sc.files {
                    let t = tmap[f.rel.as_str()];
                    if f.meta.size != t.meta.size {
                        why.push(format!("file {}: size {} vs {}", f.rel, f.meta.size, t.meta.size));
                        continue;
                    }
                    // A target copy verified from this very source version needs no reading.
                    let tag = crate::storage::source_tag(&sc.store.uri(&f.meta.path), f.meta.etag.as_deref());
                    if t.meta.sha256.is_some() && tag.is_some() && t.meta.source == tag {
                        continue;
                    }
                    let s_sha = match &f.meta.sha256 {
                        Some(h) => h.clone(),
                        None => engine.digest(&*sc.store, &f.meta.path, f.meta.size, false).await?.sha256,
                    };
                    let t_sha = match &t.meta.sha256 {
                        Some(h) => h.clone(),
                        None => engine.digest(&*tc.store, &t.meta.path, t.meta.size, false).await?.sha256,
                    };
                    if s_sha != t_sha {
                        why.push(format!("file {}: sha256 differs", f.rel));
                    }
                }
            }
        }
    }
    Ok(if why.is_empty() { Comparison::Identical } else { Comparison::Different(why) })
}

fn spec_diff(a: &Value, b: &Value) -> String {
    let (Some(a), Some(b)) = (a.as_object(), b.as_object()) else { return "shape".into() };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    let diff: Vec<&str> = keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(String::as_str).collect();
    diff.join(", ")
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
    let uri = match item.kind {
        Kind::Model => ContentUri::datastore_uri(to, upload_ds, &content_path),
        Kind::Environment => {
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

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}
