//! Arguments of `outputs list|copy`.

use crate::error::{Error, Result, EXIT_CODES_HELP};
use crate::settings::Settings;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum OutputsCommand {
    /// List jobs' outputs and logs in the source.
    #[command(after_help = EXIT_CODES_HELP)]
    List(OutputsArgs),
    /// Copy jobs' outputs and logs into the failover workspace (--to) or a folder (--to-dir), verified.
    #[command(long_about = OUTPUTS_LONG, after_help = EXIT_CODES_HELP)]
    Copy(OutputsArgs),
}

pub(super) const OUTPUTS_LONG: &str = "\
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
    pub fn options(&self, s: &Settings, copy: bool) -> Result<crate::outputs::OutputsOptions> {
        use crate::outputs::Destination;
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
        Ok(crate::outputs::OutputsOptions {
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
            show_all_items: s.printer.show_all_items(),
        })
    }
}
