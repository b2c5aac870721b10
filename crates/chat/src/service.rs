//! The chat service: the operations behind the API, each committing to the store first and then
//! broadcasting what changed.
//!
//! Broadcasts go through one ordered queue drained by a single task, so the request never waits
//! on the realtime server (a slow or down broadcaster cannot slow a visitor's send), and events
//! leave in the order their changes were committed.

mod post;

use std::sync::Arc;

use parley_store::{Conversation, ConversationStatus, Reaction, ReadState, Store};
use tokio::sync::{mpsc, Notify};

pub use post::{bot_name, Author, Incoming, Posted, Upload};

use crate::{
    broadcast::{Broadcast, Broadcaster, MAX_CHANNELS_PER_EVENT, MAX_EVENTS_PER_BATCH},
    config::ChatConfig,
    error::ApiError,
    payload::{self, AgentConversationJson, MessageJson},
    presence::AgentPresence,
    revocation::SignedSockets,
};

/// Events waiting to be broadcast. Beyond this they are dropped and logged; clients gap-fill.
const BROADCAST_QUEUE: usize = 10_000;

/// The chat service, shared by every request handler.
#[derive(Debug, Clone)]
pub struct ChatService {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<ChatConfig>,
    broadcasts: mpsc::Sender<Broadcast>,
    /// Asked directly (not through the queue) which channels are occupied.
    pub(crate) broadcaster: Arc<dyn Broadcaster>,
    /// Which agents are online, as last published.
    pub(crate) presence: Arc<AgentPresence>,
    /// Wakes the bot runner when a turn is queued, so replies start without polling delay.
    bot_wakeup: Arc<Notify>,
    /// The sockets this node signed channels for, by identity, for revocation to close.
    pub signed_sockets: Arc<SignedSockets>,
}

impl ChatService {
    /// Starts the service and its broadcast task (which ends when the last handle is dropped).
    pub fn new(
        store: Arc<dyn Store>,
        broadcaster: Arc<dyn Broadcaster>,
        config: ChatConfig,
    ) -> Self {
        let (broadcasts, queue) = mpsc::channel(BROADCAST_QUEUE);
        tokio::spawn(drain(queue, broadcaster.clone()));
        Self {
            store,
            config: Arc::new(config),
            broadcasts,
            broadcaster,
            presence: Arc::default(),
            bot_wakeup: Arc::new(Notify::new()),
            signed_sockets: Arc::default(),
        }
    }

    /// Queues an event for one channel without waiting.
    pub fn broadcast(
        &self,
        channel: String,
        event: &str,
        data: &impl serde::Serialize,
        except_socket: Option<String>,
    ) {
        self.broadcast_to(vec![channel], event, data, except_socket);
    }

    /// Queues an event for several channels (at most [`MAX_CHANNELS_PER_EVENT`]) without
    /// waiting: one publish, one serialisation.
    pub fn broadcast_to(
        &self,
        channels: Vec<String>,
        event: &str,
        data: &impl serde::Serialize,
        except_socket: Option<String>,
    ) {
        debug_assert!(!channels.is_empty() && channels.len() <= MAX_CHANNELS_PER_EVENT);
        let data = payload::fitted(event, data, self.config.max_event_bytes);
        let broadcast = Broadcast {
            channels,
            event: event.to_string(),
            data,
            except_socket,
        };
        if let Err(error) = self.broadcasts.try_send(broadcast) {
            tracing::warn!(%error, "broadcast queue full or closed; event dropped (clients will gap-fill)");
        }
    }

