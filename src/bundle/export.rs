//! `snapshot export`: what an export holds (the selection and everything it references), the
//! sha256 of each file, the objects the bundle lacks, then the manifest.

use super::{chain_text, note_latest, open_bundle, ExportOptions, Key, SCHEMA_VERSION};
use crate::assets::refs::ws_id;
use crate::assets::graph;
use crate::assets::yaml::{self, LocalNames};
use crate::assets::{self, data, pipeline, AssetItem, Kind, Selection};
use crate::error::Result;
use crate::settings::Settings;
use crate::bundle::manifest::{self as bundle, BundleAsset, BundleContent, BundleFile, BundleJob, Manifest};
use crate::storage::datastore::Datastores;
use crate::transfer::{Engine, FileJob, Method, Silent};
use crate::workspace::{Context, WorkspaceRef};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

/// What an export holds: the selected items and everything they reference.
struct Picked {
    /// Pipeline jobs appear as their definition component.
    items: Vec<AssetItem>,
    /// The job of each definition.
    jobs: HashMap<Key, BundleJob>,
    /// Items that cannot be exported, and why.
    errors: HashMap<Key, String>,
    /// Pipeline jobs that cannot be kept as a definition: (job, why).
    refused: Vec<(String, String)>,
    /// Jobs without a definition form (AutoML, spark): not in a snapshot, and why.
    skipped: Vec<(String, String)>,
}

/// Picks what an export of `kinds` (names matching `name`) holds, from every listed version of
/// the kinds they need (`listed`) and the pipeline jobs (`jobs`, already filtered by name).
fn pick(from: &WorkspaceRef, kinds: &[Kind], name: Option<&str>, listed: Vec<AssetItem>, jobs: Vec<AssetItem>) -> Picked {
    let pattern = assets::NamePattern::new(name);
    let name_ok = |n: &str| pattern.matches(n);
    let mut latest = HashMap::new();
    for i in &listed {
        note_latest(&mut latest, i.kind, &i.name, &i.version, &i.container);
    }
    let mut index: BTreeMap<Key, AssetItem> = BTreeMap::new();
    let mut roots: Vec<Key> = Vec::new();
    for i in listed {
        if kinds.contains(&i.kind) && name_ok(&i.name) {
            roots.push(i.key());
        }
        index.insert(i.key(), i);
    }
    let mut job_of: HashMap<Key, BundleJob> = HashMap::new();
    let mut refused = Vec::new();
    // Jobs a snapshot cannot hold (no definition form): listed as skipped, with why.
    let mut skipped = Vec::new();
    for j in jobs.into_iter().filter(|j| kinds.contains(&Kind::Job) && j.kind == Kind::Job) {
        let key = (Kind::Component, pipeline::definition_name(&j.name), "1".to_string());
        if let Some(why) = pipeline::no_definition(&j.properties) {
            skipped.push((j.name, why.replace("--submit recreates it in the target (a new run)", "copy --submit recreates it from the workspace")));
            continue;
        }
        if let Some(other) = job_of.get(&key) {
            refused.push((j.name, format!("its definition would be component {}:1, as the definition of job {}", key.1, other.name)));
            continue;
        }
        if let Some(existing) = index.get(&key) {
            if existing.properties.pointer("/properties/aml-failover.sourceJob").is_some() {
                // The source already holds this job's definition (a workspace failed over
                // into): that component is the pipeline's entry, as `copy` sends it.
                if !roots.contains(&key) {
                    roots.push(key);
                }
            } else {
                refused.push((j.name, format!("its definition would be component {}:1, which the source workspace has as another component", key.1)));
            }
            continue;
        }
        let job = pipeline::portable_job(&j.properties);
        let Some(props) = pipeline::definition(&j.name, &format!("{}/jobs/{}", from.arm_id(), j.name), &job) else { continue };
        let container = json!({"description": props.get("description").cloned().unwrap_or(Value::Null)});
        index.insert(key.clone(), AssetItem { kind: Kind::Component, name: key.1.clone(), version: "1".into(), properties: props, container: container.into(), content: None });
        job_of.insert(key.clone(), BundleJob { name: j.name, properties: job });
        roots.push(key);
    }
    let src = ws_id(from);
    let edges = crate::assets::refs::edges_of(
        index.iter().map(|(k, i)| match job_of.get(k) {
            Some(j) => (k.clone(), Kind::Job, &j.properties),
            None => (k.clone(), i.kind, &i.properties),
        }),
        &src,
        &latest,
    );
    let jobname = |k: &Key| job_of.get(k).map(|j| j.name.clone());
    let mut errors = HashMap::new();
    for r in &roots {
        if let Some(chain) = graph::chain_to(r, &edges, &|k: &Key| !index.contains_key(k)) {
            errors.insert(r.clone(), format!("{}; not exported (a snapshot holds what its assets reference)", chain_text(&chain, "missing in the source workspace", &jobname)));
        }
    }
    let items = graph::closure(&roots, &edges).into_iter().filter_map(|k| index.remove(&k)).collect();
    Picked { items, jobs: job_of, errors, refused, skipped }
}


