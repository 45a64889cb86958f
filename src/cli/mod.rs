//! Command-line arguments and help text: the top level here, one file of clap args per command
//! or command family beside it. Clap types stop here: `Cli::settings` and each args type's
//! `options` convert them once into the validated options the library takes
//! ([`crate::settings::Settings`] and the option types of the library modules). This module
//! imports no command.

mod assets;
mod completions;
mod copy;
mod failover;
mod job;
mod notebooks;
mod outputs;
mod readiness;
mod snapshot;
mod verify;
mod workspace;

pub use assets::{AssetCommand, AssetDownloadArgs, AssetListArgs, AssetRegisterArgs, ComponentCommand, DataCommand};
pub use completions::CompletionsArgs;
pub use copy::CopyArgs;
pub use failover::FailoverArgs;
pub use job::{JobCommand, PipelineCommand, PipelineCreateArgs, PipelineGetArgs};
pub use notebooks::{NotebooksArgs, NotebooksCommand};
pub use outputs::{OutputsArgs, OutputsCommand};
pub use readiness::ReadinessArgs;
pub use snapshot::{SnapshotBundleArg, SnapshotCommand, SnapshotExportArgs, SnapshotPruneArgs, SnapshotRestoreArgs};
pub use verify::VerifyArgs;
pub use workspace::WorkspaceCommand;

pub use crate::settings::{OutputFormat, Settings};

use crate::error::{Error, Result, EXIT_CODES_HELP};
use crate::http::RetryPolicy;
use crate::settings::Printer;
use crate::workspace::cloud::{Cloud, CloudOverrides};
use crate::workspace::credentials::AuthMethod;
use crate::workspace::reference::{self, RefDefaults};
use crate::workspace::ConnectOptions;
use clap::{Args, Parser, Subcommand};
use completions::{COMPLETIONS_LONG, MAN_LONG};
use copy::{COPY_LONG, PLAN_LONG};
use failover::FAILOVER_LONG;
use std::path::PathBuf;
use std::time::Duration;
use verify::VERIFY_LONG;

const ABOUT: &str = "Move Azure Machine Learning (v2) workspace artifacts into a failover workspace, checksummed end to end.";

const LONG_ABOUT: &str = "\
Move Azure Machine Learning (v2) workspace artifacts from a primary workspace into a failover
workspace, checksummed end to end.

Workspace references (--from, --to) take any of:
  - a config.json downloaded from Azure ML Studio   --from ./primary/config.json
  - an ARM resource id                              --from /subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.MachineLearningServices/workspaces/<name>
  - a workspace name with --subscription and -g     --subscription <id> -g <rg> --from <name>

Credentials (--auth auto, the default) are tried in this order: the bearer token in
AML_FAILOVER_ACCESS_TOKEN; a service principal (AZURE_TENANT_ID, AZURE_CLIENT_ID,
AZURE_CLIENT_SECRET); workload identity (AZURE_FEDERATED_TOKEN_FILE); managed identity (when the
environment announces it, or with --auth managed-identity); the Azure CLI login (`az login`).";

