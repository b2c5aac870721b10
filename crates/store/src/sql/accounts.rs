//! Signing in on both databases: agents' emails, passwords and roles, sessions, single-use
//! links and the audit log.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{
    agents::stored_email, errors::write_error, rows, rows::Columns, statements as sql, Backend,
    SqlStore,
};
use crate::{
    text, AccountLink, Accounts, Agent, AuditEntry, LinkPurpose, NewAccountLink, NewAuditEntry,
    NewSession, Result, Role, Session,
};

#[async_trait]
impl<DB> Accounts for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>> {
        if !text::storable(email) {
            return Ok(None);
        }
        let row = sqlx::query(sql::AGENT_BY_EMAIL)
            .bind(stored_email(email))
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn set_password(&self, id: i64, password_hash: &str) -> Result<bool> {
        text::check("password hash", password_hash)?;
        let row = sqlx::query(sql::SET_PASSWORD)
            .bind(password_hash.to_owned())
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        Ok(row.is_some())
    }

    async fn set_role(&self, id: i64, role: Role) -> Result<Option<Agent>> {
        let mut tx = self.write.begin_with(DB::BEGIN_WRITE).await?;
        if role == Role::Agent {
            keep_an_admin(&mut tx, id).await?;
        }
        let row = sqlx::query(sql::SET_ROLE)
            .bind(role.as_str().to_owned())
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn set_agent_name(&self, id: i64, name: &str) -> Result<Option<Agent>> {
        text::check("agent name", name)?;
        let row = sqlx::query(sql::SET_AGENT_NAME)
            .bind(name.to_owned())
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::agent).transpose()
    }

    async fn set_agent_token(&self, id: i64, token_hash: &str) -> Result<bool> {
        text::check("agent token hash", token_hash)?;
        let row = sqlx::query(sql::SET_AGENT_TOKEN)
            .bind(token_hash.to_owned())
            .bind(id)
            .fetch_optional(&self.write)
            .await
            .map_err(|e| write_error(e, || "an agent with this token".into(), String::new))?;
        Ok(row.is_some())
    }

    async fn count_admins(&self) -> Result<i64> {
        let row = sqlx::query(sql::COUNT_ADMINS).fetch_one(&self.read).await?;
        row.int("admins")
    }

    async fn any_password_set(&self) -> Result<bool> {
        let row = sqlx::query(sql::ANY_PASSWORD_SET)
            .fetch_optional(&self.read)
            .await?;
        Ok(row.is_some())
    }

