//! The webhook bot: each visitor message is POSTed, signed, to an external bot, which answers
//! later through the chat API with its own token, or at once in the response body.
//!
//! Request: `{"type":"message.created","conversation_id","widget_id","message":{"sender_type",
//! "sender_name","message"},"history":[{"role","text"}],"bot_turns","unsure_count"}` with
//! `X-Parley-Timestamp: <unix seconds>` and `X-Parley-Signature: sha256=<hex>` (see
//! [`crate::sign_webhook`]). Response: any 2xx means received ([`Reply::Deferred`]); a JSON body
//! `{"reply": "text"}` is answered at once ([`Reply::Answer`]). Anything else (non-2xx, no answer
//! within `timeout_secs`, a redirect) is an error, so the caller hands off rather than leaving
//! the visitor waiting on a bot that is down. Redirects are not followed: a POST turned into a
//! GET elsewhere would lose the body, and the signed payload should go only where configured.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio::time::timeout;

use crate::llm::status_error;
use crate::settings::non_empty;
use crate::signing::{sign_webhook, SIGNATURE_HEADER, TIMESTAMP_HEADER};
use crate::{visitor_handoff, Bot, BotError, BotSettings, Reply, Turn};

const DEFAULT_TIMEOUT_SECS: f64 = 10.0;
/// The most of a response body read for a synchronous reply.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

pub struct WebhookBot {
    settings: BotSettings,
    url: String,
    secret: String,
    timeout: Duration,
    http: reqwest::Client,
}

impl WebhookBot {
    pub fn new(settings: &BotSettings) -> Result<Self, BotError> {
        let url = non_empty(&settings.url)
            .ok_or_else(|| BotError::Config("the webhook bot needs url".into()))?;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(BotError::Config(format!(
                "url must start with http:// or https://, not {url:?}"
            )));
        }
        let secret = non_empty(&settings.secret)
            .ok_or_else(|| BotError::Config("the webhook bot needs secret".into()))?;
        let timeout = settings.timeout(DEFAULT_TIMEOUT_SECS)?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?;
        Ok(WebhookBot {
            url: url.to_owned(),
            secret: secret.to_owned(),
            timeout,
            http,
            settings: settings.clone(),
        })
    }

    /// The event sent for a turn.
    pub fn event_body(turn: &Turn) -> Value {
        json!({
            "type": "message.created",
            "conversation_id": turn.conversation_id,
            "widget_id": turn.widget_id,
            "message": {
                "sender_type": "visitor",
                "sender_name": turn.visitor_name,
                "message": turn.message,
            },
            "history": turn.history,
            "bot_turns": turn.bot_turns,
            "unsure_count": turn.unsure_count,
        })
    }

    async fn post(&self, turn: &Turn) -> Result<Reply, BotError> {
        let body = serde_json::to_vec(&Self::event_body(turn))
            .map_err(|e| BotError::Upstream(format!("encoding the event: {e}")))?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        let signature = sign_webhook(&self.secret, now, &body);
        let request = self
            .http
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, now.to_string())
            .header(SIGNATURE_HEADER, format!("sha256={signature}"))
            .body(body)
            .timeout(self.timeout)
            .send();
        let response = timeout(self.timeout, request)
            .await
            .map_err(|_| BotError::Timeout)?
            .map_err(|e| {
                if e.is_timeout() {
                    BotError::Timeout
                } else {
                    BotError::Upstream(format!("webhook request failed: {e}"))
                }
            })?;
        let status = response.status();
        // The status already says whether the event was accepted; a body that cannot be read
        // in time only loses the optional synchronous reply, so it reads as empty.
        let body = timeout(self.timeout, response.bytes())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
            return Err(BotError::Upstream(format!(
                "webhook answered {}",
                status_error(status, Some(&text))
            )));
        }
        Ok(synchronous_reply(
            &body[..body.len().min(MAX_RESPONSE_BYTES)],
        ))
    }
}

/// `{"reply": "text"}` answers now; any other 2xx body (empty, "ok", other JSON) defers.
fn synchronous_reply(body: &[u8]) -> Reply {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("reply")?.as_str().map(str::trim).map(str::to_owned))
        .filter(|text| !text.is_empty())
        .map_or(Reply::Deferred, |text| Reply::Answer { text })
}

#[async_trait]
impl Bot for WebhookBot {
    async fn reply(&self, turn: &Turn) -> Result<Reply, BotError> {
        if let Some(handoff) = visitor_handoff(&self.settings, turn) {
            return Ok(handoff);
        }
        self.post(turn).await
    }

    fn greeting(&self) -> Option<String> {
        self.settings.greeting_or("")
    }
}

impl fmt::Debug for WebhookBot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookBot")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
