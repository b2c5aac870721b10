//! Privacy on both databases: selecting a visitor's conversations, reading one whole, and
//! erasing conversations with everything that refers to them, in the order the foreign keys
//! need (reactions, bot turns, mails, read marks, ratings, notes, labels, messages,
//! attachments, the conversation).
//!
//! An erasure first locks the conversations it takes: on PostgreSQL with `FOR UPDATE` (a
//! message, read mark or rating being stored in one of them waits, then finds it gone), and
//! for retention with `FOR UPDATE SKIP LOCKED`, so two nodes expiring at once take different
//! conversations; SQLite's `BEGIN IMMEDIATE` already holds the database's only write lock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Transaction, Type};

use super::{rows, rows::Columns, statements as sql, Backend, SqlStore};
use crate::{
    text, ConversationExport, Erased, ErasedConversation, Privacy, Result, VisitorSelector,
};

/// Whether the database locks rows (PostgreSQL) rather than the whole database (SQLite): the
/// one difference the statements here depend on.
fn locks_rows<DB: Backend>() -> bool {
    !DB::SKIP_LOCKED.is_empty()
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The attachments of a conversation, with every column `rows::attachment` reads.
const CONVERSATION_ATTACHMENTS: &str = "SELECT id, conversation_id, storage_name, \
     original_name, content_type, size_bytes, created_at FROM attachments \
     WHERE conversation_id = $1 ORDER BY id";

/// What each erasing statement deletes, in foreign-key order; `{ids}` is the list of
/// conversation ids. Each returns one row per deleted row, since sqlx has no affected-row
/// count that works across databases.
const ERASE_REACTIONS: &str = "DELETE FROM reactions WHERE message_id IN \
     (SELECT id FROM messages WHERE conversation_id IN ({ids})) RETURNING message_id";
const ERASE_BOT_JOBS: &str = "DELETE FROM bot_jobs WHERE conversation_id IN ({ids}) RETURNING id";
const ERASE_READ_STATES: &str =
    "DELETE FROM read_states WHERE conversation_id IN ({ids}) RETURNING conversation_id";
const ERASE_MAIL_JOBS: &str = "DELETE FROM mail_jobs WHERE conversation_id IN ({ids}) RETURNING id";
const ERASE_NOTES: &str = "DELETE FROM notes WHERE conversation_id IN ({ids}) RETURNING id";
const ERASE_LABELS: &str =
    "DELETE FROM conversation_labels WHERE conversation_id IN ({ids}) RETURNING label_id";
/// Deliveries to webhooks name the conversation and its messages; not counted (they hold no
/// personal data: the body is written when it is sent).
const ERASE_WEBHOOK_DELIVERIES: &str =
    "DELETE FROM webhook_deliveries WHERE conversation_id IN ({ids}) RETURNING id";
const ERASE_RATINGS: &str =
    "DELETE FROM ratings WHERE conversation_id IN ({ids}) RETURNING conversation_id";
const ERASE_MESSAGES: &str = "DELETE FROM messages WHERE conversation_id IN ({ids}) RETURNING id";
const ERASE_ATTACHMENTS: &str =
    "DELETE FROM attachments WHERE conversation_id IN ({ids}) RETURNING storage_name";
const ERASE_CONVERSATIONS: &str =
    "DELETE FROM conversations WHERE id IN ({ids}) RETURNING id, widget_id";

#[async_trait]
impl<DB> Privacy for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn conversations_of_visitor(&self, who: &VisitorSelector) -> Result<Vec<i64>> {
        let rows = match who {
            VisitorSelector::Conversation(id) => {
                sqlx::query("SELECT id FROM conversations WHERE id = $1")
                    .bind(*id)
                    .fetch_all(&self.read)
                    .await?
            }
            VisitorSelector::Email { email, widget_id } => {
                let email = email.trim();
                if email.is_empty() || !text::storable(email) {
                    return Ok(Vec::new());
                }
                // `lower()` folds ASCII letters on SQLite and perhaps more on PostgreSQL; the
                // exact rule (ASCII letters in any case, as emails fold everywhere in Parley)
                // is applied below, so both databases find the same conversations. The index
                // on `lower(visitor_email)` serves the lookup.
                let statement = format!(
                    "SELECT id, visitor_email FROM conversations \
                     WHERE lower(visitor_email) = lower($1){} ORDER BY id",
                    if widget_id.is_some() {
                        " AND widget_id = $2"
                    } else {
                        ""
                    }
                );
                let mut select = sqlx::query(&statement).bind(email.to_owned());
                if let Some(widget_id) = widget_id {
                    select = select.bind(*widget_id);
                }
                let rows = select.fetch_all(&self.read).await?;
                let mut ids = Vec::with_capacity(rows.len());
                for row in &rows {
                    if row
                        .text_opt("visitor_email")?
                        .is_some_and(|stored| stored.eq_ignore_ascii_case(email))
                    {
                        ids.push(row.int("id")?);
                    }
                }
                return Ok(ids);
            }
            VisitorSelector::User { user_id, widget_id } => {
                if user_id.is_empty() || !text::storable(user_id) {
                    return Ok(Vec::new());
                }
                sqlx::query(
                    "SELECT id FROM conversations WHERE widget_id = $1 AND user_id = $2 \
                     ORDER BY id",
                )
                .bind(*widget_id)
                .bind(user_id.clone())
                .fetch_all(&self.read)
                .await?
            }
        };
        rows.iter().map(|row| row.int("id")).collect()
    }

    async fn conversation_export(&self, id: i64) -> Result<Option<ConversationExport>> {
        // One transaction: on SQLite its first read fixes the snapshot, on PostgreSQL
        // REPEATABLE READ does, so an export never shows half of a concurrent change.
        let begin = if locks_rows::<DB>() {
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        } else {
            "BEGIN"
        };
        let mut tx = self.read.begin_with(begin).await?;
        let Some(row) = sqlx::query(sql::CONVERSATION_BY_ID)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(None);
        };
        let conversation = rows::conversation(&row)?;
        let messages = sqlx::query(sql::MESSAGES_AFTER)
            .bind(id)
            .bind(0_i64)
            .bind(i64::MAX)
            .fetch_all(&mut *tx)
            .await?;
        let attachments = sqlx::query(CONVERSATION_ATTACHMENTS)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let reactions = sqlx::query(sql::CONVERSATION_REACTIONS)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let read_states = sqlx::query(sql::READ_STATES)
            .bind(id)
            .fetch_all(&mut *tx)
            .await?;
        let rating = sqlx::query(sql::RATING_OF)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.rollback().await?;
        Ok(Some(ConversationExport {
            conversation,
            messages: rows::all(&messages, rows::message)?,
            attachments: rows::all(&attachments, rows::attachment)?,
            reactions: rows::all(&reactions, rows::reaction)?,
            read_states: rows::all(&read_states, rows::read_state)?,
            rating: rating.as_ref().map(rows::rating).transpose()?,
        }))
    }

    async fn erase_conversation(&self, id: i64) -> Result<Option<Erased>> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let lock = format!(
            "SELECT id FROM conversations WHERE id = $1{}",
            if locks_rows::<DB>() {
                " FOR UPDATE"
            } else {
                ""
            }
        );
        let found = sqlx::query(&lock).bind(id).fetch_optional(&mut *tx).await?;
        if found.is_none() {
            tx.rollback().await?;
            return Ok(None);
        }
        let erased = erase(&mut tx, &[id]).await?;
        tx.commit().await?;
        Ok(Some(erased))
    }

    async fn erase_inactive(
        &self,
        widget_id: i64,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Erased> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let select = format!(
            "SELECT id FROM conversations WHERE widget_id = $1 AND updated_at < $2 \
             ORDER BY updated_at, id LIMIT $3{}",
            DB::SKIP_LOCKED
        );
        let rows = sqlx::query(&select)
            .bind(widget_id)
            .bind(before)
            .bind(limit.max(0))
            .fetch_all(&mut *tx)
            .await?;
        let ids = rows
            .iter()
            .map(|row| row.int("id"))
            .collect::<Result<Vec<_>>>()?;
        if ids.is_empty() {
            tx.rollback().await?;
            return Ok(Erased::default());
        }
        let erased = erase(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(erased)
    }
}

