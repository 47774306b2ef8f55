//! The `openclone` command line (DESIGN.md, "The command line").

mod ask;
mod build;
mod check_events;
mod doctor;
mod edit;
mod forget;
mod init;
mod mcp;
mod pause;
mod plugins;
mod progress;
mod scaffold;
mod scaffold_python;
mod scaffold_screen;
mod sdk;
mod search;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::{App, Backend};
use crate::cluster::Role;
use openclone_ingest::config::Config;
use openclone_runtime::registry::Registry;
use openclone_runtime::sandbox::Runtime;
use openclone_runtime::supervisor::Manager;

/// OpenClone host: turns what your devices capture into a private Markdown vault.
#[derive(Debug, Parser)]
#[command(name = "openclone", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the host: HTTP ingest on `listen` (default 127.0.0.1:8000).
    Serve {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Listen address, overriding the config (use port 0 for any free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// The ActivityWatch API's address, overriding `[activitywatch] listen` (port 0
        /// for any free port).
        #[arg(long)]
        activitywatch_listen: Option<SocketAddr>,
        /// The role in a cluster: `single` (everything here, no NATS), `frontend` (ingest
        /// and plugins; batches go to NATS JetStream) or `writer` (keeps the vaults of the
        /// partitions it holds; answers only /healthz on --listen).
        #[arg(long, value_enum, default_value = "single")]
        role: crate::cluster::Role,
        /// NATS server URLs, comma-separated, overriding `[nats] urls`.
        #[arg(long, value_name = "URL,URL…")]
        nats: Option<String>,
        /// A writer's partitions (`0-3,6`); default every one. It takes each whenever its
        /// lease is free.
        #[arg(long)]
        partitions: Option<String>,
        /// Run a writer even when a server may acknowledge JetStream writes before its
        /// fsync (`sync_interval` not `always`), or cannot be checked.
        #[arg(long)]
        accept_async_sync: bool,
    },
    /// Set up a folder: a commented openclone.toml, data/ and plugins/, and an API key
    /// (printed once, with a curl line that stores a first event).
    Init {
        /// The folder; default the current one.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Also make a self-signed TLS certificate (printing its fingerprint) and listen on
        /// every interface over HTTPS only, so a phone on the LAN can post safely.
        #[arg(long)]
        tls: bool,
    },
    /// Search a tenant's vault: every word must match; "quoted phrases" and prefix* words
    /// too. Reads the index the host keeps (made from the vault first when there is none).
    Search {
        /// The words.
        #[arg(required = true)]
        words: Vec<String>,
        /// Only days from this one on (YYYY-MM-DD).
        #[arg(long)]
        since: Option<String>,
        /// Only days up to this one (YYYY-MM-DD).
        #[arg(long)]
        until: Option<String>,
        /// Only this source type (notes, calendar, …).
        #[arg(long)]
        source: Option<String>,
        /// At most this many hits (1 to 1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON: the hits with their vault path, line and obsidian:// link.
        #[arg(long)]
        json: bool,
        /// The tenant; default the first.
        #[arg(long)]
        tenant: Option<String>,
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Take back what was captured in a time range: removes the host's entries (never your
    /// own text) from the daily files, the search index and the ActivityWatch journal, and
    /// records tombstones so a resend is skipped. Says what it would remove and asks first
    /// (unless --yes). Works through a running `serve`.
    Forget(forget::Args),
    /// Pause recording: no plugin pass runs, and nothing timed from now on is stored from
    /// any way in (HTTP, ActivityWatch, plugins) until `openclone resume` or the end of
    /// --for. Holds across a restart.
    Pause {
        /// How long: 30m, 2h, 1d (default: until `openclone resume`).
        #[arg(long = "for")]
        span: Option<String>,
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// End a pause: plugin passes run again and what arrives is stored.
    Resume {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Serve a tenant's memory to an assistant: the Model Context Protocol over stdin and
    /// stdout, read-only (tools search_memory, read_day, list_sources).
    Mcp {
        /// The tenant; default the first.
        #[arg(long)]
        tenant: Option<String>,
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Check config, keys, vaults, the compile cache, every plugin and the wasm32-wasip2
    /// target; print what is wrong and the fix.
    Doctor {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Installed plugins: list, validate a folder, enable, disable, new.
    Plugins {
        /// What to do.
        #[command(subcommand)]
        command: plugins::PluginsCommand,
    },
    /// Work on the vaults.
    Vault {
        /// What to do.
        #[command(subcommand)]
        command: VaultCommand,
    },
    /// Run each enabled WebAssembly plugin's capture once, print a summary, exit (non-zero
    /// if a plugin failed): for cron without a running host, a first import, tests.
    /// Refused while `serve` holds the data folder.
    Capture {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only this plugin (repeatable).
        #[arg(long = "plugin")]
        plugins: Vec<String>,
        /// History import (`YYYY-MM-DD`): for this run, events from this date on are
        /// accepted and re-read, and a plugin with a `from` setting starts there.
        #[arg(long)]
        since: Option<String>,
    },
}

/// `openclone vault …`
#[derive(Debug, Subcommand)]
pub enum VaultCommand {
    /// Rebuild the dedup index and the search index of each tenant (or one) from its
    /// vault's files, changing no vault file. Refused while `serve` holds the data folder.
    Reindex {
        /// The config file; default ./openclone.toml if present, else built-in defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Only this tenant.
        #[arg(long)]
        tenant: Option<String>,
    },
}

/// Runs the parsed command line.
///
/// Errors: bad configuration, a vault that cannot be opened, an address in use.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve {
            config,
            listen,
            activitywatch_listen,
            role,
            nats,
            partitions,
            accept_async_sync,
        } => {
            let cfg = Config::load(config.as_deref())?;
            match role {
                Role::Single => serve(cfg, listen, activitywatch_listen, None),
                Role::Frontend => {
                    let settings = crate::cluster::settings(&cfg, nats.as_deref())?;
                    serve(cfg, listen, activitywatch_listen, Some(settings))
                }
                Role::Writer => {
                    let settings = crate::cluster::settings(&cfg, nats.as_deref())?;
                    let addr = listen.unwrap_or(cfg.listen);
                    crate::cluster::serve_writer(
                        cfg,
                        settings,
                        addr,
                        partitions.as_deref(),
                        accept_async_sync,
                    )
                }
            }
        }
        Command::Capture {
            config,
            plugins,
            since,
        } => capture(config, &plugins, since.as_deref()),
        Command::Plugins { command } => plugins::run(command),
        Command::Init { dir, tls } => init::run(&dir, tls),
        Command::Doctor { config } => doctor::run(config),
        Command::Mcp { tenant, config } => mcp::run(config, tenant),
        Command::Forget(args) => forget::run(args),
        Command::Pause { span, config } => pause::run(config, false, span.as_deref()),
        Command::Resume { config } => pause::run(config, true, None),
        Command::Search {
            words,
            since,
            until,
            source,
            limit,
            json,
            tenant,
            config,
        } => search::run(search::Args {
            config,
            tenant,
            query: openclone_recall::Query {
                text: words.join(" "),
                since,
                until,
                source,
                limit,
            },
            json,
        }),
        Command::Vault {
            command: VaultCommand::Reindex { config, tenant },
        } => reindex(config, tenant.as_deref()),
    }
}

fn reindex(config: Option<PathBuf>, only: Option<&str>) -> anyhow::Result<()> {
    let cfg = Config::load(config.as_deref())?;
    if let Some(id) = only
        && cfg.tenants.iter().all(|t| t.id != id)
    {
        anyhow::bail!("no tenant {id:?} in the configuration");
    }
    let app = App::open(&cfg)?;
    for (i, t) in app
        .tenants
        .iter()
        .enumerate()
        .filter(|(_, t)| only.is_none_or(|id| id == t.id))
    {
        println!(
            "tenant {}: rebuilding the dedup index from {} …",
            t.id,
            t.root.display()
        );
        let started = std::time::Instant::now();
        let r = app
            .vault(i)?
            .reindex()
            .with_context(|| format!("tenant {}", t.id))?;
        println!(
            "tenant {}: index rebuilt from {} file(s), {} entries, in {:.2} s (no file was changed)",
            t.id,
            r.files_scanned,
            r.markers_found,
            started.elapsed().as_secs_f64()
        );
        let started = std::time::Instant::now();
        let Some(feed) = app.recall.get(i).and_then(Option::as_ref) else {
            continue;
        };
        let s = feed
            .scan(true)
            .map_err(|e| anyhow::anyhow!("tenant {}: search index: {e}", t.id))?;
        println!(
            "tenant {}: search index rebuilt from {} file(s), {} entries, in {:.2} s",
            t.id,
            s.files_read,
            s.entries,
            started.elapsed().as_secs_f64()
        );
    }
    app.close();
    Ok(())
}

/// The runtime over `<data>/cache/components`, pooling allocator where the machine allows.
fn runtime(cfg: &Config) -> anyhow::Result<Arc<Runtime>> {
    Ok(Arc::new(Runtime::new(&cfg.component_cache(), true)?))
}

fn capture(config: Option<PathBuf>, only: &[String], since: Option<&str>) -> anyhow::Result<()> {
    let mut cfg = Config::load(config.as_deref())?;
    if let Some(since) = since {
        import_since(&mut cfg, since)?;
    }
    let app = Arc::new(App::open(&cfg)?);
    let registry = app.registry();
    for wanted in only {
        if registry.wasm().all(|(_, m, _)| &m.id != wanted) {
            anyhow::bail!(
                "no WebAssembly plugin {wanted:?} under {}",
                cfg.plugins_dir().display()
            );
        }
    }
    let manager = Manager::new(app.links.clone(), runtime(&cfg)?);
    let progress = std::cell::RefCell::new(progress::Passes::new());
    let outcomes = manager.run_once_observed(
        only,
        &mut |id, ctx| progress.borrow_mut().start(id, ctx),
        &mut |o| progress.borrow_mut().finish(o),
    );
    app.close();
    let mut failed = 0;
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>11} {:>9}  result",
        "plugin", "stored", "skipped", "problems", "bad records", "seconds"
    );
    for o in &outcomes {
        match &o.result {
            Ok(r) => {
                println!(
                    "{:<24} {:>8} {:>8} {:>8} {:>11} {:>9.3}  ok",
                    o.id,
                    r.tally.stored,
                    r.tally.skipped,
                    r.problems.len(),
                    r.skipped_records,
                    r.elapsed.as_secs_f64()
                );
                for p in &r.problems {
                    println!("  problem: {p}");
                }
                for d in &r.refusals {
                    println!("  denied by the host: {d}");
                }
                for n in &r.notes {
                    println!("  {n}");
                }
            }
            Err(e) => {
                failed += 1;
                println!(
                    "{:<24} {:>8} {:>8} {:>8} {:>11} {:>9}  FAILED: {e}",
                    o.id, "-", "-", "-", "-", "-"
                );
            }
        }
    }
    if outcomes.is_empty() {
        println!(
            "no enabled WebAssembly plugin under {}",
            cfg.plugins_dir().display()
        );
    }
    if let Some(since) = since {
        let stored: u64 = outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .map(|r| r.tally.stored)
            .sum();
        println!("history import since {since}: {stored} event(s) stored");
    }
    if failed > 0 {
        anyhow::bail!("{failed} plugin(s) failed");
    }
    Ok(())
}

