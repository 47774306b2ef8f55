//! The bounded fuzz run CI keeps (the long one is `cargo fuzz run http`, BENCHMARKS.md):
//! the fuzz target's seeds (`fuzz/seeds/http`) through the same in-process host
//! ([`openclone_host::fuzzing::Target`]), each answered as a client expects, then a fixed
//! number of seeded random mutations of them: none may panic the host or get a 500.

use std::path::Path;

use openclone_host::fuzzing::{Target, server_error};
use rand::{Rng as _, SeedableRng as _};

/// Mutations per run; `OPENCLONE_FUZZ_MUTATIONS` sets more.
fn mutations() -> usize {
    std::env::var("OPENCLONE_FUZZ_MUTATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}

/// The seeds, by file name.
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/http");
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("fuzz/seeds/http")
        .map(|e| {
            let e = e.expect("entry");
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("seed"),
            )
        })
        .collect();
    out.sort();
    out
}

/// The status codes on a connection's answer bytes, in order.
fn statuses(answer: &[u8]) -> Vec<u16> {
    String::from_utf8_lossy(answer)
        .split("HTTP/1.1 ")
        .skip(1)
        .filter_map(|s| s.get(..3)?.parse().ok())
        .collect()
}

#[test]
fn the_seeds_are_answered_and_random_mutations_never_break_the_host() {
    let scratch = tempfile::tempdir().expect("scratch");
    let mut target = Target::new(scratch.path()).expect("a host");
    let expected: &[(&str, &[u16])] = &[
        ("aw-info", &[200, 200]),
        ("aw-events", &[200, 200, 200]),
        ("aw-heartbeat", &[200, 200, 200]),
        ("aw-delete", &[200, 501]),
        ("cors", &[403]),
        ("ingest", &[200]),
        ("ingest-chunked", &[200]),
        ("ingest-note-keepalive", &[200, 200]),
        ("metrics", &[200, 200, 200]),
    ];
    let seeds = seeds();
    for (name, want) in expected {
        let (_, input) = seeds
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("seed {name}"));
        let answer = target.run(input);
        assert_eq!(
            &statuses(&answer),
            want,
            "seed {name}:\n{}",
            String::from_utf8_lossy(&answer)
        );
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x0c10_4e55);
    for i in 0..mutations() {
        let (_, seed) = &seeds[rng.random_range(0..seeds.len())];
        let mut input = seed.clone();
        for _ in 0..rng.random_range(1..8) {
            let at = rng.random_range(0..input.len().max(1));
            match rng.random_range(0..4) {
                0 if !input.is_empty() => {
                    let last = input.len() - 1;
                    input[at.min(last)] = rng.random();
                }
                1 => input.insert(at.min(input.len()), rng.random()),
                2 if input.len() > 1 => {
                    let end = (at + rng.random_range(1..64)).min(input.len());
                    input.drain(at.min(end)..end);
                }
                _ => {
                    let from = rng.random_range(0..input.len().max(1));
                    let piece: Vec<u8> = input[from..(from + 32).min(input.len())].to_vec();
                    let at = at.min(input.len());
                    input.splice(at..at, piece);
                }
            }
        }
        let answer = target.run(&input);
        assert!(
            !server_error(&answer),
            "mutation {i} got a 500:\n{}\n{}",
            String::from_utf8_lossy(&input),
            String::from_utf8_lossy(&answer)
        );
    }
}
