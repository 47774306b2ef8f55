//! The outcome of each plugin's last successful pass that read something, kept across
//! runs in `<data>/state/<tenant>/last-passes.json` so `openclone plugins list` can show it
//! without a running host: `{plugin id: {at, stored, skipped, problems, skipped_records}}`
//! (`stored` and `skipped` are the pass's [`Tally`], flattened).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use openclone_vault::Tally;

use crate::sandbox::pass::PassReport;

/// One plugin's last pass.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastPass {
    /// When it ended, Unix seconds.
    pub at: u64,
    /// The pass's events stored and skipped as duplicates (and refused `emit` calls).
    #[serde(flatten)]
    pub tally: Tally,
    /// Inputs reported as problems.
    pub problems: u32,
    /// Records skipped inside otherwise-read files.
    pub skipped_records: u32,
}

/// Serializes the read-modify-write of the file within this process (one host per data
/// folder holds across processes).
static WRITING: Mutex<()> = Mutex::new(());

fn file(data: &Path, tenant: &str) -> PathBuf {
    data.join("state").join(tenant).join("last-passes.json")
}

/// Every plugin's last pass for `tenant`; empty when none was recorded or the file is not
/// readable.
pub fn read(data: &Path, tenant: &str) -> BTreeMap<String, LastPass> {
    std::fs::read(file(data, tenant))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Records `report` as `plugin`'s last pass (written durably: [`openclone_vault::durable::write`]).
/// A pass that read nothing (no event stored or skipped, no problem) leaves the record of
/// the last one that did, so its counts stay visible and an idle host does not touch the
/// disk.
/// Errors: the file cannot be written.
pub fn record(data: &Path, tenant: &str, plugin: &str, report: &PassReport) -> std::io::Result<()> {
    let _guard = WRITING.lock().unwrap_or_else(|p| p.into_inner());
    let mut all = read(data, tenant);
    let new = LastPass {
        at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        tally: report.tally,
        problems: u32::try_from(report.problems.len()).unwrap_or(u32::MAX),
        skipped_records: report.skipped_records,
    };
    let read_nothing = new.tally.is_empty() && (new.problems, new.skipped_records) == (0, 0);
    if read_nothing && all.contains_key(plugin) {
        return Ok(());
    }
    all.insert(plugin.to_owned(), new);
    let path = file(data, tenant);
    openclone_vault::durable::write(&path, &serde_json::to_vec_pretty(&all)?)
}
