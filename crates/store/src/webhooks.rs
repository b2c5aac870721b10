//! Outbound webhooks: where the team's other systems want to hear about conversations, and the
//! durable queue of deliveries to them.
//!
//! Deliveries are inserted by the store itself, in the transaction of the change they announce:
//! a new conversation ([`crate::Store::create_conversation`]), a new message
//! ([`crate::Store::insert_message`], not for a repeated `client_id`), a change of status or of
//! assignee ([`crate::Store::update_conversation`]) and a rating ([`crate::Ratings::rate`]).
//! So a change is never committed without its deliveries, nor a delivery without its change.
//! Each of those transactions first locks the conversation's row (SQLite's single writer does
//! it for the whole database), so one conversation's deliveries get ids in the order their
//! changes committed, and [`Webhooks::claim_webhook_delivery`] sends them in that order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A conversation started.
pub const CONVERSATION_CREATED: &str = "conversation.created";
/// A message was stored in a conversation (the visitor's, an agent's, a bot's).
pub const MESSAGE_CREATED: &str = "message.created";
/// A conversation's status changed (`bot`, `human`, `closed`).
pub const CONVERSATION_STATUS_CHANGED: &str = "conversation.status_changed";
/// A conversation's assignee changed (to an agent, or to nobody).
pub const CONVERSATION_ASSIGNED: &str = "conversation.assigned";
/// The visitor rated the conversation.
pub const CONVERSATION_RATED: &str = "conversation.rated";
/// Every event a webhook may ask for.
pub const WEBHOOK_EVENTS: [&str; 5] = [
    CONVERSATION_CREATED,
    MESSAGE_CREATED,
    CONVERSATION_STATUS_CHANGED,
    CONVERSATION_ASSIGNED,
    CONVERSATION_RATED,
];
/// A test delivery an admin asked for; every webhook gets it, whatever its events.
pub const PING_EVENT: &str = "ping";

/// A webhook: a URL that events are POSTed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Webhook {
    /// Id.
    pub id: i64,
    /// Where deliveries go (http or https).
    pub url: String,
    /// The events it wants; empty: every event.
    pub events: Vec<String>,
    /// Only this widget's conversations; `None`: every widget's.
    pub widget_id: Option<i64>,
    /// Signs each delivery; shown once, when made.
    #[serde(skip)]
    pub secret: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was disabled; a disabled webhook is given and sends nothing.
    pub disabled_at: Option<DateTime<Utc>>,
}

impl Webhook {
    /// Whether it wants `event`.
    pub fn wants(&self, event: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|e| e == event)
    }
}

/// What is needed to make a webhook.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where deliveries go, already checked.
    pub url: String,
    /// Event names from [`WEBHOOK_EVENTS`], already checked; empty: every event.
    pub events: Vec<String>,
    /// Only this widget's conversations.
    pub widget_id: Option<i64>,
    /// The signing secret.
    pub secret: String,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its time (the first try or a retry), or for an earlier delivery of its
    /// conversation.
    Pending,
    /// Claimed by a worker, which may be waiting for the receiver's answer.
    Sending,
    /// The receiver answered 2xx. Never sent again.
    Delivered,
    /// Given up: the receiver kept failing for the whole retry window (or a test failed once).
    Failed,
    /// Its worker stopped while sending, so the receiver may have had it; never sent again.
    Unknown,
}

impl DeliveryState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "sending" => Some(Self::Sending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }

    /// Whether nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Unknown)
    }
}

