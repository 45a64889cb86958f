//! References between assets, as Azure ML writes them in a component's `componentSpec` and a
//! pipeline job's `jobs`/`inputs`, and their rewriting from the source workspace into the target.
//!
//! Forms recognised (pure parsing, no I/O):
//! - `azureml:/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.MachineLearningServices/workspaces/<w>/<kind>/<name>/versions/<v>`
//!   (what the service stores after `az ml` resolved a reference), and the same ARM id without `azureml:`;
//! - `azureml:<name>:<version>`, `azureml:<name>@latest`, `azureml:<name>` (relative to the
//!   workspace the spec lives in);
//! - `azureml://registries/...` (registry assets: never rewritten, never copied);
//! - `azureml://subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/datastores/<d>/paths/<p>` and
//!   `azureml://datastores/<d>/paths/<p>` (data on a datastore);
//! - anything else (https URLs, literals) is left alone.
//!
//! Rewrite rules: a reference that names the *source* workspace explicitly (ARM id,
//! `azureml:/subscriptions/...`, `azureml://subscriptions/.../workspaces/<src>/...`) is made to
//! name the *target* workspace, with the same asset name and the version the target holds
//! (normally the same; different when the plan registered a new version). Relative references
//! (`azureml:name:version`, `azureml://datastores/...`) already resolve in whichever workspace
//! holds the spec, registry references and public URLs point outside both workspaces: all three
//! stay as they are. References into a third workspace are not touched either (and reported by
//! the caller as not copied). Every rewrite is returned so that the manifest lists it.

use super::graph::Edges;
use super::Kind;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// A workspace as (subscription, resource group, name); compared case-insensitively.
pub type WsId = (String, String, String);

/// A workspace reference as a [`WsId`].
pub fn ws_id(w: &crate::workspace::WorkspaceRef) -> WsId {
    (w.subscription_id.clone(), w.resource_group.clone(), w.workspace_name.clone())
}

pub fn same_ws(a: &WsId, b: &WsId) -> bool {
    a.0.eq_ignore_ascii_case(&b.0) && a.1.eq_ignore_ascii_case(&b.1) && a.2.eq_ignore_ascii_case(&b.2)
}

/// Which version a reference asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    Exact(String),
    /// `@latest`, or no version at all.
    Latest,
    /// `@<label>` other than latest (resolved like latest: the workspace API has no labels).
    Label(String),
}

/// A parsed reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    /// A versioned asset in a workspace (`None`: the workspace holding the spec).
    Asset { workspace: Option<WsId>, kind: Kind, name: String, version: VersionSpec },
    /// An asset in a registry: shared, neither copied nor rewritten.
    Registry(String),
    /// A path on a datastore.
    Datastore { workspace: Option<WsId>, datastore: String, path: String },
    /// Anything else: a URL, a local path, a literal.
    Other,
}

fn kind_of_segment(seg: &str) -> Option<Kind> {
    Some(match seg.to_ascii_lowercase().as_str() {
        "models" => Kind::Model,
        "environments" => Kind::Environment,
        "codes" => Kind::Code,
        "components" => Kind::Component,
        "data" => Kind::Data,
        _ => return None,
    })
}

/// Splits `/subscriptions/<s>/resourceGroups/<g>/providers/Microsoft.MachineLearningServices/workspaces/<w>/<rest>`.
fn split_arm(s: &str) -> Option<(WsId, &str)> {
    let t = s.strip_prefix('/')?;
    let parts: Vec<&str> = t.splitn(9, '/').collect();
    if parts.len() < 8 {
        return None;
    }
    let ok = parts[0].eq_ignore_ascii_case("subscriptions")
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case("Microsoft.MachineLearningServices")
        && parts[6].eq_ignore_ascii_case("workspaces");
    if !ok || parts[7].is_empty() {
        return None;
    }
    let rest = parts.get(8).copied().unwrap_or("");
    Some(((parts[1].to_string(), parts[3].to_string(), parts[7].to_string()), rest))
}

