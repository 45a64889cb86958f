//! The failover runbook as a library (`aml-failover failover --from A --to B` renders what
//! [`run`] returns; nothing prints here): the runbook in one command.
//!
//! 1. **Check both sides**: the target's control plane must answer (there is nowhere to fail
//!    over to otherwise); the source's control plane may not — then only what storage alone
//!    can give is copied, and the report says so.
//! 2. **Copy** every asset kind in dependency order (`copy`), run outputs and logs
//!    (`outputs copy`, through the control plane, or through storage — the RA-GRS secondary
//!    by default when the source is down — with `--storage-account`), and notebooks
//!    (`notebooks copy`; Azure Files has no readable secondary, so with the source down they
//!    wait for `notebooks recover`).
//! 3. **Report**: one document with each step's summary and manifest, and the manual steps
//!    left (data assets to re-register, pipelines to resubmit, endpoints to redeploy, code and
//!    configs to point at the failover workspace).

use crate::assets::definition::DefKind;
use crate::azureml::workspaces;
use crate::error::{Error, Exit, Result};
use crate::plan::CopyOptions;
use crate::report::{ItemKind, Report, Status};
use crate::settings::Settings;
use crate::workspace::Context;
use serde::Serialize;
use schemars::JsonSchema;
use std::path::PathBuf;

/// `--source-endpoint` for the storage-only step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEndpoint {
    /// Primary while the source answers, the RA-GRS secondary when it does not.
    Auto,
    Primary,
    Secondary,
}

#[derive(Debug, Clone)]
pub struct FailoverOptions {
    pub copy: CopyOptions,
    /// Enable the failover workspace's schedules (pre-staged disabled).
    pub enable_schedules: bool,
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub source_endpoint: SourceEndpoint,
    pub out_dir: PathBuf,
    pub skip_outputs: bool,
    pub skip_notebooks: bool,
    /// A snapshot bundle to restore the assets from when the primary does not answer.
    pub snapshot: Option<String>,
    /// Which snapshot of the bundle (default: the newest).
    pub snapshot_id: Option<String>,
}

/// `schemaVersion` of the failover report.
pub const SCHEMA_VERSION: u32 = 1;

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// What `failover` did: the document written to failover-report.json (and printed by `-o json`).
/// Tolerant of added fields.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct FailoverReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "failover"))]
    pub command: &'static str,
    pub dry_run: bool,
    /// ARM id of --from
    pub source: String,
    /// ARM id of --to
    pub target: String,
    /// whether the primary's control plane answered
    pub source_reachable: bool,
    /// --snapshot (the bundle, redacted), null when not given; used only when the primary does
    /// not answer
    pub snapshot: Option<String>,
    /// what was checked on both sides, one sentence each
    pub checks: Vec<String>,
    pub steps: Vec<Step>,
    /// what a person still has to do, in order
    pub manual_steps: Vec<String>,
    /// what this failover loses, as `readiness` reports it (measured before copying): assets
    /// registered after assetsSince (newest snapshot, or the start of the last complete copy),
    /// data written to the primary's storage after storageSince (its secondary's lastSyncTime)
    pub rpo: crate::readiness::Rpo,
    /// the process exit code: the most severe of the steps
    #[schemars(extend("enum" = [0, 1, 2, 3, 4, 5, 6, 7, 10]))]
    pub exit_code: u8,
    /// The worst of the steps.
    #[serde(skip)]
    pub exit: Exit,
    /// Where the report was written.
    #[serde(skip)]
    pub path: PathBuf,
}

/// One step of the failover, as the report shows it.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct Step {
    #[schemars(extend("enum" = ["assets", "estate", "outputs", "notebooks"]))]
    pub name: &'static str,
    #[schemars(extend("enum" = ["done", "partial", "skipped", "failed"]))]
    pub outcome: &'static str,
    pub detail: String,
    /// the step's copy-report summary (absent when skipped or failed, and for an assets step
    /// restored from a snapshot)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<crate::report::Summary>,
    /// path of the step's own document in --out-dir: a copy report (failover-copy.json,
    /// failover-outputs.json, failover-notebooks.json), or the snapshot restore document
    /// (failover-snapshot-restore.json)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// assets step with the primary down and --snapshot: the snapshot restored
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<RestoredSnapshot>,
}

