//! Beyond one machine (issue 23; CONTRACT.md "Beyond one machine"): three nats-server
//! nodes, frontends and writers of the real binary, clients posting with resends; nodes,
//! writers and frontends killed with `kill -9` under load, a writer killed between its
//! answer and its ack, a node stopped with SIGSTOP. Every acknowledged batch must be in the
//! vault exactly once, with no torn entry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::crash::Id;
use crate::durability::{CLIENTS, batch_keys, load_batch, markers_in};
use crate::support::nats::{Nats, get_json};
use crate::support::{Host, KEY, UNLIMITED, agent, openclone, wait_for};

/// Cycles of the kill test in CI; `OPENCLONE_CLUSTER_CYCLES=20` for the long run.
fn cycles() -> usize {
    std::env::var("OPENCLONE_CLUSTER_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

/// `[nats]` for every role: short leases and ack waits so the tests run in seconds.
fn nats_table(urls: &str, monitors: &str, replicas: usize) -> String {
    format!(
        "[nats]\nurls = [{urls}]\nmonitor = [{monitors}]\nreplicas = {replicas}\npartitions = 4\nlease_ttl_s = 3\nack_wait_s = 4\nreply_timeout_s = 5\n"
    )
}

/// A writer whose data folder (vaults, dedup indexes) is `shared`.
fn writer(shared: &std::path::Path, nats: &str, env: &[&str]) -> Host {
    let config = format!("data_dir = {:?}\n{nats}", shared.display().to_string());
    let mut wrapper: Vec<&str> = Vec::new();
    if !env.is_empty() {
        wrapper.push("env");
        wrapper.extend_from_slice(env);
    }
    wrapper.extend_from_slice(&["sh", "-c", "exec \"$0\" \"$@\" --role writer"]);
    Host::wrapped(&config, |_| {}, &wrapper)
}

/// A frontend with its own folder (plugin state, keys), the rate limit lifted.
fn frontend(nats: &str) -> Host {
    Host::wrapped(
        &format!("{UNLIMITED}{nats}"),
        |_| {},
        &["sh", "-c", "exec \"$0\" \"$@\" --role frontend"],
    )
}

/// The partitions a writer's `/healthz` says it holds now (empty when it does not answer).
fn held(base: &str) -> Vec<u64> {
    get_json(&format!("{base}/healthz"), 2)
        .and_then(|v| {
            v["partitions"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_u64).collect())
        })
        .unwrap_or_default()
}

/// Clients posting to whichever frontends are in `bases`, each request one in three a
/// resend of a batch sent before; records what was attempted and what was answered 200.
struct Load {
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
    sent: Arc<Mutex<(Vec<Id>, Vec<Id>)>>,
}

impl Load {
    fn start(bases: Arc<Mutex<Vec<String>>>, first_client: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(Mutex::new((Vec::new(), Vec::new())));
        let workers = (0..CLIENTS)
            .map(|c| {
                let (bases, stop, sent) = (bases.clone(), stop.clone(), sent.clone());
                std::thread::spawn(move || {
                    let client = first_client + c;
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .timeout_global(Some(Duration::from_secs(15)))
                        .build()
                        .into();
                    let (mut requests, mut n) = (0usize, 0usize);
                    while !stop.load(Ordering::Relaxed) {
                        requests += 1;
                        let id = {
                            let mut s = sent.lock().expect("lock");
                            if requests % 3 == 0 && !s.0.is_empty() {
                                s.0[(requests * 7919) % s.0.len()]
                            } else {
                                n += 1;
                                s.0.push((client, n));
                                (client, n)
                            }
                        };
                        let base = {
                            let b = bases.lock().expect("lock");
                            b[(client + requests) % b.len()].clone()
                        };
                        let body = cluster_batch(id.0, id.1).to_string();
                        let answer = agent
                            .post(format!("{base}/api/v1/ingest"))
                            .header("X-API-Key", KEY)
                            .header("Content-Type", "application/json")
                            .send(body.as_bytes());
                        match answer {
                            Ok(r) if r.status() == 200 => sent.lock().expect("lock").1.push(id),
                            Ok(mut r) => {
                                let status = r.status().as_u16();
                                let text = r.body_mut().read_to_string().unwrap_or_default();
                                assert!(
                                    matches!(status, 503 | 500),
                                    "only 503 (no writer in time) or 500 (a failed publish), got {status}: {text}"
                                );
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(200)),
                        }
                    }
                })
            })
            .collect();
        Self {
            stop,
            workers,
            sent,
        }
    }

    /// Stops the clients; (attempted, acknowledged).
    fn finish(self) -> (Vec<Id>, Vec<Id>) {
        self.stop.store(true, Ordering::Relaxed);
        for w in self.workers {
            w.join().expect("a client thread");
        }
        let s = self.sent.lock().expect("lock");
        (s.0.clone(), s.1.clone())
    }
}

/// [`load_batch`] with its timestamps folded into 600 days from 2024-02-18, so a client
/// that sends thousands of batches (fast failures while a frontend is down) never reaches
/// the future; the keys come from `raw_ref` and do not change.
fn cluster_batch(client: usize, n: usize) -> Value {
    let mut b = load_batch(client, n);
    for e in b["events"].as_array_mut().into_iter().flatten() {
        let t = e["timestamp"].as_f64().unwrap_or(0.0) - 1_708_258_800.0;
        e["timestamp"] = Value::from(1_708_258_800.0 + t % (600.0 * 86_400.0));
    }
    b
}

/// Sends every batch of `ids` again until each is answered 200 (the cluster has settled).
fn resend_all(base: &str, ids: &[Id]) {
    let agent = agent();
    for &(c, n) in ids {
        let body = cluster_batch(c, n).to_string();
        let ok = wait_for(90, || {
            agent
                .post(format!("{base}/api/v1/ingest"))
                .header("X-API-Key", KEY)
                .header("Content-Type", "application/json")
                .send(body.as_bytes())
                .is_ok_and(|r| r.status() == 200)
        });
        assert!(ok, "batch ({c}, {n}) is taken once the cluster has settled");
    }
}

/// Every key of every batch in `ids` is in `counts` exactly once.
fn assert_once(ids: &[Id], counts: &HashMap<String, usize>, what: &str) {
    for &(c, n) in ids {
        for k in batch_keys(c, n) {
            assert_eq!(
                counts.get(&k).copied().unwrap_or(0),
                1,
                "{what}: event {k} of batch ({c}, {n}) is in the vault exactly once"
            );
        }
    }
}

#[test]
fn kill_9_of_the_stream_leader_a_writer_and_a_frontend_loses_nothing_acknowledged() {
    let mut nats = Nats::start(3);
    let table = nats_table(&nats.urls_toml(), &nats.monitors_toml(), 3);
    let shared = tempfile::tempdir().expect("shared vault folder");
    let mut writers = [
        writer(shared.path(), &table, &[]),
        writer(shared.path(), &table, &[]),
    ];
    let mut frontends = [frontend(&table), frontend(&table)];
    let bases = Arc::new(Mutex::new(
        frontends.iter().map(|f| f.base.clone()).collect::<Vec<_>>(),
    ));
    assert!(
        wait_for(30, || {
            writers.iter().map(|w| held(&w.base).len()).sum::<usize>() == 4
        }),
        "the writers hold the 4 partitions between them"
    );
    let (mut attempted, mut acked) = (Vec::new(), Vec::new());
    for cycle in 0..cycles() {
        let load = Load::start(bases.clone(), cycle * CLIENTS);
        std::thread::sleep(Duration::from_millis(1500));
        let leader = nats.leader("OPENCLONE").unwrap_or(cycle % 3);
        nats.kill9(leader);
        std::thread::sleep(Duration::from_millis(1500));
        nats.restart(leader);
        let w = (0..2)
            .find(|&i| !held(&writers[i].base).is_empty())
            .unwrap_or(cycle % 2);
        writers[w].kill9();
        std::thread::sleep(Duration::from_millis(1000));
        writers[w].restart();
        let f = cycle % 2;
        frontends[f].kill9();
        std::thread::sleep(Duration::from_millis(500));
        frontends[f].restart();
        bases.lock().expect("lock")[f] = frontends[f].base.clone();
        std::thread::sleep(Duration::from_millis(1500));
        let (a, k) = load.finish();
        assert!(
            !k.is_empty(),
            "cycle {cycle}: some batches were acknowledged"
        );
        eprintln!(
            "cluster cycle {cycle}: {} new batches sent, {} answers 200 (resends included)",
            a.len(),
            k.len()
        );
        attempted.extend(a);
        acked.extend(k);
    }
    let counts = markers_in(&shared.path().join("vaults/default"));
    assert_once(&acked, &counts, "acknowledged before the final resend");
    resend_all(&frontends[0].base, &attempted);
    let counts = markers_in(&shared.path().join("vaults/default"));
    assert_once(&attempted, &counts, "after resending everything ever sent");
    assert_eq!(
        counts.len(),
        {
            let mut ids = attempted.clone();
            ids.sort_unstable();
            ids.dedup();
            ids.len() * crate::durability::EVENTS
        },
        "nothing in the vault that was not sent"
    );
}

#[test]
fn a_writer_killed_between_its_answer_and_its_ack_is_skipped_by_dedup_not_stored_twice() {
    let nats = Nats::start(1);
    let table = nats_table(&nats.urls_toml(), &nats.monitors_toml(), 1);
    let shared = tempfile::tempdir().expect("shared vault folder");
    let mut first = writer(
        shared.path(),
        &table,
        &["OPENCLONE_CLUSTER_FAULT=exit-before-ack"],
    );
    let front = frontend(&table);
    assert!(wait_for(30, || held(&first.base).len() == 4));
    let batch = load_batch(900, 1);
    let r = front.post(&batch);
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["stored"], crate::durability::EVENTS);
    assert!(!first.wait_exit(), "the writer died before its ack");
    assert!(first.log().contains("exit-before-ack"), "{}", first.log());

    // The partition moves to a writer on another folder that has only a copy of the
    // vault (no dedup index): the index is rebuilt from the vault's markers.
    let moved = tempfile::tempdir().expect("the new writer's folder");
    let copied = std::process::Command::new("cp")
        .arg("-a")
        .arg(shared.path().join("vaults"))
        .arg(moved.path())
        .status()
        .is_ok_and(|s| s.success());
    assert!(copied, "cp -a the vaults");
    let second = writer(moved.path(), &table, &[]);
    assert!(
        wait_for(30, || held(&second.base).len() == 4),
        "the second writer takes the partitions once the dead one's leases expire"
    );
    let again = front.post(&batch);
    assert_eq!(again.status, 200, "{}", again.json);
    assert_eq!(again.json["stored"], 0, "{}", again.json);
    assert_eq!(again.json["skipped"], crate::durability::EVENTS);
    let started = Instant::now();
    assert!(
        wait_for(30, || {
            // Two messages (the batch, and the resend's copy) and one redelivery.
            let (pending, ack_pending, deliveries) = nats.backlog("OPENCLONE");
            pending == 0 && ack_pending == 0 && deliveries >= 3
        }),
        "JetStream delivered the unacknowledged batch again and the writer acked it: {:?}",
        nats.backlog("OPENCLONE")
    );
    eprintln!("redelivered and acked after {:?}", started.elapsed());
    let counts = markers_in(&moved.path().join("vaults/default"));
    assert_once(&[(900, 1)], &counts, "after the redelivery");
    assert_eq!(counts.len(), crate::durability::EVENTS);
}

