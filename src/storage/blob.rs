//! A small Azure Blob client over reqwest: list (with marker paging), properties, download,
//! upload, create container. It speaks the REST API of shared/specs/storage/blob directly so
//! that all three credential kinds (Shared Key, SAS, bearer) work the same way; the official
//! `azure_storage_blob` crate has no Shared Key support, which datastores' `listSecrets` needs.

use super::{StorageCredential, STORAGE_SCOPE, STORAGE_VERSION};
use crate::error::{Error, Result};
use crate::http::{RetryPolicy, Verdict};
use crate::redact;
use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::Method;
use serde::Deserialize;
use url::Url;

/// A blob container at a given account endpoint.
#[derive(Debug, Clone)]
pub struct ContainerClient {
    http: reqwest::Client,
    /// `<account url>/<container>` without query.
    url: Url,
    cred: StorageCredential,
    retry: RetryPolicy,
}

/// One listed blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobItem {
    pub name: String,
    pub size: u64,
    /// Base64 Content-MD5 as the service stores it, when set.
    pub content_md5: Option<String>,
    pub etag: Option<String>,
}

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

impl ContainerClient {
    /// `account_url` is the blob service URL of the account (see `Cloud::blob_account_url`).
    pub fn new(http: reqwest::Client, account_url: &Url, container: &str, cred: StorageCredential, retry: RetryPolicy) -> Result<Self> {
        if container.len() < 3 || container.len() > 63 {
            return Err(Error::usage(format!("container name '{container}' must have 3 to 63 characters")));
        }
        let mut url = account_url.clone();
        url.set_query(None);
        url.path_segments_mut()
            .map_err(|_| Error::usage(format!("blob endpoint {} cannot take a path", redact::url(account_url))))?
            .pop_if_empty()
            .push(container);
        Ok(ContainerClient { http, url, cred, retry })
    }

    pub fn url(&self) -> &Url {
        &self.url
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

    /// Every blob under `prefix` (or at most `limit`), following `NextMarker`.
    pub async fn list(&self, prefix: &str, limit: Option<usize>) -> Result<Vec<BlobItem>> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut u = self.url.clone();
            {
                let mut q = u.query_pairs_mut();
                q.append_pair("restype", "container").append_pair("comp", "list");
                if !prefix.is_empty() {
                    q.append_pair("prefix", prefix);
                }
                if let Some(m) = &marker {
                    q.append_pair("marker", m);
                }
                if let Some(l) = limit {
                    q.append_pair("maxresults", &l.clamp(1, 5000).to_string());
                }
            }
            let resp = self.send(Method::GET, u, HeaderMap::new(), None).await?;
            let text = resp.text().await.map_err(|e| self.transport(&e))?;
            let parsed: ListResult = quick_xml::de::from_str(&text)
                .map_err(|e| Error::Service(format!("listing {}: unexpected XML: {e}", redact::url(&self.url))))?;
            out.extend(parsed.blobs.items.into_iter().map(|b| BlobItem {
                name: b.name,
                size: b.properties.content_length,
                content_md5: b.properties.content_md5.filter(|s| !s.is_empty()),
                etag: b.properties.etag,
            }));
            if limit.is_some_and(|l| out.len() >= l) {
                out.truncate(limit.unwrap_or(usize::MAX));
                break;
            }
            match parsed.next_marker.filter(|m| !m.is_empty()) {
                Some(m) => marker = Some(m),
                None => break,
            }
        }
        Ok(out)
    }

    /// Downloads a whole blob (for small files; the transfer engine streams).
    pub async fn get(&self, name: &str) -> Result<Bytes> {
        let resp = self.send(Method::GET, self.blob_url(name), HeaderMap::new(), None).await?;
        resp.bytes().await.map_err(|e| self.transport(&e))
    }

    /// Uploads a block blob in one request.
    pub async fn put(&self, name: &str, data: Bytes) -> Result<()> {
        let mut h = HeaderMap::new();
        h.insert("x-ms-blob-type", HeaderValue::from_static("BlockBlob"));
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(data.len()));
        self.send(Method::PUT, self.blob_url(name), h, Some(data)).await?;
        Ok(())
    }

    /// Creates the container; an existing one is fine.
    pub async fn create_if_missing(&self) -> Result<()> {
        let mut u = self.url.clone();
        u.query_pairs_mut().append_pair("restype", "container");
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::CONTENT_LENGTH, HeaderValue::from(0));
        match self.send(Method::PUT, u, h, Some(Bytes::new())).await {
            Ok(_) => Ok(()),
            Err(Error::Service(m)) if m.contains("ContainerAlreadyExists") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn send(&self, method: Method, mut url: Url, headers: HeaderMap, body: Option<Bytes>) -> Result<reqwest::Response> {
        if let StorageCredential::Sas(sas) = &self.cred {
            let existing = url.query().map(str::to_string);
            let q = match existing {
                Some(e) if !e.is_empty() => format!("{e}&{}", sas.trim_start_matches('?')),
                _ => sas.trim_start_matches('?').to_string(),
            };
            url.set_query(Some(&q));
        }
        let shown = redact::url(&url);
        let mut attempt = 0u32;
        loop {
            let mut h = headers.clone();
            let date = httpdate_now();
            h.insert("x-ms-date", HeaderValue::from_str(&date).expect("ascii"));
            h.insert("x-ms-version", HeaderValue::from_static(STORAGE_VERSION));
            match &self.cred {
                StorageCredential::AccountKey(key) => {
                    let pairs: Vec<(String, String)> = h
                        .iter()
                        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                        .collect();
                    let auth = key.authorization(method.as_str(), &url, pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                    h.insert(reqwest::header::AUTHORIZATION, HeaderValue::from_str(&auth).expect("ascii"));
                }
                StorageCredential::Bearer(tp) => {
                    let t = tp.token(STORAGE_SCOPE).await?;
                    let v = HeaderValue::from_str(&format!("Bearer {t}"))
                        .map_err(|_| Error::Auth("the storage token is not a valid header value".into()))?;
                    h.insert(reqwest::header::AUTHORIZATION, v);
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
                        attempt += 1;
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(self.transport(&e));
                }
            }
        }
    }

    fn status_error(&self, status: u16, code: &str, method: &Method, url: &str) -> Error {
        let what = format!("{method} {url}: {status} {code}");
        match status {
            401 | 403 => Error::Auth(format!(
                "storage refused the {} credential ({what}). Fix: check the account key / SAS (expiry, permissions) or the identity's Storage Blob Data role",
                self.cred.kind()
            )),
            404 => Error::NotFound(format!("not found in storage ({what})")),
            500..=599 => Error::Unavailable(format!("storage did not answer ({what})")),
            _ => Error::Service(format!("storage refused the request ({what})")),
        }
    }

    fn transport(&self, e: &reqwest::Error) -> Error {
        let mut cause = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            cause = format!("{cause}: {s}");
            src = s.source();
        }
        Error::Unavailable(format!(
            "cannot reach storage at {}: {cause}. Fix: check the network and --blob-endpoint (or the -secondary endpoint if the primary region is down)",
            self.url.host_str().unwrap_or("?")
        ))
    }
}

