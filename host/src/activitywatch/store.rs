//! The durable journal of ActivityWatch buckets and events: a SQLite file,
//! `data/state/<tenant>/activitywatch.sqlite`, owned by one thread. Every request is a job
//! run inside a group transaction with its own savepoint; the transaction commits with a
//! full sync before any job of the group is answered, so a heartbeat answered 200 is on
//! disk (aw-server-rust instead answers first and commits up to 15 s later).
//!
//! Besides what aw-server keeps, each event remembers how far its session has been written
//! to the vault (`written_ns`) and which stretch is being written (`pending_ns`), so the
//! session writer ([`super::sessions`]) writes each stretch exactly once across crashes.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value};

use super::event::Event;
use super::merge;

/// Jobs committed together at most.
const GROUP: usize = 256;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AwError {
    /// The bucket does not exist (404; the web extension creates its bucket on it).
    NoSuchBucket(String),
    /// A bound of the journal was reached (400, the message names it).
    Limit(String),
    /// The store failed or stopped (500).
    Storage(String),
}

/// Buckets one journal holds at most. A machine's watchers make a handful (one per
/// watcher and host, one per browser); the bound keeps each session-writer pass, which
/// looks at every bucket's open event, small.
pub const MAX_BUCKETS: usize = 1000;

impl From<rusqlite::Error> for AwError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Storage(e.to_string())
    }
}

/// A bucket (aw-models `Bucket`): `id`, `type`, `client`, `hostname`, `created` (RFC 3339),
/// `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    /// Its id, e.g. `aw-watcher-window_laptop`.
    pub id: String,
    /// Its type: `currentwindow`, `afkstatus`, `web.tab.current`, `app.editor.activity`, ….
    pub kind: String,
    /// The watcher that created it, e.g. `aw-watcher-window`.
    pub client: String,
    /// The watcher's host name.
    pub hostname: String,
    /// When it was created, RFC 3339.
    pub created: String,
    /// Free-form data.
    pub data: Map<String, Value>,
}

/// An event whose session is not fully in the vault yet, with what the session writer
/// needs to decide.
#[derive(Debug, Clone)]
pub struct Unwritten {
    /// The event (with its id).
    pub event: Event,
    /// Its bucket.
    pub bucket: Bucket,
    /// The pulsetime of the bucket's latest heartbeat, nanoseconds (0 for posted events).
    pub pulsetime_ns: i64,
    /// Whether the bucket's next heartbeat would go to another event (the watcher moved on,
    /// so this one is closed): the event the last heartbeat stored, or the newest by start.
    pub superseded: bool,
    /// How long the bucket has had no heartbeat or event (wall-clock time; since the
    /// journal was opened when none came since).
    pub quiet: Duration,
    /// How far the vault has it, Unix nanoseconds; `None`: nothing written yet.
    pub written_ns: Option<i64>,
    /// The end of a stretch whose write began and may not have finished.
    pub pending_ns: Option<i64>,
}

/// A job: runs in the group transaction (`None` when it could not begin), returns how to
/// answer once the commit is known.
type Job = Box<dyn FnOnce(Option<&mut Db>) -> Box<dyn FnOnce(Result<(), String>) + Send> + Send>;

/// The store: a handle to its thread.
pub struct Store {
    jobs: Mutex<Option<Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    changes: Arc<AtomicU64>,
    passes: tokio::sync::Mutex<()>,
}

