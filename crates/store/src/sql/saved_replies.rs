//! Saved replies on both databases.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows, statements as sql, Backend, SqlStore};
use crate::{text, NewSavedReply, Result, SavedReplies, SavedReply};

#[async_trait]
impl<DB> SavedReplies for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn saved_replies(&self) -> Result<Vec<SavedReply>> {
        let rows = sqlx::query(sql::ALL_SAVED_REPLIES)
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::saved_reply)
    }

    async fn create_saved_reply(&self, reply: NewSavedReply) -> Result<SavedReply> {
        storable(&reply)?;
        let shortcut = reply.shortcut.clone();
        let row = sqlx::query(sql::INSERT_SAVED_REPLY)
            .bind(reply.shortcut)
            .bind(reply.text)
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| write_error(e, || format!("a saved reply /{shortcut}"), String::new))?;
        rows::saved_reply(&row)
    }

    async fn update_saved_reply(
        &self,
        id: i64,
        reply: NewSavedReply,
    ) -> Result<Option<SavedReply>> {
        storable(&reply)?;
        let shortcut = reply.shortcut.clone();
        let row = sqlx::query(sql::UPDATE_SAVED_REPLY)
            .bind(reply.shortcut)
            .bind(reply.text)
            .bind(Utc::now())
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| write_error(e, || format!("a saved reply /{shortcut}"), String::new))?;
        row.as_ref().map(rows::saved_reply).transpose()
    }

    async fn delete_saved_reply(&self, id: i64) -> Result<bool> {
        let deleted = sqlx::query(sql::DELETE_SAVED_REPLY)
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        Ok(deleted.is_some())
    }
}

fn storable(reply: &NewSavedReply) -> Result<()> {
    text::check("saved reply shortcut", &reply.shortcut)?;
    text::check("saved reply text", &reply.text)
}
