//! `POST /api/v1/ingest` (CONTRACT.md): size limit, validation, the vault pipeline; and
//! the two steps every keyed way in of this listener shares ([`read_body`], [`answer`]).

use std::time::Instant;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use openclone_ingest::service::{Checked, Input, Origin, Refused};
use openclone_vault::Receipt;

use super::reply::{self, Body};
use crate::app::App;
use crate::guard::body::{self, BodyError};

/// CONTRACT.md: the whole body is at most 1 MiB; more → 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// `POST /api/v1/ingest` as a way in: clients post their own envelope.
pub const ORIGIN: Origin = Origin::client("http");

/// Reads one batch for tenant number `tenant` and hands it to the ingest service;
/// `started` is when the request arrived (the latency metric).
pub async fn ingest(
    app: &App,
    tenant: usize,
    req: Request<Incoming>,
    started: Instant,
) -> Response<Body> {
    let body = match read_body(app, req, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let checked = app.ingest.check(ORIGIN, tenant, Input::Body(&body));
    match answer(app, tenant, checked, started).await {
        Ok(receipt) => reply::json(StatusCode::OK, &receipt),
        Err(answer) => answer,
    }
}

/// Reads `req`'s body under the guard's three limits ([`body::read`]: `cap` bytes, the
/// `[http] body_timeout_s` deadline, the shared memory budget). Errors: the answer —
/// 413, 408, 503 `busy`, or 422 for a body cut off.
pub async fn read_body(
    app: &App,
    req: Request<Incoming>,
    cap: usize,
) -> Result<Bytes, Response<Body>> {
    body::read(req, cap, app.config.http.body_timeout(), &app.bodies)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => reply::too_large(cap),
            BodyError::Timeout => reply::body_timeout(app.config.http.body_timeout().as_secs()),
            BodyError::Busy => reply::busy(),
            BodyError::Incomplete => reply::invalid(&[openclone_vault::FieldError::new(
                "body",
                "could not be read completely",
            )]),
        })
}

/// Stores a `checked` batch of tenant number `tenant`. Errors: the contract's answer to a
/// refusal (422 with every violation, 500 `storage_failed` or `internal_error`, 503
/// `unavailable` when no cluster writer answered).
pub async fn answer(
    app: &App,
    tenant: usize,
    checked: Result<Checked, Refused>,
    started: Instant,
) -> Result<Receipt, Response<Body>> {
    let stored = match checked {
        Ok(c) => app.ingest.store(c, started).await,
        Err(e) => Err(e),
    };
    stored.map_err(|e| match e {
        Refused::Invalid(details) => {
            tracing::info!(tenant = %app.tenants[tenant].id, violations = details.len(), first = %details[0].field, "batch refused (422)");
            reply::invalid(&details)
        }
        Refused::Internal(_) => reply::internal_error(),
        Refused::Storage(m) | Refused::NotPermitted(m) => reply::storage_failed(&m),
        Refused::Unavailable(m) => reply::unavailable(&m),
    })
}
