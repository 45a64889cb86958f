//! Bearer-token checks and an Entra ID–like client-credentials token endpoint.

use std::collections::HashMap;

use azure_sharedkey::SharedKey;
use base64::Engine;
use serde_json::{json, Value};

use crate::arm::ArmError;
use crate::config::ServicePrincipal;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Who made a request (for `systemData`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// `User` or `Application`, as in `systemData.createdByType`.
    pub kind: &'static str,
}

pub struct Auth {
    static_token: String,
    principals: Vec<ServicePrincipal>,
    signer: SharedKey,
    authority: String,
}

/// Error answered by the token endpoint, in Entra ID's shape.
#[derive(Debug)]
pub struct TokenError {
    pub status: u16,
    pub body: Value,
}

fn aad_error(status: u16, error: &str, description: &str) -> TokenError {
    let trace = uuid::Uuid::new_v4();
    let corr = uuid::Uuid::new_v4();
    TokenError {
        status,
        body: json!({
            "error": error,
            "error_description": format!("{description} Trace ID: {trace} Correlation ID: {corr} Timestamp: {}", crate::arm::now_rfc3339()),
            "error_codes": [description.split(':').next().unwrap_or("").trim_start_matches("AADSTS").parse::<u64>().unwrap_or(0)],
            "timestamp": crate::arm::now_rfc3339(),
            "trace_id": trace.to_string(),
            "correlation_id": corr.to_string(),
        }),
    }
}

impl Auth {
    /// `authority` is the emulator's base URL (for `WWW-Authenticate`).
    pub fn new(static_token: String, principals: Vec<ServicePrincipal>, authority: String) -> Auth {
        let secret: [u8; 32] = rand::random();
        let signer = SharedKey::new("emulator", &base64::engine::general_purpose::STANDARD.encode(secret))
            .expect("valid base64");
        Auth { static_token, principals, signer, authority }
    }

    pub fn static_token(&self) -> &str {
        &self.static_token
    }

    fn www_authenticate(&self, tenant: &str) -> String {
        format!(
            "Bearer authorization_uri=\"{}/{tenant}\", error=\"invalid_token\", error_description=\"The authentication failed because of missing 'Authorization' header.\"",
            self.authority
        )
    }

    /// Checks an `Authorization` header value; ARM's 401 on failure.
    pub fn check(&self, header: Option<&str>) -> Result<Principal, ArmError> {
        let tenant = self.principals.first().map(|p| p.tenant_id.as_str()).unwrap_or("common");
        let Some(header) = header.filter(|h| !h.trim().is_empty()) else {
            return Err(ArmError::new(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
                .with_header("www-authenticate", self.www_authenticate(tenant)));
        };
        let invalid = || {
            ArmError::new(401, "InvalidAuthenticationToken", "The access token is invalid.")
                .with_header("www-authenticate", self.www_authenticate(tenant).replace("missing 'Authorization' header", "invalid access token"))
        };
        let Some(token) = header.strip_prefix("Bearer ").or_else(|| header.strip_prefix("bearer ")) else {
            return Err(ArmError::new(401, "AuthenticationFailedInvalidHeader", "Authentication failed. The 'Authorization' header is provided in an invalid format.")
                .with_header("www-authenticate", self.www_authenticate(tenant)));
        };
        let token = token.trim();
        if token == self.static_token {
            return Ok(Principal { name: "emulator-user@contoso.com".into(), kind: "User" });
        }
        let claims = self.verify_minted(token).ok_or_else(invalid)?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        if exp < time::OffsetDateTime::now_utc().unix_timestamp() {
            return Err(ArmError::new(401, "ExpiredAuthenticationToken", "The access token expiry UTC time is earlier than current UTC time."));
        }
        Ok(Principal {
            name: claims.get("appid").and_then(Value::as_str).unwrap_or("").to_string(),
            kind: "Application",
        })
    }

    fn verify_minted(&self, token: &str) -> Option<Value> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let expected = self.signature(&format!("{h}.{p}"));
        if !constant_time_eq(expected.as_bytes(), s.as_bytes()) {
            return None;
        }
        serde_json::from_slice(&B64URL.decode(p).ok()?).ok()
    }

    fn signature(&self, data: &str) -> String {
        let std = self.signer.sign_raw(data);
        let raw = base64::engine::general_purpose::STANDARD.decode(std).unwrap_or_default();
        B64URL.encode(raw)
    }

