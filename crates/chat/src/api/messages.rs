//! `POST /api/chatbot/conversation/{id}/messages`: a visitor's message, as JSON
//! `{message, client_id}` or as multipart with an `attachment` (and `is_voice=1` for a voice
//! note). Stored first, then broadcast to the others (`X-Socket-ID` is left out). Also how every
//! sender's message body is read, and the answer a post gets.

use std::sync::Arc;

use axum::{
    extract::{FromRequest, Multipart, Request, State},
    http::{header, StatusCode},
    Json,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{client_ip, socket_id, ApiJson, VisitorAuth},
    rate_limited, AppState,
};
use crate::{
    error::ApiError,
    service::{Author, Incoming, Posted, Upload},
    uploads,
};

/// A JSON message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMessage {
    #[serde(default)]
    message: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// Handles a message send.
pub async fn send(
    State(state): State<Arc<AppState>>,
    VisitorAuth {
        widget,
        conversation,
    }: VisitorAuth,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    rate_limited(
        state
            .messages_per_ip
            .check(&client_ip(request.extensions()))
            .await,
    )?;
    rate_limited(
        state
            .messages_per_widget
            .check(&widget.id.to_string())
            .await,
    )?;
    state.service.admit(&conversation, Author::Visitor)?;
    let incoming = read(request, &state).await?;
    let posted = state
        .service
        .post(&conversation, Author::Visitor, incoming)
        .await?;
    Ok(answer(posted))
}

/// The answer to a post: 201 with the new message, or 200 with the original for a repeat.
pub(super) fn answer(posted: Posted) -> (StatusCode, Json<Value>) {
    let status = if posted.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (
        status,
        Json(json!({ "success": true, "message": posted.message })),
    )
}

/// Reads a message body, JSON or multipart, and the sender's socket id.
pub(super) async fn read(request: Request, state: &Arc<AppState>) -> Result<Incoming, ApiError> {
    let socket = socket_id(request.headers())?;
    let mut incoming = read_incoming(request, state).await?;
    incoming.socket = socket;
    Ok(incoming)
}

async fn read_incoming(request: Request, state: &Arc<AppState>) -> Result<Incoming, ApiError> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if content_type.starts_with("multipart/form-data") {
        let multipart = Multipart::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
        read_multipart(multipart, state.service.config.max_upload_bytes).await
    } else {
        let ApiJson(body) = ApiJson::<JsonMessage>::from_request(request, state).await?;
        Ok(Incoming {
            text: body.message,
            client_id: body.client_id,
            ..Incoming::default()
        })
    }
}

async fn read_multipart(mut multipart: Multipart, max_upload: usize) -> Result<Incoming, ApiError> {
    let bad = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("uploads are limited to {max_upload} bytes"))
        } else {
            ApiError::BadRequest(error.body_text())
        }
    };
    let mut incoming = Incoming::default();
    let mut is_voice = false;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name().unwrap_or("") {
            "message" => incoming.text = field.text().await.map_err(bad)?,
            "client_id" => {
                incoming.client_id =
                    Some(field.text().await.map_err(bad)?).filter(|c| !c.is_empty())
            }
            "is_voice" => {
                is_voice = matches!(field.text().await.map_err(bad)?.as_str(), "1" | "true")
            }
            "attachment" => {
                let file_name = uploads::clean_file_name(field.file_name().unwrap_or("file"));
                let bytes = field.bytes().await.map_err(bad)?;
                if bytes.len() > max_upload {
                    return Err(ApiError::PayloadTooLarge(format!(
                        "uploads are limited to {max_upload} bytes"
                    )));
                }
                incoming.upload = Some(Upload {
                    bytes,
                    file_name,
                    is_voice: false,
                });
            }
            other => return Err(ApiError::BadRequest(format!("unexpected field {other:?}"))),
        }
    }
    if let Some(upload) = &mut incoming.upload {
        upload.is_voice = is_voice;
    }
    Ok(incoming)
}
