//! The hub's side of cluster-wide presence and occupancy. Redis holds what every node holds
//! ([`crate::cluster`] keeps it there); the hub reports this node's share of it as
//! [`ClusterOp`]s, in the order its state changed, and applies what comes back:
//!
//! - A presence subscriber waits (its frames held) until Redis has counted its user and
//!   answered with the cluster's member list and that list's version ([`JoinAnswer`]); then it
//!   gets `subscription_succeeded` with that list, then what was held.
//! - `member_added`/`member_removed` come from Redis only, numbered per channel in the order
//!   Redis applied the changes ([`MemberEvent`]): once cluster-wide, each to the subscribers
//!   whose list is older than it. So no socket hears of a member its list already had.
//! - `channel_occupied`/`channel_vacated` and `subscription_count` are decided from the nodes'
//!   counts ([`ClusterOp::Count`]), which the hub reports only when the app wants them.
//!
//! When Redis does not answer in time (or is away), the node serves what it knows: the last
//! cluster list it had plus its own members, with its own members' comings and goings told to
//! its own sockets as on one node. Such a channel is marked degraded; once Redis answers again,
//! its subscribers are sent to reconnect (4200), which gets them the exact list.

use std::{
    collections::HashMap,
    sync::{atomic::Ordering, Arc},
};

use bytes::Bytes;
use parley_protocol::{
    frame::{self, PresenceSnapshot},
    ChannelKind, ChannelName, ErrorCode, SocketId,
};
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::{
    fan_out, Channel, Hub, Member, MemberInfo, SubscribeRefusal, Subscriber, DIRECT_FAN_OUT,
};
use crate::{outbox::Outbox, websocket::frame::text as ws_text};

/// What a socket closed to catch up with the cluster's exact member list is told.
const RECONCILE_REASON: &str =
    "Presence was served without the other nodes; reconnect for the full list";

/// What the hub tells the cluster about this node's share of a channel.
#[derive(Debug)]
pub(crate) enum ClusterOp {
    /// `user`'s first socket on this node joined `channel`, or one did while the node has no
    /// list for the channel: this node holds the user (again: holding is idempotent) and wants
    /// the cluster's list. `generation` ties the answer to this join.
    Join {
        channel: ChannelName,
        user: String,
        info: Option<Box<RawValue>>,
        generation: u64,
    },
    /// `user`'s last socket on this node left `channel`.
    Leave { channel: ChannelName, user: String },
    /// This node's share of `channel`'s subscriptions is now `count`: the sockets, for the
    /// `subscription_count` events of an app that wants them; otherwise 1 or 0, which is all
    /// `channel_occupied`/`channel_vacated` need.
    Count { channel: ChannelName, count: usize },
}

/// Where a clustered hub sends its [`ClusterOp`]s, tagged with its app's id.
#[derive(Debug)]
pub(crate) struct ClusterHooks {
    pub(crate) app: Arc<str>,
    pub(crate) ops: mpsc::UnboundedSender<(Arc<str>, ClusterOp)>,
}

/// Redis's answer to a [`ClusterOp::Join`].
#[derive(Debug)]
pub(crate) enum JoinAnswer {
    /// The user is held; the cluster's members (id → `user_info` JSON, empty for none) as of
    /// `version`.
    Joined {
        version: u64,
        members: Vec<(String, String)>,
    },
    /// The channel has as many members cluster-wide as the app allows.
    Full,
    /// No answer in time: serve what this node knows.
    Fallback,
}

/// A node's whole share of the cluster's state for one app.
#[derive(Debug, Default)]
pub(crate) struct Share {
    /// Every presence member: channel, user id, `user_info` JSON (empty for none).
    pub(crate) members: Vec<(String, String, String)>,
    /// Every channel's count as [`ClusterOp::Count`] reports it (zeros left out).
    pub(crate) counts: Vec<(String, usize)>,
}

/// A member coming or going cluster-wide, as Redis announced it.
#[derive(Debug)]
pub(crate) struct MemberEvent {
    pub(crate) added: bool,
    pub(crate) user: String,
    pub(crate) info: Option<Box<RawValue>>,
    /// The channel's member list version this event makes.
    pub(crate) version: u64,
}

