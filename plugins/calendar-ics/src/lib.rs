//! `calendar-ics`: every occurrence of the events in the `.ics` files of its granted
//! folders, inside a window, as `calendar` events.
//!
//! - Recurring events are expanded (RRULE, RDATE, EXDATE; overridden instances replace
//!   theirs); all-day events become whole days; TZIDs resolve to IANA zones (Windows names
//!   included).
//! - `raw_ref` is the UID, plus `#<recurrence id>` for an occurrence of a recurring event,
//!   so reading the same calendar again never duplicates.
//! - The window runs from `from` (or `past_days` back) to 23 hours ahead: the ingest
//!   contract refuses events more than 24 hours in the future, so later occurrences are
//!   emitted by later passes, and nothing before 2020-01-01 (or the tenant's `accept_since`).
//! - A state cursor per file remembers how far it was read; an unchanged file only yields
//!   occurrences that entered the window since.
//! - The calendars at the `urls` in its config (`net-http`) are read the same way
//!   (`src/urls.rs`): fetched with a conditional GET, so an unchanged calendar
//!   costs a 304 and is not parsed, until an occurrence is due to enter the window.

mod ics;
mod urls;
mod zones;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use openclone_guest::fs::files;
use openclone_guest::prelude::*;
use serde_json::json;

pub use ics::{Occurrence, When, Window, occurrences};

/// The plugin.
pub struct CalendarIcs;

/// Per-file cursor: the file as last read and the window end reached.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct Cursor {
    len: u64,
    modified: Option<u64>,
    from: i64,
    until: i64,
}

fn window(ctx: &Ctx, now: DateTime<Utc>) -> Result<Window> {
    let past_days: i64 = ctx.config_or("past_days", 30)?;
    let from = match ctx.config::<String>("from")? {
        Some(d) => NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .map_err(|e| Error::Config(format!("from: {d:?} is not a YYYY-MM-DD date ({e})")))?
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc())
            .unwrap_or(now),
        None => now - Duration::days(past_days.max(0)),
    };
    let zone: String = ctx.config_or("timezone", "UTC".to_owned())?;
    let floating = zone
        .parse::<Tz>()
        .map_err(|_| Error::Config(format!("timezone: {zone:?} is not an IANA zone name")))?;
    let earliest = DateTime::from_timestamp(ctx.earliest() as i64, 0).unwrap_or_default();
    Ok(Window {
        from: from.max(earliest),
        until: now + Duration::hours(23),
        floating,
    })
}

fn event(o: &Occurrence, tz: Tz) -> Emit {
    let text = |w: &When| match w {
        When::At(t) => json!(t.timestamp() as f64),
        When::Day(d) => json!(d.format("%Y-%m-%d").to_string()),
    };
    let mut e = Calendar {
        title: o.title.clone(),
        start: o.start.timestamp(tz),
        end: None,
        location: o.location.clone(),
        attendees: o.attendees.clone(),
    }
    .at(o.start.timestamp(tz))
    .raw_ref(o.raw_ref.clone())
    .field("start", text(&o.start));
    if let Some(end) = &o.end {
        e = e.field("end", text(end));
    }
    if matches!(o.start, When::Day(_)) {
        e = e.field("all_day", true);
    }
    e
}

/// Reads one calendar's `text` (a file's or a URL's; `name` says which in messages) in
/// `window`: emits its occurrences and flushes them, logs its warnings, reports skipped
/// events. Returns [`Read::quiet_until`](ics::Read::quiet_until), or `None` when the text
/// is not a calendar (reported as a problem). Errors: the host refused the events.
fn read_calendar(
    ctx: &mut Ctx,
    name: &str,
    text: &str,
    window: &Window,
) -> Result<Option<DateTime<Utc>>> {
    let read = match occurrences(text, window) {
        Ok(read) => read,
        Err(e) => {
            ctx.problem(format!("{name}: not a valid calendar: {e}"));
            return Ok(None);
        }
    };
    for warning in &read.warnings {
        ctx.log(Level::Warn, &format!("{name}: {warning}"));
    }
    ctx.skipped_records(
        name,
        read.skipped,
        read.first_skip.as_deref().unwrap_or_default(),
    );
    for o in &read.occurrences {
        ctx.emit(event(o, window.floating))?;
    }
    ctx.flush()?;
    Ok(Some(read.quiet_until))
}

/// Every calendar file in the granted folders: a changed one is read in the whole window,
/// an unchanged one from where its cursor left off.
fn capture_files(ctx: &mut Ctx, w: &Window) -> Result<()> {
    for dir in ctx.inputs() {
        for path in files(&dir, &["ics", "ical", "ifb"]) {
            let name = path.display().to_string();
            let meta = std::fs::metadata(&path)?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs());
            let prev: Option<Cursor> = ctx.state("files").get(&name)?;
            let from = match &prev {
                Some(c)
                    if c.len == meta.len()
                        && c.modified == modified
                        && c.from <= w.from.timestamp() =>
                {
                    DateTime::from_timestamp(c.until, 0)
                        .unwrap_or(w.from)
                        .max(w.from)
                }
                _ => w.from,
            };
            let Ok(text) = String::from_utf8(std::fs::read(&path)?) else {
                ctx.problem(format!("{name}: not UTF-8 text; skipped"));
                continue;
            };
            if read_calendar(ctx, &name, &text, &Window { from, ..*w })?.is_some() {
                ctx.state("files").set(
                    &name,
                    &Cursor {
                        len: meta.len(),
                        modified,
                        from: w.from.timestamp(),
                        until: w.until.timestamp(),
                    },
                )?;
            }
        }
    }
    Ok(())
}

impl Plugin for CalendarIcs {
    const SOURCE_TYPES: &'static [SourceType] = &[SourceType::Calendar];

    fn init(ctx: &mut Ctx) -> Result<()> {
        window(ctx, Utc::now())?;
        urls::configured(ctx).map(drop)
    }

    fn capture(ctx: &mut Ctx) -> Result<()> {
        let w = window(ctx, Utc::now())?;
        capture_files(ctx, &w)?;
        urls::capture(ctx, &w)
    }
}

openclone_guest::export_plugin!(CalendarIcs);
