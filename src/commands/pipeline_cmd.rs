//! `aml-failover pipeline get|create`: a pipeline job as an `az ml` v2 folder, and back.
//!
//! get: job → `<dir>/<job>/pipeline.yml` + `components/<name>_<version>.yml` + each
//! component's code in `components/<name>_<version>_code/` (every file sha256-verified, YAML
//! written after). References into the workspace become portable: components become relative
//! YAML paths, environments and data `azureml:<name>:<version>`, computes `azureml:<name>`;
//! registry references and URLs stay.
//!
//! create: folder → the workspace given by --to: each local component's code is uploaded
//! (verified) to the default blob datastore and registered as code `code-<fingerprint>` (the
//! same files always give the same code asset), the component is registered with its
//! environment resolved in that workspace (a missing one fails with the chain named, before
//! anything is written), then the pipeline is registered as its definition (a pipeline
//! component, as `copy` does; see `assets::pipeline`) or, with --submit, created as a job.
//! A component version that already exists is reused when its specification and code files
//! (sha256) are the same, and refused otherwise: registered versions are immutable.

use super::assets_cmd::{blob_folder_url, context, read_local, read_workspace, run_jobs, write_atomic, write_workspace};
use crate::assets::refs::{self, Ref, VersionSpec};
use crate::assets::{self, pipeline, AssetItem, Kind};
use crate::azureml::workspace_path;
use crate::cli::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, EngineOptions, FileJob, Silent};
use crate::workspace::{Context, WorkspaceRef};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const PIPELINE_JOB_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json";

