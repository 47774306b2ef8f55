//! Forgetting: removing the host's entries of a time range from the daily files, so that a
//! person can take back what was captured (`openclone forget`, `[retention]`;
//! CONTRACT.md, "Forget and retention").
//!
//! Only host entries go (a heading closed by its marker, [`crate::read::host_spans`]), with
//! the blank line before each; every other byte of a file — the person's own text, their
//! edits to the front matter, lines that are not UTF-8 — stays as it was. A daily file left
//! with nothing but the front matter and title the host wrote is removed.
//!
//! Each file is replaced whole ([`crate::durable::write`]: temporary file, fsync, rename,
//! fsync of the folder), so a power cut leaves it before or after, never torn. A forget
//! that spans several files is journalled first ([`Journal`], beside the index): the
//! selection and how far the tombstone file had got. If the host stops midway, the next
//! open finishes it ([`resume`]) before anything else is written.
//!
//! A forget records each removed entry's dedup key as a **tombstone** ([`crate::tombstone`])
//! so a resend of a forgotten event is skipped, not stored again; the dedup index keeps
//! these keys, and a rebuilt index takes them back from the tombstone file. Retention
//! ([`Selection::tombstone`] false) records none: the writer skips events older than a
//! source type's retention instead ([`crate::VaultConfig::retention`]).

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cap_std::fs::Dir;
use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::dedup::DedupKey;
use crate::error::StoreError;
use crate::read::host_spans;
use crate::render::render_header;
use crate::source::SourceType;

/// How often a file a person changed while it was being rewritten is read again before
/// the forget gives up on it (it is then named in the error, and left as it was).
const ATTEMPTS: usize = 5;

/// What to forget: the host entries whose heading time is in `[from, to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The first instant forgotten.
    pub from: Timestamp,
    /// The first instant kept after the range.
    pub to: Timestamp,
    /// Only entries of this source type.
    pub source: Option<SourceType>,
    /// Only entries of this plugin id.
    pub plugin: Option<String>,
    /// Record a tombstone for each removed entry (a forget; retention records none).
    pub tombstone: bool,
}

/// One daily file a forget changed (or, in a dry run, would change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileChange {
    /// Vault-relative path, forward slashes.
    pub path: String,
    /// Host entries removed from it.
    pub entries: u64,
    /// Its length before, bytes.
    pub bytes_before: u64,
    /// Its length after, bytes (0 when the file was removed).
    pub bytes_after: u64,
    /// Nothing but the host's front matter and title was left, so the file was removed.
    pub removed: bool,
}

/// What a forget did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forgotten {
    /// Host entries removed.
    pub entries: u64,
    /// The files changed, in folder and date order.
    pub files: Vec<FileChange>,
    /// Bytes written by the rewrites (the new files' lengths).
    pub bytes_rewritten: u64,
    /// Tombstones recorded.
    pub tombstones: u64,
    /// Nothing was changed: this is what a forget would do.
    pub dry_run: bool,
}

/// A file's planned rewrite.
#[derive(Debug)]
pub(crate) struct Plan {
    path: String,
    /// Length and modification time when read: a file that differs by the rename is read
    /// again.
    seen: (u64, Option<SystemTime>),
    /// The new bytes; `None` removes the file.
    new: Option<Vec<u8>>,
    /// The keys of the entries it removes (a marker with a malformed key has none).
    keys: Vec<DedupKey>,
    /// Entries it removes.
    entries: u64,
}

/// The daily files whose day overlaps the selection, each with what to remove.
///
/// Errors: a folder or file cannot be read.
pub(crate) fn plan(dir: &Dir, tz: &TimeZone, sel: &Selection) -> Result<Vec<Plan>, StoreError> {
    let mut plans = Vec::new();
    let folders: Vec<&str> = match sel.source {
        Some(s) => vec![s.folder()],
        None => SourceType::folders(),
    };
    for folder in folders {
        let list = match dir.read_dir(folder) {
            Ok(l) => l,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(folder, e)),
        };
        let mut days = Vec::new();
        for entry in list {
            let entry = entry.map_err(|e| StoreError::io(folder, e))?;
            let name = entry.file_name();
            let Some(date) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".md"))
                .and_then(|d| d.parse::<Date>().ok())
            else {
                continue;
            };
            if overlaps(date, tz, sel) {
                days.push(date);
            }
        }
        days.sort_unstable();
        for date in days {
            let path = format!("{folder}/{date}.md");
            if let Some(p) = plan_file(dir, &path, folder, date, tz, sel)? {
                plans.push(p);
            }
        }
    }
    Ok(plans)
}

/// Whether day `date` in `tz` shares an instant with the selection.
fn overlaps(date: Date, tz: &TimeZone, sel: &Selection) -> bool {
    let start = |d: Date| d.to_zoned(tz.clone()).map(|z| z.timestamp());
    match (start(date), date.tomorrow().and_then(start)) {
        (Ok(a), Ok(b)) => a < sel.to && b > sel.from,
        _ => true,
    }
}

