//! Storage: one small [`Store`] trait that every backend implements (Azure Blob, local
//! directory; Azure Files and snapshot bundles later), plus the credential kinds datastores
//! hand out (account key, SAS, Entra bearer token) and per-account endpoints, including the
//! RA-GRS `<account>-secondary` host used when the primary region is down.
//!
//! Contract (every implementation, checked by `storage::conformance`):
//! - paths are [`StorePath`]s: relative, `/`-separated, no empty, `.` or `..` segments;
//! - a written object becomes visible only when its writer's `finish` succeeds (blob: Put Block
//!   List; local: rename of a `.partial` file); an aborted or dropped writer leaves no object;
//! - `finish` records the object's sha256 where the backend can keep metadata, so later runs
//!   can skip identical files without reading them again;
//! - `list` returns objects sorted by path.

pub mod blob;
pub mod datastore;
pub mod fileshare;
pub mod index;
pub mod local;
pub mod rest;

mod conformance;

use crate::error::{Error, Result};
use crate::workspace::credentials::TokenProvider;
use async_trait::async_trait;
use azure_sharedkey::SharedKey;
use bytes::Bytes;
use std::sync::Arc;

/// Service version sent as `x-ms-version` (shared/specs/storage/blob/2027-03-07).
pub const STORAGE_VERSION: &str = "2027-03-07";

/// Token scope for Azure Storage with Entra ID.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Name of the blob metadata entry holding the sha256 (hex) the tool verified.
pub const SHA256_METADATA: &str = "sha256";

/// Name of the blob metadata entry naming the source object and version a verified copy
/// came from (see [`source_tag`]).
pub const SOURCE_METADATA: &str = "amlfailoversource";

/// The metadata headers (blob and file services alike) that record a verified copy: its
/// sha256 and, when known, the source tag.
pub(crate) fn insert_verified(h: &mut reqwest::header::HeaderMap, sha256: &str, source: Option<&str>) -> Result<()> {
    use reqwest::header::{HeaderName, HeaderValue};
    let name = |n: &str| HeaderName::from_bytes(format!("x-ms-meta-{n}").as_bytes()).expect("valid header name");
    let value = |v: &str| HeaderValue::from_str(v).map_err(|_| Error::Internal(format!("'{v}' is not a header value")));
    h.insert(name(SHA256_METADATA), value(sha256)?);
    if let Some(s) = source {
        h.insert(name(SOURCE_METADATA), value(s)?);
    }
    Ok(())
}

/// An ETag as the `If-Match` / `x-ms-source-if-match` header wants it: quoted. Listings give
/// it bare (`<Etag>0x8D…</Etag>`), response headers quoted (`ETag: "0x8D…"`).
pub(crate) fn etag_header(tag: &str) -> Result<reqwest::header::HeaderValue> {
    let bare = tag.trim_matches('"');
    reqwest::header::HeaderValue::from_str(&format!("\"{bare}\"")).map_err(|_| Error::Internal(format!("ETag {tag:?} is not a header value")))
}

/// Whether two ETags name the same version, quoted or not.
pub(crate) fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// The listing prefix of a folder: `"a/b"` lists as `"a/b/"`, the root `""` as `""`.
pub fn folder_prefix(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    }
}

/// Identifies one version of a source object: a hash of its URI plus its ETag. A copy that
/// records the tag of a source whose ETag has not changed since holds the same bytes (the
/// copy was verified then, and any write to the source changes its ETag), so later runs
/// can skip it without reading either side.
pub fn source_tag(source_uri: &str, etag: Option<&str>) -> Option<String> {
    use sha2::Digest;
    let etag = etag?.trim_matches('"');
    if etag.is_empty() || !etag.is_ascii() {
        return None;
    }
    let h = hex::encode(sha2::Sha256::digest(source_uri.as_bytes()));
    Some(format!("{}-{etag}", &h[..16]))
}

/// Environment variable with a SAS for a source account reached through storage only.
pub const ENV_SOURCE_SAS: &str = "AML_FAILOVER_SOURCE_SAS";
/// Environment variable with the account key of a source account reached through storage only.
pub const ENV_SOURCE_KEY: &str = "AML_FAILOVER_SOURCE_ACCOUNT_KEY";

