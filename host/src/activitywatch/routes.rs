//! The REST surface ActivityWatch's watchers use (aw-server-rust `aw-server/src/endpoints`):
//! `/api/0/info`, `/api/0/buckets/…` with heartbeats and events. Errors are aw-server's
//! shape, `{"message": …}`. `/api/0/query`, `/api/0/export`, `/api/0/settings` and the web
//! UI are not served: 501.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Map, Value, json};

use super::Api;
use super::event::{self, Event};
use super::guard;
use super::store::{AwError, Bucket};
use crate::guard::body::{self, BodyError};
use crate::http::reply::{self, Body};

/// Bodies larger than this are refused (413): a heartbeat is a few hundred bytes; an
/// import of events (aw-client `insert_events`) of about 20,000 window events fits, a
/// larger one is sent in parts.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// Answers one request that arrived at `local`.
pub async fn route(
    api: Arc<Api>,
    local: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let cors = match guard::check(&req, local, &api) {
        Ok(c) => c,
        Err(refused) => return Ok(finish(&api, guard::answer(refused), None)),
    };
    let resp = if req.method() == Method::OPTIONS {
        let mut r = Response::new(Body::default());
        *r.status_mut() = StatusCode::NO_CONTENT;
        r
    } else {
        match guard::authorize(&req, &api) {
            Ok(()) => dispatch(&api, req).await,
            Err(refused) => guard::answer(refused),
        }
    };
    Ok(finish(&api, resp, cors))
}

fn finish(api: &Api, mut resp: Response<Body>, cors: Option<guard::Cors>) -> Response<Body> {
    if let Some(c) = cors {
        c.apply(&mut resp);
    }
    api.app.metrics.request(
        "/api/0",
        &api.app.tenants[api.tenant].id,
        resp.status().as_u16(),
    );
    resp
}

