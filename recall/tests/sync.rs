//! The index kept in line with real daily files: appends read from where the last read
//! stopped, edits read whole, a removed file forgotten, a damaged index rebuilt.

use std::path::Path;

use openclone_recall::query::{self, Query};
use openclone_recall::{schema, sync};

const KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn entry(time: &str, text: &str) -> String {
    format!(
        "\n## {time} · notes-plugin\n\n{text}\n\n<!-- openclone:entry v=1 key={KEY} source=notes plugin=notes-plugin@1.0.0 device=d1 -->\n"
    )
}

const HEAD: &str =
    "---\ncreated_by: openclone\nfolder: Notes\ndate: 2024-03-01\n---\n\n# Notes — 2024-03-01\n";

fn find(conn: &rusqlite::Connection, q: &str) -> Vec<query::Hit> {
    query::search(
        conn,
        &Query {
            text: q.into(),
            limit: 100,
            ..Query::default()
        },
    )
    .expect("search")
}

fn write(root: &Path, text: &str) {
    std::fs::create_dir_all(root.join("Notes")).expect("folder");
    std::fs::write(root.join("Notes/2024-03-01.md"), text).expect("write");
}

#[test]
fn appends_edits_removals_and_a_damaged_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, db) = (dir.path().join("vault"), dir.path().join("search.sqlite"));
    let mut text = format!("{HEAD}{}", entry("08:00:00", "alpha first"));
    write(&root, &text);
    std::fs::write(root.join("Notes/not-a-day.md"), "alpha elsewhere").expect("write");
    let mut conn = schema::open(&db).expect("open");
    let s = sync::all(&mut conn, &root).expect("sync");
    assert_eq!((s.files_read, s.entries), (1, 1), "only daily files");
    assert_eq!(find(&conn, "alpha").len(), 1);

    // Nothing changed: nothing read.
    assert_eq!(sync::all(&mut conn, &root).expect("sync").files_read, 0);

    // An append, and half of the next one (an append in progress).
    text.push_str(&entry("09:00:00", "beta second"));
    let half = format!("{text}\n## 10:00:00 · notes-plugin\n\ngamma third\n");
    write(&root, &half);
    let s = sync::all(&mut conn, &root).expect("sync");
    assert_eq!(s.entries, 1, "only the new complete entry");
    assert!(find(&conn, "gamma").is_empty(), "an unclosed entry waits");
    text.push_str(&entry("10:00:00", "gamma third"));
    write(&root, &text);
    sync::all(&mut conn, &root).expect("sync");
    let g = find(&conn, "gamma");
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].source, "notes", "the finished entry is the host's");
    assert_eq!(
        find(&conn, "alpha OR beta OR gamma").len(),
        0,
        "OR is a word here"
    );
    let t = query::timeline(&conn, "2024-03-01").expect("timeline");
    assert_eq!(
        t.iter().map(|i| i.time.as_str()).collect::<Vec<_>>(),
        ["08:00:00", "09:00:00", "10:00:00"]
    );

    // An edit in the middle: the file is read whole again, no entry twice.
    let edited = text.replace("beta second", "delta replaced");
    write(&root, &edited);
    sync::all(&mut conn, &root).expect("sync");
    assert!(find(&conn, "beta").is_empty());
    assert_eq!(find(&conn, "delta").len(), 1);
    assert_eq!(
        query::timeline(&conn, "2024-03-01")
            .expect("timeline")
            .len(),
        3
    );

    // A removed file takes its entries with it.
    std::fs::remove_file(root.join("Notes/2024-03-01.md")).expect("remove");
    let s = sync::all(&mut conn, &root).expect("sync");
    assert_eq!(s.files_gone, 1);
    assert!(find(&conn, "alpha").is_empty());
    drop(conn);

    // A damaged index is made anew, and a scan fills it again.
    write(&root, &edited);
    std::fs::write(
        &db,
        b"this is not a database, just bytes that used to be one",
    )
    .expect("damage");
    let mut conn = schema::open(&db).expect("rebuilt");
    sync::all(&mut conn, &root).expect("sync");
    assert_eq!(find(&conn, "delta").len(), 1);
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&db).map(|m| m.permissions().mode() & 0o777);
    assert_eq!(
        mode.ok(),
        Some(0o600),
        "the rebuilt index is its owner's only"
    );
}

