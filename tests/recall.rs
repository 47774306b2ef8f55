//! Recall (CONTRACT.md, "Recall"): the search index beside the vault finds what was stored
//! and what the person wrote, across a restart, a lost index and `vault reindex`, and each
//! tenant only its own; the day timeline lists every source in time order.

use std::path::Path;

use serde_json::Value;

use crate::support::{Host, KEY, hits, note, openclone};

fn remove_index(dir: &Path, tenant: &str) {
    for suffix in ["", "-wal", "-shm"] {
        let _ =
            std::fs::remove_file(dir.join(format!("data/state/{tenant}/search.sqlite{suffix}")));
    }
}

#[test]
fn search_finds_stored_and_own_text_across_restarts_a_lost_index_and_a_reindex() {
    let mut host = Host::start();
    let r = host.post(&note(
        1708258800.0,
        "Quarterly plan for the lighthouse restoration",
        "n1",
    ));
    assert_eq!(r.status, 200, "{}", r.json);

    // Found right after its 200, within the index's lag.
    let v = host.finds(KEY, "lighthouse", 1);
    let hit = &hits(&v)[0];
    assert_eq!(hit["file"], "Braindump/2024-02-18.md");
    let daily = host.read("default", "Braindump/2024-02-18.md");
    let at = hit["line"].as_u64().expect("line") as usize;
    assert!(
        daily
            .lines()
            .nth(at - 1)
            .is_some_and(|l| l.starts_with("## 12:20:00")),
        "line {at} is the entry's heading:\n{daily}"
    );
    assert_eq!(
        (hit["day"].as_str(), hit["time"].as_str()),
        (Some("2024-02-18"), Some("12:20:00"))
    );
    assert_eq!(
        (hit["source"].as_str(), hit["plugin"].as_str()),
        (Some("braindump"), Some("my-plugin"))
    );
    assert!(
        hit["snippet"]
            .as_str()
            .unwrap_or("")
            .contains("«lighthouse»"),
        "{hit}"
    );
    assert_eq!(
        hit["obsidian"],
        "obsidian://open?vault=default&file=Braindump%2F2024%2D02%2D18%2Emd"
    );
    for (q, n) in [
        ("\"lighthouse restoration\"", 1),
        ("\"restoration lighthouse\"", 0),
        ("lightho*", 1),
        ("RESTORATION quarterly", 1),
        ("lighthouse nowhere", 0),
        ("e-mail re: NEAR(x)", 0),
    ] {
        assert_eq!(hits(&host.search(KEY, q)).len(), n, "{q}");
    }

    // A paragraph the person wrote at the end of the day's file is found once the host
    // appends again; the host's next entry too.
    let daily = host.vault("default").join("Braindump/2024-02-18.md");
    let mut text = std::fs::read_to_string(&daily).expect("daily file");
    text.push_str("\nMy own note about the harbour wall.\n");
    std::fs::write(&daily, &text).expect("write");
    let r = host.post(&note(
        1708260600.0,
        "Second thought on the lighthouse",
        "n2",
    ));
    assert_eq!(r.status, 200, "{}", r.json);
    let v = host.finds(KEY, "harbour", 1);
    assert_eq!(hits(&v)[0]["source"], "", "the person's own text");
    host.finds(KEY, "lighthouse", 2);

    // The day's timeline: every entry in time order, the person's text after the entry
    // before it.
    let r = host.get("/api/v1/timeline?day=2024-02-18", Some(KEY));
    assert_eq!(r.status, 200, "{}", r.json);
    let items = r.json["items"].as_array().expect("items").clone();
    let shown: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["time"].as_str().unwrap_or(""),
                i["source"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("12:20:00", "braindump"),
            ("12:20:00", ""),
            ("12:50:00", "braindump")
        ]
    );

    // Bad input names the field; no key is refused.
    for (path, field) in [
        ("/api/v1/search?q=", "q"),
        ("/api/v1/search?q=%22%22", "q"),
        ("/api/v1/search?q=x&limit=0", "limit"),
        ("/api/v1/search?q=x&limit=many", "limit"),
        ("/api/v1/search?q=x&source=diary", "source"),
        ("/api/v1/search?q=x&since=18.02.2024", "since"),
        ("/api/v1/timeline?day=2024-2-18", "day"),
        ("/api/v1/timeline", "day"),
    ] {
        let r = host.get(path, Some(KEY));
        assert_eq!(r.status, 422, "{path}: {}", r.json);
        assert!(r.json.to_string().contains(field), "{path}: {}", r.json);
    }
    assert_eq!(host.get("/api/v1/search?q=lighthouse", None).status, 401);

    // Across a restart, and with the index deleted while the host is down.
    assert!(host.stop());
    host.restart();
    host.finds(KEY, "lighthouse", 2);
    assert!(host.stop());
    remove_index(host.dir.path(), "default");
    host.restart();
    host.finds(KEY, "lighthouse", 2);
    host.finds(KEY, "harbour", 1);

    // The command line, beside the running host.
    let (ok, out, err) = openclone(host.dir.path(), &["search", "harbour", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(hits(&v).len(), 1, "{v}");
    assert!(
        hits(&v)[0]["obsidian"]
            .as_str()
            .is_some_and(|l| l.starts_with("obsidian://open?vault=default&file="))
    );

    // `vault reindex` (host stopped) rebuilds it; the CLI then finds the same.
    assert!(host.stop());
    let (ok, out, err) = openclone(host.dir.path(), &["vault", "reindex"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("search index rebuilt from 1 file(s), 3 entries"),
        "{out}"
    );
    let (ok, out, err) = openclone(
        host.dir.path(),
        &["search", "lighthouse", "--source", "braindump"],
    );
    assert!(ok, "{err}");
    assert_eq!(out.matches("Braindump/2024-02-18.md:").count(), 2, "{out}");
    let (ok, _, err) = openclone(host.dir.path(), &["search", "x", "--since", "yesterday"]);
    assert!(!ok && err.contains("since"), "{err}");
}

const TENANTS: &str = r#"
[[tenants]]
id = "alice"
api_key_env = "API_KEY"

[[tenants]]
id = "bob"
api_key_sha256 = ["BOB"]
"#;

#[test]
fn a_tenant_never_sees_another_tenants_entries() {
    use sha2::{Digest, Sha256};
    let config = TENANTS.replace("BOB", &hex::encode(Sha256::digest(b"bob-key-0123456789")));
    let host = Host::with_config(&config);
    assert_eq!(
        host.post(&note(1708258800.0, "alice walks the lighthouse", "a1"))
            .status,
        200
    );
    let r = host.post_raw(
        Some("bob-key-0123456789"),
        note(1708258800.0, "bob hides the lighthouse key", "b1")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.json);
    let alice = host.finds(KEY, "lighthouse", 1);
    assert!(
        alice.to_string().contains("walks") && !alice.to_string().contains("hides"),
        "{alice}"
    );
    let bob = host.finds("bob-key-0123456789", "lighthouse", 1);
    assert!(
        bob.to_string().contains("hides") && !bob.to_string().contains("walks"),
        "{bob}"
    );
    assert_eq!(bob["tenant"], "bob");
    let r = host.get(
        "/api/v1/timeline?day=2024-02-18",
        Some("bob-key-0123456789"),
    );
    assert_eq!(
        r.json["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.json
    );
    let (ok, out, err) = openclone(
        host.dir.path(),
        &["search", "lighthouse", "--tenant", "alice", "--json"],
    );
    assert!(ok, "{err}");
    assert!(out.contains("walks") && !out.contains("hides"), "{out}");
}
