//! Datastores_* operations and the four default datastores of a workspace.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::{parse_body, properties_of, system_data, validate_name, Ctx};
use crate::arm::{ArmError, WorkspaceRef, PROVIDER};
use crate::auth::Principal;
use crate::server::App;
use crate::store::{name_of, DatastoreRecord, WorkspaceRecord};

pub const DATASTORE_TYPE: &str = "Microsoft.MachineLearningServices/workspaces/datastores";
/// File share holding the notebooks tree in current workspaces (same name everywhere).
pub const WORKING_DIRECTORY_SHARE: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

fn not_found(ws: &WorkspaceRef, name: &str) -> ArmError {
    ArmError::resource_not_found(&format!("{PROVIDER}/workspaces/{}/datastores/{name}", ws.name), &ws.resource_group)
}

fn workspace_missing(ws: &WorkspaceRef) -> ArmError {
    super::workspaces::not_found(ws)
}

/// The default datastores exactly as Azure creates them.
pub fn defaults(w: &WorkspaceRecord, principal: &Principal) -> Vec<DatastoreRecord> {
    let key_secret = json!({"secretsType": "AccountKey", "key": w.storage_key});
    let mk = |name: &str, is_default: bool, kind: &str, target: (&str, String)| {
        let mut props = json!({
            "description": null,
            "tags": {},
            "properties": {},
            "isDefault": is_default,
            "credentials": {"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey"}},
            "datastoreType": kind,
            "accountName": w.storage_account,
            "endpoint": "core.windows.net",
            "protocol": "https",
            "serviceDataAccessAuthIdentity": "None",
            "subscriptionId": w.subscription_id,
            "resourceGroup": w.resource_group,
        });
        props[target.0] = Value::String(target.1);
        DatastoreRecord {
            resource: json!({
                "id": format!("{}/datastores/{name}", w.arm_id()),
                "name": name,
                "type": DATASTORE_TYPE,
                "properties": props,
                "systemData": system_data(principal, None),
            }),
            secrets: Some(key_secret.clone()),
        }
    };
    vec![
        mk("workspaceblobstore", true, "AzureBlob", ("containerName", w.default_container())),
        mk("workspaceartifactstore", false, "AzureBlob", ("containerName", "azureml".into())),
        mk("workspacefilestore", false, "AzureFile", ("fileShareName", format!("azureml-filestore-{}", w.workspace_id))),
        mk("workspaceworkingdirectory", false, "AzureFile", ("fileShareName", WORKING_DIRECTORY_SHARE.into())),
    ]
}

pub fn list(app: &App, ctx: &Ctx, ws: &WorkspaceRef) -> Result<(StatusCode, Value), ArmError> {
    let items = app
        .store
        .read(|s| s.workspace(&ws.key()).map(|w| w.datastores.iter().map(|d| d.resource.clone()).collect::<Vec<_>>()))
        .ok_or_else(|| workspace_missing(ws))?;
    let names: Option<Vec<String>> = ctx.query.get("names").map(|n| n.split(',').map(|s| s.trim().to_ascii_lowercase()).collect());
    let items = items
        .into_iter()
        .filter(|d| names.as_ref().is_none_or(|n| n.contains(&name_of(d).to_ascii_lowercase())))
        .filter(|d| match ctx.query.get("isDefault") {
            Some(flag) => d.pointer("/properties/isDefault").and_then(Value::as_bool).unwrap_or(false) == (flag == "true"),
            None => true,
        })
        .collect::<Vec<_>>();
    let mut items = items;
    // orderBy (createdtime | modifiedtime | name) with orderByAsc (default false); without
    // orderBy the workspace's order stands.
    if let Some(prop) = ctx.query.get("orderBy").filter(|p| !p.is_empty()) {
        let asc = ctx.query.get("orderByAsc").is_some_and(|a| a.eq_ignore_ascii_case("true"));
        let spec = format!("{prop} {}", if asc { "asc" } else { "desc" });
        super::order_by(&mut items, &spec).ok_or_else(|| {
            ArmError::bad_request("InvalidQueryParameter", format!("Unsupported orderBy '{prop}': expected createdtime, modifiedtime or name."))
        })?;
    }
    Ok((StatusCode::OK, ctx.page_with_count(items)?))
}

pub fn get(app: &App, ws: &WorkspaceRef, name: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| workspace_missing(ws))?;
        w.datastores
            .iter()
            .find(|d| name_of(&d.resource).eq_ignore_ascii_case(name))
            .map(|d| (StatusCode::OK, d.resource.clone()))
            .ok_or_else(|| not_found(ws, name))
    })
}

pub fn list_secrets(app: &App, ws: &WorkspaceRef, name: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| workspace_missing(ws))?;
        let d = w
            .datastores
            .iter()
            .find(|d| name_of(&d.resource).eq_ignore_ascii_case(name))
            .ok_or_else(|| not_found(ws, name))?;
        d.secrets
            .clone()
            .map(|s| (StatusCode::OK, s))
            .ok_or_else(|| ArmError::user_error(format!("Datastore '{name}' has no secrets (credentials type None or identity-based).")))
    })
}

