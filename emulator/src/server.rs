//! The HTTP(S) server: start/stop, request pipeline (auth, api-version, faults, counting), dispatch.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use crate::arm::{self, empty_response, json_response, ArmError, PROVIDER};
use crate::auth::{Auth, Principal};
use crate::blob::BlobService;
use crate::config::EmulatorConfig;
use crate::faults::{Action, Fault, Faults, RequestRecord};
use crate::resources::{assets, children, datastores, jobs, regions, workspaces, Ctx, Reply};
use crate::routes::{self, NoRoute, Route};
use crate::store::Store;

/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Shared state of a running emulator.
pub struct App {
    pub config: EmulatorConfig,
    pub store: Store,
    pub faults: Faults,
    pub auth: Auth,
    pub blob: Option<BlobService>,
    pub base_url: String,
}

/// A started emulator. Dropping it stops the server (and removes a temporary data folder).
pub struct RunningEmulator {
    app: Arc<App>,
    addr: SocketAddr,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<tokio::task::JoinHandle<()>>,
    ca_pem_path: Option<PathBuf>,
    data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl RunningEmulator {
    /// `https://127.0.0.1:PORT` (or `http://` without TLS).
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// PEM of the CA that signed the server certificate (None when serving plain HTTP).
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.ca_pem_path.as_deref()
    }
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }
    pub fn static_token(&self) -> &str {
        self.app.auth.static_token()
    }
    pub fn config(&self) -> &EmulatorConfig {
        &self.app.config
    }
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }
    /// Run-time fault injection and request counters.
    pub fn faults(&self) -> &Faults {
        &self.app.faults
    }
    pub fn set_fault(&self, fault: Fault) {
        self.app.faults.set(fault)
    }
    pub fn clear_faults(&self) {
        self.app.faults.clear()
    }
    /// Requests served with `method` whose path contains `path_substring` (case-insensitive).
    pub fn request_count(&self, method: &str, path_substring: &str) -> usize {
        self.app.faults.request_count(method, path_substring)
    }
    /// Requests served per spec operationId, e.g. `ModelVersions_CreateOrUpdate`.
    pub fn operation_count(&self, operation: &str) -> usize {
        self.app.faults.operation_count(operation)
    }
    /// Stops accepting connections and waits (up to 5 s) for in-flight requests.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(Duration::from_secs(5)));
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts an emulator on 127.0.0.1 (must run inside a tokio runtime).
pub async fn start(config: EmulatorConfig) -> anyhow::Result<RunningEmulator> {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let (data_dir, temp) = match &config.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            (d.clone(), None)
        }
        None => {
            let t = tempfile::Builder::new().prefix("aml-emulator-").tempdir()?;
            (t.path().to_path_buf(), Some(t))
        }
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    let scheme = if config.tls { "https" } else { "http" };
    let base_url = format!("{scheme}://127.0.0.1:{}", addr.port());

    let store = Store::open(Some(&data_dir))?;
    let auth = Auth::new(config.static_token.clone(), config.service_principals.clone(), base_url.clone());
    let blob = config.blob_endpoint.as_deref().map(BlobService::new);
    let app = Arc::new(App { config: config.clone(), store, faults: Faults::default(), auth, blob, base_url: base_url.clone() });

    // Workspaces from the configuration.
    let principal = Principal { name: "aml-emulator".into(), kind: "Application" };
    for w in &config.workspaces {
        let ws = arm::WorkspaceRef { subscription_id: w.subscription_id.clone(), resource_group: w.resource_group.clone(), name: w.name.clone() };
        if app.store.read(|s| s.workspace(&ws.key()).is_some()) {
            continue;
        }
        let body = json!({
            "location": w.location,
            "properties": {"storageAccount": format!("/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Storage/storageAccounts/{}", w.subscription_id, w.resource_group, w.storage_account)},
        });
        workspaces::create_or_update(&app, &ws, body.to_string().as_bytes(), &principal)
            .await
            .map_err(|e| anyhow::anyhow!("creating workspace {}: {} {}", w.name, e.code, e.message))?;
    }

    // Every configured storage account is a resource of the Storage RP (those no workspace uses
    // land in the first workspace's group and region).
    let homes: Vec<(String, String, String, String)> = app.store.read(|s| {
        s.workspaces.iter().map(|w| (w.subscription_id.clone(), w.resource_group.clone(), w.storage_account.clone(), w.location.clone())).collect()
    });
    for (sub, rg, account, location) in &homes {
        crate::resources::storage_rp::ensure(&app, sub, rg, account, location);
    }
    if let Some(first) = config.workspaces.first() {
        for a in &config.storage_accounts {
            crate::resources::storage_rp::ensure(&app, &first.subscription_id, &first.resource_group, &a.name, &first.location);
        }
    }

    let handle = axum_server::Handle::new();
    let router = axum::Router::new().fallback(handle_request).with_state(app.clone());
    let mut ca_pem_path = None;
    let task = if config.tls {
        let tls = crate::tls::generate()?;
        let ca_path = data_dir.join("emulator-ca.pem");
        std::fs::write(&ca_path, &tls.ca_pem)?;
        ca_pem_path = Some(ca_path);
        let chain = format!("{}{}", tls.server_cert_pem, tls.ca_pem);
        let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem(chain.into_bytes(), tls.server_key_pem.into_bytes()).await?;
        let server = axum_server::from_tcp_rustls(listener, rustls_config)?.handle(handle.clone());
        tokio::spawn(async move {
            if let Err(e) = server.serve(router.into_make_service()).await {
                tracing::error!("emulator server stopped: {e}");
            }
        })
    } else {
        let server = axum_server::from_tcp(listener)?.handle(handle.clone());
        tokio::spawn(async move {
            if let Err(e) = server.serve(router.into_make_service()).await {
                tracing::error!("emulator server stopped: {e}");
            }
        })
    };
    tracing::info!("aml-emulator listening on {base_url}");
    Ok(RunningEmulator { app, addr, handle, task: Some(task), ca_pem_path, data_dir, _temp: temp })
}

