//! The one implementation of [`Store`] that both databases run. The SQL is written once, in the
//! dialect SQLite and PostgreSQL share (`$N` parameters, `RETURNING`, `ON CONFLICT`); what
//! differs (connection setup, the DDL, how a write transaction begins) lives in `sqlite.rs` and
//! `postgres.rs` behind [`Backend`].

mod errors;
mod rows;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{
    migrate::{Migrate, Migrator},
    Database, Encode, Executor, IntoArguments, Pool, Type,
};

use self::{
    errors::write_error,
    rows::{columns, select_messages, Columns},
};
use crate::{
    Agent, Attachment, Conversation, ConversationStatus, Inserted, Message, NewAgent,
    NewAttachment, NewConversation, NewMessage, NewWidget, Reaction, ReadState, Result, Store,
    StoreError, Widget,
};

/// What a database contributes beyond sqlx's driver.
pub(crate) trait Backend: Database<Row: Columns, Connection: Migrate> {
    /// Starts a transaction that will write. SQLite needs `BEGIN IMMEDIATE` to take the write
    /// lock up front; a deferred transaction that reads first and writes later can fail with
    /// `SQLITE_BUSY` instead of waiting when another connection wrote in between.
    const BEGIN_WRITE: &'static str;

    /// The embedded migrations for this database.
    fn migrator() -> &'static Migrator;
}

/// A store on either database: `write` takes every statement that changes data, `read` the
/// rest. On PostgreSQL they are the same pool; SQLite, which has one writer, gets a pool of one
/// connection for writes (see `sqlite.rs`).
#[derive(Debug)]
pub(crate) struct SqlStore<DB: Database> {
    write: Pool<DB>,
    read: Pool<DB>,
}

impl<DB: Database> SqlStore<DB> {
    pub(crate) fn new(write: Pool<DB>, read: Pool<DB>) -> Self {
        Self { write, read }
    }
}

