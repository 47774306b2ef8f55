//! Bringing the index in line with the vault's daily files (`<Folder>/<YYYY-MM-DD>.md`).
//!
//! Each file's row in `files` remembers how many bytes were indexed, the file's mtime then
//! and the last 64 of those bytes. A file that only grew behind those bytes (the host
//! appends; a person may add at the end) is read from there on; any other change (an edit
//! in the middle, a shorter file) re-reads it whole; a file that is gone loses its entries.

use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::time::UNIX_EPOCH;

use openclone_vault::SourceType;
use openclone_vault::read::{Author, Start, read};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::schema::IndexError;

/// Bytes of a file's indexed end kept to recognise an append.
const TAIL: usize = 64;

/// Bytes read at once from a daily file.
const CHUNK: usize = 4 << 20;

/// The most bytes of an entry's text one index row holds; a longer text is indexed in
/// pieces (rows with `part` 1, 2, …). FTS5 scores a snippet's every start against every
/// match, so one row of a million repeated words would make a search take minutes.
const PART: usize = 16 * 1024;

/// `text` in pieces of at most [`PART`] bytes, cut at whitespace where one is near.
fn parts(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while rest.len() > PART {
        let mut cut = PART;
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = rest[..cut]
            .rfind(char::is_whitespace)
            .filter(|&i| i > PART / 2)
            .unwrap_or(cut);
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out.push(rest);
    out
}

/// Ids per second of entry time: an entry's id is its day and heading time in seconds since
/// 1970-01-01, times this, plus its place among the entries of that second ([`entry_id`]).
pub const IDS_PER_SECOND: i64 = 1 << 12;

/// The first id of the entries timed `day` (`YYYY-MM-DD`) at `time` (`HH:MM:SS`, or empty for
/// the person's text before the first host entry: the day's start). Ids in time order let
/// a search walk matches newest first and turn a day range into an id range
/// ([`crate::query`]).
pub fn id_base(day: &str, time: &str) -> i64 {
    let days = day
        .parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.since(jiff::civil::date(1970, 1, 1)).ok())
        .map_or(0, |s| i64::from(s.get_days()));
    let secs = time.parse::<jiff::civil::Time>().map_or(0, |t| {
        i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
    });
    (days.max(0) * 86_400 + secs) * IDS_PER_SECOND
}

/// A free id for an entry timed at `base` ([`id_base`]): the next after the last taken in
/// that second; when a second holds [`IDS_PER_SECOND`] entries already, the next free id
/// after the newest entry of all (still unique; that second's order is then approximate).
fn entry_id(tx: &Transaction<'_>, base: i64) -> Result<i64, IndexError> {
    let last: Option<i64> = tx
        .prepare_cached("SELECT MAX(id) FROM entries WHERE id >= ?1 AND id < ?2")
        .and_then(|mut st| st.query_row(params![base, base + IDS_PER_SECOND], |r| r.get(0)))
        .map_err(sql)?;
    match last {
        None => Ok(base),
        Some(l) if l + 1 < base + IDS_PER_SECOND => Ok(l + 1),
        Some(_) => tx
            .query_row("SELECT MAX(id) + 1 FROM entries", [], |r| r.get(0))
            .map_err(sql),
    }
}

/// Files brought in line per transaction in [`all`].
const FILES_PER_COMMIT: usize = 256;

/// What a sync did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Synced {
    /// Files read (in part or whole).
    pub files_read: u64,
    /// Entries added to the index.
    pub entries: u64,
    /// Files whose entries were removed (the file is gone).
    pub files_gone: u64,
}

impl std::ops::AddAssign for Synced {
    fn add_assign(&mut self, o: Self) {
        self.files_read += o.files_read;
        self.entries += o.entries;
        self.files_gone += o.files_gone;
    }
}

/// `(folder, day)` of a vault-relative daily file path, if it is one.
pub fn daily(rel: &str) -> Option<(&str, &str)> {
    let (folder, name) = rel.split_once('/')?;
    let day = name.strip_suffix(".md")?;
    let b = day.as_bytes();
    let is_day = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    (is_day && SourceType::folders().contains(&folder)).then_some((folder, day))
}

