//! `az ml` v2 YAML for models and environments, and its conversion to and from the REST
//! shapes (`ModelVersion`, `EnvironmentVersion`, api-version 2025-12-01).
//!
//! | YAML (`az ml`)                         | REST `properties`                          |
//! |----------------------------------------|--------------------------------------------|
//! | `name`, `version`                      | resource name, version name                |
//! | `description`, `tags`, `properties`    | `description`, `tags`, `properties`        |
//! | model `path`                           | `modelUri` (after upload)                  |
//! | model `type`                           | `modelType`, verbatim (default `custom_model`) |
//! | model `stage`                          | `stage`                                    |
//! | model `flavors: {f: {k: v}}`           | `flavors: {f: {data: {k: v}}}`             |
//! | environment `image`                    | `image`                                    |
//! | environment `conda_file` (file path)   | `condaFile` (the file's text, byte for byte) |
//! | environment `build.path`               | `build.contextUri` (after upload)          |
//! | environment `build.dockerfile_path`    | `build.dockerfilePath`                     |
//! | environment `os_type`                  | `osType` (`Linux`/`Windows`)               |
//! | environment `inference_config.{liveness,readiness,scoring}_route: {path, port}` | `inferenceConfig.{liveness,readiness,scoring}Route` |
//! | `extra_rest_fields: {restName: value}` | any other REST field, verbatim (aml-failover extension) |
//!
//! REST fields that `az ml`'s YAML has no key for (`jobName`, `isArchived: true`,
//! `autoRebuild` other than `Disabled`, an environment's `stage`, `inferenceConfig.startupRoute`,
//! fields newer than this tool) are written under `extra_rest_fields` so that nothing is lost
//! on the way through a folder; the key is omitted when there is nothing to carry.
//!
//! Unknown-key policy when reading YAML: every key listed above is used; the read-only keys
//! that `az ml ... show` prints (`id`, `creation_context`, `latest_version`,
//! `utc_time_created`, `job_name`) are ignored with a warning (the service sets them); any other
//! key is an error (exit 2) naming the file and the key, because registering without it would
//! silently lose what the author meant.
//!
//! Type coercion like `az ml`: a numeric `version` becomes its text; numbers and booleans in
//! `tags`, `properties` and flavor data become strings (the REST maps are string maps).

use super::{AssetItem, Kind};
use crate::error::{Error, Result};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

pub const MODEL_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/model.schema.json";
pub const ENVIRONMENT_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/environment.schema.json";

/// The YAML file name `download` writes next to the content.
pub fn yaml_file_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Model => "model.yml",
        _ => "environment.yml",
    }
}

/// Model types `az ml` knows (sent verbatim as `modelType`).
pub const MODEL_TYPES: &[&str] = &["custom_model", "mlflow_model", "triton_model"];

/// Keys `az ml ... show` prints that the service sets; ignored (with a warning) on read.
const READ_ONLY_KEYS: &[&str] = &["id", "creation_context", "latest_version", "utc_time_created", "job_name"];
const COMMON_KEYS: &[&str] = &["$schema", "name", "version", "description", "tags", "properties", "datastore", "extra_rest_fields"];
const MODEL_KEYS: &[&str] = &["path", "type", "stage", "flavors"];
const ENVIRONMENT_KEYS: &[&str] = &["image", "conda_file", "build", "os_type", "inference_config"];
const ROUTES: &[(&str, &str)] = &[
    ("liveness_route", "livenessRoute"),
    ("readiness_route", "readinessRoute"),
    ("scoring_route", "scoringRoute"),
    ("startup_route", "startupRoute"),
];

