//! Jobs' outputs and logs, read straight from the source workspace's storage, listed or copied
//! and verified (`aml-failover outputs list|copy` render what these return; nothing prints here).
//!
//! Two ways in, and the report says which was taken:
//! - **control plane** (`--from WS`): Jobs_List names the jobs (filters: --job, --experiment,
//!   --since) and each job's outputs carry their URIs; storage credentials come from the
//!   workspace's datastores;
//! - **storage only** (`--storage-account NAME`, for when the control plane is down): the
//!   jobs are found by the layout Azure ML writes — default outputs in the default container
//!   `azureml-blobstore-<workspaceId>` under `azureml/<job>/<output>/`, logs and run
//!   artifacts in container `azureml` under `ExperimentRun/dcid.<job>/` — with a SAS
//!   (`AML_FAILOVER_SOURCE_SAS`), the account key (`AML_FAILOVER_SOURCE_ACCOUNT_KEY`) or an
//!   Entra token, optionally from the RA-GRS secondary endpoint (`--source-endpoint
//!   secondary`). The tool only ever reads the source.
//!
//! Destination layout (workspace default datastore or local folder):
//! `failover-outputs/<workspace id>/<job>/outputs/<output>/…` and `…/<job>/artifacts/…`: the
//! source workspace's id (its GUID, which storage alone gives too, so a run through the control
//! plane and one through storage only write the same paths and skip each other's files); the
//! report says which workspace name the id stands for when the control plane gave it.

use crate::assets::uri::ContentUri;
use crate::azureml::{workspace_path, ArmClient};
use crate::error::{Error, Result};
use crate::plan::Action;
use crate::report::{FileRecord, ItemRecord, Report, Status};
use crate::settings::Settings;
use crate::storage::blob::{self, BlobStore};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{ObjectMeta, Store, StorePath};
use crate::transfer::{EngineOptions, FileJob};
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Where `outputs copy` writes.
#[derive(Debug, Clone)]
pub enum Destination {
    Workspace,
    Dir(PathBuf),
    /// Any blob container URL, optionally with a folder path and a SAS query.
    Url(String),
}

#[derive(Debug, Clone)]
pub struct OutputsOptions {
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub secondary: bool,
    pub jobs: Vec<String>,
    pub experiment: Option<String>,
    pub since: Option<time::OffsetDateTime>,
    pub destination: Option<Destination>,
    pub register_as_data: bool,
    pub dry_run: bool,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}

/// Environment variable with a SAS for a `--to-url` container (instead of one in the URL).
pub const ENV_TARGET_SAS: &str = "AML_FAILOVER_TARGET_SAS";

/// A blob container URL (`https://<account>.blob.<suffix>/<container>[/<folder>][?<sas>]`,
/// or the emulator's path-style form) as a store plus the folder inside it.
pub fn url_destination(ctx: &Context, raw: &str) -> Result<(Arc<dyn Store>, String)> {
    let (no_query, query) = match raw.split_once('?') {
        Some((a, q)) => (a, Some(q.to_string())),
        None => (raw, None),
    };
    let (account, container, folder) = match ContentUri::parse(no_query) {
        Ok(ContentUri::Blob { account, container, path }) => (account, container, path),
        _ => {
            return Err(Error::usage(format!(
                "--to-url '{}' is not a blob container URL: give it like https://<account>.blob.core.windows.net/<container>[/<folder>]",
                crate::redact::url_str(raw)
            )))
        }
    };
    let cred = match query.filter(|q| q.contains("sig=")).or_else(|| std::env::var(ENV_TARGET_SAS).ok().filter(|v| !v.trim().is_empty())) {
        Some(sas) => crate::storage::StorageCredential::Sas(sas.trim_start_matches('?').to_string()),
        None => crate::storage::StorageCredential::Bearer(Arc::clone(ctx.arm.tokens())),
    };
    let url = ctx.cloud.blob_account_url(&account, false)?;
    let store = BlobStore::new(ctx.http.clone(), &url, &account, &container, cred, ctx.retry.clone())?;
    Ok((Arc::new(store), folder))
}

