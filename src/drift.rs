//! Drift between two workspaces (what `aml-failover verify` reports), per asset version,
//! without changing anything. For the scheduled job: exit 0 in sync, 7 drifted.
//!
//! Every selected version of the source is compared with the target's version of the same
//! name and number exactly as `copy` plans it ([`crate::compare::TargetComparer`]: specification,
//! and the sha256 of every file, reading only what a recorded hash does not answer):
//! `in-sync`, `missing` (in the source, not in the target), `different` (with the reasons),
//! `unverifiable` (the source's files cannot be read), `unknown` (the comparison failed: an
//! error reading either side, [`crate::compare::Comparison::Unknown`]). Versions in the target that the source
//! does not have are `extra`. Pipelines are compared with the definition `copy` registers
//! (a pipeline component named after the job).
//!
//! JSON document (schemaVersion 1):
//! ```text
//! { "schemaVersion": 1, "command": "verify", "source": "<ARM id>", "target": "<ARM id>",
//!   "kinds": [ "model", ... ], "startedAt": RFC3339, "durationMs": n, "inSync": bool,
//!   "summary": { "items": n, "inSync": n, "missing": n, "different": n, "extra": n, "unverifiable": n, "unknown": n },
//!   "items": [ { "kind", "name", "version", "state": "in-sync|missing|different|extra|unverifiable|unknown",
//!                "reasons": [ "<text>" ] } ],
//!   "manifest": "<path>"? }
//! ```
//! Nothing is written anywhere, except the same document to `--manifest FILE` when asked.

use crate::assets::refs::{ws_id, Rewriter};
use crate::assets::{self, pipeline, AssetItem, Kind, Selection};
use crate::plan::VerifyOptions;
use crate::report::now_rfc3339;
use crate::settings::Settings;
use crate::compare::{Comparison, TargetComparer};
use crate::error::{Error, Exit, Result};
use crate::storage::datastore::Datastores;
use crate::transfer::{Engine, EngineOptions, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// `verify`'s state of one version or definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum State {
    InSync,
    Missing,
    Different,
    Extra,
    Unverifiable,
    // The comparison could not be made (reading the target or the source failed).
    Unknown,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline, deny_unknown_fields)]
pub struct VerifyItem {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    pub state: State,
    pub reasons: Vec<String>,
}

/// One definition's drift (`estate[]` of the report).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(inline, deny_unknown_fields)]
pub struct EstateDrift {
    pub kind: crate::assets::definition::DefKind,
    /// endpoint/deployment for deployments
    pub name: String,
    #[schemars(extend("enum" = ["in-sync", "missing", "different", "extra", "unknown"]))]
    pub state: State,
    pub reasons: Vec<String>,
}

impl EstateDrift {
    fn of(kind: crate::assets::definition::DefKind, name: String, cmp: Option<Comparison>) -> EstateDrift {
        let (state, reasons) = match cmp {
            None => (State::Extra, vec!["in the target, not in the source".to_string()]),
            Some(Comparison::Identical) => (State::InSync, Vec::new()),
            Some(Comparison::Missing) => (State::Missing, vec!["in the source, not in the target".to_string()]),
            Some(Comparison::Different(why)) => (State::Different, why),
            Some(Comparison::Unknown(why)) => (State::Unknown, vec![why]),
        };
        EstateDrift { kind, name, state, reasons }
    }
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct VerifySummary {
    pub items: usize,
    pub in_sync: usize,
    pub missing: usize,
    pub different: usize,
    pub extra: usize,
    pub unverifiable: usize,
    pub unknown: usize,
}

/// `schemaVersion` of the verify report.
pub const SCHEMA_VERSION: u32 = 1;

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// The verify report (`-o json`, and `--manifest FILE`). Tolerant of added fields at the top
/// level.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct VerifyReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "verify"))]
    pub command: &'static str,
    /// ARM id of --from; `verify BUNDLE`: 'snapshot <id> in <bundle>'
    pub source: String,
    /// ARM id of --to; `verify BUNDLE` without --to: the bundle
    pub target: String,
    pub kinds: Vec<Kind>,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    pub duration_ms: u64,
    /// true when no item (and no estate definition) is missing, different, extra,
    /// unverifiable or unknown
    pub in_sync: bool,
    pub summary: VerifySummary,
    pub items: Vec<VerifyItem>,
    /// the definitions (datastores, connections, computes, endpoints and deployments,
    /// schedules) compared as `copy` writes them; absent when none was selected or found.
    /// Their drift counts in inSync and the exit code, not in summary
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub estate: Vec<EstateDrift>,
    /// path of --manifest when given
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// `verify BUNDLE`: the snapshot checked
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotChecked>,
}

