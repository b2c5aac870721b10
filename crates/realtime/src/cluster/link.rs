//! This node's way out to the others ([`ClusterLink`]), and what travels on it: the messages
//! between nodes and the figures a node reports to another's query.
//!
//! Every app holds the link (through a [`ClusterSlot`], empty until the server joins a
//! cluster), so this knows nothing of apps: [`crate::apps`] depends on it, and the rest of
//! [`crate::cluster`], which works on the apps, depends on both.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, OnceLock,
    },
    time::Duration,
};

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// How long a query waits for the other nodes.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

/// This node's way out to the others. Every app holds the same one (set once, on joining).
#[derive(Debug)]
pub struct ClusterLink {
    node: u64,
    queue: mpsc::Sender<String>,
    dropped: prometheus_client::metrics::counter::Counter,
    /// Set when a message for the other nodes was lost; the sender task then owes them a
    /// resync. Shared with that task.
    lost: Arc<AtomicBool>,
    /// The pub/sub channel the nodes share.
    channel: String,
    /// For queries to Redis itself (how many nodes there are).
    redis: ConnectionManager,
    /// Queries of this node waiting for the others' answers, by id. A std mutex: held only to
    /// insert, look up or remove.
    pending: Mutex<HashMap<u64, mpsc::UnboundedSender<Survey>>>,
    next_query: AtomicU64,
    /// This node's presence task (cluster-wide members and occupancy).
    presence: super::presence::Handle,
}

/// The slot apps share: empty until the server joins a cluster.
pub type ClusterSlot = Arc<OnceLock<ClusterLink>>;

/// What one node tells the others, for one app.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub(super) struct Message {
    pub(super) node: u64,
    pub(super) app: String,
    #[serde(flatten)]
    pub(super) what: What,
}

#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum What {
    /// A frame for a channel's subscribers (already encoded: a receiving node only relays it).
    Frame {
        channel: String,
        frame: String,
        except: Option<String>,
        /// A relayed client event, which a cache channel does not keep.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        client: bool,
    },
    /// Close the sockets a user signed in on.
    Terminate { user: String },
    /// Close the sockets subscribed to a channel.
    CloseChannel { channel: String, reason: String },
    /// Close the sockets with these ids, whatever they hold: refused for good (4009), or told to
    /// reconnect at once (4200, `reconnect`), so that their channels are authorised again.
    CloseSockets {
        sockets: Vec<String>,
        reason: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        reconnect: bool,
    },
    /// Report this node's figures for a scope to the asking node.
    Query { id: u64, scope: Scope },
    /// A node's figures, for node `to`'s query `id`.
    Answer { id: u64, to: u64, survey: Survey },
    /// The sending node lost messages meant for the others: close every subscribed socket of
    /// every app with 4200, so their clients reconnect and catch up.
    Resync,
    /// A presence member came (`added`) or went cluster-wide: published by Redis itself (node
    /// 0), from the script that changed the member list to `version`, to every node.
    Member {
        channel: String,
        user: String,
        /// The member's `user_info` JSON, when added with one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        info: Option<String>,
        added: bool,
        version: u64,
    },
    /// A channel's subscription count across the nodes changed (from Redis, node 0).
    Count { channel: String, count: u64 },
}

/// Which channels a query is about.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "scope", content = "name", rename_all = "snake_case")]
pub enum Scope {
    /// Every occupied channel whose name starts with this.
    Prefix(String),
    /// One channel.
    Exact(String),
    /// None: only the connection count.
    Connections,
}

/// One channel's figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChannelStat {
    /// Sockets subscribed.
    pub subscriptions: usize,
    /// Presence members' user ids (empty for other channels).
    pub members: BTreeSet<String>,
}

/// What one node (or, merged, all of them) reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Survey {
    /// Occupied channels in scope.
    pub channels: BTreeMap<String, ChannelStat>,
    /// Open connections of the app.
    pub connections: usize,
}

impl ClusterLink {
    /// The link of node `node`, whose messages go to the sender task through `queue`.
    pub(super) fn new(
        node: u64,
        queue: mpsc::Sender<String>,
        dropped: prometheus_client::metrics::counter::Counter,
        lost: Arc<AtomicBool>,
        channel: String,
        redis: ConnectionManager,
        presence: super::presence::Handle,
    ) -> Self {
        Self {
            node,
            queue,
            dropped,
            lost,
            channel,
            redis,
            pending: Mutex::default(),
            next_query: AtomicU64::new(0),
            presence,
        }
    }

    /// Takes this node's presence members and subscriptions out of the cluster's state (the
    /// server is shutting down), waiting a couple of seconds at most.
    pub(crate) async fn goodbye(&self) {
        self.presence.goodbye().await;
    }