#[test]
fn a_node_stopped_by_sigstop_never_gives_one_partition_two_writers() {
    let nats = Nats::start(3);
    let only = |i: usize| nats_table(&format!("{:?}", nats.url(i)), &nats.monitors_toml(), 3);
    let shared = tempfile::tempdir().expect("shared vault folder");
    let a = writer(shared.path(), &only(0), &[]);
    assert!(
        wait_for(30, || held(&a.base).len() == 4),
        "writer A takes every partition"
    );
    let b = writer(shared.path(), &only(1), &[]);
    let front = frontend(&only(2));
    let bases = Arc::new(Mutex::new(vec![front.base.clone()]));

    let overlap = Arc::new(Mutex::new(Vec::new()));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (ab, bb, overlap, watching) = (
            a.base.clone(),
            b.base.clone(),
            overlap.clone(),
            watching.clone(),
        );
        std::thread::spawn(move || {
            while watching.load(Ordering::Relaxed) {
                let (ha, hb) = (held(&ab), held(&bb));
                let both: Vec<u64> = ha.iter().filter(|p| hb.contains(p)).copied().collect();
                if !both.is_empty() {
                    overlap.lock().expect("lock").push(both);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let load = Load::start(bases, 700);
    std::thread::sleep(Duration::from_secs(1));
    nats.signal(0, "STOP");
    let took = wait_for(40, || held(&b.base).len() == 4);
    std::thread::sleep(Duration::from_secs(2));
    nats.signal(0, "CONT");
    assert!(
        took,
        "writer B takes the partitions while A's node is stopped"
    );
    assert!(
        wait_for(20, || held(&a.base).is_empty()),
        "writer A, its node back, holds nothing: {:?}",
        held(&a.base)
    );
    std::thread::sleep(Duration::from_secs(1));
    let (attempted, acked) = load.finish();
    watching.store(false, Ordering::Relaxed);
    watcher.join().expect("the watcher");
    assert!(
        overlap.lock().expect("lock").is_empty(),
        "no partition was held by both writers at once: {:?}",
        overlap.lock().expect("lock")
    );
    assert!(!acked.is_empty());
    let counts = markers_in(&shared.path().join("vaults/default"));
    assert_once(&acked, &counts, "acknowledged during the split");
    resend_all(&front.base, &attempted);
    let counts = markers_in(&shared.path().join("vaults/default"));
    assert_once(&attempted, &counts, "after resending everything");
}

#[test]
fn a_writer_refuses_a_jetstream_that_acknowledges_before_its_fsync() {
    let nats = Nats::start_with(1, false);
    let table = nats_table(&nats.urls_toml(), &nats.monitors_toml(), 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("openclone.toml");
    std::fs::write(&config, &table).expect("config");
    let config = config.display().to_string();
    let (ok, _, err) = openclone(
        dir.path(),
        &[
            "serve",
            "--role",
            "writer",
            "--listen",
            "127.0.0.1:0",
            "--config",
            &config,
        ],
    );
    assert!(!ok, "the writer refuses to start");
    assert!(
        err.contains("acknowledges JetStream writes before its fsync")
            && err.contains("sync_interval: always")
            && err.contains("--accept-async-sync"),
        "{err}"
    );
    let (ok, out, _) = openclone(dir.path(), &["doctor", "--config", &config]);
    assert!(!ok, "doctor fails\n{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL  nats") && l.contains("before its fsync")),
        "{out}"
    );
    let told = Host::wrapped(
        &table,
        |_| {},
        &[
            "sh",
            "-c",
            "exec \"$0\" \"$@\" --role writer --accept-async-sync",
        ],
    );
    assert!(
        wait_for(30, || held(&told.base).len() == 4),
        "with --accept-async-sync it runs"
    );
    assert!(
        told.log().contains("--accept-async-sync"),
        "it says so in its log"
    );

    let synced = Nats::start(1);
    let table = nats_table(&synced.urls_toml(), &synced.monitors_toml(), 1);
    std::fs::write(dir.path().join("openclone.toml"), &table).expect("config");
    let (_, out, _) = openclone(dir.path(), &["doctor", "--config", &config]);
    assert!(
        out.contains("ok    nats: server n0 syncs every JetStream write"),
        "{out}"
    );
    assert!(out.contains("ok    nats: stream OPENCLONE"), "{out}");
}

#[test]
fn a_writer_applies_retention_to_the_vaults_it_takes() {
    let nats = Nats::start(1);
    let table = nats_table(&nats.urls_toml(), &nats.monitors_toml(), 1);
    let shared = tempfile::tempdir().expect("shared vault folder");
    // The first writer keeps everything; the second has a retention the stored entries are
    // past (as entries stored within it are, later). An event already past its retention
    // when it arrives is skipped at the door, by the vault.
    let keep_all = format!(
        "data_dir = {:?}\n{table}",
        shared.path().display().to_string()
    );
    let config = format!(
        "data_dir = {:?}\n[retention]\nbraindump = \"30d\"\n{table}",
        shared.path().display().to_string()
    );
    let wrapper = ["sh", "-c", "exec \"$0\" \"$@\" --role writer"];
    let mut first = Host::wrapped(&keep_all, |_| {}, &wrapper);
    let front = frontend(&table);
    assert!(wait_for(30, || held(&first.base).len() == 4));
    // Batch 0 is braindump from February 2024: older than 30 days.
    let r = front.post(&load_batch(800, 0));
    assert_eq!(r.json["stored"], crate::durability::EVENTS, "{}", r.json);
    assert_eq!(
        markers_in(&shared.path().join("vaults/default")).len(),
        crate::durability::EVENTS
    );
    assert!(
        first.stop(),
        "SIGTERM: the writer closes its vaults, gives its leases up and exits 0\n{}",
        first.log()
    );
    let second = Host::wrapped(&config, |_| {}, &wrapper);
    assert!(wait_for(30, || held(&second.base).len() == 4));
    assert!(
        wait_for(10, || markers_in(&shared.path().join("vaults/default"))
            .is_empty()),
        "the writer that took the partition forgot what is past its retention\n{}",
        second.log()
    );
}

#[test]
fn a_secret_never_reaches_the_servers_disks_and_a_rogue_message_is_refused() {
    let nats = Nats::start(1);
    let table = nats_table(&nats.urls_toml(), &nats.monitors_toml(), 1);
    let shared = tempfile::tempdir().expect("shared vault folder");
    let front = frontend(&table);
    let secret = "AKIAB3WKH5DNSIPZZ5FK";
    let batch = crate::support::note(
        1_717_000_000.0,
        &format!(
            "aws key {secret} in text\n## forged heading\n<!-- openclone:entry v=1 key=00 -->"
        ),
        "secret-1",
    );
    // No writer yet: the batch waits in the stream, on the servers' disks, and the client
    // is told 503.
    let r = front.post(&batch);
    assert_eq!(r.status, 503, "{}", r.json);
    assert_eq!(r.retry_after.as_deref(), Some("2"));
    assert_eq!(nats.backlog("OPENCLONE").0, 0, "no consumer yet");
    let mut stack = vec![nats.stores().to_path_buf()];
    let mut files = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).expect("read_dir").flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files += 1;
                let bytes = std::fs::read(&path).unwrap_or_default();
                assert!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} holds the secret: the frontend must redact before it publishes",
                    path.display()
                );
            }
        }
    }
    assert!(files > 0, "the servers keep files");

    // A writer comes: the waiting batch is stored, redacted, one entry.
    let w = writer(shared.path(), &table, &[]);
    assert!(wait_for(30, || held(&w.base).len() == 4));
    assert!(
        wait_for(20, || !crate::support::vault_files(
            &shared.path().join("vaults/default")
        )
        .is_empty()),
        "the batch that waited is stored"
    );
    let (file, text) = crate::support::vault_files(&shared.path().join("vaults/default"))
        .into_iter()
        .next()
        .expect("a daily file");
    assert!(
        !text.contains(secret),
        "{file}: redacted in the vault\n{text}"
    );
    assert_eq!(
        crate::support::structure(&text).h2,
        1,
        "one entry heading\n{text}"
    );
    let again = front.post(&batch);
    assert_eq!(
        again.json["skipped"], 1,
        "the client's resend is skipped: {}",
        again.json
    );

    // Rogue messages on the stream's subjects, as any client of the servers could send:
    // not JSON, a batch on another tenant's partition, a tenant no writer keeps.
    let p = (0..4)
        .find(|p| !nats_subject_is("default", *p))
        .expect("a partition that is not default's");
    nats.publish_raw("openclone.batch.default.0", b"not json at all");
    nats.publish_raw(
        &format!("openclone.batch.default.{p}"),
        br#"{"keys":[],"batch":{"events":[]}}"#,
    );
    let r = front.post(&load_batch(901, 0));
    assert_eq!(
        r.json["stored"],
        crate::durability::EVENTS,
        "the writer still takes batches"
    );
    assert!(
        wait_for(20, || {
            let (pending, ack_pending, _) = nats.backlog("OPENCLONE");
            pending == 0 && ack_pending == 0
        }),
        "the rogue messages were refused and acked, not delivered forever: {:?}",
        nats.backlog("OPENCLONE")
    );
}

/// Whether tenant `tenant` lives in partition `p` of 4 (the writer's rule, from its
/// definition in CONTRACT.md: sha256 of the id, first 8 bytes big-endian, modulo 4).
fn nats_subject_is(tenant: &str, p: u64) -> bool {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(tenant.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first) % 4 == p
}
