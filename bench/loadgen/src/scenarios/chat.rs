//! `chat`: Parley's chat API end to end, the way the widget uses it. Visitors start
//! conversations; each conversation gets one WebSocket subscriber on its private channel,
//! authorised by the API's auth endpoint; senders POST messages round-robin over the
//! conversations, at a steady rate or, with `--burst-secs`, as fast as they can.
//!
//! Measures the POST round trip, POST→WebSocket latency (the message is stored, then
//! broadcast), messages accepted per second, deliveries per second and loss. The database is
//! whatever the server was started with, so the same run compares SQLite and PostgreSQL.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::server_rss;
use crate::chat_api::{self, ChatApi, RealtimeInfo, Visitor};
use crate::cli::{ChatArgs, Target, Tuning, CREATE_PARALLELISM};
use crate::connection::ConnError;
use crate::fleet::{self, Ctx, Spec};
use crate::payload::{now_ns, Payload};
use crate::publisher::{self, Publish, Schedule, SendError};
use crate::report::Report;
use crate::seq::{LossTally, Received, SeqSet};
use crate::stats::{per_sec, Latency, LatencySummary};
use crate::system::CpuWindow;

pub async fn run(
    target: &Target,
    tuning: &Tuning,
    args: &ChatArgs,
    name: &'static str,
) -> anyhow::Result<Report> {
    let schedule = match args.burst_secs {
        Some(secs) => Schedule::Flood {
            duration: Duration::from_secs(secs),
        },
        None if args.rate > 0.0 => Schedule::Steady {
            rate: args.rate,
            duration: Duration::from_secs(args.duration),
        },
        None => anyhow::bail!("--rate must be above 0 messages/s"),
    };
    let senders = args.senders.max(1);
    let api = Arc::new(ChatApi::new(
        &args.api,
        &args.token,
        senders.max(CREATE_PARALLELISM),
    )?);
    let realtime = api.realtime().await?;
    let ws = ws_target(target, &args.api, &realtime);
    eprintln!(
        "  realtime server {}:{} (key {}); starting {} conversations",
        ws.host, ws.port, ws.key, args.conversations
    );
    let server_before = server_rss(target);
    let (visitors, creation_errors, create) = start_conversations(&api, args.conversations).await;

    let ctx = Ctx::new(&ws, tuning, visitors.len(), visitors.len());
    for e in creation_errors {
        ctx.recorder.errors.count(e.kind, e.detail);
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let handles: Vec<_> = visitors
        .iter()
        .enumerate()
        .map(|(i, visitor)| subscriber(&ctx, &api, i as u32, visitor.clone(), stop_rx.clone()))
        .collect();
    let setup = ctx.settle(name).await?;
    let mut report = Report::new(name, &ws);
    report
        .text("api", "chat API", &args.api)
        .setup(&setup)
        .int(
            "conversations",
            "conversations started",
            visitors.len() as u64,
            "",
        )
        .int(
            "conversations_failed",
            "conversations not started",
            (args.conversations - visitors.len()) as u64,
            "",
        )
        .float(
            "create_p50_ms",
            "start conversation p50",
            create.p50_ms,
            "ms",
        )
        .float(
            "create_p99_ms",
            "start conversation p99",
            create.p99_ms,
            "ms",
        );
    if setup.ok == 0 {
        // Nobody to deliver to: sending would only measure the error path.
        report.errors(&ctx.recorder.errors);
        return Ok(report);
    }

    match schedule {
        Schedule::Flood { duration } => eprintln!(
            "  sending as fast as {senders} senders allow for {} s",
            duration.as_secs()
        ),
        _ => eprintln!(
            "  sending {} messages at {}/s for {} s ({senders} senders at most)",
            schedule.planned().unwrap_or_default(),
            args.rate,
            args.duration
        ),
    }
    let streams = visitors.len();
    let sender = Arc::new(ChatSender {
        api: Arc::clone(&api),
        visitors,
        pad: tuning.pad,
    });
    let cpu = CpuWindow::start(target);
    let outcome = publisher::run(
        sender,
        streams,
        schedule,
        senders,
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

    report
        .int(
            "senders",
            "senders (requests in flight)",
            senders as u64,
            "",
        )
        .opt_float(
            "target_rate",
            "target messages / s",
            args.burst_secs.is_none().then_some(args.rate),
            "/s",
        )
        .int("messages", "messages attempted", outcome.attempted, "")
        .int("messages_ok", "messages accepted (201)", outcome.ok, "")
        .int("messages_failed", "messages failed", outcome.failed, "")
        .float(
            "messages_per_sec",
            "messages accepted / s",
            outcome.achieved_rate(),
            "/s",
        )
        .latency("post", "POST round trip", &outcome.http)
        .latency("latency", "POST→WebSocket", &recorder.latency())
        .int("deliveries", "deliveries received", deliveries, "")
        .float(
            "deliveries_per_sec",
            "deliveries / s (send→last receive)",
            per_sec(deliveries, outcome.first_send_ns, last_delivery),
            "/s",
        )
        .int(
            "other_events",
            "other chat events (bot, typing)",
            recorder.foreign.load(Ordering::Relaxed),
            "",
        )
        .loss(&tally)
        .opt_int(
            "server_rss_before_kb",
            "server RSS before",
            server_before,
            "KiB",
        )
        .opt_int(
            "server_rss_end_kb",
            "server RSS after sending",
            server_end,
            "KiB",
        )
        .cpu(cpu)
        .errors(&recorder.errors);
    Ok(report)
}

/// The WebSocket side of the run: the realtime server the widget config names. Its host
/// defaults to the API's, which is where an embedded server listens.
fn ws_target(target: &Target, api: &str, realtime: &RealtimeInfo) -> Target {
    let api_host = reqwest::Url::parse(api)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    Target {
        host: realtime
            .host
            .clone()
            .or(api_host)
            .unwrap_or_else(|| target.host.clone()),
        port: realtime.port,
        api_port: None,
        app_id: target.app_id.clone(),
        key: realtime.key.clone(),
        secret: String::new(),
        server_pid: target.server_pid,
        db_process: target.db_process.clone(),
    }
}

/// Starts `count` conversations, [`CREATE_PARALLELISM`] at a time. Returns those started, the
/// failures, and the request latencies.
pub(super) async fn start_conversations(
    api: &ChatApi,
    count: usize,
) -> (Vec<Visitor>, Vec<SendError>, LatencySummary) {
    let results: Vec<_> = futures_util::stream::iter(0..count)
        .map(|_| async {
            let started = Instant::now();
            let result = api.start_conversation().await;
            (result, started.elapsed())
        })
        .buffered(CREATE_PARALLELISM)
        .collect()
        .await;
    let mut latency = Latency::new();
    let (mut visitors, mut errors) = (Vec::new(), Vec::new());
    for (result, took) in results {
        match result {
            Ok(visitor) => {
                latency.record_ns(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
                visitors.push(visitor);
            }
            Err(e) => errors.push(e),
        }
    }
    (visitors, errors, latency.summary())
}

/// The subscriber of one conversation: authorised by the chat API with the visitor's token,
/// then recording every `ChatMessageReceived` until stopped.
fn subscriber(
    ctx: &Arc<Ctx>,
    api: &Arc<ChatApi>,
    stream: u32,
    visitor: Visitor,
    stop: watch::Receiver<bool>,
) -> JoinHandle<Option<(u32, Received)>> {
    let (ctx, api) = (Arc::clone(ctx), Arc::clone(api));
    tokio::spawn(async move {
        let spec = Spec {
            stream,
            channel: visitor.channel(),
            private: true,
            receiver: true,
        };
        let authorize = |socket_id: String| {
            let (api, visitor) = (&api, &visitor);
            async move {
                api.authorize(visitor, &socket_id)
                    .await
                    .map_err(ConnError::Rejected)
            }
        };
        let mut conn = ctx.establish_with(&spec, authorize).await?;
        let received =
            fleet::receive(&mut conn, stream, chat_api::LISTEN, &ctx.recorder, stop).await;
        conn.close().await;
        Some((stream, received))
    })
}

/// Sends benchmark messages as the visitors of the run's conversations (stream = conversation).
struct ChatSender {
    api: Arc<ChatApi>,
    visitors: Vec<Visitor>,
    pad: usize,
}

impl Publish for ChatSender {
    async fn publish(&self, stream: usize, seq: u64) -> Result<(), SendError> {
        let visitor = self.visitors.get(stream).ok_or_else(|| SendError {
            kind: "post_failed",
            detail: format!("no conversation for stream {stream}"),
        })?;
        let payload = Payload {
            c: stream as u32,
            s: seq,
            t: now_ns(),
        };
        self.api.send_message(visitor, &payload, self.pad).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_target_comes_from_the_widget_config() {
        let cli_target = Target {
            host: "10.0.0.1".into(),
            port: 8080,
            api_port: None,
            app_id: "bench".into(),
            key: "bench-key".into(),
            secret: "bench-secret".into(),
            server_pid: Some(42),
            db_process: None,
        };
        let realtime = RealtimeInfo {
            key: "k1".into(),
            host: None,
            port: 40681,
        };
        let ws = ws_target(&cli_target, "http://127.0.0.1:46215", &realtime);
        assert_eq!(
            ws.ws_url(),
            "ws://127.0.0.1:40681/app/k1?protocol=7&client=js&version=8.4.0&flash=false"
        );
        assert_eq!(ws.server_pid, Some(42));
        assert!(ws.secret.is_empty(), "the chat run never signs locally");
        let named = RealtimeInfo {
            host: Some("localhost".into()),
            ..realtime
        };
        assert_eq!(ws_target(&cli_target, "bad url", &named).host, "localhost");
    }
}
