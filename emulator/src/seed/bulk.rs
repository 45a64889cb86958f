//! Bulk seeding for benchmarks (`aml-emulator up --bulk N`): N asset versions in the primary
//! workspace, half of them also in the failover workspace, without N blob uploads.
//!
//! Layout (deterministic, so a benchmark knows what a plan must say):
//! - `N / 100` environment versions (at least one when N >= 100), the rest model versions, in
//!   containers of `per_container` versions (`bulk-env-000`, `bulk-model-000`, ... versions
//!   `1..=per_container`, the last container of a kind possibly shorter).
//! - Models point at one of [`MODEL_VARIANTS`] small contents on the primary's default blob
//!   datastore (`azureml://.../datastores/workspaceblobstore/paths/LocalUpload/<id>/...`): half of
//!   them a folder of three files, half one file. Odd environment versions have a build context
//!   (a folder with a Dockerfile, `https://<account>.blob.core.windows.net/...`), even ones only
//!   an image. A handful of blobs are shared by all versions; every version's content URI
//!   resolves to existing storage, so planning lists/HEADs storage as it does for any asset.
//! - Every even version also exists in the failover workspace: its content on the failover's
//!   storage as `aml-failover copy` leaves it (same paths and bytes, blob metadata `sha256` and
//!   `amlfailoversource` = the source tag of the file it was copied from), same properties
//!   apart from the content URI. So a plan skips it as identical without reading any file.
//! - Every version whose number is a multiple of 100 exists in the failover workspace but
//!   differs: in odd containers with files, one file has other bytes of the same size (metadata
//!   `sha256` of those bytes, no source tag: a plan reads the source file to compare); otherwise
//!   the description differs. A plan reports a conflict.
//!
//! Asset versions are created with the ARM handlers' own functions
//! ([`crate::resources::assets::put_container`], [`crate::resources::assets::put_version`]), so
//! the stored JSON is what the API would store. They run against a scratch copy of the state that
//! is not persisted, and the new containers are then moved into the real state in one write: the
//! store rewrites its whole JSON file on every write, which would make N writes quadratic.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{anyhow, Context};
use base64::Engine as _;
use serde::Serialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::arm::WorkspaceRef;
use crate::auth::{Auth, Principal};
use crate::faults::Faults;
use crate::routes::AssetKind;
use crate::server::App;
use crate::store::{name_of, Store};

/// Distinct model contents (even: a folder of three files, odd: one file).
pub const MODEL_VARIANTS: usize = 8;
/// Distinct environment build contexts.
pub const ENV_VARIANTS: usize = 2;
/// Blob metadata the tool records on a verified copy (aml-failover's `storage::SHA256_METADATA`
/// and `storage::SOURCE_METADATA`).
const SHA256_METADATA: &str = "sha256";
const SOURCE_METADATA: &str = "amlfailoversource";

#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Asset versions to create in the primary workspace.
    pub versions: usize,
    /// Versions per container (default 100).
    pub per_container: usize,
    /// The blob endpoint template the tool is pointed at (`http://127.0.0.1:P/{account}`,
    /// `AML_FAILOVER_BLOB_ENDPOINT`): the failover copies record source tags of the source
    /// files' URIs as the tool sees them.
    pub tool_blob_endpoint_template: String,
}

/// What a bulk seed created, and what a plan (`copy --dry-run`, default options) must decide.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkReport {
    pub versions: usize,
    pub models: usize,
    pub environments: usize,
    pub model_containers: usize,
    pub environment_containers: usize,
    /// Versions also registered in the failover workspace (identical + different).
    pub failover_versions: usize,
    /// Blobs uploaded (both accounts).
    pub blobs: usize,
    /// Expected plan actions for the N versions.
    pub expected: ExpectedPlan,
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ExpectedPlan {
    pub copy: usize,
    pub skip: usize,
    pub conflict: usize,
}

