//! The append journal: what the writer is about to append, made durable before the append,
//! so that recovery cuts only bytes the host itself wrote and did not finish.
//!
//! Before a group's appends the writer records, per daily file, the offset the append
//! starts at, its length and the SHA-256 of its bytes, and fsyncs the journal. After every
//! file of the group is fsynced the journal is emptied. At start-up [`replay`] checks each
//! record against its file:
//!
//! | file length `L` against the record (offset `O`, length `N`) | what it means | action |
//! |---|---|---|
//! | `L < O` | someone shortened the file since | none |
//! | `O ≤ L < O+N` | the append was cut short by the crash | cut back to `O` |
//! | `L = O+N`, bytes match the hash | the append completed | none |
//! | `L = O+N`, bytes differ | the length reached disk, the data did not | cut back to `O` |
//! | `L > O+N`, bytes match | completed, and more was written after it | none |
//! | `L > O+N`, bytes differ | someone rewrote the file since | none, a warning |
//!
//! Nothing outside a journalled, unfinished append is ever cut: text a person wrote stays
//! wherever it is, and a full index rebuild never truncates anything.
//!
//! Format: a header line `openclone-journal <length> <sha256 hex of the records>` and then
//! `<length>` bytes of records, one text line each: `<offset> <length> <sha256 hex>
//! <vault-relative path>`. Paths are the host's own `Folder/YYYY-MM-DD.md` names (no spaces,
//! no newlines). The journal is overwritten in place, never truncated, so its `fdatasync`
//! usually has no metadata to write; bytes past the header's length are stale and ignored.
//! Records whose checksum does not match (the journal itself torn) are ignored: the journal
//! is fsynced before any byte of its group is appended, so a torn journal means nothing of
//! that group was appended.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

use cap_std::fs::{Dir, OpenOptions};
use sha2::{Digest, Sha256};

use crate::error::StoreError;

/// One planned append.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Vault-relative path of the daily file.
    pub path: String,
    /// The file length the append starts at, bytes.
    pub offset: u64,
    /// The append's length, bytes.
    pub len: u64,
    /// SHA-256 of the appended bytes.
    pub sha256: [u8; 32],
}

impl Record {
    /// The record for appending `data` to `path` at `offset`.
    pub fn new(path: &str, offset: u64, data: &[u8]) -> Self {
        Self {
            path: path.to_owned(),
            offset,
            len: data.len() as u64,
            sha256: Sha256::digest(data).into(),
        }
    }

    /// A record that makes [`replay`] cut `path` back to `offset` whatever follows it: an
    /// append that failed and whose cut-back failed too (the disk refused the truncate).
    pub fn unfinished(path: &str, offset: u64) -> Self {
        Self {
            path: path.to_owned(),
            offset,
            len: u64::MAX - offset,
            sha256: [0; 32],
        }
    }

    fn line(&self) -> String {
        format!(
            "{} {} {} {}\n",
            self.offset,
            self.len,
            hex::encode(self.sha256),
            self.path
        )
    }

    fn parse(line: &str) -> Option<Self> {
        let mut parts = line.splitn(4, ' ');
        let offset = parts.next()?.parse().ok()?;
        let len = parts.next()?.parse().ok()?;
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(parts.next()?, &mut sha256).ok()?;
        let path = parts.next()?;
        (!path.is_empty() && !path.contains("..")).then(|| Self {
            path: path.to_owned(),
            offset,
            len,
            sha256,
        })
    }
}

/// The open journal file of one vault.
pub struct Journal {
    file: File,
    path: PathBuf,
}

