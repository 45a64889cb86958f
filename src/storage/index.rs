//! Planning by listing, not by asking: one paged flat listing of a container (with metadata)
//! gives every blob's name, size, Content-MD5, ETag, the sha256 the tool recorded and the source
//! version it was copied from — for every asset version at once, in about `blobs / 5000`
//! requests (rclone's `--fast-list` idea), instead of a listing or a HEAD per version folder.
//!
//! [`ListingIndex`] keeps of each blob only what planning needs (a compact [`Entry`], no XML, no
//! other metadata), sorted by name, so a version's folder is one range lookup
//! ([`ListingIndex::folder`]); memory grows with the blobs under the listed prefix, never with
//! a page's XML. Joining with the control plane's version lists is the planner's: it asks the
//! index for each version's folder and needs no storage request where the index answers.

use super::blob::BlobStore;
use super::{ObjectMeta, StorePath};
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

/// What planning needs of one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub size: u64,
    pub etag: Option<Box<str>>,
    pub content_md5: Option<[u8; 16]>,
    pub sha256: Option<Box<str>>,
    pub source: Option<Box<str>>,
}

/// Every blob under a prefix of one container, from one flat listing.
#[derive(Debug, Default, Clone)]
pub struct ListingIndex {
    entries: BTreeMap<Box<str>, Entry>,
    /// Blobs left out because their names are not plain paths.
    refused: Vec<String>,
    /// Listing pages (requests) it took.
    pages: usize,
    /// The wanted paths it answers for ([`ListingIndex::build_wanted`]).
    covered: BTreeSet<Box<str>>,
}

impl ListingIndex {
    /// Lists `prefix` of `store` once, page by page (`page_size`: the service's maximum when
    /// `None`), keeping only each blob's [`Entry`].
    pub async fn build(store: &BlobStore, prefix: &str, page_size: Option<usize>) -> Result<ListingIndex> {
        let mut index = ListingIndex::default();
        let listed = store
            .list_pages(prefix, page_size, None, |m| {
                index.insert(m);
                true
            })
            .await?;
        index.pages = listed.pages;
        index.refused = listed.refused;
        Ok(index)
    }

    /// The index of what `wanted` (object paths, each a blob or a folder) needs of `store`:
    /// one paged flat listing per top-level folder the wanted paths are in (prefix: their
    /// longest common prefix), keeping only the wanted blobs and the blobs under a wanted folder
    /// — memory grows with what planning needs, not with the container. A top-level folder whose
    /// listing would take more pages than it has wanted paths is given up (asking per path is
    /// cheaper: one request each) and left for [`ListingIndex::covers`] to say so.
    pub async fn build_wanted(store: &BlobStore, wanted: &BTreeSet<String>, page_size: Option<usize>) -> Result<ListingIndex> {
        let mut index = ListingIndex::default();
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for w in wanted.iter().map(|w| w.trim_matches('/')).filter(|w| !w.is_empty()) {
            groups.entry(w.split('/').next().unwrap_or_default()).or_default().push(w);
        }
        for (top, paths) in groups {
            let prefix = common_prefix(&paths);
            let keep: BTreeSet<&str> = paths.iter().copied().collect();
            let mut kept = Vec::new();
            let listed = store
                .list_pages(prefix, page_size, Some(paths.len()), |m| {
                    if is_wanted(m.path.as_str(), &keep) {
                        kept.push(m);
                    }
                    true
                })
                .await?;
            index.pages += listed.pages;
            if !listed.complete {
                tracing::debug!(top, pages = listed.pages, wanted = paths.len(), "listing given up: more pages than wanted paths");
                continue;
            }
            index.refused.extend(listed.refused);
            for m in kept {
                index.insert(m);
            }
            index.covered.extend(paths.into_iter().map(Box::from));
        }
        Ok(index)
    }

    /// Whether the index answers for the object path `path` (a blob or a folder) as a listing
    /// of it would: it was built for it ([`ListingIndex::build_wanted`]).
    pub fn covers(&self, path: &str) -> bool {
        self.covered.contains(path.trim_matches('/'))
    }

