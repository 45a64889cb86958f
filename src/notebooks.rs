//! Notebooks as a library (`aml-failover notebooks list|recover|copy` render what these return;
//! nothing prints here): the notebooks tree (`Users/<name>/…`) a workspace keeps in an Azure
//! Files share of its storage account.
//!
//! Where notebooks live: current workspaces use the working-directory share with the fixed name
//! [`WORKING_DIRECTORY_SHARE`] (datastore `workspaceworkingdirectory`); older ones
//! `azureml-filestore-<workspaceId>`. After a workspace is deleted its storage account
//! usually survives: `recover` needs only the account (and a SAS, key or token), never the
//! Azure ML API. Share snapshots may hold files deleted later: `list` shows them and
//! `--snapshot` restores from one.

use crate::error::{Error, Result};
use crate::plan::Action;
use crate::report::{FileRecord, ItemKind, ItemRecord, Report, Status};
use crate::settings::Settings;
use crate::storage::datastore::Datastores;
use crate::storage::fileshare::{list_shares, FileShareStore, ShareInfo};
use crate::storage::local::LocalStore;
use crate::storage::Store;
use crate::transfer::{EngineOptions, FileJob};
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Where `notebooks recover|copy` writes.
#[derive(Debug, Clone)]
pub enum Destination {
    Workspace,
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct NotebooksOptions {
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub share: Option<String>,
    pub snapshot: Option<String>,
    pub secondary: bool,
    pub destination: Option<Destination>,
    pub dry_run: bool,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}

/// The working-directory share's name, the same in every current workspace.
pub const WORKING_DIRECTORY_SHARE: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";
const FILESTORE_PREFIX: &str = "azureml-filestore-";

/// A candidate share with what it holds.
struct Candidate {
    info: ShareInfo,
    files: usize,
    bytes: u64,
}

fn is_notebook_share(name: &str) -> bool {
    name == WORKING_DIRECTORY_SHARE || name.starts_with(FILESTORE_PREFIX)
}

async fn open_account(ctx: &Context, o: &NotebooksOptions) -> Result<(String, url::Url, crate::storage::StorageCredential)> {
    let account = o
        .storage_account
        .clone()
        .ok_or_else(|| Error::usage("give --storage-account: the storage account of the (deleted) workspace"))?;
    let url = ctx.cloud.file_account_url(&account, o.secondary)?;
    let cred = crate::storage::source_credential(ctx.arm.tokens(), &account)?;
    Ok((account, url, cred))
}

async fn candidates(ctx: &Context, o: &NotebooksOptions) -> Result<(String, Vec<Candidate>)> {
    let (account, url, cred) = open_account(ctx, o).await?;
    let shares = list_shares(ctx.http.clone(), &url, cred.clone(), ctx.retry.clone(), "").await?;
    let mut out = Vec::new();
    for s in shares.into_iter().filter(|s| is_notebook_share(&s.name)) {
        let store = FileShareStore::new(ctx.http.clone(), &url, &s.name, s.snapshot.clone(), cred.clone(), ctx.retry.clone())?;
        let (files, _) = store.list_checked("").await?;
        out.push(Candidate { files: files.len(), bytes: files.iter().map(|f| f.size).sum(), info: s });
    }
    Ok((account, out))
}

/// `schemaVersion` of the `notebooks list` document.
pub const SCHEMA_VERSION: u32 = 1;

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// What `notebooks list` shows (and `recover` without a choice): the document `-o json` prints.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct Shares {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "notebooks list"))]
    pub command: &'static str,
    pub storage_account: String,
    pub shares: Vec<ListedShare>,
}

/// A notebooks share (or one of its snapshots) with what it holds.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct ListedShare {
    pub share: String,
    /// share snapshot time; null for the live share
    pub snapshot: Option<String>,
    pub files: usize,
    pub bytes: u64,
    pub last_modified: Option<String>,
    /// from an azureml-filestore-<id> share (the older layout): the workspace's id; null for
    /// the working-directory share
    pub workspace_id: Option<String>,
}