#[derive(Debug, Parser)]
#[command(name = "aml-failover", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXIT_CODES_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Source (primary) workspace: config.json path, ARM id, or name (with --subscription, -g).
    #[arg(long, global = true, env = "AML_FAILOVER_FROM", value_name = "WORKSPACE", help_heading = "Workspaces")]
    pub from: Option<String>,
    /// Target (failover) workspace: config.json path, ARM id, or name (with --subscription, -g).
    #[arg(long, global = true, env = "AML_FAILOVER_TO", value_name = "WORKSPACE", help_heading = "Workspaces")]
    pub to: Option<String>,
    /// --from / --to were typed on the command line (not taken from AML_FAILOVER_FROM/_TO);
    /// set by [`Cli::parse_args`].
    #[arg(skip)]
    pub from_on_command_line: bool,
    #[arg(skip)]
    pub to_on_command_line: bool,
    /// Subscription id for workspace names given without one (as in `az ml`).
    #[arg(long, global = true, env = "AZURE_SUBSCRIPTION_ID", value_name = "ID", help_heading = "Workspaces")]
    pub subscription: Option<String>,
    /// Resource group for workspace names given without one (as in `az ml`).
    #[arg(short = 'g', long, global = true, value_name = "NAME", help_heading = "Workspaces")]
    pub resource_group: Option<String>,
    /// Workspace name, for commands that act on one workspace (same as --from).
    #[arg(short = 'w', long, global = true, value_name = "NAME", help_heading = "Workspaces")]
    pub workspace_name: Option<String>,

    /// Azure cloud: AzureCloud (default), AzureChinaCloud, AzureUSGovernment.
    #[arg(long, global = true, env = "AML_FAILOVER_CLOUD", value_name = "NAME", help_heading = "Cloud and endpoints")]
    pub cloud: Option<String>,
    /// Resource Manager endpoint, for a custom cloud or the local emulator.
    #[arg(long, global = true, env = "AML_FAILOVER_RESOURCE_MANAGER", value_name = "URL", help_heading = "Cloud and endpoints")]
    pub resource_manager_endpoint: Option<String>,
    /// Entra ID authority host for token requests (also read from AZURE_AUTHORITY_HOST).
    #[arg(long, global = true, env = "AML_FAILOVER_AUTHORITY_HOST", value_name = "URL", help_heading = "Cloud and endpoints")]
    pub authority_host: Option<String>,
    /// Token scope for Resource Manager [default: <resource manager endpoint>/.default].
    #[arg(long, global = true, env = "AML_FAILOVER_ARM_SCOPE", value_name = "SCOPE", hide = true)]
    pub arm_scope: Option<String>,
    /// Storage DNS suffix, e.g. core.windows.net.
    #[arg(long, global = true, env = "AML_FAILOVER_STORAGE_SUFFIX", value_name = "SUFFIX", help_heading = "Cloud and endpoints")]
    pub storage_suffix: Option<String>,
    /// Blob endpoint template with {account}, e.g. http://127.0.0.1:10000/{account} for Azurite.
    #[arg(long, global = true, env = "AML_FAILOVER_BLOB_ENDPOINT", value_name = "TEMPLATE", help_heading = "Cloud and endpoints")]
    pub blob_endpoint: Option<String>,
    /// File service endpoint template with {account} (Azure Files; the emulator's is path-style).
    #[arg(long, global = true, env = "AML_FAILOVER_FILE_ENDPOINT", value_name = "TEMPLATE", help_heading = "Cloud and endpoints")]
    pub file_endpoint: Option<String>,
    /// Extra CA certificate (PEM) to trust; repeatable. Also AML_FAILOVER_CA_CERT and SSL_CERT_FILE.
    #[arg(long, global = true, value_name = "PEM", help_heading = "Cloud and endpoints")]
    pub ca_cert: Vec<PathBuf>,

    /// Credential to use.
    #[arg(long, global = true, env = "AML_FAILOVER_AUTH", value_enum, ignore_case = true, default_value = "auto", value_name = "METHOD", help_heading = "Credentials")]
    pub auth: AuthMethod,

    /// Retries of a failed request (429/5xx honour Retry-After; network errors back off).
    #[arg(long, global = true, env = "AML_FAILOVER_MAX_RETRIES", default_value_t = 4, value_name = "N", help_heading = "Behaviour")]
    pub max_retries: u32,
    /// First retry backoff in milliseconds (doubles each retry).
    #[arg(long, global = true, env = "AML_FAILOVER_RETRY_BASE_MS", default_value_t = 500, value_name = "MS", hide = true)]
    pub retry_base_ms: u64,

    /// Output format.
    #[arg(short, long, global = true, value_enum, default_value = "human", help_heading = "Output")]
    pub output: OutputFormat,
    /// More detail on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
    /// Only errors and the final summary (for cron jobs).
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect workspaces.
    #[command(subcommand)]
    Workspace(WorkspaceCommand),
    /// The runbook in one command: check both sides, copy every asset kind, run outputs and
    /// notebooks, and list the manual steps left.
    #[command(long_about = FAILOVER_LONG, after_help = EXIT_CODES_HELP)]
    Failover(FailoverArgs),
    /// Notebooks: recover them from a (deleted) workspace's file share, or copy them between workspaces.
    #[command(subcommand)]
    Notebooks(NotebooksCommand),
    /// Job outputs and logs straight from storage (also when the control plane is down).
    #[command(subcommand)]
    Outputs(OutputsCommand),
    /// Copy every asset kind from --from into --to, in dependency order, verified, then registered.
    #[command(long_about = COPY_LONG, after_help = EXIT_CODES_HELP)]
    Copy(CopyArgs),
    /// The per-item plan of `copy` (and of failover's assets step); writes nothing.
    #[command(long_about = PLAN_LONG, after_help = EXIT_CODES_HELP)]
    Plan(CopyArgs),
    /// Check that --to holds every asset version of --from, identical (drift: missing, different, extra); writes nothing.
    #[command(long_about = VERIFY_LONG, after_help = EXIT_CODES_HELP)]
    Verify(VerifyArgs),
    /// Is the pair ready to fail over, and what would a failover now lose (RPO)? One line per check.
    #[command(long_about = readiness::READINESS_LONG, after_help = EXIT_CODES_HELP)]
    Readiness(ReadinessArgs),
    /// Models as az ml YAML: list, download (files + model.yml), register from a model.yml.
    #[command(subcommand)]
    Model(AssetCommand),
    /// Environments as az ml YAML: list, download (environment.yml, conda file, build context), register.
    #[command(subcommand)]
    Environment(AssetCommand),
    /// Jobs of every type (command, pipeline, sweep, AutoML, spark) as az ml YAML: get, create (definition or --submit).
    #[command(subcommand)]
    Job(JobCommand),
    /// Pipeline jobs as az ml YAML folders: get (with components and code), create (definition or --submit).
    #[command(subcommand)]
    Pipeline(PipelineCommand),
    /// Components as az ml YAML: list, download (component.yml + code + conda.yaml), register (code uploaded, verified).
    #[command(subcommand)]
    Component(ComponentCommand),
    /// Data assets as az ml YAML: list, download (data.yml + files on workspace storage), register.
    #[command(subcommand)]
    Data(DataCommand),
    /// Snapshots for pre-staging: export a content-addressed bundle, restore it (source not needed), list, prune.
    #[command(subcommand)]
    Snapshot(SnapshotCommand),
    /// Print a shell completion script on stdout (bash, zsh, fish, elvish, powershell).
    #[command(long_about = COMPLETIONS_LONG)]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout: `aml-failover man | man -l -`.
    #[command(long_about = MAN_LONG)]
    Man,
}

