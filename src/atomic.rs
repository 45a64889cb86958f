//! The one way this tool writes a document to disk (manifests, reports, YAML, the lease id):
//! a reader sees the old file or the new one, never half of one, even after a crash or a
//! power loss. The bytes go to a temporary file in the same folder
//! (`.<name>.<random>.aml-failover-partial`, skipped by the local store's listing), which is
//! fsynced, renamed over `path` ([`tempfile::NamedTempFile::persist`]), and the folder is
//! fsynced so the rename itself is durable. A failure leaves no temporary file behind.
//!
//! Streamed transfers into a local folder have their own writer (`src/storage/local.rs`):
//! they are written block by block, not from one buffer.

use std::io::Write;
use std::path::Path;

/// The suffix of the temporary file (the same as the local store's partial files).
const SUFFIX: &str = ".aml-failover-partial";

/// Writes `data` to `path` atomically and durably. The file gets the permissions a plain
/// `std::fs::write` would give a new file (0666 less the umask), not the temporary file's 0600.
pub fn write(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(SUFFIX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut tmp = b.tempfile_in(dir)?;
    tmp.write_all(data)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir);
    Ok(())
}

/// [`write`] of a value as pretty-printed JSON (the form of every document this tool writes).
pub fn write_json<T: serde::Serialize + ?Sized>(path: &Path, doc: &T) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    write(path, text.as_bytes())
}

/// Makes a rename in `dir` durable (Unix; elsewhere the rename is as durable as it gets).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_whole_and_leaves_no_temporary_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("m.json");
        write(&p, b"old").unwrap();
        write_json(&p, &serde_json::json!({"a": 1})).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "{\n  \"a\": 1\n}");
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("m.json")]);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_ne!(mode, 0o600, "a manifest is as readable as any file the user writes");
        }
    }

    #[test]
    fn a_missing_folder_is_an_error_and_writes_nothing() {
        let d = tempfile::tempdir().unwrap();
        assert!(write(&d.path().join("no/such/m.json"), b"x").is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
