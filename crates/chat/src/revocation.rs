//! Revoking a widget or an agent cuts off its live sockets too, not only future requests. Either
//! may be revoked by another process (`parley widget revoke`, `parley agent revoke`), so every
//! node watches the store and closes the sockets of whatever was newly revoked: every socket this
//! node signed a channel for on the revoked identity's behalf ([`SignedSockets`]), whatever
//! channels it holds and whichever node it is connected to; and, for sockets signed elsewhere,
//! those on a widget's conversations' channels or on an agent's own channel, which every
//! dashboard subscribes to. A closed dashboard falls back to polling, whose next call is
//! refused, and so it signs out.
//!
//! An agent whose rights shrink but who keeps their account (fewer widgets, no longer admin, a
//! session or token ended) has the sockets this node signed for them closed with 4200 instead:
//! their clients reconnect at once and authorise each channel again, and what they may no longer
//! join is refused.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

use parley_protocol::SocketId;
use parley_store::Store;
use tokio_util::sync::CancellationToken;

use crate::payload::{agent_channel, conversation_channel};

/// Most conversations whose sockets one revocation closes (the newest first).
const MAX_CONVERSATIONS: i64 = 100_000;

/// Most sockets remembered per identity, the newest kept. A dashboard or a visitor signs a few
/// channels per connection, so this covers thousands of live connections of one identity.
const MAX_SOCKETS_PER_HOLDER: usize = 4096;

/// Why a socket was closed, as its client is told.
pub const WIDGET_REVOKED: &str = "Widget revoked";
pub const AGENT_REVOKED: &str = "Agent revoked";
pub const ACCESS_CHANGED: &str = "Your access changed; reconnect";

/// Whom a channel signature was granted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// A visitor of this widget.
    Widget(i64),
    /// This agent.
    Agent(i64),
}

/// The sockets this node signed channels for, by the identity that asked. Only this node's
/// signatures: each node closes what it signed, and the realtime server finds the socket on
/// whichever node holds it.
#[derive(Debug, Default)]
pub struct SignedSockets {
    // A std mutex: held only to record or take, never across an `.await`.
    by_holder: Mutex<HashMap<Holder, Recent>>,
}

/// One identity's sockets, oldest first, without repeats.
#[derive(Debug, Default)]
struct Recent {
    order: VecDeque<SocketId>,
    known: HashSet<SocketId>,
}

impl SignedSockets {
    /// Notes that `socket` was signed a channel for `holder`.
    pub fn record(&self, holder: Holder, socket: SocketId) {
        let mut by_holder = self.by_holder.lock().expect("signed sockets lock poisoned");
        let recent = by_holder.entry(holder).or_default();
        if !recent.known.insert(socket) {
            return;
        }
        recent.order.push_back(socket);
        if recent.order.len() > MAX_SOCKETS_PER_HOLDER {
            if let Some(oldest) = recent.order.pop_front() {
                recent.known.remove(&oldest);
            }
        }
    }

    /// Forgets and returns `holder`'s sockets.
    pub fn take(&self, holder: Holder) -> Vec<SocketId> {
        let mut by_holder = self.by_holder.lock().expect("signed sockets lock poisoned");
        by_holder
            .remove(&holder)
            .map(|recent| recent.order.into())
            .unwrap_or_default()
    }
}

/// What the watcher closes sockets with: the realtime server (see
/// [`crate::broadcast::Embedded`]).
pub trait SocketCloser: Send + Sync + 'static {
    /// Closes with 4009 and `reason` every socket subscribed to `channel`, on every node.
    fn close_channel(&self, channel: &str, reason: &str);
    /// Closes with 4009 and `reason` the sockets with these ids, on every node.
    fn close_sockets(&self, sockets: &[SocketId], reason: &str);
    /// Closes with 4200 (reconnect at once) and `reason` the sockets with these ids, on every
    /// node.
    fn reconnect_sockets(&self, sockets: &[SocketId], reason: &str);
}

/// What has been revoked, as far as the watcher has acted on it.
#[derive(Debug, Default)]
struct Revoked {
    widgets: HashSet<i64>,
    agents: HashSet<i64>,
}

impl Revoked {
    /// What is revoked in the store now.
    async fn read(store: &dyn Store) -> parley_store::Result<Revoked> {
        let widgets = store.widgets().await?;
        let agents = store.agents().await?;
        Ok(Revoked {
            widgets: widgets
                .iter()
                .filter(|w| w.revoked_at.is_some())
                .map(|w| w.id)
                .collect(),
            agents: agents
                .iter()
                .filter(|a| a.revoked_at.is_some())
                .map(|a| a.id)
                .collect(),
        })
    }
}