/// Splits `subscriptions/<s>/resourcegroups/<g>/workspaces/<w>/<rest>` (after `azureml://`).
fn split_azureml(s: &str) -> Option<(WsId, &str)> {
    let parts: Vec<&str> = s.splitn(7, '/').collect();
    if parts.len() < 6 {
        return None;
    }
    let ok = parts[0].eq_ignore_ascii_case("subscriptions") && parts[2].eq_ignore_ascii_case("resourcegroups") && parts[4].eq_ignore_ascii_case("workspaces");
    if !ok || parts[5].is_empty() {
        return None;
    }
    Some(((parts[1].to_string(), parts[3].to_string(), parts[5].to_string()), parts.get(6).copied().unwrap_or("")))
}

/// `<kind>/<name>/versions/<v>` after a workspace prefix.
fn asset_tail(rest: &str) -> Option<(Kind, String, VersionSpec)> {
    let p: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match p.as_slice() {
        [seg, name, v, ver] if v.eq_ignore_ascii_case("versions") && !name.is_empty() && !ver.is_empty() => {
            Some((kind_of_segment(seg)?, name.to_string(), VersionSpec::Exact(ver.to_string())))
        }
        [seg, name] if !name.is_empty() => Some((kind_of_segment(seg)?, name.to_string(), VersionSpec::Latest)),
        _ => None,
    }
}

fn datastore_tail(rest: &str) -> Option<(String, String)> {
    let p: Vec<&str> = rest.splitn(4, '/').collect();
    if p.len() >= 3 && p[0].eq_ignore_ascii_case("datastores") && p[2].eq_ignore_ascii_case("paths") && !p[1].is_empty() {
        Some((p[1].to_string(), p.get(3).copied().unwrap_or("").to_string()))
    } else {
        None
    }
}

impl Ref {
    /// Parses a reference found in a field that refers to assets of kind `expected` (the kind
    /// a short `azureml:name:version` means there).
    pub fn parse(s: &str, expected: Kind) -> Ref {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix("azureml://") {
            if rest.to_ascii_lowercase().starts_with("registries/") {
                return Ref::Registry(s.to_string());
            }
            if let Some((ws, tail)) = split_azureml(rest) {
                if let Some((datastore, path)) = datastore_tail(tail) {
                    return Ref::Datastore { workspace: Some(ws), datastore, path };
                }
                if let Some((kind, name, version)) = asset_tail(tail) {
                    return Ref::Asset { workspace: Some(ws), kind, name, version };
                }
                return Ref::Other;
            }
            if let Some((datastore, path)) = datastore_tail(rest) {
                return Ref::Datastore { workspace: None, datastore, path };
            }
            return Ref::Other;
        }
        let arm = s.strip_prefix("azureml:").unwrap_or(s);
        if arm.starts_with('/') {
            return match split_arm(arm).and_then(|(ws, tail)| asset_tail(tail).map(|a| (ws, a))) {
                Some((ws, (kind, name, version))) => Ref::Asset { workspace: Some(ws), kind, name, version },
                None => Ref::Other,
            };
        }
        let Some(short) = s.strip_prefix("azureml:") else { return Ref::Other };
        if short.is_empty() || short.contains('/') {
            return Ref::Other;
        }
        let (name, version) = if let Some((n, label)) = short.split_once('@') {
            (n, if label.eq_ignore_ascii_case("latest") { VersionSpec::Latest } else { VersionSpec::Label(label.to_string()) })
        } else if let Some((n, v)) = short.split_once(':') {
            (n, VersionSpec::Exact(v.to_string()))
        } else {
            (short, VersionSpec::Latest)
        };
        if name.is_empty() {
            return Ref::Other;
        }
        Ref::Asset { workspace: None, kind: expected, name: name.to_string(), version }
    }
}

/// A reference from one item to another asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// Where it was found, e.g. `componentSpec.code` or `jobs.train.component`.
    pub field: String,
    pub kind: Kind,
    pub name: String,
    pub version: VersionSpec,
    /// `None`: relative (the item's own workspace); else the workspace named.
    pub workspace: Option<WsId>,
}

/// Every asset an item's specification refers to (registry references and URLs are not
/// dependencies: they are shared). Each kind says which (`AssetKind::dependencies`).
pub fn dependencies(kind: Kind, props: &Value) -> Vec<Dep> {
    kind.spec().dependencies(props)
}

