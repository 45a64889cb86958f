//! The validated options of the single-kind asset operations (list, download, register; job
//! get and create), built by `cli` and taken by the library and the commands that run them.

use super::Kind;
use crate::transfer::EngineOptions;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ListOptions {
    pub kind: Kind,
    pub name: Option<String>,
    pub latest: bool,
}

#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub kind: Kind,
    pub name: String,
    pub version: Option<String>,
    pub all_versions: bool,
    pub download_path: PathBuf,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct RegisterOptions {
    pub kind: Kind,
    pub file: PathBuf,
    pub version: Option<String>,
    /// data: read a remote path before registering it (`--check-paths`).
    pub check_paths: bool,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct GetOptions {
    /// "job get" or "pipeline get" (the latter refuses other job types).
    pub command: &'static str,
    pub name: String,
    pub download_path: PathBuf,
    pub engine: EngineOptions,
}

#[derive(Debug, Clone)]
pub struct CreateOptions {
    /// "job create" or "pipeline create".
    pub command: &'static str,
    pub file: PathBuf,
    pub name: Option<String>,
    pub submit: bool,
    pub engine: EngineOptions,
}
