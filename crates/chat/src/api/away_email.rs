//! The widget's call for leaving an email while the team is away: a visitor who asked for a
//! human outside the widget's business hours gives the address the reply is to be emailed to.
//! See [`crate::availability`].

use std::sync::Arc;

use axum::{extract::State, http::request::Parts, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{client_ip, visitor_conversation, ApiJson, ApiPath, WidgetAuth},
    rate_limited, AppState,
};
use crate::{error::ApiError, payload::ConversationJson, prechat::email_address};

/// Body of `POST …/email`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveEmail {
    email: String,
}

/// `POST /api/chatbot/conversation/{id}/email {email}`: the visitor's email for the reply; the
/// conversation waits for it by email (`waiting_for_email: true`), and the next agent reply is
/// emailed at once. The visitor token or the verified user's credential is needed; 422 for
/// something that is not an email; 409 when the server sends no email, the conversation is
/// closed, the bot still answers, or the site signed the visitor's email (replies go there);
/// 429 past a few a minute per conversation or per address.
pub async fn leave_email(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    ApiPath(id): ApiPath<i64>,
    parts: Parts,
    ApiJson(body): ApiJson<LeaveEmail>,
) -> Result<Json<Value>, ApiError> {
    rate_limited(
        state
            .emails_per_ip
            .check(&client_ip(&parts.extensions))
            .await,
    )?;
    let conversation = visitor_conversation(&state, &widget, id, &parts.headers).await?;
    rate_limited(
        state
            .emails_per_conversation
            .check(&conversation.id.to_string())
            .await,
    )?;
    let email = email_address(Some(body.email), "email")?
        .ok_or_else(|| ApiError::Validation("email is required".into()))?;
    let waiting = state
        .service
        .wait_for_email(&conversation, Some(&email))
        .await?;
    Ok(Json(
        json!({ "success": true, "conversation": ConversationJson::from(&waiting) }),
    ))
}
