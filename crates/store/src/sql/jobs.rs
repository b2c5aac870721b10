//! The bot-job queue on both databases: enqueue inside the message's transaction, claim with a
//! lease (and `SKIP LOCKED` where the database has it), finish, retry.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Transaction, Type};

use super::{rows::Columns, Backend, SqlStore};
use crate::{text, BotJob, BotJobs, Result};

/// Queues the turn for a just-inserted visitor message.
pub(super) async fn enqueue<DB>(
    tx: &mut Transaction<'_, DB>,
    conversation_id: i64,
    message_id: i64,
    now: DateTime<Utc>,
) -> Result<()>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(
        "INSERT INTO bot_jobs (conversation_id, message_id, run_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $3, $3) ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(conversation_id)
    .bind(message_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

#[async_trait]
impl<DB> BotJobs for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn claim_bot_job(&self, lease: Duration) -> Result<Option<BotJob>> {
        let now = Utc::now();
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let sql = format!(
            "UPDATE bot_jobs SET state = 'running', attempts = attempts + 1, locked_until = $1, updated_at = $2 \
             WHERE id = (SELECT id FROM bot_jobs \
                         WHERE (state = 'pending' AND run_at <= $2) OR (state = 'running' AND locked_until <= $2) \
                         ORDER BY run_at, id LIMIT 1{}) \
             RETURNING id, conversation_id, message_id, attempts",
            DB::SKIP_LOCKED
        );
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let row = sqlx::query(&sql)
            .bind(until)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|row| {
            Ok(BotJob {
                id: row.int("id")?,
                conversation_id: row.int("conversation_id")?,
                message_id: row.int("message_id")?,
                attempts: i32::try_from(row.int("attempts")?).unwrap_or(i32::MAX),
            })
        })
        .transpose()
    }

    async fn finish_bot_job(&self, id: i64, outcome: &str) -> Result<()> {
        sqlx::query("UPDATE bot_jobs SET state = 'done', outcome = $1, locked_until = NULL, updated_at = $2 WHERE id = $3")
            .bind(text::lossy(outcome).into_owned())
            .bind(Utc::now())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    async fn retry_bot_job(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE bot_jobs SET state = 'pending', run_at = $1, locked_until = NULL, last_error = $2, updated_at = $3 \
             WHERE id = $4",
        )
        .bind(retry_at)
        .bind(text::lossy(error).chars().take(2000).collect::<String>())
        .bind(Utc::now())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn bot_outcomes(&self, conversation_id: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT outcome FROM bot_jobs WHERE conversation_id = $1 AND state = 'done' ORDER BY id DESC LIMIT $2",
        )
        .bind(conversation_id)
        .bind(limit.max(0))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| Ok(row.text_opt("outcome")?.unwrap_or_default()))
            .collect()
    }
}
