//! Forget and retention (CONTRACT.md, "Forget and retention"), through the real binary:
//! `openclone forget` reaches a running host over its control socket (and runs by itself
//! when none runs), removes the range from the daily files, the search index and the
//! ActivityWatch journal, keeps the person's own text, and a resend is skipped across a
//! restart and a rebuilt index. `[retention]` forgets at start and skips at ingest.

use serde_json::{Value, json};

use crate::support::{Host, KEY, call, hits, note, now, openclone, wait_for};

const CONFIG: &str = "[activitywatch]\nsession_grace_s = 1\n\n[[tenants]]\nid = \"default\"\napi_key_env = \"API_KEY\"\ntimezone = \"UTC\"\n";

/// 2024-02-18 12:20:00 UTC, 14:00:00, and the next day.
const SECRET: f64 = 1708258800.0;
const KEPT: f64 = 1708264800.0;
const NEXT_DAY: f64 = 1708345200.0;

const BRAINDUMP: &str = "Braindump/2024-02-18.md";
const ACTIVITY: &str = "Activity/2024-02-18.md";

fn window(t: f64, title: &str) -> Value {
    let ts = jiff::Timestamp::from_second(t as i64).expect("time");
    json!({"timestamp": ts.to_string(), "duration": 60, "data": {"app": "Editor", "title": title}})
}

fn forget(host: &Host, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["forget", "--config", "openclone.toml"];
    all.extend_from_slice(args);
    openclone(host.dir.path(), &all)
}

#[test]
fn forget_through_a_running_host_reaches_vault_search_and_journal_and_keeps_own_text() {
    let mut host = Host::with_config(CONFIG);
    let aw = host.aw_base();
    assert_eq!(
        host.post(&note(SECRET, "lighthouse secret code 4711", "s1"))
            .status,
        200
    );
    let daily = host.vault("default").join(BRAINDUMP);
    let mut text = std::fs::read_to_string(&daily).expect("daily file");
    text.push_str("\nMy own lighthouse memory, which I keep.\n");
    std::fs::write(&daily, &text).expect("own text");
    assert_eq!(host.post(&note(KEPT, "harbour plan", "k1")).status, 200);
    assert_eq!(
        host.post(&note(NEXT_DAY, "an idea for tomorrow", "n1"))
            .status,
        200
    );
    let bucket = format!("{aw}/api/0/buckets/w");
    let made =
        json!({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "laptop"});
    assert_eq!(call("POST", &bucket, &[], Some(&made)).0, 200);
    let events = json!([
        window(SECRET + 600.0, "Secret Window"),
        window(KEPT + 7200.0, "Kept Window")
    ]);
    assert_eq!(
        call("POST", &format!("{bucket}/events"), &[], Some(&events)).0,
        200
    );
    assert!(
        wait_for(30, || {
            let a =
                std::fs::read_to_string(host.vault("default").join(ACTIVITY)).unwrap_or_default();
            a.contains("Secret Window") && a.contains("Kept Window")
        }),
        "the sessions are written\n{}",
        host.log()
    );
    host.finds(KEY, "lighthouse", 2);
    host.finds(KEY, "Secret Window", 1);

    let range = [
        "--from",
        "2024-02-18T12:00:00Z",
        "--to",
        "2024-02-18T13:00:00Z",
    ];
    // Not a terminal and no --yes: refused, nothing changed.
    let (ok, _, err) = forget(&host, &range);
    assert!(!ok && err.contains("--yes"), "{err}");
    let (ok, out, err) = forget(&host, &[&range[..], &["--dry-run"]].concat());
    assert!(ok, "{err}");
    assert!(
        out.contains("would forget 2 entries in 2 daily files and 1 ActivityWatch event"),
        "{out}"
    );
    assert!(
        std::fs::read_to_string(&daily)
            .expect("file")
            .contains("4711")
    );

    let (ok, out, err) = forget(&host, &[&range[..], &["--yes"]].concat());
    assert!(ok, "{out}{err}");
    assert!(out.contains("forgot 2 entries"), "{out}");
    let braindump = std::fs::read_to_string(&daily).expect("file");
    assert!(!braindump.contains("4711"), "{braindump}");
    assert!(braindump.contains("My own lighthouse memory") && braindump.contains("harbour plan"));
    let activity = host.read("default", ACTIVITY);
    assert!(
        !activity.contains("Secret Window") && activity.contains("Kept Window"),
        "{activity}"
    );
    let (_, left) = call("GET", &format!("{bucket}/events"), &[], None);
    let titles: Vec<&str> = left
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["data"]["title"].as_str())
        .collect();
    assert_eq!(titles, ["Kept Window"]);
    // The search index answers without them as soon as the forget has answered.
    assert!(hits(&host.search(KEY, "4711")).is_empty());
    assert!(hits(&host.search(KEY, "\"Secret Window\"")).is_empty());
    let own = host.search(KEY, "lighthouse");
    assert_eq!(hits(&own).len(), 1, "{own}");
    assert_eq!(
        hits(&own)[0]["plugin"],
        "",
        "only the person's own text is left: {own}"
    );

    // A resend is skipped: now, after a restart, and after the index is rebuilt.
    let resend = || host_resend(&host);
    assert_eq!(resend(), (0, 1));
    host.stop();
    let (ok, out, err) = openclone(
        host.dir.path(),
        &["vault", "reindex", "--config", "openclone.toml"],
    );
    assert!(ok, "{out}{err}");
    // With no host running, forget runs by itself: a whole day, one source type.
    let (ok, out, err) = forget(
        &host,
        &[
            "--from",
            "2024-02-18",
            "--to",
            "2024-02-18",
            "--source",
            "braindump",
            "--yes",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("forgot 1 entry in 1 daily file"), "{out}");
    let braindump = std::fs::read_to_string(&daily).expect("the file stays: it holds own text");
    assert!(braindump.contains("My own lighthouse memory") && !braindump.contains("harbour plan"));
    host.restart();
    assert_eq!(host_resend(&host), (0, 1));
    assert!(hits(&host.search(KEY, "harbour")).is_empty());
    host.finds(KEY, "tomorrow", 1);
}

