//! Loads a workspace from a folder of `az ml` v2 YAML files and their local files:
//! files go to the workspace's `workspaceblobstore` container in Azurite under
//! `LocalUpload/<uuid>/<name>` (Shared Key), then the asset versions are created pointing at them.
//!
//! Supported `$schema`s: model, environment, code, commandComponent, data, and
//! pipelineJob/commandJob (stored as seeded jobs with status `Completed`; a `<stem>.run/`
//! folder beside a job's YAML holds the outputs and logs it "wrote", see `job_run_files`).
//!
//! The workspace's estate ([`estate`]): datastores (azureBlob, azureFile, azureDataLakeGen1/2,
//! oneLake), workspaceConnection, amlCompute/computeInstance, batch and managed online endpoints
//! and deployments (an endpoint's traffic split or default deployment is set once its
//! deployments exist), and schedules whose `create_job` is `azureml:<seeded job name>`.
//! Long-running resources are seeded as `Succeeded`.
//!
//! [`bulk`] creates thousands of versions for benchmarks without a YAML file or upload each.

pub mod bulk;
pub mod estate;

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::arm::WorkspaceRef;
use crate::auth::Principal;
use crate::routes::{AssetKind, ChildFamily};
use crate::server::App;

/// What a seed run created.
#[derive(Debug, Default, Clone, Serialize)]
pub struct SeedReport {
    /// `models/name/versions/1`, ...
    pub created: Vec<String>,
    pub uploaded_files: usize,
    pub uploaded_bytes: u64,
}

struct Seeder<'a> {
    app: &'a App,
    ws: WorkspaceRef,
    arm_id: String,
    account: String,
    key: String,
    container: String,
    principal: Principal,
    report: SeedReport,
    location: String,
    /// Endpoint bodies with their traffic split / default deployment, PUT after the deployments.
    later: Vec<(ChildFamily, String, Value)>,
}

fn kind_of(schema: &str) -> Option<&'static str> {
    let s = schema.to_ascii_lowercase();
    let file = s.rsplit('/').next().unwrap_or("");
    Some(match file {
        "model.schema.json" => "model",
        "environment.schema.json" => "environment",
        "code.schema.json" => "code",
        "commandcomponent.schema.json" => "component",
        "data.schema.json" => "data",
        "pipelinejob.schema.json" | "commandjob.schema.json" => "job",
        "azureblob.schema.json" | "azurefile.schema.json" | "azuredatalakegen1.schema.json" | "azuredatalakegen2.schema.json" | "onelake.schema.json" => "datastore",
        "workspaceconnection.schema.json" => "connection",
        "amlcompute.schema.json" | "computeinstance.schema.json" => "compute",
        "batchendpoint.schema.json" => "batch_endpoint",
        "batchdeployment.schema.json" | "modelbatchdeployment.schema.json" => "batch_deployment",
        "managedonlineendpoint.schema.json" => "online_endpoint",
        "managedonlinedeployment.schema.json" => "online_deployment",
        "schedule.schema.json" => "schedule",
        _ => return None,
    })
}

fn order(kind: &str) -> u8 {
    match kind {
        "environment" => 0,
        "code" => 1,
        "component" => 2,
        "model" => 3,
        "data" => 4,
        "job" => 5,
        "datastore" => 6,
        "connection" => 7,
        "compute" => 8,
        "batch_endpoint" => 9,
        "batch_deployment" => 10,
        "online_endpoint" => 11,
        "online_deployment" => 12,
        _ => 13,
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out)?;
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yml" | "yaml")) {
            out.push(p);
        }
    }
    Ok(())
}

fn files_under(root: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if root.is_file() {
        out.push(root.to_path_buf());
        return Ok(out);
    }
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let p = e?.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn is_remote(s: &str) -> bool {
    s.contains("://") || s.starts_with("azureml:")
}

fn str_field<'v>(doc: &'v Value, key: &str) -> Option<&'v str> {
    doc.get(key).and_then(Value::as_str)
}

