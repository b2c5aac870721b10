//! Extractors that turn every rejection into the API's error shape, and the identities a request
//! can carry: the widget (its `cbw_` bearer token), the visitor (the conversation's
//! `X-Visitor-Token`) and the agent (their `cba_` bearer token, or a session cookie with its
//! CSRF token on writes).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{
        rejection::JsonRejection, ConnectInfo, FromRequest, FromRequestParts, Path, Query,
        RawPathParams, Request,
    },
    http::{header, request::Parts, HeaderMap, Method, StatusCode},
};
use chrono::Utc;
use parley_store::{Agent, Conversation, Session, VerifiedUser, Widget};
use serde::de::DeserializeOwned;

use super::AppState;
use crate::{
    accounts::{same_secret, CSRF_HEADER, SESSION_COOKIE},
    error::ApiError,
    identity,
    tokens::hash_token,
};

/// `Path<T>` whose rejection is a 404 in the API's shape (a non-numeric id names nothing).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| Self(value))
            .map_err(|_| ApiError::NotFound("resource"))
    }
}

/// `Query<T>` whose rejection is a 400 in the API's shape.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
    }
}

/// `Json<T>` whose rejections keep their meaning (400 syntax, 415 content type, 422 fields, 413
/// size) in the API's shape.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let text = rejection.body_text();
    match rejection.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ApiError::UnsupportedMediaType("send application/json".into())
        }
        StatusCode::UNPROCESSABLE_ENTITY => ApiError::Validation(text),
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::PayloadTooLarge("request body is too large".into())
        }
        _ => ApiError::BadRequest(text),
    }
}

/// The widget a request is made for, from `Authorization: Bearer cbw_…`. A browser's Origin must
/// be one of the widget's allowed origins (when it has any).
pub struct WidgetAuth(pub Widget);

impl FromRequestParts<Arc<AppState>> for WidgetAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token_hash = widget_token_hash(&parts.headers)?;
        let widget = state
            .service
            .store
            .widget_by_token_hash(&token_hash)
            .await?
            .ok_or_else(unknown_widget)?;
        check_origin(&widget, &parts.headers)?;
        Ok(Self(widget))
    }
}

/// The widget and the visitor's conversation of a `/api/chatbot/conversation/{id}/…` request,
/// read in one round trip (the widget polls this path every few seconds when it has no socket),
/// and admitted by [`visitor_conversation`]'s rules. Refusals come in the order the separate
/// extractors gave them: the widget token (401, 403 for the Origin), then the path (404), then
/// the visitor.
pub struct VisitorAuth {
    pub widget: Widget,
    pub conversation: Conversation,
}

impl FromRequestParts<Arc<AppState>> for VisitorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let token_hash = widget_token_hash(&parts.headers)?;
        let id = RawPathParams::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(name, _)| *name == "id")
                    .and_then(|(_, value)| value.parse::<i64>().ok())
            });
        let Some(id) = id else {
            // No conversation to read: the token is still answered for first.
            WidgetAuth::from_request_parts(parts, state).await?;
            return Err(ApiError::NotFound("resource"));
        };
        let (widget, conversation) = state
            .service
            .store
            .widget_and_conversation(&token_hash, id)
            .await?
            .ok_or_else(unknown_widget)?;
        check_origin(&widget, &parts.headers)?;
        let conversation = admit_visitor(state, &widget, conversation, &parts.headers).await?;
        Ok(Self {
            widget,
            conversation,
        })
    }
}

/// The hash of the request's `Authorization: Bearer cbw_…`; 401 without one.
fn widget_token_hash(headers: &HeaderMap) -> Result<String, ApiError> {
    let token = bearer(headers).ok_or_else(|| {
        ApiError::Unauthorized("missing widget token (Authorization: Bearer cbw_…)".into())
    })?;
    Ok(hash_token(token))
}

fn unknown_widget() -> ApiError {
    ApiError::Unauthorized("unknown or revoked widget token".into())
}

/// A browser's Origin must be one of the widget's allowed origins (when it has any).
fn check_origin(widget: &Widget, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if !parley_protocol::origin::origin_matches(&widget.allowed_origins, origin) {
            return Err(ApiError::Forbidden(format!(
                "origin {origin} is not allowed for this widget"
            )));
        }
    }
    Ok(())
}

