//! One app's live state: who is subscribed to which channel, presence members, signed-in users
//! and their watchers, and the last event of each cache channel.
//!
//! Every change that others must hear about (a member joining, a user coming online) is queued
//! to the affected outboxes while the lock that made the change is still held, so each client
//! sees events in the order the state changed: a new subscriber gets `subscription_succeeded`
//! before any event published after it joined, and a member list is never contradicted by a
//! `member_added` that was computed against an older list.
//!
//! In a cluster ([`clustered`]) presence is the cluster's: a presence subscriber waits for the
//! member list Redis holds for every node (frames published meanwhile wait with it and follow
//! its `subscription_succeeded`), and member events come back from Redis numbered, in the order
//! Redis applied the joins and leaves; a subscriber gets those newer than its list. The same
//! two guarantees hold across nodes that way.

use std::{
    collections::HashMap,
    sync::{atomic::AtomicU64, Arc, Mutex, OnceLock, RwLock},
    time::{Duration, Instant},
};

use bytes::Bytes;
use indexmap::IndexMap;
use parley_protocol::{
    frame::{self, PresenceSnapshot, WatchlistChange},
    ChannelName, SocketId,
};
use serde_json::value::RawValue;

use crate::{
    outbox::Outbox,
    webhooks::{WebhookEvent, Webhooks},
    websocket::frame::text as ws_text,
};

mod clustered;

pub(crate) use clustered::{ClusterHooks, ClusterOp, JoinAnswer, MemberEvent};

/// A presence member as a subscriber declares it.
#[derive(Debug, Clone)]
pub struct MemberInfo {
    /// The user id, as a string.
    pub user_id: String,
    /// What other members see about this user.
    pub user_info: Option<Box<RawValue>>,
}

#[derive(Debug)]
struct Subscriber {
    outbox: Arc<Outbox>,
    /// The presence user this socket joined as.
    user_id: Option<String>,
    /// Cluster presence: the version of the member list this socket was given; member events up
    /// to it are in that list already.
    seen: u64,
    /// Cluster presence: set while the socket waits for the cluster's member list. What is
    /// published to the channel meanwhile waits here, to follow its `subscription_succeeded`.
    waiting: Option<Box<Mutex<Vec<Bytes>>>>,
}

impl Subscriber {
    fn new(outbox: Arc<Outbox>, user_id: Option<String>) -> Self {
        Self {
            outbox,
            user_id,
            seen: 0,
            waiting: None,
        }
    }
}

#[derive(Debug)]
struct Member {
    info: Option<Box<RawValue>>,
    /// How many of this user's sockets are in the channel; the member leaves at zero.
    sockets: usize,
    /// Cluster: which join of this user on this node this is (one who leaves and comes back
    /// joins anew), and whether Redis answered it or the node stopped waiting for it.
    generation: u64,
    answered: bool,
}

#[derive(Debug, Default)]
struct Channel {
    subscribers: IndexMap<SocketId, Subscriber>,
    /// This node's members (in a cluster too: the cluster's list is in `cluster`).
    members: HashMap<String, Member>,
    /// Cluster presence channels: the cluster's member list and who waits for it.
    cluster: Option<Box<clustered::ClusterPresence>>,
}

#[derive(Debug, Default)]
struct Users {
    /// Signed-in sockets per user id.
    sockets: HashMap<String, HashMap<SocketId, Arc<Outbox>>>,
    /// For each watched user, the sockets watching them.
    watchers: HashMap<String, HashMap<SocketId, Arc<Outbox>>>,
}

/// Where an event came from. Only the server's own events (HTTP API, in-process publishes) fill
/// a cache channel: Pusher's cache channels page says client events are not cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Published by the app's server.
    Server,
    /// A `client-` event relayed from a subscriber.
    Client,
}

/// What a cache channel holds.
#[derive(Debug)]
enum Cached {
    /// The last event the server published (its Pusher frame's JSON), until it expires.
    Event { frame: Bytes, expires: Instant },
    /// Empty, and a `cache_miss` webhook went out since it became empty: Pusher sends one for
    /// however many clients find the channel empty, not one each. Forgotten when the channel is
    /// vacated or filled.
    MissReported,
}

/// Why a subscription was refused by the hub (after authorisation passed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscribeRefusal {
    /// The presence channel already has as many members as the app allows.
    TooManyMembers,
}

/// Counts for the HTTP API's channel info.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChannelCounts {
    /// Sockets subscribed.
    pub subscriptions: usize,
}

