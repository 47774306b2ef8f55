//! Pausing recording (CONTRACT.md, "Pause"), through the real binary: `openclone pause`
//! reaches the running host over its control socket; while paused no plugin pass runs and
//! nothing timed after the pause began is stored from HTTP ingest or the ActivityWatch API
//! (answered, counted as skipped), an older backlog is; stats, metrics and the dashboard
//! show it; it ends by itself or by `openclone resume`, and holds across a restart.

use std::time::Duration;

use serde_json::json;

use crate::support::{Host, KEY, UNLIMITED, call, install_plugin, note, now, openclone, wait_for};

const TENANT: &str = "[activitywatch]\nsession_grace_s = 1\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n";

fn cli(host: &Host, args: &[&str]) -> (bool, String, String) {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--config", "openclone.toml"]);
    openclone(host.dir.path(), &all)
}

/// `(stored, skipped)` of a 200 answer.
fn tally(host: &Host, ts: f64, text: &str, r: &str) -> (u64, u64) {
    let reply = host.post(&note(ts, text, r));
    assert_eq!(reply.status, 200, "{}", reply.json);
    (
        reply.json["stored"].as_u64().unwrap_or(99),
        reply.json["skipped"].as_u64().unwrap_or(99),
    )
}

/// The dashboard's page for the key's tenant (signed in through `POST /login`).
fn dashboard(host: &Host) -> String {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let login = agent
        .post(format!("{}/login", host.base))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .send(format!("key={KEY}").as_bytes())
        .expect("login answered");
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a cookie")
        .to_owned();
    agent
        .get(format!("{}/", host.base))
        .header("Cookie", &cookie)
        .call()
        .expect("page")
        .body_mut()
        .read_to_string()
        .expect("text")
}

#[test]
fn a_pause_holds_back_every_way_in_and_plugin_passes_until_it_ends() {
    let config = format!(
        "{UNLIMITED}\n{TENANT}\n[plugins.notes-markdown]\npaths = [\"notes\"]\ninterval_s = 1\n"
    );
    let host = Host::prepared(&config, |dir| {
        install_plugin(&dir.join("plugins"), "notes-markdown");
        std::fs::create_dir_all(dir.join("notes")).expect("notes");
        std::fs::write(dir.join("notes/first.md"), "# First\n\nBefore the pause.\n").expect("note");
    });
    let braindump = || {
        let day = jiff::Timestamp::now().strftime("%Y-%m-%d").to_string();
        std::fs::read_to_string(host.vault("default").join(format!("Braindump/{day}.md")))
            .unwrap_or_default()
    };
    let notes = || {
        let dir = host.vault("default").join("Notes");
        std::fs::read_dir(dir)
            .map(|rd| {
                rd.flatten()
                    .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                    .collect::<String>()
            })
            .unwrap_or_default()
    };
    assert!(
        wait_for(30, || notes().contains("Before the pause")),
        "the plugin runs before the pause\n{}",
        host.log()
    );
    assert_eq!(tally(&host, now() - 5.0, "before the pause", "b1"), (1, 0));

    let (ok, out, err) = cli(&host, &["pause", "--for", "8s"]);
    assert!(ok && out.contains("recording paused until"), "{out}\n{err}");
    let stats = host.get("/api/v1/stats", Some(KEY));
    assert!(stats.json["paused"]["since"].is_number(), "{}", stats.json);
    assert!(stats.json["paused"]["until"].is_number(), "{}", stats.json);
    let metrics_text = crate::support::agent()
        .get(format!("{}/metrics", host.base))
        .call()
        .expect("metrics")
        .body_mut()
        .read_to_string()
        .expect("text");
    assert!(
        metrics_text.contains("\nopenclone_paused 1\n"),
        "{metrics_text}"
    );
    assert!(
        dashboard(&host).contains("id=\"paused\""),
        "the dashboard shows the pause"
    );

    // HTTP: what happens now is answered and skipped; an hour-old backlog is stored.
    assert_eq!(tally(&host, now(), "typed during the pause", "p1"), (0, 1));
    assert_eq!(
        tally(&host, now() - 3600.0, "an older backlog", "p2"),
        (1, 0)
    );
    // ActivityWatch: a heartbeat timed now is answered and not journalled.
    let aw = host.aw_base();
    let bucket = format!("{aw}/api/0/buckets/w");
    let made = json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "box"});
    assert_eq!(call("POST", &bucket, &[], Some(&made)).0, 200);
    let stamp = jiff::Timestamp::now().to_string();
    let hb = json!({"timestamp": stamp, "duration": 0, "data": {"app": "Secret App", "title": "Private"}});
    assert_eq!(
        call(
            "POST",
            &format!("{bucket}/heartbeat?pulsetime=5"),
            &[],
            Some(&hb)
        )
        .0,
        200
    );
    let (status, events) = call("GET", &format!("{bucket}/events"), &[], None);
    assert_eq!(status, 200);
    assert_eq!(events, json!([]), "nothing journalled while paused");
    // Plugins: a note written now is not read while paused.
    std::fs::write(
        host.dir.path().join("notes/second.md"),
        "# Second\n\nWritten while paused.\n",
    )
    .expect("note");
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !notes().contains("Written while paused"),
        "no pass runs while paused"
    );
    assert!(!braindump().contains("typed during the pause"));

    // The pause ends by itself: passes run again (the note is the person's file, stored now)
    // and what arrives is stored.
    assert!(
        wait_for(30, || notes().contains("Written while paused")),
        "the plugin runs again after the pause\n{}",
        host.log()
    );
    assert_eq!(tally(&host, now(), "after the pause", "a1"), (1, 0));
    let stats = host.get("/api/v1/stats", Some(KEY));
    assert!(stats.json["paused"].is_null(), "{}", stats.json);
    assert!(braindump().contains("before the pause") && braindump().contains("after the pause"));
    assert!(!braindump().contains("typed during the pause"));
}

#[test]
fn an_open_pause_holds_across_a_restart_and_without_a_running_host_until_resume() {
    let mut host = Host::with_config(TENANT);
    let (ok, out, err) = cli(&host, &["pause", "--for", "soon"]);
    assert!(!ok && err.contains("--for \"soon\""), "{out}\n{err}");
    let (ok, out, err) = cli(&host, &["pause"]);
    assert!(
        ok && out.contains("until `openclone resume`"),
        "{out}\n{err}"
    );
    host.stop();
    host.restart();
    assert_eq!(tally(&host, now(), "after a restart", "r1"), (0, 1));
    let (ok, out, err) = cli(&host, &["resume"]);
    assert!(ok && out.contains("recording resumed"), "{out}\n{err}");
    assert_eq!(tally(&host, now(), "after resume", "r2"), (1, 0));

    // With the host stopped, the command changes the file the next start reads.
    host.stop();
    let (ok, out, err) = cli(&host, &["pause"]);
    assert!(ok && out.contains("recording paused"), "{out}\n{err}");
    host.restart();
    assert_eq!(tally(&host, now(), "paused before the start", "r3"), (0, 1));
    host.stop();
    let (ok, out, err) = cli(&host, &["resume"]);
    assert!(ok && out.contains("recording resumed"), "{out}\n{err}");
    let (ok, out, _) = cli(&host, &["resume"]);
    assert!(ok && out.contains("was not paused"), "{out}");
    host.restart();
    assert_eq!(tally(&host, now(), "resumed while stopped", "r4"), (1, 0));
}
