//! `aml-failover component download|register` and `data download|register` (their `list` is
//! `assets_cmd::list`): the `az ml` YAML side of components and data assets, through the same
//! stages as models and environments (verified transfer, register after verify).
//!
//! component download: `<dir>/<name>/component.yml` + its code in `<dir>/<name>/code/`
//! (sha256-verified; workspace references shortened to `azureml:<name>:<version>`).
//! component register: code uploaded (verified) and registered as `code-<fingerprint>`, the
//! environment checked in the workspace (missing: the chain is named), then the component;
//! an existing version is reused only if identical (spec and code sha256).
//! data download: `<dir>/<name>/data.yml`, and the files when they are on the workspace's
//! storage (verified; `path:` then names the local copy). data register: a local `path:` is
//! uploaded (verified) into the default blob datastore; a datastore or URL path is registered
//! as it is (a datastore path of this workspace must hold data).

use super::assets_cmd::{context, next_version, read_workspace, run_jobs, write_atomic, write_workspace};
use crate::assets::folder::component::{portable_component, prepare_component, register_component, write_component_yaml};
use crate::assets::folder::upload::read_local;
use crate::assets::folder::{read_yaml, Target};
use crate::assets::options::{DownloadOptions, RegisterOptions};
use crate::assets::uri::ContentUri;
use crate::assets::{self, component, data, job, AssetItem, Kind, Selection};
use crate::azureml::workspace_path;
use crate::settings::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, FileJob, Silent};
use crate::workspace::Context;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;

fn report(s: &Settings, doc: Value, human: String) {
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&doc),
        OutputFormat::Human => println!("{human}"),
    }
}

async fn pick(ctx: &Context, ws: &crate::workspace::WorkspaceRef, kind: Kind, name: &str, version: Option<&str>) -> Result<AssetItem> {
    let sel = Selection { kinds: vec![kind], name: Some(name.to_string()), latest_only: version.is_none() };
    let mut items = assets::list_versions(&ctx.arm, ws, &sel).await?;
    items.retain(|i| i.name == name && version.is_none_or(|v| i.version == v));
    items.pop().ok_or_else(|| {
        let v = version.map(|v| format!(" version {v}")).unwrap_or_default();
        Error::NotFound(format!("{kind} '{name}'{v} does not exist in workspace {}", ws.workspace_name))
    })
}

pub async fn component_download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = read_workspace(s, "component download")?;
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let item = pick(&ctx, &ws, Kind::Component, &o.name, o.version.as_deref()).await?;
    let folder = o.download_path.join(&item.name);
    let spec = item.properties.get("componentSpec").cloned().unwrap_or(Value::Null);
    let t = Target::new(&ctx, &ws, &ds, &o.engine, &s.printer);
    let (mut spec, jobs, owners) = portable_component(&t, &item.name, &item.version, &spec, &folder, "code", "component download").await?;
    let mut files = Vec::new();
    for ((rel, job), r) in owners.into_iter().zip(&jobs).zip(run_jobs(s, &o.engine, &jobs).await) {
        let d = r.map_err(|e| context(e, &format!("component {}:{}: {rel}; no YAML written", item.name, item.version)))?;
        files.push(json!({"path": rel, "size": job.size, "sha256": d.sha256}));
    }
    let y = folder.join("component.yml");
    std::fs::create_dir_all(&folder).map_err(|e| Error::usage(format!("cannot create {}: {e}", folder.display())))?;
    write_component_yaml(&y, &mut spec, component::CONDA_FILE)?;
    report(
        s,
        json!({"schemaVersion": 1, "command": "component download", "workspace": ws.arm_id(), "name": item.name, "version": item.version, "yaml": y.display().to_string(), "files": files}),
        format!("downloaded component {}:{} -> {} ({} code files, sha256 verified)", item.name, item.version, y.display(), files.len()),
    );
    Ok(Exit::Ok)
}

pub async fn component_register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let ws = write_workspace(s, "component register")?;
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let t = Target::new(&ctx, &ws, &ds, &o.engine, &s.printer);
    let mut l = prepare_component(&t, &o.file, &o.file.display().to_string(), o.version.as_deref()).await?;
    let (arm_ref, registered) = register_component(&t, &mut l, &o.file.display().to_string()).await?;
    let name = l.spec["name"].as_str().unwrap_or_default().to_string();
    let status = if registered { "registered" } else { "unchanged" };
    report(
        s,
        json!({"schemaVersion": 1, "command": "component register", "workspace": ws.arm_id(), "name": name, "version": l.version, "status": status, "id": arm_ref}),
        format!("{status} component {name}:{} in {}", l.version, ws.workspace_name),
    );
    Ok(Exit::Ok)
}

