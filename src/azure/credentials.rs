//! Credentials for the control plane (and bearer-token storage access).
//!
//! `auto` tries, in order: a static bearer token from `AML_FAILOVER_ACCESS_TOKEN` (air-gapped
//! and test use), an environment service principal (`AZURE_TENANT_ID` + `AZURE_CLIENT_ID` +
//! `AZURE_CLIENT_SECRET`), workload identity (`AZURE_FEDERATED_TOKEN_FILE`), managed identity
//! (when the hosting environment announces it through `IDENTITY_ENDPOINT`/`MSI_ENDPOINT`, or
//! when asked for with `--auth managed-identity` — the tool never probes the instance metadata
//! service on its own, which would stall for seconds on machines that are not in Azure), and
//! the Azure CLI login. The first that yields a token is kept for the rest of the run.
//!
//! All but the static token come from Microsoft's `azure_identity` crate; its HTTP pipeline
//! uses the tool's own HTTP client so extra CA certificates apply to token requests too.

use crate::error::{Error, Result};
use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Transport};
use azure_identity::{
    AzureCliCredential, ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
    ManagedIdentityCredentialOptions, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Environment variable holding a static bearer token.
pub const ENV_ACCESS_TOKEN: &str = "AML_FAILOVER_ACCESS_TOKEN";

/// `--auth`: which credential to use (clap parses it, ignoring case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMethod {
    Auto,
    Token,
    #[value(alias = "sp")]
    ServicePrincipal,
    WorkloadIdentity,
    #[value(alias = "msi")]
    ManagedIdentity,
    #[value(alias = "cli")]
    AzureCli,
}

impl AuthMethod {
}

enum Source {
    Static(String),
    Identity { name: &'static str, cred: Arc<dyn TokenCredential> },
}

/// Hands out bearer tokens for one scope; caches the credential that worked.
pub struct TokenProvider {
    candidates: Vec<Source>,
    chosen: Mutex<Option<usize>>,
    /// Why candidates were skipped before any was tried (for the final error message).
    skipped: Vec<String>,
}

impl std::fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenProvider").field("candidates", &self.candidates.len()).finish_non_exhaustive()
    }
}

/// Reads an environment variable, treating empty as unset.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl TokenProvider {
    /// Builds the chain for `method`. `http` is the tool's HTTP client (with any extra CAs);
    /// `authority_host` is the cloud's Entra ID endpoint.
    pub fn new(method: AuthMethod, http: &reqwest::Client, authority_host: &url::Url) -> Result<TokenProvider> {
        let client_options = || {
            let mut custom = CustomConfiguration::default();
            custom.authority_host = authority_host.as_str().trim_end_matches('/').to_string();
            let cloud: CloudConfiguration = custom.into();
            ClientOptions {
                transport: Some(Transport::new(Arc::new(http.clone()))),
                cloud: Some(Arc::new(cloud)),
                ..Default::default()
            }
        };
        let mut candidates = Vec::new();
        let mut skipped = Vec::new();
        let want = |m: AuthMethod| method == AuthMethod::Auto || method == m;

        if want(AuthMethod::Token) {
            match env(ENV_ACCESS_TOKEN) {
                Some(t) => candidates.push(Source::Static(t.trim().to_string())),
                None => skipped.push(format!("token: {ENV_ACCESS_TOKEN} is not set")),
            }
        }
        if want(AuthMethod::ServicePrincipal) {
            match (env("AZURE_TENANT_ID"), env("AZURE_CLIENT_ID"), env("AZURE_CLIENT_SECRET")) {
                (Some(tenant), Some(client), Some(secret)) => {
                    let opts = ClientSecretCredentialOptions { client_options: client_options() };
                    let cred = ClientSecretCredential::new(&tenant, client, Secret::new(secret), Some(opts))
                        .map_err(|e| Error::usage(format!("service principal settings are not valid: {e}")))?;
                    candidates.push(Source::Identity { name: "service principal (AZURE_CLIENT_SECRET)", cred });
                }
                _ => skipped.push(
                    "service principal: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET are not all set".into(),
                ),
            }
        }
        if want(AuthMethod::WorkloadIdentity) {
            if env("AZURE_FEDERATED_TOKEN_FILE").is_some() {
                let mut opts = WorkloadIdentityCredentialOptions::default();
                opts.credential_options.client_options = client_options();
                let cred = WorkloadIdentityCredential::new(Some(opts))
                    .map_err(|e| Error::usage(format!("workload identity settings are not valid: {e}")))?;
                candidates.push(Source::Identity { name: "workload identity", cred });
            } else {
                skipped.push("workload identity: AZURE_FEDERATED_TOKEN_FILE is not set".into());
            }
        }
        if want(AuthMethod::ManagedIdentity) {
            let announced = env("IDENTITY_ENDPOINT").is_some() || env("MSI_ENDPOINT").is_some();
            if method == AuthMethod::ManagedIdentity || announced {
                let opts = ManagedIdentityCredentialOptions { client_options: client_options(), ..Default::default() };
                let cred = ManagedIdentityCredential::new(Some(opts))
                    .map_err(|e| Error::usage(format!("managed identity is not available here: {e}")))?;
                candidates.push(Source::Identity { name: "managed identity", cred });
            } else {
                skipped.push("managed identity: not announced by the environment (use --auth managed-identity on a VM)".into());
            }
        }
        if want(AuthMethod::AzureCli) {
            let cred = AzureCliCredential::new(None)
                .map_err(|e| Error::usage(format!("Azure CLI credential unavailable: {e}")))?;
            candidates.push(Source::Identity { name: "Azure CLI", cred });
        }
        if candidates.is_empty() {
            return Err(Error::Auth(format!(
                "no credential available: {}. Fix: run `az login`, or set {ENV_ACCESS_TOKEN}, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET",
                skipped.join("; ")
            )));
        }
        Ok(TokenProvider { candidates, chosen: Mutex::new(None), skipped })
    }

    /// A bearer token for `scope`, from the first credential in the chain that gives one.
    pub async fn token(&self, scope: &str) -> Result<String> {
        let mut chosen = self.chosen.lock().await;
        let start = chosen.unwrap_or(0);
        let end = if chosen.is_some() { start + 1 } else { self.candidates.len() };
        let mut failures = self.skipped.clone();
        for i in start..end {
            match &self.candidates[i] {
                Source::Static(t) => {
                    *chosen = Some(i);
                    return Ok(t.clone());
                }
                Source::Identity { name, cred } => match cred.get_token(&[scope], None).await {
                    Ok(tok) => {
                        tracing::debug!(credential = *name, "got a token");
                        *chosen = Some(i);
                        return Ok(tok.token.secret().to_string());
                    }
                    Err(e) => failures.push(format!("{name}: {}", first_line(&e.to_string()))),
                },
            }
        }
        Err(Error::Auth(format!(
            "could not get a token for {scope}: {}. Fix: run `az login`, or set {ENV_ACCESS_TOKEN}, or AZURE_TENANT_ID/AZURE_CLIENT_ID/AZURE_CLIENT_SECRET",
            failures.join("; ")
        )))
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}
