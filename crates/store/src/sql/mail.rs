//! The mail queue on both databases: enqueue under a unique key (and at most one batch of
//! offline replies in the making per conversation, by a partial unique index), claim with a
//! lease (`SKIP LOCKED` where the database has it), expire dead leases to `unknown`, finish,
//! retry; and the visitors' last-seen times.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows::Columns, Backend, SqlStore};
use crate::{
    text, MailJob, MailJobs, MailKind, MailOutcome, MailState, NewMailJob, Result, StoreError,
};

const COLUMNS: &str = "id, kind, dedupe_key, conversation_id, recipient, payload, state, \
     attempts, up_to_message_id, last_error, created_at, sent_at";

fn job(row: &impl Columns) -> Result<MailJob> {
    let id = row.int("id")?;
    let kind = row.text("kind")?;
    let kind = MailKind::parse(&kind)
        .ok_or_else(|| StoreError::Corrupt(format!("mail job {id}: kind {kind:?}")))?;
    let state = row.text("state")?;
    let state = MailState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("mail job {id}: state {state:?}")))?;
    Ok(MailJob {
        id,
        kind,
        dedupe_key: row.text("dedupe_key")?,
        conversation_id: row.int_opt("conversation_id")?,
        recipient: row.text("recipient")?,
        payload: row.json("payload")?,
        state,
        attempts: i32::try_from(row.int("attempts")?).unwrap_or(i32::MAX),
        up_to_message_id: row.int_opt("up_to_message_id")?,
        last_error: row.text_opt("last_error")?,
        created_at: row.time("created_at")?,
        sent_at: row.time_opt("sent_at")?,
    })
}

fn error_text(error: &str) -> String {
    text::lossy(error).chars().take(2000).collect()
}

#[async_trait]
impl<DB> MailJobs for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn enqueue_mail(&self, new: NewMailJob) -> Result<Option<MailJob>> {
        text::check("mail key", &new.dedupe_key)?;
        text::check("mail recipient", &new.recipient)?;
        text::check_json("mail payload", &new.payload)?;
        let now = Utc::now();
        // No conflict target: both the key and the one-batch index make a duplicate a no-op.
        let sql = format!(
            "INSERT INTO mail_jobs (kind, dedupe_key, conversation_id, recipient, payload, \
             up_to_message_id, run_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
        );
        let conversation_id = new.conversation_id;
        let row = sqlx::query(&sql)
            .bind(new.kind.as_str().to_owned())
            .bind(new.dedupe_key)
            .bind(new.conversation_id)
            .bind(new.recipient)
            .bind(new.payload)
            .bind(new.up_to_message_id)
            .bind(new.run_at)
            .bind(now)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| {
                write_error(e, String::new, || {
                    format!("conversation {}", conversation_id.unwrap_or_default())
                })
            })?;
        row.as_ref().map(job).transpose()
    }

    async fn expire_mail_jobs(&self, now: DateTime<Utc>) -> Result<Vec<MailJob>> {
        let sql = format!(
            "UPDATE mail_jobs SET state = 'unknown', locked_until = NULL, updated_at = $1, \
             last_error = 'the worker stopped while sending; it may have been delivered' \
             WHERE state = 'sending' AND locked_until <= $1 RETURNING {COLUMNS}"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&self.write).await?;
        super::rows::all(&rows, job)
    }

    async fn claim_mail_job(&self, lease: Duration) -> Result<Option<MailJob>> {
        let now = Utc::now();
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(120));
        let sql = format!(
            "UPDATE mail_jobs SET state = 'sending', attempts = attempts + 1, locked_until = $1, \
             updated_at = $2 \
             WHERE id = (SELECT id FROM mail_jobs WHERE state = 'pending' AND run_at <= $2 \
                         ORDER BY run_at, id LIMIT 1{}) \
             RETURNING {COLUMNS}",
            DB::SKIP_LOCKED
        );
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let row = sqlx::query(&sql)
            .bind(until)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(job).transpose()
    }

    async fn cover_mail(&self, id: i64, up_to_message_id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE mail_jobs SET up_to_message_id = $1, updated_at = $2 \
             WHERE id = $3 AND state = 'sending'",
        )
        .bind(up_to_message_id)
        .bind(Utc::now())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn finish_mail_job(
        &self,
        id: i64,
        outcome: MailOutcome,
        error: Option<&str>,
    ) -> Result<()> {
        let state = match outcome {
            MailOutcome::Sent => MailState::Sent,
            MailOutcome::Failed => MailState::Failed,
            MailOutcome::Unknown => MailState::Unknown,
            MailOutcome::Skipped => MailState::Skipped,
        };
        let now = Utc::now();
        // An account link's address is a credential: it is not kept once the job is over.
        sqlx::query(
            "UPDATE mail_jobs SET state = $1, locked_until = NULL, updated_at = $2, \
             sent_at = CASE WHEN $1 = 'sent' THEN $2 ELSE sent_at END, \
             last_error = COALESCE($3, last_error), \
             payload = CASE WHEN kind = 'account_link' THEN $4 ELSE payload END \
             WHERE id = $5",
        )
        .bind(state.as_str().to_owned())
        .bind(now)
        .bind(error.map(error_text))
        .bind(Value::Object(Default::default()))
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn retry_mail_job(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()> {
        sqlx::query(
            "UPDATE mail_jobs SET state = 'pending', run_at = $1, locked_until = NULL, \
             last_error = $2, updated_at = $3 WHERE id = $4 AND state = 'sending'",
        )
        .bind(retry_at)
        .bind(error_text(error))
        .bind(Utc::now())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn postpone_mail_job(&self, id: i64, run_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE mail_jobs SET state = 'pending', run_at = $1, locked_until = NULL, \
             attempts = attempts - 1, updated_at = $2 WHERE id = $3 AND state = 'sending'",
        )
        .bind(run_at)
        .bind(Utc::now())
        .bind(id)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    async fn mail_job(&self, id: i64) -> Result<Option<MailJob>> {
        let sql = format!("SELECT {COLUMNS} FROM mail_jobs WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(job).transpose()
    }

    async fn mail_jobs_of(&self, conversation_id: i64) -> Result<Vec<MailJob>> {
        let sql = format!("SELECT {COLUMNS} FROM mail_jobs WHERE conversation_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql)
            .bind(conversation_id)
            .fetch_all(&self.read)
            .await?;
        super::rows::all(&rows, job)
    }

    async fn touch_visitor(&self, conversation_id: i64, now: DateTime<Utc>) -> Result<bool> {
        let row = sqlx::query(
            "UPDATE conversations SET visitor_seen_at = \
             CASE WHEN visitor_seen_at IS NULL OR visitor_seen_at < $1 THEN $1 \
             ELSE visitor_seen_at END WHERE id = $2 RETURNING id",
        )
        .bind(now)
        .bind(conversation_id)
        .fetch_optional(&self.write)
        .await?;
        Ok(row.is_some())
    }

    async fn visitor_seen_at(&self, conversation_id: i64) -> Result<Option<DateTime<Utc>>> {
        let row = sqlx::query("SELECT visitor_seen_at FROM conversations WHERE id = $1")
            .bind(conversation_id)
            .fetch_optional(&self.read)
            .await?;
        match row {
            Some(row) => row.time_opt("visitor_seen_at"),
            None => Ok(None),
        }
    }
}
