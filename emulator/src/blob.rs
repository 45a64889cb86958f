//! A minimal Blob service client for Azurite (path-style URLs, Shared Key), and service SAS.

use azure_sharedkey::SharedKey;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Blob service version sent with Shared Key requests.
pub const X_MS_VERSION: &str = "2021-12-02";

/// Characters kept as-is in blob paths (RFC 3986 unreserved plus `/`).
const PATH_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

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
        // Content-Length is sent explicitly: for an empty body the client would omit it,
        // and the service answers 400 to a PUT without one.
        for (k, v) in &headers {
            req = req.header(*k, v);
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

    /// Uploads a block blob as Put Block + Put Block List without any MD5, as SDKs do for
    /// large files: the service then stores no Content-MD5 for it.
    pub async fn put_blob_in_blocks(&self, account: &str, key_b64: &str, container: &str, blob: &str, data: &[u8], block: usize) -> anyhow::Result<()> {
        use base64::Engine as _;
        let key = SharedKey::new(account, key_b64)?;
        let url = self.blob_url(account, container, blob);
        let mut ids = Vec::new();
        for (i, chunk) in data.chunks(block.max(1)).enumerate() {
            let id = base64::engine::general_purpose::STANDARD.encode(format!("block-{i:06}"));
            let u = format!("{url}?comp=block&blockid={}", percent_encoding::utf8_percent_encode(&id, percent_encoding::NON_ALPHANUMERIC));
            let resp = self.send(&key, reqwest::Method::PUT, &u, &[], chunk.to_vec()).await?;
            anyhow::ensure!(resp.status().is_success(), "Put Block {i} of {blob}: HTTP {}", resp.status());
            ids.push(id);
        }
        let xml = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{}</BlockList>", ids.iter().map(|i| format!("<Latest>{i}</Latest>")).collect::<String>());
        let resp = self.send(&key, reqwest::Method::PUT, &format!("{url}?comp=blocklist"), &[], xml.into_bytes()).await?;
        anyhow::ensure!(resp.status().is_success(), "Put Block List of {blob}: HTTP {}", resp.status());
        Ok(())
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

pub use azure_sharedkey::httpdate_now;

pub use azure_sharedkey::sas::{sas_time, ServiceSas, SAS_VERSION};