/// One app's subscriptions, members, users and cache.
#[derive(Debug)]
pub struct Hub {
    // A std `RwLock`: publishes (the hot path) only read, and no lock is held across an
    // `.await`; subscription changes write briefly.
    channels: RwLock<HashMap<ChannelName, Channel>>,
    users: Mutex<Users>,
    cache: Mutex<HashMap<ChannelName, Cached>>,
    cache_ttl: Duration,
    max_members: usize,
    subscription_count_events: bool,
    webhooks: Webhooks,
    /// Set once the server joins a cluster; single-node hubs never look further than this.
    cluster: OnceLock<ClusterHooks>,
    /// Numbers this node's joins of a presence user (see [`Member`]).
    generations: AtomicU64,
}

impl Hub {
    /// An empty hub whose lifecycle events go to `webhooks`.
    pub fn new(
        cache_ttl: Duration,
        max_members: usize,
        subscription_count_events: bool,
        webhooks: Webhooks,
    ) -> Self {
        Self {
            channels: RwLock::default(),
            users: Mutex::default(),
            cache: Mutex::default(),
            cache_ttl,
            max_members,
            subscription_count_events,
            webhooks,
            cluster: OnceLock::new(),
            generations: AtomicU64::new(0),
        }
    }

    /// Adds `socket` to `channel` and queues `subscription_succeeded` to it, plus, for cache
    /// channels, the cached event or `pusher:cache_miss`. Subscribing twice is harmless: the
    /// client gets `subscription_succeeded` again and nothing is counted twice.
    pub fn subscribe(
        &self,
        channel: &ChannelName,
        socket: SocketId,
        outbox: &Arc<Outbox>,
        member: Option<MemberInfo>,
    ) -> Result<(), SubscribeRefusal> {
        if let Some(cluster) = self.cluster.get() {
            return self.subscribe_clustered(cluster, channel, socket, outbox, member);
        }
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let occupied_now = !channels.contains_key(channel);
        let entry = channels.entry(channel.clone()).or_default();
        if let Some(member) = &member {
            let joining = !entry.members.contains_key(&member.user_id);
            let already_here = entry.subscribers.contains_key(&socket);
            if joining && !already_here && entry.members.len() >= self.max_members {
                if occupied_now {
                    channels.remove(channel);
                }
                return Err(SubscribeRefusal::TooManyMembers);
            }
        }
        let fresh = !entry.subscribers.contains_key(&socket);
        if fresh {
            let user_id = member.as_ref().map(|m| m.user_id.clone());
            entry
                .subscribers
                .insert(socket, Subscriber::new(outbox.clone(), user_id));
        }
        if occupied_now {
            self.webhooks
                .emit(WebhookEvent::channel(channel, "channel_occupied"));
        }
        // The subscriber hears of its own subscription first (a reply to its request, written
        // at once), the others after: so a client that saw its `subscription_succeeded` and then
        // listens for `member_added` on another socket does not miss it.
        match member {
            Some(member) => {
                let joined = fresh && add_member(entry, &member);
                outbox.send_now(&ws_text(&presence_succeeded(channel, entry)));
                if joined {
                    let added = ws_text(&frame::member_added(
                        channel.as_str(),
                        &member.user_id,
                        member.user_info.as_deref(),
                    ));
                    fan_out(entry, &added, Some(socket));
                    self.webhooks.emit(WebhookEvent::member(
                        channel,
                        "member_added",
                        &member.user_id,
                    ));
                }
            }
            None => {
                outbox.send_now(&ws_text(&frame::subscription_succeeded(
                    channel.as_str(),
                    None,
                )));
                if fresh && self.subscription_count_events {
                    broadcast_count(channel, entry);
                }
            }
        }
        drop(channels);
        if channel.is_cache() {
            self.replay_cache(channel, outbox);
        }
        Ok(())
    }

    fn replay_cache(&self, channel: &ChannelName, outbox: &Arc<Outbox>) {
        let mut cache = self.cache.lock().expect("cache lock poisoned");
        let report_miss = match cache.get(channel) {
            Some(Cached::Event { frame, expires }) if *expires > Instant::now() => {
                let event = frame.clone();
                drop(cache);
                outbox.push(&ws_frame(&event));
                return;
            }
            Some(Cached::MissReported) => false,
            Some(Cached::Event { .. }) | None => {
                cache.insert(channel.clone(), Cached::MissReported);
                true
            }
        };
        drop(cache);
        outbox.push(&ws_text(&frame::cache_miss(channel.as_str())));
        if report_miss {
            self.webhooks
                .emit(WebhookEvent::channel(channel, "cache_miss"));
        }
    }

