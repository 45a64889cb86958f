//! Azure Blob storage as a [`Store`]: list (marker paging, with metadata), HEAD, ranged GET,
//! block uploads with transactional MD5 (Put Block + Put Block List), server-side Copy Blob,
//! metadata. It speaks the REST API of shared/specs/storage/blob over reqwest so that all three
//! credential kinds (Shared Key, SAS, bearer) work the same way; the official
//! `azure_storage_blob` crate has no Shared Key support, which datastores' `listSecrets` needs.

use super::{
    Capabilities, Copied, CopySource, FinishInfo, Hold, ObjectMeta, ObjectWriter, RangeRead, Read, Store, StorageCredential, StorePath,
    SHA256_METADATA, SOURCE_METADATA,
};
use crate::error::{Error, Result};
use super::rest::{Service, StorageRest};
use crate::http::RetryPolicy;
use crate::redact;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use md5::Digest as _;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Largest blob copied with one synchronous Copy Blob (the service's limit is 256 MiB).
const SYNC_COPY_LIMIT: u64 = 256 * 1024 * 1024;

/// What [`BlobStore::list_pages`] did.
#[derive(Debug)]
pub struct Listed {
    /// Pages (requests) it took.
    pub pages: usize,
    /// Whether it reached the last page (not stopped by `max_pages` or the callback).
    pub complete: bool,
    /// Names left out because they are not plain paths.
    pub refused: Vec<String>,
}

/// A blob container at a given account endpoint.
#[derive(Debug, Clone)]
pub struct BlobStore {
    /// `<account url>/<container>` without query.
    url: Url,
    account: String,
    container: String,
    rest: StorageRest,
    /// What this process learned of the account endpoint's server-side copies (shared by
    /// every store of that endpoint: each step of a command opens fresh stores).
    endpoint: Arc<Endpoint>,
}

/// What one process learned about the server-side copies of one account endpoint.
#[derive(Debug)]
struct Endpoint {
    /// Whether the service offers Put Blob/Block From URL: asked once, by the first copy
    /// (the copies in flight meanwhile wait for its answer).
    from_url: tokio::sync::OnceCell<bool>,
    /// The smallest blob size whose Copy Blob failed here (`u64::MAX`: none), when it was at
    /// least [`LARGE_COPY`]: blobs at least that large stream instead for the rest of the run.
    copy_failed_at: AtomicU64,
}

/// Copy Blobs of blobs this large that fail are remembered (see [`Endpoint::copy_failed_at`]).
const LARGE_COPY: u64 = 64 * 1024 * 1024;

impl Endpoint {
    /// The one state of `account_url` in this process.
    fn of(account_url: &Url) -> Arc<Endpoint> {
        static ALL: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Arc<Endpoint>>>> = std::sync::LazyLock::new(Default::default);
        let mut key = account_url.clone();
        key.set_query(None);
        key.set_fragment(None);
        let key = key.as_str().trim_end_matches('/').to_ascii_lowercase();
        let mut all = ALL.lock().unwrap_or_else(|e| e.into_inner());
        all.entry(key)
            .or_insert_with(|| Arc::new(Endpoint { from_url: tokio::sync::OnceCell::new(), copy_failed_at: AtomicU64::new(u64::MAX) }))
            .clone()
    }

    /// Whether a Copy Blob of `size` bytes is not worth trying: one at least as large failed
    /// here earlier in this run.
    fn skip_copy(&self, size: u64) -> bool {
        skip_copy(self.copy_failed_at.load(Ordering::Relaxed), size)
    }

    /// Remembers a failed Copy Blob of `size` bytes (only large ones count).
    fn copy_failed(&self, size: u64) {
        if size >= LARGE_COPY {
            self.copy_failed_at.fetch_min(size, Ordering::Relaxed);
        }
    }
}

/// [`Endpoint::skip_copy`] as pure logic: `failed_at` is the smallest large size that failed.
fn skip_copy(failed_at: u64, size: u64) -> bool {
    size >= LARGE_COPY && size >= failed_at
}

/// Largest blob copied with one Put Blob From URL; larger ones go as parallel Put Block From URL.
const PUT_FROM_URL_LIMIT: u64 = 64 * 1024 * 1024;
/// Bytes per Put Block From URL (grown for blobs that would need more than 50,000 blocks).
const FROM_URL_BLOCK: u64 = 16 * 1024 * 1024;
/// Put Block From URL requests of one blob at once.
const FROM_URL_IN_FLIGHT: usize = 8;

#[derive(Debug, Deserialize)]
#[serde(rename = "EnumerationResults")]
struct ListResult {
    #[serde(rename = "Blobs", default)]
    blobs: Blobs,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct Blobs {
    #[serde(rename = "Blob", default)]
    items: Vec<XmlBlob>,
}

#[derive(Debug, Deserialize)]
struct XmlBlob {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Properties")]
    properties: XmlProps,
    #[serde(rename = "Metadata", default)]
    metadata: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct XmlProps {
    #[serde(rename = "Content-Length")]
    content_length: u64,
    #[serde(rename = "Content-MD5", default)]
    content_md5: Option<String>,
    #[serde(rename = "Etag", default)]
    etag: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename = "EnumerationResults")]
struct ContainerList {
    #[serde(rename = "Containers", default)]
    containers: Containers,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
struct Containers {
    #[serde(rename = "Container", default)]
    items: Vec<XmlContainer>,
}

#[derive(Debug, Deserialize)]
struct XmlContainer {
    #[serde(rename = "Name")]
    name: String,
}

/// Names of the account's containers that start with `prefix` (List Containers; needs an
/// account-level credential: the key, an account SAS, or a token with list rights).
pub async fn list_containers(
    http: reqwest::Client,
    account_url: &Url,
    cred: StorageCredential,
    retry: RetryPolicy,
    prefix: &str,
) -> Result<Vec<String>> {
    let rest = StorageRest { http, cred, retry, service: Service::Blob };
    let mut out = Vec::new();
    super::rest::list_account(&rest, account_url, &[], prefix, |text| {
        let parsed: ContainerList =
            quick_xml::de::from_str(text).map_err(|e| Error::Service(format!("listing containers: unexpected XML: {e}")))?;
        out.extend(parsed.containers.items.into_iter().map(|c| c.name));
        Ok(parsed.next_marker)
    })
    .await?;
    out.sort();
    Ok(out)
}

fn md5_from_b64(s: Option<&str>) -> Option<[u8; 16]> {
    let v = B64.decode(s?.trim()).ok()?;
    v.try_into().ok()
}

impl BlobStore {
    /// `account_url` is the blob service URL of the account (see `Cloud::blob_account_url`).
    pub fn new(
        http: reqwest::Client,
        account_url: &Url,
        account: &str,
        container: &str,
        cred: StorageCredential,
        retry: RetryPolicy,
    ) -> Result<Self> {
        if container.len() < 3 || container.len() > 63 {
            return Err(Error::usage(format!("container name '{container}' must have 3 to 63 characters")));
        }
        let mut url = account_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|_| Error::usage(format!("blob endpoint {} cannot take a path", redact::url(account_url))))?
            .pop_if_empty()
            .push(container);
        let rest = StorageRest { http, cred, retry, service: Service::Blob };
        Ok(BlobStore { url, account: account.to_string(), container: container.to_string(), rest, endpoint: Endpoint::of(account_url) })
    }

    async fn send(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        self.rest.send(method, url, headers, body).await
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    pub fn container(&self) -> &str {
        &self.container
    }

    fn blob_url(&self, name: &str) -> Url {
        let mut u = self.url.clone();
        {
            let mut segs = u.path_segments_mut().expect("checked in new");
            for part in name.split('/') {
                segs.push(part);
            }
        }
        u
    }

    /// Objects under `prefix`, at most `limit` of them (a blob whose name is not a plain path
    /// is left out with a log line; [`BlobStore::list_checked`] returns those too).
    pub async fn list_limited(&self, prefix: &str, limit: Option<usize>) -> Result<Vec<ObjectMeta>> {
        let (out, refused) = self.list_inner(prefix, limit).await?;
        for b in refused {
            tracing::warn!(blob = %b, "skipping a blob whose name is not a plain path");
        }
        Ok(out)
    }

    /// Every object under `prefix`, plus the names of the blobs left out because their names
    /// are not plain paths (an empty, `.` or `..` segment: they would land elsewhere, or
    /// nowhere, in a folder or another container), for the caller to report.
    pub async fn list_checked(&self, prefix: &str) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        self.list_inner(prefix, None).await
    }

    /// One flat listing of `prefix` (with metadata), page by page (`page_size` blobs a page;
    /// the service's maximum, 5000, when `None`; at most `max_pages` pages): `each` gets every
    /// object as its page arrives, so no more than a page is held, and stops the listing by
    /// answering `false`. Returns the pages (requests) it took, whether it reached the end, and
    /// the names left out because they are not plain paths.
    pub async fn list_pages(&self, prefix: &str, page_size: Option<usize>, max_pages: Option<usize>, mut each: impl FnMut(ObjectMeta) -> bool) -> Result<Listed> {
        let mut refused = Vec::new();
        let mut marker: Option<String> = None;
        let mut pages = 0;
        loop {
            if max_pages.is_some_and(|m| pages >= m) {
                return Ok(Listed { pages, complete: false, refused });
            }
            let mut u = self.url.clone();
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("restype", "container").append_pair("comp", "list").append_pair("include", "metadata");
                if !prefix.is_empty() {
                    q.append_pair("prefix", prefix);
                }
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
                if let Some(l) = page_size {
                    q.append_pair("maxresults", &l.clamp(1, 5000).to_string());
                }
            }
            let (_, body) = self.rest.fetch(Method::GET, u, HeaderMap::new(), None).await?;
            pages += 1;
            let parsed: ListResult = quick_xml::de::from_reader(&body[..])
                .map_err(|e| Error::Service(format!("listing {}: unexpected XML: {e}", redact::url(&self.url))))?;
            for b in parsed.blobs.items {
                let Ok(path) = StorePath::parse(&b.name) else {
                    refused.push(b.name);
                    continue;
                };
                let more = each(ObjectMeta {
                    path,
                    size: b.properties.content_length,
                    etag: b.properties.etag,
                    content_md5: md5_from_b64(b.properties.content_md5.as_deref()),
                    sha256: b.metadata.get(SHA256_METADATA).cloned(),
                    source: b.metadata.get(SOURCE_METADATA).cloned(),
                });
                if !more {
                    return Ok(Listed { pages, complete: false, refused });
                }
            }
            match parsed.next_marker.filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m),
                None => return Ok(Listed { pages, complete: true, refused }),
            }
        }
    }

    async fn list_inner(&self, prefix: &str, limit: Option<usize>) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        let mut out = Vec::new();
        let Listed { refused, .. } = self
            .list_pages(prefix, limit, None, |m| {
                out.push(m);
                limit.is_none_or(|l| out.len() < l)
            })
            .await?;
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((out, refused))
    }

    /// Creates the container; an existing one is fine.
    pub async fn create_if_missing(&self) -> Result<()> {
        let mut u = self.url.clone();
        u.query_pairs_mut().append_pair("restype", "container");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        match self.send(Method::PUT, u, h, Some(Bytes::new())).await {
            Ok(_) => Ok(()),
            Err(Error::Conflict(m)) if m.contains("ContainerAlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Uploads a small block blob in one request, with its MD5 checked by the service.
    pub async fn put_small(&self, path: &StorePath, data: Bytes, info: &FinishInfo) -> Result<reqwest::Response> {
        let mut h = HeaderMap::new();
        h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        h.insert("content-md5", HeaderValue::from_str(&B64.encode(info.md5)).expect("base64"));
        super::insert_verified(&mut h, &info.sha256, info.source.as_deref())?;
        self.send(Method::PUT, self.blob_url(path.as_str()), h, Some(data)).await
    }

    /// The From URL copy itself (see [`Store::copy_from_url`]); `probe`: a first try, not retried.
    async fn copy_by_from_url(&self, path: &StorePath, source: &CopySource, size: u64, source_if_match: Option<&str>, source_md5: Option<[u8; 16]>, probe: bool) -> Result<Copied> {
        let rest = if probe { StorageRest { retry: RetryPolicy { max_retries: 0, ..self.rest.retry.clone() }, ..self.rest.clone() } } else { self.rest.clone() };
        let mut base = HeaderMap::new();
        base.insert(
            "x-ms-copy-source",
            HeaderValue::from_str(&source.url).map_err(|_| Error::Internal("copy source is not a header value".into()))?,
        );
        if let Some(t) = &source.bearer {
            let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| Error::Auth("the storage token is not a valid header value".into()))?;
            base.insert("x-ms-copy-source-authorization", v);
        }
        if let Some(tag) = source_if_match {
            base.insert("x-ms-source-if-match", super::etag_header(tag)?);
        }
        base.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        let url = self.blob_url(path.as_str());
        if size <= PUT_FROM_URL_LIMIT {
            let mut h = base;
            h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
            if let Some(m) = source_md5 {
                h.insert("x-ms-source-content-md5", HeaderValue::from_str(&B64.encode(m)).expect("base64"));
            }
            let Some(resp) = rest.send_conditional(Method::PUT, url, h, Some(Bytes::new())).await? else {
                return Ok(Copied::SourceChanged);
            };
            // The service checked the source's MD5 and echoes the MD5 of what it wrote.
            let echoed = md5_from_b64(header_str(resp.headers(), "content-md5"));
            return Ok(match source_md5 {
                Some(m) if echoed == Some(m) => Copied::Checked,
                Some(m) if echoed.is_some() => {
                    return Err(Error::Corrupted(format!(
                        "corrupted in transfer: {} was copied with MD5 {} but the source has {}",
                        self.uri(path),
                        B64.encode(echoed.unwrap_or_default()),
                        B64.encode(m)
                    )))
                }
                _ => Copied::Done,
            });
        }
        // Large: Put Block From URL of each range, several at once, then Put Block List.
        let block = FROM_URL_BLOCK.max(size.div_ceil(50_000));
        let ranges: Vec<(u64, u64)> = (0..size.div_ceil(block)).map(|i| (i * block, ((i + 1) * block).min(size))).collect();
        let ids: Vec<String> = (0..ranges.len()).map(|i| B64.encode(format!("aml-failover-block-{i:08}"))).collect();
        let put_block = |i: usize, rest: StorageRest| {
            let (a, b) = ranges[i];
            let mut u = self.blob_url(path.as_str());
            u.query_pairs_mut().append_pair("comp", "block").append_pair("blockid", &ids[i]);
            let mut h = base.clone();
            async move {
                h.insert("x-ms-source-range", HeaderValue::from_str(&format!("bytes={a}-{}", b - 1)).expect("ascii"));
                let Some(resp) = rest.send_conditional(Method::PUT, u, h, Some(Bytes::new())).await? else {
                    return Ok(false);
                };
                // A service that took this for a plain (empty) Put Block answers no checksum of
                // the range, or the MD5 of nothing.
                let md5 = md5_from_b64(header_str(resp.headers(), "content-md5"));
                let empty: [u8; 16] = md5::Md5::digest([]).into();
                if (md5.is_none() && !resp.headers().contains_key("x-ms-content-crc64")) || md5 == Some(empty) {
                    return Err(Error::Service(format!("Put Block From URL of block {i} came back without the checksum of the range it read")));
                }
                Ok(true)
            }
        };
        // A first try sends one block alone: the others only once the service showed it can.
        let first = if probe { 1 } else { 0 };
        if probe && !put_block(0, rest.clone()).await? {
            return Ok(Copied::SourceChanged);
        }
        let mut rest_blocks = futures::stream::iter(first..ranges.len()).map(|i| put_block(i, self.rest.clone())).buffer_unordered(FROM_URL_IN_FLIGHT);
        while let Some(r) = rest_blocks.next().await {
            if !r? {
                return Ok(Copied::SourceChanged);
            }
        }
        drop(rest_blocks);
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &ids {
            xml.push_str("<Latest>");
            xml.push_str(id);
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        let mut u = self.blob_url(path.as_str());
        u.query_pairs_mut().append_pair("comp", "blocklist");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(xml.len()));
        if let Some(m) = source_md5 {
            // Not checked by the service (each block was); kept as the blob's Content-MD5.
            h.insert("x-ms-blob-content-md5", HeaderValue::from_str(&B64.encode(m)).expect("base64"));
        }
        self.rest.send(Method::PUT, u, h, Some(Bytes::from(xml))).await?;
        Ok(Copied::Done)
    }

    /// The account endpoint's URL (the container's without its last segment).
    fn account_url(&self) -> Url {
        let mut u = self.url.clone();
        if let Ok(mut segs) = u.path_segments_mut() {
            segs.pop();
        }
        u
    }

    /// Copy Blob (the fallback where the service has no From URL), sent once: it is an
    /// optimisation whose fallback (streaming) is the retry, and a re-sent Copy Blob restarts
    /// the service's copy from the start. Once a large one failed at this endpoint, blobs at
    /// least as large are not tried again in this run. A copy given up on while pending is
    /// aborted, so that it cannot land later over what the fallback wrote.
    async fn copy_blob(&self, path: &StorePath, source: &CopySource, size: u64, source_if_match: Option<&str>) -> Result<Copied> {
        if source.bearer.is_some() {
            return Err(Error::Service(format!("{} cannot copy from a source that takes only Entra ID (no Put Blob From URL)", self.describe())));
        }
        if self.endpoint.skip_copy(size) {
            return Err(Error::Unavailable(format!(
                "a Copy Blob of {} bytes failed at {} earlier in this run; blobs this large are not copied server-side there again",
                self.endpoint.copy_failed_at.load(Ordering::Relaxed),
                redact::url(&self.account_url())
            )));
        }
        let mut h = HeaderMap::new();
        if let Some(tag) = source_if_match {
            h.insert("x-ms-source-if-match", super::etag_header(tag)?);
        }
        h.insert(
            "x-ms-copy-source",
            HeaderValue::from_str(&source.url).map_err(|_| Error::Internal("copy source is not a header value".into()))?,
        );
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        if size <= SYNC_COPY_LIMIT {
            h.insert("x-ms-requires-sync", HeaderValue::from_static("true"));
        }
        let once = StorageRest { retry: RetryPolicy { max_retries: 0, ..self.rest.retry.clone() }, ..self.rest.clone() };
        let resp = match once.send_conditional(Method::PUT, self.blob_url(path.as_str()), h, Some(Bytes::new())).await {
            Ok(Some(resp)) => resp,
            Ok(None) => return Ok(Copied::SourceChanged),
            Err(e @ Error::Auth(_)) => return Err(e),
            Err(e) => {
                // No answer, or a failure: the service may still have a copy under way.
                self.endpoint.copy_failed(size);
                self.abort_pending_copy(path, None).await;
                return Err(e);
            }
        };
        let copy_id = header_str(resp.headers(), "x-ms-copy-id").map(str::to_string);
        let mut status = header_str(resp.headers(), "x-ms-copy-status").unwrap_or("success").to_string();
        // Asynchronous copy: poll until the service says it is done.
        let mut polls = 0u32;
        while status == "pending" {
            polls += 1;
            let head = if polls > 3600 {
                Err(Error::Unavailable(format!("server-side copy to {} did not finish in time", self.uri(path))))
            } else {
                tokio::time::sleep(Duration::from_millis(if polls < 10 { 100 } else { 1000 })).await;
                self.send(Method::HEAD, self.blob_url(path.as_str()), HeaderMap::new(), None).await
            };
            match head {
                Ok(r) => status = header_str(r.headers(), "x-ms-copy-status").unwrap_or("success").to_string(),
                Err(e) => {
                    self.endpoint.copy_failed(size);
                    self.abort_pending_copy(path, copy_id).await;
                    return Err(e);
                }
            }
        }
        if status != "success" {
            self.endpoint.copy_failed(size);
            return Err(Error::Service(format!("server-side copy to {} ended '{status}'", self.uri(path))));
        }
        Ok(Copied::Done)
    }

    /// Aborts the pending Copy Blob `copy_id` to `path` (or, without one, whichever a HEAD
    /// shows pending there): Abort Copy Blob leaves the blob empty, with nothing pending, so
    /// the copy cannot complete later over what the streaming fallback writes. Best effort:
    /// logged, never an error of its own.
    async fn abort_pending_copy(&self, path: &StorePath, copy_id: Option<String>) {
        let id = match copy_id {
            Some(id) => id,
            None => match self.send(Method::HEAD, self.blob_url(path.as_str()), HeaderMap::new(), None).await {
                Ok(r) if header_str(r.headers(), "x-ms-copy-status") == Some("pending") => match header_str(r.headers(), "x-ms-copy-id") {
                    Some(id) => id.to_string(),
                    None => return,
                },
                _ => return,
            },
        };
        let mut h = HeaderMap::new();
        h.insert("x-ms-copy-action", HeaderValue::from_static("abort"));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        match self.request(Method::PUT, path.as_str(), &[("comp", "copy"), ("copyid", &id)], h, Some(Bytes::new())).await {
            Ok(_) => tracing::info!(blob = %self.uri(path), "aborted the pending server-side copy given up on"),
            // 409 NoPendingCopyOperation: it ended meanwhile (the fallback overwrites it).
            Err(e) => tracing::info!(blob = %self.uri(path), "could not abort the server-side copy given up on: {e}"),
        }
    }

    /// A ranged GET (see [`Store::read_range`]); `range_md5`: ask for the service's MD5 of the
    /// range (ranges up to 4 MiB).
    async fn read(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>, range_md5: bool) -> Result<Read> {
        if end <= start {
            return Ok(Read::Data(RangeRead { data: Bytes::new(), md5: None }));
        }
        let (mut h, mut want_md5) = super::rest::range_headers(start, end);
        if !range_md5 {
            h.remove("x-ms-range-get-content-md5");
            want_md5 = false;
        }
        if let Some(tag) = if_match {
            h.insert(reqwest::header::IF_MATCH, super::etag_header(tag)?);
        }
        let url = self.blob_url(path.as_str());
        let Some((headers, data)) = self.rest.fetch_conditional(Method::GET, url.clone(), h, None).await? else {
            return Ok(Read::Changed);
        };
        super::rest::range_answer(&headers, data, want_md5, if_match, &url, end - start)
    }

    /// One request on the blob `name` of this container with extra query pairs (e.g.
    /// `comp=lease`), signed and retried like every other; a non-2xx answer is an error whose
    /// message carries the status and `x-ms-error-code` (as `create_if_missing` relies on).
    pub async fn request(&self, method: Method, name: &str, query: &[(&str, &str)], headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        let mut u = self.blob_url(name);
        if !query.is_empty() {
            let mut q = u.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        self.send(method, u, headers, body).await
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

#[async_trait]
impl Store for BlobStore {
    fn describe(&self) -> String {
        redact::url(&self.url)
    }

    fn uri(&self, path: &StorePath) -> String {
        redact::url(&self.blob_url(path.as_str()))
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { copy_from_url: true }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        self.list_limited(prefix, None).await
    }

    async fn list_wanted(&self, prefix: &str, wanted: &std::collections::HashSet<String>, max_seen: usize) -> Result<Option<Vec<ObjectMeta>>> {
        let (mut seen, mut out) = (0usize, Vec::new());
        let listed = self
            .list_pages(prefix, None, None, |m| {
                seen += 1;
                if wanted.contains(m.path.as_str()) {
                    out.push(m);
                }
                seen <= max_seen
            })
            .await?;
        Ok(listed.complete.then_some(out))
    }

    async fn head(&self, path: &StorePath) -> Result<Option<ObjectMeta>> {
        match self.send(Method::HEAD, self.blob_url(path.as_str()), HeaderMap::new(), None).await {
            Ok(resp) => {
                let h = resp.headers();
                Ok(Some(ObjectMeta {
                    path: path.clone(),
                    size: header_str(h, "content-length").and_then(|v| v.parse().ok()).unwrap_or(0),
                    etag: header_str(h, "etag").map(str::to_string),
                    content_md5: md5_from_b64(header_str(h, "content-md5")),
                    sha256: header_str(h, &format!("x-ms-meta-{SHA256_METADATA}")).map(str::to_string),
                    source: header_str(h, &format!("x-ms-meta-{SOURCE_METADATA}")).map(str::to_string),
                }))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_range(&self, path: &StorePath, start: u64, end: u64) -> Result<Bytes> {
        match self.read_range(path, start, end, None).await? {
            Read::Data(r) => Ok(r.data),
            Read::Changed => Err(Error::Internal("a read without If-Match found a change".into())),
        }
    }

    /// A ranged GET with `If-Match` (412: changed) and, for ranges the service hashes
    /// (≤ 4 MiB), `x-ms-range-get-content-md5: true`: its `Content-MD5` is then the service's MD5
    /// of the range it sent.
    async fn read_range(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>) -> Result<Read> {
        self.read(path, start, end, if_match, true).await
    }

    async fn read_range_unhashed(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>) -> Result<Read> {
        self.read(path, start, end, if_match, false).await
    }

    async fn writer_checked(&self, path: &StorePath, size: u64, md5: Option<[u8; 16]>) -> Result<Box<dyn ObjectWriter>> {
        match md5 {
            Some(md5) if size > STREAMED_PUT_FROM && size <= SINGLE_PUT_LIMIT => Ok(Box::new(StreamedPut::start(self, path, size, md5))),
            _ => self.writer(path, size).await,
        }
    }

    async fn writer(&self, path: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
        Ok(Box::new(BlobWriter {
            store: self.clone(),
            path: path.clone(),
            blocks: Vec::new(),
            size,
            pending_small: None,
            inflight: Default::default(),
            confirmed: true,
        }))
    }

    async fn delete(&self, path: &StorePath) -> Result<()> {
        match self.send(Method::DELETE, self.blob_url(path.as_str()), HeaderMap::new(), None).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn copy_source(&self, path: &StorePath) -> Result<Option<CopySource>> {
        let mut u = self.blob_url(path.as_str());
        match &self.rest.cred {
            StorageCredential::AccountKey(key) => {
                let sas = azure_sharedkey::sas::ServiceSas {
                    account: self.account.clone(),
                    container: self.container.clone(),
                    blob: Some(path.as_str().to_string()),
                    permissions: "r".into(),
                    start: Some(azure_sharedkey::sas::sas_time(-300)),
                    expiry: azure_sharedkey::sas::sas_time(3600),
                    protocol: None,
                };
                u.set_query(Some(&sas.token(key)));
            }
            StorageCredential::Sas(sas) => u.set_query(Some(sas.trim_start_matches('?'))),
            StorageCredential::Anonymous => {}
            // Entra ID only: the destination's service reads with our token
            // (x-ms-copy-source-authorization: Bearer).
            StorageCredential::Bearer(tp) => {
                let token = tp.token(super::STORAGE_SCOPE).await?;
                return Ok(Some(CopySource { url: u.to_string(), bearer: Some(token) }));
            }
        }
        Ok(Some(CopySource { url: u.to_string(), bearer: None }))
    }

    /// Put Blob From URL (up to [`PUT_FROM_URL_LIMIT`], the source's MD5 checked by the
    /// service) or parallel Put Block From URL + Put Block List, synchronous; where the service
    /// has neither (Azurite 3.35), Copy Blob, which cannot take a bearer source. Whether the
    /// service has From URL is asked once per account endpoint and process, by the first copy.
    async fn copy_from_url(&self, path: &StorePath, source: &CopySource, size: u64, source_if_match: Option<&str>, source_md5: Option<[u8; 16]>) -> Result<Copied> {
        let mut probed: Option<Copied> = None;
        let from_url = *self
            .endpoint
            .from_url
            .get_or_try_init(|| async {
                // The first try is not retried: a service without From URL answers at once.
                match self.copy_by_from_url(path, source, size, source_if_match, source_md5, true).await {
                    Ok(c) => {
                        probed = Some(c);
                        Ok(true)
                    }
                    Err(e) if !matches!(e, Error::Auth(_) | Error::Corrupted(_)) => {
                        tracing::info!("{} offers no Put Blob/Block From URL ({e}); using Copy Blob", redact::url(&self.account_url()));
                        Ok(false)
                    }
                    // Says nothing of the service: the next copy asks again.
                    Err(e) => Err(e),
                }
            })
            .await?;
        if let Some(c) = probed {
            return Ok(c);
        }
        if from_url {
            return self.copy_by_from_url(path, source, size, source_if_match, source_md5, false).await;
        }
        self.copy_blob(path, source, size, source_if_match).await
    }

    async fn set_verified(&self, path: &StorePath, sha256: &str, source: Option<&str>) -> Result<()> {
        let mut u = self.blob_url(path.as_str());
        u.query_pairs_mut().append_pair("comp", "metadata");
        let mut h = HeaderMap::new();
        super::insert_verified(&mut h, sha256, source)?;
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        self.send(Method::PUT, u, h, Some(Bytes::new())).await?;
        Ok(())
    }
}

/// Largest blob sent as one Put Blob (the service's limit: 5000 MiB).
const SINGLE_PUT_LIMIT: u64 = 5000 * 1024 * 1024;
/// Blobs with a known MD5 above this size go as one streamed Put Blob (smaller ones are one
/// block, sent as one Put Blob anyway).
const STREAMED_PUT_FROM: u64 = 4 * 1024 * 1024;

/// Writes a blob whose MD5 is known before sending as one Put Blob whose body streams the
/// blocks as they come, with that MD5 as `Content-MD5`: the service refuses the blob unless the
/// bytes it received have that MD5, and echoes it — so what landed is confirmed without a
/// read-back. Nothing is visible before the whole body arrived; a writer dropped before
/// `finish` aborts the request (the service never sees the whole body and keeps nothing).
struct StreamedPut {
    store: BlobStore,
    path: StorePath,
    md5: [u8; 16],
    tx: Option<tokio::sync::mpsc::Sender<(Bytes, Hold)>>,
    request: Option<tokio::task::JoinHandle<Result<reqwest::Response>>>,
}

impl StreamedPut {
    fn start(store: &BlobStore, path: &StorePath, size: u64, md5: [u8; 16]) -> StreamedPut {
        let (tx, rx) = tokio::sync::mpsc::channel::<(Bytes, Hold)>(1);
        // Each block's memory permit is kept until the next block is asked for (the body has
        // taken the previous one by then).
        let body = futures::stream::unfold((rx, None::<Hold>), |(mut rx, _previous)| async move {
            rx.recv().await.map(|(b, hold)| (Ok::<Bytes, std::io::Error>(b), (rx, Some(hold))))
        });
        let mut h = HeaderMap::new();
        h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(size));
        h.insert("content-md5", HeaderValue::from_str(&B64.encode(md5)).expect("base64"));
        let (rest, url) = (store.rest.clone(), store.blob_url(path.as_str()));
        let request = tokio::spawn(async move { rest.send_stream(Method::PUT, url, h, reqwest::Body::wrap_stream(body)).await });
        StreamedPut { store: store.clone(), path: path.clone(), md5, tx: Some(tx), request: Some(request) }
    }

    async fn outcome(&mut self) -> Result<reqwest::Response> {
        let task = self.request.take().ok_or_else(|| Error::Internal("streamed Put Blob already finished".into()))?;
        task.await.map_err(|e| Error::Internal(format!("streamed Put Blob task failed: {e}")))?
    }
}

impl Drop for StreamedPut {
    fn drop(&mut self) {
        if let Some(r) = &self.request {
            r.abort();
        }
    }
}

#[async_trait]
impl ObjectWriter for StreamedPut {
    fn uses_block_md5(&self) -> bool {
        false
    }

    async fn write_block(&mut self, data: Bytes, _md5: [u8; 16], hold: Hold) -> Result<()> {
        let tx = self.tx.as_ref().ok_or_else(|| Error::Internal("streamed Put Blob already finished".into()))?;
        if tx.send((data, hold)).await.is_err() {
            // The request ended before its body did: its answer says why.
            self.tx = None;
            self.outcome().await?;
            return Err(Error::Unavailable(format!("{}: the service closed the upload early", self.store.uri(&self.path))));
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>, info: FinishInfo) -> Result<bool> {
        self.tx = None;
        let resp = self.outcome().await?;
        let what = self.store.uri(&self.path);
        if !landed(&resp, self.md5, &what)? || info.md5 != self.md5 {
            return Ok(false);
        }
        // The sha256 is known only now: recorded with a second, small request.
        self.store.set_verified(&self.path, &info.sha256, info.source.as_deref()).await?;
        Ok(true)
    }
}

/// Blocks of one blob sent at once.
const BLOCKS_IN_FLIGHT: usize = 4;

/// Writes a blob as uncommitted blocks, each with transactional MD5, up to
/// [`BLOCKS_IN_FLIGHT`] at a time; `finish` waits for them and commits the block list (with the
/// whole-object MD5 and sha256 metadata). A blob that fits one block is sent with a single Put
/// Blob instead.
struct BlobWriter {
    store: BlobStore,
    path: StorePath,
    blocks: Vec<String>,
    /// The object's size: a first block that is the whole object goes up as one Put Blob.
    size: u64,
    /// The whole object when it is one block, sent by `finish` as one Put Blob.
    pending_small: Option<(Bytes, [u8; 16], Hold)>,
    /// Block uploads under way; each yields whether the service confirmed what it received.
    inflight: std::collections::VecDeque<tokio::task::JoinHandle<Result<bool>>>,
    /// Every request so far had its body's MD5 echoed back by the service, and it matched.
    confirmed: bool,
}

/// Checks the service's echo of the MD5 of a body it received. A different echo means the
/// bytes that landed are not the bytes that were hashed; no echo means "unconfirmed".
fn landed(resp: &reqwest::Response, sent: [u8; 16], what: &str) -> Result<bool> {
    match resp.headers().get("content-md5").and_then(|v| v.to_str().ok()) {
        None => Ok(false),
        Some(echo) if echo.trim() == B64.encode(sent) => Ok(true),
        Some(echo) => Err(Error::Corrupted(format!(
            "corrupted in transfer: the service received different bytes for {what} (MD5 {echo}, sent {}); nothing was published",
            B64.encode(sent)
        ))),
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        // Not finished (or failed): stop the block uploads still under way. Uncommitted blocks
        // are never part of the blob; the service discards them.
        for h in &self.inflight {
            h.abort();
        }
    }
}

impl BlobWriter {
    async fn wait_one(&mut self) -> Result<()> {
        if let Some(h) = self.inflight.pop_front() {
            let ok = h.await.map_err(|e| Error::Internal(format!("block upload task failed: {e}")))??;
            self.confirmed &= ok;
        }
        Ok(())
    }

    async fn put_block(&mut self, data: Bytes, md5: [u8; 16], hold: Hold) -> Result<()> {
        while self.inflight.len() >= BLOCKS_IN_FLIGHT {
            self.wait_one().await?;
        }
        let id = B64.encode(format!("aml-failover-block-{:08}", self.blocks.len()));
        let mut u = self.store.blob_url(self.path.as_str());
        u.query_pairs_mut().append_pair("comp", "block").append_pair("blockid", &id);
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        h.insert("content-md5", HeaderValue::from_str(&B64.encode(md5)).expect("base64"));
        let store = self.store.clone();
        let what = self.store.uri(&self.path);
        self.inflight.push_back(tokio::spawn(async move {
            let resp = store.send(Method::PUT, u, h, Some(data)).await?;
            drop(hold);
            landed(&resp, md5, &what)
        }));
        self.blocks.push(id);
        Ok(())
    }
}

#[async_trait]
impl ObjectWriter for BlobWriter {
    async fn write_block(&mut self, data: Bytes, md5: [u8; 16], hold: Hold) -> Result<()> {
        // Never hold a block back while waiting for another: with a shared memory budget,
        // files each holding one block and waiting for a second could wait on each other.
        if self.blocks.is_empty() && self.pending_small.is_none() && data.len() as u64 == self.size {
            self.pending_small = Some((data, md5, hold));
            return Ok(());
        }
        if let Some((d, m, h)) = self.pending_small.take() {
            self.put_block(d, m, h).await?;
        }
        self.put_block(data, md5, hold).await
    }

    async fn finish(mut self: Box<Self>, info: FinishInfo) -> Result<bool> {
        while !self.inflight.is_empty() {
            self.wait_one().await?;
        }
        if self.blocks.is_empty() {
            let (data, _, _hold) = self.pending_small.take().unwrap_or((Bytes::new(), info.md5, Hold::none()));
            let resp = self.store.put_small(&self.path, data, &info).await?;
            return landed(&resp, info.md5, &self.store.uri(&self.path));
        }
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &self.blocks {
            xml.push_str("<Latest>");
            xml.push_str(id);
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        let mut u = self.store.blob_url(self.path.as_str());
        u.query_pairs_mut().append_pair("comp", "blocklist");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(xml.len()));
        h.insert("x-ms-blob-content-md5", HeaderValue::from_str(&B64.encode(info.md5)).expect("base64"));
        // Marked verified only when the service echoed every block's MD5; otherwise the engine
        // reads the blob back and marks it then, so a crash in between leaves it unmarked
        // (a rerun checks it instead of trusting it).
        if self.confirmed {
            super::insert_verified(&mut h, &info.sha256, info.source.as_deref())?;
        }
        self.store.send(Method::PUT, u, h, Some(Bytes::from(xml))).await?;
        Ok(self.confirmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;
    use aml_emulator::azurite::{Azurite, AzuriteOptions, DEV_KEY};
    use azure_sharedkey::SharedKey;

    fn fast_retry() -> RetryPolicy {
        RetryPolicy { max_retries: 1, base: Duration::from_millis(10), ..Default::default() }
    }

    #[test]
    fn a_failed_large_copy_spares_the_blobs_at_least_as_large() {
        let mib = 1024 * 1024;
        assert!(!skip_copy(u64::MAX, 4096 * mib), "nothing failed yet");
        assert!(skip_copy(1024 * mib, 1024 * mib) && skip_copy(1024 * mib, 2048 * mib));
        assert!(!skip_copy(1024 * mib, 512 * mib), "a smaller blob may still copy");
        assert!(!skip_copy(0, LARGE_COPY - 1), "small blobs are always tried");
        let url = Url::parse("https://acct.blob.core.windows.net/").unwrap();
        let ep = Endpoint::of(&url);
        ep.copy_failed(mib);
        assert!(!ep.skip_copy(LARGE_COPY), "a small failure is not remembered");
        ep.copy_failed(1024 * mib);
        ep.copy_failed(2048 * mib);
        assert!(ep.skip_copy(1024 * mib) && !ep.skip_copy(1000 * mib));
        // Every store of the endpoint shares what was learned, whatever the container.
        let other = Endpoint::of(&Url::parse("https://ACCT.blob.core.windows.net").unwrap());
        assert!(Arc::ptr_eq(&ep, &other));
        assert!(!Arc::ptr_eq(&ep, &Endpoint::of(&Url::parse("https://other.blob.core.windows.net/").unwrap())));
    }

    async fn azurite() -> Azurite {
        tokio::task::spawn_blocking(|| {
            Azurite::start(AzuriteOptions { accounts: vec![("amltestsa".into(), DEV_KEY.into())], location: None })
        })
        .await
        .unwrap()
        .expect("Azurite (run scripts/setup.sh)")
    }

    fn store(az: &Azurite, secondary: bool, key: &str, container: &str) -> BlobStore {
        let url = if secondary { az.secondary_account_url("amltestsa") } else { az.account_url("amltestsa") };
        let key = SharedKey::new("amltestsa", key).unwrap();
        BlobStore::new(reqwest::Client::new(), &Url::parse(&url).unwrap(), "amltestsa", container, StorageCredential::AccountKey(key), fast_retry())
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn blob_store_passes_the_store_conformance_suite() {
        let az = azurite().await;
        let s = store(&az, false, DEV_KEY, "conformance");
        s.create_if_missing().await.unwrap();
        s.create_if_missing().await.unwrap();
        conformance::run_all(&s).await;
        // The service echoes the MD5 of a Put Blob body it received: a one-request write is
        // confirmed without reading it back. (Azure echoes Put Block's too; Azurite 3.35 does
        // not, so there multi-block blobs are read back — `landed` treats "no echo" as unconfirmed.)
        let one = StorePath::parse("confirm/one.bin").unwrap();
        assert!(conformance::write_all(&s, &one, &[3u8; 100], 1000).await.unwrap(), "Put Blob not confirmed");
        let many = StorePath::parse("confirm/many.bin").unwrap();
        conformance::write_all(&s, &many, &[4u8; 3000], 1000).await.unwrap();
        assert_eq!(&s.get_range(&many, 0, 3000).await.unwrap()[..], &[4u8; 3000][..]);
    }

    /// Probe of Azurite 3.35: a ranged GET with `x-ms-range-get-content-md5: true` answers
    /// with the service's MD5 of the range, `If-Match` with another ETag is refused with 412,
    /// and Copy Blob honours `x-ms-source-if-match`.
    #[tokio::test(flavor = "multi_thread")]
    async fn azurite_honours_range_md5_if_match_and_source_if_match() {
        use md5::Digest as _;
        let az = azurite().await;
        let s = store(&az, false, DEV_KEY, "probe");
        s.create_if_missing().await.unwrap();
        let p = StorePath::parse("x/blocks.bin").unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
        conformance::write_all(&s, &p, &data, 1000).await.unwrap();
        let etag = s.head(&p).await.unwrap().unwrap().etag.unwrap();
        // A listing's ETag (bare in Azure's XML) reads the same version as a HEAD's (quoted).
        let listed = s.list("x/").await.unwrap()[0].etag.clone().unwrap();
        assert!(crate::storage::same_etag(&listed, &etag), "{listed} vs {etag}");
        let bare = etag.trim_matches('"').to_string();
        assert!(matches!(s.read_range(&p, 0, 10, Some(&bare)).await.unwrap(), Read::Data(_)), "a bare ETag read as changed");
        let Read::Data(r) = s.read_range(&p, 100, 1100, Some(&etag)).await.unwrap() else { panic!("unchanged blob read as changed") };
        assert_eq!(&r.data[..], &data[100..1100]);
        assert_eq!(r.md5, Some(md5::Md5::digest(&data[100..1100]).into()), "no range MD5 from Azurite");
        assert!(matches!(s.read_range(&p, 0, 10, Some("\"0x8D0000000000000\"")).await.unwrap(), Read::Changed));
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::IF_MATCH, HeaderValue::from_static("\"0x8D0000000000000\""));
        assert!(s.rest.send_conditional(Method::GET, s.blob_url(p.as_str()), h, None).await.unwrap().is_none(), "If-Match ignored (no 412)");
        let url = s.copy_source(&p).await.unwrap().unwrap();
        let q = StorePath::parse("x/copy.bin").unwrap();
        assert_eq!(s.copy_from_url(&q, &url, 5000, Some("\"0x8D0000000000000\""), None).await.unwrap(), Copied::SourceChanged);
        assert_eq!(s.copy_from_url(&q, &url, 5000, Some(&etag), None).await.unwrap(), Copied::Done);
        // Azurite 3.35 has no Put Blob From URL: the endpoint found out once and uses Copy Blob.
        assert_eq!(s.endpoint.from_url.get(), Some(&false));
    }

    /// A blob whose MD5 is known before sending goes as one streamed Put Blob with that MD5:
    /// confirmed by the service (no read-back needed), and refused when the bytes differ.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_known_md5_streams_one_put_blob_the_service_checks() {
        use md5::Digest as _;
        let az = azurite().await;
        let s = store(&az, false, DEV_KEY, "streamed");
        s.create_if_missing().await.unwrap();
        let data: Vec<u8> = (0..(6 * 1024 * 1024 + 77u32)).map(|i| (i % 251) as u8).collect();
        let md5: [u8; 16] = md5::Md5::digest(&data).into();
        let info = FinishInfo { sha256: hex::encode(sha2::Sha256::digest(&data)), md5, source: Some("tag-1".into()) };
        let write = |p: StorePath, known: [u8; 16], data: Vec<u8>| {
            let (s, info) = (s.clone(), info.clone());
            async move {
                let mut w = s.writer_checked(&p, data.len() as u64, Some(known)).await?;
                for c in data.chunks(1024 * 1024) {
                    w.write_block(Bytes::copy_from_slice(c), md5::Md5::digest(c).into(), Hold::none()).await?;
                }
                w.finish(info).await
            }
        };
        let p = StorePath::parse("a/big.bin").unwrap();
        assert!(write(p.clone(), md5, data.clone()).await.unwrap(), "the service's echo of the whole MD5 confirms it");
        assert_eq!(&s.get_range(&p, 0, data.len() as u64).await.unwrap()[..], &data[..]);
        let m = s.head(&p).await.unwrap().unwrap();
        assert_eq!((m.content_md5, m.sha256.as_deref(), m.source.as_deref()), (Some(md5), Some(info.sha256.as_str()), Some("tag-1")));
        // Bytes that differ from the known MD5: refused as corrupted, nothing published.
        let q = StorePath::parse("a/bad.bin").unwrap();
        let mut other = data.clone();
        other[5_000_000] ^= 1;
        let e = write(q.clone(), md5, other).await.unwrap_err();
        assert!(matches!(e, Error::Corrupted(_)), "{e:?}");
        assert!(s.head(&q).await.unwrap().is_none());
        // A writer dropped halfway publishes nothing.
        let r = StorePath::parse("a/dropped.bin").unwrap();
        let mut w = s.writer_checked(&r, data.len() as u64, Some(md5)).await.unwrap();
        w.write_block(Bytes::copy_from_slice(&data[..1024 * 1024]), [0; 16], Hold::none()).await.unwrap();
        drop(w);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(s.head(&r).await.unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn many_multi_block_files_finish_within_a_two_block_budget() {
        use std::sync::Arc;
        use crate::transfer::{Engine, EngineOptions, FileJob, ServerSide, Silent};
        let az = azurite().await;
        let s = Arc::new(store(&az, false, DEV_KEY, "budget"));
        s.create_if_missing().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let src = Arc::new(crate::storage::local::LocalStore::new(dir.path()));
        let mut jobs = Vec::new();
        for i in 0..8u8 {
            std::fs::write(dir.path().join(format!("f{i}")), vec![i; 3500]).unwrap();
            let p = StorePath::parse(&format!("f{i}")).unwrap();
            jobs.push(FileJob { src: src.clone(), src_path: p.clone(), dst: s.clone(), dst_path: p, size: 3500, expected_sha256: None, src_md5: None, src_tag: None, src_etag: None });
        }
        // 8 files of 4 blocks each at once, memory for 2 blocks in all: must still finish.
        let e = Engine::new(
            EngineOptions { concurrency: 8, block_size: 1000, memory_budget: 2000, server_side: ServerSide::Never, ..Default::default() },
            Arc::new(Silent),
        );
        let done = tokio::time::timeout(Duration::from_secs(20), e.run(jobs)).await.expect("the copies deadlocked");
        assert!(done.iter().all(|r| r.is_ok()), "{done:?}");
        assert_eq!(&s.get_range(&StorePath::parse("f7").unwrap(), 0, 3500).await.unwrap()[..], &[7u8; 3500][..]);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn secondary_endpoint_sas_copy_and_auth_errors() {
        let az = azurite().await;
        let s = store(&az, false, DEV_KEY, "models");
        s.create_if_missing().await.unwrap();
        let p = StorePath::parse("dir/f1.bin").unwrap();
        conformance::write_all(&s, &p, &[1u8; 11], 4).await.unwrap();

        // The RA-GRS secondary serves the primary's data with the same key.
        let sec = store(&az, true, DEV_KEY, "models");
        assert_eq!(&sec.get_range(&p, 0, 11).await.unwrap()[..], &[1u8; 11][..]);

        // A read SAS made from the key lets another client (and Copy Blob) read the blob.
        let src = s.copy_source(&p).await.unwrap().unwrap();
        let url = src.url.clone();
        let (base, query) = url.split_once('?').unwrap();
        let sas_store = BlobStore::new(
            reqwest::Client::new(),
            &Url::parse(&az.account_url("amltestsa")).unwrap(),
            "amltestsa",
            "models",
            StorageCredential::Sas(query.to_string()),
            fast_retry(),
        )
        .unwrap();
        assert_eq!(sas_store.head(&p).await.unwrap().unwrap().size, 11);
        assert!(base.ends_with("/models/dir/f1.bin"));
        assert!(!sas_store.describe().contains("sig="), "{}", sas_store.describe());

        // Server-side copy into another container, then the sha256 metadata.
        let t = store(&az, false, DEV_KEY, "target");
        t.create_if_missing().await.unwrap();
        assert!(t.capabilities().copy_from_url);
        let q = StorePath::parse("copied/f1.bin").unwrap();
        assert_eq!(t.copy_from_url(&q, &src, 11, None, None).await.unwrap(), Copied::Done);
        t.set_verified(&q, "abc", Some("tag-1")).await.unwrap();
        let m = t.head(&q).await.unwrap().unwrap();
        assert_eq!((m.size, m.sha256.as_deref(), m.source.as_deref()), (11, Some("abc"), Some("tag-1")));

        // A wrong key is an authentication error that names the fix, and shows no secret.
        let w = store(&az, false, "d3JvbmdrZXk=", "models");
        let e = w.list("").await.unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{e:?}");
        assert!(e.to_string().contains("account key"), "{e}");
    }
}
