//! A byte-level oracle, independent of the tool: reads what really landed in the bed's storage
//! (blobs straight from Azurite with the account key, never through the storage proxy; files
//! through the emulator's Azure Files REST API) and compares it with the source bytes.
//!
//! What it checks is what a user would: the target holds the source's bytes, and whatever the
//! target records as verified (the `sha256` metadata the tool writes beside a file) is the sha256
//! of the bytes that are really there.

#![allow(dead_code)]

use super::{sha256_hex, TestBed};
use aml_emulator::testbed::WorkspaceInfo;
use azure_sharedkey::SharedKey;
use std::collections::{BTreeMap, HashMap};

/// Blob service version of the oracle's requests.
const BLOB_VERSION: &str = "2021-12-02";
/// File service version of the oracle's requests.
const FILE_VERSION: &str = "2025-05-05";
/// The metadata name under which the tool records a verified file's sha256.
pub const SHA256_METADATA: &str = "sha256";

/// One file as stored: its bytes and what is recorded beside them.
#[derive(Debug, Clone)]
pub struct Stored {
    pub name: String,
    pub bytes: Vec<u8>,
    pub etag: String,
    /// `x-ms-meta-sha256`: the sha256 the tool recorded as verified.
    pub sha256_meta: Option<String>,
    pub content_md5: Option<String>,
}

impl Stored {
    pub fn sha256(&self) -> String {
        sha256_hex(&self.bytes)
    }
    /// A recorded sha256 that is not the sha256 of the bytes: something called verified that is not.
    pub fn false_record(&self) -> Option<String> {
        let meta = self.sha256_meta.as_deref()?;
        let real = self.sha256();
        (!meta.eq_ignore_ascii_case(&real)).then(|| format!("{} records sha256 {meta} but holds bytes with sha256 {real}", self.name))
    }
}

/// Where a file lives in the bed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Place {
    /// account, container, blob name
    Blob(String, String, String),
    /// account, share, path
    File(String, String, String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Blob(a, c, n) => write!(f, "blob {a}/{c}/{n}"),
            Place::File(a, s, p) => write!(f, "file {a}/{s}/{p}"),
        }
    }
}

pub struct Oracle {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    blob_endpoint: String,
    files_endpoint: Option<String>,
    keys: HashMap<String, String>,
    /// ETag of every stored file last audited ([`Oracle::audit_records`]).
    audited: std::sync::Mutex<HashMap<Place, String>>,
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&")
}

/// The text of every `<tag>…</tag>` inside each `<item>…</item>` of an XML list, in order.
fn xml_items<'a>(xml: &'a str, item: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{item}>"), format!("</{item}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(&after[..j]);
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let open_plain = format!("<{tag}>");
    let open_attr = format!("<{tag} ");
    let close = format!("</{tag}>");
    let (start, encoded) = if let Some(i) = xml.find(&open_plain) {
        (i + open_plain.len(), false)
    } else {
        let i = xml.find(&open_attr)?;
        let gt = xml[i..].find('>')? + i;
        (gt + 1, xml[i..gt].contains("Encoded=\"true\""))
    };
    let end = xml[start..].find(&close)? + start;
    let v = xml_unescape(&xml[start..end]);
    Some(if encoded { percent_encoding::percent_decode_str(&v).decode_utf8_lossy().into_owned() } else { v })
}

impl Oracle {
    pub fn new(tb: &TestBed) -> Oracle {
        let mut keys = HashMap::new();
        for ws in [tb.primary(), tb.failover()] {
            keys.insert(ws.storage_account.clone(), ws.storage_key.clone());
        }
        Oracle {
            rt: tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
            // No idle connections kept: the oracle's runtime runs only inside its calls, so a
            // pooled connection that Azurite closed meanwhile (Node's 5 s keep-alive) is not
            // noticed and the next request on it fails with IncompleteMessage (seen under load).
            http: reqwest::Client::builder().no_proxy().pool_max_idle_per_host(0).timeout(std::time::Duration::from_secs(60)).build().unwrap(),
            // Azurite itself: what landed, never what the proxy would make of it.
            blob_endpoint: tb.azurite_blob_endpoint().trim_end_matches('/').to_string(),
            files_endpoint: tb.files().map(|f| f.endpoint().trim_end_matches('/').to_string()),
            keys,
            audited: Default::default(),
        }
    }

