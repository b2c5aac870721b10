//! The admins' API (`/api/admin/…`): the team's accounts (invite, change role or name, disable,
//! password reset links) and the audit log. Every act is recorded with who, when and from where.
//! Agents get 403.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{request::Parts, HeaderMap, StatusCode},
    Json,
};
use chrono::Utc;
use parley_store::{Agent, LinkPurpose, NewAccountLink, NewAgent, NewAuditEntry, Role};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{client_ip, AgentAuth, ApiJson, ApiPath, ApiQuery},
    AppState,
};
use crate::{accounts, error::ApiError, presence::online_window, text, tokens};

/// How long an invitation stays usable.
const INVITE_VALID_FOR: chrono::Duration = chrono::Duration::days(7);
/// How long a password reset link stays usable.
const RESET_VALID_FOR: chrono::Duration = chrono::Duration::hours(24);

/// An admin making a request, and the address it came from (for the audit log).
pub struct AdminAuth {
    admin: Agent,
    ip: String,
}

impl axum::extract::FromRequestParts<Arc<AppState>> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let AgentAuth(agent) = AgentAuth::from_request_parts(parts, state).await?;
        if agent.role != Role::Admin {
            return Err(ApiError::Forbidden("only admins may do this".into()));
        }
        Ok(Self {
            admin: agent,
            ip: client_ip(&parts.extensions),
        })
    }
}

impl AdminAuth {
    /// Records an act of this admin on `target` (a person or a widget).
    pub(super) async fn audit(
        &self,
        state: &AppState,
        action: &str,
        target: &impl AuditTarget,
        detail: Option<Value>,
    ) -> Result<(), ApiError> {
        state
            .service
            .store
            .record_audit(NewAuditEntry {
                actor_id: Some(self.admin.id),
                action: action.into(),
                target: Some(target.audit_name()),
                ip: Some(self.ip.clone()),
                detail,
            })
            .await?;
        Ok(())
    }
}

/// What an administrative act can be done to, as the audit log names it.
pub(super) trait AuditTarget {
    /// `agent:{id}`, `widget:{id}`.
    fn audit_name(&self) -> String;
}

impl AuditTarget for Agent {
    fn audit_name(&self) -> String {
        format!("agent:{}", self.id)
    }
}

impl AuditTarget for parley_store::Widget {
    fn audit_name(&self) -> String {
        format!("widget:{}", self.id)
    }
}

/// A person as admins see them.
fn user_json(agent: &Agent) -> Value {
    json!({
        "id": agent.id,
        "name": agent.name,
        "email": agent.email,
        "role": agent.role.as_str(),
        "availability": agent.availability,
        "online": agent.is_online(Utc::now(), online_window()),
        "has_password": agent.password_hash.is_some(),
        "created_at": agent.created_at,
        "disabled_at": agent.revoked_at,
    })
}

/// `GET /api/admin/users`: everyone, oldest first, disabled people included.
pub async fn users(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<Value>, ApiError> {
    let store = &state.service.store;
    let mut users = Vec::new();
    for agent in store.agents().await? {
        let mut user = user_json(&agent);
        user["widget_ids"] = store.agent_widgets(agent.id).await?.into();
        users.push(user);
    }
    Ok(Json(json!({ "success": true, "users": users })))
}

/// Body of `POST /api/admin/users`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Invite {
    email: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<Role>,
}

/// `POST /api/admin/users {email, name?, role?}`: invites a person (an agent unless `role` says
/// admin). 201 with the user and `invite_path`, the single-use link (valid 7 days) for the
/// invitee to choose a password, for the admin to send; `emailed` says whether it was also
/// emailed to them (when the server sends email).
pub async fn invite(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Invite>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email = accounts::check_email(&body.email)?;
    let name = match body
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        Some(name) => {
            text::check("name", name)?;
            name.to_string()
        }
        None => email.split('@').next().unwrap_or("Agent").to_string(),
    };
    let store = &state.service.store;
    let agent = store
        .create_agent(NewAgent {
            name,
            email,
            // Unknown to anyone: the invitee signs in with a password, and API tokens are made
            // separately.
            token_hash: tokens::hash_token(&tokens::new_agent_token()),
            role: body.role.unwrap_or(Role::Agent),
        })
        .await?;
    let path = link(&state, &agent, LinkPurpose::Invite, INVITE_VALID_FOR).await?;
    caller
        .audit(
            &state,
            "user.invite",
            &agent,
            Some(json!({ "email": agent.email, "role": agent.role.as_str() })),
        )
        .await?;
    let emailed =
        super::mail::email_account_link(&state, &headers, &agent, LinkPurpose::Invite, &path).await;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "success": true, "user": user_json(&agent), "invite_path": path, "emailed": emailed }),
        ),
    ))
}

