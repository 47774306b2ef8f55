//! `gps-gpx`: the points of the GPX files in the granted folders as `gps` events.
//!
//! - Track points are thinned: one is kept when it moved `min_distance_m` from the last
//!   point kept, or `min_interval_s` passed since.
//! - Waypoints are all kept, with their name as `place_name`; a track or route point near a
//!   named waypoint (`place_radius_m`) gets that name too.
//! - A point's time is its `<time>`, and only timed points are emitted: a route is a plan
//!   and a waypoint a marked place, not where the person was, and no other time in the
//!   file is the point's own. A named waypoint without a time still names nearby points;
//!   every other untimed point is counted in one report line per file.
//! - Points before 2020-01-01 (or the tenant's `accept_since`) are not emitted (the ingest contract refuses them): one log
//!   line per file says how many.
//! - A file the `gpx` crate refuses is read point by point ([`recover`]): a bad point is
//!   skipped and counted, the others are captured, one warning per file.
//! - `raw_ref` = `lat,lon@time` (six decimals, Unix seconds); an unchanged file is not
//!   read again.

use openclone_guest::fs::has_extension;
use openclone_guest::prelude::*;

/// The plugin.
pub struct GpsGpx;

/// One point to emit.
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Unix seconds, if the file gives a time.
    pub time: Option<f64>,
    /// Elevation, metres.
    pub elevation: Option<f64>,
    /// A name for the place.
    pub place: Option<String>,
    /// Where in the file: `wpt3`, `trk0.1.17`, `rte0.5`.
    pub at: String,
}

/// Thinning and naming settings.
#[derive(Debug, Clone, Copy)]
pub struct Thinning {
    /// Metres.
    pub min_distance_m: f64,
    /// Seconds.
    pub min_interval_s: f64,
    /// Metres.
    pub place_radius_m: f64,
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (
        a.0.to_radians(),
        a.1.to_radians(),
        b.0.to_radians(),
        b.1.to_radians(),
    );
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

fn fix(w: &gpx::Waypoint, at: String) -> Fix {
    let p = w.point();
    let time = w
        .time
        .map(|t| time::OffsetDateTime::from(t).unix_timestamp_nanos() as f64 / 1e9);
    Fix {
        lat: p.y(),
        lon: p.x(),
        time,
        elevation: w.elevation,
        place: w.name.clone().filter(|n| !n.trim().is_empty()),
        at,
    }
}

/// Every point of `g` to emit, thinned and named.
pub fn fixes(g: &gpx::Gpx, t: Thinning) -> Vec<Fix> {
    let named: Vec<Fix> = g
        .waypoints
        .iter()
        .enumerate()
        .map(|(i, w)| fix(w, format!("wpt{i}")))
        .collect();
    let place_for = |f: &Fix| -> Option<String> {
        named
            .iter()
            .filter_map(|w| {
                Some((
                    w.place.as_ref()?,
                    distance_m((w.lat, w.lon), (f.lat, f.lon)),
                ))
            })
            .filter(|(_, d)| *d <= t.place_radius_m)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, _)| n.clone())
    };
    let mut out = named.clone();
    let mut paths: Vec<Vec<Fix>> = Vec::new();
    for (ti, track) in g.tracks.iter().enumerate() {
        for (si, seg) in track.segments.iter().enumerate() {
            paths.push(
                seg.points
                    .iter()
                    .enumerate()
                    .map(|(pi, w)| fix(w, format!("trk{ti}.{si}.{pi}")))
                    .collect(),
            );
        }
    }
    for (ri, route) in g.routes.iter().enumerate() {
        paths.push(
            route
                .points
                .iter()
                .enumerate()
                .map(|(pi, w)| fix(w, format!("rte{ri}.{pi}")))
                .collect(),
        );
    }
    for path in paths {
        let mut last: Option<(f64, f64, Option<f64>)> = None;
        for mut f in path {
            let keep = last.is_none_or(|(lat, lon, time)| {
                let moved = distance_m((lat, lon), (f.lat, f.lon)) >= t.min_distance_m;
                let waited =
                    matches!((time, f.time), (Some(a), Some(b)) if b - a >= t.min_interval_s);
                moved || waited
            });
            if keep {
                last = Some((f.lat, f.lon, f.time));
                if f.place.is_none() {
                    f.place = place_for(&f);
                }
                out.push(f);
            }
        }
    }
    out
}

/// What several apps write that the `gpx` crate refuses, made readable: a
/// leading UTF-8 byte-order mark, and a `<gpx>` element without its required `version`
/// attribute (then `version="1.1"` is assumed). The crate has no lenient mode, so this is a
/// pre-normalisation of the bytes; anything else goes to the parser as it is.
pub fn normalize(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let Some(open) = find(bytes, b"<gpx") else {
        return std::borrow::Cow::Borrowed(bytes);
    };
    let close = find(&bytes[open..], b">").map_or(bytes.len(), |c| open + c);
    if find(&bytes[open..close], b"version=").is_some() {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len() + 16);
    out.extend_from_slice(&bytes[..open + 4]);
    out.extend_from_slice(b" version=\"1.1\"");
    out.extend_from_slice(&bytes[open + 4..]);
    std::borrow::Cow::Owned(out)
}

