//! CONTRACT.md rate limit: a token bucket per API key (burst 60, refill 1 per second, both
//! configurable); an empty bucket → 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::auth::KeyHash;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets for every key seen.
pub struct RateLimiter {
    burst: f64,
    per_s: f64,
    buckets: Mutex<HashMap<KeyHash, Bucket>>,
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
        self.bucket(key, 1.0)
    }

    /// Whether `key` has a token, without taking it (a key never seen has a full bucket, and
    /// none is made for it). Errors: as [`Self::take`].
    pub fn peek(&self, key: &KeyHash) -> Result<(), u64> {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get(key) {
            None => Ok(()),
            Some(_) => {
                drop(buckets);
                self.bucket(key, 0.0)
            }
        }
    }

    fn bucket(&self, key: &KeyHash, cost: f64) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(key) {
            let (burst, per_s) = (self.burst, self.per_s);
            buckets
                .retain(|_, b| b.tokens + now.duration_since(b.last).as_secs_f64() * per_s < burst);
        }
        let b = buckets.entry(*key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.per_s).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= cost;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_s).ceil().max(1.0) as u64)
        }
    }
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
