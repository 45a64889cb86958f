//! A local Azure Files (FileREST) service: Azure has no public Files emulator (Azurite has
//! none), so the test bed brings its own.
//!
//! [`FilesServer::start`] listens on a free loopback port (plain HTTP, path-style URLs like
//! Azurite: `http://127.0.0.1:PORT/<account>/<share>/<dir>/<file>`) for several storage
//! accounts, and serves the subset of file.json (2027-03-07) listed in [`ops::OPERATIONS`]:
//! List Shares, Create/Get Properties/Delete Share, Create Snapshot, Create/Get Properties/
//! Delete/List Directory, Create/Put Range/Get/Get Properties/Set HTTP Headers/Delete File.
//! Requests are authorized with Shared Key or SAS (account SAS, File service SAS) against the
//! account keys ([`auth`]). State lives in a data folder ([`store`]); file contents are files on
//! disk, streamed both ways.
//!
//! Like the storage proxy, the server runs on its own thread with its own tokio runtime, so
//! blocking tests and async code can both use it.

pub mod auth;
mod http_api;
pub mod ops;
pub mod store;
pub mod xml;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::http::StatusCode;

pub use store::FileStore;

/// The spec version the emulator follows; answered as `x-ms-version` when a request names none.
pub const SPEC_VERSION: &str = "2027-03-07";

/// Default largest page of List Shares / List Directories and Files (Azure's limit).
pub const DEFAULT_PAGE_SIZE: usize = 5000;

/// The file share of the notebooks tree in current workspaces (same fixed name everywhere).
pub const CODE_SHARE: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

/// The file share older workspaces used: `azureml-filestore-<workspaceId>`.
pub fn filestore_share(workspace_id: &str) -> String {
    format!("azureml-filestore-{workspace_id}")
}

/// A FileREST error: status, `x-ms-error-code`, message (and an authentication detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilesError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl std::fmt::Display for FilesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FilesError {}

