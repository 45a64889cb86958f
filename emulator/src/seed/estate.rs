//! `az ml` YAML of the workspace's estate (datastores, connections, computes, endpoints,
//! deployments, schedules) translated to the REST bodies of the 2025-12-01 API, as the
//! `az ml <kind> create` commands send them. References (`azureml:name:version`,
//! `azureml:<compute>`) become ARM ids of the workspace; local code folders are uploaded by
//! the seeder first (`code` holds the code version's ARM id then).

use anyhow::{anyhow, bail};
use serde_json::{json, Map, Value};

fn s<'v>(doc: &'v Value, key: &str) -> Option<&'v str> {
    doc.get(key).and_then(Value::as_str)
}

/// `snake_case` enum values of az ml YAML → the REST API's `PascalCase`.
fn pascal(v: &str) -> String {
    v.split('_').map(|w| {
        let mut c = w.chars();
        c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
    }).collect()
}

fn common(doc: &Value, p: &mut Map<String, Value>) {
    for k in ["description", "tags", "properties"] {
        if let Some(v) = doc.get(k) {
            p.insert(k.into(), super::stringify_map(v));
        }
    }
}

/// Seconds (number) or an ISO 8601 duration (string).
fn duration(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(format!("PT{n}S")),
        other => other.clone(),
    }
}

fn identity(doc: &Value) -> Option<Value> {
    let id = doc.get("identity")?;
    let ty = match s(id, "type")? {
        "system_assigned" => "SystemAssigned",
        "user_assigned" => "UserAssigned",
        "system_assigned,user_assigned" => "SystemAssigned,UserAssigned",
        _ => "None",
    };
    let mut out = json!({"type": ty});
    if let Some(uais) = id.get("user_assigned_identities").and_then(Value::as_array) {
        let m: Map<String, Value> = uais.iter().filter_map(|u| s(u, "resource_id").map(|r| (r.to_string(), json!({})))).collect();
        out["userAssignedIdentities"] = Value::Object(m);
    }
    Some(out)
}

/// Datastore YAML → `Datastores_CreateOrUpdate` body.
pub fn datastore(doc: &Value) -> anyhow::Result<(String, Value)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("datastore without name"))?.to_string();
    let mut p = Map::new();
    common(doc, &mut p);
    let (dtype, fields): (&str, &[(&str, &str)]) = match s(doc, "type").unwrap_or("") {
        "azure_blob" => ("AzureBlob", &[("account_name", "accountName"), ("container_name", "containerName"), ("endpoint", "endpoint"), ("protocol", "protocol")]),
        "azure_file" => ("AzureFile", &[("account_name", "accountName"), ("file_share_name", "fileShareName"), ("endpoint", "endpoint"), ("protocol", "protocol")]),
        "azure_data_lake_gen2" => ("AzureDataLakeGen2", &[("account_name", "accountName"), ("filesystem", "filesystem"), ("endpoint", "endpoint"), ("protocol", "protocol")]),
        "azure_data_lake_gen1" => ("AzureDataLakeGen1", &[("store_name", "storeName")]),
        "one_lake" => ("OneLake", &[("one_lake_workspace_name", "oneLakeWorkspaceName"), ("endpoint", "endpoint")]),
        other => bail!("datastore {name}: unknown type '{other}'"),
    };
    p.insert("datastoreType".into(), json!(dtype));
    for (y, r) in fields {
        if let Some(v) = doc.get(*y) {
            p.insert((*r).into(), v.clone());
        }
    }
    if dtype == "OneLake" {
        if let Some(a) = doc.get("artifact") {
            p.insert("artifact".into(), json!({"artifactType": "LakeHouse", "artifactName": s(a, "name").unwrap_or("")}));
        }
    }
    if let Some(sub) = s(doc, "subscription_id") {
        p.insert("subscriptionId".into(), json!(sub));
    }
    if let Some(rg) = s(doc, "resource_group") {
        p.insert("resourceGroup".into(), json!(rg));
    }
    let c = doc.get("credentials").cloned().unwrap_or(Value::Null);
    let creds = if let Some(k) = s(&c, "account_key") {
        json!({"credentialsType": "AccountKey", "secrets": {"secretsType": "AccountKey", "key": k}})
    } else if let Some(t) = s(&c, "sas_token") {
        json!({"credentialsType": "Sas", "secrets": {"secretsType": "Sas", "sasToken": t}})
    } else if let Some(secret) = s(&c, "client_secret") {
        json!({"credentialsType": "ServicePrincipal", "clientId": s(&c, "client_id"), "tenantId": s(&c, "tenant_id"),
            "authorityUrl": s(&c, "authority_url"), "resourceUrl": s(&c, "resource_url"),
            "secrets": {"secretsType": "ServicePrincipal", "clientSecret": secret}})
    } else if let Some(cert) = s(&c, "certificate") {
        json!({"credentialsType": "Certificate", "clientId": s(&c, "client_id"), "tenantId": s(&c, "tenant_id"), "thumbprint": s(&c, "thumbprint"),
            "secrets": {"secretsType": "Certificate", "certificate": cert}})
    } else {
        json!({"credentialsType": "None"})
    };
    p.insert("credentials".into(), creds);
    Ok((name, json!({"properties": p})))
}