/// Where a YAML's content is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentRef {
    /// A local file or folder (absolute or relative to the current directory, resolved
    /// against the YAML's folder). `field` is the YAML key it came from.
    Local { path: PathBuf, field: &'static str },
    /// An `azureml://…/datastores/<d>/paths/<p>` URI: content already in a workspace datastore.
    Datastore { uri: String, field: &'static str },
}

/// An `az ml` model or environment YAML, read and converted to the REST shape.
#[derive(Debug, Clone)]
pub struct ParsedAsset {
    pub kind: Kind,
    pub file: PathBuf,
    pub name: String,
    pub version: Option<String>,
    /// REST `properties` without the content location (`modelUri`, `build.contextUri`).
    pub properties: Value,
    pub content: Option<ContentRef>,
    /// `datastore:`: the blob datastore to upload to (default: the workspace's default).
    pub datastore: Option<String>,
    /// Keys ignored on read, for the operator.
    pub warnings: Vec<String>,
}

impl ParsedAsset {
    /// As an [`AssetItem`] (no container properties, no resolved content), for `assets::register`.
    pub fn to_item(&self, version: &str) -> AssetItem {
        AssetItem {
            kind: self.kind,
            name: self.name.clone(),
            version: version.to_string(),
            properties: self.properties.clone(),
            container: Default::default(),
            content: None,
        }
    }
}

/// The kind a YAML's `$schema` names, if it names one of ours.
pub fn kind_of_schema(schema: &str) -> Option<Kind> {
    let file = schema.trim().rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    match file.as_str() {
        "model.schema.json" => Some(Kind::Model),
        "environment.schema.json" => Some(Kind::Environment),
        _ => None,
    }
}

fn bad(file: &Path, msg: impl std::fmt::Display) -> Error {
    Error::Usage(format!("{}: {msg}", file.display()))
}

/// Reads `file` as a `kind` YAML (local files it names are checked, the conda file is read).
pub fn parse_file(file: &Path, kind: Kind) -> Result<ParsedAsset> {
    let text = std::fs::read_to_string(file).map_err(|e| bad(file, format!("cannot read the file: {e}")))?;
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() { PathBuf::from(".") } else { dir };
    parse_str(&text, file, &dir, kind)
}

/// [`parse_file`] on text already read; relative paths resolve against `dir`.
pub fn parse_str(text: &str, file: &Path, dir: &Path, kind: Kind) -> Result<ParsedAsset> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| bad(file, format!("not valid YAML: {e}")))?;
    let Value::Object(doc) = doc else {
        return Err(bad(file, format!("expected a YAML mapping ({kind} definition), found something else")));
    };
    if let Some(s) = doc.get("$schema") {
        let s = s.as_str().ok_or_else(|| bad(file, "$schema is not a string"))?;
        match kind_of_schema(s) {
            Some(k) if k == kind => {}
            Some(k) => return Err(bad(file, format!("$schema says this is {} definition, not {} one", article(k), article(kind)))),
            None => return Err(bad(file, format!("$schema '{}' is not the az ml {kind} schema ({})", s.trim(), schema_url(kind)))),
        }
    }
    let specific = match kind {
        Kind::Model => MODEL_KEYS,
        _ => ENVIRONMENT_KEYS,
    };
    let mut warnings = Vec::new();
    for k in doc.keys() {
        if COMMON_KEYS.contains(&k.as_str()) || specific.contains(&k.as_str()) {
            continue;
        }
        if READ_ONLY_KEYS.contains(&k.as_str()) {
            warnings.push(format!("{}: ignoring '{k}' (set by the service, not by the author)", file.display()));
            continue;
        }
        return Err(bad(
            file,
            format!(
                "key '{k}' is not part of the az ml {kind} YAML that aml-failover registers (known: {}); remove it or move it under extra_rest_fields with its REST name; nothing was registered",
                COMMON_KEYS.iter().chain(specific).copied().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let name = match doc.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(_) => return Err(bad(file, "name must be a non-empty string")),
        None => return Err(bad(file, format!("name is missing (every {kind} needs one)"))),
    };
    let version = match doc.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => return Err(bad(file, format!("version must be a string or a number, found {}", shape(other)))),
    };
    let datastore = match doc.get("datastore") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.strip_prefix("azureml:").unwrap_or(s).to_string()),
        Some(other) => return Err(bad(file, format!("datastore must be a datastore name, found {}", shape(other)))),
    };

    let mut p = Map::new();
    if let Some(d) = doc.get("description").filter(|v| !v.is_null()) {
        p.insert("description".into(), Value::String(scalar_text(file, "description", d)?));
    }
    for key in ["tags", "properties"] {
        if let Some(m) = string_map(file, key, doc.get(key))? {
            p.insert(key.into(), Value::Object(m));
        }
    }
    let mut content = None;
    match kind {
        Kind::Model => {
            let t = match doc.get("type") {
                None | Some(Value::Null) => "custom_model".to_string(),
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(other) => return Err(bad(file, format!("type must be one of {}, found {}", MODEL_TYPES.join(", "), shape(other)))),
            };
            if !MODEL_TYPES.contains(&t.as_str()) {
                warnings.push(format!(
                    "{}: type '{t}' is not one of az ml's ({}); it is registered as given",
                    file.display(),
                    MODEL_TYPES.join(", ")
                ));
            }
            p.insert("modelType".into(), Value::String(t));
            if let Some(s) = doc.get("stage").filter(|v| !v.is_null()) {
                p.insert("stage".into(), Value::String(scalar_text(file, "stage", s)?));
            }
            if let Some(f) = doc.get("flavors").filter(|v| !v.is_null()) {
                let Value::Object(f) = f else { return Err(bad(file, "flavors must be a mapping of flavor name to its settings")) };
                let mut out = Map::new();
                for (flavor, data) in f {
                    let data = string_map(file, &format!("flavors.{flavor}"), Some(data))?.unwrap_or_default();
                    out.insert(flavor.clone(), json!({ "data": data }));
                }
                if !out.is_empty() {
                    p.insert("flavors".into(), Value::Object(out));
                }
            }
            let path = match doc.get("path") {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
                Some(other) if !other.is_null() => return Err(bad(file, format!("path must be a string, found {}", shape(other)))),
                _ => return Err(bad(file, "path is missing (a model needs its files: a local file or folder, or an azureml:// datastore path)")),
            };
            content = Some(content_ref(file, dir, "path", &path)?);
        }
        _ => {
            if let Some(img) = doc.get("image").filter(|v| !v.is_null()) {
                let img = img.as_str().filter(|s| !s.trim().is_empty()).ok_or_else(|| bad(file, "image must be a non-empty string"))?;
                p.insert("image".into(), Value::String(img.trim().to_string()));
            }
            match doc.get("conda_file") {
                None | Some(Value::Null) => {}
                Some(Value::String(f)) => {
                    if is_remote(f) {
                        return Err(bad(file, format!("conda_file '{f}' is not a local file; aml-failover reads conda files from disk only")));
                    }
                    let local = dir.join(f.trim());
                    let text = std::fs::read(&local).map_err(|e| {
                        bad(file, format!("conda_file: cannot read {}: {}", local.display(), io_reason(&e)))
                    })?;
                    let text = String::from_utf8(text)
                        .map_err(|_| bad(file, format!("conda_file: {} is not UTF-8 text", local.display())))?;
                    p.insert("condaFile".into(), Value::String(text));
                }
                Some(inline @ Value::Object(_)) => {
                    // Inline conda specification: the service wants its YAML text.
                    let text = serde_norway::to_string(inline).map_err(|e| bad(file, format!("conda_file: {e}")))?;
                    p.insert("condaFile".into(), Value::String(text));
                }
                Some(other) => return Err(bad(file, format!("conda_file must be a path or a mapping, found {}", shape(other)))),
            }
            if let Some(b) = doc.get("build").filter(|v| !v.is_null()) {
                let Value::Object(b) = b else { return Err(bad(file, "build must be a mapping with path (and dockerfile_path)")) };
                for k in b.keys() {
                    if k != "path" && k != "dockerfile_path" {
                        return Err(bad(file, format!("build.{k} is not a build key aml-failover knows (path, dockerfile_path)")));
                    }
                }
                let path = b
                    .get("path")
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| bad(file, "build.path is missing (the Docker build context folder)"))?;
                let mut build = Map::new();
                if let Some(df) = b.get("dockerfile_path").filter(|v| !v.is_null()) {
                    build.insert("dockerfilePath".into(), Value::String(scalar_text(file, "build.dockerfile_path", df)?));
                }
                p.insert("build".into(), Value::Object(build));
                let r = content_ref(file, dir, "build.path", path.trim())?;
                if let ContentRef::Local { path, .. } = &r {
                    if !path.is_dir() {
                        return Err(bad(file, format!("build.path: {} is a file; a Docker build context is a folder", path.display())));
                    }
                }
                content = Some(r);
            }
            if !p.contains_key("image") && !p.contains_key("build") {
                return Err(bad(file, "an environment needs image or build"));
            }
            if let Some(os) = doc.get("os_type").filter(|v| !v.is_null()) {
                let os = os.as_str().unwrap_or_default();
                let v = match os.to_ascii_lowercase().as_str() {
                    "linux" => "Linux",
                    "windows" => "Windows",
                    _ => return Err(bad(file, format!("os_type '{os}' is not linux or windows"))),
                };
                p.insert("osType".into(), json!(v));
            }
            if let Some(ic) = doc.get("inference_config").filter(|v| !v.is_null()) {
                let Value::Object(ic) = ic else { return Err(bad(file, "inference_config must be a mapping of routes")) };
                let mut out = Map::new();
                for (k, v) in ic {
                    let Some((_, rest)) = ROUTES.iter().find(|(y, _)| y == k) else {
                        return Err(bad(file, format!("inference_config.{k} is not a route aml-failover knows (liveness_route, readiness_route, scoring_route, startup_route)")));
                    };
                    out.insert(rest.to_string(), route(file, k, v)?);
                }
                p.insert("inferenceConfig".into(), Value::Object(out));
            }
        }
    }
    if let Some(extra) = doc.get("extra_rest_fields").filter(|v| !v.is_null()) {
        let Value::Object(extra) = extra else { return Err(bad(file, "extra_rest_fields must be a mapping of REST field name to value")) };
        for (k, v) in extra {
            if matches!(k.as_str(), "modelUri" | "provisioningState" | "environmentType") {
                return Err(bad(file, format!("extra_rest_fields.{k} is set by aml-failover or by the service; remove it")));
            }
            match (p.get_mut(k), v) {
                // Fields of an object a YAML key also fills (build, inferenceConfig): merged.
                (Some(Value::Object(have)), Value::Object(more)) => {
                    for (mk, mv) in more {
                        if have.contains_key(mk) {
                            return Err(bad(file, format!("extra_rest_fields.{k}.{mk} is also set by a YAML key; keep one")));
                        }
                        have.insert(mk.clone(), mv.clone());
                    }
                }
                (Some(_), _) => return Err(bad(file, format!("extra_rest_fields.{k} is also set by a YAML key; keep one"))),
                (None, _) => {
                    p.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(ParsedAsset { kind, file: file.to_path_buf(), name, version, properties: Value::Object(p), content, datastore, warnings })
}

fn article(k: Kind) -> &'static str {
    match k {
        Kind::Model => "a model",
        _ => "an environment",
    }
}

fn schema_url(k: Kind) -> &'static str {
    match k {
        Kind::Model => MODEL_SCHEMA,
        _ => ENVIRONMENT_SCHEMA,
    }
}

/// The `$schema` written into a kind's YAML; none where `az ml` has no schema of that kind's
/// own (code), or where it depends on the component's type (another's would mislead).
fn written_schema(k: Kind) -> Option<&'static str> {
    match k {
        Kind::Model => Some(MODEL_SCHEMA),
        Kind::Environment => Some(ENVIRONMENT_SCHEMA),
        Kind::Data => Some(crate::assets::data::DATA_SCHEMA),
        _ => None,
    }
}

