//! Jobs' outputs and logs, read straight from the source workspace's storage (through the
//! control plane's job list, or by Azure ML's storage layout alone) and copied, verified.

use crate::transfer::EngineOptions;
use std::path::PathBuf;

/// Where `outputs copy` writes.
#[derive(Debug, Clone)]
pub enum Destination {
    Workspace,
    Dir(PathBuf),
    /// Any blob container URL, optionally with a folder path and a SAS query.
    Url(String),
}

#[derive(Debug, Clone)]
pub struct OutputsOptions {
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub secondary: bool,
    pub jobs: Vec<String>,
    pub experiment: Option<String>,
    pub since: Option<time::OffsetDateTime>,
    pub destination: Option<Destination>,
    pub register_as_data: bool,
    pub dry_run: bool,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}
