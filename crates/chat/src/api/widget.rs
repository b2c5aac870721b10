//! The widget's own calls: its configuration, starting and reading a conversation, read
//! receipts, reactions and the visitor's rating.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use chrono::Utc;
use parley_store::NewConversation;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{
    extract::{
        client_ip, identity_required, socket_id, verified_user, ApiJson, ApiPath, ApiQuery,
        UserCredential, VisitorAuth, WidgetAuth,
    },
    rate_limited, AppState,
};
use crate::{
    config::{ChatConfig, Provider},
    error::ApiError,
    payload::{reactions_json, read_json, ConversationJson},
    prechat::PreChatForm,
    text,
    tokens::{hash_token, new_visitor_token},
};

/// How often the widget polls when it has no socket (the seed's 2 s).
const POLL_INTERVAL_MS: u64 = 2000;

/// `GET /api/chatbot/config`: the seed's shape, from the real configuration, plus the widget's
/// settings, whether any agent is online, and the widget's `availability` (its mode by the
/// business hours and the agents, and when the team is next available).
pub async fn config(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let config = &state.service.config;
    let mut body = realtime_settings(config, &headers);
    body.insert("success".into(), true.into());
    body.insert("polling".into(), json!({ "interval_ms": POLL_INTERVAL_MS }));
    body.insert(
        "widget".into(),
        json!({
            "id": widget.id,
            "name": widget.name,
            // What visitors call it (its title): its display name, else the site's; null: "Chat".
            "display_name": crate::widgets::display_name(&widget.settings, config.app_name.as_deref()),
            "bot_name": crate::service::bot_name(&widget, config.app_name.as_deref()),
            "settings": public_settings(&widget.settings),
        }),
    );
    body.insert(
        "limits".into(),
        json!({ "max_upload_bytes": config.max_upload_bytes, "max_message_chars": config.max_message_chars }),
    );
    body.insert(
        "agents_online".into(),
        state.service.agents_online().await?.into(),
    );
    body.insert(
        "availability".into(),
        serde_json::to_value(state.service.availability(&widget).await?).expect("serialises"),
    );
    Ok(Json(Value::Object(body)))
}

/// What of a widget's settings every page that embeds it may read: everything but the bot's
/// part, which holds the knowledge base and secrets (an external bot's reply token and signing
/// secret, a model's key). The widget's token is public, so this answer is too.
fn public_settings(settings: &Value) -> Value {
    match settings {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, _)| key.as_str() != "bot")
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// Where and how browsers reach the realtime server, in the seed's shape:
/// `realtimeProvider`, `reverb{enabled,key,host,port,scheme}`, `pusher{enabled,key,cluster,…}`.
/// The dashboard gets the same.
pub(super) fn realtime_settings(
    config: &ChatConfig,
    headers: &HeaderMap,
) -> serde_json::Map<String, Value> {
    // Browsers reach the realtime server on the host they reached us on, unless told otherwise.
    let request_host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(|host| {
            host.rsplit_once(':')
                .map_or(host, |(name, _)| name)
                .to_string()
        })
        .unwrap_or_else(|| "127.0.0.1".into());
    let reverb = match &config.reverb {
        Some(app) => json!({
            "enabled": config.provider == Provider::Reverb,
            "key": app.key,
            "host": app.host.clone().unwrap_or(request_host),
            "port": app.port,
            "scheme": app.scheme,
            "path": app.path,
        }),
        None => {
            json!({ "enabled": false, "key": null, "host": null, "port": null, "scheme": null, "path": null })
        }
    };
    let pusher = match &config.pusher {
        Some(app) => json!({
            "enabled": config.provider == Provider::Pusher,
            "key": app.key,
            "cluster": app.cluster,
            "encrypted": app.scheme == "https",
            "scheme": app.scheme,
            "host": app.host,
            "port": app.port,
        }),
        None => json!({ "enabled": false, "key": null, "cluster": null, "encrypted": true }),
    };
    let mut settings = serde_json::Map::new();
    settings.insert("realtimeProvider".into(), config.provider.as_str().into());
    settings.insert("reverb".into(), reverb);
    settings.insert("pusher".into(), pusher);
    settings
}

/// Body of `POST /api/chatbot/conversation`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartConversation {
    #[serde(default)]
    visitor_name: Option<String>,
    #[serde(default)]
    visitor_email: Option<String>,
    #[serde(default)]
    page_url: Option<String>,
    /// The site's signed user token (HS256 JWT).
    #[serde(default)]
    user_token: Option<String>,
    /// Intercom's static form: the user's id and hex HMAC-SHA256(secret, id).
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    user_hash: Option<String>,
    /// The pre-chat form's answers other than name and email.
    #[serde(default)]
    attributes: Option<Map<String, Value>>,
    /// Whether the pre-chat form's consent box was ticked.
    #[serde(default)]
    consent: bool,
    /// The language the widget speaks (`en`, `pt-BR`, …).
    #[serde(default)]
    locale: Option<String>,
}

