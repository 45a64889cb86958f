//! Workspace connections (`WorkspaceConnectionPropertiesV2`, every `authType`) as a definition
//! kind: `az ml connection` YAML and secrets.
//!
//! | YAML (`az ml`)                      | REST                                          |
//! |-------------------------------------|-----------------------------------------------|
//! | `type` (`git`, `python_feed`, `container_registry`, `azure_open_ai`, …) | `properties.category` (other values verbatim) |
//! | `target`, `metadata`, `is_shared`   | `properties.target`, `.metadata`, `.isSharedToAll` |
//! | `credentials.type` (`pat`, `api_key`, `managed_identity`, `service_principal`, …) | `properties.authType` |
//! | `credentials.<snake_case>`          | `properties.credentials.<camelCase>`          |
//!
//! Connection secrets (`key`, `pat`, `sas`, `password`, `clientSecret`, `secretAccessKey`,
//! `securityToken`, `refreshToken`, `developerToken`, custom `keys`) are never written: their
//! place holds the placeholder. `listSecrets` answers the whole connection with them filled in.

use super::definition::{f, get_path, Conv, Ctx, DefKind, Definition, Field, PLACEHOLDER};
use crate::error::Result;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};

pub const SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/connection.schema.json";

pub const SERVICE_PATHS: &[&str] = &["properties.createdByWorkspaceArmId", "properties.group"];

/// Credential fields that are secrets (REST names).
const SECRET_FIELDS: &[&str] = &["key", "pat", "sas", "password", "securityToken", "clientSecret", "secretAccessKey", "refreshToken", "developerToken", "keys"];

const CATEGORIES: &[(&str, &str)] = &[
    ("git", "Git"),
    ("python_feed", "PythonFeed"),
    ("container_registry", "ContainerRegistry"),
    ("azure_open_ai", "AzureOpenAI"),
    ("azure_ai_search", "CognitiveSearch"),
    ("azure_ai_services", "AIServices"),
    ("azure_blob", "AzureBlob"),
    ("s3", "S3"),
    ("snowflake", "Snowflake"),
    ("azure_sql_db", "AzureSqlDb"),
    ("api_key", "ApiKey"),
    ("custom", "CustomKeys"),
    ("serverless", "Serverless"),
    ("open_ai", "OpenAI"),
];

const AUTH_TYPES: &[(&str, &str)] = &[
    ("pat", "PAT"),
    ("managed_identity", "ManagedIdentity"),
    ("username_password", "UsernamePassword"),
    ("none", "None"),
    ("sas", "SAS"),
    ("account_key", "AccountKey"),
    ("service_principal", "ServicePrincipal"),
    ("access_key", "AccessKey"),
    ("api_key", "ApiKey"),
    ("custom_keys", "CustomKeys"),
    ("oauth2", "OAuth2"),
    ("aad", "AAD"),
];

const FIELDS: &[Field] = &[
    f("type", "properties.category", Conv::Enum(CATEGORIES)),
    f("target", "properties.target", Conv::Same),
    f("metadata", "properties.metadata", Conv::Same),
    f("is_shared", "properties.isSharedToAll", Conv::Same),
    f("expiry_time", "properties.expiryTime", Conv::Same),
    f("credentials.type", "properties.authType", Conv::Enum(AUTH_TYPES)),
    f("credentials", "properties.credentials", Conv::Custom(credentials_to_rest, credentials_to_yaml)),
];

/// Auth types that need a secret to create.
pub fn needs_secret(props: &Value) -> bool {
    !matches!(props.get("authType").and_then(Value::as_str), None | Some("None" | "ManagedIdentity" | "AAD"))
}

pub fn secret_paths(body: &Value, out: &mut Vec<String>) {
    if let Some(c) = get_path(body, "properties.credentials").and_then(Value::as_object) {
        for k in SECRET_FIELDS {
            if c.contains_key(*k) {
                out.push(format!("properties.credentials.{k}"));
            }
        }
    }
}

/// Puts the credentials `listSecrets` answered (the whole connection resource) into `body`.
pub fn insert_secrets(body: &mut Value, answer: &Value) {
    let creds = answer.pointer("/properties/credentials").or_else(|| answer.get("credentials")).cloned().unwrap_or(Value::Null);
    if creds.is_object() {
        let slot = body.pointer_mut("/properties").and_then(Value::as_object_mut);
        if let Some(p) = slot {
            let have = p.entry("credentials").or_insert_with(|| json!({}));
            super::definition::merge(have, &creds);
        }
    }
}

/// A connection as `az ml connection create` YAML (secrets as placeholders).
pub fn to_yaml(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    let head = vec![("$schema", json!(SCHEMA)), ("name", json!(def.name))];
    let mut body = def.body();
    // A secret-bearing connection as listed has no secret values: the YAML still shows where
    // each goes.
    if needs_secret(def.properties()) && get_path(&body, "properties.credentials").is_none() {
        super::definition::set_path_value(&mut body, "properties.credentials", json!({}));
    }
    super::definition::to_yaml(DefKind::Connection, head, &body, &[FIELDS], ws)
}