/// One file of a content variant.
struct VFile {
    rel: String,
    data: Vec<u8>,
}

/// A content variant uploaded once to the primary and (twice: faithful and tampered) to the failover.
struct Variant {
    /// Folder (or, for a single file, the file) path in the primary's default container.
    src_path: String,
    folder: bool,
    /// The faithful copy in the failover's default container.
    dst_path: String,
    /// The copy with one file changed (same size).
    bad_path: String,
}

/// Deterministic bytes: sha256 in counter mode.
fn bytes(seed: &str, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&Sha256::digest(format!("{seed}/{i}").as_bytes()));
        i += 1;
    }
    out.truncate(len);
    out
}

fn model_files(j: usize) -> (bool, Vec<VFile>) {
    if j.is_multiple_of(2) {
        let mlmodel = format!("artifact_path: model\nflavors:\n  python_function:\n    loader_module: bulk\nmodel_uuid: bulk-{j}\n");
        (true, vec![
            VFile { rel: "MLmodel".into(), data: mlmodel.into_bytes() },
            VFile { rel: "conda.yaml".into(), data: b"name: bulk\ndependencies:\n  - python=3.10\n".to_vec() },
            VFile { rel: "model.pkl".into(), data: bytes(&format!("model-{j}"), 1024 * (j + 1)) },
        ])
    } else {
        (false, vec![VFile { rel: "weights.bin".into(), data: bytes(&format!("weights-{j}"), 2048 * (j + 1)) }])
    }
}

fn env_files(j: usize) -> Vec<VFile> {
    vec![
        VFile { rel: "Dockerfile".into(), data: format!("FROM mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest\nRUN echo bulk-{j}\n").into_bytes() },
        VFile { rel: "requirements.txt".into(), data: format!("numpy==1.26.{j}\n").into_bytes() },
    ]
}

struct Uploader<'a> {
    http: reqwest::Client,
    endpoint: &'a str,
    uploaded: usize,
}

impl Uploader<'_> {
    /// Put Blob (Shared Key) with optional metadata; returns the ETag.
    async fn put(&mut self, account: &str, key_b64: &str, container: &str, blob: &str, data: &[u8], meta: &[(&str, String)]) -> anyhow::Result<String> {
        let key = azure_sharedkey::SharedKey::new(account, key_b64).map_err(|_| anyhow!("bad key of {account}"))?;
        let url = url::Url::parse(&format!("{}/{account}/{container}/{}", self.endpoint.trim_end_matches('/'), crate::blob::encode_path(blob)))?;
        let md5 = base64::engine::general_purpose::STANDARD.encode(<md5::Md5 as md5::Digest>::digest(data));
        let mut headers: Vec<(String, String)> = vec![
            ("x-ms-date".into(), crate::blob::httpdate_now()),
            ("x-ms-version".into(), crate::blob::X_MS_VERSION.into()),
            ("content-length".into(), data.len().to_string()),
            ("x-ms-blob-type".into(), "BlockBlob".into()),
            ("content-type".into(), "application/octet-stream".into()),
            ("content-md5".into(), md5),
        ];
        headers.extend(meta.iter().map(|(k, v)| (format!("x-ms-meta-{k}"), v.clone())));
        let auth = key.authorization("PUT", &url, headers.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut req = self.http.put(url).header("authorization", auth).body(data.to_vec());
        for (k, v) in &headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            anyhow::bail!("uploading {blob} to {account}/{container}: HTTP {status}: {}", resp.text().await.unwrap_or_default());
        }
        self.uploaded += 1;
        resp.headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| anyhow!("no ETag for {blob}"))
    }
}

