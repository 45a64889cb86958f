//! The target guard every writing command goes through (`copy`, `failover`, `snapshot
//! restore`, `outputs copy`, `notebooks copy|recover`, `register`):
//!
//! - [`distinct_workspaces`] / [`distinct_stores`]: `--to` must not be `--from` — the same
//!   workspace, or the same storage account and container (or file share) reached another
//!   way. A usage error (exit 2, one line on stderr), before anything is written.
//! - [`TargetGuard`]: the lock of the target workspace — the local lock of the state
//!   directory ([`crate::journal::Lock`]) and the lease on the target's lock blob
//!   ([`crate::lease::TargetLock`]), taken before the first write. A run that holds either
//!   stops this one with the same message and exit code (6) as `copy`.

use crate::error::{Error, Result};
use crate::journal::Lock;
use crate::lease::{Me, TargetLock};
use crate::storage::datastore::Datastores;
use crate::storage::Store;
use crate::workspace::{Context, WorkspaceRef};

/// Refuses `--to` equal to `--from` (exit 2).
pub fn distinct_workspaces(from: &WorkspaceRef, to: &WorkspaceRef) -> Result<()> {
    if from.arm_id().eq_ignore_ascii_case(&to.arm_id()) {
        return Err(Error::usage(format!(
            "--from and --to name the same workspace ({}): give the failover workspace as --to",
            to.workspace_name
        )));
    }
    Ok(())
}

/// Refuses a destination that is the source's own storage container or file share, reached
/// another way (a storage account and a workspace, or the RA-GRS secondary endpoint): exit 2.
pub fn distinct_stores(source: &dyn Store, dest: &dyn Store) -> Result<()> {
    match (container_key(&source.describe()), container_key(&dest.describe())) {
        (Some(a), Some(b)) if a == b => Err(Error::usage(format!(
            "the destination is the source itself (storage account {}, {} {}): give the failover workspace as --to",
            b.account,
            if b.share { "file share" } else { "container" },
            b.container
        ))),
        _ => Ok(()),
    }
}

/// Where a store's objects live: one account's container or share (a share snapshot is
/// another place than the live share).
#[derive(Debug, PartialEq, Eq)]
struct Place {
    account: String,
    container: String,
    share: bool,
    snapshot: Option<String>,
}

/// The account and container of a storage URL (`https://<account>[-secondary].<blob|file>.<suffix>/<container>`
/// or the emulator's path style `http://127.0.0.1:<port>/<account>[-secondary]/<container>`),
/// as `describe()` prints it (`… (snapshot <time>)` for a share snapshot).
fn container_key(described: &str) -> Option<Place> {
    let (url, snapshot) = match described.split_once(" (snapshot ") {
        Some((u, s)) => (u, Some(s.trim_end_matches(')').to_string())),
        None => (described, None),
    };
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    let mut segs = u.path_segments()?.filter(|s| !s.is_empty());
    let path_style = host.parse::<std::net::IpAddr>().is_ok() || host == "localhost";
    let (account, share) = if path_style {
        (segs.next()?.to_ascii_lowercase(), false)
    } else {
        let mut labels = host.split('.');
        let account = labels.next()?.to_string();
        (account, labels.next() == Some("file"))
    };
    let account = account.strip_suffix("-secondary").unwrap_or(&account).to_string();
    let container = segs.next()?.to_ascii_lowercase();
    Some(Place { account, container, share, snapshot })
}

/// The lock of a target workspace, held while a command writes into it.
pub struct TargetGuard {
    _local: Lock,
    lease: TargetLock,
}

impl TargetGuard {
    /// Takes the local lock of the target's state directory, then checks and takes the lease on
    /// the target's lock blob (in its default blob datastore). `source` says what is read (an
    /// ARM id, a storage URL, a folder), for the holder's record. Fails (exit 6) naming the run
    /// that holds either.
    pub async fn take(ctx: &Context, to: &WorkspaceRef, target: &Datastores, source: &str) -> Result<TargetGuard> {
        let root = crate::journal::state_dir().ok_or_else(|| Error::usage("no state directory for the lock: give --state-dir or AML_FAILOVER_STATE_DIR"))?;
        let dir = crate::journal::target_dir(&root, ctx.cloud.resource_manager.as_str(), &to.arm_id());
        let mut stale = None;
        let local = Lock::acquire(&dir, source, &mut stale)?;
        if let Some(s) = stale {
            tracing::info!("{s}");
        }
        let lease_id = crate::journal::lease_id(&dir)?;
        let store = target.open(&target.default_blob()?.name).await?;
        let me = Me {
            plan_id: uuid::Uuid::new_v4().to_string(),
            started_at: time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            source: source.to_string(),
        };
        let mut lease = TargetLock::check(store, &lease_id, me).await?;
        lease.acquire().await?;
        Ok(TargetGuard { _local: local, lease })
    }

    /// Lets the lease go (the local lock goes with `self`).
    pub async fn release(mut self) {
        self.lease.release().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_of_storage_urls() {
        let p = |s: &str| container_key(s).unwrap();
        assert_eq!(p("https://acct.blob.core.windows.net/azureml-blobstore-1/"), p("https://acct-secondary.blob.core.windows.net/azureml-blobstore-1"));
        assert_eq!(p("http://127.0.0.1:1000/acct/c"), p("http://127.0.0.1:1000/acct-secondary/c"));
        assert_ne!(p("http://127.0.0.1:1000/acct/c"), p("http://127.0.0.1:1000/other/c"));
        assert_ne!(p("http://127.0.0.1:1000/acct/c"), p("http://127.0.0.1:1000/acct/d"));
        assert!(p("https://acct.file.core.windows.net/share").share);
        assert_ne!(p("https://acct.file.core.windows.net/share (snapshot 2026-01-01T00:00:00Z)"), p("https://acct.file.core.windows.net/share"));
        assert!(container_key("/tmp/out").is_none());
    }

    #[test]
    fn the_same_workspace_is_refused() {
        let w = |n: &str| WorkspaceRef { subscription_id: "s".into(), resource_group: "RG".into(), workspace_name: n.into() };
        let e = distinct_workspaces(&w("a"), &WorkspaceRef { resource_group: "rg".into(), ..w("A") }).unwrap_err();
        assert_eq!(e.exit(), crate::error::Exit::Usage);
        assert!(distinct_workspaces(&w("a"), &w("b")).is_ok());
    }
}
