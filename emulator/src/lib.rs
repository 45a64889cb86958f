//! Local Azure Resource Manager + Azure ML v2 control-plane emulator for aml-failover's tests.
//!
//! [`start`] serves the Workspaces, Datastores, asset (models, environments, components,
//! codes, data) and Jobs operations of the 2025-12-01 spec over HTTPS with a generated CA,
//! an Entra ID–like token endpoint, fault injection and request counters.
//! [`testbed::TestBed`] starts Azurite and the emulator with two workspaces for integration tests.
//! [`files::FilesServer`] is a local Azure Files (FileREST) service for the notebooks shares.

pub mod admin;
pub mod arm;
pub mod auth;
pub mod azurite;
pub mod blob;
pub mod config;
pub mod faults;
pub mod files;
pub mod resources;
pub mod routes;
pub mod seed;
pub mod server;
pub mod storage_proxy;
pub mod store;
pub mod testbed;
pub mod tls;

pub use config::{EmulatorConfig, ServicePrincipal, StorageAccount, WorkspaceSpec};
pub use faults::{Fault, FaultKind};
pub use server::{start, RunningEmulator};
pub use storage_proxy::{StorageFault, StorageFaultKind, StorageProxy};
