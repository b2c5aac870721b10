//! Every SQL statement the store runs, in the dialect SQLite and PostgreSQL share: `$N`
//! parameters, `RETURNING`, `ON CONFLICT`, no `GREATEST`/`MAX(a, b)` (spelled differently in
//! the two). Each statement that yields records selects the columns its mapper in `rows.rs`
//! reads.

/// The columns of a record, for `SELECT` and `RETURNING` lists. A macro rather than constants
/// so that `concat!` can build each statement as one `&'static str`.
macro_rules! columns {
    (widget) => {
        "id, name, token_hash, allowed_origins, settings, created_at, revoked_at"
    };
    (conversation) => {
        "id, widget_id, visitor_name, visitor_email, visitor_token_hash, status, \
         assigned_agent_id, page_url, user_agent, created_at, updated_at"
    };
    (attachment) => {
        "id, conversation_id, storage_name, original_name, content_type, size_bytes, created_at"
    };
    (agent) => {
        "id, name, email, token_hash, created_at"
    };
    (read_state) => {
        "conversation_id, reader, last_read_id"
    };
    (reaction) => {
        "message_id, reactor, emoji"
    };
}

/// Full messages: each message's own columns plus its attachment's file name.
macro_rules! select_messages {
    () => {
        "SELECT m.id, m.conversation_id, m.sender_type, m.sender_name, m.message, \
         m.attachment_id, a.original_name AS attachment_name, m.is_voice, m.client_id, \
         m.created_at \
         FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id"
    };
}

// Widgets. Revoking returns the id so the caller learns whether a row changed: sqlx has no
// affected-row count that works across databases.

pub(crate) const INSERT_WIDGET: &str = concat!(
    "INSERT INTO widgets (name, token_hash, allowed_origins, settings, created_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING ",
    columns!(widget)
);
pub(crate) const WIDGET_BY_ID: &str =
    concat!("SELECT ", columns!(widget), " FROM widgets WHERE id = $1");
pub(crate) const LIVE_WIDGET_BY_TOKEN_HASH: &str = concat!(
    "SELECT ",
    columns!(widget),
    " FROM widgets WHERE token_hash = $1 AND revoked_at IS NULL"
);
pub(crate) const ALL_WIDGETS: &str =
    concat!("SELECT ", columns!(widget), " FROM widgets ORDER BY id");
pub(crate) const REVOKE_WIDGET: &str =
    "UPDATE widgets SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";

pub(crate) const UPDATE_WIDGET_SETTINGS: &str =
    "UPDATE widgets SET settings = $1 WHERE id = $2 RETURNING id";

// Conversations.

pub(crate) const INSERT_CONVERSATION: &str = concat!(
    "INSERT INTO conversations (widget_id, visitor_name, visitor_email, visitor_token_hash, \
     status, page_url, user_agent, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
    columns!(conversation)
);
pub(crate) const CONVERSATION_BY_ID: &str = concat!(
    "SELECT ",
    columns!(conversation),
    " FROM conversations WHERE id = $1"
);
pub(crate) const UPDATE_CONVERSATION: &str = concat!(
    "UPDATE conversations SET status = $1, assigned_agent_id = $2, updated_at = $3 \
     WHERE id = $4 RETURNING ",
    columns!(conversation)
);
pub(crate) const TOUCH_CONVERSATION: &str =
    "UPDATE conversations SET updated_at = $1 WHERE id = $2 RETURNING id";

/// The inbox: conversations, optionally of one widget (`$1`) and/or with one status (the next
/// parameter), most recently updated first, then the limit. Only the filters in use go into the
/// SQL: an `($1 IS NULL OR widget_id = $1)` form would keep PostgreSQL's cached generic plan
/// from using the (widget_id, updated_at) index.
pub(crate) fn list_conversations(by_widget: bool, by_status: bool) -> String {
    let mut sql = String::from(concat!(
        "SELECT ",
        columns!(conversation),
        " FROM conversations"
    ));
    let filters = [("widget_id", by_widget), ("status", by_status)];
    let mut parameter = 0;
    for (column, _) in filters.iter().filter(|(_, used)| *used) {
        parameter += 1;
        let joiner = if parameter == 1 { "WHERE" } else { "AND" };
        sql.push_str(&format!(" {joiner} {column} = ${parameter}"));
    }
    // `id` breaks ties between equal timestamps so the order is stable.
    sql.push_str(&format!(
        " ORDER BY updated_at DESC, id DESC LIMIT ${}",
        parameter + 1
    ));
    sql
}

