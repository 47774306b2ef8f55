//! Why the vault did not store a batch: the error of the writer, the journal and
//! recovery alike.

use crate::index::IndexError;

/// Why a batch was not stored. CONTRACT.md: → 500 `storage_failed`; nothing reported
/// stored is not durably stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A vault file or folder could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// Vault-relative path.
        path: String,
        /// The operating system's error.
        message: String,
    },
    /// The dedup index could not be opened, read or written.
    #[error("{0}")]
    Index(String),
    /// The writer thread is gone (the host is shutting down).
    #[error("the vault writer has stopped")]
    Closed,
}

impl From<IndexError> for StoreError {
    fn from(e: IndexError) -> Self {
        Self::Index(e.to_string())
    }
}

impl StoreError {
    /// An I/O error at vault-relative `path`.
    pub fn io(path: &str, e: std::io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}