fn shape(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn io_reason(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "no such file".into()
    } else {
        e.to_string()
    }
}

fn scalar_text(file: &Path, key: &str, v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(bad(file, format!("{key} must be text, found {}", shape(other)))),
    }
}

/// A YAML mapping as a REST string map (numbers and booleans become text; null stays null).
fn string_map(file: &Path, key: &str, v: Option<&Value>) -> Result<Option<Map<String, Value>>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            let mut out = Map::new();
            for (k, v) in m {
                let v = match v {
                    Value::Null => Value::Null,
                    Value::String(s) => Value::String(s.clone()),
                    Value::Number(n) => Value::String(n.to_string()),
                    Value::Bool(b) => Value::String(b.to_string()),
                    other => return Err(bad(file, format!("{key}.{k} must be text, found {}", shape(other)))),
                };
                out.insert(k.clone(), v);
            }
            Ok(Some(out))
        }
        Some(other) => Err(bad(file, format!("{key} must be a mapping, found {}", shape(other)))),
    }
}

fn route(file: &Path, key: &str, v: &Value) -> Result<Value> {
    let Value::Object(m) = v else { return Err(bad(file, format!("inference_config.{key} must be a mapping with path and port"))) };
    for k in m.keys() {
        if k != "path" && k != "port" {
            return Err(bad(file, format!("inference_config.{key}.{k} is not a route key (path, port)")));
        }
    }
    let path = m.get("path").and_then(Value::as_str).ok_or_else(|| bad(file, format!("inference_config.{key}.path is missing")))?;
    let port = m
        .get("port")
        .and_then(Value::as_i64)
        .filter(|p| (0..=65535).contains(p))
        .ok_or_else(|| bad(file, format!("inference_config.{key}.port must be a port number")))?;
    Ok(json!({ "path": path, "port": port }))
}

