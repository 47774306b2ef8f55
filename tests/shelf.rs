//! The plugin shelf end to end: every plugin built as a component, run by the real host on
//! the real fixture files, into one vault a person can read.

use std::path::Path;

use crate::support::{capture, fixtures, install_plugin, openclone, structure, vault_files};

const PLUGINS: [&str; 8] = [
    "calendar-ics",
    "notes-markdown",
    "gps-gpx",
    "email-headers",
    "shell-history",
    "transcripts",
    "music-listenbrainz",
    "braindump-inbox",
];

fn config(fx: &Path, inbox: &Path) -> String {
    let f = |p: &str| fx.join(p).display().to_string();
    format!(
        r#"
[[tenants]]
id = "default"
api_key_env = "API_KEY"
timezone = "Europe/Berlin"

[plugins.calendar-ics]
paths = [{ics:?}]
from = "2020-01-01"
[plugins.notes-markdown]
paths = [{md:?}]
[plugins.gps-gpx]
paths = [{gpx:?}, {gpx_recent:?}]
[plugins.email-headers]
enabled = true
paths = [{email:?}]
[plugins.shell-history]
paths = [{shell:?}]
[plugins.transcripts]
paths = [{subs:?}]
app_name = "Webinar"
[plugins.music-listenbrainz]
paths = [{lb:?}]
[plugins.braindump-inbox]
paths = [{inbox:?}]
"#,
        ics = f("ics"),
        md = f("markdown-vault"),
        gpx = f("gpx"),
        gpx_recent = f("gpx-recent"),
        email = f("email"),
        shell = f("shell"),
        subs = f("subtitles"),
        lb = f("listenbrainz"),
        inbox = inbox.display().to_string(),
    )
}

fn stored(out: &str, id: &str) -> u64 {
    out.lines()
        .find(|l| l.starts_with(id))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{id} in\n{out}"))
}

#[test]
fn every_plugin_fills_a_readable_vault_and_reruns_store_only_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    std::fs::copy(fixtures().join("inbox/inbox.md"), inbox.join("inbox.md")).expect("inbox file");
    std::fs::write(
        dir.path().join("openclone.toml"),
        config(&fixtures(), &inbox),
    )
    .expect("config");
    for id in PLUGINS {
        install_plugin(&dir.path().join("plugins"), id);
    }

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    for id in PLUGINS {
        assert!(stored(&out, id) > 0, "{id} stored events:\n{out}");
    }
    let vault = dir.path().join("data/vaults/default");
    let files = vault_files(&vault);
    for folder in [
        "Calendar",
        "Notes",
        "Location",
        "Email",
        "Activity",
        "Audio",
        "Music",
        "Braindump",
    ] {
        assert!(
            files
                .iter()
                .any(|(p, _)| p.starts_with(&format!("{folder}/"))),
            "{folder}/ has files"
        );
    }
    for (path, text) in &files {
        let s = structure(text);
        let markers = text
            .lines()
            .filter(|l| l.starts_with("<!-- openclone:entry "))
            .count();
        assert_eq!(
            (s.front_matter, s.h1, s.other_headings),
            (1, 1, 0),
            "{path}: front matter, title, no stray heading\n{text}"
        );
        assert_eq!(s.h2, markers, "{path}: a heading per entry\n{text}");
        assert_eq!(
            s.html_blocks.len(),
            markers,
            "{path}: the only HTML is the markers\n{text}"
        );
        assert_eq!(s.code_blocks, 0, "{path}: no stray code block\n{text}");
    }
    let read =
        |p: &str| std::fs::read_to_string(vault.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    let shell = read("Activity/2024-06-10.md");
    assert!(shell.contains("## 08:13:32–08:14:14 · cargo\n\ncargo build --release\n\n- Category: shell\n- Duration: 0:42\n- Shell: zsh\n"), "{shell}");
    assert!(
        shell.contains("export GITHUB_TOKEN=[REDACTED:token]"),
        "secret redaction applies:\n{shell}"
    );
    let music = read("Music/2024-06-13.md");
    assert!(
        music.contains("Radiohead — Reckoner (In Rainbows)\n\n- Duration: 4:50\n"),
        "{music}"
    );
    let walk = read("Location/2024-06-10.md");
    assert!(walk.contains("## 08:00:00 · gps-gpx\n\n- Position: 52.51630, 13.37770\n- Place: Brandenburger Tor\n- Elevation: 34\n"), "{walk}");
    let mail = read("Email/2021-11-20.md");
    assert!(mail.contains("· email-headers\n\n**"), "{mail}");
    let calendar = read("Calendar/2020-12-24.md");
    assert!(calendar.contains("## 10:00:00 · calendar-ics\n\n**Weihnachten vorbereiten**\n\n- When: 2020-12-24 10:00 – 11:00\n- Where: Wohnzimmer, Zuhause\n"), "{calendar}");
    let notes: String = files
        .iter()
        .filter(|(p, _)| p.starts_with("Notes/"))
        .map(|(_, t)| t.as_str())
        .collect();
    assert!(
        notes.contains("**Heading 1**"),
        "a note titled by its first heading:\n{notes}"
    );
    assert!(
        files
            .iter()
            .any(|(p, t)| p.starts_with("Audio/") && t.contains("- App name: Webinar"))
    );

    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    for id in PLUGINS {
        assert_eq!(
            stored(&out, id),
            0,
            "{id}: unchanged input stores nothing\n{out}"
        );
    }
    let mut text = std::fs::read_to_string(inbox.join("inbox.md")).expect("inbox");
    text.push_str("\nOne more thought.\n");
    std::fs::write(inbox.join("inbox.md"), text).expect("inbox");
    let (ok, out) = capture(dir.path(), &["--plugin", "braindump-inbox"]);
    assert!(ok, "{out}");
    assert_eq!(
        stored(&out, "braindump-inbox"),
        1,
        "exactly the change:\n{out}"
    );
}

