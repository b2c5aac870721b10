//! Webhooks: lifecycle events POSTed to each app's endpoints, signed, batched, delayed where
//! Pusher delays them, and retried with back-off. Nothing here runs on the publish path: the hub
//! hands events over with a non-blocking `try_send` and a worker task per app does the rest.
//!
//! On one node the worker itself delays `channel_vacated`/`member_removed` and drops them when
//! the channel or member comes back in time. In a cluster that decision spans nodes (a member
//! may leave on one and come back on another), so it is taken in Redis ([`crate::cluster`]) and
//! what comes out of it is handed over [`Webhooks::emit_decided`], sent as it is.

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use parley_protocol::{signature::hmac_hex, ChannelName};
use serde::Serialize;
use tokio::{
    sync::{mpsc, Semaphore},
    time::Instant,
};
use tokio_util::sync::CancellationToken;

use crate::{
    config::{AppConfig, WebhookConfig},
    metrics::AppMetrics,
};

/// Events waiting for the worker. Beyond this the hub drops them (and counts a failure) rather
/// than wait: a stuck webhook endpoint must never slow a subscribe.
const QUEUE: usize = 10_000;
/// Most events in one POST.
const MAX_BATCH: usize = 100;
/// Deliveries in flight per app, retries included.
const MAX_IN_FLIGHT: usize = 16;
/// Pusher retries a failing endpoint for five minutes.
const RETRY_FOR: Duration = Duration::from_secs(300);

/// One webhook event, in the shape Pusher sends.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `channel_occupied`, `member_added`, …
    pub name: &'static str,
    /// The channel.
    pub channel: String,
    /// Presence and client events: the user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Client events: the event name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// Client events: the data, as a JSON string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Client events: the sender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_id: Option<String>,
}

impl WebhookEvent {
    /// A channel-level event (`channel_occupied`, `channel_vacated`, `cache_miss`).
    pub fn channel(channel: &ChannelName, name: &'static str) -> Self {
        Self {
            name,
            channel: channel.to_string(),
            user_id: None,
            event: None,
            data: None,
            socket_id: None,
        }
    }

    /// `member_added` or `member_removed`.
    pub fn member(channel: &ChannelName, name: &'static str, user_id: &str) -> Self {
        Self {
            user_id: Some(user_id.to_string()),
            ..Self::channel(channel, name)
        }
    }

    /// A channel-level or member event for a channel known by name only (decided in Redis).
    pub(crate) fn named(name: &'static str, channel: String, user_id: Option<String>) -> Self {
        Self {
            name,
            channel,
            user_id,
            event: None,
            data: None,
            socket_id: None,
        }
    }

    /// `client_event`.
    pub fn client_event(
        channel: &ChannelName,
        event: &str,
        data: String,
        socket_id: String,
        user_id: Option<String>,
    ) -> Self {
        Self {
            event: Some(event.to_string()),
            data: Some(data),
            socket_id: Some(socket_id),
            user_id,
            ..Self::channel(channel, "client_event")
        }
    }

    fn delayed(&self) -> bool {
        matches!(self.name, "channel_vacated" | "member_removed")
    }

    /// The delayed event this one cancels: a quick re-occupy cancels the vacate (and is itself
    /// not sent), as a quick re-join cancels the member_removed.
    fn cancels(&self) -> Option<(&'static str, &str, Option<&str>)> {
        match self.name {
            "channel_occupied" => Some(("channel_vacated", &self.channel, None)),
            "member_added" => Some(("member_removed", &self.channel, self.user_id.as_deref())),
            _ => None,
        }
    }
}

/// The hub's handle to an app's webhook worker. Cheap to clone; a no-op without endpoints.
#[derive(Debug, Clone, Default)]
pub struct Webhooks {
    sender: Option<mpsc::Sender<Queued>>,
    metrics: Option<AppMetrics>,
}

/// An event on its way to the worker.
#[derive(Debug)]
struct Queued {
    event: WebhookEvent,
    /// Whether it was delayed and checked against a quick return already (in Redis, for the
    /// cluster): then the worker sends it as it is.
    decided: bool,
}

impl Webhooks {
    /// Hands an event to the worker without waiting.
    pub fn emit(&self, event: WebhookEvent) {
        self.queue(Queued {
            event,
            decided: false,
        });
    }

    /// Hands over an event whose delay and cancellation were decided elsewhere (the cluster's
    /// shared state): the worker sends it with the next batch, neither delayed nor cancelled.
    pub(crate) fn emit_decided(&self, event: WebhookEvent) {
        self.queue(Queued {
            event,
            decided: true,
        });
    }

    fn queue(&self, queued: Queued) {
        if let Some(sender) = &self.sender {
            if sender.try_send(queued).is_err() {
                if let Some(metrics) = &self.metrics {
                    metrics.webhook_failures.inc();
                }
            }
        }
    }

    /// Whether the app has any endpoint (so callers can skip building events).
    pub fn enabled(&self) -> bool {
        self.sender.is_some()
    }
}

