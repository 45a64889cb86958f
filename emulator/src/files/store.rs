//! State of the Azure Files emulator: accounts → shares → a flat index of directories and files
//! (plus frozen copies of the index per share snapshot), persisted as JSON in
//! `<data_dir>/files-state.json` (atomic rename). File contents live on disk as
//! `<data_dir>/blobs/<id>`, never in memory: snapshots share blobs with the live share and a
//! write to a shared blob copies it first (copy on write).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::FilesError;

/// Default share quota in GiB (a standard share with large file shares enabled).
pub const DEFAULT_QUOTA_GIB: u64 = 102_400;

const STATE_FILE: &str = "files-state.json";
const FORMAT: u32 = 1;

/// 100-ns ticks since the Unix epoch.
pub type Ticks = i64;

static LAST_TICK: AtomicI64 = AtomicI64::new(0);

/// Now, in 100-ns ticks, strictly increasing within the process (so ETags and snapshot
/// names never repeat).
pub fn now_ticks() -> Ticks {
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 100) as i64;
    let mut last = LAST_TICK.load(Ordering::SeqCst);
    loop {
        let next = now.max(last + 1);
        match LAST_TICK.compare_exchange(last, next, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return next,
            Err(l) => last = l,
        }
    }
}

fn datetime(t: Ticks) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp_nanos(t as i128 * 100).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}

/// `Thu, 26 Nov 2026 10:00:00 GMT`
pub fn rfc1123(t: Ticks) -> String {
    let fmt = time::macros::format_description!("[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT");
    datetime(t).format(&fmt).unwrap_or_default()
}

/// `2026-11-26T10:00:00.1234567Z` (Azure's seven fractional digits; also the snapshot form).
pub fn iso7(t: Ticks) -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    format!("{}.{:07}Z", datetime(t).format(&fmt).unwrap_or_default(), t.rem_euclid(10_000_000))
}

