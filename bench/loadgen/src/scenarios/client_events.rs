//! `client-events`: groups of connections on private channels; one member of each group sends
//! `client-bench` events, the others measure latency, throughput and loss.
//!
//! Pusher limits client events to 10 per second per connection, so throughput comes from many
//! senders, each under the limit, with their ticks spread evenly over the interval.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use crate::cli::{ClientEventsArgs, Target, Tuning};
use crate::connection::Conn;
use crate::fleet::{self, Ctx, Spec};
use crate::payload::{now_ns, Payload};
use crate::report::Report;
use crate::seq::{LossTally, SeqSet};
use crate::stats::per_sec;
use crate::system::CpuWindow;
use crate::wire;

const EVENT: &str = "client-bench";
/// Pusher's default per-connection client-event limit.
const MAX_RATE: f64 = 10.0;

pub async fn run(
    target: &Target,
    tuning: &Tuning,
    args: &ClientEventsArgs,
) -> anyhow::Result<Report> {
    if !(args.rate > 0.0 && args.rate <= MAX_RATE) {
        anyhow::bail!("--rate must be in (0, {MAX_RATE}] events/s per sender (Pusher's limit)");
    }
    let groups = args.groups.max(1);
    let members = args.group_size as usize;
    let connections = groups * members;
    let ctx = Ctx::new(target, tuning, connections, groups);
    let (stop_tx, stop_rx) = watch::channel(false);
    // The senders wait for this so that nobody sends before every receiver is subscribed.
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let duration = Duration::from_secs(args.duration);
    let per_sender = (args.rate * duration.as_secs_f64()).round() as u64;

    let finished = Arc::new(AtomicUsize::new(0));
    let mut senders = Vec::with_capacity(groups);
    let mut receivers = Vec::with_capacity(connections);
    for g in 0..groups {
        let channel = format!("private-bench-{g}");
        for m in 0..members {
            let spec = Spec {
                stream: g as u32,
                channel: channel.clone(),
                private: true,
                receiver: m != 0,
            };
            if m == 0 {
                // Spread the senders' ticks over one interval instead of all firing together.
                let phase = interval.mul_f64(g as f64 / groups as f64);
                let sender = Sender {
                    ctx: Arc::clone(&ctx),
                    spec,
                    interval,
                    phase,
                    count: per_sender,
                    pad: tuning.pad,
                    finished: Arc::clone(&finished),
                };
                senders.push(tokio::spawn(sender.run(go_rx.clone(), stop_rx.clone())));
            } else {
                receivers.push(ctx.spawn_receiver(spec, EVENT, stop_rx.clone()));
            }
        }
    }
    let setup = ctx.settle("client-events").await?;
    if setup.ok == 0 {
        let _ = stop_tx.send(true);
        let mut report = Report::new("client-events", target);
        report.setup(&setup).errors(&ctx.recorder.errors);
        return Ok(report);
    }

    eprintln!(
        "  {groups} senders × {} receivers, {} events/s each for {} s",
        members - 1,
        args.rate,
        args.duration
    );
    let cpu = CpuWindow::start(target);
    let first_send_ns = now_ns();
    let _ = go_tx.send(Some(Instant::now()));
    // Drain only once every sender is done: stopping while one is still sending would cut off
    // its last events in flight and count them as lost. A starved generator sends late, so the
    // wait is bounded generously rather than at `duration`.
    let deadline = Instant::now() + duration * 2 + Duration::from_secs(10);
    while finished.load(Ordering::Relaxed) < groups && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fleet::drain(&ctx.recorder, tuning.drain()).await;
    let cpu = cpu.finish();
    let recorder = &ctx.recorder;
    let deliveries = recorder.deliveries.load(Ordering::Relaxed);
    let last_delivery = recorder.last_delivery_ns.load(Ordering::Relaxed);

    let _ = stop_tx.send(true);
    let accepted = join_senders(senders, groups, recorder).await;
    let received = fleet::join_receivers(receivers, recorder).await;
    let empty = SeqSet::new();
    let mut tally = LossTally::default();
    for (stream, r) in &received {
        tally.add(r, accepted.get(*stream as usize).unwrap_or(&empty));
    }
    let sent: u64 = accepted.iter().map(SeqSet::len).sum();

    let mut report = Report::new("client-events", target);
    report
        .setup(&setup)
        .int("groups", "groups (private channels)", groups as u64, "")
        .int("group_size", "connections per group", members as u64, "")
        .int("sent", "client events sent", sent, "")
        .float(
            "send_rate",
            "client events sent / s",
            sent as f64 / duration.as_secs_f64().max(1e-9),
            "/s",
        )
        .latency("latency", "send→receive", &recorder.latency())
        .int("deliveries", "deliveries received", deliveries, "")
        .float(
            "deliveries_per_sec",
            "deliveries / s",
            per_sec(deliveries, first_send_ns, last_delivery),
            "/s",
        )
        .loss(&tally)
        .cpu(cpu)
        .errors(&recorder.errors);
    Ok(report)
}

