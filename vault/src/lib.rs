//! The one ingest pipeline of OpenClone: what both `POST /api/v1/ingest` and a WebAssembly
//! plugin's `emit` go through (DESIGN.md). No HTTP and no WebAssembly in here.
//!
//! validate ([`validate`]) → keys, sanitize, render ([`prepare`]) → dedup, append, fsync
//! ([`store::Vault`]) → `<vault>/<Folder>/<YYYY-MM-DD>.md`.

pub mod batch;
pub mod dedup;
pub mod durable;
pub mod error;
pub mod escape;
pub mod forget;
pub mod headers;
pub mod index;
pub mod journal;
pub mod prepare;
pub mod read;
pub mod recover;
pub mod redact;
pub mod render;
pub mod sanitize;
pub mod source;
pub mod stats;
pub mod store;
pub mod tally;
pub mod tombstone;
pub mod validate;

pub use batch::{Batch, Event, FieldError, Receipt};
pub use dedup::DedupKey;
pub use error::StoreError;
pub use forget::{Forgotten, Selection};
pub use sanitize::Policy;
pub use source::{Platform, Sensitivity, SourceType};
pub use store::{OnWritten, Vault, VaultConfig};
pub use tally::Tally;
pub use validate::{RawEvent, Rules, envelope_ids, validate_body, validate_events, validate_value};
