//! Definition kinds: workspace resources that are a definition only — no files, no versions —
//! copied by writing the same definition into the target: datastores, connections, computes,
//! online and batch endpoints and their deployments, schedules.
//!
//! What is common lives here, pure (no I/O, unit-tested): the [`DefKind`] table (ARM segment,
//! `az ml` YAML schema, `--kinds` names), a [`Definition`] as read from a workspace, the
//! table-driven `az ml` YAML <-> REST translation ([`Field`], [`to_yaml`], [`to_rest`]), the
//! form two definitions are compared in ([`compare`], through `crate::compare`), the target's
//! body ([`prepare`]: references rewritten, secrets never carried, per-kind options), and secret
//! placeholders. What differs per kind is in that kind's module (`datastore`, `connection`,
//! `compute`, `endpoint`, `schedule`).
//!
//! YAML policy (as for models and environments, `yaml.rs`): every REST field a kind's table
//! does not model is written under `extra_rest_fields` with its REST path, so nothing is lost on
//! the way through a folder; reading a YAML, an unknown key is an error naming the key (exit 2).

use super::refs::{Rewrite, Rewriter};
use super::spec::Comparison;
use crate::error::{Error, Result};
use crate::workspace::WorkspaceRef;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// A definition kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[schemars(inline)]
pub enum DefKind {
    Datastore,
    Connection,
    Compute,
    BatchEndpoint,
    BatchDeployment,
    OnlineEndpoint,
    OnlineDeployment,
    Schedule,
}

impl DefKind {
    /// In dependency order: what a later kind refers to comes first (deployments refer to
    /// computes and endpoints, schedules to computes, datastores and endpoints).
    pub const ALL: &'static [DefKind] = &[
        DefKind::Datastore,
        DefKind::Connection,
        DefKind::Compute,
        DefKind::BatchEndpoint,
        DefKind::BatchDeployment,
        DefKind::OnlineEndpoint,
        DefKind::OnlineDeployment,
        DefKind::Schedule,
    ];

    /// The ARM path segment (under the workspace, or under the endpoint for deployments).
    pub fn segment(self) -> &'static str {
        match self {
            DefKind::Datastore => "datastores",
            DefKind::Connection => "connections",
            DefKind::Compute => "computes",
            DefKind::BatchEndpoint => "batchEndpoints",
            DefKind::BatchDeployment => "deployments",
            DefKind::OnlineEndpoint => "onlineEndpoints",
            DefKind::OnlineDeployment => "deployments",
            DefKind::Schedule => "schedules",
        }
    }

    /// The endpoint kind a deployment lives under.
    pub fn parent(self) -> Option<DefKind> {
        match self {
            DefKind::BatchDeployment => Some(DefKind::BatchEndpoint),
            DefKind::OnlineDeployment => Some(DefKind::OnlineEndpoint),
            _ => None,
        }
    }

    /// The name `--kinds` takes (plural, as for the asset kinds).
    pub fn plural(self) -> &'static str {
        match self {
            DefKind::Datastore => "datastores",
            DefKind::Connection => "connections",
            DefKind::Compute => "computes",
            DefKind::BatchEndpoint => "batch-endpoints",
            DefKind::BatchDeployment => "batch-deployments",
            DefKind::OnlineEndpoint => "online-endpoints",
            DefKind::OnlineDeployment => "online-deployments",
            DefKind::Schedule => "schedules",
        }
    }

    /// A `--kinds` word: the plural, the singular, and `endpoints` for both endpoint kinds
    /// with their deployments.
    pub fn parse(word: &str) -> Option<Vec<DefKind>> {
        let w = word.trim().to_ascii_lowercase();
        if w == "endpoints" || w == "endpoint" {
            return Some(vec![DefKind::BatchEndpoint, DefKind::BatchDeployment, DefKind::OnlineEndpoint, DefKind::OnlineDeployment]);
        }
        DefKind::ALL.iter().find(|k| k.plural() == w || k.plural().trim_end_matches('s') == w).map(|k| vec![*k])
    }

    /// Whether the ARM resource is a tracked resource (has a location).
    pub fn tracked(self) -> bool {
        matches!(self, DefKind::Compute | DefKind::BatchEndpoint | DefKind::BatchDeployment | DefKind::OnlineEndpoint | DefKind::OnlineDeployment)
    }

    /// The `az ml` YAML file a definition of this kind is written to.
    pub fn yaml_file(self, name: &str) -> String {
        let stem = match self {
            DefKind::Datastore => "datastore",
            DefKind::Connection => "connection",
            DefKind::Compute => "compute",
            DefKind::BatchEndpoint | DefKind::OnlineEndpoint => "endpoint",
            DefKind::BatchDeployment | DefKind::OnlineDeployment => "deployment",
            DefKind::Schedule => "schedule",
        };
        format!("{stem}-{name}.yml")
    }
}

