//! Arguments of `copy` and `plan` (the same options).

use crate::error::{Error, Result};
use clap::Args;
use std::path::PathBuf;

pub(super) const PLAN_LONG: &str = "\
Print what `copy` (and the assets step of `failover`) would do, item by item, and write nothing:
the same as `copy --dry-run`, with the same options. Every selected asset version of --from is
compared with --to (specification, and the sha256 of every file, read only where no recorded
hash answers) and gets one action:
  copy          missing in the target: files copied and verified, then registered
  skip          identical in the target
  conflict      same name and version, other content: reported, not changed (see --on-conflict)
  overwrite / new-version   what --on-conflict asks for a conflict
  fail          cannot be read; the reason names it (a missing dependency names the chain)
  reregister / manual       data assets (see `copy --help`)
Components and pipelines list the references that would be rewritten to the target. The
workspace's definitions (datastores, connections, computes, endpoints, schedules) get one line
each: create, skip, conflict, manual, yaml or fail (see `copy --help`).
The human output lists every item, then one summary line; -o json prints the copy report
document (schemaVersion 1, command \"plan\", dryRun true). Exit codes as `copy` would end:
0 nothing in the way, 1 conflicts, failures or data assets needing manual re-registration.

Other commands that write have --dry-run: failover, outputs copy, notebooks copy|recover,
snapshot prune.

  aml-failover plan --from ./primary/config.json --to ./failover/config.json
  aml-failover plan --from ./primary/config.json --to ./failover/config.json --kinds models -o json";

pub(super) const COPY_LONG: &str = "\
Copy assets from the --from workspace into the --to workspace: environments and code, then
components, then jobs (in dependency order); models independently; data assets as
described below. --kinds picks some (models, environments, code, components, jobs, data);
what a selected item needs (a component's code and environment, a pipeline's components and
data) comes along.

References into the source workspace (ARM ids, azureml:/subscriptions/..., azureml://
subscriptions/.../workspaces/<source>/...) are rewritten to the target; registry references and
public URLs stay; the manifest lists every rewrite. A missing dependency fails the item and
names the chain (job p → component c:1 → environment e:2 missing); nothing of it is
registered. Components that share a code asset share it in the target.

Jobs of every type (--kinds jobs; pipelines is its old name) are recreated as definitions by
default, as `job create` registers them: a component named after the job (version 1) — a
pipeline job a pipeline component with its graph, a command job a command component, a sweep
job a command component of its trial — with the job's inputs and outputs and, in its
properties, the job's REST definition; nothing runs. AutoML and spark jobs have no definition
form: they fail without --submit. --submit creates the jobs in the target instead, which starts
new runs. Status, history and metrics never transfer.

Data assets: every copy that meets them warns that registered datasets must be re-registered in
the failover workspace. With --reregister-shared-data, those whose path is on a datastore both
workspaces reach (the same storage account and container, or --shared-datastore SRC[=TGT] for a
geo-replicated account) are registered in the target pointing at the same data, after checking
it is there. One whose path is a URL outside the workspace's storage (https, wasbs) is
re-registered with the same path, not read, as az ml data create registers a remote path. Every
other one gets its az ml YAML, with the path it had, written to --data-output-dir and the status
needs-manual-reregistration: exit code 1 (partial) unless --accept-data-warnings. Data is never
copied silently: --copy-data copies uri_file/uri_folder data and mltable folders on the source
workspace's storage, verified like everything else.

Plan first: every selected asset version is compared with the target. Missing ones are copied;
identical ones (same name, version, specification and sha256 of every file) are skipped; a
version that exists with different content is a conflict, reported and never overwritten unless
--on-conflict says otherwise. --dry-run prints the plan and writes nothing.

Every file is hashed (sha256) while it streams and checked against the source's stored MD5 where
the service keeps one; at the target, the service's echo of each block's MD5 must match the bytes
that were hashed (a target that does not echo is read back; --verify full always reads back).
Server-side copy is used where the storage offers it, and its result is always read back. A version is registered in the target only after all its files are verified,
so a failure leaves nothing half-registered, and a rerun resumes (files already verified in the
target are not copied again). Versions keep their numbers; tags, properties, description, model
type, flavors, stage, image, conda file, build context and inference config come along.

Definitions (the default kinds include them; --kinds datastores,connections,computes,endpoints,
schedules picks some): datastores (not the workspace's four defaults), connections and compute
clusters are written before the assets (a data asset whose datastore is now in the target
re-registers against it); batch and online endpoints with their deployments, and schedules,
after them, with model, environment, code and compute references rewritten to the target:
  datastores, connections   identity-based ones are created as they are; secret-bearing ones
                            (account key, SAS, service principal, PAT, API key) only with
                            --with-secrets (read with listSecrets, sent only to the target),
                            otherwise they are manual steps: their az ml YAML is written with
                            '<secret: …>' placeholders
  computes                  clusters are created with min nodes 0 (--keep-scale keeps the
                            source's), after checking that the target region offers the VM size
                            and that the quota covers max nodes (a shortfall fails the cluster,
                            naming the family and the numbers); a subnet not given in
                            --subnet-map SRC=TGT, or a compute instance, is a manual step
  batch endpoints           created with their deployments and default deployment
  online endpoints          written as az ml YAML (endpoint and deployments) unless --deploy
                            creates them, traffic split kept (--instance-count N: a warm copy
                            pre-staged small); keys and tokens are never copied
  schedules                 created disabled, so jobs never run twice; a schedule the target
                            already has (enabled or not) is left as it is there
The YAML goes to aml-failover-estate/ beside the manifest (one folder per kind); the command
to run is printed with each. Identical definitions are skipped; a different one is a
conflict unless --on-conflict overwrite.

Each run writes a manifest (JSON): every item and file with source and target URI, size, sha256
and the action taken. --output json prints the same document.";

#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Kinds to copy, comma-separated. Assets: models, environments, code, components, jobs
    /// (pipelines: its old name), data. Definitions: datastores, connections, computes,
    /// endpoints (online and batch, with their deployments; or batch-endpoints,
    /// batch-deployments, online-endpoints, online-deployments), schedules. The default, all,
    /// is every one of them.
    #[arg(long, default_value = "all", value_name = "KINDS")]
    pub kinds: String,
    /// Only assets whose name matches (wildcards * and ?).
    #[arg(long, value_name = "PATTERN")]
    pub name: Option<String>,
    /// Only the latest version of each asset.
    #[arg(long, conflicts_with = "all_versions")]
    pub latest: bool,
    /// Every version of each asset (the default).
    #[arg(long)]
    pub all_versions: bool,
    /// Print the plan and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// When the target has the same name and version with different content.
    #[arg(long, value_enum, default_value = "report", value_name = "POLICY")]
    pub on_conflict: crate::plan::OnConflict,
    /// Server-side copy where the storage offers it (auto), or always stream (never).
    #[arg(long, value_enum, default_value = "auto", value_name = "auto|never")]
    pub server_side: crate::transfer::ServerSide,
    /// Files copied at once.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub concurrency: usize,
    /// Block size in MiB for streaming.
    #[arg(long, default_value_t = 4, value_name = "MIB")]
    pub block_size_mib: usize,
    /// File data held in memory at most, in MiB, across all files in flight.
    #[arg(long, default_value_t = 48, value_name = "MIB")]
    pub memory_mib: usize,
    /// How streamed copies are checked at the target.
    #[arg(long, value_enum, default_value = "landed", value_name = "landed|full")]
    pub verify: crate::transfer::Verify,
    /// Where to write the manifest [default: ./aml-failover-manifest-<UTC time>.json].
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Create jobs in the target (starts new runs) instead of registering their definitions.
    #[arg(long)]
    pub submit: bool,
    /// Re-register data assets whose path is on a datastore both workspaces reach.
    #[arg(long)]
    pub reregister_shared_data: bool,
    /// Source datastore SRC reaches the same data as target datastore TGT (default: same name); repeatable.
    #[arg(long, value_name = "SRC[=TGT]")]
    pub shared_datastore: Vec<String>,
    /// Folder for the az ml YAML of data assets that need manual re-registration.
    #[arg(long, default_value = "aml-failover-data", value_name = "DIR")]
    pub data_output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code 1.
    #[arg(long)]
    pub accept_data_warnings: bool,
    /// Copy the files of uri_file/uri_folder data assets on the source workspace's storage (verified).
    #[arg(long)]
    pub copy_data: bool,
    /// Create secret-bearing datastores and connections (account key, SAS, service principal,
    /// PAT…) with the source's secrets, read with listSecrets and sent only to the target.
    /// Without it they are manual steps: their az ml YAML is written with placeholders.
    #[arg(long)]
    pub with_secrets: bool,
    /// Compute clusters keep their minimum node count [default: created with min nodes 0, so
    /// an idle failover region costs nothing].
    #[arg(long)]
    pub keep_scale: bool,
    /// A compute's subnet SRC (resource id) becomes TGT in the target; repeatable. A compute on
    /// an unmapped subnet is a manual step.
    #[arg(long, value_name = "SRC=TGT")]
    pub subnet_map: Vec<String>,
    /// Create online endpoints and deployments (traffic split kept) [default: written as az ml
    /// YAML only, as they cost money while they run]. Batch endpoints are always created.
    #[arg(long)]
    pub deploy: bool,
    /// Instances of each online deployment created (a warm copy pre-staged small) [default: as
    /// in the source].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub instance_count: Option<u64>,
    /// Where the run journal (resume after a crash) and the lock of each target are kept
    /// [default: $XDG_STATE_HOME/aml-failover, else ~/.local/state/aml-failover].
    #[arg(long, value_name = "DIR", env = "AML_FAILOVER_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

impl CopyArgs {
    pub fn options(&self, verbose: u8) -> Result<crate::plan::CopyOptions> {
        use crate::transfer::EngineOptions;
        if self.concurrency == 0 || self.concurrency > 256 {
            return Err(Error::usage("--concurrency must be between 1 and 256"));
        }
        if self.block_size_mib == 0 || self.block_size_mib > 100 {
            return Err(Error::usage("--block-size-mib must be between 1 and 100 (Azure's block limit is 4000 MiB, memory is yours)"));
        }
        if self.memory_mib < 2 * self.block_size_mib {
            return Err(Error::usage("--memory-mib must hold at least two blocks (2 x --block-size-mib)"));
        }
        if let Some(m) = &self.manifest {
            crate::guard::writable_file("--manifest", m)?;
        }
        crate::guard::writable_dir("--data-output-dir", &self.data_output_dir)?;
        let (asset_kinds, def_kinds) = crate::estate::parse_kinds(&self.kinds)?;
        Ok(crate::plan::CopyOptions {
            estate: crate::plan::EstateOptions {
                kinds: def_kinds,
                copy: crate::assets::definition::CopyOptions {
                    with_secrets: self.with_secrets,
                    keep_scale: self.keep_scale,
                    subnet_map: crate::assets::compute::parse_subnet_map(&self.subnet_map)?,
                    instance_count: self.instance_count,
                    ..Default::default()
                },
                deploy_online: self.deploy,
            },
            selection: crate::assets::Selection {
                kinds: asset_kinds,
                name: self.name.clone(),
                latest_only: self.latest,
            },
            dry_run: self.dry_run,
            on_conflict: self.on_conflict,
            engine: EngineOptions {
                concurrency: self.concurrency,
                block_size: self.block_size_mib * 1024 * 1024,
                server_side: self.server_side,
                verify: self.verify,
                memory_budget: self.memory_mib * 1024 * 1024,
                ..Default::default()
            },
            manifest: self.manifest.clone(),
            show_all_items: verbose > 0,
            submit: self.submit,
            data: crate::plan::DataOptions {
                reregister_shared: self.reregister_shared_data,
                shared: self
                    .shared_datastore
                    .iter()
                    .map(|s| {
                        let (a, b) = s.split_once('=').unwrap_or((s.as_str(), s.as_str()));
                        if a.trim().is_empty() || b.trim().is_empty() {
                            return Err(Error::usage(format!("--shared-datastore '{s}': use SRC or SRC=TGT (datastore names)")));
                        }
                        Ok((a.trim().to_string(), b.trim().to_string()))
                    })
                    .collect::<Result<_>>()?,
                output_dir: self.data_output_dir.clone(),
                accept_warnings: self.accept_data_warnings,
                copy_data: self.copy_data,
            },
        })
    }
}
