//! Containers and versions of models, environments, components, codes and data
//! (one implementation, with each kind's rules from the spec), and code startPendingUpload.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::{default_field, parse_body, properties_of, same_except, system_data, validate_name, Ctx};
use crate::arm::{ArmError, WorkspaceRef, PROVIDER};
use crate::auth::Principal;
use crate::routes::AssetKind;
use crate::server::App;
use crate::store::{name_of, ContainerRecord, WorkspaceRecord};

/// Version fields a re-PUT may change; every other field of an existing version is immutable.
const MUTABLE_VERSION_FIELDS: &[&str] = &["description", "tags", "isArchived", "stage", "autoRebuild"];
/// Read-only fields the service sets.
const READ_ONLY_VERSION_FIELDS: &[&str] = &["provisioningState", "environmentType"];

/// DataContainer and DataVersionBase have no `provisioningState` in the spec; the others do.
fn has_provisioning_state(kind: AssetKind) -> bool {
    kind.segment != "data"
}

pub const DATA_TYPES: &[&str] = &["uri_file", "uri_folder", "mltable"];

fn container_not_found(ws: &WorkspaceRef, kind: AssetKind, name: &str) -> ArmError {
    ArmError::resource_not_found(&format!("{PROVIDER}/workspaces/{}/{}/{name}", ws.name, kind.segment), &ws.resource_group)
}

fn version_not_found(ws: &WorkspaceRef, kind: AssetKind, name: &str, version: &str) -> ArmError {
    ArmError::resource_not_found(
        &format!("{PROVIDER}/workspaces/{}/{}/{name}/versions/{version}", ws.name, kind.segment),
        &ws.resource_group,
    )
}

fn containers(w: &WorkspaceRecord, kind: AssetKind) -> &[ContainerRecord] {
    w.assets.get(kind.segment).map(Vec::as_slice).unwrap_or(&[])
}

fn find<'a>(w: &'a WorkspaceRecord, kind: AssetKind, name: &str) -> Option<&'a ContainerRecord> {
    containers(w, kind).iter().find(|c| name_of(&c.resource).eq_ignore_ascii_case(name))
}

fn find_mut<'a>(w: &'a mut WorkspaceRecord, kind: AssetKind, name: &str) -> Option<&'a mut ContainerRecord> {
    w.assets.get_mut(kind.segment)?.iter_mut().find(|c| name_of(&c.resource).eq_ignore_ascii_case(name))
}

fn find_version<'a>(c: &'a ContainerRecord, version: &str) -> Option<&'a Value> {
    c.versions.iter().find(|v| name_of(v) == version)
}

pub fn list_containers(app: &App, ctx: &Ctx, ws: &WorkspaceRef, kind: AssetKind) -> Result<(StatusCode, Value), ArmError> {
    let filter = ctx.list_view_filter();
    let items = app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        Ok::<_, ArmError>(containers(w, kind).iter().map(|c| c.resource.clone()).filter(|v| filter(v)).collect::<Vec<_>>())
    })?;
    // ModelContainers_List is the one container list with `count`.
    if kind.segment == "models" {
        return Ok((StatusCode::OK, ctx.page_with_count(items)?));
    }
    Ok((StatusCode::OK, ctx.page(items)?))
}

pub fn get_container(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        find(w, kind, name)
            .map(|c| c.resource.clone())
            .or_else(|| (kind.segment == "environments").then(|| super::curated::container(&w.arm_id(), name)).flatten())
            .map(|r| (StatusCode::OK, r))
            .ok_or_else(|| container_not_found(ws, kind, name))
    })
}

fn new_container(w: &WorkspaceRecord, kind: AssetKind, name: &str, mut props: Map<String, Value>, principal: &Principal) -> ContainerRecord {
    for k in ["latestVersion", "nextVersion", "provisioningState"] {
        props.remove(k);
    }
    default_field(&mut props, "tags", json!({}));
    default_field(&mut props, "properties", json!({}));
    default_field(&mut props, "isArchived", json!(false));
    props.insert("nextVersion".into(), json!("1"));
    if has_provisioning_state(kind) {
        props.insert("provisioningState".into(), json!("Succeeded"));
    }
    ContainerRecord {
        resource: json!({
            "id": format!("{}/{}/{name}", w.arm_id(), kind.segment),
            "name": name,
            "type": kind.container_type(),
            "properties": props,
            "systemData": system_data(principal, None),
        }),
        versions: Vec::new(),
    }
}

