//! ActivityWatch's watchers as a way in: `aw-watcher-window`, `aw-watcher-afk`,
//! `aw-watcher-web` and `aw-watcher-vscode`, unchanged, post heartbeats to the API they
//! know ([`routes`], on `[activitywatch] listen`, default `127.0.0.1:5600`). Heartbeats are
//! merged as aw-server merges them ([`merge`]) into a durable journal ([`store`]) synced
//! before each answer; closed sessions go through the one ingest service into the
//! tenant's vault ([`sessions`]).

mod event;
mod guard;
mod merge;
mod privacy;
mod routes;
mod sessions;
mod store;

use std::sync::Arc;

use anyhow::Context;
pub use openclone_ingest::config::activitywatch::Settings;
use tokio::sync::watch;

use crate::app::App;
pub(crate) use routes::route;
pub(crate) use sessions::Writer;
use store::Store;

/// The journals a running API has open, by file: a forget deletes through the open one
/// rather than opening the file a second time (one writer per journal file in a process).
static RUNNING: std::sync::Mutex<Vec<(std::path::PathBuf, Arc<Store>)>> =
    std::sync::Mutex::new(Vec::new());

fn running(path: &std::path::Path) -> Option<Arc<Store>> {
    let open = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    open.iter().find(|(p, _)| p == path).map(|(_, s)| s.clone())
}

fn set_running(path: &std::path::Path, store: Option<Arc<Store>>) {
    let mut open = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    open.retain(|(p, _)| p != path);
    open.extend(store.map(|s| (path.to_owned(), s)));
}

/// Deletes (or, with `dry_run`, counts) tenant `tenant`'s journalled ActivityWatch events
/// that `sel` selects (by start time, bucket source type and watcher plugin id), through
/// the running API's journal or, when none runs, by opening the file if there is one;
/// then runs `and_then` (the vault's forget) while no session-writer pass runs, so no
/// session of a deleted event reaches the vault after it. Blocks; call off the async
/// runtime. Returns the events and `and_then`'s result.
///
/// Errors: the journal cannot be opened or written; `and_then`'s error.
pub fn forget<T>(
    app: &App,
    tenant: usize,
    sel: &openclone_vault::Selection,
    dry_run: bool,
    and_then: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(u64, T)> {
    let path = journal_path(app, tenant);
    let store = match running(&path) {
        Some(s) => s,
        None => {
            if !path.exists() {
                return Ok((0, and_then()?));
            }
            Arc::new(Store::open(&path).with_context(|| format!("opening {}", path.display()))?)
        }
    };
    let _pass = store.passes().blocking_lock();
    let ns = |t: jiff::Timestamp| i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX);
    let (from, to) = (ns(sel.from), ns(sel.to));
    let (source, plugin) = (sel.source, sel.plugin.clone());
    let n = store
        .call_blocking(move |db| db.forget_range(from, to, source, plugin.as_deref(), dry_run))
        .map_err(|e| anyhow::anyhow!("the ActivityWatch journal: {e:?}"))?;
    Ok((n, and_then()?))
}

/// `<data>/state/<tenant>/activitywatch.sqlite`.
fn journal_path(app: &App, tenant: usize) -> std::path::PathBuf {
    app.config
        .data_dir()
        .join("state")
        .join(&app.tenants[tenant].id)
        .join("activitywatch.sqlite")
}

/// What every request of the API shares.
pub struct Api {
    app: Arc<App>,
    store: Arc<Store>,
    /// The tenant number the sessions go to.
    tenant: usize,
    /// This machine's host name (`/api/0/info`, buckets created with `!local`).
    hostname: String,
    require_key: bool,
    /// The tenant's sanitizer policy, applied to what is journalled ([`privacy`]).
    policy: openclone_vault::Policy,
}

impl Api {
    /// Whether `e` is held back by a pause: one is in force and began at or before `e`'s
    /// start ([`openclone_ingest::pause`]). Counted as paused in the metrics.
    fn held(&self, e: &event::Event) -> bool {
        let held = self.app.ingest.pause().covers(e.start_ns as f64 / 1e9);
        if held {
            self.app.metrics.paused(
                &self.app.tenants[self.tenant].id,
                openclone_vault::SourceType::Activity.as_str(),
                1,
            );
        }
        held
    }
}

