//! The plan as one value: what the source has, what the target has, and the options give a
//! [`Plan`] that decides per item — copy, skip (identical), conflict (same name and version,
//! different content), overwrite or new version (when asked), fail (the item cannot be read,
//! or a dependency is missing: the chain is named), not needed (only items that cannot be
//! copied need it), re-register or manual (data assets) — and writes nothing. `plan` and
//! `copy --dry-run` print it ([`Plan::report`]); `crate::execute` runs it.
//!
//! [`survey`] reads both sides (listing, comparison); everything else here is pure.

pub mod survey;

pub use survey::{build, list, Listing, Options};

use crate::assets::graph::{self, Edges};
use crate::assets::refs::Rewrite;
use crate::assets::uri::ContentUri;
use crate::assets::{data, version_order, AssetItem, Kind, Selection};
use crate::azureml::datastores::Datastore;
use crate::storage::datastore::Datastores;
use crate::transfer::EngineOptions;
use crate::workspace::WorkspaceRef;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

/// An item: (kind, name, version).
pub type Key = (Kind, String, String);

/// One decided item of a [`Plan`].
#[derive(Clone)]
pub struct PlannedItem {
    /// The source item (content resolved where its files are compared and copied).
    pub item: AssetItem,
    pub facts: Facts,
    pub decision: Decision,
    /// A data asset re-registered on a shared datastore: (target datastore, URI).
    pub shared: Option<(String, String)>,
    /// A spec-only item's references as they will be rewritten (versions as planned).
    pub rewrites: Vec<Rewrite>,
}

impl PlannedItem {
    pub fn key(&self) -> Key {
        (self.facts.kind, self.facts.name.clone(), self.facts.version.clone())
    }
}

/// Every decision of a copy, as a value: printed by `plan`/`--dry-run`, run by `execute`.
pub struct Plan {
    pub from: WorkspaceRef,
    pub to: WorkspaceRef,
    /// In plan order (kind, name, version).
    pub items: Vec<PlannedItem>,
    /// What each item needs.
    pub edges: Edges<Key>,
    pub warnings: Vec<String>,
    pub submit: bool,
    pub copy_data: bool,
    pub src_ds: Datastores,
    pub tgt_ds: Datastores,
    /// The target's versions by name (with `--on-conflict new-version`).
    pub tgt_by_name: HashMap<(Kind, String), Vec<AssetItem>>,
    pub engine: EngineOptions,
}

impl Action {
    /// Whether executing it writes into the target.
    pub fn writes(self) -> bool {
        matches!(self, Action::Copy | Action::Overwrite | Action::NewVersion | Action::Reregister)
    }

    /// Whether its files are transferred.
    pub fn transfers(self) -> bool {
        matches!(self, Action::Copy | Action::Overwrite | Action::NewVersion)
    }
}

impl Plan {
    /// Whether running it writes anything into the target.
    pub fn writes(&self) -> bool {
        self.items.iter().any(|p| p.decision.action.writes())
    }
}

fn label(k: &Key) -> String {
    if k.0.is_versioned() {
        format!("{} {}:{}", k.0, k.1, k.2)
    } else {
        format!("{} {}", k.0, k.1)
    }
}

/// `job p → component c:1 → environment e:2 <last>`.
pub fn chain_text(chain: &[Key], last: &str) -> String {
    let mut s: Vec<String> = chain.iter().map(label).collect();
    if let Some(l) = s.last_mut() {
        l.push(' ');
        l.push_str(last);
    }
    s.join(" → ")
}

/// A new version the target already holds, identical, as version `v`: skipped.
pub fn held_elsewhere(d: &mut Decision, v: String) {
    d.action = Action::Skip;
    d.reason = format!("already in the target as version {v}, identical (spec and sha256 of every file): copied there by an earlier --on-conflict new-version run");
    d.target_version = v;
}

/// The decisions after comparing: items whose dependencies are missing fail (the chain
/// named), what only those items need is not copied, data assets get their policy; and
/// the warnings of the plan.
pub struct Decided {
    pub planned: Vec<(Facts, Decision)>,
    /// Data assets re-registered on a shared datastore: (target datastore, URI).
    pub shared: HashMap<Key, (String, String)>,
    pub warnings: Vec<String>,
}

