//! The `openclone` binary.

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc (MIT): the ingest path allocates and frees many small strings and JSON nodes
/// per event on several threads; glibc's allocator took about 14 % of the host's CPU under
/// load there (BENCHMARKS.md, "Where the time goes now").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // Private by default: every folder the host creates is 0700 and every file
    // 0600 — vault entries, the dedup index, plugin state, keys, the compile cache.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let _ = dotenvy::dotenv();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match openclone_host::cli::run(openclone_host::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("openclone: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
