//! Every `--help` of the built binary, as a reviewed snapshot (insta): a help text copied from
//! another command, or changed by accident, shows up as a diff in review. The list of commands
//! comes from the binary itself (`man`-independent: each `Commands:` section is followed), so a
//! new subcommand gets its snapshot without editing this file.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test --test help` (or `cargo insta
//! review`), then read the `.snap` diffs before committing them.

mod common;

/// `aml-failover <path> --help`, exit code checked.
fn help(path: &[&str]) -> String {
    let r: common::Run = common::bare_command()
        .args(path)
        .arg("--help")
        // Help shows `[env: NAME=value]` for a variable that is set: none may be.
        .env_remove("AML_FAILOVER_STATE_DIR")
        .env_remove("AML_FAILOVER_RETRY_BASE_MS")
        .env("COLUMNS", "100")
        .output()
        .expect("run aml-failover")
        .into();
    r.expect_code(0);
    assert!(r.stderr.is_empty(), "--help printed on stderr: {}", r.stderr);
    r.stdout
}

/// The subcommands a help text lists under `Commands:` (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("Commands:") {
            inside = true;
            continue;
        }
        if inside {
            if !line.starts_with("  ") {
                break;
            }
            let word = line.split_whitespace().next().unwrap_or("");
            // A wrapped description line starts deeper than a command name.
            if line.starts_with("  ") && !line.starts_with("   ") && !word.is_empty() && word != "help" {
                out.push(word.to_string());
            }
        }
    }
    out
}

#[test]
fn every_help_text_matches_its_reviewed_snapshot() {
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    let mut seen = 0;
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    // The version changes with every release; the text around it is what is reviewed.
    settings.add_filter(env!("CARGO_PKG_VERSION"), "[VERSION]");
    settings.bind(|| {
        while let Some(path) = queue.pop() {
            let args: Vec<&str> = path.iter().map(String::as_str).collect();
            let text = help(&args);
            let name = if path.is_empty() { "aml-failover".to_string() } else { format!("aml-failover {}", path.join(" ")) };
            insta::assert_snapshot!(name.replace(' ', "_"), text);
            seen += 1;
            for sub in subcommands(&text) {
                let mut next = path.clone();
                next.push(sub);
                queue.push(next);
            }
        }
    });
    // A parse of `Commands:` that found nothing would make this test vacuous.
    assert!(seen >= 25, "only {seen} help texts were found");
}

#[test]
fn short_help_is_shorter_and_points_at_long_help() {
    let long = help(&["copy"]);
    let r: common::Run = common::bare_command().args(["copy", "-h"]).output().unwrap().into();
    r.expect_code(0);
    assert!(r.stdout.len() < long.len(), "-h is not shorter than --help");
    assert!(r.stdout.contains("--help"), "-h does not point at --help");
}
