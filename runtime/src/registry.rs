//! The plugin registry: every `plugins/*/plugin.json`, whose tenant it belongs to, its
//! settings, whether it is enabled, its status and counters (CONTRACT.md, "GET
//! /api/v1/plugins").

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

use crate::manifest::{self, Manifest, ManifestError, PluginKind};
use crate::settings::{Settings, settings};
use openclone_ingest::config::Config;
use openclone_vault::Tally;

/// Counters of one plugin in this process: the [`Tally`] of its HTTP batches and `emit`
/// calls, kept in atomics so the writer thread adds without a lock, and when it last ran.
#[derive(Default)]
pub struct Counters {
    stored: AtomicU64,
    skipped: AtomicU64,
    /// Unix seconds of the last batch or pass, as `f64` bits; 0 = never.
    last_run: AtomicU64,
}

impl Counters {
    /// Adds a batch's tally (its stored and skipped events) at Unix second `at`.
    pub fn record(&self, tally: Tally, at: f64) {
        self.stored.fetch_add(tally.stored, Ordering::Relaxed);
        self.skipped.fetch_add(tally.skipped, Ordering::Relaxed);
        self.last_run.store(at.to_bits(), Ordering::Relaxed);
    }

    /// Every batch's tally so far, added up.
    pub fn totals(&self) -> Tally {
        Tally::new(
            self.stored.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
        )
    }
}

/// Where a WebAssembly plugin stands (CONTRACT.md: running, stopped, disabled, error).
#[derive(Debug, Clone, Default)]
pub struct RuntimeStatus {
    /// A pass is executing now.
    pub in_pass: bool,
    /// Parked after repeated failures, or could not be loaded.
    pub parked: bool,
    /// Stopped because its folder was removed or the host is shutting down.
    pub stopped: bool,
    /// The last failure, with its kind.
    pub last_error: Option<String>,
    /// Consecutive failed passes.
    pub failures: u32,
    /// Passes run (ok or not).
    pub passes: u64,
    /// Failed passes.
    pub failed_passes: u64,
    /// Restarts after a failure (passes that ran after a failed one).
    pub restarts: u64,
    /// Whether the compiled component came from the cache on the last load.
    pub from_cache: Option<bool>,
    /// Times the component was compiled (not taken from the cache) by this process.
    pub compiles: u64,
    /// Milliseconds the last load took.
    pub load_ms: Option<f64>,
    /// Milliseconds the last pass took.
    pub last_pass_ms: Option<f64>,
    /// Largest linear memory the last successful pass reached, bytes.
    pub peak_memory: Option<usize>,
    /// Records skipped inside otherwise-read files, over every pass of this process.
    pub records_skipped: u64,
    /// Outgoing requests the host denied (`net-http`), over every pass of this process.
    pub requests_denied: u64,
    /// The last denied request: URL and why.
    pub last_denied: Option<String>,
}

/// One plugin folder.
pub struct Entry {
    /// The plugin folder.
    pub dir: PathBuf,
    /// The tenant it belongs to (`[plugins.<id>] tenant`, else the first tenant).
    pub tenant: String,
    /// The checked manifest and settings, or why they were refused.
    pub manifest: Result<Manifest, ManifestError>,
    /// Its settings (defaults when the manifest was refused).
    pub settings: Settings,
    /// Its counters.
    pub counters: Counters,
    /// Its runtime status (WebAssembly plugins).
    pub status: Mutex<RuntimeStatus>,
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

    /// Valid and enabled.
    pub fn enabled(&self) -> bool {
        self.manifest.is_ok() && self.settings.enabled
    }