impl std::fmt::Display for DefKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DefKind::Datastore => "datastore",
            DefKind::Connection => "connection",
            DefKind::Compute => "compute",
            DefKind::BatchEndpoint => "batch endpoint",
            DefKind::BatchDeployment => "batch deployment",
            DefKind::OnlineEndpoint => "online endpoint",
            DefKind::OnlineDeployment => "online deployment",
            DefKind::Schedule => "schedule",
        })
    }
}

/// A definition as read from a workspace.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub kind: DefKind,
    pub name: String,
    /// The endpoint a deployment belongs to.
    pub endpoint: Option<String>,
    /// The ARM resource as the service returned it (`properties`, and for tracked resources
    /// `identity`, `sku`, `kind`, `tags`, `location`).
    pub resource: Value,
}

impl Definition {
    pub fn new(kind: DefKind, endpoint: Option<&str>, resource: Value) -> Definition {
        let name = resource.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        Definition { kind, name, endpoint: endpoint.map(str::to_string), resource }
    }

    /// `endpoint/deployment` for deployments, the name otherwise.
    pub fn display_name(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{e}/{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The ARM path below the workspace (`datastores/x`, `onlineEndpoints/e/deployments/d`).
    pub fn arm_path(&self, workspace_path: &str) -> String {
        let enc = super::enc;
        match (self.kind.parent(), &self.endpoint) {
            (Some(p), Some(e)) => format!("{workspace_path}/{}/{}/deployments/{}", p.segment(), enc(e), enc(&self.name)),
            _ => format!("{workspace_path}/{}/{}", self.kind.segment(), enc(&self.name)),
        }
    }

    pub fn properties(&self) -> &Value {
        self.resource.get("properties").unwrap_or(&Value::Null)
    }

    /// The definition as a PUT body: `properties` and the resource-level fields a definition
    /// has (`identity`, `sku`, `kind`, `tags`), without what the service sets.
    pub fn body(&self) -> Value {
        body_of(self.kind, &self.resource)
    }

    /// Whether writing it needs a secret (account key, SAS, service principal, connection key).
    pub fn needs_secrets(&self) -> bool {
        !secret_paths(self.kind, &self.body()).is_empty() || credential_kind_needs_secret(self.kind, self.properties())
    }
}

/// Resource-level fields a definition carries besides `properties`.
const RESOURCE_FIELDS: &[&str] = &["identity", "sku", "kind", "tags"];

/// Fields inside `identity` the service sets.
const IDENTITY_SERVICE_FIELDS: &[&str] = &["principalId", "tenantId"];

/// The PUT body of an ARM resource of `kind`: `properties` plus [`RESOURCE_FIELDS`]; service
/// fields and nulls dropped (the kind's own list in its module).
pub fn body_of(kind: DefKind, resource: &Value) -> Value {
    let mut out = Map::new();
    if let Some(p) = resource.get("properties") {
        out.insert("properties".into(), p.clone());
    }
    for k in RESOURCE_FIELDS {
        if let Some(v) = resource.get(*k).filter(|v| !v.is_null()) {
            out.insert((*k).to_string(), v.clone());
        }
    }
    let mut v = Value::Object(out);
    if let Some(Value::Object(id)) = v.get_mut("identity") {
        for k in IDENTITY_SERVICE_FIELDS {
            id.remove(*k);
        }
        if let Some(Value::Object(uai)) = id.get_mut("userAssignedIdentities") {
            for x in uai.values_mut() {
                *x = json!({});
            }
        }
    }
    for p in service_paths(kind) {
        remove_path(&mut v, p);
    }
    drop_service_state(&mut v);
    v
}

/// Per kind: REST paths (dotted, from the body) the service sets, never copied or compared.
fn service_paths(kind: DefKind) -> &'static [&'static str] {
    match kind {
        DefKind::Datastore => super::datastore::SERVICE_PATHS,
        DefKind::Connection => super::connection::SERVICE_PATHS,
        DefKind::Compute => super::compute::SERVICE_PATHS,
        DefKind::BatchEndpoint | DefKind::OnlineEndpoint => super::endpoint::ENDPOINT_SERVICE_PATHS,
        DefKind::BatchDeployment | DefKind::OnlineDeployment => super::endpoint::DEPLOYMENT_SERVICE_PATHS,
        DefKind::Schedule => super::schedule::SERVICE_PATHS,
    }
}

// ---------------------------------------------------------------------------------------
// Secrets

/// What a secret's place holds in any file the tool writes: never the secret.
pub const PLACEHOLDER: &str = "<secret: fill in before az ml create>";

/// Dotted paths (from the body) holding secrets, present in `body`.
pub fn secret_paths(kind: DefKind, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match kind {
        DefKind::Datastore => super::datastore::secret_paths(body, &mut out),
        DefKind::Connection => super::connection::secret_paths(body, &mut out),
        DefKind::Compute => super::compute::secret_paths(body, &mut out),
        // Dropped from every body already (service fields); kept in case a raw resource is given.
        DefKind::BatchEndpoint | DefKind::OnlineEndpoint if get_path(body, "properties.keys").is_some() => out.push("properties.keys".into()),
        _ => {}
    }
    out
}

/// Whether the definition's credentials type is one that needs a secret to create (even when
/// the listing left the secret out, as the service does).
fn credential_kind_needs_secret(kind: DefKind, props: &Value) -> bool {
    match kind {
        DefKind::Datastore => super::datastore::needs_secret(props),
        DefKind::Connection => super::connection::needs_secret(props),
        _ => false,
    }
}

/// `body` with every secret replaced by [`PLACEHOLDER`] (for anything written: YAML, reports).
pub fn redacted(kind: DefKind, body: &Value) -> Value {
    let mut v = body.clone();
    for p in secret_paths(kind, body) {
        if let Some(x) = get_path_mut(&mut v, &p) {
            *x = placeholder_like(x);
        }
    }
    v
}

fn placeholder_like(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.iter().map(|(k, x)| (k.clone(), placeholder_like(x))).collect()),
        _ => json!(PLACEHOLDER),
    }
}

