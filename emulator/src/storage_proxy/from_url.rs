//! Put Blob From URL and Put Block From URL (shared/specs/storage/blob/2027-03-07/blob.json,
//! `BlockBlob_PutBlobFromUrl`, `BlockBlob_StageBlockFromURL`), which Azurite 3.35 does not
//! implement, served by the storage proxy:
//!
//! 1. the destination request is authorized: a bearer token (checked by the caller), a Shared
//!    Key signature checked here with the account key, or a SAS passed on to Azurite;
//! 2. the source (`x-ms-copy-source`) is read with `x-ms-copy-source-authorization: Bearer`
//!    (re-signed with the source account's key when the source is behind this proxy) or with
//!    the SAS in its URL, under `x-ms-source-if-{match,none-match,modified-since,unmodified-since}`
//!    (412 `SourceConditionNotMet`), the range `x-ms-source-range` (Put Block From URL);
//! 3. `x-ms-source-content-md5` / `x-ms-source-content-crc64` are checked against what was read
//!    (400 `Md5Mismatch` / `Crc64Mismatch`, nothing staged or committed);
//! 4. the bytes go to Azurite as Put Block (Put Blob From URL: 4 MiB blocks, then Put Block List
//!    with the request's `x-ms-meta-*`, `x-ms-blob-*` and destination conditions);
//! 5. the answer is 201 with `Content-MD5` and `x-ms-content-crc64` of what was read (Put Blob
//!    From URL also `ETag` and `Last-Modified`); a source that cannot be read answers
//!    `CannotVerifyCopySource` with `x-ms-copy-source-status-code` / `-error-code`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::response::Response;
use azure_sharedkey::SharedKey;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use futures::StreamExt;
use md5::Digest as _;

use super::{error_response, ProxyState};

/// Bytes per Put Block when the proxy writes a Put Blob From URL.
const BLOCK: usize = 4 * 1024 * 1024;

/// Azure's CRC-64 (`x-ms-content-crc64`): CRC-64/NVME, sent as its 8 bytes little-endian.
const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_NVME);

/// How a request is authorized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    /// `Authorization: SharedKey …` (the header value).
    SharedKey(String),
    /// `Authorization: Bearer <token>`.
    Bearer(String),
    /// A SAS in the query (`sig=`).
    Sas,
    Anonymous,
}

impl ClientAuth {
    pub(crate) fn of(headers: &HeaderMap, query: Option<&str>) -> ClientAuth {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").trim();
        if let Some(t) = auth.strip_prefix("Bearer ").or_else(|| auth.strip_prefix("bearer ")) {
            return ClientAuth::Bearer(t.trim().to_string());
        }
        if auth.starts_with("SharedKey ") {
            return ClientAuth::SharedKey(auth.to_string());
        }
        if query.is_some_and(|q| q.split('&').any(|p| p.starts_with("sig="))) {
            return ClientAuth::Sas;
        }
        ClientAuth::Anonymous
    }
}

/// Is this a Put Blob From URL (`x-ms-blob-type: BlockBlob` + `x-ms-copy-source`, no
/// `x-ms-requires-sync`) or a Put Block From URL (`comp=block` + `x-ms-copy-source`)?
pub(crate) fn is_from_url(method: &Method, headers: &HeaderMap, query: Option<&str>) -> bool {
    if method != Method::PUT || !headers.contains_key("x-ms-copy-source") {
        return false;
    }
    match comp(query).as_deref() {
        Some("block") => true,
        None => {
            headers.get("x-ms-blob-type").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"BlockBlob"))
                && !headers.contains_key("x-ms-requires-sync")
        }
        _ => false,
    }
}

fn comp(query: Option<&str>) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == "comp").map(|(_, v)| v.to_ascii_lowercase())
}

