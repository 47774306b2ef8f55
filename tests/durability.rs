//! Nothing acknowledged is lost (CONTRACT.md): restarts, a lost index, SIGKILL under load.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::{Host, KEY, UNLIMITED, marker_keys, quick_start, structure, vault_files};

#[test]
fn dedup_survives_restart_and_a_deleted_index() {
    let mut host = Host::start();
    let mut no_ref = quick_start();
    no_ref["events"][0]
        .as_object_mut()
        .map(|o| o.remove("raw_ref"));
    no_ref["events"][0]["data"]["text"] = json!("no raw_ref: keyed by time and content");
    assert_eq!(host.post(&quick_start()).json["stored"], 1);
    assert_eq!(host.post(&no_ref).json["stored"], 1);

    assert!(host.stop(), "SIGTERM exits cleanly");
    host.restart();
    assert_eq!(
        host.post(&quick_start()).json["skipped"],
        1,
        "skipped after a restart"
    );
    assert_eq!(host.post(&no_ref).json["skipped"], 1);

    assert!(host.stop());
    std::fs::remove_dir_all(host.dir.path().join("data/state")).expect("delete the dedup index");
    host.restart();
    assert_eq!(
        host.post(&quick_start()).json["skipped"],
        1,
        "index rebuilt from the vault's markers"
    );
    assert_eq!(host.post(&no_ref).json["skipped"], 1);
    let text = host.read("default", "Braindump/2024-02-18.md");
    assert_eq!(marker_keys(&text).len(), 2);
}

pub(crate) const CLIENTS: usize = 4;
pub(crate) const EVENTS: usize = 40;

/// Batch `n` of client `client`: EVENTS unique events, braindump or journal by parity.
pub(crate) fn load_batch(client: usize, n: usize) -> Value {
    let events: Vec<Value> = (0..EVENTS)
        .map(|i| {
            let seq = (n * EVENTS + i) as f64;
            json!({
                "timestamp": 1_708_258_800.0 + seq * 977.0 + client as f64,
                "data": {"text": format!("client {client} batch {n} event {i}\nsecond line")},
                "raw_ref": format!("c{client}-b{n}-e{i}"),
            })
        })
        .collect();
    json!({
        "source_type": if n.is_multiple_of(2) { "braindump" } else { "journal" },
        "platform": "linux", "device_id": format!("load-{client}"), "plugin_id": "load-test",
        "plugin_version": "1.0.0", "timestamp": 1_708_258_800.0, "events": events,
    })
}

/// The dedup key of a load-test event.
pub(crate) fn key(source_type: &str, raw_ref: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{source_type}\0load-test\0{raw_ref}").as_bytes(),
    ))
}

/// Runs CLIENTS concurrent clients against `host` for `for_ms`, then calls `end` on the
/// host (a kill or a stop) and returns, per client, (batches attempted, batches acknowledged).
fn load_then(
    host: &mut Host,
    for_ms: u64,
    end: impl FnOnce(&mut Host),
) -> Vec<(usize, Vec<usize>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let base = host.base.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(20)))
                    .build()
                    .into();
                let (mut attempted, mut acked) = (0usize, Vec::new());
                for n in 0..5000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    attempted = n + 1;
                    let body = load_batch(c, n).to_string();
                    match agent
                        .post(format!("{base}/api/v1/ingest"))
                        .header("X-API-Key", KEY)
                        .send(body.as_bytes())
                    {
                        Ok(r) if r.status() == 200 => acked.push(n),
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => break,
                    }
                }
                (attempted, acked)
            })
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(for_ms) {
        std::thread::sleep(Duration::from_millis(20));
    }
    end(host);
    stop.store(true, Ordering::Relaxed);
    let results: Vec<(usize, Vec<usize>)> = workers
        .into_iter()
        .map(|w| w.join().expect("client thread"))
        .collect();
    assert!(
        results.iter().any(|(_, a)| !a.is_empty()),
        "the load ran before the end"
    );
    results
}

/// How often each dedup key stands in the vault; checks every file's structure on the way:
/// one front matter, and as many entry headings and HTML blocks as markers (no torn entry).
pub(crate) fn markers(host: &Host) -> HashMap<String, usize> {
    markers_in(&host.vault("default"))
}

/// [`markers`] of the vault at `root`.
pub(crate) fn markers_in(root: &std::path::Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for (path, text) in vault_files(root) {
        let s = structure(&text);
        let keys = marker_keys(&text);
        assert_eq!(s.front_matter, 1, "{path}");
        assert_eq!(
            s.h2,
            keys.len(),
            "{path}: every entry heading has its marker (no torn entry)"
        );
        assert_eq!(s.html_blocks.len(), keys.len(), "{path}");
        for k in keys {
            *counts.entry(k).or_insert(0) += 1;
        }
    }
    counts
}

/// The dedup keys of [`load_batch`]`(client, n)`.
pub(crate) fn batch_keys(client: usize, n: usize) -> Vec<String> {
    let st = if n.is_multiple_of(2) {
        "braindump"
    } else {
        "journal"
    };
    (0..EVENTS)
        .map(|i| key(st, &format!("c{client}-b{n}-e{i}")))
        .collect()
}

/// Every acknowledged event is in the vault exactly once.
fn assert_acked_once(results: &[(usize, Vec<usize>)], counts: &HashMap<String, usize>) {
    for (c, (_, acked)) in results.iter().enumerate() {
        for &n in acked {
            for k in batch_keys(c, n) {
                assert_eq!(
                    counts.get(&k),
                    Some(&1),
                    "acknowledged event of batch c{c}-b{n} is in the vault exactly once"
                );
            }
        }
    }
}

#[test]
fn sigkill_under_concurrent_load_loses_nothing_acknowledged() {
    let mut host = Host::with_config(UNLIMITED);
    let results = load_then(&mut host, 1500, Host::kill9);
    host.restart();
    assert_acked_once(&results, &markers(&host));

    for (c, (attempted, _)) in results.iter().enumerate() {
        for n in 0..*attempted {
            let r = host.post(&load_batch(c, n));
            assert_eq!(r.status, 200, "{}", r.json);
        }
    }
    let after_resend = markers(&host);
    let sent: usize = results.iter().map(|(a, _)| a * EVENTS).sum();
    assert_eq!(
        after_resend.len(),
        sent,
        "every sent event is in the vault after the resend"
    );
    assert!(
        after_resend.values().all(|&n| n == 1),
        "no event is in the vault twice"
    );
}

#[test]
fn sigterm_under_load_finishes_in_flight_batches_and_exits_cleanly() {
    let mut host = Host::with_config(UNLIMITED);
    let mut clean = false;
    let results = load_then(&mut host, 800, |h| clean = h.stop());
    assert!(clean, "SIGTERM under load exits with success");
    assert_acked_once(&results, &markers(&host));
}
