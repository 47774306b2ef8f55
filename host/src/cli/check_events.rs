//! `openclone plugins check-events`: the host's own validation and dedup keys for test
//! harnesses of guest SDKs in other languages (the Python SDK's `testing.Harness`), so a
//! plugin that passes its native tests is accepted by the host, with the same field errors
//! when it is not.
//!
//! Protocol: one JSON request per line on stdin, one JSON answer per line on stdout
//! (flushed after each). Request: `{"source": "journal", "events": [{"timestamp": f64,
//! "data": "<the data object as JSON text, as the WIT event carries it>", "raw_ref":
//! string|null}], "accept_since": "YYYY-MM-DD"|null}`. Answer: `{"ok": true, "events":
//! [{"timestamp", "data": {…}, "raw_ref", "key": "<64 hex dedup key>"}]}` or `{"ok":
//! false, "errors": [{"field", "message"}]}` (the `invalid` of `emit`); a request that is
//! not of this shape is answered `{"ok": false, "errors": [{"field": "request", …}]}`.

use std::io::{BufRead, Write};

use openclone_vault::validate::MIN_TIMESTAMP;
use openclone_vault::{DedupKey, RawEvent, Rules, SourceType, validate_events};
use serde::Deserialize;
use serde_json::{Value, json};

/// The plugin id the keys are computed with (keys are compared within one harness only).
const HARNESS_PLUGIN_ID: &str = "harness";

#[derive(Deserialize)]
struct Request {
    source: String,
    events: Vec<WireEvent>,
    #[serde(default)]
    accept_since: Option<String>,
}

#[derive(Deserialize)]
struct WireEvent {
    timestamp: f64,
    data: String,
    #[serde(default)]
    raw_ref: Option<String>,
}

fn refused(field: &str, message: String) -> Value {
    json!({"ok": false, "errors": [{"field": field, "message": message}]})
}

/// The answer to one request line.
fn answer(line: &str) -> Value {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return refused("request", format!("is not a check-events request: {e}")),
    };
    let Ok(source) = req.source.parse::<SourceType>() else {
        return refused(
            "source",
            format!("{:?} is not one of the 15 source types", req.source),
        );
    };
    let earliest = match req.accept_since.as_deref() {
        None => MIN_TIMESTAMP,
        Some(day) => match openclone_ingest::clock::day_start(day) {
            Some(t) => t,
            None => return refused("accept_since", format!("{day:?} is not a YYYY-MM-DD date")),
        },
    };
    let raw: Vec<RawEvent<'_>> = req
        .events
        .iter()
        .map(|e| RawEvent {
            timestamp: e.timestamp,
            data: &e.data,
            raw_ref: e.raw_ref.as_deref(),
        })
        .collect();
    let rules = Rules {
        now: openclone_ingest::clock::unix_now(),
        earliest,
    };
    match validate_events(&raw, &rules) {
        Ok(events) => json!({
            "ok": true,
            "events": events.iter().map(|e| json!({
                "timestamp": e.timestamp,
                "data": e.data,
                "raw_ref": e.raw_ref,
                "key": DedupKey::of(source, HARNESS_PLUGIN_ID, e).to_hex(),
            })).collect::<Vec<_>>(),
        }),
        Err(errs) => json!({
            "ok": false,
            "errors": errs.iter().map(|f| json!({"field": f.field, "message": f.message})).collect::<Vec<_>>(),
        }),
    }
}

/// Answers requests from stdin until it closes. Errors: stdin or stdout fails.
pub fn run() -> anyhow::Result<()> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();
    for line in stdin.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        serde_json::to_writer(&mut out, &answer(&line))?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn answers_keys_for_valid_events_and_the_hosts_field_errors_otherwise() {
        let ok = answer(
            r#"{"source":"journal","events":[{"timestamp":1708258800,"data":"{\"text\":\"hi\"}","raw_ref":"a"}]}"#,
        );
        assert_eq!(ok["ok"], true, "{ok}");
        assert_eq!(ok["events"][0]["data"]["text"], "hi");
        assert_eq!(ok["events"][0]["key"].as_str().map(str::len), Some(64));
        let bad = answer(
            r#"{"source":"journal","events":[{"timestamp":1000,"data":"{\"text\":\"hi\"}"}]}"#,
        );
        assert_eq!(bad["ok"], false);
        assert_eq!(bad["errors"][0]["field"], "events[0].timestamp", "{bad}");
        let since = answer(
            r#"{"source":"journal","events":[{"timestamp":1500000000,"data":"{\"text\":\"old\"}"}],"accept_since":"2015-01-01"}"#,
        );
        assert_eq!(since["ok"], true, "accept_since lowers the bound: {since}");
        assert_eq!(answer("nonsense")["errors"][0]["field"], "request");
        assert_eq!(
            answer(r#"{"source":"diary","events":[]}"#)["errors"][0]["field"],
            "source"
        );
    }
}
