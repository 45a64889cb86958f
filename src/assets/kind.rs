//! The Kind abstraction: everything that differs between asset kinds, in one trait, and the
//! one table ([`Kind::spec`]) that maps a kind to its module. The stages around it (plan,
//! compare, execute, the commands) ask the trait and never match on a kind themselves.
//!
//! # Adding a kind
//!
//! A new kind (say `schedule`) is one module and three lines:
//!
//! 1. `src/assets/schedule.rs`: a unit struct `pub struct Schedule;` with
//!    `#[async_trait] impl AssetKind for Schedule { ... }`, and unit tests of its pure parts
//!    (names, dependencies, YAML) that need no emulator. Implement at least the required
//!    methods ([`AssetKind::kind`], [`AssetKind::names`]: its [`Names`]); override what differs from a
//!    versioned asset without files:
//!    - how it is **listed**: [`AssetKind::versioned`] (containers + versions, the default) or
//!      [`AssetKind::list`] for anything else (jobs, endpoints, schedules…);
//!    - how its **files** are found: [`AssetKind::location_pointer`] (the property holding the
//!      content URI; `None`: no files), [`AssetKind::recorded_as_datastore_uri`] and
//!      [`AssetKind::files_in_snapshot`];
//!    - how two versions are **compared** (the one comparison, `crate::compare`):
//!      [`AssetKind::desired`] (`Some`: compared and registered by its specification with
//!      references rewritten, no files), [`AssetKind::compare_listed`],
//!      [`AssetKind::comparable_target`], [`AssetKind::read_only_fields`];
//!    - whether an item cannot be copied in a mode: [`AssetKind::refused`];
//!    - how its **references** are found and rewritten: [`AssetKind::dependencies`],
//!      [`AssetKind::needs`], and [`AssetKind::desired`] (rewrite with the given `Rewriter`);
//!    - how it is **registered**: [`AssetKind::target_path`], [`AssetKind::register`];
//!    - its **`az ml` YAML** form: [`AssetKind::yaml_file`], [`AssetKind::schema`].
//! 2. `src/assets/kind.rs`: a variant in [`Kind`] (with its place in [`Kind::ALL`], which is
//!    the dependency order) and one arm in [`Kind::spec`].
//! 3. `src/assets/mod.rs`: `pub mod schedule;`.
//!
//! Nothing in `plan.rs`, `compare.rs`, `execute.rs` or `commands/` changes for a new kind.

use super::refs::{Dep, Rewrite, Rewriter};
use super::AssetItem;
use crate::azureml::datastores::Datastore;
use crate::azureml::{workspace_path, ArmClient};
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Model,
    Environment,
    Code,
    Component,
    Data,
    /// A job of any type: command, pipeline, sweep, AutoML, spark (not versioned: its
    /// `version` is always "1"). `pipeline` in reports and bundles written before jobs of
    /// every type were copied (read as this kind: `storage::bundle`).
    Job,
}

/// A kind in JSON: its singular name, one of every kind ([`Kind::ALL`], so a new kind is in
/// every schema with no edit here).
impl schemars::JsonSchema for Kind {
    fn inline_schema() -> bool {
        true
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Kind".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<Value> = Kind::ALL.iter().map(|k| serde_json::to_value(k).expect("a kind serializes")).collect();
        schemars::json_schema!({"type": "string", "enum": names})
    }
}

/// A kind's names.
#[derive(Debug)]
pub struct Names {
    /// The singular name reports, JSON and errors use ("model").
    pub name: &'static str,
    /// The plural name (`--kinds`, human text): "models", "code", "jobs".
    pub plural: &'static str,
    /// Every word `--kinds` accepts for it (lowercase).
    pub aliases: &'static [&'static str],
    /// The ARM path segment under a workspace ("models", "jobs").
    pub segment: &'static str,
}

/// How [`AssetKind::register`] writes a version.
#[derive(Debug, Clone, Copy)]
pub struct Registration<'a> {
    /// The version number it gets in the target.
    pub version: &'a str,
    /// Delete an existing version of that number first (`--on-conflict overwrite`).
    pub replace: bool,
    /// Pipelines: create the job itself (`--submit`), not its definition.
    pub submit: bool,
}

