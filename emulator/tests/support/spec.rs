//! Loads Microsoft's Azure ML 2025-12-01 Swagger 2.0 documents (plus the ARM
//! common-types they reference) and turns response schemas into JSON Schema
//! (draft 2020-12) validators, so emulator responses are judged by the
//! published spec and not by the emulator's own idea of the API.
//!
//! # Where the spec comes from
//! `$AML_SPECS_DIR` if set, else `<CARGO_MANIFEST_DIR>/../../shared/specs`
//! (the repo root's parent holds `shared/`). A missing directory is a hard
//! failure (panic), never a skip.
//!
//! # `$ref` resolution
//! * `#/definitions/X`, `#/parameters/X`, `#/responses/X` – same document.
//! * `other.json#/…`, `./other.json#/…` – relative to the referring file.
//! * `…/common-types/resource-management/v3/…` – the upstream prefix
//!   `../../../../../common-types/` is rewritten to `<specs>/common-types/`
//!   (see `shared/specs/SOURCE.md`).
//! * Every `#/definitions/X` becomes a `$defs` entry named `<file stem>.<X>`;
//!   parameter and response refs are inlined.
//!
//! # Swagger 2.0 → JSON Schema rules (responses)
//! 1. **`allOf` is flattened**: a definition's `properties` and `required`
//!    are the union of its own and those of every `allOf` member
//!    (recursively, own properties win on name clashes).
//! 2. **`additionalProperties`**: the definition's own declaration decides
//!    (`false` ⇒ closed object: any property not declared by the definition
//!    or its ancestors is a violation). Without an own declaration an
//!    inherited dictionary schema is kept; otherwise the object is open
//!    (Swagger 2.0 default).
//! 3. **Polymorphism**: a reference to a definition carrying `discriminator`
//!    dispatches on the discriminator property's value to the (transitive)
//!    derived definition whose `x-ms-discriminator-value` (default: the
//!    definition name) equals it, compared exactly (case-sensitive). A value
//!    no derived definition claims is validated against the base definition
//!    alone (whose own enum rules then apply). `allOf` references to a base
//!    (i.e. inheritance) use the base's own flattened schema, not the
//!    dispatcher.
//! 4. **`x-nullable: true`** (on a property, a `$ref` site, a dictionary value
//!    or a definition) allows `null`; otherwise `null` is a type violation.
//! 5. **Enums**: `x-ms-enum.modelAsString: true` ⇒ open (any string, the
//!    `enum` list is dropped); otherwise (`modelAsString: false` or no
//!    `x-ms-enum`) the enum is closed.
//! 6. **`required`** is kept, except for properties that are not readable in
//!    a response: `x-ms-mutability` present without `"read"` (e.g. datastore
//!    `credentials.secrets`) – those may be omitted. `readOnly` properties are
//!    ordinary response properties.
//! 7. **`format`**: only `date-time` (RFC 3339) and `uuid` are checked; all
//!    other formats (`int32`, `uri`, `arm-id`, `duration`, …) are dropped.
//! 8. A schema with `properties`/`additionalProperties` but no `type` is an
//!    object; `type: file` and `x-ms-*` annotations are ignored; `pattern`,
//!    `minLength`, `maxLength`, `minimum`, `maximum`, `minItems`, `maxItems`,
//!    `uniqueItems` are kept.
//! 9. **Statuses** (see [`Spec::validate_response`]): the status must be
//!    declared by the operation; 4xx/5xx fall back to `default` (the ARM
//!    `ErrorResponse`). A declared status without a schema must come with an
//!    empty body. A 2xx status the operation does not declare is a failure.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};

/// The five Azure ML documents of the pinned version.
pub const ML_FILES: [&str; 5] = [
    "mfe.json",
    "workspaceRP.json",
    "machineLearningServices.json",
    "registries.json",
    "workspaceFeatures.json",
];
pub const API_VERSION: &str = "2025-12-01";

/// The other resource providers the emulator serves, for the readiness check: their documents
/// (relative to the specs directory) and api-versions. Their operations are indexed under the
/// provider's namespace, `Microsoft.Storage/StorageAccounts_GetProperties`,
/// `Microsoft.ContainerRegistry/Registries_Get` (Azure ML has operationIds `Registries_Get` too).
pub const PROVIDER_FILES: [&str; 4] = [
    "storage/resource-manager/2025-01-01/storage.json",
    "storage/resource-manager/2025-01-01/common.json",
    "storage/resource-manager/2025-01-01/privatelinks.json",
    "containerregistry/resource-manager/2025-04-01/containerregistry.json",
];
pub const STORAGE_API_VERSION: &str = "2025-01-01";
pub const REGISTRY_API_VERSION: &str = "2025-04-01";
/// ARM common types those documents use (v3 is the ML documents').
const PROVIDER_COMMON: [&str; 4] = [
    "common-types/resource-management/v1/types.json",
    "common-types/resource-management/v1/privatelinks.json",
    "common-types/resource-management/v2/types.json",
    "common-types/resource-management/v5/types.json",
];
const COMMON_PREFIX: &str = "common-types/";

