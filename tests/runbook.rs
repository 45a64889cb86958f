//! Runs every command of `docs/runbook.md` against the test bed, in the runbook's order.
//!
//! Conventions the runbook follows (and this test enforces):
//!
//! - Every ```` ```sh ```` block is run, line by line, each line through `bash -c` (with
//!   `set -euo pipefail`, so an undefined variable or a failing stage of a pipe fails it).
//!   Comment lines and blank lines are skipped; a line ending in `\` is joined with the next.
//! - A command's expected exit code is a trailing `# exit N` comment on its (last) line;
//!   without one it must exit 0. Any other code fails the test with the command's output.
//! - HTML comments `<!-- runbook-test: ... -->` change the bed between blocks or say how to
//!   treat the next block:
//!   - `region-down <region>`: the emulator's control plane stops answering for workspaces in
//!     that region (504), as in an outage; storage (Azurite) keeps answering;
//!   - `region-up`: clears every fault;
//!   - `delete-workspace primary`: deletes the primary workspace (its storage account stays);
//!   - `variables`: the next block only defines the runbook's variables (`NAME=value`); it is
//!     not run, its names must be exactly the ones this test binds;
//!   - `not-run`: the next block is not run (it needs the Azure CLI); each of its lines must
//!     start with `az ` or `export `.
//!
//!   An unknown directive fails the test.
//! - Variables bound to the bed: `$PRIMARY`, `$FAILOVER` (ARM ids), `$PRIMARY_ACCOUNT`,
//!   `$PRIMARY_WORKSPACE_ID`, `$PIPELINE_JOB`, `$SNAPSHOTS` (a folder); `aml-failover` is the built binary (its folder
//!   first on PATH); the bed's `AML_FAILOVER_*` settings and
//!   `AML_FAILOVER_SOURCE_ACCOUNT_KEY` (the primary's key) are in the environment. Commands
//!   run in one temporary working directory, so files one step writes are there for the next.

mod common;

use aml_emulator::faults::Fault;
use aml_emulator::testbed::{FilesBedOptions, TestBedOptions};
use common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const PIPELINE_JOB: &str = "e2e-registered";
const BOUND: [&str; 6] = ["PRIMARY", "FAILOVER", "PRIMARY_ACCOUNT", "PRIMARY_WORKSPACE_ID", "PIPELINE_JOB", "SNAPSHOTS"];

#[derive(Debug)]
enum Step {
    Directive(String),
    Block { line: usize, commands: Vec<(usize, String, i32)>, variables: bool, not_run: bool },
}

/// Splits the markdown into directives and ```sh blocks, in order.
fn parse(md: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut lines = md.lines().enumerate().peekable();
    let (mut variables, mut not_run) = (false, false);
    while let Some((i, line)) = lines.next() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("<!-- runbook-test:") {
            let d = rest.trim_end_matches("-->").trim().to_string();
            match d.as_str() {
                "variables" => variables = true,
                "not-run" => not_run = true,
                _ => steps.push(Step::Directive(d)),
            }
            continue;
        }
        if t == "```sh" {
            let mut commands = Vec::new();
            let mut pending: Option<(usize, String)> = None;
            loop {
                let (j, l) = lines.next().unwrap_or_else(|| panic!("runbook.md:{}: unterminated ```sh block", i + 1));
                if l.trim() == "```" {
                    break;
                }
                let (start, mut joined) = pending.take().unwrap_or((j + 1, String::new()));
                let part = l.trim_end();
                if joined.is_empty() && (part.trim().is_empty() || part.trim_start().starts_with('#')) {
                    continue;
                }
                if let Some(head) = part.strip_suffix('\\') {
                    joined.push_str(head);
                    joined.push(' ');
                    pending = Some((start, joined));
                    continue;
                }
                joined.push_str(part);
                let code = expected_code(&joined);
                commands.push((start, joined.trim().to_string(), code));
            }
            assert!(pending.is_none(), "runbook.md:{}: a block ends with a continued line", i + 1);
            steps.push(Step::Block { line: i + 1, commands, variables, not_run });
            variables = false;
            not_run = false;
        }
    }
    steps
}

