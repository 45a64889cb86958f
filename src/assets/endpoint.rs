//! Online and batch endpoints and their deployments as definition kinds: `az ml online-endpoint`,
//! `online-deployment`, `batch-endpoint`, `batch-deployment` YAML; creation order (an endpoint
//! first without traffic or default deployment, then its deployments, then the traffic split).
//! Keys and scoring URIs are the service's: never copied, never compared.
//!
//! | YAML (`az ml`)                              | REST                                           |
//! |---------------------------------------------|------------------------------------------------|
//! | endpoint `auth_mode` (`key`, `aml_token`, `aad_token`) | `properties.authMode`               |
//! | endpoint `traffic`, `mirror_traffic`, `public_network_access`, `compute` | `properties.traffic`, `.mirrorTraffic`, `.publicNetworkAccess`, `.compute` |
//! | batch endpoint `defaults.deployment_name`   | `properties.defaults.deploymentName`           |
//! | `description`, `tags`, `properties`, `identity` | `properties.description`, `tags`, `properties.properties`, `identity` |
//! | deployment `model`                          | `properties.model` (online: ARM id; batch: `{referenceType: Id, assetId}`) |
//! | deployment `environment`, `code_configuration.{code, scoring_script}` | `properties.environmentId`, `.codeConfiguration.{codeId, scoringScript}` |
//! | online `instance_type`, `instance_count`     | `properties.instanceType`, `sku.capacity`      |
//! | batch `compute`, `resources.instance_count`, `mini_batch_size`, `max_concurrency_per_instance`, `output_action`, `output_file_name`, `error_threshold`, `logging_level`, `retry_settings.{max_retries, timeout}` | `properties.compute`, `.resources.instanceCount`, `.miniBatchSize`, … |
//! | batch `type: pipeline`, `component`, `settings` | `properties.deploymentConfiguration` (`PipelineComponent`, `componentId`, `settings`) |
//!
//! Probes, request and scale settings, data collectors and anything newer are carried under
//! `extra_rest_fields` as REST.

use super::compute::IDENTITY;
use super::definition::{f, get_path, short_ref, take_path, Conv, CopyOptions, Ctx, DefKind, Definition, Field};
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use serde_json::{json, Value};

pub const ENDPOINT_SERVICE_PATHS: &[&str] = &["properties.keys", "properties.scoringUri", "properties.swaggerUri"];
pub const DEPLOYMENT_SERVICE_PATHS: &[&str] = &[];

const AUTH: &[(&str, &str)] = &[("key", "Key"), ("aml_token", "AMLToken"), ("aad_token", "AADToken")];
const ACCESS: &[(&str, &str)] = &[("enabled", "Enabled"), ("disabled", "Disabled")];
const COMPUTE_TYPES: &[(&str, &str)] = &[("managed", "Managed"), ("kubernetes", "Kubernetes")];
const OUTPUT_ACTIONS: &[(&str, &str)] = &[("append_row", "AppendRow"), ("summary_only", "SummaryOnly")];
const LOGGING: &[(&str, &str)] = &[("info", "Info"), ("warning", "Warning"), ("debug", "Debug")];

const COMMON: &[Field] = &[
    f("description", "properties.description", Conv::Same),
    f("tags", "tags", Conv::Same),
    f("properties", "properties.properties", Conv::Same),
];

const ONLINE_ENDPOINT: &[Field] = &[
    f("auth_mode", "properties.authMode", Conv::Enum(AUTH)),
    f("traffic", "properties.traffic", Conv::Same),
    f("mirror_traffic", "properties.mirrorTraffic", Conv::Same),
    f("public_network_access", "properties.publicNetworkAccess", Conv::Enum(ACCESS)),
    f("compute", "properties.compute", Conv::Compute),
];

const BATCH_ENDPOINT: &[Field] = &[
    f("auth_mode", "properties.authMode", Conv::Enum(AUTH)),
    f("defaults.deployment_name", "properties.defaults.deploymentName", Conv::Same),
];

const DEPLOYMENT_COMMON: &[Field] = &[
    f("environment", "properties.environmentId", Conv::Asset("environments")),
    f("code_configuration.code", "properties.codeConfiguration.codeId", Conv::Asset("codes")),
    f("code_configuration.scoring_script", "properties.codeConfiguration.scoringScript", Conv::Same),
    f("environment_variables", "properties.environmentVariables", Conv::Same),
];

