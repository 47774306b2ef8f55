//! The dedup index: every dedup key in a tenant's vault, and per daily file the length the
//! index has accounted for. A small log-structured set, built for keys that are uniformly
//! random (SHA-256 digests):
//!
//! - a **filter** in memory ([`filter`]) answers most lookups of new keys with one cache
//!   miss and no I/O;
//! - keys of recent groups are in a **memtable** (a hash set) and in the **key log**
//!   ([`log`]), appended once per group commit;
//! - every 229,376 keys the memtable is frozen and written as a **sorted run** ([`run`]) by
//!   a background thread, which also merges runs of similar size four at a time, so
//!   lookups that pass the filter read a few 4 KiB blocks at most;
//! - `manifest.json` names the runs and logs that make up the index; it is replaced
//!   atomically (write, fsync, rename, fsync the directory) after each run is durable.
//!
//! Keys are stored as their first 16 bytes: a false duplicate among a billion events has
//! a chance below 10⁻²⁰. Memory: 1.75 bytes per key of filter capacity (1.25 times the keys
//! held at open, then layers of twice the last), the memtable
//! (≤ 229,376 keys), and 8 bytes per 256 keys of fences (BENCHMARKS.md, "Dedup index").
//!
//! Why not SQLite (earlier versions) or an LSM crate: a B-tree of random keys dirties a
//! random page per insert, so each group commit rewrote thousands of pages and the cost per
//! key grew with the vault; fjall 3.1 (an LSM tree) measured 2.4 µs per key empty and over
//! 100 µs at 2 million keys here with its write stalls. This set needs no values, no
//! ranges and no durability of its own, which is what makes it small.
//!
//! The vault stays the source of truth: nothing acknowledged depends on the index. Keys
//! and file lengths of a group go in one log record, so after a crash the index is behind
//! the vault, never ahead of it, and [`crate::recover`] rescans the files whose length it
//! had not accounted for. A missing or unreadable manifest or run empties the index, and
//! the whole vault is rescanned.

mod filter;
pub mod log;
pub mod run;
mod worker;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::dedup::DedupKey;
use filter::Filter;
use log::{FORGET, KeyLog};
use run::Run;
use worker::{Finished, Worker};

/// Keys in the memtable before it is frozen and written as a run: 7/8 of 2¹⁸, the most a
/// hash table of 2¹⁸ slots (4.5 MiB) holds.
const FREEZE_KEYS: usize = 7 << 15;

/// An index error: what failed, where.
#[derive(Debug, thiserror::Error)]
#[error("dedup index at {path}: {source}")]
pub struct IndexError {
    path: String,
    #[source]
    source: std::io::Error,
}

/// The manifest: the runs and logs that make up the index, and the accounted file lengths
/// as of the first of those logs.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    runs: Vec<u64>,
    logs: Vec<u64>,
    files: HashMap<String, u64>,
}

/// A memtable frozen for its run: its keys, the logs they came from and the file
/// lengths once they are all applied.
struct Frozen {
    run: u64,
    keys: Arc<KeySet>,
    logs: Vec<u64>,
    files_after: HashMap<String, u64>,
    /// Its run could not be written; sent again at the next freeze.
    failed: bool,
}

/// The per-tenant dedup index, in a directory of its own.
pub struct Index {
    dir: PathBuf,
    filter: Filter,
    memtable: KeySet,
    /// A frozen memtable's table once its run is written, emptied, for the next freeze:
    /// its pages are already mapped. A fresh 4.5 MiB table faults a page for nearly every
    /// key of its first groups, on the vault's writer thread (about 13 ms for 500 keys in
    /// a VM; BENCHMARKS.md, "Tail latency").
    spare: Option<KeySet>,
    /// Logs whose keys are in the memtable; the last is the one appended to.
    mem_logs: Vec<u64>,
    log: KeyLog,
    frozen: Vec<Frozen>,
    runs: Vec<Arc<Run>>,
    /// Accounted lengths now.
    files: HashMap<String, u64>,
    /// Accounted lengths as of the oldest log the manifest names.
    base_files: HashMap<String, u64>,
    next_id: u64,
    worker: Worker,
    /// A run write or merge failed (say, the disk is full): retried at the next freeze,
    /// not at every group, so a failing disk is not hammered and the log not flooded.
    backoff: bool,
}

