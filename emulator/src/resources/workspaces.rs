//! Workspaces_* operations.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{datastores, parse_body, system_data, Ctx};
use crate::arm::{ArmError, WorkspaceRef, PROVIDER};
use crate::auth::Principal;
use crate::server::App;
use crate::store::WorkspaceRecord;

pub const WORKSPACE_TYPE: &str = "Microsoft.MachineLearningServices/workspaces";

pub fn not_found(ws: &WorkspaceRef) -> ArmError {
    ArmError::resource_not_found(&format!("{PROVIDER}/workspaces/{}", ws.name), &ws.resource_group)
}

pub fn get(app: &App, ws: &WorkspaceRef) -> Result<(StatusCode, Value), ArmError> {
    app.store
        .read(|s| s.workspace(&ws.key()).map(|w| w.resource.clone()))
        .map(|v| (StatusCode::OK, v))
        .ok_or_else(|| not_found(ws))
}

pub fn list(app: &App, ctx: &Ctx, sub: &str, rg: Option<&str>) -> Result<(StatusCode, Value), ArmError> {
    let items: Vec<Value> = app.store.read(|s| {
        s.workspaces
            .iter()
            .filter(|w| w.subscription_id.eq_ignore_ascii_case(sub))
            .filter(|w| rg.is_none_or(|rg| w.resource_group.eq_ignore_ascii_case(rg)))
            .map(|w| w.resource.clone())
            .collect()
    });
    Ok((StatusCode::OK, ctx.page(items)?))
}

fn storage_account_name(id: &str) -> Option<String> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [.., t, name] if t.eq_ignore_ascii_case("storageAccounts") => Some(name.to_string()),
        [name] => Some(name.to_string()),
        _ => None,
    }
}

/// Workspaces_CreateOrUpdate: 200 with the workspace (provisioning is instantaneous).
pub async fn create_or_update(app: &App, ws: &WorkspaceRef, body: &[u8], principal: &Principal) -> Result<(StatusCode, Value), ArmError> {
    let body = parse_body(body)?;
    let location = body.get("location").and_then(Value::as_str).unwrap_or("").to_string();
    if location.is_empty() {
        return Err(ArmError::bad_request("LocationRequired", "The location property is required for this definition."));
    }
    let props = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    if let Some(existing) = app.store.read(|s| s.workspace(&ws.key()).cloned()) {
        if !existing.location.eq_ignore_ascii_case(&location) {
            return Err(ArmError::new(409, "InvalidResourceLocation", format!(
                "The resource '{}' already exists in location '{}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
                existing.name, existing.location, existing.resource_group)));
        }
        let updated = app.store.write(|s| {
            let w = s.workspace_mut(&ws.key()).ok_or_else(|| not_found(ws))?;
            apply_update(w, &body, principal);
            Ok::<_, ArmError>(w.resource.clone())
        })?;
        return Ok((StatusCode::OK, updated));
    }
    let storage_id = props.get("storageAccount").and_then(Value::as_str).unwrap_or("");
    let Some(account) = storage_account_name(storage_id) else {
        return Err(ArmError::user_error("The workspace property 'storageAccount' (ARM id of a Microsoft.Storage/storageAccounts resource) is required."));
    };
    let Some(key) = app.config.storage_key(&account).map(str::to_string) else {
        return Err(ArmError::bad_request("StorageAccountNotFound", format!(
            "The storage account '{account}' was not found. (The emulator knows only the storage accounts it was configured with.)")));
    };
    let rec = new_record(app, ws, &location, &account, &key, &body, principal);
    super::storage_rp::ensure(app, &ws.subscription_id, &ws.resource_group, &account, &location);
    if let Some(blob) = &app.blob {
        for container in [rec.default_container(), "azureml".to_string()] {
            blob.create_container(&account, &key, &container)
                .await
                .map_err(|e| ArmError::internal(format!("could not create the workspace's blob container: {e:#}")))?;
        }
    }
    let resource = rec.resource.clone();
    app.store.write(|s| {
        if s.workspace(&ws.key()).is_none() {
            s.workspaces.push(rec);
        }
        Ok::<_, ArmError>(())
    })?;
    Ok((StatusCode::OK, resource))
}

