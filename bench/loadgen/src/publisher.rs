//! Publishing benchmark events through the server's HTTP API (`POST /apps/{id}/events`, signed),
//! at a steady rate or as a burst, with a bounded number of requests in flight so a slow server
//! slows the publisher down instead of piling up requests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cli::Target;
use crate::fleet::Setup;
use crate::payload::{now_ns, Payload};
use crate::seq::SeqSet;
use crate::stats::{per_sec, Latency, LatencySummary, Recorder};
use crate::wire;

/// The event name every benchmark publish uses.
pub const EVENT: &str = "bench";

/// A signed HTTP API client for one app.
pub struct Publisher {
    client: reqwest::Client,
    url: String,
    path: String,
    key: String,
    secret: String,
    pad: usize,
}

impl Publisher {
    pub fn new(target: &Target, pool: usize, pad: usize) -> anyhow::Result<Publisher> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        let path = format!("/apps/{}/events", target.app_id);
        Ok(Publisher {
            client,
            url: format!("{}{path}", target.http_base()),
            path,
            key: target.key.clone(),
            secret: target.secret.clone(),
            pad,
        })
    }

    /// Publishes one event on `channel`. The payload's send time is taken here, just before the
    /// request is signed and sent, so time spent waiting for a free publisher is not counted as
    /// server latency.
    pub async fn publish(&self, channel: &str, stream: u32, seq: u64) -> Result<(), String> {
        let payload = Payload {
            c: stream,
            s: seq,
            t: now_ns(),
        };
        let body = serde_json::json!({
            "name": EVENT,
            "channels": [channel],
            "data": payload.encode(self.pad),
        })
        .to_string();
        let now_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let params = parley_protocol::signature::sign_api_request(
            &self.key,
            &self.secret,
            "POST",
            &self.path,
            &[],
            body.as_bytes(),
            now_secs,
        );
        let response = self
            .client
            .post(&self.url)
            .query(&params)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("request failed: {}", error_chain(&e.without_url())))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(format!("HTTP {status}: {}", wire::excerpt(&text)))
    }
}

/// An error with its causes (`error sending request: connection refused`), since reqwest's own
/// message stops at the outermost layer. The URL is left out: it holds a per-request signature
/// and would make every sample distinct.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// When to publish.
#[derive(Debug, Clone, Copy)]
pub enum Schedule {
    /// `rate` events per second for `duration`, evenly spaced.
    Steady { rate: f64, duration: Duration },
    /// `count` events, each sent as soon as a publisher is free.
    Burst { count: u64 },
}

impl Schedule {
    pub fn total(&self) -> u64 {
        match *self {
            Schedule::Steady { rate, duration } => (rate * duration.as_secs_f64()).round() as u64,
            Schedule::Burst { count } => count,
        }
    }

    /// When event `i` is due, relative to the start; `None` means immediately.
    fn due(&self, i: u64) -> Option<Duration> {
        match *self {
            Schedule::Steady { rate, .. } if rate > 0.0 => {
                Some(Duration::from_secs_f64(i as f64 / rate))
            }
            _ => None,
        }
    }
}

/// What the publishers did.
#[derive(Debug)]
pub struct PublishOutcome {
    /// Per stream, the sequence numbers the server accepted (2xx).
    pub accepted: Vec<SeqSet>,
    pub attempted: u64,
    pub ok: u64,
    pub failed: u64,
    /// When the first and the last request started, ns since the payload epoch.
    pub first_send_ns: u64,
    pub last_send_ns: u64,
    /// Round trip of the publish request itself.
    pub http: LatencySummary,
}

impl PublishOutcome {
    /// Accepted publishes per second: intervals between request starts over their span, so a
    /// steady 10/s run reads 10, not 10 × n/(n-1).
    pub fn achieved_rate(&self) -> f64 {
        per_sec(
            self.ok.saturating_sub(1),
            self.first_send_ns,
            self.last_send_ns,
        )
    }
}

/// State the in-flight publish tasks update.
struct Progress {
    accepted: Mutex<Vec<SeqSet>>,
    http: Mutex<Latency>,
    ok: AtomicU64,
    failed: AtomicU64,
    first_send_ns: AtomicU64,
    last_send_ns: AtomicU64,
    /// Subscribed receivers per stream, fixed once setup is over.
    receivers: Vec<u64>,
    recorder: Arc<Recorder>,
}