/// The credential for a source storage account reached without the control plane: a SAS
/// from [`ENV_SOURCE_SAS`], else the key from [`ENV_SOURCE_KEY`], else an Entra token from
/// the tool's credential chain. Secrets come from the environment, never from arguments
/// (which other users of the machine can read).
pub fn source_credential(tokens: &Arc<TokenProvider>, account: &str) -> crate::error::Result<StorageCredential> {
    if let Some(sas) = std::env::var(ENV_SOURCE_SAS).ok().filter(|v| !v.trim().is_empty()) {
        return Ok(StorageCredential::Sas(sas.trim().trim_start_matches('?').to_string()));
    }
    if let Some(key) = std::env::var(ENV_SOURCE_KEY).ok().filter(|v| !v.trim().is_empty()) {
        return Ok(StorageCredential::AccountKey(
            SharedKey::new(account, &key).map_err(|e| Error::usage(format!("{ENV_SOURCE_KEY}: {e}")))?,
        ));
    }
    Ok(StorageCredential::Bearer(Arc::clone(tokens)))
}

/// How requests to a storage account are authorized. `Debug` never shows the secret.
#[derive(Clone)]
pub enum StorageCredential {
    /// Shared Key with the account key.
    AccountKey(SharedKey),
    /// A SAS token (the query string, without the leading `?`).
    Sas(String),
    /// An Entra ID bearer token from the tool's credential chain.
    Bearer(Arc<TokenProvider>),
    /// Public read access.
    Anonymous,
}

impl std::fmt::Debug for StorageCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StorageCredential::AccountKey(_) => "AccountKey(<redacted>)",
            StorageCredential::Sas(_) => "Sas(<redacted>)",
            StorageCredential::Bearer(_) => "Bearer",
            StorageCredential::Anonymous => "Anonymous",
        })
    }
}

impl StorageCredential {
    pub fn kind(&self) -> &'static str {
        match self {
            StorageCredential::AccountKey(_) => "account key",
            StorageCredential::Sas(_) => "SAS",
            StorageCredential::Bearer(_) => "Entra ID token",
            StorageCredential::Anonymous => "anonymous",
        }
    }
}

/// A validated object path inside a store.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StorePath(String);

