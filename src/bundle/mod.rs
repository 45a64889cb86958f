//! Snapshot bundles as a library: export a workspace into a content-addressed bundle, restore a
//! snapshot into a workspace, list and prune the snapshots of a bundle. Each returns a typed
//! report; `commands::snapshot` renders it.

use crate::assets::Kind;
use crate::error::{Error, Result};
use crate::transfer::EngineOptions;
use std::path::PathBuf;

/// Kinds a snapshot can hold: every kind (pipelines as their definition, data as YAML only).
pub const SNAPSHOT_KINDS: &[Kind] = Kind::ALL;

#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The bundle: a local directory or a blob container URL (from `--to`).
    pub bundle: String,
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub bundle: String,
    pub snapshot: Option<String>,
    pub kinds: Option<Vec<Kind>>,
    pub engine: EngineOptions,
}

/// What a restore does with data assets (never registered: see the module doc).
#[derive(Debug, Clone)]
pub struct DataRestoreOptions {
    /// Where the `az ml` YAML of each data asset to re-register is written.
    pub output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    pub accept_warnings: bool,
}

impl Default for DataRestoreOptions {
    fn default() -> Self {
        DataRestoreOptions { output_dir: PathBuf::from("aml-failover-data"), accept_warnings: false }
    }
}

/// `snapshot restore`'s options.
#[derive(Debug, Clone)]
pub struct RestoreCommand {
    pub restore: RestoreOptions,
    pub data: DataRestoreOptions,
}

#[derive(Debug, Clone)]
pub struct PruneOptions {
    pub bundle: String,
    pub keep: Option<usize>,
    pub older_than: Option<std::time::Duration>,
    pub dry_run: bool,
}

/// Checks `--kinds` for snapshots.
pub fn check_kinds(kinds: Vec<Kind>) -> Result<Vec<Kind>> {
    let bad: Vec<String> = kinds.iter().filter(|k| !SNAPSHOT_KINDS.contains(k)).map(|k| k.plural().to_string()).collect();
    if !bad.is_empty() {
        return Err(Error::usage(format!("snapshots cannot hold {} (use `copy` for those)", bad.join(", "))));
    }
    Ok(kinds)
}
