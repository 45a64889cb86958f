//! Where Azure is and who we are, below everything that talks to it: the cloud's endpoints
//! ([`cloud`]), the credentials ([`credentials`]) and a workspace's reference
//! ([`reference`]). `azureml`, `storage` and `workspace` (the connection, `Context`) build
//! on these; `workspace` re-exports them.

pub mod cloud;
pub mod credentials;
pub mod reference;

pub use reference::WorkspaceRef;
