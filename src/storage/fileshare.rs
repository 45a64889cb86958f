//! An Azure Files share as a [`Store`] (File REST API of shared/specs/storage/file,
//! x-ms-version 2027-03-07), for the notebooks a workspace keeps in its file shares.
//!
//! Reads: recursive directory listing with marker paging, HEAD, ranged GET, all optionally
//! from a share snapshot (`sharesnapshot=`). Writes follow the [`Store`] contract: the file is
//! written as `<name>.aml-failover-partial` (Create File + Put Range with transactional MD5),
//! its sha256 and source tag are recorded as metadata, its Content-MD5 set, and only then is
//! it renamed into place (File Rename, replacing) — a crash never leaves a half-written file
//! under its final name. Directories are created as needed.

use super::{FinishInfo, ObjectMeta, ObjectWriter, RangeRead, Read, StorageCredential, Store, StorePath, SHA256_METADATA, SOURCE_METADATA};
use crate::error::{Error, Result};
use super::rest::{Service, StorageRest};
use crate::http::RetryPolicy;
use crate::redact;
use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::Method;
use serde::Deserialize;
use std::collections::BTreeMap;
use url::Url;

const PARTIAL_SUFFIX: &str = ".aml-failover-partial";
/// The File service's largest range per Put Range.
const MAX_RANGE: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct FileShareStore {
    /// `<account url>/<share>`
    url: Url,
    share: String,
    snapshot: Option<String>,
    rest: StorageRest,
}

/// One share as List Shares reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareInfo {
    pub name: String,
    pub snapshot: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ShareList {
    #[serde(rename = "Shares", default)]
    shares: XmlShares,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}
#[derive(Debug, Deserialize, Default)]
struct XmlShares {
    #[serde(rename = "Share", default)]
    items: Vec<XmlShare>,
}
#[derive(Debug, Deserialize)]
struct XmlShare {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Snapshot", default)]
    snapshot: Option<String>,
    #[serde(rename = "Properties", default)]
    properties: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
struct DirList {
    #[serde(rename = "Entries", default)]
    entries: Entries,
    #[serde(rename = "NextMarker", default)]
    next_marker: Option<String>,
}
#[derive(Debug, Deserialize, Default)]
struct Entries {
    #[serde(rename = "$value", default)]
    items: Vec<Entry>,
}
#[derive(Debug, Deserialize)]
enum Entry {
    Directory(XmlDir),
    File(XmlFile),
    #[serde(other)]
    Other,
}
#[derive(Debug, Deserialize)]
struct XmlDir {
    #[serde(rename = "Name")]
    name: String,
}
#[derive(Debug, Deserialize)]
struct XmlFile {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Properties")]
    properties: XmlFileProps,
}
#[derive(Debug, Deserialize)]
struct XmlFileProps {
    #[serde(rename = "Content-Length")]
    content_length: u64,
    #[serde(rename = "Etag", default)]
    etag: Option<String>,
}

/// A file or directory name from a share, checked before it becomes part of a path: names
/// that would escape the destination (`..`, `.`, separators, NUL) are refused.
pub fn safe_name(name: &str) -> Result<&str> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\', '\0']) {
        return Err(Error::Service(format!(
            "refusing the name {name:?} found in the share: it would escape the destination"
        )));
    }
    Ok(name)
}

