//! Presence, occupancy and subscription counts across nodes, exact: the state lives in Redis,
//! changed only through one Lua script (`presence.lua`), so that a user's first join anywhere
//! and last leave everywhere, and a channel's first and last subscriber, are each seen once.
//!
//! Each node holds its own share: per presence channel the users it has sockets for, per
//! channel its subscription count (reported only when the app wants `subscription_count` events
//! or webhooks). The hubs report changes as [`ClusterOp`]s on one queue; one task per node sends
//! them as pipelines, in order, on one connection, so Redis applies them in the order they
//! happened. The script announces members coming and going (numbered per channel) and counts
//! on the nodes' pub/sub channel, to every node including the caller, and says which webhooks
//! the change makes; the caller sends them. `channel_vacated`/`member_removed` wait in Redis
//! for the webhook delay, so that a return on any node cancels them.
//!
//! Every node beats in a sorted set of Redis's time. A node silent for half of
//! `cluster_node_timeout` is dead: the first survivor to notice removes its share in one script
//! call, which announces the member_removed events and returns the webhooks it owed. A node
//! that finds its own beat gone (Redis lost its data, or it was taken for dead) registers all
//! it holds again. A node shutting down says goodbye: its share goes at once, and its delayed
//! webhooks are left in Redis for the others to send.
//!
//! Redis slow or away: a join waits for it at most [`JOIN_WAIT`]; then the node serves what it
//! knows (see [`crate::hub`]) and keeps going locally. Once Redis answers again the node
//! registers its whole share anew (a diff, with the events and webhooks that makes) and sends
//! the sockets it served without Redis to reconnect, so they get the exact list.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use parley_protocol::ChannelName;
use redis::{aio::ConnectionManager, RedisResult, Value};
use tokio::{
    sync::{mpsc, oneshot, watch, Notify},
    time::{timeout, Instant},
};
use tokio_util::sync::CancellationToken;

use crate::{
    apps::{App, Apps},
    hub::{ClusterOp, JoinAnswer},
    webhooks::WebhookEvent,
};

/// The script every change goes through.
const SCRIPT: &str = include_str!("presence.lua");
/// How long a presence join waits for Redis before the node serves what it knows.
pub(crate) const JOIN_WAIT: Duration = Duration::from_secs(2);
/// How long a call to Redis may take before it counts as failed.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// Most changes in one pipeline.
const BATCH: usize = 256;
/// Pause between attempts to reach Redis again.
const RETRY: Duration = Duration::from_millis(500);
/// How long past its due time a delayed webhook is left to the node that made it, before any
/// node sends it (the maker may be dead).
const SWEEP_GRACE_MS: u64 = 1_000;
/// How often every node looks for such webhooks.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How long a node shutting down waits for its goodbye to reach Redis.
const GOODBYE_WITHIN: Duration = Duration::from_secs(2);

/// The times presence works with.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    /// The delay of `channel_vacated`/`member_removed` webhooks.
    pub(crate) webhook_delay: Duration,
    /// Within how long the survivors remove a dead node's share.
    pub(crate) node_timeout: Duration,
}

/// One operation of a hub, tagged with its app.
pub(crate) type Op = (Arc<str>, ClusterOp);

/// What the presence task is told besides the hubs' operations.
enum Control {
    /// A delayed webhook this node made is due.
    Claim { member: String, due: i64 },
    /// The node is shutting down.
    Goodbye(oneshot::Sender<()>),
}

/// The way to this node's presence task, held by the cluster link.
#[derive(Debug)]
pub(crate) struct Handle {
    control: mpsc::UnboundedSender<Control>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Control")
    }
}

impl Handle {
    /// Removes this node's share from Redis, with the events that makes (the other nodes send
    /// its webhooks), waiting at most a couple of seconds.
    pub(crate) async fn goodbye(&self) {
        let (done, finished) = oneshot::channel();
        if self.control.send(Control::Goodbye(done)).is_ok() {
            let _ = timeout(GOODBYE_WITHIN, finished).await;
        }
    }
}

