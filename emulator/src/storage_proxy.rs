//! A fault-injecting reverse proxy in front of Azurite's blob endpoint.
//!
//! [`StorageProxy::start`] listens on a free loopback port (plain HTTP) and forwards every
//! request unchanged — method, path, query, headers (`Authorization`, `x-ms-*`, `Content-MD5`,
//! `Host` …; only hop-by-hop headers and `Expect` are dropped), body streamed chunk by chunk —
//! to the upstream blob endpoint, and streams the answer back unchanged. Shared Key and SAS
//! keep working because path and query are byte-identical (the string-to-sign does not use
//! the host). Nothing is buffered beyond a chunk, so 256 MiB blobs pass in bounded memory.
//! One difference: when a request carries no `Accept` header, the forwarding client adds
//! `Accept: */*` (not part of the Shared Key string-to-sign).
//!
//! Faults ([`StorageFault`]) are switchable at run time and match on method and a substring of
//! the target (the percent-decoded path plus `?query`, case-insensitive). Every request is
//! counted ([`StorageFaults::request_count`]), faulted ones included.
//!
//! The proxy runs on its own thread with its own tokio runtime, so it serves blocking tests
//! (a child process of the tool) and async tests alike. Under the emulator
//! ([`attach`]), the admin API exposes the faults at `/_emulator/storage-faults` and the
//! counters at `/_emulator/storage-requests`.
//!
//! Two things Azurite 3.35 lacks are served by the proxy itself, for accounts whose key it knows
//! ([`StorageFaults::add_account`]; [`attach`] adds the emulator's):
//! - **Put Blob From URL** and **Put Block From URL** ([`from_url`]): the proxy reads the source
//!   (`x-ms-copy-source`, with `x-ms-copy-source-authorization: Bearer` or the source URL's SAS,
//!   under the `x-ms-source-if-*` conditions), checks `x-ms-source-content-md5` /
//!   `x-ms-source-content-crc64`, and writes to Azurite with Put Block (+ Put Block List);
//! - **Entra ID bearer tokens** (`Authorization: Bearer`): a token the emulator issued
//!   ([`StorageFaults::set_token_check`]) is accepted and the request re-signed with the account
//!   key. An account marked Entra-only ([`StorageFaults::set_entra_only`], "shared key access
//!   disabled") refuses Shared Key and SAS with 403 `KeyBasedAuthenticationNotPermitted`.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use axum::body::{Body, Bytes};
use axum::extract::connect_info::{ConnectInfo, Connected};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use futures::{Stream, StreamExt, TryStreamExt};
use azure_sharedkey::SharedKey;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// What a storage fault does to a matching request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StorageFaultKind {
    /// Flips one byte (XOR 0xFF) of the response body at `offset` (counted from the first byte
    /// of this response's body, so relative to the range of a ranged GET). Status and headers,
    /// `Content-Length` and `Content-MD5` included, are left as Azurite sent them.
    CorruptResponse { offset: u64 },
    /// Flips one byte (XOR 0xFF) of the request body at `offset` before forwarding it.
    CorruptRequest { offset: u64 },
    /// Sends Azurite's status and headers and the first `after_bytes` bytes of the body, then
    /// closes the connection (the client sees fewer bytes than `Content-Length`).
    TruncateResponse { after_bytes: u64 },
    /// Answers `status` (503, 429, 500, …) without forwarding, with the storage XML error body,
    /// `x-ms-error-code` (`code`, default `ServerBusy`, `InternalError` for 500) and
    /// `Retry-After: retry_after_secs` when given.
    Status {
        status: u16,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_secs: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
    },
    /// Closes the connection without any response (nothing is forwarded).
    DropConnection {},
    /// Delays the request by `delay_ms` before it is forwarded (applies along with another fault).
    Slow { delay_ms: u64 },
}

