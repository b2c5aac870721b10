//! Parley's chat API as a widget visitor uses it: the widget's realtime settings, starting a
//! conversation, authorising its private channel and sending messages; and how a benchmark
//! payload travels in a message and is read back out of its `ChatMessageReceived` broadcast.
//!
//! The payload (stream, sequence number, send time) is the message text; the `client_id`
//! repeats stream and sequence number, so an echo that does not match its text is caught.

use std::time::Duration;

use anyhow::Context as _;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::json;

use crate::payload::{Found, Listen, Payload};
use crate::publisher::{error_chain, SendError};
use crate::wire;

/// What a conversation's subscriber listens for: new messages carry the payloads; the bot's
/// typing indicator, read receipts, reactions and status changes (the built-in bot answers a
/// conversation's first messages, then hands it to a human) are the application's own.
pub const LISTEN: Listen = Listen {
    event: "ChatMessageReceived",
    extract,
    also: &[
        "BotTyping",
        "ConversationUpdated",
        "MessageRead",
        "ReactionsUpdated",
    ],
};

/// A widget's chat API: every call carries the widget token.
pub struct ChatApi {
    client: reqwest::Client,
    base: String,
    bearer: String,
}

/// Where the widget's browsers connect for realtime events (`reverb` in `/api/chatbot/config`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeInfo {
    pub key: String,
    pub host: Option<String>,
    pub port: u16,
}

/// A started conversation and the visitor token that owns it.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub conversation: i64,
    pub token: String,
}

impl Visitor {
    /// The conversation's private channel.
    pub fn channel(&self) -> String {
        format!("private-chat.conversation.{}", self.conversation)
    }
}

impl ChatApi {
    /// `base` is the API's origin (`http://127.0.0.1:8000`); `pool` bounds idle keep-alive
    /// connections, which should match the senders in flight.
    pub fn new(base: &str, token: &str, pool: usize) -> anyhow::Result<ChatApi> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10))
            .build()
            .context("building the HTTP client")?;
        Ok(ChatApi {
            client,
            base: base.trim_end_matches('/').to_string(),
            bearer: format!("Bearer {token}"),
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header("authorization", &self.bearer)
    }

    /// The realtime server the widget is told to use. Fails unless it is Reverb-compatible
    /// (Parley's embedded server or an external one).
    pub async fn realtime(&self) -> anyhow::Result<RealtimeInfo> {
        let url = format!("{}/api/chatbot/config", self.base);
        let response = self
            .client
            .get(&url)
            .header("authorization", &self.bearer)
            .send()
            .await
            .with_context(|| format!("GET {url}: is Parley listening there?"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!("GET {url}: HTTP {status}: {}", wire::excerpt(&text));
        }
        parse_realtime(&text).with_context(|| format!("GET {url}: {}", wire::excerpt(&text)))
    }

    /// `POST /api/chatbot/conversation`: a new conversation with its visitor token.
    pub async fn start_conversation(&self) -> Result<Visitor, SendError> {
        #[derive(Deserialize)]
        struct Started {
            conversation: Id,
            visitor_token: String,
        }
        #[derive(Deserialize)]
        struct Id {
            id: i64,
        }
        let response = self
            .post("/api/chatbot/conversation")
            .json(&json!({"visitor_name": "bench"}))
            .send()
            .await
            .map_err(|e| transport_error("create", e))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status != StatusCode::CREATED {
            return Err(SendError {
                kind: "create_rejected",
                detail: format!("HTTP {status}: {}", wire::excerpt(&text)),
            });
        }
        let started: Started = serde_json::from_str(&text).map_err(|e| SendError {
            kind: "create_rejected",
            detail: format!("unreadable answer ({e}): {}", wire::excerpt(&text)),
        })?;
        Ok(Visitor {
            conversation: started.conversation.id,
            token: started.visitor_token,
        })
    }

    /// `POST /api/chatbot/broadcasting/auth`, as pusher-js does it: the `auth` signature that
    /// lets `socket_id` subscribe to the visitor's conversation channel.
    pub async fn authorize(&self, visitor: &Visitor, socket_id: &str) -> Result<String, String> {
        #[derive(Deserialize)]
        struct Auth {
            auth: String,
        }
        let channel = visitor.channel();
        let response = self
            .post("/api/chatbot/broadcasting/auth")
            .header("x-visitor-token", &visitor.token)
            .form(&[("socket_id", socket_id), ("channel_name", channel.as_str())])
            .send()
            .await
            .map_err(|e| format!("channel auth failed: {}", error_chain(&e.without_url())))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "channel auth: HTTP {status}: {}",
                wire::excerpt(&text)
            ));
        }
        serde_json::from_str::<Auth>(&text)
            .map(|a| a.auth)
            .map_err(|_| format!("channel auth: no auth in {}", wire::excerpt(&text)))
    }

    /// `POST /api/chatbot/conversation/{id}/messages` with `payload` as the text. Only `201
    /// Created` counts as accepted: a `200` means the server took it for a repeat and
    /// broadcast nothing.
    pub async fn send_message(
        &self,
        visitor: &Visitor,
        payload: &Payload,
        pad: usize,
    ) -> Result<(), SendError> {
        let path = format!(
            "/api/chatbot/conversation/{}/messages",
            visitor.conversation
        );
        let response = self
            .post(&path)
            .header("x-visitor-token", &visitor.token)
            .json(&json!({
                "message": payload.encode(pad),
                "client_id": client_id(payload.c, payload.s),
            }))
            .send()
            .await
            .map_err(|e| transport_error("post", e))?;
        let status = response.status();
        if status == StatusCode::CREATED {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(SendError {
            kind: post_status_kind(status.as_u16()),
            detail: format!("HTTP {status}: {}", wire::excerpt(&text)),
        })
    }
}

