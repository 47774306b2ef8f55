//! The screen capability on a real X11 desktop (Xvfb + openbox + xterm + xdotool, OCR by
//! Debian's tesseract 5): screen-ocr reads the focused window once and an unchanged screen
//! runs no OCR; excluded windows are never read and are blacked out of monitor grabs;
//! pause; the grant; window-activity's focus sessions; no display / no tesseract.
//!
//! OCR tolerance: a shown word counts as read when it appears in the entry, compared
//! case-insensitively; each test needs every one of its distinctive words (long, common
//! English words in a 14-point DejaVu Sans Mono on white), not exact lines.

use std::path::Path;

use crate::support::desktop::Desktop;
use crate::support::{
    capture_with, install_plugin, marker_keys, openclone, stored_of, structure, vault_files,
};

/// A host folder with plugin `id` installed, enabled and granted the screen, plus `keys`
/// in its `[plugins.<id>]` table.
fn granted(id: &str, keys: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    install_plugin(&dir.path().join("plugins"), id);
    std::fs::write(
        dir.path().join("openclone.toml"),
        format!("[plugins.{id}]\nenabled = true\nscreen = true\n{keys}"),
    )
    .expect("config");
    dir
}

/// Every vault file under `folder/` (`Screen`, `Activity`), joined.
fn vault_text(dir: &Path, folder: &str) -> String {
    vault_files(&dir.join("data/vaults/default"))
        .into_iter()
        .filter(|(p, _)| p.starts_with(&format!("{folder}/")))
        .map(|(_, t)| t)
        .collect()
}

fn has_words(text: &str, words: &[&str]) -> bool {
    let lower = text.to_lowercase();
    words.iter().all(|w| lower.contains(&w.to_lowercase()))
}

#[test]
fn screen_ocr_stores_the_focused_windows_text_once_and_an_unchanged_screen_runs_no_ocr() {
    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "Quarterly plan",
        (40, 40),
        (60, 8),
        "Quarterly planning meeting\nRevenue forecast for September\n",
    );
    let dir = granted("screen-ocr", "");
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
    assert!(out.contains("screen: 1 reads, 0 unchanged, 1 OCR"), "{out}");
    let text = vault_text(dir.path(), "Screen");
    assert!(
        has_words(
            &text,
            &["planning", "meeting", "revenue", "forecast", "september"]
        ),
        "{text}"
    );
    assert!(
        text.contains("XTerm") && text.contains("Quarterly plan"),
        "{text}"
    );
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(0), "{out}");
    assert!(out.contains("screen: 1 reads, 1 unchanged, 0 OCR"), "{out}");
}

#[test]
fn excluded_windows_are_never_read_and_are_blacked_out_of_a_monitor_grab() {
    let mut desk = Desktop::start();
    let plain = desk.xterm(
        "XTerm",
        "Harbour notes",
        (0, 0),
        (40, 6),
        "Harbour lighthouse schedule\n",
    );
    let vault = desk.xterm(
        "KeePassXC",
        "Passwords.kdbx - KeePassXC",
        (600, 300),
        (40, 6),
        "Zebra crimson password\n",
    );
    let dir = granted("screen-ocr", "");
    let (_, out) = desk.capture(dir.path(), &[]);
    assert_eq!(
        stored_of(&out, "screen-ocr"),
        Some(0),
        "{out}{}",
        vault_text(dir.path(), "Screen")
    );
    assert!(out.contains("0 OCR, 1 excluded"), "{out}");
    let private = desk.xterm(
        "firefox",
        "Bank — Mozilla Firefox Private Browsing",
        (200, 500),
        (40, 4),
        "Private account balance\n",
    );
    let (_, out) = desk.capture(dir.path(), &[]);
    assert!(out.contains("0 OCR, 1 excluded"), "{out}");
    assert!(vault_text(dir.path(), "Screen").is_empty());
    drop(private);
    desk.focus(&plain);
    drop(vault);
    let dir = granted("screen-ocr", "target = \"monitor\"\n");
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
    let text = vault_text(dir.path(), "Screen");
    assert!(
        has_words(&text, &["harbour", "lighthouse", "schedule"]),
        "{text}"
    );
    for secret in [
        "zebra", "crimson", "password", "keepass", "private", "balance",
    ] {
        assert!(
            !text.to_lowercase().contains(secret),
            "{secret} leaked: {text}"
        );
    }
}

#[test]
fn pause_stops_screen_reads_until_it_ends() {
    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "Pause check",
        (40, 40),
        (50, 6),
        "Holiday itinerary draft\n",
    );
    let dir = granted("screen-ocr", "");
    let (ok, _, err) = openclone(dir.path(), &["pause", "--for", "5s"]);
    assert!(ok, "{err}");
    let (_, out) = desk.capture(dir.path(), &[]);
    assert_ne!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
    assert!(out.contains("paused"), "{out}");
    assert!(vault_text(dir.path(), "Screen").is_empty());
    std::thread::sleep(std::time::Duration::from_secs(6));
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
}

