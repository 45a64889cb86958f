//! Local references of a job or component YAML, resolved the way `az ml` resolves them before it
//! creates anything (azure-ai-ml `JobOperations._resolve_job_input` and
//! `_upload_and_generate_remote_uri`): an input whose `path` is a local file or folder is
//! uploaded to the workspace's default blob datastore under `LocalUpload/<hash>/<name>` and the
//! input then names `azureml://datastores/<datastore>/paths/LocalUpload/<hash>/<name>` (with a
//! trailing `/` for a `uri_folder`). Pure functions: the caller reads, uploads (verified) and
//! registers.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// An input of a job (or of one of its steps) whose `path` is local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalInput {
    /// JSON pointer to the input object (`/inputs/data`, `/jobs/train/inputs/data`).
    pub pointer: String,
    /// How the YAML names it, for messages (`jobs.train.inputs.data.path`).
    pub field: String,
    /// The path as written (a `file:` prefix removed).
    pub path: String,
    /// The input's `type:` (`uri_folder` when absent, as az ml defaults).
    pub input_type: String,
}

/// Whether an input `path` names local files: not a URL, not an `azureml:` reference or ARM id,
/// not a binding (`${{...}}`), not an asset reference (`name:version`, `name@latest`) — the
/// order azure-ai-ml tests them in.
pub fn is_local_path(p: &str) -> bool {
    let p = p.trim();
    if p.is_empty() || p.contains("://") || p.starts_with("azureml:") || p.starts_with("${{") || (p.starts_with('/') && p.contains("/providers/")) {
        return false;
    }
    if let Some(rest) = p.strip_prefix("file:") {
        return !rest.is_empty();
    }
    // Absolute local paths are local; otherwise a ':' or '@' makes it an asset reference.
    p.starts_with('/') || !(p.contains(':') || p.contains('@'))
}

/// The local inputs of a job YAML: its own `inputs:` and those of its steps (`jobs.<step>.inputs`).
pub fn local_inputs(y: &Value) -> Vec<LocalInput> {
    let mut out = Vec::new();
    let mut scan = |pointer: String, field: String, inputs: Option<&Value>| {
        for (k, i) in inputs.and_then(Value::as_object).into_iter().flatten() {
            let Some(p) = i.get("path").and_then(Value::as_str).filter(|p| is_local_path(p)) else { continue };
            out.push(LocalInput {
                pointer: format!("{pointer}/inputs/{}", esc(k)),
                field: format!("{field}inputs.{k}.path"),
                path: p.strip_prefix("file:").unwrap_or(p).to_string(),
                input_type: i.get("type").and_then(Value::as_str).unwrap_or("uri_folder").to_string(),
            });
        }
    };
    scan(String::new(), String::new(), y.get("inputs"));
    for (step, j) in y.get("jobs").and_then(Value::as_object).into_iter().flatten() {
        scan(format!("/jobs/{}", esc(step)), format!("jobs.{step}."), j.get("inputs"));
    }
    out
}

/// A key as one JSON pointer segment.
pub fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

/// The upload folder of a set of local files: a hash of every file's path, size and sha256, so
/// the same files always go to the same `LocalUpload/<hash>/` (a rerun sends nothing again).
/// `files`: (path under the upload folder, size, sha256).
pub fn upload_hash<'a>(files: impl IntoIterator<Item = (&'a str, u64, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (p, size, sha) in files {
        h.update(format!("{p}\t{size}\t{sha}\n"));
    }
    hex::encode(h.finalize())[..32].to_string()
}

/// The path an uploaded local input names afterwards, as az ml writes it.
pub fn uploaded_uri(datastore: &str, hash: &str, leaf: &str, input_type: &str) -> String {
    let mut uri = format!("azureml://datastores/{datastore}/paths/LocalUpload/{hash}/{leaf}");
    if input_type == "uri_folder" && !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn local_paths_are_told_from_references() {
        for p in ["./data", "data", "../x/titanic.csv", "/abs/data", "file:./data", "data-programmer-regression/train"] {
            assert!(is_local_path(p), "{p}");
        }
        for p in [
            "azureml:iris:1",
            "azureml:iris@latest",
            "iris:1",
            "iris@latest",
            "https://a.blob.core.windows.net/c/x.csv",
            "wasbs://c@a.blob.core.windows.net/x",
            "azureml://datastores/workspaceblobstore/paths/x/",
            "${{parent.inputs.x}}",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/data/d/versions/1",
            "",
        ] {
            assert!(!is_local_path(p), "{p}");
        }
    }

    #[test]
    fn inputs_of_the_job_and_of_its_steps() {
        let y = json!({
            "inputs": {"raw": {"type": "uri_folder", "path": "./data"}, "lr": 0.1, "remote": {"type": "uri_file", "path": "https://x/y.csv"}},
            "jobs": {"prep": {"inputs": {"f": {"type": "uri_file", "path": "file:./a/b.csv"}, "m": {"path": "../model"}, "x": "${{parent.inputs.raw}}"}}}
        });
        let got = local_inputs(&y);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], LocalInput { pointer: "/inputs/raw".into(), field: "inputs.raw.path".into(), path: "./data".into(), input_type: "uri_folder".into() });
        assert_eq!(got[1].pointer, "/jobs/prep/inputs/f");
        assert_eq!(got[1].path, "./a/b.csv");
        assert_eq!(got[2].input_type, "uri_folder");
    }

    #[test]
    fn uploaded_paths_are_written_as_az_ml_writes_them() {
        assert_eq!(uploaded_uri("workspaceblobstore", "abc", "data", "uri_folder"), "azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/data/");
        assert_eq!(uploaded_uri("workspaceblobstore", "abc", "t.csv", "uri_file"), "azureml://datastores/workspaceblobstore/paths/LocalUpload/abc/t.csv");
        assert_eq!(uploaded_uri("ds", "abc", "m", "mlflow_model"), "azureml://datastores/ds/paths/LocalUpload/abc/m");
        let a = upload_hash([("data/a", 1, "x")]);
        assert_eq!(a.len(), 32);
        assert_ne!(a, upload_hash([("data/a", 2, "x")]));
    }
}
