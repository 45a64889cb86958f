//! Jobs of every type, as `az ml` v2 YAML and as the REST `JobBase` of the 2025-12-01 API
//! (`CommandJob`, `PipelineJob`, `SweepJob`, `AutoMLJob`, `SparkJob`; mfe.json), converted both
//! ways, and the definition a job becomes in another workspace.
//!
//! The model: a [`JobType`] picks a table of [`Field`]s (YAML key, REST key, how the value
//! converts). Keys that a table does not name are carried verbatim in both directions, so a
//! field the tool does not model is never dropped. Pure functions: references are resolved
//! (code uploaded, `@latest` pinned) by the caller before `to_rest`.
//!
//! Definitions (what `job create` and `copy` register by default, since creating a job runs it):
//! a command job becomes a command component, a pipeline job a pipeline component, a sweep job
//! a command component of its trial; each carries in `properties` what a component has no field
//! for (`aml-failover.job`: the job's REST properties, so that `--submit` recreates it). Other
//! types (AutoML, Spark) have no component form: they are kept as their REST definition.

use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use serde_json::{json, Map, Value};

pub const COMMAND_COMPONENT_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json";
pub const PIPELINE_COMPONENT_SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json";

/// The job types of `JobBase.jobType` (discriminator values in mfe.json).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobType {
    Command,
    Pipeline,
    Sweep,
    AutoML,
    Spark,
    /// Any other `jobType` (Labeling, FineTuning…): carried verbatim.
    Other(String),
}

impl JobType {
    /// From an `az ml` YAML: its `type:`, or a command job when it has `command:` and no type.
    pub fn of_yaml(y: &Value) -> Result<JobType> {
        match y.get("type").and_then(Value::as_str) {
            Some(t) => Ok(match t.to_ascii_lowercase().as_str() {
                "command" => JobType::Command,
                "pipeline" => JobType::Pipeline,
                "sweep" => JobType::Sweep,
                "automl" => JobType::AutoML,
                "spark" => JobType::Spark,
                other => return Err(Error::usage(format!("job type '{other}' is not one of command, pipeline, sweep, automl, spark"))),
            }),
            None if y.get("command").is_some() => Ok(JobType::Command),
            None if y.get("jobs").is_some() || y.get("component").is_some() => Ok(JobType::Pipeline),
            None => Err(Error::usage("the YAML has no type: and no command: or jobs:; give type: command|pipeline|sweep|automl|spark")),
        }
    }

    pub fn of_rest(p: &Value) -> JobType {
        match p.get("jobType").and_then(Value::as_str).unwrap_or("") {
            "Command" => JobType::Command,
            "Pipeline" => JobType::Pipeline,
            "Sweep" => JobType::Sweep,
            "AutoML" => JobType::AutoML,
            "Spark" => JobType::Spark,
            other => JobType::Other(other.to_string()),
        }
    }

    pub fn rest(&self) -> &str {
        match self {
            JobType::Command => "Command",
            JobType::Pipeline => "Pipeline",
            JobType::Sweep => "Sweep",
            JobType::AutoML => "AutoML",
            JobType::Spark => "Spark",
            JobType::Other(s) => s,
        }
    }

    /// Whether a job of this type has a definition form (a component, see [`definition`]):
    /// command, sweep and pipeline jobs; AutoML, spark and others are kept as REST only.
    pub fn has_definition(&self) -> bool {
        matches!(self, JobType::Command | JobType::Sweep | JobType::Pipeline)
    }

    pub fn yaml(&self) -> String {
        match self {
            JobType::Other(s) => s.to_ascii_lowercase(),
            t => t.rest().to_ascii_lowercase(),
        }
    }

    pub fn schema(&self) -> Option<&'static str> {
        Some(match self {
            JobType::Command => "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json",
            JobType::Pipeline => "https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json",
            JobType::Sweep => "https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json",
            JobType::Spark => "https://azuremlschemas.azureedge.net/latest/sparkJob.schema.json",
            _ => return None,
        })
    }

    fn fields(&self) -> &'static [Field] {
        match self {
            JobType::Command => COMMAND,
            JobType::Pipeline => PIPELINE,
            JobType::Sweep => SWEEP,
            JobType::AutoML => AUTOML,
            JobType::Spark => SPARK,
            JobType::Other(_) => &[],
        }
    }
}

