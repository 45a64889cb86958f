//! Server-side copy is an optimisation with streaming as its fallback (issue 16): through the
//! built binary, a failed Copy Blob is not sent again — the file streams at once.

mod common;

use aml_emulator::storage_proxy::StorageFault;
use common::*;

#[test]
fn a_failed_copy_request_falls_back_to_streaming_at_once() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let src = d.get(&format!("{from}/models/local-file-example/versions/1")).unwrap();
    let blob = datastore_path(src["properties"]["modelUri"].as_str().unwrap());
    let file = blob.rsplit('/').next().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.json").to_str().unwrap().to_string();
    let copy = |server_side: &str| run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--server-side", server_side, "--manifest", &m, "-o", "json"]);
    // Everything but that version first (its reads arrive corrupted: it fails, nothing registered),
    // so that the next run copies that one file alone: its server-side copy is the run's first.
    tb.set_storage_fault(StorageFault::corrupt_response(100).on("GET", &blob));
    copy("never").expect_code(1);
    tb.clear_storage_faults();

    // The first two writes of the file answer 500: the From URL probe (the proxy has From URL;
    // a failed probe counts as "not offered") and then the Copy Blob. The Copy Blob is not
    // sent again (the old code retried it, and succeeded server-side on its third PUT).
    tb.set_storage_fault(StorageFault::status(500, 0).on("PUT", &file).times(2));
    let puts_before = tb.storage_request_count("PUT", &file);
    let r = copy("auto");
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["copied"], 1, "{}", v["summary"]);
    let item = v["items"].as_array().unwrap().iter().find(|i| i["name"] == "local-file-example" && i["version"] == "1").unwrap().clone();
    let files = item["files"].as_array().unwrap_or_else(|| panic!("{item}"));
    assert_eq!(files.len(), 1, "{item}");
    assert_eq!(files[0]["method"], "streamed", "{item}");
    let t = d.get(&format!("{to}/models/local-file-example/versions/1")).unwrap();
    let landed = datastore_path(t["properties"]["modelUri"].as_str().unwrap());
    assert_eq!(d.blob(tb.failover(), &landed).unwrap(), d.blob(tb.primary(), &blob).unwrap());
    let puts = tb.storage_request_count("PUT", &landed);
    assert_eq!((puts, tb.storage_request_count("PUT", &file) - puts_before), (3, 3), "probe, Copy Blob (once), streamed Put Blob");
}
