//! A plugin's settings: the host keys of `[plugins.<id>]` (enabled, tenant, schedule,
//! limits) and each capability's grant, among them its own config checked against the
//! manifest's `config_schema` with defaults applied (DESIGN.md, "Running plugins").

use std::time::Duration;

use super::manifest::Manifest;
use crate::config::Config;
use crate::runtime::capability::{Configure, Grants};

/// Keys of `[plugins.<id>]` the host reads itself; each capability adds its own
/// (`runtime::capability::KEYS`), and every other key is the plugin's config.
pub const HOST_KEYS: [&str; 6] = [
    "enabled",
    "tenant",
    "interval_s",
    "timeout_s",
    "memory_mb",
    "max_failures",
];

/// Per-instance limits (DESIGN.md: all configurable, sane defaults); each capability
/// keeps its own in its grant.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time one call may take before its epoch deadline stops it; `timeout_s`, default 30.
    pub timeout: Duration,
    /// Linear memory, bytes; `memory_mb`, default 64.
    pub memory_bytes: usize,
    /// Consecutive failed passes before the plugin is parked as `error`; default 5.
    pub max_failures: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            max_failures: 5,
        }
    }
}

/// Everything the host needs to run a plugin.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Enabled: config `enabled`, else true unless the manifest is HIGH or CRITICAL.
    pub enabled: bool,
    /// Seconds between scheduled passes; `interval_s`, default 60.
    pub interval: Duration,
    /// Limits.
    pub limits: Limits,
    /// What each capability grants it (folders, hosts, the plugin's own config, …).
    pub grants: Grants,
}

/// A settings problem: where in openclone.toml, and the rule.
#[derive(Debug, Clone, thiserror::Error)]
#[error("openclone.toml: [plugins.{plugin}] {key}: {message}")]
pub struct SettingsError {
    /// The plugin id.
    pub plugin: String,
    /// The key.
    pub key: String,
    /// The rule and the fix.
    pub message: String,
}

/// Reads `[plugins.<id>]` for `manifest`: the host's keys here, each capability's through
/// its `configure` (the plugin's own keys against its `config_schema`). Errors: the first
/// key that breaks a rule, named.
pub fn settings(cfg: &Config, manifest: &Manifest) -> Result<Settings, SettingsError> {
    let empty = toml::Table::new();
    let table = cfg.plugins.get(&manifest.id).unwrap_or(&empty);
    let c = Configure {
        cfg,
        manifest,
        table,
    };
    let enabled = match table.get("enabled") {
        None => !manifest.sensitivity.needs_opt_in(),
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(c.err("enabled", "must be true or false")),
    };
    let defaults = Limits::default();
    let limits = Limits {
        timeout: Duration::from_secs(c.positive("timeout_s", defaults.timeout.as_secs())?),
        memory_bytes: (c.positive("memory_mb", (defaults.memory_bytes >> 20) as u64)? as usize)
            << 20,
        max_failures: c
            .positive("max_failures", u64::from(defaults.max_failures))?
            .min(1000) as u32,
    };
    Ok(Settings {
        enabled,
        interval: Duration::from_secs(c.positive("interval_s", 60)?),
        limits,
        grants: Grants::configure(&c)?,
    })
}