/// Hashes a stored key by its own low 64 bits (a [`DedupKey`] by its first 8 bytes): keys
/// are uniformly random already, so hashing them again (SipHash, the default) would only
/// cost time.
#[derive(Clone, Copy, Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, k: u64) {
        self.0 = k;
    }

    fn write_u128(&mut self, k: u128) {
        self.0 = k as u64;
    }
}

/// A set of stored keys.
pub type KeySet = HashSet<u128, std::hash::BuildHasherDefault<KeyHasher>>;

/// A map from dedup keys, hashed by [`KeyHasher`].
pub type KeyMap<V> = HashMap<DedupKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// A set of dedup keys, hashed by [`KeyHasher`].
pub type DedupKeySet = HashSet<DedupKey, std::hash::BuildHasherDefault<KeyHasher>>;

/// A key's stored form: its first 128 bits, big-endian.
fn stored(key: &DedupKey) -> u128 {
    let mut k = [0u8; 16];
    k.copy_from_slice(&key.0[..16]);
    u128::from_be_bytes(k)
}

fn log_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("log-{id:08}.keys"))
}

impl Index {
    /// Opens (creating if needed) the index in directory `path`: reads the manifest, the
    /// runs (filling the filter) and replays the logs. A manifest or run that cannot be
    /// read empties the index (with a warning); the vault is then rescanned.
    ///
    /// Errors: the directory or a fresh log cannot be created.
    pub fn open(path: &Path) -> Result<Self, IndexError> {
        let err = |source| IndexError {
            path: path.display().to_string(),
            source,
        };
        crate::durable::create_dir_all(path).map_err(err)?;
        match Self::load(path) {
            Ok(index) => Ok(index),
            Err(e) => {
                tracing::warn!(index = %path.display(), error = %e, "dedup index unreadable; starting it empty and rescanning the vault");
                Self::empty(path, 1).map_err(err)
            }
        }
    }

