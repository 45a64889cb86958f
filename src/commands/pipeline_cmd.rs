//! `aml-failover pipeline get|create`: a pipeline job as an `az ml` v2 folder, and back.
//!
//! get: job → `<dir>/<job>/pipeline.yml` + `components/<name>_<version>.yml` + each
//! component's code in `components/<name>_<version>_code/` (every file sha256-verified, YAML
//! written after). References into the workspace become portable: components become relative
//! YAML paths, environments and data `azureml:<name>:<version>`, computes `azureml:<name>`;
//! registry references and URLs stay.
//!
//! create: folder → the workspace given by --to: local data inputs are uploaded (verified) to
//! the default blob datastore as az ml uploads them (`assets::local`), each local component's code is uploaded
//! (verified) to the default blob datastore and registered as code `code-<fingerprint>` (the
//! same files always give the same code asset), the component is registered with its
//! environment resolved in that workspace (a missing one fails with the chain named, before
//! anything is written), then the pipeline is registered as its definition (a pipeline
//! component, as `copy` does; see `assets::pipeline`) or, with --submit, created as a job.
//! A component version that already exists is reused when its specification and code files
//! (sha256) are the same, and refused otherwise: registered versions are immutable.

use super::assets_cmd::{blob_folder_url, context, read_local, read_workspace, run_jobs, write_atomic, write_workspace};
use crate::assets::refs::{self, Ref, VersionSpec};
use crate::assets::job::{self, portable_strings, JobType};
use crate::assets::{self, component, pipeline, AssetItem, Kind};
use crate::azureml::workspace_path;
use crate::assets::options::{CreateOptions, GetOptions};
use crate::settings::{OutputFormat, Settings};
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

