//! Result rows to records, written once for both databases: every table has the same column
//! names in SQLite and PostgreSQL, and each column decodes to the same Rust type in both (JSON
//! is TEXT in one and JSONB in the other, but `serde_json::Value` reads either). The mappers
//! read the columns that `statements.rs` selects.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::{
    AccountLink, Agent, AgentAvailability, Attachment, AuditEntry, Conversation, ConversationPage,
    ConversationStatus, LinkPurpose, Message, Rating, Reaction, ReadState, Result, Role,
    SavedReply, SenderType, Session, StoreError, Widget,
};

/// Typed column reads on a row of either database. The generic bounds that say "this database
/// can decode these types" are stated once, on the blanket implementation, instead of on every
/// mapper.
pub(crate) trait Columns {
    fn int(&self, column: &str) -> Result<i64>;
    fn int_opt(&self, column: &str) -> Result<Option<i64>>;
    fn text(&self, column: &str) -> Result<String>;
    fn text_opt(&self, column: &str) -> Result<Option<String>>;
    fn flag(&self, column: &str) -> Result<bool>;
    fn time(&self, column: &str) -> Result<DateTime<Utc>>;
    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>>;
    fn json(&self, column: &str) -> Result<Value>;
}

impl<R> Columns for R
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> bool: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Value: Decode<'r, R::Database> + Type<R::Database>,
{
    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn text_opt(&self, column: &str) -> Result<Option<String>> {
        Ok(self.try_get(column)?)
    }
    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.try_get(column)?)
    }
    fn time(&self, column: &str) -> Result<DateTime<Utc>> {
        Ok(self.try_get(column)?)
    }
    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        Ok(self.try_get(column)?)
    }
    fn json(&self, column: &str) -> Result<Value> {
        Ok(self.try_get(column)?)
    }
}

pub(crate) fn widget(row: &impl Columns) -> Result<Widget> {
    let id = row.int("id")?;
    // Stored as a JSON array so one column type serves both databases; anything else was
    // written by hand.
    let allowed_origins = serde_json::from_value(row.json("allowed_origins")?)
        .map_err(|e| StoreError::Corrupt(format!("widget {id}: allowed_origins: {e}")))?;
    Ok(Widget {
        id,
        name: row.text("name")?,
        token_hash: row.text("token_hash")?,
        allowed_origins,
        settings: row.json("settings")?,
        identity_secret: row.text_opt("identity_secret")?,
        created_at: row.time("created_at")?,
        revoked_at: row.time_opt("revoked_at")?,
    })
}

pub(crate) fn conversation(row: &impl Columns) -> Result<Conversation> {
    let id = row.int("id")?;
    let status = row.text("status")?;
    let status = ConversationStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("conversation {id}: status {status:?}")))?;
    Ok(Conversation {
        id,
        widget_id: row.int("widget_id")?,
        visitor_name: row.text_opt("visitor_name")?,
        visitor_email: row.text_opt("visitor_email")?,
        visitor_token_hash: row.text("visitor_token_hash")?,
        status,
        assigned_agent_id: row.int_opt("assigned_agent_id")?,
        page_url: row.text_opt("page_url")?,
        user_agent: row.text_opt("user_agent")?,
        user_id: row.text_opt("user_id")?,
        name_verified: row.flag("name_verified")?,
        email_verified: row.flag("email_verified")?,
        attributes: row.json("attributes")?,
        consent_at: row.time_opt("consent_at")?,
        locale: row.text_opt("locale")?,
        waiting_for_email_at: row.time_opt("waiting_for_email_at")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

/// A row's columns named with a prefix: `prefixed("c_", row).int("id")` reads `c_id`. For rows
/// that join two records whose columns share names.
pub(crate) fn prefixed<'a, R: Columns>(prefix: &'static str, row: &'a R) -> Prefixed<'a, R> {
    Prefixed { prefix, row }
}

pub(crate) struct Prefixed<'a, R> {
    prefix: &'static str,
    row: &'a R,
}

impl<R: Columns> Prefixed<'_, R> {
    fn name(&self, column: &str) -> String {
        [self.prefix, column].concat()
    }
}