#[test]
fn without_the_grant_the_plugin_is_denied_naming_the_key_and_inspect_shows_the_grant() {
    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "Grant check",
        (40, 40),
        (50, 6),
        "Garden watering rota\n",
    );
    let dir = granted("screen-ocr", "");
    std::fs::write(
        dir.path().join("openclone.toml"),
        "[plugins.screen-ocr]\nenabled = true\n",
    )
    .expect("config");
    let (_, out) = desk.capture(dir.path(), &[]);
    assert!(out.contains("FAILED"), "{out}");
    assert!(
        out.contains("add `screen = true` to [plugins.screen-ocr]"),
        "{out}"
    );
    let (_, inspect, _) = openclone(dir.path(), &["plugins", "inspect", "screen-ocr"]);
    assert!(
        inspect.contains(
            "screen: requested, not granted (add `screen = true` to [plugins.screen-ocr])"
        ),
        "{inspect}"
    );
    std::fs::write(dir.path().join("openclone.toml"), "").expect("config");
    let (ok, out, err) = openclone(dir.path(), &["plugins", "enable", "screen-ocr"]);
    assert!(!ok, "enabling a screen plugin asks first: {out}");
    assert!(
        out.contains("With `screen` the host reads the window that has focus"),
        "{out}"
    );
    assert!(err.contains("needs confirmation"), "{err}");
    let (ok, out, err) = openclone(dir.path(), &["plugins", "enable", "screen-ocr", "--yes"]);
    assert!(ok, "{out}{err}");
    let config = std::fs::read_to_string(dir.path().join("openclone.toml")).expect("config");
    assert!(
        config.contains("enabled = true") && config.contains("screen = true"),
        "{config}"
    );
    let (_, inspect, _) = openclone(dir.path(), &["plugins", "inspect", "screen-ocr"]);
    assert!(
        inspect.contains("screen: granted ([plugins.screen-ocr] screen = true)"),
        "{inspect}"
    );
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
}

/// `## HH:MM:SS–HH:MM:SS · app` headings of a vault text: (app, seconds).
fn sessions(text: &str) -> Vec<(String, i64)> {
    let secs = |t: &str| -> Option<i64> {
        let p: Vec<i64> = t
            .split(':')
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        Some(p.first()? * 3600 + p.get(1)? * 60 + p.get(2)?)
    };
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("## ")?;
            let (span, app) = rest.split_once(" · ")?;
            let (a, b) = span.split_once('–')?;
            Some((app.trim().to_owned(), secs(b)? - secs(a)?))
        })
        .collect()
}

/// One `capture` on `desk`: the events window-activity stored.
fn activity_pass(desk: &Desktop, dir: &Path) -> u64 {
    let (ok, out) = desk.capture(dir, &[]);
    assert!(ok, "{out}");
    stored_of(&out, "window-activity").unwrap_or(0)
}

#[test]
fn window_activity_records_each_focused_window_with_its_duration() {
    let mut desk = Desktop::start();
    let alpha = desk.xterm("Alpha", "Alpha notes", (0, 0), (40, 6), "alpha\n");
    let beta = desk.xterm("Beta", "Beta mail", (500, 300), (40, 6), "beta\n");
    let dir = granted("window-activity", "");
    let pass = || activity_pass(&desk, dir.path());
    desk.focus(&alpha);
    assert_eq!(pass(), 0);
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(pass(), 0);
    desk.focus(&beta);
    assert_eq!(pass(), 1, "alpha's session ends when beta takes the focus");
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert_eq!(pass(), 0);
    desk.focus(&alpha);
    assert_eq!(pass(), 1, "beta's session ends");
    let text = vault_text(dir.path(), "Activity");
    let s = sessions(&text);
    assert_eq!(s.len(), 2, "{text}");
    assert_eq!(s[0].0, "Alpha", "{text}");
    assert_eq!(s[1].0, "Beta", "{text}");
    // Each ends at the pass that saw the next window: its sleep plus about two passes.
    assert!(
        (3..=8).contains(&s[0].1),
        "alpha lasted {} s: {text}",
        s[0].1
    );
    assert!(
        (5..=10).contains(&s[1].1),
        "beta lasted {} s: {text}",
        s[1].1
    );
    assert!(
        text.contains("Alpha notes") && text.contains("Beta mail"),
        "{text}"
    );
}

