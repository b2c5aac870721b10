//! The RFC 6455 opening handshake on hyper: checks the upgrade request, answers `101`, and once
//! hyper hands the connection over, takes the raw TCP stream back (with any bytes hyper read past
//! the request), so that no HTTP-layer buffer or wrapper outlives the handshake.

use axum::{
    extract::Request,
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine as _;
use hyper_util::rt::TokioIo;
use prometheus_client::metrics::counter::Counter;
use sha1::{Digest, Sha1};
use tokio::net::TcpStream;

use super::socket::WebSocket;
use crate::outbox::{Flusher, Outbox};

const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The limits a socket is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest message accepted; a larger one closes the socket with 1009.
    pub max_message_bytes: usize,
    /// Frames queued for the socket before it is deemed too slow (see [`Outbox`]).
    pub send_queue_frames: usize,
}

/// A WebSocket whose `101 Switching Protocols` has been answered but whose connection hyper
/// has not handed over yet.
#[derive(Debug)]
pub struct PendingSocket {
    on_upgrade: hyper::upgrade::OnUpgrade,
    limits: Limits,
    sent: Option<Counter>,
}

impl PendingSocket {
    /// Counts every frame sent on the socket in `counter`.
    pub fn count_sent_frames(&mut self, counter: Counter) {
        self.sent = Some(counter);
    }

    /// Waits for hyper to hand over the connection; `None` if the client went away first, or if
    /// the connection is not a TCP stream served through `hyper_util`'s `TokioIo` (as
    /// [`crate::Realtime::serve`] does; `axum::serve` wraps the stream). Frames pushed to it are
    /// written by `flusher`.
    pub async fn ready(self, flusher: &Flusher) -> Option<WebSocket> {
        let upgraded = match self.on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                return None;
            }
        };
        match upgraded.downcast::<TokioIo<TcpStream>>() {
            Ok(parts) => {
                let outbox = Outbox::new(
                    parts.io.into_inner(),
                    self.limits.send_queue_frames,
                    self.sent,
                    Some(flusher),
                );
                Some(WebSocket::new(
                    outbox,
                    &parts.read_buf,
                    self.limits.max_message_bytes,
                ))
            }
            Err(_) => {
                tracing::warn!(
                    "WebSocket upgrade on a connection that is not a TokioIo<TcpStream>"
                );
                None
            }
        }
    }
}

/// Validates an RFC 6455 upgrade request and answers it. Returns the `101` response to send and
/// the socket to await; or the error response for a request that is not a valid upgrade. Every
/// WebSocket the server accepts goes through here (and so does the RFC 6455 conformance echo
/// server in `examples/`), so one set of rules applies everywhere.
pub fn accept_websocket(
    request: &mut Request,
    limits: Limits,
) -> Result<(Response, PendingSocket), Box<Response>> {
    let Some(accept) = websocket_accept(request.headers()) else {
        return Err(Box::new(
            (
            StatusCode::UPGRADE_REQUIRED,
            [(header::UPGRADE, "websocket")],
            Json(serde_json::json!({ "error": "This endpoint speaks WebSocket (RFC 6455, version 13)" })),
        )
            .into_response(),
        ));
    };
    let Some(on_upgrade) = request
        .extensions_mut()
        .remove::<hyper::upgrade::OnUpgrade>()
    else {
        return Err(Box::new(
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "connection cannot be upgraded",
            )
                .into_response(),
        ));
    };
    let response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(axum::body::Body::empty())
        .expect("static response parts are valid");
    let pending = PendingSocket {
        on_upgrade,
        limits,
        sent: None,
    };
    Ok((response, pending))
}

/// The `Sec-WebSocket-Accept` value, if this is a valid RFC 6455 upgrade request.
fn websocket_accept(headers: &HeaderMap) -> Option<HeaderValue> {
    let has_token = |name: header::HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(header::CONNECTION, "upgrade") || !has_token(header::UPGRADE, "websocket") {
        return None;
    }
    if headers.get(header::SEC_WEBSOCKET_VERSION)?.as_bytes() != b"13" {
        return None;
    }
    let key = headers.get(header::SEC_WEBSOCKET_KEY)?;
    let mut sha1 = Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(WEBSOCKET_GUID.as_bytes());
    let accept = base64::engine::general_purpose::STANDARD.encode(sha1.finalize());
    HeaderValue::from_str(&accept).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_matches_rfc_6455_example() {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONNECTION, "keep-alive, Upgrade".parse().unwrap());
        headers.insert(header::UPGRADE, "websocket".parse().unwrap());
        headers.insert(header::SEC_WEBSOCKET_VERSION, "13".parse().unwrap());
        headers.insert(
            header::SEC_WEBSOCKET_KEY,
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        assert_eq!(
            websocket_accept(&headers).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        headers.insert(header::SEC_WEBSOCKET_VERSION, "8".parse().unwrap());
        assert!(websocket_accept(&headers).is_none());
    }
}
