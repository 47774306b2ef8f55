//! Hostile neighbours: key guessing, `/metrics` beyond loopback, bodies that hold memory,
//! and what the keyless ActivityWatch API keeps and lets out (CONTRACT.md, "Wrong keys",
//! "Bodies in memory", "Metrics", "ActivityWatch").

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Host, KEY, UNLIMITED, agent, quick_start, wait_for};

#[test]
fn wrong_keys_are_throttled_per_address_and_then_no_key_is_checked() {
    let host = Host::with_config(UNLIMITED);
    for i in 0..20 {
        let r = host.post_raw(Some(&format!("guess-{i:04}")), b"{}");
        assert_eq!(r.status, 401, "guess {i}: {}", r.json);
    }
    let r = host.post_raw(Some("guess-0020"), b"{}");
    assert_eq!(r.status, 429, "{}", r.json);
    let retry: u64 = r
        .retry_after
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("Retry-After");
    assert!((1..=10).contains(&retry), "{retry}");
    let right = host.post(&quick_start());
    assert_eq!(
        right.status, 429,
        "while throttled even the right key is not looked at: {}",
        right.json
    );
    let missing = host.get("/api/v1/stats", None);
    assert_eq!(missing.status, 429, "{}", missing.json);
    std::thread::sleep(Duration::from_secs(retry));
    // A new connection: the host may have closed the idle one while the test slept, and a
    // POST on a closed pooled connection is not retried by the client.
    let (status, body) = crate::support::call(
        "POST",
        &format!("{}/api/v1/ingest", host.base),
        &[("X-API-Key", KEY)],
        Some(&quick_start()),
    );
    assert_eq!(status, 200, "the bucket refills: {body}");
}

/// This machine's first address that is not loopback (`hostname -I`).
fn non_loopback_address() -> String {
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname runs");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .find(|a| {
            a.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .expect("this machine has an IPv4 address beside loopback")
        .to_owned()
}

/// `GET path` on `base` from a connection whose source address is `from` (a local address
/// that is not loopback: the host then sees a client from beyond loopback), with `headers`;
/// (status, body).
fn get_from(from: &str, base: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let port = base.rsplit(':').next().expect("port");
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), json!(v)))
        .collect();
    let script = format!(
        "import http.client, json, sys\nc = http.client.HTTPConnection('127.0.0.1', {port}, source_address=({from:?}, 0), timeout=20)\nh = json.loads(sys.argv[1])\nh['Host'] = '127.0.0.1:{port}'\nc.request('GET', {path:?}, headers=h)\nr = c.getresponse()\nsys.stdout.write(str(r.status) + '\\n' + r.read().decode())\n"
    );
    let out = Command::new("python3")
        .args(["-c", &script, &Value::Object(headers).to_string()])
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (status, body) = text.split_once('\n').unwrap_or(("0", ""));
    (
        status.trim().parse().unwrap_or(0),
        format!("{body}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

#[test]
fn metrics_beyond_loopback_need_a_key_and_show_only_that_tenant() {
    let other_key = "a-key-of-the-other-tenant-0123456789";
    let host = Host::prepared(
        &format!(
            "{UNLIMITED}\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n[[tenants]]\nid = \"neighbour\"\napi_key_sha256 = [\"{}\"]\n",
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(other_key.as_bytes()))
        ),
        |_| {},
    );
    assert_eq!(host.post(&quick_start()).status, 200);
    let r = host.post_raw(
        Some(other_key),
        quick_start()
            .to_string()
            .replace("my-plugin", "neighbours-plugin")
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let local = host.get("/metrics", None);
    assert_eq!(local.status, 200, "loopback needs no key");

    let from = non_loopback_address();
    let (status, body) = get_from(&from, &host.base, "/metrics", &[]);
    assert_eq!(status, 401, "beyond loopback a key is needed: {body}");
    let (status, body) = get_from(&from, &host.base, "/metrics", &[("X-API-Key", KEY)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("tenant=\"default\""), "{body}");
    assert!(
        !body.contains("neighbour"),
        "another tenant's name and counts stay hidden: {body}"
    );
    let bearer = format!("Bearer {other_key}");
    let (status, body) = get_from(
        &from,
        &host.base,
        "/metrics",
        &[("Authorization", bearer.as_str())],
    );
    assert_eq!(status, 200, "Prometheus' bearer token works too: {body}");
    assert!(
        body.contains("tenant=\"neighbour\"") && !body.contains("tenant=\"default\""),
        "{body}"
    );
}

#[test]
fn bodies_in_flight_share_one_memory_budget() {
    let host = Host::with_config(&format!("{UNLIMITED}\n[http]\nbody_memory_mib = 1\n"));
    let addr = host.base.trim_start_matches("http://").to_owned();
    let head = |len: usize| {
        format!(
            "POST /api/v1/ingest HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {KEY}\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n"
        )
    };
    let mut slow = TcpStream::connect(&addr).expect("connect");
    slow.write_all(head(700 * 1024).as_bytes()).expect("head");
    slow.write_all(b"{\"source_type\":")
        .expect("a first byte of the body");
    std::thread::sleep(Duration::from_millis(300));
    let mut second = TcpStream::connect(&addr).expect("connect");
    second.write_all(head(700 * 1024).as_bytes()).expect("head");
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut answer = vec![0u8; 4096];
    let n = second.read(&mut answer).expect("an answer before the body");
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("retry-after: 1"),
        "{answer}"
    );
    assert!(answer.contains("\"busy\""), "{answer}");
    drop(slow);
    assert!(
        wait_for(10, || host.post(&quick_start()).status == 200),
        "the budget is back once the slow body is gone"
    );
}

#[test]
fn the_activitywatch_journal_is_private_and_keeps_no_incognito_tab_or_secret() {
    let host = Host::with_config(
        "[activitywatch]\nsession_grace_s = 1\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n",
    );
    let aw = host.aw_base();
    let post = |path: &str, body: &Value| {
        let mut r = agent()
            .post(format!("{aw}{path}"))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("answered");
        (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        )
    };
    let (status, body) = post(
        "/api/0/buckets/aw-watcher-web-firefox",
        &json!({"client": "aw-client-web", "type": "web.tab.current", "hostname": "box"}),
    );
    assert_eq!(status, 200, "{body}");
    let secret_url = "https://clinic.example/results/very-private-diagnosis";
    let token = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
    let (status, body) = post(
        "/api/0/buckets/aw-watcher-web-firefox/heartbeat?pulsetime=2",
        &json!({"timestamp": "2026-01-01T10:00:00Z", "duration": 5,
            "data": {"url": secret_url, "title": "My diagnosis", "incognito": true, "audible": false}}),
    );
    assert_eq!(status, 200, "{body}");
    let stored: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        stored["data"],
        json!({"incognito": true, "audible": false}),
        "an incognito tab keeps only that it was one"
    );
    let (status, body) = post(
        "/api/0/buckets/aw-watcher-web-firefox/heartbeat?pulsetime=2",
        &json!({"timestamp": "2026-01-01T10:01:00Z", "duration": 5,
            "data": {"url": format!("https://example.org/?access_token={token}"), "title": format!("token {token}"), "incognito": false}}),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        !body.contains(token),
        "the secret is redacted before it is kept: {body}"
    );

    let state = host.dir.path().join("data/state/default");
    for name in ["activitywatch.sqlite", "activitywatch.sqlite-wal"] {
        let path = state.join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} is the owner's only: {mode:o}");
        let bytes = std::fs::read(&path).expect("journal bytes");
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("very-private-diagnosis"),
            "{name} holds the incognito URL"
        );
        assert!(!text.contains(token), "{name} holds the token");
    }
    let mode = std::fs::metadata(&state)
        .expect("state")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the state folder: {mode:o}");
}

