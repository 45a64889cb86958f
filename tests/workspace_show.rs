//! `aml-failover workspace show` through the built binary, against Azurite and the emulator.

mod common;

use aml_emulator::faults::Fault;
use common::*;

const DEFAULT_DATASTORES: [&str; 4] =
    ["workspaceblobstore", "workspaceartifactstore", "workspacefilestore", "workspaceworkingdirectory"];

#[test]
fn show_by_arm_id_lists_region_storage_and_default_datastores() {
    let tb = testbed(None, false);
    let p = tb.primary();
    let r = run(command(&tb), &["workspace", "show", "--from", &p.arm_id()]);
    r.expect_code(0);
    assert!(r.stdout.contains(&format!("source workspace {}", p.name)), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("region          {}", p.location)), "{}", r.stdout);
    assert!(r.stdout.contains(&p.storage_account), "{}", r.stdout);
    for ds in DEFAULT_DATASTORES {
        assert!(r.stdout.contains(ds), "missing datastore {ds}:\n{}", r.stdout);
    }
    assert!(r.stdout.contains(&format!("azureml-blobstore-{}", p.workspace_id)), "{}", r.stdout);
    assert!(r.stdout.contains("code-391ff5ac-6576-460f-ba4d-7e03433c68b6"), "{}", r.stdout);
    assert!(r.stdout.contains("storage         reachable"), "{}", r.stdout);
    assert_no_secrets(&tb, &r);
}