/// Signs `headers` for `method url` with Shared Key (replacing any `Authorization`), adding
/// `x-ms-date` when missing.
pub(crate) fn sign(key: &SharedKey, method: &Method, url: &str, headers: &mut HeaderMap) {
    headers.remove("authorization");
    if !headers.contains_key("x-ms-date") {
        headers.insert("x-ms-date", HeaderValue::from_str(&azure_sharedkey::httpdate_now()).expect("ascii"));
    }
    let Ok(u) = url::Url::parse(url) else { return };
    let pairs: Vec<(String, String)> =
        headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let auth = key.authorization(method.as_str(), &u, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    headers.insert("authorization", HeaderValue::from_str(&auth).expect("ascii"));
}

/// How the proxy's own writes to Azurite are authorized.
enum Dest {
    Key(SharedKey),
    /// The SAS pairs of the request's query (`sv=…&sig=…`), appended to each write.
    Sas(String),
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn copy_source_error(status: u16, source_status: u16, source_code: &str, message: &str) -> Response {
    let mut r = error_response(status, "CannotVerifyCopySource", message, None);
    r.headers_mut().insert("x-ms-copy-source-status-code", HeaderValue::from(source_status));
    if let Ok(v) = HeaderValue::from_str(source_code) {
        r.headers_mut().insert("x-ms-copy-source-error-code", v);
    }
    r
}

/// Serves one Put Blob From URL or Put Block From URL. `resign`: the account key when the
/// request came with a bearer token the caller already checked.
pub(crate) async fn serve(st: &ProxyState, parts: &Parts, account: &str, auth: ClientAuth, resign: Option<SharedKey>) -> Response {
    let query = parts.uri.query().unwrap_or("");
    let path = parts.uri.path();
    // 1. The destination request.
    let dest = match (&auth, resign) {
        (ClientAuth::Bearer(_), Some(key)) => Dest::Key(key),
        (ClientAuth::SharedKey(given), _) => {
            let Some(key) = st.faults.key(account) else {
                return error_response(403, "AuthenticationFailed", "The storage proxy does not know this account's key.", None);
            };
            let url = url::Url::parse(&format!("http://127.0.0.1{}", parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))).expect("a path");
            let pairs: Vec<(String, String)> =
                parts.headers.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
            if !key.verify(given, parts.method.as_str(), &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                return error_response(
                    403,
                    "AuthenticationFailed",
                    "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
                    None,
                );
            }
            Dest::Key(key)
        }
        (ClientAuth::Sas, _) => Dest::Sas(
            query.split('&').filter(|p| !matches!(p.split('=').next(), Some("comp" | "blockid" | "timeout"))).collect::<Vec<_>>().join("&"),
        ),
        _ => return error_response(401, "NoAuthenticationInformation", "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.", None),
    };
    let version = header(&parts.headers, "x-ms-version").unwrap_or(crate::blob::X_MS_VERSION).to_string();
    if parts.headers.get("content-length").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim() != "0") {
        return error_response(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format (Content-Length must be 0).", None);
    }
    // Checksums asked for.
    let want_md5 = match header(&parts.headers, "x-ms-source-content-md5").map(|v| B64.decode(v.trim())) {
        None => None,
        Some(Ok(v)) if v.len() == 16 => Some(v),
        Some(_) => return error_response(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format (x-ms-source-content-md5).", None),
    };
    let want_crc = match header(&parts.headers, "x-ms-source-content-crc64").map(|v| B64.decode(v.trim())) {
        None => None,
        Some(Ok(v)) if v.len() == 8 => Some(v),
        Some(_) => return error_response(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format (x-ms-source-content-crc64).", None),
    };
    let block = comp(Some(query)).as_deref() == Some("block");

    // 2. The source.
    let source = match open_source(st, &parts.headers, &version, block).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let source_headers = source.headers().clone();
    let expected_len = source.content_length();

    // 3 + 4. Read, hash, write.
    let mut md5 = md5::Md5::new();
    let mut crc = CRC64.digest();
    let mut staged: Vec<String> = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut read = 0u64;
    let mut stream = source.bytes_stream();
    let blob_prefix = uuid::Uuid::new_v4().simple().to_string();
    loop {
        let chunk = match stream.next().await {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => return copy_source_error(500, 0, "", &format!("The source could not be read to the end: {e}")),
        };
        let last = chunk.is_none();
        if let Some(c) = chunk {
            md5.update(&c);
            crc.update(&c);
            read += c.len() as u64;
            buf.extend_from_slice(&c);
        }
        // Put Block From URL: one block of the whole range, after the checks below.
        if !block && (buf.len() >= BLOCK || (last && !buf.is_empty())) {
            let id = B64.encode(format!("proxy-{blob_prefix}-{:06}", staged.len()));
            let body = Bytes::from(std::mem::take(&mut buf));
            let block_md5 = B64.encode(md5::Md5::digest(&body));
            let q = format!("comp=block&blockid={}", urlencode(&id));
            match write(st, &dest, path, &q, &version, vec![("content-md5", block_md5)], body).await {
                Ok(r) if r.status().is_success() => staged.push(id),
                Ok(r) => return passthrough(r).await,
                Err(resp) => return resp,
            }
        }
        if last {
            break;
        }
    }
    if expected_len.is_some_and(|n| n != read) {
        return copy_source_error(500, 0, "", &format!("The source sent {read} of {} bytes.", expected_len.unwrap_or(0)));
    }
    let got_md5: [u8; 16] = md5.finalize().into();
    let got_crc = crc.finalize().to_le_bytes();
    if want_md5.as_deref().is_some_and(|w| w != got_md5) {
        return error_response(400, "Md5Mismatch", "The MD5 value specified in the request did not match with the MD5 value calculated by the server.", None);
    }
    if want_crc.as_deref().is_some_and(|w| w != got_crc) {
        return error_response(400, "Crc64Mismatch", "The CRC64 value specified in the request did not match with the CRC64 value calculated by the server.", None);
    }

    let mut out = Response::builder().status(201);
    if block {
        let Some(id) = url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "blockid").map(|(_, v)| v.into_owned()) else {
            return error_response(400, "MissingRequiredQueryParameter", "A query parameter that's mandatory for this request is not specified (blockid).", None);
        };
        let q = format!("comp=block&blockid={}", urlencode(&id));
        match write(st, &dest, path, &q, &version, vec![("content-md5", B64.encode(got_md5))], Bytes::from(buf)).await {
            Ok(r) if r.status().is_success() => {}
            Ok(r) => return passthrough(r).await,
            Err(resp) => return resp,
        }
    } else {
        // Put Block List with the blob's properties: the request's, else (unless
        // x-ms-copy-source-blob-properties: false) the source's.
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &staged {
            xml.push_str(&format!("<Latest>{id}</Latest>"));
        }
        xml.push_str("</BlockList>");
        let mut extra: Vec<(&str, String)> = Vec::new();
        let copy_props = header(&parts.headers, "x-ms-copy-source-blob-properties").is_none_or(|v| !v.eq_ignore_ascii_case("false"));
        for (prop, src) in [
            ("x-ms-blob-content-type", "content-type"),
            ("x-ms-blob-content-encoding", "content-encoding"),
            ("x-ms-blob-content-language", "content-language"),
            ("x-ms-blob-content-disposition", "content-disposition"),
            ("x-ms-blob-cache-control", "cache-control"),
        ] {
            if let Some(v) = header(&parts.headers, prop).or_else(|| if copy_props { header(&source_headers, src) } else { None }) {
                extra.push((prop, v.to_string()));
            }
        }
        extra.push(("x-ms-blob-content-md5", header(&parts.headers, "x-ms-blob-content-md5").map(str::to_string).unwrap_or_else(|| B64.encode(got_md5))));
        for (k, v) in &parts.headers {
            let n = k.as_str();
            if n.starts_with("x-ms-meta-")
                || matches!(n, "if-match" | "if-none-match" | "if-modified-since" | "if-unmodified-since" | "x-ms-lease-id" | "x-ms-access-tier" | "x-ms-tags" | "x-ms-if-tags")
            {
                if let Ok(v) = v.to_str() {
                    extra.push((n, v.to_string()));
                }
            }
        }
        match write(st, &dest, path, "comp=blocklist", &version, extra, Bytes::from(xml)).await {
            Ok(r) if r.status().is_success() => {
                for h in ["etag", "last-modified", "x-ms-version-id"] {
                    if let Some(v) = r.headers().get(h) {
                        out = out.header(h, v.clone());
                    }
                }
            }
            Ok(r) => return passthrough(r).await,
            Err(resp) => return resp,
        }
    }
    out.header("content-md5", B64.encode(got_md5))
        .header("x-ms-content-crc64", B64.encode(got_crc))
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string())
        .header("x-ms-version", version)
        .header("x-ms-request-server-encrypted", "true")
        .header("date", azure_sharedkey::httpdate_now())
        .header("content-length", "0")
        .body(Body::empty())
        .expect("static response")
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// GETs the copy source (its range and conditions); an answer other than 200/206 becomes the
/// error the service answers.
async fn open_source(st: &ProxyState, h: &HeaderMap, version: &str, block: bool) -> Result<reqwest::Response, Response> {
    let raw = header(h, "x-ms-copy-source").unwrap_or("");
    let Ok(src) = url::Url::parse(raw) else {
        return Err(error_response(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct format (x-ms-copy-source).", None));
    };
    let copy_auth = header(h, "x-ms-copy-source-authorization");
    let token = match copy_auth {
        None => None,
        Some(a) => match a.trim().strip_prefix("Bearer ") {
            Some(t) => Some(t.trim().to_string()),
            None => {
                return Err(error_response(
                    400,
                    "InvalidHeaderValue",
                    "The value for one of the HTTP headers is not in the correct format (x-ms-copy-source-authorization: only Bearer is supported).",
                    None,
                ))
            }
        },
    };
    let mut headers = HeaderMap::new();
    headers.insert("x-ms-version", HeaderValue::from_str(version).unwrap_or(HeaderValue::from_static(crate::blob::X_MS_VERSION)));
    headers.insert("x-ms-date", HeaderValue::from_str(&azure_sharedkey::httpdate_now()).expect("ascii"));
    for (from, to) in [
        ("x-ms-source-if-match", "if-match"),
        ("x-ms-source-if-none-match", "if-none-match"),
        ("x-ms-source-if-modified-since", "if-modified-since"),
        ("x-ms-source-if-unmodified-since", "if-unmodified-since"),
    ] {
        if let Some(v) = h.get(from) {
            headers.insert(HeaderName::from_static(to), v.clone());
        }
    }
    if block {
        if let Some(r) = h.get("x-ms-source-range") {
            headers.insert("x-ms-range", r.clone());
        }
    }
    let authority = format!("{}:{}", src.host_str().unwrap_or(""), src.port_or_known_default().unwrap_or(0));
    let internal = authority == st.authority || authority == st.authority.replace("127.0.0.1", "localhost");
    let target = if internal {
        let pq = &raw[raw.find(src.path()).unwrap_or(0)..];
        let target = format!("{}{pq}", st.upstream);
        let src_path = percent_encoding::percent_decode_str(src.path()).decode_utf8_lossy().into_owned();
        let account = src_path.trim_start_matches('/').split('/').next().unwrap_or("");
        let account = account.strip_suffix("-secondary").unwrap_or(account).to_string();
        let has_sas = src.query().is_some_and(|q| q.split('&').any(|p| p.starts_with("sig=")));
        match &token {
            Some(t) => {
                let Some(key) = st.faults.key(&account).filter(|_| st.faults.token_ok(t)) else {
                    return Err(copy_source_error(401, 401, "InvalidAuthenticationInfo", "The copy source refused the bearer token."));
                };
                sign(&key, &Method::GET, &target, &mut headers);
            }
            None if has_sas && st.faults.is_entra_only(&account) => {
                return Err(copy_source_error(
                    403,
                    403,
                    "KeyBasedAuthenticationNotPermitted",
                    "Key based authentication is not permitted on the copy source's storage account.",
                ));
            }
            None => {}
        }
        target
    } else {
        if let Some(t) = &token {
            headers.insert("authorization", HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| error_response(400, "InvalidHeaderValue", "x-ms-copy-source-authorization", None))?);
        }
        raw.to_string()
    };
    let resp = st
        .client
        .get(&target)
        .headers(headers)
        .timeout(Duration::from_secs(600))
        .send()
        .await
        .map_err(|e| copy_source_error(500, 0, "", &format!("The copy source could not be reached: {e}")))?;
    let status = resp.status().as_u16();
    if status == 200 || status == 206 {
        return Ok(resp);
    }
    let code = header(resp.headers(), "x-ms-error-code").unwrap_or("").to_string();
    if status == 412 || status == 304 {
        let mut r = error_response(412, "SourceConditionNotMet", "The source condition specified using HTTP conditional header(s) is not met.", None);
        r.headers_mut().insert("x-ms-copy-source-status-code", HeaderValue::from(status));
        return Err(r);
    }
    let shown = if (400..500).contains(&status) { status } else { 500 };
    Err(copy_source_error(shown, status, &code, &format!("The copy source answered {status} {code}.")))
}

/// One write to Azurite on `path` with `query` (plus the SAS when that authorizes it).
async fn write(st: &ProxyState, dest: &Dest, path: &str, query: &str, version: &str, extra: Vec<(&str, String)>, body: Bytes) -> Result<reqwest::Response, Response> {
    let url = match dest {
        Dest::Sas(sas) if !sas.is_empty() => format!("{}{path}?{query}&{sas}", st.upstream),
        _ => format!("{}{path}?{query}", st.upstream),
    };
    let mut h = HeaderMap::new();
    h.insert("x-ms-version", HeaderValue::from_str(version).unwrap_or(HeaderValue::from_static(crate::blob::X_MS_VERSION)));
    h.insert("content-length", HeaderValue::from(body.len()));
    for (k, v) in extra {
        if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(&v)) {
            h.insert(k, v);
        }
    }
    if let Dest::Key(key) = dest {
        sign(key, &Method::PUT, &url, &mut h);
    }
    st.client
        .put(&url)
        .headers(h)
        .body(body)
        .send()
        .await
        .map_err(|e| error_response(502, "ProxyUpstreamError", &format!("The storage proxy could not reach {}: {e}", st.upstream), None))
}

/// Azurite's error answer, as it is.
async fn passthrough(r: reqwest::Response) -> Response {
    let status = r.status();
    let mut headers = HeaderMap::new();
    super::copy_headers(r.headers(), &mut headers);
    let body = r.bytes().await.unwrap_or_default();
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    headers.remove("content-length");
    *resp.headers_mut() = headers;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_azures() {
        // CRC-64/NVME check value ("123456789"), the polynomial Azure Storage uses.
        assert_eq!(CRC64.checksum(b"123456789"), 0xae8b_1486_0a79_9888);
    }

    #[test]
    fn from_url_requests_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert("x-ms-copy-source", HeaderValue::from_static("http://x/a/c/b"));
        assert!(is_from_url(&Method::PUT, &h, Some("comp=block&blockid=AA%3D%3D")));
        assert!(!is_from_url(&Method::PUT, &h, None), "Copy Blob (no blob type)");
        h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        assert!(is_from_url(&Method::PUT, &h, None));
        assert!(is_from_url(&Method::PUT, &h, Some("sv=2021&sig=abc")));
        h.insert("x-ms-requires-sync", HeaderValue::from_static("true"));
        assert!(!is_from_url(&Method::PUT, &h, None), "synchronous Copy Blob");
        assert!(!is_from_url(&Method::GET, &h, Some("comp=block")));
    }
}
