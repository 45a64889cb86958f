//! The fault matrix (issue 12): every storage and control-plane fault kind the emulator offers ×
//! every writing command × server-side / streaming, each case judged by an independent byte-level
//! oracle (`common::oracle`: blobs read straight from Azurite with the bed's key, files through
//! the emulator's Azure Files API), never by the tool's own metadata.
//!
//! The rule asserted for every case: the run either ends with every target byte equal to the
//! source, or fails the item (non-zero exit, the item listed failed); and nothing is ever
//! recorded as verified that is not — no `sha256` metadata on a target file that is not the
//! sha256 of its bytes, no version registered over other bytes, no report status
//! copied/skipped/registered/unchanged for bytes the target does not hold, no `verify` IN SYNC
//! for a target that is not. A version that was verified in the target before the run must still
//! be there afterwards (a transient error must not delete it).
//!
//! One bed (Azurite behind the storage proxy, the Azure Files service behind a second proxy, the
//! emulator) serves every case; each case has its own names (`fmNNN`), state dir and manifest.
//! Storage faults match only the case's own files (`fmNNN-…`); cases run one at a time (every
//! writing command takes the target's lock).
//!
//! Cases that fail today on a known defect are kept in the table with the issue item they wait on
//! (`waits`); they run and are reported (XFAIL), and the test fails only on a violation in a case
//! that waits on nothing. A waiting case that passes is reported XPASS (to re-enable).
//! `FAULT_MATRIX=fm012,fm040` runs only those cases.

#![cfg(unix)]

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::storage_proxy::{StorageFault, StorageProxy};
use aml_emulator::testbed::{FilesBedOptions, TestBedOptions, WorkspaceInfo};
use common::oracle::{compare_tree, Oracle, Place, TreeState};
use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";
/// The target-side lock of every writing command: a lease on this blob of the target's default container.
const LOCK_BLOB: &str = ".aml-failover/lock";
/// Size of the file rewritten mid-read: two ranged reads, at the 4 MiB block of `outputs` and
/// `notebooks`, and at the 1 MiB block `copy` and `failover` are given here.
fn big(cmd: Cmd) -> usize {
    if cmd.has_paths() {
        1024 * 1024 + 256 * 1024
    } else {
        4 * 1024 * 1024 + 256 * 1024
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cmd {
    Copy,
    Failover,
    SnapshotRestore,
    OutputsCopy,
    NotebooksCopy,
    NotebooksRecover,
    Register,
}

impl Cmd {
    fn label(self) -> &'static str {
        match self {
            Cmd::Copy => "copy",
            Cmd::Failover => "failover",
            Cmd::SnapshotRestore => "snapshot restore",
            Cmd::OutputsCopy => "outputs copy",
            Cmd::NotebooksCopy => "notebooks copy",
            Cmd::NotebooksRecover => "notebooks recover",
            Cmd::Register => "model register",
        }
    }
    /// Registers asset versions (a model) in the target.
    fn registers(self) -> bool {
        matches!(self, Cmd::Copy | Cmd::Failover | Cmd::SnapshotRestore | Cmd::Register)
    }
    /// Reads its source from the bed's storage (not from a local folder or bundle).
    fn remote_source(self) -> bool {
        !matches!(self, Cmd::SnapshotRestore | Cmd::Register)
    }
    /// Writes into the file share (notebooks) rather than blobs.
    fn files(self) -> bool {
        matches!(self, Cmd::NotebooksCopy | Cmd::NotebooksRecover)
    }
    /// Takes `--server-side never|auto`.
    fn has_paths(self) -> bool {
        matches!(self, Cmd::Copy | Cmd::Failover)
    }
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A storage fault on the case's own files (blob proxy, or the Files proxy for notebooks).
    Storage(fn(&str) -> StorageFault),
    /// A control-plane fault (matches whole workspaces: run alone).
    Control(fn() -> Fault),
    /// The largest source file is rewritten between two ranged reads (or while its server-side
    /// copy is held).
    Rewrite,
    /// The target already holds the verified copy; every read of it answers 503 (the comparison
    /// cannot be made); copy/failover run with `--on-conflict overwrite`.
    CompareUnavailable,
}

struct FaultSpec {
    name: &'static str,
    kind: Kind,
    /// Issue items this fault's cases wait on, per command (empty: must pass today).
    waits: fn(Cmd, Way) -> Option<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    Never,
    Auto,
    /// The command has no server-side copy.
    NotApplicable,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Never => "never",
            Way::Auto => "auto",
            Way::NotApplicable => "-",
        }
    }
}