impl StorePath {
    pub fn parse(s: &str) -> Result<StorePath> {
        let t = s.trim_start_matches('/');
        if t.is_empty() {
            return Err(Error::usage("empty object path"));
        }
        for seg in t.split('/') {
            if seg.is_empty() || seg == "." || seg == ".." {
                return Err(Error::usage(format!("object path '{s}' has an empty, '.' or '..' segment")));
            }
        }
        Ok(StorePath(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `self` with `prefix` removed (the path relative to a folder), if it is under it.
    pub fn strip_prefix(&self, prefix: &str) -> Option<&str> {
        let p = prefix.trim_matches('/');
        if p.is_empty() {
            return Some(&self.0);
        }
        self.0.strip_prefix(p).and_then(|r| r.strip_prefix('/'))
    }

    pub fn join(prefix: &str, rel: &str) -> Result<StorePath> {
        let p = prefix.trim_matches('/');
        if p.is_empty() {
            StorePath::parse(rel)
        } else {
            StorePath::parse(&format!("{p}/{}", rel.trim_start_matches('/')))
        }
    }
}

impl std::fmt::Display for StorePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a listing or a HEAD tells about an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub path: StorePath,
    pub size: u64,
    /// Opaque version tag (blob ETag; local: mtime+size).
    pub etag: Option<String>,
    /// MD5 the service stores for the object (blob Content-MD5), when it has one.
    pub content_md5: Option<[u8; 16]>,
    /// sha256 (hex) the tool recorded when it wrote and verified the object.
    pub sha256: Option<String>,
    /// The [`source_tag`] recorded with a verified copy.
    pub source: Option<String>,
}

/// Facts recorded with an object when its writer finishes.
#[derive(Debug, Clone)]
pub struct FinishInfo {
    /// Lower-case hex sha256 of the whole object.
    pub sha256: String,
    /// MD5 of the whole object (stored as Content-MD5 where the backend supports it).
    pub md5: [u8; 16],
    /// The [`source_tag`] of what was copied, recorded where the backend keeps metadata.
    pub source: Option<String>,
}

/// Writes one object in blocks; nothing is visible until `finish`.
#[async_trait]
pub trait ObjectWriter: Send {
    /// Appends the next block. `md5` is the block's MD5, which the backend lets the service
    /// check on arrival where it can (blob: transactional Content-MD5). `hold` is kept alive
    /// until the block's bytes are no longer held (a writer may send blocks in the background).
    async fn write_block(&mut self, data: Bytes, md5: [u8; 16], hold: Hold) -> Result<()>;
    /// Whether `write_block` uses the blocks' MD5s (a writer whose service checks the whole
    /// object's MD5 instead does not: the caller then need not hash each block).
    fn uses_block_md5(&self) -> bool {
        true
    }
    /// Publishes the object with `info` recorded. Returns whether the service confirmed every
    /// byte it received (it echoed each piece's MD5 and every echo matched); `false` means the
    /// caller must read the object back to know what landed.
    async fn finish(self: Box<Self>, info: FinishInfo) -> Result<bool>;
}

/// Something that must live as long as a block's bytes are held in memory (the engine's memory
/// permit), handed to the writer with the block.
pub struct Hold(pub Option<Box<dyn Send + Sync>>);

impl Hold {
    pub fn none() -> Hold {
        Hold(None)
    }
}

/// Largest range the services answer with its MD5 (`x-ms-range-get-content-md5`, Blob and
/// File alike: 4 MiB).
pub const MAX_RANGE_MD5: u64 = 4 * 1024 * 1024;

/// One range of a source as read, with what the service vouched for it.
#[derive(Debug, Clone)]
pub struct RangeRead {
    pub data: Bytes,
    /// The MD5 the service computed over the range it sent (`x-ms-range-get-content-md5`),
    /// independently of the reader; `None` when the store offers none.
    pub md5: Option<[u8; 16]>,
}

/// What a conditional read found.
#[derive(Debug, Clone)]
pub enum Read {
    Data(RangeRead),
    /// The object is no longer the version asked for (blob: 412 to `If-Match`; file: another
    /// ETag): it changed during the copy.
    Changed,
}

/// What a server-side copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    Done,
    /// Done, and the service checked the bytes it copied against the source MD5 it was given
    /// (`x-ms-source-content-md5`) and echoed that MD5 for what it wrote.
    Checked,
    /// The source is no longer the version asked for (412 to `x-ms-source-if-match`).
    SourceChanged,
}

/// Optional server-side capabilities. A store that lacks one returns `None`, and the
/// transfer engine falls back to streaming.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// The store can copy from a URL server-side (blob: Copy Blob).
    pub copy_from_url: bool,
}

/// Where the service of another store reads an object from in a server-side copy: a URL
/// (with a read SAS in it, or bare) and, for a source that takes only Entra ID, the bearer
/// token to send as `x-ms-copy-source-authorization`. `Debug` never shows the secrets.
#[derive(Clone)]
pub struct CopySource {
    pub url: String,
    pub bearer: Option<String>,
}

impl std::fmt::Debug for CopySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = url::Url::parse(&self.url).map(|u| crate::redact::url(&u)).unwrap_or_else(|_| "<url>".into());
        f.debug_struct("CopySource").field("url", &shown).field("bearer", &self.bearer.as_ref().map(|_| "<redacted>")).finish()
    }
}

/// The storage backend interface.
#[async_trait]
pub trait Store: Send + Sync {
    /// A printable location (no secrets), e.g. `https://acct.blob.core.windows.net/container`.
    fn describe(&self) -> String;

    /// A printable URI of an object (no secrets), for manifests and reports.
    fn uri(&self, path: &StorePath) -> String;

    fn capabilities(&self) -> Capabilities {
        Capabilities::default()
    }

    /// Objects under `prefix` (a folder path or `""`), sorted by path.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>>;

