//! The HTTP side of the Azure Files emulator: one fallback handler that parses the path-style
//! URL, finds the operation ([`super::ops`]), authorizes it ([`super::auth`]) and runs it.

use std::collections::BTreeMap;
use std::io::SeekFrom;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use futures::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::auth::{authorize, Target};
use super::ops::{self, OpSpec};
use super::store::{iso7, rfc1123, ContentHeaders, FileStore, FileView, Node};
use super::xml::{self, ListEcho, ListInclude};
use super::{FilesError, SPEC_VERSION};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Largest Put Range body (Azure: 4 MiB).
pub const MAX_RANGE: u64 = 4 * 1024 * 1024;
/// Largest file (Azure: 4 TiB).
pub const MAX_FILE: u64 = 4 * 1024 * 1024 * 1024 * 1024;
/// Read chunk when streaming a file out.
const CHUNK: usize = 256 * 1024;

pub struct Service {
    pub store: Arc<FileStore>,
    /// Requests served per operationId (`File_UploadRange`, …), refused ones included;
    /// `File_UploadRange+Content-MD5` counts the ranges sent with a Content-MD5.
    pub counters: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
    pub keys: BTreeMap<String, azure_sharedkey::SharedKey>,
    pub page_size: usize,
    pub endpoint: String,
}

/// Parses `/<account>[/<share>[/<path…>]]`, percent-decoding every segment.
pub fn parse_target(raw_path: &str) -> Result<Target, FilesError> {
    let mut segs = Vec::new();
    for s in raw_path.trim_start_matches('/').split('/') {
        let d = percent_encoding::percent_decode_str(s).decode_utf8().map_err(|_| FilesError::bad_request("InvalidUri", "The request URI is not valid UTF-8 after decoding."))?;
        segs.push(d.into_owned());
    }
    while segs.last().is_some_and(|s| s.is_empty()) {
        segs.pop();
    }
    if segs.is_empty() {
        return Err(FilesError::bad_request("InvalidUri", "The requested URI does not represent any resource on the server (path-style: /<account>/<share>/...)."));
    }
    if segs.iter().any(|s| s.is_empty()) {
        return Err(FilesError::bad_request("InvalidUri", "The request URI has an empty path segment."));
    }
    let account = segs.remove(0);
    let share = if segs.is_empty() { None } else { Some(segs.remove(0)) };
    for s in &segs {
        if s == "." || s == ".." || s.chars().any(|c| matches!(c, '"' | '\\' | ':' | '|' | '<' | '>' | '*' | '?') || c.is_control()) {
            return Err(FilesError::bad_request("InvalidResourceName", "The specifed resource name contains invalid characters."));
        }
        if s.len() > 255 {
            return Err(FilesError::bad_request("InvalidResourceName", "A directory or file name is longer than 255 characters."));
        }
    }
    Ok(Target { account, share, path: segs.join("/") })
}