/// The transfer options of a command that has only `--concurrency`.
fn engine_options(concurrency: usize) -> Result<crate::transfer::EngineOptions> {
    if concurrency == 0 || concurrency > 256 {
        return Err(Error::usage("--concurrency must be between 1 and 256"));
    }
    Ok(crate::transfer::EngineOptions { concurrency, ..Default::default() })
}

impl Cli {
    /// Parses the process arguments (exits with clap's message on bad usage), noting which of
    /// --from/--to came from the command line rather than the environment.
    pub fn parse_args() -> Cli {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches();
        let mut cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
        let typed = |id: &str| {
            let mut m = Some(&matches);
            while let Some(cur) = m {
                if cur.value_source(id) == Some(clap::parser::ValueSource::CommandLine) {
                    return true;
                }
                m = cur.subcommand().map(|(_, sub)| sub);
            }
            false
        };
        cli.global.from_on_command_line = typed("from");
        cli.global.to_on_command_line = typed("to");
        cli
    }

    /// The printer of `-o`, `-q`, `-v` (also for the error document of a failed run).
    pub fn printer(&self) -> Printer {
        Printer::new(self.global.output, self.global.quiet, self.global.verbose)
    }

    /// `--state-dir` of the commands that have it.
    fn state_dir_arg(&self) -> Option<&PathBuf> {
        match &self.command {
            Command::Copy(a) | Command::Plan(a) => a.state_dir.as_ref(),
            Command::Failover(a) => a.copy.state_dir.as_ref(),
            _ => None,
        }
    }

    pub fn settings(&self) -> Result<Settings> {
        let g = &self.global;
        let overrides = CloudOverrides {
            resource_manager: g.resource_manager_endpoint.clone(),
            authority_host: g.authority_host.clone().or_else(|| std::env::var("AZURE_AUTHORITY_HOST").ok().filter(|s| !s.is_empty())),
            arm_scope: g.arm_scope.clone(),
            storage_suffix: g.storage_suffix.clone(),
            blob_endpoint: g.blob_endpoint.clone(),
            file_endpoint: g.file_endpoint.clone(),
        };
        let cloud = Cloud::resolve(g.cloud.as_deref(), &overrides)?;
        let auth = g.auth;
        let defaults = RefDefaults { subscription: g.subscription.clone(), resource_group: g.resource_group.clone() };
        if g.from.is_some() && g.workspace_name.is_some() {
            return Err(Error::usage("give the workspace either with --from or with -w/--workspace-name, not both"));
        }
        let from_raw = g.from.clone().map(|v| ("--from", v)).or_else(|| g.workspace_name.clone().map(|v| ("--workspace-name", v)));
        let from = from_raw.map(|(flag, v)| reference::parse(flag, &v, &defaults)).transpose()?;
        // `snapshot export --to` names the bundle (a directory or container URL), not a workspace.
        let to_is_bundle = matches!(self.command, Command::Snapshot(SnapshotCommand::Export(_)));
        let to = g.to.as_deref().filter(|_| !to_is_bundle).map(|v| reference::parse("--to", v, &defaults)).transpose()?;
        Ok(Settings {
            connect: ConnectOptions {
                cloud,
                auth,
                ca_files: crate::http::ca_files(&g.ca_cert),
                retry: RetryPolicy {
                    max_retries: g.max_retries,
                    base: Duration::from_millis(g.retry_base_ms),
                    ..Default::default()
                },
            },
            printer: self.printer(),
            state_dir: self.state_dir_arg().cloned().or_else(crate::journal::default_state_dir),
            from_is_workspace_name: g.from.is_none() && g.workspace_name.is_some(),
            from_on_command_line: g.from_on_command_line,
            to_on_command_line: g.to_on_command_line,
            from,
            to,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn help_teaches_references_and_exit_codes() {
        let help = Cli::command().render_long_help().to_string();
        for needle in ["config.json", "ARM resource id", "--subscription", "Exit codes:", "AML_FAILOVER_ACCESS_TOKEN", "az login"] {
            assert!(help.contains(needle), "help lacks {needle}");
        }
    }
}