    /// A copy of the runtime status.
    pub fn status(&self) -> RuntimeStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Changes the runtime status.
    pub fn update(&self, f: impl FnOnce(&mut RuntimeStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// `running`, `stopped`, `disabled` or `error` (CONTRACT.md).
    pub fn status_word(&self) -> &'static str {
        let s = self.status();
        match &self.manifest {
            Err(_) => "error",
            Ok(_) if !self.settings.enabled => "disabled",
            Ok(_) if s.parked => "error",
            Ok(_) if s.stopped => "stopped",
            Ok(_) => "running",
        }
    }

    /// The listing of CONTRACT.md: every manifest field plus kind, enabled, status, last
    /// error and counters.
    pub fn to_json(&self) -> Value {
        let mut obj = match &self.manifest {
            Ok(m) => m.raw.clone(),
            Err(_) => serde_json::Map::new(),
        };
        let s = self.status();
        obj.insert("id".into(), json!(self.id()));
        let kind = self
            .manifest
            .as_ref()
            .map_or("unknown", |m| m.kind.as_str());
        let last_error = match &self.manifest {
            Err(e) => Some(e.to_string()),
            Ok(_) => s.last_error.clone(),
        };
        let totals = self.counters.totals();
        let last = f64::from_bits(self.counters.last_run.load(Ordering::Relaxed));
        obj.insert("kind".into(), json!(kind));
        obj.insert("enabled".into(), json!(self.enabled()));
        obj.insert("status".into(), json!(self.status_word()));
        obj.insert("last_error".into(), json!(last_error));
        let mut counters = json!({
            "events_stored": totals.stored,
            "events_skipped": totals.skipped,
            "last_run": if last > 0.0 { json!(last) } else { Value::Null },
        });
        if kind == "wasm" {
            counters["passes"] = json!(s.passes);
            counters["failed_passes"] = json!(s.failed_passes);
            counters["restarts"] = json!(s.restarts);
            counters["records_skipped"] = json!(s.records_skipped);
            counters["compiles"] = json!(s.compiles);
            counters["loaded_from_cache"] = json!(s.from_cache);
            counters["load_ms"] = json!(s.load_ms);
            counters["last_pass_ms"] = json!(s.last_pass_ms);
            counters["peak_memory_bytes"] = json!(s.peak_memory);
            counters["requests_denied"] = json!(s.requests_denied);
            obj.insert("last_denied_request".into(), json!(s.last_denied));
        }
        obj.insert("counters".into(), counters);
        Value::Object(obj)
    }
}

/// Reads `<dir>/plugin.json` ([`manifest::load`]) and checks what it requests of each
/// capability ([`crate::sandbox::capability::check_manifest`]). Errors: as
/// [`manifest::load`], or the capability field that breaks a rule.
pub fn load_manifest(dir: &std::path::Path) -> Result<Manifest, ManifestError> {
    let m = manifest::load(dir)?;
    crate::sandbox::capability::check_manifest(&m.raw).map_err(|(field, message)| {
        ManifestError {
            file: dir.join("plugin.json").display().to_string(),
            field,
            message,
        }
    })?;
    Ok(m)
}

/// Every plugin found under the plugins folder.
#[derive(Default)]
pub struct Registry {
    entries: Vec<std::sync::Arc<Entry>>,
}

impl Registry {
    /// Scans `<plugins_dir>/*/plugin.json`. A folder without `plugin.json` is ignored; a
    /// bad manifest, bad settings or a duplicate id becomes an `error` entry and is logged,
    /// and the rest are registered. Nothing is compiled here.
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
        let mut entries: Vec<std::sync::Arc<Entry>> = Vec::new();
        for dir in dirs {
            let mut manifest = load_manifest(&dir);
            let folder = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Ok(m) = &manifest
                && m.id != folder
            {
                // A folder must not take another plugin's config, state and tenant by
                // claiming its id (CONTRACT.md, "plugin.json": id).
                manifest = Err(ManifestError {
                    file: dir.join("plugin.json").display().to_string(),
                    field: "id".into(),
                    message: format!(
                        "{:?} differs from its folder's name {folder:?}; a plugin folder is named after its id — rename the folder to {:?}",
                        m.id, m.id
                    ),
                });
            }
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
            let mut plugin_settings = Settings::default();
            if let Ok(m) = &manifest {
                match settings(cfg, m) {
                    Ok(s) => plugin_settings = s,
                    Err(e) => {
                        manifest = Err(ManifestError {
                            file: "openclone.toml".into(),
                            field: format!("plugins.{}.{}", e.plugin, e.key),
                            message: e.message,
                        })
                    }
                }
            }
            match &manifest {
                Ok(m) => {
                    tracing::info!(plugin = %m.id, kind = m.kind.as_str(), enabled = plugin_settings.enabled, "registered plugin")
                }
                Err(e) => tracing::warn!(error = %e, "plugin refused"),
            }
            let id = match &manifest {
                Ok(m) => m.id.clone(),
                Err(_) => dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            };
            entries.push(std::sync::Arc::new(Entry {
                tenant: cfg.plugin_tenant(&id).to_owned(),
                dir,
                manifest,
                settings: plugin_settings,
                counters: Counters::default(),
                status: Mutex::new(RuntimeStatus::default()),
            }));
        }
        Self { entries }
    }

    /// The valid, registered plugin `id` of `tenant`.
    pub fn get(&self, tenant: &str, id: &str) -> Option<(&Manifest, &std::sync::Arc<Entry>)> {
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

    /// Every entry of `tenant`, as the registry listing shows it.
    pub fn list(&self, tenant: &str) -> Vec<Value> {
        self.entries
            .iter()
            .filter(|e| e.tenant == tenant)
            .map(|e| e.to_json())
            .collect()
    }

    /// Every entry.
    pub fn entries(&self) -> &[std::sync::Arc<Entry>] {
        &self.entries
    }

    /// One `openclone_plugin_*` metrics row per entry.
    pub fn metric_rows(&self) -> Vec<openclone_ingest::metrics::PluginRow> {
        self.entries
            .iter()
            .map(|e| {
                let s = e.status();
                openclone_ingest::metrics::PluginRow {
                    id: e.id(),
                    passes: s.passes,
                    failed_passes: s.failed_passes,
                    restarts: s.restarts,
                    compiles: s.compiles,
                    last_pass_s: s.last_pass_ms.unwrap_or(0.0) / 1000.0,
                    peak_memory: s.peak_memory.unwrap_or(0) as u64,
                    records_skipped: s.records_skipped,
                    events: e.counters.totals(),
                }
            })
            .collect()
    }

    /// The valid WebAssembly plugins, with their component paths.
    pub fn wasm(&self) -> impl Iterator<Item = (&std::sync::Arc<Entry>, &Manifest, &PathBuf)> {
        self.entries.iter().filter_map(|e| match &e.manifest {
            Ok(m) => match &m.kind {
                PluginKind::Wasm { component } => Some((e, m, component)),
                PluginKind::Remote => None,
            },
            Err(_) => None,
        })
    }

    /// Keeps the entries (with their counters and status) of `old` whose folder, manifest
    /// and settings are unchanged, so a rescan does not reset them.
    pub fn carry_over(mut self, old: &Registry) -> Self {
        for e in &mut self.entries {
            if let Some(prev) = old.entries.iter().find(|o| same(o, e)) {
                *e = prev.clone();
            }
        }
        self
    }
}

fn same(a: &Entry, b: &Entry) -> bool {
    a.dir == b.dir
        && a.tenant == b.tenant
        && a.settings.enabled == b.settings.enabled
        && match (&a.manifest, &b.manifest) {
            (Ok(x), Ok(y)) => x.raw == y.raw && x.kind == y.kind,
            (Err(x), Err(y)) => x.to_string() == y.to_string(),
            _ => false,
        }
}