/// How one value converts between YAML and REST.
#[derive(Clone, Copy)]
enum Conv {
    Same,
    /// `azureml:<ARM id>` / `azureml:<name>:<version>` in YAML, an ARM id in REST.
    ArmId,
    /// A compute: `azureml:<name>` in YAML, an ARM id in REST.
    Compute,
    /// Seconds in YAML, an ISO 8601 duration in REST.
    Duration,
    Inputs,
    Outputs,
    /// A nested object with its own table.
    Nested(&'static [Field]),
    /// Like `Nested`, with a discriminator: (YAML key, REST key, values YAML↔REST).
    Tagged(&'static str, &'static str, &'static [(&'static str, &'static str)], &'static [Field]),
    /// `limits`: a nested object with `jobLimitsType` set in REST.
    Limits(&'static str, &'static [Field]),
    SearchSpace,
    /// `sampling_algorithm`: a string or an object in YAML, an object in REST.
    Sampling,
    /// A value from a closed set: (YAML, REST) spellings.
    Enum(&'static [(&'static str, &'static str)]),
}

#[derive(Clone, Copy)]
struct Field {
    yaml: &'static str,
    rest: &'static str,
    conv: Conv,
}

const fn f(yaml: &'static str, rest: &'static str, conv: Conv) -> Field {
    Field { yaml, rest, conv }
}

const COMMON: &[Field] = &[
    f("display_name", "displayName", Conv::Same),
    f("experiment_name", "experimentName", Conv::Same),
    f("description", "description", Conv::Same),
    f("tags", "tags", Conv::Same),
    f("properties", "properties", Conv::Same),
    f("compute", "computeId", Conv::Compute),
    f("component", "componentId", Conv::ArmId),
    f("identity", "identity", Conv::Same),
    f("notification_setting", "notificationSetting", Conv::Same),
    f("services", "services", Conv::Same),
];

const RESOURCES: &[Field] = &[
    f("instance_count", "instanceCount", Conv::Same),
    f("instance_type", "instanceType", Conv::Same),
    f("properties", "properties", Conv::Same),
    f("shm_size", "shmSize", Conv::Same),
    f("docker_args", "dockerArgs", Conv::Same),
    f("runtime_version", "runtimeVersion", Conv::Same),
];

const DISTRIBUTION: &[Field] = &[
    f("process_count_per_instance", "processCountPerInstance", Conv::Same),
    f("parameter_server_count", "parameterServerCount", Conv::Same),
    f("worker_count", "workerCount", Conv::Same),
];
const DISTRIBUTION_TYPES: &[(&str, &str)] = &[("pytorch", "PyTorch"), ("tensorflow", "TensorFlow"), ("mpi", "Mpi")];

const QUEUE: &[Field] = &[f("job_tier", "jobTier", Conv::Same)];

const COMMAND_LIMITS: &[Field] = &[f("timeout", "timeout", Conv::Duration)];

const TRIAL: &[Field] = &[
    f("command", "command", Conv::Same),
    f("code", "codeId", Conv::ArmId),
    f("environment", "environmentId", Conv::ArmId),
    f("environment_variables", "environmentVariables", Conv::Same),
    f("distribution", "distribution", Conv::Tagged("type", "distributionType", DISTRIBUTION_TYPES, DISTRIBUTION)),
    f("resources", "resources", Conv::Nested(RESOURCES)),
];

const COMMAND: &[Field] = &[
    f("command", "command", Conv::Same),
    f("code", "codeId", Conv::ArmId),
    f("environment", "environmentId", Conv::ArmId),
    f("environment_variables", "environmentVariables", Conv::Same),
    f("distribution", "distribution", Conv::Tagged("type", "distributionType", DISTRIBUTION_TYPES, DISTRIBUTION)),
    f("resources", "resources", Conv::Nested(RESOURCES)),
    f("limits", "limits", Conv::Limits("Command", COMMAND_LIMITS)),
    f("queue_settings", "queueSettings", Conv::Same),
    f("inputs", "inputs", Conv::Inputs),
    f("outputs", "outputs", Conv::Outputs),
];

const PIPELINE: &[Field] = &[
    f("inputs", "inputs", Conv::Inputs),
    f("outputs", "outputs", Conv::Outputs),
    f("jobs", "jobs", Conv::Same),
    f("settings", "settings", Conv::Same),
    f("source_job_id", "sourceJobId", Conv::Same),
];

const GOALS: &[(&str, &str)] = &[("minimize", "Minimize"), ("maximize", "Maximize")];
const OBJECTIVE: &[Field] = &[f("goal", "goal", Conv::Enum(GOALS)), f("primary_metric", "primaryMetric", Conv::Same)];
const SWEEP_LIMITS: &[Field] = &[
    f("max_total_trials", "maxTotalTrials", Conv::Same),
    f("max_concurrent_trials", "maxConcurrentTrials", Conv::Same),
    f("timeout", "timeout", Conv::Duration),
    f("trial_timeout", "trialTimeout", Conv::Duration),
];
const POLICIES: &[(&str, &str)] = &[("bandit", "Bandit"), ("median_stopping", "MedianStopping"), ("truncation_selection", "TruncationSelection")];
const EARLY: &[Field] = &[
    f("delay_evaluation", "delayEvaluation", Conv::Same),
    f("evaluation_interval", "evaluationInterval", Conv::Same),
    f("slack_amount", "slackAmount", Conv::Same),
    f("slack_factor", "slackFactor", Conv::Same),
    f("truncation_percentage", "truncationPercentage", Conv::Same),
];

const SWEEP: &[Field] = &[
    f("trial", "trial", Conv::Nested(TRIAL)),
    f("search_space", "searchSpace", Conv::SearchSpace),
    f("sampling_algorithm", "samplingAlgorithm", Conv::Sampling),
    f("objective", "objective", Conv::Nested(OBJECTIVE)),
    f("limits", "limits", Conv::Limits("Sweep", SWEEP_LIMITS)),
    f("early_termination", "earlyTermination", Conv::Tagged("type", "policyType", POLICIES, EARLY)),
    f("queue_settings", "queueSettings", Conv::Nested(QUEUE)),
    f("inputs", "inputs", Conv::Inputs),
    f("outputs", "outputs", Conv::Outputs),
];

/// AutoML: the common fields, inputs/outputs and environment; the task (`taskDetails`) is
/// carried as the REST document holds it (the YAML's task fields are flattened there by
/// `az ml`; the tool keeps what it is given).
const AUTOML: &[Field] = &[
    f("environment", "environmentId", Conv::ArmId),
    f("environment_variables", "environmentVariables", Conv::Same),
    f("resources", "resources", Conv::Nested(RESOURCES)),
    f("queue_settings", "queueSettings", Conv::Nested(QUEUE)),
    f("outputs", "outputs", Conv::Outputs),
    f("task_details", "taskDetails", Conv::Same),
];

const SPARK: &[Field] = &[
    f("code", "codeId", Conv::ArmId),
    f("environment", "environmentId", Conv::ArmId),
    f("environment_variables", "environmentVariables", Conv::Same),
    f("entry", "entry", Conv::Same),
    f("args", "args", Conv::Same),
    f("conf", "conf", Conv::Same),
    f("py_files", "pyFiles", Conv::Same),
    f("jars", "jars", Conv::Same),
    f("files", "files", Conv::Same),
    f("archives", "archives", Conv::Same),
    f("resources", "resources", Conv::Nested(RESOURCES)),
    f("queue_settings", "queueSettings", Conv::Nested(QUEUE)),
    f("inputs", "inputs", Conv::Inputs),
    f("outputs", "outputs", Conv::Outputs),
];

/// Input modes (YAML, REST `InputDeliveryMode`/`OutputDeliveryMode`).
const MODES: &[(&str, &str)] = &[
    ("ro_mount", "ReadOnlyMount"),
    ("rw_mount", "ReadWriteMount"),
    ("download", "Download"),
    ("direct", "Direct"),
    ("eval_mount", "EvalMount"),
    ("eval_download", "EvalDownload"),
    ("upload", "Upload"),
];

/// Search-space distributions and their parameters in the order REST lists them.
const DISTRIBUTIONS: &[(&str, &[&str])] = &[
    ("randint", &["upper"]),
    ("uniform", &["min_value", "max_value"]),
    ("loguniform", &["min_value", "max_value"]),
    ("quniform", &["min_value", "max_value", "q"]),
    ("qloguniform", &["min_value", "max_value", "q"]),
    ("normal", &["mu", "sigma"]),
    ("lognormal", &["mu", "sigma"]),
    ("qnormal", &["mu", "sigma", "q"]),
    ("qlognormal", &["mu", "sigma", "q"]),
];

const SAMPLING: &[(&str, &str)] = &[("random", "Random"), ("grid", "Grid"), ("bayesian", "Bayesian")];

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    ToRest,
    ToYaml,
}

/// Which side a conversion writes references for: the REST side needs `ws` to expand
/// `azureml:<name>:<version>` and computes; the YAML side shortens references into `ws`
/// (`None`: keeps ARM ids as `azureml:<ARM id>`).
struct Ctx<'a> {
    dir: Dir,
    ws: Option<&'a WorkspaceRef>,
}