// ---------------------------------------------------------------------------------------
// export

fn version(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    crate::wire::version_schema(super::SCHEMA_VERSION)
}

/// id of the snapshot written; null when an asset failed (no manifest published)
fn snapshot_written(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"anyOf": [
        {"type": "string", "pattern": r"^[0-9]{8}T[0-9]{6}\.[0-9]{3}Z$",
         "description": "snapshot id: the export's UTC time, YYYYMMDDTHHMMSS.mmmZ (sorts by age)"},
        {"type": "null"}],
        "description": "id of the snapshot written; null when an asset failed (no manifest published)"})
}

/// What `snapshot export` did: the document `-o json` prints. Tolerant of added fields.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = true))]
pub struct ExportReport {
    #[schemars(schema_with = "version")]
    pub schema_version: u32,
    #[schemars(extend("const" = "snapshot export"))]
    pub command: &'static str,
    /// ARM id of --from
    pub source: String,
    /// the bundle: local directory or redacted blob URL
    pub bundle: String,
    // The snapshot written; `None` when an item failed (no manifest is written then).
    #[schemars(schema_with = "snapshot_written")]
    pub snapshot: Option<String>,
    pub duration_ms: u64,
    pub summary: ExportSummary,
    pub items: Vec<ExportedItem>,
    /// The estate definitions kept in the snapshot (never a secret).
    pub definitions: usize,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct ExportSummary {
    /// asset versions exported
    pub assets: usize,
    /// asset versions that failed
    pub failed: usize,
    /// files over all assets
    pub files: usize,
    /// distinct sha256 over all files
    pub objects: usize,
    /// objects written to the bundle in this run
    pub objects_written: usize,
    pub bytes_written: u64,
    /// files hashed by reading them (the others' sha256 was known: recorded on the blob or
    /// known from a snapshot)
    pub files_read: usize,
}

/// One asset version of an export.
#[derive(Debug, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(inline, extend("additionalProperties" = true))]
pub struct ExportedItem {
    /// component: a component, or a job's definition (then `job` names the job); data: its
    /// specification and YAML only; job: only for a job that has no definition (skipped:
    /// AutoML, spark) or failed before it became one
    pub kind: Kind,
    pub name: String,
    pub version: String,
    #[schemars(extend("enum" = ["exported", "failed", "skipped"]))]
    pub status: &'static str,
    pub files: usize,
    pub bytes: u64,
    /// a pipeline job's definition (a pipeline component named after the job, version 1): the
    /// job's name
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `az ml` YAML kept for a version: a component's specification, a data asset's YAML to
/// re-register it with the path it had, the YAML `download` writes for the others.
fn asset_yaml(item: &AssetItem, names: &LocalNames) -> Option<String> {
    match item.kind {
        Kind::Data => Some(data::yaml(item)),
        Kind::Component | Kind::Job => item.properties.get("componentSpec").and_then(|s| serde_norway::to_string(s).ok()),
        _ => yaml::to_yaml(item, names).ok(),
    }
}


/// Exports `from` into the bundle `o.bundle`: the objects it lacks, then the manifest (none when
/// anything failed). Transfers show the printer's progress; nothing is printed.
pub async fn export(s: &Settings, from: &WorkspaceRef, o: &ExportOptions) -> Result<ExportReport> {
    let started = std::time::Instant::now();
    let from = from.clone();
    let ctx = Context::connect(&s.connect)?;
    let bundle = open_bundle(Some(&ctx), &o.bundle)?;
    // Components and pipelines need what they reference, whatever its name: list all of it.
    let with_refs = o.kinds.iter().any(|k| matches!(k, Kind::Component | Kind::Job));
    let sel = match with_refs {
        true => Selection { kinds: graph::needed_kinds(&o.kinds), name: None, latest_only: false },
        false => Selection { kinds: o.kinds.clone(), name: o.name.clone(), latest_only: false },
    };
    let (listed, ds) = futures::future::try_join(assets::list_versions(&ctx.arm, &from, &sel), Datastores::load(&ctx, &from)).await?;
    let jobs = if o.kinds.contains(&Kind::Job) { pipeline::list(&ctx.arm, &from, o.name.as_deref()).await? } else { Vec::new() };
    let defs = match o.definitions.is_empty() {
        true => Vec::new(),
        false => crate::estate::source_definitions(&ctx.arm, &from, &o.definitions, o.name.as_deref()).await?,
    };
    let definitions = defs.iter().map(|d| bundle::BundleDefinition::of(d, &from)).collect::<Result<Vec<_>>>()?;
    let Picked { mut items, jobs: job_of, errors: pick_errors, refused, skipped } = pick(&from, &o.kinds, o.name.as_deref(), listed, jobs);
    items.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)).then_with(|| assets::version_order(&a.version, &b.version)));

    // What the bundle already knows: stored objects, and the sha256 of source versions read before.
    let ids = bundle.snapshot_ids().await?;
    let mut known: HashMap<String, (String, u64)> = HashMap::new();
    if let Some(last) = ids.last() {
        let m = bundle.read_manifest(last).await?;
        for f in m.assets.iter().filter_map(|a| a.content.as_ref()).flat_map(|c| c.files.iter()) {
            if let Some(t) = &f.source_tag {
                known.insert(t.clone(), (f.sha256.clone(), f.size));
            }
        }
    }
    let stored = bundle.objects().await?;

    // Resolve the files of every item that has some (never a data asset's) and find each file's sha256.
    let quiet = Engine::new(o.engine.clone(), Arc::new(Silent));
    let mut errors: Vec<Option<String>> = items.iter().map(|i| pick_errors.get(&i.key()).cloned()).collect();
    assets::index_contents(items.iter().zip(&errors).filter(|(i, e)| e.is_none() && bundle::is_file_kind(i.kind)).map(|(i, _)| i), &ds).await;
    for (i, item) in items.iter_mut().enumerate() {
        if errors[i].is_some() || !bundle::is_file_kind(item.kind) {
            continue;
        }
        if let Err(e) = assets::resolve_content(item, &ds).await {
            errors[i] = Some(format!("cannot read its files: {e}"));
        }
    }
    struct Need {
        item: usize,
        file: usize,
    }
    let mut shas: Vec<Vec<Option<String>>> = items.iter().map(|i| vec![None; i.content.as_ref().map_or(0, |c| c.files.len())]).collect();
    let mut tags: Vec<Vec<Option<String>>> = shas.clone();
    let mut needs = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(c) = &item.content else { continue };
        for (j, f) in c.files.iter().enumerate() {
            let tag = crate::storage::source_tag(&c.store.uri(&f.meta.path), f.meta.etag.as_deref());
            tags[i][j] = tag.clone();
            if let Some(h) = &f.meta.sha256 {
                shas[i][j] = Some(h.clone());
            } else if let Some((h, _)) = tag.as_ref().and_then(|t| known.get(t)).filter(|(_, size)| *size == f.meta.size) {
                shas[i][j] = Some(h.clone());
            } else {
                needs.push(Need { item: i, file: j });
            }
        }
    }
    let digests: Vec<(usize, usize, Result<String>)> = futures::stream::iter(needs.iter().map(|n| {
        let c = items[n.item].content.as_ref().expect("has content");
        let f = &c.files[n.file];
        let (store, path, size, quiet) = (Arc::clone(&c.store), f.meta.path.clone(), f.meta.size, &quiet);
        async move { (n.item, n.file, quiet.digest(&*store, &path, size, false).await.map(|d| d.sha256)) }
    }))
    .buffer_unordered(o.engine.concurrency.max(1))
    .collect()
    .await;
    for (i, j, r) in digests {
        match r {
            Ok(h) => shas[i][j] = Some(h),
            Err(e) => {
                let c = items[i].content.as_ref().expect("has content");
                errors[i].get_or_insert(format!("cannot read {}: {e}", c.files[j].rel));
            }
        }
    }

    // Copy every sha256 the bundle lacks, once.
    let mut jobs = Vec::new();
    let mut job_sha = Vec::new();
    let mut queued = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let Some(c) = &item.content else { continue };
        if errors[i].is_some() {
            continue;
        }
        for (j, f) in c.files.iter().enumerate() {
            let sha = shas[i][j].clone().expect("hashed");
            if stored.get(&sha) == Some(&f.meta.size) || !queued.insert(sha.clone()) {
                continue;
            }
            jobs.push(FileJob {
                src: Arc::clone(&c.store),
                src_path: f.meta.path.clone(),
                dst: Arc::clone(&bundle.store),
                dst_path: bundle.object_path(&sha)?,
                size: f.meta.size,
                expected_sha256: Some(sha.clone()),
                src_md5: f.meta.content_md5,
                src_tag: tags[i][j].clone(),
                src_etag: f.meta.etag.clone(),
            });
            job_sha.push(sha);
        }
    }
    let results = crate::execute::transfer(&o.engine, s.printer.show_progress(), None, &jobs).await;
    let mut failed_sha: HashMap<String, String> = HashMap::new();
    let mut written = 0usize;
    let mut written_bytes = 0u64;
    for ((sha, job), r) in job_sha.iter().zip(&jobs).zip(results) {
        match r {
            Ok(d) => {
                if d.method != Method::AlreadyPresent {
                    written += 1;
                    written_bytes += d.size;
                }
            }
            Err(e) => {
                failed_sha.insert(sha.clone(), format!("{}: {e}", job.src.uri(&job.src_path)));
            }
        }
    }

    // The manifest: every asset, or none when anything failed.
    let mut out = Vec::new();
    let mut assets_out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut err = errors[i].clone();
        let mut content = None;
        if let (Some(c), None) = (&item.content, &err) {
            let files: Vec<BundleFile> = c
                .files
                .iter()
                .enumerate()
                .map(|(j, f)| BundleFile { path: f.rel.clone(), size: f.meta.size, sha256: shas[i][j].clone().expect("hashed"), source_tag: tags[i][j].clone() })
                .collect();
            if let Some(e) = files.iter().find_map(|f| failed_sha.get(&f.sha256)) {
                err = Some(e.clone());
            }
            let leaf = if c.single_file {
                c.files[0].rel.clone()
            } else {
                c.base.trim_end_matches('/').rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or(default_leaf(item.kind)).to_string()
            };
            content = Some(BundleContent { single_file: c.single_file, leaf, files });
        }
        let job = job_of.get(&item.key()).cloned();
        out.push(ExportedItem {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            status: if err.is_some() { "failed" } else { "exported" },
            files: content.as_ref().map_or(0, |c| c.files.len()),
            bytes: item.total_bytes(),
            job: job.as_ref().map(|j| j.name.clone()),
            error: err,
        });
        let names = LocalNames { content: content.as_ref().map(|c| c.leaf.clone()), conda_file: None };
        assets_out.push(BundleAsset {
            kind: item.kind,
            name: item.name.clone(),
            version: item.version.clone(),
            properties: item.properties.clone(),
            container: (*item.container).clone(),
            yaml: asset_yaml(item, &names),
            content,
            job,
            source: from.arm_id(),
        });
    }
    for (job, why) in refused {
        out.push(ExportedItem { kind: Kind::Job, name: job, version: "1".into(), status: "failed", files: 0, bytes: 0, job: None, error: Some(format!("{why}; not exported")) });
    }
    for (job, why) in skipped {
        out.push(ExportedItem { kind: Kind::Job, name: job, version: "1".into(), status: "skipped", files: 0, bytes: 0, job: None, error: Some(format!("{why}; not exported")) });
    }
    let failed = out.iter().filter(|i| i.status == "failed").count();
    let mut snapshot = None;
    if failed == 0 {
        let mut now = time::OffsetDateTime::now_utc();
        let mut id = bundle::snapshot_id(now);
        while bundle.manifest_exists(&id).await? || ids.last().is_some_and(|l| *l >= id) {
            now += time::Duration::milliseconds(1);
            id = bundle::snapshot_id(now);
        }
        let m = Manifest {
            schema_version: bundle::MANIFEST_SCHEMA_VERSION,
            id: id.clone(),
            created_at: now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
            source: from.arm_id(),
            kinds: o.kinds.clone(),
            assets: assets_out,
            definitions,
        };
        bundle.write_manifest(&m).await?;
        snapshot = Some(id);
    }
    let objects: BTreeSet<&String> = shas.iter().flatten().flatten().collect();
    Ok(ExportReport {
        schema_version: SCHEMA_VERSION,
        command: "snapshot export",
        source: from.arm_id(),
        bundle: bundle.describe(),
        snapshot,
        duration_ms: started.elapsed().as_millis() as u64,
        summary: ExportSummary {
            assets: out.len(),
            failed,
            files: shas.iter().map(Vec::len).sum::<usize>(),
            objects: objects.len(),
            objects_written: written,
            bytes_written: written_bytes,
            files_read: needs.len(),
        },
        items: out,
        definitions: defs.len(),
    })
}

