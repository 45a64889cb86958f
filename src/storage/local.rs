//! A local directory as a [`Store`]: downloads land here, registrations read from here.
//! Writes go to `<name>.aml-failover-partial` and are renamed into place by `finish`, so a
//! crash never leaves a half-written file under its final name.

use super::{FinishInfo, ObjectMeta, ObjectWriter, Store, StorePath};
use crate::error::{Error, Result};
use async_trait::async_trait;
use bytes::Bytes;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

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
            let mut stack = vec![start];
            while let Some(dir) = stack.pop() {
                let rd = std::fs::read_dir(&dir).map_err(|e| me.io("cannot list", &dir, e))?;
                for entry in rd {
                    let entry = entry.map_err(|e| me.io("cannot list", &dir, e))?;
                    let path = entry.path();
                    let ft = entry.file_type().map_err(|e| me.io("cannot read", &path, e))?;
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
                        let md = entry.metadata().map_err(|e| me.io("cannot read", &path, e))?;
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
        let f = self.file(path);
        let mut file = tokio::fs::File::open(&f).await.map_err(|e| self.io("cannot open", &f, e))?;
        file.seek(std::io::SeekFrom::Start(start)).await.map_err(|e| self.io("cannot read", &f, e))?;
        let mut buf = vec![0u8; (end - start) as usize];
        file.read_exact(&mut buf).await.map_err(|e| self.io("cannot read", &f, e))?;
        Ok(Bytes::from(buf))
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
        Ok(Box::new(LocalWriter { file: Some(file), partial, dest }))
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

struct LocalWriter {
    file: Option<tokio::fs::File>,
    partial: PathBuf,
    dest: PathBuf,
}

#[async_trait]
impl ObjectWriter for LocalWriter {
    async fn write_block(&mut self, data: Bytes, _md5: [u8; 16], _hold: super::Hold) -> Result<()> {
        let f = self.file.as_mut().expect("open until finish");
        f.write_all(&data).await.map_err(|e| Error::Usage(format!("cannot write {}: {e}", self.partial.display())))
    }

    async fn finish(mut self: Box<Self>, _info: FinishInfo) -> Result<bool> {
        let mut f = self.file.take().expect("open until finish");
        f.flush().await.map_err(|e| Error::Usage(format!("cannot write {}: {e}", self.partial.display())))?;
        f.sync_all().await.map_err(|e| Error::Usage(format!("cannot write {}: {e}", self.partial.display())))?;
        drop(f);
        tokio::fs::rename(&self.partial, &self.dest)
            .await
            .map_err(|e| Error::Usage(format!("cannot move {} into place: {e}", self.dest.display())))?;
        // No service checked what landed: the engine reads the file back.
        Ok(false)
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // Not finished: remove the partial file so nothing half-written remains.
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance;

    #[tokio::test]
    async fn local_store_passes_the_store_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run_all(&LocalStore::new(dir.path())).await;
    }
}