fn map_enum(table: &[(&str, &str)], v: &Value, dir: Dir) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    for (y, r) in table {
        match dir {
            Dir::ToRest if s.eq_ignore_ascii_case(y) || s.eq_ignore_ascii_case(r) => return json!(r),
            Dir::ToYaml if s.eq_ignore_ascii_case(r) || s.eq_ignore_ascii_case(y) => return json!(y),
            _ => {}
        }
    }
    v.clone()
}

/// Seconds → `PT<n>S`; ISO durations pass.
fn to_iso(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(format!("PT{}S", n)),
        Value::String(s) if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() => json!(format!("PT{s}S")),
        other => other.clone(),
    }
}

/// `PT1H30M5S` → 5405; anything else passes.
fn from_iso(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    let Some(t) = s.strip_prefix("PT").or_else(|| s.strip_prefix("pt")) else { return v.clone() };
    let (mut total, mut num) = (0f64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let Ok(n) = num.parse::<f64>() else { return v.clone() };
        total += n * match c.to_ascii_uppercase() {
            'H' => 3600.0,
            'M' => 60.0,
            'S' => 1.0,
            _ => return v.clone(),
        };
        num.clear();
    }
    if !num.is_empty() || total.fract() != 0.0 {
        return v.clone();
    }
    json!(total as u64)
}

fn arm_to_rest(s: &str, kind: &str, ws: Option<&WorkspaceRef>) -> String {
    let short = s.strip_prefix("azureml:").unwrap_or(s);
    if short.starts_with('/') {
        return short.to_string();
    }
    if let (Some(ws), Some((name, version))) = (ws, short.split_once(':')) {
        if !short.contains('/') && !name.is_empty() && !version.is_empty() {
            return format!("{}/{kind}/{name}/versions/{version}", ws.arm_id());
        }
    }
    s.to_string()
}

fn convert_arm(v: &Value, kind: &str, c: &Ctx) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    match c.dir {
        Dir::ToRest => json!(arm_to_rest(s, kind, c.ws)),
        Dir::ToYaml => json!(c.ws.and_then(|ws| portable_ref(s, ws)).unwrap_or_else(|| if s.starts_with('/') { format!("azureml:{s}") } else { s.to_string() })),
    }
}

fn convert_compute(v: &Value, c: &Ctx) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    match c.dir {
        Dir::ToRest => match (s.strip_prefix("azureml:"), c.ws) {
            (Some(n), Some(ws)) if !n.starts_with('/') && !n.contains(':') && !n.contains('/') => json!(format!("{}/computes/{n}", ws.arm_id())),
            (Some(n), _) if n.starts_with('/') => json!(n),
            (None, Some(ws)) if !s.starts_with('/') && !s.contains(':') && !s.is_empty() => json!(format!("{}/computes/{s}", ws.arm_id())),
            _ => v.clone(),
        },
        Dir::ToYaml => json!(c.ws.and_then(|ws| portable_ref(s, ws)).unwrap_or_else(|| if s.starts_with('/') { format!("azureml:{s}") } else { s.to_string() })),
    }
}

fn convert_obj(v: &Value, table: &[Field], c: &Ctx) -> Value {
    convert_top(v, &[table], c)
}

/// Like `convert_obj` with several tables (a job type's fields and the common ones).
fn convert_top(v: &Value, tables: &[&[Field]], c: &Ctx) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    let mut out = Map::new();
    for (k, val) in m {
        let field = tables.iter().flat_map(|t| t.iter()).find(|fl| match c.dir {
            Dir::ToRest => fl.yaml == k,
            Dir::ToYaml => fl.rest == k,
        });
        match field {
            Some(fl) => {
                if val.is_null() {
                    continue;
                }
                let key = if c.dir == Dir::ToRest { fl.rest } else { fl.yaml };
                let kind = match (fl.yaml, fl.rest) {
                    ("code", _) => "codes",
                    ("environment", _) => "environments",
                    ("component", _) => "components",
                    _ => "",
                };
                out.insert(key.to_string(), convert_value(val, fl.conv, kind, c));
            }
            // Not modelled: carried verbatim.
            None => {
                out.insert(k.clone(), val.clone());
            }
        }
    }
    Value::Object(out)
}

