//! Compute_*: AmlCompute clusters and compute instances (long-running create and delete).
//! A VM size the region does not offer is refused; so is a create whose nodes running at once
//! (a cluster's minimum, an instance) would exceed the family's or the region's vCPU quota.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::children::{complete_identity, get_record, one_of, props, tracked, Norm, Normalized};
use super::regions;
use super::Reply;
use crate::arm::{now_rfc3339, ArmError, WorkspaceRef};
use crate::routes::ChildFamily;
use crate::server::App;

pub const COMPUTE_TYPE: &str = "Microsoft.MachineLearningServices/workspaces/computes";
const COMPUTE_TYPES: &[&str] = &["AKS", "Kubernetes", "AmlCompute", "ComputeInstance", "DataFactory", "VirtualMachine", "HDInsight", "Databricks", "DataLakeAnalytics", "SynapseSpark"];

fn obj(v: Option<&Value>) -> Map<String, Value> {
    v.and_then(Value::as_object).cloned().unwrap_or_default()
}

pub fn normalize(n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    let mut top = tracked(&body, Some(&n.ws.location))?;
    let location = top["location"].as_str().unwrap_or_default().to_string();
    if let Some(id) = complete_identity(body.get("identity"), &n.app.config.tenant_id(), None) {
        top.insert("identity".into(), id);
    }
    let mut p = props(&body)?;
    let ctype = p.get("computeType").and_then(Value::as_str).unwrap_or("").to_string();
    if ctype.is_empty() {
        return Err(ArmError::user_error("The field 'computeType' is required for a compute."));
    }
    one_of(&ctype, COMPUTE_TYPES, "computeType")?;
    if let Some(prev) = n.existing {
        let was = prev.resource.pointer("/properties/computeType").and_then(Value::as_str).unwrap_or("");
        if was != ctype {
            return Err(ArmError::conflict(format!("Compute '{}' already exists as {was}; its computeType cannot change to {ctype}.", n.name)));
        }
    }
    let now = now_rfc3339();
    let mut inner = obj(p.get("properties"));
    let region = regions::settings(n.app, n.state, &location);
    let mut needed = 0u64;
    let mut size = None;
    if matches!(ctype.as_str(), "AmlCompute" | "ComputeInstance") {
        let vm = inner.get("vmSize").and_then(Value::as_str).unwrap_or("").to_string();
        if vm.is_empty() {
            return Err(ArmError::user_error(format!("The field 'properties.vmSize' is required for a {ctype}.")));
        }
        if !region.offers(&vm) {
            return Err(ArmError::bad_request("InvalidVmSize", format!(
                "The VM size '{vm}' is not available in location '{location}'. List the available sizes with VirtualMachineSizes_List.")));
        }
        let info = regions::size_info(&vm).expect("offered sizes are in the catalogue");
        inner.insert("vmSize".into(), json!(info.name));
        size = Some(info);
    }
    match ctype.as_str() {
        "AmlCompute" => {
            let mut scale = obj(inner.get("scaleSettings"));
            let max = scale.get("maxNodeCount").and_then(Value::as_u64).ok_or_else(|| ArmError::user_error("The field 'properties.scaleSettings.maxNodeCount' is required for an AmlCompute cluster."))?;
            let min = scale.get("minNodeCount").and_then(Value::as_u64).unwrap_or(0);
            if min > max {
                return Err(ArmError::user_error(format!("minNodeCount ({min}) must not exceed maxNodeCount ({max}).")));
            }
            scale.insert("minNodeCount".into(), json!(min));
            scale.entry("nodeIdleTimeBeforeScaleDown").or_insert(json!("PT120S"));
            inner.insert("scaleSettings".into(), Value::Object(scale));
            for (k, v) in [("osType", json!("Linux")), ("vmPriority", json!("Dedicated")), ("remoteLoginPortPublicAccess", json!("NotSpecified")), ("enableNodePublicIp", json!(true)), ("isolatedNetwork", json!(false))] {
                inner.entry(k).or_insert(v);
            }
            let prev_nodes = n.existing.and_then(|e| e.resource.pointer("/properties/properties/currentNodeCount").and_then(Value::as_u64)).unwrap_or(0);
            needed = min.saturating_sub(prev_nodes) * size.map(|s| s.vcpus).unwrap_or(0);
            inner.insert("currentNodeCount".into(), json!(min));
            inner.insert("targetNodeCount".into(), json!(min));
            inner.insert("allocationState".into(), json!("Steady"));
            inner.insert("allocationStateTransitionTime".into(), json!(now));
            inner.insert("nodeStateCounts".into(), json!({"idleNodeCount": min, "runningNodeCount": 0, "preparingNodeCount": 0, "unusableNodeCount": 0, "leavingNodeCount": 0, "preemptedNodeCount": 0}));
            inner.insert("errors".into(), json!([]));
        }
        "ComputeInstance" => {
            if n.existing.is_none() {
                needed = size.map(|s| s.vcpus).unwrap_or(0);
            }
            for (k, v) in [("applicationSharingPolicy", json!("Shared")), ("computeInstanceAuthorizationType", json!("personal"))] {
                inner.entry(k).or_insert(v);
            }
            let state = n.existing.and_then(|e| e.resource.pointer("/properties/properties/state").cloned()).unwrap_or(json!("Running"));
            inner.insert("state".into(), state);
            let user = inner.get("personalComputeInstanceSettings").and_then(|s| s.get("assignedUser")).cloned();
            inner.insert("createdBy".into(), json!({
                "userName": n.principal.name,
                "userOrgId": user.as_ref().and_then(|u| u.get("tenantId")).cloned().unwrap_or(json!(n.app.config.tenant_id())),
                "userId": user.as_ref().and_then(|u| u.get("objectId")).cloned().unwrap_or(json!(uuid::Uuid::new_v4().to_string())),
            }));
            inner.insert("connectivityEndpoints".into(), json!({"publicIpAddress": "127.0.0.1", "privateIpAddress": "10.0.0.4"}));
            inner.insert("applications".into(), json!([
                {"displayName": "Jupyter", "endpointUri": format!("https://{}.{location}.instances.azureml.ms/tree/", n.name)},
                {"displayName": "JupyterLab", "endpointUri": format!("https://{}.{location}.instances.azureml.ms/lab", n.name)},
            ]));
            inner.insert("osImageMetadata".into(), json!({"currentImageVersion": "25.01.01", "latestImageVersion": "25.01.01", "isLatestOsImageVersion": true}));
            inner.insert("errors".into(), json!([]));
        }
        _ => {}
    }
    if needed > 0 {
        let family = size.map(|s| s.family).unwrap_or("");
        let (used, limit, total_used, total_limit) = regions::usage_of(n.app, n.state, &location, family);
        if used + needed > limit || total_used + needed > total_limit {
            return Err(ArmError::bad_request("QuotaExceeded", format!(
                "Operation would exceed the {family} vCPU quota in {location}: {needed} more needed, {used} of {limit} in use (regional: {total_used} of {total_limit}). Request a quota increase or choose another VM size."
            )));
        }
    }
    p.insert("properties".into(), Value::Object(inner));
    p.insert("computeLocation".into(), json!(location));
    p.insert("isAttachedCompute".into(), json!(false));
    p.entry("disableLocalAuth").or_insert(json!(true));
    p.insert("createdOn".into(), n.existing.and_then(|e| e.resource.pointer("/properties/createdOn").cloned()).unwrap_or(json!(now)));
    p.insert("modifiedOn".into(), json!(now));
    let mut resource = Value::Object(top);
    resource["properties"] = Value::Object(p);
    Ok(Normalized { resource, secrets: None })
}