/// Reads the `reverb` block of `/api/chatbot/config`.
fn parse_realtime(text: &str) -> anyhow::Result<RealtimeInfo> {
    #[derive(Deserialize)]
    struct Config {
        reverb: Option<Reverb>,
    }
    #[derive(Deserialize)]
    struct Reverb {
        #[serde(default)]
        enabled: bool,
        key: Option<String>,
        host: Option<String>,
        port: Option<u16>,
    }
    let config: Config = serde_json::from_str(text).context("not the widget config")?;
    match config.reverb {
        Some(Reverb {
            enabled: true,
            key: Some(key),
            host,
            port: Some(port),
        }) => Ok(RealtimeInfo {
            key,
            host: host.filter(|h| !h.is_empty()),
            port,
        }),
        _ => anyhow::bail!("the widget has no Reverb realtime server (key and port) configured"),
    }
}

/// The error kind of a failed request: a timeout, or any other failure to get an answer.
fn transport_error(what: &'static str, e: reqwest::Error) -> SendError {
    let kind = match (what, e.is_timeout()) {
        ("post", true) => "post_timeout",
        ("post", false) => "post_failed",
        (_, true) => "create_timeout",
        _ => "create_failed",
    };
    SendError {
        kind,
        detail: format!("request failed: {}", error_chain(&e.without_url())),
    }
}

/// The error kind of a message send answered with `status` (anything but 201).
fn post_status_kind(status: u16) -> &'static str {
    match status {
        200 => "post_duplicate",
        429 => "post_rate_limited",
        400..=499 => "post_rejected",
        500..=599 => "post_server_error",
        _ => "post_unexpected_status",
    }
}

/// The message's idempotency key: unique per stream and sequence number, within Parley's
/// `[A-Za-z0-9_-]{1,64}`.
pub fn client_id(stream: u32, seq: u64) -> String {
    format!("bench-{stream}-{seq}")
}