// ---------------------------------------------------------------------------------------
// Copying: the target's body

/// How definitions are written into the target.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// `--with-secrets`: secret-bearing definitions are created with the source's secrets
    /// (read with `listSecrets`); otherwise they are manual steps.
    pub with_secrets: bool,
    /// `--keep-scale`: computes keep their minimum node count (default: 0).
    pub keep_scale: bool,
    /// `--subnet-map SRC=TGT`.
    pub subnet_map: Vec<(String, String)>,
    /// `--instance-count N` for online deployments.
    pub instance_count: Option<u64>,
    /// What schedules become in the target.
    pub schedules: ScheduleState,
    /// The target's region (tracked resources are created there).
    pub location: Option<String>,
}

/// A schedule's `isEnabled` in the target.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ScheduleState {
    /// Copied disabled (pre-staging into the failover workspace: jobs never run twice).
    #[default]
    Disabled,
    /// As in the source (`copy` back to the primary).
    AsSource,
    /// Enabled (failover).
    Enabled,
}

/// The target's definition and how it was derived.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub body: Value,
    /// References rewritten into the target workspace.
    pub rewrites: Vec<Rewrite>,
    /// Why it cannot be created by the tool (a secret not given, a subnet not mapped); the
    /// item becomes a manual step with its YAML written beside the report.
    pub manual: Option<String>,
}

/// The body to write into the target for `def`: service fields dropped, references into the
/// source rewritten, the kind's options applied; secrets are added only by [`with_secrets`].
pub fn prepare(def: &Definition, opts: &CopyOptions, rw: &Rewriter) -> Prepared {
    let mut body = def.body();
    let rewrites = rw.rewrite(&mut body);
    let mut manual = None;
    if def.needs_secrets() && !opts.with_secrets {
        manual = Some(format!(
            "{} {} uses a secret ({}); create it with its YAML after filling in the secret, or copy with --with-secrets",
            def.kind,
            def.name,
            credential_words(def)
        ));
    }
    if let (true, Some(loc)) = (def.kind.tracked(), &opts.location) {
        body["location"] = json!(loc);
    }
    match def.kind {
        DefKind::Compute => {
            if let Some(why) = super::compute::prepare(&mut body, opts) {
                manual = Some(format!("compute {}: {why}", def.name));
            }
        }
        DefKind::OnlineDeployment => super::endpoint::prepare_online_deployment(&mut body, opts),
        DefKind::Schedule => super::schedule::prepare(&mut body, opts.schedules),
        _ => {}
    }
    Prepared { body, rewrites, manual }
}

