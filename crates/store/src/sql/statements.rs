//! Every SQL statement the store runs, in the dialect SQLite and PostgreSQL share: `$N`
//! parameters, `RETURNING`, `ON CONFLICT`, no `GREATEST`/`MAX(a, b)` (spelled differently in
//! the two). Each statement that yields records selects the columns its mapper in `rows.rs`
//! reads.

use crate::{Assignee, ConversationQuery};

/// The columns of a record, for `SELECT` and `RETURNING` lists. A macro rather than constants
/// so that `concat!` can build each statement as one `&'static str`.
macro_rules! columns {
    (widget) => {
        "id, name, token_hash, allowed_origins, settings, identity_secret, created_at, revoked_at"
    };
    (conversation) => {
        "id, widget_id, visitor_name, visitor_email, visitor_token_hash, status, \
         assigned_agent_id, page_url, user_agent, user_id, name_verified, email_verified, \
         attributes, consent_at, locale, waiting_for_email_at, created_at, updated_at"
    };
    (attachment) => {
        "id, conversation_id, storage_name, original_name, content_type, size_bytes, created_at"
    };
    (agent) => {
        "id, name, email, token_hash, role, password_hash, availability, last_seen_at, \
         created_at, revoked_at"
    };
    (session) => {
        "id, agent_id, token_hash, csrf_token, ip, user_agent, created_at, last_seen_at, \
         revoked_at"
    };
    (account_link) => {
        "id, agent_id, purpose, token_hash, created_at, expires_at, used_at"
    };
    (audit_entry) => {
        "id, actor_id, action, target, ip, detail, created_at"
    };
    (read_state) => {
        "conversation_id, reader, last_read_id"
    };
    (reaction) => {
        "message_id, reactor, emoji"
    };
    (saved_reply) => {
        "id, shortcut, text, created_at, updated_at"
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
    "INSERT INTO widgets (name, token_hash, allowed_origins, settings, identity_secret, \
     created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!(widget)
);
pub(crate) const WIDGET_BY_ID: &str =
    concat!("SELECT ", columns!(widget), " FROM widgets WHERE id = $1");
pub(crate) const LIVE_WIDGET_BY_TOKEN_HASH: &str = concat!(
    "SELECT ",
    columns!(widget),
    " FROM widgets WHERE token_hash = $1 AND revoked_at IS NULL"
);
/// The requests of a batched read (`group_read.rs`) as a table, `q`: one row per request,
/// numbered `n` from 0, with a column per entry of `columns` (its name and SQL type), bound from
/// `$first` on, request by request. The casts give PostgreSQL the parameters' types, which
/// a `VALUES` list does not imply.
fn requests(rows: usize, columns: &[(&str, &str)], first: usize) -> String {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let params = columns.iter().enumerate().map(|(column, (_, sql_type))| {
                format!(
                    "CAST(${} AS {sql_type})",
                    first + row * columns.len() + column
                )
            });
            let row = std::iter::once(format!("CAST({row} AS BIGINT)")).chain(params);
            format!("({})", row.collect::<Vec<_>>().join(", "))
        })
        .collect();
    format!(
        "WITH q(n, {}) AS (VALUES {}) ",
        names.join(", "),
        values.join(", ")
    )
}

/// The columns of a widget joined with one of its conversations: the widget's keep their
/// names, the conversation's are prefixed `c_` (see `rows::prefixed`).
macro_rules! widget_and_conversation_columns {
    () => {
        "w.id, w.name, w.token_hash, w.allowed_origins, w.settings, w.identity_secret, \
         w.created_at, w.revoked_at, \
         c.id AS c_id, c.widget_id AS c_widget_id, c.visitor_name AS c_visitor_name, \
         c.visitor_email AS c_visitor_email, c.visitor_token_hash AS c_visitor_token_hash, \
         c.status AS c_status, c.assigned_agent_id AS c_assigned_agent_id, \
         c.page_url AS c_page_url, c.user_agent AS c_user_agent, c.user_id AS c_user_id, \
         c.name_verified AS c_name_verified, c.email_verified AS c_email_verified, \
         c.attributes AS c_attributes, c.consent_at AS c_consent_at, c.locale AS c_locale, \
         c.waiting_for_email_at AS c_waiting_for_email_at, c.created_at AS c_created_at, \
         c.updated_at AS c_updated_at"
    };
}