const DEST_ROOT: &str = "failover-outputs";

/// One thing to copy: a job output folder, or a job's logs and artifacts.
struct Part {
    job: String,
    /// Output name, or `None` for the artifacts/logs.
    output: Option<String>,
    store: Arc<dyn Store>,
    base: String,
    files: Vec<ObjectMeta>,
}

impl Part {
    fn label(&self) -> String {
        match &self.output {
            Some(o) => format!("{}/outputs/{o}", self.job),
            None => format!("{}/artifacts", self.job),
        }
    }
}

struct Source {
    /// "control plane" or "storage only (secondary endpoint)" etc.
    way: String,
    /// The source workspace's id: the folder under `failover-outputs/`.
    label: String,
    /// The source workspace's name, when the control plane gave it.

    /// For the report.
    describe: String,
    parts: Vec<Part>,
    /// Blobs left out because their names are not plain paths: (job, container/blob name).
    refused: Vec<(String, String)>,
}

/// `schemaVersion` of the `outputs list` document.
pub const SCHEMA_VERSION: u32 = 1;

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// What `outputs list` shows: the document `-o json` prints.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Listing {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "outputs list"))]
    pub command: &'static str,
    /// the redacted source (workspace storage)
    pub source: String,
    /// how the source was reached: "control plane", or storage only
    pub access: String,
    pub parts: Vec<ListedPart>,
}

/// A job's output folder, or its logs and artifacts (`output` is `None`).
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(inline, deny_unknown_fields)]
pub struct ListedPart {
    pub job: String,
    /// the output's name; null for the job's logs and artifacts
    pub output: Option<String>,
    pub files: usize,
    pub bytes: u64,
    /// redacted folder URI
    pub uri: String,
}

/// Lists the jobs' outputs and logs of the source; reads nothing but listings.
pub async fn list(s: &Settings, o: &OutputsOptions) -> Result<Listing> {
    let ctx = Context::connect(&s.connect)?;
    let src = enumerate(&ctx, s, o).await?;
    let parts = src
        .parts
        .iter()
        .map(|p| ListedPart {
            job: p.job.clone(),
            output: p.output.clone(),
            files: p.files.len(),
            bytes: p.files.iter().map(|f| f.size).sum::<u64>(),
            uri: p.store.uri(&StorePath::parse(&format!("{}/x", p.base)).unwrap_or_else(|_| StorePath::parse("x").expect("valid"))).trim_end_matches("/x").to_string(),
        })
        .collect();
    Ok(Listing { schema_version: SCHEMA_VERSION, command: "outputs list", source: src.describe, access: src.way, parts })
}

