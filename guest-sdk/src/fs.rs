//! Walking granted folders.

use std::path::{Path, PathBuf};

/// Every file under `dir` (recursively, sorted) whose extension is one of `extensions`
/// (case-insensitive, without the dot); all files when `extensions` is empty. Hidden
/// entries (`.name`) are skipped. Unreadable folders are skipped, not fatal.
pub fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(path),
                Ok(t) if t.is_file() => {
                    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
                    if extensions.is_empty()
                        || ext
                            .is_some_and(|e| extensions.iter().any(|x| x.eq_ignore_ascii_case(&e)))
                    {
                        out.push(path);
                    }
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}
