//! From iCalendar text to the occurrences inside a time window: recurring events
//! expanded (RRULE, RDATE, EXDATE), overridden instances (RECURRENCE-ID) taking the place
//! of the ones they replace, all-day and time-zoned events resolved.

use std::borrow::Cow;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property, read_calendar, unfold};
use rrule::{RRule, Unvalidated};

use crate::zones;

/// One occurrence of an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    /// `UID`, or the recurrence's `UID#<recurrence id>` (the raw_ref).
    pub raw_ref: String,
    /// `SUMMARY`.
    pub title: String,
    /// When it starts.
    pub start: When,
    /// When it ends (DTEND, or DTSTART + DURATION), if given.
    pub end: Option<When>,
    /// `LOCATION`.
    pub location: Option<String>,
    /// Attendees by name (`CN`) or address.
    pub attendees: Vec<String>,
}

/// A point in time, or a whole day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum When {
    /// A timed instant.
    At(DateTime<Utc>),
    /// An all-day date.
    Day(NaiveDate),
}

impl When {
    /// Unix seconds: the instant, or noon of the day in `tz` (so the day's file is right in
    /// any zone between UTC−11 and UTC+11).
    pub fn timestamp(&self, tz: Tz) -> f64 {
        match self {
            Self::At(t) => t.timestamp() as f64,
            Self::Day(d) => d
                .and_hms_opt(12, 0, 0)
                .and_then(|n| tz.from_local_datetime(&n).earliest())
                .map_or(0.0, |t| t.timestamp() as f64),
        }
    }

    fn instant(&self, tz: Tz) -> DateTime<Utc> {
        DateTime::from_timestamp(self.timestamp(tz) as i64, 0).unwrap_or_default()
    }

    /// The recurrence id form: `YYYYMMDDTHHMMSSZ` or `YYYYMMDD`.
    fn id(&self) -> String {
        match self {
            Self::At(t) => t.format("%Y%m%dT%H%M%SZ").to_string(),
            Self::Day(d) => d.format("%Y%m%d").to_string(),
        }
    }
}

/// The time window occurrences are taken from, and the zone for floating times.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    /// Earliest start.
    pub from: DateTime<Utc>,
    /// Latest start.
    pub until: DateTime<Utc>,
    /// Zone of floating times and all-day dates.
    pub floating: Tz,
}

/// What a value is read with: the window and the file's own zones.
struct Scope<'a> {
    window: &'a Window,
    zones: &'a zones::FileZones,
}

/// A `DTSTART`-like value with its zone resolved.
#[derive(Debug, Clone, Copy)]
enum Parsed {
    Day(NaiveDate),
    Zoned(DateTime<Tz>),
}

/// What a calendar file yields.
#[derive(Debug, Default)]
pub struct Read {
    /// Every occurrence inside the window.
    pub occurrences: Vec<Occurrence>,
    /// Warnings for the log (unknown zones, recurrences not expanded).
    pub warnings: Vec<String>,
    /// Events skipped (unreadable, or without a usable start), and why the first was.
    pub skipped: usize,
    /// Why the first skipped event was skipped.
    pub first_skip: Option<String>,
    /// No occurrence starts after the window's end and before this instant: the earliest
    /// start after the window, or [`LOOKAHEAD`] past its end when none is that close. A
    /// reader of unchanged text has nothing new until its window's end reaches it.
    pub quiet_until: DateTime<Utc>,
}

/// How far past the window's end occurrences are looked for ([`Read::quiet_until`]).
pub const LOOKAHEAD: Duration = Duration::days(7);

impl Read {
    fn skip(&mut self, why: String) {
        self.skipped += 1;
        self.first_skip.get_or_insert(why);
    }
}

