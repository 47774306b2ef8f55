//! A plugin's settings: the host keys of `[plugins.<id>]` (enabled, tenant, schedule,
//! limits) and each capability's grant, among them its own config checked against the
//! manifest's `config_schema` with defaults applied (DESIGN.md, "Running plugins").

use std::time::Duration;

use crate::manifest::Manifest;
use crate::sandbox::capability::{Configure, Grants, SettingsError};
use crate::sandbox::context::Limits;
use openclone_ingest::config::Config;

/// Everything the host needs to run a plugin.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Enabled: config `enabled`, else true unless the manifest is HIGH or CRITICAL or
    /// requests `screen`.
    pub enabled: bool,
    /// Seconds between scheduled passes; `interval_s`, else plugin.json's `interval_s`,
    /// else 60.
    pub interval: Duration,
    /// Limits.
    pub limits: Limits,
    /// What each capability grants it (folders, hosts, the plugin's own config, …).
    pub grants: Grants,
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
        None => !manifest.needs_opt_in(),
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
        interval: Duration::from_secs(
            c.positive(
                "interval_s",
                manifest
                    .raw
                    .get("interval_s")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(60),
            )?,
        ),
        limits,
        grants: Grants::configure(&c)?,
    })
}