/// Deletes the conversations `ids` (already locked by the caller's transaction) and
/// everything that refers to them.
async fn erase<DB>(tx: &mut Transaction<'_, DB>, ids: &[i64]) -> Result<Erased>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let list = placeholders(1, ids.len());
    // In foreign-key order: what refers to messages, then to the conversations, then those.
    let reactions = delete(tx, ERASE_REACTIONS, &list, ids).await?.len() as u64;
    let bot_jobs = delete(tx, ERASE_BOT_JOBS, &list, ids).await?.len() as u64;
    let mail_jobs = delete(tx, ERASE_MAIL_JOBS, &list, ids).await?.len() as u64;
    let read_states = delete(tx, ERASE_READ_STATES, &list, ids).await?.len() as u64;
    let ratings = delete(tx, ERASE_RATINGS, &list, ids).await?.len() as u64;
    let notes = delete(tx, ERASE_NOTES, &list, ids).await?.len() as u64;
    delete(tx, ERASE_LABELS, &list, ids).await?;
    delete(tx, ERASE_WEBHOOK_DELIVERIES, &list, ids).await?;
    let messages = delete(tx, ERASE_MESSAGES, &list, ids).await?.len() as u64;
    let files = delete(tx, ERASE_ATTACHMENTS, &list, ids).await?;
    let mut erased = Erased {
        conversations: Vec::with_capacity(ids.len()),
        messages,
        attachments: files.len() as u64,
        reactions,
        read_states,
        ratings,
        bot_jobs,
        mail_jobs,
        notes,
        files: files
            .iter()
            .map(|row| row.text("storage_name"))
            .collect::<Result<_>>()?,
    };
    for row in delete(tx, ERASE_CONVERSATIONS, &list, ids).await? {
        erased.conversations.push(ErasedConversation {
            id: row.int("id")?,
            widget_id: row.int("widget_id")?,
        });
    }
    // RETURNING has no order: give the conversations in the order they were chosen.
    erased
        .conversations
        .sort_by_key(|c| ids.iter().position(|id| *id == c.id));
    Ok(erased)
}

/// Runs one of the `ERASE_…` statements for `ids` (numbered `list`): the deleted rows.
async fn delete<DB>(
    tx: &mut Transaction<'_, DB>,
    statement: &str,
    list: &str,
    ids: &[i64],
) -> Result<Vec<DB::Row>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let statement = statement.replace("{ids}", list);
    let mut query = sqlx::query(&statement);
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(&mut **tx).await?)
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn numbers_each_value() {
        assert_eq!(placeholders(1, 3), "$1, $2, $3");
        assert_eq!(placeholders(2, 1), "$2");
    }
}