/// A live widget by token hash (`$1`) and, in the same row, one of its conversations (`$2`;
/// NULLs when it has no such conversation): the visitor endpoints' two reads in one round
/// trip.
pub(crate) const LIVE_WIDGET_AND_CONVERSATION: &str = concat!(
    "SELECT ",
    widget_and_conversation_columns!(),
    " FROM widgets w LEFT JOIN conversations c ON c.id = $2 AND c.widget_id = w.id \
     WHERE w.token_hash = $1 AND w.revoked_at IS NULL"
);

/// [`LIVE_WIDGET_AND_CONVERSATION`] for each of `rows` requests (a token hash and a
/// conversation id, `$1`, `$2`, then `$3`…), in one statement: `n` names the request, and a
/// token no live widget has gets no row.
pub(crate) fn live_widgets_and_conversations(rows: usize) -> String {
    requests(
        rows,
        &[("token_hash", "TEXT"), ("conversation_id", "BIGINT")],
        1,
    ) + concat!(
        "SELECT q.n AS n, ",
        widget_and_conversation_columns!(),
        " FROM q JOIN widgets w ON w.token_hash = q.token_hash AND w.revoked_at IS NULL \
             LEFT JOIN conversations c ON c.id = q.conversation_id AND c.widget_id = w.id"
    )
}
pub(crate) const ALL_WIDGETS: &str =
    concat!("SELECT ", columns!(widget), " FROM widgets ORDER BY id");
pub(crate) const REVOKE_WIDGET: &str =
    "UPDATE widgets SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";

pub(crate) const UPDATE_WIDGET: &str = concat!(
    "UPDATE widgets SET name = $1, allowed_origins = $2 WHERE id = $3 AND revoked_at IS NULL \
     RETURNING ",
    columns!(widget)
);
pub(crate) const SET_WIDGET_TOKEN: &str =
    "UPDATE widgets SET token_hash = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";
pub(crate) const UPDATE_WIDGET_SETTINGS: &str =
    "UPDATE widgets SET settings = $1 WHERE id = $2 RETURNING id";

// Conversations.

pub(crate) const INSERT_CONVERSATION: &str = concat!(
    "INSERT INTO conversations (widget_id, visitor_name, visitor_email, visitor_token_hash, \
     status, page_url, user_agent, user_id, name_verified, email_verified, attributes, \
     consent_at, locale, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING ",
    columns!(conversation)
);
pub(crate) const CONVERSATION_BY_ID: &str = concat!(
    "SELECT ",
    columns!(conversation),
    " FROM conversations WHERE id = $1"
);
/// A conversation's columns, for statements built elsewhere.
pub(crate) const CONVERSATION_COLUMNS: &str = columns!(conversation);
/// Also stamps when a new assignee got it (`assigned_at`, see `assignment.rs`), remembers an
/// agent who gives up an open conversation (`passed_agent_id`: automatic assignment offers it to
/// the others), and, for reports, the first time it goes to a person (`handed_off_at`) and when
/// it was closed (`closed_at`: kept while it stays closed, cleared when it is reopened).
pub(crate) const UPDATE_CONVERSATION: &str = concat!(
    "UPDATE conversations SET status = $1, assigned_agent_id = $2, updated_at = $3, \
     assigned_at = CASE WHEN $2 IS NULL THEN NULL WHEN assigned_agent_id = $2 THEN assigned_at \
     ELSE $3 END, \
     passed_agent_id = CASE WHEN $1 = 'human' AND $2 IS NULL AND assigned_agent_id IS NOT NULL \
     THEN assigned_agent_id ELSE passed_agent_id END, \
     handed_off_at = CASE WHEN $1 = 'human' THEN COALESCE(handed_off_at, $3) \
     ELSE handed_off_at END, \
     closed_at = CASE WHEN $1 = 'closed' THEN COALESCE(closed_at, $3) ELSE NULL END \
     WHERE id = $4 RETURNING ",
    columns!(conversation)
);
/// The visitor waits for the reply by email: `$1` their email unless the site signed theirs
/// (none: keep the one given before), `$2` now, `$3` the conversation.
pub(crate) const WAIT_FOR_EMAIL: &str = concat!(
    "UPDATE conversations SET \
     visitor_email = CASE WHEN email_verified THEN visitor_email \
     ELSE COALESCE($1, visitor_email) END, \
     waiting_for_email_at = COALESCE(waiting_for_email_at, $2), updated_at = $2 \
     WHERE id = $3 RETURNING ",
    columns!(conversation)
);
pub(crate) const END_EMAIL_WAIT: &str = concat!(
    "UPDATE conversations SET waiting_for_email_at = NULL \
     WHERE id = $1 AND waiting_for_email_at IS NOT NULL RETURNING ",
    columns!(conversation)
);
pub(crate) const TOUCH_CONVERSATION: &str =
    "UPDATE conversations SET updated_at = $1 WHERE id = $2 RETURNING id";

