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
/// ([`super::origin`]); a key is needed on `/api/v1/*`, not on `/healthz` and `/metrics`.
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
        (&Method::GET, "/metrics") => {
            reply::text(StatusCode::OK, app.metrics.render(&app.registry()))
        }
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
/// (→ 429). Returns the tenant index.
fn authorize(app: &App, req: &Request<Incoming>) -> Result<usize, Denied> {
    let key = req
        .headers()
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or(Denied::Unauthorized)?;
    let tenant = app.keys.tenant_of(key).ok_or(Denied::Unauthorized)?;
    app.limiter
        .take(&hash_key(key))
        .map_err(Denied::RateLimited)?;
    Ok(tenant)
}
