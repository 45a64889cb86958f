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

use axum::body::Bytes;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::arm::{empty_response, json_response, ArmError};
use crate::faults::Fault;
use crate::server::App;

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
        _ => ArmError::new(404, "NotFound", format!("No admin operation {} {path}.", parts.method)).into_response(),
    }
}
