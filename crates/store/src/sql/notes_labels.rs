//! Notes and labels on both databases. A label's name is unique with ASCII letters folded (the
//! `name_key` column), as emails are everywhere in Parley, so both databases refuse the same
//! duplicates; a conversation's labels are replaced whole in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows::Columns, Backend, SqlStore};
use crate::{text, Label, Labels, NewNote, Note, Notes, Result, StoreError};

pub(super) const NOTE_COLUMNS: &str = "id, conversation_id, agent_id, body, mentions, created_at";
const LABEL_COLUMNS: &str = "id, name, color, created_at";

pub(super) fn note(row: &impl Columns) -> Result<Note> {
    let id = row.int("id")?;
    let mentions = serde_json::from_value(row.json("mentions")?)
        .map_err(|e| StoreError::Corrupt(format!("note {id}: mentions: {e}")))?;
    Ok(Note {
        id,
        conversation_id: row.int("conversation_id")?,
        agent_id: row.int("agent_id")?,
        body: row.text("body")?,
        mentions,
        created_at: row.time("created_at")?,
    })
}

fn label(row: &impl Columns) -> Result<Label> {
    Ok(Label {
        id: row.int("id")?,
        name: row.text("name")?,
        color: row.text("color")?,
        created_at: row.time("created_at")?,
    })
}

/// The folded form two label names are compared by.
fn name_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

#[async_trait]
impl<DB> Notes for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    async fn add_note(&self, new: NewNote) -> Result<Note> {
        text::check("note", &new.body)?;
        let conversation_id = new.conversation_id;
        let statement = format!(
            "INSERT INTO notes (conversation_id, agent_id, body, mentions, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {NOTE_COLUMNS}"
        );
        let row = sqlx::query(&statement)
            .bind(conversation_id)
            .bind(new.agent_id)
            .bind(new.body)
            .bind(Value::from(new.mentions))
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(e, String::new, || format!("conversation {conversation_id}"))
            })?;
        note(&row)
    }

    async fn notes(&self, conversation_id: i64) -> Result<Vec<Note>> {
        let statement =
            format!("SELECT {NOTE_COLUMNS} FROM notes WHERE conversation_id = $1 ORDER BY id");
        let rows = sqlx::query(&statement)
            .bind(conversation_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(note).collect()
    }
}

#[async_trait]
impl<DB> Labels for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn labels(&self) -> Result<Vec<Label>> {
        let statement = format!("SELECT {LABEL_COLUMNS} FROM labels ORDER BY name_key, id");
        let rows = sqlx::query(&statement).fetch_all(&self.read).await?;
        rows.iter().map(label).collect()
    }

    async fn create_label(&self, name: &str, color: &str) -> Result<Label> {
        text::check("label name", name)?;
        text::check("label colour", color)?;
        let statement = format!(
            "INSERT INTO labels (name, name_key, color, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING {LABEL_COLUMNS}"
        );
        let row = sqlx::query(&statement)
            .bind(name.trim().to_owned())
            .bind(name_key(name))
            .bind(color.to_owned())
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| write_error(e, || format!("a label named {name}"), String::new))?;
        label(&row)
    }

    async fn update_label(&self, id: i64, name: &str, color: &str) -> Result<Option<Label>> {
        text::check("label name", name)?;
        text::check("label colour", color)?;
        let statement = format!(
            "UPDATE labels SET name = $1, name_key = $2, color = $3 WHERE id = $4 \
             RETURNING {LABEL_COLUMNS}"
        );
        let row = sqlx::query(&statement)
            .bind(name.trim().to_owned())
            .bind(name_key(name))
            .bind(color.to_owned())
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| write_error(e, || format!("a label named {name}"), String::new))?;
        row.as_ref().map(label).transpose()
    }

    async fn delete_label(&self, id: i64) -> Result<bool> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        sqlx::query("DELETE FROM conversation_labels WHERE label_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let deleted = sqlx::query("DELETE FROM labels WHERE id = $1 RETURNING id")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(deleted.is_some())
    }

    async fn set_conversation_labels(
        &self,
        conversation_id: i64,
        label_ids: &[i64],
    ) -> Result<Vec<i64>> {
        let mut wanted = label_ids.to_vec();
        wanted.sort_unstable();
        wanted.dedup();
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // Touching the conversation first locks it (PostgreSQL) and proves it exists.
        let touched = sqlx::query("UPDATE conversations SET id = id WHERE id = $1 RETURNING id")
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?;
        if touched.is_none() {
            return Err(StoreError::NotFound(format!(
                "conversation {conversation_id}"
            )));
        }
        sqlx::query("DELETE FROM conversation_labels WHERE conversation_id = $1")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        for label_id in &wanted {
            sqlx::query(
                "INSERT INTO conversation_labels (conversation_id, label_id) VALUES ($1, $2)",
            )
            .bind(conversation_id)
            .bind(*label_id)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, String::new, || format!("label {label_id}")))?;
        }
        tx.commit().await?;
        Ok(wanted)
    }

    async fn labels_of(&self, conversation_ids: &[i64]) -> Result<Vec<(i64, i64)>> {
        if conversation_ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = (1..=conversation_ids.len())
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let statement = format!(
            "SELECT conversation_id, label_id FROM conversation_labels \
             WHERE conversation_id IN ({list}) ORDER BY conversation_id, label_id"
        );
        let mut select = sqlx::query(&statement);
        for id in conversation_ids {
            select = select.bind(*id);
        }
        let rows = select.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| Ok((row.int("conversation_id")?, row.int("label_id")?)))
            .collect()
    }
}