pub(super) fn optional_text(
    value: Option<String>,
    field: &str,
    max: usize,
) -> Result<Option<String>, ApiError> {
    if let Some(value) = &value {
        text::check(field, value)?;
    }
    let value = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    match value {
        Some(v) if v.chars().count() > max => Err(ApiError::Validation(format!(
            "{field} is longer than {max} characters"
        ))),
        other => Ok(other),
    }
}

/// A language tag as browsers write them (`en`, `pt-BR`, `zh-Hant`), or nothing.
fn locale(value: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(tag) = value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let mut parts = tag.split('-');
    let language = parts.next().unwrap_or_default();
    let well_formed = (2..=3).contains(&language.len())
        && language.bytes().all(|b| b.is_ascii_alphabetic())
        && parts
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
        && tag.len() <= 35;
    if !well_formed {
        return Err(ApiError::Validation("locale is not a language tag".into()));
    }
    Ok(Some(tag))
}

/// `POST /api/chatbot/conversation`: starts a conversation and returns its visitor token (the
/// only time it is shown). A verified user who already has an open conversation on this widget
/// gets that one back (200, `reopened: true`, no visitor token: their user token opens it).
pub async fn start_conversation(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    parts: axum::http::request::Parts,
    ApiJson(body): ApiJson<StartConversation>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ip = client_ip(&parts.extensions);
    rate_limited(state.conversations_per_ip.check(&ip).await)?;
    rate_limited(
        state
            .conversations_per_widget
            .check(&widget.id.to_string())
            .await,
    )?;
    let credential = UserCredential {
        token: body.user_token.as_deref(),
        id: body.user_id.as_deref(),
        hash: body.user_hash.as_deref(),
    };
    let user = verified_user(&widget, &parts.headers, Some(credential))?;
    if user.is_none() && identity_required(&widget) {
        return Err(ApiError::IdentityInvalid(
            "this widget is for signed-in users only".into(),
        ));
    }
    let store = &state.service.store;
    if let Some(user) = &user {
        if let Some(open) = store.open_conversation_of_user(widget.id, &user.id).await? {
            let body = json!({ "success": true, "conversation": ConversationJson::from(&open),
                               "visitor_token": null, "reopened": true });
            return Ok((StatusCode::OK, Json(body)));
        }
    }
    let form = PreChatForm::from_settings(&widget.settings)?;
    let answers = form.check(
        body.visitor_name,
        body.visitor_email,
        body.attributes.unwrap_or_default(),
        body.consent,
        user.is_some(),
    )?;
    // What the site signed wins over what was typed, and is marked as verified.
    let signed_name = user.as_ref().and_then(|u| u.name.clone());
    let signed_email = user.as_ref().and_then(|u| u.email.clone());
    let token = new_visitor_token();
    let conversation = store
        .create_conversation(NewConversation {
            widget_id: widget.id,
            name_verified: signed_name.is_some(),
            email_verified: signed_email.is_some(),
            visitor_name: signed_name.or(answers.name),
            visitor_email: signed_email.or(answers.email),
            visitor_token_hash: hash_token(&token),
            page_url: optional_text(body.page_url, "page_url", 2000)?,
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(500).collect()),
            user_id: user.map(|u| u.id),
            attributes: Value::Object(answers.attributes),
            consent_at: answers.consented.then(Utc::now),
            locale: locale(body.locale)?,
        })
        .await?;
    state.service.wake_webhooks();
    let body = json!({ "success": true, "conversation": ConversationJson::from(&conversation), "visitor_token": token });
    Ok((StatusCode::CREATED, Json(body)))
}

/// `GET /api/chatbot/conversations` with a user credential: the verified user's conversations
/// on this widget, most recently updated first, from any device.
pub async fn conversations_of_user(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let user = verified_user(&widget, &headers, None)?.ok_or_else(|| {
        ApiError::IdentityInvalid("listing conversations needs the user's token".into())
    })?;
    let store = &state.service.store;
    let conversations = store.conversations_of_user(widget.id, &user.id, 50).await?;
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    let last = store.last_messages(&ids).await?;
    let listed: Vec<Value> = conversations
        .iter()
        .map(|c| {
            let mut json = serde_json::to_value(ConversationJson::from(c)).unwrap_or_default();
            let preview = last
                .iter()
                .find(|m| m.conversation_id == c.id)
                .map(|m| json!({ "sender_type": m.sender_type.as_str(), "message": m.message }));
            json["last_message"] = preview.unwrap_or(Value::Null);
            json
        })
        .collect();
    Ok(Json(json!({ "success": true, "conversations": listed })))
}