/// A storage fault plus the requests it applies to.
///
/// JSON: `{"kind":"corrupt_response","offset":0,"method":"GET","path_contains":"model.bin","count":1}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFault {
    #[serde(flatten)]
    pub kind: StorageFaultKind,
    /// Only this HTTP method (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Only requests whose decoded path plus `?query` contains this (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_contains: Option<String>,
    /// Applies to the next `count` matching requests, then is removed; every one while absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// Lets the first `after` matching requests pass untouched (each consumes one), then applies:
    /// `{"kind":"slow","delay_ms":500,"after":1,"count":1}` holds only the second matching request
    /// (e.g. the second ranged GET of a file, while a test rewrites the file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
}

impl StorageFault {
    pub fn new(kind: StorageFaultKind) -> StorageFault {
        StorageFault { kind, method: None, path_contains: None, count: None, after: None }
    }
    pub fn corrupt_response(offset: u64) -> StorageFault {
        StorageFault::new(StorageFaultKind::CorruptResponse { offset })
    }
    pub fn corrupt_request(offset: u64) -> StorageFault {
        StorageFault::new(StorageFaultKind::CorruptRequest { offset })
    }
    pub fn truncate_response(after_bytes: u64) -> StorageFault {
        StorageFault::new(StorageFaultKind::TruncateResponse { after_bytes })
    }
    /// `status` with `Retry-After: retry_after_secs` and the `ServerBusy` (500: `InternalError`) body.
    pub fn status(status: u16, retry_after_secs: u64) -> StorageFault {
        StorageFault::new(StorageFaultKind::Status { status, retry_after_secs: Some(retry_after_secs), code: None })
    }
    pub fn drop_connection() -> StorageFault {
        StorageFault::new(StorageFaultKind::DropConnection {})
    }
    pub fn slow(delay_ms: u64) -> StorageFault {
        StorageFault::new(StorageFaultKind::Slow { delay_ms })
    }
    /// Restricts the fault to `method` requests whose target contains `path_contains`.
    pub fn on(mut self, method: impl Into<String>, path_contains: impl Into<String>) -> StorageFault {
        self.method = Some(method.into());
        self.path_contains = Some(path_contains.into());
        self
    }
    /// Limits the fault to the next `count` matching requests.
    pub fn times(mut self, count: u32) -> StorageFault {
        self.count = Some(count);
        self
    }
    /// Lets the first `n` matching requests pass untouched before the fault applies.
    pub fn after(mut self, n: u32) -> StorageFault {
        self.after = Some(n);
        self
    }

    fn matches(&self, method: &str, target_lower: &str) -> bool {
        if let Some(m) = &self.method {
            if !m.eq_ignore_ascii_case(method) {
                return false;
            }
        }
        match &self.path_contains {
            Some(p) => target_lower.contains(&p.to_ascii_lowercase()),
            None => true,
        }
    }
}

/// The failing action decided for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageAction {
    CorruptResponse { offset: u64 },
    CorruptRequest { offset: u64 },
    TruncateResponse { after_bytes: u64 },
    Status { status: u16, retry_after_secs: Option<u64>, code: Option<String> },
    Drop,
}

/// One request the proxy received. `status` is 0 for a dropped connection, 502 when Azurite
/// could not be reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StorageRequestRecord {
    pub method: String,
    /// Decoded path, e.g. `/amlprimarysa/azureml-blobstore-…/LocalUpload/x/model.bin`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    pub status: u16,
    /// The fault applied (`corrupt_response`, `status`, …), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
}

impl StorageRequestRecord {
    fn target_lower(&self) -> String {
        target(&self.path, self.query.as_deref()).to_ascii_lowercase()
    }
}

fn target(path: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    }
}

mod from_url;

/// Decides whether a bearer token is one the emulator issued (and still valid).
pub type TokenCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Default)]
struct Inner {
    /// Account keys the proxy signs with (bearer requests, From URL writes).
    keys: BTreeMap<String, SharedKey>,
    /// Accounts that accept only bearer tokens (shared key access disabled).
    entra_only: std::collections::BTreeSet<String>,
    token_check: Option<TokenCheck>,
    faults: Vec<StorageFault>,
    log: Vec<StorageRequestRecord>,
    /// (method, lower-case target) of every request as it arrives, before any delay or forwarding.
    arrivals: Vec<(String, String)>,
}

