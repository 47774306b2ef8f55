//! Time zone names as calendars write them, resolved to IANA zones, in this order:
//!
//! 1. an IANA name (`Europe/Berlin`);
//! 2. the file's own `VTIMEZONE` with that `TZID` (Outlook writes display names such as
//!    `(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien`): its STANDARD and
//!    DAYLIGHT observances are expanded with the rrule crate and matched to the IANA zone
//!    with the same offsets at every transition from 2015 to 2035 (zones named in the TZID
//!    tried first), so recurring events keep their wall-clock time across DST changes;
//! 3. a Windows zone name (`W. Europe Standard Time`), by CLDR's `windowsZones` mapping
//!    (CLDR 48, `cldr-core` 48.2.0 from npm, Unicode License v3: `data/windowsZones.json`,
//!    `data/LICENSE-cldr`), territory `001`;
//! 4. a custom name ending in an IANA name (`/mozilla.org/20050126_1/Europe/Berlin`).
//!
//! Otherwise the caller falls back to the floating zone (UTC unless configured) and warns.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::{TZ_VARIANTS, Tz};
use icalendar::parser::Component;
use rrule::{RRule, Unvalidated};

/// CLDR's Windows → IANA mapping, as published.
const WINDOWS_ZONES: &str = include_str!("../data/windowsZones.json");

/// The zones a file defines itself, each matched to an IANA zone.
#[derive(Debug, Default)]
pub struct FileZones(Vec<(String, Tz)>);

impl FileZones {
    /// Reads every `VTIMEZONE` among `components`; one that matches no IANA zone adds a
    /// warning and is left out.
    pub fn read<'a>(
        components: impl Iterator<Item = &'a Component<'a>>,
        warnings: &mut Vec<String>,
    ) -> Self {
        let mut zones: Vec<(String, Tz)> = Vec::new();
        let mut tried: Vec<String> = Vec::new();
        for c in components.filter(|c| c.name.as_str().eq_ignore_ascii_case("VTIMEZONE")) {
            let Some(id) = c
                .find_prop("TZID")
                .map(|p| unquote(p.val.as_str()).to_owned())
            else {
                continue;
            };
            // Each TZID once: a file read event by event repeats its VTIMEZONEs.
            if id.parse::<Tz>().is_ok() || tried.contains(&id) {
                continue;
            }
            tried.push(id.clone());
            match matching_zone(&id, c) {
                Some((tz, 100)) => zones.push((id, tz)),
                Some((tz, agree)) => {
                    warnings.push(format!(
                        "time zone {id:?}: its VTIMEZONE matches no IANA zone exactly from 2015 to 2035; using the closest, {} (same offset at {agree}% of the checked instants)",
                        tz.name()
                    ));
                    zones.push((id, tz));
                }
                None => warnings.push(format!(
                    "time zone {id:?}: its VTIMEZONE matches no IANA zone from 2015 to 2035"
                )),
            }
        }
        Self(zones)
    }

    /// The IANA zone for a `TZID` value, by the order in the module docs.
    pub fn resolve(&self, tzid: &str) -> Option<Tz> {
        let tzid = unquote(tzid);
        if let Ok(tz) = tzid.parse::<Tz>() {
            return Some(tz);
        }
        if let Some((_, tz)) = self.0.iter().find(|(id, _)| id == tzid) {
            return Some(*tz);
        }
        if let Some(tz) = windows_zone(tzid) {
            return Some(tz);
        }
        let after_prefix = tzid.split_once('_').map(|(_, rest)| rest);
        let suffixes = tzid.match_indices('/').map(|(i, _)| &tzid[i + 1..]);
        after_prefix
            .into_iter()
            .chain(suffixes)
            .find_map(|s| s.parse().ok())
    }
}

fn unquote(s: &str) -> &str {
    s.trim().trim_matches('"')
}

/// The IANA zone CLDR maps Windows zone `name` to (territory `001`).
fn windows_zone(name: &str) -> Option<Tz> {
    static TABLE: OnceLock<Vec<(String, Tz)>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let doc: serde_json::Value = serde_json::from_str(WINDOWS_ZONES).unwrap_or_default();
        doc["supplemental"]["windowsZones"]["mapTimezones"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| &m["mapZone"])
            .filter(|m| m["_territory"] == "001")
            .filter_map(|m| {
                let tz = m["_type"].as_str()?.split(' ').next()?.parse().ok()?;
                Some((m["_other"].as_str()?.to_owned(), tz))
            })
            .collect()
    });
    table
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(name))
        .map(|(_, tz)| *tz)
}

/// One STANDARD or DAYLIGHT observance: from its local `DTSTART` on (and at each
/// recurrence of its `RRULE` and each `RDATE`), the offset changes from `from` to `to`
/// (seconds east of UTC).
struct Observance {
    start: NaiveDateTime,
    from: i32,
    to: i32,
    rule: Option<String>,
    rdates: Vec<NaiveDateTime>,
}