/// Every daily file of the vault at `root`, vault-relative. A missing vault has none.
/// Errors: a source folder exists but cannot be listed.
pub fn daily_files(root: &Path) -> Result<Vec<String>, IndexError> {
    let mut out = Vec::new();
    for folder in SourceType::folders() {
        let dir = root.join(folder);
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&dir, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| io(&dir, e))?;
            let rel = format!("{folder}/{}", entry.file_name().to_string_lossy());
            if daily(&rel).is_some() {
                out.push(rel);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn io(path: &Path, source: std::io::Error) -> IndexError {
    IndexError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sql(source: rusqlite::Error) -> IndexError {
    IndexError::Sqlite {
        path: "search index".into(),
        source,
    }
}

/// Brings every daily file under `root` in line, and drops the entries of files that are
/// gone. Errors: a file cannot be read, or SQLite refuses.
pub fn all(conn: &mut Connection, root: &Path) -> Result<Synced, IndexError> {
    all_unless(conn, root, &|| false)
}

/// [`all`], stopping between transactions once `stop()` says so (the host is shutting
/// down: the next scan goes on from there).
pub fn all_unless(
    conn: &mut Connection,
    root: &Path,
    stop: &dyn Fn() -> bool,
) -> Result<Synced, IndexError> {
    let files = daily_files(root)?;
    let mut done = Synced::default();
    for chunk in files.chunks(FILES_PER_COMMIT) {
        if stop() {
            return Ok(done);
        }
        let tx = conn.transaction().map_err(sql)?;
        for rel in chunk {
            done += file(&tx, root, rel)?;
        }
        tx.commit().map_err(sql)?;
    }
    let known: Vec<String> = {
        let mut st = conn.prepare("SELECT path FROM files").map_err(sql)?;
        st.query_map([], |r| r.get(0))
            .map_err(sql)?
            .collect::<Result<_, _>>()
            .map_err(sql)?
    };
    let tx = conn.transaction().map_err(sql)?;
    for rel in known {
        if files.binary_search(&rel).is_err() {
            forget_file(&tx, &rel)?;
            done.files_gone += 1;
        }
    }
    tx.commit().map_err(sql)?;
    Ok(done)
}

/// Brings the entries of the vault file `rel` in line with it, inside `tx`. Errors: the
/// file exists but cannot be read, or SQLite refuses.
pub fn file(tx: &Transaction<'_>, root: &Path, rel: &str) -> Result<Synced, IndexError> {
    let Some((folder, day)) = daily(rel) else {
        return Ok(Synced::default());
    };
    let path = root.join(rel);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let gone = forget_file(tx, rel)?;
            return Ok(Synced {
                files_gone: u64::from(gone),
                ..Synced::default()
            });
        }
        Err(e) => return Err(io(&path, e)),
    };
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let len = meta.len();
    let known: Option<(u64, i64, Vec<u8>, u32, String)> = tx
        .query_row(
            "SELECT len, mtime, tail, lines, last_time FROM files WHERE path = ?1",
            [rel],
            |r| {
                let len: i64 = r.get(0)?;
                Ok((
                    u64::try_from(len).unwrap_or(0),
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                ))
            },
        )
        .optional()
        .map_err(sql)?;
    if known.as_ref().is_some_and(|k| k.0 == len && k.1 == mtime) {
        return Ok(Synced::default());
    }
    let mut f = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
    // An append behind what was indexed: read from there.
    let mut from = None;
    if let Some((klen, _, tail, lines, time)) = &known
        && len >= *klen
        && *klen >= tail.len() as u64
    {
        let mut seen = vec![0; tail.len()];
        f.seek(SeekFrom::Start(klen - tail.len() as u64))
            .and_then(|_| f.read_exact(&mut seen))
            .map_err(|e| io(&path, e))?;
        if seen == *tail {
            from = Some((
                *klen,
                Start {
                    lines: *lines,
                    time: time.clone(),
                    continued: true,
                },
            ));
        }
    }
    let (offset, start) = match from {
        Some(f) => f,
        None => {
            forget_file(tx, rel)?;
            (0, Start::default())
        }
    };
    let mut words = crate::words::Delta::default();
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO entries(id, file, line, day, time, end_time, source, folder, plugin, device, title, text, part)
             VALUES (?13, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )
        .map_err(sql)?;
    // Read in chunks, so a file far ahead of the index (a bulk import) costs a chunk of
    // memory, not the file's size.
    let (mut offset, mut start, mut entries, mut chunk) = (offset, start, 0u64, CHUNK);
    loop {
        let mut bytes = Vec::new();
        f.seek(SeekFrom::Start(offset))
            .and_then(|_| (&mut f).take(chunk as u64).read_to_end(&mut bytes))
            .map_err(|e| io(&path, e))?;
        let at_end = bytes.len() < chunk;
        let text = String::from_utf8_lossy(&bytes);
        let found = read(&text, &start);
        for e in &found.entries {
            let (source, plugin, device) = match &e.author {
                Author::Host(m) => (m.source.as_str(), m.plugin.as_str(), m.device.as_str()),
                Author::Person => ("", "", ""),
            };
            let base = id_base(day, &e.time);
            for (part, text) in parts(&e.text).into_iter().enumerate() {
                let id = entry_id(tx, base)?;
                insert
                    .execute(params![
                        rel,
                        e.line,
                        day,
                        e.time,
                        e.end,
                        source,
                        folder,
                        plugin,
                        device,
                        e.title,
                        text,
                        i64::try_from(part).unwrap_or(i64::MAX),
                        id
                    ])
                    .map_err(sql)?;
                words.row(&e.title, text, 1);
            }
        }
        entries += found.entries.len() as u64;
        let consumed = raw_len(&bytes, &text, found.consumed);
        if consumed > 0 {
            offset += consumed as u64;
            start = found.next;
            chunk = CHUNK;
        } else if !at_end {
            // One entry longer than the chunk: read more at once.
            chunk = chunk.saturating_mul(2);
        }
        if at_end {
            break;
        }
    }
    words.apply(tx).map_err(sql)?;
    let mut tail = vec![0; TAIL.min(offset as usize)];
    f.seek(SeekFrom::Start(offset - tail.len() as u64))
        .and_then(|_| f.read_exact(&mut tail))
        .map_err(|e| io(&path, e))?;
    // When part of the file was left for later (an append in progress), its mtime must not
    // mark the file as done.
    let mtime = if offset == len { mtime } else { 0 };
    tx.execute(
        "INSERT OR REPLACE INTO files(path, len, mtime, tail, lines, last_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            rel,
            i64::try_from(offset).unwrap_or(i64::MAX),
            mtime,
            tail,
            start.lines,
            start.time
        ],
    )
    .map_err(sql)?;
    Ok(Synced {
        files_read: 1,
        entries,
        files_gone: 0,
    })
}

