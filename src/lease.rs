//! The target-side lock of `copy`: a lease (Lease Blob, shared/specs/storage/blob) on the blob
//! `.aml-failover/lock` in the target workspace's default blob datastore container. The local
//! `lock` file (see [`crate::journal`]) only keeps out runs that share a state directory; the
//! lease keeps out a run from any machine (a cron runner and an operator's laptop).
//!
//! - [`TargetLock::check`], right after the local lock and journal (once the target's
//!   datastores are known), only reads (Get Blob Properties): a lease held by another run fails
//!   the run at once (exit 6) naming the holder from the blob's metadata. A lease held with this
//!   state directory's own lease id (a run of it killed with -9) is taken over at once (Acquire
//!   with `x-ms-proposed-lease-id` equal to the active lease's id succeeds) and let go, to be
//!   taken again by `acquire`.
//! - [`TargetLock::acquire`], before the first write into the target (a run with nothing to
//!   write writes nothing, not even the lock), creates the blob if missing (`If-None-Match: *`),
//!   acquires the lease (`If-Match` the ETag `check` saw: a run that held the lock meanwhile
//!   rewrote the metadata, so this run's plan may be stale and it stops), writes the holder
//!   (host, pid, plan id, start time, source ARM id, lease seconds; no secret) into the blob's
//!   metadata, and renews every third of the duration in the background.
//! - [`TargetLock::release`] when the copy ends, however it ends. A killed run's lease expires
//!   after its duration (60 s; `AML_FAILOVER_LEASE_SECONDS`, 15 to 60).

use crate::error::{Error, Result};
use crate::storage::blob::BlobStore;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use std::sync::Arc;
use std::time::Duration;

/// The lock blob, in the target's default blob datastore container.
pub const LOCK_BLOB: &str = ".aml-failover/lock";
/// Lease duration in seconds unless `AML_FAILOVER_LEASE_SECONDS` says otherwise.
pub const DEFAULT_SECONDS: u32 = 60;

/// The lease duration: `AML_FAILOVER_LEASE_SECONDS` (15 to 60, the service's bounds), else 60.
pub fn seconds() -> Result<u32> {
    match std::env::var("AML_FAILOVER_LEASE_SECONDS") {
        Ok(v) if !v.trim().is_empty() => match v.trim().parse::<u32>() {
            Ok(n) if (15..=60).contains(&n) => Ok(n),
            _ => Err(Error::usage(format!("AML_FAILOVER_LEASE_SECONDS is '{v}': give a number of seconds from 15 to 60"))),
        },
        _ => Ok(DEFAULT_SECONDS),
    }
}

/// Who this run is, written into the lock blob's metadata while it holds the lease.
#[derive(Debug, Clone)]
pub struct Me {
    pub plan_id: String,
    pub started_at: String,
    pub source: String,
}

/// The lock blob as Get Blob Properties shows it.
struct Seen {
    leased: bool,
    etag: Option<String>,
    meta: HeaderMap,
}

/// The lease on the target's lock blob (held or not yet).
pub struct TargetLock {
    store: Arc<BlobStore>,
    id: String,
    seconds: u32,
    me: Me,
    /// The lock blob's ETag when `check` looked (`None`: there was no blob).
    seen_etag: Option<String>,
    held: bool,
    renewer: Option<tokio::task::JoinHandle<()>>,
}

fn code_is(e: &Error, status: &str, codes: &[&str]) -> bool {
    match e {
        Error::Service(m) | Error::Conflict(m) => m.contains(&format!(": {status} ")) || codes.iter().any(|c| !c.is_empty() && m.contains(c)),
        _ => false,
    }
}

fn hv(v: &str) -> HeaderValue {
    // Everything put here is ASCII made below (ids, numbers, RFC 3339 times, ARM ids).
    HeaderValue::from_str(v).unwrap_or_else(|_| HeaderValue::from_static("?"))
}

/// A metadata value: printable ASCII only (a header value), at most 256 characters.
fn meta_value(v: &str) -> HeaderValue {
    let clean: String = v.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).take(256).collect();
    hv(clean.trim())
}

