//! Datastores (every type of api-version 2025-12-01: Azure Blob, Azure Files, ADLS Gen2, ADLS
//! Gen1, OneLake) as a definition kind: `az ml datastore` YAML, secrets, the default datastores.
//!
//! | YAML (`az ml`)                         | REST (`DatastoreResource`)                  |
//! |----------------------------------------|---------------------------------------------|
//! | `type: azure_blob\|azure_file\|azure_data_lake_gen2\|azure_data_lake_gen1\|one_lake` | `properties.datastoreType` |
//! | `description`, `tags`, `properties`    | `properties.description`, `.tags`, `.properties` |
//! | `account_name`, `container_name`, `file_share_name`, `filesystem`, `store_name`, `endpoint`, `protocol` | `properties.accountName`, `.containerName`, `.fileShareName`, `.filesystem`, `.storeName`, `.endpoint`, `.protocol` |
//! | `one_lake_workspace_name`, `artifact: {name, type: lake_house}` | `properties.oneLakeWorkspaceName`, `.artifact: {artifactName, artifactType}` |
//! | `credentials: {account_key}` / `{sas_token}` / `{tenant_id, client_id, client_secret, authority_url, resource_url}` / `{…, thumbprint, certificate}` / none | `properties.credentials` of type `AccountKey` / `Sas` / `ServicePrincipal` / `Certificate` / `None` |
//!
//! The secret of a credential (`key`, `sasToken`, `clientSecret`, `certificate`) is never in
//! a YAML the tool writes: its place holds [`super::definition::PLACEHOLDER`]. Identity-based
//! datastores (`None`) need no secret and are copied as they are.

use super::definition::{f, get_path, Conv, Ctx, DefKind, Definition, Field, PLACEHOLDER};
use crate::error::Result;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};

/// The datastores every workspace has of its own: never copied (the target has its own).
pub const WORKSPACE_DEFAULTS: &[&str] = &["workspaceblobstore", "workspacefilestore", "workspaceworkingdirectory", "workspaceartifactstore"];

pub const SERVICE_PATHS: &[&str] = &["properties.isDefault"];

const TYPES: &[(&str, &str)] = &[
    ("azure_blob", "AzureBlob"),
    ("azure_file", "AzureFile"),
    ("azure_data_lake_gen2", "AzureDataLakeGen2"),
    ("azure_data_lake_gen1", "AzureDataLakeGen1"),
    ("one_lake", "OneLake"),
];

const ARTIFACT_TYPES: &[(&str, &str)] = &[("lake_house", "LakeHouse")];

const FIELDS: &[Field] = &[
    f("type", "properties.datastoreType", Conv::Enum(TYPES)),
    f("description", "properties.description", Conv::Same),
    f("tags", "properties.tags", Conv::Same),
    f("properties", "properties.properties", Conv::Same),
    f("account_name", "properties.accountName", Conv::Same),
    f("container_name", "properties.containerName", Conv::Same),
    f("file_share_name", "properties.fileShareName", Conv::Same),
    f("filesystem", "properties.filesystem", Conv::Same),
    f("store_name", "properties.storeName", Conv::Same),
    f("one_lake_workspace_name", "properties.oneLakeWorkspaceName", Conv::Same),
    f("artifact.name", "properties.artifact.artifactName", Conv::Same),
    f("artifact.type", "properties.artifact.artifactType", Conv::Enum(ARTIFACT_TYPES)),
    f("endpoint", "properties.endpoint", Conv::Same),
    f("protocol", "properties.protocol", Conv::Same),
    f("credentials", "properties.credentials", Conv::Custom(credentials_to_rest, credentials_to_yaml)),
];

/// The `az ml` YAML schema of a datastore type (REST `datastoreType`).
pub fn schema(datastore_type: &str) -> String {
    let file = match datastore_type {
        "AzureFile" => "azureFile",
        "AzureDataLakeGen2" => "azureDataLakeGen2",
        "AzureDataLakeGen1" => "azureDataLakeGen1",
        "OneLake" => "oneLake",
        _ => "azureBlob",
    };
    format!("https://azuremlschemas.azureedge.net/latest/{file}.schema.json")
}