fn header<'a>(req_headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    req_headers.get(name).and_then(|v| v.to_str().ok())
}

/// Outcome of the pipeline before headers are added.
enum Outcome {
    Respond(Response),
    Drop,
}

async fn handle_request(State(app): State<Arc<App>>, req: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let (parts, body) = req.into_parts();
    let correlation = header(&parts.headers, "x-ms-correlation-request-id")
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    let path = parts.uri.path().to_string();
    let method = parts.method.clone();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => Bytes::new(),
    };
    let (outcome, operation) = pipeline(&app, &parts, &body).await;
    let mut resp = match outcome {
        Outcome::Respond(r) => r,
        Outcome::Drop => dropped_response(),
    };
    let status = if resp.extensions().get::<Dropped>().is_some() { 0 } else { resp.status().as_u16() };
    if !path.starts_with("/_emulator") {
        app.faults.record(RequestRecord { method: method.to_string(), path: path.clone(), operation, status });
    }
    tracing::debug!(%method, %path, status, "request");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        h.insert("x-ms-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation) {
        h.insert("x-ms-correlation-request-id", v);
    }
    resp
}

#[derive(Clone)]
struct Dropped;

/// Headers, then the connection is aborted before any body byte.
fn dropped_response() -> Response {
    let stream = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Err::<Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "fault injection: drop_connection"))
    });
    let mut r = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", arm::JSON_CT)
        .body(Body::from_stream(stream))
        .expect("static response");
    r.extensions_mut().insert(Dropped);
    r
}

fn query_map(q: Option<&str>) -> HashMap<String, String> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes()).into_owned().collect()
}

async fn pipeline(app: &App, parts: &axum::http::request::Parts, body: &Bytes) -> (Outcome, String) {
    let path = parts.uri.path();
    let method = &parts.method;
    if path == "/_emulator" || path.starts_with("/_emulator/") {
        return (Outcome::Respond(crate::admin::handle(app, parts, body)), "Admin".into());
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if segs.len() == 4 && segs[1..] == ["oauth2", "v2.0", "token"] {
        return (Outcome::Respond(token_endpoint(app, method, segs[0], body)), "Token".into());
    }
    if segs.len() == 4 && segs[1..] == ["v2.0", ".well-known", "openid-configuration"] {
        return (Outcome::Respond(openid_configuration(app, method, segs[0])), "OpenIdConfiguration".into());
    }
    let mut operation = "Unknown".to_string();
    let result = arm_request(app, parts, body, &mut operation).await;
    let outcome = match result {
        Ok(o) => o,
        Err(e) => Outcome::Respond(e.into_response()),
    };
    (outcome, operation)
}

fn openid_configuration(app: &App, method: &Method, tenant: &str) -> Response {
    if method != Method::GET {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "invalid_request", "error_description": "The endpoint only accepts GET requests."}));
    }
    match app.auth.openid_configuration(tenant) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(e) => json_response(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), &e.body),
    }
}

