//! Privacy: which conversations belong to one visitor or user, everything stored about a
//! conversation in one piece, erasing a conversation with all that depends on it, and
//! expiring a widget's conversations that have been inactive too long.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Attachment, Conversation, Message, Rating, Reaction, ReadState, Result};

/// Who a privacy request is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitorSelector {
    /// One conversation.
    Conversation(i64),
    /// Every conversation whose visitor gave this email (ASCII letters in any case), on one
    /// widget or on all.
    Email {
        /// The email.
        email: String,
        /// Only this widget's conversations; `None`: every widget's.
        widget_id: Option<i64>,
    },
    /// Every conversation of a verified user (a user token's `sub`) on one widget.
    User {
        /// The user's id on the site.
        user_id: String,
        /// The widget whose site named the user.
        widget_id: i64,
    },
}

/// Everything stored about one conversation, read in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversationExport {
    /// The conversation (the visitor's name, email, page, browser, verified user, answers).
    pub conversation: Conversation,
    /// Every message, oldest first.
    pub messages: Vec<Message>,
    /// The files' details (never the files' bytes or their names on disk).
    pub attachments: Vec<Attachment>,
    /// Reactions on its messages.
    pub reactions: Vec<Reaction>,
    /// Who read up to where.
    pub read_states: Vec<ReadState>,
    /// The visitor's rating, if any.
    pub rating: Option<Rating>,
}

/// A conversation that was erased.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ErasedConversation {
    /// Its id.
    pub id: i64,
    /// Its widget (whose inbox is told).
    pub widget_id: i64,
}

/// What an erasure removed: the conversations and how many rows of each kind went with them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Erased {
    /// The conversations, in the order they were erased.
    pub conversations: Vec<ErasedConversation>,
    /// Messages.
    pub messages: u64,
    /// Attachment records (their files are in `files`).
    pub attachments: u64,
    /// Reactions on the messages.
    pub reactions: u64,
    /// Read marks.
    pub read_states: u64,
    /// Ratings.
    pub ratings: u64,
    /// Bot turns, done or waiting.
    pub bot_jobs: u64,
    /// Mails to the visitor, sent or waiting (their address goes with them).
    pub mail_jobs: u64,
    /// Agents' notes on the conversations (their labels are taken off too).
    pub notes: u64,
    /// The storage names of the attachments' files, for the caller to delete once the
    /// erasure is committed (the store does not own the files).
    #[serde(skip)]
    pub files: Vec<String>,
}

impl Erased {
    /// Adds another erasure's counts and conversations to these.
    pub fn add(&mut self, other: Erased) {
        self.conversations.extend(other.conversations);
        self.messages += other.messages;
        self.attachments += other.attachments;
        self.reactions += other.reactions;
        self.read_states += other.read_states;
        self.ratings += other.ratings;
        self.bot_jobs += other.bot_jobs;
        self.mail_jobs += other.mail_jobs;
        self.notes += other.notes;
        self.files.extend(other.files);
    }

    /// Whether nothing was erased.
    pub fn is_empty(&self) -> bool {
        self.conversations.is_empty()
    }
}

/// Finding, exporting and erasing what is stored about a visitor, and retention.
#[async_trait]
pub trait Privacy: Send + Sync {
    /// The ids of the conversations `who` names, oldest first.
    async fn conversations_of_visitor(&self, who: &VisitorSelector) -> Result<Vec<i64>>;
    /// Everything stored about a conversation, read in one transaction; `None` if there is no
    /// such conversation.
    async fn conversation_export(&self, id: i64) -> Result<Option<ConversationExport>>;
    /// Erases a conversation and everything that depends on it (messages, attachment records,
    /// reactions, read marks, rating, bot turns, mails, notes, labels) in one transaction, so it is erased whole or
    /// not at all; `None` if there is no such conversation. Messages being stored in it at the
    /// same time wait and then find it gone.
    async fn erase_conversation(&self, id: i64) -> Result<Option<Erased>>;
    /// Erases, in one transaction, at most `limit` of widget `widget_id`'s conversations last
    /// active (`updated_at`) before `before`, oldest first. Conversations another node is
    /// erasing at this moment are skipped (PostgreSQL's `SKIP LOCKED`), so nodes running this
    /// at once share the work.
    async fn erase_inactive(
        &self,
        widget_id: i64,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Erased>;
}