    /// Removes `socket` from `channel`; tells the others when a member's last socket left.
    pub fn unsubscribe(&self, channel: &ChannelName, socket: SocketId) {
        if let Some(cluster) = self.cluster.get() {
            return self.unsubscribe_clustered(cluster, channel, socket);
        }
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        let Some(subscriber) = entry.subscribers.swap_remove(&socket) else {
            return;
        };
        if let Some(user_id) = subscriber.user_id {
            let left = match entry.members.get_mut(&user_id) {
                Some(member) if member.sockets > 1 => {
                    member.sockets -= 1;
                    false
                }
                Some(_) => entry.members.remove(&user_id).is_some(),
                None => false,
            };
            if left {
                let removed = ws_text(&frame::member_removed(channel.as_str(), &user_id));
                fan_out(entry, &removed, None);
                self.webhooks
                    .emit(WebhookEvent::member(channel, "member_removed", &user_id));
            }
        } else if self.subscription_count_events && !entry.subscribers.is_empty() {
            broadcast_count(channel, entry);
        }
        if entry.subscribers.is_empty() {
            channels.remove(channel);
            if channel.is_cache() {
                // Still under the channels lock, so no new subscriber's miss is forgotten.
                self.forget_cache_miss(channel);
            }
            self.webhooks
                .emit(WebhookEvent::channel(channel, "channel_vacated"));
        }
    }

    /// Once a cache channel is vacated, the next client to find it empty is reported again;
    /// an expired event is dropped rather than kept for a subscriber that may never come.
    fn forget_cache_miss(&self, channel: &ChannelName) {
        let mut cache = self.cache.lock().expect("cache lock poisoned");
        let stale = match cache.get(channel) {
            Some(Cached::MissReported) => true,
            Some(Cached::Event { expires, .. }) => *expires <= Instant::now(),
            None => false,
        };
        if stale {
            cache.remove(channel);
        }
    }

    /// Sends `event` (a Pusher frame's JSON) to every subscriber of `channel` but `except`.
    /// Returns how many got it. The WebSocket frame is encoded once and shared; queueing it is
    /// all that happens under the lock (the flusher writes it).
    pub fn publish(
        &self,
        channel: &ChannelName,
        event: &Bytes,
        except: Option<SocketId>,
        source: Source,
    ) -> usize {
        if source == Source::Server && channel.is_cache() {
            let expires = Instant::now() + self.cache_ttl;
            self.cache.lock().expect("cache lock poisoned").insert(
                channel.clone(),
                Cached::Event {
                    frame: event.clone(),
                    expires,
                },
            );
        }
        let frame = ws_frame(event);
        if let Some(user_id) = channel.server_to_user_id() {
            return self.send_to_user(user_id, &frame);
        }
        let channels = self.channels.read().expect("hub lock poisoned");
        channels
            .get(channel)
            .map_or(0, |entry| fan_out(entry, &frame, except))
    }

    /// Subscription and member counts of one channel, if anyone is in it.
    pub fn counts(&self, channel: &ChannelName) -> Option<ChannelCounts> {
        let channels = self.channels.read().expect("hub lock poisoned");
        channels.get(channel).map(counts)
    }

    /// Every occupied channel whose name starts with `prefix`, with its counts.
    pub fn occupied(&self, prefix: &str) -> Vec<(ChannelName, ChannelCounts)> {
        let channels = self.channels.read().expect("hub lock poisoned");
        channels
            .iter()
            .filter(|(name, _)| name.as_str().starts_with(prefix))
            .map(|(name, entry)| (name.clone(), counts(entry)))
            .collect()
    }

