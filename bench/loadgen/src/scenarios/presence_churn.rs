//! `presence-churn`: connections that join and leave presence channels in a loop, each as its own
//! user, while watching members stay subscribed to the same channels and check what they hear.
//!
//! Measured: joins + leaves per second achieved (every churner cycles as fast as the server
//! answers: subscribe, wait for `subscription_succeeded`, unsubscribe, again), the
//! subscribe→`subscription_succeeded` latency, and at the watchers the join→`member_added` and
//! leave→`member_removed` latencies. A watcher must hear every churner's join and leave exactly
//! once: per watcher and churner, `member_added` count = the churner's successful joins and
//! `member_removed` count = its leaves; every difference is counted as a mismatch, and a
//! `member_added` for a member already present (or `member_removed` for one absent) as a
//! duplicate.
//!
//! Churners and watchers can be spread over several WebSocket ports (`--churn-ports`,
//! `--watch-ports`): the nodes of a cluster, so that the member events a watcher hears cross
//! nodes. Presence auth is signed locally with the app secret.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use serde::Deserialize;
use tokio::sync::{watch, Semaphore};

use crate::cli::{Target, Tuning};
use crate::connection::{Conn, ConnError};
use crate::fleet::SetupStats;
use crate::payload::now_ns;
use crate::report::Report;
use crate::stats::{Errors, Latency};
use crate::system::CpuWindow;
use crate::wire;

#[derive(Debug, Clone, Args)]
pub struct PresenceChurnArgs {
    /// Connections joining and leaving presence channels in a loop, each as its own user.
    #[arg(long, default_value_t = 200)]
    pub churners: usize,
    /// Presence channels; churner i uses channel i mod this.
    #[arg(long, default_value_t = 20)]
    pub channels: usize,
    /// Watching members per channel: they stay subscribed and check every
    /// `member_added`/`member_removed`.
    #[arg(long, default_value_t = 4)]
    pub watchers: usize,
    /// Seconds of churning.
    #[arg(long, default_value_t = 30)]
    pub duration: u64,
    /// WebSocket ports the churners connect to, in turn (default: `--ws-ports`, else `--port`).
    #[arg(long, value_delimiter = ',')]
    pub churn_ports: Vec<u16>,
    /// WebSocket ports the watchers connect to (default: `--ws-ports`, else `--port`). Watcher j
    /// of a channel takes port j + 1 of the list and the channel's k-th churner port k, so with
    /// several ports each watcher hears churners on its own node and on the others.
    #[arg(long, value_delimiter = ',')]
    pub watch_ports: Vec<u16>,
}

impl PresenceChurnArgs {
    pub fn sockets_needed(&self) -> u64 {
        (self.churners + self.channels.max(1) * self.watchers) as u64
    }
}

const CHURN_PREFIX: &str = "churn-";

/// What a churner did: when it sent each subscribe and each unsubscribe (ns since the epoch),
/// and how many joins succeeded.
#[derive(Debug, Default)]
struct UserLog {
    join_sent: Vec<u64>,
    leave_sent: Vec<u64>,
    joined: u64,
}

/// What one watcher heard of one churner.
#[derive(Debug, Default, Clone, Copy)]
struct Heard {
    added: u64,
    removed: u64,
    present: bool,
}

struct Shared {
    target: Target,
    tuning: Tuning,
    errors: Errors,
    gate: Semaphore,
    users: Vec<Mutex<UserLog>>,
    join: Mutex<Latency>,
    added: Mutex<Latency>,
    removed: Mutex<Latency>,
    /// Member events the watchers heard about churners, for the drain.
    heard: AtomicU64,
    duplicates: AtomicU64,
    setup_ok: AtomicUsize,
    setup_failed: AtomicUsize,
    handshake: Mutex<Latency>,
}

fn channel_name(c: usize) -> String {
    format!("presence-bench-{c}")
}

fn record(latency: &Mutex<Latency>, ns: u64) {
    if let Ok(mut l) = latency.lock() {
        l.record_ns(ns);
    }
}

impl Shared {
    fn url(&self, port: u16) -> String {
        let mut target = self.target.clone();
        target.port = port;
        target.ws_url()
    }

    /// Opens a connection to `port`, at most `--connect-parallelism` at a time.
    async fn open(&self, port: u16) -> Result<Conn, ConnError> {
        let _permit = self.gate.acquire().await;
        let url = self.url(port);
        let attempt = Conn::open(&url, (&self.target.host, port), None);
        match tokio::time::timeout(self.tuning.connect_timeout(), attempt).await {
            Ok(result) => result,
            Err(_) => Err(ConnError::Connect(format!(
                "no connection on port {port} in time"
            ))),
        }
    }

