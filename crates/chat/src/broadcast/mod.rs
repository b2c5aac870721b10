//! How the chat service tells browsers something happened: a [`Broadcaster`] publishes an event
//! to a channel, after the change it announces is committed. Drivers, chosen by
//! `BROADCAST_CONNECTION` as in Laravel:
//!
//! - `reverb`: the embedded realtime server, in-process (its driver lives where the two meet, in
//!   the `parley` command); or, when Parley is told not to embed one, an external
//!   Reverb-compatible server over the signed HTTP API ([`PusherHttp`]);
//! - `pusher`: hosted Pusher or any compatible server over the HTTP API ([`PusherHttp`]);
//! - `log`: writes events to the log ([`LogBroadcaster`]);
//! - `null`: drops them ([`NullBroadcaster`]).
//!
//! Broadcasting is at most once. A failure is logged and counted, never returned to the visitor:
//! the message is already stored and clients gap-fill with `?after=`.

mod pusher_http;
mod queue;

use async_trait::async_trait;
pub use pusher_http::PusherHttp;
pub use queue::BroadcastQueue;

/// Why an event could not be broadcast.
#[derive(Debug, thiserror::Error)]
pub enum BroadcastError {
    /// The realtime server refused the event (bad channel, too large…).
    #[error("rejected: {0}")]
    Rejected(String),
    /// The realtime server could not be reached or answered with an error.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

/// One event for one or more channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broadcast {
    /// The channels, e.g. `private-chat.conversation.7`: at least one, at most
    /// [`MAX_CHANNELS_PER_EVENT`].
    pub channels: Vec<String>,
    /// The event name, e.g. `ChatMessageReceived`.
    pub event: String,
    /// The JSON payload, as a string.
    pub data: String,
    /// A socket to leave out (`X-Socket-ID`, Laravel's `toOthers`).
    pub except_socket: Option<String>,
}

/// The most channels one event may name: Pusher's limit, which every compatible server keeps.
pub const MAX_CHANNELS_PER_EVENT: usize = 100;

/// The most events one batch may carry (Pusher's `batch_events` limit).
pub const MAX_EVENTS_PER_BATCH: usize = 10;

/// Publishes events to browsers.
#[async_trait]
pub trait Broadcaster: Send + Sync + std::fmt::Debug + 'static {
    /// Publishes one event.
    async fn broadcast(&self, event: Broadcast) -> Result<(), BroadcastError>;
    /// Publishes events in order (at most [`MAX_EVENTS_PER_BATCH`]); drivers that can send them
    /// in one request do. Returns the first failure; events after a failed request may or may not
    /// have been published (broadcasting is at most once either way).
    async fn broadcast_batch(&self, events: Vec<Broadcast>) -> Result<(), BroadcastError> {
        let mut first_error = None;
        for event in events {
            if let Err(error) = self.broadcast(event).await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
    /// The channels starting with `prefix` that have subscribers now, for events meant for
    /// everyone listening (agent availability). Drivers that cannot tell return none.
    async fn occupied_channels(&self, prefix: &str) -> Result<Vec<String>, BroadcastError> {
        let _ = prefix;
        Ok(Vec::new())
    }
    /// The driver's name, for logs and the config endpoint.
    fn name(&self) -> &'static str;
}

/// Logs each event instead of sending it.
#[derive(Debug, Clone, Default)]
pub struct LogBroadcaster;

#[async_trait]
impl Broadcaster for LogBroadcaster {
    async fn broadcast(&self, event: Broadcast) -> Result<(), BroadcastError> {
        tracing::info!(channels = ?event.channels, event = %event.event, data = %event.data, "broadcast");
        Ok(())
    }

    fn name(&self) -> &'static str {
        "log"
    }
}

/// Drops every event.
#[derive(Debug, Clone, Default)]
pub struct NullBroadcaster;

#[async_trait]
impl Broadcaster for NullBroadcaster {
    async fn broadcast(&self, _event: Broadcast) -> Result<(), BroadcastError> {
        Ok(())
    }

    fn name(&self) -> &'static str {
        "null"
    }
}
