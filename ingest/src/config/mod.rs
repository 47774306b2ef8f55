//! `openclone.toml` (DESIGN.md, "Configuration"), with the zero-config defaults.
//!
//! Relative paths are resolved against the config file's folder (the working directory
//! when there is no file); a leading `~/` means the home folder.

pub mod activitywatch;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use openclone_vault::SourceType;
use serde::Deserialize;

use crate::clock::{canonical_day, day_start};

/// The whole configuration file. Unknown top-level keys are refused, so a typo is an error.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address for `serve`; default `127.0.0.1:8000` (the OpenClone page's curl target).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// State and caches; vaults default to `<data_dir>/vaults/<tenant>`. Default `./data`,
    /// or `$OPENCLONE_DATA`.
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
    /// Where compiled components are cached. Default `<data_dir>/cache/components`. Hosts
    /// of one user may share it: an entry is named by the component's sha256 and the
    /// engine's compatibility hash, and written atomically.
    #[serde(default)]
    pub component_cache: Option<PathBuf>,
    /// Where plugin folders (`<id>/plugin.json`) are found. Default `./plugins`.
    #[serde(default = "default_plugins_dir")]
    pub plugins_dir: PathBuf,
    /// Ingest limits.
    #[serde(default)]
    pub ingest: IngestLimits,
    /// PEM certificate chain for HTTPS; with `tls_key`, `serve` speaks only TLS.
    #[serde(default)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `tls_cert`.
    #[serde(default)]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on a non-loopback `listen` anyway (CONTRACT.md: refused otherwise).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// The HTTP server's connection limits and who may call it.
    #[serde(default)]
    pub http: HttpConfig,
    /// The ActivityWatch-compatible API for ActivityWatch's watchers.
    #[serde(default)]
    pub activitywatch: activitywatch::Settings,
    /// `[search]`: the search index beside each vault.
    #[serde(default)]
    pub search: SearchConfig,
    /// `[retention]`: source type → how long its entries are kept (`screen_ocr = "30d"`);
    /// see [`Config::retention`].
    #[serde(default)]
    pub retention: BTreeMap<String, String>,
    /// `[screen]`: exclusions and the OCR engine of the screen capability, checked by
    /// `openclone_screen::Settings::from_table` (CONTRACT.md, "The screen capability").
    #[serde(default)]
    pub screen: toml::Table,
    /// `[nats]`: the cluster of `serve --role frontend|writer`, checked by
    /// `openclone_cluster::NatsSettings::from_table` (CONTRACT.md, "Beyond one machine").
    /// The single process ignores it.
    #[serde(default)]
    pub nats: toml::Table,
    /// The tenants; with none, one tenant `default` keyed by `$API_KEY`.
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    /// Per-plugin entries: host keys (`enabled`, `tenant`, …) then the plugin's own config.
    #[serde(default)]
    pub plugins: BTreeMap<String, toml::Table>,
    /// The folder relative paths are resolved against (the config file's folder).
    #[serde(skip)]
    pub base: PathBuf,
}

/// `[search]`: whether the host keeps a search index beside each vault
/// (`<data>/state/<tenant>/search.sqlite`, a second copy of the vault's text, as private).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchConfig {
    /// Keep the index; default true. Off, no index is written and `/api/v1/search` and
    /// `/api/v1/timeline` answer 404 `search_disabled` (an index already on disk is left,
    /// unused; delete it to remove its copy of the text).
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self { enabled: true }
    }
}

fn default_true() -> bool {
    true
}

/// CONTRACT.md rate limit: a token bucket per API key.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestLimits {
    /// Requests a key may send at once; default 60.
    #[serde(default = "default_burst")]
    pub rate_burst: u32,
    /// Tokens added per second; default 1 (60 a minute).
    #[serde(default = "default_refill")]
    pub rate_per_s: f64,
}

impl Default for IngestLimits {
    fn default() -> Self {
        Self {
            rate_burst: default_burst(),
            rate_per_s: default_refill(),
        }
    }
}

