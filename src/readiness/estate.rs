//! The workspaces' estate: control planes and default storages answer, the regions differ,
//! each workspace has its own storage account, the primary's is geo-redundant with read access
//! (Storage resource provider: `StorageAccounts_GetProperties` with
//! `$expand=geoReplicationStats`), `allowSharedKeyAccess` against the credential the tool will
//! use, the primary's other datastores, Key Vault, container registry (`Registries_Get`,
//! `Replications_List`), Application Insights.

use super::{id_name, id_parts, Check, Pair};
use crate::azureml::datastores::{self, Datastore};
use crate::workspace::Context;
use serde_json::Value;

pub const STORAGE_API_VERSION: &str = "2025-01-01";
pub const REGISTRY_API_VERSION: &str = "2025-04-01";

/// What the Storage resource provider said about the primary's default storage account.
#[derive(Debug, Clone)]
pub struct Geo {
    pub account: String,
    pub sku: String,
    pub geo_redundant: bool,
    /// `geoReplicationStats.lastSyncTime`.
    pub last_sync_time: Option<String>,
}

pub fn geo_redundant(sku: &str) -> bool {
    let s = sku.to_ascii_uppercase();
    s.ends_with("GRS") || s.ends_with("GZRS")
}

fn read_access(sku: &str) -> bool {
    let s = sku.to_ascii_uppercase();
    s.ends_with("_RAGRS") || s.ends_with("_RAGZRS")
}

/// `az storage account update` for an account id.
fn az_storage(id: &str, what: &str) -> String {
    match id_parts(id) {
        Some((sub, rg, name)) => format!("az storage account update --subscription {sub} -g {rg} -n {name} {what}"),
        None => format!("az storage account update --ids {id} {what}"),
    }
}

/// Runs the estate checks; the primary storage's geo facts for the RPO lines.
pub async fn checks(ctx: &Context, p: &Pair, out: &mut Vec<Check>) -> Option<Geo> {
    for (role, ws, v) in [("primary", &p.from, &p.src), ("failover", &p.to, &p.tgt)] {
        let region = v.get("location").and_then(Value::as_str).unwrap_or("?");
        out.push(Check::pass("control-plane", format!("{role} workspace {} answers", ws.workspace_name)).evidence(format!("Workspaces_Get {}: region {region}", ws.arm_id())));
        let w = crate::azureml::workspaces::Workspace::from_json(v);
        let (ok, detail) = crate::workspace_show::storage_reachable(ctx, ws, &w).await;
        out.push(if ok {
            Check::pass("storage-reachable", format!("{role} default storage answers")).evidence(detail)
        } else {
            Check::fail("storage-reachable", format!("{role} default storage does not answer with the credentials given"))
                .evidence(detail)
                .fix("check the network path and the datastore credential: az ml datastore show -n workspaceblobstore, and the identity's Storage Blob Data Reader role")
        });
    }

    let (sr, tr) = (p.src_region(), p.tgt_region());
    out.push(if !sr.eq_ignore_ascii_case(tr) {
        Check::pass("regions", format!("the workspaces are in different regions ({sr}, {tr})"))
    } else {
        Check::fail("regions", format!("both workspaces are in {sr}: a regional outage takes both"))
            .fix("create the failover workspace in another region (Azure's pair of the primary's): az ml workspace create -n <name> -g <group> --location <other region>")
    }
    .evidence(format!("Workspaces_Get location: {} = {sr}, {} = {tr}", p.from.workspace_name, p.to.workspace_name)));

    let (ss, ts) = (p.src_prop("storageAccount").unwrap_or(""), p.tgt_prop("storageAccount").unwrap_or(""));
    out.push(if !ss.is_empty() && !ss.eq_ignore_ascii_case(ts) {
        Check::pass("storage-separate", "each workspace has its own default storage account")
    } else {
        Check::fail("storage-separate", "the workspaces share their default storage account")
            .fix("give the failover workspace a storage account of its own in its region (az storage account create, then az ml workspace create --storage-account <id>)")
    }
    .evidence(format!("properties.storageAccount: {ss} / {ts}")));

    let geo = primary_storage(ctx, ss, out).await;
    other_datastores(ctx, p, out).await;
    key_vault(ctx, p, out).await;
    registry(ctx, p, out).await;
    out.push(match p.tgt_prop("applicationInsights") {
        Some(ai) => Check::pass("application-insights", "the failover workspace has Application Insights").evidence(format!("properties.applicationInsights: {ai}")),
        None => Check::warn("application-insights", "the failover workspace has no Application Insights: deployments there log nowhere")
            .evidence("properties.applicationInsights: absent")
            .fix(format!("az ml workspace update -n {} -g {} --application-insights <id of an Application Insights in {tr}>", p.to.workspace_name, p.to.resource_group)),
    });
    geo
}

