//! `POST /api/v1/ingest` (CONTRACT.md): size limit, validation, the vault pipeline.

use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use openclone_vault::{Rules, validate_body};

use super::reply::{self, Body};
use crate::app::App;
use crate::guard::no_panic;

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

/// Reads, validates and stores one batch for tenant number `tenant`.
pub async fn ingest(app: &App, tenant: usize, req: Request<Incoming>) -> Response<Body> {
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
    let t = &app.tenants[tenant];
    let now = unix_now();
    let registry = app.registry();
    let registration = |pid: &str| registry.registration(&t.id, pid);
    let rules = Rules {
        now,
        registration: &registration,
        require_registered: t.require_registered,
    };
    let checked = no_panic("ingest", || {
        validate_body(&body, &rules).map(|batch| {
            let (plugin_id, source_type) = (batch.plugin_id.clone(), batch.source_type);
            (plugin_id, source_type, t.vault.prepare(batch))
        })
    });
    let (plugin_id, source_type, prepared) = match checked {
        Ok(Ok(p)) => p,
        Ok(Err(details)) => {
            tracing::info!(tenant = %t.id, violations = details.len(), first = %details[0].field, "batch refused (422)");
            return reply::invalid(&details);
        }
        Err(_) => return reply::internal_error(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    t.vault
        .submit(prepared, Box::new(move |r| drop(tx.send(r))));
    match rx.await {
        Ok(Ok(receipt)) => {
            app.metrics
                .events(&t.id, source_type.as_str(), receipt.stored, receipt.skipped);
            if let Some((_, entry)) = app.registry().get(&t.id, &plugin_id) {
                entry.counters.record(receipt.stored, receipt.skipped, now);
            }
            tracing::debug!(tenant = %t.id, plugin = %plugin_id, stored = receipt.stored, skipped = receipt.skipped, "batch stored");
            reply::json(StatusCode::OK, &receipt)
        }
        Ok(Err(e)) => {
            tracing::error!(tenant = %t.id, plugin = %plugin_id, error = %e, "batch not stored (500)");
            reply::storage_failed(&e.to_string())
        }
        Err(_) => reply::storage_failed("the vault writer stopped before answering"),
    }
}
