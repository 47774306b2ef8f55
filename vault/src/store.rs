//! A tenant's vault: one writer thread per tenant that appends entries with group commit.
//!
//! Callers prepare batches on their own threads ([`crate::prepare`]) and submit them; the
//! writer drains every batch waiting, dedups them in arrival order, appends each daily
//! file's new entries in one `write`, fsyncs each touched file once for the whole group,
//! records the keys in the index and only then answers. So concurrent batches never
//! interleave inside a file, and one fsync serves many batches.

use std::collections::HashMap;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use jiff::tz::TimeZone;

use crate::batch::{Batch, Receipt};
use crate::dedup::DedupKey;
use crate::error::StoreError;
use crate::forget::{self, Forgotten, Selection};
use crate::index::{DedupKeySet, Index, IndexError, KeyMap};
use crate::journal::{Journal, Record, replay};
use crate::prepare::{Prepared, prepare};
use crate::recover::{RecoveryReport, reconcile};
use crate::render::render_header;
use crate::sanitize::Policy;
use crate::source::SourceType;

/// Most batches one group commit takes from the queue.
const MAX_GROUP: usize = 512;

/// Where a tenant's vault and index live, and how its text is treated.
#[derive(Debug, Clone)]
pub struct VaultConfig {
    /// The vault root: an Obsidian-compatible folder; created if missing.
    pub root: PathBuf,
    /// The dedup index's directory ([`crate::index`]); created if missing, rebuilt from the
    /// vault if lost.
    pub index_path: PathBuf,
    /// The zone that decides daily files and shown times (CONTRACT.md: default UTC).
    pub tz: TimeZone,
    /// Sanitization switches.
    pub policy: Policy,
    /// Told what each group commit wrote, after its fsync (the search index's feed), and
    /// which files a forget rewrote.
    pub on_written: Option<OnWritten>,
    /// `[retention]`: how long each listed source type's entries are kept. The writer skips
    /// (counts as skipped, stores nothing) an event older than that, so what retention
    /// removed is not stored again by a resend ([`crate::forget`]).
    pub retention: Vec<(SourceType, jiff::SignedDuration)>,
}

/// A listener the vault's writer thread calls after each group commit's fsync with the
/// vault-relative paths (forward slashes) of the daily files it appended to. It runs on
/// the writer thread, before the batches are answered: it must only hand the paths on
/// (a bounded queue's `try_send`), never wait.
#[derive(Clone)]
pub struct OnWritten(pub std::sync::Arc<WrittenFn>);

/// What [`OnWritten`] calls: the vault-relative paths of one group commit's daily files.
pub type WrittenFn = dyn Fn(Vec<String>) + Send + Sync;

impl std::fmt::Debug for OnWritten {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnWritten(..)")
    }
}

/// What the caller is told when its batch is done.
pub type Done = Box<dyn FnOnce(Result<Receipt, StoreError>) + Send>;

enum Job {
    Batch(Prepared, Done),
    Reindex(Box<dyn FnOnce(Result<RecoveryReport, StoreError>) + Send>),
    Forget(
        Selection,
        bool,
        Box<dyn FnOnce(Result<Forgotten, StoreError>) + Send>,
    ),
}

/// A tenant's open vault. Dropping it finishes the queued batches and stops the writer.
pub struct Vault {
    tz: TimeZone,
    policy: Policy,
    tx: Mutex<Option<Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// What reconciling with the vault at open did.
    pub recovered: RecoveryReport,
}

