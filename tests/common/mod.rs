//! Running the built `aml-failover` binary against the test bed (Azurite + the emulator).

#![allow(dead_code)]

pub use aml_emulator::testbed::{TestBed, TestBedOptions};
use std::path::Path;
use std::process::{Command, Output};

/// The outcome of one run of the binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
    /// Panics with everything printed when the exit code is not `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "exit code\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

/// A command for the binary with a clean environment: nothing from the developer's machine
/// (no AZURE_* or AML_FAILOVER_* variables) leaks into a test.
pub fn bare_command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aml-failover"));
    c.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            c.env(keep, v);
        }
    }
    // Retries stay real but short in tests.
    c.env("AML_FAILOVER_RETRY_BASE_MS", "20");
    c
}

/// A command pointed at the test bed, with its static token.
pub fn command(tb: &TestBed) -> Command {
    let mut c = bare_command();
    for (k, v) in tb.env() {
        if k.starts_with("AML_FAILOVER_") {
            c.env(k, v);
        }
    }
    c
}

pub fn run(mut c: Command, args: &[&str]) -> Run {
    c.args(args).output().expect("the binary runs").into()
}

/// Starts the standard two-region bed (primary eastus, failover westus).
pub fn testbed(page_size: Option<usize>, seed: bool) -> TestBed {
    let seed_primary = seed.then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary"));
    TestBed::start(TestBedOptions { page_size, seed_primary, ..Default::default() }).expect("test bed starts (run scripts/setup.sh first)")
}

/// Asserts that no secret of the bed appears in what the tool printed.
pub fn assert_no_secrets(tb: &TestBed, r: &Run) {
    let (_, _, secret) = tb.service_principal();
    for s in [tb.token().to_string(), tb.primary().storage_key.clone(), tb.failover().storage_key.clone(), secret] {
        assert!(!r.stdout.contains(&s) && !r.stderr.contains(&s), "a secret was printed:\n{}\n{}", r.stdout, r.stderr);
    }
}