fn credential_words(def: &Definition) -> String {
    let p = def.properties();
    p.pointer("/credentials/credentialsType")
        .or_else(|| p.get("authType"))
        .and_then(Value::as_str)
        .unwrap_or("credentials")
        .to_string()
}

/// `body` with the secrets `listSecrets` gave for it, for the target's PUT only (never logged,
/// never written).
pub fn with_secrets(kind: DefKind, body: &Value, secrets: &Value) -> Value {
    let mut v = body.clone();
    match kind {
        DefKind::Datastore => super::datastore::insert_secrets(&mut v, secrets),
        DefKind::Connection => super::connection::insert_secrets(&mut v, secrets),
        _ => {}
    }
    v
}

// ---------------------------------------------------------------------------------------
// Comparison

/// How the target's definition compares with what the source's becomes in the target
/// (`want`: a [`prepare`]d body): through `crate::compare` (its normaliser drops what the service
/// sets), after the kind's own allowances (a schedule's `isEnabled`, a compute scaled to zero,
/// an online deployment's instance count, secrets).
pub fn compare(kind: DefKind, want: &Value, have: Option<&Value>) -> Comparison {
    let Some(have) = have else { return Comparison::Missing };
    let (mut a, mut b) = (body_of(kind, &json!({"properties": want.get("properties")})), body_of(kind, have));
    // Resource-level fields of `want` (body_of took only `properties` above).
    for k in RESOURCE_FIELDS {
        if let Some(v) = want.get(*k) {
            a[*k] = v.clone();
        }
    }
    for p in secret_paths(kind, &a).into_iter().chain(secret_paths(kind, &b)) {
        remove_path(&mut a, &p);
        remove_path(&mut b, &p);
    }
    match kind {
        DefKind::Schedule => {
            remove_path(&mut a, "properties.isEnabled");
            remove_path(&mut b, "properties.isEnabled");
        }
        DefKind::Compute => super::compute::comparable(&mut a, &mut b),
        DefKind::OnlineDeployment => {
            remove_path(&mut a, "sku.capacity");
            remove_path(&mut b, "sku.capacity");
        }
        _ => {}
    }
    super::spec::specs(&a, &b)
}

// ---------------------------------------------------------------------------------------
// az ml YAML <-> REST

