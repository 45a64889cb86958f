//! Reading both sides for a plan: the listing of both workspaces ([`list`], read before the
//! target's lock is checked), then the comparison of every selected item (and what it needs)
//! with the target, then the decisions ([`super::decide_all`]): the [`Plan`].

use super::{Action, Comparison, DataOptions, Facts, Key, OnConflict, Plan, PlannedItem};
use crate::assets::graph;
use crate::assets::refs::{self, Rewriter};
use crate::assets::{self, AssetItem, Kind, Selection};
use crate::compare::TargetComparer;
use crate::error::Result;
use crate::storage::datastore::Datastores;
use crate::transfer::{Engine, EngineOptions, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// What both workspaces hold of the kinds a selection needs (every version: dependencies may
/// be older versions), and their datastores.
pub struct Listing {
    pub source: Vec<AssetItem>,
    pub target: Vec<AssetItem>,
    pub src_ds: Datastores,
    pub tgt_ds: Datastores,
}

/// Lists both sides (versioned kinds; jobs are listed by [`build`]).
pub async fn list(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, sel: &Selection) -> Result<Listing> {
    let all_versions = Selection { kinds: graph::needed_kinds(&sel.kinds), name: None, latest_only: false };
    let (source, target, src_ds, tgt_ds) = futures::future::try_join4(
        assets::list_versions(&ctx.arm, from, &all_versions),
        assets::list_versions(&ctx.arm, to, &all_versions),
        Datastores::load(ctx, from),
        Datastores::load(ctx, to),
    )
    .await?;
    Ok(Listing { source, target, src_ds, tgt_ds })
}

/// What a plan is asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub selection: Selection,
    pub on_conflict: OnConflict,
    /// Pipelines as submitted jobs rather than definitions.
    pub submit: bool,
    pub data: DataOptions,
    /// Comparisons in flight (at least [`super::PLAN_CONCURRENCY`]).
    pub concurrency: usize,
    /// The engine's options, for the hashes a comparison reads.
    pub engine: EngineOptions,
}

impl super::CopyOptions {
    /// What its plan is asked for.
    pub fn plan_options(&self) -> Options {
        Options {
            selection: self.selection.clone(),
            on_conflict: self.on_conflict,
            submit: self.submit,
            data: self.data.clone(),
            concurrency: self.engine.concurrency,
            engine: self.engine.clone(),
        }
    }
}

