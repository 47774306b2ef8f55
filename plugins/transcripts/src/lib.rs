//! `transcripts`: the cues of WebVTT (`.vtt`) and SubRip (`.srt`) files merged into chunks
//! of about `chunk_s` seconds, as `audio_system` events: `text`, `duration` (seconds),
//! `app_name` (config, else the file name), `confidence` left out.
//!
//! - Parsed with `subtp` (a trailing newline is added first: the parser needs one); when it
//!   refuses a file, each cue is read on its own and only the bad ones are skipped
//!   ([`read`]).
//! - A chunk's time is the file's modification time plus the chunk's start offset (a
//!   transcript file has no wall-clock time of its own).
//! - `raw_ref` = the file, the first 16 hex digits of the SHA-256 of its content and the
//!   chunk number: an unchanged transcript is never stored twice, a changed one again.
//! - An unchanged file is not read again.

use openclone_guest::fs::has_extension;
use openclone_guest::prelude::*;
use sha2::{Digest, Sha256};

/// The plugin.
pub struct Transcripts;

/// One cue: start and end in seconds from the file's start, and its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    /// Seconds.
    pub start: f64,
    /// Seconds.
    pub end: f64,
    /// Text, lines joined by spaces, tags removed.
    pub text: String,
}

/// A merged chunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Seconds from the file's start.
    pub start: f64,
    /// Seconds covered.
    pub duration: f64,
    /// The cues' text.
    pub text: String,
}

fn secs(h: u8, m: u8, s: u8, ms: u16) -> f64 {
    f64::from(h) * 3600.0 + f64::from(m) * 60.0 + f64::from(s) + f64::from(ms) / 1000.0
}

/// Removes WebVTT markup (`<v Speaker>`, `<c.x>`, `<00:00:01.000>`) from cue text.
fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
}

/// The cues of a `.vtt` or `.srt` text. Errors: the parser's message.
pub fn cues(text: &str, vtt: bool) -> std::result::Result<Vec<Cue>, String> {
    let text = format!(
        "{}\n",
        text.trim_start_matches('\u{feff}').replace("\r\n", "\n")
    );
    let join = |lines: &[String]| {
        strip_tags(&lines.join(" "))
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    if vtt {
        let v = subtp::vtt::WebVtt::parse(&text).map_err(|e| e.to_string())?;
        Ok(v.blocks
            .into_iter()
            .filter_map(|b| match b {
                subtp::vtt::VttBlock::Que(c) => {
                    let (s, e) = (c.timings.start, c.timings.end);
                    Some(Cue {
                        start: secs(s.hours, s.minutes, s.seconds, s.milliseconds),
                        end: secs(e.hours, e.minutes, e.seconds, e.milliseconds),
                        text: join(&c.payload),
                    })
                }
                _ => None,
            })
            .collect())
    } else {
        let s = subtp::srt::SubRip::parse(&text).map_err(|e| e.to_string())?;
        Ok(s.subtitles
            .into_iter()
            .map(|c| Cue {
                start: secs(
                    c.start.hours,
                    c.start.minutes,
                    c.start.seconds,
                    c.start.milliseconds,
                ),
                end: secs(
                    c.end.hours,
                    c.end.minutes,
                    c.end.seconds,
                    c.end.milliseconds,
                ),
                text: join(&c.text),
            })
            .collect())
    }
}

/// What reading a transcript gave: its cues, and the blocks it had to skip.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The cues kept, in order.
    pub cues: Vec<Cue>,
    /// Blocks that could not be read as a cue.
    pub skipped: usize,
    /// Why the first of them was skipped.
    pub first_reason: Option<String>,
}

/// The cues of a transcript, recovering per cue. The whole file goes to `subtp`
/// first; it refuses a whole file for one bad cue and has no lenient mode, so when it does,
/// each block is read on its own, after normalising what browsers and players accept
/// (non-padded hours, minutes and seconds; a cue with no text is dropped, not an error).
/// A block that still does not parse is skipped and counted.
///
/// Errors: no cue at all could be read (the first reason).
pub fn read(text: &str, vtt: bool) -> std::result::Result<Read, String> {
    let text = &split_run_on_cues(text);
    if let Ok(found) = cues(text, vtt) {
        return Ok(Read {
            cues: found,
            skipped: 0,
            first_reason: None,
        });
    }
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let mut blocks = text.split("\n\n").map(str::trim).filter(|b| !b.is_empty());
    if vtt && !blocks.next().is_some_and(|h| h.starts_with("WEBVTT")) {
        return Err("no WEBVTT header".into());
    }
    let (mut found, mut skipped, mut first_reason) = (Vec::new(), 0, None);
    for block in blocks {
        if vtt
            && ["NOTE", "STYLE", "REGION"]
                .iter()
                .any(|k| block.starts_with(k))
        {
            continue;
        }
        let lines: Vec<&str> = block.lines().collect();
        let Some(t) = lines.iter().position(|l| l.contains("-->")) else {
            skipped += 1;
            first_reason
                .get_or_insert_with(|| format!("a block without a time line: {:?}", lines[0]));
            continue;
        };
        let payload = &lines[t + 1..];
        if payload.iter().all(|l| l.trim().is_empty()) {
            continue;
        }
        let timing = pad_timing(lines[t], if vtt { '.' } else { ',' });
        let single = if vtt {
            format!("WEBVTT\n\n{timing}\n{}\n", payload.join("\n"))
        } else {
            format!("1\n{timing}\n{}\n", payload.join("\n"))
        };
        match cues(&single, vtt) {
            Ok(c) => found.extend(c),
            Err(e) => {
                skipped += 1;
                first_reason.get_or_insert(format!("{:?}: {e}", lines[t]));
            }
        }
    }
    if found.is_empty() {
        return Err(first_reason.unwrap_or_else(|| "no cues".into()));
    }
    Ok(Read {
        cues: found,
        skipped,
        first_reason,
    })
}

