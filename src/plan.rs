//! The plan: a pure function of what the source has, what the target has, and the options.
//! It decides per item — copy, skip (identical), conflict (same name and version, different
//! content), overwrite or new version (when asked), or fail (the item cannot be read) — and
//! writes nothing. `--dry-run` prints it; the copy stage executes it.

use crate::assets::{version_order, Kind, Selection};
use crate::transfer::EngineOptions;
use serde::Serialize;
use std::path::PathBuf;

/// Comparisons in flight while planning (and in `verify`), at least: each is one or two small
/// metadata requests (a listing or HEAD per side), so on Azure the plan is bound by round trips,
/// not bandwidth; `--concurrency` (files in flight) raises it further, never lowers it.
/// (`scripts/bench/plan.sh`: 10,000 versions are about 15,000 such requests.)
pub const PLAN_CONCURRENCY: usize = 64;

/// `--on-conflict`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Report the conflict, change nothing (default).
    Report,
    /// Replace the target version with the source's.
    Overwrite,
    /// Register the source's content under the next free version number.
    NewVersion,
}

impl OnConflict {
    pub fn parse(s: &str) -> crate::error::Result<OnConflict> {
        match s {
            "report" | "skip" | "fail" => Ok(OnConflict::Report),
            "overwrite" => Ok(OnConflict::Overwrite),
            "new-version" => Ok(OnConflict::NewVersion),
            other => Err(crate::error::Error::usage(format!(
                "unknown --on-conflict '{other}': use report (default), overwrite or new-version"
            ))),
        }
    }
}

/// Options of `copy`, validated.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub selection: Selection,
    pub dry_run: bool,
    pub on_conflict: OnConflict,
    pub engine: EngineOptions,
    pub manifest: Option<PathBuf>,
    pub show_all_items: bool,
    /// Submit pipeline jobs in the target instead of recreating them as definitions.
    pub submit: bool,
    pub data: DataOptions,
}

/// What `copy` does with data assets (see `assets::data`).
#[derive(Debug, Clone, Default)]
pub struct DataOptions {
    /// Re-register data assets whose path is on a datastore both workspaces reach.
    pub reregister_shared: bool,
    /// `--shared-datastore SRC[=TGT]`: source datastore → target datastore with the same data.
    pub shared: Vec<(String, String)>,
    /// Where the YAML of data assets needing manual re-registration is written.
    pub output_dir: PathBuf,
    /// Data assets needing manual re-registration do not make the exit code "partial".
    pub accept_warnings: bool,
    /// Copy the files of uri_file/uri_folder data assets on the source workspace's storage.
    pub copy_data: bool,
}

/// Options of `verify`, validated.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// `verify BUNDLE`: check a snapshot bundle (alone, or --to against it) instead of --from.
    pub bundle: Option<String>,
    /// Which snapshot of the bundle (default: the newest).
    pub snapshot: Option<String>,
    pub kinds: Vec<Kind>,
    pub name: Option<String>,
    pub manifest: Option<PathBuf>,
    /// Also list in-sync items in the human output.
    pub show_all_items: bool,
}

pub use crate::compare::Comparison;

/// What the plan needs to know about one source item.
#[derive(Debug, Clone)]
pub struct Facts {
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// Why the source item cannot be copied (its content could not be read), if so.
    pub unreadable: Option<String>,
    pub comparison: Comparison,
    /// Versions of this name that already exist in the target.
    pub target_versions: Vec<String>,
}

/// What the plan decided (src/plan.rs Action).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum Action {
    Copy,
    Skip,
    Conflict,
    Overwrite,
    NewVersion,
    Fail,
    /// A data asset registered in the target pointing at the same data (shared datastore).
    Reregister,
    /// A data asset a person must re-register (its YAML is written for that).
    Manual,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub action: Action,
    /// The version written in the target (differs from the source's for new-version).
    pub target_version: String,
    pub reason: String,
}

pub fn decide(f: &Facts, on_conflict: OnConflict) -> Decision {
    let same = |action, reason: String| Decision { action, target_version: f.version.clone(), reason };
    if let Some(why) = &f.unreadable {
        return same(Action::Fail, why.clone());
    }
    match &f.comparison {
        Comparison::Missing => same(Action::Copy, "not in the target".into()),
        Comparison::Identical => same(Action::Skip, "already in the target, identical (spec and sha256 of every file)".into()),
        // Unknown is never a decision: nothing is written, whatever --on-conflict says.
        Comparison::Unknown(why) => same(Action::Fail, format!("{why}; nothing written in the target (rerun when it answers)")),
        Comparison::Different(why) => {
            let why = why.join("; ");
            match on_conflict {
                OnConflict::Report => same(
                    Action::Conflict,
                    format!("the target has {}:{} with different content ({why}); not overwritten (see --on-conflict)", f.name, f.version),
                ),
                OnConflict::Overwrite => same(Action::Overwrite, format!("replacing the target's version ({why})")),
                OnConflict::NewVersion => {
                    let next = next_version(&f.target_versions);
                    Decision {
                        action: Action::NewVersion,
                        reason: format!("the target's {} differs ({why}); registering as version {next}", f.version),
                        target_version: next,
                    }
                }
            }
        }
    }
}

