//! net-http end to end: real components reaching a real HTTP origin on
//! 127.0.0.1 through `wasi:http`, only where `plugin.json` and `openclone.toml` both allow.

use serde_json::Value;

use crate::support::origin::Origin;
use crate::support::{Host, capture, fixtures, install_plugin, openclone, stored_of, wait_for};

/// A folder with the net-probe plugin (its plugin.json requests `127.0.0.1` and
/// `localhost`, any port) and `[plugins.net-probe]` set to `settings`.
fn probe(settings: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    install_plugin(&dir.path().join("plugins"), "net-probe");
    let config = format!(
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n[plugins.net-probe]\ninterval_s = 3600\n{settings}\n"
    );
    std::fs::write(dir.path().join("openclone.toml"), config).expect("config");
    dir
}

fn braindump(dir: &std::path::Path) -> String {
    let folder = dir.join("data/vaults/default/Braindump");
    std::fs::read_dir(&folder)
        .map(|entries| {
            entries
                .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_host_in_both_lists_is_reached() {
    let origin = Origin::start(&[("/hello", b"hello from the origin")]);
    let dir = probe(&format!(
        "allowed_hosts = [\"127.0.0.1:{p}\"]\nurls = [\"{u}\"]",
        p = origin.port,
        u = origin.url("/hello")
    ));
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert!(
        braindump(dir.path()).contains("hello from the origin"),
        "{out}\n{}",
        braindump(dir.path())
    );
    assert_eq!(origin.seen().len(), 1);
}

#[test]
fn hosts_missing_from_either_list_ip_literals_and_names_resolving_to_loopback_are_denied() {
    let origin = Origin::start(&[("/x", b"secret")]);
    let p = origin.port;
    let cases = [
        (
            // granted in openclone.toml, not requested by plugin.json
            format!(
                "allowed_hosts = [\"127.0.0.1:{p}\", \"example.org\"]\nurls = [\"http://example.org/x\"]"
            ),
            "not requested in the plugin's plugin.json",
        ),
        (
            // requested by plugin.json, not granted
            format!("allowed_hosts = [\"127.0.0.1:{p}\"]\nurls = [\"http://localhost:{p}/x\"]"),
            "not granted in [plugins.net-probe] allowed_hosts",
        ),
        (
            // an IP literal the config does not name
            format!("allowed_hosts = [\"localhost:{p}\"]\nurls = [\"http://127.0.0.1:{p}/x\"]"),
            "an IP literal not granted",
        ),
        (
            // a granted name that resolves to 127.0.0.1, which the config does not name
            format!("allowed_hosts = [\"localhost:{p}\"]\nurls = [\"http://localhost:{p}/x\"]"),
            "a loopback address",
        ),
    ];
    for (settings, why) in cases {
        let dir = probe(&settings);
        let (ok, out) = capture(dir.path(), &[]);
        assert!(!ok, "the only URL was denied, so the pass fails: {out}");
        assert!(
            out.contains("HTTP-request-denied") && out.contains(why),
            "{settings}: the status names the reason ({why}):\n{out}"
        );
        let log = std::fs::read_to_string(dir.path().join("host.log")).unwrap_or_default();
        assert!(
            log.contains("net-http request denied") && log.contains(why),
            "{settings}: the host log names the reason:\n{log}"
        );
        assert!(braindump(dir.path()).is_empty());
    }
    assert!(origin.seen().is_empty(), "no request reached the origin");
}

#[test]
fn the_response_cap_and_the_requests_per_pass_limit_hold() {
    let big = vec![b'x'; 64 * 1024];
    let origin = Origin::start(&[("/big", &big), ("/a", b"a"), ("/b", b"b")]);
    let p = origin.port;
    let dir = probe(&format!(
        "allowed_hosts = [\"127.0.0.1:{p}\"]\nhttp_max_response_bytes = 1000\nhttp_requests_per_pass = 2\nurls = [\"{}\", \"{}\", \"{}\"]",
        origin.url("/a"),
        origin.url("/big"),
        origin.url("/b"),
    ));
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "one URL succeeded: {out}");
    assert!(out.contains("HTTP-response-body-size"), "{out}");
    assert!(
        out.contains("past 2 requests in one pass (http_requests_per_pass)"),
        "{out}"
    );
    assert_eq!(origin.seen().len(), 2, "the third request was never sent");
}

#[test]
fn a_denied_plugin_shows_it_in_its_status_and_the_host_keeps_serving() {
    let origin = Origin::start(&[("/x", b"x")]);
    let p = origin.port;
    let config = format!(
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n[plugins.net-probe]\ninterval_s = 3600\nallowed_hosts = [\"localhost:{p}\"]\nurls = [\"http://localhost:{p}/x\", \"http://127.0.0.1:{p}/x\"]\n"
    );
    let host = Host::prepared(&config, |dir| {
        install_plugin(&dir.join("plugins"), "net-probe");
    });
    let status = || -> Value {
        host.get("/api/v1/plugins", Some(crate::support::KEY)).json["plugins"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == "net-probe").cloned())
            .unwrap_or_default()
    };
    assert!(
        wait_for(30, || status()["last_error"].is_string()),
        "{}",
        host.log()
    );
    let s = status();
    let err = s["last_error"].as_str().unwrap_or_default();
    assert!(
        err.contains("HTTP-request-denied") && err.contains("IP literal"),
        "{s}"
    );
    assert_eq!(
        host.get("/healthz", None).status,
        200,
        "the host keeps running"
    );
    assert!(origin.seen().is_empty());
}

#[test]
fn calendar_ics_subscribes_to_a_url_and_an_unchanged_etag_stores_nothing() {
    let ics = std::fs::read(fixtures().join("ics/sabre_test.ics")).expect("ics fixture");
    let origin = Origin::start(&[("/work.ics", &ics)]);
    let dir = tempfile::tempdir().expect("tempdir");
    install_plugin(&dir.path().join("plugins"), "calendar-ics");
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!(
            "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n[plugins.calendar-ics]\nfrom = \"2020-01-01\"\nurls = [\"{}\"]\nallowed_hosts = [\"127.0.0.1:{}\"]\n",
            origin.url("/work.ics"),
            origin.port
        ),
    )
    .expect("config");
    let (ok, first) = capture(dir.path(), &[]);
    assert!(ok, "{first}");
    assert!(
        stored_of(&first, "calendar-ics").is_some_and(|n| n > 0),
        "{first}"
    );
    let day = std::fs::read_to_string(
        dir.path()
            .join("data/vaults/default/Calendar/2020-12-23.md"),
    )
    .expect("Calendar/2020-12-23.md");
    assert!(day.contains("**Geschenke einpacken**"), "{day}");
    let (ok, second) = capture(dir.path(), &[]);
    assert!(ok, "{second}");
    assert_eq!(stored_of(&second, "calendar-ics"), Some(0), "{second}");
    let seen = origin.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.iter().all(|s| s.path == "/work.ics"), "{seen:?}");
    assert_eq!(seen[0].if_none_match, None);
    assert!(
        seen[1].if_none_match.is_some() && seen[1].status == 304,
        "the second pass asks conditionally and gets 304: {seen:?}"
    );
    let (ok, inspect, _) = openclone(dir.path(), &["plugins", "inspect", "calendar-ics"]);
    assert!(ok, "{inspect}");
    assert!(
        inspect.contains(&format!("net-http: granted — 127.0.0.1:{}", origin.port))
            && inspect.contains("fs-read: requested, NOT granted"),
        "inspect shows the network grant next to the folder grants:\n{inspect}"
    );
}

