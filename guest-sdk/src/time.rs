//! The ingest contract's time rules, for plugins that read old data.

use std::time::{SystemTime, UNIX_EPOCH};

/// CONTRACT.md: no event timestamp before 2020-01-01T00:00:00Z.
pub const EARLIEST: f64 = 1_577_836_800.0;

/// CONTRACT.md: no event timestamp more than 24 hours ahead; a plugin keeps an hour of
/// margin.
pub const AHEAD: f64 = 23.0 * 3600.0;

/// Unix seconds now (the sandbox's wall clock).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// True if the host will accept an event at `ts` under the contract's default bound (from
/// 2020-01-01 to 23 hours ahead). A plugin should ask [`crate::Ctx::accepted`], which
/// knows the tenant's `accept_since`.
pub fn accepted(ts: f64) -> bool {
    accepted_since(ts, EARLIEST)
}

/// True if `ts` is from `earliest` (Unix seconds) to 23 hours ahead.
pub fn accepted_since(ts: f64, earliest: f64) -> bool {
    ts.is_finite() && (earliest..=now() + AHEAD).contains(&ts)
}

/// The lower bound a host's `accept_since` config value (JSON text, a `YYYY-MM-DD`
/// string) sets, or [`EARLIEST`] without one.
pub(crate) fn earliest_from(config_json: Option<&str>) -> f64 {
    config_json
        .and_then(|j| serde_json::from_str::<String>(j).ok())
        .and_then(|d| day_start(&d))
        .unwrap_or(EARLIEST)
}

/// A `YYYY-MM-DD` date as the Unix seconds of its midnight UTC, for years 1970 to 9999.
/// Hand-written (days from the civil date, H. Hinnant's algorithm): a date crate would be
/// the SDK's only reason to depend on one.
pub fn day_start(day: &str) -> Option<f64> {
    let mut parts = day.trim().splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || d < 1
        || d > days_in_month[(m - 1) as usize]
    {
        return None;
    }
    let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(((era * 146_097 + doe - 719_468) * 86_400) as f64)
}

/// The `YYYY-MM-DD` (UTC) of Unix seconds `secs` (the inverse of [`day_start`], same
/// algorithm).
pub fn day_of(secs: f64) -> String {
    let z = (secs / 86_400.0).floor() as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_starts() {
        assert_eq!(day_start("1970-01-01"), Some(0.0));
        assert_eq!(day_start("2020-01-01"), Some(EARLIEST));
        assert_eq!(day_start("2010-03-01"), Some(1_267_401_600.0));
        assert_eq!(day_start("2024-02-29"), Some(1_709_164_800.0));
        assert_eq!(day_start("2023-02-29"), None);
        assert_eq!(day_start("1969-12-31"), None);
        assert_eq!(day_start("2020-13-01"), None);
        assert_eq!(day_start("soon"), None);
        for d in [
            "1970-01-01",
            "2010-03-01",
            "2020-01-01",
            "2024-02-29",
            "2099-12-31",
        ] {
            assert_eq!(day_start(d).map(day_of).as_deref(), Some(d));
        }
    }
}