/// One more than the highest numeric version (1 when there is none).
pub fn next_version(existing: &[String]) -> String {
    let max = existing.iter().filter_map(|v| v.parse::<u64>().ok()).max().unwrap_or(0);
    (max + 1).to_string()
}

/// Plans every item, in a stable order (kind, name, version).
pub fn plan(mut facts: Vec<Facts>, on_conflict: OnConflict) -> Vec<(Facts, Decision)> {
    facts.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)).then_with(|| version_order(&a.version, &b.version)));
    let mut planned: Vec<(Facts, Decision)> = facts.into_iter().map(|f| {
        let d = decide(&f, on_conflict);
        (f, d)
    }).collect();
    allocate_new_versions(&mut planned);
    planned
}

/// Allocates the numbers of `--on-conflict new-version` once for the whole run, in plan order:
/// each new version of a name takes one more than the target's numbers and every number taken
/// before it, so two conflicting versions never get the same number. Run again after
/// decisions change (a new version found already in the target becomes a skip): the numbers
/// close up.
pub fn allocate_new_versions(planned: &mut [(Facts, Decision)]) {
    let mut taken: std::collections::HashMap<(Kind, String), Vec<String>> = std::collections::HashMap::new();
    for (f, d) in planned.iter_mut().filter(|(_, d)| d.action == Action::NewVersion) {
        let mine = taken.entry((f.kind, f.name.clone())).or_default();
        let all: Vec<String> = f.target_versions.iter().chain(mine.iter()).cloned().collect();
        let next = next_version(&all);
        d.reason = d.reason.replace(&format!("registering as version {}", d.target_version), &format!("registering as version {next}"));
        d.target_version = next;
        mine.push(d.target_version.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(cmp: Comparison) -> Facts {
        Facts { kind: Kind::Model, name: "m".into(), version: "3".into(), unreadable: None, comparison: cmp, target_versions: vec!["1".into(), "3".into(), "x".into()] }
    }

    #[test]
    fn decisions() {
        assert_eq!(decide(&facts(Comparison::Missing), OnConflict::Report).action, Action::Copy);
        assert_eq!(decide(&facts(Comparison::Identical), OnConflict::Overwrite).action, Action::Skip);
        let diff = Comparison::Different(vec!["file a: sha256 differs".into()]);
        let c = decide(&facts(diff.clone()), OnConflict::Report);
        assert_eq!(c.action, Action::Conflict);
        assert!(c.reason.contains("sha256 differs") && c.reason.contains("--on-conflict"), "{}", c.reason);
        assert_eq!(decide(&facts(diff.clone()), OnConflict::Overwrite).action, Action::Overwrite);
        let n = decide(&facts(diff.clone()), OnConflict::NewVersion);
        assert_eq!((n.action, n.target_version.as_str()), (Action::NewVersion, "4"));
        for policy in [OnConflict::Report, OnConflict::Overwrite, OnConflict::NewVersion] {
            let u = decide(&facts(Comparison::Unknown("cannot compare with the target: 503".into())), policy);
            assert_eq!((u.action, u.target_version.as_str()), (Action::Fail, "3"), "{policy:?}");
            assert!(u.reason.contains("503") && u.reason.contains("nothing written"), "{}", u.reason);
        }
        // Two conflicting versions of one name: two numbers, each in its reason.
        let two = plan(vec![Facts { version: "1".into(), ..facts(diff.clone()) }, facts(diff)], OnConflict::NewVersion);
        let got: Vec<(&str, &str)> = two.iter().map(|(f, d)| (f.version.as_str(), d.target_version.as_str())).collect();
        assert_eq!(got, [("1", "4"), ("3", "5")]);
        assert!(two[1].1.reason.ends_with("registering as version 5"), "{}", two[1].1.reason);
        let mut f = facts(Comparison::Missing);
        f.unreadable = Some("no files".into());
        assert_eq!(decide(&f, OnConflict::Report).action, Action::Fail);
    }

    #[test]
    fn plan_order_is_stable() {
        let mut a = facts(Comparison::Missing);
        a.version = "10".into();
        let b = facts(Comparison::Missing);
        let mut c = facts(Comparison::Missing);
        c.kind = Kind::Environment;
        let p = plan(vec![a, b, c], OnConflict::Report);
        let order: Vec<(Kind, &str)> = p.iter().map(|(f, _)| (f.kind, f.version.as_str())).collect();
        assert_eq!(order, [(Kind::Model, "3"), (Kind::Model, "10"), (Kind::Environment, "3")]);
    }

    #[test]
    fn next_version_skips_non_numeric() {
        assert_eq!(next_version(&[]), "1");
        assert_eq!(next_version(&["2".into(), "beta".into(), "7".into()]), "8");
    }
}
