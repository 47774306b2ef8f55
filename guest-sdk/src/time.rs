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

/// True if the host will accept an event at `ts` (from 2020-01-01 to 23 hours ahead).
pub fn accepted(ts: f64) -> bool {
    ts.is_finite() && (EARLIEST..=now() + AHEAD).contains(&ts)
}