/// The inbox: conversations matching `query`'s filters, most recently updated first. The
/// parameters are bound in the order of [`ConversationQuery`]'s fields that are set, then the
/// limit. Only the filters in use go into the SQL: an `($1 IS NULL OR widget_id = $1)` form
/// would keep PostgreSQL's cached generic plan from using the indexes.
/// A LIKE pattern matching `text` anywhere, case folded as `LOWER()` folds it, with LIKE's own
/// characters escaped (`\` is the escape character).
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

pub(crate) fn list_conversations(query: &ConversationQuery) -> String {
    let mut sql = String::from(concat!(
        "SELECT ",
        columns!(conversation),
        " FROM conversations"
    ));
    let mut parameter = 0;
    let mut filter = |sql: &mut String, condition: &str, binds: bool| {
        sql.push_str(if sql.contains(" WHERE ") {
            " AND "
        } else {
            " WHERE "
        });
        if binds {
            parameter += 1;
            sql.push_str(&condition.replace('?', &format!("${parameter}")));
        } else {
            sql.push_str(condition);
        }
    };
    if query.widget_id.is_some() {
        filter(&mut sql, "widget_id = ?", true);
    }
    if query.status.is_some() {
        filter(&mut sql, "status = ?", true);
    }
    match query.assignee {
        Some(Assignee::Agent(_)) => filter(&mut sql, "assigned_agent_id = ?", true),
        Some(Assignee::Nobody) => filter(&mut sql, "assigned_agent_id IS NULL", false),
        None => {}
    }
    if query.updated_before.is_some() {
        filter(&mut sql, "updated_at < ?", true);
    }
    if query.visible_to.is_some() {
        // One parameter (the agent), used twice: no rows means every widget.
        filter(
            &mut sql,
            "(NOT EXISTS (SELECT 1 FROM agent_widgets aw WHERE aw.agent_id = ?) \
             OR widget_id IN (SELECT aw.widget_id FROM agent_widgets aw WHERE aw.agent_id = ?))",
            true,
        );
    }
    if query.waiting_for_email {
        filter(
            &mut sql,
            "waiting_for_email_at IS NOT NULL AND status <> 'closed'",
            false,
        );
    }
    if query.label_id.is_some() {
        filter(
            &mut sql,
            "EXISTS (SELECT 1 FROM conversation_labels cl \
             WHERE cl.conversation_id = conversations.id AND cl.label_id = ?)",
            true,
        );
    }
    if query.text.is_some() {
        // One parameter, used five times: the LIKE pattern, already lowercased and escaped.
        filter(
            &mut sql,
            "(LOWER(COALESCE(visitor_name, '')) LIKE ? ESCAPE '\\' \
             OR LOWER(COALESCE(visitor_email, '')) LIKE ? ESCAPE '\\' \
             OR LOWER(CAST(attributes AS TEXT)) LIKE ? ESCAPE '\\' \
             OR EXISTS (SELECT 1 FROM conversation_labels cl JOIN labels l ON l.id = cl.label_id \
             WHERE cl.conversation_id = conversations.id AND LOWER(l.name) LIKE ? ESCAPE '\\') \
             OR EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = conversations.id \
             AND LOWER(m.message) LIKE ? ESCAPE '\\'))",
            true,
        );
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
/// A message as a row of a conversation page (below).
macro_rules! page_message_columns {
    () => {
        "m.id AS id, m.attachment_id AS number, m.sender_type AS t1, m.sender_name AS t2, \
         m.message AS t3, a.original_name AS t4, m.client_id AS t5, m.is_voice AS flag, \
         m.created_at AS at"
    };
}

/// [`MESSAGES_AFTER`] (`$1`, `$2`, `$3`), the conversation's reactions, read marks and rating,
/// in one statement: what a polling widget reads. One row per record, `kind` 0 to 3 in that
/// order, the columns shared out as below (NULL where a record has nothing), each kind sorted
/// as its own statement sorts it.
///
/// | kind | `id` | `number` | `t1` | `t2` | `t3` | `t4` | `t5` | `flag` | `at` |
/// | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
/// | 0 message | id | attachment_id | sender_type | sender_name | message | attachment_name | client_id | is_voice | created_at |
/// | 1 reaction | message_id | | emoji | reactor | | | | | |
/// | 2 read mark | | last_read_id | reader | | | | | | |
/// | 3 rating | score | | comment | | | | | | created_at |
pub(crate) const CONVERSATION_PAGE: &str = concat!(
    "SELECT kind, id, number, t1, t2, t3, t4, t5, flag, at \
     FROM (SELECT CAST(0 AS BIGINT) AS kind, ",
    page_message_columns!(),
    " FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
     WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3) page \
     UNION ALL SELECT 1, r.message_id, NULL, r.emoji, r.reactor, NULL, NULL, NULL, NULL, NULL \
     FROM reactions r JOIN messages m ON m.id = r.message_id WHERE m.conversation_id = $1 \
     UNION ALL SELECT 2, NULL, s.last_read_id, s.reader, NULL, NULL, NULL, NULL, NULL, NULL \
     FROM read_states s WHERE s.conversation_id = $1 \
     UNION ALL SELECT 3, g.score, NULL, g.comment, NULL, NULL, NULL, NULL, NULL, g.created_at \
     FROM ratings g WHERE g.conversation_id = $1 \
     ORDER BY kind, id, t1, t2"
);

/// [`CONVERSATION_PAGE`] for each of `rows` requests (a conversation id and a message id,
/// `$2`, `$3`, then `$4`…) with one limit (`$1`), in one statement: `n` names the request, and
/// rows come sorted by request first.
///
/// The messages are the one part whose SQL differs ([`super::Backend::PAGE_MESSAGES`]): each
/// request's own `LIMIT` needs a `LATERAL` join on PostgreSQL, which SQLite does not have.
pub(crate) fn conversation_pages(rows: usize, page_messages: &str) -> String {
    requests(
        rows,
        &[("conversation_id", "BIGINT"), ("after_id", "BIGINT")],
        2,
    ) + "SELECT n, kind, id, number, t1, t2, t3, t4, t5, flag, at FROM ("
        + page_messages
        + " UNION ALL SELECT q.n, 1, r.message_id, NULL, r.emoji, r.reactor, NULL, NULL, NULL, \
           NULL, NULL \
           FROM q JOIN messages m ON m.conversation_id = q.conversation_id \
           JOIN reactions r ON r.message_id = m.id \
           UNION ALL SELECT q.n, 2, NULL, s.last_read_id, s.reader, NULL, NULL, NULL, NULL, NULL, \
           NULL FROM q JOIN read_states s ON s.conversation_id = q.conversation_id \
           UNION ALL SELECT q.n, 3, g.score, NULL, g.comment, NULL, NULL, NULL, NULL, NULL, \
           g.created_at FROM q JOIN ratings g ON g.conversation_id = q.conversation_id\
           ) page ORDER BY n, kind, id, t1, t2"
}

/// The messages of [`conversation_pages`] on PostgreSQL: per request, an index range scan that
/// stops at the limit.
pub(crate) const PAGE_MESSAGES_LATERAL: &str = concat!(
    "SELECT q.n AS n, CAST(0 AS BIGINT) AS kind, page.* FROM q CROSS JOIN LATERAL (SELECT ",
    page_message_columns!(),
    " FROM messages m LEFT JOIN attachments a ON a.id = m.attachment_id \
     WHERE m.conversation_id = q.conversation_id AND m.id > q.after_id \
     ORDER BY m.id LIMIT $1) page"
);

/// The messages of [`conversation_pages`] on SQLite, which has no `LATERAL`: the ids come from
/// a correlated subquery with the limit (run per request, on the same index), the rows by id.
pub(crate) const PAGE_MESSAGES_IN: &str = concat!(
    "SELECT q.n AS n, CAST(0 AS BIGINT) AS kind, ",
    page_message_columns!(),
    " FROM q JOIN messages m ON m.id IN (SELECT p.id FROM messages p \
     WHERE p.conversation_id = q.conversation_id AND p.id > q.after_id ORDER BY p.id LIMIT $1) \
     LEFT JOIN attachments a ON a.id = m.attachment_id"
);
/// The newest `$3` messages with `id <= $2`, put back in order by the outer query.
pub(crate) const LATEST_MESSAGES: &str = concat!(
    "SELECT * FROM (",
    select_messages!(),
    " WHERE m.conversation_id = $1 AND m.id <= $2 ORDER BY m.id DESC LIMIT $3) latest ORDER BY id"
);

/// The last message of each of `count` conversations (`$1`…).
pub(crate) fn last_messages(count: usize) -> String {
    let placeholders: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!(
        concat!(
            select_messages!(),
            " WHERE m.id IN (SELECT MAX(id) FROM messages WHERE conversation_id IN ({}) \
             GROUP BY conversation_id)"
        ),
        placeholders.join(", ")
    )
}
/// Rows one multi-row statement of a batch inserts at most; a batch uses these sizes (largest
/// first), so a handful of statement shapes serve every batch and stay prepared.
pub(crate) const ROW_CHUNKS: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// [`INSERT_MESSAGE`] for `rows` messages (8 parameters each, in its order), answering with
/// the stored messages (their attachments' names are the caller's), so a batch needs no
/// `SELECT` per message.
pub(crate) fn insert_messages(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| {
            let first = row * 8;
            let params: Vec<String> = (1..=8).map(|n| format!("${}", first + n)).collect();
            format!("({})", params.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO messages (conversation_id, sender_type, sender_name, message, \
         attachment_id, is_voice, client_id, created_at) VALUES {} \
         ON CONFLICT (conversation_id, client_id) DO NOTHING \
         RETURNING id, conversation_id, sender_type, sender_name, message, attachment_id, \
         is_voice, client_id, created_at",
        values.join(", ")
    )
}

/// The bot turns of `rows` messages: `$1` now, then (conversation, message) pairs.
pub(crate) fn insert_bot_jobs(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|row| format!("(${}, ${}, $1, $1, $1)", 2 * row + 2, 2 * row + 3))
        .collect();
    format!(
        "INSERT INTO bot_jobs (conversation_id, message_id, run_at, created_at, updated_at) \
         VALUES {} ON CONFLICT (message_id) DO NOTHING",
        values.join(", ")
    )
}

/// Moves the `updated_at` of `count` conversations (`$2`…) to `$1`, returning the ids of those
/// that exist.
pub(crate) fn touch_conversations(count: usize) -> String {
    let ids: Vec<String> = (2..count + 2).map(|n| format!("${n}")).collect();
    format!(
        "UPDATE conversations SET updated_at = $1 WHERE id IN ({}) RETURNING id",
        ids.join(", ")
    )
}

/// [`touch_conversations`] that first locks the rows in the order of their ids (PostgreSQL), so
/// that two batches touching the same conversations cannot deadlock.
pub(crate) fn lock_and_touch_conversations(count: usize) -> String {
    let ids: Vec<String> = (2..count + 2).map(|n| format!("${n}")).collect();
    format!(
        "UPDATE conversations SET updated_at = $1 WHERE id IN \
         (SELECT id FROM conversations WHERE id IN ({}) ORDER BY id FOR UPDATE) RETURNING id",
        ids.join(", ")
    )
}

/// The `message.created` deliveries of `count` messages (`$5`…), as one change each announces
/// them (`webhooks.rs`), in the order of the messages: `$1` the event, `$2` the detail, `$3`
/// now, `$4` `%,{event},%`.
pub(crate) fn announce_messages(count: usize) -> String {
    let ids: Vec<String> = (5..count + 5).map(|n| format!("${n}")).collect();
    format!(
        "INSERT INTO webhook_deliveries \
         (webhook_id, event, conversation_id, message_id, detail, next_attempt_at, created_at) \
         SELECT w.id, $1, m.conversation_id, m.id, $2, $3, $3 \
         FROM messages m JOIN conversations c ON c.id = m.conversation_id \
         JOIN webhooks w ON w.disabled_at IS NULL \
         AND (w.widget_id IS NULL OR w.widget_id = c.widget_id) \
         AND (w.events = '' OR (',' || w.events || ',') LIKE $4) \
         WHERE m.id IN ({}) ORDER BY m.id, w.id",
        ids.join(", ")
    )
}

/// The messages with any of `count` (conversation, client_id) pairs (`$1, $2`, `$3, $4`…).
pub(crate) fn messages_by_client_ids(count: usize) -> String {
    let pairs: Vec<String> = (0..count)
        .map(|n| {
            format!(
                "(m.conversation_id = ${} AND m.client_id = ${})",
                2 * n + 1,
                2 * n + 2
            )
        })
        .collect();
    format!(concat!(select_messages!(), " WHERE {}"), pairs.join(" OR "))
}
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
    "INSERT INTO agents (name, email, token_hash, role, created_at) VALUES ($1, $2, $3, $4, $5) \
     RETURNING ",
    columns!(agent)
);
pub(crate) const AGENT_BY_TOKEN_HASH: &str = concat!(
    "SELECT ",
    columns!(agent),
    " FROM agents WHERE token_hash = $1 AND revoked_at IS NULL"
);
pub(crate) const REVOKE_AGENT: &str =
    "UPDATE agents SET revoked_at = $1, availability = 'offline' \
     WHERE id = $2 AND revoked_at IS NULL RETURNING id";
