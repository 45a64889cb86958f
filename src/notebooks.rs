//! Notebooks: the Users/<name>/... tree of a workspace's Azure Files share, listed, recovered
//! from the storage account alone, or copied between workspaces, verified.

use crate::transfer::EngineOptions;
use std::path::PathBuf;

/// Where `notebooks recover|copy` writes.
#[derive(Debug, Clone)]
pub enum Destination {
    Workspace,
    Dir(PathBuf),
}

#[derive(Debug, Clone)]
pub struct NotebooksOptions {
    pub storage_account: Option<String>,
    pub workspace_id: Option<String>,
    pub share: Option<String>,
    pub snapshot: Option<String>,
    pub secondary: bool,
    pub destination: Option<Destination>,
    pub dry_run: bool,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
}
