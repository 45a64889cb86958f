//! `job|pipeline get|create`: a job as an `az ml` v2 folder, and back.
//!
//! get: job → `<dir>/<job>/pipeline.yml` (or `job.yml`) + `components/<name>_<version>.yml` +
//! each component's code in `components/<name>_<version>_code/` (every file sha256-verified,
//! YAML written after). References into the workspace become portable: components become
//! relative YAML paths, environments and data `azureml:<name>:<version>`, computes
//! `azureml:<name>`; registry references and URLs stay.
//!
//! create: folder → the workspace given by --to: local data inputs are uploaded (verified) to
//! the default blob datastore as az ml uploads them (`assets::local`), each local component's
//! code is uploaded (verified) to the default blob datastore and registered as code
//! `code-<fingerprint>` (the same files always give the same code asset), the component is
//! registered with its environment resolved in that workspace (a missing one fails with the
//! chain named, before anything is written), then the pipeline is registered as its
//! definition (a pipeline component, as `copy` does; see `assets::pipeline`) or, with
//! --submit, created as a job. A component version that already exists is reused when its
//! specification and code files (sha256) are the same, and refused otherwise: registered
//! versions are immutable.

use super::component::{component_in_ws, portable_component, prepare_component, prepare_steps, register_component, register_steps, resolve_env, write_component_yaml, LocalComponent};
use super::upload::{prepare_build_env, read_local, register_build_env, upload_code, upload_local_input};
use super::{create_dir, get_opt, read_yaml, to_yaml, write_atomic, FileHash, Target, Transfers};
use crate::assets::job::{self, JobType};
use crate::assets::options::{CreateOptions, GetOptions};
use crate::assets::{self, component, pipeline, Kind};
use crate::azureml::workspace_path;
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What `job get` / `pipeline get` wrote.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct GetReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["pipeline get", "job get"]))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    /// the job's type as az ml spells it: command, pipeline, sweep, automl, spark (other
    /// service job types in lower case)
    pub r#type: String,
    /// path of the job's YAML (pipeline.yml, else job.yml)
    pub yaml: String,
    /// paths of the component YAML files written beside it
    pub components: Vec<String>,
    /// the components' code files, verified
    pub files: Vec<FileHash>,
    /// what never transfers (status, history, metrics, outputs)
    pub note: &'static str,
}

/// What `job create` / `pipeline create` did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct CreateReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["pipeline create", "job create"]))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    /// the job's type as az ml spells it: command, pipeline, sweep, automl, spark (other
    /// service job types in lower case)
    pub r#type: String,
    /// submitted (--submit: a job was created), else the definition's registered/unchanged
    #[schemars(extend("enum" = ["submitted", "registered", "unchanged"]))]
    pub status: &'static str,
    /// name of the definition component (version 1): a command component for command and
    /// sweep jobs, a pipeline component for pipeline jobs; null with --submit
    pub definition: Option<String>,
    /// local components registered on the way, as 'component <name>:<version>'
    pub registered: Vec<String>,
    /// @latest references pinned to the version they resolved to, as '<kind> <name>@latest →
    /// <name>:<version>'
    pub pinned: Vec<String>,
    /// local inputs uploaded (sha256-verified) to the default blob datastore, as '<field> →
    /// azureml://datastores/<ds>/paths/LocalUpload/<hash>/<name>' (the path the input names
    /// then)
    pub uploaded: Vec<String>,
    /// `<type> <name>`, as messages name the job.
    #[serde(skip)]
    pub label: String,
    #[serde(skip)]
    pub workspace_name: String,
    /// --submit: the job was created (a new run).
    #[serde(skip)]
    pub submitted: bool,
    /// The definition as `<component>:<version>`.
    #[serde(skip)]
    pub definition_ref: String,
}

