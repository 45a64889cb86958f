//! Pipeline jobs in a failover.
//!
//! A job is a run: the REST API has no way to create a job without running it
//! (Jobs_CreateOrUpdate submits). So by default a pipeline job is recreated in the target as
//! its *definition*: a pipeline component (`ComponentVersion` with `componentSpec.type:
//! pipeline`) named after the job, version 1, whose `jobs` graph is the job's graph with every
//! reference rewritten into the target, whose `inputs`/`outputs` declare the job's inputs and
//! outputs (the job's values become defaults), and whose `properties` keep what a
//! component has no field for (`aml-failover.sourceJob`, `.experimentName`, `.computeId`,
//! `.settings`). Nothing runs; `az ml job create` with `component: azureml:<name>:1` (or
//! `--submit` here) runs it later. With `--submit` the job itself is created in the target
//! (Jobs_CreateOrUpdate), which queues a new run. Either way, status, history, metrics and
//! outputs of the source run do not transfer.

use super::{AssetItem, Kind};
use crate::azureml::{workspace_path, ArmClient};
use crate::error::Result;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};

pub const PIPELINE_COMPONENT_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json";

/// What the report says about every pipeline.
pub const NOT_TRANSFERRED: &str = "status, history, metrics and outputs of the source run do not transfer";