const ONLINE_DEPLOYMENT: &[Field] = &[
    f("type", "properties.endpointComputeType", Conv::Enum(COMPUTE_TYPES)),
    f("model", "properties.model", Conv::Asset("models")),
    f("instance_type", "properties.instanceType", Conv::Same),
    f("instance_count", "sku.capacity", Conv::Same),
    f("app_insights_enabled", "properties.appInsightsEnabled", Conv::Same),
    f("egress_public_network_access", "properties.egressPublicNetworkAccess", Conv::Enum(ACCESS)),
    f("model_mount_path", "properties.modelMountPath", Conv::Same),
];

const BATCH_DEPLOYMENT: &[Field] = &[
    f("model", "properties.model", Conv::Custom(asset_ref_to_rest::<0>, asset_ref_to_yaml)),
    f("compute", "properties.compute", Conv::Compute),
    f("resources.instance_count", "properties.resources.instanceCount", Conv::Same),
    f("resources.instance_type", "properties.resources.instanceType", Conv::Same),
    f("mini_batch_size", "properties.miniBatchSize", Conv::Same),
    f("max_concurrency_per_instance", "properties.maxConcurrencyPerInstance", Conv::Same),
    f("output_action", "properties.outputAction", Conv::Enum(OUTPUT_ACTIONS)),
    f("output_file_name", "properties.outputFileName", Conv::Same),
    f("error_threshold", "properties.errorThreshold", Conv::Same),
    f("logging_level", "properties.loggingLevel", Conv::Enum(LOGGING)),
    f("retry_settings.max_retries", "properties.retrySettings.maxRetries", Conv::Same),
    f("retry_settings.timeout", "properties.retrySettings.timeout", Conv::Seconds),
    f("component", "properties.deploymentConfiguration.componentId", Conv::Custom(asset_ref_to_rest::<1>, asset_ref_to_yaml)),
    f("settings", "properties.deploymentConfiguration.settings", Conv::Same),
];

fn tables(kind: DefKind) -> &'static [&'static [Field]] {
    match kind {
        DefKind::OnlineEndpoint => &[COMMON, IDENTITY, ONLINE_ENDPOINT],
        DefKind::BatchEndpoint => &[COMMON, IDENTITY, BATCH_ENDPOINT],
        DefKind::OnlineDeployment => &[COMMON, IDENTITY, DEPLOYMENT_COMMON, ONLINE_DEPLOYMENT],
        _ => &[COMMON, IDENTITY, DEPLOYMENT_COMMON, BATCH_DEPLOYMENT],
    }
}

/// `{referenceType: Id, assetId}` <-> `azureml:name:version` (other reference types as REST).
fn asset_ref_to_yaml(v: &Value, c: &Ctx) -> Value {
    match (v.get("referenceType").and_then(Value::as_str), v.get("assetId")) {
        (Some("Id"), Some(id)) => short_ref(id, c.ws),
        _ => v.clone(),
    }
}

/// `N`: 0 for a model (segment `models`), 1 for a component (`components`).
fn asset_ref_to_rest<const N: usize>(v: &Value, c: &Ctx) -> Value {
    let seg = if N == 0 { "models" } else { "components" };
    match v {
        Value::String(_) => json!({"referenceType": "Id", "assetId": super::definition::long_ref(v, seg, c.ws)}),
        other => other.clone(),
    }
}

fn schema(kind: DefKind, body: &Value) -> String {
    let file = match kind {
        DefKind::OnlineEndpoint if get_path(body, "properties.compute").is_some() => "kubernetesOnlineEndpoint",
        DefKind::OnlineEndpoint => "managedOnlineEndpoint",
        DefKind::BatchEndpoint => "batchEndpoint",
        DefKind::OnlineDeployment if get_path(body, "properties.endpointComputeType").and_then(Value::as_str) == Some("Kubernetes") => "kubernetesOnlineDeployment",
        DefKind::OnlineDeployment => "managedOnlineDeployment",
        _ if get_path(body, "properties.deploymentConfiguration").is_some() => "pipelineComponentBatchDeployment",
        _ => "modelBatchDeployment",
    };
    format!("https://azuremlschemas.azureedge.net/latest/{file}.schema.json")
}

