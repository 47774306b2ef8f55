//! The cluster roles of `openclone serve` (DESIGN.md, "Beyond one machine"; issue 23):
//! the frontend is the single process with [`openclone_cluster::Publisher`] as its store;
//! the writer ([`serve_writer`]) keeps the vaults of the partitions it holds and answers
//! only `/healthz` on `--listen`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use openclone_cluster::check;
use openclone_cluster::connect::{Cluster, connect};
use openclone_cluster::writer::{self, Held, Vaults};
use openclone_cluster::{NatsSettings, wire};
use openclone_ingest::clock::unix_now;
use openclone_ingest::config::Config;
use openclone_ingest::guard::no_panic;
use openclone_ingest::service::Refused;
use openclone_ingest::store::{Done, store_in};
use openclone_vault::{Rules, Selection, SourceType, Vault, validate_value};
use serde_json::json;

use crate::app::{open_vault, search_index};
use crate::http::reply;
use crate::lock::DataLock;
use openclone_recall::Feed;
use openclone_vault::OnWritten;

/// The role `serve` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Everything in one process, no NATS (the default).
    Single,
    /// HTTP ingest, the ActivityWatch API and plugin passes; batches go to JetStream.
    Frontend,
    /// Keeps the vaults of the partitions it holds.
    Writer,
}

/// `[nats]` with `--nats` applied. Errors: a bad `[nats]` key, named.
pub fn settings(cfg: &Config, urls: Option<&str>) -> anyhow::Result<NatsSettings> {
    let s = NatsSettings::from_table(&cfg.nats)?;
    let s = match urls {
        Some(list) => s.with_urls(list),
        None => s,
    };
    s.check()?;
    Ok(s)
}

/// Parses `--partitions` (`0-3,6`) against `partitions`; `None` means all.
///
/// Errors: not a list of numbers and ranges, or a number not below `partitions`.
pub fn wanted(list: Option<&str>, partitions: u32) -> anyhow::Result<Vec<u32>> {
    let Some(list) = list else {
        return Ok((0..partitions).collect());
    };
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse()?, b.trim().parse()?);
        anyhow::ensure!(
            a <= b && b < partitions,
            "--partitions {part}: partitions are numbered 0 to {} ([nats] partitions = {partitions})",
            partitions - 1
        );
        out.extend(a..=b);
    }
    out.sort_unstable();
    out.dedup();
    anyhow::ensure!(!out.is_empty(), "--partitions names no partition");
    Ok(out)
}

/// Connects a role to the cluster, creating the stream and lease bucket if missing.
///
/// Errors: see [`openclone_cluster::connect::connect`].
pub async fn join(settings: &NatsSettings, role: &str) -> anyhow::Result<Cluster> {
    connect(settings, &format!("openclone-{role}")).await
}

/// What a writer needs of the sync check: passes, or is refused unless `accept_async_sync`.
///
/// Errors: a server that acknowledges before its fsync (or cannot be checked), without
/// `--accept-async-sync`.
pub async fn require_sync(settings: &NatsSettings, accept_async_sync: bool) -> anyhow::Result<()> {
    let monitor = settings.monitor.clone();
    let findings = tokio::task::spawn_blocking(move || check::sync_always(&monitor)).await?;
    let bad: Vec<String> = findings
        .into_iter()
        .filter(|f| !f.ok)
        .map(|f| f.message)
        .collect();
    match (bad.is_empty(), accept_async_sync) {
        (true, _) => Ok(()),
        (false, true) => {
            for b in &bad {
                tracing::warn!("--accept-async-sync: {b}");
            }
            Ok(())
        }
        (false, false) => anyhow::bail!(
            "refusing to run a writer on a JetStream that may acknowledge before its fsync:\n  {}\n(pass --accept-async-sync to run anyway; the vault is still written and synced before any client is answered)",
            bad.join("\n  ")
        ),
    }
}