/// Reads one daily file and plans its rewrite; `None` when nothing in it is selected.
fn plan_file(
    dir: &Dir,
    path: &str,
    folder: &str,
    date: Date,
    tz: &TimeZone,
    sel: &Selection,
) -> Result<Option<Plan>, StoreError> {
    let io = |e| StoreError::io(path, e);
    let meta = match dir.metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let seen = (meta.len(), meta.modified().ok().map(|m| m.into_std()));
    let bytes = dir.read(path).map_err(io)?;
    let mut keep = Vec::with_capacity(bytes.len());
    let mut keys = Vec::new();
    let mut entries = 0;
    let mut at = 0;
    for span in host_spans(&bytes) {
        let m = &span.marker;
        let chosen = sel.source.is_none_or(|s| s.as_str() == m.source)
            && sel.plugin.as_ref().is_none_or(|p| *p == m.plugin)
            && instant(date, &span.time, tz).is_some_and(|t| sel.from <= t && t < sel.to);
        if !chosen {
            continue;
        }
        // The blank line render puts before every heading goes with it (also when the
        // entry before it was removed too).
        let head = &bytes[..span.bytes.start];
        let blank = [&b"\r\n\r\n"[..], b"\n\n"]
            .iter()
            .find(|b| head.ends_with(b))
            .map_or(0, |b| b.len() / 2);
        keep.extend_from_slice(&bytes[at..(span.bytes.start - blank).max(at)]);
        at = span.bytes.end;
        entries += 1;
        match DedupKey::from_hex(&m.key) {
            Some(k) => keys.push(k),
            None => {
                tracing::warn!(file = %path, key = %m.key, "an entry marker with a malformed key was removed without a tombstone");
            }
        }
    }
    if at == 0 {
        return Ok(None);
    }
    keep.extend_from_slice(&bytes[at..]);
    let header = SourceType::ALL
        .iter()
        .find(|s| s.folder() == folder)
        .map(|&s| {
            let mut h = String::new();
            render_header(&mut h, s, date);
            h
        });
    let only_header = header.is_some_and(|h| keep == h.as_bytes());
    Ok(Some(Plan {
        path: path.to_owned(),
        seen,
        new: (!only_header).then_some(keep),
        keys,
        entries,
    }))
}

/// The instant of a heading's `HH:MM:SS` on `date` in `tz` (the earlier of a repeated
/// hour, as the vault's renderer gives no offset).
fn instant(date: Date, time: &str, tz: &TimeZone) -> Option<Timestamp> {
    let t: Time = time.parse().ok()?;
    tz.to_ambiguous_zoned(date.to_datetime(t))
        .compatible()
        .ok()
        .map(|z| z.timestamp())
}

/// The plans as a report, before anything is changed.
pub(crate) fn report(plans: &[Plan], dry_run: bool) -> Forgotten {
    let mut out = Forgotten {
        dry_run,
        ..Forgotten::default()
    };
    for p in plans {
        let after = p.new.as_ref().map_or(0, |n| n.len() as u64);
        out.entries += p.entries;
        out.bytes_rewritten += after;
        out.files.push(FileChange {
            path: p.path.clone(),
            entries: p.entries,
            bytes_before: p.seen.0,
            bytes_after: after,
            removed: p.new.is_none(),
        });
    }
    out
}

/// Carries out the plans: each file is replaced whole or removed, its folder fsynced. A
/// file whose length or modification time changed since it was planned (a person typing
/// in it) is planned again, at most [`ATTEMPTS`] times. Returns what was done, file by
/// file, with the keys of what was removed.
///
/// Errors: a file cannot be written or removed; the files before it are done.
pub(crate) fn apply(
    root: &Path,
    dir: &Dir,
    tz: &TimeZone,
    sel: &Selection,
    plans: Vec<Plan>,
) -> Result<(Forgotten, Vec<DedupKey>), StoreError> {
    let mut done = Vec::new();
    let mut keys = Vec::new();
    for plan in plans {
        let mut plan = Some(plan);
        for attempt in 0.. {
            let Some(p) = plan.take() else { break };
            let io = |e| StoreError::io(&p.path, e);
            let now = dir.metadata(&p.path).map_err(io)?;
            if (now.len(), now.modified().ok().map(|m| m.into_std())) != p.seen {
                if attempt + 1 >= ATTEMPTS {
                    return Err(StoreError::io(
                        &p.path,
                        std::io::Error::other("it kept changing while it was being rewritten"),
                    ));
                }
                let (folder, date) = split(&p.path);
                plan = plan_file(dir, &p.path, folder, date, tz, sel)?;
                continue;
            }
            let full = root.join(&p.path);
            match &p.new {
                Some(bytes) => crate::durable::write(&full, bytes).map_err(io)?,
                None => {
                    dir.remove_file(&p.path).map_err(io)?;
                    crate::durable::sync_dir(full.parent().unwrap_or(root)).map_err(io)?;
                }
            }
            keys.extend_from_slice(&p.keys);
            done.push(p);
        }
    }
    Ok((report(&done, false), keys))
}