/// Shared handle on the faults and counters of a storage proxy.
#[derive(Clone, Default)]
pub struct StorageFaults {
    inner: Arc<Mutex<Inner>>,
}

impl StorageFaults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Lets the proxy act for `account` (base64 `key`): re-sign bearer requests, serve From URL.
    pub fn add_account(&self, account: &str, key: &str) -> anyhow::Result<()> {
        let k = SharedKey::new(account, key).map_err(|_| anyhow::anyhow!("the key of storage account {account} is not base64"))?;
        self.lock().keys.insert(account.to_string(), k);
        Ok(())
    }

    /// Marks `account` Entra-only (shared key access disabled): Shared Key and SAS requests are
    /// refused with 403 `KeyBasedAuthenticationNotPermitted`; bearer tokens keep working.
    pub fn set_entra_only(&self, account: &str, on: bool) {
        let mut inner = self.lock();
        if on {
            inner.entra_only.insert(account.to_string());
        } else {
            inner.entra_only.remove(account);
        }
    }

    /// How bearer tokens are checked (without one, every bearer token is refused).
    pub fn set_token_check(&self, check: TokenCheck) {
        self.lock().token_check = Some(check);
    }

    fn key(&self, account: &str) -> Option<SharedKey> {
        self.lock().keys.get(account).cloned()
    }

    fn is_entra_only(&self, account: &str) -> bool {
        self.lock().entra_only.contains(account)
    }

    fn token_ok(&self, token: &str) -> bool {
        let check = self.lock().token_check.clone();
        check.is_some_and(|c| c(token))
    }
    pub fn set(&self, fault: StorageFault) {
        self.lock().faults.push(fault);
    }
    pub fn clear(&self) {
        self.lock().faults.clear();
    }
    pub fn list(&self) -> Vec<StorageFault> {
        self.lock().faults.clone()
    }

    /// Decides the fate of one request: a delay to apply first and at most one failing action
    /// (the first matching fault that is not `slow`). Consumes one unit of each applied counted fault.
    pub fn decide(&self, method: &str, target: &str) -> (u64, Option<StorageAction>) {
        let target_lower = target.to_ascii_lowercase();
        let mut inner = self.lock();
        inner.arrivals.push((method.to_string(), target_lower.clone()));
        let mut delay = 0;
        let mut action = None;
        let mut applied = Vec::new();
        for (i, f) in inner.faults.iter_mut().enumerate() {
            if !f.matches(method, &target_lower) {
                continue;
            }
            if let Some(n) = &mut f.after {
                if *n > 0 {
                    *n -= 1;
                    continue;
                }
            }
            let a = match &f.kind {
                StorageFaultKind::Slow { delay_ms } => {
                    delay = delay.max(*delay_ms);
                    applied.push(i);
                    continue;
                }
                _ if action.is_some() => continue,
                StorageFaultKind::CorruptResponse { offset } => StorageAction::CorruptResponse { offset: *offset },
                StorageFaultKind::CorruptRequest { offset } => StorageAction::CorruptRequest { offset: *offset },
                StorageFaultKind::TruncateResponse { after_bytes } => StorageAction::TruncateResponse { after_bytes: *after_bytes },
                StorageFaultKind::Status { status, retry_after_secs, code } => {
                    StorageAction::Status { status: *status, retry_after_secs: *retry_after_secs, code: code.clone() }
                }
                StorageFaultKind::DropConnection {} => StorageAction::Drop,
            };
            action = Some(a);
            applied.push(i);
        }
        for i in applied.into_iter().rev() {
            if let Some(c) = &mut inner.faults[i].count {
                *c = c.saturating_sub(1);
                if *c == 0 {
                    inner.faults.remove(i);
                }
            }
        }
        (delay, action)
    }

    pub fn record(&self, rec: StorageRequestRecord) {
        self.lock().log.push(rec);
    }

    /// Requests received with `method` (case-insensitive) whose decoded path plus `?query`
    /// contains `path_substring` (case-insensitive), faulted ones included.
    pub fn request_count(&self, method: &str, path_substring: &str) -> usize {
        let needle = path_substring.to_ascii_lowercase();
        self.lock()
            .log
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.target_lower().contains(&needle))
            .count()
    }

    /// Requests that have arrived with `method` whose decoded path plus `?query` contains
    /// `path_substring` (both case-insensitive), counted on arrival: before a `slow` delay and
    /// before anything is forwarded (unlike [`StorageFaults::request_count`], which counts once
    /// the answer is known).
    pub fn arrivals(&self, method: &str, path_substring: &str) -> usize {
        let needle = path_substring.to_ascii_lowercase();
        self.lock().arrivals.iter().filter(|(m, t)| m.eq_ignore_ascii_case(method) && t.contains(&needle)).count()
    }

    /// Requests per `"METHOD /path"` (query left out).
    pub fn counters(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for r in &self.lock().log {
            *out.entry(format!("{} {}", r.method, r.path)).or_insert(0) += 1;
        }
        out
    }

    pub fn log(&self) -> Vec<StorageRequestRecord> {
        self.lock().log.clone()
    }

    pub fn reset_counters(&self) {
        let mut inner = self.lock();
        inner.log.clear();
        inner.arrivals.clear();
    }
}

