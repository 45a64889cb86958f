//! What a user sees: the human output and the `-o json` documents of `plan`, `copy`, `verify`
//! and `failover`, run through the real binary against the seeded test bed, as reviewed insta
//! snapshots (`tests/snapshots/output_snapshots__*.snap`). Whatever varies from run to run
//! (times, durations, ports, temporary paths, GUIDs, upload folders, ETags, SAS signatures) is filtered to a
//! placeholder; everything else is compared as printed.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test output_snapshots` (or
//! `cargo insta review`), then read the `.snap` diffs: they are the tool's user interface.

mod common;

use common::*;

/// The filters, most specific first.
fn settings(tb: &TestBed, scratch: &std::path::Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_omit_expression(true);
    s.set_prepend_module_to_snapshot(true);
    let scratch = scratch.to_str().unwrap().to_string();
    s.add_filter(&regex_escape(&scratch), "[SCRATCH]");
    for (ws, name) in [(tb.primary(), "PRIMARY"), (tb.failover(), "FAILOVER")] {
        s.add_filter(&regex_escape(&ws.workspace_id), format!("[{name}_WORKSPACE_ID]"));
    }
    // SAS signatures (redacted by the tool; whatever else, never the value).
    s.add_filter(r"sig=[^&\s\x22]+", "sig=[SIG]");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", "[TIME]");
    s.add_filter(r"\d{8}T\d{6}(\.\d+)?Z", "[STAMP]");
    s.add_filter(r"(127\.0\.0\.1|localhost):\d+", "$1:[PORT]");
    // The upload folders of the seeded assets (random per seed) and of copied code.
    s.add_filter(r"LocalUpload/[0-9a-f]{32}/", "LocalUpload/[UPLOAD]/");
    s.add_filter(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}", "[GUID]");
    s.add_filter(r"0x8[0-9A-F]{14}", "[ETAG]");
    s.add_filter(r#""durationMs": \d+"#, r#""durationMs": "[MS]""#);
    s.add_filter(r"\d+\.\d s\b", "[SECONDS] s");
    s.add_filter(r"/tmp/[^\s\x22/]*", "[TMP]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_' { c.to_string() } else { format!("\\{c}") }).collect()
}

/// stdout as the user sees it, then stderr under a rule when there is any.
fn screen(r: &Run) -> String {
    if r.stderr.trim().is_empty() {
        format!("exit {}\n{}", r.code, r.stdout)
    } else {
        format!("exit {}\n{}--- stderr\n{}", r.code, r.stdout, r.stderr)
    }
}

#[test]
fn plan_copy_verify_and_failover_print_what_was_reviewed() {
    let tb = seeded_testbed_with_notebooks();
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let scratch = tempfile::tempdir().unwrap();
    let p = |name: &str| scratch.path().join(name).to_str().unwrap().to_string();
    let go = |args: &[&str], code: i32| {
        let r = run(command(&tb), args);
        r.expect_code(code);
        assert_no_secrets(&tb, &r);
        r
    };
    let data = p("data");
    settings(&tb, scratch.path()).bind(|| {
        // Before anything was copied: the plan, and what verify finds missing.
        let r = go(&["plan", "--from", &from, "--to", &to], 1);
        insta::assert_snapshot!("plan_human", screen(&r));
        let r = go(&["plan", "--from", &from, "--to", &to, "-o", "json"], 1);
        insta::assert_snapshot!("plan_json", screen(&r));
        let r = go(&["verify", "--from", &from, "--to", &to, "-o", "json"], 7);
        insta::assert_snapshot!("verify_drifted_json", screen(&r));
        let r = go(&["verify", "--from", &from, "--to", &to], 7);
        insta::assert_snapshot!("verify_drifted_human", screen(&r));

        // The copy: models and environments first (human), then everything (json).
        let r = go(&["copy", "--from", &from, "--to", &to, "--kinds", "models,environments", "--manifest", &p("m1.json")], 0);
        insta::assert_snapshot!("copy_human", screen(&r));
        let r = go(&["copy", "--from", &from, "--to", &to, "--manifest", &p("m2.json"), "--data-output-dir", &data, "-o", "json"], 1);
        insta::assert_snapshot!("copy_json", screen(&r));

        // After: in sync but for the data asset a person re-registers.
        let r = go(&["verify", "--from", &from, "--to", &to], 7);
        insta::assert_snapshot!("verify_after_copy_human", screen(&r));

        // The runbook in one command (assets already there; outputs and notebooks copied),
        // then again as JSON (nothing left to do).
        let out = p("failover");
        let r = go(&["failover", "--from", &from, "--to", &to, "--out-dir", &out, "--data-output-dir", &data, "--accept-data-warnings"], 0);
        insta::assert_snapshot!("failover_human", screen(&r));
        let r = go(&["failover", "--from", &from, "--to", &to, "--out-dir", &out, "--data-output-dir", &data, "--accept-data-warnings", "-o", "json"], 0);
        insta::assert_snapshot!("failover_json", screen(&r));
    });
}
