//! Typed wire documents: every JSON document the tool prints or writes is a serde type, and
//! its JSON Schema in `docs/schemas/` is generated from that type (`schemars`), never written
//! by hand. `tests/schemas.rs` lists the documents, fails when a committed schema differs from
//! the one [`document`] generates, and `SCHEMAS_BLESS=1 cargo test --test schemas` rewrites
//! them. (The list is in the test, not here, so that this module depends on no document's
//! module: each of them uses [`version_schema`] from here.)
//!
//! Where each document's type lives (use these; do not build a document with `json!`):
//!
//! | document | type | version constant |
//! |---|---|---|
//! | copy report / manifest (`copy`, `plan`, `outputs copy`, `notebooks copy|recover`) | [`crate::report::Report`] | [`crate::report::SCHEMA_VERSION`] |
//! | the error document (`-o json`, any command that stops on an error) | [`ErrorDocument`] ([`ErrorBody`] inside other documents) | [`ERROR_SCHEMA_VERSION`] |
//! | a copy journal line | [`crate::journal::Record`] | [`crate::journal::FORMAT_VERSION`] |
//! | the readiness report (`readiness`) | [`crate::readiness::Report`] | [`crate::readiness::SCHEMA_VERSION`] |
//! | the verify report (`verify`, `verify BUNDLE`) | [`crate::drift::VerifyReport`] | [`crate::drift::SCHEMA_VERSION`] |
//! | `workspace show` | [`crate::workspace_show::Document`] | [`crate::workspace_show::SCHEMA_VERSION`] |
//! | `snapshot list`, `snapshot prune` | [`crate::bundle::list::ListReport`], [`crate::bundle::list::PruneReport`] | [`crate::bundle::SCHEMA_VERSION`] |
//! | `snapshot export` | [`crate::bundle::export::ExportReport`] | [`crate::bundle::SCHEMA_VERSION`] |
//! | a snapshot bundle's manifest | [`crate::bundle::manifest::Manifest`] | [`crate::bundle::manifest::MANIFEST_SCHEMA_VERSION`] |
//! | `failover` (stdout and failover-report.json) | [`crate::failover::FailoverReport`] | [`crate::failover::SCHEMA_VERSION`] |
//! | `snapshot restore` (and failover-snapshot-restore.json) | [`crate::bundle::RestoreReport`] | [`crate::bundle::SCHEMA_VERSION`] |
//! | `model|environment|component|data list` | [`crate::folder::listing::ListReport`] | [`crate::folder::SCHEMA_VERSION`] |
//! | `model|environment download`, `register` | [`crate::folder::download::DownloadReport`], [`crate::folder::register::RegisterReport`] | [`crate::folder::SCHEMA_VERSION`] |
//! | `component download`, `register` | [`crate::folder::component::DownloadReport`], [`crate::folder::component::RegisterReport`] | [`crate::folder::SCHEMA_VERSION`] |
//! | `data download`, `register` | [`crate::folder::data::DownloadReport`], [`crate::folder::data::RegisterReport`] | [`crate::folder::SCHEMA_VERSION`] |
//! | `job|pipeline get`, `create` | [`crate::folder::job::GetReport`], [`crate::folder::job::CreateReport`] | [`crate::folder::SCHEMA_VERSION`] |
//! | `outputs list` | [`crate::outputs::Listing`] | [`crate::outputs::SCHEMA_VERSION`] |
//! | `notebooks list` | [`crate::notebooks::Shares`] | [`crate::notebooks::SCHEMA_VERSION`] |
//!
//! A new document: derive `Serialize` and `schemars::JsonSchema` on its type (field doc
//! comments become the schema's descriptions; `#[schemars(...)]` carries enums, patterns and
//! bounds), give it one `SCHEMA_VERSION` constant next to the type, add it to the list in
//! `tests/schemas.rs`, and bless. Every file in `docs/schemas/` is generated (the test fails on
//! one that is not).
//!
//! Compatibility: the types produce the documents byte for byte as before (field names,
//! order, `schemaVersion` values); `docs/json.md` says what a breaking change is.

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// `schemaVersion` of the error document.
pub const ERROR_SCHEMA_VERSION: u32 = 1;

/// The description every command document gives its `schemaVersion`.
const VERSION_DESCRIPTION: &str = "bumped only on a breaking change (see docs/json.md)";

/// The schema of a `schemaVersion` field pinned to `n` (for `#[schemars(schema_with)]`
/// wrappers next to each document's constant).
pub fn version_schema(n: u32) -> Schema {
    Schema::try_from(json!({"const": n, "description": VERSION_DESCRIPTION})).expect("an object")
}

fn error_version(_: &mut SchemaGenerator) -> Schema {
    version_schema(ERROR_SCHEMA_VERSION)
}

/// What any command run with `-o json` prints on stdout when it stops on an error
/// (`src/main.rs`). It has no `command`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ErrorDocument {
    #[schemars(schema_with = "error_version")]
    pub schema_version: u32,
    pub error: ErrorBody,
}

impl ErrorDocument {
    pub fn new(e: &crate::error::Error) -> ErrorDocument {
        ErrorDocument { schema_version: ERROR_SCHEMA_VERSION, error: ErrorBody::of(e) }
    }
}