/// What the presence and heartbeat tasks share.
#[derive(Debug, Default)]
struct Health {
    /// This node's share must be registered anew before anything else goes to Redis.
    resync: AtomicBool,
    wake: Notify,
}

impl Health {
    fn needs_resync(&self) {
        self.resync.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// The script on one connection, for one node.
#[derive(Clone)]
struct Script {
    redis: ConnectionManager,
    sha: String,
    /// The key prefix: the nodes' pub/sub channel.
    prefix: String,
    node: String,
}

impl Script {
    /// A call of `op` (without its own arguments yet).
    fn cmd(&self, op: &str, hooks: &str, counts: &str, delay_ms: u64) -> redis::Cmd {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(&self.sha)
            .arg(0)
            .arg(&self.prefix)
            .arg(&self.node)
            .arg(op)
            .arg(hooks)
            .arg(counts)
            .arg(delay_ms);
        cmd
    }

    async fn load(&mut self) -> RedisResult<()> {
        let sha: String = redis::cmd("SCRIPT")
            .arg("LOAD")
            .arg(SCRIPT)
            .query_async(&mut self.redis)
            .await?;
        debug_assert_eq!(sha, self.sha);
        Ok(())
    }

    /// One call, within [`CALL_TIMEOUT`], loading the script first when Redis lost it.
    async fn call(&mut self, cmd: &redis::Cmd) -> RedisResult<Value> {
        let mut loaded = false;
        loop {
            let answer =
                match timeout(CALL_TIMEOUT, cmd.query_async::<Value>(&mut self.redis)).await {
                    Ok(answer) => answer,
                    Err(_) => return Err(timed_out()),
                };
            match answer {
                Err(error) if error.code() == Some("NOSCRIPT") && !loaded => {
                    self.load().await?;
                    loaded = true;
                }
                answer => return answer,
            }
        }
    }
}

fn timed_out() -> redis::RedisError {
    redis::RedisError::from((redis::ErrorKind::Io, "Redis did not answer in time"))
}

fn sha1_hex(text: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The apps that want webhooks and those that want `subscription_count` events, as the
/// script takes them (newline-separated ids).
fn wanting(apps: &Apps) -> (String, String) {
    let hooks: Vec<&str> = apps
        .iter()
        .filter(|app| app.hub.webhooks().enabled())
        .map(|app| app.config.id.as_str())
        .collect();
    let counts: Vec<&str> = apps
        .iter()
        .filter(|app| app.config.subscription_count_events)
        .map(|app| app.config.id.as_str())
        .collect();
    (hooks.join("\n"), counts.join("\n"))
}

/// Registers node `node` and starts its presence and heartbeat tasks; every app's hub reports
/// to them from now on.
pub(crate) async fn start(
    client: &redis::Client,
    apps: Arc<Apps>,
    subscribed: watch::Receiver<bool>,
    prefix: String,
    node: u64,
    timing: Timing,
    shutdown: CancellationToken,
) -> RedisResult<Handle> {
    let Timing {
        webhook_delay,
        node_timeout,
    } = timing;
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_response_timeout(Some(CALL_TIMEOUT))
        .set_connection_timeout(Some(Duration::from_secs(2)));
    let redis = ConnectionManager::new_with_config(client.clone(), config).await?;
    let mut script = Script {
        redis,
        sha: sha1_hex(SCRIPT),
        prefix,
        node: node.to_string(),
    };
    script.load().await?;
    let (hooks, counts) = wanting(&apps);
    script.call(&script.cmd("beat", &hooks, &counts, 0)).await?;
    let (ops, queued) = mpsc::unbounded_channel();
    let (control, controls) = mpsc::unbounded_channel();
    for app in apps.iter() {
        app.hub.attach_cluster(crate::hub::ClusterHooks {
            app: Arc::from(app.config.id.as_str()),
            ops: ops.clone(),
        });
    }
    drop(ops);
    let health = Arc::new(Health::default());
    let task = Presence {
        script: script.clone(),
        apps: apps.clone(),
        hooks: hooks.clone(),
        counts: counts.clone(),
        delay: webhook_delay,
        health: health.clone(),
        control: control.clone(),
        shutdown: shutdown.clone(),
        served_without_redis: false,
    };
    tokio::spawn(task.run(queued, controls, subscribed.clone()));
    let beats = Heartbeat {
        script,
        apps,
        hooks,
        counts,
        health,
        timeout: node_timeout,
        subscribed,
    };
    tokio::spawn(beats.run(shutdown));
    Ok(Handle { control })
}

/// Sends what the hubs report, in order.
struct Presence {
    script: Script,
    apps: Arc<Apps>,
    hooks: String,
    counts: String,
    delay: Duration,
    health: Arc<Health>,
    control: mpsc::UnboundedSender<Control>,
    /// The server's shutdown. Once cancelled, the webhooks this node decides wait in Redis for
    /// the others to send: its own worker is stopping. The task itself goes on until the
    /// goodbye, for the leaves of the sockets closing meanwhile.
    shutdown: CancellationToken,
    /// Some join was served without Redis; once Redis answers, those sockets reconnect.
    served_without_redis: bool,
}

impl Presence {
    async fn run(
        mut self,
        mut queued: mpsc::UnboundedReceiver<Op>,
        mut controls: mpsc::UnboundedReceiver<Control>,
        mut subscribed: watch::Receiver<bool>,
    ) {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            if self.health.resync.load(Ordering::Acquire) {
                let resynced = self
                    .resync(&mut queued, &mut controls, &mut subscribed)
                    .await;
                if resynced.is_break() {
                    return;
                }
                continue;
            }
            tokio::select! {
                biased;
                count = queued.recv_many(&mut batch, BATCH) => {
                    if count == 0 {
                        return;
                    }
                    self.send(std::mem::take(&mut batch)).await;
                }
                control = controls.recv() => match control {
                    // Stopping, this node's worker would not send it: a sweep elsewhere will.
                    Some(Control::Claim { .. }) if self.shutting_down() => {}
                    Some(Control::Claim { member, due }) => self.claim(member, due).await,
                    Some(Control::Goodbye(done)) => {
                        self.goodbye().await;
                        let _ = done.send(());
                        return;
                    }
                    None => return,
                },
                _ = self.health.wake.notified() => {}
            }
        }
    }

    /// The webhook delay the script applies: at least a millisecond once shutting down, so
    /// that what this node would send is left for the others.
    fn delay_ms(&self) -> u64 {
        let delay = self.delay.as_millis() as u64;
        if self.shutting_down() {
            delay.max(1)
        } else {
            delay
        }
    }

    fn shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    fn app(&self, id: &str) -> Option<&Arc<App>> {
        self.apps.by_id(id)
    }

    /// The script call for one hub operation.
    fn cmd(&self, app: &App, op: &ClusterOp) -> redis::Cmd {
        let hooks = if app.hub.webhooks().enabled() {
            app.config.id.as_str()
        } else {
            ""
        };
        let counts = if app.config.subscription_count_events {
            app.config.id.as_str()
        } else {
            ""
        };
        let delay = self.delay_ms();
        match op {
            ClusterOp::Join {
                channel,
                user,
                info,
                ..
            } => {
                let mut cmd = self.script.cmd("join", hooks, counts, delay);
                cmd.arg(&app.config.id)
                    .arg(channel.as_str())
                    .arg(user)
                    .arg(info.as_ref().map_or("", |i| i.get()))
                    .arg(app.config.max_presence_members);
                cmd
            }
            ClusterOp::Leave { channel, user } => {
                let mut cmd = self.script.cmd("leave", hooks, counts, delay);
                cmd.arg(&app.config.id).arg(channel.as_str()).arg(user);
                cmd
            }
            ClusterOp::Count { channel, count } => {
                let mut cmd = self.script.cmd("count", hooks, counts, delay);
                cmd.arg(&app.config.id).arg(channel.as_str()).arg(*count);
                cmd
            }
        }
    }

    /// Sends one batch as a pipeline and applies the answers in order. Joins in it are served
    /// locally if Redis takes longer than [`JOIN_WAIT`].
    async fn send(&mut self, ops: Vec<Op>) {
        let mut pipe = redis::pipe();
        pipe.ignore_errors();
        let mut sent = Vec::with_capacity(ops.len());
        for (app_id, op) in ops {
            let Some(app) = self.app(&app_id).cloned() else {
                continue;
            };
            pipe.add_command(self.cmd(&app, &op));
            sent.push((app, op));
        }
        if sent.is_empty() {
            return;
        }
        let has_joins = sent
            .iter()
            .any(|(_, op)| matches!(op, ClusterOp::Join { .. }));
        let mut redis = self.script.redis.clone();
        let query = pipe.query_async::<Vec<Value>>(&mut redis);
        tokio::pin!(query);
        let started = Instant::now();
        let mut answers = None;
        if has_joins {
            if let Ok(answer) = timeout(JOIN_WAIT, &mut query).await {
                answers = Some(answer);
            } else {
                tracing::warn!("Redis is slow: presence joins served with what this node knows");
                for (app, op) in &sent {
                    if let ClusterOp::Join { .. } = op {
                        fall_back(app, op);
                    }
                }
                self.served_without_redis = true;
            }
        }
        let answers = match answers {
            Some(answers) => answers,
            None => timeout(CALL_TIMEOUT.saturating_sub(started.elapsed()), query)
                .await
                .unwrap_or_else(|_| Err(timed_out())),
        };
        match answers {
            Ok(values) if values.len() == sent.len() => {
                for ((app, op), value) in sent.iter().zip(values) {
                    if let Value::ServerError(error) = &value {
                        tracing::warn!(error = %error.details().unwrap_or(error.code()), "cluster presence update failed");
                        fall_back(app, op);
                        self.served_without_redis = true;
                        self.health.needs_resync();
                        continue;
                    }
                    self.answered(app, op, value);
                }
            }
            Ok(_) | Err(_) => {
                if let Err(error) = &answers {
                    tracing::warn!(%error, "cluster presence update failed; serving locally until Redis answers");
                }
                for (app, op) in &sent {
                    fall_back(app, op);
                }
                self.served_without_redis = true;
                self.health.needs_resync();
            }
        }
        if self.served_without_redis && !self.health.resync.load(Ordering::Acquire) {
            self.reconcile();
        }
    }

    /// Applies the script's answer to one operation.
    fn answered(&self, app: &Arc<App>, op: &ClusterOp, value: Value) {
        let items = array(value);
        match op {
            ClusterOp::Join {
                channel,
                user,
                generation,
                ..
            } => {
                let mut items = items.into_iter();
                let status = items.next().and_then(text);
                if status.as_deref() == Some("full") {
                    app.hub
                        .cluster_joined(channel, user, *generation, JoinAnswer::Full);
                    return;
                }
                let version = items.next().and_then(int).unwrap_or(0).max(0) as u64;
                let members = pairs(items.next().map(array).unwrap_or_default());
                app.hub.cluster_joined(
                    channel,
                    user,
                    *generation,
                    JoinAnswer::Joined { version, members },
                );
                self.webhooks(items.next(), items.next());
            }
            ClusterOp::Leave { .. } | ClusterOp::Count { .. } => {
                let mut items = items.into_iter().skip(1);
                self.webhooks(items.next(), items.next());
            }
        }
    }

    /// Sends the webhooks a script call says to send now, and claims the delayed ones when due.
    fn webhooks(&self, now: Option<Value>, later: Option<Value>) {
        emit_all(&self.apps, now.map(array).unwrap_or_default());
        for pair in later.map(array).unwrap_or_default() {
            let mut pair = array(pair).into_iter();
            let (Some(member), Some(due)) = (pair.next().and_then(text), pair.next().and_then(int))
            else {
                continue;
            };
            let control = self.control.clone();
            let delay = self.delay;
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = control.send(Control::Claim { member, due });
            });
        }
    }

