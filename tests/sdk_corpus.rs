//! Microsoft's azure-ai-ml as the judge of every model, environment, data, component and job YAML
//! of ../shared/testdata/azureml-examples (issue 11): each file goes through
//!
//!   tool register (`<kind> register`, jobs `pipeline create`) → SDK `ml.<kind>.get` of every
//!   version it registered → tool download (`<kind> download`; a job's definition with
//!   `component download`) → SDK `load_<kind>` of the YAML the tool wrote → tool `copy` of the
//!   whole primary to the failover workspace → SDK `get` there → tool `verify` in sync.
//!
//! The outcome of each file is its first failing stage (`ok` when none failed; `refused` when the
//! tool refused the file with exit 2). The expected outcome per file is the committed table
//! tests/sdk_corpus_expected.tsv (file, outcome, reason): a refusal belongs there only where
//! `az ml` refuses too, a failure names the issue-11 item it waits on. The test fails when any
//! file's outcome differs from the table, so each fix flips a row (then update the table: run with
//! `SDK_CORPUS_BLESS=1`, which keeps the reasons of unchanged rows, and review the diff). The run's
//! table is always written to `$CARGO_TARGET_TMPDIR/sdk_corpus_actual.tsv`.
//!
//! Which files: YAML whose `$schema` names model, environment, data, a component or a job
//! (`*Job.schema.json`); deployments, endpoints, datastores, workspaces, compute, MLTable and
//! conda files are not definitions the tool registers. One test bed, one SDK process
//! (emulator/tests/sdk/sdk_oracle.py serve) for every read-back and load.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

const TABLE: &str = "tests/sdk_corpus_expected.tsv";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The kind of definition a YAML is, by its `$schema`.
fn kind_of(doc: &Value) -> Option<&'static str> {
    let s = doc.get("$schema")?.as_str()?.to_ascii_lowercase();
    let file = s.rsplit('/').next()?;
    Some(match file {
        "model.schema.json" => "model",
        "environment.schema.json" => "environment",
        "data.schema.json" => "data",
        f if f.ends_with("component.schema.json") => "component",
        f if f.ends_with("job.schema.json") => "job",
        _ => return None,
    })
}

/// The SDK process: one JSON request per line in, one answer per line out.
struct Oracle {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr_path: PathBuf,
}

impl Oracle {
    fn start(tb: &TestBed, dir: &Path) -> Oracle {
        let python = repo().join(".venv-sdk/bin/python");
        assert!(python.is_file(), "{} is missing: run scripts/setup.sh (it installs the pinned azure-ai-ml into .venv-sdk)", python.display());
        let stderr_path = dir.join("oracle.stderr");
        let mut child = Command::new(python)
            .arg(repo().join("emulator/tests/sdk/sdk_oracle.py"))
            .arg("serve")
            .envs(tb.env())
            .env_remove("AZURE_CLIENT_ID")
            .env_remove("AZURE_TENANT_ID")
            .env_remove("AZURE_CLIENT_SECRET")
            .env_remove("AZUREML_CURRENT_CLOUD")
            .env_remove("CURL_CA_BUNDLE")
            .env_remove("SSL_CERT_FILE")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("start sdk_oracle.py");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Oracle { child, stdin, stdout, stderr_path }
    }

