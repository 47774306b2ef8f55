//! The host benchmark: ingest throughput (HTTP and direct), WebAssembly plugin costs and
//! ActivityWatch heartbeats, measured in one run.
//!
//! `cargo bench -p openclone-host --bench host -- [SECONDS] [CLIENTS] [activitywatch]`
//! (default 8 s, 4 clients; `activitywatch` runs only the ActivityWatch rows, `ingest` only
//! the direct pipeline rows). Builds the
//! plugins first (`scripts/build-plugins.sh --test`). Prints the Markdown tables of
//! BENCHMARKS.md.

mod activitywatch;
mod ingest;
mod languages;
mod plugins;
mod shelf;

use std::path::Path;
use std::process::Command;

/// The allocator of the `openclone` binary, so the in-process rows measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let seconds = args.first().and_then(|s| s.parse().ok()).unwrap_or(8);
    let clients = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(4);
    if args.iter().any(|a| a == "ingest") {
        println!("| path | events | events/s | MB/s | p50 ms/batch | p99 ms/batch |");
        println!("|---|---|---|---|---|---|");
        ingest::direct(seconds, 1);
        ingest::direct_pipelined(seconds, 4);
        return;
    }
    if args.first().is_some_and(|a| a == "languages-rss") {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (dropin, id, cache) = (&args[1], &args[2], Path::new(&args[3]));
        languages::rss_child(&root.join("target/e2e-plugins"), dropin, id, cache);
        return;
    }
    if args.iter().any(|a| a == "activitywatch") {
        activitywatch::run(seconds, 8);
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let built = root.join("target/e2e-plugins");
    let ok = Command::new("bash")
        .arg(root.join("scripts/build-plugins.sh"))
        .arg("--test")
        .arg(&built)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "building the plugins failed");
    if args.iter().any(|a| a == "languages") {
        languages::run(&built, &root);
        return;
    }
    println!("| path | events | events/s | MB/s | p50 ms/batch | p99 ms/batch |");
    println!("|---|---|---|---|---|---|");
    let pipeline = ingest::direct(seconds, 1);
    ingest::direct_pipelined(seconds, 4);
    ingest::direct(seconds, 2);
    ingest::over_http(seconds, 1);
    let http = ingest::over_http(seconds, clients);
    plugins::run(&built, pipeline, http);
    shelf::run(&built, &root.join("tests/fixtures"));
    activitywatch::run(seconds, 8);
}
