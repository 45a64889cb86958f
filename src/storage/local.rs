//! A local directory as a [`Store`]: downloads land here, registrations read from here.
//! Writes go to `<name>.aml-failover-partial` and are renamed into place by `finish`, so a
//! crash never leaves a half-written file under its final name.

use super::{FinishInfo, ObjectMeta, ObjectWriter, RangeRead, Read, Store, StorePath};
use crate::error::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use std::path::{Path, PathBuf};

const PARTIAL_SUFFIX: &str = ".aml-failover-partial";

#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: impl Into<PathBuf>) -> LocalStore {
        LocalStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn file(&self, p: &StorePath) -> PathBuf {
        let mut f = self.root.clone();
        for seg in p.as_str().split('/') {
            f.push(seg);
        }
        f
    }

    fn io(&self, what: &str, path: &Path, e: std::io::Error) -> Error {
        Error::Usage(format!("{what} {}: {e}", path.display()))
    }
}

/// The type of what the link `link` (under the folder listed, `root`, whose real path is `real_root`) points
/// to, when it stays inside the folder; a usage error naming the link when it leaves the
/// folder, dangles, or loops (a link to a folder that holds it).
fn follow_link(root: &Path, real_root: &Path, link: &Path) -> Result<std::fs::FileType> {
    let shown = || link.display().to_string();
    let target = std::fs::read_link(link).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
    let real = std::fs::canonicalize(link).map_err(|e| {
        let why = if e.raw_os_error() == Some(40) { "loops".to_string() } else { format!("points to nothing readable ({e})") };
        Error::Usage(format!("symbolic link {} -> {target} {why}: replace it with the file itself or remove it", shown()))
    })?;
    if !real.starts_with(real_root) {
        return Err(Error::Usage(format!(
            "symbolic link {} -> {target} points outside the folder {} (to {}): copy the file into the folder or remove the link",
            shown(),
            real_root.display(),
            real.display()
        )));
    }
    let md = std::fs::metadata(&real).map_err(|e| Error::Usage(format!("symbolic link {} -> {target}: cannot read {} ({e})", shown(), real.display())))?;
    if md.is_dir() {
        // A loop: the folder it leads to holds the link, or is one the walk came through.
        let parent = link.parent().and_then(|p| std::fs::canonicalize(p).ok()).unwrap_or_else(|| real_root.to_path_buf());
        let came_through = link.ancestors().skip(1).take_while(|a| a.starts_with(root)).any(|a| std::fs::canonicalize(a).is_ok_and(|c| c == real));
        if parent.starts_with(&real) || came_through {
            return Err(Error::Usage(format!("symbolic link {} -> {target} loops (it leads back to a folder that holds it): remove the link", shown())));
        }
    }
    Ok(md.file_type())
}

fn meta_of(path: StorePath, md: &std::fs::Metadata) -> ObjectMeta {
    let mtime = md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
    ObjectMeta { path, size: md.len(), etag: Some(format!("{mtime}-{}", md.len())), content_md5: None, sha256: None, source: None }
}

