//! Who may call the ActivityWatch API, by aw-server's rules (aw-server-rust
//! `endpoints/hostcheck.rs`, `cors.rs`, `apikey.rs`): the `Host` must be a loopback name
//! on any port (DNS rebinding, GHSA-v9fg-6g9j-h4x4), or the listening address, or a name
//! in `[http] allowed_hosts` ([`crate::guard::host`] with [`Ports::Any`]); a browser
//! `Origin` must be aw-watcher-web from the Chrome Web Store
//! (`chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi`, a fixed public id), the API's
//! own address, or one in `[activitywatch] allowed_origins` — not `[http]
//! allowed_origins`, which grants a page the keyed API, and not any `moz-extension://`
//! as aw-server allows: Firefox gives every extension a random per-install id, so
//! "any" means every installed extension could read every window title; the user lists
//! aw-watcher-web's own id (the refusal's log line names it). With `require_key`, every
//! route but `GET /api/0/info` needs `Authorization: Bearer <the tenant's API key>`, and
//! too many wrong keys from one address are answered 429.

use std::net::SocketAddr;

use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::Api;
use super::routes::message;
use crate::guard::host::{Ports, allowed};
use crate::guard::key::{Scheme, presented, tenant_of};
use crate::guard::{Peer, Refusal};
use crate::http::reply::Body;

/// The extension id of aw-watcher-web in the Chrome Web Store.
const CHROME_EXTENSION: &str = "chrome-extension://nglaklhklhcoonedhgnpgddginnjdadi";

/// An allowed browser origin and its preflight's requested headers, echoed in CORS headers.
pub struct Cors {
    origin: HeaderValue,
    headers: Option<HeaderValue>,
}

impl Cors {
    /// Adds the CORS headers to `resp`.
    pub fn apply(self, resp: &mut Response<Body>) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, self.origin);
        h.insert(header::VARY, HeaderValue::from_static("Origin"));
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            self.headers
                .unwrap_or_else(|| HeaderValue::from_static("content-type, authorization")),
        );
    }
}

/// aw-server's answer to a request the guard refused, in its words where it has them:
/// 400 for a bad `Host` (as aw-server answers), 403 for a web page, 401 for a missing or
/// wrong key, 429 after too many wrong keys.
pub fn answer(r: Refusal) -> Response<Body> {
    match r {
        Refusal::Host => message(StatusCode::BAD_REQUEST, "Host header is invalid"),
        Refusal::Origin => message(
            StatusCode::FORBIDDEN,
            "requests from web pages are refused unless they come from the ActivityWatch web extension or an origin in [activitywatch] allowed_origins",
        ),
        Refusal::Unauthorized => message(
            StatusCode::UNAUTHORIZED,
            "Missing or invalid API key. Set 'Authorization: Bearer <key>' header.",
        ),
        Refusal::TooMany(s) => {
            let mut r = message(
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong API keys from this address; retry later",
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
            r
        }
    }
}

/// Checks the Host and Origin of `req`, which arrived at `local`. `Ok(Some)`: an allowed
/// browser request. Errors: [`Refusal::Host`], [`Refusal::Origin`].
pub fn check<B>(req: &Request<B>, local: SocketAddr, api: &Api) -> Result<Option<Cors>, Refusal> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if !allowed(host, local, &api.app.config.http.allowed_hosts, Ports::Any) {
        tracing::info!(host, "ActivityWatch request refused: Host is not this host");
        return Err(Refusal::Host);
    }
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(None);
    };
    let o = origin.to_str().unwrap_or_default();
    let port = local.port();
    let allowed = o == CHROME_EXTENSION
        || o == format!("http://127.0.0.1:{port}")
        || o == format!("http://localhost:{port}")
        || api
            .app
            .config
            .activitywatch
            .allowed_origins
            .iter()
            .any(|a| a == o);
    if !allowed {
        if o.starts_with("moz-extension://") {
            tracing::warn!(
                origin = o,
                "ActivityWatch request from a Firefox extension refused: if it is aw-watcher-web, add allowed_origins = [\"{o}\"] under [activitywatch] in openclone.toml"
            );
        } else {
            tracing::info!(
                origin = o,
                "ActivityWatch request refused: origin not allowed"
            );
        }
        return Err(Refusal::Origin);
    }
    Ok(Some(Cors {
        origin: origin.clone(),
        headers: req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned(),
    }))
}

/// With `[activitywatch] require_key`, checks `Authorization: Bearer <key>` against the
/// tenant's keys on every route but `GET /api/0/info`. Errors: [`Refusal::Unauthorized`].
pub fn authorize<B>(req: &Request<B>, api: &Api) -> Result<(), Refusal> {
    if !api.require_key || (req.method() == Method::GET && req.uri().path() == "/api/0/info") {
        return Ok(());
    }
    let key = presented(req.headers(), &[Scheme::Bearer]);
    let (app, peer) = (&api.app, Peer::of(req));
    match tenant_of(&app.keys, &app.key_guesses, peer, key.as_deref())? {
        t if t == api.tenant => Ok(()),
        _ => {
            app.key_guesses.failed(peer);
            Err(Refusal::Unauthorized)
        }
    }
}
