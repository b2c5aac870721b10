//! Webhooks and their deliveries on both databases: the deliveries a change announces, inserted
//! in its transaction with one `INSERT … SELECT` over the webhooks that want it; claims with a
//! lease (`SKIP LOCKED` where the database has it) that keep each conversation's deliveries to a
//! webhook in order; dead leases ended as `unknown`; attempts recorded; the delivery log.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Transaction, Type};

use super::{errors::write_error, rows, rows::Columns, Backend, SqlStore};
use crate::{
    text, DeliveryOutcome, DeliveryReport, DeliveryState, NewWebhook, Result, StoreError, Webhook,
    WebhookDelivery, Webhooks, PING_EVENT,
};

const WEBHOOK_COLUMNS: &str = "id, url, events, widget_id, secret, created_at, disabled_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, conversation_id, message_id, detail, \
     state, attempts, next_attempt_at, last_attempt_at, response_code, response_snippet, \
     duration_ms, last_error, created_at, delivered_at";

/// The longest response snippet and error text kept.
const SNIPPET_CHARS: usize = 300;
const ERROR_CHARS: usize = 1000;

/// The deliveries of one change: one per webhook that is not disabled, wants `$1` (its
/// `events` list is empty or names it; `$6` is `%,{event},%`) and covers the conversation's
/// widget. Event names hold no `,` or `%`, and `_` in a name can only match itself among the
/// names a webhook may list.
const ANNOUNCE: &str = "INSERT INTO webhook_deliveries \
     (webhook_id, event, conversation_id, message_id, detail, next_attempt_at, created_at) \
     SELECT id, $1, $2, $3, $4, $5, $5 FROM webhooks \
     WHERE disabled_at IS NULL \
     AND (widget_id IS NULL OR widget_id = (SELECT widget_id FROM conversations WHERE id = $2)) \
     AND (events = '' OR (',' || events || ',') LIKE $6)";

/// Queues `event` about conversation `conversation_id` (and `message_id`) for every webhook that
/// wants it, inside the transaction of the change. The caller has locked the conversation's row
/// (or, on SQLite, holds the write lock), so a conversation's deliveries are numbered in the
/// order their changes commit.
pub(super) async fn announce<DB>(
    tx: &mut Transaction<'_, DB>,
    event: &str,
    conversation_id: i64,
    message_id: Option<i64>,
    detail: Value,
    now: DateTime<Utc>,
) -> Result<()>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(ANNOUNCE)
        .bind(event.to_owned())
        .bind(conversation_id)
        .bind(message_id)
        .bind(detail)
        .bind(now)
        .bind(format!("%,{event},%"))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// ` FOR UPDATE` where the database locks rows (PostgreSQL); nothing on SQLite, whose write
/// transactions already hold the only write lock.
pub(super) fn for_update<DB: Backend>() -> &'static str {
    if DB::SKIP_LOCKED.is_empty() {
        ""
    } else {
        " FOR UPDATE"
    }
}

fn webhook(row: &impl Columns) -> Result<Webhook> {
    let events = row.text("events")?;
    Ok(Webhook {
        id: row.int("id")?,
        url: row.text("url")?,
        events: events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(str::to_owned)
            .collect(),
        widget_id: row.int_opt("widget_id")?,
        secret: row.text("secret")?,
        created_at: row.time("created_at")?,
        disabled_at: row.time_opt("disabled_at")?,
    })
}