    fn send(&self, method: reqwest::Method, account: &str, url: &str, version: &str, extra: &[(&str, String)], body: Vec<u8>) -> reqwest::Response {
        let key = SharedKey::new(account, &self.keys[account]).unwrap();
        let parsed = url::Url::parse(url).unwrap();
        let mut headers: Vec<(&str, String)> = vec![("x-ms-date", azure_sharedkey::httpdate_now()), ("x-ms-version", version.to_string())];
        if !body.is_empty() || method == reqwest::Method::PUT {
            headers.push(("content-length", body.len().to_string()));
        }
        headers.extend(extra.iter().cloned());
        let auth = key.authorization(method.as_str(), &parsed, headers.iter().map(|(k, v)| (*k, v.as_str())));
        let mut req = self.http.request(method, parsed).header("authorization", auth);
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        self.rt.block_on(async move { req.body(body).send().await }).expect("the oracle reaches the bed's storage")
    }

    fn stored(&self, name: &str, r: reqwest::Response) -> Option<Stored> {
        if r.status() == 404 {
            return None;
        }
        assert!(r.status().is_success(), "oracle GET {name}: {}", r.status());
        let h = r.headers().clone();
        let s = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = self.rt.block_on(r.bytes()).unwrap().to_vec();
        Some(Stored { name: name.to_string(), bytes, etag: s("etag").unwrap_or_default(), sha256_meta: s(&format!("x-ms-meta-{SHA256_METADATA}")), content_md5: s("content-md5") })
    }

    fn blob_url(&self, account: &str, container: &str, name: &str) -> String {
        format!("{}/{account}/{container}/{}", self.blob_endpoint, aml_emulator::blob::encode_path(name))
    }

    /// A blob as stored in Azurite, `None` when it does not exist.
    pub fn blob(&self, account: &str, container: &str, name: &str) -> Option<Stored> {
        let r = self.send(reqwest::Method::GET, account, &self.blob_url(account, container, name), BLOB_VERSION, &[], Vec::new());
        self.stored(&format!("{account}/{container}/{name}"), r)
    }

    /// A blob of a workspace's default container.
    pub fn ws_blob(&self, ws: &WorkspaceInfo, name: &str) -> Option<Stored> {
        self.blob(&ws.storage_account, &ws.default_container(), name)
    }