/// What one asset kind does differently. See the module documentation for what a new kind
/// implements; every method but the first two has the default of a versioned asset whose
/// version is compared by specification and files.
#[async_trait]
pub trait AssetKind: Send + Sync + 'static {
    fn kind(&self) -> Kind;
    /// What it is called, and where it lives in a workspace.
    fn names(&self) -> &'static Names;

    /// Containers with versions (listed by [`super::list_versions`]); `false`: [`Self::list`].
    fn versioned(&self) -> bool {
        true
    }
    /// The JSON pointer of the version property holding its content location (`None`: no files).
    fn location_pointer(&self) -> Option<&'static str> {
        None
    }
    /// A snapshot keeps its files (content-addressed in the bundle) and restores them with it;
    /// `false`: only its specification is kept.
    fn files_in_snapshot(&self) -> bool {
        self.location_pointer().is_some()
    }
    /// Copied content is recorded as an `azureml://datastores/…` URI (models, data) rather than
    /// the blob folder URL the service wants for build contexts and code.
    fn recorded_as_datastore_uri(&self) -> bool {
        false
    }
    /// Fields the service sets on a version, dropped before it is written elsewhere.
    fn read_only_fields(&self) -> &'static [&'static str] {
        &["provisioningState", "environmentType", "isAnonymous"]
    }
    /// The kinds its items may refer to (enumerated with it so every reference resolves).
    fn needs(&self) -> &'static [Kind] {
        &[]
    }
    /// Every asset an item's specification refers to.
    fn dependencies(&self, _props: &Value) -> Vec<Dep> {
        Vec::new()
    }
    /// Why an item cannot be copied at all in this mode (`submit`: `--submit`), if so: the plan
    /// fails it with this reason and writes nothing of it (a job without a definition form).
    fn refused(&self, _item: &AssetItem, _submit: bool) -> Option<String> {
        None
    }
    /// Spec-only kinds (components, jobs): the properties the target gets, references
    /// rewritten by `rw`, and the rewrites. `None`: the version's own portable properties
    /// and its files are what is compared and copied.
    fn desired(&self, _item: &AssetItem, _from: &WorkspaceRef, _submit: bool, _rw: &Rewriter) -> Option<(Value, Vec<Rewrite>)> {
        None
    }
    /// Whether the target's counterpart is the listed version of the same name and number
    /// (`true`), or must be fetched at [`Self::target_path`] (a pipeline's definition).
    fn compare_listed(&self) -> bool {
        true
    }
    /// The target's properties as compared with [`Self::desired`].
    fn comparable_target(&self, have: Value, _submit: bool) -> Value {
        have
    }
    /// Whether an item's files are read, compared and copied (data assets: only with
    /// `--copy-data`, and only when on the source's storage); `false`: by specification only.
    fn files_are_copied(&self, _item: &AssetItem, _from: &WorkspaceRef, _src_ds: &[Datastore], _copy_data: bool) -> bool {
        true
    }
    /// The ARM path of an item's version `version` in `to`.
    fn target_path(&self, to: &WorkspaceRef, name: &str, version: &str, _submit: bool) -> String {
        format!("{}/{}/{}/versions/{}", workspace_path(to), self.names().segment, super::enc(name), super::enc(version))
    }
    /// Lists a workspace's items of a kind that is not versioned.
    async fn list(&self, _arm: &ArmClient, _ws: &WorkspaceRef, _name: Option<&str>) -> Result<Vec<AssetItem>> {
        Ok(Vec::new())
    }
    /// Registers `item` in `to` with properties `props`, as `how` says (which version, whether
    /// it replaces an existing one). Returns the target name when it differs from the source's.
    async fn register(&self, arm: &ArmClient, to: &WorkspaceRef, item: &AssetItem, how: Registration<'_>, props: &Value) -> Result<Option<String>> {
        super::register_props(arm, to, self.kind(), &item.name, &item.container, how.version, how.replace, props).await?;
        Ok(None)
    }
    /// The file name of its `az ml` YAML in a downloaded folder.
    fn yaml_file(&self) -> Option<&'static str> {
        None
    }
    /// The `$schema` its `az ml` YAML carries.
    fn schema(&self) -> Option<&'static str> {
        None
    }
}

