//! One error type for the whole tool, and the one place that maps errors to exit codes.
//!
//! Every variant carries a message written for an operator: what failed and what to do.
//! Messages never contain secrets (tokens, keys, SAS signatures): URLs are passed through
//! [`crate::redact::url`] before they are put into an error.

use std::process::ExitCode;

/// Exit codes. Documented in `--help` and the README; scripts branch on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Everything asked was done.
    Ok = 0,
    /// Some items failed, or data assets need manual re-registration (unless
    /// --accept-data-warnings); the report lists them with reasons (copy commands).
    Partial = 1,
    /// Nothing was done: bad arguments or input (wrong reference, unknown cloud, bad file).
    Usage = 2,
    /// Credentials missing, rejected (401) or not allowed (403).
    Auth = 3,
    /// The workspace or resource named does not exist.
    NotFound = 4,
    /// An endpoint could not be reached or kept failing (network, region down, throttling past retries).
    Unavailable = 5,
    /// The service refused the request for another reason (4xx/5xx not covered above).
    Service = 6,
    /// `verify`: the target has drifted from the source (versions missing, different or extra).
    Drifted = 7,
    /// A bug or an unexpected condition in the tool.
    Internal = 10,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The table printed in `--help` and the README.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done: everything asked was done
  1  partial: some items failed, or data assets need manual re-registration; the report lists each
  2  bad input: nothing done (wrong workspace reference, unknown cloud, bad option or file)
  3  authentication: no usable credential, or it was rejected (401) or not allowed (403)
  4  not found: the workspace or resource does not exist
  5  unavailable: an endpoint was unreachable or kept failing (network, region down, throttling)
  6  service error: the service refused the request for another reason
  7  drifted (verify): the target lacks, differs from, or has more than the source; the report lists each
  10 internal error: a bug; please report it with the output of -v";

/// What kind of failure an error is, for deciding whether to try again. Separate from the exit
/// code ([`Error::exit`]): retries are decided by [`Error::class`], never by the message text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// May succeed if tried again: a connection refused, reset or dropped (also while the
    /// response body was being read), a timeout, a 5xx.
    Transient,
    /// The service asked to slow down (429, or 503 ServerBusy with Retry-After): try again later.
    Throttled,
    /// The resource does not exist (404). Trying again will not make it appear.
    NotFound,
    /// The resource exists in another state than expected (409, 412). Not retried.
    Conflict,
    /// Bytes did not match their checksum. Not retried by the request loop.
    Corrupted,
    /// Credentials missing, rejected or not allowed.
    Auth,
    /// Bad input from the operator: nothing was done.
    Usage,
    /// Anything else the service refused, or a bug: trying again gives the same answer.
    Fatal,
}

