//! Scale-out: what one node delivers reaches the sockets of every node. The nodes share one
//! Redis pub/sub channel; each message names the node that sent it, so a node ignores its own
//! echo (it delivered locally already). No home-made cluster protocol: Redis does the fan-out
//! between nodes, each node does its own to its sockets.
//!
//! Redis is never on a publish's path: delivering queues the message and returns, and one task
//! per node sends whatever queued up meanwhile as one pipeline. If Redis is slow or away, the
//! queue fills, and what does not fit is dropped and counted (`parley_cluster_dropped_total`):
//! local sockets are never held up by other nodes.
//!
//! Redis pub/sub delivers at most once, so a node that may have missed other nodes' events (its
//! subscription was re-made) or that could not send its own (a publish failed, or the queue
//! overflowed) makes the affected sockets catch up: it closes its own subscribed sockets, or
//! tells the other nodes to close theirs once Redis takes a publish again, with 4200. pusher-js
//! reconnects at once, resubscribes, and the app gap-fills from its store (the widget and the
//! dashboard do on every subscription), so a Redis restart loses nothing a client shows.
//!
//! What crosses nodes: channel events (HTTP API publishes, client events, server-to-user
//! events), `terminate_connections`, closing a channel's sockets or sockets by id, and the HTTP
//! API's channel and connection queries ([`survey`]: each node answers for its own sockets).
//!
//! Presence and occupancy are the cluster's, exact ([`presence`]): the member list a subscriber
//! gets on any node holds every node's members; `member_added`/`member_removed` go out once
//! cluster-wide, when a user's first socket anywhere joins and after their last socket
//! everywhere left; `subscription_count` events and the `channel_occupied`/`channel_vacated`/
//! `member_added`/`member_removed` webhooks go out once for the cluster; the member limit is
//! the cluster's. Redis holds each node's share, changed atomically by one Lua script; a node
//! that dies without a goodbye is removed by the survivors within `cluster_node_timeout`. What
//! stays per node: `cache_miss` webhooks and each node's cache channels' last events.
//!
//! This file joins a cluster and applies what the other nodes send. The way out that every app
//! holds, [`link::ClusterLink`], and the messages on it live in [`link`], which knows nothing of
//! apps: [`crate::apps`] depends on `link`, this module on both, and nothing back.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use parley_protocol::{ChannelName, ErrorCode, SocketId};
use redis::aio::ConnectionManager;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::{
    apps::{App, Apps},
    hub::{MemberEvent, Source},
};

pub(crate) mod link;
mod presence;
mod survey;

pub use link::{ChannelStat, Scope};
use link::{ClusterLink, ClusterSlot, Message, What};
pub use survey::survey;

/// Messages waiting for the sender task; beyond this they are dropped (and counted).
const QUEUE: usize = 65_536;
/// Most messages in one pipeline.
const PIPELINE: usize = 512;
/// How long joining waits for Redis to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause before resubscribing after the subscription connection failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);
/// Pause between attempts to tell the other nodes to resync while Redis refuses publishes.
const RESYNC_RETRY: Duration = Duration::from_millis(500);
/// What a socket closed for a resync is told.
const RESYNC_REASON: &str = "Events may have been missed between nodes; reconnect and catch up";