/// `snapshot` of a `verify BUNDLE` report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct SnapshotChecked {
    pub bundle: String,
    /// snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)
    #[schemars(regex(pattern = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$"))]
    pub id: String,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    /// ARM id of the workspace the snapshot was exported from
    pub source: String,
}

impl VerifyReport {
    /// A report of `items` (summarized and sorted by [`VerifyReport::finish`]).
    pub fn new(source: String, target: String, kinds: Vec<Kind>, started_at: String, started: Instant, items: Vec<VerifyItem>, snapshot: Option<SnapshotChecked>) -> VerifyReport {
        VerifyReport {
            schema_version: SCHEMA_VERSION,
            command: "verify",
            source,
            target,
            kinds,
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
            in_sync: false,
            summary: Default::default(),
            items,
            estate: Vec::new(),
            manifest: None,
            snapshot,
        }
    }

    fn summarize(&mut self) {
        let mut s = VerifySummary { items: self.items.len(), ..Default::default() };
        for i in &self.items {
            match i.state {
                State::InSync => s.in_sync += 1,
                State::Missing => s.missing += 1,
                State::Different => s.different += 1,
                State::Extra => s.extra += 1,
                State::Unverifiable => s.unverifiable += 1,
                State::Unknown => s.unknown += 1,
            }
        }
        let estate_drifted = self.estate.iter().any(|d| d.state != State::InSync);
        self.in_sync = s.missing + s.different + s.extra + s.unverifiable + s.unknown == 0 && !estate_drifted;
        self.summary = s;
    }

    /// 7 when anything drifted (missing, different, extra); else 1 when some item could not be
    /// checked (unverifiable, or unknown: the comparison failed); else 0.
    pub fn exit(&self) -> Exit {
        let s = &self.summary;
        let estate = |st: &[State]| self.estate.iter().any(|d| st.contains(&d.state));
        if s.missing + s.different + s.extra > 0 || estate(&[State::Missing, State::Different, State::Extra]) {
            Exit::Drifted
        } else if s.unverifiable + s.unknown > 0 || estate(&[State::Unknown]) {
            Exit::Partial
        } else {
            Exit::Ok
        }
    }

    pub fn human(&self, all: bool) -> String {
        let mut out = String::new();
        for i in self.items.iter().filter(|i| all || i.state != State::InSync) {
            let word = state_word(i.state);
            out.push_str(&format!("{word:<10} {} {}:{}  {}\n", i.kind, i.name, i.version, i.reasons.join("; ")));
        }
        for d in self.estate.iter().filter(|d| all || d.state != State::InSync) {
            out.push_str(&format!("{:<10} {} {}  {}\n", state_word(d.state), d.kind, d.name, d.reasons.join("; ")));
        }
        if !self.estate.is_empty() {
            let n = |st: State| self.estate.iter().filter(|d| d.state == st).count();
            out.push_str(&format!(
                "estate: {} definitions: {} in sync, {} missing, {} different, {} extra, {} unknown\n",
                self.estate.len(),
                n(State::InSync),
                n(State::Missing),
                n(State::Different),
                n(State::Extra),
                n(State::Unknown)
            ));
        }
        let s = &self.summary;
        out.push_str(&format!(
            "verify: {} items: {} in sync, {} missing, {} different, {} extra, {} unverifiable, {} unknown; {:.1} s; {}\n",
            s.items,
            s.in_sync,
            s.missing,
            s.different,
            s.extra,
            s.unverifiable,
            s.unknown,
            self.duration_ms as f64 / 1000.0,
            if self.in_sync && self.snapshot.is_some() && !self.target.starts_with("/subscriptions/") {
                "IN SYNC: every file of the snapshot is in the bundle, intact (sha256 re-read)"
            } else if self.in_sync {
                "IN SYNC: the target has every selected version, identical"
            } else if s.missing + s.different + s.extra > 0 && self.snapshot.is_some() && self.target.starts_with("/subscriptions/") {
                "DRIFTED: `aml-failover snapshot restore` registers missing versions; different ones are conflicts it will not overwrite"
            } else if s.missing + s.different + s.extra > 0 && self.snapshot.is_some() {
                "DRIFTED: the bundle lost or damaged files: delete the damaged objects named above; the next `snapshot export` (primary up) stores every missing one again"
            } else if self.exit() == Exit::Drifted {
                "DRIFTED: `aml-failover copy` brings missing versions and definitions over; different ones are conflicts (--on-conflict)"
            } else {
                "some source versions could not be checked"
            }
        ));
        if let Some(m) = &self.manifest {
            out.push_str(&format!("report: {m}\n"));
        }
        out
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::InSync => "in-sync",
        State::Missing => "MISSING",
        State::Different => "DIFFERENT",
        State::Extra => "EXTRA",
        State::Unverifiable => "UNCHECKED",
        State::Unknown => "UNKNOWN",
    }
}