/// Azure's share name rule: 3–63 of lowercase letters, digits and single hyphens, starting and
/// ending with a letter or digit.
pub fn valid_share_name(name: &str) -> bool {
    let b = name.as_bytes();
    (3..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

fn parse_query(q: Option<&str>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(q) = q {
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            out.insert(k.to_ascii_lowercase(), v.into_owned());
        }
    }
    out
}

/// `bytes=a-b` or `bytes=a-` → (a, Some(b) / None).
pub fn parse_range(v: &str) -> Option<(u64, Option<u64>)> {
    let r = v.trim().strip_prefix("bytes=")?;
    let (a, b) = r.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b = b.trim();
    if b.is_empty() {
        return Some((a, None));
    }
    let b: u64 = b.parse().ok()?;
    (b >= a).then_some((a, Some(b)))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn metadata_from(h: &HeaderMap) -> Result<BTreeMap<String, String>, FilesError> {
    let mut md = BTreeMap::new();
    for (n, v) in h {
        if let Some(k) = n.as_str().strip_prefix("x-ms-meta-") {
            let first = k.chars().next().unwrap_or('0');
            if k.is_empty() || !(first.is_ascii_alphabetic() || first == '_') || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(FilesError::bad_request("InvalidMetadata", "The metadata specified is invalid. It has characters that are not permitted."));
            }
            md.insert(k.to_string(), v.to_str().unwrap_or("").to_string());
        }
    }
    Ok(md)
}

fn content_headers_from(h: &HeaderMap) -> Result<ContentHeaders, FilesError> {
    let get = |n: &str| header(h, n).map(str::to_string).filter(|v| !v.is_empty());
    let md5 = get("x-ms-content-md5");
    if let Some(m) = &md5 {
        if B64.decode(m).map(|b| b.len() != 16).unwrap_or(true) {
            return Err(FilesError::invalid_header("x-ms-content-md5", "must be the base64 of a 16-byte MD5"));
        }
    }
    Ok(ContentHeaders {
        content_type: get("x-ms-content-type"),
        content_encoding: get("x-ms-content-encoding"),
        content_language: get("x-ms-content-language"),
        cache_control: get("x-ms-cache-control"),
        content_disposition: get("x-ms-content-disposition"),
        content_md5: md5,
    })
}

/// Response under construction.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Body,
}

impl Answer {
    fn new(status: StatusCode) -> Answer {
        Answer { status, headers: HeaderMap::new(), body: Body::empty() }
    }
    fn h(mut self, name: &'static str, value: impl AsRef<str>) -> Answer {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.insert(HeaderName::from_static(name), v);
        }
        self
    }
    fn meta(mut self, md: &BTreeMap<String, String>) -> Answer {
        for (k, v) in md {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(format!("x-ms-meta-{k}").as_bytes()), HeaderValue::from_str(v)) {
                self.headers.insert(n, v);
            }
        }
        self
    }
    fn node(self, n: &Node, parent_id: u64, attributes: &str) -> Answer {
        self.h("etag", &n.etag)
            .h("last-modified", rfc1123(n.last_modified))
            .h("x-ms-file-attributes", attributes)
            .h("x-ms-file-creation-time", iso7(n.created))
            .h("x-ms-file-last-write-time", iso7(n.last_modified))
            .h("x-ms-file-change-time", iso7(n.last_modified))
            .h("x-ms-file-permission-key", xml::PERMISSION_KEY)
            .h("x-ms-file-id", n.file_id.to_string())
            .h("x-ms-file-parent-id", parent_id.to_string())
    }
    fn xml(self, body: String) -> Answer {
        let mut a = self.h("content-type", "application/xml");
        a.body = Body::from(body);
        a
    }
    fn into_response(self) -> Response {
        let mut r = Response::new(self.body);
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }
}

fn error_response(e: &FilesError, request_id: &str) -> Response {
    let msg = format!("{}\nRequestId:{request_id}\nTime:{}", e.message, iso7(super::store::now_ticks()));
    let mut a = Answer::new(e.status).h("x-ms-error-code", e.code).xml(xml::error(e.code, &msg, e.detail.as_deref()));
    if e.status == StatusCode::RANGE_NOT_SATISFIABLE {
        if let Some(d) = &e.detail {
            a = a.h("content-range", d);
        }
    }
    a.into_response()
}

/// The fallback handler of the Files router.
pub async fn handle(State(svc): State<Arc<Service>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let version = header(req.headers(), "x-ms-version").unwrap_or(SPEC_VERSION).to_string();
    let method = req.method().clone();
    let mut resp = match route(&svc, req).await {
        Ok(a) => a.into_response(),
        Err(e) => {
            tracing::debug!("Files {method}: {e}");
            error_response(&e, &request_id)
        }
    };
    let h = resp.headers_mut();
    for (n, v) in [("x-ms-request-id", request_id), ("x-ms-version", version), ("date", azure_sharedkey::httpdate_now())] {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(HeaderName::from_static(n), v);
        }
    }
    resp
}

