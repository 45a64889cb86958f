//! One thin file per subcommand: each wires the stages together and renders the result.

pub mod assets_cmd;
pub mod completions;
pub mod component_data;
pub mod copy;
pub mod failover;
pub mod notebooks;
pub mod outputs;
pub mod pipeline_cmd;
pub mod readiness;
pub mod snapshot;
pub mod verify;
pub mod workspace_show;

use crate::cli::{AssetCommand, Cli, Command, ComponentCommand, DataCommand, NotebooksCommand, OutputsCommand, WorkspaceCommand};
use crate::settings::Settings;
use crate::error::{Exit, Result};

pub async fn run(cli: &Cli) -> Result<Exit> {
    // These need no workspace, credential or setting.
    match &cli.command {
        Command::Completions(a) => return completions::completions(a.shell),
        Command::Man => return completions::man(),
        _ => {}
    }
    let settings = cli.settings()?;
    match &cli.command {
        Command::Completions(_) | Command::Man => unreachable!("handled above"),
        Command::Workspace(WorkspaceCommand::Show) => workspace_show::run(&settings).await,
        Command::Notebooks(NotebooksCommand::List(a)) => notebooks::list(&settings, &a.options(&settings)?).await,
        Command::Notebooks(NotebooksCommand::Recover(a)) => notebooks::recover(&settings, &a.options(&settings)?).await,
        Command::Notebooks(NotebooksCommand::Copy(a)) => notebooks::copy(&settings, &a.options(&settings)?).await,
        Command::Outputs(OutputsCommand::List(a)) => outputs::list(&settings, &a.options(&settings, false)?).await,
        Command::Outputs(OutputsCommand::Copy(a)) => outputs::copy(&settings, &a.options(&settings, true)?).await,
        Command::Failover(args) => failover::run(&settings, &args.options(settings.printer.verbose())?).await,
        Command::Copy(args) => copy::run(&settings, &args.options(settings.printer.verbose())?).await,
        Command::Plan(args) => copy::plan(&settings, &args.options(settings.printer.verbose())?).await,
        Command::Verify(args) => verify::run(&settings, &args.options(settings.printer.verbose())?).await,
        Command::Readiness(args) => readiness::run(&settings, &args.options(&settings)?).await,
        Command::Model(c) => asset_command(&settings, crate::assets::Kind::Model, c).await,
        Command::Environment(c) => asset_command(&settings, crate::assets::Kind::Environment, c).await,
        Command::Job(crate::cli::JobCommand::Get(a)) => pipeline_cmd::get(&settings, &a.options("job get")?).await,
        Command::Job(crate::cli::JobCommand::Create(a)) => pipeline_cmd::create(&settings, &a.options("job create")?).await,
        Command::Pipeline(crate::cli::PipelineCommand::Get(a)) => pipeline_cmd::get(&settings, &a.options("pipeline get")?).await,
        Command::Pipeline(crate::cli::PipelineCommand::Create(a)) => pipeline_cmd::create(&settings, &a.options("pipeline create")?).await,
        Command::Component(ComponentCommand::Download(a)) => component_data::component_download(&settings, &a.options(crate::assets::Kind::Component)?).await,
        Command::Component(ComponentCommand::Register(a)) => component_data::component_register(&settings, &a.options(crate::assets::Kind::Component)?).await,
        Command::Component(ComponentCommand::List(a)) => assets_cmd::list(&settings, &a.options(crate::assets::Kind::Component)).await,
        Command::Data(DataCommand::Download(a)) => component_data::data_download(&settings, &a.options(crate::assets::Kind::Data)?).await,
        Command::Data(DataCommand::Register(a)) => component_data::data_register(&settings, &a.options(crate::assets::Kind::Data)?).await,
        Command::Data(DataCommand::List(a)) => assets_cmd::list(&settings, &a.options(crate::assets::Kind::Data)).await,
        Command::Snapshot(c) => snapshot_command(&settings, cli.global.to.as_deref(), c).await,
    }
}

/// Verbs of `assets::folder` run their transfers with the printer's progress.
#[async_trait::async_trait]
impl crate::folder::Transfers for crate::settings::Printer {
    async fn run(&self, engine: &crate::transfer::EngineOptions, jobs: &[crate::transfer::FileJob]) -> Vec<Result<crate::transfer::FileDone>> {
        crate::execute::transfer(engine, self.show_progress(), None, jobs).await
    }
}

async fn asset_command(settings: &Settings, kind: crate::assets::Kind, c: &AssetCommand) -> Result<Exit> {
    match c {
        AssetCommand::List(a) => assets_cmd::list(settings, &a.options(kind)).await,
        AssetCommand::Download(a) => assets_cmd::download(settings, &a.options(kind)?).await,
        AssetCommand::Register(a) => assets_cmd::register(settings, &a.options(kind)?).await,
    }
}

async fn snapshot_command(settings: &Settings, to: Option<&str>, c: &crate::cli::SnapshotCommand) -> Result<Exit> {
    use crate::cli::SnapshotCommand as S;
    match c {
        S::Export(a) => snapshot::export(settings, &a.options(to)?).await,
        S::Restore(a) => snapshot::restore(settings, &a.options()?).await,
        S::List(a) => snapshot::list(settings, &a.bundle).await,
        S::Prune(a) => snapshot::prune(settings, &a.options()?).await,
    }
}