fn convert_value(v: &Value, conv: Conv, kind: &str, c: &Ctx) -> Value {
    match conv {
        Conv::Same => v.clone(),
        Conv::ArmId => convert_arm(v, kind, c),
        Conv::Compute => convert_compute(v, c),
        Conv::Duration => match c.dir {
            Dir::ToRest => to_iso(v),
            Dir::ToYaml => from_iso(v),
        },
        Conv::Inputs => convert_io(v, c, true),
        Conv::Outputs => convert_io(v, c, false),
        Conv::Nested(t) => convert_obj(v, t, c),
        Conv::Enum(t) => map_enum(t, v, c.dir),
        Conv::Tagged(ykey, rkey, values, t) => {
            let mut out = convert_obj(v, t, c);
            if let Value::Object(m) = &mut out {
                let (from, to) = if c.dir == Dir::ToRest { (ykey, rkey) } else { (rkey, ykey) };
                if let Some(tag) = m.remove(from) {
                    m.insert(to.to_string(), map_enum(values, &tag, c.dir));
                }
            }
            out
        }
        Conv::Limits(tag, t) => {
            let mut out = convert_obj(v, t, c);
            if let Value::Object(m) = &mut out {
                match c.dir {
                    Dir::ToRest => {
                        m.insert("jobLimitsType".into(), json!(tag));
                    }
                    Dir::ToYaml => {
                        m.remove("jobLimitsType");
                    }
                }
            }
            out
        }
        Conv::SearchSpace => search_space(v, c.dir),
        Conv::Sampling => match c.dir {
            Dir::ToRest => match v {
                Value::String(s) => json!({"samplingAlgorithmType": map_enum(SAMPLING, &json!(s), Dir::ToRest)}),
                Value::Object(_) => convert_value(v, Conv::Tagged("type", "samplingAlgorithmType", SAMPLING, &[]), kind, c),
                other => other.clone(),
            },
            Dir::ToYaml => match v.as_object() {
                Some(m) if m.len() == 1 && m.contains_key("samplingAlgorithmType") => map_enum(SAMPLING, &m["samplingAlgorithmType"], Dir::ToYaml),
                _ => convert_value(v, Conv::Tagged("type", "samplingAlgorithmType", SAMPLING, &[]), kind, c),
            },
        },
    }
}

fn search_space(v: &Value, dir: Dir) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    let mut out = Map::new();
    for (k, d) in m {
        let conv = match dir {
            Dir::ToRest => (|| {
                let t = d.get("type")?.as_str()?;
                if t == "choice" {
                    return Some(json!(["choice", [d.get("values").cloned().unwrap_or(json!([]))]]));
                }
                let (_, params) = DISTRIBUTIONS.iter().find(|(n, _)| *n == t)?;
                let vals: Option<Vec<Value>> = params.iter().map(|p| d.get(*p).cloned()).collect();
                Some(json!([t, vals?]))
            })(),
            Dir::ToYaml => (|| {
                let a = d.as_array()?;
                let t = a.first()?.as_str()?;
                let args = a.get(1)?.as_array()?;
                if t == "choice" {
                    return Some(json!({"type": "choice", "values": args.first().cloned().unwrap_or(json!([]))}));
                }
                let (_, params) = DISTRIBUTIONS.iter().find(|(n, _)| *n == t)?;
                let mut o = Map::new();
                o.insert("type".into(), json!(t));
                for (p, val) in params.iter().zip(args) {
                    o.insert(p.to_string(), val.clone());
                }
                Some(Value::Object(o))
            })(),
        };
        out.insert(k.clone(), conv.unwrap_or_else(|| d.clone()));
    }
    Value::Object(out)
}

/// Inputs/outputs: a YAML scalar input is a literal (`{jobInputType: literal, value: "<text>"}`
/// in REST, whose `value` is a string); an object has `type`, `path`, `mode` ↔
/// `jobInputType`/`jobOutputType`, `uri`, `mode` (modes spelled as each side does).
fn convert_io(v: &Value, c: &Ctx, inputs: bool) -> Value {
    let Value::Object(m) = v else { return v.clone() };
    let tkey = if inputs { "jobInputType" } else { "jobOutputType" };
    let mut out = Map::new();
    for (k, i) in m {
        let conv = match (c.dir, i) {
            (Dir::ToRest, Value::Object(o)) => {
                let mut r = Map::new();
                for (ik, iv) in o {
                    match ik.as_str() {
                        "type" => r.insert(tkey.into(), iv.clone()),
                        "path" => r.insert("uri".into(), iv.clone()),
                        "mode" => r.insert("mode".into(), map_enum(MODES, iv, Dir::ToRest)),
                        "value" if o.get("type").and_then(Value::as_str) == Some("literal") => r.insert("value".into(), json!(literal_text(iv))),
                        _ => r.insert(ik.clone(), iv.clone()),
                    };
                }
                r.entry(tkey).or_insert(json!("uri_folder"));
                Value::Object(r)
            }
            (Dir::ToRest, Value::Null) if !inputs => json!({tkey: "uri_folder"}),
            (Dir::ToRest, scalar) => json!({"jobInputType": "literal", "value": literal_text(scalar)}),
            (Dir::ToYaml, Value::Object(o)) => {
                if o.get(tkey).and_then(Value::as_str) == Some("literal") && o.keys().all(|k| k == tkey || k == "value") {
                    out.insert(k.clone(), literal_value(o.get("value").unwrap_or(&Value::Null)));
                    continue;
                }
                let mut y = Map::new();
                for (ik, iv) in o {
                    if iv.is_null() {
                        continue;
                    }
                    match ik.as_str() {
                        t if t == tkey => y.insert("type".into(), iv.clone()),
                        "uri" => y.insert("path".into(), iv.clone()),
                        "mode" => y.insert("mode".into(), map_enum(MODES, iv, Dir::ToYaml)),
                        _ => y.insert(ik.clone(), iv.clone()),
                    };
                }
                Value::Object(y)
            }
            (Dir::ToYaml, other) => other.clone(),
        };
        out.insert(k.clone(), conv);
    }
    Value::Object(out)
}

