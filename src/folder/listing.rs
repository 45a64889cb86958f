//! `<kind> list` (models, environments, components, data): a workspace's versions of one
//! kind as rows ([`ListedItem`]).

use super::SCHEMA_VERSION;
use crate::assets::options::ListOptions;
use crate::assets::{self, Kind, Selection};
use crate::error::Result;
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::Value;

/// What `<kind> list` found.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct ListReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["model list", "environment list", "component list", "data list"]))]
    pub command: String,
    /// ARM id of the workspace listed
    pub workspace: String,
    pub items: Vec<ListedItem>,
}

/// One version, as listed.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct ListedItem {
    #[schemars(extend("enum" = ["model", "environment", "component", "data"]))]
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// model: modelType (custom_model when unset); data: dataType; component:
    /// componentSpec.type
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// content location, redacted
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// the version's REST properties as the service returned them (not redacted)
    #[schemars(extend("type" = "object"))]
    pub properties: Value,
}

/// `<kind> list`: the selected versions of `ws`.
pub async fn list(ctx: &Context, ws: &WorkspaceRef, o: &ListOptions) -> Result<ListReport> {
    let sel = Selection { kinds: vec![o.kind], name: o.name.clone(), latest_only: o.latest };
    let items = assets::list_versions(&ctx.arm, ws, &sel).await?;
    let rows: Vec<ListedItem> = items
        .iter()
        .map(|i| {
            let str_of = |k: &str| i.properties.get(k).and_then(Value::as_str).map(str::to_string);
            ListedItem {
                kind: i.kind,
                name: i.name.clone(),
                version: i.version.clone(),
                r#type: match i.kind {
                    Kind::Model => Some(str_of("modelType").unwrap_or_else(|| "custom_model".into())),
                    Kind::Data => str_of("dataType"),
                    Kind::Component => i.properties.pointer("/componentSpec/type").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                },
                image: str_of("image"),
                stage: str_of("stage"),
                description: str_of("description"),
                location: i.location().map(crate::redact::url_str),
                properties: i.properties.clone(),
            }
        })
        .collect();
    Ok(ListReport { schema_version: SCHEMA_VERSION, command: format!("{} list", o.kind), workspace: ws.arm_id(), items: rows })
}
