//! Crash test of `copy`: the built binary is killed with SIGKILL at many moments of a copy
//! (before any file, after k files journaled, with registrations in flight or between them,
//! right after the service stored a version, once the journal is complete, and at
//! pseudo-random times from a fixed seed), with models only, with a mixed set (a folder model
//! and an environment with a build context too), and with `--on-conflict new-version`.
//! After each kill, before anything else runs, nothing may be half-registered: every version
//! the target holds has all its files there with the source's sha256. Then the same command
//! resumes: it exits 0, every version is in the target with the right bytes, and across the
//! killed run and the resumed one each version was registered (PUT) exactly once.
//!
//! One test bed serves every trial: each trial has its own asset-name prefix (`crash-tNN-`),
//! state directory (journal, lock) and fresh emulator counters.
//!
//! The second test does the same for `failover`, `snapshot restore`, `outputs copy
//! --register-as-data` and `notebooks copy` (21 trials: kills after k target writes, after k
//! versions stored, and at seeded pseudo-random times). After each kill, what is registered is
//! whole and no target file records a sha256 its bytes do not have; the rerun exits 0, every
//! target file equals the source byte for byte (`common::oracle`), and nothing is duplicated:
//! each model and data asset version registered once (one PUT across both runs), each job's
//! outputs under one prefix, no extra notebook files.

#![cfg(unix)]

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::storage_proxy::StorageFault;
use common::*;
use serde_json::{json, Value};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Seed of the pseudo-random kill times (printed; change it here to reproduce another run).
const SEED: u64 = 0x5eed_c4a5_2026_0009;
/// Single-file models per trial.
const MODELS: usize = 5;
/// Delay of every blob write into the target during the killed run (stretches the transfer).
const STORAGE_SLOW_MS: u64 = 100;
/// Delay of every version PUT during trials that kill in the registration phase.
const ARM_SLOW_MS: u64 = 250;

/// One asset version seeded in the primary: its files (relative path, bytes).
struct Asset {
    /// ARM segment: `models` or `environments`.
    segment: &'static str,
    name: String,
    single_file: bool,
    files: Vec<(String, Vec<u8>)>,
}

impl Asset {
    fn versions_path(&self, ws: &str) -> String {
        format!("{ws}/{}/{}/versions", self.segment, self.name)
    }
}

#[derive(Clone, Copy, Debug)]
enum Moment {
    /// The journal's header is on disk (lock taken, workspaces being listed), no file verified yet.
    Early,
    /// At least k files journaled as verified (transfer phase).
    Files(usize),
    /// The k-th registration started (journal) and, 1/5 of the delay later, its version PUT
    /// is held by the slow service: the kill lands while that PUT is in flight (the emulator
    /// then drops it or, if it already passed the delay, stores it: either way is legitimate).
    RegisterInFlight(usize),
    /// k registrations journaled as finished: between two registrations.
    Registered(usize),
    /// The service has stored k versions (its request log); the journal may not say so yet.
    ServerStored(usize),
    /// This many ms after the start (pseudo-random).
    AfterMs(u64),
    /// The run closed its journal (`last-complete.jsonl`): the kill lands in its last
    /// milliseconds (manifest, report) or after it ended; a rerun must change nothing.
    Completed,
}

struct Trial {
    id: usize,
    moment: Moment,
    /// Models plus a three-file model and an environment with a two-file build context.
    mixed: bool,
    /// The target already holds a different version 1 of every model: `--on-conflict new-version`.
    new_version: bool,
    arm_slow: bool,
}

impl Trial {
    fn new(id: usize, moment: Moment) -> Trial {
        let arm_slow = matches!(moment, Moment::RegisterInFlight(_) | Moment::Registered(_) | Moment::ServerStored(_) | Moment::AfterMs(_));
        Trial { id, moment, mixed: false, new_version: false, arm_slow }
    }
    fn prefix(&self) -> String {
        format!("crash-t{:02}-", self.id)
    }
}

