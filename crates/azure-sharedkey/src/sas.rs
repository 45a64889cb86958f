//! Blob service SAS (service-level shared access signatures), signed with the account key.
//! Used by the emulator (startPendingUpload) and by the tool (server-side copy sources).

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
}