#[derive(Debug, Clone)]
pub struct GetOptions {
    pub name: String,
    pub download_path: PathBuf,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct CreateOptions {
    pub file: PathBuf,
    pub name: Option<String>,
    pub submit: bool,
    pub engine: EngineOptions,
}

fn ws_id(w: &WorkspaceRef) -> refs::WsId {
    (w.subscription_id.clone(), w.resource_group.clone(), w.workspace_name.clone())
}

/// A reference into `ws` in its portable form (`azureml:name:version`, `azureml:<compute>`).
fn portable_ref(s: &str, ws: &WorkspaceRef) -> Option<String> {
    let arm = s.strip_prefix("azureml:").unwrap_or(s);
    if !arm.starts_with('/') {
        return None;
    }
    let base = ws.arm_id().to_ascii_lowercase();
    let lower = arm.to_ascii_lowercase();
    let rest = lower.strip_prefix(&base)?.trim_start_matches('/');
    let orig = &arm[arm.len() - rest.len()..];
    let parts: Vec<&str> = orig.split('/').collect();
    match parts.as_slice() {
        [c, name] if c.eq_ignore_ascii_case("computes") => Some(format!("azureml:{name}")),
        [_, name, v, ver] if v.eq_ignore_ascii_case("versions") => Some(format!("azureml:{name}:{ver}")),
        _ => None,
    }
}

fn portable_strings(v: &mut Value, ws: &WorkspaceRef) {
    match v {
        Value::String(s) => {
            if let Some(p) = portable_ref(s, ws) {
                *s = p;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| portable_strings(x, ws)),
        Value::Object(m) => m.values_mut().for_each(|x| portable_strings(x, ws)),
        _ => {}
    }
}

/// (name, version) of a component reference that names `ws` or is relative; `None` for registries.
async fn component_in_ws(ctx: &Context, ws: &WorkspaceRef, r: &str) -> Result<Option<(String, String)>> {
    match Ref::parse(r, Kind::Component) {
        Ref::Asset { workspace, kind: Kind::Component, name, version } if workspace.as_ref().is_none_or(|w| refs::same_ws(w, &ws_id(ws))) => {
            let v = match version {
                VersionSpec::Exact(v) => v,
                _ => {
                    let c = ctx.arm.get(&format!("{}/components/{}", workspace_path(ws), assets::enc(&name))).await?;
                    c.pointer("/properties/latestVersion").and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
                        Error::Service(format!("component {name} has no latest version in {}", ws.workspace_name))
                    })?
                }
            };
            Ok(Some((name, v)))
        }
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------
// get

/// A component spec made portable for a folder: its code's files as jobs into `dir/<code_dir>/`
/// (relative paths returned too) and `code: ./<code_dir>`; workspace references shortened.
#[allow(clippy::too_many_arguments)]
pub(super) async fn portable_component(
    ctx: &Context,
    ws: &WorkspaceRef,
    ds: &Datastores,
    n: &str,
    v: &str,
    spec: &Value,
    dir: &Path,
    code_dir: &str,
    chain: &str,
) -> Result<(Value, Vec<FileJob>, Vec<String>)> {
    let mut spec = spec.clone();
    let (mut jobs, mut owners) = (Vec::new(), Vec::new());
    if let Some(code) = spec.get("code").and_then(Value::as_str).map(str::to_string) {
        let Ref::Asset { kind: Kind::Code, name: cn, version: VersionSpec::Exact(cv), .. } = Ref::parse(&code, Kind::Code) else {
            return Err(Error::Service(format!("component {n}:{v}: cannot follow its code reference {code}")));
        };
        let cprops = ctx
            .arm
            .get(&format!("{}/codes/{}/versions/{}", workspace_path(ws), assets::enc(&cn), assets::enc(&cv)))
            .await
            .map_err(|e| context(e, &format!("{chain} → component {n}:{v} → code {cn}:{cv}")))?;
        let mut item = AssetItem {
            kind: Kind::Code,
            name: cn.clone(),
            version: cv.clone(),
            properties: cprops.get("properties").cloned().unwrap_or(Value::Null),
            container: Value::Null,
            content: None,
        };
        assets::resolve_content(&mut item, ds).await?;
        let c = item.content.as_ref().expect("resolved");
        let dst: Arc<dyn Store> = Arc::new(LocalStore::new(dir));
        for f in &c.files {
            let rel = format!("{code_dir}/{}", f.rel.trim_start_matches('/'));
            owners.push(rel.clone());
            jobs.push(FileJob::from_source(&c.store, &f.meta, &dst, StorePath::parse(&rel)?));
        }
        spec["code"] = json!(format!("./{code_dir}"));
    }
    portable_strings(&mut spec, ws);
    Ok((spec, jobs, owners))
}


pub async fn get(s: &Settings, o: &GetOptions) -> Result<Exit> {
    let ws = read_workspace(s, "pipeline get")?;
    let ctx = Context::connect(&s.connect)?;
    let job = ctx.arm.get(&format!("{}/jobs/{}", workspace_path(&ws), assets::enc(&o.name))).await?;
    let props = job.get("properties").cloned().unwrap_or(Value::Null);
    if props.get("jobType").and_then(Value::as_str) != Some("Pipeline") {
        return Err(Error::usage(format!("job {} is not a pipeline job (jobType {})", o.name, props.get("jobType").unwrap_or(&Value::Null))));
    }
    let ds = Datastores::load(&ctx, &ws).await?;
    let folder = o.download_path.join(&o.name);
    let comp_dir = folder.join("components");

    // Components referenced by the steps, with their code.
    let mut p = pipeline::portable_job(&props);
    let mut comps: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut step_refs: Vec<(String, String, String)> = Vec::new();
    for (step, j) in p.get("jobs").and_then(Value::as_object).cloned().unwrap_or_default() {
        for key in ["component", "componentId"] {
            let Some(r) = j.get(key).and_then(Value::as_str) else { continue };
            if let Some((n, v)) = component_in_ws(&ctx, &ws, r).await.map_err(|e| context(e, &format!("pipeline {} → step {step}", o.name)))? {
                if let std::collections::btree_map::Entry::Vacant(slot) = comps.entry((n.clone(), v.clone())) {
                    let c = ctx.arm.get(&format!("{}/components/{}/versions/{}", workspace_path(&ws), assets::enc(&n), assets::enc(&v))).await.map_err(|e| {
                        context(e, &format!("pipeline {} → component {n}:{v}", o.name))
                    })?;
                    slot.insert(c.pointer("/properties/componentSpec").cloned().unwrap_or(Value::Null));
                }
                step_refs.push((step.clone(), key.to_string(), format!("./components/{n}_{v}.yml")));
            }
        }
    }

    let mut jobs = Vec::new();
    let mut owners = Vec::new();
    let mut specs: Vec<(PathBuf, Value)> = Vec::new();
    for ((n, v), spec) in &comps {
        let (spec, mut j, mut r) = portable_component(&ctx, &ws, &ds, n, v, spec, &comp_dir, &format!("{n}_{v}_code"), &format!("pipeline {}", o.name)).await?;
        jobs.append(&mut j);
        owners.append(&mut r);
        specs.push((comp_dir.join(format!("{n}_{v}.yml")), spec));
    }
    let results = run_jobs(s, &o.engine, &jobs).await;
    let mut files = Vec::new();
    for ((rel, job), r) in owners.into_iter().zip(&jobs).zip(results) {
        let d = r.map_err(|e| context(e, &format!("pipeline {}: downloading {rel}; no YAML written", o.name)))?;
        files.push(json!({"path": format!("components/{rel}"), "size": job.size, "sha256": d.sha256}));
    }

    // YAML, after every file is verified.
    std::fs::create_dir_all(&comp_dir).map_err(|e| Error::usage(format!("cannot create {}: {e}", comp_dir.display())))?;
    for (path, spec) in &specs {
        write_atomic(path, to_yaml(spec)?.as_bytes())?;
    }
    for (step, key, local) in step_refs {
        if let Some(j) = p.pointer_mut(&format!("/jobs/{step}")).and_then(Value::as_object_mut) {
            j.remove(key.as_str());
            j.insert("component".into(), json!(local));
        }
    }
    let yaml = job_yaml(&o.name, &p, &ws);
    let ypath = folder.join("pipeline.yml");
    write_atomic(&ypath, to_yaml(&yaml)?.as_bytes())?;
    match s.output {
        OutputFormat::Json => super::print_json(&json!({
            "schemaVersion": 1, "command": "pipeline get", "workspace": ws.arm_id(), "name": o.name,
            "yaml": ypath.display().to_string(), "components": specs.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
            "files": files, "note": pipeline::NOT_TRANSFERRED,
        })),
        OutputFormat::Human => println!(
            "pipeline {} -> {} ({} components, {} code files, sha256 verified; {})",
            o.name,
            ypath.display(),
            specs.len(),
            files.len(),
            pipeline::NOT_TRANSFERRED
        ),
    }
    Ok(Exit::Ok)
}

pub(super) fn to_yaml(v: &Value) -> Result<String> {
    serde_norway::to_string(v).map_err(|e| Error::Internal(format!("YAML: {e}")))
}

/// REST pipeline job → `az ml` pipelineJob YAML.
fn job_yaml(name: &str, p: &Value, ws: &WorkspaceRef) -> Value {
    let mut y = Map::new();
    y.insert("$schema".into(), json!(PIPELINE_JOB_SCHEMA));
    y.insert("type".into(), json!("pipeline"));
    y.insert("name".into(), json!(name));
    for (r, k) in [("displayName", "display_name"), ("experimentName", "experiment_name"), ("description", "description"), ("tags", "tags"), ("settings", "settings")] {
        if let Some(v) = p.get(r).filter(|v| !v.is_null() && v.as_object().is_none_or(|m| !m.is_empty())) {
            y.insert(k.into(), v.clone());
        }
    }
    if let Some(c) = p.get("computeId").and_then(Value::as_str) {
        y.insert("compute".into(), json!(c));
    }
    let mut inputs = Map::new();
    for (k, i) in p.get("inputs").and_then(Value::as_object).into_iter().flatten() {
        let t = i.get("jobInputType").and_then(Value::as_str).unwrap_or("literal");
        let v = if t == "literal" {
            i.get("value").cloned().unwrap_or(Value::Null)
        } else {
            let mut m = Map::new();
            m.insert("type".into(), json!(t));
            for (r, k) in [("uri", "path"), ("mode", "mode"), ("description", "description")] {
                if let Some(v) = i.get(r) {
                    m.insert(k.into(), v.clone());
                }
            }
            Value::Object(m)
        };
        inputs.insert(k.clone(), v);
    }
    if !inputs.is_empty() {
        y.insert("inputs".into(), Value::Object(inputs));
    }
    let mut outputs = Map::new();
    for (k, o) in p.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        let mut m = Map::new();
        if let Some(t) = o.get("jobOutputType") {
            m.insert("type".into(), t.clone());
        }
        if let Some(md) = o.get("mode") {
            m.insert("mode".into(), md.clone());
        }
        outputs.insert(k.clone(), Value::Object(m));
    }
    if !outputs.is_empty() {
        y.insert("outputs".into(), Value::Object(outputs));
    }
    y.insert("jobs".into(), p.get("jobs").cloned().unwrap_or(json!({})));
    let mut v = Value::Object(y);
    portable_strings(&mut v, ws);
    v
}

/// `az ml` pipelineJob YAML → REST job properties (component references resolved by the caller).
fn job_rest(y: &Value, ws: &WorkspaceRef) -> Value {
    let arm = |s: &str| match s.strip_prefix("azureml:") {
        Some(n) if !n.starts_with('/') && !n.contains(':') => format!("{}/computes/{n}", ws.arm_id()),
        _ => s.to_string(),
    };
    let mut p = Map::new();
    p.insert("jobType".into(), json!("Pipeline"));
    for (k, r) in [("display_name", "displayName"), ("experiment_name", "experimentName"), ("description", "description"), ("tags", "tags")] {
        if let Some(v) = y.get(k) {
            p.insert(r.into(), v.clone());
        }
    }
    if let Some(c) = y.get("compute").and_then(Value::as_str) {
        p.insert("computeId".into(), json!(arm(c)));
    }
    if let Some(mut st) = y.get("settings").cloned() {
        if let Some(dc) = st.get("default_compute").and_then(Value::as_str).map(arm) {
            st["default_compute"] = json!(dc);
        }
        p.insert("settings".into(), st);
    }
    let mut inputs = Map::new();
    for (k, i) in y.get("inputs").and_then(Value::as_object).into_iter().flatten() {
        let v = match i {
            Value::Object(m) => {
                let mut o = Map::new();
                o.insert("jobInputType".into(), m.get("type").cloned().unwrap_or(json!("uri_folder")));
                for (k, r) in [("path", "uri"), ("mode", "mode"), ("description", "description")] {
                    if let Some(v) = m.get(k) {
                        o.insert(r.into(), v.clone());
                    }
                }
                Value::Object(o)
            }
            Value::String(s) => json!({"jobInputType": "literal", "value": s}),
            other => json!({"jobInputType": "literal", "value": other.to_string()}),
        };
        inputs.insert(k.clone(), v);
    }
    p.insert("inputs".into(), Value::Object(inputs));
    let mut outputs = Map::new();
    for (k, o) in y.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        let mut m = Map::new();
        m.insert("jobOutputType".into(), o.get("type").cloned().unwrap_or(json!("uri_folder")));
        if let Some(md) = o.get("mode") {
            m.insert("mode".into(), md.clone());
        }
        outputs.insert(k.clone(), Value::Object(m));
    }
    p.insert("outputs".into(), Value::Object(outputs));
    p.insert("jobs".into(), y.get("jobs").cloned().unwrap_or(json!({})));
    Value::Object(p)
}