/// Storage RP: SKU, replication statistics, allowSharedKeyAccess of the primary's storage.
async fn primary_storage(ctx: &Context, id: &str, out: &mut Vec<Check>) -> Option<Geo> {
    if id.is_empty() {
        out.push(Check::warn("storage-geo", "the primary workspace names no storage account: not checked"));
        return None;
    }
    let acct = match ctx.arm.get_with(&format!("{id}?$expand=geoReplicationStats"), STORAGE_API_VERSION).await {
        Ok(v) => v,
        Err(e) => {
            out.push(Check::unreadable("storage-geo", &format!("storage account {}", id_name(id)), e));
            return None;
        }
    };
    let sku = acct.pointer("/sku/name").and_then(Value::as_str).unwrap_or("").to_string();
    let stats = acct.pointer("/properties/geoReplicationStats");
    let status = stats.and_then(|s| s.get("status")).and_then(Value::as_str).unwrap_or("-");
    let last_sync = stats.and_then(|s| s.get("lastSyncTime")).and_then(Value::as_str).map(str::to_string);
    let can_failover = stats.and_then(|s| s.get("canFailover")).and_then(Value::as_bool);
    let secondary = acct.pointer("/properties/secondaryLocation").and_then(Value::as_str).unwrap_or("-");
    let evidence = format!(
        "StorageAccounts_GetProperties {}: sku {sku}, secondaryLocation {secondary}, geoReplicationStats.status {status}, lastSyncTime {}, canFailover {}",
        id_name(id),
        last_sync.as_deref().unwrap_or("-"),
        can_failover.map(|b| b.to_string()).unwrap_or_else(|| "-".into())
    );
    let name = id_name(id);
    out.push(if !geo_redundant(&sku) {
        Check::fail("storage-geo", format!("primary storage {name} is {sku}: its data stays in one region, run outputs are lost with it"))
            .fix(az_storage(id, "--sku Standard_RAGRS"))
    } else if !read_access(&sku) {
        Check::warn("storage-geo", format!("primary storage {name} is {sku}: the secondary cannot be read until a storage failover"))
            .fix(az_storage(id, "--sku Standard_RAGRS"))
    } else if status != "Live" {
        Check::warn("storage-geo", format!("primary storage {name} is {sku} but its replication is {status}"))
            .fix("wait for the replication to be Live; Azure portal > storage account > Redundancy shows its state")
    } else {
        Check::pass("storage-geo", format!("primary storage {name} is {sku}, replication Live"))
    }
    .evidence(evidence));

    // The tool reads the primary's storage with AML_FAILOVER_SOURCE_SAS / _ACCOUNT_KEY when set,
    // else the datastore's secret; an account refusing Shared Key refuses both.
    let allow = acct.pointer("/properties/allowSharedKeyAccess").and_then(Value::as_bool);
    let shown = allow.map(|b| b.to_string()).unwrap_or_else(|| "null (= true)".into());
    let env_secret = ["AML_FAILOVER_SOURCE_SAS", "AML_FAILOVER_SOURCE_ACCOUNT_KEY"]
        .into_iter()
        .find(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()));
    out.push(match (allow, env_secret) {
        (Some(false), Some(var)) => Check::fail("storage-shared-key", format!("primary storage {name} refuses Shared Key and SAS, and {var} is what the tool would use"))
            .fix(format!("unset {var} and grant the identity Storage Blob Data Reader on {name} (the tool then uses an Entra token), or {}", az_storage(id, "--allow-shared-key-access true"))),
        (Some(false), None) => Check::pass("storage-shared-key", format!("primary storage {name} refuses Shared Key; the tool will read it with an Entra token")),
        _ => Check::pass("storage-shared-key", format!("primary storage {name} accepts Shared Key and SAS")),
    }
    .evidence(format!("properties.allowSharedKeyAccess: {shown}; AML_FAILOVER_SOURCE_SAS/_ACCOUNT_KEY: {}", env_secret.unwrap_or("not set"))));
    Some(Geo { account: name.to_string(), geo_redundant: geo_redundant(&sku), sku, last_sync_time: last_sync })
}