    fn load(dir: &Path) -> std::io::Result<Self> {
        let manifest: Manifest = match std::fs::read(dir.join("manifest.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Manifest::default(),
            Err(e) => return Err(e),
        };
        let sizes: u64 = manifest
            .runs
            .iter()
            .map(|&id| run::path(dir, id))
            .chain(manifest.logs.iter().map(|&id| log_path(dir, id)))
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        let mut filter = Filter::with_capacity((sizes / 16) as usize * 5 / 4);
        let runs = manifest
            .runs
            .iter()
            .map(|&id| Run::open(dir, id, |k| filter.insert(k)).map(Arc::new))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut files = manifest.files.clone();
        let mut memtable = KeySet::with_capacity_and_hasher(FREEZE_KEYS, Default::default());
        let mut mem_logs = manifest.logs.clone();
        if mem_logs.is_empty() {
            mem_logs.push(manifest.runs.iter().max().map_or(1, |m| m + 1));
        }
        let mut log = None;
        for &id in &mem_logs {
            log = Some(KeyLog::open(&log_path(dir, id), |record| {
                for k in record.keys {
                    if memtable.insert(k) {
                        filter.insert(k);
                    }
                }
                apply(&mut files, record.files);
            })?);
        }
        let log = log.ok_or_else(|| std::io::Error::other("no key log"))?;
        let next_id = 1 + mem_logs
            .iter()
            .chain(&manifest.runs)
            .copied()
            .max()
            .unwrap_or(0);
        let index = Self {
            dir: dir.to_owned(),
            filter,
            memtable,
            spare: None,
            mem_logs,
            log,
            frozen: Vec::new(),
            runs,
            files,
            base_files: manifest.files,
            next_id,
            worker: Worker::start(dir)?,
            backoff: false,
        };
        index.write_manifest()?;
        index.remove_orphans();
        Ok(index)
    }

    /// A fresh, empty index whose log is number `id`; everything else in `dir` is removed.
    fn empty(dir: &Path, id: u64) -> std::io::Result<Self> {
        match std::fs::remove_file(log_path(dir, id)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let index = Self {
            dir: dir.to_owned(),
            filter: Filter::with_capacity(0),
            memtable: KeySet::with_capacity_and_hasher(FREEZE_KEYS, Default::default()),
            spare: None,
            mem_logs: vec![id],
            log: KeyLog::open(&log_path(dir, id), |_| {})?,
            frozen: Vec::new(),
            runs: Vec::new(),
            files: HashMap::new(),
            base_files: HashMap::new(),
            next_id: id + 1,
            worker: Worker::start(dir)?,
            backoff: false,
        };
        index.write_manifest()?;
        index.remove_orphans();
        Ok(index)
    }

    fn err(&self, source: std::io::Error) -> IndexError {
        IndexError {
            path: self.dir.display().to_string(),
            source,
        }
    }

    /// Whether the index holds `key`. Most new keys are settled by the filter alone.
    ///
    /// Errors: a run could not be read.
    pub fn contains(&self, key: &DedupKey) -> Result<bool, IndexError> {
        let k = stored(key);
        if !self.filter.may_contain(k) {
            return Ok(false);
        }
        if self.memtable.contains(&k) || self.frozen.iter().any(|f| f.keys.contains(&k)) {
            return Ok(true);
        }
        for run in &self.runs {
            if run.contains(k).map_err(|e| self.err(e))? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Adds `keys` and records the accounted length of each of `files` (vault-relative path,
    /// bytes): one log record (none for a group that stored nothing, such as a resend),
    /// then memory. Freezes the memtable when it is full and takes in the runs the
    /// background thread has finished.
    ///
    /// Errors: the log could not be written (nothing was added).
    pub fn record<'a>(
        &mut self,
        keys: impl IntoIterator<Item = &'a DedupKey>,
        files: &[(&str, u64)],
    ) -> Result<(), IndexError> {
        let keys: Vec<u128> = keys.into_iter().map(stored).collect();
        if !self.memtable.is_empty() && self.memtable.len() + keys.len() > FREEZE_KEYS {
            // Frozen first, so these keys go to a fresh table: one past its capacity
            // would rehash all of them on the vault's writer thread, a stall of tens of
            // ms (BENCHMARKS.md, "Tail latency").
            self.freeze().map_err(|e| self.err(e))?;
        }
        if !keys.is_empty() || !files.is_empty() {
            self.log
                .append(keys.iter().copied(), files)
                .map_err(|e| self.err(e))?;
        }
        for k in keys {
            if self.memtable.insert(k) {
                self.filter.insert(k);
            }
        }
        apply(
            &mut self.files,
            files.iter().map(|&(p, l)| (p.to_owned(), l)),
        );
        self.maintain().map_err(|e| self.err(e))
    }

    /// The byte length of `path` the index has accounted for, if any.
    pub fn file_len(&self, path: &str) -> Option<u64> {
        self.files.get(path).copied()
    }

    /// Every file the index knows, with its accounted length.
    pub fn files(&self) -> Vec<(String, u64)> {
        self.files.iter().map(|(p, &l)| (p.clone(), l)).collect()
    }

    /// Forgets a file (it was removed from the vault); its keys stay, so a resend of what
    /// it held is still skipped.
    ///
    /// Errors: the log could not be written.
    pub fn forget_file(&mut self, path: &str) -> Result<(), IndexError> {
        self.log
            .append(std::iter::empty(), &[(path, FORGET)])
            .map_err(|e| self.err(e))?;
        self.files.remove(path);
        Ok(())
    }

    /// Empties the index (keys and files), for a full rebuild from the vault.
    ///
    /// Errors: a fresh log or manifest cannot be written.
    pub fn clear(&mut self) -> Result<(), IndexError> {
        self.worker.stop();
        let id = self.next_id;
        *self = Self::empty(&self.dir, id).map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Freezes a full memtable, installs finished runs, starts merges.
    fn maintain(&mut self) -> std::io::Result<()> {
        for done in self.worker.finished() {
            self.install(done)?;
        }
        if self.memtable.len() >= FREEZE_KEYS {
            self.freeze()?;
        }
        if !self.backoff
            && !self.worker.busy_merging()
            && let Some(inputs) = run::tier_to_merge(&self.runs)
        {
            self.worker.merge(self.next_id, inputs);
            self.next_id += 1;
        }
        Ok(())
    }

    fn freeze(&mut self) -> std::io::Result<()> {
        let log_id = self.next_id;
        let run_id = self.next_id + 1;
        self.next_id += 2;
        let log = KeyLog::open(&log_path(&self.dir, log_id), |_| {})?;
        self.log = log;
        let next = self
            .spare
            .take()
            .unwrap_or_else(|| KeySet::with_capacity_and_hasher(FREEZE_KEYS, Default::default()));
        let keys = Arc::new(std::mem::replace(&mut self.memtable, next));
        self.frozen.push(Frozen {
            run: run_id,
            keys: keys.clone(),
            logs: std::mem::replace(&mut self.mem_logs, vec![log_id]),
            files_after: self.files.clone(),
            failed: false,
        });
        self.write_manifest()?;
        self.backoff = false;
        for f in self.frozen.iter_mut().filter(|f| f.failed) {
            f.failed = false;
            self.worker.flush(f.run, f.keys.clone());
        }
        self.worker.flush(run_id, keys);
        Ok(())
    }

    fn install(&mut self, done: Finished) -> std::io::Result<()> {
        match done {
            Finished::Flushed(id, Ok(run)) => {
                let Some(pos) = self.frozen.iter().position(|f| f.run == id) else {
                    return Ok(());
                };
                let frozen = self.frozen.remove(pos);
                if let Ok(mut table) = Arc::try_unwrap(frozen.keys) {
                    table.clear();
                    self.spare = Some(table);
                }
                self.runs.push(Arc::new(run));
                self.base_files = frozen.files_after;
                self.write_manifest()?;
                for id in frozen.logs {
                    let _ = std::fs::remove_file(log_path(&self.dir, id));
                }
            }
            Finished::Flushed(id, Err(e)) => {
                let _ = std::fs::remove_file(run::path(&self.dir, id));
                if let Some(f) = self.frozen.iter_mut().find(|f| f.run == id) {
                    f.failed = true;
                }
                if !self.backoff {
                    tracing::warn!(run = id, error = %e, "dedup index run not written; its keys stay in memory and in the key log, retried at the next run");
                }
                self.backoff = true;
            }
            Finished::Merged(inputs, Ok(run)) => {
                self.runs.retain(|r| !inputs.contains(&r.id));
                self.runs.push(Arc::new(run));
                self.write_manifest()?;
                for id in inputs {
                    let _ = std::fs::remove_file(run::path(&self.dir, id));
                }
            }
            Finished::Merged(_, Err(e)) => {
                if !self.backoff {
                    tracing::warn!(error = %e, "dedup index merge failed; the runs stay as they were, retried after the next run");
                }
                self.backoff = true;
            }
        }
        Ok(())
    }

    /// Replaces the manifest atomically: write, fsync, rename, fsync the directory.
    fn write_manifest(&self) -> std::io::Result<()> {
        let manifest = Manifest {
            runs: self.runs.iter().map(|r| r.id).collect(),
            logs: self
                .frozen
                .iter()
                .flat_map(|f| f.logs.iter().copied())
                .chain(self.mem_logs.iter().copied())
                .collect(),
            files: self.base_files.clone(),
        };
        let bytes = serde_json::to_vec(&manifest).map_err(std::io::Error::other)?;
        crate::durable::write(&self.dir.join("manifest.json"), &bytes)
    }

    /// Removes runs and logs the manifest does not name (left by a crash or a clear).
    fn remove_orphans(&self) {
        let keep: HashSet<PathBuf> = self
            .runs
            .iter()
            .map(|r| run::path(&self.dir, r.id))
            .chain(self.mem_logs.iter().map(|&id| log_path(&self.dir, id)))
            .collect();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let p = entry.path();
            let ours = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".keys") || n.ends_with(".tmp"));
            if ours && !keep.contains(&p) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// Applies accounted lengths ([`FORGET`] forgets the file).
fn apply(files: &mut HashMap<String, u64>, updates: impl IntoIterator<Item = (String, u64)>) {
    for (path, len) in updates {
        if len == FORGET {
            files.remove(&path);
        } else {
            files.insert(path, len);
        }
    }
}

#[cfg(test)]
mod tests;