/// The copy itself: the finished report (manifest written) and how the source was reached.
pub async fn copy(s: &Settings, o: &OutputsOptions) -> Result<(Report, String)> {
    let started = Instant::now();
    let started_at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let dest_kind = o.destination.clone().ok_or_else(|| Error::usage("outputs copy needs --to (a workspace) or --to-dir (a local folder)"))?;
    if o.register_as_data && !matches!(dest_kind, Destination::Workspace) {
        return Err(Error::usage("--register-as-data needs --to (a workspace), not --to-dir"));
    }
    if let (Destination::Workspace, Some(from), Some(to)) = (&dest_kind, &s.from, &s.to) {
        crate::guard::distinct_workspaces(from, to)?;
    }
    let ctx = Context::connect(&s.connect)?;
    let src = enumerate(&ctx, s, o).await?;

    let mut dest_root = DEST_ROOT.to_string();
    let (dest, dest_ws, dest_ds, target): (Arc<dyn Store>, Option<WorkspaceRef>, Option<String>, Option<Datastores>) = match &dest_kind {
        Destination::Dir(d) => (Arc::new(LocalStore::new(d.clone())), None, None, None),
        Destination::Url(u) => {
            let (store, folder) = url_destination(&ctx, u)?;
            dest_root = if folder.is_empty() { DEST_ROOT.to_string() } else { folder };
            (store, None, None, None)
        }
        Destination::Workspace => {
            let to = s.to.clone().ok_or_else(|| Error::usage("outputs copy --to needs a workspace reference"))?;
            let ds = Datastores::load(&ctx, &to).await?;
            let name = ds.default_blob()?.name.clone();
            (ds.open(&name).await?, Some(to), Some(name), Some(ds))
        }
    };
    for p in &src.parts {
        crate::guard::distinct_stores(&*p.store, &*dest)?;
    }

    let mut report = Report::new("outputs copy", o.dry_run, src.describe.clone(), dest.describe(), started_at);

    let mut jobs = Vec::new();
    let mut owner = Vec::new();
    for (i, p) in src.parts.iter().enumerate() {
        for f in &p.files {
            let rel = f.path.strip_prefix(&p.base).unwrap_or(f.path.as_str());
            let dst_path = StorePath::parse(&format!("{}/{}", dest_prefix(&dest_root, &src.label, p), rel))?;
            owner.push((i, rel.to_string()));
            jobs.push(FileJob::from_source(&p.store, f, &dest, dst_path));
        }
    }

    // Blobs whose names have no safe place in the destination: in the report, and exit 1.
    let refused: Vec<ItemRecord> = src.refused.iter().map(|(job, blob)| refused_record(job, blob)).collect();
    if o.dry_run {
        for p in &src.parts {
            report.items.push(part_record(p, Status::Planned, "would copy".into(), Vec::new()));
        }
        report.items.extend(refused);
        return finish(o, report, started, &src.way);
    }

    // The target's lock, before the first write into a workspace.
    let guard = match (&dest_ws, &target) {
        (Some(to), Some(ds)) => Some(crate::guard::TargetGuard::take(&ctx, s.state_dir.as_deref(), to, ds, &src.describe).await?),
        _ => None,
    };
    let results = crate::execute::transfer(&o.engine, s.printer.show_progress(), None, &jobs).await;

    let mut files: Vec<Vec<FileRecord>> = src.parts.iter().map(|_| Vec::new()).collect();
    for ((i, rel), (job, r)) in owner.into_iter().zip(jobs.iter().zip(results)) {
        files[i].push(FileRecord::from_result(rel, job, &r));
    }
    for (p, f) in src.parts.iter().zip(files) {
        let failed = f.iter().filter(|x| x.error.is_some()).count();
        let all_present = f.iter().all(|x| x.method == Some(crate::transfer::Method::AlreadyPresent));
        let mut rec = if failed > 0 {
            part_record(p, Status::Failed, format!("{failed} of {} files failed (rerun to resume)", f.len()), f)
        } else if all_present {
            part_record(p, Status::Skipped, "already in the destination, verified".into(), f)
        } else {
            part_record(p, Status::Copied, "copied and verified".into(), f)
        };
        if rec.status != Status::Failed && o.register_as_data && p.output.is_some() {
            if let (Some(ws), Some(ds)) = (&dest_ws, &dest_ds) {
                let path = dest_prefix(&dest_root, &src.label, p);
                match register_output(&ctx.arm, ws, ds, &src, p, &path).await {
                    Ok(name) => rec.reason = format!("{}; registered as data asset {name}", rec.reason),
                    Err(e) => {
                        rec.status = Status::Failed;
                        rec.reason = format!("files verified, registering the data asset failed: {e}");
                    }
                }
            }
        }
        report.items.push(rec);
    }
    report.items.extend(refused);
    if let Some(g) = guard {
        g.release().await;
    }
    finish(o, report, started, &src.way)
}

/// A blob left out because its name is not a plain path.
fn refused_record(job: &str, blob: &str) -> ItemRecord {
    let reason = format!("skipped blob {blob}: its name has an empty, '.' or '..' segment, so it has no safe place in the destination; not copied (rename it in the source)");
    ItemRecord::files_item(crate::report::ItemKind::JobOutput, job, Action::Fail, Status::Failed, reason)
}

