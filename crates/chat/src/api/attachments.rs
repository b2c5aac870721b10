//! `GET /api/chatbot/attachments/{id}?sig=…`: serves a stored file. Links are signed (so an
//! `<img src>` works without headers but ids cannot be enumerated), files are sent with their
//! sniffed type, `nosniff`, a sandboxing CSP, and `Content-Disposition` (inline only for images
//! and audio, which browsers render without running anything) carrying the file's own name.

use std::{fmt::Write as _, sync::Arc};

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
    let disposition = content_disposition(
        if inline { "inline" } else { "attachment" },
        &attachment.original_name,
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

/// `Content-Disposition` naming the file: the name itself, UTF-8 and percent-encoded
/// (`filename*`, RFC 6266 and RFC 5987), which every current browser uses, after an ASCII
/// stand-in (`filename`) for clients that do not read `filename*`: each character outside
/// printable ASCII, and the quote, backslash and percent sign some clients misread there,
/// becomes `_`.
fn content_disposition(kind: &str, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| match c {
            '"' | '\\' | '%' => '_',
            ' ' => ' ',
            c if c.is_ascii_graphic() => c,
            _ => '_',
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        // RFC 5987's attr-char; everything else is escaped.
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn names_go_out_as_utf8_with_an_ascii_stand_in() {
        assert_eq!(
            content_disposition("attachment", "résumé 100%.txt"),
            "attachment; filename=\"r_sum_ 100_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20100%25.txt"
        );
        assert_eq!(
            content_disposition("inline", "a\"b\\c;d'e.png"),
            "inline; filename=\"a_b_c;d'e.png\"; filename*=UTF-8''a%22b%5Cc%3Bd%27e.png"
        );
    }
}
