//! A transient error never changes a decision (issue 12, items 3 and 7), through the binary:
//! a dropped control-plane connection is retried, and a storage error while comparing with the
//! target is "unknown" — the item fails with the error and nothing in the target is touched,
//! whatever `--on-conflict` says. The target is checked with the test bed, not the tool.

mod common;

use aml_emulator::faults::Fault;
use common::*;

fn manifest(dir: &tempfile::TempDir) -> String {
    dir.path().join("m.json").to_str().unwrap().to_string()
}

#[test]
fn a_dropped_control_plane_connection_is_retried() {
    let tb = seeded_testbed(false);
    let d = Direct::new(&tb);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    // The first request of the run, whatever it is, and the first registration: the emulator
    // sends the response headers, then closes the connection before the body.
    tb.set_fault(Fault::drop_connection(1));
    tb.set_fault(Fault::drop_connection(1).on("PUT", "/versions/"));
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(&dir);
    let r = run(command(&tb), &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--manifest", &m, "-o", "json"]);
    r.expect_code(0);
    let v = r.json();
    assert_eq!(v["summary"]["failed"], 0, "{}", v["summary"]);
    assert!(tb.app().faults.list().is_empty(), "both faults were used");
    // Every source model version is in the target.
    for c in d.list(&format!("{from}/models")) {
        let name = c["name"].as_str().unwrap();
        for ver in d.list(&format!("{from}/models/{name}/versions")) {
            let ver = ver["name"].as_str().unwrap();
            assert!(d.get(&format!("{to}/models/{name}/versions/{ver}")).is_some(), "{name}:{ver} missing in the target");
        }
    }
}