fn is_remote(s: &str) -> bool {
    s.contains("://") || s.starts_with("azureml:")
}

/// Where `value` (of YAML key `field`) points, checked: a local path must exist; a remote one
/// must be a workspace datastore path.
fn content_ref(file: &Path, dir: &Path, field: &'static str, value: &str) -> Result<ContentRef> {
    if let Some(rest) = value.strip_prefix("azureml://") {
        let lower = rest.to_ascii_lowercase();
        if lower.starts_with("datastores/") || lower.starts_with("subscriptions/") {
            if !lower.contains("/paths/") {
                return Err(bad(file, format!("{field}: '{value}' names a datastore but no path in it (…/paths/<path>)")));
            }
            return Ok(ContentRef::Datastore { uri: value.to_string(), field });
        }
        return Err(bad(
            file,
            format!(
                "{field}: '{value}' refers to content outside the workspace (a registry, a job output or another asset); aml-failover registers local files and azureml://datastores/<name>/paths/<path> of the target workspace only; download the files and point {field} at them"
            ),
        ));
    }
    if value.starts_with("azureml:") {
        return Err(bad(
            file,
            format!("{field}: '{value}' refers to another registered asset; aml-failover registers content it can upload or that is already in a datastore of the target workspace"),
        ));
    }
    if value.contains("://") || value.starts_with("runs:/") {
        return Err(bad(
            file,
            format!("{field}: '{value}' is a remote location aml-failover cannot read or verify; download it and point {field} at the local copy"),
        ));
    }
    let local = dir.join(value.strip_prefix("file:").unwrap_or(value));
    match std::fs::metadata(&local) {
        Ok(_) => Ok(ContentRef::Local { path: local, field }),
        Err(e) => Err(bad(file, format!("{field}: {} does not exist or cannot be read ({})", local.display(), io_reason(&e)))),
    }
}

