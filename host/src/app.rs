//! The running host's shared state: tenants with their open vaults, keys, rate limiter and
//! plugin registry.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::Context;
use openclone_vault::{Platform, Policy, Vault, VaultConfig};

use crate::auth::{KeyRing, generate_key, hash_key};
use crate::config::{Config, TenantConfig};
use crate::ingest::{Ingest, Sink};
use crate::lock::DataLock;
use crate::metrics::Metrics;
use crate::plugins::manifest::Manifest;
use crate::plugins::registry::{Entry, Registry};
use crate::ratelimit::RateLimiter;
use crate::runtime::context::{EventBudget, PluginContext};
use crate::runtime::state_store::StateStore;

/// Keys shorter than this are warned about at start and fail `openclone doctor` (issue 9).
pub const MIN_KEY_CHARS: usize = 16;

/// One tenant: an id and its own vault (CONTRACT.md, "Tenant isolation").
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// The tenant's vault root.
    pub root: PathBuf,
    /// Its open vault (writer thread and dedup index).
    pub vault: Arc<Vault>,
    /// Its plugins' keyed state.
    pub state: Arc<StateStore>,
    /// Refuse unregistered plugin ids.
    pub require_registered: bool,
}

/// Everything a request needs.
pub struct App {
    /// Tenants in config order.
    pub tenants: Vec<Tenant>,
    /// API key hashes → tenant index.
    pub keys: KeyRing,
    /// The per-key token buckets.
    pub limiter: RateLimiter,
    /// Wrong keys per client address (429 after too many).
    pub key_guesses: crate::ratelimit::KeyGuesses,
    /// The memory budget of request bodies in flight, shared by every listener.
    pub bodies: crate::http::body::BodyBudget,
    /// Installed plugins; replaced as a whole when the plugins folder changes (shared with
    /// the ingest service).
    registry: Arc<RwLock<Arc<Registry>>>,
    /// The one ingest service every way in uses.
    pub ingest: Arc<Ingest>,
    /// The configuration the host started with.
    pub config: Config,
    /// This host's stable device id (`device_id` of what its plugins emit).
    pub device_id: String,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// The data folder's lock: one host per data folder.
    _lock: DataLock,
}