/// Recomputes `latestVersion` (most recently created) and `nextVersion` (highest integer + 1).
fn refresh_container(c: &mut ContainerRecord) {
    let latest = c.versions.last().map(|v| name_of(v).to_string());
    let max_int = c.versions.iter().filter_map(|v| name_of(v).parse::<u64>().ok()).max();
    let props = c.resource["properties"].as_object_mut().expect("container properties");
    match latest {
        Some(l) => {
            props.insert("latestVersion".into(), json!(l));
        }
        None => {
            props.remove("latestVersion");
        }
    }
    props.insert("nextVersion".into(), json!(max_int.map_or(1, |m| m + 1).to_string()));
}

pub fn put_container(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str, body: &[u8], principal: &Principal) -> Result<(StatusCode, Value), ArmError> {
    validate_name("Name", name)?;
    let body = parse_body(body)?;
    let props = properties_of(&body)?;
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        if let Some(c) = find_mut(w, kind, name) {
            let target = c.resource["properties"].as_object_mut().expect("container properties");
            for k in ["description", "tags", "properties", "isArchived"] {
                if let Some(v) = props.get(k) {
                    target.insert(k.into(), v.clone());
                }
            }
            let prev = c.resource.get("systemData").cloned();
            c.resource["systemData"] = system_data(principal, prev.as_ref());
            return Ok((StatusCode::OK, c.resource.clone()));
        }
        let c = new_container(w, kind, name, props, principal);
        let out = c.resource.clone();
        w.assets.entry(kind.segment.to_string()).or_default().push(c);
        Ok((StatusCode::CREATED, out))
    })
}

pub fn delete_container(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let list = w.assets.entry(kind.segment.to_string()).or_default();
        let before = list.len();
        list.retain(|c| !name_of(&c.resource).eq_ignore_ascii_case(name));
        Ok((if list.len() < before { StatusCode::OK } else { StatusCode::NO_CONTENT }, Value::Null))
    })
}

pub fn list_versions(app: &App, ctx: &Ctx, ws: &WorkspaceRef, kind: AssetKind, name: &str) -> Result<(StatusCode, Value), ArmError> {
    let filter = ctx.list_view_filter();
    let mut items = app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        // Azure answers an empty list for an unknown container.
        Ok::<_, ArmError>(find(w, kind, name).map(|c| c.versions.clone()).unwrap_or_default())
    })?;
    // Newest first, as Azure orders versions by default (createdtime desc); `$orderBy`
    // (createdtime | modifiedtime | name, asc | desc) reorders.
    match ctx.query.get("$orderBy").or_else(|| ctx.query.get("$orderby")) {
        Some(spec) => super::order_by(&mut items, spec).ok_or_else(|| {
            ArmError::bad_request("InvalidQueryParameter", format!("Unsupported $orderBy '{spec}': expected createdtime, modifiedtime or name, optionally followed by asc or desc."))
        })?,
        None => items.reverse(),
    }
    let mut items: Vec<Value> = items.into_iter().filter(|v| filter(v)).collect();
    if let Some(v) = ctx.query.get("version") {
        items.retain(|x| name_of(x) == v);
    }
    // `$top`: at most that many records in all.
    if let Some(top) = ctx.top()? {
        items.truncate(top);
    }
    Ok((StatusCode::OK, ctx.page(items)?))
}

pub fn get_version(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str, version: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        find(w, kind, name)
            .and_then(|c| find_version(c, version))
            .cloned()
            .or_else(|| (kind.segment == "environments").then(|| super::curated::version(&w.arm_id(), name, version)).flatten())
            .map(|v| (StatusCode::OK, v))
            .ok_or_else(|| version_not_found(ws, kind, name, version))
    })
}

