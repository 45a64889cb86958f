//! The failover runbook as a library: check both sides, copy every asset kind (or restore them
//! from a snapshot when the primary is down), run outputs and notebooks, list the manual steps.

use crate::plan::CopyOptions;
use std::path::PathBuf;

/// `--source-endpoint` for the storage-only step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceEndpoint {
    /// Primary while the source answers, the RA-GRS secondary when it does not.
    Auto,
    Primary,
    Secondary,
}

#[derive(Debug, Clone)]
pub struct FailoverOptions {
    pub copy: CopyOptions,
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub source_endpoint: SourceEndpoint,
    pub out_dir: PathBuf,
    pub skip_outputs: bool,
    pub skip_notebooks: bool,
    /// A snapshot bundle to restore the assets from when the primary does not answer.
    pub snapshot: Option<String>,
    /// Which snapshot of the bundle (default: the newest).
    pub snapshot_id: Option<String>,
}
