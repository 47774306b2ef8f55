//! The plugin registry: every `plugins/*/plugin.json`, whose tenant it belongs to, whether
//! it is enabled, and its counters (CONTRACT.md, "GET /api/v1/plugins").

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use openclone_vault::Registered;
use serde_json::{Value, json};

use super::manifest::{self, Manifest, ManifestError};
use crate::config::Config;

/// Counters of one plugin, updated by every ingest that names it.
#[derive(Default)]
pub struct Counters {
    stored: AtomicU64,
    skipped: AtomicU64,
    /// Unix seconds of the last batch, as `f64` bits; 0 = never.
    last_run: AtomicU64,
}

impl Counters {
    /// Adds a batch's outcome.
    pub fn record(&self, stored: u32, skipped: u32, at: f64) {
        self.stored.fetch_add(u64::from(stored), Ordering::Relaxed);
        self.skipped
            .fetch_add(u64::from(skipped), Ordering::Relaxed);
        self.last_run.store(at.to_bits(), Ordering::Relaxed);
    }

    fn to_json(&self) -> Value {
        let last = f64::from_bits(self.last_run.load(Ordering::Relaxed));
        json!({
            "events_stored": self.stored.load(Ordering::Relaxed),
            "events_skipped": self.skipped.load(Ordering::Relaxed),
            "last_run": if last > 0.0 { json!(last) } else { Value::Null },
        })
    }
}

/// One plugin folder.
pub struct Entry {
    /// The plugin folder.
    pub dir: PathBuf,
    /// The tenant it belongs to (`[plugins.<id>] tenant`, else the first tenant).
    pub tenant: String,
    /// The checked manifest, or why it was refused.
    pub manifest: Result<Manifest, ManifestError>,
    /// Enabled in config; HIGH and CRITICAL plugins default to disabled (CONTRACT.md).
    pub enabled: bool,
    /// Its counters.
    pub counters: Counters,
}

impl Entry {
    /// The plugin id, or the folder name for a manifest that could not be read.
    pub fn id(&self) -> String {
        match &self.manifest {
            Ok(m) => m.id.clone(),
            Err(_) => self
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// The listing of CONTRACT.md: every manifest field plus kind, enabled, status, last
    /// error and counters.
    pub fn to_json(&self) -> Value {
        let mut obj = match &self.manifest {
            Ok(m) => m.raw.clone(),
            Err(_) => serde_json::Map::new(),
        };
        obj.insert("id".into(), json!(self.id()));
        let (kind, status, error) = match &self.manifest {
            Ok(m) => (
                m.kind.as_str(),
                if self.enabled { "running" } else { "disabled" },
                Value::Null,
            ),
            Err(e) => ("unknown", "error", json!(e.to_string())),
        };
        obj.insert("kind".into(), json!(kind));
        obj.insert(
            "enabled".into(),
            json!(self.enabled && self.manifest.is_ok()),
        );
        obj.insert("status".into(), json!(status));
        obj.insert("last_error".into(), error);
        obj.insert("counters".into(), self.counters.to_json());
        Value::Object(obj)
    }
}

/// Every plugin found under the plugins folder.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

impl Registry {
    /// Scans `<plugins_dir>/*/plugin.json`. A folder without `plugin.json` is ignored; a
    /// bad manifest or a duplicate id becomes an `error` entry and is logged, and the rest
    /// are registered.
    pub fn scan(cfg: &Config) -> Self {
        let root = cfg.plugins_dir();
        let mut dirs: Vec<PathBuf> = match std::fs::read_dir(&root) {
            Ok(rd) => rd
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.join("plugin.json").is_file())
                .collect(),
            Err(_) => Vec::new(),
        };
        dirs.sort();
        let mut entries: Vec<Entry> = Vec::new();
        for dir in dirs {
            let mut manifest = manifest::load(&dir);
            if let Ok(m) = &manifest
                && let Some(other) = entries
                    .iter()
                    .find(|e| e.manifest.as_ref().is_ok_and(|o| o.id == m.id))
            {
                manifest = Err(ManifestError {
                    file: dir.join("plugin.json").display().to_string(),
                    field: "id".into(),
                    message: format!(
                        "{:?} is already used by {}; plugin ids are unique on the host",
                        m.id,
                        other.dir.display()
                    ),
                });
            }
            match &manifest {
                Ok(m) => {
                    tracing::info!(plugin = %m.id, kind = m.kind.as_str(), "registered plugin")
                }
                Err(e) => tracing::warn!(error = %e, "plugin refused"),
            }
            let mut entry = Entry {
                dir,
                tenant: String::new(),
                manifest,
                enabled: false,
                counters: Counters::default(),
            };
            let id = entry.id();
            entry.tenant = cfg.plugin_tenant(&id).to_owned();
            entry.enabled = match &entry.manifest {
                Ok(m) => cfg
                    .plugin_enabled(&id)
                    .unwrap_or(!m.sensitivity.needs_opt_in()),
                Err(_) => false,
            };
            entries.push(entry);
        }
        Self { entries }
    }

    /// The valid, registered plugin `id` of `tenant`.
    pub fn get(&self, tenant: &str, id: &str) -> Option<(&Manifest, &Entry)> {
        self.entries
            .iter()
            .filter(|e| e.tenant == tenant)
            .find_map(|e| {
                e.manifest
                    .as_ref()
                    .ok()
                    .filter(|m| m.id == id)
                    .map(|m| (m, e))
            })
    }

    /// What validation needs to know of `id`, if it is registered for `tenant`.
    pub fn registration(&self, tenant: &str, id: &str) -> Option<Registered> {
        self.get(tenant, id).map(|(m, e)| Registered {
            source_types: m.source_types.clone(),
            enabled: e.enabled,
        })
    }

    /// Every entry of `tenant`, as the registry listing shows it.
    pub fn list(&self, tenant: &str) -> Vec<Value> {
        self.entries
            .iter()
            .filter(|e| e.tenant == tenant)
            .map(Entry::to_json)
            .collect()
    }

    /// Every entry.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}