/// [`crate::payload::Extract`] for `ChatMessageReceived`: the payload is the message text of a
/// visitor message whose `client_id` matches it. Anyone else's message (a bot's reply, an
/// agent's) is foreign.
pub fn extract(data: &str) -> Found {
    #[derive(Deserialize)]
    struct Message {
        #[serde(default)]
        sender_type: String,
        #[serde(default)]
        message: String,
        #[serde(default)]
        client_id: Option<String>,
    }
    let Ok(message) = serde_json::from_str::<Message>(data) else {
        return Found::Garbled;
    };
    if message.sender_type != "visitor" {
        return Found::Foreign;
    }
    match Payload::decode(&message.message) {
        Some(p) if message.client_id.as_deref() == Some(client_id(p.c, p.s).as_str()) => {
            Found::Bench(p)
        }
        _ => Found::Garbled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broadcast(sender: &str, message: &str, client_id: Option<&str>) -> String {
        json!({
            "id": 41,
            "conversation_id": 7,
            "sender_type": sender,
            "sender_name": "bench",
            "message": message,
            "attachment_path": null,
            "is_voice": false,
            "timestamp": "2026-11-27T00:00:00Z",
            "client_id": client_id,
        })
        .to_string()
    }

    #[test]
    fn client_id_fits_parleys_rule() {
        let id = client_id(u32::MAX, u64::MAX);
        assert!(id.len() <= 64, "{id}");
        assert!(id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_ne!(client_id(1, 23), client_id(12, 3));
    }

    #[test]
    fn extracts_the_payload_of_a_benchmark_message() {
        let p = Payload { c: 3, s: 17, t: 99 };
        let data = broadcast("visitor", &p.encode(10), Some(&client_id(3, 17)));
        assert_eq!(extract(&data), Found::Bench(p));
    }

    #[test]
    fn other_senders_are_foreign_and_mismatches_garbled() {
        let p = Payload { c: 3, s: 17, t: 99 };
        assert_eq!(
            extract(&broadcast("bot", "Hi! How can we help?", None)),
            Found::Foreign
        );
        // The echo's client_id must be the one sent with this text.
        let wrong = broadcast("visitor", &p.encode(0), Some(&client_id(3, 18)));
        assert_eq!(extract(&wrong), Found::Garbled);
        assert_eq!(
            extract(&broadcast("visitor", "hello", Some("x"))),
            Found::Garbled
        );
        assert_eq!(extract("not json"), Found::Garbled);
    }

    #[test]
    fn the_bots_events_are_expected_on_the_channel() {
        assert_eq!(LISTEN.event, "ChatMessageReceived");
        assert!(LISTEN.also.contains(&"BotTyping"));
        assert!(LISTEN.also.contains(&"ConversationUpdated"));
        assert!(!LISTEN.also.contains(&"pusher:error"));
    }

    #[test]
    fn status_kinds() {
        assert_eq!(post_status_kind(200), "post_duplicate");
        assert_eq!(post_status_kind(429), "post_rate_limited");
        assert_eq!(post_status_kind(422), "post_rejected");
        assert_eq!(post_status_kind(503), "post_server_error");
        assert_eq!(post_status_kind(302), "post_unexpected_status");
    }

    #[test]
    fn reads_the_reverb_block_of_the_config() {
        let text = r#"{"reverb":{"enabled":true,"host":"127.0.0.1","key":"k1","port":40681,
            "scheme":"http"},"pusher":{"enabled":false,"key":null},"success":true}"#;
        assert_eq!(
            parse_realtime(text).unwrap(),
            RealtimeInfo {
                key: "k1".into(),
                host: Some("127.0.0.1".into()),
                port: 40681
            }
        );
        let polling = r#"{"reverb":{"enabled":false,"key":null,"port":null}}"#;
        assert!(parse_realtime(polling).is_err());
        assert!(parse_realtime("[]").is_err());
    }

    #[test]
    fn visitor_channel_name() {
        let v = Visitor {
            conversation: 12,
            token: "cbv_x".into(),
        };
        assert_eq!(v.channel(), "private-chat.conversation.12");
    }
}
