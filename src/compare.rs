//! The one comparison: whether a version in the target is the same as the source's (or as what
//! a YAML asks for). `copy`, `plan`, `verify`, `snapshot restore`, `pipeline create` and
//! `register` all ask here, so "identical" means one thing everywhere.
//!
//! Three answers (plus "missing" when the target has no such version):
//! - **identical**: the same specification after [`normalize`], and every file the same path,
//!   size and sha256;
//! - **different**: a difference was seen (the reasons say which);
//! - **unknown**: something could not be read (either side) before any difference was seen.
//!   An unknown comparison is never a decision: the plan fails the item with the error and
//!   writes nothing, whatever `--on-conflict` says.
//!
//! [`TargetComparer`] is the comparison of a source item with the target's counterpart that
//! `copy`/`plan` plan from and `verify`/`snapshot` report: what is compared (specification
//! with references rewritten, or also files) is the kind's to say (`assets::AssetKind`).
//!
//! The comparison of two specifications as values ([`Comparison`], [`normalize`], [`specs`]) is
//! in `assets::spec`, below the asset kinds that use it, and re-exported here. Extending what
//! "the same definition" means (e.g. a new kind's service-set fields) is done in
//! [`normalize`]'s lists, and nowhere else.

use crate::assets::refs::Rewriter;
use crate::assets::{AssetItem, FileEntry, Kind};
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::transfer::Engine;
use crate::workspace::{Context, WorkspaceRef};
use serde_json::Value;
use std::collections::HashMap;

pub use crate::assets::spec::{is_service_default, normalize, spec_difference, specs, Comparison, SERVICE_FIELDS};

/// A source version (content resolved where it has files) with the target's version of the same
/// name: specification, then every file by path, size and sha256 (hashes read only where not
/// recorded; a target file verified from this very source version is not read). A read that
/// fails before any difference is seen gives [`Comparison::Unknown`].
pub async fn versions(src: &AssetItem, tgt: &mut AssetItem, tgt_ds: &Datastores, engine: &Engine) -> Comparison {
    let mut why: Vec<String> = spec_difference(&src.portable_properties(), &tgt.portable_properties()).into_iter().collect();
    if let Err(e) = files(src, tgt, tgt_ds, engine, &mut why).await {
        if why.is_empty() {
            return Comparison::Unknown(format!("cannot compare with the target: {e}"));
        }
    }
    if why.is_empty() {
        Comparison::Identical
    } else {
        Comparison::Different(why)
    }
}

async fn files(src: &AssetItem, tgt: &mut AssetItem, tgt_ds: &Datastores, engine: &Engine, why: &mut Vec<String>) -> Result<()> {
    match (&src.content, tgt.location().is_some()) {
        (None, false) => Ok(()),
        (Some(_), false) | (None, true) => {
            why.push("one has files, the other has none".into());
            Ok(())
        }
        (Some(sc), true) => {
            crate::assets::resolve_content(tgt, tgt_ds).await?;
            let tc = tgt.content.as_ref().expect("resolved");
            let tmap: HashMap<&str, &FileEntry> = tc.files.iter().map(|f| (f.rel.as_str(), f)).collect();
            if sc.files.len() != tc.files.len() || sc.files.iter().any(|f| !tmap.contains_key(f.rel.as_str())) {
                why.push("the file lists differ".into());
                return Ok(());
            }
            for f in &sc.files {
                let t = tmap[f.rel.as_str()];
                if f.meta.size != t.meta.size {
                    why.push(format!("file {}: size {} vs {}", f.rel, f.meta.size, t.meta.size));
                    continue;
                }
                // A target copy verified from this very source version needs no reading.
                let tag = crate::storage::source_tag(&sc.store.uri(&f.meta.path), f.meta.etag.as_deref());
                if t.meta.sha256.is_some() && tag.is_some() && t.meta.source == tag {
                    continue;
                }
                let s_sha = match &f.meta.sha256 {
                    Some(h) => h.clone(),
                    None => engine.digest(&*sc.store, &f.meta.path, f.meta.size, false).await?.sha256,
                };
                let t_sha = match &t.meta.sha256 {
                    Some(h) => h.clone(),
                    None => engine.digest(&*tc.store, &t.meta.path, t.meta.size, false).await?.sha256,
                };
                if s_sha != t_sha {
                    why.push(format!("file {}: sha256 differs", f.rel));
                }
            }
            Ok(())
        }
    }
}