/// The primary's datastores on storage other than its own default account.
fn non_default(ds: &[Datastore], default_account: &str) -> Vec<Datastore> {
    ds.iter()
        .filter(|d| matches!(d.datastore_type.as_str(), "AzureBlob" | "AzureFile" | "AzureDataLakeGen2"))
        .filter(|d| d.account_name.as_deref().is_some_and(|a| !a.eq_ignore_ascii_case(default_account)))
        .cloned()
        .collect()
}

async fn other_datastores(ctx: &Context, p: &Pair, out: &mut Vec<Check>) {
    let default = p.src_prop("storageAccount").map(id_name).unwrap_or("");
    let (src, tgt) = match futures::future::try_join(datastores::list(&ctx.arm, &p.from), datastores::list(&ctx.arm, &p.to)).await {
        Ok(x) => x,
        Err(e) => return out.push(Check::unreadable("datastores", "datastores", e)),
    };
    let others = non_default(&src, default);
    if others.is_empty() {
        return out.push(Check::pass("datastores", "the primary has no datastore on other storage").evidence(format!("Datastores_List: {} datastores, all on {default}", src.len())));
    }
    for d in others {
        let account = d.account_name.clone().unwrap_or_default();
        let place = d.container_name.clone().or(d.file_share_name.clone()).unwrap_or_default();
        let raw = ctx.arm.get(&format!("{}/datastores/{}", crate::azureml::workspace_path(&p.from), d.name)).await.ok();
        let s = |k: &str| raw.as_ref().and_then(|v| v.pointer(&format!("/properties/{k}"))).and_then(Value::as_str).map(str::to_string);
        let sub = s("subscriptionId").unwrap_or_else(|| p.from.subscription_id.clone());
        let rg = s("resourceGroup").unwrap_or_else(|| p.from.resource_group.clone());
        let id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}");
        let in_target = tgt.iter().any(|t| t.account_name.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(&account)) && t.container_name.clone().or(t.file_share_name.clone()).unwrap_or_default() == place);
        let sku = ctx.arm.get_with(&id, STORAGE_API_VERSION).await.map(|v| v.pointer("/sku/name").and_then(Value::as_str).unwrap_or("").to_string());
        let ev = format!("datastore {} ({}): {account}/{place}; failover workspace has a datastore on it: {}", d.name, d.datastore_type, if in_target { "yes" } else { "no" });
        let c = match &sku {
            Err(e) => Check::unreadable("datastore", &format!("datastore {}'s storage account {account}", d.name), e),
            Ok(sku) if !geo_redundant(sku) => Check::warn("datastore", format!("datastore {} is on {account} ({sku}): not geo-redundant", d.name)).fix(az_storage(&id, "--sku Standard_RAGRS")),
            Ok(_) if !in_target => Check::warn("datastore", format!("datastore {}: the failover workspace has no datastore on {account}/{place}", d.name))
                .fix(format!("az ml datastore create -w {} -g {} --file datastore-{}.yml (or aml-failover copy --kinds datastores)", p.to.workspace_name, p.to.resource_group, d.name)),
            Ok(sku) => Check::pass("datastore", format!("datastore {} is on geo-redundant {account} ({sku}) and in the failover workspace", d.name)),
        };
        out.push(c.evidence(ev));
    }
}

async fn key_vault(ctx: &Context, p: &Pair, out: &mut Vec<Check>) {
    let (s, t) = (p.src_prop("keyVault").unwrap_or("-"), p.tgt_prop("keyVault").unwrap_or("-"));
    let ev = format!("properties.keyVault: {s} / {t}");
    if s.eq_ignore_ascii_case(t) && s != "-" {
        return out.push(Check::pass("key-vault", format!("both workspaces use Key Vault {}", id_name(s))).evidence(ev));
    }
    // The secrets the failover workspace would miss: credentials of datastores and connections.
    let mut secrets: Vec<String> = match datastores::list(&ctx.arm, &p.from).await {
        Ok(ds) => ds
            .iter()
            .filter(|d| !d.name.starts_with("workspace"))
            .filter(|d| d.credentials_type.as_deref().is_some_and(|c| c != "None"))
            .map(|d| format!("datastore {} ({})", d.name, d.credentials_type.as_deref().unwrap_or("")))
            .collect(),
        Err(e) => vec![format!("(datastores not readable: {e})")],
    };
    if let Ok(conns) = ctx.arm.list(&format!("{}/connections", crate::azureml::workspace_path(&p.from))).await {
        secrets.extend(conns.iter().filter_map(|c| c.get("name").and_then(Value::as_str)).map(|n| format!("connection {n}")));
    }
    let named = if secrets.is_empty() { "none found among datastores and connections".to_string() } else { secrets.join(", ") };
    out.push(
        Check::warn("key-vault", format!("the workspaces use different Key Vaults: the failover workspace would miss the primary's secrets ({named})"))
            .evidence(ev)
            .fix("use one Key Vault for both workspaces (az ml workspace create --key-vault <primary's vault id> for the failover workspace), or recreate those credentials there (az ml datastore create / az ml connection create)"),
    );
}

