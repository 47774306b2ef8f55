//! Time zone names as calendars write them, resolved to IANA zones.
//!
//! Outlook and Exchange write Windows zone names (`W. Europe Standard Time`); the rrule
//! crate needs IANA names, and no maintained crate that builds for `wasm32-wasip2` maps
//! them, so the table below is CLDR's `windowsZones.xml` ("001" territory) for the zones
//! most calendars use. Custom names such as `custom_America/New_York` or
//! `/mozilla.org/20050126_1/Europe/Berlin` resolve by their IANA suffix.

use chrono_tz::Tz;

const WINDOWS: &[(&str, &str)] = &[
    ("UTC", "UTC"),
    ("GMT Standard Time", "Europe/London"),
    ("Greenwich Standard Time", "Atlantic/Reykjavik"),
    ("W. Europe Standard Time", "Europe/Berlin"),
    ("Central Europe Standard Time", "Europe/Budapest"),
    ("Central European Standard Time", "Europe/Warsaw"),
    ("Romance Standard Time", "Europe/Paris"),
    ("E. Europe Standard Time", "Europe/Chisinau"),
    ("FLE Standard Time", "Europe/Kiev"),
    ("GTB Standard Time", "Europe/Bucharest"),
    ("Russian Standard Time", "Europe/Moscow"),
    ("Turkey Standard Time", "Europe/Istanbul"),
    ("Israel Standard Time", "Asia/Jerusalem"),
    ("Arabian Standard Time", "Asia/Dubai"),
    ("India Standard Time", "Asia/Kolkata"),
    ("China Standard Time", "Asia/Shanghai"),
    ("Singapore Standard Time", "Asia/Singapore"),
    ("Tokyo Standard Time", "Asia/Tokyo"),
    ("Korea Standard Time", "Asia/Seoul"),
    ("AUS Eastern Standard Time", "Australia/Sydney"),
    ("E. Australia Standard Time", "Australia/Brisbane"),
    ("New Zealand Standard Time", "Pacific/Auckland"),
    ("Eastern Standard Time", "America/New_York"),
    ("Central Standard Time", "America/Chicago"),
    ("Mountain Standard Time", "America/Denver"),
    ("US Mountain Standard Time", "America/Phoenix"),
    ("Pacific Standard Time", "America/Los_Angeles"),
    ("Alaskan Standard Time", "America/Anchorage"),
    ("Hawaiian Standard Time", "Pacific/Honolulu"),
    ("Atlantic Standard Time", "America/Halifax"),
    ("E. South America Standard Time", "America/Sao_Paulo"),
    ("Argentina Standard Time", "America/Buenos_Aires"),
    ("South Africa Standard Time", "Africa/Johannesburg"),
    ("Egypt Standard Time", "Africa/Cairo"),
];

/// The IANA zone for a `TZID` value, if it can be resolved.
pub fn resolve(tzid: &str) -> Option<Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = tzid.parse::<Tz>() {
        return Some(tz);
    }
    if let Some((_, iana)) = WINDOWS.iter().find(|(w, _)| w.eq_ignore_ascii_case(tzid)) {
        return iana.parse().ok();
    }
    let after_prefix = tzid.split_once('_').map(|(_, rest)| rest);
    let suffixes = tzid.match_indices('/').map(|(i, _)| &tzid[i + 1..]);
    after_prefix
        .into_iter()
        .chain(suffixes)
        .find_map(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn iana_windows_and_custom_names() {
        assert_eq!(
            resolve("Europe/Vienna").map(|t| t.name()),
            Some("Europe/Vienna")
        );
        assert_eq!(
            resolve("W. Europe Standard Time").map(|t| t.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            resolve("\"W. Europe Standard Time\"").map(|t| t.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(
            resolve("custom_America/New_York").map(|t| t.name()),
            Some("America/New_York")
        );
        assert_eq!(
            resolve("/mozilla.org/20050126_1/Europe/Berlin").map(|t| t.name()),
            Some("Europe/Berlin")
        );
        assert_eq!(resolve("Mars/Olympus_Mons"), None);
    }
}