fn token_endpoint(app: &App, method: &Method, tenant: &str, body: &Bytes) -> Response {
    if method != Method::POST {
        return json_response(StatusCode::METHOD_NOT_ALLOWED, &json!({"error": "invalid_request", "error_description": "AADSTS900561: The endpoint only accepts POST requests."}));
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    match app.auth.token(tenant, &form) {
        Ok(v) => {
            let mut r = json_response(StatusCode::OK, &v);
            r.headers_mut().insert("cache-control", HeaderValue::from_static("no-store, no-cache"));
            r
        }
        Err(e) => json_response(StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST), &e.body),
    }
}

async fn arm_request(app: &App, parts: &axum::http::request::Parts, body: &Bytes, operation: &mut String) -> Result<Outcome, ArmError> {
    let principal = app.auth.check(header(&parts.headers, "authorization"))?;
    let query = query_map(parts.uri.query());
    let Some(api_version) = query.get("api-version").cloned() else {
        return Err(ArmError::bad_request("MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests."));
    };
    let route = routes::parse(parts.uri.path()).map_err(|e| match e {
        NoRoute::UnknownType(t) => ArmError::new(404, "InvalidResourceType", format!(
            "The resource type '{t}' could not be found in the namespace '{}' for api version '{api_version}'.",
            routes::namespace_of(parts.uri.path()))),
        NoRoute::NotFound => ArmError::new(404, "NotFound", format!("The requested path '{}' is not served by this emulator.", parts.uri.path())),
    })?;
    let method = parts.method.as_str();
    let Some(op) = route.operation_id(method) else {
        return Err(ArmError::new(405, "MethodNotAllowed", format!("The HTTP method '{method}' is not supported for the resource type '{}'.", route.type_path())));
    };
    *operation = op.clone();
    let region = route
        .workspace()
        .and_then(|ws| app.store.read(|s| s.workspace(&ws.key()).map(|w| w.location.clone())))
        .or_else(|| route.location().map(str::to_ascii_lowercase));
    if !route.api_version_accepted(&api_version) {
        let loc = region.clone().or_else(|| {
            serde_json::from_slice::<Value>(body).ok().and_then(|b| b.get("location").and_then(Value::as_str).map(str::to_string))
        });
        return Err(ArmError::bad_request("NoRegisteredProviderFound", format!(
            "No registered resource provider found for location '{}' and API version '{api_version}' for type '{}'. The supported api-versions are '{}'. The supported locations are 'eastus, eastus2, westus, westus2, westus3, centralus, northeurope, westeurope, uksouth, swedencentral, southeastasia, japaneast, australiaeast'.",
            loc.unwrap_or_else(|| "global".into()), route.type_path(), route.accepted_api_versions().join(", "))));
    }

    let (delay, action) = app.faults.decide(method, parts.uri.path(), region.as_deref());
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    match action {
        Some(Action::Throttle { status, retry_after_secs }) => {
            let (code, msg) = if status == 429 {
                ("TooManyRequests", "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00. For more information, see - https://aka.ms/armthrottling")
            } else {
                ("ServiceUnavailable", "The service is currently unavailable. Please retry the request after the time specified in the Retry-After header.")
            };
            return Err(ArmError::new(status, code, msg).with_header("retry-after", retry_after_secs.to_string()));
        }
        Some(Action::RegionDown) => {
            return Err(ArmError::new(504, "GatewayTimeout", format!("The gateway did not receive a response from '{PROVIDER}' within the specified time period.")));
        }
        Some(Action::Drop) => return Ok(Outcome::Drop),
        None => {}
    }

    let host = header(&parts.headers, "host").map(str::to_string);
    let base_url = match host {
        Some(h) => format!("{}://{h}", if app.config.tls { "https" } else { "http" }),
        None => app.base_url.clone(),
    };
    // nextLink repeats the request's query (filters, ordering, count, $top), as ARM lists do,
    // with a new $skipToken.
    let mut list_base = format!("{base_url}{}?api-version={api_version}", parts.uri.path());
    for (k, v) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        if k == "api-version" || k.eq_ignore_ascii_case("$skipToken") {
            continue;
        }
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        list_base.push_str(&format!("&{}={}", enc(&k).replace("%24", "$"), enc(&v)));
    }
    let ctx = Ctx { principal: principal.clone(), list_base, query, base_url, page_size: app.config.page_size };
    let reply: Reply = match &route {
        Route::Child { .. } => children::dispatch(app, &ctx, &route, method, body)?,
        Route::Regional { subscription_id, location, what, id } => regions::dispatch(app, &ctx, subscription_id, location, what, id.as_deref(), body)?,
        _ => dispatch(app, &ctx, &route, method, body).await?.into(),
    };
    let mut resp = if reply.body.is_null() { empty_response(reply.status) } else { json_response(reply.status, &reply.body) };
    for (k, v) in reply.headers {
        if let Ok(v) = HeaderValue::from_str(&v) {
            resp.headers_mut().insert(k, v);
        }
    }
    Ok(Outcome::Respond(resp))
}

