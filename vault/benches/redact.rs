//! What redaction costs per MB: `cargo bench -p openclone-vault --bench redact`.
//!
//! Text: every Markdown, subtitle, shell-history and inbox fixture in `tests/fixtures`,
//! repeated to 4 MiB — real notes and commands, nearly all without secrets — then the same
//! text with a secret line (a gitleaks-format token or a named password) every 50 lines.
//! Prints the Markdown rows of BENCHMARKS.md: ms per MiB through `redact` (both passes) and
//! through the gitleaks pass alone, and the findings.

use std::borrow::Cow;
use std::path::Path;
use std::time::Instant;

use openclone_vault::redact::{gitleaks::RULE_SET, redact};

const TARGET: usize = 4 << 20;

fn fixture_text() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| {
                ["md", "vtt", "srt", "txt"].contains(&x.to_string_lossy().as_ref())
            }) || p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("history"))
            {
                files.push(p);
            }
        }
    }
    files.sort();
    let one: String = files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect::<Vec<_>>()
        .join("\n");
    let mut text = String::with_capacity(TARGET + one.len());
    while text.len() < TARGET {
        text.push_str(&one);
    }
    text
}

fn with_secrets(text: &str) -> String {
    let secrets = [
        "export GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
        "export DB_PASSWORD=hunter2",
        "mysql -u root -phunter3 shop",
        "curl https://bob:hunter4@example.com/x",
        "aws_secret_access_key = 5ZJr3J1TWDtkwtDDb/xHKas1VOqg6YYZYn9ZhyiA",
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 20);
    for (i, line) in text.lines().enumerate() {
        out.push_str(line);
        out.push('\n');
        if i % 50 == 49 {
            out.push_str(secrets[(i / 50) % secrets.len()]);
            out.push('\n');
        }
    }
    out
}

/// Milliseconds per MiB of `f` over `text` in paragraphs of at most 4 KiB (the size of a
/// typical captured field), best of 3 runs.
fn per_mib(text: &str, f: &dyn Fn(&str) -> usize) -> (f64, usize) {
    let mut best = f64::MAX;
    let mut found = 0;
    for _ in 0..3 {
        let start = Instant::now();
        found = 0;
        let mut rest = text;
        while !rest.is_empty() {
            let mut cut = rest.len().min(4096);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            found += f(&rest[..cut]);
            rest = &rest[cut..];
        }
        best = best.min(start.elapsed().as_secs_f64() * 1000.0);
    }
    (best / (text.len() as f64 / f64::from(1u32 << 20)), found)
}

fn main() {
    let plain = fixture_text();
    let secret = with_secrets(&plain);
    let full = |t: &str| {
        let out = redact(Cow::Borrowed(t), false);
        out.matches("[REDACTED:").count()
    };
    let gitleaks = |t: &str| RULE_SET.find(t).len();
    println!("| text | pass | ms per MiB | MiB/s | findings |");
    println!("|---|---|---|---|---|");
    for (name, text) in [
        ("fixtures as they are", &plain),
        ("fixtures + a secret every 50 lines", &secret),
    ] {
        for (pass, f) in [
            ("gitleaks rules only", &gitleaks as &dyn Fn(&str) -> usize),
            ("`redact` (gitleaks + host rules)", &full),
        ] {
            let (ms, found) = per_mib(text, f);
            println!(
                "| {name} ({:.1} MiB) | {pass} | {ms:.1} | {:.1} | {found} |",
                text.len() as f64 / f64::from(1u32 << 20),
                1000.0 / ms
            );
        }
    }
    println!("({} gitleaks rules in use)", RULE_SET.len());
}
