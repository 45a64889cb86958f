//! Shared access signatures signed with the account key: the Blob service SAS ([`ServiceSas`],
//! used by the emulator's startPendingUpload and by the tool for server-side copy sources), the
//! File service SAS ([`FileSas`]) and the account SAS ([`AccountSas`]); the emulator's Azure
//! Files service verifies the latter two.

use crate::SharedKey;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Signed version of the SAS tokens built here.
pub const SAS_VERSION: &str = "2021-12-02";

/// Query values: unreserved only.
const QUERY_SET: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// The fields of a Blob service SAS (container or blob scope), signed with the account key.
#[derive(Debug, Clone)]
pub struct ServiceSas {
    pub account: String,
    pub container: String,
    /// `None`: container SAS (`sr=c`); `Some`: blob SAS (`sr=b`).
    pub blob: Option<String>,
    /// In the canonical order, e.g. `racwdl`.
    pub permissions: String,
    pub start: Option<String>,
    pub expiry: String,
    pub protocol: Option<String>,
}

impl ServiceSas {
    /// String to sign for signed versions 2020-12-06 and later
    /// (https://learn.microsoft.com/rest/api/storageservices/create-service-sas#version-2020-12-06-and-later).
    pub fn string_to_sign(&self) -> String {
        let resource = match &self.blob {
            None => format!("/blob/{}/{}", self.account, self.container),
            Some(b) => format!("/blob/{}/{}/{}", self.account, self.container, b),
        };
        let sr = if self.blob.is_some() { "b" } else { "c" };
        [
            self.permissions.as_str(),
            self.start.as_deref().unwrap_or(""),
            self.expiry.as_str(),
            resource.as_str(),
            "", // signedIdentifier
            "", // signedIP
            self.protocol.as_deref().unwrap_or(""),
            SAS_VERSION,
            sr,
            "", // signedSnapshotTime
            "", // signedEncryptionScope
            "", // rscc
            "", // rscd
            "", // rsce
            "", // rscl
            "", // rsct
        ]
        .join("\n")
    }

    /// The query string (without `?`).
    pub fn token(&self, key: &SharedKey) -> String {
        let sig = key.sign_raw(&self.string_to_sign());
        let enc = |s: &str| utf8_percent_encode(s, QUERY_SET).to_string();
        let mut q = vec![format!("sv={SAS_VERSION}")];
        if let Some(p) = &self.protocol {
            q.push(format!("spr={}", enc(p)));
        }
        if let Some(st) = &self.start {
            q.push(format!("st={}", enc(st)));
        }
        q.push(format!("se={}", enc(&self.expiry)));
        q.push(format!("sr={}", if self.blob.is_some() { "b" } else { "c" }));
        q.push(format!("sp={}", self.permissions));
        q.push(format!("sig={}", enc(&sig)));
        q.join("&")
    }
}

/// Signed version of the File service SAS tokens built by [`FileSas::token`] when none is given.
pub const FILE_SAS_VERSION: &str = "2026-02-06";

/// A File service SAS (share scope `sr=s` or file scope `sr=f`), signed with the account key.
/// Separate from the Blob [`ServiceSas`]: the File string to sign has no signed resource,
/// snapshot or encryption scope fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSas {
    pub account: String,
    pub share: String,
    /// `None`: share SAS (`sr=s`); `Some("dir/file")`: file SAS (`sr=f`), unencoded.
    pub file_path: Option<String>,
    /// In the canonical order, e.g. `rcwdl`.
    pub permissions: String,
    pub start: Option<String>,
    pub expiry: String,
    /// `si`: a stored access policy.
    pub identifier: Option<String>,
    /// `sip`: an address or range.
    pub ip: Option<String>,
    /// `spr`: `https` or `https,http`.
    pub protocol: Option<String>,
    /// `sv`; [`FILE_SAS_VERSION`] when empty.
    pub version: String,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub content_type: Option<String>,
}