/// The agent making a request: from `Authorization: Bearer cba_…` (API clients), or from the
/// session cookie (the dashboard), which on a write must come with the session's CSRF token.
pub struct AgentAuth(pub Agent);

impl FromRequestParts<Arc<AppState>> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        let Some(token) = bearer(&parts.headers) else {
            return match signed_in(parts, state).await? {
                Some((_, agent)) => Ok(Self(agent)),
                None => Err(ApiError::Unauthorized(
                    "sign in, or send an agent token (Authorization: Bearer cba_…)".into(),
                )),
            };
        };
        state
            .service
            .store
            .agent_by_token_hash(&hash_token(token))
            .await?
            .map(Self)
            .ok_or_else(|| ApiError::Unauthorized("unknown agent token".into()))
    }
}

/// A person signed in with the session cookie (never a bearer token): the session and who.
pub struct SignedIn(pub Session, pub Agent);

impl FromRequestParts<Arc<AppState>> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, ApiError> {
        signed_in(parts, state)
            .await?
            .map(|(session, agent)| Self(session, agent))
            .ok_or_else(|| ApiError::Unauthorized("not signed in".into()))
    }
}

/// How long after the last request a session stays valid before it is marked seen again: a
/// write per minute per session at most, not one per request.
const TOUCH_EVERY: chrono::Duration = chrono::Duration::seconds(60);

/// The session the cookie names, if it is live; `Err` for a live session whose write lacks the
/// right CSRF token. A cookie that names no live session is no session (and a refusal to count).
async fn signed_in(
    parts: &Parts,
    state: &Arc<AppState>,
) -> Result<Option<(Session, Agent)>, ApiError> {
    let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let store = &state.service.store;
    let now = Utc::now();
    let Some((session, agent)) = store
        .session_by_token_hash(&hash_token(token), now - state.service.config.session_idle)
        .await?
    else {
        return Err(ApiError::Unauthorized(
            "your session has ended; sign in again".into(),
        ));
    };
    let reads_only = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !reads_only {
        let presented = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same_secret(presented, &session.csrf_token) {
            return Err(ApiError::Forbidden(
                "missing or wrong CSRF token (X-CSRF-Token)".into(),
            ));
        }
    }
    if now - session.last_seen_at > TOUCH_EVERY {
        store.touch_session(session.id, now).await?;
    }
    Ok(Some((session, agent)))
}

/// A cookie's value from the `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

/// The token of an `Authorization: Bearer …` header (the scheme in any case, as HTTP allows).
pub(super) fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Loads conversation `id` for `widget` and checks who is asking: another widget's conversation
/// is a 404. A verified user (`X-User-Token`, or `X-User-Id` + `X-User-Hash`) may open their own
/// conversations from any device; the visitor token opens the conversation it was made for, and
/// when it comes with a verified user and the conversation is still anonymous, the conversation
/// is attached to that user (a visitor who signed in mid-chat). Anyone else's is a 403; a user
/// credential that does not verify, or none where the widget requires one, a 401. A mailed
/// link's resume token (`cbr_…`, see [`crate::mail`]) counts as the visitor token. The visitor is
/// then noted as seen (connected), for the offline-reply mails.
pub async fn visitor_conversation(
    state: &AppState,
    widget: &Widget,
    id: i64,
    headers: &HeaderMap,
) -> Result<Conversation, ApiError> {
    let conversation = state.service.store.conversation(id).await?;
    admit_visitor(state, widget, conversation, headers).await
}

