//! Routing: the dashboard (`GET /`, `POST /login`, `POST /logout`), `POST /api/v1/ingest`, `POST /api/v1/owntracks`, `GET /api/v1/plugins`,
//! `GET /api/v1/stats`, `GET /api/v1/search`, `GET /api/v1/timeline`, `GET /metrics`,
//! `GET /healthz`. A way in is its module and its
//! line here, with the key schemes it takes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::dashboard;
use super::ingest::ingest;
use super::owntracks::owntracks;
use super::recall;
use super::reply::{self, Body};
use openclone_ingest::service::Tenant;

use openclone_ingest::auth::hash_key;

use crate::app::App;
use crate::guard::Peer;
use crate::guard::Refusal;
use crate::guard::key::{Scheme, presented, tenant_of};

/// The routes, for the metrics' `route` label.
const ROUTES: [&str; 11] = [
    "/",
    "/login",
    "/logout",
    "/healthz",
    "/metrics",
    "/api/v1/ingest",
    "/api/v1/owntracks",
    "/api/v1/plugins",
    "/api/v1/stats",
    "/api/v1/search",
    "/api/v1/timeline",
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
            let refused = reply::refused(refusal);
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
        (&Method::GET, "/") => dashboard::page(&app, &req, &mut tenant_label).await,
        (&Method::POST, "/login") => dashboard::login(&app, req).await,
        (&Method::POST, "/logout") => dashboard::logout(),
        (&Method::GET, "/healthz") => reply::value(StatusCode::OK, json!({ "status": "ok" })),
        (&Method::GET, "/metrics") => metrics(&app, &req, &mut tenant_label),
        (&Method::POST, "/api/v1/ingest") => match authorize(&app, &req, &SCHEMES) {
            Ok(tenant) => {
                tenant_label.clone_from(&app.tenants[tenant].id);
                ingest(&app, tenant, req, started).await
            }
            Err(refusal) => reply::refused(refusal),
        },
        (&Method::POST, "/api/v1/owntracks") => match authorize(&app, &req, &OWNTRACKS) {
            Ok(tenant) => {
                tenant_label.clone_from(&app.tenants[tenant].id);
                owntracks(&app, tenant, req, started).await
            }
            Err(refusal) => reply::refused(refusal),
        },
        (&Method::GET, "/api/v1/plugins") => match authorize(&app, &req, &SCHEMES) {
            Ok(tenant) => {
                let t = &app.tenants[tenant];
                tenant_label.clone_from(&t.id);
                reply::value(
                    StatusCode::OK,
                    json!({ "tenant": t.id, "plugins": app.registry().list(&t.id) }),
                )
            }
            Err(refusal) => reply::refused(refusal),
        },
        (&Method::GET, "/api/v1/stats") => match authorize(&app, &req, &SCHEMES) {
            Ok(tenant) => {
                let t = &app.tenants[tenant];
                tenant_label.clone_from(&t.id);
                match app.vaults.is_empty() {
                    true => reply::kept_by_writers(),
                    false => stats(t, app.ingest.pause().current()),
                }
            }
            Err(refusal) => reply::refused(refusal),
        },
        (&Method::GET, "/api/v1/search" | "/api/v1/timeline") => {
            match authorize(&app, &req, &SCHEMES) {
                Ok(tenant) => {
                    tenant_label.clone_from(&app.tenants[tenant].id);
                    let query = req.uri().query();
                    if path == "/api/v1/search" {
                        recall::search(&app, tenant, query).await
                    } else {
                        recall::timeline(&app, tenant, query).await
                    }
                }
                Err(refusal) => reply::refused(refusal),
            }
        }
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
    if Peer::of(req).is_loopback() {
        return reply::text(
            StatusCode::OK,
            app.metrics
                .render(&app.registry().metric_rows(), app.ingest.pause().current()),
        );
    }
    match authorize(app, req, &[Scheme::ApiKey, Scheme::Bearer]) {
        Ok(tenant) => {
            let id = &app.tenants[tenant].id;
            tenant_label.clone_from(id);
            let text = app
                .metrics
                .render(&app.registry().metric_rows(), app.ingest.pause().current());
            reply::text(StatusCode::OK, scoped(&text, app, id))
        }
        Err(refusal) => reply::refused(refusal),
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
/// vault's markers, with totals per source type, and the pause in force (`paused`:
/// `{since, until}` in Unix seconds, or null).
fn stats(t: &Tenant, paused: Option<openclone_ingest::pause::Paused>) -> Response<Body> {
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
                json!({ "tenant": t.id, "total": total, "by_source_type": by_source, "days": days, "paused": paused }),
            )
        }
        Err(e) => reply::storage_failed(&format!("reading the vault: {e}")),
    }
}

/// The schemes the ingest API takes a key under (CONTRACT.md, "Authentication").
const SCHEMES: [Scheme; 1] = [Scheme::ApiKey];
/// OwnTracks' HTTP mode sends Basic credentials (the password is the key).
const OWNTRACKS: [Scheme; 2] = [Scheme::Basic, Scheme::ApiKey];

/// Checks the key `req` presents under `schemes` (CONTRACT.md: missing or unknown → 401;
/// [`crate::guard::key::tenant_of`] throttles wrong keys) and takes a rate-limit token
/// (→ 429). Returns the tenant number.
pub(super) fn authorize<B>(
    app: &App,
    req: &Request<B>,
    schemes: &[Scheme],
) -> Result<usize, Refusal> {
    let key = presented(req.headers(), schemes);
    let tenant = tenant_of(&app.keys, &app.key_guesses, Peer::of(req), key.as_deref())?;
    if let Some(key) = key {
        app.limiter
            .take(&hash_key(&key))
            .map_err(Refusal::TooMany)?;
    }
    Ok(tenant)
}
