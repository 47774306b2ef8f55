//! `POST /api/v1/owntracks`: the OwnTracks app's HTTP mode (owntracks.org/booklet,
//! "HTTP" and "JSON"), so a phone's location history reaches `Location/` with no plugin
//! to install. The app posts one JSON message (or an array of them) with HTTP Basic
//! credentials (the password is a tenant's API key; `X-API-Key` works too) and expects a
//! JSON array back: `[]`.
//!
//! - `_type: location` → one `gps` event at `tst` (the fix's own time): `acc` as
//!   `accuracy`, the first of `inregions` as `place_name`, `alt`, `vel` (km/h), `batt`,
//!   the trigger `t` and the tracker id `tid` as extra fields.
//! - `_type: transition` → one `gps` event at `tst` with the region (`desc`) as
//!   `place_name` and `event` (`enter`/`leave`).
//! - `_type: waypoint`/`waypoints` define regions: a place, not a visit, so nothing is
//!   stored (the same rule as an untimed GPX waypoint). Every other type (`card`, `lwt`,
//!   `status`, `beacon`, `cmd`, …) is acknowledged and not stored.
//! - `_type: encrypted` cannot be read (the app's payload encryption): 422, so the app
//!   keeps the message queued instead of its being dropped.
//!
//! The device is `X-Limit-D` (the app's device name), else the topic's last level, else
//! `tid`. The `raw_ref` of a fix is `owntracks/<tid>/<tst>`, from the message alone, so a
//! message the app resends after a lost answer is skipped as a duplicate. A latitude or
//! longitude out of range is refused with its field named (422), as is a fix without
//! `tst`: the host never gives a fix a time that is not its own.

use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use openclone_ingest::service::{Envelope, Input, Origin};
use openclone_vault::validate::device_id_ok;
use openclone_vault::{FieldError, Platform, RawEvent, SourceType};
use serde_json::{Map, Value, json};

use super::ingest::{answer, read_body};
use super::reply::{self, Body};
use crate::app::App;

/// OwnTracks as a way in: the host builds the envelope from the request.
pub const ORIGIN: Origin = Origin::client("owntracks");

/// The `plugin_id` its events are stored under.
pub const PLUGIN_ID: &str = "owntracks";

/// The app sends one message per request, or a few queued ones; 1 MiB is the ingest cap.
const MAX_BODY_BYTES: usize = super::ingest::MAX_BODY_BYTES;

/// Handles one post for tenant number `tenant`.
pub async fn owntracks(
    app: &App,
    tenant: usize,
    req: Request<Incoming>,
    started: Instant,
) -> Response<Body> {
    let platform = platform(&req);
    let device = device(&req);
    let body = match read_body(app, req, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(answer) => return answer,
    };
    let messages = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(all)) => all,
        Ok(one @ Value::Object(_)) => vec![one],
        Ok(_) => {
            return invalid(
                "body",
                "must be an OwnTracks JSON message or an array of them",
            );
        }
        Err(e) => return invalid("body", &format!("not valid JSON: {e}")),
    };
    let mut events = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        match fix(m, device.as_deref()) {
            Ok(Some(fix)) => events.push(fix),
            Ok(None) => {}
            Err((field, rule)) => return invalid(&format!("[{i}].{field}"), &rule),
        }
    }
    if events.is_empty() {
        return empty();
    }
    let device_id = events
        .iter()
        .find_map(|e| e.device.clone())
        .unwrap_or_else(|| PLUGIN_ID.to_owned());
    let raw: Vec<RawEvent<'_>> = events
        .iter()
        .map(|e| RawEvent {
            timestamp: e.timestamp,
            data: &e.data,
            raw_ref: Some(&e.raw_ref),
        })
        .collect();
    let envelope = Envelope {
        source_type: SourceType::Gps,
        platform,
        device_id: &device_id,
        plugin_id: PLUGIN_ID,
        plugin_version: env!("CARGO_PKG_VERSION"),
    };
    let checked = app
        .ingest
        .check(ORIGIN, tenant, Input::Typed(&envelope, &raw));
    match answer(app, tenant, checked, started).await {
        Ok(_) => empty(),
        Err(answer) => answer,
    }
}

/// One message as a `gps` event.
struct Fix {
    timestamp: f64,
    data: String,
    raw_ref: String,
    device: Option<String>,
}

