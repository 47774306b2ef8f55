//! Bringing the dedup index in line with the vault, at open and on demand.
//!
//! The vault is the source of truth. Each daily file whose length differs from what the
//! index accounted for is scanned for entry markers, whose keys are added. A crash in the
//! middle of an append can leave a torn last entry (a heading with no marker after it);
//! such a tail, past the last complete marker and past what the index had accounted for,
//! is cut off, so no file keeps a torn entry and no committed byte is ever touched.

use cap_std::fs::{Dir, OpenOptions};

use crate::dedup::DedupKey;
use crate::index::Index;
use crate::render::MARKER_PREFIX;
use crate::source::SourceType;
use crate::store::StoreError;

/// What a reconciliation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Daily files read because the index had not accounted for all of them.
    pub files_scanned: u64,
    /// Entry markers found in those files.
    pub markers_found: u64,
    /// Files whose torn tail was removed, with the bytes removed.
    pub torn_tails: Vec<(String, u64)>,
}

/// Scans every daily file the index has not fully accounted for and records its keys.
///
/// With `full`, the index is emptied first and every file is read (a rebuild).
/// Errors: a vault file cannot be read or truncated, or the index cannot be written.
pub fn reconcile(dir: &Dir, index: &mut Index, full: bool) -> Result<RecoveryReport, StoreError> {
    if full {
        index.clear()?;
    }
    let mut report = RecoveryReport::default();
    let mut seen = Vec::new();
    for folder in SourceType::folders() {
        let entries = match dir.read_dir(folder) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(folder, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str().filter(|n| n.ends_with(".md")) else {
                continue;
            };
            let path = format!("{folder}/{name}");
            let len = entry
                .metadata()
                .map_err(|e| StoreError::io(&path, e))?
                .len();
            let accounted = index.file_len(&path)?;
            seen.push(path.clone());
            if accounted == Some(len) {
                continue;
            }
            let bytes = dir.read(&path).map_err(|e| StoreError::io(&path, e))?;
            let scan = scan(&bytes, accounted.unwrap_or(0) as usize);
            report.files_scanned += 1;
            report.markers_found += scan.keys.len() as u64;
            let mut final_len = bytes.len() as u64;
            if let Some(cut) = scan.torn_at {
                truncate(dir, &path, cut as u64)?;
                tracing::warn!(file = %path, removed_bytes = bytes.len() - cut, "removed a torn entry left by an interrupted write");
                report
                    .torn_tails
                    .push((path.clone(), (bytes.len() - cut) as u64));
                final_len = cut as u64;
            }
            index.begin()?;
            let recorded = scan
                .keys
                .iter()
                .try_for_each(|k| index.insert_new(k).map(drop))
                .and_then(|()| index.set_file_len(&path, final_len));
            match recorded.and_then(|()| index.commit()) {
                Ok(()) => {}
                Err(e) => {
                    index.rollback();
                    return Err(e.into());
                }
            }
        }
    }
    for (path, _) in index.files()? {
        if !seen.contains(&path) {
            index.forget_file(&path)?;
        }
    }
    Ok(report)
}

fn truncate(dir: &Dir, path: &str, len: u64) -> Result<(), StoreError> {
    let file = dir
        .open_with(path, OpenOptions::new().write(true))
        .map_err(|e| StoreError::io(path, e))?;
    file.set_len(len).map_err(|e| StoreError::io(path, e))?;
    file.sync_all().map_err(|e| StoreError::io(path, e))
}

/// The markers of one file and where a torn tail starts, if it has one.
#[derive(Debug, PartialEq, Eq)]
pub struct Scan {
    /// Keys of every complete marker line.
    pub keys: Vec<DedupKey>,
    /// Byte offset to truncate to, when the file ends in a torn entry.
    pub torn_at: Option<usize>,
}

