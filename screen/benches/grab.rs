//! Grab + hash of monitor 0 and OCR of it, on the session's display (BENCHMARKS.md,
//! "Screen"). Run under Xvfb with a text-heavy window on screen:
//!
//! ```text
//! scripts/bench-screen.sh
//! ```
//!
//! Prints the median and p90 of `OPENCLONE_BENCH_GRABS` grabs (default 50) and of
//! `OPENCLONE_BENCH_OCRS` OCR runs (default 5) at `OPENCLONE_BENCH_SCALE` (default 2, as
//! `[screen] ocr_scale`), and the lines and words OCR found.

use std::time::{Duration, Instant};

use openclone_screen::{Screen, Settings, Target};

fn count(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn quantiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let ms = |i: usize| d[i.min(d.len() - 1)].as_secs_f64() * 1e3;
    (ms(d.len() / 2), ms(d.len() * 9 / 10))
}

/// `VmRSS` and `VmHWM` of this process, MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (before, _) = memory();
    let mut settings = Settings::default();
    settings.ocr.scale = count("OPENCLONE_BENCH_SCALE", 2) as u32;
    let screen = Screen::new(settings);
    let mut grabs = Vec::new();
    let mut last = None;
    for _ in 0..count("OPENCLONE_BENCH_GRABS", 50) {
        let started = Instant::now();
        let g = screen.grab(Target::Monitor(0))?;
        grabs.push(started.elapsed());
        last = Some(g);
    }
    let g = last.ok_or("no grab")?;
    let (_, after_grabs) = memory();
    let (p50, p90) = quantiles(grabs);
    println!(
        "grab+hash {}x{}: median {p50:.1} ms, p90 {p90:.1} ms",
        g.area.width, g.area.height
    );
    let mut runs = Vec::new();
    let mut lines = Vec::new();
    for _ in 0..count("OPENCLONE_BENCH_OCRS", 5) {
        let started = Instant::now();
        lines = screen.ocr(&g)?;
        runs.push(started.elapsed());
    }
    let (_, after_ocr) = memory();
    println!(
        "memory: {before:.1} MiB before, peak {after_grabs:.1} MiB after the grabs, {after_ocr:.1} MiB after OCR (tesseract is its own process)"
    );
    let words: usize = lines
        .iter()
        .map(|l| l.text.split_whitespace().count())
        .sum();
    let (p50, p90) = quantiles(runs);
    println!(
        "ocr {}x{} (scale {}): median {p50:.0} ms, p90 {p90:.0} ms, {} lines, {words} words",
        g.area.width,
        g.area.height,
        screen.settings().ocr.scale,
        lines.len()
    );
    Ok(())
}