/// A component version's references (`componentSpec.code`, `.environment`, its `jobs` graph).
pub fn component_dependencies(props: &Value) -> Vec<Dep> {
    let mut out = Vec::new();
    if let Some(spec) = props.get("componentSpec") {
        component_deps(spec, "componentSpec", &mut out);
    }
    out
}

/// A pipeline job's references (its `jobs` graph and data inputs).
pub fn pipeline_dependencies(props: &Value) -> Vec<Dep> {
    let mut out = Vec::new();
    pipeline_deps(props, "", &mut out);
    out
}

/// A job's references, whatever its type: a pipeline's graph and data inputs, the code and
/// environment of a command or spark job (`codeId`, `environmentId`) and of a sweep's trial.
pub fn job_dependencies(props: &Value) -> Vec<Dep> {
    let mut out = pipeline_dependencies(props);
    for (prefix, v) in [("", Some(props)), ("trial", props.get("trial"))] {
        let Some(v) = v else { continue };
        for (key, kind) in [("codeId", Kind::Code), ("environmentId", Kind::Environment)] {
            if let Some(s) = v.get(key).and_then(Value::as_str) {
                push(&mut out, join(prefix, key), s, kind);
            }
        }
    }
    out
}

fn push(out: &mut Vec<Dep>, field: String, s: &str, expected: Kind) {
    if let Ref::Asset { workspace, kind, name, version } = Ref::parse(s, expected) {
        // A curated environment is in every workspace, like a registry's: shared, not copied.
        if !(kind == Kind::Environment && is_curated(&name)) {
            out.push(Dep { field, kind, name, version, workspace });
        }
    }
}

/// Environment names Azure ML reserves for its curated environments (`AzureML-sklearn-1.5`),
/// which every workspace answers: a reference to one is not a dependency to copy.
pub fn is_curated(name: &str) -> bool {
    name.starts_with("AzureML-")
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A component spec (`az ml` YAML as JSON): `code`, `environment`, and for pipeline
/// components the `jobs` graph.
fn component_deps(spec: &Value, prefix: &str, out: &mut Vec<Dep>) {
    if let Some(c) = spec.get("code").and_then(Value::as_str) {
        push(out, join(prefix, "code"), c, Kind::Code);
    }
    match spec.get("environment") {
        Some(Value::String(e)) => push(out, join(prefix, "environment"), e, Kind::Environment),
        Some(Value::Object(_)) | None => {}
        _ => {}
    }
    pipeline_deps(spec, prefix, out);
}

/// `jobs.<step>.component` (a reference or an inline component) and data inputs
/// (`inputs.<name>.path|uri`), in a pipeline job's REST properties or a pipeline component.
fn pipeline_deps(v: &Value, prefix: &str, out: &mut Vec<Dep>) {
    inputs_deps(v.get("inputs"), &join(prefix, "inputs"), out);
    let Some(jobs) = v.get("jobs").and_then(Value::as_object) else { return };
    for (step, job) in jobs {
        let jp = join(prefix, &format!("jobs.{step}"));
        for key in ["component", "componentId"] {
            match job.get(key) {
                Some(Value::String(c)) => push(out, format!("{jp}.{key}"), c, Kind::Component),
                Some(inline @ Value::Object(_)) => component_deps(inline, &format!("{jp}.{key}"), out),
                _ => {}
            }
        }
        // A sweep step's trial component: `trial: <ref>` (YAML) or `trial.componentId` (REST).
        match job.get("trial") {
            Some(Value::String(c)) => push(out, format!("{jp}.trial"), c, Kind::Component),
            Some(t @ Value::Object(_)) => {
                if let Some(c) = t.get("componentId").and_then(Value::as_str) {
                    push(out, format!("{jp}.trial.componentId"), c, Kind::Component);
                }
            }
            _ => {}
        }
        inputs_deps(job.get("inputs"), &format!("{jp}.inputs"), out);
        // A command step without a component (`type: command` inline).
        if job.get("component").is_none() && job.get("componentId").is_none() {
            if let Some(c) = job.get("code").and_then(Value::as_str) {
                push(out, format!("{jp}.code"), c, Kind::Code);
            }
            for key in ["environment", "environmentId"] {
                if let Some(e) = job.get(key).and_then(Value::as_str) {
                    push(out, format!("{jp}.{key}"), e, Kind::Environment);
                }
            }
        }
    }
}

fn inputs_deps(inputs: Option<&Value>, prefix: &str, out: &mut Vec<Dep>) {
    let Some(inputs) = inputs.and_then(Value::as_object) else { return };
    for (name, input) in inputs {
        for key in ["path", "uri"] {
            if let Some(s) = input.get(key).and_then(Value::as_str) {
                push(out, format!("{prefix}.{name}.{key}"), s, Kind::Data);
            }
        }
    }
}

/// Rewrite (src/assets/refs.rs).
// (One rewritten reference, as the manifest lists it.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "rewrite", deny_unknown_fields)]
pub struct Rewrite {
    pub field: String,
    pub from: String,
    pub to: String,
}

/// Rewrites references into `src` so that they name `dst`. `version_of(kind, name, version)`
/// gives the version the target holds for a source asset (the same one unless the plan chose
/// a new version).
pub struct Rewriter<'a> {
    pub src: WsId,
    pub dst: WsId,
    pub version_of: &'a dyn Fn(Kind, &str, &str) -> String,
}

