//! Local files named by a YAML (`path:`, `code:`, a job's local inputs): read and hashed
//! before anything is written ([`read_local`]), then uploaded (verified) into the workspace's
//! default blob datastore under `LocalUpload/<hash>/` as `az ml` uploads them.

use super::{get_opt, Target};
use crate::assets::{self, Kind};
use crate::azureml::workspace_path;
use crate::error::{Error, Result};
use crate::storage::blob::BlobStore;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob};
use crate::workspace::blob_folder_url;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::Arc;

/// Local files of a YAML's content, hashed, ready to upload.
pub struct LocalContent {
    pub store: Arc<LocalStore>,
    /// File or folder name (the last segment of the local path).
    pub leaf: String,
    pub single_file: bool,
    /// (path in the local store, size, sha256, etag)
    pub files: Vec<(StorePath, u64, String, Option<String>)>,
}

impl LocalContent {
    /// One verified transfer per file into `dst` under `<prefix>/<path>`.
    pub fn upload_jobs(&self, dst: &Arc<dyn Store>, prefix: &str) -> Result<Vec<FileJob>> {
        let src: Arc<dyn Store> = self.store.clone();
        self.files
            .iter()
            .map(|(p, size, sha, etag)| {
                Ok(FileJob {
                    src: Arc::clone(&src),
                    src_path: p.clone(),
                    dst: Arc::clone(dst),
                    dst_path: StorePath::parse(&format!("{prefix}/{p}"))?,
                    size: *size,
                    expected_sha256: Some(sha.clone()),
                    src_md5: None,
                    src_tag: crate::storage::source_tag(&self.store.uri(p), etag.as_deref()),
                    src_etag: etag.clone(),
                })
            })
            .collect()
    }

    /// An upload folder name: a fingerprint of `head` (what is registered) and every file's
    /// path, size and sha256, so a rerun of the same YAML writes to the same place and
    /// verified files are not sent again.
    pub fn fingerprint(&self, head: &str) -> String {
        let mut h = Sha256::new();
        h.update(head);
        for (p, size, sha, _) in &self.files {
            h.update(format!("{p}\t{size}\t{sha}\n"));
        }
        hex::encode(h.finalize())[..32].to_string()
    }

    /// The files as (path relative to the content root, size, sha256), the form
    /// `compare::holds_files` takes.
    pub fn relative_files(&self) -> Vec<(String, u64, String)> {
        self.files
            .iter()
            .map(|(p, size, sha, _)| {
                let rel = if self.single_file { p.as_str().to_string() } else { p.strip_prefix(&self.leaf).unwrap_or(p.as_str()).to_string() };
                (rel, *size, sha.clone())
            })
            .collect()
    }
}

/// The files at `path` (a file or a folder), hashed; `file` and `field` name the YAML field
/// that gave the path in errors.
pub async fn read_local(path: &Path, file: &Path, field: &str, engine: &Engine) -> Result<LocalContent> {
    let bad = |m: String| Error::Usage(format!("{}: {field}: {m}", file.display()));
    let canon = std::fs::canonicalize(path).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    let leaf = canon.file_name().and_then(|n| n.to_str()).ok_or_else(|| bad(format!("{} has no usable name", path.display())))?;
    let parent = canon.parent().ok_or_else(|| bad(format!("{} has no parent folder", path.display())))?;
    let store = Arc::new(LocalStore::new(parent));
    let listed = store.list(leaf).await.map_err(|e| e.context(format!("{}: {field}", file.display())))?;
    if listed.is_empty() {
        return Err(bad(format!("{} holds no files", path.display())));
    }
    let mut files = Vec::new();
    for m in listed {
        let d = engine.digest(&*store, &m.path, m.size, false).await.map_err(|e| e.context(format!("{}: {field}", file.display())))?;
        files.push((m.path, m.size, d.sha256, m.etag));
    }
    Ok(LocalContent { store, leaf: leaf.to_string(), single_file: canon.is_file(), files })
}

/// Local files uploaded (verified) to the default blob datastore under `LocalUpload/<hash>/`,
/// as az ml uploads them: (datastore name, its store, hash).
pub async fn upload_local(t: &Target<'_>, lc: &LocalContent, label: &str) -> Result<(String, Arc<BlobStore>, String)> {
    let upload_ds = t.ds.default_blob()?.name.clone();
    let dst = t.ds.open(&upload_ds).await?;
    let hash = assets::local::upload_hash(lc.files.iter().map(|(p, size, sha, _)| (p.as_str(), *size, sha.as_str())));
    let jobs = lc.upload_jobs(&(dst.clone() as Arc<dyn Store>), &format!("LocalUpload/{hash}"))?;
    for r in t.run(&jobs).await {
        r.map_err(|e| e.context(format!("{label}: nothing registered (rerun to resume)")))?;
    }
    Ok((upload_ds, dst, hash))
}