/// Connection YAML → `WorkspaceConnections_Create` body.
pub fn connection(doc: &Value) -> anyhow::Result<(String, Value)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("connection without name"))?.to_string();
    let category = match s(doc, "type").unwrap_or("") {
        "git" => "Git".to_string(),
        "python_feed" => "PythonFeed".into(),
        "container_registry" | "azure_container_registry" => "ContainerRegistry".into(),
        "azure_open_ai" => "AzureOpenAI".into(),
        "azure_ai_search" => "CognitiveSearch".into(),
        "azure_ai_services" => "AIServices".into(),
        "custom" => "CustomKeys".into(),
        "s3" => "S3".into(),
        "adls_gen2" => "ADLSGen2".into(),
        other => pascal(other),
    };
    let c = doc.get("credentials").cloned().unwrap_or(Value::Null);
    let (auth, creds) = match s(&c, "type").unwrap_or("none") {
        "pat" => ("PAT", json!({"pat": s(&c, "pat")})),
        "username_password" => ("UsernamePassword", json!({"username": s(&c, "username"), "password": s(&c, "password")})),
        "managed_identity" => ("ManagedIdentity", json!({"clientId": s(&c, "client_id"), "resourceId": s(&c, "resource_id")})),
        "sas" => ("SAS", json!({"sas": s(&c, "sas_token")})),
        "service_principal" => ("ServicePrincipal", json!({"clientId": s(&c, "client_id"), "clientSecret": s(&c, "client_secret"), "tenantId": s(&c, "tenant_id")})),
        "api_key" => ("ApiKey", json!({"key": s(&c, "key")})),
        "account_key" => ("AccountKey", json!({"key": s(&c, "account_key")})),
        "access_key" => ("AccessKey", json!({"accessKeyId": s(&c, "access_key_id"), "secretAccessKey": s(&c, "secret_access_key")})),
        "aad" => ("AAD", Value::Null),
        _ => ("None", Value::Null),
    };
    let mut p = Map::new();
    p.insert("category".into(), json!(category));
    p.insert("target".into(), json!(s(doc, "target").unwrap_or("")));
    p.insert("authType".into(), json!(auth));
    if !creds.is_null() {
        p.insert("credentials".into(), creds);
    }
    if let Some(m) = doc.get("metadata") {
        p.insert("metadata".into(), super::stringify_map(m));
    }
    Ok((name, json!({"properties": p})))
}

