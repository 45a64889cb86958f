//! Schedules_*: a trigger (Cron or Recurrence) and an action (CreateJob, InvokeBatchEndpoint,
//! CreateMonitor); `isEnabled` defaults to true. Long-running create and delete.

use serde_json::{json, Value};

use super::children::{one_of, props, Norm, Normalized};
use crate::arm::ArmError;

const ACTIONS: &[&str] = &["CreateJob", "InvokeBatchEndpoint", "CreateMonitor"];
const FREQUENCIES: &[&str] = &["Minute", "Hour", "Day", "Week", "Month"];

pub fn normalize(_n: &Norm, body: Value) -> Result<Normalized, ArmError> {
    let mut p = props(&body)?;
    let action = p.get("action").cloned().filter(Value::is_object).ok_or_else(|| ArmError::user_error("The field 'action' is required for a schedule."))?;
    let at = action.get("actionType").and_then(Value::as_str).unwrap_or("");
    one_of(at, ACTIONS, "action.actionType")?;
    let needed = match at {
        "CreateJob" => "jobDefinition",
        "InvokeBatchEndpoint" => "endpointInvocationDefinition",
        _ => "monitorDefinition",
    };
    if action.get(needed).is_none_or(Value::is_null) {
        return Err(ArmError::user_error(format!("The field 'action.{needed}' is required for actionType '{at}'.")));
    }
    let mut trigger = p.get("trigger").cloned().filter(Value::is_object).ok_or_else(|| ArmError::user_error("The field 'trigger' is required for a schedule."))?;
    let tt = trigger.get("triggerType").and_then(Value::as_str).unwrap_or("").to_string();
    one_of(&tt, &["Recurrence", "Cron"], "trigger.triggerType")?;
    if tt == "Cron" {
        let expr = trigger.get("expression").and_then(Value::as_str).unwrap_or("");
        if expr.split_whitespace().count() != 5 {
            return Err(ArmError::user_error(format!("trigger.expression '{expr}' is not a 5-field cron expression.")));
        }
    } else {
        let f = trigger.get("frequency").and_then(Value::as_str).unwrap_or("");
        one_of(f, FREQUENCIES, "trigger.frequency")?;
        if trigger.get("interval").and_then(Value::as_i64).is_none_or(|i| i < 1) {
            return Err(ArmError::user_error("trigger.interval must be a positive integer."));
        }
    }
    if trigger.get("timeZone").is_none_or(Value::is_null) {
        trigger["timeZone"] = json!("UTC");
    }
    p.insert("trigger".into(), trigger);
    super::default_field(&mut p, "isEnabled", json!(true));
    super::default_field(&mut p, "tags", json!({}));
    super::default_field(&mut p, "properties", json!({}));
    Ok(Normalized { resource: json!({"properties": p}), secrets: None })
}
