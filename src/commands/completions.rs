//! `completions SHELL` and `man`: the shell completion script and the man page, generated from
//! the same clap definition as `--help` (clap_complete, clap_mangen), so they never drift.

use crate::cli::Cli;
use crate::error::{Error, Exit, Result};
use clap::CommandFactory;
use std::io::Write;

pub fn completions(shell: clap_complete::Shell) -> Result<Exit> {
    let mut cmd = Cli::command();
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    if shell == clap_complete::Shell::Bash {
        // clap_complete's bash script never completes past the first subcommand when the
        // program's name has a hyphen (clap-rs/clap#6421, open in 4.6.12): its dispatch loop and
        // its case labels escape the name differently. Generated for a hyphen-free name, the
        // script is consistent; only the `complete` lines must name the real program.
        let internal = name.replace('-', "");
        clap_complete::generate(shell, &mut cmd, &internal, &mut out);
        let script = String::from_utf8(out).map_err(|e| Error::Internal(format!("completion script: {e}")))?;
        let fixed: Vec<String> = script
            .lines()
            .map(|l| match l.trim_start().starts_with("complete -F ") && l.ends_with(&format!(" {internal}")) {
                true => format!("{}{name}", &l[..l.len() - internal.len()]),
                false => l.to_string(),
            })
            .collect();
        return write_stdout(format!("{}\n", fixed.join("\n")).as_bytes());
    }
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    write_stdout(&out)
}

pub fn man() -> Result<Exit> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("cannot render the man page: {e}")))?;
    // One page for the whole tool: each subcommand's synopsis, options and text follow.
    for sub in Cli::command().get_subcommands().filter(|s| !s.is_hide_set()) {
        let page = clap_mangen::Man::new(sub.clone());
        page.render_subcommands_section(&mut out).ok();
        let _ = writeln!(out, ".SH \"AML-FAILOVER {}\"", sub.get_name().to_uppercase());
        page.render_description_section(&mut out).ok();
        page.render_options_section(&mut out).ok();
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> Result<Exit> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|_| stdout.flush())
        .map_err(|e| Error::Internal(format!("cannot write to stdout: {e}")))?;
    Ok(Exit::Ok)
}