    async fn claim(&mut self, member: String, due: i64) {
        let mut cmd = self.script.cmd("claim", "", "", 0);
        cmd.arg(&member).arg(due);
        match self.script.call(&cmd).await {
            Ok(Value::Int(1)) => emit(&self.apps, &member),
            Ok(_) => {} // Cancelled by a return, or sent by another node.
            // Left in Redis: a node's sweep sends it.
            Err(error) => tracing::warn!(%error, "cannot claim a delayed webhook"),
        }
    }

    /// Sends the sockets served without Redis to reconnect, now that Redis answers.
    fn reconcile(&mut self) {
        self.served_without_redis = false;
        let closed: usize = self.apps.iter().map(|app| app.hub.reconcile()).sum();
        if closed > 0 {
            tracing::info!(
                sockets = closed,
                "Redis answers again: presence sockets served without it sent to reconnect"
            );
        }
    }

    /// Registers this node's whole share again, once Redis answers (and, when the nodes'
    /// subscription was lost, once it is made again: its resync and this go together, one
    /// reconnect for the sockets); meanwhile whatever the hubs report is served locally. Breaks
    /// when the node is leaving.
    async fn resync(
        &mut self,
        queued: &mut mpsc::UnboundedReceiver<Op>,
        controls: &mut mpsc::UnboundedReceiver<Control>,
        subscribed: &mut watch::Receiver<bool>,
    ) -> std::ops::ControlFlow<()> {
        loop {
            self.health.resync.store(false, Ordering::Release);
            self.drop_queued(queued);
            if !*subscribed.borrow_and_update() {
                self.health.resync.store(true, Ordering::Release);
            } else {
                match self.sync().await {
                    Ok(()) => {
                        tracing::info!(
                            "this node's presence and subscriptions registered in Redis again"
                        );
                        self.reconcile();
                        return std::ops::ControlFlow::Continue(());
                    }
                    Err(error) => {
                        self.health.resync.store(true, Ordering::Release);
                        tracing::warn!(%error, "cannot register this node's presence in Redis yet");
                    }
                }
            }
            let retry = tokio::time::sleep(RETRY);
            tokio::pin!(retry);
            loop {
                tokio::select! {
                    _ = &mut retry => break,
                    changed = subscribed.changed() => {
                        if changed.is_err() {
                            return std::ops::ControlFlow::Break(());
                        }
                        if *subscribed.borrow() {
                            break;
                        }
                    }
                    op = queued.recv() => match op {
                        Some(op) => self.drop_op(op),
                        None => return std::ops::ControlFlow::Break(()),
                    },
                    control = controls.recv() => match control {
                        // Left in Redis for a sweep.
                        Some(Control::Claim { .. }) => {}
                        Some(Control::Goodbye(done)) => {
                            self.goodbye().await;
                            let _ = done.send(());
                            return std::ops::ControlFlow::Break(());
                        }
                        None => return std::ops::ControlFlow::Break(()),
                    },
                }
            }
        }
    }

