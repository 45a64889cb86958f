//! `completions` and `man` through the binary: the bash script really completes (run by bash
//! itself, as a user's TAB would), and the man page renders the commands a user looks for.

mod common;

use std::process::Command;

fn run(args: &[&str]) -> common::Run {
    common::bare_command().args(args).output().expect("run aml-failover").into()
}

/// What bash's completion offers for the words typed so far (the last one being completed):
/// the function the script registers with `complete -F`, called as bash calls it on TAB.
fn bash_complete(script: &str, words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aml-failover.bash");
    std::fs::write(&path, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let driver = format!(
        "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{}'\nCOMP_POINT=${{#COMP_LINE}}\nfn=$(complete -p aml-failover | sed -E 's/.*-F ([^ ]+).*/\\1/')\n\"$fn\" aml-failover '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        words.join(" "),
        words[words.len() - 1],
        words[words.len().saturating_sub(2)],
    );
    let out = Command::new("bash").arg("-c").arg(driver).output().expect("bash runs");
    assert!(out.status.success(), "bash failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut got: Vec<String> = String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect();
    got.sort();
    got
}

#[test]
fn bash_completes_subcommands_and_option_values() {
    let r = run(&["completions", "bash"]);
    r.expect_code(0);
    assert_eq!(bash_complete(&r.stdout, &["aml-failover", "co"]), ["completions", "component", "copy"]);
    // Values of an option with a fixed set come from clap's definition.
    assert_eq!(bash_complete(&r.stdout, &["aml-failover", "copy", "--output", ""]), ["human", "json"]);
    // Past the first subcommand too (clap_complete alone gets this wrong for hyphenated names).
    assert_eq!(bash_complete(&r.stdout, &["aml-failover", "snapshot", "ex"]), ["export"]);
}

#[test]
fn zsh_and_fish_scripts_name_the_commands() {
    let zsh = run(&["completions", "zsh"]);
    zsh.expect_code(0);
    assert!(zsh.stdout.starts_with("#compdef aml-failover"), "{}", &zsh.stdout[..80.min(zsh.stdout.len())]);
    assert!(zsh.stdout.contains("'failover:"), "zsh script lacks the failover subcommand");
    let fish = run(&["completions", "fish"]);
    fish.expect_code(0);
    assert!(fish.stdout.contains("-a \"failover\""), "fish script lacks the failover subcommand");
    let bad = run(&["completions", "tcsh"]);
    bad.expect_code(2);
    assert!(bad.stderr.contains("possible values"), "{}", bad.stderr);
}

#[test]
fn man_page_covers_every_command_and_needs_no_workspace() {
    let r = run(&["man"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with(".ie") || r.stdout.contains(".TH aml-failover 1"), "not roff");
    for cmd in ["FAILOVER", "COPY", "VERIFY", "SNAPSHOT", "NOTEBOOKS", "OUTPUTS"] {
        assert!(r.stdout.contains(&format!(".SH \"AML-FAILOVER {cmd}\"")), "man page lacks {cmd}");
    }
    assert!(r.stdout.contains("Exit codes") || r.stdout.contains("exit"), "man page lacks the exit codes");
}
