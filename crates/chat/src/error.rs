//! The one error type of the chat API and its JSON shape:
//! `{"success":false,"error":{"code":"snake_case","message":"…"}}` with the matching status.
//! Internal failures are logged with their cause and answered with a generic message.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use parley_store::StoreError;

/// An API failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or an unknown widget token.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: authenticated, but not allowed (wrong visitor, origin not allowed).
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such conversation, message or file (or not this widget's).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409: the request conflicts with the state (e.g. the conversation is closed).
    #[error("{0}")]
    Conflict(String),
    /// 413: body or upload too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the upload's type is not allowed.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed but invalid values.
    #[error("{0}")]
    Validation(String),
    /// 422: text holding a control character other than newline, carriage return or tab
    /// (see `text.rs`); its own code so clients can tell it from other validation failures.
    #[error("{0}")]
    InvalidText(String),
    /// 429: too many requests; retry after this many seconds.
    #[error("too many requests, retry in {0} s")]
    RateLimited(u64),
    /// 500: a bug or a failed dependency; details go to the log only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::InvalidText(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::NotFound("record"),
            StoreError::Conflict(what) => Self::Conflict(format!("already exists: {what}")),
            StoreError::InvalidText { field } => {
                Self::InvalidText(format!("{field} contains a control character"))
            }
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Internal(source) = &self {
            tracing::error!(error = %source, "internal error");
        }
        let body = serde_json::json!({
            "success": false,
            "error": { "code": code, "message": self.to_string() },
        });
        let mut response = (status, Json(body)).into_response();
        if let Self::RateLimited(seconds) = self {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
        }
        response
    }
}
