//! Walking granted folders.

use std::path::{Path, PathBuf};

/// True if `path`'s extension is one of `extensions` (case-insensitive, without the dot).
pub fn has_extension(path: &Path, extensions: &[&str]) -> bool {
    path.extension().is_some_and(|e| {
        extensions
            .iter()
            .any(|x| e.to_string_lossy().eq_ignore_ascii_case(x))
    })
}

/// Every file under `dir` (recursively, sorted) whose extension is one of `extensions`
/// (case-insensitive, without the dot); all files when `extensions` is empty. Hidden
/// entries (`.name`) are skipped. Unreadable folders are skipped, not fatal.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    walk(dir, extensions, false)
}

/// Like [`files`] with no extension filter, but hidden files (`.zsh_history`) are kept;
/// hidden folders are still skipped.
pub fn files_including_hidden(dir: &Path) -> Vec<PathBuf> {
    walk(dir, &[], true)
}

fn walk(dir: &Path, extensions: &[&str], hidden_files: bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if hidden && (is_dir || !hidden_files) {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t)
                    if t.is_file()
                        && (extensions.is_empty() || has_extension(&path, extensions)) =>
                {
                    out.push(path)
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

/// What identifies a version of a file cheaply: its length and modification time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// Bytes.
    pub len: u64,
    /// Modification time, Unix seconds, if the filesystem gives one.
    pub modified: Option<u64>,
}

impl Stamp {
    /// The stamp of `path`. Errors: the file cannot be stat'ed.
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let m = std::fs::metadata(path)?;
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        Ok(Self {
            len: m.len(),
            modified,
        })
    }

    /// The modification time as an event timestamp (Unix seconds), or now.
    pub fn timestamp(&self) -> f64 {
        self.modified.map_or_else(crate::time::now, |s| s as f64)
    }
}
