//! RPO: what a failover now would lose. Assets registered after the newest snapshot (with
//! `--snapshot`) or after the start of the last complete `copy` recorded in the state directory;
//! data written to the primary's storage after its secondary's `lastSyncTime`. `--max-rpo`
//! turns an older one into a `fail`. `failover` prints the same lines ([`lines`]).

use super::estate::Geo;
use super::{Check, Options, Pair, Rpo};
use crate::workspace::{Context, WorkspaceRef};
use std::path::Path;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The newest snapshot's time, or the start of the last complete copy into `to`:
/// (time, where it comes from), or why neither is known.
pub async fn assets_point(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, snapshot: Option<&str>, state_dir: Option<&Path>) -> Result<(String, String), String> {
    if let Some(raw) = snapshot {
        return match crate::bundle::open_snapshot(Some(ctx), raw, None).await {
            Ok((bundle, m)) => Ok((m.created_at, format!("snapshot {} in {}", m.id, bundle.describe()))),
            Err(e) => Err(format!("snapshot bundle {raw}: {e}")),
        };
    }
    let Some(root) = state_dir else { return Err("no state directory (--state-dir)".into()) };
    let dir = crate::journal::target_dir(root, ctx.cloud.resource_manager.as_str(), &to.arm_id());
    let path = dir.join("last-complete.jsonl");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Err(format!("no complete copy into {} recorded in {} and no --snapshot", to.workspace_name, root.display()));
    };
    let header: serde_json::Value = text.lines().next().and_then(|l| serde_json::from_str(l).ok()).unwrap_or_default();
    match (header["source"].as_str(), header["startedAt"].as_str()) {
        (Some(src), Some(t)) if src.eq_ignore_ascii_case(&from.arm_id()) => Ok((t.to_string(), format!("the last complete copy into {}, recorded in the state directory", to.workspace_name))),
        _ => Err(format!("the last complete copy recorded in {} is not from {}", path.display(), from.workspace_name)),
    }
}

fn age(t: &str, now: OffsetDateTime) -> Option<Duration> {
    let at = OffsetDateTime::parse(t, &Rfc3339).ok()?;
    Some(Duration::from_secs((now - at).whole_seconds().max(0) as u64))
}

/// `2h 5m` (rounded down to minutes; seconds under a minute).
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

