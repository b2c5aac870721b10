//! Opening thousands of subscribed connections without flooding the server, and receiving on
//! them: a task per connection to connect and subscribe, then the socket goes to the shared
//! receive thread ([`crate::reactor`]), and what it receives is judged by [`record`].

use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::{oneshot, watch, Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::cli::{Target, Tuning};
use crate::connection::{Conn, ConnError};
use crate::payload::{now_ns, Found, Listen};
use crate::reactor::{Adopted, Reactor};
use crate::seq::Received;
use crate::stats::{Latency, LatencySummary, Recorder};
use crate::wire::{self, Frame};

/// What one connection is for.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Index of the channel in the scenario's list; also the payload's stream id.
    pub stream: u32,
    pub channel: String,
    /// Private channels need a locally signed `auth`.
    pub private: bool,
    /// Counted as a receiver of its stream (a client-event sender is not: it never gets its own
    /// events back).
    pub receiver: bool,
}

/// Everything the connection tasks of one run share.
pub struct Ctx {
    pub target: Target,
    pub tuning: Tuning,
    pub recorder: Arc<Recorder>,
    pub setup: Setup,
    /// Bounds concurrent handshakes to `--connect-parallelism`.
    gate: Semaphore,
    /// WebSocket URLs and ports (`--ws-ports`, else `--port`), taken in turn.
    urls: Vec<(String, u16)>,
    next_url: AtomicUsize,
    /// Source addresses (`--bind`), taken in turn; empty: the kernel picks.
    bind: Vec<IpAddr>,
    next_bind: AtomicUsize,
    /// Where subscribed receivers are read; `None` if its thread could not start, and then
    /// each receiver reads on its own task.
    reactor: Option<Reactor>,
}

impl Ctx {
    pub fn new(target: &Target, tuning: &Tuning, connections: usize, streams: usize) -> Arc<Ctx> {
        let recorder = Arc::new(Recorder::new());
        let reactor = Reactor::start(Arc::clone(&recorder))
            .inspect_err(|e| {
                eprintln!("  warning: no receive thread ({e}); one task per connection")
            })
            .ok();
        Arc::new(Ctx {
            urls: ws_urls(target, &tuning.ws_ports),
            next_url: AtomicUsize::new(0),
            bind: tuning.bind.clone(),
            next_bind: AtomicUsize::new(0),
            target: target.clone(),
            tuning: tuning.clone(),
            reactor,
            recorder,
            setup: Setup::new(connections, streams),
            gate: Semaphore::new(tuning.connect_parallelism.max(1)),
        })
    }

    /// The source address for the next connection, round-robin over `--bind`.
    fn source(&self) -> Option<IpAddr> {
        if self.bind.is_empty() {
            return None;
        }
        let i = self.next_bind.fetch_add(1, Ordering::Relaxed);
        Some(self.bind[i % self.bind.len()])
    }

