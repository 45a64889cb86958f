//! Arguments of `readiness`.

use crate::error::{Error, Result};
use crate::settings::Settings;
use clap::Args;

pub(super) const READINESS_LONG: &str = "\
Check that --from (the primary) and --to (the failover workspace) are ready for a regional
failover, as Microsoft's disaster-recovery guidance for Azure ML asks, reading every fact from
the control planes (Azure ML, the Storage and Container Registry resource providers): both
answer; different regions; separate storage accounts, the primary's geo-redundant with read
access (SKU, geoReplicationStats) and allowSharedKeyAccess against the credential the tool will
use; other datastores; one Key Vault; one Premium registry replicated into the failover region;
Application Insights; compute clusters, VM sizes and quota in the failover region; online
endpoints and schedules (--tier hot|warm); assets (verify of the pair, or of the newest snapshot
with --snapshot); RPO: the newest snapshot (or last complete copy) and the storage's lastSyncTime.

One line per check: pass, warn or FAIL, the evidence read and the fix (an az command or portal
setting). A check whose source cannot be read is a warning, never a pass. Writes nothing.

Exit 0: ready. Exit 1: warnings only. Exit 7: not ready (a FAIL). Other codes: the check itself
failed (see below).

  aml-failover readiness --from ./primary/config.json --to ./failover/config.json
  aml-failover readiness --from ./primary/config.json --to ./failover/config.json --tier cold --snapshot /backups/aml --max-rpo 24h -q -o json";

#[derive(Debug, Args)]
pub struct ReadinessArgs {
    /// The disaster-recovery tier the pair is meant for: hot and warm need endpoints, compute and
    /// assets already in the failover workspace; cold restores assets from a snapshot.
    #[arg(long, value_enum, default_value = "warm")]
    pub tier: crate::readiness::Tier,
    /// A snapshot bundle (directory or blob container URL): its newest snapshot is the assets'
    /// RPO and what the failover workspace is compared with.
    #[arg(long, value_name = "BUNDLE")]
    pub snapshot: Option<String>,
    /// Fail when a failover now would lose more than this (30m, 1h, 1d): the newest snapshot or
    /// copy, or the storage's lastSyncTime, older than it.
    #[arg(long, value_name = "DURATION")]
    pub max_rpo: Option<String>,
}

impl ReadinessArgs {
    pub fn options(&self, settings: &Settings) -> Result<crate::readiness::Options> {
        let max_rpo = self
            .max_rpo
            .as_deref()
            .map(|d| humantime::parse_duration(d).map_err(|_| Error::usage(format!("--max-rpo '{d}' is not a duration: give a number and a unit, e.g. 30m, 1h, 1d"))))
            .transpose()?;
        Ok(crate::readiness::Options { tier: self.tier, snapshot: self.snapshot.clone(), max_rpo, settings: settings.clone() })
    }
}