fn new_record(app: &App, ws: &WorkspaceRef, location: &str, account: &str, key: &str, body: &Value, principal: &Principal) -> WorkspaceRecord {
    let workspace_id = uuid::Uuid::new_v4().to_string();
    let sub = &ws.subscription_id;
    let rg = &ws.resource_group;
    let name = &ws.name;
    let arm_id = ws.arm_id();
    let p = body.get("properties").cloned().unwrap_or_else(|| json!({}));
    let str_or = |k: &str, d: String| p.get(k).and_then(Value::as_str).map(str::to_string).unwrap_or(d);
    let tenant = app.config.tenant_id();
    let resource = json!({
        "id": arm_id,
        "name": name,
        "type": WORKSPACE_TYPE,
        "location": location,
        "tags": body.get("tags").cloned().unwrap_or_else(|| json!({})),
        "kind": body.get("kind").cloned().unwrap_or_else(|| json!("Default")),
        "sku": body.get("sku").cloned().unwrap_or_else(|| json!({"name": "Basic", "tier": "Basic"})),
        "identity": body.get("identity").cloned().unwrap_or_else(|| json!({
            "type": "SystemAssigned", "principalId": uuid::Uuid::new_v4().to_string(), "tenantId": tenant })),
        "properties": {
            "workspaceId": workspace_id,
            "friendlyName": str_or("friendlyName", name.clone()),
            "description": str_or("description", String::new()),
            "storageAccount": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"),
            "keyVault": str_or("keyVault", format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/kv{}", &workspace_id[..8])),
            "applicationInsights": str_or("applicationInsights", format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.insights/components/ai{}", &workspace_id[..8])),
            "containerRegistry": p.get("containerRegistry").cloned().unwrap_or(Value::Null),
            "discoveryUrl": format!("https://{location}.api.azureml.ms/discovery"),
            "mlFlowTrackingUri": format!("azureml://{location}.api.azureml.ms/mlflow/v1.0{arm_id}"),
            "provisioningState": "Succeeded",
            "hbiWorkspace": p.get("hbiWorkspace").cloned().unwrap_or(json!(false)),
            "serviceProvisionedResourceGroup": format!("{name}_{}", workspace_id.replace('-', "")),
            "privateLinkCount": 0,
            "publicNetworkAccess": p.get("publicNetworkAccess").cloned().unwrap_or(json!("Enabled")),
            "privateEndpointConnections": [],
            "tenantId": tenant,
            "storageHnsEnabled": false,
            "v1LegacyMode": false,
            "systemDatastoresAuthMode": "AccessKey",
            "enableDataIsolation": false,
        },
        "systemData": system_data(principal, None),
    });
    // Keep every writable property the client sent (encryption, network settings, ...).
    const READ_ONLY: &[&str] = &["workspaceId", "provisioningState", "serviceProvisionedResourceGroup", "privateLinkCount",
        "privateEndpointConnections", "notebookInfo", "tenantId", "storageHnsEnabled", "mlFlowTrackingUri", "storageAccount", "discoveryUrl"];
    let mut resource = resource;
    if let Value::Object(given) = &p {
        for (k, v) in given {
            if !READ_ONLY.contains(&k.as_str()) && !v.is_null() {
                resource["properties"][k] = v.clone();
            }
        }
    }
    if let Some(Value::Object(id)) = resource.get_mut("identity") {
        let ty = id.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        if ty.contains("SystemAssigned") {
            id.entry("principalId").or_insert(json!(uuid::Uuid::new_v4().to_string()));
            id.entry("tenantId").or_insert(json!(tenant));
        }
        if let Some(Value::Object(uais)) = id.get_mut("userAssignedIdentities") {
            for u in uais.values_mut() {
                if let Some(o) = u.as_object_mut() {
                    o.entry("principalId").or_insert(json!(uuid::Uuid::new_v4().to_string()));
                    o.entry("clientId").or_insert(json!(uuid::Uuid::new_v4().to_string()));
                } else {
                    *u = json!({"principalId": uuid::Uuid::new_v4().to_string(), "clientId": uuid::Uuid::new_v4().to_string()});
                }
            }
        }
    }
    let mut rec = WorkspaceRecord {
        subscription_id: sub.clone(),
        resource_group: rg.clone(),
        name: name.clone(),
        location: location.to_string(),
        workspace_id,
        storage_account: account.to_string(),
        storage_key: key.to_string(),
        resource,
        datastores: Vec::new(),
        assets: BTreeMap::new(),
        jobs: Vec::new(),
        children: Vec::new(),
    };
    rec.datastores = datastores::defaults(&rec, principal);
    rec
}

fn apply_update(w: &mut WorkspaceRecord, body: &Value, principal: &Principal) {
    if let Some(tags) = body.get("tags") {
        w.resource["tags"] = tags.clone();
    }
    for k in ["sku", "identity"] {
        if let Some(v) = body.get(k) {
            w.resource[k] = v.clone();
        }
    }
    if let Some(Value::Object(p)) = body.get("properties") {
        for k in ["friendlyName", "description", "imageBuildCompute", "publicNetworkAccess", "applicationInsights", "containerRegistry", "v1LegacyMode", "enableDataIsolation"] {
            if let Some(v) = p.get(k) {
                w.resource["properties"][k] = v.clone();
            }
        }
    }
    let prev = w.resource.get("systemData").cloned();
    w.resource["systemData"] = system_data(principal, prev.as_ref());
}

/// Sets (or with null removes) one property of a workspace resource, e.g. its `keyVault`,
/// `containerRegistry` or `applicationInsights` id (tests, demos: what Workspaces_Update does
/// not let a client change).
pub fn set_property(app: &App, ws: &WorkspaceRef, key: &str, value: Value) -> anyhow::Result<()> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| anyhow::anyhow!("no workspace {}", ws.name))?;
        match (&mut w.resource["properties"], value) {
            (Value::Object(p), Value::Null) => {
                p.remove(key);
            }
            (Value::Object(p), v) => {
                p.insert(key.to_string(), v);
            }
            _ => anyhow::bail!("workspace {} has no properties object", ws.name),
        }
        Ok(())
    })
}

/// Workspaces_Update (PATCH).
pub fn update(app: &App, ws: &WorkspaceRef, body: &[u8], principal: &Principal) -> Result<(StatusCode, Value), ArmError> {
    let body = parse_body(body)?;
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| not_found(ws))?;
        apply_update(w, &body, principal);
        Ok((StatusCode::OK, w.resource.clone()))
    })
}

/// Workspaces_Delete: 200 when deleted, 204 when absent.
pub fn delete(app: &App, ws: &WorkspaceRef) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let before = s.workspaces.len();
        s.workspaces.retain(|w| w.key() != ws.key());
        Ok(if s.workspaces.len() < before { (StatusCode::OK, Value::Null) } else { (StatusCode::NO_CONTENT, Value::Null) })
    })
}
