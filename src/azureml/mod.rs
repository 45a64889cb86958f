//! REST client of the Azure ML control plane (ARM, api-version [`API_VERSION`]).
//!
//! Shared here: authentication, retries (with `Retry-After`), ARM error bodies turned into
//! operator-readable errors, and `nextLink` paging. One file per resource family beside it.

pub mod datastores;
pub mod lro;
pub mod workspaces;

use crate::error::{Error, Result};
use crate::http::{self, Failed, RetryPolicy};
use crate::redact;
use crate::azure::credentials::TokenProvider;
use crate::azure::WorkspaceRef;
use serde_json::Value;
use std::sync::Arc;
use url::Url;

/// The pinned stable api-version (shared/specs/azureml/2025-12-01).
pub const API_VERSION: &str = "2025-12-01";

/// Asset families whose containers live under `<workspace>/<segment>`.
pub const ASSET_KINDS: &[(&str, &str)] = &[
    ("models", "models"),
    ("environments", "environments"),
    ("components", "components"),
    ("code", "codes"),
    ("data", "data"),
    ("jobs", "jobs"),
];

#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base: Url,
    scope: String,
    tokens: Arc<TokenProvider>,
    retry: RetryPolicy,
}

impl ArmClient {
    pub fn new(http: reqwest::Client, base: Url, scope: String, tokens: Arc<TokenProvider>, retry: RetryPolicy) -> Self {
        ArmClient { http, base, scope, tokens, retry }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn tokens(&self) -> &Arc<TokenProvider> {
        &self.tokens
    }

    /// Full URL of an ARM path (starting with `/subscriptions/...`) with the pinned api-version.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.url_with(path, API_VERSION)
    }

