//! Revoking a widget cuts off its live sockets too, not only future requests. Widgets may be
//! revoked by another process (`parley widget revoke`), so the server watches the store and,
//! for each newly revoked widget, closes the sockets on its conversations' channels.

use std::{collections::HashSet, sync::Arc, time::Duration};

use parley_store::Store;
use tokio_util::sync::CancellationToken;

use crate::payload::conversation_channel;

/// Most conversations whose sockets one revocation closes (the newest first).
const MAX_CONVERSATIONS: i64 = 100_000;

/// Watches for revocations every `interval` until `shutdown`; `close_channel` closes the
/// sockets on one channel. Widgets already revoked when this is called are left alone (they
/// have no live sockets here); any revoked after it returns are acted on.
pub async fn spawn_watcher(
    store: Arc<dyn Store>,
    interval: Duration,
    close_channel: impl Fn(&str) + Send + Sync + 'static,
    shutdown: CancellationToken,
) {
    // Read before returning, so a revocation right after this call is never mistaken for an
    // old one.
    let mut seen: HashSet<i64> = match store.widgets().await {
        Ok(widgets) => widgets
            .iter()
            .filter(|w| w.revoked_at.is_some())
            .map(|w| w.id)
            .collect(),
        Err(error) => {
            tracing::error!(%error, "revocation watcher cannot read widgets");
            HashSet::new()
        }
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(interval) => {}
            }
            let widgets = match store.widgets().await {
                Ok(widgets) => widgets,
                Err(error) => {
                    tracing::warn!(%error, "revocation watcher cannot read widgets");
                    continue;
                }
            };
            let newly_revoked: Vec<i64> = widgets
                .iter()
                .filter(|w| w.revoked_at.is_some() && !seen.contains(&w.id))
                .map(|w| w.id)
                .collect();
            for widget_id in newly_revoked {
                match store
                    .conversations(&parley_store::ConversationQuery {
                        widget_id: Some(widget_id),
                        ..parley_store::ConversationQuery::latest(MAX_CONVERSATIONS)
                    })
                    .await
                {
                    Ok(conversations) => {
                        for conversation in conversations {
                            close_channel(&conversation_channel(conversation.id));
                        }
                        seen.insert(widget_id);
                        tracing::info!(widget = widget_id, "widget revoked: live sockets closed");
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot list a revoked widget's conversations")
                    }
                }
            }
        }
    });
}
