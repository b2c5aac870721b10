//! Automatic assignment and transfers on both databases.
//!
//! One transaction serves a widget's queue: it locks the queued conversations it will look at
//! (`SKIP LOCKED`, so another node takes the next ones), then the candidate agents' rows in id
//! order (PostgreSQL; SQLite's write lock covers everything), then reads every agent's open
//! conversations. An assignment by another node to one of those agents committed before the lock
//! was granted, so the counts include it and the capacity holds across nodes. The round-robin
//! turn is a row per widget, read and written under the same locks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use sqlx::{Encode, Executor, IntoArguments, Transaction, Type};

use super::{
    errors::write_error, notes_labels, rows, rows::Columns, statements as sql, webhooks, Backend,
    SqlStore,
};
use crate::{
    assignment::pick_agent, text, AssignmentRule, Assignments, NewNote, Reassigned, Result,
    TransferRefused, Transferred,
};

/// The widget's queue (`$1`), oldest handoff first, at most `$2`; the database's lock clause
/// follows.
const QUEUED: &str = "SELECT id, passed_agent_id FROM conversations \
     WHERE widget_id = $1 AND status = 'human' AND assigned_agent_id IS NULL \
     ORDER BY COALESCE(handed_off_at, created_at), id LIMIT $2";

/// The agents who may get widget `$2`'s conversations: not revoked, online (heard from at or
/// after `$1`), and answering the widget (admins, agents given no list, or given this widget).
const CANDIDATES: &str = "SELECT a.id FROM agents a \
     WHERE a.revoked_at IS NULL AND a.availability = 'online' AND a.last_seen_at >= $1 \
     AND (a.role = 'admin' \
     OR NOT EXISTS (SELECT 1 FROM agent_widgets aw WHERE aw.agent_id = a.id) \
     OR EXISTS (SELECT 1 FROM agent_widgets aw WHERE aw.agent_id = a.id AND aw.widget_id = $2)) \
     ORDER BY a.id";

/// Every agent's open conversations.
const OPEN_COUNTS: &str = "SELECT assigned_agent_id AS agent_id, COUNT(*) AS open \
     FROM conversations WHERE status = 'human' AND assigned_agent_id IS NOT NULL \
     GROUP BY assigned_agent_id";

const TURN: &str = "SELECT last_agent_id FROM assignment_turns WHERE widget_id = $1";
const SET_TURN: &str = "INSERT INTO assignment_turns (widget_id, last_agent_id, updated_at) \
     VALUES ($1, $2, $3) ON CONFLICT (widget_id) DO UPDATE \
     SET last_agent_id = excluded.last_agent_id, updated_at = excluded.updated_at";

/// Open conversations of widget `$1` whose assignee got them at or before `$2` and that no agent
/// has replied to since, longest waiting first, at most `$3`; the lock clause follows.
const UNANSWERED: &str = "SELECT c.id, c.assigned_agent_id FROM conversations c \
     WHERE c.widget_id = $1 AND c.status = 'human' AND c.assigned_agent_id IS NOT NULL \
     AND c.assigned_at <= $2 \
     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id \
     AND m.sender_type = 'agent' AND m.created_at >= c.assigned_at) \
     ORDER BY c.assigned_at, c.id LIMIT $3";