impl Kind {
    /// Every kind `copy` knows, in dependency order: what is needed comes first.
    pub const ALL: &'static [Kind] = &[Kind::Environment, Kind::Code, Kind::Model, Kind::Data, Kind::Component, Kind::Job];

    /// The order `--kinds` names them in help and errors.
    pub const LISTED: &'static [Kind] = &[Kind::Model, Kind::Environment, Kind::Code, Kind::Component, Kind::Job, Kind::Data];

    /// The table: the module that implements each kind.
    pub fn spec(self) -> &'static dyn AssetKind {
        match self {
            Kind::Model => &super::model::Model,
            Kind::Environment => &super::environment::Environment,
            Kind::Code => &super::code::Code,
            Kind::Component => &super::component::Component,
            Kind::Data => &super::data::Data,
            Kind::Job => &super::pipeline::Jobs,
        }
    }

    /// The ARM path segment under a workspace.
    pub fn segment(self) -> &'static str {
        self.spec().names().segment
    }

    /// Kinds with containers and versions (all but jobs).
    pub fn is_versioned(self) -> bool {
        self.spec().versioned()
    }

    pub fn plural(self) -> &'static str {
        self.spec().names().plural
    }

    /// The property holding the content location (none for components and jobs).
    pub fn location_pointer(self) -> Option<&'static str> {
        self.spec().location_pointer()
    }

    pub fn parse_list(s: &str) -> Result<Vec<Kind>> {
        let names = || Kind::LISTED.iter().map(|k| k.plural()).collect::<Vec<_>>().join(", ");
        let mut out = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let word = part.to_ascii_lowercase();
            if word == "all" {
                for k in Kind::ALL {
                    if !out.contains(k) {
                        out.push(*k);
                    }
                }
                continue;
            }
            let Some(k) = Kind::ALL.iter().copied().find(|k| k.spec().names().aliases.contains(&word.as_str())) else {
                return Err(Error::usage(format!("unknown kind '{word}' in --kinds: use {} (or all)", names())));
            };
            if !out.contains(&k) {
                out.push(k);
            }
        }
        if out.is_empty() {
            return Err(Error::usage(format!("--kinds is empty: use {}", names())));
        }
        Ok(out)
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.spec().names().name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse() {
        assert_eq!(Kind::parse_list("models, environments").unwrap(), [Kind::Model, Kind::Environment]);
        assert_eq!(Kind::parse_list("pipelines,code").unwrap(), [Kind::Job, Kind::Code], "pipelines: the old name of jobs");
        assert_eq!(Kind::parse_list("jobs").unwrap(), [Kind::Job]);
        assert_eq!(serde_json::to_value(Kind::Job).unwrap(), "job");
        assert_eq!(Kind::parse_list("all").unwrap(), Kind::ALL);
        assert_eq!(Kind::parse_list("envs,Model").unwrap(), [Kind::Environment, Kind::Model]);
        let e = Kind::parse_list("notebooks").unwrap_err().to_string();
        assert!(e.contains("unknown kind 'notebooks'") && e.contains("models, environments, code, components, jobs, data"), "{e}");
        assert!(Kind::parse_list(" , ").unwrap_err().to_string().contains("--kinds is empty"));
    }

    #[test]
    fn the_table_is_consistent() {
        for k in Kind::ALL {
            let s = k.spec();
            assert_eq!(s.kind(), *k, "Kind::spec({k:?}) names another kind");
            let n = s.names();
            assert!(n.aliases.contains(&n.name) && n.aliases.contains(&n.plural), "{k}: --kinds accepts its own names");
            for need in s.needs() {
                let (a, b) = (Kind::ALL.iter().position(|x| x == need), Kind::ALL.iter().position(|x| x == k));
                assert!(a < b || need == k, "{k} needs {need}, which Kind::ALL must put first");
            }
            assert!(Kind::LISTED.contains(k), "{k} is named in --kinds' help");
        }
    }
}