    async fn create_session(&self, session: NewSession) -> Result<Session> {
        text::check("session token hash", &session.token_hash)?;
        text::check("session csrf token", &session.csrf_token)?;
        text::check_optional("session ip", session.ip.as_deref())?;
        text::check_optional("session user agent", session.user_agent.as_deref())?;
        let agent_id = session.agent_id;
        let row = sqlx::query(sql::INSERT_SESSION)
            .bind(agent_id)
            .bind(session.token_hash)
            .bind(session.csrf_token)
            .bind(session.ip)
            .bind(session.user_agent)
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || "a session with this token".into(),
                    || format!("agent {agent_id}"),
                )
            })?;
        rows::session(&row)
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        idle_since: DateTime<Utc>,
    ) -> Result<Option<(Session, Agent)>> {
        if !text::storable(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(sql::LIVE_SESSION_BY_TOKEN_HASH)
            .bind(token_hash.to_owned())
            .bind(idle_since)
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(rows::session_and_agent).transpose()
    }

    async fn touch_session(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let row = sqlx::query(sql::TOUCH_SESSION)
            .bind(now)
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        Ok(row.is_some())
    }

    async fn sessions_of(&self, agent_id: i64) -> Result<Vec<Session>> {
        let rows = sqlx::query(sql::LIVE_SESSIONS_OF)
            .bind(agent_id)
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::session)
    }

    async fn revoke_session(&self, id: i64, agent_id: Option<i64>) -> Result<bool> {
        let row = sqlx::query(sql::REVOKE_SESSION)
            .bind(Utc::now())
            .bind(id)
            .bind(agent_id)
            .fetch_optional(&self.write)
            .await?;
        Ok(row.is_some())
    }

    async fn revoke_sessions_of(&self, agent_id: i64) -> Result<u64> {
        let revoked = sqlx::query(sql::REVOKE_SESSIONS_OF)
            .bind(Utc::now())
            .bind(agent_id)
            .fetch_all(&self.write)
            .await?;
        Ok(revoked.len() as u64)
    }

    async fn create_link(&self, link: NewAccountLink) -> Result<AccountLink> {
        text::check("link token hash", &link.token_hash)?;
        let agent_id = link.agent_id;
        let row = sqlx::query(sql::INSERT_ACCOUNT_LINK)
            .bind(agent_id)
            .bind(link.purpose.as_str().to_owned())
            .bind(link.token_hash)
            .bind(Utc::now())
            .bind(link.expires_at)
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(
                    e,
                    || "a link with this token".into(),
                    || format!("agent {agent_id}"),
                )
            })?;
        rows::account_link(&row)
    }

    async fn use_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
    ) -> Result<Option<AccountLink>> {
        if !text::storable(token_hash) {
            return Ok(None);
        }
        let row = sqlx::query(sql::USE_ACCOUNT_LINK)
            .bind(now)
            .bind(token_hash.to_owned())
            .bind(purpose.as_str().to_owned())
            .fetch_optional(&self.write)
            .await?;
        row.as_ref().map(rows::account_link).transpose()
    }

    async fn note_access_change(&self, agent_id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(sql::NOTE_ACCESS_CHANGE)
            .bind(agent_id)
            .bind(now)
            .execute(&self.write)
            .await
            .map_err(|e| write_error(e, String::new, || format!("agent {agent_id}")))?;
        Ok(())
    }

    async fn access_changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, DateTime<Utc>)>> {
        let rows = sqlx::query(sql::ACCESS_CHANGES_SINCE)
            .bind(since)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|row| Ok((row.int("agent_id")?, row.time("changed_at")?)))
            .collect()
    }

    async fn spend_links_of(&self, agent_id: i64, now: DateTime<Utc>) -> Result<u64> {
        let rows = sqlx::query(sql::SPEND_LINKS_OF)
            .bind(now)
            .bind(agent_id)
            .fetch_all(&self.write)
            .await?;
        Ok(rows.len() as u64)
    }

    async fn record_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        text::check("audit action", &entry.action)?;
        text::check_optional("audit target", entry.target.as_deref())?;
        text::check_optional("audit ip", entry.ip.as_deref())?;
        if let Some(detail) = &entry.detail {
            text::check_json("audit detail", detail)?;
        }
        let actor_id = entry.actor_id;
        let row = sqlx::query(sql::INSERT_AUDIT_ENTRY)
            .bind(actor_id)
            .bind(entry.action)
            .bind(entry.target)
            .bind(entry.ip)
            // JSON text in both databases (see the migration).
            .bind(entry.detail.as_ref().map(serde_json::Value::to_string))
            .bind(Utc::now())
            .fetch_one(&self.write)
            .await
            .map_err(|e| {
                write_error(e, String::new, || {
                    format!("agent {}", actor_id.unwrap_or_default())
                })
            })?;
        rows::audit_entry(&row)
    }

    async fn audit_log(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(sql::AUDIT_LOG)
            .bind(before_id.unwrap_or(i64::MAX))
            .bind(limit.max(0))
            .fetch_all(&self.read)
            .await?;
        rows::all(&rows, rows::audit_entry)
    }
}

/// Refuses, inside `tx`, a change that takes admin rights from `id` if they are the last admin
/// who can sign in. The admins are locked first, so two such changes take turns and the second
/// counts what the first left.
pub(super) async fn keep_an_admin<DB>(tx: &mut sqlx::Transaction<'_, DB>, id: i64) -> Result<()>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
{
    let admins = sqlx::query(sql::LOCK_USABLE_ADMINS)
        .fetch_all(&mut **tx)
        .await?;
    let ids = admins
        .iter()
        .map(|row| row.int("id"))
        .collect::<Result<Vec<i64>>>()?;
    if ids == [id] {
        return Err(crate::StoreError::LastAdmin);
    }
    Ok(())
}