impl Rewriter<'_> {
    fn dst_arm(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.dst.0, self.dst.1, self.dst.2
        )
    }

    fn remap_tail(&self, tail: &str) -> String {
        match asset_tail(tail) {
            Some((kind, name, VersionSpec::Exact(v))) => {
                let nv = (self.version_of)(kind, &name, &v);
                format!("{}/{name}/versions/{nv}", kind.segment())
            }
            _ => tail.to_string(),
        }
    }

    /// The rewritten form of one string, if it names the source workspace.
    pub fn rewrite_str(&self, s: &str) -> Option<String> {
        if let Some(rest) = s.strip_prefix("azureml://") {
            let (ws, tail) = split_azureml(rest)?;
            if !same_ws(&ws, &self.src) {
                return None;
            }
            let tail = if datastore_tail(tail).is_some() { tail.to_string() } else { self.remap_tail(tail) };
            return Some(format!("azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/{tail}", self.dst.0, self.dst.1, self.dst.2));
        }
        let (prefix, arm) = match s.strip_prefix("azureml:") {
            Some(a) => ("azureml:", a),
            None => ("", s),
        };
        if !arm.starts_with('/') {
            return None;
        }
        let (ws, tail) = split_arm(arm)?;
        if !same_ws(&ws, &self.src) {
            return None;
        }
        let tail = self.remap_tail(tail);
        Some(if tail.is_empty() { format!("{prefix}{}", self.dst_arm()) } else { format!("{prefix}{}/{tail}", self.dst_arm()) })
    }

    /// Rewrites every string in `v` (recursively) and returns what changed, field by field.
    pub fn rewrite(&self, v: &mut Value) -> Vec<Rewrite> {
        let mut out = Vec::new();
        self.walk(v, String::new(), &mut out);
        out
    }

    fn walk(&self, v: &mut Value, path: String, out: &mut Vec<Rewrite>) {
        match v {
            Value::String(s) => {
                if let Some(new) = self.rewrite_str(s) {
                    if new != *s {
                        out.push(Rewrite { field: path, from: s.clone(), to: new.clone() });
                        *s = new;
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter_mut().enumerate() {
                    self.walk(x, format!("{path}[{i}]"), out);
                }
            }
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    self.walk(x, p, out);
                }
            }
            _ => {}
        }
    }
}