/// Query of `GET /api/chatbot/conversation/{id}`.
#[derive(Debug, Deserialize)]
pub struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/chatbot/conversation/{id}?after=&limit=`: the conversation and its messages with
/// `id > after`, oldest first. The polling and gap-filling endpoint.
pub async fn conversation(
    State(state): State<Arc<AppState>>,
    VisitorAuth {
        widget,
        conversation,
    }: VisitorAuth,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Value>, ApiError> {
    let id = conversation.id;
    let (mut body, rating) = state
        .service
        .history_page_and_rating(id, page.after, page.limit.unwrap_or(100))
        .await?;
    body.insert("success".into(), true.into());
    body.insert(
        "conversation".into(),
        serde_json::to_value(ConversationJson::from(&conversation)).expect("serialises"),
    );
    body.insert(
        "agents_online".into(),
        state.service.agents_online().await?.into(),
    );
    body.insert(
        "availability".into(),
        serde_json::to_value(state.service.availability(&widget).await?).expect("serialises"),
    );
    body.insert(
        "rating".into(),
        serde_json::to_value(rating).expect("serialises"),
    );
    Ok(Json(Value::Object(body)))
}

/// Body of `POST …/read`, from the widget or the dashboard.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Read {
    last_read_id: i64,
}

impl Read {
    /// Moves `reader`'s mark in conversation `id` and answers with the resulting read state.
    pub(super) async fn apply(
        self,
        state: &AppState,
        id: i64,
        reader: &str,
        headers: &HeaderMap,
    ) -> Result<Json<Value>, ApiError> {
        // Only a message of this conversation: a mark past every id (another conversation's
        // newer message, 2^63-1) would hide every later message from the receipts for good.
        if !message_in_conversation(state, id, self.last_read_id).await? {
            return Err(ApiError::Validation(
                "last_read_id must be the id of a message in this conversation".into(),
            ));
        }
        let read_state = state
            .service
            .mark_read(id, reader, self.last_read_id, socket_id(headers)?)
            .await?;
        Ok(Json(
            json!({ "success": true, "read_state": read_json(&read_state) }),
        ))
    }
}

/// `POST /api/chatbot/conversation/{id}/read`: the visitor's read receipt.
pub async fn read(
    State(state): State<Arc<AppState>>,
    VisitorAuth { conversation, .. }: VisitorAuth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Read>,
) -> Result<Json<Value>, ApiError> {
    body.apply(&state, conversation.id, "visitor", &headers)
        .await
}

/// Body of `POST …/reactions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct React {
    emoji: String,
    #[serde(default = "yes")]
    on: bool,
}

fn yes() -> bool {
    true
}

impl React {
    /// Adds (or removes) `reactor`'s reaction to message `message_id` of conversation `id` and
    /// answers with the message's reactions.
    pub(super) async fn apply(
        self,
        state: &AppState,
        id: i64,
        message_id: i64,
        reactor: &str,
        headers: &HeaderMap,
    ) -> Result<Json<Value>, ApiError> {
        let emoji = self.emoji.trim();
        if !text::one_emoji(emoji) {
            return Err(ApiError::Validation(
                "emoji must be exactly one emoji (a flag, a sequence joined by ZWJ, or one with a \
                 skin tone counts as one)"
                    .into(),
            ));
        }
        if !message_in_conversation(state, id, message_id).await? {
            return Err(ApiError::NotFound("message"));
        }
        let reactions = state
            .service
            .react(id, message_id, reactor, emoji, self.on, socket_id(headers)?)
            .await?;
        Ok(Json(
            json!({ "success": true, "reactions": reactions_json(message_id, &reactions) }),
        ))
    }
}

/// Whether message `message_id` belongs to conversation `id` (ids of 0 or less never do).
async fn message_in_conversation(
    state: &AppState,
    id: i64,
    message_id: i64,
) -> Result<bool, ApiError> {
    if message_id <= 0 {
        return Ok(false);
    }
    let next = state
        .service
        .store
        .messages_after(id, message_id - 1, 1)
        .await?;
    Ok(next.first().is_some_and(|m| m.id == message_id))
}

/// `POST /api/chatbot/conversation/{id}/messages/{message_id}/reactions`: adds (or with
/// `on:false` removes) the visitor's emoji reaction.
pub async fn react(
    State(state): State<Arc<AppState>>,
    VisitorAuth { conversation, .. }: VisitorAuth,
    ApiPath((_, message_id)): ApiPath<(i64, i64)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<React>,
) -> Result<Json<Value>, ApiError> {
    body.apply(&state, conversation.id, message_id, "visitor", &headers)
        .await
}

/// Body of `POST /api/chatbot/conversation/{id}/rating`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    score: i64,
    #[serde(default)]
    comment: Option<String>,
}

/// `POST /api/chatbot/conversation/{id}/rating {score 1-5, comment?}`: the visitor's rating,
/// once per conversation (409 after); 201 with it.
pub async fn rate(
    State(state): State<Arc<AppState>>,
    VisitorAuth { conversation, .. }: VisitorAuth,
    ApiJson(body): ApiJson<Rate>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let rating = state
        .service
        .rate(&conversation, body.score, body.comment.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "rating": rating })),
    ))
}
