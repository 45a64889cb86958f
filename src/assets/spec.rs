//! Two specifications compared as values: the part of the one comparison (`crate::compare`)
//! that needs no workspace, kept here below the asset kinds that ask it (each kind's
//! `compare_*`), and re-exported by `crate::compare`. What "the same definition" means is
//! [`normalize`]'s lists, and nowhere else.

use serde_json::Value;

/// How a target version compares with the source's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// No version of that name and number in the target.
    Missing,
    /// Same specification and every file has the same path, size and sha256.
    Identical,
    /// Differs; the reasons say how (e.g. "file model.pkl: sha256 differs").
    Different(Vec<String>),
    /// Could not be decided: reading either side failed (the error says why).
    Unknown(String),
}

/// Fields the service sets, dropped at any depth: they say nothing about the definition.
/// (Endpoints: keys, scoring and swagger URIs; computes: node counts and allocation state.)
pub const SERVICE_FIELDS: &[&str] = &[
    "provisioningState",
    "isAnonymous",
    "environmentType",
    "$schema",
    "status",
    "parameters",
    "systemData",
    "keys",
    "scoringUri",
    "swaggerUri",
    "allocationState",
    "allocationStateTransitionTime",
    "currentNodeCount",
    "targetNodeCount",
    "nodeStateCounts",
    "createdByWorkspaceArmId",
];

/// Values the service fills in when a definition leaves them out, dropped at any depth, so a
/// definition that states them equals one that does not.
pub fn is_service_default(key: &str, v: &Value) -> bool {
    match key {
        "isArchived" => v == &Value::Bool(false),
        "autoRebuild" => v.as_str() == Some("Disabled"),
        "osType" => v.as_str() == Some("Linux"),
        _ => false,
    }
}

/// A REST specification as compared: nulls, empty maps, [`SERVICE_FIELDS`] and service
/// defaults ([`is_service_default`]) dropped at any depth, numbers as their text (the service
/// answers `"1"` for a `1` in places).
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| {
                    !(v.is_null() || v.as_object().is_some_and(|o| o.is_empty()) || SERVICE_FIELDS.contains(&k.as_str()) || is_service_default(k, v))
                })
                .map(|(k, v)| (k.clone(), normalize(v)))
                .filter(|(_, v)| !v.as_object().is_some_and(|o| o.is_empty()))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Number(n) => Value::String(n.to_string()),
        other => other.clone(),
    }
}

/// Compares two REST specifications (normalised): `None` when the same, else the reason naming
/// the top-level fields that differ ("the specification differs (description, tags)").
pub fn spec_difference(want: &Value, have: &Value) -> Option<String> {
    let (a, b) = (normalize(want), normalize(have));
    if a == b {
        return None;
    }
    let fields = match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).map(String::as_str).collect::<Vec<_>>().join(", ")
        }
        _ => "shape".to_string(),
    };
    Some(format!("the specification differs ({fields})"))
}

/// Two specifications only (components, pipelines, data assets whose files are not read).
pub fn specs(want: &Value, have: &Value) -> Comparison {
    match spec_difference(want, have) {
        None => Comparison::Identical,
        Some(why) => Comparison::Different(vec![why]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_fields_defaults_nulls_and_empty_maps_are_not_differences() {
        let want = json!({"description": "d", "tags": {}, "isArchived": false, "osType": "Linux", "x": null, "stage": "Production"});
        let have = json!({"description": "d", "provisioningState": "Succeeded", "isAnonymous": false, "autoRebuild": "Disabled",
            "properties": {}, "stage": "Production", "nested": {"provisioningState": "Succeeded"}});
        assert_eq!(specs(&want, &have), Comparison::Identical);
    }

    #[test]
    fn numbers_equal_their_text() {
        assert_eq!(specs(&json!({"n": 1, "a": [2]}), &json!({"n": "1", "a": ["2"]})), Comparison::Identical);
    }

    #[test]
    fn a_difference_names_the_fields() {
        let c = specs(&json!({"description": "a", "tags": {"t": "1"}, "stage": "x"}), &json!({"description": "b", "tags": {"t": "2"}, "stage": "x"}));
        assert_eq!(c, Comparison::Different(vec!["the specification differs (description, tags)".into()]));
        // A stated non-default value is a difference.
        assert!(matches!(specs(&json!({"isArchived": true}), &json!({})), Comparison::Different(_)));
        assert!(matches!(specs(&json!({"osType": "Windows"}), &json!({})), Comparison::Different(_)));
        assert_eq!(spec_difference(&json!([1]), &json!([2])).as_deref(), Some("the specification differs (shape)"));
    }
}