    fn drop_queued(&mut self, queued: &mut mpsc::UnboundedReceiver<Op>) {
        while let Ok(op) = queued.try_recv() {
            self.drop_op(op);
        }
    }

    /// An operation that cannot go to Redis in order: served locally; the next sync puts Redis
    /// right.
    fn drop_op(&mut self, (app_id, op): Op) {
        if let Some(app) = self.app(&app_id) {
            fall_back(app, &op);
            self.served_without_redis = true;
        }
    }

    /// Replaces what Redis says this node holds with what it holds.
    async fn sync(&mut self) -> RedisResult<()> {
        self.script.load().await?;
        let mut members = Vec::new();
        let mut counts = Vec::new();
        for app in self.apps.iter() {
            let share = app.hub.cluster_share();
            for (channel, user, info) in share.members {
                members.push([app.config.id.clone(), channel, user, info]);
            }
            for (channel, count) in share.counts {
                counts.push((app.config.id.clone(), channel, count));
            }
        }
        let mut cmd = self
            .script
            .cmd("sync", &self.hooks, &self.counts, self.delay_ms());
        cmd.arg(members.len());
        for member in &members {
            cmd.arg(member.as_slice());
        }
        for (app, channel, count) in &counts {
            cmd.arg(app).arg(channel).arg(*count);
        }
        let answer = self.script.call(&cmd).await?;
        let mut items = array(answer).into_iter().skip(1);
        self.webhooks(items.next(), items.next());
        Ok(())
    }