/// Pipeline jobs of a workspace (jobType Pipeline), as items of kind `pipeline`, version "1".
pub async fn list(arm: &ArmClient, ws: &WorkspaceRef, name: Option<&str>) -> Result<Vec<AssetItem>> {
    let jobs = arm.list(&format!("{}/jobs", workspace_path(ws))).await?;
    let mut out: Vec<AssetItem> = jobs
        .into_iter()
        .filter(|j| j.pointer("/properties/jobType").and_then(Value::as_str) == Some("Pipeline"))
        .filter_map(|j| {
            let n = j.get("name").and_then(Value::as_str)?.to_string();
            if name.is_some_and(|p| !super::name_matches(p, &n)) {
                return None;
            }
            Some(AssetItem {
                kind: Kind::Pipeline,
                name: n,
                version: "1".into(),
                properties: j.get("properties").cloned().unwrap_or(Value::Null),
                container: Value::Null,
                content: None,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// The component name of a job's definition: lowercase letters, digits and `_` (what
/// component names allow everywhere), from the job name.
pub fn definition_name(job: &str) -> String {
    let mut s: String = job.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !s.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
        s.insert(0, '_');
    }
    s
}

/// Fields a job gets from the service, or that describe one run: never written elsewhere.
const RUN_FIELDS: &[&str] = &["status", "services", "parameters", "provisioningState", "isArchived", "notificationSetting", "identity"];

/// The job's properties as written to another workspace with `--submit` (references still
/// to be rewritten by the caller): run state dropped, nulls dropped.
pub fn portable_job(props: &Value) -> Value {
    let mut p = props.clone();
    if let Value::Object(m) = &mut p {
        for k in RUN_FIELDS {
            m.remove(*k);
        }
        m.retain(|_, v| !v.is_null());
        // Outputs written by the source run: the new run writes its own.
        if let Some(Value::Object(outs)) = m.get_mut("outputs") {
            for o in outs.values_mut() {
                if let Value::Object(o) = o {
                    o.remove("uri");
                    o.retain(|_, v| !v.is_null());
                }
            }
        }
    }
    p
}

/// The pipeline component version properties that define the job `name` (see the module doc).
pub fn definition(name: &str, source_job_id: &str, props: &Value) -> Value {
    let job = portable_job(props);
    let mut spec = Map::new();
    spec.insert("$schema".into(), json!(PIPELINE_COMPONENT_SCHEMA));
    spec.insert("name".into(), json!(definition_name(name)));
    spec.insert("version".into(), json!("1"));
    spec.insert("type".into(), json!("pipeline"));
    if let Some(d) = job.get("displayName") {
        spec.insert("display_name".into(), d.clone());
    }
    if let Some(d) = job.get("description") {
        spec.insert("description".into(), d.clone());
    }
    let mut inputs = Map::new();
    for (k, i) in job.get("inputs").and_then(Value::as_object).into_iter().flatten() {
        let mut d = Map::new();
        d.insert("type".into(), i.get("jobInputType").cloned().unwrap_or(json!("string")));
        if let Some(v) = i.get("value").or_else(|| i.get("uri")) {
            d.insert("default".into(), v.clone());
        }
        if let Some(m) = i.get("mode") {
            d.insert("mode".into(), m.clone());
        }
        inputs.insert(k.clone(), Value::Object(d));
    }
    spec.insert("inputs".into(), Value::Object(inputs));
    let mut outputs = Map::new();
    for (k, o) in job.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        outputs.insert(k.clone(), json!({"type": o.get("jobOutputType").cloned().unwrap_or(json!("uri_folder"))}));
    }
    spec.insert("outputs".into(), Value::Object(outputs));
    spec.insert("jobs".into(), job.get("jobs").cloned().unwrap_or(json!({})));

    let mut properties = Map::new();
    properties.insert("aml-failover.sourceJob".into(), json!(source_job_id));
    for (k, key) in [("experimentName", "aml-failover.experimentName"), ("computeId", "aml-failover.computeId")] {
        if let Some(v) = job.get(k).and_then(Value::as_str) {
            properties.insert(key.into(), json!(v));
        }
    }
    if let Some(s) = job.get("settings").filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
        properties.insert("aml-failover.settings".into(), json!(s.to_string()));
    }
    let mut p = Map::new();
    p.insert("componentSpec".into(), Value::Object(spec));
    p.insert("properties".into(), Value::Object(properties));
    if let Some(t) = job.get("tags").filter(|t| t.as_object().is_some_and(|m| !m.is_empty())) {
        p.insert("tags".into(), t.clone());
    }
    if let Some(d) = job.get("description") {
        p.insert("description".into(), d.clone());
    }
    Value::Object(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_component_names() {
        assert_eq!(definition_name("Hello-Pipeline.v2"), "hello_pipeline_v2");
        assert_eq!(definition_name("3b_pipeline"), "_3b_pipeline");
    }

    #[test]
    fn definition_keeps_the_graph_and_drops_the_run() {
        let job = json!({"jobType": "Pipeline", "status": "Completed", "displayName": "hello", "experimentName": "exp",
            "computeId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/computes/cpu",
            "settings": {"default_compute": "azureml:cpu"}, "services": {"Studio": {"endpoint": "x"}},
            "inputs": {"lr": {"jobInputType": "literal", "value": "0.1"}, "raw": {"jobInputType": "uri_file", "uri": "azureml:titanic:1"}},
            "outputs": {"model": {"jobOutputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/azureml/x/model/"}},
            "jobs": {"train": {"type": "command", "component": "azureml:train:1"}}, "tags": {"a": "b"}});
        let d = definition("hello-pipe", "/jobs/hello-pipe", &job);
        let spec = &d["componentSpec"];
        assert_eq!(spec["type"], "pipeline");
        assert_eq!(spec["name"], "hello_pipe");
        assert_eq!(spec["jobs"], job["jobs"]);
        assert_eq!(spec["inputs"]["raw"], json!({"type": "uri_file", "default": "azureml:titanic:1"}));
        assert_eq!(spec["outputs"]["model"], json!({"type": "uri_folder"}));
        assert_eq!(d["properties"]["aml-failover.experimentName"], "exp");
        assert_eq!(d["tags"], json!({"a": "b"}));
        let text = d.to_string();
        assert!(!text.contains("Completed") && !text.contains("Studio") && !text.contains("azureml/x/model"), "{text}");
        let p = portable_job(&job);
        assert!(p.get("status").is_none() && p.get("services").is_none() && p["outputs"]["model"].get("uri").is_none());
    }
}