#[test]
fn config_json_and_name_flags_name_the_same_workspace() {
    let tb = testbed(None, false);
    let p = tb.primary();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(
        &cfg,
        serde_json::json!({"subscription_id": p.subscription_id, "resource_group": p.resource_group, "workspace_name": p.name})
            .to_string(),
    )
    .unwrap();
    let by_config = run(command(&tb), &["workspace", "show", "--from", cfg.to_str().unwrap(), "-o", "json"]);
    by_config.expect_code(0);
    let by_flags = run(
        command(&tb),
        &["workspace", "show", "--subscription", &p.subscription_id, "-g", &p.resource_group, "-w", &p.name, "-o", "json"],
    );
    by_flags.expect_code(0);
    let a = by_config.json();
    let b = by_flags.json();
    assert_eq!(a["schemaVersion"], 1);
    let ws = &a["workspaces"][0]["workspace"];
    assert_eq!(ws["name"], p.name.as_str());
    assert_eq!(ws["location"], p.location.as_str());
    assert_eq!(ws["workspaceId"], p.workspace_id.as_str());
    assert!(ws["storageAccount"].as_str().unwrap().ends_with(&format!("/storageAccounts/{}", p.storage_account)));
    assert_eq!(a["workspaces"][0]["workspace"], b["workspaces"][0]["workspace"]);
    assert_eq!(a["workspaces"][0]["storage"]["reachable"], true);
    let names: Vec<&str> =
        a["workspaces"][0]["datastores"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    for ds in DEFAULT_DATASTORES {
        assert!(names.contains(&ds), "{names:?}");
    }
}

#[test]
fn both_regions_side_by_side() {
    let tb = testbed(None, false);
    let r = run(command(&tb), &["workspace", "show", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["workspaces"][0]["role"], "source");
    assert_eq!(v["workspaces"][0]["workspace"]["location"], "eastus");
    assert_eq!(v["workspaces"][1]["role"], "target");
    assert_eq!(v["workspaces"][1]["workspace"]["location"], "westus");
    assert_ne!(v["workspaces"][0]["workspace"]["workspaceId"], v["workspaces"][1]["workspace"]["workspaceId"]);
}

#[test]
fn lists_are_followed_across_pages() {
    let tb = testbed(Some(2), true);
    tb.reset_counters();
    let r = run(command(&tb), &["workspace", "show", "--from", &tb.primary().arm_id(), "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    let names: Vec<&str> =
        v["workspaces"][0]["datastores"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    // The four defaults and the seed's two (testdata/seed/primary/estate: an account-key and an identity-based one).
    assert_eq!(names.len(), 6, "{names:?}");
    assert!(tb.request_count("GET", "/datastores") >= 2, "datastores were not fetched over several pages");
    // The seeded primary has more models than a page holds; the count must include every page.
    let models = v["workspaces"][0]["assetCounts"]["models"].as_u64().unwrap();
    assert!(models > 2, "models counted: {models}");
    assert!(tb.request_count("GET", "/models") >= 2);
}

#[test]
fn missing_token_is_an_auth_error_naming_the_fix() {
    let tb = testbed(None, false);
    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_ACCESS_TOKEN");
    let r = run(c, &["workspace", "show", "--auth", "token", "--from", &tb.primary().arm_id()]);
    r.expect_code(3);
    assert!(r.stderr.contains("AML_FAILOVER_ACCESS_TOKEN"), "{}", r.stderr);

    let mut c = command(&tb);
    c.env("AML_FAILOVER_ACCESS_TOKEN", "not-the-right-token");
    let r = run(c, &["workspace", "show", "--from", &tb.primary().arm_id()]);
    r.expect_code(3);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(r.stderr.contains("az login"), "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "one clear line:\n{}", r.stderr);
    assert!(!r.stderr.contains("not-the-right-token"));
}

#[test]
fn service_principal_through_azure_identity() {
    let tb = testbed(None, false);
    let (tenant, client, secret) = tb.service_principal();
    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_ACCESS_TOKEN")
        .env("AZURE_TENANT_ID", &tenant)
        .env("AZURE_CLIENT_ID", &client)
        .env("AZURE_CLIENT_SECRET", &secret);
    tb.reset_counters();
    let r = run(c, &["workspace", "show", "--from", &tb.primary().arm_id()]);
    r.expect_code(0);
    assert!(tb.request_count("POST", "/oauth2/v2.0/token") >= 1, "no token was requested from the authority");
    assert_no_secrets(&tb, &r);

    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_ACCESS_TOKEN")
        .env("AZURE_TENANT_ID", &tenant)
        .env("AZURE_CLIENT_ID", &client)
        .env("AZURE_CLIENT_SECRET", "wrong-secret");
    let r = run(c, &["workspace", "show", "--auth", "service-principal", "--from", &tb.primary().arm_id()]);
    r.expect_code(3);
    assert!(r.stderr.contains("service principal"), "{}", r.stderr);
    assert!(!r.stderr.contains("wrong-secret"), "{}", r.stderr);
}

#[test]
fn a_503_with_retry_after_succeeds_on_retry() {
    let tb = testbed(None, false);
    let p = tb.primary();
    tb.set_fault(Fault::throttle(503, 1, 1).on("GET", format!("/workspaces/{}", p.name)));
    tb.reset_counters();
    let start = std::time::Instant::now();
    let r = run(command(&tb), &["workspace", "show", "--from", &p.arm_id()]);
    r.expect_code(0);
    assert!(start.elapsed() >= std::time::Duration::from_secs(1), "Retry-After: 1 was not waited for");
    let ws_gets = tb.operation_count("Workspaces_Get");
    assert_eq!(ws_gets, 2, "one throttled attempt and one retry");
}

#[test]
fn region_down_is_a_clear_unavailable_error() {
    let tb = testbed(None, false);
    tb.set_fault(Fault::region_down("eastus"));
    let r = run(
        command(&tb),
        &["workspace", "show", "--max-retries", "1", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id()],
    );
    r.expect_code(5);
    assert!(r.stderr.contains("region may be down"), "{}", r.stderr);
    assert!(r.stderr.contains(&tb.primary().name), "{}", r.stderr);
    // The failover region still answers and is shown.
    assert!(r.stdout.contains(&format!("target workspace {}", tb.failover().name)), "{}", r.stdout);
}

#[test]
fn bad_input_gets_one_line_and_exit_2() {
    let tb = testbed(None, false);
    for args in [
        vec!["workspace", "show", "--cloud", "AzureMoon", "--from", "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/w"],
        vec!["workspace", "show", "--from", "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/x"],
        vec!["workspace", "show", "--from", "just-a-name"],
        vec!["workspace", "show"],
    ] {
        let r = run(command(&tb), &args);
        r.expect_code(2);
        assert_eq!(r.stderr.lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    }
}

#[test]
fn unknown_workspace_is_not_found() {
    let tb = testbed(None, false);
    let p = tb.primary();
    let id = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/no-such-ws",
        p.subscription_id, p.resource_group
    );
    let r = run(command(&tb), &["workspace", "show", "--from", &id, "-o", "json"]);
    r.expect_code(4);
    assert_eq!(r.json()["workspaces"][0]["error"]["kind"], "not_found");
    assert!(r.stderr.contains("no-such-ws"), "{}", r.stderr);
}

#[test]
fn unreachable_endpoint_and_untrusted_certificate() {
    let tb = testbed(None, false);
    let closed = aml_emulator::azurite::free_port().unwrap();
    let mut c = command(&tb);
    c.env("AML_FAILOVER_RESOURCE_MANAGER", format!("https://127.0.0.1:{closed}"));
    let r = run(c, &["workspace", "show", "--max-retries", "0", "--from", &tb.primary().arm_id()]);
    r.expect_code(5);
    assert!(r.stderr.contains("cannot reach 127.0.0.1"), "{}", r.stderr);

    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_CA_CERT");
    let r = run(c, &["workspace", "show", "--max-retries", "0", "--from", &tb.primary().arm_id()]);
    r.expect_code(5);
    assert!(r.stderr.contains("--ca-cert"), "{}", r.stderr);

    // The same CA given by flag instead of the environment works.
    let mut c = command(&tb);
    c.env_remove("AML_FAILOVER_CA_CERT");
    let ca = tb.ca_pem_path().to_str().unwrap().to_string();
    let r = run(c, &["workspace", "show", "--ca-cert", &ca, "--from", &tb.primary().arm_id()]);
    r.expect_code(0);
}

#[test]
fn verbose_logs_carry_no_secrets() {
    let tb = testbed(None, false);
    let mut c = command(&tb);
    c.env("RUST_LOG", "trace");
    let r = run(c, &["workspace", "show", "-vv", "--from", &tb.primary().arm_id()]);
    r.expect_code(0);
    assert!(!r.stderr.is_empty());
    assert_no_secrets(&tb, &r);
}
