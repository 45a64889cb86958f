//! Keeping secrets out of everything the tool prints or writes.

use url::Url;

/// Query parameters that carry secrets (SAS signatures, tokens, codes).
const SECRET_PARAMS: &[&str] = &["sig", "signature", "token", "code", "client_secret", "access_token"];

/// A URL fit for logs, reports and error messages: secret query values replaced by `REDACTED`,
/// user info removed.
pub fn url(u: &Url) -> String {
    let mut u = u.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
                (k.into_owned(), if secret { "REDACTED".to_string() } else { v.into_owned() })
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.to_string()
}

/// Like [`url`] for a string that may not parse; unparsable input is cut at `?`.
pub fn url_str(s: &str) -> String {
    match Url::parse(s) {
        Ok(u) => url(&u),
        Err(_) => s.split('?').next().unwrap_or_default().to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sas_signature_is_removed() {
        let s = super::url_str("https://a.blob.core.windows.net/c/b?sv=2021-12-02&sp=r&sig=abc%2Fdef%3D");
        assert!(!s.contains("abc"), "{s}");
        assert!(s.contains("sig=REDACTED") && s.contains("sp=r"), "{s}");
        assert_eq!(super::url_str("not a url?sig=x"), "not a url");
    }
}