// ---------------------------------------------------------------------------------------------
// The emulator's admin API finds the proxy of an emulator here (`App` has no slot for it).

static ATTACHED: Mutex<Vec<(String, Weak<Mutex<Inner>>)>> = Mutex::new(Vec::new());

/// Makes `faults` reachable through the admin API of the emulator `app`
/// (`/_emulator/storage-faults`, `/_emulator/storage-requests`), gives the proxy the keys of
/// the emulator's storage accounts and accepts the bearer tokens the emulator issues.
pub fn attach(app: &Arc<crate::server::App>, faults: &StorageFaults) {
    for a in &app.config.storage_accounts {
        if let Err(e) = faults.add_account(&a.name, &a.key) {
            tracing::warn!("storage proxy: {e}");
        }
    }
    let weak = Arc::downgrade(app);
    faults.set_token_check(Arc::new(move |token: &str| {
        weak.upgrade().is_some_and(|app| app.auth.check(Some(&format!("Bearer {token}"))).is_ok())
    }));
    let mut reg = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    reg.retain(|(url, w)| w.strong_count() > 0 && *url != app.base_url);
    reg.push((app.base_url.clone(), Arc::downgrade(&faults.inner)));
}

/// The storage faults attached to the emulator `app`, while its proxy runs.
pub fn attached(app: &crate::server::App) -> Option<StorageFaults> {
    let reg = ATTACHED.lock().unwrap_or_else(|e| e.into_inner());
    reg.iter()
        .find(|(url, _)| *url == app.base_url)
        .and_then(|(_, w)| w.upgrade())
        .map(|inner| StorageFaults { inner })
}

// ---------------------------------------------------------------------------------------------
// Listener whose connections a handler can kill (to close without any response).

struct ProxyListener {
    inner: TcpListener,
}

/// Per-connection handle given to the handler through `ConnectInfo`.
#[derive(Clone, Debug)]
struct Conn {
    kill: Arc<AtomicBool>,
}

impl Conn {
    fn kill(&self) {
        self.kill.store(true, Ordering::SeqCst);
    }
}

struct KillableIo {
    inner: TcpStream,
    kill: Arc<AtomicBool>,
}

fn killed_err() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "storage proxy fault: connection closed")
}

