//! `model|environment register`: read YAML → transfer (verified) into the default blob
//! datastore (or check a datastore path) → register. A version that exists already is
//! `unchanged` when it has the same specification and files, and refused otherwise.

use super::download::{file_out, FileOut};
use super::upload::{read_local, LocalContent};
use super::{Transfers, SCHEMA_VERSION};
use crate::assets::options::RegisterOptions;
use crate::assets::uri::ContentUri;
use crate::assets::yaml::{ContentRef, ParsedAsset};
use crate::assets::{self, AssetItem, Kind};
use crate::azureml::workspace_path;
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::storage::Store;
use crate::transfer::{Engine, Silent};
use crate::workspace::{blob_folder_url, Context, WorkspaceRef};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// What `model|environment register` did.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct RegisterReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["model register", "environment register"]))]
    pub command: String,
    pub workspace: String,
    /// the YAML given with -f
    pub file: String,
    #[schemars(extend("enum" = ["model", "environment"]))]
    pub kind: Kind,
    pub name: String,
    pub version: String,
    /// registered, or unchanged (the same version with the same content was there already)
    #[schemars(extend("enum" = ["registered", "unchanged"]))]
    pub status: &'static str,
    pub reason: String,
    /// content location, redacted
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// always present, may be empty
    pub warnings: Vec<String>,
    pub files: Vec<FileOut>,
}

/// `model|environment register`: the YAML `o.file` registered in `ws` (its local files
/// uploaded and verified first, under the target's lock). `parsed` is the YAML, read by the
/// caller before it connects.
pub async fn register(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, state_dir: Option<&Path>, parsed: &ParsedAsset, o: &RegisterOptions) -> Result<RegisterReport> {
    let what = format!("{} register", o.kind);
    let ds = Datastores::load(ctx, ws).await?;
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let label_file = o.file.display().to_string();

    // Local content first: its hashes name the upload folder and decide "unchanged".
    let local = match &parsed.content {
        Some(ContentRef::Local { path, field }) => Some(read_local(path, &o.file, field, &quiet).await?),
        _ => None,
    };
    let version = match o.version.clone().or_else(|| parsed.version.clone()) {
        Some(v) => v,
        None => next_version(ctx, ws, o.kind, &parsed.name).await?,
    };
    let label = format!("{} {}:{}", o.kind, parsed.name, version);
    let item = parsed.to_item(&version);

    // Already there?
    let vpath = format!("{}/{}/{}/versions/{}", workspace_path(ws), o.kind.segment(), assets::enc(&parsed.name), assets::enc(&version));
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
            container: Default::default(),
            content: None,
        };
        let why = differences(parsed, &item, &mut have, local.as_ref(), &ds, &quiet).await?;
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
        return Ok(report);
    }

    // The target's lock, before the first write (the upload).
    let guard = crate::guard::TargetGuard::take(ctx, state_dir, ws, &ds, &label_file).await?;
    // Content: upload local files (verified), or check a datastore path.
    let location = match (&parsed.content, &local) {
        (None, _) => None,
        (Some(ContentRef::Local { .. }), Some(lc)) => {
            let ds_name = match &parsed.datastore {
                Some(d) => d.clone(),
                None => ds.default_blob()?.name.clone(),
            };
            let dst = ds.open(&ds_name).await.map_err(|e| e.context(format!("{label_file}: datastore")))?;
            let fp = lc.fingerprint(&format!("register\n{}\n{}\n", o.kind, parsed.name));
            let content_path = format!("LocalUpload/{fp}/{}", lc.leaf);
            let dst_dyn: Arc<dyn Store> = dst.clone();
            let jobs = lc.upload_jobs(&dst_dyn, &format!("LocalUpload/{fp}"))?;
            let results = transfers.run(&o.engine, &jobs).await;
            let mut first_err = None;
            for (job, r) in jobs.iter().zip(results) {
                if let (Err(e), None) = (&r, &first_err) {
                    first_err = Some(e.clone().context(format!("{label}: uploading {}", job.src_path)));
                }
                let rel = job.src_path.as_str().to_string();
                report.files.push(file_out(rel, job, r));
            }
            if let Some(e) = first_err {
                let n = report.files.iter().filter(|f| f.error.is_some()).count();
                return Err(e.context(format!("{n} of {} files failed, nothing registered (rerun to resume)", report.files.len())));
            }
            Some(match o.kind {
                Kind::Model => ContentUri::datastore_uri(ws, &ds_name, &content_path),
                _ => blob_folder_url(ctx, dst.account(), dst.container(), &content_path),
            })
        }
        (Some(ContentRef::Datastore { uri, field }), _) => Some(check_datastore_path(ctx, ws, &ds, &item, uri, &o.file, field).await?),
        (Some(ContentRef::Local { .. }), None) => unreachable!("local content was read above"),
    };

    assets::register(&ctx.arm, ws, &item, &version, false, location.as_deref())
        .await
        .map_err(|e| e.context(format!("{label}: files verified, but registering failed")))?;
    report.reason = match &local {
        Some(_) => format!("{} files uploaded and verified (sha256), then registered", report.files.len()),
        None if location.is_some() => "registered with its files already in the workspace's datastore".into(),
        None => "registered (no files)".into(),
    };
    report.location = location.as_deref().map(crate::redact::url_str);
    guard.release().await;
    Ok(report)
}


/// The next free version number: the container's `nextVersion`, else one more than the
/// highest numeric version, else 1.
pub async fn next_version(ctx: &Context, ws: &WorkspaceRef, kind: Kind, name: &str) -> Result<String> {
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
            let store = ds.open(datastore).await.map_err(|e| e.context(&prefix))?;
            blob_folder_url(ctx, store.account(), store.container(), path)
        }
    };
    let mut probe = item.clone();
    probe.properties = item.properties_with_location(Some(&location));
    assets::resolve_content(&mut probe, ds).await.map_err(|e| match e {
        Error::Service(m) | Error::Conflict(m) | Error::NotFound(m) => Error::Usage(format!("{prefix}: {m}")),
        other => other.context(&prefix),
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
            let ours = lc.relative_files();
            if !crate::compare::holds_files(&ours, have, ds, engine).await? {
                why.push("the files differ (names, sizes or sha256)".into());
            }
        }
    }
    Ok(why)
}