/// A local job input uploaded (see [`upload_local`]); returns the path the input names then.
pub async fn upload_local_input(t: &Target<'_>, lc: &LocalContent, input_type: &str, label: &str) -> Result<String> {
    let (upload_ds, _, hash) = upload_local(t, lc, label).await?;
    Ok(assets::local::uploaded_uri(&upload_ds, &hash, &lc.leaf, input_type))
}

/// Local code uploaded (verified) to the default blob datastore under `LocalUpload/<fingerprint>/`
/// and registered as code `code-<fingerprint>` version 1 (the same files always give the same
/// code asset; an existing one is reused). Returns its `azureml:<ARM id>`.
pub async fn upload_code(t: &Target<'_>, lc: &LocalContent, label: &str) -> Result<String> {
    let base = workspace_path(t.ws);
    let (_, dst, fp) = upload_local(t, lc, &format!("{label} → code")).await?;
    let code_name = format!("code-{}", &fp[..16]);
    let code_path = format!("{base}/codes/{code_name}/versions/1");
    if get_opt(t.ctx, format!("{base}/codes/{}/versions/1", assets::enc(&code_name))).await?.is_none() {
        let uri = crate::workspace::blob_folder_url(t.ctx, dst.account(), dst.container(), &format!("LocalUpload/{fp}/{}", lc.leaf));
        assets::register_props(&t.ctx.arm, t.ws, Kind::Code, &code_name, &Value::Null, "1", false, &json!({"codeUri": uri})).await?;
    }
    Ok(format!("azureml:{code_path}"))
}

/// An inline environment built from a local Docker context (`environment: {build: {path:
/// ./ctx}}`), read and hashed before anything is written. az ml uploads the context like code
/// and registers the environment anonymously ([`assets::environment::ANONYMOUS`], its version
/// a hash of the files and the Dockerfile path) with `build.contextUri` naming the upload; the
/// job or component then names that environment by id.
pub struct BuildEnv {
    pub content: LocalContent,
    pub version: String,
    dockerfile: String,
    os_type: Option<Value>,
}

/// `holder`'s inline environment (`holder.environment`), when it is built from a local
/// context: the context read and hashed, and `environment` replaced by the id of the anonymous
/// environment [`register_build_env`] registers (the id depends on the files only, so a
/// component can be compared with a registered one before anything is written).
pub async fn prepare_build_env(t: &Target<'_>, holder: &mut Value, dir: &Path, file: &Path) -> Result<Option<BuildEnv>> {
    let Some(env) = holder.get("environment").filter(|e| e.is_object()) else { return Ok(None) };
    let Some(path) = env.pointer("/build/path").and_then(Value::as_str).filter(|p| assets::local::is_local_path(p)) else { return Ok(None) };
    let content = read_local(&dir.join(path.strip_prefix("file:").unwrap_or(path)), file, "environment.build.path", &t.quiet).await?;
    if content.single_file {
        return Err(Error::Usage(format!("{}: environment.build.path: {path} is a file; a Docker build context is a folder", file.display())));
    }
    let dockerfile = env.pointer("/build/dockerfile_path").and_then(Value::as_str).unwrap_or("Dockerfile").to_string();
    let os_type = env.get("os_type").map(|o| json!(o.as_str().map(|s| if s.eq_ignore_ascii_case("windows") { "Windows" } else { "Linux" }).unwrap_or("Linux")));
    let hash = assets::local::upload_hash(content.files.iter().map(|(p, size, sha, _)| (p.as_str(), *size, sha.as_str())));
    let version = hex::encode(Sha256::digest(format!("{hash}\n{dockerfile}").as_bytes()))[..32].to_string();
    holder["environment"] = json!(format!("azureml:{}/environments/{}/versions/{version}", workspace_path(t.ws), assets::environment::ANONYMOUS));
    Ok(Some(BuildEnv { content, version, dockerfile, os_type }))
}

/// Registers a [`BuildEnv`] unless it is there already: its context uploaded (verified) as az ml
/// uploads it, then the anonymous environment with `build.contextUri` naming the upload.
/// Returns whether anything was registered.
pub async fn register_build_env(t: &Target<'_>, b: &BuildEnv, label: &str) -> Result<bool> {
    let name = assets::environment::ANONYMOUS;
    let path = format!("{}/environments/{name}/versions/{}", workspace_path(t.ws), b.version);
    if get_opt(t.ctx, path).await?.is_some() {
        return Ok(false);
    }
    let (_, dst, hash) = upload_local(t, &b.content, &format!("{label} → environment build context")).await?;
    let uri = blob_folder_url(t.ctx, dst.account(), dst.container(), &format!("LocalUpload/{hash}/{}", b.content.leaf));
    let mut props = json!({"build": {"contextUri": uri, "dockerfilePath": b.dockerfile}, "isAnonymous": true});
    if let Some(os) = &b.os_type {
        props["osType"] = os.clone();
    }
    assets::register_props(&t.ctx.arm, t.ws, Kind::Environment, name, &Value::Null, &b.version, false, &props).await?;
    Ok(true)
}
