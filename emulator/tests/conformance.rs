//! Conformance of the emulator with Microsoft's published Azure ML
//! 2025-12-01 OpenAPI (Swagger 2.0) spec, vendored under `shared/specs`.
//!
//! This file holds the offline checks of the checker itself (spec loading,
//! schema conversion, rejection of wrong shapes). The checks through a
//! running emulator live in `conformance_live.rs`.

mod support;

use serde_json::{json, Value};
use support::shape::shape_diff;
use support::spec::{spec, API_VERSION};

fn example(rel: &str) -> Value {
    let p = spec().dir.join("azureml").join(API_VERSION).join("examples").join(rel);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("example {}: {e}", p.display()));
    serde_json::from_str(&text).unwrap()
}

fn example_body(rel: &str, status: &str) -> Value {
    example(rel)["responses"][status]["body"].clone()
}

#[test]
fn spec_loads_and_indexes_the_operations_under_test() {
    let s = spec();
    for id in [
        "Workspaces_Get", "Workspaces_ListByResourceGroup", "Workspaces_ListBySubscription",
        "Datastores_List", "Datastores_Get", "Datastores_CreateOrUpdate", "Datastores_Delete", "Datastores_ListSecrets",
        "ModelContainers_List", "ModelVersions_CreateOrUpdate", "EnvironmentVersions_Get", "ComponentContainers_Delete",
        "CodeVersions_CreateOrGetStartPendingUpload", "DataVersions_List", "Jobs_List", "Jobs_Get", "Jobs_CreateOrUpdate",
    ] {
        let op = s.operation(id).unwrap_or_else(|| panic!("{id} missing from the spec index"));
        assert!(op.responses.contains_key("default"), "{id} has no default error response");
    }
    // The readiness check's operations of the other providers (StorageAccounts_GetProperties
    // and the storage lists declare no `default` error response in 2025-01-01).
    for id in [
        "Microsoft.Storage/StorageAccounts_GetProperties", "Microsoft.Storage/StorageAccounts_List", "Microsoft.Storage/StorageAccounts_ListByResourceGroup",
        "Microsoft.ContainerRegistry/Registries_Get", "Microsoft.ContainerRegistry/Registries_List", "Microsoft.ContainerRegistry/Registries_ListByResourceGroup", "Microsoft.ContainerRegistry/Replications_List", "Microsoft.ContainerRegistry/Replications_Get",
    ] {
        let op = s.operation(id).unwrap_or_else(|| panic!("{id} missing from the spec index"));
        assert!(op.responses.contains_key("200"), "{id} has no 200 response");
    }
}

