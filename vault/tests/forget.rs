//! Forget and retention on a real vault on disk (CONTRACT.md, "Forget and retention"):
//! only the host's entries in the range go, a person's text stays byte for byte, a resend
//! is skipped across an index rebuild, an interrupted forget is finished at open.

use std::path::Path;

use jiff::Timestamp;
use openclone_vault::forget::{Journal, Paths};
use openclone_vault::read::host_spans;
use openclone_vault::{
    Batch, DedupKey, Event, Platform, Selection, SourceType, Vault, VaultConfig, tombstone,
};
use serde_json::json;

/// 2026-03-02T00:00:00Z.
const DAY: f64 = 1_772_409_600.0;

fn open(dir: &Path, retention: Vec<(SourceType, jiff::SignedDuration)>) -> Vault {
    Vault::open(VaultConfig {
        root: dir.join("vault"),
        index_path: dir.join("state").join("index"),
        tz: jiff::tz::TimeZone::UTC,
        policy: Default::default(),
        on_written: None,
        retention,
    })
    .expect("vault opens")
}

/// A batch of `source` events by `plugin`, one per (seconds after [`DAY`], text).
fn batch(source: SourceType, plugin: &str, events: &[(f64, &str)]) -> Batch {
    Batch {
        source_type: source,
        platform: Platform::Linux,
        device_id: "laptop".into(),
        plugin_id: plugin.into(),
        plugin_version: "1.0.0".into(),
        timestamp: DAY,
        events: events
            .iter()
            .map(|&(at, text)| Event {
                timestamp: DAY + at,
                data: json!({ "text": text })
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
                raw_ref: Some(format!("{plugin}-{at}")),
            })
            .collect(),
    }
}

fn at(secs: f64) -> Timestamp {
    Timestamp::from_second((DAY + secs) as i64).expect("a time")
}

fn select(from: f64, to: f64) -> Selection {
    Selection {
        from: at(from),
        to: at(to),
        source: None,
        plugin: None,
        tombstone: true,
    }
}

const FILE: &str = "Braindump/2026-03-02.md";

#[test]
fn only_the_hosts_entries_in_the_range_go_and_the_persons_bytes_stay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path(), Vec::new());
    let b = batch(
        SourceType::Braindump,
        "inbox",
        &[
            (3600.0, "early thought"),
            (7200.0, "secret plan"),
            (10800.0, "late idea"),
        ],
    );
    vault.ingest(b.clone()).expect("stored");
    let path = dir.path().join("vault").join(FILE);
    // The person writes between entries (with a line that is not UTF-8) and at the end,
    // in CRLF like a file synced through Windows.
    let text = std::fs::read(&path).expect("daily file");
    let cut = String::from_utf8_lossy(&text)
        .find("## 02:00:00")
        .expect("second entry");
    let mut edited = text[..cut].to_vec();
    edited.extend_from_slice(b"My own paragraph about the plan.\r\n\xff\xfe raw bytes\r\n\r\n");
    edited.extend_from_slice(&text[cut..]);
    edited.extend_from_slice(b"\r\n## 05:00:00 \xc2\xb7 my heading\r\n\r\nmine, no marker\r\n");
    std::fs::write(&path, &edited).expect("edit");

    let dry = vault.forget(select(7000.0, 7300.0), true).expect("dry run");
    assert_eq!((dry.entries, dry.files.len(), dry.dry_run), (1, 1, true));
    assert_eq!(
        std::fs::read(&path).expect("file"),
        edited,
        "a dry run changes nothing"
    );

    let done = vault.forget(select(7000.0, 7300.0), false).expect("forget");
    assert_eq!((done.entries, done.tombstones), (1, 1));
    let after = std::fs::read(&path).expect("file");
    let after_text = String::from_utf8_lossy(&after);
    assert!(!after_text.contains("secret plan"), "{after_text}");
    assert!(after_text.contains("early thought") && after_text.contains("late idea"));
    // Everything but the entry (and the blank line before it) is there, byte for byte.
    let spans = host_spans(&edited);
    let gone = spans
        .iter()
        .find(|s| s.time == "02:00:00")
        .expect("the forgotten entry's span");
    // The blank line before it is the person's CRLF one here.
    let mut expected = edited[..gone.bytes.start - 2].to_vec();
    expected.extend_from_slice(&edited[gone.bytes.end..]);
    assert_eq!(after, expected);
    assert_eq!(done.files[0].bytes_after, after.len() as u64);

    // A resend of the forgotten event is skipped, also once the index is rebuilt from a
    // vault that no longer holds its marker, and once the index folder is gone.
    let resend = batch(SourceType::Braindump, "inbox", &[(7200.0, "secret plan")]);
    assert_eq!(
        vault.ingest(resend.clone()).expect("resend").tally.skipped,
        1
    );
    vault.reindex().expect("reindex");
    assert_eq!(
        vault.ingest(resend.clone()).expect("resend").tally.skipped,
        1
    );
    drop(vault);
    std::fs::remove_dir_all(dir.path().join("state").join("index")).expect("index removed");
    let vault = open(dir.path(), Vec::new());
    assert_eq!(vault.ingest(resend).expect("resend").tally.skipped, 1);
    assert_eq!(std::fs::read(&path).expect("file"), after);

    // Forgetting the whole day keeps the person's text and the file.
    let all = vault
        .forget(select(0.0, 86400.0), false)
        .expect("forget the day");
    assert_eq!((all.entries, all.files[0].removed), (2, false));
    let left = String::from_utf8_lossy(&std::fs::read(&path).expect("file")).into_owned();
    assert!(left.contains("My own paragraph") && left.contains("mine, no marker"));
    assert!(!left.contains("early thought") && !left.contains("late idea"));
}