/// See [`Decided`]. `exists`: whether a key is in the source; `items`: the compared items.
#[allow(clippy::too_many_arguments)]
pub fn decide_all(
    mut planned: Vec<(Facts, Decision)>,
    roots: &[Key],
    edges: &Edges<Key>,
    exists: &dyn Fn(&Key) -> bool,
    items: &HashMap<Key, AssetItem>,
    from: &WorkspaceRef,
    to: &WorkspaceRef,
    src_ds: &[Datastore],
    tgt_ds: &[Datastore],
    data_o: &DataOptions,
    submit: bool,
) -> Decided {
    // A missing dependency fails the item, naming the chain; data assets get their policy.
    let mut shared_locations: HashMap<Key, (String, String)> = HashMap::new();
    let mut data_names = Vec::new();
    let mut unresolvable: BTreeSet<Key> = BTreeSet::new();
    for (f, d) in planned.iter_mut() {
        let key = (f.kind, f.name.clone(), f.version.clone());
        if let Some(chain) = graph::chain_to(&key, edges, &|k: &Key| !exists(k)) {
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
    let needed: BTreeSet<Key> = graph::closure(&ok_roots, edges).into_iter().collect();
    for (f, d) in planned.iter_mut() {
        let key = (f.kind, f.name.clone(), f.version.clone());
        if unresolvable.contains(&key) {
            continue;
        }
        if !needed.contains(&key) {
            if d.action.transfers() {
                d.action = Action::Skip;
                d.reason = "not copied: only items that cannot be copied need it".into();
            }
            continue;
        }
        if f.kind != Kind::Data {
            continue;
        }
        data_names.push(format!("{}:{}", f.name, f.version));
        if !d.action.transfers() {
            continue;
        }
        let item = &items[&key];
        if data_o.copy_data && item.content.is_some() {
            continue;
        }
        let src_place = data::source_datastore(item, from, src_ds);
        let shared = src_place.as_ref().and_then(|(sd, _)| data::shared_target(sd, src_ds, tgt_ds, &data_o.shared));
        match (data_o.reregister_shared, shared, src_place) {
            (true, Some((tds, why)), Some((_, path))) => {
                let mut uri = ContentUri::datastore_uri(to, &tds, &path);
                if item.location().is_some_and(|l| l.ends_with('/')) {
                    uri.push('/');
                }
                shared_locations.insert(key.clone(), (tds, uri));
                d.action = Action::Reregister;
                d.reason = format!("its path is on a datastore both workspaces reach ({why}); re-registered pointing at the same data");
            }
            (_, None, None) if data::remote_url(item, from, src_ds).is_some() => {
                // No datastore: registered as it is, nothing read (see execute::reregister_data).
                let uri = data::remote_url(item, from, src_ds).unwrap_or_default();
                shared_locations.insert(key.clone(), (String::new(), uri));
                d.action = Action::Reregister;
                d.reason = "its path is a URL outside the workspace's storage, which the failover workspace reaches too; re-registered with the same path, not read (as az ml data create registers a remote path)".into();
            }
            (false, Some((_, why)), _) => {
                d.action = Action::Manual;
                d.reason = format!("needs manual re-registration: its path is on a shared datastore ({why}); --reregister-shared-data re-registers it");
            }
            _ => {
                d.action = Action::Manual;
                d.reason = "needs manual re-registration: its path is not on a datastore the failover workspace reaches (name one with --shared-datastore, or --copy-data for uri_file/uri_folder/mltable on workspace storage)".into();
            }
        }
    }
    // The warning names only what is left to a person: not what re-registers on a datastore
    // both workspaces reach (one the estate step may just have created) or is copied.
    let left: BTreeSet<String> = planned.iter().filter(|(f, d)| f.kind == Kind::Data && d.action == Action::Manual).map(|(f, _)| format!("{}:{}", f.name, f.version)).collect();
    data_names.retain(|n| left.contains(n));
    let mut warnings = Vec::new();
    if !data_names.is_empty() {
        warnings.push(format!("{}; data assets left to re-register: {}", data::WARNING, data_names.join(", ")));
    }
    if planned.iter().any(|(f, _)| f.kind == Kind::Job) {
        warnings.push(format!(
            "jobs are recreated {}; {}",
            if submit { "and submitted (--submit): each creates a new run in the target" } else { "as definitions (components named after the job: a pipeline job a pipeline component, a command or sweep job a command component), not run; --submit runs them" },
            crate::assets::pipeline::NOT_TRANSFERRED
        ));
    }
    Decided { planned, shared: shared_locations, warnings }
}

/// Comparisons in flight while planning (and in `verify`), at least: the files of both sides
/// come from one flat listing per container ([`crate::compare::TargetComparer::index`]), so a
/// comparison asks storage nothing unless a hash must be read or the listing was given up (a
/// listing or HEAD per side then); `--concurrency` (files in flight) raises it, never lowers it.
pub const PLAN_CONCURRENCY: usize = 64;

/// `--on-conflict` (clap parses it: a bad value is a usage error naming the possible values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnConflict {
    /// Report the conflict, change nothing (default).
    #[value(alias = "skip", alias = "fail")]
    Report,
    /// Replace the target version with the source's.
    Overwrite,
    /// Register the source's content under the next free version number.
    NewVersion,
}

/// Options of `copy`, validated.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub selection: Selection,
    pub dry_run: bool,
    pub on_conflict: OnConflict,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
    /// Submit pipeline jobs in the target instead of recreating them as definitions.
    pub submit: bool,
    pub data: DataOptions,
    /// Datastores, connections, computes, endpoints, schedules (`crate::estate`).
    pub estate: EstateOptions,
}