fn shares(account: String, cands: &[Candidate]) -> Shares {
    let shares = cands
        .iter()
        .map(|c| ListedShare {
            share: c.info.name.clone(),
            snapshot: c.info.snapshot.clone(),
            files: c.files,
            bytes: c.bytes,
            last_modified: c.info.last_modified.clone(),
            workspace_id: c.info.name.strip_prefix(FILESTORE_PREFIX).map(str::to_string),
        })
        .collect();
    Shares { schema_version: SCHEMA_VERSION, command: "notebooks list", storage_account: account, shares }
}

/// The notebooks shares of the storage account, with their snapshots.
pub async fn list(s: &Settings, o: &NotebooksOptions) -> Result<Shares> {
    let ctx = Context::connect(&s.connect)?;
    let (account, cands) = candidates(&ctx, o).await?;
    Ok(shares(account, &cands))
}

/// What `recover` did: nothing yet (no share chosen: the candidates), or the copy's report.
#[derive(Debug)]
pub enum Recovered {
    Choose(Shares),
    Done(Box<Report>),
}

/// Chooses the share to restore from.
fn choose(o: &NotebooksOptions, cands: &[Candidate]) -> Result<String> {
    let live: Vec<&Candidate> = cands.iter().filter(|c| c.info.snapshot.is_none()).collect();
    if let Some(name) = &o.share {
        return if cands.iter().any(|c| &c.info.name == name) {
            Ok(name.clone())
        } else {
            Err(Error::NotFound(format!("share '{name}' is not in the account (or is not a notebooks share)")))
        };
    }
    let Some(id) = &o.workspace_id else {
        return Err(Error::usage("which workspace? give --workspace-id or --share (the candidates are listed above)"));
    };
    let filestore = format!("{FILESTORE_PREFIX}{id}");
    let has_filestore = live.iter().any(|c| c.info.name == filestore && c.files > 0);
    let workspaces = live.iter().filter(|c| c.info.name.starts_with(FILESTORE_PREFIX)).count();
    let has_working = live.iter().any(|c| c.info.name == WORKING_DIRECTORY_SHARE && c.files > 0);
    match (has_filestore, has_working) {
        (true, false) => Ok(filestore),
        // The working-directory share has the same name in every workspace: it belongs to
        // this one only when the account holds no other workspace's share.
        (false, true) | (true, true) if workspaces <= 1 => {
            if has_filestore {
                Err(Error::usage(format!(
                    "workspace {id} has notebooks in two shares ({filestore} and {WORKING_DIRECTORY_SHARE}); restore each with --share"
                )))
            } else {
                Ok(WORKING_DIRECTORY_SHARE.to_string())
            }
        }
        (true, true) => Ok(filestore),
        (false, true) => Err(Error::usage(format!(
            "the account holds several workspaces; {WORKING_DIRECTORY_SHARE} cannot be attributed to {id} by name: give --share {WORKING_DIRECTORY_SHARE} if it is the one"
        ))),
        (false, false) => Err(Error::NotFound(format!("no notebooks share of workspace {id} in this account"))),
    }
}

/// Restores the chosen share (`--workspace-id` or `--share`; without either: the candidates)
/// into the destination, verified.
pub async fn recover(s: &Settings, o: &NotebooksOptions) -> Result<Recovered> {
    let started = Instant::now();
    let ctx = Context::connect(&s.connect)?;
    let (account, cands) = candidates(&ctx, o).await?;
    if o.workspace_id.is_none() && o.share.is_none() {
        return Ok(Recovered::Choose(shares(account, &cands)));
    }
    let share = choose(o, &cands)?;
    if let Some(snap) = &o.snapshot {
        if !cands.iter().any(|c| c.info.name == share && c.info.snapshot.as_deref() == Some(snap)) {
            return Err(Error::NotFound(format!("share {share} has no snapshot {snap} (see notebooks list)")));
        }
    }
    let (_, url, cred) = open_account(&ctx, o).await?;
    let src = FileShareStore::new(ctx.http.clone(), &url, &share, o.snapshot.clone(), cred, ctx.retry.clone())?;
    let (dest, target) = destination(&ctx, s, o, "notebooks recover").await?;
    let report = transfer(&ctx, s, o, "notebooks recover", src, dest, target, started).await?;
    Ok(Recovered::Done(Box::new(report)))
}

