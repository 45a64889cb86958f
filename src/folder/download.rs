//! `model|environment download`: resolve content → transfer (verified) into a local folder →
//! `az ml` YAML beside the files.

use super::{create_dir, write_atomic, Transfers, SCHEMA_VERSION};
use crate::assets::options::DownloadOptions;
use crate::assets::yaml::{self, LocalNames};
use crate::assets::{self, AssetItem, Kind, Selection};
use crate::error::{Error, Result};
use crate::storage::datastore::Datastores;
use crate::storage::local::LocalStore;
use crate::storage::{Store, StorePath};
use crate::transfer::{FileDone, FileJob, Method};
use crate::workspace::{Context, WorkspaceRef};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// What `model|environment download` did.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(deny_unknown_fields)]
pub struct DownloadReport {
    #[schemars(schema_with = "super::version")]
    pub schema_version: u32,
    #[schemars(extend("enum" = ["model download", "environment download"]))]
    pub command: String,
    pub workspace: String,
    pub download_path: String,
    pub items: Vec<DownloadedItem>,
}

impl DownloadReport {
    /// Versions that failed (their files, or their YAML).
    pub fn failed(&self) -> usize {
        self.items.iter().filter(|i| i.error.is_some()).count()
    }
}

/// One file transferred, as reports list it (FileOut in src/folder/download.rs).
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "file", deny_unknown_fields)]
pub struct FileOut {
    pub path: String,
    pub size: u64,
    /// sha256 of the bytes, lowercase hex
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    pub source_uri: String,
    /// the file's destination (present even when the file failed)
    pub target_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// what confirmed the file's bytes independently of the reader's own hash (docs/json.md,
    /// "Checks"); at least one source-side check for every verified file
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub checks: Vec<crate::transfer::Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One version downloaded.
#[derive(Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, deny_unknown_fields)]
pub struct DownloadedItem {
    pub name: String,
    pub version: String,
    #[schemars(extend("enum" = ["downloaded", "failed"]))]
    pub status: &'static str,
    pub folder: String,
    /// path of the YAML written (absent when failed)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub yaml: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub files: Vec<FileOut>,
}

/// Where one version's files go, relative to its folder, and the names its YAML uses.
struct Placement {
    item: AssetItem,
    folder: PathBuf,
    /// Prefix inside the folder for the content (`""` for a single file, else the leaf folder).
    content_prefix: String,
    names: LocalNames,
}

/// `model|environment download`: the selected versions of `ws` as `az ml` folders under
/// `o.download_path` (files verified first, YAML after). A version whose files failed is
/// reported `failed` and gets no YAML.
pub async fn download(ctx: &Context, ws: &WorkspaceRef, transfers: &dyn Transfers, o: &DownloadOptions) -> Result<DownloadReport> {
    let sel = Selection { kinds: vec![o.kind], name: Some(o.name.clone()), latest_only: o.version.is_none() && !o.all_versions };
    let (mut items, ds) = futures::future::try_join(assets::list_versions(&ctx.arm, ws, &sel), Datastores::load(ctx, ws)).await?;
    items.retain(|i| i.name == o.name && o.version.as_ref().is_none_or(|v| &i.version == v));
    if items.is_empty() {
        let v = o.version.as_deref().map(|v| format!(" version {v}")).unwrap_or_default();
        return Err(Error::NotFound(format!("{} '{}'{v} does not exist in workspace {}", o.kind, o.name, ws.workspace_name)));
    }
    let mut placements = Vec::new();
    for mut item in items {
        let label = format!("{} {}:{}", item.kind, item.name, item.version);
        assets::resolve_content(&mut item, &ds).await.map_err(|e| e.context(&label))?;
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
    let results = transfers.run(&o.engine, &jobs).await;
    let mut files: Vec<Vec<FileOut>> = placements.iter().map(|_| Vec::new()).collect();
    for ((i, rel), (job, r)) in owner.into_iter().zip(jobs.iter().zip(results)) {
        files[i].push(file_out(rel, job, r));
    }

    let mut out = Vec::new();
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
                rec.status = "failed";
                rec.error = Some(e.to_string());
            }
        }
        rec.files = files;
        out.push(rec);
    }
    Ok(DownloadReport {
        schema_version: SCHEMA_VERSION,
        command: format!("{} download", o.kind),
        workspace: ws.arm_id(),
        download_path: o.download_path.display().to_string(),
        items: out,
    })
}

fn write_yaml_and_conda(p: &Placement) -> Result<PathBuf> {
    create_dir(&p.folder)?;
    if let (Some(name), Some(text)) = (&p.names.conda_file, p.item.properties.get("condaFile").and_then(Value::as_str)) {
        write_atomic(&p.folder.join(name), text.as_bytes())?;
    }
    let text = yaml::to_yaml(&p.item, &p.names)?;
    let path = p.folder.join(yaml::yaml_file_name(p.item.kind));
    write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

pub(crate) fn file_out(rel: String, job: &FileJob, r: Result<FileDone>) -> FileOut {
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
