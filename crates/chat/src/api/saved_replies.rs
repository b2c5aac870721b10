//! Saved replies (`/api/agent/saved-replies`): text the team keeps for reuse, which an agent
//! inserts in a reply by typing `/` and its shortcut.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json};
use parley_store::{NewSavedReply, SavedReply};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{AgentAuth, ApiJson, ApiPath};
use crate::{error::ApiError, text, AppState};

/// Longest shortcut.
const MAX_SHORTCUT_CHARS: usize = 32;

/// Body of `POST /api/agent/saved-replies` and `PUT …/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedReplyBody {
    shortcut: String,
    text: String,
}

impl SavedReplyBody {
    /// The shortcut lowercased (a leading `/` is dropped) and the text trimmed, or why not.
    fn checked(self, max_text_chars: usize) -> Result<NewSavedReply, ApiError> {
        let shortcut = self.shortcut.trim().trim_start_matches('/').to_lowercase();
        if shortcut.is_empty()
            || shortcut.chars().count() > MAX_SHORTCUT_CHARS
            || !shortcut
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        {
            return Err(ApiError::Validation(format!(
                "shortcut must be 1-{MAX_SHORTCUT_CHARS} letters, digits, - or _"
            )));
        }
        text::check("text", &self.text)?;
        let text = self.text.trim().to_string();
        if text.is_empty() || text.chars().count() > max_text_chars {
            return Err(ApiError::Validation(format!(
                "text must be 1-{max_text_chars} characters"
            )));
        }
        Ok(NewSavedReply { shortcut, text })
    }
}

fn saved_reply_json(reply: &SavedReply) -> Value {
    serde_json::to_value(reply).expect("saved replies serialise")
}

/// `GET /api/agent/saved-replies`: the team's, by shortcut.
pub async fn list(
    State(state): State<Arc<AppState>>,
    AgentAuth(_): AgentAuth,
) -> Result<Json<Value>, ApiError> {
    let replies = state.service.store.saved_replies().await?;
    let replies: Vec<Value> = replies.iter().map(saved_reply_json).collect();
    Ok(Json(json!({ "success": true, "saved_replies": replies })))
}

/// `POST /api/agent/saved-replies`: a new one (409 if the shortcut is taken).
pub async fn create(
    State(state): State<Arc<AppState>>,
    AgentAuth(_): AgentAuth,
    ApiJson(body): ApiJson<SavedReplyBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let reply = body.checked(state.service.config.max_message_chars)?;
    let saved = state.service.store.create_saved_reply(reply).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "saved_reply": saved_reply_json(&saved) })),
    ))
}

/// `PUT /api/agent/saved-replies/{id}`: replaces its shortcut and text.
pub async fn update(
    State(state): State<Arc<AppState>>,
    AgentAuth(_): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SavedReplyBody>,
) -> Result<Json<Value>, ApiError> {
    let reply = body.checked(state.service.config.max_message_chars)?;
    let saved = state
        .service
        .store
        .update_saved_reply(id, reply)
        .await?
        .ok_or(ApiError::NotFound("saved reply"))?;
    Ok(Json(
        json!({ "success": true, "saved_reply": saved_reply_json(&saved) }),
    ))
}

/// `DELETE /api/agent/saved-replies/{id}`.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    AgentAuth(_): AgentAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    if !state.service.store.delete_saved_reply(id).await? {
        return Err(ApiError::NotFound("saved reply"));
    }
    Ok(Json(json!({ "success": true })))
}
