//! `[activitywatch]` in `openclone.toml`: where the ActivityWatch-compatible API
//! listens, which tenant its sessions go to, and when a session is written.

use std::net::SocketAddr;
use std::time::Duration;

use serde::Deserialize;

/// `[activitywatch]`. Every key is optional; with none the API answers watchers on
/// `127.0.0.1:5600`, the port every ActivityWatch watcher has built in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Serve the ActivityWatch API; default true.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Its address; default `127.0.0.1:5600`. Anything but a loopback address needs
    /// `require_key = true` (the watchers speak plain HTTP).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The tenant whose vault the sessions go to; default the first tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Ask for the tenant's API key as `Authorization: Bearer <key>` (aw-server's scheme)
    /// on every route but `GET /api/0/info`; default false, as in aw-server: the API is
    /// on loopback only and the Host and Origin checks keep web pages out.
    #[serde(default)]
    pub require_key: bool,
    /// Seconds past an event's end plus its pulsetime with no heartbeat before its session
    /// is closed and written; default 60.
    #[serde(default = "default_grace")]
    pub session_grace_s: u64,
    /// Seconds after which an open session is written so far and later heartbeats are
    /// written as its continuation; default 900 (15 minutes).
    #[serde(default = "default_max")]
    pub session_max_s: u64,
    /// More browser origins the API answers with CORS, e.g. aw-watcher-web in Firefox
    /// (`moz-extension://<its per-install id>`, which the refusal's log line names); the
    /// Chrome Web Store's aw-watcher-web and the API's own address are always allowed.
    /// Default none. `[http] allowed_origins` does not apply here.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: default_listen(),
            tenant: None,
            require_key: false,
            session_grace_s: default_grace(),
            session_max_s: default_max(),
            allowed_origins: Vec::new(),
        }
    }
}

impl Settings {
    /// Errors: a non-loopback `listen` without `require_key` (the watchers send plain HTTP
    /// and anyone who reaches the port could write into the vault).
    pub fn check(&self) -> anyhow::Result<()> {
        if self.enabled && !self.listen.ip().is_loopback() && !self.require_key {
            anyhow::bail!(
                "[activitywatch] listen = {}: a non-loopback address needs require_key = true: watchers send plain HTTP and anyone who reaches the port could write into the vault",
                self.listen
            );
        }
        Ok(())
    }

    /// The grace period, 0 s to 1 day.
    pub fn grace(&self) -> Duration {
        Duration::from_secs(self.session_grace_s.min(86_400))
    }

    /// The longest stretch of a session written as one entry, 1 s to 1 day.
    pub fn max_session(&self) -> Duration {
        Duration::from_secs(self.session_max_s.clamp(1, 86_400))
    }
}

fn yes() -> bool {
    true
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 5600))
}
fn default_grace() -> u64 {
    60
}
fn default_max() -> u64 {
    900
}