/// Whether `def` is one of the workspace's own datastores (never copied).
pub fn is_workspace_default(def: &Definition) -> bool {
    WORKSPACE_DEFAULTS.iter().any(|d| d.eq_ignore_ascii_case(&def.name)) || def.properties().get("isDefault").and_then(Value::as_bool) == Some(true)
}

/// Credential types that need a secret to create.
pub fn needs_secret(props: &Value) -> bool {
    matches!(props.pointer("/credentials/credentialsType").and_then(Value::as_str), Some("AccountKey" | "Sas" | "ServicePrincipal" | "Certificate"))
}

pub fn secret_paths(body: &Value, out: &mut Vec<String>) {
    if get_path(body, "properties.credentials.secrets").is_some() {
        out.push("properties.credentials.secrets".into());
    }
}

/// Puts what `listSecrets` answered (`DatastoreSecrets`) into the credentials.
pub fn insert_secrets(body: &mut Value, secrets: &Value) {
    if let Some(c) = body.pointer_mut("/properties/credentials").and_then(Value::as_object_mut) {
        c.insert("secrets".into(), secrets.clone());
    }
}

/// A datastore as `az ml datastore create` YAML (secrets as placeholders).
pub fn to_yaml(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    let t = def.properties().get("datastoreType").and_then(Value::as_str).unwrap_or("AzureBlob").to_string();
    let head = vec![("$schema", json!(schema(&t))), ("name", json!(def.name))];
    super::definition::to_yaml(DefKind::Datastore, head, &def.body(), &[FIELDS], ws)
}

/// `az ml datastore` YAML -> a definition (no credentials: an identity-based datastore).
pub fn from_yaml(file: &str, yaml: &Value, ws: Option<&WorkspaceRef>) -> Result<Definition> {
    let (name, mut body) = super::definition::to_rest(DefKind::Datastore, file, yaml, &[], &[FIELDS], ws)?;
    if get_path(&body, "properties.datastoreType").is_none() {
        return Err(crate::error::Error::usage(format!(
            "{file}: type is missing (one of {})",
            TYPES.iter().map(|(y, _)| *y).collect::<Vec<_>>().join(", ")
        )));
    }
    if get_path(&body, "properties.credentials").is_none() {
        super::definition::set_path_value(&mut body, "properties.credentials", json!({"credentialsType": "None"}));
    }
    body["name"] = json!(name);
    Ok(Definition::new(DefKind::Datastore, None, body))
}

const SP: &[(&str, &str)] = &[("tenant_id", "tenantId"), ("client_id", "clientId"), ("authority_url", "authorityUrl"), ("resource_url", "resourceUrl"), ("thumbprint", "thumbprint")];

fn credentials_to_yaml(v: &Value, _: &Ctx) -> Value {
    let mut y = Map::new();
    match v.get("credentialsType").and_then(Value::as_str) {
        Some("None") | None => return Value::Null,
        Some("AccountKey") => {
            y.insert("account_key".into(), json!(PLACEHOLDER));
        }
        Some("Sas") => {
            y.insert("sas_token".into(), json!(PLACEHOLDER));
        }
        Some(t @ ("ServicePrincipal" | "Certificate")) => {
            for (yk, rk) in SP {
                if let Some(x) = v.get(*rk).filter(|x| !x.is_null()) {
                    y.insert((*yk).into(), x.clone());
                }
            }
            let secret = if t == "Certificate" { "certificate" } else { "client_secret" };
            y.insert(secret.into(), json!(PLACEHOLDER));
        }
        // A credential type newer than this tool: carried as REST (without its secrets).
        Some(_) => {
            let mut c = v.clone();
            if let Some(m) = c.as_object_mut() {
                m.remove("secrets");
            }
            return json!({ "extra_rest_credentials": c });
        }
    }
    Value::Object(y)
}

