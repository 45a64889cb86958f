//! The copy engine: moves files between any two [`Store`]s and proves every byte.
//!
//! One routine per file (rclone's `operations.Copy` shape):
//! 1. **Already there?** If the destination holds an object of the same size whose recorded
//!    sha256 equals the source's, nothing is copied (resume, idempotent reruns). A copy that
//!    records the source version it was verified from (URI + ETag) is recognised without
//!    reading either side.
//! 2. **Server-side** where the destination can copy from a URL and the source can give one
//!    (blob Copy Blob, of the listed source version only: `x-ms-source-if-match`); any other
//!    failure of that path falls back to streaming. Not for a file of one block whose sha256
//!    nothing records: reading it is needed to learn the sha256, so it is streamed (2 requests
//!    and 1 write instead of 3 and 2). The destination is then read back: its MD5
//!    must equal the source's stored Content-MD5, or its sha256 the recorded one, or (when the
//!    source has neither) the sha256 of an independent read of the source.
//! 3. **Streaming** otherwise: the source is read block by block (a few blocks ahead); sha256
//!    and MD5 are computed in the same pass; each block goes up with its own MD5, which the
//!    service checks on arrival and echoes back — so the bytes that landed are the bytes that
//!    were hashed; nothing is published before the last block.
//! 4. **Every byte read is checked against something the reader did not compute from the same
//!    bytes** before anything is published ([`Check`]): the service's MD5 of each range
//!    (`x-ms-range-get-content-md5`), the source's stored Content-MD5, the sha256 recorded for
//!    it earlier, or — when there is none of these (local files) — a second read of the source.
//!    With `--verify full` (or a destination that does not confirm what it received), the
//!    destination is also read back and its sha256 compared. On any mismatch nothing is
//!    published (or the destination object is deleted) and the file is tried again, then fails
//!    as "corrupted in transfer".
//! 5. **Every read of the source is of the version the plan listed** (blob: `If-Match`; Azure
//!    Files, whose Get File takes no `If-Match`: the ETag of every answer; local: mtime + size
//!    before and after each read). When the source changed during the copy, it is looked up
//!    again once and the file copied anew under its new version; a second change fails the
//!    file as "changed during the copy". Bytes of two versions are never mixed, and the source
//!    tag recorded is the one every byte was read under.
//!
//! Memory stays bounded: every block held in memory takes a permit from one budget shared by
//! all files in flight (`memory_budget`), whatever the file sizes and the concurrency.

use crate::error::{Class, Error, Result};
use crate::storage::{folder_prefix, Copied, FinishInfo, Hold, ObjectMeta, ObjectWriter, Read, Store, StorePath};
use bytes::Bytes;
use std::collections::{HashMap, HashSet};
use futures::StreamExt;
use md5::{Digest, Md5};
use serde::Serialize;
use sha2::Sha256;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// One file to move.
#[derive(Clone)]
pub struct FileJob {
    pub src: Arc<dyn Store>,
    pub src_path: StorePath,
    pub dst: Arc<dyn Store>,
    pub dst_path: StorePath,
    pub size: u64,
    /// A sha256 (hex) the source is known to have (recorded earlier); the copy fails if the
    /// bytes read differ.
    pub expected_sha256: Option<String>,
    /// The source's stored MD5 (blob Content-MD5), checked as an extra.
    pub src_md5: Option<[u8; 16]>,
    /// The source's [`source_tag`](crate::storage::source_tag) (URI + ETag), recorded with
    /// the copy so that later runs can recognise it without reading.
    pub src_tag: Option<String>,
    /// The source's ETag as listed: every read of the source is of this version.
    pub src_etag: Option<String>,
}

impl FileJob {
    /// The job that copies `meta` (as `src` listed or HEADed it) to `dst_path` in `dst`, with
    /// every check the source offers: its recorded sha256, its stored MD5, and its source tag.
    pub fn from_source(src: &Arc<dyn Store>, meta: &ObjectMeta, dst: &Arc<dyn Store>, dst_path: StorePath) -> FileJob {
        FileJob {
            src: Arc::clone(src),
            src_path: meta.path.clone(),
            dst: Arc::clone(dst),
            dst_path,
            size: meta.size,
            expected_sha256: meta.sha256.clone(),
            src_md5: meta.content_md5,
            src_tag: crate::storage::source_tag(&src.uri(&meta.path), meta.etag.as_deref()),
            src_etag: meta.etag.clone(),
        }
    }

    /// The job again for the source's version `meta` (after it changed during the copy).
    fn relisted(&self, meta: &ObjectMeta) -> FileJob {
        FileJob {
            size: meta.size,
            expected_sha256: meta.sha256.clone(),
            src_md5: meta.content_md5,
            src_tag: crate::storage::source_tag(&self.src.uri(&self.src_path), meta.etag.as_deref()),
            src_etag: meta.etag.clone(),
            ..self.clone()
        }
    }
}

/// How a file got to its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum Method {
    Streamed,
    ServerSide,
    AlreadyPresent,
}

/// A check that confirmed a file's bytes, independently of the reader's own hash of them.
/// Every verified file has at least one source-side check (all but the last two).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline)]
pub enum Check {
    /// The service's MD5 of every range read (`x-ms-range-get-content-md5`) matched.
    RangeMd5,
    /// The MD5 of the whole file matched the source's stored Content-MD5.
    SourceContentMd5,
    /// The sha256 matched the one recorded for it earlier (by a verified copy, or a bundle).
    RecordedSha256,
    /// An independent second read (of the source, or of a server-side copy against the
    /// source) gave the same sha256.
    SecondRead,
    /// The destination holds a copy verified earlier from this very source version (same
    /// URI and ETag); neither side was read.
    SameSourceVersion,
    /// Nothing to check: the file is empty.
    EmptyFile,
    /// Destination side: the service echoed the MD5 of every piece it received, and each
    /// matched what was sent.
    ServiceEchoMd5,
    /// Destination side: what landed was read back and its sha256 matched.
    ReadBack,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDone {
    pub sha256: String,
    pub size: u64,
    pub method: Method,
    /// What confirmed the bytes (source side first).
    pub checks: Vec<Check>,
    /// The source tag every byte was read under (the job's, or the new one after the source
    /// changed during the copy and was copied anew).
    pub source_tag: Option<String>,
}

/// `--server-side`: whether to use server-side copy where it is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ServerSide {
    Auto,
    Never,
}

/// `--verify`: how a streamed copy is checked at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Verify {
    /// The service's echo of each block's MD5 (what it received) must equal the MD5 of the
    /// bytes hashed with sha256; stores that do not echo are read back.
    Landed,
    /// Additionally read every copied file back and compare its sha256.
    Full,
}

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Files in flight at once.
    pub concurrency: usize,
    /// Bytes per block read and written.
    pub block_size: usize,
    pub server_side: ServerSide,
    pub verify: Verify,
    /// Whole-file attempts after a transient failure (a dropped connection mid-body, bytes
    /// corrupted on the way).
    pub file_retries: u32,
    /// Bytes of file data held in memory at most, across all files in flight.
    pub memory_budget: usize,
    /// Blocks of one file read ahead of the one being written.
    pub read_ahead: usize,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            concurrency: 16,
            block_size: 4 * 1024 * 1024,
            server_side: ServerSide::Auto,
            verify: Verify::Landed,
            file_retries: 2,
            memory_budget: 48 * 1024 * 1024,
            read_ahead: 4,
        }
    }
}

/// Progress events. Libraries report; only commands render (indicatif on a terminal).
pub trait TransferReporter: Send + Sync {
    fn bytes(&self, _n: u64) {}
    fn file_done(&self, _job: &FileJob, _result: &Result<FileDone>) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl TransferReporter for Silent {}

pub struct Engine {
    opts: EngineOptions,
    reporter: Arc<dyn TransferReporter>,
    /// One permit per block of `block_size` bytes held in memory.
    memory: Arc<Semaphore>,
}

/// sha256 and MD5 of a whole object, computed by streaming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    pub sha256: String,
    pub md5: [u8; 16],
}

/// Why one attempt at a file did not finish.
enum Fail {
    /// The source is no longer the version listed.
    Changed,
    /// May succeed when the whole file is tried again (transient, or bytes corrupted on the way).
    Retry(Error),
    Final(Error),
}