/// How one field's value converts.
#[derive(Clone, Copy)]
pub enum Conv {
    Same,
    /// A closed set: (YAML, REST) spellings; other values pass verbatim.
    Enum(&'static [(&'static str, &'static str)]),
    /// An asset reference (`azureml:name:version` <-> ARM id) of the ARM segment given.
    Asset(&'static str),
    /// A compute (`azureml:name` or a name <-> ARM id).
    Compute,
    /// Seconds in YAML, an ISO 8601 duration in REST.
    Seconds,
    /// A kind's own conversion (YAML value -> REST value, REST value -> YAML value).
    Custom(fn(&Value, &Ctx) -> Value, fn(&Value, &Ctx) -> Value),
}

/// One modelled field: dotted YAML path, dotted REST path (from the body), conversion.
#[derive(Clone, Copy)]
pub struct Field {
    pub yaml: &'static str,
    pub rest: &'static str,
    pub conv: Conv,
}

pub const fn f(yaml: &'static str, rest: &'static str, conv: Conv) -> Field {
    Field { yaml, rest, conv }
}

/// The workspace references are expanded into (YAML -> REST) or shortened for (REST -> YAML).
pub struct Ctx<'a> {
    pub ws: Option<&'a WorkspaceRef>,
}

/// A REST body -> `az ml` YAML: `head` first (`$schema`, `name`, kind-specific keys), then
/// each modelled field, then what is left under `extra_rest_fields`. Secrets are never
/// written: their place holds [`PLACEHOLDER`].
pub fn to_yaml(kind: DefKind, head: Vec<(&str, Value)>, body: &Value, tables: &[&[Field]], ws: Option<&WorkspaceRef>) -> Value {
    let c = Ctx { ws };
    let mut rest = redacted(kind, body);
    let mut y = Value::Object(head.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
    for fl in tables.iter().flat_map(|t| t.iter()) {
        if let Some(v) = take_path(&mut rest, fl.rest) {
            if v.is_null() {
                continue;
            }
            let yv = match fl.conv {
                Conv::Same => v,
                Conv::Enum(t) => map_enum(t, &v, false),
                Conv::Asset(_) | Conv::Compute => short_ref(&v, ws),
                Conv::Seconds => from_iso(&v),
                Conv::Custom(_, to_y) => to_y(&v, &c),
            };
            if yv.is_null() {
                continue;
            }
            // Two REST fields may share a YAML object (a connection's `credentials.type`).
            match get_path_mut(&mut y, fl.yaml) {
                Some(have) if have.is_object() && yv.is_object() => merge(have, &yv),
                _ => set_path_value(&mut y, fl.yaml, yv),
            }
        }
    }
    drop_empty(&mut rest);
    if rest.as_object().is_some_and(|m| !m.is_empty()) {
        y["extra_rest_fields"] = rest;
    }
    y
}

/// `az ml` YAML -> `(name, REST body)`. `head` keys (already read by the kind) and the fields of
/// `tables` are taken; `extra_rest_fields` is merged back; any other key is an error naming it.
pub fn to_rest(kind: DefKind, file: &str, yaml: &Value, head: &[&str], tables: &[&[Field]], ws: Option<&WorkspaceRef>) -> Result<(String, Value)> {
    let c = Ctx { ws };
    let mut y = yaml.clone();
    if !y.is_object() {
        return Err(Error::usage(format!("{file}: expected a YAML mapping ({kind} definition)")));
    }
    let name = match take_path(&mut y, "name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        Some(_) => return Err(Error::usage(format!("{file}: name must be a non-empty string"))),
        None => return Err(Error::usage(format!("{file}: name is missing (every {kind} needs one)"))),
    };
    take_path(&mut y, "$schema");
    for h in head {
        take_path(&mut y, h);
    }
    let mut body = json!({});
    for fl in tables.iter().flat_map(|t| t.iter()) {
        if let Some(v) = take_path(&mut y, fl.yaml) {
            if v.is_null() {
                continue;
            }
            let rv = match fl.conv {
                Conv::Same => v,
                Conv::Enum(t) => map_enum(t, &v, true),
                Conv::Asset(seg) => long_ref(&v, seg, ws),
                Conv::Compute => long_ref(&v, "computes", ws),
                Conv::Seconds => to_iso(&v),
                Conv::Custom(to_r, _) => to_r(&v, &c),
            };
            set_path_value(&mut body, fl.rest, rv);
        }
    }
    if let Some(extra) = take_path(&mut y, "extra_rest_fields") {
        if !extra.is_object() {
            return Err(Error::usage(format!("{file}: extra_rest_fields must be a mapping of REST fields")));
        }
        merge(&mut body, &extra);
    }
    drop_empty(&mut y);
    if let Some(k) = first_leaf(&y) {
        let known: Vec<&str> = ["name"].iter().chain(head).copied().chain(tables.iter().flat_map(|t| t.iter()).map(|f| f.yaml)).collect();
        return Err(Error::usage(format!(
            "{file}: key '{k}' is not part of the az ml {kind} YAML that aml-failover writes (known: {}); remove it or move it under extra_rest_fields with its REST name; nothing was written",
            known.join(", ")
        )));
    }
    Ok((name, body))
}

fn first_leaf(v: &Value) -> Option<String> {
    let m = v.as_object()?;
    let (k, x) = m.iter().next()?;
    Some(match first_leaf(x) {
        Some(inner) if x.is_object() => format!("{k}.{inner}"),
        _ => k.clone(),
    })
}

pub fn map_enum(table: &[(&str, &str)], v: &Value, to_rest: bool) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    for (y, r) in table {
        if s.eq_ignore_ascii_case(y) || s.eq_ignore_ascii_case(r) {
            return json!(if to_rest { r } else { y });
        }
    }
    v.clone()
}

/// An ARM id into `ws` as `azureml:name:version` / `azureml:name`; other ARM ids as
/// `azureml:<id>`; anything else as is.
pub fn short_ref(v: &Value, ws: Option<&WorkspaceRef>) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    if let Some(p) = ws.and_then(|w| super::job::portable_ref(s, w)) {
        return json!(p);
    }
    if s.starts_with('/') {
        return json!(format!("azureml:{s}"));
    }
    v.clone()
}