/// `capture --since DAY` (history import): for this run every tenant accepts
/// events from `DAY` on (a bound only ever lowers), and a plugin whose `config_schema` has
/// a `from` setting starts there. Plugins re-read their files, as the bound changed; dedup
/// skips what is already stored. Errors: `DAY` is not a date from 1970-01-01 to today.
fn import_since(cfg: &mut Config, since: &str) -> anyhow::Result<()> {
    let earliest = openclone_ingest::clock::day_start(since)
        .filter(|s| {
            *s >= 0.0
                && *s
                    <= openclone_vault::validate::MIN_TIMESTAMP
                        .max(openclone_ingest::clock::unix_now())
        })
        .with_context(|| {
            format!("--since {since:?}: a YYYY-MM-DD date from 1970-01-01 to today is expected")
        })?;
    let since = openclone_ingest::clock::canonical_day(since).unwrap_or_else(|| since.to_owned());
    for t in &mut cfg.tenants {
        if t.earliest() > earliest {
            t.accept_since = Some(since.clone());
        }
    }
    let registry = Registry::scan(cfg);
    let with_from: Vec<String> = registry
        .wasm()
        .filter(|(_, m, _)| {
            m.raw
                .get("config_schema")
                .is_some_and(|s| s.get("from").is_some())
        })
        .map(|(_, m, _)| m.id.clone())
        .collect();
    for id in with_from {
        let settings = cfg.plugins.entry(id).or_default();
        let earlier = settings
            .get("from")
            .and_then(|v| v.as_str())
            .and_then(openclone_ingest::clock::canonical_day)
            .is_some_and(|from| from <= since);
        if !earlier {
            settings.insert("from".into(), toml::Value::String(since.clone()));
        }
    }
    Ok(())
}

