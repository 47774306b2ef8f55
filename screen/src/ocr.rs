//! OCR through Tesseract's command-line program (Debian's `tesseract-ocr` 5, with
//! `tesseract-ocr-eng`): the grab goes in on stdin as PPM, the words come back on stdout
//! as TSV, under a timeout after which the process is killed (as screenpipe runs it). One
//! OCR thread (`OMP_THREAD_LIMIT=1`), so a pass costs at most one core.
//!
//! The TSV is read here by hand: it is Tesseract's own fixed format (documented in its
//! `renderer.cpp`, `TessTsvRenderer`: twelve tab-separated columns, a header row, the text
//! last and never containing a tab), so splitting on tabs is its whole grammar.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Image, Rect, ScreenError};

/// How Tesseract is run.
#[derive(Debug, Clone)]
pub struct Ocr {
    /// The program (`[screen] tesseract`, default `tesseract` on `PATH`).
    pub program: PathBuf,
    /// Its `-l` argument (`[screen] ocr_languages`, default `eng`).
    pub languages: String,
    /// Killed after this long (`[screen] ocr_timeout_s`, default 30 s).
    pub timeout: Duration,
    /// The grab is scaled up this many times first (`[screen] ocr_scale`, default 2).
    pub scale: u32,
}

/// One line of text on the screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The words, space-separated.
    pub text: String,
    /// Tesseract's confidence, 0–100: the mean of the words'.
    pub confidence: f32,
    /// Where it is (screen coordinates once [`crate::Screen::ocr`] placed it).
    pub rect: Rect,
}

impl Ocr {
    /// Reads `image`'s text. Errors: [`ScreenError::Ocr`] naming the program when it cannot
    /// be started (with the Debian install line), when it exits with an error (its stderr),
    /// or when it runs past the timeout (killed).
    pub fn run(&self, image: &Image) -> Result<Vec<Line>, ScreenError> {
        let mut child = Command::new(&self.program)
            .args(["stdin", "stdout", "-l", &self.languages, "--psm", "3"])
            // A screen is about 96 dpi; said so, Tesseract does not guess it.
            .args(["--dpi", &(96 * self.scale.max(1)).to_string(), "tsv"])
            .env("OMP_THREAD_LIMIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                ScreenError::Ocr(format!(
                    "cannot start {}: {e} (install it: apt-get install tesseract-ocr tesseract-ocr-eng)",
                    self.program.display()
                ))
            })?;
        let (Some(stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(ScreenError::Ocr("no pipes to tesseract".into()));
        };
        // Scoped threads: the writer streams the image from the caller's memory; each ends
        // when the process exits or is killed (a broken pipe, an end of file).
        let (status, out, err) = std::thread::scope(|s| {
            s.spawn(move || image.write_ppm(std::io::BufWriter::new(stdin), self.scale));
            let reader = s.spawn(move || {
                let mut out = Vec::new();
                stdout.read_to_end(&mut out).map(|_| out)
            });
            let errors = s.spawn(move || {
                let mut out = String::new();
                let _ = stderr.read_to_string(&mut out);
                out
            });
            let status = self.wait(&mut child);
            let out = reader.join();
            let err = errors.join().unwrap_or_default();
            (status, out, err)
        });
        let status = status?;
        let out = out
            .map_err(|_| ScreenError::Ocr("reader thread failed".into()))?
            .map_err(|e| ScreenError::Ocr(format!("reading tesseract's output: {e}")))?;
        if !status.success() {
            let last = err.lines().last().unwrap_or("").trim();
            return Err(ScreenError::Ocr(format!(
                "{} failed ({status}): {last}",
                self.program.display()
            )));
        }
        Ok(parse_tsv(&String::from_utf8_lossy(&out), self.scale))
    }

    /// Waits for `child` until the timeout, then kills it. Errors: the timeout (named), or
    /// waiting failed.
    fn wait(
        &self,
        child: &mut std::process::Child,
    ) -> Result<std::process::ExitStatus, ScreenError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(ScreenError::Ocr(format!(
                        "{} ran past {} s and was killed",
                        self.program.display(),
                        self.timeout.as_secs()
                    )));
                }
                Err(e) => return Err(ScreenError::Ocr(format!("waiting for tesseract: {e}"))),
            }
        }
    }
}

/// Tesseract's TSV as lines: words (level 5, a confidence ≥ 0, text not blank) grouped by
/// page, block, paragraph and line, in reading order; boxes divided by `scale`. Rows that
/// do not have twelve columns of the right kinds are skipped.
pub fn parse_tsv(tsv: &str, scale: u32) -> Vec<Line> {
    struct Acc {
        words: Vec<String>,
        conf: f32,
        x0: i64,
        y0: i64,
        x1: i64,
        y1: i64,
    }
    let s = i64::from(scale.max(1));
    let mut lines: BTreeMap<[u32; 4], Acc> = BTreeMap::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        let [
            level,
            page,
            block,
            par,
            line,
            _word,
            left,
            top,
            width,
            height,
            conf,
            text,
        ] = cols[..]
        else {
            continue;
        };
        let num = |v: &str| v.trim().parse::<i64>().ok();
        let (Some(5), Some(page), Some(block), Some(par), Some(line)) =
            (num(level), num(page), num(block), num(par), num(line))
        else {
            continue;
        };
        let (Some(l), Some(t), Some(w), Some(h), Ok(c)) = (
            num(left),
            num(top),
            num(width),
            num(height),
            conf.trim().parse::<f32>(),
        ) else {
            continue;
        };
        let text = text.trim();
        if c < 0.0 || text.is_empty() {
            continue;
        }
        let key = [page, block, par, line].map(|v| v.clamp(0, i64::from(u32::MAX)) as u32);
        let a = lines.entry(key).or_insert(Acc {
            words: Vec::new(),
            conf: 0.0,
            x0: i64::MAX,
            y0: i64::MAX,
            x1: i64::MIN,
            y1: i64::MIN,
        });
        a.words.push(text.to_owned());
        a.conf += c;
        a.x0 = a.x0.min(l);
        a.y0 = a.y0.min(t);
        a.x1 = a.x1.max(l + w);
        a.y1 = a.y1.max(t + h);
    }
    lines
        .into_values()
        .map(|a| Line {
            confidence: a.conf / a.words.len() as f32,
            text: a.words.join(" "),
            rect: Rect {
                x: (a.x0 / s) as i32,
                y: (a.y0 / s) as i32,
                width: ((a.x1 - a.x0).max(0) / s) as u32,
                height: ((a.y1 - a.y0).max(0) / s) as u32,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsv_words_become_lines_with_mean_confidence_and_boxes() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
1\t1\t0\t0\t0\t0\t0\t0\t200\t100\t-1\t\n\
4\t1\t1\t1\t1\t0\t10\t10\t120\t20\t-1\t\n\
5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t90.5\tQuarterly\n\
5\t1\t1\t1\t1\t2\t70\t12\t60\t18\t80.5\tplan\n\
5\t1\t1\t1\t2\t1\t10\t40\t30\t20\t-1\t \n\
5\t1\t1\t1\t3\t1\t10\t60\t30\t20\t70\ttab\there\n\
5\tbroken row\n";
        let lines = parse_tsv(tsv, 2);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "Quarterly plan");
        assert!((lines[0].confidence - 85.5).abs() < 1e-4);
        assert_eq!(
            lines[0].rect,
            Rect {
                x: 5,
                y: 5,
                width: 60,
                height: 10
            }
        );
        assert_eq!(lines[1].text, "tab\there");
    }
}
