//! The JSON documents of `-o json`, the manifests and reports written to disk, the snapshot
//! bundle manifest and the copy journal, checked against the schemas in `docs/schemas/` that
//! `docs/json.md` documents. The real binary runs against one test bed (Azurite + the
//! emulator, with the Files service and a notebooks share) for the whole file.

mod common;

use aml_emulator::testbed::{FilesBedOptions, TestBedOptions};
use common::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const WORKING_DIR: &str = "code-391ff5ac-6576-460f-ba4d-7e03433c68b6";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_dir() -> PathBuf {
    root().join("docs/schemas")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every schema file: name (without `.v1.schema.json`) -> document.
fn schema_files() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(schema_dir()).expect("docs/schemas exists") {
        let p = e.unwrap().path();
        let file = p.file_name().unwrap().to_str().unwrap().to_string();
        assert!(file.ends_with(".v1.schema.json"), "{file}: schema files are named <document>.v1.schema.json");
        let text = std::fs::read_to_string(&p).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
        out.insert(file.trim_end_matches(".v1.schema.json").to_string(), v);
    }
    out
}

fn compile(name: &str, schema: &Value) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .unwrap_or_else(|e| panic!("{name}.v1.schema.json does not compile: {e}"))
}

/// The schemas, compiled, and what was checked against each.
struct Checker {
    validators: BTreeMap<String, jsonschema::Validator>,
    used: BTreeMap<String, Vec<String>>,
}

impl Checker {
    fn new() -> Checker {
        let validators = schema_files().iter().map(|(n, v)| (n.clone(), compile(n, v))).collect();
        Checker { validators, used: BTreeMap::new() }
    }

    fn errors(&self, schema: &str, doc: &Value) -> Vec<String> {
        let v = self.validators.get(schema).unwrap_or_else(|| panic!("no schema {schema}.v1.schema.json"));
        v.iter_errors(doc).map(|e| format!("at '{}': {e} (schema {})", e.instance_path(), e.schema_path())).collect()
    }

    /// Panics with every violation when `doc` does not match `schema`.
    fn check(&mut self, schema: &str, what: &str, doc: &Value) {
        let errs = self.errors(schema, doc);
        assert!(
            errs.is_empty(),
            "{what} does not match docs/schemas/{schema}.v1.schema.json:\n  {}\n--- document\n{}",
            errs.join("\n  "),
            serde_json::to_string_pretty(doc).unwrap()
        );
        self.used.entry(schema.to_string()).or_default().push(what.to_string());
    }

    /// Panics when `doc` (a deliberately broken one) is accepted.
    fn rejects(&self, schema: &str, what: &str, doc: &Value) {
        assert!(!self.errors(schema, doc).is_empty(), "{schema}.v1.schema.json accepts a broken document ({what}):\n{doc}");
    }

    /// Checks the stdout of a run.
    fn stdout(&mut self, schema: &str, what: &str, r: &Run) -> Value {
        let v: Value = serde_json::from_str(&r.stdout)
            .unwrap_or_else(|e| panic!("{what}: stdout is not one JSON document ({e}):\n{}\n--- stderr\n{}", r.stdout, r.stderr));
        self.check(schema, what, &v);
        v
    }

    /// Checks a JSON file the tool wrote.
    fn file(&mut self, schema: &str, what: &str, path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{what}: cannot read {}: {e}", path.display()));
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: {} is not JSON: {e}", path.display()));
        self.check(schema, what, &v);
        v
    }
}

