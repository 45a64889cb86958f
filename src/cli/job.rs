//! Arguments of `job` and `pipeline`: get, create.

use super::engine_options;
use crate::error::{Result, EXIT_CODES_HELP};
use crate::help;
use clap::{Args, Subcommand};
use std::path::PathBuf;

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
    pub fn options(&self, command: &'static str) -> Result<crate::assets::options::GetOptions> {
        Ok(crate::assets::options::GetOptions { command, name: self.name.clone(), download_path: self.download_path.clone(), engine: engine_options(self.concurrency)? })
    }
}

impl PipelineCreateArgs {
    pub fn options(&self, command: &'static str) -> Result<crate::assets::options::CreateOptions> {
        Ok(crate::assets::options::CreateOptions {
            command,
            file: self.file.clone(),
            name: self.name.clone(),
            submit: self.submit,
            engine: engine_options(self.concurrency)?,
        })
    }
}