    /// Queues `what`, about app `app_id`, for the other nodes; when the queue is full it is
    /// dropped, counted, and a resync is owed.
    pub(super) fn send(&self, app_id: &str, what: What) {
        let message = Message {
            node: self.node,
            app: app_id.to_string(),
            what,
        };
        let text = serde_json::to_string(&message).expect("cluster messages serialise");
        if self.queue.try_send(text).is_err() {
            self.dropped.inc();
            self.lost.store(true, Ordering::Release);
        }
    }

    /// Asks every other node for app `app_id`'s figures; returns the answers that came in time.
    pub(super) async fn ask(&self, app_id: &str, scope: Scope) -> Vec<Survey> {
        let others = match self.node_count().await {
            Ok(nodes) => nodes.saturating_sub(1),
            Err(error) => {
                tracing::warn!(%error, "cannot count the nodes; reporting this node's figures only");
                return Vec::new();
            }
        };
        if others == 0 {
            return Vec::new();
        }
        let id = self.next_query.fetch_add(1, Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.pending
            .lock()
            .expect("cluster lock poisoned")
            .insert(id, tx);
        self.send(app_id, What::Query { id, scope });
        let mut answers = Vec::with_capacity(others);
        let deadline = tokio::time::Instant::now() + ANSWER_WITHIN;
        while answers.len() < others {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(answer)) => answers.push(answer),
                Ok(None) | Err(_) => break,
            }
        }
        self.pending
            .lock()
            .expect("cluster lock poisoned")
            .remove(&id);
        if answers.len() < others {
            tracing::warn!(
                answered = answers.len(),
                expected = others,
                "not every node answered in time; their figures are left out"
            );
        }
        answers
    }

    /// Nodes subscribed to the cluster's channel, this one included.
    async fn node_count(&self) -> redis::RedisResult<usize> {
        let mut redis = self.redis.clone();
        let counts: Vec<(String, usize)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&self.channel)
            .query_async(&mut redis)
            .await?;
        Ok(counts.first().map_or(0, |(_, n)| *n))
    }

    /// Hands an answer to the query waiting for it (late answers find nobody and are dropped).
    pub(super) fn answered(&self, id: u64, survey: Survey) {
        let pending = self.pending.lock().expect("cluster lock poisoned");
        if let Some(waiting) = pending.get(&id) {
            let _ = waiting.send(survey);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_in_a_readable_shape() {
        let message = Message {
            node: 7,
            app: "a".into(),
            what: What::Frame {
                channel: "private-x".into(),
                frame: r#"{"event":"e"}"#.into(),
                except: Some("1.2".into()),
                client: false,
            },
        };
        let text = serde_json::to_string(&message).unwrap();
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["kind"], "frame");
        assert_eq!(value["channel"], "private-x");
        assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), message);
        let terminate = r#"{"node":1,"app":"a","kind":"terminate","user":"u"}"#;
        assert_eq!(
            serde_json::from_str::<Message>(terminate).unwrap().what,
            What::Terminate { user: "u".into() }
        );
        // A node from before reconnecting closes existed sends no `reconnect`: a refusal.
        let close = r#"{"node":1,"app":"a","kind":"close_sockets","sockets":["1.2"],"reason":"r"}"#;
        assert_eq!(
            serde_json::from_str::<Message>(close).unwrap().what,
            What::CloseSockets {
                sockets: vec!["1.2".into()],
                reason: "r".into(),
                reconnect: false,
            }
        );
        let reconnect = What::CloseSockets {
            sockets: vec!["1.2".into()],
            reason: "r".into(),
            reconnect: true,
        };
        let text = serde_json::to_string(&reconnect).unwrap();
        assert!(text.contains(r#""reconnect":true"#), "{text}");
        assert_eq!(serde_json::from_str::<What>(&text).unwrap(), reconnect);
        // What the cluster's Lua script publishes (cjson, node 0).
        let member = r#"{"added":true,"app":"601452","channel":"presence-x","info":"{\"n\":1}","kind":"member","node":0,"user":"ann","version":3}"#;
        assert_eq!(
            serde_json::from_str::<Message>(member).unwrap().what,
            What::Member {
                channel: "presence-x".into(),
                user: "ann".into(),
                info: Some(r#"{"n":1}"#.into()),
                added: true,
                version: 3,
            }
        );
        let count = r#"{"app":"1","channel":"news","count":2,"kind":"count","node":0}"#;
        assert_eq!(
            serde_json::from_str::<Message>(count).unwrap().what,
            What::Count {
                channel: "news".into(),
                count: 2,
            }
        );
        let resync = r#"{"node":1,"app":"","kind":"resync"}"#;
        assert_eq!(
            serde_json::from_str::<Message>(resync).unwrap().what,
            What::Resync
        );
    }
}
