//! Runs WebAssembly plugins: loads each enabled one (compile cache, `InstancePre`), runs
//! passes on its schedule and when a granted folder changes, restarts a failed plugin
//! with exponential backoff and parks it as `error` after repeated failures, and picks up
//! plugin folders added, changed or removed while the host runs (DESIGN.md, "Running
//! plugins").

use std::collections::HashMap;
use std::path::Path;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher};

use crate::last_pass;
use crate::links::Links;
use crate::manifest::Manifest;
use crate::registry::{Entry, Registry};
use crate::sandbox::context::PluginContext;
use crate::sandbox::pass::{self, PassError, PassReport};
use crate::sandbox::{Loaded, Runtime};
use openclone_ingest::clock::unix_now;
use openclone_ingest::guard::no_panic;
use openclone_vault::Tally;

/// First wait after a failed pass; doubles per consecutive failure.
const BACKOFF_START: Duration = Duration::from_secs(1);
/// Longest wait between retries.
const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// How often the scheduler looks whether a pause has ended (`openclone resume` or its end).
const PAUSE_POLL: Duration = Duration::from_secs(1);
/// What `openclone capture` says of a plugin while recording is paused.
const PAUSED: &str = "recording is paused (openclone pause); `openclone resume` ends it";
/// Quiet time after a file event before acting on it.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// A loaded plugin and its schedule.
struct Slot {
    entry: Arc<Entry>,
    loaded: Arc<Loaded>,
    ctx: Arc<PluginContext>,
    fingerprint: (u64, Option<SystemTime>),
    next_due: Instant,
    running: bool,
    _watcher: Option<notify::RecommendedWatcher>,
}

/// Messages to the scheduler thread.
enum Msg {
    Rescan,
    PathChanged(String),
    PassDone(String, Result<PassReport, PassError>),
    Stop,
}

/// The outcome of one plugin's pass, for `openclone capture`.
pub struct Outcome {
    /// Plugin id.
    pub id: String,
    /// The pass's report, or why the plugin could not be loaded or failed.
    pub result: Result<PassReport, String>,
}

/// Runs the WebAssembly plugins the [`Links`] registry holds.
pub struct Manager {
    app: Arc<Links>,
    runtime: Arc<Runtime>,
    tx: Mutex<Option<Sender<Msg>>>,
}

fn fingerprint(path: &Path) -> (u64, Option<SystemTime>) {
    std::fs::metadata(path)
        .map(|m| (m.len(), m.modified().ok()))
        .unwrap_or((0, None))
}

/// True for a watcher event that means something changed. Reading a file (the host
/// itself reads `plugin.json` and `plugin.wasm` on every load, a plugin reads its granted
/// files on every pass) raises access events: acting on those would rescan forever.
fn is_change(ev: &notify::Result<notify::Event>) -> bool {
    ev.as_ref().is_ok_and(|e| !e.kind.is_access())
}

impl Manager {
    /// A manager for the plugins of `app` on `runtime`.
    pub fn new(app: Arc<Links>, runtime: Arc<Runtime>) -> Arc<Self> {
        Arc::new(Self {
            app,
            runtime,
            tx: Mutex::new(None),
        })
    }

