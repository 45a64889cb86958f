//! Admin API under `/_emulator/` (bearer-protected with the static token).
//!
//! | Method | Path | Effect |
//! |---|---|---|
//! | GET | `/_emulator/health` | `{"status":"ok"}` (no token needed) |
//! | GET | `/_emulator/faults` | active faults |
//! | POST | `/_emulator/faults` | add a fault (JSON [`Fault`]) |
//! | DELETE | `/_emulator/faults` | clear all faults (also `POST /_emulator/faults/clear`) |
//! | GET | `/_emulator/requests` | `{"counters":{"GET ModelVersions_Get":3,...},"requests":[{method,path,operation,status}]}` |
//! | DELETE | `/_emulator/requests` | reset the counters |
//! | GET | `/_emulator/storage-faults` | `{"faults":[StorageFault]}` of the storage proxy |
//! | POST | `/_emulator/storage-faults` | add a storage fault (JSON [`StorageFault`]); answers the list |
//! | DELETE | `/_emulator/storage-faults` | clear them (also `POST /_emulator/storage-faults/clear`) |
//! | GET | `/_emulator/storage-requests` | `{"counters":{"GET /acct/c/b":2},"requests":[{method,path,query?,status,fault?}]}`; with `?method=GET&path_contains=x` also `"count"` |
//! | DELETE | `/_emulator/storage-requests` | reset the storage counters |
//! | GET | `/_emulator/regions` | `{"regions":{location: RegionSettings}}` set at run time |
//! | PUT | `/_emulator/regions/{location}` | VM sizes and quotas of a region (JSON [`RegionSettings`]) |
//! | DELETE | `/_emulator/regions/{location}` | back to the configuration's / the defaults |
//! | PUT | `/_emulator/lro` | `{"polls": n}`: polls before a long-running operation succeeds |
//!
//! The storage routes answer 404 `StorageProxyNotRunning` unless a storage proxy is attached
//! ([`crate::storage_proxy::attach`]; `TestBedOptions::storage_proxy`, `up --storage-proxy`).

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::arm::{empty_response, json_response, ArmError};
use crate::faults::Fault;
use crate::resources::regions::RegionSettings;
use crate::server::App;
use crate::storage_proxy::StorageFault;

pub fn handle(app: &App, parts: &axum::http::request::Parts, body: &Bytes) -> Response {
    let path = parts.uri.path().trim_end_matches('/');
    if path == "/_emulator/health" {
        return json_response(StatusCode::OK, &json!({"status": "ok"}));
    }
    let auth = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
    let expected = format!("Bearer {}", app.auth.static_token());
    if auth != Some(expected.as_str()) {
        return ArmError::new(401, "AuthenticationFailed", "The admin API needs 'Authorization: Bearer <static token>'.").into_response();
    }
    match (&parts.method, path) {
        (&Method::GET, "/_emulator/faults") => json_response(StatusCode::OK, &json!({"faults": app.faults.list()})),
        (&Method::POST, "/_emulator/faults") => match serde_json::from_slice::<Fault>(body) {
            Ok(f) => {
                app.faults.set(f);
                json_response(StatusCode::OK, &json!({"faults": app.faults.list()}))
            }
            Err(e) => ArmError::bad_request("InvalidRequestContent", format!("invalid fault: {e}")).into_response(),
        },
        (&Method::DELETE, "/_emulator/faults") | (&Method::POST, "/_emulator/faults/clear") => {
            app.faults.clear();
            empty_response(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "/_emulator/requests") => {
            json_response(StatusCode::OK, &json!({"counters": app.faults.counters(), "requests": app.faults.log()}))
        }
        (&Method::DELETE, "/_emulator/requests") => {
            app.faults.reset_counters();
            empty_response(StatusCode::NO_CONTENT)
        }
        (_, "/_emulator/storage-faults" | "/_emulator/storage-faults/clear" | "/_emulator/storage-requests") => storage(app, parts, path, body),
        (&Method::GET, "/_emulator/regions") => json_response(StatusCode::OK, &json!({"regions": app.store.read(|s| s.regions.clone())})),
        (&Method::PUT, "/_emulator/lro") => match serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| v.get("polls").and_then(serde_json::Value::as_u64)) {
            Some(n) if n >= 1 => {
                let _ = app.store.write(|s| {
                    s.lro_polls = Some(n as u32);
                    Ok::<_, ()>(())
                });
                json_response(StatusCode::OK, &json!({"polls": n}))
            }
            _ => ArmError::bad_request("InvalidRequestContent", "expected {\"polls\": n} with n >= 1").into_response(),
        },
        (m, p) if p.starts_with("/_emulator/regions/") => regions(app, m, &p["/_emulator/regions/".len()..], body),
        _ => ArmError::new(404, "NotFound", format!("No admin operation {} {path}.", parts.method)).into_response(),
    }
}

