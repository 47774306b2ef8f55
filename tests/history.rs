//! History import: a tenant's `accept_since` lowers the contract's 2020-01-01
//! bound for HTTP and `emit` alike, and `openclone capture --since` imports what plugins
//! held back.

use serde_json::json;

use crate::support::{Host, batch, capture, fixtures, install_plugin, openclone, vault_files};

/// A 2015 braindump event.
fn old_batch() -> serde_json::Value {
    batch(
        "braindump",
        vec![
            json!({"timestamp": 1_434_000_000.0, "data": {"text": "a 2015 thought"}, "raw_ref": "old-1"}),
        ],
    )
}

#[test]
fn accept_since_lowers_the_bound_for_its_tenant_only() {
    let host = Host::with_config(&format!(
        "[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\naccept_since = \"2010-01-01\"\n\n[[tenants]]\nid = \"strict\"\napi_key_sha256 = [\"{}\"]\n",
        hex_sha256("strict-tenant-key-0123")
    ));
    let r = host.post(&old_batch());
    assert_eq!(r.status, 200, "{}", r.json);
    assert!(
        host.read("default", "Braindump/2015-06-11.md")
            .contains("a 2015 thought"),
        "the old event is in its day's file"
    );
    let r = host.post_raw(
        Some("strict-tenant-key-0123"),
        old_batch().to_string().as_bytes(),
    );
    assert_eq!(r.status, 422, "the other tenant keeps the contract's bound");
    assert_eq!(r.json["details"][0]["field"], "events[0].timestamp");
    assert!(
        r.json["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("before 2020-01-01")),
        "{}",
        r.json
    );

    let too_old = batch(
        "braindump",
        vec![json!({"timestamp": 1_000_000_000.0, "data": {"text": "2001"}, "raw_ref": "older"})],
    );
    let r = host.post(&too_old);
    assert_eq!(r.status, 422);
    assert!(
        r.json["details"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("2010-01-01") && m.contains("accept_since")),
        "the message names the tenant's bound: {}",
        r.json
    );
}

#[test]
fn a_bad_accept_since_is_a_config_error_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("openclone.toml"),
        "[[tenants]]\nid = \"default\"\naccept_since = \"2030-01-01\"\n",
    )
    .expect("config");
    let (ok, out, err) = openclone(dir.path(), &["doctor"]);
    assert!(!ok);
    assert!(
        format!("{out}{err}").contains("tenants[0].accept_since: must be a YYYY-MM-DD date"),
        "{out}{err}"
    );
}

#[test]
fn capture_since_imports_what_plugins_held_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gpx = dir.path().join("gpx");
    std::fs::create_dir_all(&gpx).expect("gpx");
    std::fs::copy(
        fixtures().join("gpx/garmin-activity.gpx"),
        gpx.join("garmin-activity.gpx"),
    )
    .expect("fixture");
    let g = gpx.display().to_string();
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[plugins.gps-gpx]\npaths = [{g:?}]\n"),
    )
    .expect("config");
    install_plugin(&dir.path().join("plugins"), "gps-gpx");
    let vault = dir.path().join("data/vaults/default");

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert!(
        vault_files(&vault).is_empty(),
        "a 2017 track is held back by default\n{out}"
    );

    let (ok, out) = capture(
        dir.path(),
        &["--plugin", "gps-gpx", "--since", "2010-01-01"],
    );
    assert!(ok, "{out}");
    let files = vault_files(&vault);
    assert_eq!(
        files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["Location/2017-07-29.md"],
        "the held-back track is imported\n{out}"
    );
    let summary = out
        .lines()
        .find(|l| l.starts_with("history import since 2010-01-01: "))
        .unwrap_or_else(|| panic!("a summary line\n{out}"));
    assert!(!summary.contains(": 0 event"), "{summary}");

    let (ok, out) = capture(
        dir.path(),
        &["--plugin", "gps-gpx", "--since", "2010-01-01"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("history import since 2010-01-01: 0 event(s) stored"),
        "an import run twice stores nothing new\n{out}"
    );
    let (ok, out) = capture(dir.path(), &["--since", "not-a-date"]);
    assert!(!ok, "{out}");
}

#[test]
fn capture_since_imports_a_2019_calendar() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ics = dir.path().join("calendars");
    std::fs::create_dir_all(&ics).expect("calendars");
    std::fs::copy(
        fixtures().join("ics-history/team-2019.ics"),
        ics.join("team-2019.ics"),
    )
    .expect("fixture");
    let c = ics.display().to_string();
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[plugins.calendar-ics]\npaths = [{c:?}]\n"),
    )
    .expect("config");
    install_plugin(&dir.path().join("plugins"), "calendar-ics");
    let vault = dir.path().join("data/vaults/default");

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert!(
        vault_files(&vault).is_empty(),
        "2019 is held back by default\n{out}"
    );

    let (ok, out) = capture(dir.path(), &["--since", "2019-01-01"]);
    assert!(ok, "{out}");
    let files = vault_files(&vault);
    assert_eq!(
        files.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        [
            "Calendar/2019-01-14.md",
            "Calendar/2019-06-28.md",
            "Calendar/2019-12-24.md"
        ],
        "the plugin's own `from` is set by --since, so its 30-day window does not hide them\n{out}"
    );
    let kickoff = &files[0].1;
    assert!(
        kickoff.contains("Project kickoff") && kickoff.contains("Room 4.12"),
        "{kickoff}"
    );
    assert!(
        files[1].1.contains("## 14:00:00 · calendar-ics"),
        "16:00 Berlin is 14:00 UTC: {}",
        files[1].1
    );
}

/// Hex SHA-256 of `key`.
fn hex_sha256(key: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(key.as_bytes()))
}

#[test]
fn emit_honours_accept_since_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(&mail).expect("mail");
    std::fs::copy(fixtures().join("email/issue-70.eml"), mail.join("old.eml")).expect("eml");
    let m = mail.display().to_string();
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\naccept_since = \"2015-01-01\"\n\n[plugins.email-headers]\nenabled = true\npaths = [{m:?}]\n"),
    )
    .expect("config");
    install_plugin(&dir.path().join("plugins"), "email-headers");
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    let files = vault_files(&dir.path().join("data/vaults/default"));
    assert!(
        files.iter().any(|(p, _)| p.starts_with("Email/2018-")),
        "a 2018 message is emitted and accepted under the tenant's bound: {files:?}\n{out}"
    );
}
