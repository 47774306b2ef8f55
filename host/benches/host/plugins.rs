//! WebAssembly plugins: cold compile, cached load, instantiation from `InstancePre` with
//! pooling on and off next to a bare wasmtime instantiation, and the per-event cost of
//! `emit`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openclone_host::app::App;
use openclone_ingest::config::Config;
use openclone_runtime::sandbox::bindings::CapturePlugin;
use openclone_runtime::sandbox::context::{Limiter, PluginContext, PluginState};
use openclone_runtime::sandbox::{Runtime, pass};
use openclone_runtime::supervisor::Manager;
use openclone_vault::Tally;
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Engine, Store, StoreLimits};

/// Instantiations timed per row.
const INSTANTIATIONS: u32 = 2000;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// An app whose plugins folder is `plugins` (built drop-ins), in `dir`.
fn app(dir: &Path, plugins: &Path, extra: &str) -> Arc<App> {
    let cfg = Config::parse(
        &format!(
            "plugins_dir = {:?}\n[ingest]\nrate_burst = 1000000\nrate_per_s = 1000000.0\n[[tenants]]\nid = \"bench\"\napi_key_sha256 = [\"{}\"]\n{extra}",
            plugins.display().to_string(),
            "0".repeat(64)
        ),
        dir,
        "bench",
    )
    .expect("config");
    Arc::new(App::open(&cfg).expect("app"))
}

/// The context of registered plugin `id` of `app`.
pub fn context(app: &App, id: &str) -> Arc<PluginContext> {
    let registry = app.registry();
    let (entry, manifest, _) = registry
        .wasm()
        .find(|(_, m, _)| m.id == id)
        .expect("plugin registered");
    app.links.plugin_context(entry, manifest).expect("context")
}

/// Prints the plugin rows; `pipeline_rate` and `http_rate` (events/s) from the same run put
/// the emit cost next to them.
pub fn run(built: &Path, pipeline_rate: f64, http_rate: f64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = app(
        dir.path(),
        built,
        "[plugins.bench-emitter]\ncount = 20000\n",
    );
    let cache = dir.path().join("cache");
    println!();
    println!("| plugin step | component | value |");
    println!("|---|---|---|");
    for (id, file) in [
        ("calendar-ics", "calendar-ics/plugin.wasm"),
        ("well-behaved", "well-behaved/plugin.wasm"),
    ] {
        let wasm = built.join(file);
        let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
        let rt = Runtime::new(&cache, true).expect("runtime");
        let cold = rt.load(&wasm, None).expect("cold load");
        assert!(!cold.from_cache);
        println!(
            "| cold compile + pre-link | {id} ({} KB) | {:.1} ms |",
            size / 1024,
            cold.load_time.as_secs_f64() * 1000.0
        );
        let cached: Vec<Duration> = (0..20)
            .map(|_| {
                let rt = Runtime::new(&cache, true).expect("runtime");
                let l = rt.load(&wasm, None).expect("cached load");
                assert!(l.from_cache);
                l.load_time
            })
            .collect();
        println!(
            "| cached load (new engine, from disk) | {id} | {:.2} ms (median of 20) |",
            median(cached).as_secs_f64() * 1000.0
        );
    }

    let wasm = built.join("well-behaved/plugin.wasm");
    let ctx = context(&app, "well-behaved");
    let (bare_linker, bare) = bare_instantiation(&wasm, &ctx);
    println!(
        "| bare wasmtime: `Linker::instantiate`, default engine | well-behaved | {:.1} µs |",
        us(bare_linker)
    );
    println!(
        "| bare wasmtime: `InstancePre::instantiate`, default engine | well-behaved | {:.1} µs |",
        us(bare)
    );
    for pooling in [true, false] {
        let rt = Runtime::new(&cache, pooling).expect("runtime");
        let loaded = rt.load(&wasm, None).expect("load");
        let _io = rt.enter();
        let mut times = Vec::with_capacity(INSTANTIATIONS as usize);
        for _ in 0..INSTANTIATIONS {
            let t0 = Instant::now();
            let (mut store, _, _) = pass::store(&rt, &ctx, &Default::default()).expect("store");
            let instance = rt
                .run_for(
                    Duration::from_secs(30),
                    loaded.pre.instantiate_async(&mut store),
                )
                .expect("in time")
                .expect("instantiate");
            times.push(t0.elapsed());
            drop((instance, store));
        }
        let ours = median(times);
        println!(
            "| host: store (WASI, pipes, limits, deadline) + `InstancePre::instantiate_async` driven by `run_for`, pooling {} | well-behaved | {:.1} µs ({:.2}× bare `InstancePre`) |",
            if rt.pooling { "on" } else { "off" },
            us(ours),
            us(ours) / us(bare)
        );
    }

    let manager = Manager::new(
        app.links.clone(),
        Arc::new(Runtime::new(&cache, true).expect("runtime")),
    );
    let warm = manager.run_once(&["bench-emitter".to_owned()]);
    let outcome = manager.run_once(&["bench-emitter".to_owned()]);
    drop(warm);
    let report = outcome
        .into_iter()
        .next()
        .and_then(|o| o.result.ok())
        .expect("bench pass");
    let per_event = report.elapsed.as_secs_f64() * 1e6 / report.tally.stored.max(1) as f64;
    let pipeline = 1e6 / pipeline_rate;
    let http = 1e6 / http_rate;
    println!(
        "| `emit`, 500-event batches, {} events in one pass | bench-emitter | {:.2} µs/event ({:.0} events/s; {:.2}× the direct pipeline) |",
        report.tally.stored,
        per_event,
        1e6 / per_event,
        per_event / pipeline
    );
    println!("| direct pipeline, 1 thread (same run) | – | {pipeline:.2} µs/event |");
    println!("| HTTP ingest, 4 clients (same run) | – | {http:.2} µs/event |");
    app.close();
}

/// Median times of a plain wasmtime instantiation (default engine, the same imports, no
/// pooling, no limits, an empty WASI context): through `Linker::instantiate`, and through
/// an `InstancePre`.
fn bare_instantiation(wasm: &Path, ctx: &Arc<PluginContext>) -> (Duration, Duration) {
    let engine = Engine::default();
    let mut linker: Linker<PluginState> = Linker::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
    CapturePlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s).expect("imports");
    let component = Component::from_file(&engine, wasm).expect("compile");
    let pre = linker.instantiate_pre(&component).expect("pre");
    let state = || PluginState {
        wasi: wasmtime_wasi::WasiCtx::builder().build(),
        table: Default::default(),
        limits: Limiter::new(StoreLimits::default()),
        plugin: ctx.clone(),
        tally: Tally::default(),
        logs_suppressed: 0,
        instances: Default::default(),
        describing: false,
    };
    let (mut via_linker, mut via_pre) = (Vec::new(), Vec::new());
    for _ in 0..INSTANTIATIONS {
        let t0 = Instant::now();
        let mut store = Store::new(&engine, state());
        let instance = linker
            .instantiate(&mut store, &component)
            .expect("instantiate");
        via_linker.push(t0.elapsed());
        drop((instance, store));
        let t0 = Instant::now();
        let mut store = Store::new(&engine, state());
        let instance = pre.instantiate(&mut store).expect("instantiate");
        via_pre.push(t0.elapsed());
        drop((instance, store));
    }
    (median(via_linker), median(via_pre))
}
