//! A plugin's settings: the host keys of `[plugins.<id>]` (enabled, tenant, schedule,
//! granted paths, limits) and its own config, checked against the manifest's
//! `config_schema` with defaults applied (DESIGN.md, "Running plugins").

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::manifest::{Manifest, json_is_type};
use crate::config::Config;
use crate::runtime::state_store::StateLimits;

/// Keys of `[plugins.<id>]` that the host reads; every other key is the plugin's config.
pub const HOST_KEYS: [&str; 13] = [
    "enabled",
    "tenant",
    "interval_s",
    "paths",
    "timeout_s",
    "memory_mb",
    "emit_max_bytes",
    "events_per_minute",
    "max_failures",
    "state_max_entries",
    "state_max_value_bytes",
    "state_max_total_bytes",
    "allowed_hosts",
];

/// Per-plugin limits (DESIGN.md: all configurable, sane defaults).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time one call may take before its epoch deadline stops it; `timeout_s`, default 30.
    pub timeout: Duration,
    /// Linear memory, bytes; `memory_mb`, default 64.
    pub memory_bytes: usize,
    /// Bytes of events one `emit` may carry; `emit_max_bytes`, default 1 MiB (as HTTP).
    pub emit_max_bytes: u64,
    /// Events per minute (token bucket); `events_per_minute`, default 120,000.
    pub events_per_minute: u32,
    /// Consecutive failed passes before the plugin is parked as `error`; default 5.
    pub max_failures: u32,
    /// The state store's limits.
    pub state: StateLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            memory_bytes: 64 << 20,
            emit_max_bytes: 1 << 20,
            events_per_minute: 120_000,
            max_failures: 5,
            state: StateLimits::default(),
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
    /// Granted read-only folders (`paths`), mounted as `/input/0`, `/input/1`, … when the
    /// manifest asks for `fs-read`.
    pub paths: Vec<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// The plugin's own config: its keys of `[plugins.<id>]` over `config_schema` defaults.
    pub config: Map<String, Value>,
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

fn positive(
    table: &toml::Table,
    key: &str,
    default: u64,
    err: &dyn Fn(&str, String) -> SettingsError,
) -> Result<u64, SettingsError> {
    match table.get(key) {
        None => Ok(default),
        Some(toml::Value::Integer(n)) if *n > 0 => Ok(*n as u64),
        Some(_) => Err(err(key, "must be a positive whole number".into())),
    }
}

/// [`positive`] for a `u32` setting (larger values are capped at `u32::MAX`).
fn positive_u32(
    table: &toml::Table,
    key: &str,
    default: u32,
    err: &dyn Fn(&str, String) -> SettingsError,
) -> Result<u32, SettingsError> {
    positive(table, key, u64::from(default), err).map(|v| v.min(u64::from(u32::MAX)) as u32)
}

/// The host's own output (the data folder, every tenant's vault) must not be granted to a
/// plugin: each append would come back as a changed file, in a loop (issue 8). A granted
/// path that contains one of them, or lies inside one, is refused naming both paths.
fn refuse_own_output(
    cfg: &Config,
    paths: &[std::path::PathBuf],
    err: &dyn Fn(&str, String) -> SettingsError,
) -> Result<(), SettingsError> {
    let own = std::iter::once(("the data folder", cfg.data_dir()))
        .chain(cfg.tenants.iter().map(|t| ("a vault", cfg.vault_root(t))));
    for (what, folder) in own {
        let folder_real = real(&folder);
        for p in paths {
            let p_real = real(p);
            let relation = if p_real.starts_with(&folder_real) {
                "lies inside"
            } else if folder_real.starts_with(&p_real) {
                "contains"
            } else {
                continue;
            };
            return Err(err(
                "paths",
                format!(
                    "{} {relation} {what} ({}); the host would capture its own output; grant a folder outside it",
                    p.display(),
                    folder.display()
                ),
            ));
        }
    }
    Ok(())
}

