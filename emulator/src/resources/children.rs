//! Workspace child resources with ARM ids of their own: connections, computes, online and batch
//! endpoints and their deployments, schedules. One generic CRUD here (ids, system data, lists,
//! long-running PUT/DELETE, PATCH as a merge); each family checks and completes a definition
//! in its own module (`normalize`) and serves its actions.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::lro::{self, Flavor};
use super::{parse_body, system_data, validate_name, Ctx, Reply};
use crate::arm::{ArmError, WorkspaceRef, PROVIDER};
use crate::auth::Principal;
use crate::routes::ChildFamily;
use crate::server::App;
use crate::store::{ChildRecord, State, WorkspaceRecord};

/// What a family's `normalize` sees.
pub struct Norm<'a> {
    pub app: &'a App,
    pub state: &'a State,
    pub ws: &'a WorkspaceRecord,
    /// The endpoint of a deployment.
    pub parent: Option<&'a ChildRecord>,
    pub name: &'a str,
    pub id: &'a str,
    pub existing: Option<&'a ChildRecord>,
    pub principal: &'a Principal,
}

impl Norm<'_> {
    /// Children of this workspace whose id is directly below `parent_id` in `segment`.
    pub fn children_of(&self, parent_id: &str, segment: &str) -> Vec<&ChildRecord> {
        children_under(self.ws, parent_id, segment)
    }
}

/// A completed definition: the resource (top-level fields and `properties`) and the secrets
/// kept apart from it.
pub struct Normalized {
    pub resource: Value,
    pub secrets: Option<Value>,
}

pub fn children_under<'w>(w: &'w WorkspaceRecord, parent_id: &str, segment: &str) -> Vec<&'w ChildRecord> {
    let prefix = format!("{}/{}/", parent_id, segment).to_ascii_lowercase();
    w.children
        .iter()
        .filter(|c| {
            let id = c.id().to_ascii_lowercase();
            id.strip_prefix(&prefix).is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
        })
        .collect()
}

pub fn type_name(family: ChildFamily) -> String {
    format!("{PROVIDER}/{}", family.type_path())
}

fn flavor(family: ChildFamily) -> Option<Flavor> {
    match family {
        ChildFamily::Connections => None,
        ChildFamily::Computes => Some(Flavor::Compute),
        _ => Some(Flavor::Mfe),
    }
}

/// The parent collection's id: the workspace, or the endpoint of a deployment.
fn parent_id(w: &WorkspaceRecord, family: ChildFamily, parent: Option<&str>) -> String {
    match (family, parent) {
        (ChildFamily::OnlineDeployments, Some(p)) => format!("{}/onlineEndpoints/{p}", w.arm_id()),
        (ChildFamily::BatchDeployments, Some(p)) => format!("{}/batchEndpoints/{p}", w.arm_id()),
        _ => w.arm_id(),
    }
}

fn not_found(ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str) -> ArmError {
    let mid = match (family, parent) {
        (ChildFamily::OnlineDeployments, Some(p)) => format!("onlineEndpoints/{p}/deployments"),
        (ChildFamily::BatchDeployments, Some(p)) => format!("batchEndpoints/{p}/deployments"),
        (f, _) => f.segment().to_string(),
    };
    ArmError::resource_not_found(&format!("{PROVIDER}/workspaces/{}/{mid}/{name}", ws.name), &ws.resource_group)
}

fn find<'w>(w: &'w WorkspaceRecord, id: &str) -> Option<&'w ChildRecord> {
    w.children.iter().find(|c| c.id().eq_ignore_ascii_case(id))
}

/// Checks that the endpoint of a deployment exists (404 otherwise); returns the collection's parent id.
fn resolve_parent(w: &WorkspaceRecord, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>) -> Result<String, ArmError> {
    let pid = parent_id(w, family, parent);
    if let Some(p) = parent {
        let endpoint_family = if family == ChildFamily::OnlineDeployments { ChildFamily::OnlineEndpoints } else { ChildFamily::BatchEndpoints };
        if find(w, &pid).is_none() {
            return Err(not_found(ws, endpoint_family, None, p));
        }
    }
    Ok(pid)
}

