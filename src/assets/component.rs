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

/// The component types `az ml` knows.
pub const TYPES: &[&str] = &["command", "pipeline", "parallel", "spark"];

/// The file name a downloaded component's inline conda content is written to.
pub const CONDA_FILE: &str = "conda.yaml";

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_component_is_its_rewritten_spec() {
        let src = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/a";
        let item = AssetItem {
            kind: Kind::Component,
            name: "train".into(),
            version: "2".into(),
            properties: json!({"componentSpec": {"name": "train", "code": format!("azureml:{src}/codes/c1/versions/1"),
                "environment": "azureml:env:3"}, "provisioningState": "Succeeded"}),
            container: Value::Null,
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