/// A target component that `copy` registered as a job's definition: the job's name.
fn definition_of(t: &AssetItem) -> Option<String> {
    let job = t.properties.get("properties")?.get("aml-failover.sourceJob")?.as_str()?;
    job.rsplit('/').next().map(str::to_string)
}

/// Every selected version of `from` (kinds `kinds`, names matching `name`) compared with
/// `to`'s, and the versions `to` has that `from` does not.
pub async fn workspaces(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, kinds: &[Kind], name: Option<&str>) -> Result<Vec<VerifyItem>> {
    let want_pipelines = kinds.contains(&Kind::Job);
    let src_sel = Selection { kinds: kinds.to_vec(), name: name.map(str::to_string), latest_only: false };
    // Pipelines live in the target as definition components: list those too.
    let mut tgt_kinds = kinds.to_vec();
    if want_pipelines && !tgt_kinds.contains(&Kind::Component) {
        tgt_kinds.push(Kind::Component);
    }
    let tgt_sel = Selection { kinds: tgt_kinds, name: None, latest_only: false };
    let (mut src_items, tgt_items, src_ds, tgt_ds) = futures::future::try_join4(
        assets::list_versions(&ctx.arm, from, &src_sel),
        assets::list_versions(&ctx.arm, to, &tgt_sel),
        Datastores::load(ctx, from),
        Datastores::load(ctx, to),
    )
    .await?;
    if want_pipelines {
        src_items.extend(pipeline::list(&ctx.arm, from, name).await?);
    }

    let pattern = assets::NamePattern::new(name);
    let name_ok = |n: &str| pattern.matches(n);
    let src_pipeline_defs: Vec<String> = src_items.iter().filter(|i| i.kind == Kind::Job).map(|i| pipeline::definition_name(&i.name)).collect();
    let mut items: Vec<VerifyItem> = Vec::new();
    let mut targets: HashMap<(Kind, String, String), AssetItem> = HashMap::new();
    let src_keys: std::collections::HashSet<(Kind, String, String)> = src_items.iter().map(AssetItem::key).collect();
    for t in tgt_items {
        // A definition component the source has too (copying a failover workspace back) is
        // compared as the component it is.
        if let (Some(job), false) = (definition_of(&t), src_keys.contains(&t.key())) {
            // A pipeline definition: extra when no source job of the selection makes it.
            if want_pipelines && name_ok(&job) && !src_pipeline_defs.contains(&t.name) {
                items.push(VerifyItem {
                    kind: Kind::Job,
                    name: job,
                    version: "1".into(),
                    state: State::Extra,
                    reasons: vec![format!("in the target (definition component {}:{}), not in the source", t.name, t.version)],
                });
            }
            continue;
        }
        if kinds.contains(&t.kind) && name_ok(&t.name) {
            targets.insert(t.key(), t);
        }
    }

    let engine = Engine::new(EngineOptions::default(), Arc::new(Silent));
    let same_version = |_: Kind, _: &str, v: &str| v.to_string();
    let rw = Rewriter { src: ws_id(from), dst: ws_id(to), version_of: &same_version };
    let cmp = TargetComparer { ctx, from, to, src_ds: &src_ds, tgt_ds: &tgt_ds, engine: &engine, rw: &rw, submit: false, copy_data: false };
    let conc = crate::plan::PLAN_CONCURRENCY;
    let pairs: Vec<(AssetItem, Option<AssetItem>)> = src_items
        .into_iter()
        .map(|i| {
            let t = targets.remove(&i.key());
            (i, t)
        })
        .collect();
    cmp.index(pairs.iter().map(|(i, t)| (i, t.as_ref()))).await;
    let compared: Vec<VerifyItem> = futures::stream::iter(pairs.into_iter().map(|(item, target)| {
        let cmp = &cmp;
        async move {
            let (item, unreadable, comparison) = cmp.compare(item, target).await;
            let (state, reasons) = match (unreadable, comparison) {
                (Some(why), _) => (State::Unverifiable, vec![why]),
                (None, Comparison::Identical) => (State::InSync, Vec::new()),
                (None, Comparison::Missing) => (State::Missing, vec!["in the source, not in the target".to_string()]),
                (None, Comparison::Different(why)) => (State::Different, why),
                (None, Comparison::Unknown(why)) => (State::Unknown, vec![why]),
            };
            VerifyItem { kind: item.kind, name: item.name, version: item.version, state, reasons }
        }
    }))
    .buffer_unordered(conc)
    .collect()
    .await;
    items.extend(compared);
    for (_, t) in targets {
        items.push(VerifyItem { kind: t.kind, name: t.name, version: t.version, state: State::Extra, reasons: vec!["in the target, not in the source".into()] });
    }

    Ok(items)
}