/// Whether the request may open `conversation` (as read for `widget`): the rules above. An
/// admitted visitor is noted as seen.
async fn admit_visitor(
    state: &AppState,
    widget: &Widget,
    conversation: Option<Conversation>,
    headers: &HeaderMap,
) -> Result<Conversation, ApiError> {
    let conversation = conversation
        .filter(|c| c.widget_id == widget.id)
        .ok_or(ApiError::NotFound("conversation"))?;
    let id = conversation.id;
    let user = verified_user(widget, headers, None)?;
    let visitor_token = headers.get("x-visitor-token").and_then(|v| v.to_str().ok());
    let holds_token = visitor_token.is_some_and(|t| {
        hash_token(t) == conversation.visitor_token_hash
            || crate::mail::resume_token_matches(
                &state.service.config.link_secret,
                &conversation,
                t,
                Utc::now(),
            )
    });
    let admitted = match (&conversation.user_id, user) {
        (Some(owner), Some(user)) if *owner == user.id => Ok(conversation),
        (Some(_), Some(_)) => Err(ApiError::WrongVisitor(
            "this conversation belongs to another user".into(),
        )),
        (None, Some(user)) if holds_token => {
            let Some(attached) = state.service.store.attach_user(id, &user).await? else {
                // Attached by a concurrent request: answer from what is stored now.
                let now = state.service.store.conversation(id).await?;
                return Box::pin(admit_visitor(state, widget, now, headers)).await;
            };
            state.service.tell_inbox(&attached, None, None);
            Ok(attached)
        }
        (_, None) if identity_required(widget) => Err(ApiError::IdentityInvalid(
            "this widget is for signed-in users only".into(),
        )),
        _ if holds_token => Ok(conversation),
        _ if visitor_token.is_none() => Err(ApiError::Forbidden("missing X-Visitor-Token".into())),
        _ => Err(ApiError::WrongVisitor(
            "this conversation belongs to another visitor".into(),
        )),
    }?;
    state.service.visitor_seen(admitted.id).await;
    Ok(admitted)
}

/// Whether the widget refuses visitors whose identity the site did not sign.
pub fn identity_required(widget: &Widget) -> bool {
    widget.settings.get("identity_required") == Some(&serde_json::Value::Bool(true))
}

/// A user credential carried in a request body: a token, or Intercom's id and hash.
#[derive(Debug, Default)]
pub struct UserCredential<'a> {
    /// `user_token`.
    pub token: Option<&'a str>,
    /// `user_id`.
    pub id: Option<&'a str>,
    /// `user_hash`.
    pub hash: Option<&'a str>,
}

/// The verified user a widget call names: from `body` when it carries a credential, else from
/// the `X-User-Token` or `X-User-Id` + `X-User-Hash` headers; `None` when it names nobody. A
/// credential that does not verify is a 401 `identity_invalid`, whatever the reason (logged).
pub fn verified_user(
    widget: &Widget,
    headers: &HeaderMap,
    body: Option<UserCredential<'_>>,
) -> Result<Option<VerifiedUser>, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let body = body.unwrap_or_default();
    let token = body.token.or_else(|| header("x-user-token"));
    let pair = match (body.id, body.hash) {
        (Some(id), Some(hash)) => Some((id, hash)),
        (None, None) => header("x-user-id").zip(header("x-user-hash")),
        _ => {
            return Err(ApiError::IdentityInvalid(
                "user_id and user_hash go together".into(),
            ))
        }
    };
    let checked = match (token, pair) {
        (Some(token), _) => identity::verify_token(widget, token, Utc::now().timestamp()),
        (None, Some((id, hash))) => identity::verify_user_hash(widget, id, hash),
        (None, None) => return Ok(None),
    };
    checked.map(Some).map_err(|reason| {
        tracing::info!(widget = widget.id, %reason, "user identity refused");
        ApiError::IdentityInvalid("the user's identity could not be verified".into())
    })
}

/// `X-Socket-ID`, validated, for leaving the sender's socket out of a broadcast.
pub fn socket_id(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("x-socket-id").map(|v| v.to_str().unwrap_or("")) {
        None | Some("") => Ok(None),
        Some(id) if parley_protocol::SocketId::parse(id).is_some() => Ok(Some(id.to_string())),
        Some(_) => Err(ApiError::BadRequest(
            "X-Socket-ID must look like 123.456".into(),
        )),
    }
}

/// Who a request is from, as [`super::edge::client_address`] worked it out.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub std::net::IpAddr);

/// The client's address, for rate limits: through trusted proxies when the edge has run, else
/// the connecting address.
pub fn client_ip(parts_extensions: &axum::http::Extensions) -> String {
    if let Some(ClientAddress(address)) = parts_extensions.get::<ClientAddress>() {
        return address.to_string();
    }
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_string(),
            |ConnectInfo(addr)| addr.ip().to_string(),
        )
}
