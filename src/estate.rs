//! The workspace's estate — datastores, connections, computes, endpoints and deployments,
//! schedules — planned and written into the target (issue 14). The decisions are pure
//! ([`decide`]); [`run`] reads both workspaces, decides, writes in dependency order (an
//! endpoint before its deployments, its traffic once they exist), and writes the `az ml` YAML
//! of what is left to a person (secret-bearing definitions without `--with-secrets`, online
//! endpoints without `--deploy`, unmapped subnets, compute instances).
//!
//! It runs before the assets are planned, so a data asset whose datastore it creates in the
//! target re-registers against it (`assets::data::shared_target` finds it there).

use crate::assets::compute;
use crate::assets::definition::{self, CopyOptions, DefKind, Definition, Prepared, ScheduleState};
use crate::assets::refs::{Rewrite, Rewriter};
use crate::assets::definition_arm as arm_defs;
use crate::azureml::ArmClient;
use crate::compare::Comparison;
use crate::error::{Error, Result};
use crate::plan::OnConflict;
use crate::workspace::WorkspaceRef;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// What to do with the estate.
#[derive(Debug, Clone)]
pub struct Options {
    pub kinds: Vec<DefKind>,
    /// `--name`: only definitions whose name matches (deployments: the deployment's or its
    /// endpoint's name).
    pub name: Option<String>,
    pub copy: CopyOptions,
    pub on_conflict: OnConflict,
    /// `--deploy` / `--deploy-endpoints`: online endpoints and deployments are created (else
    /// their YAML is written).
    pub deploy_online: bool,
    /// Where the YAML of manual steps goes (beside the report).
    pub yaml_dir: Option<PathBuf>,
    /// Plan only: nothing is written, not even YAML.
    pub dry_run: bool,
}

/// What happens to one definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum DefAction {
    /// Not in the target: created.
    Create,
    /// In the target, the same definition.
    Skip,
    /// In the target, different: reported, not overwritten (`--on-conflict overwrite`).
    Conflict,
    /// In the target, different, and `--on-conflict overwrite`: replaced.
    Overwrite,
    /// A pre-staged schedule enabled (failover).
    Enable,
    /// Left to a person: its `az ml` YAML is written (secrets as placeholders).
    Manual,
    /// An online endpoint or deployment written as YAML, not created (`--deploy` creates it).
    Yaml,
    /// Cannot be written (the reason names why: a quota shortfall, its endpoint missing, the
    /// service's error).
    Fail,
}

/// One definition's outcome, as reports and JSON show it (never a secret): an item of the
/// copy report's `estate` array.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "estateItem", deny_unknown_fields)]
pub struct DefOutcome {
    pub kind: DefKind,
    /// the definition's name; `endpoint/deployment` for deployments
    pub name: String,
    /// create, skip (the same definition), conflict, overwrite, enable (a pre-staged schedule, failover), manual (left to a person: its YAML is written), yaml (an online endpoint or deployment written as YAML, not created: --deploy creates it), fail
    pub action: DefAction,
    pub reason: String,
    /// references rewritten from the source workspace to the target; absent when none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub rewrites: Vec<Rewrite>,
    /// the az ml YAML written for it (manual and yaml), secrets as placeholders
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// whether this run wrote it in the target (false in a dry run)
    pub written: bool,
}

impl DefOutcome {
    /// The human line of a definition: `<action> <kind> <name>  <reason>` (and its YAML).
    pub fn human(&self) -> String {
        let word = match (self.action, self.written) {
            (DefAction::Create, true) => "created",
            (DefAction::Create, false) => "create",
            (DefAction::Overwrite, true) => "replaced",
            (DefAction::Overwrite, false) => "replace",
            (DefAction::Enable, true) => "enabled",
            (DefAction::Enable, false) => "enable",
            (DefAction::Skip, _) => "skipped",
            (DefAction::Conflict, _) => "conflict",
            (DefAction::Manual, _) => "manual",
            (DefAction::Yaml, _) => "yaml",
            (DefAction::Fail, _) => "FAILED",
        };
        let mut line = format!("{word:<9} {} {}  {}\n", self.kind, self.name, self.reason);
        if let Some(y) = &self.yaml {
            line.push_str(&format!("          then: {} {y}\n", az_command(self.kind)));
        }
        line
    }
}