/// `path` with symbolic links resolved as far as it exists (a folder not yet created is
/// compared as written below its nearest existing parent).
fn real(path: &std::path::Path) -> std::path::PathBuf {
    let mut missing = Vec::new();
    let mut cur = path;
    loop {
        if let Ok(r) = std::fs::canonicalize(cur) {
            return missing.iter().rev().fold(r, |acc, part| acc.join(part));
        }
        match (cur.parent(), cur.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_owned());
                cur = parent;
            }
            _ => return path.to_path_buf(),
        }
    }
}

/// Reads `[plugins.<id>]` for `manifest` and checks the plugin's keys against its
/// `config_schema`: an unknown key or a value of the wrong type is an error naming it.
pub fn settings(cfg: &Config, manifest: &Manifest) -> Result<Settings, SettingsError> {
    let empty = toml::Table::new();
    let table = cfg.plugins.get(&manifest.id).unwrap_or(&empty);
    let err = |key: &str, message: String| SettingsError {
        plugin: manifest.id.clone(),
        key: key.to_owned(),
        message,
    };
    let enabled = match table.get("enabled") {
        None => !manifest.sensitivity.needs_opt_in(),
        Some(toml::Value::Boolean(b)) => *b,
        Some(_) => return Err(err("enabled", "must be true or false".into())),
    };
    let paths = match table.get("paths") {
        None => Vec::new(),
        Some(toml::Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| cfg.resolve(std::path::Path::new(s)))
                    .ok_or_else(|| err("paths", "must be an array of folder paths".into()))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(err("paths", "must be an array of folder paths".into())),
    };
    refuse_own_output(cfg, &paths, &err)?;
    let defaults = Limits::default();
    let limits = Limits {
        timeout: Duration::from_secs(positive(
            table,
            "timeout_s",
            defaults.timeout.as_secs(),
            &err,
        )?),
        memory_bytes: (positive(
            table,
            "memory_mb",
            (defaults.memory_bytes >> 20) as u64,
            &err,
        )? as usize)
            << 20,
        emit_max_bytes: positive(table, "emit_max_bytes", defaults.emit_max_bytes, &err)?,
        events_per_minute: positive_u32(
            table,
            "events_per_minute",
            defaults.events_per_minute,
            &err,
        )?,
        max_failures: positive(
            table,
            "max_failures",
            u64::from(defaults.max_failures),
            &err,
        )?
        .min(1000) as u32,
        state: StateLimits {
            max_entries: positive_u32(
                table,
                "state_max_entries",
                defaults.state.max_entries,
                &err,
            )?,
            max_value_bytes: positive_u32(
                table,
                "state_max_value_bytes",
                defaults.state.max_value_bytes,
                &err,
            )?,
            max_total_bytes: positive(
                table,
                "state_max_total_bytes",
                defaults.state.max_total_bytes,
                &err,
            )?,
        },
    };
    let interval = Duration::from_secs(positive(table, "interval_s", 60, &err)?);
    let schema = manifest
        .raw
        .get("config_schema")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut config = Map::new();
    for (key, spec) in &schema {
        if let Some(default) = spec.get("default") {
            config.insert(key.clone(), default.clone());
        }
    }
    for (key, value) in table
        .iter()
        .filter(|(k, _)| !HOST_KEYS.contains(&k.as_str()))
    {
        let Some(spec) = schema.get(key) else {
            let known: Vec<&str> = schema.keys().map(String::as_str).collect();
            return Err(err(
                key,
                format!(
                    "is not a setting of this plugin; its config_schema has: {}",
                    if known.is_empty() {
                        "(none)".into()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        };
        let ty = spec.get("type").and_then(Value::as_str).unwrap_or_default();
        let json = serde_json::to_value(value).map_err(|e| err(key, e.to_string()))?;
        if !json_is_type(&json, ty) {
            return Err(err(
                key,
                format!("must be of type {ty} (config_schema), got {value}"),
            ));
        }
        config.insert(key.clone(), json);
    }
    Ok(Settings {
        enabled,
        interval,
        paths,
        limits,
        config,
    })
}
