//! Components (command, pipeline, parallel, spark) as `az ml` YAML and as
//! `ComponentVersion.componentSpec` (2025-12-01): the spec *is* the YAML's mapping, with its
//! local references resolved at register time the way `az ml` resolves them (code uploaded by
//! the caller; an inline environment's `conda_file: ./conda.yaml` read and inlined as content)
//! and turned back into files when a component is written as a folder (`conda.yaml` next to
//! the `component.yml` that names it). Fields not named here are carried verbatim.

use super::job::{check_component_name, check_version};
use super::kind::{AssetKind, Kind, Names};
use super::refs::{self, Dep, Rewrite, Rewriter};
use super::AssetItem;
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use serde_json::{json, Value};
use std::path::Path;

/// The component kind: compared and registered by its specification, references rewritten
/// into the target (code, environment, and a pipeline component's steps).
pub struct Component;

impl AssetKind for Component {
    fn kind(&self) -> Kind {
        Kind::Component
    }
    fn names(&self) -> &'static Names {
        &Names { name: "component", plural: "components", aliases: &["components", "component"], segment: "components" }
    }
    fn needs(&self) -> &'static [Kind] {
        &[Kind::Code, Kind::Environment, Kind::Component]
    }
    fn dependencies(&self, props: &Value) -> Vec<Dep> {
        refs::component_dependencies(props)
    }
    fn desired(&self, item: &AssetItem, _from: &WorkspaceRef, _submit: bool, rw: &Rewriter) -> Option<(Value, Vec<Rewrite>)> {
        let mut v = item.portable_properties();
        let rewrites = rw.rewrite(&mut v);
        Some((v, rewrites))
    }
}

/// The component types `az ml` knows (`promptflow_parallel`: a prompt flow, see [`flow_spec`]).
pub const TYPES: &[&str] = &["command", "pipeline", "parallel", "spark", FLOW_TYPE];

/// The component type az ml makes of a prompt flow.
pub const FLOW_TYPE: &str = "promptflow_parallel";

/// Why a prompt flow step is refused (exit 2, before any write): az ml registers it as the
/// component [`flow_spec`] builds, but Microsoft's azure-ai-ml cannot read a
/// `promptflow_parallel` component back (`FlowComponent._from_rest_object_to_init_params`
/// raises), so `az ml component show` and the failover's SDK users could not open it.
pub fn flow_refused(file: &Path, flow: &Value) -> Error {
    Error::usage(format!(
        "{}: a prompt flow as a component ({} {}:{}): az ml registers it as a {FLOW_TYPE} component, which azure-ai-ml cannot read back ('FlowComponent does not support loading from REST object'), so aml-failover does not register it; register the flow with az ml and name the component as azureml:<name>:<version>",
        file.display(),
        FLOW_TYPE,
        flow["name"].as_str().unwrap_or_default(),
        flow["version"].as_str().unwrap_or_default()
    ))
}

/// A prompt flow named where a component file is expected (a step's `component:
/// ./flow.dag.yaml`, or a flow run YAML with `flow: ./folder`), as the component az ml makes of
/// it (azure-ai-ml `FlowComponent._to_rest_object`): named after the flow's folder (`-` made
/// `_`), version 1, type `promptflow_parallel`, `code` the flow's folder (the caller uploads
/// it as code), `flow_file_name` the flow file in it, and the run's settings carried.
/// `None` when `doc` (read from `file`) is not a flow.
pub fn flow_spec(doc: &Value, file: &Path) -> Option<Value> {
    let schema = doc.get("$schema").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
    let fname = file.file_name()?.to_str()?;
    let dir = file.parent().unwrap_or(Path::new("."));
    let (folder, code, flow_file) = if schema.ends_with("/flow.schema.json") || fname == "flow.dag.yaml" || fname == "flow.dag.yml" {
        (dir.to_path_buf(), ".".to_string(), fname.to_string())
    } else if schema.ends_with("/run.schema.json") {
        let flow = doc.get("flow")?.as_str()?;
        let p = dir.join(flow);
        if p.is_file() {
            let parent = Path::new(flow).parent().map(|x| x.display().to_string()).filter(|x| !x.is_empty()).unwrap_or_else(|| ".".into());
            (p.parent()?.to_path_buf(), parent, p.file_name()?.to_str()?.to_string())
        } else {
            (p, flow.to_string(), "flow.dag.yaml".to_string())
        }
    } else {
        return None;
    };
    let folder = folder.canonicalize().unwrap_or(folder);
    let name = folder.file_name()?.to_str()?.replace('-', "_");
    let mut spec = json!({"name": name, "version": "1", "type": FLOW_TYPE, "is_deterministic": true, "code": code, "flow_file_name": flow_file});
    for k in ["display_name", "description", "tags", "environment_variables", "column_mapping", "connections", "variant", "additional_includes", "environment"] {
        if let Some(v) = doc.get(k).filter(|v| !v.is_null() && schema.ends_with("/run.schema.json")) {
            spec[k] = v.clone();
        }
    }
    Some(spec)
}

