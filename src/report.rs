//! The copy report: one document that is the manifest on disk, the `--output json` output,
//! and the source of the human summary. Wire types only; versioned by `schemaVersion`.
//!
//! Schema (version 1): `docs/schemas/copy-report.v1.schema.json` (the same document for `copy`,
//! `plan`, `outputs copy` and `notebooks copy|recover`), described in `docs/json.md`;
//! `tests/json_schema.rs` checks the real output against it. A change here that removes or
//! renames a field, or changes its meaning, bumps `SCHEMA_VERSION` and the schema file.
//! No secrets: every URI is redacted before it gets here.

use crate::plan::Action;
use crate::transfer::Method;
use serde::Serialize;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Planned,
    Copied,
    Skipped,
    Conflict,
    Failed,
    /// A data asset that a person must re-register in the target (its YAML was written).
    NeedsManualReregistration,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileRecord {
    pub path: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub source_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// What confirmed the file's bytes independently of the reader (empty until verified).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::transfer::Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What an item is: an asset kind, or a job's output folder / logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ItemKind {
    Asset(crate::assets::Kind),
    #[serde(serialize_with = "job_output")]
    JobOutput,
    #[serde(serialize_with = "notebook")]
    Notebook,
}

fn notebook<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("notebook")
}

fn job_output<S: serde::Serializer>(s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("job-output")
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemKind::Asset(k) => k.fmt(f),
            ItemKind::JobOutput => f.write_str("job-output"),
            ItemKind::Notebook => f.write_str("notebook"),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemRecord {
    pub kind: ItemKind,
    pub name: String,
    pub version: String,
    pub target_version: String,
    pub action: Action,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_uri: Option<String>,
    /// The name in the target when it differs (a pipeline's definition component).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// The az ml YAML written for manual re-registration (data assets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// References rewritten from the source workspace to the target.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rewrites: Vec<crate::assets::refs::Rewrite>,
    pub files: Vec<FileRecord>,
}

impl ItemRecord {
    /// An item of files without a version of its own (a notebook, a job's output): no URIs,
    /// YAML or rewrites; callers add `version`/`files` where they have them.
    pub fn files_item(kind: ItemKind, name: impl Into<String>, action: Action, status: Status, reason: String) -> ItemRecord {
        ItemRecord {
            kind,
            name: name.into(),
            version: String::new(),
            target_version: String::new(),
            action,
            status,
            reason,
            source_uri: None,
            target_uri: None,
            target_name: None,
            yaml: None,
            rewrites: Vec::new(),
            files: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub items: usize,
    pub copied: usize,
    pub skipped: usize,
    pub conflict: usize,
    pub failed: usize,
    pub needs_manual_reregistration: usize,
    pub planned: usize,
    pub files: usize,
    pub bytes: u64,
    pub bytes_transferred: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub schema_version: u32,
    pub command: &'static str,
    pub dry_run: bool,
    pub source: String,
    pub target: String,
    pub started_at: String,
    pub duration_ms: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub summary: Summary,
    pub items: Vec<ItemRecord>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
}

impl FileRecord {
    /// The record of a file not transferred (yet): what the source listing says of it.
    pub fn planned(path: String, size: u64, sha256: Option<String>, source_uri: String) -> FileRecord {
        FileRecord { path, size, sha256, source_uri, target_uri: None, method: None, checks: Vec::new(), error: None }
    }

    /// The record of one transferred file: what the engine reported for `job`.
    pub fn from_result(path: String, job: &crate::transfer::FileJob, r: &crate::error::Result<crate::transfer::FileDone>) -> FileRecord {
        match r {
            Ok(done) => FileRecord {
                path,
                size: done.size,
                sha256: Some(done.sha256.clone()),
                source_uri: job.src.uri(&job.src_path),
                target_uri: Some(job.dst.uri(&job.dst_path)),
                method: Some(done.method),
                checks: done.checks.clone(),
                error: None,
            },
            Err(e) => FileRecord {
                path,
                size: job.size,
                sha256: None,
                source_uri: job.src.uri(&job.src_path),
                target_uri: None,
                method: None,
                checks: Vec::new(),
                error: Some(e.to_string()),
            },
        }
    }
}

impl Report {
    /// Writes the report as the run's manifest (atomically, [`crate::atomic::write`]) to `path`, or to `./<stem>-<UTC time>.json`, and records where.
    pub fn write_manifest(&mut self, path: Option<std::path::PathBuf>, stem: &str) -> crate::error::Result<()> {
        let path = path.unwrap_or_else(|| {
            let stamp: String = self.started_at.chars().filter(|c| c.is_ascii_digit()).take(14).collect();
            let (d, t) = stamp.split_at(8.min(stamp.len()));
            std::path::PathBuf::from(format!("{stem}-{d}T{t}Z.json"))
        });
        self.manifest = Some(path.display().to_string());
        crate::atomic::write_json(&path, &self).map_err(|e| {
            crate::error::Error::usage(format!("cannot write the manifest {}: {e} (choose another --manifest path)", path.display()))
        })
    }

    pub fn summarize(&mut self) {
        let mut s = Summary { items: self.items.len(), ..Default::default() };
        for i in &self.items {
            match i.status {
                Status::Planned => s.planned += 1,
                Status::Copied => s.copied += 1,
                Status::Skipped => s.skipped += 1,
                Status::Conflict => s.conflict += 1,
                Status::Failed => s.failed += 1,
                Status::NeedsManualReregistration => s.needs_manual_reregistration += 1,
            }
            for f in &i.files {
                s.files += 1;
                s.bytes += f.size;
                if matches!(f.method, Some(Method::Streamed) | Some(Method::ServerSide)) {
                    s.bytes_transferred += f.size;
                }
            }
        }
        self.summary = s;
    }

    /// Exit status: everything done, or some items failed or conflicted.
    pub fn exit(&self) -> crate::error::Exit {
        self.exit_with(false)
    }

    /// Exit status; data assets that need manual re-registration make it "partial" unless
    /// `accept_data_warnings`.
    /// A dry run (`plan`) ends as the copy it plans would: its conflicts and data assets to
    /// re-register by hand are actions, not yet statuses.
    pub fn exit_with(&self, accept_data_warnings: bool) -> crate::error::Exit {
        let planned = |a: Action| if self.dry_run { self.items.iter().filter(|i| i.action == a).count() } else { 0 };
        let manual = self.summary.needs_manual_reregistration + planned(Action::Manual) > 0 && !accept_data_warnings;
        if self.summary.failed > 0 || self.summary.conflict + planned(Action::Conflict) > 0 || manual {
            crate::error::Exit::Partial
        } else {
            crate::error::Exit::Ok
        }
    }

    /// The human summary (a few lines; the per-item lines only for what needs attention,
    /// or for everything with `all`).
    pub fn human(&self, all: bool) -> String {
        let s = &self.summary;
        let mut out = String::new();
        let verb = if self.dry_run { "plan" } else { "copy" };
        for w in &self.warnings {
            out.push_str(&format!("WARNING: {w}\n"));
        }
        for i in &self.items {
            let show = all || matches!(i.status, Status::Failed | Status::Conflict | Status::Planned | Status::NeedsManualReregistration);
            if !show {
                continue;
            }
            let tv = if i.target_version != i.version { format!(" -> {}", i.target_version) } else { String::new() };
            let id = if i.version.is_empty() { i.name.clone() } else { format!("{}:{}", i.name, i.version) };
            out.push_str(&format!("{:<9} {} {}{}  {}\n", status_word(i), i.kind, id, tv, i.reason));
            if let Some(y) = &i.yaml {
                out.push_str(&format!("          YAML for re-registration: {y}\n"));
            }
            for f in i.files.iter().filter(|f| f.error.is_some()) {
                out.push_str(&format!("          file {}: {}\n", f.path, f.error.as_deref().unwrap_or("")));
            }
        }
        if self.dry_run {
            out.push_str(&format!(
                "{verb}: {} items: {} to copy, {} identical, {} conflicts, {} unreadable; {} files, {}; nothing was written (dry run)\n",
                s.items,
                self.items.iter().filter(|i| matches!(i.action, Action::Copy | Action::Overwrite | Action::NewVersion)).count(),
                self.items.iter().filter(|i| i.action == Action::Skip).count(),
                self.items.iter().filter(|i| i.action == Action::Conflict).count(),
                s.failed,
                s.files,
                human_bytes(s.bytes),
            ));
        } else {
            out.push_str(&format!(
                "{verb}: {} items: {} copied, {} skipped, {} conflicts, {} failed; {} transferred of {} in {} files; {:.1} s\n",
                s.items,
                s.copied,
                s.skipped,
                s.conflict,
                s.failed,
                human_bytes(s.bytes_transferred),
                human_bytes(s.bytes),
                s.files,
                self.duration_ms as f64 / 1000.0
            ));
            if s.needs_manual_reregistration > 0 {
                out.push_str(&format!(
                    "{} data asset(s) need manual re-registration in the target (see the YAML written for each)\n",
                    s.needs_manual_reregistration
                ));
            }
            if s.copied == 0 && s.failed == 0 && s.conflict == 0 && s.needs_manual_reregistration == 0 {
                out.push_str("nothing to do: the target already has every selected item\n");
            }
        }
        if let Some(m) = &self.manifest {
            out.push_str(&format!("manifest: {m}\n"));
        }
        out
    }
}

fn status_word(i: &ItemRecord) -> &'static str {
    match i.status {
        Status::Planned => match i.action {
            Action::Copy => "copy",
            Action::Skip => "skip",
            Action::Conflict => "CONFLICT",
            Action::Overwrite => "overwrite",
            Action::NewVersion => "new-ver",
            Action::Fail => "FAIL",
            Action::Reregister => "rereg",
            Action::Manual => "MANUAL",
        },
        Status::Copied => "copied",
        Status::Skipped => "skipped",
        Status::Conflict => "CONFLICT",
        Status::Failed => "FAILED",
        Status::NeedsManualReregistration => "MANUAL",
    }
}

pub fn human_bytes(n: u64) -> String {
    const U: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i < U.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", U[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(actions: &[Action]) -> Report {
        let mut r = Report {
            schema_version: SCHEMA_VERSION,
            command: "plan",
            dry_run: true,
            source: "a".into(),
            target: "b".into(),
            started_at: String::new(),
            duration_ms: 0,
            warnings: Vec::new(),
            summary: Default::default(),
            items: actions
                .iter()
                .map(|a| ItemRecord {
                    kind: ItemKind::Asset(crate::assets::Kind::Model),
                    name: "m".into(),
                    version: "1".into(),
                    target_version: "1".into(),
                    action: *a,
                    status: if *a == Action::Fail { Status::Failed } else { Status::Planned },
                    reason: String::new(),
                    source_uri: None,
                    target_uri: None,
                    target_name: None,
                    yaml: None,
                    rewrites: Vec::new(),
                    files: Vec::new(),
                })
                .collect(),
            manifest: None,
        };
        r.summarize();
        r
    }

    #[test]
    fn a_plan_ends_as_the_copy_it_plans_would() {
        use crate::error::Exit;
        assert_eq!(plan_of(&[Action::Copy, Action::Skip]).exit(), Exit::Ok);
        assert_eq!(plan_of(&[Action::Copy, Action::Conflict]).exit(), Exit::Partial);
        assert_eq!(plan_of(&[Action::Fail]).exit(), Exit::Partial);
        assert_eq!(plan_of(&[Action::Manual]).exit_with(false), Exit::Partial);
        assert_eq!(plan_of(&[Action::Manual]).exit_with(true), Exit::Ok);
    }

    #[test]
    fn bytes_are_readable() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(256 * 1024 * 1024), "256.0 MiB");
    }
}