async fn dispatch(api: &Arc<Api>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let query: HashMap<String, String> = req
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let Some(rest) = path.strip_prefix("/api/0/") else {
        return not_served(&path);
    };
    let parts: Vec<String> = rest
        .trim_end_matches('/')
        .split('/')
        .map(|p| {
            percent_encoding::percent_decode_str(p)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    let method = req.method().clone();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["info"]) => info(api),
        (&Method::GET, ["buckets"]) => answer(api.store.call(|db| db.buckets()).await, |list| {
            let map: Map<String, Value> = list
                .iter()
                .map(|b| (b.id.clone(), bucket_json(b)))
                .collect();
            Value::Object(map)
        }),
        (&Method::GET, ["buckets", id]) => {
            let id = (*id).to_owned();
            answer(api.store.call(move |db| db.bucket(&id)).await, |b| {
                bucket_json(&b)
            })
        }
        (&Method::POST, ["buckets", id]) => create_bucket(api, id, req).await,
        (&Method::DELETE, ["buckets", id]) => {
            let id = (*id).to_owned();
            answer(
                api.store.call(move |db| db.delete_bucket(&id)).await,
                |()| Value::Null,
            )
        }
        (&Method::POST, ["buckets", id, "heartbeat"]) => heartbeat(api, id, &query, req).await,
        (&Method::POST, ["buckets", id, "events"]) => insert_events(api, id, req).await,
        (&Method::GET, ["buckets", id, "events"]) => events(api, id, &query).await,
        (&Method::GET, ["buckets", id, "events", "count"]) => {
            let id = (*id).to_owned();
            answer(api.store.call(move |db| db.count(&id)).await, |n| json!(n))
        }
        (_, ["buckets", ..] | ["info"]) => {
            message(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => not_served(&path),
    }
}

/// `GET /api/0/info`: `{hostname, version, testing, device_id}`.
fn info(api: &Api) -> Response<Body> {
    reply::json(
        StatusCode::OK,
        &json!({
            "hostname": api.hostname,
            "version": format!("v{} (openclone-host)", env!("CARGO_PKG_VERSION")),
            "testing": false,
            "device_id": api.app.links.device_id,
        }),
    )
}

/// `POST /api/0/buckets/{id}`: 200 when created, 304 when it exists. A `hostname` of
/// `!local` (aw-watcher-web) becomes this host's name, as in aw-server.
async fn create_bucket(api: &Arc<Api>, id: &str, req: Request<Incoming>) -> Response<Body> {
    let body = match read_json(api, req).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(kind), Some(client)) = (field("type"), field("client")) else {
        return message(
            StatusCode::BAD_REQUEST,
            "a bucket needs \"type\" and \"client\" strings",
        );
    };
    let hostname = match field("hostname") {
        Some(h) if h != "!local" => h,
        _ => api.hostname.clone(),
    };
    let bucket = Bucket {
        id: id.to_owned(),
        kind,
        client,
        hostname,
        created: field("created").unwrap_or_else(|| jiff::Timestamp::now().to_string()),
        data: body
            .get("data")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    match api.store.call(move |db| db.create_bucket(&bucket)).await {
        Ok(true) => reply::json(StatusCode::OK, &Value::Null),
        Ok(false) => {
            let mut r = Response::new(Body::default());
            *r.status_mut() = StatusCode::NOT_MODIFIED;
            r
        }
        Err(e) => error(e),
    }
}

/// `POST /api/0/buckets/{id}/heartbeat?pulsetime=F`: the merged event, after it is synced.
/// While recording is paused, a heartbeat timed after the pause began is answered as
/// received and not journalled ([`openclone_ingest::pause`]).
async fn heartbeat(
    api: &Arc<Api>,
    id: &str,
    query: &HashMap<String, String>,
    req: Request<Incoming>,
) -> Response<Body> {
    let Some(pulsetime) = query
        .get("pulsetime")
        .and_then(|p| p.parse::<f64>().ok())
        .filter(|p| (0.0..=event::MAX_PULSETIME_S).contains(p))
    else {
        return message(
            StatusCode::BAD_REQUEST,
            &format!(
                "pulsetime: a number of seconds from 0 to {} is required in the query",
                event::MAX_PULSETIME_S
            ),
        );
    };
    let mut hb = match read_json(api, req).await.map(event::parse) {
        Ok(Ok(e)) => e,
        Ok(Err(m)) => return message(StatusCode::BAD_REQUEST, &m),
        Err(r) => return *r,
    };
    if api.held(&hb) {
        return answer(Ok(hb), |e| event::to_json(&e));
    }
    super::privacy::journalled(&mut hb.data, api.policy);
    let id = id.to_owned();
    let pulse = event::secs_to_ns(pulsetime);
    answer(
        api.store.call(move |db| db.heartbeat(&id, hb, pulse)).await,
        |e| event::to_json(&e),
    )
}

/// `POST /api/0/buckets/{id}/events`: a list of events (or one), stored whole; while
/// recording is paused, those timed after the pause began are left out.
async fn insert_events(api: &Arc<Api>, id: &str, req: Request<Incoming>) -> Response<Body> {
    let body = match read_json(api, req).await {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let list = match body {
        Value::Array(items) => items,
        one @ Value::Object(_) => vec![one],
        _ => return message(StatusCode::BAD_REQUEST, "expected a list of events"),
    };
    let mut events = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        match event::parse(v) {
            Ok(e) if api.held(&e) => {}
            Ok(mut e) => {
                super::privacy::journalled(&mut e.data, api.policy);
                events.push(Event { id: None, ..e });
            }
            Err(m) => return message(StatusCode::BAD_REQUEST, &format!("events[{i}]: {m}")),
        }
    }
    let id = id.to_owned();
    answer(
        api.store
            .call(move |db| db.insert_events(&id, events))
            .await,
        |list| Value::Array(list.iter().map(event::to_json).collect()),
    )
}

/// `GET /api/0/buckets/{id}/events?start&end&limit`: newest first; `limit` -1 or absent
/// for all.
async fn events(api: &Arc<Api>, id: &str, query: &HashMap<String, String>) -> Response<Body> {
    let time = |k: &str| -> Result<Option<i64>, Early> {
        query
            .get(k)
            .map(|v| {
                v.parse::<jiff::Timestamp>()
                    .map(|t| {
                        t.as_nanosecond()
                            .clamp(i128::from(i64::MIN), i128::from(i64::MAX))
                            as i64
                    })
                    .map_err(|e| {
                        Box::new(message(
                            StatusCode::BAD_REQUEST,
                            &format!("{k}: {v:?} is not an RFC 3339 time with an offset: {e}"),
                        ))
                    })
            })
            .transpose()
    };
    let (start, end) = match (time("start"), time("end")) {
        (Ok(s), Ok(e)) => (s, e),
        (Err(r), _) | (_, Err(r)) => return *r,
    };
    let limit = match query.get("limit").map(|l| l.parse::<i64>()) {
        None => None,
        Some(Ok(l)) if l < 0 => None,
        Some(Ok(l)) => Some(l.unsigned_abs()),
        Some(Err(_)) => return message(StatusCode::BAD_REQUEST, "limit: an integer is required"),
    };
    let id = id.to_owned();
    answer(
        api.store
            .call(move |db| db.events(&id, start, end, limit))
            .await,
        |list| Value::Array(list.iter().map(event::to_json).collect()),
    )
}

/// An answer given instead of going on (boxed: a response is large).
type Early = Box<Response<Body>>;

/// Reads a JSON body within `[http] body_timeout_s` and [`MAX_BODY`].
async fn read_json(api: &Api, req: Request<Incoming>) -> Result<Value, Early> {
    let limit = api.app.config.http.body_timeout();
    let bytes = body::read(req, MAX_BODY, limit, &api.app.bodies)
        .await
        .map_err(|e| {
            Box::new(match e {
                BodyError::TooLarge => reply::too_large(MAX_BODY),
                BodyError::Timeout => reply::body_timeout(limit.as_secs()),
                BodyError::Busy => reply::busy(),
                BodyError::Incomplete => {
                    message(StatusCode::BAD_REQUEST, "the body could not be read")
                }
            })
        })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Box::new(message(
            StatusCode::BAD_REQUEST,
            &format!("body: not valid JSON: {e}"),
        ))
    })
}