impl<R: Columns> Columns for Prefixed<'_, R> {
    fn int(&self, column: &str) -> Result<i64> {
        self.row.int(&self.name(column))
    }
    fn int_opt(&self, column: &str) -> Result<Option<i64>> {
        self.row.int_opt(&self.name(column))
    }
    fn text(&self, column: &str) -> Result<String> {
        self.row.text(&self.name(column))
    }
    fn text_opt(&self, column: &str) -> Result<Option<String>> {
        self.row.text_opt(&self.name(column))
    }
    fn flag(&self, column: &str) -> Result<bool> {
        self.row.flag(&self.name(column))
    }
    fn time(&self, column: &str) -> Result<DateTime<Utc>> {
        self.row.time(&self.name(column))
    }
    fn time_opt(&self, column: &str) -> Result<Option<DateTime<Utc>>> {
        self.row.time_opt(&self.name(column))
    }
    fn json(&self, column: &str) -> Result<Value> {
        self.row.json(&self.name(column))
    }
}

/// A row of `LIVE_WIDGET_AND_CONVERSATION`: the widget, and the conversation when one joined.
pub(crate) fn widget_and_conversation(
    row: &impl Columns,
) -> Result<(Widget, Option<Conversation>)> {
    let widget = widget(row)?;
    let joined = prefixed("c_", row);
    let conversation = match joined.int_opt("id")? {
        Some(_) => Some(conversation(&joined)?),
        None => None,
    };
    Ok((widget, conversation))
}

/// Reads a row of a message `SELECT` (the message joined with its attachment's name).
pub(crate) fn message(row: &impl Columns) -> Result<Message> {
    message_with(row, row.text_opt("attachment_name")?)
}