fn credentials_to_rest(v: &Value, _: &Ctx) -> Value {
    let Some(m) = v.as_object() else { return json!({"credentialsType": "None"}) };
    if let Some(raw) = m.get("extra_rest_credentials") {
        return raw.clone();
    }
    let s = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    if m.contains_key("account_key") {
        return json!({"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": s("account_key")}});
    }
    if m.contains_key("sas_token") {
        return json!({"credentialsType": "Sas", "secrets": {"secretsType": "Sas", "sasToken": s("sas_token")}});
    }
    if m.contains_key("client_secret") || m.contains_key("certificate") {
        let cert = m.contains_key("certificate");
        let t = if cert { "Certificate" } else { "ServicePrincipal" };
        let mut c = Map::new();
        c.insert("credentialsType".into(), json!(t));
        for (yk, rk) in SP {
            if let Some(x) = m.get(*yk) {
                c.insert((*rk).into(), x.clone());
            }
        }
        let secrets = if cert {
            json!({"secretsType": t, "certificate": s("certificate")})
        } else {
            json!({"secretsType": t, "clientSecret": s("client_secret")})
        };
        c.insert("secrets".into(), secrets);
        return Value::Object(c);
    }
    json!({"credentialsType": "None"})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::definition::{self, tests::ws, CopyOptions};
    use crate::assets::refs::Rewriter;
    use crate::compare::Comparison;

    fn ds(name: &str, props: Value) -> Definition {
        Definition::new(DefKind::Datastore, None, json!({"id": format!("/x/datastores/{name}"), "name": name, "properties": props}))
    }

    /// One of every type the spec defines, as the service lists them (no secrets).
    pub fn every_type() -> Vec<Definition> {
        vec![
            ds("blob_key", json!({"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "data", "endpoint": "core.windows.net",
                "protocol": "https", "credentials": {"credentialsType": "AccountKey"}, "isDefault": false, "description": "raw data",
                "tags": {"team": "a"}, "serviceDataAccessAuthIdentity": "None", "subscriptionId": "s1", "resourceGroup": "rg"})),
            ds("blob_identity", json!({"datastoreType": "AzureBlob", "accountName": "acct", "containerName": "shared", "credentials": {"credentialsType": "None"}})),
            ds("files_sas", json!({"datastoreType": "AzureFile", "accountName": "acct", "fileShareName": "share", "credentials": {"credentialsType": "Sas"}})),
            ds("gen2_sp", json!({"datastoreType": "AzureDataLakeGen2", "accountName": "lake", "filesystem": "fs",
                "credentials": {"credentialsType": "ServicePrincipal", "tenantId": "t", "clientId": "c", "authorityUrl": "https://login.microsoftonline.com"}})),
            ds("gen1", json!({"datastoreType": "AzureDataLakeGen1", "storeName": "store1", "credentials": {"credentialsType": "None"}})),
            ds("gen1_cert", json!({"datastoreType": "AzureDataLakeGen1", "storeName": "store1",
                "credentials": {"credentialsType": "Certificate", "tenantId": "t", "clientId": "c", "thumbprint": "AB12"}})),
            ds("onelake", json!({"datastoreType": "OneLake", "oneLakeWorkspaceName": "fabric-ws", "endpoint": "onelake.dfs.fabric.microsoft.com",
                "artifact": {"artifactName": "lh", "artifactType": "LakeHouse"}, "credentials": {"credentialsType": "None"}})),
        ]
    }

    #[test]
    fn every_type_round_trips_through_az_ml_yaml() {
        let w = ws("primary");
        for d in every_type() {
            let y = to_yaml(&d, Some(&w));
            let text = serde_norway::to_string(&y).unwrap();
            let back = from_yaml("d.yml", &serde_norway::from_str(&text).unwrap(), Some(&w)).unwrap();
            assert_eq!(back.name, d.name);
            // Secret-bearing: the YAML holds a placeholder where the secret goes; comparing
            // ignores secrets, so the definition is the same.
            assert_eq!(definition::compare(DefKind::Datastore, &back.body(), Some(&d.resource)), Comparison::Identical, "{}: {text}", d.name);
        }
    }

    #[test]
    fn yaml_reads_the_examples_shapes() {
        let y: Value = serde_norway::from_str(
            "$schema: https://azuremlschemas.azureedge.net/latest/azureDataLakeGen2.schema.json\nname: adls_gen2_example\ntype: azure_data_lake_gen2\n\
             account_name: mytestdatalakegen2\nfilesystem: my-gen2-container\ncredentials:\n  tenant_id: T\n  client_id: C\n  client_secret: S\n",
        )
        .unwrap();
        let d = from_yaml("adls-gen2.yml", &y, None).unwrap();
        assert_eq!(
            d.properties()["credentials"],
            json!({"credentialsType": "ServicePrincipal", "tenantId": "T", "clientId": "C", "secrets": {"secretsType": "ServicePrincipal", "clientSecret": "S"}})
        );
        assert!(d.needs_secrets());
        let y: Value = serde_norway::from_str("name: blob_credless_example\ntype: azure_blob\naccount_name: a\ncontainer_name: c\n").unwrap();
        let d = from_yaml("blob.yml", &y, None).unwrap();
        assert_eq!(d.properties()["credentials"], json!({"credentialsType": "None"}));
        assert!(!d.needs_secrets());
        let bad: Value = serde_norway::from_str("name: x\ntype: azure_blob\ncontainer: c\n").unwrap();
        let e = from_yaml("bad.yml", &bad, None).unwrap_err().to_string();
        assert!(e.contains("bad.yml") && e.contains("'container'"), "{e}");
    }

    #[test]
    fn secrets_never_reach_the_yaml_and_go_only_into_the_target_body() {
        let w = ws("primary");
        let d = ds("blob_key", json!({"datastoreType": "AzureBlob", "accountName": "a", "containerName": "c", "credentials": {"credentialsType": "AccountKey"}}));
        let (src, dst) = definition::tests::rewriter_ids();
        let same = |_: crate::assets::Kind, _: &str, v: &str| v.to_string();
        let rw = Rewriter { src, dst, version_of: &same };
        let p = definition::prepare(&d, &CopyOptions::default(), &rw);
        assert!(p.manual.as_deref().is_some_and(|m| m.contains("AccountKey") && m.contains("--with-secrets")), "{:?}", p.manual);
        let with = definition::prepare(&d, &CopyOptions { with_secrets: true, ..Default::default() }, &rw);
        assert_eq!(with.manual, None);
        let secret = "c2VjcmV0LWtleS12YWx1ZQ==";
        let body = definition::with_secrets(DefKind::Datastore, &with.body, &json!({"secretsType": "AccountKey", "key": secret}));
        assert_eq!(body["properties"]["credentials"]["secrets"]["key"], secret);
        // Written forms of the same body hold the placeholder only.
        let full = Definition::new(DefKind::Datastore, None, json!({"name": "blob_key", "properties": body["properties"]}));
        let text = serde_norway::to_string(&to_yaml(&full, Some(&w))).unwrap();
        assert!(!text.contains(secret) && text.contains(PLACEHOLDER), "{text}");
        assert!(!definition::redacted(DefKind::Datastore, &body).to_string().contains(secret));
    }

    #[test]
    fn workspace_defaults_are_never_copied() {
        assert!(is_workspace_default(&ds("workspaceblobstore", json!({}))));
        assert!(is_workspace_default(&ds("WorkspaceFileStore", json!({}))));
        assert!(is_workspace_default(&ds("mystore", json!({"isDefault": true}))));
        assert!(!is_workspace_default(&ds("mystore", json!({"isDefault": false}))));
    }
}