fn enc_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl FileShareStore {
    pub fn new(http: reqwest::Client, account_url: &Url, share: &str, snapshot: Option<String>, cred: StorageCredential, retry: RetryPolicy) -> Result<Self> {
        let mut url = account_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|_| Error::usage(format!("file endpoint {} cannot take a path", redact::url(account_url))))?
            .pop_if_empty()
            .push(share);
        let rest = StorageRest { http, cred, retry, service: Service::File };
        Ok(FileShareStore { url, share: share.to_string(), snapshot, rest })
    }

    async fn send(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        self.rest.send(method, url, headers, body).await
    }

    pub fn share(&self) -> &str {
        &self.share
    }

    /// Records the verified sha256 (and the source tag) as the file's metadata.
    async fn set_metadata(&self, file_url: &Url, sha256: &str, source: Option<&str>) -> Result<()> {
        let mut u = file_url.clone();
        u.query_pairs_mut().append_pair("comp", "metadata");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        super::insert_verified(&mut h, sha256, source)?;
        self.send(Method::PUT, u, h, Some(Bytes::new())).await?;
        Ok(())
    }

    fn item_url(&self, path: &str) -> Url {
        let mut u = self.url.clone();
        {
            let mut segs = u.path_segments_mut().expect("checked in new");
            for part in path.split('/').filter(|p| !p.is_empty()) {
                segs.push(part);
            }
        }
        u
    }

    fn with_snapshot(&self, mut u: Url) -> Url {
        if let Some(s) = &self.snapshot {
            u.query_pairs_mut().append_pair("sharesnapshot", s);
        }
        u
    }

    /// Lists one directory's entries (all pages): (subdirectories, files).
    async fn list_dir(&self, dir: &str) -> Result<(Vec<String>, Vec<XmlFile>)> {
        let mut dirs = Vec::new();
        let mut files = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut u = self.with_snapshot(self.item_url(dir));
            {
                let mut q = u.query_pairs_mut();
                // The ETag of each file, so that every later read is checked to be of that version.
                q.append_pair("restype", "directory").append_pair("comp", "list").append_pair("include", "Etag");
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
            }
            let (_, body) = self.rest.fetch(Method::GET, u, HeaderMap::new(), None).await?;
            let text = String::from_utf8_lossy(&body);
            let parsed: DirList = quick_xml::de::from_str(&text)
                .map_err(|e| Error::Service(format!("listing {}: unexpected XML: {e}", redact::url(&self.url))))?;
            for e in parsed.entries.items {
                match e {
                    Entry::Directory(d) => dirs.push(d.name),
                    Entry::File(f) => files.push(f),
                    Entry::Other => {}
                }
            }
            match parsed.next_marker.filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        Ok((dirs, files))
    }

    /// Every file under `prefix`, recursively, plus the entries refused because their names
    /// would escape a destination (`..`, separators, NUL) — those are never followed.
    pub async fn list_checked(&self, prefix: &str) -> Result<(Vec<ObjectMeta>, Vec<String>)> {
        let root = prefix.trim_matches('/').to_string();
        let mut out = Vec::new();
        let mut refused = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            let (dirs, files) = match self.list_dir(&dir).await {
                Ok(x) => x,
                Err(Error::NotFound(_)) if out.is_empty() && stack.is_empty() => return Ok((out, refused)),
                Err(e) => return Err(e),
            };
            for d in dirs {
                let Ok(d) = safe_name(&d) else {
                    refused.push(if dir.is_empty() { d.clone() } else { format!("{dir}/{d}") });
                    continue;
                };
                stack.push(if dir.is_empty() { d.to_string() } else { format!("{dir}/{d}") });
            }
            for f in files {
                let Ok(name) = safe_name(&f.name) else {
                    refused.push(if dir.is_empty() { f.name.clone() } else { format!("{dir}/{}", f.name) });
                    continue;
                };
                if name.ends_with(PARTIAL_SUFFIX) {
                    continue;
                }
                let full = if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") };
                out.push(ObjectMeta {
                    path: StorePath::parse(&full)?,
                    size: f.properties.content_length,
                    etag: f.properties.etag,
                    content_md5: None,
                    sha256: None,
                    source: None,
                });
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok((out, refused))
    }

    async fn ensure_dirs(&self, path: &StorePath) -> Result<()> {
        let segs: Vec<&str> = path.as_str().split('/').collect();
        let mut cur = String::new();
        for seg in &segs[..segs.len() - 1] {
            if !cur.is_empty() {
                cur.push('/');
            }
            cur.push_str(seg);
            let mut u = self.item_url(&cur);
            u.query_pairs_mut().append_pair("restype", "directory");
            let mut h = HeaderMap::new();
            h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
            match self.send(Method::PUT, u, h, Some(Bytes::new())).await {
                Ok(_) => {}
                Err(Error::Conflict(m)) if m.contains("ResourceAlreadyExists") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

}

/// The account's shares whose names start with `prefix`, with their snapshots.
pub async fn list_shares(http: reqwest::Client, account_url: &Url, cred: StorageCredential, retry: RetryPolicy, prefix: &str) -> Result<Vec<ShareInfo>> {
    let rest = StorageRest { http, cred, retry, service: Service::File };
    let mut out = Vec::new();
    super::rest::list_account(&rest, account_url, &[("include", "snapshots")], prefix, |text| {
        let parsed: ShareList = quick_xml::de::from_str(text).map_err(|e| Error::Service(format!("listing shares: unexpected XML: {e}")))?;
        out.extend(parsed.shares.items.into_iter().map(|s| ShareInfo {
            name: s.name,
            snapshot: s.snapshot.filter(|x| !x.is_empty()),
            last_modified: s.properties.get("Last-Modified").cloned(),
        }));
        Ok(parsed.next_marker)
    })
    .await?;
    Ok(out)
}

#[async_trait]
impl Store for FileShareStore {
    fn describe(&self) -> String {
        match &self.snapshot {
            Some(s) => format!("{} (snapshot {s})", redact::url(&self.url)),
            None => redact::url(&self.url),
        }
    }

    fn uri(&self, path: &StorePath) -> String {
        redact::url(&self.with_snapshot(self.item_url(path.as_str())))
    }

    /// Every file under `prefix`, recursively. A name that would escape the destination is
    /// an error naming it (so callers report it rather than skip it silently).
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let (files, refused) = self.list_checked(prefix).await?;
        match refused.first() {
            Some(r) => Err(Error::Service(format!("refusing the entry {r:?} found in the share: it would escape the destination"))),
            None => Ok(files),
        }
    }

    async fn head(&self, path: &StorePath) -> Result<Option<ObjectMeta>> {
        let u = self.with_snapshot(self.item_url(path.as_str()));
        match self.send(Method::HEAD, u, HeaderMap::new(), None).await {
            Ok(r) => {
                let h = r.headers();
                let s = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
                let md5 = s("content-md5").or_else(|| s("x-ms-content-md5")).and_then(|v| B64.decode(v).ok()).and_then(|v| v.try_into().ok());
                Ok(Some(ObjectMeta {
                    path: path.clone(),
                    size: s("content-length").and_then(|v| v.parse().ok()).unwrap_or(0),
                    etag: s("etag"),
                    content_md5: md5,
                    sha256: s(&format!("x-ms-meta-{SHA256_METADATA}")),
                    source: s(&format!("x-ms-meta-{SOURCE_METADATA}")),
                }))
            }
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn get_range(&self, path: &StorePath, start: u64, end: u64) -> Result<Bytes> {
        match self.read_range(path, start, end, None).await? {
            Read::Data(r) => Ok(r.data),
            Read::Changed => Err(Error::Internal("a read without an ETag found a change".into())),
        }
    }

    /// A ranged Get File with `x-ms-range-get-content-md5: true` for ranges of at most 4 MiB (its
    /// `Content-MD5` is then the service's MD5 of the range). Get File takes no `If-Match`
    /// (File REST 2027-03-07: File_Download has no conditional headers), so the ETag that comes
    /// with every range is compared with the one asked for instead: the bytes of one answer are
    /// of the version its ETag names, and another ETag means the file changed during the copy.
    async fn read_range(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>) -> Result<Read> {
        if end <= start {
            return Ok(Read::Data(RangeRead { data: Bytes::new(), md5: None }));
        }
        let (h, want_md5) = super::rest::range_headers(start, end);
        let url = self.with_snapshot(self.item_url(path.as_str()));
        let (headers, data) = self.rest.fetch(Method::GET, url.clone(), h, None).await?;
        super::rest::range_answer(&headers, data, want_md5, if_match, &url, end - start)
    }

    async fn writer(&self, path: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>> {
        if self.snapshot.is_some() {
            return Err(Error::usage("a share snapshot is read-only"));
        }
        self.ensure_dirs(path).await?;
        let partial = StorePath::parse(&format!("{}{PARTIAL_SUFFIX}", path.as_str()))?;
        let mut h = HeaderMap::new();
        h.insert("x-ms-type", HeaderValue::from_static("file"));
        h.insert("x-ms-content-length", HeaderValue::from(size));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        self.send(Method::PUT, self.item_url(partial.as_str()), h, Some(Bytes::new())).await?;
        Ok(Box::new(FileWriter { store: self.clone(), path: path.clone(), partial, offset: 0, finished: false, confirmed: true }))
    }

    async fn set_verified(&self, path: &StorePath, sha256: &str, source: Option<&str>) -> Result<()> {
        self.set_metadata(&self.item_url(path.as_str()), sha256, source).await
    }

    async fn delete(&self, path: &StorePath) -> Result<()> {
        match self.send(Method::DELETE, self.item_url(path.as_str()), HeaderMap::new(), None).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

struct FileWriter {
    store: FileShareStore,
    path: StorePath,
    partial: StorePath,
    offset: u64,
    finished: bool,
    confirmed: bool,
}

#[async_trait]
impl ObjectWriter for FileWriter {
    async fn write_block(&mut self, data: Bytes, md5: [u8; 16], _hold: super::Hold) -> Result<()> {
        // Put Range takes at most 4 MiB; larger blocks go up in pieces (each with its own MD5).
        let chunks: Vec<Bytes> = if data.len() <= MAX_RANGE {
            vec![data]
        } else {
            (0..data.len()).step_by(MAX_RANGE).map(|i| data.slice(i..(i + MAX_RANGE).min(data.len()))).collect()
        };
        let single = chunks.len() == 1;
        for chunk in chunks {
            if chunk.is_empty() {
                continue;
            }
            let piece_md5: [u8; 16] = if single { md5 } else { <md5::Md5 as md5::Digest>::digest(&chunk).into() };
            let mut u = self.store.item_url(self.partial.as_str());
            u.query_pairs_mut().append_pair("comp", "range");
            let mut h = HeaderMap::new();
            let end = self.offset + chunk.len() as u64 - 1;
            h.insert("x-ms-range", HeaderValue::from_str(&format!("bytes={}-{end}", self.offset)).expect("ascii"));
            h.insert("x-ms-write", HeaderValue::from_static("update"));
            h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(chunk.len()));
            h.insert("content-md5", HeaderValue::from_str(&B64.encode(piece_md5)).expect("base64"));
            let n = chunk.len() as u64;
            let resp = self.store.send(Method::PUT, u, h, Some(chunk)).await?;
            self.confirmed &= resp.headers().get("content-md5").and_then(|v| v.to_str().ok()) == Some(B64.encode(piece_md5).as_str());
            self.offset += n;
        }
        Ok(())
    }

    async fn finish(mut self: Box<Self>, info: FinishInfo) -> Result<bool> {
        let partial_url = self.store.item_url(self.partial.as_str());
        // An empty file had no range to confirm; it is confirmed by its size alone.
        let confirmed = self.confirmed || self.offset == 0;
        // Metadata: the verified sha256 and the source tag, only when the service confirmed
        // every range; otherwise the engine reads the file back and records them then.
        if confirmed {
            self.store.set_metadata(&partial_url, &info.sha256, info.source.as_deref()).await?;
        }
        // Content-MD5 of the whole file, so later readers can check it too.
        let mut u = partial_url.clone();
        u.query_pairs_mut().append_pair("comp", "properties");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        h.insert("x-ms-content-md5", HeaderValue::from_str(&B64.encode(info.md5)).expect("base64"));
        for (k, v) in [("x-ms-file-attributes", "preserve"), ("x-ms-file-creation-time", "preserve"), ("x-ms-file-last-write-time", "preserve"), ("x-ms-file-permission", "preserve")] {
            h.insert(k, HeaderValue::from_static(v));
        }
        self.store.send(Method::PUT, u, h, Some(Bytes::new())).await?;
        // Publish: rename over the final name.
        let mut u = self.store.item_url(self.path.as_str());
        u.query_pairs_mut().append_pair("comp", "rename");
        let source_path: String = self.partial.as_str().split('/').map(enc_segment).collect::<Vec<_>>().join("/");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        h.insert(
            "x-ms-file-rename-source",
            HeaderValue::from_str(&format!("{}/{source_path}", self.store.url.path())).map_err(|_| Error::Internal("bad path".into()))?,
        );
        h.insert("x-ms-file-rename-replace-if-exists", HeaderValue::from_static("true"));
        self.store.send(Method::PUT, u, h, Some(Bytes::new())).await?;
        self.finished = true;
        Ok(confirmed)
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Best effort: remove the partial file in the background.
            let store = self.store.clone();
            let p = self.partial.clone();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    let _ = store.delete(&p).await;
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;
    use aml_emulator::azurite::DEV_KEY;
    use aml_emulator::files::{FilesOptions, FilesServer};

    async fn server(page_size: usize) -> FilesServer {
        tokio::task::spawn_blocking(move || {
            FilesServer::start(FilesOptions { accounts: vec![("acct".into(), DEV_KEY.into())], data_dir: None, page_size: Some(page_size) })
        })
        .await
        .unwrap()
        .unwrap()
    }

    fn store(srv: &FilesServer, share: &str, snapshot: Option<String>) -> FileShareStore {
        let key = azure_sharedkey::SharedKey::new("acct", DEV_KEY).unwrap();
        let retry = RetryPolicy { max_retries: 1, base: std::time::Duration::from_millis(10), ..Default::default() };
        FileShareStore::new(reqwest::Client::new(), &Url::parse(&srv.account_url("acct")).unwrap(), share, snapshot, StorageCredential::AccountKey(key), retry).unwrap()
    }

    async fn create_share(s: &FileShareStore) {
        let mut u = s.url.clone();
        u.query_pairs_mut().append_pair("restype", "share");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        s.send(Method::PUT, u, h, Some(Bytes::new())).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn file_share_store_passes_the_store_conformance_suite() {
        let srv = server(2).await;
        let s = store(&srv, "conformance", None);
        create_share(&s).await;
        conformance::run_all(&s).await;
        // Nested folders across listing pages, unicode names, and a block larger than one range.
        let big: Vec<u8> = (0..(MAX_RANGE + 1000) as u32).map(|i| (i % 241) as u8).collect();
        for name in ["Users/zoë/ノート/a.ipynb", "Users/zoë/b.ipynb", "Users/bob/c.ipynb", "Users/bob/d.ipynb", "x.txt"] {
            conformance::write_all(&s, &StorePath::parse(name).unwrap(), name.as_bytes(), 7).await.unwrap();
        }
        let p = StorePath::parse("Users/big.bin").unwrap();
        conformance::write_all(&s, &p, &big, big.len()).await.unwrap();
        assert_eq!(&s.get_range(&p, 0, big.len() as u64).await.unwrap()[..], &big[..]);
        let listed: Vec<String> = s.list("Users").await.unwrap().into_iter().map(|m| m.path.to_string()).collect();
        assert_eq!(listed, ["Users/big.bin", "Users/bob/c.ipynb", "Users/bob/d.ipynb", "Users/zoë/b.ipynb", "Users/zoë/ノート/a.ipynb"]);
        let shares = list_shares(reqwest::Client::new(), &Url::parse(&srv.account_url("acct")).unwrap(), s.rest.cred.clone(), s.rest.retry.clone(), "conf").await.unwrap();
        assert_eq!(shares.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(), ["conformance"]);
    }

    /// The emulator's Get File answers a range of at most 4 MiB with the service's MD5 of it
    /// (`x-ms-range-get-content-md5`), and every answer carries the ETag a read is checked under.
    #[tokio::test(flavor = "multi_thread")]
    async fn ranges_come_with_the_service_md5_and_a_rewrite_is_seen_as_a_change() {
        use md5::Digest as _;
        let srv = server(5).await;
        let s = store(&srv, "probe", None);
        create_share(&s).await;
        let p = StorePath::parse("d/f.bin").unwrap();
        let data: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        conformance::write_all(&s, &p, &data, 1000).await.unwrap();
        let etag = s.head(&p).await.unwrap().unwrap().etag.unwrap();
        assert_eq!(s.list("d").await.unwrap()[0].etag.as_deref(), Some(etag.as_str()), "the listing gives each file's ETag");
        let Read::Data(r) = s.read_range(&p, 100, 1100, Some(&etag)).await.unwrap() else { panic!("unchanged file read as changed") };
        assert_eq!(&r.data[..], &data[100..1100]);
        assert_eq!(r.md5, Some(md5::Md5::digest(&data[100..1100]).into()), "no range MD5 from the file service");
        conformance::write_all(&s, &p, &data[..4000], 1000).await.unwrap();
        assert!(matches!(s.read_range(&p, 0, 10, Some(&etag)).await.unwrap(), Read::Changed), "a rewritten file was read under the old ETag");
    }

    #[test]
    fn names_that_escape_are_refused() {
        for bad in ["..", ".", "a/b", "a\\b", "", "x\0y"] {
            assert!(safe_name(bad).is_err(), "{bad:?}");
        }
        assert_eq!(safe_name("Untitled.ipynb").unwrap(), "Untitled.ipynb");
        assert_eq!(safe_name("zoë ノート").unwrap(), "zoë ノート");
    }

    #[test]
    fn directory_listing_xml_parses() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ShareName="s" DirectoryPath="Users"><Prefix/><Entries><Directory><Name>alice</Name><Properties/></Directory><File><Name>a.ipynb</Name><Properties><Content-Length>12</Content-Length></Properties></File></Entries><NextMarker>m1</NextMarker></EnumerationResults>"#;
        let d: DirList = quick_xml::de::from_str(xml).unwrap();
        assert_eq!(d.next_marker.as_deref(), Some("m1"));
        assert_eq!(d.entries.items.len(), 2);
        assert!(matches!(&d.entries.items[0], Entry::Directory(x) if x.name == "alice"));
        assert!(matches!(&d.entries.items[1], Entry::File(f) if f.properties.content_length == 12));
    }
}