    /// A page of a conversation's history as clients read it: `messages` with `id > after`
    /// (oldest first, at most `limit`, which must be 1-500), `has_more`, every reader's
    /// `read_states` and the `reactions`.
    pub async fn history_page(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
        if !(1..=500).contains(&limit) || after < 0 {
            return Err(ApiError::Validation(
                "limit must be 1-500 and after non-negative".into(),
            ));
        }
        // One extra row tells whether there is more without a count query.
        let mut messages = self
            .store
            .messages_after(conversation_id, after, limit + 1)
            .await?;
        let has_more = messages.len() as i64 > limit;
        messages.truncate(limit as usize);
        let secret = &self.config.link_secret;
        let reactions = self.store.reactions(conversation_id).await?;
        let mut reacted: Vec<i64> = reactions.iter().map(|r| r.message_id).collect();
        reacted.dedup();
        let read_states = self.store.read_states(conversation_id).await?;
        let mut page = serde_json::Map::new();
        page.insert(
            "messages".into(),
            serde_json::to_value(
                messages
                    .iter()
                    .map(|m| MessageJson::new(m, secret))
                    .collect::<Vec<_>>(),
            )
            .expect("messages serialise"),
        );
        page.insert("has_more".into(), has_more.into());
        page.insert(
            "read_states".into(),
            read_states.iter().map(payload::read_json).collect(),
        );
        page.insert(
            "reactions".into(),
            reacted
                .iter()
                .map(|m| payload::reactions_json(*m, &reactions))
                .collect(),
        );
        Ok(page)
    }

    /// What the bot runner waits on.
    pub fn bot_wakeup(&self) -> Arc<Notify> {
        self.bot_wakeup.clone()
    }

    /// Moves a reader's mark and broadcasts the receipt.
    pub async fn mark_read(
        &self,
        conversation_id: i64,
        reader: &str,
        last_read_id: i64,
        except_socket: Option<String>,
    ) -> Result<ReadState, ApiError> {
        let state = self
            .store
            .mark_read(conversation_id, reader, last_read_id)
            .await?;
        self.broadcast(
            payload::conversation_channel(conversation_id),
            payload::READ_EVENT,
            &payload::read_json(&state),
            except_socket,
        );
        Ok(state)
    }

    /// Adds or removes a reaction and broadcasts the message's reactions.
    pub async fn react(
        &self,
        conversation_id: i64,
        message_id: i64,
        reactor: &str,
        emoji: &str,
        on: bool,
        except_socket: Option<String>,
    ) -> Result<Vec<Reaction>, ApiError> {
        let reactions = self
            .store
            .set_reaction(message_id, reactor, emoji, on)
            .await?;
        let json = payload::reactions_json(message_id, &reactions);
        self.broadcast(
            payload::conversation_channel(conversation_id),
            payload::REACTIONS_EVENT,
            &json,
            except_socket,
        );
        Ok(reactions)
    }

    /// Changes a conversation's status and assignee and broadcasts it.
    pub async fn set_status(
        &self,
        conversation_id: i64,
        status: ConversationStatus,
        agent: Option<i64>,
    ) -> Result<Conversation, ApiError> {
        let conversation = self
            .store
            .update_conversation(conversation_id, status, agent)
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        let json = serde_json::json!({
            "id": conversation.id,
            "status": conversation.status.as_str(),
            "assigned_agent_id": conversation.assigned_agent_id,
        });
        self.broadcast(
            payload::conversation_channel(conversation_id),
            payload::CONVERSATION_EVENT,
            &json,
            None,
        );
        self.broadcast(
            payload::AGENTS_CHANNEL.into(),
            payload::INBOX_EVENT,
            &serde_json::json!({
                "conversation": AgentConversationJson::new(&conversation, None),
                "message": null,
            }),
            None,
        );
        Ok(conversation)
    }
}

/// Publishes queued events in order. Whatever queued up while the last publish was in flight
/// goes as one batch: over HTTP, a visitor's message and its inbox update become one request.
async fn drain(mut queue: mpsc::Receiver<Broadcast>, broadcaster: Arc<dyn Broadcaster>) {
    let mut batch = Vec::with_capacity(MAX_EVENTS_PER_BATCH);
    while queue.recv_many(&mut batch, MAX_EVENTS_PER_BATCH).await > 0 {
        let events = std::mem::take(&mut batch);
        let count = events.len();
        if let Err(error) = broadcaster.broadcast_batch(events).await {
            tracing::warn!(driver = broadcaster.name(), count, %error, "broadcast failed; clients will gap-fill");
        }
    }
}