fn bucket_json(b: &Bucket) -> Value {
    json!({
        "id": b.id,
        "type": b.kind,
        "client": b.client,
        "hostname": b.hostname,
        "created": b.created,
        "data": b.data,
    })
}

fn answer<T>(r: Result<T, AwError>, ok: impl FnOnce(T) -> Value) -> Response<Body> {
    match r {
        Ok(v) => reply::json(StatusCode::OK, &ok(v)),
        Err(e) => error(e),
    }
}

fn error(e: AwError) -> Response<Body> {
    match e {
        AwError::NoSuchBucket(id) => message(
            StatusCode::NOT_FOUND,
            &format!("The requested bucket '{id}' does not exist"),
        ),
        AwError::Limit(m) => message(StatusCode::BAD_REQUEST, &m),
        AwError::Storage(m) => {
            tracing::error!(error = %m, "ActivityWatch request failed in the journal");
            message(StatusCode::INTERNAL_SERVER_ERROR, &m)
        }
    }
}

/// aw-server's error shape: `{"message": …}`.
pub fn message(status: StatusCode, m: &str) -> Response<Body> {
    reply::json(status, &json!({ "message": m }))
}

/// 501 for what ActivityWatch serves and this host does not.
fn not_served(path: &str) -> Response<Body> {
    let mut r = message(
        StatusCode::NOT_IMPLEMENTED,
        &format!(
            "{path} is not served: OpenClone host answers ActivityWatch's watchers (info, buckets, heartbeats, events) and writes their sessions to your vault; queries and the web UI are not part of it"
        ),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
