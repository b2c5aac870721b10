//! Revoking a widget or an agent cuts off its live sockets too, not only future requests. Either
//! may be revoked by another process (`parley widget revoke`, `parley agent revoke`), so the
//! server watches the store and closes the sockets of whatever was newly revoked: a widget's on
//! its conversations' channels, an agent's on that agent's own channel, which every dashboard
//! subscribes to. A closed dashboard falls back to polling, whose next call is refused, and so
//! it signs out.

use std::{collections::HashSet, sync::Arc, time::Duration};

use parley_store::Store;
use tokio_util::sync::CancellationToken;

use crate::payload::{agent_channel, conversation_channel};

/// Most conversations whose sockets one revocation closes (the newest first).
const MAX_CONVERSATIONS: i64 = 100_000;

/// Why a socket was closed, as its client is told.
pub const WIDGET_REVOKED: &str = "Widget revoked";
pub const AGENT_REVOKED: &str = "Agent revoked";

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

/// Watches for revocations every `interval` until `shutdown`; `close_channel(channel, reason)`
/// closes the sockets on one channel. What is already revoked when this is called is left alone
/// (it has no live sockets here); anything revoked after it returns is acted on.
pub async fn spawn_watcher(
    store: Arc<dyn Store>,
    interval: Duration,
    close_channel: impl Fn(&str, &str) + Send + Sync + 'static,
    shutdown: CancellationToken,
) {
    // Read before returning, so a revocation right after this call is never mistaken for an
    // old one.
    let mut acted_on = Revoked::read(store.as_ref()).await.unwrap_or_else(|error| {
        tracing::error!(%error, "revocation watcher cannot read widgets and agents");
        Revoked::default()
    });
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
                close_channel(&agent_channel(agent_id), AGENT_REVOKED);
                tracing::info!(agent = agent_id, "agent revoked: live sockets closed");
            }
            acted_on.agents = now.agents;
            let newly_revoked: Vec<i64> =
                now.widgets.difference(&acted_on.widgets).copied().collect();
            for widget_id in newly_revoked {
                // Only marked as acted on once its conversations could be listed, so a failed
                // read is tried again on the next look.
                if close_widget(store.as_ref(), widget_id, &close_channel).await {
                    acted_on.widgets.insert(widget_id);
                }
            }
        }
    });
}

async fn close_widget(
    store: &dyn Store,
    widget_id: i64,
    close_channel: &impl Fn(&str, &str),
) -> bool {
    let query = parley_store::ConversationQuery {
        widget_id: Some(widget_id),
        ..parley_store::ConversationQuery::latest(MAX_CONVERSATIONS)
    };
    match store.conversations(&query).await {
        Ok(conversations) => {
            for conversation in conversations {
                close_channel(&conversation_channel(conversation.id), WIDGET_REVOKED);
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
