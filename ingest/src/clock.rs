//! The host's clock and its day arithmetic: Unix seconds now, and `YYYY-MM-DD` days
//! (CONTRACT.md: timestamps are Unix seconds; `accept_since` and `--since` are days, UTC).

use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now (0 if the system clock is before 1970).
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A date as `YYYY-MM-DD`, the only form plugins read (`jiff` also accepts `20190601`
/// and `2019-06-01T12:00`).
pub fn canonical_day(day: &str) -> Option<String> {
    day.trim()
        .parse::<jiff::civil::Date>()
        .ok()
        .map(|d| d.to_string())
}

/// A `YYYY-MM-DD` date's midnight UTC in Unix seconds.
pub fn day_start(day: &str) -> Option<f64> {
    let d: jiff::civil::Date = day.trim().parse().ok()?;
    let t = d.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    Some(t.as_second() as f64)
}
