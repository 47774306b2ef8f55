//! Forgetting one day in a large vault: `cargo bench -p openclone-vault --bench forget
//! [-- ENTRIES]` (default 1,000,000).
//!
//! Method: ENTRIES braindump events spread evenly over ten years (2016–2025, one daily file
//! a day, a 60-byte text each) are stored through the real pipeline (`Vault::ingest`,
//! batches of 500). Then one day in the middle is forgotten with tombstones, as `openclone
//! forget --from DAY --to DAY --yes` does: the dry run and the forget are timed, and the
//! entries removed, the files and the bytes rewritten are printed, with the vault's size;
//! then the first half of the next day (its file rewritten with the other half).
//! Prints a Markdown row for BENCHMARKS.md.

use std::time::Instant;

use openclone_vault::{Batch, Event, Platform, Selection, SourceType, Vault, VaultConfig};

/// 2016-01-01T00:00:00Z.
const START: i64 = 1_451_606_400;
const DAYS: i64 = 3_652;

fn main() {
    let n: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let vault = Vault::open(VaultConfig {
        root: dir.path().join("vault"),
        index_path: dir.path().join("state").join("index"),
        tz: jiff::tz::TimeZone::UTC,
        policy: Default::default(),
        on_written: None,
        retention: Vec::new(),
    })
    .expect("vault");
    let step = DAYS * 86_400 / n.max(1);
    let started = Instant::now();
    for first in (0..n).step_by(500) {
        let events = (first..(first + 500).min(n))
            .map(|i| {
                let mut data = serde_json::Map::new();
                data.insert(
                    "text".into(),
                    format!("thought {i}: the harbour wall needs another look soon").into(),
                );
                Event {
                    timestamp: (START + i * step) as f64,
                    data,
                    raw_ref: Some(format!("r{i}")),
                }
            })
            .collect();
        let receipt = vault
            .ingest(Batch {
                source_type: SourceType::Braindump,
                platform: Platform::Linux,
                device_id: "bench".into(),
                plugin_id: "bench".into(),
                plugin_version: "1.0.0".into(),
                timestamp: START as f64,
                events,
            })
            .expect("stored");
        assert!(receipt.tally.stored > 0);
    }
    let stored = started.elapsed();
    let bytes: u64 = std::fs::read_dir(dir.path().join("vault/Braindump"))
        .expect("folder")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let day = jiff::Timestamp::from_second(START + DAYS / 2 * 86_400).expect("day");
    let sel = Selection {
        from: day,
        to: day
            .checked_add(jiff::SignedDuration::from_hours(24))
            .expect("day end"),
        source: None,
        plugin: None,
        tombstone: true,
    };
    let t = Instant::now();
    let dry = vault.forget(sel.clone(), true).expect("dry run");
    let dry_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let done = vault.forget(sel, false).expect("forget");
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(dry.entries, done.entries);
    assert!(done.files.iter().all(|f| f.removed), "{:?}", done.files);
    // Half of the next day: that file is rewritten with the other half.
    let half = Selection {
        from: day
            .checked_add(jiff::SignedDuration::from_hours(24))
            .expect("next day"),
        to: day
            .checked_add(jiff::SignedDuration::from_hours(36))
            .expect("its noon"),
        source: None,
        plugin: None,
        tombstone: true,
    };
    let t = Instant::now();
    let part = vault.forget(half, false).expect("forget half a day");
    let part_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "stored {n} entries ({:.0} MB in {DAYS} daily files) in {:.1} s",
        bytes as f64 / 1e6,
        stored.as_secs_f64()
    );
    println!(
        "| {n} entries | one day: {} entries, {} file of {} bytes (removed: nothing else was in it) | dry run {dry_ms:.1} ms | forget {ms:.1} ms | {} bytes rewritten |",
        done.entries,
        done.files.len(),
        done.files.first().map_or(0, |f| f.bytes_before),
        done.bytes_rewritten,
    );
    println!(
        "| {n} entries | half a day: {} entries of a {}-byte file | | forget {part_ms:.1} ms | {} bytes rewritten |",
        part.entries,
        part.files.first().map_or(0, |f| f.bytes_before),
        part.bytes_rewritten,
    );
}
