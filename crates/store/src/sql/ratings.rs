//! Ratings on both databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows, statements as sql, Backend, SqlStore};
use crate::{text, Rating, Ratings, Result};

#[async_trait]
impl<DB> Ratings for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn rate(
        &self,
        conversation_id: i64,
        score: i64,
        comment: Option<&str>,
    ) -> Result<Rating> {
        text::check_optional("rating comment", comment)?;
        let row = sqlx::query(sql::INSERT_RATING)
            .bind(conversation_id)
            .bind(score)
            .bind(comment.map(str::to_owned))
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || format!("a rating of conversation {conversation_id}"),
                    || format!("conversation {conversation_id}"),
                )
            })?;
        rows::rating(&row)
    }

    async fn rating(&self, conversation_id: i64) -> Result<Option<Rating>> {
        let row = sqlx::query(sql::RATING_OF)
            .bind(conversation_id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::rating).transpose()
    }
}