/// Whether the target's content (`have`, resolved here) holds exactly `want`: files by path
/// relative to the content root (leading `/` ignored), size and sha256, the target's hashes read
/// where not recorded. For contents whose files are known without a source store (a snapshot's
/// manifest, a local folder). An error reading the target is returned, never taken for "differs".
pub async fn holds_files(want: &[(String, u64, String)], have: &mut AssetItem, ds: &Datastores, engine: &Engine) -> Result<bool> {
    crate::assets::resolve_content(have, ds).await?;
    let hc = have.content.as_ref().expect("resolved");
    let mut theirs = Vec::with_capacity(hc.files.len());
    for f in &hc.files {
        let sha = match &f.meta.sha256 {
            Some(h) => h.clone(),
            None => engine.digest(&*hc.store, &f.meta.path, f.meta.size, false).await?.sha256,
        };
        theirs.push((f.rel.trim_start_matches('/').to_string(), f.meta.size, sha));
    }
    let mut ours: Vec<(String, u64, String)> = want.iter().map(|(p, s, h)| (p.trim_start_matches('/').to_string(), *s, h.clone())).collect();
    theirs.sort();
    ours.sort();
    Ok(theirs == ours)
}

/// Compares source items with the target's version of the same name and number, the way
/// `copy` plans and `verify` reports: components and pipelines by their (rewritten)
/// specification, data assets by specification (unless their files are copied), everything
/// else by specification and the sha256 of every file. Reads hashes only where needed; a
/// target copy recording this very source version (sha256 + source tag) is not read.
pub struct TargetComparer<'a> {
    pub ctx: &'a Context,
    pub from: &'a WorkspaceRef,
    pub to: &'a WorkspaceRef,
    pub src_ds: &'a Datastores,
    pub tgt_ds: &'a Datastores,
    pub engine: &'a Engine,
    pub rw: &'a Rewriter<'a>,
    /// Pipelines are compared as submitted jobs (`--submit`) rather than definitions.
    pub submit: bool,
    /// Data assets on the source's storage are compared by their files (`--copy-data`).
    pub copy_data: bool,
}