    async fn goodbye(&mut self) {
        let cmd = self
            .script
            .cmd("goodbye", &self.hooks, &self.counts, self.delay_ms());
        match self.script.call(&cmd).await {
            Ok(answer) => {
                // With a delay of at least 1 ms, every webhook is left for the other nodes.
                let mut items = array(answer).into_iter().skip(1);
                emit_all(&self.apps, items.next().map(array).unwrap_or_default());
            }
            Err(error) => tracing::warn!(
                %error,
                "cannot leave the cluster's presence; the other nodes will once this node's beat is old"
            ),
        }
    }
}

/// What a hub's operation becomes when Redis cannot take it in order.
fn fall_back(app: &App, op: &ClusterOp) {
    match op {
        ClusterOp::Join {
            channel,
            user,
            generation,
            ..
        } => app
            .hub
            .cluster_joined(channel, user, *generation, JoinAnswer::Fallback),
        ClusterOp::Leave { channel, user } => app.hub.cluster_left_fallback(channel, user),
        ClusterOp::Count { channel, .. } => app.hub.cluster_count_fallback(channel),
    }
}

/// Beats, reaps dead nodes, and sends overdue delayed webhooks.
struct Heartbeat {
    script: Script,
    apps: Arc<Apps>,
    hooks: String,
    counts: String,
    health: Arc<Health>,
    timeout: Duration,
    /// Whether the nodes' subscription is live; changed since the last beat means it was lost
    /// (and its resync sends every socket to reconnect anyway).
    subscribed: watch::Receiver<bool>,
}