pub(crate) const AGENT_BY_ID: &str =
    concat!("SELECT ", columns!(agent), " FROM agents WHERE id = $1");
pub(crate) const ALL_AGENTS: &str = concat!("SELECT ", columns!(agent), " FROM agents ORDER BY id");
// A presence update with a sequence applies only if it is not older than the newest applied
// (`$N IS NULL` lets unsequenced updates, from scripts, always apply and leave the mark).
pub(crate) const SET_AGENT_AVAILABILITY: &str = concat!(
    "UPDATE agents SET availability = $1, last_seen_at = $2, \
     presence_seq = COALESCE($4, presence_seq) \
     WHERE id = $3 AND ($4 IS NULL OR presence_seq <= $4) RETURNING ",
    columns!(agent)
);
pub(crate) const TOUCH_AGENT: &str = concat!(
    "UPDATE agents SET last_seen_at = $1, presence_seq = COALESCE($3, presence_seq) \
     WHERE id = $2 AND ($3 IS NULL OR presence_seq <= $3) RETURNING ",
    columns!(agent)
);

// Accounts. Emails are bound with their ASCII letters already lowercased, as they are stored.

pub(crate) const AGENT_BY_EMAIL: &str =
    concat!("SELECT ", columns!(agent), " FROM agents WHERE email = $1");
