//! Conformance of a running emulator (HTTPS, its own CA) with the Azure ML
//! 2025-12-01 spec: every response body of the covered operations must
//! validate against the spec's schema for its status (`support::spec` rules),
//! every page of a paged list is validated and `nextLink` is followed to the
//! end (page size 2), Microsoft's examples are replayed and the responses
//! compared with the examples' shape, and deliberately corrupted emulator
//! responses must be rejected.
//!
//! Each test collects every violation and fails at the end with the full
//! list (operation, method + URL, status, JSON pointer of each violation).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use aml_emulator::testbed::{TestBed, TestBedOptions};
use serde_json::{json, Map, Value};
use support::shape::{shape_diff, shape_diff_with, SHAPE_EXCEPTIONS};
use support::spec::{spec, truncate, API_VERSION};

// ---------------------------------------------------------------- client

struct Resp {
    status: u16,
    body: Option<Value>,
    raw: String,
    headers: reqwest::header::HeaderMap,
}

impl Resp {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
}

struct Emu {
    tb: TestBed,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: String,
    /// failures collected over the test
    failures: Vec<String>,
    /// operationIds whose responses were validated, with the statuses seen
    covered: BTreeMap<String, BTreeSet<u16>>,
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Emu {
    fn start() -> Emu {
        let tb = TestBed::start(TestBedOptions { page_size: Some(2), ..Default::default() })
            .expect("start the emulator test bed");
        let pem = std::fs::read(tb.ca_pem_path()).expect("read the emulator CA");
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("CA pem"))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let base = tb.arm_url().to_string().trim_end_matches('/').to_string();
        let token = tb.token().to_string();
        Emu { tb, rt, http, base, token, failures: Vec::new(), covered: BTreeMap::new() }
    }

    fn ws(&self) -> (String, String, String, String) {
        let p = self.tb.primary();
        (p.subscription_id.clone(), p.resource_group.clone(), p.name.clone(), p.location.clone())
    }

    /// Raw request; `url` is absolute or a path (+query) under the ARM base.
    fn raw(&self, method: &str, url: &str, body: Option<&Value>, auth: bool) -> Resp {
        let url = if url.starts_with("https://") || url.starts_with("http://") {
            url.to_string()
        } else {
            format!("{}{url}", self.base)
        };
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, &url);
        if auth {
            req = req.bearer_auth(&self.token);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let (status, headers, text) = self.rt.block_on(async {
            let r = req.send().await.unwrap_or_else(|e| panic!("{method} {url}: {e:#}"));
            let st = r.status().as_u16();
            let h = r.headers().clone();
            (st, h, r.text().await.unwrap_or_default())
        });
        let body = if text.trim().is_empty() { None } else { serde_json::from_str(&text).ok() };
        Resp { status, body, raw: text, headers }
    }

    /// URL for an operation: the spec's path template filled from `params`
    /// (path parameters), then `query` (api-version is added unless given).
    fn url(&self, op_id: &str, params: &Map<String, Value>, query: &[(&str, String)]) -> String {
        let op = spec().operation(op_id).unwrap_or_else(|| panic!("{op_id} not in spec"));
        let mut path = op.path.clone();
        for p in op.path_params() {
            let v = params.get(&p.name).unwrap_or_else(|| panic!("{op_id}: no value for path parameter {}", p.name));
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            path = path.replace(&format!("{{{}}}", p.name), &enc(&v));
        }
        let mut q: Vec<String> = query.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        if !query.iter().any(|(k, _)| *k == "api-version") {
            q.insert(0, format!("api-version={API_VERSION}"));
        }
        if q.is_empty() { path } else { format!("{path}?{}", q.join("&")) }
    }

    /// Validate a response of `op_id` against the spec; failures are collected.
    fn check(&mut self, op_id: &str, what: &str, r: &Resp) -> bool {
        self.covered.entry(op_id.to_string()).or_default().insert(r.status);
        let res = if r.body.is_none() && !r.raw.trim().is_empty() {
            Err(vec![format!("{op_id} {}: body is not JSON: {}", r.status, truncate(&r.raw, 200))])
        } else {
            spec().validate_response_opt(op_id, r.status, r.body.as_ref())
        };
        match res {
            Ok(()) => true,
            Err(errs) => {
                self.failures.push(format!("{what}\n    {}", errs.join("\n    ")));
                false
            }
        }
    }

