//! Sending benchmark events at a steady rate, as a burst or as a timed flood, with a bounded
//! number of requests in flight so a slow server slows the sender down instead of piling up
//! requests; and the [`Publisher`] that sends them through the Pusher HTTP API
//! (`POST /apps/{id}/events`, signed). Other senders (the chat API) plug in through [`Publish`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::cli::Target;
use crate::fleet::Setup;
use crate::payload::{now_ns, Payload};
pub use crate::schedule::Schedule;
use crate::seq::SeqSet;
use crate::stats::{per_sec, Latency, LatencySummary, Recorder};
use crate::wire;

/// The event name every benchmark publish uses.
pub const EVENT: &str = "bench";

/// Why one send failed: the error kind it is counted under, and a sample for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub kind: &'static str,
    pub detail: String,
}

/// Sends event `seq` of stream `stream` (carrying a [`Payload`] with the send time) and tells
/// whether the server accepted it.
pub trait Publish: Send + Sync + 'static {
    fn publish(
        &self,
        stream: usize,
        seq: u64,
    ) -> impl Future<Output = Result<(), SendError>> + Send;
}

/// A signed HTTP API client for one app, publishing to a fixed list of channels (the streams).
pub struct Publisher {
    client: reqwest::Client,
    channels: Vec<String>,
    url: String,
    path: String,
    key: String,
    secret: String,
    pad: usize,
}

impl Publisher {
    pub fn new(
        target: &Target,
        channels: Vec<String>,
        pool: usize,
        pad: usize,
    ) -> anyhow::Result<Publisher> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        let path = format!("/apps/{}/events", target.app_id);
        Ok(Publisher {
            client,
            channels,
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
    async fn send_event(&self, channel: &str, stream: u32, seq: u64) -> Result<(), String> {
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

impl Publish for Publisher {
    async fn publish(&self, stream: usize, seq: u64) -> Result<(), SendError> {
        let channel = self.channels.get(stream).ok_or_else(|| SendError {
            kind: "publish",
            detail: format!("no channel for stream {stream}"),
        })?;
        self.send_event(channel, stream as u32, seq)
            .await
            .map_err(|detail| SendError {
                kind: "publish",
                detail,
            })
    }
}

/// An error with its causes (`error sending request: connection refused`), since reqwest's own
/// message stops at the outermost layer. The URL is left out: it holds a per-request signature
/// and would make every sample distinct.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
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
    fn finish(&self, stream: usize, seq: u64, sent_ns: u64, result: Result<(), SendError>) {
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
                self.recorder.errors.count(e.kind, e.detail);
            }
        }
    }
}

/// Publishes events round-robin over `streams` as `schedule` says, with at most `concurrency`
/// requests in flight. Each accepted event raises the recorder's expected deliveries by the
/// number of subscribed receivers of its stream.
pub async fn run<P: Publish>(
    publisher: Arc<P>,
    streams: usize,
    schedule: Schedule,
    concurrency: usize,
    recorder: Arc<Recorder>,
    setup: &Setup,
) -> PublishOutcome {
    let streams = streams.max(1);
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
    let start = Instant::now();
    let mut attempted = 0u64;

    while schedule.wants(attempted, start.elapsed()) {
        if let Some(due) = schedule.due(attempted) {
            tokio::time::sleep_until(start + due).await;
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break;
        };
        // A flood ends on time even if this event waited for a free publisher.
        if !schedule.wants(attempted, start.elapsed()) {
            break;
        }
        let stream = (attempted % streams as u64) as usize;
        let seq = next_seq[stream];
        next_seq[stream] += 1;
        attempted += 1;
        let (publisher, progress) = (Arc::clone(&publisher), Arc::clone(&progress));
        tokio::spawn(async move {
            let sent_ns = now_ns();
            let result = publisher.publish(stream, seq).await;
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
        attempted,
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
}