fn delivery(row: &impl Columns) -> Result<WebhookDelivery> {
    let id = row.int("id")?;
    let state = row.text("state")?;
    let state = DeliveryState::parse(&state)
        .ok_or_else(|| StoreError::Corrupt(format!("webhook delivery {id}: state {state:?}")))?;
    Ok(WebhookDelivery {
        id,
        webhook_id: row.int("webhook_id")?,
        event: row.text("event")?,
        conversation_id: row.int_opt("conversation_id")?,
        message_id: row.int_opt("message_id")?,
        detail: row.json("detail")?,
        state,
        attempts: i32::try_from(row.int("attempts")?).unwrap_or(i32::MAX),
        next_attempt_at: row.time("next_attempt_at")?,
        last_attempt_at: row.time_opt("last_attempt_at")?,
        response_code: row.int_opt("response_code")?,
        response_snippet: row.text_opt("response_snippet")?,
        duration_ms: row.int_opt("duration_ms")?,
        last_error: row.text_opt("last_error")?,
        created_at: row.time("created_at")?,
        delivered_at: row.time_opt("delivered_at")?,
    })
}

/// Diagnostic text as kept: NUL replaced, at most `chars` characters.
fn kept(value: &str, chars: usize) -> String {
    text::lossy(value).chars().take(chars).collect()
}