/// The file name a downloaded component's inline conda content is written to.
pub const CONDA_FILE: &str = "conda.yaml";

/// A registered component's `additional_includes` were merged into its code snapshot when it
/// was registered (as az ml does): the downloaded `code/` folder holds them, so the YAML written
/// beside it must not name them again (azure-ai-ml refuses an include it cannot find).
pub fn drop_merged_includes(spec: &mut Value) {
    if spec.get("code").is_some() {
        if let Some(m) = spec.as_object_mut() {
            m.remove("additional_includes");
        }
    }
}

/// The name az ml registers a pipeline's local step components under.
pub const ANONYMOUS: &str = "azureml_anonymous";

/// A pipeline's local step component as az ml registers it: anonymously, as
/// [`ANONYMOUS`] with a version that is a hash of its specification (references already
/// resolved, code already registered), so that two pipelines' different components of the same
/// YAML name never collide and the same component is registered once. Returns the version and
/// the specification to register (its own name kept as display name when it has none).
pub fn anonymous(spec: &Value) -> (String, Value) {
    use sha2::{Digest, Sha256};
    let mut s = spec.clone();
    if let Some(m) = s.as_object_mut() {
        m.remove("version");
        if let Some(n) = m.get("name").cloned() {
            m.entry("display_name").or_insert(n);
        }
        m.insert("name".into(), json!(ANONYMOUS));
    }
    // serde_json's maps are ordered, so the text (and the hash) is the same for the same spec.
    let version = hex::encode(Sha256::digest(s.to_string().as_bytes()))[..32].to_string();
    s["version"] = json!(version);
    (version, s)
}

/// Checks what the service and `az ml` would refuse, before anything is written: the name
/// (`^[a-z][a-z0-9_]*$`), the version (no `<VERSION>` placeholder), the type.
pub fn check(spec: &Value, file: &Path) -> Result<()> {
    let at = |e: Error| match e {
        Error::Usage(m) => Error::Usage(format!("{}: {m}", file.display())),
        other => other,
    };
    let name = spec.get("name").and_then(Value::as_str).ok_or_else(|| Error::usage(format!("{}: no name:", file.display())))?;
    check_component_name(name).map_err(at)?;
    if let Some(v) = spec.get("version") {
        let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
        check_version("component", &v).map_err(at)?;
    }
    if let Some(t) = spec.get("type").and_then(Value::as_str) {
        if !TYPES.contains(&t) {
            return Err(Error::usage(format!("{}: component type '{t}' is not one of {}", file.display(), TYPES.join(", "))));
        }
    }
    Ok(())
}

/// An inline environment's `conda_file: <path>` read (relative to `dir`) and inlined as its
/// content, as `az ml` does at register time. A missing or unreadable file is an error naming
/// it; nothing has been written yet.
pub fn inline_conda(spec: &mut Value, dir: &Path, file: &Path) -> Result<()> {
    let Some(env) = spec.get_mut("environment").and_then(Value::as_object_mut) else { return Ok(()) };
    let Some(path) = env.get("conda_file").and_then(Value::as_str).map(str::to_string) else { return Ok(()) };
    let p = dir.join(path.strip_prefix("file:").unwrap_or(&path));
    let text = std::fs::read_to_string(&p).map_err(|e| Error::usage(format!("{}: environment.conda_file {}: {e}", file.display(), p.display())))?;
    let content: Value = serde_norway::from_str(&text).map_err(|e| Error::usage(format!("{}: environment.conda_file {} is not YAML: {e}", file.display(), p.display())))?;
    env.insert("conda_file".into(), content);
    Ok(())
}

