//! Models: a versioned asset whose files (`modelUri`: a file or a folder) are copied and
//! compared by sha256; recorded as an `azureml://datastores/…` URI; `az ml` YAML `model.yml`.

use super::kind::{AssetKind, Kind, Names};

pub use super::yaml::MODEL_SCHEMA;

pub struct Model;

impl AssetKind for Model {
    fn kind(&self) -> Kind {
        Kind::Model
    }
    fn names(&self) -> &'static Names {
        &Names { name: "model", plural: "models", aliases: &["models", "model"], segment: "models" }
    }
    fn location_pointer(&self) -> Option<&'static str> {
        Some("/modelUri")
    }
    fn recorded_as_datastore_uri(&self) -> bool {
        true
    }
    fn yaml_file(&self) -> Option<&'static str> {
        Some("model.yml")
    }
    fn schema(&self) -> Option<&'static str> {
        Some(MODEL_SCHEMA)
    }
}

#[cfg(test)]
mod tests {
    use super::super::AssetItem;
    use super::*;
    use serde_json::json;

    #[test]
    fn a_model_moves_its_files_and_keeps_its_spec() {
        let item = AssetItem {
            kind: Kind::Model,
            name: "m".into(),
            version: "1".into(),
            properties: json!({"modelUri": "azureml://datastores/workspaceblobstore/paths/m/model.pkl", "modelType": "custom_model", "provisioningState": "Succeeded"}),
            container: Default::default(),
            content: None,
        };
        assert_eq!(item.location(), Some("azureml://datastores/workspaceblobstore/paths/m/model.pkl"));
        assert_eq!(item.portable_properties(), json!({"modelType": "custom_model"}));
        assert_eq!(item.properties_with_location(Some("azureml://x"))["modelUri"], "azureml://x");
        assert!(Model.versioned() && Model.dependencies(&item.properties).is_empty());
        assert_eq!(Kind::Model.to_string(), "model");
    }
}
