//! Azure Storage Shared Key authorization, as the Blob and File services define it
//! (`Authorization: SharedKey <account>:<signature>`, service versions 2015-02-21 and later).
//!
//! One implementation serves both sides of the test bed: the tool signs requests with it,
//! and the emulator's Azure Files service checks incoming signatures with it.
//!
//! The signature is HMAC-SHA256 over the "string to sign", keyed with the base64-decoded
//! account key:
//!
//! ```text
//! VERB \n Content-Encoding \n Content-Language \n Content-Length (empty when 0) \n
//! Content-MD5 \n Content-Type \n Date \n If-Modified-Since \n If-Match \n
//! If-None-Match \n If-Unmodified-Since \n Range \n CanonicalizedHeaders CanonicalizedResource
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

pub mod sas;

type HmacSha256 = Hmac<Sha256>;

/// RFC 1123 date as `x-ms-date` wants it (`Thu, 26 Nov 2026 10:00:00 GMT`).
pub fn httpdate_now() -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::OffsetDateTime::now_utc().format(&fmt).expect("formats")
}

/// An account name and its decoded key. `Debug` never shows the key.
#[derive(Clone)]
pub struct SharedKey {
    account: String,
    key: Vec<u8>,
}

impl fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("account", &self.account)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// The account key was not valid base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidKey;

impl fmt::Display for InvalidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("storage account key is not valid base64 (copy it again from the portal or `az storage account keys list`)")
    }
}
impl std::error::Error for InvalidKey {}

impl SharedKey {
    /// `key_b64` is the account key as Azure shows it (base64).
    pub fn new(account: impl Into<String>, key_b64: &str) -> Result<Self, InvalidKey> {
        let key = B64.decode(key_b64.trim()).map_err(|_| InvalidKey)?;
        Ok(Self { account: account.into(), key })
    }

    pub fn account(&self) -> &str {
        &self.account
    }

    /// The value for the `Authorization` header: `SharedKey <account>:<signature>`.
    ///
    /// `headers` are the request headers as they will be sent (any case); `x-ms-date`
    /// (or `Date`) and `x-ms-version` must already be among them.
    pub fn authorization<'a, I>(&self, method: &str, url: &url::Url, headers: I) -> String
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        format!("SharedKey {}:{}", self.account, self.signature(method, url, headers))
    }

    /// The base64 signature over [`string_to_sign`].
    pub fn signature<'a, I>(&self, method: &str, url: &url::Url, headers: I) -> String
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let sts = string_to_sign(&self.account, method, url, headers);
        self.sign_raw(&sts)
    }

    /// HMAC-SHA256 of an arbitrary string with the account key, base64-encoded
    /// (also the primitive behind account and service SAS signatures).
    pub fn sign_raw(&self, string_to_sign: &str) -> String {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(string_to_sign.as_bytes());
        B64.encode(mac.finalize().into_bytes())
    }

    /// Server side: is `signature_b64` the HMAC-SHA256 of `string_to_sign` with this key?
    /// Compared in constant time (SAS `sig` checks).
    pub fn verify_raw(&self, string_to_sign: &str, signature_b64: &str) -> bool {
        let Ok(given) = B64.decode(signature_b64.trim()) else { return false };
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&given).is_ok()
    }

    /// Server side: does `authorization` (the header value) carry a valid signature
    /// for this request? Compared in constant time.
    pub fn verify<'a, I>(&self, authorization: &str, method: &str, url: &url::Url, headers: I) -> bool
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let Some(rest) = authorization.strip_prefix("SharedKey ") else { return false };
        let Some((account, sig)) = rest.split_once(':') else { return false };
        if account != self.account {
            return false;
        }
        let Ok(given) = B64.decode(sig.trim()) else { return false };
        let sts = string_to_sign(&self.account, method, url, headers);
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(sts.as_bytes());
        mac.verify_slice(&given).is_ok()
    }
}