/// The `# exit N` at the end of a command line, else 0.
fn expected_code(cmd: &str) -> i32 {
    match cmd.rfind("# exit ") {
        Some(at) => cmd[at + 7..].trim().parse().unwrap_or_else(|_| panic!("bad `# exit` comment: {cmd}")),
        None => 0,
    }
}

/// Adds a pipeline job to the primary whose steps use the seeded component and environment
/// and the seeded data asset (what `az ml job create` leaves for azureml-examples'
/// 1b_e2e_registered_components, trimmed to one step).
fn add_pipeline(d: &Direct, p: &str, job: &str) {
    let c = d.get(&format!("{p}/components/train_data_component_cli/versions/1")).expect("seeded component");
    assert!(c["properties"]["componentSpec"]["code"].is_string());
    let body = json!({"properties": {
        "jobType": "Pipeline", "displayName": "1b_e2e_registered_components", "experimentName": "e2e",
        "description": "E2E train pipeline with a registered component",
        "computeId": format!("{p}/computes/cpu-cluster"),
        "settings": {"default_compute": format!("{p}/computes/cpu-cluster")},
        "inputs": {"pipeline_job_training_input": {"jobInputType": "uri_file", "uri": "azureml:local-file-example-titanic:1"},
                   "pipeline_job_training_max_epocs": {"jobInputType": "literal", "value": "20"}},
        "outputs": {"pipeline_job_trained_model": {"jobOutputType": "uri_folder", "mode": "Upload"}},
        "jobs": {
            "train_job": {"type": "command", "component": format!("azureml:{p}/components/train_data_component_cli/versions/1"),
                "inputs": {"training_data": {"job_input_type": "literal", "value": "${{parent.inputs.pipeline_job_training_input}}"},
                           "max_epocs": {"job_input_type": "literal", "value": "${{parent.inputs.pipeline_job_training_max_epocs}}"}},
                "outputs": {"model_output": {"type": "literal", "value": "${{parent.outputs.pipeline_job_trained_model}}"}}}
        }}});
    assert!(d.put(&format!("{p}/jobs/{job}"), &body) < 300);
}

fn runbook_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runbook.md")
}

