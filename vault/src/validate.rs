//! All-or-nothing validation of an ingest body (CONTRACT.md, "Field rules").
//!
//! Every violation is collected with its JSON path, so one 422 lists all of them.

use serde_json::{Map, Value};

use crate::batch::{Batch, Event, FieldError};
use crate::source::{Platform, SourceType};

/// CONTRACT.md: timestamps before 2020-01-01T00:00:00Z → 422.
pub const MIN_TIMESTAMP: f64 = 1_577_836_800.0;
/// CONTRACT.md: timestamps more than 24 h after the host's clock → 422.
pub const MAX_FUTURE_S: f64 = 86_400.0;
/// CONTRACT.md: 1 to 500 events per batch.
pub const MAX_EVENTS: usize = 500;
/// CONTRACT.md: `raw_ref` is 1 to 256 chars when present.
pub const MAX_RAW_REF_CHARS: usize = 256;
/// CONTRACT.md: `device_id` is at most 128 chars.
pub const MAX_DEVICE_ID_CHARS: usize = 128;
/// CONTRACT.md: `plugin_id` is at most 64 chars.
pub const MAX_PLUGIN_ID_CHARS: usize = 64;

/// What validation needs to know beyond the body itself. Host policy (which plugins are
/// registered, enabled, allowed which source types) is not here: the host's ingest service
/// checks it next to these rules, so this crate knows nothing of plugins.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The host's clock, Unix seconds (the upper timestamp bound is `now + 86400`).
    pub now: f64,
    /// The lower timestamp bound, Unix seconds: the contract's 2020-01-01
    /// ([`MIN_TIMESTAMP`]), or a tenant's `accept_since` (history import).
    pub earliest: f64,
}

impl Rules {
    /// The contract's rules at `now`: timestamps from 2020-01-01 to 24 h ahead.
    pub fn contract(now: f64) -> Self {
        Self {
            now,
            earliest: MIN_TIMESTAMP,
        }
    }
}

/// One event as a plugin's `emit` hands it over: typed, its `data` a JSON object in text.
#[derive(Debug, Clone, Copy)]
pub struct RawEvent<'a> {
    /// Unix seconds.
    pub timestamp: f64,
    /// The `data` object, as JSON text.
    pub data: &'a str,
    /// The plugin's stable id for the event, if any.
    pub raw_ref: Option<&'a str>,
}

/// The envelope's `source_type` and `plugin_id` where they are valid, read without
/// validating the rest: what host policy needs even when the body has other violations,
/// so one 422 lists all of them.
pub fn envelope_ids(value: &Value) -> (Option<SourceType>, Option<&str>) {
    let source_type = value
        .get("source_type")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok());
    let plugin_id = value
        .get("plugin_id")
        .and_then(Value::as_str)
        .filter(|p| plugin_id_ok(p));
    (source_type, plugin_id)
}

/// Validates the events of one `emit` call with the same rules as a body's `events`
/// (count, timestamps, `data` a JSON object, `raw_ref` length), field paths
/// `events[i].…`. No envelope is built: the host fills it from the manifest.
///
/// Errors: every violation, each naming its field.
pub fn validate_events(
    events: &[RawEvent<'_>],
    rules: &Rules,
) -> Result<Vec<Event>, Vec<FieldError>> {
    let mut errs = Vec::new();
    if !count_ok(events.len(), &mut errs) {
        return Err(errs);
    }
    let out: Vec<Event> = events
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let ts = checked_timestamp(
                e.timestamp,
                || format!("events[{i}].timestamp"),
                rules,
                &mut errs,
            );
            let data = match serde_json::from_str::<Value>(e.data) {
                Ok(Value::Object(map)) => Some(map),
                Ok(other) => {
                    errs.push(FieldError::new(
                        format!("events[{i}].data"),
                        format!("must be a JSON object, got {}", kind(&other)),
                    ));
                    None
                }
                Err(err) => {
                    errs.push(FieldError::new(
                        format!("events[{i}].data"),
                        format!("not valid JSON: {err}"),
                    ));
                    None
                }
            };
            let raw_ref = match e.raw_ref {
                Some(r) if !raw_ref_ok(r) => {
                    errs.push(FieldError::new(
                        format!("events[{i}].raw_ref"),
                        "must be 1 to 256 chars",
                    ));
                    return None;
                }
                r => r.map(str::to_owned),
            };
            Some(Event {
                timestamp: ts?,
                data: data?,
                raw_ref,
            })
        })
        .collect();
    if errs.is_empty() { Ok(out) } else { Err(errs) }
}