impl From<Error> for Fail {
    /// Transient failures and bytes corrupted on the way (a PUT whose MD5 the service
    /// refused) may go through when the whole file is tried again.
    fn from(e: Error) -> Fail {
        match e.class() {
            c if c.is_retryable() || c == Class::Corrupted => Fail::Retry(e),
            _ => Fail::Final(e),
        }
    }
}

/// Bytes that do not match an independent checksum: the whole file is tried again.
fn corrupted_read(msg: String) -> Fail {
    Fail::Retry(Error::Corrupted(format!("corrupted in transfer: {msg}")))
}

impl Engine {
    pub fn new(opts: EngineOptions, reporter: Arc<dyn TransferReporter>) -> Engine {
        let permits = (opts.memory_budget / opts.block_size.max(1)).max(2);
        Engine { memory: Arc::new(Semaphore::new(permits)), opts, reporter }
    }

    pub fn options(&self) -> &EngineOptions {
        &self.opts
    }

    /// Runs every job, `concurrency` at a time; results come back in the jobs' order.
    ///
    /// The destination folders are listed once up front, so a file that is not there yet
    /// costs no request of its own to find that out (one list per folder instead of one
    /// HEAD per file).
    pub async fn run(&self, jobs: Vec<FileJob>) -> Vec<Result<FileDone>> {
        let known = self.list_destinations(&jobs).await;
        let mut results: Vec<Option<Result<FileDone>>> = (0..jobs.len()).map(|_| None).collect();
        let known = &known;
        let mut stream = futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(i, job)| async move {
                let listed = known.get(&dest_key(&job)).cloned();
                let r = self.copy_with(&job, listed).await;
                self.reporter.file_done(&job, &r);
                (i, r)
            })
            .buffer_unordered(self.opts.concurrency.max(1));
        while let Some((i, r)) = stream.next().await {
            results[i] = Some(r);
        }
        results.into_iter().map(|r| r.expect("every job reports")).collect()
    }

    /// Lists the destination folders of `jobs` once up front (no folder inside one already
    /// listed); where one destination has more than [`FOLDERS_LISTED_APART`] folders, their
    /// common root is listed instead (one flat, paged listing rather than one per folder: a
    /// copy of many jobs' outputs or model versions). Returns what the listings say of each
    /// destination path: `None` = not there. A folder that cannot be listed is left out, and
    /// its files are checked one by one.
    async fn list_destinations(&self, jobs: &[FileJob]) -> HashMap<(usize, String), Option<ObjectMeta>> {
        let mut known = HashMap::new();
        for (id, dir, folders) in listing_roots(jobs.iter().map(|j| (store_id(&j.dst), j.dst_path.as_str()))) {
            let prefix = folder_prefix(&dir);
            let mine: Vec<&FileJob> = jobs.iter().filter(|j| store_id(&j.dst) == id && j.dst_path.as_str().starts_with(&prefix)).collect();
            let Some(first) = mine.first() else { continue };
            let wanted: HashSet<String> = mine.iter().map(|j| j.dst_path.to_string()).collect();
            // A common root may hold far more than these files (a workspace's whole container):
            // it is listed only while it stays within a page of them; past that, each folder apart.
            let listed = if folders.is_empty() {
                first.dst.list_wanted(&prefix, &wanted, usize::MAX).await
            } else {
                match first.dst.list_wanted(&prefix, &wanted, wanted.len().saturating_mul(2) + LISTING_PAGE).await {
                    Ok(Some(found)) => Ok(Some(found)),
                    Ok(None) | Err(_) => {
                        tracing::debug!(root = %dir, "the common root holds much more than the files copied; listing their folders apart");
                        let mut found = Vec::new();
                        let mut all = true;
                        for f in &folders {
                            match first.dst.list_wanted(&folder_prefix(f), &wanted, usize::MAX).await {
                                Ok(Some(part)) => found.extend(part),
                                _ => all = false,
                            }
                        }
                        Ok(all.then_some(found))
                    }
                }
            };
            // A listing that failed leaves its files to be checked one by one.
            let Ok(Some(found)) = listed else { continue };
            let present: HashMap<&str, &ObjectMeta> = found.iter().map(|m| (m.path.as_str(), m)).collect();
            for j in mine {
                known.insert(dest_key(j), present.get(j.dst_path.as_str()).map(|m| (*m).clone()));
            }
        }
        known
    }

    /// Copies one file (with whole-file retries on transient failures).
    pub async fn copy(&self, job: &FileJob) -> Result<FileDone> {
        self.copy_with(job, None).await
    }

    /// `listed`: what a listing said of the destination (`Some(None)`: not there), or `None`
    /// when unknown. A source that changed during the copy is looked up again once and
    /// copied under its new version.
    async fn copy_with(&self, job: &FileJob, listed: Option<Option<ObjectMeta>>) -> Result<FileDone> {
        let mut attempt = 0;
        let mut listed = listed;
        let mut job = std::borrow::Cow::Borrowed(job);
        let mut relisted = false;
        loop {
            match self.copy_once(&job, listed.take()).await {
                Ok(done) => return Ok(done),
                Err(Fail::Changed) if !relisted => {
                    relisted = true;
                    tracing::info!(file = %job.src_path, "the source changed during the copy; copying its new version");
                    match job.src.head(&job.src_path).await? {
                        Some(meta) => job = std::borrow::Cow::Owned(job.relisted(&meta)),
                        None => return Err(Error::NotFound(format!("{} was deleted during the copy; nothing was published", job.src.uri(&job.src_path)))),
                    }
                }
                Err(Fail::Changed) => {
                    return Err(Error::Conflict(format!(
                        "{} changed during the copy (twice); nothing was published. Fix: copy it again once it is no longer being written",
                        job.src.uri(&job.src_path)
                    )))
                }
                Err(Fail::Retry(e)) if attempt < self.opts.file_retries => {
                    tracing::info!(file = %job.src_path, "retrying the whole file after: {e}");
                    attempt += 1;
                }
                Err(Fail::Retry(e) | Fail::Final(e)) => return Err(e),
            }
        }
    }

    async fn copy_once(&self, job: &FileJob, listed: Option<Option<ObjectMeta>>) -> Result<FileDone, Fail> {
        let src_uri = job.src.uri(&job.src_path);
        let dst_uri = job.dst.uri(&job.dst_path);
        let done = |sha256: String, method: Method, checks: Vec<Check>| FileDone { sha256, size: job.size, method, checks, source_tag: job.src_tag.clone() };

        // 1. Already there (a previous run or another tool's identical copy)? A listing that
        // did not show the file answers without a request; one that showed it without its
        // recorded hash (Azure Files lists no metadata) is completed by a HEAD.
        let existing = match listed {
            Some(None) => None,
            Some(Some(m)) if m.sha256.is_some() => Some(m),
            _ => job.dst.head(&job.dst_path).await?,
        };
        if let Some(existing) = existing {
            if existing.size == job.size {
                if let (Some(recorded), Some(tag)) = (&existing.sha256, &job.src_tag) {
                    if existing.source.as_ref() == Some(tag) {
                        // Verified from this very source version before: no need to read either side.
                        return Ok(done(recorded.clone(), Method::AlreadyPresent, vec![Check::SameSourceVersion]));
                    }
                }
                if let Some(recorded) = &existing.sha256 {
                    // The destination's recorded sha256 is the independent check of the source read.
                    let source = match &job.expected_sha256 {
                        Some(h) => h.clone(),
                        None => self.digest_of(&*job.src, &job.src_path, job.size, false, job.src_etag.as_deref()).await?.0.sha256,
                    };
                    if &source == recorded {
                        return Ok(done(source, Method::AlreadyPresent, vec![Check::RecordedSha256]));
                    }
                }
            }
        }

        // 2. Server-side where offered, except for a file of one block whose sha256 nothing
        // records: it has to be read to learn its sha256 anyway, and streamed that read is the
        // copy — one read of the source (its ranges' MD5 checked) and one Put Blob whose MD5 the
        // service checks and echoes, carrying the verified record — where a server-side copy
        // costs the copy, a read-back and a second write (Set Blob Metadata) per file.
        let learn_by_streaming = job.expected_sha256.is_none() && job.size <= self.opts.block_size.max(1) as u64;
        if self.opts.server_side == ServerSide::Auto && !learn_by_streaming && job.dst.capabilities().copy_from_url {
            if let Some(source) = job.src.copy_source(&job.src_path).await? {
                match job.dst.copy_from_url(&job.dst_path, &source, job.size, job.src_etag.as_deref(), job.src_md5).await {
                    Ok(Copied::Done) => return self.verify_server_side(job, &src_uri, &dst_uri).await,
                    Ok(Copied::Checked) => return self.trust_service_check(job, &src_uri, &dst_uri).await,
                    Ok(Copied::SourceChanged) => return Err(Fail::Changed),
                    Err(e @ Error::Auth(_)) => return Err(e.into()),
                    Err(e) => tracing::info!(file = %job.src_path, "server-side copy unavailable, streaming instead: {e}"),
                }
            }
        }

        // 3. Streaming.
        let (src_d, confirmed, mut checks) = self.stream(job).await?;
        // 4. Read back what landed, when asked or when the destination did not confirm it.
        if self.opts.verify == Verify::Full || !confirmed {
            let dst_d = match self.digest_of(&*job.dst, &job.dst_path, job.size, false, None).await {
                Ok((d, _)) => d,
                Err(f) => {
                    let _ = job.dst.delete(&job.dst_path).await;
                    return Err(f);
                }
            };
            if dst_d.sha256 != src_d.sha256 {
                let _ = job.dst.delete(&job.dst_path).await;
                return Err(Fail::Retry(corrupted(&src_uri, &dst_uri, &src_d.sha256, &dst_d.sha256)));
            }
            // A write the destination did not confirm is marked verified only now.
            if !confirmed {
                job.dst.set_verified(&job.dst_path, &src_d.sha256, job.src_tag.as_deref()).await?;
            }
            checks.push(Check::ReadBack);
        }
        if confirmed {
            checks.push(Check::ServiceEchoMd5);
        }
        Ok(done(src_d.sha256, Method::Streamed, checks))
    }

    /// After a server-side copy whose bytes the service checked against the source's stored
    /// MD5 (Put Blob From URL with `x-ms-source-content-md5`, and it echoed that MD5 for what
    /// it wrote): nothing is read back to check it, the service did. The sha256 to record is
    /// the one recorded for the source when there is one (both facts describe the version the
    /// copy was conditioned on); otherwise it is learned by hashing what landed, sha256 only
    /// (no MD5 of it: that comparison is the service's).
    async fn trust_service_check(&self, job: &FileJob, src_uri: &str, dst_uri: &str) -> Result<FileDone, Fail> {
        if job.src_md5.is_none() {
            return self.verify_server_side(job, src_uri, dst_uri).await;
        }
        let (sha256, mut checks) = match job.expected_sha256.clone() {
            Some(h) => {
                self.reporter.bytes(job.size);
                (h, vec![Check::SourceContentMd5, Check::RecordedSha256])
            }
            None => match self.hash_of(&*job.dst, &job.dst_path, job.size, true, None, false).await {
                Ok((sha256, _, _)) => (sha256, vec![Check::SourceContentMd5]),
                Err(f) => {
                    let _ = job.dst.delete(&job.dst_path).await;
                    return Err(f);
                }
            },
        };
        checks.push(Check::ServiceEchoMd5);
        job.dst.set_verified(&job.dst_path, &sha256, job.src_tag.as_deref()).await?;
        Ok(FileDone { sha256, size: job.size, method: Method::ServerSide, checks, source_tag: job.src_tag.clone() })
    }

    /// After a server-side copy: read the destination back; it must match the source's
    /// recorded sha256, or its stored MD5, or (when it has neither) the source read alongside
    /// (under its listed version).
    async fn verify_server_side(&self, job: &FileJob, src_uri: &str, dst_uri: &str) -> Result<FileDone, Fail> {
        let known = job.expected_sha256.is_some() || job.src_md5.is_some();
        let (src_d, (dst_d, _)) = futures::future::try_join(
            async {
                if known {
                    Ok(None)
                } else {
                    self.digest_of(&*job.src, &job.src_path, job.size, false, job.src_etag.as_deref()).await.map(Some)
                }
            },
            self.digest_of(&*job.dst, &job.dst_path, job.size, true, None),
        )
        .await
        .inspect_err(|f| {
            if matches!(f, Fail::Changed) {
                tracing::info!(file = %job.src_path, "the source changed during the server-side copy");
            }
        })?;
        let mismatch = match (&src_d, &job.expected_sha256, job.src_md5) {
            (Some((s, _)), _, _) => (s.sha256 != dst_d.sha256).then(|| s.sha256.clone()),
            (None, Some(h), _) => (h != &dst_d.sha256).then(|| h.clone()),
            (None, None, Some(m)) => (m != dst_d.md5).then(|| format!("MD5 {}", hex::encode(m))),
            (None, None, None) => unreachable!("known"),
        };
        if let Some(want) = mismatch {
            let _ = job.dst.delete(&job.dst_path).await;
            return Err(Fail::Retry(corrupted(src_uri, dst_uri, &want, &dst_d.sha256)));
        }
        if let (Some(m), Some((s, _))) = (job.src_md5, &src_d) {
            if m != s.md5 {
                let _ = job.dst.delete(&job.dst_path).await;
                return Err(corrupted_read(format!(
                    "{src_uri} read with MD5 {} but the service stores {}; nothing was published",
                    hex::encode(s.md5),
                    hex::encode(m)
                )));
            }
        }
        let mut checks = Vec::new();
        match &src_d {
            Some((_, true)) => checks.push(Check::RangeMd5),
            Some((_, false)) => checks.push(Check::SecondRead),
            None if job.expected_sha256.is_some() => checks.push(Check::RecordedSha256),
            None => checks.push(Check::SourceContentMd5),
        }
        checks.push(Check::ReadBack);
        job.dst.set_verified(&job.dst_path, &dst_d.sha256, job.src_tag.as_deref()).await?;
        Ok(FileDone { sha256: dst_d.sha256, size: job.size, method: Method::ServerSide, checks, source_tag: job.src_tag.clone() })
    }

    /// Checks the whole-file digests of what was read against what the source is known to
    /// hold; returns the checks that applied.
    fn check_source(&self, job: &FileJob, d: &Digests, src_uri: &str) -> Result<Vec<Check>, Fail> {
        let mut checks = Vec::new();
        if let Some(md5) = job.src_md5 {
            if md5 != d.md5 {
                return Err(corrupted_read(format!(
                    "{src_uri} read with MD5 {} but the service stores {}; nothing was published",
                    hex::encode(d.md5),
                    hex::encode(md5)
                )));
            }
            checks.push(Check::SourceContentMd5);
        }
        if let Some(exp) = &job.expected_sha256 {
            if exp != &d.sha256 {
                return Err(corrupted_read(format!(
                    "{src_uri} read as sha256 {} but it is recorded as {exp}; nothing was published",
                    d.sha256
                )));
            }
            checks.push(Check::RecordedSha256);
        }
        Ok(checks)
    }

    /// The object's blocks in order, read `read_ahead` blocks ahead (of the version `if_match`
    /// when given), each holding a memory permit. A block's MD5 is computed when the service
    /// sent one for the range, which it is then checked against here, or when
    /// `hashing.block_md5`; on a blocking thread when `hashing.off_workers`.
    fn blocks<'a>(&'a self, store: &'a dyn Store, path: &'a StorePath, size: u64, if_match: Option<&'a str>, hashing: Hashing) -> impl futures::Stream<Item = Result<Block, Fail>> + 'a {
        let Hashing { range_md5, block_md5: want_md5, off_workers } = hashing;
        let block = self.opts.block_size.max(1) as u64;
        let ranges = (0..size.div_ceil(block)).map(move |i| (i * block, ((i + 1) * block).min(size)));
        futures::stream::iter(ranges)
            // Permits are taken in block order, so a file never waits on its own later blocks.
            .then(move |r| {
                let mem = Arc::clone(&self.memory);
                async move { (r, mem.acquire_owned().await.expect("never closed")) }
            })
            .map(move |((a, b), permit)| async move {
                let read = if range_md5 { store.read_range(path, a, b, if_match).await? } else { store.read_range_unhashed(path, a, b, if_match).await? };
                match read {
                    Read::Changed => Err(Fail::Changed),
                    Read::Data(r) => {
                        let ours = match (r.md5, want_md5) {
                            (None, false) => None,
                            _ if off_workers => Some(md5_of(r.data.clone()).await?),
                            _ => Some(Md5::digest(&r.data).into()),
                        };
                        if let (Some(service), Some(ours)) = (r.md5, ours) {
                            if ours != service {
                                return Err(corrupted_read(format!(
                                    "bytes {a}-{b} of {} arrived with MD5 {} but the service sent {}; nothing was published",
                                    store.uri(path),
                                    hex::encode(ours),
                                    hex::encode(service)
                                )));
                            }
                        }
                        Ok(Block { data: r.data, md5: ours, vouched: r.md5.is_some(), permit: Arc::new(permit) })
                    }
                }
            })
            .buffered(self.opts.read_ahead.max(1))
    }

    /// Streams source → destination, hashing on the way; publishes only if every byte read
    /// is confirmed by a check independent of the reader. Returns the digests, whether the
    /// destination confirmed every byte it received, and the source-side checks.
    ///
    /// The reads ahead, the upload and the two digests run at the same time: blocks are read
    /// by a producer while the consumer waits on the upload, and sha256 and MD5 each advance
    /// on a blocking thread of their own (see [`Background`]).
    async fn stream(&self, job: &FileJob) -> Result<(Digests, bool, Vec<Check>), Fail> {
        let src_uri = job.src.uri(&job.src_path);
        let mut writer: Box<dyn ObjectWriter> = job.dst.writer_checked(&job.dst_path, job.size, job.src_md5).await?;
        // A file of one block: its MD5 (which the upload needs anyway) is the whole file's.
        let one_block = job.size <= self.opts.block_size.max(1) as u64;
        let hashing = Hashing {
            // The service's MD5 of each range vouches for the bytes read only where nothing
            // stronger does: with the source's stored Content-MD5, the whole file's MD5 is
            // checked against it (`check_source`) before anything is published, so a third
            // pass over every byte (the service's per-range MD5, and ours to compare) adds
            // nothing but earlier detection.
            range_md5: job.src_md5.is_none(),
            block_md5: one_block || writer.uses_block_md5(),
            off_workers: true,
        };
        let blocks = self.blocks(&*job.src, &job.src_path, job.size, job.src_etag.as_deref(), hashing);
        let (d, written, every_range_md5, writer) = drive(blocks, |mut rx| async move {
            let mut sha = Background::new(Sha256::new());
            let mut md5 = Background::new(Md5::new());
            let mut whole_md5: Option<[u8; 16]> = None;
            let mut written = 0u64;
            let mut every_range_md5 = true;
            while let Some(next) = rx.recv().await {
                let b = next?;
                every_range_md5 &= b.vouched;
                // None only where neither the writer nor a check needs it.
                let block_md5 = b.md5.unwrap_or_default();
                sha.update(b.data.clone(), &b.permit).await?;
                if one_block {
                    whole_md5 = Some(block_md5);
                } else {
                    md5.update(b.data.clone(), &b.permit).await?;
                }
                let n = b.data.len() as u64;
                writer.write_block(b.data, block_md5, Hold(Some(Box::new(b.permit)))).await?;
                written += n;
                self.reporter.bytes(n);
            }
            let md5 = match whole_md5 {
                Some(m) => m,
                None => md5.finish().await?.finalize().into(),
            };
            let d = Digests { sha256: hex::encode(sha.finish().await?.finalize()), md5 };
            Ok((d, written, every_range_md5, writer))
        })
        .await?;
        if written != job.size {
            return Err(Fail::Retry(Error::Unavailable(format!("{src_uri}: read {written} of {} bytes", job.size))));
        }
        // Dropping the writer without finish publishes nothing.
        let mut checks = Vec::new();
        if job.size == 0 {
            checks.push(Check::EmptyFile);
        } else if every_range_md5 {
            checks.push(Check::RangeMd5);
        }
        checks.extend(self.check_source(job, &d, &src_uri)?);
        if checks.is_empty() {
            // Nothing independent vouches for these bytes: read the source again (same version).
            let (again, _) = self.digest_of(&*job.src, &job.src_path, job.size, false, job.src_etag.as_deref()).await?;
            if again.sha256 != d.sha256 {
                return Err(corrupted_read(format!(
                    "two reads of {src_uri} differ (sha256 {} and {}); nothing was published",
                    d.sha256, again.sha256
                )));
            }
            checks.push(Check::SecondRead);
        }
        let confirmed = writer.finish(FinishInfo { sha256: d.sha256.clone(), md5: d.md5, source: job.src_tag.clone() }).await?;
        Ok((d, confirmed, checks))
    }

    /// sha256 + MD5 of a whole object, every range checked against the MD5 the service sent
    /// with it (where it does). `count` adds the bytes to progress.
    pub async fn digest(&self, store: &dyn Store, path: &StorePath, size: u64, count: bool) -> Result<Digests> {
        match self.digest_of(store, path, size, count, None).await {
            Ok((d, _)) => Ok(d),
            Err(Fail::Retry(e) | Fail::Final(e)) => Err(e),
            Err(Fail::Changed) => Err(Error::Internal("a read without a version cannot find it changed".into())),
        }
    }

    /// [`digest`](Self::digest) of the version `if_match`; also says whether the service sent
    /// an MD5 for every range (and each matched).
    async fn digest_of(&self, store: &dyn Store, path: &StorePath, size: u64, count: bool, if_match: Option<&str>) -> Result<(Digests, bool), Fail> {
        let (sha256, md5, every_range_md5) = self.hash_of(store, path, size, count, if_match, true).await?;
        Ok((Digests { sha256, md5: md5.expect("asked for") }, every_range_md5))
    }

    /// sha256 (hex) of the version `if_match` of an object, its whole MD5 when `whole_md5`,
    /// and whether the service sent an MD5 for every range (each was checked).
    async fn hash_of(&self, store: &dyn Store, path: &StorePath, size: u64, count: bool, if_match: Option<&str>, whole_md5: bool) -> Result<(String, Option<[u8; 16]>, bool), Fail> {
        let one_block = size <= self.opts.block_size.max(1) as u64;
        // Hashed here, as the blocks come (not by a producer and blocking threads, as `stream`
        // does): measured, that kept more bytes in flight outside the memory budget (the
        // server-side read-backs' peak RSS went from 76.5 to 107.7 MiB in scripts/bench.sh).
        let hashing = Hashing { range_md5: true, block_md5: whole_md5 && one_block, off_workers: false };
        let mut blocks = std::pin::pin!(self.blocks(store, path, size, if_match, hashing));
        let mut sha = Sha256::new();
        let mut md5 = Md5::new();
        let mut block_md5: Option<[u8; 16]> = None;
        let mut every_range_md5 = size > 0;
        while let Some(next) = blocks.next().await {
            let b = next?;
            every_range_md5 &= b.vouched;
            sha.update(&b.data);
            if whole_md5 {
                if one_block {
                    block_md5 = b.md5;
                } else {
                    md5.update(&b.data);
                }
            }
            if count {
                self.reporter.bytes(b.data.len() as u64);
            }
        }
        let md5 = match (whole_md5, block_md5) {
            (false, _) => None,
            (true, Some(m)) => Some(m),
            (true, None) => Some(md5.finalize().into()),
        };
        Ok((hex::encode(sha.finalize()), md5, every_range_md5))
    }
}

