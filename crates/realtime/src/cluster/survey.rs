//! What the HTTP API reports about channels and connections, across every node: this node's
//! own figures, merged with the answers of the others to a query over the same Redis channel.
//!
//! A node asks Redis how many nodes are subscribed (`PUBSUB NUMSUB`), publishes the query, and
//! waits for that many answers less its own, for at most [`ANSWER_WITHIN`]. A node that does
//! not answer in time (it is going away, say) is left out of the figures and the gap is logged:
//! an operator's query must not hang on a dying node.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Duration,
};

use parley_protocol::{ChannelKind, ChannelName};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{ClusterLink, What};
use crate::apps::App;

/// How long a query waits for the other nodes.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

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

impl Survey {
    fn merge(&mut self, other: Survey) {
        self.connections += other.connections;
        for (name, stat) in other.channels {
            let mine = self.channels.entry(name).or_default();
            mine.subscriptions += stat.subscriptions;
            mine.members.extend(stat.members);
        }
    }
}

/// This node's figures for `scope`.
pub(crate) fn local(app: &App, scope: &Scope) -> Survey {
    let stat = |channel: &ChannelName, subscriptions: usize| ChannelStat {
        subscriptions,
        members: if channel.kind() == ChannelKind::Presence {
            app.hub.member_ids(channel).into_iter().collect()
        } else {
            BTreeSet::new()
        },
    };
    let channels = match scope {
        Scope::Prefix(prefix) => app
            .hub
            .occupied(prefix)
            .into_iter()
            .map(|(channel, counts)| {
                let stat = stat(&channel, counts.subscriptions);
                (channel.to_string(), stat)
            })
            .collect(),
        Scope::Exact(name) => ChannelName::parse(name, usize::MAX)
            .ok()
            .and_then(|channel| {
                let counts = app.hub.counts(&channel)?;
                Some((channel.to_string(), stat(&channel, counts.subscriptions)))
            })
            .into_iter()
            .collect(),
        Scope::Connections => BTreeMap::new(),
    };
    Survey {
        channels,
        connections: app.connection_count(),
    }
}

/// The figures for `scope` across every node (this one's alone outside a cluster).
pub async fn survey(app: &App, scope: Scope) -> Survey {
    let mut survey = local(app, &scope);
    if let Some(link) = app.cluster.get() {
        for answer in link.ask(app, scope).await {
            survey.merge(answer);
        }
    }
    survey
}

impl ClusterLink {
    /// Asks every other node; returns the answers that came in time.
    async fn ask(&self, app: &App, scope: Scope) -> Vec<Survey> {
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
        let id = self
            .next_query
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (tx, mut rx) = mpsc::unbounded_channel();
        self.pending
            .lock()
            .expect("cluster lock poisoned")
            .insert(id, tx);
        self.send(app, What::Query { id, scope });
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

    fn stat(subscriptions: usize, members: &[&str]) -> ChannelStat {
        ChannelStat {
            subscriptions,
            members: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn merging_adds_sockets_and_unites_members() {
        let mut here = Survey {
            channels: [
                ("presence-a".to_string(), stat(2, &["ann", "bob"])),
                ("news".to_string(), stat(1, &[])),
            ]
            .into(),
            connections: 3,
        };
        here.merge(Survey {
            channels: [
                ("presence-a".to_string(), stat(1, &["bob", "cy"])),
                ("other".to_string(), stat(4, &[])),
            ]
            .into(),
            connections: 5,
        });
        assert_eq!(here.connections, 8);
        assert_eq!(here.channels["presence-a"], stat(3, &["ann", "bob", "cy"]));
        assert_eq!(here.channels["news"], stat(1, &[]));
        assert_eq!(here.channels["other"], stat(4, &[]));
    }
}