    /// Loads a plugin's component and builds its context; records load time and whether
    /// the cache served it. Errors: the reason, also recorded as the entry's last error.
    fn load(
        &self,
        entry: &Arc<Entry>,
        manifest: &Manifest,
        component: &Path,
    ) -> Result<(Arc<Loaded>, Arc<PluginContext>), String> {
        let sha = manifest.raw.get("sha256").and_then(|v| v.as_str());
        let loaded = match self.runtime.load(component, sha) {
            Ok(l) => l,
            Err(e) => {
                let msg = format!("{e:#}");
                tracing::error!(plugin = %manifest.id, error = %msg, "plugin not loaded");
                entry.update(|s| {
                    s.parked = true;
                    s.last_error = Some(format!("load: {msg}"));
                });
                return Err(msg);
            }
        };
        tracing::info!(plugin = %manifest.id, sha256 = %&loaded.sha256[..16], from_cache = loaded.from_cache, load_ms = loaded.load_time.as_secs_f64() * 1000.0, "plugin loaded");
        entry.update(|s| {
            s.from_cache = Some(loaded.from_cache);
            s.load_ms = Some(loaded.load_time.as_secs_f64() * 1000.0);
            if !loaded.from_cache {
                s.compiles += 1;
            }
        });
        let ctx = self
            .app
            .plugin_context(entry, manifest)
            .map_err(|e| e.to_string())?;
        let described = no_panic(&format!("describe of {}", manifest.id), || {
            pass::describe(&self.runtime, &loaded, &ctx)
        })
        .unwrap_or_else(|m| Err(format!("internal error in the host: {m}")))
        .and_then(|info| crate::sandbox::pass::check_describe(manifest, &info));
        if let Err(msg) = described {
            tracing::error!(plugin = %manifest.id, error = %msg, "plugin not loaded: describe does not match plugin.json");
            entry.update(|s| {
                s.parked = true;
                s.last_error = Some(format!("describe: {msg}"));
            });
            return Err(msg);
        }
        Ok((Arc::new(loaded), ctx))
    }

    /// Runs one pass of each enabled WebAssembly plugin (those named in `only`, if any),
    /// one after another, and returns their outcomes (`openclone capture`).
    pub fn run_once(&self, only: &[String]) -> Vec<Outcome> {
        self.run_once_observed(only, &mut |_, _| {}, &mut |_| {})
    }

    /// [`Manager::run_once`], calling `started` with each plugin's id and context before its
    /// pass (a display can watch `PluginContext::emitted`) and `done` after it.
    pub fn run_once_observed(
        &self,
        only: &[String],
        started: &mut dyn FnMut(&str, &Arc<PluginContext>),
        done: &mut dyn FnMut(&Outcome),
    ) -> Vec<Outcome> {
        let registry = self.app.plugins.get();
        let mut out = Vec::new();
        for (entry, manifest, component) in registry.wasm() {
            if !only.is_empty() && !only.contains(&manifest.id) || !entry.enabled() {
                continue;
            }
            if self.app.ingest.pause().current().is_some() {
                let outcome = Outcome {
                    id: manifest.id.clone(),
                    result: Err(PAUSED.into()),
                };
                done(&outcome);
                out.push(outcome);
                continue;
            }
            let result = self
                .load(entry, manifest, component)
                .and_then(|(loaded, ctx)| {
                    started(&manifest.id, &ctx);
                    let outcome = self.pass(entry, manifest, &loaded, &ctx);
                    self.after_pass(entry, &outcome);
                    outcome.map_err(|e| e.to_string())
                });
            let outcome = Outcome {
                id: manifest.id.clone(),
                result,
            };
            done(&outcome);
            out.push(outcome);
        }
        out
    }

    fn pass(
        &self,
        entry: &Entry,
        manifest: &Manifest,
        loaded: &Loaded,
        ctx: &Arc<PluginContext>,
    ) -> Result<PassReport, PassError> {
        entry.update(|s| s.in_pass = true);
        let outcome = no_panic(&format!("pass of {}", manifest.id), || {
            pass::run(&self.runtime, loaded, ctx)
        })
        .unwrap_or_else(|m| {
            Err(PassError::Failed(format!(
                "internal error in the host: {m}"
            )))
        });
        let (denied, last) = ctx
            .denials
            .lock()
            .map(|mut d| std::mem::take(&mut *d))
            .unwrap_or_default();
        if denied > 0 {
            entry.update(|s| {
                s.requests_denied += u64::from(denied);
                s.last_denied = last;
            });
        }
        outcome
    }

