//! Routing: `POST /api/v1/ingest`, `GET /api/v1/plugins`, `GET /api/v1/stats`,
//! `GET /metrics`, `GET /healthz`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::ingest::ingest;
use super::reply::{self, Body};
use crate::app::{App, Tenant};
use crate::auth::hash_key;

/// The routes, for the metrics' `route` label.
const ROUTES: [&str; 5] = [
    "/healthz",
    "/metrics",
    "/api/v1/ingest",
    "/api/v1/plugins",
    "/api/v1/stats",
];

/// Dispatches one request that arrived at `local`; every answer is JSON except `/metrics`
/// (Prometheus text). Every route first passes the Host and Origin check
/// ([`super::origin`]); a key is needed on `/api/v1/*`, and on `/metrics` beyond loopback.
pub async fn route(
    app: Arc<App>,
    local: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    let mut tenant_label = "-".to_owned();
    let cors = match super::origin::check(&req, local, &app.config.http) {
        Ok(cors) => cors,
        Err(refusal) => {
            let refused = refusal.reply();
            tracing::info!(path = %path, status = refused.status().as_u16(), "request refused by the Host/Origin check");
            app.metrics
                .request(label(&path), &tenant_label, refused.status().as_u16());
            return Ok(refused);
        }
    };
    let mut resp = match (req.method(), path.as_str()) {
        (&Method::OPTIONS, _) if cors.is_some() => {
            let mut r = Response::new(Body::default());
            *r.status_mut() = StatusCode::NO_CONTENT;
            r
        }
        (&Method::GET, "/healthz") => reply::value(StatusCode::OK, json!({ "status": "ok" })),
        (&Method::GET, "/metrics") => metrics(&app, &req, &mut tenant_label),
        (&Method::POST, "/api/v1/ingest") => match authorize(&app, &req) {
            Ok(tenant) => {
                tenant_label.clone_from(&app.tenants[tenant].id);
                ingest(&app, tenant, req, started).await
            }
            Err(denied) => denied.reply(),
        },
        (&Method::GET, "/api/v1/plugins") => match authorize(&app, &req) {
            Ok(tenant) => {
                let t = &app.tenants[tenant];
                tenant_label.clone_from(&t.id);
                reply::value(
                    StatusCode::OK,
                    json!({ "tenant": t.id, "plugins": app.registry().list(&t.id) }),
                )
            }
            Err(denied) => denied.reply(),
        },
        (&Method::GET, "/api/v1/stats") => match authorize(&app, &req) {
            Ok(tenant) => {
                let t = &app.tenants[tenant];
                tenant_label.clone_from(&t.id);
                stats(t)
            }
            Err(denied) => denied.reply(),
        },
        (_, p) if ROUTES.contains(&p) => {
            reply::error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        }
        _ => reply::error(StatusCode::NOT_FOUND, "not_found"),
    };
    if let Some(origin) = cors {
        super::origin::allow(&mut resp, origin);
    }
    app.metrics
        .request(label(&path), &tenant_label, resp.status().as_u16());
    Ok(resp)
}

/// `GET /metrics`: to a client on loopback without a key (a Prometheus on this machine);
/// to any other client only with a tenant's `X-API-Key` (or `Authorization: Bearer`), and
/// then only the series of that tenant and its plugins (CONTRACT.md, "Metrics").
fn metrics(app: &App, req: &Request<Incoming>, tenant_label: &mut String) -> Response<Body> {
    let peer = super::Peer::of(req);
    if peer.is_loopback() {
        return reply::text(StatusCode::OK, app.metrics.render(&app.registry()));
    }
    let key = api_key(req).or_else(|| crate::auth::bearer(req.headers()));
    match authorize_key(app, peer, key) {
        Ok(tenant) => {
            let id = &app.tenants[tenant].id;
            tenant_label.clone_from(id);
            let text = app.metrics.render(&app.registry());
            reply::text(StatusCode::OK, scoped(&text, app, id))
        }
        Err(denied) => denied.reply(),
    }
}

/// The lines of Prometheus `text` that a tenant `id` may see: series without a tenant or
/// plugin label, those labelled with `id`, and those of plugins that write into it.
fn scoped(text: &str, app: &App, id: &str) -> String {
    let mine = |line: &str, label: &str, ok: &dyn Fn(&str) -> bool| {
        let needle = format!("{label}=\"");
        match line.find(&needle) {
            Some(i) => {
                let rest = &line[i + needle.len()..];
                rest.find('"').is_none_or(|end| ok(&rest[..end]))
            }
            None => true,
        }
    };
    text.lines()
        .filter(|l| {
            l.starts_with('#')
                || (mine(l, "tenant", &|t| t == id)
                    && mine(l, "plugin", &|p| app.config.plugin_tenant(p) == id))
        })
        .fold(String::with_capacity(text.len()), |mut out, l| {
            out.push_str(l);
            out.push('\n');
            out
        })
}

/// The metrics' `route` label of `path`: a known route, or `other`.
fn label(path: &str) -> &str {
    if ROUTES.contains(&path) {
        path
    } else {
        "other"
    }
}

/// `GET /api/v1/stats`: the tenant's entries per day and source type, counted from the
/// vault's markers, with totals per source type.
fn stats(t: &Tenant) -> Response<Body> {
    match openclone_vault::stats::count_entries(&t.root) {
        Ok(days) => {
            let mut by_source = std::collections::BTreeMap::<String, u64>::new();
            for per_day in days.values() {
                for (source, n) in per_day {
                    *by_source.entry(source.clone()).or_default() += n;
                }
            }
            let total: u64 = by_source.values().sum();
            reply::value(
                StatusCode::OK,
                json!({ "tenant": t.id, "total": total, "by_source_type": by_source, "days": days }),
            )
        }
        Err(e) => reply::storage_failed(&format!("reading the vault: {e}")),
    }
}

/// Why a request was turned away before its body was read.
enum Denied {
    /// No key, or not a key of any tenant → 401.
    Unauthorized,
    /// The key's bucket is empty → 429, retry after this many seconds.
    RateLimited(u64),
}

impl Denied {
    fn reply(self) -> Response<Body> {
        match self {
            Self::Unauthorized => reply::unauthorized(),
            Self::RateLimited(s) => reply::rate_limited(s),
        }
    }
}

/// Checks `X-API-Key` (CONTRACT.md: missing or unknown → 401) and takes a rate-limit token
/// (→ 429). A client address that sent too many wrong keys is answered 429 before its key
/// is looked at (CONTRACT.md, "Wrong keys"). Returns the tenant index.
fn authorize(app: &App, req: &Request<Incoming>) -> Result<usize, Denied> {
    authorize_key(app, super::Peer::of(req), api_key(req))
}

/// The `X-API-Key` header of `req`.
fn api_key(req: &Request<Incoming>) -> Option<&str> {
    req.headers().get("x-api-key").and_then(|v| v.to_str().ok())
}

/// [`authorize`] with the key already read, from client address `peer`.
fn authorize_key(app: &App, peer: std::net::IpAddr, key: Option<&str>) -> Result<usize, Denied> {
    app.key_guesses.allowed(peer).map_err(Denied::RateLimited)?;
    let key = key.ok_or(Denied::Unauthorized)?;
    let Some(tenant) = app.keys.tenant_of(key) else {
        app.key_guesses.failed(peer);
        return Err(Denied::Unauthorized);
    };
    app.limiter
        .take(&hash_key(key))
        .map_err(Denied::RateLimited)?;
    Ok(tenant)
}