/// What each item references in the source workspace `src` (or relatively): its edges.
/// `items`: (key, the kind its properties are parsed as, the properties). A `@latest` or
/// label reference takes the version `latest` names, else stays "latest". One place for plan
/// and snapshots.
pub fn edges_of<'a>(items: impl Iterator<Item = ((Kind, String, String), Kind, &'a Value)>, src: &WsId, latest: &HashMap<(Kind, String), String>) -> Edges<(Kind, String, String)> {
    let mut edges: Edges<(Kind, String, String)> = BTreeMap::new();
    for (k, kind, props) in items {
        let deps: Vec<(Kind, String, String)> = dependencies(kind, props)
            .into_iter()
            .filter(|d| d.workspace.as_ref().is_none_or(|w| same_ws(w, src)))
            .map(|d| {
                let v = match d.version {
                    VersionSpec::Exact(v) => v,
                    VersionSpec::Latest | VersionSpec::Label(_) => latest.get(&(d.kind, d.name.clone())).cloned().unwrap_or_else(|| "latest".into()),
                };
                (d.kind, d.name, v)
            })
            .collect();
        if !deps.is_empty() {
            edges.insert(k, deps);
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SRC: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/primary";

    fn ws(n: &str) -> WsId {
        ("s1".into(), "rg".into(), n.into())
    }

    #[test]
    fn parses_every_reference_form() {
        assert_eq!(
            Ref::parse(&format!("azureml:{SRC}/codes/c1/versions/1"), Kind::Code),
            Ref::Asset { workspace: Some(ws("primary")), kind: Kind::Code, name: "c1".into(), version: VersionSpec::Exact("1".into()) }
        );
        // ARM segments are case-insensitive; the bare ARM id works too.
        let lower = SRC.to_ascii_lowercase();
        assert!(matches!(Ref::parse(&format!("{lower}/Environments/e/versions/3"), Kind::Code), Ref::Asset { kind: Kind::Environment, .. }));
        assert_eq!(
            Ref::parse("azureml:my-env:2", Kind::Environment),
            Ref::Asset { workspace: None, kind: Kind::Environment, name: "my-env".into(), version: VersionSpec::Exact("2".into()) }
        );
        assert_eq!(
            Ref::parse("azureml:train@latest", Kind::Component),
            Ref::Asset { workspace: None, kind: Kind::Component, name: "train".into(), version: VersionSpec::Latest }
        );
        assert!(matches!(Ref::parse("azureml:train@prod", Kind::Component), Ref::Asset { version: VersionSpec::Label(ref l), .. } if l == "prod"));
        assert!(matches!(Ref::parse("azureml://registries/azureml/environments/sklearn-1.5/labels/latest", Kind::Environment), Ref::Registry(_)));
        assert_eq!(
            Ref::parse("azureml://datastores/workspaceblobstore/paths/data/x.csv", Kind::Data),
            Ref::Datastore { workspace: None, datastore: "workspaceblobstore".into(), path: "data/x.csv".into() }
        );
        assert!(matches!(
            Ref::parse("azureml://subscriptions/s1/resourcegroups/rg/workspaces/primary/datastores/d/paths/p", Kind::Data),
            Ref::Datastore { workspace: Some(_), .. }
        ));
        for other in ["https://azuremlexamples.blob.core.windows.net/datasets/iris.csv", "./train_src", "literal", "azureml:"] {
            assert_eq!(Ref::parse(other, Kind::Data), Ref::Other, "{other}");
        }
    }

    #[test]
    fn dependencies_of_components_and_pipelines() {
        let comp = json!({"componentSpec": {"code": format!("azureml:{SRC}/codes/c1/versions/1"),
            "environment": "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"}});
        let d = dependencies(Kind::Component, &comp);
        assert_eq!(d.len(), 1, "registry environments are not dependencies: {d:?}");
        assert_eq!((d[0].kind, d[0].name.as_str(), d[0].field.as_str()), (Kind::Code, "c1", "componentSpec.code"));

        let job = json!({"jobType": "Pipeline",
            "inputs": {"raw": {"jobInputType": "uri_file", "uri": "azureml:titanic:1"},
                       "web": {"jobInputType": "uri_file", "uri": "https://example.com/x.csv"}},
            "jobs": {
                "train": {"type": "command", "component": "azureml:train:3", "inputs": {"d": {"path": "${{parent.inputs.raw}}"}}},
                "score": {"componentId": format!("{SRC}/components/score/versions/1")},
                "inline": {"type": "command", "component": {"code": "azureml:src:2", "environment": "azureml:env@latest"}},
                "reg": {"component": "azureml://registries/azureml/components/x/versions/1"},
                "sweep": {"type": "sweep", "trial": "azureml:trial_c:2"},
                "sweep_rest": {"type": "sweep", "trial": {"componentId": format!("{SRC}/components/trial_r/versions/1")}}
            }});
        let mut got: Vec<(Kind, String, String)> = dependencies(Kind::Job, &job).into_iter().map(|d| (d.kind, d.name, d.field)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                (Kind::Environment, "env".into(), "jobs.inline.component.environment".into()),
                (Kind::Code, "src".into(), "jobs.inline.component.code".into()),
                (Kind::Component, "score".into(), "jobs.score.componentId".into()),
                (Kind::Component, "train".into(), "jobs.train.component".into()),
                (Kind::Component, "trial_c".into(), "jobs.sweep.trial".into()),
                (Kind::Component, "trial_r".into(), "jobs.sweep_rest.trial.componentId".into()),
                (Kind::Data, "titanic".into(), "inputs.raw.uri".into()),
            ]
        );
        // A command job's and a sweep trial's code and environment.
        let cmd = json!({"jobType": "Command", "codeId": format!("{SRC}/codes/c1/versions/1"), "environmentId": "azureml:env:2"});
        let d: Vec<(Kind, String)> = dependencies(Kind::Job, &cmd).into_iter().map(|d| (d.kind, d.field)).collect();
        assert_eq!(d, [(Kind::Code, "codeId".to_string()), (Kind::Environment, "environmentId".to_string())]);
        let sweep = json!({"jobType": "Sweep", "trial": {"environmentId": "azureml:env:2", "command": "x"}});
        assert_eq!(dependencies(Kind::Job, &sweep)[0].field, "trial.environmentId");
        // A curated environment is in every workspace: not a dependency.
        let curated = json!({"jobType": "Command", "environmentId": format!("azureml:{SRC}/environments/AzureML-sklearn-1.5/versions/30")});
        assert!(dependencies(Kind::Job, &curated).is_empty());
    }

    #[test]
    fn rewrites_source_references_only() {
        let same = |_: Kind, _: &str, v: &str| v.to_string();
        let rw = Rewriter { src: ws("primary"), dst: ("s2".into(), "rg2".into(), "failover".into()), version_of: &same };
        let mut v = json!({
            "code": format!("azureml:{SRC}/codes/c1/versions/1"),
            "computeId": format!("{}/computes/cpu", SRC.to_ascii_lowercase()),
            "data": "azureml://subscriptions/S1/resourcegroups/RG/workspaces/primary/datastores/workspaceblobstore/paths/a/b.csv",
            "other_ws": "azureml:/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/third/codes/c/versions/1",
            "registry": "azureml://registries/azureml/environments/sklearn-1.5/labels/latest",
            "public": "https://azuremlexamples.blob.core.windows.net/datasets/iris.csv",
            "short": "azureml:train:1",
            "list": ["azureml://datastores/workspaceblobstore/paths/x"]
        });
        let before = v.clone();
        let rewrites = rw.rewrite(&mut v);
        let dst = "/subscriptions/s2/resourceGroups/rg2/providers/Microsoft.MachineLearningServices/workspaces/failover";
        assert_eq!(v["code"], format!("azureml:{dst}/codes/c1/versions/1"));
        assert_eq!(v["computeId"], format!("{dst}/computes/cpu"));
        assert_eq!(v["data"], "azureml://subscriptions/s2/resourcegroups/rg2/workspaces/failover/datastores/workspaceblobstore/paths/a/b.csv");
        for untouched in ["other_ws", "registry", "public", "short", "list"] {
            assert_eq!(v[untouched], before[untouched], "{untouched}");
        }
        let fields: Vec<&str> = rewrites.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["code", "computeId", "data"]);
        assert_eq!(rewrites[0].from, before["code"].as_str().unwrap());
    }

    #[test]
    fn rewrite_follows_new_versions() {
        let bump = |k: Kind, _: &str, v: &str| if k == Kind::Code { "7".to_string() } else { v.to_string() };
        let rw = Rewriter { src: ws("primary"), dst: ws("failover"), version_of: &bump };
        let got = rw.rewrite_str(&format!("azureml:{SRC}/codes/c1/versions/1")).unwrap();
        assert!(got.ends_with("/workspaces/failover/codes/c1/versions/7"), "{got}");
        let env = rw.rewrite_str(&format!("azureml:{SRC}/environments/e/versions/1")).unwrap();
        assert!(env.ends_with("/environments/e/versions/1"), "{env}");
    }
}
