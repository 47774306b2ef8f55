//! ActivityWatch's API: heartbeats answered per second (each synced before its answer) with
//! concurrent watchers on keep-alive connections, and the resident memory the API adds
//! (its listener, journal and session writer) once 10 buckets each have an open event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use openclone_host::app::App;
use openclone_ingest::config::Config;
use serde_json::json;

use crate::shelf::rss_kb;

/// Prints the heartbeat row for `watchers` concurrent watchers over `seconds`, and the
/// memory row.
pub fn run(seconds: u64, watchers: usize) {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let cfg = Config::parse(
        &format!("[activitywatch]\nlisten = \"127.0.0.1:{port}\"\n[[tenants]]\nid = \"bench\"\napi_key_sha256 = [\"{}\"]\n", "0".repeat(64)),
        dir.path(),
        "bench",
    )
    .expect("config");
    let app = Arc::new(App::open(&cfg).expect("app"));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let before = rss_kb();
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let server = server_rt.spawn(openclone_host::activitywatch::serve(app.clone(), stopping));
    let base = format!("http://127.0.0.1:{port}/api/0");
    let client_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (count, elapsed, mut lat, after) = client_rt.block_on(async move {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let send = move |path: String, body: serde_json::Value| {
            let client = client.clone();
            async move {
                let req = hyper::Request::post(path)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))
                    .expect("request");
                let resp = client.request(req).await.expect("response");
                let status = resp.status();
                let _ = resp.into_body().collect().await;
                status
            }
        };
        for _ in 0..100 {
            let up = send(format!("{base}/buckets/probe"), json!({"client": "b", "type": "x", "hostname": "h"}));
            if tokio::time::timeout(Duration::from_millis(200), up).await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for w in 0..watchers.max(10) {
            let status = send(
                format!("{base}/buckets/w{w}"),
                json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "bench"}),
            )
            .await;
            assert!(status.is_success(), "{status}");
            let status = send(
                format!("{base}/buckets/w{w}/heartbeat?pulsetime=2"),
                json!({"timestamp": "2025-11-22T08:00:00Z", "duration": 0, "data": {"app": "Firefox"}}),
            )
            .await;
            assert!(status.is_success(), "{status}");
        }
        let open = rss_kb();
        let t0 = 1_763_800_000.0_f64;
        let start = Instant::now();
        let tasks: Vec<_> = (0..watchers)
            .map(|w| {
                let send = send.clone();
                let base = base.clone();
                tokio::spawn(async move {
                    let (mut n, mut lat) = (0u64, Vec::new());
                    while start.elapsed() < Duration::from_secs(seconds) {
                        let ts = jiff::Timestamp::from_millisecond(((t0 + n as f64) * 1000.0) as i64).expect("time");
                        let title = format!("window {}", n / 10);
                        let body = json!({"timestamp": ts.to_string(), "duration": 0, "data": {"app": "Firefox", "title": title}});
                        let t = Instant::now();
                        let status = send(format!("{base}/buckets/w{w}/heartbeat?pulsetime=2"), body).await;
                        assert!(status.is_success(), "{status}");
                        lat.push(t.elapsed());
                        n += 1;
                    }
                    (n, lat)
                })
            })
            .collect();
        let (mut count, mut lat) = (0, Vec::new());
        for t in tasks {
            let (n, l) = t.await.expect("watcher");
            count += n;
            lat.extend(l);
        }
        (count, start.elapsed(), lat, open)
    });
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0;
    println!();
    println!("| ActivityWatch API | heartbeats | heartbeats/s | p50 ms | p99 ms | added RSS |");
    println!("|---|---|---|---|---|---|");
    println!(
        "| {watchers} watchers, synced before each answer, a new event every 10 | {count} | {:.0} | {:.2} | {:.2} | {:.1} MiB ({} open buckets) |",
        count as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
        after.saturating_sub(before) as f64 / 1024.0,
        watchers.max(10)
    );
    let _ = stop.send(true);
    let _ = server_rt.block_on(server);
    app.close();
}