    /// Sends a presence subscribe for `user` and waits for `subscription_succeeded`.
    async fn join(&self, conn: &mut Conn, channel: &str, user: &str) -> Result<(), ConnError> {
        let channel_data = serde_json::json!({"user_id": user, "user_info": {}}).to_string();
        let auth = parley_protocol::signature::channel_auth(
            &self.target.key,
            &self.target.secret,
            &conn.socket_id,
            channel,
            Some(&channel_data),
        );
        let frame = serde_json::json!({"event": "pusher:subscribe", "data": {
            "channel": channel, "auth": auth, "channel_data": channel_data}});
        conn.send(frame.to_string()).await?;
        let wait = conn.subscribed(channel);
        match tokio::time::timeout(self.tuning.connect_timeout(), wait).await {
            Ok(result) => result,
            Err(_) => Err(ConnError::Rejected(format!(
                "no subscription_succeeded on {channel} in time"
            ))),
        }
    }

    fn setup_done(&self, ok: bool, took: Duration) {
        if ok {
            record(
                &self.handshake,
                u64::try_from(took.as_nanos()).unwrap_or(u64::MAX),
            );
            self.setup_ok.fetch_add(1, Ordering::Relaxed);
        } else {
            self.setup_failed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

pub async fn run(
    target: &Target,
    tuning: &Tuning,
    args: &PresenceChurnArgs,
) -> anyhow::Result<Report> {
    let channels = args.channels.max(1);
    let default_ports = if tuning.ws_ports.is_empty() {
        vec![target.port]
    } else {
        tuning.ws_ports.clone()
    };
    let churn_ports = if args.churn_ports.is_empty() {
        default_ports.clone()
    } else {
        args.churn_ports.clone()
    };
    let watch_ports = if args.watch_ports.is_empty() {
        default_ports
    } else {
        args.watch_ports.clone()
    };
    let shared = Arc::new(Shared {
        target: target.clone(),
        tuning: tuning.clone(),
        errors: Errors::default(),
        gate: Semaphore::new(tuning.connect_parallelism.max(1)),
        users: (0..args.churners).map(|_| Mutex::default()).collect(),
        join: Mutex::new(Latency::new()),
        added: Mutex::new(Latency::new()),
        removed: Mutex::new(Latency::new()),
        heard: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        setup_ok: AtomicUsize::new(0),
        setup_failed: AtomicUsize::new(0),
        handshake: Mutex::new(Latency::new()),
    });
    let requested = args.churners + channels * args.watchers;
    let setup_started = Instant::now();
    let overflows_before = crate::system::listen_overflows();
    let (stop_tx, stop_rx) = watch::channel(false);
    let (go_tx, go_rx) = watch::channel(false);

    // Watchers first, all subscribed before anyone churns, so none has a churner in its list.
    let mut watchers = Vec::new();
    for c in 0..channels {
        for j in 0..args.watchers {
            let port = watch_ports[(j + 1) % watch_ports.len()];
            watchers.push((
                c,
                tokio::spawn(watcher(Arc::clone(&shared), c, j, port, stop_rx.clone())),
            ));
        }
    }
    let watchers_requested = channels * args.watchers;
    while shared.setup_ok.load(Ordering::Relaxed) + shared.setup_failed.load(Ordering::Relaxed)
        < watchers_requested
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut churners = Vec::new();
    for i in 0..args.churners {
        let port = churn_ports[(i / channels) % churn_ports.len()];
        churners.push(tokio::spawn(churner(
            Arc::clone(&shared),
            i,
            channels,
            port,
            go_rx.clone(),
            stop_rx.clone(),
        )));
    }
    while shared.setup_ok.load(Ordering::Relaxed) + shared.setup_failed.load(Ordering::Relaxed)
        < requested
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let wall_secs = setup_started.elapsed().as_secs_f64();
    let ok = shared.setup_ok.load(Ordering::Relaxed);
    let setup = SetupStats {
        requested,
        ok,
        failed: shared.setup_failed.load(Ordering::Relaxed),
        wall_secs,
        per_sec: ok as f64 / wall_secs.max(1e-9),
        handshake: shared
            .handshake
            .lock()
            .map(|h| h.summary())
            .unwrap_or_default(),
        listen_overflows: overflows_before
            .zip(crate::system::listen_overflows())
            .map(|(before, after)| after.saturating_sub(before)),
    };
    eprintln!(
        "  presence-churn: {} churners over {channels} channels (ports {churn_ports:?}), {} watchers each (ports {watch_ports:?}), {} s",
        args.churners, args.watchers, args.duration
    );

    let cpu = CpuWindow::start(target);
    let started = Instant::now();
    let _ = go_tx.send(true);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let _ = stop_tx.send(true);
    // Churners finish their cycle (each ends unsubscribed), watchers keep listening.
    for handle in churners {
        if let Err(e) = handle.await {
            shared.errors.count("task_failed", e);
        }
    }
    let churn_secs = started.elapsed().as_secs_f64();

    // Expected member events: each churner's joins and leaves, times its channel's live watchers.
    let mut live_watchers = vec![0u64; channels];
    for (c, handle) in &watchers {
        if !handle.is_finished() {
            live_watchers[*c] += 1;
        }
    }
    let (mut joins, mut leaves, mut expected) = (0u64, 0u64, 0u64);
    let mut per_user = Vec::with_capacity(args.churners);
    for (i, log) in shared.users.iter().enumerate() {
        let log = log
            .lock()
            .map(|l| (l.joined, l.leave_sent.len() as u64))
            .unwrap_or_default();
        joins += log.0;
        leaves += log.1;
        expected += (log.0 + log.1) * live_watchers[i % channels];
        per_user.push(log);
    }
    let deadline = Instant::now() + tuning.drain();
    while shared.heard.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu = cpu.finish();
    // Watchers stop at the drain's end (the stop flag is already set; they read until told by
    // the drain, so they are stopped by dropping the sender).
    drop(stop_tx);

    let (mut added, mut removed, mut mismatched, mut missing, mut extra) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for (c, handle) in watchers {
        let heard = match handle.await {
            Ok(Some(heard)) => heard,
            Ok(None) => continue,
            Err(e) => {
                shared.errors.count("task_failed", e);
                continue;
            }
        };
        for (i, &(want_added, want_removed)) in per_user.iter().enumerate() {
            if i % channels != c {
                continue;
            }
            let got = heard.get(&i).copied().unwrap_or_default();
            added += got.added;
            removed += got.removed;
            for (got, want) in [(got.added, want_added), (got.removed, want_removed)] {
                if got != want {
                    mismatched += 1;
                }
                missing += want.saturating_sub(got);
                extra += got.saturating_sub(want);
            }
        }
    }

    let ports = |p: &[u16]| p.iter().map(u16::to_string).collect::<Vec<_>>().join(",");
    let summary = |l: &Mutex<Latency>| l.lock().map(|l| l.summary()).unwrap_or_default();
    let mut report = Report::new("presence-churn", target);
    report
        .setup(&setup)
        .text("churn_ports", "churners' ports", &ports(&churn_ports))
        .text("watch_ports", "watchers' ports", &ports(&watch_ports))
        .int("churners", "churning connections", args.churners as u64, "")
        .int("channels", "presence channels", channels as u64, "")
        .int("watchers", "watchers per channel", args.watchers as u64, "")
        .int("joins", "joins (subscription_succeeded)", joins, "")
        .int("leaves", "leaves (unsubscribe sent)", leaves, "")
        .float("churn_secs", "churn wall time", churn_secs, "s")
        .float(
            "joins_leaves_per_sec",
            "joins + leaves / s",
            (joins + leaves) as f64 / churn_secs.max(1e-9),
            "/s",
        )
        .latency(
            "join",
            "subscribe→subscription_succeeded",
            &summary(&shared.join),
        )
        .latency(
            "added",
            "join→member_added at watchers",
            &summary(&shared.added),
        )
        .latency(
            "removed",
            "leave→member_removed at watchers",
            &summary(&shared.removed),
        )
        .int(
            "expected_member_events",
            "member events expected at watchers",
            expected,
            "",
        )
        .int("member_added", "member_added heard", added, "")
        .int("member_removed", "member_removed heard", removed, "")
        .int("missing", "member events missing", missing, "")
        .int("extra", "member events extra", extra, "")
        .int(
            "mismatched",
            "watcher×user counts that differ",
            mismatched,
            "",
        )
        .int(
            "duplicates",
            "added while present / removed while absent",
            shared.duplicates.load(Ordering::Relaxed),
            "",
        )
        .cpu(cpu)
        .errors(&shared.errors);
    Ok(report)
}

/// One churning user: connects (counted as setup), waits for the go, then joins and leaves its
/// channel until stopped, ending unsubscribed. A failed join ends it (counted as an error).
async fn churner(
    shared: Arc<Shared>,
    i: usize,
    channels: usize,
    port: u16,
    mut go: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
) {
    let started = Instant::now();
    let mut conn = match shared.open(port).await {
        Ok(conn) => conn,
        Err(e) => {
            shared.errors.count("setup_connect", e);
            shared.setup_done(false, started.elapsed());
            return;
        }
    };
    shared.setup_done(true, started.elapsed());
    while !*go.borrow_and_update() {
        if go.changed().await.is_err() {
            return;
        }
    }
    let channel = channel_name(i % channels);
    let user = format!("{CHURN_PREFIX}{i}");
    let unsubscribe =
        serde_json::json!({"event": "pusher:unsubscribe", "data": {"channel": channel}})
            .to_string();
    let log = &shared.users[i];
    while !*stop.borrow() {
        let sent = now_ns();
        if let Ok(mut log) = log.lock() {
            log.join_sent.push(sent);
        }
        if let Err(e) = shared.join(&mut conn, &channel, &user).await {
            shared.errors.count("join", e);
            break;
        }
        record(&shared.join, now_ns().saturating_sub(sent));
        let sent = now_ns();
        if let Ok(mut log) = log.lock() {
            log.joined += 1;
            log.leave_sent.push(sent);
        }
        if let Err(e) = conn.send(unsubscribe.clone()).await {
            shared.errors.count("leave", e);
            break;
        }
    }
    conn.close().await;
}

#[derive(Deserialize)]
struct Member<'a> {
    #[serde(borrow)]
    user_id: std::borrow::Cow<'a, str>,
}

/// One watching member: subscribes (as setup), then records every member event about a churner
/// until the run drops its stop sender. `None` if it never subscribed.
async fn watcher(
    shared: Arc<Shared>,
    c: usize,
    j: usize,
    port: u16,
    mut stop: watch::Receiver<bool>,
) -> Option<HashMap<usize, Heard>> {
    let started = Instant::now();
    let channel = channel_name(c);
    let subscribed = async {
        let mut conn = shared.open(port).await?;
        shared
            .join(&mut conn, &channel, &format!("watch-{c}-{j}"))
            .await?;
        Ok::<_, ConnError>(conn)
    };
    let mut conn = match subscribed.await {
        Ok(conn) => conn,
        Err(e) => {
            shared.errors.count("setup_watcher", e);
            shared.setup_done(false, started.elapsed());
            return None;
        }
    };
    shared.setup_done(true, started.elapsed());
    let mut heard: HashMap<usize, Heard> = HashMap::new();
    loop {
        let step = tokio::select! {
            // Only the sender being dropped ends a watcher: the stop flag itself means the
            // churners are finishing, whose last leaves are still to be heard.
            changed = stop.changed() => if changed.is_err() { break } else { continue },
            step = conn.next(|frame, text| {
                let added = match frame.event.as_ref() {
                    "pusher_internal:member_added" => true,
                    "pusher_internal:member_removed" => false,
                    "pusher:error" => {
                        shared.errors.count("server_error", wire::excerpt(text));
                        return;
                    }
                    _ => return,
                };
                if frame.channel.as_deref() != Some(channel.as_str()) {
                    shared.errors.count("wrong_channel", wire::excerpt(text));
                    return;
                }
                let data = frame.data_text();
                let Some(member) = data.as_deref().and_then(|d| serde_json::from_str::<Member<'_>>(d).ok()) else {
                    shared.errors.count("bad_member_event", wire::excerpt(text));
                    return;
                };
                let Some(i) = member.user_id.strip_prefix(CHURN_PREFIX).and_then(|n| n.parse::<usize>().ok()) else {
                    // Another watcher (joins only during setup).
                    return;
                };
                let Some(log) = shared.users.get(i) else {
                    shared.errors.count("unknown_member", wire::excerpt(text));
                    return;
                };
                let now = now_ns();
                let h = heard.entry(i).or_default();
                if h.present == added {
                    shared.duplicates.fetch_add(1, Ordering::Relaxed);
                }
                h.present = added;
                let (nth, latency) = if added {
                    h.added += 1;
                    (h.added, &shared.added)
                } else {
                    h.removed += 1;
                    (h.removed, &shared.removed)
                };
                let sent = log.lock().ok().and_then(|log| {
                    let times = if added { &log.join_sent } else { &log.leave_sent };
                    times.get(nth as usize - 1).copied()
                });
                if let Some(sent) = sent {
                    record(latency, now.saturating_sub(sent));
                }
                shared.heard.fetch_add(1, Ordering::Relaxed);
            }) => step,
        };
        if let Err(e) = step {
            if e.is_fatal() {
                shared.errors.count("watcher_closed", e);
                break;
            }
            shared.errors.count(e.kind(), e);
        }
    }
    conn.close().await;
    Some(heard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_of_churners_are_recognised() {
        let m: Member<'_> =
            serde_json::from_str(r#"{"user_id":"churn-12","user_info":{}}"#).unwrap();
        assert_eq!(
            m.user_id
                .strip_prefix(CHURN_PREFIX)
                .and_then(|n| n.parse::<usize>().ok()),
            Some(12)
        );
        assert_eq!(channel_name(3), "presence-bench-3");
    }
}