/// `serve` as the single process, or, with `nats`, as a cluster frontend whose batches go
/// to JetStream.
fn serve(
    mut cfg: Config,
    listen: Option<SocketAddr>,
    activitywatch_listen: Option<SocketAddr>,
    nats: Option<openclone_cluster::NatsSettings>,
) -> anyhow::Result<()> {
    if let Some(addr) = activitywatch_listen {
        cfg.activitywatch.listen = addr;
        cfg.activitywatch.check()?;
    }
    let addr = listen.unwrap_or(cfg.listen);
    let tls = crate::http::tls::acceptor_for(&cfg, addr)?;
    let warm = std::thread::spawn(openclone_vault::redact::warm);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let backend = match nats {
        None => Backend::Local,
        Some(settings) => {
            let cluster = rt.block_on(crate::cluster::join(&settings, "frontend"))?;
            let ids = cfg
                .tenants
                .iter()
                .map(|t| {
                    let policy = openclone_vault::Policy {
                        redact_pii: t.redact_pii,
                    };
                    (t.id.clone(), policy)
                })
                .collect();
            Backend::Remote(Arc::new(openclone_cluster::Publisher::new(
                &cluster,
                ids,
                rt.handle().clone(),
            )))
        }
    };
    let app = Arc::new(App::open_with(&cfg, backend)?);
    let runtime = runtime(&cfg)?;
    // The rule sets are compiled before the first request can arrive: one that waited for
    // them held its worker thread, and every connection on it, for ~250 ms (BENCHMARKS.md,
    // "Tail latency").
    let _ = warm.join();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        let signal = crate::http::shutdown_signal()?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let activitywatch =
            tokio::spawn(crate::activitywatch::serve(app.clone(), stopping.clone()));
        let control = tokio::spawn(crate::control::serve(app.clone(), stopping.clone()));
        let retention = tokio::spawn(crate::forget::retain(app.clone(), stopping));
        let shutdown = async move {
            signal.await;
            let _ = stop.send(true);
            let _ = activitywatch.await;
            let _ = control.await;
            let _ = retention.await;
        };
        for t in &app.tenants {
            tracing::info!(tenant = %t.id, vault = %t.root.display(), "tenant ready");
        }
        let scheme = if tls.is_some() { "https" } else { "http" };
        println!("openclone: listening on {scheme}://{local}");
        let manager = Manager::new(app.links.clone(), runtime);
        let scheduler = manager.start()?;
        crate::http::serve(app, listener, tls, shutdown).await;
        manager.stop();
        let _ = scheduler.join();
        anyhow::Ok(())
    })
}