/// Local names the YAML written by `download` uses for the content.
#[derive(Debug, Clone, Default)]
pub struct LocalNames {
    /// Model `path` or environment `build.path`, relative to the YAML.
    pub content: Option<String>,
    /// Environment `conda_file`, relative to the YAML.
    pub conda_file: Option<String>,
}

/// The `az ml` YAML of an asset version read from a workspace (REST → YAML). The content
/// location is replaced by `names`; nothing else of the portable properties is dropped.
pub fn to_yaml(item: &AssetItem, names: &LocalNames) -> Result<String> {
    let v = to_yaml_value(item, names)?;
    serde_norway::to_string(&v).map_err(|e| Error::Internal(format!("cannot write YAML for {} {}: {e}", item.kind, item.name)))
}

/// [`to_yaml`] as a value (ordered like `az ml` prints it).
pub fn to_yaml_value(item: &AssetItem, names: &LocalNames) -> Result<Value> {
    let mut p = match item.portable_properties() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut y = Map::new();
    if let Some(url) = written_schema(item.kind) {
        y.insert("$schema".into(), json!(url));
    }
    y.insert("name".into(), json!(item.name));
    y.insert("version".into(), json!(item.version));
    let take_map = |p: &mut Map<String, Value>, k: &str| p.remove(k).filter(|v| v.as_object().is_some_and(|m| !m.is_empty()));
    match item.kind {
        Kind::Model => {
            let t = p.remove("modelType").and_then(|v| v.as_str().map(str::to_string)).unwrap_or_else(|| "custom_model".into());
            y.insert("type".into(), json!(t));
            if let Some(path) = &names.content {
                y.insert("path".into(), json!(path));
            }
        }
        _ => {
            if let Some(img) = p.remove("image") {
                y.insert("image".into(), img);
            }
            if let Some(c) = p.remove("condaFile") {
                match &names.conda_file {
                    Some(f) if c.is_string() => {
                        y.insert("conda_file".into(), json!(f));
                    }
                    _ => {
                        p.insert("condaFile".into(), c);
                    }
                }
            }
            if let Some(Value::Object(mut b)) = p.remove("build") {
                let mut yb = Map::new();
                if let Some(path) = &names.content {
                    yb.insert("path".into(), json!(path));
                }
                if let Some(df) = b.remove("dockerfilePath") {
                    yb.insert("dockerfile_path".into(), df);
                }
                if !b.is_empty() {
                    // Unknown build fields: keep them, verbatim, under extra_rest_fields.
                    p.insert("build".into(), Value::Object(b));
                }
                y.insert("build".into(), Value::Object(yb));
            }
            if let Some(os) = p.remove("osType") {
                y.insert("os_type".into(), os);
            }
            if let Some(Value::Object(mut ic)) = p.remove("inferenceConfig") {
                let mut yic = Map::new();
                for (yk, rk) in ROUTES {
                    if let Some(r) = ic.remove(*rk).filter(|r| !r.is_null()) {
                        yic.insert(yk.to_string(), r);
                    }
                }
                if !ic.is_empty() {
                    p.insert("inferenceConfig".into(), Value::Object(ic));
                }
                if !yic.is_empty() {
                    y.insert("inference_config".into(), Value::Object(yic));
                }
            }
        }
    }
    if let Some(d) = p.remove("description") {
        y.insert("description".into(), d);
    }
    if let Some(t) = take_map(&mut p, "tags") {
        y.insert("tags".into(), t);
    }
    if let Some(t) = take_map(&mut p, "properties") {
        y.insert("properties".into(), t);
    }
    if item.kind == Kind::Model {
        if let Some(s) = p.remove("stage") {
            y.insert("stage".into(), s);
        }
        if let Some(Value::Object(f)) = take_map(&mut p, "flavors") {
            let mut out = Map::new();
            for (name, fd) in f {
                let data = fd.get("data").cloned().filter(|d| !d.is_null()).unwrap_or_else(|| json!({}));
                let extra = fd.as_object().is_some_and(|m| m.keys().any(|k| k != "data"));
                if extra {
                    return Err(Error::Service(format!(
                        "model {}:{}: flavor '{name}' has fields besides 'data', which the az ml YAML cannot hold",
                        item.name, item.version
                    )));
                }
                out.insert(name, data);
            }
            y.insert("flavors".into(), Value::Object(out));
        }
    }
    // Defaults the service fills in itself: leaving them out keeps the YAML az ml-compatible.
    p.remove("flavors"); // empty
    p.remove("tags");
    p.remove("properties");
    if p.get("isArchived") == Some(&json!(false)) {
        p.remove("isArchived");
    }
    if p.get("autoRebuild") == Some(&json!("Disabled")) {
        p.remove("autoRebuild");
    }
    if !p.is_empty() {
        y.insert("extra_rest_fields".into(), Value::Object(p));
    }
    Ok(Value::Object(y))
}