/// splitmix64: reproducible pseudo-random numbers without a dependency.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Seeds the assets of one trial in the primary (and, for new-version trials, a different
/// version 1 of each model in the target).
fn seed(tb: &TestBed, d: &Direct, t: &Trial) -> Vec<Asset> {
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let base = datastore_base(tb.primary());
    let prefix = t.prefix();
    let mut assets = Vec::new();
    for i in 0..MODELS {
        let name = format!("{prefix}m{i}");
        let bytes = bytes_for(&name, 48 * 1024 + i * 1000);
        let blob = format!("crash/{name}/weights.bin");
        d.put_blob(tb.primary(), &blob, &bytes);
        assert!(d.put(&format!("{p}/models/{name}"), &json!({"properties": {"description": "crash test"}})) < 300);
        let v = json!({"properties": {"modelType": "custom_model", "modelUri": format!("{base}{blob}")}});
        assert!(d.put(&format!("{p}/models/{name}/versions/1"), &v) < 300);
        if t.new_version {
            let other = bytes_for(&format!("other {name}"), 1000);
            let tblob = format!("elsewhere/{name}/weights.bin");
            d.put_blob(tb.failover(), &tblob, &other);
            assert!(d.put(&format!("{f}/models/{name}"), &json!({"properties": {"description": "crash test"}})) < 300);
            let tv = json!({"properties": {"modelType": "custom_model", "modelUri": format!("{}{tblob}", datastore_base(tb.failover()))}});
            assert!(d.put(&format!("{f}/models/{name}/versions/1"), &tv) < 300);
        }
        assets.push(Asset { segment: "models", name, single_file: true, files: vec![("weights.bin".into(), bytes)] });
    }
    if t.mixed {
        // A folder model of three files.
        let name = format!("{prefix}folder");
        let files: Vec<(String, Vec<u8>)> =
            ["MLmodel", "data/model.pkl", "conda.yaml"].iter().enumerate().map(|(i, rel)| (rel.to_string(), bytes_for(&format!("{name}/{rel}"), 20 * 1024 + i * 333))).collect();
        for (rel, b) in &files {
            d.put_blob(tb.primary(), &format!("crash/{name}/{rel}"), b);
        }
        assert!(d.put(&format!("{p}/models/{name}"), &json!({"properties": {}})) < 300);
        let v = json!({"properties": {"modelType": "mlflow_model", "modelUri": format!("{base}crash/{name}/")}});
        assert!(d.put(&format!("{p}/models/{name}/versions/1"), &v) < 300);
        assets.push(Asset { segment: "models", name, single_file: false, files });
        // An environment built from a two-file Docker context.
        let name = format!("{prefix}env");
        let files = vec![
            ("Dockerfile".to_string(), b"FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04\nCOPY requirements.txt .\n".to_vec()),
            ("requirements.txt".to_string(), bytes_for(&name, 10 * 1024)),
        ];
        for (rel, b) in &files {
            d.put_blob(tb.primary(), &format!("crash/{name}/ctx/{rel}"), b);
        }
        let ws = tb.primary();
        let ctx = format!("https://{}.blob.core.windows.net/{}/crash/{name}/ctx/", ws.storage_account, ws.default_container());
        assert!(d.put(&format!("{p}/environments/{name}"), &json!({"properties": {}})) < 300);
        let v = json!({"properties": {"build": {"contextUri": ctx, "dockerfilePath": "Dockerfile"}, "osType": "Linux"}});
        assert!(d.put(&format!("{p}/environments/{name}/versions/1"), &v) < 300);
        assets.push(Asset { segment: "environments", name, single_file: false, files });
    }
    assets
}

/// The blob path (in the workspace's default container) of a version's content.
fn content_path(v: &Value, container: &str) -> String {
    let p = &v["properties"];
    let uri = p["modelUri"].as_str().or_else(|| p["build"]["contextUri"].as_str()).unwrap_or_else(|| panic!("no content URI: {v}"));
    if uri.contains("/paths/") {
        return datastore_path(uri);
    }
    let marker = format!("/{container}/");
    let at = uri.find(&marker).unwrap_or_else(|| panic!("{uri} is not in container {container}"));
    uri[at + marker.len()..].trim_end_matches('/').to_string()
}

/// Every version of an asset in the target (none when its container is missing).
fn target_versions(d: &Direct, to: &str, a: &Asset) -> Vec<Value> {
    if d.get(&format!("{to}/{}/{}", a.segment, a.name)).is_none() {
        return Vec::new();
    }
    d.list(&a.versions_path(to))
}

/// The versions this trial's copy created (all of them; for new-version trials, all but the
/// pre-existing version 1).
fn copied_versions(d: &Direct, to: &str, a: &Asset, t: &Trial) -> Vec<Value> {
    target_versions(d, to, a).into_iter().filter(|v| !(t.new_version && v["name"] == "1")).collect()
}

/// The no-half-registration invariant: every version the copy registered in the target has
/// every file there, with the source's sha256. Returns how many versions are registered.
fn assert_whole(tb: &TestBed, d: &Direct, assets: &[Asset], t: &Trial, when: &str) -> usize {
    let to = tb.failover().arm_id();
    let container = tb.failover().default_container();
    let mut n = 0;
    for a in assets {
        for v in copied_versions(d, &to, a, t) {
            n += 1;
            let path = content_path(&v, &container);
            for (rel, bytes) in &a.files {
                let blob = if a.single_file { path.clone() } else { format!("{path}/{rel}") };
                let got = d.blob(tb.failover(), &blob).unwrap_or_else(|| {
                    panic!("trial {} {when}: {} {}:{} is registered but its file {rel} ({blob}) is not in the target", t.id, a.segment, a.name, v["name"])
                });
                assert_eq!(sha256_hex(&got), sha256_hex(bytes), "trial {} {when}: {} {}:{} is registered with a wrong {rel}", t.id, a.segment, a.name, v["name"]);
            }
        }
    }
    n
}

/// The one journal (or lock) under the state dir.
fn find(state: &Path, file: &str) -> Option<PathBuf> {
    std::fs::read_dir(state).ok()?.filter_map(|e| e.ok()).map(|e| e.path().join(file)).find(|p| p.exists())
}

/// Whether an unfinished journal with its header line is on disk (a kill in the first
/// milliseconds may leave none, or an empty file: the next run then starts afresh).
fn journal_started(state: &Path) -> bool {
    let text = find(state, "journal.jsonl").and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    text.split_once('\n').is_some_and(|(header, _)| serde_json::from_str::<Value>(header).is_ok_and(|h| h["journal"] == "aml-failover"))
}

