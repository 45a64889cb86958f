//! A component's specification ⇄ an `az ml` folder: `component.yml` with its code beside it
//! (download), and a component YAML registered in a workspace (register; also the local
//! components and inline steps of a pipeline that `job create` registers first). References
//! into the workspace are checked there, `@latest` pinned to the version it resolves to; a
//! missing one fails with the chain named before anything is written.

use super::upload::{prepare_build_env, read_local, register_build_env, upload_code, BuildEnv, LocalContent};
use super::{create_dir, get_opt, read_yaml, to_yaml, write_atomic, FileHash, Target, Transfers, SCHEMA_VERSION};
use crate::assets::options::{DownloadOptions, RegisterOptions};
use crate::assets::job::{self, portable_strings};
use crate::assets::refs::{self, Ref, VersionSpec};
use crate::assets::{self, component, AssetItem, Kind};
use crate::azureml::workspace_path;
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::FileJob;
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// What `component download` wrote.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DownloadReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "component download"))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    pub version: String,
    /// path of component.yml
    pub yaml: String,
    /// the code files, verified
    pub files: Vec<FileHash>,
}

/// What `component register` did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RegisterReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "component register"))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    pub version: String,
    #[schemars(extend("enum" = ["registered", "unchanged"]))]
    pub status: &'static str,
    /// the component version's reference in the workspace (`azureml:<ARM id>`)
    pub id: String,
}

/// (name, version) of a component reference that names `ws` or is relative; `None` for registries.
pub async fn component_in_ws(ctx: &Context, ws: &WorkspaceRef, r: &str) -> Result<Option<(String, String)>> {
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


/// A component spec made portable for a folder: its code's files as jobs into `dir/<code_dir>/`
/// (relative paths returned too) and `code: ./<code_dir>`; workspace references shortened.
pub async fn portable_component(
    t: &Target<'_>,
    n: &str,
    v: &str,
    spec: &Value,
    dir: &Path,
    code_dir: &str,
    chain: &str,
) -> Result<(Value, Vec<FileJob>, Vec<String>)> {
    let (ctx, ws, ds) = (t.ctx, t.ws, t.ds);
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
            .map_err(|e| e.context(format!("{chain} → component {n}:{v} → code {cn}:{cv}")))?;
        let mut item = AssetItem {
            kind: Kind::Code,
            name: cn.clone(),
            version: cv.clone(),
            properties: cprops.get("properties").cloned().unwrap_or(Value::Null),
            container: Default::default(),
            content: None,
        };
        assets::resolve_content(&mut item, ds).await?;
        content_jobs(&item, dir, code_dir, &mut jobs, &mut owners)?;
        spec["code"] = json!(format!("./{code_dir}"));
    }
    // An anonymous environment (az ml's form of an inline one) is written back inline: its
    // build context into `<dir>/<..>docker-context/`, or its image and conda content, so that
    // the YAML loads and registers elsewhere as the YAML it came from did.
    if let Some(env) = spec.get("environment").and_then(Value::as_str).map(str::to_string) {
        if let Ref::Asset { kind: Kind::Environment, name: en, version: VersionSpec::Exact(ev), workspace } = Ref::parse(&env, Kind::Environment) {
            if en == assets::environment::ANONYMOUS && workspace.as_ref().is_none_or(|w| refs::same_ws(w, &refs::ws_id(ws))) {
                let chain = format!("{chain} → component {n}:{v} → environment {en}:{ev}");
                let e = ctx.arm.get(&format!("{}/environments/{en}/versions/{}", workspace_path(ws), assets::enc(&ev))).await.map_err(|e| e.context(&chain))?;
                let mut item = AssetItem { kind: Kind::Environment, name: en, version: ev, properties: e["properties"].clone(), container: Default::default(), content: None };
                let p = &item.properties;
                let mut inline = serde_json::Map::new();
                for (rest, yaml) in [("image", "image"), ("condaFile", "conda_file")] {
                    if let Some(x) = p.get(rest).filter(|x| !x.is_null()) {
                        inline.insert(yaml.into(), x.clone());
                    }
                }
                // Linux is the service's default (az ml writes no os_type for it).
                if let Some(os) = p.get("osType").and_then(Value::as_str).filter(|o| !o.eq_ignore_ascii_case("linux")) {
                    inline.insert("os_type".into(), json!(os.to_ascii_lowercase()));
                }
                if p.pointer("/build/contextUri").is_some() {
                    let dockerfile = p.pointer("/build/dockerfilePath").cloned().unwrap_or(json!("Dockerfile"));
                    assets::resolve_content(&mut item, ds).await.map_err(|e| e.context(&chain))?;
                    let ctx_dir = code_dir.strip_suffix("code").map(|p| format!("{p}docker-context")).unwrap_or_else(|| format!("{code_dir}_docker-context"));
                    content_jobs(&item, dir, &ctx_dir, &mut jobs, &mut owners)?;
                    inline.insert("build".into(), json!({"path": format!("./{ctx_dir}"), "dockerfile_path": dockerfile}));
                }
                spec["environment"] = Value::Object(inline);
            }
        }
    }
    portable_strings(&mut spec, ws);
    Ok((spec, jobs, owners))
}

