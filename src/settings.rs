//! The validated global options every command receives ([`Settings`]), the output format, and
//! the one [`Printer`] that decides what reaches the terminal: `-q`, `-o json`, and whether
//! stderr is a terminal (progress bars). Library modules never print; commands render through
//! the printer. Built once by `cli` from the arguments; nothing here knows about clap parsing.

use crate::error::{Error, Result};
use crate::transfer::{FileDone, FileJob, TransferReporter};
use crate::workspace::{ConnectOptions, WorkspaceRef};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// `--output`: text for people, or one JSON document on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// Text for people.
    Human,
    /// One JSON document on stdout (schema: docs in README, `schemaVersion` field).
    Json,
}

/// The validated form of the global options.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connect: ConnectOptions,
    /// What is printed, and how (-o, -q, -v, TTY).
    pub printer: Printer,
    pub from: Option<WorkspaceRef>,
    pub to: Option<WorkspaceRef>,
    /// The single workspace came from -w/--workspace-name rather than --from.
    pub from_is_workspace_name: bool,
    /// --from / --to were typed on the command line (not from AML_FAILOVER_FROM/_TO).
    pub from_on_command_line: bool,
    pub to_on_command_line: bool,
    /// Where run journals and the local lock of each target live: `--state-dir`, else
    /// `$AML_FAILOVER_STATE_DIR`, else the platform's default (`journal::default_state_dir`);
    /// `None` when none of them is known.
    pub state_dir: Option<PathBuf>,
}

impl Settings {
    /// The workspace a reading command acts on: --from / -w, else --to.
    pub fn read_workspace(&self, what: &str) -> Result<WorkspaceRef> {
        self.from.clone().or_else(|| self.to.clone()).ok_or_else(|| {
            Error::usage(format!("{what} needs a workspace: -w NAME with --subscription and -g, or --from REF (config.json or ARM id)"))
        })
    }

    /// The workspace a command writes to: --to, or -w (a single workspace by name). --from is
    /// the side that is read in every command, so it is refused here.
    pub fn write_workspace(&self, what: &str) -> Result<WorkspaceRef> {
        if let Some(to) = &self.to {
            if self.from.is_some() && !self.from_is_workspace_name {
                return Err(Error::usage(format!("{what} writes into one workspace: give --to only (--from names a workspace that is read)")));
            }
            return Ok(to.clone());
        }
        match &self.from {
            Some(w) if self.from_is_workspace_name => Ok(w.clone()),
            Some(_) => Err(Error::usage(format!(
                "{what} writes into the workspace named by --to (or -w NAME); --from names the workspace that is read"
            ))),
            None => Err(Error::usage(format!("{what} needs the workspace to write to: --to REF, or -w NAME with --subscription and -g"))),
        }
    }
}

/// Owns the output decisions: the format (`-o`), quiet (`-q`), verbosity (`-v`), and whether
/// progress is drawn (only for people, not quiet, and only on a terminal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Printer {
    format: OutputFormat,
    quiet: bool,
    verbose: u8,
}

impl Printer {
    pub fn new(format: OutputFormat, quiet: bool, verbose: u8) -> Printer {
        Printer { format, quiet, verbose }
    }

    /// `-o`: human or json.
    pub fn format(&self) -> OutputFormat {
        self.format
    }

    pub fn is_json(&self) -> bool {
        self.format == OutputFormat::Json
    }

    /// `-v` count (0: only what matters; 1+: every item).
    /// `-q`: only errors and the summary.
    pub fn quiet(&self) -> bool {
        self.quiet
    }
    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Human output lists every item, not only the ones that need attention (`-v`).
    pub fn show_all_items(&self) -> bool {
        self.verbose > 0
    }

    /// Progress may be shown: human output and not `-q` (the bar itself also needs a terminal).
    pub fn show_progress(&self) -> bool {
        !self.quiet && self.format == OutputFormat::Human
    }

    /// Prints one JSON document on stdout, pretty, with a trailing newline.
    pub fn json<T: serde::Serialize + ?Sized>(&self, v: &T) {
        print_json(v)
    }
}

/// Prints one JSON document on stdout, pretty, with a trailing newline.
pub fn print_json<T: serde::Serialize + ?Sized>(v: &T) {
    // Written as it serializes: a plan of 10,000 versions is a 10 MB document, not held twice.
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match serde_json::to_writer_pretty(&mut out, v) {
        // A closed stdout (`| head`) ends the output, as for any other printing.
        Err(e) if e.is_io() => return,
        r => r.expect("JSON documents serialize"),
    }
    let _ = writeln!(out);
    let _ = out.flush();
}

/// Progress on a terminal (indicatif): bytes and files. Nothing when stderr is not a
/// terminal, with `-q`, or with `--output json` — cron jobs get only the summary.
pub struct Progress {
    bar: Option<ProgressBar>,
    files_done: AtomicU64,
    files_total: u64,
}

impl Progress {
    pub fn new(show: bool, total_bytes: u64, files_total: u64) -> Progress {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}) {msg}")
                    .expect("valid template"),
            );
            b
        });
        Progress { bar, files_done: AtomicU64::new(0), files_total }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl TransferReporter for Progress {
    fn bytes(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn file_done(&self, _job: &FileJob, _r: &Result<FileDone>) {
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("{done}/{} files", self.files_total));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_only_for_people_and_not_quiet() {
        assert!(Printer::new(OutputFormat::Human, false, 0).show_progress());
        assert!(!Printer::new(OutputFormat::Human, true, 0).show_progress());
        assert!(!Printer::new(OutputFormat::Json, false, 2).show_progress());
        assert!(Printer::new(OutputFormat::Json, false, 0).is_json());
        assert!(Printer::new(OutputFormat::Human, false, 1).show_all_items());
    }
}