pub(crate) const AGENT_WIDGETS: &str =
    "SELECT widget_id FROM agent_widgets WHERE agent_id = $1 ORDER BY widget_id";
pub(crate) const CLEAR_AGENT_WIDGETS: &str = "DELETE FROM agent_widgets WHERE agent_id = $1";
pub(crate) const ADD_AGENT_WIDGET: &str =
    "INSERT INTO agent_widgets (agent_id, widget_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
pub(crate) const LIVE_AGENT_FOR_UPDATE: &str =
    "UPDATE agents SET id = id WHERE id = $1 AND revoked_at IS NULL RETURNING id";
pub(crate) const SET_PASSWORD: &str = "UPDATE agents SET password_hash = $1 \
     WHERE id = $2 AND revoked_at IS NULL RETURNING id";
/// Locks the admins who can sign in (a no-op write: PostgreSQL row locks, SQLite's writer lock
/// is already held) and lists them, so that taking one's rights away re-counts after any other
/// transaction doing the same has finished.
pub(crate) const LOCK_USABLE_ADMINS: &str = "UPDATE agents SET role = role \
     WHERE role = 'admin' AND revoked_at IS NULL AND password_hash IS NOT NULL RETURNING id";
pub(crate) const SET_ROLE: &str = concat!(
    "UPDATE agents SET role = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING ",
    columns!(agent)
);
pub(crate) const SET_AGENT_TOKEN: &str =
    "UPDATE agents SET token_hash = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";