/// One transfer per file of a resolved asset's content into `dir/<sub>/`, its relative path
/// in `owners`.
fn content_jobs(item: &AssetItem, dir: &Path, sub: &str, jobs: &mut Vec<FileJob>, owners: &mut Vec<String>) -> Result<()> {
    let Some(c) = item.content.as_ref() else { return Ok(()) };
    let dst: Arc<dyn Store> = Arc::new(LocalStore::new(dir));
    for f in &c.files {
        let rel = format!("{sub}/{}", f.rel.trim_start_matches('/'));
        owners.push(rel.clone());
        jobs.push(FileJob::from_source(&c.store, &f.meta, &dst, StorePath::parse(&rel)?));
    }
    Ok(())
}

/// A component spec written as `az ml` YAML at `path`; an inline environment's conda content
/// goes to `conda_name` next to it (the name the YAML then gives).
pub fn write_component_yaml(path: &Path, spec: &mut Value, conda_name: &str) -> Result<()> {
    if let Some(text) = component::conda_to_file(spec, conda_name)? {
        write_atomic(&path.with_file_name(conda_name), text.as_bytes())?;
    }
    write_atomic(path, to_yaml(spec)?.as_bytes())
}


/// A component YAML read from disk: its environment checked in `ws` (a missing one is an
/// error naming the chain `<chain> → component c:v → environment e:v missing`), its local
/// code hashed. Nothing is written.
pub struct LocalComponent {
    pub spec: Value,
    pub version: String,
    code: Option<LocalContent>,
    /// An inline environment built from a local Docker context, registered first.
    env_build: Option<BuildEnv>,
    /// `@latest` references pinned to the version they resolved to.
    pub pins: Vec<String>,
    /// A pipeline component's steps that need something registered first.
    steps: Vec<(String, LocalStep)>,
    /// What registering it registered on the way (its steps' components).
    pub registered: Vec<String>,
}

