//! Search over a generated vault: `cargo bench -p openclone-recall --bench search -- N`
//! (N entries, default 1,000,000). Writes N host entries of realistic text (a 2,000-word
//! vocabulary with Zipf-like frequencies, 12–40 words each) into daily files of three
//! source folders across ten years, builds the index with `sync::all`, then times 1,000
//! two-word queries (each word drawn from the 500 most frequent) and prints the index size,
//! the build time and the query latencies (p50, p99). Markdown table rows for BENCHMARKS.md.
//! With `OPENCLONE_BENCH_KEEP=DIR` the vault and index are kept in DIR, and a later run
//! with the same N and DIR only asks the queries (for trying a query change at 10 M).

use std::time::Instant;

use openclone_recall::query::{Query, search};
use openclone_recall::{schema, sync};

mod corpus;

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let temp = tempfile::tempdir().expect("tempdir");
    let dir = std::env::var_os("OPENCLONE_BENCH_KEEP")
        .map_or_else(|| temp.path().to_owned(), std::path::PathBuf::from);
    let root = dir.join("vault");
    let db = dir.join("search.sqlite");
    let kept = db.exists() && root.exists();
    let started = Instant::now();
    let mut corpus = corpus::write(&root, n, !kept);
    let generated = started.elapsed();
    let mut conn = schema::open(&db).expect("index");
    let started = Instant::now();
    let s = if kept {
        println!("reusing the index in {}", dir.display());
        sync::Synced::default()
    } else {
        sync::all(&mut conn, &root).expect("sync")
    };
    let built = started.elapsed();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let mut lat = Vec::with_capacity(1000);
    let mut found = 0usize;
    for q in corpus.queries(1000) {
        let t = Instant::now();
        let hits = search(
            &conn,
            &Query {
                text: q.clone(),
                limit: 20,
                ..Query::default()
            },
        )
        .expect("search");
        lat.push((t.elapsed().as_secs_f64() * 1000.0, q));
        found += hits.len();
    }
    lat.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (p50, p99) = (lat[lat.len() / 2].0, lat[lat.len() * 99 / 100].0);
    println!(
        "generated {} entries ({:.0} MB of Markdown in {} files) in {:.1} s",
        corpus.entries,
        corpus.bytes as f64 / 1e6,
        corpus.files,
        generated.as_secs_f64()
    );
    let slowest: Vec<String> = lat
        .iter()
        .rev()
        .take(5)
        .map(|(ms, q)| format!("{q:?} {ms:.1} ms"))
        .collect();
    println!("slowest: {}", slowest.join(", "));
    println!(
        "| {} entries | build {:.1} s ({:.0} entries/s) | index {:.0} MB ({:.0} MB per million) | two-word query p50 {p50:.2} ms, p99 {p99:.2} ms ({:.1} hits each) |",
        corpus.entries,
        built.as_secs_f64(),
        s.entries as f64 / built.as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / 1e6 / (corpus.entries as f64 / 1e6),
        found as f64 / 1000.0
    );
}
