//! Starting Microsoft's Azurite blob emulator for tests and the demo.
//!
//! Azurite is installed by `scripts/setup.sh` (pinned version, project-local, from the npm
//! registry) under `<repo>/.tools/azurite`. It is always started on loopback, on a port
//! chosen free at run time, with `--disableTelemetry` (without it Azurite tries to reach the
//! internet), with its data in a temporary folder that is removed when the handle drops.
//! Extra storage accounts come through Azurite's `AZURITE_ACCOUNTS` setting.

use anyhow::{bail, Context, Result};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The Azurite version `scripts/setup.sh` installs. Keep the two in step.
pub const AZURITE_VERSION: &str = "3.35.0";

/// The well-known development account every Azurite has.
pub const DEV_ACCOUNT: &str = "devstoreaccount1";
pub const DEV_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

#[derive(Debug, Clone, Default)]
pub struct AzuriteOptions {
    /// Extra accounts as (name, base64 key). The dev account stays available too.
    pub accounts: Vec<(String, String)>,
    /// Where Azurite keeps its data; a fresh temporary folder when `None`.
    pub location: Option<PathBuf>,
}

/// A running `azurite-blob`. Dropping it stops the process and removes its temporary data.
pub struct Azurite {
    child: Child,
    port: u16,
    _tmp: Option<tempfile::TempDir>,
    log_path: PathBuf,
}

impl std::fmt::Debug for Azurite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Azurite").field("port", &self.port).finish_non_exhaustive()
    }
}

/// Locates the `azurite-blob` launcher: `$AZURITE_BIN`, else `.tools/azurite/node_modules/.bin/azurite-blob`
/// in the repository, found by walking up from the running crate's folder (`CARGO_MANIFEST_DIR`
/// as cargo sets it at run time, then as it was at build time) and from the current folder.
pub fn azurite_bin() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("AZURITE_BIN") {
        return Ok(PathBuf::from(p));
    }
    const REL: &str = ".tools/azurite/node_modules/.bin/azurite-blob";
    let mut starts: Vec<PathBuf> = Vec::new();
    if let Some(d) = std::env::var_os("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(d));
    }
    starts.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    if let Ok(d) = std::env::current_dir() {
        starts.push(d);
    }
    for start in &starts {
        for dir in start.ancestors() {
            let bin = dir.join(REL);
            if bin.exists() {
                return Ok(bin);
            }
        }
    }
    bail!(
        "Azurite {AZURITE_VERSION} is not installed ({REL} not found above {}): run scripts/setup.sh (or set AZURITE_BIN)",
        starts.first().map(|p| p.display().to_string()).unwrap_or_default()
    );
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

impl Azurite {
    /// Starts Azurite and waits until it answers HTTP. Retries on a port race.
    pub fn start(opts: AzuriteOptions) -> Result<Azurite> {
        let mut last_err = None;
        for _ in 0..3 {
            match Self::start_once(&opts) {
                Ok(a) => return Ok(a),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.expect("at least one attempt"))
    }

    fn start_once(opts: &AzuriteOptions) -> Result<Azurite> {
        let bin = azurite_bin()?;
        let (tmp, location) = match &opts.location {
            Some(p) => {
                std::fs::create_dir_all(p)?;
                (None, p.clone())
            }
            None => {
                let t = tempfile::Builder::new().prefix("azurite-").tempdir()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let port = free_port()?;
        let log_path = location.join("azurite-stdout.log");
        let log = std::fs::File::create(&log_path)?;
        let mut accounts = vec![format!("{DEV_ACCOUNT}:{DEV_KEY}")];
        accounts.extend(opts.accounts.iter().map(|(n, k)| format!("{n}:{k}")));
        let mut child = Command::new(&bin)
            .arg("--blobHost")
            .arg("127.0.0.1")
            .arg("--blobPort")
            .arg(port.to_string())
            .arg("--location")
            .arg(&location)
            .arg("--disableTelemetry")
            .arg("--skipApiVersionCheck")
            .arg("--silent")
            .env("AZURITE_ACCOUNTS", accounts.join(";"))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;

        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        loop {
            if let Some(status) = child.try_wait()? {
                let out = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("Azurite exited at start ({status}): {}", out.trim());
            }
            // Another Azurite may have taken the port between `free_port` and this start
            // (tests start test beds in parallel): then ours exits with EADDRINUSE while the
            // other one answers HTTP with other keys. Only our own log line proves the bind.
            let ours = std::fs::read_to_string(&log_path).map(|l| l.contains("successfully listens")).unwrap_or(false);
            if ours && http_answers(addr) {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("Azurite did not answer on {addr} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Azurite { child, port, _tmp: tmp, log_path })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`
    pub fn blob_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Path-style account URL: `http://127.0.0.1:PORT/<account>`.
    pub fn account_url(&self, account: &str) -> String {
        format!("http://127.0.0.1:{}/{account}", self.port)
    }

    /// The RA-GRS secondary of an account: `http://127.0.0.1:PORT/<account>-secondary`.
    pub fn secondary_account_url(&self, account: &str) -> String {
        format!("http://127.0.0.1:{}/{account}-secondary", self.port)
    }

    /// Azurite's own output, for diagnosing a failed test.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }
}

fn http_answers(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    if s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_free_port_and_stops() {
        let a = Azurite::start(AzuriteOptions {
            accounts: vec![("acct1".into(), DEV_KEY.into())],
            location: None,
        })
        .expect("Azurite starts (run scripts/setup.sh first)");
        let addr = SocketAddr::from(([127, 0, 0, 1], a.port()));
        assert!(http_answers(addr));
        let port = a.port();
        drop(a);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!http_answers(SocketAddr::from(([127, 0, 0, 1], port))), "Azurite still answers after drop");
    }
}
