//! Schedules as a definition kind: `az ml schedule` YAML, and their state in the target —
//! copied disabled into the failover workspace (jobs never run twice), enabled by `failover`,
//! kept as they are when copying back to the primary.
//!
//! | YAML (`az ml`)                              | REST (`Schedule`)                              |
//! |---------------------------------------------|------------------------------------------------|
//! | `display_name`, `description`, `tags`, `properties`, `is_enabled` | `properties.displayName`, `.description`, `.tags`, `.properties`, `.isEnabled` |
//! | `trigger.type` (`cron`, `recurrence`)       | `properties.trigger.triggerType`               |
//! | `trigger.{expression, start_time, end_time, time_zone}` | `properties.trigger.{expression, startTime, endTime, timeZone}` |
//! | `trigger.{frequency, interval}`, `trigger.schedule.{hours, minutes, week_days, month_days}` | `properties.trigger.{frequency, interval}`, `.schedule.{hours, minutes, weekDays, monthDays}` |
//! | `create_job` (a job, as `az ml job` YAML)   | `properties.action` (`CreateJob`, `jobDefinition`; `job.rs` converts it) |
//!
//! Other actions (`InvokeBatchEndpoint`) are carried as REST under `extra_rest_fields`.

use super::definition::{f, get_path, set_path_value, take_path, Conv, Ctx, DefKind, Definition, Field, ScheduleState};
use crate::error::Result;
use crate::workspace::WorkspaceRef;
use serde_json::{json, Value};

pub const SCHEMA: &str = "https://azuremlschemas.azureedge.net/latest/schedule.schema.json";

/// A job definition read back from a schedule carries run state: never copied or compared.
pub const SERVICE_PATHS: &[&str] = &["properties.action.jobDefinition.status", "properties.action.jobDefinition.services"];

const TRIGGERS: &[(&str, &str)] = &[("cron", "Cron"), ("recurrence", "Recurrence")];
const FREQUENCIES: &[(&str, &str)] = &[("minute", "Minute"), ("hour", "Hour"), ("day", "Day"), ("week", "Week"), ("month", "Month")];

const FIELDS: &[Field] = &[
    f("display_name", "properties.displayName", Conv::Same),
    f("description", "properties.description", Conv::Same),
    f("tags", "properties.tags", Conv::Same),
    f("properties", "properties.properties", Conv::Same),
    f("is_enabled", "properties.isEnabled", Conv::Same),
    f("trigger.type", "properties.trigger.triggerType", Conv::Enum(TRIGGERS)),
    f("trigger.expression", "properties.trigger.expression", Conv::Same),
    f("trigger.start_time", "properties.trigger.startTime", Conv::Same),
    f("trigger.end_time", "properties.trigger.endTime", Conv::Same),
    f("trigger.time_zone", "properties.trigger.timeZone", Conv::Same),
    f("trigger.frequency", "properties.trigger.frequency", Conv::Enum(FREQUENCIES)),
    f("trigger.interval", "properties.trigger.interval", Conv::Same),
    f("trigger.schedule.hours", "properties.trigger.schedule.hours", Conv::Same),
    f("trigger.schedule.minutes", "properties.trigger.schedule.minutes", Conv::Same),
    f("trigger.schedule.week_days", "properties.trigger.schedule.weekDays", Conv::Custom(days_to_rest, days_to_yaml)),
    f("trigger.schedule.month_days", "properties.trigger.schedule.monthDays", Conv::Same),
    f("create_job", "properties.action.jobDefinition", Conv::Custom(job_to_rest, job_to_yaml)),
];

fn days_to_yaml(v: &Value, _: &Ctx) -> Value {
    match v.as_array() {
        Some(a) => Value::Array(a.iter().map(|d| d.as_str().map(|s| json!(s.to_ascii_lowercase())).unwrap_or_else(|| d.clone())).collect()),
        None => v.clone(),
    }
}

fn days_to_rest(v: &Value, _: &Ctx) -> Value {
    let title = |s: &str| {
        let mut c = s.chars();
        c.next().map(|h| h.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()).unwrap_or_default()
    };
    match v.as_array() {
        Some(a) => Value::Array(a.iter().map(|d| d.as_str().map(|s| json!(title(s))).unwrap_or_else(|| d.clone())).collect()),
        None => v.clone(),
    }
}

fn job_to_yaml(v: &Value, c: &Ctx) -> Value {
    super::job::to_yaml(None, v, c.ws)
}

fn job_to_rest(v: &Value, c: &Ctx) -> Value {
    let none = WorkspaceRef { subscription_id: String::new(), resource_group: String::new(), workspace_name: String::new() };
    super::job::to_rest(v, c.ws.unwrap_or(&none)).unwrap_or_else(|_| v.clone())
}

pub fn to_yaml(def: &Definition, ws: Option<&WorkspaceRef>) -> Value {
    let mut body = def.body();
    // The action type is implied by `create_job`; other actions stay REST.
    if get_path(&body, "properties.action.actionType").and_then(Value::as_str) == Some("CreateJob") {
        take_path(&mut body, "properties.action.actionType");
    }
    let head = vec![("$schema", json!(SCHEMA)), ("name", json!(def.name))];
    super::definition::to_yaml(DefKind::Schedule, head, &body, &[FIELDS], ws)
}