impl Heartbeat {
    async fn run(mut self, shutdown: CancellationToken) {
        let beat_every = self.timeout / 6;
        let dead_after = self.timeout / 2;
        let tick = beat_every.min(SWEEP_EVERY);
        let sweeping = !self.hooks.is_empty();
        let mut ticks = tokio::time::interval(tick);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut next_beat = Instant::now() + beat_every;
        let mut next_sweep = Instant::now();
        // Reaping others needs this node's own beats to have gone through for as long as a
        // dead node's silence: after an outage, every node's beat is old until it beats again.
        let mut healthy_since = Some(Instant::now());
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let now = Instant::now();
            if now >= next_beat {
                next_beat = now + beat_every;
                let beaten = self.beat(beat_every).await;
                if beaten.is_ok() {
                    self.subscribed.borrow_and_update();
                }
                match beaten {
                    Ok(true) => {
                        healthy_since.get_or_insert(now);
                    }
                    Ok(false) => {
                        tracing::warn!("this node's cluster state was lost (Redis restarted or flushed, or the node was taken for dead); registering it again");
                        // Its sockets' lists may be stale (a flushed Redis numbers lists
                        // afresh): they reconnect after the sync, unless the subscription's
                        // resync sends them already.
                        if !self.subscribed.has_changed().unwrap_or(true) {
                            for app in self.apps.iter() {
                                app.hub.mark_all_degraded();
                            }
                        }
                        self.health.needs_resync();
                        healthy_since = Some(now);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cluster heartbeat failed");
                        healthy_since = None;
                    }
                }
                if healthy_since.is_some_and(|since| now.duration_since(since) >= dead_after) {
                    self.reap(dead_after).await;
                }
            }
            if sweeping && now >= next_sweep {
                next_sweep = now + SWEEP_EVERY;
                self.sweep().await;
            }
        }
    }

    async fn beat(&mut self, within: Duration) -> RedisResult<bool> {
        let cmd = self.script.cmd("beat", &self.hooks, &self.counts, 0);
        let answer = timeout(
            within.max(Duration::from_millis(100)),
            self.script.call(&cmd),
        )
        .await
        .unwrap_or_else(|_| Err(timed_out()))?;
        Ok(matches!(answer, Value::Int(1)))
    }

    async fn reap(&mut self, dead_after: Duration) {
        let mut cmd = self.script.cmd("reap", &self.hooks, &self.counts, 0);
        cmd.arg(dead_after.as_millis() as u64);
        match self.script.call(&cmd).await {
            Ok(answer) => {
                let mut items = array(answer).into_iter();
                let reaped: Vec<String> = items
                    .next()
                    .map(array)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(text)
                    .collect();
                if !reaped.is_empty() {
                    tracing::warn!(
                        nodes = ?reaped,
                        "nodes silent too long: their presence members and subscriptions removed"
                    );
                }
                emit_all(&self.apps, items.next().map(array).unwrap_or_default());
            }
            Err(error) => tracing::warn!(%error, "cannot look for dead nodes"),
        }
    }

    async fn sweep(&mut self) {
        let mut cmd = self.script.cmd("sweep", &self.hooks, &self.counts, 0);
        cmd.arg(SWEEP_GRACE_MS);
        match self.script.call(&cmd).await {
            Ok(answer) => emit_all(&self.apps, array(answer)),
            Err(error) => tracing::debug!(%error, "cannot sweep delayed webhooks"),
        }
    }
}