impl AsyncRead for KillableIo {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(killed_err()));
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Listener for ProxyListener {
    type Io = KillableIo;
    type Addr = Conn;

    async fn accept(&mut self) -> (KillableIo, Conn) {
        loop {
            match self.inner.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (KillableIo { inner: stream, kill: kill.clone() }, Conn { kill });
                }
                Err(e) => {
                    tracing::debug!("storage proxy accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        Ok(Conn { kill: Arc::new(AtomicBool::new(false)) })
    }
}

impl Connected<IncomingStream<'_, ProxyListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, ProxyListener>) -> Conn {
        stream.remote_addr().clone()
    }
}

// ---------------------------------------------------------------------------------------------

/// A running proxy. Dropping it stops the server and its thread.
pub struct StorageProxy {
    addr: SocketAddr,
    endpoint: String,
    upstream: String,
    faults: StorageFaults,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for StorageProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageProxy").field("endpoint", &self.endpoint).field("upstream", &self.upstream).finish_non_exhaustive()
    }
}

struct ProxyState {
    upstream: String,
    client: reqwest::Client,
    faults: StorageFaults,
    /// `127.0.0.1:PORT` of the proxy itself (a copy source there is read from Azurite directly).
    authority: String,
}

impl StorageProxy {
    /// Starts the proxy on a free 127.0.0.1 port in front of `upstream`
    /// (Azurite's blob endpoint, e.g. `http://127.0.0.1:10000`). Callable from sync or async code.
    pub fn start(upstream: &str) -> anyhow::Result<StorageProxy> {
        let upstream = upstream.trim_end_matches('/').to_string();
        url::Url::parse(&upstream).with_context(|| format!("storage proxy upstream {upstream:?}"))?;
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding the storage proxy port")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let faults = StorageFaults::default();
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .http1_only()
            .build()
            .context("building the storage proxy's HTTP client")?;
        let authority = format!("127.0.0.1:{}", addr.port());
        let state = Arc::new(ProxyState { upstream: upstream.clone(), client, faults: faults.clone(), authority });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let thread = std::thread::Builder::new().name("aml-storage-proxy".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("aml-storage-proxy").enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let router = axum::Router::new().fallback(handle).with_state(state);
                let server = axum::serve(ProxyListener { inner: listener }, router.into_make_service_with_connect_info::<Conn>());
                let task = tokio::spawn(async move {
                    if let Err(e) = server.await {
                        tracing::error!("storage proxy stopped: {e}");
                    }
                });
                let _ = ready_tx.send(Ok(()));
                let _ = stop_rx.await;
                task.abort();
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })?;
        ready_rx.recv().map_err(|_| anyhow::anyhow!("storage proxy thread ended before it was ready"))??;
        let endpoint = format!("http://127.0.0.1:{}", addr.port());
        tracing::info!("storage proxy on {endpoint} -> {upstream}");
        Ok(StorageProxy { addr, endpoint, upstream, faults, stop: Some(stop_tx), thread: Some(thread) })
    }

    /// `http://127.0.0.1:PORT` (path style, like Azurite: `<endpoint>/<account>/<container>/<blob>`).
    pub fn blob_endpoint(&self) -> &str {
        &self.endpoint
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The Azurite endpoint behind the proxy.
    pub fn upstream(&self) -> &str {
        &self.upstream
    }
    /// Shared handle on faults and counters (what [`attach`] gives the admin API).
    pub fn faults(&self) -> &StorageFaults {
        &self.faults
    }
    pub fn set_fault(&self, fault: StorageFault) {
        self.faults.set(fault)
    }
    pub fn clear_faults(&self) {
        self.faults.clear()
    }
    /// Requests received with `method` whose decoded path plus `?query` contains `path_substring`
    /// (both case-insensitive), faulted ones included.
    pub fn request_count(&self, method: &str, path_substring: &str) -> usize {
        self.faults.request_count(method, path_substring)
    }
    pub fn requests(&self) -> Vec<StorageRequestRecord> {
        self.faults.log()
    }
    /// Requests that have arrived (counted before any delay or forwarding): [`StorageFaults::arrivals`].
    pub fn arrivals(&self, method: &str, path_substring: &str) -> usize {
        self.faults.arrivals(method, path_substring)
    }
    pub fn reset_counters(&self) {
        self.faults.reset_counters()
    }
}

