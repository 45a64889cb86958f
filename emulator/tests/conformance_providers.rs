//! Conformance of the emulator's Storage resource provider (2025-01-01) and Container Registry
//! provider (2025-04-01) with Microsoft's specs vendored under `shared/specs` (see the
//! "readiness check" section of `shared/specs/SOURCE.md`): every response of the covered
//! operations validates against the spec's schema for its status, every page of a list is
//! validated and `nextLink` followed (page size 2), Microsoft's examples are compared by shape,
//! what a test configures (SKU, lastSyncTime, allowSharedKeyAccess, replications) is what the
//! provider answers, and corrupted answers are rejected.

mod support;

use std::time::Duration;

use aml_emulator::resources::{acr::RegistryRecord, storage_rp};
use aml_emulator::testbed::{names, TestBed, TestBedOptions};
use serde_json::{json, Value};
use support::shape::shape_diff;
use support::spec::{spec, REGISTRY_API_VERSION, STORAGE_API_VERSION};

struct Client {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(tb: &TestBed) -> Client {
        let pem = std::fs::read(tb.ca_pem_path()).unwrap();
        let http = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        Client { rt, http, base: tb.arm_url().trim_end_matches('/').to_string(), token: tb.token().to_string() }
    }

    /// GET a path (with its query) or an absolute URL: (status, JSON body).
    fn get(&self, url: &str) -> (u16, Value) {
        let url = if url.starts_with("http") { url.to_string() } else { format!("{}{url}", self.base) };
        self.rt.block_on(async {
            let r = self.http.get(&url).bearer_auth(&self.token).send().await.unwrap_or_else(|e| panic!("GET {url}: {e:#}"));
            let status = r.status().as_u16();
            let text = r.text().await.unwrap();
            (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: not JSON ({e}): {text}")))
        })
    }
}

const SUB: &str = names::SUBSCRIPTION;
const RG: &str = names::RESOURCE_GROUP;

fn storage(path: &str, extra_query: &str) -> String {
    format!("/subscriptions/{SUB}{path}?api-version={STORAGE_API_VERSION}{extra_query}")
}
fn registry(path: &str) -> String {
    format!("/subscriptions/{SUB}{path}?api-version={REGISTRY_API_VERSION}")
}

/// Validates a response against the spec, collecting failures.
fn check(failures: &mut Vec<String>, op: &str, url: &str, status: u16, body: &Value) {
    if let Err(errs) = spec().validate_response(op, status, body) {
        failures.push(format!("{op} GET {url} -> {status}\n    {}", errs.join("\n    ")));
    }
}

/// Every page of a list, each validated; the items of all pages.
fn list_all(c: &Client, failures: &mut Vec<String>, op: &str, url: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(url.to_string());
    let mut pages = 0;
    while let Some(u) = next.take() {
        let (status, body) = c.get(&u);
        assert_eq!(status, 200, "{op} {u}: {body}");
        check(failures, op, &u, status, &body);
        items.extend(body["value"].as_array().cloned().unwrap_or_default());
        next = body.get("nextLink").and_then(Value::as_str).map(str::to_string);
        pages += 1;
        assert!(pages < 20, "{op}: nextLink never ends");
    }
    items
}

fn example_body(rel: &str) -> Value {
    let p = spec().dir.join(rel);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    v["responses"]["200"]["body"].clone()
}

fn names_of(items: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = items.iter().map(|i| i["name"].as_str().unwrap_or("").to_string()).collect();
    v.sort();
    v
}

#[test]
fn storage_and_registry_providers_conform_to_their_specs() {
    let tb = TestBed::start(TestBedOptions { page_size: Some(2), ..Default::default() }).expect("test bed");
    // A third account (in another group) and more registries, so lists take more than one page.
    storage_rp::ensure(tb.app(), SUB, "rg-other", "amldatasa", "westus");
    tb.configure_storage_account("amldatasa", |a| a.sku = "Standard_LRS".into()).unwrap();
    tb.configure_storage_account(names::PRIMARY_STORAGE, |a| {
        a.last_sync_time = Some("2026-12-01T08:30:00Z".into());
        a.allow_shared_key_access = Some(false);
    })
    .unwrap();
    tb.put_registry(RegistryRecord::new(SUB, RG, "amlbasicacr", "eastus", "Basic", &[]));
    tb.put_registry(RegistryRecord::new(SUB, "rg-other", "amlotheracr", "westus", "Standard", &[]));
    let c = Client::new(&tb);
    let mut failures = Vec::new();

    // StorageAccounts_GetProperties, with and without $expand=geoReplicationStats.
    let acct = format!("/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/{}", names::PRIMARY_STORAGE);
    let url = storage(&acct, "&$expand=geoReplicationStats");
    let (status, geo) = c.get(&url);
    assert_eq!(status, 200, "{geo}");
    check(&mut failures, "Microsoft.Storage/StorageAccounts_GetProperties", &url, status, &geo);
    assert_eq!(geo["sku"]["name"], "Standard_RAGRS");
    assert_eq!(geo["location"], names::PRIMARY_LOCATION);
    assert_eq!(geo["properties"]["geoReplicationStats"]["status"], "Live");
    assert_eq!(geo["properties"]["geoReplicationStats"]["lastSyncTime"], "2026-12-01T08:30:00Z");
    assert_eq!(geo["properties"]["geoReplicationStats"]["canFailover"], true);
    assert_eq!(geo["properties"]["allowSharedKeyAccess"], false);
    assert_eq!(geo["properties"]["secondaryLocation"], "westus");
    assert!(geo["properties"]["secondaryEndpoints"]["blob"].as_str().unwrap().contains("-secondary"), "{geo:#}");
    let ex = example_body("storage/resource-manager/2025-01-01/examples/StorageAccountGetPropertiesGeoReplicationStatscanFailoverTrue.json");
    // Features the emulator's accounts do not have (routing preference, HNS-only endpoints).
    let exc = ["/tags/key1", "/tags/key2", "/properties/routingPreference", "/properties/primaryEndpoints/microsoftEndpoints",
        "/properties/primaryEndpoints/internetEndpoints", "/properties/networkAcls/resourceAccessRules"];
    let d = shape_diff(&ex, &geo, &exc);
    assert!(d.is_empty(), "shape differs from Microsoft's example: {d:#?}");
    let url = storage(&acct, "");
    let (status, plain) = c.get(&url);
    check(&mut failures, "Microsoft.Storage/StorageAccounts_GetProperties", &url, status, &plain);
    assert!(plain["properties"].get("geoReplicationStats").is_none(), "geoReplicationStats only with $expand: {plain:#}");
    // An LRS account has no secondary and no replication statistics, even when asked.
    let url = storage("/resourceGroups/rg-other/providers/Microsoft.Storage/storageAccounts/amldatasa", "&$expand=geoReplicationStats");
    let (status, lrs) = c.get(&url);
    check(&mut failures, "Microsoft.Storage/StorageAccounts_GetProperties", &url, status, &lrs);
    assert_eq!(lrs["sku"]["name"], "Standard_LRS");
    assert!(lrs["properties"].get("geoReplicationStats").is_none() && lrs["properties"].get("secondaryLocation").is_none(), "{lrs:#}");
    // Errors: unknown account (ARM's shape), a wrong $expand, an api-version of another provider.
    let (status, e) = c.get(&storage(&format!("/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts/nosuchacct"), ""));
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("ResourceNotFound")), "{e}");
    let (status, e) = c.get(&storage(&acct, "&$expand=everything"));
    assert_eq!(status, 400, "{e}");
    let (status, e) = c.get(&format!("/subscriptions/{SUB}{acct}?api-version=2025-12-01"));
    assert_eq!((status, e["error"]["code"].as_str()), (400, Some("NoRegisteredProviderFound")), "{e}");

    // StorageAccounts_List / _ListByResourceGroup, every page.
    let all = list_all(&c, &mut failures, "Microsoft.Storage/StorageAccounts_List", &storage("/providers/Microsoft.Storage/storageAccounts", ""));
    assert_eq!(names_of(&all), ["amldatasa", names::FAILOVER_STORAGE, names::PRIMARY_STORAGE]);
    let in_rg = list_all(&c, &mut failures, "Microsoft.Storage/StorageAccounts_ListByResourceGroup", &storage(&format!("/resourceGroups/{RG}/providers/Microsoft.Storage/storageAccounts"), ""));
    assert_eq!(names_of(&in_rg), [names::FAILOVER_STORAGE, names::PRIMARY_STORAGE]);
    let ex = example_body("storage/resource-manager/2025-01-01/examples/StorageAccountListByResourceGroup.json");
    let d = shape_diff(&ex, &json!({"value": in_rg}), &["/nextLink", "/value/*/properties/primaryEndpoints/microsoftEndpoints",
        "/value/*/properties/primaryEndpoints/internetEndpoints", "/value/*/properties/routingPreference", "/value/*/properties/networkAcls/resourceAccessRules",
        "/value/*/properties/geoReplicationStats", "/value/*/tags/key1", "/value/*/tags/key2"]);
    assert!(d.is_empty(), "shape differs from Microsoft's example: {d:#?}");

    // Registries_Get / _List / _ListByResourceGroup, Replications_List / _Get.
    let reg = format!("/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/{}", names::REGISTRY);
    let url = registry(&reg);
    let (status, r) = c.get(&url);
    assert_eq!(status, 200, "{r}");
    check(&mut failures, "Microsoft.ContainerRegistry/Registries_Get", &url, status, &r);
    assert_eq!((r["sku"]["name"].as_str(), r["location"].as_str()), (Some("Premium"), Some(names::PRIMARY_LOCATION)));
    let d = shape_diff(&example_body("containerregistry/resource-manager/2025-04-01/examples/RegistryGet.json"), &r, &["/tags/key"]);
    assert!(d.is_empty(), "shape differs from Microsoft's example: {d:#?}");
    let regs = list_all(&c, &mut failures, "Microsoft.ContainerRegistry/Registries_List", &registry("/providers/Microsoft.ContainerRegistry/registries"));
    assert_eq!(names_of(&regs), ["amlbasicacr", names::REGISTRY, "amlotheracr"]);
    let regs = list_all(&c, &mut failures, "Microsoft.ContainerRegistry/Registries_ListByResourceGroup", &registry(&format!("/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries")));
    assert_eq!(names_of(&regs), ["amlbasicacr", names::REGISTRY]);
    let reps = list_all(&c, &mut failures, "Microsoft.ContainerRegistry/Replications_List", &registry(&format!("{reg}/replications")));
    let mut locs: Vec<&str> = reps.iter().map(|r| r["location"].as_str().unwrap()).collect();
    locs.sort();
    assert_eq!(locs, [names::PRIMARY_LOCATION, names::FAILOVER_LOCATION]);
    let url = registry(&format!("{reg}/replications/{}", names::FAILOVER_LOCATION));
    let (status, rep) = c.get(&url);
    check(&mut failures, "Microsoft.ContainerRegistry/Replications_Get", &url, status, &rep);
    assert_eq!(rep["properties"]["provisioningState"], "Succeeded");
    let (status, e) = c.get(&registry(&format!("{reg}/replications/japaneast")));
    // (these operations declare no error response; ARM's shape)
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("ResourceNotFound")), "{e}");
    let (status, e) = c.get(&registry(&format!("/resourceGroups/{RG}/providers/Microsoft.ContainerRegistry/registries/nosuchacr")));
    assert_eq!((status, e["error"]["code"].as_str()), (404, Some("ResourceNotFound")), "{e}");

    // The workspace names its storage account, Key Vault, registry and Application Insights as
    // Azure does (ARM ids of their providers); the standard bed shares the vault and registry.
    let ws_url = |n: &str| format!("/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/{n}?api-version=2025-12-01");
    let (_, p) = c.get(&ws_url(names::PRIMARY_WORKSPACE));
    let (_, f) = c.get(&ws_url(names::FAILOVER_WORKSPACE));
    assert_eq!(p["properties"]["storageAccount"].as_str(), Some(format!("/subscriptions/{SUB}{acct}").as_str()));
    assert_eq!(p["properties"]["containerRegistry"].as_str(), Some(format!("/subscriptions/{SUB}{reg}").as_str()));
    assert_eq!(p["properties"]["keyVault"], f["properties"]["keyVault"]);
    assert!(p["properties"]["keyVault"].as_str().unwrap().contains("/providers/Microsoft.KeyVault/vaults/"));
    assert_ne!(p["properties"]["applicationInsights"], f["properties"]["applicationInsights"]);
    assert!(f["properties"]["applicationInsights"].as_str().unwrap().contains("/providers/Microsoft.insights/components/"));
    check(&mut failures, "Workspaces_Get", "primary", 200, &p);

    assert!(failures.is_empty(), "{} violation(s):\n{}", failures.len(), failures.join("\n"));
}

