//! Verified identity on both databases: widgets' identity secrets, a verified user's
//! conversations, and attaching an anonymous conversation to the user who signed in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{rows, statements as sql, Backend, SqlStore};
use crate::{text, Conversation, Identities, Result, VerifiedUser};

#[async_trait]
impl<DB> Identities for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn set_identity_secret(&self, widget_id: i64, secret: &str) -> Result<bool> {
        text::check("identity secret", secret)?;
        let updated = sqlx::query(sql::SET_IDENTITY_SECRET)
            .bind(secret.to_owned())
            .bind(widget_id)
            .fetch_optional(&self.write)
            .await?;
        Ok(updated.is_some())
    }

    async fn open_conversation_of_user(
        &self,
        widget_id: i64,
        user_id: &str,
    ) -> Result<Option<Conversation>> {
        if !text::storable(user_id) {
            return Ok(None);
        }
        let row = sqlx::query(sql::OPEN_CONVERSATION_OF_USER)
            .bind(widget_id)
            .bind(user_id.to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn conversations_of_user(
        &self,
        widget_id: i64,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<Conversation>> {
        if !text::storable(user_id) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(sql::CONVERSATIONS_OF_USER)
            .bind(widget_id)
            .bind(user_id.to_owned())
            .bind(limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::conversation)
    }

    async fn attach_user(
        &self,
        conversation_id: i64,
        user: &VerifiedUser,
    ) -> Result<Option<Conversation>> {
        text::check("user id", &user.id)?;
        text::check_optional("visitor name", user.name.as_deref())?;
        text::check_optional("visitor email", user.email.as_deref())?;
        let row = sqlx::query(sql::ATTACH_USER)
            .bind(user.id.clone())
            .bind(user.name.clone())
            .bind(user.email.clone())
            .bind(Utc::now())
            .bind(conversation_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }
}