/// What `copy` does with the workspace's definitions (see `crate::estate`).
#[derive(Debug, Clone, Default)]
pub struct EstateOptions {
    /// The definition kinds `--kinds` selects.
    pub kinds: Vec<crate::assets::definition::DefKind>,
    pub copy: crate::assets::definition::CopyOptions,
    /// `--deploy` (failover: `--deploy-endpoints`): online endpoints and deployments are created.
    pub deploy_online: bool,
}

/// What `copy` does with data assets (see `assets::data`).
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// Re-register data assets whose path is on a datastore both workspaces reach.
    pub reregister_shared: bool,
    /// `--shared-datastore SRC[=TGT]`: source datastore → target datastore with the same data.
    pub shared: Vec<(String, String)>,
    /// Where the YAML of data assets needing manual re-registration is written.
    pub output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code "partial".
    pub accept_warnings: bool,
    /// Copy the files of uri_file/uri_folder data assets on the source workspace's storage.
    pub copy_data: bool,
}

/// Options of `verify`, validated.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// `verify BUNDLE`: check a snapshot bundle (alone, or --to against it) instead of --from.
    pub bundle: Option<String>,
    /// Which snapshot of the bundle (default: the newest).
    pub snapshot: Option<String>,
    pub kinds: Vec<Kind>,
    /// The definition kinds (datastores, connections, computes, endpoints, schedules).
    pub def_kinds: Vec<crate::assets::definition::DefKind>,
    pub name: Option<String>,
    pub manifest: Option<PathBuf>,
    /// Also list in-sync items in the human output.
    pub show_all_items: bool,
}

pub use crate::compare::Comparison;

/// What the plan needs to know about one source item.
#[derive(Debug, Clone)]
pub struct Facts {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// Why the source item cannot be copied (its content could not be read), if so.
    pub unreadable: Option<String>,
    pub comparison: Comparison,
    /// Versions of this name that already exist in the target (or are copied under their own
    /// numbers): what a new version must not take; the planner fills it only where a new
    /// version may be needed (different, with `--on-conflict new-version`).
    pub target_versions: Vec<String>,
}

/// What the plan decided (src/plan.rs Action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum Action {
    Copy,
    Skip,
    Conflict,
    Overwrite,
    NewVersion,
    Fail,
    /// A data asset registered in the target pointing at the same data (shared datastore).
    Reregister,
    /// A data asset a person must re-register (its YAML is written for that).
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The version written in the target (differs from the source's for new-version).
    pub target_version: String,
    pub reason: String,
}

pub fn decide(f: &Facts, on_conflict: OnConflict) -> Decision {
    let same = |action, reason: String| Decision { action, target_version: f.version.clone(), reason };
    if let Some(why) = &f.unreadable {
        return same(Action::Fail, why.clone());
    }
    match &f.comparison {
        Comparison::Missing => same(Action::Copy, "not in the target".into()),
        Comparison::Identical => same(Action::Skip, "already in the target, identical (spec and sha256 of every file)".into()),
        // Unknown is never a decision: nothing is written, whatever --on-conflict says.
        Comparison::Unknown(why) => same(Action::Fail, format!("{why}; nothing written in the target (rerun when it answers)")),
        Comparison::Different(why) => {
            let why = why.join("; ");
            match on_conflict {
                OnConflict::Report => same(
                    Action::Conflict,
                    format!("the target has {}:{} with different content ({why}); not overwritten (see --on-conflict)", f.name, f.version),
                ),
                OnConflict::Overwrite => same(Action::Overwrite, format!("replacing the target's version ({why})")),
                OnConflict::NewVersion => {
                    let next = next_version(&f.target_versions);
                    Decision {
                        action: Action::NewVersion,
                        reason: format!("the target's {} differs ({why}); registering as version {next}", f.version),
                        target_version: next,
                    }
                }
            }
        }
    }
}

