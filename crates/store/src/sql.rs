//! The one implementation of [`Store`] that both databases run: the transactions and the flow
//! of each operation. The SQL is written once, in the dialect SQLite and PostgreSQL share
//! (`statements.rs`), and rows become records once (`rows.rs`); what differs (connection setup,
//! the DDL, how writes and migrations take their locks) lives in `sqlite.rs` and `postgres.rs`
//! behind [`Backend`].

mod accounts;
mod agents;
mod assignment;
mod errors;
mod group_commit;
mod group_read;
mod identities;
mod jobs;
mod mail;
mod notes_labels;
mod previews;
mod privacy;
mod ratings;
mod reports;
mod rows;
mod saved_replies;
mod statements;
mod waiting;
mod webhooks;

use std::{future::Future, sync::Arc};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

pub(crate) use self::statements::{PAGE_MESSAGES_IN, PAGE_MESSAGES_LATERAL};
use self::{
    errors::write_error,
    group_commit::GroupCommit,
    group_read::{GroupRead, PageRequest, VisitorAnswer, VisitorRequest},
    rows::Columns,
    statements as sql,
};
use crate::{
    text, AfterCommit, Assignee, Attachment, Conversation, ConversationPage, ConversationQuery,
    ConversationStatus, Inserted, Message, NewConversation, NewMessage, NewWidget, Reaction,
    ReadState, Result, Store, StoreError, Widget,
};

/// What a database contributes beyond sqlx's driver.
pub(crate) trait Backend: Database<Row: Columns> {
    /// Starts a transaction that will write. SQLite needs `BEGIN IMMEDIATE` to take the write
    /// lock up front; a deferred transaction that reads first and writes later can fail with
    /// `SQLITE_BUSY` instead of waiting when another connection wrote in between.
    const BEGIN_WRITE: &'static str;

    /// What makes a job claim skip rows another worker holds: `FOR UPDATE SKIP LOCKED` on
    /// PostgreSQL; nothing on SQLite, whose single writer already serialises claims.
    const SKIP_LOCKED: &'static str;

    /// The messages of a batched conversation page (`statements::conversation_pages`): the
    /// one part of it whose SQL the two databases cannot share.
    const PAGE_MESSAGES: &'static str;

    /// Runs this database's embedded migrations on `pool` such that concurrent runs, from this
    /// process or another node, take turns.
    fn migrate(pool: &Pool<Self>) -> impl Future<Output = Result<()>> + Send;
}

/// Statements of one kind of group read in flight at a time. One: with two, more polls ran
/// alone at 5 000 polls/s on PostgreSQL, which cost the database and the server 5-10 points of
/// a core more for the same latency, and fewer polls/s were answered at saturation (9 790
/// against 11 392, `bench/chat.sh` poll mode).
const GROUP_READS_IN_FLIGHT: usize = 1;

/// A store on either database: `write` takes every statement that changes data, `read` the
/// rest. On PostgreSQL they are the same pool; SQLite, which has one writer, gets a pool of one
/// connection for writes (see `sqlite.rs`).
#[derive(Debug)]
pub(crate) struct SqlStore<DB: Backend> {
    write: Pool<DB>,
    read: Pool<DB>,
    /// The writer that commits concurrent messages together (`group_commit.rs`); `None` when
    /// `PARLEY_GROUP_COMMIT` turns it off and each message is written by its caller.
    group_commit: Option<GroupCommit<DB>>,
    /// Widget-and-conversation lookups (every visitor request), read in batches under load
    /// (`group_read.rs`).
    visitor_reads: Arc<GroupRead<VisitorRequest, VisitorAnswer>>,
    /// Conversation pages (every poll), likewise.
    page_reads: Arc<GroupRead<PageRequest, ConversationPage>>,
    /// Background maintenance that lives as long as the store (SQLite's checkpoints).
    maintenance: Option<AbortOnDrop>,
}

