//! The run journal and the target lock of `copy` (resume after kill -9 or a network loss).
//!
//! Files and registrations are already idempotent through the target itself: every verified
//! blob records its sha256 and source tag, and registration skips versions already identical
//! in the target. The journal adds what the target cannot tell: which run (plan id) was
//! interrupted and when, what it had finished, and which registrations it had *started* — so
//! that a version registered under a new number (`--on-conflict new-version`) just before a
//! crash is found and not registered a second time.
//!
//! Format: append-only JSON Lines, one record per state change, `fsync`ed per record.
//!
//! ```text
//! {"journal":"aml-failover","version":1,"planId":"…","source":"/subscriptions/…","target":"/subscriptions/…","startedAt":"…","pid":123,"host":"…"}
//! {"file":"https://acct.blob…/LocalUpload/…/model.pkl","source":"https://…/model.pkl","sha256":"…","sourceEtag":"0x8D…","state":"verified"}
//! {"item":"model/name/1","targetVersion":"1","state":"register-started"}
//! {"item":"model/name/1","targetVersion":"1","state":"registered"}
//! {"resumedAt":"…","pid":456,"host":"…"}
//! {"state":"complete","finishedAt":"…"}
//! ```
//!
//! URIs go through [`crate::redact`]; no credential is ever written. A journal is only a
//! hint: a resumed run re-checks every file against the target's metadata (sha256 + source
//! tag) and every registration against the target before acting.
//!
//! Where: `<state dir>/<target>-<hash>/journal.jsonl`, with `<state dir>` = `--state-dir`,
//! else `$AML_FAILOVER_STATE_DIR`, `$XDG_STATE_HOME/aml-failover` (an absolute one),
//! `~/.local/state/aml-failover` on Linux and macOS, `%LOCALAPPDATA%\aml-failover\state` on
//! Windows (found by `etcetera`). The same folder holds `lock` and
//! `lease-id`: the id of the lease this state directory takes on the target's lock blob (see
//! [`crate::lease`]), a uuid made once and kept, so a run resuming after kill -9 takes over its
//! own still-active lease at once instead of waiting for it to expire. (It is a file of its
//! own, not a journal record, so that a run killed after its journal was closed, but before it
//! released the lease, is covered too.)

use crate::error::{Error, Result};
use crate::transfer::{FileDone, FileJob, Method, TransferReporter};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The journal format version (the header's `version`).
pub const FORMAT_VERSION: u64 = 1;

/// One line of the journal (schema: `docs/schemas/journal-record.v1.schema.json`, generated
/// from these types by [`crate::wire`]).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Record {
    Header(Header),
    Resumed(Resumed),
    File(FileVerified),
    Registration(Registration),
    Complete(Complete),
}

/// header: the first line
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Header {
    #[schemars(extend("const" = "aml-failover"))]
    pub journal: &'static str,
    // FORMAT_VERSION
    #[schemars(extend("const" = FORMAT_VERSION))]
    pub version: u64,
    #[schemars(extend("format" = "uuid"))]
    pub plan_id: String,
    /// ARM id
    pub source: String,
    /// ARM id
    pub target: String,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    pub pid: u32,
    pub host: String,
}

/// a later run resumed this journal
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Resumed {
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub resumed_at: String,
    pub pid: u32,
    pub host: String,
}

/// a file verified in the target
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct FileVerified {
    /// redacted target URI
    pub file: String,
    /// redacted source URI
    pub source: String,
    /// sha256 of the bytes, lowercase hex
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
    /// the source version read (empty when unknown)
    pub source_etag: String,
    #[schemars(extend("const" = "verified"))]
    pub state: &'static str,
}

/// a registration started or finished
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Registration {
    /// <kind>/<name>/<version>
    pub item: String,
    pub target_version: String,
    /// register-started: sha256 digest of what is registered (normalised specification and every file's sha256); a resumed run reuses targetVersion only when that version holds this content
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub content: Option<String>,
    #[schemars(extend("enum" = ["register-started", "registered"]))]
    pub state: &'static str,
}

