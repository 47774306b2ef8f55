//! The dedup index: an embedded SQLite database per tenant (rusqlite, bundled).
//!
//! It holds every dedup key in the vault and, per daily file, the length the index has
//! accounted for. Keys are stored as their first 16 bytes: half the B-tree of full keys,
//! and a false duplicate among a billion events has a chance below 10⁻²⁰. The vault stays the source of truth: a missing or stale index is rebuilt
//! from the entry markers ([`crate::recover`]), so the database runs with
//! `synchronous = NORMAL` in WAL mode and never pays an fsync per batch.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

use crate::dedup::DedupKey;

/// The per-tenant dedup index.
pub struct Index {
    conn: Connection,
}

/// A database error, with what was being done.
#[derive(Debug, thiserror::Error)]
#[error("dedup index at {path}: {source}")]
pub struct IndexError {
    path: String,
    #[source]
    source: rusqlite::Error,
}

/// The stored form of a key: its first 128 bits.
fn stored(key: &DedupKey) -> &[u8] {
    &key.0[..16]
}

impl Index {
    /// Opens (creating if needed) the index at `path`.
    ///
    /// Errors: the file cannot be opened or its schema created.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let err = |source| IndexError {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA cache_size = -32768;
             CREATE TABLE IF NOT EXISTS keys (key BLOB PRIMARY KEY) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, len INTEGER NOT NULL) WITHOUT ROWID;",
        )
        .map_err(err)?;
        Ok(Self { conn })
    }

    /// Starts the transaction a group commit (or a reconciliation) works in.
    pub fn begin(&self) -> Result<(), rusqlite::Error> {
        self.conn.execute_batch("BEGIN")
    }

    /// Makes the open transaction durable (as far as `synchronous = NORMAL` goes).
    pub fn commit(&self) -> Result<(), rusqlite::Error> {
        self.conn.execute_batch("COMMIT")
    }

    /// Abandons the open transaction, if any.
    pub fn rollback(&self) {
        let _ = self.conn.execute_batch("ROLLBACK");
    }

    /// Adds `key`; true if it was new, false if the index already held it. One B-tree
    /// descent serves both the lookup and the insert.
    pub fn insert_new(&self, key: &DedupKey) -> Result<bool, rusqlite::Error> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR IGNORE INTO keys (key) VALUES (?1)")?;
        Ok(stmt.execute([stored(key)])? == 1)
    }

    /// Takes back a key added in the open transaction (its entry did not reach the vault).
    pub fn remove(&self, key: &DedupKey) -> Result<(), rusqlite::Error> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM keys WHERE key = ?1")?;
        stmt.execute([stored(key)]).map(|_| ())
    }

    /// The byte length of `path` the index has accounted for, if any.
    pub fn file_len(&self, path: &str) -> Result<Option<u64>, rusqlite::Error> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT len FROM files WHERE path = ?1")?;
        stmt.query_row([path], |r| r.get::<_, i64>(0))
            .optional()
            .map(|o| o.map(|l| l as u64))
    }

    /// Records that the index has accounted for the first `len` bytes of `path`.
    pub fn set_file_len(&self, path: &str, len: u64) -> Result<(), rusqlite::Error> {
        let mut stmt = self
            .conn
            .prepare_cached("INSERT OR REPLACE INTO files (path, len) VALUES (?1, ?2)")?;
        stmt.execute(params![path, len as i64]).map(|_| ())
    }

    /// Every file the index knows, with its accounted length.
    pub fn files(&self) -> Result<Vec<(String, u64)>, rusqlite::Error> {
        let mut stmt = self.conn.prepare("SELECT path, len FROM files")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        rows.collect()
    }

    /// Forgets a file (it was removed from the vault); its keys stay, so a resend of what
    /// it held is still skipped.
    pub fn forget_file(&self, path: &str) -> Result<(), rusqlite::Error> {
        self.conn
            .execute("DELETE FROM files WHERE path = ?1", [path])
            .map(|_| ())
    }

    /// Empties the index (keys and files), for a full rebuild from the vault.
    pub fn clear(&self) -> Result<(), rusqlite::Error> {
        self.conn
            .execute_batch("DELETE FROM keys; DELETE FROM files;")
    }
}
