//! Conversations waiting for a reply by email: a visitor who asked for a human while the
//! widget's team was away leaves their email (or had one), and the agent's reply is emailed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Conversation, Result};

/// Marking and ending a conversation's wait for a reply by email.
#[async_trait]
pub trait EmailWaits: Send + Sync {
    /// Marks the conversation as waiting for the reply by email since `at` (kept if it was
    /// already waiting) and moves its `updated_at`. `email`, when given, becomes the visitor's
    /// email unless the site signed theirs (a verified email is never replaced). `None` when
    /// there is no such conversation.
    async fn wait_for_email(
        &self,
        conversation_id: i64,
        email: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>>;

    /// Ends the wait (an agent replied): the conversation when it was waiting, else `None`.
    async fn end_email_wait(&self, conversation_id: i64) -> Result<Option<Conversation>>;
}