fn dest_prefix(root: &str, label: &str, p: &Part) -> String {
    format!("{root}/{label}/{}", p.label())
}

fn part_record(p: &Part, status: Status, reason: String, files: Vec<FileRecord>) -> ItemRecord {
    let files = if files.is_empty() {
        p.files
            .iter()
            .map(|f| FileRecord::planned(f.path.strip_prefix(&p.base).unwrap_or(f.path.as_str()).to_string(), f.size, f.sha256.clone(), p.store.uri(&f.path)))
            .collect()
    } else {
        files
    };
    let version = p.output.clone().unwrap_or_else(|| "artifacts".into());
    ItemRecord {
        target_version: version.clone(),
        version,
        files,
        ..ItemRecord::files_item(crate::report::ItemKind::JobOutput, p.job.clone(), Action::Copy, status, reason)
    }
}

fn finish(o: &OutputsOptions, mut report: Report, started: Instant, way: &str) -> Result<(Report, String)> {
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.summarize();
    if !o.dry_run {
        report.write_manifest(o.manifest.clone(), "aml-failover-outputs")?;
    }
    Ok((report, way.to_string()))
}

/// Finds the parts to copy, through the control plane or storage only.
async fn enumerate(ctx: &Context, s: &Settings, o: &OutputsOptions) -> Result<Source> {
    match (&s.from, &o.storage_account) {
        (Some(ws), storage) => match via_control_plane(ctx, ws, o).await {
            Ok(src) => Ok(src),
            Err(e) if e.class().is_retryable() && storage.is_some() => {
                tracing::warn!("the control plane did not answer ({e}); falling back to storage only");
                let mut src = via_storage(ctx, o).await?;
                src.way = format!("{} — the control plane of {} did not answer", src.way, ws.workspace_name);
                Ok(src)
            }
            Err(e) => Err(e),
        },
        (None, Some(_)) => via_storage(ctx, o).await,
        (None, None) => Err(Error::usage(
            "which source? give --from (a workspace, through its control plane) or --storage-account (storage only, e.g. when the region is down)",
        )),
    }
}

fn wanted(o: &OutputsOptions, job: &str) -> bool {
    o.jobs.is_empty() || o.jobs.iter().any(|j| crate::assets::name_matches(j, job))
}