fn none(_: Cmd, _: Way) -> Option<&'static str> {
    None
}

/// Seen once (04:35, main 486b1f2, crash test running alongside, not reproduced alone): `snapshot restore`
/// died by a signal (exit -1, lease left) under storage 429/503. Kept visible as XFAIL until explained.
const RESTORE_SIGNAL: &str = "[waits on an explanation: snapshot restore died by a signal under storage throttling (seen once, under load)]";

/// Every fault kind of the matrix. Storage faults name the case's files with `{tag}` (`fmNNN-`).
fn faults() -> Vec<FaultSpec> {
    vec![
        FaultSpec { name: "storage 503 Retry-After 1 (x2)", kind: Kind::Storage(|t| StorageFault::status(503, 1).on_any(t).times(2)), waits: none },
        FaultSpec { name: "storage 429 Retry-After 0 (x2)", kind: Kind::Storage(|t| StorageFault::status(429, 0).on_any(t).times(2)), waits: none },
        FaultSpec { name: "storage 500 InternalError (x1)", kind: Kind::Storage(|t| StorageFault::status(500, 0).on_any(t).times(1)), waits: none },
        FaultSpec { name: "storage drop_connection (x2)", kind: Kind::Storage(|t| StorageFault::drop_connection().on_any(t).times(2)), waits: none },
        FaultSpec { name: "storage truncate_response GET (x1)", kind: Kind::Storage(|t| StorageFault::truncate_response(100).on("GET", t).times(1)), waits: none },
        FaultSpec { name: "storage corrupt_response GET (x1)", kind: Kind::Storage(|t| StorageFault::corrupt_response(10).on("GET", t).times(1)), waits: none },
        FaultSpec { name: "storage corrupt_response GET (always)", kind: Kind::Storage(|t| StorageFault::corrupt_response(10).on("GET", t)), waits: none },
        FaultSpec { name: "storage corrupt_request PUT (x1)", kind: Kind::Storage(|t| StorageFault::corrupt_request(10).on("PUT", t).times(1)), waits: none },
        FaultSpec { name: "storage slow 150 ms (all)", kind: Kind::Storage(|t| StorageFault::slow(150).on_any(t)), waits: none },
        FaultSpec { name: "storage 503 (always)", kind: Kind::Storage(|t| StorageFault::status(503, 0).on_any(t)), waits: none },
        FaultSpec { name: "source rewritten mid-read", kind: Kind::Rewrite, waits: none },
        FaultSpec { name: "target unreadable while comparing (503)", kind: Kind::CompareUnavailable, waits: none },
        FaultSpec { name: "control 429 Retry-After 1 on target (x1)", kind: Kind::Control(|| Fault::throttle(429, 1, 1).in_region("westus")), waits: none },
        FaultSpec { name: "control 503 on source (x2)", kind: Kind::Control(|| Fault::throttle(503, 0, 2).in_region("eastus")), waits: none },
        FaultSpec { name: "control drop_connection on version PUT (x1)", kind: Kind::Control(|| Fault::drop_connection(1).on("PUT", "/versions/")), waits: none },
        FaultSpec { name: "control drop_connection on target GET (x1)", kind: Kind::Control(|| Fault::drop_connection(1).on("GET", "/workspaces/aml-failover").in_region("westus")), waits: none },
        FaultSpec { name: "control slow 100 ms (all)", kind: Kind::Control(|| Fault::slow(100)), waits: none },
        FaultSpec { name: "control region_down source", kind: Kind::Control(|| Fault::region_down("eastus")), waits: none },
        FaultSpec { name: "control region_down target", kind: Kind::Control(|| Fault::region_down("westus")), waits: none },
    ]
}

trait OnAny {
    fn on_any(self, tag: &str) -> StorageFault;
}
impl OnAny for StorageFault {
    /// Every method, on paths containing `tag`.
    fn on_any(mut self, tag: &str) -> StorageFault {
        self.path_contains = Some(tag.to_string());
        self
    }
}

fn applicable(f: &FaultSpec, cmd: Cmd) -> Result<(), &'static str> {
    match f.kind {
        Kind::Rewrite if !cmd.remote_source() => Err("its source is local"),
        // Reads of a local source never reach storage, and the target's echo of each block's
        // MD5 checks the upload: nothing of the case is read with GET.
        Kind::Storage(_) if f.name.contains(" GET ") && !cmd.remote_source() => Err("it reads nothing from storage"),
        Kind::Control(_) if f.name.contains("version PUT") && !cmd.registers() => Err("it registers nothing"),
        _ => Ok(()),
    }
}