/// One event for one webhook, and how sending it went.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookDelivery {
    /// Id (sent as `X-Parley-Delivery`, the same on every attempt).
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// The event's name ([`WEBHOOK_EVENTS`] or [`PING_EVENT`]).
    pub event: String,
    /// The conversation it is about (none for a test).
    pub conversation_id: Option<i64>,
    /// The message it is about (`message.created`).
    pub message_id: Option<i64>,
    /// The change's own facts, as they were when it was committed (a status change's
    /// `status` and `previous_status`, an assignment's `assigned_agent_id` and
    /// `previous_agent_id`).
    pub detail: serde_json::Value,
    /// Where it is.
    pub state: DeliveryState,
    /// How many times it has been claimed (sent, or about to be).
    pub attempts: i32,
    /// When it may be sent next (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// When it was last sent.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status, if it answered.
    pub response_code: Option<i64>,
    /// The start of the receiver's last answer (at most a few hundred characters).
    pub response_snippet: Option<String>,
    /// How long the last attempt took, in milliseconds.
    pub duration_ms: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// When the receiver answered 2xx.
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What an attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx: final.
    Delivered,
    /// Try again at this time; later deliveries of the same conversation to the same webhook
    /// wait until then too.
    RetryAt(DateTime<Utc>),
    /// Give up: final.
    Failed,
}

/// What is recorded about an attempt.
#[derive(Debug, Clone)]
pub struct DeliveryReport {
    /// What happens next.
    pub outcome: DeliveryOutcome,
    /// The receiver's HTTP status, if it answered.
    pub response_code: Option<u16>,
    /// The start of its answer.
    pub response_snippet: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: i64,
}

/// The webhooks and their deliveries.
#[async_trait]
pub trait Webhooks: Send + Sync {
    /// Makes a webhook; an unknown widget is a [`crate::StoreError::NotFound`].
    async fn create_webhook(&self, webhook: NewWebhook) -> Result<Webhook>;
    /// Every webhook, oldest first.
    async fn webhooks(&self) -> Result<Vec<Webhook>>;
    /// A webhook by id.
    async fn webhook(&self, id: i64) -> Result<Option<Webhook>>;
    /// Disables a webhook (at `now`) or enables it again; `None` if there is no such webhook.
    /// A disabled webhook's pending deliveries wait; enabled again, they go (those older than
    /// the retry window get one try).
    async fn set_webhook_disabled(
        &self,
        id: i64,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<Option<Webhook>>;
    /// Deletes a webhook and its deliveries, in one transaction; `false` if there was none.
    async fn delete_webhook(&self, id: i64) -> Result<bool>;
    /// Queues a [`PING_EVENT`] for a webhook that is not disabled; `None` if there is no such
    /// webhook or it is disabled.
    async fn enqueue_webhook_ping(&self, webhook_id: i64) -> Result<Option<WebhookDelivery>>;
    /// Ends the leases that ran out while sending (a worker stopped mid-way): those deliveries
    /// become [`DeliveryState::Unknown`] and are returned. Nothing is claimed from `sending`.
    async fn expire_webhook_deliveries(&self, now: DateTime<Utc>) -> Result<Vec<WebhookDelivery>>;
    /// Claims the delivery due first, leased until now + `lease`: pending and due, of a webhook
    /// that is not disabled, with no earlier delivery of the same conversation to the same
    /// webhook still pending or sending. Concurrent workers never get the same delivery, nor
    /// two of one conversation for one webhook at once.
    async fn claim_webhook_delivery(
        &self,
        lease: std::time::Duration,
    ) -> Result<Option<WebhookDelivery>>;
    /// Records the attempt a claim started (`attempt`: the claimed delivery's `attempts`);
    /// `false` if the delivery is gone or no longer that attempt's (its lease ran out and it
    /// became `unknown`; a 2xx still turns that into `delivered`).
    async fn finish_webhook_delivery(
        &self,
        id: i64,
        attempt: i32,
        report: &DeliveryReport,
    ) -> Result<bool>;
    /// A delivery by id.
    async fn webhook_delivery(&self, id: i64) -> Result<Option<WebhookDelivery>>;
    /// A webhook's deliveries with `id < before_id` (all when `None`), newest first, at most
    /// `limit`: the delivery log.
    async fn webhook_deliveries(
        &self,
        webhook_id: i64,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<WebhookDelivery>>;
    /// Deletes finished deliveries (delivered, failed, unknown) made before `before`; how many.
    async fn prune_webhook_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
}
