//! One thin file per subcommand: each wires the stages together and renders the result.

pub mod copy;
pub mod progress;
pub mod workspace_show;

use crate::cli::{Cli, Command, OutputFormat, WorkspaceCommand};
use crate::error::{Exit, Result};

pub async fn run(cli: &Cli) -> Result<Exit> {
    let settings = cli.settings()?;
    match &cli.command {
        Command::Workspace(WorkspaceCommand::Show) => workspace_show::run(&settings).await,
        Command::Copy(args) => copy::run(&settings, &args.options(settings.verbose)?).await,
    }
}

/// Prints a JSON document on stdout, pretty, with a trailing newline.
pub fn print_json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("JSON values serialize"));
}

pub fn is_json(o: OutputFormat) -> bool {
    o == OutputFormat::Json
}
