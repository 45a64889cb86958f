//! Azure clouds and their endpoints. Sovereign clouds and the local emulator are just
//! other endpoint sets: every endpoint can be overridden.

use crate::error::{Error, Result};
use url::Url;

/// The endpoints the tool talks to in one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    /// Display name (`AzureCloud`, `AzureChinaCloud`, `AzureUSGovernment`, or `Custom`).
    pub name: String,
    /// Azure Resource Manager, e.g. `https://management.azure.com`.
    pub resource_manager: Url,
    /// Entra ID authority host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: Url,
    /// Token scope for ARM, e.g. `https://management.azure.com/.default`.
    pub arm_scope: String,
    /// Storage DNS suffix, e.g. `core.windows.net`.
    pub storage_suffix: String,
    /// Blob endpoint of an account. `{account}` is replaced by the account name; the default is
    /// `https://{account}.blob.<suffix>`. The emulator uses path-style `http://127.0.0.1:PORT/{account}`.
    pub blob_endpoint_template: String,
    /// File service endpoint of an account, like `blob_endpoint_template`
    /// (default `https://{account}.file.<suffix>`).
    pub file_endpoint_template: String,
}

/// Names accepted by `--cloud`, as `az cloud list` spells them.
pub const CLOUD_NAMES: &[&str] = &["AzureCloud", "AzureChinaCloud", "AzureUSGovernment"];

/// Overrides given on the command line or in the environment.
#[derive(Debug, Clone, Default)]
pub struct CloudOverrides {
    pub resource_manager: Option<String>,
    pub authority_host: Option<String>,
    pub arm_scope: Option<String>,
    pub storage_suffix: Option<String>,
    pub blob_endpoint: Option<String>,
    pub file_endpoint: Option<String>,
}

impl Cloud {
    /// Resolves a cloud name (case-insensitive; `None` means AzureCloud) plus overrides.
    pub fn resolve(name: Option<&str>, o: &CloudOverrides) -> Result<Cloud> {
        let (cname, rm, auth, suffix) = match name.unwrap_or("AzureCloud").to_ascii_lowercase().as_str() {
            "azurecloud" | "public" | "azurepubliccloud" => {
                ("AzureCloud", "https://management.azure.com", "https://login.microsoftonline.com", "core.windows.net")
            }
            "azurechinacloud" | "china" => (
                "AzureChinaCloud",
                "https://management.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
                "core.chinacloudapi.cn",
            ),
            "azureusgovernment" | "usgov" | "usgovernment" => (
                "AzureUSGovernment",
                "https://management.usgovcloudapi.net",
                "https://login.microsoftonline.us",
                "core.usgovcloudapi.net",
            ),
            other => {
                return Err(Error::usage(format!(
                    "unknown cloud '{other}': use one of {} (or keep the default and point --resource-manager-endpoint, --authority-host and --blob-endpoint at a custom cloud)",
                    CLOUD_NAMES.join(", ")
                )))
            }
        };
        let custom = o.resource_manager.is_some() || o.authority_host.is_some() || o.blob_endpoint.is_some() || o.file_endpoint.is_some();
        let resource_manager = parse_endpoint("--resource-manager-endpoint", o.resource_manager.as_deref().unwrap_or(rm))?;
        let authority_host = parse_endpoint("--authority-host", o.authority_host.as_deref().unwrap_or(auth))?;
        let storage_suffix = o.storage_suffix.clone().unwrap_or_else(|| suffix.to_string());
        let arm_scope = o.arm_scope.clone().unwrap_or_else(|| {
            format!("{}/.default", resource_manager.as_str().trim_end_matches('/'))
        });
        let template = |flag: &str, given: &Option<String>, service: &str| -> Result<String> {
            match given {
                Some(t) => {
                    if !t.contains("{account}") {
                        return Err(Error::usage(format!(
                            "{flag} '{t}' has no {{account}} placeholder: write it like https://{{account}}.{service}.core.windows.net or http://127.0.0.1:10000/{{account}}"
                        )));
                    }
                    parse_endpoint(flag, &t.replace("{account}", "account"))?;
                    Ok(t.trim_end_matches('/').to_string())
                }
                None => Ok(format!("https://{{account}}.{service}.{storage_suffix}")),
            }
        };
        let blob_endpoint_template = template("--blob-endpoint", &o.blob_endpoint, "blob")?;
        let file_endpoint_template = template("--file-endpoint", &o.file_endpoint, "file")?;
        Ok(Cloud {
            name: if custom { "Custom".to_string() } else { cname.to_string() },
            resource_manager,
            authority_host,
            arm_scope,
            storage_suffix,
            blob_endpoint_template,
            file_endpoint_template,
        })
    }