/// Serves the ActivityWatch API of `app` until `stop` turns true, writing sessions as they
/// close, then drains its requests, writes what is due and closes the journal. Returns at
/// once when `[activitywatch] enabled = false`. When the address is taken (ActivityWatch's
/// own server is running) or the journal cannot be opened it says so once, with the fix,
/// and the host runs without it. Prints `openclone: activitywatch listening on
/// http://ADDR` when it serves.
pub async fn serve(app: Arc<App>, stop: watch::Receiver<bool>) {
    if let Err(e) = run(app, stop).await {
        tracing::error!(error = format!("{e:#}"), "the ActivityWatch API is off");
    }
}

async fn run(app: Arc<App>, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let settings = &app.config.activitywatch;
    if !settings.enabled {
        return Ok(());
    }
    let tenant = match &settings.tenant {
        Some(id) => app
            .tenants
            .iter()
            .position(|t| &t.id == id)
            .with_context(|| {
                format!("[activitywatch] tenant = {id:?} is not a configured tenant")
            })?,
        None => 0,
    };
    let listener = match tokio::net::TcpListener::bind(settings.listen).await {
        Ok(l) => l,
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                "the address is in use, probably by ActivityWatch's own aw-server; stop it (your watchers then post here), or set [activitywatch] listen to a free port or enabled = false in openclone.toml"
            } else {
                "set [activitywatch] listen to an address this machine can listen on, or enabled = false in openclone.toml"
            };
            tracing::warn!(address = %settings.listen, error = %e, "the ActivityWatch API is off: {why}");
            return Ok(());
        }
    };
    let (api, writer) = open(&app, tenant)?;
    let store = api.store.clone();
    let t = &app.tenants[tenant];
    let local = listener.local_addr()?;
    println!("openclone: activitywatch listening on http://{local}");
    tracing::info!(address = %local, tenant = %t.id, "ActivityWatch API ready for aw-watcher-window, aw-watcher-afk, aw-watcher-web");
    let sessions = tokio::spawn(writer.run(stopped(stop.clone())));
    let path = journal_path(&app, tenant);
    set_running(&path, Some(store.clone()));
    let handler = move |local, req| routes::route(api.clone(), local, req);
    crate::http::accept(listener, None, &app.config.http, stopped(stop), handler).await;
    let _ = sessions.await;
    set_running(&path, None);
    let _ = tokio::task::spawn_blocking(move || store.close()).await;
    Ok(())
}

/// Opens tenant `tenant`'s journal (`<data>/state/<tenant>/activitywatch.sqlite`) and builds
/// the API's shared state and its session writer, without a listener.
///
/// Errors: the journal cannot be opened.
pub(crate) fn open(app: &Arc<App>, tenant: usize) -> anyhow::Result<(Arc<Api>, Writer)> {
    let settings = &app.config.activitywatch;
    let t = &app.tenants[tenant];
    let path = journal_path(app, tenant);
    let store =
        Arc::new(Store::open(&path).with_context(|| format!("opening {}", path.display()))?);
    let tz = app
        .config
        .tenants
        .get(tenant)
        .and_then(|c| jiff::tz::TimeZone::get(&c.timezone).ok())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let writer = sessions::Writer {
        store: store.clone(),
        ingest: app.ingest.clone(),
        tenant: app.ingest.tenant_index(&t.id).unwrap_or_default(),
        tz,
        grace: settings.grace(),
        max: settings.max_session(),
        device_id: app.links.device_id.clone(),
        waiting: Default::default(),
        settled_at: None,
    };
    let api = Arc::new(Api {
        app: app.clone(),
        store,
        tenant,
        hostname: hostname(),
        require_key: settings.require_key,
        policy: openclone_vault::Policy {
            redact_pii: app.config.tenants.get(tenant).is_some_and(|c| c.redact_pii),
        },
    });
    Ok((api, writer))
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// This machine's host name, or `unknown`.
fn hostname() -> String {
    let uname = rustix::system::uname();
    let name = uname.nodename().to_string_lossy();
    if name.is_empty() {
        "unknown".into()
    } else {
        name.into_owned()
    }
}