/// `azureml:name:version` (segment `seg`) or a compute name into `ws` as an ARM id; an
/// `azureml:<ARM id>` as the id; anything else as is.
pub fn long_ref(v: &Value, seg: &str, ws: Option<&WorkspaceRef>) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    if s.starts_with("azureml://") {
        return v.clone();
    }
    let short = s.strip_prefix("azureml:").unwrap_or(s);
    if short.starts_with('/') {
        return json!(short);
    }
    let Some(ws) = ws else { return v.clone() };
    if short.contains('/') || short.is_empty() {
        return v.clone();
    }
    if seg == "computes" {
        return json!(format!("{}/computes/{short}", ws.arm_id()));
    }
    match short.split_once(':') {
        Some((n, ver)) if !n.is_empty() && !ver.is_empty() => json!(format!("{}/{seg}/{n}/versions/{ver}", ws.arm_id())),
        _ => v.clone(),
    }
}

/// Seconds -> `PT<n>S`; ISO durations pass.
pub fn to_iso(v: &Value) -> Value {
    match v {
        Value::Number(n) => json!(format!("PT{n}S")),
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => json!(format!("PT{s}S")),
        other => other.clone(),
    }
}

/// `PT1H30M5S` -> 5405 (whole seconds only; anything else passes).
pub fn from_iso(v: &Value) -> Value {
    let Some(s) = v.as_str() else { return v.clone() };
    let Some(t) = s.strip_prefix("PT") else { return v.clone() };
    let (mut total, mut num) = (0u64, String::new());
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let Ok(n) = num.parse::<u64>() else { return v.clone() };
        total += n * match c {
            'H' => 3600,
            'M' => 60,
            'S' => 1,
            _ => return v.clone(),
        };
        num.clear();
    }
    if !num.is_empty() {
        return v.clone();
    }
    json!(total)
}

// ---------------------------------------------------------------------------------------
// Dotted paths in JSON values

pub fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |cur, k| cur.get(k))
}

pub fn get_path_mut<'a>(v: &'a mut Value, path: &str) -> Option<&'a mut Value> {
    path.split('.').try_fold(v, |cur, k| cur.get_mut(k))
}

/// Removes and returns the value at `path`, dropping parents it leaves empty.
pub fn take_path(v: &mut Value, path: &str) -> Option<Value> {
    match path.split_once('.') {
        None => v.as_object_mut()?.remove(path),
        Some((head, tail)) => {
            let child = v.get_mut(head)?;
            let out = take_path(child, tail);
            if child.as_object().is_some_and(|m| m.is_empty()) {
                v.as_object_mut()?.remove(head);
            }
            out
        }
    }
}

pub fn remove_path(v: &mut Value, path: &str) {
    take_path(v, path);
}

pub fn set_path_value(v: &mut Value, path: &str, new: Value) {
    super::set_pointer(v, &format!("/{}", path.replace('.', "/")), new);
}

/// Deep merge: objects merged key by key, anything else replaced.
pub fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(x) if x.is_object() && v.is_object() => merge(x, v),
                    _ => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (slot, v) => *slot = v.clone(),
    }
}

/// Drops nulls and `provisioningState` at any depth (the service's, on every resource).
fn drop_service_state(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, x| !x.is_null() && k != "provisioningState");
            m.values_mut().for_each(drop_service_state);
        }
        Value::Array(a) => a.iter_mut().for_each(drop_service_state),
        _ => {}
    }
}