/// Why joining a cluster failed.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The URL is not a Redis URL.
    #[error("invalid REDIS_URL: {0}")]
    BadUrl(#[source] redis::RedisError),
    /// Redis did not answer.
    #[error("cannot reach Redis: {0}")]
    Unreachable(#[source] redis::RedisError),
    /// The server is in a cluster already.
    #[error("this server has joined a cluster already")]
    AlreadyJoined,
}

/// Tells the other nodes, if there are any, that `frame` went to `channel`'s subscribers here.
pub fn forward_frame(
    app: &App,
    channel: &ChannelName,
    frame: &Bytes,
    except: Option<SocketId>,
    source: Source,
) {
    if let Some(link) = app.cluster.get() {
        link.send(
            &app.config.id,
            What::Frame {
                channel: channel.as_str().to_string(),
                frame: String::from_utf8_lossy(frame).into_owned(),
                except: except.map(|s| s.to_string()),
                client: source == Source::Client,
            },
        );
    }
}

/// Tells the other nodes to close `user_id`'s sockets.
pub fn forward_terminate(app: &App, user_id: &str) {
    if let Some(link) = app.cluster.get() {
        link.send(
            &app.config.id,
            What::Terminate {
                user: user_id.to_string(),
            },
        );
    }
}

/// Tells the other nodes to close the sockets on `channel`.
pub fn forward_close_channel(app: &App, channel: &ChannelName, reason: &str) {
    if let Some(link) = app.cluster.get() {
        link.send(
            &app.config.id,
            What::CloseChannel {
                channel: channel.as_str().to_string(),
                reason: reason.to_string(),
            },
        );
    }
}

/// Tells the other nodes to close the sockets with these ids (none: nothing is sent), for good
/// or, with `reconnect`, so that they reconnect at once.
pub fn forward_close_sockets(app: &App, sockets: &[SocketId], reason: &str, reconnect: bool) {
    if sockets.is_empty() {
        return;
    }
    if let Some(link) = app.cluster.get() {
        link.send(
            &app.config.id,
            What::CloseSockets {
                sockets: sockets.iter().map(SocketId::to_string).collect(),
                reason: reason.to_string(),
                reconnect,
            },
        );
    }
}

/// What joining needs besides the apps and where to meet.
pub(crate) struct JoinSettings {
    /// Counts messages the other nodes could not be sent.
    pub(crate) dropped: prometheus_client::metrics::counter::Counter,
    /// The delay of `channel_vacated`/`member_removed` webhooks.
    pub(crate) webhook_delay: Duration,
    /// Within how long the survivors remove a dead node's share.
    pub(crate) node_timeout: Duration,
    /// The server's shutdown.
    pub(crate) shutdown: CancellationToken,
}

/// Connects this node to the others through Redis at `url`, on the pub/sub channel `channel`
/// (also the prefix of the keys that hold the cluster's presence). Returns once the
/// subscription is live, so that nothing published after it is missed.
pub(crate) async fn join(
    apps: Arc<Apps>,
    slot: &ClusterSlot,
    url: &str,
    channel: String,
    settings: JoinSettings,
) -> Result<(), ClusterError> {
    let JoinSettings {
        dropped,
        webhook_delay,
        node_timeout,
        shutdown,
    } = settings;
    let client = redis::Client::open(url).map_err(ClusterError::BadUrl)?;
    // One plain attempt first, so that a wrong address fails at once with its own error rather
    // than after the connection manager's retries.
    let check = async {
        let mut connection = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<()>(&mut connection).await
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, check).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(ClusterError::Unreachable(error)),
        Err(_) => {
            return Err(ClusterError::Unreachable(redis::RedisError::from((
                redis::ErrorKind::Io,
                "no answer within 5 s",
            ))))
        }
    }
    let publisher = ConnectionManager::new(client.clone())
        .await
        .map_err(ClusterError::Unreachable)?;
    let node = rand_node_id();
    let (queue, pending) = mpsc::channel(QUEUE);
    let (live_tx, mut live) = watch::channel(false);
    let receiving = shutdown.child_token();
    tokio::spawn(receive_loop(
        client.clone(),
        channel.clone(),
        node,
        apps.clone(),
        live_tx,
        receiving.clone(),
    ));
    // The first subscription must succeed before joining counts as done; if it does not in
    // time, the receive task is stopped with the child token and start-up fails.
    let subscribed = async {
        while !*live.borrow_and_update() {
            if live.changed().await.is_err() {
                return false;
            }
        }
        true
    };
    if !matches!(
        tokio::time::timeout(CONNECT_TIMEOUT, subscribed).await,
        Ok(true)
    ) {
        receiving.cancel();
        return Err(ClusterError::Unreachable(redis::RedisError::from((
            redis::ErrorKind::Io,
            "could not subscribe to the cluster channel within 5 s",
        ))));
    }
    let presence = match presence::start(
        &client,
        apps,
        live.clone(),
        channel.clone(),
        node,
        presence::Timing {
            webhook_delay,
            node_timeout,
        },
        shutdown.clone(),
    )
    .await
    {
        Ok(presence) => presence,
        Err(error) => {
            receiving.cancel();
            return Err(ClusterError::Unreachable(error));
        }
    };
    let lost = Arc::new(AtomicBool::new(false));
    tokio::spawn(send_loop(
        publisher.clone(),
        channel.clone(),
        node,
        pending,
        lost.clone(),
        shutdown,
    ));
    // A second join is refused by the caller; this cannot be set twice.
    let _ = slot.set(ClusterLink::new(
        node, queue, dropped, lost, channel, publisher, presence,
    ));
    Ok(())
}