/// An endpoint or deployment as `az ml` YAML.
pub fn to_yaml(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    let mut body = def.body();
    let mut head = vec![("$schema", json!(schema(def.kind, &body))), ("name", json!(def.name))];
    if let Some(e) = &def.endpoint {
        head.push(("endpoint_name", json!(e)));
    }
    if def.kind == DefKind::BatchDeployment {
        let pipeline = take_path(&mut body, "properties.deploymentConfiguration.deploymentConfigurationType").and_then(|t| t.as_str().map(str::to_string));
        head.push(("type", json!(if pipeline.as_deref() == Some("PipelineComponent") { "pipeline" } else { "model" })));
    }
    super::definition::to_yaml(def.kind, head, &body, tables(def.kind), ws)
}

/// `az ml` endpoint/deployment YAML -> a definition (the kind from `$schema`, or `kind`).
pub fn from_yaml(kind: DefKind, file: &str, yaml: &Value, ws: Option<&WorkspaceRef>) -> Result<Definition> {
    let endpoint = yaml.get("endpoint_name").and_then(Value::as_str).map(str::to_string);
    let is_deployment = matches!(kind, DefKind::OnlineDeployment | DefKind::BatchDeployment);
    if is_deployment && endpoint.is_none() {
        return Err(Error::usage(format!("{file}: endpoint_name is missing (a {kind} belongs to an endpoint)")));
    }
    let head: &[&str] = if kind == DefKind::BatchDeployment { &["endpoint_name", "type"] } else { &["endpoint_name"] };
    let (name, mut body) = super::definition::to_rest(kind, file, yaml, head, tables(kind), ws)?;
    if kind == DefKind::BatchDeployment && yaml.get("type").and_then(Value::as_str) == Some("pipeline") {
        super::definition::set_path_value(&mut body, "properties.deploymentConfiguration.deploymentConfigurationType", json!("PipelineComponent"));
    }
    if kind == DefKind::OnlineDeployment && get_path(&body, "properties.endpointComputeType").is_none() {
        super::definition::set_path_value(&mut body, "properties.endpointComputeType", json!("Managed"));
    }
    body["name"] = json!(name);
    Ok(Definition::new(kind, if is_deployment { endpoint.as_deref() } else { None }, body))
}

/// The deployment kind a `$schema` names, or the endpoint kind.
pub fn kind_of_schema(schema: &str) -> Option<DefKind> {
    let file = schema.trim().rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    Some(match file.trim_end_matches(".schema.json") {
        "managedonlineendpoint" | "kubernetesonlineendpoint" => DefKind::OnlineEndpoint,
        "batchendpoint" => DefKind::BatchEndpoint,
        "managedonlinedeployment" | "kubernetesonlinedeployment" => DefKind::OnlineDeployment,
        "modelbatchdeployment" | "pipelinecomponentbatchdeployment" | "batchdeployment" => DefKind::BatchDeployment,
        _ => return None,
    })
}

/// `--instance-count N`: a warm copy pre-staged small. Tracked resources are created in the
/// target's region.
pub fn prepare_online_deployment(body: &mut Value, opts: &CopyOptions) {
    if let Some(n) = opts.instance_count {
        super::definition::set_path_value(body, "sku.capacity", json!(n));
        if get_path(body, "sku.name").is_none() {
            super::definition::set_path_value(body, "sku.name", json!("Default"));
        }
    }
}

