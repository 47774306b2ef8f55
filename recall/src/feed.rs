//! The indexer: one thread per tenant owning the index's write connection. The vault's
//! writer hands it the daily files each group commit fsynced ([`Feed::written`]) through a
//! bounded queue and never waits: when the queue is full the notice is dropped and the
//! index marked behind, and the indexer scans the whole vault once it gets to it. It also
//! scans at start (what was written while the host was down, and a person's edits) and
//! every [`RESCAN`] (a person's edits to days the host does not append to).
//!
//! The index must never slow the write path. While the writer is busy the indexer only
//! gathers notices: it reads the files once the writer has been quiet for [`QUIET`], or
//! [`MAX_LAG`] after the first notice it holds, whichever comes first, so a burst is
//! indexed after it (one pass per file, read in bounded chunks), and under a load that
//! never pauses the index is at most about [`MAX_LAG`] behind. It runs at the lowest CPU
//! priority (nice 19; on Linux a thread's own), and a host stopping does not wait for it:
//! what it has not read, the scan at the next start reads.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

use crate::schema::{self, IndexError};
use crate::sync::{self, Synced};

/// Notices the queue holds before the index is marked behind.
const QUEUE: usize = 4096;

/// How often the indexer scans the whole vault when nothing else asks it to.
pub const RESCAN: Duration = Duration::from_secs(300);

/// How long the writer must be quiet before the indexer reads what it was told about.
pub const QUIET: Duration = Duration::from_millis(250);

/// The longest the indexer holds notices while the writer stays busy.
pub const MAX_LAG: Duration = Duration::from_secs(30);

enum Msg {
    Files(Vec<String>),
    /// Scan the vault (`true`: into a new, empty index) and answer.
    Scan(bool, std::sync::mpsc::Sender<Result<Synced, String>>),
    /// Read these files now (with what is held), checkpoint the log, and answer.
    Sync(Vec<String>, std::sync::mpsc::Sender<Result<(), String>>),
}

