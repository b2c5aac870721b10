//! Signing in with a password (`/api/auth/…`): log in and out, the current session and its CSRF
//! token, the signed-in person's sessions, and creating the first admin with the setup link.
//!
//! A session is a random cookie (HttpOnly, SameSite=Lax, Secure under https) whose SHA-256 the
//! store keeps; it authenticates `/api/agent/…` as a bearer token does, and every write made with
//! it must carry the session's CSRF token in `X-CSRF-Token` (see `extract::AgentAuth`).

use std::sync::Arc;

use axum::{
    extract::{FromRequest, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use parley_store::{Agent, LinkPurpose, NewAuditEntry, NewSession, Session};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    agent::agent_json,
    extract::{client_ip, ApiJson, ApiPath, SignedIn},
    rate_limited, AppState,
};
use crate::{
    accounts::{self, SESSION_COOKIE},
    error::ApiError,
    text,
    tokens::hash_token,
};

/// Body of `POST /api/auth/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    email: String,
    password: String,
}

/// The one answer to a wrong email or a wrong password: which one was wrong is not said.
fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized("the email or the password is wrong".into())
}

/// `POST /api/auth/login {email, password}`: 200 with the person, their CSRF token and the
/// session cookie. Attempts count per client IP and per email; past either limit, 429.
pub async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let ApiJson(body) = ApiJson::<Login>::from_request(request, &state).await?;
    // Folded as the store folds emails (ASCII letters only) and keyed by at most an address's
    // length, so a megabyte "email" cannot pin a megabyte in the limiter.
    let account = accounts::check_email(&body.email).ok();
    let key = account.as_deref().unwrap_or("(not an email)");
    // Taken before the password is checked, not after a failure: requests sent in parallel all
    // count, so a burst cannot try more passwords than the limit while the hashes run.
    rate_limited(state.login_attempts_per_ip.check(&ip).await)?;
    rate_limited(state.login_attempts_per_account.check(key).await)?;
    let store = &state.service.store;
    let found = match &account {
        Some(email) => store.agent_by_email(email).await?,
        None => None,
    };
    let usable = found.filter(|agent| agent.revoked_at.is_none());
    let stored_hash = usable
        .as_ref()
        .and_then(|agent| agent.password_hash.clone());
    let matches = accounts::verify_password(stored_hash, body.password).await;
    let Some(agent) = usable.filter(|_| matches) else {
        return Err(wrong_credentials());
    };
    start_session(&state, &agent, &ip, &headers).await
}

/// Signs `agent` in: a new session, its cookie, and the body the dashboard starts from.
async fn start_session(
    state: &AppState,
    agent: &Agent,
    ip: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let token = accounts::new_session_token();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| {
            text::without_refused(ua)
                .chars()
                .take(300)
                .collect::<String>()
        });
    let session = state
        .service
        .store
        .create_session(NewSession {
            agent_id: agent.id,
            token_hash: hash_token(&token),
            csrf_token: accounts::new_csrf_token(),
            ip: Some(ip.to_string()),
            user_agent,
        })
        .await?;
    let mut response = Json(session_body(agent, &session)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(&token, state.service.config.secure_cookies, None),
    );
    Ok(response)
}

fn session_body(agent: &Agent, session: &Session) -> Value {
    json!({
        "success": true,
        "user": agent_json(agent),
        "csrf_token": session.csrf_token,
        "session_id": session.id,
    })
}

/// The `Set-Cookie` value: the session (`max_age: None`, ended by the server's inactivity
/// limit) or, with `Some(0)`, its removal.
fn session_cookie(token: &str, secure: bool, max_age: Option<u32>) -> HeaderValue {
    let mut cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    HeaderValue::from_str(&cookie).expect("cookie text is ASCII")
}

/// `POST /api/auth/logout`: ends this session (CSRF checked) and clears the cookie.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    SignedIn(session, agent): SignedIn,
) -> Result<Response, ApiError> {
    state
        .service
        .store
        .revoke_session(session.id, Some(agent.id))
        .await?;
    let mut response = Json(json!({ "success": true })).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie("", state.service.config.secure_cookies, Some(0)),
    );
    Ok(response)
}

/// `GET /api/auth/session`: who the cookie signs in, and the session's CSRF token (for a page
/// that was reloaded).
pub async fn session(SignedIn(session, agent): SignedIn) -> Json<Value> {
    Json(session_body(&agent, &session))
}

/// `GET /api/auth/sessions`: the signed-in person's sessions, newest first, this one marked.
pub async fn sessions(
    State(state): State<Arc<AppState>>,
    SignedIn(current, agent): SignedIn,
) -> Result<Json<Value>, ApiError> {
    let sessions = state.service.store.sessions_of(agent.id).await?;
    let listed: Vec<Value> = sessions
        .iter()
        .map(|session| {
            json!({
                "id": session.id,
                "created_at": session.created_at,
                "last_seen_at": session.last_seen_at,
                "ip": session.ip,
                "user_agent": session.user_agent,
                "current": session.id == current.id,
            })
        })
        .collect();
    Ok(Json(json!({ "success": true, "sessions": listed })))
}

/// `DELETE /api/auth/sessions/{id}`: signs one of the person's own sessions out.
pub async fn end_session(
    State(state): State<Arc<AppState>>,
    SignedIn(_, agent): SignedIn,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    if !state
        .service
        .store
        .revoke_session(id, Some(agent.id))
        .await?
    {
        return Err(ApiError::NotFound("session"));
    }
    // The ended session's sockets reconnect and are refused; the person's others rejoin.
    state.service.access_shrank(agent.id).await?;
    Ok(Json(json!({ "success": true })))
}