/// (name, version) of a component reference that names `ws` or is relative; `None` for registries.
async fn component_in_ws(ctx: &Context, ws: &WorkspaceRef, r: &str) -> Result<Option<(String, String)>> {
    match Ref::parse(r, Kind::Component) {
        Ref::Asset { workspace, kind: Kind::Component, name, version } if workspace.as_ref().is_none_or(|w| refs::same_ws(w, &refs::ws_id(ws))) => {
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
    let ws = read_workspace(s, o.command)?;
    let ctx = Context::connect(&s.connect)?;
    let job = ctx.arm.get(&format!("{}/jobs/{}", workspace_path(&ws), assets::enc(&o.name))).await?;
    let props = job.get("properties").cloned().unwrap_or(Value::Null);
    let t = JobType::of_rest(&props);
    if o.command == "pipeline get" && t != JobType::Pipeline {
        return Err(Error::usage(format!("job {} is a {} job, not a pipeline job: use job get", o.name, t.yaml())));
    }
    let ds = Datastores::load(&ctx, &ws).await?;
    let folder = o.download_path.join(&o.name);
    let comp_dir = folder.join("components");
    let label = format!("{} {}", t.yaml(), o.name);

    // Components referenced by the steps, with their code.
    let mut p = job::portable_job(&props);
    let mut comps: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut step_refs: Vec<(String, String, String)> = Vec::new();
    for (step, j) in p.get("jobs").and_then(Value::as_object).cloned().unwrap_or_default() {
        for key in ["component", "componentId"] {
            let Some(r) = j.get(key).and_then(Value::as_str) else { continue };
            if let Some((n, v)) = component_in_ws(&ctx, &ws, r).await.map_err(|e| context(e, &format!("{label} → step {step}")))? {
                if let std::collections::btree_map::Entry::Vacant(slot) = comps.entry((n.clone(), v.clone())) {
                    let c = ctx.arm.get(&format!("{}/components/{}/versions/{}", workspace_path(&ws), assets::enc(&n), assets::enc(&v))).await.map_err(|e| {
                        context(e, &format!("{label} → component {n}:{v}"))
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
        let (spec, mut j, r) = portable_component(&ctx, &ws, &ds, n, v, spec, &comp_dir, &format!("{n}_{v}_code"), &label).await?;
        jobs.append(&mut j);
        owners.extend(r.into_iter().map(|r| format!("components/{r}")));
        specs.push((comp_dir.join(format!("{n}_{v}.yml")), spec));
    }
    // The code of a command, sweep (its trial) or spark job, into <folder>/code/.
    let code_ptr = if t == JobType::Sweep { "/trial/codeId" } else { "/codeId" };
    if let Some(code) = p.pointer(code_ptr).and_then(Value::as_str).map(str::to_string) {
        let (_, mut j, r) = portable_component(&ctx, &ws, &ds, &o.name, "job", &json!({"code": code}), &folder, "code", &label).await?;
        jobs.append(&mut j);
        owners.extend(r);
        if let Some(c) = p.pointer_mut(code_ptr) {
            *c = json!("./code");
        }
    }
    let results = run_jobs(s, &o.engine, &jobs).await;
    let mut files = Vec::new();
    for ((rel, job), r) in owners.into_iter().zip(&jobs).zip(results) {
        let d = r.map_err(|e| context(e, &format!("{label}: downloading {rel}; no YAML written")))?;
        files.push(json!({"path": rel, "size": job.size, "sha256": d.sha256}));
    }

    // YAML, after every file is verified.
    std::fs::create_dir_all(&folder).map_err(|e| Error::usage(format!("cannot create {}: {e}", folder.display())))?;
    if !specs.is_empty() {
        std::fs::create_dir_all(&comp_dir).map_err(|e| Error::usage(format!("cannot create {}: {e}", comp_dir.display())))?;
    }
    for (path, spec) in &mut specs {
        let stem = path.file_stem().and_then(|x| x.to_str()).unwrap_or("component").to_string();
        write_component_yaml(path, spec, &format!("{stem}_conda.yaml"))?;
    }
    for (step, key, local) in step_refs {
        if let Some(j) = p.pointer_mut(&format!("/jobs/{step}")).and_then(Value::as_object_mut) {
            j.remove(key.as_str());
            j.insert("component".into(), json!(local));
        }
    }
    let yaml = job::to_yaml(Some(&o.name), &p, Some(&ws));
    let ypath = folder.join(if t == JobType::Pipeline { "pipeline.yml" } else { "job.yml" });
    write_atomic(&ypath, to_yaml(&yaml)?.as_bytes())?;
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": 1, "command": o.command, "workspace": ws.arm_id(), "name": o.name, "type": t.yaml(),
            "yaml": ypath.display().to_string(), "components": specs.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
            "files": files, "note": pipeline::NOT_TRANSFERRED,
        })),
        OutputFormat::Human => println!(
            "{label} -> {} ({} components, {} code files, sha256 verified; {})",
            ypath.display(),
            specs.len(),
            files.len(),
            pipeline::NOT_TRANSFERRED
        ),
    }
    Ok(Exit::Ok)
}

/// A component spec written as `az ml` YAML at `path`; an inline environment's conda content
/// goes to `conda_name` next to it (the name the YAML then gives).
pub(super) fn write_component_yaml(path: &Path, spec: &mut Value, conda_name: &str) -> Result<()> {
    if let Some(text) = component::conda_to_file(spec, conda_name)? {
        write_atomic(&path.with_file_name(conda_name), text.as_bytes())?;
    }
    write_atomic(path, to_yaml(spec)?.as_bytes())
}

pub(super) fn to_yaml(v: &Value) -> Result<String> {
    serde_norway::to_string(v).map_err(|e| Error::Internal(format!("YAML: {e}")))
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
    /// `@latest` references pinned to the version they resolved to.
    pub(super) pins: Vec<String>,
    /// A pipeline component's steps that need something registered first.
    steps: Vec<(String, LocalStep)>,
    /// What registering it registered on the way (its steps' components).
    pub(super) registered: Vec<String>,
}

/// What a step of a pipeline (job or component) needs in the workspace before the pipeline.
enum LocalStep {
    /// `component: ./x.yml`: that component, registered first and named by its id.
    File(Box<LocalComponent>),
    /// An inline component with local `code:` (at this JSON pointer in the pipeline): the code
    /// uploaded and registered as a code asset.
    InlineCode(String, super::assets_cmd::LocalContent),
}

/// A component reference of `ws` checked there and pinned: `azureml:<ARM id>` and the pin when
/// it named `@latest` or no version; `None` for registry references.
async fn resolve_component(ctx: &Context, ws: &WorkspaceRef, c: &str, label: &str) -> Result<Option<(String, Option<String>)>> {
    let missing = || Error::Usage(format!("{label} → component {} missing in workspace {}", c.trim_start_matches("azureml:"), ws.workspace_name));
    let Some((n, v)) = component_in_ws(ctx, ws, c).await.map_err(|e| if matches!(e, Error::NotFound(_)) { missing() } else { e })? else { return Ok(None) };
    let base = workspace_path(ws);
    if get_opt(ctx, format!("{base}/components/{}/versions/{}", assets::enc(&n), assets::enc(&v))).await?.is_none() {
        return Err(Error::Usage(format!("{label} → component {n}:{v} missing in workspace {}", ws.workspace_name)));
    }
    let pin = (!c.contains(&format!(":{v}"))).then(|| format!("component {} → {n}:{v}", c.trim_start_matches("azureml:")));
    Ok(Some((format!("azureml:{base}/components/{n}/versions/{v}"), pin)))
}

/// The steps of a pipeline (`jobs:` of a pipeline job or component in `file`), read and
/// checked the way az ml resolves them, nothing written: `component: ./x.yml` prepared (and its
/// own steps, recursively); registered components checked and `@latest` pinned in place; an
/// inline command step made an inline component (az ml's anonymous component); an inline
/// component's conda file inlined, its environment checked, its local code hashed.
async fn prepare_steps(ctx: &Context, ws: &WorkspaceRef, pipeline: &mut Value, file: &Path, label: &str, quiet: &Engine, pins: &mut Vec<String>) -> Result<Vec<(String, LocalStep)>> {
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let parent_inputs = pipeline.get("inputs").cloned();
    let mut out = Vec::new();
    let Some(jobs) = pipeline.get_mut("jobs").and_then(Value::as_object_mut) else { return Ok(out) };
    for (step, j) in jobs.iter_mut() {
        component::inline_command_step(j, parent_inputs.as_ref());
        match j.get("component").cloned() {
            Some(Value::String(c)) if c.starts_with("azureml:") => {
                if let Some((arm, pin)) = resolve_component(ctx, ws, &c, label).await? {
                    j["component"] = json!(arm);
                    pins.extend(pin);
                }
            }
            Some(Value::String(c)) => {
                let cfile = dir.join(c.strip_prefix("file:").unwrap_or(&c));
                let l = Box::pin(prepare_component(ctx, ws, &cfile, label, quiet, None)).await?;
                pins.extend(l.pins.iter().cloned());
                out.push((step.clone(), LocalStep::File(Box::new(l))));
            }
            Some(Value::Object(c)) => {
                let body = component::inline_component_body(&Value::Object(c));
                let Some(ic) = j.pointer_mut(&format!("/component{body}")) else { continue };
                component::inline_conda(ic, &dir, file)?;
                let chain = format!("{label} → step {step}");
                if let Some(env) = ic.get("environment").and_then(Value::as_str).map(str::to_string) {
                    if let Some((arm, pin)) = resolve_env(ctx, ws, &env, &chain).await? {
                        ic["environment"] = json!(arm);
                        pins.extend(pin);
                    }
                }
                if let Some(code) = ic.get("code").and_then(Value::as_str).filter(|c| !c.starts_with("azureml:") && !c.contains("://")) {
                    let code = code.strip_prefix("file:").unwrap_or(code).to_string();
                    let lc = read_local(&dir.join(&code), file, &format!("jobs.{step}.code"), quiet).await?;
                    out.push((step.clone(), LocalStep::InlineCode(format!("/jobs/{}/component{body}/code", assets::local::esc(step)), lc)));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Registers what `prepare_steps` found, in dependency order, and names it in `pipeline`'s
/// steps by id. Returns what was registered (`component <name>:<version>`).
#[allow(clippy::too_many_arguments)]
async fn register_steps(
    s: &Settings,
    engine: &EngineOptions,
    ctx: &Context,
    ws: &WorkspaceRef,
    ds: &Datastores,
    quiet: &Engine,
    steps: &mut [(String, LocalStep)],
    pipeline: &mut Value,
    label: &str,
) -> Result<Vec<String>> {
    let mut registered = Vec::new();
    for (step, ls) in steps.iter_mut() {
        match ls {
            LocalStep::File(l) => {
                let (arm, done) = Box::pin(register_component(s, engine, ctx, ws, ds, quiet, l, label)).await?;
                registered.append(&mut l.registered);
                if done {
                    registered.push(format!("component {}:{}", l.spec["name"].as_str().unwrap_or_default(), l.version));
                }
                pipeline["jobs"][step.as_str()]["component"] = json!(arm);
            }
            LocalStep::InlineCode(at, lc) => {
                let code = upload_code(s, engine, ctx, ws, ds, lc, &format!("{label} → step {step}")).await?;
                if let Some(c) = pipeline.pointer_mut(at) {
                    *c = json!(code);
                }
            }
        }
    }
    Ok(registered)
}

async fn get_opt(ctx: &Context, path: String) -> Result<Option<Value>> {
    match ctx.arm.get(&path).await {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// An environment reference (`azureml:name:version`, `azureml:name@latest`, `azureml:name`) of
/// `ws` checked there, `@latest` pinned to the version it resolves to: `azureml:<ARM id>` and
/// the pin (`name@latest → name:3`) when there was one. Registry references and inline
/// environments are not touched (`None`).
pub(super) async fn resolve_env(ctx: &Context, ws: &WorkspaceRef, env: &str, chain: &str) -> Result<Option<(String, Option<String>)>> {
    let base = workspace_path(ws);
    let Ref::Asset { workspace: None, name: en, version: ev, .. } = Ref::parse(env, Kind::Environment) else { return Ok(None) };
    let (ev, pinned) = match ev {
        VersionSpec::Exact(v) => (v, None),
        _ => {
            let c = get_opt(ctx, format!("{base}/environments/{}", assets::enc(&en))).await?;
            match c.and_then(|c| c.pointer("/properties/latestVersion").and_then(Value::as_str).map(str::to_string)) {
                Some(v) => (v.clone(), Some(format!("environment {} → {en}:{v}", env.trim_start_matches("azureml:")))),
                None => return Err(Error::Usage(format!("{chain} → environment {en} missing in workspace {}", ws.workspace_name))),
            }
        }
    };
    let path = format!("{base}/environments/{}/versions/{}", assets::enc(&en), assets::enc(&ev));
    if get_opt(ctx, path).await?.is_none() {
        return Err(Error::Usage(format!("{chain} → environment {en}:{ev} missing in workspace {}", ws.workspace_name)));
    }
    Ok(Some((format!("azureml:{base}/environments/{en}/versions/{ev}"), pinned)))
}

/// `version`: the version to register (`--version`), replacing the YAML's.
pub(super) async fn prepare_component(ctx: &Context, ws: &WorkspaceRef, cfile: &Path, chain_prefix: &str, quiet: &Engine, version: Option<&str>) -> Result<LocalComponent> {
    let mut spec = read_yaml(cfile)?;
    if let Some(v) = version {
        job::check_version("component", v)?;
        spec["version"] = json!(v);
    }
    component::check(&spec, cfile)?;
    let cname = spec.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let version = match spec.get("version") {
        Some(Value::String(v)) => v.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "1".into(),
    };
    spec["version"] = json!(version);
    let cdir = cfile.parent().unwrap_or(Path::new("."));
    component::inline_conda(&mut spec, cdir, cfile)?;
    let chain = format!("{chain_prefix} → component {cname}:{version}");
    let mut pins = Vec::new();
    if let Some(env) = spec.get("environment").and_then(Value::as_str).map(str::to_string) {
        if let Some((arm, pin)) = resolve_env(ctx, ws, &env, &chain).await? {
            spec["environment"] = json!(arm);
            pins.extend(pin);
        }
    }
    let code = match spec.get("code").and_then(Value::as_str).map(str::to_string) {
        Some(c) if !c.starts_with("azureml:") => Some(read_local(&cdir.join(&c), cfile, "code", quiet).await?),
        _ => None,
    };
    let steps = if spec.get("type").and_then(Value::as_str) == Some("pipeline") {
        prepare_steps(ctx, ws, &mut spec, cfile, &chain, quiet, &mut pins).await?
    } else {
        Vec::new()
    };
    Ok(LocalComponent { spec, version, code, pins, steps, registered: Vec::new() })
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
    let cname = l.spec["name"].as_str().unwrap_or_default().to_string();
    let label = format!("{label_prefix} → component {cname}:{}", l.version);
    let cpath = format!("{base}/components/{}/versions/{}", assets::enc(&cname), assets::enc(&l.version));
    // Its steps' components first: the specification names them by id.
    let mut steps = std::mem::take(&mut l.steps);
    l.registered = register_steps(s, engine, ctx, ws, ds, quiet, &mut steps, &mut l.spec, &label).await?;
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
        l.spec["code"] = json!(upload_code(s, engine, ctx, ws, ds, lc, &label).await?);
    }
    let props = json!({"componentSpec": l.spec, "description": l.spec.get("description").cloned().unwrap_or(Value::Null), "tags": l.spec.get("tags").cloned().unwrap_or(json!({}))});
    assets::register_props(&ctx.arm, ws, Kind::Component, &cname, &Value::Null, &l.version, false, &props).await?;
    Ok((format!("azureml:{base}/components/{cname}/versions/{}", l.version), true))
}


/// Local code uploaded (verified) to the default blob datastore under `LocalUpload/<fingerprint>/`
/// and registered as code `code-<fingerprint>` version 1 (the same files always give the same
/// code asset; an existing one is reused). Returns its `azureml:<ARM id>`.
pub(super) async fn upload_code(
    s: &Settings,
    engine: &EngineOptions,
    ctx: &Context,
    ws: &WorkspaceRef,
    ds: &Datastores,
    lc: &super::assets_cmd::LocalContent,
    label: &str,
) -> Result<String> {
    let base = workspace_path(ws);
    let (_, dst, fp) = upload_local(s, engine, ds, lc, &format!("{label} → code")).await?;
    let code_name = format!("code-{}", &fp[..16]);
    let code_path = format!("{base}/codes/{code_name}/versions/1");
    if get_opt(ctx, format!("{base}/codes/{}/versions/1", assets::enc(&code_name))).await?.is_none() {
        let uri = blob_folder_url(ctx, dst.account(), dst.container(), &format!("LocalUpload/{fp}/{}", lc.leaf));
        assets::register_props(&ctx.arm, ws, Kind::Code, &code_name, &Value::Null, "1", false, &json!({"codeUri": uri})).await?;
    }
    Ok(format!("azureml:{code_path}"))
}

/// Local files uploaded (verified) to the default blob datastore under `LocalUpload/<hash>/`,
/// as az ml uploads them: (datastore name, its store, hash).
async fn upload_local(s: &Settings, engine: &EngineOptions, ds: &Datastores, lc: &super::assets_cmd::LocalContent, label: &str) -> Result<(String, Arc<crate::storage::blob::BlobStore>, String)> {
    let upload_ds = ds.default_blob()?.name.clone();
    let dst = ds.open(&upload_ds).await?;
    let hash = assets::local::upload_hash(lc.files.iter().map(|(p, size, sha, _)| (p.as_str(), *size, sha.as_str())));
    let jobs = lc.upload_jobs(&(dst.clone() as Arc<dyn Store>), &format!("LocalUpload/{hash}"))?;
    for r in run_jobs(s, engine, &jobs).await {
        r.map_err(|e| context(e, &format!("{label}: nothing registered (rerun to resume)")))?;
    }
    Ok((upload_ds, dst, hash))
}

/// A local job input uploaded (see `upload_local`); returns the path the input names then.
async fn upload_local_input(s: &Settings, engine: &EngineOptions, ds: &Datastores, lc: &super::assets_cmd::LocalContent, input_type: &str, label: &str) -> Result<String> {
    let (upload_ds, _, hash) = upload_local(s, engine, ds, lc, label).await?;
    Ok(assets::local::uploaded_uri(&upload_ds, &hash, &lc.leaf, input_type))
}

pub(super) fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_norway::from_str(&text).map_err(|e| Error::usage(format!("{}: not YAML: {e}", path.display())))
}

/// The job's name: `--name`, the YAML's `name:`, else its folder's name made valid as a job
/// name (`az ml` derives names from folders the same way); checked before anything is written.
fn job_name(o: &CreateOptions, y: &Value) -> Result<String> {
    let name = match o.name.clone().or_else(|| y.get("name").and_then(Value::as_str).map(str::to_string)) {
        Some(n) => n,
        None => o
            .file
            .canonicalize()
            .ok()
            .and_then(|f| f.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).and_then(job::job_name_from))
            .ok_or_else(|| Error::usage(format!("{}: the job has no name: give --name", o.file.display())))?,
    };
    job::check_name("job", &name).map_err(|e| match e {
        Error::Usage(m) => Error::Usage(format!("{m}; give --name")),
        other => other,
    })?;
    Ok(name)
}

fn in_file(e: Error, file: &Path) -> Error {
    match e {
        Error::Usage(m) => Error::Usage(format!("{}: {m}", file.display())),
        other => other,
    }
}

/// An inline environment registered as `az ml` does before creating a job that uses it:
/// `CliV2AnonymousEnvironment`, its version a hash of the image and conda content. Returns its
/// `azureml:<ARM id>`.
async fn register_inline_env(ctx: &Context, ws: &WorkspaceRef, env: &Value) -> Result<String> {
    let mut props = Map::new();
    if let Some(i) = env.get("image") {
        props.insert("image".into(), i.clone());
    }
    match env.get("conda_file") {
        Some(Value::String(t)) => {
            props.insert("condaFile".into(), json!(t));
        }
        Some(c @ Value::Object(_)) => {
            props.insert("condaFile".into(), json!(to_yaml(c)?));
        }
        _ => {}
    }
    if let Some(b) = env.get("build") {
        props.insert("build".into(), json!({"contextUri": b.get("path").cloned().unwrap_or(Value::Null), "dockerfilePath": b.get("dockerfile_path").cloned().unwrap_or(json!("Dockerfile"))}));
    }
    let props = Value::Object(props);
    let version = hex::encode(Sha256::digest(props.to_string().as_bytes()))[..32].to_string();
    let name = "CliV2AnonymousEnvironment";
    let path = format!("{}/environments/{name}/versions/{version}", workspace_path(ws));
    if get_opt(ctx, path.clone()).await?.is_none() {
        assets::register_props(&ctx.arm, ws, Kind::Environment, name, &Value::Null, &version, false, &props).await?;
    }
    Ok(format!("azureml:{path}"))
}

pub async fn create(s: &Settings, o: &CreateOptions) -> Result<Exit> {
    let ws = write_workspace(s, o.command)?;
    let mut y = read_yaml(&o.file)?;
    let t = JobType::of_yaml(&y).map_err(|e| in_file(e, &o.file))?;
    let name = job_name(o, &y)?;
    if !o.submit && matches!(t, JobType::AutoML | JobType::Spark | JobType::Other(_)) {
        return Err(Error::usage(format!(
            "{}: a {} job has no definition form (a component) in a workspace: give --submit to create the job itself",
            o.file.display(),
            t.yaml()
        )));
    }
    let dir = o.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let base = workspace_path(&ws);
    let label = format!("{} {name}", t.yaml());

    // 1. Read and check everything the job needs, before writing anything.
    // Local inputs (the job's and its steps'): read and hashed now, uploaded in step 2.
    let mut local_data = Vec::new();
    for li in assets::local::local_inputs(&y) {
        let lc = read_local(&dir.join(&li.path), &o.file, &li.field, &quiet).await?;
        local_data.push((li, lc));
    }
    let mut pins: Vec<String> = Vec::new();
    // The code and environment of a command or spark job, or of a sweep's trial.
    let body_ptr = if t == JobType::Sweep { "/trial" } else { "" };
    let mut local_code = None;
    let mut inline_env = false;
    if matches!(t, JobType::Command | JobType::Sweep | JobType::Spark | JobType::AutoML) {
        let body = y.pointer_mut(body_ptr).ok_or_else(|| Error::usage(format!("{}: a sweep job needs trial:", o.file.display())))?;
        if let Some(c) = body.get("code").and_then(Value::as_str).filter(|c| !c.starts_with("azureml:")) {
            let c = c.strip_prefix("file:").unwrap_or(c).to_string();
            local_code = Some(read_local(&dir.join(&c), &o.file, "code", &quiet).await?);
        }
        match body.get("environment").cloned() {
            Some(Value::String(env)) => {
                if let Some((arm, pin)) = resolve_env(&ctx, &ws, &env, &label).await? {
                    body["environment"] = json!(arm);
                    pins.extend(pin);
                }
            }
            Some(Value::Object(_)) => {
                component::inline_conda(body, &dir, &o.file)?;
                inline_env = true;
            }
            _ => {}
        }
    }
    // A pipeline job whose graph is a pipeline component file (`component: ./pipeline.yml`):
    // that component is registered (the component files of its steps first) and the job refers
    // to it by id, as az ml does.
    let mut top: Option<LocalComponent> = None;
    if let Some(c) = y.get("component").and_then(Value::as_str).filter(|c| t == JobType::Pipeline && !c.starts_with("azureml:")).map(str::to_string) {
        let pfile = dir.join(c.strip_prefix("file:").unwrap_or(&c));
        let pc = prepare_component(&ctx, &ws, &pfile, &label, &quiet, None).await?;
        pins.extend(pc.pins.iter().cloned());
        top = Some(pc);
    }
    // A pipeline's steps: local components (registered first, referenced by id), registered
    // ones checked and pinned, inline ones with their code.
    let mut steps = if t == JobType::Pipeline { prepare_steps(&ctx, &ws, &mut y, &o.file, &label, &quiet, &mut pins).await? } else { Vec::new() };

    // 2. Code (uploaded, verified, registered), inline environments (with --submit), components.
    let mut registered = Vec::new();
    let mut uploaded = Vec::new();
    for (li, lc) in &local_data {
        let uri = upload_local_input(s, &o.engine, &ds, lc, &li.input_type, &format!("{label} → {}", li.field)).await?;
        y.pointer_mut(&li.pointer).expect("found above")["path"] = json!(uri);
        uploaded.push(format!("{} → {uri}", li.field));
    }
    if let Some(lc) = &local_code {
        let code = upload_code(s, &o.engine, &ctx, &ws, &ds, lc, &label).await?;
        y.pointer_mut(body_ptr).expect("checked")["code"] = json!(code);
    }
    if inline_env && o.submit {
        let env = y.pointer(body_ptr).and_then(|b| b.get("environment")).cloned().unwrap_or(Value::Null);
        let arm = register_inline_env(&ctx, &ws, &env).await?;
        y.pointer_mut(body_ptr).expect("checked")["environment"] = json!(arm);
    }
    registered.extend(register_steps(s, &o.engine, &ctx, &ws, &ds, &quiet, &mut steps, &mut y, &label).await?);
    let mut top_def: Option<(String, String, bool)> = None;
    if let Some(mut pc) = top {
        let (arm_ref, done) = register_component(s, &o.engine, &ctx, &ws, &ds, &quiet, &mut pc, &label).await?;
        registered.append(&mut pc.registered);
        let pname = pc.spec["name"].as_str().unwrap_or_default().to_string();
        if done {
            registered.push(format!("component {pname}:{}", pc.version));
        }
        y["component"] = json!(arm_ref);
        top_def = Some((pname, pc.version.clone(), done));
    }

    // 3. The job: its definition (default) or the job itself (--submit). A job of a pipeline
    // component file has that component as its definition.
    let rest = job::to_rest(&y, &ws).map_err(|e| in_file(e, &o.file))?;
    let def_name = match &top_def {
        Some((n, v, _)) if !o.submit => format!("{n}:{v}"),
        _ => format!("{}:1", job::definition_name(&name)),
    };
    let status = if let (Some((_, _, done)), false) = (&top_def, o.submit) {
        if *done {
            "registered"
        } else {
            "unchanged"
        }
    } else if o.submit {
        let path = format!("{base}/jobs/{}", assets::enc(&name));
        ctx.arm.put(&path, &json!({"properties": rest})).await.map_err(|e| context(e, &label))?;
        "submitted"
    } else {
        let def = job::definition(&name, &o.file.display().to_string(), &rest).expect("types without a definition are refused above");
        let path = format!("{base}/components/{}/versions/1", assets::enc(&job::definition_name(&name)));
        match get_opt(&ctx, path).await? {
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
                        "the definition of {label} (component {def_name}) already exists in workspace {} and differs; give another --name",
                        ws.workspace_name
                    )));
                }
                "unchanged"
            }
            None => {
                assets::register_props(&ctx.arm, &ws, Kind::Component, &job::definition_name(&name), &Value::Null, "1", false, &def).await?;
                "registered"
            }
        }
    };
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": 1, "command": o.command, "workspace": ws.arm_id(), "name": name, "type": t.yaml(), "status": status,
            "definition": (!o.submit).then(|| def_name.split(':').next().unwrap_or_default().to_string()), "registered": registered, "pinned": pins, "uploaded": uploaded,
        })),
        OutputFormat::Human => println!(
            "{label} {status} in {} ({}){}{}",
            ws.workspace_name,
            if o.submit { "job created: a new run".to_string() } else { format!("definition: component {def_name}, not run") },
            if registered.is_empty() { String::new() } else { format!("; registered {}", registered.join(", ")) },
            if pins.is_empty() { String::new() } else { format!("; pinned {}", pins.join(", ")) }
        ),
    }
    if !s.printer.is_json() {
        for u in &uploaded {
            println!("  uploaded {u}");
        }
    }
    Ok(Exit::Ok)
}

