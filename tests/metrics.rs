//! `GET /metrics` (Prometheus text format), `GET /api/v1/stats` and `openclone vault
//! reindex`, against the real host.

use std::process::Command;

use serde_json::json;

use crate::support::{Host, KEY, install_plugin, quick_start, wait_for};

/// Parses `/metrics` with a Prometheus text-format parser; the value of `name` whose
/// labels include every pair of `labels`.
fn metric(host: &Host, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = ureq::get(format!("{}/metrics", host.base))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("valid Prometheus text format");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

#[test]
fn metrics_and_stats_move_with_ingest_and_capture() {
    let host = Host::prepared(
        "[activitywatch]\nsession_grace_s = 1\n\n[plugins.well-behaved]\ninterval_s = 3600\n",
        |dir| install_plugin(&dir.join("plugins"), "well-behaved"),
    );
    assert!(
        wait_for(60, || metric(
            &host,
            "openclone_plugin_passes_total",
            &[("plugin", "well-behaved")]
        ) == 1.0),
        "the plugin's pass is counted"
    );
    let emitted = [
        ("tenant", "default"),
        ("source_type", "braindump"),
        ("outcome", "stored"),
    ];
    assert_eq!(
        metric(&host, "openclone_events_total", &emitted),
        1.0,
        "the emitted event"
    );
    assert_eq!(
        metric(
            &host,
            "openclone_plugin_compiles_total",
            &[("plugin", "well-behaved")]
        ),
        1.0
    );

    assert_eq!(host.post(&quick_start()).status, 200);
    assert_eq!(host.post(&quick_start()).status, 200);
    assert_eq!(metric(&host, "openclone_events_total", &emitted), 2.0);
    assert_eq!(
        metric(
            &host,
            "openclone_events_total",
            &[("source_type", "braindump"), ("outcome", "skipped")]
        ),
        1.0,
        "the dedup skip"
    );
    assert_eq!(
        metric(
            &host,
            "openclone_http_requests_total",
            &[
                ("route", "/api/v1/ingest"),
                ("status", "200"),
                ("tenant", "default")
            ]
        ),
        2.0
    );
    assert_eq!(host.post_raw(Some("wrong"), b"{}").status, 401);
    assert_eq!(
        metric(
            &host,
            "openclone_http_requests_total",
            &[
                ("route", "/api/v1/ingest"),
                ("status", "401"),
                ("tenant", "-")
            ]
        ),
        1.0
    );
    assert_eq!(
        metric(
            &host,
            "openclone_ingest_duration_seconds_count",
            &[("origin", "http")]
        ),
        2.0
    );
    assert_eq!(
        metric(
            &host,
            "openclone_ingest_duration_seconds_count",
            &[("origin", "emit")]
        ),
        1.0,
        "emit goes through the same service and its latency is counted too"
    );

    let aw = host.aw_base();
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let created = agent
        .post(format!("{aw}/api/0/buckets/w"))
        .header("Content-Type", "application/json")
        .send(
            json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "h"})
                .to_string(),
        )
        .expect("created");
    assert_eq!(created.status(), 200);
    for (ts, app) in [("2024-02-18T12:00:00Z", "A"), ("2024-02-18T12:00:05Z", "B")] {
        let answered = agent
            .post(format!("{aw}/api/0/buckets/w/heartbeat?pulsetime=1"))
            .header("Content-Type", "application/json")
            .send(json!({"timestamp": ts, "duration": 0, "data": {"app": app}}).to_string())
            .expect("heartbeat");
        assert_eq!(answered.status(), 200);
    }
    let session = [
        ("tenant", "default"),
        ("source_type", "activity"),
        ("outcome", "stored"),
    ];
    assert!(
        wait_for(30, || metric(&host, "openclone_events_total", &session)
            == 1.0),
        "an ActivityWatch session is counted like any event"
    );
    assert_eq!(
        metric(
            &host,
            "openclone_ingest_duration_seconds_count",
            &[("origin", "activitywatch")]
        ),
        1.0,
        "and its latency, under its own origin"
    );

    let stats = host.get("/api/v1/stats", Some(KEY));
    assert_eq!(stats.status, 200);
    assert_eq!(stats.json["total"], 3);
    assert_eq!(
        stats.json["by_source_type"],
        json!({"braindump": 2, "activity": 1})
    );
    assert_eq!(
        stats.json["days"]["2024-02-18"],
        json!({"braindump": 2, "activity": 1})
    );
    assert_eq!(host.get("/api/v1/stats", None).status, 401);
}

#[test]
fn vault_reindex_rebuilds_the_index_from_the_markers() {
    let mut host = Host::start();
    assert_eq!(host.post(&quick_start()).json["stored"], 1);
    assert!(host.stop());
    std::fs::remove_dir_all(host.dir.path().join("data/state")).expect("drop the index");
    let out = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(["vault", "reindex"])
        .current_dir(host.dir.path())
        .env("API_KEY", KEY)
        .env_remove("OPENCLONE_DATA")
        .output()
        .expect("reindex runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success()
            && text.contains("tenant default: index rebuilt from 1 file(s), 1 entries"),
        "{text}"
    );
    host.restart();
    assert_eq!(host.post(&quick_start()).json["skipped"], 1);
}