/// Journal records by state: (verified files, registrations started, registrations finished).
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    verified: usize,
    started: usize,
    registered: usize,
}

fn journal_counts(state: &Path) -> Counts {
    let text = find(state, "journal.jsonl").and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    let n = |s: &str| text.lines().filter(|l| l.contains(&format!("\"state\":\"{s}\""))).count();
    Counts { verified: n("verified"), started: n("register-started"), registered: n("registered") }
}

/// Version PUTs the service received for this trial (faulted and delayed ones included,
/// counted once the service answered them).
fn version_puts(tb: &TestBed, a: &Asset) -> usize {
    let needle = format!("/{}/{}/versions/", a.segment, a.name);
    tb.app().faults.log().iter().filter(|r| r.method == "PUT" && r.operation.ends_with("Versions_CreateOrUpdate") && percent_decode(&r.path).contains(&needle)).count()
}

/// The tool percent-encodes names in paths (`-` as `%2D`).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn kinds(t: &Trial) -> &'static str {
    if t.mixed {
        "models,environments"
    } else {
        "models"
    }
}

fn copy_args(t: &Trial, from: &str, to: &str, manifest: &str) -> Vec<String> {
    let mut a: Vec<String> = ["copy", "--from", from, "--to", to, "--kinds", kinds(t), "--concurrency", "2", "--manifest", manifest, "-o", "json"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    a.extend(["--name".to_string(), format!("{}*", t.prefix())]);
    if t.new_version {
        a.extend(["--on-conflict".to_string(), "new-version".to_string()]);
    }
    a
}

fn cmd(tb: &TestBed, state: &Path) -> std::process::Command {
    let mut c = command(tb);
    c.env("AML_FAILOVER_STATE_DIR", state);
    c
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    if let Some(e) = child.stderr.as_mut() {
        let _ = std::io::Read::read_to_string(e, &mut err);
    }
    err
}

/// Waits until `f` holds; panics with the child's output if the child ends first.
fn wait_for(child: &mut Child, t: &Trial, what: &str, f: impl FnMut() -> bool) {
    wait_every(child, t, what, Duration::from_millis(5), f)
}

fn wait_every(child: &mut Child, t: &Trial, what: &str, every: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("trial {}: the run ended ({status}) before {what}; it cannot be killed there:\n{}", t.id, stderr_of(child));
        }
        assert!(start.elapsed() < Duration::from_secs(60), "trial {}: timed out waiting for {what}", t.id);
        std::thread::sleep(every);
    }
}

/// What one trial did, for the summary.
struct Outcome {
    killed: bool,
    at_ms: u128,
    at_kill: Counts,
    stored_at_kill: usize,
    registered_after_kill: usize,
}