fn raw_ref_ok(r: &str) -> bool {
    (1..=MAX_RAW_REF_CHARS).contains(&r.chars().count())
}

/// CONTRACT.md: 1 to 500 events per batch.
fn count_ok(n: usize, errs: &mut Vec<FieldError>) -> bool {
    let ok = (1..=MAX_EVENTS).contains(&n);
    if !ok {
        errs.push(FieldError::new(
            "events",
            format!("must hold 1 to {MAX_EVENTS} events, got {n}"),
        ));
    }
    ok
}

/// Parses and validates a request body.
///
/// Errors: every violation, each naming its field; a body that is not JSON or not an object
/// gives one error at `body` (CONTRACT.md **Decided**: 422, not 400).
pub fn validate_body(body: &[u8], rules: &Rules) -> Result<Batch, Vec<FieldError>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => validate_value(value, rules),
        Err(e) => Err(vec![FieldError::new(
            "body",
            format!("not valid JSON: {e}"),
        )]),
    }
}

/// Validates an already parsed body; see [`validate_body`].
pub fn validate_value(value: Value, rules: &Rules) -> Result<Batch, Vec<FieldError>> {
    let Value::Object(mut obj) = value else {
        return Err(vec![FieldError::new("body", "must be a JSON object")]);
    };
    let mut errs = Vec::new();
    let source_type = required_str(&obj, "source_type", &mut errs).and_then(|s| {
        s.parse::<SourceType>()
            .map_err(|()| errs.push(FieldError::new("source_type", "must be one of the 15 source types (audio_system, audio_mic, screen_ocr, journal, web_browsing, music, health, calendar, notes, gps, photos, email, messaging, activity, braindump)")))
            .ok()
    });
    let platform = required_str(&obj, "platform", &mut errs).and_then(|s| {
        s.parse::<Platform>()
            .map_err(|()| {
                errs.push(FieldError::new(
                    "platform",
                    "must be one of macos, windows, linux, ios, android, web",
                ))
            })
            .ok()
    });
    let device_id = required_str(&obj, "device_id", &mut errs).and_then(|s| {
        check(
            device_id_ok(s),
            "device_id",
            "must be 1 to 128 chars of [A-Za-z0-9._:-] (a UUID v4 is recommended)",
            &mut errs,
        )
        .then(|| s.to_owned())
    });
    let plugin_id = required_str(&obj, "plugin_id", &mut errs).and_then(|s| {
        check(
            plugin_id_ok(s),
            "plugin_id",
            "must be kebab-case, at most 64 chars",
            &mut errs,
        )
        .then(|| s.to_owned())
    });
    let plugin_version = required_str(&obj, "plugin_version", &mut errs).and_then(|s| {
        check(
            semver::Version::parse(s).is_ok(),
            "plugin_version",
            "must be a semantic version such as 1.0.0",
            &mut errs,
        )
        .then(|| s.to_owned())
    });
    let timestamp = timestamp(
        obj.get("timestamp"),
        || "timestamp".into(),
        rules,
        &mut errs,
    );
    let events = events(obj.remove("events"), rules, &mut errs);
    match (
        source_type,
        platform,
        device_id,
        plugin_id,
        plugin_version,
        timestamp,
        events,
    ) {
        (
            Some(source_type),
            Some(platform),
            Some(device_id),
            Some(plugin_id),
            Some(plugin_version),
            Some(timestamp),
            Some(events),
        ) if errs.is_empty() => Ok(Batch {
            source_type,
            platform,
            device_id,
            plugin_id,
            plugin_version,
            timestamp,
            events,
        }),
        _ => Err(errs),
    }
}

fn check(ok: bool, field: &str, message: &str, errs: &mut Vec<FieldError>) -> bool {
    if !ok {
        errs.push(FieldError::new(field, message));
    }
    ok
}

fn required_str<'v>(
    obj: &'v Map<String, Value>,
    field: &str,
    errs: &mut Vec<FieldError>,
) -> Option<&'v str> {
    match obj.get(field) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => {
            errs.push(FieldError::new(field, "required"));
            None
        }
        Some(other) => {
            errs.push(FieldError::new(
                field,
                format!("must be a string, got {}", kind(other)),
            ));
            None
        }
    }
}