/// Body of `POST /api/auth/setup`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    token: String,
    email: String,
    #[serde(default)]
    name: Option<String>,
    password: String,
}

/// `GET /api/auth/setup`: whether the first admin is still to be created (the page shows the
/// form only then).
pub async fn setup_state(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let needed = !state.service.store.any_password_set().await?;
    Ok(Json(json!({ "success": true, "needed": needed })))
}

/// `POST /api/auth/setup {token, email, name?, password}`: creates the first admin with the
/// one-time link `parley serve` printed, and signs them in. Refused once anyone has a password.
pub async fn setup(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let ApiJson(body) = ApiJson::<Setup>::from_request(request, &state).await?;
    if state.service.store.any_password_set().await? {
        return Err(ApiError::Conflict("Parley already has an admin".into()));
    }
    if !state.setup.take(&body.token) {
        return Err(ApiError::Unauthorized(
            "this setup link is not valid (it works once; restart the server for a new one)".into(),
        ));
    }
    let admin = match accounts::create_admin(
        state.service.store.as_ref(),
        &body.email,
        body.name.as_deref(),
        body.password,
    )
    .await
    {
        Ok(admin) => admin,
        Err(error) => {
            // A refused form leaves the link usable for the corrected one.
            state.setup.restore(body.token);
            return Err(error);
        }
    };
    state
        .service
        .store
        .record_audit(NewAuditEntry {
            actor_id: Some(admin.id),
            action: "admin.setup".into(),
            target: Some(format!("agent:{}", admin.id)),
            ip: Some(ip.clone()),
            detail: None,
        })
        .await?;
    start_session(&state, &admin, &ip, &headers)
        .await
        .map(|mut response| {
            *response.status_mut() = StatusCode::CREATED;
            response
        })
}

/// Body of `POST /api/auth/accept`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accept {
    token: String,
    password: String,
}

/// `POST /api/auth/accept {token, password}`: an invitation or a password reset link sets the
/// person's password and signs them in; a reset also signs out their other sessions. A link
/// works once and expires (invitations after 7 days, resets after 24 hours): 401 otherwise.
pub async fn accept(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, ApiError> {
    let ip = client_ip(request.extensions());
    let ApiJson(body) = ApiJson::<Accept>::from_request(request, &state).await?;
    // Checked before the link is spent, so a refused password leaves it usable.
    accounts::check_new_password(&body.password)?;
    let store = &state.service.store;
    let hash = hash_token(body.token.trim());
    let now = chrono::Utc::now();
    let mut used = None;
    for purpose in [LinkPurpose::Invite, LinkPurpose::Reset] {
        if let Some(link) = store.use_link(&hash, purpose, now).await? {
            used = Some(link);
            break;
        }
    }
    let Some(link) = used else {
        return Err(ApiError::Unauthorized(
            "this link is not valid: it was used, it expired, or it was never sent".into(),
        ));
    };
    let password_hash = accounts::hash_password(body.password).await?;
    if !store.set_password(link.agent_id, &password_hash).await? {
        return Err(ApiError::Unauthorized("this account is disabled".into()));
    }
    // Any other link this person still holds (an older invitation or reset) dies with this one.
    store.spend_links_of(link.agent_id, now).await?;
    if link.purpose == LinkPurpose::Reset {
        store.revoke_sessions_of(link.agent_id).await?;
        state.service.access_shrank(link.agent_id).await?;
    }
    let agent = store
        .agent(link.agent_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    store
        .record_audit(NewAuditEntry {
            actor_id: Some(agent.id),
            action: match link.purpose {
                LinkPurpose::Reset => "user.reset_password".into(),
                _ => "user.accept_invite".into(),
            },
            target: Some(format!("agent:{}", agent.id)),
            ip: Some(ip.clone()),
            detail: None,
        })
        .await?;
    start_session(&state, &agent, &ip, &headers).await
}

/// `POST /api/auth/token`: a new API token (`cba_…`) for the signed-in person, shown only now;
/// their previous token stops working. Scripts then use it as `Authorization: Bearer`.
pub async fn new_api_token(
    State(state): State<Arc<AppState>>,
    SignedIn(session, agent): SignedIn,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let token = crate::tokens::new_agent_token();
    replace_api_token(
        &state,
        &session,
        &agent,
        &hash_token(&token),
        "token.create",
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "token": token })),
    ))
}

/// `DELETE /api/auth/token`: the signed-in person's API token stops working (sessions stay).
pub async fn revoke_api_token(
    State(state): State<Arc<AppState>>,
    SignedIn(session, agent): SignedIn,
) -> Result<Json<Value>, ApiError> {
    // A hash nobody holds the token of: the column stays filled and unique.
    let nobody = hash_token(&crate::tokens::new_agent_token());
    replace_api_token(&state, &session, &agent, &nobody, "token.revoke").await?;
    Ok(Json(json!({ "success": true })))
}

async fn replace_api_token(
    state: &AppState,
    session: &Session,
    agent: &Agent,
    token_hash: &str,
    action: &str,
) -> Result<(), ApiError> {
    let store = &state.service.store;
    if !store.set_agent_token(agent.id, token_hash).await? {
        return Err(ApiError::Unauthorized("not signed in".into()));
    }
    // Sockets the old token signed reconnect, and are refused unless a session signs them.
    state.service.access_shrank(agent.id).await?;
    store
        .record_audit(NewAuditEntry {
            actor_id: Some(agent.id),
            action: action.into(),
            target: Some(format!("agent:{}", agent.id)),
            ip: session.ip.clone(),
            detail: None,
        })
        .await?;
    Ok(())
}
