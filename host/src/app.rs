//! The running host's shared state: tenants with their open vaults, keys, rate limiter and
//! plugin registry.

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use openclone_recall::Feed;
use openclone_vault::{OnWritten, Policy, Vault, VaultConfig};

use openclone_ingest::auth::{KeyRing, generate_key, hash_key};
use openclone_ingest::config::{Config, TenantConfig};
use openclone_ingest::metrics::Metrics;
use openclone_ingest::ratelimit::{KeyGuesses, RateLimiter};
use openclone_ingest::service::{Ingest, Tenant};
use openclone_ingest::store::{LocalStore, Store};
use openclone_runtime::links::Links;
use openclone_runtime::plugins::Plugins;
use openclone_runtime::registry::Registry;
use openclone_runtime::sandbox::state_store::StateStore;

use crate::guard::body::BodyBudget;
use crate::lock::DataLock;

/// Keys shorter than this are warned about at start and fail `openclone doctor`
/// (CONTRACT.md, "Authentication").
pub const MIN_KEY_CHARS: usize = 16;

/// Everything a request needs: the composition root of the host.
pub struct App {
    /// Tenants in config order (the ingest service's, shared).
    pub tenants: Vec<Arc<Tenant>>,
    /// API key hashes → tenant index.
    pub keys: KeyRing,
    /// The per-key token buckets.
    pub limiter: RateLimiter,
    /// Wrong keys per client address (429 after too many).
    pub key_guesses: KeyGuesses,
    /// The memory budget of request bodies in flight, shared by every listener.
    pub bodies: BodyBudget,
    /// The one ingest service every way in uses.
    pub ingest: Arc<Ingest>,
    /// Each tenant's open vault, in tenant order; empty on a cluster frontend, whose
    /// batches go to the writers ([`Backend::Remote`]).
    pub vaults: Vec<Arc<Vault>>,
    /// Where [`App::ingest`] stores batches.
    store: Arc<dyn Store>,
    /// What the plugin supervisor is fed: the registry, the state stores, the device id.
    pub links: Arc<Links>,
    /// The configuration the host started with.
    pub config: Config,
    /// Prometheus counters.
    pub metrics: Arc<Metrics>,
    /// Each tenant's search indexer, in tenant order (`None` with `[search] enabled =
    /// false`).
    pub recall: Vec<Option<Arc<Feed>>>,
    /// The data folder's lock: one host per data folder.
    _lock: DataLock,
}

