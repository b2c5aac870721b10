//! `GET /api/chatbot/attachments/{id}?sig=…`: serves a stored file. Links are signed (so an
//! `<img src>` works without headers but ids cannot be enumerated), files are sent with their
//! sniffed type, `nosniff`, a sandboxing CSP, and `Content-Disposition` (inline only for images
//! and audio, which browsers render without running anything).

use std::sync::Arc;

use axum::{
    body::Body,
    extract::State,
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use serde::Deserialize;

use super::{
    extract::{ApiPath, ApiQuery},
    AppState,
};
use crate::{error::ApiError, payload::hmac_link::verify_attachment, uploads};

#[derive(Debug, Deserialize)]
pub struct Signature {
    #[serde(default)]
    sig: String,
}

/// Serves one attachment.
pub async fn download(
    State(state): State<Arc<AppState>>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<Signature>,
) -> Result<Response, ApiError> {
    let config = &state.service.config;
    if !verify_attachment(&config.link_secret, id, &query.sig) {
        return Err(ApiError::NotFound("attachment"));
    }
    let attachment = state
        .service
        .store
        .attachment(id)
        .await?
        .ok_or(ApiError::NotFound("attachment"))?;
    let path = uploads::attachments_dir(&config.data_dir).join(&attachment.storage_name);
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::NotFound("attachment"))?;
    let inline = attachment.content_type.starts_with("image/")
        || attachment.content_type.starts_with("audio/");
    let disposition = format!(
        "{}; filename=\"{}\"",
        if inline { "inline" } else { "attachment" },
        attachment
            .original_name
            .replace(|c: char| !c.is_ascii() || c == '"', "_")
    );
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&attachment.content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox; default-src 'none'; img-src 'self'; media-src 'self'"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400"),
    );
    Ok(response)
}
