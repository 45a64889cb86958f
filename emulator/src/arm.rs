//! ARM conventions: error bodies, api-versions, resource ids, paging tokens.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{json, Value};

/// The api-version the emulator's shapes follow.
pub const PINNED_API_VERSION: &str = "2025-12-01";

/// Every api-version accepted for the Azure ML operations the emulator serves.
/// Answers always use the shapes of [`PINNED_API_VERSION`].
/// Stable versions of Microsoft.MachineLearningServices since the v2 asset APIs went GA,
/// plus the previews that `azure-ai-ml` sends (2023-04-01-preview for environments,
/// 2024-01-01-preview for components and jobs, 2024-10-01-preview for datastores).
pub const ACCEPTED_API_VERSIONS: &[&str] = &[
    "2022-05-01",
    "2022-10-01",
    "2023-04-01",
    "2023-10-01",
    "2024-04-01",
    "2024-10-01",
    "2025-01-01",
    "2025-04-01",
    "2025-06-01",
    "2025-09-01",
    "2025-12-01",
    "2022-02-01-preview",
    "2022-06-01-preview",
    "2022-10-01-preview",
    "2022-12-01-preview",
    "2023-02-01-preview",
    "2023-04-01-preview",
    "2023-06-01-preview",
    "2023-08-01-preview",
    "2024-01-01-preview",
    "2024-04-01-preview",
    "2024-07-01-preview",
    "2024-10-01-preview",
    "2025-01-01-preview",
    "2025-04-01-preview",
    "2025-07-01-preview",
    "2025-10-01-preview",
];

pub fn api_version_accepted(v: &str) -> bool {
    ACCEPTED_API_VERSIONS.contains(&v)
}

pub const PROVIDER: &str = "Microsoft.MachineLearningServices";
pub const JSON_CT: &str = "application/json; charset=utf-8";

/// An error answered in ARM's shape `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct ArmError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub headers: Vec<(&'static str, String)>,
}

impl ArmError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ArmError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.to_string(),
            message: message.into(),
            headers: Vec::new(),
        }
    }
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
    pub fn user_error(message: impl Into<String>) -> Self {
        ArmError::new(400, "UserError", message)
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        ArmError::new(400, code, message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        ArmError::new(409, "UserError", message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ArmError::new(500, "InternalServerError", message)
    }
    /// ARM's "resource not found" for a resource `type_name` = `Microsoft.MachineLearningServices/workspaces/x/models/y`.
    pub fn resource_not_found(type_and_name: &str, resource_group: &str) -> Self {
        ArmError::new(
            404,
            "ResourceNotFound",
            format!(
                "The Resource '{type_and_name}' under resource group '{resource_group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }
    pub fn body(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
    pub fn into_response(self) -> Response {
        let mut resp = json_response(self.status, &self.body());
        for (k, v) in &self.headers {
            if let Ok(v) = HeaderValue::from_str(v) {
                resp.headers_mut().insert(*k, v);
            }
        }
        resp
    }
}

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(status)
        .header("content-type", JSON_CT)
        .body(Body::from(bytes))
        .expect("static response parts")
}

pub fn empty_response(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(Body::empty())
        .expect("static response parts")
}

/// Identifies a workspace; names keep their casing, comparison is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl WorkspaceRef {
    pub fn key(&self) -> String {
        workspace_key(&self.subscription_id, &self.resource_group, &self.name)
    }
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/{PROVIDER}/workspaces/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
    /// Parses `/subscriptions/S/resourceGroups/R/providers/Microsoft.MachineLearningServices/workspaces/W`
    /// (fixed segments case-insensitive, trailing slash allowed).
    pub fn parse(id: &str) -> Option<WorkspaceRef> {
        let segs: Vec<&str> = id.split('/').filter(|s| !s.is_empty()).collect();
        if segs.len() != 8 {
            return None;
        }
        let fixed = [(0, "subscriptions"), (2, "resourceGroups"), (4, "providers"), (5, PROVIDER), (6, "workspaces")];
        if fixed.iter().all(|(i, f)| segs[*i].eq_ignore_ascii_case(f)) {
            Some(WorkspaceRef {
                subscription_id: segs[1].to_string(),
                resource_group: segs[3].to_string(),
                name: segs[7].to_string(),
            })
        } else {
            None
        }
    }
}

pub fn workspace_key(sub: &str, rg: &str, name: &str) -> String {
    format!("{}/{}/{}", sub.to_ascii_lowercase(), rg.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// Opaque `$skipToken`: base64url of `emu1:<offset>`.
pub fn encode_skip_token(offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("emu1:{offset}"))
}

pub fn decode_skip_token(token: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).ok()?;
    let s = String::from_utf8(raw).ok()?;
    s.strip_prefix("emu1:")?.parse().ok()
}

/// One page of `items` starting at `offset`; `next_link_base` is the absolute URL of the
/// list (with its query, without `$skipToken`).
pub fn page(items: Vec<Value>, offset: usize, size: usize, next_link_base: &str) -> Value {
    let size = size.max(1);
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let mut body = json!({ "value": value });
    if offset + size < total {
        let sep = if next_link_base.contains('?') { '&' } else { '?' };
        body["nextLink"] = Value::String(format!(
            "{next_link_base}{sep}$skipToken={}",
            encode_skip_token(offset + size)
        ));
    }
    body
}

pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_token_roundtrip_and_rejects_garbage() {
        assert_eq!(decode_skip_token(&encode_skip_token(42)), Some(42));
        assert_eq!(decode_skip_token("not-a-token"), None);
    }

    #[test]
    fn paging_sets_next_link_until_last_page() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let p1 = page(items.clone(), 0, 2, "https://h/x?api-version=2025-12-01");
        assert_eq!(p1["value"], json!([0, 1]));
        let next = p1["nextLink"].as_str().unwrap();
        assert!(next.starts_with("https://h/x?api-version=2025-12-01&$skipToken="));
        let tok = next.split("$skipToken=").nth(1).unwrap();
        let p3 = page(items, decode_skip_token(tok).unwrap() + 2, 2, "https://h/x");
        assert_eq!(p3["value"], json!([4]));
        assert!(p3.get("nextLink").is_none());
    }

    #[test]
    fn workspace_ids_parse_case_insensitively() {
        let w = WorkspaceRef::parse("/SUBSCRIPTIONS/s1/resourcegroups/Rg/providers/microsoft.machinelearningservices/Workspaces/MyWs").unwrap();
        assert_eq!(w.name, "MyWs");
        assert_eq!(w.resource_group, "Rg");
        assert_eq!(w.arm_id(), "/subscriptions/s1/resourceGroups/Rg/providers/Microsoft.MachineLearningServices/workspaces/MyWs");
        assert!(WorkspaceRef::parse("/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/workspaces/x").is_none());
    }

    #[test]
    fn pinned_and_sdk_versions_are_accepted() {
        for v in ["2025-12-01", "2023-04-01-preview", "2024-01-01-preview", "2024-10-01-preview", "2023-04-01"] {
            assert!(api_version_accepted(v), "{v}");
        }
        assert!(!api_version_accepted("2099-01-01"));
    }
}