/// AmlCompute / compute instance YAML → `Compute_CreateOrUpdate` body.
pub fn compute(doc: &Value, location: &str) -> anyhow::Result<(String, Value)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("compute without name"))?.to_string();
    let size = s(doc, "size").ok_or_else(|| anyhow!("compute {name} without size"))?;
    let mut inner = json!({"vmSize": size});
    let ctype = match s(doc, "type").unwrap_or("amlcompute") {
        "amlcompute" => {
            inner["scaleSettings"] = json!({
                "minNodeCount": doc.get("min_instances").and_then(Value::as_u64).unwrap_or(0),
                "maxNodeCount": doc.get("max_instances").and_then(Value::as_u64).unwrap_or(1),
                "nodeIdleTimeBeforeScaleDown": doc.get("idle_time_before_scale_down").map(duration).unwrap_or(json!("PT120S")),
            });
            inner["vmPriority"] = json!(if s(doc, "tier") == Some("low_priority") { "LowPriority" } else { "Dedicated" });
            if let Some(sn) = doc.pointer("/network_settings/subnet") {
                inner["subnet"] = json!({"id": sn});
            }
            "AmlCompute"
        }
        "computeinstance" => "ComputeInstance",
        other => bail!("compute {name}: unsupported type '{other}'"),
    };
    let mut body = json!({"location": s(doc, "location").unwrap_or(location), "properties": {"computeType": ctype, "properties": inner}});
    if let Some(d) = s(doc, "description") {
        body["properties"]["description"] = json!(d);
    }
    if let Some(id) = identity(doc) {
        body["identity"] = id;
    }
    if let Some(t) = doc.get("tags") {
        body["tags"] = super::stringify_map(t);
    }
    Ok((name, body))
}

/// Endpoint YAML → (name, body without traffic/defaults, the same body with them when any).
pub fn endpoint(doc: &Value, location: &str, batch: bool) -> anyhow::Result<(String, Value, Option<Value>)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("endpoint without name"))?.to_string();
    let auth = match s(doc, "auth_mode").unwrap_or(if batch { "aad_token" } else { "key" }) {
        "key" => "Key",
        "aml_token" => "AMLToken",
        _ => "AADToken",
    };
    let mut p = Map::new();
    if let Some(d) = s(doc, "description") {
        p.insert("description".into(), json!(d));
    }
    p.insert("authMode".into(), json!(auth));
    let mut body = json!({"location": location, "kind": "Managed", "identity": identity(doc).unwrap_or(json!({"type": "SystemAssigned"})), "properties": p});
    if let Some(t) = doc.get("tags") {
        body["tags"] = super::stringify_map(t);
    }
    let later = if batch {
        s(doc.get("defaults").unwrap_or(&Value::Null), "deployment_name").map(|d| {
            let mut b = body.clone();
            b["properties"]["defaults"] = json!({"deploymentName": d});
            b
        })
    } else {
        doc.get("traffic").filter(|t| t.as_object().is_some_and(|m| !m.is_empty())).map(|t| {
            let mut b = body.clone();
            b["properties"]["traffic"] = t.clone();
            b
        })
    };
    Ok((name, body, later))
}