/// Sends the forgotten note again: (stored, skipped).
fn host_resend(host: &Host) -> (u64, u64) {
    let r = host.post(&note(SECRET, "lighthouse secret code 4711", "s1"));
    assert_eq!(r.status, 200, "{}", r.json);
    (
        r.json["stored"].as_u64().unwrap_or_default(),
        r.json["skipped"].as_u64().unwrap_or_default(),
    )
}

#[test]
fn retention_forgets_old_entries_at_start_and_skips_them_at_ingest() {
    let mut host = Host::with_config(CONFIG);
    let old = now() - 60.0 * 86400.0;
    let recent = now() - 86400.0;
    assert_eq!(host.post(&note(old, "an old braindump", "old")).status, 200);
    assert_eq!(
        host.post(&note(recent, "a recent braindump", "new")).status,
        200
    );
    host.finds(KEY, "braindump", 2);
    host.stop();
    let config = host.dir.path().join("openclone.toml");
    std::fs::write(
        &config,
        format!("{CONFIG}\n[retention]\nbraindump = \"30d\"\n"),
    )
    .expect("config");
    host.restart();
    assert!(
        wait_for(30, || hits(&host.search(KEY, "braindump")).len() == 1),
        "retention forgot the old entry at start\n{}",
        host.log()
    );
    let files = crate::support::vault_files(&host.vault("default"));
    assert!(
        files.iter().all(|(_, t)| !t.contains("an old braindump")),
        "{files:?}"
    );
    let again = host.post(&note(old, "an old braindump", "old"));
    assert_eq!(
        (
            again.json["stored"].as_u64(),
            again.json["skipped"].as_u64()
        ),
        (Some(0), Some(1))
    );
    let other = host.post(&note(old + 60.0, "another old one", "old2"));
    assert_eq!(other.json["skipped"].as_u64(), Some(1), "{}", other.json);

    // A bad retention is refused at start, naming the key and the rule.
    host.stop();
    std::fs::write(
        &config,
        format!("{CONFIG}\n[retention]\nbraindump = \"1y\"\n"),
    )
    .expect("config");
    let (ok, _, err) = openclone(
        host.dir.path(),
        &["vault", "reindex", "--config", "openclone.toml"],
    );
    assert!(
        !ok && err.contains("retention.braindump") && err.contains("365d"),
        "{err}"
    );
}