impl Seeder<'_> {
    /// Uploads a local file or folder; returns the blob path (`LocalUpload/<id>/<name>`).
    async fn upload(&mut self, local: &Path) -> anyhow::Result<String> {
        let blob = self.app.blob.as_ref().ok_or_else(|| anyhow!("seeding needs a blob endpoint (Azurite)"))?;
        let name = local.file_name().and_then(|n| n.to_str()).ok_or_else(|| anyhow!("bad path {}", local.display()))?;
        let prefix = format!("LocalUpload/{}/{name}", uuid::Uuid::new_v4().simple());
        for f in files_under(local)? {
            let rel = f.strip_prefix(local).unwrap_or(Path::new(""));
            let blob_path = if rel.as_os_str().is_empty() {
                prefix.clone()
            } else {
                format!("{prefix}/{}", rel.to_string_lossy().replace('\\', "/"))
            };
            let data = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
            self.report.uploaded_bytes += data.len() as u64;
            self.report.uploaded_files += 1;
            blob.put_blob(&self.account, &self.key, &self.container, &blob_path, data).await?;
        }
        Ok(prefix)
    }

    /// `azureml://subscriptions/<sub>/resourcegroups/<rg>/workspaces/<ws>/datastores/workspaceblobstore/paths/<path>`
    fn datastore_uri(&self, path: &str, folder: bool) -> String {
        format!(
            "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/workspaceblobstore/paths/{path}{}",
            self.ws.subscription_id, self.ws.resource_group, self.ws.name, if folder { "/" } else { "" }
        )
    }

    /// `https://<account>.blob.core.windows.net/<container>/<path>` (Azure's form).
    fn https_uri(&self, path: &str, folder: bool) -> String {
        format!("https://{}.blob.core.windows.net/{}/{path}{}", self.account, self.container, if folder { "/" } else { "" })
    }

    fn next_version(&self, kind: AssetKind, name: &str) -> String {
        crate::resources::assets::get_container(self.app, &self.ws, kind, name)
            .ok()
            .and_then(|(_, c)| c.pointer("/properties/nextVersion").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| "1".into())
    }

    fn put(&mut self, kind: AssetKind, name: &str, version: &str, props: Map<String, Value>) -> anyhow::Result<()> {
        let body = json!({"properties": props}).to_string();
        crate::resources::assets::put_version(self.app, &self.ws, kind, name, version, body.as_bytes(), &self.principal)
            .map_err(|e| anyhow!("{} {name}:{version}: {} {}", kind.segment, e.code, e.message))?;
        self.report.created.push(format!("{}/{name}/versions/{version}", kind.segment));
        Ok(())
    }

    fn common(doc: &Value) -> Map<String, Value> {
        let mut p = Map::new();
        for (y, r) in [("description", "description"), ("tags", "tags"), ("properties", "properties"), ("stage", "stage")] {
            if let Some(v) = doc.get(y) {
                p.insert(r.into(), stringify_map(v));
            }
        }
        p
    }

    fn version_of(&self, kind: AssetKind, doc: &Value, name: &str) -> String {
        match doc.get("version") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => self.next_version(kind, name),
        }
    }

    async fn model(&mut self, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        let kind = AssetKind::by_segment("models").expect("kind");
        let name = str_field(doc, "name").ok_or_else(|| anyhow!("model without name"))?.to_string();
        let version = self.version_of(kind, doc, &name);
        let mut p = Self::common(doc);
        let model_type = str_field(doc, "type").unwrap_or("custom_model");
        p.insert("modelType".into(), json!(model_type));
        let path = str_field(doc, "path").ok_or_else(|| anyhow!("model {name} without path"))?;
        let uri = if is_remote(path) {
            path.to_string()
        } else {
            let local = dir.join(path);
            let blob_path = self.upload(&local).await?;
            if model_type == "mlflow_model" {
                if let Some(flavors) = mlflow_flavors(&local.join("MLmodel")) {
                    p.insert("flavors".into(), flavors);
                }
            }
            self.datastore_uri(&blob_path, local.is_dir())
        };
        p.insert("modelUri".into(), json!(uri));
        self.put(kind, &name, &version, p)
    }

    async fn environment(&mut self, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        let kind = AssetKind::by_segment("environments").expect("kind");
        let name = str_field(doc, "name").ok_or_else(|| anyhow!("environment without name"))?.to_string();
        let version = self.version_of(kind, doc, &name);
        let mut p = Self::common(doc);
        if let Some(image) = str_field(doc, "image") {
            p.insert("image".into(), json!(image));
        }
        if let Some(conda) = doc.get("conda_file") {
            let text = match conda {
                Value::String(f) => std::fs::read_to_string(dir.join(f)).with_context(|| format!("conda_file {f}"))?,
                other => serde_norway::to_string(other)?,
            };
            p.insert("condaFile".into(), json!(text));
        }
        if let Some(build) = doc.get("build") {
            let path = str_field(build, "path").ok_or_else(|| anyhow!("environment {name}: build without path"))?;
            let context_uri = if is_remote(path) {
                path.to_string()
            } else {
                let uploaded = self.upload(&dir.join(path)).await?;
                self.https_uri(&uploaded, true)
            };
            let mut b = json!({"contextUri": context_uri});
            if let Some(df) = str_field(build, "dockerfile_path") {
                b["dockerfilePath"] = json!(df);
            }
            p.insert("build".into(), b);
        }
        if let Some(os) = str_field(doc, "os_type") {
            p.insert("osType".into(), json!(if os.eq_ignore_ascii_case("windows") { "Windows" } else { "Linux" }));
        }
        self.put(kind, &name, &version, p)
    }

    /// Creates a code version from a local folder; returns its ARM id.
    async fn code_from(&mut self, name: &str, version: &str, local: &Path, anonymous: bool, doc: Option<&Value>) -> anyhow::Result<String> {
        let kind = AssetKind::by_segment("codes").expect("kind");
        let blob_path = self.upload(local).await?;
        let mut p = doc.map(Self::common).unwrap_or_default();
        p.insert("codeUri".into(), json!(self.https_uri(&blob_path, local.is_dir())));
        p.insert("isAnonymous".into(), json!(anonymous));
        self.put(kind, name, version, p)?;
        Ok(format!("{}/codes/{name}/versions/{version}", self.arm_id))
    }

    async fn code(&mut self, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        let kind = AssetKind::by_segment("codes").expect("kind");
        let name = str_field(doc, "name").ok_or_else(|| anyhow!("code without name"))?.to_string();
        let version = self.version_of(kind, doc, &name);
        let path = str_field(doc, "path").ok_or_else(|| anyhow!("code {name} without path"))?;
        self.code_from(&name, &version, &dir.join(path), false, Some(doc)).await?;
        Ok(())
    }

    /// `azureml:name:version` → `azureml:<ARM id>`; other references unchanged.
    fn asset_ref(&self, segment: &str, r: &str) -> String {
        match r.strip_prefix("azureml:") {
            Some(rest) if !rest.starts_with('/') && !rest.starts_with("//") => match rest.split_once(':') {
                Some((n, v)) => format!("azureml:{}/{segment}/{n}/versions/{v}", self.arm_id),
                None => r.to_string(),
            },
            _ => r.to_string(),
        }
    }

    async fn component(&mut self, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        let kind = AssetKind::by_segment("components").expect("kind");
        let name = str_field(doc, "name").ok_or_else(|| anyhow!("component without name"))?.to_string();
        let version = self.version_of(kind, doc, &name);
        let mut spec = doc.clone();
        spec["version"] = json!(version);
        if let Some(code) = str_field(doc, "code").map(str::to_string) {
            let id = if is_remote(&code) {
                self.asset_ref("codes", &code)
            } else {
                let code_name = uuid::Uuid::new_v4().to_string();
                format!("azureml:{}", self.code_from(&code_name, "1", &dir.join(&code), true, None).await?)
            };
            spec["code"] = json!(id);
        }
        if let Some(env) = str_field(doc, "environment").map(str::to_string) {
            spec["environment"] = json!(self.asset_ref("environments", &env));
        }
        let mut p = Self::common(doc);
        p.insert("componentSpec".into(), spec);
        self.put(kind, &name, &version, p)
    }

    async fn data(&mut self, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        let kind = AssetKind::by_segment("data").expect("kind");
        let name = str_field(doc, "name").ok_or_else(|| anyhow!("data without name"))?.to_string();
        let version = self.version_of(kind, doc, &name);
        let data_type = str_field(doc, "type").unwrap_or("uri_folder");
        let path = str_field(doc, "path").ok_or_else(|| anyhow!("data {name} without path"))?;
        let uri = if is_remote(path) {
            path.to_string()
        } else {
            let local = dir.join(path);
            let blob_path = self.upload(&local).await?;
            self.datastore_uri(&blob_path, local.is_dir())
        };
        let mut p = Self::common(doc);
        p.insert("dataType".into(), json!(data_type));
        p.insert("dataUri".into(), json!(uri));
        self.put(kind, &name, &version, p)
    }

    /// Uploads every file under `local` to `container` at `prefix/<relative path>`.
    async fn upload_tree(&mut self, local: &Path, container: &str, prefix: &str) -> anyhow::Result<usize> {
        let blob = self.app.blob.as_ref().ok_or_else(|| anyhow!("seeding needs a blob endpoint (Azurite)"))?;
        let mut n = 0;
        for f in files_under(local)? {
            let rel = f.strip_prefix(local).unwrap_or(Path::new("")).to_string_lossy().replace('\\', "/");
            let data = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
            self.report.uploaded_bytes += data.len() as u64;
            self.report.uploaded_files += 1;
            blob.put_blob(&self.account, &self.key, container, &format!("{prefix}/{rel}"), data).await?;
            n += 1;
        }
        Ok(n)
    }

    /// A seeded job's run folder (`<job file stem>.run/`, beside the YAML) holds what the job
    /// wrote, laid out as Azure ML lays it out in the workspace's storage:
    /// - `outputs/<output name>/…` → default datastore, `azureml/<job name>/<output name>/…`
    ///   (the v2 default output path `azureml://datastores/workspaceblobstore/paths/azureml/${{name}}/${{output_name}}/`);
    ///   the job's `outputs.<name>.uri` points there;
    /// - `artifacts/…` (logs under `user_logs/`, `system_logs/`, run artifacts under `outputs/`)
    ///   → artifact store, container `azureml`, `ExperimentRun/dcid.<job name>/…`.
    async fn job_run_files(&mut self, name: &str, run_dir: &Path, p: &mut Map<String, Value>) -> anyhow::Result<()> {
        let outputs_dir = run_dir.join("outputs");
        if outputs_dir.is_dir() {
            let container = self.container.clone();
            let mut entries: Vec<_> = std::fs::read_dir(&outputs_dir)?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries.into_iter().filter(|e| e.path().is_dir()) {
                let out = e.file_name().to_string_lossy().into_owned();
                let prefix = format!("azureml/{name}/{out}");
                self.upload_tree(&e.path(), &container, &prefix).await?;
                let outputs = p.entry("outputs").or_insert_with(|| json!({}));
                if !outputs.is_object() {
                    *outputs = json!({});
                }
                let slot = outputs.as_object_mut().expect("object").entry(out.clone()).or_insert(Value::Null);
                let mut o = slot.as_object().cloned().unwrap_or_default();
                o.entry("jobOutputType").or_insert(json!("uri_folder"));
                o.insert("mode".into(), json!("ReadWriteMount"));
                o.insert("uri".into(), json!(format!("azureml://datastores/workspaceblobstore/paths/{prefix}/")));
                *slot = Value::Object(o);
            }
        }
        let artifacts = run_dir.join("artifacts");
        if artifacts.is_dir() {
            self.upload_tree(&artifacts, "azureml", &format!("ExperimentRun/dcid.{name}")).await?;
        }
        Ok(())
    }

    /// A job's inline environment, registered as az ml registers it before it creates the job:
    /// `CliV2AnonymousEnvironment`, version a hash of its content (the same content, the same
    /// version). Returns its `azureml:<ARM id>`.
    fn anonymous_environment(&mut self, env: &Value, dir: &Path) -> anyhow::Result<String> {
        let kind = AssetKind::by_segment("environments").expect("kind");
        let mut p = Map::new();
        if let Some(image) = str_field(env, "image") {
            p.insert("image".into(), json!(image));
        }
        if let Some(conda) = env.get("conda_file") {
            let text = match conda {
                Value::String(f) => std::fs::read_to_string(dir.join(f)).with_context(|| format!("conda_file {f}"))?,
                other => serde_norway::to_string(other)?,
            };
            p.insert("condaFile".into(), json!(text));
        }
        use sha2::Digest;
        let version = hex_of(&sha2::Sha256::digest(Value::Object(p.clone()).to_string().as_bytes())[..16]);
        let name = "CliV2AnonymousEnvironment";
        p.insert("isAnonymous".into(), json!(true));
        // Two jobs with the same inline environment share its one version.
        if !self.report.created.contains(&format!("environments/{name}/versions/{version}")) {
            self.put(kind, name, &version, p)?;
        }
        Ok(format!("azureml:{}/environments/{name}/versions/{version}", self.arm_id))
    }

    async fn job(&mut self, doc: &Value, file: &Path) -> anyhow::Result<()> {
        let name = str_field(doc, "name")
            .map(str::to_string)
            .unwrap_or_else(|| file.file_stem().and_then(|s| s.to_str()).unwrap_or("job").replace(['_', ' '], "-"));
        let job_type = match str_field(doc, "type") {
            Some("pipeline") => "Pipeline",
            Some("command") | None if doc.get("command").is_some() => "Command",
            _ => "Pipeline",
        };
        let mut p = Self::common(doc);
        p.insert("jobType".into(), json!(job_type));
        for (y, r) in [("display_name", "displayName"), ("experiment_name", "experimentName"), ("inputs", "inputs"), ("outputs", "outputs"), ("settings", "settings"), ("jobs", "jobs"), ("command", "command"), ("compute", "computeId")] {
            if let Some(v) = doc.get(y) {
                p.insert(r.into(), v.clone());
            }
        }
        if job_type == "Command" {
            let env = match doc.get("environment") {
                Some(inline @ Value::Object(_)) => self.anonymous_environment(inline, file.parent().unwrap_or(Path::new(".")))?,
                other => self.asset_ref("environments", other.and_then(Value::as_str).unwrap_or("azureml:unknown:1")),
            };
            p.insert("environmentId".into(), json!(env));
        }
        if let Some(stem) = file.file_stem() {
            let run_dir = file.with_file_name(format!("{}.run", stem.to_string_lossy()));
            if run_dir.is_dir() {
                self.job_run_files(&name, &run_dir, &mut p).await?;
            }
        }
        let body = json!({"properties": p}).to_string();
        crate::resources::jobs::create_or_update(self.app, &self.ws, &name, body.as_bytes(), &self.principal, "Completed")
            .map_err(|e| anyhow!("job {name}: {} {}", e.code, e.message))?;
        self.report.created.push(format!("jobs/{name}"));
        Ok(())
    }
}

