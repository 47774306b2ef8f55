//! Where a checked batch goes (DESIGN.md, "Beyond one machine"): the second half of
//! [`crate::service::Ingest::submit`]. [`LocalStore`] is the single process's vaults; the
//! cluster's frontend publishes to NATS JetStream instead (`openclone-cluster`). A way in
//! never learns which one it talks to.

use std::sync::Arc;

use openclone_vault::{Batch, DedupKey, FieldError, Receipt, Vault};

use crate::guard::no_panic;

/// Why a batch was not stored; each way in maps it to its own answer (422/500, the WIT
/// `emit-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Field violations, each naming its field (CONTRACT.md: 422).
    Invalid(Vec<FieldError>),
    /// The plugin may not emit this source type.
    NotPermitted(String),
    /// The vault failed (CONTRACT.md: 500 `storage_failed`).
    Storage(String),
    /// No vault writer answered in time (a cluster frontend, DESIGN.md "Beyond one
    /// machine"): the batch may or may not be stored, and a resend is safe (dedup).
    /// CONTRACT.md: 503 `unavailable` with `Retry-After`.
    Unavailable(String),
    /// A bug in the host, caught and logged (500 `internal_error`).
    Internal(String),
}

/// Called once with a batch's outcome, after it is durable (the vault's fsync, wherever
/// the vault is) or has failed.
pub type Done = Box<dyn FnOnce(Result<Receipt, Refused>) + Send>;

/// The store behind the ingest service.
pub trait Store: Send + Sync {
    /// Stores tenant number `tenant`'s checked `batch` (policy asked, paused events already
    /// taken out) and calls `done` once: `Ok` with CONTRACT.md's `stored`/`skipped`/`file`
    /// only once every stored event is on disk after its fsync; [`Refused::Storage`] when it
    /// is not (a vault error, no writer answering), [`Refused::Internal`] on a bug.
    fn store(&self, tenant: usize, batch: Batch, done: Done);

    /// Finishes what is queued and stops taking batches.
    fn close(&self);
}

/// The embedded default: each tenant's own [`Vault`] in this process, in tenant order.
pub struct LocalStore {
    vaults: Vec<Arc<Vault>>,
}

impl LocalStore {
    /// The store over the open `vaults`, one per tenant in config order.
    pub fn new(vaults: Vec<Arc<Vault>>) -> Self {
        Self { vaults }
    }
}

impl Store for LocalStore {
    fn store(&self, tenant: usize, batch: Batch, done: Done) {
        let keys = openclone_vault::prepare::keys_of(&batch);
        store_in(&self.vaults[tenant], batch, keys, done);
    }

    fn close(&self) {
        for v in &self.vaults {
            v.close();
        }
    }
}

/// Sanitizes and renders `batch`, whose events' dedup `keys` were computed from the events
/// as received ([`openclone_vault::prepare::keys_of`]), for `vault` (a bug there is caught
/// and answered as [`Refused::Internal`]), then queues it on the vault's writer thread;
/// `done` runs there after the fsync.
pub fn store_in(vault: &Vault, batch: Batch, keys: Vec<DedupKey>, done: Done) {
    let prepared = match no_panic("prepare", || vault.prepare_keyed(batch, keys)) {
        Ok(p) => p,
        Err(m) => return done(Err(Refused::Internal(m))),
    };
    vault.submit(
        prepared,
        Box::new(move |r| done(r.map_err(|e| Refused::Storage(e.to_string())))),
    );
}