/// How [`Engine::blocks`] hashes what it reads.
#[derive(Debug, Clone, Copy)]
struct Hashing {
    /// Ask the service for each range's MD5 (and check the block against it).
    range_md5: bool,
    /// Compute each block's MD5 even where the service sent none.
    block_md5: bool,
    /// Hash on a blocking thread.
    off_workers: bool,
}

/// One block of an object as read.
struct Block {
    data: Bytes,
    /// Its MD5, where it was computed (see [`Engine::blocks`]).
    md5: Option<[u8; 16]>,
    /// The service sent the range's MD5 and it matched.
    vouched: bool,
    /// Its share of the memory budget, held until the upload and both digests are done with it.
    permit: Arc<OwnedSemaphorePermit>,
}

/// Blocks smaller than this are hashed where they are: a thread hop would cost more.
const HASH_INLINE_BELOW: usize = 256 * 1024;

/// MD5 of `data`, on a blocking thread unless it is small.
async fn md5_of(data: Bytes) -> Result<[u8; 16], Fail> {
    if data.len() < HASH_INLINE_BELOW {
        return Ok(Md5::digest(&data).into());
    }
    tokio::task::spawn_blocking(move || Md5::digest(&data).into()).await.map_err(hash_task_failed)
}

fn hash_task_failed(e: tokio::task::JoinError) -> Fail {
    Fail::Final(Error::Internal(format!("a hashing thread failed: {e}")))
}

