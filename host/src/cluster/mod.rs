//! The cluster roles of `openclone serve` (DESIGN.md, "Beyond one machine"; issue 23):
//! the frontend is the single process with [`openclone_cluster::Publisher`] as its store;
//! the writer ([`serve_writer`]) keeps the vaults of the partitions it holds
//! ([`vaults::WriterVaults`]) and answers only `/healthz` on `--listen`.

mod vaults;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use hyper::{Method, StatusCode};
use openclone_cluster::NatsSettings;
use openclone_cluster::check;
use openclone_cluster::connect::{Cluster, connect};
use openclone_cluster::writer::{self, Held};
use openclone_ingest::config::Config;
use serde_json::json;

use crate::http::reply;
use crate::lock::DataLock;

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
        let vaults = Arc::new(vaults::WriterVaults::new(cfg.clone(), settings.lease_ttl()));
        let retention = tokio::spawn(vaults::retain(vaults.clone(), stopping.clone()));
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