// Messages. A repeated (conversation_id, client_id) inserts nothing and returns no row, also
// while another transaction is inserting the same pair (the unique index makes this one wait
// for that one's outcome).

pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO messages (conversation_id, sender_type, \
     sender_name, message, attachment_id, is_voice, client_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING id";
pub(crate) const MESSAGE_BY_ID: &str = concat!(select_messages!(), " WHERE m.id = $1");
pub(crate) const MESSAGE_BY_CLIENT_ID: &str = concat!(
    select_messages!(),
    " WHERE m.conversation_id = $1 AND m.client_id = $2"
);
pub(crate) const MESSAGES_AFTER: &str = concat!(
    select_messages!(),
    " WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3"
);
pub(crate) const MESSAGE_EXISTS: &str = "SELECT id FROM messages WHERE id = $1";

// Attachments.

pub(crate) const INSERT_ATTACHMENT: &str = concat!(
    "INSERT INTO attachments (conversation_id, storage_name, original_name, content_type, \
     size_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!(attachment)
);
pub(crate) const ATTACHMENT_BY_ID: &str = concat!(
    "SELECT ",
    columns!(attachment),
    " FROM attachments WHERE id = $1"
);

// Read marks. One statement, so concurrent marks cannot interleave; the CASE keeps the larger.

pub(crate) const MARK_READ: &str = concat!(
    "INSERT INTO read_states (conversation_id, reader, last_read_id) VALUES ($1, $2, $3) \
     ON CONFLICT (conversation_id, reader) DO UPDATE SET last_read_id = \
     CASE WHEN excluded.last_read_id > read_states.last_read_id \
     THEN excluded.last_read_id ELSE read_states.last_read_id END \
     RETURNING ",
    columns!(read_state)
);
pub(crate) const READ_STATES: &str = concat!(
    "SELECT ",
    columns!(read_state),
    " FROM read_states WHERE conversation_id = $1 ORDER BY reader"
);

// Reactions, sorted by emoji and then reactor so that equal emoji sit together.

pub(crate) const ADD_REACTION: &str = "INSERT INTO reactions (message_id, reactor, emoji) \
     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
pub(crate) const REMOVE_REACTION: &str =
    "DELETE FROM reactions WHERE message_id = $1 AND reactor = $2 AND emoji = $3";
pub(crate) const MESSAGE_REACTIONS: &str = concat!(
    "SELECT ",
    columns!(reaction),
    " FROM reactions WHERE message_id = $1 ORDER BY emoji, reactor"
);
pub(crate) const CONVERSATION_REACTIONS: &str = "SELECT r.message_id, r.reactor, r.emoji \
     FROM reactions r JOIN messages m ON m.id = r.message_id WHERE m.conversation_id = $1 \
     ORDER BY r.message_id, r.emoji, r.reactor";

// Agents.

pub(crate) const INSERT_AGENT: &str = concat!(
    "INSERT INTO agents (name, email, token_hash, created_at) VALUES ($1, $2, $3, $4) \
     RETURNING ",
    columns!(agent)
);
pub(crate) const AGENT_BY_TOKEN_HASH: &str = concat!(
    "SELECT ",
    columns!(agent),
    " FROM agents WHERE token_hash = $1"
);
pub(crate) const ALL_AGENTS: &str = concat!("SELECT ", columns!(agent), " FROM agents ORDER BY id");

#[cfg(test)]
mod tests {
    use super::list_conversations;

    #[test]
    fn numbers_only_the_filters_in_use() {
        let tail = |sql: String| sql[sql.find(" FROM").unwrap_or(0)..].to_owned();
        assert_eq!(
            tail(list_conversations(false, false)),
            " FROM conversations ORDER BY updated_at DESC, id DESC LIMIT $1"
        );
        assert_eq!(
            tail(list_conversations(false, true)),
            " FROM conversations WHERE status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        assert_eq!(
            tail(list_conversations(true, true)),
            " FROM conversations WHERE widget_id = $1 AND status = $2 \
             ORDER BY updated_at DESC, id DESC LIMIT $3"
        );
    }
}
