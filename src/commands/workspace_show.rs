//! `aml-failover workspace show`: the workspace, its region, storage account, default
//! datastores, counts per asset kind, and whether its default blob storage answers.

use crate::azureml::datastores::{self, Datastore, DatastoreSecret};
use crate::azureml::workspaces::{self, Workspace};
use crate::settings::Settings;
use crate::error::{Error, Exit, Result};
use crate::storage::blob::BlobStore;
use crate::storage::StorageCredential;
use crate::workspace::{Context, WorkspaceRef};
use serde_json::{json, Value};
use std::sync::Arc;

/// JSON schema version of `workspace show --output json`.
pub const SCHEMA_VERSION: u32 = 1;

struct Shown {
    role: &'static str,
    reference: WorkspaceRef,
    outcome: Result<Details>,
}

struct Details {
    ws: Workspace,
    datastores: Vec<Datastore>,
    counts: Vec<(&'static str, usize)>,
    storage: StorageCheck,
}

struct StorageCheck {
    endpoint: String,
    container: String,
    reachable: bool,
    detail: String,
}

pub async fn run(s: &Settings) -> Result<Exit> {
    let mut targets = Vec::new();
    if let Some(f) = &s.from {
        targets.push((if s.from_is_workspace_name { "workspace" } else { "source" }, f.clone()));
    }
    if let Some(t) = &s.to {
        targets.push(("target", t.clone()));
    }
    if targets.is_empty() {
        return Err(Error::usage(
            "which workspace? give --from and/or --to (config.json, ARM id, or name with --subscription and -g), or -w NAME",
        ));
    }
    let ctx = Context::connect(&s.connect)?;
    let futs = targets.into_iter().map(|(role, r)| {
        let ctx = ctx.clone();
        async move {
            let outcome = details(&ctx, &r).await;
            Shown { role, reference: r, outcome }
        }
    });
    let shown = futures::future::join_all(futs).await;

    let exit = shown
        .iter()
        .filter_map(|x| x.outcome.as_ref().err())
        .map(Error::exit)
        .next()
        .unwrap_or(Exit::Ok);
    if s.printer.is_json() {
        s.printer.json(&to_json(&shown));
    } else {
        for (i, x) in shown.iter().enumerate() {
            if i > 0 {
                println!();
            }
            match &x.outcome {
                Ok(d) => print_human(x.role, d),
                Err(_) => println!("{} workspace {}: unavailable (see error below)", x.role, x.reference),
            }
        }
    }
    for x in &shown {
        if let Err(e) = &x.outcome {
            eprintln!("error: {} workspace {}: {e}", x.role, x.reference);
        }
    }
    Ok(exit)
}

async fn details(ctx: &Context, r: &WorkspaceRef) -> Result<Details> {
    let ws = workspaces::get(&ctx.arm, r).await?;
    let (datastores, counts) =
        futures::future::try_join(datastores::list(&ctx.arm, r), workspaces::asset_counts(&ctx.arm, r)).await?;
    let storage = check_storage(ctx, r, &ws, &datastores).await;
    Ok(Details { ws, datastores, counts, storage })
}

/// Whether a workspace's default blob storage answers (one listing with the datastore's own
/// credential), as one line for `failover`'s checks.
pub(crate) async fn storage_reachable(ctx: &Context, r: &WorkspaceRef, ws: &Workspace) -> (bool, String) {
    match datastores::list(&ctx.arm, r).await {
        Err(e) => (false, format!("its datastores cannot be listed: {e}")),
        Ok(ds) => {
            let c = check_storage(ctx, r, ws, &ds).await;
            let what = format!("{}/{}", c.endpoint, c.container);
            if c.reachable {
                (true, format!("storage {what} answers ({})", c.detail))
            } else {
                (false, format!("storage {what} does NOT answer: {}", c.detail))
            }
        }
    }
}

/// Lists one blob of the default blob datastore with the credential it hands out.
async fn check_storage(ctx: &Context, r: &WorkspaceRef, ws: &Workspace, ds: &[Datastore]) -> StorageCheck {
    let default = ds
        .iter()
        .find(|d| d.is_default && d.datastore_type == "AzureBlob")
        .or_else(|| ds.iter().find(|d| d.name == "workspaceblobstore"));
    let Some(d) = default else {
        return StorageCheck {
            endpoint: String::new(),
            container: String::new(),
            reachable: false,
            detail: "no default blob datastore".into(),
        };
    };
    let account = d.account_name.clone().or_else(|| ws.storage_account_name().map(str::to_string)).unwrap_or_default();
    let container = d.container_name.clone().unwrap_or_default();
    let endpoint = match ctx.cloud.blob_account_url(&account, false) {
        Ok(u) => u,
        Err(e) => return StorageCheck { endpoint: String::new(), container, reachable: false, detail: e.to_string() },
    };
    let shown_endpoint = crate::redact::url(&endpoint);
    let result: Result<(usize, &'static str)> = async {
        let cred = match datastores::list_secrets(&ctx.arm, r, &d.name).await? {
            DatastoreSecret::AccountKey(k) => StorageCredential::AccountKey(
                azure_sharedkey::SharedKey::new(account.clone(), &k).map_err(|e| Error::Service(e.to_string()))?,
            ),
            DatastoreSecret::Sas(t) => StorageCredential::Sas(t),
            DatastoreSecret::Other(_) => StorageCredential::Bearer(Arc::clone(ctx.arm.tokens())),
        };
        let kind = cred.kind();
        let c = BlobStore::new(ctx.http.clone(), &endpoint, &account, &container, cred, ctx.retry.clone())?;
        let n = c.list_limited("", Some(1)).await?.len();
        Ok((n, kind))
    }
    .await;
    match result {
        Ok((_, kind)) => StorageCheck {
            endpoint: shown_endpoint,
            container,
            reachable: true,
            detail: format!("listed with the datastore's {kind}"),
        },
        Err(e) => StorageCheck { endpoint: shown_endpoint, container, reachable: false, detail: e.to_string() },
    }
}

fn print_human(role: &str, d: &Details) {
    let w = &d.ws;
    println!("{role} workspace {}", w.name);
    println!("  id              {}", w.id);
    println!("  region          {}", w.location);
    println!("  workspace id    {}", w.workspace_id.as_deref().unwrap_or("-"));
    println!(
        "  storage account {} ({})",
        w.storage_account_name().unwrap_or("-"),
        w.storage_account.as_deref().unwrap_or("-")
    );
    if let Some(u) = &w.discovery_url {
        println!("  discovery url   {u}");
    }
    println!("  datastores");
    let width = d.datastores.iter().map(|x| x.name.len()).max().unwrap_or(0);
    for ds in &d.datastores {
        println!(
            "    {:<width$}  {:<10} {}{}",
            ds.name,
            ds.datastore_type,
            ds.location(),
            if ds.is_default { "  (default)" } else { "" }
        );
    }
    println!("  assets");
    for (kind, n) in &d.counts {
        println!("    {kind:<13} {n}");
    }
    let st = &d.storage;
    println!(
        "  storage         {} {}/{}: {}",
        if st.reachable { "reachable" } else { "UNREACHABLE" },
        st.endpoint.trim_end_matches('/'),
        st.container,
        st.detail
    );
}

fn to_json(shown: &[Shown]) -> Value {
    let items: Vec<Value> = shown
        .iter()
        .map(|x| match &x.outcome {
            Ok(d) => json!({
                "role": x.role,
                "reference": x.reference.arm_id(),
                "workspace": d.ws,
                "datastores": d.datastores,
                "assetCounts": d.counts.iter().map(|(k, n)| (k.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "storage": {
                    "blobEndpoint": d.storage.endpoint,
                    "container": d.storage.container,
                    "reachable": d.storage.reachable,
                    "detail": d.storage.detail,
                },
            }),
            Err(e) => json!({
                "role": x.role,
                "reference": x.reference.arm_id(),
                "error": crate::wire::ErrorBody::of(e),
            }),
        })
        .collect();
    json!({ "schemaVersion": SCHEMA_VERSION, "command": "workspace show", "workspaces": items })
}