/// A file the `gpx` crate refuses, read point by point (one bad point must not
/// lose the track). The crate has no lenient mode, so this recovers around it: a byte scan
/// cuts out each `<wpt>`, `<trkpt>` and `<rtept>` element, and the crate itself parses each
/// one inside the file's own `<gpx …>` start tag (so its namespaces still apply). The good
/// ones are read again as one document (waypoints, one track segment, one route); returns
/// it, how many points were skipped and why the first was. `None` when no point parses.
pub fn recover(bytes: &[u8]) -> Option<(gpx::Gpx, usize, String)> {
    let bytes = normalize(bytes);
    let open = find(&bytes, b"<gpx")?;
    let root_end = open + find(&bytes[open..], b">")? + 1;
    let root = &bytes[open..root_end];
    let root = root
        .strip_suffix(b"/>")
        .map_or(root.to_vec(), |r| [r, b">"].concat());
    let wrap = |parts: &[&[u8]], kind: &str| -> Vec<u8> {
        let (pre, post): (&[u8], &[u8]) = match kind {
            "trkpt" => (b"<trk><trkseg>", b"</trkseg></trk>"),
            "rtept" => (b"<rte>", b"</rte>"),
            _ => (b"", b""),
        };
        [root.as_slice(), pre, &parts.concat(), post, b"</gpx>"].concat()
    };
    let (mut good, mut skipped, mut first) = (Vec::new(), 0, None);
    for kind in ["wpt", "trkpt", "rtept"] {
        let mut kept: Vec<&[u8]> = Vec::new();
        let (found, cut) = elements(&bytes[root_end..], kind);
        if cut {
            skipped += 1;
            first.get_or_insert_with(|| format!("a <{kind}> is cut off: the file ends inside it"));
        }
        for element in found {
            match gpx::read(wrap(&[element], kind).as_slice()) {
                Ok(_) => kept.push(element),
                Err(e) => {
                    skipped += 1;
                    first.get_or_insert_with(|| format!("a <{kind}>: {e}"));
                }
            }
        }
        good.push((kind, kept));
    }
    let mut doc = root.clone();
    for (kind, kept) in &good {
        if !kept.is_empty() {
            let w = wrap(kept, kind);
            doc.extend_from_slice(&w[root.len()..w.len() - b"</gpx>".len()]);
        }
    }
    doc.extend_from_slice(b"</gpx>");
    if good.iter().all(|(_, k)| k.is_empty()) {
        return None;
    }
    let g = gpx::read(doc.as_slice()).ok()?;
    Some((g, skipped, first.unwrap_or_default()))
}

/// The `<kind …>…</kind>` and `<kind …/>` elements of `bytes`, in order, and whether the
/// bytes end inside one more.
fn elements<'a>(bytes: &'a [u8], kind: &str) -> (Vec<&'a [u8]>, bool) {
    let (open, close) = (format!("<{kind}"), format!("</{kind}>"));
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find(&bytes[at..], open.as_bytes()).map(|i| at + i) {
        let after = bytes.get(i + open.len()).copied().unwrap_or(b'>');
        if !(after.is_ascii_whitespace() || after == b'>' || after == b'/') {
            at = i + open.len();
            continue;
        }
        let Some(tag_end) = find(&bytes[i..], b">").map(|e| i + e + 1) else {
            return (out, true);
        };
        let end = if bytes[..tag_end].ends_with(b"/>") {
            tag_end
        } else {
            match find(&bytes[tag_end..], close.as_bytes()) {
                Some(c) => tag_end + c + close.len(),
                None => return (out, true),
            }
        };
        out.push(&bytes[i..end]);
        at = end;
    }
    (out, false)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Plugin for GpsGpx {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Gps];

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let t = Thinning {
            min_distance_m: ctx.config_or("min_distance_m", 25.0)?,
            min_interval_s: ctx.config_or("min_interval_s", 60.0)?,
            place_radius_m: ctx.config_or("place_radius_m", 150.0)?,
        };
        for file in ctx.changed_files(false, |p| has_extension(p, &["gpx"]))? {
            let parsed = std::fs::read(&file.path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| gpx::read(normalize(&bytes).as_ref()).map_err(|e| e.to_string()));
            let g = match parsed {
                Ok(g) => g,
                Err(e) => match std::fs::read(&file.path).ok().as_deref().and_then(recover) {
                    Some((g, skipped, first)) => {
                        ctx.skipped_records(&file.rel, skipped, &first);
                        g
                    }
                    None => {
                        ctx.skip(&file, &format!("not a readable GPX file: {e}"))?;
                        continue;
                    }
                },
            };
            let (mut too_old, mut untimed) = (0, 0);
            for f in fixes(&g, t) {
                let Some(ts) = f.time else {
                    if !(f.at.starts_with("wpt") && f.place.is_some()) {
                        untimed += 1;
                    }
                    continue;
                };
                if !ctx.accepted(ts) {
                    too_old += 1;
                    continue;
                }
                let mut e = Gps {
                    lat: f.lat,
                    lon: f.lon,
                    accuracy: None,
                    place_name: f.place,
                }
                .at(ts)
                .raw_ref(format!("{:.6},{:.6}@{ts}", f.lat, f.lon));
                if let Some(ele) = f.elevation {
                    e = e.field("elevation", ele);
                }
                ctx.emit(e)?;
            }
            if untimed > 0 {
                ctx.problem(format!("{}: {untimed} point(s) without a <time> not stored: route points and untimed waypoints are plans or places, not where you were", file.rel));
            }
            if too_old > 0 {
                ctx.log(Level::Info, &format!("{}: {too_old} points before {} (or too far ahead) not emitted: the ingest contract refuses them (a tenant's accept_since lowers the bound)", file.rel, openclone_guest::time::day_of(ctx.earliest())));
            }
            ctx.done(&file)?;
        }
        Ok(())
    }
}

openclone_guest::export_plugin!(GpsGpx);
