//! Arguments of `snapshot export|restore|list|prune`.

use super::engine_options;
use crate::error::{Error, Result, EXIT_CODES_HELP};
use clap::{Args, Subcommand};
use std::path::PathBuf;

pub(super) const SNAPSHOT_EXPORT_LONG: &str = "\
Export --from into a snapshot bundle at --to: a local directory or a blob container URL
(https://<account>.blob.core.windows.net/<container>[/<folder>], SAS in the URL or in
AML_FAILOVER_TARGET_SAS, else an Entra token).

Every kind by default (--kinds selects): the definitions (datastores but the workspace's four
defaults, connections, computes, endpoints with their deployments, schedules; every secret
field as a placeholder) and their az ml YAML; models, environments and code with their files;
components (their specification; the code and environments they reference are exported too,
whatever --name/--kinds select); jobs as their definition (the component `copy` registers,
named after the job, version 1; AutoML and spark jobs, which have none, are skipped and listed);
data assets as their specification and az ml YAML only (their data is never copied). A reference
missing in the source fails the export.

Bundle layout:
  objects/sha256/<aa>/<sha256>       each distinct file once, named by its sha256
  snapshots/<id>/manifest.json       every asset version: kind, name, version, REST properties,
                                     az ml YAML, files (path, size, sha256)

Files already in the bundle are not written again; files whose source version (URI + ETag) is
unchanged since the last snapshot are not even read. A second export with nothing changed
writes only a new manifest. The manifest is written last: a failed export leaves no snapshot
(exit 1), and a rerun resumes.

  aml-failover snapshot export --from ./primary/config.json --to /backups/aml -q";

pub(super) const SNAPSHOT_RESTORE_LONG: &str = "\
Register a snapshot's assets in --to without contacting the source workspace: each version's
files are uploaded to the default blob datastore (verified by sha256), then it is registered.
Components and pipeline definitions come after what they reference, with references to the
source workspace rewritten to --to (registry references and URLs stay). A version already there
with the same specification and files is left alone; one that differs is a conflict (reported,
exit 1, never overwritten), and nothing that references it is registered. Rerunning is safe.

Data assets are never registered (their path may be storage --to cannot reach): each gets its
az ml YAML in --data-output-dir and the status needs-manual-reregistration (exit 1 unless
--accept-data-warnings); re-register it once its data is reachable (az ml data create -f).

The snapshot's definitions (datastores, connections, computes, endpoints, schedules) are then
written as `copy` writes them, references rewritten to --to: schedules disabled (`failover`
enables them), online endpoints and secret-bearing datastores and connections (a snapshot holds
no secret) as az ml YAML in aml-failover-estate/ beside --data-output-dir.

  aml-failover snapshot restore /backups/aml --to ./failover/config.json";

#[derive(Debug, Subcommand)]
pub enum SnapshotCommand {
    /// Write a snapshot of --from (every asset kind by default) into a bundle at --to.
    #[command(long_about = SNAPSHOT_EXPORT_LONG, after_help = EXIT_CODES_HELP)]
    Export(SnapshotExportArgs),
    /// Register a snapshot (the newest by default) into --to; the source workspace is not needed.
    #[command(long_about = SNAPSHOT_RESTORE_LONG, after_help = EXIT_CODES_HELP)]
    Restore(SnapshotRestoreArgs),
    /// List the snapshots of a bundle, oldest first.
    #[command(after_help = EXIT_CODES_HELP)]
    List(SnapshotBundleArg),
    /// Delete old snapshots, then every stored file no remaining snapshot references.
    ///
    /// With both --keep and --older-than, a snapshot is deleted only when it is outside the
    /// newest N and older than DURATION. Do not run it while an export writes to the bundle.
    #[command(after_help = EXIT_CODES_HELP)]
    Prune(SnapshotPruneArgs),
}

#[derive(Debug, Args)]
pub struct SnapshotExportArgs {
    /// Kinds, comma-separated: models, environments, code, components, jobs, data, and the
    /// definitions datastores, connections, computes, endpoints, schedules (all: every one).
    #[arg(long, default_value = "all", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Files transferred in parallel.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
}