/// `[http]`: what a slow, idle or flooding client may hold (slow clients never
/// stall the server). Seconds are whole seconds, used between 1 and 3600.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    /// Seconds a client has to send a request's head. hyper's timer also runs while a
    /// kept-alive connection waits for its next request, so this is the idle keep-alive
    /// timeout too. Default 10.
    #[serde(default = "default_header_timeout")]
    pub header_read_timeout_s: u64,
    /// Seconds a client has to send a request's whole body once its head is in; past it
    /// → 408 and the connection closes. Default 30.
    #[serde(default = "default_body_timeout")]
    pub body_timeout_s: u64,
    /// Open connections at most; one more is answered 503 with `Retry-After` and closed.
    /// Default 4096.
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
    /// More names a request's `Host` may carry, `host` or `host:port` (DNS
    /// rebinding). The listening address, the address a connection arrived at, and
    /// `localhost`, `127.0.0.1` and `[::1]` with the bound port are always accepted.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) whose browser requests are accepted, with CORS
    /// headers; default none: a request carrying any `Origin` is refused.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// MiB of request bodies all listeners hold in memory at once (each body counted at its
    /// declared length, or its route's cap when chunked); past it a request is answered
    /// 503 with `Retry-After: 1`. Default 64.
    #[serde(default = "default_body_memory")]
    pub body_memory_mib: u32,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            header_read_timeout_s: default_header_timeout(),
            body_timeout_s: default_body_timeout(),
            max_connections: default_max_connections(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            body_memory_mib: default_body_memory(),
        }
    }
}

impl HttpConfig {
    /// The header-read (and keep-alive idle) timeout, 1 s to 1 h.
    pub fn header_read_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.header_read_timeout_s.clamp(1, 3600))
    }

    /// The body-read deadline, 1 s to 1 h.
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.body_timeout_s.clamp(1, 3600))
    }
}

fn default_header_timeout() -> u64 {
    10
}
fn default_body_timeout() -> u64 {
    30
}
fn default_max_connections() -> u32 {
    4096
}
fn default_body_memory() -> u32 {
    64
}

/// One tenant: its keys, its vault and how its text is treated.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    /// Tenant id: `[a-z0-9-]`, used for its state folder.
    pub id: String,
    /// SHA-256 (hex) of each accepted API key; keys themselves are never stored.
    #[serde(default)]
    pub api_key_sha256: Vec<String>,
    /// Name of an environment variable holding one more key (e.g. `API_KEY`).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// IANA zone for daily files and shown times; default `UTC`.
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// The vault root; default `<data_dir>/vaults/<id>`.
    #[serde(default)]
    pub vault: Option<PathBuf>,
    /// Redact e-mail addresses, phone and card numbers too; default false.
    #[serde(default)]
    pub redact_pii: bool,
    /// Refuse batches from plugin ids with no `plugin.json` on the host; default false.
    #[serde(default)]
    pub require_registered_plugins: bool,
    /// History import: accept events from this date (`YYYY-MM-DD`, UTC) on,
    /// for HTTP, `emit` and ActivityWatch alike, and tell plugins (config key
    /// `accept_since`) to emit what they held back. Default: the contract's 2020-01-01;
    /// it may only lower the bound (1970-01-01 to 2020-01-01).
    #[serde(default)]
    pub accept_since: Option<String>,
}

impl TenantConfig {
    /// The lower timestamp bound, Unix seconds: `accept_since`, else 2020-01-01.
    pub fn earliest(&self) -> f64 {
        self.accept_since
            .as_deref()
            .and_then(day_start)
            .unwrap_or(openclone_vault::validate::MIN_TIMESTAMP)
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8000))
}
fn default_plugins_dir() -> PathBuf {
    PathBuf::from("plugins")
}
fn default_burst() -> u32 {
    60
}
fn default_refill() -> f64 {
    1.0
}
fn default_tz() -> String {
    "UTC".to_owned()
}

/// A configuration problem, naming the file and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The config file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a wrong key or type.
    #[error("{path}: {message}")]
    Parse {
        /// The config file.
        path: String,
        /// The parser's message, with line and key.
        message: String,
    },
    /// A value breaks a rule.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The config file.
        path: String,
        /// The offending key, e.g. `tenants[1].timezone`.
        field: String,
        /// The rule.
        message: String,
    },
}

