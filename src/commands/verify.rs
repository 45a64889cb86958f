//! `aml-failover verify --from A --to B`: drift between two workspaces ([`crate::drift`]);
//! `verify BUNDLE [--to B]`: a snapshot bundle, alone or against a workspace. Options →
//! library → render. Exit 0 in sync, 7 drifted, 1 when some item could not be checked.

use crate::assets::{self, Kind, Selection};
use crate::plan::VerifyOptions;
use crate::settings::{OutputFormat, Settings};
use crate::drift::{State, VerifyItem, VerifyReport};
use crate::error::{Error, Exit, Result};
use crate::report::now_rfc3339;
use crate::storage::datastore::Datastores;
use crate::transfer::{Engine, EngineOptions, Silent};
use crate::workspace::Context;
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

pub async fn run(s: &Settings, o: &VerifyOptions) -> Result<Exit> {
    let report = report(s, o).await?;
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&serde_json::to_value(&report).expect("report serializes")),
        OutputFormat::Human => print!("{}", report.human(o.show_all_items)),
    }
    Ok(report.exit())
}

/// The report `verify` prints (also what `readiness` counts), written to --manifest if asked.
pub async fn report(s: &Settings, o: &VerifyOptions) -> Result<VerifyReport> {
    if o.bundle.is_some() {
        return run_snapshot(s, o).await;
    }
    let started = Instant::now();
    let started_at = now_rfc3339();
    let from = s.from.clone().ok_or_else(|| Error::usage("verify needs --from (the primary workspace), or a snapshot BUNDLE to check"))?;
    let to = s.to.clone().ok_or_else(|| Error::usage("verify needs --to (the failover workspace)"))?;
    if from == to {
        return Err(Error::usage("--from and --to name the same workspace"));
    }
    let ctx = Context::connect(&s.connect)?;
    let items = crate::drift::workspaces(&ctx, &from, &to, &o.kinds, o.name.as_deref()).await?;
    finish(o, VerifyReport::new(from.arm_id(), to.arm_id(), o.kinds.clone(), started_at, started, items, None))
}

/// Sorts, summarizes and writes (--manifest) a report.
fn finish(o: &VerifyOptions, mut report: VerifyReport) -> Result<VerifyReport> {
    report.finish(o.manifest.as_deref())?;
    Ok(report)
}

