//! `POST /api/chatbot/conversation/{id}/messages`: a visitor's message, as JSON
//! `{message, client_id}` or as multipart with an `attachment` (and `is_voice=1` for a voice
//! note). Stored first, then broadcast to the others (`X-Socket-ID` is left out).

use std::sync::Arc;

use axum::{
    extract::{FromRequest, Multipart, Request, State},
    http::{header, StatusCode},
    Json,
};
use parley_store::{Inserted, NewAttachment, NewMessage, SenderType};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{client_ip, socket_id, visitor_conversation, ApiJson, ApiPath, WidgetAuth},
    rate_limited, AppState,
};
use crate::{error::ApiError, payload::MessageJson, text, uploads};

/// A JSON message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMessage {
    #[serde(default)]
    message: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// An uploaded file, before it is stored.
struct Upload {
    bytes: bytes::Bytes,
    file_name: String,
    is_voice: bool,
}

/// A message as sent, whichever encoding, checked; its file (if any) not yet stored.
pub(super) struct Incoming {
    /// Trimmed, within the length limit; empty only when there is a file.
    pub(super) text: String,
    /// Valid when present.
    pub(super) client_id: Option<String>,
    upload: Option<Upload>,
}

impl Incoming {
    /// Reads a JSON or multipart message and checks its text and `client_id`.
    pub(super) async fn read(request: Request, state: &Arc<AppState>) -> Result<Self, ApiError> {
        let mut incoming = read_incoming(request, state).await?;
        let config = &state.service.config;
        text::check("message", &incoming.text)?;
        incoming.text = incoming.text.trim().to_string();
        if incoming.text.is_empty() && incoming.upload.is_none() {
            return Err(ApiError::Validation(
                "a message needs text or an attachment".into(),
            ));
        }
        if incoming.text.chars().count() > config.max_message_chars {
            return Err(ApiError::Validation(format!(
                "message is longer than {} characters",
                config.max_message_chars
            )));
        }
        if let Some(client_id) = &incoming.client_id {
            valid_client_id(client_id)?;
        }
        Ok(incoming)
    }

    /// Stores the file, if there is one: its attachment id and whether it is a voice note.
    pub(super) async fn store_upload(
        &mut self,
        state: &AppState,
        conversation_id: i64,
    ) -> Result<(Option<i64>, bool), ApiError> {
        match self.upload.take() {
            Some(upload) => {
                let id = store_upload(
                    state,
                    conversation_id,
                    upload.bytes,
                    &upload.file_name,
                    upload.is_voice,
                )
                .await?;
                Ok((Some(id), upload.is_voice))
            }
            None => Ok((None, false)),
        }
    }
}

/// Handles a message send.
pub async fn send(
    State(state): State<Arc<AppState>>,
    WidgetAuth(widget): WidgetAuth,
    ApiPath(id): ApiPath<i64>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let headers = request.headers().clone();
    let conversation = visitor_conversation(&state, &widget, id, &headers).await?;
    rate_limited(
        state
            .messages_per_ip
            .check(&client_ip(request.extensions())),
    )?;
    rate_limited(state.messages_per_widget.check(&widget.id.to_string()))?;
    let except = socket_id(&headers)?;
    let mut incoming = Incoming::read(request, &state).await?;
    if conversation.status == parley_store::ConversationStatus::Closed {
        return Err(ApiError::Conflict("the conversation is closed".into()));
    }
    let config = &state.service.config;
    let (attachment_id, is_voice) = incoming.store_upload(&state, id).await?;
    let inserted = state
        .service
        .post_message(
            &conversation,
            NewMessage {
                conversation_id: id,
                sender_type: SenderType::Visitor,
                sender_name: conversation.visitor_name.clone(),
                message: incoming.text,
                attachment_id,
                is_voice,
                client_id: incoming.client_id,
                // While the bot answers, each visitor message gets one bot turn, queued with it.
                bot_job: conversation.status == parley_store::ConversationStatus::Bot,
            },
            except,
        )
        .await?;
    let status = match inserted {
        Inserted::Created(_) => StatusCode::CREATED,
        Inserted::Duplicate(_) => StatusCode::OK,
    };
    let message = MessageJson::new(inserted.message(), &config.link_secret);
    Ok((status, Json(json!({ "success": true, "message": message }))))
}

/// A sender's id for a message, which makes a retried send idempotent.
pub(super) fn valid_client_id(client_id: &str) -> Result<(), ApiError> {
    let valid = !client_id.is_empty()
        && client_id.len() <= 64
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::Validation(
            "client_id must be 1-64 characters of [A-Za-z0-9_-]".into(),
        ))
    }
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
            upload: None,
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
    let mut incoming = Incoming {
        text: String::new(),
        client_id: None,
        upload: None,
    };
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

async fn store_upload(
    state: &AppState,
    conversation_id: i64,
    bytes: bytes::Bytes,
    file_name: &str,
    is_voice: bool,
) -> Result<i64, ApiError> {
    let content_type = uploads::sniff(&bytes, is_voice).map_err(|error| match error {
        uploads::UploadError::Empty => ApiError::Validation(error.to_string()),
        uploads::UploadError::TypeNotAllowed => ApiError::UnsupportedMediaType(error.to_string()),
    })?;
    let data_dir = &state.service.config.data_dir;
    let storage_name = uploads::store(data_dir, &bytes)
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let recorded = state
        .service
        .store
        .create_attachment(NewAttachment {
            conversation_id,
            storage_name: storage_name.clone(),
            original_name: file_name.to_string(),
            content_type: content_type.to_string(),
            size_bytes: bytes.len() as i64,
        })
        .await;
    match recorded {
        Ok(attachment) => Ok(attachment.id),
        Err(error) => {
            // Leave no orphan file behind a failed insert.
            let _ = tokio::fs::remove_file(uploads::attachments_dir(data_dir).join(&storage_name))
                .await;
            Err(error.into())
        }
    }
}