/// What a step of a pipeline (job or component) needs in the workspace before the pipeline.
pub enum LocalStep {
    /// `component: ./x.yml` (or a sweep step's `trial: ./x.yml`, the key given): that
    /// component, registered first and named by its id.
    File(Box<LocalComponent>, &'static str),
    /// An inline component with local `code:` (at this JSON pointer in the pipeline): the code
    /// uploaded and registered as a code asset.
    InlineCode(String, LocalContent),
    /// An inline component's environment built from a local Docker context: registered
    /// anonymously first (the component already names it by id).
    BuildEnv(BuildEnv),
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
pub async fn prepare_steps(t: &Target<'_>, pipeline: &mut Value, file: &Path, label: &str, pins: &mut Vec<String>) -> Result<Vec<(String, LocalStep)>> {
    let (ctx, ws, quiet) = (t.ctx, t.ws, &t.quiet);
    let dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let parent_inputs = pipeline.get("inputs").cloned();
    let mut out = Vec::new();
    let Some(jobs) = pipeline.get_mut("jobs").and_then(Value::as_object_mut) else { return Ok(out) };
    for (step, j) in jobs.iter_mut() {
        component::inline_command_step(j, parent_inputs.as_ref());
        // A sweep step names its trial's component under `trial:` (az ml resolves it like a
        // step's `component:`: a file registered first, a reference pinned).
        let key = if j.get("type").and_then(Value::as_str) == Some("sweep") && j.get("component").is_none() { "trial" } else { "component" };
        match j.get(key).cloned() {
            Some(Value::String(c)) if c.starts_with("azureml:") => {
                if let Some((arm, pin)) = resolve_component(ctx, ws, &c, label).await? {
                    j[key] = json!(arm);
                    pins.extend(pin);
                }
            }
            Some(Value::String(c)) => {
                let cfile = dir.join(c.strip_prefix("file:").unwrap_or(&c));
                let l = Box::pin(prepare_component(t, &cfile, label, None)).await?;
                pins.extend(l.pins.iter().cloned());
                out.push((step.clone(), LocalStep::File(Box::new(l), key)));
            }
            Some(Value::Object(c)) if key == "component" => {
                let body = component::inline_component_body(&Value::Object(c));
                let Some(ic) = j.pointer_mut(&format!("/component{body}")) else { continue };
                component::inline_conda(ic, &dir, file)?;
                if let Some(b) = prepare_build_env(t, ic, &dir, file).await? {
                    out.push((step.clone(), LocalStep::BuildEnv(b)));
                }
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
pub async fn register_steps(t: &Target<'_>, steps: &mut [(String, LocalStep)], pipeline: &mut Value, label: &str) -> Result<Vec<String>> {
    let mut registered = Vec::new();
    for (step, ls) in steps.iter_mut() {
        match ls {
            LocalStep::File(l, key) => {
                // Registered anonymously, as az ml registers a pipeline's local components.
                let (arm, done) = Box::pin(register_anonymous(t, l, label)).await?;
                registered.append(&mut l.registered);
                if done {
                    registered.push(format!("component {}:{}", component::ANONYMOUS, l.version));
                }
                pipeline["jobs"][step.as_str()][*key] = json!(arm);
            }
            LocalStep::BuildEnv(b) => {
                if register_build_env(t, b, &format!("{label} → step {step}")).await? {
                    registered.push(format!("environment {}:{}", assets::environment::ANONYMOUS, b.version));
                }
            }
            LocalStep::InlineCode(at, lc) => {
                let code = upload_code(t, lc, &format!("{label} → step {step}")).await?;
                if let Some(c) = pipeline.pointer_mut(at) {
                    *c = json!(code);
                }
            }
        }
    }
    Ok(registered)
}


/// An environment reference (`azureml:name:version`, `azureml:name@latest`, `azureml:name`) of
/// `ws` checked there, `@latest` pinned to the version it resolves to: `azureml:<ARM id>` and
/// the pin (`name@latest → name:3`) when there was one. Registry references and inline
/// environments are not touched (`None`).
pub async fn resolve_env(ctx: &Context, ws: &WorkspaceRef, env: &str, chain: &str) -> Result<Option<(String, Option<String>)>> {
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
pub async fn prepare_component(t: &Target<'_>, cfile: &Path, chain_prefix: &str, version: Option<&str>) -> Result<LocalComponent> {
    let (ctx, ws, quiet) = (t.ctx, t.ws, &t.quiet);
    let mut spec = read_yaml(cfile)?;
    // A prompt flow where a component is expected: az ml registers the component that
    // `flow_spec` builds, but azure-ai-ml cannot read such a component back, so it is refused.
    if let Some(flow) = component::flow_spec(&spec, cfile) {
        return Err(component::flow_refused(cfile, &flow));
    }
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
    let env_build = prepare_build_env(t, &mut spec, cdir, cfile).await?;
    let code = match spec.get("code").and_then(Value::as_str).map(str::to_string) {
        Some(c) if !c.starts_with("azureml:") => Some(read_local(&cdir.join(&c), cfile, "code", quiet).await?),
        _ => None,
    };
    let steps = if spec.get("type").and_then(Value::as_str) == Some("pipeline") {
        prepare_steps(t, &mut spec, cfile, &chain, &mut pins).await?
    } else {
        Vec::new()
    };
    Ok(LocalComponent { spec, version, code, env_build, pins, steps, registered: Vec::new() })
}

/// Registers a prepared component in `ws`: its local code uploaded (verified) and registered
/// as `code-<fingerprint>`, then the component. An existing version is reused when its
/// specification and code files (sha256) are the same, refused otherwise. Returns the
/// component's `azureml:<ARM id>` and whether anything was registered.
pub async fn register_component(t: &Target<'_>, l: &mut LocalComponent, label_prefix: &str) -> Result<(String, bool)> {
    let (ctx, ws, ds, quiet) = (t.ctx, t.ws, t.ds, &t.quiet);
    let base = workspace_path(ws);
    let exists = |path: String| get_opt(ctx, path);
    let cname = l.spec["name"].as_str().unwrap_or_default().to_string();
    let label = format!("{label_prefix} → component {cname}:{}", l.version);
    let cpath = format!("{base}/components/{}/versions/{}", assets::enc(&cname), assets::enc(&l.version));
    // Its steps' components first: the specification names them by id.
    let mut steps = std::mem::take(&mut l.steps);
    l.registered = register_steps(t, &mut steps, &mut l.spec, &label).await?;
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
                let mut item = AssetItem { kind: Kind::Code, name: cn, version: cv, properties: cp["properties"].clone(), container: Default::default(), content: None };
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
    register_env_build(t, l, &label).await?;
    if let Some(lc) = &l.code {
        l.spec["code"] = json!(upload_code(t, lc, &label).await?);
    }
    let props = json!({"componentSpec": l.spec, "description": l.spec.get("description").cloned().unwrap_or(Value::Null), "tags": l.spec.get("tags").cloned().unwrap_or(json!({}))});
    assets::register_props(&ctx.arm, ws, Kind::Component, &cname, &Value::Null, &l.version, false, &props).await?;
    Ok((format!("azureml:{base}/components/{cname}/versions/{}", l.version), true))
}

/// A component's inline environment built from a local context, registered (and listed in
/// what was registered) before the component that names it.
async fn register_env_build(t: &Target<'_>, l: &mut LocalComponent, label: &str) -> Result<()> {
    if let Some(b) = &l.env_build {
        if register_build_env(t, b, label).await? {
            l.registered.push(format!("environment {}:{}", assets::environment::ANONYMOUS, b.version));
        }
    }
    Ok(())
}

/// Registers a pipeline's local step component the way az ml does: its own steps and code
/// first, then the component as `azureml_anonymous` with a content hash as version
/// ([`component::anonymous`]); the same content registered before is reused. Returns its
/// `azureml:<ARM id>` and whether anything was registered.
async fn register_anonymous(t: &Target<'_>, l: &mut LocalComponent, label_prefix: &str) -> Result<(String, bool)> {
    let (ctx, ws) = (t.ctx, t.ws);
    let base = workspace_path(ws);
    let label = format!("{label_prefix} → component {}:{}", l.spec["name"].as_str().unwrap_or_default(), l.version);
    let mut steps = std::mem::take(&mut l.steps);
    l.registered = register_steps(t, &mut steps, &mut l.spec, &label).await?;
    register_env_build(t, l, &label).await?;
    if let Some(lc) = &l.code {
        l.spec["code"] = json!(upload_code(t, lc, &label).await?);
    }
    let (version, spec) = component::anonymous(&l.spec);
    l.version = version.clone();
    let path = format!("{base}/components/{}/versions/{version}", component::ANONYMOUS);
    let arm = format!("azureml:{path}");
    if get_opt(ctx, path).await?.is_some() {
        return Ok((arm, false));
    }
    let props = json!({"componentSpec": spec, "isAnonymous": true, "description": spec.get("description").cloned().unwrap_or(Value::Null), "tags": spec.get("tags").cloned().unwrap_or(json!({}))});
    assets::register_props(&ctx.arm, ws, Kind::Component, component::ANONYMOUS, &Value::Null, &version, false, &props).await?;
    Ok((arm, true))
}

/// `component download`: `<dir>/<name>/component.yml` + its code in `<dir>/<name>/code/`
/// (sha256-verified; workspace references shortened to `azureml:<name>:<version>`).
pub async fn download(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &DownloadOptions) -> Result<DownloadReport> {
    let ds = Datastores::load(ctx, ws).await?;
    let item = super::pick(ctx, ws, Kind::Component, &o.name, o.version.as_deref()).await?;
    let folder = o.download_path.join(&item.name);
    let spec = item.properties.get("componentSpec").cloned().unwrap_or(Value::Null);
    let t = Target::new(ctx, ws, &ds, &o.engine, transfers);
    let (mut spec, jobs, owners) = portable_component(&t, &item.name, &item.version, &spec, &folder, "code", "component download").await?;
    component::drop_merged_includes(&mut spec);
    let mut files = Vec::new();
    for ((rel, job), r) in owners.into_iter().zip(&jobs).zip(t.run(&jobs).await) {
        let d = r.map_err(|e| e.context(format!("component {}:{}: {rel}; no YAML written", item.name, item.version)))?;
        files.push(FileHash { path: rel, size: job.size, sha256: d.sha256 });
    }
    let y = folder.join("component.yml");
    create_dir(&folder)?;
    write_component_yaml(&y, &mut spec, component::CONDA_FILE)?;
    Ok(DownloadReport {
        schema_version: SCHEMA_VERSION,
        command: "component download",
        workspace: ws.arm_id(),
        name: item.name,
        version: item.version,
        yaml: y.display().to_string(),
        files,
    })
}

/// `component register`: code uploaded (verified) and registered as `code-<fingerprint>`, the
/// environment checked in the workspace (missing: the chain is named), then the component; an
/// existing version is reused only if identical (spec and code sha256).
pub async fn register(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &RegisterOptions) -> Result<RegisterReport> {
    let ds = Datastores::load(ctx, ws).await?;
    let t = Target::new(ctx, ws, &ds, &o.engine, transfers);
    let mut l = prepare_component(&t, &o.file, &o.file.display().to_string(), o.version.as_deref()).await?;
    let (arm_ref, registered) = register_component(&t, &mut l, &o.file.display().to_string()).await?;
    let name = l.spec["name"].as_str().unwrap_or_default().to_string();
    let status = if registered { "registered" } else { "unchanged" };
    Ok(RegisterReport {
        schema_version: SCHEMA_VERSION,
        command: "component register",
        workspace: ws.arm_id(),
        name,
        version: l.version,
        status,
        id: arm_ref,
    })
}
