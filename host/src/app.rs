//! The running host's shared state: tenants with their open vaults, keys, rate limiter and
//! plugin registry.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use openclone_vault::{Policy, Vault, VaultConfig};

use crate::auth::{KeyRing, generate_key, hash_key};
use crate::config::{Config, TenantConfig};
use crate::plugins::registry::Registry;
use crate::ratelimit::RateLimiter;

/// One tenant: an id and its own vault (CONTRACT.md, "Tenant isolation").
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// The tenant's vault root.
    pub root: PathBuf,
    /// Its open vault (writer thread and dedup index).
    pub vault: Vault,
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
    /// Installed plugins.
    pub registry: Registry,
}

impl App {
    /// Opens every tenant's vault (reconciling its index with the vault) and scans plugins.
    ///
    /// Errors: a vault or index cannot be opened, a key file cannot be written.
    pub fn open(cfg: &Config) -> anyhow::Result<Self> {
        let data = cfg.data_dir();
        let mut tenants = Vec::new();
        let mut keys = KeyRing::default();
        for (i, t) in cfg.tenants.iter().enumerate() {
            let before = keys.len();
            for h in &t.api_key_sha256 {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(h, &mut hash).context("api_key_sha256")?;
                keys.add(hash, i);
            }
            if let Some(var) = &t.api_key_env
                && let Ok(key) = std::env::var(var)
                && !key.is_empty()
            {
                keys.add(hash_key(&key), i);
            }
            if keys.len() == before {
                keys.add(stored_or_new_key(&data, t)?, i);
            }
            let root = cfg.vault_root(t);
            let tz = jiff::tz::TimeZone::get(&t.timezone)
                .with_context(|| format!("tenant {}: timezone {}", t.id, t.timezone))?;
            let vault = Vault::open(VaultConfig {
                root: root.clone(),
                index_path: data.join("state").join(&t.id).join("index.sqlite"),
                tz,
                policy: Policy {
                    redact_pii: t.redact_pii,
                },
            })
            .with_context(|| format!("tenant {}: opening the vault at {}", t.id, root.display()))?;
            if vault.recovered.files_scanned > 0 {
                tracing::info!(tenant = %t.id, files = vault.recovered.files_scanned, markers = vault.recovered.markers_found, torn = vault.recovered.torn_tails.len(), "dedup index brought in line with the vault");
            }
            tenants.push(Tenant {
                id: t.id.clone(),
                root,
                vault,
                require_registered: t.require_registered_plugins,
            });
        }
        Ok(Self {
            tenants,
            keys,
            limiter: RateLimiter::new(cfg.ingest.rate_burst, cfg.ingest.rate_per_s),
            registry: Registry::scan(cfg),
        })
    }

    /// Finishes every queued batch and stops the vault writers.
    pub fn close(&self) {
        for t in &self.tenants {
            t.vault.close();
        }
    }
}

/// A tenant with no configured key gets one generated on first start: its hash is kept in
/// `<data>/keys/<tenant>.sha256` and the key is printed once, never stored.
fn stored_or_new_key(data: &Path, t: &TenantConfig) -> anyhow::Result<[u8; 32]> {
    let file = data.join("keys").join(format!("{}.sha256", t.id));
    if let Ok(text) = std::fs::read_to_string(&file) {
        let mut hash = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut hash)
            .with_context(|| format!("{} must hold 64 hex digits", file.display()))?;
        return Ok(hash);
    }
    let key = generate_key();
    let hash = hash_key(&key);
    std::fs::create_dir_all(file.parent().unwrap_or(data))?;
    std::fs::write(&file, hex::encode(hash))
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