/// Sets or resets the VM sizes and quotas of one region.
fn regions(app: &App, method: &Method, location: &str, body: &Bytes) -> Response {
    let key = location.to_ascii_lowercase();
    match *method {
        Method::PUT => match serde_json::from_slice::<RegionSettings>(body) {
            Ok(r) => {
                let _ = app.store.write(|s| {
                    s.regions.insert(key.clone(), r.clone());
                    Ok::<_, ()>(())
                });
                json_response(StatusCode::OK, &json!({"location": key, "settings": r}))
            }
            Err(e) => ArmError::bad_request("InvalidRequestContent", format!("invalid region settings: {e}")).into_response(),
        },
        Method::DELETE => {
            let _ = app.store.write(|s| {
                s.regions.remove(&key);
                Ok::<_, ()>(())
            });
            empty_response(StatusCode::NO_CONTENT)
        }
        _ => ArmError::new(404, "NotFound", format!("No admin operation {method} /_emulator/regions/{location}.")).into_response(),
    }
}

/// The storage proxy's faults and counters.
fn storage(app: &App, parts: &axum::http::request::Parts, path: &str, body: &Bytes) -> Response {
    let Some(faults) = crate::storage_proxy::attached(app) else {
        return ArmError::new(404, "StorageProxyNotRunning", "No storage proxy runs in front of Azurite (TestBedOptions::storage_proxy, `aml-emulator up --storage-proxy`).").into_response();
    };
    match (&parts.method, path) {
        (&Method::GET, "/_emulator/storage-faults") => json_response(StatusCode::OK, &json!({"faults": faults.list()})),
        (&Method::POST, "/_emulator/storage-faults") => match serde_json::from_slice::<StorageFault>(body) {
            Ok(f) => {
                faults.set(f);
                json_response(StatusCode::OK, &json!({"faults": faults.list()}))
            }
            Err(e) => ArmError::bad_request("InvalidRequestContent", format!("invalid storage fault: {e}")).into_response(),
        },
        (&Method::DELETE, "/_emulator/storage-faults") | (&Method::POST, "/_emulator/storage-faults/clear") => {
            faults.clear();
            empty_response(StatusCode::NO_CONTENT)
        }
        (&Method::GET, "/_emulator/storage-requests") => {
            let mut out = json!({"counters": faults.counters(), "requests": faults.log()});
            let q: std::collections::HashMap<String, String> = url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()).into_owned().collect();
            if let Some(m) = q.get("method") {
                out["count"] = json!(faults.request_count(m, q.get("path_contains").map(String::as_str).unwrap_or("")));
            }
            json_response(StatusCode::OK, &out)
        }
        (&Method::DELETE, "/_emulator/storage-requests") => {
            faults.reset_counters();
            empty_response(StatusCode::NO_CONTENT)
        }
        _ => ArmError::new(404, "NotFound", format!("No admin operation {} {path}.", parts.method)).into_response(),
    }
}