/// the run finished with no failed item
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct Complete {
    #[schemars(extend("const" = "complete"))]
    pub state: &'static str,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub finished_at: String,
}

/// The content of a target's `lock` file: who holds it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
struct LockHolder {
    pid: u32,
    host: String,
    started_at: String,
    source: String,
}
const JOURNAL: &str = "journal.jsonl";
const LOCK: &str = "lock";
const LEASE_ID: &str = "lease-id";

/// The default state directory of this platform (`--state-dir`, where a command has it, comes
/// first: `Settings::state_dir` holds the one in effect and is passed down).
pub fn default_state_dir() -> Option<PathBuf> {
    let nonempty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = nonempty("AML_FAILOVER_STATE_DIR") {
        return Some(d);
    }
    // etcetera's CLI convention: XDG on Linux and macOS (`$XDG_STATE_HOME` when absolute, else
    // `~/.local/state`); Windows has no state folder in it, so the local (not roaming) AppData.
    use etcetera::BaseStrategy;
    let base = etcetera::choose_base_strategy().ok()?;
    Some(match base.state_dir() {
        Some(d) => d.join("aml-failover"),
        None => base.cache_dir().join("aml-failover").join("state"),
    })
}

/// The folder of one target: named after the workspace, plus a hash of the endpoint and
/// ARM id (two clouds or test beds never share one).
pub fn target_dir(state_dir: &Path, endpoint: &str, target_arm_id: &str) -> PathBuf {
    use sha2::Digest;
    let name: String = target_arm_id
        .rsplit('/')
        .next()
        .unwrap_or("workspace")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect();
    let h = hex::encode(sha2::Sha256::digest(format!("{}\n{}", endpoint.trim_end_matches('/'), target_arm_id.to_ascii_lowercase())));
    state_dir.join(format!("{name}-{}", &h[..12]))
}

fn now() -> String {
    crate::report::now_rfc3339()
}

pub(crate) fn hostname() -> String {
    let h = gethostname::gethostname().to_string_lossy().into_owned();
    if h.is_empty() { "unknown-host".into() } else { h }
}

/// Whether a process with this pid exists on this host (`None`: cannot tell).
fn pid_alive(pid: u32) -> Option<bool> {
    #[cfg(unix)]
    {
        // SAFETY: signal 0 only checks for existence and permission.
        let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
        if r == 0 {
            return Some(true);
        }
        return Some(std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH));
    }
    #[allow(unreachable_code)]
    {
        let _ = pid;
        None
    }
}

/// The lock on a target: a file created with `create_new`, removed on drop.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of `dir`, or fails naming the run that holds it. A lock left by a
    /// process that no longer exists on this host is stale and taken over (`stale` says so).
    pub fn acquire(dir: &Path, source: &str, stale: &mut Option<String>) -> Result<Lock> {
        std::fs::create_dir_all(dir).map_err(|e| Error::usage(format!("cannot create the state directory {}: {e} (choose another with --state-dir)", dir.display())))?;
        let path = dir.join(LOCK);
        let me = serde_json::to_string(&LockHolder { pid: std::process::id(), host: hostname(), started_at: now(), source: source.to_string() }).expect("serializes");
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    f.write_all(format!("{me}\n").as_bytes()).and_then(|_| f.sync_all()).map_err(|e| Error::Internal(format!("cannot write the lock {}: {e}", path.display())))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let held: Value = serde_json::from_str(text.trim()).unwrap_or(Value::Null);
                    let pid = held["pid"].as_u64().map(|p| p as u32);
                    let host = held["host"].as_str().unwrap_or("an unknown host").to_string();
                    let since = held["startedAt"].as_str().unwrap_or("an unknown time").to_string();
                    let same_host = host == hostname();
                    let gone = match (pid, same_host) {
                        (Some(p), true) => pid_alive(p) == Some(false),
                        // An empty or unreadable lock: its writer died between create and write.
                        (None, _) => text.trim().is_empty() && same_host_guess(&path),
                        _ => false,
                    };
                    if gone {
                        *stale = Some(format!("removed a stale lock of process {} on {host} (started {since}; it no longer runs)", pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into())));
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(Error::Service(format!(
                        "another aml-failover run is writing to this target: process {} on {host}, started {since} (lock {}). \
                         Wait for it to finish. If that run is gone (its host crashed or was replaced), remove the lock file and rerun: \
                         the journal next to it lets the new run resume where that one stopped.",
                        pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
                        path.display()
                    )));
                }
                Err(e) => return Err(Error::usage(format!("cannot create the lock {}: {e} (choose another --state-dir)", path.display()))),
            }
        }
        Err(Error::Internal(format!("the lock {} keeps reappearing", path.display())))
    }
}