/// A presence channel's cluster state on this node.
#[derive(Debug, Default)]
pub(super) struct ClusterPresence {
    /// The cluster's member list as of a version; `None` until Redis first answers (and again
    /// after a reconnect wave, when it may be stale).
    view: Option<View>,
    /// Member events that came before the first answer.
    backlog: Vec<MemberEvent>,
    /// Subscribers waiting for the list.
    waiting: usize,
    /// Something here was served without Redis; see the module docs.
    degraded: bool,
}

#[derive(Debug, Default)]
struct View {
    version: u64,
    members: HashMap<String, Option<Box<RawValue>>>,
}

impl View {
    fn apply(&mut self, event: MemberEvent) {
        if event.added {
            self.members.insert(event.user, event.info);
        } else {
            self.members.remove(&event.user);
        }
        self.version = event.version;
    }
}

fn raw(info: String) -> Option<Box<RawValue>> {
    if info.is_empty() {
        None
    } else {
        RawValue::from_string(info).ok()
    }
}

/// Sockets in the channel that have their list.
fn served(entry: &Channel) -> usize {
    entry.subscribers.len() - entry.cluster.as_ref().map_or(0, |c| c.waiting)
}

impl Hub {
    /// From now on presence and occupancy are the cluster's: changes go to `hooks`.
    pub(crate) fn attach_cluster(&self, hooks: ClusterHooks) {
        let _ = self.cluster.set(hooks);
    }

    /// Whether the app's server is in a cluster.
    pub(crate) fn clustered(&self) -> bool {
        self.cluster.get().is_some()
    }

    /// Whether `socket` is subscribed to `channel` (or waiting for its member list): in a
    /// cluster, a presence subscription can be refused after the session counted it, when
    /// Redis finds the channel full.
    pub(crate) fn holds(&self, channel: &ChannelName, socket: SocketId) -> bool {
        let channels = self.channels.read().expect("hub lock poisoned");
        channels
            .get(channel)
            .is_some_and(|entry| entry.subscribers.contains_key(&socket))
    }

    fn send(&self, hooks: &ClusterHooks, op: ClusterOp) {
        // The receiver lives as long as the cluster task; once it is gone there is no one to
        // tell.
        let _ = hooks.ops.send((hooks.app.clone(), op));
    }

    /// Reports this node's share of `channel` when it changed in a way the app cares about.
    fn report(&self, hooks: &ClusterHooks, channel: &ChannelName, before: usize, after: usize) {
        if before == after {
            return;
        }
        let presence = channel.kind() == ChannelKind::Presence;
        let count = if self.subscription_count_events && !presence {
            after
        } else if self.webhooks.enabled() && (before == 0) != (after == 0) {
            after.min(1)
        } else {
            return;
        };
        self.send(
            hooks,
            ClusterOp::Count {
                channel: channel.clone(),
                count,
            },
        );
    }

    pub(super) fn subscribe_clustered(
        &self,
        hooks: &ClusterHooks,
        channel: &ChannelName,
        socket: SocketId,
        outbox: &Arc<Outbox>,
        member: Option<MemberInfo>,
    ) -> Result<(), SubscribeRefusal> {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let new_channel = !channels.contains_key(channel);
        let entry = channels.entry(channel.clone()).or_default();
        let Some(member) = member else {
            let before = entry.subscribers.len();
            entry
                .subscribers
                .entry(socket)
                .or_insert_with(|| Subscriber::new(outbox.clone(), None));
            outbox.send_now(&ws_text(&frame::subscription_succeeded(
                channel.as_str(),
                None,
            )));
            let after = entry.subscribers.len();
            self.report(hooks, channel, before, after);
            drop(channels);
            if channel.is_cache() {
                self.replay_cache(channel, outbox);
            }
            return Ok(());
        };
        let presence = entry.cluster.get_or_insert_with(Box::default);
        if let Some(existing) = entry.subscribers.get(&socket) {
            // Subscribing twice: a socket with its list gets it again; one still waiting gets
            // it when it comes.
            if existing.waiting.is_none() {
                let empty = View::default();
                let view = presence.view.as_ref().unwrap_or(&empty);
                outbox.send_now(&ws_text(&list(channel, view, &entry.members)));
            }
            return Ok(());
        }
        let here = entry.members.get(&member.user_id);
        if here.is_none() {
            // Refused at once when the list this node knows is full; Redis decides otherwise.
            if let Some(view) = &presence.view {
                let known = view.members.len()
                    + entry
                        .members
                        .keys()
                        .filter(|id| !view.members.contains_key(*id))
                        .count();
                if !view.members.contains_key(&member.user_id) && known >= self.max_members {
                    if new_channel {
                        channels.remove(channel);
                    }
                    return Err(SubscribeRefusal::TooManyMembers);
                }
            }
        }
        let (generation, ask, ready) = match entry.members.get_mut(&member.user_id) {
            Some(existing) => {
                existing.sockets += 1;
                (
                    existing.generation,
                    presence.view.is_none(),
                    existing.answered,
                )
            }
            None => {
                let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
                entry.members.insert(
                    member.user_id.clone(),
                    Member {
                        info: member.user_info.clone(),
                        sockets: 1,
                        generation,
                        answered: false,
                    },
                );
                (generation, true, false)
            }
        };
        let mut subscriber = Subscriber::new(outbox.clone(), Some(member.user_id.clone()));
        subscriber.waiting = Some(Box::default());
        entry.subscribers.insert(socket, subscriber);
        presence.waiting += 1;
        if ask {
            self.send(
                hooks,
                ClusterOp::Join {
                    channel: channel.clone(),
                    user: member.user_id,
                    info: member.user_info,
                    generation,
                },
            );
        } else if ready {
            self.serve_waiting(hooks, channel, entry);
        }
        Ok(())
    }