    /// PUT; on 409 (the spec's examples reuse names such as `string` for
    /// resources whose content is immutable, e.g. jobs and component
    /// versions) DELETE the resource, wait for it to be gone, and PUT again.
    fn put_replacing(&mut self, url: &str, body: Option<&Value>) -> Resp {
        let r = self.raw("PUT", url, body, true);
        if r.status != 409 {
            return r;
        }
        self.raw("DELETE", url, None, true);
        for _ in 0..50 {
            if self.raw("GET", url, None, true).status == 404 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.raw("PUT", url, body, true)
    }

    fn fail(&mut self, msg: String) {
        self.failures.push(msg);
    }

    /// Call an operation, validate the response, and check the status is one of `expect`.
    fn call(&mut self, op_id: &str, params: &Map<String, Value>, query: &[(&str, String)], body: Option<&Value>, expect: &[u16]) -> Resp {
        let method = spec().operation(op_id).unwrap().method.clone();
        let url = self.url(op_id, params, query);
        let r = self.raw(&method, &url, body, true);
        let what = format!("{op_id}: {method} {url} → {}", r.status);
        self.check(op_id, &what, &r);
        if !expect.is_empty() && !expect.contains(&r.status) {
            self.fail(format!("{what}: expected status {expect:?}; body {}", truncate(&r.raw, 300)));
        }
        r
    }

    /// A paged list: validate every page, follow nextLink to the end; returns all items and the page count.
    fn list_all(&mut self, op_id: &str, params: &Map<String, Value>, query: &[(&str, String)]) -> (Vec<Value>, usize) {
        let mut r = self.call(op_id, params, query, None, &[200]);
        let mut items = Vec::new();
        let mut pages = 1;
        let mut seen_links = BTreeSet::new();
        loop {
            let Some(body) = r.body.clone() else { break };
            items.extend(body["value"].as_array().cloned().unwrap_or_default());
            let Some(next) = body.get("nextLink").and_then(Value::as_str).map(str::to_string) else { break };
            if !seen_links.insert(next.clone()) || pages > 200 {
                self.fail(format!("{op_id}: nextLink loops or never ends ({next})"));
                break;
            }
            if !next.starts_with(&self.base) {
                self.fail(format!("{op_id}: nextLink {next} is not an absolute URL under the ARM endpoint {}", self.base));
                break;
            }
            r = self.raw("GET", &next, None, true);
            pages += 1;
            let what = format!("{op_id} (page {pages}): GET {next} → {}", r.status);
            self.check(op_id, &what, &r);
            if r.status != 200 {
                self.fail(format!("{what}: expected 200 for a nextLink page"));
                break;
            }
        }
        (items, pages)
    }

    fn finish(self, test: &str) {
        let Emu { failures, covered, .. } = self;
        eprintln!("{test}: validated responses of {} operations:", covered.len());
        for (op, st) in &covered {
            eprintln!("  {op} {st:?}");
        }
        assert!(
            failures.is_empty(),
            "{test}: {} conformance failure(s):\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn examples_dir() -> PathBuf {
    spec().dir.join("azureml").join(API_VERSION).join("examples")
}

fn example(rel: &str) -> Value {
    let p = examples_dir().join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// The example's createOrUpdate request body.
fn example_request(rel: &str) -> Value {
    example(rel)["parameters"]["body"].clone()
}

/// The storage account (name) of the primary workspace, from Workspaces_Get.
fn storage_account_of(ws: &Value) -> String {
    ws["properties"]["storageAccount"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string()
}

// ---------------------------------------------------------------- operations

const ASSETS: &[(&str, &str)] = &[
    ("Model", "ModelVersion"),
    ("Environment", "EnvironmentVersion"),
    ("Component", "ComponentVersion"),
    ("Code", "CodeVersion"),
    ("Data", "DataVersionBase"),
];

#[test]
fn live_operations_conform_to_the_spec() {
    let _ = spec();
    let mut e = Emu::start();
    let (sub, rg, wsn, location) = e.ws();
    let wsp = obj(json!({ "subscriptionId": sub, "resourceGroupName": rg, "workspaceName": wsn }));

    // --- workspaces
    let w = e.call("Workspaces_Get", &wsp, &[], None, &[200]);
    let ws_body = w.body.clone().unwrap_or(Value::Null);
    let storage_id = ws_body["properties"]["storageAccount"].as_str().unwrap_or_default().to_string();
    let account = storage_account_of(&ws_body);
    // more workspaces so that both workspace lists cross pages (page size 2)
    for i in 0..3 {
        let mut p = wsp.clone();
        p.insert("workspaceName".into(), json!(format!("conf-ws-{i}")));
        let body = json!({ "location": location, "properties": { "storageAccount": storage_id, "description": "conformance" } });
        e.call("Workspaces_CreateOrUpdate", &p, &[], Some(&body), &[200, 201, 202]);
    }
    let (items, pages) = e.list_all("Workspaces_ListByResourceGroup", &wsp, &[]);
    if items.len() < 4 || pages < 2 {
        e.fail(format!("Workspaces_ListByResourceGroup: {} items over {pages} pages, expected ≥ 4 items over ≥ 2 pages", items.len()));
    }
    let (items, pages) = e.list_all("Workspaces_ListBySubscription", &wsp, &[]);
    if items.len() < 4 || pages < 2 {
        e.fail(format!("Workspaces_ListBySubscription: {} items over {pages} pages", items.len()));
    }

    // --- datastores
    let mut blob = example_request("Datastore/AzureBlobWAccountKey/createOrUpdate.json");
    blob["properties"]["accountName"] = json!(account);
    blob["properties"]["containerName"] = json!("conformance");
    let mut file = example_request("Datastore/AzureFileWAccountKey/createOrUpdate.json");
    file["properties"]["accountName"] = json!(account);
    file["properties"]["fileShareName"] = json!("conformance");
    let adls = example_request("Datastore/AzureDataLakeGen2WServicePrincipal/createOrUpdate.json");
    for (name, body) in [("confblob", &blob), ("conffile", &file), ("confadls", &adls)] {
        let mut p = wsp.clone();
        p.insert("name".into(), json!(name));
        let r = e.call("Datastores_CreateOrUpdate", &p, &[], Some(body), &[200, 201]);
        if let Some(b) = &r.body {
            if b.pointer("/properties/credentials/secrets/key").is_some()
                || b.pointer("/properties/credentials/secrets/clientSecret").is_some()
            {
                e.fail(format!("Datastores_CreateOrUpdate {name}: response returns the secret (credentials.secrets is x-ms-secret, the spec's example response omits the key)"));
            }
        }
    }
    let (items, pages) = e.list_all("Datastores_List", &wsp, &[]);
    if items.len() < 3 || pages < 2 {
        e.fail(format!("Datastores_List: {} items over {pages} pages", items.len()));
    }
    let mut p = wsp.clone();
    p.insert("name".into(), json!("confblob"));
    let r = e.call("Datastores_Get", &p, &[], None, &[200]);
    if r.body.as_ref().and_then(|b| b.pointer("/properties/credentials/secrets/key")).is_some() {
        e.fail("Datastores_Get: returns credentials.secrets.key (x-ms-secret)".into());
    }
    let r = e.call("Datastores_ListSecrets", &p, &[], Some(&json!({})), &[200]);
    if r.body.as_ref().and_then(|b| b.get("key")).and_then(Value::as_str).is_none() {
        e.fail(format!("Datastores_ListSecrets: no account key in {}", truncate(&r.raw, 200)));
    }
    let mut d = wsp.clone();
    d.insert("name".into(), json!("confadls"));
    e.call("Datastores_Delete", &d, &[], None, &[200, 204]);
    e.call("Datastores_Get", &d, &[], None, &[404]);

    // --- assets: containers and versions
    for (family, example_dir) in ASSETS {
        let cname = format!("conf-{}", family.to_lowercase());
        let mut cp = wsp.clone();
        cp.insert("name".into(), json!(cname));
        let container_ex = format!("Workspace/{family}Container/createOrUpdate.json");
        let container_body = example_request(&container_ex);
        for i in 0..3 {
            let mut p = wsp.clone();
            p.insert("name".into(), json!(format!("{cname}-{i}")));
            e.call(&format!("{family}Containers_CreateOrUpdate"), &p, &[], Some(&container_body), &[200, 201]);
        }
        e.call(&format!("{family}Containers_CreateOrUpdate"), &cp, &[], Some(&container_body), &[200, 201]);
        let version_body = example_request(&format!("Workspace/{example_dir}/createOrUpdate.json"));
        for v in ["1", "2", "3"] {
            let mut p = cp.clone();
            p.insert("version".into(), json!(v));
            e.call(&format!("{family}Versions_CreateOrUpdate"), &p, &[], Some(&version_body), &[200, 201]);
        }
        let (items, pages) = e.list_all(&format!("{family}Containers_List"), &wsp, &[]);
        if items.len() < 4 || pages < 2 {
            e.fail(format!("{family}Containers_List: {} items over {pages} pages", items.len()));
        }
        let (items, pages) = e.list_all(&format!("{family}Versions_List"), &cp, &[]);
        if items.len() != 3 || pages < 2 {
            e.fail(format!("{family}Versions_List: {} items over {pages} pages, expected 3 over 2", items.len()));
        }
        e.call(&format!("{family}Containers_Get"), &cp, &[], None, &[200]);
        let mut vp = cp.clone();
        vp.insert("version".into(), json!("2"));
        e.call(&format!("{family}Versions_Get"), &vp, &[], None, &[200]);
        if *family == "Code" {
            let body = example_request("Workspace/CodeVersion/createOrGetStartPendingUpload.json");
            let mut up = cp.clone();
            up.insert("version".into(), json!("9"));
            let r = e.call("CodeVersions_CreateOrGetStartPendingUpload", &up, &[], Some(&body), &[200]);
            if r.body.as_ref().and_then(|b| b.pointer("/blobReferenceForConsumption/credential/sasUri")).is_none() {
                e.fail(format!("CodeVersions_CreateOrGetStartPendingUpload: no blobReferenceForConsumption.credential.sasUri in {}", truncate(&r.raw, 300)));
            }
        }
        e.call(&format!("{family}Versions_Delete"), &vp, &[], None, &[200, 204]);
        e.call(&format!("{family}Versions_Get"), &vp, &[], None, &[404]);
        let mut c0 = wsp.clone();
        c0.insert("name".into(), json!(format!("{cname}-0")));
        e.call(&format!("{family}Containers_Delete"), &c0, &[], None, &[200, 204]);
        e.call(&format!("{family}Containers_Get"), &c0, &[], None, &[404]);
    }

    // --- jobs
    let cmd = example_request("Job/CommandJob/createOrUpdate.json");
    let pipe = example_request("Job/PipelineJob/createOrUpdate.json");
    for (id, body) in [("conf-cmd-1", &cmd), ("conf-cmd-2", &cmd), ("conf-pipe-1", &pipe)] {
        let mut p = wsp.clone();
        p.insert("id".into(), json!(id));
        e.call("Jobs_CreateOrUpdate", &p, &[], Some(body), &[200, 201]);
    }
    let (items, pages) = e.list_all("Jobs_List", &wsp, &[]);
    if items.len() < 3 || pages < 2 {
        e.fail(format!("Jobs_List: {} items over {pages} pages", items.len()));
    }
    for id in ["conf-cmd-1", "conf-pipe-1"] {
        let mut p = wsp.clone();
        p.insert("id".into(), json!(id));
        e.call("Jobs_Get", &p, &[], None, &[200]);
    }

    // --- errors, validated against `default` (ErrorResponse)
    let mut p = wsp.clone();
    p.insert("name".into(), json!("does-not-exist"));
    p.insert("version".into(), json!("1"));
    let r = e.call("ModelVersions_Get", &p, &[], None, &[404]);
    check_error_body(&mut e, "ModelVersions_Get 404", &r);
    let r = e.call("ModelContainers_Get", &p, &[], None, &[404]);
    check_error_body(&mut e, "ModelContainers_Get 404", &r);
    let mut np = wsp.clone();
    np.insert("workspaceName".into(), json!("no-such-workspace"));
    let r = e.call("Workspaces_Get", &np, &[], None, &[404]);
    check_error_body(&mut e, "Workspaces_Get 404", &r);
    // 401: no bearer token
    let url = e.url("ModelContainers_List", &wsp, &[]);
    let r = e.raw("GET", &url, None, false);
    let what = format!("ModelContainers_List without token: GET {url} → {}", r.status);
    e.check("ModelContainers_List", &what, &r);
    if r.status != 401 {
        e.fail(format!("{what}: expected 401"));
    }
    check_error_body(&mut e, "401", &r);
    // 400: api-version missing
    let url = e.url("ModelContainers_List", &wsp, &[]).replace(&format!("api-version={API_VERSION}"), "");
    let r = e.raw("GET", &url, None, true);
    let what = format!("ModelContainers_List without api-version: GET {url} → {}", r.status);
    e.check("ModelContainers_List", &what, &r);
    if r.status != 400 {
        e.fail(format!("{what}: expected 400"));
    }
    check_error_body(&mut e, "400 missing api-version", &r);

    e.finish("live_operations_conform_to_the_spec");
}

/// ARM error bodies: beyond the (open) ErrorResponse schema, `error.code` and
/// `error.message` must be non-empty strings (ARM RPC; every client reads them).
fn check_error_body(e: &mut Emu, what: &str, r: &Resp) {
    let ok = r.body.as_ref().is_some_and(|b| {
        b.pointer("/error/code").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
            && b.pointer("/error/message").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
    });
    if !ok {
        e.fail(format!("{what}: error body lacks error.code / error.message: {}", truncate(&r.raw, 300)));
    }
}

// ---------------------------------------------------------------- example replay

/// Example files replayed, in order (creates first so gets and lists find data).
const REPLAY_SKIPPED: &[(&str, &str)] = &[
    ("publish.json", "publish (workspace → registry copy) is out of the emulator's scope"),
    ("Registry/", "registry-scope assets are out of the emulator's scope"),
    ("Workspace/create.json", "covered through the Workspaces_CreateOrUpdate calls that set the example workspaces up; its body names Key Vault, ACR, App Insights and a storage account the emulator does not host"),
    ("Workspace/listKeys.json", "Workspaces_ListKeys is not among the operations under test"),
];

/// Query parameters of list examples that are placeholders (filters, paging
/// tokens) and are not sent; only `api-version` is.
const DROPPED_LIST_QUERY: &[&str] = &["$skipToken", "$orderBy", "$top", "$tags", "tag", "tags", "jobType", "count", "isDefault",
    "names", "orderBy", "orderByAsc", "searchText", "description", "offset", "properties", "listViewType", "version"];

fn replay_files() -> Vec<String> {
    let mut files = Vec::new();
    let root = examples_dir();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for ent in std::fs::read_dir(&d).unwrap() {
            let p = ent.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let wanted = |f: &str| {
        ["Model", "Environment", "Component", "Code", "Data"].iter().any(|k| {
            f.starts_with(&format!("Workspace/{k}Container/")) || f.starts_with(&format!("Workspace/{k}Version"))
        }) || f.starts_with("Datastore/")
            || f.starts_with("WorkspaceConnection/")
            || f.starts_with("Job/")
            || f == "Workspace/get.json"
            || f.starts_with("Workspace/list")
    };
    let rank = |f: &str| {
        if f.ends_with("createOrUpdate.json") { 0 } else if f.ends_with("get.json") { 1 } else if f.contains("list") { 2 } else { 3 }
    };
    let mut files: Vec<String> = files.into_iter().filter(|f| wanted(f)).collect();
    files.sort_by_key(|f| (rank(f), f.clone()));
    files
}

/// The operation an example file belongs to (from the spec's x-ms-examples).
fn example_operation(rel: &str) -> Option<String> {
    let want = examples_dir().join(rel).canonicalize().ok()?;
    spec()
        .operations()
        .find(|op| op.examples.values().any(|p| p.canonicalize().ok().as_ref() == Some(&want)))
        .map(|op| op.operation_id.clone())
}

/// Create/GET target that makes a get/list example's data exist: (create op, get op).
fn seed_ops(op_id: &str) -> Option<(String, String)> {
    let (family, verb) = op_id.split_once('_')?;
    match verb {
        "Get" | "List" if family == "WorkspaceConnections" => Some((format!("{family}_Create"), format!("{family}_Get"))),
        "Get" | "List" if family != "Workspaces" => Some((format!("{family}_CreateOrUpdate"), format!("{family}_Get"))),
        _ => None,
    }
}

#[test]
fn live_example_replay() {
    let _ = spec();
    let mut e = Emu::start();
    let (sub, rg, wsn, location) = e.ws();
    let wsp = obj(json!({ "subscriptionId": sub, "resourceGroupName": rg, "workspaceName": wsn }));
    let primary = e.call("Workspaces_Get", &wsp, &[], None, &[200]).body.unwrap_or(Value::Null);
    let storage_id = primary["properties"]["storageAccount"].as_str().unwrap_or_default().to_string();
    let mut made_ws = BTreeSet::new();
    let mut replayed = Vec::new();
    let mut skipped = Vec::new();

    for rel in replay_files() {
        if let Some((_, why)) = REPLAY_SKIPPED.iter().find(|(p, _)| rel.contains(p)) {
            skipped.push(format!("{rel}: {why}"));
            continue;
        }
        let Some(op_id) = example_operation(&rel) else {
            e.fail(format!("{rel}: no operation in the spec references this example"));
            continue;
        };
        let ex = example(&rel);
        let params = ex["parameters"].as_object().cloned().unwrap_or_default();

        // the example's workspace (and, for workspace lists, its siblings) must exist
        // workspaces of Workspace examples are created from the example's
        // response (readOnly stripped, storage account replaced by one the
        // emulator hosts); the others get a minimal workspace
        let mut ensure_ws = |e: &mut Emu, s: &str, g: &str, n: &str, shown: Option<&Value>| {
            if made_ws.insert((s.to_string(), g.to_string(), n.to_string())) {
                let p = obj(json!({ "subscriptionId": s, "resourceGroupName": g, "workspaceName": n }));
                let mut body = match shown.map(|w| spec().request_body_from_response("Workspaces_CreateOrUpdate", w)) {
                    Some(Ok(b)) => b,
                    _ => json!({ "location": location, "properties": {} }),
                };
                body["properties"]["storageAccount"] = json!(storage_id);
                e.call("Workspaces_CreateOrUpdate", &p, &[], Some(&body), &[200, 201, 202]);
            }
        };
        let s = params.get("subscriptionId").and_then(Value::as_str).unwrap_or(&sub).to_string();
        if op_id.starts_with("Workspaces_List") {
            for (_, resp) in ex["responses"].as_object().unwrap() {
                for item in resp["body"]["value"].as_array().into_iter().flatten() {
                    let id = item["id"].as_str().unwrap_or_default();
                    let seg: Vec<&str> = id.split('/').collect();
                    if seg.len() >= 9 {
                        ensure_ws(&mut e, seg[2], seg[4], seg[8], Some(item));
                    }
                }
            }
        }
        if let Some(g) = params.get("resourceGroupName").and_then(Value::as_str) {
            if let Some(n) = params.get("workspaceName").and_then(Value::as_str) {
                let shown = (op_id == "Workspaces_Get").then(|| &ex["responses"]["200"]["body"]);
                ensure_ws(&mut e, &s, g, n, shown);
            }
        }

        // get/list examples: seed the resources the example shows, by PUTting
        // the example response without its readOnly properties
        let op = spec().operation(&op_id).unwrap().clone();
        if let Some((create, _)) = seed_ops(&op_id) {
            let resp200 = &ex["responses"]["200"]["body"];
            let items: Vec<Value> = if op_id.ends_with("_List") {
                resp200["value"].as_array().cloned().unwrap_or_default()
            } else {
                vec![resp200.clone()]
            };
            let cop = spec().operation(&create).unwrap().clone();
            for item in items {
                let body = match spec().request_body_from_response(&create, &item) {
                    Ok(b) => b,
                    Err(err) => {
                        e.fail(format!("{rel}: cannot derive a {create} body: {err:#}"));
                        continue;
                    }
                };
                let mut p = params.clone();
                // the item's own name is the last path parameter of the create
                let last = cop.path_params().last().unwrap().name.clone();
                if op_id.ends_with("_List") {
                    if let Some(n) = item["name"].as_str() {
                        p.insert(last.clone(), json!(n));
                    }
                }
                if cop.path_params().any(|pp| !p.contains_key(&pp.name)) {
                    e.fail(format!("{rel}: cannot seed {create}: missing path parameters"));
                    continue;
                }
                let url = e.url(&create, &p, &[]);
                let r = e.put_replacing(&url, Some(&body));
                let what = format!("{rel} (seed): {create}: PUT {url} → {}", r.status);
                e.check(&create, &what, &r);
                if !(200..300).contains(&r.status) {
                    e.fail(format!("{what}: seeding failed: {}", truncate(&r.raw, 300)));
                }
            }
        }

        // listSecrets needs a datastore with account-key secrets
        if op_id == "Datastores_ListSecrets" {
            let body = example_request("Datastore/AzureBlobWAccountKey/createOrUpdate.json");
            let url = e.url("Datastores_CreateOrUpdate", &params, &[]);
            let r = e.put_replacing(&url, Some(&body));
            let what = format!("{rel} (seed): Datastores_CreateOrUpdate: PUT {url} → {}", r.status);
            e.check("Datastores_CreateOrUpdate", &what, &r);
        }

        // send the example's request
        let is_list = op.method == "GET" && op_id.contains("List");
        let query: Vec<(&str, String)> = op
            .parameters
            .iter()
            .filter(|p| p.location == "query" && p.name != "api-version")
            .filter(|p| !(is_list && DROPPED_LIST_QUERY.contains(&p.name.as_str())))
            .filter_map(|p| params.get(&p.name).map(|v| (p.name.as_str(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))))
            .collect();
        let mut query = query;
        query.push(("api-version", params.get("api-version").and_then(Value::as_str).unwrap_or(API_VERSION).to_string()));
        let url = e.url(&op_id, &params, &query);
        let body = params.get("body");
        let body = body.or_else(|| op.parameters.iter().find(|p| p.location == "body").and_then(|p| params.get(&p.name)));
        let r = if is_list {
            // follow all pages and merge them, so the example's items are found wherever they land
            let (items, _) = e.list_all(&op_id, &params, &query.iter().filter(|(k, _)| *k != "api-version").cloned().collect::<Vec<_>>());
            Resp { status: 200, body: Some(json!({ "value": items })), raw: String::new(), headers: Default::default() }
        } else {
            let r = if op.method == "PUT" { e.put_replacing(&url, body) } else { e.raw(&op.method, &url, body, true) };
            let what = format!("{rel}: {op_id}: {} {url} → {}", op.method, r.status);
            e.check(&op_id, &what, &r);
            r
        };
        let declared: Vec<u16> = ex["responses"].as_object().unwrap().keys().filter_map(|k| k.parse().ok()).collect();
        if !declared.contains(&r.status) {
            e.fail(format!("{rel}: {op_id} answered {}, the example lists {declared:?}: {}", r.status, truncate(&r.raw, 300)));
            continue;
        }
        let expected = &ex["responses"][r.status.to_string()]["body"];
        if !expected.is_null() {
            let exc: Vec<&str> = SHAPE_EXCEPTIONS.iter().map(|(p, _)| *p).collect();
            let actual = r.body.clone().unwrap_or(Value::Null);
            let kinds = spec().data_keyed_paths(&op_id, &r.status.to_string(), expected);
            let diff = shape_diff_with(expected, &actual, &exc, &kinds);
            if !diff.is_empty() {
                e.fail(format!("{rel}: {op_id} {} differs from the example's shape:\n    {}", r.status, diff.join("\n    ")));
            }
        }
        replayed.push(format!("{rel} ({op_id})"));
    }
    eprintln!("replayed {} examples:\n  {}", replayed.len(), replayed.join("\n  "));
    eprintln!("skipped {}:\n  {}", skipped.len(), skipped.join("\n  "));
    assert!(replayed.len() >= 40, "only {} examples replayed", replayed.len());
    e.finish("live_example_replay");
}

// ---------------------------------------------------------------- the checks can fail

#[test]
fn live_wrong_shapes_are_rejected() {
    let s = spec();
    let mut e = Emu::start();
    let (sub, rg, wsn, _) = e.ws();
    let p = obj(json!({ "subscriptionId": sub, "resourceGroupName": rg, "workspaceName": wsn, "name": "corrupt-me", "version": "1" }));
    let body = example_request("Workspace/ModelVersion/createOrUpdate.json");
    e.call("ModelVersions_CreateOrUpdate", &p, &[], Some(&body), &[200, 201]);
    let r = e.call("ModelVersions_Get", &p, &[], None, &[200]);
    let good = r.body.expect("ModelVersions_Get body");
    support::mutate::assert_rejects_corruptions(s, "ModelVersions_Get", &good);
    // `value` as an object instead of an array, on a real list page
    let (_, _) = e.list_all("ModelVersions_List", &p, &[]);
    let url = e.url("ModelVersions_List", &p, &[]);
    let page = e.raw("GET", &url, None, true).body.expect("list page");
    let mut v = page.clone();
    v["value"] = json!({ "0": page["value"][0].clone() });
    assert!(s.validate_response("ModelVersions_List", 200, &v).is_err(), "value-as-object accepted");
    // status the spec does not declare for the operation
    assert!(s.validate_response("ModelVersions_Get", 201, &good).is_err());
    // example-shape comparison rejects a response missing a property
    let ex = example("Workspace/ModelVersion/get.json")["responses"]["200"]["body"].clone();
    let mut missing = good.clone();
    missing["properties"].as_object_mut().unwrap().remove("modelUri");
    assert!(!shape_diff(&ex, &missing, &[]).is_empty(), "shape diff accepted a missing property");
    e.finish("live_wrong_shapes_are_rejected");
}

// ---------------------------------------------------------------- the workspace's estate

/// A long-running PUT: 201 with `Azure-AsyncOperation` (new) or 200; follows the status URL
/// until `Succeeded` and returns the final GET of `get_op` (validated).
fn lro_put(e: &mut Emu, op: &str, get_op: &str, p: &Map<String, Value>, body: &Value) -> Value {
    let r = e.call(op, p, &[], Some(body), &[200, 201]);
    if r.status == 201 {
        let state = r.body.as_ref().and_then(|b| b.pointer("/properties/provisioningState")).cloned();
        if state != Some(json!("Creating")) {
            e.fail(format!("{op}: 201 with provisioningState {state:?}, expected \"Creating\""));
        }
        match r.header("azure-asyncoperation") {
            None => e.fail(format!("{op}: 201 without Azure-AsyncOperation")),
            Some(url) => {
                let mut last = String::new();
                for _ in 0..10 {
                    let s = e.raw("GET", &url, None, true);
                    last = s.body.as_ref().and_then(|b| b["status"].as_str()).unwrap_or("").to_string();
                    if s.status != 200 || !["InProgress", "Succeeded"].contains(&last.as_str()) {
                        e.fail(format!("{op}: operation status {url} → {} {}", s.status, truncate(&s.raw, 200)));
                        break;
                    }
                    if last == "Succeeded" {
                        break;
                    }
                }
                if last != "Succeeded" {
                    e.fail(format!("{op}: the operation never succeeded ({last})"));
                }
            }
        }
    }
    let g = e.call(get_op, p, &[], None, &[200]);
    let body = g.body.unwrap_or(Value::Null);
    if body.pointer("/properties/provisioningState") != Some(&json!("Succeeded")) {
        e.fail(format!("{get_op}: provisioningState {:?} after the operation, expected Succeeded", body.pointer("/properties/provisioningState")));
    }
    body
}

/// A long-running DELETE: 202 with `Location` that answers 202 then 200, after which Get is 404.
fn lro_delete(e: &mut Emu, op: &str, get_op: &str, p: &Map<String, Value>, query: &[(&str, String)]) {
    let r = e.call(op, p, query, None, &[202]);
    if let Some(loc) = r.header("location") {
        let mut done = false;
        for _ in 0..10 {
            let s = e.raw("GET", &loc, None, true);
            if s.status == 200 || s.status == 204 {
                done = true;
                break;
            }
            if s.status != 202 {
                e.fail(format!("{op}: Location {loc} → {}", s.status));
                break;
            }
        }
        if !done {
            e.fail(format!("{op}: Location never reported completion"));
        }
    } else if r.status == 202 {
        e.fail(format!("{op}: 202 without Location"));
    }
    e.call(get_op, p, &[], None, &[404]);
    e.call(op, p, query, None, &[204]);
}

fn with(p: &Map<String, Value>, kv: &[(&str, &str)]) -> Map<String, Value> {
    let mut p = p.clone();
    for (k, v) in kv {
        p.insert((*k).into(), json!(v));
    }
    p
}

#[test]
fn live_estate_conforms_to_the_spec() {
    let _ = spec();
    let mut e = Emu::start();
    let (sub, rg, wsn, location) = e.ws();
    let wsp = obj(json!({ "subscriptionId": sub, "resourceGroupName": rg, "workspaceName": wsn }));
    let ws_id = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.MachineLearningServices/workspaces/{wsn}");

    // --- datastores of every type and credential type
    let sp = json!({"credentialsType": "ServicePrincipal", "clientId": "00000000-0000-0000-0000-0000000000c1", "tenantId": "00000000-0000-0000-0000-0000000000aa",
        "authorityUrl": "https://login.microsoftonline.com", "resourceUrl": "https://datalake.azure.net/", "secrets": {"secretsType": "ServicePrincipal", "clientSecret": "sp-secret-value"}});
    let cert = json!({"credentialsType": "Certificate", "clientId": "00000000-0000-0000-0000-0000000000c1", "tenantId": "00000000-0000-0000-0000-0000000000aa", "thumbprint": "ABCDEF0123",
        "secrets": {"secretsType": "Certificate", "certificate": "cert-secret-value"}});
    let stores = [
        ("ds-blob-sas", json!({"datastoreType": "AzureBlob", "accountName": "amlprimarysa", "containerName": "c1", "credentials": {"credentialsType": "Sas", "secrets": {"secretsType": "Sas", "sasToken": "sv=2024&sig=sas-secret-value"}}}), Some(("sasToken", "sv=2024&sig=sas-secret-value"))),
        ("ds-blob-identity", json!({"datastoreType": "AzureBlob", "accountName": "amlprimarysa", "containerName": "c2", "credentials": {"credentialsType": "None"}, "serviceDataAccessAuthIdentity": "WorkspaceSystemAssignedIdentity"}), None),
        ("ds-file-key", json!({"datastoreType": "AzureFile", "accountName": "amlprimarysa", "fileShareName": "share1", "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": "account-key-secret"}}}), Some(("key", "account-key-secret"))),
        ("ds-adls2-cert", json!({"datastoreType": "AzureDataLakeGen2", "accountName": "amlprimarysa", "filesystem": "fs1", "credentials": cert}), Some(("certificate", "cert-secret-value"))),
        ("ds-adls1-sp", json!({"datastoreType": "AzureDataLakeGen1", "storeName": "store1", "credentials": sp}), Some(("clientSecret", "sp-secret-value"))),
        ("ds-onelake", json!({"datastoreType": "OneLake", "oneLakeWorkspaceName": "fabric-ws", "artifact": {"artifactType": "LakeHouse", "artifactName": "lake1"}, "credentials": {"credentialsType": "None"}}), None),
    ];
    for (name, props, secret) in &stores {
        let p = with(&wsp, &[("name", name)]);
        let r = e.call("Datastores_CreateOrUpdate", &p, &[], Some(&json!({"properties": props})), &[201]);
        if let Some((field, value)) = secret {
            if r.raw.contains(value) {
                e.fail(format!("Datastores_CreateOrUpdate {name}: the response shows the secret {field}"));
            }
            let g = e.call("Datastores_Get", &p, &[], None, &[200]);
            if g.raw.contains(value) {
                e.fail(format!("Datastores_Get {name}: shows the secret {field}"));
            }
            let s = e.call("Datastores_ListSecrets", &p, &[], None, &[200]);
            if s.body.as_ref().and_then(|b| b.get(*field)).and_then(Value::as_str) != Some(*value) {
                e.fail(format!("Datastores_ListSecrets {name}: {field} missing: {}", truncate(&s.raw, 200)));
            }
        } else {
            e.call("Datastores_Get", &p, &[], None, &[200]);
        }
    }
    let (items, _) = e.list_all("Datastores_List", &wsp, &[]);
    if items.len() != 4 + stores.len() {
        e.fail(format!("Datastores_List: {} datastores, expected {}", items.len(), 4 + stores.len()));
    }
    // refused: a credential type the datastore type does not take, an unknown credential type
    let bad = json!({"properties": {"datastoreType": "AzureDataLakeGen1", "storeName": "s", "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": "k"}}}});
    e.call("Datastores_CreateOrUpdate", &with(&wsp, &[("name", "ds-bad")]), &[], Some(&bad), &[400]);
    let bad = json!({"properties": {"datastoreType": "AzureBlob", "accountName": "a", "containerName": "c", "credentials": {"credentialsType": "Kerberos"}}});
    e.call("Datastores_CreateOrUpdate", &with(&wsp, &[("name", "ds-bad")]), &[], Some(&bad), &[400]);

    // --- connections
    let conns = [
        ("conn-git-pat", json!({"category": "Git", "target": "https://github.com/contoso/repo", "authType": "PAT", "credentials": {"pat": "pat-secret-value"}}), Some("pat-secret-value")),
        ("conn-acr-mi", json!({"category": "ContainerRegistry", "target": "contoso.azurecr.io", "authType": "ManagedIdentity", "credentials": {"resourceId": "/subscriptions/x/resourceGroups/y/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", "clientId": "11111111-0000-0000-0000-000000000000"}}), None),
        ("conn-sql-up", json!({"category": "AzureSqlDb", "target": "contoso.database.windows.net", "authType": "UsernamePassword", "credentials": {"username": "admin", "password": "password-secret-value"}}), Some("password-secret-value")),
        ("conn-aoai-key", json!({"category": "AzureOpenAI", "target": "https://contoso.openai.azure.com/", "authType": "ApiKey", "credentials": {"key": "api-secret-value"}, "metadata": {"ApiType": "Azure", "ApiVersion": "2024-02-01"}}), Some("api-secret-value")),
        ("conn-s3-access", json!({"category": "S3", "target": "s3://bucket", "authType": "AccessKey", "credentials": {"accessKeyId": "AKIA", "secretAccessKey": "s3-secret-value"}}), Some("s3-secret-value")),
        ("conn-blob-sp", json!({"category": "AzureBlob", "target": "https://amlprimarysa.blob.core.windows.net/c", "authType": "ServicePrincipal", "credentials": {"clientId": "c", "tenantId": "t", "clientSecret": "sp-conn-secret"}}), Some("sp-conn-secret")),
        ("conn-blob-sas", json!({"category": "AzureBlob", "target": "https://amlprimarysa.blob.core.windows.net/c", "authType": "SAS", "credentials": {"sas": "sig=conn-sas-secret"}}), Some("sig=conn-sas-secret")),
        ("conn-custom", json!({"category": "CustomKeys", "target": "_", "authType": "CustomKeys", "credentials": {"keys": {"k1": "custom-secret-value"}}}), Some("custom-secret-value")),
        ("conn-aad", json!({"category": "AzureBlob", "target": "https://amlprimarysa.blob.core.windows.net/c", "authType": "AAD"}), None),
    ];
    for (name, props, secret) in &conns {
        let p = with(&wsp, &[("connectionName", name)]);
        let r = e.call("WorkspaceConnections_Create", &p, &[], Some(&json!({"properties": props})), &[200]);
        let g = e.call("WorkspaceConnections_Get", &p, &[], None, &[200]);
        if g.body.as_ref().and_then(|b| b.pointer("/properties/group")).is_none() {
            e.fail(format!("WorkspaceConnections_Get {name}: no read-only group"));
        }
        let s = e.call("WorkspaceConnections_ListSecrets", &p, &[], None, &[200]);
        if let Some(value) = secret {
            if r.raw.contains(value) || g.raw.contains(value) {
                e.fail(format!("WorkspaceConnections_Create/Get {name}: shows the secret"));
            }
            if !s.raw.contains(value) {
                e.fail(format!("WorkspaceConnections_ListSecrets {name}: the secret is missing: {}", truncate(&s.raw, 300)));
            }
        }
    }
    let (items, pages) = e.list_all("WorkspaceConnections_List", &wsp, &[]);
    if items.len() != conns.len() || pages < 2 {
        e.fail(format!("WorkspaceConnections_List: {} items over {pages} pages, expected {}", items.len(), conns.len()));
    }
    let (items, _) = e.list_all("WorkspaceConnections_List", &wsp, &[("category", "AzureBlob".into())]);
    if items.len() != 3 {
        e.fail(format!("WorkspaceConnections_List?category=AzureBlob: {} items, expected 3", items.len()));
    }
    let cp = with(&wsp, &[("connectionName", "conn-git-pat")]);
    let u = e.call("WorkspaceConnections_Update", &cp, &[], Some(&json!({"properties": {"authType": "PAT", "category": "Git", "target": "https://github.com/contoso/other"}})), &[200]);
    if u.body.as_ref().and_then(|b| b.pointer("/properties/target")) != Some(&json!("https://github.com/contoso/other")) {
        e.fail("WorkspaceConnections_Update: target not changed".into());
    }
    let s = e.call("WorkspaceConnections_ListSecrets", &cp, &[], None, &[200]);
    if !s.raw.contains("pat-secret-value") {
        e.fail("WorkspaceConnections_Update without credentials lost the stored secret".into());
    }
    e.call("WorkspaceConnections_Create", &with(&wsp, &[("connectionName", "conn-bad")]), &[], Some(&json!({"properties": {"category": "Git", "target": "x", "authType": "Password"}})), &[400]);
    e.call("WorkspaceConnections_Delete", &with(&wsp, &[("connectionName", "conn-custom")]), &[], None, &[200]);
    e.call("WorkspaceConnections_Get", &with(&wsp, &[("connectionName", "conn-custom")]), &[], None, &[404]);
    e.call("WorkspaceConnections_Delete", &with(&wsp, &[("connectionName", "conn-custom")]), &[], None, &[204]);

    // --- regions: VM sizes, usages, quotas
    let lp = obj(json!({ "subscriptionId": sub, "location": location }));
    let sizes = e.call("VirtualMachineSizes_List", &lp, &[], None, &[200]).body.unwrap_or(Value::Null);
    let names: Vec<&str> = sizes["value"].as_array().map(|a| a.iter().filter_map(|v| v["name"].as_str()).collect()).unwrap_or_default();
    if !names.contains(&"Standard_DS3_v2") {
        e.fail(format!("VirtualMachineSizes_List: no Standard_DS3_v2 in {names:?}"));
    }
    let (usages, _) = e.list_all("Usages_List", &lp, &[]);
    let (quotas, _) = e.list_all("Quotas_List", &lp, &[]);
    let usage = |items: &[Value], family: &str| items.iter().find(|u| u["name"]["value"] == family).and_then(|u| u["currentValue"].as_u64());
    if usage(&usages, "standardDSv2Family") != Some(0) {
        e.fail(format!("Usages_List: standardDSv2Family before any compute: {:?}", usage(&usages, "standardDSv2Family")));
    }
    if !quotas.iter().any(|q| q["id"].as_str().is_some_and(|i| i.starts_with(&ws_id))) {
        e.fail("Quotas_List: no quota of the primary workspace".into());
    }

    // --- computes
    let cluster = json!({"location": location, "properties": {"computeType": "AmlCompute", "description": "cpu cluster", "properties": {
        "vmSize": "Standard_DS3_v2", "vmPriority": "Dedicated", "scaleSettings": {"minNodeCount": 1, "maxNodeCount": 4, "nodeIdleTimeBeforeScaleDown": "PT300S"}}}, "identity": {"type": "SystemAssigned"}});
    let kp = with(&wsp, &[("computeName", "cpu-cluster")]);
    let got = lro_put(&mut e, "Compute_CreateOrUpdate", "Compute_Get", &kp, &cluster);
    if got.pointer("/properties/properties/scaleSettings/maxNodeCount") != Some(&json!(4)) || got.pointer("/identity/principalId").is_none() {
        e.fail(format!("Compute_Get: definition not kept: {}", truncate(&got.to_string(), 400)));
    }
    let (usages, _) = e.list_all("Usages_List", &lp, &[]);
    if usage(&usages, "standardDSv2Family") != Some(4) {
        e.fail(format!("Usages_List: standardDSv2Family with one DS3_v2 node: {:?}", usage(&usages, "standardDSv2Family")));
    }
    let ci = json!({"location": location, "properties": {"computeType": "ComputeInstance", "properties": {"vmSize": "Standard_DS11_v2",
        "personalComputeInstanceSettings": {"assignedUser": {"objectId": "22222222-0000-0000-0000-000000000000", "tenantId": "00000000-0000-0000-0000-0000000000aa"}}}}});
    let ip = with(&wsp, &[("computeName", "ci-alice")]);
    lro_put(&mut e, "Compute_CreateOrUpdate", "Compute_Get", &ip, &ci);
    e.call("Compute_Stop", &ip, &[], None, &[202]);
    e.call("Compute_Start", &ip, &[], None, &[202]);
    e.call("Compute_ListNodes", &kp, &[], None, &[200]);
    e.call("Compute_ListKeys", &kp, &[], None, &[200]);
    e.call("Compute_Update", &kp, &[], Some(&json!({"properties": {"properties": {"scaleSettings": {"maxNodeCount": 6, "minNodeCount": 0}}}})), &[200]);
    let (items, pages) = e.list_all("Compute_List", &wsp, &[]);
    if items.len() != 2 || pages != 1 {
        e.fail(format!("Compute_List: {} items over {pages} pages", items.len()));
    }
    // a size the region does not offer, a quota too short
    let mut nosize = cluster.clone();
    nosize["properties"]["properties"]["vmSize"] = json!("Standard_NC6s_v3");
    e.tb.set_region(&location, aml_emulator::resources::regions::RegionSettings { vm_sizes: Some(vec!["Standard_DS3_v2".into(), "Standard_DS11_v2".into()]), ..Default::default() });
    e.call("Compute_CreateOrUpdate", &with(&wsp, &[("computeName", "gpu-cluster")]), &[], Some(&nosize), &[400]);
    let sizes = e.call("VirtualMachineSizes_List", &lp, &[], None, &[200]).body.unwrap_or(Value::Null);
    if sizes["value"].as_array().map(Vec::len) != Some(2) {
        e.fail(format!("VirtualMachineSizes_List after narrowing the region: {}", truncate(&sizes.to_string(), 300)));
    }
    let mut short = aml_emulator::resources::regions::RegionSettings::default();
    short.family_limits.insert("standardDSv2Family".into(), 6);
    e.tb.set_region(&location, short);
    let mut big = cluster.clone();
    big["properties"]["properties"]["scaleSettings"]["minNodeCount"] = json!(2);
    let r = e.call("Compute_CreateOrUpdate", &with(&wsp, &[("computeName", "big-cluster")]), &[], Some(&big), &[400]);
    if !r.raw.contains("QuotaExceeded") || !r.raw.contains("standardDSv2Family") {
        e.fail(format!("Compute_CreateOrUpdate beyond quota: {}", truncate(&r.raw, 300)));
    }
    let (usages, _) = e.list_all("Usages_List", &lp, &[]);
    let limit = usages.iter().find(|u| u["name"]["value"] == "standardDSv2Family").and_then(|u| u["limit"].as_u64());
    if limit != Some(6) {
        e.fail(format!("Usages_List: standardDSv2Family limit {limit:?}, expected 6"));
    }
    e.call("Compute_Delete", &ip, &[], None, &[400]); // underlyingResourceAction is required
    lro_delete(&mut e, "Compute_Delete", "Compute_Get", &ip, &[("underlyingResourceAction", "Delete".into())]);

    // --- online endpoint, two deployments, a traffic split
    let ep = with(&wsp, &[("endpointName", "scoring")]);
    let endpoint = json!({"location": location, "kind": "Managed", "identity": {"type": "SystemAssigned"}, "tags": {"team": "ml"},
        "properties": {"authMode": "Key", "description": "scoring endpoint", "traffic": {}}});
    let got = lro_put(&mut e, "OnlineEndpoints_CreateOrUpdate", "OnlineEndpoints_Get", &ep, &endpoint);
    if got.pointer("/properties/scoringUri").and_then(Value::as_str).is_none_or(|u| !u.starts_with("https://")) || got.pointer("/properties/keys").is_some() {
        e.fail(format!("OnlineEndpoints_Get: {}", truncate(&got.to_string(), 400)));
    }
    let model = format!("{ws_id}/models/m/versions/1");
    for (d, cap) in [("blue", 2), ("green", 1)] {
        let dp = with(&ep, &[("deploymentName", d)]);
        let body = json!({"location": location, "kind": "Managed", "sku": {"name": "Default", "capacity": cap}, "properties": {
            "endpointComputeType": "Managed", "model": model, "instanceType": "Standard_DS3_v2",
            "codeConfiguration": {"codeId": format!("{ws_id}/codes/c/versions/1"), "scoringScript": "score.py"}, "environmentId": format!("{ws_id}/environments/e/versions/1")}});
        lro_put(&mut e, "OnlineDeployments_CreateOrUpdate", "OnlineDeployments_Get", &dp, &body);
    }
    let mut split = endpoint.clone();
    split["properties"]["traffic"] = json!({"blue": 90, "green": 10});
    let got = lro_put(&mut e, "OnlineEndpoints_CreateOrUpdate", "OnlineEndpoints_Get", &ep, &split);
    if got.pointer("/properties/traffic") != Some(&json!({"blue": 90, "green": 10})) {
        e.fail(format!("OnlineEndpoints_Get: traffic {:?}", got.pointer("/properties/traffic")));
    }
    let mut wrong = endpoint.clone();
    wrong["properties"]["traffic"] = json!({"blue": 50, "red": 50});
    e.call("OnlineEndpoints_CreateOrUpdate", &ep, &[], Some(&wrong), &[400]);
    wrong["properties"]["traffic"] = json!({"blue": 50, "green": 20});
    e.call("OnlineEndpoints_CreateOrUpdate", &ep, &[], Some(&wrong), &[400]);
    let (items, pages) = e.list_all("OnlineDeployments_List", &ep, &[]);
    if items.len() != 2 || pages != 1 {
        e.fail(format!("OnlineDeployments_List: {} items over {pages} pages", items.len()));
    }
    e.list_all("OnlineEndpoints_List", &wsp, &[]);
    let keys = e.call("OnlineEndpoints_ListKeys", &ep, &[], None, &[200]);
    if keys.body.as_ref().and_then(|b| b["primaryKey"].as_str()).is_none() {
        e.fail("OnlineEndpoints_ListKeys: no primaryKey".into());
    }
    e.call("OnlineEndpoints_GetToken", &ep, &[], None, &[400]);
    e.call("OnlineEndpoints_Update", &ep, &[], Some(&json!({"tags": {"team": "ml", "tier": "gold"}})), &[200]);
    let gp = with(&ep, &[("deploymentName", "green")]);
    e.call("OnlineDeployments_GetLogs", &gp, &[], Some(&json!({"containerType": "InferenceServer", "tail": 10})), &[200]);
    e.call("OnlineDeployments_ListSkus", &gp, &[], None, &[200]);
    e.call("OnlineDeployments_Update", &gp, &[], Some(&json!({"sku": {"name": "Default", "capacity": 3}})), &[200]);
    e.call("OnlineDeployments_Delete", &gp, &[], None, &[400]); // receives 10% of the traffic
    let mut all_blue = endpoint.clone();
    all_blue["properties"]["traffic"] = json!({"blue": 100, "green": 0});
    lro_put(&mut e, "OnlineEndpoints_CreateOrUpdate", "OnlineEndpoints_Get", &ep, &all_blue);
    lro_delete(&mut e, "OnlineDeployments_Delete", "OnlineDeployments_Get", &gp, &[]);
    e.call("OnlineDeployments_CreateOrUpdate", &with(&wsp, &[("endpointName", "nope"), ("deploymentName", "d")]), &[], Some(&json!({"location": location, "properties": {"endpointComputeType": "Managed"}})), &[404]);

    // --- batch endpoint and deployment
    let bp = with(&wsp, &[("endpointName", "nightly")]);
    let be = json!({"location": location, "properties": {"authMode": "AADToken", "description": "nightly scoring"}});
    lro_put(&mut e, "BatchEndpoints_CreateOrUpdate", "BatchEndpoints_Get", &bp, &be);
    let bdp = with(&bp, &[("deploymentName", "v1")]);
    let bd = json!({"location": location, "properties": {"compute": format!("{ws_id}/computes/cpu-cluster"),
        "model": {"referenceType": "Id", "assetId": model}, "miniBatchSize": 5, "resources": {"instanceCount": 2}}});
    let got = lro_put(&mut e, "BatchDeployments_CreateOrUpdate", "BatchDeployments_Get", &bdp, &bd);
    if got.pointer("/properties/outputFileName") != Some(&json!("predictions.csv")) || got.pointer("/properties/miniBatchSize") != Some(&json!(5)) {
        e.fail(format!("BatchDeployments_Get: {}", truncate(&got.to_string(), 400)));
    }
    let mut be2 = be.clone();
    be2["properties"]["defaults"] = json!({"deploymentName": "v1"});
    lro_put(&mut e, "BatchEndpoints_CreateOrUpdate", "BatchEndpoints_Get", &bp, &be2);
    be2["properties"]["defaults"] = json!({"deploymentName": "v9"});
    e.call("BatchEndpoints_CreateOrUpdate", &bp, &[], Some(&be2), &[400]);
    e.list_all("BatchEndpoints_List", &wsp, &[]);
    e.list_all("BatchDeployments_List", &bp, &[]);
    e.call("BatchDeployments_Update", &bdp, &[], Some(&json!({"tags": {"a": "b"}})), &[200]);
    e.call("BatchEndpoints_Update", &bp, &[], Some(&json!({"tags": {"a": "b"}})), &[200]);
    e.call("BatchEndpoints_ListKeys", &bp, &[], None, &[400]);

    // --- schedules
    let job = example_request("Job/CommandJob/createOrUpdate.json")["properties"].clone();
    let sp_ = with(&wsp, &[("name", "nightly-train")]);
    let sched = json!({"properties": {"displayName": "nightly", "isEnabled": true, "trigger": {"triggerType": "Cron", "expression": "0 2 * * *", "timeZone": "UTC"},
        "action": {"actionType": "CreateJob", "jobDefinition": job}}});
    let got = lro_put(&mut e, "Schedules_CreateOrUpdate", "Schedules_Get", &sp_, &sched);
    if got.pointer("/properties/isEnabled") != Some(&json!(true)) {
        e.fail("Schedules_Get: isEnabled not true".into());
    }
    let rec = json!({"properties": {"isEnabled": false, "trigger": {"triggerType": "Recurrence", "frequency": "Day", "interval": 1, "schedule": {"hours": [3], "minutes": [0]}},
        "action": {"actionType": "InvokeBatchEndpoint", "endpointInvocationDefinition": {"endpoint": "nightly"}}}});
    lro_put(&mut e, "Schedules_CreateOrUpdate", "Schedules_Get", &with(&wsp, &[("name", "weekly-score")]), &rec);
    let mut disabled = sched.clone();
    disabled["properties"]["isEnabled"] = json!(false);
    let got = lro_put(&mut e, "Schedules_CreateOrUpdate", "Schedules_Get", &sp_, &disabled);
    if got.pointer("/properties/isEnabled") != Some(&json!(false)) {
        e.fail("Schedules_CreateOrUpdate: isEnabled false not kept".into());
    }
    let (items, _) = e.list_all("Schedules_List", &wsp, &[]);
    if items.len() != 2 {
        e.fail(format!("Schedules_List: {} items", items.len()));
    }
    let bad = json!({"properties": {"trigger": {"triggerType": "Cron", "expression": "every day"}, "action": {"actionType": "CreateJob", "jobDefinition": job}}});
    e.call("Schedules_CreateOrUpdate", &with(&wsp, &[("name", "bad")]), &[], Some(&bad), &[400]);
    lro_delete(&mut e, "Schedules_Delete", "Schedules_Get", &with(&wsp, &[("name", "weekly-score")]), &[]);

    // deleting an endpoint removes its deployments
    lro_delete(&mut e, "BatchEndpoints_Delete", "BatchEndpoints_Get", &bp, &[]);
    e.call("BatchDeployments_Get", &bdp, &[], None, &[404]);

    e.finish("live_estate_conforms_to_the_spec");
}