/// For a component written as a folder: an inline environment's conda content goes to a file
/// (`conda.yaml` for a component of its own) and the spec names `./<file_name>`. Returns the
/// file's text, if any.
pub fn conda_to_file(spec: &mut Value, file_name: &str) -> Result<Option<String>> {
    let Some(env) = spec.get_mut("environment").and_then(Value::as_object_mut) else { return Ok(None) };
    let text = match env.get("conda_file") {
        Some(c @ Value::Object(_)) => serde_norway::to_string(c).map_err(|e| Error::Internal(format!("YAML: {e}")))?,
        // Content stored as text (a YAML document rather than a path).
        Some(Value::String(s)) if s.contains('\n') => s.clone(),
        _ => return Ok(None),
    };
    env.insert("conda_file".into(), json!(format!("./{file_name}")));
    Ok(Some(text))
}

/// Keys of an inline step (`jobs.<step>` with no `component:`) that belong to the anonymous
/// component `az ml` makes of it, by step type; the rest (inputs' values, outputs, compute,
/// resources, distribution, limits, a parallel step's batch settings…) stays on the step.
fn inline_component_keys(step: &serde_json::Map<String, Value>) -> Option<(&'static str, &'static [&'static str])> {
    match step.get("type").and_then(Value::as_str) {
        Some("parallel") if step.get("task").is_some_and(Value::is_object) => Some(("parallel", &["task"])),
        None | Some("command") if step.get("command").is_some_and(Value::is_string) => Some(("command", &["command", "code", "environment"])),
        _ => None,
    }
}

/// Where an inline component keeps its code and its environment: (`/code`, `/environment`) for
/// a command component, under `/task` for a parallel one.
pub fn inline_component_body(component: &Value) -> &'static str {
    if component.get("type").and_then(Value::as_str) == Some("parallel") {
        "/task"
    } else {
        ""
    }
}

/// An inline command or parallel step of a pipeline made a step with an inline component, as
/// `az ml` turns it into an anonymous component: `command`, `code` and `environment` (a
/// parallel step: `task`) move into `component:`, whose inputs and outputs are declared from
/// the step's (a literal as a primitive of its type, a data input by its type, a binding by
/// the parent input it names, else `uri_folder`). `parent_inputs`: the pipeline's `inputs:`.
/// Returns whether the step changed (a step with a `component:` is left alone).
pub fn inline_command_step(step: &mut Value, parent_inputs: Option<&Value>) -> bool {
    let Some(m) = step.as_object_mut() else { return false };
    if m.contains_key("component") {
        return false;
    }
    let Some((ctype, keys)) = inline_component_keys(m) else { return false };
    let mut c = serde_json::Map::new();
    c.insert("type".into(), json!(ctype));
    for k in keys {
        if let Some(v) = m.remove(*k) {
            c.insert((*k).into(), v);
        }
    }
    let declare = |v: &Value| -> Value {
        let named = v.as_str().and_then(|s| s.trim().strip_prefix("${{parent.inputs.")).and_then(|s| s.strip_suffix("}}")).map(str::trim);
        match (v, named) {
            (_, Some(n)) => parent_inputs.and_then(|p| p.get(n)).map(primitive_or_type).unwrap_or_else(|| json!({"type": "uri_folder"})),
            (Value::String(s), None) if s.trim().starts_with("${{") => json!({"type": "uri_folder"}),
            (other, None) => primitive_or_type(other),
        }
    };
    let inputs: serde_json::Map<String, Value> = m.get("inputs").and_then(Value::as_object).into_iter().flatten().map(|(k, v)| (k.clone(), declare(v))).collect();
    let outputs: serde_json::Map<String, Value> = m
        .get("outputs")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), json!({"type": v.get("type").cloned().unwrap_or(json!("uri_folder"))})))
        .collect();
    if !inputs.is_empty() {
        c.insert("inputs".into(), Value::Object(inputs));
    }
    if !outputs.is_empty() {
        c.insert("outputs".into(), Value::Object(outputs));
    }
    m.insert("type".into(), json!(ctype));
    m.insert("component".into(), Value::Object(c));
    true
}