/// A change of offset: at `at`, `from` → `to`.
#[derive(Debug, Clone, Copy)]
struct Transition {
    at: DateTime<Utc>,
    from: i32,
    to: i32,
}

/// The IANA zone with the same offsets as the `VTIMEZONE` `c` from 2015 to 2035 (first
/// CLDR's zone for a Windows `id`, then zones whose city `id` names, then any), and the
/// share of instants it agrees at, in percent: 100 for an exact match, else the closest
/// zone when it agrees at more than half of them (rules that changed since the calendar was
/// written, such as Brazil's daylight saving, ended in 2019).
fn matching_zone(id: &str, c: &Component<'_>) -> Option<(Tz, u32)> {
    let observances: Vec<Observance> = c
        .components
        .iter()
        .filter(|o| {
            let n = o.name.as_str();
            n.eq_ignore_ascii_case("STANDARD") || n.eq_ignore_ascii_case("DAYLIGHT")
        })
        .filter_map(observance)
        .collect();
    if observances.is_empty() {
        return None;
    }
    let transitions = transitions(&observances);
    let samples = samples(&transitions);
    let offset_at = |t: DateTime<Utc>| {
        transitions.iter().rev().find(|tr| tr.at <= t).map_or_else(
            || transitions.first().map_or(observances[0].to, |tr| tr.from),
            |tr| tr.to,
        )
    };
    let expected: Vec<i32> = samples.iter().map(|t| offset_at(*t)).collect();
    let agree = |tz: &Tz| {
        samples
            .iter()
            .zip(&expected)
            .filter(|(t, want)| {
                tz.offset_from_utc_datetime(&t.naive_utc())
                    .fix()
                    .local_minus_utc()
                    == **want
            })
            .count()
    };
    let lower = id.to_lowercase();
    let named = TZ_VARIANTS.iter().filter(|tz| {
        let city = tz
            .name()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .replace('_', " ");
        city.len() > 2 && lower.contains(&city.to_lowercase())
    });
    let mut best: Option<(Tz, usize)> = None;
    for tz in windows_zone(id)
        .into_iter()
        .chain(named.copied())
        .chain(TZ_VARIANTS.iter().copied())
    {
        let n = agree(&tz);
        if n == samples.len() {
            return Some((tz, 100));
        }
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((tz, n));
        }
    }
    let total = samples.len().max(1);
    best.filter(|(_, n)| n * 2 > total)
        .map(|(tz, n)| (tz, u32::try_from(n * 100 / total).unwrap_or(0).min(99)))
}

fn observance(o: &Component<'_>) -> Option<Observance> {
    let local = |v: &str| NaiveDateTime::parse_from_str(v.trim(), "%Y%m%dT%H%M%S").ok();
    let rdates = o
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("RDATE"))
        .flat_map(|p| {
            p.val
                .as_str()
                .split(',')
                .filter_map(local)
                .collect::<Vec<_>>()
        })
        .collect();
    Some(Observance {
        start: local(o.find_prop("DTSTART")?.val.as_str())?,
        from: utc_offset(o.find_prop("TZOFFSETFROM")?.val.as_str())?,
        to: utc_offset(o.find_prop("TZOFFSETTO")?.val.as_str())?,
        rule: o.find_prop("RRULE").map(|p| p.val.as_str().to_owned()),
        rdates,
    })
}

/// An RFC 5545 UTC-OFFSET (`+0100`, `-0530`, `+013045`) in seconds. Hand-written: a sign
/// and two or three digit pairs.
fn utc_offset(v: &str) -> Option<i32> {
    let v = v.trim();
    let (sign, digits) = match v.as_bytes().first()? {
        b'+' => (1, &v[1..]),
        b'-' => (-1, &v[1..]),
        _ => return None,
    };
    if !(digits.len() == 4 || digits.len() == 6) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| digits.get(r).and_then(|s| s.parse::<i32>().ok());
    let secs = n(0..2)? * 3600 + n(2..4)? * 60 + if digits.len() == 6 { n(4..6)? } else { 0 };
    Some(sign * secs)
}