/// `notebooks copy` itself: the finished report (manifest written), nothing printed.
pub async fn copy(s: &Settings, o: &NotebooksOptions) -> Result<Report> {
    let started = Instant::now();
    let ctx = Context::connect(&s.connect)?;
    let from = s.from.clone().ok_or_else(|| Error::usage("notebooks copy needs --from (the live workspace)"))?;
    if let (Some(Destination::Workspace), Some(to)) = (&o.destination, &s.to) {
        crate::guard::distinct_workspaces(&from, to)?;
    }
    let src = Datastores::load(&ctx, &from).await?.open_share("workspaceworkingdirectory").await?;
    let (dest, target) = destination(&ctx, s, o, "notebooks copy").await?;
    transfer(&ctx, s, o, "notebooks copy", src, dest, target, started).await
}

/// The destination: a local folder, or the notebooks share of the `--to` workspace (with its
/// datastores, for the target's lock).
async fn destination(ctx: &Context, s: &Settings, o: &NotebooksOptions, command: &str) -> Result<(Arc<dyn Store>, Option<(WorkspaceRef, Datastores)>)> {
    match o.destination.clone().ok_or_else(|| Error::usage(format!("{command} needs --to (a workspace) or --to-dir (a local folder)")))? {
        Destination::Dir(d) => Ok((Arc::new(LocalStore::new(d)), None)),
        Destination::Workspace => {
            let to = s.to.clone().ok_or_else(|| Error::usage("--to needs a workspace reference"))?;
            let ds = Datastores::load(ctx, &to).await?;
            let share = ds.open_share("workspaceworkingdirectory").await?;
            Ok((Arc::new(share), Some((to, ds))))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn transfer(
    ctx: &Context,
    s: &Settings,
    o: &NotebooksOptions,
    command: &'static str,
    share: FileShareStore,
    dest: Arc<dyn Store>,
    target: Option<(WorkspaceRef, Datastores)>,
    started: Instant,
) -> Result<Report> {
    crate::guard::distinct_stores(&share, &*dest)?;
    let guard = match (&target, o.dry_run) {
        (Some((to, ds)), false) => Some(crate::guard::TargetGuard::take(ctx, s.state_dir.as_deref(), to, ds, &share.describe()).await?),
        _ => None,
    };
    let started_at = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    // Names that would escape the destination are refused and reported, never followed.
    let (files, refused) = share.list_checked("").await?;
    let src: Arc<dyn Store> = Arc::new(share);
    let mut report = Report::new(command, o.dry_run, src.describe(), dest.describe(), started_at);
    let jobs: Vec<FileJob> = files
        .iter()
        .map(|f| FileJob::from_source(&src, f, &dest, f.path.clone()))
        .collect();
    let results = if o.dry_run {
        Vec::new()
    } else {
        crate::execute::transfer(&o.engine, s.printer.show_progress(), None, &jobs).await
    };
    let mut recs = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let (status, reason, rec) = match results.get(i) {
            None => (Status::Planned, "would copy".to_string(), FileRecord::planned(job.src_path.to_string(), job.size, None, job.src.uri(&job.src_path))),
            Some(r) => {
                let rec = FileRecord::from_result(job.src_path.to_string(), job, r);
                match r {
                    Ok(d) if d.method == crate::transfer::Method::AlreadyPresent => (Status::Skipped, "already there, verified".to_string(), rec),
                    Ok(_) => (Status::Copied, "restored and verified".to_string(), rec),
                    Err(e) => (Status::Failed, e.to_string(), rec),
                }
            }
        };
        recs.push(item(job.src_path.as_str(), status, reason, vec![rec]));
    }
    for r in refused {
        recs.push(item(&r, Status::Failed, "refused: the name would escape the destination; not copied".into(), Vec::new()));
    }
    report.items = recs;
    if let Some(g) = guard {
        g.release().await;
    }
    report.duration_ms = started.elapsed().as_millis() as u64;
    report.summarize();
    if !o.dry_run {
        report.write_manifest(o.manifest.clone(), "aml-failover-notebooks")?;
    }
    Ok(report)
}

fn item(path: &str, status: Status, reason: String, files: Vec<FileRecord>) -> ItemRecord {
    ItemRecord { files, ..ItemRecord::files_item(ItemKind::Notebook, path, Action::Copy, status, reason) }
}