/// Every occurrence in `text` that starts inside `window`, warnings for the log, and the
/// events skipped. An object the parser refuses is read event by event (each `VEVENT`
/// with the object's `VTIMEZONE`s), so one malformed event loses only itself.
///
/// Errors: the text holds no readable iCalendar event at all.
pub fn occurrences(text: &str, window: &Window) -> Result<Read, String> {
    // Outlook and other Windows exporters start the file with a UTF-8 byte-order mark, which
    // the parser reads as a bad first line; it is not part of the iCalendar text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let unfolded = unfold(text);
    let mut read = Read {
        quiet_until: window.until + LOOKAHEAD,
        ..Read::default()
    };
    // RFC 5545 allows several iCalendar objects in one stream (merged calendars, some
    // exporters); the parser reads one object, so the stream is cut into objects first.
    let mut texts: Vec<Cow<'_, str>> = Vec::new();
    let mut refusal = None;
    for object in split_objects(&unfolded) {
        match read_calendar(object) {
            Ok(_) => texts.push(Cow::Borrowed(object)),
            Err(e) => {
                let e = first_line(&e);
                let events = per_event(object);
                for (event, error) in &events {
                    match error {
                        None => texts.push(Cow::Owned(event.clone())),
                        Some(why) => read.skip(format!("an event the parser refuses: {why}")),
                    }
                }
                if events.is_empty() {
                    refusal.get_or_insert(e);
                }
            }
        }
    }
    if texts.is_empty() {
        return Err(refusal.unwrap_or_else(|| "no iCalendar object".into()));
    }
    let calendars: Vec<_> = texts.iter().filter_map(|t| read_calendar(t).ok()).collect();
    let events: Vec<&Component<'_>> = calendars
        .iter()
        .flat_map(|c| c.components.iter())
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .collect();
    let mut warnings = Vec::new();
    let zones = zones::FileZones::read(
        calendars.iter().flat_map(|c| c.components.iter()),
        &mut warnings,
    );
    let scope = Scope {
        window,
        zones: &zones,
    };
    let overridden: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| {
            let uid = text_prop(e, "UID")?;
            let rid = parse_time(e.find_prop("RECURRENCE-ID")?, &scope, &mut warnings)?;
            Some((uid, to_when(rid).id()))
        })
        .collect();
    let mut out = Vec::new();
    for e in events {
        let Some(start) = e
            .find_prop("DTSTART")
            .and_then(|p| parse_time(p, &scope, &mut warnings))
        else {
            let name = text_prop(e, "SUMMARY")
                .or_else(|| text_prop(e, "UID"))
                .unwrap_or_default();
            read.skip(format!("event {name:?} has no usable DTSTART"));
            continue;
        };
        let end = e
            .find_prop("DTEND")
            .and_then(|p| parse_time(p, &scope, &mut warnings));
        let length = match (
            end,
            e.find_prop("DURATION")
                .and_then(|p| duration(p.val.as_str())),
        ) {
            (Some(end), _) => Some(instant(end) - instant(start)),
            (None, Some(d)) => Some(d),
            (None, None) => None,
        };
        let uid = text_prop(e, "UID").unwrap_or_else(|| {
            format!(
                "{}@{}",
                start_id(start),
                text_prop(e, "SUMMARY").unwrap_or_default()
            )
        });
        let base = Occurrence {
            raw_ref: uid.clone(),
            title: text_prop(e, "SUMMARY").unwrap_or_else(|| "(untitled)".into()),
            start: to_when(start),
            end: None,
            location: text_prop(e, "LOCATION").filter(|l| !l.is_empty()),
            attendees: attendees(e),
        };
        let recurring = e.find_prop("RRULE").is_some()
            || e.properties
                .iter()
                .any(|p| p.name.as_str().eq_ignore_ascii_case("RDATE"));
        let starts: Vec<(Parsed, Option<String>)> = if let Some(rid) = e
            .find_prop("RECURRENCE-ID")
            .and_then(|p| parse_time(p, &scope, &mut warnings))
        {
            vec![(start, Some(to_when(rid).id()))]
        } else if recurring {
            match expand(e, start, &scope) {
                Ok(list) => list
                    .into_iter()
                    .map(|s| {
                        let id = to_when(s).id();
                        (s, Some(id))
                    })
                    .filter(|(_, id)| {
                        !overridden
                            .iter()
                            .any(|(u, r)| *u == uid && Some(r) == id.as_ref())
                    })
                    .collect(),
                Err(m) => {
                    warnings.push(format!("event {:?}: recurrence not expanded ({m}); only its first occurrence is used", base.title));
                    vec![(start, None)]
                }
            }
        } else {
            vec![(start, None)]
        };
        for (s, rid) in starts {
            let when = to_when(s);
            let at = when.instant(window.floating);
            if at > window.until {
                read.quiet_until = read.quiet_until.min(at);
                continue;
            }
            if at < window.from {
                continue;
            }
            // An absurd length (a DURATION of millennia, a DTEND in year 9999) leaves the
            // event without an end rather than overflowing the date types.
            let end = length.and_then(|l| match when {
                When::Day(d) => Duration::try_days((l.num_days() - 1).max(0))
                    .and_then(|days| d.checked_add_signed(days))
                    .map(When::Day),
                When::At(t) => t.checked_add_signed(l).map(When::At),
            });
            let raw_ref = match rid {
                Some(r) => format!("{uid}#{r}"),
                None => uid.clone(),
            };
            out.push(Occurrence {
                raw_ref,
                start: when,
                end: end.filter(|e| *e != when),
                ..base.clone()
            });
        }
    }
    read.occurrences = out;
    read.warnings = warnings;
    Ok(read)
}

