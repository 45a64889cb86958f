//! The HTTP client every part of the tool shares, and the one retry policy for the control
//! plane and storage: bounded attempts, jittered exponential backoff, `Retry-After` honoured.

use crate::error::{Error, Result};
use rand::Rng;
use std::path::PathBuf;
use std::time::Duration;

/// Environment variable naming extra PEM CA certificates to trust (besides `SSL_CERT_FILE`).
pub const ENV_CA_CERT: &str = "AML_FAILOVER_CA_CERT";

/// Builds the shared client. `extra_ca` are PEM files whose certificates are trusted in
/// addition to the system roots (for TLS-inspecting proxies, private clouds and the emulator).
pub fn client(extra_ca: &[PathBuf]) -> Result<reqwest::Client> {
    let mut certs = Vec::new();
    for path in extra_ca {
        let pem = std::fs::read(path)
            .map_err(|e| Error::usage(format!("cannot read CA certificate file {}: {e}", path.display())))?;
        let found = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| Error::usage(format!("{} is not a PEM certificate bundle: {e}", path.display())))?;
        if found.is_empty() {
            return Err(Error::usage(format!("{} holds no PEM certificate", path.display())));
        }
        certs.extend(found);
    }
    reqwest::Client::builder()
        .user_agent(concat!("aml-failover/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(120))
        .tls_certs_merge(certs)
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))
}

/// The CA files to trust: `--ca-cert` values, else `AML_FAILOVER_CA_CERT`, plus `SSL_CERT_FILE`.
pub fn ca_files(from_flags: &[PathBuf]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = from_flags.to_vec();
    for var in [ENV_CA_CERT, "SSL_CERT_FILE"] {
        if let Some(p) = std::env::var_os(var).filter(|p| !p.is_empty()) {
            let p = PathBuf::from(p);
            if !v.contains(&p) {
                v.push(p);
            }
        }
    }
    v
}

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles each retry, with jitter.
    pub base: Duration,
    /// Longest single wait, also the cap on a server's Retry-After.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: 4, base: Duration::from_millis(500), max_wait: Duration::from_secs(60) }
    }
}

/// What the caller should do after one attempt.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Done,
    RetryAfter(Duration),
}

impl RetryPolicy {
    /// Decides whether a response status is worth another attempt and how long to wait.
    /// `attempt` counts retries already made (0 after the first attempt).
    pub fn on_status(&self, attempt: u32, status: u16, headers: &reqwest::header::HeaderMap) -> Verdict {
        if attempt >= self.max_retries || !matches!(status, 408 | 429 | 500 | 502 | 503 | 504) {
            return Verdict::Done;
        }
        let wait = retry_after(headers).unwrap_or_else(|| self.backoff(attempt));
        Verdict::RetryAfter(wait.min(self.max_wait))
    }

    /// For transport failures (connection refused/reset, timeouts) of idempotent requests.
    pub fn on_transport_error(&self, attempt: u32) -> Verdict {
        if attempt >= self.max_retries {
            Verdict::Done
        } else {
            Verdict::RetryAfter(self.backoff(attempt))
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16));
        let jitter = rand::rng().random_range(0.8..1.2);
        exp.mul_f64(jitter).min(self.max_wait)
    }
}

/// `Retry-After` (seconds or HTTP date), or the millisecond variants Azure services send.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()?;
    let delta = when - time::OffsetDateTime::now_utc();
    Some(Duration::from_secs_f64(delta.as_seconds_f64().max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn retry_after_seconds_is_honoured() {
        let p = RetryPolicy::default();
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(p.on_status(0, 503, &h), Verdict::RetryAfter(Duration::from_secs(3)));
        assert_eq!(p.on_status(0, 429, &h), Verdict::RetryAfter(Duration::from_secs(3)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(p.on_status(0, 503, &h), Verdict::RetryAfter(Duration::from_millis(250)));
    }

    #[test]
    fn retries_are_bounded_and_only_for_transient_statuses() {
        let p = RetryPolicy::default();
        let h = HeaderMap::new();
        assert_eq!(p.on_status(p.max_retries, 503, &h), Verdict::Done);
        for s in [200, 400, 401, 403, 404, 409] {
            assert_eq!(p.on_status(0, s, &h), Verdict::Done, "status {s}");
        }
        match p.on_status(1, 500, &h) {
            Verdict::RetryAfter(d) => assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200), "{d:?}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn server_retry_after_is_capped() {
        let p = RetryPolicy { max_wait: Duration::from_secs(5), ..Default::default() };
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3600"));
        assert_eq!(p.on_status(0, 429, &h), Verdict::RetryAfter(Duration::from_secs(5)));
    }
}
