//! Operation handlers, grouped by resource family.

pub mod assets;
pub mod datastores;
pub mod jobs;
pub mod workspaces;

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::arm::{ArmError, now_rfc3339};
use crate::auth::Principal;

/// Per-request facts the handlers need.
pub struct Ctx {
    pub principal: Principal,
    /// Absolute URL of the request path plus the query parameters a list keeps
    /// (api-version, listViewType), without `$skipToken`.
    pub list_base: String,
    pub query: HashMap<String, String>,
    /// `https://127.0.0.1:PORT`
    pub base_url: String,
    pub page_size: usize,
}

impl Ctx {
    /// Offset from `$skipToken` (400 on a token the emulator did not issue).
    pub fn offset(&self) -> Result<usize, ArmError> {
        match self.query.get("$skipToken").or_else(|| self.query.get("$skiptoken")) {
            None => Ok(0),
            Some(t) => crate::arm::decode_skip_token(t)
                .ok_or_else(|| ArmError::bad_request("InvalidSkipToken", "The provided skip token is not valid.")),
        }
    }

    pub fn page(&self, items: Vec<Value>) -> Result<Value, ArmError> {
        Ok(crate::arm::page(items, self.offset()?, self.page_size, &self.list_base))
    }

    /// `listViewType`: ActiveOnly (default), ArchivedOnly, All.
    pub fn list_view_filter(&self) -> impl Fn(&Value) -> bool {
        let view = self.query.get("listViewType").cloned().unwrap_or_default().to_ascii_lowercase();
        move |v: &Value| {
            let archived = v.pointer("/properties/isArchived").and_then(Value::as_bool).unwrap_or(false);
            match view.as_str() {
                "all" => true,
                "archivedonly" => archived,
                _ => !archived,
            }
        }
    }
}

pub fn system_data(principal: &Principal, previous: Option<&Value>) -> Value {
    let now = now_rfc3339();
    let mut sd = json!({
        "createdAt": now, "createdBy": principal.name, "createdByType": principal.kind,
        "lastModifiedAt": now, "lastModifiedBy": principal.name, "lastModifiedByType": principal.kind,
    });
    if let Some(prev) = previous {
        for k in ["createdAt", "createdBy", "createdByType"] {
            if let Some(v) = prev.get(k) {
                sd[k] = v.clone();
            }
        }
    }
    sd
}

/// Parses a PUT body: a JSON object with a `properties` object.
pub fn parse_body(body: &[u8]) -> Result<Value, ArmError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        ArmError::bad_request("InvalidRequestContent", format!("The request content was invalid and could not be deserialized: '{e}'."))
    })?;
    if !v.is_object() {
        return Err(ArmError::bad_request("InvalidRequestContent", "The request content must be a JSON object."));
    }
    Ok(v)
}

pub fn properties_of(body: &Value) -> Result<Map<String, Value>, ArmError> {
    match body.get("properties") {
        Some(Value::Object(m)) => Ok(m.clone()),
        _ => Err(ArmError::user_error("The request body must contain a 'properties' object.")),
    }
}

/// Azure ML asset/job names: start with a letter or digit, then letters, digits, `-`, `_`, `.`; at most 255.
pub fn validate_name(what: &str, name: &str) -> Result<(), ArmError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ArmError::user_error(format!(
            "{what} '{name}' is invalid: it must start with a letter or a digit and contain only letters, digits, '-', '_' and '.' (at most 255 characters)."
        )))
    }
}

/// Sets `key` to `value` when absent or null.
pub fn default_field(props: &mut Map<String, Value>, key: &str, value: Value) {
    if props.get(key).is_none_or(Value::is_null) {
        props.insert(key.to_string(), value);
    }
}

/// Equality of two property objects, ignoring `skip` keys.
pub fn same_except(a: &Map<String, Value>, b: &Map<String, Value>, skip: &[&str]) -> Vec<String> {
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !skip.contains(&k.as_str()))
        .filter(|k| {
            let x = a.get(*k).filter(|v| !v.is_null());
            let y = b.get(*k).filter(|v| !v.is_null());
            x != y
        })
        .cloned()
        .collect()
}
