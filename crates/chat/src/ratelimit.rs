//! Keyed rate limits (per IP, per widget, per conversation): a token bucket per key, refilled
//! continuously.
//!
//! Held in memory, each node limiting what it sees; with [`SharedLimits`] (when `REDIS_URL` is
//! set) the buckets live in Redis, so the nodes of a cluster share one limit. Each take there is
//! one Lua script (atomic: two nodes cannot both take the last token), the clock is Redis's own
//! (`TIME`, so nodes' clocks do not matter), and a bucket's key expires when it would be full
//! again. When Redis does not answer, the node falls back to its own buckets (which it keeps
//! counting all along, so it falls back to what it has seen), says so once in the log, and tries
//! Redis again after [`RETRY_AFTER`]: chat is never refused or held up for Redis's sake.

use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sha2::{Digest, Sha256};

/// Buckets above this many keys trigger a sweep of the ones that are full again (idle).
const SWEEP_AT: usize = 10_000;

/// The longest a take waits for Redis before deciding locally.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// After Redis failed to answer, how long takes decide locally before asking it again.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);

/// How long a peek that Redis cleared is believed without asking again. Peeks guard every
/// token-bearing request (the refused-token limit), so a node asks Redis about a client at most
/// this often rather than on each of its polls; failures elsewhere in the cluster are seen at
/// most this late (a failure on this node is counted in its own buckets at once).
pub const PEEK_CLEAR_FOR: Duration = Duration::from_secs(1);

/// One take on a bucket in Redis. KEYS[1]: the bucket (a hash: `t` tokens, `at` when, in ms of
/// Redis's clock); ARGV[1]: the capacity, also the refill per minute; ARGV[2]: `1` to take a
/// token, `0` only to look. Returns 0 when a token was there, else the milliseconds until one
/// will be. A missing bucket is a full one; a bucket is written only when a token is taken, with
/// an expiry when it would be full again.
const TAKE_SCRIPT: &str = r"
local capacity = tonumber(ARGV[1])
local per_ms = capacity / 60000
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(held[1])
if tokens == nil then
  if ARGV[2] == '0' then return 0 end
  tokens = capacity
else
  local at = tonumber(held[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - at) * per_ms)
end
if tokens < 1 then
  return math.max(1, math.ceil((1 - tokens) / per_ms))
end
if ARGV[2] == '1' then
  tokens = tokens - 1
  redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', tostring(now))
  redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
