//! The inbox's previews on both databases: one `UNION ALL` of the per-conversation `MAX(id)`
//! of every message, of those not from `system`, and of those holding the search text (each
//! on the `(conversation_id, id)` index), joined back to the messages; and the visitor's page.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{rows, statements as sql, Backend, SqlStore};
use crate::{text, Conversation, InboxPreview, InboxPreviews, Result};

/// Conversations per statement: a listing's most, so a listing is one statement.
const CHUNK: usize = 200;

/// The statement for `count` conversations (`$1`…`$count`), with the search's pattern as
/// `$count+1` when `search`.
fn statement(count: usize, search: bool) -> String {
    let ids: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    let ids = ids.join(", ");
    let mut kinds = format!(
        "SELECT 'last' AS kind, MAX(id) AS id FROM messages WHERE conversation_id IN ({ids}) \
         GROUP BY conversation_id \
         UNION ALL SELECT 'preview' AS kind, MAX(id) AS id FROM messages \
         WHERE conversation_id IN ({ids}) AND sender_type <> 'system' GROUP BY conversation_id"
    );
    if search {
        kinds.push_str(&format!(
            " UNION ALL SELECT 'match' AS kind, MAX(id) AS id FROM messages \
             WHERE conversation_id IN ({ids}) AND LOWER(message) LIKE ${} ESCAPE '\\' \
             GROUP BY conversation_id",
            count + 1
        ));
    }
    format!(
        "SELECT k.kind, m.id, m.conversation_id, m.sender_type, m.sender_name, m.message, \
         m.attachment_id, a.original_name AS attachment_name, m.is_voice, m.client_id, \
         m.created_at FROM ({kinds}) k JOIN messages m ON m.id = k.id \
         LEFT JOIN attachments a ON a.id = m.attachment_id"
    )
}

#[async_trait]
impl<DB> InboxPreviews for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    async fn inbox_previews(
        &self,
        conversation_ids: &[i64],
        search: Option<&str>,
    ) -> Result<Vec<InboxPreview>> {
        // Text the database could not hold matches nothing (as the listing's search).
        let pattern = search
            .map(str::trim)
            .filter(|text| !text.is_empty() && text::storable(text))
            .map(sql::contains_pattern);
        let mut found: HashMap<i64, InboxPreview> = HashMap::new();
        let mut others = Vec::new();
        for ids in conversation_ids.chunks(CHUNK) {
            let statement = statement(ids.len(), pattern.is_some());
            let mut select = sqlx::query(&statement);
            for id in ids {
                select = select.bind(*id);
            }
            if let Some(pattern) = &pattern {
                select = select.bind(pattern.clone());
            }
            for row in select.fetch_all(&self.read).await? {
                let kind = rows::Columns::text(&row, "kind")?;
                let message = rows::message(&row)?;
                if kind == "last" {
                    found.insert(
                        message.conversation_id,
                        InboxPreview {
                            conversation_id: message.conversation_id,
                            last: message,
                            preview: None,
                            matched: None,
                        },
                    );
                } else {
                    others.push((kind, message));
                }
            }
        }
        for (kind, message) in others {
            if let Some(entry) = found.get_mut(&message.conversation_id) {
                match kind.as_str() {
                    "preview" => entry.preview = Some(message),
                    _ => entry.matched = Some(message),
                }
            }
        }
        Ok(found.into_values().collect())
    }

    async fn note_page(
        &self,
        conversation_id: i64,
        page_url: &str,
    ) -> Result<Option<Conversation>> {
        text::check("page url", page_url)?;
        let statement = format!(
            "UPDATE conversations SET page_url = $1 \
             WHERE id = $2 AND (page_url IS NULL OR page_url <> $1) RETURNING {}",
            sql::CONVERSATION_COLUMNS
        );
        let row = sqlx::query(&statement)
            .bind(page_url.to_owned())
            .bind(conversation_id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::statement;

    #[test]
    fn one_statement_numbers_the_ids_once_and_the_pattern_last() {
        let plain = statement(2, false);
        assert_eq!(plain.matches("IN ($1, $2)").count(), 2);
        assert!(!plain.contains("$3") && !plain.contains("LIKE"));
        let searching = statement(2, true);
        assert_eq!(searching.matches("IN ($1, $2)").count(), 3);
        assert!(searching.contains("LOWER(message) LIKE $3 ESCAPE '\\'"));
    }
}
