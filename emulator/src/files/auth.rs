//! Authorization of Azure Files requests: Shared Key (`Authorization: SharedKey acct:sig`,
//! checked with `azure_sharedkey::SharedKey::verify`) and SAS (account SAS with `ss`/`srt`, File
//! service SAS with `sr=s|f`), signatures checked with the account key.

use std::collections::BTreeMap;

use azure_sharedkey::sas::{AccountSas, FileSas};
use azure_sharedkey::SharedKey;
use http::request::Parts;

use super::ops::{OpSpec, Scope};
use super::FilesError;

/// The resource a request addresses (decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub account: String,
    pub share: Option<String>,
    /// `dir/sub/file` without leading slash; empty for the share (or its root directory).
    pub path: String,
}

fn auth_failed(detail: impl Into<String>) -> FilesError {
    FilesError::forbidden("AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.", Some(detail.into()))
}

/// The URL the client signed: path and query exactly as sent (the host is not signed).
fn signed_url(parts: &Parts) -> Result<url::Url, FilesError> {
    let pq = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    url::Url::parse(&format!("http://127.0.0.1{pq}")).map_err(|e| FilesError::bad_request("InvalidUri", &format!("request URI: {e}")))
}

/// Checks the request's credentials for `op` on `target`.
pub fn authorize(keys: &BTreeMap<String, SharedKey>, parts: &Parts, query: &BTreeMap<String, String>, target: &Target, op: &OpSpec) -> Result<(), FilesError> {
    let key = keys.get(&target.account).ok_or_else(|| auth_failed(format!("Unknown storage account '{}'.", target.account)))?;
    if let Some(auth) = parts.headers.get(http::header::AUTHORIZATION) {
        let auth = auth.to_str().map_err(|_| auth_failed("The Authorization header is not valid ASCII."))?;
        if !auth.starts_with("SharedKey ") {
            return Err(auth_failed("Only Shared Key (Authorization: SharedKey <account>:<signature>) and SAS are accepted."));
        }
        let url = signed_url(parts)?;
        let headers: Vec<(&str, &str)> = parts.headers.iter().filter_map(|(n, v)| v.to_str().ok().map(|v| (n.as_str(), v))).collect();
        if key.verify(auth, parts.method.as_str(), &url, headers.iter().copied()) {
            return Ok(());
        }
        let sts = azure_sharedkey::string_to_sign(&target.account, parts.method.as_str(), &url, headers.iter().copied());
        return Err(auth_failed(format!(
            "The MAC signature found in the HTTP request '{}' is not the same as any computed signature. Server used following string to sign: '{sts}'.",
            auth.rsplit_once(':').map(|(_, s)| s).unwrap_or("")
        )));
    }
    let Some(sig) = query.get("sig") else {
        return Err(auth_failed("No credentials: send Authorization: SharedKey or a SAS token."));
    };
    let q = |k: &str| query.get(k).cloned().filter(|v| !v.is_empty());
    let expiry = q("se").ok_or_else(|| auth_failed("The SAS has no signed expiry (se)."))?;
    let permissions = q("sp").unwrap_or_default();
    let version = q("sv").ok_or_else(|| auth_failed("The SAS has no signed version (sv)."))?;
    if query.contains_key("ss") {
        let sas = AccountSas {
            account: target.account.clone(),
            permissions: permissions.clone(),
            services: q("ss").unwrap_or_default(),
            resource_types: q("srt").unwrap_or_default(),
            start: q("st"),
            expiry: expiry.clone(),
            ip: q("sip"),
            protocol: q("spr"),
            version,
            encryption_scope: q("ses"),
        };
        if !sas.verify(key, sig) {
            return Err(auth_failed(format!("Signature did not match. String to sign used was {:?}", sas.string_to_sign())));
        }
        if !sas.services.contains('f') {
            return Err(FilesError::forbidden("AuthorizationServiceMismatch", "This request is not authorized to perform this operation using this service.", None));
        }
        let rt = match op.scope {
            Scope::Service => 's',
            Scope::Share => 'c',
            Scope::Directory | Scope::File => 'o',
        };
        if !sas.resource_types.contains(rt) {
            return Err(FilesError::forbidden("AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.", None));
        }
        check_common(sas.start.as_deref(), &expiry, sas.protocol.as_deref(), sas.ip.as_deref())?;
        return check_permission(&permissions, op);
    }
    let sr = q("sr").unwrap_or_default();
    let share = target.share.clone().ok_or_else(|| {
        FilesError::forbidden("AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.", None)
    })?;
    let file_path = match sr.as_str() {
        "s" => None,
        "f" => Some(target.path.clone()),
        other => return Err(auth_failed(format!("Unsupported signed resource sr={other:?} (File service SAS: s or f; account SAS: ss and srt)."))),
    };
    let sas = FileSas {
        account: target.account.clone(),
        share,
        file_path,
        permissions: permissions.clone(),
        start: q("st"),
        expiry: expiry.clone(),
        identifier: q("si"),
        ip: q("sip"),
        protocol: q("spr"),
        version,
        cache_control: q("rscc"),
        content_disposition: q("rscd"),
        content_encoding: q("rsce"),
        content_language: q("rscl"),
        content_type: q("rsct"),
    };
    if !sas.verify(key, sig) {
        return Err(auth_failed(format!("Signature did not match. String to sign used was {:?}", sas.string_to_sign())));
    }
    if sas.identifier.is_some() {
        return Err(auth_failed("Stored access policies (si) are not supported by the emulator."));
    }
    // A service SAS never manages shares; a file SAS only reaches its file.
    let scope_ok = match (sr.as_str(), op.scope) {
        (_, Scope::Service) => false,
        ("s", Scope::Share) => op.operation_id == "Share_GetProperties",
        ("s", _) => true,
        ("f", Scope::File) => true,
        _ => false,
    };
    if !scope_ok {
        return Err(FilesError::forbidden("AuthorizationResourceTypeMismatch", "This request is not authorized to perform this operation using this resource type.", None));
    }
    check_common(sas.start.as_deref(), &expiry, sas.protocol.as_deref(), sas.ip.as_deref())?;
    check_permission(&permissions, op)
}

