//! Ratings on both databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows, statements as sql, webhooks, Backend, SqlStore};
use crate::{text, Rating, Ratings, Result, StoreError};

#[async_trait]
impl<DB> Ratings for SqlStore<DB>
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
    async fn rate(
        &self,
        conversation_id: i64,
        score: i64,
        comment: Option<&str>,
    ) -> Result<Rating> {
        text::check_optional("rating comment", comment)?;
        let now = Utc::now();
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // The conversation's row first, as every change announced to webhooks does, so its
        // deliveries are numbered in the order the changes commit.
        let lock = format!(
            "SELECT id FROM conversations WHERE id = $1{}",
            webhooks::for_update::<DB>()
        );
        if sqlx::query(&lock)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
            .is_none()
        {
            tx.rollback().await?;
            return Err(StoreError::NotFound(format!(
                "conversation {conversation_id}"
            )));
        }
        let row = sqlx::query(sql::INSERT_RATING)
            .bind(conversation_id)
            .bind(score)
            .bind(comment.map(str::to_owned))
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || format!("a rating of conversation {conversation_id}"),
                    || format!("conversation {conversation_id}"),
                )
            })?;
        let rating = rows::rating(&row)?;
        let detail = Value::Object(Default::default());
        let event = crate::CONVERSATION_RATED;
        webhooks::announce(&mut tx, event, conversation_id, None, detail, now).await?;
        tx.commit().await?;
        Ok(rating)
    }

    async fn rating(&self, conversation_id: i64) -> Result<Option<Rating>> {
        let row = sqlx::query(sql::RATING_OF)
            .bind(conversation_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::rating).transpose()
    }
}