async fn route(svc: &Service, req: Request) -> Result<Answer, FilesError> {
    let (parts, body) = req.into_parts();
    let target = parse_target(parts.uri.path())?;
    let query = parse_query(parts.uri.query());
    let restype = query.get("restype").map(String::as_str);
    let comp = query.get("comp").map(String::as_str);
    let op = ops::find(parts.method.as_str(), target.share.is_some(), !target.path.is_empty(), restype, comp).ok_or_else(|| {
        FilesError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            &format!("aml-emulator's Azure Files does not implement {} with restype={restype:?} comp={comp:?} here (see emulator/README.md).", parts.method),
        )
    })?;
    {
        let mut c = svc.counters.lock().unwrap_or_else(|e| e.into_inner());
        *c.entry(op.operation_id.to_string()).or_insert(0) += 1;
        if op.operation_id == "File_UploadRange" && parts.headers.contains_key("content-md5") {
            *c.entry("File_UploadRange+Content-MD5".to_string()).or_insert(0) += 1;
        }
    }
    authorize(&svc.keys, &parts, &query, &target, op)?;
    let snapshot = query.get("sharesnapshot").map(String::as_str).filter(|s| !s.is_empty());
    if snapshot.is_some() && !matches!(op.method, "GET" | "HEAD") && op.operation_id != "Share_Delete" {
        return Err(FilesError::bad_request("ShareSnapshotOperationNotSupported", "The operation is not supported on a share snapshot."));
    }
    let cx = Cx { svc, target: &target, query: &query, headers: &parts.headers, snapshot, op };
    cx.run(body).await
}

struct Cx<'a> {
    svc: &'a Service,
    target: &'a Target,
    query: &'a BTreeMap<String, String>,
    headers: &'a HeaderMap,
    snapshot: Option<&'a str>,
    op: &'a OpSpec,
}