    /// The objects under `prefix` whose paths `wanted` names (only those are kept), or `None`
    /// once the listing has seen more than `max_seen` objects: for a listing worth its
    /// requests only while it stays small. Stores that list page by page stop there.
    async fn list_wanted(&self, prefix: &str, wanted: &std::collections::HashSet<String>, max_seen: usize) -> Result<Option<Vec<ObjectMeta>>> {
        let all = self.list(prefix).await?;
        if all.len() > max_seen {
            return Ok(None);
        }
        Ok(Some(all.into_iter().filter(|m| wanted.contains(m.path.as_str())).collect()))
    }

    /// The object's metadata, or `None` when it does not exist.
    async fn head(&self, path: &StorePath) -> Result<Option<ObjectMeta>>;

    /// Bytes `start..end` of the object.
    async fn get_range(&self, path: &StorePath, start: u64, end: u64) -> Result<Bytes>;

    /// Bytes `start..end` of the version `if_match` (an ETag the listing gave) of the object,
    /// with the service's MD5 of the range where it offers one. A store that can tell answers
    /// [`Read::Changed`] when the object is no longer that version; the default cannot tell
    /// and offers no MD5.
    async fn read_range(&self, path: &StorePath, start: u64, end: u64, _if_match: Option<&str>) -> Result<Read> {
        Ok(Read::Data(RangeRead { data: self.get_range(path, start, end).await?, md5: None }))
    }

    /// [`read_range`](Self::read_range) without asking the service for the range's MD5: for a
    /// caller that checks the whole object against a stronger fact (the source's stored
    /// Content-MD5) before anything is published. By default the same read.
    async fn read_range_unhashed(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>) -> Result<Read> {
        self.read_range(path, start, end, if_match).await
    }

    /// Starts writing `path` (replacing it when `finish` succeeds).
    async fn writer(&self, path: &StorePath, size: u64) -> Result<Box<dyn ObjectWriter>>;

    /// [`writer`](Self::writer) for an object whose MD5 is known before sending (the source's
    /// stored Content-MD5): a store that can lets the service check the whole object against
    /// it on arrival (blob: one streamed Put Blob with `Content-MD5`), so that what landed is
    /// confirmed without reading it back.
    async fn writer_checked(&self, path: &StorePath, size: u64, _md5: Option<[u8; 16]>) -> Result<Box<dyn ObjectWriter>> {
        self.writer(path, size).await
    }

    /// Deletes the object; a missing one is fine.
    async fn delete(&self, path: &StorePath) -> Result<()>;

    /// Where the service of another store can read `path` from server-side (blob: a URL with a
    /// short-lived read SAS, or with an Entra ID token for the source), or `None` when this
    /// store cannot offer one.
    async fn copy_source(&self, _path: &StorePath) -> Result<Option<CopySource>> {
        Ok(None)
    }

    /// Server-side copy of `source` into `path` (only when `capabilities().copy_from_url`),
    /// of the source's version `source_if_match` only; `source_md5` (the source's stored MD5),
    /// when given, is for the service to check the bytes it copies against.
    async fn copy_from_url(&self, _path: &StorePath, _source: &CopySource, _size: u64, _source_if_match: Option<&str>, _source_md5: Option<[u8; 16]>) -> Result<Copied> {
        Err(Error::Internal(format!("{} cannot copy server-side", self.describe())))
    }

    /// Records `sha256` (and the source tag) on an existing object, after a server-side
    /// copy was verified.
    async fn set_verified(&self, _path: &StorePath, _sha256: &str, _source: Option<&str>) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_paths_reject_traversal() {
        assert_eq!(StorePath::parse("/a/b.txt").unwrap().as_str(), "a/b.txt");
        for bad in ["", "/", "a//b", "a/../b", "./a", "a/."] {
            assert!(StorePath::parse(bad).is_err(), "{bad}");
        }
        let p = StorePath::parse("LocalUpload/x/model/m.pkl").unwrap();
        assert_eq!(p.strip_prefix("LocalUpload/x"), Some("model/m.pkl"));
        assert_eq!(p.strip_prefix("LocalUpload/x/"), Some("model/m.pkl"));
        assert_eq!(p.strip_prefix("LocalUpload/xy"), None);
        assert_eq!(StorePath::join("a/", "b/c").unwrap().as_str(), "a/b/c");
    }
}
