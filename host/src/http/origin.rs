//! Who may call the host (issue 9; CONTRACT.md, "Host and Origin"): a request's `Host`
//! must name this host, so a web page that rebinds its own name to 127.0.0.1 (DNS
//! rebinding, as in ActivityWatch's GHSA-v9fg-6g9j-h4x4 / CVE-2022-31149) is refused; a
//! request from a browser page (it carries `Origin`) is refused unless its origin is in
//! `[http] allowed_origins`. No CORS header is sent unless an origin is configured.

use std::net::SocketAddr;

use hyper::header::{HOST, HeaderValue, ORIGIN};
use hyper::{Request, Response, StatusCode};

use super::reply::{self, Body};
use crate::config::HttpConfig;

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its `Host` names another host → 421.
    Host,
    /// It came from a web page whose origin is not allowed → 403.
    Origin,
}

impl Refusal {
    /// The JSON answer.
    pub fn reply(self) -> Response<Body> {
        match self {
            Self::Host => reply::json(
                StatusCode::MISDIRECTED_REQUEST,
                &serde_json::json!({
                    "error": "host_not_allowed",
                    "detail": "the Host header must name this host (its listening address, localhost, 127.0.0.1 or [::1] with its port, or a name in [http] allowed_hosts)",
                }),
            ),
            Self::Origin => reply::json(
                StatusCode::FORBIDDEN,
                &serde_json::json!({
                    "error": "origin_not_allowed",
                    "detail": "requests from web pages are refused unless their origin is in [http] allowed_origins",
                }),
            ),
        }
    }
}

/// Checks `req`, which arrived at `local`. `Ok(Some(origin))`: an allowed browser origin
/// to echo in CORS headers; `Ok(None)`: not a browser request. Errors: [`Refusal`].
pub fn check<B>(
    req: &Request<B>,
    local: SocketAddr,
    cfg: &HttpConfig,
) -> Result<Option<HeaderValue>, Refusal> {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| host_allowed(h, local, cfg)) {
        return Err(Refusal::Host);
    }
    match req.headers().get(ORIGIN) {
        None => Ok(None),
        Some(o)
            if o.to_str()
                .is_ok_and(|o| cfg.allowed_origins.iter().any(|a| a == o)) =>
        {
            Ok(Some(o.clone()))
        }
        Some(_) => Err(Refusal::Origin),
    }
}

/// Whether `host` (`name` or `name:port`) names this host.
fn host_allowed(host: &str, local: SocketAddr, cfg: &HttpConfig) -> bool {
    let host = host.trim().to_ascii_lowercase();
    let port = local.port();
    let own = [
        local.to_string(),
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
    ];
    own.contains(&host)
        || cfg.allowed_hosts.iter().any(|a| {
            let a = a.trim().to_ascii_lowercase();
            a == host || (!a.contains(':') || a.ends_with(']')) && format!("{a}:{port}") == host
        })
}

/// Adds the CORS headers for an allowed `origin` to `resp`.
pub fn allow(resp: &mut Response<Body>, origin: HeaderValue) {
    let h = resp.headers_mut();
    h.insert("access-control-allow-origin", origin);
    h.insert("vary", HeaderValue::from_static("Origin"));
    h.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Content-Type, X-API-Key, Authorization"),
    );
    h.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_hosts_names_pass() {
        let cfg = HttpConfig {
            allowed_hosts: vec!["memory.lan".into(), "phone-gw:9000".into()],
            ..HttpConfig::default()
        };
        let local: SocketAddr = "127.0.0.1:8000".parse().expect("addr");
        for ok in [
            "127.0.0.1:8000",
            "localhost:8000",
            "LOCALHOST:8000",
            "[::1]:8000",
            "memory.lan:8000",
            "phone-gw:9000",
        ] {
            assert!(host_allowed(ok, local, &cfg), "{ok}");
        }
        for bad in [
            "attacker.example:8000",
            "localhost:8001",
            "127.0.0.1",
            "memory.lan:9000",
            "localhost.attacker.example:8000",
            "",
        ] {
            assert!(!host_allowed(bad, local, &cfg), "{bad}");
        }
    }
}
