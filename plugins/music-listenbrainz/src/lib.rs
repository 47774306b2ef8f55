//! `music-listenbrainz`: the listens of ListenBrainz exports in the granted folders as
//! `music` events: track, artist, album, duration.
//!
//! Reads `.json` files (an array of listens, or the API's `{"payload": {"listens": […]}}`)
//! and `.jsonl`/`.ndjson` files (one listen per line, as in the export archive's
//! `listens/<year>/<month>.jsonl`). A listen is `{"listened_at": <unix s>,
//! "recording_msid": …, "track_metadata": {"artist_name", "track_name", "release_name",
//! "additional_info": {"duration_ms" | "duration"}}}`.
//!
//! `raw_ref` = `listenbrainz:<listened_at>:<recording_msid>` (or a hash of artist and track
//! when there is no msid); listens before 2020-01-01 (or the tenant's `accept_since`) are not emitted (the contract refuses
//! them); an unchanged file is not read again; lines that are not listens are counted in
//! one log line per file.

use openclone_guest::fs::has_extension;
use openclone_guest::prelude::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The plugin.
pub struct MusicListenbrainz;

/// A listen.
#[derive(Debug, Clone, PartialEq)]
pub struct Listen {
    /// Unix seconds.
    pub at: f64,
    /// Track name.
    pub track: String,
    /// Artist name.
    pub artist: Option<String>,
    /// Release (album) name.
    pub album: Option<String>,
    /// Seconds.
    pub duration: Option<f64>,
    /// The stable id.
    pub id: String,
}

/// One listen from its JSON object; `None` if it is not one.
pub fn listen(v: &Value) -> Option<Listen> {
    let at = v.get("listened_at")?.as_f64()?;
    let meta = v.get("track_metadata")?;
    let text = |k: &str| {
        meta.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .filter(|s| !s.is_empty())
    };
    let track = text("track_name")?;
    let info = meta.get("additional_info");
    let duration = info
        .and_then(|i| {
            i.get("duration_ms")
                .and_then(Value::as_f64)
                .map(|ms| ms / 1000.0)
        })
        .or_else(|| info.and_then(|i| i.get("duration").and_then(Value::as_f64)));
    let artist = text("artist_name");
    let msid = v
        .get("recording_msid")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let id = msid.unwrap_or_else(|| {
        hex::encode(
            &Sha256::digest(
                format!("{}\0{track}", artist.as_deref().unwrap_or_default()).as_bytes(),
            )[..8],
        )
    });
    Some(Listen {
        at,
        track,
        artist,
        album: text("release_name"),
        duration,
        id: format!("listenbrainz:{at}:{id}"),
    })
}

/// Every listen in a file's text, how many records were not listens, and the number (from
/// 1) of the first of them.
pub fn listens(text: &str, lines: bool) -> (Vec<Listen>, usize, Option<usize>) {
    let values: Vec<Option<Value>> = if lines {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).ok())
            .collect()
    } else {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items.into_iter().map(Some).collect(),
            Ok(v) => match v.pointer("/payload/listens").and_then(Value::as_array) {
                Some(items) => items.iter().cloned().map(Some).collect(),
                None => vec![Some(v)],
            },
            Err(_) => vec![None],
        }
    };
    let (mut found, mut bad, mut first) = (Vec::new(), 0, None);
    for (i, v) in values.iter().enumerate() {
        match v.as_ref().and_then(listen) {
            Some(l) => found.push(l),
            None => {
                bad += 1;
                first.get_or_insert(i + 1);
            }
        }
    }
    (found, bad, first)
}

impl Plugin for MusicListenbrainz {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Music];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        for file in ctx.changed_files(false, |p| has_extension(p, &["json", "jsonl", "ndjson"]))? {
            let Some(text) = ctx.read_text(&file)? else {
                continue;
            };
            let (found, bad, first) = listens(&text, !has_extension(&file.path, &["json"]));
            if found.is_empty() {
                ctx.skip(&file, "no ListenBrainz listens found")?;
                continue;
            }
            ctx.skipped_records(
                &file.rel,
                bad,
                &format!(
                    "record {} is not a listen (JSON with listened_at and track_metadata)",
                    first.unwrap_or_default()
                ),
            );
            let earliest = ctx.earliest();
            for l in found
                .into_iter()
                .filter(|l| openclone_guest::time::accepted_since(l.at, earliest))
            {
                ctx.emit(
                    Music {
                        track: l.track,
                        artist: l.artist,
                        album: l.album,
                        duration: l.duration,
                    }
                    .at(l.at)
                    .raw_ref(l.id),
                )?;
            }
            ctx.done(&file)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(MusicListenbrainz);
