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
//! * Exceptions are normalized paths (`/value/*/properties/x`, `*` = any
//!   array index) that are allowed to be absent; see [`SHAPE_EXCEPTIONS`].
#![allow(dead_code)]

use serde_json::Value;

/// Paths an example may have that the emulator legitimately does not send.
/// Keep this short; each entry needs a reason.
pub const SHAPE_EXCEPTIONS: &[(&str, &str)] = &[
    (
        "/nextLink",
        "examples show a placeholder nextLink (some with an old preview api-version); the \
         emulator sends nextLink only when another page exists, as ARM does",
    ),
];

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
    let mut out = Vec::new();
    walk(expected, actual, "", "", exceptions, &mut out);
    out
}

fn walk(e: &Value, a: &Value, ptr: &str, norm: &str, exc: &[&str], out: &mut Vec<String>) {
    if e.is_null() {
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
        (Value::Object(em), Value::Object(am)) => {
            for (k, ev) in em {
                let p = format!("{ptr}/{}", esc(k));
                let n = format!("{norm}/{}", esc(k));
                match am.get(k) {
                    Some(av) => walk(ev, av, &p, &n, exc, out),
                    None if exc.contains(&n.as_str()) => {}
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
                    walk(ev, av, &format!("{ptr}/{j}"), &n, exc, &mut errs);
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