/// listNodes, listKeys, start, stop, restart.
pub fn action(app: &App, ws: &WorkspaceRef, name: &str, action: &str) -> Result<Reply, ArmError> {
    let rec = get_record(app, ws, ChildFamily::Computes, None, name)?;
    let ctype = rec.resource.pointer("/properties/computeType").and_then(Value::as_str).unwrap_or("").to_string();
    match action {
        "listNodes" => {
            let count = rec.resource.pointer("/properties/properties/currentNodeCount").and_then(Value::as_u64).unwrap_or(0);
            let nodes: Vec<Value> = (0..count)
                .map(|i| json!({"nodeId": format!("tvmps_{name}_{i}_d"), "privateIpAddress": format!("10.0.0.{}", i + 4), "publicIpAddress": "127.0.0.1", "port": 50000 + i, "nodeState": "idle", "runId": null}))
                .collect();
            Ok(Reply::new(StatusCode::OK, json!({"nodes": nodes})))
        }
        "listKeys" => Ok(Reply::new(StatusCode::OK, json!({"computeType": ctype}))),
        _ => {
            if ctype != "ComputeInstance" {
                return Err(ArmError::bad_request("BadRequest", format!("'{action}' applies to compute instances; '{name}' is {ctype}.")));
            }
            let state = if action == "stop" { "Stopped" } else { "Running" };
            app.store.write(|s| {
                let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
                if let Some(c) = w.children.iter_mut().find(|c| c.id().eq_ignore_ascii_case(rec.id())) {
                    c.resource["properties"]["properties"]["state"] = json!(state);
                }
                Ok::<_, ArmError>(())
            })?;
            Ok(Reply::new(StatusCode::ACCEPTED, Value::Null))
        }
    }
}