    /// Records a pass: counters, failures, parking.
    fn after_pass(&self, entry: &Entry, outcome: &Result<PassReport, PassError>) {
        let id = entry.id();
        match outcome {
            Ok(r) => {
                // The events were counted by the ingest service as each `emit` stored
                // them; the pass only marks when the plugin last ran.
                entry.counters.record(Tally::default(), unix_now());
                if let Err(e) =
                    last_pass::record(&self.app.config.data_dir(), &entry.tenant, &id, r)
                {
                    tracing::warn!(plugin = %id, error = %e, "the pass summary for `plugins list` could not be written");
                }
                // An idle host is quiet: a pass that stored nothing new is logged at
                // INFO only when it is the plugin's first.
                if r.tally.stored > 0 || entry.status().passes == 0 {
                    tracing::info!(plugin = %id, stored = r.tally.stored, skipped = r.tally.skipped, problems = r.problems.len(), skipped_records = r.skipped_records, ms = r.elapsed.as_secs_f64() * 1000.0, "pass done");
                } else {
                    tracing::debug!(plugin = %id, skipped = r.tally.skipped, ms = r.elapsed.as_secs_f64() * 1000.0, "pass done, nothing new");
                }
            }
            Err(e) => {
                tracing::error!(plugin = %id, kind = e.kind(), error = %e, "pass failed; the instance was dropped")
            }
        }
        let max = entry.settings.limits.max_failures;
        entry.update(|s| {
            s.in_pass = false;
            s.passes += 1;
            if s.failures > 0 {
                s.restarts += 1;
            }
            match outcome {
                Ok(r) => {
                    s.failures = 0;
                    s.last_pass_ms = Some(r.elapsed.as_secs_f64() * 1000.0);
                    s.peak_memory = Some(r.peak_memory);
                    s.records_skipped += u64::from(r.skipped_records);

                }
                Err(e) => {
                    s.failures += 1;
                    s.failed_passes += 1;
                    s.last_error = Some(format!("{}: {e}", e.kind()));
                    if s.failures >= max {
                        s.parked = true;
                        tracing::error!(plugin = %id, failures = s.failures, "plugin parked as error after repeated failures");
                    }
                }
            }
        });
    }