pub(crate) const SET_AGENT_NAME: &str = concat!(
    "UPDATE agents SET name = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING ",
    columns!(agent)
);
pub(crate) const COUNT_ADMINS: &str = "SELECT COUNT(*) AS admins FROM agents \
     WHERE role = 'admin' AND revoked_at IS NULL AND password_hash IS NOT NULL";
pub(crate) const ANY_PASSWORD_SET: &str = "SELECT id FROM agents \
     WHERE password_hash IS NOT NULL AND revoked_at IS NULL LIMIT 1";

// Sessions. A session is found with its agent in one statement; the session's columns are
// renamed `session_…` so that the two records' columns keep apart.

pub(crate) const INSERT_SESSION: &str = concat!(
    "INSERT INTO sessions (agent_id, token_hash, csrf_token, ip, user_agent, created_at, \
     last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING ",
    columns!(session)
);
pub(crate) const LIVE_SESSION_BY_TOKEN_HASH: &str = "SELECT \
     s.id AS session_id, s.agent_id AS session_agent_id, s.token_hash AS session_token_hash, \
     s.csrf_token AS session_csrf_token, s.ip AS session_ip, \
     s.user_agent AS session_user_agent, s.created_at AS session_created_at, \
     s.last_seen_at AS session_last_seen_at, s.revoked_at AS session_revoked_at, \
     a.id AS id, a.name AS name, a.email AS email, a.token_hash AS token_hash, a.role AS role, \
     a.password_hash AS password_hash, a.availability AS availability, \
     a.last_seen_at AS last_seen_at, a.created_at AS created_at, a.revoked_at AS revoked_at \
     FROM sessions s JOIN agents a ON a.id = s.agent_id \
     WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.last_seen_at >= $2 \
     AND a.revoked_at IS NULL";
// Never moves back: of two requests finishing out of order, the later time stays.
pub(crate) const TOUCH_SESSION: &str = "UPDATE sessions SET last_seen_at = \
     CASE WHEN last_seen_at < $1 THEN $1 ELSE last_seen_at END \
     WHERE id = $2 AND revoked_at IS NULL RETURNING id";
