//! The fault-injecting storage proxy against a real Azurite: transparent pass-through with
//! Shared Key, every fault, counters, and the TestBed / admin API integration.

use std::time::{Duration, Instant};

use aml_emulator::azurite::{Azurite, AzuriteOptions, DEV_ACCOUNT, DEV_KEY};
use aml_emulator::blob::{httpdate_now, X_MS_VERSION};
use aml_emulator::testbed::{TestBed, TestBedOptions};
use aml_emulator::{StorageFault, StorageProxy};
use azure_sharedkey::SharedKey;
use reqwest::Method;
use serde_json::{json, Value};

const CONTAINER: &str = "proxytest";

struct Fixture {
    azurite: Azurite,
    proxy: StorageProxy,
    key: SharedKey,
    http: reqwest::Client,
}

impl Fixture {
    async fn new() -> Fixture {
        let azurite = tokio::task::spawn_blocking(|| Azurite::start(AzuriteOptions::default()))
            .await
            .unwrap()
            .expect("Azurite starts (run scripts/setup.sh first)");
        let proxy = StorageProxy::start(&azurite.blob_endpoint()).unwrap();
        let f = Fixture { azurite, proxy, key: SharedKey::new(DEV_ACCOUNT, DEV_KEY).unwrap(), http: reqwest::Client::builder().no_proxy().build().unwrap() };
        let r = f.direct(Method::PUT, &format!("/{CONTAINER}?restype=container"), &[], Vec::new()).await.unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
        f
    }

    fn proxy_url(&self) -> String {
        self.proxy.blob_endpoint().to_string()
    }