struct Case {
    id: usize,
    fault: usize,
    cmd: Cmd,
    path: Way,
}

impl Case {
    /// Names everything of the case: model `fmNNN`, files `fmNNN-a.bin`, job `fmjobNNN`.
    fn tag(&self) -> String {
        format!("fm{:03}", self.id)
    }
    /// The substring storage faults match: only the case's own files.
    fn file_tag(&self) -> String {
        format!("{}-", self.tag())
    }
    fn job(&self) -> String {
        format!("fmjob{:03}", self.id)
    }
}

/// The source content of a case: relative name → bytes.
fn source_files(c: &Case, rewrite: bool) -> Vec<(String, Vec<u8>)> {
    let t = c.file_tag();
    let mut v = vec![(format!("{t}a.bin"), bytes_for(&format!("{t}a"), 24 * 1024)), (format!("{t}b.bin"), bytes_for(&format!("{t}b"), 40 * 1024 + 7))];
    if rewrite {
        v.push((format!("{t}big.bin"), bytes_for(&format!("{t}big"), big(c.cmd))));
    }
    v
}

fn rewritten(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().map(|b| b ^ 0x5a).collect()
}

struct Bed {
    tb: TestBed,
    files_proxy: StorageProxy,
    /// `AML_FAILOVER_FILE_ENDPOINT` through `files_proxy`.
    files_endpoint: String,
    dir: tempfile::TempDir,
}

impl Bed {
    fn cmd(&self, c: &Case) -> std::process::Command {
        let mut cmd = command(&self.tb);
        cmd.env("AML_FAILOVER_FILE_ENDPOINT", &self.files_endpoint);
        cmd.env("AML_FAILOVER_STATE_DIR", self.case_dir(c).join("state"));
        cmd.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &self.tb.primary().storage_key);
        cmd
    }
    fn case_dir(&self, c: &Case) -> PathBuf {
        let d = self.dir.path().join(c.tag());
        std::fs::create_dir_all(&d).unwrap();
        d
    }
    fn p(&self) -> &WorkspaceInfo {
        self.tb.primary()
    }
    fn f(&self) -> &WorkspaceInfo {
        self.tb.failover()
    }
}

/// Writes a file into a share of the bed's Files service directly (as `seed_share` does).
fn write_share_file(tb: &TestBed, account: &str, share: &str, path: &str, bytes: &[u8]) {
    let store = tb.files().unwrap().store();
    let mut dir = String::new();
    for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
        dir = if dir.is_empty() { part.to_string() } else { format!("{dir}/{part}") };
        match store.create_directory(account, share, &dir, Default::default()) {
            Ok(_) => {}
            Err(e) if e.code == "ResourceAlreadyExists" => {}
            Err(e) => panic!("{dir}: {e}"),
        }
    }
    store.create_file(account, share, path, 0, Default::default(), Default::default()).unwrap();
    let target = store.prepare_write(account, share, path).unwrap();
    std::fs::write(&target.blob_path, bytes).unwrap();
    store.touch_file(account, share, path, None, Some(bytes.len() as u64)).unwrap();
}

/// Seeds the source of a case; returns what the command reads (files) for the oracle.
fn seed(bed: &Bed, d: &Direct, c: &Case, files: &[(String, Vec<u8>)]) {
    let (tb, p) = (&bed.tb, bed.p());
    let tag = c.tag();
    let put = |name: &str, bytes: &[u8], i: usize| {
        // The first file with Content-MD5 (single Put Blob), the others in blocks (no Content-MD5).
        if i == 0 {
            d.put_blob(p, name, bytes);
        } else {
            d.put_blob_in_blocks(p, name, bytes, 1024 * 1024);
        }
    };
    match c.cmd {
        Cmd::Copy | Cmd::Failover | Cmd::SnapshotRestore => {
            for (i, (rel, b)) in files.iter().enumerate() {
                put(&format!("fm/{tag}/{rel}"), b, i);
            }
            let arm = p.arm_id();
            assert!(d.put(&format!("{arm}/models/{tag}"), &json!({"properties": {"description": "fault matrix"}})) < 300);
            let v = json!({"properties": {"modelType": "custom_model", "modelUri": format!("{}fm/{tag}/", datastore_base(p))}});
            assert!(d.put(&format!("{arm}/models/{tag}/versions/1"), &v) < 300);
            if c.cmd == Cmd::SnapshotRestore {
                let bundle = bed.case_dir(c).join("bundle");
                let r = run(bed.cmd(c), &["snapshot", "export", "--from", &arm, "--to", bundle.to_str().unwrap(), "--kinds", "models", "--name", &tag, "-o", "json"]);
                r.expect_code(0);
            }
        }
        Cmd::OutputsCopy => {
            let job = c.job();
            seed_job_output(tb, &bed.case_dir(c), &job, files);
            // Uploaded again in blocks: no Content-MD5 on all but the first.
            for (i, (rel, b)) in files.iter().enumerate().skip(1) {
                put(&format!("azureml/{job}/out/{rel}"), b, i);
            }
        }
        Cmd::NotebooksCopy | Cmd::NotebooksRecover => {
            for (rel, b) in files {
                write_share_file(tb, &p.storage_account, WORKING_DIR, &format!("Users/{tag}/{rel}"), b);
            }
        }
        Cmd::Register => {
            let dir = bed.case_dir(c).join("model");
            std::fs::create_dir_all(dir.join("files")).unwrap();
            for (rel, b) in files {
                std::fs::write(dir.join("files").join(rel), b).unwrap();
            }
            std::fs::write(dir.join("model.yml"), format!("name: {tag}\nversion: 1\ntype: custom_model\npath: ./files\n")).unwrap();
        }
    }
}