/// Ends a cue's text at a line holding `-->`, as the WebVTT parsing algorithm does (W3C
/// WebVTT, "collect WebVTT cue text": such a line ends the cue and starts the next one):
/// YouTube's automatic captions run cues together without the blank line, and `subtp`
/// would read the next timing line as text. A line scan that only inserts the blank line.
fn split_run_on_cues(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut timed = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.trim().is_empty() {
            timed = false;
        } else if bare.contains("-->") {
            if timed {
                out.push('\n');
            }
            timed = true;
        }
        out.push_str(line);
    }
    out
}

/// A timing line with both times written in full (`HH:MM:SS.mmm`, or `,` for SubRip):
/// `0:01.5 --> 0:02.500 align:start` → `00:00:01.500 --> 00:00:02.500 align:start`.
/// Hand-written: the times are three numbers and a fraction; anything else stays as it is
/// and the parser then says what is wrong.
fn pad_timing(line: &str, sep: char) -> String {
    let Some((left, right)) = line.split_once("-->") else {
        return line.to_owned();
    };
    let mut right_parts = right.trim().splitn(2, char::is_whitespace);
    let end = right_parts.next().unwrap_or_default();
    let settings = right_parts
        .next()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    format!(
        "{} --> {}{settings}",
        pad_time(left.trim(), sep),
        pad_time(end, sep)
    )
}

fn pad_time(t: &str, sep: char) -> String {
    let (clock, frac) = t.split_once(['.', ',']).unwrap_or((t, "0"));
    let mut parts: Vec<&str> = clock.split(':').collect();
    if parts.len() > 3
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return t.to_owned();
    }
    while parts.len() < 3 {
        parts.insert(0, "0");
    }
    let ms: String = format!("{frac:0<3}").chars().take(3).collect();
    format!(
        "{:0>2}:{:0>2}:{:0>2}{sep}{ms}",
        parts[0], parts[1], parts[2]
    )
}

/// Merges cues into chunks of about `chunk_s` seconds (a chunk closes once it spans that
/// long); consecutive identical lines (rolling captions) are kept once.
pub fn chunks(cues: &[Cue], chunk_s: f64) -> Vec<Chunk> {
    let mut out: Vec<Chunk> = Vec::new();
    let mut current: Option<(f64, f64, Vec<String>)> = None;
    for c in cues.iter().filter(|c| !c.text.is_empty()) {
        let (start, end, texts) = current.get_or_insert_with(|| (c.start, c.end, Vec::new()));
        if texts.last() != Some(&c.text) {
            texts.push(c.text.clone());
        }
        *end = end.max(c.end);
        if *end - *start >= chunk_s {
            let (s, e, t) = current.take().unwrap_or_default();
            out.push(Chunk {
                start: s,
                duration: e - s,
                text: t.join(" "),
            });
        }
    }
    if let Some((s, e, t)) = current {
        out.push(Chunk {
            start: s,
            duration: e - s,
            text: t.join(" "),
        });
    }
    out
}

impl Plugin for Transcripts {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::AudioSystem];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let chunk_s: u32 = ctx.config_or("chunk_s", 60)?;
        let app: Option<String> = ctx.config("app_name")?;
        for file in ctx.changed_files(false, |p| has_extension(p, &["vtt", "srt"]))? {
            let bytes = std::fs::read(&file.path)?;
            let vtt = has_extension(&file.path, &["vtt"]);
            let parsed = String::from_utf8(bytes.clone())
                .map_err(|_| "not UTF-8 text".to_owned())
                .and_then(|t| read(&t, vtt));
            let found = match parsed {
                Ok(r) if !r.cues.is_empty() => {
                    ctx.skipped_records(&file.rel, r.skipped, &r.first_reason.unwrap_or_default());
                    r.cues
                }
                Ok(_) => {
                    ctx.skip(&file, "no cues")?;
                    continue;
                }
                Err(e) => {
                    ctx.skip(
                        &file,
                        &format!(
                            "not a readable {} file: {e}",
                            if vtt { "WebVTT" } else { "SRT" }
                        ),
                    )?;
                    continue;
                }
            };
            let hash = hex::encode(&Sha256::digest(&bytes)[..8]);
            let app_name = app.clone().unwrap_or_else(|| {
                file.path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            for (i, c) in chunks(&found, f64::from(chunk_s)).into_iter().enumerate() {
                let ts = file.stamp.timestamp() + c.start;
                if !ctx.accepted(ts) {
                    continue;
                }
                let e = AudioSystem {
                    text: c.text,
                    duration: Some((c.duration * 1000.0).round() / 1000.0),
                    app_name: Some(app_name.clone()),
                    confidence: None,
                }
                .at(ts)
                .raw_ref(format!("{}#{hash}#{i}", file.rel));
                ctx.emit(e)?;
            }
            ctx.done(&file)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(Transcripts);