/// The event of message `m`, `None` for a type that stores nothing. Errors: (field, rule).
fn fix(m: &Value, device: Option<&str>) -> Result<Option<Fix>, (String, String)> {
    let Some(obj) = m.as_object() else {
        return Err(("_type".into(), "each message must be a JSON object".into()));
    };
    let kind = match obj.get("_type").and_then(Value::as_str) {
        Some(k) => k,
        None => {
            return Err((
                "_type".into(),
                "is required (location, transition, …)".into(),
            ));
        }
    };
    match kind {
        "location" | "transition" => {}
        "encrypted" => {
            return Err((
                "_type".into(),
                "encrypted messages cannot be read: clear the encryption key in the OwnTracks app's settings (the connection to this host is already yours)".into(),
            ));
        }
        _ => return Ok(None),
    }
    let number = |key: &str| obj.get(key).and_then(Value::as_f64);
    let tst = number("tst").ok_or_else(|| {
        (
            "tst".to_owned(),
            "is required: the fix's Unix time in seconds".to_owned(),
        )
    })?;
    let (lat, lon) = match (number("lat"), number("lon")) {
        (Some(lat), Some(lon)) => (lat, lon),
        _ => return Err(("lat".into(), "lat and lon are required numbers".into())),
    };
    if !(-90.0..=90.0).contains(&lat) {
        return Err(("lat".into(), format!("{lat} is not a latitude (-90 to 90)")));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err((
            "lon".into(),
            format!("{lon} is not a longitude (-180 to 180)"),
        ));
    }
    let device = device
        .map(str::to_owned)
        .or_else(|| {
            obj.get("topic")
                .and_then(Value::as_str)
                .and_then(|t| t.rsplit('/').next())
                .and_then(clean_device)
        })
        .or_else(|| {
            obj.get("tid")
                .and_then(Value::as_str)
                .and_then(clean_device)
        });
    let mut data = Map::new();
    data.insert("lat".into(), json!(lat));
    data.insert("lon".into(), json!(lon));
    if let Some(acc) = number("acc") {
        data.insert("accuracy".into(), json!(acc));
    }
    let place = if kind == "transition" {
        obj.get("desc").and_then(Value::as_str)
    } else {
        obj.get("inregions")
            .and_then(Value::as_array)
            .and_then(|r| r.first())
            .and_then(Value::as_str)
    };
    if let Some(p) = place.filter(|p| !p.trim().is_empty()) {
        data.insert("place_name".into(), json!(p));
    }
    for (from, to) in [
        ("alt", "altitude"),
        ("vel", "speed_kmh"),
        ("batt", "battery"),
    ] {
        if let Some(v) = number(from) {
            data.insert(to.into(), json!(v));
        }
    }
    for (from, to) in [("t", "trigger"), ("tid", "tracker_id"), ("event", "event")] {
        if let Some(v) = obj.get(from).and_then(Value::as_str) {
            data.insert(to.into(), json!(v));
        }
    }
    let who = obj.get("tid").and_then(Value::as_str).unwrap_or("-");
    let raw_ref = match kind {
        "transition" => format!(
            "owntracks/{who}/{tst}/{}/{}",
            obj.get("event").and_then(Value::as_str).unwrap_or(""),
            place.unwrap_or("")
        ),
        _ => format!("owntracks/{who}/{tst}"),
    };
    Ok(Some(Fix {
        timestamp: tst,
        data: Value::Object(data).to_string(),
        raw_ref,
        device,
    }))
}

/// `X-Limit-D`, the device name the app sends in HTTP mode, if it is a valid device id.
fn device(req: &Request<Incoming>) -> Option<String> {
    req.headers()
        .get("x-limit-d")
        .and_then(|v| v.to_str().ok())
        .and_then(clean_device)
}

/// `name` as a device id (CONTRACT.md: `[A-Za-z0-9._:-]`), spaces as `-`; `None` if
/// nothing valid is left.
fn clean_device(name: &str) -> Option<String> {
    let id: String = name.trim().replace(' ', "-");
    device_id_ok(&id).then_some(id)
}

/// The app exists for Android and iOS; iOS announces itself in `User-Agent` (CFNetwork,
/// Darwin), so anything else is read as Android.
fn platform(req: &Request<Incoming>) -> Platform {
    let ua = req
        .headers()
        .get(hyper::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ["Darwin", "CFNetwork", "iOS", "iPhone"]
        .iter()
        .any(|m| ua.contains(m))
    {
        Platform::Ios
    } else {
        Platform::Android
    }
}

/// What the app expects on success: a JSON array (of commands for it; none here).
fn empty() -> Response<Body> {
    reply::value(StatusCode::OK, json!([]))
}

fn invalid(field: &str, rule: &str) -> Response<Body> {
    reply::invalid(&[FieldError::new(field, rule)])
}