async fn via_control_plane(ctx: &Context, ws: &WorkspaceRef, o: &OutputsOptions) -> Result<Source> {
    let jobs = ctx.arm.list(&format!("{}/jobs", workspace_path(ws))).await?;
    let ds = Datastores::load(ctx, ws).await?;
    let workspace = crate::azureml::workspaces::get(&ctx.arm, ws).await?;
    let artifact_store = ds.open("workspaceartifactstore").await.ok();
    let default_ds = ds.default_blob()?.name.clone();
    // The workspace id, as storage alone would find it: the default container's suffix.
    let workspace_id = match &workspace.workspace_id {
        Some(id) if !id.is_empty() => id.clone(),
        _ => ds.open(&default_ds).await?.container().strip_prefix("azureml-blobstore-").map(str::to_string).ok_or_else(|| {
            Error::Service(format!("workspace {} gives no workspace id (and its default container is not azureml-blobstore-<id>)", ws))
        })?,
    };
    let mut parts = Vec::new();
    let mut refused = Vec::new();
    for j in &jobs {
        let name = j["name"].as_str().unwrap_or_default().to_string();
        if !wanted(o, &name) {
            continue;
        }
        if let Some(exp) = &o.experiment {
            if j["properties"]["experimentName"].as_str() != Some(exp.as_str()) {
                continue;
            }
        }
        if let Some(since) = o.since {
            let created = j["systemData"]["createdAt"]
                .as_str()
                .and_then(|t| time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok());
            if created.is_some_and(|c| c < since) {
                continue;
            }
        }
        if let Some(outputs) = j["properties"]["outputs"].as_object() {
            for (out, spec) in outputs {
                let (store, base): (Arc<BlobStore>, String) = match spec["uri"].as_str().filter(|u| !u.is_empty()) {
                    Some(uri) => match ContentUri::parse(uri)? {
                        ContentUri::Datastore { datastore, path, .. } => (ds.open(&datastore).await?, path),
                        ContentUri::Blob { account, container, path } => (ds.open_container(&account, &container).await?, path),
                    },
                    None => (ds.open(&default_ds).await?, format!("azureml/{name}/{out}")),
                };
                let files = list_under(&store, &base, &name, &mut refused).await?;
                if !files.is_empty() {
                    parts.push(Part { job: name.clone(), output: Some(out.clone()), store, base, files });
                }
            }
        }
        if let Some(a) = &artifact_store {
            let base = format!("ExperimentRun/dcid.{name}");
            let files = list_under(a, &base, &name, &mut refused).await?;
            if !files.is_empty() {
                parts.push(Part { job: name.clone(), output: None, store: a.clone(), base, files });
            }
        }
    }
    if parts.is_empty() && !o.jobs.is_empty() {
        return Err(Error::NotFound(format!("no outputs found for job(s) {} in {}", o.jobs.join(", "), ws)));
    }
    Ok(Source {
        way: "the control plane".into(),
        describe: format!("{} (workspace {} has id {workspace_id}: its outputs go under {DEST_ROOT}/{workspace_id}/)", ws.arm_id(), workspace.name),
        label: workspace_id,
        parts,
        refused,
    })
}

/// The files of one part, and (into `refused`, for `job`) the blobs under it whose names are not
/// plain paths.
async fn list_under(store: &BlobStore, base: &str, job: &str, refused: &mut Vec<(String, String)>) -> Result<Vec<ObjectMeta>> {
    let base = base.trim_matches('/');
    let (files, bad) = store.list_checked(&format!("{base}/")).await?;
    refused.extend(bad.into_iter().map(|b| (job.to_string(), format!("{}/{b}", store.container()))));
    Ok(files.into_iter().filter(|m| m.path.strip_prefix(base).is_some()).collect())
}