#[test]
fn malformed_inputs_give_a_log_line_each_and_the_rest_is_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).expect("bad");
    let ics = std::fs::read_to_string(fixtures().join("ics/sabre_test.ics")).expect("ics");
    std::fs::write(bad.join("truncated.ics"), &ics[..ics.len() / 2]).expect("write");
    std::fs::write(bad.join("junk.gpx"), [0x00, 0xff, 0x13, 0x37]).expect("write");
    std::fs::write(bad.join("broken.mbox"), "From nobody\n\x00\x01\x02").expect("write");
    std::fs::write(bad.join("empty.vtt"), "").expect("write");
    std::fs::write(bad.join("latin1.md"), [b'c', b'a', b'f', 0xe9]).expect("write");
    std::fs::write(bad.join("nothing.jsonl"), "not json\n").expect("write");
    std::fs::copy(fixtures().join("ics/sabre_test.ics"), bad.join("good.ics")).expect("good");
    let b = bad.display().to_string();
    let cfg = format!(
        "[plugins.calendar-ics]\npaths = [{b:?}]\nfrom = \"2020-01-01\"\n[plugins.gps-gpx]\npaths = [{b:?}]\n[plugins.email-headers]\nenabled = true\npaths = [{b:?}]\n[plugins.transcripts]\npaths = [{b:?}]\n[plugins.notes-markdown]\npaths = [{b:?}]\n[plugins.music-listenbrainz]\npaths = [{b:?}]\n"
    );
    std::fs::write(dir.path().join("openclone.toml"), cfg).expect("config");
    for id in [
        "calendar-ics",
        "gps-gpx",
        "email-headers",
        "transcripts",
        "notes-markdown",
        "music-listenbrainz",
    ] {
        install_plugin(&dir.path().join("plugins"), id);
    }
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "a bad input is not a failed plugin:\n{out}");
    assert_eq!(
        stored(&out, "calendar-ics"),
        3,
        "the good calendar is read:\n{out}"
    );
    let log = std::fs::read_to_string(dir.path().join("host.log")).expect("log");
    for (plugin, file) in [
        ("calendar-ics", "truncated.ics"),
        ("gps-gpx", "junk.gpx"),
        ("email-headers", "broken.mbox"),
        ("transcripts", "empty.vtt"),
        ("notes-markdown", "latin1.md"),
        ("music-listenbrainz", "nothing.jsonl"),
    ] {
        let lines = log
            .lines()
            .filter(|l| {
                l.contains(&format!("plugin={plugin}")) && l.contains(file) && l.contains("WARN")
            })
            .count();
        assert_eq!(lines, 1, "one log line for {file} from {plugin}:\n{log}");
    }
}

#[test]
fn the_pass_summary_and_plugins_list_count_skipped_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let subs = dir.path().join("subs");
    std::fs::create_dir_all(&subs).expect("subs");
    std::fs::write(
        subs.join("talk.vtt"),
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ngood\n\n00:00:03.000 --> oops\nbroken\n\n00:00:05.000 --> 00:00:06.000\nalso good\n",
    )
    .expect("vtt");
    let s = subs.display().to_string();
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[plugins.transcripts]\npaths = [{s:?}]\n"),
    )
    .expect("config");
    install_plugin(&dir.path().join("plugins"), "transcripts");
    let (ok, out) = capture(dir.path(), &[]);
    assert!(ok, "{out}");
    let header = out
        .lines()
        .find(|l| l.starts_with("plugin"))
        .expect("a header");
    assert!(header.contains("bad records"), "{out}");
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.starts_with("transcripts"))
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[1..5],
        ["1", "0", "1", "1"],
        "stored, skipped, problems, bad records\n{out}"
    );

    let (ok, list, err) = openclone(dir.path(), &["plugins", "list"]);
    assert!(ok, "{err}");
    assert!(
        list.lines().next().is_some_and(|h| h.contains("bad rec.")),
        "{list}"
    );
    let row: Vec<&str> = list
        .lines()
        .find(|l| l.starts_with("transcripts"))
        .expect("a row")
        .split_whitespace()
        .collect();
    assert_eq!(row[7], "1", "the last pass's skipped records\n{list}");
}