/// Every transition of `observances` from 2010 to 2040, in order. An RRULE is expanded by
/// the rrule crate from its DTSTART (moved to 1970 when earlier, as Outlook's 1601 is:
/// a yearly rule's dates do not depend on the year it starts).
fn transitions(observances: &[Observance]) -> Vec<Transition> {
    let bound = |y| {
        NaiveDate::from_ymd_opt(y, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default()
    };
    let (lo, hi) = (bound(2010), bound(2040));
    let mut out = Vec::new();
    for o in observances {
        let mut locals: Vec<NaiveDateTime> = o.rdates.clone();
        locals.push(o.start);
        if let Some(rule) = &o.rule {
            let start = if o.start < bound(1970) {
                o.start.with_year_1970()
            } else {
                o.start
            };
            let parsed: Result<RRule<Unvalidated>, _> = rule.parse();
            if let Ok(set) = parsed.and_then(|r| r.build(rrule::Tz::UTC.from_utc_datetime(&start)))
            {
                locals.extend(
                    set.after(rrule::Tz::UTC.from_utc_datetime(&lo))
                        .before(rrule::Tz::UTC.from_utc_datetime(&hi))
                        .all(500)
                        .dates
                        .into_iter()
                        .map(|d| d.naive_utc()),
                );
            }
        }
        out.extend(locals.into_iter().map(|l| Transition {
            at: (l - chrono::Duration::seconds(i64::from(o.from))).and_utc(),
            from: o.from,
            to: o.to,
        }));
    }
    out.sort_by_key(|t| t.at);
    out
}

/// The instants the offsets are compared at: two hours either side of each transition
/// from 2015 to 2035, and mid-January and mid-July of each of those years.
fn samples(transitions: &[Transition]) -> Vec<DateTime<Utc>> {
    let mut out = Vec::new();
    for y in 2015..=2035 {
        for m in [1, 7] {
            out.extend(Utc.with_ymd_and_hms(y, m, 15, 12, 0, 0).single());
        }
    }
    let two_hours = chrono::Duration::hours(2);
    for t in transitions {
        if (2015..=2035).contains(&t.at.year()) {
            out.extend([t.at - two_hours, t.at + two_hours]);
        }
    }
    out
}

/// `with_year(1970)` that never fails (29 February becomes 28 February).
trait Year1970 {
    fn with_year_1970(self) -> Self;
}

impl Year1970 for NaiveDateTime {
    fn with_year_1970(self) -> Self {
        self.with_year(1970)
            .or_else(|| self.with_day(28).and_then(|d| d.with_year(1970)))
            .unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use icalendar::parser::{read_calendar, unfold};

    use super::*;

    fn zones(text: &str) -> (FileZones, Vec<String>) {
        let unfolded = unfold(text);
        let cal = read_calendar(&unfolded).expect("calendar");
        let mut warnings = Vec::new();
        let z = FileZones::read(cal.components.iter(), &mut warnings);
        (z, warnings)
    }

    #[test]
    fn iana_windows_and_custom_names() {
        let z = FileZones::default();
        let name = |id: &str| z.resolve(id).map(|t| t.name());
        assert_eq!(name("Europe/Vienna"), Some("Europe/Vienna"));
        assert_eq!(name("W. Europe Standard Time"), Some("Europe/Berlin"));
        assert_eq!(name("\"W. Europe Standard Time\""), Some("Europe/Berlin"));
        assert_eq!(
            name("Tasmania Standard Time"),
            Some("Australia/Hobart"),
            "the whole CLDR table"
        );
        assert_eq!(name("custom_America/New_York"), Some("America/New_York"));
        assert_eq!(
            name("/mozilla.org/20050126_1/Europe/Berlin"),
            Some("Europe/Berlin")
        );
        assert_eq!(name("Mars/Olympus_Mons"), None);
    }

    const OUTLOOK_BERLIN: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien\r\nBEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    #[test]
    fn an_outlook_display_name_resolves_by_its_vtimezone() {
        let (z, warnings) = zones(OUTLOOK_BERLIN);
        assert!(warnings.is_empty(), "{warnings:?}");
        let tz = z
            .resolve("(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien")
            .expect("resolved");
        assert_eq!(
            tz.name(),
            "Europe/Amsterdam",
            "the first named city with the same rules"
        );
    }

    #[test]
    fn rules_without_a_named_city_still_find_their_zone() {
        let text = OUTLOOK_BERLIN
            .replace(
                "(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien",
                "Büro",
            )
            .replace("+0200", "-0400")
            .replace("+0100", "-0500")
            .replace("BYDAY=-1SU;BYMONTH=10", "BYDAY=1SU;BYMONTH=11")
            .replace("BYDAY=-1SU;BYMONTH=3", "BYDAY=2SU;BYMONTH=3");
        let (z, warnings) = zones(&text);
        assert!(warnings.is_empty(), "{warnings:?}");
        let tz = z.resolve("Büro").expect("resolved");
        let summer = Utc.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        let winter = Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap();
        let off = |t: DateTime<Utc>| {
            tz.offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc()
        };
        assert_eq!(
            (off(winter), off(summer)),
            (-5 * 3600, -4 * 3600),
            "{}",
            tz.name()
        );
    }

    #[test]
    fn rules_no_zone_has_are_a_warning() {
        let text = OUTLOOK_BERLIN.replace("+0200", "+0217");
        let (z, warnings) = zones(&text);
        assert!(
            z.resolve("(UTC+01:00) Amsterdam, Berlin, Bern, Rom, Stockholm, Wien")
                .is_none()
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(utc_offset("+0100"), Some(3600));
        assert_eq!(utc_offset("-0530"), Some(-19800));
        assert_eq!(utc_offset("+013045"), Some(5445));
        assert_eq!(utc_offset("0100"), None);
        assert_eq!(utc_offset("+1"), None);
    }
}