impl Store {
    /// Opens (or creates) the journal at `path` (mode 0600 in a 0700 folder: it holds every
    /// window title and URL the watchers sent) and starts its thread.
    ///
    /// Errors: the file cannot be opened or its schema created.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        openclone_vault::durable::private_database(path)?;
        let db = Db::open(path)?;
        // WAL mode has just created `-wal` (and `-shm`): make their names durable too.
        if let Some(dir) = path.parent() {
            openclone_vault::durable::sync_dir(dir)?;
        }
        let changes = db.changes.clone();
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("aw-journal".into())
            .spawn(move || run(db, &rx))?;
        Ok(Self {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            changes,
            passes: tokio::sync::Mutex::new(()),
        })
    }

    /// Held by each session-writer pass, from reading the journal to marking what it wrote,
    /// and by a forget around deleting from the journal and the vault: a session read
    /// before a forget is never written into the vault after it.
    pub fn passes(&self) -> &tokio::sync::Mutex<()> {
        &self.passes
    }

    /// How many heartbeats, events and bucket changes the journal has taken so far: the
    /// session writer looks again only when it moved (or something is still unwritten).
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// Runs `f` in the next group transaction and answers after its commit (fsync).
    /// Errors: `f`'s own, or [`AwError::Storage`] when the commit fails or the store stopped.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, AwError> + Send + 'static,
    ) -> Result<T, AwError> {
        match self.submit(f) {
            Some(rx) => rx.await.unwrap_or_else(|_| Err(stopped())),
            None => Err(stopped()),
        }
    }

    /// [`Store::call`] for a thread outside the async runtime (a forget); blocks.
    pub fn call_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, AwError> + Send + 'static,
    ) -> Result<T, AwError> {
        match self.submit(f) {
            Some(rx) => rx.blocking_recv().unwrap_or_else(|_| Err(stopped())),
            None => Err(stopped()),
        }
    }

    /// Queues `f`; the receiver gets its result after the group's commit. `None` when the
    /// store has stopped.
    fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, AwError> + Send + 'static,
    ) -> Option<tokio::sync::oneshot::Receiver<Result<T, AwError>>> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |db| {
            let result = match db {
                Some(db) if !db.lost => db.savepoint(f),
                _ => Err(AwError::Storage(
                    "the journal's transaction could not begin or was rolled back".into(),
                )),
            };
            Box::new(move |committed| {
                let _ = tx.send(committed.map_err(AwError::Storage).and(result));
            })
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|s| s.send(job).is_ok());
        (sent == Some(true)).then_some(rx)
    }

    /// Finishes every queued job and stops the thread.
    pub fn close(&self) {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.close();
    }
}

fn stopped() -> AwError {
    AwError::Storage("the ActivityWatch journal has stopped".into())
}

/// The thread: takes up to [`GROUP`] waiting jobs, runs them in one transaction, commits,
/// then answers them all.
fn run(mut db: Db, jobs: &Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP
            && let Ok(next) = jobs.try_recv()
        {
            group.push(next);
        }
        db.lost = false;
        let began = db
            .conn
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|e| e.to_string());
        let answers: Vec<_> = group
            .into_iter()
            .map(|job| job(began.is_ok().then_some(&mut db)))
            .collect();
        let committed = began.and_then(|()| {
            db.conn.execute_batch("COMMIT").map_err(|e| {
                let _ = db.conn.execute_batch("ROLLBACK");
                e.to_string()
            })
        });
        if let Err(e) = &committed {
            tracing::error!(error = %e, "the ActivityWatch journal could not commit; the requests are answered 500");
            db.forget();
        }
        if std::mem::take(&mut db.checkpoint) {
            // A forget: the deleted rows' old pages leave the write-ahead log too.
            let _ = db
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        for answer in answers {
            answer(committed.clone());
        }
    }
}