impl FileSas {
    fn version(&self) -> &str {
        if self.version.is_empty() {
            FILE_SAS_VERSION
        } else {
            &self.version
        }
    }

    /// `s` for a share SAS, `f` for a file SAS.
    pub fn signed_resource(&self) -> &'static str {
        if self.file_path.is_some() {
            "f"
        } else {
            "s"
        }
    }

    /// `/file/<account>/<share>[/<path>]`.
    pub fn canonical_resource(&self) -> String {
        match &self.file_path {
            None => format!("/file/{}/{}", self.account, self.share),
            Some(p) => format!("/file/{}/{}/{}", self.account, self.share, p.trim_start_matches('/')),
        }
    }

    /// String to sign of a File service SAS for signed versions 2015-04-05 and later
    /// (https://learn.microsoft.com/rest/api/storageservices/create-service-sas): permissions,
    /// start, expiry, canonicalized resource, identifier, IP, protocol, version, then the five
    /// response-header overrides (rscc, rscd, rsce, rscl, rsct), newline-separated.
    pub fn string_to_sign(&self) -> String {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            self.permissions.clone(),
            o(&self.start),
            self.expiry.clone(),
            self.canonical_resource(),
            o(&self.identifier),
            o(&self.ip),
            o(&self.protocol),
            self.version().to_string(),
            o(&self.cache_control),
            o(&self.content_disposition),
            o(&self.content_encoding),
            o(&self.content_language),
            o(&self.content_type),
        ]
        .join("\n")
    }

    /// The query string (without `?`).
    pub fn token(&self, key: &SharedKey) -> String {
        let sig = key.sign_raw(&self.string_to_sign());
        let enc = |s: &str| utf8_percent_encode(s, QUERY_SET).to_string();
        let mut q = vec![format!("sv={}", enc(self.version()))];
        let mut opt = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push(format!("{name}={}", enc(v)));
            }
        };
        opt("spr", &self.protocol);
        opt("st", &self.start);
        q.push(format!("se={}", enc(&self.expiry)));
        q.push(format!("sr={}", self.signed_resource()));
        q.push(format!("sp={}", enc(&self.permissions)));
        let mut opt = |name: &str, v: &Option<String>| {
            if let Some(v) = v {
                q.push(format!("{name}={}", enc(v)));
            }
        };
        opt("si", &self.identifier);
        opt("sip", &self.ip);
        opt("rscc", &self.cache_control);
        opt("rscd", &self.content_disposition);
        opt("rsce", &self.content_encoding);
        opt("rscl", &self.content_language);
        opt("rsct", &self.content_type);
        q.push(format!("sig={}", enc(&sig)));
        q.join("&")
    }

    /// Server side: is `sig` this SAS's signature under `key`? (Constant-time compare.)
    pub fn verify(&self, key: &SharedKey, sig: &str) -> bool {
        key.verify_raw(&self.string_to_sign(), sig)
    }
}

/// An account SAS (`ss`, `srt`), signed with the account key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountSas {
    pub account: String,
    /// `sp`, e.g. `rwdlc`.
    pub permissions: String,
    /// `ss`, e.g. `f` or `bf`.
    pub services: String,
    /// `srt`, e.g. `sco`.
    pub resource_types: String,
    pub start: Option<String>,
    pub expiry: String,
    pub ip: Option<String>,
    pub protocol: Option<String>,
    /// `sv` (required in an account SAS).
    pub version: String,
    /// `ses` (versions 2020-12-06 and later).
    pub encryption_scope: Option<String>,
}