    /// Waits until every connection has subscribed or failed, then tells whoever drives the run
    /// (`--ready-file`) and waits for the go-ahead (`--release-file`), if asked to.
    pub async fn settle(&self, label: &str) -> anyhow::Result<SetupStats> {
        let setup = self.setup.wait(label).await;
        if let Some(path) = &self.tuning.ready_file {
            let mut report = crate::report::Report::new("setup", &self.target);
            report.setup(&setup);
            let partial = path.with_extension("partial");
            std::fs::write(&partial, report.to_json_line() + "\n")
                .and_then(|()| std::fs::rename(&partial, path))
                .with_context(|| format!("cannot write the ready file {}", path.display()))?;
        }
        if let Some(path) = &self.tuning.release_file {
            eprintln!("  {label}: connected; waiting for {}", path.display());
            while !path.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        Ok(setup)
    }

    /// Opens and subscribes one connection, at most `--connect-parallelism` at a time, signing
    /// private channels locally with the app secret. Failures are counted and give `None`.
    pub async fn establish(&self, spec: &Spec) -> Option<Conn> {
        self.establish_with(spec, |socket_id| {
            let auth = if spec.private {
                parley_protocol::signature::channel_auth(
                    &self.target.key,
                    &self.target.secret,
                    &socket_id,
                    &spec.channel,
                    None,
                )
            } else {
                String::new()
            };
            std::future::ready(Ok(auth))
        })
        .await
    }

    /// Like [`Ctx::establish`], with the channel's `auth` obtained by `authorize` from the
    /// socket id (an application's auth endpoint, say). Its time counts as handshake time.
    pub async fn establish_with<F, Fut>(&self, spec: &Spec, authorize: F) -> Option<Conn>
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = Result<String, ConnError>>,
    {
        let Ok(permit) = self.gate.acquire().await else {
            self.setup.failed();
            return None;
        };
        let started = Instant::now();
        let attempt = async {
            let (url, port) =
                &self.urls[self.next_url.fetch_add(1, Ordering::Relaxed) % self.urls.len()];
            let mut conn = Conn::open(url, (&self.target.host, *port), self.source()).await?;
            let auth = authorize(conn.socket_id.clone()).await?;
            conn.subscribe(&spec.channel, &auth).await?;
            Ok::<_, ConnError>(conn)
        };
        let outcome = tokio::time::timeout(self.tuning.connect_timeout(), attempt).await;
        drop(permit);
        let errors = &self.recorder.errors;
        match outcome {
            Ok(Ok(conn)) => {
                self.setup
                    .succeeded(spec.stream, spec.receiver, started.elapsed());
                Some(conn)
            }
            Ok(Err(e)) => {
                errors.count(setup_kind(&e), e);
                self.setup.failed();
                None
            }
            Err(_) => {
                errors.count(
                    "setup_timeout",
                    format!("no subscription_succeeded on {} in time", spec.channel),
                );
                self.setup.failed();
                None
            }
        }
    }

    /// Spawns a connection that subscribes and then records every `event` carrying a benchmark
    /// payload until `stop` flips. Its result is `None` if it never got subscribed.
    pub fn spawn_receiver(
        self: &Arc<Self>,
        spec: Spec,
        event: &'static str,
        mut stop: watch::Receiver<bool>,
    ) -> JoinHandle<Option<(u32, Received)>> {
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            let mut conn = ctx.establish(&spec).await?;
            let listen = Listen::payload(event);
            let Some(reactor) = &ctx.reactor else {
                let received = receive(&mut conn, spec.stream, listen, &ctx.recorder, stop).await;
                conn.close().await;
                return Some((spec.stream, received));
            };
            let (socket, activity_timeout) = match conn.into_socket() {
                Ok(raw) => raw,
                Err(e) => {
                    ctx.recorder.errors.count("closed_early", e);
                    return Some((spec.stream, Received::default()));
                }
            };
            let (done, mut received) = oneshot::channel();
            reactor.adopt(Adopted {
                socket,
                stream: spec.stream,
                listen,
                activity_timeout,
                done,
            });
            // The task only waits: for its connection to end, or for the run to, when it stops
            // the receive thread (every task does; once is enough).
            let until_stopped = async {
                while !*stop.borrow_and_update() {
                    if stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            tokio::select! {
                ended = &mut received => return Some((spec.stream, ended.unwrap_or_default())),
                () = until_stopped => reactor.stop(),
            }
            match received.await {
                Ok(received) => Some((spec.stream, received)),
                Err(_) => {
                    ctx.recorder
                        .errors
                        .count("task_failed", "the receive thread ended early");
                    Some((spec.stream, Received::default()))
                }
            }
        })
    }
}

/// The WebSocket URL of each port in `ports`, or of the target's own port if none is given.
fn ws_urls(target: &Target, ports: &[u16]) -> Vec<(String, u16)> {
    if ports.is_empty() {
        return vec![(target.ws_url(), target.port)];
    }
    ports
        .iter()
        .map(|&port| {
            let mut t = target.clone();
            t.port = port;
            (t.ws_url(), port)
        })
        .collect()
}

fn setup_kind(e: &ConnError) -> &'static str {
    match e {
        ConnError::Connect(_) => "setup_connect",
        ConnError::Closed(_) => "setup_closed",
        ConnError::Rejected(_) => "setup_rejected",
        ConnError::Garbled(_) => "setup_garbled",
    }
}

/// Records benchmark deliveries on `stream` as `listen` describes them until `stop` is set;
/// anything else the server sends is counted as an error with a sample of the frame.
pub async fn receive(
    conn: &mut Conn,
    stream: u32,
    listen: Listen,
    recorder: &Recorder,
    mut stop: watch::Receiver<bool>,
) -> Received {
    let mut received = Received::default();
    let errors = &recorder.errors;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let step = tokio::select! {
            changed = stop.changed() => {
                // A dropped sender means the run is over too.
                if changed.is_err() {
                    break;
                }
                continue;
            }
            step = conn.next(|frame, text| {
                record(frame, text, stream, &listen, &mut received, recorder);
            }) => step,
        };
        if let Err(e) = step {
            if e.is_fatal() {
                // Checked again because the server may close first when the run is ending.
                if !*stop.borrow() {
                    errors.count("closed_early", e);
                }
                break;
            }
            errors.count(e.kind(), e);
        }
    }
    received
}

