//! The dashboard in a real browser (`tests/dashboard/browser.py`: Debian's chromium,
//! headless, driven by Selenium through Debian's chromedriver): sign in once with the key
//! (kept in an `HttpOnly`, `SameSite=Strict` cookie), open a day, search, see the
//! highlighted matches; a screenshot is kept as `target/artefacts/dashboard.png`. The page
//! refuses a foreign `Host` or `Origin` and loads nothing from the network.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Host, KEY, agent, note};

/// The python of `target/venvs/dashboard` ([`crate::support::venv_python`]).
fn python() -> PathBuf {
    crate::support::venv_python("dashboard")
}

#[test]
fn a_person_signs_in_opens_a_day_and_searches_in_a_real_browser() {
    assert!(
        Path::new("/usr/bin/chromium").is_file() && Path::new("/usr/bin/chromedriver").is_file(),
        "this test needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run installs them)"
    );
    let host = Host::start();
    for (ts, text, r) in [
        (
            1708258800.0,
            "Quarterly plan for the <b>lighthouse</b> restoration",
            "d1",
        ),
        (
            1708260600.0,
            "Walked along the harbour wall to the lighthouse",
            "d2",
        ),
    ] {
        assert_eq!(host.post(&note(ts, text, r)).status, 200);
    }
    host.finds(KEY, "lighthouse", 2);
    let base = host.base.clone();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let shot = root.join("target/artefacts/dashboard.png");
    std::fs::create_dir_all(shot.parent().expect("folder")).expect("artefacts");
    let out = Command::new(python())
        .arg(root.join("tests/dashboard/browser.py"))
        .args([&base, KEY, "2024-02-18", "lighthouse"])
        .arg(&shot)
        .env("SE_OFFLINE", "true")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("JSON");
    assert_eq!(seen["login_form"], true, "{seen}");
    assert!(
        seen["wrong_key"]
            .as_str()
            .is_some_and(|t| t.contains("not accepted")),
        "{seen}"
    );
    assert_eq!(seen["signed_in"], true, "{seen}");
    assert_eq!(
        seen["cookies"],
        json!([{ "name": "openclone_key", "httpOnly": true, "sameSite": "Strict" }]),
        "{seen}"
    );
    assert_eq!(seen["title"], "OpenClone — 2024-02-18");
    let rows = seen["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{seen}");
    assert!(
        rows[0]
            .as_str()
            .is_some_and(|r| r.starts_with("12:20:00") && r.contains("<b>lighthouse</b>")),
        "shown as text, not markup: {seen}"
    );
    assert_eq!(seen["marks"], json!(["lighthouse", "lighthouse"]), "{seen}");
    assert_eq!(seen["plugins_table"], true);
    assert!(
        std::fs::metadata(&shot).is_ok_and(|m| m.len() > 10_000),
        "a screenshot is kept"
    );

    // A foreign Host or Origin is refused; the page loads nothing from elsewhere.
    let http = agent();
    let page = |headers: &[(&str, &str)]| {
        let mut req = http.get(format!("{base}/"));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.call().expect("answer")
    };
    assert_eq!(page(&[("Host", "evil.example")]).status().as_u16(), 421);
    let r = http
        .post(format!("{base}/login"))
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("key={KEY}").as_bytes())
        .expect("answer");
    assert_eq!(r.status().as_u16(), 403, "a foreign page cannot sign in");
    let ok = page(&[]);
    let csp = ok
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}
