//! Routing: `POST /api/v1/ingest`, `GET /api/v1/plugins`, `GET /healthz`.

use std::convert::Infallible;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;

use super::ingest::ingest;
use super::reply::{self, Body};
use crate::app::App;
use crate::auth::hash_key;

/// Dispatches one request; every answer is JSON.
pub async fn route(app: Arc<App>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let resp = match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => reply::value(StatusCode::OK, json!({ "status": "ok" })),
        (&Method::POST, "/api/v1/ingest") => match authorize(&app, &req) {
            Ok(tenant) => ingest(&app, tenant, req).await,
            Err(denied) => denied.reply(),
        },
        (&Method::GET, "/api/v1/plugins") => match authorize(&app, &req) {
            Ok(tenant) => {
                let t = &app.tenants[tenant];
                reply::value(
                    StatusCode::OK,
                    json!({ "tenant": t.id, "plugins": app.registry().list(&t.id) }),
                )
            }
            Err(denied) => denied.reply(),
        },
        (_, "/healthz" | "/api/v1/ingest" | "/api/v1/plugins") => {
            reply::error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")
        }
        _ => reply::error(StatusCode::NOT_FOUND, "not_found"),
    };
    Ok(resp)
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