/// A literal as REST stores it: text (`0.5`, `true`, `hello`).
fn literal_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// REST literal text back to the YAML value: numbers and booleans as such (what `az ml`
/// writes for `inputs: {A: 0.5}`), anything else a string.
pub fn literal_value(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    if let Ok(i) = s.parse::<i64>() {
        return json!(i);
    }
    if let Ok(x) = s.parse::<f64>() {
        if x.is_finite() && s.contains(['.', 'e', 'E']) {
            return json!(x);
        }
    }
    match s {
        "true" | "True" => json!(true),
        "false" | "False" => json!(false),
        _ => json!(s),
    }
}

/// `az ml` job YAML → REST job properties (`JobBase` with `jobType`). References must be
/// resolved by the caller (local code uploaded, `@latest` pinned); `azureml:<name>:<version>`
/// and compute names are expanded into `ws`.
pub fn to_rest(y: &Value, ws: &WorkspaceRef) -> Result<Value> {
    let t = JobType::of_yaml(y)?;
    let mut src = y.as_object().cloned().ok_or_else(|| Error::usage("the job YAML is not a mapping"))?;
    for k in ["$schema", "type", "name"] {
        src.remove(k);
    }
    let c = Ctx { dir: Dir::ToRest, ws: Some(ws) };
    let mut out = convert_top(&Value::Object(src), &[t.fields(), COMMON], &c);
    if let Some(m) = out.as_object_mut() {
        let mut with_type = Map::new();
        with_type.insert("jobType".into(), json!(t.rest()));
        with_type.extend(std::mem::take(m));
        *m = with_type;
    }
    Ok(out)
}

/// REST job properties → `az ml` job YAML. With `ws`, references into it are shortened
/// (`azureml:<name>:<version>`, `azureml:<compute>`); without, ARM ids are kept as
/// `azureml:<ARM id>`. Run state (status, services, outputs' run paths) is not written.
pub fn to_yaml(name: Option<&str>, p: &Value, ws: Option<&WorkspaceRef>) -> Value {
    let t = JobType::of_rest(p);
    let mut src = portable_job(p);
    if let Some(m) = src.as_object_mut() {
        m.remove("jobType");
    }
    let c = Ctx { dir: Dir::ToYaml, ws };
    let body = convert_top(&src, &[t.fields(), COMMON], &c);
    let mut y = Map::new();
    if let Some(s) = t.schema() {
        y.insert("$schema".into(), json!(s));
    }
    y.insert("type".into(), json!(t.yaml()));
    if let Some(n) = name {
        y.insert("name".into(), json!(n));
    }
    for (k, v) in body.as_object().into_iter().flatten() {
        if v.as_object().is_some_and(|m| m.is_empty()) && matches!(k.as_str(), "tags" | "properties" | "settings" | "environment_variables" | "inputs" | "outputs") {
            continue;
        }
        y.insert(k.clone(), v.clone());
    }
    let mut v = Value::Object(y);
    if let Some(ws) = ws {
        portable_strings(&mut v, ws);
    }
    v
}

/// Fields a job gets from the service, or that describe one run: never written elsewhere.
const RUN_FIELDS: &[&str] = &["status", "services", "parameters", "provisioningState", "isArchived", "notificationSetting", "identity"];

/// The job's properties as written to another workspace with `--submit`: run state dropped,
/// nulls dropped, outputs' run paths dropped (the new run writes its own).
pub fn portable_job(props: &Value) -> Value {
    let mut p = props.clone();
    if let Value::Object(m) = &mut p {
        for k in RUN_FIELDS {
            m.remove(*k);
        }
        m.retain(|_, v| !v.is_null());
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

/// A reference into `ws` in its portable form (`azureml:name:version`, `azureml:<compute>`).
pub fn portable_ref(s: &str, ws: &WorkspaceRef) -> Option<String> {
    let arm = s.strip_prefix("azureml:").unwrap_or(s);
    if !arm.starts_with('/') {
        return None;
    }
    let base = ws.arm_id().to_ascii_lowercase();
    let lower = arm.to_ascii_lowercase();
    let rest = lower.strip_prefix(&base)?.trim_start_matches('/');
    let orig = &arm[arm.len() - rest.len()..];
    let parts: Vec<&str> = orig.split('/').collect();
    match parts.as_slice() {
        [c, name] if c.eq_ignore_ascii_case("computes") => Some(format!("azureml:{name}")),
        [_, name, v, ver] if v.eq_ignore_ascii_case("versions") => Some(format!("azureml:{name}:{ver}")),
        _ => None,
    }
}

/// Every string that is a reference into `ws`, shortened (see [`portable_ref`]).
pub fn portable_strings(v: &mut Value, ws: &WorkspaceRef) {
    match v {
        Value::String(s) => {
            if let Some(p) = portable_ref(s, ws) {
                *s = p;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| portable_strings(x, ws)),
        Value::Object(m) => m.values_mut().for_each(|x| portable_strings(x, ws)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Names and versions (validated before anything is written)

/// Asset and job names as the service accepts them (mfe.json: `^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,254}$`).
pub fn check_name(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} name '{name}' is not valid: use letters, digits, '-' and '_', starting with a letter or digit (at most 255 characters)"
        )))
    }
}

/// Component names as `az ml` accepts them (azure-ai-ml: `^[a-z][a-z\d_]*$`), within the
/// service's length limit.
pub fn check_component_name(name: &str) -> Result<()> {
    let ok = name.len() <= 255 && name.starts_with(|c: char| c.is_ascii_lowercase()) && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "component name '{name}' is not valid: use lower-case letters, digits and '_', starting with a letter (as az ml requires)"
        )))
    }
}