    /// Adds (or replaces) one listed object.
    pub fn insert(&mut self, m: ObjectMeta) {
        let e = Entry {
            size: m.size,
            etag: m.etag.map(String::into_boxed_str),
            content_md5: m.content_md5,
            sha256: m.sha256.map(String::into_boxed_str),
            source: m.source.map(String::into_boxed_str),
        };
        self.entries.insert(m.path.as_str().into(), e);
    }

    /// Listing requests the index took.
    pub fn pages(&self) -> usize {
        self.pages
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Names left out of the index because they are not plain paths.
    pub fn refused(&self) -> &[String] {
        &self.refused
    }

    /// The object `path`, as [`ObjectMeta`], or `None` when the listing did not show it.
    pub fn get(&self, path: &str) -> Option<ObjectMeta> {
        let (k, e) = self.entries.get_key_value(path)?;
        Some(meta(k, e))
    }

    /// The objects in the folder `folder` (and below), sorted by path: what a listing of that
    /// folder would have answered.
    pub fn folder(&self, folder: &str) -> Vec<ObjectMeta> {
        let f = folder.trim_matches('/');
        if f.is_empty() {
            return self.entries.iter().map(|(k, e)| meta(k, e)).collect();
        }
        let start = format!("{f}/");
        self.entries.range::<str, _>((std::ops::Bound::Included(start.as_str()), std::ops::Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(k, e)| meta(k, e))
            .collect()
    }
}

/// Whether the blob `name` is a wanted path or under a wanted folder.
fn is_wanted(name: &str, wanted: &BTreeSet<&str>) -> bool {
    wanted.contains(name) || name.match_indices('/').any(|(i, _)| wanted.contains(&name[..i]))
}

/// The longest common prefix of `paths` (at a character boundary).
fn common_prefix<'a>(paths: &[&'a str]) -> &'a str {
    let Some(first) = paths.first() else { return "" };
    let mut len = first.len();
    for p in &paths[1..] {
        len = first.bytes().zip(p.bytes()).take(len).take_while(|(a, b)| a == b).count();
    }
    while !first.is_char_boundary(len) {
        len -= 1;
    }
    &first[..len]
}