impl Seeder<'_> {
    fn child(&mut self, family: ChildFamily, parent: Option<&str>, name: &str, body: Value) -> anyhow::Result<()> {
        crate::resources::children::seed_put(self.app, &self.ws, family, parent, name, body, &self.principal)
            .map_err(|e| anyhow!("{} {name}: {} {}", family.segment(), e.code, e.message))?;
        let path = match parent {
            Some(p) => format!("{}/{p}/deployments/{name}", if family == ChildFamily::OnlineDeployments { "onlineEndpoints" } else { "batchEndpoints" }),
            None => format!("{}/{name}", family.segment()),
        };
        self.report.created.push(path);
        Ok(())
    }

    async fn estate(&mut self, kind: &str, doc: &Value, dir: &Path) -> anyhow::Result<()> {
        match kind {
            "datastore" => {
                let (name, body) = estate::datastore(doc)?;
                crate::resources::datastores::create_or_update(self.app, &self.ws, &name, body.to_string().as_bytes(), &self.principal)
                    .map_err(|e| anyhow!("datastore {name}: {} {}", e.code, e.message))?;
                self.report.created.push(format!("datastores/{name}"));
            }
            "connection" => {
                let (name, body) = estate::connection(doc)?;
                self.child(ChildFamily::Connections, None, &name, body)?;
            }
            "compute" => {
                let (name, body) = estate::compute(doc, &self.location)?;
                self.child(ChildFamily::Computes, None, &name, body)?;
            }
            "batch_endpoint" | "online_endpoint" => {
                let batch = kind == "batch_endpoint";
                let family = if batch { ChildFamily::BatchEndpoints } else { ChildFamily::OnlineEndpoints };
                let (name, body, later) = estate::endpoint(doc, &self.location, batch)?;
                self.child(family, None, &name, body)?;
                if let Some(l) = later {
                    self.later.push((family, name, l));
                }
            }
            "batch_deployment" | "online_deployment" => {
                let batch = kind == "batch_deployment";
                let code = match doc.pointer("/code_configuration/code").and_then(Value::as_str) {
                    Some(c) if is_remote(c) => Some(self.asset_ref("codes", c).trim_start_matches("azureml:").to_string()),
                    Some(c) => Some(self.code_from(&uuid::Uuid::new_v4().to_string(), "1", &dir.join(c), true, None).await?),
                    None => None,
                };
                let arm_id = self.arm_id.clone();
                let arm_ref = |segment: &str, r: &str| -> String {
                    let rest = r.strip_prefix("azureml:").unwrap_or(r);
                    if rest.starts_with('/') {
                        return rest.to_string();
                    }
                    match rest.split_once(':') {
                        Some((n, v)) => format!("{arm_id}/{segment}/{n}/versions/{v}"),
                        None => format!("{arm_id}/{segment}/{rest}"),
                    }
                };
                let (endpoint, name, body) = estate::deployment(doc, &self.location, batch, code, &arm_ref)?;
                let family = if batch { ChildFamily::BatchDeployments } else { ChildFamily::OnlineDeployments };
                self.child(family, Some(&endpoint), &name, body)?;
            }
            _ => {
                let job = match doc.get("create_job").and_then(Value::as_str) {
                    Some(r) if r.starts_with("azureml:") => {
                        let (_, j) = crate::resources::jobs::get(self.app, &self.ws, &r["azureml:".len()..])
                            .map_err(|e| anyhow!("schedule: create_job {r}: {}", e.message))?;
                        let mut p = j["properties"].clone();
                        if let Some(o) = p.as_object_mut() {
                            o.remove("status");
                        }
                        p
                    }
                    other => bail!("schedule: create_job must be azureml:<seeded job name>, got {other:?}"),
                };
                let (name, body) = estate::schedule(doc, job)?;
                self.child(ChildFamily::Schedules, None, &name, body)?;
            }
        }
        Ok(())
    }
}

