//! Private by default: no secret or mail body in the vault, no web page can reach
//! the host, nothing captured makes Obsidian load or run anything, no one else on the
//! machine can read the vault, configuration cannot mix people's data, floods are cut.

use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::support::{Host, KEY, batch, install_plugin, openclone, vault_files, wait_for};

fn ev(i: u32, data: Value) -> Value {
    json!({"timestamp": 1708258800.0 + f64::from(i), "data": data, "raw_ref": format!("p-{i}")})
}

#[test]
fn secrets_and_mail_bodies_never_reach_the_vault() {
    let host = Host::start();
    let lines = [
        "export DB_PASSWORD=hunter2",
        "mysql -u root -phunter3",
        "curl https://bob:hunter4@example.com/x",
    ];
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| ev(i as u32, json!({"text": l})))
        .collect();
    assert_eq!(host.post(&batch("braindump", events)).status, 200);
    let shell: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            ev(
                10 + i as u32,
                json!({"app_name": "zsh", "title": l, "category": "shell"}),
            )
        })
        .collect();
    assert_eq!(host.post(&batch("activity", shell)).status, 200);
    let mail = batch(
        "email",
        vec![ev(
            20,
            json!({"Subject": "Lunch", "From": "ann@example.com", "Body": "FULL BODY TEXT",
                   "content": "SECOND BODY", "headers": {"body": "NESTED BODY"},
                   "attachments": [{"name": "a.pdf", "size": 3, "data": "JVBERi0="}]}),
        )],
    );
    assert_eq!(host.post(&mail).status, 200);

    let all: String = vault_files(&host.vault("default"))
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    for secret in ["hunter2", "hunter3", "hunter4", "BODY", "JVBERi0="] {
        assert!(!all.contains(secret), "{secret} reached the vault:\n{all}");
    }
    for kept in [
        "DB_PASSWORD=[REDACTED:password]",
        "-p[REDACTED:password]",
        "https://bob:[REDACTED:url_password]@example.com/x",
        "Lunch",
        "a.pdf",
    ] {
        assert!(all.contains(kept), "{kept} missing:\n{all}");
    }
    assert!(
        host.log()
            .contains("dropped e-mail fields that are not headers"),
        "{}",
        host.log()
    );
}

