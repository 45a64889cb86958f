//! The one request path of the storage services (Blob and File): authorization by Shared Key,
//! SAS or bearer token, `x-ms-date`/`x-ms-version`, retries that honour `Retry-After`, and
//! errors that name the fix. Both stores send through [`StorageRest`].

use super::{StorageCredential, STORAGE_SCOPE, STORAGE_VERSION};
use crate::error::{Error, Result};
use crate::http::{self, Failed, RetryPolicy};
use crate::redact;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use url::Url;

/// Which service: decides the wording of errors and a service-specific header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Blob,
    File,
}

#[derive(Debug, Clone)]
pub struct StorageRest {
    pub http: reqwest::Client,
    pub cred: StorageCredential,
    pub retry: RetryPolicy,
    pub service: Service,
}

impl StorageRest {
    fn noun(&self) -> &'static str {
        match self.service {
            Service::Blob => "storage",
            Service::File => "the file service",
        }
    }

    /// Sends one request (retrying transient failures); a non-2xx answer is an error. The body
    /// is left to the caller (streams); use [`StorageRest::fetch`] to read it inside the retries.
    pub async fn send(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        self.exchange(method, url, headers, body, false, |resp| async move { Ok(resp) }).await
    }

    /// [`send`](Self::send) for a request with a precondition (`x-ms-source-if-match`): `None`
    /// when the service answers 412 (the precondition failed: the source is no longer that
    /// version).
    pub async fn send_conditional(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<Option<reqwest::Response>> {
        self.exchange(method, url, headers, body, true, |resp| async move { Ok((resp.status().as_u16() != 412).then_some(resp)) }).await
    }

    /// Sends one request and reads its whole body, both inside the one retry loop: a
    /// connection dropped while the body arrives is retried like one refused.
    pub async fn fetch(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<(HeaderMap, Bytes)> {
        self.exchange(method, url, headers, body, false, |resp| async move {
            let h = resp.headers().clone();
            let url = resp.url().clone();
            let bytes = whole_body(resp).await.map_err(|e| self.transport(&url, &e))?;
            Ok((h, bytes))
        })
        .await
    }

    /// [`fetch`](Self::fetch) with a precondition (`If-Match`): `None` when the service answers
    /// 412 (the object is no longer that version).
    pub async fn fetch_conditional(&self, method: Method, url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<Option<(HeaderMap, Bytes)>> {
        self.exchange(method, url, headers, body, true, |resp| async move {
            if resp.status().as_u16() == 412 {
                return Ok(None);
            }
            let h = resp.headers().clone();
            let url = resp.url().clone();
            let bytes = whole_body(resp).await.map_err(|e| self.transport(&url, &e))?;
            Ok(Some((h, bytes)))
        })
        .await
    }

    /// The request path: authorization, then [`http::retry`] over sending and `read` (which
    /// gets only successful responses, and a 412 when the request has a `precondition`).
    async fn exchange<T, F, Fut>(&self, method: Method, mut url: Url, headers: HeaderMap, body: Option<Bytes>, precondition: bool, read: F) -> Result<T>
    where
        F: Fn(reqwest::Response) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.add_sas(&mut url);
        let shown = redact::url(&url);
        let what = format!("{}: {method} {shown}", self.noun());
        let sent_md5 = headers.contains_key("content-md5");
        http::retry(&self.retry, &what, |_| {
            let (method, url, headers, body, shown, read) = (method.clone(), url.clone(), headers.clone(), body.clone(), &shown, &read);
            async move {
                let h = self.authorize(&method, &url, headers).await?;
                let mut req = self.http.request(method.clone(), url.clone()).headers(h);
                if let Some(b) = body {
                    req = req.body(b);
                }
                let resp = req.send().await.map_err(|e| self.transport(&url, &e))?;
                let status = resp.status().as_u16();
                if resp.status().is_success() || (precondition && status == 412) {
                    return Ok(read(resp).await?);
                }
                let code = resp
                    .headers()
                    .get(HeaderName::from_static("x-ms-error-code"))
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let server_wait = http::retry_after(resp.headers());
                Err(Failed { error: self.status_error(status, &code, &method, shown, sent_md5), server_wait })
            }
        })
        .await
    }

    /// Appends the SAS (when that is the credential) to the query of `url`.
    fn add_sas(&self, url: &mut Url) {
        if let StorageCredential::Sas(sas) = &self.cred {
            let q = match url.query() {
                Some(e) if !e.is_empty() => format!("{e}&{}", sas.trim_start_matches('?')),
                _ => sas.trim_start_matches('?').to_string(),
            };
            url.set_query(Some(&q));
        }
    }

    /// `headers` plus `x-ms-date`, `x-ms-version` and the authorization of `method url`.
    async fn authorize(&self, method: &Method, url: &Url, mut h: HeaderMap) -> Result<HeaderMap> {
        h.insert("x-ms-date", HeaderValue::from_str(&azure_sharedkey::httpdate_now()).expect("ascii"));
        h.insert("x-ms-version", HeaderValue::from_static(STORAGE_VERSION));
        match &self.cred {
            StorageCredential::AccountKey(key) => {
                let pairs: Vec<(String, String)> = h.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
                let auth = key.authorization(method.as_str(), url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                h.insert(reqwest::header::AUTHORIZATION, HeaderValue::from_str(&auth).expect("ascii"));
            }
            StorageCredential::Bearer(tp) => {
                let t = tp.token(STORAGE_SCOPE).await?;
                let v = HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| Error::Auth("the storage token is not a valid header value".into()))?;
                h.insert(reqwest::header::AUTHORIZATION, v);
                if self.service == Service::File {
                    // Azure Files requires this with OAuth (File REST, "Authorize with Microsoft Entra ID").
                    h.insert("x-ms-file-request-intent", HeaderValue::from_static("backup"));
                }
            }
            StorageCredential::Sas(_) | StorageCredential::Anonymous => {}
        }
        Ok(h)
    }

    /// Sends one request whose body is a stream, once (a stream cannot be sent again: the
    /// caller retries the whole object); a non-2xx answer is an error.
    pub async fn send_stream(&self, method: Method, mut url: Url, headers: HeaderMap, body: reqwest::Body) -> Result<reqwest::Response> {
        self.add_sas(&mut url);
        let sent_md5 = headers.contains_key("content-md5");
        let h = self.authorize(&method, &url, headers).await?;
        let resp = self.http.request(method.clone(), url.clone()).headers(h).body(body).send().await.map_err(|e| self.transport(&url, &e))?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let code = resp.headers().get("x-ms-error-code").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        Err(self.status_error(resp.status().as_u16(), &code, &method, &redact::url(&url), sent_md5))
    }

    fn status_error(&self, status: u16, code: &str, method: &Method, url: &str, sent_md5: bool) -> Error {
        let what = format!("{method} {url}: {status} {code}");
        let noun = self.noun();
        match status {
            // The service checked the body against the MD5 sent with it (Azure: Md5Mismatch;
            // Azurite: InvalidOperation) and it did not match: the bytes changed on the way.
            400 if sent_md5 && matches!(code, "Md5Mismatch" | "InvalidMd5" | "InvalidOperation") => Error::Corrupted(format!(
                "corrupted in transfer: {noun} received bytes whose MD5 did not match what was sent (corrupted on the way; {what})"
            )),
            401 | 403 => Error::Auth(format!(
                "{noun} refused the {} credential ({what}). Fix: check the account key / SAS (expiry, services, permissions) or the identity's Storage data role",
                self.cred.kind()
            )),
            404 => Error::NotFound(format!("not found in {noun} ({what})")),
            409 | 412 => Error::Conflict(format!("{noun} refused the request: the resource is in another state ({what})")),
            429 | 503 if status == 429 || code == "ServerBusy" => Error::Throttled(format!("{noun} is throttling requests ({what})")),
            408 | 500..=599 => Error::Unavailable(format!("{noun} did not answer ({what})")),
            _ => Error::Service(format!("{noun} refused the request ({what})")),
        }
    }

    /// A transport failure (connection, TLS, body read) as an operator-readable error.
    pub fn transport(&self, url: &Url, e: &reqwest::Error) -> Error {
        let cause = http::transport_cause(e);
        let flag = match self.service {
            Service::Blob => "--blob-endpoint",
            Service::File => "--file-endpoint",
        };
        http::transport_error(
            e,
            format!(
                "cannot reach {} at {}: {cause}. Fix: check the network and {flag} (or the -secondary endpoint if the primary region is down)",
                self.noun(),
                url.host_str().unwrap_or("?")
            ),
        )
    }
}

/// The headers of a ranged read of bytes `start..end` (Blob and File alike): `x-ms-range`, and
/// for ranges the service hashes (≤ 4 MiB) `x-ms-range-get-content-md5: true`. Returns them and
/// whether the MD5 was asked for.
pub(crate) fn range_headers(start: u64, end: u64) -> (HeaderMap, bool) {
    let mut h = HeaderMap::new();
    h.insert("x-ms-range", HeaderValue::from_str(&format!("bytes={start}-{}", end - 1)).expect("ascii"));
    let want_md5 = end - start <= super::MAX_RANGE_MD5;
    if want_md5 {
        h.insert("x-ms-range-get-content-md5", HeaderValue::from_static("true"));
    }
    (h, want_md5)
}

/// The answer to a ranged read of `len` bytes of `url` (headers from [`range_headers`]):
/// [`Read::Changed`](super::Read) when it is of another version than `if_match`, else its
/// bytes (exactly `len` of them) with the service's MD5 of them when it was asked for.
pub(crate) fn range_answer(h: &HeaderMap, data: Bytes, want_md5: bool, if_match: Option<&str>, url: &Url, len: u64) -> Result<super::Read> {
    let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok());
    if let Some(want) = if_match {
        if !header("etag").is_some_and(|got| super::same_etag(got, want)) {
            return Ok(super::Read::Changed);
        }
    }
    let md5 = if want_md5 {
        use base64::Engine as _;
        header("content-md5").and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()).and_then(|v| v.try_into().ok())
    } else {
        None
    };
    if data.len() as u64 != len {
        return Err(Error::Unavailable(format!("short read of {}: got {} of {len} bytes", redact::url(url), data.len())));
    }
    Ok(super::Read::Data(super::RangeRead { data, md5 }))
}