/// Tags/properties are string maps in the REST API; YAML may hold numbers.
pub(crate) fn stringify_map(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), match v {
                    Value::String(_) | Value::Null => v.clone(),
                    other => Value::String(other.to_string()),
                }))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// MLmodel `flavors` as the REST `flavors` (`{name: {data: {k: "v"}}}`).
fn mlflow_flavors(mlmodel: &Path) -> Option<Value> {
    let doc: Value = serde_norway::from_str(&std::fs::read_to_string(mlmodel).ok()?).ok()?;
    let flavors = doc.get("flavors")?.as_object()?;
    let mut out = Map::new();
    for (name, f) in flavors {
        let data = match stringify_map(f) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        out.insert(name.clone(), json!({"data": data}));
    }
    Some(Value::Object(out))
}

/// Loads every YAML asset under `folder` into the workspace `workspace_arm_id`.
pub async fn seed_workspace(app: &App, workspace_arm_id: &str, folder: &Path) -> anyhow::Result<SeedReport> {
    let ws = WorkspaceRef::parse(workspace_arm_id).ok_or_else(|| anyhow!("not a workspace ARM id: {workspace_arm_id}"))?;
    let (account, key, container, arm_id, location) = app
        .store
        .read(|s| s.workspace(&ws.key()).map(|w| (w.storage_account.clone(), w.storage_key.clone(), w.default_container(), w.arm_id(), w.location.clone())))
        .ok_or_else(|| anyhow!("workspace {workspace_arm_id} does not exist in the emulator"))?;
    let mut files = Vec::new();
    yaml_files(folder, &mut files).with_context(|| format!("reading seed folder {}", folder.display()))?;
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f)?;
        let doc: Value = serde_norway::from_str(&text).with_context(|| format!("parsing {}", f.display()))?;
        if let Some(kind) = doc.get("$schema").and_then(Value::as_str).and_then(kind_of) {
            docs.push(((order(kind), doc.get("version").is_some()), kind, f, doc));
        }
    }
    // Per kind, files without a version first (they take the next free version, as `az ml` does).
    docs.sort_by_key(|d| d.0);
    if docs.is_empty() {
        bail!("no az ml YAML files with a known $schema under {}", folder.display());
    }
    let mut s = Seeder {
        app,
        ws,
        arm_id,
        account,
        key,
        container,
        principal: Principal { name: "seed@aml-emulator".into(), kind: "User" },
        report: SeedReport::default(),
        location,
        later: Vec::new(),
    };
    for (_, kind, file, doc) in docs {
        let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
        let r = match kind {
            "model" => s.model(&doc, &dir).await,
            "environment" => s.environment(&doc, &dir).await,
            "code" => s.code(&doc, &dir).await,
            "component" => s.component(&doc, &dir).await,
            "data" => s.data(&doc, &dir).await,
            "job" => s.job(&doc, &file).await,
            estate_kind => s.estate(estate_kind, &doc, &dir).await,
        };
        r.with_context(|| format!("seeding {}", file.display()))?;
    }
    for (family, name, body) in std::mem::take(&mut s.later) {
        crate::resources::children::seed_put(app, &s.ws, family, None, &name, body, &s.principal)
            .map_err(|e| anyhow!("{} {name}: {} {}", family.segment(), e.code, e.message))?;
    }
    tracing::info!(created = s.report.created.len(), files = s.report.uploaded_files, "seeded {workspace_arm_id}");
    Ok(s.report)
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