/// A version as the service takes it in a URL: letters, digits, `.`, `-`, `_`; no
/// placeholders such as `<VERSION>`.
pub fn check_version(what: &str, v: &str) -> Result<()> {
    let ok = !v.is_empty() && v.len() <= 255 && v.starts_with(|c: char| c.is_ascii_alphanumeric()) && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} version '{v}' is not valid: use letters, digits, '.', '-' and '_' (a placeholder such as <VERSION> must be replaced, or give --version)"
        )))
    }
}

/// A component name made from any name (a job's, a folder's): lower-case, every other
/// character `_`, and a leading letter when it does not start with one (`4d_data` →
/// `job_4d_data`), as component names must.
pub fn component_name_from(s: &str) -> String {
    let mut out: String = s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_lowercase()) {
        out.insert_str(0, "job_");
    }
    out.truncate(255);
    out
}

/// A job name made from a folder's name, as valid job names are: other characters become `_`,
/// a leading non-alphanumeric is dropped. `None` when nothing valid remains.
pub fn job_name_from(s: &str) -> Option<String> {
    let mapped: String = s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();
    let trimmed = mapped.trim_start_matches(['-', '_']).to_string();
    (!trimmed.is_empty()).then(|| trimmed.chars().take(255).collect())
}

// ---------------------------------------------------------------------------------------
// Definitions

/// An input of a job as a component input: a literal becomes a primitive input whose
/// default is the job's value (type from the value: integer, number, boolean, string); a
/// data/model input keeps its type and mode but no default (azure-ai-ml refuses defaults on
/// non-primitive inputs: "Non-primitive type Input has no default value").
fn component_input(i: &Value) -> Value {
    match i {
        Value::Object(o) if o.get("type").and_then(Value::as_str) != Some("literal") => {
            let mut d = Map::new();
            d.insert("type".into(), o.get("type").cloned().unwrap_or(json!("uri_folder")));
            for k in ["mode", "description", "optional"] {
                if let Some(v) = o.get(k) {
                    d.insert(k.into(), v.clone());
                }
            }
            Value::Object(d)
        }
        Value::Object(o) => component_input(&literal_value(o.get("value").unwrap_or(&Value::Null))),
        scalar => {
            let v = literal_value(scalar);
            let t = match &v {
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
                Value::Number(_) => "number",
                _ => "string",
            };
            json!({"type": t, "default": v})
        }
    }
}

fn component_outputs(y: &Value) -> Value {
    let mut outs = Map::new();
    for (k, o) in y.get("outputs").and_then(Value::as_object).into_iter().flatten() {
        let mut d = Map::new();
        d.insert("type".into(), o.get("type").cloned().unwrap_or(json!("uri_folder")));
        if let Some(m) = o.get("mode") {
            d.insert("mode".into(), m.clone());
        }
        outs.insert(k.clone(), Value::Object(d));
    }
    Value::Object(outs)
}

/// The input type a search space distribution (az ml YAML form) gives its values: a choice's
/// values' type, an integer for randint, a number for the continuous ones.
fn search_space_input_type(dist: &Value) -> &'static str {
    match dist.get("type").and_then(Value::as_str).unwrap_or("") {
        "choice" => match dist.get("values").and_then(Value::as_array).and_then(|v| v.first()) {
            Some(Value::Bool(_)) => "boolean",
            Some(Value::Number(n)) if n.is_i64() || n.is_u64() => "integer",
            Some(Value::Number(_)) => "number",
            _ => "string",
        },
        "randint" => "integer",
        _ => "number",
    }
}

/// The component version properties that define the job `name` (REST properties `props`, with
/// references already as the target holds them); `None` for types without a component form
/// (AutoML, Spark, others), which are kept as their REST definition.
pub fn definition(name: &str, source_job_id: &str, props: &Value) -> Option<Value> {
    let t = JobType::of_rest(props);
    if !t.has_definition() {
        return None;
    }
    let job = portable_job(props);
    let y = to_yaml(None, &job, None);
    let mut spec = Map::new();
    let body: Option<&Value> = match t {
        JobType::Command => Some(&y),
        JobType::Sweep => y.get("trial"),
        JobType::Pipeline => None,
        _ => return None,
    };
    let schema = if t == JobType::Pipeline { PIPELINE_COMPONENT_SCHEMA } else { COMMAND_COMPONENT_SCHEMA };
    spec.insert("$schema".into(), json!(schema));
    spec.insert("name".into(), json!(definition_name(name)));
    spec.insert("version".into(), json!("1"));
    spec.insert("type".into(), json!(if t == JobType::Pipeline { "pipeline" } else { "command" }));
    for k in ["display_name", "description", "tags"] {
        if let Some(v) = y.get(k).filter(|v| v.as_object().is_none_or(|m| !m.is_empty())) {
            spec.insert(k.into(), v.clone());
        }
    }
    let mut inputs = Map::new();
    for (k, i) in y.get("inputs").and_then(Value::as_object).into_iter().flatten() {
        inputs.insert(k.clone(), component_input(i));
    }
    if let Some(body) = body {
        for k in ["command", "code", "environment", "environment_variables", "distribution", "resources"] {
            if let Some(v) = body.get(k).filter(|v| v.as_object().is_none_or(|m| !m.is_empty())) {
                spec.insert(k.into(), v.clone());
            }
        }
        // A sweep's search space: each name an input of the trial's component, which the
        // command reads as ${{inputs.<name>}} (a component knows no ${{search_space.…}}; a
        // sweep of a component binds its search space to the component's inputs).
        for (k, dist) in y.get("search_space").and_then(Value::as_object).into_iter().flatten() {
            inputs.insert(k.clone(), json!({"type": search_space_input_type(dist)}));
            if let Some(Value::String(c)) = spec.get_mut("command") {
                *c = c.replace(&format!("${{{{search_space.{k}}}}}"), &format!("${{{{inputs.{k}}}}}"));
            }
        }
    } else {
        spec.insert("jobs".into(), y.get("jobs").cloned().unwrap_or(json!({})));
    }
    spec.insert("inputs".into(), Value::Object(inputs));
    spec.insert("outputs".into(), component_outputs(&y));

    let mut properties = Map::new();
    properties.insert("aml-failover.sourceJob".into(), json!(source_job_id));
    properties.insert("aml-failover.jobType".into(), json!(t.rest()));
    for (k, key) in [("experimentName", "aml-failover.experimentName"), ("computeId", "aml-failover.computeId")] {
        if let Some(v) = job.get(k).and_then(Value::as_str) {
            properties.insert(key.into(), json!(v));
        }
    }
    if let Some(s) = job.get("settings").filter(|s| s.as_object().is_some_and(|m| !m.is_empty())) {
        properties.insert("aml-failover.settings".into(), json!(s.to_string()));
    }
    // What the component has no field for (data inputs' paths, a sweep's search space,
    // limits…): the job's REST properties, so that a submit recreates the same job.
    let mut keep = job.clone();
    if let Some(m) = keep.as_object_mut() {
        for k in ["description", "tags", "properties", "displayName", "experimentName", "computeId", "settings"] {
            m.remove(k);
        }
        if t == JobType::Pipeline {
            m.remove("jobs");
        }
    }
    properties.insert("aml-failover.job".into(), json!(keep.to_string()));
    let mut p = Map::new();
    p.insert("componentSpec".into(), Value::Object(spec));
    p.insert("properties".into(), Value::Object(properties));
    if let Some(tg) = job.get("tags").filter(|t| t.as_object().is_some_and(|m| !m.is_empty())) {
        p.insert("tags".into(), tg.clone());
    }
    if let Some(d) = job.get("description") {
        p.insert("description".into(), d.clone());
    }
    Some(Value::Object(p))
}