fn check_permission(permissions: &str, op: &OpSpec) -> Result<(), FilesError> {
    if op.sas_permissions.chars().any(|c| permissions.contains(c)) {
        Ok(())
    } else {
        Err(FilesError::forbidden(
            "AuthorizationPermissionMismatch",
            "This request is not authorized to perform this operation using this permission.",
            Some(format!("{} needs one of the SAS permissions {:?}; the SAS grants {permissions:?}.", op.operation_id, op.sas_permissions)),
        ))
    }
}

/// Parses a SAS time: `2026-11-26T10:00:00Z`, with fractional seconds, or a date `2026-11-26`.
pub fn parse_sas_time(v: &str) -> Option<time::OffsetDateTime> {
    if let Ok(t) = time::OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let with_secs = |s: &str| time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok();
    if v.len() == 17 && v.ends_with('Z') {
        // 2026-11-26T10:00Z
        return with_secs(&format!("{}:00Z", &v[..16]));
    }
    let d = time::Date::parse(v, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.midnight().assume_utc())
}

fn check_common(start: Option<&str>, expiry: &str, protocol: Option<&str>, ip: Option<&str>) -> Result<(), FilesError> {
    let now = time::OffsetDateTime::now_utc();
    let se = parse_sas_time(expiry).ok_or_else(|| auth_failed(format!("Signed expiry {expiry:?} is not a valid time.")))?;
    if now > se {
        return Err(auth_failed(format!("Signed expiry time [{expiry}] must be after current time.")));
    }
    if let Some(st) = start {
        let t = parse_sas_time(st).ok_or_else(|| auth_failed(format!("Signed start {st:?} is not a valid time.")))?;
        if t > now + time::Duration::minutes(5) {
            return Err(auth_failed(format!("Signed start time [{st}] is in the future.")));
        }
    }
    if let Some(p) = protocol {
        if !p.split(',').any(|x| x.trim() == "http") {
            return Err(FilesError::forbidden("AuthorizationProtocolMismatch", "This request is not authorized to perform this operation using this protocol.", Some(format!("spr={p} but the emulator serves plain http"))));
        }
    }
    if let Some(range) = ip {
        let parse = |s: &str| s.trim().parse::<std::net::Ipv4Addr>().ok().map(u32::from);
        let lo_hi = match range.split_once('-') {
            Some((a, b)) => parse(a).zip(parse(b)),
            None => parse(range).map(|a| (a, a)),
        };
        let me = u32::from(std::net::Ipv4Addr::LOCALHOST);
        if !lo_hi.is_some_and(|(lo, hi)| lo <= me && me <= hi) {
            return Err(FilesError::forbidden("AuthorizationSourceIPMismatch", "This request is not authorized to perform this operation using this source IP.", Some(format!("sip={range}"))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_times() {
        assert!(parse_sas_time("2026-11-26T10:00:00Z").is_some());
        assert!(parse_sas_time("2026-11-26T10:00:00.1234567Z").is_some());
        assert!(parse_sas_time("2026-11-26T10:00Z").is_some());
        assert!(parse_sas_time("2026-11-26").is_some());
        assert!(parse_sas_time("tomorrow").is_none());
    }
}
