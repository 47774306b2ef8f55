//! The Python reference remote plugin against the real host: rate limited, restarted,
//! every note delivered exactly once.

use std::collections::HashSet;
use std::process::Command;

use crate::support::{Host, KEY, marker_keys, vault_files};

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../plugins/remote-python/openclone_remote.py")
}

fn run(
    url: &str,
    notes: &std::path::Path,
    outbox: &std::path::Path,
    extra: &[&str],
) -> (bool, String) {
    let out = Command::new("python3")
        .arg(script())
        .args(["--url", url, "--key", KEY, "--once"])
        .arg("--notes")
        .arg(notes)
        .arg("--outbox")
        .arg(outbox)
        .args(extra)
        .output()
        .expect("python3 runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn every_note_arrives_once_through_rate_limits_and_restarts() {
    let work = tempfile::tempdir().expect("tempdir");
    let (notes, outbox) = (work.path().join("notes"), work.path().join("outbox"));
    std::fs::create_dir_all(notes.join("sub")).expect("notes");
    for i in 0..1200 {
        std::fs::write(
            notes.join(format!("note-{i:04}.md")),
            format!("# Note {i}\n\nSomething to remember, number {i}.\n"),
        )
        .expect("note");
    }
    for i in 0..3 {
        std::fs::write(
            notes.join("sub").join(format!("long-{i}.txt")),
            format!("Long note {i}\n{}", "lorem ipsum ".repeat(4000)),
        )
        .expect("long note");
    }
    // A note last changed in 2019 keeps its own time: held back, not dated 2020-01-01.
    let old = notes.join("from-2019.md");
    std::fs::write(&old, "# Old\n\nWritten in 2019.\n").expect("old note");
    std::fs::File::options()
        .write(true)
        .open(&old)
        .and_then(|f| {
            f.set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_560_000_000))
        })
        .expect("2019 mtime");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let dead_url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let (ok, log) = run(&dead_url, &notes, &outbox, &["--max-seconds", "2"]);
    assert!(!ok, "no host: the batches stay in the outbox\n{log}");
    let pending = std::fs::read_dir(outbox.join("pending"))
        .expect("outbox")
        .count();
    assert!(pending >= 3, "queued on disk before sending: {pending}");

    let host = Host::prepared("[ingest]\nrate_burst = 2\nrate_per_s = 2.0\n", |dir| {
        let to = dir.join("plugins/remote-python");
        std::fs::create_dir_all(&to).expect("plugin dir");
        std::fs::copy(
            script().with_file_name("plugin.json"),
            to.join("plugin.json"),
        )
        .expect("manifest");
    });
    let (ok, log) = run(&host.base, &notes, &outbox, &[]);
    assert!(ok, "{log}");
    assert!(
        log.contains("1 note(s) last changed before 2020-01-01"),
        "{log}"
    );
    assert!(
        log.contains("429"),
        "the rate limit was hit and honoured:\n{log}"
    );
    assert_eq!(
        std::fs::read_dir(outbox.join("pending"))
            .expect("outbox")
            .count(),
        0
    );

    let keys: Vec<String> = vault_files(&host.vault("default"))
        .iter()
        .flat_map(|(_, t)| marker_keys(t))
        .collect();
    assert_eq!(keys.len(), 1203, "every note, once");
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1203);

    let (ok, log) = run(&host.base, &notes, &outbox, &[]);
    assert!(
        ok && !log.contains("queued"),
        "nothing new the second time:\n{log}"
    );
    let listed = host.get("/api/v1/plugins", Some(KEY)).json["plugins"][0].clone();
    assert_eq!(
        (listed["id"].as_str(), listed["kind"].as_str()),
        (Some("remote-python"), Some("remote"))
    );
    assert_eq!(listed["counters"]["events_stored"], 1203);
}
