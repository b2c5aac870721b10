//! The chat service: the operations behind the API, each committing to the store first and then
//! broadcasting what changed.
//!
//! Broadcasts go through one ordered queue ([`BroadcastQueue`]), so the request never waits on
//! the realtime server and events leave in the order their changes were committed.

mod post;

use std::sync::Arc;

use parley_bot::{phrase, Phrase};
use parley_store::{
    Agent, Conversation, ConversationPage, ConversationStatus, Rating, Reaction, ReadState, Role,
    Store,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use post::{bot_name, Author, Incoming, Posted, Upload};

use crate::{
    broadcast::{BroadcastQueue, Broadcaster},
    config::ChatConfig,
    error::ApiError,
    payload::{self, AgentConversationJson, MessageJson},
    presence::{AgentPresence, Team},
    revocation::SignedSockets,
};

/// Longest comment a rating may carry.
const MAX_RATING_COMMENT_CHARS: usize = 1000;

/// The chat service, shared by every request handler.
#[derive(Debug, Clone)]
pub struct ChatService {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Settings.
    pub config: Arc<ChatConfig>,
    broadcasts: BroadcastQueue,
    /// Asked directly (not through the queue) which channels are occupied.
    pub(crate) broadcaster: Arc<dyn Broadcaster>,
    /// Which agents are online, as last published.
    presence: Arc<AgentPresence>,
    /// Wakes the bot runner when a turn is queued, so replies start without polling delay.
    bot_wakeup: Arc<Notify>,
    /// The sockets this node signed channels for, by identity, for revocation to close.
    pub signed_sockets: Arc<SignedSockets>,
    /// Wakes the mail sender when a mail is queued.
    pub(crate) mail_wakeup: Arc<Notify>,
    /// When this node last noted each conversation's visitor as seen.
    pub(crate) seen: Arc<crate::mail::SeenThrottle>,
    /// Wakes the webhook worker when a change may have queued deliveries.
    pub(crate) webhook_wakeup: Arc<Notify>,
}

impl ChatService {
    /// Starts the service and its broadcast task (which ends when the last handle is dropped).
    pub fn new(
        store: Arc<dyn Store>,
        broadcaster: Arc<dyn Broadcaster>,
        config: ChatConfig,
    ) -> Self {
        let broadcasts = BroadcastQueue::start(broadcaster.clone(), config.max_event_bytes);
        Self {
            store,
            config: Arc::new(config),
            broadcasts,
            broadcaster,
            presence: Arc::default(),
            bot_wakeup: Arc::new(Notify::new()),
            signed_sockets: Arc::default(),
            mail_wakeup: Arc::new(Notify::new()),
            seen: Arc::default(),
            webhook_wakeup: Arc::new(Notify::new()),
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

    /// Queues an event for several channels (at most
    /// [`crate::broadcast::MAX_CHANNELS_PER_EVENT`]) without waiting: one publish, one
    /// serialisation.
    pub fn broadcast_to(
        &self,
        channels: Vec<String>,
        event: &str,
        data: &impl serde::Serialize,
        except_socket: Option<String>,
    ) {
        self.broadcasts.send(channels, event, data, except_socket);
    }

    /// Whether any agent is online, as visitors are told (a moment old at most).
    pub async fn agents_online(&self) -> Result<bool, ApiError> {
        self.presence.visitors_answer(self.store.as_ref()).await
    }

    /// Reads the team, publishes what changed since this node's last look, and returns it.
    pub async fn refresh_presence(&self) -> Result<Team, ApiError> {
        self.presence
            .refresh(
                self.store.as_ref(),
                &self.broadcasts,
                self.broadcaster.as_ref(),
            )
            .await
    }

    /// Re-reads the team every `every` until `shutdown`, so a dashboard that went quiet drops
    /// out and changes made on other nodes reach this node's listeners.
    pub fn watch_presence(&self, every: std::time::Duration, shutdown: CancellationToken) {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                if let Err(error) = service.refresh_presence().await {
                    tracing::warn!(%error, "could not read agent availability");
                }
            }
        });
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
        Ok(self
            .history_page_and_rating(conversation_id, after, limit)
            .await?
            .0)
    }

    /// [`Self::history_page`] and the conversation's rating, read in one statement: what a
    /// polling widget asks for every few seconds.
    pub async fn history_page_and_rating(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<(serde_json::Map<String, serde_json::Value>, Option<Rating>), ApiError> {
        if !(1..=500).contains(&limit) || after < 0 {
            return Err(ApiError::Validation(
                "limit must be 1-500 and after non-negative".into(),
            ));
        }
        // One extra row tells whether there is more without a count query.
        let ConversationPage {
            mut messages,
            reactions,
            read_states,
            rating,
        } = self
            .store
            .conversation_page(conversation_id, after, limit + 1)
            .await?;
        let has_more = messages.len() as i64 > limit;
        messages.truncate(limit as usize);
        let secret = &self.config.link_secret;
        let mut reacted: Vec<i64> = reactions.iter().map(|r| r.message_id).collect();
        reacted.dedup();
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
        Ok((page, rating))
    }

    /// Whether `agent` may see and answer the conversations of widget `widget_id`: admins see
    /// every widget, agents the ones they were given (every one when none were).
    pub async fn agent_sees(&self, agent: &Agent, widget_id: i64) -> Result<bool, ApiError> {
        if agent.role == Role::Admin {
            return Ok(true);
        }
        let widgets = self.store.agent_widgets(agent.id).await?;
        Ok(widgets.is_empty() || widgets.contains(&widget_id))
    }

    /// The live widgets `agent` may see, by id.
    pub async fn widgets_of(&self, agent: &Agent) -> Result<Vec<i64>, ApiError> {
        let given = if agent.role == Role::Admin {
            Vec::new()
        } else {
            self.store.agent_widgets(agent.id).await?
        };
        let live = self
            .store
            .widgets()
            .await?
            .into_iter()
            .filter(|w| w.revoked_at.is_none());
        Ok(live
            .map(|w| w.id)
            .filter(|id| given.is_empty() || given.contains(id))
            .collect())
    }

    /// A conversation `agent` may see, or 404 (whether it exists elsewhere is not said).
    pub async fn conversation_for(&self, agent: &Agent, id: i64) -> Result<Conversation, ApiError> {
        let conversation = self
            .store
            .conversation(id)
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        if !self.agent_sees(agent, conversation.widget_id).await? {
            return Err(ApiError::NotFound("conversation"));
        }
        Ok(conversation)
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

    /// Changes a conversation's status and assignee and broadcasts it. Automatic assignment runs
    /// first (a handoff queues work, a close or a hand-back frees a slot), so a conversation given
    /// out at once is announced with its assignee rather than as waiting.
    pub async fn set_status(
        &self,
        conversation_id: i64,
        status: ConversationStatus,
        agent: Option<i64>,
    ) -> Result<Conversation, ApiError> {
        let before = self.store.conversation(conversation_id).await?;
        let mut conversation = self
            .store
            .update_conversation(conversation_id, status, agent)
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        let assigned = self.assign_waiting_logged().await;
        if let Some(change) = assigned
            .iter()
            .find(|c| c.conversation.id == conversation_id)
        {
            conversation = change.conversation.clone();
        }
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
        self.tell_inbox(&conversation, None, None);
        self.announce_automatic(&assigned, Some(conversation_id));
        self.wake_webhooks();
        if let Some(before) = &before {
            self.status_line(before, &conversation).await;
        }
        if status == ConversationStatus::Closed {
            self.transcript_on_close(&conversation).await;
        }
        Ok(conversation)
    }

    /// The line the visitor sees in the thread when a conversation is closed or reopened, in
    /// the conversation's language. Its `client_id` names the state it changed from, so two
    /// agents closing a conversation at once add one line, and each later close adds its own.
    async fn status_line(&self, before: &Conversation, after: &Conversation) {
        let closed = |c: &Conversation| c.status == ConversationStatus::Closed;
        let (which, key) = match (closed(before), closed(after)) {
            (false, true) => (Phrase::Closed, "closed"),
            (true, false) => (Phrase::Reopened, "reopened"),
            _ => return,
        };
        let text = phrase(which, after.locale.as_deref());
        let client_id = format!("{key}-{}", before.updated_at.timestamp_micros());
        if let Err(error) = self.post_system_line(after, text, client_id).await {
            tracing::warn!(conversation = after.id, %error, "could not add the {key} line");
        }
    }

    /// Records the visitor's rating of `conversation` (once; 1-5, an optional comment of at most
    /// 1,000 characters) and tells the conversation's channel and its widget's inbox.
    pub async fn rate(
        &self,
        conversation: &Conversation,
        score: i64,
        comment: Option<&str>,
    ) -> Result<parley_store::Rating, ApiError> {
        if !(1..=5).contains(&score) {
            return Err(ApiError::Validation("score must be 1 to 5".into()));
        }
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        if let Some(comment) = comment {
            crate::text::check("comment", comment)?;
            if comment.chars().count() > MAX_RATING_COMMENT_CHARS {
                return Err(ApiError::Validation(format!(
                    "comment must be at most {MAX_RATING_COMMENT_CHARS} characters"
                )));
            }
        }
        let rating = self
            .store
            .rate(conversation.id, score, comment)
            .await
            .map_err(|error| match error {
                parley_store::StoreError::Conflict(_) => {
                    ApiError::Conflict("this conversation has been rated already".into())
                }
                other => other.into(),
            })?;
        self.broadcast_to(
            vec![
                payload::conversation_channel(conversation.id),
                payload::inbox_channel(conversation.widget_id),
            ],
            payload::RATED_EVENT,
            &rating,
            None,
        );
        self.wake_webhooks();
        Ok(rating)
    }

    /// Notes that `agent_id`'s rights shrank: every node's revocation watcher then has the
    /// sockets it signed for them reconnect, so each channel is authorised again.
    pub async fn access_shrank(&self, agent_id: i64) -> Result<(), ApiError> {
        self.store
            .note_access_change(agent_id, chrono::Utc::now())
            .await?;
        Ok(())
    }

    /// Tells every dashboard that the widgets people answer may have changed.
    pub fn widgets_changed(&self) {
        self.broadcast(
            payload::AGENTS_CHANNEL.into(),
            payload::WIDGETS_CHANGED_EVENT,
            &serde_json::json!({}),
            None,
        );
    }

    /// Tells the agents who answer the conversation's widget that it changed: its new state and,
    /// when a message caused it, the message.
    pub(crate) fn tell_inbox(
        &self,
        conversation: &Conversation,
        message: Option<&MessageJson>,
        except_socket: Option<String>,
    ) {
        self.broadcast(
            payload::inbox_channel(conversation.widget_id),
            payload::INBOX_EVENT,
            &serde_json::json!({
                "conversation": AgentConversationJson::new(conversation, None),
                "message": message,
            }),
            except_socket,
        );
    }
}