/// Largest body buffer allocated up front from `Content-Length` (a larger body grows as it comes).
const PREALLOC_LIMIT: u64 = 256 * 1024 * 1024;

/// The whole body of `resp` in one buffer of its announced length: each chunk is copied in and
/// dropped as it arrives. Collecting the chunks and joining them (`Response::bytes`) held a
/// block twice while it was joined, and a body of one chunk stayed a slice of the connection's
/// read buffer, keeping that whole buffer (up to about 400 KiB) alive as long as the block was
/// held: bytes outside the engine's memory budget (measured with heaptrack: 94 MB of peak heap
/// in hyper's read buffers during `snapshot export`).
pub(crate) async fn whole_body(mut resp: reqwest::Response) -> reqwest::Result<Bytes> {
    let mut buf = bytes::BytesMut::with_capacity(resp.content_length().unwrap_or(0).min(PREALLOC_LIMIT) as usize);
    while let Some(chunk) = resp.chunk().await? {
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// Lists at the account level (`GET <account>/?comp=list`, as List Containers and List Shares
/// do), following `NextMarker`: `page` parses one page's XML and returns its next marker.
pub async fn list_account(
    rest: &StorageRest,
    account_url: &Url,
    extra: &[(&str, &str)],
    prefix: &str,
    mut page: impl FnMut(&str) -> Result<Option<String>>,
) -> Result<()> {
    let mut marker: Option<String> = None;
    loop {
        let mut u = account_url.clone();
        u.set_query(None);
        if !u.path().ends_with('/') {
            let p = format!("{}/", u.path());
            u.set_path(&p);
        }
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("comp", "list");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
            if !prefix.is_empty() {
                q.append_pair("prefix", prefix);
            }
            if let Some(m) = &marker {
                q.append_pair("marker", m);
            }
        }
        let (_, body) = rest.fetch(Method::GET, u.clone(), HeaderMap::new(), None).await?;
        let text = String::from_utf8_lossy(&body);
        match page(&text)?.filter(|m| !m.is_empty()) {
            Some(m) => marker = Some(m),
            None => return Ok(()),
        }
    }
}