/// The `VEVENT`s of an object the parser refuses, each as a calendar of its own with the
/// object's `VTIMEZONE`s, and why the parser refuses it (`None`: it reads). A line scan
/// for `BEGIN:`/`END:` (the nesting of VALARMs counted), not a parser: each piece goes to
/// `icalendar`'s parser.
fn per_event(object: &str) -> Vec<(String, Option<String>)> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let (mut current, mut depth, mut kind) = (String::new(), 0usize, String::new());
    for line in object.split_inclusive('\n') {
        let upper = line.trim_end().to_ascii_uppercase();
        // A VEVENT or VTIMEZONE never nests, and END:VCALENDAR ends everything: an
        // unclosed block ends there, as a broken one, and does not swallow what follows.
        let starts_top = matches!(upper.as_str(), "BEGIN:VEVENT" | "BEGIN:VTIMEZONE");
        if depth > 0 && (starts_top || upper == "END:VCALENDAR") {
            blocks.push((kind.clone(), std::mem::take(&mut current)));
            depth = 0;
        }
        if depth == 0 {
            if let Some(k @ ("VEVENT" | "VTIMEZONE")) = upper.strip_prefix("BEGIN:") {
                kind = k.to_owned();
                depth = 1;
                current.clear();
                current.push_str(line);
            }
            continue;
        }
        current.push_str(line);
        if upper.starts_with("BEGIN:") {
            depth += 1;
        } else if upper.starts_with("END:") {
            depth -= 1;
            if depth == 0 {
                blocks.push((kind.clone(), std::mem::take(&mut current)));
            }
        }
    }
    let zones: String = blocks
        .iter()
        .filter(|(k, _)| k == "VTIMEZONE")
        .map(|(_, b)| b.as_str())
        .collect();
    blocks
        .into_iter()
        .filter(|(k, _)| k == "VEVENT")
        .map(|(_, event)| {
            let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{zones}{event}END:VCALENDAR\r\n");
            let error = read_calendar(&text).err().map(|e| first_line(&e));
            (text, error)
        })
        .collect()
}

/// The `BEGIN:VCALENDAR` … `END:VCALENDAR` objects of an unfolded stream, in order; the
/// whole text when it holds no such line (the parser then says what is wrong). A line
/// scan, not a parser: the objects themselves go to `icalendar`'s parser.
fn split_objects(text: &str) -> Vec<&str> {
    let mut objects = Vec::new();
    let (mut start, mut depth, mut at) = (None, 0usize, 0usize);
    for line in text.split_inclusive('\n') {
        let name = line.trim_end().to_ascii_uppercase();
        if name == "BEGIN:VCALENDAR" {
            if depth == 0 {
                start = Some(at);
            }
            depth += 1;
        } else if name == "END:VCALENDAR" && depth > 0 {
            depth -= 1;
            if let (0, Some(s)) = (depth, start) {
                objects.push(&text[s..at + line.len()]);
                start = None;
            }
        }
        at += line.len();
    }
    if objects.is_empty() {
        objects.push(text);
    }
    objects
}