/// `job get` / `pipeline get`: the job `o.name` of `ws` as a folder under `o.download_path`.
pub async fn get(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &GetOptions) -> Result<GetReport> {
    let job = ctx.arm.get(&format!("{}/jobs/{}", workspace_path(ws), assets::enc(&o.name))).await?;
    let props = job.get("properties").cloned().unwrap_or(Value::Null);
    let jt = JobType::of_rest(&props);
    if o.command == "pipeline get" && jt != JobType::Pipeline {
        return Err(Error::usage(format!("job {} is a {} job, not a pipeline job: use job get", o.name, jt.yaml())));
    }
    let ds = Datastores::load(ctx, ws).await?;
    let t = Target::new(ctx, ws, &ds, &o.engine, transfers);
    let folder = o.download_path.join(&o.name);
    let comp_dir = folder.join("components");
    let label = format!("{} {}", jt.yaml(), o.name);

    // Components referenced by the steps, with their code.
    let mut p = job::portable_job(&props);
    let mut comps: BTreeMap<(String, String), Value> = BTreeMap::new();
    let mut step_refs: Vec<(String, String, String)> = Vec::new();
    for (step, j) in p.get("jobs").and_then(Value::as_object).cloned().unwrap_or_default() {
        // A sweep step's trial: `trial: <id>` or, in REST, `trial.componentId`.
        for key in ["component", "componentId", "trial"] {
            let Some(r) = j.get(key).and_then(|v| v.as_str().or_else(|| v.get("componentId").and_then(Value::as_str))) else { continue };
            if let Some((n, v)) = component_in_ws(ctx, ws, r).await.map_err(|e| e.context(format!("{label} → step {step}")))? {
                if let std::collections::btree_map::Entry::Vacant(slot) = comps.entry((n.clone(), v.clone())) {
                    let c = ctx.arm.get(&format!("{}/components/{}/versions/{}", workspace_path(ws), assets::enc(&n), assets::enc(&v))).await.map_err(|e| {
                        e.context(format!("{label} → component {n}:{v}"))
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
        let (spec, mut j, r) = portable_component(&t, n, v, spec, &comp_dir, &format!("{n}_{v}_code"), &label).await?;
        jobs.append(&mut j);
        owners.extend(r.into_iter().map(|r| format!("components/{r}")));
        specs.push((comp_dir.join(format!("{n}_{v}.yml")), spec));
    }
    // The code of a command, sweep (its trial) or spark job, into <folder>/code/.
    let code_ptr = if jt == JobType::Sweep { "/trial/codeId" } else { "/codeId" };
    if let Some(code) = p.pointer(code_ptr).and_then(Value::as_str).map(str::to_string) {
        let (_, mut j, r) = portable_component(&t, &o.name, "job", &json!({"code": code}), &folder, "code", &label).await?;
        jobs.append(&mut j);
        owners.extend(r);
        if let Some(c) = p.pointer_mut(code_ptr) {
            *c = json!("./code");
        }
    }
    let results = t.run(&jobs).await;
    let mut files = Vec::new();
    for ((rel, job), r) in owners.into_iter().zip(&jobs).zip(results) {
        let d = r.map_err(|e| e.context(format!("{label}: downloading {rel}; no YAML written")))?;
        files.push(FileHash { path: rel, size: job.size, sha256: d.sha256 });
    }

    // YAML, after every file is verified.
    create_dir(&folder)?;
    if !specs.is_empty() {
        create_dir(&comp_dir)?;
    }
    for (path, spec) in &mut specs {
        let stem = path.file_stem().and_then(|x| x.to_str()).unwrap_or("component").to_string();
        write_component_yaml(path, spec, &format!("{stem}_conda.yaml"))?;
    }
    for (step, key, local) in step_refs {
        if let Some(j) = p.pointer_mut(&format!("/jobs/{step}")).and_then(Value::as_object_mut) {
            j.remove(key.as_str());
            j.insert(if key == "trial" { "trial" } else { "component" }.into(), json!(local));
        }
    }
    let yaml = job::to_yaml(Some(&o.name), &p, Some(ws));
    let ypath = folder.join(if jt == JobType::Pipeline { "pipeline.yml" } else { "job.yml" });
    write_atomic(&ypath, to_yaml(&yaml)?.as_bytes())?;
    Ok(GetReport {
        schema_version: super::SCHEMA_VERSION,
        command: o.command,
        workspace: ws.arm_id(),
        name: o.name.clone(),
        r#type: jt.yaml().to_string(),
        yaml: ypath.display().to_string(),
        components: specs.iter().map(|(p, _)| p.display().to_string()).collect(),
        files,
        note: pipeline::NOT_TRANSFERRED,
    })
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
    let name = assets::environment::ANONYMOUS;
    let path = format!("{}/environments/{name}/versions/{version}", workspace_path(ws));
    if get_opt(ctx, path.clone()).await?.is_none() {
        assets::register_props(&ctx.arm, ws, Kind::Environment, name, &Value::Null, &version, false, &props).await?;
    }
    Ok(format!("azureml:{path}"))
}

/// `job create` / `pipeline create`: the job YAML `o.file` (and what it refers to) into `ws`.
pub async fn create(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &CreateOptions) -> Result<CreateReport> {
    let mut y = read_yaml(&o.file)?;
    let jt = JobType::of_yaml(&y).map_err(|e| in_file(e, &o.file))?;
    let name = job_name(o, &y)?;
    if !o.submit && matches!(jt, JobType::AutoML | JobType::Spark | JobType::Other(_)) {
        return Err(Error::usage(format!(
            "{}: a {} job has no definition form (a component) in a workspace: give --submit to create the job itself",
            o.file.display(),
            jt.yaml()
        )));
    }
    let dir = o.file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let ds = Datastores::load(ctx, ws).await?;
    let t = Target::new(ctx, ws, &ds, &o.engine, transfers);
    let quiet = &t.quiet;
    let base = workspace_path(ws);
    let label = format!("{} {name}", jt.yaml());

    // 1. Read and check everything the job needs, before writing anything.
    // Local inputs (the job's and its steps'): read and hashed now, uploaded in step 2.
    let mut local_data = Vec::new();
    for li in assets::local::local_inputs(&y) {
        let lc = read_local(&dir.join(&li.path), &o.file, &li.field, quiet).await?;
        local_data.push((li, lc));
    }
    let mut pins: Vec<String> = Vec::new();
    // The code and environment of a command or spark job, or of a sweep's trial.
    let body_ptr = if jt == JobType::Sweep { "/trial" } else { "" };
    let mut local_code = None;
    let mut inline_env = false;
    let mut build_env = None;
    if matches!(jt, JobType::Command | JobType::Sweep | JobType::Spark | JobType::AutoML) {
        let body = y.pointer_mut(body_ptr).ok_or_else(|| Error::usage(format!("{}: a sweep job needs trial:", o.file.display())))?;
        if let Some(c) = body.get("code").and_then(Value::as_str).filter(|c| !c.starts_with("azureml:")) {
            let c = c.strip_prefix("file:").unwrap_or(c).to_string();
            local_code = Some(read_local(&dir.join(&c), &o.file, "code", quiet).await?);
        }
        match body.get("environment").cloned() {
            Some(Value::String(env)) => {
                if let Some((arm, pin)) = resolve_env(ctx, ws, &env, &label).await? {
                    body["environment"] = json!(arm);
                    pins.extend(pin);
                }
            }
            Some(Value::Object(_)) => {
                // Built from a local context: registered anonymously in step 2, named by id.
                build_env = prepare_build_env(&t, body, &dir, &o.file).await?;
                if build_env.is_none() {
                    component::inline_conda(body, &dir, &o.file)?;
                    inline_env = true;
                }
            }
            _ => {}
        }
    }
    // A pipeline job whose graph is a pipeline component file (`component: ./pipeline.yml`):
    // that component is registered (the component files of its steps first) and the job refers
    // to it by id, as az ml does.
    let mut top: Option<LocalComponent> = None;
    if let Some(c) = y.get("component").and_then(Value::as_str).filter(|c| jt == JobType::Pipeline && !c.starts_with("azureml:")).map(str::to_string) {
        let pfile = dir.join(c.strip_prefix("file:").unwrap_or(&c));
        let pc = prepare_component(&t, &pfile, &label, None).await?;
        pins.extend(pc.pins.iter().cloned());
        top = Some(pc);
    }
    // A pipeline's steps: local components (registered first, referenced by id), registered
    // ones checked and pinned, inline ones with their code.
    let mut steps = if jt == JobType::Pipeline { prepare_steps(&t, &mut y, &o.file, &label, &mut pins).await? } else { Vec::new() };

    // 2. Code (uploaded, verified, registered), inline environments (with --submit), components.
    let mut registered = Vec::new();
    let mut uploaded = Vec::new();
    for (li, lc) in &local_data {
        let uri = upload_local_input(&t, lc, &li.input_type, &format!("{label} → {}", li.field)).await?;
        y.pointer_mut(&li.pointer).expect("found above")["path"] = json!(uri);
        uploaded.push(format!("{} → {uri}", li.field));
    }
    if let Some(lc) = &local_code {
        let code = upload_code(&t, lc, &label).await?;
        y.pointer_mut(body_ptr).expect("checked")["code"] = json!(code);
    }
    if let Some(b) = &build_env {
        if register_build_env(&t, b, &label).await? {
            registered.push(format!("environment {}:{}", assets::environment::ANONYMOUS, b.version));
        }
    }
    if inline_env && o.submit {
        let env = y.pointer(body_ptr).and_then(|b| b.get("environment")).cloned().unwrap_or(Value::Null);
        let arm = register_inline_env(ctx, ws, &env).await?;
        y.pointer_mut(body_ptr).expect("checked")["environment"] = json!(arm);
    }
    registered.extend(register_steps(&t, &mut steps, &mut y, &label).await?);
    let mut top_def: Option<(String, String, bool)> = None;
    if let Some(mut pc) = top {
        let (arm_ref, done) = register_component(&t, &mut pc, &label).await?;
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
    let rest = job::to_rest(&y, ws).map_err(|e| in_file(e, &o.file))?;
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
        ctx.arm.put(&path, &json!({"properties": rest})).await.map_err(|e| e.context(&label))?;
        "submitted"
    } else {
        let def = job::definition(&name, &o.file.display().to_string(), &rest).expect("types without a definition are refused above");
        let path = format!("{base}/components/{}/versions/1", assets::enc(&job::definition_name(&name)));
        match get_opt(ctx, path).await? {
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
                assets::register_props(&ctx.arm, ws, Kind::Component, &job::definition_name(&name), &Value::Null, "1", false, &def).await?;
                "registered"
            }
        }
    };
    Ok(CreateReport {
        schema_version: super::SCHEMA_VERSION,
        command: o.command,
        workspace: ws.arm_id(),
        name,
        r#type: jt.yaml().to_string(),
        status,
        definition: (!o.submit).then(|| def_name.split(':').next().unwrap_or_default().to_string()),
        registered,
        pinned: pins,
        uploaded,
        label,
        workspace_name: ws.workspace_name.clone(),
        submitted: o.submit,
        definition_ref: def_name,
    })
}