fn emit_all(apps: &Apps, hooks: Vec<Value>) {
    for member in hooks.into_iter().filter_map(text) {
        emit(apps, &member);
    }
}

/// Sends the webhook the script wrote as `kind "\n" app "\n" channel ["\n" user]`.
fn emit(apps: &Apps, member: &str) {
    let mut parts = member.splitn(4, '\n');
    let (Some(kind), Some(app), Some(channel)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let user = parts.next().map(str::to_string);
    let name = match kind {
        "a" => "member_added",
        "r" => "member_removed",
        "o" => "channel_occupied",
        "v" => "channel_vacated",
        _ => return,
    };
    if let Some(app) = apps.by_id(app) {
        if ChannelName::parse(channel, usize::MAX).is_ok() {
            app.hub
                .webhooks()
                .emit_decided(WebhookEvent::named(name, channel.to_string(), user));
        }
    }
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) | Value::Set(items) => items,
        _ => Vec::new(),
    }
}

fn text(value: Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes).ok(),
        Value::SimpleString(text) => Some(text),
        Value::Okay => Some("OK".into()),
        _ => None,
    }
}

fn int(value: Value) -> Option<i64> {
    match value {
        Value::Int(n) => Some(n),
        Value::BulkString(bytes) => std::str::from_utf8(&bytes).ok()?.parse().ok(),
        _ => None,
    }
}

/// `[k1, v1, k2, v2, …]` as pairs.
fn pairs(flat: Vec<Value>) -> Vec<(String, String)> {
    let mut flat = flat.into_iter();
    let mut out = Vec::new();
    while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
        if let (Some(key), Some(value)) = (text(key), text(value)) {
            out.push((key, value));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_hash_is_redis_s_sha1() {
        assert_eq!(
            sha1_hex("return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }
}