fn args(bed: &Bed, c: &Case, overwrite: bool) -> Vec<String> {
    let (from, to) = (bed.p().arm_id(), bed.f().arm_id());
    let dir = bed.case_dir(c);
    let s = |p: PathBuf| p.display().to_string();
    let tag = c.tag();
    let mut a: Vec<String> = match c.cmd {
        Cmd::Copy | Cmd::Failover => {
            let mut a: Vec<String> = if c.cmd == Cmd::Copy {
                vec!["copy".into(), "--manifest".into(), s(dir.join("manifest.json"))]
            } else {
                ["failover", "--skip-outputs", "--skip-notebooks", "--accept-data-warnings"].iter().map(|x| x.to_string()).chain(["--out-dir".into(), s(dir.join("out")), "--data-output-dir".into(), s(dir.join("data"))]).collect()
            };
            a.extend(["--from".into(), from, "--to".into(), to, "--kinds".into(), "models".into(), "--name".into(), tag.clone(), "--server-side".into(), c.path.label().into(), "--block-size-mib".into(), "1".into()]);
            if overwrite {
                a.extend(["--on-conflict".into(), "overwrite".into()]);
            }
            a
        }
        Cmd::SnapshotRestore => vec!["snapshot".into(), "restore".into(), s(dir.join("bundle")), "--to".into(), to, "--data-output-dir".into(), s(dir.join("data")), "--accept-data-warnings".into()],
        Cmd::OutputsCopy => vec!["outputs".into(), "copy".into(), "--from".into(), from, "--to".into(), to, "--job".into(), c.job(), "--manifest".into(), s(dir.join("manifest.json"))],
        Cmd::NotebooksCopy => vec!["notebooks".into(), "copy".into(), "--from".into(), from, "--to".into(), to, "--manifest".into(), s(dir.join("manifest.json"))],
        Cmd::NotebooksRecover => vec![
            "notebooks".into(), "recover".into(), "--storage-account".into(), bed.p().storage_account.clone(), "--share".into(), WORKING_DIR.into(),
            "--to".into(), to, "--manifest".into(), s(dir.join("manifest.json")),
        ],
        Cmd::Register => vec!["model".into(), "register".into(), "-f".into(), s(dir.join("model/model.yml")), "--to".into(), to],
    };
    a.extend(["-o".into(), "json".into()]);
    a
}

/// Each place in the target and the contents it may hold (one of several, e.g. before and after
/// a rewrite of the source).
type Allowed = BTreeMap<Place, Vec<Vec<u8>>>;