/// An empty lock file older than a minute was left by a process killed while writing it.
fn same_host_guess(path: &Path) -> bool {
    std::fs::metadata(path).and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok()).is_some_and(|d| d.as_secs() > 60)
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What an unfinished journal says was done.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    pub plan_id: String,
    pub started_at: String,
    /// Target file URI → (sha256, source etag).
    pub files: BTreeMap<String, (String, String)>,
    /// Items (`kind/name/version`) whose registration finished, with the target version.
    pub registered: BTreeMap<String, String>,
    /// Items whose registration started but is not known to have finished, with the target version.
    pub started: BTreeMap<String, String>,
    /// What each item registered (or started to) held: its [`content_digest`].
    pub contents: BTreeMap<String, String>,
}

/// Reads a journal. `None` when there is none, it is complete, or it is for another
/// source/target (the caller starts afresh). A torn last line (kill -9 mid-write) is ignored.
pub fn read(path: &Path, source: &str, target: &str) -> Option<Previous> {
    let f = File::open(path).ok()?;
    let mut lines = BufReader::new(f).lines().map_while(|l| l.ok()).filter_map(|l| serde_json::from_str::<Value>(&l).ok());
    let h = lines.next()?;
    if h["journal"] != "aml-failover" || h["version"].as_u64() != Some(FORMAT_VERSION) || h["source"] != source || h["target"] != target {
        return None;
    }
    let mut p = Previous { plan_id: h["planId"].as_str()?.to_string(), started_at: h["startedAt"].as_str().unwrap_or("").to_string(), ..Default::default() };
    for r in lines {
        let s = |k: &str| r[k].as_str().unwrap_or("").to_string();
        match (r["state"].as_str(), r.get("file"), r.get("item")) {
            (Some("complete"), _, _) => return None,
            (Some("verified"), Some(_), _) => {
                p.files.insert(s("file"), (s("sha256"), s("sourceEtag")));
            }
            (Some("register-started"), _, Some(_)) => {
                p.started.insert(s("item"), s("targetVersion"));
                p.contents.insert(s("item"), s("content"));
            }
            (Some("registered"), _, Some(_)) => {
                p.started.remove(&s("item"));
                p.registered.insert(s("item"), s("targetVersion"));
            }
            _ => {}
        }
    }
    Some(p)
}

/// The journal of the running copy, appended to and fsynced per record.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    pub plan_id: String,
    /// What the interrupted run this one resumes had done.
    pub previous: Option<Previous>,
    failed: Mutex<Option<String>>,
    /// The lease id of this state directory on the target's lock blob.
    pub lease_id: String,
    _lock: Lock,
}