    /// [`ArmClient::url`] with another provider's api-version (Storage, Container Registry).
    pub fn url_with(&self, path: &str, api_version: &str) -> Result<Url> {
        let mut u = self
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::Internal(format!("bad ARM path {path}: {e}")))?;
        u.query_pairs_mut().append_pair("api-version", api_version);
        Ok(u)
    }

    /// GET of another resource provider's resource: `path` may carry a query (`?$expand=…`).
    pub async fn get_with(&self, path: &str, api_version: &str) -> Result<Value> {
        let url = self.url_with(path, api_version)?;
        self.send(reqwest::Method::GET, url, None).await
    }

    /// [`ArmClient::list`] of another resource provider.
    pub async fn list_with(&self, path: &str, api_version: &str) -> Result<Vec<Value>> {
        self.list_from(path, self.url_with(path, api_version)?).await
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let url = self.url(path)?;
        self.send(reqwest::Method::GET, url, None).await
    }

    pub async fn post(&self, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = self.url(path)?;
        self.send(reqwest::Method::POST, url, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Result<Value> {
        let url = self.url(path)?;
        self.send(reqwest::Method::PUT, url, Some(body)).await
    }

    /// DELETE; a resource that is already gone is fine.
    pub async fn delete(&self, path: &str) -> Result<()> {
        let url = self.url(path)?;
        match self.send(reqwest::Method::DELETE, url, None).await {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Every item of a paged list, following `nextLink` as given (it may carry another
    /// api-version). A `nextLink` to another host is refused: the bearer token never leaves
    /// the configured endpoint.
    pub async fn list(&self, path: &str) -> Result<Vec<Value>> {
        self.list_from(path, self.url(path)?).await
    }

    async fn list_from(&self, path: &str, first: Url) -> Result<Vec<Value>> {
        let mut url = first;
        let mut items = Vec::new();
        for page in 0.. {
            if page > 100_000 {
                return Err(Error::Service(format!("listing {path} did not end after 100000 pages")));
            }
            let body = self.send(reqwest::Method::GET, url.clone(), None).await?;
            match body.get("value") {
                Some(Value::Array(v)) => items.extend(v.iter().cloned()),
                _ => return Err(Error::Service(format!("listing {path}: the response has no `value` array"))),
            }
            match body.get("nextLink").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                Some(next) => {
                    let next = Url::parse(next)
                        .or_else(|_| self.base.join(next))
                        .map_err(|e| Error::Service(format!("listing {path}: bad nextLink: {e}")))?;
                    if next.origin() != self.base.origin() {
                        return Err(Error::Service(format!(
                            "listing {path}: nextLink points to another host ({}); refusing to send credentials there",
                            next.host_str().unwrap_or("?")
                        )));
                    }
                    url = next;
                }
                None => break,
            }
        }
        Ok(items)
    }

    /// One request through the one retry loop ([`crate::http::retry`]): each attempt sends and
    /// reads the whole body, so a connection dropped mid-body is retried like one refused.
    async fn send(&self, method: reqwest::Method, url: Url, body: Option<&Value>) -> Result<Value> {
        let shown = redact::url(&url);
        let (_, _, bytes) = self.send_raw(method.clone(), url, body).await?;
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&bytes).map_err(|e| Error::Service(format!("{method} {shown}: response is not JSON: {e}")))
    }

    /// [`Self::send`] keeping the status and headers (long-running operations read them).
    async fn send_raw(&self, method: reqwest::Method, url: Url, body: Option<&Value>) -> Result<(u16, reqwest::header::HeaderMap, bytes::Bytes)> {
        let shown = redact::url(&url);
        let what = format!("{method} {shown}");
        http::retry(&self.retry, &what, |attempt| {
            let (method, url, shown) = (method.clone(), url.clone(), &shown);
            async move {
                let token = self.tokens.token(&self.scope).await?;
                let mut req = self.http.request(method.clone(), url).bearer_auth(&token);
                if let Some(b) = body {
                    req = req.json(b);
                }
                tracing::debug!(%method, url = %shown, attempt, "ARM request");
                let resp = req.send().await.map_err(|e| transport_error(&self.base, shown, &e))?;
                let status = resp.status().as_u16();
                let headers = resp.headers().clone();
                let server_wait = http::retry_after(resp.headers());
                let bytes = resp.bytes().await.map_err(|e| transport_error(&self.base, shown, &e))?;
                if (200..300).contains(&status) {
                    Ok((status, headers, bytes))
                } else {
                    Err(Failed { error: status_error(status, &bytes, &method, shown, attempt), server_wait })
                }
            }
        })
        .await
    }
}

/// ARM's `{"error":{"code","message"}}` (also tolerates `{"code","message"}` at the top).
pub fn arm_error(bytes: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
    let e = v.get("error").unwrap_or(&v);
    let code = e.get("code").and_then(Value::as_str).unwrap_or("").to_string();
    let msg = e.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    (code, msg)
}

fn status_error(status: u16, bytes: &[u8], method: &reqwest::Method, url: &str, retries: u32) -> Error {
    let (code, msg) = arm_error(bytes);
    let detail = match (code.is_empty(), msg.is_empty()) {
        (false, false) => format!("{code}: {msg}"),
        (false, true) => code.clone(),
        (true, false) => msg.clone(),
        (true, true) => format!("HTTP {status}"),
    };
    let after = match retries {
        0 => String::new(),
        1 => " after 1 retry".to_string(),
        n => format!(" after {n} retries"),
    };
    match status {
        401 => Error::Auth(format!(
            "the control plane rejected the credentials (401 {detail}). Fix: run `az login` again, or check the token / service principal you configured"
        )),
        403 => Error::Auth(format!(
            "not allowed (403 {detail}). Fix: grant this identity a role on the workspace (e.g. AzureML Data Scientist or Contributor)"
        )),
        404 => Error::NotFound(format!("not found (404 {detail}): {method} {url}")),
        409 | 412 => Error::Conflict(format!("{method} {url} refused: the resource is in another state ({status} {detail})")),
        429 => Error::Throttled(format!("throttled{after} (429 {detail}): try again later or lower --concurrency")),
        502..=504 => Error::Unavailable(format!(
            "the control plane did not answer{after} ({status} {detail}); the region may be down: check https://azure.status.microsoft, or fail over from storage"
        )),
        408 | 500..=599 => Error::Unavailable(format!("service error{after} ({status} {detail}) on {method} {url}")),
        _ => Error::Service(format!("{method} {url} failed ({status} {detail})")),
    }
}

fn transport_error(base: &Url, url: &str, e: &reqwest::Error) -> Error {
    let cause = http::transport_cause(e);
    let hint = if cause.contains("certificate") || cause.contains("UnknownIssuer") {
        "Fix: trust the endpoint's CA with --ca-cert or AML_FAILOVER_CA_CERT"
    } else {
        "Fix: check the network, --cloud and --resource-manager-endpoint"
    };
    let host = base.host_str().unwrap_or("?");
    http::transport_error(e, format!("cannot reach {host} ({url}): {cause}. {hint}"))
}

/// The ARM path of a workspace.
pub fn workspace_path(ws: &WorkspaceRef) -> String {
    ws.arm_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_have_the_class_the_retry_loop_expects() {
        for status in [400, 401, 403, 404, 408, 409, 412, 429, 500, 502, 503, 504] {
            let e = status_error(status, b"{}", &reqwest::Method::GET, "/x", 0);
            assert_eq!(e.class(), http::status_class(status), "{status}: {e}");
        }
    }
}
