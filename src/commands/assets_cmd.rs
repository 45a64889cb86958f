//! `aml-failover model|environment list|download|register`: the `az ml` YAML side of models
//! and environments. list → enumerate; download → resolve content → transfer (verified) into
//! a local folder → YAML; register → read YAML → transfer (verified) into the default blob
//! datastore → register.

use crate::assets::uri::ContentUri;
use crate::assets::yaml::{self, ContentRef, LocalNames, ParsedAsset};
use crate::assets::folder::upload::{read_local, LocalContent};
use crate::assets::{self, AssetItem, Kind, Selection};
use crate::azureml::workspace_path;
use crate::assets::options::{DownloadOptions, ListOptions, RegisterOptions};
use crate::settings::{OutputFormat, Settings};
use crate::error::{Error, Exit, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{Engine, EngineOptions, FileDone, FileJob, Method, Silent};
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const SCHEMA_VERSION: u32 = 1;

/// The workspace a reading command acts on (`Settings::read_workspace`).
pub(super) fn read_workspace(s: &Settings, what: &str) -> Result<WorkspaceRef> {
    s.read_workspace(what)
}

/// The workspace `register` writes to (`Settings::write_workspace`).
pub(super) fn write_workspace(s: &Settings, what: &str) -> Result<WorkspaceRef> {
    s.write_workspace(what)
}

/// Runs transfers with the printer's progress (`Printer::run_transfers`).
pub(super) async fn run_jobs(s: &Settings, engine: &EngineOptions, jobs: &[FileJob]) -> Vec<Result<FileDone>> {
    s.printer.run_transfers(engine, jobs).await
}

fn command_name(kind: Kind, verb: &str) -> String {
    format!("{kind} {verb}")
}

/// Keeps the error's kind (and exit code), with context in front of its message.
pub(super) fn context(e: Error, prefix: &str) -> Error {
    e.context(prefix)
}

// ---------------------------------------------------------------------------------------
// list

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListedItem {
    kind: Kind,
    name: String,
    version: String,
    /// Model type, or for an environment: its image, or "build" for a build context.
    #[serde(skip_serializing_if = "Option::is_none")]
    r#type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    /// The version's REST properties as the service returned them.
    properties: Value,
}

pub async fn list(s: &Settings, o: &ListOptions) -> Result<Exit> {
    let ws = read_workspace(s, &command_name(o.kind, "list"))?;
    let ctx = Context::connect(&s.connect)?;
    let sel = Selection { kinds: vec![o.kind], name: o.name.clone(), latest_only: o.latest };
    let items = assets::list_versions(&ctx.arm, &ws, &sel).await?;
    let rows: Vec<ListedItem> = items
        .iter()
        .map(|i| {
            let str_of = |k: &str| i.properties.get(k).and_then(Value::as_str).map(str::to_string);
            ListedItem {
                kind: i.kind,
                name: i.name.clone(),
                version: i.version.clone(),
                r#type: match i.kind {
                    Kind::Model => Some(str_of("modelType").unwrap_or_else(|| "custom_model".into())),
                    Kind::Data => str_of("dataType"),
                    Kind::Component => i.properties.pointer("/componentSpec/type").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                },
                image: str_of("image"),
                stage: str_of("stage"),
                description: str_of("description"),
                location: i.location().map(crate::redact::url_str),
                properties: i.properties.clone(),
            }
        })
        .collect();
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": SCHEMA_VERSION,
            "command": command_name(o.kind, "list"),
            "workspace": ws.arm_id(),
            "items": rows,
        })),
        OutputFormat::Human => print!("{}", list_table(o.kind, &rows)),
    }
    Ok(Exit::Ok)
}

