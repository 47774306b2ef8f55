//! Counting a vault's entries by day and source type, from the entry markers.

use std::collections::BTreeMap;
use std::path::Path;

use cap_std::ambient_authority;
use cap_std::fs::Dir;

use crate::render::MARKER_PREFIX;
use crate::source::SourceType;

/// Entries per day (`YYYY-MM-DD`, the daily file's name) and source type.
pub type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// Counts the entry markers of every daily file under `root`. A missing vault counts as
/// empty. Errors: a file or folder that exists cannot be read.
pub fn count_entries(root: &Path) -> std::io::Result<Counts> {
    let mut counts = Counts::new();
    for_each_marker(root, |day, marker| {
        if let Some(source) = token(marker, "source=") {
            *counts
                .entry(day.to_owned())
                .or_default()
                .entry(source.to_owned())
                .or_default() += 1;
        }
    })?;
    Ok(counts)
}

/// Entries per plugin id (`plugin=<id>@<version>` of the markers).
pub fn count_by_plugin(root: &Path) -> std::io::Result<BTreeMap<String, u64>> {
    let mut counts = BTreeMap::new();
    for_each_marker(root, |_, marker| {
        if let Some(plugin) = token(marker, "plugin=").and_then(|p| p.split('@').next()) {
            *counts.entry(plugin.to_owned()).or_default() += 1;
        }
    })?;
    Ok(counts)
}

fn token<'a>(marker: &'a str, key: &str) -> Option<&'a str> {
    marker.split_whitespace().find_map(|t| t.strip_prefix(key))
}

/// Calls `f(day, marker)` for every entry marker of every daily file under `root`.
fn for_each_marker(root: &Path, mut f: impl FnMut(&str, &str)) -> std::io::Result<()> {
    let dir = match Dir::open_ambient_dir(root, ambient_authority()) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for folder in SourceType::folders() {
        let entries = match dir.read_dir(folder) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some(day) = name.to_str().and_then(|n| n.strip_suffix(".md")) else {
                continue;
            };
            let text = dir.read_to_string(format!("{folder}/{}", name.to_string_lossy()))?;
            for marker in text.lines().filter_map(|l| l.strip_prefix(MARKER_PREFIX)) {
                f(day, marker);
            }
        }
    }
    Ok(())
}
