//! Parley's bots: what answers a visitor while a conversation's status is `bot`, and when to hand
//! the conversation to a human.
//!
//! One small trait, [`Bot`], and three implementations chosen per widget by [`BotSettings`]:
//! - `knowledge` (the default; no external service): answers from the widget's question/answer
//!   entries, ranked by tantivy's BM25 ([`knowledge`] documents the file formats);
//! - `llm`: any OpenAI-compatible `/chat/completions` endpoint, streamed, grounded in the same
//!   retrieved knowledge;
//! - `webhook`: each visitor message POSTed, signed ([`sign_webhook`]), to an external bot that
//!   answers later through the chat API (or at once in the response body).
//!
//! The caller (the chat service's bot runner) owns the conversation: it builds a [`Turn`], calls
//! [`Bot::reply`], stores what comes back (marking a [`Reply::Unsure`] so the widget offers the
//! visitor a person under it), and turns [`Reply::Handoff`] or any [`BotError`] into the `human`
//! status. The bots keep no per-conversation
//! state of their own, so any node can answer any turn.

mod intent;
pub mod knowledge;
mod knowledge_bot;
mod llm;
pub mod phrases;
mod retrieval;
mod settings;
mod signing;
mod webhook;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use intent::wants_human;
pub use knowledge::{Entry, KnowledgeError};
pub use knowledge_bot::KnowledgeBot;
pub use llm::LlmBot;
pub use phrases::{phrase, Phrase};
pub use settings::{BotKind, BotSettings};
pub use signing::{
    sign_webhook, verify_webhook, SIGNATURE_HEADER, SIGNATURE_TOLERANCE_SECS, TIMESTAMP_HEADER,
};
pub use webhook::WebhookBot;

/// What the bot is asked to answer: the visitor's new message and what came before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub conversation_id: i64,
    pub widget_id: i64,
    pub visitor_name: Option<String>,
    pub message: String,
    /// Oldest first, excluding `message`.
    pub history: Vec<HistoryEntry>,
    /// How many consecutive unsure replies the bot gave before this turn.
    pub unsure_count: u32,
    /// Bot replies so far in this conversation.
    pub bot_turns: u32,
    /// The conversation's language (the widget's), for the bots' built-in lines.
    pub locale: Option<String>,
}

/// One earlier message of the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub role: Role,
    pub text: String,
}

/// Who wrote a message; the names match the chat API's `sender_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Bot,
    Agent,
    System,
}

/// What the bot decided to do with a turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Send `text` as a bot message.
    Answer { text: String },
    /// The bot is not confident: send `text` (e.g. "I'm not sure, could you rephrase? Or I can
    /// get you a human."). The caller marks the reply as unsure, and the widget offers the
    /// visitor a "Talk to a person" button under it rather than handing over unasked.
    Unsure { text: String },
    /// Hand the conversation to a human now; `text` is the system/bot message to show (e.g. "Let
    /// me get a human for you."), `reason` for logs/agents.
    Handoff { text: String, reason: HandoffReason },
    /// Nothing to say now (webhook bot: the external bot answers later through the API).
    Deferred,
}

/// Why a conversation went to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandoffReason {
    /// The visitor asked for a person (in words, or the widget's button sending `/human`).
    VisitorAsked,
    /// The bot was unsure (kept for bots and webhooks that hand off for that reason; the
    /// built-in bots leave the choice to the visitor).
    Unsure,
    /// The bot failed or timed out (the caller maps any [`BotError`] to this).
    BotFailed,
    /// The conversation used up the bot's turn limit.
    LimitReached,
}

impl HandoffReason {
    /// The snake_case name used in logs, events and storage.
    pub fn as_str(self) -> &'static str {
        match self {
            HandoffReason::VisitorAsked => "visitor_asked",
            HandoffReason::Unsure => "unsure",
            HandoffReason::BotFailed => "bot_failed",
            HandoffReason::LimitReached => "limit_reached",
        }
    }
}

/// A callback receiving each piece of a streamed answer (see [`Bot::reply_streaming`]).
pub type DeltaFn<'a> = dyn Fn(&str) + Send + Sync + 'a;

/// A bot: answers turns, and greets new conversations.
#[async_trait]
pub trait Bot: Send + Sync + std::fmt::Debug {
    /// Answers one turn. An `Err` means the bot failed; the caller hands off with
    /// [`HandoffReason::BotFailed`].
    async fn reply(&self, turn: &Turn) -> Result<Reply, BotError>;

    /// A greeting for new conversations.
    fn greeting(&self) -> Option<String>;

    /// Like [`Bot::reply`], calling `on_delta` with each piece of the answer as it is produced,
    /// so the caller can show the answer being written. Bots that do not stream produce the
    /// whole reply at once and never call `on_delta`; the final `Reply` is always complete.
    async fn reply_streaming(
        &self,
        turn: &Turn,
        on_delta: &DeltaFn<'_>,
    ) -> Result<Reply, BotError> {
        let _ = on_delta;
        self.reply(turn).await
    }
}

/// Why a bot could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BotError {
    /// The external service did not answer (or stopped answering) in time.
    #[error("the bot timed out")]
    Timeout,
    /// The external service answered with an error or something unreadable.
    #[error("the bot's upstream failed: {0}")]
    Upstream(String),
    /// The bot's settings or knowledge are unusable.
    #[error("bot configuration: {0}")]
    Config(String),
}

/// Builds the bot a widget's settings describe. `knowledge_dir` holds the knowledge files
/// (`{widget_id}.md`, `{widget_id}.yaml`/`.yml`, `default.md`; see [`knowledge`]); it may not
/// exist. Errors are configuration errors: bad settings, unreadable or malformed knowledge.
pub fn build(
    settings: &BotSettings,
    knowledge_dir: &Path,
    widget_id: i64,
) -> Result<Arc<dyn Bot>, BotError> {
    let bot: Arc<dyn Bot> = match settings.kind {
        BotKind::Knowledge => Arc::new(KnowledgeBot::new(settings, knowledge_dir, widget_id)?),
        BotKind::Llm => Arc::new(LlmBot::new(settings, knowledge_dir, widget_id)?),
        BotKind::Webhook => Arc::new(WebhookBot::new(settings)?),
    };
    Ok(bot)
}

/// The handoff every bot gives when the visitor asks for a person, if they did.
pub(crate) fn visitor_handoff(settings: &BotSettings, turn: &Turn) -> Option<Reply> {
    wants_human(&turn.message).then(|| Reply::Handoff {
        text: settings.handoff_text(turn.locale.as_deref()),
        reason: HandoffReason::VisitorAsked,
    })
}