/// `$AML_SPECS_DIR` or `<repo>/../shared/specs`; panics loudly when missing.
pub fn specs_dir() -> PathBuf {
    specs_dir_from(std::env::var_os("AML_SPECS_DIR"))
}

/// [`specs_dir`] with the override given explicitly.
pub fn specs_dir_from(overridden: Option<std::ffi::OsString>) -> PathBuf {
    let dir = match overridden {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs"),
    };
    let ml = dir.join("azureml").join(API_VERSION).join("mfe.json");
    assert!(
        ml.is_file(),
        "conformance specs not found: expected {} (set AML_SPECS_DIR to the vendored \
         `shared/specs` directory; the conformance tests refuse to skip)",
        ml.display()
    );
    dir.canonicalize().expect("canonicalize specs dir")
}

/// The process-wide spec, loaded once.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| Spec::load(&specs_dir()).expect("load Azure ML spec"))
}

/// Identity of a raw Swagger definition.
type DefId = (PathBuf, String);

#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub raw: Value,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub operation_id: String,
    pub method: String,
    pub path: String,
    pub file: PathBuf,
    pub parameters: Vec<Parameter>,
    /// status ("200", "default", …) → raw response object (refs inlined at top level)
    pub responses: BTreeMap<String, Value>,
    /// example name → path of the example file
    pub examples: BTreeMap<String, PathBuf>,
}

impl Operation {
    pub fn path_params(&self) -> impl Iterator<Item = &Parameter> {
        self.parameters.iter().filter(|p| p.location == "path")
    }
}

pub struct Spec {
    pub dir: PathBuf,
    docs: HashMap<PathBuf, Value>,
    ops: BTreeMap<String, Operation>,
    /// converted `$defs` (key → JSON Schema)
    defs: BTreeMap<String, Value>,
    polymorphic: BTreeSet<DefId>,
    /// polymorphic base → (discriminator property, [(value, derived)])
    derived: HashMap<DefId, (String, Vec<(String, DefId)>)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// One violation: where in the body, what went wrong, which schema rule.
#[derive(Debug, Clone)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
    pub schema_path: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ptr = if self.pointer.is_empty() { "/" } else { &self.pointer };
        write!(f, "at {ptr}: {} (schema {})", self.message, self.schema_path)
    }
}

/// `Microsoft.Storage` or `Microsoft.ContainerRegistry` for a provider document.
fn provider_namespace(file: &Path) -> &'static str {
    if file.to_string_lossy().contains("containerregistry") { "Microsoft.ContainerRegistry" } else { "Microsoft.Storage" }
}

fn key_of(id: &DefId) -> String {
    let stem = id.0.file_stem().and_then(|s| s.to_str()).unwrap_or("doc");
    let s = id.0.to_string_lossy();
    if s.contains("/azureml/") || s.contains("/resource-management/v3/") {
        format!("{stem}.{}", id.1)
    } else {
        // storage/…/2025-01-01/common.json and common-types/…/v1/types.json: the folder tells
        // documents of the same name apart.
        let dir = id.0.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str()).unwrap_or("dir");
        format!("{dir}-{stem}.{}", id.1)
    }
}
fn self_key(id: &DefId) -> String {
    format!("{}__self", key_of(id))
}
fn def_ref(key: &str) -> Value {
    json!({ "$ref": format!("#/$defs/{key}") })
}

fn json_pointer_get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        Some(doc)
    } else {
        doc.pointer(pointer)
    }
}

impl Spec {
    pub fn load(dir: &Path) -> Result<Spec> {
        let mut docs = HashMap::new();
        let ml_dir = dir.join("azureml").join(API_VERSION);
        let common = dir.join("common-types/resource-management/v3");
        let mut files: Vec<PathBuf> = ML_FILES.iter().map(|f| ml_dir.join(f)).collect();
        for f in ["types.json", "managedidentity.json", "privatelinks.json"] {
            files.push(common.join(f));
        }
        for f in PROVIDER_FILES.iter().chain(PROVIDER_COMMON.iter()) {
            files.push(dir.join(f));
        }
        for f in files {
            let f = f.canonicalize().with_context(|| format!("spec file {}", f.display()))?;
            let text = std::fs::read_to_string(&f)?;
            let v: Value =
                serde_json::from_str(&text).with_context(|| format!("parse {}", f.display()))?;
            docs.insert(f, v);
        }
        let mut spec = Spec {
            dir: dir.to_path_buf(),
            docs,
            ops: BTreeMap::new(),
            defs: BTreeMap::new(),
            polymorphic: BTreeSet::new(),
            derived: HashMap::new(),
            validators: Mutex::new(HashMap::new()),
        };
        spec.index_operations()?;
        spec.convert_definitions()?;
        Ok(spec)
    }

