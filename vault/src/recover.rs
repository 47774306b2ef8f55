//! Bringing the dedup index in line with the vault, at open and on demand.
//!
//! The vault is the source of truth. Each daily file whose length differs from what the
//! index accounted for is scanned for entry markers, whose keys are added. Reconciling
//! never changes a vault file's bytes: unfinished appends are cut by the append journal
//! ([`crate::journal`]) before this runs, and only those. An empty daily file (created by
//! the writer just before a crash) is removed. Files with CRLF line ends (a
//! vault synced through Windows or git) are read the same as LF ones. The keys of forgotten
//! entries come back from the tombstone file ([`crate::tombstone`]).

use std::path::Path;

use cap_std::fs::Dir;

use crate::dedup::DedupKey;
use crate::error::StoreError;
use crate::index::Index;
use crate::render::MARKER_PREFIX;
use crate::source::SourceType;

/// What a reconciliation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Daily files read because the index had not accounted for all of them.
    pub files_scanned: u64,
    /// Entry markers found in those files.
    pub markers_found: u64,
    /// Files whose unfinished append (journalled, interrupted by a crash) was cut, with
    /// the bytes removed.
    pub torn_tails: Vec<(String, u64)>,
}

/// Scans every daily file the index has not fully accounted for and records its keys.
///
/// With `full`, the index is emptied first and every file is read (a rebuild).
/// Errors: a vault file cannot be read, or the index cannot be written.
pub fn reconcile(
    dir: &Dir,
    index: &mut Index,
    tombstones: &Path,
    full: bool,
) -> Result<RecoveryReport, StoreError> {
    if full {
        index.clear()?;
    }
    let mut report = RecoveryReport::default();
    let mut seen = Vec::new();
    let dead = crate::tombstone::len(tombstones)?;
    if dead > 0 {
        seen.push(crate::tombstone::INDEX_NAME.to_owned());
        if index.file_len(crate::tombstone::INDEX_NAME) != Some(dead) {
            let keys = crate::tombstone::read(tombstones)?;
            index.record(&keys, &[(crate::tombstone::INDEX_NAME, dead)])?;
        }
    }
    for folder in SourceType::folders() {
        let entries = match dir.read_dir(folder) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::io(folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io(folder, e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if crate::durable::is_temporary(name) {
                // A rewrite ([`crate::forget`]) a crash stopped before its rename.
                let path = format!("{folder}/{name}");
                dir.remove_file(&path)
                    .map_err(|e| StoreError::io(&path, e))?;
                continue;
            }
            if !name.ends_with(".md") {
                continue;
            }
            let path = format!("{folder}/{name}");
            let len = entry
                .metadata()
                .map_err(|e| StoreError::io(&path, e))?
                .len();
            if len == 0 {
                // A daily file the writer created and a crash left before its journalled
                // first append: it holds no one's words, and is not a note.
                dir.remove_file(&path)
                    .map_err(|e| StoreError::io(&path, e))?;
                continue;
            }
            let accounted = index.file_len(&path);
            seen.push(path.clone());
            if accounted == Some(len) {
                continue;
            }
            let bytes = dir.read(&path).map_err(|e| StoreError::io(&path, e))?;
            let keys = scan(&bytes);
            report.files_scanned += 1;
            report.markers_found += keys.len() as u64;
            let final_len = bytes.len() as u64;
            index.record(&keys, &[(&path, final_len)])?;
        }
    }
    for (path, _) in index.files() {
        if !seen.contains(&path) {
            index.forget_file(&path)?;
        }
    }
    Ok(report)
}

/// The keys of every complete marker line in a daily file. A line may end in `\n` or
/// `\r\n`; the last line counts only when it is complete.
pub fn scan(bytes: &[u8]) -> Vec<DedupKey> {
    let mut keys = Vec::new();
    let mut pos = 0;
    while let Some(nl) = bytes[pos..].iter().position(|&b| b == b'\n') {
        let line = &bytes[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if let Some(key) = marker_key(line) {
            keys.push(key);
        }
        pos += nl + 1;
    }
    keys
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

    fn file(entries: usize, tail: &str) -> String {
        let mut s = String::from("---\ncreated_by: openclone\nfolder: Notes\n---\n\n# Notes\n");
        for _ in 0..entries {
            s.push_str(&format!(
                "\n## 10:00:00 · p\n\ntext\n\n{MARKER_PREFIX}v=1 key={KEY} -->\n"
            ));
        }
        s + tail
    }

    #[test]
    fn markers_are_found_with_lf_and_crlf_line_ends() {
        let key = DedupKey::from_hex(KEY).expect("hex key");
        let lf = file(2, "\n## 09:00:00 · my own notes\n\nmine\n");
        assert_eq!(scan(lf.as_bytes()), vec![key; 2]);
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(scan(crlf.as_bytes()), vec![key; 2]);
    }

    #[test]
    fn an_incomplete_last_marker_line_is_not_a_key() {
        let f = file(
            1,
            &format!("\n## 10:00:01 · p\n\nx\n\n{MARKER_PREFIX}v=1 key={KEY} -->"),
        );
        assert_eq!(scan(f.as_bytes()).len(), 1);
    }
}