#[async_trait]
impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn uri(&self, path: &StorePath) -> String {
        self.file(path).display().to_string()
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>> {
        let root = self.root.clone();
        let prefix = prefix.trim_matches('/').to_string();
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            let start = if prefix.is_empty() { root.clone() } else { me.file(&StorePath::parse(&prefix)?) };
            if start.is_file() {
                let md = std::fs::metadata(&start).map_err(|e| me.io("cannot read", &start, e))?;
                out.push(meta_of(StorePath::parse(&prefix)?, &md));
                return Ok(out);
            }
            if !start.exists() {
                return Ok(out);
            }
            // Symbolic links are followed when they stay inside the folder listed (its real
            // path), and refused, naming the link, when they leave it, dangle or loop.
            let real_start = std::fs::canonicalize(&start).map_err(|e| me.io("cannot read", &start, e))?;
            let mut stack = vec![start.clone()];
            while let Some(dir) = stack.pop() {
                let rd = std::fs::read_dir(&dir).map_err(|e| me.io("cannot list", &dir, e))?;
                for entry in rd {
                    let entry = entry.map_err(|e| me.io("cannot list", &dir, e))?;
                    let path = entry.path();
                    let mut ft = entry.file_type().map_err(|e| me.io("cannot read", &path, e))?;
                    if ft.is_symlink() {
                        ft = follow_link(&start, &real_start, &path)?;
                    }
                    if ft.is_dir() {
                        stack.push(path);
                    } else if ft.is_file() {
                        let name = path.to_string_lossy();
                        if name.ends_with(PARTIAL_SUFFIX) {
                            continue;
                        }
                        let rel = path.strip_prefix(&root).expect("under root");
                        let rel: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                        let sp = StorePath::parse(&rel.join("/"))?;
                        let md = std::fs::metadata(&path).map_err(|e| me.io("cannot read", &path, e))?;
                        out.push(meta_of(sp, &md));
                    }
                }
            }
            out.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(out)
        })
        .await
        .map_err(|e| Error::Internal(format!("listing task failed: {e}")))?
    }

    async fn head(&self, path: &StorePath) -> Result<Option<ObjectMeta>> {
        let f = self.file(path);
        match tokio::fs::metadata(&f).await {
            Ok(md) if md.is_file() => Ok(Some(meta_of(path.clone(), &md))),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("cannot read", &f, e)),
        }
    }

    async fn get_range(&self, path: &StorePath, start: u64, end: u64) -> Result<Bytes> {
        // Read on a blocking thread straight into the block's buffer: `tokio::fs::File` reads
        // through a buffer of its own (up to 2 MiB per read), held besides the block.
        let f = self.file(path);
        let at = f.clone();
        let read = tokio::task::spawn_blocking(move || -> std::result::Result<Vec<u8>, (&'static str, std::io::Error)> {
            use std::io::{Read as _, Seek as _};
            let mut file = std::fs::File::open(&at).map_err(|e| ("cannot open", e))?;
            file.seek(std::io::SeekFrom::Start(start)).map_err(|e| ("cannot read", e))?;
            let mut buf = vec![0u8; (end - start) as usize];
            file.read_exact(&mut buf).map_err(|e| ("cannot read", e))?;
            Ok(buf)
        })
        .await
        .map_err(|e| Error::Internal(format!("a file read failed: {e}")))?;
        read.map(Bytes::from).map_err(|(what, e)| self.io(what, &f, e))
    }

    /// A local file has no ETag to read under: its version (mtime + size) is compared before
    /// and after the range is read, so a file rewritten meanwhile answers [`Read::Changed`].
    async fn read_range(&self, path: &StorePath, start: u64, end: u64, if_match: Option<&str>) -> Result<Read> {
        let version = |m: Option<ObjectMeta>| m.and_then(|m| m.etag);
        if let Some(tag) = if_match {
            if version(self.head(path).await?).as_deref() != Some(tag) {
                return Ok(Read::Changed);
            }
        }
        let data = self.get_range(path, start, end).await?;
        if let Some(tag) = if_match {
            if version(self.head(path).await?).as_deref() != Some(tag) {
                return Ok(Read::Changed);
            }
        }
        Ok(Read::Data(RangeRead { data, md5: None }))
    }

    async fn writer(&self, path: &StorePath, _size: u64) -> Result<Box<dyn ObjectWriter>> {
        let dest = self.file(path);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| self.io("cannot create folder", parent, e))?;
        }
        let mut partial = dest.clone().into_os_string();
        partial.push(PARTIAL_SUFFIX);
        let partial = PathBuf::from(partial);
        let file = tokio::fs::File::create(&partial).await.map_err(|e| self.io("cannot create", &partial, e))?;
        Ok(Box::new(LocalWriter { file: Some(file.into_std().await), partial, dest }))
    }

    async fn delete(&self, path: &StorePath) -> Result<()> {
        let f = self.file(path);
        match tokio::fs::remove_file(&f).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io("cannot delete", &f, e)),
        }
    }
}

/// Writes on a blocking thread straight from the block (its memory permit held until written):
/// `tokio::fs::File` copies each write into a buffer of its own (up to 2 MiB per file) and lets
/// the block go before the bytes are on disk, memory outside the engine's budget.
struct LocalWriter {
    /// `None` while a write is under way, and after finish.
    file: Option<std::fs::File>,
    partial: PathBuf,
    dest: PathBuf,
}

impl LocalWriter {
    fn failed(&self, e: impl std::fmt::Display) -> Error {
        Error::Usage(format!("cannot write {}: {e}", self.partial.display()))
    }

