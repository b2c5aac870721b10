//! The ordered queue between the chat service and its broadcaster: operations queue events
//! without waiting, and one task publishes them in the order their changes were committed.
//!
//! One task rather than a publish per request: a slow or down broadcaster then costs queue
//! space, never a visitor's send, and events cannot overtake each other on the way out.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Broadcast, Broadcaster, MAX_CHANNELS_PER_EVENT, MAX_EVENTS_PER_BATCH};
use crate::payload;

/// Events waiting to be broadcast. Beyond this they are dropped and logged; clients gap-fill.
const BROADCAST_QUEUE: usize = 10_000;

/// A handle on the queue; clones share it.
#[derive(Debug, Clone)]
pub struct BroadcastQueue {
    sender: mpsc::Sender<Broadcast>,
    max_event_bytes: usize,
}

impl BroadcastQueue {
    /// Starts the task that drains the queue into `broadcaster` (it ends when the last handle
    /// is dropped). Event data over `max_event_bytes` is cut down ([`payload::fitted`]).
    pub fn start(broadcaster: Arc<dyn Broadcaster>, max_event_bytes: usize) -> Self {
        let (sender, queue) = mpsc::channel(BROADCAST_QUEUE);
        tokio::spawn(drain(queue, broadcaster));
        Self {
            sender,
            max_event_bytes,
        }
    }

    /// Queues an event for several channels (at most [`MAX_CHANNELS_PER_EVENT`]) without
    /// waiting: one publish, one serialisation.
    pub fn send(
        &self,
        channels: Vec<String>,
        event: &str,
        data: &impl serde::Serialize,
        except_socket: Option<String>,
    ) {
        debug_assert!(!channels.is_empty() && channels.len() <= MAX_CHANNELS_PER_EVENT);
        let data = payload::fitted(event, data, self.max_event_bytes);
        let broadcast = Broadcast {
            channels,
            event: event.to_string(),
            data,
            except_socket,
        };
        if let Err(error) = self.sender.try_send(broadcast) {
            tracing::warn!(%error, "broadcast queue full or closed; event dropped (clients will gap-fill)");
        }
    }
}

/// Publishes queued events in order. Whatever queued up while the last publish was in flight
/// goes as one batch: over HTTP, a visitor's message and its inbox update become one request.
async fn drain(mut queue: mpsc::Receiver<Broadcast>, broadcaster: Arc<dyn Broadcaster>) {
    let mut batch = Vec::with_capacity(MAX_EVENTS_PER_BATCH);
    while queue.recv_many(&mut batch, MAX_EVENTS_PER_BATCH).await > 0 {
        let events = std::mem::take(&mut batch);
        let count = events.len();
        if let Err(error) = broadcaster.broadcast_batch(events).await {
            tracing::warn!(driver = broadcaster.name(), count, %error, "broadcast failed; clients will gap-fill");
        }
    }
}