fn default_leaf(kind: Kind) -> &'static str {
    match kind {
        Kind::Model => "model",
        Kind::Code => "code",
        _ => "build-context",
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    const WS: &str = "/subscriptions/s/resourceGroups/g/providers/Microsoft.MachineLearningServices/workspaces/primary";

    fn ws() -> WorkspaceRef {
        WorkspaceRef { subscription_id: "s".into(), resource_group: "g".into(), workspace_name: "primary".into() }
    }

    fn item(kind: Kind, name: &str, version: &str, properties: Value) -> AssetItem {
        AssetItem { kind, name: name.into(), version: version.into(), properties, container: Default::default(), content: None }
    }

    fn listed() -> Vec<AssetItem> {
        vec![
            item(Kind::Code, "c", "1", json!({"codeUri": "https://a.blob.core.windows.net/c/x"})),
            item(Kind::Environment, "e", "1", json!({"image": "python"})),
            item(Kind::Environment, "e", "2", json!({"image": "python"})),
            item(Kind::Component, "train", "1", json!({"componentSpec": {"code": format!("azureml:{WS}/codes/c/versions/1"), "environment": "azureml:e:1"}})),
            item(Kind::Component, "score", "1", json!({"componentSpec": {"environment": "azureml:e@latest"}})),
            item(Kind::Component, "broken", "1", json!({"componentSpec": {"code": format!("azureml:{WS}/codes/gone/versions/3")}})),
            item(Kind::Data, "d", "1", json!({"dataType": "uri_file", "dataUri": "https://x/y.csv"})),
            item(Kind::Model, "m", "1", json!({"modelUri": "azureml://datastores/x/paths/m"})),
        ]
    }

    fn job(name: &str) -> AssetItem {
        item(
            Kind::Job,
            name,
            "1",
            json!({"jobType": "Pipeline", "status": "Completed", "inputs": {"raw": {"jobInputType": "uri_file", "uri": "azureml:d:1"}},
                "jobs": {"train": {"component": format!("azureml:{WS}/components/train/versions/1")}, "score": {"component": "azureml:score@latest"}}}),
        )
    }

    fn keys(p: &Picked) -> BTreeSet<String> {
        p.items.iter().map(|i| format!("{}/{}:{}", i.kind, i.name, i.version)).collect()
    }

    #[test]
    fn an_export_holds_what_its_components_and_pipelines_reference() {
        // --kinds components --name train: its code and environment come along, nothing else.
        let p = pick(&ws(), &[Kind::Component], Some("train"), listed(), Vec::new());
        assert_eq!(keys(&p), ["code/c:1", "component/train:1", "environment/e:1"].map(String::from).into());
        assert!(p.errors.is_empty() && p.refused.is_empty());

        // A pipeline: kept as its definition (version 1, named after the job), with every
        // component, code, environment (latest: e:2) and data asset it references.
        let p = pick(&ws(), &[Kind::Job], None, listed(), vec![job("hello-pipe")]);
        assert_eq!(
            keys(&p),
            ["code/c:1", "component/hello_pipe:1", "component/score:1", "component/train:1", "data/d:1", "environment/e:1", "environment/e:2"].map(String::from).into()
        );
        let key = (Kind::Component, "hello_pipe".to_string(), "1".to_string());
        let def = p.items.iter().find(|i| i.key() == key).unwrap();
        assert_eq!(def.properties["componentSpec"]["type"], "pipeline");
        assert_eq!(def.properties["properties"]["aml-failover.sourceJob"], format!("{WS}/jobs/hello-pipe"));
        let j = &p.jobs[&key];
        assert_eq!(j.name, "hello-pipe");
        assert!(j.properties.get("status").is_none(), "run state is not kept: {}", j.properties);

        // A reference missing in the source fails the item, naming the chain.
        let p = pick(&ws(), &[Kind::Component], None, listed(), Vec::new());
        let e = &p.errors[&(Kind::Component, "broken".to_string(), "1".to_string())];
        assert_eq!(e.split(';').next().unwrap(), "component broken:1 → code gone:3 missing in the source workspace");
        assert_eq!(p.errors.len(), 1);

        // A job whose definition name is taken by another component is refused; a definition
        // the source already holds stands for its job.
        let mut l = listed();
        l.push(item(Kind::Component, "hello_pipe", "1", json!({"componentSpec": {}})));
        let p = pick(&ws(), &[Kind::Job], None, l.clone(), vec![job("hello-pipe")]);
        assert_eq!(p.refused.len(), 1, "{:?}", p.refused);
        l.last_mut().unwrap().properties = json!({"componentSpec": {"type": "pipeline"}, "properties": {"aml-failover.sourceJob": "x/jobs/hello-pipe"}});
        let p = pick(&ws(), &[Kind::Job], None, l, vec![job("hello-pipe")]);
        assert!(p.refused.is_empty() && p.jobs.is_empty());
        assert!(keys(&p).contains("component/hello_pipe:1"));
    }
}
