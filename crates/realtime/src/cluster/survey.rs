//! What the HTTP API reports about channels and connections, across every node: this node's
//! own figures, merged with the answers of the others to a query over the same Redis channel.
//!
//! A node asks Redis how many nodes are subscribed (`PUBSUB NUMSUB`), publishes the query, and
//! waits for that many answers less its own, for at most a second ([`ClusterLink::ask`]). A
//! node that does not answer in time (it is going away, say) is left out of the figures and the
//! gap is logged: an operator's query must not hang on a dying node.

use std::collections::{BTreeMap, BTreeSet};

use parley_protocol::{ChannelKind, ChannelName};

#[cfg(doc)]
use super::link::ClusterLink;
use super::link::{ChannelStat, Scope, Survey};
use crate::apps::App;

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
        for answer in link.ask(&app.config.id, scope).await {
            survey.merge(answer);
        }
    }
    survey
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
