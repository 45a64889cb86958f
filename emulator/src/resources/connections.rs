//! WorkspaceConnections_*: a connection's `credentials` are split on PUT: the secret fields
//! (keys, tokens, passwords, client secrets) are kept apart and answered only by `listsecrets`;
//! Get and List show the non-secret ones (client ids, tenant ids, resource ids).

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::children::{one_of, props, Norm, Normalized};
use super::{Ctx, Reply};
use crate::arm::{ArmError, WorkspaceRef};
use crate::server::App;
use crate::store::ChildRecord;

pub const AUTH_TYPES: &[&str] = &["PAT", "ManagedIdentity", "UsernamePassword", "None", "SAS", "AccountKey", "ServicePrincipal", "AccessKey", "ApiKey", "CustomKeys", "OAuth2", "AAD"];

/// Secret fields of each auth type's `credentials` (the spec's x-ms-secret ones and the
/// tokens/keys that are secret by nature).
fn secret_fields(auth: &str) -> &'static [&'static str] {
    match auth {
        "PAT" => &["pat"],
        "SAS" => &["sas"],
        "UsernamePassword" => &["password", "securityToken"],
        "AccountKey" | "ApiKey" => &["key"],
        "AccessKey" => &["secretAccessKey"],
        "ServicePrincipal" => &["clientSecret"],
        "OAuth2" => &["clientSecret", "developerToken", "password", "refreshToken"],
        "CustomKeys" => &["keys"],
        _ => &[],
    }
}

/// ConnectionGroup (read-only) from the category.
fn group_of(category: &str) -> &'static str {
    match category {
        "AzureOpenAI" | "AIServices" | "CognitiveSearch" | "CognitiveService" | "Serverless" | "ManagedOnlineEndpoint" => "AzureAI",
        "AzureBlob" | "ADLSGen2" | "AzureOneLake" | "AzureSqlDb" | "AzureSynapseAnalytics" | "AzureMySqlDb" | "AzurePostgresDb" | "CosmosDb"
        | "CosmosDbMongoDbApi" | "AzureDataExplorer" | "AzureMariaDb" | "AzureDatabricksDeltaLake" | "AzureSqlMi" | "AzureTableStorage"
        | "ContainerRegistry" | "Redis" => "Azure",
        "GenericHttp" | "ODataRest" | "Odbc" | "GenericRest" | "FileServer" | "FtpServer" | "Sftp" | "Hdfs" | "GenericContainerRegistry" | "Git" | "PythonFeed" => "GenericProtocol",
        "S3" | "AmazonS3Compatible" | "GoogleCloudStorage" | "OracleCloudStorage" => "File",
        "ApiKey" | "CustomKeys" | "OpenAI" | "Serp" | "BingLLMSearch" | "Pinecone" | "Elasticsearch" => "ServicesAndApps",
        _ => "Database",
    }
}

pub fn normalize(n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    let mut p = props(&body)?;
    let auth = p.get("authType").and_then(Value::as_str).unwrap_or("").to_string();
    if auth.is_empty() {
        return Err(ArmError::user_error("The field 'authType' is required for a connection."));
    }
    one_of(&auth, AUTH_TYPES, "authType")?;
    let category = p.get("category").and_then(Value::as_str).unwrap_or("").to_string();
    if category.is_empty() {
        return Err(ArmError::user_error("The field 'category' is required for a connection."));
    }
    if p.get("target").and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(ArmError::user_error("The field 'target' is required for a connection."));
    }
    let mut secrets = None;
    let given = p.get("credentials").cloned().filter(Value::is_object);
    let needs = !secret_fields(&auth).is_empty();
    match (&given, needs) {
        (Some(c), true) => {
            let mut shown = c.as_object().cloned().unwrap_or_default();
            let mut kept = Map::new();
            for f in secret_fields(&auth) {
                if let Some(v) = shown.remove(*f) {
                    kept.insert((*f).into(), v);
                }
            }
            // A PUT without the secret values (an update of other fields) keeps the stored ones.
            let prev = n.existing.and_then(|e| e.secrets.clone()).filter(|_| kept.is_empty());
            secrets = Some(prev.unwrap_or_else(|| {
                let mut all = c.as_object().cloned().unwrap_or_default();
                for (k, v) in kept {
                    all.insert(k, v);
                }
                Value::Object(all)
            }));
            p.insert("credentials".into(), Value::Object(shown));
        }
        // Without credentials (the spec's list example) the connection has no secrets to list.
        (None, true) => secrets = n.existing.and_then(|e| e.secrets.clone()),
        _ => {}
    }
    p.insert("group".into(), json!(group_of(&category)));
    p.insert("createdByWorkspaceArmId".into(), json!(n.ws.arm_id()));
    super::default_field(&mut p, "isSharedToAll", json!(false));
    super::default_field(&mut p, "sharedUserList", json!([]));
    super::default_field(&mut p, "metadata", json!({}));
    Ok(Normalized { resource: json!({"properties": p}), secrets })
}

/// `?target=&category=&includeAll=` of WorkspaceConnections_List.
pub fn filter(ctx: &Ctx, items: Vec<Value>) -> Vec<Value> {
    let target = ctx.query.get("target");
    let category = ctx.query.get("category");
    items
        .into_iter()
        .filter(|v| target.is_none_or(|t| v.pointer("/properties/target").and_then(Value::as_str) == Some(t.as_str())))
        .filter(|v| category.is_none_or(|c| v.pointer("/properties/category").and_then(Value::as_str).is_some_and(|x| x.eq_ignore_ascii_case(c))))
        .collect()
}

/// WorkspaceConnections_ListSecrets: the resource with its full credentials.
pub fn action(_app: &App, _ws: &WorkspaceRef, rec: &ChildRecord, action: &str) -> Result<Reply, ArmError> {
    debug_assert_eq!(action, "listsecrets");
    let mut r = rec.resource.clone();
    if let Some(sec) = &rec.secrets {
        r["properties"]["credentials"] = sec.clone();
    }
    Ok(Reply::new(StatusCode::OK, r))
}
