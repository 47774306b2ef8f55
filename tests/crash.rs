//! Nothing acknowledged is lost, nothing is stored twice, no file keeps a torn entry
//!: SIGKILL at random moments under concurrent load with resends, over many
//! cycles; and a vault whose filesystem fills up mid-batch.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng as _;
use serde_json::json;

use crate::durability::{CLIENTS, batch_keys, load_batch, markers, markers_in};
use crate::support::{Host, KEY, UNLIMITED};

/// A batch: (client, n) of [`load_batch`].
pub(crate) type Id = (usize, usize);

/// Cycles in CI; `scripts/crash-test.sh` sets `OPENCLONE_CRASH_CYCLES=100`.
fn cycles() -> usize {
    std::env::var("OPENCLONE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

/// One cycle: CLIENTS clients, numbered after every earlier cycle's, post new batches and,
/// one request in three, resend a batch sent before (by anyone, in any cycle); the host is
/// SIGKILLed after a random 50–600 ms. Returns the batches attempted and acknowledged.
fn cycle(host: &mut Host, number: usize, earlier: &Arc<Vec<Id>>) -> (Vec<Id>, Vec<Id>) {
    load_until(host, number, earlier, false, |host| {
        let wait = rand::rng().random_range(50..600);
        std::thread::sleep(Duration::from_millis(wait));
        host.kill9();
    })
}

/// The load of [`cycle`] until `end` has stopped the host. With `storage_may_fail` (the
/// file system under the host died), a 5xx answer ends a client as a broken connection
/// does; otherwise every answer must be 200.
pub(crate) fn load_until(
    host: &mut Host,
    number: usize,
    earlier: &Arc<Vec<Id>>,
    storage_may_fail: bool,
    end: impl FnOnce(&mut Host),
) -> (Vec<Id>, Vec<Id>) {
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (base, stop, sent, earlier) = (
                host.base.clone(),
                stop.clone(),
                sent.clone(),
                earlier.clone(),
            );
            std::thread::spawn(move || {
                let client = number * CLIENTS + c;
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(20)))
                    .build()
                    .into();
                let mut rng = rand::rng();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = if !earlier.is_empty() && rng.random_ratio(1, 3) {
                        earlier[rng.random_range(0..earlier.len())]
                    } else {
                        n += 1;
                        (client, n - 1)
                    };
                    sent.lock().expect("lock").0.push(id);
                    let body = load_batch(id.0, id.1).to_string();
                    match agent
                        .post(format!("{base}/api/v1/ingest"))
                        .header("X-API-Key", KEY)
                        .send(body.as_bytes())
                    {
                        Ok(r) if r.status() == 200 => sent.lock().expect("lock").1.push(id),
                        Ok(r) if storage_may_fail && r.status().is_server_error() => break,
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    end(host);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().expect("client thread");
    }
    let mut guard = sent.lock().expect("lock");
    (std::mem::take(&mut guard.0), std::mem::take(&mut guard.1))
}

#[test]
fn sigkill_cycles_under_load_lose_nothing_and_store_nothing_twice() {
    let mut host = Host::with_config(UNLIMITED);
    let (mut attempted, mut acked): (Vec<Id>, HashSet<Id>) = (Vec::new(), HashSet::new());
    let cycles = cycles();
    for number in 0..cycles {
        if number > 0 {
            host.restart();
        }
        let (tried, ok) = cycle(&mut host, number, &Arc::new(attempted.clone()));
        attempted.extend(tried);
        acked.extend(ok);
        host.restart();
        let counts = markers(&host);
        for &(c, n) in &acked {
            for k in batch_keys(c, n) {
                assert_eq!(
                    counts.get(&k),
                    Some(&1),
                    "cycle {number}: acknowledged batch c{c}-b{n} is in the vault exactly once"
                );
            }
        }
        host.kill9();
    }
    host.restart();
    let unique: HashSet<Id> = attempted.iter().copied().collect();
    for &(c, n) in &unique {
        let r = host.post(&load_batch(c, n));
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let counts = markers(&host);
    let expected: HashSet<String> = unique.iter().flat_map(|&(c, n)| batch_keys(c, n)).collect();
    let missing = expected.iter().filter(|k| !counts.contains_key(*k)).count();
    let twice = counts.values().filter(|&&n| n > 1).count();
    println!(
        "crash test: {cycles} SIGKILL cycles, {} batches sent ({} unique, {} acknowledged), {} events: {missing} missing, {twice} duplicated, 0 torn",
        attempted.len(),
        unique.len(),
        acked.len(),
        expected.len()
    );
    assert_eq!((missing, twice), (0, 0));
    assert_eq!(counts.len(), expected.len(), "nothing else in the vault");
}

/// A small filesystem of its own for the vault: a tmpfs of 256 KiB mounted in a new mount
/// namespace (`unshare`, as an unprivileged user namespace allows), which the host is then
/// `exec`ed into. The test reaches it through `/proc/<pid>/root`.
const TMPFS: [&str; 4] = ["unshare", "-Urm", "sh", "-c"];
const MOUNT_THEN_EXEC: &str = "mount -t tmpfs -o size=256k tmpfs vaultfs && exec \"$0\" \"$@\"";

fn disk_batch(n: usize) -> serde_json::Value {
    let events: Vec<_> = (0..20)
        .map(|i| {
            json!({"timestamp": 1_708_258_800.0 + (n * 20 + i) as f64,
                   "data": {"text": format!("batch {n} event {i} {}", "words ".repeat(80))},
                   "raw_ref": format!("d{n}-{i}")})
        })
        .collect();
    crate::support::batch("braindump", events)
}

#[test]
fn a_full_disk_answers_500_leaves_no_torn_entry_and_a_retry_stores_each_event_once() {
    let config = format!(
        "{UNLIMITED}[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\nvault = \"vaultfs\"\n"
    );
    let mut wrapper = TMPFS.to_vec();
    wrapper.push(MOUNT_THEN_EXEC);
    let host = Host::wrapped(
        &config,
        |dir| std::fs::create_dir(dir.join("vaultfs")).expect("mount point"),
        &wrapper,
    );
    let vault = std::path::PathBuf::from(format!("/proc/{}/root", host.pid()))
        .join(host.dir.path().strip_prefix("/").expect("absolute"))
        .join("vaultfs");
    std::fs::write(vault.join("filler.bin"), vec![0u8; 200 * 1024]).expect("fill the disk");

    let mut statuses = Vec::new();
    for n in 0..40 {
        let r = host.post(&disk_batch(n));
        statuses.push(r.status);
        if r.status == 500 {
            assert_eq!(r.json["error"], "storage_failed", "{}", r.json);
            break;
        }
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let failed_at = statuses.len() - 1;
    assert!(
        failed_at > 0 && statuses[failed_at] == 500,
        "some batches fit, then the disk was full: {statuses:?}"
    );
    let counts = markers_in(&vault);
    assert_eq!(
        counts.len(),
        failed_at * 20,
        "every acknowledged event and nothing of the failed batch"
    );

    std::fs::remove_file(vault.join("filler.bin")).expect("free the disk");
    for n in 0..=failed_at {
        let r = host.post(&disk_batch(n));
        assert_eq!(r.status, 200, "{}", r.json);
        let (stored, skipped) = (r.json["stored"].as_u64(), r.json["skipped"].as_u64());
        if n < failed_at {
            assert_eq!((stored, skipped), (Some(0), Some(20)), "batch {n}");
        } else {
            assert_eq!((stored, skipped), (Some(20), Some(0)), "the failed batch");
        }
    }
    let counts = markers_in(&vault);
    assert_eq!(counts.len(), (failed_at + 1) * 20);
    assert!(counts.values().all(|&n| n == 1), "no event twice");
}
