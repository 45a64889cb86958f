//! Arguments of `failover`.

use super::CopyArgs;
use crate::error::{Error, Result};
use clap::Args;
use std::path::PathBuf;

pub(super) const FAILOVER_LONG: &str = "\
Fail over from --from (the primary) to --to (the failover workspace) in one command.

1. Checks both sides: control planes, each default storage (with its datastore's credential) and
   the --snapshot bundle; the failover workspace must answer, the primary may not.
2. Primary answers: copies every asset kind in dependency order (as `copy`, with all its options),
   run outputs and logs (as `outputs copy`), and notebooks (as `notebooks copy`).
   Primary down: assets cannot be listed; with --snapshot BUNDLE (a pre-staged `snapshot export`)
   its assets are restored from the newest snapshot (verify-then-register, as `snapshot restore`;
   data assets get their YAML in --data-output-dir); run outputs are copied from its storage alone when --storage-account
   is given, from the RA-GRS secondary endpoint (credential: AML_FAILOVER_SOURCE_SAS,
   AML_FAILOVER_SOURCE_ACCOUNT_KEY, or an Entra token); notebooks wait (Azure Files has no
   readable secondary).
   The workspace's definitions come along as with `copy` (datastores, connections, computes,
   batch endpoints; online endpoints with --deploy-endpoints), and the failover workspace's
   schedules are enabled (pre-staged disabled by `copy`; --no-enable-schedules leaves them).
   Primary down: the schedules pre-staged in the failover workspace are enabled.
3. Writes failover-report.json (and each step's manifest) into --out-dir, prints each step's
   outcome and the manual steps left: data assets to re-register, pipelines to resubmit,
   secret-bearing datastores and connections (without --with-secrets), online endpoints to
   create (without --deploy-endpoints), compute instances and unmapped subnets, schedules to
   disable again when failing back, code and configs to point at the failover workspace.

Exit code: the worst of the steps (0 all done; 1 partial, e.g. the primary was down or data
assets need re-registration; the error codes otherwise). Rerunning is safe: finished files and
registrations are skipped.";

#[derive(Debug, Args)]
pub struct FailoverArgs {
    #[command(flatten)]
    pub copy: CopyArgs,
    /// Storage account of the primary, for run outputs when its control plane is down.
    #[arg(long, value_name = "NAME")]
    pub storage_account: Option<String>,
    /// The primary's workspace id (GUID), when its storage account holds several workspaces.
    #[arg(long, value_name = "GUID")]
    pub workspace_id: Option<String>,
    /// Where to read run outputs from storage: auto (the RA-GRS secondary when the primary is
    /// down), primary or secondary.
    #[arg(long, default_value = "auto", value_name = "auto|primary|secondary")]
    pub source_endpoint: String,
    /// Folder for failover-report.json and each step's manifest.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// Leave run outputs out.
    #[arg(long)]
    pub skip_outputs: bool,
    /// Leave notebooks out.
    #[arg(long)]
    pub skip_notebooks: bool,
    /// A pre-staged snapshot bundle (directory or blob container URL): when the primary's
    /// control plane does not answer, its assets are restored from it (as `snapshot restore`).
    #[arg(long, value_name = "BUNDLE")]
    pub snapshot: Option<String>,
    /// Create the online endpoints and deployments now (the same as --deploy): a warm copy
    /// pre-staged as YAML becomes a serving one. Batch endpoints are always created.
    #[arg(long)]
    pub deploy_endpoints: bool,
    /// Leave the pre-staged schedules of the failover workspace disabled [default: enabled, so
    /// the primary's recurring jobs run there; disable them again when failing back].
    #[arg(long)]
    pub no_enable_schedules: bool,
    /// Which snapshot of --snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID", requires = "snapshot")]
    pub snapshot_id: Option<String>,
}

impl FailoverArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::failover::FailoverOptions> {
        use crate::failover::SourceEndpoint;
        let source_endpoint = match self.source_endpoint.as_str() {
            "auto" => SourceEndpoint::Auto,
            "primary" => SourceEndpoint::Primary,
            "secondary" => SourceEndpoint::Secondary,
            other => return Err(Error::usage(format!("unknown --source-endpoint '{other}': use auto, primary or secondary"))),
        };
        crate::guard::writable_dir("--out-dir", &self.out_dir)?;
        let mut copy = self.copy.options(verbose)?;
        copy.estate.deploy_online |= self.deploy_endpoints;
        if !self.no_enable_schedules {
            copy.estate.copy.schedules = crate::assets::definition::ScheduleState::Enabled;
        }
        Ok(crate::failover::FailoverOptions {
            enable_schedules: !self.no_enable_schedules,
            copy,
            storage_account: self.storage_account.as_deref().map(crate::guard::storage_account).transpose()?,
            workspace_id: self.workspace_id.as_deref().map(crate::guard::workspace_id).transpose()?,
            source_endpoint,
            out_dir: self.out_dir.clone(),
            skip_outputs: self.skip_outputs,
            skip_notebooks: self.skip_notebooks,
            snapshot: self.snapshot.clone(),
            snapshot_id: self.snapshot_id.clone(),
        })
    }
}
