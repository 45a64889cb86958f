//! Compute, endpoints and schedules, read from the control plane: each AmlCompute cluster of
//! the primary exists in the target, its VM size is offered in the target region
//! (`VirtualMachineSizes_List`) and the target's quota covers the clusters' maximum nodes
//! (`Usages_List`, `Quotas_List`; the same [`check_capacity`] `copy` uses); for the hot and warm
//! tiers the online endpoints and their deployments are in the target; schedules are there and
//! disabled. What the control plane does not serve is reported as not readable.

use super::{Check, Pair, Tier};
use crate::assets::compute::check_capacity;
use crate::workspace::{Context, WorkspaceRef};
use serde_json::Value;
use std::collections::HashMap;

fn name(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

async fn list(ctx: &Context, ws: &WorkspaceRef, seg: &str) -> crate::error::Result<Vec<Value>> {
    ctx.arm.list(&format!("{}/{seg}", crate::azureml::workspace_path(ws))).await
}

pub async fn checks(ctx: &Context, p: &Pair, tier: Tier, out: &mut Vec<Check>) {
    clusters(ctx, p, tier, out).await;
    endpoints(ctx, p, tier, out).await;
    schedules(ctx, p, tier, out).await;
}

async fn clusters(ctx: &Context, p: &Pair, tier: Tier, out: &mut Vec<Check>) {
    let (src, tgt) = match futures::future::try_join(list(ctx, &p.from, "computes"), list(ctx, &p.to, "computes")).await {
        Ok(x) => x,
        Err(e) => return out.push(Check::unreadable("compute", "computes (Compute_List)", e)),
    };
    let clusters: Vec<&Value> = src.iter().filter(|c| c.pointer("/properties/computeType").and_then(Value::as_str) == Some("AmlCompute")).collect();
    if clusters.is_empty() {
        return out.push(Check::pass("compute", "the primary has no compute cluster").evidence(format!("Compute_List {}: {} computes, no AmlCompute", p.from.workspace_name, src.len())));
    }
    let region = p.tgt_region().to_string();
    let cap = match crate::assets::definition_arm::region_capacity(&ctx.arm, &p.to, &region).await {
        Ok(c) => Some(c),
        Err(e) => {
            out.push(Check::unreadable("compute-quota", &format!("VM sizes and quota in {region}"), e));
            None
        }
    };
    let mut claimed: HashMap<String, u64> = HashMap::new();
    let (to_ws, to_rg) = (&p.to.workspace_name, &p.to.resource_group);
    // Clusters the target already has count against its usage already: check those not there.
    for c in clusters {
        let n = name(c);
        let props = c.pointer("/properties/properties").cloned().unwrap_or(Value::Null);
        let size = props.get("vmSize").and_then(Value::as_str).unwrap_or("-");
        let max = props.pointer("/scaleSettings/maxNodeCount").and_then(Value::as_u64).unwrap_or(0);
        let ev = format!("Compute_List {}: {n} AmlCompute {size}, max {max} nodes", p.from.workspace_name);
        let present = tgt.iter().any(|t| name(t).eq_ignore_ascii_case(n));
        out.push(if present {
            Check::pass("compute", format!("cluster {n} exists in the failover workspace")).evidence(ev)
        } else {
            let status = if tier == Tier::Cold { Check::warn as fn(&str, String) -> Check } else { Check::fail };
            status("compute", format!("cluster {n} is missing from the failover workspace"))
                .evidence(ev)
                .evidence(format!("Compute_List {to_ws}: {}", tgt.iter().map(name).collect::<Vec<_>>().join(", ")))
                .fix(format!("aml-failover copy --from <primary> --to <failover> --kinds computes (or az ml compute create -w {to_ws} -g {to_rg} -n {n} --type amlcompute --size {size} --min-instances 0 --max-instances {max})"))
        });
        let Some(cap) = &cap else { continue };
        if present {
            continue;
        }
        out.push(match check_capacity(n, c, cap, &mut claimed) {
            Ok(()) => Check::pass("compute-quota", format!("{region} offers {size} with quota for cluster {n} ({max} nodes)")).evidence(format!("VirtualMachineSizes_List / Usages_List {region}")),
            Err(why) => Check::fail("compute-quota", why)
                .evidence(format!("VirtualMachineSizes_List / Usages_List / Quotas_List {region}"))
                .fix(format!("request more vCPU quota for the VM family in {region} (Azure portal > Azure Machine Learning > Quotas, or az ml compute list-usage --location {region}), or lower max_instances")),
        });
    }
}

async fn endpoints(ctx: &Context, p: &Pair, tier: Tier, out: &mut Vec<Check>) {
    if tier == Tier::Cold {
        return out.push(Check::pass("online-endpoints", "tier cold: online endpoints are created at failover time, not checked"));
    }
    let (src, tgt) = match futures::future::try_join(list(ctx, &p.from, "onlineEndpoints"), list(ctx, &p.to, "onlineEndpoints")).await {
        Ok(x) => x,
        Err(e) => return out.push(Check::unreadable("online-endpoints", "online endpoints (OnlineEndpoints_List)", e)),
    };
    if src.is_empty() {
        return out.push(Check::pass("online-endpoints", "the primary has no online endpoint").evidence(format!("OnlineEndpoints_List {}: none", p.from.workspace_name)));
    }
    for e in &src {
        let n = name(e);
        let deployments = |ws: &WorkspaceRef| {
            let seg = format!("onlineEndpoints/{n}/deployments");
            let ws = ws.clone();
            async move { list(ctx, &ws, &seg).await.map(|v| v.iter().map(|d| name(d).to_string()).collect::<Vec<_>>()) }
        };
        let c = if !tgt.iter().any(|t| name(t).eq_ignore_ascii_case(n)) {
            Check::fail("online-endpoints", format!("online endpoint {n} is missing from the failover workspace"))
                .fix(format!("aml-failover copy --from <primary> --to <failover> --kinds endpoints (or az ml online-endpoint create -w {} -g {} -n {n})", p.to.workspace_name, p.to.resource_group))
        } else {
            match futures::future::try_join(deployments(&p.from), deployments(&p.to)).await {
                Err(e) => Check::unreadable("online-endpoints", &format!("deployments of {n}"), e),
                Ok((sd, td)) => {
                    let missing: Vec<&String> = sd.iter().filter(|d| !td.contains(d)).collect();
                    if missing.is_empty() {
                        Check::pass("online-endpoints", format!("online endpoint {n} and its deployments ({}) are in the failover workspace", sd.join(", ")))
                    } else {
                        Check::fail("online-endpoints", format!("online endpoint {n} lacks deployments {} in the failover workspace", missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
                            .fix("aml-failover copy --from <primary> --to <failover> --kinds endpoints")
                    }
                }
            }
        };
        out.push(c.evidence(format!("OnlineEndpoints_List {} / {}", p.from.workspace_name, p.to.workspace_name)));
    }
}

async fn schedules(ctx: &Context, p: &Pair, tier: Tier, out: &mut Vec<Check>) {
    if tier == Tier::Cold {
        return out.push(Check::pass("schedules", "tier cold: schedules are created at failover time, not checked"));
    }
    let (src, tgt) = match futures::future::try_join(list(ctx, &p.from, "schedules"), list(ctx, &p.to, "schedules")).await {
        Ok(x) => x,
        Err(e) => return out.push(Check::unreadable("schedules", "schedules (Schedules_List)", e)),
    };
    let missing: Vec<&str> = src.iter().map(name).filter(|n| !tgt.iter().any(|t| name(t) == *n)).collect();
    let enabled: Vec<&str> = tgt.iter().filter(|t| t.pointer("/properties/isEnabled").and_then(Value::as_bool) == Some(true)).map(name).collect();
    let ev = format!("Schedules_List: {} in the primary, {} in the failover workspace", src.len(), tgt.len());
    out.push(if !enabled.is_empty() {
        Check::warn("schedules", format!("schedules {} are enabled in the failover workspace: they run in both regions", enabled.join(", ")))
            .fix(format!("az ml schedule disable -w {} -g {} -n <name> (enable them at failover)", p.to.workspace_name, p.to.resource_group))
    } else if !missing.is_empty() {
        Check::warn("schedules", format!("schedules {} are missing from the failover workspace", missing.join(", ")))
            .fix("aml-failover copy --from <primary> --to <failover> --kinds schedules (copied disabled)")
    } else {
        Check::pass("schedules", "every schedule of the primary is in the failover workspace, disabled")
    }
    .evidence(ev));
}
