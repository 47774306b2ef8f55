//! ActivityWatch's watchers against the real host: aw-client 0.5.15 from PyPI
//! driving the API as aw-watcher-window and aw-watcher-afk do, the web extension's request
//! sequence, the merge rules of aw-server-rust, and SIGKILL right after answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Host, KEY, agent, call, now, wait_for};

/// The test config: UTC days, sessions closed 1 s after their pulsetime.
const CONFIG: &str = "[activitywatch]\nsession_grace_s = 1\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n";

/// The python of `target/venvs/activitywatch` ([`crate::support::venv_python`]).
fn python() -> PathBuf {
    crate::support::venv_python("activitywatch")
}

/// Runs `watchers.py MODE` against the API at `aw` for `day`; its stdout.
fn watchers(mode: &str, aw: &str, day: &str) -> String {
    let port = aw.rsplit(':').next().expect("port");
    let home = tempfile::tempdir().expect("home");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/activitywatch/watchers.py");
    let out = Command::new(python())
        .arg(script)
        .args([mode, "--port", port, "--day", day])
        .env("HOME", home.path())
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "watchers.py {mode} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Yesterday (UTC), so every heartbeat of a test day is in the past and within the contract.
fn yesterday() -> String {
    jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_hours(24))
        .expect("time")
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
        .to_string()
}

/// The session headings (`## …`) of a vault file, in file order.
fn headings(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("## "))
        .map(str::to_owned)
        .collect()
}

fn read(host: &Host, rel: &str) -> String {
    std::fs::read_to_string(host.vault("default").join(rel)).unwrap_or_default()
}

