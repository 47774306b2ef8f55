//! The index database: its schema, and opening it, rebuilding it when it is damaged.

use std::path::Path;

use rusqlite::Connection;

/// The schema's version (`PRAGMA user_version`); an index of another version is rebuilt.
const VERSION: i64 = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS files(
    path TEXT PRIMARY KEY,   -- vault-relative, forward slashes
    len INTEGER NOT NULL,    -- bytes indexed
    mtime INTEGER NOT NULL,  -- nanoseconds, when indexed
    tail BLOB NOT NULL,      -- the last (up to) 64 bytes indexed: an append is checked by them
    lines INTEGER NOT NULL,  -- lines in the bytes indexed
    last_time TEXT NOT NULL  -- the time of the last host entry indexed
);
CREATE TABLE IF NOT EXISTS entries(
    id INTEGER PRIMARY KEY,  -- in time order: crate::sync::id_base
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    day TEXT NOT NULL,
    time TEXT NOT NULL,
    end_time TEXT,
    source TEXT NOT NULL,    -- the source type; empty for the person's own text
    folder TEXT NOT NULL,
    plugin TEXT NOT NULL,
    device TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    part INTEGER NOT NULL    -- 0, or the n-th further piece of a long entry's text
);
CREATE TABLE IF NOT EXISTS words(
    term TEXT PRIMARY KEY,   -- a token (crate::words); '' counts the rows themselves
    rows INTEGER NOT NULL    -- rows of entries holding it
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS entries_by_file ON entries(file);
CREATE INDEX IF NOT EXISTS entries_by_day ON entries(day, time);
CREATE VIRTUAL TABLE IF NOT EXISTS entries_fts USING fts5(
    title, text, content='entries', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2', prefix='2 3'
);
CREATE TRIGGER IF NOT EXISTS entries_ai AFTER INSERT ON entries BEGIN
    INSERT INTO entries_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS entries_ad AFTER DELETE ON entries BEGIN
    INSERT INTO entries_fts(entries_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
";

/// Why the index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// SQLite refused (a damaged file is rebuilt before this is returned).
    #[error("search index {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A vault file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Opens (creating) the index at `path` for reading and writing. An index that is not a
/// database, fails SQLite's quick check or has another schema version is deleted and made
/// anew, empty: the caller's next [`crate::sync::all`] fills it from the vault. The index
/// is a cache, so it runs `synchronous = NORMAL` (a power cut may roll back its last
/// commits; the next scan finds what they held) with `secure_delete` on, so deleted text
/// does not linger in free pages. Its files are readable by their owner only (mode 0600),
/// like the vault whose text they hold.
///
/// Errors: the folder or the file cannot be created.
pub fn open(path: &Path) -> Result<Connection, IndexError> {
    let err = |source| IndexError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let opened = open_or_rebuild(path).map_err(err)?;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600));
    }
    Ok(opened)
}

fn open_or_rebuild(path: &Path) -> Result<Connection, rusqlite::Error> {
    match try_open(path) {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::warn!(index = %path.display(), error = %e, "the search index is damaged or of another version; rebuilding it from the vault");
            for suffix in ["", "-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(suffix);
                let _ = std::fs::remove_file(p);
            }
            try_open(path)
        }
    }
}

fn try_open(path: &Path) -> Result<Connection, rusqlite::Error> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    let ok: String = conn.query_row("PRAGMA quick_check(1)", [], |r| r.get(0))?;
    if ok != "ok" {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
            Some(ok),
        ));
    }
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let fresh: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE name = 'entries'",
        [],
        |r| r.get(0),
    )?;
    if fresh > 0 && version != VERSION {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_MISMATCH),
            Some(format!("schema version {version}, expected {VERSION}")),
        ));
    }
    conn.execute_batch(SCHEMA)?;
    conn.execute_batch("INSERT INTO entries_fts(entries_fts, rank) VALUES ('secure-delete', 1)")?;
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(conn)
}

/// Opens the index at `path` read-only, for queries alongside a running host. Errors: it
/// does not exist (yet) or is not a database.
pub fn open_read(path: &Path) -> Result<Connection, IndexError> {
    let err = |source| IndexError::Sqlite {
        path: path.display().to_string(),
        source,
    };
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(err)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(err)?;
    Ok(conn)
}