/// A digest advanced block by block on a blocking thread: block `i` is hashed while the
/// caller goes on (uploading it, reading ahead, the other digest); `update` waits only for
/// block `i - 1`. Keeps the block's memory permit until its bytes are hashed.
enum Background<D> {
    Idle(D),
    Busy(tokio::task::JoinHandle<D>),
    Gone,
}

impl<D: Digest + Send + 'static> Background<D> {
    fn new(d: D) -> Self {
        Background::Idle(d)
    }

    async fn take(&mut self) -> Result<D, Fail> {
        match std::mem::replace(self, Background::Gone) {
            Background::Idle(d) => Ok(d),
            Background::Busy(h) => h.await.map_err(hash_task_failed),
            Background::Gone => Err(Fail::Final(Error::Internal("a digest was used after a failure".into()))),
        }
    }

    async fn update(&mut self, data: Bytes, permit: &Arc<OwnedSemaphorePermit>) -> Result<(), Fail> {
        let mut d = self.take().await?;
        if data.len() < HASH_INLINE_BELOW {
            d.update(&data);
            *self = Background::Idle(d);
        } else {
            let hold = Arc::clone(permit);
            *self = Background::Busy(tokio::task::spawn_blocking(move || {
                d.update(&data);
                // The bytes first, then their permit: never more held than the budget.
                drop(data);
                drop(hold);
                d
            }));
        }
        Ok(())
    }

    async fn finish(mut self) -> Result<D, Fail> {
        self.take().await
    }
}

