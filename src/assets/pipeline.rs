//! Jobs of every type in a failover (command, pipeline, sweep, AutoML, spark: the kind
//! `jobs`, `--kinds pipelines` kept as its old name).
//!
//! A job is a run: the REST API has no way to create a job without running it
//! (Jobs_CreateOrUpdate submits). So by default a job is recreated in the target as its
//! *definition*, as `job create` registers it ([`super::job::definition`]): a pipeline job a
//! pipeline component, a command job a command component, a sweep job a command component
//! of its trial, each named after the job, version 1, with every reference rewritten into the
//! target, the job's inputs as the component's inputs (literal values as defaults), and in
//! `properties` what a component has no field for (`aml-failover.sourceJob`, `.jobType`,
//! `.experimentName`, `.computeId`, `.settings`, and `.job`: the job's REST definition, so
//! that a submit recreates the same job). AutoML and spark jobs have no component form: they
//! are copied only with `--submit`. Nothing runs; `az ml job create` with
//! `component: azureml:<name>:1` (or `--submit` here) runs it later. With `--submit` the job
//! itself is created in the target (Jobs_CreateOrUpdate), which queues a new run. Either way,
//! status, history, metrics and outputs of the source run do not transfer.

use super::kind::{AssetKind, Kind, Names, Registration};
use super::refs::{self, Dep, Rewrite, Rewriter};
use super::AssetItem;
use crate::azureml::{workspace_path, ArmClient};
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use async_trait::async_trait;
use serde_json::{json, Value};

/// The job kind: a job of any type (not versioned), listed from the workspace's jobs,
/// recreated as its definition (a component named after it) or, with `--submit`, as a job.
pub struct Jobs;

#[async_trait]
impl AssetKind for Jobs {
    fn kind(&self) -> Kind {
        Kind::Job
    }
    fn names(&self) -> &'static Names {
        &Names { name: "job", plural: "jobs", aliases: &["jobs", "job", "pipelines", "pipeline"], segment: "jobs" }
    }
    fn versioned(&self) -> bool {
        false
    }
    fn needs(&self) -> &'static [Kind] {
        &[Kind::Code, Kind::Environment, Kind::Component, Kind::Data]
    }
    fn dependencies(&self, props: &Value) -> Vec<Dep> {
        refs::job_dependencies(props)
    }
    fn refused(&self, item: &AssetItem, submit: bool) -> Option<String> {
        no_definition(&item.properties).filter(|_| !submit)
    }
    fn desired(&self, item: &AssetItem, from: &WorkspaceRef, submit: bool, rw: &Rewriter) -> Option<(Value, Vec<Rewrite>)> {
        // Rewrite the job first: the definition keeps some of it as text (settings).
        let mut job = portable_job(&item.properties);
        let rewrites = rw.rewrite(&mut job);
        let v = if submit {
            job
        } else {
            // A type without a definition form is refused before (`refused`); its REST
            // definition is what would be submitted.
            definition(&item.name, &format!("{}/jobs/{}", from.arm_id(), item.name), &job).unwrap_or(job)
        };
        Some((v, rewrites))
    }
    fn compare_listed(&self) -> bool {
        false
    }
    fn comparable_target(&self, have: Value, submit: bool) -> Value {
        if submit {
            portable_job(&have)
        } else {
            have
        }
    }
    fn target_path(&self, to: &WorkspaceRef, name: &str, version: &str, submit: bool) -> String {
        let base = workspace_path(to);
        if submit {
            format!("{base}/jobs/{}", super::enc(name))
        } else {
            format!("{base}/components/{}/versions/{}", super::enc(&definition_name(name)), super::enc(version))
        }
    }
    async fn list(&self, arm: &ArmClient, ws: &WorkspaceRef, name: Option<&str>) -> Result<Vec<AssetItem>> {
        list(arm, ws, name).await
    }
    async fn register(&self, arm: &ArmClient, to: &WorkspaceRef, item: &AssetItem, how: Registration<'_>, props: &Value) -> Result<Option<String>> {
        let (version, replace) = (how.version, how.replace);
        if how.submit {
            if replace {
                return Err(Error::Service("a job cannot be overwritten; delete it in the target first".into()));
            }
            arm.put(&self.target_path(to, &item.name, version, true), &json!({ "properties": props })).await?;
            return Ok(None);
        }
        let name = definition_name(&item.name);
        let container = json!({"description": props.get("description").cloned().unwrap_or(Value::Null)});
        super::register_props(arm, to, Kind::Component, &name, &container, version, replace, props).await?;
        Ok(Some(name))
    }
}

pub use super::job::PIPELINE_COMPONENT_SCHEMA;

/// What the report says about every pipeline.
pub const NOT_TRANSFERRED: &str = "status, history, metrics and outputs of the source run do not transfer";