#[test]
fn captured_text_makes_obsidian_load_or_run_nothing() {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let host = Host::start();
    let hostile = "see ![](https://tracker.example/p.png) ![[Private note]] ![x][r]\n\n[r]: https://tracker.example/r.png\n\ntotal `= this.file.size` and `$= dv.pages().length` and <img src=https://t.example/i.png>";
    let posts = [
        batch("braindump", vec![ev(0, json!({"text": hostile}))]),
        batch(
            "notes",
            vec![ev(
                1,
                json!({"title": hostile, "text": hostile, "tags": [hostile]}),
            )],
        ),
        batch(
            "web_browsing",
            vec![ev(
                2,
                json!({"url": "https://example.com", "title": hostile}),
            )],
        ),
        batch(
            "screen_ocr",
            vec![ev(3, json!({"text": hostile, "app_name": hostile}))],
        ),
    ];
    for p in &posts {
        let r = host.post(p);
        assert_eq!(r.status, 200, "{}", r.json);
    }
    let files = vault_files(&host.vault("default"));
    assert_eq!(files.len(), 4);
    for (path, text) in files {
        assert!(
            !text.contains("!["),
            "{path}: an image or embed opener survived:\n{text}"
        );
        for event in Parser::new_ext(&text, Options::all()) {
            match event {
                Event::Start(Tag::Image { .. }) => panic!("{path}: an image node:\n{text}"),
                Event::Html(h) | Event::InlineHtml(h) if !h.starts_with("<!-- openclone:entry") => {
                    panic!("{path}: raw HTML {h:?}:\n{text}")
                }
                Event::Code(c)
                    if c.trim_start().starts_with('=') || c.trim_start().starts_with("$=") =>
                {
                    panic!("{path}: a Dataview inline query {c:?}:\n{text}")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_web_page_cannot_reach_the_host() {
    let host = Host::with_config(
        "[http]\nallowed_hosts = [\"memory.lan\"]\nallowed_origins = [\"https://dash.example\"]\n",
    );
    let port = host.base.rsplit(':').next().expect("port").to_owned();
    let call = |path: &str, headers: &[(&str, &str)]| {
        let mut args = vec![
            "-s".to_owned(),
            "-o".into(),
            "/dev/null".into(),
            "-D".into(),
            "-".into(),
        ];
        for (k, v) in headers {
            args.push("-H".into());
            args.push(format!("{k}: {v}"));
        }
        args.push(format!("{}{path}", host.base));
        let out = Command::new("curl")
            .args(&args)
            .output()
            .expect("curl runs");
        String::from_utf8_lossy(&out.stdout).to_ascii_lowercase()
    };
    let status = |head: &str| {
        head.split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    let rebound = format!("attacker.example:{port}");
    assert_eq!(status(&call("/metrics", &[("Host", &rebound)])), "421");
    assert_eq!(
        status(&call(
            "/api/v1/stats",
            &[("Host", &rebound), ("X-API-Key", KEY)]
        )),
        "421"
    );
    assert_eq!(
        status(&call(
            "/metrics",
            &[("Host", &format!("memory.lan:{port}"))]
        )),
        "200"
    );
    assert_eq!(
        status(&call("/metrics", &[("Host", &format!("localhost:{port}"))])),
        "200"
    );
    let evil = call(
        "/api/v1/stats",
        &[("X-API-Key", KEY), ("Origin", "https://evil.example")],
    );
    assert_eq!(status(&evil), "403", "{evil}");
    let plain = call("/api/v1/stats", &[("X-API-Key", KEY)]);
    assert!(
        !plain.contains("access-control"),
        "no CORS header unless configured: {plain}"
    );
    let dash = call(
        "/api/v1/stats",
        &[("X-API-Key", KEY), ("Origin", "https://dash.example")],
    );
    assert!(
        dash.contains("access-control-allow-origin: https://dash.example"),
        "{dash}"
    );
}

#[test]
fn no_one_else_on_the_machine_can_read_the_vault() {
    let host = Host::start();
    assert_eq!(host.post(&crate::support::quick_start()).status, 200);
    let data = host.dir.path().join("data");
    let mode = |rel: &str| {
        std::fs::metadata(data.join(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    for dir in [
        "",
        "vaults",
        "vaults/default",
        "vaults/default/Braindump",
        "state/default",
        "state/default/index",
    ] {
        assert_eq!(mode(dir), 0o700, "{dir}/");
    }
    for file in [
        "vaults/default/Braindump/2024-02-18.md",
        "state/default/index/manifest.json",
        "state/default/plugin-state.sqlite",
        "state/default/search.sqlite",
        "state/default/appends.journal",
        "device-id",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    let vault = host.vault("default");
    std::fs::set_permissions(&vault, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (ok, out, _) = openclone(host.dir.path(), &["doctor"]);
    assert!(!ok, "doctor fails on a vault others can read: {out}");
    assert!(
        out.contains("can be read by other users") && out.contains("chmod -R go-rwx"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("shorter than 16 characters")),
        "doctor fails the quick-start key: {out}"
    );
}

#[test]
fn configuration_that_would_mix_people_is_refused() {
    let refuse = |config: &str, listen: &str, words: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("openclone.toml"), config).expect("config");
        let out = Command::new("timeout")
            .args([
                "20",
                env!("CARGO_BIN_EXE_openclone"),
                "serve",
                "--listen",
                listen,
            ])
            .current_dir(dir.path())
            .env("API_KEY", KEY)
            .env_remove("OPENCLONE_DATA")
            .output()
            .expect("serve runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(words),
            "{config}\n{err}"
        );
    };
    refuse(
        "[[tenants]]\nid = \"ann\"\napi_key_env = \"API_KEY\"\n[[tenants]]\nid = \"bob\"\napi_key_env = \"API_KEY\"\n",
        "127.0.0.1:0",
        "accept the same API key",
    );
    refuse(
        "[[tenants]]\nid = \"ann\"\nvault = \"vaults/shared\"\n[[tenants]]\nid = \"bob\"\nvault = \"vaults/shared/bob\"\n",
        "127.0.0.1:0",
        "share vault folders",
    );
    refuse("", "0.0.0.0:0", "openclone init --tls");

    let host = Host::prepared("", |dir| {
        install_plugin(&dir.join("plugins"), "well-behaved");
        std::fs::rename(dir.join("plugins/well-behaved"), dir.join("plugins/aaa"))
            .expect("rename the folder");
    });
    let listing = host.get("/api/v1/plugins", Some(KEY)).json;
    assert!(
        listing
            .to_string()
            .contains("differs from its folder's name"),
        "{listing:#}"
    );
    assert!(
        host.log().contains("shorter than 16 characters"),
        "the quick-start key works, with a warning:\n{}",
        host.log()
    );
}

#[test]
fn a_phone_on_the_lan_posts_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ok, out, err) = openclone(dir.path(), &["init", "--tls"]);
    assert!(ok, "{out}{err}");
    let key = out
        .lines()
        .skip_while(|l| !l.starts_with("Your API key"))
        .map(str::trim)
        .find(|l| l.len() > 20 && !l.contains(' '))
        .expect("the key is printed")
        .to_owned();
    assert!(
        out.lines()
            .any(|l| l.trim().len() == 95 && l.trim().split(':').count() == 32),
        "the SHA-256 fingerprint is printed:\n{out}"
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_openclone"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let base = std::io::BufRead::lines(std::io::BufReader::new(stdout))
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("openclone: listening on ")
                .map(str::to_owned)
        })
        .expect("address");
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let url = base.replace("127.0.0.1", "localhost") + "/api/v1/ingest";
    let script = r#"
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="data/tls/cert.pem")
body = json.dumps({"source_type": "braindump", "platform": "android", "device_id": "phone",
    "plugin_id": "phone", "plugin_version": "1.0.0", "timestamp": 1708258800.0,
    "events": [{"timestamp": 1708258800.0, "data": {"text": "over TLS"}, "raw_ref": "t1"}]}).encode()
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/json", "X-API-Key": sys.argv[2]})
print(urllib.request.urlopen(req, context=ctx).read().decode())
"#;
    let posted = Command::new("python3")
        .args(["-c", script, &url, &key])
        .current_dir(dir.path())
        .output()
        .expect("python3 runs");
    let _ = child.kill();
    let _ = child.wait();
    let answer = String::from_utf8_lossy(&posted.stdout);
    assert!(
        answer.contains("\"stored\":1"),
        "{answer}{}",
        String::from_utf8_lossy(&posted.stderr)
    );
}

#[test]
fn floods_are_cut_and_the_pass_goes_on() {
    let host = Host::prepared(
        "[plugins.hostile-state-flood]\nstate_max_total_bytes = 65536\nmax_failures = 1\n",
        |dir| {
            for id in [
                "hostile-log-flood",
                "hostile-stdout-flood",
                "hostile-state-flood",
            ] {
                install_plugin(&dir.join("plugins"), id);
            }
        },
    );
    let listing = || host.get("/api/v1/plugins", Some(KEY)).json["plugins"].clone();
    let field = |id: &str, f: &str| {
        listing()
            .as_array()
            .and_then(|a| a.iter().find(|p| p["id"] == id).cloned())
            .map(|p| p[f].clone())
            .unwrap_or(Value::Null)
    };
    assert!(wait_for(60, || field("hostile-state-flood", "status") == "error"));
    assert!(
        field("hostile-state-flood", "last_error")
            .to_string()
            .contains("state_max_total_bytes"),
        "{:#}",
        listing()
    );
    assert!(wait_for(30, || {
        let text: String = vault_files(&host.vault("default"))
            .into_iter()
            .map(|(_, t)| t)
            .collect();
        text.contains("log-flood survived") && text.contains("stdout-flood survived")
    }));
    assert!(
        wait_for(20, || host.log().contains("dropped_bytes")),
        "the stdout flood's pass ends with a note of what was dropped"
    );
    let log = host.log();
    let flood_lines = log
        .lines()
        .filter(|l| l.contains("plugin=hostile-log-flood") && l.contains("flood line"))
        .count();
    assert!(
        flood_lines <= 120,
        "{flood_lines} lines of a 10,000-line flood"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("plugin=hostile-log-flood") && l.contains("suppressed")),
        "{log}"
    );
    assert!(
        log.lines()
            .any(|l| l.contains("plugin=hostile-stdout-flood") && l.contains("dropped_bytes")),
        "{log}"
    );
    let printed = log
        .lines()
        .filter(|l| {
            l.contains("plugin=hostile-stdout-flood")
                && l.contains("stream=\"stdout\"")
                && !l.contains("dropped_bytes")
        })
        .count();
    assert!(
        printed <= 120,
        "{printed} stdout lines forwarded: the log rate limit holds"
    );
}
