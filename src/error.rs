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

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Auth(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
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
            Error::Unavailable(_) => Exit::Unavailable,
            Error::Service(_) => Exit::Service,
            Error::Internal(_) => Exit::Internal,
        }
    }

    /// A short machine-readable name of the kind, used in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Usage(_) => "usage",
            Error::Auth(_) => "auth",
            Error::NotFound(_) => "not_found",
            Error::Unavailable(_) => "unavailable",
            Error::Service(_) => "service",
            Error::Internal(_) => "internal",
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
}