    /// The file service URL of a storage account (`secondary`: the RA-GRS read endpoint).
    pub fn file_account_url(&self, account: &str, secondary: bool) -> Result<Url> {
        account_url(&self.file_endpoint_template, "file", account, secondary)
    }

    /// The blob service URL of a storage account. `secondary` gives the RA-GRS read-only
    /// endpoint (`<account>-secondary`), which serves the primary's data when its region is down.
    pub fn blob_account_url(&self, account: &str, secondary: bool) -> Result<Url> {
        account_url(&self.blob_endpoint_template, "blob", account, secondary)
    }
}

fn account_url(template: &str, service: &str, account: &str, secondary: bool) -> Result<Url> {
    let name = if secondary { format!("{account}-secondary") } else { account.to_string() };
    let s = template.replace("{account}", &name);
    Url::parse(&s).map_err(|e| Error::usage(format!("{service} endpoint '{s}' is not a URL: {e}")))
}

fn parse_endpoint(flag: &str, s: &str) -> Result<Url> {
    let u = Url::parse(s).map_err(|e| Error::usage(format!("{flag} '{s}' is not a URL ({e}): give it like https://management.azure.com")))?;
    if u.scheme() != "https" && u.scheme() != "http" {
        return Err(Error::usage(format!("{flag} '{s}' must be an http(s) URL")));
    }
    Ok(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_clouds_resolve() {
        let c = Cloud::resolve(None, &CloudOverrides::default()).unwrap();
        assert_eq!(c.resource_manager.as_str(), "https://management.azure.com/");
        assert_eq!(c.arm_scope, "https://management.azure.com/.default");
        assert_eq!(c.blob_account_url("sa", false).unwrap().as_str(), "https://sa.blob.core.windows.net/");
        assert_eq!(c.blob_account_url("sa", true).unwrap().as_str(), "https://sa-secondary.blob.core.windows.net/");
        let cn = Cloud::resolve(Some("azurechinacloud"), &CloudOverrides::default()).unwrap();
        assert_eq!(cn.name, "AzureChinaCloud");
        assert!(cn.blob_endpoint_template.ends_with("core.chinacloudapi.cn"));
        let gov = Cloud::resolve(Some("AzureUSGovernment"), &CloudOverrides::default()).unwrap();
        assert_eq!(gov.authority_host.host_str(), Some("login.microsoftonline.us"));
    }

    #[test]
    fn unknown_cloud_names_the_choices() {
        let e = Cloud::resolve(Some("AzureMoon"), &CloudOverrides::default()).unwrap_err();
        assert!(matches!(e, Error::Usage(_)));
        assert!(e.to_string().contains("AzureCloud, AzureChinaCloud, AzureUSGovernment"), "{e}");
    }

    #[test]
    fn emulator_endpoints_are_custom() {
        let o = CloudOverrides {
            resource_manager: Some("https://127.0.0.1:8443".into()),
            authority_host: Some("https://127.0.0.1:8443".into()),
            blob_endpoint: Some("http://127.0.0.1:10000/{account}".into()),
            ..Default::default()
        };
        let c = Cloud::resolve(None, &o).unwrap();
        assert_eq!(c.name, "Custom");
        assert_eq!(c.blob_account_url("sa", true).unwrap().as_str(), "http://127.0.0.1:10000/sa-secondary");
        let bad = CloudOverrides { blob_endpoint: Some("http://127.0.0.1:10000".into()), ..Default::default() };
        assert!(Cloud::resolve(None, &bad).unwrap_err().to_string().contains("{account}"));
    }
}
