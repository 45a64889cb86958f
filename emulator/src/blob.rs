//! A minimal Blob service client for Azurite (path-style URLs, Shared Key), and service SAS.

use azure_sharedkey::SharedKey;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Blob service version sent with Shared Key requests.
pub const X_MS_VERSION: &str = "2021-12-02";
/// Signed version of the SAS tokens the emulator hands out.
pub const SAS_VERSION: &str = "2021-12-02";

/// Characters kept as-is in blob paths (RFC 3986 unreserved plus `/`).
const PATH_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
/// Query values: unreserved only.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn encode_path(p: &str) -> String {
    utf8_percent_encode(p, PATH_SET).to_string()
}

/// A blob service endpoint (path style: `<endpoint>/<account>/<container>/<blob>`).
#[derive(Clone)]
pub struct BlobService {
    endpoint: String,
    http: reqwest::Client,
}

impl BlobService {
    pub fn new(endpoint: &str) -> BlobService {
        BlobService {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("reqwest client"),
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn account_url(&self, account: &str) -> String {
        format!("{}/{account}", self.endpoint)
    }

    pub fn container_url(&self, account: &str, container: &str) -> String {
        format!("{}/{account}/{container}", self.endpoint)
    }

    pub fn blob_url(&self, account: &str, container: &str, blob: &str) -> String {
        format!("{}/{account}/{container}/{}", self.endpoint, encode_path(blob))
    }

    async fn send(
        &self,
        key: &SharedKey,
        method: reqwest::Method,
        url: &str,
        extra: &[(&str, String)],
        body: Vec<u8>,
    ) -> anyhow::Result<reqwest::Response> {
        let url = url::Url::parse(url)?;
        let date = httpdate_now();
        let len = body.len().to_string();
        let mut headers: Vec<(&str, String)> = vec![
            ("x-ms-date", date),
            ("x-ms-version", X_MS_VERSION.to_string()),
            ("content-length", len),
        ];
        headers.extend(extra.iter().cloned());
        let auth = key.authorization(method.as_str(), &url, headers.iter().map(|(k, v)| (*k, v.as_str())));
        let mut req = self.http.request(method, url).header("authorization", auth).body(body);
        for (k, v) in &headers {
            if *k != "content-length" {
                req = req.header(*k, v);
            }
        }
        Ok(req.send().await?)
    }

    /// Creates a container; an existing one is fine.
    pub async fn create_container(&self, account: &str, key_b64: &str, container: &str) -> anyhow::Result<()> {
        let key = SharedKey::new(account, key_b64)?;
        let url = format!("{}?restype=container", self.container_url(account, container));
        let resp = self.send(&key, reqwest::Method::PUT, &url, &[], Vec::new()).await?;
        let status = resp.status();
        if status.is_success() || status.as_u16() == 409 {
            Ok(())
        } else {
            anyhow::bail!("creating container {container} in {account}: HTTP {status}: {}", resp.text().await.unwrap_or_default())
        }
    }

    pub async fn put_blob(&self, account: &str, key_b64: &str, container: &str, blob: &str, data: Vec<u8>) -> anyhow::Result<()> {
        let key = SharedKey::new(account, key_b64)?;
        let url = self.blob_url(account, container, blob);
        let extra = [("x-ms-blob-type", "BlockBlob".to_string()), ("content-type", "application/octet-stream".to_string())];
        let resp = self.send(&key, reqwest::Method::PUT, &url, &extra, data).await?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            anyhow::bail!("uploading {blob} to {account}/{container}: HTTP {status}: {}", resp.text().await.unwrap_or_default())
        }
    }

    pub async fn get_blob(&self, account: &str, key_b64: &str, container: &str, blob: &str) -> anyhow::Result<Vec<u8>> {
        let key = SharedKey::new(account, key_b64)?;
        let url = self.blob_url(account, container, blob);
        let resp = self.send(&key, reqwest::Method::GET, &url, &[], Vec::new()).await?;
        let status = resp.status();
        if status.is_success() {
            Ok(resp.bytes().await?.to_vec())
        } else {
            anyhow::bail!("downloading {blob} from {account}/{container}: HTTP {status}")
        }
    }
}

/// RFC 1123 date for `x-ms-date`.
pub fn httpdate_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc().format(&fmt).unwrap_or_default()
}

/// The fields of a Blob service SAS (container or blob scope), signed with the account key.
#[derive(Debug, Clone)]
pub struct ServiceSas {
    pub account: String,
    pub container: String,
    /// `None`: container SAS (`sr=c`); `Some`: blob SAS (`sr=b`).
    pub blob: Option<String>,
    /// In the canonical order, e.g. `racwdl`.
    pub permissions: String,
    pub start: Option<String>,
    pub expiry: String,
    pub protocol: Option<String>,
}

impl ServiceSas {
    /// String to sign for signed versions 2020-12-06 and later
    /// (https://learn.microsoft.com/rest/api/storageservices/create-service-sas#version-2020-12-06-and-later).
    pub fn string_to_sign(&self) -> String {
        let resource = match &self.blob {
            None => format!("/blob/{}/{}", self.account, self.container),
            Some(b) => format!("/blob/{}/{}/{}", self.account, self.container, b),
        };
        let sr = if self.blob.is_some() { "b" } else { "c" };
        [
            self.permissions.as_str(),
            self.start.as_deref().unwrap_or(""),
            self.expiry.as_str(),
            resource.as_str(),
            "", // signedIdentifier
            "", // signedIP
            self.protocol.as_deref().unwrap_or(""),
            SAS_VERSION,
            sr,
            "", // signedSnapshotTime
            "", // signedEncryptionScope
            "", // rscc
            "", // rscd
            "", // rsce
            "", // rscl
            "", // rsct
        ]
        .join("\n")
    }

    /// The query string (without `?`).
    pub fn token(&self, key: &SharedKey) -> String {
        let sig = key.sign_raw(&self.string_to_sign());
        let enc = |s: &str| utf8_percent_encode(s, QUERY_SET).to_string();
        let mut q = vec![format!("sv={SAS_VERSION}")];
        if let Some(p) = &self.protocol {
            q.push(format!("spr={}", enc(p)));
        }
        if let Some(st) = &self.start {
            q.push(format!("st={}", enc(st)));
        }
        q.push(format!("se={}", enc(&self.expiry)));
        q.push(format!("sr={}", if self.blob.is_some() { "b" } else { "c" }));
        q.push(format!("sp={}", self.permissions));
        q.push(format!("sig={}", enc(&sig)));
        q.join("&")
    }
}

/// UTC time `secs` from now in the SAS form `YYYY-MM-DDThh:mm:ssZ`.
pub fn sas_time(offset_secs: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs)).format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_sas_string_to_sign_has_sixteen_fields() {
        let sas = ServiceSas {
            account: "acct".into(),
            container: "c1".into(),
            blob: None,
            permissions: "racwdl".into(),
            start: Some("2026-01-01T00:00:00Z".into()),
            expiry: "2026-01-02T00:00:00Z".into(),
            protocol: None,
        };
        assert_eq!(
            sas.string_to_sign(),
            "racwdl\n2026-01-01T00:00:00Z\n2026-01-02T00:00:00Z\n/blob/acct/c1\n\n\n\n2021-12-02\nc\n\n\n\n\n\n\n"
        );
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let tok = sas.token(&key);
        assert!(tok.starts_with("sv=2021-12-02&st=2026-01-01T00%3A00%3A00Z&se=2026-01-02T00%3A00%3A00Z&sr=c&sp=racwdl&sig="));
        assert!(!tok.contains('+') && !tok.contains('/'), "signature must be percent-encoded");
    }
}
