//! `data download|register`: a data asset as `data.yml` (with its files when they are on the
//! workspace's storage), and a `data.yml` registered in a workspace.

use super::upload::read_local;
use super::register::next_version;
use super::{create_dir, read_yaml, write_atomic, FileHash, Transfers, SCHEMA_VERSION};
use crate::assets::options::{DownloadOptions, RegisterOptions};
use crate::assets::uri::ContentUri;
use crate::assets::{self, data, job, Kind};
use crate::azureml::workspace_path;
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob, Silent};
use crate::workspace::{ConnectOptions, Context, WorkspaceRef};
use serde::Serialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// What `data download` wrote.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DownloadReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "data download"))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    pub version: String,
    /// path of data.yml
    pub yaml: String,
    /// empty when the data is not on the workspace's storage
    pub files: Vec<FileHash>,
    pub note: String,
}

/// What `data register` did.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RegisterReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "data register"))]
    pub command: &'static str,
    pub workspace: String,
    pub name: String,
    pub version: String,
    #[schemars(extend("enum" = ["registered", "unchanged"]))]
    pub status: &'static str,
    /// the registered path, redacted
    pub data_uri: String,
    /// a COUNT of local files uploaded, or with --check-paths of files found at a remote path
    /// (0 for a remote path registered unread), unlike the arrays elsewhere
    pub files: usize,
    #[serde(skip)]
    pub workspace_name: String,
    /// `data <name>:<version>`
    #[serde(skip)]
    pub label: String,
    /// The path was local (uploaded).
    #[serde(skip)]
    pub local: bool,
    #[serde(skip)]
    pub check_paths: bool,
}

/// `data download`: `<dir>/<name>/data.yml`, and the files when they are on the workspace's
/// storage (verified; `path:` then names the local copy).
pub async fn download(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &DownloadOptions) -> Result<DownloadReport> {
    let ds = Datastores::load(ctx, ws).await?;
    let mut item = super::pick(ctx, ws, Kind::Data, &o.name, o.version.as_deref()).await?;
    let folder = o.download_path.join(&item.name);
    let on_storage = data::source_datastore(&item, ws, ds.all()).is_some();
    let mut files = Vec::new();
    let mut yaml_item = item.clone();
    let note;
    if on_storage {
        assets::resolve_content(&mut item, &ds).await?;
        let c = item.content.as_ref().expect("resolved");
        let leaf = if c.single_file { String::new() } else { c.base.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("data").to_string() };
        let dst: Arc<dyn Store> = Arc::new(LocalStore::new(&folder));
        let mut jobs = Vec::new();
        for f in &c.files {
            let rel = if leaf.is_empty() { f.rel.clone() } else { format!("{leaf}/{}", f.rel.trim_start_matches('/')) };
            jobs.push(FileJob::from_source(&c.store, &f.meta, &dst, StorePath::parse(&rel)?));
        }
        for (job, r) in jobs.iter().zip(transfers.run(&o.engine, &jobs).await) {
            let d = r.map_err(|e| e.context(format!("data {}:{}: {}; no YAML written", item.name, item.version, job.dst_path)))?;
            files.push(FileHash { path: job.dst_path.as_str().to_string(), size: job.size, sha256: d.sha256 });
        }
        let local = if leaf.is_empty() { format!("./{}", c.files[0].rel) } else { format!("./{leaf}") };
        yaml_item.properties["dataUri"] = json!(local);
        note = "files downloaded and verified; path: names the local copy".to_string();
    } else {
        note = "not on this workspace's storage: data.yml keeps the path it had, no files downloaded".to_string();
    }
    create_dir(&folder)?;
    let y = folder.join("data.yml");
    write_atomic(&y, data::yaml(&yaml_item).as_bytes())?;
    Ok(DownloadReport {
        schema_version: SCHEMA_VERSION,
        command: "data download",
        workspace: ws.arm_id(),
        name: item.name,
        version: item.version,
        yaml: y.display().to_string(),
        files,
        note,
    })
}