    /// The member ids of a presence channel.
    pub fn member_ids(&self, channel: &ChannelName) -> Vec<String> {
        let channels = self.channels.read().expect("hub lock poisoned");
        channels
            .get(channel)
            .map(|entry| entry.members.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The cached event (its JSON) of a cache channel and how long it stays, if fresh.
    pub fn cached(&self, channel: &ChannelName) -> Option<(Bytes, Duration)> {
        let cache = self.cache.lock().expect("cache lock poisoned");
        match cache.get(channel) {
            Some(Cached::Event { frame, expires }) => expires
                .checked_duration_since(Instant::now())
                .filter(|left| !left.is_zero())
                .map(|left| (frame.clone(), left)),
            _ => None,
        }
    }

    /// Registers a signed-in socket. Its watchers hear `online` if this is the user's first
    /// socket; the socket itself hears which of its watched users are online now.
    pub fn sign_in(
        &self,
        user_id: &str,
        socket: SocketId,
        outbox: &Arc<Outbox>,
        watchlist: &[String],
    ) {
        let mut users = self.users.lock().expect("users lock poisoned");
        let sockets = users.sockets.entry(user_id.to_string()).or_default();
        let came_online = sockets.is_empty();
        sockets.insert(socket, outbox.clone());
        if came_online {
            if let Some(watchers) = users.watchers.get(user_id) {
                let online = ws_text(&frame::watchlist_events(
                    WatchlistChange::Online,
                    &[user_id],
                ));
                for watcher in watchers.values() {
                    watcher.push(&online);
                }
            }
        }
        for watched in watchlist {
            users
                .watchers
                .entry(watched.clone())
                .or_default()
                .insert(socket, outbox.clone());
        }
        let online: Vec<&str> = watchlist
            .iter()
            .filter(|id| {
                users
                    .sockets
                    .get(id.as_str())
                    .is_some_and(|s| !s.is_empty())
            })
            .map(String::as_str)
            .collect();
        if !online.is_empty() {
            outbox.push(&ws_text(&frame::watchlist_events(
                WatchlistChange::Online,
                &online,
            )));
        }
    }

    /// Undoes [`Hub::sign_in`] when the socket closes.
    pub fn sign_out(&self, user_id: &str, socket: SocketId, watchlist: &[String]) {
        let mut users = self.users.lock().expect("users lock poisoned");
        for watched in watchlist {
            if let Some(watchers) = users.watchers.get_mut(watched) {
                watchers.remove(&socket);
                if watchers.is_empty() {
                    users.watchers.remove(watched);
                }
            }
        }
        let Some(sockets) = users.sockets.get_mut(user_id) else {
            return;
        };
        sockets.remove(&socket);
        if sockets.is_empty() {
            users.sockets.remove(user_id);
            if let Some(watchers) = users.watchers.get(user_id) {
                let offline = ws_text(&frame::watchlist_events(
                    WatchlistChange::Offline,
                    &[user_id],
                ));
                for watcher in watchers.values() {
                    watcher.push(&offline);
                }
            }
        }
    }

    /// Sends an encoded WebSocket `frame` to every socket signed in as `user_id`.
    pub fn send_to_user(&self, user_id: &str, frame: &Bytes) -> usize {
        let users = self.users.lock().expect("users lock poisoned");
        let Some(sockets) = users.sockets.get(user_id) else {
            return 0;
        };
        sockets.values().filter(|outbox| outbox.push(frame)).count()
    }

    /// The sockets signed in as `user_id`: the ones `terminate_connections` closes. A presence
    /// member that never signed in is not one of them (Pusher's "Terminating user connections"
    /// page: only connections that completed user authentication are terminated).
    pub fn signed_in_outboxes(&self, user_id: &str) -> Vec<Arc<Outbox>> {
        let users = self.users.lock().expect("users lock poisoned");
        users
            .sockets
            .get(user_id)
            .map(|sockets| sockets.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The outboxes of every socket subscribed to `channel`.
    pub fn subscriber_outboxes(&self, channel: &ChannelName) -> Vec<Arc<Outbox>> {
        let channels = self.channels.read().expect("hub lock poisoned");
        channels
            .get(channel)
            .map(|entry| {
                entry
                    .subscribers
                    .values()
                    .map(|s| s.outbox.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every socket something could be delivered to: subscribed to a channel or signed in as a
    /// user, each once.
    pub fn reachable_outboxes(&self) -> Vec<Arc<Outbox>> {
        let mut reachable: HashMap<SocketId, Arc<Outbox>> = HashMap::new();
        {
            let channels = self.channels.read().expect("hub lock poisoned");
            for channel in channels.values() {
                for (id, subscriber) in &channel.subscribers {
                    reachable
                        .entry(*id)
                        .or_insert_with(|| subscriber.outbox.clone());
                }
            }
        }
        let users = self.users.lock().expect("hub lock poisoned");
        for sockets in users.sockets.values() {
            for (id, outbox) in sockets {
                reachable.entry(*id).or_insert_with(|| outbox.clone());
            }
        }
        reachable.into_values().collect()
    }

    /// The app's webhook queue, for events the hub does not see (client events).
    pub fn webhooks(&self) -> &Webhooks {
        &self.webhooks
    }
}

/// The WebSocket text frame of a Pusher frame's JSON (which is UTF-8: it was built as a string).
fn ws_frame(event: &Bytes) -> Bytes {
    crate::websocket::frame::encode(crate::websocket::frame::OpCode::Text, event)
}

fn add_member(entry: &mut Channel, member: &MemberInfo) -> bool {
    match entry.members.get_mut(&member.user_id) {
        Some(existing) => {
            existing.sockets += 1;
            false
        }
        None => {
            entry.members.insert(
                member.user_id.clone(),
                Member {
                    info: member.user_info.clone(),
                    sockets: 1,
                    generation: 0,
                    answered: true,
                },
            );
            true
        }
    }
}

/// Channels up to this size are written at once by the publisher (a client event to the other
/// member of a private chat costs one syscall and no task hop); larger ones go through the
/// flusher, whose queues let a burst of publishes leave in one syscall per socket.
const DIRECT_FAN_OUT: usize = 16;

/// Most frames held for a socket waiting for its cluster member list; one more closes it as too
/// slow (4100), as a full send queue would.
const WAITING_FRAMES: usize = 1024;

fn fan_out(entry: &Channel, frame: &Bytes, except: Option<SocketId>) -> usize {
    let direct = entry.subscribers.len() <= DIRECT_FAN_OUT;
    entry
        .subscribers
        .iter()
        .filter(|(id, _)| Some(**id) != except)
        .filter(|(_, subscriber)| {
            if let Some(waiting) = &subscriber.waiting {
                return hold(waiting, &subscriber.outbox, frame);
            }
            if direct {
                subscriber.outbox.send_now(frame)
            } else {
                subscriber.outbox.push(frame)
            }
        })
        .count()
}

/// Keeps `frame` for a socket that waits for its member list.
fn hold(waiting: &Mutex<Vec<Bytes>>, outbox: &Outbox, frame: &Bytes) -> bool {
    let mut held = waiting.lock().expect("waiting frames lock poisoned");
    if held.len() >= WAITING_FRAMES {
        outbox.close(
            parley_protocol::ErrorCode::OverCapacity,
            "Client too slow: too many events while joining",
        );
        return false;
    }
    held.push(frame.clone());
    true
}

fn broadcast_count(channel: &ChannelName, entry: &Channel) {
    let frame = ws_text(&frame::subscription_count(
        channel.as_str(),
        entry.subscribers.len(),
    ));
    fan_out(entry, &frame, None);
}

fn counts(entry: &Channel) -> ChannelCounts {
    ChannelCounts {
        subscriptions: entry.subscribers.len(),
    }
}

fn presence_succeeded(channel: &ChannelName, entry: &Channel) -> String {
    let mut hash = serde_json::Map::new();
    for (id, member) in &entry.members {
        let info = member
            .info
            .as_ref()
            .and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(serde_json::Value::Null);
        hash.insert(id.clone(), info);
    }
    let snapshot = PresenceSnapshot {
        ids: entry.members.keys().map(String::as_str).collect(),
        count: entry.members.len(),
        hash,
    };
    frame::subscription_succeeded(channel.as_str(), Some(&snapshot))
}

#[cfg(test)]
mod tests {
    use tokio::net::{TcpListener, TcpStream};

    use super::*;

    #[tokio::test]
    async fn a_channel_fans_out_in_the_order_its_subscribers_joined() {
        let hub = Hub::new(Duration::from_secs(30), 100, false, Webhooks::default());
        let channel = ChannelName::parse("orders", 200).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut clients = Vec::new();
        let mut joined = Vec::new();
        for _ in 0..40 {
            let client = TcpStream::connect(listener.local_addr().unwrap());
            let (client, accepted) = tokio::join!(client, listener.accept());
            clients.push(client.unwrap());
            let outbox = Arc::new(Outbox::new(accepted.unwrap().0, 16, None, None));
            let socket = SocketId::random();
            hub.subscribe(&channel, socket, &outbox, None).unwrap();
            joined.push((socket, outbox));
        }
        let order = |hub: &Hub| -> Vec<*const Outbox> {
            hub.subscriber_outboxes(&channel)
                .iter()
                .map(Arc::as_ptr)
                .collect()
        };
        let expected: Vec<_> = joined.iter().map(|(_, o)| Arc::as_ptr(o)).collect();
        assert_eq!(order(&hub), expected);

        // A leaver's place goes to the newest subscriber (removal costs the same whatever the
        // channel's size); everyone else keeps theirs.
        hub.unsubscribe(&channel, joined[3].0);
        let mut expected = expected;
        expected.swap_remove(3);
        assert_eq!(order(&hub), expected);
    }
}
