//! Outbound webhooks: conversations' events POSTed to the team's other systems (a CRM, a
//! ticketing tool, Slack through a relay), signed as the bot webhook is.
//!
//! # Events and bodies
//! `conversation.created`, `message.created`, `conversation.status_changed`,
//! `conversation.assigned` and `conversation.rated` (and `ping`, a test an admin asks for). A
//! webhook takes every event or the ones it lists, of every widget or of one. Each POST is
//! `{"event", "created_at", "data"}` (see [`body`]) with `X-Parley-Timestamp` (Unix seconds) and
//! `X-Parley-Signature: sha256=HMAC-SHA256(secret, "{timestamp}.{body}")` in hex
//! ([`parley_bot::sign_webhook`]; receivers check with [`parley_bot::verify_webhook`] or the
//! same three lines as for the bot webhook), plus `X-Parley-Event` and `X-Parley-Delivery` (the
//! delivery's id, the same on every attempt).
//!
//! # Durable and in order
//! The store inserts one delivery per webhook that wants an event in the transaction of the
//! change itself (see `parley_store::webhooks`), so a committed change always has its
//! deliveries and a failed one has none. Every node runs [`start`]'s worker: it claims a
//! delivery with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL), writes its body from the
//! store as it is then (the event's own facts, a status or assignee change, are kept from the
//! moment of the change), and POSTs it with bounded connect and overall timeouts, no
//! redirects, and at most a short snippet of the answer kept. A conversation's deliveries to
//! one webhook go one at a time in the order their changes committed: a later one waits while
//! an earlier one is pending or being sent.
//!
//! # Retries, and never twice after a 2xx
//! Any answer but a 2xx, or none (refused, timed out), is retried with exponential back-off
//! ([`RunnerConfig::retry_base`] doubling up to [`RunnerConfig::retry_max`], with a little
//! jitter) until the event is [`RunnerConfig::max_age`] old (24 h), then the delivery is
//! `failed` and the conversation's next one goes. A 2xx is recorded as `delivered` and never
//! sent again. A delivery whose worker stopped while sending (its lease ran out) may have been
//! received, so it ends `unknown` and is not sent again either: a receiver never sees an event
//! twice, at the price of possibly missing one if a node dies in the middle of a POST. A node
//! that shuts down finishes the POSTs it started first. Tests (`ping`) are tried once.
//!
//! # Where they may point
//! Only `http` and `https` URLs, without credentials in them. Any host is allowed, private
//! addresses included (a CRM on the office network is a fair target): webhooks are made by
//! admins and the server's operator, who are trusted as they are with bot settings, and only
//! they see the log's snippet of an answer.

pub mod body;
mod runner;

use parley_store::{NewWebhook, Store, StoreError, Webhook, WebhookDelivery, WEBHOOK_EVENTS};
use rand::{distr::Alphanumeric, Rng};
use serde_json::{json, Value};

pub use runner::{start, RunnerConfig};

use crate::{error::ApiError, service::ChatService, text};

/// The longest webhook URL.
pub const MAX_URL_CHARS: usize = 2000;

/// A new signing secret: `whsec_` and 48 random alphanumerics (~285 bits). Stored as it is:
/// signing needs it.
pub fn new_secret() -> String {
    let random: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(48)
        .map(char::from)
        .collect();
    format!("whsec_{random}")
}

/// A webhook's URL, trimmed: `http://` or `https://` with a host, no user name or password (the
/// signature is the credential, and URLs are listed), at most [`MAX_URL_CHARS`].
pub fn check_url(url: &str) -> Result<String, ApiError> {
    let url = url.trim();
    if url.is_empty() || url.chars().count() > MAX_URL_CHARS {
        return Err(ApiError::Validation(format!(
            "url must be 1-{MAX_URL_CHARS} characters"
        )));
    }
    text::check("url", url)?;
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ApiError::Validation(format!("url is not a valid address: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ApiError::Validation(
            "url must start with https:// or http://".into(),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(ApiError::Validation("url must name a host".into()));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ApiError::Validation(
            "url must not hold a user name or password; deliveries are signed instead".into(),
        ));
    }
    Ok(url.to_string())
}