/// A planned path's folder and date (paths come from [`plan`], so both are there).
fn split(path: &str) -> (&str, Date) {
    let (folder, name) = path.split_once('/').unwrap_or(("", path));
    let date = name
        .strip_suffix(".md")
        .and_then(|d| d.parse().ok())
        .unwrap_or_default();
    (folder, date)
}

/// The forget journal, `forget.journal` beside the dedup index: the selection of a forget
/// under way and the tombstone file's length before it, written durably before the first
/// file is changed and removed after the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Journal {
    /// What is being forgotten.
    pub selection: Selection,
    /// The tombstone file's length before this forget's tombstones, bytes.
    pub tombstones_before: u64,
    /// How many tombstones this forget records.
    pub tombstones: u64,
}

impl Journal {
    /// Writes the journal at `path` durably. Errors: it cannot be written.
    pub fn begin(&self, path: &Path) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        crate::durable::write(path, &bytes)
            .map_err(|e| StoreError::io(&path.display().to_string(), e))
    }

    /// Removes the journal at `path` (the forget is complete) and fsyncs its folder.
    /// Errors: it cannot be removed.
    pub fn finish(path: &Path) -> Result<(), StoreError> {
        let name = path.display().to_string();
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&name, e)),
        }
        crate::durable::sync_dir(path.parent().unwrap_or(Path::new(".")))
            .map_err(|e| StoreError::io(&name, e))
    }

    /// The journal at `path`, if a forget was interrupted. An unreadable one (it is written
    /// whole by rename, so this is not a torn write but someone's edit) is reported and
    /// left in place.
    pub fn read(path: &Path) -> Result<Option<Self>, StoreError> {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                StoreError::io(
                    &name,
                    std::io::Error::other(format!(
                        "an interrupted forget's journal cannot be read ({e}); remove the file to start without finishing it"
                    )),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(&name, e)),
        }
    }
}

/// Where a tenant's forget journal and tombstones live: beside its dedup index.
#[derive(Debug, Clone)]
pub struct Paths {
    /// `forget.journal`.
    pub journal: PathBuf,
    /// `tombstones` ([`crate::tombstone`]).
    pub tombstones: PathBuf,
}

impl Paths {
    /// The paths beside the index at `index_path`.
    pub fn beside(index_path: &Path) -> Self {
        Self {
            journal: index_path.with_file_name("forget.journal"),
            tombstones: index_path.with_file_name("tombstones"),
        }
    }
}

/// Runs a whole forget: plans, journals, records tombstones, rewrites, finishes the
/// journal. Used by the vault's writer and, for an interrupted forget, at open.
///
/// Errors: a file cannot be read or written; the journal stays so the next open finishes.
pub(crate) fn run(
    root: &Path,
    dir: &Dir,
    tz: &TimeZone,
    paths: &Paths,
    sel: &Selection,
    resumed: Option<&Journal>,
) -> Result<(Forgotten, Vec<DedupKey>), StoreError> {
    let plans = plan(dir, tz, sel)?;
    let keys: Vec<DedupKey> = plans.iter().flat_map(|p| p.keys.iter().copied()).collect();
    let written = crate::tombstone::len(&paths.tombstones)?;
    let mut tombstones = 0;
    let journal = match resumed {
        // Its tombstones were all recorded before any file was changed.
        Some(j) if written >= j.tombstones_before + j.tombstones * crate::tombstone::SIZE => {
            j.clone()
        }
        // None were (or a part): no file was changed, so the plan is the same as then.
        Some(j) => {
            crate::tombstone::cut(&paths.tombstones, j.tombstones_before)?;
            tombstones = keys.len() as u64;
            j.clone()
        }
        None => {
            tombstones = if sel.tombstone { keys.len() as u64 } else { 0 };
            Journal {
                selection: sel.clone(),
                tombstones_before: written,
                tombstones,
            }
        }
    };
    if plans.is_empty() && tombstones == 0 {
        Journal::finish(&paths.journal)?;
        return Ok((Forgotten::default(), Vec::new()));
    }
    journal.begin(&paths.journal)?;
    if tombstones > 0 {
        crate::tombstone::append(&paths.tombstones, &keys)?;
    }
    let (mut report, removed) = apply(root, dir, tz, sel, plans)?;
    Journal::finish(&paths.journal)?;
    report.tombstones = tombstones;
    Ok((report, removed))
}

/// Finishes a forget a stop interrupted (its journal is there), at open, before the index
/// is reconciled. Returns what it did.
///
/// Errors: as [`run`].
pub(crate) fn resume(
    root: &Path,
    dir: &Dir,
    tz: &TimeZone,
    paths: &Paths,
) -> Result<Option<Forgotten>, StoreError> {
    let Some(journal) = Journal::read(&paths.journal)? else {
        return Ok(None);
    };
    let (report, _) = run(root, dir, tz, paths, &journal.selection, Some(&journal))?;
    tracing::warn!(
        entries = report.entries,
        files = report.files.len(),
        "finished a forget that a stop had interrupted"
    );
    Ok(Some(report))
}