/// Takes this node out of the cluster's presence (the server stopped serving): its members and
/// subscriptions go at once, and the other nodes send the webhooks that makes.
pub(crate) async fn leave(slot: &ClusterSlot) {
    if let Some(link) = slot.get() {
        link.goodbye().await;
    }
}

/// Sends what queued up, as one pipeline per wake-up, in order. After anything was lost (a
/// failed publish, an overflowing queue) it owes the other nodes a resync, sent after the next
/// messages or, with none coming, retried on its own until Redis takes it.
async fn send_loop(
    mut publisher: ConnectionManager,
    channel: String,
    node: u64,
    mut pending: mpsc::Receiver<String>,
    lost: Arc<AtomicBool>,
    shutdown: CancellationToken,
) {
    let resync = serde_json::to_string(&Message {
        node,
        app: String::new(),
        what: What::Resync,
    })
    .expect("cluster messages serialise");
    let mut batch = Vec::with_capacity(PIPELINE);
    loop {
        let owed = lost.load(Ordering::Acquire);
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            count = pending.recv_many(&mut batch, PIPELINE) => Some(count),
            _ = tokio::time::sleep(RESYNC_RETRY), if owed => None,
        };
        if received == Some(0) {
            return;
        }
        let mut pipe = redis::pipe();
        for message in batch.drain(..) {
            pipe.publish(&channel, message).ignore();
        }
        // Taken before sending: a loss while this pipeline is in flight owes another resync.
        if lost.swap(false, Ordering::AcqRel) {
            pipe.publish(&channel, &resync).ignore();
        }
        if let Err(error) = pipe.query_async::<()>(&mut publisher).await {
            // The connection manager reconnects by itself; the other nodes may have missed
            // these messages, so they are told to resync once a publish goes through.
            tracing::warn!(%error, "cluster publish failed");
            lost.store(true, Ordering::Release);
        }
    }
}

/// Closes every socket of `app` that could have missed something (subscribed to a channel or
/// signed in as a user) with 4200: its client reconnects at once and catches up what this node
/// may not have delivered.
fn resync_sockets(app: &App) -> usize {
    let outboxes = app.hub.reachable_outboxes();
    for outbox in &outboxes {
        outbox.close(ErrorCode::Reconnect, RESYNC_REASON);
    }
    // Member events may have been missed too: whoever subscribes next gets a fresh list.
    app.hub.forget_cluster_lists();
    outboxes.len()
}

fn resync_all(apps: &Apps, why: &str) {
    let closed: usize = apps.iter().map(|app| resync_sockets(app)).sum();
    tracing::warn!(
        sockets = closed,
        "{why}: subscribed sockets closed to catch up"
    );
}

