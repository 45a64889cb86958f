//! End-to-end checks of the emulator through HTTP (reqwest), against a real Azurite.

use std::path::Path;

use aml_emulator::testbed::{TestBed, TestBedOptions};
use aml_emulator::{EmulatorConfig, Fault, StorageAccount, WorkspaceSpec};
use serde_json::{json, Value};

const V: &str = "api-version=2025-12-01";

fn client(ca_pem: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca_pem).unwrap();
    reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap()
}

fn seed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/seed/primary")
}

/// Maps `https://<account>.blob.core.windows.net/...` onto Azurite's path-style endpoint.
fn to_azurite(bed: &TestBed, uri: &str) -> String {
    let rest = uri.strip_prefix("https://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let account = host.split('.').next().unwrap();
    format!("{}/{path}", bed.blob_endpoint_template().replace("{account}", account))
}

async fn get(c: &reqwest::Client, token: &str, url: &str) -> (u16, Value) {
    let r = c.get(url).bearer_auth(token).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testbed_end_to_end() {
    let bed = TestBed::start(TestBedOptions { page_size: Some(2), seed_primary: Some(seed_dir()), ..Default::default() }).unwrap();
    let c = client(bed.ca_pem_path());
    let ws = format!("{}{}", bed.arm_url(), bed.primary().arm_id());
    let tok = bed.token();

    // Auth.
    let r = c.get(format!("{ws}?{V}")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    assert!(r.headers().contains_key("x-ms-request-id"));
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "AuthenticationFailed");
    assert_eq!(get(&c, "forged", &format!("{ws}?{V}")).await, (401, json!({"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}})));
    let (tenant, client_id, secret) = bed.service_principal();
    let token_url = format!("{}/{tenant}/oauth2/v2.0/token", bed.authority_host());
    let form = |s: &str| format!("grant_type=client_credentials&client_id={client_id}&client_secret={s}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default");
    let bad = c.post(&token_url).header("content-type", "application/x-www-form-urlencoded").body(form("wrong")).send().await.unwrap();
    assert_eq!(bad.status(), 401);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_client");
    let minted: Value = c.post(&token_url).header("content-type", "application/x-www-form-urlencoded").body(form(&secret)).send().await.unwrap().json().await.unwrap();
    assert_eq!(minted["expires_in"], 3599);
    let sp_token = minted["access_token"].as_str().unwrap().to_string();
    let (s, w) = get(&c, &sp_token, &format!("{ws}?api-version=2024-10-01-preview")).await;
    assert_eq!(s, 200);
    assert_eq!(w["properties"]["workspaceId"], bed.primary().workspace_id.as_str());

    // api-version.
    let (s, e) = get(&c, tok, &ws).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("MissingApiVersionParameter")));
    let (s, e) = get(&c, tok, &format!("{ws}/models?api-version=2099-01-01")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (400, Some("NoRegisteredProviderFound")));
    assert!(e["error"]["message"].as_str().unwrap().contains("location 'eastus'"));

    // Unknown workspace, unknown type.
    let other = ws.replace("aml-primary", "nope");
    let (s, e) = get(&c, tok, &format!("{other}/models?{V}")).await;
    assert_eq!(s, 404);
    assert_eq!(e["error"]["message"], "The Resource 'Microsoft.MachineLearningServices/workspaces/nope' under resource group 'rg-aml-failover' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix");
    assert_eq!(get(&c, tok, &format!("{ws}/featuresets?{V}")).await.1["error"]["code"], "InvalidResourceType");

    // Paging across pages (page size 2, 3 seeded models + anonymous code etc.).
    let mut url = format!("{ws}/models?{V}");
    let mut names = Vec::new();
    let mut pages = 0;
    loop {
        let (s, page) = get(&c, tok, &url).await;
        assert_eq!(s, 200, "{page}");
        pages += 1;
        names.extend(page["value"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap().to_string()));
        match page.get("nextLink").and_then(Value::as_str) {
            Some(n) => {
                assert!(n.contains("api-version=2025-12-01") && n.contains("$skipToken="));
                assert_eq!(c.get(n).send().await.unwrap().status(), 401, "next pages need auth too");
                url = n.to_string();
            }
            None => break,
        }
    }
    names.sort();
    assert_eq!(names, ["diabetes-regression", "local-file-example", "local-mlflow-example"]);
    assert_eq!(pages, 2);
    let (_, container) = get(&c, tok, &format!("{ws}/models/local-file-example?{V}")).await;
    assert_eq!(container["properties"]["latestVersion"], "2");
    assert_eq!(container["properties"]["nextVersion"], "3");

    // Default datastores and listSecrets.
    let (_, ds) = get(&c, tok, &format!("{ws}/datastores?{V}&listViewType=All")).await;
    let (_, ds2) = get(&c, tok, ds["nextLink"].as_str().unwrap()).await;
    let all: Vec<Value> = ds["value"].as_array().unwrap().iter().chain(ds2["value"].as_array().unwrap()).cloned().collect();
    let names: Vec<&str> = all.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["workspaceblobstore", "workspaceartifactstore", "workspacefilestore", "workspaceworkingdirectory"]);
    assert_eq!(all[0]["properties"]["containerName"], bed.primary().default_container().as_str());
    assert_eq!(all[0]["properties"]["isDefault"], true);
    assert_eq!(all[0]["properties"]["credentials"]["secrets"], json!({"secretsType": "AccountKey"}));
    assert_eq!(all[3]["properties"]["fileShareName"], "code-391ff5ac-6576-460f-ba4d-7e03433c68b6");
    let secrets: Value = c.post(format!("{ws}/datastores/workspaceblobstore/listSecrets?{V}")).bearer_auth(tok).send().await.unwrap().json().await.unwrap();
    assert_eq!(secrets, json!({"secretsType": "AccountKey", "key": bed.primary().storage_key}));

    // Seeded model bytes are downloadable from Azurite with the listed key.
    let (_, mv) = get(&c, tok, &format!("{ws}/models/local-file-example/versions/2?{V}")).await;
    let uri = mv["properties"]["modelUri"].as_str().unwrap();
    let blob_path = uri.split("/paths/").nth(1).unwrap();
    assert!(uri.starts_with("azureml://subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-aml-failover/workspaces/aml-primary/datastores/workspaceblobstore/paths/LocalUpload/"));
    let blob = aml_emulator::blob::BlobService::new(bed.blob_endpoint());
    let bytes = blob.get_blob(&bed.primary().storage_account, secrets["key"].as_str().unwrap(), &bed.primary().default_container(), blob_path).await.unwrap();
    assert_eq!(bytes, std::fs::read(seed_dir().join("model/mlflow-model/model.pkl")).unwrap());
    assert_eq!(mv["properties"]["stage"], "Production");

    // Immutable versions: same content 200, different content 409.
    let put = |url: String, body: Value| {
        let c = c.clone();
        async move { c.put(url).bearer_auth(tok).json(&body).send().await.unwrap().status().as_u16() }
    };
    let vurl = format!("{ws}/models/local-file-example/versions/2?{V}");
    let mut same = json!({"properties": mv["properties"].clone()});
    same["properties"]["tags"]["extra"] = json!("ok");
    assert_eq!(put(vurl.clone(), same.clone()).await, 200);
    same["properties"]["modelUri"] = json!("azureml://elsewhere");
    assert_eq!(put(vurl, same).await, 409);
    assert_eq!(put(format!("{ws}/data/d1/versions/1?{V}"), json!({"properties": {"dataType": "uri_file"}})).await, 400);
    assert_eq!(put(format!("{ws}/data/d1/versions/1?{V}"), json!({"properties": {"dataType": "uri_file", "dataUri": "azureml://x"}})).await, 201);

    // startPendingUpload: a SAS Azurite accepts.
    let spu: Value = c.post(format!("{ws}/codes/mycode/versions/1/startPendingUpload?{V}")).bearer_auth(tok)
        .json(&json!({"pendingUploadType": "TemporaryBlobReference"})).send().await.unwrap().json().await.unwrap();
    let blob_ref = &spu["blobReferenceForConsumption"];
    assert_eq!(blob_ref["credential"]["credentialType"], "SAS");
    let sas_uri = blob_ref["credential"]["sasUri"].as_str().unwrap();
    let (base, query) = sas_uri.split_once('?').unwrap();
    let target = format!("{}/hello.py?{query}", to_azurite(&bed, base));
    let r = reqwest::Client::new().put(&target).header("x-ms-blob-type", "BlockBlob").body("print('hi')").send().await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = reqwest::Client::new().get(&target).send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), "print('hi')");
    let forged = target.replace("sig=", "sig=AAAA");
    assert_eq!(reqwest::Client::new().get(&forged).send().await.unwrap().status(), 403);
    assert_eq!(put(format!("{ws}/codes/mycode/versions/1?{V}"), json!({"properties": {"codeUri": blob_ref["blobUri"]}})).await, 201);

    // Faults: one 429 then success; counters see both.
    bed.reset_counters();
    bed.set_fault(Fault::throttle(429, 1, 1).on("GET", "/models/local-mlflow-example"));
    let murl = format!("{ws}/models/local-mlflow-example/versions/1?{V}");
    let r = c.get(&murl).bearer_auth(tok).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "TooManyRequests");
    let (s, m) = get(&c, tok, &murl).await;
    assert_eq!(s, 200);
    assert!(m["properties"]["flavors"]["sklearn"]["data"]["pickled_model"].is_string());
    assert_eq!(bed.request_count("GET", "/models/local-mlflow-example/versions/1"), 2);
    assert_eq!(bed.operation_count("ModelVersions_Get"), 2);

    // Region down: primary (eastus) fails with 504, failover (westus) answers.
    bed.set_fault(Fault::region_down("eastus"));
    let (s, e) = get(&c, tok, &format!("{ws}/models?{V}")).await;
    assert_eq!((s, e["error"]["code"].as_str()), (504, Some("GatewayTimeout")));
    let fws = format!("{}{}", bed.arm_url(), bed.failover().arm_id());
    assert_eq!(get(&c, tok, &format!("{fws}/models?{V}")).await.0, 200);
    assert_eq!(get(&c, tok, &format!("{}/subscriptions/{}/providers/Microsoft.MachineLearningServices/workspaces?{V}", bed.arm_url(), bed.primary().subscription_id)).await.0, 200);

    // Admin API drives the same faults.
    let admin = bed.admin_url().to_string();
    assert_eq!(c.delete(format!("{admin}/faults")).send().await.unwrap().status(), 401);
    assert_eq!(c.delete(format!("{admin}/faults")).bearer_auth(tok).send().await.unwrap().status(), 204);
    assert_eq!(get(&c, tok, &format!("{ws}/models?{V}")).await.0, 200);
    let r = c.post(format!("{admin}/faults")).bearer_auth(tok).json(&json!({"kind": "drop_connection", "count": 1})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let dropped = c.get(format!("{ws}?{V}")).bearer_auth(tok).send().await;
    let failed = match dropped {
        Err(_) => true,
        Ok(r) => r.bytes().await.is_err(),
    };
    assert!(failed, "the dropped response must fail on the client");
    assert_eq!(get(&c, tok, &format!("{ws}?{V}")).await.0, 200);
    let counters: Value = c.get(format!("{admin}/requests")).bearer_auth(tok).send().await.unwrap().json().await.unwrap();
    assert!(counters["counters"]["GET Workspaces_Get"].as_u64().unwrap() >= 2);
}

#[tokio::test]
async fn state_survives_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = EmulatorConfig {
        data_dir: Some(dir.path().to_path_buf()),
        tls: false,
        static_token: "t0ken".into(),
        storage_accounts: vec![StorageAccount { name: "sa1".into(), key: "a2V5a2V5".into() }],
        workspaces: vec![WorkspaceSpec { subscription_id: "s1".into(), resource_group: "rg".into(), name: "ws".into(), location: "westus".into(), storage_account: "sa1".into() }],
        ..EmulatorConfig::default()
    };
    let emu = aml_emulator::start(config.clone()).await.unwrap();
    let ws = format!("{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws", emu.base_url());
    let c = reqwest::Client::new();
    let r = c.put(format!("{ws}/environments/env1/versions/1?{V}")).bearer_auth("t0ken")
        .json(&json!({"properties": {"image": "python:3.11", "description": "d"}})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created["properties"]["environmentType"], "UserCreated");
    let ws_id = get(&c, "t0ken", &format!("{ws}?{V}")).await.1["properties"]["workspaceId"].clone();
    emu.shutdown().await;

    let emu = aml_emulator::start(config).await.unwrap();
    let ws = format!("{}/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws", emu.base_url());
    let (s, v) = get(&c, "t0ken", &format!("{ws}/environments/env1/versions/1?{V}")).await;
    assert_eq!(s, 200);
    assert_eq!(v, created);
    assert_eq!(get(&c, "t0ken", &format!("{ws}?{V}")).await.1["properties"]["workspaceId"], ws_id);
    assert_eq!(get(&c, "t0ken", &format!("{ws}/environments/env1?{V}")).await.1["properties"]["latestVersion"], "1");
}