/// Runs a writer: checks the servers' sync setting, takes a shared hold on the data folder,
/// answers `/healthz` on `listen`, and stores the batches of the partitions of `wanted` it
/// can hold until SIGTERM or SIGINT.
///
/// Errors: bad `[nats]`, no cluster, the sync check (see [`require_sync`]), a data folder
/// held by a single-process host, `listen` in use.
pub fn serve_writer(
    cfg: Config,
    settings: NatsSettings,
    listen: SocketAddr,
    partitions: Option<&str>,
    accept_async_sync: bool,
) -> anyhow::Result<()> {
    let wanted = wanted(partitions, settings.partitions)?;
    let data = cfg.data_dir();
    let _lock = DataLock::acquire_shared(&data)?;
    let warm = std::thread::spawn(openclone_vault::redact::warm);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let _ = warm.join();
    rt.block_on(async move {
        require_sync(&settings, accept_async_sync).await?;
        let cluster = Arc::new(join(&settings, "writer").await?);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let local = listener.local_addr()?;
        let held = Arc::new(Held::default());
        let signal = crate::http::shutdown_signal()?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let holder = format!(
            "{}-{}",
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .unwrap_or_default()
                .trim(),
            std::process::id()
        );
        let vaults = Arc::new(WriterVaults::new(cfg.clone(), settings.lease_ttl()));
        let retention = tokio::spawn(retain(vaults.clone(), stopping.clone()));
        let work = tokio::spawn(writer::run(
            cluster,
            vaults,
            wanted.clone(),
            holder.clone(),
            held.clone(),
            stopping.clone(),
        ));
        println!("openclone: listening on http://{local}");
        println!("openclone: writer {holder} for partitions {wanted:?}");
        let mut healthz_stop = stopping.clone();
        let health = {
            let held = held.clone();
            move |_local, req: hyper::Request<hyper::body::Incoming>| {
                let held = held.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(match (req.method(), req.uri().path()) {
                        (&Method::GET, "/healthz") => reply::value(
                            StatusCode::OK,
                            json!({ "status": "ok", "role": "writer", "partitions": held.partitions() }),
                        ),
                        _ => reply::value(StatusCode::NOT_FOUND, json!({ "error": "not_found" })),
                    })
                }
            }
        };
        let http = tokio::spawn({
            let limits = cfg.http.clone();
            async move {
                let until = async move {
                    let _ = healthz_stop.changed().await;
                };
                crate::http::accept(listener, None, &limits, until, health).await;
            }
        });
        signal.await;
        let _ = stop.send(true);
        let _ = work.await;
        let _ = http.await;
        let _ = retention.await;
        tracing::info!("writer stopped");
        anyhow::Ok(())
    })
}

/// `[retention]` on a writer: each tenant's vault forgets what is older than each source
/// type's retention (no tombstones, as in the single process) when the writer opens it
/// ([`Vaults::open`]) and then every [`crate::forget::RETENTION_EVERY`]; later passes look
/// from a day before the last bound. Runs until `stop` turns true.
async fn retain(vaults: Arc<WriterVaults>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let rules = vaults.cfg.retention();
    if rules.is_empty() {
        return;
    }
    let mut done_to: HashMap<(String, usize), jiff::Timestamp> = HashMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(crate::forget::RETENTION_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let (v, r, from) = (vaults.clone(), rules.clone(), done_to.clone());
        if let Ok(bounds) = tokio::task::spawn_blocking(move || v.retain_once(&r, &from)).await {
            done_to = bounds;
        }
    }
}

/// The vaults of the partitions a writer holds, opened when it takes a partition and
/// closed when it gives it up.
struct WriterVaults {
    cfg: Config,
    /// How long to wait for a tenant's lock held by a writer still closing it.
    patience: Duration,
    open: Mutex<HashMap<String, OpenTenant>>,
}

struct OpenTenant {
    vault: Arc<Vault>,
    /// The tenant's search indexer (`[search] enabled`), fed by the vault's writes, so
    /// `openclone search` and `mcp` on the writers' folder read a current index.
    feed: Option<Arc<Feed>>,
    earliest: f64,
    _lock: DataLock,
}

