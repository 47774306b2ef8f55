//! The `openclone` command line (DESIGN.md, "The command line").

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::app::App;
use crate::config::Config;

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
    },
}

/// Runs the parsed command line.
///
/// Errors: bad configuration, a vault that cannot be opened, an address in use.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve { config, listen } => serve(config, listen),
    }
}

fn serve(config: Option<PathBuf>, listen: Option<SocketAddr>) -> anyhow::Result<()> {
    let cfg = Config::load(config.as_deref())?;
    let addr = listen.unwrap_or(cfg.listen);
    let app = Arc::new(App::open(&cfg)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        let local = listener.local_addr()?;
        for t in &app.tenants {
            tracing::info!(tenant = %t.id, vault = %t.root.display(), "tenant ready");
        }
        println!("openclone: listening on http://{local}");
        crate::http::serve(app, listener, crate::http::shutdown_signal()).await;
        anyhow::Ok(())
    })
}