/// `data register`: a local `path:` is uploaded (verified) into the default blob datastore; a
/// datastore or URL path is registered as it is (with `--check-paths`, after reading it). The
/// YAML is checked against the service's rules before anything is read or written; `connect`
/// is made only then.
pub async fn register(ws: &WorkspaceRef, connect: &ConnectOptions, transfers: &dyn Transfers, o: &RegisterOptions) -> Result<RegisterReport> {
    let y = read_yaml(&o.file)?;
    let bad = |m: &str| Error::Usage(format!("{}: {m}", o.file.display()));
    let name = y.get("name").and_then(Value::as_str).ok_or_else(|| bad("no name:"))?.to_string();
    let path = y.get("path").and_then(Value::as_str).ok_or_else(|| bad("no path:"))?.to_string();
    let data_type = y.get("type").and_then(Value::as_str).unwrap_or("uri_folder").to_string();
    if !matches!(data_type.as_str(), "uri_file" | "uri_folder" | "mltable") {
        return Err(bad(&format!("type '{data_type}' is not uri_file, uri_folder or mltable")));
    }
    if let Some(w) = data::other_workspace(&path, ws) {
        return Err(bad(&format!(
            "path: '{path}' is in workspace {w}, not in {} where this registers; point path at data this workspace reaches (copy the data, or a replica)",
            ws.workspace_name
        )));
    }
    // The service's rules, before anything is read from or written to a workspace.
    job::check_name("data", &name).map_err(|e| bad(&e.to_string()))?;
    let given = o.version.clone().or_else(|| y.get("version").map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())));
    if let Some(v) = &given {
        job::check_version("data", v).map_err(|e| bad(&e.to_string()))?;
    }
    let ctx = Context::connect(connect)?;
    let ds = Datastores::load(&ctx, ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let version = match given {
        Some(v) => v,
        None => next_version(&ctx, ws, Kind::Data, &name).await?,
    };
    let mut props = Map::new();
    props.insert("dataType".into(), json!(data_type));
    for k in ["description", "tags", "properties"] {
        if let Some(v) = y.get(k) {
            props.insert(k.into(), v.clone());
        }
    }
    let local = !data::is_remote(&path);
    let label = format!("data {name}:{version}");
    let vpath = format!("{}/data/{}/versions/{}", workspace_path(ws), assets::enc(&name), assets::enc(&version));
    let existing = match ctx.arm.get(&vpath).await {
        Ok(v) => Some(v),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let (uri, files) = if local {
        let dir = o.file.parent().unwrap_or(std::path::Path::new("."));
        let lc = read_local(&dir.join(&path), &o.file, "path", &quiet).await?;
        let fp = lc.fingerprint(&format!("data\n{name}\n"));
        let ds_name = ds.default_blob()?.name.clone();
        let uri = ContentUri::datastore_uri(ws, &ds_name, &format!("LocalUpload/{fp}/{}", lc.leaf));
        if existing.is_none() {
            let dst = ds.open(&ds_name).await?;
            let jobs = lc.upload_jobs(&(dst.clone() as Arc<dyn Store>), &format!("LocalUpload/{fp}"))?;
            for r in transfers.run(&o.engine, &jobs).await {
                r.map_err(|e| e.context(format!("{label}: nothing registered (rerun to resume)")))?;
            }
        }
        (uri, lc.files.len())
    } else if o.check_paths {
        let n = data::check_remote(&name, &version, &data_type, &path, &ds).await.map_err(|e| match e {
            // Nothing readable there: bad input. Credentials and outages keep their own exit code.
            Error::Usage(m) | Error::Service(m) | Error::NotFound(m) => bad(&format!("path: {m}")),
            other => other,
        })?;
        (path.clone(), n)
    } else {
        (path.clone(), 0)
    };
    props.insert("dataUri".into(), json!(uri));
    let want = Value::Object(props);
    let status = match existing {
        Some(have) => {
            let hp = have.get("properties").cloned().unwrap_or(Value::Null);
            let same = |k: &str| want.get(k).filter(|v| !v.as_object().is_some_and(|m| m.is_empty())) == hp.get(k).filter(|v| !v.as_object().is_some_and(|m| m.is_empty()));
            let norm = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").trim_end_matches('/').to_ascii_lowercase();
            if !(same("dataType") && same("description") && same("tags") && norm(want.get("dataUri")) == norm(hp.get("dataUri"))) {
                return Err(Error::Usage(format!(
                    "{}: {label} already exists in workspace {} with different content; registered versions cannot change: give another --version",
                    o.file.display(),
                    ws.workspace_name
                )));
            }
            "unchanged"
        }
        None => {
            assets::register_props(&ctx.arm, ws, Kind::Data, &name, &Value::Null, &version, false, &want).await?;
            "registered"
        }
    };
    Ok(RegisterReport {
        schema_version: SCHEMA_VERSION,
        command: "data register",
        workspace: ws.arm_id(),
        name,
        version,
        status,
        data_uri: crate::redact::url_str(&uri),
        files,
        workspace_name: ws.workspace_name.clone(),
        label,
        local,
        check_paths: o.check_paths,
    })
}