#[async_trait]
impl<DB> Assignments for SqlStore<DB>
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
    async fn assign_queued(
        &self,
        rule: &AssignmentRule,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reassigned>> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let queued = sqlx::query(&format!("{QUEUED}{}", DB::SKIP_LOCKED))
            .bind(rule.widget_id)
            .bind(limit.max(0))
            .fetch_all(&mut *tx)
            .await?;
        if queued.is_empty() {
            tx.rollback().await?;
            return Ok(Vec::new());
        }
        let candidates = sqlx::query(&format!("{CANDIDATES}{}", webhooks::for_update::<DB>()))
            .bind(rule.online_since)
            .bind(rule.widget_id)
            .fetch_all(&mut *tx)
            .await?;
        let ids = candidates
            .iter()
            .map(|row| row.int("id"))
            .collect::<Result<Vec<i64>>>()?;
        // A statement of its own, after the locks: it sees what other nodes committed meanwhile.
        let counts = open_counts(&mut tx).await?;
        let mut team: Vec<(i64, i64)> = ids
            .iter()
            .map(|id| {
                let open = counts.iter().find(|(a, _)| a == id).map_or(0, |(_, n)| *n);
                (*id, open)
            })
            .collect();
        let mut turn = sqlx::query(&format!("{TURN}{}", webhooks::for_update::<DB>()))
            .bind(rule.widget_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.int("last_agent_id"))
            .transpose()?;

        let mut assigned = Vec::new();
        for row in &queued {
            if !team.iter().any(|(_, open)| *open < rule.capacity) {
                break;
            }
            let id = row.int("id")?;
            let passed = row.int_opt("passed_agent_id")?;
            let Some(agent) = pick_agent(rule.mode, &team, rule.capacity, turn, passed) else {
                continue;
            };
            let statement = format!(
                "UPDATE conversations SET assigned_agent_id = $1, assigned_at = $2, \
                 updated_at = $2 WHERE id = $3 AND status = 'human' \
                 AND assigned_agent_id IS NULL RETURNING {}",
                sql::CONVERSATION_COLUMNS
            );
            let Some(updated) = sqlx::query(&statement)
                .bind(agent)
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                continue;
            };
            let conversation = rows::conversation(&updated)?;
            let detail = json!({"assigned_agent_id": agent, "previous_agent_id": null});
            webhooks::announce(&mut tx, crate::CONVERSATION_ASSIGNED, id, None, detail, now)
                .await?;
            if let Some(entry) = team.iter_mut().find(|(a, _)| *a == agent) {
                entry.1 += 1;
            }
            turn = Some(agent);
            assigned.push(Reassigned {
                conversation,
                previous_agent_id: None,
            });
        }
        if let (Some(last), false) = (turn, assigned.is_empty()) {
            sqlx::query(SET_TURN)
                .bind(rule.widget_id)
                .bind(last)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(assigned)
    }

    async fn unassign_unanswered(
        &self,
        widget_id: i64,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reassigned>> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let late = sqlx::query(&format!("{UNANSWERED}{}", DB::SKIP_LOCKED))
            .bind(widget_id)
            .bind(cutoff)
            .bind(limit.max(0))
            .fetch_all(&mut *tx)
            .await?;
        let mut taken = Vec::new();
        for row in &late {
            let id = row.int("id")?;
            let agent = row.int("assigned_agent_id")?;
            let statement = format!(
                "UPDATE conversations SET assigned_agent_id = NULL, assigned_at = NULL, \
                 passed_agent_id = $1, updated_at = $2 \
                 WHERE id = $3 AND assigned_agent_id = $1 RETURNING {}",
                sql::CONVERSATION_COLUMNS
            );
            let Some(updated) = sqlx::query(&statement)
                .bind(agent)
                .bind(now)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            else {
                continue;
            };
            let detail = json!({"assigned_agent_id": null, "previous_agent_id": agent});
            webhooks::announce(&mut tx, crate::CONVERSATION_ASSIGNED, id, None, detail, now)
                .await?;
            taken.push(Reassigned {
                conversation: rows::conversation(&updated)?,
                previous_agent_id: Some(agent),
            });
        }
        tx.commit().await?;
        Ok(taken)
    }

    async fn transfer(
        &self,
        conversation_id: i64,
        to: i64,
        note: Option<NewNote>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Transferred, TransferRefused>> {
        if let Some(note) = &note {
            text::check("note", &note.body)?;
        }
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        let lock = format!(
            "SELECT status, assigned_agent_id FROM conversations WHERE id = $1{}",
            webhooks::for_update::<DB>()
        );
        let Some(before) = sqlx::query(&lock)
            .bind(conversation_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            tx.rollback().await?;
            return Ok(Err(TransferRefused::NotFound));
        };
        let status = before.text("status")?;
        let previous = before.int_opt("assigned_agent_id")?;
        let refused = match status.as_str() {
            "closed" => Some(TransferRefused::Closed),
            _ if previous == Some(to) => Some(TransferRefused::AlreadyTheirs),
            _ => None,
        };
        if let Some(refused) = refused {
            tx.rollback().await?;
            return Ok(Err(refused));
        }
        let statement = format!(
            "UPDATE conversations SET status = 'human', assigned_agent_id = $1, \
             assigned_at = $2, updated_at = $2, handed_off_at = COALESCE(handed_off_at, $2) \
             WHERE id = $3 RETURNING {}",
            sql::CONVERSATION_COLUMNS
        );
        let updated = sqlx::query(&statement)
            .bind(to)
            .bind(now)
            .bind(conversation_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, String::new, || format!("agent {to}")))?;
        let conversation = rows::conversation(&updated)?;
        if status != "human" {
            let detail = json!({"status": "human", "previous_status": status});
            let event = crate::CONVERSATION_STATUS_CHANGED;
            webhooks::announce(&mut tx, event, conversation_id, None, detail, now).await?;
        }
        let detail = json!({"assigned_agent_id": to, "previous_agent_id": previous});
        let event = crate::CONVERSATION_ASSIGNED;
        webhooks::announce(&mut tx, event, conversation_id, None, detail, now).await?;
        let note = match note {
            Some(note) => {
                let author = note.agent_id;
                let statement = format!(
                    "INSERT INTO notes (conversation_id, agent_id, body, mentions, created_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING {}",
                    notes_labels::NOTE_COLUMNS
                );
                let row = sqlx::query(&statement)
                    .bind(conversation_id)
                    .bind(author)
                    .bind(note.body)
                    .bind(Value::from(note.mentions))
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, String::new, || format!("agent {author}")))?;
                Some(notes_labels::note(&row)?)
            }
            None => None,
        };
        tx.commit().await?;
        Ok(Ok(Transferred {
            conversation,
            previous_agent_id: previous,
            note,
        }))
    }

    async fn open_conversation_counts(&self) -> Result<Vec<(i64, i64)>> {
        let rows = sqlx::query(OPEN_COUNTS).fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| Ok((row.int("agent_id")?, row.int("open")?)))
            .collect()
    }

    async fn assignment_turn(&self, widget_id: i64) -> Result<Option<i64>> {
        let row = sqlx::query(TURN)
            .bind(widget_id)
            .fetch_optional(&self.read)
            .await?;
        row.map(|row| row.int("last_agent_id")).transpose()
    }
}

/// Every agent's open conversations, read inside `tx`.
async fn open_counts<DB>(tx: &mut Transaction<'_, DB>) -> Result<Vec<(i64, i64)>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let rows = sqlx::query(OPEN_COUNTS).fetch_all(&mut **tx).await?;
    rows.iter()
        .map(|row| Ok((row.int("agent_id")?, row.int("open")?)))
        .collect()
}