/// The RPO of a pair and its two check lines (`rpo-assets`, `rpo-storage`).
pub async fn measure(ctx: &Context, from: &WorkspaceRef, to: &WorkspaceRef, snapshot: Option<&str>, state_dir: Option<&Path>, geo: Option<&Geo>, max: Option<Duration>) -> (Rpo, Vec<Check>) {
    let now = OffsetDateTime::now_utc();
    let max_s = max.map(human_age).unwrap_or_default();
    let mut checks = Vec::new();
    let mut rpo = Rpo::default();
    match assets_point(ctx, from, to, snapshot, state_dir).await {
        Ok((t, source)) => {
            let a = age(&t, now);
            let shown = a.map(human_age).unwrap_or_else(|| "unknown".into());
            let title = format!("assets registered after {t} ({shown} ago) would be lost");
            let c = match (a, max) {
                (Some(a), Some(m)) if a > m => Check::fail("rpo-assets", format!("{title}: older than --max-rpo {max_s}"))
                    .fix(match snapshot {
                        Some(b) => format!("export a snapshot now and on a schedule: aml-failover snapshot export --from <primary> --to {b} (docs/scheduling.md)"),
                        None => "run aml-failover copy --from <primary> --to <failover> now and on a schedule (docs/scheduling.md)".into(),
                    }),
                _ => Check::pass("rpo-assets", title),
            };
            checks.push(c.evidence(source.clone()));
            rpo.assets_since = Some(t);
            rpo.assets_source = Some(source);
        }
        Err(why) => checks.push(
            Check::warn("rpo-assets", "no snapshot and no complete copy: a failover now would lose every asset")
                .evidence(why)
                .fix("aml-failover snapshot export --from <primary> --to <bundle>, or aml-failover copy, on a schedule (docs/scheduling.md)"),
        ),
    }
    match geo {
        Some(g) if g.geo_redundant => {
            let t = g.last_sync_time.clone().unwrap_or_default();
            let a = age(&t, now);
            let shown = a.map(human_age).unwrap_or_else(|| "unknown".into());
            let title = format!("data written to {} after {t} ({shown} ago) would be lost", g.account);
            let c = match (a, max) {
                (None, _) => Check::warn("rpo-storage", format!("{}'s lastSyncTime is unknown", g.account)),
                (Some(a), Some(m)) if a > m => Check::fail("rpo-storage", format!("{title}: older than --max-rpo {max_s}"))
                    .fix("the geo-replication lags: Azure portal > storage account > Redundancy (Last sync time); Azure gives no SLA on it"),
                _ => Check::pass("rpo-storage", title),
            };
            checks.push(c.evidence(format!("geoReplicationStats.lastSyncTime of {} ({}): {}", g.account, g.sku, if t.is_empty() { "-" } else { &t })));
            rpo.storage_since = g.last_sync_time.clone();
        }
        Some(g) => checks.push(
            Check::warn("rpo-storage", format!("{} ({}) has no secondary: everything written to it would be lost with its region", g.account, g.sku))
                .evidence(format!("sku {} of {}", g.sku, g.account)),
        ),
        None => checks.push(Check::warn("rpo-storage", "the primary storage's replication was not readable: its RPO is unknown")),
    }
    rpo.statement = format!(
        "a failover now would lose what was registered after {} and what was written to storage after {}",
        rpo.assets_since.as_deref().unwrap_or("the primary's creation (nothing copied)"),
        rpo.storage_since.as_deref().unwrap_or("(unknown: no readable secondary)")
    );
    (rpo, checks)
}

pub async fn checks(ctx: &Context, p: &Pair, o: &Options, geo: Option<&Geo>, out: &mut Vec<Check>) -> Rpo {
    let (rpo, checks) = measure(ctx, &p.from, &p.to, o.snapshot.as_deref(), o.settings.state_dir.as_deref(), geo, o.max_rpo).await;
    out.extend(checks);
    rpo
}

/// The RPO lines of the human output (`readiness`, `failover`).
pub fn lines(r: &Rpo) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "RPO assets:  registered after {}{}\n",
        r.assets_since.as_deref().unwrap_or("-"),
        r.assets_source.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
    ));
    out.push_str(&format!("RPO storage: written after {} (lastSyncTime of the primary's secondary)\n", r.storage_since.as_deref().unwrap_or("-")));
    out.push_str(&format!("{}\n", r.statement));
    out
}

/// The primary storage account's replication facts (for `failover`'s RPO lines).
pub async fn primary_geo(ctx: &Context, storage_account_id: &str) -> Option<Geo> {
    let v = ctx.arm.get_with(&format!("{storage_account_id}?$expand=geoReplicationStats"), super::estate::STORAGE_API_VERSION).await.ok()?;
    let sku = v.pointer("/sku/name").and_then(serde_json::Value::as_str).unwrap_or("").to_string();
    Some(Geo {
        account: super::id_name(storage_account_id).to_string(),
        geo_redundant: super::estate::geo_redundant(&sku),
        last_sync_time: v.pointer("/properties/geoReplicationStats/lastSyncTime").and_then(serde_json::Value::as_str).map(str::to_string),
        sku,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_an_operator_would() {
        assert_eq!(human_age(Duration::from_secs(42)), "42s");
        assert_eq!(human_age(Duration::from_secs(3 * 3600 + 120)), "3h 2m");
        assert_eq!(human_age(Duration::from_secs(2 * 86_400 + 3600)), "2d 1h");
        let now = OffsetDateTime::parse("2026-12-06T10:00:00Z", &Rfc3339).unwrap();
        assert_eq!(age("2026-12-06T08:00:00Z", now), Some(Duration::from_secs(7200)));
        assert_eq!(age("yesterday", now), None);
    }
}