/// The JSON type name of a value, for messages.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// CONTRACT.md device_id rule (**Decided**: any such id, not only UUID v4).
pub fn device_id_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_DEVICE_ID_CHARS
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// CONTRACT.md plugin_id rule: `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 64 chars.
pub fn plugin_id_ok(s: &str) -> bool {
    s.len() <= MAX_PLUGIN_ID_CHARS
        && !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// `field` names the field for an error; it is only called when there is one (no
/// allocation per event on the way through).
fn timestamp(
    v: Option<&Value>,
    field: impl Fn() -> String,
    rules: &Rules,
    errs: &mut Vec<FieldError>,
) -> Option<f64> {
    let t = match v {
        Some(Value::Number(n)) => n.as_f64(),
        None | Some(Value::Null) => {
            errs.push(FieldError::new(field(), "required"));
            return None;
        }
        Some(other) => {
            errs.push(FieldError::new(
                field(),
                format!("must be a number of Unix seconds, got {}", kind(other)),
            ));
            return None;
        }
    };
    match t {
        Some(t) => checked_timestamp(t, field, rules, errs),
        None => {
            errs.push(FieldError::new(
                field(),
                "must be a finite number of Unix seconds",
            ));
            None
        }
    }
}

/// CONTRACT.md: a timestamp is finite, not before 2020-01-01 (or the tenant's
/// `accept_since`) and at most 24 h ahead.
fn checked_timestamp(
    t: f64,
    field: impl Fn() -> String,
    rules: &Rules,
    errs: &mut Vec<FieldError>,
) -> Option<f64> {
    let problem = if !t.is_finite() {
        "must be a finite number of Unix seconds".to_owned()
    } else if t < rules.earliest {
        if rules.earliest == MIN_TIMESTAMP {
            "before 2020-01-01T00:00:00Z".to_owned()
        } else {
            let day = jiff::Timestamp::from_second(rules.earliest as i64)
                .map(|t| t.to_string())
                .unwrap_or_default();
            format!("before {day}, this tenant's accept_since")
        }
    } else if t > rules.now + MAX_FUTURE_S {
        "more than 24 h in the future".to_owned()
    } else {
        return Some(t);
    };
    errs.push(FieldError::new(field(), problem));
    None
}

fn events(v: Option<Value>, rules: &Rules, errs: &mut Vec<FieldError>) -> Option<Vec<Event>> {
    let items = match v {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => {
            errs.push(FieldError::new("events", "required"));
            return None;
        }
        Some(other) => {
            errs.push(FieldError::new(
                "events",
                format!("must be an array of events, got {}", kind(&other)),
            ));
            return None;
        }
    };
    if !count_ok(items.len(), errs) {
        return None;
    }
    let before = errs.len();
    let out: Vec<Event> = items
        .into_iter()
        .enumerate()
        .filter_map(|(i, item)| event(i, item, rules, errs))
        .collect();
    (errs.len() == before).then_some(out)
}

fn event(i: usize, item: Value, rules: &Rules, errs: &mut Vec<FieldError>) -> Option<Event> {
    let Value::Object(mut obj) = item else {
        errs.push(FieldError::new(
            format!("events[{i}]"),
            format!("must be an object, got {}", kind(&item)),
        ));
        return None;
    };
    let ts = timestamp(
        obj.get("timestamp"),
        || format!("events[{i}].timestamp"),
        rules,
        errs,
    );
    let data = match obj.remove("data") {
        Some(Value::Object(map)) => Some(map),
        None => {
            errs.push(FieldError::new(format!("events[{i}].data"), "required"));
            None
        }
        Some(other) => {
            errs.push(FieldError::new(
                format!("events[{i}].data"),
                format!("must be a JSON object, got {}", kind(&other)),
            ));
            None
        }
    };
    let raw_ref = match obj.remove("raw_ref") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if raw_ref_ok(&s) => Ok(Some(s)),
        Some(Value::String(_)) => Err("must be 1 to 256 chars".to_owned()),
        Some(other) => Err(format!("must be a string, got {}", kind(&other))),
    };
    let raw_ref =
        raw_ref.map_err(|m| errs.push(FieldError::new(format!("events[{i}].raw_ref"), m)));
    Some(Event {
        timestamp: ts?,
        data: data?,
        raw_ref: raw_ref.ok()?,
    })
}
