//! In-memory state, persisted as one JSON file (written atomically: temp file + rename).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::arm::workspace_key;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    pub workspaces: Vec<WorkspaceRecord>,
    /// The Storage resource provider's accounts.
    #[serde(default)]
    pub storage_accounts: Vec<crate::resources::storage_rp::StorageAccountRecord>,
    /// The Container Registry resource provider's registries.
    #[serde(default)]
    pub registries: Vec<crate::resources::acr::RegistryRecord>,
    /// Long-running operations (Azure-AsyncOperation / Location polling), oldest first.
    #[serde(default)]
    pub operations: Vec<OperationRecord>,
    /// Per-region VM sizes and quotas, keyed by lower-case location (absent: the defaults).
    #[serde(default)]
    pub regions: BTreeMap<String, crate::resources::regions::RegionSettings>,
    /// Run-time override of `EmulatorConfig::lro_polls` (admin API).
    #[serde(default)]
    pub lro_polls: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkspaceRecord {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
    pub location: String,
    pub workspace_id: String,
    pub storage_account: String,
    /// Account key (persisted in the data folder only; never logged or returned outside listSecrets).
    pub storage_key: String,
    /// The ARM resource as answered by Workspaces_Get.
    pub resource: Value,
    pub datastores: Vec<DatastoreRecord>,
    /// Keyed by the kind's path segment (`models`, `codes`, ...).
    pub assets: BTreeMap<String, Vec<ContainerRecord>>,
    pub jobs: Vec<Value>,
    /// Connections, computes, online/batch endpoints and deployments, schedules: keyed by
    /// their ARM id (compared case-insensitively), in creation order.
    #[serde(default)]
    pub children: Vec<ChildRecord>,
}

impl WorkspaceRecord {
    pub fn key(&self) -> String {
        workspace_key(&self.subscription_id, &self.resource_group, &self.name)
    }
    pub fn arm_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.MachineLearningServices/workspaces/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
    pub fn default_container(&self) -> String {
        format!("azureml-blobstore-{}", self.workspace_id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatastoreRecord {
    /// Resource as answered by Get (credentials without secrets).
    pub resource: Value,
    /// What listSecrets answers.
    pub secrets: Option<Value>,
}

/// A workspace child resource of the families in `resources::children`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildRecord {
    /// Resource as answered by Get (secrets removed).
    pub resource: Value,
    /// Secret values kept apart (connections' credentials), answered by listsecrets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Value>,
}

impl ChildRecord {
    pub fn id(&self) -> &str {
        self.resource.get("id").and_then(Value::as_str).unwrap_or("")
    }
}

/// One long-running operation: polled through `Azure-AsyncOperation` (status document) or
/// `Location` (202 until done). It completes after `remaining` polls (of its status or of the
/// resource itself), then the resource's provisioning state becomes `Succeeded` (create/update)
/// or the resource is removed (delete).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OperationRecord {
    pub id: String,
    /// ARM id of the resource the operation works on.
    pub resource_id: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// `InProgress`, `Succeeded`, `Failed`.
    pub status: String,
    pub remaining: u32,
    pub start_time: String,
    #[serde(default)]
    pub end_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerRecord {
    pub resource: Value,
    /// In creation order.
    pub versions: Vec<Value>,
}

pub fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

impl State {
    pub fn workspace(&self, key: &str) -> Option<&WorkspaceRecord> {
        self.workspaces.iter().find(|w| w.key() == key)
    }
    pub fn workspace_mut(&mut self, key: &str) -> Option<&mut WorkspaceRecord> {
        self.workspaces.iter_mut().find(|w| w.key() == key)
    }
}

pub struct Store {
    state: Mutex<State>,
    path: Option<PathBuf>,
}

impl Store {
    /// Loads `<data_dir>/state.json` if present.
    pub fn open(data_dir: Option<&Path>) -> anyhow::Result<Store> {
        let path = data_dir.map(|d| d.join("state.json"));
        let state = match &path {
            Some(p) if p.exists() => {
                let bytes = std::fs::read(p)?;
                serde_json::from_slice(&bytes)
                    .map_err(|e| anyhow::anyhow!("corrupt state file {}: {e}", p.display()))?
            }
            _ => State::default(),
        };
        Ok(Store { state: Mutex::new(state), path })
    }

    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        let guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&guard)
    }

    /// Runs `f` on the state and persists it afterwards if `f` returned Ok.
    pub fn write<R, E>(&self, f: impl FnOnce(&mut State) -> Result<R, E>) -> Result<R, E> {
        let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let out = f(&mut guard)?;
        if let Err(e) = self.persist(&guard) {
            tracing::error!("could not persist emulator state: {e:#}");
        }
        Ok(out)
    }

    fn persist(&self, state: &State) -> anyhow::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(".state.json.{}.tmp", uuid::Uuid::new_v4().simple()));
        std::fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}