/// The lease id kept in `dir` (made and fsynced before any lease is taken with it).
pub fn lease_id(dir: &Path) -> Result<String> {
    let path = dir.join(LEASE_ID);
    if let Ok(t) = std::fs::read_to_string(&path) {
        if let Ok(u) = uuid::Uuid::parse_str(t.trim()) {
            return Ok(u.to_string());
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    crate::atomic::write(&path, format!("{id}\n").as_bytes())
        .map_err(|e| Error::usage(format!("cannot write {}: {e} (choose another --state-dir)", path.display())))?;
    Ok(id)
}

impl Journal {
    /// Takes the target's lock, then opens its journal: resumes an unfinished one for the
    /// same source and target, otherwise starts a new one (a journal of another source is
    /// kept aside as `journal-<planId>.abandoned.jsonl`). `source`/`target` are ARM ids.
    pub fn open(dir: &Path, source: &str, target: &str) -> Result<(Journal, Option<String>)> {
        let mut stale = None;
        let lock = Lock::acquire(dir, source, &mut stale)?;
        let lease_id = lease_id(dir)?;
        let path = dir.join(JOURNAL);
        let previous = read(&path, source, target);
        if previous.is_none() && path.exists() {
            let aside = dir.join(format!("journal-{}.previous.jsonl", now().replace(':', "")));
            let _ = std::fs::rename(&path, aside);
        }
        let err = |e: std::io::Error| Error::usage(format!("cannot write the journal {}: {e} (choose another --state-dir)", path.display()));
        let file = OpenOptions::new().create(true).append(true).open(&path).map_err(err)?;
        let plan_id = previous.as_ref().map(|p| p.plan_id.clone()).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let j = Journal { path: path.clone(), file: Mutex::new(file), plan_id: plan_id.clone(), previous, failed: Mutex::new(None), lease_id, _lock: lock };
        if j.previous.is_some() {
            j.append(&Record::Resumed(Resumed { resumed_at: now(), pid: std::process::id(), host: hostname() }));
        } else {
            j.append(&Record::Header(Header {
                journal: "aml-failover",
                version: FORMAT_VERSION,
                plan_id,
                source: source.to_string(),
                target: target.to_string(),
                started_at: now(),
                pid: std::process::id(),
                host: hostname(),
            }));
        }
        j.check()?;
        Ok((j, stale))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and fsyncs it. A failure is remembered (see [`Journal::check`]):
    /// the copy itself stays correct without the journal, only resuming loses detail.
    pub fn append(&self, record: &Record) {
        let line = serde_json::to_string(record).expect("a record serializes");
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let r = f.write_all(format!("{line}\n").as_bytes()).and_then(|_| f.sync_data());
        if let Err(e) = r {
            self.failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(format!("cannot write the journal {}: {e}", self.path.display()));
        }
    }

    /// The first write error, if any.
    pub fn check(&self) -> Result<()> {
        match self.failed.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            Some(e) => Err(Error::Internal(e)),
            None => Ok(()),
        }
    }

    /// A file verified in the target.
    pub fn file_verified(&self, target_uri: &str, source_uri: &str, sha256: &str, source_tag: Option<&str>) {
        let etag = source_tag.and_then(|t| t.split_once('-')).map(|(_, e)| e).unwrap_or("");
        self.append(&Record::File(FileVerified {
            file: crate::redact::url_str(target_uri),
            source: crate::redact::url_str(source_uri),
            sha256: sha256.to_string(),
            source_etag: etag.to_string(),
            state: "verified",
        }));
    }

    /// A registration about to start: the item, the version number it goes to, and the
    /// [`content_digest`] of what it registers (checked on resume, see [`Journal::registered_elsewhere`]).
    pub fn register_started(&self, item: &str, target_version: &str, content: &str) {
        self.append(&Record::Registration(Registration {
            item: item.to_string(),
            target_version: target_version.to_string(),
            content: Some(content.to_string()),
            state: "register-started",
        }));
    }

    pub fn registered(&self, item: &str, target_version: &str) {
        self.append(&Record::Registration(Registration { item: item.to_string(), target_version: target_version.to_string(), content: None, state: "registered" }));
    }

    /// Marks the run complete and moves the journal aside (`last-complete.jsonl`), so the
    /// next run starts a new plan.
    pub fn complete(&self) {
        self.append(&Record::Complete(Complete { state: "complete", finished_at: now() }));
        let _ = std::fs::rename(&self.path, self.path.with_file_name("last-complete.jsonl"));
    }
}

impl Journal {
    /// When the interrupted run this one resumes started (or finished) registering `item`
    /// with the content `content` (its [`content_digest`]) under a version number other than
    /// `planned` (`--on-conflict new-version` allocates numbers per run, so a rerun may pick
    /// another), and that version of the target holds that content (`holds`): that version.
    /// Nothing is registered again then. Another content recorded (the source changed), or a
    /// target version holding something else (another version's content, or another writer's),
    /// gives `None`: the item takes the number this run allocated. The same number needs no
    /// check: the plan compared it with the target already.
    pub async fn registered_elsewhere<F, Fut>(&self, item: &str, planned: &str, content: &str, holds: F) -> Option<String>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let p = self.previous.as_ref()?;
        let v = p.registered.get(item).or_else(|| p.started.get(item))?;
        if v == planned || v.is_empty() || p.contents.get(item).map(String::as_str) != Some(content) {
            return None;
        }
        holds(v.clone()).await.then(|| v.clone())
    }
}

/// What a registration holds, as a digest: the asset's kind, name, source version and
/// specification (keys sorted), and every file's path, size and checksum (sha256, else MD5,
/// else the source ETag). Two registrations with equal digests hold the same content.
pub fn content_digest(item: &crate::assets::AssetItem) -> String {
    use sha2::Digest;
    fn canonical(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
            other => other.clone(),
        }
    }
    let mut h = sha2::Sha256::new();
    h.update(format!("{}\n{}\n{}\n", item.kind, item.name, item.version));
    h.update(canonical(&item.properties).to_string());
    if let Some(c) = &item.content {
        let mut files: Vec<String> = c
            .files
            .iter()
            .map(|f| {
                let sum = f.meta.sha256.clone().or_else(|| f.meta.content_md5.map(hex::encode)).or_else(|| f.meta.etag.clone()).unwrap_or_default();
                format!("{}\t{}\t{sum}", f.rel, f.meta.size)
            })
            .collect();
        files.sort();
        h.update(files.join("\n"));
    }
    hex::encode(h.finalize())
}

