//! A Python component next to a Rust one emitting the same events (`twin-python` and
//! `twin-rust`, issue 12): size, cold compile, cached load, instantiation, one pass, and
//! the resident memory they add; then the Python journal plugin's pass over its fixtures.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclone_host::app::App;
use openclone_host::config::Config;
use openclone_host::runtime::{Runtime, pass};

/// How one table cell is printed from a row.
type Cell = fn(&Row) -> String;

/// One component's numbers.
struct Row {
    size: u64,
    cold: Duration,
    cached: Duration,
    instantiate: Duration,
    pass: Duration,
    stored: u32,
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

/// Measures the drop-in `dropin` (plugin id `id`) in a fresh host folder; `extra` is
/// appended to its config.
fn measure(built: &Path, dropin: &str, id: &str, extra: &str) -> Row {
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
    let cache = dir.path().join("cache");
    let rt = Runtime::new(&cache, true).expect("runtime");
    let before = rss();
    let wasm = plugins.join(id).join("plugin.wasm");
    let cold = rt.load(&wasm, None).expect("cold load");
    assert!(!cold.from_cache);
    let cached = median(
        (0..5)
            .map(|_| {
                let rt = Runtime::new(&cache, true).expect("runtime");
                let l = rt.load(&wasm, None).expect("cached load");
                assert!(l.from_cache);
                l.load_time
            })
            .collect(),
    );
    let registry = app.registry();
    let (entry, manifest, _) = registry
        .wasm()
        .find(|(_, m, _)| m.id == id)
        .expect("plugin registered");
    let ctx = app.plugin_context(entry, manifest).expect("context");
    let report = pass::run(&rt, &cold, &ctx).expect("pass");
    let added_rss = rss().saturating_sub(before);
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
    Row {
        size: std::fs::metadata(&wasm).map_or(0, |m| m.len()),
        cold: cold.load_time,
        cached,
        instantiate,
        pass: report.elapsed,
        stored: report.tally.stored,
        added_rss,
    }
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
            "one pass (instantiate, init, capture: 15 events, fsync)",
            |r| {
                format!(
                    "{:.1} ms ({} stored)",
                    r.pass.as_secs_f64() * 1000.0,
                    r.stored
                )
            },
        ),
        ("resident memory added (load + one pass)", |r| {
            format!("{:.1} MiB", r.added_rss as f64 / f64::from(1 << 20))
        }),
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
