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
    /// 401: a user token or user hash that does not verify against the widget's identity
    /// secret (bad signature, expired, another widget's), or none where the widget requires one.
    #[error("{0}")]
    IdentityInvalid(String),
    /// 403: authenticated, but not allowed (origin not allowed, another agent's channel).
    #[error("{0}")]
    Forbidden(String),
    /// 403: the visitor token does not belong to this conversation (a guess, to be throttled).
    #[error("{0}")]
    WrongVisitor(String),
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
    /// 503: a dependency failed in a way that passes (the database connection was cut, no
    /// connection was free); nothing was changed and the same request may be retried.
    #[error("temporarily unavailable, retry in a moment")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// 500: a bug or a failed dependency; details go to the log only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::IdentityInvalid(_) => (StatusCode::UNAUTHORIZED, "identity_invalid"),
            Self::Forbidden(_) | Self::WrongVisitor(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::PayloadTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::Validation(_) => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            Self::InvalidText(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_text"),
            Self::RateLimited(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        }
    }
}

/// Marks an answer that refused a token (unknown, revoked, or another visitor's), which the
/// per-IP throttle counts; other 401s and 403s (an agent asking for what is not theirs, an
/// origin not allowed) are not guesses and are not counted.
#[derive(Debug, Clone, Copy)]
pub struct RefusedToken;

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(_) => Self::NotFound("record"),
            StoreError::Conflict(what) => Self::Conflict(format!("already exists: {what}")),
            StoreError::LastAdmin => Self::Conflict(StoreError::LastAdmin.to_string()),
            StoreError::InvalidText { field } => {
                Self::InvalidText(format!("{field} contains a control character"))
            }
            other if other.is_transient() => Self::Unavailable(Box::new(other)),
            other => Self::Internal(Box::new(other)),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            Self::Internal(source) => tracing::error!(error = %source, "internal error"),
            Self::Unavailable(source) => tracing::warn!(error = %source, "dependency unavailable"),
            _ => {}
        }
        let body = serde_json::json!({
            "success": false,
            "error": { "code": code, "message": self.to_string() },
        });
        let mut response = (status, Json(body)).into_response();
        if matches!(
            self,
            Self::Unauthorized(_) | Self::WrongVisitor(_) | Self::IdentityInvalid(_)
        ) {
            response.extensions_mut().insert(RefusedToken);
        }
        let retry_after = match self {
            Self::RateLimited(seconds) => Some(seconds.max(1)),
            Self::Unavailable(_) => Some(1),
            _ => None,
        };
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(error: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.into_response();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_string());
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        (status, retry_after, serde_json::from_slice(&body).unwrap())
    }

    #[tokio::test]
    async fn a_cut_database_connection_is_503_with_retry_after_not_500() {
        let cut = StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "terminating connection due to administrator command",
        )));
        let (status, retry_after, body) = answer(cut.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(retry_after.as_deref(), Some("1"));
        assert_eq!(body["error"]["code"], "unavailable");
        assert!(
            !body.to_string().contains("administrator"),
            "the cause stays in the log"
        );

        let bug = StoreError::Corrupt("bad row".into());
        let (status, retry_after, body) = answer(bug.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(retry_after, None);
        assert_eq!(body["error"]["code"], "internal_error");
    }
}