/// `verify BUNDLE [--to B]`: with --to, B's drift from a snapshot (what `snapshot restore`
/// would register: missing; what it would refuse: different; versions of the snapshot's kinds
/// that B has and the snapshot does not: extra). Without --to, the bundle itself: every file
/// of every asset of the snapshot is present and its bytes still have the sha256 it is
/// named by (each object read once).
async fn run_snapshot(s: &Settings, o: &VerifyOptions) -> Result<VerifyReport> {
    use crate::bundle::{against_target, open_snapshot, Against, SNAPSHOT_KINDS};
    let started = Instant::now();
    let started_at = now_rfc3339();
    let raw = o.bundle.as_deref().expect("a bundle");
    if s.from_on_command_line {
        return Err(Error::usage("verify BUNDLE checks a snapshot bundle: give --to (the workspace to compare with it) or nothing, not --from"));
    }
    // Only a --to typed here compares a workspace: AML_FAILOVER_TO in a scheduled job's
    // environment must not turn a check of the bundle into a drift check.
    let to = if s.to_on_command_line { s.to.clone() } else { None };
    let kinds: Vec<Kind> = o.kinds.iter().copied().filter(|k| SNAPSHOT_KINDS.contains(k)).collect();
    if kinds.is_empty() {
        return Err(Error::usage("snapshots hold models, environments and code: --kinds must name at least one of them"));
    }
    let needs_ctx = to.is_some() || raw.starts_with("https://") || raw.starts_with("http://");
    let ctx = if needs_ctx { Some(Context::connect(&s.connect)?) } else { None };
    let (bundle, m) = open_snapshot(ctx.as_ref(), raw, o.snapshot.as_deref()).await?;
    let name_ok = |n: &str| o.name.as_deref().is_none_or(|p| assets::name_matches(p, n));
    let wanted: Vec<&crate::storage::bundle::BundleAsset> = m.assets.iter().filter(|a| kinds.contains(&a.kind) && name_ok(&a.name)).collect();
    let engine = Engine::new(EngineOptions::default(), Arc::new(Silent));
    let conc = crate::plan::PLAN_CONCURRENCY;
    let mut items: Vec<VerifyItem> = Vec::new();
    let target = match (&to, &ctx) {
        (Some(to), Some(ctx)) => {
            let ds = Datastores::load(ctx, to).await?;
            let compared: Vec<VerifyItem> = futures::stream::iter(wanted.iter().map(|a| {
                let (ds, engine) = (&ds, &engine);
                async move {
                    let (state, reasons) = match against_target(ctx, to, ds, engine, a).await {
                        Against::Missing if a.kind == Kind::Data => (
                            State::Missing,
                            vec!["in the snapshot, not in the target: data assets are re-registered by hand (`snapshot restore` writes its az ml YAML)".to_string()],
                        ),
                        Against::Missing => (State::Missing, vec!["in the snapshot, not in the target (`snapshot restore` registers it)".to_string()]),
                        Against::Identical(_) => (State::InSync, Vec::new()),
                        Against::Different(why) => (State::Different, why),
                        Against::Unreadable(why) => (State::Unverifiable, vec![why]),
                    };
                    VerifyItem { kind: a.kind, name: a.name.clone(), version: a.version.clone(), state, reasons }
                }
            }))
            .buffer_unordered(conc)
            .collect()
            .await;
            items.extend(compared);
            let in_snapshot: std::collections::HashSet<(Kind, &str, &str)> = m.assets.iter().map(|a| (a.kind, a.name.as_str(), a.version.as_str())).collect();
            // Extras only of the kinds the snapshot holds (an export of models alone says
            // nothing about the target's environments).
            let held: Vec<Kind> = kinds.iter().copied().filter(|k| m.assets.iter().any(|a| a.kind == *k)).collect();
            let sel = Selection { kinds: held, name: o.name.clone(), latest_only: false };
            for t in assets::list_versions(&ctx.arm, to, &sel).await? {
                if !in_snapshot.contains(&(t.kind, t.name.as_str(), t.version.as_str())) {
                    items.push(VerifyItem { kind: t.kind, name: t.name, version: t.version, state: State::Extra, reasons: vec!["in the target, not in the snapshot".into()] });
                }
            }
            to.arm_id()
        }
        _ => {
            // The bundle alone: read each object once, then judge each asset by its files.
            let mut sizes: BTreeMap<&str, u64> = BTreeMap::new();
            for a in &wanted {
                for f in a.content.iter().flat_map(|c| c.files.iter()) {
                    sizes.insert(&f.sha256, f.size);
                }
            }
            let stored = bundle.objects().await?;
            let checked: HashMap<String, Option<String>> = futures::stream::iter(sizes.into_iter().map(|(sha, size)| {
                let (bundle, engine, stored) = (&bundle, &engine, &stored);
                async move {
                    let problem = match stored.get(sha) {
                        None => Some("is missing from the bundle".to_string()),
                        Some(&have) if have != size => Some(format!("has {have} bytes in the bundle, the manifest says {size}")),
                        Some(_) => match bundle.object_path(sha) {
                            Err(e) => Some(e.to_string()),
                            Ok(p) => match engine.digest(&*bundle.store, &p, size, false).await {
                                Ok(d) if d.sha256.eq_ignore_ascii_case(sha) => None,
                                Ok(d) => Some(format!("is damaged: its bytes hash to sha256 {}", d.sha256)),
                                Err(e) => Some(format!("cannot be read: {e}")),
                            },
                        },
                    };
                    (sha.to_string(), problem)
                }
            }))
            .buffer_unordered(conc)
            .collect()
            .await;
            for a in &wanted {
                let mut reasons = Vec::new();
                let mut missing = false;
                for f in a.content.iter().flat_map(|c| c.files.iter()) {
                    if let Some(Some(p)) = checked.get(&f.sha256) {
                        missing |= p.starts_with("is missing");
                        reasons.push(format!("file {} (object sha256/{}/{}) {p}", f.path, &f.sha256[..2], f.sha256));
                    }
                }
                let state = match (reasons.is_empty(), missing) {
                    (true, _) => State::InSync,
                    (false, true) => State::Missing,
                    (false, false) => State::Different,
                };
                items.push(VerifyItem { kind: a.kind, name: a.name.clone(), version: a.version.clone(), state, reasons });
            }
            bundle.describe()
        }
    };
    let snapshot = serde_json::json!({"bundle": bundle.describe(), "id": m.id, "createdAt": m.created_at, "source": m.source});
    finish(o, VerifyReport::new(format!("snapshot {} in {}", m.id, bundle.describe()), target, kinds, started_at, started, items, Some(snapshot)))
}

