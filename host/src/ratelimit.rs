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
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(*key).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        b.tokens =
            (b.tokens + now.duration_since(b.last).as_secs_f64() * self.per_s).min(self.burst);
        b.last = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - b.tokens) / self.per_s).ceil().max(1.0) as u64)
        }
    }
}