/// One more than the highest numeric version (1 when there is none).
pub fn next_version(existing: &[String]) -> String {
    let max = existing.iter().filter_map(|v| v.parse::<u64>().ok()).max().unwrap_or(0);
    (max + 1).to_string()
}

/// Plans every item, in a stable order (kind, name, version).
pub fn plan(mut facts: Vec<Facts>, on_conflict: OnConflict) -> Vec<(Facts, Decision)> {
    facts.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)).then_with(|| version_order(&a.version, &b.version)));
    let mut planned: Vec<(Facts, Decision)> = facts.into_iter().map(|f| {
        let d = decide(&f, on_conflict);
        (f, d)
    }).collect();
    allocate_new_versions(&mut planned);
    planned
}

/// Allocates the numbers of `--on-conflict new-version` once for the whole run, in plan order:
/// each new version of a name takes one more than the target's numbers and every number taken
/// before it, so two conflicting versions never get the same number. Run again after
/// decisions change (a new version found already in the target becomes a skip): the numbers
/// close up.
pub fn allocate_new_versions(planned: &mut [(Facts, Decision)]) {
    let mut taken: std::collections::HashMap<(Kind, String), Vec<String>> = std::collections::HashMap::new();
    for (f, d) in planned.iter_mut().filter(|(_, d)| d.action == Action::NewVersion) {
        let mine = taken.entry((f.kind, f.name.clone())).or_default();
        let all: Vec<String> = f.target_versions.iter().chain(mine.iter()).cloned().collect();
        let next = next_version(&all);
        d.reason = d.reason.replace(&format!("registering as version {}", d.target_version), &format!("registering as version {next}"));
        d.target_version = next;
        mine.push(d.target_version.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(cmp: Comparison) -> Facts {
        Facts { kind: Kind::Model, name: "m".into(), version: "3".into(), unreadable: None, comparison: cmp, target_versions: vec!["1".into(), "3".into(), "x".into()] }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(&facts(Comparison::Missing), OnConflict::Report).action, Action::Copy);
        assert_eq!(decide(&facts(Comparison::Identical), OnConflict::Overwrite).action, Action::Skip);
        let diff = Comparison::Different(vec!["file a: sha256 differs".into()]);
        let c = decide(&facts(diff.clone()), OnConflict::Report);
        assert_eq!(c.action, Action::Conflict);
        assert!(c.reason.contains("sha256 differs") && c.reason.contains("--on-conflict"), "{}", c.reason);
        assert_eq!(decide(&facts(diff.clone()), OnConflict::Overwrite).action, Action::Overwrite);
        let n = decide(&facts(diff.clone()), OnConflict::NewVersion);
        assert_eq!((n.action, n.target_version.as_str()), (Action::NewVersion, "4"));
        for policy in [OnConflict::Report, OnConflict::Overwrite, OnConflict::NewVersion] {
            let u = decide(&facts(Comparison::Unknown("cannot compare with the target: 503".into())), policy);
            assert_eq!((u.action, u.target_version.as_str()), (Action::Fail, "3"), "{policy:?}");
            assert!(u.reason.contains("503") && u.reason.contains("nothing written"), "{}", u.reason);
        }
        // Two conflicting versions of one name: two numbers, each in its reason.
        let two = plan(vec![Facts { version: "1".into(), ..facts(diff.clone()) }, facts(diff)], OnConflict::NewVersion);
        let got: Vec<(&str, &str)> = two.iter().map(|(f, d)| (f.version.as_str(), d.target_version.as_str())).collect();
        assert_eq!(got, [("1", "4"), ("3", "5")]);
        assert!(two[1].1.reason.ends_with("registering as version 5"), "{}", two[1].1.reason);
        let mut f = facts(Comparison::Missing);
        f.unreadable = Some("no files".into());
        assert_eq!(decide(&f, OnConflict::Report).action, Action::Fail);
    }

    #[test]
    fn plan_order_is_stable() {
        let mut a = facts(Comparison::Missing);
        a.version = "10".into();
        let b = facts(Comparison::Missing);
        let mut c = facts(Comparison::Missing);
        c.kind = Kind::Environment;
        let p = plan(vec![a, b, c], OnConflict::Report);
        let order: Vec<(Kind, &str)> = p.iter().map(|(f, _)| (f.kind, f.version.as_str())).collect();
        assert_eq!(order, [(Kind::Model, "3"), (Kind::Model, "10"), (Kind::Environment, "3")]);
    }

    #[test]
    fn next_version_skips_non_numeric() {
        assert_eq!(next_version(&[]), "1");
        assert_eq!(next_version(&["2".into(), "beta".into(), "7".into()]), "8");
    }
}
