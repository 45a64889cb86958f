//! Long-running operations as ARM answers them: `201` + `Azure-AsyncOperation` (a status
//! document: `InProgress` until done, then `Succeeded`), `202` + `Location` (202 until done,
//! then 200). An operation completes after `lro_polls` polls of its URL or GETs of its
//! resource; then the resource's `properties.provisioningState` becomes `Succeeded`
//! (create/update) or the resource disappears (delete, with everything below it).

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{Ctx, Reply};
use crate::arm::{now_rfc3339, ArmError, WorkspaceRef, PROVIDER};
use crate::server::App;
use crate::store::{OperationRecord, State};

/// Which polling URLs an operation answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Online/batch endpoints and deployments, schedules (`mfeOperationsStatus`).
    Mfe,
    /// Computes (`computeOperationsStatus`).
    Compute,
}

fn polls(app: &App, s: &State) -> u32 {
    s.lro_polls.unwrap_or(app.config.lro_polls).max(1)
}

/// Starts an operation on `resource_id` (inside a store write).
pub fn begin(app: &App, s: &mut State, resource_id: &str, action: &str) -> OperationRecord {
    let op = OperationRecord {
        id: uuid::Uuid::new_v4().to_string(),
        resource_id: resource_id.to_string(),
        action: action.to_string(),
        status: "InProgress".into(),
        remaining: polls(app, s),
        start_time: now_rfc3339(),
        end_time: None,
    };
    // A newer operation on the same resource supersedes an unfinished one.
    s.operations.retain(|o| !(o.resource_id.eq_ignore_ascii_case(resource_id) && o.status == "InProgress"));
    s.operations.push(op.clone());
    // Keep the history bounded.
    if s.operations.len() > 2000 {
        let drop = s.operations.len() - 2000;
        s.operations.drain(..drop);
    }
    op
}

fn url(ctx: &Ctx, sub: &str, location: &str, what: &str, id: &str) -> String {
    let v = ctx.query.get("api-version").map(String::as_str).unwrap_or(crate::arm::PINNED_API_VERSION);
    format!("{}/subscriptions/{sub}/providers/{PROVIDER}/locations/{location}/{what}/{id}?api-version={v}", ctx.base_url)
}

fn names(flavor: Flavor) -> (&'static str, &'static str) {
    match flavor {
        Flavor::Mfe => ("mfeOperationsStatus", "mfeOperationResults"),
        Flavor::Compute => ("computeOperationsStatus", "computeOperationResults"),
    }
}

/// The answer to a PUT that started `op`: 201 with the resource and
/// `Azure-AsyncOperation` (+ `x-ms-async-operation-timeout`, `Retry-After`).
pub fn accepted_put(app: &App, ctx: &Ctx, ws: &WorkspaceRef, location: &str, flavor: Flavor, op: &OperationRecord, body: Value) -> Reply {
    let (st, _) = names(flavor);
    let mut r = Reply::new(StatusCode::CREATED, body)
        .header("azure-asyncoperation", url(ctx, &ws.subscription_id, location, st, &op.id))
        .header("retry-after", app.config.lro_retry_after_secs.to_string());
    if flavor == Flavor::Mfe {
        r = r.header("x-ms-async-operation-timeout", "PT1H");
    }
    r
}

/// The answer to a DELETE that started `op`: 202 with `Location` (and, for computes,
/// `Azure-AsyncOperation`).
pub fn accepted_delete(app: &App, ctx: &Ctx, ws: &WorkspaceRef, location: &str, flavor: Flavor, op: &OperationRecord) -> Reply {
    let (st, res) = names(flavor);
    let mut r = Reply::new(StatusCode::ACCEPTED, Value::Null)
        .header("location", url(ctx, &ws.subscription_id, location, res, &op.id))
        .header("retry-after", app.config.lro_retry_after_secs.to_string());
    r = match flavor {
        Flavor::Compute => r.header("azure-asyncoperation", url(ctx, &ws.subscription_id, location, st, &op.id)),
        Flavor::Mfe => r.header("x-ms-async-operation-timeout", "PT1H"),
    };
    r
}

