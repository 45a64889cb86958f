//! Progress on a terminal (indicatif): bytes and files. Nothing when stderr is not a
//! terminal, with `-q`, or with `--output json` — cron jobs get only the summary.

use crate::transfer::{FileDone, FileJob, TransferReporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};

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

    fn file_done(&self, _job: &FileJob, _r: &crate::error::Result<FileDone>) {
        let done = self.files_done.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(b) = &self.bar {
            b.set_message(format!("{done}/{} files", self.files_total));
        }
    }
}