    /// Starts the scheduler thread (for `serve`): passes on each plugin's interval and on
    /// changes under its granted paths; plugin folders watched for changes.
    pub fn start(self: &Arc<Self>) -> std::io::Result<std::thread::JoinHandle<()>> {
        let (tx, rx) = channel();
        *self.tx.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx.clone());
        let plugins_dir = self.app.config.plugins_dir();
        let _ = std::fs::create_dir_all(&plugins_dir);
        let dir_tx = Mutex::new(tx.clone());
        let mut dir_watcher =
            notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
                if is_change(&ev) {
                    let _ = dir_tx
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .send(Msg::Rescan);
                }
            })
            .map_err(std::io::Error::other)?;
        if let Err(e) = dir_watcher.watch(&plugins_dir, RecursiveMode::Recursive) {
            tracing::warn!(dir = %plugins_dir.display(), error = %e, "cannot watch the plugins folder; new plugins need a restart");
        }
        let me = self.clone();
        std::thread::Builder::new()
            .name("plugin-scheduler".into())
            .spawn(move || {
                let _keep = dir_watcher;
                me.schedule(rx, tx);
            })
    }

    /// Stops the scheduler; running passes finish on their own threads.
    pub fn stop(&self) {
        if let Some(tx) = self.tx.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tx.send(Msg::Stop);
        }
    }

    fn schedule(self: Arc<Self>, rx: Receiver<Msg>, tx: Sender<Msg>) {
        let mut slots: HashMap<String, Slot> = HashMap::new();
        let mut rescan_at = Some(Instant::now());
        loop {
            let now = Instant::now();
            if rescan_at.is_some_and(|t| t <= now) {
                rescan_at = None;
                self.reconcile(&mut slots, &tx);
            }
            // While recording is paused no pass starts; each is due again once it ends.
            let paused = self.app.ingest.pause().current().is_some();
            for (id, slot) in slots.iter_mut() {
                let parked = slot.entry.status().parked;
                if !paused && !slot.running && !parked && slot.next_due <= now {
                    slot.running = true;
                    self.spawn_pass(id.clone(), slot, tx.clone());
                }
            }
            let next = slots
                .values()
                .filter(|s| !s.running)
                .map(|s| s.next_due)
                .chain(rescan_at)
                .min();
            let wait = next.map_or(Duration::from_secs(3600), |t| {
                t.saturating_duration_since(Instant::now())
            });
            let wait = if paused { PAUSE_POLL } else { wait };
            match rx.recv_timeout(wait) {
                Ok(Msg::Stop) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                Ok(Msg::Rescan) => rescan_at = Some(Instant::now() + DEBOUNCE),
                Ok(Msg::PathChanged(id)) => {
                    if let Some(s) = slots.get_mut(&id) {
                        s.next_due = s.next_due.min(Instant::now() + DEBOUNCE);
                    }
                }
                Ok(Msg::PassDone(id, outcome)) => {
                    if let Some(s) = slots.get_mut(&id) {
                        s.running = false;
                        self.after_pass(&s.entry, &outcome);
                        let failures = s.entry.status().failures;
                        s.next_due = Instant::now()
                            + if failures == 0 {
                                s.entry.settings.interval
                            } else {
                                BACKOFF_START
                                    .saturating_mul(1 << (failures - 1).min(16))
                                    .min(BACKOFF_MAX)
                            };
                    }
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        for s in slots.values() {
            s.entry.update(|st| st.stopped = true);
        }
    }

    fn spawn_pass(self: &Arc<Self>, id: String, slot: &Slot, tx: Sender<Msg>) {
        let me = self.clone();
        let (entry, loaded, ctx) = (slot.entry.clone(), slot.loaded.clone(), slot.ctx.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("plugin-{id}"))
            .spawn(move || {
                let Ok(manifest) = &entry.manifest else {
                    return;
                };
                let outcome = me.pass(&entry, manifest, &loaded, &ctx);
                let _ = tx.send(Msg::PassDone(id, outcome));
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start a plugin thread");
        }
    }

    /// Brings the loaded plugins in line with the plugins folder: loads new or changed
    /// ones, drops removed or disabled ones.
    fn reconcile(&self, slots: &mut HashMap<String, Slot>, tx: &Sender<Msg>) {
        let fresh = Registry::scan(&self.app.config).carry_over(&self.app.plugins.get());
        self.app.plugins.set(fresh);
        let registry = self.app.plugins.get();
        let mut keep = Vec::new();
        for (entry, manifest, component) in registry.wasm() {
            if !entry.enabled() {
                continue;
            }
            let fp = fingerprint(component);
            keep.push(manifest.id.clone());
            if let Some(s) = slots.get(&manifest.id)
                && Arc::ptr_eq(&s.entry, entry)
                && s.fingerprint == fp
            {
                continue;
            }
            if slots.get(&manifest.id).is_some_and(|s| s.running) {
                continue;
            }
            entry.update(|s| *s = Default::default());
            let Ok((loaded, ctx)) = self.load(entry, manifest, component) else {
                continue;
            };
            let watcher = self.watch_paths(&manifest.id, entry, tx);
            slots.insert(
                manifest.id.clone(),
                Slot {
                    entry: entry.clone(),
                    loaded,
                    ctx,
                    fingerprint: fp,
                    next_due: Instant::now(),
                    running: false,
                    _watcher: watcher,
                },
            );
        }
        slots.retain(|id, s| {
            let kept = keep.contains(id) || s.running;
            if !kept {
                tracing::info!(plugin = %id, "plugin removed or disabled; stopped");
                s.entry.update(|st| st.stopped = true);
            }
            kept
        });
    }

    fn watch_paths(
        &self,
        id: &str,
        entry: &Entry,
        tx: &Sender<Msg>,
    ) -> Option<notify::RecommendedWatcher> {
        let paths = entry.settings.grants.watch_paths();
        if paths.is_empty() {
            return None;
        }
        let (tx, id_owned) = (Mutex::new(tx.clone()), id.to_owned());
        let mut w = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if is_change(&ev) {
                let _ = tx
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .send(Msg::PathChanged(id_owned.clone()));
            }
        })
        .ok()?;
        for p in paths {
            if let Err(e) = w.watch(&p, RecursiveMode::Recursive) {
                tracing::warn!(plugin = %id, path = %p.display(), error = %e, "cannot watch a granted path; the plugin still runs on its interval");
            }
        }
        Some(w)
    }
}