impl WriterVaults {
    fn new(cfg: Config, patience: Duration) -> Self {
        Self {
            cfg,
            patience,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Tenant `id`'s lock: `openclone.lock` in its state folder, held while its vault is
    /// open, so two writers on one machine or one shared folder never write it together,
    /// even if a lease were wrong. Waits up to `patience` for a writer still closing it.
    fn lock_tenant(&self, id: &str) -> anyhow::Result<DataLock> {
        let dir = self.cfg.data_dir().join("state").join(id);
        let until = Instant::now() + self.patience;
        loop {
            match DataLock::acquire(&dir) {
                Ok(l) => return Ok(l),
                Err(e) if Instant::now() >= until => {
                    return Err(e).with_context(|| format!("tenant {id}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl WriterVaults {
    /// One retention pass over the open tenants; returns each (tenant, rule)'s new bound.
    fn retain_once(
        &self,
        rules: &[(SourceType, jiff::SignedDuration)],
        done_to: &HashMap<(String, usize), jiff::Timestamp>,
    ) -> HashMap<(String, usize), jiff::Timestamp> {
        let open: Vec<(String, Arc<Vault>)> = match self.open.lock() {
            Ok(open) => open
                .iter()
                .map(|(id, t)| (id.clone(), t.vault.clone()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let mut out = done_to.clone();
        for (id, vault) in open {
            retain_tenant(&id, &vault, rules, done_to, &mut out);
        }
        out
    }
}

/// Tenant `id`'s retention pass: for each rule, forget what is older than it, from a day
/// before the bound in `done_to` (the whole vault the first time); new bounds go to `out`.
fn retain_tenant(
    id: &str,
    vault: &Vault,
    rules: &[(SourceType, jiff::SignedDuration)],
    done_to: &HashMap<(String, usize), jiff::Timestamp>,
    out: &mut HashMap<(String, usize), jiff::Timestamp>,
) {
    let now = jiff::Timestamp::now();
    for (ri, &(source, keep)) in rules.iter().enumerate() {
        let Ok(to) = now.checked_sub(keep) else {
            continue;
        };
        let slot = (id.to_owned(), ri);
        let from = done_to
            .get(&slot)
            .and_then(|d| d.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
            .unwrap_or(jiff::Timestamp::MIN);
        let sel = Selection {
            from,
            to,
            source: Some(source),
            plugin: None,
            tombstone: false,
        };
        match vault.forget(sel, false) {
            Ok(o) => {
                if o.entries > 0 {
                    tracing::info!(tenant = %id, source = %source, entries = o.entries, files = o.files.len(), "retention: forgot what is older than the source type's retention");
                }
                out.insert(slot, to);
            }
            Err(e) => {
                tracing::warn!(tenant = %id, source = %source, error = %e, "retention pass failed; retried at the next");
            }
        }
    }
}

impl Vaults for WriterVaults {
    fn open(&self, p: u32, partitions: u32) -> anyhow::Result<()> {
        for t in self
            .cfg
            .tenants
            .iter()
            .filter(|t| wire::partition(&t.id, partitions) == p)
        {
            let lock = self.lock_tenant(&t.id)?;
            let feed = match self.cfg.search.enabled {
                true => {
                    let path = search_index(&self.cfg, &t.id);
                    openclone_vault::durable::private_database(&path)
                        .with_context(|| format!("tenant {}: creating {}", t.id, path.display()))?;
                    let feed = Feed::start(path.clone(), self.cfg.vault_root(t))
                        .with_context(|| format!("tenant {}: opening {}", t.id, path.display()))?;
                    Some(Arc::new(feed))
                }
                false => None,
            };
            let listener = feed
                .clone()
                .map(|feed| OnWritten(Arc::new(move |files: Vec<String>| feed.written(files))));
            let vault = Arc::new(open_vault(&self.cfg, t, listener)?);
            retain_tenant(
                &t.id,
                &vault,
                &self.cfg.retention(),
                &HashMap::new(),
                &mut HashMap::new(),
            );
            let tenant = OpenTenant {
                vault,
                feed,
                earliest: t.earliest(),
                _lock: lock,
            };
            if let Ok(mut open) = self.open.lock() {
                open.insert(t.id.clone(), tenant);
            }
        }
        Ok(())
    }

    fn close(&self, p: u32, partitions: u32) {
        let closing: Vec<OpenTenant> = match self.open.lock() {
            Ok(mut open) => {
                let ids: Vec<String> = open
                    .keys()
                    .filter(|id| wire::partition(id, partitions) == p)
                    .cloned()
                    .collect();
                ids.iter().filter_map(|id| open.remove(id)).collect()
            }
            Err(_) => Vec::new(),
        };
        for t in closing {
            t.vault.close();
            if let Some(f) = &t.feed {
                f.close();
            }
        }
    }

    fn store(&self, tenant: &str, body: &[u8], done: Done) {
        let found = self
            .open
            .lock()
            .ok()
            .and_then(|open| open.get(tenant).map(|t| (t.vault.clone(), t.earliest)));
        let Some((vault, earliest)) = found else {
            return done(Err(Refused::Unavailable(format!(
                "this writer keeps no vault of tenant {tenant:?}: add it to the writers' openclone.toml"
            ))));
        };
        let rules = Rules {
            now: unix_now(),
            earliest,
        };
        let checked = no_panic("ingest", || {
            let (batch, keys) = wire::decode(body)?;
            Ok((validate_value(batch, &rules)?, keys))
        });
        match checked {
            Ok(Ok((batch, keys))) => store_in(&vault, batch, keys, done),
            Ok(Err(errs)) => done(Err(Refused::Invalid(errs))),
            Err(m) => done(Err(Refused::Internal(m))),
        }
    }
}