fn meta(k: &str, e: &Entry) -> ObjectMeta {
    ObjectMeta {
        path: StorePath::parse(k).expect("indexed names are plain paths"),
        size: e.size,
        etag: e.etag.as_deref().map(str::to_string),
        content_md5: e.content_md5,
        sha256: e.sha256.as_deref().map(str::to_string),
        source: e.source.as_deref().map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, size: u64) -> ObjectMeta {
        ObjectMeta { path: StorePath::parse(p).unwrap(), size, etag: Some("0x1".into()), content_md5: None, sha256: Some("ab".into()), source: None }
    }

    /// N versions' folders in one container: the index answers every folder as a listing of
    /// it would, and costs ceil(blobs / page size) List Blobs requests — counted by the storage
    /// proxy — instead of one request (or more) per version.
    #[tokio::test(flavor = "multi_thread")]
    async fn one_flat_listing_answers_every_folder_in_pages_requests() {
        use crate::storage::{conformance, Store, StorageCredential};
        use aml_emulator::azurite::{Azurite, AzuriteOptions, DEV_KEY};
        let az = tokio::task::spawn_blocking(|| Azurite::start(AzuriteOptions { accounts: vec![("amltestsa".into(), DEV_KEY.into())], location: None }))
            .await
            .unwrap()
            .expect("Azurite (run scripts/setup.sh)");
        let proxy = aml_emulator::StorageProxy::start(&az.blob_endpoint()).unwrap();
        let url = url::Url::parse(&format!("{}/amltestsa", proxy.blob_endpoint())).unwrap();
        let key = azure_sharedkey::SharedKey::new("amltestsa", DEV_KEY).unwrap();
        let s = BlobStore::new(reqwest::Client::new(), &url, "amltestsa", "indexed", StorageCredential::AccountKey(key), crate::http::RetryPolicy::default()).unwrap();
        s.create_if_missing().await.unwrap();
        let versions = 12;
        for v in 0..versions {
            for f in 0..(1 + v % 3) {
                let p = StorePath::parse(&format!("LocalUpload/v{v:02}/f{f}.bin")).unwrap();
                conformance::write_all(&s, &p, &vec![v as u8; 10 + f], 100).await.unwrap();
            }
        }
        let blobs: usize = (0..versions).map(|v| 1 + v % 3).sum();
        for page in [5usize, 7, 5000] {
            proxy.reset_counters();
            let index = ListingIndex::build(&s, "LocalUpload/", Some(page)).await.unwrap();
            let pages = blobs.div_ceil(page);
            assert_eq!((index.len(), index.pages()), (blobs, pages));
            assert_eq!(proxy.request_count("GET", "comp=list"), pages, "page size {page}");
            assert_eq!(proxy.requests().len(), pages, "nothing but the listing was asked");
        }
        let index = ListingIndex::build(&s, "", None).await.unwrap();
        for v in 0..versions {
            let folder = format!("LocalUpload/v{v:02}");
            assert_eq!(index.folder(&folder), s.list(&format!("{folder}/")).await.unwrap(), "{folder}");
        }
        // Only what is wanted: two folders and one file, in one listing of their common prefix
        // (one page); a top-level folder whose listing takes more pages than it has wanted
        // paths is given up (asked per path instead).
        let wanted: BTreeSet<String> = ["LocalUpload/v01", "LocalUpload/v02/", "LocalUpload/v04/f1.bin"].map(String::from).into();
        proxy.reset_counters();
        let some = ListingIndex::build_wanted(&s, &wanted, None).await.unwrap();
        assert_eq!((some.pages(), proxy.requests().len()), (1, 1));
        assert_eq!(some.len(), 2 + 3 + 1, "only the wanted blobs are kept");
        assert!(some.covers("LocalUpload/v02") && some.covers("LocalUpload/v04/f1.bin") && !some.covers("LocalUpload/v03"));
        assert_eq!(some.folder("LocalUpload/v02"), s.list("LocalUpload/v02/").await.unwrap());
        let given_up = ListingIndex::build_wanted(&s, &wanted, Some(2)).await.unwrap();
        assert_eq!((given_up.pages(), given_up.covers("LocalUpload/v01"), given_up.len()), (3, false, 0));
        let one = index.get("LocalUpload/v05/f2.bin").unwrap();
        assert_eq!((one.size, one.sha256.is_some(), one.source.as_deref()), (12, true, Some("0123456789abcdef-0x1")));
    }

    #[test]
    fn wanted_paths_and_their_common_prefix() {
        let w: BTreeSet<&str> = ["a/b", "a/c.txt"].into();
        assert!(is_wanted("a/b/x", &w) && is_wanted("a/b/y/z", &w) && is_wanted("a/c.txt", &w) && is_wanted("a/b", &w));
        assert!(!is_wanted("a/bc/x", &w) && !is_wanted("a/c.txt.bak", &w) && !is_wanted("a", &w));
        assert_eq!(common_prefix(&["LocalUpload/ab/x", "LocalUpload/ac", "LocalUpload/a"]), "LocalUpload/a");
        assert_eq!(common_prefix(&["one/path"]), "one/path");
        assert_eq!(common_prefix(&["é1", "é2"]), "é");
    }

    #[test]
    fn a_folder_is_a_range_of_the_index() {
        let mut i = ListingIndex::default();
        for (p, s) in [("LocalUpload/a/m.pkl", 1), ("LocalUpload/a/sub/x", 2), ("LocalUpload/a-b/y", 3), ("LocalUpload/ab/z", 4), ("other", 5)] {
            i.insert(m(p, s));
        }
        let names = |v: Vec<ObjectMeta>| v.into_iter().map(|m| m.path.to_string()).collect::<Vec<_>>();
        assert_eq!(names(i.folder("LocalUpload/a")), ["LocalUpload/a/m.pkl", "LocalUpload/a/sub/x"]);
        assert_eq!(names(i.folder("LocalUpload/a/")), ["LocalUpload/a/m.pkl", "LocalUpload/a/sub/x"]);
        assert_eq!(i.folder("LocalUpload/none"), Vec::new());
        assert_eq!(i.folder("").len(), 5);
        assert_eq!(i.get("LocalUpload/ab/z").unwrap().size, 4);
        assert_eq!(i.get("LocalUpload/ab/z").unwrap().sha256.as_deref(), Some("ab"));
        assert!(i.get("LocalUpload/ab").is_none());
    }
}