    /// Resolve a `$ref` string relative to `base` into (document, JSON pointer).
    pub fn resolve_ref(&self, base: &Path, r: &str) -> Result<(PathBuf, String)> {
        let (file, pointer) = r.split_once('#').unwrap_or((r, ""));
        let path = if file.is_empty() {
            base.to_path_buf()
        } else if let Some(i) = file.find(COMMON_PREFIX) {
            self.dir.join(&file[i..])
        } else {
            base.parent().unwrap().join(file)
        };
        let path = path
            .canonicalize()
            .with_context(|| format!("$ref {r} from {}: {}", base.display(), path.display()))?;
        if !self.docs.contains_key(&path) {
            bail!("$ref {r} from {} points to an unloaded document {}", base.display(), path.display());
        }
        Ok((path, pointer.to_string()))
    }

    fn lookup(&self, base: &Path, r: &str) -> Result<(PathBuf, &Value)> {
        let (file, ptr) = self.resolve_ref(base, r)?;
        let doc = &self.docs[&file];
        let v = json_pointer_get(doc, &ptr)
            .ok_or_else(|| anyhow!("$ref {r} from {}: no {ptr} in {}", base.display(), file.display()))?;
        Ok((file, v))
    }

    /// Follow `$ref` chains (for parameters / responses) until a concrete object.
    fn deref(&self, base: &Path, v: &Value) -> Result<(PathBuf, Value)> {
        let mut file = base.to_path_buf();
        let mut v = v.clone();
        for _ in 0..16 {
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let (f, t) = self.lookup(&file, r)?;
                    v = t.clone();
                    file = f;
                }
                None => return Ok((file, v)),
            }
        }
        bail!("$ref chain too long at {}", base.display())
    }

    fn index_operations(&mut self) -> Result<()> {
        let ml_dir = self.dir.join("azureml").join(API_VERSION);
        let mut ops = BTreeMap::new();
        let op_files: Vec<(PathBuf, bool)> = ML_FILES
            .iter()
            .map(|f| (ml_dir.join(f), true))
            .chain([PROVIDER_FILES[0], PROVIDER_FILES[3]].iter().map(|f| (self.dir.join(f), false)))
            .collect();
        for (f, is_ml) in op_files {
            let file = f.canonicalize()?;
            let doc = self.docs[&file].clone();
            for section in ["paths", "x-ms-paths"] {
                let Some(paths) = doc.get(section).and_then(Value::as_object) else { continue };
                for (path, item) in paths {
                    let common: Vec<Value> = item
                        .get("parameters")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    for (method, op) in item.as_object().unwrap() {
                        if method == "parameters" || method.starts_with("x-") {
                            continue;
                        }
                        let id = op["operationId"]
                            .as_str()
                            .ok_or_else(|| anyhow!("{method} {path} has no operationId"))?
                            .to_string();
                        let id = if is_ml { id } else { format!("{}/{id}", provider_namespace(&file)) };
                        let mut params: Vec<Parameter> = Vec::new();
                        let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                        for p in common.iter().chain(own.iter()) {
                            let (_, p) = self.deref(&file, p)?;
                            let name = p["name"].as_str().unwrap_or_default().to_string();
                            let location = p["in"].as_str().unwrap_or_default().to_string();
                            params.retain(|q: &Parameter| !(q.name == name && q.location == location));
                            params.push(Parameter {
                                required: p["required"].as_bool().unwrap_or(false),
                                name,
                                location,
                                raw: p,
                            });
                        }
                        let mut responses = BTreeMap::new();
                        for (status, r) in op["responses"].as_object().into_iter().flatten() {
                            let (rf, r) = self.deref(&file, r)?;
                            // keep schema refs resolvable from the operation's file
                            let mut r = r;
                            if rf != file {
                                if let Some(s) = r.get_mut("schema") {
                                    absolutize_refs(s, &rf);
                                }
                            }
                            responses.insert(status.clone(), r);
                        }
                        let mut examples = BTreeMap::new();
                        for (name, e) in op.get("x-ms-examples").and_then(Value::as_object).into_iter().flatten() {
                            if let Some(r) = e.get("$ref").and_then(Value::as_str) {
                                examples.insert(name.clone(), file.parent().unwrap().join(r));
                            }
                        }
                        let prev = ops.insert(
                            id.clone(),
                            Operation {
                                operation_id: id.clone(),
                                method: method.to_uppercase(),
                                path: path.clone(),
                                file: file.clone(),
                                parameters: params,
                                responses,
                                examples,
                            },
                        );
                        if prev.is_some() {
                            bail!("duplicate operationId {id}");
                        }
                    }
                }
            }
        }
        self.ops = ops;
        Ok(())
    }

    pub fn operation(&self, operation_id: &str) -> Option<&Operation> {
        self.ops.get(operation_id)
    }
    pub fn operations(&self) -> impl Iterator<Item = &Operation> {
        self.ops.values()
    }

    /// Every definition of every loaded document.
    fn all_def_ids(&self) -> Vec<DefId> {
        let mut ids = Vec::new();
        for (file, doc) in &self.docs {
            for name in doc.get("definitions").and_then(Value::as_object).into_iter().flatten().map(|(k, _)| k) {
                ids.push((file.clone(), name.clone()));
            }
        }
        ids.sort();
        ids
    }

    fn def_raw(&self, id: &DefId) -> &Value {
        &self.docs[&id.0]["definitions"][&id.1]
    }

    fn def_id_of_ref(&self, base: &Path, r: &str) -> Result<Option<DefId>> {
        let (file, ptr) = self.resolve_ref(base, r)?;
        Ok(ptr.strip_prefix("/definitions/").map(|n| (file, n.replace("~1", "/").replace("~0", "~"))))
    }

    fn convert_definitions(&mut self) -> Result<()> {
        let ids = self.all_def_ids();
        // parent links (allOf $refs) → children
        let mut children: HashMap<DefId, Vec<DefId>> = HashMap::new();
        for id in &ids {
            for item in self.def_raw(id).get("allOf").and_then(Value::as_array).into_iter().flatten() {
                if let Some(r) = item.get("$ref").and_then(Value::as_str) {
                    if let Some(parent) = self.def_id_of_ref(&id.0, r)? {
                        children.entry(parent).or_default().push(id.clone());
                    }
                }
            }
            if self.def_raw(id).get("discriminator").is_some() {
                self.polymorphic.insert(id.clone());
            }
        }
        let mut defs = BTreeMap::new();
        for id in &ids {
            let raw = self.def_raw(id).clone();
            let flat = self.convert_schema(&raw, &id.0, true)?;
            if self.polymorphic.contains(id) {
                let prop = raw["discriminator"].as_str().unwrap().to_string();
                // transitive descendants
                let mut desc = Vec::new();
                let mut stack = vec![id.clone()];
                let mut seen = BTreeSet::new();
                while let Some(d) = stack.pop() {
                    for c in children.get(&d).into_iter().flatten() {
                        if seen.insert(c.clone()) {
                            desc.push(c.clone());
                            stack.push(c.clone());
                        }
                    }
                }
                let mut dispatch = def_ref(&self_key(id));
                desc.sort();
                let mut table = Vec::new();
                for d in desc.iter().rev() {
                    let value = self
                        .def_raw(d)
                        .get("x-ms-discriminator-value")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| d.1.clone());
                    let target = if self.polymorphic.contains(d) { self_key(d) } else { key_of(d) };
                    table.push((value.clone(), d.clone()));
                    let mut cond = Map::new();
                    cond.insert(prop.clone(), json!({ "const": value }));
                    dispatch = json!({
                        "if": { "type": "object", "required": [prop], "properties": cond },
                        "then": def_ref(&target),
                        "else": dispatch,
                    });
                }
                let dispatch = nullable_wrap(dispatch, &raw);
                self.derived.insert(id.clone(), (prop.clone(), table));
                defs.insert(key_of(id), dispatch);
                defs.insert(self_key(id), flat);
            } else {
                defs.insert(key_of(id), flat);
            }
        }
        self.defs = defs;
        Ok(())
    }

    /// Convert a (non-definition-root unless `is_def`) Swagger schema.
    fn convert_schema(&self, s: &Value, file: &Path, is_def: bool) -> Result<Value> {
        let Some(obj) = s.as_object() else {
            return Ok(s.clone()); // `true` / `false`
        };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            let out = match self.def_id_of_ref(file, r)? {
                Some(id) => {
                    if self.docs[&id.0]["definitions"].get(&id.1).is_none() {
                        bail!("dangling $ref {r} in {}", file.display());
                    }
                    def_ref(&key_of(&id))
                }
                None => {
                    let (f, t) = self.lookup(file, r)?;
                    let t = t.clone();
                    self.convert_schema(&t, &f, false)?
                }
            };
            return Ok(nullable_wrap(out, s));
        }
        let is_object = obj.get("type").and_then(Value::as_str) == Some("object")
            || obj.contains_key("properties")
            || obj.contains_key("allOf")
            || (obj.contains_key("additionalProperties") && !obj.contains_key("type"));
        let mut out = Map::new();
        if is_object {
            self.flatten_object(obj, file, &mut out)?;
        } else {
            if let Some(t) = obj.get("type").and_then(Value::as_str) {
                if t != "file" {
                    out.insert("type".into(), json!(t));
                }
            }
            if let Some(items) = obj.get("items") {
                out.insert("items".into(), self.convert_schema(items, file, false)?);
            }
            if let Some(e) = obj.get("enum") {
                let open = obj
                    .get("x-ms-enum")
                    .and_then(|x| x.get("modelAsString"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                if !open {
                    out.insert("enum".into(), e.clone());
                }
            }
            if let Some(f) = obj.get("format").and_then(Value::as_str) {
                if f == "date-time" || f == "uuid" {
                    out.insert("format".into(), json!(f));
                }
            }
            for k in ["pattern", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
                      "exclusiveMaximum", "minItems", "maxItems", "uniqueItems", "multipleOf"] {
                if let Some(v) = obj.get(k) {
                    // Swagger 2.0 exclusiveMinimum/Maximum are booleans
                    if (k == "exclusiveMinimum" || k == "exclusiveMaximum") && v.is_boolean() {
                        let bound = if k == "exclusiveMinimum" { "minimum" } else { "maximum" };
                        if v == &json!(true) {
                            if let Some(b) = obj.get(bound) {
                                out.insert(k.into(), b.clone());
                                out.remove(bound);
                            }
                        }
                        continue;
                    }
                    if (k == "minimum" || k == "maximum") && out.contains_key(if k == "minimum" { "exclusiveMinimum" } else { "exclusiveMaximum" }) {
                        continue;
                    }
                    out.insert(k.into(), v.clone());
                }
            }
        }
        let _ = is_def;
        Ok(nullable_wrap(Value::Object(out), s))
    }

    /// Rules 1, 2, 6: flatten `allOf` into one object schema.
    fn flatten_object(&self, obj: &Map<String, Value>, file: &Path, out: &mut Map<String, Value>) -> Result<()> {
        let mut props: Map<String, Value> = Map::new();
        let mut required: BTreeSet<String> = BTreeSet::new();
        let mut not_readable: BTreeSet<String> = BTreeSet::new();
        let mut inherited_ap: Option<Value> = None;
        self.collect(obj, file, &mut props, &mut required, &mut not_readable, &mut inherited_ap, 0)?;
        let own_ap = match obj.get("additionalProperties") {
            Some(Value::Bool(b)) => Some(Value::Bool(*b)),
            Some(s) => Some(self.convert_schema(s, file, false)?),
            None => None,
        };
        out.insert("type".into(), json!("object"));
        if !props.is_empty() {
            out.insert("properties".into(), Value::Object(props));
        }
        let req: Vec<&String> = required.iter().filter(|r| !not_readable.contains(*r)).collect();
        if !req.is_empty() {
            out.insert("required".into(), json!(req));
        }
        if let Some(ap) = own_ap.or(inherited_ap) {
            if ap != Value::Bool(true) {
                out.insert("additionalProperties".into(), ap);
            }
        }
        for k in ["minProperties", "maxProperties"] {
            if let Some(v) = obj.get(k) {
                out.insert(k.into(), v.clone());
            }
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn collect(
        &self,
        obj: &Map<String, Value>,
        file: &Path,
        props: &mut Map<String, Value>,
        required: &mut BTreeSet<String>,
        not_readable: &mut BTreeSet<String>,
        inherited_ap: &mut Option<Value>,
        depth: usize,
    ) -> Result<()> {
        if depth > 32 {
            bail!("allOf nesting too deep in {}", file.display());
        }
        for item in obj.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            let (f, parent) = match item.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let (f, t) = self.lookup(file, r)?;
                    (f, t.clone())
                }
                None => (file.to_path_buf(), item.clone()),
            };
            let pobj = parent.as_object().ok_or_else(|| anyhow!("allOf member is not an object"))?;
            self.collect(pobj, &f, props, required, not_readable, inherited_ap, depth + 1)?;
            if let Some(ap) = pobj.get("additionalProperties") {
                if !matches!(ap, Value::Bool(_)) {
                    *inherited_ap = Some(self.convert_schema(ap, &f, false)?);
                }
            }
        }
        for (name, ps) in obj.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if let Some(m) = ps.get("x-ms-mutability").and_then(Value::as_array) {
                if !m.iter().any(|x| x == "read") {
                    not_readable.insert(name.clone());
                }
            }
            props.insert(name.clone(), self.convert_schema(ps, file, false)?);
        }
        for r in obj.get("required").and_then(Value::as_array).into_iter().flatten() {
            if let Some(r) = r.as_str() {
                required.insert(r.to_string());
            }
        }
        Ok(())
    }

    /// The converted JSON Schema for a response schema of an operation,
    /// self-contained (only the reachable `$defs`).
    pub fn response_json_schema(&self, op: &Operation, status_key: &str) -> Result<Option<Value>> {
        let resp = op
            .responses
            .get(status_key)
            .ok_or_else(|| anyhow!("{} declares no {status_key} response", op.operation_id))?;
        let Some(schema) = resp.get("schema") else { return Ok(None) };
        Ok(Some(self.root_schema(schema, &op.file)?))
    }

    /// A self-contained draft 2020-12 schema for a raw Swagger schema found in `file`.
    pub fn root_schema(&self, schema: &Value, file: &Path) -> Result<Value> {
        let root = self.convert_schema(schema, file, false)?;
        let mut needed = BTreeSet::new();
        let mut queue = Vec::new();
        collect_def_refs(&root, &mut queue);
        while let Some(k) = queue.pop() {
            if needed.insert(k.clone()) {
                let d = self.defs.get(&k).ok_or_else(|| anyhow!("missing converted def {k}"))?;
                collect_def_refs(d, &mut queue);
            }
        }
        let defs: Map<String, Value> = needed.into_iter().map(|k| (k.clone(), self.defs[&k].clone())).collect();
        let mut out = json!({ "$schema": "https://json-schema.org/draft/2020-12/schema" });
        out["$defs"] = Value::Object(defs);
        match root {
            Value::Object(m) => {
                for (k, v) in m {
                    out[k] = v;
                }
            }
            other => out["allOf"] = json!([other]),
        }
        Ok(out)
    }

    /// Schema for a named definition, e.g. `("mfe.json", "ModelVersionResource")`.
    pub fn definition_schema(&self, file: &str, name: &str) -> Result<Value> {
        let f = self.find_file(file)?;
        self.root_schema(&json!({ "$ref": format!("#/definitions/{name}") }), &f)
    }

    fn find_file(&self, name: &str) -> Result<PathBuf> {
        self.docs
            .keys()
            .find(|p| p.file_name().and_then(|n| n.to_str()) == Some(name))
            .cloned()
            .ok_or_else(|| anyhow!("no spec document {name}"))
    }

    fn validator(&self, cache_key: &str, schema: &Value) -> Result<Arc<jsonschema::Validator>> {
        let mut cache = self.validators.lock().unwrap();
        if let Some(v) = cache.get(cache_key) {
            return Ok(v.clone());
        }
        let v = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(schema)
            .map_err(|e| anyhow!("compile schema for {cache_key}: {e}"))?;
        let v = Arc::new(v);
        cache.insert(cache_key.to_string(), v.clone());
        Ok(v)
    }

    /// Validate `body` against a named definition.
    pub fn validate_definition(&self, file: &str, name: &str, body: &Value) -> Result<(), Vec<String>> {
        let schema = self.definition_schema(file, name).map_err(|e| vec![e.to_string()])?;
        let v = self.validator(&format!("def:{file}:{name}"), &schema).map_err(|e| vec![e.to_string()])?;
        run(&v, body)
    }

    /// Rule 9. `body` is `None` for an empty response body.
    pub fn validate_response_opt(&self, operation_id: &str, status: u16, body: Option<&Value>) -> Result<(), Vec<String>> {
        let op = self
            .operation(operation_id)
            .ok_or_else(|| vec![format!("operationId {operation_id} is not in the spec")])?;
        let declared: Vec<&String> = op.responses.keys().collect();
        let status_s = status.to_string();
        let key = if op.responses.contains_key(&status_s) {
            status_s
        } else if status >= 400 && op.responses.contains_key("default") {
            "default".to_string()
        } else {
            return Err(vec![format!(
                "{operation_id}: status {status} is not declared by the spec (declared: {declared:?})"
            )]);
        };
        let ctx = format!("{operation_id} {status} (spec response `{key}`)");
        let schema = self.response_json_schema(op, &key).map_err(|e| vec![format!("{ctx}: {e}")])?;
        match (schema, body) {
            (None, None) => Ok(()),
            (None, Some(b)) => Err(vec![format!(
                "{ctx}: the spec declares no body for this response, the emulator sent {}",
                truncate(&b.to_string(), 200)
            )]),
            (Some(_), None) => Err(vec![format!("{ctx}: the spec declares a body schema, the emulator sent an empty body")]),
            (Some(schema), Some(b)) => {
                let v = self
                    .validator(&format!("{operation_id}:{key}"), &schema)
                    .map_err(|e| vec![format!("{ctx}: {e}")])?;
                run(&v, b).map_err(|errs| errs.into_iter().map(|e| format!("{ctx}: {e}")).collect())
            }
        }
    }

    /// `validate_response(operation_id, status, body)`: a JSON body (use
    /// [`Spec::validate_response_opt`] with `None` for an empty body).
    pub fn validate_response(&self, operation_id: &str, status: u16, body: &Value) -> Result<(), Vec<String>> {
        self.validate_response_opt(operation_id, status, Some(body))
    }

    /// Raw bytes variant: empty / whitespace body ⇒ no body; invalid JSON is a violation.
    pub fn validate_response_bytes(&self, operation_id: &str, status: u16, body: &[u8]) -> Result<(), Vec<String>> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return self.validate_response_opt(operation_id, status, None);
        }
        match serde_json::from_slice::<Value>(body) {
            Ok(v) => self.validate_response_opt(operation_id, status, Some(&v)),
            Err(e) => Err(vec![format!(
                "{operation_id} {status}: body is not JSON ({e}): {}",
                truncate(&String::from_utf8_lossy(body), 200)
            )]),
        }
    }
}