/// The credential types of the spec, what each requires, and which datastore types take them.
fn check_credentials(dtype: &str, props: &Map<String, Value>) -> Result<(), ArmError> {
    let creds = props.get("credentials").cloned().unwrap_or(Value::Null);
    let ct = creds.get("credentialsType").and_then(Value::as_str).unwrap_or("");
    let (fields, has_secrets): (&[&str], bool) = match ct {
        "None" => (&[], false),
        "AccountKey" | "Sas" => (&[], true),
        "ServicePrincipal" => (&["clientId", "tenantId"], true),
        "Certificate" => (&["clientId", "tenantId", "thumbprint"], true),
        _ => return Err(ArmError::user_error(format!("Invalid credentials.credentialsType '{ct}': expected AccountKey, Certificate, None, Sas or ServicePrincipal."))),
    };
    let allowed = match dtype {
        "AzureDataLakeGen1" | "OneLake" => matches!(ct, "None" | "ServicePrincipal" | "Certificate"),
        _ => true,
    };
    if !allowed {
        return Err(ArmError::user_error(format!("Datastore type {dtype} does not support credentials of type {ct}.")));
    }
    for f in fields {
        if creds.get(*f).and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ArmError::user_error(format!("credentials.{f} is required for credentials of type {ct}.")));
        }
    }
    // A definition without the secret value is accepted (the spec's own get/list examples);
    // listSecrets then answers the secretsType alone.
    if has_secrets && creds.pointer("/secrets/secretsType").and_then(Value::as_str).is_some_and(|t| t != ct) {
        return Err(ArmError::user_error(format!("credentials.secrets.secretsType must be {ct}.")));
    }
    Ok(())
}

/// Removes secret values from credentials, keeping `secretsType`; returns the secrets.
fn split_secrets(props: &mut Map<String, Value>) -> Option<Value> {
    let creds = props.get_mut("credentials")?.as_object_mut()?;
    let secrets = creds.get("secrets").cloned()?;
    let mut redacted = Map::new();
    if let Some(t) = secrets.get("secretsType") {
        redacted.insert("secretsType".into(), t.clone());
    }
    creds.insert("secrets".into(), Value::Object(redacted));
    Some(secrets)
}

pub fn create_or_update(app: &App, ws: &WorkspaceRef, name: &str, body: &[u8], principal: &Principal) -> Result<(StatusCode, Value), ArmError> {
    validate_name("Datastore name", name)?;
    let body = parse_body(body)?;
    let mut props = properties_of(&body)?;
    let dtype = props.get("datastoreType").and_then(Value::as_str).unwrap_or("").to_string();
    let required: &[&str] = match dtype.as_str() {
        "AzureBlob" => &["accountName", "containerName"],
        "AzureFile" => &["accountName", "fileShareName"],
        "AzureDataLakeGen2" => &["accountName", "filesystem"],
        "AzureDataLakeGen1" => &["storeName"],
        "OneLake" => &["artifact", "oneLakeWorkspaceName"],
        _ => return Err(ArmError::user_error(format!("Unsupported or missing datastoreType '{dtype}'."))),
    };
    for r in required.iter().chain(["credentials"].iter()) {
        if props.get(*r).is_none_or(Value::is_null) {
            return Err(ArmError::user_error(format!("The field '{r}' is required for datastoreType '{dtype}'.")));
        }
    }
    check_credentials(&dtype, &props)?;
    if dtype == "OneLake" {
        let artifact = props.get("artifact").cloned().unwrap_or(Value::Null);
        if artifact.get("artifactType").and_then(Value::as_str) != Some("LakeHouse") || artifact.get("artifactName").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ArmError::user_error("A OneLake datastore needs artifact.artifactType 'LakeHouse' and artifact.artifactName."));
        }
        super::default_field(&mut props, "endpoint", json!("onelake.dfs.fabric.microsoft.com"));
    }
    let secrets = split_secrets(&mut props);
    for (k, v) in [("tags", json!({})), ("properties", json!({})), ("serviceDataAccessAuthIdentity", json!("None"))] {
        super::default_field(&mut props, k, v);
    }
    if matches!(dtype.as_str(), "AzureBlob" | "AzureFile" | "AzureDataLakeGen2") {
        super::default_field(&mut props, "endpoint", json!("core.windows.net"));
        super::default_field(&mut props, "protocol", json!("https"));
    }
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| workspace_missing(ws))?;
        let id = format!("{}/datastores/{name}", w.arm_id());
        if let Some(d) = w.datastores.iter_mut().find(|d| name_of(&d.resource).eq_ignore_ascii_case(name)) {
            let is_default = d.resource.pointer("/properties/isDefault").cloned().unwrap_or(json!(false));
            props.insert("isDefault".into(), is_default);
            let prev = d.resource.get("systemData").cloned();
            d.resource["properties"] = Value::Object(props);
            d.resource["systemData"] = system_data(principal, prev.as_ref());
            if secrets.is_some() {
                d.secrets = secrets;
            }
            Ok((StatusCode::OK, d.resource.clone()))
        } else {
            props.insert("isDefault".into(), json!(false));
            let resource = json!({"id": id, "name": name, "type": DATASTORE_TYPE, "properties": props, "systemData": system_data(principal, None)});
            w.datastores.push(DatastoreRecord { resource: resource.clone(), secrets });
            Ok((StatusCode::CREATED, resource))
        }
    })
}

pub fn delete(app: &App, ws: &WorkspaceRef, name: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| workspace_missing(ws))?;
        let Some(i) = w.datastores.iter().position(|d| name_of(&d.resource).eq_ignore_ascii_case(name)) else {
            return Ok((StatusCode::NO_CONTENT, Value::Null));
        };
        if w.datastores[i].resource.pointer("/properties/isDefault").and_then(Value::as_bool) == Some(true) {
            return Err(ArmError::user_error(format!("Cannot delete the default datastore '{name}'.")));
        }
        w.datastores.remove(i);
        Ok((StatusCode::OK, Value::Null))
    })
}