/// The jobs of a workspace (every type), as items of kind `job`, version "1".
pub async fn list(arm: &ArmClient, ws: &WorkspaceRef, name: Option<&str>) -> Result<Vec<AssetItem>> {
    let jobs = arm.list(&format!("{}/jobs", workspace_path(ws))).await?;
    let pattern = super::NamePattern::new(name);
    let mut out: Vec<AssetItem> = jobs
        .into_iter()
        .filter_map(|j| {
            let n = j.get("name").and_then(Value::as_str)?.to_string();
            if !pattern.matches(&n) {
                return None;
            }
            Some(AssetItem {
                kind: Kind::Job,
                name: n,
                version: "1".into(),
                properties: j.get("properties").cloned().unwrap_or(Value::Null),
                container: Default::default(),
                content: None,
            })
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

pub use super::job::{definition_name, portable_job};

/// The component version properties that define the job `name` (see the module doc and
/// [`super::job::definition`]); `None` for a type without a definition form.
pub fn definition(name: &str, source_job_id: &str, props: &Value) -> Option<Value> {
    super::job::definition(name, source_job_id, props)
}

/// Why a job cannot be kept as a definition (AutoML, spark and other types have no component
/// form): it is copied only when submitted.
pub fn no_definition(props: &Value) -> Option<String> {
    let t = super::job::JobType::of_rest(props);
    (!t.has_definition()).then(|| {
        format!("a {} job has no definition form (no component type holds it): --submit recreates it in the target (a new run)", t.yaml())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipeline_lives_in_the_target_as_its_definition_or_a_job() {
        let to = WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "b".into() };
        assert!(Jobs.target_path(&to, "Hello-Pipe", "1", false).ends_with("/workspaces/b/components/hello%5Fpipe/versions/1"));
        assert!(Jobs.target_path(&to, "Hello-Pipe", "1", true).ends_with("/workspaces/b/jobs/Hello%2DPipe"));
        assert!(!Jobs.versioned() && !Jobs.compare_listed());
        let job = json!({"jobType": "Pipeline", "status": "Completed", "jobs": {"t": {"component": "azureml:train:1"}}});
        let same = |_: Kind, _: &str, v: &str| v.to_string();
        let rw = Rewriter { src: ("s".into(), "g".into(), "a".into()), dst: ("s".into(), "g".into(), "b".into()), version_of: &same };
        let item = AssetItem { kind: Kind::Job, name: "p".into(), version: "1".into(), properties: job.clone(), container: Default::default(), content: None };
        let (def, _) = Jobs.desired(&item, &to, false, &rw).unwrap();
        assert_eq!(def["componentSpec"]["type"], "pipeline");
        let (sub, _) = Jobs.desired(&item, &to, true, &rw).unwrap();
        assert!(sub.get("status").is_none() && sub["jobs"] == job["jobs"]);
        assert_eq!(Jobs.dependencies(&job).len(), 1);
        // A command job becomes a command component; an AutoML job is copied only with --submit.
        let cmd = AssetItem { properties: json!({"jobType": "Command", "command": "echo", "environmentId": "azureml:env:1"}), ..item.clone() };
        assert_eq!(Jobs.desired(&cmd, &to, false, &rw).unwrap().0["componentSpec"]["type"], "command");
        assert!(Jobs.refused(&cmd, false).is_none());
        let automl = AssetItem { properties: json!({"jobType": "AutoML", "taskDetails": {"taskType": "Classification"}}), ..item };
        assert!(Jobs.refused(&automl, false).unwrap().contains("--submit"), "{:?}", Jobs.refused(&automl, false));
        assert!(Jobs.refused(&automl, true).is_none());
    }

    #[test]
    fn names_are_component_names() {
        assert_eq!(definition_name("Hello-Pipeline.v2"), "hello_pipeline_v2");
        assert_eq!(definition_name("3b_pipeline"), "job_3b_pipeline");
    }

    #[test]
    fn definition_keeps_the_graph_and_drops_the_run() {
        let job = json!({"jobType": "Pipeline", "status": "Completed", "displayName": "hello", "experimentName": "exp",
            "computeId": "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/computes/cpu",
            "settings": {"default_compute": "azureml:cpu"}, "services": {"Studio": {"endpoint": "x"}},
            "inputs": {"lr": {"jobInputType": "literal", "value": "0.1"}, "raw": {"jobInputType": "uri_file", "uri": "azureml:titanic:1"}},
            "outputs": {"model": {"jobOutputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/azureml/x/model/"}},
            "jobs": {"train": {"type": "command", "component": "azureml:train:1"}}, "tags": {"a": "b"}});
        let d = definition("hello-pipe", "/jobs/hello-pipe", &job).unwrap();
        let spec = &d["componentSpec"];
        assert_eq!(spec["type"], "pipeline");
        assert_eq!(spec["name"], "hello_pipe");
        assert_eq!(spec["jobs"], job["jobs"]);
        assert_eq!(spec["inputs"]["raw"], json!({"type": "uri_file"}), "no default on a data input (azure-ai-ml refuses one)");
        assert_eq!(spec["inputs"]["lr"], json!({"type": "number", "default": 0.1}));
        assert_eq!(spec["outputs"]["model"], json!({"type": "uri_folder"}));
        assert_eq!(d["properties"]["aml-failover.experimentName"], "exp");
        assert_eq!(d["tags"], json!({"a": "b"}));
        let text = d.to_string();
        assert!(!text.contains("Completed") && !text.contains("Studio") && !text.contains("azureml/x/model"), "{text}");
        let p = portable_job(&job);
        assert!(p.get("status").is_none() && p.get("services").is_none() && p["outputs"]["model"].get("uri").is_none());
    }
}