/// The component name of a job's definition (see [`component_name_from`]).
pub fn definition_name(job: &str) -> String {
    component_name_from(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> WorkspaceRef {
        WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "w".into() }
    }

    fn yaml(s: &str) -> Value {
        serde_norway::from_str(s).unwrap()
    }

    #[test]
    fn a_command_job_converts_both_ways() {
        let y = yaml(
            r#"
$schema: https://azuremlschemas.azureedge.net/latest/commandJob.schema.json
command: python train.py --lr ${{inputs.lr}} --data ${{inputs.data}}
code: azureml:/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w/codes/c/versions/1
environment: azureml:sklearn:3
compute: azureml:cpu
inputs:
  lr: 0.01
  data: {type: uri_folder, path: azureml:iris:1, mode: ro_mount}
outputs:
  model: {type: mlflow_model}
distribution: {type: pytorch, process_count_per_instance: 2}
resources: {instance_count: 2, shm_size: 8g}
limits: {timeout: 3600}
environment_variables: {A: "1"}
something_new: {kept: true}
display_name: train
experiment_name: exp
"#,
        );
        let base = ws().arm_id();
        let r = to_rest(&y, &ws()).unwrap();
        assert_eq!(r["jobType"], "Command");
        assert_eq!(r["environmentId"], format!("{base}/environments/sklearn/versions/3"));
        assert_eq!(r["codeId"], format!("{base}/codes/c/versions/1"));
        assert_eq!(r["computeId"], format!("{base}/computes/cpu"));
        assert_eq!(r["inputs"]["lr"], json!({"jobInputType": "literal", "value": "0.01"}));
        assert_eq!(r["inputs"]["data"], json!({"jobInputType": "uri_folder", "uri": "azureml:iris:1", "mode": "ReadOnlyMount"}));
        assert_eq!(r["outputs"]["model"], json!({"jobOutputType": "mlflow_model"}));
        assert_eq!(r["distribution"], json!({"distributionType": "PyTorch", "processCountPerInstance": 2}));
        assert_eq!(r["resources"], json!({"instanceCount": 2, "shmSize": "8g"}));
        assert_eq!(r["limits"], json!({"jobLimitsType": "Command", "timeout": "PT3600S"}));
        assert_eq!(r["something_new"], json!({"kept": true}), "unmodelled fields are carried");
        let back = to_yaml(None, &r, Some(&ws()));
        for k in ["command", "inputs", "outputs", "distribution", "resources", "limits", "environment_variables", "something_new", "display_name", "experiment_name"] {
            assert_eq!(back[k], y[k], "{k}");
        }
        assert_eq!(back["environment"], "azureml:sklearn:3");
        assert_eq!(back["code"], "azureml:c:1");
        assert_eq!(back["compute"], "azureml:cpu");
        assert_eq!(back["type"], "command");
    }

    #[test]
    fn a_sweep_job_converts_both_ways() {
        let y = yaml(
            r#"
type: sweep
trial:
  command: python hello-sweep.py --A ${{inputs.A}} --B ${{search_space.B}}
  code: azureml:/x/codes/c/versions/1
  environment: azureml:/x/environments/e/versions/2
inputs:
  A: 0.5
sampling_algorithm: random
search_space:
  B: {type: choice, values: ["hello", "world"]}
  C: {type: uniform, min_value: 0.1, max_value: 1.0}
objective: {goal: minimize, primary_metric: random_metric}
limits: {max_total_trials: 4, max_concurrent_trials: 2, timeout: 3600}
early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}
"#,
        );
        let r = to_rest(&y, &ws()).unwrap();
        assert_eq!(r["jobType"], "Sweep");
        assert_eq!(r["trial"]["codeId"], "/x/codes/c/versions/1");
        assert_eq!(r["trial"]["environmentId"], "/x/environments/e/versions/2");
        assert_eq!(r["samplingAlgorithm"], json!({"samplingAlgorithmType": "Random"}));
        assert_eq!(r["searchSpace"]["B"], json!(["choice", [["hello", "world"]]]));
        assert_eq!(r["searchSpace"]["C"], json!(["uniform", [0.1, 1.0]]));
        assert_eq!(r["objective"], json!({"goal": "Minimize", "primaryMetric": "random_metric"}));
        assert_eq!(r["limits"], json!({"jobLimitsType": "Sweep", "maxTotalTrials": 4, "maxConcurrentTrials": 2, "timeout": "PT3600S"}));
        assert_eq!(r["earlyTermination"], json!({"policyType": "Bandit", "slackFactor": 0.1, "evaluationInterval": 1}));
        let back = to_yaml(None, &r, None);
        for k in ["inputs", "sampling_algorithm", "search_space", "objective", "limits", "early_termination", "trial"] {
            assert_eq!(back[k], y[k], "{k}");
        }
        let d = definition("hello-sweep", "/jobs/hello-sweep", &r).unwrap();
        assert_eq!(d["componentSpec"]["type"], "command");
        let cmd = y["trial"]["command"].as_str().unwrap().replace("${{search_space.B}}", "${{inputs.B}}");
        assert_eq!(d["componentSpec"]["command"], cmd.as_str(), "the search space read as the component's inputs");
        assert_eq!(d["componentSpec"]["inputs"]["A"], json!({"type": "number", "default": 0.5}));
        assert_eq!(d["componentSpec"]["inputs"]["B"], json!({"type": "string"}));
        assert_eq!(d["componentSpec"]["inputs"]["C"], json!({"type": "number"}));
        let kept: Value = serde_json::from_str(d["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
        assert_eq!(kept["searchSpace"], r["searchSpace"]);
    }

    #[test]
    fn workspace_references_become_portable() {
        let base = ws().arm_id();
        assert_eq!(portable_ref(&format!("azureml:{base}/environments/e/versions/2"), &ws()).as_deref(), Some("azureml:e:2"));
        assert_eq!(portable_ref(&format!("{}/computes/cpu", base.to_ascii_lowercase()), &ws()).as_deref(), Some("azureml:cpu"));
        assert_eq!(portable_ref("azureml://registries/azureml/environments/x/labels/latest", &ws()), None);
        assert_eq!(portable_ref("/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/other/codes/c/versions/1", &ws()), None);
    }

    #[test]
    fn durations_and_literals() {
        assert_eq!(from_iso(&json!("PT1H30M")), json!(5400));
        assert_eq!(from_iso(&json!("P1D")), json!("P1D"));
        assert_eq!(to_iso(&json!(60)), json!("PT60S"));
        assert_eq!(literal_value(&json!("3")), json!(3));
        assert_eq!(literal_value(&json!("0.1")), json!(0.1));
        assert_eq!(literal_value(&json!("true")), json!(true));
        assert_eq!(literal_value(&json!("1.2.3")), json!("1.2.3"));
    }

    #[test]
    fn job_types_from_yaml() {
        assert_eq!(JobType::of_yaml(&yaml("command: echo")).unwrap(), JobType::Command);
        assert_eq!(JobType::of_yaml(&yaml("type: automl")).unwrap(), JobType::AutoML);
        assert_eq!(JobType::of_yaml(&yaml("jobs: {}")).unwrap(), JobType::Pipeline);
        assert!(JobType::of_yaml(&yaml("type: nonsense")).is_err());
        assert!(JobType::of_yaml(&yaml("name: x")).is_err());
    }

    #[test]
    fn names_and_versions() {
        assert_eq!(component_name_from("4d_data_input"), "job_4d_data_input");
        assert_eq!(component_name_from("Hello-Pipeline.v2"), "hello_pipeline_v2");
        assert!(check_component_name(&component_name_from("4d_data_input")).is_ok());
        assert!(check_component_name("_x").is_err());
        assert!(check_name("data", "4d_data_input").is_ok());
        assert!(check_name("data", "_4d").is_err());
        assert!(check_version("data", "<VERSION>").is_err());
        assert!(check_version("data", "1.0.2").is_ok());
        assert_eq!(job_name_from("_x y").as_deref(), Some("x_y"));
    }

    #[test]
    fn a_pipeline_definition_is_one_the_sdk_loads() {
        let r = json!({"jobType": "Pipeline", "status": "Completed", "displayName": "hello",
            "inputs": {"lr": {"jobInputType": "literal", "value": "0.1"}, "n": {"jobInputType": "literal", "value": "3"},
                       "raw": {"jobInputType": "uri_file", "uri": "azureml:titanic:1", "mode": "ReadOnlyMount"}},
            "outputs": {"model": {"jobOutputType": "uri_folder", "uri": "azureml://datastores/workspaceblobstore/paths/x/"}},
            "jobs": {"train": {"type": "command", "component": "azureml:train:1"}}});
        let d = definition("3b-pipe", "/jobs/3b-pipe", &r).unwrap();
        let spec = &d["componentSpec"];
        assert_eq!(spec["name"], "job_3b_pipe");
        assert_eq!(spec["inputs"]["lr"], json!({"type": "number", "default": 0.1}));
        assert_eq!(spec["inputs"]["n"], json!({"type": "integer", "default": 3}));
        assert_eq!(spec["inputs"]["raw"], json!({"type": "uri_file", "mode": "ro_mount"}));
        assert_eq!(spec["jobs"], r["jobs"]);
        let kept: Value = serde_json::from_str(d["properties"]["aml-failover.job"].as_str().unwrap()).unwrap();
        assert_eq!(kept["inputs"]["raw"]["uri"], "azureml:titanic:1");
        assert!(!d.to_string().contains("Completed"));
        assert!(definition("a", "/jobs/a", &json!({"jobType": "AutoML"})).is_none());
    }
}