    /// Every blob under `prefix`: (name, ETag), listed from Azurite page by page.
    pub fn list_blobs(&self, account: &str, container: &str, prefix: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
            let mut url = format!("{}/{account}/{container}?restype=container&comp=list&prefix={}", self.blob_endpoint, enc(prefix));
            if !marker.is_empty() {
                url.push_str(&format!("&marker={}", enc(&marker)));
            }
            let r = self.send(reqwest::Method::GET, account, &url, BLOB_VERSION, &[], Vec::new());
            if r.status() == 404 {
                return out;
            }
            assert!(r.status().is_success(), "oracle list {account}/{container}: {}", r.status());
            let xml = self.rt.block_on(r.text()).unwrap();
            for b in xml_items(&xml, "Blob") {
                out.push((xml_field(b, "Name").unwrap_or_default(), xml_field(b, "Etag").unwrap_or_default()));
            }
            match xml_field(&xml, "NextMarker") {
                Some(m) if !m.is_empty() => marker = m,
                _ => return out,
            }
        }
    }

    /// `x-ms-lease-state` of a blob (`available`, `leased`, `expired`, `breaking`, `broken`); `None` when it does not exist.
    pub fn lease_state(&self, account: &str, container: &str, name: &str) -> Option<String> {
        let r = self.send(reqwest::Method::HEAD, account, &self.blob_url(account, container, name), BLOB_VERSION, &[], Vec::new());
        if r.status() == 404 {
            return None;
        }
        assert!(r.status().is_success(), "oracle HEAD {account}/{container}/{name}: {}", r.status());
        Some(r.headers().get("x-ms-lease-state").and_then(|v| v.to_str().ok()).unwrap_or("available").to_string())
    }

    /// Breaks a blob's lease at once (what an operator does for a lease left behind).
    pub fn break_lease(&self, account: &str, container: &str, name: &str) {
        let extra = [("x-ms-lease-action", "break".to_string()), ("x-ms-lease-break-period", "0".to_string())];
        let r = self.send(reqwest::Method::PUT, account, &format!("{}?comp=lease", self.blob_url(account, container, name)), BLOB_VERSION, &extra, Vec::new());
        assert!(r.status().is_success(), "oracle break lease {account}/{container}/{name}: {}", r.status());
    }

    fn file_url(&self, account: &str, share: &str, path: &str) -> String {
        let files = self.files_endpoint.as_deref().expect("the bed runs no Azure Files service");
        format!("{files}/{account}/{share}/{}", aml_emulator::blob::encode_path(path))
    }

    /// A file of a share, read through the Azure Files REST API; `None` when it does not exist.
    pub fn file(&self, account: &str, share: &str, path: &str) -> Option<Stored> {
        let r = self.send(reqwest::Method::GET, account, &self.file_url(account, share, path), FILE_VERSION, &[], Vec::new());
        self.stored(&format!("{account}/{share}/{path}"), r)
    }

    /// Every file under directory `dir` of a share (recursively), as paths from the share root.
    pub fn list_files(&self, account: &str, share: &str, dir: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![dir.trim_matches('/').to_string()];
        while let Some(d) = stack.pop() {
            let mut marker = String::new();
            loop {
                let mut url = format!("{}?restype=directory&comp=list", self.file_url(account, share, &d).trim_end_matches('/'));
                if !marker.is_empty() {
                    url.push_str(&format!("&marker={}", percent_encoding::utf8_percent_encode(&marker, percent_encoding::NON_ALPHANUMERIC)));
                }
                let r = self.send(reqwest::Method::GET, account, &url, FILE_VERSION, &[], Vec::new());
                if r.status() == 404 {
                    break;
                }
                assert!(r.status().is_success(), "oracle list {account}/{share}/{d}: {}", r.status());
                let xml = self.rt.block_on(r.text()).unwrap();
                let join = |n: String| if d.is_empty() { n } else { format!("{d}/{n}") };
                for f in xml_items(&xml, "File") {
                    out.push(join(xml_field(f, "Name").unwrap_or_default()));
                }
                for sub in xml_items(&xml, "Directory") {
                    stack.push(join(xml_field(sub, "Name").unwrap_or_default()));
                }
                match xml_field(&xml, "NextMarker") {
                    Some(m) if !m.is_empty() => marker = m,
                    _ => break,
                }
            }
        }
        out.sort();
        out
    }

    pub fn get(&self, place: &Place) -> Option<Stored> {
        match place {
            Place::Blob(a, c, n) => self.blob(a, c, n),
            Place::File(a, s, p) => self.file(a, s, p),
        }
    }

    /// Every blob of `container` changed since the last audit (by ETag) whose recorded sha256
    /// is not the sha256 of its bytes: one line per false record. Reads only what changed.
    pub fn audit_container(&self, account: &str, container: &str) -> Vec<String> {
        let mut bad = Vec::new();
        for (name, etag) in self.list_blobs(account, container, "") {
            let place = Place::Blob(account.into(), container.into(), name.clone());
            if self.audited.lock().unwrap().get(&place) == Some(&etag) {
                continue;
            }
            if let Some(s) = self.blob(account, container, &name) {
                bad.extend(s.false_record());
                self.audited.lock().unwrap().insert(place, s.etag);
            }
        }
        bad
    }

    /// The same audit for every file under `dir` of a share (read each time: shares are small).
    pub fn audit_share(&self, account: &str, share: &str, dir: &str) -> Vec<String> {
        self.list_files(account, share, dir).iter().filter_map(|p| self.file(account, share, p)).filter_map(|s| s.false_record()).collect()
    }
}

/// How a target tree compares with the source, byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeState {
    /// Every expected file is there with the source's bytes.
    Equal,
    /// Not one expected file is there.
    Absent,
    /// Some files missing, none wrong.
    Partial(Vec<String>),
    /// At least one file with other bytes than the source's.
    Wrong(Vec<String>),
}

/// Compares `expected` (place → source bytes, or any of several acceptable contents) with what is
/// stored. A file with other bytes makes the tree `Wrong` whatever else holds.
pub fn compare_tree(o: &Oracle, expected: &BTreeMap<Place, Vec<Vec<u8>>>) -> TreeState {
    let (mut missing, mut wrong) = (Vec::new(), Vec::new());
    for (place, accepted) in expected {
        match o.get(place) {
            None => missing.push(format!("{place} missing")),
            Some(s) => {
                let real = s.sha256();
                if !accepted.iter().any(|a| sha256_hex(a) == real) {
                    wrong.push(format!("{place} holds {} bytes (sha256 {real}) that are not the source's", s.bytes.len()));
                }
            }
        }
    }
    if !wrong.is_empty() {
        TreeState::Wrong(wrong)
    } else if missing.is_empty() {
        TreeState::Equal
    } else if missing.len() == expected.len() {
        TreeState::Absent
    } else {
        TreeState::Partial(missing)
    }
}