impl Progress {
    fn finish(&self, stream: usize, seq: u64, sent_ns: u64, result: Result<(), String>) {
        self.first_send_ns.fetch_min(sent_ns, Ordering::Relaxed);
        self.last_send_ns.fetch_max(sent_ns, Ordering::Relaxed);
        match result {
            Ok(()) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut a) = self.accepted.lock() {
                    a[stream].insert(seq);
                }
                self.recorder
                    .expected
                    .fetch_add(self.receivers[stream], Ordering::Relaxed);
                if let Ok(mut h) = self.http.lock() {
                    h.record_ns(now_ns().saturating_sub(sent_ns));
                }
            }
            Err(e) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.recorder.errors.count("publish", e);
            }
        }
    }
}

/// Publishes `schedule.total()` events round-robin over `channels` with at most `concurrency`
/// requests in flight. Each accepted event raises the recorder's expected deliveries by the
/// number of subscribed receivers of its channel.
pub async fn run(
    publisher: Arc<Publisher>,
    channels: Arc<Vec<String>>,
    schedule: Schedule,
    concurrency: usize,
    recorder: Arc<Recorder>,
    setup: &Setup,
) -> PublishOutcome {
    let streams = channels.len().max(1);
    let progress = Arc::new(Progress {
        accepted: Mutex::new(vec![SeqSet::new(); streams]),
        http: Mutex::new(Latency::new()),
        ok: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        first_send_ns: AtomicU64::new(u64::MAX),
        last_send_ns: AtomicU64::new(0),
        receivers: (0..streams).map(|s| setup.receivers(s)).collect(),
        recorder,
    });
    let concurrency = concurrency.clamp(1, u32::MAX as usize);
    let in_flight = Arc::new(Semaphore::new(concurrency));
    let mut next_seq = vec![0u64; streams];
    let total = schedule.total();
    let start = Instant::now();

    for i in 0..total {
        if let Some(due) = schedule.due(i) {
            tokio::time::sleep_until(start + due).await;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        let stream = (i % streams as u64) as usize;
        let seq = next_seq[stream];
        next_seq[stream] += 1;
        let (publisher, channels, progress) = (
            Arc::clone(&publisher),
            Arc::clone(&channels),
            Arc::clone(&progress),
        );
        tokio::spawn(async move {
            let sent_ns = now_ns();
            let result = publisher
                .publish(&channels[stream], stream as u32, seq)
                .await;
            progress.finish(stream, seq, sent_ns, result);
            drop(permit);
        });
    }
    // Every permit back means every request has finished.
    let _all = in_flight.acquire_many(concurrency as u32).await;

    let first_send_ns = progress.first_send_ns.load(Ordering::Relaxed);
    PublishOutcome {
        accepted: progress
            .accepted
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default(),
        attempted: total,
        ok: progress.ok.load(Ordering::Relaxed),
        failed: progress.failed.load(Ordering::Relaxed),
        first_send_ns: if first_send_ns == u64::MAX {
            0
        } else {
            first_send_ns
        },
        last_send_ns: progress.last_send_ns.load(Ordering::Relaxed),
        http: progress
            .http
            .lock()
            .map(|h| h.summary())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_schedule_spaces_events_evenly() {
        let s = Schedule::Steady {
            rate: 10.0,
            duration: Duration::from_secs(3),
        };
        assert_eq!(s.total(), 30);
        assert_eq!(s.due(0), Some(Duration::ZERO));
        assert_eq!(s.due(5), Some(Duration::from_millis(500)));
        assert_eq!(s.due(29), Some(Duration::from_millis(2900)));
    }

    #[test]
    fn achieved_rate_counts_intervals() {
        let outcome = PublishOutcome {
            accepted: Vec::new(),
            attempted: 30,
            ok: 30,
            failed: 0,
            first_send_ns: 1_000,
            last_send_ns: 1_000 + 2_900_000_000,
            http: LatencySummary::default(),
        };
        assert!((outcome.achieved_rate() - 10.0).abs() < 1e-9);
    }

    #[test]
    fn error_chain_lists_causes() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(error_chain(&outer), "refused");
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("sending failed")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = Wrap(std::io::Error::other("refused"));
        assert_eq!(error_chain(&wrapped), "sending failed: refused");
    }

    #[test]
    fn burst_schedule_has_no_pacing() {
        let s = Schedule::Burst { count: 7 };
        assert_eq!(s.total(), 7);
        assert_eq!(s.due(3), None);
    }
}
