//! Arguments of `model`, `environment`, `component`, `data`: list, download, register.

use super::engine_options;
use crate::error::{Error, Result, EXIT_CODES_HELP};
use crate::help;
use clap::{Args, Subcommand};
use std::path::PathBuf;

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
    Register(DataRegisterArgs),
}

pub(super) const LIST_LONG: &str = "\
List the versions in one workspace: name, version, type (models) or image/build context
(environments), stage and description. The workspace is -w NAME (with --subscription and -g) or
--from REF; with only --to given, that workspace is listed. --output json prints one document
(schemaVersion 1) with each version's REST properties.";

pub(super) const DOWNLOAD_LONG: &str = "\
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

pub(super) const REGISTER_LONG: &str = "\
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
    pub fn options(&self, kind: crate::assets::Kind) -> crate::assets::options::ListOptions {
        crate::assets::options::ListOptions { kind, name: self.name.clone(), latest: self.latest }
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
    pub fn options(&self, kind: crate::assets::Kind) -> Result<crate::assets::options::DownloadOptions> {
        Ok(crate::assets::options::DownloadOptions {
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
    /// The az ml v2 YAML file to register.
    #[arg(short, long, value_name = "FILE")]
    pub file: PathBuf,
    /// Version to register [default: the YAML's version:, else the next free number].
    #[arg(long, value_name = "VERSION")]
    pub version: Option<String>,
    /// Files uploaded at once.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

/// `data register`: the common arguments and `--check-paths`, which only a data asset has (a
/// remote path).
#[derive(Debug, Args)]
pub struct DataRegisterArgs {
    #[command(flatten)]
    pub register: AssetRegisterArgs,
    /// Read a remote path: (datastore URI, https or wasbs blob URL) through the workspace's
    /// datastores and refuse it when no files are there [default: registered as given, unread,
    /// as `az ml data create` does].
    #[arg(long)]
    pub check_paths: bool,
}

impl DataRegisterArgs {
    pub fn options(&self, kind: crate::assets::Kind) -> Result<crate::assets::options::RegisterOptions> {
        Ok(crate::assets::options::RegisterOptions { check_paths: self.check_paths, ..self.register.options(kind)? })
    }
}

impl AssetRegisterArgs {
    pub fn options(&self, kind: crate::assets::Kind) -> Result<crate::assets::options::RegisterOptions> {
        if let Some(v) = &self.version {
            if v.trim().is_empty() {
                return Err(Error::usage("--version is empty"));
            }
        }
        Ok(crate::assets::options::RegisterOptions {
            kind,
            file: self.file.clone(),
            version: self.version.clone(),
            check_paths: false,
            engine: engine_options(self.concurrency)?,
        })
    }
}