pub fn from_yaml(file: &str, yaml: &Value, ws: Option<&WorkspaceRef>) -> Result<Definition> {
    let (name, mut body) = super::definition::to_rest(DefKind::Schedule, file, yaml, &[], &[FIELDS], ws)?;
    if get_path(&body, "properties.action.jobDefinition").is_some() && get_path(&body, "properties.action.actionType").is_none() {
        set_path_value(&mut body, "properties.action.actionType", json!("CreateJob"));
    }
    if get_path(&body, "properties.action").is_none() || get_path(&body, "properties.trigger").is_none() {
        return Err(crate::error::Error::usage(format!("{file}: a schedule needs a trigger and create_job (what it runs)")));
    }
    body["name"] = json!(name);
    Ok(Definition::new(DefKind::Schedule, None, body))
}

/// `isEnabled` in the target.
pub fn prepare(body: &mut Value, state: ScheduleState) {
    match state {
        ScheduleState::AsSource => {}
        ScheduleState::Disabled => set_path_value(body, "properties.isEnabled", json!(false)),
        ScheduleState::Enabled => set_path_value(body, "properties.isEnabled", json!(true)),
    }
}

/// Whether a schedule is enabled (the service's default is enabled).
pub fn is_enabled(def: &Definition) -> bool {
    def.properties().get("isEnabled").and_then(Value::as_bool).unwrap_or(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::definition::{self, tests::ws, CopyOptions};
    use crate::assets::refs::Rewriter;
    use crate::compare::Comparison;

    const SRC: &str = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/primary";

    pub fn nightly() -> Definition {
        Definition::new(
            DefKind::Schedule,
            None,
            json!({"name": "nightly-train", "properties": {"displayName": "Nightly", "isEnabled": true, "provisioningState": "Succeeded",
                "trigger": {"triggerType": "Cron", "expression": "15 10 * * 1", "timeZone": "Pacific Standard Time", "startTime": "2026-01-01T00:00:00"},
                "action": {"actionType": "CreateJob", "jobDefinition": {"jobType": "Command", "command": "python train.py",
                    "codeId": format!("{SRC}/codes/train/versions/1"), "environmentId": format!("{SRC}/environments/sklearn/versions/1"),
                    "computeId": format!("{SRC}/computes/cpu-cluster"), "experimentName": "nightly", "status": "NotStarted"}}}}),
        )
    }

    #[test]
    fn round_trip() {
        let w = ws("primary");
        let s = nightly();
        let y = to_yaml(&s, Some(&w));
        assert_eq!(y["trigger"], json!({"type": "cron", "expression": "15 10 * * 1", "time_zone": "Pacific Standard Time", "start_time": "2026-01-01T00:00:00"}));
        assert_eq!(y["create_job"]["type"], "command");
        assert_eq!(y["create_job"]["code"], "azureml:train:1");
        assert_eq!(y["create_job"]["compute"], "azureml:cpu-cluster");
        assert!(y.get("extra_rest_fields").is_none(), "{y}");
        let back = from_yaml("s.yml", &y, Some(&w)).unwrap();
        assert_eq!(definition::compare(DefKind::Schedule, &back.body(), Some(&s.resource)), Comparison::Identical, "{y}");
        let rec = Definition::new(
            DefKind::Schedule,
            None,
            json!({"name": "weekly", "properties": {"trigger": {"triggerType": "Recurrence", "frequency": "Week", "interval": 1,
                "schedule": {"hours": [4], "minutes": [0], "weekDays": ["Monday", "Friday"]}},
                "action": {"actionType": "InvokeBatchEndpoint", "endpointInvocationDefinition": {"endpoint": "x"}}}}),
        );
        let y = to_yaml(&rec, None);
        assert_eq!(y["trigger"]["schedule"]["week_days"], json!(["monday", "friday"]));
        assert_eq!(y["extra_rest_fields"]["properties"]["action"]["actionType"], "InvokeBatchEndpoint");
        let back = from_yaml("w.yml", &y, None).unwrap();
        assert_eq!(definition::compare(DefKind::Schedule, &back.body(), Some(&rec.resource)), Comparison::Identical);
        assert!(from_yaml("x.yml", &json!({"name": "x"}), None).unwrap_err().to_string().contains("trigger"));
    }

    #[test]
    fn copied_disabled_enabled_at_failover_and_in_step_either_way() {
        let s = nightly();
        let (src, dst) = definition::tests::rewriter_ids();
        let same = |_: crate::assets::Kind, _: &str, v: &str| v.to_string();
        let rw = Rewriter { src, dst, version_of: &same };
        let copied = definition::prepare(&s, &CopyOptions::default(), &rw);
        assert_eq!(copied.body["properties"]["isEnabled"], false);
        assert!(copied.body["properties"]["action"]["jobDefinition"]["computeId"].as_str().unwrap().contains("/workspaces/failover/computes/cpu-cluster"));
        assert!(copied.body["properties"]["action"]["jobDefinition"].get("status").is_none());
        let failover = definition::prepare(&s, &CopyOptions { schedules: ScheduleState::Enabled, ..Default::default() }, &rw);
        assert_eq!(failover.body["properties"]["isEnabled"], true);
        let back = definition::prepare(&s, &CopyOptions { schedules: ScheduleState::AsSource, ..Default::default() }, &rw);
        assert_eq!(back.body["properties"]["isEnabled"], true);
        // A disabled pre-staged copy is in step with its enabled source.
        assert_eq!(definition::compare(DefKind::Schedule, &failover.body, Some(&copied.body)), Comparison::Identical);
        assert!(is_enabled(&s));
    }
}
