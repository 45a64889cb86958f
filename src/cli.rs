//! Command-line arguments and help text. Clap types stop here: `Cli::settings` converts them
//! once into the validated options the commands use.

use crate::error::{Error, Result, EXIT_CODES_HELP};
use crate::help;
use crate::http::RetryPolicy;
use crate::workspace::cloud::{Cloud, CloudOverrides};
use crate::workspace::credentials::AuthMethod;
use crate::workspace::reference::{self, RefDefaults};
use crate::workspace::{ConnectOptions, WorkspaceRef};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Text for people.
    Human,
    /// One JSON document on stdout (schema: docs in README, `schemaVersion` field).
    Json,
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

    /// Credential to use: auto, token, service-principal, workload-identity, managed-identity, azure-cli.
    #[arg(long, global = true, env = "AML_FAILOVER_AUTH", default_value = "auto", value_name = "METHOD", help_heading = "Credentials")]
    pub auth: String,

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

const COMPLETIONS_LONG: &str = "\
Print a shell completion script on stdout. It completes subcommands, options and the
values of options with a fixed set (--output, --kinds, --on-conflict, ...).

Install it once per machine or user:
  bash:  aml-failover completions bash > ~/.local/share/bash-completion/completions/aml-failover
  zsh:   aml-failover completions zsh > \"${fpath[1]}/_aml-failover\"   (then restart zsh)
  fish:  aml-failover completions fish > ~/.config/fish/completions/aml-failover.fish

Nothing is read or written besides stdout; no workspace or credential is needed.";

const MAN_LONG: &str = "\
Print the man page (roff, section 1) of aml-failover and all its subcommands on stdout.

  aml-failover man | man -l -                       read it now
  aml-failover man > /usr/local/share/man/man1/aml-failover.1   install it