impl Vault {
    /// Opens the vault root as a capability (`cap_std::fs::Dir`), cuts back the appends a
    /// crash left unfinished (the journal beside the index, [`crate::journal`]), opens the
    /// index, brings it in line with the vault and starts the writer.
    ///
    /// Errors: the root or index cannot be created or opened, or a vault file cannot be read.
    pub fn open(cfg: VaultConfig) -> Result<Self, StoreError> {
        let root_name = cfg.root.display().to_string();
        crate::durable::create_dir_all(&cfg.root).map_err(|e| StoreError::io(&root_name, e))?;
        if let Some(parent) = cfg.index_path.parent() {
            crate::durable::create_dir_all(parent)
                .map_err(|e| StoreError::io(&parent.display().to_string(), e))?;
        }
        let dir = Dir::open_ambient_dir(&cfg.root, ambient_authority())
            .map_err(|e| StoreError::io(&root_name, e))?;
        let mut journal = Journal::open(&cfg.index_path.with_file_name("appends.journal"))?;
        let torn_tails = replay(&dir, &mut journal)?;
        let paths = forget::Paths::beside(&cfg.index_path);
        forget::resume(&cfg.root, &dir, &cfg.tz, &paths)?;
        let mut index = Index::open(&cfg.index_path)?;
        let recovered = RecoveryReport {
            torn_tails,
            ..reconcile(&dir, &mut index, &paths.tombstones, false)?
        };
        let (tx, rx) = channel();
        let writer = Writer {
            dir,
            index,
            journal,
            uncut: HashMap::new(),
            lens: HashMap::new(),
            unindexed: DedupKeySet::default(),
            on_written: cfg.on_written,
            root: cfg.root.clone(),
            tz: cfg.tz.clone(),
            paths,
            retention: cfg.retention,
        };
        let handle = std::thread::Builder::new()
            .name("vault-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| StoreError::io(&root_name, e))?;
        Ok(Self {
            tz: cfg.tz,
            policy: cfg.policy,
            tx: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            recovered,
        })
    }

    /// Keys, sanitization and rendering for this tenant; call on any thread.
    pub fn prepare(&self, batch: Batch) -> Prepared {
        prepare(batch, &self.tz, self.policy)
    }

    /// [`Vault::prepare`] with the events' dedup keys computed already
    /// ([`crate::prepare::prepare_keyed`]).
    pub fn prepare_keyed(&self, batch: Batch, keys: Vec<crate::DedupKey>) -> Prepared {
        crate::prepare::prepare_keyed(batch, keys, &self.tz, self.policy)
    }

    /// Queues a prepared batch; `done` runs on the writer thread once the batch is durably
    /// stored (fsync) or has failed.
    pub fn submit(&self, prepared: Prepared, done: Done) {
        self.send(Job::Batch(prepared, done), |job| {
            if let Job::Batch(_, done) = job {
                done(Err(StoreError::Closed));
            }
        });
    }

    /// Prepares, submits and waits: the direct pipeline for callers without a runtime.
    pub fn ingest(&self, batch: Batch) -> Result<Receipt, StoreError> {
        let (tx, rx) = channel();
        self.submit(self.prepare(batch), Box::new(move |r| drop(tx.send(r))));
        rx.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Rebuilds the index from the vault's markers, in line with queued writes; blocks.
    pub fn reindex(&self) -> Result<RecoveryReport, StoreError> {
        let (tx, rx) = channel();
        self.send(Job::Reindex(Box::new(move |r| drop(tx.send(r)))), |_| {});
        rx.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Removes the selected host entries from the daily files (or, with `dry_run`, says
    /// what it would remove), in line with queued writes; blocks. See [`crate::forget`].
    ///
    /// Errors: a daily file, the tombstone file or the forget journal cannot be read or
    /// written (an interrupted forget is finished at the next open).
    pub fn forget(&self, selection: Selection, dry_run: bool) -> Result<Forgotten, StoreError> {
        let (tx, rx) = channel();
        let job = Job::Forget(selection, dry_run, Box::new(move |r| drop(tx.send(r))));
        self.send(job, |_| {});
        rx.recv().unwrap_or(Err(StoreError::Closed))
    }

    fn send(&self, job: Job, on_closed: impl FnOnce(Job)) {
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(tx) => {
                if let Err(e) = tx.send(job) {
                    on_closed(e.0);
                }
            }
            None => on_closed(job),
        }
    }

    /// Stops taking batches, lets the writer finish every queued one and waits for it.
    pub fn close(&self) {
        drop(self.tx.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some(h) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        self.close();
    }
}

struct Writer {
    dir: Dir,
    index: Index,
    journal: Journal,
    /// Files whose failed append could not be cut back (path → the offset it started
    /// at): kept in every journal until cut, and no append goes to them before that.
    uncut: HashMap<String, u64>,
    /// File lengths as this writer last left them: a file still that long ends in `\n`.
    lens: HashMap<String, u64>,
    /// Keys durably in the vault whose index commit failed; retried with the next group.
    unindexed: DedupKeySet,
    /// Told the files of each group after its fsync.
    on_written: Option<OnWritten>,
    /// The vault root, for rewriting files whole ([`crate::durable::write`]).
    root: PathBuf,
    /// The tenant's zone: which instants a daily file's headings are.
    tz: TimeZone,
    /// The forget journal and the tombstone file.
    paths: forget::Paths,
    /// `[retention]` ([`VaultConfig::retention`]).
    retention: Vec<(SourceType, jiff::SignedDuration)>,
}

/// A file opened for its append, with the bytes to append at `offset` (its length).
struct Staged {
    file: std::fs::File,
    offset: u64,
    data: Vec<u8>,
}

/// The new entries of one daily file in a group.
struct FileWrite {
    path: String,
    source_type: SourceType,
    date: jiff::civil::Date,
    text: String,
    keys: Vec<DedupKey>,
    result: Result<u64, String>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut batches = Vec::new();
            let mut next = Some(first);
            while let Some(job) = next.take() {
                match job {
                    Job::Batch(p, done) => batches.push((p, done)),
                    Job::Reindex(done) => {
                        self.commit_group(std::mem::take(&mut batches));
                        self.lens.clear();
                        done(reconcile(
                            &self.dir,
                            &mut self.index,
                            &self.paths.tombstones,
                            true,
                        ));
                    }
                    Job::Forget(selection, dry_run, done) => {
                        self.commit_group(std::mem::take(&mut batches));
                        done(self.forget(&selection, dry_run));
                    }
                }
                if batches.len() < MAX_GROUP {
                    next = rx.try_recv().ok();
                }
            }
            self.commit_group(batches);
        }
    }

    /// One group commit: dedup and place every batch, append and fsync each touched file
    /// once, then record the written keys and file lengths in the index.
    fn commit_group(&mut self, batches: Vec<(Prepared, Done)>) {
        if batches.is_empty() {
            return;
        }
        let mut files: Vec<FileWrite> = Vec::new();
        let mut group = KeyMap::default();
        let placed = batches
            .iter()
            .map(|(p, _)| self.place(p, &mut files, &mut group))
            .collect::<Result<Vec<_>, _>>();
        let outcomes = match placed {
            Ok(o) => o,
            Err(e) => {
                tracing::error!(error = %e, "dedup index failed; the group was not written");
                for (_, done) in batches {
                    done(Err(StoreError::Index(e.to_string())));
                }
                return;
            }
        };
        self.append_all(&mut files);
        self.record(&files);
        if let Some(listener) = &self.on_written {
            let written: Vec<String> = files
                .iter()
                .filter(|fw| fw.result.is_ok())
                .map(|fw| fw.path.clone())
                .collect();
            if !written.is_empty() {
                (listener.0)(written);
            }
        }
        for ((prepared, done), (stored, skipped, deps)) in batches.into_iter().zip(outcomes) {
            let failed = deps
                .iter()
                .find_map(|&i| files[i].result.as_ref().err().map(|e| (i, e)));
            let result = match failed {
                Some((i, e)) => Err(StoreError::Io {
                    path: files[i].path.clone(),
                    message: e.clone(),
                }),
                None => {
                    let last = prepared.entries.last().map_or(0, |e| e.file);
                    Ok(Receipt {
                        tally: crate::Tally::new(u64::from(stored), u64::from(skipped)),
                        file: prepared.files.get(last).cloned().unwrap_or_default(),
                        files: prepared.files,
                    })
                }
            };
            done(result);
        }
    }

    /// Dedups a batch's entries against the index and the group so far and places the new
    /// ones in their files. Returns (stored, skipped, indices of the files it depends on).
    fn place(
        &self,
        p: &Prepared,
        files: &mut Vec<FileWrite>,
        group: &mut KeyMap<usize>,
    ) -> Result<(u32, u32, Vec<usize>), IndexError> {
        let (mut stored, mut skipped, mut deps) = (0, 0, Vec::new());
        let kept_from = self
            .retention
            .iter()
            .find(|(s, _)| *s == p.source_type)
            .and_then(|(_, keep)| jiff::Timestamp::now().checked_sub(*keep).ok())
            .map(|t| t.as_millisecond() as f64 / 1e3);
        for e in &p.entries {
            if kept_from.is_some_and(|from| e.at < from) {
                skipped += 1;
                continue;
            }
            if let Some(&fi) = group.get(&e.key) {
                skipped += 1;
                deps.push(fi);
                continue;
            }
            if self.unindexed.contains(&e.key) || self.index.contains(&e.key)? {
                skipped += 1;
                continue;
            }
            let path = &p.files[e.file];
            let fi = match files.iter().position(|f| f.path == *path) {
                Some(i) => i,
                None => {
                    files.push(FileWrite {
                        path: path.clone(),
                        source_type: p.source_type,
                        date: e.date,
                        text: String::new(),
                        keys: Vec::new(),
                        result: Ok(0),
                    });
                    files.len() - 1
                }
            };
            files[fi].text.push_str(&e.text);
            files[fi].keys.push(e.key);
            group.insert(e.key, fi);
            stored += 1;
            deps.push(fi);
        }
        Ok((stored, skipped, deps))
    }

    /// Appends every file's new entries: opens and stages each, journals the planned
    /// appends (fsynced), then writes and fsyncs each file and empties the journal. Sets
    /// each file's result: its new length, or why it failed (then it was cut back).
    fn append_all(&mut self, files: &mut [FileWrite]) {
        let mut staged: Vec<Result<Staged, String>> =
            files.iter().map(|fw| self.stage(fw)).collect();
        let records: Vec<Record> = staged
            .iter()
            .zip(files.iter())
            .filter_map(|(s, fw)| {
                s.as_ref()
                    .ok()
                    .map(|s| Record::new(&fw.path, s.offset, &s.data))
            })
            .chain(
                self.uncut
                    .iter()
                    .map(|(path, &offset)| Record::unfinished(path, offset)),
            )
            .collect();
        if let Err(e) = self.journal.begin(&records) {
            tracing::error!(error = %e, "append journal failed; the group was not written");
            for s in &mut staged {
                if s.is_ok() {
                    *s = Err(format!("append journal: {e}"));
                }
            }
        }
        for (fw, s) in files.iter_mut().zip(staged) {
            fw.result = s.and_then(|s| self.write(&fw.path, s));
        }
        self.journal.clear();
    }

    /// Opens (creating) a file and prepares what to append: the front matter if the file
    /// is new, a line break if someone left it without one, then the entries.
    fn stage(&mut self, fw: &FileWrite) -> Result<Staged, String> {
        let path = fw.path.as_str();
        let opts = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .clone();
        if let Some(&offset) = self.uncut.get(path) {
            let file = self.dir.open_with(path, OpenOptions::new().write(true));
            file.and_then(|f| f.set_len(offset).and_then(|()| f.sync_all()))
                .map_err(|e| format!("an earlier failed append could not be cut back yet: {e}"))?;
            self.uncut.remove(path);
        }
        let (file, created_folder) = match self.dir.open_with(path, &opts) {
            Ok(f) => (f, false),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.dir
                    .create_dir_all(fw.source_type.folder())
                    .map_err(|e| e.to_string())?;
                (
                    self.dir.open_with(path, &opts).map_err(|e| e.to_string())?,
                    true,
                )
            }
            Err(e) => return Err(e.to_string()),
        };
        let file = file.into_std();
        let offset = file.metadata().map_err(|e| e.to_string())?.len();
        let mut data = String::with_capacity(fw.text.len() + 256);
        if offset == 0 {
            self.sync_dir(fw.source_type.folder(), created_folder)
                .map_err(|e| e.to_string())?;
            render_header(&mut data, fw.source_type, fw.date);
        } else if self.lens.get(path) != Some(&offset) {
            let mut last = [0u8];
            file.read_exact_at(&mut last, offset - 1)
                .map_err(|e| e.to_string())?;
            if last[0] != b'\n' {
                data.push('\n');
            }
        }
        data.push_str(&fw.text);
        Ok(Staged {
            file,
            offset,
            data: data.into_bytes(),
        })
    }

    /// Appends a staged file's bytes and fsyncs. On failure the file is cut back to its
    /// old length. Returns the new length.
    fn write(&mut self, path: &str, s: Staged) -> Result<u64, String> {
        let Staged {
            mut file,
            offset,
            data,
        } = s;
        let written = file.write_all(&data).and_then(|()| file.sync_data());
        if let Err(e) = written {
            if file
                .set_len(offset)
                .and_then(|()| file.sync_data())
                .is_err()
            {
                self.uncut.insert(path.to_owned(), offset);
            }
            self.lens.remove(path);
            tracing::error!(file = %path, error = %e, "vault write failed; the file was cut back to its previous length");
            return Err(e.to_string());
        }
        let new_len = offset + data.len() as u64;
        self.lens.insert(path.to_owned(), new_len);
        Ok(new_len)
    }

    /// Makes a new file's directory entry durable (and the folder's, if it is new), before
    /// anything is written into the file.
    fn sync_dir(&self, folder: &str, also_root: bool) -> std::io::Result<()> {
        self.dir.open(folder)?.sync_all()?;
        if also_root {
            self.dir.open(".")?.sync_all()?;
        }
        Ok(())
    }

    /// A forget on the writer thread ([`Vault::forget`]): the append journal is made empty
    /// on disk first (a stale record of a completed append must not cut a file the forget
    /// shortened), then [`forget::run`]; the index then accounts for the new lengths and
    /// the tombstones, and the search index is told which files changed.
    fn forget(&mut self, sel: &Selection, dry_run: bool) -> Result<Forgotten, StoreError> {
        if dry_run {
            let plans = forget::plan(&self.dir, &self.tz, sel)?;
            return Ok(forget::report(&plans, true));
        }
        self.journal.settle()?;
        let (report, _) = forget::run(&self.root, &self.dir, &self.tz, &self.paths, sel, None)?;
        let tombstones = crate::tombstone::len(&self.paths.tombstones)?;
        let mut lens: Vec<(&str, u64)> = vec![(crate::tombstone::INDEX_NAME, tombstones)];
        for f in &report.files {
            self.lens.remove(&f.path);
            if f.removed {
                self.index
                    .forget_file(&f.path)
                    .map_err(|e| StoreError::Index(e.to_string()))?;
            } else {
                lens.push((&f.path, f.bytes_after));
            }
        }
        self.index
            .record(std::iter::empty(), &lens)
            .map_err(|e| StoreError::Index(e.to_string()))?;
        if let Some(listener) = &self.on_written
            && !report.files.is_empty()
        {
            (listener.0)(report.files.iter().map(|f| f.path.clone()).collect());
        }
        Ok(report)
    }

    /// Records the keys and new lengths of the files written, with any keys a failed
    /// record left in memory. If that fails, the written keys are kept in memory and
    /// retried with the next group, so dedup stays right while the vault (the source of
    /// truth) has them.
    fn record(&mut self, files: &[FileWrite]) {
        let written = || files.iter().filter(|fw| fw.result.is_ok());
        let lens: Vec<(&str, u64)> = files
            .iter()
            .filter_map(|fw| Some((fw.path.as_str(), *fw.result.as_ref().ok()?)))
            .collect();
        let keys = written().flat_map(|fw| fw.keys.iter());
        match self.index.record(keys.chain(self.unindexed.iter()), &lens) {
            Ok(()) => self.unindexed.clear(),
            Err(e) => {
                tracing::error!(error = %e, "dedup index write failed; the keys are kept in memory and retried");
                for fw in written() {
                    self.unindexed.extend(fw.keys.iter().copied());
                }
            }
        }
    }
}
