//! The plugin shelf: each plugin's throughput on its largest fixture, and the memory the
//! host holds with every plugin loaded.

use std::path::Path;
use std::sync::Arc;

use openclone_host::app::App;
use openclone_ingest::config::Config;
use openclone_runtime::sandbox::Runtime;
use openclone_runtime::supervisor::Manager;

/// (plugin, its largest fixture under tests/fixtures, extra settings).
const LARGEST: [(&str, &str, &str); 8] = [
    (
        "calendar-ics",
        "ics/alarm_thunderbird_future.ics",
        "from = \"2020-01-01\"\n",
    ),
    (
        "notes-markdown",
        "markdown-vault/main-samples/pure-markdown-examples.md",
        "",
    ),
    ("gps-gpx", "gpx/garmin-activity.gpx", ""),
    (
        "email-headers",
        "email/mailparse-test_email_01.eml",
        "enabled = true\n",
    ),
    ("shell-history", "shell/.zsh_history", ""),
    ("transcripts", "subtitles/styles_colours.vtt", ""),
    ("music-listenbrainz", "listenbrainz/listens.jsonl", ""),
    ("braindump-inbox", "inbox/inbox.md", ""),
];

/// This process's resident set, KiB.
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Prints a row per plugin and the memory row.
pub fn run(built: &Path, fixtures: &Path) {
    println!();
    println!("| plugin | largest fixture | bytes | events stored | pass ms | events/s | MB/s |");
    println!("|---|---|---|---|---|---|---|");
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("cache");
    for (id, fixture, extra) in LARGEST {
        let input = dir.path().join(id);
        std::fs::create_dir_all(&input).expect("input");
        let src = fixtures.join(fixture);
        let name = src.file_name().expect("name");
        std::fs::copy(&src, input.join(name)).expect("fixture");
        let bytes = std::fs::metadata(&src).map(|m| m.len()).unwrap_or(0);
        let cfg = Config::parse(
            &format!(
                "plugins_dir = {:?}\ndata_dir = {:?}\n[[tenants]]\nid = \"bench\"\napi_key_sha256 = [\"{}\"]\n[plugins.{id}]\npaths = [{:?}]\n{extra}",
                built.display().to_string(),
                dir.path().join(format!("data-{id}")).display().to_string(),
                "0".repeat(64),
                input.display().to_string()
            ),
            dir.path(),
            "bench",
        )
        .expect("config");
        let app = Arc::new(App::open(&cfg).expect("app"));
        let manager = Manager::new(
            app.links.clone(),
            Arc::new(Runtime::new(&cache, true).expect("runtime")),
        );
        let outcome = manager
            .run_once(&[id.to_owned()])
            .into_iter()
            .next()
            .expect("outcome");
        let report = outcome.result.expect("pass");
        let secs = report.elapsed.as_secs_f64().max(1e-9);
        println!(
            "| {id} | `{fixture}` | {bytes} | {} | {:.1} | {:.0} | {:.2} |",
            report.tally.stored,
            secs * 1000.0,
            report.tally.stored as f64 / secs,
            bytes as f64 / secs / 1e6
        );
        app.close();
    }

    let before = rss_kb();
    let rt = Runtime::new(&cache, true).expect("runtime");
    let loaded: Vec<_> = LARGEST
        .iter()
        .map(|(id, _, _)| {
            rt.load(&built.join(id).join("plugin.wasm"), None)
                .expect("load")
        })
        .collect();
    let after = rss_kb();
    println!();
    println!(
        "Memory: {} plugins loaded (compiled code from the cache, one `InstancePre` each) add {:.1} MiB to the host's resident set ({:.1} MiB → {:.1} MiB).",
        loaded.len(),
        (after.saturating_sub(before)) as f64 / 1024.0,
        before as f64 / 1024.0,
        after as f64 / 1024.0
    );
}
