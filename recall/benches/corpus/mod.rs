//! The generated vault both search benchmarks read: `benches/search.rs` (this index) and
//! `compare/` (tantivy on the same files). N host entries of 12–40 words from a 2,000-word
//! vocabulary with Zipf-like frequencies, in daily files of three source folders across ten
//! years, and the two-word queries asked of it; deterministic, so every run writes the same.

use std::fmt::Write as _;
use std::path::Path;

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

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

/// An index into the vocabulary, small ones far more often (roughly Zipf).
fn zipf(rng: &mut Rng, n: usize) -> usize {
    let u = (rng.below(1_000_000) as f64 + 1.0) / 1_000_001.0;
    ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
}

/// What [`write`] wrote, and what asks the queries.
pub struct Corpus {
    /// The vocabulary, most frequent first.
    pub words: Vec<String>,
    /// Entries written.
    pub entries: u64,
    /// Bytes of Markdown written.
    pub bytes: u64,
    /// Daily files written.
    pub files: u64,
    rng: Rng,
}

impl Corpus {
    /// `k` two-word queries, both words drawn from the 500 most frequent.
    pub fn queries(&mut self, k: usize) -> Vec<String> {
        (0..k)
            .map(|_| {
                let a = zipf(&mut self.rng, 500);
                let b = zipf(&mut self.rng, 500);
                format!("{} {}", self.words[a], self.words[b])
            })
            .collect()
    }
}

/// Writes `n` entries into daily files under `root` (with `files` false, only draws them:
/// the same vocabulary and queries for a vault written before). Panics when a file cannot
/// be written (a benchmark's setup).
pub fn write(root: &Path, n: u64, files: bool) -> Corpus {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let words: Vec<String> = (0..2000)
        .map(|_| {
            let k = 2 + rng.below(3);
            (0..k)
                .map(|_| SYLLABLES[rng.below(24) as usize])
                .collect::<String>()
        })
        .collect();
    let folders = [
        ("Notes", "notes"),
        ("Activity", "activity"),
        ("Braindump", "braindump"),
    ];
    let days = 3650u64;
    let per_file = n.div_ceil(days * folders.len() as u64).max(1);
    let (mut written, mut bytes, mut written_files) = (0u64, 0u64, 0u64);
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
                    "\n\n<!-- openclone:entry v=1 key={written:064x} source={source} plugin=bench@1.0.0 device=d -->"
                );
                written += 1;
            }
            bytes += text.len() as u64;
            written_files += 1;
            if files {
                std::fs::create_dir_all(root.join(folder)).expect("folder");
                std::fs::write(root.join(folder).join(format!("{date}.md")), text).expect("write");
            }
            if written == n {
                break 'outer;
            }
        }
    }
    Corpus {
        words,
        entries: written,
        bytes,
        files: written_files,
        rng,
    }
}
