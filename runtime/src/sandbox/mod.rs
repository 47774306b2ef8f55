//! The WebAssembly runtime (wasmtime, component model, WASI p2): one `Engine` and one
//! `Linker` for the process, a compiled-component cache on disk, an `InstancePre` per
//! plugin, epoch interruption for time limits and the pooling allocator where it fits.

pub mod bindings;
mod cache;
pub mod capability;
pub mod context;
pub mod pass;
pub mod state_store;
mod stdio;
pub mod world;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use self::bindings::CapturePluginPre;
use self::context::PluginState;
use self::world::Pre;

/// How often the epoch ticks; a call's deadline is counted in these.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The WIT package this host implements: components must import a compatible version.
pub const WIT_PACKAGE: &str = "openclone:capture";
/// Its version (`wit/capture.wit`).
pub const WIT_VERSION: semver::Version = semver::Version::new(0, 3, 0);

/// The process's engine and linker.
pub struct Runtime {
    engine: Engine,
    linker: Linker<PluginState>,
    /// Timers and the blocking pool behind WASI's async host calls; `None` only while
    /// dropping.
    io: Option<tokio::runtime::Runtime>,
    cache_dir: PathBuf,
    /// Whether the pooling allocator is in use (else on-demand allocation).
    pub pooling: bool,
    ticking: Arc<AtomicBool>,
}

/// A plugin component ready to instantiate.
pub struct Loaded {
    /// The pre-linked instance, of its world version: instantiating it is the cheap
    /// per-pass step.
    pub pre: Pre,
    /// sha256 of the `.wasm`, hex.
    pub sha256: String,
    /// True if the compiled code came from the on-disk cache (no compilation).
    pub from_cache: bool,
    /// Time to read, hash, compile or deserialize, and pre-link.
    pub load_time: Duration,
    /// The component's imports (interfaces and functions), by name.
    pub imports: Vec<String>,
    /// The component's exports, by name.
    pub exports: Vec<String>,
}

/// Engine settings for plugins.
fn config(pooling: bool) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    if pooling {
        let mut p = PoolingAllocationConfig::default();
        p.total_component_instances(64);
        p.total_core_instances(256);
        p.total_memories(128);
        p.total_tables(256);
        p.max_memory_size(1 << 30);
        c.allocation_strategy(InstanceAllocationStrategy::Pooling(p));
    }
    c
}