impl TargetComparer<'_> {
    /// Whether [`Self::compare`] reads `item`'s files (and its target counterpart's): not for
    /// a kind compared by specification, nor for data whose files are not copied.
    fn reads_files(&self, item: &AssetItem) -> bool {
        let spec = item.kind.spec();
        spec.desired(item, self.from, self.submit, self.rw).is_none() && spec.files_are_copied(item, self.from, self.src_ds.all(), self.copy_data)
    }

    /// Planning by listing: indexes the files [`Self::compare`] will read — of the source
    /// items and of their target counterparts — with one flat listing per container and side
    /// (`crate::assets::index_contents`), so comparing them asks storage nothing more (but the
    /// hashes of files neither side recorded).
    pub async fn index<'i>(&self, pairs: impl IntoIterator<Item = (&'i AssetItem, Option<&'i AssetItem>)>) {
        let (mut src, mut tgt) = (Vec::new(), Vec::new());
        for (item, target) in pairs.into_iter().filter(|(i, _)| self.reads_files(i)) {
            src.push(item);
            tgt.extend(target);
        }
        futures::future::join(crate::assets::index_contents(src, self.src_ds), crate::assets::index_contents(tgt, self.tgt_ds)).await;
    }

    /// Returns the item (its content resolved where it has files), why the source cannot be
    /// read (if so), and the comparison with `target` (the target's same name and version).
    pub async fn compare(&self, mut item: AssetItem, target: Option<AssetItem>) -> (AssetItem, Option<String>, Comparison) {
        let (ctx, from, to, o_submit) = (self.ctx, self.from, self.to, self.submit);
        let spec = item.kind.spec();
        if let Some(why) = spec.refused(&item, o_submit) {
            return (item, Some(why), Comparison::Missing);
        }
        if let Some((want, _)) = spec.desired(&item, from, o_submit, self.rw) {
            // A component is compared with the target's listed version (`target`); a
            // pipeline's counterpart has another name or kind (its definition component,
            // or a job with --submit), so it is asked for.
            let found = if spec.compare_listed() {
                Ok(target.map(|t| t.properties))
            } else {
                match ctx.arm.get(&spec.target_path(to, &item.name, &item.version, o_submit)).await {
                    Err(Error::NotFound(_)) => Ok(None),
                    Err(e) => Err(e),
                    Ok(t) => Ok(Some(t.get("properties").cloned().unwrap_or(Value::Null))),
                }
            };
            let comparison = match found {
                Ok(None) => Comparison::Missing,
                Err(e) => Comparison::Unknown(format!("cannot compare with the target: {e}")),
                Ok(Some(have)) => specs(&want, &spec.comparable_target(have, o_submit)),
            };
            return (item, None, comparison);
        }
        if !self.reads_files(&item) {
            // Not read (data: its path may be anywhere): compared by specification only.
            let comparison = match target {
                Some(t) => specs(&item.portable_properties(), &t.portable_properties()),
                None => Comparison::Missing,
            };
            return (item, None, comparison);
        }
        if let Err(e) = crate::assets::resolve_content(&mut item, self.src_ds).await {
            return (item, Some(format!("cannot read the source's files: {e}")), Comparison::Missing);
        }
        let comparison = match target {
            Some(mut t) => versions(&item, &mut t, self.tgt_ds, self.engine).await,
            None => Comparison::Missing,
        };
        (item, None, comparison)
    }
}

impl TargetComparer<'_> {
    /// Whether the target's version `v` of `item` holds `item`'s content: identical by the same
    /// comparison `--on-conflict new-version` uses (a kind compared at another path, a
    /// pipeline, which has one version per name: that the version exists).
    pub async fn held_by_target(&self, item: &AssetItem, tgt_by_name: &HashMap<(Kind, String), Vec<AssetItem>>, v: String) -> bool {
        if !item.kind.spec().compare_listed() {
            return self.ctx.arm.get(&item.kind.spec().target_path(self.to, &item.name, &v, self.submit)).await.is_ok();
        }
        let listed: Vec<AssetItem> = tgt_by_name.get(&(item.kind, item.name.clone())).into_iter().flatten().filter(|t| t.version == v).cloned().collect();
        matches!(self.copied_as(item, &listed).await, Ok(Some(ref got)) if *got == v)
    }

    /// The version, other than its own number, under which the target already holds `item`
    /// identically (`others`: the target's versions of the same name), newest first; an error
    /// (the unknown comparison's reason) when none is identical but some could not be compared.
    pub async fn copied_as(&self, item: &AssetItem, others: &[AssetItem]) -> std::result::Result<Option<String>, String> {
        let mut others: Vec<&AssetItem> = others.iter().filter(|t| t.version != item.version).collect();
        others.sort_by(|a, b| crate::assets::version_order(&b.version, &a.version));
        let mut unknown = None;
        for t in others {
            let spec = item.kind.spec();
            let same = if !spec.compare_listed() {
                false
            } else if let Some((want, _)) = spec.desired(item, self.from, self.submit, self.rw) {
                spec_difference(&want, &t.properties).is_none()
            } else if !spec.files_are_copied(item, self.from, self.src_ds.all(), self.copy_data) {
                spec_difference(&item.portable_properties(), &t.portable_properties()).is_none()
            } else {
                match versions(item, &mut t.clone(), self.tgt_ds, self.engine).await {
                    Comparison::Identical => true,
                    Comparison::Unknown(why) => {
                        unknown.get_or_insert(format!("version {}: {why}", t.version));
                        false
                    }
                    _ => false,
                }
            };
            if same {
                return Ok(Some(t.version.clone()));
            }
        }
        match unknown {
            Some(why) => Err(why),
            None => Ok(None),
        }
    }
}