impl TargetLock {
    /// Looks at the lock blob in `store` (the target's default blob datastore): fails naming
    /// the holder when another run holds its lease; takes the lease over at once when it is
    /// held under `lease_id` (this state directory's, left by a run killed with -9).
    pub async fn check(store: Arc<BlobStore>, lease_id: &str, me: Me) -> Result<TargetLock> {
        let mut l = TargetLock { store, id: lease_id.to_string(), seconds: seconds()?, me, seen_etag: None, held: false, renewer: None };
        let Some(seen) = l.head().await? else { return Ok(l) };
        l.seen_etag = seen.etag.clone();
        if seen.leased {
            // Ours (same id) or another run's: only the service knows; Acquire tells.
            match l.lease(&[("x-ms-lease-action", "acquire")], true, None).await {
                Ok(()) => {
                    // Ours: left by a run of this state directory killed with -9. Let it go
                    // now; `acquire` takes it again before the first write (if any).
                    tracing::info!("took over this state directory's own lease on the target's lock (a run of it was killed)");
                    l.release().await;
                    l.seen_etag = l.head().await?.and_then(|s| s.etag);
                }
                Err(e) if code_is(&e, "409", &["LeaseAlreadyPresent", "LeaseIdMismatch"]) => return Err(l.held_error(&seen)),
                Err(e) => return Err(e),
            }
        }
        Ok(l)
    }