#[test]
fn filters_choose_the_source_and_plugin_and_an_emptied_file_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path(), Vec::new());
    vault
        .ingest(batch(
            SourceType::Braindump,
            "inbox",
            &[(60.0, "inbox one")],
        ))
        .expect("stored");
    vault
        .ingest(batch(
            SourceType::Braindump,
            "phone",
            &[(120.0, "phone one")],
        ))
        .expect("stored");
    vault
        .ingest(batch(
            SourceType::Notes,
            "inbox",
            &[(180.0, "a note"), (240.0, "another"), (300.0, "a third")],
        ))
        .expect("stored");
    let only = Selection {
        source: Some(SourceType::Braindump),
        plugin: Some("phone".into()),
        ..select(0.0, 86400.0)
    };
    let done = vault.forget(only, false).expect("forget");
    assert_eq!((done.entries, done.files.len()), (1, 1));
    let braindump = std::fs::read_to_string(dir.path().join("vault").join(FILE)).expect("file");
    assert!(braindump.contains("inbox one") && !braindump.contains("phone one"));

    let rest = vault.forget(select(0.0, 86400.0), false).expect("forget");
    assert_eq!(rest.entries, 4);
    assert!(rest.files.iter().all(|f| f.removed), "{:?}", rest.files);
    assert!(!dir.path().join("vault").join(FILE).exists());
    assert!(!dir.path().join("vault/Notes/2026-03-02.md").exists());
}

#[test]
fn a_forget_interrupted_after_its_tombstones_is_finished_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path(), Vec::new());
    vault
        .ingest(batch(
            SourceType::Braindump,
            "inbox",
            &[(60.0, "keep me"), (120.0, "forget me")],
        ))
        .expect("stored");
    drop(vault);
    // What a forget had done when the power went: journal and tombstones durable, the
    // daily file not yet replaced (and a temporary file of its rewrite left behind).
    let paths = Paths::beside(&dir.path().join("state").join("index"));
    let bytes = std::fs::read(dir.path().join("vault").join(FILE)).expect("file");
    let key = host_spans(&bytes)
        .into_iter()
        .find(|s| s.time == "00:02:00")
        .and_then(|s| DedupKey::from_hex(&s.marker.key))
        .expect("the entry's key");
    let sel = select(100.0, 200.0);
    Journal {
        selection: sel,
        tombstones_before: 0,
        tombstones: 1,
    }
    .begin(&paths.journal)
    .expect("journal");
    tombstone::append(&paths.tombstones, &[key]).expect("tombstone");
    let stray = dir.path().join("vault/Braindump/.2026-03-02.md.tmp-4242-0");
    std::fs::write(&stray, b"half a rewrite").expect("stray temp file");

    let vault = open(dir.path(), Vec::new());
    let text = std::fs::read_to_string(dir.path().join("vault").join(FILE)).expect("file");
    assert!(
        text.contains("keep me") && !text.contains("forget me"),
        "{text}"
    );
    assert!(!paths.journal.exists(), "the journal is finished");
    assert!(!stray.exists(), "the stray temporary file is removed");
    assert_eq!(tombstone::read(&paths.tombstones).expect("read"), vec![key]);
    let resend = batch(SourceType::Braindump, "inbox", &[(120.0, "forget me")]);
    assert_eq!(vault.ingest(resend).expect("resend").tally.skipped, 1);
}

#[test]
fn a_torn_tombstone_append_is_cut_and_made_again_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = open(dir.path(), Vec::new());
    vault
        .ingest(batch(
            SourceType::Braindump,
            "inbox",
            &[(60.0, "forget me")],
        ))
        .expect("stored");
    drop(vault);
    let paths = Paths::beside(&dir.path().join("state").join("index"));
    Journal {
        selection: select(0.0, 100.0),
        tombstones_before: 0,
        tombstones: 1,
    }
    .begin(&paths.journal)
    .expect("journal");
    std::fs::write(&paths.tombstones, [7u8; 20]).expect("a torn append");
    let _vault = open(dir.path(), Vec::new());
    let keys = tombstone::read(&paths.tombstones).expect("read");
    assert_eq!(keys.len(), 1);
    assert_ne!(
        keys[0].0[..20],
        [7u8; 20],
        "the torn bytes were cut, the key written"
    );
    assert!(!dir.path().join("vault").join(FILE).exists());
}

#[test]
fn events_older_than_their_retention_are_skipped_at_ingest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keep = jiff::SignedDuration::from_hours(24 * 30);
    let vault = open(dir.path(), vec![(SourceType::Braindump, keep)]);
    let now = Timestamp::now().as_second() as f64;
    let mut b = batch(SourceType::Braindump, "inbox", &[]);
    for (i, age_days) in [1.0, 45.0].into_iter().enumerate() {
        b.events.push(Event {
            timestamp: now - age_days * 86400.0,
            data: json!({ "text": format!("event {i}") })
                .as_object()
                .cloned()
                .unwrap_or_default(),
            raw_ref: Some(format!("r{i}")),
        });
    }
    let r = vault.ingest(b).expect("stored");
    assert_eq!((r.tally.stored, r.tally.skipped), (1, 1));
    // Another source type has no retention.
    let mut notes = batch(SourceType::Notes, "inbox", &[]);
    notes.events.push(Event {
        timestamp: now - 400.0 * 86400.0,
        data: json!({ "text": "old note" })
            .as_object()
            .cloned()
            .unwrap_or_default(),
        raw_ref: None,
    });
    assert_eq!(vault.ingest(notes).expect("stored").tally.stored, 1);
}