impl AccountSas {
    /// String to sign of an account SAS
    /// (https://learn.microsoft.com/rest/api/storageservices/create-account-sas): account,
    /// permissions, services, resource types, start, expiry, IP, protocol, version, each
    /// followed by a newline; from version 2020-12-06 on also the encryption scope and a newline.
    pub fn string_to_sign(&self) -> String {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        let mut s = [
            self.account.clone(),
            self.permissions.clone(),
            self.services.clone(),
            self.resource_types.clone(),
            o(&self.start),
            self.expiry.clone(),
            o(&self.ip),
            o(&self.protocol),
            self.version.clone(),
        ]
        .join("\n");
        s.push('\n');
        // Versions are ISO dates, so string order is time order.
        if self.version.as_str() >= "2020-12-06" {
            s.push_str(&o(&self.encryption_scope));
            s.push('\n');
        }
        s
    }

    /// Server side: is `sig` this SAS's signature under `key`? (Constant-time compare.)
    pub fn verify(&self, key: &SharedKey, sig: &str) -> bool {
        key.verify_raw(&self.string_to_sign(), sig)
    }
}

/// UTC time `secs` from now in the SAS form `YYYY-MM-DDThh:mm:ssZ`.
pub fn sas_time(offset_secs: i64) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    (time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs)).format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_sas_string_to_sign_has_sixteen_fields() {
        let sas = ServiceSas {
            account: "acct".into(),
            container: "c1".into(),
            blob: None,
            permissions: "racwdl".into(),
            start: Some("2026-01-01T00:00:00Z".into()),
            expiry: "2026-01-02T00:00:00Z".into(),
            protocol: None,
        };
        assert_eq!(
            sas.string_to_sign(),
            "racwdl\n2026-01-01T00:00:00Z\n2026-01-02T00:00:00Z\n/blob/acct/c1\n\n\n\n2021-12-02\nc\n\n\n\n\n\n\n"
        );
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let tok = sas.token(&key);
        assert!(tok.starts_with("sv=2021-12-02&st=2026-01-01T00%3A00%3A00Z&se=2026-01-02T00%3A00%3A00Z&sr=c&sp=racwdl&sig="));
        assert!(!tok.contains('+') && !tok.contains('/'), "signature must be percent-encoded");
    }

    #[test]
    fn file_sas_string_to_sign_has_thirteen_fields() {
        let sas = FileSas {
            account: "acct".into(),
            share: "share1".into(),
            file_path: Some("Users/zoë/a.ipynb".into()),
            permissions: "r".into(),
            expiry: "2026-01-02T00:00:00Z".into(),
            version: "2026-02-06".into(),
            ..Default::default()
        };
        assert_eq!(
            sas.string_to_sign(),
            "r\n\n2026-01-02T00:00:00Z\n/file/acct/share1/Users/zoë/a.ipynb\n\n\n\n2026-02-06\n\n\n\n\n"
        );
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let tok = sas.token(&key);
        assert!(tok.starts_with("sv=2026-02-06&se=2026-01-02T00%3A00%3A00Z&sr=f&sp=r&sig="), "{tok}");
        let sig = key.sign_raw(&sas.string_to_sign());
        assert!(sas.verify(&key, &sig));
        let share = FileSas { file_path: None, ..sas.clone() };
        assert_eq!(share.canonical_resource(), "/file/acct/share1");
        assert!(!share.verify(&key, &sig), "scope is signed");
    }

    #[test]
    fn account_sas_string_to_sign_depends_on_version() {
        let mut sas = AccountSas {
            account: "acct".into(),
            permissions: "rl".into(),
            services: "f".into(),
            resource_types: "sco".into(),
            expiry: "2026-01-02T00:00:00Z".into(),
            version: "2026-02-06".into(),
            ..Default::default()
        };
        assert_eq!(sas.string_to_sign(), "acct\nrl\nf\nsco\n\n2026-01-02T00:00:00Z\n\n\n2026-02-06\n\n");
        sas.version = "2019-02-02".into();
        assert_eq!(sas.string_to_sign(), "acct\nrl\nf\nsco\n\n2026-01-02T00:00:00Z\n\n\n2019-02-02\n");
    }
}