/// Makes a widget's origins the JSON array the `allowed_origins` column holds.
fn origins_json(origins: Vec<String>) -> Value {
    Value::from(origins)
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn migrate(&self) -> Result<()> {
        // Concurrent runs take turns: on PostgreSQL the migrator holds an advisory lock, and on
        // SQLite it runs on the single write connection.
        DB::migrator().run(&self.write).await?;
        Ok(())
    }

    async fn create_widget(&self, widget: NewWidget) -> Result<Widget> {
        let row = sqlx::query(concat!(
            "INSERT INTO widgets (name, token_hash, allowed_origins, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING ",
            columns!(widget)
        ))
        .bind(widget.name)
        .bind(widget.token_hash)
        .bind(origins_json(widget.allowed_origins))
        .bind(widget.settings)
        .bind(Utc::now())
        .fetch_one(&self.write)
        .await
        .map_err(|e| write_error(e, || "a widget with this token".into(), String::new))?;
        rows::widget(&row)
    }

    async fn widget_by_token_hash(&self, token_hash: &str) -> Result<Option<Widget>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(widget),
            " FROM widgets WHERE token_hash = $1 AND revoked_at IS NULL"
        ))
        .bind(token_hash.to_owned())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(rows::widget).transpose()
    }

    async fn widget(&self, id: i64) -> Result<Option<Widget>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(widget),
            " FROM widgets WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(rows::widget).transpose()
    }

    async fn widgets(&self) -> Result<Vec<Widget>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(widget),
            " FROM widgets ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?;
        rows::all(&rows, rows::widget)
    }

    async fn revoke_widget(&self, id: i64) -> Result<bool> {
        // `RETURNING` reports whether a row changed; sqlx has no portable affected-row count.
        let revoked = sqlx::query(
            "UPDATE widgets SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&self.write)
        .await?;
        Ok(revoked.is_some())
    }

    async fn create_conversation(&self, conversation: NewConversation) -> Result<Conversation> {
        let now = Utc::now();
        let widget_id = conversation.widget_id;
        let row = sqlx::query(concat!(
            "INSERT INTO conversations (widget_id, visitor_name, visitor_email, \
             visitor_token_hash, status, page_url, user_agent, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ",
            columns!(conversation)
        ))
        .bind(widget_id)
        .bind(conversation.visitor_name)
        .bind(conversation.visitor_email)
        .bind(conversation.visitor_token_hash)
        .bind(ConversationStatus::Bot.as_str().to_owned())
        .bind(conversation.page_url)
        .bind(conversation.user_agent)
        .bind(now)
        .bind(now)
        .fetch_one(&self.write)
        .await
        .map_err(|e| write_error(e, String::new, || format!("widget {widget_id}")))?;
        rows::conversation(&row)
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(conversation),
            " FROM conversations WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn conversations(
        &self,
        widget_id: Option<i64>,
        status: Option<ConversationStatus>,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        // Only the filters in use go into the SQL: an `($1 IS NULL OR widget_id = $1)` form
        // would keep PostgreSQL's cached generic plan from using the (widget_id, updated_at)
        // index.
        let mut filters = Vec::new();
        if widget_id.is_some() {
            filters.push("widget_id");
        }
        if status.is_some() {
            filters.push("status");
        }
        let mut sql = String::from(concat!(
            "SELECT ",
            columns!(conversation),
            " FROM conversations"
        ));
        for (i, column) in filters.iter().enumerate() {
            let joiner = if i == 0 { " WHERE" } else { " AND" };
            sql.push_str(&format!("{joiner} {column} = ${}", i + 1));
        }
        // `id` breaks ties between equal timestamps so the order is stable.
        sql.push_str(&format!(
            " ORDER BY updated_at DESC, id DESC LIMIT ${}",
            filters.len() + 1
        ));

        let mut query = sqlx::query(&sql);
        if let Some(widget_id) = widget_id {
            query = query.bind(widget_id);
        }
        if let Some(status) = status {
            query = query.bind(status.as_str().to_owned());
        }
        // PostgreSQL rejects a negative LIMIT where SQLite reads it as "no limit"; both get 0.
        let rows = query.bind(limit.max(0)).fetch_all(&self.read).await?;
        rows::all(&rows, rows::conversation)
    }

    async fn update_conversation(
        &self,
        id: i64,
        status: ConversationStatus,
        assigned_agent_id: Option<i64>,
    ) -> Result<Option<Conversation>> {
        let row = sqlx::query(concat!(
            "UPDATE conversations SET status = $1, assigned_agent_id = $2, updated_at = $3 \
             WHERE id = $4 RETURNING ",
            columns!(conversation)
        ))
        .bind(status.as_str().to_owned())
        .bind(assigned_agent_id)
        .bind(Utc::now())
        .bind(id)
        .fetch_optional(&self.write)
        .await
        .map_err(|e| {
            write_error(e, String::new, || {
                format!("agent {}", assigned_agent_id.unwrap_or_default())
            })
        })?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted> {
        let conversation_id = message.conversation_id;
        let attachment_id = message.attachment_id;
        let now = Utc::now();
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;

        // Bump the conversation first: it proves the conversation exists, and on PostgreSQL
        // its row lock makes concurrent inserts into one conversation take turns, so their ids
        // are handed out in commit order and a poller reading `id > after` never skips a
        // message that committed late.
        let bumped =
            sqlx::query("UPDATE conversations SET updated_at = $1 WHERE id = $2 RETURNING id")
                .bind(now)
                .bind(conversation_id)
                .fetch_optional(&mut *tx)
                .await?;
        if bumped.is_none() {
            return Err(StoreError::NotFound(format!(
                "conversation {conversation_id}"
            )));
        }

        // A repeated client_id inserts nothing and returns no row, also when another
        // transaction is inserting it right now (the unique index makes this one wait for it).
        let inserted = sqlx::query(
            "INSERT INTO messages (conversation_id, sender_type, sender_name, message, \
             attachment_id, is_voice, client_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (conversation_id, client_id) DO NOTHING RETURNING id",
        )
        .bind(conversation_id)
        .bind(message.sender_type.as_str().to_owned())
        .bind(message.sender_name)
        .bind(message.message)
        .bind(attachment_id)
        .bind(message.is_voice)
        .bind(message.client_id.clone())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| {
            write_error(e, String::new, || {
                format!("attachment {}", attachment_id.unwrap_or_default())
            })
        })?;

        match inserted {
            Some(row) => {
                let id = rows::Columns::int(&row, "id")?;
                let row = sqlx::query(concat!(select_messages!(), " WHERE m.id = $1"))
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                let stored = rows::message(&row)?;
                tx.commit().await?;
                Ok(Inserted::Created(stored))
            }
            None => {
                let original = sqlx::query(concat!(
                    select_messages!(),
                    " WHERE m.conversation_id = $1 AND m.client_id = $2"
                ))
                .bind(conversation_id)
                .bind(message.client_id.clone())
                .fetch_optional(&mut *tx)
                .await?;
                // Undo the bump: a duplicate changes nothing.
                tx.rollback().await?;
                let original = original.ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "message {:?} in conversation {conversation_id} conflicted but cannot be read",
                        message.client_id
                    ))
                })?;
                Ok(Inserted::Duplicate(rows::message(&original)?))
            }
        }
    }

    async fn messages_after(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(concat!(
            select_messages!(),
            " WHERE m.conversation_id = $1 AND m.id > $2 ORDER BY m.id LIMIT $3"
        ))
        .bind(conversation_id)
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&self.read)
        .await?;
        rows::all(&rows, rows::message)
    }

    async fn create_attachment(&self, attachment: NewAttachment) -> Result<Attachment> {
        let conversation_id = attachment.conversation_id;
        let row = sqlx::query(concat!(
            "INSERT INTO attachments (conversation_id, storage_name, original_name, \
             content_type, size_bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            columns!(attachment)
        ))
        .bind(conversation_id)
        .bind(attachment.storage_name)
        .bind(attachment.original_name)
        .bind(attachment.content_type)
        .bind(attachment.size_bytes)
        .bind(Utc::now())
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            write_error(
                e,
                || "an attachment with this storage name".into(),
                || format!("conversation {conversation_id}"),
            )
        })?;
        rows::attachment(&row)
    }

    async fn attachment(&self, id: i64) -> Result<Option<Attachment>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(attachment),
            " FROM attachments WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(rows::attachment).transpose()
    }

    async fn mark_read(
        &self,
        conversation_id: i64,
        reader: &str,
        last_read_id: i64,
    ) -> Result<ReadState> {
        // One statement, so concurrent marks cannot interleave; the CASE keeps the larger mark
        // (GREATEST and MAX(a, b) are spelled differently in the two dialects).
        let row = sqlx::query(concat!(
            "INSERT INTO read_states (conversation_id, reader, last_read_id) VALUES ($1, $2, $3) \
             ON CONFLICT (conversation_id, reader) DO UPDATE SET last_read_id = \
             CASE WHEN excluded.last_read_id > read_states.last_read_id \
             THEN excluded.last_read_id ELSE read_states.last_read_id END \
             RETURNING ",
            columns!(read_state)
        ))
        .bind(conversation_id)
        .bind(reader.to_owned())
        .bind(last_read_id)
        .fetch_one(&self.write)
        .await
        .map_err(|e| write_error(e, String::new, || format!("conversation {conversation_id}")))?;
        rows::read_state(&row)
    }

    async fn read_states(&self, conversation_id: i64) -> Result<Vec<ReadState>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(read_state),
            " FROM read_states WHERE conversation_id = $1 ORDER BY reader"
        ))
        .bind(conversation_id)
        .fetch_all(&self.read)
        .await?;
        rows::all(&rows, rows::read_state)
    }

    async fn set_reaction(
        &self,
        message_id: i64,
        reactor: &str,
        emoji: &str,
        on: bool,
    ) -> Result<Vec<Reaction>> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // Checked up front so that removing from a missing message is NotFound too, not an
        // empty list.
        let exists = sqlx::query("SELECT id FROM messages WHERE id = $1")
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("message {message_id}")));
        }
        let sql = if on {
            "INSERT INTO reactions (message_id, reactor, emoji) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM reactions WHERE message_id = $1 AND reactor = $2 AND emoji = $3"
        };
        sqlx::query(sql)
            .bind(message_id)
            .bind(reactor.to_owned())
            .bind(emoji.to_owned())
            .execute(&mut *tx)
            .await?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(reaction),
            " FROM reactions WHERE message_id = $1 ORDER BY emoji, reactor"
        ))
        .bind(message_id)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows::all(&rows, rows::reaction)
    }

    async fn reactions(&self, conversation_id: i64) -> Result<Vec<Reaction>> {
        let rows = sqlx::query(
            "SELECT r.message_id, r.reactor, r.emoji FROM reactions r \
             JOIN messages m ON m.id = r.message_id WHERE m.conversation_id = $1 \
             ORDER BY r.message_id, r.emoji, r.reactor",
        )
        .bind(conversation_id)
        .fetch_all(&self.read)
        .await?;
        rows::all(&rows, rows::reaction)
    }

    async fn create_agent(&self, agent: NewAgent) -> Result<Agent> {
        let row = sqlx::query(concat!(
            "INSERT INTO agents (name, email, token_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING ",
            columns!(agent)
        ))
        .bind(agent.name)
        .bind(agent.email.clone())
        .bind(agent.token_hash)
        .bind(Utc::now())
        .fetch_one(&self.write)
        .await
        .map_err(|e| {
            write_error(
                e,
                || format!("an agent with email {:?} or this token", agent.email),
                String::new,
            )
        })?;
        rows::agent(&row)
    }

    async fn agent_by_token_hash(&self, token_hash: &str) -> Result<Option<Agent>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(agent),
            " FROM agents WHERE token_hash = $1"
        ))
        .bind(token_hash.to_owned())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(agent),
            " FROM agents ORDER BY id"
        ))
        .fetch_all(&self.read)
        .await?;
        rows::all(&rows, rows::agent)
    }
}