impl VerifyReport {
    /// Sorts (kinds in dependency order, names, versions) and summarizes; writes the report to
    /// `manifest` when given.
    pub fn finish(&mut self, manifest: Option<&Path>) -> Result<()> {
        let kind_rank: BTreeMap<Kind, usize> = Kind::ALL.iter().enumerate().map(|(i, k)| (*k, i)).collect();
        self.items.sort_by(|a, b| {
            kind_rank
                .get(&a.kind)
                .cmp(&kind_rank.get(&b.kind))
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| assets::version_order(&a.version, &b.version))
        });
        self.summarize();
        if let Some(path) = manifest {
            self.manifest = Some(path.display().to_string());
            crate::atomic::write_json(path, &*self).map_err(|e| Error::usage(format!("cannot write the report {}: {e} (choose another --manifest path)", path.display())))?;
        }
        Ok(())
    }
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
    let items = match o.kinds.is_empty() {
        true => Vec::new(),
        false => crate::drift::workspaces(&ctx, &from, &to, &o.kinds, o.name.as_deref()).await?,
    };
    let mut report = VerifyReport::new(from.arm_id(), to.arm_id(), o.kinds.clone(), started_at, started, items, None);
    if !o.def_kinds.is_empty() {
        let found = crate::estate::drift(&ctx.arm, &from, &to, &o.def_kinds, o.name.as_deref()).await?;
        report.estate = found.into_iter().map(|(k, n, c)| EstateDrift::of(k, n, c)).collect();
        report.duration_ms = started.elapsed().as_millis() as u64;
    }
    finish(o, report)
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
    let pattern = assets::NamePattern::new(o.name.as_deref());
    let name_ok = |n: &str| pattern.matches(n);
    let wanted: Vec<&crate::bundle::manifest::BundleAsset> = m.assets.iter().filter(|a| kinds.contains(&a.kind) && name_ok(&a.name)).collect();
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
    let snapshot = SnapshotChecked { bundle: bundle.describe(), id: m.id.clone(), created_at: m.created_at.clone(), source: m.source.clone() };
    finish(o, VerifyReport::new(format!("snapshot {} in {}", m.id, bundle.describe()), target, kinds, started_at, started, items, Some(snapshot)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(state: State) -> VerifyItem {
        VerifyItem { kind: Kind::Model, name: "m".into(), version: "1".into(), state, reasons: vec!["why".into()] }
    }

    fn report(states: &[State]) -> VerifyReport {
        let mut r = VerifyReport {
            schema_version: 1,
            command: "verify",
            source: "a".into(),
            target: "b".into(),
            kinds: vec![Kind::Model],
            started_at: String::new(),
            duration_ms: 0,
            in_sync: false,
            summary: Default::default(),
            items: states.iter().map(|s| item(*s)).collect(),
            estate: Vec::new(),
            manifest: None,
            snapshot: None,
        };
        r.summarize();
        r
    }

    #[test]
    fn exit_code_says_in_sync_or_drifted() {
        assert_eq!(report(&[State::InSync, State::InSync]).exit(), Exit::Ok);
        assert_eq!(report(&[]).exit(), Exit::Ok);
        for s in [State::Missing, State::Different, State::Extra] {
            let r = report(&[State::InSync, s]);
            assert_eq!(r.exit(), Exit::Drifted, "{s:?}");
            assert!(!r.in_sync);
            assert!(r.human(false).contains("DRIFTED"), "{}", r.human(false));
            assert!(!r.human(false).contains("in-sync "), "in-sync items are not listed: {}", r.human(false));
        }
        assert_eq!(report(&[State::Unverifiable]).exit(), Exit::Partial);
        assert_eq!(report(&[State::InSync, State::Unknown]).exit(), Exit::Partial);
        assert!(!report(&[State::Unknown]).in_sync);
        assert_eq!(report(&[State::Unverifiable, State::Extra]).exit(), Exit::Drifted);
        // A definition's drift counts as an asset's does.
        let mut r = report(&[State::InSync]);
        r.estate = vec![EstateDrift::of(crate::assets::definition::DefKind::Schedule, "s".into(), None)];
        r.summarize();
        assert_eq!((r.exit(), r.in_sync), (Exit::Drifted, false));
        assert!(r.human(false).contains("EXTRA      schedule s") && r.human(false).contains("DRIFTED"), "{}", r.human(false));
    }

    #[test]
    fn json_is_versioned_and_names_states() {
        let v = serde_json::to_value(report(&[State::InSync, State::Missing])).unwrap();
        assert_eq!(v["schemaVersion"], 1);
        assert_eq!(v["command"], "verify");
        assert_eq!(v["inSync"], false);
        assert_eq!(v["summary"]["missing"], 1);
        assert_eq!(v["summary"]["inSync"], 1);
        assert_eq!(v["items"][1]["state"], "missing");
        assert_eq!(v["items"][0]["kind"], "model");
    }
}