pub(crate) const LIVE_SESSIONS_OF: &str = concat!(
    "SELECT ",
    columns!(session),
    " FROM sessions WHERE agent_id = $1 AND revoked_at IS NULL ORDER BY id DESC"
);
pub(crate) const REVOKE_SESSION: &str = "UPDATE sessions SET revoked_at = $1 \
     WHERE id = $2 AND revoked_at IS NULL AND ($3 IS NULL OR agent_id = $3) RETURNING id";
pub(crate) const REVOKE_SESSIONS_OF: &str = "UPDATE sessions SET revoked_at = $1 \
     WHERE agent_id = $2 AND revoked_at IS NULL RETURNING id";

// Single-use links. Using one is a single UPDATE: under concurrent calls the row changes once
// (PostgreSQL re-checks `used_at IS NULL` after waiting for the first writer's row lock; SQLite
// has one writer), so exactly one caller gets the row back.

pub(crate) const INSERT_ACCOUNT_LINK: &str = concat!(
    "INSERT INTO account_links (agent_id, purpose, token_hash, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5) RETURNING ",
    columns!(account_link)
);
pub(crate) const NOTE_ACCESS_CHANGE: &str = "INSERT INTO access_changes (agent_id, changed_at) \
     VALUES ($1, $2) ON CONFLICT (agent_id) DO UPDATE SET changed_at = excluded.changed_at";
pub(crate) const ACCESS_CHANGES_SINCE: &str =
    "SELECT agent_id, changed_at FROM access_changes WHERE changed_at > $1 ORDER BY agent_id";
pub(crate) const SPEND_LINKS_OF: &str =
    "UPDATE account_links SET used_at = $1 WHERE agent_id = $2 AND used_at IS NULL RETURNING id";
pub(crate) const USE_ACCOUNT_LINK: &str = concat!(
    "UPDATE account_links SET used_at = $1 \
     WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
     AND agent_id IN (SELECT id FROM agents WHERE revoked_at IS NULL) RETURNING ",
    columns!(account_link)
);

// The audit log, paged newest first by id.

pub(crate) const INSERT_AUDIT_ENTRY: &str = concat!(
    "INSERT INTO audit_log (actor_id, action, target, ip, detail, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
    columns!(audit_entry)
);
pub(crate) const AUDIT_LOG: &str = concat!(
    "SELECT ",
    columns!(audit_entry),
    " FROM audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2"
);

pub(crate) const ALL_SAVED_REPLIES: &str = concat!(
    "SELECT ",
    columns!(saved_reply),
    " FROM saved_replies ORDER BY shortcut"
);
pub(crate) const INSERT_SAVED_REPLY: &str = concat!(
    "INSERT INTO saved_replies (shortcut, text, created_at, updated_at) VALUES ($1, $2, $3, $3) \
     RETURNING ",
    columns!(saved_reply)
);
pub(crate) const UPDATE_SAVED_REPLY: &str = concat!(
    "UPDATE saved_replies SET shortcut = $1, text = $2, updated_at = $3 WHERE id = $4 RETURNING ",
    columns!(saved_reply)
);
pub(crate) const DELETE_SAVED_REPLY: &str = "DELETE FROM saved_replies WHERE id = $1 RETURNING id";

// Ratings.

pub(crate) const INSERT_RATING: &str = "INSERT INTO ratings (conversation_id, score, comment, \
     created_at) VALUES ($1, $2, $3, $4) RETURNING conversation_id, score, comment, created_at";
pub(crate) const RATING_OF: &str =
    "SELECT conversation_id, score, comment, created_at FROM ratings WHERE conversation_id = $1";

// Identity.

pub(crate) const SET_IDENTITY_SECRET: &str =
    "UPDATE widgets SET identity_secret = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";
pub(crate) const OPEN_CONVERSATION_OF_USER: &str = concat!(
    "SELECT ",
    columns!(conversation),
    " FROM conversations WHERE widget_id = $1 AND user_id = $2 AND status <> 'closed' \
     ORDER BY updated_at DESC, id DESC LIMIT 1"
);
pub(crate) const CONVERSATIONS_OF_USER: &str = concat!(
    "SELECT ",
    columns!(conversation),
    " FROM conversations WHERE widget_id = $1 AND user_id = $2 \
     ORDER BY updated_at DESC, id DESC LIMIT $3"
);
/// Only an anonymous conversation is attached; the name and email are replaced only by signed
/// ones (`$2`/`$3` NULL keep what the visitor typed, unverified).
pub(crate) const ATTACH_USER: &str = concat!(
    "UPDATE conversations SET user_id = $1, \
     visitor_name = COALESCE($2, visitor_name), name_verified = ($2 IS NOT NULL), \
     visitor_email = COALESCE($3, visitor_email), email_verified = ($3 IS NOT NULL), \
     updated_at = $4 WHERE id = $5 AND user_id IS NULL RETURNING ",
    columns!(conversation)
);