/// Applies a finished operation to its resource.
fn complete(s: &mut State, op: &mut OperationRecord) {
    op.status = "Succeeded".into();
    op.end_time = Some(now_rfc3339());
    let Some(ws) = workspace_of(&op.resource_id) else { return };
    let Some(w) = s.workspace_mut(&ws.key()) else { return };
    let id = op.resource_id.to_ascii_lowercase();
    if op.action == "delete" {
        let below = format!("{id}/");
        w.children.retain(|c| {
            let cid = c.id().to_ascii_lowercase();
            cid != id && !cid.starts_with(&below)
        });
    } else if let Some(c) = w.children.iter_mut().find(|c| c.id().eq_ignore_ascii_case(&op.resource_id)) {
        if let Some(p) = c.resource.get_mut("properties").and_then(Value::as_object_mut) {
            p.insert("provisioningState".into(), json!("Succeeded"));
        }
    }
}

/// The workspace part of a child's ARM id.
pub fn workspace_of(id: &str) -> Option<WorkspaceRef> {
    let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).take(8).collect();
    WorkspaceRef::parse(&segs.join("/"))
}

/// One poll of the operation at index `i`.
fn advance(s: &mut State, i: usize) {
    let mut op = s.operations[i].clone();
    if op.status != "InProgress" {
        return;
    }
    op.remaining = op.remaining.saturating_sub(1);
    if op.remaining == 0 {
        complete(s, &mut op);
    }
    s.operations[i] = op;
}

/// A GET of `resource_id` counts as a poll of its unfinished operation.
pub fn touch(s: &mut State, resource_id: &str) {
    if let Some(i) = s.operations.iter().position(|o| o.status == "InProgress" && o.resource_id.eq_ignore_ascii_case(resource_id)) {
        advance(s, i);
    }
}

/// Whether `resource_id` has an unfinished operation of `action`.
pub fn pending(s: &State, resource_id: &str, action: &str) -> bool {
    s.operations.iter().any(|o| o.status == "InProgress" && o.action == action && o.resource_id.eq_ignore_ascii_case(resource_id))
}

/// GET of a status URL (`…OperationsStatus/{id}`) or a result URL (`…OperationResults/{id}`).
pub fn poll(app: &App, ctx: &Ctx, sub: &str, location: &str, what: &str, id: &str) -> Result<Reply, ArmError> {
    let op = app.store.write(|s| {
        let i = s
            .operations
            .iter()
            .position(|o| o.id.eq_ignore_ascii_case(id) && workspace_of(&o.resource_id).is_some_and(|w| w.subscription_id.eq_ignore_ascii_case(sub)))
            .ok_or_else(|| ArmError::new(404, "NotFound", format!("The operation '{id}' was not found.")))?;
        advance(s, i);
        Ok::<_, ArmError>(s.operations[i].clone())
    })?;
    let retry = app.config.lro_retry_after_secs.to_string();
    if what.ends_with("OperationResults") {
        return Ok(if op.status == "InProgress" {
            Reply::new(StatusCode::ACCEPTED, Value::Null)
                .header("location", url(ctx, sub, location, what, id))
                .header("retry-after", retry)
        } else {
            Reply::new(StatusCode::OK, Value::Null)
        });
    }
    let mut body = json!({
        "id": format!("/subscriptions/{sub}/providers/{PROVIDER}/locations/{location}/{what}/{}", op.id),
        "name": op.id,
        "status": op.status,
        "startTime": op.start_time,
    });
    if let Some(t) = &op.end_time {
        body["endTime"] = json!(t);
        body["percentComplete"] = json!(100.0);
    }
    let mut r = Reply::new(StatusCode::OK, body);
    if op.status == "InProgress" {
        r = r.header("retry-after", retry);
    }
    Ok(r)
}