/// aml-failover's `storage::source_tag`: the first 16 hex digits of sha256(URI), `-`, the ETag.
fn source_tag(uri: &str, etag: &str) -> String {
    let h = hex_lower(&Sha256::digest(uri.as_bytes()));
    format!("{}-{}", &h[..16], etag.trim_matches('"'))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Ws {
    r: WorkspaceRef,
    account: String,
    key: String,
    container: String,
}

fn ws_of(app: &App, arm_id: &str) -> anyhow::Result<Ws> {
    let r = WorkspaceRef::parse(arm_id).ok_or_else(|| anyhow!("not a workspace ARM id: {arm_id}"))?;
    let (account, key, container) = app
        .store
        .read(|s| s.workspace(&r.key()).map(|w| (w.storage_account.clone(), w.storage_key.clone(), w.default_container())))
        .ok_or_else(|| anyhow!("workspace {arm_id} does not exist in the emulator"))?;
    Ok(Ws { r, account, key, container })
}

impl Ws {
    fn datastore_uri(&self, path: &str, folder: bool) -> String {
        format!(
            "azureml://subscriptions/{}/resourcegroups/{}/workspaces/{}/datastores/workspaceblobstore/paths/{path}{}",
            self.r.subscription_id, self.r.resource_group, self.r.name, if folder { "/" } else { "" }
        )
    }
    fn https_uri(&self, path: &str) -> String {
        format!("https://{}.blob.core.windows.net/{}/{path}/", self.account, self.container)
    }
}

/// Uploads a variant: the source files to the primary, a faithful copy (sha256 + source tag) and a
/// tampered copy (the last file's bytes changed, same size; sha256 of those bytes) to the failover.
async fn upload_variant(up: &mut Uploader<'_>, p: &Ws, f: &Ws, tool_template: &str, label: &str, folder: bool, files: &[VFile]) -> anyhow::Result<Variant> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let src_root = format!("LocalUpload/{id}/{label}");
    let fp = hex_lower(&Sha256::digest(format!("bulk\n{id}").as_bytes()))[..32].to_string();
    let dst_root = if folder { format!("LocalUpload/{fp}/{label}") } else { format!("LocalUpload/{fp}") };
    let bad_root = format!("LocalUpload/{fp}-different/{label}");
    let tool_src_base = url::Url::parse(&tool_template.replace("{account}", &p.account)).context("tool blob endpoint")?;
    for (i, file) in files.iter().enumerate() {
        let src_blob = format!("{src_root}/{}", file.rel);
        let etag = up.put(&p.account, &p.key, &p.container, &src_blob, &file.data, &[]).await?;
        let mut src_url = tool_src_base.clone();
        {
            let mut segs = src_url.path_segments_mut().map_err(|_| anyhow!("tool blob endpoint cannot take a path"))?;
            segs.pop_if_empty().push(&p.container);
            for part in src_blob.split('/') {
                segs.push(part);
            }
        }
        let sha = hex_lower(&Sha256::digest(&file.data));
        let meta = [(SHA256_METADATA, sha), (SOURCE_METADATA, source_tag(src_url.as_str(), &etag))];
        up.put(&f.account, &f.key, &f.container, &format!("{dst_root}/{}", file.rel), &file.data, &meta).await?;
        let mut data = file.data.clone();
        if i == files.len() - 1 {
            for b in data.iter_mut() {
                *b ^= 0x5a;
            }
        }
        let bad_sha = hex_lower(&Sha256::digest(&data));
        up.put(&f.account, &f.key, &f.container, &format!("{bad_root}/{}", file.rel), &data, &[(SHA256_METADATA, bad_sha)]).await?;
    }
    let single = |root: &str| if folder { root.to_string() } else { format!("{root}/{}", files[0].rel) };
    Ok(Variant { src_path: single(&src_root), folder, dst_path: single(&dst_root), bad_path: single(&bad_root) })
}

/// Creates the bulk versions in the primary (`primary_arm_id`) and failover (`failover_arm_id`)
/// workspaces of a running emulator. Meant for a bed nobody uses yet (`up`, before the bed is
/// announced): containers named `bulk-*` are replaced wholesale.
pub async fn seed_bulk(app: &App, primary_arm_id: &str, failover_arm_id: &str, opts: &BulkOptions) -> anyhow::Result<BulkReport> {
    let started = Instant::now();
    let per = opts.per_container.max(1);
    let p = ws_of(app, primary_arm_id)?;
    let f = ws_of(app, failover_arm_id)?;
    let blob = app.blob.as_ref().ok_or_else(|| anyhow!("bulk seeding needs a blob endpoint (Azurite)"))?;
    let mut up = Uploader {
        http: reqwest::Client::builder().timeout(std::time::Duration::from_secs(60)).build()?,
        endpoint: blob.endpoint(),
        uploaded: 0,
    };
    let environments = if opts.versions >= 100 { opts.versions / 100 } else { 0 };
    let models = opts.versions - environments;

    let mut model_variants = Vec::new();
    for j in 0..MODEL_VARIANTS {
        let (folder, files) = model_files(j);
        let label = if folder { format!("bulk-model-content-{j}") } else { format!("w{j}") };
        model_variants.push(upload_variant(&mut up, &p, &f, &opts.tool_blob_endpoint_template, &label, folder, &files).await?);
    }
    let mut env_variants = Vec::new();
    for j in 0..ENV_VARIANTS.min(environments) {
        env_variants.push(upload_variant(&mut up, &p, &f, &opts.tool_blob_endpoint_template, &format!("bulk-env-context-{j}"), true, &env_files(j)).await?);
    }

    // A scratch app on a copy of the state, not persisted: the ARM handlers' create functions
    // run against it, then the new containers move into the real state in one write.
    let snapshot = app.store.read(|s| s.clone());
    let scratch = App {
        config: app.config.clone(),
        store: Store::open(None)?,
        faults: Faults::default(),
        auth: Auth::new(app.auth.static_token().to_string(), Vec::new(), app.base_url.clone()),
        blob: None,
        base_url: app.base_url.clone(),
    };
    scratch.store.write(|s| {
        *s = snapshot;
        Ok::<_, std::convert::Infallible>(())
    })?;
    let principal = Principal { name: "bulk-seed@aml-emulator".into(), kind: "User" };
    let put_container = |ws: &WorkspaceRef, kind: AssetKind, name: &str, props: &Value| -> anyhow::Result<()> {
        let body = json!({ "properties": props }).to_string();
        crate::resources::assets::put_container(&scratch, ws, kind, name, body.as_bytes(), &principal)
            .map_err(|e| anyhow!("{} {name}: {} {}", kind.segment, e.code, e.message))?;
        Ok(())
    };
    let put_version = |ws: &WorkspaceRef, kind: AssetKind, name: &str, version: &str, props: Map<String, Value>| -> anyhow::Result<()> {
        let body = json!({ "properties": props }).to_string();
        crate::resources::assets::put_version(&scratch, ws, kind, name, version, body.as_bytes(), &principal)
            .map_err(|e| anyhow!("{} {name}:{version}: {} {}", kind.segment, e.code, e.message))?;
        Ok(())
    };

    let mut report = BulkReport { versions: opts.versions, models, environments, ..Default::default() };
    let mut created: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for (segment, count) in [("environments", environments), ("models", models)] {
        let kind = AssetKind::by_segment(segment).expect("kind");
        let containers = count.div_ceil(per);
        let short = if segment == "models" { "model" } else { "env" };
        for c in 0..containers {
            let name = format!("bulk-{short}-{c:03}");
            let n = per.min(count - c * per);
            let cprops = json!({"description": format!("Bulk benchmark {short} {c}"), "tags": {"bulk": "true"}});
            put_container(&p.r, kind, &name, &cprops)?;
            let mut in_failover = false;
            for v in 1..=n {
                let version = v.to_string();
                let mut props = Map::new();
                props.insert("description".into(), json!(format!("{name} version {v}")));
                props.insert("tags".into(), json!({"bulk": "true", "container": c.to_string()}));
                props.insert("properties".into(), json!({}));
                // The source location and, for the failover, (faithful, different) locations.
                let (variant, pointer): (Option<&Variant>, &str) = if segment == "models" {
                    (Some(&model_variants[(c + v) % MODEL_VARIANTS]), "modelUri")
                } else if v % 2 == 1 && !env_variants.is_empty() {
                    (Some(&env_variants[(c + v) % env_variants.len()]), "contextUri")
                } else {
                    (None, "")
                };
                if segment == "models" {
                    props.insert("modelType".into(), json!("custom_model"));
                } else {
                    props.insert("image".into(), json!("mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu22.04:latest"));
                    props.insert("osType".into(), json!("Linux"));
                }
                // A folder's modelUri ends with `/` in the primary (as `up --seed` registers
                // folders) and not in the failover (as `aml-failover copy` registers them).
                let with_location = |path: Option<&str>, ws: &Ws| -> Map<String, Value> {
                    let mut q = props.clone();
                    if let (Some(var), Some(path)) = (variant, path) {
                        if pointer == "modelUri" {
                            q.insert("modelUri".into(), json!(ws.datastore_uri(path, var.folder && ws.r.name == p.r.name)));
                        } else {
                            q.remove("image");
                            q.insert("build".into(), json!({"contextUri": ws.https_uri(path), "dockerfilePath": "Dockerfile"}));
                        }
                    }
                    q
                };
                put_version(&p.r, kind, &name, &version, with_location(variant.map(|x| x.src_path.as_str()), &p))?;
                if !v.is_multiple_of(2) {
                    report.expected.copy += 1;
                    continue;
                }
                if !in_failover {
                    put_container(&f.r, kind, &name, &cprops)?;
                    in_failover = true;
                }
                report.failover_versions += 1;
                let differs = v.is_multiple_of(100);
                let mut fprops = if differs && variant.is_some() && c % 2 == 1 {
                    with_location(variant.map(|x| x.bad_path.as_str()), &f)
                } else {
                    with_location(variant.map(|x| x.dst_path.as_str()), &f)
                };
                if differs {
                    report.expected.conflict += 1;
                    if !(variant.is_some() && c % 2 == 1) {
                        fprops.insert("description".into(), json!(format!("{name} version {v}, changed in the failover workspace")));
                    }
                } else {
                    report.expected.skip += 1;
                }
                put_version(&f.r, kind, &name, &version, fprops)?;
            }
            created.entry(segment).or_default().push(name);
            if segment == "models" {
                report.model_containers += 1;
            } else {
                report.environment_containers += 1;
            }
        }
    }

    // Move the bulk containers into the real state: one write, one persist.
    let moved = scratch.store.read(|s| {
        [&p.r, &f.r]
            .into_iter()
            .map(|ws| {
                let w = s.workspace(&ws.key()).expect("workspace in the scratch state");
                let mut by_kind = Vec::new();
                for (segment, names) in &created {
                    let list: Vec<_> = w.assets.get(*segment).map(|l| l.iter().filter(|c| names.iter().any(|n| n == name_of(&c.resource))).cloned().collect()).unwrap_or_default();
                    by_kind.push((*segment, list));
                }
                (ws.key(), by_kind)
            })
            .collect::<Vec<_>>()
    });
    app.store.write(|s| {
        for (key, by_kind) in moved {
            let w = s.workspace_mut(&key).ok_or_else(|| anyhow!("workspace {key} vanished"))?;
            for (segment, list) in by_kind {
                let target = w.assets.entry(segment.to_string()).or_default();
                target.retain(|c| !list.iter().any(|n| name_of(&n.resource).eq_ignore_ascii_case(name_of(&c.resource))));
                target.extend(list);
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    report.blobs = up.uploaded;
    report.seconds = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    tracing::info!(versions = report.versions, seconds = report.seconds, "bulk-seeded {primary_arm_id}");
    Ok(report)
}
