//! `POST /api/bot/conversations/{id}/messages`: how an external (webhook) bot answers. It
//! authenticates with the widget's `settings.bot.reply_token` (its own token, not the secret
//! that signs the webhooks Parley sends it), and may hand the conversation to a human.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    Json,
};
use parley_bot::{BotKind, BotSettings};
use parley_store::{ConversationStatus, Inserted, NewMessage, SenderType};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{ApiJson, ApiPath},
    AppState,
};
use crate::{error::ApiError, payload::MessageJson, tokens::hash_token};

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

/// Stores and broadcasts the reply.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BotReply>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let store = &state.service.store;
    let conversation = store
        .conversation(id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let widget = store
        .widget(conversation.widget_id)
        .await?
        .ok_or(ApiError::NotFound("conversation"))?;
    let settings = BotSettings::from_widget_settings(&widget.settings)
        .map_err(|e| ApiError::Conflict(e.to_string()))?;
    let expected = match (&settings.kind, &settings.reply_token) {
        (BotKind::Webhook, Some(token)) if !token.is_empty() && widget.revoked_at.is_none() => {
            hash_token(token)
        }
        _ => {
            return Err(ApiError::Forbidden(
                "this widget has no external bot".into(),
            ))
        }
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::Unauthorized("missing bot token".into()))?;
    // Comparing hashes keeps the comparison's timing independent of the token's bytes.
    if hash_token(presented.trim()) != expected {
        return Err(ApiError::Unauthorized("wrong bot token".into()));
    }
    if conversation.status != ConversationStatus::Bot {
        return Err(ApiError::Conflict(format!(
            "the conversation is {}",
            conversation.status.as_str()
        )));
    }
    crate::text::check("message", &body.message)?;
    let text = body.message.trim().to_string();
    if text.is_empty() || text.chars().count() > state.service.config.max_message_chars {
        return Err(ApiError::Validation(
            "message must be 1 to max_message_chars characters".into(),
        ));
    }
    let name = widget
        .settings
        .get("bot_name")
        .and_then(|v| v.as_str())
        .unwrap_or("Assistant")
        .to_string();
    let inserted = state
        .service
        .post_message(
            &conversation,
            NewMessage {
                conversation_id: id,
                sender_type: SenderType::Bot,
                sender_name: Some(name),
                message: text,
                attachment_id: None,
                is_voice: false,
                client_id: body.client_id.map(|c| format!("ext-{c}")),
                bot_job: false,
            },
            None,
        )
        .await?;
    if body.handoff {
        state
            .service
            .set_status(id, ConversationStatus::Human, None)
            .await?;
    }
    let status = match inserted {
        Inserted::Created(_) => StatusCode::CREATED,
        Inserted::Duplicate(_) => StatusCode::OK,
    };
    let message = MessageJson::new(inserted.message(), &state.service.config.link_secret);
    Ok((status, Json(json!({ "success": true, "message": message }))))
}
