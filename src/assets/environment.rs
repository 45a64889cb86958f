//! Environments: a versioned asset that is an image (no files) or a build context
//! (`build.contextUri`, a blob folder URL) whose files are copied and compared by sha256;
//! `az ml` YAML `environment.yml`.

use super::kind::{AssetKind, Kind, Names};

pub use super::yaml::ENVIRONMENT_SCHEMA;

pub struct Environment;

/// The name `az ml` registers an inline environment under (a job's or component's
/// `environment: {image|build: ...}`), with a content hash as its version.
pub const ANONYMOUS: &str = "CliV2AnonymousEnvironment";

impl AssetKind for Environment {
    fn kind(&self) -> Kind {
        Kind::Environment
    }
    fn names(&self) -> &'static Names {
        &Names { name: "environment", plural: "environments", aliases: &["environments", "environment", "envs"], segment: "environments" }
    }
    fn location_pointer(&self) -> Option<&'static str> {
        Some("/build/contextUri")
    }
    fn yaml_file(&self) -> Option<&'static str> {
        Some("environment.yml")
    }
    fn schema(&self) -> Option<&'static str> {
        Some(ENVIRONMENT_SCHEMA)
    }
}

#[cfg(test)]
mod tests {
    use super::super::AssetItem;
    use super::*;
    use serde_json::json;

    #[test]
    fn an_image_has_no_files_and_a_build_context_has() {
        let mut item = AssetItem {
            kind: Kind::Environment,
            name: "e".into(),
            version: "1".into(),
            properties: json!({"image": "mcr.microsoft.com/azureml/base", "environmentType": "UserCreated"}),
            container: Default::default(),
            content: None,
        };
        assert_eq!(item.location(), None);
        assert_eq!(item.portable_properties(), json!({"image": "mcr.microsoft.com/azureml/base"}));
        item.properties = json!({"build": {"contextUri": "https://a.blob.core.windows.net/c/ctx/", "dockerfilePath": "Dockerfile"}});
        assert_eq!(item.location(), Some("https://a.blob.core.windows.net/c/ctx/"));
        assert!(!Environment.recorded_as_datastore_uri());
        assert_eq!(Kind::parse_list("envs").unwrap(), [Kind::Environment]);
    }
}
