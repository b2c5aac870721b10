//! `fanout` and `channels`: subscribers on public channels, events published over the HTTP API,
//! measuring publish→receive latency, delivery throughput and loss.
//!
//! Both are the same experiment with a different shape (one channel × many subscribers versus
//! many channels × a few), so they share this module.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::watch;

use super::server_rss;
use crate::cli::{Target, Tuning};
use crate::fleet::{self, Ctx, Spec};
use crate::publisher::{self, Publisher, Schedule, EVENT};
use crate::report::Report;
use crate::seq::{LossTally, SeqSet};
use crate::stats::per_sec;
use crate::system::CpuWindow;

pub struct Plan {
    pub name: &'static str,
    pub channels: Vec<String>,
    pub connections: usize,
    pub schedule: Schedule,
    pub publishers: usize,
}

pub async fn run(target: &Target, tuning: &Tuning, plan: Plan) -> anyhow::Result<Report> {
    let streams = plan.channels.len();
    let publisher = Arc::new(Publisher::new(
        target,
        plan.channels.clone(),
        plan.publishers,
        tuning.pad,
    )?);
    let server_before = server_rss(target);

    let ctx = Ctx::new(target, tuning, plan.connections, streams);
    let (stop_tx, stop_rx) = watch::channel(false);
    let handles: Vec<_> = (0..plan.connections)
        .map(|i| {
            let stream = i % streams;
            let spec = Spec {
                stream: stream as u32,
                channel: plan.channels[stream].clone(),
                private: false,
                receiver: true,
            };
            ctx.spawn_receiver(spec, EVENT, stop_rx.clone())
        })
        .collect();
    let setup = ctx.settle(plan.name).await?;
    let server_connected = server_rss(target);
    if setup.ok == 0 {
        // Nobody to deliver to: publishing would only measure the HTTP API's error path.
        let mut report = Report::new(plan.name, target);
        report.setup(&setup).errors(&ctx.recorder.errors);
        return Ok(report);
    }

    match plan.schedule {
        Schedule::Steady { rate, duration } => eprintln!(
            "  publishing {} events at {rate}/s for {} s over {streams} channel(s)",
            plan.schedule.planned().unwrap_or_default(),
            duration.as_secs()
        ),
        Schedule::Burst { count } => eprintln!("  publishing a burst of {count} events"),
        Schedule::Flood { duration } => eprintln!(
            "  publishing as fast as possible for {} s",
            duration.as_secs()
        ),
    }
    let cpu = CpuWindow::start(target);
    let outcome = publisher::run(
        publisher,
        streams,
        plan.schedule,
        plan.publishers,
        Arc::clone(&ctx.recorder),
        &ctx.setup,
    )
    .await;
    fleet::drain(&ctx.recorder, tuning.drain()).await;
    let cpu = cpu.finish();
    let server_end = server_rss(target);
    let recorder = &ctx.recorder;
    let deliveries = recorder.deliveries.load(Ordering::Relaxed);
    let last_delivery = recorder.last_delivery_ns.load(Ordering::Relaxed);

    let _ = stop_tx.send(true);
    let received = fleet::join_receivers(handles, recorder).await;
    let empty = SeqSet::new();
    let mut tally = LossTally::default();
    for (stream, r) in &received {
        tally.add(r, outcome.accepted.get(*stream as usize).unwrap_or(&empty));
    }

    let mut report = Report::new(plan.name, target);
    report
        .setup(&setup)
        .int("channels", "channels", streams as u64, "")
        .int("published", "publishes attempted", outcome.attempted, "")
        .int("published_ok", "publishes accepted", outcome.ok, "")
        .int("published_failed", "publishes failed", outcome.failed, "")
        .float(
            "publish_rate",
            "publishes accepted / s",
            outcome.achieved_rate(),
            "/s",
        )
        .float(
            "http_p50_ms",
            "publish request p50",
            outcome.http.p50_ms,
            "ms",
        )
        .float(
            "http_p99_ms",
            "publish request p99",
            outcome.http.p99_ms,
            "ms",
        )
        .latency("latency", "publish→receive", &recorder.latency())
        .int("deliveries", "deliveries received", deliveries, "")
        .float(
            "deliveries_per_sec",
            "deliveries / s (send→last receive)",
            per_sec(deliveries, outcome.first_send_ns, last_delivery),
            "/s",
        )
        .loss(&tally)
        .opt_int(
            "server_rss_before_kb",
            "server RSS before",
            server_before,
            "KiB",
        )
        .opt_int(
            "server_rss_connected_kb",
            "server RSS connected",
            server_connected,
            "KiB",
        )
        .opt_int(
            "server_rss_end_kb",
            "server RSS after publishing",
            server_end,
            "KiB",
        )
        .cpu(cpu)
        .errors(&recorder.errors);
    Ok(report)
}