/// Properties with the values the service fills in by default removed (empty maps,
/// `isArchived: false`, `autoRebuild: Disabled`, `osType: Linux`) and the read-only and location
/// fields dropped: what a YAML asks for, comparable with what a workspace holds.
pub fn comparable(item: &AssetItem) -> Value {
    let mut p = item.portable_properties();
    if let Value::Object(m) = &mut p {
        m.retain(|k, v| {
            let empty_map = v.as_object().is_some_and(|o| o.is_empty());
            let default = (empty_map && matches!(k.as_str(), "tags" | "properties" | "flavors"))
                || (k == "isArchived" && v == &json!(false))
                || (k == "autoRebuild" && v == &json!("Disabled"))
                || (k == "osType" && v == &json!("Linux"));
            !default
        });
        if m.get("build").is_some_and(|b| b.as_object().is_some_and(|o| o.is_empty())) {
            m.remove("build");
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: Kind, props: Value) -> AssetItem {
        AssetItem { kind, name: "n".into(), version: "3".into(), properties: props, container: Default::default(), content: None }
    }

    fn spec_example(rel: &str) -> Value {
        let dir = std::env::var_os("AML_TESTDATA_DIR")
            .map(PathBuf::from)
            .map(|d| d.join("../specs"))
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/specs"));
        let p = dir.join("azureml/2025-12-01/examples/Workspace").join(rel);
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("spec example {} missing ({e}); set AML_TESTDATA_DIR", p.display()));
        serde_json::from_str(&text).unwrap()
    }

    /// REST → YAML → REST through a real folder: everything but the location survives.
    fn round_trip(kind: Kind, props: Value) -> (Value, ParsedAsset, String) {
        let dir = tempfile::tempdir().unwrap();
        let it = item(kind, props);
        let names = match kind {
            Kind::Model => {
                std::fs::write(dir.path().join("model.pkl"), b"x").unwrap();
                LocalNames { content: Some("model.pkl".into()), conda_file: None }
            }
            _ => {
                std::fs::create_dir_all(dir.path().join("ctx")).unwrap();
                std::fs::write(dir.path().join("ctx/Dockerfile"), b"FROM x").unwrap();
                if let Some(c) = it.properties.get("condaFile").and_then(Value::as_str) {
                    std::fs::write(dir.path().join("conda.yml"), c).unwrap();
                }
                LocalNames { content: Some("ctx".into()), conda_file: Some("conda.yml".into()) }
            }
        };
        let text = to_yaml(&it, &names).unwrap();
        let file = dir.path().join(yaml_file_name(kind));
        std::fs::write(&file, &text).unwrap();
        let parsed = parse_file(&file, kind).unwrap();
        (it.portable_properties(), parsed, text)
    }

    #[test]
    fn spec_example_model_body_survives_yaml() {
        let ex = spec_example("ModelVersion/createOrUpdate.json");
        let props = ex["parameters"]["body"]["properties"].clone();
        let (want, got, text) = round_trip(Kind::Model, props);
        assert_eq!(got.properties, want, "{text}");
        assert!(text.contains("type: CustomModel"), "{text}");
        assert!(matches!(got.content, Some(ContentRef::Local { field: "path", .. })));
        // And the 200 response body (with read-only fields) converts the same way.
        let resp = ex["responses"]["200"]["body"]["properties"].clone();
        let (want, got, _) = round_trip(Kind::Model, resp);
        assert_eq!(got.properties, want);
    }

    #[test]
    fn spec_example_environment_body_survives_yaml() {
        let ex = spec_example("EnvironmentVersion/createOrUpdate.json");
        for props in [ex["parameters"]["body"]["properties"].clone(), ex["responses"]["201"]["body"]["properties"].clone()] {
            let (want, got, text) = round_trip(Kind::Environment, props);
            assert_eq!(got.properties, want, "{text}");
            assert!(text.contains("inference_config:") && text.contains("scoring_route:"), "{text}");
            assert!(text.contains("dockerfile_path: prod/Dockerfile"), "{text}");
            assert!(matches!(got.content, Some(ContentRef::Local { field: "build.path", .. })));
        }
    }

    #[test]
    fn extras_defaults_and_odd_values_are_kept() {
        let props = json!({
            "modelType": "mlflow_model", "modelUri": "azureml://datastores/d/paths/p", "stage": "Production",
            "description": "multi\nline: yes", "tags": {"quality": "0.93", "n": null}, "properties": {"r2": "0.71", "t": "true"},
            "flavors": {"python_function": {"data": {"loader_module": "mlflow.sklearn", "python_version": "3.8"}}},
            "jobName": "job-1", "isArchived": true, "isAnonymous": false, "provisioningState": "Succeeded"
        });
        let (want, got, text) = round_trip(Kind::Model, props);
        assert_eq!(got.properties, want, "{text}");
        assert!(text.contains("extra_rest_fields:") && text.contains("jobName: job-1"), "{text}");
        let env = json!({
            "image": "img:1", "condaFile": "name: x\r\ndependencies:\r\n- python=3.10\r\n", "osType": "Windows",
            "autoRebuild": "OnBaseImageUpdate", "stage": "Development", "environmentType": "UserCreated",
            "inferenceConfig": {"startupRoute": {"path": "/s", "port": 1}, "scoringRoute": {"path": "/score", "port": 5001}}
        });
        let (want, got, text) = round_trip(Kind::Environment, env);
        assert_eq!(got.properties, want, "{text}");
        // Service defaults are not written.
        let (_, _, text) = round_trip(Kind::Environment, json!({"image": "i", "osType": "Linux", "autoRebuild": "Disabled", "isArchived": false, "tags": {}}));
        assert!(!text.contains("extra_rest_fields") && !text.contains("tags"), "{text}");
    }

    #[test]
    fn az_ml_yaml_converts_like_the_cli() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("m")).unwrap();
        std::fs::write(dir.path().join("m/model.pkl"), b"x").unwrap();
        let f = dir.path().join("model.yml");
        let y = "$schema: https://azuremlschemas.azureedge.net/latest/model.schema.json\nname: m1\nversion: 3\npath: m/model.pkl\ntags:\n  quality: 0.93\n  ok: true\nflavors:\n  sklearn:\n    version: 1.2\n";
        let p = parse_str(y, &f, dir.path(), Kind::Model).unwrap();
        assert_eq!(p.version.as_deref(), Some("3"));
        assert_eq!(
            p.properties,
            json!({"tags": {"quality": "0.93", "ok": "true"}, "modelType": "custom_model", "flavors": {"sklearn": {"data": {"version": "1.2"}}}})
        );
        // Inline conda file.
        let y = "name: e\nimage: i\nconda_file:\n  name: x\n  dependencies: [python=3.10]\nos_type: linux\n";
        let p = parse_str(y, &f, dir.path(), Kind::Environment).unwrap();
        assert!(p.properties["condaFile"].as_str().unwrap().contains("python=3.10"));
        assert_eq!(p.properties["osType"], "Linux");
        assert!(p.content.is_none());
    }

    #[test]
    fn bad_yaml_is_rejected_with_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.yml");
        let cases: &[(Kind, &str, &str)] = &[
            (Kind::Model, "name: m\npath: nothing-here.pkl\n", "path: "),
            (Kind::Model, "name: m\npath: azureml:other-model:1\n", "refers to another registered asset"),
            (Kind::Model, "name: m\npath: azureml://registries/azureml/models/x/versions/1\n", "outside the workspace"),
            (Kind::Model, "name: m\npath: https://example.com/m.pkl\n", "remote location"),
            (Kind::Model, "name: m\npath: x\ncolour: blue\n", "key 'colour'"),
            (Kind::Model, "path: x\n", "name is missing"),
            (Kind::Model, "$schema: https://azuremlschemas.azureedge.net/latest/environment.schema.json\nname: e\n", "environment definition"),
            (Kind::Environment, "name: e\nimage: i\nconda_file: missing.yml\n", "conda_file: "),
            (Kind::Environment, "name: e\n", "image or build"),
            (Kind::Environment, "name: e\nimage: i\nos_type: beos\n", "os_type"),
            (Kind::Environment, "name: e\nbuild:\n  path: nowhere\n", "build.path: "),
            (Kind::Environment, "name: e\nimage: i\ninference_config:\n  scoring_route: {path: /s}\n", "port"),
            (Kind::Model, "version: [1]\nname: m\npath: x\n", "version must be"),
            (Kind::Model, "version: {{MODEL_VERSION}}\nname: m\n", "x.yml"),
        ];
        for (kind, y, want) in cases {
            let e = parse_str(y, &f, dir.path(), *kind).unwrap_err();
            assert!(matches!(e, Error::Usage(_)), "{y}: {e}");
            let msg = e.to_string();
            assert!(msg.contains(want) && msg.contains("x.yml"), "{y}: {msg}");
        }
        // Read-only keys of `az ml ... show` output are ignored, with a warning.
        std::fs::write(dir.path().join("m.pkl"), b"1").unwrap();
        let p = parse_str("name: m\npath: m.pkl\nid: /subscriptions/x\ncreation_context: {}\n", &f, dir.path(), Kind::Model).unwrap();
        assert_eq!(p.warnings.len(), 2);
    }

    #[test]
    fn datastore_paths_are_accepted_without_upload() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.yml");
        let p = parse_str("name: m\npath: azureml://datastores/workspaceblobstore/paths/models/a/\n", &f, dir.path(), Kind::Model).unwrap();
        assert_eq!(
            p.content,
            Some(ContentRef::Datastore { uri: "azureml://datastores/workspaceblobstore/paths/models/a/".into(), field: "path" })
        );
    }
}
