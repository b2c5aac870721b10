//! `idle`: how much server memory an idle, subscribed connection costs.

use std::time::Duration;

use tokio::sync::watch;

use super::{kb_per_connection, server_rss};
use crate::cli::{IdleArgs, Target, Tuning};
use crate::fleet::{self, Ctx, Spec};
use crate::publisher::EVENT;
use crate::report::Report;
use crate::system;

pub async fn run(target: &Target, tuning: &Tuning, args: &IdleArgs) -> anyhow::Result<Report> {
    let channels = args.channels.max(1);
    if target.server_pid.is_none() {
        eprintln!("note: without --server-pid the server's memory is not measured");
    }
    let server_before = server_rss(target);
    let own_before = system::own_rss_kb();

    let ctx = Ctx::new(target, tuning, args.connections, channels);
    let (stop_tx, stop_rx) = watch::channel(false);
    let handles: Vec<_> = (0..args.connections)
        .map(|i| {
            let stream = i % channels;
            let spec = Spec {
                stream: stream as u32,
                channel: format!("bench-idle-{stream}"),
                private: false,
                receiver: true,
            };
            ctx.spawn_receiver(spec, EVENT, stop_rx.clone())
        })
        .collect();
    let setup = ctx.settle("idle").await?;

    eprintln!("  all connections settled; idling {} s", args.idle_secs);
    let cpu = system::CpuWindow::start(target);
    tokio::time::sleep(Duration::from_secs(args.idle_secs)).await;
    let cpu = cpu.finish();
    let server_after = server_rss(target);
    let own_after = system::own_rss_kb();
    // Read before stopping: whatever closes from here on is the generator hanging up.
    let dropped_while_idle = ctx.recorder.errors.get("closed_early");

    let _ = stop_tx.send(true);
    fleet::join_receivers(handles, &ctx.recorder).await;

    let mut report = Report::new("idle", target);
    report
        .setup(&setup)
        .int("channels", "channels", channels as u64, "")
        .int(
            "dropped_while_idle",
            "connections dropped while idle",
            dropped_while_idle,
            "",
        )
        .opt_int(
            "server_rss_before_kb",
            "server RSS before",
            server_before,
            "KiB",
        )
        .opt_int(
            "server_rss_after_kb",
            "server RSS with all connected",
            server_after,
            "KiB",
        )
        .opt_float(
            "server_kb_per_conn",
            "server memory per connection",
            kb_per_connection(server_before, server_after, setup.ok),
            "KiB",
        )
        .opt_float(
            "loadgen_kb_per_conn",
            "generator memory per connection",
            kb_per_connection(own_before, own_after, setup.ok),
            "KiB",
        )
        .cpu(cpu)
        .errors(&ctx.recorder.errors);
    Ok(report)
}