    pub(super) fn unsubscribe_clustered(
        &self,
        hooks: &ClusterHooks,
        channel: &ChannelName,
        socket: SocketId,
    ) {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        let before = served(entry);
        let Some(subscriber) = entry.subscribers.swap_remove(&socket) else {
            return;
        };
        let waited = subscriber.waiting.is_some();
        if waited {
            if let Some(presence) = entry.cluster.as_deref_mut() {
                presence.waiting -= 1;
            }
        }
        let after = served(entry);
        if let Some(user) = subscriber.user_id {
            match entry.members.get_mut(&user) {
                Some(member) if member.sockets > 1 => member.sockets -= 1,
                Some(_) => {
                    entry.members.remove(&user);
                    self.send(
                        hooks,
                        ClusterOp::Leave {
                            channel: channel.clone(),
                            user,
                        },
                    );
                }
                None => {}
            }
        }
        self.report(hooks, channel, before, after);
        if entry.subscribers.is_empty() {
            channels.remove(channel);
            if channel.is_cache() {
                self.forget_cache_miss(channel);
            }
        }
    }

    /// Gives every waiting subscriber whose user Redis has answered for the list: its
    /// `subscription_succeeded`, the cached event of a cache channel, then what was held.
    fn serve_waiting(&self, hooks: &ClusterHooks, channel: &ChannelName, entry: &mut Channel) {
        let before = served(entry);
        let Some(presence) = entry.cluster.as_deref_mut() else {
            return;
        };
        let Some(view) = &presence.view else {
            return;
        };
        if presence.waiting == 0 {
            return;
        }
        let members = &entry.members;
        let ready: Vec<SocketId> = entry
            .subscribers
            .iter()
            .filter(|(_, s)| {
                s.waiting.is_some()
                    && s.user_id
                        .as_ref()
                        .and_then(|user| members.get(user))
                        .is_some_and(|m| m.answered)
            })
            .map(|(id, _)| *id)
            .collect();
        if ready.is_empty() {
            return;
        }
        let version = view.version;
        let succeeded = ws_text(&list(channel, view, members));
        for id in ready {
            let Some(subscriber) = entry.subscribers.get_mut(&id) else {
                continue;
            };
            let held = subscriber
                .waiting
                .take()
                .map(|w| w.into_inner().expect("waiting frames lock poisoned"))
                .unwrap_or_default();
            subscriber.seen = version;
            subscriber.outbox.send_now(&succeeded);
            if channel.is_cache() {
                self.replay_cache(channel, &subscriber.outbox);
            }
            for frame in &held {
                subscriber.outbox.push(frame);
            }
            presence.waiting -= 1;
        }
        let after = served(entry);
        self.report(hooks, channel, before, after);
    }