impl Spec {
    /// Turn an example *response* body into a request body for the
    /// operation's `body` parameter: every property the spec marks
    /// `readOnly` (following `allOf` and discriminators) is removed.
    pub fn request_body_from_response(&self, operation_id: &str, response: &Value) -> Result<Value> {
        let op = self.operation(operation_id).ok_or_else(|| anyhow!("no operation {operation_id}"))?;
        let p = op
            .parameters
            .iter()
            .find(|p| p.location == "body")
            .ok_or_else(|| anyhow!("{operation_id} has no body parameter"))?;
        let mut v = response.clone();
        self.strip_read_only(&p.raw["schema"], &op.file, &mut v, 0)?;
        Ok(v)
    }

    fn strip_read_only(&self, schema: &Value, file: &Path, v: &mut Value, depth: usize) -> Result<()> {
        if depth > 64 {
            return Ok(());
        }
        let (mut file, mut schema) = (file.to_path_buf(), schema.clone());
        if let Some(r) = schema.get("$ref").and_then(Value::as_str).map(str::to_string) {
            if let Some(mut id) = self.def_id_of_ref(&file, &r)? {
                // discriminator: pick the derived definition for the value present
                if let Some((prop, table)) = self.derived.get(&id) {
                    if let Some(val) = v.get(prop).and_then(Value::as_str) {
                        if let Some((_, d)) = table.iter().find(|(x, _)| x == val) {
                            id = d.clone();
                        }
                    }
                }
                schema = self.def_raw(&id).clone();
                file = id.0.clone();
            } else {
                let (f, t) = self.lookup(&file, &r)?;
                schema = t.clone();
                file = f;
            }
        }
        match v {
            Value::Object(m) => {
                let mut props: Vec<(String, Value, PathBuf)> = Vec::new();
                self.raw_props(&schema, &file, &mut props, 0)?;
                let ap = schema.get("additionalProperties").filter(|a| a.is_object()).cloned();
                let keys: Vec<String> = m.keys().cloned().collect();
                for k in keys {
                    match props.iter().rev().find(|(n, _, _)| *n == k) {
                        Some((_, ps, pf)) => {
                            if ps.get("readOnly").and_then(Value::as_bool) == Some(true) {
                                m.remove(&k);
                            } else {
                                self.strip_read_only(ps, pf, m.get_mut(&k).unwrap(), depth + 1)?;
                            }
                        }
                        None => {
                            if let Some(ap) = &ap {
                                self.strip_read_only(ap, &file, m.get_mut(&k).unwrap(), depth + 1)?;
                            } else if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                                // not declared by a closed definition (upstream example defects)
                                m.remove(&k);
                            }
                        }
                    }
                }
            }
            Value::Array(a) => {
                if let Some(items) = schema.get("items") {
                    for x in a {
                        self.strip_read_only(items, &file, x, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Normalized paths (`/value/*/properties/tags`, `*` = array index) of the
    /// objects in `instance` that the response schema types as dictionaries
    /// (`additionalProperties: <schema>`, value "dict") or as free-form objects
    /// (`type: object` with neither `properties` nor `additionalProperties`,
    /// value "free"). Their keys are data, not property paths.
    pub fn data_keyed_paths(&self, operation_id: &str, status: &str, instance: &Value) -> BTreeMap<String, &'static str> {
        let mut out = BTreeMap::new();
        if let Some(op) = self.operation(operation_id) {
            if let Some(schema) = op.responses.get(status).and_then(|r| r.get("schema")) {
                let _ = self.kinds(schema, &op.file, instance, "", &mut out, 0);
            }
        }
        out
    }

    fn kinds(&self, schema: &Value, file: &Path, v: &Value, norm: &str, out: &mut BTreeMap<String, &'static str>, depth: usize) -> Result<()> {
        if depth > 64 {
            return Ok(());
        }
        let (mut file, mut schema) = (file.to_path_buf(), schema.clone());
        if let Some(r) = schema.get("$ref").and_then(Value::as_str).map(str::to_string) {
            if let Some(mut id) = self.def_id_of_ref(&file, &r)? {
                if let Some((prop, table)) = self.derived.get(&id) {
                    if let Some(val) = v.get(prop).and_then(Value::as_str) {
                        if let Some((_, d)) = table.iter().find(|(x, _)| x == val) {
                            id = d.clone();
                        }
                    }
                }
                schema = self.def_raw(&id).clone();
                file = id.0.clone();
            } else {
                let (f, t) = self.lookup(&file, &r)?;
                schema = t.clone();
                file = f;
            }
        }
        match v {
            Value::Object(m) => {
                let mut props = Vec::new();
                self.raw_props(&schema, &file, &mut props, 0)?;
                let ap = schema.get("additionalProperties").filter(|a| a.is_object()).cloned();
                if props.is_empty() && schema.get("allOf").is_none() {
                    match &ap {
                        Some(_) => {
                            out.insert(norm.to_string(), "dict");
                        }
                        None => {
                            out.insert(norm.to_string(), "free");
                            return Ok(());
                        }
                    }
                }
                for (k, x) in m {
                    let n = format!("{norm}/{}", k.replace('~', "~0").replace('/', "~1"));
                    match props.iter().rev().find(|(name, _, _)| name == k) {
                        Some((_, ps, pf)) => self.kinds(ps, pf, x, &n, out, depth + 1)?,
                        None => {
                            if let Some(ap) = &ap {
                                // dictionary values share one normalized path
                                self.kinds(ap, &file, x, &format!("{norm}/{{}}"), out, depth + 1)?;
                            }
                        }
                    }
                }
            }
            Value::Array(a) => {
                if let Some(items) = schema.get("items") {
                    for x in a {
                        self.kinds(items, &file, x, &format!("{norm}/*"), out, depth + 1)?;
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn raw_props(&self, schema: &Value, file: &Path, out: &mut Vec<(String, Value, PathBuf)>, depth: usize) -> Result<()> {
        if depth > 32 {
            return Ok(());
        }
        for item in schema.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            let (f, t) = match item.get("$ref").and_then(Value::as_str) {
                Some(r) => {
                    let (f, t) = self.lookup(file, r)?;
                    (f, t.clone())
                }
                None => (file.to_path_buf(), item.clone()),
            };
            self.raw_props(&t, &f, out, depth + 1)?;
        }
        for (n, ps) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
            out.push((n.clone(), ps.clone(), file.to_path_buf()));
        }
        Ok(())
    }
}

fn run(v: &jsonschema::Validator, body: &Value) -> Result<(), Vec<String>> {
    let mut errs: Vec<Violation> = v
        .iter_errors(body)
        .map(|e| Violation {
            pointer: e.instance_path().to_string(),
            message: truncate(&e.to_string(), 300),
            schema_path: e.schema_path().to_string(),
        })
        .collect();
    if errs.is_empty() {
        return Ok(());
    }
    errs.sort_by(|a, b| a.pointer.cmp(&b.pointer));
    errs.dedup_by(|a, b| a.pointer == b.pointer && a.message == b.message);
    Err(errs.iter().map(ToString::to_string).collect())
}

pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// Rule 4.
fn nullable_wrap(schema: Value, swagger: &Value) -> Value {
    if swagger.get("x-nullable").and_then(Value::as_bool) == Some(true) {
        json!({ "anyOf": [ { "type": "null" }, schema ] })
    } else {
        schema
    }
}

fn collect_def_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                if let Some(k) = r.strip_prefix("#/$defs/") {
                    out.push(k.to_string());
                }
            }
            m.values().for_each(|x| collect_def_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_def_refs(x, out)),
        _ => {}
    }
}

/// Rewrite relative `$ref`s in a schema copied out of `file` so they stay
/// resolvable from another document (absolute path + fragment).
fn absolutize_refs(v: &mut Value, file: &Path) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get_mut("$ref") {
                if r.starts_with('#') {
                    *r = format!("{}{}", file.display(), r);
                }
            }
            m.values_mut().for_each(|x| absolutize_refs(x, file));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| absolutize_refs(x, file)),
        _ => {}
    }
}
