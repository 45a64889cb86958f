//! The copy report: one document that is the manifest on disk, the `--output json` output,
//! and the source of the human summary. Wire types only; versioned by `schemaVersion`.
//!
//! Schema (version 1): `docs/schemas/copy-report.v1.schema.json` (the same document for `copy`,
//! `plan`, `outputs copy` and `notebooks copy|recover`), generated from these types
//! ([`crate::wire`]; the doc comments of the fields are its descriptions) and described in
//! `docs/json.md`; `tests/json_schema.rs` checks the real output against it. A change here that
//! removes or renames a field, or changes its meaning, bumps `SCHEMA_VERSION` and the schema
//! file. No secrets: every URI is redacted before it gets here.

use crate::plan::Action;
use crate::transfer::Method;
use schemars::JsonSchema;
use serde::Serialize;

/// `schemaVersion` of the copy report.
pub const SCHEMA_VERSION: u32 = 1;

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(SCHEMA_VERSION)
}

/// What happened (src/report.rs Status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum Status {
    Planned,
    Copied,
    Skipped,
    Conflict,
    Failed,
    /// A data asset that a person must re-register in the target (its YAML was written).
    NeedsManualReregistration,
}

/// FileRecord (src/report.rs).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "file", deny_unknown_fields)]
pub struct FileRecord {
    /// path relative to the item's content root
    pub path: String,
    pub size: u64,
    /// sha256 verified at the target; absent when the file failed or was not transferred (dry run)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// redacted source URI (or local path)
    pub source_uri: String,
    /// redacted target URI; absent when the file failed or in a dry run
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// what confirmed the file's bytes independently of the reader's own hash (docs/json.md, "Checks"); at least one source-side check for every verified file
    // (Empty until verified, and then left out.)
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub checks: Vec<crate::transfer::Check>,
    /// why this file failed
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

impl JsonSchema for ItemKind {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ItemKind".into()
    }
    /// Every asset kind (so a new kind is in the schema with no edit here), then
    /// `job-output` and `notebook`.
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let kinds: Vec<String> =
            crate::assets::Kind::ALL.iter().map(|k| ItemKind::Asset(*k)).chain([ItemKind::JobOutput, ItemKind::Notebook]).map(|k| k.to_string()).collect();
        schemars::json_schema!({"type": "string", "enum": kinds})
    }
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

/// ItemRecord (src/report.rs).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "item", deny_unknown_fields)]
pub struct ItemRecord {
    /// an asset kind (copy), job-output (outputs copy) or notebook (notebooks copy|recover)
    pub kind: ItemKind,
    /// asset name; the job name (job-output); the file path in the share (notebook)
    pub name: String,
    /// source version; the output name or 'artifacts' (job-output); empty (notebook)
    pub version: String,
    /// version written in the target (differs from version with new-version)
    pub target_version: String,
    pub action: Action,
    pub status: Status,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_uri: Option<String>,
    /// the name in the target when it differs (a pipeline's definition component)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_name: Option<String>,
    /// az ml YAML written for manual re-registration (data assets)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    /// references rewritten from the source workspace to the target; absent when none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
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

/// Counters over items[] (Report::summarize in src/report.rs).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "summary", deny_unknown_fields)]
pub struct Summary {
    /// number of items
    pub items: usize,
    /// items with status copied
    pub copied: usize,
    /// items with status skipped
    pub skipped: usize,
    /// items with status conflict
    pub conflict: usize,
    /// items with status failed
    pub failed: usize,
    /// items with status needs-manual-reregistration
    pub needs_manual_reregistration: usize,
    /// items with status planned (dry run)
    pub planned: usize,
    /// file records over all items
    pub files: usize,
    /// sum of the sizes of all file records
    pub bytes: u64,
    /// bytes of the files that were streamed or copied server-side in this run (not those already present)
    pub bytes_transferred: u64,
}

/// The copy report (see the module's documentation). Build it with [`Report::new`].
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
#[schemars(extend("allOf" = [
    {"if": {"properties": {"command": {"enum": ["copy", "plan"]}}},
     "then": {"properties": {"items": {"items": {"properties": {"kind": {"enum": ["model", "environment", "code", "component", "data", "job"]}}}}},
              "not": {"required": ["access"]}}},
    {"if": {"properties": {"command": {"const": "outputs copy"}}},
     "then": {"properties": {"items": {"items": {"properties": {"kind": {"const": "job-output"}, "action": {"const": "copy"}}}}}}},
    {"if": {"properties": {"command": {"enum": ["notebooks copy", "notebooks recover"]}}},
     "then": {"properties": {"items": {"items": {"properties": {"kind": {"const": "notebook"}, "action": {"const": "copy"}}}}},
              "not": {"required": ["access"]}}}
]))]
pub struct Report {
    // SCHEMA_VERSION
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["copy", "plan", "outputs copy", "notebooks copy", "notebooks recover"]))]
    pub command: &'static str,
    /// true: nothing was written, items are planned (no manifest is written)
    pub dry_run: bool,
    /// copy: ARM id of --from; outputs/notebooks: the redacted source store
    pub source: String,
    /// copy: ARM id of --to; outputs/notebooks: the redacted destination store or local folder
    pub target: String,
    /// RFC 3339, UTC
    #[schemars(extend("format" = "date-time"))]
    pub started_at: String,
    pub duration_ms: u64,
    /// absent when there is none
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub warnings: Vec<String>,
    pub summary: Summary,
    pub items: Vec<ItemRecord>,
    /// copy, plan: the workspace's definitions (datastores, connections, computes, endpoints and
    /// deployments, schedules), in the order they were written; absent when none was selected or
    /// the source has none. Never a secret.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub estate: Vec<crate::estate::DefOutcome>,
    /// path of the manifest written (absent in a dry run)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// outputs copy stdout only: how the source was reached (control plane, storage, secondary endpoint)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

impl Report {
    /// A report of `command` with no items yet (fill `items`, then [`Report::summarize`]).
    pub fn new(command: &'static str, dry_run: bool, source: String, target: String, started_at: String) -> Report {
        Report {
            schema_version: SCHEMA_VERSION,
            command,
            dry_run,
            source,
            target,
            started_at,
            duration_ms: 0,
            warnings: Vec::new(),
            summary: Summary::default(),
            items: Vec::new(),
            estate: Vec::new(),
            manifest: None,
            access: None,
        }
    }
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
        let estate = self.estate.iter().any(|d| matches!(d.action, crate::estate::DefAction::Fail | crate::estate::DefAction::Conflict));
        if self.summary.failed > 0 || self.summary.conflict + planned(Action::Conflict) > 0 || manual || estate {
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
        for d in &self.estate {
            out.push_str(&d.human());
        }
        if !self.estate.is_empty() {
            out.push_str(&crate::estate::summary_line(&self.estate, self.dry_run));
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
            if s.copied == 0 && s.failed == 0 && s.conflict == 0 && s.needs_manual_reregistration == 0 && !self.estate.iter().any(|d| d.written) {
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

/// Now, as RFC 3339 (UTC): the `startedAt` of every report and journal line.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
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
            estate: Vec::new(),
            manifest: None,
            access: None,
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
