//! Workspace references: an Azure ML `config.json`, an ARM resource id, or a name plus
//! `--subscription` / `--resource-group` (the flags `az ml` uses).

use crate::error::{Error, Result};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// A fully resolved workspace coordinate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub workspace_name: String,
}

impl WorkspaceRef {
    /// `/subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<w>`
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.subscription_id, self.resource_group, self.workspace_name
        )
    }
}

impl fmt::Display for WorkspaceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.subscription_id, self.resource_group, self.workspace_name)
    }
}

/// Defaults that complete a bare workspace name.
#[derive(Debug, Clone, Default)]
pub struct RefDefaults {
    pub subscription: Option<String>,
    pub resource_group: Option<String>,
}

/// The `config.json` that Azure ML Studio offers for download and `MLClient.from_config` reads.
#[derive(Debug, Deserialize)]
struct ConfigJson {
    #[serde(alias = "subscriptionId")]
    subscription_id: Option<String>,
    #[serde(alias = "resourceGroup", alias = "resource_group_name")]
    resource_group: Option<String>,
    #[serde(alias = "workspaceName")]
    workspace_name: Option<String>,
    /// Some downloads carry the ARM id instead.
    #[serde(alias = "scope", alias = "Scope")]
    scope: Option<String>,
}

/// Parses one reference. `flag` names the option it came from, for messages.
pub fn parse(flag: &str, value: &str, defaults: &RefDefaults) -> Result<WorkspaceRef> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::usage(format!("{flag} is empty: give a config.json path, an ARM id, or a workspace name")));
    }
    if v.starts_with('/') && v.to_ascii_lowercase().starts_with("/subscriptions/") {
        return parse_arm_id(flag, v);
    }
    let looks_like_file = v.ends_with(".json") || v.contains(std::path::MAIN_SEPARATOR) || Path::new(v).is_file();
    if looks_like_file {
        return parse_config_file(flag, Path::new(v));
    }
    if v.contains('/') {
        return Err(Error::usage(format!(
            "{flag} '{v}' is neither an ARM id (/subscriptions/…/workspaces/<name>) nor a config.json path nor a workspace name"
        )));
    }
    let sub = defaults.subscription.clone().ok_or_else(|| {
        Error::usage(format!("{flag} '{v}' is a workspace name: also give --subscription (or AZURE_SUBSCRIPTION_ID), or use an ARM id or config.json"))
    })?;
    let rg = defaults.resource_group.clone().ok_or_else(|| {
        Error::usage(format!("{flag} '{v}' is a workspace name: also give --resource-group/-g, or use an ARM id or config.json"))
    })?;
    Ok(WorkspaceRef { subscription_id: sub, resource_group: rg, workspace_name: v.to_string() })
}

fn parse_arm_id(flag: &str, v: &str) -> Result<WorkspaceRef> {
    let parts: Vec<&str> = v.trim_matches('/').split('/').collect();
    let bad = || {
        Error::usage(format!(
            "{flag} '{v}' is not a workspace ARM id: expected /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>"
        ))
    };
    if parts.len() != 8
        || !parts[0].eq_ignore_ascii_case("subscriptions")
        || !parts[2].eq_ignore_ascii_case("resourcegroups")
        || !parts[4].eq_ignore_ascii_case("providers")
        || !parts[5].eq_ignore_ascii_case("Microsoft.MachineLearningServices")
        || !parts[6].eq_ignore_ascii_case("workspaces")
        || parts.iter().any(|p| p.is_empty())
    {
        return Err(bad());
    }
    Ok(WorkspaceRef {
        subscription_id: parts[1].to_string(),
        resource_group: parts[3].to_string(),
        workspace_name: parts[7].to_string(),
    })
}

fn parse_config_file(flag: &str, path: &Path) -> Result<WorkspaceRef> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::usage(format!("{flag}: cannot read config file {}: {e} (download it from the workspace's page in Azure ML Studio)", path.display()))
    })?;
    let c: ConfigJson = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{flag}: {} is not an Azure ML config.json: {e}", path.display())))?;
    if let Some(scope) = &c.scope {
        if c.subscription_id.is_none() {
            return parse_arm_id(flag, scope);
        }
    }
    match (c.subscription_id, c.resource_group, c.workspace_name) {
        (Some(s), Some(g), Some(w)) if !s.is_empty() && !g.is_empty() && !w.is_empty() => {
            Ok(WorkspaceRef { subscription_id: s, resource_group: g, workspace_name: w })
        }
        _ => Err(Error::usage(format!(
            "{flag}: {} lacks subscription_id, resource_group or workspace_name",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.MachineLearningServices/workspaces/ws1";

    #[test]
    fn arm_id_round_trips() {
        let r = parse("--from", ID, &RefDefaults::default()).unwrap();
        assert_eq!(r.workspace_name, "ws1");
        assert_eq!(r.arm_id(), ID);
        let lower = ID.to_ascii_lowercase();
        assert_eq!(parse("--from", &lower, &RefDefaults::default()).unwrap().resource_group, "rg1");
    }

    #[test]
    fn wrong_arm_id_says_the_expected_form() {
        let e = parse("--from", "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Storage/storageAccounts/x", &RefDefaults::default())
            .unwrap_err();
        assert!(e.to_string().contains("expected /subscriptions/<id>/resourceGroups/<rg>"), "{e}");
    }

    #[test]
    fn name_needs_subscription_and_group() {
        let e = parse("--to", "ws2", &RefDefaults::default()).unwrap_err();
        assert!(e.to_string().contains("--subscription"), "{e}");
        let d = RefDefaults { subscription: Some("s".into()), resource_group: Some("g".into()) };
        assert_eq!(parse("--to", "ws2", &d).unwrap().to_string(), "s/g/ws2");
    }

    #[test]
    fn config_json_forms() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, r#"{"subscription_id":"s","resource_group":"g","workspace_name":"w"}"#).unwrap();
        assert_eq!(parse("--from", p.to_str().unwrap(), &RefDefaults::default()).unwrap().to_string(), "s/g/w");
        std::fs::write(&p, format!(r#"{{"Scope":"{ID}"}}"#)).unwrap();
        assert_eq!(parse("--from", p.to_str().unwrap(), &RefDefaults::default()).unwrap().workspace_name, "ws1");
        std::fs::write(&p, r#"{"subscription_id":"s"}"#).unwrap();
        assert!(parse("--from", p.to_str().unwrap(), &RefDefaults::default()).unwrap_err().to_string().contains("lacks"));
        let missing = dir.path().join("nope.json");
        assert!(parse("--from", missing.to_str().unwrap(), &RefDefaults::default()).unwrap_err().to_string().contains("cannot read"));
    }
}
