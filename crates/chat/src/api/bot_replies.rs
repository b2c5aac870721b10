//! `POST /api/bot/conversations/{id}/messages`: how an external (webhook) bot answers. It
//! authenticates with the widget's `settings.bot.reply_token` (its own token, not the secret
//! that signs the webhooks Parley sends it), and may hand the conversation to a human.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{HeaderMap, StatusCode},
    Json,
};
use parley_bot::{BotKind, BotSettings};
use parley_store::{Conversation, ConversationStatus, Widget};
use serde::Deserialize;
use serde_json::Value;

use super::{
    extract::{bearer, ApiJson, ApiPath},
    messages, AppState,
};
use crate::{
    error::ApiError,
    service::{Author, Incoming},
    tokens::hash_token,
};

/// A reply from the external bot.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BotReply {
    message: String,
    /// Idempotency key, so the bot may retry safely.
    #[serde(default)]
    client_id: Option<String>,
    /// Hand the conversation to a human after this message.
    #[serde(default)]
    handoff: bool,
}

/// The one answer to every request the bot token does not authorise, whether the conversation
/// is missing, its widget has no external bot or is revoked, or the token is absent or wrong:
/// otherwise the difference tells a caller which conversations exist.
fn refused() -> ApiError {
    ApiError::Unauthorized("a valid bot reply token for this conversation is required".into())
}

/// The conversation and its widget, if the request's bearer token is that widget's bot reply
/// token.
async fn authorise(
    state: &AppState,
    id: i64,
    headers: &HeaderMap,
) -> Result<(Conversation, Widget), ApiError> {
    // Hashed before anything is looked up, so the work done does not depend on whether the
    // conversation exists; comparing hashes keeps the comparison's timing independent of the
    // token's bytes.
    let presented = bearer(headers).map(hash_token);
    let store = &state.service.store;
    let Some(conversation) = store.conversation(id).await? else {
        return Err(refused());
    };
    let Some(widget) = store.widget(conversation.widget_id).await? else {
        return Err(refused());
    };
    // A widget whose settings no longer parse has no usable external bot either.
    let expected = match BotSettings::from_widget_settings(&widget.settings) {
        Ok(settings) => match (settings.kind, settings.reply_token) {
            (BotKind::Webhook, Some(token)) if !token.is_empty() && widget.revoked_at.is_none() => {
                Some(hash_token(&token))
            }
            _ => None,
        },
        Err(_) => None,
    };
    match (presented, expected) {
        (Some(presented), Some(expected)) if presented == expected => Ok((conversation, widget)),
        _ => Err(refused()),
    }
}

/// Stores and broadcasts the reply.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BotReply>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (conversation, widget) = authorise(&state, id, &headers).await?;
    let incoming = Incoming {
        text: body.message,
        client_id: body.client_id,
        ..Incoming::default()
    };
    let posted = state
        .service
        .post(&conversation, Author::ExternalBot(&widget), incoming)
        .await?;
    if body.handoff {
        state
            .service
            .set_status(id, ConversationStatus::Human, None)
            .await?;
    }
    Ok(messages::answer(posted))
}
