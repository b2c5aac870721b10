//! Measurement state shared by all of a run's tasks: the latency histogram, delivery counters
//! and the error tally. Everything here is cheap to update from thousands of tasks.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;

/// Highest latency the histogram resolves; anything slower is clamped, which still shows up as
/// a max at the ceiling.
const MAX_TRACKED_NS: u64 = 120_000_000_000;

/// A latency histogram in nanoseconds with 3 significant digits (0.1 % resolution).
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, MAX_TRACKED_NS, 3)
            .expect("constant histogram bounds are valid");
        Self { hist }
    }

    pub fn record_ns(&mut self, ns: u64) {
        self.hist.saturating_record(ns.clamp(1, MAX_TRACKED_NS));
    }

    pub fn summary(&self) -> LatencySummary {
        let ms = |ns: u64| ns as f64 / 1e6;
        if self.hist.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: self.hist.len(),
            mean_ms: self.hist.mean() / 1e6,
            p50_ms: ms(self.hist.value_at_quantile(0.50)),
            p90_ms: ms(self.hist.value_at_quantile(0.90)),
            p99_ms: ms(self.hist.value_at_quantile(0.99)),
            p999_ms: ms(self.hist.value_at_quantile(0.999)),
            max_ms: ms(self.hist.max()),
        }
    }
}

/// Percentiles of a latency distribution, in milliseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    pub count: u64,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
}

/// Failures by kind, with the first few distinct messages kept verbatim so a server bug can be
/// read off the report instead of reproduced.
#[derive(Debug, Default)]
pub struct Errors {
    inner: Mutex<ErrorsInner>,
}

#[derive(Debug, Default)]
struct ErrorsInner {
    counts: BTreeMap<&'static str, u64>,
    samples: Vec<String>,
}

const MAX_SAMPLES: usize = 12;

impl Errors {
    pub fn count(&self, kind: &'static str, detail: impl std::fmt::Display) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        *inner.counts.entry(kind).or_default() += 1;
        if inner.samples.len() < MAX_SAMPLES {
            let sample = format!("{kind}: {detail}");
            if !inner.samples.contains(&sample) {
                inner.samples.push(sample);
            }
        }
    }

    pub fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.inner
            .lock()
            .map(|i| i.counts.clone())
            .unwrap_or_default()
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.inner
            .lock()
            .map(|i| i.counts.get(kind).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    pub fn samples(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|i| i.samples.clone())
            .unwrap_or_default()
    }
}

/// Delivery-side state shared by every receiving connection of a run.
#[derive(Debug, Default)]
pub struct Recorder {
    latency: Mutex<Latency>,
    /// Every benchmark event received, duplicates included.
    pub deliveries: AtomicU64,
    /// Deliveries that were not duplicates: what `expected` is compared with.
    pub distinct: AtomicU64,
    /// Deliveries the senders expect so far: accepted events × live receivers of their stream.
    /// Lets the run stop draining as soon as everything has arrived.
    pub expected: AtomicU64,
    /// Time of the last delivery, ns since the payload epoch.
    pub last_delivery_ns: AtomicU64,
    /// Application events that are not benchmark payloads (a chat bot's replies and typing
    /// indicator): neither deliveries nor errors.
    pub foreign: AtomicU64,
    pub errors: Errors,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record_delivery(&self, latency_ns: u64, now_ns: u64, new: bool) {
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        if new {
            self.distinct.fetch_add(1, Ordering::Relaxed);
        }
        self.last_delivery_ns.fetch_max(now_ns, Ordering::Relaxed);
        if let Ok(mut latency) = self.latency.lock() {
            latency.record_ns(latency_ns);
        }
    }

    pub fn latency(&self) -> LatencySummary {
        self.latency.lock().map(|l| l.summary()).unwrap_or_default()
    }
}

/// A rate in events per second over `[from_ns, to_ns]`; zero when the window is empty.
pub fn per_sec(count: u64, from_ns: u64, to_ns: u64) -> f64 {
    if to_ns <= from_ns {
        return 0.0;
    }
    count as f64 * 1e9 / (to_ns - from_ns) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_distribution() {
        let mut l = Latency::new();
        // 1..=1000 ms, one sample each: p50 = 500 ms, p99 = 990 ms, max = 1000 ms.
        for ms in 1..=1000u64 {
            l.record_ns(ms * 1_000_000);
        }
        let s = l.summary();
        assert_eq!(s.count, 1000);
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.002;
        assert!(close(s.p50_ms, 500.0), "p50 {}", s.p50_ms);
        assert!(close(s.p99_ms, 990.0), "p99 {}", s.p99_ms);
        assert!(close(s.max_ms, 1000.0), "max {}", s.max_ms);
        assert!(close(s.mean_ms, 500.5), "mean {}", s.mean_ms);
    }

    #[test]
    fn outliers_are_clamped_not_dropped() {
        let mut l = Latency::new();
        l.record_ns(0);
        l.record_ns(u64::MAX);
        let s = l.summary();
        assert_eq!(s.count, 2);
        assert!(s.max_ms >= 119_000.0);
    }

    #[test]
    fn empty_summary_is_zero() {
        assert_eq!(Latency::new().summary(), LatencySummary::default());
    }

    #[test]
    fn errors_count_by_kind_and_keep_distinct_samples() {
        let e = Errors::default();
        e.count("connect", "refused");
        e.count("connect", "refused");
        e.count("subscribe", "timeout");
        assert_eq!(e.get("connect"), 2);
        assert_eq!(e.counts().values().sum::<u64>(), 3);
        assert_eq!(e.samples(), vec!["connect: refused", "subscribe: timeout"]);
    }

    #[test]
    fn recorder_tracks_last_delivery() {
        let r = Recorder::new();
        r.record_delivery(1_000, 50, true);
        r.record_delivery(2_000, 40, false);
        assert_eq!(r.deliveries.load(Ordering::Relaxed), 2);
        assert_eq!(r.distinct.load(Ordering::Relaxed), 1);
        assert_eq!(r.last_delivery_ns.load(Ordering::Relaxed), 50);
        assert_eq!(r.latency().count, 2);
    }

    #[test]
    fn rate_over_window() {
        assert_eq!(per_sec(100, 0, 2_000_000_000), 50.0);
        assert_eq!(per_sec(100, 5, 5), 0.0);
    }
}
