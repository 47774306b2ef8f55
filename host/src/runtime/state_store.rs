//! The `state` import's keyed store (DESIGN.md, "Ideas that carry over"): persisted in
//! SQLite, isolated per plugin and namespace, with TTLs, an entry cap per namespace, a
//! value-size limit and an atomic `register-if-absent`.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

/// Limits of the store, per plugin.
#[derive(Debug, Clone, Copy)]
pub struct StateLimits {
    /// Most live entries one namespace may hold; default 100,000.
    pub max_entries: u32,
    /// Largest value, bytes; default 64 KiB.
    pub max_value_bytes: u32,
    /// Most bytes (keys and values, every namespace) one plugin's live state may hold;
    /// default 64 MiB (issue 9: no plugin fills the disk through many namespaces).
    pub max_total_bytes: u64,
}

impl Default for StateLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_value_bytes: 64 * 1024,
            max_total_bytes: 64 << 20,
        }
    }
}

/// Why a state call failed (the WIT `state-error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateError {
    /// Value over the limit (the limit, bytes).
    ValueTooLarge(u32),
    /// Namespace full (the limit, entries).
    Full(u32),
    /// Empty or over-long key or namespace.
    InvalidKey(String),
    /// SQLite failed.
    Storage(String),
}

impl From<rusqlite::Error> for StateError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// A value to store and how.
#[derive(Debug, Clone, Copy)]
pub struct Put<'a> {
    /// The value (JSON text).
    pub value: &'a str,
    /// Expire after this many milliseconds.
    pub ttl_ms: Option<u64>,
    /// Only insert when absent or expired (`register-if-absent`).
    pub only_if_absent: bool,
}

/// Longest key or namespace, bytes.
const MAX_KEY_BYTES: usize = 512;

