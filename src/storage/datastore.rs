//! Opening a workspace datastore (or a blob URL in a workspace's storage) as a [`Store`],
//! with the credential the datastore hands out through `listSecrets`.

use super::blob::BlobStore;
use super::index::ListingIndex;
use super::StorageCredential;
use crate::azureml::datastores::{self, Datastore, DatastoreSecret};
use crate::error::{Error, Result};
use crate::workspace::{Context, WorkspaceRef};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Datastores of one workspace, opened on demand and cached (one `listSecrets` each).
pub struct Datastores {
    ctx: Context,
    ws: WorkspaceRef,
    list: Vec<Datastore>,
    open: Mutex<HashMap<String, Arc<BlobStore>>>,
    /// Held while a datastore is opened, so comparisons that start together ask the control
    /// plane for its secret once, not once each.
    opening: Mutex<()>,
    by_account: Mutex<HashMap<(String, String), Arc<BlobStore>>>,
    /// Listing indexes by (account, container) ([`Datastores::index`]).
    indexes: std::sync::RwLock<HashMap<(String, String), Arc<ListingIndex>>>,
}

impl Datastores {
    pub async fn load(ctx: &Context, ws: &WorkspaceRef) -> Result<Datastores> {
        let list = datastores::list(&ctx.arm, ws).await?;
        Ok(Datastores { ctx: ctx.clone(), ws: ws.clone(), list, open: Default::default(), opening: Default::default(), by_account: Default::default(), indexes: Default::default() })
    }

    pub fn workspace(&self) -> &WorkspaceRef {
        &self.ws
    }

    /// Every datastore of the workspace, as listed.
    pub fn all(&self) -> &[Datastore] {
        &self.list
    }

    /// The workspace's default blob datastore (where uploads go).
    pub fn default_blob(&self) -> Result<&Datastore> {
        self.list
            .iter()
            .find(|d| d.is_default && d.datastore_type == "AzureBlob")
            .or_else(|| self.list.iter().find(|d| d.name == "workspaceblobstore"))
            .ok_or_else(|| Error::Service(format!("workspace {} has no default blob datastore", self.ws)))
    }