#[test]
fn a_file_larger_than_a_read_is_indexed_whole_and_an_append_after_it_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, db) = (dir.path().join("vault"), dir.path().join("search.sqlite"));
    let mut text = HEAD.to_owned();
    // Invalid UTF-8 in the person's text must not shift where the next read starts.
    let mut raw = Vec::new();
    for i in 0..30_000u32 {
        text.push_str(&entry(
            &format!("{:02}:{:02}:{:02}", i / 3600 % 24, i / 60 % 60, i % 60),
            &format!("entry number{i} with some ordinary words to make it longer"),
        ));
        if i == 100 {
            raw.extend_from_slice(text.as_bytes());
            raw.extend_from_slice(b"\nown text with a broken byte \xff here\n");
            text.clear();
        }
    }
    // One entry far longer than a read.
    text.push_str(&entry("23:59:59", &"giant ".repeat(1_200_000)));
    raw.extend_from_slice(text.as_bytes());
    std::fs::create_dir_all(root.join("Notes")).expect("folder");
    std::fs::write(root.join("Notes/2024-03-01.md"), &raw).expect("write");
    assert!(raw.len() > 8 << 20, "several reads' worth");
    let mut conn = schema::open(&db).expect("open");
    let s = sync::all(&mut conn, &root).expect("sync");
    assert_eq!(
        s.entries, 30_002,
        "every entry, the person's text and the giant one"
    );
    assert_eq!(find(&conn, "number29999").len(), 1);
    assert_eq!(find(&conn, "broken").len(), 1);
    // The giant entry is indexed in pieces: each can be a hit, the timeline lists it once.
    let giant = find(&conn, "giant");
    assert!(!giant.is_empty() && giant.iter().all(|h| h.time == "23:59:59"));
    let day = query::timeline(&conn, "2024-03-01").expect("timeline");
    assert_eq!(day.len(), 30_002);
    assert_eq!(
        day.iter().filter(|i| i.text.starts_with("giant")).count(),
        1
    );
    let mut more = raw.clone();
    more.extend_from_slice(entry("23:59:59", "the very last one").as_bytes());
    std::fs::write(root.join("Notes/2024-03-01.md"), &more).expect("append");
    let s = sync::all(&mut conn, &root).expect("sync");
    assert_eq!(s.entries, 1, "only the append is read");
    assert_eq!(find(&conn, "\"very last\"").len(), 1);
}

#[test]
fn a_search_ranks_the_newest_matches_and_a_day_range_moves_the_window() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, db) = (dir.path().join("vault"), dir.path().join("search.sqlite"));
    std::fs::create_dir_all(root.join("Notes")).expect("folder");
    // The best match (the word three times) on the oldest day, then more newer matches
    // than a search ranks; the newer days are written first, so file order is not time.
    let n = query::CANDIDATES as usize + 100;
    let mut newer = String::from(HEAD);
    for i in 0..n {
        let secs = i * 30;
        let time = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
        newer.push_str(&entry(&time, &format!("kestrel sighting number {i}")));
    }
    std::fs::write(root.join("Notes/2024-03-02.md"), newer).expect("write");
    let best = format!("{HEAD}{}", entry("08:00:00", "kestrel kestrel kestrel"));
    std::fs::write(root.join("Notes/2024-03-01.md"), best).expect("write");
    let mut conn = schema::open(&db).expect("open");
    sync::all(&mut conn, &root).expect("sync");
    let search = |since: Option<&str>, until: Option<&str>| {
        query::search(
            &conn,
            &Query {
                text: "kestrel".into(),
                since: since.map(str::to_owned),
                until: until.map(str::to_owned),
                limit: 5,
                ..Query::default()
            },
        )
        .expect("search")
    };
    let recent = search(None, None);
    assert_eq!(recent.len(), 5);
    assert!(
        recent.iter().all(|h| h.day == "2024-03-02"),
        "only the newest matches are ranked: {recent:?}"
    );
    let old = search(None, Some("2024-03-01"));
    assert_eq!((old.len(), old[0].day.as_str()), (1, "2024-03-01"));
    let window = search(Some("2024-03-01"), Some("2024-03-02"));
    assert_eq!(window.len(), 5);
    let later = search(Some("2024-03-03"), None);
    assert!(later.is_empty());
}
