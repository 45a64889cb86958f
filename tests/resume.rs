//! Resume and locking of `copy`, through the built binary against the test bed: a copy killed
//! with SIGKILL mid-transfer resumes from its journal (at once: it takes over its own lease on
//! the target) and registers every version exactly once; a second run into the same target
//! fails fast naming the first, whether it shares the first's state directory (local lock) or
//! runs on another machine (the lease on the target's lock blob, which a killed run keeps until
//! it expires).

mod common;

use aml_emulator::storage_proxy::StorageFault;
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const MODELS: usize = 16;

/// Adds `MODELS` single-file models (256 KiB each, distinct bytes) to the primary.
fn seed_models(tb: &TestBed, d: &Direct) -> Vec<(String, Vec<u8>)> {
    let p = tb.primary().arm_id();
    let any = d.get(&format!("{p}/models/local-mlflow-example/versions/1")).expect("seeded mlflow model");
    let uri = any["properties"]["modelUri"].as_str().unwrap();
    let base = &uri[..uri.find("/paths/").unwrap() + "/paths/".len()];
    (0..MODELS)
        .map(|i| {
            let name = format!("resume-m{i:02}");
            let bytes: Vec<u8> = (0..256 * 1024u32).map(|b| (b.wrapping_mul(31).wrapping_add(i as u32 * 7) % 251) as u8).collect();
            let blob = format!("resume/{name}/weights.bin");
            d.put_blob(tb.primary(), &blob, &bytes);
            assert!(d.put(&format!("{p}/models/{name}"), &json!({"properties": {"description": "resume test"}})) < 300);
            assert!(
                d.put(&format!("{p}/models/{name}/versions/1"), &json!({"properties": {"modelType": "custom_model", "modelUri": format!("{base}{blob}")}})) < 300
            );
            (name, bytes)
        })
        .collect()
}

fn copy_args<'a>(from: &'a str, to: &'a str, manifest: &'a str) -> Vec<&'a str> {
    vec!["copy", "--from", from, "--to", to, "--kinds", "models", "--name", "resume-*", "--concurrency", "2", "--manifest", manifest, "-o", "json"]
}

/// The binary with its state directory (journal, lock) in `state`.
fn cmd(tb: &TestBed, state: &str) -> std::process::Command {
    let mut c = command(tb);
    c.env("AML_FAILOVER_STATE_DIR", state);
    c
}

fn spawn(tb: &TestBed, state: &str, args: &[&str]) -> Child {
    let mut c = cmd(tb, state);
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("the binary starts")
}

/// The one journal (or lock) under the state dir, once it exists.
fn find(state: &Path, file: &str) -> Option<PathBuf> {
    std::fs::read_dir(state).ok()?.filter_map(|e| e.ok()).map(|e| e.path().join(file)).find(|p| p.exists())
}

fn verified_in_journal(state: &Path) -> usize {
    find(state, "journal.jsonl")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| t.lines().filter(|l| l.contains("\"state\":\"verified\"")).count())
        .unwrap_or(0)
}

