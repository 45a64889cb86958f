//! Example-shape comparison: every property path present in an example
//! response body must be present in the actual body with the same JSON type.
//!
//! * Objects are compared key by key, recursively (dictionary keys included:
//!   replays seed the same keys the example uses).
//! * Arrays: every element of the example array must be matched by at least
//!   one element of the actual array (lists may hold more, or differently
//!   ordered, items); an empty example array only requires an array.
//! * `null` in the example matches anything (the example says nothing about
//!   the type); integers and floats are both "number".
//! * Dictionaries and free-form objects (per the response schema, see
//!   `Spec::data_keyed_paths`; their keys are data, not properties): a
//!   free-form object only has to be an object; a dictionary entry of the
//!   example is compared with the same key of the response if present,
//!   else with the best-matching entry (none required if the response's
//!   dictionary is empty). Dictionary values share the normalized path `{}`.
//! * Exceptions are normalized paths (`/value/*/properties/x`, `*` = any
//!   array index) that are allowed to be absent; see [`SHAPE_EXCEPTIONS`].
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde_json::Value;

/// Paths an example may have that the emulator legitimately does not send.
/// Keep this short; each entry needs a reason.
pub const SHAPE_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "/nextLink",
        "examples show a placeholder nextLink (some with an old preview api-version); the \
         emulator sends nextLink only when another page exists, as ARM does",
    ),
    (
        "/properties/services/{}/errorMessage",
        "readOnly JobService.errorMessage: set only when a job endpoint failed",
    ),
    (
        "/properties/privateEndpointConnections",
        "readOnly; filled only by private endpoint resources, which the emulator does not host",
    ),
    (
        "/properties/parentJobName",
        "upstream example defect: Job/CommandJob/list.json shows parentJobName, which the spec \
         does not declare (CommandJob is additionalProperties:false)",
    ),
];

/// Exceptions apply at the path itself and, for list bodies, under `/value/*`.
fn excepted(exc: &[&str], norm: &str) -> bool {
    exc.contains(&norm) || norm.strip_prefix("/value/*").is_some_and(|r| exc.contains(&r))
}

pub fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// Differences (missing path / wrong type), each with its JSON pointer.
pub fn shape_diff(expected: &Value, actual: &Value, exceptions: &[&str]) -> Vec<String> {
    shape_diff_with(expected, actual, exceptions, &BTreeMap::new())
}

/// [`shape_diff`] with the dictionary / free-form paths of the response schema.
pub fn shape_diff_with(expected: &Value, actual: &Value, exceptions: &[&str], kinds: &BTreeMap<String, &'static str>) -> Vec<String> {
    let mut out = Vec::new();
    walk(expected, actual, "", "", exceptions, kinds, &mut out);
    out
}

fn walk(e: &Value, a: &Value, ptr: &str, norm: &str, exc: &[&str], kinds: &BTreeMap<String, &'static str>, out: &mut Vec<String>) {
    if e.is_null() || excepted(exc, norm) {
        return;
    }
    if json_type(e) != json_type(a) {
        out.push(format!(
            "at {}: example has {} ({}), emulator sent {} ({})",
            if ptr.is_empty() { "/" } else { ptr },
            json_type(e),
            crate::support::spec::truncate(&e.to_string(), 60),
            json_type(a),
            crate::support::spec::truncate(&a.to_string(), 60)
        ));
        return;
    }
    match (e, a) {
        (Value::Object(_), Value::Object(_)) if kinds.get(norm) == Some(&"free") => {}
        (Value::Object(em), Value::Object(am)) if kinds.get(norm) == Some(&"dict") => {
            let n = format!("{norm}/{{}}");
            for (k, ev) in em {
                let p = format!("{ptr}/{}", esc(k));
                if let Some(av) = am.get(k) {
                    walk(ev, av, &p, &n, exc, kinds, out);
                    continue;
                }
                let mut best: Option<Vec<String>> = None;
                for (ak, av) in am {
                    let mut errs = Vec::new();
                    walk(ev, av, &format!("{ptr}/{}", esc(ak)), &n, exc, kinds, &mut errs);
                    if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                        best = Some(errs);
                    }
                }
                if let Some(b) = best.filter(|b| !b.is_empty()) {
                    out.push(format!("at {p}: no dictionary entry has the shape of the example's entry; closest differs by:"));
                    out.extend(b.into_iter().map(|s| format!("    {s}")));
                }
            }
        }
        (Value::Object(em), Value::Object(am)) => {
            for (k, ev) in em {
                let p = format!("{ptr}/{}", esc(k));
                let n = format!("{norm}/{}", esc(k));
                match am.get(k) {
                    Some(av) => walk(ev, av, &p, &n, exc, kinds, out),
                    None if excepted(exc, &n) => {}
                    None => out.push(format!("at {p}: present in the example, missing in the emulator's response")),
                }
            }
        }
        (Value::Array(ea), Value::Array(aa)) => {
            for (i, ev) in ea.iter().enumerate() {
                let n = format!("{norm}/*");
                if aa.is_empty() {
                    out.push(format!("at {ptr}: example array has element {i}, emulator's array is empty"));
                    continue;
                }
                let mut best: Option<Vec<String>> = None;
                for (j, av) in aa.iter().enumerate() {
                    let mut errs = Vec::new();
                    walk(ev, av, &format!("{ptr}/{j}"), &n, exc, kinds, &mut errs);
                    if errs.is_empty() {
                        best = Some(errs);
                        break;
                    }
                    if best.as_ref().is_none_or(|b| errs.len() < b.len()) {
                        best = Some(errs);
                    }
                }
                let best = best.unwrap_or_default();
                if !best.is_empty() {
                    out.push(format!(
                        "at {ptr}: no element matches example element {i}; closest differs by:"
                    ));
                    out.extend(best.into_iter().map(|s| format!("    {s}")));
                }
            }
        }
        _ => {}
    }
}
