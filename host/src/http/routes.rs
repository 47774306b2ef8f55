//! Routing: `POST /api/v1/ingest`, `GET /api/v1/plugins`, `GET /healthz`.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::ingest::ingest;
use super::reply::{self, Body};
use crate::app::App;
use crate::auth::{KeyHash, hash_key};

/// Dispatches one request; every answer is JSON.
pub async fn route(app: Arc<App>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => reply::value(StatusCode::OK, json!({ "status": "ok" })),
        (&Method::POST, "/api/v1/ingest") => match authorize(&app, &req) {
            Ok((tenant, _)) => ingest(&app, tenant, req).await,
            Err(resp) => resp,
        },
        (&Method::GET, "/api/v1/plugins") => match authorize(&app, &req) {
            Ok((tenant, _)) => {
                let t = &app.tenants[tenant];
                reply::value(StatusCode::OK, json!({ "tenant": t.id, "plugins": app.registry.list(&t.id) }))
            }
            Err(resp) => resp,
        },
        (_, "/healthz" | "/api/v1/ingest" | "/api/v1/plugins") => reply::error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        _ => reply::error(StatusCode::NOT_FOUND, "not_found"),
    };
    Ok(resp)
}

/// Checks `X-API-Key` (CONTRACT.md: missing or unknown → 401) and takes a rate-limit token
/// (→ 429). Returns the tenant index and the key's hash.
fn authorize(app: &App, req: &Request<Incoming>) -> Result<(usize, KeyHash), Response<Body>> {
    let key = req.headers().get("x-api-key").and_then(|v| v.to_str().ok()).ok_or_else(reply::unauthorized)?;
    let tenant = app.keys.tenant_of(key).ok_or_else(reply::unauthorized)?;
    let hash = hash_key(key);
    app.limiter.take(&hash).map_err(reply::rate_limited)?;
    Ok((tenant, hash))
}