/// Judges one Pusher frame a receiver got (other than pings): a benchmark delivery on its own
/// stream is recorded; a foreign event is counted apart; anything else is an error, counted with
/// a sample of the frame.
pub fn record(
    frame: &Frame<'_>,
    text: &str,
    stream: u32,
    listen: &Listen,
    received: &mut Received,
    recorder: &Recorder,
) {
    let errors = &recorder.errors;
    if listen.also.contains(&frame.event.as_ref()) {
        recorder.foreign.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if frame.event != listen.event {
        let kind = match frame.event.as_ref() {
            "pusher:error" => "server_error",
            _ => "unexpected_event",
        };
        errors.count(kind, wire::excerpt(text));
        return;
    }
    let now = now_ns();
    match frame
        .data_text()
        .as_deref()
        .map_or(Found::Garbled, listen.extract)
    {
        Found::Bench(p) if p.c == stream => {
            let new = received.record(p.s);
            recorder.record_delivery(now.saturating_sub(p.t), now, new);
        }
        Found::Bench(_) => errors.count("wrong_channel", wire::excerpt(text)),
        Found::Foreign => {
            recorder.foreign.fetch_add(1, Ordering::Relaxed);
        }
        Found::Garbled => errors.count("bad_payload", wire::excerpt(text)),
    }
}

/// Progress and outcome of opening a run's connections.
pub struct Setup {
    requested: usize,
    ok: AtomicUsize,
    failed: AtomicUsize,
    /// Subscribed receivers per stream, so senders know how many deliveries to expect.
    receivers: Vec<AtomicU64>,
    handshake: Mutex<Latency>,
    done: Notify,
    /// Setup is timed from here: tasks start connecting as soon as they are spawned.
    created: Instant,
    listen_overflows_before: Option<u64>,
}

/// How opening the connections went.
#[derive(Debug, Clone, Copy)]
pub struct SetupStats {
    pub requested: usize,
    pub ok: usize,
    pub failed: usize,
    pub wall_secs: f64,
    /// Successful connections per second of setup wall time.
    pub per_sec: f64,
    /// Per connection: TCP connect to `subscription_succeeded`.
    pub handshake: LatencySummary,
    /// Machine-wide accept-queue overflows during setup: each one is a SYN the client retries
    /// after 1 s (then 3 s…), which is where handshake outliers of that size come from.
    pub listen_overflows: Option<u64>,
}

impl Setup {
    fn new(requested: usize, streams: usize) -> Setup {
        Setup {
            requested,
            ok: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            receivers: (0..streams).map(|_| AtomicU64::new(0)).collect(),
            handshake: Mutex::new(Latency::new()),
            done: Notify::new(),
            created: Instant::now(),
            listen_overflows_before: crate::system::listen_overflows(),
        }
    }

    fn succeeded(&self, stream: u32, receiver: bool, took: Duration) {
        if receiver {
            if let Some(n) = self.receivers.get(stream as usize) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut h) = self.handshake.lock() {
            h.record_ns(u64::try_from(took.as_nanos()).unwrap_or(u64::MAX));
        }
        self.ok.fetch_add(1, Ordering::Relaxed);
        self.done.notify_one();
    }

    fn failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        self.done.notify_one();
    }

    /// Subscribed receivers of `stream`.
    pub fn receivers(&self, stream: usize) -> u64 {
        self.receivers
            .get(stream)
            .map_or(0, |n| n.load(Ordering::Relaxed))
    }

    /// Waits until every requested connection has subscribed or failed, printing progress.
    pub async fn wait(&self, label: &str) -> SetupStats {
        let mut last_print = Instant::now();
        loop {
            let ok = self.ok.load(Ordering::Relaxed);
            let failed = self.failed.load(Ordering::Relaxed);
            if ok + failed >= self.requested {
                break;
            }
            if last_print.elapsed() >= Duration::from_secs(2) {
                eprintln!(
                    "  {label}: {ok}/{} subscribed, {failed} failed",
                    self.requested
                );
                last_print = Instant::now();
            }
            // Notify may coalesce wake-ups; the timeout keeps progress printing regardless.
            let _ = tokio::time::timeout(Duration::from_millis(250), self.done.notified()).await;
        }
        let wall_secs = self.created.elapsed().as_secs_f64();
        let listen_overflows = self
            .listen_overflows_before
            .zip(crate::system::listen_overflows())
            .map(|(before, after)| after.saturating_sub(before));
        let ok = self.ok.load(Ordering::Relaxed);
        SetupStats {
            requested: self.requested,
            ok,
            failed: self.failed.load(Ordering::Relaxed),
            wall_secs,
            per_sec: if wall_secs > 0.0 {
                ok as f64 / wall_secs
            } else {
                0.0
            },
            handshake: self
                .handshake
                .lock()
                .map(|h| h.summary())
                .unwrap_or_default(),
            listen_overflows,
        }
    }
}

/// Waits for every task and keeps the results of those that got subscribed. A panicked task is
/// counted, not propagated: one bad connection must not lose the run's figures.
pub async fn join_receivers(
    handles: Vec<JoinHandle<Option<(u32, Received)>>>,
    recorder: &Recorder,
) -> Vec<(u32, Received)> {
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(Some(r)) => out.push(r),
            Ok(None) => {}
            Err(e) => recorder.errors.count("task_failed", e),
        }
    }
    out
}

/// After every send has completed: waits until every expected delivery arrived, or `drain`
/// passes. What is missing by then is counted as lost, so a pause in delivery (a starved server)
/// must not end the wait early: only the deadline does.
pub async fn drain(recorder: &Recorder, drain: Duration) {
    let deadline = Instant::now() + drain;
    while Instant::now() < deadline {
        if recorder.distinct.load(Ordering::Relaxed) >= recorder.expected.load(Ordering::Relaxed) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
