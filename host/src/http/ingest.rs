//! `POST /api/v1/ingest` (CONTRACT.md): size limit, validation, the vault pipeline.

use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};

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

/// Past this many bytes an oversized body is not read any further: the 413 goes out and
/// the connection closes.
const DRAIN_LIMIT: usize = 8 * MAX_BODY_BYTES;

/// Reads and discards what the client is still sending (up to [`DRAIN_LIMIT`]), so that a
/// client that writes its whole body before reading sees the 413 instead of a broken pipe.
async fn drain(body: &mut Incoming) {
    let mut seen = 0;
    while let Some(Ok(frame)) = body.frame().await {
        seen += frame.data_ref().map_or(0, |d| d.len());
        if seen > DRAIN_LIMIT {
            break;
        }
    }
}

/// Reads one batch for tenant number `tenant` (size limit, body deadline) and hands it to
/// the ingest service; `started` is when the request arrived (the latency metric).
pub async fn ingest(
    app: &App,
    tenant: usize,
    req: Request<Incoming>,
    started: std::time::Instant,
) -> Response<Body> {
    let declared_len = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = req.into_body();
    let deadline = tokio::time::Instant::now() + app.config.http.body_timeout();
    let timed_out = || reply::body_timeout(app.config.http.body_timeout().as_secs());
    if declared_len.is_some_and(|l| l > MAX_BODY_BYTES as u64) {
        let _ = tokio::time::timeout_at(deadline, drain(&mut body)).await;
        return reply::too_large(MAX_BODY_BYTES);
    }
    let collected =
        tokio::time::timeout_at(deadline, Limited::new(&mut body, MAX_BODY_BYTES).collect()).await;
    let Ok(collected) = collected else {
        tracing::info!("request body not received within [http] body_timeout_s (408)");
        return timed_out();
    };
    let body = match collected {
        Ok(b) => b.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            let _ = tokio::time::timeout_at(deadline, drain(&mut body)).await;
            return reply::too_large(MAX_BODY_BYTES);
        }
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
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
