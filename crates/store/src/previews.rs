//! What the agents' inbox shows of each listed conversation's messages, read in one statement
//! for a whole listing: the newest message (what unread and the row's time go by), the newest
//! message that is not Parley's own line (a handoff notice reads the same in every row, so the
//! row previews what the visitor or the bot or an agent last said instead), and, for a search,
//! the newest message holding the searched text (why the conversation was found); and the page
//! the visitor is on, kept current as they move around the site.

use async_trait::async_trait;

use crate::{Conversation, Message, Result};

/// One conversation's messages as an inbox row shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPreview {
    pub conversation_id: i64,
    /// The newest message.
    pub last: Message,
    /// The newest message whose sender is not `system`; `None` when all are.
    pub preview: Option<Message>,
    /// With a search text: the newest message containing it (case folded as the search folds
    /// it), `None` when the conversation was found by its visitor's details or labels only.
    pub matched: Option<Message>,
}

/// Reading the inbox's previews.
#[async_trait]
pub trait InboxPreviews: Send + Sync {
    /// The previews of these conversations (those with any message, in no set order), in one
    /// statement for up to 200 conversations (a listing's most). `search` is the inbox's search
    /// text, when searching.
    async fn inbox_previews(
        &self,
        conversation_ids: &[i64],
        search: Option<&str>,
    ) -> Result<Vec<InboxPreview>>;

    /// Notes the page the conversation's visitor is on now: the conversation when that changed
    /// its `page_url`, else `None` (the same page, or no such conversation). `updated_at` stays:
    /// moving around the site is not news that reorders the inbox.
    async fn note_page(&self, conversation_id: i64, page_url: &str)
        -> Result<Option<Conversation>>;
}