    /// A Shared Key–signed request to `<base>/<account><path_and_query>`.
    async fn send_with(&self, key: &SharedKey, base: &str, method: Method, path: &str, extra: &[(&str, &str)], body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
        let url = url::Url::parse(&format!("{base}/{DEV_ACCOUNT}{path}")).unwrap();
        let mut headers: Vec<(String, String)> = vec![("x-ms-date".into(), httpdate_now()), ("x-ms-version".into(), X_MS_VERSION.into())];
        if method == Method::PUT || !body.is_empty() {
            headers.push(("content-length".into(), body.len().to_string()));
        }
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let auth = key.authorization(method.as_str(), &url, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut req = self.http.request(method, url).header("authorization", auth);
        for (k, v) in &headers {
            if k != "content-length" {
                req = req.header(k, v);
            }
        }
        req.body(body).send().await
    }

    async fn via_proxy(&self, method: Method, path: &str, extra: &[(&str, &str)], body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
        self.send_with(&self.key, &self.proxy_url(), method, path, extra, body).await
    }

    async fn direct(&self, method: Method, path: &str, extra: &[(&str, &str)], body: Vec<u8>) -> reqwest::Result<reqwest::Response> {
        self.send_with(&self.key, &self.azurite.blob_endpoint(), method, path, extra, body).await
    }

    /// Uploads `data` straight to Azurite; returns the Content-MD5 Azurite computed.
    async fn put_direct(&self, blob: &str, data: &[u8]) -> String {
        let r = self.direct(Method::PUT, &format!("/{CONTAINER}/{blob}"), &[("x-ms-blob-type", "BlockBlob")], data.to_vec()).await.unwrap();
        assert_eq!(r.status(), 201);
        r.headers()["content-md5"].to_str().unwrap().to_string()
    }

    async fn get_direct(&self, blob: &str) -> Vec<u8> {
        let r = self.direct(Method::GET, &format!("/{CONTAINER}/{blob}"), &[], Vec::new()).await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap().to_vec()
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect()
}

fn diff_positions(a: &[u8], b: &[u8]) -> Vec<usize> {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).enumerate().filter(|(_, (x, y))| x != y).map(|(i, _)| i).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pass_through_is_transparent_with_shared_key() {
    let f = Fixture::new().await;
    let data = pattern(20 * 1024 * 1024);

    // 20 MiB PUT through the proxy lands byte-identical: Azurite's MD5 equals that of a direct upload.
    let r = f.via_proxy(Method::PUT, &format!("/{CONTAINER}/big%20file.bin"), &[("x-ms-blob-type", "BlockBlob"), ("content-type", "application/octet-stream")], data.clone()).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let md5_proxy = r.headers()["content-md5"].to_str().unwrap().to_string();
    assert_eq!(md5_proxy, f.put_direct("direct.bin", &data).await);
    assert_eq!(f.get_direct("big%20file.bin").await, data);

    // GET through the proxy: same bytes, status and headers.
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/big%20file.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], data.len().to_string().as_str());
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), md5_proxy);
    assert!(r.headers().contains_key("x-ms-request-id"));
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);

    // Ranged GET and HEAD keep their semantics (HEAD keeps Content-Length without a body).
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/big%20file.bin"), &[("x-ms-range", "bytes=1000-1999")], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[1000..2000]);
    let r = f.via_proxy(Method::HEAD, &format!("/{CONTAINER}/big%20file.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], data.len().to_string().as_str());
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), md5_proxy);

    // Azurite still checks the signature: a wrong key is rejected, through the proxy.
    let wrong = SharedKey::new(DEV_ACCOUNT, &base64::Engine::encode(&base64::engine::general_purpose::STANDARD, [7u8; 64])).unwrap();
    let r = f.send_with(&wrong, &f.proxy_url(), Method::GET, &format!("/{CONTAINER}/big%20file.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.headers()["x-ms-error-code"], "AuthorizationFailure");

    // Query strings pass (list with a prefix) and errors pass unchanged (404 of a missing blob).
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}?restype=container&comp=list&prefix=big"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    let xml = r.text().await.unwrap();
    assert!(xml.contains("<Name>big file.bin</Name>") && !xml.contains("direct.bin"), "{xml}");
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/missing.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-ms-error-code"], "BlobNotFound");

    // Bodiless requests: create (Content-Length: 0) and delete (no length) a container.
    let r = f.via_proxy(Method::PUT, "/second?restype=container", &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = f.via_proxy(Method::DELETE, "/second?restype=container", &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());

    // Counters match on the decoded path (and query), case-insensitively.
    assert_eq!(f.proxy.request_count("PUT", "big file.bin"), 1);
    assert_eq!(f.proxy.request_count("GET", "BIG FILE.bin"), 3);
    assert_eq!(f.proxy.request_count("HEAD", "big file.bin"), 1);
    assert_eq!(f.proxy.request_count("GET", "comp=list"), 1);
    assert_eq!(f.proxy.request_count("PUT", "direct.bin"), 0, "direct traffic is not counted");
    let log = f.proxy.requests();
    assert!(log.iter().any(|r| r.path == format!("/{DEV_ACCOUNT}/{CONTAINER}/missing.bin") && r.status == 404));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_response_flips_one_byte_and_keeps_headers() {
    let f = Fixture::new().await;
    let data = pattern(300_000);
    let md5 = f.put_direct("model.bin", &data).await;
    f.proxy.set_fault(StorageFault::corrupt_response(200_000).on("GET", "model.bin").times(1));

    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/model.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], "300000");
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), md5, "headers are Azurite's, so the MD5 no longer matches the body");
    let got = r.bytes().await.unwrap();
    assert_eq!(diff_positions(&got, &data), vec![200_000]);
    assert_eq!(got[200_000], data[200_000] ^ 0xFF);

    // count: 1 — the retry gets the right bytes; the stored blob was never touched.
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/model.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(f.get_direct("model.bin").await, data);
    assert_eq!(f.proxy.request_count("GET", "model.bin"), 2);
    assert!(f.proxy.faults().list().is_empty());
    assert_eq!(f.proxy.requests()[0].fault.as_deref(), Some("corrupt_response"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_request_is_caught_by_content_md5_or_lands_corrupted() {
    let f = Fixture::new().await;
    let data = pattern(100_000);
    // Azurite's MD5 of the right bytes, from a direct upload.
    let md5 = f.put_direct("reference.bin", &data).await;
    let put = |blob: &'static str, with_md5: bool| {
        let md5 = md5.clone();
        let data = data.clone();
        let f = &f;
        async move {
            let mut extra = vec![("x-ms-blob-type", "BlockBlob")];
            if with_md5 {
                extra.push(("content-md5", md5.as_str()));
            }
            let r = f.via_proxy(Method::PUT, &format!("/{CONTAINER}/{blob}"), &extra, data).await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };

    // With Content-MD5 (transactional check): Azurite rejects the body, nothing is stored.
    // (Azure answers 400 Md5Mismatch; Azurite 3.35 answers 400 InvalidOperation.)
    f.proxy.set_fault(StorageFault::corrupt_request(12_345).on("PUT", "checked.bin").times(1));
    let (status, body) = put("checked.bin", true).await;
    assert_eq!(status, 400);
    assert!(body.contains("contentMD5 doesn't match"), "{body}");
    let r = f.direct(Method::HEAD, &format!("/{CONTAINER}/checked.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 404);
    // The retry (fault used up) succeeds.
    assert_eq!(put("checked.bin", true).await.0, 201);
    assert_eq!(f.get_direct("checked.bin").await, data);

    // Without Content-MD5: the corrupted body lands, one byte off.
    f.proxy.set_fault(StorageFault::corrupt_request(12_345).on("PUT", "unchecked.bin"));
    assert_eq!(put("unchecked.bin", false).await.0, 201);
    assert_eq!(diff_positions(&f.get_direct("unchecked.bin").await, &data), vec![12_345]);
    assert_eq!(f.proxy.request_count("PUT", "checked.bin"), 3, "the substring matches unchecked.bin too");
    assert_eq!(f.proxy.request_count("PUT", "/unchecked.bin"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_faults_answer_storage_errors_with_retry_after() {
    let f = Fixture::new().await;
    let data = pattern(1000);
    f.put_direct("busy.bin", &data).await;
    f.proxy.set_fault(StorageFault::status(503, 2).on("GET", "busy.bin").times(2));
    for _ in 0..2 {
        let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/busy.bin"), &[], Vec::new()).await.unwrap();
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
        assert_eq!(r.headers()["x-ms-error-code"], "ServerBusy");
        assert_eq!(r.headers()["content-type"], "application/xml");
        let body = r.text().await.unwrap();
        assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>The server is busy."), "{body}");
        assert!(body.ends_with("</Message></Error>"), "{body}");
    }
    let r = f.via_proxy(Method::GET, &format!("/{CONTAINER}/busy.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(f.proxy.request_count("GET", "busy.bin"), 3, "the GET of busy.bin was retried twice");

    // 429 and 500 (InternalError); other methods and blobs are unaffected; not forwarded at all.
    f.proxy.set_fault(StorageFault::status(429, 1).on("PUT", "new.bin").times(1));
    f.proxy.set_fault(StorageFault::status(500, 0).on("HEAD", "busy.bin").times(1));
    let r = f.via_proxy(Method::PUT, &format!("/{CONTAINER}/new.bin"), &[("x-ms-blob-type", "BlockBlob")], data.clone()).await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (429, "1"));
    let r = f.direct(Method::HEAD, &format!("/{CONTAINER}/new.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 404, "a status fault does not forward the request");
    let r = f.via_proxy(Method::HEAD, &format!("/{CONTAINER}/busy.bin"), &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(r.headers()["x-ms-error-code"], "InternalError");
    assert!(f.proxy.faults().list().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncate_drop_and_slow() {
    let f = Fixture::new().await;
    let data = pattern(1024 * 1024);
    f.put_direct("cut.bin", &data).await;
    let url = format!("/{CONTAINER}/cut.bin");

    // Truncate: status and full Content-Length arrive, the body stops early → client error.
    f.proxy.set_fault(StorageFault::truncate_response(100_000).on("GET", "cut.bin").times(1));
    let r = f.via_proxy(Method::GET, &url, &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-length"], (1024 * 1024).to_string().as_str());
    let mut got = 0usize;
    let mut stream = r.bytes_stream();
    let mut failed = false;
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        match chunk {
            Ok(b) => got += b.len(),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "a truncated body must be an error");
    assert!(got <= 100_000, "got {got} bytes");

    // Drop: no response at all → the send itself fails.
    f.proxy.set_fault(StorageFault::drop_connection().on("GET", "cut.bin").times(1));
    let e = f.via_proxy(Method::GET, &url, &[], Vec::new()).await.unwrap_err();
    assert!(!e.is_status(), "{e:?}");

    // Both used up: the next GET is whole. All three were counted.
    let r = f.via_proxy(Method::GET, &url, &[], Vec::new()).await.unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), &data[..]);
    assert_eq!(f.proxy.request_count("GET", "cut.bin"), 3);
    let statuses: Vec<u16> = f.proxy.requests().iter().filter(|r| r.path.ends_with("cut.bin")).map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 0, 200]);

    // Slow (until cleared), then clear_faults.
    f.proxy.set_fault(StorageFault::slow(400).on("GET", "cut.bin"));
    let t = Instant::now();
    let r = f.via_proxy(Method::GET, &url, &[], Vec::new()).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(400));
    f.proxy.clear_faults();
    let t = Instant::now();
    f.via_proxy(Method::GET, &url, &[], Vec::new()).await.unwrap().bytes().await.unwrap();
    assert!(t.elapsed() < Duration::from_millis(400));
    f.proxy.reset_counters();
    assert_eq!(f.proxy.request_count("GET", "cut.bin"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testbed_routes_the_tool_through_the_proxy_and_admin_api_controls_it() {
    let bed = tokio::task::spawn_blocking(|| TestBed::start(TestBedOptions { storage_proxy: true, ..Default::default() }))
        .await
        .unwrap()
        .unwrap();
    let proxy = bed.storage_proxy().expect("the bed runs a proxy");
    assert_eq!(bed.blob_endpoint(), proxy.blob_endpoint());
    assert_eq!(bed.blob_endpoint_template(), format!("{}/{{account}}", proxy.blob_endpoint()));
    assert_eq!(bed.azurite_blob_endpoint(), proxy.upstream());
    assert_ne!(bed.blob_endpoint(), bed.azurite_blob_endpoint());
    let env: std::collections::HashMap<String, String> = bed.env().into_iter().collect();
    assert_eq!(env["AML_FAILOVER_BLOB_ENDPOINT"], bed.blob_endpoint_template());

    // The workspace's storage account works through the proxy with its Shared Key.
    let ws = bed.primary();
    let key = SharedKey::new(&ws.storage_account, &ws.storage_key).unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let list = |base: String| {
        let key = key.clone();
        let http = http.clone();
        let container = ws.default_container();
        async move {
            let url = url::Url::parse(&format!("{base}/{container}?restype=container&comp=list")).unwrap();
            let headers = [("x-ms-date", httpdate_now()), ("x-ms-version", X_MS_VERSION.to_string())];
            let auth = key.authorization("GET", &url, headers.iter().map(|(k, v)| (*k, v.as_str())));
            let mut req = http.get(url).header("authorization", auth);
            for (k, v) in &headers {
                req = req.header(*k, v);
            }
            req.send().await.unwrap().status().as_u16()
        }
    };
    let account_url = bed.blob_endpoint_template().replace("{account}", &ws.storage_account);
    assert_eq!(list(account_url.clone()).await, 200);
    assert_eq!(bed.storage_request_count("GET", "comp=list"), 1);

    // Admin API: add a storage fault, list it, see it hit, see the counters, clear.
    let pem = std::fs::read(bed.ca_pem_path()).unwrap();
    let admin = reqwest::Client::builder().no_proxy().add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap()).build().unwrap();
    let base = bed.admin_url();
    let r = admin.post(format!("{base}/storage-faults")).bearer_auth(bed.token())
        .json(&json!({"kind":"status","status":503,"retry_after_secs":1,"method":"GET","path_contains":"comp=list","count":1}))
        .send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["faults"][0]["kind"], "status");
    let r: Value = admin.get(format!("{base}/storage-faults")).bearer_auth(bed.token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["faults"].as_array().unwrap().len(), 1);
    assert_eq!(list(account_url.clone()).await, 503);
    assert_eq!(list(account_url.clone()).await, 200);
    let r: Value = admin.get(format!("{base}/storage-requests?method=GET&path_contains=comp%3Dlist")).bearer_auth(bed.token()).send().await.unwrap().json().await.unwrap();
    assert_eq!(r["count"], 3);
    assert_eq!(r["requests"].as_array().unwrap().iter().filter(|x| x["status"] == 503).count(), 1);
    let bad = admin.post(format!("{base}/storage-faults")).bearer_auth(bed.token()).json(&json!({"kind":"nope"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    bed.set_storage_fault(StorageFault::drop_connection());
    let r = admin.delete(format!("{base}/storage-faults")).bearer_auth(bed.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(proxy.faults().list().is_empty());
    let r = admin.delete(format!("{base}/storage-requests")).bearer_auth(bed.token()).send().await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(bed.storage_request_count("GET", ""), 0);
    let r = admin.get(format!("{base}/storage-faults")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    drop(admin);
    tokio::task::spawn_blocking(move || drop(bed)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testbed_without_proxy_is_unchanged() {
    let bed = tokio::task::spawn_blocking(|| TestBed::start(TestBedOptions::default())).await.unwrap().unwrap();
    assert!(bed.storage_proxy().is_none());
    assert_eq!(bed.blob_endpoint(), bed.azurite_blob_endpoint());
    let pem = std::fs::read(bed.ca_pem_path()).unwrap();
    let admin = reqwest::Client::builder().no_proxy().add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap()).build().unwrap();
    let r = admin.get(format!("{}/storage-faults", bed.admin_url())).bearer_auth(bed.token()).send().await.unwrap();
    assert_eq!(r.status(), 404);
    tokio::task::spawn_blocking(move || drop(bed)).await.unwrap();
}

// ---- Put Blob From URL / Put Block From URL and Entra-only accounts (served by the proxy) ----

const TOKEN: &str = "test-bearer-token";

fn b64(b: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b)
}

fn md5_b64(b: &[u8]) -> String {
    use md5::Digest as _;
    b64(&md5::Md5::digest(b))
}

fn crc64_b64(b: &[u8]) -> String {
    b64(&crc::Crc::<u64>::new(&crc::CRC_64_NVME).checksum(b).to_le_bytes())
}

impl Fixture {
    /// The fixture with the proxy acting for the dev account (its key) and accepting `TOKEN`.
    async fn with_from_url() -> Fixture {
        let f = Fixture::new().await;
        f.proxy.faults().add_account(DEV_ACCOUNT, DEV_KEY).unwrap();
        f.proxy.faults().set_token_check(std::sync::Arc::new(|t: &str| t == TOKEN));
        f
    }

    /// A request through the proxy with `Authorization: Bearer <token>`.
    async fn bearer(&self, token: &str, method: Method, path: &str, extra: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
        let mut req = self
            .http
            .request(method, format!("{}/{DEV_ACCOUNT}{path}", self.proxy_url()))
            .header("authorization", format!("Bearer {token}"))
            .header("x-ms-date", httpdate_now())
            .header("x-ms-version", X_MS_VERSION)
            .header("content-length", body.len().to_string());
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        req.body(body).send().await.unwrap()
    }

    fn source_url(&self, blob: &str) -> String {
        format!("{}/{DEV_ACCOUNT}/{CONTAINER}/{blob}", self.proxy_url())
    }

    async fn head_direct(&self, blob: &str) -> reqwest::Response {
        self.direct(Method::HEAD, &format!("/{CONTAINER}/{blob}"), &[], Vec::new()).await.unwrap()
    }
}

async fn code_of(r: reqwest::Response) -> (u16, String) {
    (r.status().as_u16(), r.headers().get("x-ms-error-code").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_blob_and_block_from_url_with_a_bearer_source_on_an_entra_only_account() {
    let f = Fixture::with_from_url().await;
    let data = pattern(10 * 1024 * 1024 + 123);
    let md5 = f.put_direct("src.bin", &data).await;
    f.proxy.faults().set_entra_only(DEV_ACCOUNT, true);

    // Entra-only: Shared Key is refused, a bearer token works (the proxy re-signs it), a bad one is refused.
    let (status, code) = code_of(f.via_proxy(Method::GET, &format!("/{CONTAINER}/src.bin"), &[], Vec::new()).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "KeyBasedAuthenticationNotPermitted"));
    let r = f.bearer(TOKEN, Method::GET, &format!("/{CONTAINER}/src.bin"), &[], Vec::new()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.unwrap().len(), data.len());
    assert_eq!(code_of(f.bearer("forged", Method::GET, &format!("/{CONTAINER}/src.bin"), &[], Vec::new()).await).await.0, 401);

    // Put Blob From URL, source read with x-ms-copy-source-authorization: Bearer, MD5 checked.
    let src = f.source_url("src.bin");
    let auth = format!("Bearer {TOKEN}");
    let from_url = |dst: &'static str, extra: Vec<(&'static str, String)>| {
        let mut h: Vec<(&str, String)> = vec![("x-ms-blob-type", "BlockBlob".into()), ("x-ms-copy-source", src.clone()), ("x-ms-copy-source-authorization", auth.clone())];
        h.extend(extra);
        let f = &f;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
            f.bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/{dst}"), &h, Vec::new()).await
        }
    };
    let r = from_url("dst.bin", vec![("x-ms-source-content-md5", md5.clone()), ("x-ms-meta-sha256", "abc".into())]).await;
    assert_eq!(r.status(), 201, "{:?}", r.headers());
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), md5);
    assert_eq!(r.headers()["x-ms-content-crc64"].to_str().unwrap(), crc64_b64(&data));
    assert!(r.headers().contains_key("etag") && r.headers().contains_key("last-modified") && r.headers().contains_key("x-ms-request-id"));
    assert_eq!(f.get_direct("dst.bin").await, data);
    let h = f.head_direct("dst.bin").await;
    assert_eq!(h.headers()["content-md5"].to_str().unwrap(), md5, "the blob keeps the MD5 of what was copied");
    assert_eq!(h.headers()["x-ms-meta-sha256"], "abc");

    // A source MD5 that does not match what the source holds: refused, nothing committed.
    let r = from_url("bad.bin", vec![("x-ms-source-content-md5", md5_b64(b"other bytes"))]).await;
    assert_eq!(code_of(r).await, (400, "Md5Mismatch".to_string()));
    assert_eq!(f.head_direct("bad.bin").await.status(), 404);
    // A source condition that fails: 412; a missing source and a bad source token: CannotVerifyCopySource.
    let r = from_url("bad.bin", vec![("x-ms-source-if-match", "\"0x8D0000000000000\"".into())]).await;
    assert_eq!(code_of(r).await, (412, "SourceConditionNotMet".to_string()));
    let etag = f.head_direct("src.bin").await.headers()["etag"].to_str().unwrap().to_string();
    let r = from_url("cond.bin", vec![("x-ms-source-if-match", etag.clone())]).await;
    assert_eq!(r.status(), 201);
    let r = f
        .bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/bad.bin"), &[("x-ms-blob-type", "BlockBlob"), ("x-ms-copy-source", &f.source_url("missing.bin")), ("x-ms-copy-source-authorization", &auth)], Vec::new())
        .await;
    assert_eq!(r.headers()["x-ms-copy-source-status-code"], "404");
    assert_eq!(code_of(r).await, (404, "CannotVerifyCopySource".to_string()));
    let r = f
        .bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/bad.bin"), &[("x-ms-blob-type", "BlockBlob"), ("x-ms-copy-source", &src), ("x-ms-copy-source-authorization", "Bearer forged")], Vec::new())
        .await;
    assert_eq!(code_of(r).await, (401, "CannotVerifyCopySource".to_string()));
    // Only Bearer is accepted as the source's authorization; a SAS source on an Entra-only account is refused.
    let r = f
        .bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/bad.bin"), &[("x-ms-blob-type", "BlockBlob"), ("x-ms-copy-source", &src), ("x-ms-copy-source-authorization", "SharedKey x:y")], Vec::new())
        .await;
    assert_eq!(code_of(r).await, (400, "InvalidHeaderValue".to_string()));
    let sas = azure_sharedkey::sas::ServiceSas {
        account: DEV_ACCOUNT.into(),
        container: CONTAINER.into(),
        blob: Some("src.bin".into()),
        permissions: "r".into(),
        start: None,
        expiry: azure_sharedkey::sas::sas_time(3600),
        protocol: None,
    }
    .token(&f.key);
    let r = f
        .bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/bad.bin"), &[("x-ms-blob-type", "BlockBlob"), ("x-ms-copy-source", &format!("{src}?{sas}"))], Vec::new())
        .await;
    assert_eq!(code_of(r).await, (403, "CannotVerifyCopySource".to_string()));
    assert_eq!(f.head_direct("bad.bin").await.status(), 404);

    // Put Block From URL: two ranges, one checked by MD5 and one by CRC-64, then Put Block List.
    let cut = 5 * 1024 * 1024;
    let block = |id: &'static str, range: String, check: (&'static str, String)| {
        let (src, auth) = (src.clone(), auth.clone());
        let f = &f;
        async move {
            let q = format!("/{CONTAINER}/blocks.bin?comp=block&blockid={}", url::form_urlencoded::byte_serialize(b64(id.as_bytes()).as_bytes()).collect::<String>());
            f.bearer(TOKEN, Method::PUT, &q, &[("x-ms-copy-source", &src), ("x-ms-copy-source-authorization", &auth), ("x-ms-source-range", &range), (check.0, &check.1)], Vec::new()).await
        }
    };
    let r = block("block-0", format!("bytes=0-{}", cut - 1), ("x-ms-source-content-md5", md5_b64(&data[..cut]))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["content-md5"].to_str().unwrap(), md5_b64(&data[..cut]));
    let r = block("block-1", format!("bytes={cut}-{}", data.len() - 1), ("x-ms-source-content-crc64", crc64_b64(b"nope"))).await;
    assert_eq!(code_of(r).await, (400, "Crc64Mismatch".to_string()));
    let r = block("block-1", format!("bytes={cut}-{}", data.len() - 1), ("x-ms-source-content-crc64", crc64_b64(&data[cut..]))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["x-ms-content-crc64"].to_str().unwrap(), crc64_b64(&data[cut..]));
    let xml = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{}</Latest><Latest>{}</Latest></BlockList>", b64(b"block-0"), b64(b"block-1"));
    let r = f.bearer(TOKEN, Method::PUT, &format!("/{CONTAINER}/blocks.bin?comp=blocklist"), &[], xml.into_bytes()).await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(f.get_direct("blocks.bin").await, data);
    assert!(f.proxy.request_count("PUT", "comp=block&blockid") >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_blob_from_url_with_shared_key_and_a_sas_source() {
    let f = Fixture::with_from_url().await;
    let data = pattern(1000);
    let md5 = f.put_direct("small.bin", &data).await;
    let sas = azure_sharedkey::sas::ServiceSas {
        account: DEV_ACCOUNT.into(),
        container: CONTAINER.into(),
        blob: Some("small.bin".into()),
        permissions: "r".into(),
        start: None,
        expiry: azure_sharedkey::sas::sas_time(3600),
        protocol: None,
    }
    .token(&f.key);
    let src = format!("{}?{sas}", f.source_url("small.bin"));
    let h = [("x-ms-blob-type", "BlockBlob"), ("x-ms-copy-source", src.as_str()), ("x-ms-source-content-md5", md5.as_str()), ("x-ms-blob-content-type", "text/plain")];
    let r = f.via_proxy(Method::PUT, &format!("/{CONTAINER}/copy.bin"), &h, Vec::new()).await.unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(f.get_direct("copy.bin").await, data);
    assert_eq!(f.head_direct("copy.bin").await.headers()["content-type"], "text/plain");
    // A Shared Key signature made with another key is refused before anything is read or written.
    let wrong = SharedKey::new(DEV_ACCOUNT, &b64(&[7u8; 64])).unwrap();
    let r = f.send_with(&wrong, &f.proxy_url(), Method::PUT, &format!("/{CONTAINER}/copy2.bin"), &h, Vec::new()).await.unwrap();
    assert_eq!(code_of(r).await, (403, "AuthenticationFailed".to_string()));
    assert_eq!(f.head_direct("copy2.bin").await.status(), 404);
}