/// The snapshot an assets step restored (the primary down, `--snapshot`).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct RestoredSnapshot {
    /// the bundle (redacted)
    pub bundle: String,
    /// snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)
    #[schemars(regex(pattern = r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$"))]
    pub id: String,
    /// when the snapshot was taken (RFC 3339, UTC)
    #[schemars(extend("format" = "date-time"))]
    pub created_at: String,
    pub summary: crate::bundle::restore::RestoreSummary,
}

/// The estate's step: one line of what the definitions became.
fn estate_step(outcomes: &[crate::estate::DefOutcome], dry_run: bool) -> Step {
    use crate::estate::DefAction;
    let bad = outcomes.iter().any(|d| matches!(d.action, DefAction::Fail | DefAction::Conflict));
    let detail = crate::estate::summary_line(outcomes, dry_run).trim_end().trim_start_matches("estate: ").to_string();
    Step { name: "estate", outcome: if bad { "partial" } else { "done" }, detail, summary: None, manifest: None, snapshot: None }
}

fn step_from(name: &'static str, r: Result<Report>, detail: impl FnOnce(&Report) -> String, exit: impl Fn(&Report) -> Exit) -> (Step, Exit) {
    match r {
        Ok(rep) => {
            let e = exit(&rep);
            let outcome = if e == Exit::Ok { "done" } else { "partial" };
            (Step { name, outcome, detail: detail(&rep), summary: Some(rep.summary.clone()), manifest: rep.manifest.clone(), snapshot: None }, e)
        }
        Err(e) => (Step { name, outcome: "failed", detail: e.to_string(), summary: None, manifest: None, snapshot: None }, e.exit()),
    }
}