/// Waits for `f`, failing with the child's output if it ends first.
fn wait_until(child: &mut Child, what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        if child.try_wait().unwrap().is_some() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            panic!("the run ended before {what}: {err}");
        }
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_mid_copy_resumes_and_registers_every_version_once() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let models = seed_models(&tb, &d);
    tb.reset_counters();
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let m = dir.path().join("m.json").display().to_string();
    let st = state.display().to_string();

    // Every write of a blob into the target is slow, so the copy is killed mid-transfer.
    tb.set_storage_fault(StorageFault::slow(400).on("PUT", "LocalUpload"));
    let mut child = spawn(&tb, &st, &copy_args(&from, &to, &m));
    wait_until(&mut child, "three files journaled", Duration::from_secs(120), || verified_in_journal(&state) >= 3);
    assert!(child.try_wait().unwrap().is_none(), "the first run finished before it could be killed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let done_before = verified_in_journal(&state);
    assert!(done_before < MODELS, "every file was copied before the kill");
    assert!(find(&state, "lock").is_some(), "a killed run leaves its lock");
    for (name, _) in &models {
        assert!(d.get(&format!("{to}/models/{name}/versions/1")).is_none(), "{name} was registered before its files were all copied");
    }

    // The same command resumes: it says so, takes over the dead run's lock, finishes.
    tb.clear_storage_faults();
    let r = run(cmd(&tb, &st), &copy_args(&from, &to, &m));
    r.expect_code(0);
    let v = r.json();
    let warnings: Vec<&str> = v["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    let resumed = warnings.iter().find(|w| w.starts_with("resuming run ")).unwrap_or_else(|| panic!("no resume message: {v}"));
    assert!(resumed.contains(&format!("{done_before} files and 0 registrations already done")), "{resumed}");
    assert!(resumed.contains(&format!("{done_before} of those files verified in place")), "journaled files were not re-checked in place: {resumed}");
    assert!(warnings.iter().any(|w| w.contains("stale lock")), "{v}");
    assert_eq!(v["summary"]["copied"], MODELS, "{v}");
    // Files the killed run had journaled were not written again (a file that landed just
    // before the kill without its journal record is found in place by its metadata too).
    let streamed = v["items"].as_array().unwrap().iter().flat_map(|i| i["files"].as_array().unwrap()).filter(|f| f["method"] != "already-present").count();
    assert!(streamed <= MODELS - done_before, "journaled files were copied again: {streamed} streamed, {done_before} journaled\n{v}");

    // Every version registered exactly once (each exists, and the target saw one version
    // PUT per model across both runs), and every byte is in the target.
    assert_eq!(tb.operation_count("ModelVersions_CreateOrUpdate"), MODELS, "a version was registered twice");
    for (name, bytes) in &models {
        let t = d.get(&format!("{to}/models/{name}/versions/1")).unwrap_or_else(|| panic!("{name} missing in the target"));
        let path = datastore_path(t["properties"]["modelUri"].as_str().unwrap());
        let got = d.blob(tb.failover(), &path).unwrap_or_else(|| panic!("{path} missing"));
        assert_eq!(sha256_hex(&got), sha256_hex(bytes), "{name}: bytes differ");
    }
    // The finished run closed its journal and released its lock; a rerun is a new, empty run.
    assert!(find(&state, "journal.jsonl").is_none() && find(&state, "lock").is_none());
    let again = run(cmd(&tb, &st), &copy_args(&from, &to, &m));
    again.expect_code(0);
    assert_eq!(again.json()["summary"]["copied"], 0);
    assert!(!again.stdout.contains("resuming run"), "{}", again.stdout);
    let journal = std::fs::read_to_string(find(&state, "last-complete.jsonl").unwrap()).unwrap();
    assert!(journal.starts_with("{\"journal\":\"aml-failover\",\"version\":1,\"planId\":"), "{journal}");
    assert!(!journal.contains(&tb.failover().storage_key) && !journal.contains("sig="), "secret in the journal");
    assert_no_secrets(&tb, &r);
}

#[test]
fn a_second_run_into_the_same_target_fails_fast_naming_the_first() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    seed_models(&tb, &d);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let (m1, m2) = (dir.path().join("m1.json").display().to_string(), dir.path().join("m2.json").display().to_string());
    let st = state.display().to_string();

    tb.set_storage_fault(StorageFault::slow(300).on("PUT", "LocalUpload"));
    let mut first = spawn(&tb, &st, &copy_args(&from, &to, &m1));
    wait_until(&mut first, "the first run's lock", Duration::from_secs(60), || find(&state, "lock").is_some());
    let t = Instant::now();
    let c = cmd(&tb, &st);
    let second = run(c, &["copy", "--from", &from, "--to", &to, "--kinds", "models", "--manifest", &m2]);
    second.expect_code(6);
    assert!(t.elapsed() < Duration::from_secs(20), "the second run did not fail fast");
    assert!(second.stderr.contains("another aml-failover run is writing to this target"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!("process {}", first.id())), "the message does not name the first run: {}", second.stderr);
    assert!(second.stderr.contains("remove the lock file"), "{}", second.stderr);
    assert!(!Path::new(&m2).exists(), "the locked-out run wrote a manifest");

    tb.clear_storage_faults();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "first run: {}", String::from_utf8_lossy(&out.stderr));
    // After the first ends, a run proceeds.
    let after = run(cmd(&tb, &st), &copy_args(&from, &to, &m2));
    after.expect_code(0);
    assert_eq!(after.json()["summary"]["copied"], 0);
}

