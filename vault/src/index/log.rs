//! The key log: what each group commit added to the index since the last sorted run.
//!
//! One record per group, appended with one `write` and never fsynced (the vault is the
//! source of truth). A record is `u32 length ‖ u32 CRC-32 of the body ‖ body`, the body
//! `u32 key count ‖ keys (16 bytes, big-endian) ‖ u32 file count ‖ (u16 path length ‖
//! path ‖ u64 accounted length)…`, little-endian; a length of `u64::MAX` forgets the file.
//! Replay stops at the first record that is short or fails its checksum and cuts the log
//! there, so a file length is never applied without every key logged before it.
//!
//! A hand-written format, because what it needs is this small: a checksummed append log
//! with two kinds of item; the crates for logs bring their own threads and fsync policies.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::path::Path;

/// The accounted length that forgets a file.
pub const FORGET: u64 = u64::MAX;

/// Largest record replay accepts (a group of 512 batches of 500 events is 4 MiB of keys).
const MAX_RECORD: usize = 64 << 20;

/// What one record holds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Record {
    /// Keys added.
    pub keys: Vec<u128>,
    /// Files and their accounted lengths ([`FORGET`] forgets one).
    pub files: Vec<(String, u64)>,
}

/// An open key log, positioned at its end.
pub struct KeyLog {
    file: File,
    buf: Vec<u8>,
}

impl KeyLog {
    /// Opens (creating) the log at `path`, passes every whole record to `each`, and cuts a
    /// torn tail. Errors: the file cannot be opened, read or cut.
    pub fn open(path: &Path, mut each: impl FnMut(Record)) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let mut pos = 0;
        while let Some((record, next)) = decode(&bytes, pos) {
            each(record);
            pos = next;
        }
        if pos < bytes.len() {
            file.set_len(pos as u64)?;
        }
        Ok(Self {
            file,
            buf: Vec::new(),
        })
    }

    /// Appends one record. Errors: the write failed (the caller keeps the keys in memory).
    pub fn append(
        &mut self,
        keys: impl Iterator<Item = u128>,
        files: &[(&str, u64)],
    ) -> std::io::Result<()> {
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(&[0; 12]);
        let mut n = 0u32;
        for k in keys {
            b.extend_from_slice(&k.to_be_bytes());
            n += 1;
        }
        b[8..12].copy_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&(files.len() as u32).to_le_bytes());
        for (path, len) in files {
            let path = &path.as_bytes()[..path.len().min(u16::MAX as usize)];
            b.extend_from_slice(&(path.len() as u16).to_le_bytes());
            b.extend_from_slice(path);
            b.extend_from_slice(&len.to_le_bytes());
        }
        let body_len = (b.len() - 8) as u32;
        let crc = crc32fast::hash(&b[8..]);
        b[0..4].copy_from_slice(&body_len.to_le_bytes());
        b[4..8].copy_from_slice(&crc.to_le_bytes());
        self.file.write_all(b)
    }
}

/// The record at `pos` and the position after it, if it is whole and its checksum holds.
fn decode(bytes: &[u8], pos: usize) -> Option<(Record, usize)> {
    let head = bytes.get(pos..pos + 8)?;
    let len = u32::from_le_bytes(head[0..4].try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
    if len > MAX_RECORD {
        return None;
    }
    let body = bytes.get(pos + 8..pos + 8 + len)?;
    if crc32fast::hash(body) != crc {
        return None;
    }
    let mut r = Reader(body);
    let n = r.u32()? as usize;
    let keys = (0..n)
        .map(|_| Some(u128::from_be_bytes(r.take(16)?.try_into().ok()?)))
        .collect::<Option<Vec<_>>>()?;
    let m = r.u32()? as usize;
    let files = (0..m)
        .map(|_| {
            let plen = u16::from_le_bytes(r.take(2)?.try_into().ok()?) as usize;
            let path = String::from_utf8(r.take(plen)?.to_vec()).ok()?;
            Some((path, u64::from_le_bytes(r.take(8)?.try_into().ok()?)))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((Record { keys, files }, pos + 8 + len))
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_replay_in_order_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        let mut log = KeyLog::open(&path, |_| panic!("empty")).expect("open");
        log.append([1u128, 2].into_iter(), &[("Notes/a.md", 10)])
            .expect("append");
        log.append([3u128].into_iter(), &[("Notes/a.md", FORGET)])
            .expect("append");
        drop(log);
        let whole = std::fs::metadata(&path).expect("meta").len();
        let mut f = OpenOptions::new().append(true).open(&path).expect("open");
        f.write_all(&[40, 0, 0, 0, 1, 2]).expect("torn tail");
        let mut seen = Vec::new();
        KeyLog::open(&path, |r| seen.push(r)).expect("reopen");
        assert_eq!(
            seen,
            vec![
                Record {
                    keys: vec![1, 2],
                    files: vec![("Notes/a.md".into(), 10)]
                },
                Record {
                    keys: vec![3],
                    files: vec![("Notes/a.md".into(), FORGET)]
                },
            ]
        );
        assert_eq!(std::fs::metadata(&path).expect("meta").len(), whole);
    }
}