/// Serves a [`Route::Child`](crate::routes::Route::Child).
pub fn dispatch(app: &App, ctx: &Ctx, route: &crate::routes::Route, method: &str, body: &[u8]) -> Result<Reply, ArmError> {
    let crate::routes::Route::Child { ws, family, parent, name, action } = route else {
        return Err(ArmError::internal("not a child route"));
    };
    let (family, parent, name, action) = (*family, parent.as_deref(), name.as_deref(), *action);
    match (name, action, method) {
        (None, _, _) => list(app, ctx, ws, family, parent),
        (Some(n), Some(a), _) => match family {
            ChildFamily::Connections => super::connections::action(app, ws, &get_record(app, ws, family, parent, n)?, a),
            ChildFamily::Computes => super::computes::action(app, ws, n, a),
            _ => super::endpoints::action(app, ws, family, &get_record(app, ws, family, parent, n)?, a, body),
        },
        (Some(n), None, "GET") => get(app, ws, family, parent, n),
        (Some(n), None, "PUT") => put(app, ctx, ws, family, parent, n, body, &ctx.principal),
        (Some(n), None, "PATCH") => patch(app, ws, family, parent, n, body, &ctx.principal),
        (Some(n), None, _) => delete(app, ctx, ws, family, parent, n),
    }
}

fn list(app: &App, ctx: &Ctx, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>) -> Result<Reply, ArmError> {
    let items = app.store.read(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let pid = resolve_parent(w, ws, family, parent)?;
        Ok::<_, ArmError>(children_under(w, &pid, family.segment()).into_iter().map(|c| c.resource.clone()).collect::<Vec<_>>())
    })?;
    let items = match family {
        ChildFamily::Connections => super::connections::filter(ctx, items),
        ChildFamily::OnlineEndpoints | ChildFamily::BatchEndpoints => items
            .into_iter()
            .filter(|v| ctx.query.get("name").is_none_or(|n| crate::store::name_of(v).eq_ignore_ascii_case(n)))
            .collect(),
        ChildFamily::Schedules => {
            let view = ctx.query.get("listViewType").map(|v| v.to_ascii_lowercase()).unwrap_or_default();
            items
                .into_iter()
                .filter(|v| {
                    let enabled = v.pointer("/properties/isEnabled").and_then(Value::as_bool).unwrap_or(true);
                    match view.as_str() {
                        "enabledonly" => enabled,
                        "disabledonly" => !enabled,
                        _ => true,
                    }
                })
                .collect()
        }
        _ => items,
    };
    let page = if matches!(family, ChildFamily::OnlineEndpoints | ChildFamily::BatchEndpoints) { ctx.page_with_count(items)? } else { ctx.page(items)? };
    Ok(Reply::new(StatusCode::OK, page))
}

pub fn get_record(app: &App, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str) -> Result<ChildRecord, ArmError> {
    app.store.write(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let pid = resolve_parent(w, ws, family, parent)?;
        let id = format!("{pid}/{}/{name}", family.segment());
        if find(w, &id).is_none() {
            return Err(not_found(ws, family, parent, name));
        }
        lro::touch(s, &id);
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        find(w, &id).cloned().ok_or_else(|| not_found(ws, family, parent, name))
    })
}

fn get(app: &App, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str) -> Result<Reply, ArmError> {
    Ok(Reply::new(StatusCode::OK, get_record(app, ws, family, parent, name)?.resource))
}

fn normalize(family: ChildFamily, n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    match family {
        ChildFamily::Connections => super::connections::normalize(n, body),
        ChildFamily::Computes => super::computes::normalize(n, body),
        ChildFamily::Schedules => super::schedules::normalize(n, body),
        _ => super::endpoints::normalize(family, n, body),
    }
}

#[allow(clippy::too_many_arguments)]
fn put(app: &App, ctx: &Ctx, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str, body: &[u8], principal: &Principal) -> Result<Reply, ArmError> {
    let what = match family {
        ChildFamily::Connections => "Connection name",
        ChildFamily::Computes => "Compute name",
        ChildFamily::Schedules => "Schedule name",
        ChildFamily::OnlineEndpoints | ChildFamily::BatchEndpoints => "Endpoint name",
        _ => "Deployment name",
    };
    validate_name(what, name)?;
    let body = parse_body(body)?;
    store_definition(app, ctx, ws, family, parent, name, body, principal, true)
}

