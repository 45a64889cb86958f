//! OnlineEndpoints_*, OnlineDeployments_*, BatchEndpoints_*, BatchDeployments_*
//! (long-running create, update and delete). An online endpoint's `traffic` names only its
//! deployments and sums to 0 or 100; a deployment receiving traffic cannot be deleted; a batch
//! endpoint's `defaults.deploymentName` names one of its deployments. Keys (`authMode: Key`)
//! are generated, never shown by Get, answered by listKeys.

use axum::http::StatusCode;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::children::{children_under, complete_identity, one_of, props, tracked, Norm, Normalized};
use super::{regions, Reply};
use crate::arm::{ArmError, WorkspaceRef};
use crate::routes::ChildFamily;
use crate::server::App;
use crate::store::ChildRecord;

const AUTH_MODES: &[&str] = &["AMLToken", "Key", "AADToken"];
const COMPUTE_TYPES: &[&str] = &["Managed", "Kubernetes", "AzureMLCompute"];

fn new_key() -> String {
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn normalize(family: ChildFamily, n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    match family {
        ChildFamily::OnlineEndpoints | ChildFamily::BatchEndpoints => endpoint(family, n, body),
        _ => deployment(family, n, body),
    }
}

fn endpoint(family: ChildFamily, n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    let online = family == ChildFamily::OnlineEndpoints;
    let mut top = tracked(&body, None)?;
    let location = top["location"].as_str().unwrap_or_default().to_string();
    let identity = complete_identity(body.get("identity"), &n.app.config.tenant_id(), Some("SystemAssigned"));
    top.insert("identity".into(), identity.unwrap_or(json!({"type": "None"})));
    top.entry("kind").or_insert(json!("Managed"));
    let mut p = props(&body)?;
    let given_mode = p.get("authMode").and_then(Value::as_str).unwrap_or("").to_string();
    if given_mode.is_empty() {
        return Err(ArmError::user_error("The field 'authMode' is required for an endpoint."));
    }
    // The service takes enum values case-insensitively (azure-ai-ml sends `aadToken`) and answers the canonical form.
    let auth = AUTH_MODES.iter().find(|m| m.eq_ignore_ascii_case(&given_mode)).map(|m| m.to_string()).unwrap_or(given_mode);
    one_of(&auth, AUTH_MODES, "authMode")?;
    p.insert("authMode".into(), json!(auth));
    if !online && auth == "Key" {
        return Err(ArmError::user_error("Batch endpoints support authMode 'AADToken' only."));
    }
    // Keys are write-only: generated (or as given) and kept apart.
    let given = p.remove("keys");
    let secrets = if auth == "Key" {
        let prev = n.existing.and_then(|e| e.secrets.clone());
        let given = given.filter(Value::is_object);
        Some(match (given, prev) {
            (Some(g), _) => json!({"primaryKey": g.get("primaryKey").cloned().unwrap_or_else(|| json!(new_key())), "secondaryKey": g.get("secondaryKey").cloned().unwrap_or_else(|| json!(new_key()))}),
            (None, Some(prev)) => prev,
            (None, None) => json!({"primaryKey": new_key(), "secondaryKey": new_key()}),
        })
    } else {
        None
    };
    let deployments: Vec<String> = children_under(n.ws, n.id, "deployments").into_iter().map(|c| crate::store::name_of(&c.resource).to_string()).collect();
    let host = format!("{}.{location}.inference.ml.azure.com", n.name.to_ascii_lowercase());
    if online {
        let traffic = p.get("traffic").cloned().unwrap_or_else(|| json!({}));
        let mirror = p.get("mirrorTraffic").cloned().unwrap_or_else(|| json!({}));
        for (field, map, total_must) in [("traffic", &traffic, true), ("mirrorTraffic", &mirror, false)] {
            let Some(m) = map.as_object() else {
                return Err(ArmError::user_error(format!("'{field}' must be an object of deployment name to percent.")));
            };
            let mut sum = 0i64;
            for (d, v) in m {
                if !deployments.iter().any(|x| x.eq_ignore_ascii_case(d)) {
                    return Err(ArmError::bad_request("BadArgument", format!("{field}: deployment '{d}' does not exist under endpoint '{}'.", n.name)));
                }
                let pct = v.as_i64().filter(|x| (0..=100).contains(x)).ok_or_else(|| ArmError::user_error(format!("{field}: the share of '{d}' must be an integer from 0 to 100.")))?;
                sum += pct;
            }
            if total_must && sum != 0 && sum != 100 {
                return Err(ArmError::bad_request("BadArgument", format!("The traffic of endpoint '{}' sums to {sum}; it must be 0 or 100.", n.name)));
            }
            if !total_must && sum > 50 {
                return Err(ArmError::bad_request("BadArgument", "mirrorTraffic must not exceed 50 percent."));
            }
        }
        p.insert("traffic".into(), traffic);
        p.insert("mirrorTraffic".into(), mirror);
        super::default_field(&mut p, "publicNetworkAccess", json!("Enabled"));
        p.insert("scoringUri".into(), json!(format!("https://{host}/score")));
        p.insert("swaggerUri".into(), json!(format!("https://{host}/swagger.json")));
    } else {
        let mut defaults = p.get("defaults").and_then(Value::as_object).cloned().unwrap_or_default();
        if let Some(d) = defaults.get("deploymentName").and_then(Value::as_str).filter(|d| !d.is_empty()) {
            if !deployments.iter().any(|x| x.eq_ignore_ascii_case(d)) {
                return Err(ArmError::bad_request("BadArgument", format!("defaults.deploymentName: deployment '{d}' does not exist under batch endpoint '{}'.", n.name)));
            }
        } else {
            defaults.insert("deploymentName".into(), Value::Null);
        }
        p.insert("defaults".into(), Value::Object(defaults));
        p.insert("scoringUri".into(), json!(format!("https://{host}/jobs")));
        p.insert("swaggerUri".into(), Value::Null);
    }
    super::default_field(&mut p, "properties", json!({}));
    let mut resource = Value::Object(top);
    resource["properties"] = Value::Object(p);
    Ok(Normalized { resource, secrets })
}

fn deployment(family: ChildFamily, n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    let online = family == ChildFamily::OnlineDeployments;
    let mut top = tracked(&body, None)?;
    let location = top["location"].as_str().unwrap_or_default().to_string();
    if let Some(id) = complete_identity(body.get("identity"), &n.app.config.tenant_id(), None) {
        top.insert("identity".into(), id);
    }
    let mut p: Map<String, Value> = props(&body)?;
    if let Some(code) = p.get("codeConfiguration").filter(|c| !c.is_null()) {
        if code.get("scoringScript").and_then(Value::as_str).is_none_or(str::is_empty) {
            return Err(ArmError::user_error("codeConfiguration.scoringScript is required when codeConfiguration is given."));
        }
    }
    super::default_field(&mut p, "properties", json!({}));
    super::default_field(&mut p, "environmentVariables", json!({}));
    if online {
        let ct = p.get("endpointComputeType").and_then(Value::as_str).unwrap_or("").to_string();
        if ct.is_empty() {
            return Err(ArmError::user_error("The field 'endpointComputeType' is required for an online deployment."));
        }
        one_of(&ct, COMPUTE_TYPES, "endpointComputeType")?;
        super::default_field(&mut p, "instanceType", json!("Standard_F4s_v2"));
        let it = p["instanceType"].as_str().unwrap_or("").to_string();
        if ct == "Managed" {
            let region = regions::settings(n.app, n.state, &location);
            if !region.offers(&it) {
                return Err(ArmError::bad_request("InvalidVmSize", format!("The instance type '{it}' is not available for managed online deployments in '{location}'.")));
            }
        }
        if !top.contains_key("sku") {
            top.insert("sku".into(), json!({"name": "Default", "capacity": 1}));
        }
        if let Some(cap) = top.get("sku").and_then(|s| s.get("capacity")).and_then(Value::as_i64) {
            if cap < 0 {
                return Err(ArmError::user_error("sku.capacity (the instance count) must not be negative."));
            }
        }
        super::default_field(&mut p, "scaleSettings", json!({"scaleType": "Default"}));
        super::default_field(&mut p, "requestSettings", json!({"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1, "maxQueueWait": "PT0.5S"}));
        let probe = json!({"initialDelay": "PT10S", "period": "PT10S", "timeout": "PT2S", "successThreshold": 1, "failureThreshold": 30});
        super::default_field(&mut p, "livenessProbe", probe.clone());
        super::default_field(&mut p, "readinessProbe", probe);
        super::default_field(&mut p, "appInsightsEnabled", json!(false));
        super::default_field(&mut p, "egressPublicNetworkAccess", json!("Enabled"));
    } else {
        for (k, v) in [
            ("errorThreshold", json!(-1)),
            ("loggingLevel", json!("Info")),
            ("maxConcurrencyPerInstance", json!(1)),
            ("miniBatchSize", json!(10)),
            ("outputAction", json!("AppendRow")),
            ("outputFileName", json!("predictions.csv")),
            ("retrySettings", json!({"maxRetries": 3, "timeout": "PT30S"})),
            ("resources", json!({"instanceCount": 1, "properties": {}})),
        ] {
            super::default_field(&mut p, k, v);
        }
    }
    let mut resource = Value::Object(top);
    resource["properties"] = Value::Object(p);
    Ok(Normalized { resource, secrets: None })
}

/// Endpoint keys and tokens, deployment logs and SKUs.
pub fn action(app: &App, ws: &WorkspaceRef, family: ChildFamily, rec: &ChildRecord, action: &str, body: &[u8]) -> Result<Reply, ArmError> {
    let auth = rec.resource.pointer("/properties/authMode").and_then(Value::as_str).unwrap_or("").to_string();
    let name = crate::store::name_of(&rec.resource).to_string();
    match (family, action) {
        (_, "listKeys" | "listkeys") => match &rec.secrets {
            Some(k) => Ok(Reply::new(StatusCode::OK, k.clone())),
            None => Err(ArmError::bad_request("BadArgument", format!("Endpoint '{name}' uses authMode '{auth}'; keys exist only with authMode 'Key'."))),
        },
        (_, "regenerateKeys") => {
            if auth != "Key" {
                return Err(ArmError::bad_request("BadArgument", format!("Endpoint '{name}' uses authMode '{auth}'; keys exist only with authMode 'Key'.")));
            }
            let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            let which = match req.get("keyType").and_then(Value::as_str) {
                Some("Primary") => "primaryKey",
                Some("Secondary") => "secondaryKey",
                other => return Err(ArmError::user_error(format!("keyType must be 'Primary' or 'Secondary', got {other:?}."))),
            };
            let value = req.get("keyValue").and_then(Value::as_str).map(str::to_string).unwrap_or_else(new_key);
            app.store.write(|s| {
                let w = s.workspace_mut(&ws.key()).ok_or_else(|| super::workspaces::not_found(ws))?;
                if let Some(c) = w.children.iter_mut().find(|c| c.id().eq_ignore_ascii_case(rec.id())) {
                    let mut keys = c.secrets.clone().unwrap_or_else(|| json!({}));
                    keys[which] = json!(value);
                    c.secrets = Some(keys);
                }
                Ok::<_, ArmError>(())
            })?;
            Ok(Reply::new(StatusCode::OK, Value::Null))
        }
        (_, "token") => {
            if auth != "AMLToken" {
                return Err(ArmError::bad_request("BadArgument", format!("Endpoint '{name}' uses authMode '{auth}'; tokens exist only with authMode 'AMLToken'.")));
            }
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            Ok(Reply::new(StatusCode::OK, json!({"accessToken": format!("emu-endpoint-token-{}", uuid::Uuid::new_v4().simple()), "tokenType": "Bearer", "expiryTimeUtc": now + 3600, "refreshAfterTimeUtc": now + 1800})))
        }
        (_, "getLogs") => Ok(Reply::new(StatusCode::OK, json!({"content": format!("aml-emulator: deployment '{name}' runs nothing; no container logs.\n")}))),
        (_, "skus") => Ok(Reply::new(StatusCode::OK, json!({"value": [{
            "resourceType": "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments",
            "sku": {"name": "Default", "tier": "Standard"},
            "capacity": {"minimum": 1, "maximum": 20, "default": 1, "scaleType": "Manual"},
        }]}))),
        _ => Err(ArmError::new(405, "MethodNotAllowed", format!("Action '{action}' is not served."))),
    }
}