/// The estate step of a copy: both workspaces, the target's region, the options. `copy` runs
/// [`Run::phase`] twice: before the assets (datastores, connections, computes) and after them.
pub struct Run<'a> {
    arm: &'a ArmClient,
    from: &'a WorkspaceRef,
    to: &'a WorkspaceRef,
    region: String,
    pub opts: Options,
}

impl<'a> Run<'a> {
    /// `None` when `--kinds` selects no definition kind. Reads the target's region.
    pub async fn new(ctx: &'a crate::workspace::Context, from: &'a WorkspaceRef, to: &'a WorkspaceRef, o: &crate::plan::CopyOptions) -> Result<Option<Run<'a>>> {
        if o.estate.kinds.is_empty() {
            return Ok(None);
        }
        let region = crate::azureml::workspaces::get(&ctx.arm, to).await?.location;
        let dir = o.manifest.as_deref().and_then(Path::parent).filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let opts = Options {
            kinds: o.estate.kinds.clone(),
            name: o.selection.name.clone(),
            copy: o.estate.copy.clone(),
            // A definition has no versions: new-version reports the conflict.
            on_conflict: if o.on_conflict == OnConflict::Overwrite { OnConflict::Overwrite } else { OnConflict::Report },
            deploy_online: o.estate.deploy_online,
            yaml_dir: Some(dir.join(YAML_DIR)),
            dry_run: o.dry_run,
        };
        Ok(Some(Run { arm: &ctx.arm, from, to, region, opts }))
    }

    /// The kinds before the assets (`before`), or after them: decided and (unless a dry run)
    /// written.
    pub async fn phase(&self, before: bool) -> Result<Vec<DefOutcome>> {
        let mut opts = self.opts.clone();
        opts.kinds.retain(|k| before_assets(*k) == before);
        if opts.kinds.is_empty() {
            return Ok(Vec::new());
        }
        run(self.arm, self.arm, self.from, self.to, &self.region, &opts).await
    }
}

/// The folder, beside the manifest, the `az ml` YAML of the definitions left to a person goes to.
pub const YAML_DIR: &str = "aml-failover-estate";

/// `estate: 9 definitions: 5 created, …` (the human report's line after the definitions).
pub fn summary_line(outcomes: &[DefOutcome], dry_run: bool) -> String {
    let n = |f: &dyn Fn(&DefOutcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let created = n(&|o| matches!(o.action, DefAction::Create | DefAction::Overwrite));
    format!(
        "estate: {} definition{}: {created} {}, {} enabled, {} identical, {} manual steps, {} written as YAML, {} conflicts, {} failed\n",
        outcomes.len(),
        if outcomes.len() == 1 { "" } else { "s" },
        if dry_run { "to create" } else { "created" },
        n(&|o| o.action == DefAction::Enable),
        n(&|o| o.action == DefAction::Skip),
        n(&|o| o.action == DefAction::Manual),
        n(&|o| o.action == DefAction::Yaml),
        n(&|o| o.action == DefAction::Conflict),
        n(&|o| o.action == DefAction::Fail),
    )
}

/// The kinds `copy` runs before the assets (a data asset's datastore, a job's compute) and
/// after them (what refers to models, environments and code: deployments, schedules).
pub fn before_assets(kind: DefKind) -> bool {
    matches!(kind, DefKind::Datastore | DefKind::Connection | DefKind::Compute)
}

/// A `--kinds` value: the asset kinds and the definition kinds it names. `all` is every kind of
/// both; an unknown word is an error naming every accepted word.
pub fn parse_kinds(s: &str) -> Result<(Vec<crate::assets::Kind>, Vec<DefKind>)> {
    let mut assets = Vec::new();
    let mut defs: Vec<DefKind> = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part.eq_ignore_ascii_case("all") {
            defs.extend(DefKind::ALL);
            assets.push(part.to_string());
        } else if let Some(ks) = DefKind::parse(part) {
            defs.extend(ks);
        } else {
            assets.push(part.to_string());
        }
    }
    let asset_kinds = match (assets.is_empty(), defs.is_empty()) {
        (true, false) => Vec::new(),
        _ => crate::assets::Kind::parse_list(&assets.join(","))
            .map_err(|e| Error::usage(format!("{e}; definition kinds: {KIND_WORDS} (endpoints: online and batch, with their deployments)")))?,
    };
    let mut seen = Vec::new();
    for k in DefKind::ALL.iter().filter(|k| defs.contains(k)) {
        seen.push(*k);
    }
    Ok((asset_kinds, seen))
}

/// The definition kinds' words in `--kinds`.
pub const KIND_WORDS: &str = "datastores, connections, computes, endpoints, batch-endpoints, batch-deployments, online-endpoints, online-deployments, schedules";

/// Decides what happens to `def` given what it becomes in the target (`prepared`) and the
/// target's version (`have`).
pub fn decide(def: &Definition, prepared: &Prepared, have: Option<&Value>, opts: &Options) -> (DefAction, String) {
    let cmp = definition::compare(def.kind, &prepared.body, have);
    let online = matches!(def.kind, DefKind::OnlineEndpoint | DefKind::OnlineDeployment);
    match cmp {
        Comparison::Identical => {
            let enabled = have.and_then(|h| h.pointer("/properties/isEnabled")).and_then(Value::as_bool).unwrap_or(true);
            if def.kind == DefKind::Schedule && opts.copy.schedules == ScheduleState::Enabled && !enabled {
                return (DefAction::Enable, "pre-staged disabled; enabled for the failover".into());
            }
            (DefAction::Skip, "already in the target, the same definition".into())
        }
        Comparison::Different(why) if opts.on_conflict != OnConflict::Overwrite => (
            DefAction::Conflict,
            format!("the target has {} {} with another definition ({}); not overwritten (see --on-conflict)", def.kind, def.display_name(), why.join("; ")),
        ),
        _ if prepared.manual.is_some() => (DefAction::Manual, prepared.manual.clone().unwrap_or_default()),
        _ if online && !opts.deploy_online => (DefAction::Yaml, "online endpoints are written as az ml YAML; --deploy (failover: --deploy-endpoints) creates them".into()),
        Comparison::Different(why) => (DefAction::Overwrite, format!("replacing the target's definition ({})", why.join("; "))),
        Comparison::Missing => (DefAction::Create, "not in the target".into()),
        Comparison::Unknown(why) => (DefAction::Fail, why),
    }
}

/// The `az ml` YAML of a definition (references into `ws` shortened, secrets as placeholders).
pub fn yaml_of(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    match def.kind {
        DefKind::Datastore => crate::assets::datastore::to_yaml(def, ws),
        DefKind::Connection => crate::assets::connection::to_yaml(def, ws),
        DefKind::Compute => compute::to_yaml(def, ws),
        DefKind::Schedule => crate::assets::schedule::to_yaml(def, ws),
        _ => crate::assets::endpoint::to_yaml(def, ws),
    }
}

/// The `az ml` command that creates a definition from its YAML.
pub fn az_command(kind: DefKind) -> &'static str {
    match kind {
        DefKind::Datastore => "az ml datastore create -f",
        DefKind::Connection => "az ml connection create -f",
        DefKind::Compute => "az ml compute create -f",
        DefKind::BatchEndpoint => "az ml batch-endpoint create -f",
        DefKind::BatchDeployment => "az ml batch-deployment create -f",
        DefKind::OnlineEndpoint => "az ml online-endpoint create -f",
        DefKind::OnlineDeployment => "az ml online-deployment create -f",
        DefKind::Schedule => "az ml schedule create -f",
    }
}

