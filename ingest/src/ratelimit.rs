//! Token buckets, one type for every limit of the host: per API key (CONTRACT.md: burst
//! 60, refill 1 per second, both configurable; an empty bucket → 429 with `Retry-After`),
//! wrong keys per client address, and a plugin's events and log lines per minute
//! (DESIGN.md, "Limits").

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::auth::KeyHash;

/// A token bucket of `capacity` tokens, refilled continuously at `per_s` per second.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    capacity: f64,
    per_s: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(capacity: f64, per_s: f64, now: Instant) -> Self {
        Self {
            capacity,
            per_s,
            tokens: capacity,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_s)
            .min(self.capacity);
        self.last = now;
    }

    /// Whether `n` tokens are there at `now`, without taking them (a request for more than
    /// the capacity waits for a full bucket). Errors: how long until they are.
    pub fn check(&mut self, n: f64, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        let need = n.min(self.capacity);
        if self.tokens >= need {
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                ((need - self.tokens) / self.per_s).min(1e9),
            ))
        }
    }

    /// Takes `n` tokens at `now`; a request for more than the capacity passes once the
    /// bucket is full, and empties it (below zero). Errors: as [`Self::check`].
    pub fn take(&mut self, n: f64, now: Instant) -> Result<(), Duration> {
        self.check(n, now)?;
        self.tokens -= n;
        Ok(())
    }

    /// Whether the bucket is full at `now` (a full bucket is the same as a new one).
    fn is_full(&self, now: Instant) -> bool {
        self.tokens + now.duration_since(self.last).as_secs_f64() * self.per_s >= self.capacity
    }
}

/// A plugin's events (or log lines) per minute, one bucket of that many.
pub struct PerMinute(Mutex<TokenBucket>);

impl PerMinute {
    /// A full bucket of `per_minute`, refilled continuously.
    pub fn new(per_minute: u32) -> Self {
        let n = f64::from(per_minute);
        Self(Mutex::new(TokenBucket::full(n, n / 60.0, Instant::now())))
    }

    /// Takes `n`. Errors: milliseconds until enough have refilled (1 to 60,000). A call
    /// larger than the whole bucket passes once the bucket is full (and empties it).
    pub fn take(&self, n: usize) -> Result<(), u32> {
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        b.take(n as f64, Instant::now())
            .map_err(|wait| (wait.as_secs_f64() * 1000.0).ceil().clamp(1.0, 60_000.0) as u32)
    }
}

/// Buckets for every key seen.
pub struct RateLimiter {
    burst: f64,
    per_s: f64,
    buckets: Mutex<HashMap<KeyHash, TokenBucket>>,
}

impl RateLimiter {
    /// A limiter allowing `burst` requests at once and `per_s` more each second.
    pub fn new(burst: u32, per_s: f64) -> Self {
        Self {
            burst: f64::from(burst),
            per_s,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `key`. Errors: the whole seconds until one is available (≥ 1).
    pub fn take(&self, key: &KeyHash) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            buckets.retain(|_, b| !b.is_full(now));
        }
        buckets
            .entry(*key)
            .or_insert_with(|| TokenBucket::full(self.burst, self.per_s, now))
            .take(1.0, now)
            .map_err(whole_seconds)
    }

    /// Whether `key` has a token, without taking it (a key never seen has a full bucket, and
    /// none is made for it). Errors: as [`Self::take`].
    pub fn peek(&self, key: &KeyHash) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get_mut(key) {
            None => Ok(()),
            Some(b) => b.check(1.0, Instant::now()).map_err(whole_seconds),
        }
    }
}

/// A wait as whole seconds, at least 1 (`Retry-After`).
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

/// Buckets kept before full ones (nothing taken lately) are forgotten: a flood of new
/// clients never grows the map without bound, and a forgotten full bucket is the same as
/// a new one.
const MAX_BUCKETS: usize = 10_000;

/// Wrong API keys a client may send at once, and how many more per second: 20, then one
/// every 10 s (an online guess of a 32-character key takes longer than the universe lasts;
/// a client with a typo still gets its 401s).
pub const FAILED_KEY_BURST: u32 = 20;
/// See [`FAILED_KEY_BURST`].
pub const FAILED_KEY_PER_S: f64 = 0.1;

/// The bucket of a client address for failed-key throttling: the IPv4 address, or the
/// /64 prefix of an IPv6 one (one host usually owns a whole /64), in the first bytes of a
/// bucket name (byte 31 tells the two apart).
pub fn client_key(ip: std::net::IpAddr) -> KeyHash {
    let mut key = [0u8; 32];
    match ip {
        std::net::IpAddr::V4(v4) => key[..4].copy_from_slice(&v4.octets()),
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => key[..4].copy_from_slice(&v4.octets()),
            None => {
                key[..8].copy_from_slice(&v6.octets()[..8]);
                key[31] = 6;
            }
        },
    }
    key
}

/// Failed-key throttling per client address (CONTRACT.md, "Wrong keys"): after
/// [`FAILED_KEY_BURST`] wrong keys a client is answered 429 on every keyed route, its key
/// not even checked, until its bucket refills.
pub struct KeyGuesses {
    limiter: RateLimiter,
}

impl Default for KeyGuesses {
    fn default() -> Self {
        Self {
            limiter: RateLimiter::new(FAILED_KEY_BURST, FAILED_KEY_PER_S),
        }
    }
}

impl KeyGuesses {
    /// Whether `ip` may present a key now. Errors: seconds until it may.
    pub fn allowed(&self, ip: std::net::IpAddr) -> Result<(), u64> {
        self.limiter.peek(&client_key(ip))
    }

    /// Counts a wrong key from `ip`.
    pub fn failed(&self, ip: std::net::IpAddr) {
        let _ = self.limiter.take(&client_key(ip));
    }
}

#[cfg(test)]
mod tests {
    use super::PerMinute;

    #[test]
    fn a_per_minute_budget_refuses_past_its_rate_and_says_how_long_to_wait() {
        let b = PerMinute::new(600);
        assert_eq!(b.take(500), Ok(()));
        assert_eq!(b.take(100), Ok(()));
        let wait = b.take(500).expect_err("spent");
        assert!(
            (49_000..=50_000).contains(&wait),
            "500 events at 10/s: {wait} ms"
        );
        let big = PerMinute::new(100);
        assert_eq!(
            big.take(500),
            Ok(()),
            "a call larger than the bucket passes when it is full"
        );
        assert!(big.take(1).is_err());
    }
}