async fn join_senders(
    senders: Vec<JoinHandle<Option<(u32, SeqSet)>>>,
    streams: usize,
    recorder: &crate::stats::Recorder,
) -> Vec<SeqSet> {
    let mut accepted = vec![SeqSet::new(); streams];
    for handle in senders {
        match handle.await {
            Ok(Some((stream, sent))) => {
                if let Some(slot) = accepted.get_mut(stream as usize) {
                    *slot = sent;
                }
            }
            Ok(None) => {}
            Err(e) => recorder.errors.count("task_failed", e),
        }
    }
    accepted
}

/// The sending member of a group.
struct Sender {
    ctx: Arc<Ctx>,
    spec: Spec,
    interval: Duration,
    phase: Duration,
    /// Events to send, exactly, so the rate holds to the last tick.
    count: u64,
    pad: usize,
    /// Senders done sending, for whatever reason.
    finished: Arc<AtomicUsize>,
}

/// Counts its sender as done when dropped, so every way out of the send loop (including never
/// connecting) is counted exactly once.
struct DoneSending(Arc<AtomicUsize>);

impl Drop for DoneSending {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Sender {
    /// Subscribes, waits for the start signal, sends `count` events at its rate, then keeps
    /// reading (pings, errors) until stopped. Returns the sequence numbers it managed to send.
    async fn run(
        self,
        mut go: watch::Receiver<Option<Instant>>,
        mut stop: watch::Receiver<bool>,
    ) -> Option<(u32, SeqSet)> {
        let mut done = Some(DoneSending(Arc::clone(&self.finished)));
        let mut conn = self.ctx.establish(&self.spec).await?;
        let mut sent = SeqSet::new();
        let start = loop {
            if let Some(start) = *go.borrow_and_update() {
                break start;
            }
            let idle = tokio::select! {
                changed = go.changed() => changed.is_err(),
                step = self.read(&mut conn) => !step,
            };
            if idle {
                return Some((self.spec.stream, sent));
            }
        };
        let mut ticks = tokio::time::interval_at(start + self.phase, self.interval);
        // A late tick must not be made up with a burst: that would break the per-connection
        // rate limit and be counted as loss.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut seq = 0u64;
        if self.count == 0 {
            done.take();
        }
        loop {
            if *stop.borrow_and_update() {
                break;
            }
            let sending = seq < self.count;
            tokio::select! {
                changed = stop.changed() => if changed.is_err() { break },
                _ = ticks.tick(), if sending => {
                    if !self.send(&mut conn, seq).await {
                        break;
                    }
                    sent.insert(seq);
                    seq += 1;
                    if seq == self.count {
                        done.take();
                    }
                }
                alive = self.read(&mut conn) => if !alive { break },
            }
        }
        conn.close().await;
        Some((self.spec.stream, sent))
    }

    async fn send(&self, conn: &mut Conn, seq: u64) -> bool {
        let payload = Payload {
            c: self.spec.stream,
            s: seq,
            t: now_ns(),
        };
        let frame = wire::client_event(EVENT, &self.spec.channel, &payload.encode(self.pad));
        match conn.send(frame).await {
            Ok(()) => {
                let receivers = self.ctx.setup.receivers(self.spec.stream as usize);
                self.ctx
                    .recorder
                    .expected
                    .fetch_add(receivers, Ordering::Relaxed);
                true
            }
            Err(e) => {
                self.ctx.recorder.errors.count("sender_closed", e);
                false
            }
        }
    }

    /// Reads one frame. A sender should get nothing but keep-alives; anything else (a rate-limit
    /// `pusher:error`, its own event echoed back) is counted. False once the connection is gone.
    async fn read(&self, conn: &mut Conn) -> bool {
        let errors = &self.ctx.recorder.errors;
        let step = conn
            .next(|frame, text| {
                let kind = match frame.event.as_ref() {
                    "pusher:error" => "server_error",
                    EVENT => "echoed_to_sender",
                    _ => "unexpected_event",
                };
                errors.count(kind, wire::excerpt(text));
            })
            .await;
        match step {
            Ok(()) => true,
            Err(e) if !e.is_fatal() => {
                errors.count(e.kind(), e);
                true
            }
            Err(e) => {
                errors.count("sender_closed", e);
                false
            }
        }
    }
}