async fn dispatch(app: &App, ctx: &Ctx, route: &Route, method: &str, body: &[u8]) -> Result<(StatusCode, Value), ArmError> {
    let p = &ctx.principal;
    match (route, method) {
        (Route::WorkspacesBySubscription { subscription_id }, _) => workspaces::list(app, ctx, subscription_id, None),
        (Route::WorkspacesByResourceGroup { subscription_id, resource_group }, _) => {
            workspaces::list(app, ctx, subscription_id, Some(resource_group))
        }
        (Route::Workspace { ws }, "GET") => workspaces::get(app, ws),
        (Route::Workspace { ws }, "PUT") => workspaces::create_or_update(app, ws, body, p).await,
        (Route::Workspace { ws }, "PATCH") => workspaces::update(app, ws, body, p),
        (Route::Workspace { ws }, _) => workspaces::delete(app, ws),
        (Route::Datastores { ws }, _) => datastores::list(app, ctx, ws),
        (Route::Datastore { ws, name }, "GET") => datastores::get(app, ws, name),
        (Route::Datastore { ws, name }, "PUT") => datastores::create_or_update(app, ws, name, body, p),
        (Route::Datastore { ws, name }, _) => datastores::delete(app, ws, name),
        (Route::DatastoreListSecrets { ws, name }, _) => datastores::list_secrets(app, ws, name),
        (Route::Containers { ws, kind }, _) => assets::list_containers(app, ctx, ws, *kind),
        (Route::Container { ws, kind, name }, "GET") => assets::get_container(app, ws, *kind, name),
        (Route::Container { ws, kind, name }, "PUT") => assets::put_container(app, ws, *kind, name, body, p),
        (Route::Container { ws, kind, name }, _) => assets::delete_container(app, ws, *kind, name),
        (Route::Versions { ws, kind, name }, _) => assets::list_versions(app, ctx, ws, *kind, name),
        (Route::Version { ws, kind, name, version }, "GET") => assets::get_version(app, ws, *kind, name, version),
        (Route::Version { ws, kind, name, version }, "PUT") => assets::put_version(app, ws, *kind, name, version, body, p),
        (Route::Version { ws, kind, name, version }, _) => assets::delete_version(app, ws, *kind, name, version),
        (Route::StartPendingUpload { ws, .. }, _) => assets::start_pending_upload(app, ws, body),
        (Route::Jobs { ws }, _) => jobs::list(app, ctx, ws),
        (Route::Job { ws, id }, "GET") => jobs::get(app, ws, id),
        (Route::Job { ws, id }, "PUT") => jobs::create_or_update(app, ws, id, body, p, "NotStarted"),
        (Route::Job { ws, id }, _) => jobs::delete(app, ws, id),
        (Route::JobCancel { ws, id }, _) => jobs::cancel(app, ws, id),
        (Route::Storage(r), _) => crate::resources::storage_rp::dispatch(app, ctx, r),
        (Route::Registry(r), _) => crate::resources::acr::dispatch(app, ctx, r),
        (Route::Child { .. } | Route::Regional { .. }, _) => Err(ArmError::internal("served by arm_request")),
    }
}

/// For resources::Ctx users outside a request (seeding).
pub fn internal_ctx(app: &App) -> Ctx {
    Ctx {
        principal: Principal { name: "aml-emulator".into(), kind: "Application" },
        list_base: app.base_url.clone(),
        query: HashMap::new(),
        base_url: app.base_url.clone(),
        page_size: usize::MAX / 4,
    }
}