pub async fn data_download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = read_workspace(s, "data download")?;
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let mut item = pick(&ctx, &ws, Kind::Data, &o.name, o.version.as_deref()).await?;
    let folder = o.download_path.join(&item.name);
    let on_storage = data::source_datastore(&item, &ws, ds.all()).is_some();
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
        for (job, r) in jobs.iter().zip(run_jobs(s, &o.engine, &jobs).await) {
            let d = r.map_err(|e| context(e, &format!("data {}:{}: {}; no YAML written", item.name, item.version, job.dst_path)))?;
            files.push(json!({"path": job.dst_path.as_str(), "size": job.size, "sha256": d.sha256}));
        }
        let local = if leaf.is_empty() { format!("./{}", c.files[0].rel) } else { format!("./{leaf}") };
        yaml_item.properties["dataUri"] = json!(local);
        note = "files downloaded and verified; path: names the local copy".to_string();
    } else {
        note = "not on this workspace's storage: data.yml keeps the path it had, no files downloaded".to_string();
    }
    std::fs::create_dir_all(&folder).map_err(|e| Error::usage(format!("cannot create {}: {e}", folder.display())))?;
    let y = folder.join("data.yml");
    write_atomic(&y, data::yaml(&yaml_item).as_bytes())?;
    report(
        s,
        json!({"schemaVersion": 1, "command": "data download", "workspace": ws.arm_id(), "name": item.name, "version": item.version, "yaml": y.display().to_string(), "files": files, "note": note}),
        format!("downloaded data {}:{} -> {} ({} files; {note})", item.name, item.version, y.display(), files.len()),
    );
    Ok(Exit::Ok)
}

pub async fn data_register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let ws = write_workspace(s, "data register")?;
    let y = read_yaml(&o.file)?;
    let bad = |m: &str| Error::Usage(format!("{}: {m}", o.file.display()));
    let name = y.get("name").and_then(Value::as_str).ok_or_else(|| bad("no name:"))?.to_string();
    let path = y.get("path").and_then(Value::as_str).ok_or_else(|| bad("no path:"))?.to_string();
    let data_type = y.get("type").and_then(Value::as_str).unwrap_or("uri_folder").to_string();
    if !matches!(data_type.as_str(), "uri_file" | "uri_folder" | "mltable") {
        return Err(bad(&format!("type '{data_type}' is not uri_file, uri_folder or mltable")));
    }
    if let Some(w) = data::other_workspace(&path, &ws) {
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
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let version = match given {
        Some(v) => v,
        None => next_version(&ctx, &ws, Kind::Data, &name).await?,
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
    let vpath = format!("{}/data/{}/versions/{}", workspace_path(&ws), assets::enc(&name), assets::enc(&version));
    let existing = match ctx.arm.get(&vpath).await {
        Ok(v) => Some(v),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let (uri, files) = if local {
        let dir = o.file.parent().unwrap_or(std::path::Path::new("."));
        let lc = read_local(&dir.join(&path), &o.file, "path", &quiet).await?;
        let mut h = Sha256::new();
        h.update(format!("data\n{name}\n"));
        for (p, size, sha, _) in &lc.files {
            h.update(format!("{p}\t{size}\t{sha}\n"));
        }
        let fp = hex::encode(h.finalize())[..32].to_string();
        let ds_name = ds.default_blob()?.name.clone();
        let uri = ContentUri::datastore_uri(&ws, &ds_name, &format!("LocalUpload/{fp}/{}", lc.leaf));
        if existing.is_none() {
            let dst = ds.open(&ds_name).await?;
            let jobs = lc.upload_jobs(&(dst.clone() as Arc<dyn Store>), &format!("LocalUpload/{fp}"))?;
            for r in run_jobs(s, &o.engine, &jobs).await {
                r.map_err(|e| context(e, &format!("{label}: nothing registered (rerun to resume)")))?;
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
            assets::register_props(&ctx.arm, &ws, Kind::Data, &name, &Value::Null, &version, false, &want).await?;
            "registered"
        }
    };
    report(
        s,
        json!({"schemaVersion": 1, "command": "data register", "workspace": ws.arm_id(), "name": name, "version": version, "status": status, "dataUri": crate::redact::url_str(&uri), "files": files}),
        format!(
            "{status} {label} in {} ({})",
            ws.workspace_name,
            match (local, o.check_paths) {
                (true, _) => format!("{files} files uploaded and verified"),
                (false, true) => format!("path registered as given; --check-paths found {files} files there"),
                (false, false) => "path registered as given, not read (--check-paths reads it)".into(),
            }
        ),
    );
    Ok(Exit::Ok)
}