/// Error::kind() and Error::exit() of src/error.rs; kind and exitCode always go together as
/// listed in oneOf.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "error", deny_unknown_fields)]
#[schemars(extend("oneOf" = [
    {"properties": {"kind": {"const": "usage"}, "exitCode": {"const": 2}}},
    {"properties": {"kind": {"const": "auth"}, "exitCode": {"const": 3}}},
    {"properties": {"kind": {"const": "not_found"}, "exitCode": {"const": 4}}},
    {"properties": {"kind": {"const": "unavailable"}, "exitCode": {"const": 5}}},
    {"properties": {"kind": {"const": "service"}, "exitCode": {"const": 6}}},
    {"properties": {"kind": {"const": "internal"}, "exitCode": {"const": 10}}}
]))]
pub struct ErrorBody {
    #[schemars(extend("enum" = ["usage", "auth", "not_found", "unavailable", "service", "internal"]))]
    pub kind: &'static str,
    #[schemars(extend("enum" = [2, 3, 4, 5, 6, 10]))]
    pub exit_code: u8,
    /// for a person: what failed and what to do; never a secret
    pub message: String,
}

impl ErrorBody {
    /// The error object of `e` (also inside other documents, e.g. `workspace show`).
    pub fn of(e: &crate::error::Error) -> ErrorBody {
        ErrorBody { kind: e.kind(), exit_code: e.exit() as u8, message: e.to_string() }
    }
}

/// One generated schema file: `docs/schemas/<stem>.v<version>.schema.json`.
pub struct SchemaFile {
    pub file: String,
    pub schema: Value,
}

/// The schema of `T` as a document of its own: draft 2020-12, `$id`
/// `urn:aml-failover:schema:<stem>:v<version>`, a title and description, tidied (see [`tidy`]).
pub fn document<T: JsonSchema>(stem: &str, version: u32, title: &str, description: &str) -> SchemaFile {
    let settings = schemars::generate::SchemaSettings::draft2020_12().for_serialize();
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut body = serde_json::to_value(&schema).expect("a schema is JSON");
    tidy(&mut body);
    let Value::Object(mut body) = body else { panic!("{stem}: the schema of a document is an object") };
    let mut head = Map::new();
    head.insert("$schema".into(), body.remove("$schema").unwrap_or_else(|| json!("https://json-schema.org/draft/2020-12/schema")));
    head.insert("$id".into(), json!(format!("urn:aml-failover:schema:{stem}:v{version}")));
    body.remove("title");
    body.remove("description");
    head.insert("title".into(), json!(title));
    head.insert("description".into(), json!(description));
    // `$defs` last, as a reader expects them.
    let defs = body.remove("$defs");
    head.extend(body);
    if let Some(d) = defs {
        head.insert("$defs".into(), d);
    }
    SchemaFile { file: format!("{stem}.v{version}.schema.json"), schema: Value::Object(head) }
}

/// Says what the documents are and no more than that: integers lose schemars' Rust `format`
/// (`uint64`…, not a JSON Schema format), and a property that is left out when empty
/// (`skip_serializing_if`, so not `required`) is never `null`.
fn tidy(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if m.get("type") == Some(&json!("integer")) {
                m.remove("format");
            }
            // A doc comment's line breaks are not the reader's: one paragraph is one line.
            if let Some(Value::String(d)) = m.get_mut("description") {
                *d = d.split("\n\n").map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n\n");
            }
            let required: Vec<String> =
                m.get("required").and_then(Value::as_array).map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default();
            if let Some(Value::Object(props)) = m.get_mut("properties") {
                for (name, p) in props.iter_mut() {
                    if !required.contains(name) {
                        not_null(p);
                    }
                }
            }
            for x in m.values_mut() {
                tidy(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(tidy),
        _ => {}
    }
}

/// Removes `null` from the types a schema allows.
fn not_null(p: &mut Value) {
    let Value::Object(m) = p else { return };
    if let Some(Value::Array(types)) = m.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let t = types.remove(0);
            m.insert("type".into(), t);
        }
    }
    if let Some(Value::Array(any)) = m.get("anyOf") {
        let rest: Vec<&Value> = any.iter().filter(|s| s.get("type") != Some(&json!("null"))).collect();
        if rest.len() == 1 && any.len() == 2 {
            let Value::Object(inner) = rest[0].clone() else { return };
            m.remove("anyOf");
            for (k, x) in inner {
                m.entry(k).or_insert(x);
            }
        }
    }
    if let Some(Value::Array(e)) = m.get_mut("enum") {
        e.retain(|x| !x.is_null());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_document_is_what_main_printed() {
        let e = crate::error::Error::NotFound("no such workspace".into());
        let v = serde_json::to_value(ErrorDocument::new(&e)).unwrap();
        assert_eq!(v, json!({"schemaVersion": 1, "error": {"kind": "not_found", "exitCode": 4, "message": "no such workspace"}}));
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"schemaVersion":1,"error":{"kind":"not_found","exitCode":4,"message":"no such workspace"}}"#);
    }

    #[test]
    fn optional_fields_are_never_null_and_integers_have_no_rust_format() {
        let mut v = json!({"type": "object", "required": ["a"], "properties": {
            "a": {"type": ["string", "null"]},
            "b": {"type": ["string", "null"], "description": "d"},
            "c": {"anyOf": [{"$ref": "#/$defs/x"}, {"type": "null"}], "description": "d"},
            "n": {"type": "integer", "format": "uint64", "minimum": 0, "description": "one\nparagraph\n\nanother"}}});
        tidy(&mut v);
        assert_eq!(v["properties"]["a"], json!({"type": ["string", "null"]}), "a required field keeps null");
        assert_eq!(v["properties"]["b"], json!({"type": "string", "description": "d"}));
        assert_eq!(v["properties"]["c"], json!({"$ref": "#/$defs/x", "description": "d"}));
        assert_eq!(v["properties"]["n"], json!({"type": "integer", "minimum": 0, "description": "one paragraph\n\nanother"}));
    }
}