impl Journal {
    /// Opens (creating, mode 0600) the journal at `path`.
    ///
    /// Errors: the file cannot be opened.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let created = !path.exists();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| StoreError::io(&path.display().to_string(), e))?;
        if created && let Some(dir) = path.parent() {
            crate::durable::sync_dir(dir)
                .map_err(|e| StoreError::io(&dir.display().to_string(), e))?;
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Replaces the journal's content with `records` and makes it durable. Errors: the
    /// write or the sync failed; nothing may be appended then.
    pub fn begin(&mut self, records: &[Record]) -> Result<(), StoreError> {
        let body: String = records.iter().map(Record::line).collect();
        let mut text = header(body.as_bytes());
        text.push_str(&body);
        let written = self
            .file
            .write_all_at(text.as_bytes(), 0)
            .and_then(|()| self.file.sync_data());
        written.map_err(|e| StoreError::io(&self.path.display().to_string(), e))
    }

    /// Empties the journal after the group's files are durable. Not synced: a record that
    /// outlives a crash describes an append that completed, which [`replay`] verifies by
    /// its hash and leaves alone.
    pub fn clear(&mut self) {
        if let Err(e) = self.file.write_all_at(header(b"").as_bytes(), 0) {
            tracing::warn!(journal = %self.path.display(), error = %e, "cannot empty the append journal");
        }
    }

    /// Empties the journal and fsyncs it, before something other than an append changes a
    /// daily file ([`crate::forget`]). Errors: it cannot be written or synced.
    pub fn settle(&mut self) -> Result<(), StoreError> {
        self.clear();
        self.file
            .sync_data()
            .map_err(|e| StoreError::io(&self.path.display().to_string(), e))
    }

    /// The records in the journal now (after a crash: the unfinished group's).
    pub fn records(&self) -> Vec<Record> {
        let mut bytes = Vec::new();
        if let Ok(meta) = self.file.metadata() {
            bytes.resize(meta.len() as usize, 0);
            if self.file.read_exact_at(&mut bytes, 0).is_err() {
                bytes.clear();
            }
        }
        let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
            return Vec::new();
        };
        let head = String::from_utf8_lossy(&bytes[..nl]);
        let mut parts = head.split(' ');
        let (Some("openclone-journal"), Some(len), Some(sum)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Vec::new();
        };
        let body = len
            .parse::<usize>()
            .ok()
            .and_then(|len| bytes.get(nl + 1..nl + 1 + len));
        match body {
            Some(body) if hex::encode(Sha256::digest(body)) == sum => String::from_utf8_lossy(body)
                .lines()
                .filter_map(Record::parse)
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// The journal's header line for records `body`.
fn header(body: &[u8]) -> String {
    format!(
        "openclone-journal {} {}\n",
        body.len(),
        hex::encode(Sha256::digest(body))
    )
}

/// Checks every journalled append against its file and cuts back the unfinished ones
/// (the table above), then empties the journal. Returns the files cut, with the bytes
/// removed.
///
/// Errors: a file cannot be read, truncated or synced.
pub fn replay(dir: &Dir, journal: &mut Journal) -> Result<Vec<(String, u64)>, StoreError> {
    let mut cut = Vec::new();
    for r in journal.records() {
        let file = match dir.open_with(&r.path, OpenOptions::new().read(true).write(true)) {
            Ok(f) => f.into_std(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(&r.path, e)),
        };
        let io = |e| StoreError::io(&r.path, e);
        let len = file.metadata().map_err(io)?.len();
        let end = r.offset.saturating_add(r.len);
        if len < r.offset {
            continue;
        }
        let unfinished = if len < end {
            true
        } else {
            let mut bytes = vec![0u8; r.len as usize];
            file.read_exact_at(&mut bytes, r.offset).map_err(io)?;
            let intact = <[u8; 32]>::from(Sha256::digest(&bytes)) == r.sha256;
            if !intact && len > end {
                tracing::warn!(file = %r.path, "an append the host did not finish was changed by someone since; left as it is");
            }
            !intact && len == end
        };
        if unfinished {
            file.set_len(r.offset).map_err(io)?;
            file.sync_all().map_err(io)?;
            if r.offset == 0 {
                dir.remove_file(&r.path).map_err(io)?;
            }
            tracing::warn!(file = %r.path, removed_bytes = len - r.offset, "removed the unfinished end of an append a crash interrupted");
            cut.push((r.path.clone(), len - r.offset));
        }
    }
    journal.clear();
    journal
        .file
        .sync_data()
        .map_err(|e| StoreError::io(&journal.path.display().to_string(), e))?;
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cap_std::ambient_authority;

    fn setup(content: &[u8]) -> (tempfile::TempDir, Dir, Journal) {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(tmp.path().join("Notes")).expect("folder");
        std::fs::write(tmp.path().join("Notes/a.md"), content).expect("file");
        let dir = Dir::open_ambient_dir(tmp.path(), ambient_authority()).expect("dir");
        let journal = Journal::open(&tmp.path().join("journal")).expect("journal");
        (tmp, dir, journal)
    }

    fn read(tmp: &tempfile::TempDir) -> Vec<u8> {
        std::fs::read(tmp.path().join("Notes/a.md")).unwrap_or_default()
    }

    #[test]
    fn an_unfinished_append_is_cut_and_nothing_else() {
        let before = b"---\nheader\n---\n\nmy own words\n".to_vec();
        let append = b"\n## 10:00:00 \xc2\xb7 p\n\ntext\n\n<!-- openclone:v=1 -->\n";
        let mut torn = before.clone();
        torn.extend_from_slice(&append[..10]);
        let (tmp, dir, mut j) = setup(&torn);
        j.begin(&[Record::new("Notes/a.md", before.len() as u64, append)])
            .expect("journal");
        let cut = replay(&dir, &mut j).expect("replay");
        assert_eq!(read(&tmp), before);
        assert_eq!(cut, vec![("Notes/a.md".to_owned(), 10)]);
        assert!(j.records().is_empty(), "journal emptied");
    }

    #[test]
    fn a_completed_append_and_text_after_it_stay() {
        let before = b"---\n---\n".to_vec();
        let append = b"\n## 10:00:00 \xc2\xb7 p\n\nentry\n";
        let mut full = before.clone();
        full.extend_from_slice(append);
        full.extend_from_slice(b"\nmy own paragraph\n");
        let (tmp, dir, mut j) = setup(&full);
        j.begin(&[Record::new("Notes/a.md", before.len() as u64, append)])
            .expect("journal");
        assert!(replay(&dir, &mut j).expect("replay").is_empty());
        assert_eq!(read(&tmp), full);
    }

    #[test]
    fn a_length_without_its_data_is_cut_but_a_rewritten_file_is_not() {
        let before = b"---\n---\n".to_vec();
        let append = b"\n## 10:00:00 \xc2\xb7 p\n\nentry\n";
        let mut zeros = before.clone();
        zeros.extend(std::iter::repeat_n(0u8, append.len()));
        let (tmp, dir, mut j) = setup(&zeros);
        j.begin(&[Record::new("Notes/a.md", before.len() as u64, append)])
            .expect("journal");
        replay(&dir, &mut j).expect("replay");
        assert_eq!(read(&tmp), before);

        let mut rewritten = before.clone();
        rewritten.extend_from_slice(b"someone else's much longer text, not the append at all\n");
        let (tmp, dir, mut j) = setup(&rewritten);
        j.begin(&[Record::new("Notes/a.md", before.len() as u64, append)])
            .expect("journal");
        assert!(replay(&dir, &mut j).expect("replay").is_empty());
        assert_eq!(read(&tmp), rewritten);
    }

    #[test]
    fn a_new_file_whose_first_append_tore_is_removed() {
        let (tmp, dir, mut j) = setup(b"---\ncreated_by: open");
        j.begin(&[Record::new(
            "Notes/a.md",
            0,
            b"---\ncreated_by: openclone\n---\n",
        )])
        .expect("journal");
        replay(&dir, &mut j).expect("replay");
        assert!(!tmp.path().join("Notes/a.md").exists());
    }

    #[test]
    fn a_torn_journal_is_ignored_and_stale_bytes_past_its_length_too() {
        let (_tmp, _dir, mut j) = setup(b"");
        let long = Record::new("Notes/a.md", 5, b"abc");
        let short = Record::new("Notes/b.md", 7, b"x");
        j.begin(&[long.clone(), short.clone()]).expect("journal");
        assert_eq!(j.records(), vec![long.clone(), short.clone()]);
        j.begin(std::slice::from_ref(&short)).expect("journal");
        assert_eq!(j.records(), vec![short.clone()], "only the latest group");
        let head = header(short.line().as_bytes()).len() as u64;
        j.file.write_all_at(b"9", head).expect("tear the journal");
        assert!(j.records().is_empty());
        j.clear();
        assert!(j.records().is_empty());
    }
}