/// A tenant's plugin state database; rows are keyed by (plugin, namespace, key).
pub struct StateStore {
    conn: Mutex<Connection>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl StateStore {
    /// Opens (creating) the store at `path`.
    ///
    /// Errors: the file cannot be opened or its schema created.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS kv (
                plugin TEXT NOT NULL, namespace TEXT NOT NULL, key TEXT NOT NULL,
                value TEXT NOT NULL, expires_ms INTEGER,
                PRIMARY KEY (plugin, namespace, key)) WITHOUT ROWID;",
        )?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(namespace: &str, key: &str) -> Result<(), StateError> {
        for (what, s) in [("namespace", namespace), ("key", key)] {
            if s.is_empty() || s.len() > MAX_KEY_BYTES {
                return Err(StateError::InvalidKey(format!(
                    "{what} must be 1 to {MAX_KEY_BYTES} bytes"
                )));
            }
        }
        Ok(())
    }

    /// Sets `key` (or, with `put.only_if_absent`, inserts it if absent); true if the
    /// value was written.
    pub fn register(
        &self,
        plugin: &str,
        namespace: &str,
        key: &str,
        put: Put<'_>,
        limits: StateLimits,
    ) -> Result<bool, StateError> {
        let Put {
            value,
            ttl_ms,
            only_if_absent,
        } = put;
        Self::check(namespace, key)?;
        if value.len() > limits.max_value_bytes as usize {
            return Err(StateError::ValueTooLarge(limits.max_value_bytes));
        }
        let now = now_ms();
        let expires = ttl_ms.map(|t| now.saturating_add(i64::try_from(t).unwrap_or(i64::MAX)));
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3 AND expires_ms IS NOT NULL AND expires_ms <= ?4",
            params![plugin, namespace, key, now],
        )?;
        let exists: bool = tx
            .query_row(
                "SELECT 1 FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3",
                params![plugin, namespace, key],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if exists && only_if_absent {
            return Ok(false);
        }
        if !exists {
            let live: u32 = tx.query_row(
                "SELECT count(*) FROM kv WHERE plugin = ?1 AND namespace = ?2 AND (expires_ms IS NULL OR expires_ms > ?3)",
                params![plugin, namespace, now],
                |r| r.get(0),
            )?;
            if live >= limits.max_entries {
                return Err(StateError::Full(limits.max_entries));
            }
        }
        let total = |tx: &rusqlite::Transaction<'_>| -> Result<u64, rusqlite::Error> {
            tx.query_row(
                "SELECT coalesce(sum(length(CAST(namespace AS BLOB)) + length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) FROM kv WHERE plugin = ?1 AND NOT (namespace = ?2 AND key = ?3)",
                params![plugin, namespace, key],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n.max(0) as u64)
        };
        let adding = (namespace.len() + key.len() + value.len()) as u64;
        if total(&tx)? + adding > limits.max_total_bytes {
            tx.execute(
                "DELETE FROM kv WHERE plugin = ?1 AND expires_ms IS NOT NULL AND expires_ms <= ?2",
                params![plugin, now],
            )?;
            let after_sweep = total(&tx)?;
            if after_sweep + adding > limits.max_total_bytes {
                tx.commit()?;
                return Err(StateError::Storage(format!(
                    "the plugin's state holds {after_sweep} bytes; {adding} more would pass its state_max_total_bytes of {}: remove entries (clear a namespace, give them a TTL) or raise the limit",
                    limits.max_total_bytes
                )));
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO kv (plugin, namespace, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![plugin, namespace, key, value, expires],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The live value of `key`; with `consume`, also removes it.
    pub fn lookup(
        &self,
        plugin: &str,
        namespace: &str,
        key: &str,
        consume: bool,
    ) -> Result<Option<String>, StateError> {
        Self::check(namespace, key)?;
        let conn = self.lock();
        let value: Option<String> = conn
            .query_row(
                "SELECT value FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3 AND (expires_ms IS NULL OR expires_ms > ?4)",
                params![plugin, namespace, key, now_ms()],
                |r| r.get(0),
            )
            .optional()?;
        if consume {
            conn.execute(
                "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3",
                params![plugin, namespace, key],
            )?;
        }
        Ok(value)
    }

    /// Removes every key of `namespace`.
    pub fn clear(&self, plugin: &str, namespace: &str) -> Result<(), StateError> {
        self.lock().execute(
            "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2",
            params![plugin, namespace],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(value: &str, ttl_ms: Option<u64>, only_if_absent: bool) -> Put<'_> {
        Put {
            value,
            ttl_ms,
            only_if_absent,
        }
    }

    #[test]
    fn isolated_capped_expiring_and_atomic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        let lim = StateLimits {
            max_entries: 2,
            max_value_bytes: 8,
            max_total_bytes: 1 << 20,
        };
        assert!(
            s.register("a", "ns", "k", put("1", None, true), lim)
                .expect("set")
        );
        assert!(
            !s.register("a", "ns", "k", put("2", None, true), lim)
                .expect("if absent"),
            "second insert-if-absent loses"
        );
        assert_eq!(
            s.lookup("b", "ns", "k", false).expect("lookup"),
            None,
            "plugins are isolated"
        );
        assert_eq!(
            s.lookup("a", "other", "k", false).expect("lookup"),
            None,
            "namespaces are isolated"
        );
        assert_eq!(
            s.register("a", "ns", "big", put("123456789", None, false), lim),
            Err(StateError::ValueTooLarge(8))
        );
        assert!(
            s.register("a", "ns", "k2", put("x", Some(0), false), lim)
                .expect("expiring")
        );
        assert_eq!(
            s.lookup("a", "ns", "k2", false).expect("lookup"),
            None,
            "expired"
        );
        assert!(
            s.register("a", "ns", "k3", put("x", None, false), lim)
                .expect("room after expiry")
        );
        assert_eq!(
            s.register("a", "ns", "k4", put("x", None, false), lim),
            Err(StateError::Full(2))
        );
        assert_eq!(
            s.lookup("a", "ns", "k", true).expect("consume"),
            Some("1".into())
        );
        assert_eq!(s.lookup("a", "ns", "k", false).expect("gone"), None);
        s.clear("a", "ns").expect("clear");
        assert_eq!(s.lookup("a", "ns", "k3", false).expect("cleared"), None);
    }

    #[test]
    fn a_plugins_total_is_capped_across_namespaces_and_expired_entries_are_swept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        let lim = StateLimits {
            max_entries: 1000,
            max_value_bytes: 64,
            max_total_bytes: 100,
        };
        let v = "x".repeat(40);
        assert!(
            s.register("a", "n1", "k", put(&v, Some(1), false), lim)
                .expect("first")
        );
        assert!(
            s.register("a", "n2", "k", put(&v, None, false), lim)
                .expect("second")
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(
            s.register("a", "n3", "k", put(&v, None, false), lim)
                .expect("fits once the expired entry is swept"),
        );
        let full = s.register("a", "n4", "k", put(&v, None, false), lim);
        assert!(matches!(full, Err(StateError::Storage(m)) if m.contains("state_max_total_bytes")));
        assert!(
            s.register("b", "n1", "k", put(&v, None, false), lim)
                .expect("another plugin has its own cap")
        );
        assert!(
            s.register("a", "n2", "k", put("y", None, false), lim)
                .expect("shrinking an entry is fine")
        );
    }
}