impl Cx<'_> {
    fn account(&self) -> &str {
        &self.target.account
    }
    fn share(&self) -> &str {
        self.target.share.as_deref().unwrap_or("")
    }
    fn path(&self) -> &str {
        &self.target.path
    }
    fn store(&self) -> &FileStore {
        &self.svc.store
    }
    fn service_endpoint(&self) -> String {
        format!("{}/{}/", self.svc.endpoint, self.account())
    }
    fn max_results(&self) -> Result<(Option<usize>, usize), FilesError> {
        match self.query.get("maxresults") {
            None => Ok((None, self.svc.page_size)),
            Some(v) => {
                let n: usize = v.parse().ok().filter(|n| *n >= 1).ok_or_else(|| FilesError::bad_request("OutOfRangeQueryParameterValue", "maxresults must be a positive integer."))?;
                Ok((Some(n), n.min(self.svc.page_size)))
            }
        }
    }
    fn marker(&self) -> Result<Option<String>, FilesError> {
        match self.query.get("marker").filter(|m| !m.is_empty()) {
            None => Ok(None),
            Some(m) => B64URL
                .decode(m)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .map(Some)
                .ok_or_else(|| FilesError::bad_request("InvalidQueryParameterValue", "The marker is not one this service returned.")),
        }
    }

    async fn run(&self, body: Body) -> Result<Answer, FilesError> {
        match self.op.operation_id {
            "Service_ListSharesSegment" => self.list_shares(),
            "Share_Create" => self.create_share(),
            "Share_GetProperties" => self.share_properties(),
            "Share_Delete" => self.delete_share(),
            "Share_CreateSnapshot" => self.create_snapshot(),
            "Directory_Create" => self.create_directory(),
            "Directory_GetProperties" => self.directory_properties(),
            "Directory_Delete" => {
                self.store().delete_directory(self.account(), self.share(), self.path())?;
                Ok(Answer::new(StatusCode::ACCEPTED))
            }
            "Directory_ListFilesAndDirectoriesSegment" => self.list_directory(),
            "File_Create" => self.create_file(),
            "File_Download" => self.download().await,
            "File_GetProperties" => self.file_properties(),
            "File_Delete" => {
                self.store().delete_file(self.account(), self.share(), self.path())?;
                Ok(Answer::new(StatusCode::ACCEPTED).h("x-ms-link-count", "0"))
            }
            "File_UploadRange" => self.put_range(body).await,
            "File_SetHTTPHeaders" => self.set_http_headers().await,
            "File_SetMetadata" => {
                let (node, parent) = self.store().set_file_metadata(self.account(), self.share(), self.path(), metadata_from(self.headers)?)?;
                Ok(Answer::new(StatusCode::OK).node(&node, parent, "Archive").h("x-ms-request-server-encrypted", "true"))
            }
            "File_Rename" => self.rename(),
            other => Err(FilesError::internal(format!("operation {other} has no handler"))),
        }
    }

    fn list_shares(&self) -> Result<Answer, FilesError> {
        let prefix = self.query.get("prefix").map(String::as_str).unwrap_or("");
        let include = self.query.get("include").map(|v| v.to_ascii_lowercase()).unwrap_or_default();
        let inc = |w: &str| include.split(',').any(|p| p.trim() == w);
        let (echo_max, max) = self.max_results()?;
        let marker = self.marker()?;
        let page = self.store().list_shares(self.account(), prefix, inc("snapshots"), marker.as_deref(), max)?;
        let next = page.next.as_ref().map(|n| B64URL.encode(n));
        let echo = ListEcho { prefix: self.query.get("prefix").map(String::as_str), marker: self.query.get("marker").map(String::as_str), max_results: echo_max };
        Ok(Answer::new(StatusCode::OK).xml(xml::list_shares(&self.service_endpoint(), &echo, &page.items, inc("metadata"), next.as_deref())))
    }

    fn create_share(&self) -> Result<Answer, FilesError> {
        if !valid_share_name(self.share()) {
            return Err(FilesError::bad_request("InvalidResourceName", "The specifed resource name contains invalid characters."));
        }
        let quota = match header(self.headers, "x-ms-share-quota") {
            None => None,
            Some(q) => Some(q.parse::<u64>().ok().filter(|q| (1..=102_400).contains(q)).ok_or_else(|| FilesError::invalid_header("x-ms-share-quota", "1..=102400 GiB"))?),
        };
        let p = self.store().create_share(self.account(), self.share(), quota, metadata_from(self.headers)?)?;
        Ok(Answer::new(StatusCode::CREATED).h("etag", &p.etag).h("last-modified", rfc1123(p.last_modified)).h("x-ms-share-quota", p.quota.to_string()))
    }

    fn share_properties(&self) -> Result<Answer, FilesError> {
        let p = self.store().share_props(self.account(), self.share(), self.snapshot)?;
        Ok(Answer::new(StatusCode::OK)
            .meta(&p.metadata)
            .h("etag", &p.etag)
            .h("last-modified", rfc1123(p.last_modified))
            .h("x-ms-share-quota", p.quota.to_string())
            .h("x-ms-access-tier", "TransactionOptimized")
            .h("x-ms-enabled-protocols", "SMB")
            .h("x-ms-lease-state", "available")
            .h("x-ms-lease-status", "unlocked"))
    }

    fn delete_share(&self) -> Result<Answer, FilesError> {
        let include = match header(self.headers, "x-ms-delete-snapshots") {
            None => false,
            Some(v) if v.eq_ignore_ascii_case("include") || v.eq_ignore_ascii_case("include-leased") => true,
            Some(_) => return Err(FilesError::invalid_header("x-ms-delete-snapshots", "include or include-leased")),
        };
        self.store().delete_share(self.account(), self.share(), self.snapshot, include)?;
        Ok(Answer::new(StatusCode::ACCEPTED))
    }

    fn create_snapshot(&self) -> Result<Answer, FilesError> {
        let (value, p) = self.store().create_snapshot(self.account(), self.share(), metadata_from(self.headers)?)?;
        Ok(Answer::new(StatusCode::CREATED).h("x-ms-snapshot", value).h("etag", &p.etag).h("last-modified", rfc1123(p.last_modified)))
    }

    fn create_directory(&self) -> Result<Answer, FilesError> {
        let (node, parent) = self.store().create_directory(self.account(), self.share(), self.path(), metadata_from(self.headers)?)?;
        Ok(Answer::new(StatusCode::CREATED).node(&node, parent, "Directory").h("x-ms-request-server-encrypted", "true"))
    }

    fn directory_properties(&self) -> Result<Answer, FilesError> {
        let (node, parent) = self.store().directory(self.account(), self.share(), self.snapshot, self.path())?;
        Ok(Answer::new(StatusCode::OK).meta(&node.metadata).node(&node, parent, "Directory").h("x-ms-server-encrypted", "true"))
    }

    fn list_directory(&self) -> Result<Answer, FilesError> {
        let prefix = self.query.get("prefix").map(String::as_str).unwrap_or("");
        let (echo_max, max) = self.max_results()?;
        let marker = self.marker()?;
        let (page, dir_id) = self.store().list_directory(self.account(), self.share(), self.snapshot, self.path(), prefix, marker.as_deref(), max)?;
        let next = page.next.as_ref().map(|n| B64URL.encode(n));
        let include = self.query.get("include").map(|v| ListInclude::parse(v)).unwrap_or_default();
        let extended = header(self.headers, "x-ms-file-extended-info").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let echo = ListEcho { prefix: self.query.get("prefix").map(String::as_str), marker: self.query.get("marker").map(String::as_str), max_results: echo_max };
        let body = xml::list_directory(&self.service_endpoint(), self.share(), self.snapshot, self.path(), dir_id, &echo, &page.items, include, extended, next.as_deref());
        Ok(Answer::new(StatusCode::OK).xml(body))
    }

    fn create_file(&self) -> Result<Answer, FilesError> {
        match header(self.headers, "x-ms-type") {
            Some(t) if t.eq_ignore_ascii_case("file") => {}
            Some(_) => return Err(FilesError::invalid_header("x-ms-type", "must be 'file'")),
            None => return Err(FilesError::bad_request("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-type.")),
        }
        let size = match header(self.headers, "x-ms-content-length") {
            None => return Err(FilesError::bad_request("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-content-length.")),
            Some(v) => v.parse::<u64>().ok().filter(|n| *n <= MAX_FILE).ok_or_else(|| FilesError::invalid_header("x-ms-content-length", "0..=4 TiB"))?,
        };
        if header(self.headers, "content-length").is_some_and(|v| v != "0") {
            return Err(FilesError::new(StatusCode::NOT_IMPLEMENTED, "NotImplemented", "Create File with data (a request body) is not implemented by the emulator; use Put Range."));
        }
        let (node, parent) = self.store().create_file(self.account(), self.share(), self.path(), size, content_headers_from(self.headers)?, metadata_from(self.headers)?)?;
        Ok(Answer::new(StatusCode::CREATED).node(&node, parent, "Archive").h("x-ms-request-server-encrypted", "true"))
    }

    fn file_headers(&self, mut a: Answer, v: &FileView) -> Answer {
        a = a.meta(&v.node.metadata).node(&v.node, v.parent_id, "Archive");
        let hd = &v.headers;
        a = a.h("content-type", hd.content_type.as_deref().unwrap_or("application/octet-stream"));
        if let Some(x) = &hd.content_encoding {
            a = a.h("content-encoding", x);
        }
        if let Some(x) = &hd.content_language {
            a = a.h("content-language", x);
        }
        if let Some(x) = &hd.cache_control {
            a = a.h("cache-control", x);
        }
        if let Some(x) = &hd.content_disposition {
            a = a.h("content-disposition", x);
        }
        a.h("x-ms-server-encrypted", "true").h("x-ms-lease-state", "available").h("x-ms-lease-status", "unlocked")
    }

    fn file_properties(&self) -> Result<Answer, FilesError> {
        let v = self.store().file(self.account(), self.share(), self.snapshot, self.path())?;
        let mut a = self.file_headers(Answer::new(StatusCode::OK), &v).h("x-ms-type", "File").h("content-length", v.size.to_string());
        if let Some(m) = &v.headers.content_md5 {
            a = a.h("content-md5", m);
        }
        Ok(a)
    }

    fn range_header(&self) -> Option<&str> {
        header(self.headers, "x-ms-range").or_else(|| header(self.headers, "range"))
    }

    async fn download(&self) -> Result<Answer, FilesError> {
        let v = self.store().file(self.account(), self.share(), self.snapshot, self.path())?;
        let range = match self.range_header() {
            None => None,
            Some(r) => Some(parse_range(r).ok_or_else(|| FilesError::invalid_header("x-ms-range", "bytes=start-end or bytes=start-"))?),
        };
        let want_md5 = header(self.headers, "x-ms-range-get-content-md5").is_some_and(|x| x.eq_ignore_ascii_case("true"));
        let (status, start, len) = match range {
            None => (StatusCode::OK, 0, v.size),
            Some((a, b)) => {
                if a >= v.size {
                    let mut e = FilesError::new(StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange", "The range specified is invalid for the current size of the resource.");
                    e.detail = Some(format!("bytes */{}", v.size));
                    return Err(e);
                }
                let end = b.unwrap_or(u64::MAX).min(v.size - 1);
                (StatusCode::PARTIAL_CONTENT, a, end - a + 1)
            }
        };
        if want_md5 && (range.is_none() || len > MAX_RANGE) {
            return Err(FilesError::invalid_header("x-ms-range-get-content-md5", "needs a range of at most 4 MiB"));
        }
        let mut file = tokio::fs::File::open(&v.blob_path).await.map_err(|e| FilesError::internal(format!("opening {}: {e}", v.blob_path.display())))?;
        let mut a = self.file_headers(Answer::new(status), &v).h("content-length", len.to_string()).h("accept-ranges", "bytes");
        if status == StatusCode::PARTIAL_CONTENT {
            a = a.h("content-range", format!("bytes {}-{}/{}", start, start + len - 1, v.size));
            if let Some(m) = &v.headers.content_md5 {
                a = a.h("x-ms-content-md5", m);
            }
        } else if let Some(m) = &v.headers.content_md5 {
            a = a.h("content-md5", m);
        }
        if want_md5 {
            file.seek(SeekFrom::Start(start)).await.map_err(io_err)?;
            let mut h = Md5::new();
            let mut left = len;
            let mut buf = vec![0u8; CHUNK];
            while left > 0 {
                let n = (left as usize).min(CHUNK);
                file.read_exact(&mut buf[..n]).await.map_err(io_err)?;
                h.update(&buf[..n]);
                left -= n as u64;
            }
            a = a.h("content-md5", B64.encode(h.finalize()));
        }
        file.seek(SeekFrom::Start(start)).await.map_err(io_err)?;
        let stream = futures::stream::try_unfold((file, len), |(mut f, left)| async move {
            if left == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            let n = (left as usize).min(CHUNK);
            let mut buf = vec![0u8; n];
            f.read_exact(&mut buf).await?;
            Ok(Some((Bytes::from(buf), (f, left - n as u64))))
        });
        a.body = Body::from_stream(stream);
        Ok(a)
    }

    async fn put_range(&self, body: Body) -> Result<Answer, FilesError> {
        let r = self.range_header().ok_or_else(|| FilesError::bad_request("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-range."))?;
        let (start, end) = match parse_range(r) {
            Some((a, Some(b))) => (a, b),
            _ => return Err(FilesError::invalid_header("x-ms-range", "bytes=start-end")),
        };
        let len = end - start + 1;
        let clear = match header(self.headers, "x-ms-write") {
            Some(w) if w.eq_ignore_ascii_case("update") => false,
            Some(w) if w.eq_ignore_ascii_case("clear") => true,
            Some(_) => return Err(FilesError::invalid_header("x-ms-write", "update or clear")),
            None => return Err(FilesError::bad_request("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified: x-ms-write.")),
        };
        let content_length: u64 = header(self.headers, "content-length")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| FilesError::new(StatusCode::LENGTH_REQUIRED, "MissingContentLengthHeader", "Content-Length HTTP header is missing."))?;
        if clear && content_length != 0 {
            return Err(FilesError::invalid_header("content-length", "must be 0 with x-ms-write: clear"));
        }
        if !clear {
            if len > MAX_RANGE {
                return Err(FilesError::new(StatusCode::PAYLOAD_TOO_LARGE, "RequestBodyTooLarge", "The request body is too large and exceeds the maximum permissible limit (4 MiB)."));
            }
            if content_length != len {
                return Err(FilesError::invalid_header("content-length", &format!("{content_length} bytes for a range of {len}")));
            }
        }
        let target = self.store().prepare_write(self.account(), self.share(), self.path())?;
        if end >= target.size {
            return Err(FilesError::new(StatusCode::RANGE_NOT_SATISFIABLE, "InvalidRange", "The range specified is invalid for the current size of the resource."));
        }
        let mut md5_header = None;
        if clear {
            let mut f = tokio::fs::OpenOptions::new().write(true).open(&target.blob_path).await.map_err(io_err)?;
            f.seek(SeekFrom::Start(start)).await.map_err(io_err)?;
            let zeros = vec![0u8; CHUNK];
            let mut left = len;
            while left > 0 {
                let n = (left as usize).min(CHUNK);
                f.write_all(&zeros[..n]).await.map_err(io_err)?;
                left -= n as u64;
            }
            f.flush().await.map_err(io_err)?;
        } else {
            // Body → temporary file (hashing), checked, then copied into place.
            let tmp = self.store().temp_path();
            let result = self.receive(body, &tmp, len).await;
            let digest = match result {
                Ok(d) => d,
                Err(e) => {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    return Err(e);
                }
            };
            let digest_b64 = B64.encode(digest);
            if let Some(given) = header(self.headers, "content-md5") {
                if given.trim() != digest_b64 {
                    let _ = tokio::fs::remove_file(&tmp).await;
                    let mut e = FilesError::bad_request("Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.");
                    e.detail = None;
                    return Err(e);
                }
            }
            let copied = async {
                let mut src = tokio::fs::File::open(&tmp).await?;
                let mut dst = tokio::fs::OpenOptions::new().write(true).open(&target.blob_path).await?;
                dst.seek(SeekFrom::Start(start)).await?;
                tokio::io::copy(&mut src, &mut dst).await?;
                dst.flush().await?;
                std::io::Result::Ok(())
            }
            .await;
            let _ = tokio::fs::remove_file(&tmp).await;
            copied.map_err(io_err)?;
            md5_header = Some(digest_b64);
        }
        let (node, _) = self.store().touch_file(self.account(), self.share(), self.path(), None, None)?;
        let mut a = Answer::new(StatusCode::CREATED)
            .h("etag", &node.etag)
            .h("last-modified", rfc1123(node.last_modified))
            .h("x-ms-request-server-encrypted", "true")
            .h("x-ms-file-last-write-time", iso7(node.last_modified));
        if let Some(m) = md5_header {
            a = a.h("content-md5", m);
        }
        Ok(a)
    }

    /// Streams exactly `len` body bytes into `tmp`; returns their MD5.
    async fn receive(&self, body: Body, tmp: &std::path::Path, len: u64) -> Result<[u8; 16], FilesError> {
        let mut f = tokio::fs::File::create(tmp).await.map_err(io_err)?;
        let mut h = Md5::new();
        let mut got = 0u64;
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| FilesError::bad_request("InvalidInput", &format!("reading the request body: {e}")))?;
            got += chunk.len() as u64;
            if got > len {
                return Err(FilesError::invalid_header("content-length", "the body is longer than the range"));
            }
            h.update(&chunk);
            f.write_all(&chunk).await.map_err(io_err)?;
        }
        f.flush().await.map_err(io_err)?;
        if got != len {
            return Err(FilesError::bad_request("InvalidInput", &format!("the body had {got} bytes, the range {len}")));
        }
        Ok(h.finalize().into())
    }

    /// Rename File: `x-ms-file-rename-source` is the source file as a URL or a URL path
    /// (`/<account>/<share>/<path>` path-style, or `/<share>/<path>`), optionally with a query.
    fn rename(&self) -> Result<Answer, FilesError> {
        let raw = header(self.headers, "x-ms-file-rename-source")
            .ok_or_else(|| FilesError::bad_request("MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified."))?;
        let path_part = match raw.find("://") {
            Some(i) => raw[i + 3..].find('/').map(|j| &raw[i + 3 + j..]).unwrap_or("/"),
            None => raw,
        };
        let path_part = path_part.split('?').next().unwrap_or("");
        let segs: Vec<String> = path_part
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        let rest = if segs.len() > 2 && segs[0] == self.account() && segs[1] == self.share() {
            &segs[2..]
        } else if segs.len() > 1 && segs[0] == self.share() {
            &segs[1..]
        } else {
            return Err(FilesError::bad_request("InvalidHeaderValue", "x-ms-file-rename-source must name a file in the same share."));
        };
        if rest.iter().any(|s| s == "." || s == "..") {
            return Err(FilesError::bad_request("InvalidResourceName", "The specified resource name contains invalid characters."));
        }
        let source = rest.join("/");
        let replace = header(self.headers, "x-ms-file-rename-replace-if-exists").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let (node, parent) = self.store().rename_file(self.account(), self.share(), &source, self.path(), replace)?;
        Ok(Answer::new(StatusCode::OK).node(&node, parent, "Archive").h("x-ms-request-server-encrypted", "true"))
    }

    async fn set_http_headers(&self) -> Result<Answer, FilesError> {
        let new_size = match header(self.headers, "x-ms-content-length") {
            None => None,
            Some(v) => Some(v.parse::<u64>().ok().filter(|n| *n <= MAX_FILE).ok_or_else(|| FilesError::invalid_header("x-ms-content-length", "0..=4 TiB"))?),
        };
        let headers = content_headers_from(self.headers)?;
        if let Some(n) = new_size {
            let target = self.store().prepare_write(self.account(), self.share(), self.path())?;
            let f = tokio::fs::OpenOptions::new().write(true).open(&target.blob_path).await.map_err(io_err)?;
            f.set_len(n).await.map_err(io_err)?;
        }
        let (node, parent) = self.store().touch_file(self.account(), self.share(), self.path(), Some(headers), new_size)?;
        Ok(Answer::new(StatusCode::OK).node(&node, parent, "Archive").h("x-ms-request-server-encrypted", "true").h("x-ms-link-count", "1"))
    }
}

