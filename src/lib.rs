//! aml-failover as a library: the binary (`src/main.rs`) is parse → dispatch → exit code.
//!
//! The one flow every command follows: resolve workspaces → enumerate → plan → transfer
//! (verify sha256) → register → report. This first slice has the resolving stage
//! (`workspace`), the control-plane client (`azureml`) and the storage groundwork (`storage`).

pub mod assets;
pub mod atomic;
pub mod azure;
pub mod azureml;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod compare;
pub mod drift;
pub mod error;
pub mod estate;
pub mod execute;
pub mod failover;
pub mod folder;
pub mod guard;
pub mod help;
pub mod http;
pub mod journal;
pub mod lease;
pub mod notebooks;
pub mod outputs;
pub mod plan;
pub mod readiness;
pub mod redact;
pub mod report;
pub mod settings;
pub mod storage;
pub mod transfer;
pub mod wire;
pub mod workspace;
pub mod workspace_show;