/// The open database and what is cached from it.
pub struct Db {
    conn: Connection,
    buckets: HashSet<String>,
    last: HashMap<String, Event>,
    pulsetime: HashMap<String, i64>,
    /// The group transaction was rolled back by SQLite itself (disk full, I/O error): the
    /// rest of the group is not run, so nothing is committed outside it.
    lost: bool,
    /// Heartbeats, events and bucket changes taken (see [`Store::changes`]).
    changes: Arc<AtomicU64>,
    /// A forget deleted rows: checkpoint the log after the commit.
    checkpoint: bool,
    /// When each bucket last received a heartbeat or events.
    arrived: HashMap<String, Instant>,
    opened: Instant,
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS buckets (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, client TEXT NOT NULL, hostname TEXT NOT NULL,
    created TEXT NOT NULL, data TEXT NOT NULL, pulsetime_ns INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, bucket TEXT NOT NULL, start_ns INTEGER NOT NULL,
    duration_ns INTEGER NOT NULL, data TEXT NOT NULL, written_ns INTEGER, pending_ns INTEGER,
    open INTEGER NOT NULL DEFAULT 1);
CREATE INDEX IF NOT EXISTS events_by_time ON events (bucket, start_ns);
CREATE INDEX IF NOT EXISTS events_open ON events (open) WHERE open = 1;
";

impl Db {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path)?;
        conn.execute_batch(SCHEMA)?;
        let mut db = Self {
            conn,
            buckets: HashSet::new(),
            last: HashMap::new(),
            pulsetime: HashMap::new(),
            arrived: HashMap::new(),
            opened: Instant::now(),
            lost: false,
            changes: Arc::default(),
            checkpoint: false,
        };
        db.forget();
        Ok(db)
    }

    /// Drops the caches and reloads the bucket list (after a failed commit).
    fn forget(&mut self) {
        self.last.clear();
        self.pulsetime.clear();
        self.buckets = self
            .conn
            .prepare("SELECT id FROM buckets")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .unwrap_or_default();
    }

    /// Runs `f` under a savepoint, rolled back (and the caches dropped) when it fails.
    fn savepoint<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, AwError>,
    ) -> Result<T, AwError> {
        self.conn.execute_batch("SAVEPOINT job")?;
        let result = f(self);
        if result.is_err() {
            let _ = self.conn.execute_batch("ROLLBACK TO job");
            self.forget();
            if self.conn.is_autocommit() {
                self.lost = true;
                return result;
            }
        }
        self.conn.execute_batch("RELEASE job")?;
        result
    }

    fn touch(&self) {
        self.changes.fetch_add(1, Ordering::Relaxed);
    }

    fn require(&self, bucket: &str) -> Result<(), AwError> {
        if self.buckets.contains(bucket) {
            Ok(())
        } else {
            Err(AwError::NoSuchBucket(bucket.to_owned()))
        }
    }

    /// Creates `b`; `false` when a bucket with its id exists (aw-server answers 304).
    /// Errors: [`AwError::Limit`] past [`MAX_BUCKETS`].
    pub fn create_bucket(&mut self, b: &Bucket) -> Result<bool, AwError> {
        if self.buckets.contains(&b.id) {
            return Ok(false);
        }
        if self.buckets.len() >= MAX_BUCKETS {
            return Err(AwError::Limit(format!(
                "buckets: this server holds at most {MAX_BUCKETS}; delete unused ones first"
            )));
        }
        self.conn.execute(
            "INSERT INTO buckets (id, type, client, hostname, created, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![b.id, b.kind, b.client, b.hostname, b.created, Value::Object(b.data.clone()).to_string()],
        )?;
        self.buckets.insert(b.id.clone());
        Ok(true)
    }

    /// Every bucket, by id.
    pub fn buckets(&mut self) -> Result<Vec<Bucket>, AwError> {
        let mut s = self.conn.prepare_cached(
            "SELECT id, type, client, hostname, created, data FROM buckets ORDER BY id",
        )?;
        let rows = s.query_map([], bucket_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One bucket. Errors: [`AwError::NoSuchBucket`].
    pub fn bucket(&mut self, id: &str) -> Result<Bucket, AwError> {
        self.require(id)?;
        let mut s = self.conn.prepare_cached(
            "SELECT id, type, client, hostname, created, data FROM buckets WHERE id = ?1",
        )?;
        s.query_row([id], bucket_row)
            .optional()?
            .ok_or_else(|| AwError::NoSuchBucket(id.to_owned()))
    }

    /// Deletes a bucket and its events from the journal (the vault keeps what it has).
    /// Errors: [`AwError::NoSuchBucket`].
    pub fn delete_bucket(&mut self, id: &str) -> Result<(), AwError> {
        self.require(id)?;
        self.conn
            .execute("DELETE FROM events WHERE bucket = ?1", [id])?;
        self.conn
            .execute("DELETE FROM buckets WHERE id = ?1", [id])?;
        self.buckets.remove(id);
        self.last.remove(id);
        self.pulsetime.remove(id);
        self.arrived.remove(id);
        Ok(())
    }

    /// Deletes (or, with `dry_run`, counts) the events starting in `[from_ns, to_ns)` of
    /// the buckets whose sessions go to the vault as `source` (every bucket when `None`)
    /// and whose watcher is `plugin` (its plugin id, [`super::sessions::plugin_id`]).
    /// Deleted text is overwritten (`secure_delete`) and the log checkpointed after the
    /// commit. Returns the events.
    ///
    /// Errors: [`AwError::Storage`].
    pub fn forget_range(
        &mut self,
        from_ns: i64,
        to_ns: i64,
        source: Option<openclone_vault::SourceType>,
        plugin: Option<&str>,
        dry_run: bool,
    ) -> Result<u64, AwError> {
        let buckets: Vec<(String, String, String)> = self
            .conn
            .prepare("SELECT id, type, client FROM buckets")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let sql = if dry_run {
            "SELECT COUNT(*) FROM events WHERE bucket = ?1 AND start_ns >= ?2 AND start_ns < ?3"
        } else {
            "DELETE FROM events WHERE bucket = ?1 AND start_ns >= ?2 AND start_ns < ?3 RETURNING 1"
        };
        let mut n = 0u64;
        for (id, kind, client) in buckets {
            if source.is_some_and(|s| super::sessions::bucket_source(&kind) != Some(s))
                || plugin.is_some_and(|p| super::sessions::plugin_id(&client) != p)
            {
                continue;
            }
            let mut s = self.conn.prepare(sql)?;
            let rows = s.query_map(params![id, from_ns, to_ns], |r| r.get::<_, i64>(0))?;
            for r in rows {
                n += if dry_run {
                    r?.max(0) as u64
                } else {
                    r.map(|_| 1)?
                };
            }
        }
        if !dry_run && n > 0 {
            self.forget();
            self.touch();
            self.checkpoint = true;
        }
        Ok(n)
    }

    /// The bucket's latest event (by start, then id), as aw-server finds it.
    fn last_event(&mut self, bucket: &str) -> Result<Option<Event>, AwError> {
        if let Some(e) = self.last.get(bucket) {
            return Ok(Some(e.clone()));
        }
        let mut s = self.conn.prepare_cached(
            "SELECT id, start_ns, duration_ns, data FROM events WHERE bucket = ?1 ORDER BY start_ns DESC, id DESC LIMIT 1",
        )?;
        let e = s.query_row([bucket], event_row).optional()?;
        if let Some(e) = &e {
            self.last.insert(bucket.to_owned(), e.clone());
        }
        Ok(e)
    }

    /// A heartbeat ([`merge::heartbeat`]): extends the bucket's last event or starts a new
    /// one; returns the event as stored. Errors: [`AwError::NoSuchBucket`].
    pub fn heartbeat(
        &mut self,
        bucket: &str,
        hb: Event,
        pulsetime_ns: i64,
    ) -> Result<Event, AwError> {
        self.require(bucket)?;
        self.touch();
        self.arrived.insert(bucket.to_owned(), Instant::now());
        if self.pulsetime.get(bucket) != Some(&pulsetime_ns) {
            self.conn.execute(
                "UPDATE buckets SET pulsetime_ns = ?2 WHERE id = ?1",
                params![bucket, pulsetime_ns],
            )?;
            self.pulsetime.insert(bucket.to_owned(), pulsetime_ns);
        }
        let merged = match self.last_event(bucket)? {
            Some(last) => merge::heartbeat(&last, &hb, pulsetime_ns),
            None => None,
        };
        let stored = match merged {
            Some(m) => {
                self.conn
                    .prepare_cached(
                        "UPDATE events SET start_ns = ?2, duration_ns = ?3, open = 1 WHERE id = ?1",
                    )?
                    .execute(params![m.id, m.start_ns, m.duration_ns])?;
                m
            }
            None => self.insert(bucket, hb)?,
        };
        self.last.insert(bucket.to_owned(), stored.clone());
        Ok(stored)
    }

    fn insert(&mut self, bucket: &str, mut e: Event) -> Result<Event, AwError> {
        self.conn
            .prepare_cached(
                "INSERT INTO events (bucket, start_ns, duration_ns, data) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                bucket,
                e.start_ns,
                e.duration_ns,
                Value::Object(e.data.clone()).to_string()
            ])?;
        e.id = Some(self.conn.last_insert_rowid());
        Ok(e)
    }

    /// Inserts whole events (`POST …/events`); returns them with ids.
    /// Errors: [`AwError::NoSuchBucket`].
    pub fn insert_events(
        &mut self,
        bucket: &str,
        events: Vec<Event>,
    ) -> Result<Vec<Event>, AwError> {
        self.require(bucket)?;
        self.touch();
        self.last.remove(bucket);
        self.arrived.insert(bucket.to_owned(), Instant::now());
        events.into_iter().map(|e| self.insert(bucket, e)).collect()
    }

    /// Events overlapping `[start, end)` (either bound optional), newest first, at most
    /// `limit` (`None`: all). Errors: [`AwError::NoSuchBucket`].
    pub fn events(
        &mut self,
        bucket: &str,
        start: Option<i64>,
        end: Option<i64>,
        limit: Option<u64>,
    ) -> Result<Vec<Event>, AwError> {
        self.require(bucket)?;
        let mut s = self.conn.prepare_cached(
            "SELECT id, start_ns, duration_ns, data FROM events WHERE bucket = ?1
             AND start_ns + duration_ns >= ?2 AND start_ns <= ?3
             ORDER BY start_ns DESC, id DESC LIMIT ?4",
        )?;
        let limit = limit.map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let rows = s.query_map(
            params![
                bucket,
                start.unwrap_or(i64::MIN),
                end.unwrap_or(i64::MAX),
                limit
            ],
            event_row,
        )?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many events the bucket has. Errors: [`AwError::NoSuchBucket`].
    pub fn count(&mut self, bucket: &str) -> Result<u64, AwError> {
        self.require(bucket)?;
        let n: i64 = self
            .conn
            .prepare_cached("SELECT COUNT(*) FROM events WHERE bucket = ?1")?
            .query_row([bucket], |r| r.get(0))?;
        Ok(n.max(0) as u64)
    }

    /// Every event whose session is not fully in the vault, oldest first.
    pub fn unwritten(&mut self) -> Result<Vec<Unwritten>, AwError> {
        let mut s = self.conn.prepare_cached(
            "SELECT e.id, e.start_ns, e.duration_ns, e.data, e.written_ns, e.pending_ns,
                    b.id, b.type, b.client, b.hostname, b.created, b.data, b.pulsetime_ns
             FROM events e JOIN buckets b ON b.id = e.bucket
             WHERE e.open = 1 ORDER BY e.start_ns, e.id",
        )?;
        let (arrived, opened) = (&self.arrived, self.opened);
        let rows = s.query_map([], |r| {
            let bucket: String = r.get(6)?;
            let quiet = arrived.get(&bucket).copied().unwrap_or(opened).elapsed();
            Ok(Unwritten {
                event: event_row(r)?,
                written_ns: r.get(4)?,
                pending_ns: r.get(5)?,
                quiet,
                bucket: Bucket {
                    id: bucket,
                    kind: r.get(7)?,
                    client: r.get(8)?,
                    hostname: r.get(9)?,
                    created: r.get(10)?,
                    data: object(&r.get::<_, String>(11)?),
                },
                pulsetime_ns: r.get(12)?,
                superseded: false,
            })
        })?;
        let mut rows: Vec<Unwritten> = rows.collect::<Result<_, _>>()?;
        drop(s);
        for u in &mut rows {
            let last = self.last_event(&u.bucket.id)?;
            u.superseded = last.is_some_and(|l| l.id != u.event.id);
        }
        Ok(rows)
    }

    /// Records that the stretch of event `id` up to `end_ns` is about to be written.
    pub fn begin_write(&mut self, id: i64, end_ns: i64) -> Result<(), AwError> {
        self.conn
            .prepare_cached("UPDATE events SET pending_ns = ?2 WHERE id = ?1")?
            .execute(params![id, end_ns])?;
        Ok(())
    }

    /// Records that event `id` is in the vault up to `end_ns`; it stays open only when it
    /// has grown past that since.
    pub fn written(&mut self, id: i64, end_ns: i64) -> Result<(), AwError> {
        self.conn
            .prepare_cached(
                "UPDATE events SET written_ns = ?2, pending_ns = NULL,
                 open = (start_ns + duration_ns > ?2) WHERE id = ?1",
            )?
            .execute(params![id, end_ns])?;
        Ok(())
    }
}

fn object(text: &str) -> Map<String, Value> {
    match serde_json::from_str(text) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

fn bucket_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Bucket> {
    Ok(Bucket {
        id: r.get(0)?,
        kind: r.get(1)?,
        client: r.get(2)?,
        hostname: r.get(3)?,
        created: r.get(4)?,
        data: object(&r.get::<_, String>(5)?),
    })
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Event> {
    Ok(Event {
        id: Some(r.get(0)?),
        start_ns: r.get(1)?,
        duration_ns: r.get(2)?,
        data: object(&r.get::<_, String>(3)?),
    })
}