end
return 0
";

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
    /// The cluster's buckets and this limiter's name among them.
    shared: Option<(SharedLimits, String)>,
    /// Keys whose last peek Redis cleared, until when that is believed ([`PEEK_CLEAR_FOR`]).
    cleared: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` per key (0 disables the limit), in this node's memory.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::default(),
            shared: None,
            cleared: Mutex::default(),
        }
    }

    /// The same limit shared by every node through `shared` (when given), under `name`, which
    /// must differ between a node's limiters.
    pub fn shared(mut self, shared: Option<&SharedLimits>, name: &str) -> Self {
        self.shared = shared.map(|shared| (shared.clone(), name.to_string()));
        self
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub async fn check(&self, key: &str) -> Result<(), Duration> {
        self.take(key, true).await
    }

    /// Whether `key` has a token left, without taking it: for limits on failures, where the
    /// token is taken only once the attempt has failed.
    pub async fn peek(&self, key: &str) -> Result<(), Duration> {
        self.take(key, false).await
    }

    async fn take(&self, key: &str, consume: bool) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        // Counted locally too, so that a node falling back has its own recent history.
        let local = self.take_local(key, consume);
        let Some((shared, name)) = &self.shared else {
            return local;
        };
        // The cluster's count includes this node's, so a local refusal stands without asking.
        if !consume && (local.is_err() || self.cleared_recently(key)) {
            return local;
        }
        let verdict = shared.take(name, key, self.per_minute, consume).await;
        let mut cleared = self.cleared.lock().expect("rate limiter lock poisoned");
        match verdict {
            Some(Ok(())) if !consume => {
                let now = Instant::now();
                if cleared.len() > SWEEP_AT {
                    cleared.retain(|_, until| *until > now);
                }
                cleared.insert(key.to_string(), now + PEEK_CLEAR_FOR);
            }
            _ => {
                cleared.remove(key);
            }
        }
        verdict.unwrap_or(local)
    }

    /// Whether Redis cleared a peek of `key` within [`PEEK_CLEAR_FOR`].
    fn cleared_recently(&self, key: &str) -> bool {
        let cleared = self.cleared.lock().expect("rate limiter lock poisoned");
        cleared
            .get(key)
            .is_some_and(|until| Instant::now() < *until)
    }

    fn take_local(&self, key: &str, consume: bool) -> Result<(), Duration> {
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

/// Rate-limit buckets every node shares, in Redis. Cheap to clone.
#[derive(Clone)]
pub struct SharedLimits {
    inner: Arc<SharedInner>,
}

struct SharedInner {
    connection: ConnectionManager,
    script: redis::Script,
    /// Prepended to every bucket's key: `{prefix}:{limiter}:{hash of the key}`.
    prefix: String,
    /// While set and in the future, takes decide locally without asking Redis.
    paused_until: Mutex<Option<Instant>>,
    /// Whether the last attempt failed (for saying so once per outage).
    down: AtomicBool,
    /// Takes decided in Redis.
    shared_takes: AtomicU64,
    /// Takes decided locally because Redis did not answer.
    local_takes: AtomicU64,
}

impl fmt::Debug for SharedLimits {
    // No URL: it may hold a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimits")
            .field("prefix", &self.inner.prefix)
            .field("down", &self.inner.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl SharedLimits {
    /// Buckets in the Redis at `url`, under keys starting with `prefix`. Connects lazily (and
    /// reconnects by itself), so a Redis that is away now does not stop the node starting; must
    /// be called inside a Tokio runtime.
    pub fn new(url: &str, prefix: &str) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1);
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Self {
            inner: Arc::new(SharedInner {
                connection,
                script: redis::Script::new(TAKE_SCRIPT),
                prefix: prefix.to_string(),
                paused_until: Mutex::default(),
                down: AtomicBool::new(false),
                shared_takes: AtomicU64::new(0),
                local_takes: AtomicU64::new(0),
            }),
        })
    }

    /// Takes decided in Redis so far.
    pub fn shared_takes(&self) -> u64 {
        self.inner.shared_takes.load(Ordering::Relaxed)
    }

    /// Takes decided by this node alone so far, because Redis did not answer.
    pub fn local_takes(&self) -> u64 {
        self.inner.local_takes.load(Ordering::Relaxed)
    }

    /// Whether the last attempt to reach Redis failed.
    pub fn is_down(&self) -> bool {
        self.inner.down.load(Ordering::Relaxed)
    }

    /// The bucket's key: the limited key is hashed, as it may be an address or an email.
    fn key(&self, limiter: &str, key: &str) -> String {
        let digest = Sha256::digest(key.as_bytes());
        format!(
            "{}:{limiter}:{}",
            self.inner.prefix,
            hex::encode(&digest[..16])
        )
    }

    /// The verdict from Redis, or `None` when Redis did not answer (decide locally).
    async fn take(
        &self,
        limiter: &str,
        key: &str,
        per_minute: u32,
        consume: bool,
    ) -> Option<Result<(), Duration>> {
        let inner = &self.inner;
        if let Some(until) = *inner.paused_until.lock().expect("lock poisoned") {
            if Instant::now() < until {
                inner.local_takes.fetch_add(1, Ordering::Relaxed);
                return None;
            }
        }
        let mut connection = inner.connection.clone();
        let mut invocation = inner.script.key(self.key(limiter, key));
        invocation
            .arg(per_minute)
            .arg(if consume { "1" } else { "0" });
        let answer = tokio::time::timeout(
            REDIS_TIMEOUT,
            invocation.invoke_async::<u64>(&mut connection),
        )
        .await;
        let error = match answer {
            Ok(Ok(wait_ms)) => {
                *inner.paused_until.lock().expect("lock poisoned") = None;
                if inner.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("rate limits are shared through Redis again");
                }
                inner.shared_takes.fetch_add(1, Ordering::Relaxed);
                return Some(match wait_ms {
                    0 => Ok(()),
                    ms => Err(Duration::from_millis(ms)),
                });
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {REDIS_TIMEOUT:?}"),
        };
        *inner.paused_until.lock().expect("lock poisoned") = Some(Instant::now() + RETRY_AFTER);
        inner.local_takes.fetch_add(1, Ordering::Relaxed);
        if !inner.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %error,
                "Redis did not answer for the shared rate limits; this node limits what it sees \
                 until Redis is back"
            );
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bursts_up_to_the_limit_then_refuses_per_key() {
        let limiter = RateLimiter::new(3);
        for _ in 0..3 {
            assert!(limiter.check("a").await.is_ok());
        }
        let wait = limiter.check("a").await.unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(20));
        assert!(limiter.check("b").await.is_ok(), "keys are independent");
        assert!(RateLimiter::new(0).check("a").await.is_ok());
    }

    #[tokio::test]
    async fn peeking_takes_nothing() {
        let limiter = RateLimiter::new(2);
        for _ in 0..5 {
            assert!(limiter.peek("a").await.is_ok());
        }
        limiter.check("a").await.unwrap();
        limiter.check("a").await.unwrap();
        assert!(limiter.peek("a").await.is_err(), "both taken");
        assert!(limiter.peek("b").await.is_ok());
    }

    /// The Redis `make test` provides, or none (the caller then says why it skips).
    fn redis_url() -> Option<String> {
        let url = std::env::var("PARLEY_TEST_REDIS_URL").ok();
        if url.is_none() {
            eprintln!("skipped: PARLEY_TEST_REDIS_URL is unset (no Redis to share limits in)");
        }
        url
    }

    /// A key prefix no other run uses.
    fn prefix() -> String {
        format!("parley-test:ratelimit:{:016x}", rand::random::<u64>())
    }

    #[tokio::test]
    async fn nodes_sharing_redis_share_one_limit() {
        let Some(url) = redis_url() else { return };
        let prefix = prefix();
        // Two nodes: their own limiters and their own connections, the same Redis and prefix.
        let node_a = SharedLimits::new(&url, &prefix).unwrap();
        let node_b = SharedLimits::new(&url, &prefix).unwrap();
        let a = RateLimiter::new(5).shared(Some(&node_a), "messages_ip");
        let b = RateLimiter::new(5).shared(Some(&node_b), "messages_ip");
        for i in 0..5 {
            let node = if i % 2 == 0 { &a } else { &b };
            assert_eq!(node.check("10.0.0.1").await, Ok(()), "take {i}");
        }
        let wait = b.check("10.0.0.1").await.unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(12),
            "{wait:?}"
        );
        assert!(a.check("10.0.0.1").await.is_err(), "refused on either node");
        assert!(a.peek("10.0.0.1").await.is_err());
        // Another key, and the same key under another limiter, are other buckets.
        assert_eq!(a.check("10.0.0.2").await, Ok(()));
        let other = RateLimiter::new(5).shared(Some(&node_a), "conversations_ip");
        assert_eq!(other.check("10.0.0.1").await, Ok(()));
        assert_eq!(node_a.local_takes() + node_b.local_takes(), 0);
        assert!(node_a.shared_takes() > 0 && node_b.shared_takes() > 0);

        // The buckets expire once they would be full again; the key holds no address.
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(keys.len(), 3, "{keys:?}");
        for key in &keys {
            assert!(!key.contains("10.0.0"), "{key}");
            let ttl: i64 = redis::cmd("PTTL")
                .arg(key)
                .query_async(&mut connection)
                .await
                .unwrap();
            assert!(ttl > 0 && ttl <= 61_000, "{key}: {ttl}");
        }
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn peeking_in_redis_takes_nothing_and_writes_nothing() {
        let Some(url) = redis_url() else { return };
        let prefix = prefix();
        let shared = SharedLimits::new(&url, &prefix).unwrap();
        let limiter = RateLimiter::new(2).shared(Some(&shared), "auth_failures");
        for _ in 0..5 {
            assert_eq!(limiter.peek("203.0.113.9").await, Ok(()));
        }
        // Redis was asked once: a clear peek is believed for a second, not asked on each request.
        assert_eq!(shared.shared_takes(), 1);
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(keys.is_empty(), "{keys:?}");
        limiter.check("203.0.113.9").await.unwrap();
        limiter.check("203.0.113.9").await.unwrap();
        assert_eq!(shared.shared_takes(), 3, "failures always go to Redis");
        assert!(limiter.peek("203.0.113.9").await.is_err());
        // A fresh node (no local history) sees the shared bucket empty too.
        let other = RateLimiter::new(2).shared(
            Some(&SharedLimits::new(&url, &prefix).unwrap()),
            "auth_failures",
        );
        assert!(other.peek("203.0.113.9").await.is_err());
        let _: () = redis::cmd("DEL")
            .arg(&keys_of(&mut connection, &prefix).await)
            .query_async(&mut connection)
            .await
            .unwrap();
    }

    async fn keys_of(
        connection: &mut redis::aio::MultiplexedConnection,
        prefix: &str,
    ) -> Vec<String> {
        redis::cmd("KEYS")
            .arg(format!("{prefix}:*"))
            .query_async(connection)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn without_redis_each_node_limits_what_it_sees_and_never_blocks() {
        // Nothing listens on this port: every take falls back to the node's own bucket.
        let port = closed_port();
        let shared = SharedLimits::new(&format!("redis://127.0.0.1:{port}/"), "x").unwrap();
        let limiter = RateLimiter::new(3).shared(Some(&shared), "messages_ip");
        for _ in 0..3 {
            assert_eq!(limiter.check("a").await, Ok(()));
        }
        assert!(limiter.check("a").await.is_err(), "the local limit holds");
        assert_eq!(limiter.check("b").await, Ok(()));
        assert!(shared.is_down());
        assert_eq!(shared.local_takes(), 5);
        assert_eq!(shared.shared_takes(), 0);
    }

    /// A port nothing listens on (the system's pick, released again).
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    /// A redis-server of the test's own on `port`, killed when dropped.
    struct OwnRedis(std::process::Child);

    impl OwnRedis {
        fn start(port: u16) -> Option<Self> {
            let child = std::process::Command::new("redis-server")
                .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .ok()?;
            Some(Self(child))
        }
    }

    impl Drop for OwnRedis {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// Waits (bounded) until `check` holds, asking every 50 ms.
    async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !check().await {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn answers(url: &str) -> bool {
        let Ok(client) = redis::Client::open(url) else {
            return false;
        };
        let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
            return false;
        };
        redis::cmd("PING")
            .query_async::<()>(&mut connection)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn redis_killed_and_restarted_falls_back_then_shares_again() {
        let port = closed_port();
        let Some(server) = OwnRedis::start(port) else {
            eprintln!("skipped: redis-server is not installed");
            return;
        };
        let url = format!("redis://127.0.0.1:{port}/");
        until("redis-server to answer", || answers(&url)).await;
        let shared = SharedLimits::new(&url, &prefix()).unwrap();
        let limiter = RateLimiter::new(100).shared(Some(&shared), "messages_ip");
        assert_eq!(limiter.check("a").await, Ok(()));
        assert_eq!((shared.shared_takes(), shared.local_takes()), (1, 0));

        drop(server);
        assert_eq!(
            limiter.check("a").await,
            Ok(()),
            "chat goes on without Redis"
        );
        assert!(shared.is_down());
        assert_eq!(shared.local_takes(), 1);

        let _server = OwnRedis::start(port).unwrap();
        until("redis-server to answer again", || answers(&url)).await;
        until("the limits to be shared again", || async {
            assert_eq!(limiter.check("a").await, Ok(()));
            !shared.is_down()
        })
        .await;
        assert!(shared.shared_takes() >= 2);
    }

    #[tokio::test]
    async fn a_node_that_fell_back_returns_to_redis() {
        let Some(url) = redis_url() else { return };
        let prefix = prefix();
        let shared = SharedLimits::new(&url, &prefix).unwrap();
        let limiter = RateLimiter::new(10).shared(Some(&shared), "messages_ip");
        // As after a failed attempt whose pause is over.
        shared.inner.down.store(true, Ordering::Relaxed);
        *shared.inner.paused_until.lock().unwrap() = Some(Instant::now());
        assert_eq!(limiter.check("a").await, Ok(()));
        assert!(!shared.is_down());
        assert_eq!(shared.shared_takes(), 1);
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        let keys = keys_of(&mut connection, &prefix).await;
        assert_eq!(keys.len(), 1);
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}