/// Where the case's files must land in the target, and the bytes each may hold. For asset
/// commands, `None` while no version is registered (nothing claimed there yet).
fn expected(bed: &Bed, d: &Direct, o: &Oracle, c: &Case, files: &[(String, Vec<Vec<u8>>)]) -> (Option<Allowed>, Vec<String>) {
    let f = bed.f();
    let tag = c.tag();
    let mut notes = Vec::new();
    let mut exp = BTreeMap::new();
    match c.cmd {
        Cmd::Copy | Cmd::Failover | Cmd::SnapshotRestore | Cmd::Register => {
            let to = f.arm_id();
            if d.get(&format!("{to}/models/{tag}")).is_none() {
                return (None, notes);
            }
            let versions = d.list(&format!("{to}/models/{tag}/versions"));
            if versions.is_empty() {
                return (None, notes);
            }
            if versions.len() > 1 {
                notes.push(format!("{} versions registered", versions.len()));
            }
            for v in versions {
                let uri = v["properties"]["modelUri"].as_str().unwrap_or_default().to_string();
                let folder = datastore_path(&uri);
                for (rel, accepted) in files {
                    exp.insert(Place::Blob(f.storage_account.clone(), f.default_container(), format!("{folder}/{rel}")), accepted.clone());
                }
            }
            (Some(exp), notes)
        }
        Cmd::OutputsCopy => {
            // failover-outputs/<source>/<job>/outputs/out/<file>, whatever <source> is; every copy found is judged.
            let landed = o.list_blobs(&f.storage_account, &f.default_container(), "failover-outputs/");
            let needle = format!("/{}/outputs/out/", c.job());
            let mut prefixes: Vec<String> = landed.iter().filter_map(|(n, _)| n.find(&needle).map(|i| n[..i + needle.len()].to_string())).collect();
            prefixes.sort();
            prefixes.dedup();
            if prefixes.len() > 1 {
                notes.push(format!("copied under {} prefixes", prefixes.len()));
            }
            if prefixes.is_empty() {
                prefixes.push(format!("failover-outputs/{}{needle}", bed.p().name));
            }
            for pre in prefixes {
                for (rel, accepted) in files {
                    exp.insert(Place::Blob(f.storage_account.clone(), f.default_container(), format!("{pre}{rel}")), accepted.clone());
                }
            }
            (Some(exp), notes)
        }
        Cmd::NotebooksCopy | Cmd::NotebooksRecover => {
            for (rel, accepted) in files {
                exp.insert(Place::File(f.storage_account.clone(), WORKING_DIR.into(), format!("Users/{tag}/{rel}")), accepted.clone());
            }
            (Some(exp), notes)
        }
    }
}

/// Statuses of the report objects that concern the case (their JSON mentions `needle`),
/// innermost first: items and the register document carry `status`.
fn statuses(v: &Value, needle: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for x in m.values() {
                statuses(x, needle, out);
            }
            if let Some(s) = m.get("status").and_then(Value::as_str) {
                if v.to_string().contains(needle) {
                    out.push(s.to_string());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| statuses(x, needle, out)),
        _ => {}
    }
}

/// The report documents of a run: stdout and, for failover, each step's manifest.
fn reports(stdout: &str) -> Vec<Value> {
    let Ok(v) = serde_json::from_str::<Value>(stdout) else { return Vec::new() };
    let mut out = vec![v.clone()];
    if let Some(steps) = v["steps"].as_array() {
        for s in steps {
            if let Some(m) = s["manifest"].as_str() {
                if let Ok(text) = std::fs::read_to_string(m) {
                    out.extend(serde_json::from_str::<Value>(&text).ok());
                }
            }
        }
    }
    out
}

const OK_STATUSES: [&str; 5] = ["copied", "skipped", "registered", "unchanged", "verified"];

struct Outcome {
    code: i32,
    state: String,
    claimed: String,
    violations: Vec<String>,
    exercised: bool,
    ms: u128,
}

