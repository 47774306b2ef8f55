//! The dedup index at an empty start and at 10 million keys:
//! `cargo bench -p openclone-vault --bench index [-- KEYS]` (KEYS defaults to 10,000,000).
//!
//! Method: keys are uniformly random 32-byte values (as SHA-256 dedup keys are), in groups
//! of 2,000 (four 500-event batches, a typical group commit under load): each key is looked
//! up, then the group is recorded in one batch, as the vault writer does. The cost per key
//! is timed over the first 500,000 keys of an empty index and over 500,000 new keys once it
//! holds KEYS; a third figure looks up 500,000 keys already held (a full resend). Then the
//! index is closed and reopened: the time to open, and the resident memory the open index
//! adds (`VmRSS`, after another 500,000 lookups) are printed.
//!
//! Last, the pipeline itself: a vault is opened on an empty index and 1,000,000 unique
//! events (2,000 batches of 500 `braindump` events, as `../shared/bench/ingest.lua` makes
//! them) are prepared and stored from two threads, fsync and all; then the same with a
//! vault opened on the index holding 10.5 million keys (its background merges included). Prints the Markdown rows of BENCHMARKS.md.

use std::time::Instant;

use openclone_vault::index::Index;
use openclone_vault::{Batch, DedupKey, Event, Platform, SourceType, Vault, VaultConfig};

const GROUP: usize = 2_000;
const SAMPLE: usize = 500_000;
/// Batches of 500 events per pipeline thread: 1,000,000 events per pipeline row.
const PIPELINE_BATCHES: usize = 1_000;

/// splitmix64: a fast generator of uniformly random 64-bit words.
struct Keys(u64);

impl Keys {
    fn next_word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_key(&mut self) -> DedupKey {
        let mut k = [0u8; 32];
        for chunk in k.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_word().to_le_bytes());
        }
        DedupKey(k)
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Looks up and records `n` new keys in groups; returns ns per key.
fn add(index: &mut Index, keys: &mut Keys, n: usize) -> f64 {
    let start = Instant::now();
    let mut group = Vec::with_capacity(GROUP);
    for _ in 0..n / GROUP {
        group.clear();
        for _ in 0..GROUP {
            let k = keys.next_key();
            assert!(
                !index.contains(&k).expect("lookup"),
                "a random key was found"
            );
            group.push(k);
        }
        index.record(&group, &[]).expect("record");
    }
    start.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let total: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(10_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("index");
    let rss0 = rss_kib();
    let mut index = Index::open(&path).expect("open");
    let mut keys = Keys(1);
    let empty = add(&mut index, &mut keys, SAMPLE);
    let fill_start = Instant::now();
    let mut held = SAMPLE;
    while held + SAMPLE < total {
        let n = (total - SAMPLE - held).min(1_000_000);
        add(&mut index, &mut keys, n);
        held += n;
    }
    let fill_s = fill_start.elapsed().as_secs_f64();
    let full = add(&mut index, &mut keys, SAMPLE);
    held += SAMPLE;
    let rss_filled = rss_kib().saturating_sub(rss0);
    drop(index);

    let start = Instant::now();
    let mut index = Index::open(&path).expect("reopen");
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut again = Keys(1);
    let start = Instant::now();
    for _ in 0..SAMPLE {
        assert!(
            index.contains(&again.next_key()).expect("lookup"),
            "a held key was lost"
        );
    }
    let resend = start.elapsed().as_nanos() as f64 / SAMPLE as f64;
    let extra = add(&mut index, &mut keys, SAMPLE);
    let rss_open = rss_kib().saturating_sub(rss0);
    let disk: u64 = walk(&path);
    drop(index);
    let empty_rate = pipeline(&dir.path().join("empty-index"), 2);
    let full_rate = pipeline(&path, 1);

    println!("| index | keys held | ns per new key (lookup + record) | ns per held key (lookup) |");
    println!("|---|---|---|---|");
    println!("| empty | 0 → {SAMPLE} | {empty:.0} | – |");
    println!("| full | {} → {held} | {full:.0} | – |", held - SAMPLE);
    println!(
        "| reopened | {held} → {} | {extra:.0} | {resend:.0} |",
        held + SAMPLE
    );
    println!();
    println!(
        "new keys at {held}: {:.0} % of the empty-index rate; filled in {fill_s:.1} s",
        100.0 * empty / full
    );
    println!(
        "open with {held} keys: {open_ms:.0} ms; added RSS: {} MiB while filling, {} MiB reopened; on disk {} MiB",
        rss_filled / 1024,
        rss_open / 1024,
        disk >> 20
    );
    println!();
    println!("| pipeline (prepare + writer, 2 threads, fsync) | events/s |");
    println!("|---|---|");
    println!("| empty index | {empty_rate:.0} |");
    println!(
        "| index holding {} keys | {full_rate:.0} ({:.0} % of empty) |",
        held + SAMPLE,
        100.0 * full_rate / empty_rate
    );
}

/// Events per second through [`Vault::prepare`] and the writer from two threads, on a
/// fresh vault whose index is at `index`.
fn pipeline(index: &std::path::Path, run: u64) -> f64 {
    let root = tempfile::tempdir().expect("tempdir");
    let vault = Vault::open(VaultConfig {
        root: root.path().to_owned(),
        index_path: index.to_owned(),
        tz: jiff::tz::TimeZone::UTC,
        policy: Default::default(),
        on_written: None,
        retention: Vec::new(),
    })
    .expect("vault");
    let batches: Vec<Vec<Batch>> = (0..2)
        .map(|t| (0..PIPELINE_BATCHES).map(|n| batch(run, t, n)).collect())
        .collect();
    let start = Instant::now();
    std::thread::scope(|s| {
        for mine in batches {
            let vault = &vault;
            s.spawn(move || {
                for b in mine {
                    let receipt = vault.ingest(b).expect("stored");
                    assert_eq!(receipt.tally.stored, 500);
                }
            });
        }
    });
    (2 * PIPELINE_BATCHES * 500) as f64 / start.elapsed().as_secs_f64()
}

fn batch(run: u64, thread: usize, n: usize) -> Batch {
    let events = (0..500)
        .map(|i| {
            let mut data = serde_json::Map::new();
            data.insert(
                "text".into(),
                format!("event {thread}-{n}-{i} lorem ipsum dolor sit amet").into(),
            );
            Event {
                timestamp: 1_735_689_600.0 + ((n * 500 + i) % 86_400) as f64,
                data,
                raw_ref: Some(format!("r-{run}-{thread}-{n}-{i}")),
            }
        })
        .collect();
    Batch {
        source_type: SourceType::Braindump,
        platform: Platform::Linux,
        device_id: "bench-device".into(),
        plugin_id: "bench".into(),
        plugin_version: "1.0.0".into(),
        timestamp: 1_735_689_600.0,
        events,
    }
}

fn walk(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                e.metadata().map_or(0, |m| m.len())
            }
        })
        .sum()
}
