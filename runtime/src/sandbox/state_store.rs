//! The `state` import's keyed store (DESIGN.md, "Ideas that carry over"): persisted in
//! SQLite, isolated per plugin and namespace, with TTLs, an entry cap per namespace, a
//! namespace cap, a value-size limit, a total-size cap and an atomic `register-if-absent`.
//!
//! Every call costs a bounded number of B-tree lookups, whatever the plugin holds: the
//! rows and bytes of each (plugin, namespace) are kept in `usage`, updated in the same
//! transaction as `kv`, so no call sums or counts a plugin's rows, and expired rows are
//! found through an index on their expiry. The store is one connection behind the
//! tenant's mutex, and a `state` call is host code no epoch deadline interrupts: a call
//! that scanned would stall every plugin of the tenant.

use std::path::Path;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// Limits of the store, per plugin.
#[derive(Debug, Clone, Copy)]
pub struct StateLimits {
    /// Most live entries one namespace may hold; default 100,000.
    pub max_entries: u32,
    /// Largest value, bytes; default 64 KiB.
    pub max_value_bytes: u32,
    /// Most bytes one plugin's state may hold, every namespace, each row counted as
    /// [`row_cost`] (its strings plus [`ROW_OVERHEAD_BYTES`]); default 64 MiB, so no
    /// plugin fills the disk through many namespaces or many tiny rows.
    pub max_total_bytes: u64,
    /// Most namespaces one plugin may hold; default 1,000.
    pub max_namespaces: u32,
}