impl Config {
    /// Loads `path`, or the zero-config defaults when `path` is `None` and no
    /// `openclone.toml` is in the working directory.
    ///
    /// Errors: unreadable file, bad TOML, unknown keys, bad values (see [`ConfigError`]).
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let implicit = Path::new("openclone.toml");
        let path = match path {
            Some(p) => Some(p.to_path_buf()),
            None if implicit.exists() => Some(implicit.to_path_buf()),
            None => None,
        };
        let Some(path) = path else {
            return Ok(
                Self::parse("", Path::new("."), "(defaults)").expect("empty config is valid")
            );
        };
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: name.clone(),
            source,
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Self::parse(&text, base, &name)
    }

    /// `[retention]` as source types and how long each is kept (checked at load): the host
    /// forgets older entries of each every hour and at start, and the vault skips older
    /// events of it at ingest (CONTRACT.md, "Forget and retention").
    pub fn retention(&self) -> Vec<(SourceType, jiff::SignedDuration)> {
        self.retention
            .iter()
            .filter_map(|(s, k)| retention_entry(s, k).ok())
            .collect()
    }

    /// Parses config text; relative paths resolve against `base`.
    pub fn parse(text: &str, base: &Path, name: &str) -> Result<Self, ConfigError> {
        let mut cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: name.to_owned(),
            message: e.to_string(),
        })?;
        cfg.base = base.to_path_buf();
        let invalid = |field: String, message: &str| ConfigError::Invalid {
            path: name.to_owned(),
            field,
            message: message.to_owned(),
        };
        if cfg.ingest.rate_burst == 0
            || cfg.ingest.rate_per_s.is_nan()
            || cfg.ingest.rate_per_s <= 0.0
        {
            return Err(invalid(
                "ingest".into(),
                "rate_burst and rate_per_s must be positive",
            ));
        }
        for (source, keep) in &cfg.retention {
            if let Err(message) = retention_entry(source, keep) {
                return Err(invalid(format!("retention.{source}"), &message));
            }
        }
        let mut ids = Vec::new();
        for (i, t) in cfg.tenants.iter().enumerate() {
            if t.id.is_empty()
                || !t
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(invalid(
                    format!("tenants[{i}].id"),
                    "must be non-empty [a-z0-9-]",
                ));
            }
            if ids.contains(&&t.id) {
                return Err(invalid(
                    format!("tenants[{i}].id"),
                    "is used by another tenant",
                ));
            }
            ids.push(&t.id);
            if jiff::tz::TimeZone::get(&t.timezone).is_err() {
                return Err(invalid(
                    format!("tenants[{i}].timezone"),
                    "must be an IANA time zone name such as Europe/Berlin",
                ));
            }
            if let Some(since) = &t.accept_since {
                let ok = day_start(since)
                    .is_some_and(|s| (0.0..=openclone_vault::validate::MIN_TIMESTAMP).contains(&s));
                if !ok {
                    return Err(invalid(
                        format!("tenants[{i}].accept_since"),
                        "must be a YYYY-MM-DD date from 1970-01-01 to 2020-01-01 (it lowers the contract's bound)",
                    ));
                }
            }
            for (j, h) in t.api_key_sha256.iter().enumerate() {
                if h.len() != 64 || hex::decode(h).is_err() {
                    return Err(invalid(
                        format!("tenants[{i}].api_key_sha256[{j}]"),
                        "must be 64 hex digits (sha256 of the key)",
                    ));
                }
            }
        }
        let roots: Vec<(String, PathBuf)> = cfg
            .tenants
            .iter()
            .map(|t| (t.id.clone(), lexical(&cfg.vault_root(t))))
            .collect();
        for (i, (a, ra)) in roots.iter().enumerate() {
            for (b, rb) in &roots[i + 1..] {
                if ra.starts_with(rb) || rb.starts_with(ra) {
                    return Err(invalid(
                        "tenants.vault".into(),
                        &format!(
                            "tenants {a:?} ({}) and {b:?} ({}) share vault folders: one person's entries would land in the other's vault; give each tenant a vault folder outside every other",
                            ra.display(),
                            rb.display()
                        ),
                    ));
                }
            }
        }
        for t in &mut cfg.tenants {
            t.accept_since = t.accept_since.as_deref().and_then(canonical_day);
        }
        if let Some(t) = &cfg.activitywatch.tenant
            && !cfg.tenants.is_empty()
            && !cfg.tenants.iter().any(|c| &c.id == t)
        {
            return Err(invalid(
                "activitywatch.tenant".into(),
                &format!("{t:?} is not a configured tenant"),
            ));
        }
        if let Err(e) = cfg.activitywatch.check() {
            return Err(invalid("activitywatch.listen".into(), &e.to_string()));
        }
        if cfg.tenants.is_empty() {
            cfg.tenants.push(TenantConfig {
                id: "default".into(),
                api_key_sha256: Vec::new(),
                api_key_env: Some("API_KEY".into()),
                timezone: default_tz(),
                vault: None,
                redact_pii: false,
                require_registered_plugins: false,
                accept_since: None,
            });
        }
        Ok(cfg)
    }

    /// Resolves a configured path: `~/` → home, relative → against the config's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if let Ok(rest) = p.strip_prefix("~")
            && let Some(home) = std::env::var_os("HOME")
        {
            return PathBuf::from(home).join(rest);
        }
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }

    /// The data folder: `data_dir`, else `$OPENCLONE_DATA`, else `./data`.
    pub fn data_dir(&self) -> PathBuf {
        match (&self.data_dir, std::env::var_os("OPENCLONE_DATA")) {
            (Some(d), _) => self.resolve(d),
            (None, Some(env)) => PathBuf::from(env),
            (None, None) => self.resolve(Path::new("data")),
        }
    }

    /// The compiled-component cache folder, resolved (`component_cache`).
    pub fn component_cache(&self) -> PathBuf {
        match &self.component_cache {
            Some(d) => self.resolve(d),
            None => self.data_dir().join("cache").join("components"),
        }
    }

    /// The plugins folder, resolved.
    pub fn plugins_dir(&self) -> PathBuf {
        self.resolve(&self.plugins_dir)
    }

    /// A tenant's vault root, resolved.
    pub fn vault_root(&self, t: &TenantConfig) -> PathBuf {
        match &t.vault {
            Some(v) => self.resolve(v),
            None => self.data_dir().join("vaults").join(&t.id),
        }
    }

    /// The tenant a plugin belongs to: `[plugins.<id>] tenant`, else the first tenant.
    pub fn plugin_tenant(&self, plugin_id: &str) -> &str {
        self.plugins
            .get(plugin_id)
            .and_then(|t| t.get("tenant"))
            .and_then(|v| v.as_str())
            .unwrap_or(&self.tenants[0].id)
    }

    /// `[plugins.<id>] enabled`, if set.
    pub fn plugin_enabled(&self, plugin_id: &str) -> Option<bool> {
        self.plugins
            .get(plugin_id)
            .and_then(|t| t.get("enabled"))
            .and_then(|v| v.as_bool())
    }
}

/// `path` with `.` and `..` components folded away, without touching the disk (vault
/// roots may not exist yet), for comparing folders.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One `[retention]` entry: a source type and a span of days, weeks or hours of at least one
/// hour (`"90d"`, `"12w"`, `"36h"`, jiff's friendly or ISO 8601 format; months and years
/// have no fixed length, so `"365d"` rather than `"1y"`). Errors: the rule broken.
fn retention_entry(source: &str, keep: &str) -> Result<(SourceType, jiff::SignedDuration), String> {
    let st = source.parse::<SourceType>().map_err(|()| {
        format!(
            "is not a source type; use one of {}",
            SourceType::ALL.map(SourceType::as_str).join(", ")
        )
    })?;
    let span: jiff::Span = keep
        .parse()
        .map_err(|e| format!("{keep:?} is not a span such as \"90d\" ({e})"))?;
    let d = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|_| format!("{keep:?}: use days, weeks or hours (\"365d\", not \"1y\")"))?;
    if d < jiff::SignedDuration::from_hours(1) {
        return Err(format!(
            "{keep:?} is shorter than the least retention, one hour"
        ));
    }
    Ok((st, d))
}
