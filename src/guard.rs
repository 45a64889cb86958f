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
//! - [`workspace_id`], [`storage_account`], [`writable_file`], [`writable_dir`]: bad input
//!   found when the options are read, before anything is written (exit 2).

use crate::error::{Error, Result};
use crate::journal::Lock;
use crate::lease::{Me, TargetLock};
use crate::storage::datastore::Datastores;
use crate::storage::Store;
use crate::workspace::{Context, WorkspaceRef};

/// A workspace id (`--workspace-id`): the workspace's GUID, as its containers and shares are
/// named (`azureml-blobstore-<id>`); lowercase.
pub fn workspace_id(v: &str) -> Result<String> {
    match uuid::Uuid::try_parse(v.trim()) {
        Ok(u) if v.trim().len() == 36 => Ok(u.hyphenated().to_string()),
        _ => Err(Error::usage(format!(
            "--workspace-id '{v}' is not a workspace id: give the workspace's GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, as in its container azureml-blobstore-<id>)"
        ))),
    }
}

/// A storage account name (`--storage-account`): 3-24 lowercase letters and digits.
pub fn storage_account(v: &str) -> Result<String> {
    if (3..=24).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        Ok(v.to_string())
    } else {
        Err(Error::usage(format!("--storage-account '{v}' is not a storage account name: 3-24 lowercase letters and digits")))
    }
}

/// Checks, before anything is written, that the file `flag` names can be written later: an
/// existing file must open for appending (it is not changed), a new one must be creatable in
/// an existing folder (the probe is removed at once).
pub fn writable_file(flag: &str, path: &std::path::Path) -> Result<()> {
    use std::fs::OpenOptions;
    let bad = |e: &dyn std::fmt::Display| Error::usage(format!("{flag} {}: cannot be written ({e}); choose another path", path.display()));
    if path.is_dir() {
        return Err(bad(&"it is a folder"));
    }
    if path.exists() {
        return OpenOptions::new().append(true).open(path).map(drop).map_err(|e| bad(&e));
    }
    OpenOptions::new().write(true).create_new(true).open(path).map_err(|e| bad(&e))?;
    std::fs::remove_file(path).map_err(|e| bad(&e))
}

/// Checks, before anything is written, that the folder `flag` names can be written later: it, or
/// the nearest folder above it that exists (it is made when first needed), takes a new file (the
/// probe is removed at once; nothing is created).
pub fn writable_dir(flag: &str, path: &std::path::Path) -> Result<()> {
    let bad = |e: &dyn std::fmt::Display| Error::usage(format!("{flag} {}: cannot be written ({e}); choose another folder", path.display()));
    let mut at = path.to_path_buf();
    loop {
        if at.as_os_str().is_empty() {
            at = std::path::PathBuf::from(".");
        }
        if at.exists() {
            break;
        }
        match at.parent() {
            Some(p) => at = p.to_path_buf(),
            None => return Err(bad(&"no folder of it exists")),
        }
    }
    if !at.is_dir() {
        return Err(bad(&format!("{} is not a folder", at.display())));
    }
    let probe = at.join(format!(".aml-failover-probe-{}", uuid::Uuid::new_v4()));
    std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).map_err(|e| bad(&e))?;
    std::fs::remove_file(&probe).map_err(|e| bad(&e))
}

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
///
/// Released however the command ends: by [`TargetGuard::release`] on the normal path, and on an
/// early return (an error after the lock was taken) by `Drop`, so that a failed command does not
/// leave the target locked until the lease expires. Only a killed process leaves the lease to
/// expire (and a rerun from the same state directory takes it over at once).
pub struct TargetGuard {
    _local: Lock,
    lease: TargetLock,
    released: bool,
}

impl TargetGuard {
    /// Takes the local lock of the target's state directory, then checks and takes the lease on
    /// the target's lock blob (in its default blob datastore). `source` says what is read (an
    /// ARM id, a storage URL, a folder), for the holder's record. Fails (exit 6) naming the run
    /// that holds either.
    /// `state_dir`: where the local lock lives (`Settings::state_dir`).
    pub async fn take(ctx: &Context, state_dir: Option<&std::path::Path>, to: &WorkspaceRef, target: &Datastores, source: &str) -> Result<TargetGuard> {
        let root = state_dir.map(std::path::Path::to_path_buf).ok_or_else(|| Error::usage("no state directory for the lock: give --state-dir or AML_FAILOVER_STATE_DIR"))?;
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
        Ok(TargetGuard { _local: local, lease, released: false })
    }

    /// Lets the lease go (the local lock goes with `self`).
    pub async fn release(mut self) {
        self.lease.release().await;
        self.released = true;
    }
}

impl Drop for TargetGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // Dropped without `release`: an early return with an error. Release the lease now, on
        // this worker thread, while the runtime still runs (the binary's runtime is
        // multi-threaded; elsewhere the lease is left to expire, as after a kill).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread {
                tokio::task::block_in_place(|| rt.block_on(self.lease.release()));
            }
        }
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
    fn names_ids_and_paths_are_checked() {
        assert_eq!(workspace_id("391FF5AC-6576-460F-BA4D-7E03433C68B6").unwrap(), "391ff5ac-6576-460f-ba4d-7e03433c68b6");
        for bad in ["not-a-guid", "391ff5ac6576460fba4d7e03433c68b6", "{391ff5ac-6576-460f-ba4d-7e03433c68b6}"] {
            assert_eq!(workspace_id(bad).unwrap_err().exit(), crate::error::Exit::Usage, "{bad}");
        }
        assert!(storage_account("amlprimary01").is_ok());
        for bad in ["Bad_Name/..", "ab", "a".repeat(25).as_str(), "UPPER"] {
            let e = storage_account(bad).unwrap_err().to_string();
            assert!(e.contains("3-24 lowercase letters and digits"), "{e}");
        }
        let d = std::env::temp_dir().join(format!("aml-failover-guard-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        assert!(writable_file("--manifest", &d.join("m.json")).is_ok());
        assert!(!d.join("m.json").exists(), "the probe stayed");
        std::fs::write(d.join("old.json"), "x").unwrap();
        assert!(writable_file("--manifest", &d.join("old.json")).is_ok());
        assert_eq!(std::fs::read_to_string(d.join("old.json")).unwrap(), "x");
        assert!(writable_file("--manifest", &d.join("missing/m.json")).is_err());
        assert!(writable_file("--manifest", &d).is_err());
        assert!(writable_dir("--data-output-dir", &d.join("a/b")).is_ok());
        assert!(!d.join("a").exists(), "the check made a folder");
        assert!(writable_dir("--data-output-dir", &d.join("old.json/x")).is_err());
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "junk left");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_same_workspace_is_refused() {
        let w = |n: &str| WorkspaceRef { subscription_id: "s".into(), resource_group: "RG".into(), workspace_name: n.into() };
        let e = distinct_workspaces(&w("a"), &WorkspaceRef { resource_group: "rg".into(), ..w("A") }).unwrap_err();
        assert_eq!(e.exit(), crate::error::Exit::Usage);
        assert!(distinct_workspaces(&w("a"), &w("b")).is_ok());
    }
}