impl Class {
    /// Whether another attempt may succeed (the one retry loop, [`crate::http::retry`], asks this).
    pub fn is_retryable(self) -> bool {
        matches!(self, Class::Transient | Class::Throttled)
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    NotFound(String),
    /// Transient: unreachable, dropped or failing with 5xx (after retries when it surfaces).
    #[error("{0}")]
    Unavailable(String),
    /// Throttled (429, ServerBusy): exits like [`Error::Unavailable`].
    #[error("{0}")]
    Throttled(String),
    /// A TLS failure (an untrusted or invalid certificate, a refused handshake): the endpoint
    /// cannot be reached safely, and trying again gives the same answer. Exits (and is named
    /// in JSON) like [`Error::Unavailable`], but is not retried.
    #[error("{0}")]
    Tls(String),
    /// 409/412: the resource is in another state. Exits like [`Error::Service`].
    #[error("{0}")]
    Conflict(String),
    /// Bytes that do not match their checksum. Exits like [`Error::Service`].
    #[error("{0}")]
    Corrupted(String),
    #[error("{0}")]
    Service(String),
    #[error("{0}")]
    Internal(String),
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Usage(_) => Exit::Usage,
            Error::Auth(_) => Exit::Auth,
            Error::NotFound(_) => Exit::NotFound,
            Error::Unavailable(_) | Error::Throttled(_) | Error::Tls(_) => Exit::Unavailable,
            Error::Service(_) | Error::Conflict(_) | Error::Corrupted(_) => Exit::Service,
            Error::Internal(_) => Exit::Internal,
        }
    }

    /// The retry class (see [`Class`]).
    pub fn class(&self) -> Class {
        match self {
            Error::Usage(_) => Class::Usage,
            Error::Auth(_) => Class::Auth,
            Error::NotFound(_) => Class::NotFound,
            Error::Unavailable(_) => Class::Transient,
            Error::Throttled(_) => Class::Throttled,
            Error::Conflict(_) => Class::Conflict,
            Error::Corrupted(_) => Class::Corrupted,
            Error::Service(_) | Error::Internal(_) | Error::Tls(_) => Class::Fatal,
        }
    }

    /// A short machine-readable name of the kind, used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Auth(_) => "auth",
            Error::NotFound(_) => "not_found",
            // The JSON `kind` is a closed set in schema version 1 (docs/json.md): the finer
            // variants report as the kind whose exit code they share; [`Error::class`] keeps
            // the distinction for retries.
            Error::Unavailable(_) | Error::Tls(_) | Error::Throttled(_) => "unavailable",
            Error::Service(_) | Error::Conflict(_) | Error::Corrupted(_) => "service",
            Error::Internal(_) => "internal",
        }
    }

    /// The same error with `context: ` before its message, keeping its kind (and so its class
    /// and exit code).
    pub fn context(self, context: impl std::fmt::Display) -> Error {
        let f = |m: String| format!("{context}: {m}");
        match self {
            Error::Usage(m) => Error::Usage(f(m)),
            Error::Auth(m) => Error::Auth(f(m)),
            Error::NotFound(m) => Error::NotFound(f(m)),
            Error::Unavailable(m) => Error::Unavailable(f(m)),
            Error::Throttled(m) => Error::Throttled(f(m)),
            Error::Tls(m) => Error::Tls(f(m)),
            Error::Conflict(m) => Error::Conflict(f(m)),
            Error::Corrupted(m) => Error::Corrupted(f(m)),
            Error::Service(m) => Error::Service(f(m)),
            Error::Internal(m) => Error::Internal(f(m)),
        }
    }

    pub fn usage(msg: impl Into<String>) -> Self {
        Error::Usage(msg.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct_and_documented() {
        let all = [
            Exit::Ok,
            Exit::Partial,
            Exit::Usage,
            Exit::Auth,
            Exit::NotFound,
            Exit::Unavailable,
            Exit::Service,
            Exit::Drifted,
            Exit::Internal,
        ];
        let mut seen = std::collections::HashSet::new();
        for e in all {
            assert!(seen.insert(e as u8), "duplicate exit code {}", e as u8);
            let line = format!("\n  {:<2} ", e as u8);
            assert!(EXIT_CODES_HELP.contains(&line), "exit code {} missing from help table", e as u8);
        }
    }

    #[test]
    fn class_is_separate_from_the_exit_code() {
        let m = || String::from("x");
        // The exit codes of the variants that existed before classes stay as they were.
        assert_eq!(Error::Unavailable(m()).exit(), Exit::Unavailable);
        assert_eq!(Error::Service(m()).exit(), Exit::Service);
        assert_eq!(Error::NotFound(m()).exit(), Exit::NotFound);
        // Same exit code, different class.
        assert_eq!(Error::Throttled(m()).exit(), Exit::Unavailable);
        assert_eq!(Error::Conflict(m()).exit(), Exit::Service);
        assert_eq!(Error::Corrupted(m()).exit(), Exit::Service);
        let retryable: Vec<bool> = [Error::Unavailable(m()), Error::Throttled(m()), Error::NotFound(m()), Error::Conflict(m()), Error::Corrupted(m()), Error::Service(m()), Error::Auth(m()), Error::Usage(m()), Error::Internal(m())]
            .iter()
            .map(|e| e.class().is_retryable())
            .collect();
        assert_eq!(retryable, [true, true, false, false, false, false, false, false, false]);
        let e = Error::Throttled("429".into()).context("listing models");
        assert_eq!((e.class(), e.to_string().as_str()), (Class::Throttled, "listing models: 429"));
    }
}
