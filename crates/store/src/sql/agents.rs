//! The agents on both databases: accounts, and the availability the dashboard reports.
//! Signing in (passwords, roles, sessions, links) is in `accounts.rs`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{errors::write_error, rows, rows::Columns, statements as sql, Backend, SqlStore};
use crate::{text, Agent, AgentAvailability, Agents, NewAgent, Result};

#[async_trait]
impl<DB> Agents for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn create_agent(&self, agent: NewAgent) -> Result<Agent> {
        text::check("agent name", &agent.name)?;
        text::check("agent email", &agent.email)?;
        text::check("agent token hash", &agent.token_hash)?;
        let email = stored_email(&agent.email);
        let row = sqlx::query(sql::INSERT_AGENT)
            .bind(agent.name)
            .bind(email.clone())
            .bind(agent.token_hash)
            .bind(agent.role.as_str().to_owned())
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || format!("an agent with email {email:?} or this token"),
                    String::new,
                )
            })?;
        rows::agent(&row)
    }

    async fn agent_by_token_hash(&self, token_hash: &str) -> Result<Option<Agent>> {
        if !text::storable(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(sql::AGENT_BY_TOKEN_HASH)
            .bind(token_hash.to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn agent(&self, id: i64) -> Result<Option<Agent>> {
        let row = sqlx::query(sql::AGENT_BY_ID)
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(sql::ALL_AGENTS).fetch_all(&self.read).await?;
        rows::all(&rows, rows::agent)
    }

    async fn set_agent_availability(
        &self,
        id: i64,
        availability: AgentAvailability,
        now: DateTime<Utc>,
        sequence: Option<i64>,
    ) -> Result<Option<Agent>> {
        let row = sqlx::query(sql::SET_AGENT_AVAILABILITY)
            .bind(availability.as_str().to_owned())
            .bind(now)
            .bind(id)
            .bind(sequence)
            .fetch_optional(&self.write)
            .await?;
        match row {
            Some(row) => rows::agent(&row).map(Some),
            // Unknown, or an update older than one already applied: the agent as stored.
            None => self.agent(id).await,
        }
    }

    async fn revoke_agent(&self, id: i64) -> Result<bool> {
        let now = Utc::now();
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        super::accounts::keep_an_admin(&mut tx, id).await?;
        let row = sqlx::query(sql::REVOKE_AGENT)
            .bind(now)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        if row.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        // Their sessions end with them. (A session lookup also checks the agent, so a session
        // made after this is never found either.)
        sqlx::query(sql::REVOKE_SESSIONS_OF)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn agent_widgets(&self, agent_id: i64) -> Result<Vec<i64>> {
        let rows = sqlx::query(sql::AGENT_WIDGETS)
            .bind(agent_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|row| row.int("widget_id")).collect()
    }

    async fn set_agent_widgets(&self, agent_id: i64, widget_ids: &[i64]) -> Result<bool> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        // Proves the agent is live, and on PostgreSQL locks its row so two replacements of
        // one agent's list take turns.
        let live = sqlx::query(sql::LIVE_AGENT_FOR_UPDATE)
            .bind(agent_id)
            .fetch_optional(&mut *tx)
            .await?;
        if live.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(sql::CLEAR_AGENT_WIDGETS)
            .bind(agent_id)
            .execute(&mut *tx)
            .await?;
        for widget_id in widget_ids {
            sqlx::query(sql::ADD_AGENT_WIDGET)
                .bind(agent_id)
                .bind(*widget_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, String::new, || format!("widget {widget_id}")))?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn touch_agent(
        &self,
        id: i64,
        now: DateTime<Utc>,
        sequence: Option<i64>,
    ) -> Result<Option<Agent>> {
        let row = sqlx::query(sql::TOUCH_AGENT)
            .bind(now)
            .bind(id)
            .bind(sequence)
            .fetch_optional(&self.write)
            .await?;
        match row {
            Some(row) => rows::agent(&row).map(Some),
            None => self.agent(id).await,
        }
    }
}

/// An email as it is stored and looked up: ASCII letters lowercased, everything else as given
/// (SQLite's `lower()` folds ASCII only; folding more here would let the databases disagree).
pub(super) fn stored_email(email: &str) -> String {
    email.to_ascii_lowercase()
}