impl App {
    /// Locks the data folder ([`DataLock`]), opens every tenant's vault (reconciling its
    /// index with the vault) and scans plugins: the single process.
    ///
    /// Errors: another process holds the data folder (its pid is named), a vault or index
    /// cannot be opened, a key file cannot be written.
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        Self::open_with(cfg, Backend::Local)
    }

    /// [`App::open`] with the batches going to `backend`: with [`Backend::Remote`] no vault
    /// and no search index is opened here (a cluster frontend).
    ///
    /// Errors: as [`App::open`].
    pub fn open_with(cfg: &Config, backend: Backend) -> anyhow::Result<Self> {
        let data = cfg.data_dir();
        let lock = DataLock::acquire(&data)?;
        let (mut tenants, mut states, mut recall) = (Vec::new(), Vec::new(), Vec::new());
        let mut vaults = Vec::new();
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
            let state_dir = data.join("state").join(&t.id);
            for legacy in ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"] {
                // The SQLite dedup index of earlier versions: a cache the vault rebuilds.
                let _ = std::fs::remove_file(state_dir.join(legacy));
            }
            let local = matches!(backend, Backend::Local);
            let feed = match cfg.search.enabled && local {
                true => {
                    let search = search_index(cfg, &t.id);
                    openclone_vault::durable::private_database(&search).with_context(|| {
                        format!("tenant {}: creating {}", t.id, search.display())
                    })?;
                    Some(Arc::new(
                        Feed::start(search.clone(), root.clone()).with_context(|| {
                            format!("tenant {}: opening {}", t.id, search.display())
                        })?,
                    ))
                }
                false => None,
            };
            if local {
                let listener = feed
                    .clone()
                    .map(|feed| OnWritten(Arc::new(move |files: Vec<String>| feed.written(files))));
                vaults.push(Arc::new(open_vault(cfg, t, listener)?));
            }
            let state_path = data.join("state").join(&t.id).join("plugin-state.sqlite");
            openclone_vault::durable::private_database(&state_path)
                .with_context(|| format!("tenant {}: creating {}", t.id, state_path.display()))?;
            let state = StateStore::open(&state_path)
                .with_context(|| format!("tenant {}: opening {}", t.id, state_path.display()))?;
            // WAL mode has just created `-wal` (and `-shm`): make their names durable too.
            openclone_vault::durable::sync_dir(&data.join("state").join(&t.id))
                .with_context(|| format!("tenant {}: syncing its state folder", t.id))?;
            tenants.push(Arc::new(Tenant {
                id: t.id.clone(),
                root,
                require_registered: t.require_registered_plugins,
                earliest: t.earliest(),
            }));
            states.push(Arc::new(state));
            recall.push(feed);
        }
        let plugins = Arc::new(Plugins::new(Registry::scan(cfg)));
        let metrics = Arc::new(Metrics::default());
        let store: Arc<dyn Store> = match backend {
            Backend::Local => Arc::new(LocalStore::new(vaults.clone())),
            Backend::Remote(store) => store,
        };
        let ingest = Arc::new(Ingest::new(
            tenants.clone(),
            store.clone(),
            plugins.clone(),
            metrics.clone(),
            Arc::new(openclone_ingest::pause::Pause::open(&data)),
        ));
        let links = Arc::new(Links {
            config: cfg.clone(),
            plugins,
            ingest: ingest.clone(),
            states,
            device_id: device_id(&data)?,
        });
        Ok(Self {
            tenants,
            keys,
            limiter: RateLimiter::new(cfg.ingest.rate_burst, cfg.ingest.rate_per_s),
            key_guesses: KeyGuesses::default(),
            bodies: BodyBudget::new(cfg.http.body_memory_mib),
            ingest,
            vaults,
            store,
            links,
            config: cfg.clone(),
            metrics,
            recall,
            _lock: lock,
        })
    }

    /// Tenant `tenant`'s search index file ([`search_index`]).
    pub fn search_index(&self, tenant: usize) -> std::path::PathBuf {
        search_index(&self.config, &self.tenants[tenant].id)
    }

    /// The name Obsidian knows tenant `tenant`'s vault by: its folder's name.
    pub fn vault_name(&self, tenant: usize) -> String {
        self.tenants[tenant]
            .root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The registry in force.
    pub fn registry(&self) -> Arc<Registry> {
        self.links.plugins.get()
    }

    /// Tenant number `tenant`'s open vault. Errors: this host is a cluster frontend, whose
    /// vaults are kept by the writers.
    pub fn vault(&self, tenant: usize) -> anyhow::Result<&Arc<Vault>> {
        self.vaults.get(tenant).with_context(|| {
            format!(
                "tenant {}: this host is a cluster frontend; its vault is kept by the writer of its partition",
                self.tenants[tenant].id
            )
        })
    }

    /// The tenant with id `id`.
    pub fn tenant(&self, id: &str) -> Option<&Arc<Tenant>> {
        self.tenants.iter().find(|t| t.id == id)
    }

    /// Finishes every queued batch and stops the vault writers, then lets the search
    /// indexers take in what the last groups wrote and stops them.
    pub fn close(&self) {
        self.store.close();
        for f in self.recall.iter().flatten() {
            f.close();
        }
    }
}

/// Where the ingest service stores batches.
pub enum Backend {
    /// Each tenant's vault, opened in this process (the embedded default).
    Local,
    /// Another store (a cluster frontend's publisher); no vault is opened here.
    Remote(Arc<dyn Store>),
}

/// Opens tenant `t`'s vault under `cfg` (reconciling its dedup index with the files, and
/// logging what that found), calling `on_written` after each group of writes.
///
/// Errors: a bad timezone, a vault or index that cannot be opened.
pub fn open_vault(
    cfg: &Config,
    t: &TenantConfig,
    on_written: Option<OnWritten>,
) -> anyhow::Result<Vault> {
    let root = cfg.vault_root(t);
    let tz = jiff::tz::TimeZone::get(&t.timezone)
        .with_context(|| format!("tenant {}: timezone {}", t.id, t.timezone))?;
    let vault = Vault::open(VaultConfig {
        root: root.clone(),
        index_path: cfg.data_dir().join("state").join(&t.id).join("index"),
        tz,
        policy: Policy {
            redact_pii: t.redact_pii,
        },
        on_written,
        retention: cfg.retention(),
    })
    .with_context(|| format!("tenant {}: opening the vault at {}", t.id, root.display()))?;
    if vault.recovered.files_scanned > 0 {
        tracing::info!(tenant = %t.id, files = vault.recovered.files_scanned, markers = vault.recovered.markers_found, torn = vault.recovered.torn_tails.len(), "dedup index brought in line with the vault");
    }
    Ok(vault)
}

/// Where tenant `id`'s search index lives: `<data>/state/<id>/search.sqlite` (a cache of
/// the vault, private like the rest of the tenant's state).
pub fn search_index(cfg: &Config, id: &str) -> std::path::PathBuf {
    cfg.data_dir().join("state").join(id).join("search.sqlite")
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