fn io_err(e: std::io::Error) -> FilesError {
    FilesError::internal(format!("file I/O: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_ranges_names() {
        let t = parse_target("/acct/share/Users/zo%C3%AB/%E3%83%8E%E3%83%BC%E3%83%88/a%20b.ipynb").unwrap();
        assert_eq!((t.account.as_str(), t.share.as_deref(), t.path.as_str()), ("acct", Some("share"), "Users/zoë/ノート/a b.ipynb"));
        assert_eq!(parse_target("/acct/").unwrap(), Target { account: "acct".into(), share: None, path: String::new() });
        assert_eq!(parse_target("/acct/s/a/../b").unwrap_err().code, "InvalidResourceName");
        assert_eq!(parse_target("/acct/s/a%3Fb").unwrap_err().code, "InvalidResourceName");
        assert_eq!(parse_range("bytes=0-511"), Some((0, Some(511))));
        assert_eq!(parse_range("bytes=256-"), Some((256, None)));
        assert_eq!(parse_range("bytes=5-4"), None);
        assert!(valid_share_name("code-391ff5ac-6576-460f-ba4d-7e03433c68b6"));
        assert!(!valid_share_name("Code") && !valid_share_name("ab") && !valid_share_name("a--b") && !valid_share_name("-ab"));
    }
}