impl Drop for StorageProxy {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Hop-by-hop headers (RFC 9110 §7.6.1) are not forwarded; neither is `Expect` (hyper's
/// server already answered `100 Continue` to the client).
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "proxy-authenticate" | "proxy-authorization" | "te" | "trailer" | "transfer-encoding" | "upgrade" | "expect"
    )
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (k, v) in from {
        if !hop_by_hop(k) {
            to.append(k.clone(), v.clone());
        }
    }
}

fn fault_name(a: &StorageAction) -> &'static str {
    match a {
        StorageAction::CorruptResponse { .. } => "corrupt_response",
        StorageAction::CorruptRequest { .. } => "corrupt_request",
        StorageAction::TruncateResponse { .. } => "truncate_response",
        StorageAction::Status { .. } => "status",
        StorageAction::Drop => "drop_connection",
    }
}

/// Flips the byte at `offset` of a byte stream.
fn corrupt_stream<S, E>(s: S, offset: u64) -> impl Stream<Item = Result<Bytes, E>>
where
    S: Stream<Item = Result<Bytes, E>>,
{
    let mut pos = 0u64;
    s.map_ok(move |b| {
        let start = pos;
        pos += b.len() as u64;
        if offset >= start && offset < pos {
            let mut m = b.to_vec();
            m[(offset - start) as usize] ^= 0xFF;
            Bytes::from(m)
        } else {
            b
        }
    })
}

/// Passes the first `after` bytes, then (after letting them flush) fails and kills the connection.
fn truncate_stream<S>(s: S, after: u64, conn: Conn) -> impl Stream<Item = io::Result<Bytes>>
where
    S: Stream<Item = io::Result<Bytes>> + Send + Unpin + 'static,
{
    futures::stream::unfold((s, 0u64, false), move |(mut s, sent, done)| {
        let conn = conn.clone();
        async move {
            if done {
                return None;
            }
            if sent >= after {
                tokio::time::sleep(Duration::from_millis(50)).await;
                conn.kill();
                return Some((Err(io::Error::new(io::ErrorKind::ConnectionAborted, "storage proxy fault: truncate_response")), (s, sent, true)));
            }
            match s.next().await {
                None => None,
                Some(Err(e)) => Some((Err(e), (s, sent, true))),
                Some(Ok(b)) => {
                    let left = after - sent;
                    let b = if (b.len() as u64) > left { b.slice(..left as usize) } else { b };
                    let n = b.len() as u64;
                    Some((Ok(b), (s, sent + n, false)))
                }
            }
        }
    })
}

pub(crate) fn error_response(status: u16, code: &str, message: &str, retry_after_secs: Option<u64>) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\nRequestId:{request_id}\nTime:{now}</Message></Error>"
    );
    let mut b = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE))
        .header("content-type", "application/xml")
        .header("x-ms-error-code", code)
        .header("x-ms-request-id", request_id)
        .header("x-ms-version", crate::blob::X_MS_VERSION);
    if let Some(s) = retry_after_secs {
        b = b.header("retry-after", s.to_string());
    }
    b.body(Body::from(body)).expect("static response")
}

fn status_message(code: &str) -> &'static str {
    match code {
        "ServerBusy" => "The server is busy.",
        "InternalError" => "The server encountered an internal error. Please retry the request.",
        "OperationTimedOut" => "The operation could not be completed within the permitted time.",
        _ => "The storage proxy injected this error.",
    }
}

