//! The one request path of the storage services (Blob and File): authorization by Shared Key,
//! SAS or bearer token, `x-ms-date`/`x-ms-version`, retries that honour `Retry-After`, and
//! errors that name the fix. Both stores send through [`StorageRest`].

use super::{StorageCredential, STORAGE_SCOPE, STORAGE_VERSION};
use crate::error::{Error, Result};
use crate::http::{RetryPolicy, Verdict};
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

    /// Sends one request (retrying transient failures); a non-2xx answer is an error.
    pub async fn send(&self, method: Method, mut url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        if let StorageCredential::Sas(sas) = &self.cred {
            let q = match url.query() {
                Some(e) if !e.is_empty() => format!("{e}&{}", sas.trim_start_matches('?')),
                _ => sas.trim_start_matches('?').to_string(),
            };
            url.set_query(Some(&q));
        }
        let shown = redact::url(&url);
        let mut attempt = 0u32;
        loop {
            let mut h = headers.clone();
            h.insert("x-ms-date", HeaderValue::from_str(&azure_sharedkey::httpdate_now()).expect("ascii"));
            h.insert("x-ms-version", HeaderValue::from_static(STORAGE_VERSION));
            match &self.cred {
                StorageCredential::AccountKey(key) => {
                    let pairs: Vec<(String, String)> =
                        h.iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
                    let auth = key.authorization(method.as_str(), &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    h.insert(reqwest::header::AUTHORIZATION, HeaderValue::from_str(&auth).expect("ascii"));
                }
                StorageCredential::Bearer(tp) => {
                    let t = tp.token(STORAGE_SCOPE).await?;
                    let v = HeaderValue::from_str(&format!("Bearer {t}"))
                        .map_err(|_| Error::Auth("the storage token is not a valid header value".into()))?;
                    h.insert(reqwest::header::AUTHORIZATION, v);
                    if self.service == Service::File {
                        // Azure Files requires this with OAuth (File REST, "Authorize with Microsoft Entra ID").
                        h.insert("x-ms-file-request-intent", HeaderValue::from_static("backup"));
                    }
                }
                StorageCredential::Sas(_) | StorageCredential::Anonymous => {}
            }
            let mut req = self.http.request(method.clone(), url.clone()).headers(h);
            if let Some(b) = &body {
                req = req.body(b.clone());
            }
            match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if let Verdict::RetryAfter(wait) = self.retry.on_status(attempt, status, resp.headers()) {
                        tracing::info!(status, url = %shown, wait_ms = wait.as_millis() as u64, "{}: transient failure; retrying", self.noun());
                        attempt += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    if resp.status().is_success() {
                        return Ok(resp);
                    }
                    let code = resp
                        .headers()
                        .get(HeaderName::from_static("x-ms-error-code"))
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    return Err(self.status_error(status, &code, &method, &shown));
                }
                Err(e) => {
                    if let Verdict::RetryAfter(wait) = self.retry.on_transport_error(attempt) {
                        tracing::info!(url = %shown, error = %e, "{}: transport failure; retrying", self.noun());
                        attempt += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(self.transport(&url, &e));
                }
            }
        }
    }

    fn status_error(&self, status: u16, code: &str, method: &Method, url: &str) -> Error {
        let what = format!("{method} {url}: {status} {code}");
        let noun = self.noun();
        match status {
            401 | 403 => Error::Auth(format!(
                "{noun} refused the {} credential ({what}). Fix: check the account key / SAS (expiry, services, permissions) or the identity's Storage data role",
                self.cred.kind()
            )),
            404 => Error::NotFound(format!("not found in {noun} ({what})")),
            429 | 500..=599 => Error::Unavailable(format!("{noun} did not answer ({what})")),
            _ => Error::Service(format!("{noun} refused the request ({what})")),
        }
    }

    /// A transport failure (connection, TLS, body read) as an operator-readable error.
    pub fn transport(&self, url: &Url, e: &reqwest::Error) -> Error {
        let mut cause = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            cause = format!("{cause}: {s}");
            src = s.source();
        }
        let flag = match self.service {
            Service::Blob => "--blob-endpoint",
            Service::File => "--file-endpoint",
        };
        Error::Unavailable(format!(
            "cannot reach {} at {}: {cause}. Fix: check the network and {flag} (or the -secondary endpoint if the primary region is down)",
            self.noun(),
            url.host_str().unwrap_or("?")
        ))
    }
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
        let resp = rest.send(Method::GET, u.clone(), HeaderMap::new(), None).await?;
        let text = resp.text().await.map_err(|e| rest.transport(&u, &e))?;
        match page(&text)?.filter(|m| !m.is_empty()) {
            Some(m) => marker = Some(m),
            None => return Ok(()),
        }
    }
}