    /// One answer per request item: `None` when the SDK accepted it, else its error.
    fn ask(&mut self, req: Value, n: usize) -> Vec<Option<String>> {
        if n == 0 {
            return Vec::new();
        }
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let answer: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!("sdk_oracle.py answered {line:?} ({e}); stderr:\n{}", std::fs::read_to_string(&self.stderr_path).unwrap_or_default())
        });
        let results = answer["results"].as_array().unwrap_or_else(|| panic!("sdk_oracle.py: {answer}"));
        assert_eq!(results.len(), n, "{answer}");
        results.iter().map(|r| (!r["ok"].as_bool().unwrap_or(false)).then(|| r["error"].as_str().unwrap_or("").to_string())).collect()
    }

    fn get(&mut self, workspace: &str, items: &[Item]) -> Vec<Option<String>> {
        self.ask(json!({"op": "get", "workspace": workspace, "items": items}), items.len())
    }

    fn load(&mut self, kind: &str, file: &Path) -> Option<String> {
        self.ask(json!({"op": "load", "files": [[kind, file]]}), 1).remove(0)
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// (kind, name, version) of a registered version.
type Item = (String, String, String);

struct Row {
    file: String,
    kind: &'static str,
    outcome: String,
    reason: String,
    /// What the file registered in the primary (the main version last).
    items: Vec<Item>,
}

impl Row {
    fn fail(&mut self, stage: &str, why: &str) {
        if self.outcome == "ok" {
            self.outcome = format!("fail:{stage}");
            self.reason = one_line(why);
        }
    }
}

/// A message on one line, without the machine's paths (the corpus root), at most ~300 chars.
fn one_line(s: &str) -> String {
    let s = s.trim().strip_prefix("error: ").unwrap_or(s.trim());
    let mut flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    for root in [azureml_examples().display().to_string(), azureml_examples().canonicalize().unwrap().display().to_string()] {
        flat = flat.replace(&format!("{root}/"), "");
    }
    // Long SDK errors put the data first and the message last: keep both ends.
    let chars: Vec<char> = flat.chars().collect();
    if chars.len() <= 300 {
        return flat;
    }
    format!("{} … {}", chars[..60].iter().collect::<String>(), chars[chars.len() - 240..].iter().collect::<String>())
}

/// Registers `file` into the primary: what it registered, or the refusal/failure.
fn register(tb: &TestBed, d: &Direct, row: &mut Row, file: &Path, p: &str, i: usize) {
    let f = file.to_str().unwrap();
    let r = if row.kind == "job" {
        run(command(tb), &["pipeline", "create", "-f", f, "--to", p, "--name", &format!("corpus-job-{i}"), "-o", "json"])
    } else {
        run(command(tb), &[row.kind, "register", "-f", f, "--to", p, "-o", "json"])
    };
    match r.code {
        0 => {}
        2 => {
            row.outcome = "refused".into();
            row.reason = one_line(&r.stderr);
            return;
        }
        c => return row.fail("register", &format!("exit {c}: {}", r.stderr)),
    }
    let j = r.json();
    if row.kind == "job" {
        for reg in j["registered"].as_array().into_iter().flatten() {
            if let Some((n, v)) = reg.as_str().and_then(|s| s.strip_prefix("component ")).and_then(|s| s.rsplit_once(':')) {
                row.items.push(("component".into(), n.into(), v.into()));
            }
        }
        match j["definition"].as_str() {
            Some(def) => {
                row.items.push(("component".into(), def.into(), "1".into()));
                // A job must not become an empty definition (issue 11 item 1).
                let spec = d.get(&format!("{p}/components/{def}/versions/1")).map(|v| v["properties"]["componentSpec"].clone()).unwrap_or_default();
                if spec["type"] == "pipeline" && spec["jobs"].as_object().is_none_or(|m| m.is_empty()) {
                    row.fail("register", &format!("{def}:1 is an empty pipeline definition (jobs: {{}})"));
                }
            }
            None => row.fail("register", &format!("no definition in {j}")),
        }
    } else {
        row.items.push((row.kind.into(), j["name"].as_str().unwrap().into(), j["version"].as_str().unwrap().into()));
    }
}

/// Downloads the file's main version and returns the YAML the tool wrote.
fn download(tb: &TestBed, row: &mut Row, p: &str, dir: &Path) -> Option<(String, PathBuf)> {
    let (kind, name, version) = row.items.last()?.clone();
    let out = dir.join(format!("dl-{}", row.file.replace('/', "_")));
    let r = run(command(tb), &[&kind, "download", "-n", &name, "--version", &version, "--from", p, "-p", out.to_str().unwrap()]);
    if r.code != 0 {
        row.fail("download", &format!("exit {}: {}", r.code, r.stderr));
        return None;
    }
    let yaml = out.join(&name).join(format!("{kind}.yml"));
    if !yaml.is_file() {
        row.fail("download", &format!("{} not written", yaml.display()));
        return None;
    }
    Some((kind, yaml))
}

fn read_table(path: &Path) -> BTreeMap<String, (String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty() && !l.starts_with("file\t"))
        .map(|l| {
            let mut c = l.splitn(3, '\t');
            let (f, o, r) = (c.next().unwrap_or(""), c.next().unwrap_or(""), c.next().unwrap_or(""));
            (f.to_string(), (o.to_string(), r.to_string()))
        })
        .collect()
}