    /// Runs `op` on the open file on a blocking thread; the file comes back unless it fails.
    async fn on_file(&mut self, op: impl FnOnce(&mut std::fs::File) -> std::io::Result<()> + Send + 'static) -> Result<()> {
        let mut f = self.file.take().ok_or_else(|| self.failed("an earlier write did not finish"))?;
        let (f, r) = tokio::task::spawn_blocking(move || {
            let r = op(&mut f);
            (f, r)
        })
        .await
        .map_err(|e| self.failed(e))?;
        r.map_err(|e| self.failed(e))?;
        self.file = Some(f);
        Ok(())
    }
}

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write_block(&mut self, data: Bytes, _md5: [u8; 16], hold: super::Hold) -> Result<()> {
        self.on_file(move |f| {
            use std::io::Write as _;
            let r = f.write_all(&data);
            // The bytes first, then their permit: never more held than the budget.
            drop(data);
            drop(hold);
            r
        })
        .await
    }

    async fn finish(mut self: Box<Self>, _info: FinishInfo) -> Result<bool> {
        self.on_file(|f| f.sync_all()).await?;
        drop(self.file.take());
        tokio::fs::rename(&self.partial, &self.dest)
            .await
            .map_err(|e| Error::Usage(format!("cannot move {} into place: {e}", self.dest.display())))?;
        self.partial = PathBuf::new();
        // No service checked what landed: the engine reads the file back.
        Ok(false)
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // Not finished (the partial file is still there): remove it so nothing half-written remains.
        if !self.partial.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;
    use std::sync::Arc;

    /// A block's memory permit (its `Hold`) is let go only once its bytes are in the file: the
    /// budget counts every block until it is written, none is held in a buffer beside it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_is_let_go_only_once_its_bytes_are_in_the_file() {
        struct OnDrop(PathBuf, Arc<std::sync::Mutex<Vec<u64>>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                self.1.lock().unwrap().push(std::fs::metadata(&self.0).map(|m| m.len()).unwrap_or(0));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::new(dir.path());
        let p = StorePath::parse("f.bin").unwrap();
        let partial = dir.path().join(format!("f.bin{PARTIAL_SUFFIX}"));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let block = 4 * 1024 * 1024;
        let mut w = s.writer(&p, 3 * block as u64).await.unwrap();
        for i in 0..3u8 {
            let hold = super::super::Hold(Some(Box::new(OnDrop(partial.clone(), seen.clone()))));
            w.write_block(Bytes::from(vec![i; block]), [0; 16], hold).await.unwrap();
        }
        // On disk when each was let go: 4, 8, 12 MiB.
        assert_eq!(*seen.lock().unwrap(), [1, 2, 3].map(|n| n * block as u64));
        w.finish(FinishInfo { sha256: String::new(), md5: [0; 16], source: None }).await.unwrap();
        assert_eq!(std::fs::metadata(dir.path().join("f.bin")).unwrap().len(), 3 * block as u64);
        assert!(!partial.exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn links_inside_the_folder_are_followed_and_others_refused_by_name() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("model");
        std::fs::create_dir_all(m.join("blobs/sub")).unwrap();
        std::fs::write(m.join("blobs/w.bin"), b"weights").unwrap();
        std::fs::write(m.join("blobs/sub/x"), b"x").unwrap();
        std::fs::write(dir.path().join("outside.bin"), b"out").unwrap();
        symlink("blobs/w.bin", m.join("model.safetensors")).unwrap();
        symlink("blobs/sub", m.join("linked")).unwrap();
        let s = LocalStore::new(dir.path());
        let names: Vec<String> = s.list("model").await.unwrap().into_iter().map(|o| o.path.as_str().to_string()).collect();
        assert_eq!(names, ["model/blobs/sub/x", "model/blobs/w.bin", "model/linked/x", "model/model.safetensors"]);
        assert_eq!(s.get_range(&StorePath::parse("model/model.safetensors").unwrap(), 0, 7).await.unwrap().as_ref(), b"weights");

        let cases: [(&str, &str, &str); 4] = [
            ("../outside.bin", "out.bin", "points outside the folder"),
            ("nothing", "dangling", "points to nothing readable"),
            ("..", "up", "points outside the folder"),
            (".", "self", "loops"),
        ];
        for (target, name, why) in cases {
            symlink(target, m.join(name)).unwrap();
            let e = s.list("model").await.unwrap_err();
            assert_eq!(e.exit(), crate::error::Exit::Usage);
            let e = e.to_string();
            assert!(e.contains(&format!("symbolic link {}", m.join(name).display())) && e.contains(why), "{name}: {e}");
            std::fs::remove_file(m.join(name)).unwrap();
        }
        symlink("../../blobs", m.join("blobs/sub/back")).unwrap();
        let e = s.list("model").await.unwrap_err().to_string();
        assert!(e.contains("loops"), "{e}");
        std::fs::remove_file(m.join("blobs/sub/back")).unwrap();
        // Two folders linked to each other: a loop however it is entered.
        std::fs::create_dir_all(m.join("a")).unwrap();
        std::fs::create_dir_all(m.join("b")).unwrap();
        symlink("../b", m.join("a/la")).unwrap();
        symlink("../a", m.join("b/lb")).unwrap();
        let e = s.list("model").await.unwrap_err().to_string();
        assert!(e.contains("loops"), "{e}");
    }

    #[tokio::test]
    async fn local_store_passes_the_store_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run_all(&LocalStore::new(dir.path())).await;
    }
}