/// Finds complete marker lines and a torn tail. Bytes before `floor` (already accounted
/// for by the index) are never proposed for truncation.
///
/// A torn tail is the first entry heading after the last complete marker (every complete
/// entry ends with its marker), or a last line that is the start of one (`## 10:0`).
pub fn scan(bytes: &[u8], floor: usize) -> Scan {
    let mut keys = Vec::new();
    let mut good_end = 0;
    let mut header_done = false;
    let mut pos = 0;
    while let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + nl];
        if !header_done && pos > 0 && line == b"---" {
            header_done = true;
            good_end = pos + nl + 1;
        } else if let Some(key) = marker_key(line) {
            keys.push(key);
            good_end = pos + nl + 1;
        }
        pos += nl + 1;
    }
    let tail_start = good_end.max(floor).min(bytes.len());
    let mut torn_at = None;
    let mut pos = tail_start;
    while pos < bytes.len() {
        let end = bytes[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |n| pos + n);
        let line = &bytes[pos..end];
        if is_entry_heading(line) || (end == bytes.len() && is_heading_prefix(line)) {
            let blank_before = pos > tail_start
                && bytes[pos - 1] == b'\n'
                && (pos - 1 == tail_start || bytes[pos - 2] == b'\n');
            torn_at = Some(if blank_before { pos - 1 } else { pos });
            break;
        }
        pos = end + 1;
    }
    if torn_at.is_none()
        && !header_done
        && floor == 0
        && bytes.starts_with(b"---\ncreated_by: openclone\n")
    {
        torn_at = Some(0);
    }
    Scan { keys, torn_at }
}

/// The pattern every entry heading starts with; `d` stands for a digit.
const HEADING: &[u8] = b"## dd:dd:dd \xc2\xb7 ";

/// `## HH:MM:SS · ` — the heading every entry starts with.
fn is_entry_heading(line: &[u8]) -> bool {
    line.len() >= HEADING.len() && is_heading_prefix(&line[..HEADING.len()])
}

/// A non-empty start of an entry heading, such as `## 1` or `## 10:00:0`.
fn is_heading_prefix(line: &[u8]) -> bool {
    !line.is_empty()
        && line.iter().zip(HEADING).all(|(b, p)| {
            if *p == b'd' {
                b.is_ascii_digit()
            } else {
                b == p
            }
        })
}

fn marker_key(line: &[u8]) -> Option<DedupKey> {
    let line = std::str::from_utf8(line).ok()?;
    let rest = line.strip_prefix(MARKER_PREFIX)?.strip_suffix("-->")?;
    let key = rest
        .split_whitespace()
        .find_map(|tok| tok.strip_prefix("key="))?;
    DedupKey::from_hex(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    fn file(entries: usize, torn: &str) -> String {
        let mut s = String::from("---\ncreated_by: openclone\nfolder: Notes\n---\n\n# Notes\n");
        for _ in 0..entries {
            s.push_str(&format!(
                "\n## 10:00:00 · p\n\ntext\n\n{MARKER_PREFIX}v=1 key={KEY} -->\n"
            ));
        }
        s + torn
    }

    #[test]
    fn complete_file_has_no_torn_tail() {
        let f = file(2, "");
        assert_eq!(
            scan(f.as_bytes(), 0),
            Scan {
                keys: vec![DedupKey::from_hex(KEY).expect("hex key"); 2],
                torn_at: None
            }
        );
    }

    #[test]
    fn torn_entry_is_cut_back_to_the_last_marker() {
        let good = file(1, "");
        for torn in [
            "\n## 10:00:01 · p\n\nhal",
            "\n## 10:0",
            &format!("\n## 10:00:01 · p\n\nx\n\n{MARKER_PREFIX}v=1 key=0011"),
        ] {
            let f = file(1, torn);
            let s = scan(f.as_bytes(), 0);
            assert_eq!(s.torn_at, Some(good.len()), "{torn:?}");
            assert_eq!(s.keys.len(), 1);
        }
    }

    #[test]
    fn user_text_after_the_last_entry_is_kept_and_accounted_bytes_never_cut() {
        let f = file(1, "\nmy own note\n");
        assert_eq!(scan(f.as_bytes(), 0).torn_at, None);
        let f = file(1, "\n## 10:00:01 · p\n\nhalf");
        assert_eq!(scan(f.as_bytes(), f.len()).torn_at, None);
        let user = file(1, "my own note\n");
        let f = format!("{user}\n## 10:00:01 · p\n\nhal");
        assert_eq!(scan(f.as_bytes(), 0).torn_at, Some(user.len()));
    }

    #[test]
    fn torn_header_of_a_new_file_is_removed() {
        assert_eq!(scan(b"---\ncreated_by: openclone\nfol", 0).torn_at, Some(0));
    }
}