/// RFC 1123 date as `x-ms-date` wants it.
fn httpdate_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc().format(&fmt).expect("formats")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aml_emulator::azurite::{Azurite, AzuriteOptions, DEV_KEY};
    use azure_sharedkey::SharedKey;

    fn fast_retry() -> RetryPolicy {
        RetryPolicy { max_retries: 1, base: std::time::Duration::from_millis(10), ..Default::default() }
    }

    #[test]
    fn date_format_is_rfc1123() {
        let d = httpdate_now();
        assert!(d.ends_with(" GMT") && d.len() == 29, "{d}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn account_key_and_secondary_endpoint_against_azurite() {
        let az = tokio::task::spawn_blocking(|| {
            Azurite::start(AzuriteOptions { accounts: vec![("amltestsa".into(), DEV_KEY.into())], location: None })
        })
        .await
        .unwrap()
        .expect("Azurite (run scripts/setup.sh)");
        let http = reqwest::Client::new();
        let key = SharedKey::new("amltestsa", DEV_KEY).unwrap();
        let primary = Url::parse(&az.account_url("amltestsa")).unwrap();
        let c = ContainerClient::new(http.clone(), &primary, "models", StorageCredential::AccountKey(key.clone()), fast_retry()).unwrap();
        c.create_if_missing().await.unwrap();
        c.create_if_missing().await.unwrap();
        for i in 0..3 {
            c.put(&format!("dir/f{i}.bin"), Bytes::from(vec![i as u8; 10 + i])).await.unwrap();
        }
        c.put("other.txt", Bytes::from_static(b"x")).await.unwrap();
        let listed = c.list("dir/", None).await.unwrap();
        assert_eq!(listed.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["dir/f0.bin", "dir/f1.bin", "dir/f2.bin"]);
        assert_eq!(listed[2].size, 12);
        assert_eq!(c.list("", Some(1)).await.unwrap().len(), 1);

        // The RA-GRS secondary serves the primary's data with the same key.
        let secondary = Url::parse(&az.secondary_account_url("amltestsa")).unwrap();
        let s = ContainerClient::new(http.clone(), &secondary, "models", StorageCredential::AccountKey(key), fast_retry()).unwrap();
        assert_eq!(&s.get("dir/f1.bin").await.unwrap()[..], &[1u8; 11][..]);

        // A wrong key is an authentication error that names the fix, and shows no secret.
        let wrong = SharedKey::new("amltestsa", "d3JvbmdrZXk=").unwrap();
        let w = ContainerClient::new(http, &primary, "models", StorageCredential::AccountKey(wrong), fast_retry()).unwrap();
        let e = w.list("", None).await.unwrap_err();
        assert!(matches!(e, Error::Auth(_)), "{e:?}");
        assert!(e.to_string().contains("account key"), "{e}");
    }
}