/// The engine's reporter while a journal is open: journals every verified file, then
/// passes on to the progress display.
pub struct Journaling {
    pub inner: std::sync::Arc<crate::settings::Progress>,
    pub journal: std::sync::Arc<Journal>,
}

impl TransferReporter for Journaling {
    fn bytes(&self, n: u64) {
        self.inner.bytes(n);
    }
    fn file_done(&self, job: &FileJob, r: &Result<FileDone>) {
        if let Ok(done) = r {
            self.journal.file_verified(&job.dst.uri(&job.dst_path), &job.src.uri(&job.src_path), &done.sha256, done.source_tag.as_deref());
        }
        self.inner.file_done(job, r);
    }
}

/// "resuming run … from …: N files and M registrations already done", with what the
/// target showed when re-checked: journaled files found verified in place (by their sha256
/// + source tag metadata, not by trusting the journal), and those copied again.
pub fn resume_message(p: &Previous, jobs: &[FileJob], results: &[Result<FileDone>]) -> String {
    let (mut in_place, mut again) = (0, 0);
    for (job, r) in jobs.iter().zip(results) {
        if p.files.contains_key(&crate::redact::url_str(&job.dst.uri(&job.dst_path))) {
            match r {
                Ok(d) if d.method == Method::AlreadyPresent => in_place += 1,
                _ => again += 1,
            }
        }
    }
    format!("{}; re-checked in the target: {in_place} of those files verified in place, {again} copied again", summary(p))
}

/// The journal's item key: `kind/name/version`.
pub fn item_key(kind: impl std::fmt::Display, name: &str, version: &str) -> String {
    format!("{kind}/{name}/{version}")
}