#[test]
fn every_command_of_the_runbook_runs_against_the_emulator() {
    let md = std::fs::read_to_string(runbook_path()).expect("docs/runbook.md");
    let steps = parse(&md);

    let seed_primary = Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/primary"));
    let tb = TestBed::start_with_files(TestBedOptions { page_size: Some(3), seed_primary, storage_proxy: false }, FilesBedOptions { page_size: Some(2) })
        .expect("test bed starts (run scripts/setup.sh first)");
    let p = tb.primary().clone();
    let f = tb.failover().clone();
    tb.seed_share(&p.storage_account, &p.code_share(), &Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/seed/notebooks")).unwrap();
    let d = Direct::new(&tb);
    add_pipeline(&d, &p.arm_id(), PIPELINE_JOB);

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_aml-failover")).parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let work = tempfile::Builder::new().prefix("aml-runbook-").tempdir().unwrap();
    let vars = [
        ("PRIMARY", p.arm_id()),
        ("FAILOVER", f.arm_id()),
        ("PRIMARY_ACCOUNT", p.storage_account.clone()),
        ("PRIMARY_WORKSPACE_ID", p.workspace_id.clone()),
        ("PIPELINE_JOB", PIPELINE_JOB.to_string()),
        ("SNAPSHOTS", work.path().join("snapshots").display().to_string()),
    ];

    let (mut ran, mut directives, mut variable_blocks) = (0, 0, 0);
    let started = std::time::Instant::now();
    for step in &steps {
        match step {
            Step::Directive(d_) => {
                directives += 1;
                let words: Vec<&str> = d_.split_whitespace().collect();
                match words.as_slice() {
                    ["region-down", region] => tb.set_fault(Fault::region_down(*region)),
                    ["region-up"] => tb.clear_faults(),
                    ["delete-workspace", "primary"] => {
                        let status = d.delete(&p.arm_id());
                        assert!(status < 300, "deleting the primary workspace: {status}");
                    }
                    _ => panic!("unknown runbook-test directive: {d_}"),
                }
            }
            Step::Block { line, commands, variables: true, .. } => {
                variable_blocks += 1;
                let mut names: Vec<String> = commands
                    .iter()
                    .map(|(_, c, _)| c.split_once('=').unwrap_or_else(|| panic!("runbook.md:{line}: not an assignment: {c}")).0.to_string())
                    .collect();
                names.sort();
                let mut bound: Vec<String> = BOUND.iter().map(|s| s.to_string()).collect();
                bound.sort();
                assert_eq!(names, bound, "runbook.md:{line}: the variables block must define exactly the variables the test binds");
            }
            Step::Block { line, commands, not_run: true, .. } => {
                for (l, c, _) in commands {
                    assert!(c.starts_with("az ") || c.starts_with("export "), "runbook.md:{l} (block at {line}): a not-run block holds only az/export lines: {c}");
                }
            }
            Step::Block { commands, .. } => {
                for (l, cmd, code) in commands {
                    let mut c = Command::new("bash");
                    c.arg("-c").arg(format!("set -euo pipefail\n{cmd}"));
                    c.current_dir(work.path()).env_clear();
                    for keep in ["HOME", "TMPDIR"] {
                        if let Some(v) = std::env::var_os(keep) {
                            c.env(keep, v);
                        }
                    }
                    c.env("PATH", &path).env("AML_FAILOVER_RETRY_BASE_MS", "20");
                    for (k, v) in tb.env() {
                        if k.starts_with("AML_FAILOVER_") {
                            c.env(k, v);
                        }
                    }
                    c.env("AML_FAILOVER_SOURCE_ACCOUNT_KEY", &p.storage_key);
                    for (k, v) in &vars {
                        c.env(k, v);
                    }
                    let t = std::time::Instant::now();
                    let r: Run = c.output().expect("bash runs").into();
                    eprintln!("runbook.md:{l}: exit {} in {:.1}s: {cmd}", r.code, t.elapsed().as_secs_f64());
                    assert_eq!(
                        r.code, *code,
                        "runbook.md:{l}: `{cmd}` exited {} where the runbook says {code}\n--- stdout\n{}\n--- stderr\n{}",
                        r.code, r.stdout, r.stderr
                    );
                    assert_no_secrets(&tb, &r);
                    ran += 1;
                }
            }
        }
    }
    eprintln!("runbook: {ran} commands, {directives} directives in {:.1}s", started.elapsed().as_secs_f64());
    assert_eq!(variable_blocks, 1, "the runbook defines its variables in one block marked <!-- runbook-test: variables -->");
    assert!(ran >= 10, "only {ran} commands found in docs/runbook.md");
    assert!(directives >= 2, "the runbook takes the region down and back up");
}

#[test]
fn the_parser_joins_continuations_and_reads_exit_codes() {
    let md = "x\n<!-- runbook-test: region-down eastus -->\n```sh\n# a comment\naml-failover copy \\\n  --from \"$PRIMARY\"   # exit 1\n\nfoo\n```\n";
    let steps = parse(md);
    assert!(matches!(&steps[0], Step::Directive(d) if d == "region-down eastus"));
    match &steps[1] {
        Step::Block { commands, .. } => {
            assert_eq!(commands.len(), 2);
            assert_eq!(commands[0].0, 5);
            assert_eq!(commands[0].2, 1);
            assert!(commands[0].1.starts_with("aml-failover copy") && commands[0].1.contains("--from \"$PRIMARY\""));
            assert_eq!(commands[1], (8, "foo".to_string(), 0));
        }
        s => panic!("{s:?}"),
    }
}