impl Runtime {
    /// Builds the engine (pooling allocator if `pooling` and the machine allows it, else
    /// on-demand), the linker with WASI p2 and every capability's imports, and starts
    /// the epoch ticker. Compiled components are cached under `cache_dir`.
    ///
    /// Errors: the engine cannot be built at all, or the cache folder cannot be created.
    pub fn new(cache_dir: &Path, pooling: bool) -> anyhow::Result<Self> {
        let (engine, pooling) = match pooling.then(|| Engine::new(&config(true))) {
            Some(Ok(e)) => (e, true),
            Some(Err(e)) => {
                tracing::warn!(error = %e, "pooling allocator unavailable here; using on-demand allocation");
                (Engine::new(&config(false))?, false)
            }
            None => (Engine::new(&config(false))?, false),
        };
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        let io = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("wasi-io")
            .enable_all()
            .build()?;
        capability::link(&mut linker)?;
        world::link_older(&mut linker)?;
        openclone_vault::durable::create_dir_all(cache_dir)
            .with_context(|| format!("creating {}", cache_dir.display()))?;
        let ticking = Arc::new(AtomicBool::new(true));
        let (e, t) = (engine.clone(), ticking.clone());
        std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                while t.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    e.increment_epoch();
                }
            })?;
        Ok(Self {
            engine,
            linker,
            io: Some(io),
            cache_dir: cache_dir.to_path_buf(),
            pooling,
            ticking,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Makes this runtime's timers and blocking pool the current ones on this thread, for
    /// as long as the guard lives: WASI needs them while a store is built, used and dropped.
    pub fn enter(&self) -> Option<tokio::runtime::EnterGuard<'_>> {
        self.io.as_ref().map(tokio::runtime::Runtime::enter)
    }

    /// Drives `call` (a component call) on the calling thread, with this runtime's timers
    /// and blocking pool, for at most `limit`. `None`: the limit passed and the call was
    /// dropped where it stood (its store must be dropped too). A host thread left blocked
    /// in the kernel by the dropped call (a FIFO read) is abandoned to the blocking pool.
    ///
    /// Panics if called from inside an async context: run passes on their own threads.
    pub fn run_for<F: std::future::Future>(&self, limit: Duration, call: F) -> Option<F::Output> {
        let io = self.io.as_ref()?;
        io.handle().block_on(tokio::time::timeout(limit, call)).ok()
    }

    /// Loads a component: checks its sha256 (if the manifest pins one), takes the compiled
    /// code from the cache or compiles and caches it, checks it targets a compatible
    /// `openclone:capture` version and exports the world, and pre-links it.
    ///
    /// Errors name the file and the fix: unreadable, sha256 mismatch, not a component,
    /// wrong WIT version, missing exports.
    pub fn load(&self, path: &Path, expected_sha256: Option<&str>) -> anyhow::Result<Loaded> {
        let started = Instant::now();
        let (sha256, bytes) = cache::sha256_of(&self.cache_dir, path, expected_sha256.is_some())
            .with_context(|| format!("reading {}", path.display()))?;
        if let Some(want) = expected_sha256
            && !want.eq_ignore_ascii_case(&sha256)
        {
            bail!(
                "{}: sha256 is {sha256}, but plugin.json pins {want}; rebuild the plugin or update its sha256",
                path.display()
            );
        }
        let (component, from_cache) =
            cache::load_or_compile(&self.engine, &self.cache_dir, path, bytes, &sha256)
                .with_context(|| {
                    format!("{}: not a loadable WebAssembly component", path.display())
                })?;
        let minor =
            check_world(&self.engine, &component).with_context(|| path.display().to_string())?;
        let pre = context(self.linker.instantiate_pre(&component), || {
            format!("{}: cannot be linked", path.display())
        })?;
        let pre = if minor == WIT_VERSION.minor {
            Pre::Current(context(CapturePluginPre::new(pre), || {
                format!(
                    "{}: does not export describe, init and capture",
                    path.display()
                )
            })?)
        } else {
            Pre::Older { pre, minor }
        };
        let ty = component.component_type();
        let imports = ty
            .imports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        let exports = ty
            .exports(&self.engine)
            .map(|(n, _)| n.to_owned())
            .collect();
        Ok(Loaded {
            pre,
            sha256,
            from_cache,
            load_time: started.elapsed(),
            imports,
            exports,
        })
    }
}

/// A wasmtime result as an `anyhow` one, with `what` as context.
fn context<T>(r: wasmtime::Result<T>, what: impl FnOnce() -> String) -> anyhow::Result<T> {
    r.map_err(|e| anyhow::Error::from(e).context(what()))
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.ticking.store(false, Ordering::Relaxed);
        // Never wait for blocking-pool threads: one may sit in a read that never returns.
        if let Some(io) = self.io.take() {
            io.shutdown_background();
        }
    }
}

/// The 0.x minor version of the package `component` imports, if this host links it
/// ([`world::VERSIONS`]); a component that imports none of the package is taken as the
/// current one. Errors: an unversioned import, a version never shipped, or two versions.
fn check_world(engine: &Engine, component: &Component) -> anyhow::Result<u64> {
    let ty = component.component_type();
    let mut found: Option<semver::Version> = None;
    for (name, _) in ty.imports(engine) {
        let Some(rest) = name
            .strip_prefix(WIT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let Some((iface, version)) = rest.split_once('@') else {
            bail!(
                "imports {name} without a version; rebuild against openclone-guest for {WIT_PACKAGE}@{WIT_VERSION}"
            );
        };
        let v = semver::Version::parse(version)
            .with_context(|| format!("import {name}: bad version"))?;
        if !world::VERSIONS.contains(&(v.major, v.minor)) {
            let known: Vec<String> = world::VERSIONS
                .iter()
                .map(|(ma, mi)| format!("{ma}.{mi}.x"))
                .collect();
            bail!(
                "built for {WIT_PACKAGE}@{v} (it imports {WIT_PACKAGE}/{iface}@{v}), but this host speaks {WIT_PACKAGE}@{}; rebuild it with a matching openclone-guest",
                known.join(", ")
            );
        }
        if let Some(other) = &found
            && (other.major, other.minor) != (v.major, v.minor)
        {
            bail!("imports {WIT_PACKAGE} at both {other} and {v}; a component speaks one version");
        }
        found = Some(v);
    }
    Ok(found.map_or(WIT_VERSION.minor, |v| v.minor))
}
