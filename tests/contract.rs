//! CONTRACT.md over real HTTP: the quick start, every field rule, every status code.

use serde_json::{Value, json};

use crate::support::{Host, KEY, UNLIMITED, batch, now, quick_start};

#[test]
fn quick_start_stores_then_skips() {
    let host = Host::start();
    let r = host.post(&quick_start());
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["stored"], 1);
    assert_eq!(r.json["skipped"], 0);
    assert_eq!(r.json["file"], "Braindump/2024-02-18.md");
    assert!(
        host.read("default", "Braindump/2024-02-18.md")
            .contains("Hello!")
    );
    let again = host.post(&quick_start());
    assert_eq!(
        (
            again.status,
            again.json["stored"].clone(),
            again.json["skipped"].clone()
        ),
        (200, json!(0), json!(1))
    );
}

/// Sends `body` and returns the fields named in a 422.
fn refused(host: &Host, body: &Value) -> Vec<String> {
    let r = host.post(body);
    assert_eq!(r.status, 422, "expected 422 for {body}, got {}", r.json);
    assert_eq!(r.json["error"], "validation_failed");
    r.json["details"]
        .as_array()
        .expect("details")
        .iter()
        .map(|d| {
            assert!(!d["message"].as_str().unwrap_or_default().is_empty());
            d["field"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn with(field: &str, value: Value) -> Value {
    let mut b = quick_start();
    b[field] = value;
    b
}

fn with_event(field: &str, value: Value) -> Value {
    let mut b = quick_start();
    b["events"][0][field] = value;
    b
}

fn accepted(host: &Host, body: &Value) {
    let r = host.post(body);
    assert_eq!(r.status, 200, "expected 200 for {body}, got {}", r.json);
}

#[test]
fn every_field_rule_is_enforced() {
    let host = Host::with_config(UNLIMITED);
    let fields = |b: &Value| refused(&host, b);

    assert_eq!(
        fields(&with("source_type", json!("podcast"))),
        ["source_type"]
    );
    assert_eq!(fields(&with("source_type", json!(3))), ["source_type"]);
    for st in [
        "audio_system",
        "audio_mic",
        "screen_ocr",
        "journal",
        "web_browsing",
        "music",
        "health",
        "calendar",
        "notes",
        "gps",
        "photos",
        "email",
        "messaging",
        "activity",
        "braindump",
    ] {
        accepted(&host, &with("source_type", json!(st)));
    }

    assert_eq!(fields(&with("platform", json!("beos"))), ["platform"]);
    for p in ["macos", "windows", "linux", "ios", "android", "web"] {
        accepted(&host, &with("platform", json!(p)));
    }

    for bad in [
        json!(""),
        json!("has space"),
        json!("x".repeat(129)),
        json!("ünï"),
        json!(null),
    ] {
        assert_eq!(fields(&with("device_id", bad)), ["device_id"]);
    }
    accepted(&host, &with("device_id", json!("d".repeat(128))));
    accepted(
        &host,
        &with("device_id", json!("550e8400-e29b-41d4-a716-446655440000")),
    );

    for bad in [
        json!("My-Plugin"),
        json!("a--b"),
        json!("-a"),
        json!("a-"),
        json!("a_b"),
        json!("a".repeat(65)),
    ] {
        assert_eq!(fields(&with("plugin_id", bad)), ["plugin_id"]);
    }
    accepted(&host, &with("plugin_id", json!("a".repeat(64))));

    for bad in [json!("1.0"), json!("v1.0.0"), json!("latest"), json!(1)] {
        assert_eq!(fields(&with("plugin_version", bad)), ["plugin_version"]);
    }
    accepted(
        &host,
        &with("plugin_version", json!("1.0.0-beta.1+build.5")),
    );

    let future = now() + 86_400.0 + 600.0;
    for bad in [
        json!(1_577_836_799.9),
        json!(future),
        json!("1708258800"),
        json!(null),
    ] {
        assert_eq!(fields(&with("timestamp", bad.clone())), ["timestamp"]);
        assert_eq!(
            fields(&with_event("timestamp", bad)),
            ["events[0].timestamp"]
        );
    }
    accepted(&host, &with("timestamp", json!(1_577_836_800)));
    accepted(&host, &with_event("timestamp", json!(now() + 3600.0)));

    assert_eq!(fields(&with("events", json!([]))), ["events"]);
    assert_eq!(fields(&with("events", json!({"a": 1}))), ["events"]);
    let event = |i: usize| json!({"timestamp": 1708258800.0, "data": {"text": format!("n{i}")}, "raw_ref": format!("max-{i}")});
    assert_eq!(
        fields(&with("events", Value::Array((0..501).map(event).collect()))),
        ["events"]
    );
    let r = host.post(&with("events", Value::Array((0..500).map(event).collect())));
    assert_eq!((r.status, r.json["stored"].clone()), (200, json!(500)));

    for bad in [json!([1]), json!("text"), json!(null), json!(7)] {
        assert_eq!(fields(&with_event("data", bad)), ["events[0].data"]);
    }
    for bad in [json!(""), json!("r".repeat(257)), json!(42)] {
        assert_eq!(fields(&with_event("raw_ref", bad)), ["events[0].raw_ref"]);
    }
    accepted(&host, &with_event("raw_ref", json!("r".repeat(256))));
    let mut no_ref = quick_start();
    no_ref["events"][0]
        .as_object_mut()
        .map(|o| o.remove("raw_ref"));
    accepted(&host, &no_ref);

    let mut extra = quick_start();
    extra["unknown_field"] = json!({"anything": true});
    extra["events"][0]["raw_ref"] = json!("extra");
    accepted(&host, &extra);

    let mut missing = quick_start();
    missing.as_object_mut().map(|o| o.remove("device_id"));
    assert_eq!(fields(&missing), ["device_id"]);
}

#[test]
fn a_batch_with_many_faults_lists_them_all_and_stores_nothing() {
    let host = Host::start();
    let body = json!({
        "source_type": "braindump", "platform": "amiga",
        "device_id": "test-001", "plugin_id": "Bad_Plugin",
        "plugin_version": "1.0.0", "timestamp": 1708258800.0,
        "events": [
            {"timestamp": 1708258800.0, "data": {"text": "fine"}, "raw_ref": "ok"},
            {"timestamp": 1500000000.0, "data": {"text": "old"}},
            {"timestamp": 1708258800.0, "data": "not an object"},
            {"timestamp": 1708258800.0, "data": {}, "raw_ref": ""},
        ]
    });
    let fields = refused(&host, &body);
    assert_eq!(
        fields,
        [
            "platform",
            "plugin_id",
            "events[1].timestamp",
            "events[2].data",
            "events[3].raw_ref"
        ]
    );
    assert!(
        !host.vault("default").join("Braindump").exists(),
        "nothing may be stored from a refused batch"
    );
}

#[test]
fn body_errors_and_size_limit() {
    let host = Host::start();
    for body in [&b"not json"[..], b"[1,2]", b"", b"{\"source_type\": "] {
        let r = host.post_raw(Some(KEY), body);
        assert_eq!(r.status, 422, "{:?}", String::from_utf8_lossy(body));
        assert_eq!(r.json["details"][0]["field"], "body");
    }
    let mut big = batch(
        "braindump",
        vec![json!({"timestamp": 1708258800.0, "data": {"text": "x".repeat(1024 * 1024)}})],
    );
    let r = host.post(&big);
    assert_eq!(r.status, 413);
    assert_eq!(
        r.json,
        json!({"error": "payload_too_large", "limit_bytes": 1048576})
    );
    big["events"][0]["data"]["text"] = json!("x".repeat(1024 * 1024 - 400));
    let body = big.to_string();
    assert!(body.len() <= 1024 * 1024, "{}", body.len());
    let r = host.post_raw(Some(KEY), body.as_bytes());
    assert_eq!(
        r.status, 200,
        "a body just under 1 MiB is accepted: {}",
        r.json
    );
}

#[test]
fn unauthorized_without_a_valid_key() {
    let host = Host::start();
    for key in [None, Some("wrong-key"), Some("")] {
        let r = host.post_raw(key, quick_start().to_string().as_bytes());
        assert_eq!(
            (r.status, r.json.clone()),
            (401, json!({"error": "unauthorized"}))
        );
        assert_eq!(host.get("/api/v1/plugins", key).status, 401);
    }
    assert_eq!(host.get("/healthz", None).status, 200);
}

#[test]
fn rate_limit_answers_429_with_retry_after() {
    let host = Host::with_config("[ingest]\nrate_burst = 3\nrate_per_s = 0.05\n");
    for _ in 0..3 {
        assert_eq!(host.post(&quick_start()).status, 200);
    }
    let r = host.post(&quick_start());
    assert_eq!(r.status, 429);
    assert_eq!(r.json["error"], "rate_limited");
    let secs = r.json["retry_after_s"].as_u64().expect("retry_after_s");
    assert!((1..=20).contains(&secs), "{secs}");
    assert_eq!(r.retry_after, Some(secs.to_string()));
}

#[test]
fn storage_failure_is_500_and_nothing_is_reported_stored() {
    let host = Host::start();
    std::fs::create_dir_all(host.vault("default").join("Braindump/2024-02-18.md"))
        .expect("block the file");
    let r = host.post(&quick_start());
    assert_eq!(r.status, 500, "{}", r.json);
    assert_eq!(r.json["error"], "storage_failed");
    assert!(
        r.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Braindump/2024-02-18.md")
    );
    std::fs::remove_dir(host.vault("default").join("Braindump/2024-02-18.md")).expect("unblock");
    let r = host.post(&quick_start());
    assert_eq!(
        (r.status, r.json["stored"].clone()),
        (200, json!(1)),
        "the failed batch was not recorded as stored"
    );
}

#[test]
fn registered_plugins_enforce_their_source_types() {
    let manifest = |id: &str, types: &str, sens: &str| {
        format!(
            r#"{{"id":"{id}","name":"{id}","version":"1.2.0","platform":["linux"],"source_types":{types},"sensitivity":"{sens}"}}"#
        )
    };
    let host = Host::with_files(
        "",
        &[
            (
                "plugins/notes-sync/plugin.json",
                &manifest("notes-sync", r#"["notes"]"#, "LOW"),
            ),
            (
                "plugins/mic-capture/plugin.json",
                &manifest("mic-capture", r#"["audio_mic"]"#, "HIGH"),
            ),
            (
                "plugins/broken/plugin.json",
                r#"{"id":"broken","name":"b","version":"1","platform":["linux"],"source_types":["notes"],"sensitivity":"LOW"}"#,
            ),
        ],
    );

    let mut b = quick_start();
    b["plugin_id"] = json!("notes-sync");
    assert_eq!(refused(&host, &b), ["source_type"]);
    b["source_type"] = json!("notes");
    assert_eq!(host.post(&b).status, 200);

    let mut mic = quick_start();
    mic["plugin_id"] = json!("mic-capture");
    mic["source_type"] = json!("audio_mic");
    assert_eq!(
        refused(&host, &mic),
        ["plugin_id"],
        "a HIGH plugin stays disabled until enabled"
    );

    let list = host.get("/api/v1/plugins", Some(KEY));
    assert_eq!(list.status, 200);
    let plugins = list.json["plugins"].as_array().expect("plugins").clone();
    let by_id = |id: &str| {
        plugins
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} listed"))
    };
    let notes = by_id("notes-sync");
    assert_eq!(
        (
            notes["kind"].clone(),
            notes["enabled"].clone(),
            notes["status"].clone()
        ),
        (json!("remote"), json!(true), json!("running"))
    );
    assert_eq!(notes["version"], "1.2.0");
    assert_eq!(notes["counters"]["events_stored"], 1);
    assert_eq!(by_id("mic-capture")["status"], "disabled");
    let broken = by_id("broken");
    assert_eq!(broken["status"], "error");
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("version"),
        "{broken}"
    );
}

#[test]
fn unregistered_plugins_can_be_required_to_register() {
    let host = Host::with_config(
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\nrequire_registered_plugins = true\n",
    );
    assert_eq!(refused(&host, &quick_start()), ["plugin_id"]);
}