/// Subscribes (again after any failure) and applies other nodes' messages to this node.
async fn receive_loop(
    client: redis::Client,
    channel: String,
    node: u64,
    apps: Arc<Apps>,
    live: watch::Sender<bool>,
    shutdown: CancellationToken,
) {
    use futures_util::StreamExt;
    let mut first = true;
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            _ = shutdown.cancelled() => return,
            subscribed = subscribed => subscribed,
        };
        match pubsub {
            Ok(pubsub) => {
                // Whatever the other nodes published while this node was not subscribed is
                // lost to its sockets; only now, with the subscription live again, can they
                // catch up without missing anything newer.
                if !std::mem::replace(&mut first, false) {
                    resync_all(&apps, "cluster subscription re-made");
                }
                // After the resync: the presence task, which waits for this, then registers
                // the node's share again in the same wave.
                live.send_replace(true);
                let mut messages = pubsub.into_on_message();
                loop {
                    let message = tokio::select! {
                        _ = shutdown.cancelled() => return,
                        message = messages.next() => message,
                    };
                    let Some(message) = message else { break };
                    match message.get_payload::<String>() {
                        Ok(text) => apply(&apps, node, &text),
                        Err(error) => tracing::warn!(%error, "unreadable cluster message"),
                    }
                }
                tracing::warn!("cluster subscription lost; resubscribing");
                live.send_replace(false);
            }
            Err(error) => tracing::warn!(%error, "cannot subscribe to the cluster channel"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RESUBSCRIBE_AFTER) => {}
        }
    }
}

/// Applies one message from another node; its own, and anything unreadable, are ignored.
fn apply(apps: &Apps, node: u64, text: &str) {
    let message: Message = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "unreadable cluster message");
            return;
        }
    };
    // The cluster's own announcements (from Redis's script) say node 0 and go to every node.
    if message.node == node {
        return;
    }
    if message.what == What::Resync {
        resync_all(apps, "another node lost cluster messages");
        return;
    }
    let Some(app) = apps.by_id(&message.app) else {
        return;
    };
    let channel = |name: &str| ChannelName::parse(name, usize::MAX).ok();
    let link = app.cluster.get();
    match message.what {
        What::Frame {
            channel: name,
            frame,
            except,
            client,
        } => {
            if let Some(channel) = channel(&name) {
                let except = except.as_deref().and_then(SocketId::parse);
                let source = if client {
                    Source::Client
                } else {
                    Source::Server
                };
                app.hub
                    .publish(&channel, &Bytes::from(frame), except, source);
            }
        }
        What::Terminate { user } => {
            for outbox in app.hub.signed_in_outboxes(&user) {
                outbox.close(ErrorCode::Unauthorized, "You got disconnected by the app.");
            }
        }
        What::CloseChannel {
            channel: name,
            reason,
        } => {
            if let Some(channel) = channel(&name) {
                for outbox in app.hub.subscriber_outboxes(&channel) {
                    outbox.close(ErrorCode::Unauthorized, reason.clone());
                }
            }
        }
        What::CloseSockets {
            sockets,
            reason,
            reconnect,
        } => {
            let ids: Vec<SocketId> = sockets
                .iter()
                .filter_map(|id| SocketId::parse(id))
                .collect();
            let code = if reconnect {
                ErrorCode::Reconnect
            } else {
                ErrorCode::Unauthorized
            };
            for (_, outbox) in app.outboxes_of(&ids) {
                outbox.close(code, reason.clone());
            }
        }
        What::Query { id, scope } => {
            if let Some(link) = link {
                let survey = survey::local(app, &scope);
                link.send(
                    &app.config.id,
                    What::Answer {
                        id,
                        to: message.node,
                        survey,
                    },
                );
            }
        }
        What::Answer { id, to, survey } => {
            if let (Some(link), true) = (link, to == node) {
                link.answered(id, survey);
            }
        }
        What::Member {
            channel: name,
            user,
            info,
            added,
            version,
        } => {
            if let Some(channel) = channel(&name) {
                let info = info.and_then(|info| RawValue::from_string(info).ok());
                app.hub.member_event(
                    &channel,
                    MemberEvent {
                        added,
                        user,
                        info,
                        version,
                    },
                );
            }
        }
        What::Count {
            channel: name,
            count,
        } => {
            if let Some(channel) = channel(&name) {
                app.hub.count_event(&channel, count as usize);
            }
        }
        What::Resync => {}
    }
}

/// A node id, unique enough among a cluster's nodes: from the clock and the process. Never 0,
/// which marks the cluster's own announcements.
fn rand_node_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_differ() {
        assert_ne!(rand_node_id(), rand_node_id());
    }
}