/// Reads a message row whose attachment's name is known already (an `INSERT … RETURNING`
/// gives the message's own columns only).
pub(crate) fn message_with(row: &impl Columns, attachment_name: Option<String>) -> Result<Message> {
    let id = row.int("id")?;
    let sender_type = row.text("sender_type")?;
    let sender_type = SenderType::parse(&sender_type)
        .ok_or_else(|| StoreError::Corrupt(format!("message {id}: sender_type {sender_type:?}")))?;
    Ok(Message {
        id,
        conversation_id: row.int("conversation_id")?,
        sender_type,
        sender_name: row.text_opt("sender_name")?,
        message: row.text("message")?,
        attachment_id: row.int_opt("attachment_id")?,
        attachment_name,
        is_voice: row.flag("is_voice")?,
        client_id: row.text_opt("client_id")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn attachment(row: &impl Columns) -> Result<Attachment> {
    Ok(Attachment {
        id: row.int("id")?,
        conversation_id: row.int("conversation_id")?,
        storage_name: row.text("storage_name")?,
        original_name: row.text("original_name")?,
        content_type: row.text("content_type")?,
        size_bytes: row.int("size_bytes")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn agent(row: &impl Columns) -> Result<Agent> {
    let id = row.int("id")?;
    let availability = row.text("availability")?;
    let availability = AgentAvailability::parse(&availability)
        .ok_or_else(|| StoreError::Corrupt(format!("agent {id}: availability {availability:?}")))?;
    let role = row.text("role")?;
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt(format!("agent {id}: role {role:?}")))?;
    Ok(Agent {
        id,
        name: row.text("name")?,
        email: row.text("email")?,
        token_hash: row.text("token_hash")?,
        role,
        password_hash: row.text_opt("password_hash")?,
        availability,
        last_seen_at: row.time_opt("last_seen_at")?,
        created_at: row.time("created_at")?,
        revoked_at: row.time_opt("revoked_at")?,
    })
}

pub(crate) fn session(row: &impl Columns) -> Result<Session> {
    session_named(row, "")
}

/// Reads a session together with its agent, from a row whose session columns are named
/// `session_…` (see `LIVE_SESSION_BY_TOKEN_HASH`).
pub(crate) fn session_and_agent(row: &impl Columns) -> Result<(Session, Agent)> {
    Ok((session_named(row, "session_")?, agent(row)?))
}

/// Reads a session whose columns carry `prefix`.
fn session_named(row: &impl Columns, prefix: &str) -> Result<Session> {
    let column = |name: &str| format!("{prefix}{name}");
    Ok(Session {
        id: row.int(&column("id"))?,
        agent_id: row.int(&column("agent_id"))?,
        token_hash: row.text(&column("token_hash"))?,
        csrf_token: row.text(&column("csrf_token"))?,
        ip: row.text_opt(&column("ip"))?,
        user_agent: row.text_opt(&column("user_agent"))?,
        created_at: row.time(&column("created_at"))?,
        last_seen_at: row.time(&column("last_seen_at"))?,
        revoked_at: row.time_opt(&column("revoked_at"))?,
    })
}

pub(crate) fn account_link(row: &impl Columns) -> Result<AccountLink> {
    let id = row.int("id")?;
    let purpose = row.text("purpose")?;
    let purpose = LinkPurpose::parse(&purpose)
        .ok_or_else(|| StoreError::Corrupt(format!("account link {id}: purpose {purpose:?}")))?;
    Ok(AccountLink {
        id,
        agent_id: row.int("agent_id")?,
        purpose,
        token_hash: row.text("token_hash")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        used_at: row.time_opt("used_at")?,
    })
}

/// Reads an audit entry; its detail is JSON text in both databases.
pub(crate) fn audit_entry(row: &impl Columns) -> Result<AuditEntry> {
    let id = row.int("id")?;
    let detail = row
        .text_opt("detail")?
        .map(|detail| serde_json::from_str(&detail))
        .transpose()
        .map_err(|e| StoreError::Corrupt(format!("audit entry {id}: detail: {e}")))?;
    Ok(AuditEntry {
        id,
        actor_id: row.int_opt("actor_id")?,
        action: row.text("action")?,
        target: row.text_opt("target")?,
        ip: row.text_opt("ip")?,
        detail,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn rating(row: &impl Columns) -> Result<Rating> {
    Ok(Rating {
        conversation_id: row.int("conversation_id")?,
        score: row.int("score")?,
        comment: row.text_opt("comment")?,
        created_at: row.time("created_at")?,
    })
}

pub(crate) fn saved_reply(row: &impl Columns) -> Result<SavedReply> {
    Ok(SavedReply {
        id: row.int("id")?,
        shortcut: row.text("shortcut")?,
        text: row.text("text")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

pub(crate) fn read_state(row: &impl Columns) -> Result<ReadState> {
    Ok(ReadState {
        conversation_id: row.int("conversation_id")?,
        reader: row.text("reader")?,
        last_read_id: row.int("last_read_id")?,
    })
}

pub(crate) fn reaction(row: &impl Columns) -> Result<Reaction> {
    Ok(Reaction {
        message_id: row.int("message_id")?,
        reactor: row.text("reactor")?,
        emoji: row.text("emoji")?,
    })
}

/// The rows of [`super::statements::CONVERSATION_PAGE`], sorted out by kind.
pub(crate) fn conversation_page(
    rows: &[impl Columns],
    conversation_id: i64,
) -> Result<ConversationPage> {
    let mut page = ConversationPage::default();
    for row in rows {
        match row.int("kind")? {
            0 => {
                let id = row.int("id")?;
                let sender_type = row.text("t1")?;
                let sender_type = SenderType::parse(&sender_type).ok_or_else(|| {
                    StoreError::Corrupt(format!("message {id}: sender_type {sender_type:?}"))
                })?;
                page.messages.push(Message {
                    id,
                    conversation_id,
                    sender_type,
                    sender_name: row.text_opt("t2")?,
                    message: row.text("t3")?,
                    attachment_id: row.int_opt("number")?,
                    attachment_name: row.text_opt("t4")?,
                    is_voice: row.flag("flag")?,
                    client_id: row.text_opt("t5")?,
                    created_at: row.time("at")?,
                });
            }
            1 => page.reactions.push(Reaction {
                message_id: row.int("id")?,
                reactor: row.text("t2")?,
                emoji: row.text("t1")?,
            }),
            2 => page.read_states.push(ReadState {
                conversation_id,
                reader: row.text("t1")?,
                last_read_id: row.int("number")?,
            }),
            3 => {
                page.rating = Some(Rating {
                    conversation_id,
                    score: row.int("id")?,
                    comment: row.text_opt("t1")?,
                    created_at: row.time("at")?,
                })
            }
            kind => return Err(StoreError::Corrupt(format!("page row of kind {kind}"))),
        }
    }
    Ok(page)
}

/// Maps every row with `map`.
pub(crate) fn all<R, T>(rows: &[R], map: fn(&R) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}