/// Every response schema of every operation in the five documents converts
/// and compiles (no dangling `$ref`, no schema the validator rejects).
#[test]
fn every_response_schema_of_every_operation_compiles() {
    let s = spec();
    let mut n = 0;
    let mut failures = Vec::new();
    for op in s.operations() {
        for status in op.responses.keys() {
            match s.response_json_schema(op, status) {
                Ok(Some(schema)) => {
                    n += 1;
                    if let Err(e) = jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(&schema) {
                        failures.push(format!("{} {status}: {e}", op.operation_id));
                    }
                }
                Ok(None) => {}
                Err(e) => failures.push(format!("{} {status}: {e:#}", op.operation_id)),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(n > 300, "only {n} response schemas found");
}

/// Microsoft's own example responses validate against the converted schema
/// (a converter that rejects the spec's own examples is wrong).
#[test]
fn microsofts_example_responses_validate_against_the_converted_schemas() {
    let s = spec();
    let mut checked = 0;
    let mut failures = Vec::new();
    for op in s.operations() {
        for (name, path) in &op.examples {
            let Ok(text) = std::fs::read_to_string(path) else { continue }; // not vendored
            let ex: Value = serde_json::from_str(&text).unwrap();
            for (status, resp) in ex["responses"].as_object().unwrap() {
                let code: u16 = status.parse().unwrap();
                let r = match resp.get("body") {
                    Some(b) => s.validate_response(&op.operation_id, code, b),
                    None => s.validate_response_opt(&op.operation_id, code, None),
                };
                checked += 1;
                if let Err(errs) = r {
                    if !KNOWN_EXAMPLE_DEFECTS.iter().any(|(p, _)| path.ends_with(p)) {
                        failures.push(format!("{} ({name}, {}):\n  {}", op.operation_id, path.display(), errs.join("\n  ")));
                    }
                }
            }
        }
    }
    assert!(checked >= 50, "only {checked} example responses checked");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Upstream examples that do not match their own spec (kept out of the
/// converter self-check; they are still replayed against the emulator).
const KNOWN_EXAMPLE_DEFECTS: &[(&str, &str)] = &[
    (
        "examples/Job/CommandJob/list.json",
        "value[0].properties.parentJobName is not declared anywhere in mfe.json, and CommandJob is \
         additionalProperties:false",
    ),
    (
        "examples/Workspace/listKeys.json",
        "null for non-x-nullable strings (userStorageKey, appInsightsInstrumentationKey, \
         notebookAccessKeys.*, containerRegistryCredentials.location)",
    ),
    (
        "examples/RegistryGet.json",
        "properties.status is null; the Container Registry spec's Status is an object, not x-nullable",
    ),
    (
        "examples/RegistryList.json",
        "value[0].properties.status is null (as in RegistryGet.json)",
    ),
    (
        "examples/RegistryListByResourceGroup.json",
        "value[0].properties.status is null (as in RegistryGet.json)",
    ),
];

/// The defects above are still defects (if upstream fixes them, drop the entry).
#[test]
fn known_example_defects_are_real() {
    let s = spec();
    let cj = example_body("Job/CommandJob/list.json", "200");
    let errs = s.validate_response("Jobs_List", 200, &cj).unwrap_err();
    assert!(errs.iter().all(|e| e.contains("parentJobName")), "{errs:#?}");
    let lk = example_body("Workspace/listKeys.json", "200");
    let errs = s.validate_response("Workspaces_ListKeys", 200, &lk).unwrap_err();
    assert!(errs.iter().all(|e| e.contains("null is not of type")), "{errs:#?}");
    for (file, op) in [("RegistryGet", "Get"), ("RegistryList", "List"), ("RegistryListByResourceGroup", "ListByResourceGroup")] {
        let p = spec().dir.join(format!("containerregistry/resource-manager/2025-04-01/examples/{file}.json"));
        let ex: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        let errs = s.validate_response(&format!("Microsoft.ContainerRegistry/Registries_{op}"), 200, &ex["responses"]["200"]["body"]).unwrap_err();
        assert!(errs.iter().all(|e| e.contains("/properties/status") && e.contains("null is not of type")), "{errs:#?}");
    }
}

#[test]
fn discriminator_dispatches_to_the_derived_definition() {
    let s = spec();
    let blob = example_body("Datastore/AzureBlobWAccountKey/createOrUpdate.json", "200");
    s.validate_response("Datastores_Get", 200, &blob).unwrap();
    // AzureBlob → AzureFile: AzureFileDatastore requires accountName + fileShareName
    let mut wrong = blob.clone();
    wrong["properties"]["datastoreType"] = json!("AzureFile");
    let errs = s.validate_response("Datastores_Get", 200, &wrong).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("fileShareName")), "{errs:#?}");
    // An unknown derived property on the base type is rejected (derived types are closed)
    let mut extra = blob.clone();
    extra["properties"]["fileShareName"] = json!("x");
    let errs = s.validate_response("Datastores_Get", 200, &extra).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("fileShareName")), "{errs:#?}");
}

#[test]
fn nullable_open_enums_and_formats_follow_the_rules() {
    let s = spec();
    let mv = example_body("Workspace/ModelVersion/get.json", "200");
    s.validate_response("ModelVersions_Get", 200, &mv).unwrap();
    // x-nullable: description may be null
    let mut v = mv.clone();
    v["properties"]["description"] = Value::Null;
    s.validate_response("ModelVersions_Get", 200, &v).unwrap();
    // not x-nullable: isArchived must not be null
    let mut v = mv.clone();
    v["properties"]["isArchived"] = Value::Null;
    assert!(s.validate_response("ModelVersions_Get", 200, &v).is_err());
    // modelAsString enum (createdByType) is open
    let mut v = mv.clone();
    v["systemData"]["createdByType"] = json!("SomethingNew");
    s.validate_response("ModelVersions_Get", 200, &v).unwrap();
    // date-time format is checked
    let mut v = mv.clone();
    v["systemData"]["createdAt"] = json!("yesterday");
    let errs = s.validate_response("ModelVersions_Get", 200, &v).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("/systemData/createdAt")), "{errs:#?}");
}