    /// Applies Redis's answer to this node's join of `user` (generation `generation`).
    pub(crate) fn cluster_joined(
        &self,
        channel: &ChannelName,
        user: &str,
        generation: u64,
        answer: JoinAnswer,
    ) {
        let Some(hooks) = self.cluster.get() else {
            return;
        };
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        let current = entry
            .members
            .get(user)
            .is_some_and(|m| m.generation == generation);
        let Some(presence) = entry.cluster.as_deref_mut() else {
            return;
        };
        match answer {
            JoinAnswer::Joined { version, members } => {
                if presence.view.as_ref().is_none_or(|v| v.version < version) {
                    let mut view = View {
                        version,
                        members: members.into_iter().map(|(id, i)| (id, raw(i))).collect(),
                    };
                    for event in presence.backlog.drain(..) {
                        if event.version > view.version {
                            view.apply(event);
                        }
                    }
                    presence.view = Some(view);
                }
                presence.backlog.clear();
                if current {
                    if let Some(member) = entry.members.get_mut(user) {
                        member.answered = true;
                    }
                }
                self.serve_waiting(hooks, channel, entry);
            }
            JoinAnswer::Full => {
                if !current {
                    return;
                }
                entry.members.remove(user);
                let refused: Vec<SocketId> = entry
                    .subscribers
                    .iter()
                    .filter(|(_, s)| s.waiting.is_some() && s.user_id.as_deref() == Some(user))
                    .map(|(id, _)| *id)
                    .collect();
                let error = ws_text(&frame::subscription_error(
                    channel.as_str(),
                    "LimitReached",
                    &format!(
                        "Presence channel has {} members, the most allowed",
                        self.max_members
                    ),
                    403,
                ));
                for id in refused {
                    if let Some(subscriber) = entry.subscribers.swap_remove(&id) {
                        presence.waiting -= 1;
                        subscriber.outbox.send_now(&error);
                    }
                }
                if entry.subscribers.is_empty() {
                    channels.remove(channel);
                }
            }
            JoinAnswer::Fallback => {
                presence.degraded = true;
                let view = presence.view.get_or_insert_with(View::default);
                for event in presence.backlog.drain(..) {
                    if event.version > view.version {
                        view.apply(event);
                    }
                }
                let member = entry.members.get_mut(user).filter(|_| current);
                if let Some(member) = member.filter(|m| !m.answered) {
                    member.answered = true;
                    if !view.members.contains_key(user) {
                        // Told here as on one node: the other nodes hear once Redis is back.
                        let added = ws_text(&frame::member_added(
                            channel.as_str(),
                            user,
                            member.info.as_deref(),
                        ));
                        send_served(entry, &added, |s| s.user_id.as_deref() != Some(user));
                    }
                }
                self.serve_waiting(hooks, channel, entry);
            }
        }
    }

    /// This node's leave of `user` could not reach Redis: its own sockets hear it as on one
    /// node.
    pub(crate) fn cluster_left_fallback(&self, channel: &ChannelName, user: &str) {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        let Some(presence) = entry.cluster.as_deref_mut() else {
            return;
        };
        presence.degraded = true;
        if entry.members.contains_key(user) {
            return; // Back already.
        }
        if let Some(view) = presence.view.as_mut() {
            view.members.remove(user);
        }
        let removed = ws_text(&frame::member_removed(channel.as_str(), user));
        send_served(entry, &removed, |_| true);
    }

    /// This node's count could not reach Redis: its own sockets hear its own count, as on one
    /// node.
    pub(crate) fn cluster_count_fallback(&self, channel: &ChannelName) {
        if !self.subscription_count_events || channel.kind() == ChannelKind::Presence {
            return;
        }
        let channels = self.channels.read().expect("hub lock poisoned");
        if let Some(entry) = channels.get(channel) {
            super::broadcast_count(channel, entry);
        }
    }

    /// A member came or went cluster-wide (Redis's announcement, numbered).
    pub(crate) fn member_event(&self, channel: &ChannelName, event: MemberEvent) {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let Some(entry) = channels.get_mut(channel) else {
            return;
        };
        let Some(presence) = entry.cluster.as_deref_mut() else {
            return;
        };
        let Some(view) = presence.view.as_mut() else {
            if presence.waiting > 0 {
                presence.backlog.push(event);
            }
            return;
        };
        let version = event.version;
        let frame = ws_text(&if event.added {
            frame::member_added(channel.as_str(), &event.user, event.info.as_deref())
        } else {
            frame::member_removed(channel.as_str(), &event.user)
        });
        if version > view.version {
            view.apply(event);
        }
        send_served(entry, &frame, |s| s.seen < version);
    }