    /// A blob datastore by name.
    pub async fn open(&self, name: &str) -> Result<Arc<BlobStore>> {
        if let Some(s) = self.open.lock().await.get(name) {
            return Ok(Arc::clone(s));
        }
        let _opening = self.opening.lock().await;
        if let Some(s) = self.open.lock().await.get(name) {
            return Ok(Arc::clone(s));
        }
        let d = self
            .list
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::NotFound(format!("datastore '{name}' does not exist in workspace {}", self.ws)))?;
        if d.datastore_type != "AzureBlob" {
            return Err(Error::Service(format!(
                "datastore '{name}' is {}; only Azure Blob datastores can be copied from or to here",
                d.datastore_type
            )));
        }
        let account = d.account_name.clone().ok_or_else(|| Error::Service(format!("datastore '{name}' has no accountName")))?;
        let container =
            d.container_name.clone().ok_or_else(|| Error::Service(format!("datastore '{name}' has no containerName")))?;
        let cred = self.credential(d, &account).await?;
        let store = Arc::new(self.blob_store(&account, &container, cred)?);
        self.open.lock().await.insert(name.to_string(), Arc::clone(&store));
        self.by_account.lock().await.insert((account, container), Arc::clone(&store));
        Ok(store)
    }

    /// An Azure Files datastore (e.g. `workspaceworkingdirectory`, where notebooks live).
    pub async fn open_share(&self, name: &str) -> Result<super::fileshare::FileShareStore> {
        let d = self
            .list
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
            .ok_or_else(|| Error::NotFound(format!("datastore '{name}' does not exist in workspace {}", self.ws)))?;
        if d.datastore_type != "AzureFile" {
            return Err(Error::Service(format!("datastore '{name}' is {}, not an Azure Files share", d.datastore_type)));
        }
        let account = d.account_name.clone().ok_or_else(|| Error::Service(format!("datastore '{name}' has no accountName")))?;
        let share = d.file_share_name.clone().ok_or_else(|| Error::Service(format!("datastore '{name}' has no fileShareName")))?;
        let cred = self.credential(d, &account).await?;
        let url = self.ctx.cloud.file_account_url(&account, false)?;
        super::fileshare::FileShareStore::new(self.ctx.http.clone(), &url, &share, None, cred, self.ctx.retry.clone())
    }

    /// A container in one of the workspace's storage accounts given by URL (e.g. an
    /// environment's build context), with the credential of a datastore on that account.
    pub async fn open_container(&self, account: &str, container: &str) -> Result<Arc<BlobStore>> {
        let key = (account.to_string(), container.to_string());
        if let Some(s) = self.by_account.lock().await.get(&key) {
            return Ok(Arc::clone(s));
        }
        let _opening = self.opening.lock().await;
        if let Some(s) = self.by_account.lock().await.get(&key) {
            return Ok(Arc::clone(s));
        }
        let d = self
            .list
            .iter()
            .filter(|d| d.datastore_type == "AzureBlob" && d.account_name.as_deref() == Some(account))
            .min_by_key(|d| !d.is_default)
            .ok_or_else(|| {
                Error::Service(format!("no datastore of workspace {} is on storage account '{account}'", self.ws))
            })?;
        let cred = self.credential(d, account).await?;
        let store = Arc::new(self.blob_store(account, container, cred)?);
        self.by_account.lock().await.insert(key, Arc::clone(&store));
        Ok(store)
    }

    /// Planning by listing: indexes, with one paged flat listing per container (and top-level
    /// folder), the object paths `wanted` (blobs or folders, each in its store), so that
    /// [`Datastores::indexed`] answers for them without a request each. A listing that fails
    /// is logged and left out: those paths are then asked one by one, as without an index.
    pub async fn index(&self, wanted: Vec<(Arc<BlobStore>, String)>) {
        let mut by_container: HashMap<(String, String), (Arc<BlobStore>, std::collections::BTreeSet<String>)> = HashMap::new();
        for (store, path) in wanted {
            let key = (store.account().to_string(), store.container().to_string());
            by_container.entry(key).or_insert_with(|| (store, Default::default())).1.insert(path);
        }
        let built = futures::future::join_all(by_container.into_iter().map(|(key, (store, paths))| async move {
            let index = ListingIndex::build_wanted(&store, &paths, None).await;
            (key, index)
        }))
        .await;
        let mut indexes = self.indexes.write().expect("index lock");
        for (key, index) in built {
            match index {
                Ok(i) => {
                    indexes.insert(key, Arc::new(i));
                }
                Err(e) => tracing::debug!(account = %key.0, container = %key.1, error = %e, "listing for the index failed; asking per item"),
            }
        }
    }

    /// The index of `store`'s container when it answers for `path` ([`Datastores::index`]).
    pub fn indexed(&self, store: &BlobStore, path: &str) -> Option<Arc<ListingIndex>> {
        let indexes = self.indexes.read().expect("index lock");
        let i = indexes.get(&(store.account().to_string(), store.container().to_string()))?;
        i.covers(path).then(|| Arc::clone(i))
    }

    /// The datastore's credential: an identity-based one (credentials type `None`, the only
    /// kind an account with shared key access disabled takes) is the tool's Entra ID token;
    /// otherwise what `listSecrets` hands out.
    async fn credential(&self, d: &datastores::Datastore, account: &str) -> Result<StorageCredential> {
        if d.credentials_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("None")) {
            return Ok(StorageCredential::Bearer(Arc::clone(self.ctx.arm.tokens())));
        }
        let datastore = d.name.as_str();
        Ok(match datastores::list_secrets(&self.ctx.arm, &self.ws, datastore).await? {
            DatastoreSecret::AccountKey(k) => StorageCredential::AccountKey(
                azure_sharedkey::SharedKey::new(account, &k).map_err(|e| Error::Service(format!("datastore '{datastore}': {e}")))?,
            ),
            DatastoreSecret::Sas(t) => StorageCredential::Sas(t),
            DatastoreSecret::Other(_) => StorageCredential::Bearer(Arc::clone(self.ctx.arm.tokens())),
        })
    }

    fn blob_store(&self, account: &str, container: &str, cred: StorageCredential) -> Result<BlobStore> {
        let url = self.ctx.cloud.blob_account_url(account, false)?;
        BlobStore::new(self.ctx.http.clone(), &url, account, container, cred, self.ctx.retry.clone())
    }
}