/// A new single-use link for `agent`, as the dashboard path that uses it.
async fn link(
    state: &AppState,
    agent: &Agent,
    purpose: LinkPurpose,
    valid_for: chrono::Duration,
) -> Result<String, ApiError> {
    let token = accounts::new_link_token();
    state
        .service
        .store
        .create_link(NewAccountLink {
            agent_id: agent.id,
            purpose,
            token_hash: tokens::hash_token(&token),
            expires_at: Utc::now() + valid_for,
        })
        .await?;
    Ok(format!("/dashboard#{}={token}", purpose.as_str()))
}

/// Body of `PATCH /api/admin/users/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    role: Option<Role>,
}

/// `PATCH /api/admin/users/{id} {name?, role?}`. The last admin who can sign in cannot be made an
/// agent (409).
pub async fn change(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Change>,
) -> Result<Json<Value>, ApiError> {
    let store = &state.service.store;
    let mut agent = active(&state, id).await?;
    // Everything is checked before anything is written.
    if let Some(name) = body.name.as_deref() {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(ApiError::Validation("name must be 1-100 characters".into()));
        }
        text::check("name", name)?;
    }
    // The role first: the store refuses the last admin (409) before the name is touched.
    if let Some(role) = body.role {
        agent = store
            .set_role(id, role)
            .await?
            .ok_or(ApiError::NotFound("user"))?;
        // An admin sees every widget; an agent perhaps fewer.
        if role == Role::Agent {
            state.service.access_shrank(id).await?;
        }
        state.service.widgets_changed();
    }
    if let Some(name) = body.name.as_deref().map(str::trim) {
        agent = store
            .set_agent_name(id, name)
            .await?
            .ok_or(ApiError::NotFound("user"))?;
    }
    caller
        .audit(
            &state,
            "user.update",
            &agent,
            Some(json!({ "name": body.name, "role": body.role.map(Role::as_str) })),
        )
        .await?;
    Ok(Json(json!({ "success": true, "user": user_json(&agent) })))
}

/// `POST /api/admin/users/{id}/disable`: the person can no longer sign in; their sessions and
/// token end at once and their dashboard's sockets are closed within seconds (the revocation
/// watcher). The last admin cannot be disabled (409).
pub async fn disable(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let agent = active(&state, id).await?;
    // The store refuses the last admin who can sign in (409), in the same transaction.
    if !state.service.store.revoke_agent(id).await? {
        return Err(ApiError::NotFound("user"));
    }
    caller.audit(&state, "user.disable", &agent, None).await?;
    // Off the team at once for everyone watching.
    if let Err(error) = state.service.refresh_presence().await {
        tracing::warn!(%error, "could not republish the team after disabling a user");
    }
    Ok(Json(json!({ "success": true })))
}

/// `POST /api/admin/users/{id}/reset-link`: a single-use link (valid 24 hours) for the person to
/// choose a new password; using it signs out their other sessions. `emailed`: also emailed to
/// them.
pub async fn reset_link(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let agent = active(&state, id).await?;
    // A new link replaces the person's earlier unused ones.
    state
        .service
        .store
        .spend_links_of(agent.id, Utc::now())
        .await?;
    let path = link(&state, &agent, LinkPurpose::Reset, RESET_VALID_FOR).await?;
    caller
        .audit(&state, "user.reset_link", &agent, None)
        .await?;
    let emailed =
        super::mail::email_account_link(&state, &headers, &agent, LinkPurpose::Reset, &path).await;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "reset_path": path, "emailed": emailed })),
    ))
}

/// Body of `PUT /api/admin/users/{id}/widgets`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Widgets {
    widget_ids: Vec<i64>,
}

/// `PUT /api/admin/users/{id}/widgets {widget_ids}`: the widgets whose conversations the person
/// sees and answers (an empty list: every widget). Admins see every widget whatever this says.
/// An unknown widget is 404 and changes nothing.
pub async fn set_widgets(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Widgets>,
) -> Result<Json<Value>, ApiError> {
    let agent = active(&state, id).await?;
    let mut ids = body.widget_ids;
    ids.sort_unstable();
    ids.dedup();
    if !state.service.store.set_agent_widgets(id, &ids).await? {
        return Err(ApiError::NotFound("user"));
    }
    caller
        .audit(
            &state,
            "user.widgets",
            &agent,
            Some(json!({ "widget_ids": ids })),
        )
        .await?;
    state.service.access_shrank(id).await?;
    state.service.widgets_changed();
    Ok(Json(json!({ "success": true, "widget_ids": ids })))
}

/// Query of `GET /api/admin/audit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditPage {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/admin/audit?before=&limit=50`: administrative acts, newest first.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiQuery(page): ApiQuery<AuditPage>,
) -> Result<Json<Value>, ApiError> {
    let limit = page.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Validation("limit must be 1-200".into()));
    }
    let entries = state.service.store.audit_log(page.before, limit).await?;
    Ok(Json(json!({ "success": true, "entries": entries })))
}

/// A person who is not disabled, or 404.
async fn active(state: &AppState, id: i64) -> Result<Agent, ApiError> {
    state
        .service
        .store
        .agent(id)
        .await?
        .filter(|agent| agent.revoked_at.is_none())
        .ok_or(ApiError::NotFound("user"))
}