/// A component input declared for a value: a literal as a primitive of its type, a data input
/// (`{type, path}`) by its type, a `type: literal` input by its value's type.
fn primitive_or_type(v: &Value) -> Value {
    match v {
        Value::Bool(_) => json!({"type": "boolean"}),
        Value::Number(n) if n.is_i64() || n.is_u64() => json!({"type": "integer"}),
        Value::Number(_) => json!({"type": "number"}),
        Value::String(_) => json!({"type": "string"}),
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("literal") => primitive_or_type(o.get("value").unwrap_or(&Value::Null)),
        Value::Object(o) => json!({"type": o.get("type").cloned().unwrap_or(json!("uri_folder"))}),
        _ => json!({"type": "string"}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_step_components_are_anonymous_by_content() {
        let a = json!({"name": "hello_python_world", "version": "1", "type": "command", "command": "python hello.py"});
        let b = json!({"name": "hello_python_world", "version": "1", "type": "command", "command": "python hello.py --x"});
        let (va, sa) = anonymous(&a);
        assert_eq!((sa["name"].as_str(), sa["display_name"].as_str(), sa["version"].as_str()), (Some(ANONYMOUS), Some("hello_python_world"), Some(va.as_str())));
        assert_eq!(anonymous(&a).0, va, "the same content, the same version");
        assert_ne!(anonymous(&b).0, va, "another content under the same YAML name does not collide");
    }

    #[test]
    fn a_component_is_its_rewritten_spec() {
        let src = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/a";
        let item = AssetItem {
            kind: Kind::Component,
            name: "train".into(),
            version: "2".into(),
            properties: json!({"componentSpec": {"name": "train", "code": format!("azureml:{src}/codes/c1/versions/1"),
                "environment": "azureml:env:3"}, "provisioningState": "Succeeded"}),
            container: Default::default(),
            content: None,
        };
        let deps = Component.dependencies(&item.properties);
        let named: Vec<(Kind, &str)> = deps.iter().map(|d| (d.kind, d.name.as_str())).collect();
        assert_eq!(named, [(Kind::Code, "c1"), (Kind::Environment, "env")]);
        let next = |_: Kind, _: &str, v: &str| format!("{v}0");
        let rw = Rewriter { src: ("s".into(), "g".into(), "a".into()), dst: ("s".into(), "g".into(), "b".into()), version_of: &next };
        let ws = WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "a".into() };
        let (v, rewrites) = Component.desired(&item, &ws, false, &rw).expect("spec-only");
        assert_eq!(v["componentSpec"]["code"], "azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/b/codes/c1/versions/10");
        assert_eq!(v["componentSpec"]["environment"], "azureml:env:3", "relative references stay");
        assert_eq!(rewrites.len(), 1);
        assert!(v.get("provisioningState").is_none());
    }

    #[test]
    fn an_inline_command_step_gets_a_component() {
        let parent = json!({"lr": 0.1, "raw": {"type": "uri_file", "path": "azureml:x:1"}});
        let mut step = json!({"type": "command", "command": "python main.py", "code": "src/train", "environment": "azureml:e:1",
            "compute": "azureml:gpu", "resources": {"instance_count": 2},
            "inputs": {"epochs": 1, "lr": "${{parent.inputs.lr}}", "raw": "${{parent.inputs.raw}}", "cifar": "${{parent.jobs.get.outputs.cifar}}", "name": "x"},
            "outputs": {"model_dir": {"type": "uri_folder", "mode": "upload"}}});
        assert!(inline_command_step(&mut step, Some(&parent)));
        let c = &step["component"];
        assert_eq!(c["command"], "python main.py");
        assert_eq!(c["code"], "src/train");
        assert_eq!(c["environment"], "azureml:e:1");
        assert_eq!(c["inputs"], json!({"epochs": {"type": "integer"}, "lr": {"type": "number"}, "raw": {"type": "uri_file"}, "cifar": {"type": "uri_folder"}, "name": {"type": "string"}}));
        assert_eq!(c["outputs"], json!({"model_dir": {"type": "uri_folder"}}));
        assert_eq!(step["compute"], "azureml:gpu");
        assert_eq!(step["inputs"]["epochs"], 1);
        assert!(step.get("command").is_none() && step.get("code").is_none());
        let mut named = json!({"component": "azureml:c:1", "command": "x"});
        assert!(!inline_command_step(&mut named, None));
        let mut par = json!({"type": "parallel", "mini_batch_size": "10kb", "task": {"type": "run_function", "code": "./script"}, "inputs": {"d": {"type": "mltable", "path": "x"}}});
        assert!(inline_command_step(&mut par, None));
        assert_eq!(par["component"]["type"], "parallel");
        assert_eq!(par["component"]["task"]["code"], "./script");
        assert_eq!(inline_component_body(&par["component"]), "/task");
        assert_eq!(par["mini_batch_size"], "10kb");
    }

    #[test]
    fn a_prompt_flow_is_the_component_az_ml_makes_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let flow = dir.path().join("my-flow");
        std::fs::create_dir_all(&flow).unwrap();
        std::fs::write(flow.join("flow.dag.yaml"), "inputs: {}\n").unwrap();
        let dag = json!({"$schema": "https://azuremlschemas.azureedge.net/promptflow/latest/Flow.schema.json", "inputs": {}, "environment": {"python_requirements_txt": "r.txt"}});
        assert_eq!(
            flow_spec(&dag, &flow.join("flow.dag.yaml")).unwrap(),
            json!({"name": "my_flow", "version": "1", "type": "promptflow_parallel", "is_deterministic": true, "code": ".", "flow_file_name": "flow.dag.yaml"})
        );
        let run = json!({"$schema": "https://azuremlschemas.azureedge.net/promptflow/latest/Run.schema.json", "flow": "./my-flow", "environment_variables": {"K": "v"}});
        let got = flow_spec(&run, &dir.path().join("run.yml")).unwrap();
        assert_eq!((got["code"].as_str(), got["flow_file_name"].as_str(), &got["environment_variables"]), (Some("./my-flow"), Some("flow.dag.yaml"), &json!({"K": "v"})));
        assert!(flow_spec(&json!({"name": "c", "type": "command"}), &dir.path().join("c.yml")).is_none());
    }

    #[test]
    fn conda_is_inlined_and_written_back() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("conda.yaml"), "name: x\ndependencies:\n- python=3.10\n- pip\n").unwrap();
        let mut spec = json!({"name": "c", "environment": {"image": "img", "conda_file": "./conda.yaml"}});
        inline_conda(&mut spec, dir.path(), Path::new("c.yml")).unwrap();
        assert_eq!(spec["environment"]["conda_file"], json!({"name": "x", "dependencies": ["python=3.10", "pip"]}));
        let text = conda_to_file(&mut spec, CONDA_FILE).unwrap().unwrap();
        assert_eq!(spec["environment"]["conda_file"], "./conda.yaml");
        let back: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(back["dependencies"][0], "python=3.10");
        let mut missing = json!({"environment": {"conda_file": "./nope.yaml"}});
        let e = inline_conda(&mut missing, dir.path(), Path::new("c.yml")).unwrap_err();
        assert!(matches!(e, Error::Usage(ref m) if m.contains("nope.yaml")), "{e:?}");
    }

    #[test]
    fn names_versions_and_types_are_checked() {
        let f = Path::new("c.yml");
        assert!(check(&json!({"name": "ok_1", "version": 2, "type": "command"}), f).is_ok());
        assert!(check(&json!({"name": "Bad-Name"}), f).is_err());
        assert!(check(&json!({"name": "ok", "version": "<VERSION>"}), f).is_err());
        assert!(check(&json!({"name": "ok", "type": "weird"}), f).is_err());
    }
}
