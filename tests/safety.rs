//! Never lose a word: a person's own text survives recovery and rebuilds, CRLF
//! files are read, one host per data folder, no input panics a request, the host does not
//! capture its own output.

use serde_json::json;

use crate::support::{Host, KEY, batch, marker_keys, openclone, quick_start, structure};

const MY_WORDS: &str = "\n## 09:00:00 · my own notes\n\nA paragraph I wrote in Obsidian.\n";

#[test]
fn a_persons_text_and_crlf_files_survive_a_lost_index_and_a_reindex() {
    let mut host = Host::start();
    assert_eq!(host.post(&quick_start()).json["stored"], 1);
    let journal = batch(
        "journal",
        vec![
            json!({"timestamp": 1708345200.0, "data": {"text": "synced through Windows"}, "raw_ref": "j1"}),
        ],
    );
    assert_eq!(host.post(&journal).json["stored"], 1);
    assert!(host.stop());

    let vault = host.vault("default");
    let braindump = vault.join("Braindump/2024-02-18.md");
    let mut text = std::fs::read_to_string(&braindump).expect("braindump file");
    text.push_str(MY_WORDS);
    std::fs::write(&braindump, &text).expect("a person adds a paragraph");
    let journal_file = vault.join("Journal/2024-02-19.md");
    let crlf = std::fs::read_to_string(&journal_file)
        .expect("journal file")
        .replace('\n', "\r\n");
    std::fs::write(&journal_file, &crlf).expect("CRLF, as git on Windows leaves it");

    std::fs::remove_dir_all(host.dir.path().join("data/state")).expect("lose the index");
    host.restart();
    assert!(host.stop());
    let (ok, out, err) = openclone(host.dir.path(), &["vault", "reindex"]);
    assert!(ok, "{out}{err}");
    host.restart();

    assert_eq!(std::fs::read_to_string(&braindump).expect("read"), text);
    assert_eq!(std::fs::read_to_string(&journal_file).expect("read"), crlf);
    assert!(!host.log().contains("removed"), "{}", host.log());
    assert_eq!(host.post(&quick_start()).json["skipped"], 1);
    assert_eq!(
        host.post(&journal).json["skipped"],
        1,
        "the CRLF file's marker is read"
    );

    let mut later = quick_start();
    later["events"][0] =
        json!({"timestamp": 1708261200.0, "data": {"text": "after my words"}, "raw_ref": "e2"});
    assert_eq!(host.post(&later).json["stored"], 1);
    let after = std::fs::read_to_string(&braindump).expect("read");
    assert!(
        after.starts_with(&text),
        "the new entry goes after the person's words"
    );
    assert_eq!(marker_keys(&after).len(), 2);
    let s = structure(&after);
    assert_eq!((s.front_matter, s.h2), (1, 3), "{after}");
}

#[test]
fn a_multibyte_character_in_any_field_gets_an_answer() {
    let host = Host::start();
    let odd = ["aaaaaaaaa€xxxx", "€€€€€€€€€€€€€€€€", "2024-02-18T€:00", "é"];
    let events: Vec<_> = odd
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({"timestamp": 1708258800.0 + i as f64, "raw_ref": format!("mb-{i}"),
                   "data": {"title": s, "start": s, "end": format!("{s}{s}"), "location": s}})
        })
        .collect();
    let r = host.post(&batch("calendar", events));
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["stored"], 4);
    assert_eq!(host.get("/healthz", None).status, 200);
}

#[test]
fn a_second_process_on_the_same_data_folder_is_refused_with_the_pid() {
    let host = Host::start();
    assert_eq!(host.post(&quick_start()).json["stored"], 1);
    let pid = host.pid().to_string();
    for args in [&["capture"][..], &["vault", "reindex"], &["serve"]] {
        let (ok, out, err) = openclone(host.dir.path(), args);
        assert!(!ok, "{args:?} must refuse while serve runs: {out}");
        assert!(
            err.contains(&format!("pid {pid}")) && err.contains("Stop that process first"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(
        host.post(&quick_start()).json["skipped"],
        1,
        "serve goes on"
    );
}

#[test]
fn a_granted_path_holding_the_hosts_own_output_is_refused() {
    let host = Host::prepared(
        "[plugins.well-behaved]\npaths = [\".\"]\n[plugins.hostile-escape]\npaths = [\"data/vaults/default/Notes\"]\n",
        |dir| {
            for id in ["well-behaved", "hostile-escape"] {
                crate::support::install_plugin(&dir.join("plugins"), id);
            }
        },
    );
    let listing = host.get("/api/v1/plugins", Some(KEY)).json;
    let plugins = listing["plugins"].as_array().cloned().unwrap_or_default();
    let error_of = |id: &str| {
        plugins
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["last_error"].to_string())
            .unwrap_or_default()
    };
    let data = host.dir.path().join("data");
    assert!(
        error_of("well-behaved").contains("contains the data folder")
            && error_of("well-behaved").contains(&data.display().to_string()),
        "{listing:#}"
    );
    assert!(
        error_of("hostile-escape").contains("lies inside the data folder"),
        "{listing:#}"
    );
}