Nothing is read or written besides stdout; no workspace or credential is needed.";

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub enum PipelineCommand {
    /// Write a pipeline job as pipeline.yml + components/*.yml + their code (sha256-verified).
    #[command(long_about = help::PIPELINE_GET, after_help = EXIT_CODES_HELP)]
    Get(PipelineGetArgs),
    /// Register a pipeline folder into --to: code (verified), components, then the pipeline's
    /// definition (a pipeline component named after it), or the job itself with --submit.
    #[command(long_about = help::PIPELINE_CREATE, after_help = EXIT_CODES_HELP)]
    Create(PipelineCreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Write a job of any type as az ml YAML (job.yml or pipeline.yml) with its code and components (sha256-verified).
    #[command(long_about = help::JOB_GET, after_help = EXIT_CODES_HELP)]
    Get(PipelineGetArgs),
    /// Register a job YAML into --to as its definition (a component), or create the job itself with --submit.
    #[command(long_about = help::JOB_CREATE, after_help = EXIT_CODES_HELP)]
    Create(PipelineCreateArgs),
}

#[derive(Debug, Subcommand)]
pub enum ComponentCommand {
    /// List versions (table, or --output json).
    #[command(long_about = LIST_LONG, after_help = EXIT_CODES_HELP)]
    List(AssetListArgs),
    /// Download a component version: component.yml, its code (sha256-verified) and its conda file.
    #[command(long_about = help::COMPONENT_DOWNLOAD, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Download(AssetDownloadArgs),
    /// Register a component YAML into --to: code uploaded (verified), environment resolved, then the component.
    #[command(long_about = help::COMPONENT_REGISTER, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Register(AssetRegisterArgs),
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// List versions (table, or --output json).
    #[command(long_about = LIST_LONG, after_help = EXIT_CODES_HELP)]
    List(AssetListArgs),
    /// Download a data asset version: data.yml, and its files when they are on the workspace's storage.
    #[command(long_about = help::DATA_DOWNLOAD, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Download(AssetDownloadArgs),
    /// Register a data YAML into --to: a local path uploaded (verified), a datastore or URL path as given.
    #[command(long_about = help::DATA_REGISTER, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Register(AssetRegisterArgs),
}

#[derive(Debug, Args)]
pub struct PipelineGetArgs {
    /// Name of the job.
    #[arg(short, long, value_name = "NAME")]
    pub name: String,
    /// Folder to write into; the job lands in <download-path>/<name>/.
    #[arg(short = 'p', long, default_value = ".", value_name = "DIR")]
    pub download_path: PathBuf,
    /// Files transferred at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

#[derive(Debug, Args)]
pub struct PipelineCreateArgs {
    /// The job YAML (az ml v2: command, pipeline, sweep, automl or spark job).
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// Name of the job [default: the YAML's name:, else its folder's name].
    #[arg(short, long, value_name = "NAME")]
    pub name: Option<String>,
    /// Create the job (starts a new run) instead of registering its definition.
    #[arg(long)]
    pub submit: bool,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

impl PipelineGetArgs {
    pub fn options(&self, command: &'static str) -> Result<crate::commands::pipeline_cmd::GetOptions> {
        Ok(crate::commands::pipeline_cmd::GetOptions { command, name: self.name.clone(), download_path: self.download_path.clone(), engine: engine_options(self.concurrency)? })
    }
}

impl PipelineCreateArgs {
    pub fn options(&self, command: &'static str) -> Result<crate::commands::pipeline_cmd::CreateOptions> {
        Ok(crate::commands::pipeline_cmd::CreateOptions {
            command,
            file: self.file.clone(),
            name: self.name.clone(),
            submit: self.submit,
            engine: engine_options(self.concurrency)?,
        })
    }
}

const LIST_LONG: &str = "\
List the versions in one workspace: name, version, type (models) or image/build context
(environments), stage and description. The workspace is -w NAME (with --subscription and -g) or
--from REF; with only --to given, that workspace is listed. --output json prints one document
(schemaVersion 1) with each version's REST properties.";

const DOWNLOAD_LONG: &str = "\
Download one asset version as an az ml v2 folder that `register` (or `az ml ... create -f`)
reads back:

  <download-path>/<name>/model.yml            model: path: points at the files beside it
  <download-path>/<name>/<file or folder>     the model's files, as `az ml model download` lays them out
  <download-path>/<name>/environment.yml      environment: image, conda_file, build.path, ...
  <download-path>/<name>/conda.yml            the conda file, byte for byte
  <download-path>/<name>/<context folder>/    the Docker build context

With --all-versions each version goes to <download-path>/<name>/<version>/. Every file is read
from the workspace's datastore, hashed (sha256) while it streams, and read back from disk; the
YAML is written only after all files of the version are verified. Files are written under a
temporary name and renamed into place, so nothing half-written carries a final name.

REST fields that the az ml YAML has no key for (jobName, isArchived, autoRebuild, an
environment's stage, ...) are kept under `extra_rest_fields` so that a register of the folder
recreates the version exactly.";

const REGISTER_LONG: &str = "\
Register an az ml v2 model or environment YAML in the workspace given by --to (the workspace you
write to, as in `copy`; -w NAME with --subscription and -g works too). --from is refused: it
always names a workspace that is read.

Local files (model path:, environment build.path:; a file or a folder) are uploaded to the
workspace's default blob datastore (or the YAML's datastore:) under LocalUpload/<fingerprint>/,
where the fingerprint is a hash of the files' names, sizes and sha256: a rerun writes to the same
place and files already there and verified are not sent again. Each file is hashed while it
streams and read back; the version is registered only after every file is verified. conda_file:
is read from disk and registered as its text, byte for byte.

A path: that is already in a datastore of the same workspace (azureml://datastores/<name>/paths/
<path>) is registered without upload after checking that files are there. References the tool
cannot read or verify are refused with the file and field named: other assets (azureml:<name>:
<version>), registries, job outputs, http(s)/wasbs URLs, missing local files.

data register: a remote path: (azureml://datastores/<name>/paths/..., https or wasbs) is
registered as given without reading it, as `az ml data create` does; --check-paths reads it
first (through the workspace's datastores) and refuses it (exit 2) when no files are there.

Version: --version, else the YAML's version:, else the next free number (as az ml does). If that
version exists with the same specification and files, nothing changes (status unchanged); if it
differs, nothing is written and the command fails (exit 2): registered versions are immutable.

Unknown YAML keys are an error, not silently dropped; the read-only keys `az ml ... show`
prints (id, creation_context, latest_version, utc_time_created, job_name) are ignored with a
warning.";

#[derive(Debug, Subcommand)]
pub enum AssetCommand {
    /// List versions (table, or --output json).
    #[command(long_about = LIST_LONG, after_help = EXIT_CODES_HELP)]
    List(AssetListArgs),
    /// Download a version: its files (sha256-verified) and its az ml YAML.
    #[command(long_about = DOWNLOAD_LONG, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Download(AssetDownloadArgs),
    /// Register an az ml YAML into --to: upload its local files (verified), then register.
    #[command(long_about = REGISTER_LONG, after_help = EXIT_CODES_HELP, disable_version_flag = true)]
    Register(AssetRegisterArgs),
}

#[derive(Debug, Args)]
pub struct AssetListArgs {
    /// Only names matching this pattern (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Only the latest version of each name.
    #[arg(long)]
    pub latest: bool,
}

impl AssetListArgs {
    pub fn options(&self, kind: crate::assets::Kind) -> crate::commands::assets_cmd::ListOptions {
        crate::commands::assets_cmd::ListOptions { kind, name: self.name.clone(), latest: self.latest }
    }
}

#[derive(Debug, Args)]
pub struct AssetDownloadArgs {
    /// Name of the asset.
    #[arg(short, long, value_name = "NAME")]
    pub name: String,
    /// Version to download [default: the latest].
    #[arg(long, value_name = "VERSION", conflicts_with = "all_versions")]
    pub version: Option<String>,
    /// Every version, each into <download-path>/<name>/<version>/.
    #[arg(long)]
    pub all_versions: bool,
    /// Folder to download into; the asset lands in <download-path>/<name>/.
    #[arg(short = 'p', long, default_value = ".", value_name = "DIR")]
    pub download_path: PathBuf,
    /// Files transferred at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

impl AssetDownloadArgs {
    pub fn options(&self, kind: crate::assets::Kind) -> Result<crate::commands::assets_cmd::DownloadOptions> {
        Ok(crate::commands::assets_cmd::DownloadOptions {
            kind,
            name: self.name.clone(),
            version: self.version.clone(),
            all_versions: self.all_versions,
            download_path: self.download_path.clone(),
            engine: engine_options(self.concurrency)?,
        })
    }
}

#[derive(Debug, Args)]
pub struct AssetRegisterArgs {
    /// The az ml v2 YAML file (model.schema.json or environment.schema.json).
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// Version to register [default: the YAML's version:, else the next free number].
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// data register only: read a remote path: (datastore URI, https or wasbs blob URL) through
    /// the workspace's datastores and refuse it when no files are there [default: registered as
    /// given, unread, as `az ml data create` does].
    #[arg(long)]
    pub check_paths: bool,
}

impl AssetRegisterArgs {
    pub fn options(&self, kind: crate::assets::Kind) -> Result<crate::commands::assets_cmd::RegisterOptions> {
        if let Some(v) = &self.version {
            if v.trim().is_empty() {
                return Err(Error::usage("--version is empty"));
            }
        }
        if self.check_paths && kind != crate::assets::Kind::Data {
            return Err(Error::usage(format!("--check-paths applies to data register only, not {kind} register")));
        }
        Ok(crate::commands::assets_cmd::RegisterOptions {
            kind,
            file: self.file.clone(),
            version: self.version.clone(),
            check_paths: self.check_paths,
            engine: engine_options(self.concurrency)?,
        })
    }
}

fn engine_options(concurrency: usize) -> Result<crate::transfer::EngineOptions> {
    if concurrency == 0 || concurrency > 256 {
        return Err(Error::usage("--concurrency must be between 1 and 256"));
    }
    Ok(crate::transfer::EngineOptions { concurrency, ..Default::default() })
}

const FAILOVER_LONG: &str = "\
Fail over from --from (the primary) to --to (the failover workspace) in one command.

1. Checks both sides: control planes, each default storage (with its datastore's credential) and
   the --snapshot bundle; the failover workspace must answer, the primary may not.
2. Primary answers: copies every asset kind in dependency order (as `copy`, with all its options),
   run outputs and logs (as `outputs copy`), and notebooks (as `notebooks copy`).
   Primary down: assets cannot be listed; with --snapshot BUNDLE (a pre-staged `snapshot export`)
   its assets are restored from the newest snapshot (verify-then-register, as `snapshot restore`;
   data assets get their YAML in --data-output-dir); run outputs are copied from its storage alone when --storage-account
   is given, from the RA-GRS secondary endpoint (credential: AML_FAILOVER_SOURCE_SAS,
   AML_FAILOVER_SOURCE_ACCOUNT_KEY, or an Entra token); notebooks wait (Azure Files has no
   readable secondary).
3. Writes failover-report.json (and each step's manifest) into --out-dir, prints each step's
   outcome and the manual steps left: data assets to re-register, pipelines to resubmit,
   endpoints to redeploy, code and configs to point at the failover workspace.

Exit code: the worst of the steps (0 all done; 1 partial, e.g. the primary was down or data
assets need re-registration; the error codes otherwise). Rerunning is safe: finished files and
registrations are skipped.";

#[derive(Debug, Args)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub copy: CopyArgs,
    /// Storage account of the primary, for run outputs when its control plane is down.
    #[arg(long, value_name = "NAME")]
    pub storage_account: Option<String>,
    /// The primary's workspace id (GUID), when its storage account holds several workspaces.
    #[arg(long, value_name = "GUID")]
    pub workspace_id: Option<String>,
    /// Where to read run outputs from storage: auto (the RA-GRS secondary when the primary is
    /// down), primary or secondary.
    #[arg(long, default_value = "auto", value_name = "auto|primary|secondary")]
    pub source_endpoint: String,
    /// Folder for failover-report.json and each step's manifest.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Leave run outputs out.
    #[arg(long)]
    pub skip_outputs: bool,
    /// Leave notebooks out.
    #[arg(long)]
    pub skip_notebooks: bool,
    /// A pre-staged snapshot bundle (directory or blob container URL): when the primary's
    /// control plane does not answer, its assets are restored from it (as `snapshot restore`).
    #[arg(long, value_name = "BUNDLE")]
    pub snapshot: Option<String>,
    /// Which snapshot of --snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID", requires = "snapshot")]
    pub snapshot_id: Option<String>,
}

impl FailoverArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::commands::failover::FailoverOptions> {
        use crate::commands::failover::SourceEndpoint;
        let source_endpoint = match self.source_endpoint.as_str() {
            "auto" => SourceEndpoint::Auto,
            "primary" => SourceEndpoint::Primary,
            "secondary" => SourceEndpoint::Secondary,
            other => return Err(Error::usage(format!("unknown --source-endpoint '{other}': use auto, primary or secondary"))),
        };
        crate::guard::writable_dir("--out-dir", &self.out_dir)?;
        Ok(crate::commands::failover::FailoverOptions {
            copy: self.copy.options(verbose)?,
            storage_account: self.storage_account.as_deref().map(crate::guard::storage_account).transpose()?,
            workspace_id: self.workspace_id.as_deref().map(crate::guard::workspace_id).transpose()?,
            source_endpoint,
            out_dir: self.out_dir.clone(),
            skip_outputs: self.skip_outputs,
            skip_notebooks: self.skip_notebooks,
            snapshot: self.snapshot.clone(),
            snapshot_id: self.snapshot_id.clone(),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum NotebooksCommand {
    /// List the notebook shares of a storage account: size, file count, last modified, snapshots.
    #[command(after_help = EXIT_CODES_HELP)]
    List(NotebooksArgs),
    /// Restore the notebooks of a workspace (deleted or not) from its storage account alone.
    #[command(long_about = NOTEBOOKS_LONG, after_help = EXIT_CODES_HELP)]
    Recover(NotebooksArgs),
    /// Copy the notebooks of --from into --to (or --to-dir), incrementally, verified.
    #[command(after_help = EXIT_CODES_HELP)]
    Copy(NotebooksArgs),
}

const NOTEBOOKS_LONG: &str = "\
Restore a workspace's notebooks (the Users/<name>/... tree) from its storage account alone; no
Azure ML API is needed, so this works after the workspace was deleted.

Notebooks live in an Azure Files share: code-391ff5ac-6576-460f-ba4d-7e03433c68b6 (the working
directory, current workspaces) or azureml-filestore-<workspaceId> (older ones). Without
--workspace-id or --share, the candidate shares are listed with size, file count, last modified
and snapshots, and nothing is copied. --snapshot <time> restores from a share snapshot, which may
hold files deleted since.

Destination: the --to workspace's working-directory share, or --to-dir. Paths are kept; every file
is verified by sha256; a name that would escape the destination (.., separators) is refused and
reported, never written. Credential for the source account: AML_FAILOVER_SOURCE_SAS, or
AML_FAILOVER_SOURCE_ACCOUNT_KEY, or an Entra token (--auth).";

#[derive(Debug, Args)]
pub struct NotebooksArgs {
    /// Storage account of the source workspace.
    #[arg(long, value_name = "NAME")]
    pub storage_account: Option<String>,
    /// The source workspace's id (GUID): picks its share.
    #[arg(long, value_name = "GUID")]
    pub workspace_id: Option<String>,
    /// The share to restore from, by name.
    #[arg(long, value_name = "NAME")]
    pub share: Option<String>,
    /// Restore from this share snapshot (see `notebooks list`).
    #[arg(long, value_name = "TIME")]
    pub snapshot: Option<String>,
    /// Read the source from its primary endpoint, or the RA-GRS secondary (<account>-secondary).
    #[arg(long, default_value = "primary", value_name = "primary|secondary")]
    pub source_endpoint: String,
    /// Restore into this local folder instead of a workspace.
    #[arg(long, value_name = "DIR")]
    pub to_dir: Option<PathBuf>,
    /// Show what would be restored; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Files copied at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Where to write the manifest [default: ./aml-failover-notebooks-<UTC time>.json].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

impl NotebooksArgs {
    pub fn options(&self, s: &Settings) -> Result<crate::commands::notebooks::NotebooksOptions> {
        use crate::commands::notebooks::Destination;
        let secondary = match self.source_endpoint.as_str() {
            "primary" => false,
            "secondary" => true,
            other => return Err(Error::usage(format!("unknown --source-endpoint '{other}': use primary or secondary"))),
        };
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(Error::usage("--concurrency must be between 1 and 256"));
        }
        if let Some(d) = &self.to_dir {
            crate::guard::writable_dir("--to-dir", d)?;
        }
        let destination = match (&self.to_dir, &s.to) {
            (Some(_), Some(_)) => return Err(Error::usage("give --to (a workspace) or --to-dir (a folder), not both")),
            (Some(d), None) => Some(Destination::Dir(d.clone())),
            (None, Some(_)) => Some(Destination::Workspace),
            (None, None) => None,
        };
        if let Some(m) = &self.manifest {
            crate::guard::writable_file("--manifest", m)?;
        }
        Ok(crate::commands::notebooks::NotebooksOptions {
            storage_account: self.storage_account.as_deref().map(crate::guard::storage_account).transpose()?,
            workspace_id: self.workspace_id.as_deref().map(crate::guard::workspace_id).transpose()?,
            share: self.share.clone(),
            snapshot: self.snapshot.clone(),
            secondary,
            destination,
            dry_run: self.dry_run,
            engine: crate::transfer::EngineOptions { concurrency: self.concurrency, ..Default::default() },
            manifest: self.manifest.clone(),
            show_all_items: s.verbose > 0,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum OutputsCommand {
    /// List jobs' outputs and logs in the source.
    #[command(after_help = EXIT_CODES_HELP)]
    List(OutputsArgs),
    /// Copy jobs' outputs and logs into the failover workspace (--to) or a folder (--to-dir), verified.
    #[command(long_about = OUTPUTS_LONG, after_help = EXIT_CODES_HELP)]
    Copy(OutputsArgs),
}

const OUTPUTS_LONG: &str = "\
Copy jobs' outputs and logs, read straight from the source workspace's storage.

Two ways in; the report says which was taken:
  --from WS                  through the control plane: the jobs list names the jobs and their
                             output URIs (filters: --job, --experiment, --since)
  --storage-account NAME     storage only, for when the control plane is down: jobs are found by
                             the layout Azure ML writes (default outputs in azureml-blobstore-<id>
                             under azureml/<job>/<output>/, logs in container azureml under
                             ExperimentRun/dcid.<job>/). Credential: AML_FAILOVER_SOURCE_SAS, or
                             AML_FAILOVER_SOURCE_ACCOUNT_KEY, or an Entra token (--auth).
                             --source-endpoint secondary reads the RA-GRS copy (<account>-secondary).
Give both and the tool falls back to storage when the control plane does not answer.

Destination layout: failover-outputs/<workspace id>/<job>/outputs/<output>/... and
failover-outputs/<workspace id>/<job>/artifacts/..., in the failover workspace's default datastore
(--to), a local folder (--to-dir), or any blob container (--to-url; its folder path, if given,
replaces failover-outputs); <workspace id> is the source workspace's GUID however it was reached
(control plane or storage only), so runs either way skip each other's files. --to must not be the
source (exit 2); the target workspace is locked while the command writes. Every file is verified by sha256; a rerun skips finished files.
--register-as-data registers each copied output folder as a uri_folder data asset
<job>-<output>:1 in the target, only after its files are verified. The source is only read.";

#[derive(Debug, Args)]
pub struct OutputsArgs {
    /// Storage account of the source workspace (storage-only access).
    #[arg(long, value_name = "NAME")]
    pub storage_account: Option<String>,
    /// The source workspace's id (GUID), to pick its containers in a shared storage account.
    #[arg(long, value_name = "GUID")]
    pub workspace_id: Option<String>,
    /// Read the source from its primary endpoint, or the RA-GRS secondary (<account>-secondary).
    #[arg(long, default_value = "primary", value_name = "primary|secondary")]
    pub source_endpoint: String,
    /// Only these jobs (repeatable; wildcards * and ?).
    #[arg(long = "job", value_name = "NAME")]
    pub jobs: Vec<String>,
    /// Only jobs of this experiment (control plane only).
    #[arg(long, value_name = "NAME")]
    pub experiment: Option<String>,
    /// Only jobs created at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z; control plane only).
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Copy into this local folder instead of a workspace.
    #[arg(long, value_name = "DIR")]
    pub to_dir: Option<PathBuf>,
    /// Copy into any blob container: https://<account>.blob.core.windows.net/<container>[/<folder>];
    /// its SAS in the URL or in AML_FAILOVER_TARGET_SAS, else an Entra token.
    #[arg(long, value_name = "URL")]
    pub to_url: Option<String>,
    /// Register each copied output folder as a data asset in the target workspace.
    #[arg(long)]
    pub register_as_data: bool,
    /// Show what would be copied; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Files copied at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Where to write the manifest [default: ./aml-failover-outputs-<UTC time>.json].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

impl OutputsArgs {
    pub fn options(&self, s: &Settings, copy: bool) -> Result<crate::commands::outputs::OutputsOptions> {
        use crate::commands::outputs::Destination;
        let secondary = match self.source_endpoint.as_str() {
            "primary" => false,
            "secondary" => true,
            other => return Err(Error::usage(format!("unknown --source-endpoint '{other}': use primary or secondary"))),
        };
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(Error::usage("--concurrency must be between 1 and 256"));
        }
        let since = self
            .since
            .as_deref()
            .map(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .map_err(|_| Error::usage(format!("--since '{t}' is not an RFC 3339 time such as 2026-11-01T00:00:00Z")))
            })
            .transpose()?;
        let destination = match (&self.to_dir, &self.to_url, &s.to) {
            (Some(d), None, None) => Some(Destination::Dir(d.clone())),
            (None, Some(u), None) => Some(Destination::Url(u.clone())),
            (None, None, Some(_)) => Some(Destination::Workspace),
            (None, None, None) if copy => {
                return Err(Error::usage("outputs copy needs --to (a workspace), --to-dir (a local folder) or --to-url (a blob container)"))
            }
            (None, None, None) => None,
            _ => return Err(Error::usage("give one destination: --to (a workspace), --to-dir (a folder) or --to-url (a blob container)")),
        };
        if let (Some(m), true) = (&self.manifest, copy) {
            crate::guard::writable_file("--manifest", m)?;
        }
        if let (Some(d), true) = (&self.to_dir, copy) {
            crate::guard::writable_dir("--to-dir", d)?;
        }
        Ok(crate::commands::outputs::OutputsOptions {
            storage_account: self.storage_account.as_deref().map(crate::guard::storage_account).transpose()?,
            workspace_id: self.workspace_id.as_deref().map(crate::guard::workspace_id).transpose()?,
            secondary,
            jobs: self.jobs.clone(),
            experiment: self.experiment.clone(),
            since,
            destination,
            register_as_data: self.register_as_data,
            dry_run: self.dry_run,
            engine: crate::transfer::EngineOptions { concurrency: self.concurrency, ..Default::default() },
            manifest: self.manifest.clone(),
            show_all_items: s.verbose > 0,
        })
    }
}

const PLAN_LONG: &str = "\
Print what `copy` (and the assets step of `failover`) would do, item by item, and write nothing:
the same as `copy --dry-run`, with the same options. Every selected asset version of --from is
compared with --to (specification, and the sha256 of every file, read only where no recorded
hash answers) and gets one action:
  copy          missing in the target: files copied and verified, then registered
  skip          identical in the target
  conflict      same name and version, other content: reported, not changed (see --on-conflict)
  overwrite / new-version   what --on-conflict asks for a conflict
  fail          cannot be read; the reason names it (a missing dependency names the chain)
  reregister / manual       data assets (see `copy --help`)
Components and pipelines list the references that would be rewritten to the target.
The human output lists every item, then one summary line; -o json prints the copy report
document (schemaVersion 1, command \"plan\", dryRun true). Exit codes as `copy` would end:
0 nothing in the way, 1 conflicts, failures or data assets needing manual re-registration.

Other commands that write have --dry-run: failover, outputs copy, notebooks copy|recover,
snapshot prune.

  aml-failover plan --from ./primary/config.json --to ./failover/config.json
  aml-failover plan --from ./primary/config.json --to ./failover/config.json --kinds models -o json";

const COPY_LONG: &str = "\
Copy assets from the --from workspace into the --to workspace: environments and code, then
components, then pipeline jobs (in dependency order); models independently; data assets as
described below. --kinds picks some (models, environments, code, components, pipelines, data);
what a selected item needs (a component's code and environment, a pipeline's components and
data) comes along.

References into the source workspace (ARM ids, azureml:/subscriptions/..., azureml://
subscriptions/.../workspaces/<source>/...) are rewritten to the target; registry references and
public URLs stay; the manifest lists every rewrite. A missing dependency fails the item and
names the chain (pipeline p → component c:1 → environment e:2 missing); nothing of it is
registered. Components that share a code asset share it in the target.

Pipeline jobs are recreated as definitions by default: a pipeline component named after the job
(version 1) with the job's graph, inputs and outputs; nothing runs. --submit creates the job in
the target instead, which starts a new run. Status, history and metrics never transfer.

Data assets: every copy that meets them warns that registered datasets must be re-registered in
the failover workspace. With --reregister-shared-data, those whose path is on a datastore both
workspaces reach (the same storage account and container, or --shared-datastore SRC[=TGT] for a
geo-replicated account) are registered in the target pointing at the same data, after checking
it is there. Every other one gets its az ml YAML, with the path it had, written to
--data-output-dir and the status needs-manual-reregistration: exit code 1 (partial) unless
--accept-data-warnings. Data is never copied silently: --copy-data copies uri_file/uri_folder
data on the source workspace's storage, verified like everything else.

Plan first: every selected asset version is compared with the target. Missing ones are copied;
identical ones (same name, version, specification and sha256 of every file) are skipped; a
version that exists with different content is a conflict, reported and never overwritten unless
--on-conflict says otherwise. --dry-run prints the plan and writes nothing.

Every file is hashed (sha256) while it streams and checked against the source's stored MD5 where
the service keeps one; at the target, the service's echo of each block's MD5 must match the bytes
that were hashed (a target that does not echo is read back; --verify full always reads back).
Server-side copy is used where the storage offers it, and its result is always read back. A version is registered in the target only after all its files are verified,
so a failure leaves nothing half-registered, and a rerun resumes (files already verified in the
target are not copied again). Versions keep their numbers; tags, properties, description, model
type, flavors, stage, image, conda file, build context and inference config come along.

Each run writes a manifest (JSON): every item and file with source and target URI, size, sha256
and the action taken. --output json prints the same document.";

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Asset kinds to copy, comma-separated: models, environments, code, components, pipelines, data (or all).
    #[arg(long, default_value = "all", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Only the latest version of each asset.
    #[arg(long, conflicts_with = "all_versions")]
    pub latest: bool,
    /// Every version of each asset (the default).
    #[arg(long)]
    pub all_versions: bool,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// When the target has the same name and version with different content:
    /// report (default: change nothing), overwrite, or new-version (register under the next free number).
    #[arg(long, default_value = "report", value_name = "POLICY")]
    pub on_conflict: String,
    /// Server-side copy where the storage offers it (auto), or always stream (never).
    #[arg(long, default_value = "auto", value_name = "auto|never")]
    pub server_side: String,
    /// Files copied at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Block size in MiB for streaming.
    #[arg(long, default_value_t = 4, value_name = "MIB")]
    pub block_size_mib: usize,
    /// File data held in memory at most, in MiB, across all files in flight.
    #[arg(long, default_value_t = 48, value_name = "MIB")]
    pub memory_mib: usize,
    /// How streamed copies are checked at the target: landed (the service's echo of each
    /// block's MD5 must match the bytes hashed with sha256; read back where it does not echo)
    /// or full (also read every file back and compare its sha256).
    #[arg(long, default_value = "landed", value_name = "landed|full")]
    pub verify: String,
    /// Where to write the manifest [default: ./aml-failover-manifest-<UTC time>.json].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Create pipeline jobs in the target (starts new runs) instead of registering their definitions.
    #[arg(long)]
    pub submit: bool,
    /// Re-register data assets whose path is on a datastore both workspaces reach.
    #[arg(long)]
    pub reregister_shared_data: bool,
    /// Source datastore SRC reaches the same data as target datastore TGT (default: same name); repeatable.
    #[arg(long, value_name = "SRC[=TGT]")]
    pub shared_datastore: Vec<String>,
    /// Folder for the az ml YAML of data assets that need manual re-registration.
    #[arg(long, default_value = "aml-failover-data", value_name = "DIR")]
    pub data_output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    #[arg(long)]
    pub accept_data_warnings: bool,
    /// Copy the files of uri_file/uri_folder data assets on the source workspace's storage (verified).
    #[arg(long)]
    pub copy_data: bool,
    /// Where the run journal (resume after a crash) and the lock of each target are kept
    /// [default: $XDG_STATE_HOME/aml-failover, else ~/.local/state/aml-failover].
    #[arg(long, value_name = "DIR", env = "AML_FAILOVER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

impl CopyArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::commands::copy::CopyOptions> {
        use crate::transfer::{EngineOptions, ServerSide};
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(Error::usage("--concurrency must be between 1 and 256"));
        }
        if self.block_size_mib == 0 || self.block_size_mib > 100 {
            return Err(Error::usage("--block-size-mib must be between 1 and 100 (Azure's block limit is 4000 MiB, memory is yours)"));
        }
        let server_side = match self.server_side.as_str() {
            "auto" => ServerSide::Auto,
            "never" => ServerSide::Never,
            other => return Err(Error::usage(format!("unknown --server-side '{other}': use auto or never"))),
        };
        let verify = match self.verify.as_str() {
            "landed" => crate::transfer::Verify::Landed,
            "full" => crate::transfer::Verify::Full,
            other => return Err(Error::usage(format!("unknown --verify '{other}': use landed or full"))),
        };
        if self.memory_mib < 2 * self.block_size_mib {
            return Err(Error::usage("--memory-mib must hold at least two blocks (2 x --block-size-mib)"));
        }
        crate::journal::set_state_dir(self.state_dir.clone());
        if let Some(m) = &self.manifest {
            crate::guard::writable_file("--manifest", m)?;
        }
        crate::guard::writable_dir("--data-output-dir", &self.data_output_dir)?;
        Ok(crate::commands::copy::CopyOptions {
            selection: crate::assets::Selection {
                kinds: crate::assets::Kind::parse_list(&self.kinds)?,
                name: self.name.clone(),
                latest_only: self.latest,
            },
            dry_run: self.dry_run,
            on_conflict: crate::plan::OnConflict::parse(&self.on_conflict)?,
            engine: EngineOptions {
                concurrency: self.concurrency,
                block_size: self.block_size_mib * 1024 * 1024,
                server_side,
                verify,
                memory_budget: self.memory_mib * 1024 * 1024,
                ..Default::default()
            },
            manifest: self.manifest.clone(),
            show_all_items: verbose > 0,
            submit: self.submit,
            data: crate::commands::copy::DataOptions {
                reregister_shared: self.reregister_shared_data,
                shared: self
                    .shared_datastore
                    .iter()
                    .map(|s| {
                        let (a, b) = s.split_once('=').unwrap_or((s.as_str(), s.as_str()));
                        if a.trim().is_empty() || b.trim().is_empty() {
                            return Err(Error::usage(format!("--shared-datastore '{s}': use SRC or SRC=TGT (datastore names)")));
                        }
                        Ok((a.trim().to_string(), b.trim().to_string()))
                    })
                    .collect::<Result<_>>()?,
                output_dir: self.data_output_dir.clone(),
                accept_warnings: self.accept_data_warnings,
                copy_data: self.copy_data,
            },
        })
    }
}

const VERIFY_LONG: &str = "\
Check that the --to (failover) workspace holds every asset version of the --from (primary)
workspace, identical, without changing anything: for the scheduled job that keeps a region ready.

Each selected version is compared with the target's version of the same name and number exactly
as `copy` plans it: specification, and the sha256 of every file (a target copy that records the
source version it was verified from is not read again). Each is reported as
  in-sync       identical in both
  missing       in the source, not in the target          -> `aml-failover copy` brings it over
  different     same name and version, other content      -> the reasons name the file or field
  extra         in the target, not in the source           (deleted in the primary, or made in the failover)
  unverifiable  the source's files could not be read
  unknown       the comparison failed: reading either side gave an error (in the reasons)
The human output lists only what drifted, then one summary line; -v lists everything. -o json
prints one document (schemaVersion 1, command \"verify\") with every item, its state and reasons.
Nothing is written, not even a manifest, unless --manifest FILE asks for the report there.

With a snapshot BUNDLE instead of --from:
  verify BUNDLE            the bundle itself: every file of every asset of the snapshot (the
                           newest, or --snapshot ID) is present and still has its sha256
                           (missing: a file is gone; different: a file is damaged)
  verify BUNDLE --to B     B against the snapshot: missing (restore would register it),
                           different (restore would refuse it), extra (in B, not in the snapshot);
                           --to must be typed here: AML_FAILOVER_TO and AML_FAILOVER_FROM from
                           the environment are not used with a BUNDLE

Exit 0: in sync. Exit 7: drifted (alert on it). Exit 1: nothing drifted, but some versions
could not be checked (unverifiable or unknown). Other codes: the run itself failed (see below).

  aml-failover verify --from ./primary/config.json --to ./failover/config.json -q -o json
  aml-failover verify /backups/aml -q
  aml-failover verify /backups/aml --to ./failover/config.json";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A snapshot bundle (directory or blob container URL) to check instead of --from: alone,
    /// its integrity (every file present, sha256 re-read); with --to, the workspace's drift
    /// from the snapshot.
    #[arg(value_name = "BUNDLE")]
    pub bundle: Option<String>,
    /// With BUNDLE: which snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID", requires = "bundle")]
    pub snapshot: Option<String>,
    /// Asset kinds to check, comma-separated: models, environments, code, components, pipelines, data (or all).
    #[arg(long, default_value = "all", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Also write the JSON report to this file (by default verify writes nothing).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

impl VerifyArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::commands::verify::VerifyOptions> {
        if let Some(m) = &self.manifest {
            crate::guard::writable_file("--manifest", m)?;
        }
        Ok(crate::commands::verify::VerifyOptions {
            bundle: self.bundle.clone(),
            snapshot: self.snapshot.clone(),
            kinds: crate::assets::Kind::parse_list(&self.kinds)?,
            name: self.name.clone(),
            manifest: self.manifest.clone(),
            show_all_items: verbose > 0,
        })
    }
}

const SNAPSHOT_EXPORT_LONG: &str = "\
Export --from into a snapshot bundle at --to: a local directory or a blob container URL
(https://<account>.blob.core.windows.net/<container>[/<folder>], SAS in the URL or in
AML_FAILOVER_TARGET_SAS, else an Entra token).

Every kind by default (--kinds selects): models, environments and code with their files;
components (their specification; the code and environments they reference are exported too,
whatever --name/--kinds select); pipeline jobs as their definition (the pipeline component
`copy` registers, named after the job, version 1); data assets as their specification and az ml
YAML only (their data is never copied). A reference missing in the source fails the export.

Bundle layout:
  objects/sha256/<aa>/<sha256>       each distinct file once, named by its sha256
  snapshots/<id>/manifest.json       every asset version: kind, name, version, REST properties,
                                     az ml YAML, files (path, size, sha256)

Files already in the bundle are not written again; files whose source version (URI + ETag) is
unchanged since the last snapshot are not even read. A second export with nothing changed
writes only a new manifest. The manifest is written last: a failed export leaves no snapshot
(exit 1), and a rerun resumes.

  aml-failover snapshot export --from ./primary/config.json --to /backups/aml -q";

const SNAPSHOT_RESTORE_LONG: &str = "\
Register a snapshot's assets in --to without contacting the source workspace: each version's
files are uploaded to the default blob datastore (verified by sha256), then it is registered.
Components and pipeline definitions come after what they reference, with references to the
source workspace rewritten to --to (registry references and URLs stay). A version already there
with the same specification and files is left alone; one that differs is a conflict (reported,
exit 1, never overwritten), and nothing that references it is registered. Rerunning is safe.

Data assets are never registered (their path may be storage --to cannot reach): each gets its
az ml YAML in --data-output-dir and the status needs-manual-reregistration (exit 1 unless
--accept-data-warnings); re-register it once its data is reachable (az ml data create -f).

  aml-failover snapshot restore /backups/aml --to ./failover/config.json";

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write a snapshot of --from (every asset kind by default) into a bundle at --to.
    #[command(long_about = SNAPSHOT_EXPORT_LONG, after_help = EXIT_CODES_HELP)]
    Export(SnapshotExportArgs),
    /// Register a snapshot (the newest by default) into --to; the source workspace is not needed.
    #[command(long_about = SNAPSHOT_RESTORE_LONG, after_help = EXIT_CODES_HELP)]
    Restore(SnapshotRestoreArgs),
    /// List the snapshots of a bundle, oldest first.
    #[command(after_help = EXIT_CODES_HELP)]
    List(SnapshotBundleArg),
    /// Delete old snapshots, then every stored file no remaining snapshot references.
    ///
    /// With both --keep and --older-than, a snapshot is deleted only when it is outside the
    /// newest N and older than DURATION. Do not run it while an export writes to the bundle.
    #[command(after_help = EXIT_CODES_HELP)]
    Prune(SnapshotPruneArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotExportArgs {
    /// Asset kinds, comma-separated: models, environments, code, components, pipelines, data (or all).
    #[arg(long, default_value = "models,environments,code,components,pipelines,data", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Files transferred in parallel.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

impl SnapshotExportArgs {
    /// `to`: the global --to, which names the bundle here.
    pub fn options(&self, to: Option<&str>) -> Result<crate::commands::snapshot::ExportOptions> {
        let bundle = to.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::usage("snapshot export needs --to <directory | blob container URL> (the bundle)")
        })?;
        if bundle.ends_with(".json") || std::path::Path::new(bundle).is_file() {
            return Err(Error::usage(format!(
                "snapshot export --to '{bundle}' looks like a workspace config; --to names the bundle here: a directory or a blob container URL"
            )));
        }
        Ok(crate::commands::snapshot::ExportOptions {
            bundle: bundle.to_string(),
            kinds: crate::commands::snapshot::check_kinds(crate::assets::Kind::parse_list(&self.kinds)?)?,
            name: self.name.clone(),
            engine: engine_options(self.concurrency)?,
        })
    }
}

#[derive(Debug, Args)]
pub struct SnapshotRestoreArgs {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
    /// Which snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Only these kinds of the snapshot, and what they reference (models, environments, code,
    /// components, pipelines, data).
    #[arg(long, value_name = "KINDS")]
    pub kinds: Option<String>,
    /// Files transferred in parallel.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Folder for the az ml YAML of data assets that need manual re-registration.
    #[arg(long, default_value = "aml-failover-data", value_name = "DIR")]
    pub data_output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    #[arg(long)]
    pub accept_data_warnings: bool,
}

impl SnapshotRestoreArgs {
    pub fn options(&self) -> Result<crate::commands::snapshot::RestoreCommand> {
        crate::guard::writable_dir("--data-output-dir", &self.data_output_dir)?;
        Ok(crate::commands::snapshot::RestoreCommand {
            restore: crate::commands::snapshot::RestoreOptions {
                bundle: self.bundle.clone(),
                snapshot: self.snapshot.clone(),
                kinds: self.kinds.as_deref().map(crate::assets::Kind::parse_list).transpose()?,
                engine: engine_options(self.concurrency)?,
            },
            data: crate::commands::snapshot::DataRestoreOptions { output_dir: self.data_output_dir.clone(), accept_warnings: self.accept_data_warnings },
        })
    }
}

#[derive(Debug, Args)]
pub struct SnapshotBundleArg {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
}

#[derive(Debug, Args)]
pub struct SnapshotPruneArgs {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Delete snapshots older than this: 30d, 12h, 90m, 45s, 2w.
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<String>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl SnapshotPruneArgs {
    pub fn options(&self) -> Result<crate::commands::snapshot::PruneOptions> {
        Ok(crate::commands::snapshot::PruneOptions {
            bundle: self.bundle.clone(),
            keep: self.keep,
            older_than: self.older_than.as_deref().map(crate::storage::bundle::parse_duration).transpose()?,
            dry_run: self.dry_run,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Show a workspace: region, storage account, default datastores, asset counts, storage reachability.
    ///
    /// Shows --from, --to, or both (use -w NAME for a single workspace by name).
    #[command(after_help = EXIT_CODES_HELP)]
    Show,
}

/// The validated form of the global options.
#[derive(Debug, Clone)]
pub struct Settings {
    pub connect: ConnectOptions,
    pub output: OutputFormat,
    pub quiet: bool,
    pub verbose: u8,
    pub from: Option<WorkspaceRef>,
    pub to: Option<WorkspaceRef>,
    /// The single workspace came from -w/--workspace-name rather than --from.
    pub from_is_workspace_name: bool,
    /// --from / --to were typed on the command line (not from AML_FAILOVER_FROM/_TO).
    pub from_on_command_line: bool,
    pub to_on_command_line: bool,
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
        let auth = AuthMethod::parse(&g.auth)?;
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
            output: g.output,
            quiet: g.quiet,
            verbose: g.verbose,
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