async fn registry(ctx: &Context, p: &Pair, out: &mut Vec<Check>) {
    let (s, t) = (p.src_prop("containerRegistry"), p.tgt_prop("containerRegistry"));
    let ev = format!("properties.containerRegistry: {} / {}", s.unwrap_or("-"), t.unwrap_or("-"));
    let Some(s) = s else {
        return out.push(Check::pass("container-registry", "the primary has no container registry yet (no image built): nothing to replicate").evidence(ev));
    };
    let tr = p.tgt_region();
    let reg = match ctx.arm.get_with(s, REGISTRY_API_VERSION).await {
        Ok(v) => v,
        Err(e) => return out.push(Check::unreadable("container-registry", &format!("registry {}", id_name(s)), e)),
    };
    let sku = reg.pointer("/sku/name").and_then(Value::as_str).unwrap_or("").to_string();
    let login = reg.pointer("/properties/loginServer").and_then(Value::as_str).unwrap_or("").to_string();
    let regions: Result<Vec<String>, _> = ctx.arm.list_with(&format!("{s}/replications"), REGISTRY_API_VERSION).await
        .map(|v| v.iter().filter_map(|r| r.get("location").and_then(Value::as_str)).map(str::to_string).collect());
    let regions = match regions {
        Ok(r) => r,
        Err(e) => return out.push(Check::unreadable("container-registry", &format!("replications of {}", id_name(s)), e)),
    };
    let ev2 = format!("Registries_Get {}: sku {sku}, location {}; Replications_List: {}", id_name(s), reg.get("location").and_then(Value::as_str).unwrap_or("-"), regions.join(", "));
    let shared = t.is_some_and(|t| t.eq_ignore_ascii_case(s));
    let replicated = regions.iter().any(|r| r.eq_ignore_ascii_case(tr));
    let name = id_name(s);
    let c = if shared && sku == "Premium" && replicated {
        Check::pass("container-registry", format!("both workspaces use registry {name} (Premium), replicated into {tr}"))
    } else {
        let problem = if !shared {
            "the workspaces use different registries".to_string()
        } else if sku != "Premium" {
            format!("registry {name} is {sku}: only Premium replicates")
        } else {
            format!("registry {name} has no replication in {tr}")
        };
        let envs = primary_only_environments(ctx, p, &login).await;
        let fix = if sku != "Premium" {
            format!("az acr update -n {name} --sku Premium && az acr replication create -r {name} --location {tr}")
        } else {
            format!("az acr replication create -r {name} --location {tr}; then give the failover workspace the same registry (az ml workspace update --container-registry {s})")
        };
        Check::warn("container-registry", format!("{problem}: images of {envs} live only in {}", p.src_region())).fix(fix)
    };
    out.push(c.evidence(ev).evidence(ev2));
}

/// The primary's environments whose image is in (or built into) its registry.
async fn primary_only_environments(ctx: &Context, p: &Pair, login: &str) -> String {
    let base = crate::azureml::workspace_path(&p.from);
    let Ok(containers) = ctx.arm.list(&format!("{base}/environments")).await else {
        return "its environments (not readable)".into();
    };
    let mut names = Vec::new();
    for c in containers.iter().filter_map(|c| c.get("name").and_then(Value::as_str)) {
        let Ok(versions) = ctx.arm.list(&format!("{base}/environments/{c}/versions")).await else { continue };
        for v in versions {
            let image = v.pointer("/properties/image").and_then(Value::as_str).unwrap_or("");
            let built = v.pointer("/properties/build").is_some_and(|b| !b.is_null());
            if built || (!login.is_empty() && image.starts_with(login)) || v.pointer("/properties/condaFile").is_some_and(|b| !b.is_null()) {
                names.push(format!("environment {c}:{}", v.get("name").and_then(Value::as_str).unwrap_or("?")));
            }
        }
    }
    if names.is_empty() {
        "no environment (none built into the registry)".into()
    } else {
        names.join(", ")
    }
}
