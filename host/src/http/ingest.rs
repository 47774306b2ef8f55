//! `POST /api/v1/ingest` (CONTRACT.md): size limit, validation, the vault pipeline.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};

use super::body::BodyError;
use super::reply::{self, Body};
use crate::app::App;
use crate::ingest::{Origin, Refused};

/// CONTRACT.md: the whole body is at most 1 MiB; more → 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Unix seconds now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Reads one batch for tenant number `tenant` (size limit, body deadline, memory budget:
/// [`super::body::read`]) and hands it to
/// the ingest service; `started` is when the request arrived (the latency metric).
pub async fn ingest(
    app: &App,
    tenant: usize,
    req: Request<Incoming>,
    started: std::time::Instant,
) -> Response<Body> {
    let body = match super::body::read(
        req,
        MAX_BODY_BYTES,
        app.config.http.body_timeout(),
        &app.bodies,
    )
    .await
    {
        Ok(b) => b,
        Err(BodyError::TooLarge) => return reply::too_large(MAX_BODY_BYTES),
        Err(BodyError::Timeout) => {
            return reply::body_timeout(app.config.http.body_timeout().as_secs());
        }
        Err(BodyError::Busy) => return reply::busy(),
        Err(BodyError::Incomplete) => {
            return reply::invalid(&[openclone_vault::FieldError::new(
                "body",
                "could not be read completely",
            )]);
        }
    };
    let batch = match app.ingest.check_body(tenant, &body) {
        Ok(b) => b,
        Err(Refused::Invalid(details)) => {
            tracing::info!(tenant = %app.tenants[tenant].id, violations = details.len(), first = %details[0].field, "batch refused (422)");
            return reply::invalid(&details);
        }
        Err(_) => return reply::internal_error(),
    };
    match app.ingest.store(Origin::Http, tenant, batch, started).await {
        Ok(receipt) => reply::json(StatusCode::OK, &receipt),
        Err(Refused::Internal(_)) => reply::internal_error(),
        Err(Refused::Storage(m) | Refused::NotPermitted(m)) => reply::storage_failed(&m),
        Err(Refused::Invalid(details)) => reply::invalid(&details),
    }
}