impl Default for StateLimits {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            max_value_bytes: 64 * 1024,
            max_total_bytes: 64 << 20,
            max_namespaces: 1_000,
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

/// What a row costs beyond its strings, bytes: an estimate of SQLite's cell header, the
/// expiry integer and the row's entry in the expiry index, so that a million one-byte rows
/// are not counted as a few megabytes.
pub const ROW_OVERHEAD_BYTES: u64 = 48;

/// The bytes a row of `plugin`, `namespace`, `key` and `value` counts toward
/// [`StateLimits::max_total_bytes`]: the four strings' lengths plus
/// [`ROW_OVERHEAD_BYTES`].
pub fn row_cost(plugin: &str, namespace: &str, key: &str, value: &str) -> u64 {
    (plugin.len() + namespace.len() + key.len() + value.len()) as u64 + ROW_OVERHEAD_BYTES
}

/// The schema. `usage` holds, per (plugin, namespace), the rows of `kv` (live or expired,
/// until swept) and their [`row_cost`]s; `kv_expiry` finds expired rows without a scan.
const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS kv (
        plugin TEXT NOT NULL, namespace TEXT NOT NULL, key TEXT NOT NULL,
        value TEXT NOT NULL, expires_ms INTEGER,
        PRIMARY KEY (plugin, namespace, key)) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS kv_expiry ON kv (plugin, namespace, expires_ms)
        WHERE expires_ms IS NOT NULL;
    CREATE TABLE IF NOT EXISTS usage (
        plugin TEXT NOT NULL, namespace TEXT NOT NULL,
        rows INTEGER NOT NULL, bytes INTEGER NOT NULL,
        PRIMARY KEY (plugin, namespace)) WITHOUT ROWID;";

/// `PRAGMA user_version` once `usage` is filled; a store from before it is counted once,
/// at open.
const SCHEMA_VERSION: i64 = 1;

/// A row's cost in SQL, [`row_cost`] of the row's columns.
const ROW_COST_SQL: &str = "length(CAST(plugin AS BLOB)) + length(CAST(namespace AS BLOB)) + length(CAST(key AS BLOB)) + length(CAST(value AS BLOB)) + 48";

/// A tenant's plugin state database; rows are keyed by (plugin, namespace, key).
pub struct StateStore {
    conn: Mutex<Connection>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Adds `rows` and `bytes` (either may be negative) to the usage of (`plugin`,
/// `namespace`), dropping the namespace's line when it holds no row.
fn account(
    tx: &Transaction<'_>,
    plugin: &str,
    namespace: &str,
    rows: i64,
    bytes: i64,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO usage (plugin, namespace, rows, bytes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (plugin, namespace) DO UPDATE SET rows = rows + ?3, bytes = bytes + ?4",
        params![plugin, namespace, rows, bytes],
    )?;
    tx.execute(
        "DELETE FROM usage WHERE plugin = ?1 AND namespace = ?2 AND rows <= 0",
        params![plugin, namespace],
    )?;
    Ok(())
}

/// Deletes the expired rows of `plugin`'s `namespace` (every namespace when `None`)
/// through the expiry index, and takes them off its usage.
fn sweep(
    tx: &Transaction<'_>,
    plugin: &str,
    namespace: Option<&str>,
    now: i64,
) -> rusqlite::Result<()> {
    let mut gone: Vec<(String, i64, i64)> = Vec::new();
    {
        let mut q = tx.prepare(&format!(
            "SELECT namespace, count(*), sum({ROW_COST_SQL}) FROM kv
             WHERE plugin = ?1 AND (?2 IS NULL OR namespace = ?2)
               AND expires_ms IS NOT NULL AND expires_ms <= ?3 GROUP BY namespace"
        ))?;
        let rows = q.query_map(params![plugin, namespace, now], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        for row in rows {
            gone.push(row?);
        }
    }
    for (ns, rows, bytes) in gone {
        tx.execute(
            "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2 AND expires_ms IS NOT NULL AND expires_ms <= ?3",
            params![plugin, ns, now],
        )?;
        account(tx, plugin, &ns, -rows, -bytes)?;
    }
    Ok(())
}

/// (rows, bytes) of `plugin`'s `namespace`.
fn namespace_usage(
    tx: &Transaction<'_>,
    plugin: &str,
    namespace: &str,
) -> rusqlite::Result<Option<(i64, i64)>> {
    tx.query_row(
        "SELECT rows, bytes FROM usage WHERE plugin = ?1 AND namespace = ?2",
        params![plugin, namespace],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
}

/// (namespaces, bytes) of `plugin`: a sum over its namespaces, at most
/// [`StateLimits::max_namespaces`] lines.
fn plugin_usage(tx: &Transaction<'_>, plugin: &str) -> rusqlite::Result<(u64, u64)> {
    tx.query_row(
        "SELECT count(*), coalesce(sum(bytes), 0) FROM usage WHERE plugin = ?1",
        params![plugin],
        |r| {
            Ok((
                r.get::<_, i64>(0)?.max(0) as u64,
                r.get::<_, i64>(1)?.max(0) as u64,
            ))
        },
    )
}

impl StateStore {
    /// Opens (creating) the store at `path`; a store written before `usage` existed is
    /// counted once.
    ///
    /// Errors: the file cannot be opened or its schema created.
    pub fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let mut conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;",
        )?;
        conn.execute_batch(SCHEMA)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version < SCHEMA_VERSION {
            let tx = conn.transaction()?;
            tx.execute("DELETE FROM usage", [])?;
            tx.execute(
                &format!(
                    "INSERT INTO usage (plugin, namespace, rows, bytes)
                     SELECT plugin, namespace, count(*), sum({ROW_COST_SQL}) FROM kv GROUP BY plugin, namespace"
                ),
                [],
            )?;
            tx.execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))?;
            tx.commit()?;
        }
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
    ///
    /// Errors: [`StateError::InvalidKey`], [`StateError::ValueTooLarge`],
    /// [`StateError::Full`] (the namespace holds `max_entries` live rows),
    /// [`StateError::Storage`] naming `state_max_namespaces` or `state_max_total_bytes`
    /// when the plugin's namespaces or bytes would pass their cap, or SQLite's error.
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
        let old: Option<(Option<i64>, i64)> = tx
            .query_row(
                &format!(
                    "SELECT expires_ms, {ROW_COST_SQL} FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3"
                ),
                params![plugin, namespace, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let live = old.is_some_and(|(e, _)| e.is_none_or(|e| e > now));
        if live && only_if_absent {
            return Ok(false);
        }
        let cost = row_cost(plugin, namespace, key, value);
        let old_cost = old.map_or(0, |(_, c)| c.max(0) as u64);
        let mut ns = namespace_usage(&tx, plugin, namespace)?;
        if old.is_none() {
            if ns.is_some_and(|(rows, _)| rows >= i64::from(limits.max_entries)) {
                sweep(&tx, plugin, Some(namespace), now)?;
                ns = namespace_usage(&tx, plugin, namespace)?;
                if ns.is_some_and(|(rows, _)| rows >= i64::from(limits.max_entries)) {
                    tx.commit()?;
                    return Err(StateError::Full(limits.max_entries));
                }
            }
            if ns.is_none() {
                let (namespaces, _) = plugin_usage(&tx, plugin)?;
                if namespaces >= u64::from(limits.max_namespaces) {
                    return Err(StateError::Storage(format!(
                        "the plugin's state holds {namespaces} namespaces, its state_max_namespaces: clear a namespace or raise the limit"
                    )));
                }
            }
        }
        let (_, mut total) = plugin_usage(&tx, plugin)?;
        if total.saturating_sub(old_cost) + cost > limits.max_total_bytes {
            sweep(&tx, plugin, None, now)?;
            total = plugin_usage(&tx, plugin)?.1;
            let still_there = tx
                .query_row(
                    "SELECT 1 FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3",
                    params![plugin, namespace, key],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            let held = if still_there { old_cost } else { 0 };
            if total.saturating_sub(held) + cost > limits.max_total_bytes {
                tx.commit()?;
                return Err(StateError::Storage(format!(
                    "the plugin's state holds {} bytes; {cost} more would pass its state_max_total_bytes of {}: remove entries (clear a namespace, give them a TTL) or raise the limit",
                    total.saturating_sub(held),
                    limits.max_total_bytes
                )));
            }
            if !still_there {
                return Self::insert(tx, plugin, namespace, key, value, expires, None, cost);
            }
        }
        Self::insert(
            tx,
            plugin,
            namespace,
            key,
            value,
            expires,
            old.map(|_| old_cost),
            cost,
        )
    }

    /// Writes the row and its usage, replacing a row of cost `old_cost` if there is one.
    #[allow(clippy::too_many_arguments)]
    fn insert(
        tx: Transaction<'_>,
        plugin: &str,
        namespace: &str,
        key: &str,
        value: &str,
        expires: Option<i64>,
        old_cost: Option<u64>,
        cost: u64,
    ) -> Result<bool, StateError> {
        tx.execute(
            "INSERT OR REPLACE INTO kv (plugin, namespace, key, value, expires_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![plugin, namespace, key, value, expires],
        )?;
        let (rows, before) = old_cost.map_or((1, 0), |c| (0, c as i64));
        account(&tx, plugin, namespace, rows, cost as i64 - before)?;
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
        let mut conn = self.lock();
        let now = now_ms();
        let row: Option<(String, Option<i64>, i64)> = conn
            .query_row(
                &format!(
                    "SELECT value, expires_ms, {ROW_COST_SQL} FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3"
                ),
                params![plugin, namespace, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((value, expires, cost)) = row else {
            return Ok(None);
        };
        if consume {
            let tx = conn.transaction()?;
            tx.execute(
                "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2 AND key = ?3",
                params![plugin, namespace, key],
            )?;
            account(&tx, plugin, namespace, -1, -cost)?;
            tx.commit()?;
        }
        Ok(expires.is_none_or(|e| e > now).then_some(value))
    }

    /// Removes every key of `namespace`.
    pub fn clear(&self, plugin: &str, namespace: &str) -> Result<(), StateError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM kv WHERE plugin = ?1 AND namespace = ?2",
            params![plugin, namespace],
        )?;
        tx.execute(
            "DELETE FROM usage WHERE plugin = ?1 AND namespace = ?2",
            params![plugin, namespace],
        )?;
        tx.commit()?;
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
            max_namespaces: 10,
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
            max_total_bytes: 200,
            max_namespaces: 10,
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

    /// (plugin, namespace, rows, bytes) lines.
    type Lines = Vec<(String, String, i64, i64)>;

    /// The usage lines against a full recount of `kv`.
    fn recount(s: &StateStore) -> (Lines, Lines) {
        let conn = s.lock();
        let read = |sql: &str| -> Lines {
            let mut q = conn.prepare(sql).expect("prepare");
            q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .expect("query")
                .map(|r| r.expect("row"))
                .collect()
        };
        (
            read("SELECT plugin, namespace, rows, bytes FROM usage ORDER BY 1, 2"),
            read(&format!(
                "SELECT plugin, namespace, count(*), sum({ROW_COST_SQL}) FROM kv GROUP BY 1, 2 ORDER BY 1, 2"
            )),
        )
    }

    #[test]
    fn the_sql_cost_is_row_cost() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        s.register(
            "plug",
            "ns",
            "key",
            put("välue", None, false),
            StateLimits::default(),
        )
        .expect("set");
        let (usage, _) = recount(&s);
        assert_eq!(usage[0].3 as u64, row_cost("plug", "ns", "key", "välue"));
    }

    #[test]
    fn tiny_rows_count_their_overhead() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        let lim = StateLimits {
            max_total_bytes: 10_000,
            ..StateLimits::default()
        };
        let stored = (0..10_000)
            .take_while(|i| {
                s.register("a", "n", &format!("{i}"), put("1", None, false), lim)
                    .is_ok()
            })
            .count();
        assert!(
            stored as u64 <= 10_000 / ROW_OVERHEAD_BYTES,
            "{stored} one-byte rows fit in 10,000 bytes"
        );
        assert!(stored > 100, "{stored}");
    }

    #[test]
    fn namespaces_are_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        let lim = StateLimits {
            max_namespaces: 3,
            ..StateLimits::default()
        };
        for ns in ["n1", "n2", "n3"] {
            s.register("a", ns, "k", put("1", None, false), lim)
                .expect("fits");
        }
        let refused = s.register("a", "n4", "k", put("1", None, false), lim);
        assert!(
            matches!(&refused, Err(StateError::Storage(m)) if m.contains("state_max_namespaces")),
            "{refused:?}"
        );
        s.register("a", "n3", "k2", put("1", None, false), lim)
            .expect("a namespace it holds takes more keys");
        s.register("b", "n4", "k", put("1", None, false), lim)
            .expect("another plugin has its own namespaces");
        s.clear("a", "n1").expect("clear");
        s.register("a", "n4", "k", put("1", None, false), lim)
            .expect("a cleared namespace frees its place");
    }

    #[test]
    fn usage_matches_a_recount_after_every_kind_of_call() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = StateStore::open(&dir.path().join("s.sqlite")).expect("open");
        let lim = StateLimits {
            max_entries: 5,
            max_value_bytes: 64,
            max_total_bytes: 2_000,
            max_namespaces: 4,
        };
        let mut seed = 7u64;
        for _ in 0..3_000 {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let r = (seed >> 33) as usize;
            let (plugin, ns, key) = (
                ["a", "b"][r % 2],
                format!("n{}", r / 2 % 6),
                format!("k{}", r / 12 % 8),
            );
            let value = "v".repeat(r / 96 % 40);
            let ttl = (r / 3840).is_multiple_of(3).then_some(0);
            match r / 11520 % 5 {
                0 => drop(s.lookup(plugin, &ns, &key, true)),
                1 if r.is_multiple_of(7) => drop(s.clear(plugin, &ns)),
                2 => drop(s.register(plugin, &ns, &key, put(&value, ttl, true), lim)),
                _ => drop(s.register(plugin, &ns, &key, put(&value, ttl, false), lim)),
            }
        }
        let (usage, truth) = recount(&s);
        assert_eq!(usage, truth);
        assert!(!usage.is_empty());
    }

    #[test]
    fn a_store_from_before_usage_is_counted_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.sqlite");
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE kv (plugin TEXT NOT NULL, namespace TEXT NOT NULL, key TEXT NOT NULL,
                    value TEXT NOT NULL, expires_ms INTEGER, PRIMARY KEY (plugin, namespace, key)) WITHOUT ROWID;
                 INSERT INTO kv VALUES ('a', 'n', 'k1', 'x', NULL), ('a', 'n', 'k2', 'yy', NULL), ('b', 'm', 'k', 'z', NULL);",
            )
            .expect("old schema");
        }
        let s = StateStore::open(&path).expect("reopen");
        let (usage, truth) = recount(&s);
        assert_eq!(usage, truth);
        assert_eq!(usage.len(), 2);
        assert_eq!(
            s.lookup("a", "n", "k2", false).expect("lookup"),
            Some("yy".into())
        );
    }
}