/// Watches for revocations every `interval` until `shutdown`, closing through `closer` the
/// sockets of what is newly revoked. What is already revoked when this is called is left alone
/// (it has no live sockets here); anything revoked after it returns is acted on.
pub async fn spawn_watcher(
    store: Arc<dyn Store>,
    signed: Arc<SignedSockets>,
    interval: Duration,
    closer: impl SocketCloser,
    shutdown: CancellationToken,
) {
    // Read before returning, so a revocation right after this call is never mistaken for an
    // old one.
    let mut acted_on = Revoked::read(store.as_ref()).await.unwrap_or_else(|error| {
        tracing::error!(%error, "revocation watcher cannot read widgets and agents");
        Revoked::default()
    });
    let mut access = AccessChanges::new(chrono::Utc::now());
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let now = match Revoked::read(store.as_ref()).await {
                Ok(now) => now,
                Err(error) => {
                    tracing::warn!(%error, "revocation watcher cannot read widgets and agents");
                    continue;
                }
            };
            for &agent_id in now.agents.difference(&acted_on.agents) {
                closer.close_channel(&agent_channel(agent_id), AGENT_REVOKED);
                tracing::info!(agent = agent_id, "agent revoked: live sockets closed");
            }
            // Every look, not only the first after the revocation: a request that passed its
            // token check just before the revocation may record its socket just after.
            for &agent_id in &now.agents {
                close_signed(&signed, &closer, Holder::Agent(agent_id), AGENT_REVOKED);
            }
            for &widget_id in &now.widgets {
                close_signed(&signed, &closer, Holder::Widget(widget_id), WIDGET_REVOKED);
            }
            access.act(store.as_ref(), &signed, &closer).await;
            acted_on.agents = now.agents;
            let newly_revoked: Vec<i64> =
                now.widgets.difference(&acted_on.widgets).copied().collect();
            for widget_id in newly_revoked {
                // Only marked as acted on once its conversations could be listed, so a failed
                // read is tried again on the next look.
                if close_widget(store.as_ref(), widget_id, &closer).await {
                    acted_on.widgets.insert(widget_id);
                }
            }
        }
    });
}

/// The agents whose rights shrank, as far as this node has acted on them.
struct AccessChanges {
    /// Changes noted after this are looked at.
    since: chrono::DateTime<chrono::Utc>,
    /// Per agent, the change last acted on: looks overlap (clocks of nodes differ a little), and
    /// one change must close the sockets once, not again after they reconnected.
    acted: HashMap<i64, chrono::DateTime<chrono::Utc>>,
}

/// How far back each look reaches before the last one, for changes noted by a node whose clock
/// is a little behind, or committed late.
const ACCESS_OVERLAP: chrono::Duration = chrono::Duration::seconds(10);

impl AccessChanges {
    fn new(now: chrono::DateTime<chrono::Utc>) -> Self {
        Self {
            since: now - ACCESS_OVERLAP,
            acted: HashMap::new(),
        }
    }

    /// Reconnects the sockets this node signed for agents whose rights changed since the last
    /// look.
    async fn act(&mut self, store: &dyn Store, signed: &SignedSockets, closer: &impl SocketCloser) {
        let looked_at = chrono::Utc::now();
        let changes = match store.access_changes_since(self.since).await {
            Ok(changes) => changes,
            Err(error) => {
                tracing::warn!(%error, "revocation watcher cannot read access changes");
                return;
            }
        };
        for (agent_id, changed_at) in changes {
            if self
                .acted
                .get(&agent_id)
                .is_some_and(|done| *done >= changed_at)
            {
                continue;
            }
            self.acted.insert(agent_id, changed_at);
            let sockets = signed.take(Holder::Agent(agent_id));
            if !sockets.is_empty() {
                closer.reconnect_sockets(&sockets, ACCESS_CHANGED);
                tracing::info!(
                    agent = agent_id,
                    sockets = sockets.len(),
                    "access changed: signed sockets told to reconnect"
                );
            }
        }
        self.since = looked_at - ACCESS_OVERLAP;
        // What is older than the window can no longer come back.
        self.acted.retain(|_, done| *done > self.since);
    }
}

/// Closes the sockets signed for `holder` on this node, if any.
fn close_signed(signed: &SignedSockets, closer: &impl SocketCloser, holder: Holder, reason: &str) {
    let sockets = signed.take(holder);
    if !sockets.is_empty() {
        closer.close_sockets(&sockets, reason);
        tracing::info!(
            ?holder,
            sockets = sockets.len(),
            "revoked: signed sockets closed"
        );
    }
}

async fn close_widget(store: &dyn Store, widget_id: i64, closer: &impl SocketCloser) -> bool {
    let query = parley_store::ConversationQuery {
        widget_id: Some(widget_id),
        ..parley_store::ConversationQuery::latest(MAX_CONVERSATIONS)
    };
    match store.conversations(&query).await {
        Ok(conversations) => {
            for conversation in conversations {
                closer.close_channel(&conversation_channel(conversation.id), WIDGET_REVOKED);
            }
            tracing::info!(widget = widget_id, "widget revoked: live sockets closed");
            true
        }
        Err(error) => {
            tracing::warn!(%error, "cannot list a revoked widget's conversations");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket(n: u64) -> SocketId {
        SocketId::parse(&format!("{n}.{n}")).unwrap()
    }

    #[test]
    fn keeps_each_holders_newest_sockets_once() {
        let signed = SignedSockets::default();
        signed.record(Holder::Agent(1), socket(1));
        signed.record(Holder::Agent(1), socket(1));
        signed.record(Holder::Widget(1), socket(2));
        assert_eq!(signed.take(Holder::Agent(1)), [socket(1)]);
        assert!(signed.take(Holder::Agent(1)).is_empty());
        for n in 0..(MAX_SOCKETS_PER_HOLDER as u64 + 10) {
            signed.record(Holder::Agent(2), socket(n + 100));
        }
        let kept = signed.take(Holder::Agent(2));
        assert_eq!(kept.len(), MAX_SOCKETS_PER_HOLDER);
        assert_eq!(kept[0], socket(110));
        assert_eq!(signed.take(Holder::Widget(1)), [socket(2)]);
    }
}