/// The plan of a copy from `from` to `to`: every selected item and what it needs, compared
/// with the target, decided. Reads both sides, writes nothing.
pub async fn build(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, listing: Listing, o: &Options) -> Result<Plan> {
    let sel = &o.selection;
    let Listing { source: src_all, target: tgt_items, src_ds, tgt_ds } = listing;
    // Kinds that are not versioned (pipeline jobs) list themselves.
    let mut unversioned = Vec::new();
    for k in sel.kinds.iter().filter(|k| !k.is_versioned()) {
        unversioned.extend(k.spec().list(&ctx.arm, from, sel.name.as_deref()).await?);
    }

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
    let pattern = assets::NamePattern::new(sel.name.as_deref());
    let definitions: BTreeSet<String> = if sel.kinds.contains(&Kind::Component) {
        src_all
            .iter()
            .filter(|i| i.kind == Kind::Component && i.version == "1" && pattern.matches(&i.name))
            .filter(|i| i.properties.get("properties").and_then(|p| p.get("aml-failover.sourceJob")).is_some())
            .map(|i| i.name.clone())
            .collect()
    } else {
        BTreeSet::new()
    };
    for i in src_all.into_iter().chain(unversioned) {
        let selected = sel.kinds.contains(&i.kind)
            && pattern.matches(&i.name)
            && (!sel.latest_only || !i.kind.is_versioned() || latest.get(&(i.kind, i.name.clone())) == Some(&i.version))
            && !(i.kind == Kind::Job && definitions.contains(&assets::pipeline::definition_name(&i.name)));
        if selected {
            roots.push(i.key());
        }
        index.insert(i.key(), i);
    }

    // The dependency graph (references into the source workspace, or relative ones).
    let src_ws = refs::ws_id(from);
    let edges = refs::edges_of(index.iter().map(|(k, i)| (k.clone(), i.kind, &i.properties)), &src_ws, &latest);
    let nodes: Vec<Key> = graph::closure(&roots, &edges).into_iter().filter(|k| index.contains_key(k)).collect();
    // Moved out, not cloned (a workspace's versions are most of a plan's memory); what is left
    // is only asked whether a key exists.
    let src_items: Vec<AssetItem> = nodes.iter().filter_map(|k| index.remove(k)).collect();
    let moved: BTreeSet<&Key> = nodes.iter().collect();
    let in_source = |k: &Key| index.contains_key(k) || moved.contains(k);

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
    let compare_rw = Rewriter { src: src_ws.clone(), dst: refs::ws_id(to), version_of: &same_version };

    // Resolve content and compare with the target (reads hashes only where a target exists).
    let conc = o.concurrency.max(super::PLAN_CONCURRENCY);
    let cmp = TargetComparer { ctx, from, to, src_ds: &src_ds, tgt_ds: &tgt_ds, engine: &quiet_engine, rw: &compare_rw, submit: o.submit, copy_data: o.data.copy_data };
    cmp.index(src_items.iter().map(|i| (i, targets.get(&i.key())))).await;
    let compared: Vec<(AssetItem, Facts)> = futures::stream::iter(src_items.into_iter().map(|item| {
        let target = targets.remove(&item.key());
        let (cmp, target_versions) = (&cmp, &target_versions);
        async move {
            let (item, unreadable, comparison) = cmp.compare(item, target).await;
            // Only a new version needs the numbers taken (a copy per item would be a name's
            // every version number times its versions).
            let tv = match (&comparison, o.on_conflict) {
                (Comparison::Different(_), OnConflict::NewVersion) => target_versions.get(&(item.kind, item.name.clone())).cloned().unwrap_or_default(),
                _ => Vec::new(),
            };
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
    let mut planned = super::plan(facts_list, o.on_conflict);
    // --on-conflict new-version: a source version the target already holds, identical, under
    // another number (registered by an earlier run, or by one killed before its journal said
    // so) is not registered once more: a rerun changes nothing.
    for (f, d) in planned.iter_mut().filter(|(_, d)| d.action == Action::NewVersion) {
        let item = &items[&(f.kind, f.name.clone(), f.version.clone())];
        let others = tgt_by_name.get(&(f.kind, f.name.clone())).map(Vec::as_slice).unwrap_or_default();
        match cmp.copied_as(item, others).await {
            Ok(Some(v)) => super::held_elsewhere(d, v),
            Ok(None) => {}
            // Whether another version already holds it is unknown: a new one could duplicate it.
            Err(why) => *d = super::decide(&Facts { comparison: Comparison::Unknown(why), ..f.clone() }, o.on_conflict),
        }
    }
    super::allocate_new_versions(&mut planned);
    let decided = super::decide_all(planned, &roots, &edges, &in_source, &items, from, to, src_ds.all(), tgt_ds.all(), &o.data, o.submit);
    let items = decided
        .planned
        .into_iter()
        .map(|(facts, decision)| {
            let key = (facts.kind, facts.name.clone(), facts.version.clone());
            let item = items.remove(&key).expect("every planned item was compared");
            // What a spec-only item's references become (the dry run lists them).
            let rewrites = item.kind.spec().desired(&item, from, o.submit, &compare_rw).map(|(_, r)| r).unwrap_or_default();
            let shared = decided.shared.get(&key).cloned();
            PlannedItem { item, facts, decision, shared, rewrites }
        })
        .collect();
    Ok(Plan {
        from: from.clone(),
        to: to.clone(),
        items,
        edges,
        warnings: decided.warnings,
        submit: o.submit,
        copy_data: o.data.copy_data,
        src_ds,
        tgt_ds,
        tgt_by_name,
        engine: o.engine.clone(),
    })
}