fn list_table(kind: Kind, rows: &[ListedItem]) -> String {
    let header: Vec<&str> = match kind {
        Kind::Model => vec!["NAME", "VERSION", "TYPE", "STAGE", "DESCRIPTION"],
        Kind::Component => vec!["NAME", "VERSION", "TYPE", "DESCRIPTION"],
        Kind::Data => vec!["NAME", "VERSION", "TYPE", "PATH"],
        _ => vec!["NAME", "VERSION", "SOURCE", "DESCRIPTION"],
    };
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let desc = one_line(r.description.as_deref().unwrap_or(""), 60);
            match kind {
                Kind::Model => vec![
                    r.name.clone(),
                    r.version.clone(),
                    r.r#type.clone().unwrap_or_default(),
                    r.stage.clone().unwrap_or_else(|| "-".into()),
                    desc,
                ],
                Kind::Component => vec![r.name.clone(), r.version.clone(), r.r#type.clone().unwrap_or_default(), desc],
                Kind::Data => vec![r.name.clone(), r.version.clone(), r.r#type.clone().unwrap_or_default(), r.location.clone().unwrap_or_default()],
                _ => vec![
                    r.name.clone(),
                    r.version.clone(),
                    r.image.clone().map(|i| format!("image {i}")).unwrap_or_else(|| "build context".into()),
                    desc,
                ],
            }
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: Vec<&str>| {
        let n = cols.len();
        let mut out = String::new();
        for (i, c) in cols.into_iter().enumerate() {
            if i + 1 == n {
                out.push_str(c);
            } else {
                out.push_str(&format!("{c:<w$}  ", w = widths[i]));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(header.clone());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out.push_str(&format!("{} {kind} version{}\n", rows.len(), if rows.len() == 1 { "" } else { "s" }));
    out
}

fn one_line(s: &str, max: usize) -> String {
    let flat: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max - 1).collect::<String>() + "…"
    }
}

// ---------------------------------------------------------------------------------------
// download

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FileOut {
    path: String,
    size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    source_uri: String,
    target_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<Method>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checks: Vec<crate::transfer::Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DownloadedItem {
    name: String,
    version: String,
    status: &'static str,
    folder: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    yaml: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    files: Vec<FileOut>,
}

/// Where one version's files go, relative to its folder, and the names its YAML uses.
struct Placement {
    item: AssetItem,
    folder: PathBuf,
    /// Prefix inside the folder for the content (`""` for a single file, else the leaf folder).
    content_prefix: String,
    names: LocalNames,
}

pub async fn download(s: &Settings, o: &DownloadOptions) -> Result<Exit> {
    let ws = read_workspace(s, &command_name(o.kind, "download"))?;
    let ctx = Context::connect(&s.connect)?;
    let sel = Selection { kinds: vec![o.kind], name: Some(o.name.clone()), latest_only: o.version.is_none() && !o.all_versions };
    let (mut items, ds) = futures::future::try_join(assets::list_versions(&ctx.arm, &ws, &sel), Datastores::load(&ctx, &ws)).await?;
    items.retain(|i| i.name == o.name && o.version.as_ref().is_none_or(|v| &i.version == v));
    if items.is_empty() {
        let v = o.version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default();
        return Err(Error::NotFound(format!("{} '{}'{v} does not exist in workspace {}", o.kind, o.name, ws.workspace_name)));
    }
    let mut placements = Vec::new();
    for mut item in items {
        let label = format!("{} {}:{}", item.kind, item.name, item.version);
        assets::resolve_content(&mut item, &ds).await.map_err(|e| context(e, &label))?;
        let mut folder = o.download_path.join(&item.name);
        if o.all_versions {
            folder = folder.join(&item.version);
        }
        let mut names = LocalNames::default();
        let mut content_prefix = String::new();
        if let Some(c) = &item.content {
            if c.single_file {
                names.content = Some(c.files[0].rel.clone());
            } else {
                // `az ml model download` keeps the folder's own name: <dir>/<name>/<folder>/…
                let leaf = c.base.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty());
                let leaf = leaf.unwrap_or(match item.kind {
                    Kind::Model => "model",
                    _ => "build-context",
                });
                content_prefix = leaf.to_string();
                names.content = Some(leaf.to_string());
            }
        }
        if item.properties.get("condaFile").is_some_and(Value::is_string) {
            names.conda_file = Some("conda.yml".into());
        }
        let yaml_name = yaml::yaml_file_name(item.kind);
        for taken in [names.content.as_deref(), names.conda_file.as_deref()].into_iter().flatten() {
            if taken == yaml_name || (names.conda_file.as_deref() == Some(taken) && names.content.as_deref() == Some(taken)) {
                return Err(Error::usage(format!(
                    "{label}: its content is named '{taken}', which clashes with the {yaml_name}/conda.yml that download writes beside it"
                )));
            }
        }
        placements.push(Placement { item, folder, content_prefix, names });
    }

    // Transfer every file of every version through one engine.
    let mut jobs = Vec::new();
    let mut owner = Vec::new();
    for (i, p) in placements.iter().enumerate() {
        let Some(c) = &p.item.content else { continue };
        let dst: Arc<dyn Store> = Arc::new(LocalStore::new(&p.folder));
        for f in &c.files {
            let rel = if p.content_prefix.is_empty() { f.rel.clone() } else { format!("{}/{}", p.content_prefix, f.rel) };
            owner.push((i, rel.clone()));
            jobs.push(FileJob::from_source(&c.store, &f.meta, &dst, StorePath::parse(&rel)?));
        }
    }
    let results = run_jobs(s, &o.engine, &jobs).await;
    let mut files: Vec<Vec<FileOut>> = placements.iter().map(|_| Vec::new()).collect();
    for ((i, rel), (job, r)) in owner.into_iter().zip(jobs.iter().zip(results)) {
        files[i].push(file_out(rel, job, r));
    }

    let mut out = Vec::new();
    let mut failed = 0;
    for (p, files) in placements.into_iter().zip(files) {
        let bad: Vec<&FileOut> = files.iter().filter(|f| f.error.is_some()).collect();
        let mut rec = DownloadedItem {
            name: p.item.name.clone(),
            version: p.item.version.clone(),
            status: "downloaded",
            folder: p.folder.display().to_string(),
            yaml: None,
            error: None,
            files: Vec::new(),
        };
        if !bad.is_empty() {
            failed += 1;
            rec.status = "failed";
            rec.error = Some(format!(
                "{} of {} files failed; no YAML written (rerun to retry): {}",
                bad.len(),
                files.len(),
                bad[0].error.as_deref().unwrap_or("")
            ));
            rec.files = files;
            out.push(rec);
            continue;
        }
        match write_yaml_and_conda(&p) {
            Ok(y) => rec.yaml = Some(y.display().to_string()),
            Err(e) => {
                failed += 1;
                rec.status = "failed";
                rec.error = Some(e.to_string());
            }
        }
        rec.files = files;
        out.push(rec);
    }
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&json!({
            "schemaVersion": SCHEMA_VERSION,
            "command": command_name(o.kind, "download"),
            "workspace": ws.arm_id(),
            "downloadPath": o.download_path.display().to_string(),
            "items": out,
        })),
        OutputFormat::Human => {
            for r in &out {
                let bytes: u64 = r.files.iter().map(|f| f.size).sum();
                match &r.error {
                    None => println!(
                        "downloaded {} {}:{} -> {} ({} files, {}, sha256 verified)",
                        o.kind,
                        r.name,
                        r.version,
                        r.yaml.as_deref().unwrap_or(""),
                        r.files.len(),
                        crate::report::human_bytes(bytes)
                    ),
                    Some(e) => println!("FAILED     {} {}:{}  {e}", o.kind, r.name, r.version),
                }
                for f in r.files.iter().filter(|f| f.error.is_some()) {
                    println!("           file {}: {}", f.path, f.error.as_deref().unwrap_or(""));
                }
            }
        }
    }
    Ok(if failed > 0 { Exit::Partial } else { Exit::Ok })
}

fn write_yaml_and_conda(p: &Placement) -> Result<PathBuf> {
    std::fs::create_dir_all(&p.folder).map_err(|e| Error::usage(format!("cannot create {}: {e}", p.folder.display())))?;
    if let (Some(name), Some(text)) = (&p.names.conda_file, p.item.properties.get("condaFile").and_then(Value::as_str)) {
        write_atomic(&p.folder.join(name), text.as_bytes())?;
    }
    let text = yaml::to_yaml(&p.item, &p.names)?;
    let path = p.folder.join(yaml::yaml_file_name(p.item.kind));
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

pub(super) fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    crate::atomic::write(path, data).map_err(|e| Error::usage(format!("cannot write {}: {e}", path.display())))
}

fn file_out(rel: String, job: &FileJob, r: Result<FileDone>) -> FileOut {
    match r {
        Ok(d) => FileOut {
            path: rel,
            size: d.size,
            sha256: Some(d.sha256),
            source_uri: job.src.uri(&job.src_path),
            target_uri: job.dst.uri(&job.dst_path),
            method: Some(d.method),
            checks: d.checks,
            error: None,
        },
        Err(e) => FileOut {
            path: rel,
            size: job.size,
            sha256: None,
            source_uri: job.src.uri(&job.src_path),
            target_uri: job.dst.uri(&job.dst_path),
            method: None,
            checks: Vec::new(),
            error: Some(e.to_string()),
        },
    }
}

// ---------------------------------------------------------------------------------------
// register

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RegisterReport {
    schema_version: u32,
    command: String,
    workspace: String,
    file: String,
    kind: Kind,
    name: String,
    version: String,
    /// registered | unchanged (the same version with the same content was there already)
    status: &'static str,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    warnings: Vec<String>,
    files: Vec<FileOut>,
}

pub async fn register(s: &Settings, o: &RegisterOptions) -> Result<Exit> {
    let what = command_name(o.kind, "register");
    let parsed = yaml::parse_file(&o.file, o.kind)?;
    for w in &parsed.warnings {
        tracing::warn!("{w}");
    }
    let ws = write_workspace(s, &what)?;
    let ctx = Context::connect(&s.connect)?;
    let ds = Datastores::load(&ctx, &ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let label_file = o.file.display().to_string();

    // Local content first: its hashes name the upload folder and decide "unchanged".
    let local = match &parsed.content {
        Some(ContentRef::Local { path, field }) => Some(read_local(path, &o.file, field, &quiet).await?),
        _ => None,
    };
    let version = match o.version.clone().or_else(|| parsed.version.clone()) {
        Some(v) => v,
        None => next_version(&ctx, &ws, o.kind, &parsed.name).await?,
    };
    let label = format!("{} {}:{}", o.kind, parsed.name, version);
    let item = parsed.to_item(&version);

    // Already there?
    let vpath = format!("{}/{}/{}/versions/{}", workspace_path(&ws), o.kind.segment(), assets::enc(&parsed.name), assets::enc(&version));
    let existing = match ctx.arm.get(&vpath).await {
        Ok(v) => Some(v),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let mut report = RegisterReport {
        schema_version: SCHEMA_VERSION,
        command: what.clone(),
        workspace: ws.arm_id(),
        file: label_file.clone(),
        kind: o.kind,
        name: parsed.name.clone(),
        version: version.clone(),
        status: "registered",
        reason: String::new(),
        location: None,
        warnings: parsed.warnings.clone(),
        files: Vec::new(),
    };
    if let Some(existing) = existing {
        let mut have = AssetItem {
            kind: o.kind,
            name: parsed.name.clone(),
            version: version.clone(),
            properties: existing.get("properties").cloned().unwrap_or(Value::Null),
            container: Value::Null,
            content: None,
        };
        let why = differences(&parsed, &item, &mut have, local.as_ref(), &ds, &quiet).await?;
        if !why.is_empty() {
            return Err(Error::Usage(format!(
                "{label_file}: {label} already exists in workspace {} with different content ({}); registered versions cannot change: give another --version, or leave version out to take the next free number",
                ws.workspace_name,
                why.join("; ")
            )));
        }
        report.status = "unchanged";
        report.reason = "the same version with the same specification and files is already registered".into();
        report.location = have.location().map(crate::redact::url_str);
        return finish_register(s, report);
    }

    // The target's lock, before the first write (the upload).
    let guard = crate::guard::TargetGuard::take(&ctx, s.state_dir.as_deref(), &ws, &ds, &label_file).await?;
    // Content: upload local files (verified), or check a datastore path.
    let location = match (&parsed.content, &local) {
        (None, _) => None,
        (Some(ContentRef::Local { .. }), Some(lc)) => {
            let ds_name = match &parsed.datastore {
                Some(d) => d.clone(),
                None => ds.default_blob()?.name.clone(),
            };
            let dst = ds.open(&ds_name).await.map_err(|e| context(e, &format!("{label_file}: datastore")))?;
            let fp = fingerprint(o.kind, &parsed.name, lc);
            let content_path = format!("LocalUpload/{fp}/{}", lc.leaf);
            let dst_dyn: Arc<dyn Store> = dst.clone();
            let jobs = lc.upload_jobs(&dst_dyn, &format!("LocalUpload/{fp}"))?;
            let results = run_jobs(s, &o.engine, &jobs).await;
            let mut first_err = None;
            for (job, r) in jobs.iter().zip(results) {
                if let (Err(e), None) = (&r, &first_err) {
                    first_err = Some(context(clone_err(e), &format!("{label}: uploading {}", job.src_path)));
                }
                let rel = job.src_path.as_str().to_string();
                report.files.push(file_out(rel, job, r));
            }
            if let Some(e) = first_err {
                let n = report.files.iter().filter(|f| f.error.is_some()).count();
                return Err(context(e, &format!("{n} of {} files failed, nothing registered (rerun to resume)", report.files.len())));
            }
            Some(match o.kind {
                Kind::Model => ContentUri::datastore_uri(&ws, &ds_name, &content_path),
                _ => blob_folder_url(&ctx, dst.account(), dst.container(), &content_path),
            })
        }
        (Some(ContentRef::Datastore { uri, field }), _) => Some(check_datastore_path(&ctx, &ws, &ds, &item, uri, &o.file, field).await?),
        (Some(ContentRef::Local { .. }), None) => unreachable!("local content was read above"),
    };

    assets::register(&ctx.arm, &ws, &item, &version, false, location.as_deref())
        .await
        .map_err(|e| context(e, &format!("{label}: files verified, but registering failed")))?;
    report.reason = match &local {
        Some(_) => format!("{} files uploaded and verified (sha256), then registered", report.files.len()),
        None if location.is_some() => "registered with its files already in the workspace's datastore".into(),
        None => "registered (no files)".into(),
    };
    report.location = location.as_deref().map(crate::redact::url_str);
    guard.release().await;
    finish_register(s, report)
}

fn clone_err(e: &Error) -> Error {
    e.clone()
}

fn finish_register(s: &Settings, r: RegisterReport) -> Result<Exit> {
    match s.printer.format() {
        OutputFormat::Json => crate::settings::print_json(&serde_json::to_value(&r).expect("report serializes")),
        OutputFormat::Human => {
            let uploaded = r.files.iter().filter(|f| matches!(f.method, Some(Method::Streamed | Method::ServerSide))).count();
            let bytes: u64 = r.files.iter().map(|f| f.size).sum();
            let verb = if r.status == "unchanged" { "unchanged " } else { "registered" };
            println!("{verb} {} {}:{} in {}: {}", r.kind, r.name, r.version, short_ws(&r.workspace), r.reason);
            if !r.files.is_empty() {
                println!(
                    "           {} files, {}: {} uploaded, {} already there",
                    r.files.len(),
                    crate::report::human_bytes(bytes),
                    uploaded,
                    r.files.len() - uploaded
                );
            }
        }
    }
    Ok(Exit::Ok)
}

fn short_ws(arm_id: &str) -> &str {
    arm_id.rsplit('/').next().unwrap_or(arm_id)
}

/// The upload folder: a fingerprint of kind, name and every file's path, size and sha256, so
/// a rerun of the same YAML writes to the same place and verified files are not sent again.
fn fingerprint(kind: Kind, name: &str, lc: &LocalContent) -> String {
    let mut h = Sha256::new();
    h.update(format!("register\n{kind}\n{name}\n"));
    for (p, size, sha, _) in &lc.files {
        h.update(format!("{p}\t{size}\t{sha}\n"));
    }
    hex::encode(h.finalize())[..32].to_string()
}

pub(crate) use crate::workspace::blob_folder_url;

/// The next free version number: the container's `nextVersion`, else one more than the
/// highest numeric version, else 1.
pub(super) async fn next_version(ctx: &Context, ws: &WorkspaceRef, kind: Kind, name: &str) -> Result<String> {
    let base = format!("{}/{}/{}", workspace_path(ws), kind.segment(), assets::enc(name));
    match ctx.arm.get(&base).await {
        Ok(c) => {
            if let Some(n) = c.pointer("/properties/nextVersion").and_then(Value::as_str).filter(|s| !s.is_empty()) {
                return Ok(n.to_string());
            }
            let versions = ctx.arm.list(&format!("{base}/versions")).await?;
            let max = versions.iter().filter_map(|v| v.get("name").and_then(Value::as_str)?.parse::<u64>().ok()).max().unwrap_or(0);
            Ok((max + 1).to_string())
        }
        Err(Error::NotFound(_)) => Ok("1".into()),
        Err(e) => Err(e),
    }
}

/// A YAML's `azureml://` datastore path: it must be in `ws` and hold files. Returns the
/// location to record (environments: the blob URL the service wants for a build context).
async fn check_datastore_path(
    ctx: &Context,
    ws: &WorkspaceRef,
    ds: &Datastores,
    item: &AssetItem,
    uri: &str,
    file: &Path,
    field: &str,
) -> Result<String> {
    let prefix = format!("{}: {field}", file.display());
    let parsed = ContentUri::parse(uri).map_err(|e| Error::Usage(format!("{prefix}: {e}")))?;
    let ContentUri::Datastore { workspace, datastore, path } = &parsed else {
        return Err(Error::Usage(format!("{prefix}: '{uri}' is not a datastore path")));
    };
    if let Some((s, g, w)) = workspace {
        if !(s.eq_ignore_ascii_case(&ws.subscription_id) && g.eq_ignore_ascii_case(&ws.resource_group) && w.eq_ignore_ascii_case(&ws.workspace_name)) {
            return Err(Error::Usage(format!(
                "{prefix}: '{uri}' is in workspace {w}, not in {} where this registers; copy that asset with `aml-failover copy` instead",
                ws.workspace_name
            )));
        }
    }
    let location = match item.kind {
        Kind::Model => uri.to_string(),
        _ => {
            let store = ds.open(datastore).await.map_err(|e| context(e, &prefix))?;
            blob_folder_url(ctx, store.account(), store.container(), path)
        }
    };
    let mut probe = item.clone();
    probe.properties = item.properties_with_location(Some(&location));
    assets::resolve_content(&mut probe, ds).await.map_err(|e| match e {
        Error::Service(m) | Error::Conflict(m) | Error::NotFound(m) => Error::Usage(format!("{prefix}: {m}")),
        other => context(other, &prefix),
    })?;
    Ok(location)
}

/// Why an existing version differs from what the YAML asks for (empty: identical).
async fn differences(
    parsed: &ParsedAsset,
    want: &AssetItem,
    have: &mut AssetItem,
    local: Option<&LocalContent>,
    ds: &Datastores,
    engine: &Engine,
) -> Result<Vec<String>> {
    let mut why = Vec::new();
    why.extend(crate::compare::spec_difference(&want.portable_properties(), &have.portable_properties()));
    match (&parsed.content, have.location().is_some()) {
        (None, false) => {}
        (None, true) | (Some(_), false) => why.push("one has files, the other has none".into()),
        (Some(ContentRef::Datastore { uri, .. }), true) => {
            let norm = |s: &str| s.trim_end_matches('/').to_ascii_lowercase();
            if norm(uri) != norm(have.location().unwrap_or_default()) {
                why.push(format!("its files are at {}", crate::redact::url_str(have.location().unwrap_or_default())));
            }
        }
        (Some(ContentRef::Local { .. }), true) => {
            let lc = local.expect("local content read");
            let ours: Vec<(String, u64, String)> = lc
                .files
                .iter()
                .map(|(p, size, sha, _)| {
                    let rel = if lc.single_file {
                        p.as_str().to_string()
                    } else {
                        p.strip_prefix(&lc.leaf).unwrap_or(p.as_str()).to_string()
                    };
                    (rel, *size, sha.clone())
                })
                .collect();
            if !crate::compare::holds_files(&ours, have, ds, engine).await? {
                why.push("the files differ (names, sizes or sha256)".into());
            }
        }
    }
    Ok(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_and_counts() {
        let rows = vec![
            ListedItem {
                kind: Kind::Model,
                name: "a-long-model-name".into(),
                version: "1".into(),
                r#type: Some("custom_model".into()),
                image: None,
                stage: None,
                description: Some("first\nline".into()),
                location: None,
                properties: Value::Null,
            },
            ListedItem {
                kind: Kind::Model,
                name: "m".into(),
                version: "10".into(),
                r#type: Some("mlflow_model".into()),
                image: None,
                stage: Some("Production".into()),
                description: None,
                location: None,
                properties: Value::Null,
            },
        ];
        let t = list_table(Kind::Model, &rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "NAME               VERSION  TYPE          STAGE       DESCRIPTION");
        assert_eq!(lines[1], "a-long-model-name  1        custom_model  -           first line");
        assert_eq!(lines[2], "m                  10       mlflow_model  Production");
        assert_eq!(lines[3], "2 model versions");
    }
}
