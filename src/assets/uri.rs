//! Asset content URIs as Azure ML writes them, parsed once:
//! - `azureml://subscriptions/<s>/resourcegroups/<rg>/workspaces/<w>/datastores/<d>/paths/<p>`
//! - `azureml://datastores/<d>/paths/<p>` (relative to the asset's own workspace)
//! - `https://<account>.blob.<suffix>/<container>/<path>` (and path-style emulator URLs)

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentUri {
    Datastore { workspace: Option<(String, String, String)>, datastore: String, path: String },
    Blob { account: String, container: String, path: String },
}

impl ContentUri {
    pub fn parse(uri: &str) -> Result<ContentUri> {
        let unsupported = |why: &str| Error::Service(format!("cannot copy content from '{uri}': {why}"));
        if let Some(rest) = uri.strip_prefix("azureml://") {
            let parts: Vec<&str> = rest.split('/').collect();
            let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
            let (workspace, i) = if lower.first().map(String::as_str) == Some("subscriptions") {
                if parts.len() < 7 || lower[2] != "resourcegroups" || lower[4] != "workspaces" {
                    return Err(unsupported("not an azureml://subscriptions/…/workspaces/…/datastores/…/paths/… URI"));
                }
                (Some((parts[1].to_string(), parts[3].to_string(), parts[5].to_string())), 6)
            } else {
                (None, 0)
            };
            if lower.get(i).map(String::as_str) != Some("datastores") || lower.get(i + 2).map(String::as_str) != Some("paths") {
                return Err(unsupported("only datastore paths (…/datastores/<name>/paths/<path>) can be copied; job-output and registry URIs cannot"));
            }
            let datastore = parts.get(i + 1).filter(|s| !s.is_empty()).ok_or_else(|| unsupported("no datastore name"))?;
            let path = parts[i + 3..].join("/");
            return Ok(ContentUri::Datastore { workspace, datastore: datastore.to_string(), path: path.trim_matches('/').to_string() });
        }
        let url = url::Url::parse(uri).map_err(|_| unsupported("not a URL"))?;
        if url.scheme() != "https" && url.scheme() != "http" {
            return Err(unsupported("unsupported scheme"));
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let segs: Vec<String> = url
            .path_segments()
            .map(|s| s.map(|x| percent_encoding::percent_decode_str(x).decode_utf8_lossy().into_owned()).collect())
            .unwrap_or_default();
        // Host style: <account>.blob.<suffix>/<container>/<path>
        if let Some((account, rest)) = host.split_once('.') {
            if rest.starts_with("blob.") && !segs.is_empty() {
                return Ok(ContentUri::Blob {
                    account: account.to_string(),
                    container: segs[0].clone(),
                    path: segs[1..].join("/").trim_matches('/').to_string(),
                });
            }
        }
        // Path style (Azurite): /<account>/<container>/<path>
        if segs.len() >= 2 {
            return Ok(ContentUri::Blob {
                account: segs[0].clone(),
                container: segs[1].clone(),
                path: segs[2..].join("/").trim_matches('/').to_string(),
            });
        }
        Err(unsupported("not a blob URL"))
    }

    /// The `azureml://` datastore URI of `path` in a workspace, the form `az ml` writes.
    pub fn datastore_uri(ws: &crate::workspace::WorkspaceRef, datastore: &str, path: &str) -> String {
        format!(
            "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/{datastore}/paths/{}",
            ws.subscription_id, ws.resource_group, ws.workspace_name, path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_azure_ml_writes() {
        let u = ContentUri::parse("azureml://subscriptions/s/resourcegroups/rg/workspaces/ws/datastores/workspaceblobstore/paths/LocalUpload/abc/model.pkl").unwrap();
        assert_eq!(
            u,
            ContentUri::Datastore {
                workspace: Some(("s".into(), "rg".into(), "ws".into())),
                datastore: "workspaceblobstore".into(),
                path: "LocalUpload/abc/model.pkl".into()
            }
        );
        let u = ContentUri::parse("azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/mlflow-model/").unwrap();
        assert!(matches!(u, ContentUri::Datastore { workspace: None, ref path, .. } if path == "LocalUpload/abc/mlflow-model"));
        let u = ContentUri::parse("https://acct.blob.core.windows.net/azureml/DockerBuildContext/95dd/").unwrap();
        assert_eq!(u, ContentUri::Blob { account: "acct".into(), container: "azureml".into(), path: "DockerBuildContext/95dd".into() });
        let u = ContentUri::parse("http://127.0.0.1:10000/acct/c1/a%20b/x").unwrap();
        assert_eq!(u, ContentUri::Blob { account: "acct".into(), container: "c1".into(), path: "a b/x".into() });
    }

    #[test]
    fn job_outputs_and_registries_are_refused_with_a_reason() {
        for bad in ["azureml://jobs/j1/outputs/artifacts/paths/model/", "azureml://registries/azureml/models/x/versions/1", "runs:/abc/model", "ftp://x/y"] {
            let e = ContentUri::parse(bad).unwrap_err();
            assert!(e.to_string().contains("cannot copy content"), "{bad}: {e}");
        }
    }
}