/// Applies the kind's validation, defaults and read-only fields to PUT properties.
pub fn normalize_version(kind: AssetKind, mut props: Map<String, Value>) -> Result<Map<String, Value>, ArmError> {
    for k in READ_ONLY_VERSION_FIELDS {
        props.remove(*k);
    }
    default_field(&mut props, "tags", json!({}));
    default_field(&mut props, "properties", json!({}));
    default_field(&mut props, "isAnonymous", json!(false));
    default_field(&mut props, "isArchived", json!(false));
    match kind.segment {
        "models" => {
            // Azure answers `flavors: {}` for a model without flavors (ModelVersion.flavors, an
            // object); azure-ai-ml's Model._from_rest_object iterates it without a None check.
            default_field(&mut props, "flavors", json!({}));
        }
        "data" => {
            let t = props.get("dataType").and_then(Value::as_str).unwrap_or("");
            if !DATA_TYPES.contains(&t) {
                return Err(ArmError::user_error(format!("Invalid dataType '{t}': expected one of uri_file, uri_folder, mltable.")));
            }
            if props.get("dataUri").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(ArmError::user_error("The field 'dataUri' is required."));
            }
        }
        "environments" => {
            let has_image = props.get("image").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
            let has_build = props.get("build").is_some_and(Value::is_object);
            if !has_image && !has_build {
                return Err(ArmError::user_error("An environment version needs either 'image' or 'build'."));
            }
            if let Some(b) = props.get("build") {
                if b.get("contextUri").and_then(Value::as_str).is_none_or(str::is_empty) {
                    return Err(ArmError::user_error("The field 'build.contextUri' is required."));
                }
            }
            default_field(&mut props, "osType", json!("Linux"));
            default_field(&mut props, "autoRebuild", json!("Disabled"));
            props.insert("environmentType".into(), json!("UserCreated"));
        }
        "components" if !props.get("componentSpec").is_some_and(Value::is_object) => {
            return Err(ArmError::user_error("The field 'componentSpec' is required."));
        }
        "codes" if props.get("codeUri").and_then(Value::as_str).is_none_or(str::is_empty) => {
            return Err(ArmError::user_error("The field 'codeUri' is required."));
        }
        _ => {}
    }
    if has_provisioning_state(kind) {
        props.insert("provisioningState".into(), json!("Succeeded"));
    }
    Ok(props)
}

pub fn put_version(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str, version: &str, body: &[u8], principal: &Principal) -> Result<(StatusCode, Value), ArmError> {
    validate_name("Name", name)?;
    validate_name("Version", version)?;
    let body = parse_body(body)?;
    let mut props = normalize_version(kind, properties_of(&body)?)?;
    pin_anonymous_spec(kind, &mut props, version);
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        if find(w, kind, name).is_none() {
            let c = new_container(w, kind, name, Map::new(), principal);
            w.assets.entry(kind.segment.to_string()).or_default().push(c);
        }
        let arm_base = format!("{}/{}", w.arm_id(), kind.segment);
        let c = find_mut(w, kind, name).expect("container exists");
        let container_name = name_of(&c.resource).to_string();
        if let Some(existing) = c.versions.iter_mut().find(|v| name_of(v) == version) {
            let old = existing["properties"].as_object().cloned().unwrap_or_default();
            let mut skip: Vec<&str> = MUTABLE_VERSION_FIELDS.to_vec();
            skip.extend(READ_ONLY_VERSION_FIELDS);
            let changed = same_except(&old, &props, &skip);
            if !changed.is_empty() {
                return Err(ArmError::conflict(format!(
                    "{} version {container_name}:{version} already exists and its {} cannot be changed (only description, tags, stage and isArchived can be updated). Create a new version instead.",
                    kind.op_prefix,
                    changed.join(", ")
                )));
            }
            let target = existing["properties"].as_object_mut().expect("version properties");
            for k in MUTABLE_VERSION_FIELDS {
                if let Some(v) = props.get(*k) {
                    target.insert((*k).into(), v.clone());
                }
            }
            let prev = existing.get("systemData").cloned();
            existing["systemData"] = system_data(principal, prev.as_ref());
            return Ok((StatusCode::OK, existing.clone()));
        }
        let v = json!({
            "id": format!("{arm_base}/{container_name}/versions/{version}"),
            "name": version,
            "type": kind.version_type(),
            "properties": props,
            "systemData": system_data(principal, None),
        });
        c.versions.push(v.clone());
        refresh_container(c);
        Ok((StatusCode::CREATED, v))
    })
}