fn first_line(e: &str) -> String {
    e.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("not an iCalendar object")
        .trim()
        .to_owned()
}

fn to_when(p: Parsed) -> When {
    match p {
        Parsed::Day(d) => When::Day(d),
        Parsed::Zoned(t) => When::At(t.with_timezone(&Utc)),
    }
}

fn instant(p: Parsed) -> DateTime<Utc> {
    match p {
        Parsed::Day(d) => d
            .and_hms_opt(0, 0, 0)
            .map(|n| n.and_utc())
            .unwrap_or_default(),
        Parsed::Zoned(t) => t.with_timezone(&Utc),
    }
}

fn start_id(p: Parsed) -> String {
    to_when(p).id()
}

fn param<'a>(p: &'a Property<'_>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str())
}

/// A TEXT property value with RFC 5545 escapes undone.
fn text_prop(c: &Component<'_>, name: &str) -> Option<String> {
    let v = c.find_prop(name)?.val.as_str().trim();
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' {
            match chars.next() {
                Some('n' | 'N') => out.push('\n'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            out.push(ch);
        }
    }
    Some(out)
}

/// Parses one date or date-time value (`YYYYMMDD`, `YYYYMMDDTHHMMSS[Z]`) with the
/// property's `TZID`.
fn parse_value(
    value: &str,
    tzid: Option<&str>,
    scope: &Scope<'_>,
    warnings: &mut Vec<String>,
) -> Option<Parsed> {
    let window = scope.window;
    let v = value.trim();
    if v.len() == 8 {
        return NaiveDate::parse_from_str(v, "%Y%m%d").ok().map(Parsed::Day);
    }
    if let Some(utc) = v.strip_suffix('Z') {
        let n = NaiveDateTime::parse_from_str(utc, "%Y%m%dT%H%M%S").ok()?;
        return Some(Parsed::Zoned(Tz::UTC.from_utc_datetime(&n)));
    }
    let n = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").ok()?;
    let tz = match tzid {
        Some(id) => scope.zones.resolve(id).unwrap_or_else(|| {
            let w = format!(
                "unknown time zone {id:?}; read as {}",
                window.floating.name()
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            window.floating
        }),
        None => window.floating,
    };
    if let Some(t) = tz.from_local_datetime(&n).earliest() {
        return Some(Parsed::Zoned(t));
    }
    // RFC 5545 3.3.5: a local time skipped by a DST change is read with the offset before
    // the change (02:30 in Berlin's spring gap is 01:30 UTC, shown as 03:30).
    let before = tz
        .from_local_datetime(&(n - Duration::hours(3)))
        .earliest()?
        .offset()
        .fix()
        .local_minus_utc();
    let utc = n - Duration::seconds(i64::from(before));
    Some(Parsed::Zoned(tz.from_utc_datetime(&utc)))
}

fn parse_time(p: &Property<'_>, scope: &Scope<'_>, warnings: &mut Vec<String>) -> Option<Parsed> {
    parse_value(p.val.as_str(), param(p, "TZID"), scope, warnings)
}

/// `RDATE`/`EXDATE` values (comma-separated; a PERIOD counts by its start).
fn date_list(
    e: &Component<'_>,
    name: &str,
    scope: &Scope<'_>,
    warnings: &mut Vec<String>,
) -> Vec<Parsed> {
    e.properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case(name))
        .flat_map(|p| {
            let tzid = param(p, "TZID");
            p.val
                .as_str()
                .split(',')
                .filter_map(|v| {
                    parse_value(v.split('/').next().unwrap_or(v), tzid, scope, warnings)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Expands RRULE/RDATE/EXDATE with the rrule crate, bounded by the window.
fn expand(e: &Component<'_>, start: Parsed, scope: &Scope<'_>) -> Result<Vec<Parsed>, String> {
    let window = scope.window;
    let mut warnings = Vec::new();
    let to_rrule = |p: Parsed| -> DateTime<rrule::Tz> {
        match p {
            Parsed::Day(d) => {
                let n = d.and_hms_opt(0, 0, 0).unwrap_or_default();
                rrule::Tz::Tz(window.floating)
                    .from_local_datetime(&n)
                    .earliest()
                    .unwrap_or_else(|| rrule::Tz::UTC.from_utc_datetime(&n))
            }
            Parsed::Zoned(t) => t.with_timezone(&rrule::Tz::Tz(t.timezone())),
        }
    };
    let dtstart = to_rrule(start);
    let rdates = date_list(e, "RDATE", scope, &mut warnings);
    // Converted like the occurrences themselves, so an all-day EXDATE matches its
    // occurrence in any floating zone.
    let exdates: Vec<DateTime<Utc>> = date_list(e, "EXDATE", scope, &mut warnings)
        .into_iter()
        .map(|p| to_rrule(p).with_timezone(&Utc))
        .collect();
    let mut dates: Vec<DateTime<rrule::Tz>> = match e.find_prop("RRULE") {
        Some(rule) => {
            let rule: RRule<Unvalidated> = rule
                .val
                .as_str()
                .parse()
                .map_err(|err: rrule::RRuleError| err.to_string())?;
            let tz_from = window.from.with_timezone(&dtstart.timezone()) - Duration::seconds(1);
            let tz_until = (window.until + LOOKAHEAD).with_timezone(&dtstart.timezone());
            rule.build(dtstart)
                .map_err(|err| err.to_string())?
                .after(tz_from)
                .before(tz_until)
                .all(u16::MAX)
                .dates
        }
        None => vec![dtstart],
    };
    dates.extend(rdates.into_iter().map(to_rrule));
    dates.sort();
    dates.dedup();
    Ok(dates
        .into_iter()
        .filter(|d| !exdates.contains(&d.with_timezone(&Utc)))
        .map(|d| match start {
            Parsed::Day(_) => Parsed::Day(d.date_naive()),
            Parsed::Zoned(s) => Parsed::Zoned(d.with_timezone(&s.timezone())),
        })
        .collect())
}

/// Attendees by `CN`, else by address without `mailto:`.
fn attendees(e: &Component<'_>) -> Vec<String> {
    e.properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE"))
        .map(|p| match param(p, "CN") {
            Some(cn) => cn.trim_matches('"').to_owned(),
            None => {
                let v = p.val.as_str();
                v.strip_prefix("mailto:")
                    .or_else(|| v.strip_prefix("MAILTO:"))
                    .unwrap_or(v)
                    .to_owned()
            }
        })
        .collect()
}

/// An RFC 5545 DURATION such as `PT1H30M`, `P1D`, `-PT15M`, `P2W`.
///
/// Hand-written: five letters of grammar, not worth a dependency.
fn duration(v: &str) -> Option<Duration> {
    let (neg, rest) = match v.trim().strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, v.trim().trim_start_matches('+')),
    };
    let rest = rest.strip_prefix('P')?;
    let (mut total, mut num, mut in_time) = (0i64, String::new(), false);
    for c in rest.chars() {
        match c {
            'T' => in_time = true,
            '0'..='9' => num.push(c),
            _ => {
                let n: i64 = num.parse().ok()?;
                num.clear();
                let unit = match (c, in_time) {
                    ('W', false) => 604_800,
                    ('D', false) => 86_400,
                    ('H', true) => 3600,
                    ('M', true) => 60,
                    ('S', true) => 1,
                    _ => return None,
                };
                total = total.checked_add(n.checked_mul(unit)?)?;
            }
        }
    }
    Duration::try_seconds(if neg { -total } else { total })
}
