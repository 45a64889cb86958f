//! Assets: `verify` of the pair, or with `--snapshot` of the bundle's newest snapshot against
//! the target — what is missing or different, counted per kind. For the hot and warm tiers the
//! assets must already be in the target (a drift fails); for cold they come from a snapshot at
//! failover time (a drift warns).

use super::{Check, Options, Pair, Tier};
use crate::drift as verify;
use crate::drift::State;
use crate::plan::VerifyOptions;
use crate::workspace::Context;
use std::collections::BTreeMap;

pub async fn checks(_ctx: &Context, p: &Pair, o: &Options, out: &mut Vec<Check>) {
    let mut s = o.settings.clone();
    s.from = Some(p.from.clone());
    s.to = Some(p.to.clone());
    s.from_on_command_line = o.snapshot.is_none();
    s.to_on_command_line = true;
    let vo = VerifyOptions {
        bundle: o.snapshot.clone(),
        snapshot: None,
        kinds: crate::assets::Kind::ALL.to_vec(),
        // Computes, endpoints and schedules are readiness checks of their own (compute.rs).
        def_kinds: Vec::new(),
        name: None,
        manifest: None,
        show_all_items: false,
    };
    let against = match &o.snapshot {
        Some(b) => format!("the newest snapshot in {b}"),
        None => format!("the primary {}", p.from.workspace_name),
    };
    let r = match verify::report(&s, &vo).await {
        Ok(r) => r,
        Err(e) => return out.push(Check::unreadable("assets", &format!("verify against {against}"), e)),
    };
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for i in &r.items {
        let k = serde_json::to_value(i.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let e = per_kind.entry(k).or_default();
        match i.state {
            State::Missing => e.0 += 1,
            State::Different => e.1 += 1,
            _ => {}
        }
    }
    let counts: Vec<String> = per_kind.iter().filter(|(_, (m, d))| m + d > 0).map(|(k, (m, d))| format!("{k}: {m} missing, {d} different")).collect();
    let sm = &r.summary;
    let ev = format!("verify {} -> {}: {} items, {} in sync, {} missing, {} different, {} extra, {} not checked", r.source, r.target, sm.items, sm.in_sync, sm.missing, sm.different, sm.extra, sm.unverifiable + sm.unknown);
    let fix = match &o.snapshot {
        Some(b) => format!("aml-failover snapshot restore {b} --to <failover>"),
        None => "aml-failover copy --from <primary> --to <failover> (scheduled: docs/scheduling.md)".to_string(),
    };
    let c = if sm.missing + sm.different == 0 && sm.unverifiable + sm.unknown == 0 {
        Check::pass("assets", format!("the failover workspace has every asset of {against}"))
    } else if sm.missing + sm.different == 0 {
        Check::warn("assets", format!("{} asset versions could not be compared with {against}", sm.unverifiable + sm.unknown))
    } else {
        let title = format!("the failover workspace is behind {against}: {}", counts.join("; "));
        let c = if o.tier == Tier::Cold { Check::warn("assets", title) } else { Check::fail("assets", title) };
        c.fix(fix)
    };
    out.push(c.evidence(ev));
}