#[test]
fn every_schema_parses_has_an_id_and_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/json.md")).expect("docs/json.md exists");
    let files = schema_files();
    assert!(files.len() >= 10, "{files:?}");
    let mut ids = BTreeSet::new();
    for (name, v) in &files {
        assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema", "{name}");
        let id = v["$id"].as_str().unwrap_or_else(|| panic!("{name}.v1.schema.json has no $id"));
        assert!(ids.insert(id.to_string()), "{name}: $id {id} is used twice");
        assert!(v["title"].is_string() && v["description"].is_string(), "{name}: title and description");
        compile(name, v);
        let file = format!("{name}.v1.schema.json");
        assert!(doc.contains(&format!("schemas/{file}")), "docs/json.md does not list {file}");
        // Every command document pins its version.
        if name != "journal-record" {
            assert_eq!(v["properties"]["schemaVersion"], json!({"const": 1, "description": "bumped only on a breaking change (see docs/json.md)"}), "{name}");
            assert!(v["required"].as_array().unwrap().contains(&json!("schemaVersion")), "{name}");
        }
    }
    // docs/json.md names no schema file that does not exist.
    for (i, _) in doc.match_indices("schemas/") {
        let rest = &doc[i + "schemas/".len()..];
        let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.')).unwrap_or(rest.len());
        let file = rest[..end].trim_end_matches('.');
        if file.ends_with(".schema.json") {
            assert!(files.contains_key(file.trim_end_matches(".v1.schema.json")), "docs/json.md names {file}, which is not in docs/schemas");
        }
    }
    // Shapes defined twice (a schema file stands alone) are the same.
    assert_eq!(files["failover-report"]["$defs"]["summary"], files["copy-report"]["$defs"]["summary"], "the copy summary in failover-report");
    assert_eq!(files["workspace-show"]["$defs"]["error"], files["error"]["$defs"]["error"], "the error object in workspace-show");
    assert_eq!(files["failover-report"]["$defs"]["restoreSummary"], files["snapshot-restore"]["$defs"]["restoreSummary"], "the restore summary in failover-report");
}

/// The two-region bed with the primary seeded and its notebooks share filled.
fn bed() -> TestBed {
    let tb = TestBed::start_with_files(
        TestBedOptions { seed_primary: Some(root().join("testdata/seed/primary")), ..Default::default() },
        FilesBedOptions::default(),
    )
    .expect("test bed starts (run scripts/setup.sh first)");
    tb.seed_share(&tb.primary().storage_account, WORKING_DIR, &root().join("testdata/seed/notebooks")).unwrap();
    tb
}

/// The document each failover step names (`manifest`): a copy report, or the snapshot restore's.
fn check_steps(c: &mut Checker, failover: &Value) {
    for step in failover["steps"].as_array().unwrap() {
        if let Some(path) = step["manifest"].as_str() {
            let schema = if path.ends_with("failover-snapshot-restore.json") { "snapshot-restore" } else { "copy-report" };
            c.file(schema, &format!("failover step {} document {path}", step["name"]), Path::new(path));
        }
    }
}

