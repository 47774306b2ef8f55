//! Ingest: 500-event batches through the pipeline directly and over HTTP on 127.0.0.1
//! with concurrent keep-alive clients, durable writes (fsync) throughout.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openclone_host::app::App;
use openclone_ingest::config::Config;
use openclone_vault::{Rules, validate_body};
use serde_json::json;

const EVENTS: usize = 500;
/// Batches generated ahead per client, so the timed loop only sends.
const BATCHES_PER_CLIENT: usize = 400;
const KEY: &str = "bench-key";

/// A unique 500-event batch (`seq` makes every raw_ref new, so nothing is skipped).
fn batch(client: usize, seq: usize) -> Bytes {
    let events: Vec<_> = (0..EVENTS)
        .map(|i| {
            json!({
                "timestamp": 1_708_258_800.0 + (seq * EVENTS + i) as f64 * 7.0,
                "data": {"text": format!("We discussed the product roadmap for Q2, item {i} of batch {seq}."), "duration": 60, "app_name": "Google Meet", "confidence": 0.95},
                "raw_ref": format!("c{client}-s{seq}-e{i}"),
            })
        })
        .collect();
    let body = json!({"source_type": "audio_system", "platform": "linux", "device_id": "bench-device", "plugin_id": "bench", "plugin_version": "1.0.0", "timestamp": 1_708_258_800.0, "events": events});
    Bytes::from(body.to_string())
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

fn report(
    name: &str,
    batches: usize,
    elapsed: Duration,
    lat: &mut [Duration],
    bytes: usize,
) -> f64 {
    lat.sort_unstable();
    let events = batches * EVENTS;
    println!(
        "| {name} | {events} | {:.0} | {:.1} | {:.1} | {:.1} |",
        events as f64 / elapsed.as_secs_f64(),
        bytes as f64 / elapsed.as_secs_f64() / 1e6,
        percentile(lat, 0.5),
        percentile(lat, 0.99),
    );
    events as f64 / elapsed.as_secs_f64()
}

/// Rows for the pipeline called directly from `threads` threads; returns events/s.
pub fn direct(seconds: u64, threads: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_app_with_hash(dir.path());
    let vault = &app.vaults[0];
    let bodies: Vec<Vec<Bytes>> = (0..threads)
        .map(|t| (0..BATCHES_PER_CLIENT).map(|n| batch(t, n)).collect())
        .collect();
    let done = AtomicUsize::new(0);
    let bytes = AtomicUsize::new(0);
    let start = Instant::now();
    let lats: Vec<Vec<Duration>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (done, bytes) = (&done, &bytes);
                let bodies = &bodies[t];
                s.spawn(move || {
                    let mut lat = Vec::new();
                    for body in bodies {
                        if start.elapsed() >= Duration::from_secs(seconds) {
                            break;
                        }
                        let t0 = Instant::now();
                        let rules = Rules::contract(2e9);
                        let b = validate_body(body, &rules).expect("valid");
                        vault.ingest(b).expect("stored");
                        lat.push(t0.elapsed());
                        done.fetch_add(1, Ordering::Relaxed);
                        bytes.fetch_add(body.len(), Ordering::Relaxed);
                    }
                    lat
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let elapsed = start.elapsed();
    let mut all: Vec<Duration> = lats.into_iter().flatten().collect();
    report(
        &format!("pipeline, {threads} thread(s)"),
        done.into_inner(),
        elapsed,
        &mut all,
        bytes.into_inner(),
    )
}

/// The row for one thread that validates and prepares batches and keeps `in_flight` of
/// them queued at the writer (as a server with that many clients does), so its work
/// overlaps the writer's appends and fsyncs; returns events/s.
pub fn direct_pipelined(seconds: u64, in_flight: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_app_with_hash(dir.path());
    let vault = &app.vaults[0];
    let bodies: Vec<Bytes> = (0..BATCHES_PER_CLIENT * 4).map(|n| batch(0, n)).collect();
    let (tx, rx) = std::sync::mpsc::channel::<Duration>();
    let rules = Rules::contract(2e9);
    let (mut queued, mut lat, mut bytes) = (0, Vec::new(), 0);
    let start = Instant::now();
    for body in &bodies {
        if start.elapsed() >= Duration::from_secs(seconds) {
            break;
        }
        if queued == in_flight {
            lat.push(rx.recv().expect("answer"));
            queued -= 1;
        }
        let t0 = Instant::now();
        let b = validate_body(body, &rules).expect("valid");
        let tx = tx.clone();
        vault.submit(
            vault.prepare(b),
            Box::new(move |r| {
                r.expect("stored");
                let _ = tx.send(t0.elapsed());
            }),
        );
        queued += 1;
        bytes += body.len();
    }
    for _ in 0..queued {
        lat.push(rx.recv().expect("answer"));
    }
    let elapsed = start.elapsed();
    report(
        &format!("pipeline, 1 thread, {in_flight} batches in flight"),
        lat.len(),
        elapsed,
        &mut lat,
        bytes,
    )
}

/// An app with one tenant `bench` keyed by [`KEY`] and no rate limit, in `dir`.
pub fn open_app_with_hash(dir: &std::path::Path) -> Arc<App> {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(Sha256::digest(KEY.as_bytes()));
    let cfg = Config::parse(
        &format!("[ingest]\nrate_burst = 1000000\nrate_per_s = 1000000.0\n[[tenants]]\nid = \"bench\"\napi_key_sha256 = [\"{hash}\"]\n"),
        dir,
        "bench",
    )
    .expect("config");
    Arc::new(App::open(&cfg).expect("app"))
}

/// Rows for HTTP with `clients` keep-alive clients; returns events/s.
pub fn over_http(seconds: u64, clients: usize) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = open_app_with_hash(dir.path());
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = server_rt.spawn(openclone_host::http::serve(app, listener, None, async {
        let _ = stop_rx.await;
    }));
    let bodies: Vec<Vec<Bytes>> = (0..clients)
        .map(|c| (0..BATCHES_PER_CLIENT).map(|n| batch(c + 100, n)).collect())
        .collect();
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (batches, bytes, elapsed, mut lat) = client_rt.block_on(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let start = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|bodies| {
                let client = client.clone();
                tokio::spawn(async move {
                    let (mut n, mut bytes, mut lat) = (0usize, 0usize, Vec::new());
                    for body in bodies {
                        if start.elapsed() >= Duration::from_secs(seconds) {
                            break;
                        }
                        bytes += body.len();
                        let req = hyper::Request::post(format!("http://{addr}/api/v1/ingest"))
                            .header("content-type", "application/json")
                            .header("x-api-key", KEY)
                            .body(Full::new(body))
                            .expect("request");
                        let t0 = Instant::now();
                        let resp = client.request(req).await.expect("response");
                        let status = resp.status();
                        let _ = resp.into_body().collect().await;
                        assert_eq!(status, 200);
                        lat.push(t0.elapsed());
                        n += 1;
                    }
                    (n, bytes, lat)
                })
            })
            .collect();
        let (mut batches, mut bytes, mut lat) = (0, 0, Vec::new());
        for t in tasks {
            let (n, b, l) = t.await.expect("client task");
            batches += n;
            bytes += b;
            lat.extend(l);
        }
        (batches, bytes, start.elapsed(), lat)
    });
    let rate = report(
        &format!("HTTP, {clients} clients"),
        batches,
        elapsed,
        &mut lat,
        bytes,
    );
    let _ = stop_tx.send(());
    let _ = server_rt.block_on(server);
    rate
}