/// Deployment YAML → (endpoint, name, body); `code` is the uploaded code version's ARM id;
/// `arm_ref(kind, reference)` turns `azureml:` references into ARM ids.
pub fn deployment(doc: &Value, location: &str, batch: bool, code: Option<String>, arm_ref: &dyn Fn(&str, &str) -> String) -> anyhow::Result<(String, String, Value)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("deployment without name"))?.to_string();
    let endpoint = s(doc, "endpoint_name").ok_or_else(|| anyhow!("deployment {name} without endpoint_name"))?.to_string();
    let mut p = Map::new();
    if let Some(d) = s(doc, "description") {
        p.insert("description".into(), json!(d));
    }
    let model = s(doc, "model").map(|m| arm_ref("models", m));
    if let Some(env) = s(doc, "environment") {
        p.insert("environmentId".into(), json!(arm_ref("environments", env)));
    }
    if let Some(cc) = doc.get("code_configuration") {
        p.insert("codeConfiguration".into(), json!({"codeId": code, "scoringScript": s(cc, "scoring_script")}));
    }
    if let Some(vars) = doc.get("environment_variables") {
        p.insert("environmentVariables".into(), super::stringify_map(vars));
    }
    let mut body = json!({"location": location});
    if batch {
        if let Some(m) = model {
            p.insert("model".into(), json!({"referenceType": "Id", "assetId": m}));
        }
        if let Some(c) = s(doc, "compute") {
            p.insert("compute".into(), json!(arm_ref("computes", c)));
        }
        let settings = doc.get("settings").cloned().unwrap_or_else(|| doc.clone());
        for (y, r) in [("mini_batch_size", "miniBatchSize"), ("max_concurrency_per_instance", "maxConcurrencyPerInstance"), ("output_file_name", "outputFileName"), ("error_threshold", "errorThreshold")] {
            if let Some(v) = settings.get(y) {
                p.insert(r.into(), v.clone());
            }
        }
        if let Some(a) = s(&settings, "output_action") {
            p.insert("outputAction".into(), json!(pascal(a)));
        }
        if let Some(l) = s(&settings, "logging_level") {
            p.insert("loggingLevel".into(), json!(pascal(l)));
        }
        if let Some(r) = settings.get("retry_settings") {
            p.insert("retrySettings".into(), json!({"maxRetries": r.get("max_retries").cloned().unwrap_or(json!(3)), "timeout": r.get("timeout").map(duration).unwrap_or(json!("PT30S"))}));
        }
        if let Some(n) = doc.pointer("/resources/instance_count") {
            p.insert("resources".into(), json!({"instanceCount": n}));
        }
    } else {
        p.insert("endpointComputeType".into(), json!("Managed"));
        if let Some(m) = model {
            p.insert("model".into(), json!(m));
        }
        p.insert("instanceType".into(), json!(s(doc, "instance_type").unwrap_or("Standard_F4s_v2")));
        if let Some(a) = doc.get("app_insights_enabled") {
            p.insert("appInsightsEnabled".into(), a.clone());
        }
        body["kind"] = json!("Managed");
        body["sku"] = json!({"name": "Default", "capacity": doc.get("instance_count").and_then(Value::as_u64).unwrap_or(1)});
    }
    if let Some(t) = doc.get("tags") {
        body["tags"] = super::stringify_map(t);
    }
    body["properties"] = Value::Object(p);
    Ok((endpoint, name, body))
}

/// Schedule YAML → `Schedules_CreateOrUpdate` body; `job` is the job definition to create
/// (the properties of the job `create_job` names).
pub fn schedule(doc: &Value, job: Value) -> anyhow::Result<(String, Value)> {
    let name = s(doc, "name").ok_or_else(|| anyhow!("schedule without name"))?.to_string();
    let t = doc.get("trigger").ok_or_else(|| anyhow!("schedule {name} without trigger"))?;
    let mut trigger = match s(t, "type").unwrap_or("cron") {
        "cron" => json!({"triggerType": "Cron", "expression": s(t, "expression")}),
        _ => {
            let mut r = json!({"triggerType": "Recurrence", "frequency": pascal(s(t, "frequency").unwrap_or("day")), "interval": t.get("interval").cloned().unwrap_or(json!(1))});
            if let Some(p) = t.get("schedule") {
                r["schedule"] = json!({"hours": p.get("hours").cloned().unwrap_or(json!([])), "minutes": p.get("minutes").cloned().unwrap_or(json!([]))});
            }
            r
        }
    };
    trigger["timeZone"] = json!(s(t, "time_zone").unwrap_or("UTC"));
    for (y, r) in [("start_time", "startTime"), ("end_time", "endTime")] {
        if let Some(v) = t.get(y) {
            trigger[r] = v.clone();
        }
    }
    let mut p = Map::new();
    common(doc, &mut p);
    if let Some(d) = s(doc, "display_name") {
        p.insert("displayName".into(), json!(d));
    }
    p.insert("isEnabled".into(), doc.get("is_enabled").cloned().unwrap_or(json!(true)));
    p.insert("trigger".into(), trigger);
    p.insert("action".into(), json!({"actionType": "CreateJob", "jobDefinition": job}));
    Ok((name, json!({"properties": p})))
}
