//! ARM long-running operations: a PUT answered `201`/`202` with `Azure-AsyncOperation` (a status
//! document polled until `Succeeded`, `Failed` or `Canceled`) or `Location` (`202` until done),
//! waited for as ARM says (`Retry-After`), then the resource read back. Endpoints, deployments,
//! computes and schedules are created this way.

use super::ArmClient;
use crate::error::{Error, Result};
use crate::redact;
use serde_json::Value;
use std::time::{Duration, Instant};
use url::Url;

/// How long a wait between polls may be, whatever `Retry-After` says.
const MAX_POLL_WAIT: Duration = Duration::from_secs(30);
/// Without `Retry-After`.
const DEFAULT_POLL_WAIT: Duration = Duration::from_secs(2);

impl ArmClient {
    /// PUTs `body` at `path` and waits until the operation it starts has ended (at most
    /// `limit`); returns the resource as read back. A failed or cancelled operation, or a
    /// resource left `Failed`, is an error naming the service's reason.
    pub async fn put_and_wait(&self, path: &str, body: &Value, limit: Duration) -> Result<Value> {
        let url = self.url(path)?;
        let shown = redact::url(&url);
        let (status, headers, _) = self.send_raw(reqwest::Method::PUT, url, Some(body)).await?;
        let started = Instant::now();
        let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let wait_of = |h: &reqwest::header::HeaderMap| {
            h.get("retry-after").and_then(|v| v.to_str().ok()).and_then(|s| s.trim().parse::<u64>().ok()).map(Duration::from_secs).unwrap_or(DEFAULT_POLL_WAIT).min(MAX_POLL_WAIT)
        };
        if matches!(status, 201 | 202) {
            let (poll, is_status_doc) = match (header("azure-asyncoperation"), header("location")) {
                (Some(u), _) => (u, true),
                (None, Some(u)) => (u, false),
                (None, None) => (String::new(), false),
            };
            if !poll.is_empty() {
                let poll = self.same_origin(&poll, &shown)?;
                let mut wait = wait_of(&headers);
                loop {
                    if started.elapsed() > limit {
                        return Err(Error::Unavailable(format!("PUT {shown}: the operation did not finish within {}s; it may still complete (rerun to check)", limit.as_secs())));
                    }
                    tokio::time::sleep(wait).await;
                    let (st, h, bytes) = self.send_raw(reqwest::Method::GET, poll.clone(), None).await?;
                    wait = wait_of(&h);
                    if is_status_doc {
                        let doc: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        match doc.get("status").and_then(Value::as_str).unwrap_or("") {
                            "Succeeded" => break,
                            s @ ("Failed" | "Canceled" | "Cancelled") => {
                                let why = doc.pointer("/error/message").and_then(Value::as_str).unwrap_or("no reason given");
                                return Err(Error::Service(format!("PUT {shown}: the operation {}: {why}", s.to_ascii_lowercase())));
                            }
                            _ => continue,
                        }
                    } else if st != 202 {
                        break;
                    }
                }
            }
        }
        let have = self.get(path).await?;
        if have.pointer("/properties/provisioningState").and_then(Value::as_str) == Some("Failed") {
            return Err(Error::Service(format!("PUT {shown}: the resource was left Failed")));
        }
        Ok(have)
    }

    /// A polling URL from a response header: only ever on the configured endpoint (the bearer
    /// token never leaves it).
    fn same_origin(&self, link: &str, shown: &str) -> Result<Url> {
        let u = Url::parse(link).or_else(|_| self.base.join(link)).map_err(|e| Error::Service(format!("PUT {shown}: bad polling URL: {e}")))?;
        if u.origin() != self.base.origin() {
            return Err(Error::Service(format!(
                "PUT {shown}: the polling URL points to another host ({}); refusing to send credentials there",
                u.host_str().unwrap_or("?")
            )));
        }
        Ok(u)
    }
}