#[test]
fn every_json_document_matches_its_schema() {
    let started = std::time::Instant::now();
    let tb = bed();
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("cwd");
    let state = tmp.path().join("state");
    std::fs::create_dir_all(&work).unwrap();
    let t = |rel: &str| tmp.path().join(rel);
    // Every run: in a scratch folder (default manifests and data YAML land there), journals in `state`.
    let cmd = || -> Command {
        let mut c = command(&tb);
        c.current_dir(&work).env("AML_FAILOVER_STATE_DIR", &state);
        c
    };
    let go = |args: &[&str], code: i32| -> Run {
        let r = run(cmd(), args);
        r.expect_code(code);
        assert_no_secrets(&tb, &r);
        r
    };
    let p = tb.primary().clone();
    let (from, to) = (p.arm_id(), tb.failover().arm_id());
    let mut c = Checker::new();

    // workspace show: both sides.
    let r = go(&["workspace", "show", "--from", &from, "--to", &to, "-o", "json"], 0);
    c.stdout("workspace-show", "workspace show", &r);

    // list of every kind with a list command.
    for kind in ["model", "environment", "component", "data"] {
        let r = go(&[kind, "list", "--from", &from, "-o", "json"], 0);
        let v = c.stdout("asset-list", &format!("{kind} list"), &r);
        assert!(!v["items"].as_array().unwrap().is_empty(), "{kind} list is empty: {v}");
    }

    // copy --dry-run: the plan, nothing written.
    // Exit 1, as the copy would end: the seeded data asset needs re-registration by hand.
    let r = go(&["copy", "--from", &from, "--to", &to, "--dry-run", "-o", "json"], 1);
    let dry = c.stdout("copy-report", "copy --dry-run", &r);
    assert_eq!(dry["dryRun"], true);
    assert!(dry["items"].as_array().unwrap().iter().any(|i| i["status"] == "planned"), "{dry}");
    let r = go(&["plan", "--from", &from, "--to", &to, "-o", "json"], 1);
    let plan = c.stdout("copy-report", "plan", &r);
    assert_eq!(plan["command"], "plan");

    // verify before any copy: drifted (exit 7), also written with --manifest.
    let vm = t("verify-before.json");
    let r = go(&["verify", "--from", &from, "--to", &to, "--manifest", s(&vm), "-o", "json"], 7);
    let drifted = c.stdout("verify", "verify (drifted)", &r);
    assert_eq!(drifted["inSync"], false);
    c.file("verify", "verify --manifest file", &vm);

    // model / environment download and register (into the failover workspace).
    let dl = t("dl");
    let r = go(&["model", "download", "--from", &from, "--name", "local-mlflow-example", "--download-path", s(&dl), "-o", "json"], 0);
    c.stdout("asset-download", "model download", &r);
    let r = go(&["environment", "download", "--from", &from, "--name", "docker-image-plus-conda-example", "--download-path", s(&dl), "-o", "json"], 0);
    c.stdout("asset-download", "environment download", &r);
    let r = go(&["model", "register", "-f", s(&dl.join("local-mlflow-example/model.yml")), "--to", &to, "-o", "json"], 0);
    let reg = c.stdout("asset-register", "model register", &r);
    assert_eq!(reg["status"], "registered");
    let r = go(&["model", "register", "-f", s(&dl.join("local-mlflow-example/model.yml")), "--to", &to, "-o", "json"], 0);
    assert_eq!(c.stdout("asset-register", "model register (again)", &r)["status"], "unchanged");
    let r = go(&["environment", "register", "-f", s(&dl.join("docker-image-plus-conda-example/environment.yml")), "--to", &to, "-o", "json"], 0);
    c.stdout("asset-register", "environment register", &r);

    // component and data download / register.
    let r = go(&["component", "download", "-n", "train_data_component_cli", "--from", &from, "-p", s(&dl), "-o", "json"], 0);
    c.stdout("component-download", "component download", &r);
    let cyml = dl.join("train_data_component_cli/component.yml");
    let r = go(&["component", "register", "-f", s(&cyml), "--to", &to, "-o", "json"], 0);
    c.stdout("component-register", "component register", &r);
    let r = go(&["data", "download", "-n", "local-file-example-titanic", "--from", &from, "-p", s(&dl), "-o", "json"], 0);
    c.stdout("data-download", "data download", &r);
    let r = go(&["data", "register", "-f", s(&dl.join("local-file-example-titanic/data.yml")), "--to", &to, "-o", "json"], 0);
    c.stdout("data-register", "data register", &r);

    // pipeline create (a definition, and a submitted job), then pipeline get of the job.
    let pyml = dl.join("train_data_component_cli/pipeline.yml");
    std::fs::write(
        &pyml,
        "$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json\ntype: pipeline\nexperiment_name: schema-check\n\
         compute: azureml:cpu-cluster\njobs:\n  train:\n    type: command\n    component: ./component.yml\n",
    )
    .unwrap();
    let r = go(&["pipeline", "create", "-f", s(&pyml), "--to", &to, "--name", "schema-def", "-o", "json"], 0);
    assert_eq!(c.stdout("pipeline-create", "pipeline create", &r)["definition"], "schema_def");
    let r = go(&["pipeline", "create", "-f", s(&pyml), "--to", &to, "--name", "schema-job", "--submit", "-o", "json"], 0);
    assert_eq!(c.stdout("pipeline-create", "pipeline create --submit", &r)["status"], "submitted");
    let r = go(&["pipeline", "get", "--from", &to, "--name", "schema-job", "-p", s(&t("pget")), "-o", "json"], 0);
    c.stdout("pipeline-get", "pipeline get", &r);

    // copy: stdout, the manifest file, and every line of the journal. The component registered
    // above from its downloaded YAML (code re-uploaded as code-<fingerprint>) is a conflict: exit 1.
    let m = t("copy-manifest.json");
    let r = go(&["copy", "--from", &from, "--to", &to, "--accept-data-warnings", "--data-output-dir", s(&t("data-yaml")), "--manifest", s(&m), "-o", "json"], 1);
    let copied = c.stdout("copy-report", "copy", &r);
    assert!(copied["summary"]["copied"].as_u64().unwrap() > 0, "{copied}");
    assert!(copied["summary"]["conflict"].as_u64().unwrap() > 0, "{copied}");
    assert_eq!(c.file("copy-report", "copy manifest", &m)["manifest"], s(&m));
    let mut journals = 0;
    for dir in std::fs::read_dir(&state).expect("copy keeps its journal in the state dir") {
        for f in std::fs::read_dir(dir.unwrap().path()).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "jsonl") {
                journals += 1;
                for (n, line) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
                    let rec: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: {e}", f.display(), n + 1));
                    c.check("journal-record", &format!("{}:{}", f.file_name().unwrap().to_string_lossy(), n + 1), &rec);
                }
            }
        }
    }
    assert!(journals > 0, "no journal under {}", state.display());

    // readiness after the copy (ready or not, the document has the same shape).
    let r = run(cmd(), &["readiness", "--from", &from, "--to", &to, "-o", "json"]);
    assert!(matches!(r.code, 0 | 1 | 7), "readiness: exit {}\n{}", r.code, r.stderr);
    c.stdout("readiness", "readiness", &r);

    // verify after the copy (in sync or not: the document has the same shape).
    let r = run(cmd(), &["verify", "--from", &from, "--to", &to, "-o", "json"]);
    assert!(matches!(r.code, 0 | 7), "verify after copy: exit {}\n{}", r.code, r.stderr);
    c.stdout("verify", "verify (after copy)", &r);

    // failover: stdout, failover-report.json, and the documents of its steps.
    let out = t("failover");
    let r = go(&["failover", "--from", &from, "--to", &to, "--out-dir", s(&out), "--data-output-dir", s(&t("data-yaml")), "--accept-data-warnings", "-o", "json"], 1);
    let fo = c.stdout("failover-report", "failover", &r);
    assert_eq!(fo["exitCode"], 1, "the component conflict makes the assets step partial");
    c.file("failover-report", "failover-report.json", &out.join("failover-report.json"));
    check_steps(&mut c, &fo);
    for f in ["failover-copy.json", "failover-outputs.json", "failover-notebooks.json"] {
        assert!(out.join(f).exists(), "{f}");
    }

    // outputs list and copy (to a folder; --dry-run prints a plan and writes no manifest).
    let r = go(&["outputs", "list", "--from", &from, "-o", "json"], 0);
    c.stdout("outputs-list", "outputs list", &r);
    let om = t("outputs-manifest.json");
    let r = go(&["outputs", "copy", "--from", &from, "--to-dir", s(&t("outputs")), "--manifest", s(&om), "-o", "json"], 0);
    assert!(c.stdout("copy-report", "outputs copy", &r)["access"].is_string());
    c.file("copy-report", "outputs copy manifest", &om);
    let r = go(&["outputs", "copy", "--from", &from, "--to-dir", s(&t("outputs2")), "--dry-run", "-o", "json"], 0);
    c.stdout("copy-report", "outputs copy --dry-run", &r);

    // notebooks list, copy and recover (storage only, with the account key from the environment).
    let nb = |args: &[&str], code: i32| {
        let mut k = cmd();
        k.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
        let r = run(k, args);
        r.expect_code(code);
        assert_no_secrets(&tb, &r);
        r
    };
    let r = nb(&["notebooks", "list", "--storage-account", &p.storage_account, "-o", "json"], 0);
    c.stdout("notebooks-list", "notebooks list", &r);
    let r = nb(&["notebooks", "recover", "--storage-account", &p.storage_account, "-o", "json"], 2);
    c.stdout("notebooks-list", "notebooks recover without a share (candidates)", &r);
    let nm = t("notebooks-manifest.json");
    let r = go(&["notebooks", "copy", "--from", &from, "--to-dir", s(&t("nb-copy")), "--manifest", s(&nm), "-o", "json"], 0);
    c.stdout("copy-report", "notebooks copy", &r);
    c.file("copy-report", "notebooks copy manifest", &nm);
    let rm = t("recover-manifest.json");
    let r = nb(&["notebooks", "recover", "--storage-account", &p.storage_account, "--share", WORKING_DIR, "--to-dir", s(&t("nb-recover")), "--manifest", s(&rm), "-o", "json"], 0);
    c.stdout("copy-report", "notebooks recover", &r);
    c.file("copy-report", "notebooks recover manifest", &rm);

    // snapshot export (twice), list, the bundle manifests, restore, prune --dry-run.
    let bundle = t("bundle");
    let mut ids = Vec::new();
    for n in 1..=2 {
        let r = go(&["snapshot", "export", "--from", &from, "--to", s(&bundle), "-o", "json"], 0);
        let v = c.stdout("snapshot-export", &format!("snapshot export #{n}"), &r);
        ids.push(v["snapshot"].as_str().expect("a snapshot id").to_string());
    }
    let r = go(&["snapshot", "list", s(&bundle), "-o", "json"], 0);
    assert_eq!(c.stdout("snapshot-list", "snapshot list", &r)["snapshots"].as_array().unwrap().len(), 2);
    for id in &ids {
        c.file("bundle-manifest", &format!("bundle manifest {id}"), &bundle.join("snapshots").join(id).join("manifest.json"));
    }
    // Exit 1: the component registered earlier from its downloaded YAML conflicts with the
    // snapshot's (a conflict is reported, never overwritten).
    let r = go(&["snapshot", "restore", s(&bundle), "--to", &to, "--data-output-dir", s(&t("restore-data")), "-o", "json"], 1);
    let restored = c.stdout("snapshot-restore", "snapshot restore", &r);
    assert_eq!(restored["summary"]["conflicts"], 1, "{restored}");
    let r = go(&["verify", s(&bundle), "-o", "json"], 0);
    assert!(c.stdout("verify", "verify BUNDLE", &r)["snapshot"].is_object());
    let r = run(cmd(), &["verify", s(&bundle), "--to", &to, "-o", "json"]);
    assert!(matches!(r.code, 0 | 7), "verify BUNDLE --to: exit {}\n{}", r.code, r.stderr);
    c.stdout("verify", "verify BUNDLE --to", &r);
    let r = go(&["snapshot", "prune", s(&bundle), "--keep", "1", "--dry-run", "-o", "json"], 0);
    assert_eq!(c.stdout("snapshot-prune", "snapshot prune --dry-run", &r)["deletedSnapshots"], json!([ids[0]]));

    // errors: not found (4) and bad input (2), as the error document.
    let r = go(&["model", "download", "--from", &from, "--name", "no-such-model", "--download-path", s(&dl), "-o", "json"], 4);
    assert_eq!(c.stdout("error", "error: not found", &r)["error"]["kind"], "not_found");
    let r = go(&["copy", "--from", &from, "--to", &from, "-o", "json"], 2);
    assert_eq!(c.stdout("error", "error: bad input", &r)["error"]["exitCode"], 2);

    // The primary region down: failover restores the snapshot (its step document is the
    // restore's), and a command that needs the primary ends with an "unavailable" error document.
    tb.set_fault(aml_emulator::faults::Fault::region_down("eastus"));
    let out = t("failover-down");
    let r = nb(&["failover", "--from", &from, "--to", &to, "--snapshot", s(&bundle), "--storage-account", &p.storage_account, "--max-retries", "0",
        "--out-dir", s(&out), "-o", "json"], 1);
    let down = c.stdout("failover-report", "failover --snapshot (primary down)", &r);
    assert_eq!(down["sourceReachable"], false);
    assert!(down["steps"][0]["snapshot"].is_object(), "{down}");
    c.file("failover-report", "failover-report.json (primary down)", &out.join("failover-report.json"));
    check_steps(&mut c, &down);
    let r = go(&["model", "list", "--from", &from, "--max-retries", "0", "-o", "json"], 5);
    assert_eq!(c.stdout("error", "error: unavailable", &r)["error"]["kind"], "unavailable");

    // Every schema was exercised by a real document.
    let unused: Vec<&String> = c.validators.keys().filter(|k| !c.used.contains_key(*k)).collect();
    assert!(unused.is_empty(), "schemas no real document was checked against: {unused:?}");

    // The schemas can fail: broken versions of real documents are rejected.
    let mut broken = copied.clone();
    broken.as_object_mut().unwrap().remove("summary");
    c.rejects("copy-report", "copy report without summary", &broken);
    let mut broken = copied.clone();
    broken["items"][0]["status"] = json!("done");
    c.rejects("copy-report", "an unknown item status", &broken);
    let mut broken = copied.clone();
    broken["items"][0]["kind"] = json!("notebook");
    c.rejects("copy-report", "a notebook item in a copy report", &broken);
    let mut broken = copied.clone();
    broken["summary"]["copied"] = json!(-1);
    c.rejects("copy-report", "a negative counter", &broken);
    let mut broken = copied.clone();
    broken["surprise"] = json!(true);
    c.rejects("copy-report", "an undocumented top-level field", &broken);
    let mut broken = copied.clone();
    broken["schemaVersion"] = json!(2);
    c.rejects("copy-report", "another schemaVersion", &broken);
    let mut broken = fo.clone();
    broken["steps"][0]["outcome"] = json!("ok");
    c.rejects("failover-report", "an unknown step outcome", &broken);
    let mut broken = fo.clone();
    broken.as_object_mut().unwrap().remove("exitCode");
    c.rejects("failover-report", "no exitCode", &broken);
    c.rejects("error", "kind and exit code that do not go together", &json!({"schemaVersion": 1, "error": {"kind": "not_found", "exitCode": 2, "message": "x"}}));
    let mut broken = drifted.clone();
    broken["summary"]["missing"] = json!("3");
    c.rejects("verify", "a string counter", &broken);
    // The constraints the generated schemas keep from the hand-written ones.
    let mut broken = down.clone();
    broken["steps"][0]["snapshot"]["id"] = json!("latest");
    c.rejects("failover-report", "a restored snapshot id that is not one", &broken);
    let mut broken = restored.clone();
    broken["items"][0]["status"] = json!("done");
    c.rejects("snapshot-restore", "an unknown restore status", &broken);
    let mut broken = restored.clone();
    broken["items"][0]["kind"] = json!("job");
    c.rejects("snapshot-restore", "a kind a restore never registers", &broken);
    let mut broken = reg.clone();
    broken["surprise"] = json!(true);
    c.rejects("asset-register", "an undocumented field in a strict document", &broken);
    let mut broken = reg.clone();
    broken["files"] = json!([{"path": "x", "size": 1, "sourceUri": "s", "targetUri": "t", "sha256": "ABC"}]);
    c.rejects("asset-register", "a sha256 that is not lowercase hex", &broken);

    let checked: usize = c.used.values().map(Vec::len).sum();
    eprintln!("json_schema: {checked} documents checked against {} schemas in {:.1} s", c.used.len(), started.elapsed().as_secs_f64());
}
