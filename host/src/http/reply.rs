//! JSON responses with CONTRACT.md's error shapes.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode, header};
use serde_json::{Value, json};

/// The response body type of every route.
pub type Body = Full<Bytes>;

/// A JSON response with `status`.
pub fn json(status: StatusCode, body: &impl serde::Serialize) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut resp = Response::new(Full::new(Bytes::from(bytes)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

/// `{"error": code}` with `status`.
pub fn error(status: StatusCode, code: &str) -> Response<Body> {
    json(status, &json!({ "error": code }))
}

/// 401 `{"error":"unauthorized"}`.
pub fn unauthorized() -> Response<Body> {
    error(StatusCode::UNAUTHORIZED, "unauthorized")
}

/// 429 `{"error":"rate_limited","retry_after_s":N}` with `Retry-After: N`.
pub fn rate_limited(retry_after_s: u64) -> Response<Body> {
    let mut resp = json(
        StatusCode::TOO_MANY_REQUESTS,
        &json!({ "error": "rate_limited", "retry_after_s": retry_after_s }),
    );
    resp.headers_mut().insert(
        header::RETRY_AFTER,
        header::HeaderValue::from(retry_after_s),
    );
    resp
}

/// 503 `{"error":"busy","detail":…}` with `Retry-After: 1`: the bodies in flight already
/// hold `[http] body_memory_mib`.
pub fn busy() -> Response<Body> {
    let mut resp = json(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({ "error": "busy", "detail": "too many request bodies in flight; retry shortly" }),
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(1u64));
    resp
}

/// 413 `{"error":"payload_too_large","limit_bytes":1048576}`.
pub fn too_large(limit: usize) -> Response<Body> {
    json(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({ "error": "payload_too_large", "limit_bytes": limit }),
    )
}

/// 422 `{"error":"validation_failed","details":[…]}`.
pub fn invalid(details: &[openclone_vault::FieldError]) -> Response<Body> {
    #[derive(serde::Serialize)]
    struct Invalid<'a> {
        error: &'static str,
        details: &'a [openclone_vault::FieldError],
    }
    json(
        StatusCode::UNPROCESSABLE_ENTITY,
        &Invalid {
            error: "validation_failed",
            details,
        },
    )
}

/// 500 `{"error":"storage_failed","message":…}`.
pub fn storage_failed(message: &str) -> Response<Body> {
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({ "error": "storage_failed", "message": message }),
    )
}

/// How long a client is asked to wait before resending after a 503, seconds.
pub const RETRY_AFTER_S: u64 = 2;

/// 503 `{"error":"unavailable","message":…}` with `Retry-After`: no cluster writer answered
/// in time; the batch may be stored or not, and the resend is safe (dedup).
pub fn unavailable(message: &str) -> Response<Body> {
    let mut resp = json(
        StatusCode::SERVICE_UNAVAILABLE,
        &json!({ "error": "unavailable", "message": message }),
    );
    resp.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(RETRY_AFTER_S),
    );
    resp
}

/// 404 `{"error":"kept_by_writers",…}`: a cluster frontend keeps no vault, so it has no
/// stats, search or timeline to answer with (CONTRACT.md, "Beyond one machine").
pub fn kept_by_writers() -> Response<Body> {
    json(
        StatusCode::NOT_FOUND,
        &json!({ "error": "kept_by_writers", "message": "this host is a cluster frontend: the vaults, their search index and their counts are kept where the writers keep the vaults" }),
    )
}

/// 500 `{"error":"internal_error"}`: a bug in the host, logged; nothing was stored.
pub fn internal_error() -> Response<Body> {
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal_error")
}

/// 408 `{"error":"request_timeout","limit_s":N}` with `Connection: close`: the body did
/// not arrive within `[http] body_timeout_s`.
pub fn body_timeout(limit_s: u64) -> Response<Body> {
    let mut resp = json(
        StatusCode::REQUEST_TIMEOUT,
        &json!({ "error": "request_timeout", "limit_s": limit_s }),
    );
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}

/// A value with `status` (for listings).
pub fn value(status: StatusCode, v: Value) -> Response<Body> {
    json(status, &v)
}

/// A plain-text response (the Prometheus exposition format).
pub fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// The ingest API's answer to a request the guard refused (CONTRACT.md: 421
/// `host_not_allowed`, 403 `origin_not_allowed`, 401, 429 with `Retry-After`).
///
/// The answer says `Connection: close`: the request's body was not read, and a client that
/// reused the connection would otherwise send its next request into one the server closes
/// (a POST on it is lost to the client as a reset, and not retried).
pub fn refused(r: crate::guard::Refusal) -> Response<Body> {
    use crate::guard::Refusal;
    let mut resp = match r {
        Refusal::Host => json(
            StatusCode::MISDIRECTED_REQUEST,
            &serde_json::json!({
                "error": "host_not_allowed",
                "detail": "the Host header must name this host (its listening address, localhost, 127.0.0.1 or [::1] with its port, or a name in [http] allowed_hosts)",
            }),
        ),
        Refusal::Origin => json(
            StatusCode::FORBIDDEN,
            &serde_json::json!({
                "error": "origin_not_allowed",
                "detail": "requests from web pages are refused unless their origin is in [http] allowed_origins",
            }),
        ),
        Refusal::Unauthorized => unauthorized(),
        Refusal::TooMany(s) => rate_limited(s),
    };
    resp.headers_mut().insert(
        header::CONNECTION,
        header::HeaderValue::from_static("close"),
    );
    resp
}