#[test]
fn no_display_or_no_tesseract_fails_the_pass_with_the_reason_and_other_plugins_run() {
    let dir = granted("screen-ocr", "");
    install_plugin(&dir.path().join("plugins"), "braindump-inbox");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    std::fs::write(inbox.join("inbox.md"), "Buy lightbulbs.\n").expect("inbox file");
    let config = |screen: &str| {
        format!(
            "{screen}[plugins.screen-ocr]\nenabled = true\nscreen = true\n\n[plugins.braindump-inbox]\npaths = [{:?}]\n",
            inbox.display().to_string()
        )
    };
    std::fs::write(dir.path().join("openclone.toml"), config("")).expect("config");
    let (_, out) = capture_with(
        dir.path(),
        &[],
        &[("DISPLAY", None), ("WAYLAND_DISPLAY", None)],
    );
    assert!(
        out.contains("FAILED") && out.contains("unsupported: no display: DISPLAY is not set"),
        "{out}"
    );
    assert_eq!(stored_of(&out, "braindump-inbox"), Some(1), "{out}");
    let (_, out) = capture_with(
        dir.path(),
        &[],
        &[
            ("DISPLAY", Some(":0")),
            ("WAYLAND_DISPLAY", Some("wayland-0")),
        ],
    );
    assert!(out.contains("unsupported: Wayland session"), "{out}");

    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "Engine check",
        (40, 40),
        (50, 6),
        "Kitchen renovation budget\n",
    );
    std::fs::write(
        dir.path().join("openclone.toml"),
        config("[screen]\ntesseract = \"/nonexistent/tesseract\"\n\n"),
    )
    .expect("config");
    let (_, out) = desk.capture(dir.path(), &[]);
    assert!(
        out.contains("cannot start /nonexistent/tesseract")
            && out.contains("apt-get install tesseract-ocr"),
        "{out}"
    );
    let (_, doctor, _) = openclone(dir.path(), &["doctor"]);
    assert!(
        doctor.contains("FAIL  screen ocr: /nonexistent/tesseract cannot be started"),
        "{doctor}"
    );
}

#[test]
fn window_activity_records_an_away_session_from_the_x_servers_idle_time() {
    let mut desk = Desktop::start();
    desk.xterm("Gamma", "Gamma draft", (0, 0), (40, 6), "gamma\n");
    let dir = granted("window-activity", "afk_after_s = 2\n");
    let pass = || activity_pass(&desk, dir.path());
    // Input now (XTEST through xdotool), then a pass: Gamma's session opens.
    desk.xdotool(&["mousemove", "5", "5"]).expect("mousemove");
    assert_eq!(pass(), 0);
    std::thread::sleep(std::time::Duration::from_secs(4));
    assert_eq!(
        pass(),
        1,
        "no input for 4 s: Gamma's session ends, away begins"
    );
    desk.xdotool(&["mousemove", "60", "60"]).expect("mousemove");
    assert_eq!(pass(), 1, "input again: the away session ends");
    let text = vault_text(dir.path(), "Activity");
    let s = sessions(&text);
    assert_eq!(s.len(), 2, "{text}");
    assert_eq!(s[0].0, "Gamma", "{text}");
    assert_eq!(s[1].0, "Away", "{text}");
    // Gamma ran from the first pass to the input's stop (the mousemove, just before it).
    assert!(s[0].1 <= 2, "gamma lasted {} s: {text}", s[0].1);
    assert!(
        (3..=8).contains(&s[1].1),
        "away lasted {} s: {text}",
        s[1].1
    );
}

#[test]
fn a_plugin_spinning_on_the_screen_is_stopped_by_the_pass_budgets() {
    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "Spin target",
        (40, 40),
        (40, 6),
        "Lantern festival\n",
    );
    let dir = granted("hostile-screen", "screen_reads_per_pass = 5\n");
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "hostile-screen"), Some(1), "{out}");
    // One read was monitor 99, four were the window: one OCR, three unchanged.
    assert!(out.contains("screen: 5 reads, 3 unchanged, 1 OCR"), "{out}");
    let text: String = vault_files(&dir.path().join("data/vaults/default"))
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert!(
        text.contains("metadata: 1000 then the pass's limit of 1000 screen calls is spent"),
        "{text}"
    );
    assert!(
        text.contains("monitor 99: screen: no monitor 99: this display has 1"),
        "{text}"
    );
    assert!(
        text.contains("reads: 4 then the pass's limit of 5 screen calls is spent"),
        "{text}"
    );
}

#[test]
fn a_hostile_window_title_and_screen_text_cannot_forge_vault_structure() {
    let mut desk = Desktop::start();
    desk.xterm(
        "XTerm",
        "## 10:00 · forged <!-- openclone:entry v=1 key=0000 -->",
        (20, 20),
        (60, 6),
        "## 10:00:00 forged heading\n<!-- openclone:entry v=1 -->\n",
    );
    let dir = granted("screen-ocr", "");
    let (ok, out) = desk.capture(dir.path(), &[]);
    assert!(ok, "{out}");
    assert_eq!(stored_of(&out, "screen-ocr"), Some(1), "{out}");
    let text = vault_text(dir.path(), "Screen");
    assert!(text.contains("forged heading"), "the text was read: {text}");
    let s = structure(&text);
    assert_eq!((s.front_matter, s.h2), (1, 1), "one entry heading: {text}");
    assert_eq!(marker_keys(&text).len(), 1, "one marker: {text}");
}