/// Runs the failover: checks, assets (copied, or restored from `--snapshot` when the primary is
/// down), outputs, notebooks; writes failover-report.json into `--out-dir` and returns it.
pub async fn run(s: &Settings, o: &FailoverOptions) -> Result<FailoverReport> {
    let from = s.from.clone().ok_or_else(|| Error::usage("failover needs --from (the primary workspace)"))?;
    let to = s.to.clone().ok_or_else(|| Error::usage("failover needs --to (the failover workspace)"))?;
    crate::guard::distinct_workspaces(&from, &to)?;
    std::fs::create_dir_all(&o.out_dir)
        .map_err(|e| Error::usage(format!("cannot create --out-dir {}: {e}", o.out_dir.display())))?;
    let ctx = Context::connect(&s.connect)?;

    // 1. Both sides.
    let target = workspaces::get(&ctx.arm, &to)
        .await
        .map_err(|e| match e {
            e if e.class().is_retryable() => e.context("the failover workspace does not answer, so there is nowhere to fail over to"),
            other => other,
        })?;
    let source = workspaces::get(&ctx.arm, &from).await;
    let source_up = match &source {
        Ok(_) => true,
        Err(e) if e.class().is_retryable() => false,
        Err(e) => return Err(Error::usage(format!("the primary workspace cannot be used: {e}"))),
    };
    let mut checks = vec![format!("failover workspace {} ({}) answers", target.name, target.location)];
    match &source {
        Ok(w) => checks.push(format!("primary workspace {} ({}) answers", w.name, w.location)),
        Err(e) => checks.push(format!("primary workspace {} does NOT answer: {e}", from.workspace_name)),
    }
    let (target_storage_ok, line) = crate::workspace_show::storage_reachable(&ctx, &to, &target).await;
    checks.push(format!("failover workspace {line}"));
    if let Ok(w) = &source {
        let (_, line) = crate::workspace_show::storage_reachable(&ctx, &from, w).await;
        checks.push(format!("primary workspace {line}"));
    }
    match (&o.snapshot, source_up) {
        (Some(b), true) => checks.push(format!("snapshot {} not used: the primary answers, so assets are copied from it", crate::redact::url_str(b))),
        (Some(b), false) => match crate::bundle::open_snapshot(Some(&ctx), b, o.snapshot_id.as_deref()).await {
            Ok((bundle, m)) => checks.push(format!("snapshot {} in {} is readable: taken {}, {} asset versions", m.id, bundle.describe(), m.created_at, m.assets.len())),
            Err(e) => checks.push(format!("snapshot {} cannot be read: {e}", crate::redact::url_str(b))),
        },
        (None, _) => {}
    }
    if !target_storage_ok {
        checks.push("nothing can be copied into the failover workspace while its storage does not answer".into());
    }
    // What this failover loses (the same RPO lines as `readiness`), measured before it copies.
    let storage_id = source.as_ref().ok().and_then(|w| w.storage_account.clone()).or_else(|| {
        o.storage_account.as_ref().map(|a| format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{a}", from.subscription_id, from.resource_group))
    });
    let geo = match &storage_id {
        Some(id) => crate::readiness::rpo::primary_geo(&ctx, id).await,
        None => None,
    };
    let (rpo, _) = crate::readiness::rpo::measure(&ctx, &from, &to, o.snapshot.as_deref(), s.state_dir.as_deref(), geo.as_ref(), None).await;

    let mut steps = Vec::new();
    let mut exits = Vec::new();
    let mut manual: Vec<String> = Vec::new();
    // The estate a snapshot restore wrote (the primary down).
    let mut restored_estate: Vec<crate::estate::DefOutcome> = Vec::new();
    let mut estate_from_snapshot = false;

    // 2a. Assets.
    if source_up {
        let mut copy = o.copy.clone();
        copy.manifest = Some(copy.manifest.clone().unwrap_or_else(|| o.out_dir.join("failover-copy.json")));
        let accept = copy.data.accept_warnings;
        let r = crate::execute::copy(s, &copy, "copy").await;
        if let Ok(rep) = &r {
            if !rep.estate.is_empty() {
                steps.push(estate_step(&rep.estate, rep.dry_run));
                manual.extend(crate::estate::manual_steps(&rep.estate));
            }
            for i in &rep.items {
                if i.status == Status::NeedsManualReregistration {
                    manual.push(format!(
                        "re-register data asset {}:{} in the failover workspace{} (check its path first)",
                        i.name,
                        i.version,
                        i.yaml.as_deref().map(|y| format!(" from {y}")).unwrap_or_default()
                    ));
                }
                if i.kind == ItemKind::Asset(crate::assets::Kind::Job) && !copy.submit && matches!(i.status, Status::Copied | Status::Skipped) {
                    manual.push(format!(
                        "resubmit job {} when needed: its definition is the component {} (aml-failover job get/create --submit)",
                        i.name,
                        i.target_name.as_deref().unwrap_or(&i.name)
                    ));
                }
            }
        }
        let (st, e) = step_from(
            "assets",
            r,
            |rep| format!("{} items: {} copied, {} skipped, {} conflicts, {} failed", rep.summary.items, rep.summary.copied, rep.summary.skipped, rep.summary.conflict, rep.summary.failed),
            |rep| rep.exit_with(accept),
        );
        steps.push(st);
        exits.push(e);
    } else if let Some(bundle) = &o.snapshot {
        // The primary is down: the pre-staged snapshot gives the assets (data as YAML only).
        let ro = crate::bundle::RestoreOptions {
            bundle: bundle.clone(),
            snapshot: o.snapshot_id.clone(),
            kinds: None,
            engine: o.copy.engine.clone(),
            // Schedules come disabled; the estate step below enables them (unless told not to).
            estate: crate::plan::EstateOptions {
                copy: crate::assets::definition::CopyOptions { schedules: crate::assets::definition::ScheduleState::Disabled, ..o.copy.estate.copy.clone() },
                ..o.copy.estate.clone()
            },
            estate_dir: o.out_dir.join(crate::estate::YAML_DIR),
        };
        let r = if o.copy.dry_run {
            Err(Error::usage("--dry-run with the primary down and --snapshot: run `aml-failover verify --snapshot <bundle> --to <failover>` to see what a restore would register"))
        } else {
            let data_o = crate::bundle::DataRestoreOptions { output_dir: o.copy.data.output_dir.clone(), accept_warnings: o.copy.data.accept_warnings };
            crate::bundle::restore(s, &ctx, &to, &ro, &data_o).await
        };
        match r {
            Ok(rest) => {
                let path = o.out_dir.join("failover-snapshot-restore.json");
                write_json(&path, &rest)?;
                let (registered, unchanged, conflicts, failed) = rest.counts();
                let manual_data = rest.summary.needs_manual_reregistration;
                let (created, id) = (rest.created_at.clone(), rest.snapshot.clone());
                steps.push(Step {
                    name: "assets",
                    outcome: if rest.exit == Exit::Ok { "done" } else { "partial" },
                    detail: format!(
                        "the primary's control plane does not answer: restored from snapshot {id} (taken {created}): {registered} registered, {unchanged} already there, {conflicts} conflicts, {failed} failed, {manual_data} data assets to re-register by hand"
                    ),
                    summary: None,
                    manifest: Some(path.display().to_string()),
                    snapshot: Some(RestoredSnapshot { bundle: rest.bundle.clone(), id, created_at: created.clone(), summary: rest.summary.clone() }),
                });
                exits.push(rest.exit);
                for (i, it) in rest.items.iter().enumerate() {
                    if it.status == "needs-manual-reregistration" {
                        manual.push(format!(
                            "re-register data asset {}:{} in the failover workspace from its az ml YAML in {} (check its path first)",
                            it.name,
                            it.version,
                            o.copy.data.output_dir.display()
                        ));
                    } else if matches!(it.status, "conflict" | "failed") && i < 50 {
                        manual.push(format!("{} {}:{} was not restored ({}): {}", it.kind, it.name, it.version, it.status, it.reason));
                    }
                }
                manual.push(format!(
                    "the snapshot is the primary as of {created}: anything registered later needs `aml-failover copy --from <primary> --to <failover>` when the primary is back"
                ));
                // The snapshot's definitions, written as `copy` writes them (schedules disabled: enabled below).
                manual.extend(crate::estate::manual_steps(&rest.estate));
                estate_from_snapshot = !rest.estate.is_empty();
                restored_estate = rest.estate;
            }
            Err(e) => {
                steps.push(Step { name: "assets", outcome: "failed", detail: format!("restoring the snapshot {bundle} failed: {e}"), summary: None, manifest: None, snapshot: None });
                exits.push(e.exit());
            }
        }
        exits.push(Exit::Partial);
    } else {
        steps.push(Step {
            name: "assets",
            outcome: "skipped",
            detail: "the primary's control plane does not answer and no --snapshot was given: models, environments, code, components, jobs and data assets cannot be listed (what a previous pre-staging run copied is already in the failover workspace)".into(),
            summary: None,
            manifest: None,
            snapshot: None,
        });
        manual.push("when the primary region is back, run `aml-failover copy` (or this command) again to bring the failover workspace up to date; with a pre-staged snapshot, `--snapshot <bundle>` restores from it now".into());
        exits.push(Exit::Partial);
    }
    if !source_up && o.enable_schedules && o.copy.estate.kinds.contains(&DefKind::Schedule) {
        // The primary is down: its schedules pre-staged here (disabled by `copy`) start now.
        match crate::estate::enable_prestaged_schedules(&ctx.arm, &to, o.copy.dry_run).await {
            Ok(out) => {
                manual.extend(crate::estate::manual_steps(&out));
                restored_estate.extend(out);
                steps.push(estate_step(&restored_estate, o.copy.dry_run));
            }
            Err(e) => {
                steps.push(Step { name: "estate", outcome: "failed", detail: format!("cannot enable the failover workspace's schedules: {e}"), summary: None, manifest: None, snapshot: None });
                exits.push(e.exit());
            }
        }
    } else if !restored_estate.is_empty() {
        steps.push(estate_step(&restored_estate, false));
    }
    if !source_up && !o.copy.estate.kinds.is_empty() && !estate_from_snapshot {
        manual.push(format!(
            "the primary does not answer, so its definitions cannot be read: create what the last pre-staging `copy` left as YAML (online endpoints copied without --deploy, secret-bearing datastores and connections) from its {}/ folder",
            crate::estate::YAML_DIR
        ));
    }
    if source_up && o.enable_schedules && o.copy.estate.kinds.contains(&DefKind::Schedule) && steps.iter().any(|st| st.name == "estate") {
        // Both workspaces answer: the failover's schedules run now, so the primary's must stop.
        manual.push("the primary still answers: disable its schedules (az ml schedule disable --name <schedule> on the primary workspace) now that the failover workspace's are enabled, so no job runs twice".into());
    }
    if o.enable_schedules && steps.iter().any(|st| st.name == "estate") {
        manual.push("when failing back, disable the failover workspace's schedules again (az ml schedule disable --name <schedule>) before enabling the primary's, so no job runs twice".into());
    }

    // 2b. Run outputs and logs.
    if o.skip_outputs {
        steps.push(Step { name: "outputs", outcome: "skipped", detail: "--skip-outputs".into(), summary: None, manifest: None, snapshot: None });
    } else if !source_up && o.storage_account.is_none() {
        steps.push(Step {
            name: "outputs",
            outcome: "skipped",
            detail: "the primary's control plane does not answer and no --storage-account was given: run outputs can be read from its storage alone".into(),
            summary: None,
            manifest: None,
            snapshot: None,
        });
        manual.push("copy run outputs from the primary's storage: `aml-failover outputs copy --storage-account <account> --source-endpoint secondary --to <failover>`".into());
        exits.push(Exit::Partial);
    } else {
        let secondary = match o.source_endpoint {
            SourceEndpoint::Primary => false,
            SourceEndpoint::Secondary => true,
            SourceEndpoint::Auto => !source_up,
        };
        let oo = crate::outputs::OutputsOptions {
            storage_account: o.storage_account.clone(),
            workspace_id: o.workspace_id.clone(),
            secondary,
            jobs: Vec::new(),
            experiment: None,
            since: None,
            destination: Some(crate::outputs::Destination::Workspace),
            register_as_data: false,
            dry_run: o.copy.dry_run,
            engine: o.copy.engine.clone(),
            manifest: Some(o.out_dir.join("failover-outputs.json")),
            show_all_items: false,
        };
        // Without the control plane, enumerate through storage only.
        let s2;
        let settings = if source_up {
            s
        } else {
            let mut c = s.clone();
            c.from = None;
            s2 = c;
            &s2
        };
        let r = crate::outputs::copy(settings, &oo).await;
        let way = r.as_ref().map(|(_, w)| w.clone()).unwrap_or_default();
        let (st, e) = step_from("outputs", r.map(|(rep, _)| rep), |rep| format!("{} parts copied or already there, {} failed; source reached through {way}", rep.summary.copied + rep.summary.skipped, rep.summary.failed), |rep| rep.exit());
        steps.push(st);
        exits.push(e);
    }

    // 2c. Notebooks.
    if o.skip_notebooks {
        steps.push(Step { name: "notebooks", outcome: "skipped", detail: "--skip-notebooks".into(), summary: None, manifest: None, snapshot: None });
    } else if !source_up {
        steps.push(Step {
            name: "notebooks",
            outcome: "skipped",
            detail: "the primary does not answer and Azure Files has no readable secondary endpoint".into(),
            summary: None,
            manifest: None,
            snapshot: None,
        });
        manual.push("recover notebooks when the primary's storage answers again: `aml-failover notebooks recover --storage-account <account> --workspace-id <id> --to <failover>`".into());
        exits.push(Exit::Partial);
    } else {
        let no = crate::notebooks::NotebooksOptions {
            storage_account: None,
            workspace_id: None,
            share: None,
            snapshot: None,
            secondary: false,
            destination: Some(crate::notebooks::Destination::Workspace),
            dry_run: o.copy.dry_run,
            engine: o.copy.engine.clone(),
            manifest: Some(o.out_dir.join("failover-notebooks.json")),
            show_all_items: false,
        };
        let r = crate::notebooks::copy(s, &no).await;
        let (st, e) = step_from("notebooks", r, |rep| format!("{} files copied, {} already there, {} failed", rep.summary.copied, rep.summary.skipped, rep.summary.failed), |rep| rep.exit());
        steps.push(st);
        exits.push(e);
    }

    if o.copy.estate.kinds.is_empty() {
        manual.push("redeploy online and batch endpoints in the failover workspace (--kinds left them out)".into());
    }
    manual.push(format!("point code, CI and config.json files at the failover workspace: {}", to.arm_id()));

    let exit = worst(&exits);
    let report = FailoverReport {
        schema_version: SCHEMA_VERSION,
        command: "failover",
        dry_run: o.copy.dry_run,
        source: from.arm_id(),
        target: to.arm_id(),
        source_reachable: source_up,
        snapshot: o.snapshot.as_deref().map(crate::redact::url_str),
        checks,
        steps,
        manual_steps: manual,
        rpo,
        exit_code: exit as u8,
        exit,
        path: o.out_dir.join("failover-report.json"),
    };
    write_json(&report.path, &report)?;
    Ok(report)
}

/// Writes a JSON document atomically ([`crate::atomic::write_json`]).
fn write_json<T: Serialize>(path: &std::path::Path, doc: &T) -> Result<()> {
    crate::atomic::write_json(path, doc).map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

/// The most severe exit code of the steps (0 < 1 < the error codes).
fn worst(exits: &[Exit]) -> Exit {
    exits.iter().copied().max_by_key(|e| match e {
        Exit::Ok => 0,
        Exit::Partial => 1,
        other => 10 + *other as u8,
    })
    .unwrap_or(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_step_decides() {
        assert_eq!(worst(&[]), Exit::Ok);
        assert_eq!(worst(&[Exit::Ok, Exit::Partial, Exit::Ok]), Exit::Partial);
        assert_eq!(worst(&[Exit::Partial, Exit::Unavailable]), Exit::Unavailable);
    }
}