fn run_trial(tb: &TestBed, d: &Direct, root: &Path, t: &Trial) -> Outcome {
    let assets = seed(tb, d, t);
    let (from, to) = (tb.primary().arm_id(), tb.failover().arm_id());
    let state = root.join(format!("state-{:02}", t.id));
    let manifest = root.join(format!("manifest-{:02}.json", t.id)).display().to_string();
    let args = copy_args(t, &from, &to, &manifest);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let files_total: usize = assets.iter().map(|a| a.files.len()).sum();

    tb.reset_counters();
    tb.set_storage_fault(StorageFault::slow(STORAGE_SLOW_MS).on("PUT", "LocalUpload"));
    if t.arm_slow {
        tb.set_fault(Fault::slow(ARM_SLOW_MS).on("PUT", "/versions/"));
    }
    let stored = || assets.iter().map(|a| version_puts(tb, a)).sum::<usize>();

    let mut c = cmd(tb, &state);
    c.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = c.spawn().expect("the binary starts");
    let what = format!("{:?}", t.moment);
    match t.moment {
        Moment::Early => wait_for(&mut child, t, &what, || journal_started(&state)),
        Moment::Files(k) => wait_for(&mut child, t, &what, || journal_counts(&state).verified >= k),
        Moment::RegisterInFlight(k) => {
            wait_for(&mut child, t, &what, || journal_counts(&state).started >= k);
            // The container GET/PUT are fast; the version PUT is held ARM_SLOW_MS by the service.
            std::thread::sleep(Duration::from_millis(ARM_SLOW_MS / 5));
        }
        Moment::Registered(k) => wait_for(&mut child, t, &what, || journal_counts(&state).registered >= k),
        // Polled closely: the tool journals the registration a few ms after the service stored it.
        Moment::ServerStored(k) => wait_every(&mut child, t, &what, Duration::from_micros(200), || stored() >= k),
        Moment::Completed => {
            let start = Instant::now();
            while find(&state, "last-complete.jsonl").is_none() {
                assert!(start.elapsed() < Duration::from_secs(60), "trial {}: timed out waiting for the run to complete", t.id);
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        Moment::AfterMs(ms) => {
            let until = started + Duration::from_millis(ms);
            while Instant::now() < until && child.try_wait().unwrap().is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }
    let at_ms = started.elapsed().as_millis();
    child.kill().unwrap(); // SIGKILL (nothing happens to a run that already ended)
    let status = child.wait().unwrap();
    let killed = status.signal() == Some(libc::SIGKILL);
    let at_kill = journal_counts(&state);
    let stored_at_kill = stored();
    if !killed {
        let err = stderr_of(&mut child);
        assert_eq!(status.code(), Some(0), "trial {}: the run that was not killed failed:\n{err}", t.id);
    }
    // The tool registers nothing before every file is copied.
    if at_kill.verified < files_total {
        assert_eq!(at_kill.started, 0, "trial {}: registration started while files were still being copied: {at_kill:?}", t.id);
    }
    // Whether the kill landed where the trial aims (only a machine stalled for over 100 ms
    // between the moment and the kill misses it; the trial still checks everything then).
    let missed = match t.moment {
        Moment::Early => at_kill.verified > 0,
        Moment::RegisterInFlight(_) => at_kill.registered >= at_kill.started,
        _ => false,
    };
    if missed {
        println!("note: trial {} was killed later than its moment {:?}: {at_kill:?}", t.id, t.moment);
    }

    // Requests of the killed process still held by a slow fault finish (or fail) now, before
    // anything is checked; nothing is slowed after the kill.
    tb.clear_faults();
    tb.clear_storage_faults();
    std::thread::sleep(Duration::from_millis(if t.arm_slow { ARM_SLOW_MS } else { STORAGE_SLOW_MS } + 150));

    // After the kill: nothing half-registered.
    let registered_after_kill = assert_whole(tb, d, &assets, t, "after the kill");
    let journal_left = journal_started(&state);

    // Resume: the same command.
    let r = run(cmd(tb, &state), &args);
    r.expect_code(0);
    let v = r.json();
    // The report leaves `warnings` out when there is none (docs/schemas/report.schema.json).
    let warnings: Vec<&str> = v["warnings"].as_array().map(|a| a.iter().filter_map(|w| w.as_str()).collect()).unwrap_or_default();
    if killed && journal_left {
        let resumed = warnings.iter().find(|w| w.starts_with("resuming run ")).unwrap_or_else(|| panic!("trial {}: the rerun did not resume: {v}", t.id));
        if at_kill.started > at_kill.registered {
            assert!(resumed.contains("interrupted"), "trial {}: an interrupted registration is not mentioned: {resumed}", t.id);
        }
    }
    let failed: Vec<&Value> = v["items"].as_array().unwrap().iter().filter(|i| i["status"] == "failed" || i["status"] == "conflict").collect();
    assert!(failed.is_empty(), "trial {}: the rerun left items failed: {failed:?}", t.id);

    // After the resume: every version once, whole, registered exactly once across both runs.
    assert_whole(tb, d, &assets, t, "after the resume");
    for a in &assets {
        let versions = copied_versions(d, &to, a, t);
        assert_eq!(versions.len(), 1, "trial {}: {} {} has {} copies in the target: {versions:?}", t.id, a.segment, a.name, versions.len());
        if t.new_version {
            assert_ne!(versions[0]["name"], "1");
            let v1 = d.get(&format!("{to}/{}/{}/versions/1", a.segment, a.name)).unwrap();
            assert!(v1["properties"]["modelUri"].as_str().unwrap().ends_with(&format!("/paths/elsewhere/{}/weights.bin", a.name)), "trial {}: the target's own version 1 was changed: {v1}", t.id);
        }
        assert_eq!(version_puts(tb, a), 1, "trial {}: {} {} was registered {} times across the killed run and the resume", t.id, a.segment, a.name, version_puts(tb, a));
    }
    assert!(find(&state, "journal.jsonl").is_none() && find(&state, "lock").is_none(), "trial {}: the resumed run left its journal or lock", t.id);
    assert_no_secrets(tb, &r);

    // verify agrees (new-version trials keep a different version 1 in the target: drifted by design).
    if !t.new_version {
        let pattern = format!("{}*", t.prefix());
        let vr = run(command(tb), &["verify", "--from", &from, "--to", &to, "--kinds", kinds(t), "--name", &pattern, "-o", "json"]);
        vr.expect_code(0);
        let items = vr.json()["items"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(items, assets.len(), "trial {}: verify checked {items} versions\n{}", t.id, vr.stdout);
    }
    Outcome { killed, at_ms, at_kill, stored_at_kill, registered_after_kill }
}

#[test]
fn sigkill_at_many_moments_then_resume_registers_everything_once_and_whole() {
    let wall = Instant::now();
    let tb = TestBed::start(TestBedOptions { page_size: None, seed_primary: None, storage_proxy: true }).expect("test bed starts (run scripts/setup.sh first)");
    let d = Direct::new(&tb);
    let dir = tempfile::tempdir().unwrap();

    let mut rng = SplitMix(SEED);
    let mut trials = vec![
        Trial::new(0, Moment::Early),
        Trial::new(1, Moment::Files(1)),
        Trial::new(2, Moment::Files(MODELS - 1)),
        Trial { mixed: true, ..Trial::new(3, Moment::Files(MODELS + 2)) },
        Trial { arm_slow: true, ..Trial::new(4, Moment::Files(MODELS)) },
        Trial::new(5, Moment::RegisterInFlight(1)),
        Trial::new(6, Moment::RegisterInFlight(4)),
        Trial::new(7, Moment::Registered(2)),
        Trial::new(8, Moment::ServerStored(3)),
        Trial { mixed: true, ..Trial::new(9, Moment::RegisterInFlight(MODELS + 1)) },
        Trial { new_version: true, ..Trial::new(10, Moment::RegisterInFlight(2)) },
        Trial { new_version: true, ..Trial::new(11, Moment::ServerStored(4)) },
    ];
    // After a finished new-version copy (killed in its last moments or not), the rerun must
    // not register the same content under yet another number.
    trials.push(Trial { new_version: true, ..Trial::new(12, Moment::Completed) });
    for id in 13..16 {
        let ms = 20 + rng.next() % 2000;
        trials.push(Trial { mixed: id == 15, ..Trial::new(id, Moment::AfterMs(ms)) });
    }
    println!("crash test: seed {SEED:#x}; random kill times (ms after start): {:?}", trials.iter().filter_map(|t| match t.moment {
        Moment::AfterMs(ms) => Some((t.id, ms)),
        _ => None,
    }).collect::<Vec<_>>());

    let mut killed = 0;
    // CRASH_TRIALS=3,9 runs only those trials (to reproduce one); the count check then is skipped.
    let only: Option<Vec<usize>> = std::env::var("CRASH_TRIALS").ok().map(|v| v.split(',').map(|x| x.trim().parse().expect("CRASH_TRIALS: trial numbers")).collect());
    for t in trials.iter().filter(|t| only.as_ref().is_none_or(|o| o.contains(&t.id))) {
        let ts = Instant::now();
        let o = run_trial(&tb, &d, dir.path(), t);
        killed += o.killed as usize;
        println!(
            "trial {:02} {:<24} mixed={:<5} new-version={:<5} {} at {:>5} ms: journal {:?}, versions stored by the service {}, registered after the kill {}; trial took {} ms",
            t.id,
            format!("{:?}", t.moment),
            t.mixed,
            t.new_version,
            if o.killed { "killed" } else { "FINISHED before the kill" },
            o.at_ms,
            o.at_kill,
            o.stored_at_kill,
            o.registered_after_kill,
            ts.elapsed().as_millis()
        );
    }
    println!("crash test: {killed} of {} trials killed a running copy; wall time {:.1} s", trials.len(), wall.elapsed().as_secs_f64());
    if only.is_none() {
        assert!(killed >= 10, "only {killed} trials killed a running process");
    }
}

// ---------------------------------------------------------------------------------------------
// The other writing commands: failover, snapshot restore, outputs copy, notebooks copy.

/// Seed of the pseudo-random kill times of the second test (printed).
const SEED_OTHERS: u64 = 0x5eed_c4a5_2026_0012;
/// Files per trial of `outputs copy` and `notebooks copy`; models per failover/restore trial.
const FILES: usize = 6;
const WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    /// `failover --kinds models --name crash-kNN-* --skip-notebooks` (its outputs step copies the trial's job too).
    Failover,
    /// `snapshot restore` of a bundle exported (unkilled) before.
    Restore,
    /// `outputs copy --job crash_kNN --register-as-data`.
    Outputs,
    /// `notebooks copy` (Azure Files, through a storage proxy).
    Notebooks,
}

#[derive(Clone, Copy, Debug)]
enum At {
    /// At least k writes of the trial's files reached the target (the proxy answered them).
    Landed(usize),
    /// The service has stored k versions (models, or the output's data asset).
    Stored(usize),
    /// This many ms after the start (pseudo-random from SEED_OTHERS).
    AfterMs(u64),
}

struct Kill {
    id: usize,
    which: Which,
    at: At,
}

impl Kill {
    /// In every file name, blob path and asset name of the trial (storage faults match it).
    fn tag(&self) -> String {
        format!("crash-k{:02}-", self.id)
    }
    fn job(&self) -> String {
        format!("crash_k{:02}", self.id)
    }
    fn models(&self) -> Vec<String> {
        match self.which {
            Which::Failover => (0..3).map(|i| format!("{}m{i}", self.tag())).collect(),
            Which::Restore => (0..4).map(|i| format!("{}m{i}", self.tag())).collect(),
            _ => Vec::new(),
        }
    }
    fn registers_data(&self) -> bool {
        self.which == Which::Outputs
    }
}

/// The bed of the second test: files service behind its own storage proxy.
struct KillBed {
    tb: TestBed,
    files_proxy: aml_emulator::storage_proxy::StorageProxy,
    /// `AML_FAILOVER_FILE_ENDPOINT` through `files_proxy`.
    files_endpoint: String,
    dir: tempfile::TempDir,
}

impl KillBed {
    fn cmd(&self, state: &Path) -> std::process::Command {
        let mut c = command(&self.tb);
        c.env("AML_FAILOVER_STATE_DIR", state);
        c.env("AML_FAILOVER_FILE_ENDPOINT", &self.files_endpoint);
        c
    }
}

/// What a trial must leave in the target: place → source bytes.
fn seed_kill(kb: &KillBed, d: &Direct, k: &Kill) -> Vec<(String, Vec<u8>)> {
    let tb = &kb.tb;
    let p = tb.primary();
    let tag = k.tag();
    let mut files = Vec::new();
    match k.which {
        Which::Failover | Which::Restore => {
            let base = datastore_base(p);
            for (i, name) in k.models().iter().enumerate() {
                let bytes = bytes_for(name, 32 * 1024 + i * 777);
                let blob = format!("crash/{name}/{name}.bin");
                // Every other one in blocks (no Content-MD5), like large uploads.
                if i % 2 == 0 {
                    d.put_blob(p, &blob, &bytes);
                } else {
                    d.put_blob_in_blocks(p, &blob, &bytes, 16 * 1024);
                }
                let arm = p.arm_id();
                assert!(d.put(&format!("{arm}/models/{name}"), &json!({"properties": {"description": "crash test"}})) < 300);
                let v = json!({"properties": {"modelType": "custom_model", "modelUri": format!("{base}{blob}")}});
                assert!(d.put(&format!("{arm}/models/{name}/versions/1"), &v) < 300);
                files.push((name.clone(), bytes));
            }
        }
        Which::Outputs | Which::Notebooks => {
            for i in 0..FILES {
                let rel = format!("{tag}{i}.bin");
                files.push((rel.clone(), bytes_for(&rel, 24 * 1024 + i * 501)));
            }
        }
    }
    match k.which {
        Which::Failover | Which::Outputs => {
            // A job whose output holds the trial's files (failover copies it in its outputs step).
            let outs: Vec<(String, Vec<u8>)> = if k.which == Which::Outputs {
                files.clone()
            } else {
                (0..3).map(|i| format!("{tag}o{i}.bin")).map(|r| (r.clone(), bytes_for(&r, 20 * 1024))).collect()
            };
            seed_job_output(tb, kb.dir.path(), &k.job(), &outs);
            if k.which == Which::Failover {
                files.extend(outs.into_iter().map(|(r, b)| (format!("out/{r}"), b)));
            }
        }
        Which::Notebooks => {
            let dir = kb.dir.path().join(format!("nb-{:02}", k.id));
            let user = dir.join("Users").join(tag.trim_end_matches('-'));
            std::fs::create_dir_all(&user).unwrap();
            for (rel, b) in &files {
                std::fs::write(user.join(rel), b).unwrap();
            }
            tb.seed_share(&p.storage_account, WORKING_DIR, &dir).unwrap();
        }
        Which::Restore => {
            let bundle = kb.dir.path().join(format!("bundle-{:02}", k.id));
            let r = run(kb.cmd(&kb.dir.path().join("export-state")), &["snapshot", "export", "--from", &p.arm_id(), "--to", bundle.to_str().unwrap(), "--kinds", "models", "--name", &format!("{tag}*"), "-o", "json"]);
            r.expect_code(0);
        }
    }
    files
}

fn kill_args(kb: &KillBed, k: &Kill) -> Vec<String> {
    let (from, to) = (kb.tb.primary().arm_id(), kb.tb.failover().arm_id());
    let dir = kb.dir.path();
    let s = |p: PathBuf| p.display().to_string();
    let v: Vec<String> = match k.which {
        Which::Failover => vec![
            "failover".into(), "--from".into(), from, "--to".into(), to, "--kinds".into(), "models".into(), "--name".into(), format!("{}*", k.tag()),
            "--skip-notebooks".into(), "--concurrency".into(), "2".into(), "--out-dir".into(), s(dir.join(format!("out-{:02}", k.id))),
        ],
        Which::Restore => vec!["snapshot".into(), "restore".into(), s(dir.join(format!("bundle-{:02}", k.id))), "--to".into(), to, "--concurrency".into(), "2".into()],
        Which::Outputs => vec![
            "outputs".into(), "copy".into(), "--from".into(), from, "--to".into(), to, "--job".into(), k.job(), "--register-as-data".into(),
            "--concurrency".into(), "2".into(), "--manifest".into(), s(dir.join(format!("m-{:02}.json", k.id))),
        ],
        Which::Notebooks => vec!["notebooks".into(), "copy".into(), "--from".into(), from, "--to".into(), to, "--concurrency".into(), "2".into(), "--manifest".into(), s(dir.join(format!("m-{:02}.json", k.id)))],
    };
    v.into_iter().chain(["-o".to_string(), "json".to_string()]).collect()
}

/// Version PUTs into the failover workspace the service answered for asset `name` of `segment`.
fn puts_of(tb: &TestBed, segment: &str, name: &str) -> usize {
    let needle = format!("/workspaces/{}/{segment}/{name}/versions/", tb.failover().name);
    tb.app().faults.log().iter().filter(|r| r.method == "PUT" && r.operation.ends_with("Versions_CreateOrUpdate") && percent_decode(&r.path).contains(&needle)).count()
}

/// Where the trial's files are in the target, by the oracle: (place, source bytes). Registered
/// model versions are looked up (each must be whole); outputs under every prefix that holds the job.
fn landed(kb: &KillBed, d: &Direct, o: &common::oracle::Oracle, k: &Kill, files: &[(String, Vec<u8>)]) -> (Vec<(common::oracle::Place, Vec<u8>)>, Vec<String>) {
    use common::oracle::Place;
    let f = kb.tb.failover();
    let (acct, cont) = (f.storage_account.clone(), f.default_container());
    let mut out = Vec::new();
    let mut dupes = Vec::new();
    let to = f.arm_id();
    for name in k.models() {
        let versions = if d.get(&format!("{to}/models/{name}")).is_some() { d.list(&format!("{to}/models/{name}/versions")) } else { Vec::new() };
        if versions.len() > 1 {
            dupes.push(format!("model {name} has {} versions in the target", versions.len()));
        }
        let bytes = &files.iter().find(|(n, _)| *n == name).unwrap().1;
        for v in versions {
            let uri = v["properties"]["modelUri"].as_str().unwrap_or_default();
            out.push((Place::Blob(acct.clone(), cont.clone(), datastore_path(uri)), bytes.clone()));
        }
    }
    let job_files: Vec<&(String, Vec<u8>)> = match k.which {
        Which::Outputs => files.iter().collect(),
        Which::Failover => files.iter().filter(|(n, _)| n.starts_with("out/")).collect(),
        _ => Vec::new(),
    };
    if !job_files.is_empty() {
        let needle = format!("/{}/outputs/out/", k.job());
        let mut prefixes: Vec<String> = o.list_blobs(&acct, &cont, "failover-outputs/").into_iter().filter_map(|(n, _)| n.find(&needle).map(|i| n[..i + needle.len()].to_string())).collect();
        prefixes.dedup();
        if prefixes.len() > 1 {
            dupes.push(format!("job {} copied under {} prefixes: {prefixes:?}", k.job(), prefixes.len()));
        }
        for pre in prefixes {
            for (rel, b) in &job_files {
                out.push((Place::Blob(acct.clone(), cont.clone(), format!("{pre}{}", rel.trim_start_matches("out/"))), b.clone()));
            }
        }
    }
    if k.which == Which::Notebooks {
        let user = format!("Users/{}", k.tag().trim_end_matches('-'));
        for (rel, b) in files {
            out.push((Place::File(acct.clone(), WORKING_DIR.into(), format!("{user}/{rel}")), b.clone()));
        }
        let there = o.list_files(&acct, WORKING_DIR, &user);
        if there.len() > files.len() {
            dupes.push(format!("{} files under {user} for {} in the source: {there:?}", there.len(), files.len()));
        }
    }
    (out, dupes)
}

#[test]
fn sigkill_failover_restore_outputs_and_notebooks_then_rerun_ends_verified_once() {
    use common::oracle::Oracle;
    let wall = Instant::now();
    let tb = TestBed::start_with_files(TestBedOptions { page_size: None, seed_primary: None, storage_proxy: true }, aml_emulator::testbed::FilesBedOptions::default())
        .expect("test bed starts (run scripts/setup.sh first)");
    let (files_proxy, files_endpoint) = files_proxy(&tb);
    let kb = KillBed { tb, files_proxy, files_endpoint, dir: tempfile::tempdir().unwrap() };
    let tb = &kb.tb;
    let d = Direct::new(tb);
    let o = Oracle::new(tb);

    let mut rng = SplitMix(SEED_OTHERS);
    let mut kills = Vec::new();
    let chosen: [(Which, &[At]); 4] = [
        (Which::Failover, &[At::Landed(1), At::Landed(3), At::Stored(1), At::Stored(2)]),
        (Which::Restore, &[At::Landed(1), At::Landed(3), At::Stored(1), At::Stored(3)]),
        (Which::Outputs, &[At::Landed(1), At::Landed(4), At::Stored(1)]),
        (Which::Notebooks, &[At::Landed(1), At::Landed(5)]),
    ];
    for (which, ats) in chosen {
        for &at in ats {
            kills.push(Kill { id: kills.len(), which, at });
        }
        // Two random moments per command.
        for _ in 0..2 {
            let ms = 30 + rng.next() % 1500;
            kills.push(Kill { id: kills.len(), which, at: At::AfterMs(ms) });
        }
    }
    println!(
        "crash test (failover, snapshot restore, outputs copy, notebooks copy): seed {SEED_OTHERS:#x}; {} trials; random kill times (ms after start): {:?}",
        kills.len(),
        kills.iter().filter_map(|k| match k.at {
            At::AfterMs(ms) => Some((k.id, ms)),
            _ => None,
        }).collect::<Vec<_>>()
    );
    let only: Option<Vec<usize>> = std::env::var("CRASH_TRIALS").ok().map(|v| v.split(',').map(|x| x.trim().parse().expect("CRASH_TRIALS: trial numbers")).collect());
    let mut killed = 0;
    for k in kills.iter().filter(|k| only.as_ref().is_none_or(|o| o.contains(&k.id))) {
        let ts = Instant::now();
        let files = seed_kill(&kb, &d, k);
        let state = kb.dir.path().join(format!("state-k{:02}", k.id));
        let args = kill_args(&kb, k);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let tag = k.tag();
        let proxy = if k.which == Which::Notebooks { &kb.files_proxy } else { tb.storage_proxy().unwrap() };
        let target_writes = |p: &aml_emulator::storage_proxy::StorageProxy| {
            p.requests().iter().filter(|r| r.method == "PUT" && r.path.contains(&tag) && r.path.contains(&kb.tb.failover().storage_account) && r.status < 300).count()
        };
        let stored = || k.models().iter().map(|m| puts_of(tb, "models", m)).sum::<usize>() + if k.registers_data() { puts_of(tb, "data", &format!("{}-out", k.job())) } else { 0 };
        proxy.set_fault(StorageFault::slow(STORAGE_SLOW_MS).on("PUT", &tag));
        tb.set_fault(Fault::slow(ARM_SLOW_MS).on("PUT", "/versions/"));

        let mut c = kb.cmd(&state);
        c.args(&args).stdout(Stdio::piped()).stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = c.spawn().expect("the binary starts");
        let t = Trial::new(100 + k.id, Moment::Early);
        let what = format!("{:?}", k.at);
        match k.at {
            At::Landed(n) => wait_for(&mut child, &t, &what, || target_writes(proxy) >= n),
            At::Stored(n) => wait_every(&mut child, &t, &what, Duration::from_micros(200), || stored() >= n),
            At::AfterMs(ms) => {
                let until = started + Duration::from_millis(ms);
                while Instant::now() < until && child.try_wait().unwrap().is_none() {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
        }
        let at_ms = started.elapsed().as_millis();
        child.kill().unwrap();
        let status = child.wait().unwrap();
        let was_killed = status.signal() == Some(libc::SIGKILL);
        killed += was_killed as usize;
        if !was_killed {
            let err = stderr_of(&mut child);
            assert_eq!(status.code(), Some(0), "trial k{:02}: the run that was not killed failed:\n{err}", k.id);
        }
        tb.clear_faults();
        proxy.clear_faults();
        std::thread::sleep(Duration::from_millis(ARM_SLOW_MS + 150));
        let stored_at_kill = stored();

        // After the kill: whatever is registered is whole; nothing recorded as verified that is not.
        let (places, _) = landed(&kb, &d, &o, k, &files);
        let mut there_after_kill = 0;
        for (place, bytes) in &places {
            let got = o.get(place);
            if !k.models().is_empty() {
                let got = got.as_ref().unwrap_or_else(|| panic!("trial k{:02}: a registered version's file {place} is not in the target", k.id));
                assert_eq!(got.sha256(), sha256_hex(bytes), "trial k{:02}: a registered version holds other bytes at {place}", k.id);
            }
            if let Some(g) = &got {
                there_after_kill += 1;
                assert!(g.false_record().is_none(), "trial k{:02}: after the kill, {}", k.id, g.false_record().unwrap());
            }
        }

        // The rerun: the same command, exit 0.
        let r = run(kb.cmd(&state), &args);
        r.expect_code(0);
        assert_no_secrets(tb, &r);
        let (places, dupes) = landed(&kb, &d, &o, k, &files);
        assert!(dupes.is_empty(), "trial k{:02} ({:?} at {:?}): duplicated: {dupes:?}", k.id, k.which, k.at);
        let expected_places = k.models().len() + match k.which {
            Which::Failover => 3,
            Which::Outputs | Which::Notebooks => FILES,
            Which::Restore => 0,
        };
        assert_eq!(places.len(), expected_places, "trial k{:02}: {} of {expected_places} files found in the target: {places:?}", k.id, places.len());
        for (place, bytes) in &places {
            let got = o.get(place).unwrap_or_else(|| panic!("trial k{:02}: {place} is not in the target after the rerun", k.id));
            assert_eq!(got.sha256(), sha256_hex(bytes), "trial k{:02}: {place} holds other bytes than the source after the rerun", k.id);
            assert!(got.false_record().is_none(), "trial k{:02}: {}", k.id, got.false_record().unwrap());
        }
        // Registered once across the killed run and the rerun.
        for m in k.models() {
            let log: Vec<String> = tb.app().faults.log().iter().filter(|r| percent_decode(&r.path).contains(&format!("/{m}/"))).map(|r| format!("{} {} {}", r.method, percent_decode(&r.path), r.status)).collect();
            assert_eq!(puts_of(tb, "models", &m), 1, "trial k{:02} ({:?} at {:?}, killed at {at_ms} ms, {stored_at_kill} stored then): model {m} was registered {} times:\n{}\n--- rerun stdout\n{}", k.id, k.which, k.at, puts_of(tb, "models", &m), log.join("\n"), r.stdout);
        }
        if k.registers_data() {
            let name = format!("{}-out", k.job());
            let versions = d.list(&format!("{}/data/{name}/versions", tb.failover().arm_id()));
            assert_eq!(versions.len(), 1, "trial k{:02}: data asset {name}: {versions:?}", k.id);
            assert_eq!(puts_of(tb, "data", &name), 1, "trial k{:02}: data asset {name} was registered {} times", k.id, puts_of(tb, "data", &name));
        }
        // verify agrees for the model trials.
        if !k.models().is_empty() {
            let vr = run(command(tb), &["verify", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--kinds", "models", "--name", &format!("{tag}*"), "-o", "json"]);
            vr.expect_code(0);
            assert_eq!(vr.json()["items"].as_array().map(Vec::len).unwrap_or(0), k.models().len(), "trial k{:02}: {}", k.id, vr.stdout);
        }
        println!(
            "trial k{:02} {:<10} {:<14} {} at {:>5} ms: versions stored by the service {stored_at_kill}, target files there after the kill {there_after_kill}; trial took {} ms",
            k.id,
            format!("{:?}", k.which),
            format!("{:?}", k.at),
            if was_killed { "killed" } else { "FINISHED before the kill" },
            at_ms,
            ts.elapsed().as_millis()
        );
    }
    println!("crash test (other commands): {killed} of {} trials killed a running process; wall time {:.1} s", kills.len(), wall.elapsed().as_secs_f64());
    if only.is_none() {
        assert!(killed >= 16, "only {killed} trials killed a running process");
    }
}