/// Runs `consume` on the blocks of `blocks`, handed over through a channel by a producer that
/// runs alongside: the reads ahead go on while the consumer waits (on the upload, on a
/// digest). The producer stops once the consumer is done or gone.
async fn drive<'a, S, F, Fut, R>(blocks: S, consume: F) -> Result<R, Fail>
where
    S: futures::Stream<Item = Result<Block, Fail>> + 'a,
    F: FnOnce(tokio::sync::mpsc::Receiver<Result<Block, Fail>>) -> Fut,
    Fut: std::future::Future<Output = Result<R, Fail>> + 'a,
{
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let produce = async move {
        let mut blocks = std::pin::pin!(blocks);
        loop {
            let next = tokio::select! {
                n = blocks.next() => n,
                _ = tx.closed() => None,
            };
            let Some(b) = next else { break };
            let last = b.is_err();
            if tx.send(b).await.is_err() || last {
                break;
            }
        }
    };
    let ((), r) = futures::future::join(produce, consume(rx)).await;
    r
}

/// Folders of one destination listed one by one; above this, their common root is listed once.
const FOLDERS_LISTED_APART: usize = 4;

/// The objects one listing page holds (the service's maximum): the slack a common root's
/// listing is allowed beyond the files it is for.
const LISTING_PAGE: usize = 5000;

/// The folders to list, per destination `(store id, path)`: each file's folder, none inside
/// another; where a destination has more than [`FOLDERS_LISTED_APART`], their common root
/// (`""`: the whole container) instead, with the folders it stands for (to list apart when the
/// root turns out to hold much more); a folder listed as itself has none.
fn listing_roots<'a>(paths: impl Iterator<Item = (usize, &'a str)>) -> Vec<(usize, String, Vec<String>)> {
    let mut folders: Vec<(usize, String)> = paths.map(|(id, p)| (id, p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default())).collect();
    folders.sort();
    folders.dedup();
    let mut roots: Vec<(usize, String)> = Vec::new();
    for (id, dir) in folders {
        let covered = roots.iter().any(|(rid, r)| *rid == id && (r.is_empty() || dir == *r || dir.starts_with(&format!("{r}/"))));
        if !covered {
            roots.push((id, dir));
        }
    }
    let mut out = Vec::new();
    for group in roots.chunk_by(|a, b| a.0 == b.0) {
        if group.len() <= FOLDERS_LISTED_APART {
            out.extend(group.iter().map(|(id, dir)| (*id, dir.clone(), Vec::new())));
            continue;
        }
        // The longest common path (whole components) of the group's folders.
        let mut common: Vec<&str> = group[0].1.split('/').collect();
        for (_, dir) in &group[1..] {
            let n = common.iter().zip(dir.split('/')).take_while(|(a, b)| *a == b).count();
            common.truncate(n);
        }
        out.push((group[0].0, common.join("/"), group.iter().map(|(_, d)| d.clone()).collect()));
    }
    out
}

/// Identity of a store instance (jobs share their destination store by `Arc`).
fn store_id(s: &Arc<dyn Store>) -> usize {
    Arc::as_ptr(s) as *const () as usize
}

fn dest_key(j: &FileJob) -> (usize, String) {
    (store_id(&j.dst), j.dst_path.to_string())
}