/// The Shared Key string to sign for the Blob, Queue and File services.
///
/// The canonicalized resource is `/<account><path as sent>` followed by each query
/// parameter, lower-cased name, sorted, `\nname:v1,v2`. With path-style emulator URLs
/// (`http://127.0.0.1:port/<account>/...`) the account therefore appears twice, which is
/// what Azurite expects.
pub fn string_to_sign<'a, I>(account: &str, method: &str, url: &url::Url, headers: I) -> String
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let mut std_headers: [&str; 11] = [""; 11];
    const NAMES: [&str; 11] = [
        "content-encoding",
        "content-language",
        "content-length",
        "content-md5",
        "content-type",
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ];
    let mut ms: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let lname = name.to_ascii_lowercase();
        if lname.starts_with("x-ms-") {
            ms.push((lname, value.trim().to_string()));
        } else if let Some(i) = NAMES.iter().position(|n| *n == lname) {
            std_headers[i] = value;
        }
    }
    // Content-Length is empty when zero (service version 2015-02-21 and later).
    if std_headers[2] == "0" {
        std_headers[2] = "";
    }
    ms.sort();
    let mut out = String::with_capacity(256);
    out.push_str(&method.to_ascii_uppercase());
    out.push('\n');
    for v in std_headers {
        out.push_str(v);
        out.push('\n');
    }
    for (n, v) in &ms {
        out.push_str(n);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('/');
    out.push_str(account);
    out.push_str(url.path());
    let mut params: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (k, v) in url.query_pairs() {
        params.entry(k.to_ascii_lowercase()).or_default().push(v.into_owned());
    }
    for (k, mut vs) in params {
        vs.sort();
        out.push('\n');
        out.push_str(&k);
        out.push(':');
        out.push_str(&vs.join(","));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // The well-known Azurite development key.
    const DEV_KEY: &str =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    #[test]
    fn string_to_sign_layout() {
        let url = url::Url::parse("http://127.0.0.1:10000/devstoreaccount1/c1/a%20b.txt?comp=block&blockid=QQ%3D%3D&Comp=x").unwrap();
        let sts = string_to_sign(
            "devstoreaccount1",
            "put",
            &url,
            [
                ("Content-Length", "0"),
                ("x-ms-version", "2025-01-05"),
                ("X-MS-Date", "Thu, 26 Nov 2026 10:00:00 GMT"),
                ("Content-Type", "application/octet-stream"),
            ],
        );
        assert_eq!(
            sts,
            "PUT\n\n\n\n\napplication/octet-stream\n\n\n\n\n\n\n\
             x-ms-date:Thu, 26 Nov 2026 10:00:00 GMT\nx-ms-version:2025-01-05\n\
             /devstoreaccount1/devstoreaccount1/c1/a%20b.txt\nblockid:QQ==\ncomp:block,x"
        );
    }

    #[test]
    fn verify_accepts_own_signature_and_rejects_tampering() {
        let k = SharedKey::new("devstoreaccount1", DEV_KEY).unwrap();
        let url = url::Url::parse("http://127.0.0.1:1/devstoreaccount1/share?restype=share").unwrap();
        let h = [("x-ms-date", "Thu, 26 Nov 2026 10:00:00 GMT"), ("x-ms-version", "2027-03-07")];
        let auth = k.authorization("PUT", &url, h);
        assert!(k.verify(&auth, "PUT", &url, h));
        assert!(!k.verify(&auth, "DELETE", &url, h));
        let other = url::Url::parse("http://127.0.0.1:1/devstoreaccount1/share2?restype=share").unwrap();
        assert!(!k.verify(&auth, "PUT", &other, h));
        assert!(!k.verify("Bearer x", "PUT", &url, h));
    }

    #[test]
    fn bad_key_is_an_error_and_debug_hides_key() {
        assert_eq!(SharedKey::new("a", "not base64!!").unwrap_err(), InvalidKey);
        let k = SharedKey::new("acct", DEV_KEY).unwrap();
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("Eby8"), "{dbg}");
    }
}