/// Starts the worker for `app` if it has endpoints.
pub fn start(
    app: &AppConfig,
    delay: Duration,
    metrics: AppMetrics,
    client: reqwest::Client,
    shutdown: CancellationToken,
) -> Webhooks {
    if app.webhooks.is_empty() {
        return Webhooks::default();
    }
    let (sender, receiver) = mpsc::channel(QUEUE);
    let worker = Worker {
        key: app.key.clone(),
        secret: app.secret.clone(),
        endpoints: app.webhooks.clone(),
        delay,
        metrics: metrics.clone(),
        client,
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
    };
    tokio::spawn(worker.run(receiver, shutdown));
    Webhooks {
        sender: Some(sender),
        metrics: Some(metrics),
    }
}

struct Worker {
    key: String,
    secret: String,
    endpoints: Vec<WebhookConfig>,
    delay: Duration,
    metrics: AppMetrics,
    client: reqwest::Client,
    in_flight: Arc<Semaphore>,
}

impl Worker {
    async fn run(self, mut receiver: mpsc::Receiver<Queued>, shutdown: CancellationToken) {
        let mut delayed: Vec<(Instant, WebhookEvent)> = Vec::new();
        loop {
            let next_due = delayed.iter().map(|(due, _)| *due).min();
            let mut ready = Vec::new();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                received = receiver.recv() => {
                    let Some(event) = received else { return };
                    self.accept(event, &mut delayed, &mut ready);
                    // Whatever else is already waiting joins this batch: batching without
                    // adding latency.
                    while ready.len() < MAX_BATCH {
                        let Ok(event) = receiver.try_recv() else { break };
                        self.accept(event, &mut delayed, &mut ready);
                    }
                }
                _ = sleep_until_opt(next_due) => {}
            }
            let now = Instant::now();
            let (due, waiting): (Vec<_>, Vec<_>) =
                delayed.into_iter().partition(|(at, _)| *at <= now);
            delayed = waiting;
            ready.extend(due.into_iter().map(|(_, event)| event));
            if !ready.is_empty() {
                self.dispatch(ready);
            }
        }
    }

    fn accept(
        &self,
        Queued { event, decided }: Queued,
        delayed: &mut Vec<(Instant, WebhookEvent)>,
        ready: &mut Vec<WebhookEvent>,
    ) {
        if decided {
            ready.push(event);
            return;
        }
        if let Some((name, channel, user)) = event.cancels() {
            let before = delayed.len();
            delayed.retain(|(_, e)| {
                !(e.name == name && e.channel == channel && e.user_id.as_deref() == user)
            });
            if delayed.len() != before {
                return;
            }
        }
        if event.delayed() && !self.delay.is_zero() {
            delayed.push((Instant::now() + self.delay, event));
        } else {
            ready.push(event);
        }
    }

    fn dispatch(&self, events: Vec<WebhookEvent>) {
        for endpoint in &self.endpoints {
            let wanted: Vec<&WebhookEvent> = events
                .iter()
                .filter(|e| {
                    endpoint.event_types.is_empty()
                        || endpoint.event_types.iter().any(|t| t == e.name)
                })
                .filter(|e| {
                    endpoint
                        .channel_prefix
                        .as_deref()
                        .is_none_or(|p| e.channel.starts_with(p))
                })
                .collect();
            for chunk in wanted.chunks(MAX_BATCH) {
                let time_ms = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let body =
                    serde_json::to_vec(&serde_json::json!({ "time_ms": time_ms, "events": chunk }))
                        .expect("webhook bodies serialise");
                let delivery = Delivery {
                    url: endpoint.url.clone(),
                    signature: hmac_hex(&self.secret, &body),
                    key: self.key.clone(),
                    body,
                };
                let (client, metrics, in_flight) = (
                    self.client.clone(),
                    self.metrics.clone(),
                    self.in_flight.clone(),
                );
                tokio::spawn(async move {
                    let Ok(_permit) = in_flight.acquire_owned().await else {
                        return;
                    };
                    delivery.send_with_retries(&client, &metrics).await;
                });
            }
        }
    }
}

struct Delivery {
    url: String,
    key: String,
    signature: String,
    body: Vec<u8>,
}

impl Delivery {
    async fn send_with_retries(&self, client: &reqwest::Client, metrics: &AppMetrics) {
        let give_up = Instant::now() + RETRY_FOR;
        let mut backoff = Duration::from_secs(1);
        loop {
            let sent = client
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("X-Pusher-Key", &self.key)
                .header("X-Pusher-Signature", &self.signature)
                .body(self.body.clone())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {
                    metrics.webhooks_sent.inc();
                    return;
                }
                Ok(response) => {
                    tracing::warn!(url = %self.url, status = %response.status(), "webhook refused")
                }
                Err(error) => tracing::warn!(url = %self.url, %error, "webhook failed"),
            }
            metrics.webhook_failures.inc();
            if Instant::now() + backoff > give_up {
                tracing::error!(url = %self.url, "webhook dropped after retrying for 5 minutes");
                return;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(60));
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
