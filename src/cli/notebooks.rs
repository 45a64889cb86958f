//! Arguments of `notebooks list|recover|copy`.

use crate::error::{Error, Result, EXIT_CODES_HELP};
use crate::settings::Settings;
use clap::{Args, Subcommand};
use std::path::PathBuf;

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

pub(super) const NOTEBOOKS_LONG: &str = "\
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
    pub fn options(&self, s: &Settings) -> Result<crate::notebooks::NotebooksOptions> {
        use crate::notebooks::Destination;
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
        Ok(crate::notebooks::NotebooksOptions {
            storage_account: self.storage_account.as_deref().map(crate::guard::storage_account).transpose()?,
            workspace_id: self.workspace_id.as_deref().map(crate::guard::workspace_id).transpose()?,
            share: self.share.clone(),
            snapshot: self.snapshot.clone(),
            secondary,
            destination,
            dry_run: self.dry_run,
            engine: crate::transfer::EngineOptions { concurrency: self.concurrency, ..Default::default() },
            manifest: self.manifest.clone(),
            show_all_items: s.printer.show_all_items(),
        })
    }
}
