//! Curated environments: Azure ML answers `azureml:AzureML-<name>[:<version>|@latest]` in every
//! workspace with the curated environment Microsoft maintains (`environmentType: Curated`), so
//! `az ml` resolves such a reference without the user registering anything. The emulator keeps
//! the ones Microsoft's azureml-examples name, read-only, answered by the container and version
//! GETs of any workspace (not listed, not copied: every workspace has them).

use serde_json::{json, Value};

/// Name, latest version, image.
const CURATED: &[(&str, &str, &str)] = &[
    ("AzureML-sklearn-1.5", "30", "mcr.microsoft.com/azureml/curated/sklearn-1.5:30"),
    ("AzureML-tensorflow-2.16-cuda12", "13", "mcr.microsoft.com/azureml/curated/tensorflow-2.16-cuda12:13"),
    ("AzureML-ACPT-pytorch-1.13-py38-cuda11.7-gpu", "10", "mcr.microsoft.com/azureml/curated/acpt-pytorch-1.13-py38-cuda11.7-gpu:10"),
];

/// Whether `name` is reserved for curated environments (users cannot register it).
pub fn is_curated_name(name: &str) -> bool {
    name.starts_with("AzureML-")
}

fn find(name: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    CURATED.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(name))
}

/// The container resource of curated environment `name` in workspace `ws_id`.
pub fn container(ws_id: &str, name: &str) -> Option<Value> {
    let (n, latest, _) = find(name)?;
    Some(json!({
        "id": format!("{ws_id}/environments/{n}"),
        "name": n,
        "type": "Microsoft.MachineLearningServices/workspaces/environments",
        "properties": {"description": "Curated environment (Microsoft)", "tags": {}, "properties": {}, "isArchived": false,
            "latestVersion": latest, "nextVersion": null, "provisioningState": "Succeeded"},
    }))
}

/// The version resource of curated environment `name` (only its latest version is kept).
pub fn version(ws_id: &str, name: &str, version: &str) -> Option<Value> {
    let (n, latest, image) = find(name)?;
    (version == *latest).then(|| {
        json!({
            "id": format!("{ws_id}/environments/{n}/versions/{latest}"),
            "name": latest,
            "type": "Microsoft.MachineLearningServices/workspaces/environments/versions",
            "properties": {"description": "Curated environment (Microsoft)", "tags": {}, "properties": {}, "isArchived": false, "isAnonymous": false,
                "environmentType": "Curated", "image": image, "osType": "Linux", "autoRebuild": "Disabled", "provisioningState": "Succeeded"},
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curated_environments_answer_their_latest_version() {
        let c = container("/ws", "AzureML-sklearn-1.5").unwrap();
        let latest = c["properties"]["latestVersion"].as_str().unwrap();
        assert_eq!(version("/ws", "AzureML-sklearn-1.5", latest).unwrap()["properties"]["environmentType"], "Curated");
        assert!(version("/ws", "AzureML-sklearn-1.5", "1").is_none() && container("/ws", "sklearn").is_none());
        assert!(is_curated_name("AzureML-x") && !is_curated_name("azureml_x"));
    }
}