impl<DB> SqlStore<DB>
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
    pub(crate) fn new(write: Pool<DB>, read: Pool<DB>) -> Self {
        let group_commit =
            group_commit::enabled_by_environment().then(|| GroupCommit::new(write.clone()));
        let most_in_flight = if group_read::enabled_by_environment() {
            GROUP_READS_IN_FLIGHT
        } else {
            usize::MAX
        };
        Self {
            visitor_reads: Arc::new(group_read::visitor_reads(read.clone(), most_in_flight)),
            page_reads: Arc::new(group_read::page_reads(read.clone(), most_in_flight)),
            write,
            read,
            group_commit,
            maintenance: None,
        }
    }
}

impl<DB: Backend> SqlStore<DB> {
    /// The same store, with `task` running until the store is dropped.
    pub(crate) fn with_maintenance(mut self, task: tokio::task::JoinHandle<()>) -> Self {
        self.maintenance = Some(AbortOnDrop(task));
        self
    }
}

/// Stops a background task when its owner goes.
#[derive(Debug)]
pub(crate) struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn migrate(&self) -> Result<()> {
        DB::migrate(&self.write).await
    }

    async fn create_widget(&self, widget: NewWidget) -> Result<Widget> {
        text::check("widget name", &widget.name)?;
        text::check("widget token hash", &widget.token_hash)?;
        for origin in &widget.allowed_origins {
            text::check("allowed origin", origin)?;
        }
        text::check_json("widget settings", &widget.settings)?;
        let row = sqlx::query(sql::INSERT_WIDGET)
            .bind(widget.name)
            .bind(widget.token_hash)
            // A JSON array, so that one column type works in both databases.
            .bind(Value::from(widget.allowed_origins))
            .bind(widget.settings)
            .bind(widget.identity_secret)
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| write_error(e, || "a widget with this token".into(), String::new))?;
        rows::widget(&row)
    }

    async fn widget_by_token_hash(&self, token_hash: &str) -> Result<Option<Widget>> {
        if !text::storable(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(sql::LIVE_WIDGET_BY_TOKEN_HASH)
            .bind(token_hash.to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::widget).transpose()
    }

    async fn widget_and_conversation(
        &self,
        token_hash: &str,
        conversation_id: i64,
    ) -> Result<Option<(Widget, Option<Conversation>)>> {
        if !text::storable(token_hash) {
            return Ok(None);
        }
        self.visitor_reads
            .read((token_hash.to_owned(), conversation_id))
            .await
    }

    async fn widget(&self, id: i64) -> Result<Option<Widget>> {
        let row = sqlx::query(sql::WIDGET_BY_ID)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::widget).transpose()
    }

    async fn widgets(&self) -> Result<Vec<Widget>> {
        let rows = sqlx::query(sql::ALL_WIDGETS).fetch_all(&self.read).await?;
        rows::all(&rows, rows::widget)
    }

    async fn revoke_widget(&self, id: i64) -> Result<bool> {
        let revoked = sqlx::query(sql::REVOKE_WIDGET)
            .bind(Utc::now())
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        Ok(revoked.is_some())
    }

    async fn update_widget_settings(&self, id: i64, settings: Value) -> Result<bool> {
        text::check_json("widget settings", &settings)?;
        let updated = sqlx::query(sql::UPDATE_WIDGET_SETTINGS)
            .bind(settings)
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        Ok(updated.is_some())
    }

    async fn update_widget(
        &self,
        id: i64,
        name: &str,
        allowed_origins: &[String],
    ) -> Result<Option<Widget>> {
        text::check("widget name", name)?;
        for origin in allowed_origins {
            text::check("allowed origin", origin)?;
        }
        let row = sqlx::query(sql::UPDATE_WIDGET)
            .bind(name.to_owned())
            .bind(Value::from(allowed_origins.to_vec()))
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::widget).transpose()
    }

    async fn set_widget_token(&self, id: i64, token_hash: &str) -> Result<bool> {
        text::check("widget token hash", token_hash)?;
        let updated = sqlx::query(sql::SET_WIDGET_TOKEN)
            .bind(token_hash.to_owned())
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| write_error(e, || "a widget with this token".into(), String::new))?;
        Ok(updated.is_some())
    }

    async fn create_conversation(&self, conversation: NewConversation) -> Result<Conversation> {
        text::check_optional("visitor name", conversation.visitor_name.as_deref())?;
        text::check_optional("visitor email", conversation.visitor_email.as_deref())?;
        text::check("visitor token hash", &conversation.visitor_token_hash)?;
        text::check_optional("page url", conversation.page_url.as_deref())?;
        text::check_optional("user agent", conversation.user_agent.as_deref())?;
        text::check_optional("user id", conversation.user_id.as_deref())?;
        text::check_optional("locale", conversation.locale.as_deref())?;
        let attributes = match conversation.attributes {
            Value::Null => Value::Object(Default::default()),
            Value::Object(map) => Value::Object(map),
            _ => {
                return Err(StoreError::Corrupt(
                    "conversation attributes must be a JSON object".into(),
                ))
            }
        };
        text::check_json("conversation attributes", &attributes)?;
        let now = Utc::now();
        let widget_id = conversation.widget_id;
        // With the deliveries announcing it to webhooks.
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let row = sqlx::query(sql::INSERT_CONVERSATION)
            .bind(widget_id)
            .bind(conversation.visitor_name)
            .bind(conversation.visitor_email)
            .bind(conversation.visitor_token_hash)
            .bind(ConversationStatus::Bot.as_str().to_owned())
            .bind(conversation.page_url)
            .bind(conversation.user_agent)
            .bind(conversation.user_id)
            .bind(conversation.name_verified)
            .bind(conversation.email_verified)
            .bind(attributes)
            .bind(conversation.consent_at)
            .bind(conversation.locale)
            .bind(now)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, String::new, || format!("widget {widget_id}")))?;
        let created = rows::conversation(&row)?;
        webhooks::announce(
            &mut tx,
            crate::CONVERSATION_CREATED,
            created.id,
            None,
            Value::Object(Default::default()),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(sql::CONVERSATION_BY_ID)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn conversations(&self, query: &ConversationQuery) -> Result<Vec<Conversation>> {
        if query.text.as_deref().is_some_and(|t| !text::storable(t)) {
            return Ok(Vec::new());
        }
        let statement = sql::list_conversations(query);
        let mut select = sqlx::query(&statement);
        if let Some(widget_id) = query.widget_id {
            select = select.bind(widget_id);
        }
        if let Some(status) = query.status {
            select = select.bind(status.as_str().to_owned());
        }
        if let Some(Assignee::Agent(agent_id)) = query.assignee {
            select = select.bind(agent_id);
        }
        if let Some(before) = query.updated_before {
            select = select.bind(before);
        }
        if let Some(agent_id) = query.visible_to {
            select = select.bind(agent_id);
        }
        if let Some(label_id) = query.label_id {
            select = select.bind(label_id);
        }
        if let Some(text) = &query.text {
            select = select.bind(sql::contains_pattern(text));
        }
        // PostgreSQL rejects a negative LIMIT where SQLite reads it as "no limit"; both get 0.
        let rows = select
            .bind(query.limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::conversation)
    }

    async fn update_conversation(
        &self,
        id: i64,
        status: ConversationStatus,
        assigned_agent_id: Option<i64>,
    ) -> Result<Option<Conversation>> {
        let now = Utc::now();
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // The status and assignee before, locked, so that the deliveries announcing the change
        // to webhooks say what it changed from and are numbered in the order changes commit.
        let lock = format!(
            "SELECT status, assigned_agent_id FROM conversations WHERE id = $1{}",
            webhooks::for_update::<DB>()
        );
        let Some(before) = sqlx::query(&lock).bind(id).fetch_optional(&mut *tx).await? else {
            tx.rollback().await?;
            return Ok(None);
        };
        let row = sqlx::query(sql::UPDATE_CONVERSATION)
            .bind(status.as_str().to_owned())
            .bind(assigned_agent_id)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| {
                // Only a given agent id can dangle.
                write_error(e, String::new, || {
                    format!("agent {}", assigned_agent_id.unwrap_or_default())
                })
            })?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let updated = rows::conversation(&row)?;
        let previous_status = before.text("status")?;
        if previous_status != updated.status.as_str() {
            let detail = serde_json::json!({
                "status": updated.status.as_str(),
                "previous_status": previous_status,
            });
            let event = crate::CONVERSATION_STATUS_CHANGED;
            webhooks::announce(&mut tx, event, id, None, detail, now).await?;
        }
        let previous_agent = before.int_opt("assigned_agent_id")?;
        if previous_agent != updated.assigned_agent_id {
            let detail = serde_json::json!({
                "assigned_agent_id": updated.assigned_agent_id,
                "previous_agent_id": previous_agent,
            });
            let event = crate::CONVERSATION_ASSIGNED;
            webhooks::announce(&mut tx, event, id, None, detail, now).await?;
        }
        tx.commit().await?;
        Ok(Some(updated))
    }

    async fn insert_message(&self, message: NewMessage) -> Result<Inserted> {
        self.insert_message_then(message, Box::new(|_| {})).await
    }

    async fn insert_message_then(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> Result<Inserted> {
        text::check("message", &message.message)?;
        text::check_optional("sender name", message.sender_name.as_deref())?;
        text::check_optional("client id", message.client_id.as_deref())?;
        if let Some(attachment) = &message.attachment {
            text::check("attachment name", &attachment.original_name)?;
            text::check("attachment storage name", &attachment.storage_name)?;
            text::check("attachment content type", &attachment.content_type)?;
        }
        match &self.group_commit {
            Some(writer) => writer.insert(message, after_commit).await,
            None => {
                let inserted = group_commit::insert_alone(&self.write, &message).await?;
                after_commit(&inserted);
                Ok(inserted)
            }
        }
    }

    async fn messages_after(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(sql::MESSAGES_AFTER)
            .bind(conversation_id)
            .bind(after)
            .bind(limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::message)
    }

    async fn conversation_page(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<ConversationPage> {
        self.page_reads
            .read(PageRequest {
                conversation_id,
                after,
                limit: limit.max(0),
            })
            .await
    }

    async fn latest_messages(
        &self,
        conversation_id: i64,
        up_to: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Message>> {
        let rows = sqlx::query(sql::LATEST_MESSAGES)
            .bind(conversation_id)
            .bind(up_to.unwrap_or(i64::MAX))
            .bind(limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::message)
    }

    async fn last_messages(&self, conversation_ids: &[i64]) -> Result<Vec<Message>> {
        let mut messages = Vec::with_capacity(conversation_ids.len());
        // Bounded lists of placeholders: SQLite allows 32 766 parameters, but one plan per
        // list length is enough.
        for ids in conversation_ids.chunks(100) {
            let statement = sql::last_messages(ids.len());
            let mut select = sqlx::query(&statement);
            for id in ids {
                select = select.bind(*id);
            }
            let rows = select.fetch_all(&self.read).await?;
            messages.extend(rows::all(&rows, rows::message)?);
        }
        Ok(messages)
    }

    async fn attachment(&self, id: i64) -> Result<Option<Attachment>> {
        let row = sqlx::query(sql::ATTACHMENT_BY_ID)
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
        text::check("reader", reader)?;
        let row = sqlx::query(sql::MARK_READ)
            .bind(conversation_id)
            .bind(reader.to_owned())
            .bind(last_read_id)
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(e, String::new, || format!("conversation {conversation_id}"))
            })?;
        rows::read_state(&row)
    }

    async fn read_states(&self, conversation_id: i64) -> Result<Vec<ReadState>> {
        let rows = sqlx::query(sql::READ_STATES)
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
        text::check("reactor", reactor)?;
        text::check("emoji", emoji)?;
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // Checked up front so that removing from a missing message is NotFound too, rather
        // than an empty list.
        let exists = sqlx::query(sql::MESSAGE_EXISTS)
            .bind(message_id)
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound(format!("message {message_id}")));
        }
        // Both statements are no-ops when the reaction is already as asked.
        sqlx::query(if on {
            sql::ADD_REACTION
        } else {
            sql::REMOVE_REACTION
        })
        .bind(message_id)
        .bind(reactor.to_owned())
        .bind(emoji.to_owned())
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(sql::MESSAGE_REACTIONS)
            .bind(message_id)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        rows::all(&rows, rows::reaction)
    }

    async fn reactions(&self, conversation_id: i64) -> Result<Vec<Reaction>> {
        let rows = sqlx::query(sql::CONVERSATION_REACTIONS)
            .bind(conversation_id)
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::reaction)
    }
}