/// Section 5 of the brief, offline: typical wrong shapes are rejected.
#[test]
fn wrong_shapes_are_rejected() {
    let s = spec();
    let mv = example_body("Workspace/ModelVersion/get.json", "200");
    support::mutate::assert_rejects_corruptions(s, "ModelVersions_Get", &mv);
    let list = example_body("Workspace/ModelVersion/list.json", "200");
    s.validate_response("ModelVersions_List", 200, &list).unwrap();
    let mut v = list.clone();
    v["value"] = json!({ "a": list["value"][0].clone() });
    let errs = s.validate_response("ModelVersions_List", 200, &v).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("at /value:")), "{errs:#?}");
    // undeclared status
    let errs = s.validate_response("ModelVersions_Get", 201, &mv).unwrap_err();
    assert!(errs[0].contains("not declared"), "{errs:#?}");
    // a body where the spec declares none
    assert!(s.validate_response("ModelVersions_Delete", 204, &json!({})).is_err());
    s.validate_response_opt("ModelVersions_Delete", 204, None).unwrap();
    // 4xx falls back to `default` = ErrorResponse
    s.validate_response("ModelVersions_Get", 404, &json!({"error": {"code": "NotFound", "message": "m"}})).unwrap();
    assert!(s.validate_response("ModelVersions_Get", 404, &json!({"error": {"code": 404}})).is_err());
    // Job discriminator: Command → Pipeline keeps required props satisfied, Pipeline → Command does not
    let pj = example_body("Job/PipelineJob/get.json", "200");
    s.validate_response("Jobs_Get", 200, &pj).unwrap();
    let mut v = pj.clone();
    v["properties"]["jobType"] = json!("Command");
    let errs = s.validate_response("Jobs_Get", 200, &v).unwrap_err();
    assert!(errs.iter().any(|e| e.contains("command")), "{errs:#?}");
}

#[test]
fn shape_comparison_rejects_missing_and_retyped_properties() {
    let ex = example_body("Workspace/ModelVersion/get.json", "200");
    assert!(shape_diff(&ex, &ex, &[]).is_empty());
    let mut v = ex.clone();
    v["properties"].as_object_mut().unwrap().remove("modelUri");
    let d = shape_diff(&ex, &v, &[]);
    assert!(d.iter().any(|e| e.contains("/properties/modelUri")), "{d:#?}");
    let mut v = ex.clone();
    v["properties"]["isAnonymous"] = json!("no");
    assert!(!shape_diff(&ex, &v, &[]).is_empty());
    let list = example_body("Workspace/ModelVersion/list.json", "200");
    let mut v = list.clone();
    v.as_object_mut().unwrap().remove("nextLink");
    assert!(!shape_diff(&list, &v, &[]).is_empty());
    assert!(shape_diff(&list, &v, &["/nextLink"]).is_empty());
    v["value"][0]["properties"].as_object_mut().unwrap().remove("modelUri");
    let d = shape_diff(&list, &v, &["/nextLink"]);
    assert!(d.iter().any(|e| e.contains("/value/0/properties/modelUri")), "{d:#?}");
}

#[test]
#[should_panic(expected = "conformance specs not found")]
fn missing_specs_fail_loudly() {
    // the check specs_dir() applies, on a directory without the specs
    support::spec::specs_dir_from(Some("/nonexistent/specs".into()));
}

#[test]
fn read_only_properties_are_stripped_from_seed_bodies() {
    let s = spec();
    let ds = example_body("Datastore/get.json", "200");
    let body = s.request_body_from_response("Datastores_CreateOrUpdate", &ds).unwrap();
    for p in ["id", "name", "type", "systemData"] {
        assert!(body.get(p).is_none(), "{p} kept: {body:#}");
    }
    assert!(body["properties"].get("isDefault").is_none(), "{body:#}");
    assert!(body["properties"].get("datastoreType").is_some(), "{body:#}");
    let job = example_body("Job/CommandJob/get.json", "200");
    let body = s.request_body_from_response("Jobs_CreateOrUpdate", &job).unwrap();
    assert!(body["properties"].get("status").is_none(), "{body:#}");
    assert!(body["properties"].get("command").is_some(), "{body:#}");
}