/// Creates or replaces a definition (PUT, and PATCH after merging).
#[allow(clippy::too_many_arguments)]
fn store_definition(app: &App, ctx: &Ctx, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str, body: Value, principal: &Principal, is_put: bool) -> Result<Reply, ArmError> {
    app.store.write(|s| {
        let (normalized, id, existed, location) = {
            let st: &State = s;
            let w = st.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
            let pid = resolve_parent(w, ws, family, parent)?;
            let id = format!("{pid}/{}/{name}", family.segment());
            let existing = find(w, &id);
            if existing.is_some() && lro::pending(st, &id, "delete") {
                return Err(ArmError::conflict(format!("'{name}' is being deleted; retry when the deletion has finished.")));
            }
            let parent_rec = parent.and_then(|_| find(w, &pid));
            let n = Norm { app, state: st, ws: w, parent: parent_rec, name, id: &id, existing, principal };
            let normalized = normalize(family, &n, body)?;
            (normalized, id.clone(), existing.is_some(), w.location.clone())
        };
        let Normalized { mut resource, secrets } = normalized;
        let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let prev_sd = find(w, &id).and_then(|c| c.resource.get("systemData").cloned());
        let obj = resource.as_object_mut().ok_or_else(|| ArmError::internal("definition is not an object"))?;
        let mut ordered = Map::new();
        ordered.insert("id".into(), json!(id));
        ordered.insert("name".into(), json!(name));
        ordered.insert("type".into(), json!(type_name(family)));
        for (k, v) in std::mem::take(obj) {
            ordered.insert(k, v);
        }
        ordered.insert("systemData".into(), system_data(principal, prev_sd.as_ref()));
        let lro_flavor = flavor(family);
        // Long-running families: a new resource is `Creating` until its operation completes;
        // computes update at once, the others are `Updating` until their next poll.
        let runs = match (lro_flavor, existed) {
            (Some(Flavor::Compute), true) | (None, _) => false,
            (Some(_), _) => true,
        };
        if lro_flavor.is_some() {
            if let Some(p) = ordered.get_mut("properties").and_then(Value::as_object_mut) {
                let state = if !runs { "Succeeded" } else if existed { "Updating" } else { "Creating" };
                p.insert("provisioningState".into(), json!(state));
            }
        }
        let resource = Value::Object(ordered);
        let record = ChildRecord { resource: resource.clone(), secrets };
        match w.children.iter_mut().find(|c| c.id().eq_ignore_ascii_case(&id)) {
            Some(c) => {
                let keep = if record.secrets.is_none() { c.secrets.take() } else { None };
                *c = record;
                if keep.is_some() {
                    c.secrets = keep;
                }
            }
            None => w.children.push(record),
        }
        if !runs {
            let status = if existed || family == ChildFamily::Connections || !is_put { StatusCode::OK } else { StatusCode::CREATED };
            return Ok(Reply::new(status, resource));
        }
        let op = lro::begin(app, s, &id, if existed { "update" } else { "create" });
        if existed || !is_put {
            return Ok(Reply::new(StatusCode::OK, resource));
        }
        Ok(lro::accepted_put(app, ctx, ws, &location, lro_flavor.expect("long-running"), &op, resource))
    })
}

/// Creates or replaces a definition outside a request (seeding): its operation completes at
/// once, so the resource is `Succeeded`.
pub fn seed_put(app: &App, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str, body: Value, principal: &Principal) -> Result<Value, ArmError> {
    let ctx = crate::server::internal_ctx(app);
    let r = store_definition(app, &ctx, ws, family, parent, name, body, principal, true)?;
    let id = r.body.get("id").and_then(Value::as_str).unwrap_or("").to_string();
    app.store.write(|s| {
        while lro::pending(s, &id, "create") || lro::pending(s, &id, "update") {
            lro::touch(s, &id);
        }
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        Ok(find(w, &id).map(|c| c.resource.clone()).unwrap_or(Value::Null))
    })
}

/// Deep merge of `patch` into `target` (objects merge, anything else replaces).
pub fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

fn patch(app: &App, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str, body: &[u8], principal: &Principal) -> Result<Reply, ArmError> {
    let patch = parse_body(body)?;
    let current = get_record(app, ws, family, parent, name)?;
    let mut merged = current.resource.clone();
    if let Some(o) = merged.as_object_mut() {
        for k in ["id", "name", "type", "systemData"] {
            o.remove(k);
        }
    }
    merge(&mut merged, &patch);
    // The secrets stay as they are unless the patch carries new ones.
    if family == ChildFamily::Connections && patch.pointer("/properties/credentials").is_none() {
        if let (Some(sec), Some(p)) = (&current.secrets, merged.get_mut("properties")) {
            p["credentials"] = sec.clone();
        }
    }
    let ctx = crate::server::internal_ctx(app);
    store_definition(app, &ctx, ws, family, parent, name, merged, principal, false)
}