    /// `GET /{tenant}/v2.0/.well-known/openid-configuration`: Entra ID's OpenID Connect discovery
    /// document, which MSAL (azure-identity) reads before its first token request. Endpoints
    /// point at the emulator; an unknown tenant answers Entra's 400 `invalid_tenant`.
    pub fn openid_configuration(&self, tenant: &str) -> Result<Value, TokenError> {
        if !self.principals.iter().any(|p| p.tenant_id.eq_ignore_ascii_case(tenant)) {
            return Err(aad_error(400, "invalid_tenant", &format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")));
        }
        let base = format!("{}/{tenant}", self.authority);
        Ok(json!({
            "token_endpoint": format!("{base}/oauth2/v2.0/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": format!("{}/{tenant}/discovery/v2.0/keys", self.authority),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": format!("{base}/v2.0"),
            "request_uri_parameter_supported": false,
            "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
            "device_authorization_endpoint": format!("{base}/oauth2/v2.0/devicecode"),
            "http_logout_supported": true,
            "frontchannel_logout_supported": true,
            "end_session_endpoint": format!("{base}/oauth2/v2.0/logout"),
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "tid", "ver", "oid"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
        }))
    }

    /// `POST /{tenant}/oauth2/v2.0/token` with a form body.
    pub fn token(&self, tenant: &str, form: &HashMap<String, String>) -> Result<Value, TokenError> {
        let grant = form.get("grant_type").map(String::as_str).unwrap_or("");
        if grant != "client_credentials" {
            return Err(aad_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type."));
        }
        let client_id = form.get("client_id").map(String::as_str).unwrap_or("");
        let secret = form.get("client_secret").map(String::as_str).unwrap_or("");
        if !self.principals.iter().any(|p| p.tenant_id.eq_ignore_ascii_case(tenant)) {
            return Err(aad_error(400, "invalid_request", &format!("AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")));
        }
        let Some(sp) = self.principals.iter().find(|p| p.tenant_id.eq_ignore_ascii_case(tenant) && p.client_id == client_id) else {
            return Err(aad_error(400, "unauthorized_client", &format!("AADSTS700016: Application with identifier '{client_id}' was not found in the directory '{tenant}'.")));
        };
        if !constant_time_eq(sp.client_secret.as_bytes(), secret.as_bytes()) {
            return Err(aad_error(401, "invalid_client", &format!("AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'.")));
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let scope = form.get("scope").cloned().unwrap_or_default();
        // Entra ID's audience is the scope without its `/.default` suffix, nothing added:
        // `https://ml.azure.com/.default` gives `https://ml.azure.com` (azure-ai-ml compares exactly
        // that before it submits a pipeline job), `https://management.azure.com//.default` gives
        // `https://management.azure.com/`.
        let first = scope.split_whitespace().next().unwrap_or("");
        let aud = first.strip_suffix("/.default").unwrap_or(first).to_string();
        let header = B64URL.encode(br#"{"typ":"JWT","alg":"HS256","kid":"aml-emulator"}"#);
        let claims = json!({
            "aud": if aud.is_empty() { "https://management.azure.com/".to_string() } else { aud },
            "iss": format!("https://sts.windows.net/{tenant}/"),
            "iat": now, "nbf": now, "exp": now + 3599,
            "appid": sp.client_id, "oid": sp.client_id, "sub": sp.client_id, "tid": sp.tenant_id,
            "idtyp": "app", "ver": "1.0",
        });
        let payload = B64URL.encode(serde_json::to_vec(&claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let token = format!("{signing_input}.{}", self.signature(&signing_input));
        Ok(json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}))
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::new(
            "static".into(),
            vec![ServicePrincipal { tenant_id: "t1".into(), client_id: "c1".into(), client_secret: "s3cret".into() }],
            "https://127.0.0.1:1".into(),
        )
    }

    fn form(secret: &str) -> HashMap<String, String> {
        [("grant_type", "client_credentials"), ("client_id", "c1"), ("client_secret", secret), ("scope", "https://management.azure.com/.default")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn minted_tokens_are_accepted_and_tampered_ones_rejected() {
        let a = auth();
        let tok = a.token("t1", &form("s3cret")).unwrap();
        let at = tok["access_token"].as_str().unwrap();
        assert_eq!(a.check(Some(&format!("Bearer {at}"))).unwrap().name, "c1");
        let tampered = format!("{}x", at);
        assert_eq!(a.check(Some(&format!("Bearer {tampered}"))).unwrap_err().code, "InvalidAuthenticationToken");
        assert_eq!(a.check(None).unwrap_err().code, "AuthenticationFailed");
        assert_eq!(a.check(Some("Bearer static")).unwrap().kind, "User");
    }

    #[test]
    fn openid_configuration_points_at_the_token_endpoint() {
        let doc = auth().openid_configuration("t1").unwrap();
        assert_eq!(doc["token_endpoint"], "https://127.0.0.1:1/t1/oauth2/v2.0/token");
        assert_eq!(doc["authorization_endpoint"], "https://127.0.0.1:1/t1/oauth2/v2.0/authorize");
        let e = auth().openid_configuration("nope").unwrap_err();
        assert_eq!((e.status, e.body["error"].as_str()), (400, Some("invalid_tenant")));
    }

    fn audience(scope: &str) -> String {
        let mut f = form("s3cret");
        f.insert("scope".into(), scope.into());
        let tok = auth().token("t1", &f).unwrap();
        let payload = tok["access_token"].as_str().unwrap().split('.').nth(1).unwrap().to_string();
        let claims: Value = serde_json::from_slice(&B64URL.decode(payload).unwrap()).unwrap();
        claims["aud"].as_str().unwrap().to_string()
    }

    #[test]
    fn audience_is_the_scope_without_its_default_suffix_as_entra_issues_it() {
        assert_eq!(audience("https://ml.azure.com/.default"), "https://ml.azure.com");
        assert_eq!(audience("https://management.azure.com//.default"), "https://management.azure.com/");
        assert_eq!(audience("https://management.azure.com/.default"), "https://management.azure.com");
        assert_eq!(audience("https://127.0.0.1:8443/.default offline_access"), "https://127.0.0.1:8443");
    }

    #[test]
    fn wrong_secret_is_invalid_client() {
        let e = auth().token("t1", &form("nope")).unwrap_err();
        assert_eq!(e.status, 401);
        assert_eq!(e.body["error"], "invalid_client");
        assert!(e.body["error_description"].as_str().unwrap().starts_with("AADSTS7000215: Invalid client secret provided."));
    }
}