    /// Takes the lease before the first write into the target (nothing when already held).
    pub async fn acquire(&mut self) -> Result<()> {
        if self.held {
            return Ok(());
        }
        let mut etag = self.seen_etag.clone();
        if etag.is_none() {
            let mut h = HeaderMap::new();
            h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
            h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
            h.insert(reqwest::header::IF_NONE_MATCH, HeaderValue::from_static("*"));
            match self.store.request(Method::PUT, LOCK_BLOB, &[], h, Some(Bytes::new())).await {
                Ok(r) => etag = r.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string),
                Err(e) if code_is(&e, "409", &[]) || code_is(&e, "412", &[]) => {
                    // There now: made by another run since `check` (if it has written a
                    // holder), or by a retry of this very request (if it has not).
                    let seen = self.head().await?.ok_or_else(|| Error::Service(format!("the lock blob {LOCK_BLOB} of the target was created and deleted while this run planned; rerun")))?;
                    if seen.leased {
                        return Err(self.held_error(&seen));
                    }
                    if seen.meta.contains_key("x-ms-meta-pid") {
                        return Err(self.changed_error(&seen));
                    }
                    etag = seen.etag;
                }
                Err(e) => return Err(e),
            }
        }
        match self.lease(&[("x-ms-lease-action", "acquire")], true, etag.as_deref()).await {
            Ok(()) => {}
            Err(e) if code_is(&e, "409", &["LeaseAlreadyPresent"]) => {
                let seen = self.head().await?;
                return Err(match seen {
                    Some(s) => self.held_error(&s),
                    None => Error::Service("another aml-failover run is writing to this target".into()),
                });
            }
            Err(e) if code_is(&e, "412", &["ConditionNotMet"]) => {
                let seen = self.head().await?;
                return Err(match seen {
                    Some(s) if s.leased => self.held_error(&s),
                    Some(s) => self.changed_error(&s),
                    None => Error::Service("the target's lock blob changed while this run planned; rerun".into()),
                });
            }
            Err(e) => return Err(e),
        }
        if let Err(e) = self.write_holder().await {
            self.release().await;
            return Err(e);
        }
        self.start_renewing();
        Ok(())
    }

    /// Releases the lease (if held) and stops renewing; a failure is logged (the lease then
    /// expires after its duration).
    pub async fn release(&mut self) {
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
        if !self.held {
            return;
        }
        self.held = false;
        if let Err(e) = self.lease(&[("x-ms-lease-action", "release")], false, None).await {
            tracing::warn!("could not release the lease on the target's lock blob ({e}); it expires within {} s", self.seconds);
        }
    }

    pub fn held(&self) -> bool {
        self.held
    }

    async fn head(&self) -> Result<Option<Seen>> {
        match self.store.request(Method::HEAD, LOCK_BLOB, &[], HeaderMap::new(), None).await {
            Ok(r) => {
                let h = r.headers();
                let leased = h.get("x-ms-lease-state").and_then(|v| v.to_str().ok()).is_some_and(|s| s.eq_ignore_ascii_case("leased"));
                let etag = h.get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
                let meta = h.iter().filter(|(k, _)| k.as_str().starts_with("x-ms-meta-")).map(|(k, v)| (k.clone(), v.clone())).collect();
                Ok(Some(Seen { leased, etag, meta }))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One Lease Blob request: acquire (with this run's id as the proposed id, so a retried
    /// acquire is harmless and this state directory's own active lease is taken over), renew
    /// or release (with the lease id).
    async fn lease(&mut self, action: &[(&str, &str)], acquire: bool, if_match: Option<&str>) -> Result<()> {
        let mut h = HeaderMap::new();
        for (k, v) in action {
            h.insert(HeaderName::from_bytes(k.as_bytes()).expect("header name"), hv(v));
        }
        if acquire {
            h.insert("x-ms-lease-duration", HeaderValue::from(self.seconds));
            h.insert("x-ms-proposed-lease-id", hv(&self.id));
        } else {
            h.insert("x-ms-lease-id", hv(&self.id));
        }
        if let Some(e) = if_match {
            h.insert(reqwest::header::IF_MATCH, hv(e));
        }
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        self.store.request(Method::PUT, LOCK_BLOB, &[("comp", "lease")], h, Some(Bytes::new())).await?;
        if acquire {
            self.held = true;
        }
        Ok(())
    }

    /// Who holds the lease, in the blob's metadata (Set Blob Metadata under the lease).
    async fn write_holder(&self) -> Result<()> {
        let mut h = HeaderMap::new();
        let meta = |n: &str| HeaderName::from_bytes(format!("x-ms-meta-{n}").as_bytes()).expect("header name");
        h.insert(meta("host"), meta_value(&crate::journal::hostname()));
        h.insert(meta("pid"), HeaderValue::from(std::process::id()));
        h.insert(meta("planid"), meta_value(&self.me.plan_id));
        h.insert(meta("startedat"), meta_value(&self.me.started_at));
        h.insert(meta("source"), meta_value(&self.me.source));
        h.insert(meta("leaseseconds"), HeaderValue::from(self.seconds));
        h.insert("x-ms-lease-id", hv(&self.id));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        self.store.request(Method::PUT, LOCK_BLOB, &[("comp", "metadata")], h, Some(Bytes::new())).await?;
        Ok(())
    }

    fn start_renewing(&mut self) {
        let (store, id, seconds) = (Arc::clone(&self.store), self.id.clone(), self.seconds);
        self.renewer = Some(tokio::spawn(async move {
            let every = Duration::from_millis(u64::from(seconds) * 1000 / 3);
            loop {
                tokio::time::sleep(every).await;
                let mut h = HeaderMap::new();
                h.insert("x-ms-lease-action", HeaderValue::from_static("renew"));
                h.insert("x-ms-lease-id", hv(&id));
                h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
                if let Err(e) = store.request(Method::PUT, LOCK_BLOB, &[("comp", "lease")], h, Some(Bytes::new())).await {
                    tracing::warn!("could not renew the lease on the target's lock blob {LOCK_BLOB} ({e}); another run may take the target once it expires");
                }
            }
        }));
    }

    fn where_(&self) -> String {
        format!("lease on {LOCK_BLOB} in container {} of storage account {}", self.store.container(), self.store.account())
    }

    fn held_error(&self, seen: &Seen) -> Error {
        let m = |k: &str| seen.meta.get(format!("x-ms-meta-{k}").as_str()).and_then(|v| v.to_str().ok()).map(str::to_string);
        let secs = m("leaseseconds").and_then(|s| s.parse::<u32>().ok()).unwrap_or(DEFAULT_SECONDS);
        Error::Service(format!(
            "another aml-failover run is writing to this target: process {} on {}, started {} ({}). \
             Wait for it to finish, or — if that run died — rerun after {secs} s when its lease expires.",
            m("pid").unwrap_or_else(|| "?".into()),
            m("host").unwrap_or_else(|| "an unknown host".into()),
            m("startedat").unwrap_or_else(|| "at an unknown time".into()),
            self.where_()
        ))
    }

    fn changed_error(&self, seen: &Seen) -> Error {
        let m = |k: &str| seen.meta.get(format!("x-ms-meta-{k}").as_str()).and_then(|v| v.to_str().ok()).unwrap_or("?").to_string();
        Error::Service(format!(
            "another aml-failover run (process {} on {}, started {}) wrote to this target while this run was planning ({}); \
             nothing was written by this run: rerun to plan again.",
            m("pid"),
            m("host"),
            m("startedat"),
            self.where_()
        ))
    }
}

impl Drop for TargetLock {
    fn drop(&mut self) {
        // Not released (a panic, or an early return): stop renewing; the lease expires.
        if let Some(r) = self.renewer.take() {
            r.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::RetryPolicy;
    use crate::storage::StorageCredential;
    use aml_emulator::azurite::{Azurite, AzuriteOptions, DEV_KEY};
    use azure_sharedkey::SharedKey;
    use url::Url;

    #[tokio::test(flavor = "multi_thread")]
    async fn lease_excludes_another_id_and_lets_the_same_id_take_over() {
        let az = tokio::task::spawn_blocking(|| Azurite::start(AzuriteOptions { accounts: vec![("amltestsa".into(), DEV_KEY.into())], location: None }))
            .await
            .unwrap()
            .expect("Azurite (run scripts/setup.sh)");
        let key = SharedKey::new("amltestsa", DEV_KEY).unwrap();
        let retry = RetryPolicy { max_retries: 1, base: Duration::from_millis(10), ..Default::default() };
        let s = Arc::new(
            BlobStore::new(reqwest::Client::new(), &Url::parse(&az.account_url("amltestsa")).unwrap(), "amltestsa", "leases", StorageCredential::AccountKey(key), retry).unwrap(),
        );
        s.create_if_missing().await.unwrap();
        let me = Me { plan_id: "p1".into(), started_at: "2026-01-01T00:00:00Z".into(), source: "/subscriptions/s/x".into() };
        let (a, b) = (uuid::Uuid::new_v4().to_string(), uuid::Uuid::new_v4().to_string());

        // First run: nothing there; acquires (creating the blob) and names itself.
        let mut one = TargetLock::check(Arc::clone(&s), &a, me.clone()).await.unwrap();
        assert!(!one.held());
        one.acquire().await.unwrap();
        assert!(one.held());
        // Another id is refused, naming the holder.
        let e = TargetLock::check(Arc::clone(&s), &b, me.clone()).await.err().expect("a second id was let in").to_string();
        assert!(e.contains(&format!("process {}", std::process::id())) && e.contains("rerun after 60 s"), "{e}");
        // The same id (a killed run of this state directory) takes the active lease over.
        drop(one); // as killed: no release
        let mut again = TargetLock::check(Arc::clone(&s), &a, me.clone()).await.unwrap();
        again.acquire().await.unwrap();
        assert!(again.held());
        again.release().await;
        // Released: another id proceeds; a run that held and released meanwhile is noticed.
        let mut two = TargetLock::check(Arc::clone(&s), &b, me.clone()).await.unwrap();
        let mut three = TargetLock::check(Arc::clone(&s), &a, me.clone()).await.unwrap();
        two.acquire().await.unwrap();
        two.release().await;
        let e = three.acquire().await.unwrap_err().to_string();
        assert!(e.contains("while this run was planning"), "{e}");
        let mut four = TargetLock::check(Arc::clone(&s), &a, me).await.unwrap();
        four.acquire().await.unwrap();
        four.release().await;
    }
}
