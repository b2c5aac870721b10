//! Keyed rate limits (per IP, per widget, per conversation): a token bucket per key, refilled
//! continuously. Held in memory; each node limits what it sees.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets above this many keys trigger a sweep of the ones that are full again (idle).
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A limit of `per_minute` requests per key, with bursts up to `per_minute`.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    // A std mutex: held for a map lookup and some arithmetic, never across an `.await`.
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` per key (0 disables the limit).
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::default(),
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.take(key, true)
    }

    /// Whether `key` has a token left, without taking it: for limits on failures, where the
    /// token is taken only once the attempt has failed.
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.take(key, false)
    }

    fn take(&self, key: &str, consume: bool) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        if buckets.len() > SWEEP_AT {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.last).as_secs_f64() * per_second < capacity
            });
        }
        if !consume && !buckets.contains_key(key) {
            return Ok(());
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            last: now,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.last).as_secs_f64() * per_second)
            .min(capacity);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            if consume {
                bucket.tokens -= 1.0;
            }
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_up_to_the_limit_then_refuses_per_key() {
        let limiter = RateLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(limiter.check("b").is_ok(), "keys are independent");
        assert!(RateLimiter::new(0).check("a").is_ok());
    }

    #[test]
    fn peeking_takes_nothing() {
        let limiter = RateLimiter::new(2);
        for _ in 0..5 {
            assert!(limiter.peek("a").is_ok());
        }
        limiter.check("a").unwrap();
        limiter.check("a").unwrap();
        assert!(limiter.peek("a").is_err(), "both taken");
        assert!(limiter.peek("b").is_ok());
    }
}
