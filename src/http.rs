//! The HTTP client every part of the tool shares, and the one retry policy for the control
//! plane and storage: bounded attempts, jittered exponential backoff, `Retry-After` honoured.

use crate::error::{Class, Error, Result};
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

/// One failed attempt: its error (whose [`Class`] decides whether to try again) and the wait
/// the server asked for (`Retry-After`), if it sent one.
#[derive(Debug)]
pub struct Failed {
    pub error: Error,
    pub server_wait: Option<Duration>,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Failed {
        Failed { error, server_wait: None }
    }
}

impl RetryPolicy {
    /// Decides after a failed attempt: only [`Class::Transient`] and [`Class::Throttled`] are
    /// tried again, at most `max_retries` times, after the server's `Retry-After` (capped) or a
    /// jittered exponential backoff. `attempt` counts retries already made (0 after the first).
    pub fn on_failure(&self, attempt: u32, class: Class, server_wait: Option<Duration>) -> Verdict {
        if attempt >= self.max_retries || !class.is_retryable() {
            return Verdict::Done;
        }
        let wait = server_wait.unwrap_or_else(|| self.backoff(attempt));
        Verdict::RetryAfter(wait.min(self.max_wait))
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self.base.saturating_mul(1u32 << attempt.min(16));
        let jitter = rand::rng().random_range(0.8..1.2);
        exp.mul_f64(jitter).min(self.max_wait)
    }
}

/// The class of an HTTP status that is not a success (the control plane and storage alike).
pub fn status_class(status: u16) -> Class {
    match status {
        429 => Class::Throttled,
        408 | 500..=599 => Class::Transient,
        404 => Class::NotFound,
        409 | 412 => Class::Conflict,
        401 | 403 => Class::Auth,
        _ => Class::Fatal,
    }
}

/// The one retry loop of the control plane and storage. `attempt(n)` makes one whole attempt —
/// sending the request *and* reading the response body — so a connection dropped while the body
/// arrives is retried like one refused. Whether to try again is decided by the error's class
/// ([`RetryPolicy::on_failure`]), never by its text. `what` names the request in logs.
pub async fn retry<T, F, Fut>(policy: &RetryPolicy, what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, Failed>>,
{
    let mut n = 0u32;
    loop {
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(Failed { error, server_wait }) => match policy.on_failure(n, error.class(), server_wait) {
                Verdict::RetryAfter(wait) => {
                    tracing::info!(request = what, class = ?error.class(), wait_ms = wait.as_millis() as u64, "{error}; retrying");
                    n += 1;
                    tokio::time::sleep(wait).await;
                }
                Verdict::Done => return Err(error),
            },
        }
    }
}

/// A transport failure's message with every cause (reqwest's own message is terse).
pub fn transport_cause(e: &reqwest::Error) -> String {
    let mut cause = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause = format!("{cause}: {s}");
        src = s.source();
    }
    cause
}

/// A transport failure as an error of its class: a TLS failure (rustls refused the
/// certificate or the handshake) is [`Error::Tls`], not retried — trying again gives the same
/// answer; any other (refused, reset, dropped, timed out) is transient.
pub fn transport_error(e: &reqwest::Error, message: String) -> Error {
    /// Whether `s` is rustls' error, or io::Errors wrapping it (the TLS connector reports it
    /// that way, and io::Error's `source` skips what it wraps).
    fn is_rustls(mut s: &(dyn std::error::Error + 'static)) -> bool {
        loop {
            if s.downcast_ref::<rustls::Error>().is_some() {
                return true;
            }
            match s.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
                Some(inner) => s = inner,
                None => return false,
            }
        }
    }
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        if is_rustls(s) {
            return Error::Tls(message);
        }
        src = s.source();
    }
    Error::Unavailable(message)
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
    use std::sync::atomic::{AtomicU32, Ordering};

    #[test]
    fn retry_after_headers_are_read() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert("x-ms-retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h), Some(Duration::from_millis(250)));
    }

    #[test]
    fn server_wait_is_honoured_and_capped() {
        let p = RetryPolicy { max_wait: Duration::from_secs(5), ..Default::default() };
        assert_eq!(p.on_failure(0, Class::Throttled, Some(Duration::from_secs(3))), Verdict::RetryAfter(Duration::from_secs(3)));
        assert_eq!(p.on_failure(0, Class::Transient, Some(Duration::from_secs(3600))), Verdict::RetryAfter(Duration::from_secs(5)));
    }

    #[test]
    fn retries_are_bounded_and_decided_by_class() {
        let p = RetryPolicy::default();
        assert_eq!(p.on_failure(p.max_retries, Class::Transient, None), Verdict::Done);
        for c in [Class::NotFound, Class::Conflict, Class::Corrupted, Class::Auth, Class::Usage, Class::Fatal] {
            assert_eq!(p.on_failure(0, c, None), Verdict::Done, "{c:?}");
        }
        match p.on_failure(1, Class::Transient, None) {
            Verdict::RetryAfter(d) => assert!(d >= Duration::from_millis(800) && d <= Duration::from_millis(1200), "{d:?}"),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn statuses_are_classified() {
        let got: Vec<Class> = [429, 503, 500, 408, 404, 409, 412, 401, 403, 400].into_iter().map(status_class).collect();
        use Class::*;
        assert_eq!(got, [Throttled, Transient, Transient, Transient, NotFound, Conflict, Conflict, Auth, Auth, Fatal]);
    }

    #[tokio::test]
    async fn the_loop_retries_transient_failures_only() {
        let p = RetryPolicy { max_retries: 3, base: Duration::from_millis(1), ..Default::default() };
        let calls = AtomicU32::new(0);
        let r = retry(&p, "t", |n| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(Failed::from(Error::Unavailable("dropped while reading the body".into())))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!((r.unwrap(), calls.load(Ordering::SeqCst)), (2, 3));

        let calls = AtomicU32::new(0);
        let r: Result<()> = retry(&p, "t", |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Failed::from(Error::Conflict("409".into()))) }
        })
        .await;
        assert!(matches!(r, Err(Error::Conflict(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "a conflict is not retried");

        let calls = AtomicU32::new(0);
        let r: Result<()> = retry(&p, "t", |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Failed::from(Error::Throttled("429".into()))) }
        })
        .await;
        assert!(matches!(r, Err(Error::Throttled(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 4, "first attempt + max_retries");
    }
}