pub fn from_yaml(file: &str, yaml: &Value, ws: Option<&WorkspaceRef>) -> Result<Definition> {
    let (name, mut body) = super::definition::to_rest(DefKind::Connection, file, yaml, &[], &[FIELDS], ws)?;
    if get_path(&body, "properties.authType").is_none() {
        super::definition::set_path_value(&mut body, "properties.authType", json!("None"));
    }
    body["name"] = json!(name);
    Ok(Definition::new(DefKind::Connection, None, body))
}

fn snake(k: &str) -> String {
    let mut out = String::new();
    for (i, c) in k.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(k: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in k.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn credentials_to_yaml(v: &Value, _: &Ctx) -> Value {
    let Some(m) = v.as_object() else { return v.clone() };
    let mut y = Map::new();
    for (k, x) in m {
        let val = if SECRET_FIELDS.contains(&k.as_str()) {
            match x {
                // Custom keys: the names stay, the values do not.
                Value::Object(keys) if k == "keys" => Value::Object(keys.keys().map(|n| (n.clone(), json!(PLACEHOLDER))).collect()),
                _ => json!(PLACEHOLDER),
            }
        } else {
            x.clone()
        };
        y.insert(snake(k), val);
    }
    Value::Object(y)
}

fn credentials_to_rest(v: &Value, _: &Ctx) -> Value {
    let Some(m) = v.as_object() else { return v.clone() };
    Value::Object(m.iter().map(|(k, x)| (camel(k), x.clone())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::definition::{self, tests::ws};
    use crate::compare::Comparison;

    fn conn(name: &str, props: Value) -> Definition {
        Definition::new(DefKind::Connection, None, json!({"name": name, "properties": props}))
    }

    #[test]
    fn round_trip_and_placeholders() {
        let w = ws("primary");
        let cases = [
            conn("git", json!({"category": "Git", "authType": "PAT", "target": "https://github.com/org/repo", "credentials": {"pat": "ghp_realtoken"},
                "isSharedToAll": true, "createdByWorkspaceArmId": "/x", "group": "ServicesAndApps"})),
            conn("aoai", json!({"category": "AzureOpenAI", "authType": "ApiKey", "target": "https://x.openai.azure.com",
                "metadata": {"ApiVersion": "2024-02-01", "ApiType": "azure"}, "credentials": {"key": "sk-real"}})),
            conn("sp", json!({"category": "AzureBlob", "authType": "ServicePrincipal", "target": "https://a.blob.core.windows.net/c",
                "credentials": {"clientId": "c", "tenantId": "t", "clientSecret": "real-secret"}})),
            conn("custom", json!({"category": "CustomKeys", "authType": "CustomKeys", "target": "_", "credentials": {"keys": {"a": "1", "b": "2"}}})),
            conn("mi", json!({"category": "AzureBlob", "authType": "ManagedIdentity", "target": "https://a.blob.core.windows.net/c",
                "credentials": {"resourceId": "/subscriptions/s/rg/id", "clientId": "c"}})),
            conn("brand_new", json!({"category": "SomethingNew", "authType": "AAD", "target": "https://x"})),
        ];
        for c in &cases {
            let y = to_yaml(c, Some(&w));
            let text = serde_norway::to_string(&y).unwrap();
            for secret in ["ghp_realtoken", "sk-real", "real-secret", "\"1\"", "'1'"] {
                assert!(!text.contains(secret), "{}: {text}", c.name);
            }
            let back = from_yaml("c.yml", &serde_norway::from_str(&text).unwrap(), Some(&w)).unwrap();
            assert_eq!(definition::compare(DefKind::Connection, &back.body(), Some(&c.resource)), Comparison::Identical, "{}: {text}", c.name);
            assert_eq!(c.needs_secrets(), !matches!(c.name.as_str(), "mi" | "brand_new"), "{}", c.name);
        }
        let y = to_yaml(&cases[2], None);
        assert_eq!(y["credentials"]["type"], "service_principal");
        assert_eq!(y["credentials"]["client_id"], "c");
        assert_eq!(y["credentials"]["client_secret"], PLACEHOLDER);
        assert_eq!(y["type"], "azure_blob");
        assert_eq!(to_yaml(&cases[5], None)["type"], "SomethingNew", "an unknown category is kept verbatim");
    }

    #[test]
    fn a_listed_connection_without_values_still_shows_where_the_secret_goes() {
        let listed = conn("aoai", json!({"category": "AzureOpenAI", "authType": "ApiKey", "target": "https://x"}));
        assert!(listed.needs_secrets());
        let y = to_yaml(&listed, None);
        assert_eq!(y["credentials"]["type"], "api_key");
        let mut body = listed.body();
        insert_secrets(&mut body, &json!({"name": "aoai", "properties": {"authType": "ApiKey", "credentials": {"key": "sk-real"}}}));
        assert_eq!(body["properties"]["credentials"]["key"], "sk-real");
        assert!(!definition::redacted(DefKind::Connection, &body).to_string().contains("sk-real"));
    }
}