/// Writes `def` (as it becomes in `to`) as `az ml` YAML under `dir/<kind>/`; returns the file.
fn write_yaml(dir: &Path, def: &Definition, body: &Value, to: &WorkspaceRef) -> Result<PathBuf> {
    let sub = dir.join(def.kind.plural());
    std::fs::create_dir_all(&sub).map_err(|e| Error::Internal(format!("cannot create {}: {e}", sub.display())))?;
    let file_name = match &def.endpoint {
        Some(e) => def.kind.yaml_file(&format!("{e}-{}", def.name)),
        None => def.kind.yaml_file(&def.name),
    };
    let path = sub.join(file_name);
    let mut resource = body.clone();
    resource["name"] = json!(def.name);
    let target = Definition { resource, ..def.clone() };
    let text = serde_norway::to_string(&yaml_of(&target, Some(to))).map_err(|e| Error::Internal(format!("YAML: {e}")))?;
    let head = format!("# {} in {}: {}\n", az_command(def.kind), to.workspace_name, "fill in every '<secret: …>' first, if any");
    crate::atomic::write(&path, (head + &text).as_bytes()).map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

/// Where the definitions come from: the source workspace, or a snapshot of it (the source
/// down: `snapshot restore`, `failover --snapshot`; no secret to read).
#[derive(Clone, Copy)]
pub enum Source<'a> {
    Workspace(&'a ArmClient),
    Snapshot(&'a [Definition]),
}

/// Whether `copy` (and a snapshot) carries `d`: never a workspace's default datastore; with
/// `--name`, only matching names (deployments: theirs or their endpoint's).
pub fn selected(d: &Definition, name: Option<&str>) -> bool {
    !(d.kind == DefKind::Datastore && crate::assets::datastore::is_workspace_default(d))
        && name.is_none_or(|p| crate::assets::name_matches(p, &d.name) || d.endpoint.as_deref().is_some_and(|e| crate::assets::name_matches(p, e)))
}

/// Every definition of `kinds` in `from` that `copy` would write (see [`selected`]), sorted.
pub async fn source_definitions(arm: &ArmClient, from: &WorkspaceRef, kinds: &[DefKind], name: Option<&str>) -> Result<Vec<Definition>> {
    let mut out = Vec::new();
    for &kind in DefKind::ALL.iter().filter(|k| kinds.contains(k)) {
        let mut defs: Vec<Definition> = arm_defs::list(arm, from, kind).await?.into_iter().filter(|d| selected(d, name)).collect();
        defs.sort_by_key(Definition::display_name);
        out.extend(defs);
    }
    Ok(out)
}

/// Lists, decides and writes the estate from `from` into `to`. `region`: the target's region
/// (tracked resources are created there, computes are checked against it).
pub async fn run(src: &ArmClient, tgt: &ArmClient, from: &WorkspaceRef, to: &WorkspaceRef, region: &str, opts: &Options) -> Result<Vec<DefOutcome>> {
    run_from(Source::Workspace(src), tgt, from, to, region, opts).await
}

/// [`run`] from either source: a snapshot's definitions are written exactly as `copy` writes
/// the source's (its secret-bearing ones always as manual steps: a snapshot holds no secret).
pub async fn run_from(source: Source<'_>, tgt: &ArmClient, from: &WorkspaceRef, to: &WorkspaceRef, region: &str, opts: &Options) -> Result<Vec<DefOutcome>> {
    let (src, opts) = match source {
        Source::Workspace(arm) => (Some(arm), opts.clone()),
        Source::Snapshot(_) => (None, Options { copy: CopyOptions { with_secrets: false, ..opts.copy.clone() }, ..opts.clone() }),
    };
    let opts = &opts;
    let mut copy = opts.copy.clone();
    copy.location.get_or_insert_with(|| region.to_string());
    let same = |_: crate::assets::Kind, _: &str, v: &str| v.to_string();
    let rw = Rewriter {
        src: (from.subscription_id.clone(), from.resource_group.clone(), from.workspace_name.clone()),
        dst: (to.subscription_id.clone(), to.resource_group.clone(), to.workspace_name.clone()),
        version_of: &same,
    };
    let mut out = Vec::new();
    let mut claimed: HashMap<String, u64> = HashMap::new();
    let mut capacity: Option<compute::RegionCapacity> = None;
    // Endpoints routing to deployments: their full body, PUT once the deployments exist.
    let mut routes: BTreeMap<(DefKind, String), (Definition, Value)> = BTreeMap::new();
    // Endpoints not created (failed, manual, YAML): their deployments follow them.
    let mut absent: HashMap<(DefKind, String), DefAction> = HashMap::new();
    for &kind in DefKind::ALL.iter().filter(|k| opts.kinds.contains(k)) {
        let listed = match source {
            Source::Workspace(arm) => arm_defs::list(arm, from, kind).await,
            Source::Snapshot(all) => Ok(all.iter().filter(|d| d.kind == kind).cloned().collect()),
        };
        let mut defs = match listed {
            Ok(d) => d,
            Err(e) => {
                out.push(DefOutcome { kind, name: "*".into(), action: DefAction::Fail, reason: format!("cannot list the source's {}: {e}", kind.plural()), rewrites: vec![], yaml: None, written: false });
                continue;
            }
        };
        defs.retain(|d| selected(d, opts.name.as_deref()));
        defs.sort_by_key(Definition::display_name);
        for def in defs {
            let prepared = definition::prepare(&def, &copy, &rw);
            let have = arm_defs::get(tgt, to, &def).await?;
            let (mut action, mut reason) = decide(&def, &prepared, have.as_ref(), opts);
            if let (Some(parent), Some(ep)) = (kind.parent(), &def.endpoint) {
                if let Some(a) = absent.get(&(parent, ep.clone())) {
                    if matches!(action, DefAction::Create | DefAction::Overwrite) {
                        (action, reason) = match a {
                            DefAction::Yaml => (DefAction::Yaml, "its endpoint is written as YAML, not created".into()),
                            _ => (DefAction::Fail, format!("its endpoint {ep} is not in the target")),
                        };
                    }
                }
            }
            if kind == DefKind::Compute && matches!(action, DefAction::Create | DefAction::Overwrite) {
                if capacity.is_none() {
                    capacity = Some(arm_defs::region_capacity(tgt, to, region).await?);
                }
                if let Err(why) = compute::check_capacity(&def.name, &prepared.body, capacity.as_ref().expect("read"), &mut claimed) {
                    (action, reason) = (DefAction::Fail, why);
                }
            }
            let mut o = DefOutcome { kind, name: def.display_name(), action, reason, rewrites: prepared.rewrites.clone(), yaml: None, written: false };
            if !opts.dry_run {
                execute(src, tgt, from, to, &def, &prepared, opts, &mut o, &mut routes).await;
            }
            if kind.parent().is_none() && !matches!(o.action, DefAction::Create | DefAction::Overwrite | DefAction::Skip | DefAction::Conflict | DefAction::Enable) {
                absent.insert((kind, def.name.clone()), o.action);
            }
            out.push(o);
        }
        // The deployments of this kind exist now: the endpoints' traffic and defaults.
        if matches!(kind, DefKind::BatchDeployment | DefKind::OnlineDeployment) && !opts.dry_run {
            let parent = kind.parent().expect("deployment");
            for ((k, name), (def, body)) in std::mem::take(&mut routes).into_iter().filter(|((k, _), _)| *k == parent) {
                if let Err(e) = arm_defs::put(tgt, to, &def, &body).await {
                    if let Some(o) = out.iter_mut().find(|o| o.kind == k && o.name == name) {
                        o.action = DefAction::Fail;
                        o.reason = format!("created, but routing to its deployments failed: {e}");
                    }
                }
            }
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn execute(
    src: Option<&ArmClient>,
    tgt: &ArmClient,
    from: &WorkspaceRef,
    to: &WorkspaceRef,
    def: &Definition,
    prepared: &Prepared,
    opts: &Options,
    o: &mut DefOutcome,
    routes: &mut BTreeMap<(DefKind, String), (Definition, Value)>,
) {
    let result: Result<()> = async {
        match o.action {
            DefAction::Create | DefAction::Overwrite | DefAction::Enable => {
                let mut body = prepared.body.clone();
                if def.needs_secrets() && opts.copy.with_secrets {
                    let src = src.ok_or_else(|| Error::Internal(format!("{} {}: a snapshot holds no secret", def.kind, def.name)))?;
                    let secrets = arm_defs::list_secrets(src, from, def).await?;
                    body = definition::with_secrets(def.kind, &body, &secrets);
                }
                let (first, then) = crate::assets::endpoint::split_for_creation(def.kind, &body);
                arm_defs::put(tgt, to, def, &first).await?;
                if let Some(then) = then {
                    routes.insert((def.kind, def.name.clone()), (def.clone(), then));
                }
                o.written = true;
                Ok(())
            }
            DefAction::Manual | DefAction::Yaml => {
                if let Some(dir) = &opts.yaml_dir {
                    let path = write_yaml(dir, def, &prepared.body, to)?;
                    o.yaml = Some(path.display().to_string());
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    .await;
    if let Err(e) = result {
        o.action = DefAction::Fail;
        o.reason = e.to_string();
    }
}

/// `verify`: every definition of `kinds` in `from` compared with `to`'s (as `copy` would write
/// it: the same allowances — a schedule's `isEnabled`, a cluster scaled to zero, an online
/// deployment's instance count, secrets the service never lists), and the definitions `to`
/// has that `from` does not (`None`: extra). The workspace's default datastores are never
/// compared.
pub async fn drift(arm: &ArmClient, from: &WorkspaceRef, to: &WorkspaceRef, kinds: &[DefKind], name: Option<&str>) -> Result<Vec<(DefKind, String, Option<Comparison>)>> {
    let same = |_: crate::assets::Kind, _: &str, v: &str| v.to_string();
    let rw = Rewriter {
        src: (from.subscription_id.clone(), from.resource_group.clone(), from.workspace_name.clone()),
        dst: (to.subscription_id.clone(), to.resource_group.clone(), to.workspace_name.clone()),
        version_of: &same,
    };
    let copy = CopyOptions { schedules: ScheduleState::AsSource, keep_scale: true, ..Default::default() };
    let keep = |d: &Definition| selected(d, name);
    let mut out = Vec::new();
    for &kind in DefKind::ALL.iter().filter(|k| kinds.contains(k)) {
        let (src, tgt) = futures::future::try_join(arm_defs::list(arm, from, kind), arm_defs::list(arm, to, kind)).await?;
        let mut tgt: BTreeMap<String, Definition> = tgt.into_iter().filter(keep).map(|d| (d.display_name().to_ascii_lowercase(), d)).collect();
        for def in src.into_iter().filter(keep) {
            let have = tgt.remove(&def.display_name().to_ascii_lowercase());
            let want = definition::prepare(&def, &copy, &rw);
            let cmp = definition::compare(kind, &want.body, have.as_ref().map(|h| &h.resource));
            out.push((kind, def.display_name(), Some(cmp)));
        }
        out.extend(tgt.into_values().map(|d| (kind, d.display_name(), None)));
    }
    Ok(out)
}

/// Failover with the primary down: every disabled schedule of the failover workspace (pre-staged
/// by `copy`) is enabled (`dry_run`: only decided).
pub async fn enable_prestaged_schedules(arm: &ArmClient, to: &WorkspaceRef, dry_run: bool) -> Result<Vec<DefOutcome>> {
    let mut out = Vec::new();
    let mut defs = arm_defs::list(arm, to, DefKind::Schedule).await?;
    defs.sort_by_key(Definition::display_name);
    for def in defs {
        let mut o = DefOutcome { kind: DefKind::Schedule, name: def.name.clone(), action: DefAction::Skip, reason: "already enabled".into(), rewrites: vec![], yaml: None, written: false };
        if !crate::assets::schedule::is_enabled(&def) {
            o.action = DefAction::Enable;
            o.reason = "pre-staged disabled; enabled for the failover (the primary does not answer)".into();
            if !dry_run {
                let mut body = def.body();
                crate::assets::schedule::prepare(&mut body, ScheduleState::Enabled);
                match arm_defs::put(arm, to, &def, &body).await {
                    Ok(_) => o.written = true,
                    Err(e) => (o.action, o.reason) = (DefAction::Fail, format!("enabling it failed: {e}")),
                }
            }
        }
        out.push(o);
    }
    Ok(out)
}

/// The manual steps the outcomes leave, one line each (for the failover report).
pub fn manual_steps(outcomes: &[DefOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .filter(|o| matches!(o.action, DefAction::Manual | DefAction::Yaml))
        .map(|o| match &o.yaml {
            Some(y) => format!("{} {}: {} — then `{} {y}`", o.kind, o.name, o.reason, az_command(o.kind)),
            None => format!("{} {}: {}", o.kind, o.name, o.reason),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options { kinds: DefKind::ALL.to_vec(), name: None, copy: CopyOptions::default(), on_conflict: OnConflict::Report, deploy_online: false, yaml_dir: None, dry_run: false }
    }

    fn prep(body: Value) -> Prepared {
        Prepared { body, rewrites: vec![], manual: None }
    }

    #[test]
    fn decisions() {
        let s = Definition::new(DefKind::Schedule, None, json!({"name": "s", "properties": {"isEnabled": true, "trigger": {"triggerType": "Cron"}}}));
        let disabled = json!({"properties": {"isEnabled": false, "trigger": {"triggerType": "Cron"}}});
        let p = prep(disabled.clone());
        assert_eq!(decide(&s, &p, None, &opts()).0, DefAction::Create);
        assert_eq!(decide(&s, &p, Some(&disabled), &opts()).0, DefAction::Skip);
        let mut failover = opts();
        failover.copy.schedules = ScheduleState::Enabled;
        assert_eq!(decide(&s, &p, Some(&disabled), &failover).0, DefAction::Enable);
        let other = json!({"properties": {"trigger": {"triggerType": "Recurrence"}}});
        let (a, why) = decide(&s, &p, Some(&other), &opts());
        assert!(a == DefAction::Conflict && why.contains("--on-conflict"), "{why}");
        let ow = Options { on_conflict: OnConflict::Overwrite, ..opts() };
        assert_eq!(decide(&s, &p, Some(&other), &ow).0, DefAction::Overwrite);

        let ep = Definition::new(DefKind::OnlineEndpoint, None, json!({"name": "e", "properties": {"authMode": "Key"}}));
        let pe = prep(json!({"properties": {"authMode": "Key"}}));
        assert_eq!(decide(&ep, &pe, None, &opts()).0, DefAction::Yaml);
        assert_eq!(decide(&ep, &pe, None, &Options { deploy_online: true, ..opts() }).0, DefAction::Create);
        assert_eq!(decide(&ep, &pe, Some(&json!({"properties": {"authMode": "Key", "scoringUri": "https://x"}})), &opts()).0, DefAction::Skip);

        let ds = Definition::new(DefKind::Datastore, None, json!({"name": "d", "properties": {"credentials": {"credentialsType": "AccountKey"}}}));
        let pm = Prepared { manual: Some("uses a secret".into()), ..prep(json!({"properties": {"credentials": {"credentialsType": "AccountKey"}}})) };
        assert_eq!(decide(&ds, &pm, None, &opts()).0, DefAction::Manual);
        // Created by hand earlier (the service never lists the secret): in step.
        assert_eq!(decide(&ds, &pm, Some(&json!({"properties": {"credentials": {"credentialsType": "AccountKey"}}})), &opts()).0, DefAction::Skip);
    }

    #[test]
    fn manual_yaml_is_written_with_placeholders_and_target_references() {
        let dir = tempfile::tempdir().unwrap();
        let to = WorkspaceRef { subscription_id: "s2".into(), resource_group: "rg2".into(), workspace_name: "failover".into() };
        let def = Definition::new(
            DefKind::OnlineDeployment,
            Some("churn"),
            json!({"name": "blue", "properties": {"endpointComputeType": "Managed", "model": format!("{}/models/churn/versions/2", to.arm_id())}}),
        );
        let path = write_yaml(dir.path(), &def, &def.body(), &to).unwrap();
        assert!(path.ends_with("online-deployments/deployment-churn-blue.yml"), "{}", path.display());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# az ml online-deployment create -f"), "{text}");
        assert!(text.contains("model: azureml:churn:2") && text.contains("endpoint_name: churn"), "{text}");
        let o = DefOutcome { kind: DefKind::OnlineDeployment, name: "churn/blue".into(), action: DefAction::Yaml, reason: "r".into(), rewrites: vec![], yaml: Some(path.display().to_string()), written: false };
        assert!(manual_steps(&[o])[0].contains("az ml online-deployment create -f"));
    }
}