#[cfg(test)]
mod tests {
    use super::{
        announce_messages, contains_pattern, insert_bot_jobs, insert_messages, last_messages,
        list_conversations, lock_and_touch_conversations, messages_by_client_ids,
        touch_conversations,
    };
    use crate::{Assignee, ConversationQuery, ConversationStatus};

    fn tail(sql: String) -> String {
        sql[sql.find(" FROM conversations").unwrap_or(0)..].to_owned()
    }

    #[test]
    fn numbers_only_the_filters_in_use() {
        assert_eq!(
            tail(list_conversations(&ConversationQuery::latest(5))),
            " FROM conversations ORDER BY updated_at DESC, id DESC LIMIT $1"
        );
        let by_status = ConversationQuery {
            status: Some(ConversationStatus::Human),
            ..ConversationQuery::latest(5)
        };
        assert_eq!(
            tail(list_conversations(&by_status)),
            " FROM conversations WHERE status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
        let everything = ConversationQuery {
            widget_id: Some(1),
            status: Some(ConversationStatus::Human),
            assignee: Some(Assignee::Agent(3)),
            updated_before: Some(chrono::Utc::now()),
            text: Some("x".into()),
            visible_to: Some(7),
            label_id: None,
            waiting_for_email: false,
            limit: 5,
        };
        let sql = tail(list_conversations(&everything));
        assert!(
            sql.starts_with(
                " FROM conversations WHERE widget_id = $1 AND status = $2 AND assigned_agent_id = $3 \
                 AND updated_at < $4 AND (NOT EXISTS"
            ),
            "{sql}"
        );
        // The widget filter's two uses share one parameter, and the text filter's five LIKEs
        // (name, email, pre-chat answers, labels, messages) the next.
        assert_eq!(sql.matches("aw.agent_id = $5").count(), 2, "{sql}");
        assert_eq!(sql.matches("LIKE $6").count(), 5, "{sql}");
        assert!(
            sql.ends_with(" ORDER BY updated_at DESC, id DESC LIMIT $7"),
            "{sql}"
        );
    }

    #[test]
    fn a_search_pattern_matches_like_characters_literally() {
        assert_eq!(contains_pattern("Ab"), "%ab%");
        assert_eq!(contains_pattern("50%_x\\"), "%50\\%\\_x\\\\%");
    }

    #[test]
    fn an_unassigned_filter_binds_nothing() {
        let unassigned = ConversationQuery {
            assignee: Some(Assignee::Nobody),
            updated_before: Some(chrono::Utc::now()),
            ..ConversationQuery::latest(5)
        };
        assert_eq!(
            tail(list_conversations(&unassigned)),
            " FROM conversations WHERE assigned_agent_id IS NULL AND updated_at < $1 \
             ORDER BY updated_at DESC, id DESC LIMIT $2"
        );
    }

    #[test]
    fn batch_statements_number_their_rows() {
        let insert = insert_messages(2);
        assert!(
            insert.contains(
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8), ($9, $10, $11, $12, $13, $14, $15, $16) "
            ),
            "{insert}"
        );
        assert!(insert_bot_jobs(2).contains("VALUES ($2, $3, $1, $1, $1), ($4, $5, $1, $1, $1) "));
        assert!(touch_conversations(2).contains("WHERE id IN ($2, $3) RETURNING id"));
        assert!(lock_and_touch_conversations(2)
            .contains("WHERE id IN ($2, $3) ORDER BY id FOR UPDATE) RETURNING id"));
        assert!(announce_messages(2).contains("WHERE m.id IN ($5, $6) ORDER BY m.id, w.id"));
    }

    #[test]
    fn client_id_pairs_are_numbered_two_by_two() {
        let sql = messages_by_client_ids(2);
        assert!(
            sql.ends_with(
                " WHERE (m.conversation_id = $1 AND m.client_id = $2) \
                 OR (m.conversation_id = $3 AND m.client_id = $4)"
            ),
            "{sql}"
        );
    }

    #[test]
    fn last_messages_numbers_each_conversation() {
        assert!(last_messages(3).contains("conversation_id IN ($1, $2, $3)"));
    }
}