/// The name of this host, as the tool writes it into the target's lock.
fn this_host() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for its length; gethostname NUL-terminates or truncates.
    assert_eq!(unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) }, 0);
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[test]
fn a_run_from_another_machine_is_refused_while_the_first_holds_the_target_lease() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    seed_models(&tb, &d);
    // Two "machines": two state directories, so the local lock cannot see the other run.
    let dir = tempfile::tempdir().unwrap();
    let (state_a, state_b) = (dir.path().join("a"), dir.path().join("b"));
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let (m1, m2) = (dir.path().join("m1.json").display().to_string(), dir.path().join("m2.json").display().to_string());
    let (st_a, st_b) = (state_a.display().to_string(), state_b.display().to_string());

    tb.set_storage_fault(StorageFault::slow(1000).on("PUT", "LocalUpload"));
    let mut first = spawn(&tb, &st_a, &copy_args(&from, &to, &m1));
    // The lease is taken before the first write: a journaled file means it is held.
    wait_until(&mut first, "a file journaled", Duration::from_secs(60), || verified_in_journal(&state_a) >= 1);
    let t = Instant::now();
    let second = run(cmd(&tb, &st_b), &copy_args(&from, &to, &m2));
    second.expect_code(6);
    assert!(t.elapsed() < Duration::from_secs(20), "the second run did not fail fast");
    assert!(first.try_wait().unwrap().is_none(), "the first run ended before the second was refused; the test proves nothing");
    let line = second.stderr.lines().find(|l| l.contains("another aml-failover run is writing to this target")).unwrap_or_else(|| panic!("{}", second.stderr));
    assert!(line.contains(&format!("process {} on {}", first.id(), this_host())), "the message does not name the first run: {line}");
    assert!(line.contains("Wait for it to finish, or — if that run died — rerun after 60 s when its lease expires"), "{line}");
    assert!(!Path::new(&m2).exists(), "the locked-out run wrote a manifest");
    assert_no_secrets(&tb, &second);

    tb.clear_storage_faults();
    let out = first.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "first run: {}", String::from_utf8_lossy(&out.stderr));
    // The first released its lease when it finished: the other machine proceeds at once.
    let after = run(cmd(&tb, &st_b), &copy_args(&from, &to, &m2));
    after.expect_code(0);
    assert_eq!(after.json()["summary"]["copied"], 0);
    assert_no_secrets(&tb, &after);
}

#[test]
fn a_killed_runs_lease_keeps_other_machines_out_until_it_expires() {
    let tb = seeded_testbed(true);
    let d = Direct::new(&tb);
    let models = seed_models(&tb, &d);
    let dir = tempfile::tempdir().unwrap();
    let (state_a, state_b) = (dir.path().join("a"), dir.path().join("b"));
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let m = dir.path().join("m.json").display().to_string();
    let (st_a, st_b) = (state_a.display().to_string(), state_b.display().to_string());
    let short = |st: &str| {
        let mut c = cmd(&tb, st);
        c.env("AML_FAILOVER_LEASE_SECONDS", "15");
        c
    };

    tb.set_storage_fault(StorageFault::slow(400).on("PUT", "LocalUpload"));
    let mut c = short(&st_a);
    c.args(copy_args(&from, &to, &m)).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    wait_until(&mut child, "three files journaled", Duration::from_secs(120), || verified_in_journal(&state_a) >= 3);
    assert!(child.try_wait().unwrap().is_none(), "the run finished before it could be killed");
    let pid = child.id();
    child.kill().unwrap(); // SIGKILL: no release
    child.wait().unwrap();
    let killed = Instant::now();
    tb.clear_storage_faults();

    // Another machine, while the dead run's lease lives: refused, told when to rerun.
    let refused = run(short(&st_b), &copy_args(&from, &to, &m));
    refused.expect_code(6);
    assert!(killed.elapsed() < Duration::from_secs(10), "too slow to see the lease alive");
    assert!(refused.stderr.contains(&format!("process {pid} on {}", this_host())), "{}", refused.stderr);
    assert!(refused.stderr.contains("rerun after 15 s when its lease expires"), "{}", refused.stderr);
    assert_no_secrets(&tb, &refused);

    // Once it expired (renewed every 5 s, so at most 15 s after the kill): proceeds, copies all.
    std::thread::sleep(Duration::from_secs(16).saturating_sub(killed.elapsed()));
    let r = run(short(&st_b), &copy_args(&from, &to, &m));
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["copied"], MODELS, "{}", r.stdout);
    assert_no_secrets(&tb, &r);
    for (name, bytes) in &models {
        let t = d.get(&format!("{to}/models/{name}/versions/1")).unwrap_or_else(|| panic!("{name} missing in the target"));
        let got = d.blob(tb.failover(), &datastore_path(t["properties"]["modelUri"].as_str().unwrap())).unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(bytes), "{name}: bytes differ");
    }
}