// ---------------------------------------------------------------------------------------
// create

/// A component YAML read from disk: its environment checked in `ws` (a missing one is an
/// error naming the chain `<chain> → component c:v → environment e:v missing`), its local
/// code hashed. Nothing is written.
pub(super) struct LocalComponent {
    pub(super) spec: Value,
    pub(super) version: String,
    code: Option<super::assets_cmd::LocalContent>,
}

async fn get_opt(ctx: &Context, path: String) -> Result<Option<Value>> {
    match ctx.arm.get(&path).await {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

pub(super) async fn prepare_component(ctx: &Context, ws: &WorkspaceRef, cfile: &Path, chain_prefix: &str, quiet: &Engine) -> Result<LocalComponent> {
    let base = workspace_path(ws);
    let exists = |path: String| get_opt(ctx, path);
    let mut spec = read_yaml(cfile)?;
    let cname = spec.get("name").and_then(Value::as_str).ok_or_else(|| Error::usage(format!("{}: no name", cfile.display())))?.to_string();
    let version = match spec.get("version") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "1".into(),
    };
    spec["version"] = json!(version);
    let chain = format!("{chain_prefix} → component {cname}:{version}");
    if let Some(env) = spec.get("environment").and_then(Value::as_str).map(str::to_string) {
        if let Ref::Asset { workspace: None, name: en, version: ev, .. } = Ref::parse(&env, Kind::Environment) {
            let ev = match ev {
                VersionSpec::Exact(v) => v,
                _ => {
                    let c = exists(format!("{base}/environments/{}", assets::enc(&en))).await?;
                    match c.and_then(|c| c.pointer("/properties/latestVersion").and_then(Value::as_str).map(str::to_string)) {
                        Some(v) => v,
                        None => return Err(Error::Usage(format!("{chain} → environment {en} missing in workspace {}", ws.workspace_name))),
                    }
                }
            };
            let path = format!("{base}/environments/{}/versions/{}", assets::enc(&en), assets::enc(&ev));
            if exists(path).await?.is_none() {
                return Err(Error::Usage(format!("{chain} → environment {en}:{ev} missing in workspace {}", ws.workspace_name)));
            }
            spec["environment"] = json!(format!("azureml:{base}/environments/{en}/versions/{ev}"));
        }
    }
    let code = match spec.get("code").and_then(Value::as_str).map(str::to_string) {
        Some(c) if !c.starts_with("azureml:") => {
            let cdir = cfile.parent().unwrap_or(Path::new("."));
            Some(read_local(&cdir.join(&c), cfile, "code", quiet).await?)
        }
        _ => None,
    };
    Ok(LocalComponent { spec, version, code })
}

/// Registers a prepared component in `ws`: its local code uploaded (verified) and registered
/// as `code-<fingerprint>`, then the component. An existing version is reused when its
/// specification and code files (sha256) are the same, refused otherwise. Returns the
/// component's `azureml:<ARM id>` and whether anything was registered.
#[allow(clippy::too_many_arguments)]
pub(super) async fn register_component(
    s: &Settings,
    engine: &EngineOptions,
    ctx: &Context,
    ws: &WorkspaceRef,
    ds: &Datastores,
    quiet: &Engine,
    l: &mut LocalComponent,
    label_prefix: &str,
) -> Result<(String, bool)> {
    let base = workspace_path(ws);
    let exists = |path: String| get_opt(ctx, path);
    let upload_ds = ds.default_blob()?.name.clone();
    let dst = ds.open(&upload_ds).await?;
    let cname = l.spec["name"].as_str().unwrap_or_default().to_string();
    let label = format!("{label_prefix} → component {cname}:{}", l.version);
    let cpath = format!("{base}/components/{}/versions/{}", assets::enc(&cname), assets::enc(&l.version));
    if let Some(existing) = exists(cpath.clone()).await? {
        // Reuse only when the specification and the code's files are the same.
        let have = existing.pointer("/properties/componentSpec").cloned().unwrap_or(Value::Null);
        // The code is compared by its files below, not by the reference.
        let without_code = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("code");
            }
            v
        };
        let mut why: Vec<String> = crate::compare::spec_difference(&without_code(&l.spec), &without_code(&have)).into_iter().collect();
        if let (Some(lc), Some(code_ref)) = (&l.code, have.get("code").and_then(Value::as_str)) {
            if let Ref::Asset { name: cn, version: VersionSpec::Exact(cv), .. } = Ref::parse(code_ref, Kind::Code) {
                let cp = ctx.arm.get(&format!("{base}/codes/{}/versions/{}", assets::enc(&cn), assets::enc(&cv))).await?;
                let mut item = AssetItem { kind: Kind::Code, name: cn, version: cv, properties: cp["properties"].clone(), container: Value::Null, content: None };
                let ours: Vec<(String, u64, String)> = lc
                    .files
                    .iter()
                    .map(|(p, size, sha, _)| (p.as_str().strip_prefix(&lc.leaf).unwrap_or(p.as_str()).to_string(), *size, sha.clone()))
                    .collect();
                if !crate::compare::holds_files(&ours, &mut item, ds, quiet).await? {
                    why.push("its code files differ (sha256)".into());
                }
            }
        }
        if !why.is_empty() {
            return Err(Error::Usage(format!("{label} already exists in workspace {} and {}; registered versions cannot change", ws.workspace_name, why.join(", "))));
        }
        return Ok((format!("azureml:{base}/components/{cname}/versions/{}", l.version), false));
    }
    if let Some(lc) = &l.code {
        let mut h = Sha256::new();
        for (p, size, sha, _) in &lc.files {
            h.update(format!("{p}\t{size}\t{sha}\n"));
        }
        let fp = hex::encode(h.finalize())[..32].to_string();
        let jobs: Vec<FileJob> = lc
            .files
            .iter()
            .map(|(p, size, sha, etag)| {
                Ok(FileJob {
                    src: lc.store.clone() as Arc<dyn Store>,
                    src_path: p.clone(),
                    dst: dst.clone() as Arc<dyn Store>,
                    dst_path: StorePath::parse(&format!("LocalUpload/{fp}/{p}"))?,
                    size: *size,
                    expected_sha256: Some(sha.clone()),
                    src_md5: None,
                    src_tag: crate::storage::source_tag(&lc.store.uri(p), etag.as_deref()),
                    src_etag: etag.clone(),
                })
            })
            .collect::<Result<_>>()?;
        for r in run_jobs(s, engine, &jobs).await {
            r.map_err(|e| context(e, &format!("{label} → code: nothing registered (rerun to resume)")))?;
        }
        let code_name = format!("code-{}", &fp[..16]);
        let code_path = format!("{base}/codes/{code_name}/versions/1");
        if exists(format!("{base}/codes/{}/versions/1", assets::enc(&code_name))).await?.is_none() {
            let uri = blob_folder_url(ctx, dst.account(), dst.container(), &format!("LocalUpload/{fp}/{}", lc.leaf));
            assets::register_props(&ctx.arm, ws, Kind::Code, &code_name, &Value::Null, "1", false, &json!({"codeUri": uri})).await?;
        }
        l.spec["code"] = json!(format!("azureml:{code_path}"));
    }
    let props = json!({"componentSpec": l.spec, "description": l.spec.get("description").cloned().unwrap_or(Value::Null), "tags": l.spec.get("tags").cloned().unwrap_or(json!({}))});
    assets::register_props(&ctx.arm, ws, Kind::Component, &cname, &Value::Null, &l.version, false, &props).await?;
    Ok((format!("azureml:{base}/components/{cname}/versions/{}", l.version), true))
}