/// An endpoint is created before its deployments, so without what names them (online:
/// `traffic`, `mirrorTraffic`; batch: `defaults`): returns the body to create and, when the
/// endpoint routes to deployments, the body to PUT once they exist.
pub fn split_for_creation(kind: DefKind, body: &Value) -> (Value, Option<Value>) {
    let mut first = body.clone();
    let paths: &[&str] = match kind {
        DefKind::OnlineEndpoint => &["properties.traffic", "properties.mirrorTraffic"],
        DefKind::BatchEndpoint => &["properties.defaults"],
        _ => &[],
    };
    let mut routes = false;
    for p in paths {
        if let Some(v) = take_path(&mut first, p) {
            routes |= v.as_object().is_some_and(|m| !m.is_empty());
        }
    }
    if routes {
        (first, Some(body.clone()))
    } else {
        (first, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::definition::{self, tests::ws};
    use crate::assets::refs::Rewriter;
    use crate::compare::Comparison;

    const SRC: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/primary";

    pub fn online() -> (Definition, Definition, Definition) {
        let ep = Definition::new(
            DefKind::OnlineEndpoint,
            None,
            json!({"name": "churn", "location": "eastus", "kind": "Managed", "identity": {"type": "SystemAssigned", "principalId": "p"},
                "properties": {"authMode": "Key", "traffic": {"blue": 90, "green": 10}, "scoringUri": "https://churn.eastus.inference.ml.azure.com/score",
                    "swaggerUri": "https://x/swagger.json", "provisioningState": "Succeeded", "keys": {"primaryKey": "real-key"}, "publicNetworkAccess": "Enabled"}}),
        );
        let dep = |name: &str, ver: &str| {
            Definition::new(
                DefKind::OnlineDeployment,
                Some("churn"),
                json!({"name": name, "location": "eastus", "sku": {"name": "Default", "capacity": 3},
                    "properties": {"endpointComputeType": "Managed", "model": format!("{SRC}/models/churn/versions/{ver}"),
                        "environmentId": format!("{SRC}/environments/sklearn/versions/1"),
                        "codeConfiguration": {"codeId": format!("{SRC}/codes/score/versions/1"), "scoringScript": "score.py"},
                        "instanceType": "Standard_DS3_v2", "provisioningState": "Succeeded",
                        "requestSettings": {"requestTimeout": "PT5S", "maxConcurrentRequestsPerInstance": 1},
                        "livenessProbe": {"initialDelay": "PT10S", "period": "PT10S"}}}),
            )
        };
        (ep, dep("blue", "2"), dep("green", "3"))
    }

    pub fn batch() -> (Definition, Definition) {
        let ep = Definition::new(
            DefKind::BatchEndpoint,
            None,
            json!({"name": "score-batch", "properties": {"authMode": "AADToken", "defaults": {"deploymentName": "main"}, "scoringUri": "https://x", "description": "nightly"}}),
        );
        let dep = Definition::new(
            DefKind::BatchDeployment,
            Some("score-batch"),
            json!({"name": "main", "properties": {"model": {"referenceType": "Id", "assetId": format!("{SRC}/models/churn/versions/2")},
                "compute": format!("{SRC}/computes/cpu-cluster"), "resources": {"instanceCount": 2}, "miniBatchSize": 10, "outputAction": "AppendRow",
                "outputFileName": "predictions.csv", "retrySettings": {"maxRetries": 3, "timeout": "PT300S"}, "loggingLevel": "Info",
                "errorThreshold": -1, "codeConfiguration": {"codeId": format!("{SRC}/codes/score/versions/1"), "scoringScript": "batch.py"},
                "environmentId": format!("{SRC}/environments/sklearn/versions/1"), "provisioningState": "Succeeded"}}),
        );
        (ep, dep)
    }

    #[test]
    fn online_endpoint_and_deployments_round_trip_without_keys() {
        let w = ws("primary");
        let (ep, blue, _) = online();
        let y = to_yaml(&ep, Some(&w));
        let text = serde_norway::to_string(&y).unwrap();
        assert!(!text.contains("real-key") && !text.contains("scoring") && !text.contains("Succeeded"), "{text}");
        assert_eq!(y["auth_mode"], "key");
        assert_eq!(y["traffic"], json!({"blue": 90, "green": 10}));
        assert!(y["$schema"].as_str().unwrap().ends_with("managedOnlineEndpoint.schema.json"));
        let back = from_yaml(DefKind::OnlineEndpoint, "e.yml", &y, Some(&w)).unwrap();
        assert_eq!(definition::compare(DefKind::OnlineEndpoint, &back.body(), Some(&ep.resource)), Comparison::Identical, "{text}");

        let y = to_yaml(&blue, Some(&w));
        assert_eq!(y["endpoint_name"], "churn");
        assert_eq!(y["model"], "azureml:churn:2");
        assert_eq!(y["environment"], "azureml:sklearn:1");
        assert_eq!(y["code_configuration"], json!({"code": "azureml:score:1", "scoring_script": "score.py"}));
        assert_eq!(y["instance_count"], 3);
        assert!(y["extra_rest_fields"]["properties"]["requestSettings"].is_object(), "unmodelled fields carried: {y}");
        let back = from_yaml(kind_of_schema(y["$schema"].as_str().unwrap()).unwrap(), "d.yml", &y, Some(&w)).unwrap();
        assert_eq!(back.endpoint.as_deref(), Some("churn"));
        assert_eq!(definition::compare(DefKind::OnlineDeployment, &back.body(), Some(&blue.resource)), Comparison::Identical);
        let no_ep = json!({"name": "x", "model": "azureml:m:1"});
        assert!(from_yaml(DefKind::OnlineDeployment, "d.yml", &no_ep, None).unwrap_err().to_string().contains("endpoint_name"));
    }

    #[test]
    fn batch_endpoint_and_deployment_round_trip() {
        let w = ws("primary");
        let (ep, dep) = batch();
        let y = to_yaml(&dep, Some(&w));
        assert_eq!(y["type"], "model");
        assert_eq!(y["model"], "azureml:churn:2");
        assert_eq!(y["compute"], "azureml:cpu-cluster");
        assert_eq!(y["retry_settings"], json!({"max_retries": 3, "timeout": 300}));
        assert_eq!(y["output_action"], "append_row");
        let back = from_yaml(DefKind::BatchDeployment, "d.yml", &y, Some(&w)).unwrap();
        assert_eq!(definition::compare(DefKind::BatchDeployment, &back.body(), Some(&dep.resource)), Comparison::Identical, "{y}");
        let y = to_yaml(&ep, Some(&w));
        assert_eq!(y["defaults"], json!({"deployment_name": "main"}));
        let back = from_yaml(DefKind::BatchEndpoint, "e.yml", &y, Some(&w)).unwrap();
        assert_eq!(definition::compare(DefKind::BatchEndpoint, &back.body(), Some(&ep.resource)), Comparison::Identical);
        // A pipeline component deployment (the examples' shape).
        let p: Value = serde_norway::from_str(
            "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json\nname: uci-classifier-train-xgb\n\
             endpoint_name: uci-classifier-train\ntype: pipeline\ncomponent: azureml:uci-train:1\nsettings:\n  continue_on_step_failure: false\n  default_compute: batch-cluster\n",
        )
        .unwrap();
        let d = from_yaml(kind_of_schema(p["$schema"].as_str().unwrap()).unwrap(), "deployment.yml", &p, Some(&w)).unwrap();
        assert_eq!(d.properties()["deploymentConfiguration"]["deploymentConfigurationType"], "PipelineComponent");
        assert_eq!(d.properties()["deploymentConfiguration"]["componentId"]["assetId"], format!("{SRC}/components/uci-train/versions/1"));
        assert_eq!(to_yaml(&d, Some(&w))["type"], "pipeline");
    }

    #[test]
    fn references_are_rewritten_into_the_target_and_instance_count_applies() {
        let (_, blue, _) = online();
        let (_, bdep) = batch();
        let (src, dst) = definition::tests::rewriter_ids();
        let bump = |k: crate::assets::Kind, _: &str, v: &str| if k == crate::assets::Kind::Model { "9".to_string() } else { v.to_string() };
        let rw = Rewriter { src, dst, version_of: &bump };
        let opts = CopyOptions { instance_count: Some(1), ..Default::default() };
        let p = definition::prepare(&blue, &opts, &rw);
        let tgt = "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.MachineLearningServices/workspaces/failover";
        assert_eq!(p.body["properties"]["model"], format!("{tgt}/models/churn/versions/9"));
        assert_eq!(p.body["properties"]["codeConfiguration"]["codeId"], format!("{tgt}/codes/score/versions/1"));
        assert_eq!(p.body["sku"]["capacity"], 1);
        assert_eq!(p.rewrites.len(), 3, "{:?}", p.rewrites);
        let p = definition::prepare(&bdep, &CopyOptions::default(), &rw);
        assert_eq!(p.body["properties"]["compute"], format!("{tgt}/computes/cpu-cluster"));
        assert_eq!(p.body["properties"]["model"]["assetId"], format!("{tgt}/models/churn/versions/9"));
        // A pre-staged smaller copy is in step with its source.
        let want = definition::prepare(&blue, &CopyOptions::default(), &rw).body;
        let have = json!({"properties": want["properties"].clone(), "sku": {"name": "Default", "capacity": 1}});
        assert_eq!(definition::compare(DefKind::OnlineDeployment, &want, Some(&have)), Comparison::Identical);
    }

    #[test]
    fn endpoints_are_created_before_the_deployments_they_route_to() {
        let (ep, _, _) = online();
        let (first, then) = split_for_creation(DefKind::OnlineEndpoint, &ep.body());
        assert!(first["properties"].get("traffic").is_none());
        assert_eq!(then.unwrap()["properties"]["traffic"]["blue"], 90);
        let (bep, _) = batch();
        let (first, then) = split_for_creation(DefKind::BatchEndpoint, &bep.body());
        assert!(first["properties"].get("defaults").is_none() && then.is_some());
        let plain = json!({"properties": {"authMode": "Key", "traffic": {}}});
        assert_eq!(split_for_creation(DefKind::OnlineEndpoint, &plain).1, None);
    }
}