/// The bytes of `raw` that the first `consumed` bytes of `text` (`raw` decoded lossily)
/// came from. `consumed` ends at a line end, and a newline byte is never part of an
/// invalid sequence the decoding replaced, so counting newlines maps one onto the other.
fn raw_len(raw: &[u8], text: &str, consumed: usize) -> usize {
    if consumed == 0 {
        return 0;
    }
    let lines = text.as_bytes()[..consumed.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    raw.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(lines.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1)
}

/// Drops the entries and the record of `rel`; whether it had a record.
fn forget_file(tx: &Transaction<'_>, rel: &str) -> Result<bool, IndexError> {
    let mut words = crate::words::Delta::default();
    {
        let mut st = tx
            .prepare_cached("SELECT title, text FROM entries WHERE file = ?1")
            .map_err(sql)?;
        let mut rows = st.query([rel]).map_err(sql)?;
        while let Some(r) = rows.next().map_err(sql)? {
            let (title, text): (String, String) = (r.get(0).map_err(sql)?, r.get(1).map_err(sql)?);
            words.row(&title, &text, -1);
        }
    }
    words.apply(tx).map_err(sql)?;
    tx.execute("DELETE FROM entries WHERE file = ?1", [rel])
        .map_err(sql)?;
    tx.execute("DELETE FROM files WHERE path = ?1", [rel])
        .map(|n| n > 0)
        .map_err(sql)
}
