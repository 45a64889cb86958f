//! Storage accounts with shared key access disabled ("Entra-only", common in enterprises):
//! the tool reaches them with its Entra ID token, and a copy between two of them is still
//! server-side (Put Blob From URL with `x-ms-copy-source-authorization: Bearer`), not streamed —
//! except files of one block whose sha256 nothing records, which are streamed everywhere (the
//! read that learns their sha256 is the copy).

mod common;

use common::*;
use serde_json::Value;

#[test]
fn a_copy_between_two_entra_only_accounts_is_server_side() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    // A model larger than the block size given below: the kind of file copied server-side.
    let large = bytes_for("entra large", 1024 * 1024 + 4321);
    d.put_blob(tb.primary(), "entra/large/weights.bin", &large);
    let p = tb.primary().arm_id();
    assert!(d.put(&format!("{p}/models/entra-large"), &serde_json::json!({"properties": {}})) < 300);
    let v = serde_json::json!({"properties": {"modelType": "custom_model", "modelUri": format!("{}entra/large/weights.bin", datastore_base(tb.primary()))}});
    assert!(d.put(&format!("{p}/models/entra-large/versions/1"), &v) < 300);
    tb.make_storage_entra_only().unwrap();
    let proxy = tb.storage_proxy().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    proxy.reset_counters();
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--block-size-mib", "1", "--manifest", manifest.to_str().unwrap(), "-o", "json"]);
    r.expect_code(0);
    let report = r.json();
    let (mut files, mut server_side) = (0, 0);
    for item in report["items"].as_array().unwrap() {
        assert_eq!(item["status"], "copied", "{item}");
        for f in item["files"].as_array().unwrap() {
            let one_block = f["size"].as_u64().unwrap() <= 1024 * 1024;
            assert_eq!(f["method"], if one_block { "streamed" } else { "server-side" }, "{f}");
            server_side += usize::from(!one_block);
            let checks: Vec<&str> = f["checks"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
            assert!(!checks.is_empty(), "{f}");
            let src = f["sourceUri"].as_str().unwrap().split(&format!("/{}/", tb.primary().default_container())).nth(1).unwrap().to_string();
            let dst = f["targetUri"].as_str().unwrap().split(&format!("/{}/", tb.failover().default_container())).nth(1).unwrap().to_string();
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            let a = d.blob(tb.primary(), &decode(&src)).unwrap();
            let b = d.blob(tb.failover(), &decode(&dst)).expect("target blob exists");
            assert_eq!(a, b, "{f}");
            assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(&b));
            files += 1;
        }
    }
    assert!(files >= 4 && server_side >= 1, "{files} files, {server_side} server-side");
    // Every request was made with a token: a key or a SAS would have been refused with 403.
    let log = proxy.requests();
    assert!(!log.iter().any(|r| r.status == 403), "{log:?}");
    assert_no_secrets(&tb, &r);
}