async fn handle(State(st): State<Arc<ProxyState>>, ConnectInfo(conn): ConnectInfo<Conn>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let raw_path = parts.uri.path().to_string();
    let path = percent_encoding::percent_decode_str(&raw_path).decode_utf8_lossy().into_owned();
    let query = parts.uri.query().map(str::to_string);
    let (delay, action) = st.faults.decide(method.as_str(), &target(&path, query.as_deref()));
    let record = |status: u16| StorageRequestRecord {
        method: method.to_string(),
        path: path.clone(),
        query: query.clone(),
        status,
        fault: action.as_ref().map(|a| fault_name(a).to_string()),
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    match &action {
        Some(StorageAction::Drop) => {
            st.faults.record(record(0));
            conn.kill();
            tracing::debug!(%method, %path, "storage proxy: drop_connection");
            return Response::new(Body::empty());
        }
        Some(StorageAction::Status { status, retry_after_secs, code }) => {
            st.faults.record(record(*status));
            let code = code.clone().unwrap_or_else(|| if *status == 500 { "InternalError".into() } else { "ServerBusy".into() });
            return error_response(*status, &code, status_message(&code), *retry_after_secs);
        }
        _ => {}
    }

    // Who is asking: bearer tokens are checked here and re-signed with the account key;
    // an Entra-only account refuses keys and SAS.
    let account = path.trim_start_matches('/').split('/').next().unwrap_or("");
    let account = account.strip_suffix("-secondary").unwrap_or(account).to_string();
    let auth = from_url::ClientAuth::of(&parts.headers, query.as_deref());
    let mut resign: Option<SharedKey> = None;
    match &auth {
        from_url::ClientAuth::Bearer(token) => {
            if let Some(key) = st.faults.key(&account) {
                if !st.faults.token_ok(token) {
                    st.faults.record(record(401));
                    return error_response(401, "InvalidAuthenticationInfo", "Server failed to authenticate the request. The bearer token is not valid.", None);
                }
                resign = Some(key);
            }
        }
        from_url::ClientAuth::SharedKey(_) | from_url::ClientAuth::Sas if st.faults.is_entra_only(&account) => {
            st.faults.record(record(403));
            return error_response(403, "KeyBasedAuthenticationNotPermitted", "Key based authentication is not permitted on this storage account.", None);
        }
        _ => {}
    }
    if from_url::is_from_url(&parts.method, &parts.headers, query.as_deref()) {
        let resp = from_url::serve(&st, &parts, &account, auth, resign).await;
        st.faults.record(record(resp.status().as_u16()));
        return resp;
    }

    // Forward.
    let path_and_query = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let url = format!("{}{path_and_query}", st.upstream);
    let mut headers = HeaderMap::new();
    copy_headers(&parts.headers, &mut headers);
    if let Some(key) = &resign {
        from_url::sign(key, &parts.method, &url, &mut headers);
    }
    let has_body = parts.headers.contains_key("content-length") || parts.headers.contains_key("transfer-encoding");
    let mut rb = st.client.request(parts.method.clone(), &url).headers(headers);
    if has_body {
        let stream = body.into_data_stream();
        rb = match &action {
            Some(StorageAction::CorruptRequest { offset }) => rb.body(reqwest::Body::wrap_stream(corrupt_stream(stream, *offset))),
            _ => rb.body(reqwest::Body::wrap_stream(stream)),
        };
    }
    let upstream = match rb.send().await {
        Ok(r) => r,
        Err(e) => {
            st.faults.record(record(502));
            tracing::warn!(%method, %path, "storage proxy: upstream failed: {e}");
            return error_response(502, "ProxyUpstreamError", &format!("The storage proxy could not reach {}: {e}", st.upstream), None);
        }
    };
    let status = upstream.status();
    st.faults.record(record(status.as_u16()));
    let mut out_headers = HeaderMap::new();
    copy_headers(upstream.headers(), &mut out_headers);
    let stream = upstream.bytes_stream().map_err(io::Error::other);
    let body = match action {
        Some(StorageAction::CorruptResponse { offset }) => Body::from_stream(corrupt_stream(stream, offset)),
        Some(StorageAction::TruncateResponse { after_bytes }) => Body::from_stream(truncate_stream(Box::pin(stream), after_bytes, conn)),
        _ => Body::from_stream(stream),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = out_headers;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_fault_expires_and_slow_combines() {
        let f = StorageFaults::default();
        f.set(StorageFault::slow(5).on("GET", "model.bin").times(1));
        f.set(StorageFault::status(503, 1).on("GET", "MODEL.bin").times(1));
        assert_eq!(f.decide("PUT", "/a/c/model.bin"), (0, None));
        assert_eq!(
            f.decide("GET", "/a/c/model.bin"),
            (5, Some(StorageAction::Status { status: 503, retry_after_secs: Some(1), code: None }))
        );
        assert_eq!(f.decide("GET", "/a/c/model.bin"), (0, None));
        assert!(f.list().is_empty());
    }

    #[test]
    fn first_matching_action_wins_and_only_it_is_consumed() {
        let f = StorageFaults::default();
        f.set(StorageFault::corrupt_response(3).on("GET", "x").times(1));
        f.set(StorageFault::drop_connection().on("GET", "x").times(1));
        assert_eq!(f.decide("GET", "/x").1, Some(StorageAction::CorruptResponse { offset: 3 }));
        assert_eq!(f.decide("GET", "/x").1, Some(StorageAction::Drop));
        assert_eq!(f.decide("GET", "/x").1, None);
    }

    #[test]
    fn after_lets_the_first_matches_pass_and_arrivals_count_at_once() {
        let f = StorageFaults::default();
        f.set(StorageFault::slow(500).on("GET", "big.bin").after(1).times(1));
        assert_eq!(f.decide("GET", "/a/c/big.bin"), (0, None));
        assert_eq!(f.decide("GET", "/a/c/other.bin"), (0, None));
        assert_eq!(f.decide("GET", "/a/c/big.bin"), (500, None));
        assert_eq!(f.decide("GET", "/a/c/big.bin"), (0, None));
        assert!(f.list().is_empty());
        assert_eq!(f.arrivals("get", "BIG.bin"), 3);
        assert_eq!(f.request_count("GET", "big.bin"), 0, "nothing was answered yet");
        let j: StorageFault = serde_json::from_str(r#"{"kind":"slow","delay_ms":500,"after":1,"count":1}"#).unwrap();
        assert_eq!(j, StorageFault::slow(500).after(1).times(1));
    }

    #[test]
    fn json_shapes() {
        let f: StorageFault = serde_json::from_str(r#"{"kind":"corrupt_response","offset":7,"method":"GET","path_contains":"model.bin","count":1}"#).unwrap();
        assert_eq!(f, StorageFault::corrupt_response(7).on("GET", "model.bin").times(1));
        let d: StorageFault = serde_json::from_str(r#"{"kind":"drop_connection"}"#).unwrap();
        assert_eq!(d, StorageFault::drop_connection());
        let s: StorageFault = serde_json::from_str(r#"{"kind":"status","status":503,"retry_after_secs":2}"#).unwrap();
        assert_eq!(s, StorageFault::status(503, 2));
        assert_eq!(serde_json::to_value(StorageFault::truncate_response(10).times(2)).unwrap(), serde_json::json!({"kind":"truncate_response","after_bytes":10,"count":2}));
    }

    #[tokio::test]
    async fn corrupt_and_truncate_streams() {
        let chunks = vec![Ok::<_, io::Error>(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"def"))];
        let out: Vec<Bytes> = corrupt_stream(futures::stream::iter(chunks), 4).try_collect().await.unwrap();
        let mut expected = b"abcdef".to_vec();
        expected[4] ^= 0xFF;
        assert_eq!(out.concat(), expected);
        let chunks = vec![Ok::<_, io::Error>(Bytes::from_static(b"abc")), Ok(Bytes::from_static(b"def"))];
        let conn = Conn { kill: Arc::new(AtomicBool::new(false)) };
        let items: Vec<io::Result<Bytes>> = truncate_stream(futures::stream::iter(chunks), 4, conn.clone()).collect().await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].as_ref().unwrap().as_ref(), b"d");
        assert!(items[2].is_err());
        assert!(conn.kill.load(Ordering::SeqCst));
    }
}