async fn via_storage(ctx: &Context, o: &OutputsOptions) -> Result<Source> {
    let account = o.storage_account.clone().expect("checked by the caller");
    if o.experiment.is_some() || o.since.is_some() {
        return Err(Error::usage("--experiment and --since need the control plane (--from); storage alone does not record them: filter with --job"));
    }

    let url = ctx.cloud.blob_account_url(&account, o.secondary)?;
    let cred = crate::storage::source_credential(ctx.arm.tokens(), &account)?;
    let container = match &o.workspace_id {
        Some(id) => format!("azureml-blobstore-{id}"),
        None => {
            let found = blob::list_containers(ctx.http.clone(), &url, cred.clone(), ctx.retry.clone(), "azureml-blobstore-")
                .await
                .map_err(|e| Error::usage(format!(
                    "cannot list the containers of {account} to find the workspace's ({e}); give --workspace-id (the workspace's GUID: its default container is azureml-blobstore-<id>)"
                )))?;
            match found.as_slice() {
                [one] => one.clone(),
                [] => return Err(Error::NotFound(format!("storage account {account} has no azureml-blobstore-* container: is it a workspace's account?"))),
                many => {
                    return Err(Error::usage(format!(
                        "storage account {account} holds several workspaces' containers ({}); pick one with --workspace-id",
                        many.join(", ")
                    )))
                }
            }
        }
    };
    let workspace_id = container.trim_start_matches("azureml-blobstore-").to_string();
    let outputs = Arc::new(BlobStore::new(ctx.http.clone(), &url, &account, &container, cred.clone(), ctx.retry.clone())?);
    let artifacts = Arc::new(BlobStore::new(ctx.http.clone(), &url, &account, "azureml", cred, ctx.retry.clone())?);

    let mut groups: BTreeMap<(String, Option<String>), Vec<ObjectMeta>> = BTreeMap::new();
    let mut refused = Vec::new();
    let (listed, bad) = outputs.list_checked("azureml/").await?;
    refused.extend(bad.into_iter().filter(|b| b.split('/').nth(1).is_some_and(|job| wanted(o, job))).map(|b| (b.split('/').nth(1).unwrap_or_default().to_string(), format!("{container}/{b}"))));
    for m in listed {
        let segs: Vec<&str> = m.path.as_str().splitn(4, '/').collect();
        if segs.len() == 4 && wanted(o, segs[1]) {
            groups.entry((segs[1].to_string(), Some(segs[2].to_string()))).or_default().push(m.clone());
        }
    }
    match artifacts.list_checked("ExperimentRun/dcid.").await {
        Ok((list, bad)) => {
            for b in bad {
                let job = b.split('/').nth(1).and_then(|s| s.strip_prefix("dcid.")).unwrap_or_default().to_string();
                if wanted(o, &job) {
                    refused.push((job, format!("azureml/{b}")));
                }
            }
            for m in list {
                let segs: Vec<&str> = m.path.as_str().splitn(3, '/').collect();
                if let (3, Some(job)) = (segs.len(), segs.get(1).and_then(|s| s.strip_prefix("dcid."))) {
                    if wanted(o, job) {
                        groups.entry((job.to_string(), None)).or_default().push(m.clone());
                    }
                }
            }
        }
        Err(Error::NotFound(_)) => {}
        Err(e @ Error::Auth(_)) => {
            tracing::warn!("cannot read the artifact store (container azureml) with this credential: {e}");
        }
        Err(e) => return Err(e),
    }
    let parts = groups
        .into_iter()
        .map(|((job, output), files)| {
            let (store, base): (Arc<dyn Store>, String) = match &output {
                Some(out) => (outputs.clone(), format!("azureml/{job}/{out}")),
                None => (artifacts.clone(), format!("ExperimentRun/dcid.{job}")),
            };
            Part { job, output, store, base, files }
        })
        .collect();
    let way = if o.secondary { "storage only (RA-GRS secondary endpoint)" } else { "storage only" };
    Ok(Source { way: way.into(), label: workspace_id, describe: crate::redact::url(&url), parts, refused })
}

/// Registers a copied output folder as a uri_folder data asset `<job>-<output>`, version 1.
async fn register_output(arm: &ArmClient, ws: &WorkspaceRef, ds: &str, src: &Source, p: &Part, path: &str) -> Result<String> {
    let raw = format!("{}-{}", p.job, p.output.as_deref().unwrap_or("output"));
    let name: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    let uri = format!("{}/", ContentUri::datastore_uri(ws, ds, path));
    let base = format!("{}/data/{}", workspace_path(ws), crate::assets::enc(&name));
    if let Ok(existing) = arm.get(&format!("{base}/versions/1")).await {
        if existing["properties"]["dataUri"].as_str() == Some(uri.as_str()) {
            return Ok(format!("{name}:1 (already registered)"));
        }
        return Err(Error::Service(format!("data asset {name}:1 already exists in the target and points elsewhere")));
    }
    if let Err(Error::NotFound(_)) = arm.get(&base).await {
        arm.put(&base, &json!({"properties": {"description": "Job output copied by aml-failover"}})).await?;
    }
    arm.put(
        &format!("{base}/versions/1"),
        &json!({"properties": {
            "dataType": "uri_folder",
            "dataUri": uri,
            "description": format!("Output {} of job {} in {}, copied and verified by aml-failover", p.output.as_deref().unwrap_or(""), p.job, src.describe),
            "tags": {"source_job": p.job, "source_output": p.output.clone().unwrap_or_default(), "copied_by": "aml-failover"}
        }}),
    )
    .await?;
    Ok(format!("{name}:1"))
}