/// Drops nulls and objects left empty, at any depth.
pub fn drop_empty(v: &mut Value) {
    if let Value::Object(m) = v {
        m.values_mut().for_each(drop_empty);
        m.retain(|_, x| !(x.is_null() || x.as_object().is_some_and(|o| o.is_empty())));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn ws(name: &str) -> WorkspaceRef {
        WorkspaceRef { subscription_id: "s1".into(), resource_group: "rg".into(), workspace_name: name.into() }
    }

    pub fn rewriter_ids() -> (super::super::refs::WsId, super::super::refs::WsId) {
        (("s1".into(), "rg".into(), "primary".into()), ("s2".into(), "rg2".into(), "failover".into()))
    }

    #[test]
    fn kinds_parse_and_order() {
        assert_eq!(DefKind::parse("datastores"), Some(vec![DefKind::Datastore]));
        assert_eq!(DefKind::parse("schedule"), Some(vec![DefKind::Schedule]));
        assert_eq!(DefKind::parse("endpoints").map(|v| v.len()), Some(4));
        assert_eq!(DefKind::parse("online-deployments"), Some(vec![DefKind::OnlineDeployment]));
        assert_eq!(DefKind::parse("notebooks"), None);
        // Everything a kind refers to comes before it.
        let pos = |k| DefKind::ALL.iter().position(|x| *x == k).unwrap();
        assert!(pos(DefKind::Compute) < pos(DefKind::BatchDeployment));
        assert!(pos(DefKind::OnlineEndpoint) < pos(DefKind::OnlineDeployment));
        assert!(pos(DefKind::BatchEndpoint) < pos(DefKind::Schedule));
    }

    #[test]
    fn arm_paths() {
        let d = Definition::new(DefKind::OnlineDeployment, Some("ep"), json!({"name": "blue", "properties": {}}));
        assert_eq!(d.arm_path("/w"), "/w/onlineEndpoints/ep/deployments/blue");
        assert_eq!(d.display_name(), "ep/blue");
        let s = Definition::new(DefKind::Schedule, None, json!({"name": "nightly run"}));
        assert_eq!(s.arm_path("/w"), "/w/schedules/nightly%20run");
    }

    #[test]
    fn paths_take_set_merge() {
        let mut v = json!({"a": {"b": {"c": 1}}, "d": 2});
        assert_eq!(take_path(&mut v, "a.b.c"), Some(json!(1)));
        assert_eq!(v, json!({"d": 2}), "emptied parents go");
        set_path_value(&mut v, "x.y", json!(3));
        merge(&mut v, &json!({"x": {"z": 4}, "d": 5}));
        assert_eq!(v, json!({"d": 5, "x": {"y": 3, "z": 4}}));
        assert_eq!(first_leaf(&json!({"p": {"q": 1}})).as_deref(), Some("p.q"));
    }

    #[test]
    fn durations_and_references() {
        assert_eq!(to_iso(&json!(120)), json!("PT120S"));
        assert_eq!(from_iso(&json!("PT2M")), json!(120));
        assert_eq!(from_iso(&json!("PT1H0M5S")), json!(3605));
        assert_eq!(from_iso(&json!("P1D")), json!("P1D"));
        let w = ws("primary");
        let id = format!("{}/models/m/versions/2", w.arm_id());
        assert_eq!(short_ref(&json!(id), Some(&w)), json!("azureml:m:2"));
        assert_eq!(long_ref(&json!("azureml:m:2"), "models", Some(&w)), json!(id));
        assert_eq!(long_ref(&json!("cpu"), "computes", Some(&w)), json!(format!("{}/computes/cpu", w.arm_id())));
        let other = "/subscriptions/x/resourceGroups/y/providers/Microsoft.MachineLearningServices/workspaces/z/models/m/versions/1";
        assert_eq!(short_ref(&json!(other), Some(&w)), json!(format!("azureml:{other}")));
        assert_eq!(long_ref(&json!(format!("azureml:{other}")), "models", Some(&w)), json!(other));
        assert_eq!(long_ref(&json!("azureml://registries/r/models/m/versions/1"), "models", Some(&w)), json!("azureml://registries/r/models/m/versions/1"));
    }

    #[test]
    fn body_drops_service_fields_and_identity_ids() {
        let r = json!({"id": "/x", "name": "ep", "type": "t", "location": "westus", "systemData": {"createdBy": "me"},
            "identity": {"type": "SystemAssigned", "principalId": "p", "tenantId": "t"}, "tags": {"a": "b"}, "kind": null,
            "properties": {"authMode": "Key", "scoringUri": "https://x", "provisioningState": "Succeeded", "description": null}});
        let b = body_of(DefKind::OnlineEndpoint, &r);
        assert_eq!(b, json!({"properties": {"authMode": "Key"}, "identity": {"type": "SystemAssigned"}, "tags": {"a": "b"}}));
    }
}