/// How a table reason starts when `az ml` refuses the file too; any other refusal is a failure
/// that waits on a fix (its reason starts with `waits on`, naming the issue-11 item or what else).
const AZ_ML_REFUSES: &str = "az ml refuses too:";

const TABLE_HEADER: &str = "\
# Expected outcome of each azureml-examples YAML in tests/sdk_corpus.rs (see its docs).
# outcome: ok | refused (exit 2) | fail:<stage> (register, sdk-get, download, sdk-load, copy,
#          sdk-get-failover, verify). reason of a refusal: \"az ml refuses too: <why>\" or
#          \"waits on <issue 11 item N, or what else>: <what>\"; of a failure: \"waits on ...: <what>\".
file\toutcome\treason
";

#[test]
fn every_corpus_definition_registers_reads_back_in_the_sdk_copies_and_verifies() {
    let root = azureml_examples();
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    let mut rows: Vec<Row> = files
        .iter()
        .filter_map(|f| {
            let doc: Value = serde_norway::from_str(&std::fs::read_to_string(f).ok()?).ok()?;
            let kind = kind_of(&doc)?;
            let file = f.strip_prefix(&root).unwrap().display().to_string();
            Some(Row { file, kind, outcome: "ok".into(), reason: String::new(), items: Vec::new() })
        })
        .collect();
    assert!(rows.len() >= 60, "only {} definitions found under {}", rows.len(), root.display());
    // Assets before jobs, as the examples are run (their READMEs register the components a
    // pipeline names as `azureml:<name>@latest` first); the order is otherwise the files'.
    // The table keeps the files' order.
    let file_order: Vec<String> = rows.iter().map(|r| r.file.clone()).collect();
    rows.sort_by_key(|r| r.kind == "job");

    let tb = testbed(None, false);
    let (p, f) = (tb.primary().arm_id(), tb.failover().arm_id());
    let dir = tempfile::tempdir().unwrap();
    let mut sdk = Oracle::start(&tb, dir.path());
    let d = Direct::new(&tb);
    // What the examples' `azureml://datastores/workspaceblobstore/paths/example-data/...` paths
    // name: the azureml-examples setup uploads cli/assets/data/sample-data and local-mltable there.
    let data = root.join("cli/assets/data");
    for (blob, local) in [
        ("example-data/titanic.csv", "sample-data/titanic.csv"),
        ("example-data/mltable-sample/MLTable", "local-mltable/MLTable"),
        ("example-data/mltable-sample/titanic.csv", "local-mltable/titanic.csv"),
    ] {
        d.put_blob(tb.primary(), blob, &std::fs::read(data.join(local)).unwrap());
    }

    // register → SDK read-back → download → SDK load, file by file.
    for (i, row) in rows.iter_mut().enumerate() {
        let file = root.join(&row.file);
        register(&tb, &d, row, &file, &p, i);
        if row.outcome != "ok" {
            continue;
        }
        if let Some((item, Some(e))) = row.items.clone().iter().zip(sdk.get(&tb.primary().name, &row.items)).find(|(_, e)| e.is_some()) {
            row.fail("sdk-get", &format!("{}:{}: {e}", item.1, item.2));
            continue;
        }
        let Some((kind, yaml)) = download(&tb, row, &p, dir.path()) else { continue };
        if let Some(e) = sdk.load(&kind, &yaml) {
            row.fail("sdk-load", &e);
        }
    }

    // copy → SDK read-back in the failover workspace → verify, once for the whole primary.
    // copy writes its manifest and the data YAML to re-register into the working directory.
    let in_dir = || {
        let mut c = command(&tb);
        c.current_dir(dir.path());
        c
    };
    let copied = run(in_dir(), &["copy", "--from", &p, "--to", &f, "--copy-data", "-o", "json"]);
    assert!(matches!(copied.code, 0 | 1), "copy: exit {}\n{}\n{}", copied.code, copied.stdout, copied.stderr);
    let copy_items = copied.json()["items"].as_array().cloned().unwrap_or_default();
    let verified = run(in_dir(), &["verify", "--from", &p, "--to", &f, "-o", "json"]);
    assert!(matches!(verified.code, 0 | 7), "verify: exit {}\n{}\n{}", verified.code, verified.stdout, verified.stderr);
    let verify_items = verified.json()["items"].as_array().cloned().unwrap_or_default();
    let find = |list: &[Value], (k, n, v): &Item| -> Option<Value> {
        list.iter()
            .find(|x| x["name"] == n.as_str() && x["version"] == v.as_str() && (x["kind"] == k.as_str() || (k == "component" && x["kind"] == "job")))
            .cloned()
    };
    for row in rows.iter_mut().filter(|r| r.outcome == "ok") {
        for item in row.items.clone() {
            match find(&copy_items, &item) {
                Some(c) if matches!(c["status"].as_str(), Some("copied" | "skipped")) => {}
                Some(c) => row.fail("copy", &format!("{}:{} {}: {}", item.1, item.2, c["status"], c["reason"].as_str().unwrap_or(""))),
                None => row.fail("copy", &format!("{}:{} not in the copy report", item.1, item.2)),
            }
        }
        if row.outcome != "ok" {
            continue;
        }
        if let Some((item, Some(e))) = row.items.clone().iter().zip(sdk.get(&tb.failover().name, &row.items)).find(|(_, e)| e.is_some()) {
            row.fail("sdk-get-failover", &format!("{}:{}: {e}", item.1, item.2));
            continue;
        }
        for item in row.items.clone() {
            match find(&verify_items, &item) {
                Some(v) if v["state"] == "in-sync" => {}
                Some(v) => row.fail("verify", &format!("{}:{} {}: {}", item.1, item.2, v["state"], v["reasons"])),
                None => row.fail("verify", &format!("{}:{} not in the verify report", item.1, item.2)),
            }
        }
    }
    drop(sdk);

    // Compare with the committed table.
    rows.sort_by_key(|r| file_order.iter().position(|f| *f == r.file));
    let table_path = repo().join(TABLE);
    let expected = read_table(&table_path);
    let mut actual_text = String::from(TABLE_HEADER);
    let mut bless_text = String::from(TABLE_HEADER);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut diffs = Vec::new();
    for row in &rows {
        let reason = expected.get(&row.file).map(|(_, r)| r.as_str()).unwrap_or("");
        let class = match row.outcome.as_str() {
            "ok" => "registered and read back",
            "refused" if reason.starts_with(AZ_ML_REFUSES) => "refused as az ml would",
            _ => "still failing",
        };
        *counts.entry(class.to_string()).or_default() += 1;
        actual_text.push_str(&format!("{}\t{}\t{}\n", row.file, row.outcome, row.reason));
        let reason = match expected.get(&row.file) {
            Some((o, r)) if *o == row.outcome && !r.is_empty() => r.clone(),
            _ => row.reason.clone(),
        };
        bless_text.push_str(&format!("{}\t{}\t{}\n", row.file, row.outcome, reason));
        match expected.get(&row.file) {
            Some((o, _)) if *o == row.outcome => {}
            Some((o, _)) => diffs.push(format!("{}: expected {o}, got {} ({})", row.file, row.outcome, row.reason)),
            None => diffs.push(format!("{}: not in the table, got {} ({})", row.file, row.outcome, row.reason)),
        }
    }
    for f in expected.keys().filter(|f| !rows.iter().any(|r| &r.file == *f)) {
        diffs.push(format!("{f}: in the table but not a definition of the corpus"));
    }
    for (file, (outcome, reason)) in &expected {
        let explained = reason.starts_with("waits on ") || (outcome == "refused" && reason.starts_with(AZ_ML_REFUSES));
        if outcome != "ok" && !explained {
            diffs.push(format!("{file}: {outcome} needs a reason starting \"{AZ_ML_REFUSES}\" (refusals) or \"waits on \" (what fix)"));
        }
    }
    let actual_path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sdk_corpus_actual.tsv");
    std::fs::write(&actual_path, &actual_text).unwrap();
    if std::env::var_os("SDK_CORPUS_BLESS").is_some() {
        std::fs::write(&table_path, &bless_text).unwrap();
    }
    eprintln!("sdk corpus: {} files: {counts:?}\n(this run's table: {})", rows.len(), actual_path.display());
    assert!(
        diffs.is_empty(),
        "{} file(s) differ from {TABLE} (if a fix flipped them, update the table: SDK_CORPUS_BLESS=1, then review):\n  {}",
        diffs.len(),
        diffs.join("\n  ")
    );
}