/// Runs one case and judges it.
fn run_case(bed: &Bed, c: &Case, f: &FaultSpec) -> Outcome {
    let started = Instant::now();
    let tb = &bed.tb;
    let d = Direct::new(tb);
    let o = Oracle::new(tb);
    let rewrite = matches!(f.kind, Kind::Rewrite);
    let src = source_files(c, rewrite);
    seed(bed, &d, c, &src);
    let overwrite = matches!(f.kind, Kind::CompareUnavailable);
    let args = args(bed, c, overwrite);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let proxy = if c.cmd.files() { &bed.files_proxy } else { tb.storage_proxy().unwrap() };
    let mut accepted: Vec<(String, Vec<Vec<u8>>)> = src.iter().map(|(r, b)| (r.clone(), vec![b.clone()])).collect();
    let mut violations = Vec::new();

    // Before: the target already holds the verified copy (for the comparison fault).
    let mut before = None;
    if overwrite {
        let r = run(bed.cmd(c), &args);
        if r.code != 0 {
            violations.push(format!("the fault-free first run exited {}: {}", r.code, r.stderr.lines().last().unwrap_or_default()));
        }
        let (exp, _) = expected(bed, &d, &o, c, &accepted);
        before = exp.filter(|e| compare_tree(&o, e) == TreeState::Equal);
        if before.is_none() {
            violations.push("the fault-free first run left no verified copy".into());
        }
    }

    let tag = c.file_tag();
    let seen_before = proxy.faults().log().len();
    match f.kind {
        Kind::Storage(mk) => proxy.set_fault(mk(&tag)),
        Kind::Control(mk) => tb.set_fault(mk()),
        Kind::CompareUnavailable => {
            // Every read of the case's files in the target answers 503; the source reads pass.
            let target = format!("/{}/", bed.f().storage_account);
            proxy.set_fault(StorageFault::status(503, 0).on("GET", &target));
            proxy.set_fault(StorageFault::status(503, 0).on("HEAD", &target));
        }
        Kind::Rewrite => {
            let big = format!("{tag}big");
            proxy.set_fault(StorageFault::slow(600).on("GET", &big).after(1).times(1));
            proxy.set_fault(StorageFault::slow(600).on("PUT", &big).times(1));
            let (old, new) = (src[2].1.clone(), rewritten(&src[2].1));
            accepted[2].1 = vec![old, new];
        }
    }

    // The run (with a watcher that rewrites the big source file mid-read).
    let done = AtomicBool::new(false);
    let rewrote = AtomicBool::new(false);
    let r = std::thread::scope(|s| {
        if rewrite {
            s.spawn(|| {
                let big = format!("{tag}big");
                while !done.load(Ordering::SeqCst) {
                    if proxy.arrivals("GET", &big) >= 2 || proxy.arrivals("PUT", &big) >= 1 {
                        std::thread::sleep(Duration::from_millis(100));
                        let new = rewritten(&src[2].1);
                        let (p, rel) = (bed.p(), &src[2].0);
                        match c.cmd {
                            Cmd::NotebooksCopy | Cmd::NotebooksRecover => write_share_file(tb, &p.storage_account, WORKING_DIR, &format!("Users/{}/{rel}", c.tag()), &new),
                            Cmd::OutputsCopy => d.put_blob_in_blocks(p, &format!("azureml/{}/out/{rel}", c.job()), &new, 1024 * 1024),
                            _ => d.put_blob_in_blocks(p, &format!("fm/{}/{rel}", c.tag()), &new, 1024 * 1024),
                        }
                        rewrote.store(true, Ordering::SeqCst);
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
        let r = run(bed.cmd(c), &args);
        done.store(true, Ordering::SeqCst);
        r
    });
    // Clear this case's faults (control-plane cases run alone; storage faults match only this case).
    match f.kind {
        Kind::Control(_) => tb.clear_faults(),
        _ => {
            let mine: Vec<StorageFault> = proxy.faults().list();
            proxy.clear_faults();
            for other in mine.into_iter().filter(|x| !x.path_contains.as_deref().unwrap_or_default().starts_with(&tag) && !matches!(f.kind, Kind::CompareUnavailable)) {
                proxy.set_fault(other);
            }
        }
    }
    let exercised = match f.kind {
        // A slow request is not marked in the log: it counts once the case's files were requested.
        Kind::Storage(_) if f.name.contains("slow") => proxy.faults().log()[seen_before..].iter().any(|x| x.path.contains(&tag)),
        Kind::Storage(_) | Kind::CompareUnavailable => proxy.faults().log()[seen_before..].iter().any(|x| x.fault.is_some() && (x.path.contains(&tag) || matches!(f.kind, Kind::CompareUnavailable))),
        Kind::Rewrite => rewrote.load(Ordering::SeqCst),
        Kind::Control(_) => true,
    };
    assert_no_secrets(tb, &r);

    // The oracle.
    let (exp, notes) = expected(bed, &d, &o, c, &accepted);
    violations.extend(notes.iter().filter(|n| n.contains("prefixes") || n.contains("versions registered")).map(|n| format!("duplicated: {n}")));
    let state = match &exp {
        None => TreeState::Absent,
        Some(e) => compare_tree(&o, e),
    };
    let mut claimed = Vec::new();
    let needle = if c.cmd == Cmd::OutputsCopy { c.job() } else { c.tag() };
    for doc in reports(&r.stdout) {
        statuses(&doc, &needle, &mut claimed);
    }
    claimed.dedup();
    let claims_ok = claimed.iter().any(|s| OK_STATUSES.contains(&s.as_str()));
    // failover with the primary down cannot list the assets: its report says the step was not
    // done (skipped or failed), which fails every item of it.
    let step_failed = reports(&r.stdout).iter().any(|d| {
        d["steps"].as_array().is_some_and(|st| st.iter().any(|x| x["name"] == "assets" && (x["outcome"] == "skipped" || x["outcome"] == "failed")))
    });
    let item_failed = step_failed || claimed.iter().any(|s| s == "failed" || s == "conflict");
    if let TreeState::Wrong(w) = &state {
        violations.push(format!("target holds other bytes than the source{}: {}", if c.cmd.registers() { " in a registered version" } else { "" }, w.join("; ")));
    }
    if state != TreeState::Equal {
        if r.code == 0 {
            violations.push(format!("exit 0 but the target is {state:?}"));
        } else if claims_ok && !item_failed {
            violations.push(format!("the report says {claimed:?} but the target is {state:?}"));
        } else if r.code == 1 && !item_failed {
            violations.push(format!("exit 1 without the item listed failed (report statuses {claimed:?})"));
        }
        if c.cmd.registers() && exp.is_some() {
            violations.push(format!("a version is registered over a target that is {state:?}"));
        }
    }
    if let Some(b) = &before {
        if compare_tree(&o, b) != TreeState::Equal && state != TreeState::Equal {
            violations.push("the copy verified before the run is gone (a transient error deleted it)".into());
        }
    }
    // Nothing recorded as verified that is not: every target file with sha256 metadata.
    let audit = if c.cmd.files() {
        o.audit_share(&bed.f().storage_account, WORKING_DIR, &format!("Users/{}", c.tag()))
    } else {
        o.list_blobs(&bed.f().storage_account, &bed.f().default_container(), "")
            .into_iter()
            .filter(|(n, _)| n.contains(&tag))
            .filter_map(|(n, _)| o.ws_blob(bed.f(), &n))
            .filter_map(|s| s.false_record())
            .collect()
    };
    violations.extend(audit.into_iter().map(|a| format!("false sha256 record: {a}")));
    if r.code == 6 && r.stderr.contains("another aml-failover run is writing to this target") {
        violations.push("the target was locked by an earlier case's run (its lease was left behind)".into());
    }
    // A run that ended (whatever its exit) has let go of the target's lock.
    let (fa, fc) = (bed.f().storage_account.clone(), bed.f().default_container());
    if o.lease_state(&fa, &fc, LOCK_BLOB).is_some_and(|s| s == "leased") {
        let known = match c.cmd {
            Cmd::SnapshotRestore if r.code == -1 => RESTORE_SIGNAL,
            _ => "",
        };
        violations.push(format!("{known}the run ended (exit {}) but left its lease on {LOCK_BLOB}", r.code));
        o.break_lease(&fa, &fc, LOCK_BLOB);
    }

    Outcome {
        code: r.code,
        state: match state {
            TreeState::Equal => "equal".into(),
            TreeState::Absent => "absent".into(),
            TreeState::Partial(m) => format!("partial({})", m.len()),
            TreeState::Wrong(w) => format!("WRONG({})", w.len()),
        },
        claimed: claimed.join(","),
        violations,
        exercised,
        ms: started.elapsed().as_millis(),
    }
}

#[test]
fn every_fault_every_writing_command_ends_equal_or_failed_and_never_falsely_verified() {
    let wall = Instant::now();
    let tb = TestBed::start_with_files(TestBedOptions { page_size: None, seed_primary: None, storage_proxy: true }, FilesBedOptions::default()).expect("test bed starts (run scripts/setup.sh first)");
    let (files_proxy, files_endpoint) = files_proxy(&tb);
    let bed = Bed { tb, files_proxy, files_endpoint, dir: tempfile::tempdir().unwrap() };

    let faults = faults();
    let commands = [Cmd::Copy, Cmd::Failover, Cmd::SnapshotRestore, Cmd::OutputsCopy, Cmd::NotebooksCopy, Cmd::NotebooksRecover, Cmd::Register];
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for (fi, f) in faults.iter().enumerate() {
        for &cmd in &commands {
            let paths: &[Way] = if cmd.has_paths() { &[Way::Never, Way::Auto] } else { &[Way::NotApplicable] };
            for &path in paths {
                match applicable(f, cmd) {
                    Ok(()) => cases.push(Case { id: cases.len(), fault: fi, cmd, path }),
                    Err(why) => skipped.push(format!("{} × {}: not applicable ({why})", f.name, cmd.label())),
                }
            }
        }
    }
    let command_paths = commands.iter().map(|c| if c.has_paths() { 2 } else { 1 }).sum::<usize>();
    eprintln!(
        "fault matrix: {} fault kinds × {} commands ({} command/path combinations: copy and failover × server-side never|auto) = {} combinations, {} not applicable, {} cases",
        faults.len(),
        commands.len(),
        command_paths,
        faults.len() * command_paths,
        skipped.len(),
        cases.len()
    );
    for s in &skipped {
        eprintln!("  {s}");
    }
    let only: Option<Vec<String>> = std::env::var("FAULT_MATRIX").ok().map(|v| v.split(',').map(|x| x.trim().to_string()).collect());
    let selected: Vec<&Case> = cases.iter().filter(|c| only.as_ref().is_none_or(|o| o.contains(&c.tag()))).collect();

    // One at a time: every writing command takes the target's lock, and faults are switched per case.
    eprintln!("\n{:<6} {:<44} {:<18} {:<6} {:>4} {:<12} {:<22} {:>6}  verdict", "case", "fault", "command", "path", "exit", "target", "report", "ms");
    let mut failures = Vec::new();
    let (mut pass, mut xfail, mut xpass) = (0, 0, 0);
    let mut judge = |c: &Case, v: &[String], row: String| {
        let f = &faults[c.fault];
        // Violations that all say which item they wait on make the case wait on it.
        let known = (!v.is_empty() && v.iter().all(|x| x.starts_with("[waits on "))).then(|| v[0][10..].split(']').next().unwrap_or_default());
        let waits = (f.waits)(c.cmd, c.path).or(known);
        let verdict = match (v.is_empty(), waits) {
            (true, None) => {
                pass += 1;
                "ok".to_string()
            }
            (true, Some(w)) => {
                xpass += 1;
                format!("XPASS (waited on {w}: re-enable)")
            }
            (false, Some(w)) => {
                xfail += 1;
                format!("XFAIL (waits on {w}): {}", v.join(" | "))
            }
            (false, None) => {
                failures.push(format!("{} {} × {} [{}]: {}", c.tag(), f.name, c.cmd.label(), c.path.label(), v.join(" | ")));
                format!("FAIL: {}", v.join(" | "))
            }
        };
        eprintln!("{row}  {verdict}");
    };
    let mut results: BTreeMap<usize, Outcome> = BTreeMap::new();
    for c in &selected {
        let f = &faults[c.fault];
        let o = run_case(&bed, c, f);
        let exercised = if o.exercised { "" } else { " (fault not exercised)" };
        let row = format!("{:<6} {:<44} {:<18} {:<6} {:>4} {:<12} {:<22} {:>6}{exercised}", c.tag(), f.name, c.cmd.label(), c.path.label(), o.code, o.state, o.claimed, o.ms);
        judge(c, &o.violations, row);
        results.insert(c.id, o);
    }

    // verify, once for every asset case whose source is the primary: IN SYNC only where the oracle agrees.
    let asset_cases: Vec<&&Case> = selected.iter().filter(|c| matches!(c.cmd, Cmd::Copy | Cmd::Failover | Cmd::SnapshotRestore)).collect();
    if !asset_cases.is_empty() {
        let tb = &bed.tb;
        let r = run(command(tb), &["verify", "--from", &tb.primary().arm_id(), "--to", &tb.failover().arm_id(), "--kinds", "models", "--name", "fm*", "-o", "json"]);
        let v: Value = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
        let mut in_sync = 0;
        for c in asset_cases {
            let item = v["items"].as_array().and_then(|a| a.iter().find(|i| i["name"] == c.tag().as_str()).cloned());
            if item.as_ref().is_some_and(|i| i["state"] == "in-sync") {
                in_sync += 1;
                if results[&c.id].state != "equal" {
                    let f = &faults[c.fault];
                    judge(c, &[format!("verify says in sync but the target is {}", results[&c.id].state)], format!("{:<6} {:<44} {:<18} {:<6} (verify afterwards)", c.tag(), f.name, c.cmd.label(), c.path.label()));
                }
            }
        }
        eprintln!("verify afterwards (exit {}): {in_sync} asset cases in sync, each confirmed byte for byte by the oracle", r.code);
    }

    eprintln!(
        "\nfault matrix: {} cases run: {pass} ok, {xfail} XFAIL (waiting on issue 12 items), {xpass} XPASS, {} FAIL; wall time {:.1} s",
        results.len(),
        failures.len(),
        wall.elapsed().as_secs_f64()
    );
    assert!(failures.is_empty(), "{} cases broke the rule:\n{}", failures.len(), failures.join("\n"));
}
