//! aml-failover: parse → dispatch → exit code. Everything else lives in the modules.

use aml_failover::error::Exit;
use aml_failover::{cli, commands};
use std::process::ExitCode;

fn main() -> ExitCode {
    reset_sigpipe();
    return_freed_blocks();
    let cli = cli::Cli::parse_args();
    init_logging(cli.global.verbose, cli.global.quiet);
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Internal.into();
        }
    };
    let printer = cli.printer();
    match rt.block_on(commands::run(&cli)) {
        Ok(code) => code.into(),
        Err(e) => {
            if printer.is_json() {
                printer.json(&aml_failover::wire::ErrorDocument::new(&e));
            }
            eprintln!("error: {e}");
            e.exit().into()
        }
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the level chosen by -v/-q.
fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| {
            // rustls logs a refused certificate itself; the tool's one-line error already says it.
            let rustls = if verbose >= 2 { "" } else { ",rustls=off" };
            tracing_subscriber::EnvFilter::new(format!("aml_failover={level}{rustls},warn"))
        });
    use std::io::IsTerminal as _;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// `aml-failover ... | head` must end quietly when the reader goes away, as other Unix tools
/// do, instead of panicking on a write to a closed pipe.
fn reset_sigpipe() {
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Blocks (4 MiB by default) go back to the system when freed. glibc's malloc raises its mmap
/// threshold to the size of each large chunk freed, so from the first freed block on, blocks
/// come from the per-thread arenas, which keep what is freed: measured (`snapshot export`,
/// workspace bench at scale 0.2), 67 MiB of peak heap made 150 MiB of peak RSS; with a fixed
/// threshold, 74 MiB. A fixed threshold also turns that adjustment off.
fn return_freed_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; called at start, before any thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
