//! The `az ml` folder side of single assets: a workspace's asset written as a folder of YAML
//! and files (`download`, `get`), and such a folder registered in a workspace (`register`,
//! `create`). One module per verb family; each returns a typed report that the command
//! renders (`src/commands/`), and nothing here prints.
//!
//! - [`upload`]: local files read and hashed ([`upload::LocalContent`]), uploaded (verified)
//!   as `az ml` uploads them, local code registered as `code-<fingerprint>`;
//! - [`component`]: a component's specification ⇄ `component.yml` + its code; environments and
//!   components of a workspace checked and `@latest` pinned; a pipeline's local steps;
//! - [`listing`], [`download`], [`register`]: `<kind> list`, `model|environment download|register`;
//! - [`component`] and [`data`] also: `component|data download|register`;
//! - [`job`]: `job|pipeline get|create`.

pub mod component;
pub mod data;
pub mod download;
pub mod job;
pub mod listing;
pub mod register;
pub mod upload;

use crate::assets::{self, AssetItem, Kind, Selection};
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::transfer::{Engine, EngineOptions, FileDone, FileJob, Silent};
use crate::workspace::{Context, WorkspaceRef};
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// `schemaVersion` of the documents the verbs here report.
pub const SCHEMA_VERSION: u32 = 1;

/// The schema of their `schemaVersion` (`#[schemars(schema_with = "super::version")]`).
pub(crate) fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// How a verb runs its file transfers: the command's printer (a progress bar for people).
#[async_trait]
pub trait Transfers: Send + Sync {
    async fn run(&self, engine: &EngineOptions, jobs: &[FileJob]) -> Vec<Result<FileDone>>;
}

/// The workspace a verb reads from or writes to, with what moves files there.
pub struct Target<'a> {
    pub ctx: &'a Context,
    pub ws: &'a WorkspaceRef,
    pub ds: &'a Datastores,
    pub engine: &'a EngineOptions,
    pub transfers: &'a dyn Transfers,
    /// Hashes local files and compares remote ones, without progress.
    pub quiet: Engine,
}

impl<'a> Target<'a> {
    pub fn new(ctx: &'a Context, ws: &'a WorkspaceRef, ds: &'a Datastores, engine: &'a EngineOptions, transfers: &'a dyn Transfers) -> Target<'a> {
        Target { ctx, ws, ds, engine, transfers, quiet: Engine::new(engine.clone(), Arc::new(Silent)) }
    }

    /// Runs transfers with the command's progress.
    pub async fn run(&self, jobs: &[FileJob]) -> Vec<Result<FileDone>> {
        self.transfers.run(self.engine, jobs).await
    }
}

/// One file a verb wrote, verified.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[schemars(inline, deny_unknown_fields)]
pub struct FileHash {
    pub path: String,
    pub size: u64,
    /// sha256 of the bytes, lowercase hex
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: String,
}

/// The resource at `path`, or `None` when the service says it does not exist.
pub(crate) async fn get_opt(ctx: &Context, path: String) -> Result<Option<Value>> {
    match ctx.arm.get(&path).await {
        Ok(v) => Ok(Some(v)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The version `version` of `name` (else its latest), or a not-found error naming it.
pub(crate) async fn pick(ctx: &Context, ws: &WorkspaceRef, kind: Kind, name: &str, version: Option<&str>) -> Result<AssetItem> {
    let sel = Selection { kinds: vec![kind], name: Some(name.to_string()), latest_only: version.is_none() };
    let mut items = assets::list_versions(&ctx.arm, ws, &sel).await?;
    items.retain(|i| i.name == name && version.is_none_or(|v| i.version == v));
    items.pop().ok_or_else(|| {
        let v = version.map(|v| format!(" version {v}")).unwrap_or_default();
        Error::NotFound(format!("{kind} '{name}'{v} does not exist in workspace {}", ws.workspace_name))
    })
}

pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    crate::atomic::write(path, data).map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

pub(crate) fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::usage(format!("cannot create {}: {e}", dir.display())))
}

pub fn read_yaml(path: &Path) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::usage(format!("cannot read {}: {e}", path.display())))?;
    serde_norway::from_str(&text).map_err(|e| Error::usage(format!("{}: not YAML: {e}", path.display())))
}

pub fn to_yaml(v: &Value) -> Result<String> {
    serde_norway::to_string(v).map_err(|e| Error::Internal(format!("YAML: {e}")))
}
