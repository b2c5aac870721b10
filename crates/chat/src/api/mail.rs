//! The widget's email calls: the transcript on request, the heartbeat that says the visitor is
//! connected (so agents' replies are not emailed) and on which page, and trading a mailed link's key for a visitor
//! token; and emailing the team's account links. See [`crate::mail`] for the rules.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{header, request::Parts, HeaderMap, StatusCode},
    Json,
};
use parley_store::{Agent, LinkPurpose};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{client_ip, visitor_conversation, ApiJson, ApiPath, VisitorAuth, WidgetAuth},
    rate_limited,
    widget::optional_text,
    AppState,
};
use crate::{error::ApiError, mail, payload::ConversationJson};

/// `POST /api/chatbot/conversation/{id}/transcript`: emails the conversation so far to the
/// visitor's address. 202 `{queued}` (`false`: the same transcript was asked for already, and is
/// not sent twice); 422 without an email or a message; 409 when the server sends no email;
/// 429 past a few a minute per conversation or per address.
pub async fn transcript(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    ApiPath(id): ApiPath<i64>,
    parts: Parts,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    rate_limited(
        state
            .transcripts_per_ip
            .check(&client_ip(&parts.extensions))
            .await,
    )?;
    let conversation = visitor_conversation(&state, &widget, id, &parts.headers).await?;
    rate_limited(
        state
            .transcripts_per_conversation
            .check(&conversation.id.to_string())
            .await,
    )?;
    let queued = state
        .service
        .queue_transcript(&conversation, "request")
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "success": true, "queued": queued })),
    ))
}

/// Body of `POST …/seen`, which may be empty.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seen {
    /// The page the visitor is on now.
    #[serde(default)]
    page_url: Option<String>,
}

/// `POST /api/chatbot/conversation/{id}/seen`: the open widget's heartbeat (every 60 s while the
/// page is visible, and when a page opens on a conversation). The visitor counts as connected,
/// so agents' replies are not emailed. `{page_url}` (optional) is the page they are on now: a
/// change is stored and told to the widget's inbox, so agents see where the visitor is.
pub async fn seen(
    State(state): State<Arc<AppState>>,
    // Admitting the visitor notes them as seen.
    VisitorAuth { conversation, .. }: VisitorAuth,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let seen: Seen = match body.iter().all(u8::is_ascii_whitespace) {
        true => Seen::default(),
        false => serde_json::from_slice(&body)
            .map_err(|e| ApiError::Validation(format!("the body is not a seen report: {e}")))?,
    };
    if let Some(page) = optional_text(seen.page_url, "page_url", 2000)? {
        if let Some(moved) = state
            .service
            .store
            .note_page(conversation.id, &page)
            .await?
        {
            state.service.tell_inbox(&moved, None, None);
        }
    }
    Ok(Json(json!({ "success": true })))
}

/// Body of `POST …/resume`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resume {
    key: String,
}

/// `POST /api/chatbot/conversation/{id}/resume {key}`: trades the key of a mailed link (the
/// `#parley_reopen=` part) for a visitor token of the conversation, valid 30 days, so the widget
/// reopens it on any device. Another widget's conversation is 404; a key that is forged,
/// expired or for another conversation 403.
pub async fn resume(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Resume>,
) -> Result<Json<Value>, ApiError> {
    let conversation = state
        .service
        .store
        .conversation(id)
        .await?
        .filter(|c| c.widget_id == widget.id)
        .ok_or(ApiError::NotFound("conversation"))?;
    let secret = &state.service.config.link_secret;
    let now = chrono::Utc::now();
    if !mail::verify_reopen_key(secret, &conversation, body.key.trim(), now) {
        // Counted like a wrong visitor token: a guess.
        return Err(ApiError::WrongVisitor(
            "this link is not valid for this conversation, or has expired".into(),
        ));
    }
    state.service.visitor_seen(conversation.id).await;
    Ok(Json(json!({
        "success": true,
        "conversation": ConversationJson::from(&conversation),
        "visitor_token": mail::resume_token(secret, &conversation, now),
    })))
}

/// Emails `agent` their invitation or reset link (`path`, as the dashboard takes it), when the
/// server sends email: the link is made absolute with `PARLEY_PUBLIC_URL`, else the address the
/// admin's request came to. Whether it was queued; a failure to queue is logged, never fatal
/// (the admin still has the link).
pub(super) async fn email_account_link(
    state: &AppState,
    headers: &HeaderMap,
    agent: &Agent,
    purpose: LinkPurpose,
    path: &str,
) -> bool {
    if !state.service.mail_enabled() {
        return false;
    }
    let base = match &state.service.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
            Some(host) => format!("http://{host}"),
            None => return false,
        },
    };
    let url = format!("{base}{path}");
    match state
        .service
        .mail_account_link(&agent.email, &agent.name, purpose, &url)
        .await
    {
        Ok(queued) => queued,
        Err(error) => {
            tracing::warn!(%error, agent = agent.id, "cannot queue the account link mail");
            false
        }
    }
}
