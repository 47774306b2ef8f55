//! Fuzzing (proptest) over parse → validate → sanitize → render (every byte
//! sequence on `POST /api/v1/ingest` and every `emit` gets an answer, never a panic).
//!
//! Cases per property: `PROPTEST_CASES` (default 2,000 here; `scripts/fuzz.sh` runs more).

use openclone_vault::prepare::prepare;
use openclone_vault::{Policy, Rules, SourceType, validate_body};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Validates `body` and, if it is a batch, sanitizes and renders it in Berlin time.
fn pipeline(body: &[u8], redact_pii: bool) {
    let rules = Rules::contract(1_763_800_000.0);
    if let Ok(batch) = validate_body(body, &rules) {
        let tz = jiff::tz::TimeZone::get("Europe/Berlin").expect("tz");
        let prepared = prepare(batch, &tz, Policy { redact_pii });
        for e in &prepared.entries {
            assert!(e.text.ends_with('\n'));
        }
    }
}

/// Text that hits the renderer's edges: multi-byte characters at every byte offset,
/// Markdown and HTML structure, control characters, secrets, times.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a€é𝄞\\-:T0-9 #<>`$%!\\[\\]()*_~|\\\\\n\r\t]{0,40}",
        Just("aaaaaaaaa€xxxx".to_owned()),
        Just("2024-02-18T09:00:00+01:00".to_owned()),
        Just("export DB_PASSWORD=hunter2".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        text().prop_map(Value::String),
        any::<f64>().prop_map(|f| json!(f)),
        any::<i64>().prop_map(|i| json!(i)),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(text(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names every source type reads, so the type-specific renderers see odd values.
const FIELDS: &[&str] = &[
    "text",
    "title",
    "start",
    "end",
    "location",
    "attendees",
    "artist",
    "track",
    "album",
    "lat",
    "lon",
    "accuracy",
    "place_name",
    "url",
    "domain",
    "subject",
    "from",
    "to",
    "app",
    "app_name",
    "duration",
    "status",
    "preview",
    "sender",
    "tags",
    "path",
    "body",
];

fn data() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::vec((prop::sample::select(FIELDS), value()), 0..8)
        .prop_map(|pairs| pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_get_an_answer(body in prop::collection::vec(any::<u8>(), 0..512)) {
        pipeline(&body, false);
    }

    #[test]
    fn any_json_gets_an_answer(v in value()) {
        pipeline(v.to_string().as_bytes(), true);
    }

    #[test]
    fn any_field_values_of_any_source_type_render(
        st in prop::sample::select(SourceType::ALL.to_vec()),
        events in prop::collection::vec((data(), 1_577_836_800.0f64..1_763_800_000.0, prop::option::of(text())), 1..4),
        redact_pii in any::<bool>(),
    ) {
        let events: Vec<Value> = events
            .into_iter()
            .map(|(d, ts, raw_ref)| json!({"timestamp": ts, "data": d, "raw_ref": raw_ref}))
            .collect();
        let body = json!({
            "source_type": st.as_str(), "platform": "linux",
            "device_id": "550e8400-e29b-41d4-a716-446655440000", "plugin_id": "fuzz",
            "plugin_version": "1.0.0", "timestamp": 1_708_258_800.0, "events": events,
        });
        pipeline(body.to_string().as_bytes(), redact_pii);
    }
}