/// The validator rejects wrong shapes of these providers' answers (a check that cannot fail is a defect).
#[test]
fn corrupted_provider_answers_are_rejected() {
    let s = spec();
    let acct = storage_rp::StorageAccountRecord::new(SUB, RG, "acct1", "eastus").resource(None, true);
    s.validate_response("Microsoft.Storage/StorageAccounts_GetProperties", 200, &acct).unwrap_or_else(|e| panic!("{e:#?}"));
    let reg = RegistryRecord::new(SUB, RG, "acr001", "eastus", "Premium", &["westus"]);
    s.validate_response("Microsoft.ContainerRegistry/Registries_Get", 200, &reg.resource()).unwrap();
    s.validate_response("Microsoft.ContainerRegistry/Replications_List", 200, &json!({"value": [reg.replication("westus")]})).unwrap();
    let cases: Vec<(&str, &str, Value)> = vec![
        ("Microsoft.Storage/StorageAccounts_GetProperties", "lastSyncTime not a date-time", {
            let mut v = acct.clone();
            v["properties"]["geoReplicationStats"]["lastSyncTime"] = json!("yesterday");
            v
        }),
        ("Microsoft.Storage/StorageAccounts_GetProperties", "canFailover as a string", {
            let mut v = acct.clone();
            v["properties"]["geoReplicationStats"]["canFailover"] = json!("true");
            v
        }),
        ("Microsoft.Storage/StorageAccounts_GetProperties", "sku as a string", {
            let mut v = acct.clone();
            v["sku"] = json!("Standard_RAGRS");
            v
        }),
        ("Microsoft.Storage/StorageAccounts_GetProperties", "allowSharedKeyAccess as a string", {
            let mut v = acct.clone();
            v["properties"]["allowSharedKeyAccess"] = json!("false");
            v
        }),
        ("Microsoft.ContainerRegistry/Registries_Get", "location missing", {
            let mut v = reg.resource();
            v.as_object_mut().unwrap().remove("location");
            v
        }),
        ("Microsoft.ContainerRegistry/Replications_List", "value is an object", json!({"value": {"westus": reg.replication("westus")}})),
    ];
    for (op, what, body) in cases {
        assert!(s.validate_response(op, 200, &body).is_err(), "{op}: `{what}` was accepted");
    }
}