/// An anonymous component (`isAnonymous`, registered by the service's clients under
/// `azureml_anonymous` with a content hash as version) is answered with that version in its
/// `componentSpec`: azure-ai-ml sends `version: "1"` in the spec and reads the version back from
/// it, so `ml.components.list(name="azureml_anonymous")` must name versions that `get` finds.
fn pin_anonymous_spec(kind: AssetKind, props: &mut Map<String, Value>, version: &str) {
    if kind.segment != "components" || props.get("isAnonymous") != Some(&Value::Bool(true)) {
        return;
    }
    if let Some(spec) = props.get_mut("componentSpec").and_then(Value::as_object_mut) {
        spec.insert("version".into(), json!(version));
    }
}

pub fn delete_version(app: &App, ws: &WorkspaceRef, kind: AssetKind, name: &str, version: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let Some(c) = find_mut(w, kind, name) else { return Ok((StatusCode::NO_CONTENT, Value::Null)) };
        let before = c.versions.len();
        c.versions.retain(|v| name_of(v) != version);
        if c.versions.len() == before {
            return Ok((StatusCode::NO_CONTENT, Value::Null));
        }
        refresh_container(c);
        Ok((StatusCode::OK, Value::Null))
    })
}

/// CodeVersions_CreateOrGetStartPendingUpload: a blob prefix in the workspace's default
/// container and a container SAS (read/add/create/write/delete/list, 24 h) to upload into it.
pub fn start_pending_upload(app: &App, ws: &WorkspaceRef, body: &[u8]) -> Result<(StatusCode, Value), ArmError> {
    let req: Value = if body.is_empty() { json!({}) } else { parse_body(body)? };
    let upload_type = req.get("pendingUploadType").and_then(Value::as_str).unwrap_or("TemporaryBlobReference");
    if upload_type != "TemporaryBlobReference" && upload_type != "None" {
        return Err(ArmError::user_error(format!("Unsupported pendingUploadType '{upload_type}'.")));
    }
    let upload_id = req
        .get("pendingUploadId")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (account, key, container, sub, rg) = app.store.read(|s| {
        s.workspace(&ws.key())
            .map(|w| (w.storage_account.clone(), w.storage_key.clone(), w.default_container(), w.subscription_id.clone(), w.resource_group.clone()))
            .ok_or_else(|| super::workspaces::not_found(ws))
    })?;
    // Azure's URL form; clients map `<account>.blob.core.windows.net` to the emulator's
    // blob endpoint (AML_FAILOVER_BLOB_ENDPOINT), as for every other blob URI.
    let blob_base = format!("https://{account}.blob.core.windows.net/{container}");
    let prefix = format!("LocalUpload/{}", upload_id.replace('-', ""));
    let blob_uri = format!("{blob_base}/{prefix}");
    let sk = azure_sharedkey::SharedKey::new(&account, &key).map_err(|e| ArmError::internal(e.to_string()))?;
    let sas = crate::blob::ServiceSas {
        account: account.clone(),
        container,
        blob: None,
        permissions: "racwdl".into(),
        start: Some(crate::blob::sas_time(-300)),
        expiry: crate::blob::sas_time(24 * 3600),
        protocol: None,
    };
    Ok((
        StatusCode::OK,
        json!({
            "blobReferenceForConsumption": {
                "blobUri": blob_uri,
                "credential": {"credentialType": "SAS", "sasUri": format!("{blob_uri}?{}", sas.token(&sk))},
                "storageAccountArmId": format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}"),
            },
            "pendingUploadId": upload_id,
            "pendingUploadType": "TemporaryBlobReference",
        }),
    ))
}
