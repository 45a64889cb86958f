//! `readiness`: is a workspace pair ready to fail over, and what would a failover now lose (RPO)?
//!
//! Microsoft's disaster-recovery checklist for Azure ML, read from the control planes rather
//! than hoped: one line per check with `pass`, `warn` or `fail`, the evidence (what was read)
//! and the fix (an `az` command or portal setting). Groups of checks, one file each:
//! [`estate`] (control planes, regions, storage accounts through the Storage resource provider,
//! datastores, Key Vault, container registry, Application Insights), [`compute`] (clusters,
//! VM sizes and quota in the target region, endpoints, schedules), [`assets`] (`verify` of the
//! pair or of a snapshot against the target) and [`rpo`] (newest snapshot or last complete copy,
//! the storage's `lastSyncTime`).
//!
//! Never passes what was not read: a check whose source cannot be read is a `warn` saying so.

pub mod assets;
pub mod compute;
pub mod estate;
pub mod rpo;

use crate::error::Exit;
use crate::workspace::{Context, WorkspaceRef};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// Version of the `readiness -o json` document (docs/schemas/readiness.v1.schema.json).
pub const SCHEMA_VERSION: u32 = 1;

/// Which disaster-recovery tier the pair is meant to be (Microsoft's hot/hot, hot/warm, hot/cold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Both regions serve: endpoints, deployments and compute already in the secondary.
    Hot,
    /// The secondary holds assets, compute (scaled to zero) and endpoints, ready to take over.
    Warm,
    /// The secondary holds the workspace; assets come from a snapshot at failover time.
    Cold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    /// Stable identifier of the check (`storage-geo`, `registry-replication`, `compute`, ...).
    pub id: String,
    pub status: Status,
    /// What the check found, in one sentence.
    pub title: String,
    /// What was read (resource, property, value).
    pub evidence: Vec<String>,
    /// The exact `az` command or portal setting that fixes it (empty when it passes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn new(id: &str, status: Status, title: impl Into<String>) -> Check {
        Check { id: id.into(), status, title: title.into(), evidence: Vec::new(), fix: None }
    }
    pub fn pass(id: &str, title: impl Into<String>) -> Check {
        Check::new(id, Status::Pass, title)
    }
    pub fn warn(id: &str, title: impl Into<String>) -> Check {
        Check::new(id, Status::Warn, title)
    }
    pub fn fail(id: &str, title: impl Into<String>) -> Check {
        Check::new(id, Status::Fail, title)
    }
    pub fn evidence(mut self, e: impl Into<String>) -> Check {
        self.evidence.push(e.into());
        self
    }
    pub fn fix(mut self, f: impl Into<String>) -> Check {
        self.fix = Some(f.into());
        self
    }
    /// A check whose source could not be read: never a pass.
    pub fn unreadable(id: &str, what: &str, why: impl std::fmt::Display) -> Check {
        Check::warn(id, format!("{what}: not readable, not checked")).evidence(format!("{why}"))
    }
}

/// What a failover now would lose.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rpo {
    /// Assets registered after this time (RFC 3339) would be lost: the newest snapshot's time or
    /// the start of the last complete copy; None when neither exists.
    #[schemars(extend("format" = "date-time"))]
    pub assets_since: Option<String>,
    /// Where `assets_since` comes from (`snapshot <id> in <bundle>`, the last complete copy).
    pub assets_source: Option<String>,
    /// Data written to the primary's storage after this time (its `lastSyncTime`) would be lost.
    #[schemars(extend("format" = "date-time"))]
    pub storage_since: Option<String>,
    /// The sentence the human output prints.
    pub statement: String,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub checks: usize,
    pub pass: usize,
    pub warn: usize,
    pub fail: usize,
}

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check passed (exit 0).
    Ready,
    /// Some checks warn, none fails (exit 1).
    Warnings,
    /// At least one check fails (exit 7).
    NotReady,
}

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// The whole report (`-o json`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    pub command: &'static str,
    pub source: String,
    pub target: String,
    pub tier: Tier,
    pub verdict: Verdict,
    pub summary: Summary,
    pub checks: Vec<Check>,
    pub rpo: Rpo,
}

/// What `readiness` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub tier: Tier,
    /// A snapshot bundle: its newest snapshot is the assets' RPO and what the target is compared with.
    pub snapshot: Option<String>,
    /// An RPO older than this fails.
    pub max_rpo: Option<std::time::Duration>,
    /// Settings to run `verify` with (assets check).
    pub settings: crate::settings::Settings,
}

/// What both workspaces are, as read once and shared by the checks.
pub struct Pair {
    pub from: WorkspaceRef,
    pub to: WorkspaceRef,
    /// Workspaces_Get of each (the raw resource: keyVault, containerRegistry, ... ids).
    pub src: Value,
    pub tgt: Value,
}