impl App {
    /// Locks the data folder ([`DataLock`]), opens every tenant's vault (reconciling its
    /// index with the vault) and scans plugins.
    ///
    /// Errors: another process holds the data folder (its pid is named), a vault or index
    /// cannot be opened, a key file cannot be written.
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        let data = cfg.data_dir();
        let lock = DataLock::acquire(&data)?;
        let mut tenants = Vec::new();
        let mut keys = KeyRing::default();
        for (i, t) in cfg.tenants.iter().enumerate() {
            let before = keys.len();
            let add = |keys: &mut KeyRing, hash, what: &str| {
                keys.add(hash, i).map_err(|other| {
                    anyhow::anyhow!(
                        "tenants {:?} and {:?} accept the same API key ({what}): one person's clients would write into the other's vault; give each tenant its own key (a different api_key_env variable or api_key_sha256)",
                        cfg.tenants[other].id,
                        t.id
                    )
                })
            };
            for h in &t.api_key_sha256 {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(h, &mut hash).context("api_key_sha256")?;
                add(&mut keys, hash, "api_key_sha256")?;
            }
            if let Some(var) = &t.api_key_env
                && let Ok(key) = std::env::var(var)
                && !key.is_empty()
            {
                if key.chars().count() < MIN_KEY_CHARS {
                    tracing::warn!(tenant = %t.id, variable = %var, "the API key is shorter than {MIN_KEY_CHARS} characters: anyone who can reach the host may guess it; use a longer one (openclone init makes one)");
                }
                add(&mut keys, hash_key(&key), &format!("${var}"))?;
            }
            if keys.len() == before {
                add(&mut keys, stored_or_new_key(&data, t)?, "a generated key")?;
            }
            let root = cfg.vault_root(t);
            let tz = jiff::tz::TimeZone::get(&t.timezone)
                .with_context(|| format!("tenant {}: timezone {}", t.id, t.timezone))?;
            let state_dir = data.join("state").join(&t.id);
            for legacy in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
                // The SQLite dedup index of earlier versions: a cache the vault rebuilds.
                let _ = std::fs::remove_file(state_dir.join(legacy));
            }
            let vault = Vault::open(VaultConfig {
                root: root.clone(),
                index_path: state_dir.join("index"),
                tz,
                policy: Policy {
                    redact_pii: t.redact_pii,
                },
            })
            .with_context(|| format!("tenant {}: opening the vault at {}", t.id, root.display()))?;
            if vault.recovered.files_scanned > 0 {
                tracing::info!(tenant = %t.id, files = vault.recovered.files_scanned, markers = vault.recovered.markers_found, torn = vault.recovered.torn_tails.len(), "dedup index brought in line with the vault");
            }
            let state_path = data.join("state").join(&t.id).join("plugin-state.sqlite");
            openclone_vault::durable::private_database(&state_path)
                .with_context(|| format!("tenant {}: creating {}", t.id, state_path.display()))?;
            let state = StateStore::open(&state_path)
                .with_context(|| format!("tenant {}: opening {}", t.id, state_path.display()))?;
            // WAL mode has just created `-wal` (and `-shm`): make their names durable too.
            openclone_vault::durable::sync_dir(&data.join("state").join(&t.id))
                .with_context(|| format!("tenant {}: syncing its state folder", t.id))?;
            tenants.push(Tenant {
                id: t.id.clone(),
                root,
                vault: Arc::new(vault),
                state: Arc::new(state),
                require_registered: t.require_registered_plugins,
            });
        }
        let registry = Arc::new(RwLock::new(Arc::new(Registry::scan(cfg))));
        let metrics = Arc::new(Metrics::default());
        let ingest = Arc::new(Ingest::new(
            tenants
                .iter()
                .zip(&cfg.tenants)
                .map(|(t, c)| Sink {
                    id: t.id.clone(),
                    vault: t.vault.clone(),
                    require_registered: t.require_registered,
                    earliest: c.earliest(),
                })
                .collect(),
            registry.clone(),
            metrics.clone(),
        ));
        Ok(Self {
            tenants,
            keys,
            limiter: RateLimiter::new(cfg.ingest.rate_burst, cfg.ingest.rate_per_s),
            key_guesses: Default::default(),
            bodies: crate::http::body::BodyBudget::new(cfg.http.body_memory_mib),
            registry,
            ingest,
            config: cfg.clone(),
            device_id: device_id(&data)?,
            metrics,
            _lock: lock,
        })
    }

    /// The current registry.
    pub fn registry(&self) -> Arc<Registry> {
        self.registry
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the registry (after a rescan of the plugins folder).
    pub fn set_registry(&self, r: Registry) {
        *self.registry.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(r);
    }

    /// The tenant with id `id`.
    pub fn tenant(&self, id: &str) -> Option<&Tenant> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// Links a WebAssembly plugin to its tenant's vault and state, with its config and
    /// limits. Errors: the plugin names a tenant that does not exist.
    pub fn plugin_context(
        &self,
        entry: &Entry,
        manifest: &Manifest,
    ) -> anyhow::Result<Arc<PluginContext>> {
        let t = self.tenant(&entry.tenant).with_context(|| {
            format!(
                "[plugins.{}] tenant = {:?} is not a configured tenant",
                manifest.id, entry.tenant
            )
        })?;
        let limits = entry.settings.limits;
        let mut grants = entry.settings.grants.clone();
        if let Some(since) = self
            .config
            .tenants
            .iter()
            .find(|c| c.id == t.id)
            .and_then(|c| c.accept_since.clone())
        {
            grants
                .config
                .insert("accept_since".into(), serde_json::Value::String(since));
        }
        Ok(Arc::new(PluginContext {
            id: manifest.id.clone(),
            version: manifest.version.clone(),
            tenant: t.id.clone(),
            tenant_index: self.ingest.tenant_index(&t.id).unwrap_or_default(),
            ingest: self.ingest.clone(),
            state: t.state.clone(),
            limits,
            grants,
            device_id: self.device_id.clone(),
            platform: Platform::Linux,
            budget: EventBudget::new(entry.settings.grants.emit.events_per_minute),
            log_budget: EventBudget::new(crate::runtime::capability::log::LINES_PER_MINUTE),
            emitted: Default::default(),
            denials: Default::default(),
        }))
    }

    /// Finishes every queued batch and stops the vault writers.
    pub fn close(&self) {
        for t in &self.tenants {
            t.vault.close();
        }
    }
}

/// The host's device id, generated once (a random UUID v4) and kept in `<data>/device-id`,
/// written durably ([`openclone_vault::durable::write`]) so a power cut does not change it.
fn device_id(data: &Path) -> anyhow::Result<String> {
    let file = data.join("device-id");
    if let Ok(id) = std::fs::read_to_string(&file)
        && openclone_vault::validate::device_id_ok(id.trim())
    {
        return Ok(id.trim().to_owned());
    }
    let b: [u8; 16] = rand::random();
    let id = format!(
        "{}-{}-4{}-{:x}{}-{}",
        hex::encode(&b[0..4]),
        hex::encode(&b[4..6]),
        &hex::encode(&b[6..8])[1..],
        8 | (b[8] & 3),
        &hex::encode(&b[8..10])[1..],
        hex::encode(&b[10..16])
    );
    openclone_vault::durable::write(&file, id.as_bytes())
        .with_context(|| format!("writing {}", file.display()))?;
    Ok(id)
}

/// A tenant with no configured key gets one generated on first start: its hash is kept in
/// `<data>/keys/<tenant>.sha256` and the key is printed once, never stored.
fn stored_or_new_key(data: &Path, t: &TenantConfig) -> anyhow::Result<[u8; 32]> {
    let file = data.join("keys").join(format!("{}.sha256", t.id));
    if let Ok(text) = std::fs::read_to_string(&file) {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut hash).with_context(|| {
            format!(
                "{} must hold 64 hex digits (the sha256 of the tenant's key); if the key is lost, delete the file and a new key is generated at the next start",
                file.display()
            )
        })?;
        return Ok(hash);
    }
    let key = generate_key();
    let hash = hash_key(&key);
    openclone_vault::durable::write(&file, hex::encode(hash).as_bytes())
        .with_context(|| format!("writing {}", file.display()))?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "openclone: generated an API key for tenant {}: {key}",
        t.id
    )?;
    writeln!(
        out,
        "openclone: it is shown only this once (its hash is in {}); send it as X-API-Key",
        file.display()
    )?;
    Ok(hash)
}