/// A tenant's indexer (see the module's docs). Dropping it finishes the queued notices
/// and stops the thread.
pub struct Feed {
    tx: Mutex<Option<SyncSender<Msg>>>,
    stop: Arc<AtomicBool>,
    behind: Arc<AtomicBool>,
    dropped: Arc<AtomicU64>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Feed {
    /// Opens (or rebuilds: [`schema::open`]) the index at `index` for the vault at `root`
    /// and starts its thread, which first scans the vault. Errors: the index cannot be
    /// created, or the thread cannot start.
    pub fn start(index: PathBuf, root: PathBuf) -> Result<Self, IndexError> {
        let conn = schema::open(&index)?;
        let index_path = index.clone();
        let (tx, rx) = sync_channel(QUEUE);
        let behind = Arc::new(AtomicBool::new(true));
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, stopping) = (behind.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("recall-indexer".into())
            .spawn(move || run(conn, &index_path, root, rx, flag, &stopping))
            .map_err(|source| IndexError::Io {
                path: index.display().to_string(),
                source,
            })?;
        Ok(Self {
            tx: Mutex::new(Some(tx)),
            stop,
            behind,
            dropped: Arc::new(AtomicU64::new(0)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Hands the indexer vault-relative daily files that were just fsynced. Never blocks:
    /// with the queue full, the index is marked behind and caught up by a scan.
    pub fn written(&self, files: Vec<String>) {
        let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let Some(tx) = tx.as_ref() else { return };
        match tx.try_send(Msg::Files(files)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.behind.store(true, Ordering::Relaxed);
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    /// Notices dropped because the queue was full (each caught up by a scan).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Scans the whole vault now, after what is queued, and waits for it; with `anew`,
    /// into a new, empty index (`openclone vault reindex`). Errors: the indexer has
    /// stopped, or the scan failed (its reason).
    pub fn scan(&self, anew: bool) -> Result<Synced, String> {
        self.ask(|reply| Msg::Scan(anew, reply))
    }

    /// Reads `files` into the index now, with the notices held, and waits for it; then
    /// checkpoints the index's write-ahead log, so text a forget removed from those files
    /// is gone from the index's files too (`secure_delete` overwrote its pages). Errors:
    /// the indexer has stopped, or the update failed (its reason).
    pub fn sync(&self, files: Vec<String>) -> Result<(), String> {
        self.ask(|reply| Msg::Sync(files, reply))
    }

    /// Sends the message `make` builds around a reply channel and waits for the answer.
    fn ask<T>(
        &self,
        make: impl FnOnce(std::sync::mpsc::Sender<Result<T, String>>) -> Msg,
    ) -> Result<T, String> {
        let (reply, answer) = std::sync::mpsc::channel();
        {
            let tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
            let tx = tx.as_ref().ok_or("the indexer has stopped")?;
            tx.send(make(reply))
                .map_err(|_| "the indexer has stopped")?;
        }
        answer
            .recv()
            .map_err(|_| "the indexer has stopped".to_owned())?
    }

    /// Stops the thread after the transaction in hand, leaving what is queued to the scan
    /// at the next start (the index is a cache: a host stopping never waits for it to catch
    /// up); later notices are ignored.
    pub fn close(&self) {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.close();
    }
}

fn run(
    mut conn: Connection,
    index: &std::path::Path,
    root: PathBuf,
    rx: Receiver<Msg>,
    behind: Arc<AtomicBool>,
    stop: &AtomicBool,
) {
    let scan = |conn: &mut Connection| {
        behind.store(false, Ordering::Relaxed);
        let started = std::time::Instant::now();
        let r = sync::all_unless(conn, &root, &|| stop.load(Ordering::Relaxed));
        match &r {
            Ok(s) if s.files_read > 0 || s.files_gone > 0 => {
                tracing::info!(vault = %root.display(), files = s.files_read, entries = s.entries, gone = s.files_gone, ms = started.elapsed().as_millis() as u64, "search index brought in line with the vault");
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(vault = %root.display(), error = %e, "search index scan failed; retried at the next");
            }
        }
        r.map_err(|e| e.to_string())
    };
    if let Err(e) = rustix::process::setpriority_process(None, 19) {
        tracing::debug!(error = %e, "the search indexer keeps the normal CPU priority");
    }
    let _ = scan(&mut conn);
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        match rx.recv_timeout(RESCAN) {
            Ok(first @ (Msg::Files(_) | Msg::Sync(..))) => {
                let mut held = Held::default();
                held.take(first);
                let since = std::time::Instant::now();
                while held.scans.is_empty()
                    && held.syncs.is_empty()
                    && !stop.load(Ordering::Relaxed)
                {
                    let left = MAX_LAG.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        break;
                    }
                    match rx.recv_timeout(QUIET.min(left)) {
                        Ok(msg) => held.take(msg),
                        Err(_) => break,
                    }
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let Held {
                    files,
                    syncs,
                    scans,
                } = held;
                let mut made = Ok(());
                if scans.iter().any(|s| s.0) {
                    (conn, made) = anew(conn, index);
                }
                let synced = if behind.load(Ordering::Relaxed) || !scans.is_empty() {
                    let r = made.and_then(|()| scan(&mut conn));
                    for (_, reply) in scans {
                        let _ = reply.send(r.clone());
                    }
                    r.map(|_| ())
                } else {
                    sync_files(&mut conn, &root, &files).map_err(|e| {
                        tracing::warn!(vault = %root.display(), error = %e, "search index update failed; the next scan catches up");
                        behind.store(true, Ordering::Relaxed);
                        e.to_string()
                    })
                };
                if !syncs.is_empty() {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                }
                for reply in syncs {
                    let _ = reply.send(synced.clone());
                }
            }
            Ok(Msg::Scan(fresh, reply)) => {
                let mut made = Ok(());
                if fresh {
                    (conn, made) = anew(conn, index);
                }
                let _ = reply.send(made.and_then(|()| scan(&mut conn)));
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = scan(&mut conn);
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// What the indexer holds while it waits for the writer to be quiet.
#[derive(Default)]
struct Held {
    files: BTreeSet<String>,
    syncs: Vec<std::sync::mpsc::Sender<Result<(), String>>>,
    scans: Vec<(bool, std::sync::mpsc::Sender<Result<Synced, String>>)>,
}

impl Held {
    fn take(&mut self, msg: Msg) {
        match msg {
            Msg::Files(more) => self.files.extend(more),
            Msg::Sync(more, reply) => {
                self.files.extend(more);
                self.syncs.push(reply);
            }
            Msg::Scan(anew, reply) => self.scans.push((anew, reply)),
        }
    }
}

fn sync_files(
    conn: &mut Connection,
    root: &std::path::Path,
    files: &BTreeSet<String>,
) -> Result<(), IndexError> {
    let tx = conn.transaction().map_err(|source| IndexError::Sqlite {
        path: "search index".into(),
        source,
    })?;
    for rel in files {
        sync::file(&tx, root, rel)?;
    }
    tx.commit().map_err(|source| IndexError::Sqlite {
        path: "search index".into(),
        source,
    })
}

/// A new, empty index in place of `conn`'s. The old file is unlinked first; if the new one
/// cannot be made, `conn` (still open on the unlinked file) is kept, with the reason.
fn anew(conn: Connection, index: &std::path::Path) -> (Connection, Result<(), String>) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = index.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
    match schema::open(index) {
        Ok(fresh) => (fresh, Ok(())),
        Err(e) => (conn, Err(e.to_string())),
    }
}