impl Pair {
    pub fn src_prop(&self, key: &str) -> Option<&str> {
        self.src.pointer(&format!("/properties/{key}")).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    pub fn tgt_prop(&self, key: &str) -> Option<&str> {
        self.tgt.pointer(&format!("/properties/{key}")).and_then(Value::as_str).filter(|s| !s.is_empty())
    }
    pub fn src_region(&self) -> &str {
        self.src.get("location").and_then(Value::as_str).unwrap_or("")
    }
    pub fn tgt_region(&self) -> &str {
        self.tgt.get("location").and_then(Value::as_str).unwrap_or("")
    }
}

/// Runs every check. Errors only for what makes the whole check meaningless (a workspace that
/// cannot be read: the usual exit codes).
pub async fn check(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, o: &Options) -> crate::error::Result<Report> {
    let path = |w: &WorkspaceRef| crate::azureml::workspace_path(w);
    let (src, tgt) = futures::future::try_join(ctx.arm.get(&path(from)), ctx.arm.get(&path(to))).await?;
    let pair = Pair { from: from.clone(), to: to.clone(), src, tgt };
    let mut checks = Vec::new();
    let geo = estate::checks(ctx, &pair, &mut checks).await;
    compute::checks(ctx, &pair, o.tier, &mut checks).await;
    assets::checks(ctx, &pair, o, &mut checks).await;
    let rpo = rpo::checks(ctx, &pair, o, geo.as_ref(), &mut checks).await;
    Ok(Report::new(from, to, o.tier, checks, rpo))
}

impl Report {
    pub fn new(from: &WorkspaceRef, to: &WorkspaceRef, tier: Tier, checks: Vec<Check>, rpo: Rpo) -> Report {
        let mut s = Summary { checks: checks.len(), ..Default::default() };
        for c in &checks {
            match c.status {
                Status::Pass => s.pass += 1,
                Status::Warn => s.warn += 1,
                Status::Fail => s.fail += 1,
            }
        }
        let verdict = if s.fail > 0 { Verdict::NotReady } else if s.warn > 0 { Verdict::Warnings } else { Verdict::Ready };
        Report { schema_version: SCHEMA_VERSION, command: "readiness", source: from.arm_id(), target: to.arm_id(), tier, verdict, summary: s, checks, rpo }
    }

    /// 0 ready, 1 warnings only, 7 not ready.
    pub fn exit(&self) -> Exit {
        match self.verdict {
            Verdict::NotReady => Exit::Drifted,
            Verdict::Warnings => Exit::Partial,
            Verdict::Ready => Exit::Ok,
        }
    }

    /// One line per check (`pass`/`warn`/`FAIL`), its evidence and fix indented under it,
    /// then the RPO lines and the summary.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let word = match c.status {
                Status::Pass => "pass",
                Status::Warn => "warn",
                Status::Fail => "FAIL",
            };
            out.push_str(&format!("{word:<4}  {:<22} {}\n", c.id, c.title));
            for e in &c.evidence {
                out.push_str(&format!("        evidence: {e}\n"));
            }
            if let Some(f) = &c.fix {
                out.push_str(&format!("        fix: {f}\n"));
            }
        }
        out.push('\n');
        out.push_str(&rpo::lines(&self.rpo));
        out.push_str(&format!(
            "readiness ({} tier): {} — {} checks: {} pass, {} warn, {} fail\n",
            word(&self.tier),
            word(&self.verdict),
            self.summary.checks,
            self.summary.pass,
            self.summary.warn,
            self.summary.fail
        ));
        out
    }
}

/// The JSON word of an enum value (`warm`, `not-ready`).
fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// `Microsoft.X/type/name` parts of an ARM id: (subscription, resource group, name).
pub fn id_parts(id: &str) -> Option<(String, String, String)> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    let sub = segs.iter().position(|s| s.eq_ignore_ascii_case("subscriptions")).and_then(|i| segs.get(i + 1))?;
    let rg = segs.iter().position(|s| s.eq_ignore_ascii_case("resourceGroups")).and_then(|i| segs.get(i + 1))?;
    let name = segs.last()?;
    Some((sub.to_string(), rg.to_string(), name.to_string()))
}

/// The last segment of an ARM id.
pub fn id_name(id: &str) -> &str {
    id.trim_end_matches('/').rsplit('/').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_and_exit_follow_the_worst_line() {
        let w = WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "a".into() };
        let r = Report::new(&w, &w, Tier::Warm, vec![Check::pass("a", "x")], Rpo::default());
        assert_eq!((r.verdict, r.exit()), (Verdict::Ready, Exit::Ok));
        let r = Report::new(&w, &w, Tier::Warm, vec![Check::pass("a", "x"), Check::unreadable("b", "computes", "404")], Rpo::default());
        assert_eq!((r.verdict, r.exit()), (Verdict::Warnings, Exit::Partial));
        let r = Report::new(&w, &w, Tier::Warm, vec![Check::warn("a", "x"), Check::fail("b", "y").fix("az ...")], Rpo::default());
        assert_eq!((r.verdict, r.exit()), (Verdict::NotReady, Exit::Drifted));
        assert!(r.human().contains("FAIL  b"), "{}", r.human());
        assert_eq!(id_parts("/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/acct"), Some(("s".into(), "g".into(), "acct".into())));
    }
}