impl SnapshotExportArgs {
    /// `to`: the global --to, which names the bundle here.
    pub fn options(&self, to: Option<&str>) -> Result<crate::bundle::ExportOptions> {
        let bundle = to.map(str::trim).filter(|t| !t.is_empty()).ok_or_else(|| {
            Error::usage("snapshot export needs --to <directory | blob container URL> (the bundle)")
        })?;
        if bundle.ends_with(".json") || std::path::Path::new(bundle).is_file() {
            return Err(Error::usage(format!(
                "snapshot export --to '{bundle}' looks like a workspace config; --to names the bundle here: a directory or a blob container URL"
            )));
        }
        let (kinds, definitions) = crate::estate::parse_kinds(&self.kinds)?;
        Ok(crate::bundle::ExportOptions {
            bundle: bundle.to_string(),
            kinds: crate::bundle::check_kinds(kinds)?,
            name: self.name.clone(),
            engine: engine_options(self.concurrency)?,
            definitions,
        })
    }
}

#[derive(Debug, Args)]
pub struct SnapshotRestoreArgs {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
    /// Which snapshot (an id from `snapshot list`) [default: the newest].
    #[arg(long, value_name = "ID")]
    pub snapshot: Option<String>,
    /// Only these kinds of the snapshot, and what they reference (models, environments, code,
    /// components, jobs, data; datastores, connections, computes, endpoints, schedules).
    #[arg(long, value_name = "KINDS")]
    pub kinds: Option<String>,
    /// Files transferred in parallel.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Folder for the az ml YAML of data assets that need manual re-registration.
    #[arg(long, default_value = "aml-failover-data", value_name = "DIR")]
    pub data_output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    #[arg(long)]
    pub accept_data_warnings: bool,
}

impl SnapshotRestoreArgs {
    pub fn options(&self) -> Result<crate::bundle::RestoreCommand> {
        crate::guard::writable_dir("--data-output-dir", &self.data_output_dir)?;
        let (kinds, def_kinds) = match self.kinds.as_deref() {
            Some(k) => crate::estate::parse_kinds(k).map(|(a, d)| (Some(a), d))?,
            None => (None, crate::assets::definition::DefKind::ALL.to_vec()),
        };
        Ok(crate::bundle::RestoreCommand {
            restore: crate::bundle::RestoreOptions {
                bundle: self.bundle.clone(),
                snapshot: self.snapshot.clone(),
                kinds,
                engine: engine_options(self.concurrency)?,
                estate: crate::plan::EstateOptions { kinds: def_kinds, ..Default::default() },
                // Beside the data assets' YAML.
                estate_dir: self.data_output_dir.parent().unwrap_or(std::path::Path::new("")).join(crate::estate::YAML_DIR),
            },
            data: crate::bundle::DataRestoreOptions { output_dir: self.data_output_dir.clone(), accept_warnings: self.accept_data_warnings },
        })
    }
}

#[derive(Debug, Args)]
pub struct SnapshotBundleArg {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
}

#[derive(Debug, Args)]
pub struct SnapshotPruneArgs {
    /// The bundle: a directory or a blob container URL.
    #[arg(value_name = "BUNDLE")]
    pub bundle: String,
    /// Keep the newest N snapshots.
    #[arg(long, value_name = "N")]
    pub keep: Option<usize>,
    /// Delete snapshots older than this: 30d, 12h, 90m, 45s, 2w.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub older_than: Option<std::time::Duration>,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl SnapshotPruneArgs {
    pub fn options(&self) -> Result<crate::bundle::PruneOptions> {
        Ok(crate::bundle::PruneOptions {
            bundle: self.bundle.clone(),
            keep: self.keep,
            older_than: self.older_than,
            dry_run: self.dry_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::Cli;
    use clap::Parser;

    /// `--older-than` is parsed by humantime: the units the help names, and a clear error
    /// (exit 2, from the parser, before anything runs) for anything else.
    #[test]
    fn older_than_takes_a_duration() {
        let age = |v: &str| match Cli::try_parse_from(["aml-failover", "snapshot", "prune", "b", "--older-than", v]) {
            Ok(cli) => match cli.command {
                crate::cli::Command::Snapshot(super::SnapshotCommand::Prune(p)) => Ok(p.older_than.unwrap().as_secs()),
                _ => unreachable!(),
            },
            Err(e) => Err(e),
        };
        assert_eq!(age("30d").unwrap(), 30 * 86_400);
        assert_eq!(age("90m").unwrap(), 5400);
        assert_eq!(age("2w").unwrap(), 14 * 86_400);
        assert_eq!(age("45s").unwrap(), 45);
        assert_eq!(age("1.5h").unwrap(), 5400);
        for bad in ["", "d", "10", "-1d", "10x"] {
            // (`-1d` reads as an option, an error of its own.)
            let e = age(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            if !bad.starts_with('-') {
                assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad}");
            }
        }
    }
}
