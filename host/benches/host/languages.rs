//! A Python component next to a Rust one emitting the same events (`twin-python` and
//! `twin-rust`): size, cold compile, cached load, instantiation, one pass, and
//! the resident memory a restart with one adds (measured in a child process of its own);
//! then the Python journal plugin's pass over its fixtures.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclone_host::app::App;
use openclone_ingest::config::Config;
use openclone_runtime::sandbox::{Runtime, pass};

use crate::plugins::context;

/// How one table cell is printed from a row.
type Cell = fn(&Row) -> String;

/// One component's numbers.
struct Row {
    size: u64,
    cold: Duration,
    cached: Duration,
    instantiate: Duration,
    pass: Duration,
    stored: u64,
    added_rss: u64,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

/// Resident set size of this process, bytes (`/proc/self/statm`).
fn rss() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Copies the built drop-in `dropin` into `plugins/<id>` (a plugin's folder is its id).
fn copy_dropin(built: &Path, dropin: &str, id: &str, plugins: &Path) {
    let to = plugins.join(id);
    std::fs::create_dir_all(&to).expect("plugin folder");
    for f in ["plugin.json", "plugin.wasm"] {
        std::fs::copy(built.join(dropin).join(f), to.join(f)).expect("copy drop-in");
    }
}

/// A fresh host folder with the drop-in `dropin` as plugin `id`; `extra` is appended to
/// its config.
fn host(built: &Path, dropin: &str, id: &str, extra: &str) -> (tempfile::TempDir, Arc<App>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let plugins = dir.path().join("plugins");
    copy_dropin(built, dropin, id, &plugins);
    let cfg = Config::parse(
        &format!(
            "plugins_dir = {:?}\n[[tenants]]\nid = \"bench\"\napi_key_sha256 = [\"{}\"]\n{extra}",
            plugins.display().to_string(),
            "0".repeat(64)
        ),
        dir.path(),
        "bench",
    )
    .expect("config");
    let app = Arc::new(App::open(&cfg).expect("app"));
    (dir, app)
}

/// Measures the drop-in `dropin` (plugin id `id`); `extra` is appended to its config.
fn measure(built: &Path, dropin: &str, id: &str, extra: &str) -> Row {
    let cache = tempfile::tempdir().expect("cache");
    let wasm = built.join(dropin).join("plugin.wasm");
    let rt = Runtime::new(cache.path(), true).expect("runtime");
    let cold = rt.load(&wasm, None).expect("cold load");
    assert!(!cold.from_cache);
    let cached = median(
        (0..5)
            .map(|_| {
                let rt = Runtime::new(cache.path(), true).expect("runtime");
                let l = rt.load(&wasm, None).expect("cached load");
                assert!(l.from_cache);
                l.load_time
            })
            .collect(),
    );
    let mut passes = Vec::new();
    let mut stored = 0;
    for _ in 0..3 {
        let (_dir, app) = host(built, dropin, id, extra);
        let report = pass::run(&rt, &cold, &context(&app, id)).expect("pass");
        stored = report.tally.stored;
        passes.push(report.elapsed);
        app.close();
    }
    let (_dir, app) = host(built, dropin, id, extra);
    let ctx = context(&app, id);
    let instantiate = {
        let _io = rt.enter();
        median(
            (0..50)
                .map(|_| {
                    let t0 = Instant::now();
                    let (mut store, _, _) =
                        pass::store(&rt, &ctx, &Default::default()).expect("store");
                    rt.run_for(
                        Duration::from_secs(30),
                        cold.pre.instantiate_async(&mut store),
                    )
                    .expect("in time")
                    .expect("instantiate");
                    t0.elapsed()
                })
                .collect(),
        )
    };
    app.close();
    let child = std::process::Command::new(std::env::current_exe().expect("bench binary"))
        .args(["languages-rss", dropin, id])
        .arg(cache.path())
        .output()
        .expect("the RSS child runs");
    let added_rss = String::from_utf8_lossy(&child.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    Row {
        size: std::fs::metadata(&wasm).map_or(0, |m| m.len()),
        cold: cold.load_time,
        cached,
        instantiate,
        pass: median(passes),
        stored,
        added_rss,
    }
}

/// In a process of its own: the resident memory a host gains by loading the drop-in from
/// the compile cache `cache` and running one pass (what a restart costs), printed in bytes.
pub fn rss_child(built: &Path, dropin: &str, id: &str, cache: &Path) {
    let (_dir, app) = host(built, dropin, id, "");
    let rt = Runtime::new(cache, true).expect("runtime");
    let ctx = context(&app, id);
    let before = rss();
    let loaded = rt
        .load(&built.join(dropin).join("plugin.wasm"), None)
        .expect("cached load");
    assert!(loaded.from_cache);
    pass::run(&rt, &loaded, &ctx).expect("pass");
    println!("{}", rss().saturating_sub(before));
    app.close();
}

/// Prints the comparison table and the journal row (`root`: the repository).
pub fn run(built: &Path, root: &Path) {
    let rust = measure(built, "twin-rust", "twin", "");
    let python = measure(built, "twin-python", "twin", "");
    let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
    let rows: [(&str, Cell); 6] = [
        ("component size", |r| {
            format!("{:.1} MB", r.size as f64 / 1e6)
        }),
        ("cold compile + pre-link", |r| {
            format!("{:.0} ms", r.cold.as_secs_f64() * 1000.0)
        }),
        ("cached load (new engine, from disk; median of 5)", |r| {
            format!("{:.1} ms", r.cached.as_secs_f64() * 1000.0)
        }),
        ("instantiation from `InstancePre` (median of 50)", |r| {
            format!("{:.2} ms", r.instantiate.as_secs_f64() * 1000.0)
        }),
        (
            "one pass (instantiate, init, capture: 15 events, fsync; median of 3 fresh vaults)",
            |r| {
                format!(
                    "{:.1} ms ({} stored)",
                    r.pass.as_secs_f64() * 1000.0,
                    r.stored
                )
            },
        ),
        (
            "resident memory added (cached load + one pass, own process)",
            |r| format!("{:.1} MiB", r.added_rss as f64 / f64::from(1 << 20)),
        ),
    ];
    println!();
    println!("| step | Rust (`twin-rust`) | Python (`twin-python`) |");
    println!("|---|---|---|");
    for (name, f) in rows {
        println!("| {name} | {} | {} |", f(&rust), f(&python));
    }
    let journal = root.join("plugins/journal-jrnl/tests/fixtures");
    let jrnl = measure(
        built,
        "journal-jrnl",
        "journal-jrnl",
        &format!(
            "[plugins.journal-jrnl]\nenabled = true\npaths = [{:?}]\n",
            journal.display().to_string()
        ),
    );
    println!(
        "| journal-jrnl (Python): one pass over its fixtures | – | {} ({} stored) |",
        ms(jrnl.pass),
        jrnl.stored
    );
}