#[test]
fn one_activitywatch_request_becomes_a_bounded_number_of_entries() {
    let host = Host::with_config(
        "[activitywatch]\nsession_grace_s = 0\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n",
    );
    let aw = host.aw_base();
    let post = |path: &str, body: &Value| {
        agent()
            .post(format!("{aw}{path}"))
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes())
            .expect("answered")
            .status()
            .as_u16()
    };
    assert_eq!(
        post(
            "/api/0/buckets/w",
            &json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "box"})
        ),
        200
    );
    let start = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * 40);
    assert_eq!(
        post(
            "/api/0/buckets/w/heartbeat?pulsetime=1",
            &json!({"timestamp": start.to_string(), "duration": 604_800.0, "data": {"app": "Old", "title": "a week"}})
        ),
        200
    );
    assert_eq!(
        post(
            "/api/0/buckets/w/heartbeat?pulsetime=1",
            &json!({"timestamp": start.to_string(), "duration": 1e9, "data": {"app": "Old", "title": "thirty years"}})
        ),
        400,
        "a duration no watcher sends is refused"
    );
    assert_eq!(
        post(
            "/api/0/buckets/w/heartbeat?pulsetime=1",
            &json!({"timestamp": jiff::Timestamp::now().to_string(), "duration": 0, "data": {"app": "New"}})
        ),
        200,
        "a newer event closes the week-long one"
    );
    let entries = || {
        crate::support::vault_files(&host.vault("default"))
            .iter()
            .map(|(_, text)| text.matches("a week").count())
            .sum::<usize>()
    };
    assert!(
        wait_for(60, || entries() >= 8),
        "the week is written, cut at each midnight\n{}",
        host.log()
    );
    std::thread::sleep(Duration::from_secs(3));
    let n = entries();
    assert!(
        (8..=9).contains(&n),
        "a 7-day event spans 8 or 9 days: {n} entries"
    );

    for i in 0..1000 {
        let status = post(
            &format!("/api/0/buckets/b{i}"),
            &json!({"client": "c", "type": "currentwindow", "hostname": "box"}),
        );
        if status == 400 {
            assert_eq!(i, 999, "the cap counts the first bucket too");
            return;
        }
        assert_eq!(status, 200, "bucket {i}");
    }
    panic!("more than 1000 buckets were accepted");
}
