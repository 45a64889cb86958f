//! Operation handlers, grouped by resource family.

pub mod acr;
pub mod assets;
pub mod children;
pub mod computes;
pub mod connections;
pub mod curated;
pub mod datastores;
pub mod endpoints;
pub mod jobs;
pub mod storage_rp;
pub mod lro;
pub mod regions;
pub mod schedules;
pub mod workspaces;

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use crate::arm::{ArmError, now_rfc3339};
use crate::auth::Principal;

/// A handler's answer: status, JSON body (`Null`: none) and extra headers (LRO polling URLs).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn new(status: StatusCode, body: Value) -> Reply {
        Reply { status, body, headers: Vec::new() }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<(StatusCode, Value)> for Reply {
    fn from((status, body): (StatusCode, Value)) -> Reply {
        Reply::new(status, body)
    }
}

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

    /// A non-negative integer query parameter (400 `InvalidQueryParameter` otherwise).
    fn int_param(&self, name: &str) -> Result<Option<usize>, ArmError> {
        match self.query.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse::<usize>().map(Some).map_err(|_| {
                ArmError::bad_request("InvalidQueryParameter", format!("The query parameter '{name}' must be a non-negative integer, got '{v}'."))
            }),
        }
    }

    /// Lists with a `count` parameter (Datastores_List, ModelContainers_List: "Maximum number of
    /// results to return"): pages of at most `count` items, never more than the server's page size.
    pub fn page_with_count(&self, items: Vec<Value>) -> Result<Value, ArmError> {
        let size = match self.int_param("count")? {
            Some(c) if c > 0 => c.min(self.page_size),
            _ => self.page_size,
        };
        Ok(crate::arm::page(items, self.offset()?, size, &self.list_base))
    }

    /// `$top` of the *Versions_List operations ("Maximum number of records to return").
    pub fn top(&self) -> Result<Option<usize>, ArmError> {
        self.int_param("$top")
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

/// A path under another resource provider's namespace: `/subscriptions/S/providers/NS/rest..`
/// gives (S, None, rest), `/subscriptions/S/resourceGroups/R/providers/NS/rest..` (S, Some(R), rest).
pub fn provider_path<'a>(segs: &'a [&'a str], namespace: &str) -> Option<(String, Option<String>, &'a [&'a str])> {
    let eq = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    match segs {
        [s, sub, p, ns, rest @ ..] if eq(s, "subscriptions") && eq(p, "providers") && eq(ns, namespace) => Some((sub.to_string(), None, rest)),
        [s, sub, r, rg, p, ns, rest @ ..] if eq(s, "subscriptions") && eq(r, "resourceGroups") && eq(p, "providers") && eq(ns, namespace) => {
            Some((sub.to_string(), Some(rg.to_string()), rest))
        }
        _ => None,
    }
}

/// Whether a resource of subscription `sub` and group `rg` belongs in a list of `list_sub`
/// (and of `list_rg` when the list is by resource group).
pub fn listed(sub: &str, rg: &str, list_sub: &str, list_rg: Option<&str>) -> bool {
    sub.eq_ignore_ascii_case(list_sub) && list_rg.is_none_or(|l| rg.eq_ignore_ascii_case(l))
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

/// Orders resources (given in creation order) by `createdtime`, `modifiedtime` or `name`
/// (systemData / name); ties keep creation order (reversed for desc, so the newest comes
/// first). `spec` is an OData-like `<property> [asc|desc]`; None when it is not one of these.
pub fn order_by(items: &mut [Value], spec: &str) -> Option<()> {
    let mut words = spec.split_whitespace();
    let prop = words.next()?.to_ascii_lowercase();
    let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return None,
    };
    let key = |v: &Value| -> String {
        match prop.as_str() {
            "createdtime" | "createdat" => v.pointer("/systemData/createdAt").and_then(Value::as_str).unwrap_or("").to_string(),
            "modifiedtime" | "lastmodifiedat" => v.pointer("/systemData/lastModifiedAt").and_then(Value::as_str).unwrap_or("").to_string(),
            _ => crate::store::name_of(v).to_string(),
        }
    };
    if !matches!(prop.as_str(), "createdtime" | "createdat" | "modifiedtime" | "lastmodifiedat" | "name") {
        return None;
    }
    let mut keyed: Vec<(String, usize, Value)> = items.iter().enumerate().map(|(i, v)| (key(v), i, v.clone())).collect();
    keyed.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    for (slot, (_, _, v)) in items.iter_mut().zip(keyed) {
        *slot = v;
    }
    if desc {
        items.reverse();
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(query: &[(&str, &str)], page_size: usize) -> Ctx {
        Ctx {
            principal: Principal { name: "t".into(), kind: "User" },
            list_base: "https://h/x?api-version=2025-12-01".into(),
            query: query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            base_url: "https://h".into(),
            page_size,
        }
    }

    #[test]
    fn count_caps_the_page_and_top_is_parsed() {
        let items: Vec<Value> = (0..5).map(|i| json!({"name": i.to_string()})).collect();
        assert_eq!(ctx(&[("count", "30")], 2).page_with_count(items.clone()).unwrap()["value"].as_array().unwrap().len(), 2);
        assert_eq!(ctx(&[("count", "1")], 100).page_with_count(items.clone()).unwrap()["value"].as_array().unwrap().len(), 1);
        assert_eq!(ctx(&[], 100).page_with_count(items).unwrap()["value"].as_array().unwrap().len(), 5);
        assert_eq!(ctx(&[("$top", "1")], 2).top().unwrap(), Some(1));
        assert_eq!(ctx(&[("$top", "x")], 2).top().unwrap_err().code, "InvalidQueryParameter");
    }

    #[test]
    fn order_by_created_time_both_ways() {
        let mk = |n: &str, t: &str| json!({"name": n, "systemData": {"createdAt": t, "lastModifiedAt": t}});
        let mut v = vec![mk("b", "2024-01-02T00:00:00Z"), mk("a", "2024-01-03T00:00:00Z"), mk("c", "2024-01-01T00:00:00Z")];
        order_by(&mut v, "createdtime desc").unwrap();
        assert_eq!(v.iter().map(|x| x["name"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
        order_by(&mut v, "name").unwrap();
        assert_eq!(v.iter().map(|x| x["name"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b", "c"]);
        order_by(&mut v, "createdtime asc").unwrap();
        assert_eq!(v.iter().map(|x| x["name"].as_str().unwrap()).collect::<Vec<_>>(), ["c", "b", "a"]);
        assert!(order_by(&mut v, "size desc").is_none());
        // Same timestamp: creation order decides (newest first when descending).
        let mut same = vec![mk("v1", "2024-01-01T00:00:00Z"), mk("v2", "2024-01-01T00:00:00Z")];
        order_by(&mut same, "createdtime desc").unwrap();
        assert_eq!(same[0]["name"], "v2");
    }
}
