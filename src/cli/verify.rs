//! Arguments of `verify`.

use crate::error::Result;
use clap::Args;
use std::path::PathBuf;

pub(super) const VERIFY_LONG: &str = "\
Check that the --to (failover) workspace holds every asset version of the --from (primary)
workspace, identical, without changing anything: for the scheduled job that keeps a region ready.

Each selected version is compared with the target's version of the same name and number exactly
as `copy` plans it: specification, and the sha256 of every file (a target copy that records the
source version it was verified from is not read again). Each is reported as
  in-sync       identical in both
  missing       in the source, not in the target          -> `aml-failover copy` brings it over
  different     same name and version, other content      -> the reasons name the file or field
  extra         in the target, not in the source           (deleted in the primary, or made in the failover)
  unverifiable  the source's files could not be read
  unknown       the comparison failed: reading either side gave an error (in the reasons)
The human output lists only what drifted, then one summary line; -v lists everything. -o json
prints one document (schemaVersion 1, command \"verify\") with every item, its state and reasons.
Nothing is written, not even a manifest, unless --manifest FILE asks for the report there.

With a snapshot BUNDLE instead of --from:
  verify BUNDLE            the bundle itself: every file of every asset of the snapshot (the
                           newest, or --snapshot ID) is present and still has its sha256
                           (missing: a file is gone; different: a file is damaged)
  verify BUNDLE --to B     B against the snapshot: missing (restore would register it),
                           different (restore would refuse it), extra (in B, not in the snapshot);
                           --to must be typed here: AML_FAILOVER_TO and AML_FAILOVER_FROM from
                           the environment are not used with a BUNDLE

Exit 0: in sync. Exit 7: drifted (alert on it). Exit 1: nothing drifted, but some versions
could not be checked (unverifiable or unknown). Other codes: the run itself failed (see below).

  aml-failover verify --from ./primary/config.json --to ./failover/config.json -q -o json
  aml-failover verify /backups/aml -q
  aml-failover verify /backups/aml --to ./failover/config.json";

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// A snapshot bundle (directory or blob container URL) to check instead of --from: alone,
    /// its integrity (every file present, sha256 re-read); with --to, the workspace's drift
    /// from the snapshot.
    #[arg(value_name = "BUNDLE")]
    pub bundle: Option<String>,
    /// With BUNDLE: which snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID", requires = "bundle")]
    pub snapshot: Option<String>,
    /// Kinds to check, comma-separated: models, environments, code, components, jobs, data, and
    /// the definitions datastores, connections, computes, endpoints, schedules (all: every one;
    /// a snapshot BUNDLE holds assets only).
    #[arg(long, default_value = "all", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Also write the JSON report to this file (by default verify writes nothing).
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
}

impl VerifyArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::plan::VerifyOptions> {
        if let Some(m) = &self.manifest {
            crate::guard::writable_file("--manifest", m)?;
        }
        let (kinds, def_kinds) = crate::estate::parse_kinds(&self.kinds)?;
        Ok(crate::plan::VerifyOptions {
            def_kinds,
            bundle: self.bundle.clone(),
            snapshot: self.snapshot.clone(),
            kinds,
            name: self.name.clone(),
            manifest: self.manifest.clone(),
            show_all_items: verbose > 0,
        })
    }
}
