//! Who may call the ingest API (CONTRACT.md, "Host and Origin"): the `Host` check
//! ([`crate::guard::host`], the listening port only); a request from a browser page (it
//! carries `Origin`) is refused unless its origin is the host's own (the dashboard's
//! pages: `http(s)://` and the very `Host` that passed the check) or in `[http]
//! allowed_origins`. No CORS header is sent unless an origin is configured.

use std::net::SocketAddr;

use hyper::header::{HOST, HeaderValue, ORIGIN};
use hyper::{Request, Response};

use super::reply::Body;
use crate::guard::Refusal;
use crate::guard::host::{Ports, allowed};
use openclone_ingest::config::HttpConfig;

/// Checks `req`, which arrived at `local`. `Ok(Some(origin))`: an allowed browser origin
/// to echo in CORS headers; `Ok(None)`: not a browser request. Errors: [`Refusal::Host`],
/// [`Refusal::Origin`].
pub fn check<B>(
    req: &Request<B>,
    local: SocketAddr,
    cfg: &HttpConfig,
) -> Result<Option<HeaderValue>, Refusal> {
    let host = req.headers().get(HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| allowed(h, local, &cfg.allowed_hosts, Ports::Listening)) {
        return Err(Refusal::Host);
    }
    match req.headers().get(ORIGIN) {
        None => Ok(None),
        Some(o)
            if o.to_str().is_ok_and(|o| {
                host.is_some_and(|h| {
                    o.strip_prefix("http://")
                        .or_else(|| o.strip_prefix("https://"))
                        .is_some_and(|rest| rest.eq_ignore_ascii_case(h))
                })
            }) =>
        {
            Ok(None)
        }
        Some(o)
            if o.to_str()
                .is_ok_and(|o| cfg.allowed_origins.iter().any(|a| a == o)) =>
        {
            Ok(Some(o.clone()))
        }
        Some(_) => Err(Refusal::Origin),
    }
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