#[test]
fn a_work_morning_from_the_real_watchers_becomes_readable_entries() {
    let host = Host::with_config(CONFIG);
    let aw = host.aw_base();
    let day = yesterday();
    watchers("morning", &aw, &day);

    let (status, buckets) = call("GET", &format!("{aw}/api/0/buckets/"), &[], None);
    assert_eq!(status, 200);
    let bucket_of = |client: &str| {
        buckets
            .as_object()
            .expect("a map of buckets")
            .values()
            .find(|b| b["client"] == client)
            .unwrap_or_else(|| panic!("a bucket of {client}: {buckets}"))["id"]
            .as_str()
            .expect("id")
            .to_owned()
    };
    let spans = |bucket: &str| -> Vec<(String, f64, Value)> {
        let (status, events) = call(
            "GET",
            &format!("{aw}/api/0/buckets/{bucket}/events?limit=-1"),
            &[],
            None,
        );
        assert_eq!(status, 200);
        events
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| {
                (
                    e["timestamp"].as_str().expect("timestamp")[11..19].to_owned(),
                    e["duration"].as_f64().expect("duration"),
                    e["data"].clone(),
                )
            })
            .collect()
    };
    let window = spans(&bucket_of("aw-watcher-window"));
    let expected_window = [
        ("10:05:00", 899.0, "Thunderbird"),
        ("09:20:00", 1799.0, "Alacritty"),
        ("09:00:00", 1199.0, "Firefox"),
    ];
    assert_eq!(window.len(), expected_window.len(), "{window:?}");
    for ((at, dur, data), (want_at, want_dur, app)) in window.iter().zip(expected_window) {
        assert_eq!(
            (at.as_str(), *dur, &data["app"]),
            (want_at, want_dur, &json!(app))
        );
    }
    let afk = spans(&bucket_of("aw-watcher-afk"));
    let afk: Vec<(&str, f64, &str)> = afk
        .iter()
        .map(|(at, d, data)| (at.as_str(), *d, data["status"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        afk,
        [
            ("10:05:00", 895.0, "not-afk"),
            ("09:50:00", 895.0, "afk"),
            ("09:00:00", 2995.0, "not-afk"),
        ],
        "merged newest first, as aw-server answers; aw-client keeps the newest heartbeat until the data changes"
    );

    let activity_file = format!("Activity/{day}.md");
    let web_file = format!("Web/{day}.md");
    let mut expected_activity = vec![
        "## 09:00:00–09:19:59 · Firefox",
        "## 09:20:00–09:49:59 · Alacritty",
        "## 10:05:00–10:19:59 · Thunderbird",
        "## 09:00:00–09:49:55 · Active",
        "## 09:50:00–10:04:55 · Away",
        "## 10:05:00–10:19:55 · Active",
    ];
    expected_activity.sort_unstable();
    let mut expected_web = vec![
        "## 10:06:00–10:15:59 · docs.rs",
        "## 10:16:00–10:17:00 · news.ycombinator.com",
        "## 10:18:00–10:18:00 · docs.rs",
    ];
    expected_web.sort_unstable();
    let sorted = |rel: &str| {
        let mut h = headings(&read(&host, rel));
        h.sort_unstable();
        h
    };
    assert!(
        wait_for(30, || sorted(&activity_file) == expected_activity
            && sorted(&web_file) == expected_web),
        "every session written once:\n{}\n{}\n{}",
        read(&host, &activity_file),
        read(&host, &web_file),
        host.log()
    );
    let activity = read(&host, &activity_file);
    assert!(
        activity.contains("**Project plan - Google Docs**\n\n- Duration: 19:59\n"),
        "{activity}"
    );
    assert!(activity.contains("\nAway for 14:55\n"), "{activity}");
    assert!(activity.contains("plugin=aw-watcher-window@"), "{activity}");
    let web = read(&host, &web_file);
    assert!(web.contains("**tokio - Rust**"), "{web}");
    assert!(
        web.contains("- Url: https://news.ycombinator.com/item?id=1"),
        "{web}"
    );
    assert!(
        !web.contains("Private"),
        "incognito tabs are not written\n{web}"
    );
}

#[test]
fn the_merge_rules_match_aw_server_rust() {
    let host = Host::with_config(CONFIG);
    let out = watchers("stream", &host.aw_base(), &yesterday());
    let events: Vec<Value> = serde_json::from_str(out.trim()).expect("events JSON");
    let got: Vec<(f64, f64, &str)> = events
        .iter()
        .map(|e| {
            let t: jiff::Timestamp = e["timestamp"].as_str().expect("ts").parse().expect("time");
            let offset = t.as_millisecond() % 86_400_000 - 8 * 3_600_000;
            (
                offset as f64 / 1000.0,
                e["duration"].as_f64().expect("duration"),
                e["data"]["app"].as_str().expect("app"),
            )
        })
        .collect();
    // Worked out by hand from aw-server-rust's rules (aw-transform/src/heartbeat.rs and the
    // datastore's last-heartbeat cache): see the stream's comments in watchers.py.
    assert_eq!(
        got,
        [
            (16.5, 0.5, "A"),
            (16.0, 0.0, "A"),
            (15.0, 0.0, "B"),
            (14.0, 0.0, "A"),
            (10.0, 90.001, "A"),
            (0.0, 8.0, "A"),
        ]
    );
}

/// Creates bucket `id` of `kind` at `aw`.
fn create_bucket(aw: &str, id: &str, kind: &str) {
    let (status, _) = call(
        "POST",
        &format!("{aw}/api/0/buckets/{id}"),
        &[],
        Some(&json!({"client": "aw-watcher-window", "type": kind, "hostname": "laptop"})),
    );
    assert_eq!(status, 200);
}

/// A heartbeat at Unix second `t` with `data`, pulsetime 2 s; the answer's status.
fn beat(aw: &str, bucket: &str, t: f64, data: &Value) -> u16 {
    let ts = jiff::Timestamp::from_millisecond((t * 1000.0) as i64).expect("time");
    call(
        "POST",
        &format!("{aw}/api/0/buckets/{bucket}/heartbeat?pulsetime=2"),
        &[],
        Some(&json!({"timestamp": ts.to_string(), "duration": 0, "data": data})),
    )
    .0
}

#[test]
fn a_sigkill_right_after_a_heartbeat_is_answered_loses_nothing() {
    let mut host = Host::with_config(&CONFIG.replace("session_grace_s = 1", "session_grace_s = 4"));
    let aw = host.aw_base();
    create_bucket(&aw, "w", "currentwindow");
    let t0 = now().floor() - 6.0;
    let data = json!({"app": "Editor", "title": "the heartbeat before the crash"});
    for i in 0..6 {
        assert_eq!(beat(&aw, "w", t0 + f64::from(i), &data), 200);
    }
    host.kill9();
    let day = jiff::Timestamp::from_second(t0 as i64)
        .expect("time")
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let file = format!("Activity/{day}.md");
    assert!(
        headings(&read(&host, &file)).is_empty(),
        "the session was still open when the host died"
    );
    host.restart();
    let aw = host.aw_base();
    let (status, events) = call("GET", &format!("{aw}/api/0/buckets/w/events"), &[], None);
    assert_eq!(status, 200);
    assert_eq!(
        events[0]["duration"], 5.0,
        "the journal kept every answered heartbeat"
    );
    assert!(
        wait_for(30, || headings(&read(&host, &file)).len() == 1),
        "the session is written once it closes\n{}",
        host.log()
    );
    let text = read(&host, &file);
    let h = headings(&text);
    assert!(
        h[0].ends_with(" · Editor") && text.contains("- Duration: 0:05"),
        "{text}"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(headings(&read(&host, &file)).len(), 1, "and only once");
}

#[test]
fn sessions_are_written_exactly_once_across_repeated_sigkills() {
    let mut host = Host::with_config(CONFIG);
    let aw = host.aw_base();
    create_bucket(&aw, "w", "currentwindow");
    let t0 = now().floor() - 86_400.0;
    let n = 200;
    for i in 0..n {
        let data = json!({"app": "App", "title": format!("session {i:03}")});
        let t = t0 + f64::from(i) * 10.0;
        assert_eq!(beat(&aw, "w", t, &data), 200);
        assert_eq!(beat(&aw, "w", t + 1.0, &data), 200);
    }
    for k in 0..6 {
        std::thread::sleep(Duration::from_millis(150 + 70 * k));
        host.kill9();
        host.restart();
    }
    let day_of = |t: f64| {
        jiff::Timestamp::from_second(t as i64)
            .expect("time")
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date()
            .to_string()
    };
    let mut days: Vec<String> = (0..n).map(|i| day_of(t0 + f64::from(i) * 10.0)).collect();
    days.dedup();
    let titles = || -> Vec<String> {
        let mut all: Vec<String> = days
            .iter()
            .flat_map(|d| {
                read(&host, &format!("Activity/{d}.md"))
                    .lines()
                    .filter(|l| l.starts_with("**session "))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        all.sort_unstable();
        all
    };
    let expected: Vec<String> = (0..n).map(|i| format!("**session {i:03}**")).collect();
    assert!(
        wait_for(60, || titles().len() >= expected.len()),
        "every session written\n{}",
        host.log()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(titles(), expected, "each session exactly once");
}

#[test]
fn aw_servers_host_origin_and_key_rules_hold() {
    let host = Host::with_config(&CONFIG.replace(
        "session_grace_s = 1",
        "session_grace_s = 1\nrequire_key = true\nallowed_origins = [\"moz-extension://0f0e7a1c-5b8b-4b39-9d8e-5d7a9e3c1b2a\"]",
    ));
    let aw = host.aw_base();
    let bearer = format!("Bearer {KEY}");
    let auth = [("Authorization", bearer.as_str())];
    let (status, info) = call("GET", &format!("{aw}/api/0/info"), &[], None);
    assert_eq!(status, 200, "info needs no key");
    assert!(
        info["hostname"].is_string() && info["device_id"].is_string(),
        "{info}"
    );
    assert_eq!(info["testing"], false);

    let (status, body) = call("GET", &format!("{aw}/api/0/buckets/"), &[], None);
    assert_eq!(status, 401, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Bearer"))
    );
    let wrong = [("Authorization", "Bearer not-the-key")];
    assert_eq!(
        call("GET", &format!("{aw}/api/0/buckets/"), &wrong, None).0,
        401
    );
    assert_eq!(
        call("GET", &format!("{aw}/api/0/buckets/"), &auth, None).0,
        200
    );

    let evil_host = [("Host", "attacker.example:5600"), auth[0]];
    assert_eq!(
        call("GET", &format!("{aw}/api/0/buckets/"), &evil_host, None).0,
        400,
        "DNS rebinding"
    );
    let page = [("Origin", "https://attacker.example"), auth[0]];
    assert_eq!(
        call("GET", &format!("{aw}/api/0/buckets/"), &page, None).0,
        403
    );
    let firefox = [
        (
            "Origin",
            "moz-extension://0f0e7a1c-5b8b-4b39-9d8e-5d7a9e3c1b2a",
        ),
        auth[0],
    ];
    let mut req = http::Request::builder()
        .method("GET")
        .uri(format!("{aw}/api/0/buckets/"));
    for (k, v) in firefox {
        req = req.header(k, v);
    }
    let resp = agent()
        .run(req.body(()).expect("request"))
        .expect("answered");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()
            .get("access-control-allow-origin")
            .and_then(|v| v.to_str().ok()),
        Some(firefox[0].1),
        "the listed Firefox extension gets CORS headers"
    );
    let other = [
        (
            "Origin",
            "moz-extension://7d1c2b3a-0000-4000-8000-00000000beef",
        ),
        auth[0],
    ];
    assert_eq!(
        call("GET", &format!("{aw}/api/0/buckets/"), &other, None).0,
        403,
        "any other Firefox extension is a web page like any other"
    );
    assert!(
        wait_for(10, || host
            .log()
            .contains("allowed_origins = [\"moz-extension://7d1c2b3a")),
        "the refusal says what to add: {}",
        host.log()
    );

    let hb = json!({"timestamp": "2026-01-01T10:00:00Z", "data": {"app": "x"}});
    let (status, body) = call(
        "POST",
        &format!("{aw}/api/0/buckets/nope/heartbeat?pulsetime=1"),
        &auth,
        Some(&hb),
    );
    assert_eq!(
        status, 404,
        "the web extension creates its bucket on a 404: {body}"
    );
    let (status, body) = call(
        "POST",
        &format!("{aw}/api/0/buckets/nope/heartbeat"),
        &auth,
        Some(&hb),
    );
    assert_eq!(status, 400, "pulsetime is required: {body}");
    let (status, _) = call(
        "POST",
        &format!("{aw}/api/0/buckets/far"),
        &auth,
        Some(&json!({"client": "x", "type": "currentwindow", "hostname": "h"})),
    );
    assert_eq!(status, 200);
    for (ts, duration) in [
        ("2262-04-11T12:00:00Z", 0.0),
        ("1960-01-01T00:00:00Z", 0.0),
        ("2026-01-01T10:00:00Z", -1.0),
        ("2026-01-01T10:00:00Z", 1e12),
        ("2026-01-01T10:00:00Z", 1e9),
        ("2026-01-01T10:00:00Z", 7.0 * 86_400.0 + 1.0),
    ] {
        let (status, body) = call(
            "POST",
            &format!("{aw}/api/0/buckets/far/heartbeat?pulsetime=1"),
            &auth,
            Some(&json!({"timestamp": ts, "duration": duration, "data": {"app": "x"}})),
        );
        assert_eq!(status, 400, "{ts} {duration}: {body}");
    }
    let ok = json!({"timestamp": "2026-01-01T10:00:00Z", "duration": 7.0 * 86_400.0, "data": {"app": "x"}});
    let (status, body) = call(
        "POST",
        &format!("{aw}/api/0/buckets/far/heartbeat?pulsetime=86401"),
        &auth,
        Some(&ok),
    );
    assert_eq!(status, 400, "a pulsetime over a day: {body}");
    let (status, body) = call(
        "POST",
        &format!("{aw}/api/0/buckets/far/heartbeat?pulsetime=60"),
        &auth,
        Some(&ok),
    );
    assert_eq!(
        status, 200,
        "a week-long event is still a watcher's: {body}"
    );
    let (status, body) = call(
        "POST",
        &format!("{aw}/api/0/query/"),
        &auth,
        Some(&json!({})),
    );
    assert_eq!(status, 501, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("not served"))
    );
    assert_eq!(
        call("GET", &format!("{aw}/"), &auth, None).0,
        501,
        "no web UI"
    );
}

#[test]
fn a_taken_port_leaves_the_host_running_without_the_api() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let addr = taken.local_addr().expect("addr");
    let host = Host::with_config(&format!("[activitywatch]\nlisten = \"{addr}\"\n"));
    assert!(
        wait_for(20, || host.log().contains("the ActivityWatch API is off")),
        "{}",
        host.log()
    );
    let log = host.log();
    assert!(
        log.contains("aw-server") && log.contains("[activitywatch] listen"),
        "{log}"
    );
    assert_eq!(
        host.get("/healthz", None).status,
        200,
        "the rest of the host runs"
    );
    drop(taken);
}

#[test]
fn an_import_of_many_events_is_written_in_batches_and_a_refused_one_blocks_nothing() {
    let host = Host::with_config(CONFIG);
    let aw = host.aw_base();
    create_bucket(&aw, "w", "currentwindow");
    let t0 = now().floor() - 86_400.0;
    let mut events: Vec<Value> = (0..1500)
        .map(|i| {
            let ts = jiff::Timestamp::from_second(t0 as i64 + i * 2).expect("time");
            json!({"timestamp": ts.to_string(), "duration": 1.0, "data": {"app": "App", "title": format!("window {i:04}")}})
        })
        .collect();
    events.insert(
        700,
        json!({"timestamp": "2015-06-01T10:00:00Z", "duration": 5.0, "data": {"app": "Old", "title": "before the contract's bound"}}),
    );
    let (status, stored) = call(
        "POST",
        &format!("{aw}/api/0/buckets/w/events"),
        &[],
        Some(&Value::Array(events)),
    );
    assert_eq!(status, 200);
    assert_eq!(stored.as_array().map(Vec::len), Some(1501));
    let markers = || -> usize {
        crate::support::vault_files(&host.vault("default"))
            .iter()
            .filter(|(p, _)| p.starts_with("Activity/"))
            .map(|(_, t)| t.matches("<!-- openclone:entry ").count())
            .sum()
    };
    assert!(
        wait_for(60, || markers() == 1500),
        "every session written, the refused one left in the journal: {}\n{}",
        markers(),
        host.log()
    );
    assert!(
        host.log().contains("refused by the contract"),
        "the refused session is logged"
    );
}