/// `"0x8DE0C5B7D1A2F3C"`: quoted hex of a FILETIME-like tick count, as Azure's ETags look.
pub fn etag(t: Ticks) -> String {
    // 1601-01-01 → 1970-01-01 in 100-ns ticks.
    const EPOCH_DIFF: i64 = 116_444_736_000_000_000;
    format!("\"0x{:X}\"", t + EPOCH_DIFF)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ShareProps {
    pub etag: String,
    pub last_modified: Ticks,
    pub quota: u64,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// Properties common to directories and files.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Node {
    pub file_id: u64,
    pub etag: String,
    pub last_modified: Ticks,
    pub created: Ticks,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// HTTP headers of a file (Set File HTTP Headers / `x-ms-content-*` on create).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ContentHeaders {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub content_disposition: Option<String>,
    /// Base64 MD5 as the client set it (`x-ms-content-md5`); Azure never computes it.
    pub content_md5: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Directory(Node),
    File { node: Node, blob: u64, size: u64, headers: ContentHeaders },
}

impl Entry {
    pub fn node(&self) -> &Node {
        match self {
            Entry::Directory(n) => n,
            Entry::File { node, .. } => node,
        }
    }
    pub fn is_dir(&self) -> bool {
        matches!(self, Entry::Directory(_))
    }
}

/// Index of one share (or one snapshot): path (`a/b/c`, no leading slash) → entry. The root
/// directory (`""`) is implicit.
pub type Tree = BTreeMap<String, Entry>;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Snapshot {
    pub props: ShareProps,
    pub tree: Tree,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    pub props: ShareProps,
    pub root: Node,
    pub tree: Tree,
    /// Snapshot value (`2026-11-26T10:00:00.1234567Z`) → frozen index; string order is time order.
    #[serde(default)]
    pub snapshots: BTreeMap<String, Snapshot>,
}

impl Share {
    fn blob_in_snapshots(&self, blob: u64) -> bool {
        self.snapshots.values().any(|s| tree_has_blob(&s.tree, blob))
    }
}

fn tree_has_blob(tree: &Tree, blob: u64) -> bool {
    tree.values().any(|e| matches!(e, Entry::File { blob: b, .. } if *b == blob))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Persisted {
    format: u32,
    next_id: u64,
    /// account → share name → share.
    accounts: BTreeMap<String, BTreeMap<String, Share>>,
}

/// One listed share (or share snapshot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareListItem {
    pub name: String,
    pub snapshot: Option<String>,
    pub props: ShareProps,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirListItem {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
    pub node: Node,
}

/// A page of a listing: the items and the name to continue from (the `NextMarker`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// What a read of a file needs, taken under the lock and used after it.
#[derive(Debug, Clone)]
pub struct FileView {
    pub node: Node,
    pub size: u64,
    pub headers: ContentHeaders,
    pub blob_path: PathBuf,
    pub parent_id: u64,
}

/// Where a write goes (the blob after copy on write) and the file's size.
#[derive(Debug, Clone)]
pub struct WriteTarget {
    pub blob_path: PathBuf,
    pub size: u64,
}

/// Pages `items` (sorted by key) from `marker` (the first key to return) with `max` per page.
pub fn paginate<T: Clone>(items: &[(String, T)], marker: Option<&str>, max: usize) -> Page<T> {
    let max = max.max(1);
    let start = match marker {
        Some(m) => items.partition_point(|(k, _)| k.as_str() < m),
        None => 0,
    };
    let rest = &items[start..];
    let page: Vec<T> = rest.iter().take(max).map(|(_, v)| v.clone()).collect();
    let next = rest.get(max).map(|(k, _)| k.clone());
    Page { items: page, next }
}

/// The Azure Files state of every account, with contents on disk under `root`.
pub struct FileStore {
    root: PathBuf,
    state: Mutex<Persisted>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore").field("root", &self.root).finish_non_exhaustive()
    }
}

fn parent_of(path: &str) -> &str {
    path.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

impl FileStore {
    /// Opens (or creates) the state in `root`, making sure every account in `accounts` exists.
    pub fn open(root: &Path, accounts: &[String]) -> anyhow::Result<FileStore> {
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("tmp"))?;
        let path = root.join(STATE_FILE);
        let mut state: Persisted = if path.exists() {
            serde_json::from_slice(&std::fs::read(&path)?).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?
        } else {
            Persisted { format: FORMAT, next_id: 1, ..Default::default() }
        };
        if state.format != FORMAT {
            anyhow::bail!("{}: unknown format {} (expected {FORMAT})", path.display(), state.format);
        }
        for a in accounts {
            state.accounts.entry(a.clone()).or_default();
        }
        let store = FileStore { root: root.to_path_buf(), state: Mutex::new(state) };
        store.persist(&store.lock())?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A fresh temporary file path (same filesystem as the blobs).
    pub fn temp_path(&self) -> PathBuf {
        self.root.join("tmp").join(uuid::Uuid::new_v4().simple().to_string())
    }

    fn blob_path(&self, id: u64) -> PathBuf {
        self.root.join("blobs").join(id.to_string())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Persisted> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn persist(&self, state: &Persisted) -> anyhow::Result<()> {
        let path = self.root.join(STATE_FILE);
        let tmp = self.root.join(format!("{STATE_FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec(state)?)?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    fn save(&self, state: &Persisted) -> Result<(), FilesError> {
        self.persist(state).map_err(|e| FilesError::internal(format!("persisting the Files state: {e}")))
    }

    pub fn has_account(&self, account: &str) -> bool {
        self.lock().accounts.contains_key(account)
    }

    fn new_node(state: &mut Persisted, metadata: BTreeMap<String, String>) -> Node {
        let t = now_ticks();
        let id = state.next_id;
        state.next_id += 1;
        Node { file_id: id, etag: etag(t), last_modified: t, created: t, metadata }
    }

    // ----- shares --------------------------------------------------------------------------

    pub fn create_share(&self, account: &str, share: &str, quota: Option<u64>, metadata: BTreeMap<String, String>) -> Result<ShareProps, FilesError> {
        let mut st = self.lock();
        let root = Self::new_node(&mut st, BTreeMap::new());
        let shares = st.accounts.get_mut(account).ok_or_else(FilesError::auth_unknown_account)?;
        if shares.contains_key(share) {
            return Err(FilesError::conflict("ShareAlreadyExists", "The specified share already exists."));
        }
        let t = now_ticks();
        let props = ShareProps { etag: etag(t), last_modified: t, quota: quota.unwrap_or(DEFAULT_QUOTA_GIB), metadata };
        shares.insert(share.to_string(), Share { props: props.clone(), root, tree: Tree::new(), snapshots: BTreeMap::new() });
        self.save(&st)?;
        Ok(props)
    }

    fn share<'a>(st: &'a Persisted, account: &str, share: &str) -> Result<&'a Share, FilesError> {
        st.accounts.get(account).and_then(|s| s.get(share)).ok_or_else(FilesError::share_not_found)
    }

    fn share_mut<'a>(st: &'a mut Persisted, account: &str, share: &str) -> Result<&'a mut Share, FilesError> {
        st.accounts.get_mut(account).and_then(|s| s.get_mut(share)).ok_or_else(FilesError::share_not_found)
    }

    /// Properties of a share or of one of its snapshots.
    pub fn share_props(&self, account: &str, share: &str, snapshot: Option<&str>) -> Result<ShareProps, FilesError> {
        let st = self.lock();
        let s = Self::share(&st, account, share)?;
        match snapshot {
            None => Ok(s.props.clone()),
            Some(v) => s.snapshots.get(v).map(|x| x.props.clone()).ok_or_else(FilesError::snapshot_not_found),
        }
    }

    /// Freezes the share's index; returns the snapshot value and its properties.
    pub fn create_snapshot(&self, account: &str, share: &str, metadata: BTreeMap<String, String>) -> Result<(String, ShareProps), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        let t = now_ticks();
        let value = iso7(t);
        let props = ShareProps {
            etag: s.props.etag.clone(),
            last_modified: s.props.last_modified,
            quota: s.props.quota,
            metadata: if metadata.is_empty() { s.props.metadata.clone() } else { metadata },
        };
        s.snapshots.insert(value.clone(), Snapshot { props: props.clone(), tree: s.tree.clone() });
        self.save(&st)?;
        Ok((value, props))
    }

    /// Deletes a share (with its snapshots when `include_snapshots`), or only one snapshot.
    pub fn delete_share(&self, account: &str, share: &str, snapshot: Option<&str>, include_snapshots: bool) -> Result<(), FilesError> {
        let mut st = self.lock();
        let mut garbage = Vec::new();
        {
            let s = Self::share_mut(&mut st, account, share)?;
            match snapshot {
                Some(v) => {
                    let snap = s.snapshots.remove(v).ok_or_else(FilesError::snapshot_not_found)?;
                    for e in snap.tree.values() {
                        if let Entry::File { blob, .. } = e {
                            if !tree_has_blob(&s.tree, *blob) && !s.blob_in_snapshots(*blob) {
                                garbage.push(*blob);
                            }
                        }
                    }
                }
                None => {
                    if !s.snapshots.is_empty() && !include_snapshots {
                        return Err(FilesError::conflict("ShareHasSnapshots", "The share has snapshots and the operation requires no snapshots."));
                    }
                    let shares = st.accounts.get_mut(account).expect("checked above");
                    let s = shares.remove(share).expect("checked above");
                    for tree in std::iter::once(&s.tree).chain(s.snapshots.values().map(|x| &x.tree)) {
                        for e in tree.values() {
                            if let Entry::File { blob, .. } = e {
                                garbage.push(*blob);
                            }
                        }
                    }
                }
            }
        }
        self.save(&st)?;
        drop(st);
        garbage.sort();
        garbage.dedup();
        for b in garbage {
            let _ = std::fs::remove_file(self.blob_path(b));
        }
        Ok(())
    }

    /// Shares of `account` whose name starts with `prefix`, snapshots (oldest first, before the
    /// share itself) when asked, paged by `(name, snapshot)` from `marker`.
    pub fn list_shares(&self, account: &str, prefix: &str, include_snapshots: bool, marker: Option<&str>, max: usize) -> Result<Page<ShareListItem>, FilesError> {
        let st = self.lock();
        let shares = st.accounts.get(account).ok_or_else(FilesError::auth_unknown_account)?;
        let mut all = Vec::new();
        for (name, s) in shares.range(prefix.to_string()..).take_while(|(n, _)| n.starts_with(prefix)) {
            if include_snapshots {
                for (v, snap) in &s.snapshots {
                    all.push((format!("{name}\u{1}{v}"), ShareListItem { name: name.clone(), snapshot: Some(v.clone()), props: snap.props.clone() }));
                }
            }
            // U+0002 sorts after every snapshot key (U+0001) of the same share.
            all.push((format!("{name}\u{2}"), ShareListItem { name: name.clone(), snapshot: None, props: s.props.clone() }));
        }
        Ok(paginate(&all, marker, max))
    }

    // ----- directories and files -----------------------------------------------------------

    fn tree<'a>(s: &'a Share, snapshot: Option<&str>) -> Result<&'a Tree, FilesError> {
        match snapshot {
            None => Ok(&s.tree),
            Some(v) => s.snapshots.get(v).map(|x| &x.tree).ok_or_else(FilesError::snapshot_not_found),
        }
    }

    fn parent_id(s: &Share, tree: &Tree, path: &str) -> u64 {
        match parent_of(path) {
            "" => s.root.file_id,
            p => tree.get(p).map(|e| e.node().file_id).unwrap_or(0),
        }
    }

    fn check_parent(tree: &Tree, path: &str) -> Result<(), FilesError> {
        let parent = parent_of(path);
        if parent.is_empty() {
            return Ok(());
        }
        match tree.get(parent) {
            Some(Entry::Directory(_)) => Ok(()),
            _ => Err(FilesError::not_found("ParentNotFound", "The specified parent path does not exist.")),
        }
    }

    /// Creates a directory; its parent must exist. Returns the node and the parent's id.
    pub fn create_directory(&self, account: &str, share: &str, path: &str, metadata: BTreeMap<String, String>) -> Result<(Node, u64), FilesError> {
        let mut st = self.lock();
        Self::share(&st, account, share)?;
        let node = Self::new_node(&mut st, metadata);
        let s = Self::share_mut(&mut st, account, share)?;
        if path.is_empty() || s.tree.contains_key(path) {
            return Err(FilesError::conflict("ResourceAlreadyExists", "The specified resource already exists."));
        }
        Self::check_parent(&s.tree, path)?;
        let parent = Self::parent_id(s, &s.tree, path);
        s.tree.insert(path.to_string(), Entry::Directory(node.clone()));
        self.save(&st)?;
        Ok((node, parent))
    }

    /// Directory properties (`""` is the share's root directory) and the parent's id.
    pub fn directory(&self, account: &str, share: &str, snapshot: Option<&str>, path: &str) -> Result<(Node, u64), FilesError> {
        let st = self.lock();
        let s = Self::share(&st, account, share)?;
        let tree = Self::tree(s, snapshot)?;
        if path.is_empty() {
            return Ok((s.root.clone(), 0));
        }
        match tree.get(path) {
            Some(Entry::Directory(n)) => Ok((n.clone(), Self::parent_id(s, tree, path))),
            _ => Err(FilesError::resource_not_found()),
        }
    }

    pub fn delete_directory(&self, account: &str, share: &str, path: &str) -> Result<(), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        if path.is_empty() {
            return Err(FilesError::bad_request("InvalidUri", "The root directory of a share cannot be deleted."));
        }
        match s.tree.get(path) {
            Some(Entry::Directory(_)) => {}
            _ => return Err(FilesError::resource_not_found()),
        }
        let child_prefix = format!("{path}/");
        if s.tree.range(child_prefix.clone()..).next().is_some_and(|(k, _)| k.starts_with(&child_prefix)) {
            return Err(FilesError::conflict("DirectoryNotEmpty", "The specified directory is not empty."));
        }
        s.tree.remove(path);
        self.save(&st)
    }

    /// One page of the children of directory `path` whose names start with `prefix`, sorted by
    /// name, from `marker` (a child name).
    #[allow(clippy::too_many_arguments)]
    pub fn list_directory(&self, account: &str, share: &str, snapshot: Option<&str>, path: &str, prefix: &str, marker: Option<&str>, max: usize) -> Result<(Page<DirListItem>, u64), FilesError> {
        let st = self.lock();
        let s = Self::share(&st, account, share)?;
        let tree = Self::tree(s, snapshot)?;
        let dir_id = if path.is_empty() {
            s.root.file_id
        } else {
            match tree.get(path) {
                Some(Entry::Directory(n)) => n.file_id,
                _ => return Err(FilesError::resource_not_found()),
            }
        };
        let base = if path.is_empty() { String::new() } else { format!("{path}/") };
        let start = format!("{base}{prefix}");
        let mut children = Vec::new();
        for (k, e) in tree.range(start.clone()..) {
            if !k.starts_with(&start) {
                break;
            }
            let name = &k[base.len()..];
            if name.contains('/') {
                continue;
            }
            let size = match e {
                Entry::File { size, .. } => *size,
                Entry::Directory(_) => 0,
            };
            children.push((name.to_string(), DirListItem { name: name.to_string(), is_dir: e.is_dir(), size, node: e.node().clone() }));
        }
        // Children of one directory share `base`, so key order is name order; no further sort.
        Ok((paginate(&children, marker, max), dir_id))
    }

    /// Creates (or replaces) a file of `size` bytes (zeros). Returns the node and parent id.
    pub fn create_file(&self, account: &str, share: &str, path: &str, size: u64, headers: ContentHeaders, metadata: BTreeMap<String, String>) -> Result<(Node, u64), FilesError> {
        let mut st = self.lock();
        {
            let s = Self::share(&st, account, share)?;
            if path.is_empty() || matches!(s.tree.get(path), Some(Entry::Directory(_))) {
                return Err(FilesError::conflict("ResourceTypeMismatch", "The specified resource type does not match the type of the resource."));
            }
            Self::check_parent(&s.tree, path)?;
        }
        let node = Self::new_node(&mut st, metadata);
        let blob = st.next_id;
        st.next_id += 1;
        let bp = self.blob_path(blob);
        let f = std::fs::File::create(&bp).map_err(|e| FilesError::internal(format!("creating {}: {e}", bp.display())))?;
        f.set_len(size).map_err(|e| FilesError::internal(format!("sizing {}: {e}", bp.display())))?;
        let s = Self::share_mut(&mut st, account, share)?;
        let parent = Self::parent_id(s, &s.tree, path);
        let old = s.tree.insert(path.to_string(), Entry::File { node: node.clone(), blob, size, headers });
        let garbage = match old {
            Some(Entry::File { blob: ob, .. }) if !s.blob_in_snapshots(ob) => Some(ob),
            _ => None,
        };
        self.save(&st)?;
        drop(st);
        if let Some(b) = garbage {
            let _ = std::fs::remove_file(self.blob_path(b));
        }
        Ok((node, parent))
    }

    /// A file of the share or of a snapshot.
    pub fn file(&self, account: &str, share: &str, snapshot: Option<&str>, path: &str) -> Result<FileView, FilesError> {
        let st = self.lock();
        let s = Self::share(&st, account, share)?;
        let tree = Self::tree(s, snapshot)?;
        match tree.get(path) {
            Some(Entry::File { node, blob, size, headers }) => Ok(FileView {
                node: node.clone(),
                size: *size,
                headers: headers.clone(),
                blob_path: self.blob_path(*blob),
                parent_id: Self::parent_id(s, tree, path),
            }),
            _ => Err(FilesError::resource_not_found()),
        }
    }

    /// Makes the live file's blob private to it (copying it when a snapshot shares it) and
    /// returns where to write.
    pub fn prepare_write(&self, account: &str, share: &str, path: &str) -> Result<WriteTarget, FilesError> {
        let mut st = self.lock();
        let (blob, size, shared) = {
            let s = Self::share(&st, account, share)?;
            match s.tree.get(path) {
                Some(Entry::File { blob, size, .. }) => (*blob, *size, s.blob_in_snapshots(*blob)),
                _ => return Err(FilesError::resource_not_found()),
            }
        };
        if !shared {
            return Ok(WriteTarget { blob_path: self.blob_path(blob), size });
        }
        let new_blob = st.next_id;
        st.next_id += 1;
        let (from, to) = (self.blob_path(blob), self.blob_path(new_blob));
        std::fs::copy(&from, &to).map_err(|e| FilesError::internal(format!("copy on write {} → {}: {e}", from.display(), to.display())))?;
        let s = Self::share_mut(&mut st, account, share)?;
        if let Some(Entry::File { blob, .. }) = s.tree.get_mut(path) {
            *blob = new_blob;
        }
        self.save(&st)?;
        Ok(WriteTarget { blob_path: to, size })
    }

    /// Records a change of a live file (new ETag and Last-Modified), optionally with new
    /// headers and size (Set HTTP headers; the blob is resized by the caller first).
    pub fn touch_file(&self, account: &str, share: &str, path: &str, headers: Option<ContentHeaders>, size: Option<u64>) -> Result<(Node, u64), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        let parent = Self::parent_id(s, &s.tree, path);
        let node = match s.tree.get_mut(path) {
            Some(Entry::File { node, headers: h, size: sz, .. }) => {
                let t = now_ticks();
                node.etag = etag(t);
                node.last_modified = t;
                if let Some(nh) = headers {
                    *h = nh;
                }
                if let Some(n) = size {
                    *sz = n;
                }
                node.clone()
            }
            _ => return Err(FilesError::resource_not_found()),
        };
        self.save(&st)?;
        Ok((node, parent))
    }

    /// Replaces a live file's metadata (Set File Metadata).
    pub fn set_file_metadata(&self, account: &str, share: &str, path: &str, metadata: BTreeMap<String, String>) -> Result<(Node, u64), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        let parent = Self::parent_id(s, &s.tree, path);
        let node = match s.tree.get_mut(path) {
            Some(Entry::File { node, .. }) => {
                let t = now_ticks();
                node.etag = etag(t);
                node.last_modified = t;
                node.metadata = metadata;
                node.clone()
            }
            _ => return Err(FilesError::resource_not_found()),
        };
        self.save(&st)?;
        Ok((node, parent))
    }

    /// Moves a live file to `dest` in the same share (Rename File), keeping its contents,
    /// metadata and headers. An existing file at `dest` is replaced only when `replace`.
    pub fn rename_file(&self, account: &str, share: &str, source: &str, dest: &str, replace: bool) -> Result<(Node, u64), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        if !matches!(s.tree.get(source), Some(Entry::File { .. })) {
            return Err(FilesError::resource_not_found());
        }
        Self::check_parent(&s.tree, dest)?;
        let old_blob = match s.tree.get(dest) {
            Some(Entry::Directory(_)) => {
                return Err(FilesError::conflict("ResourceTypeMismatch", "The specified resource type does not match the type of the resource."))
            }
            Some(Entry::File { .. }) if !replace => {
                return Err(FilesError::conflict("ResourceAlreadyExists", "The specified resource already exists."))
            }
            Some(Entry::File { blob, .. }) if dest != source => Some(*blob),
            _ => None,
        };
        let mut entry = s.tree.remove(source).expect("checked above");
        if let Entry::File { node, .. } = &mut entry {
            let t = now_ticks();
            node.etag = etag(t);
            node.last_modified = t;
        }
        let node = entry.node().clone();
        s.tree.insert(dest.to_string(), entry);
        let parent = Self::parent_id(s, &s.tree, dest);
        let garbage = old_blob.filter(|b| !s.blob_in_snapshots(*b));
        self.save(&st)?;
        drop(st);
        if let Some(b) = garbage {
            let _ = std::fs::remove_file(self.blob_path(b));
        }
        Ok((node, parent))
    }

    pub fn delete_file(&self, account: &str, share: &str, path: &str) -> Result<(), FilesError> {
        let mut st = self.lock();
        let s = Self::share_mut(&mut st, account, share)?;
        let blob = match s.tree.get(path) {
            Some(Entry::File { blob, .. }) => *blob,
            _ => return Err(FilesError::resource_not_found()),
        };
        s.tree.remove(path);
        let garbage = !s.blob_in_snapshots(blob);
        self.save(&st)?;
        drop(st);
        if garbage {
            let _ = std::fs::remove_file(self.blob_path(blob));
        }
        Ok(())
    }

    /// Copies a local folder into a share (directories created as needed, files replaced),
    /// streaming every file from disk. Returns the number of files copied.
    pub fn seed_share(&self, account: &str, share: &str, folder: &Path) -> anyhow::Result<usize> {
        if Self::share(&self.lock(), account, share).is_err() {
            self.create_share(account, share, None, BTreeMap::new()).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let mut files = 0;
        let mut stack = vec![(folder.to_path_buf(), String::new())];
        while let Some((dir, rel)) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("reading {}: {e}", dir.display()))?.collect::<Result<_, _>>()?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let name = e.file_name().into_string().map_err(|n| anyhow::anyhow!("{n:?} under {} is not UTF-8", dir.display()))?;
                let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
                let ft = e.file_type()?;
                if ft.is_dir() {
                    match self.create_directory(account, share, &path, BTreeMap::new()) {
                        Ok(_) => {}
                        Err(err) if err.code == "ResourceAlreadyExists" => {}
                        Err(err) => anyhow::bail!("creating {share}/{path}: {err}"),
                    }
                    stack.push((e.path(), path));
                } else if ft.is_file() {
                    let len = e.metadata()?.len();
                    self.create_file(account, share, &path, 0, ContentHeaders::default(), BTreeMap::new()).map_err(|err| anyhow::anyhow!("creating {share}/{path}: {err}"))?;
                    let target = self.prepare_write(account, share, &path).map_err(|err| anyhow::anyhow!("{err}"))?;
                    std::fs::copy(e.path(), &target.blob_path).map_err(|err| anyhow::anyhow!("copying {}: {err}", e.path().display()))?;
                    self.touch_file(account, share, &path, None, Some(len)).map_err(|err| anyhow::anyhow!("{err}"))?;
                    files += 1;
                }
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<(String, usize)> {
        (0..n).map(|i| (format!("k{i:02}"), i)).collect()
    }

    #[test]
    fn paging_walks_every_item_once() {
        let items = keys(7);
        let mut seen = Vec::new();
        let mut marker = None;
        let mut pages = 0;
        loop {
            let p = paginate(&items, marker.as_deref(), 3);
            pages += 1;
            seen.extend(p.items);
            match p.next {
                Some(n) => marker = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
        assert_eq!(pages, 3);
        let p = paginate(&items, Some("k06"), 3);
        assert_eq!((p.items, p.next), (vec![6], None));
        let p = paginate(&items, Some("k99"), 3);
        assert!(p.items.is_empty() && p.next.is_none());
        assert_eq!(paginate(&items, None, 7).next, None);
    }

    #[test]
    fn snapshots_keep_content_after_overwrite_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let st = FileStore::open(dir.path(), &["acct".into()]).unwrap();
        st.create_share("acct", "s1", None, BTreeMap::new()).unwrap();
        st.create_directory("acct", "s1", "d", BTreeMap::new()).unwrap();
        assert_eq!(st.create_directory("acct", "s1", "x/y", BTreeMap::new()).unwrap_err().code, "ParentNotFound");
        st.create_file("acct", "s1", "d/f", 3, ContentHeaders::default(), BTreeMap::new()).unwrap();
        let w = st.prepare_write("acct", "s1", "d/f").unwrap();
        std::fs::write(&w.blob_path, b"abc").unwrap();
        let (snap, _) = st.create_snapshot("acct", "s1", BTreeMap::new()).unwrap();
        let w2 = st.prepare_write("acct", "s1", "d/f").unwrap();
        assert_ne!(w.blob_path, w2.blob_path, "copy on write");
        std::fs::write(&w2.blob_path, b"xyz").unwrap();
        assert_eq!(st.delete_directory("acct", "s1", "d").unwrap_err().code, "DirectoryNotEmpty");
        st.delete_file("acct", "s1", "d/f").unwrap();
        assert!(!w2.blob_path.exists());
        let v = st.file("acct", "s1", Some(&snap), "d/f").unwrap();
        assert_eq!(std::fs::read(&v.blob_path).unwrap(), b"abc");
        assert_eq!(st.delete_share("acct", "s1", None, false).unwrap_err().code, "ShareHasSnapshots");
        // State survives a reopen.
        drop(st);
        let st = FileStore::open(dir.path(), &["acct".into()]).unwrap();
        let (page, _) = st.list_directory("acct", "s1", Some(&snap), "d", "", None, 10).unwrap();
        assert_eq!(page.items.len(), 1);
        let shares = st.list_shares("acct", "s", true, None, 10).unwrap();
        assert_eq!(shares.items.iter().map(|i| i.snapshot.is_some()).collect::<Vec<_>>(), vec![true, false]);
        st.delete_share("acct", "s1", None, true).unwrap();
        assert!(!v.blob_path.exists());
    }
}