#[test]
fn a_stalled_origin_times_out_and_a_streamed_body_past_the_cap_is_cut() {
    let origin = Origin::start(&[("/ok", b"fine")]);
    let p = origin.port;
    let dir = probe(&format!(
        "allowed_hosts = [\"127.0.0.1:{p}\"]\nhttp_timeout_s = 2\nhttp_max_response_bytes = 100000\nurls = [\"{}\", \"{}\", \"{}\"]",
        origin.url("/stall"),
        origin.url("/stream"),
        origin.url("/ok"),
    ));
    let started = std::time::Instant::now();
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "the third URL succeeded: {out}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the stalled request ended at http_timeout_s, not the origin's minute: {out}"
    );
    assert!(
        out.contains("/stall: no response in time (HTTP-response-timeout)"),
        "{out}"
    );
    assert!(
        out.contains(
            "/stream: reading the body failed: HTTP response body size exceeds limit: 100000 bytes"
        ),
        "{out}"
    );
    assert!(
        !out.contains("backtrace"),
        "no host backtrace reaches the plugin: {out}"
    );
    assert!(braindump(dir.path()).contains("fine"));
}

#[test]
fn a_python_plugin_reaches_a_granted_host_and_is_denied_the_rest() {
    let origin = Origin::start(&[("/hello", b"hello, python")]);
    let p = origin.port;
    let dir = tempfile::tempdir().expect("tempdir");
    install_plugin(&dir.path().join("plugins"), "net-probe-python");
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!(
            "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\n\n[plugins.net-probe-python]\nallowed_hosts = [\"127.0.0.1:{p}\"]\nurls = [\"{}\", \"http://localhost:{p}/hello\"]\n",
            origin.url("/hello")
        ),
    )
    .expect("config");
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "one URL succeeded: {out}");
    assert!(
        out.contains("HTTP-request-denied")
            && out.contains("not granted in [plugins.net-probe-python] allowed_hosts"),
        "{out}"
    );
    assert!(braindump(dir.path()).contains("hello, python"), "{out}");
    assert_eq!(
        origin.seen().len(),
        1,
        "only the granted request left the host"
    );
}