pub(super) fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_norway::from_str(&text).map_err(|e| Error::usage(format!("{}: not YAML: {e}", path.display())))
}

/// Inputs (of the pipeline and of its steps) whose `path` is a local file or folder.
fn local_inputs(y: &Value) -> Vec<(String, String)> {
    let is_local = |p: &str| !(p.contains("://") || p.starts_with("azureml:") || p.starts_with("${{"));
    let mut out = Vec::new();
    let mut scan = |prefix: String, inputs: Option<&Value>| {
        for (k, i) in inputs.and_then(Value::as_object).into_iter().flatten() {
            if let Some(p) = i.get("path").and_then(Value::as_str).filter(|p| is_local(p)) {
                out.push((format!("{prefix}inputs.{k}.path"), p.to_string()));
            }
        }
    };
    scan(String::new(), y.get("inputs"));
    for (step, j) in y.get("jobs").and_then(Value::as_object).into_iter().flatten() {
        scan(format!("jobs.{step}."), j.get("inputs"));
    }
    out
}

pub async fn create(s: &Settings, o: &CreateOptions) -> Result<Exit> {
    let ws = write_workspace(s, "pipeline create")?;
    let y = read_yaml(&o.file)?;
    if y.get("type").and_then(Value::as_str).is_some_and(|t| t != "pipeline") {
        return Err(Error::usage(format!("{}: type is not pipeline", o.file.display())));
    }
    let name = o
        .name
        .clone()
        .or_else(|| y.get("name").and_then(Value::as_str).map(str::to_string))
        .or_else(|| o.file.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).map(str::to_string))
        .ok_or_else(|| Error::usage("give the pipeline a --name"))?;
    let dir = o.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let base = workspace_path(&ws);
    let exists = |path: String| {
        let ctx = &ctx;
        async move {
            match ctx.arm.get(&path).await {
                Ok(v) => Ok(Some(v)),
                Err(Error::NotFound(_)) => Ok(None),
                Err(e) => Err(e),
            }
        }
    };

    // 1. Read every local component and check what it needs, before writing anything.
    let mut locals: Vec<(String, LocalComponent)> = Vec::new();
    if let Some((field, path)) = local_inputs(&y).into_iter().next() {
        return Err(Error::Usage(format!(
            "{}: {field} '{path}' is local data, which pipeline create does not upload: register it as a data asset and use azureml:<name>:<version>",
            o.file.display()
        )));
    }
    for (step, j) in y.get("jobs").and_then(Value::as_object).cloned().unwrap_or_default() {
        let Some(c) = j.get("component").and_then(Value::as_str) else { continue };
        if c.starts_with("azureml:") {
            // A workspace component must be there already (registries are shared).
            if let Some((n, v)) = component_in_ws(&ctx, &ws, c).await.map_err(|e| match e {
                Error::NotFound(_) => Error::Usage(format!("pipeline {name} → component {} missing in workspace {}", c.trim_start_matches("azureml:"), ws.workspace_name)),
                other => other,
            })? {
                if exists(format!("{base}/components/{}/versions/{}", assets::enc(&n), assets::enc(&v))).await?.is_none() {
                    return Err(Error::Usage(format!("pipeline {name} → component {n}:{v} missing in workspace {}", ws.workspace_name)));
                }
            }
            continue;
        }
        let cfile = dir.join(c.strip_prefix("file:").unwrap_or(c));
        let l = prepare_component(&ctx, &ws, &cfile, &format!("pipeline {name}"), &quiet).await?;
        locals.push((step, l));
    }

    // 2. Code (uploaded, verified, registered), then components.
    let mut step_component: BTreeMap<String, String> = BTreeMap::new();
    let mut registered = Vec::new();
    for (step, l) in &mut locals {
        let (arm_ref, done) = register_component(s, &o.engine, &ctx, &ws, &ds, &quiet, l, &format!("pipeline {name}")).await?;
        if done {
            registered.push(format!("component {}:{}", l.spec["name"].as_str().unwrap_or_default(), l.version));
        }
        step_component.insert(step.clone(), arm_ref);
    }

    // 3. The pipeline: definition (default) or job (--submit).
    let mut job = job_rest(&y, &ws);
    for (step, c) in &step_component {
        job["jobs"][step]["component"] = json!(c);
    }
    let status = if o.submit {
        let path = format!("{base}/jobs/{}", assets::enc(&name));
        ctx.arm.put(&path, &json!({"properties": job})).await.map_err(|e| context(e, &format!("pipeline {name}")))?;
        "submitted"
    } else {
        let def_name = pipeline::definition_name(&name);
        let def = pipeline::definition(&name, &o.file.display().to_string(), &job);
        let path = format!("{base}/components/{}/versions/1", assets::enc(&def_name));
        match exists(path).await? {
            Some(have) => {
                let mut a = def.clone();
                let mut b = have["properties"].clone();
                for v in [&mut a, &mut b] {
                    if let Some(m) = v.pointer_mut("/properties").and_then(Value::as_object_mut) {
                        m.remove("aml-failover.sourceJob");
                    }
                }
                if crate::compare::spec_difference(&a, &b).is_some() {
                    return Err(Error::Usage(format!(
                        "the definition of pipeline {name} (component {def_name}:1) already exists in workspace {} with another graph; give another --name",
                        ws.workspace_name
                    )));
                }
                "unchanged"
            }
            None => {
                assets::register_props(&ctx.arm, &ws, Kind::Component, &def_name, &Value::Null, "1", false, &def).await?;
                "registered"
            }
        }
    };
    match s.output {
        OutputFormat::Json => super::print_json(&json!({
            "schemaVersion": 1, "command": "pipeline create", "workspace": ws.arm_id(), "name": name, "status": status,
            "definition": (!o.submit).then(|| pipeline::definition_name(&name)), "registered": registered,
        })),
        OutputFormat::Human => println!(
            "pipeline {name} {status} in {} ({}){}",
            ws.workspace_name,
            if o.submit { "job created: a new run".to_string() } else { format!("definition: component {}:1, not run", pipeline::definition_name(&name)) },
            if registered.is_empty() { String::new() } else { format!("; registered {}", registered.join(", ")) }
        ),
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> WorkspaceRef {
        WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "w".into() }
    }

    #[test]
    fn workspace_references_become_portable() {
        let base = ws().arm_id();
        assert_eq!(portable_ref(&format!("azureml:{base}/environments/e/versions/2"), &ws()).as_deref(), Some("azureml:e:2"));
        assert_eq!(portable_ref(&format!("{}/computes/cpu", base.to_ascii_lowercase()), &ws()).as_deref(), Some("azureml:cpu"));
        assert_eq!(portable_ref("azureml://registries/azureml/environments/x/labels/latest", &ws()), None);
        assert_eq!(portable_ref("/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/other/codes/c/versions/1", &ws()), None);
    }

    #[test]
    fn job_yaml_and_rest_round_trip() {
        let base = ws().arm_id();
        let rest = json!({"jobType": "Pipeline", "displayName": "d", "experimentName": "e", "computeId": format!("{base}/computes/cpu"),
            "settings": {"default_compute": format!("{base}/computes/cpu")},
            "inputs": {"lr": {"jobInputType": "literal", "value": "0.1"}, "raw": {"jobInputType": "uri_file", "uri": "azureml:titanic:1", "mode": "ReadOnlyMount"}},
            "outputs": {"m": {"jobOutputType": "uri_folder", "mode": "Upload"}},
            "jobs": {"t": {"type": "command", "component": "azureml:train:1"}}});
        let y = job_yaml("p", &rest, &ws());
        assert_eq!(y["compute"], "azureml:cpu");
        assert_eq!(y["inputs"]["lr"], "0.1");
        assert_eq!(y["inputs"]["raw"]["path"], "azureml:titanic:1");
        let back = job_rest(&y, &ws());
        assert_eq!(back, rest);
    }
}
