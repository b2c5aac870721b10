//! Echo's channel authorisation endpoint (`/api/chatbot/broadcasting/auth`, also
//! `/broadcasting/auth`): signs `private-chat.conversation.{id}` (spelled exactly so) for that
//! conversation's visitor only, and remembers the socket under the widget so revoking the widget
//! closes it. pusher-js and laravel-echo post `socket_id` and `channel_name` form-encoded; JSON
//! works too.

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{header, HeaderMap},
    Json,
};
use parley_protocol::{signature::channel_auth, SocketId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{visitor_conversation, WidgetAuth},
    AppState,
};
use crate::{
    config::{ChatConfig, Provider},
    error::ApiError,
    payload::conversation_of_channel,
    revocation::Holder,
    ChatService,
};

/// What Echo posts to an authorisation endpoint.
#[derive(Debug, Deserialize)]
pub(super) struct AuthRequest {
    socket_id: String,
    pub(super) channel_name: String,
    /// Which provider's key signs (`reverb` or `pusher`); defaults to the broadcaster's.
    #[serde(default)]
    provider: Option<String>,
}

/// Handles one authorisation request.
pub async fn auth(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = AuthRequest::parse(&headers, &body)?;
    let conversation_id = conversation_of_channel(&request.channel_name).ok_or_else(|| {
        ApiError::Forbidden(format!("cannot authorise channel {}", request.channel_name))
    })?;
    visitor_conversation(&state, &widget, conversation_id, &headers)
        .await
        .map_err(|error| match error {
            ApiError::NotFound(_) => ApiError::Forbidden("not your conversation".into()),
            other => other,
        })?;
    request.sign_for(&state.service, Holder::Widget(widget.id))
}

impl AuthRequest {
    /// Reads the form-encoded (pusher-js, laravel-echo) or JSON body, and checks the socket id.
    pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("application/json"));
        let request: AuthRequest = if is_json {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?
        } else {
            let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
            let get = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.clone())
            };
            AuthRequest {
                socket_id: get("socket_id")
                    .ok_or_else(|| ApiError::BadRequest("socket_id is required".into()))?,
                channel_name: get("channel_name")
                    .ok_or_else(|| ApiError::BadRequest("channel_name is required".into()))?,
                provider: get("provider"),
            }
        };
        if SocketId::parse(&request.socket_id).is_none() {
            return Err(ApiError::BadRequest(
                "socket_id must look like 123.456".into(),
            ));
        }
        Ok(request)
    }

    /// The channel's signature for `holder`, whose socket is remembered so that revoking the
    /// holder closes it.
    pub(super) fn sign_for(
        &self,
        service: &ChatService,
        holder: Holder,
    ) -> Result<Json<Value>, ApiError> {
        let signed = self.sign(&service.config)?;
        if let Some(socket) = SocketId::parse(&self.socket_id) {
            service.signed_sockets.record(holder, socket);
        }
        Ok(signed)
    }

    /// The channel's signature with the requested provider's key (the broadcaster's by default).
    fn sign(&self, config: &ChatConfig) -> Result<Json<Value>, ApiError> {
        let provider = match self.provider.as_deref() {
            Some("pusher") => Provider::Pusher,
            Some("reverb") => Provider::Reverb,
            None => config.provider,
            Some(other) => return Err(ApiError::BadRequest(format!("unknown provider {other:?}"))),
        };
        let app = config.app_for(provider).ok_or_else(|| {
            ApiError::Conflict(format!("{} is not configured", provider.as_str()))
        })?;
        let auth = channel_auth(
            &app.key,
            &app.secret,
            &self.socket_id,
            &self.channel_name,
            None,
        );
        Ok(Json(json!({ "auth": auth })))
    }
}
