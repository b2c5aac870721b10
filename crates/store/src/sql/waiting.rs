//! Conversations waiting for a reply by email, on both databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{rows, statements as sql, Backend, SqlStore};
use crate::{text, Conversation, EmailWaits, Result};

#[async_trait]
impl<DB> EmailWaits for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn wait_for_email(
        &self,
        conversation_id: i64,
        email: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Conversation>> {
        text::check_optional("visitor email", email)?;
        let row = sqlx::query(sql::WAIT_FOR_EMAIL)
            .bind(email.map(str::to_owned))
            .bind(at)
            .bind(conversation_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn end_email_wait(&self, conversation_id: i64) -> Result<Option<Conversation>> {
        let row = sqlx::query(sql::END_EMAIL_WAIT)
            .bind(conversation_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }
}