/// Counts for the "resuming" message.
pub fn summary(p: &Previous) -> String {
    let items: BTreeSet<&String> = p.registered.keys().collect();
    format!(
        "resuming run {} from {}: {} files and {} registrations already done{}",
        p.plan_id,
        p.started_at,
        p.files.len(),
        items.len(),
        if p.started.is_empty() { String::new() } else { format!(", {} registration(s) interrupted (checked against the target before any is redone)", p.started.len()) }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_round_trip_resume_and_complete() {
        let d = tempfile_dir();
        let (j, stale) = Journal::open(&d, "/s/src", "/s/tgt").unwrap();
        assert!(stale.is_none() && j.previous.is_none());
        let lease = j.lease_id.clone();
        assert!(uuid::Uuid::parse_str(&lease).is_ok(), "{lease}");
        j.file_verified("https://a.blob/c/x?sig=SECRET", "https://b.blob/c/x", "ab", Some("0123-0x8D"));
        j.register_started("model/m/1", "1", "c1");
        j.registered("model/m/1", "1");
        j.register_started("model/m/2", "3", "c2");
        let plan = j.plan_id.clone();
        drop(j); // as a crash: lock released by drop here, the journal stays unfinished
        let text = std::fs::read_to_string(d.join(JOURNAL)).unwrap();
        assert!(!text.contains("SECRET"), "{text}");
        std::fs::OpenOptions::new().append(true).open(d.join(JOURNAL)).unwrap().write_all(b"{\"file\":\"torn").unwrap();
        let (j, _) = Journal::open(&d, "/s/src", "/s/tgt").unwrap();
        let p = j.previous.clone().unwrap();
        assert_eq!(j.plan_id, plan);
        assert_eq!(j.lease_id, lease, "a resumed run takes the same lease id");
        assert_eq!(p.files.len(), 1);
        assert_eq!(p.files.values().next().unwrap(), &("ab".to_string(), "0x8D".to_string()));
        assert_eq!(p.registered.get("model/m/1").map(String::as_str), Some("1"));
        assert_eq!(p.started.get("model/m/2").map(String::as_str), Some("3"));
        // Resumed: version 3 counts as this item's only for the same content, held by the target.
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        assert_eq!(rt.block_on(j.registered_elsewhere("model/m/2", "4", "c2", |v| async move { v == "3" })), Some("3".to_string()));
        assert_eq!(rt.block_on(j.registered_elsewhere("model/m/2", "4", "c2", |_| async { false })), None, "the target's 3 holds other content");
        assert_eq!(rt.block_on(j.registered_elsewhere("model/m/2", "4", "other", |_| async { true })), None, "the source changed");
        assert_eq!(rt.block_on(j.registered_elsewhere("model/m/2", "3", "c2", |_| async { true })), None, "the same number");
        assert!(summary(&p).contains("1 files and 1 registrations"));
        j.complete();
        drop(j);
        let (j, _) = Journal::open(&d, "/s/src", "/s/tgt").unwrap();
        assert!(j.previous.is_none() && j.plan_id != plan);
        drop(j);
        // Another source: not resumed.
        let (j, _) = Journal::open(&d, "/s/other", "/s/tgt").unwrap();
        assert!(j.previous.is_none());
        assert_eq!(j.lease_id, lease, "one lease id per state directory and target");
        drop(j);
        assert_ne!(Journal::open(&tempfile_dir(), "/s/src", "/s/tgt").unwrap().0.lease_id, lease, "another state directory, another lease id");
    }

    #[test]
    fn lock_excludes_a_second_run_and_takes_over_a_dead_one() {
        let d = tempfile_dir();
        let mut stale = None;
        let l = Lock::acquire(&d, "src", &mut stale).unwrap();
        let e = Lock::acquire(&d, "src", &mut stale).unwrap_err().to_string();
        assert!(e.contains(&format!("process {}", std::process::id())) && e.contains("remove the lock file"), "{e}");
        drop(l);
        // A lock of a process that is gone on this host is stale.
        let dead = serde_json::json!({"pid": 999_999_999u32, "host": hostname(), "startedAt": "2026-01-01T00:00:00Z"});
        std::fs::write(d.join(LOCK), dead.to_string()).unwrap();
        let _l = Lock::acquire(&d, "src", &mut stale).unwrap();
        assert!(stale.unwrap().contains("stale"));
    }

    fn tempfile_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("aml-failover-journal-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
