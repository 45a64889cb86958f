//! Jobs_* operations (command and pipeline jobs, and any other jobType kept as given).

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::{default_field, parse_body, properties_of, same_except, system_data, validate_name, Ctx};
use crate::arm::{ArmError, WorkspaceRef, PROVIDER};
use crate::auth::Principal;
use crate::server::App;
use crate::store::name_of;

pub const JOB_TYPE: &str = "Microsoft.MachineLearningServices/workspaces/jobs";
const JOB_TYPES: &[&str] = &["AutoML", "Command", "Labeling", "Sweep", "Pipeline", "Spark", "FineTuning"];
const MUTABLE_JOB_FIELDS: &[&str] = &["description", "tags", "properties", "displayName", "isArchived", "status", "services", "parameters"];
const TERMINAL: &[&str] = &["Completed", "Failed", "Canceled", "NotResponding", "Paused"];

fn not_found(ws: &WorkspaceRef, id: &str) -> ArmError {
    ArmError::resource_not_found(&format!("{PROVIDER}/workspaces/{}/jobs/{id}", ws.name), &ws.resource_group)
}

pub fn list(app: &App, ctx: &Ctx, ws: &WorkspaceRef) -> Result<(StatusCode, Value), ArmError> {
    let filter = ctx.list_view_filter();
    let job_type = ctx.query.get("jobType").cloned();
    let items = app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        Ok::<_, ArmError>(
            w.jobs
                .iter()
                .filter(|j| filter(j))
                .filter(|j| job_type.as_ref().is_none_or(|t| j.pointer("/properties/jobType").and_then(Value::as_str) == Some(t.as_str())))
                .cloned()
                .collect::<Vec<_>>(),
        )
    })?;
    Ok((StatusCode::OK, ctx.page(items)?))
}

pub fn get(app: &App, ws: &WorkspaceRef, id: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        w.jobs
            .iter()
            .find(|j| name_of(j).eq_ignore_ascii_case(id))
            .map(|j| (StatusCode::OK, j.clone()))
            .ok_or_else(|| not_found(ws, id))
    })
}

pub fn normalize(mut props: Map<String, Value>, status: &str) -> Result<Map<String, Value>, ArmError> {
    let jt = props.get("jobType").and_then(Value::as_str).unwrap_or("").to_string();
    if !JOB_TYPES.contains(&jt.as_str()) {
        return Err(ArmError::user_error(format!("Invalid or missing jobType '{jt}'.")));
    }
    if jt == "Command" {
        for r in ["command", "environmentId"] {
            if props.get(r).and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(ArmError::user_error(format!("The field '{r}' is required for a command job.")));
            }
        }
    }
    default_field(&mut props, "tags", json!({}));
    default_field(&mut props, "properties", json!({}));
    default_field(&mut props, "isArchived", json!(false));
    default_field(&mut props, "experimentName", json!("Default"));
    props.insert("status".into(), json!(status));
    // Read-only fields the service computes.
    if jt == "Command" {
        props.insert("parameters".into(), json!({}));
    }
    if let Some(Value::Object(services)) = props.get_mut("services") {
        for svc in services.values_mut() {
            if let Some(o) = svc.as_object_mut() {
                o.entry("status").or_insert(json!("NotStarted"));
            }
        }
    }
    Ok(props)
}

/// Jobs_CreateOrUpdate. New jobs get `status` `initial_status` (the emulator runs nothing).
pub fn create_or_update(app: &App, ws: &WorkspaceRef, id: &str, body: &[u8], principal: &Principal, initial_status: &str) -> Result<(StatusCode, Value), ArmError> {
    validate_name("Job name", id)?;
    let body = parse_body(body)?;
    let props = properties_of(&body)?;
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let arm_id = format!("{}/jobs/{id}", w.arm_id());
        if let Some(j) = w.jobs.iter_mut().find(|j| name_of(j).eq_ignore_ascii_case(id)) {
            let status = j.pointer("/properties/status").and_then(Value::as_str).unwrap_or("NotStarted").to_string();
            let new = normalize(props, &status)?;
            let old = j["properties"].as_object().cloned().unwrap_or_default();
            let changed = same_except(&old, &new, MUTABLE_JOB_FIELDS);
            if !changed.is_empty() {
                return Err(ArmError::conflict(format!("Job '{id}' already exists; its {} cannot be changed.", changed.join(", "))));
            }
            let target = j["properties"].as_object_mut().expect("job properties");
            for k in ["description", "tags", "properties", "displayName", "isArchived"] {
                if let Some(v) = new.get(k) {
                    target.insert(k.into(), v.clone());
                }
            }
            let prev = j.get("systemData").cloned();
            j["systemData"] = system_data(principal, prev.as_ref());
            return Ok((StatusCode::OK, j.clone()));
        }
        let props = normalize(props, initial_status)?;
        let job = json!({"id": arm_id, "name": id, "type": JOB_TYPE, "properties": props, "systemData": system_data(principal, None)});
        w.jobs.push(job.clone());
        Ok((StatusCode::CREATED, job))
    })
}

pub fn delete(app: &App, ws: &WorkspaceRef, id: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let before = w.jobs.len();
        w.jobs.retain(|j| !name_of(j).eq_ignore_ascii_case(id));
        Ok((if w.jobs.len() < before { StatusCode::OK } else { StatusCode::NO_CONTENT }, Value::Null))
    })
}

/// Jobs_Cancel: a job not yet finished becomes `Canceled`; 200 without body.
pub fn cancel(app: &App, ws: &WorkspaceRef, id: &str) -> Result<(StatusCode, Value), ArmError> {
    app.store.write(|s| {
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let j = w.jobs.iter_mut().find(|j| name_of(j).eq_ignore_ascii_case(id)).ok_or_else(|| not_found(ws, id))?;
        let status = j.pointer("/properties/status").and_then(Value::as_str).unwrap_or("");
        if !TERMINAL.contains(&status) {
            j["properties"]["status"] = json!("Canceled");
        }
        Ok((StatusCode::OK, Value::Null))
    })
}