    /// The cluster-wide subscription count of `channel` changed.
    pub(crate) fn count_event(&self, channel: &ChannelName, count: usize) {
        let channels = self.channels.read().expect("hub lock poisoned");
        if let Some(entry) = channels.get(channel) {
            let frame = ws_text(&frame::subscription_count(channel.as_str(), count));
            fan_out(entry, &frame, None);
        }
    }

    /// Sends the subscribers of presence channels served without Redis to reconnect (4200),
    /// now that Redis answers again, and forgets those channels' lists. Returns how many.
    pub(crate) fn reconcile(&self) -> usize {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        let mut closed = 0;
        for entry in channels.values_mut() {
            let Some(presence) = entry.cluster.as_deref_mut() else {
                continue;
            };
            if !presence.degraded {
                continue;
            }
            presence.degraded = false;
            presence.view = None;
            presence.backlog.clear();
            for subscriber in entry.subscribers.values() {
                subscriber
                    .outbox
                    .close(ErrorCode::Reconnect, RECONCILE_REASON);
                closed += 1;
            }
        }
        closed
    }

    /// Marks every presence channel as served without Redis (this node's state there was lost),
    /// so that [`Hub::reconcile`] refreshes them all.
    pub(crate) fn mark_all_degraded(&self) {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        for presence in channels
            .values_mut()
            .filter_map(|e| e.cluster.as_deref_mut())
        {
            presence.degraded = true;
        }
    }

    /// Forgets every presence channel's cluster list (its sockets were all just sent to
    /// reconnect because events may have been missed, which also covers whatever was served
    /// without Redis): new subscribers get a fresh one from Redis.
    pub(crate) fn forget_cluster_lists(&self) {
        let mut channels = self.channels.write().expect("hub lock poisoned");
        for presence in channels
            .values_mut()
            .filter_map(|e| e.cluster.as_deref_mut())
        {
            presence.view = None;
            presence.backlog.clear();
            presence.degraded = false;
        }
    }

    /// This node's whole share, for registering it in Redis anew.
    pub(crate) fn cluster_share(&self) -> Share {
        let channels = self.channels.read().expect("hub lock poisoned");
        let mut members = Vec::new();
        let mut counts = Vec::new();
        for (name, entry) in channels.iter() {
            let presence = name.kind() == ChannelKind::Presence;
            if entry.cluster.is_some() {
                for (user, member) in &entry.members {
                    let info = member
                        .info
                        .as_ref()
                        .map(|i| i.get().to_string())
                        .unwrap_or_default();
                    members.push((name.to_string(), user.clone(), info));
                }
            }
            let served = served(entry);
            let count = if self.subscription_count_events && !presence {
                served
            } else if self.webhooks.enabled() {
                served.min(1)
            } else {
                0
            };
            if count > 0 {
                counts.push((name.to_string(), count));
            }
        }
        Share { members, counts }
    }
}

/// Sends `frame` to the subscribers that have their list and pass `to`.
fn send_served(entry: &Channel, frame: &Bytes, to: impl Fn(&Subscriber) -> bool) {
    let direct = entry.subscribers.len() <= DIRECT_FAN_OUT;
    for subscriber in entry.subscribers.values() {
        if subscriber.waiting.is_none() && to(subscriber) {
            if direct {
                subscriber.outbox.send_now(frame);
            } else {
                subscriber.outbox.push(frame);
            }
        }
    }
}

/// `subscription_succeeded` with the cluster's list as of `view`, plus this node's answered
/// members it lacks (which happens only where a join was served without Redis).
fn list(channel: &ChannelName, view: &View, local: &HashMap<String, Member>) -> String {
    let parse = |info: Option<&RawValue>| {
        info.and_then(|raw| serde_json::from_str(raw.get()).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    let mut hash = serde_json::Map::new();
    for (id, info) in &view.members {
        hash.insert(id.clone(), parse(info.as_deref()));
    }
    for (id, member) in local {
        if member.answered && !hash.contains_key(id) {
            hash.insert(id.clone(), parse(member.info.as_deref()));
        }
    }
    let ids: Vec<String> = hash.keys().cloned().collect();
    let snapshot = PresenceSnapshot {
        ids: ids.iter().map(String::as_str).collect(),
        count: ids.len(),
        hash,
    };
    frame::subscription_succeeded(channel.as_str(), Some(&snapshot))
}