impl FilesError {
    pub fn new(status: StatusCode, code: &'static str, message: &str) -> FilesError {
        FilesError { status, code, message: message.to_string(), detail: None }
    }
    pub fn bad_request(code: &'static str, message: &str) -> FilesError {
        FilesError::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn forbidden(code: &'static str, message: &str, detail: Option<String>) -> FilesError {
        FilesError { status: StatusCode::FORBIDDEN, code, message: message.to_string(), detail }
    }
    pub fn not_found(code: &'static str, message: &str) -> FilesError {
        FilesError::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn conflict(code: &'static str, message: &str) -> FilesError {
        FilesError::new(StatusCode::CONFLICT, code, message)
    }
    pub fn internal(message: String) -> FilesError {
        FilesError { status: StatusCode::INTERNAL_SERVER_ERROR, code: "InternalError", message, detail: None }
    }
    pub fn share_not_found() -> FilesError {
        FilesError::not_found("ShareNotFound", "The specified share does not exist.")
    }
    pub fn snapshot_not_found() -> FilesError {
        FilesError::not_found("ShareSnapshotNotFound", "The specified share snapshot does not exist.")
    }
    pub fn resource_not_found() -> FilesError {
        FilesError::not_found("ResourceNotFound", "The specified resource does not exist.")
    }
    pub fn auth_unknown_account() -> FilesError {
        FilesError::forbidden("AuthenticationFailed", "Server failed to authenticate the request.", Some("Unknown storage account.".into()))
    }
    pub fn invalid_header(name: &str, why: &str) -> FilesError {
        FilesError { status: StatusCode::BAD_REQUEST, code: "InvalidHeaderValue", message: "The value for one of the HTTP headers is not in the correct format.".into(), detail: Some(format!("{name}: {why}")) }
    }
}

/// How to start a [`FilesServer`].
#[derive(Debug, Clone, Default)]
pub struct FilesOptions {
    /// Storage accounts as (name, base64 key).
    pub accounts: Vec<(String, String)>,
    /// Where state and file contents live; a temporary folder (removed on drop) when `None`.
    pub data_dir: Option<PathBuf>,
    /// Largest page of the lists (`maxresults` can ask for less); [`DEFAULT_PAGE_SIZE`] when `None`.
    pub page_size: Option<usize>,
}

/// A running Azure Files emulator. Dropping it stops the server and its thread.
pub struct FilesServer {
    addr: SocketAddr,
    endpoint: String,
    store: Arc<FileStore>,
    counters: Arc<std::sync::Mutex<BTreeMap<String, usize>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _tmp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for FilesServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FilesServer").field("endpoint", &self.endpoint).field("data", &self.store.root()).finish_non_exhaustive()
    }
}

impl FilesServer {
    /// Starts the service on a free 127.0.0.1 port. Callable from sync or async code.
    pub fn start(opts: FilesOptions) -> anyhow::Result<FilesServer> {
        let (tmp, dir) = match &opts.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::Builder::new().prefix("aml-files-").tempdir()?;
                let p = t.path().to_path_buf();
                (Some(t), p)
            }
        };
        let mut keys = BTreeMap::new();
        for (name, key) in &opts.accounts {
            keys.insert(name.clone(), azure_sharedkey::SharedKey::new(name.clone(), key).with_context(|| format!("key of storage account {name}"))?);
        }
        let names: Vec<String> = keys.keys().cloned().collect();
        let store = Arc::new(FileStore::open(&dir, &names).with_context(|| format!("opening the Files data folder {}", dir.display()))?);
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0)).context("binding the Files port")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let endpoint = format!("http://127.0.0.1:{}", addr.port());
        let counters = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
        let svc = Arc::new(http_api::Service { store: store.clone(), counters: counters.clone(), keys, page_size: opts.page_size.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, DEFAULT_PAGE_SIZE), endpoint: endpoint.clone() });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<()>>();
        let thread = std::thread::Builder::new().name("aml-files".into()).spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("aml-files").enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(std_listener) {
                    Ok(l) => l,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.into()));
                        return;
                    }
                };
                let router = axum::Router::new().fallback(http_api::handle).with_state(svc);
                let task = tokio::spawn(async move {
                    if let Err(e) = axum::serve(listener, router).await {
                        tracing::error!("Files service stopped: {e}");
                    }
                });
                let _ = ready_tx.send(Ok(()));
                let _ = stop_rx.await;
                task.abort();
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })?;
        ready_rx.recv().map_err(|_| anyhow::anyhow!("Files service thread ended before it was ready"))??;
        tracing::info!("Azure Files emulator on {endpoint} (data {})", dir.display());
        Ok(FilesServer { addr, endpoint, store, counters, stop: Some(stop_tx), thread: Some(thread), _tmp: tmp })
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
    /// `http://127.0.0.1:PORT/{account}`
    pub fn endpoint_template(&self) -> String {
        format!("{}/{{account}}", self.endpoint)
    }
    /// `http://127.0.0.1:PORT/<account>` (the SDK's `FileEndpoint` / account URL).
    pub fn account_url(&self, account: &str) -> String {
        format!("{}/{account}", self.endpoint)
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// The state, for direct assertions and seeding.
    pub fn store(&self) -> &Arc<FileStore> {
        &self.store
    }
    pub fn data_dir(&self) -> &Path {
        self.store.root()
    }
    /// Requests received per file.json operationId (refused ones included), plus
    /// `File_UploadRange+Content-MD5` for ranges sent with a Content-MD5.
    pub fn operation_counts(&self) -> BTreeMap<String, usize> {
        self.counters.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn operation_count(&self, operation_id: &str) -> usize {
        self.operation_counts().get(operation_id).copied().unwrap_or(0)
    }
    /// Creates a share (`ShareAlreadyExists` when it exists).
    pub fn create_share(&self, account: &str, share: &str) -> anyhow::Result<()> {
        self.store.create_share(account, share, None, BTreeMap::new()).map(|_| ()).map_err(|e| anyhow::anyhow!("creating share {account}/{share}: {e}"))
    }
    /// Copies the local `folder` into `share` (created when missing): subfolders become
    /// directories, files are streamed from disk. Returns the number of files.
    pub fn seed_share(&self, account: &str, share: &str, folder: &Path) -> anyhow::Result<usize> {
        self.store.seed_share(account, share, folder)
    }
}

impl Drop for FilesServer {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
