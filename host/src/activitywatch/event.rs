//! ActivityWatch's event (aw-models `Event`): `{id, timestamp, duration, data}` on the wire,
//! with times kept as Unix nanoseconds inside the host.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One event of a bucket. Wire shape (aw-server-rust `aw-models/src/event.rs`): `id`
/// (assigned by the server), `timestamp` (RFC 3339 with an offset), `duration` (seconds,
/// fractions allowed, default 0), `data` (any JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The row id once stored.
    pub id: Option<i64>,
    /// Start, Unix nanoseconds.
    pub start_ns: i64,
    /// Duration, nanoseconds, never negative.
    pub duration_ns: i64,
    /// The watcher's data (`app` and `title`, `status`, `url` and `title`, …).
    pub data: Map<String, Value>,
}

impl Event {
    /// End, Unix nanoseconds.
    pub fn end_ns(&self) -> i64 {
        self.start_ns.saturating_add(self.duration_ns)
    }
}

/// The latest start accepted, Unix nanoseconds (2200-01-01): starts and ends stay far
/// from the end of `i64` nanoseconds (2262), so no sum overflows.
const LATEST_NS: i64 = 7_258_118_400 * 1_000_000_000;

/// The longest duration of one posted event or heartbeat, seconds: 7 days. aw-server-rust
/// sets none; no watcher sends one this long (aw-watcher-window and aw-watcher-web post
/// 0 s heartbeats, aw-watcher-afk its idle time, minutes to hours; sessions grow longer
/// only by merging heartbeats). The bound keeps what one request can become small: an
/// event is cut at each local midnight it spans, so at most 8 vault entries. Longer
/// imports are sent as several events.
pub const MAX_DURATION_S: f64 = 7.0 * 86_400.0;

/// The longest `pulsetime` of a heartbeat, seconds: 1 day (watchers use their poll
/// interval plus a little: aw-watcher-window 2 s, aw-watcher-afk 181 s by default).
pub const MAX_PULSETIME_S: f64 = 86_400.0;

/// The event as it arrives.
#[derive(Deserialize)]
struct Wire {
    #[serde(default)]
    id: Option<i64>,
    timestamp: String,
    #[serde(default)]
    duration: f64,
    #[serde(default)]
    data: Map<String, Value>,
}

/// The event as it is answered.
#[derive(Serialize)]
struct Out<'a> {
    id: Option<i64>,
    timestamp: String,
    duration: f64,
    data: &'a Map<String, Value>,
}

/// Reads one event from JSON. Errors name the field: `timestamp` must be RFC 3339 with an
/// offset, from 1970 to 2200; `duration` a number of seconds from 0 to [`MAX_DURATION_S`].
pub fn parse(v: Value) -> Result<Event, String> {
    let w: Wire = serde_json::from_value(v).map_err(|e| format!("not an event: {e}"))?;
    let t: jiff::Timestamp = w.timestamp.parse().map_err(|e| {
        format!(
            "timestamp: {:?} is not an RFC 3339 time with an offset: {e}",
            w.timestamp
        )
    })?;
    if !(0.0..=MAX_DURATION_S).contains(&w.duration) {
        return Err(format!(
            "duration: {} is not a number of seconds from 0 to {MAX_DURATION_S}",
            w.duration
        ));
    }
    let start_ns = i64::try_from(t.as_nanosecond())
        .ok()
        .filter(|ns| (0..=LATEST_NS).contains(ns))
        .ok_or_else(|| format!("timestamp: {:?} is not between 1970 and 2200", w.timestamp))?;
    Ok(Event {
        id: w.id,
        start_ns,
        duration_ns: secs_to_ns(w.duration),
        data: w.data,
    })
}

/// The event as aw-server answers it.
pub fn to_json(e: &Event) -> Value {
    serde_json::to_value(Out {
        id: e.id,
        timestamp: rfc3339(e.start_ns),
        duration: e.duration_ns as f64 / 1e9,
        data: &e.data,
    })
    .unwrap_or(Value::Null)
}

/// Unix nanoseconds as RFC 3339 in UTC (`2026-11-22T09:12:03.250Z`).
pub fn rfc3339(ns: i64) -> String {
    jiff::Timestamp::from_nanosecond(i128::from(ns))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// Seconds (finite, ≥ 0) to nanoseconds, rounded as aw-server rounds `pulsetime`.
pub fn secs_to_ns(s: f64) -> i64 {
    (s * 1e9).round().clamp(0.0, i64::MAX as f64) as i64
}