#[async_trait]
impl<DB> Webhooks for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<DateTime<Utc>>: Encode<'q, DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn create_webhook(&self, new: NewWebhook) -> Result<Webhook> {
        text::check("webhook url", &new.url)?;
        text::check("webhook secret", &new.secret)?;
        if new.events.iter().any(|e| e.is_empty() || e.contains(',')) {
            return Err(StoreError::Corrupt(
                "webhook event names must be non-empty and hold no comma".into(),
            ));
        }
        for event in &new.events {
            text::check("webhook event", event)?;
        }
        let widget_id = new.widget_id;
        let sql = format!(
            "INSERT INTO webhooks (url, events, widget_id, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(new.url)
            .bind(new.events.join(","))
            .bind(new.widget_id)
            .bind(new.secret)
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(e, String::new, || {
                    format!("widget {}", widget_id.unwrap_or_default())
                })
            })?;
        webhook(&row)
    }

    async fn webhooks(&self) -> Result<Vec<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&self.read).await?;
        rows::all(&rows, webhook)
    }

    async fn webhook(&self, id: i64) -> Result<Option<Webhook>> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(webhook).transpose()
    }

    async fn set_webhook_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>> {
        // Disabling again keeps the first time.
        let sql = format!(
            "UPDATE webhooks SET disabled_at = CASE WHEN $1 IS NULL THEN NULL \
             ELSE COALESCE(disabled_at, $1) END WHERE id = $2 RETURNING {WEBHOOK_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(disabled.then_some(now))
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(webhook).transpose()
    }

    async fn delete_webhook(&self, id: i64) -> Result<bool> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE webhook_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM webhooks WHERE id = $1 RETURNING id")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.is_some())
    }

    async fn enqueue_webhook_ping(&self, webhook_id: i64) -> Result<Option<WebhookDelivery>> {
        let sql = format!(
            "INSERT INTO webhook_deliveries (webhook_id, event, detail, next_attempt_at, \
             created_at) SELECT id, $1, $2, $3, $3 FROM webhooks \
             WHERE id = $4 AND disabled_at IS NULL RETURNING {DELIVERY_COLUMNS}"
        );
        let row = sqlx::query(&sql)
            .bind(PING_EVENT.to_owned())
            .bind(Value::Object(Default::default()))
            .bind(Utc::now())
            .bind(webhook_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn expire_webhook_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<WebhookDelivery>> {
        // Read first: the write (a transaction on SQLite's only writer) is taken only when a
        // lease has run out, which is rare.
        let expired = sqlx::query(
            "SELECT id FROM webhook_deliveries WHERE state = 'sending' AND locked_until <= $1 \
             LIMIT 1",
        )
        .bind(now)
        .fetch_optional(&self.read)
        .await?;
        if expired.is_none() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'unknown', locked_until = NULL, \
             last_error = 'the worker stopped while sending; the receiver may have had it' \
             WHERE state = 'sending' AND locked_until <= $1 RETURNING {DELIVERY_COLUMNS}"
        );
        let rows = sqlx::query(&sql).bind(now).fetch_all(&self.write).await?;
        rows::all(&rows, delivery)
    }

    async fn claim_webhook_delivery(&self, lease: Duration) -> Result<Option<WebhookDelivery>> {
        let now = Utc::now();
        // Candidates: due, of a live webhook, and first in line for their conversation.
        let candidates = "FROM webhook_deliveries d \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             AND d.webhook_id IN (SELECT id FROM webhooks WHERE disabled_at IS NULL) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                 WHERE e.webhook_id = d.webhook_id AND e.conversation_id = d.conversation_id \
                 AND e.id < d.id AND e.state IN ('pending', 'sending'))";
        // The worker looks every second or so; most looks find nothing, and find it on the
        // read pool without taking the write lock.
        let due = sqlx::query(&format!("SELECT d.id {candidates} LIMIT 1"))
            .bind(now)
            .fetch_optional(&self.read)
            .await?;
        if due.is_none() {
            return Ok(None);
        }
        let until =
            now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
        let sql = format!(
            "UPDATE webhook_deliveries SET state = 'sending', attempts = attempts + 1, \
             locked_until = $2, last_attempt_at = $1 \
             WHERE id = (SELECT d.id {candidates} ORDER BY d.next_attempt_at, d.id LIMIT 1{}) \
             RETURNING {DELIVERY_COLUMNS}",
            DB::SKIP_LOCKED
        );
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let row = sqlx::query(&sql)
            .bind(now)
            .bind(until)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn finish_webhook_delivery(
        &self,
        id: i64,
        attempt: i32,
        report: &DeliveryReport,
    ) -> Result<bool> {
        let now = Utc::now();
        let (state, retry_at) = match report.outcome {
            DeliveryOutcome::Delivered => (DeliveryState::Delivered, None),
            DeliveryOutcome::RetryAt(at) => (DeliveryState::Pending, Some(at)),
            DeliveryOutcome::Failed => (DeliveryState::Failed, None),
        };
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let row = sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, \
             next_attempt_at = COALESCE($2, next_attempt_at), locked_until = NULL, \
             response_code = $3, response_snippet = $4, last_error = $5, duration_ms = $6, \
             delivered_at = CASE WHEN $1 = 'delivered' THEN $7 ELSE delivered_at END \
             WHERE id = $8 AND attempts = $9 \
             AND (state = 'sending' OR (state = 'unknown' AND $1 = 'delivered')) \
             RETURNING webhook_id, conversation_id",
        )
        .bind(state.as_str().to_owned())
        .bind(retry_at)
        .bind(report.response_code.map(i64::from))
        .bind(
            report
                .response_snippet
                .as_deref()
                .map(|s| kept(s, SNIPPET_CHARS)),
        )
        .bind(report.error.as_deref().map(|e| kept(e, ERROR_CHARS)))
        .bind(report.duration_ms.max(0))
        .bind(now)
        .bind(id)
        .bind(i64::from(attempt))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(false);
        };
        // The conversation's later deliveries to this webhook cannot go before this one: they
        // wait for its retry, rather than being looked at by every claim until then.
        if let (Some(at), Some(conversation_id)) = (retry_at, row.int_opt("conversation_id")?) {
            sqlx::query(
                "UPDATE webhook_deliveries SET next_attempt_at = $1 \
                 WHERE webhook_id = $2 AND conversation_id = $3 AND id > $4 \
                 AND state = 'pending' AND next_attempt_at < $1",
            )
            .bind(at)
            .bind(row.int("webhook_id")?)
            .bind(conversation_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn webhook_delivery(&self, id: i64) -> Result<Option<WebhookDelivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries \
             WHERE webhook_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3"
        );
        let rows = sqlx::query(&sql)
            .bind(webhook_id)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, delivery)
    }

    async fn prune_webhook_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let rows = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE created_at < $1 \
             AND state IN ('delivered', 'failed', 'unknown') RETURNING id",
        )
        .bind(before)
        .fetch_all(&self.write)
        .await?;
        Ok(rows.len() as u64)
    }
}