/// The events a webhook asks for, in the order of [`WEBHOOK_EVENTS`], each once; empty (or
/// every one of them) means every event.
pub fn check_events<S: AsRef<str>>(events: &[S]) -> Result<Vec<String>, ApiError> {
    for event in events {
        let event = event.as_ref().trim();
        if !WEBHOOK_EVENTS.contains(&event) {
            return Err(ApiError::Validation(format!(
                "unknown event {event:?}; events are {}",
                WEBHOOK_EVENTS.join(", ")
            )));
        }
    }
    let chosen: Vec<String> = WEBHOOK_EVENTS
        .iter()
        .filter(|known| events.iter().any(|e| e.as_ref().trim() == **known))
        .map(|known| known.to_string())
        .collect();
    if chosen.len() == WEBHOOK_EVENTS.len() {
        return Ok(Vec::new());
    }
    Ok(chosen)
}

/// Makes a webhook after checking its URL, events and widget (which must exist and not be
/// revoked): the webhook and its secret, which is shown only now. Used by the admin API and
/// the command line.
pub async fn create<S: AsRef<str>>(
    store: &dyn Store,
    url: &str,
    events: &[S],
    widget_id: Option<i64>,
) -> Result<(Webhook, String), ApiError> {
    let url = check_url(url)?;
    let events = check_events(events)?;
    if let Some(id) = widget_id {
        match store.widget(id).await? {
            Some(widget) if widget.revoked_at.is_none() => {}
            _ => return Err(ApiError::NotFound("widget")),
        }
    }
    let secret = new_secret();
    let webhook = store
        .create_webhook(NewWebhook {
            url,
            events,
            widget_id,
            secret: secret.clone(),
        })
        .await
        .map_err(|error| match error {
            StoreError::NotFound(_) => ApiError::NotFound("widget"),
            other => other.into(),
        })?;
    Ok((webhook, secret))
}

/// A webhook as admins see it (never its secret).
pub fn webhook_json(webhook: &Webhook) -> Value {
    json!({
        "id": webhook.id,
        "url": webhook.url,
        "events": webhook.events,
        "all_events": webhook.events.is_empty(),
        "widget_id": webhook.widget_id,
        "enabled": webhook.disabled_at.is_none(),
        "created_at": webhook.created_at,
        "disabled_at": webhook.disabled_at,
    })
}

/// A delivery as the log shows it.
pub fn delivery_json(delivery: &WebhookDelivery) -> Value {
    json!({
        "id": delivery.id,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event,
        "conversation_id": delivery.conversation_id,
        "message_id": delivery.message_id,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "last_attempt_at": delivery.last_attempt_at,
        "next_attempt_at": (!delivery.state.is_final()).then_some(delivery.next_attempt_at),
        "delivered_at": delivery.delivered_at,
        "response_code": delivery.response_code,
        "response_snippet": delivery.response_snippet,
        "duration_ms": delivery.duration_ms,
        "error": delivery.last_error,
    })
}

impl ChatService {
    /// Tells this node's webhook worker to look for deliveries now (a change was committed with
    /// some, perhaps); other nodes find them at their next look.
    pub fn wake_webhooks(&self) {
        self.webhook_wakeup.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_or_https_without_credentials() {
        assert_eq!(
            check_url("  https://crm.example/hooks?x=1 ").unwrap(),
            "https://crm.example/hooks?x=1"
        );
        assert!(check_url("http://10.0.0.5:8080/in").is_ok());
        for bad in [
            "",
            "crm.example/hooks",
            "ftp://crm.example/x",
            "file:///etc/passwd",
            "javascript:alert(1)",
            "https://user:pass@crm.example/x",
            "https://user@crm.example/x",
            "http://",
            "https://crm.example/\u{7}",
        ] {
            assert!(check_url(bad).is_err(), "{bad:?}");
        }
        assert!(check_url(&format!("https://x.example/{}", "a".repeat(2000))).is_err());
    }

    #[test]
    fn events_are_known_names_in_one_order() {
        assert_eq!(check_events::<&str>(&[]).unwrap(), Vec::<String>::new());
        assert_eq!(
            check_events(&["conversation.rated", "message.created", "message.created"]).unwrap(),
            vec!["message.created", "conversation.rated"]
        );
        assert_eq!(check_events(&WEBHOOK_EVENTS).unwrap(), Vec::<String>::new());
        assert!(check_events(&["message.deleted"]).is_err());
        assert!(check_events(&["ping"]).is_err());
    }

    #[test]
    fn secrets_are_long_and_fresh() {
        let secret = new_secret();
        assert!(secret.starts_with("whsec_") && secret.len() == 54);
        assert_ne!(secret, new_secret());
    }
}
