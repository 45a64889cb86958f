//! Arguments of `workspace show`.

use crate::error::EXIT_CODES_HELP;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show a workspace: region, storage account, default datastores, asset counts, storage reachability.
    ///
    /// Shows --from, --to, or both (use -w NAME for a single workspace by name).
    #[command(after_help = EXIT_CODES_HELP)]
    Show,
}
