//! Search over a generated vault: `cargo bench -p openclone-recall --bench search -- N`
//! (N entries, default 1,000,000). Writes N host entries of realistic text (a 2,000-word
//! vocabulary with Zipf-like frequencies, 12–40 words each) into daily files of three
//! source folders across ten years, builds the index with `sync::all`, then times 1,000
//! two-word queries (each word drawn from the 500 most frequent) and prints the index size,
//! the build time and the query latencies (p50, p99). Markdown table rows for BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Instant;

use openclone_recall::query::{Query, search};
use openclone_recall::{schema, sync};

/// A small deterministic generator (xorshift64*), so every run writes the same vault.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const SYLLABLES: [&str; 24] = [
    "ka", "lo", "mi", "ren", "sa", "tor", "vel", "an", "is", "ur", "bel", "co", "dan", "fi", "gor",
    "hal", "jen", "kri", "lum", "mar", "nol", "pet", "qua", "ros",
];

fn vocabulary(rng: &mut Rng) -> Vec<String> {
    (0..2000)
        .map(|_| {
            let n = 2 + rng.below(3);
            (0..n)
                .map(|_| SYLLABLES[rng.below(24) as usize])
                .collect::<String>()
        })
        .collect()
}

/// An index into the vocabulary, small ones far more often (roughly Zipf).
fn zipf(rng: &mut Rng, n: usize) -> usize {
    let u = (rng.below(1_000_000) as f64 + 1.0) / 1_000_001.0;
    ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
}

fn main() {
    let n: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("vault");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words = vocabulary(&mut rng);
    let folders = [
        ("Notes", "notes"),
        ("Activity", "activity"),
        ("Braindump", "braindump"),
    ];
    let days = 3650u64;
    let per_file = n.div_ceil(days * folders.len() as u64).max(1);
    let started = Instant::now();
    let mut written = 0u64;
    let mut bytes = 0u64;
    'outer: for d in 0..days {
        let date = jiff::civil::date(2016, 1, 1)
            .checked_add(jiff::Span::new().days(d as i64))
            .expect("date");
        for (folder, source) in folders {
            let mut text = format!(
                "---\ncreated_by: openclone\nfolder: {folder}\ndate: {date}\n---\n\n# {folder} — {date}\n"
            );
            for e in 0..per_file {
                if written == n {
                    break;
                }
                let secs = e * 86_400 / per_file;
                let _ = write!(
                    text,
                    "\n## {:02}:{:02}:{:02} · bench\n\n",
                    secs / 3600,
                    secs / 60 % 60,
                    secs % 60
                );
                let len = 12 + rng.below(29);
                for i in 0..len {
                    if i > 0 {
                        text.push(' ');
                    }
                    text.push_str(&words[zipf(&mut rng, words.len())]);
                }
                let _ = writeln!(
                    text,
                    "\n\n<!-- openclone:entry v=1 key={:064x} source={source} plugin=bench@1.0.0 device=d -->",
                    written
                );
                written += 1;
            }
            std::fs::create_dir_all(root.join(folder)).expect("folder");
            bytes += text.len() as u64;
            std::fs::write(root.join(folder).join(format!("{date}.md")), text).expect("write");
            if written == n {
                break 'outer;
            }
        }
    }
    let generated = started.elapsed();
    let db = dir.path().join("search.sqlite");
    let mut conn = schema::open(&db).expect("index");
    let started = Instant::now();
    let s = sync::all(&mut conn, &root).expect("sync");
    let built = started.elapsed();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .expect("checkpoint");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    let mut lat = Vec::with_capacity(1000);
    let mut found = 0usize;
    for _ in 0..1000 {
        let q = format!(
            "{} {}",
            words[zipf(&mut rng, 500)],
            words[zipf(&mut rng, 500)]
        );
        let t = Instant::now();
        let hits = search(
            &conn,
            &Query {
                text: q,
                limit: 20,
                ..Query::default()
            },
        )
        .expect("search");
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        found += hits.len();
    }
    lat.sort_by(f64::total_cmp);
    let (p50, p99) = (lat[lat.len() / 2], lat[lat.len() * 99 / 100]);
    println!(
        "generated {written} entries ({:.0} MB of Markdown in {} files) in {:.1} s",
        bytes as f64 / 1e6,
        s.files_read,
        generated.as_secs_f64()
    );
    println!(
        "| {written} entries | build {:.1} s ({:.0} entries/s) | index {:.0} MB ({:.0} MB per million) | two-word query p50 {p50:.2} ms, p99 {p99:.2} ms ({:.1} hits each) |",
        built.as_secs_f64(),
        s.entries as f64 / built.as_secs_f64(),
        size as f64 / 1e6,
        size as f64 / 1e6 / (written as f64 / 1e6),
        found as f64 / 1000.0
    );
}