fn corrupted(src: &str, dst: &str, want: &str, got: &str) -> Error {
    Error::Corrupted(format!(
        "corrupted in transfer: {dst} read back as sha256 {got}, but {src} has {want}; the copy was deleted"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use crate::storage::local::LocalStore;
    use crate::storage::{Capabilities, CopySource, ObjectMeta, RangeRead};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A store that flips one byte of every read at `offset`: corruption on the way.
    struct Flipping {
        inner: LocalStore,
        offset: u64,
    }

    #[async_trait]
    impl Store for Flipping {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn uri(&self, p: &StorePath) -> String {
            self.inner.uri(p)
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
            self.inner.list(prefix).await
        }
        async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
            self.inner.head(p).await
        }
        async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
            let b = self.inner.get_range(p, s, e).await?;
            if (s..e).contains(&self.offset) {
                let mut v = b.to_vec();
                v[(self.offset - s) as usize] ^= 0xff;
                return Ok(Bytes::from(v));
            }
            Ok(b)
        }
        async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
            self.inner.writer(p, size).await
        }
        async fn delete(&self, p: &StorePath) -> Result<()> {
            self.inner.delete(p).await
        }
    }

    struct Count(AtomicU64);
    impl TransferReporter for Count {
        fn bytes(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn setup(data: &[u8]) -> (tempfile::TempDir, Arc<LocalStore>, Arc<LocalStore>, StorePath) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("src/f.bin"), data).unwrap();
        let src = Arc::new(LocalStore::new(dir.path().join("src")));
        let dst = Arc::new(LocalStore::new(dir.path().join("dst")));
        (dir, src, dst, StorePath::parse("f.bin").unwrap())
    }

    fn job(src: Arc<dyn Store>, dst: Arc<dyn Store>, p: &StorePath, size: u64) -> FileJob {
        FileJob { src, src_path: p.clone(), dst, dst_path: p.clone(), size, expected_sha256: None, src_md5: None, src_tag: None, src_etag: None }
    }

    fn opts() -> EngineOptions {
        EngineOptions { block_size: 1000, ..Default::default() }
    }

    #[tokio::test]
    async fn streams_in_blocks_and_reports_sha256() {
        let data: Vec<u8> = (0..10_500u32).map(|i| (i * 7 % 256) as u8).collect();
        let (_d, src, dst, p) = setup(&data);
        let count = Arc::new(Count(AtomicU64::new(0)));
        let e = Engine::new(opts(), count.clone());
        let r = e.copy(&job(src, dst.clone(), &p, data.len() as u64)).await.unwrap();
        assert_eq!(r.method, Method::Streamed);
        assert_eq!(r.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(std::fs::read(dst.root().join("f.bin")).unwrap(), data);
        assert_eq!(count.0.load(Ordering::Relaxed), data.len() as u64);
    }

    #[tokio::test]
    async fn a_source_that_does_not_match_its_recorded_hash_publishes_nothing() {
        let data = vec![5u8; 3000];
        let (_d, src, dst, p) = setup(&data);
        let bad: Arc<dyn Store> = Arc::new(Flipping { inner: (*src).clone(), offset: 1234 });
        let e = Engine::new(opts(), Arc::new(Silent));
        let mut j = job(bad, dst.clone(), &p, 3000);
        j.expected_sha256 = Some(hex::encode(Sha256::digest(&data)));
        let err = e.copy(&j).await.unwrap_err();
        assert!(err.to_string().contains("corrupted in transfer"), "{err}");
        assert!(!dst.root().join("f.bin").exists(), "a corrupted copy was published");
        // The MD5 the service stores catches it as well.
        let bad: Arc<dyn Store> = Arc::new(Flipping { inner: (*src).clone(), offset: 10 });
        let mut j = job(bad, dst.clone(), &p, 3000);
        j.src_md5 = Some(Md5::digest(&data).into());
        assert!(e.copy(&j).await.unwrap_err().to_string().contains("MD5"));
        assert!(!dst.root().join("f.bin").exists());
    }

    /// A store whose first `corrupt` reads flip a byte (corruption on the way, then clean
    /// reads; `u64::MAX`: every other read), and whose reads answer "changed" `changes` times.
    struct Flaky {
        inner: LocalStore,
        corrupt: AtomicU64,
        changes: AtomicU64,
        reads: AtomicU64,
    }

    #[async_trait]
    impl Store for Flaky {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn uri(&self, p: &StorePath) -> String {
            self.inner.uri(p)
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
            self.inner.list(prefix).await
        }
        async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
            self.inner.head(p).await
        }
        async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
            let b = self.inner.get_range(p, s, e).await?;
            let n = self.reads.fetch_add(1, Ordering::SeqCst);
            let alternate = self.corrupt.load(Ordering::SeqCst) == u64::MAX;
            if (alternate && n % 2 == 1) || (!alternate && self.corrupt.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()) {
                let mut v = b.to_vec();
                v[0] ^= 0xff;
                return Ok(Bytes::from(v));
            }
            Ok(b)
        }
        async fn read_range(&self, p: &StorePath, s: u64, e: u64, if_match: Option<&str>) -> Result<Read> {
            if self.changes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
                return Ok(Read::Changed);
            }
            match self.inner.read_range(p, s, e, if_match).await? {
                Read::Data(_) => Ok(Read::Data(RangeRead { data: self.get_range(p, s, e).await?, md5: None })),
                Read::Changed => Ok(Read::Changed),
            }
        }
        async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
            self.inner.writer(p, size).await
        }
        async fn delete(&self, p: &StorePath) -> Result<()> {
            self.inner.delete(p).await
        }
    }

    fn flaky(src: &LocalStore, corrupt: u64, changes: u64) -> Arc<dyn Store> {
        Arc::new(Flaky { inner: src.clone(), corrupt: AtomicU64::new(corrupt), changes: AtomicU64::new(changes), reads: AtomicU64::new(0) })
    }

    #[tokio::test]
    async fn bytes_nothing_independent_vouches_for_are_read_twice_and_a_corrupted_read_is_retried() {
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 13) as u8).collect();
        let (_d, src, dst, p) = setup(&data);
        let e = Engine::new(opts(), Arc::new(Silent));
        // A clean source without any checksum: verified by a second read.
        let r = e.copy(&job(src.clone(), dst.clone(), &p, 2500)).await.unwrap();
        assert_eq!(r.checks, [Check::SecondRead, Check::ReadBack]);
        std::fs::remove_file(dst.root().join("f.bin")).unwrap();
        // The first read is corrupted: the two reads differ, nothing is published, and the
        // whole file is tried again and ends byte-identical.
        let r = e.copy(&job(flaky(&src, 1, 0), dst.clone(), &p, 2500)).await.unwrap();
        assert_eq!(r.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(std::fs::read(dst.root().join("f.bin")).unwrap(), data);
        // Corrupted differently on every read: fails, nothing published.
        std::fs::remove_file(dst.root().join("f.bin")).unwrap();
        let err = e.copy(&job(flaky(&src, u64::MAX, 0), dst.clone(), &p, 2500)).await.unwrap_err();
        assert!(err.to_string().contains("two reads of"), "{err}");
        assert!(!dst.root().join("f.bin").exists(), "unverified bytes were published");
    }

    #[tokio::test]
    async fn a_source_that_changes_during_the_copy_is_copied_anew_once_then_fails() {
        let data = vec![7u8; 2500];
        let (_d, src, dst, p) = setup(&data);
        let e = Engine::new(opts(), Arc::new(Silent));
        let meta = src.head(&p).await.unwrap().unwrap();
        let src_dyn: Arc<dyn Store> = src.clone();
        let mut j = FileJob::from_source(&src_dyn, &meta, &(dst.clone() as Arc<dyn Store>), p.clone());
        // Rewritten after listing: the listed version is gone, the new one is copied and its
        // tag recorded.
        std::fs::write(src.root().join("f.bin"), vec![8u8; 3000]).unwrap();
        let r = e.copy(&j).await.unwrap();
        assert_eq!((r.size, std::fs::read(dst.root().join("f.bin")).unwrap()), (3000, vec![8u8; 3000]));
        assert_ne!(r.source_tag, j.src_tag, "the tag of the version not read was recorded");
        assert_eq!(r.source_tag, crate::storage::source_tag(&src.uri(&p), src.head(&p).await.unwrap().unwrap().etag.as_deref()));
        // Changing again after the re-listing: the file fails, saying why.
        std::fs::remove_file(dst.root().join("f.bin")).unwrap();
        j.src = flaky(&src, 0, 2);
        j.src_etag = src.head(&p).await.unwrap().unwrap().etag;
        let err = e.copy(&j).await.unwrap_err();
        assert!(err.to_string().contains("changed during the copy"), "{err}");
        assert!(!dst.root().join("f.bin").exists());
    }

    #[tokio::test]
    async fn damage_on_the_destination_side_is_found_by_reading_back() {
        let data = vec![9u8; 2500];
        let (_d, src, dst, p) = setup(&data);
        // Reads of the destination flip a byte: the read-back sha256 differs.
        let bad_dst: Arc<dyn Store> = Arc::new(Flipping { inner: (*dst).clone(), offset: 2000 });
        let e = Engine::new(opts(), Arc::new(Silent));
        let err = e.copy(&job(src, bad_dst, &p, 2500)).await.unwrap_err();
        assert!(err.to_string().contains("read back"), "{err}");
        assert!(!dst.root().join("f.bin").exists(), "the bad copy was not deleted");
    }

    #[tokio::test]
    async fn a_verified_copy_is_not_copied_again() {
        // Blob stores record sha256; emulate with a store whose head reports it.
        struct Recorded(LocalStore, String);
        #[async_trait]
        impl Store for Recorded {
            fn describe(&self) -> String {
                self.0.describe()
            }
            fn uri(&self, p: &StorePath) -> String {
                self.0.uri(p)
            }
            async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
                self.0.list(prefix).await
            }
            async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
                Ok(self.0.head(p).await?.map(|mut m| {
                    m.sha256 = Some(self.1.clone());
                    m
                }))
            }
            async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
                self.0.get_range(p, s, e).await
            }
            async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
                self.0.writer(p, size).await
            }
            async fn delete(&self, p: &StorePath) -> Result<()> {
                self.0.delete(p).await
            }
        }
        let data = vec![1u8; 100];
        let (_d, src, dst, p) = setup(&data);
        let sha = hex::encode(Sha256::digest(&data));
        let e = Engine::new(opts(), Arc::new(Silent));
        e.copy(&job(src.clone(), dst.clone(), &p, 100)).await.unwrap();
        let rec: Arc<dyn Store> = Arc::new(Recorded((*dst).clone(), sha.clone()));
        let r = e.copy(&job(src.clone(), rec, &p, 100)).await.unwrap();
        assert_eq!(r.method, Method::AlreadyPresent);
        // A recorded hash that differs means: copy again.
        let stale: Arc<dyn Store> = Arc::new(Recorded((*dst).clone(), "0".repeat(64)));
        assert_eq!(e.copy(&job(src, stale, &p, 100)).await.unwrap().method, Method::Streamed);
    }

    /// Counts HEAD requests on a local store.
    #[test]
    fn many_folders_of_one_destination_are_listed_by_their_common_root() {
        let roots = |paths: &[(usize, &str)]| listing_roots(paths.iter().copied()).into_iter().map(|(id, r, _)| (id, r)).collect::<Vec<_>>();
        // A few folders: each listed (none inside another listed twice).
        assert_eq!(roots(&[(1, "a/b/x"), (1, "a/b/c/y"), (1, "a/d/z")]), vec![(1, "a/b".into()), (1, "a/d".into())]);
        assert_eq!(roots(&[(1, "a/x"), (1, "a/b/y")]), vec![(1, "a".into())]);
        // Many: their common root once, per destination (whole path components only).
        let many: Vec<String> = (0..6).map(|i| format!("out/job/part-{i}/f")).collect();
        let mut paths: Vec<(usize, &str)> = many.iter().map(|p| (1, p.as_str())).collect();
        paths.push((2, "other/f"));
        assert_eq!(roots(&paths), vec![(1, "out/job".into()), (2, "other".into())]);
        let spread: Vec<String> = (0..6).map(|i| format!("v{i}/f")).collect();
        let spread_roots = listing_roots(spread.iter().map(|p| (1, p.as_str())));
        assert_eq!(spread_roots.len(), 1);
        assert_eq!((spread_roots[0].0, spread_roots[0].1.as_str()), (1, ""));
        // ... with the folders it stands for, to list apart when the root holds much more.
        assert_eq!(spread_roots[0].2, (0..6).map(|i| format!("v{i}")).collect::<Vec<_>>());
        let siblings: Vec<String> = (0..6).map(|i| format!("runs/ab{i}/f")).collect();
        let siblings: Vec<(usize, &str)> = siblings.iter().map(|p| (1, p.as_str())).collect();
        assert_eq!(roots(&siblings), vec![(1, "runs".into())]);
    }

    #[tokio::test]
    async fn destination_folders_are_listed_once_instead_of_a_head_per_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("s/m/sub")).unwrap();
        let src = Arc::new(LocalStore::new(dir.path().join("s")));
        let heads = Arc::new(Lists(LocalStore::new(dir.path().join("d")), Default::default(), AtomicU64::new(0)));
        let dst: Arc<dyn Store> = heads.clone();
        let mut jobs = Vec::new();
        for i in 0..10 {
            let rel = if i % 2 == 0 { format!("m/f{i}") } else { format!("m/sub/f{i}") };
            std::fs::write(dir.path().join("s").join(&rel), vec![i as u8; 50]).unwrap();
            jobs.push(job(src.clone(), dst.clone(), &StorePath::parse(&rel).unwrap(), 50));
        }
        let e = Engine::new(opts(), Arc::new(Silent));
        assert!(e.run(jobs).await.iter().all(|r| r.as_ref().unwrap().method == Method::Streamed));
        assert_eq!(heads.2.load(Ordering::Relaxed), 0, "fresh destinations need no HEAD");
    }

    /// Records each listing's prefix and counts HEADs.
    struct Lists(LocalStore, std::sync::Mutex<Vec<String>>, AtomicU64);

    #[async_trait]
    impl Store for Lists {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn uri(&self, p: &StorePath) -> String {
            self.0.uri(p)
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
            self.1.lock().unwrap().push(prefix.to_string());
            self.0.list(prefix).await
        }
        async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
            self.2.fetch_add(1, Ordering::Relaxed);
            self.0.head(p).await
        }
        async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
            self.0.get_range(p, s, e).await
        }
        async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
            self.0.writer(p, size).await
        }
        async fn delete(&self, p: &StorePath) -> Result<()> {
            self.0.delete(p).await
        }
    }

    /// Six folders at a destination's top level share the root `""`: the whole container. It is
    /// listed once while it holds little else; where it holds more than a page beyond the files
    /// copied (a workspace container full of run outputs), the folders are listed apart instead
    /// — still no HEAD per file.
    #[tokio::test]
    async fn a_common_root_holding_much_more_than_the_copied_files_gives_way_to_their_folders() {
        for unrelated in [10usize, LISTING_PAGE + 100] {
            let dir = tempfile::tempdir().unwrap();
            let other = dir.path().join("d/other");
            std::fs::create_dir_all(&other).unwrap();
            for i in 0..unrelated {
                std::fs::write(other.join(i.to_string()), b"x").unwrap();
            }
            let src = Arc::new(LocalStore::new(dir.path().join("s")));
            let lists = Arc::new(Lists(LocalStore::new(dir.path().join("d")), Default::default(), AtomicU64::new(0)));
            let dst: Arc<dyn Store> = lists.clone();
            let mut jobs = Vec::new();
            for i in 0..6 {
                let rel = format!("v{i}/f");
                std::fs::create_dir_all(dir.path().join(format!("s/v{i}"))).unwrap();
                std::fs::write(dir.path().join("s").join(&rel), vec![i as u8; 50]).unwrap();
                jobs.push(job(src.clone(), dst.clone(), &StorePath::parse(&rel).unwrap(), 50));
            }
            let e = Engine::new(opts(), Arc::new(Silent));
            assert!(e.run(jobs).await.iter().all(|r| r.as_ref().unwrap().method == Method::Streamed));
            let listed = lists.1.lock().unwrap().clone();
            if unrelated < LISTING_PAGE {
                assert_eq!(listed, vec![String::new()], "one listing of the common root");
            } else {
                let mut want = vec![String::new()];
                want.extend((0..6).map(|i| format!("v{i}/")));
                assert_eq!(listed, want, "the root gave up on, then each folder");
            }
            assert_eq!(lists.2.load(Ordering::Relaxed), 0, "fresh destinations need no HEAD");
        }
    }

    #[tokio::test]
    async fn run_keeps_job_order_and_bounds_concurrency() {
        let dir = tempfile::tempdir().unwrap();
        let src = Arc::new(LocalStore::new(dir.path().join("s")));
        let dst = Arc::new(LocalStore::new(dir.path().join("d")));
        let mut jobs = Vec::new();
        for i in 0..20u8 {
            std::fs::create_dir_all(dir.path().join("s")).unwrap();
            std::fs::write(dir.path().join(format!("s/{i}")), vec![i; i as usize * 10]).unwrap();
            jobs.push(job(src.clone(), dst.clone(), &StorePath::parse(&i.to_string()).unwrap(), i as u64 * 10));
        }
        let e = Engine::new(EngineOptions { concurrency: 3, ..opts() }, Arc::new(Silent));
        let rs = e.run(jobs).await;
        for (i, r) in rs.iter().enumerate() {
            assert_eq!(r.as_ref().unwrap().size, i as u64 * 10);
        }
    }
    /// Blocks large enough for a copy to hash them on blocking threads: the digests (sha256
    /// and MD5 in parallel, across blocks) are those of the whole file, in order, as a read's
    /// (hashed inline) are; a one-block file's MD5 is its block's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn digests_hashed_off_the_workers_are_the_whole_files() {
        let block = HASH_INLINE_BELOW * 2;
        let data: Vec<u8> = (0..(block * 5 + 12_345) as u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let (_d, src, dst, p) = setup(&data);
        let e = Engine::new(EngineOptions { block_size: block, memory_budget: block * 8, ..Default::default() }, Arc::new(Silent));
        let r = e.copy(&job(src.clone(), dst.clone(), &p, data.len() as u64)).await.unwrap();
        assert_eq!(r.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!(std::fs::read(dst.root().join("f.bin")).unwrap(), data);
        let d = e.digest(&*src, &p, data.len() as u64, false).await.unwrap();
        assert_eq!((d.sha256, d.md5), (hex::encode(Sha256::digest(&data)), Md5::digest(&data).into()));
        // One block: the whole MD5 is the block's.
        std::fs::write(src.root().join("f.bin"), &data[..block]).unwrap();
        let d = e.digest(&*src, &p, block as u64, false).await.unwrap();
        assert_eq!((d.sha256, d.md5), (hex::encode(Sha256::digest(&data[..block])), Md5::digest(&data[..block]).into()));
        // Every block's memory came back.
        assert_eq!(e.memory.available_permits(), 8);
    }

    /// A destination that copies server-side and says the service checked the source's MD5
    /// (Put Blob From URL with `x-ms-source-content-md5`); counts the reads of it. As a
    /// source, it offers its files by name.
    struct CheckingCopier {
        inner: LocalStore,
        src_root: std::path::PathBuf,
        reads: AtomicU64,
    }

    #[async_trait]
    impl Store for CheckingCopier {
        fn describe(&self) -> String {
            self.inner.describe()
        }
        fn uri(&self, p: &StorePath) -> String {
            self.inner.uri(p)
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities { copy_from_url: true }
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
            self.inner.list(prefix).await
        }
        async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
            self.inner.head(p).await
        }
        async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
            self.reads.fetch_add(1, Ordering::SeqCst);
            self.inner.get_range(p, s, e).await
        }
        async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
            self.inner.writer(p, size).await
        }
        async fn delete(&self, p: &StorePath) -> Result<()> {
            self.inner.delete(p).await
        }
        async fn copy_from_url(&self, p: &StorePath, source: &CopySource, _size: u64, _m: Option<&str>, md5: Option<[u8; 16]>) -> Result<Copied> {
            let data = std::fs::read(self.src_root.join(&source.url)).unwrap();
            std::fs::create_dir_all(self.inner.root()).unwrap();
            std::fs::write(self.inner.root().join(p.as_str()), &data).unwrap();
            Ok(if md5.is_some() { Copied::Checked } else { Copied::Done })
        }
        async fn copy_source(&self, p: &StorePath) -> Result<Option<CopySource>> {
            Ok(Some(CopySource { url: p.as_str().to_string(), bearer: None }))
        }
    }

    /// A server-side copy the service checked against the source's MD5 is not read back as a
    /// check: with the source's sha256 recorded nothing is read; without it what landed is
    /// hashed once (sha256 only) to learn the sha256 to record. Unchecked, it is read back.
    #[tokio::test]
    async fn a_server_side_copy_the_service_checked_is_not_read_back() {
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        let (d, src, _dst, p) = setup(&data);
        let e = Engine::new(opts(), Arc::new(Silent));
        let copier = |n: &str| Arc::new(CheckingCopier { inner: LocalStore::new(d.path().join(n)), src_root: src.root().to_path_buf(), reads: AtomicU64::new(0) });
        let source: Arc<dyn Store> = copier("src");
        let sha = hex::encode(Sha256::digest(&data));
        let md5: [u8; 16] = Md5::digest(&data).into();

        let dst = copier("d1");
        let mut j = job(source.clone(), dst.clone(), &p, 2500);
        j.src_md5 = Some(md5);
        let r = e.copy(&j).await.unwrap();
        assert_eq!((r.method, r.sha256.as_str()), (Method::ServerSide, sha.as_str()));
        assert_eq!(r.checks, [Check::SourceContentMd5, Check::ServiceEchoMd5]);
        assert_eq!(dst.reads.load(Ordering::SeqCst), 3, "what landed is hashed once, to learn its sha256");

        let dst = copier("d2");
        j.dst = dst.clone();
        j.expected_sha256 = Some(sha.clone());
        let r = e.copy(&j).await.unwrap();
        assert_eq!(r.checks, [Check::SourceContentMd5, Check::RecordedSha256, Check::ServiceEchoMd5]);
        assert_eq!(dst.reads.load(Ordering::SeqCst), 0);

        // Without the source's MD5 the service checked nothing: read back and compared.
        let dst = copier("d3");
        j.dst = dst.clone();
        j.src_md5 = None;
        let r = e.copy(&j).await.unwrap();
        assert_eq!(r.checks, [Check::RecordedSha256, Check::ReadBack]);
        assert_eq!(dst.reads.load(Ordering::SeqCst), 3);
    }

    /// Counts the bytes of the blocks a store has handed out and not yet seen dropped, and
    /// the most ever alive at once.
    #[derive(Default)]
    struct Live {
        now: AtomicU64,
        max: AtomicU64,
    }

    /// A block's bytes that tell [`Live`] when they are gone.
    struct Counted(Vec<u8>, Arc<Live>);
    impl AsRef<[u8]> for Counted {
        fn as_ref(&self) -> &[u8] {
            &self.0
        }
    }
    impl Drop for Counted {
        fn drop(&mut self) {
            self.1.now.fetch_sub(self.0.len() as u64, Ordering::SeqCst);
        }
    }

    /// A local store whose reads are [`Counted`].
    struct Counting(LocalStore, Arc<Live>);

    #[async_trait]
    impl Store for Counting {
        fn describe(&self) -> String {
            self.0.describe()
        }
        fn uri(&self, p: &StorePath) -> String {
            self.0.uri(p)
        }
        async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
            self.0.list(prefix).await
        }
        async fn head(&self, p: &StorePath) -> Result<Option<ObjectMeta>> {
            self.0.head(p).await
        }
        async fn get_range(&self, p: &StorePath, s: u64, e: u64) -> Result<Bytes> {
            let data = self.0.get_range(p, s, e).await?.to_vec();
            let now = self.1.now.fetch_add(data.len() as u64, Ordering::SeqCst) + data.len() as u64;
            self.1.max.fetch_max(now, Ordering::SeqCst);
            Ok(Bytes::from_owner(Counted(data, Arc::clone(&self.1))))
        }
        async fn writer(&self, p: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
            self.0.writer(p, size).await
        }
        async fn delete(&self, p: &StorePath) -> Result<()> {
            self.0.delete(p).await
        }
    }

    /// However many files are in flight and however many blocks each reads ahead, the bytes
    /// of file data held at once (read, not yet hashed and written) never exceed the memory
    /// budget: copies (streamed, hashed on blocking threads, written to local files) and
    /// digests alike.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bytes_held_at_once_never_exceed_the_memory_budget() {
        let block = HASH_INLINE_BELOW; // hashed on blocking threads
        let budget = block * 4;
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        let size = block * 5 + 777;
        let files: Vec<Vec<u8>> = (0..8u32).map(|f| (0..size as u32).map(|i| (i.wrapping_mul(f + 7) >> 5) as u8).collect()).collect();
        for (f, data) in files.iter().enumerate() {
            std::fs::write(dir.path().join(format!("src/f{f}.bin")), data).unwrap();
        }
        let live = Arc::new(Live::default());
        let src: Arc<dyn Store> = Arc::new(Counting(LocalStore::new(dir.path().join("src")), Arc::clone(&live)));
        let dst: Arc<dyn Store> = Arc::new(LocalStore::new(dir.path().join("dst")));
        let o = EngineOptions { concurrency: 8, block_size: block, memory_budget: budget, read_ahead: 4, ..Default::default() };
        let e = Engine::new(o, Arc::new(Silent));
        let paths: Vec<StorePath> = (0..files.len()).map(|f| StorePath::parse(&format!("f{f}.bin")).unwrap()).collect();
        let jobs = paths.iter().map(|p| job(Arc::clone(&src), Arc::clone(&dst), p, size as u64)).collect();
        for r in e.run(jobs).await {
            r.unwrap();
        }
        for (f, data) in files.iter().enumerate() {
            assert_eq!(&std::fs::read(dir.path().join(format!("dst/f{f}.bin"))).unwrap(), data);
        }
        let copied = live.max.load(Ordering::SeqCst);
        // Eight digests at once, as `snapshot export` finds the sha256 of files.
        let digests = futures::future::join_all(paths.iter().map(|p| e.digest(&*src, p, size as u64, false))).await;
        for (d, data) in digests.into_iter().zip(&files) {
            assert_eq!(d.unwrap().sha256, hex::encode(Sha256::digest(data)));
        }
        let max = live.max.load(Ordering::SeqCst);
        assert!(copied > block as u64, "more than one block was in flight: {copied}");
        assert!(max <= budget as u64, "{max} bytes held at once, budget {budget}");
        assert_eq!(live.now.load(Ordering::SeqCst), 0, "every block let go");
    }
}