fn delete(app: &App, ctx: &Ctx, ws: &WorkspaceRef, family: ChildFamily, parent: Option<&str>, name: &str) -> Result<Reply, ArmError> {
    if family == ChildFamily::Computes {
        match ctx.query.get("underlyingResourceAction").map(String::as_str) {
            Some("Delete" | "Detach") => {}
            other => {
                return Err(ArmError::bad_request("InvalidQueryParameter", format!(
                    "The query parameter 'underlyingResourceAction' must be 'Delete' or 'Detach', got {other:?}.")))
            }
        }
    }
    app.store.write(|s| {
        let w = s.workspace(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
        let pid = resolve_parent(w, ws, family, parent)?;
        let id = format!("{pid}/{}/{name}", family.segment());
        let Some(rec) = find(w, &id) else {
            return Ok(Reply::new(StatusCode::NO_CONTENT, Value::Null));
        };
        if family == ChildFamily::OnlineDeployments {
            let traffic = parent
                .and_then(|_| find(w, &pid))
                .and_then(|e| e.resource.pointer("/properties/traffic").and_then(Value::as_object).cloned())
                .unwrap_or_default();
            let share = traffic.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).and_then(|(_, v)| v.as_i64()).unwrap_or(0);
            if share > 0 {
                return Err(ArmError::bad_request("BadArgument", format!(
                    "Deployment '{name}' receives {share}% of the endpoint's traffic; set its traffic to 0 before deleting it.")));
            }
        }
        let _ = rec;
        let Some(fl) = flavor(family) else {
            let w = s.workspace_mut(&ws.key()).expect("checked");
            w.children.retain(|c| !c.id().eq_ignore_ascii_case(&id));
            return Ok(Reply::new(StatusCode::OK, Value::Null));
        };
        let location = w.location.clone();
        let w = s.workspace_mut(&ws.key()).expect("checked");
        if let Some(c) = w.children.iter_mut().find(|c| c.id().eq_ignore_ascii_case(&id)) {
            if let Some(p) = c.resource.get_mut("properties").and_then(Value::as_object_mut) {
                p.insert("provisioningState".into(), json!("Deleting"));
            }
        }
        let op = lro::begin(app, s, &id, "delete");
        Ok(lro::accepted_delete(app, ctx, ws, &location, fl, &op))
    })
}

// ---------------------------------------------------------------- helpers for the families

/// `body.properties` as an object (400 otherwise).
pub fn props(body: &Value) -> Result<Map<String, Value>, ArmError> {
    super::properties_of(body)
}

/// A required string property.
pub fn required_str<'v>(m: &'v Map<String, Value>, key: &str, what: &str) -> Result<&'v str, ArmError> {
    m.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ArmError::user_error(format!("The field '{key}' is required for {what}.")))
}

/// Checks `value` is one of `allowed` (case-sensitive, as the service's enums).
pub fn one_of(value: &str, allowed: &[&str], field: &str) -> Result<(), ArmError> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ArmError::user_error(format!("Invalid value '{value}' for '{field}': expected one of {}.", allowed.join(", "))))
    }
}

/// A managed identity as ARM completes it (principal and tenant ids of system-assigned ones).
pub fn complete_identity(identity: Option<&Value>, tenant: &str, default_type: Option<&str>) -> Option<Value> {
    let mut id = match identity {
        Some(Value::Object(o)) => Value::Object(o.clone()),
        _ => json!({"type": default_type?}),
    };
    let ty = id.get("type").and_then(Value::as_str).unwrap_or("None").to_string();
    if ty.contains("SystemAssigned") {
        id["principalId"] = id.get("principalId").cloned().filter(|v| v.is_string()).unwrap_or_else(|| json!(uuid::Uuid::new_v4().to_string()));
        id["tenantId"] = id.get("tenantId").cloned().filter(|v| v.is_string()).unwrap_or_else(|| json!(tenant));
    }
    if let Some(Value::Object(uais)) = id.get_mut("userAssignedIdentities") {
        for u in uais.values_mut() {
            let mut o = u.as_object().cloned().unwrap_or_default();
            o.entry("principalId").or_insert(json!(uuid::Uuid::new_v4().to_string()));
            o.entry("clientId").or_insert(json!(uuid::Uuid::new_v4().to_string()));
            *u = Value::Object(o);
        }
    }
    Some(id)
}

/// Top-level fields of a tracked resource: `location` (required unless `default_location`),
/// `tags`, `identity`, `sku`, `kind` as given.
pub fn tracked(body: &Value, default_location: Option<&str>) -> Result<Map<String, Value>, ArmError> {
    let mut out = Map::new();
    let location = body
        .get("location")
        .and_then(Value::as_str)
        .filter(|l| !l.is_empty())
        .or(default_location)
        .ok_or_else(|| ArmError::bad_request("LocationRequired", "The location property is required for this definition."))?;
    out.insert("location".into(), json!(location.to_ascii_lowercase().replace(' ', "")));
    out.insert("tags".into(), body.get("tags").cloned().filter(Value::is_object).unwrap_or_else(|| json!({})));
    for k in ["identity", "sku", "kind"] {
        if let Some(v) = body.get(k).filter(|v| !v.is_null()) {
            out.insert(k.into(), v.clone());
        }
    }
    Ok(out)
}
