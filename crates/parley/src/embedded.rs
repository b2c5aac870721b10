//! Where the chat service meets the embedded realtime server: the `reverb` broadcaster as an
//! in-process call, and the revocation watcher's way of closing sockets. Neither crate knows the
//! other; this composition root is the only place that holds both.

use async_trait::async_trait;
use parley_chat::{
    broadcast::{Broadcast, BroadcastError, Broadcaster},
    revocation::SocketCloser,
};
use parley_protocol::SocketId;
use parley_realtime::Realtime;

/// The embedded realtime server, publishing as one app: no HTTP, no signing.
#[derive(Debug, Clone)]
pub struct Embedded {
    realtime: Realtime,
    app_id: String,
}

impl Embedded {
    /// Publishes into `realtime` as app `app_id`.
    pub fn new(realtime: Realtime, app_id: impl Into<String>) -> Self {
        Self {
            realtime,
            app_id: app_id.into(),
        }
    }
}

#[async_trait]
impl Broadcaster for Embedded {
    async fn broadcast(&self, event: Broadcast) -> Result<(), BroadcastError> {
        self.realtime
            .publish(
                &self.app_id,
                &event.channels,
                &event.event,
                event.data,
                event.except_socket.as_deref(),
            )
            .map(|_| ())
            .map_err(|error| BroadcastError::Rejected(error.to_string()))
    }

    async fn occupied_channels(&self, prefix: &str) -> Result<Vec<String>, BroadcastError> {
        Ok(self.realtime.occupied_channels(&self.app_id, prefix))
    }

    fn name(&self) -> &'static str {
        "reverb"
    }
}

/// The embedded server closes a revoked identity's sockets, on every node it is clustered with.
impl SocketCloser for Embedded {
    fn close_channel(&self, channel: &str, reason: &str) {
        self.realtime.close_channel(&self.app_id, channel, reason);
    }

    fn close_sockets(&self, sockets: &[SocketId], reason: &str) {
        self.realtime.close_sockets(&self.app_id, sockets, reason);
    }

    fn reconnect_sockets(&self, sockets: &[SocketId], reason: &str) {
        self.realtime
            .reconnect_sockets(&self.app_id, sockets, reason);
    }
}

#[cfg(test)]
mod tests {
    use parley_realtime::{AppConfig, RealtimeConfig};

    use super::*;

    fn embedded(app_id: &str) -> Embedded {
        let realtime = Realtime::new(RealtimeConfig {
            apps: vec![AppConfig::new("1", "key", "secret")],
            ..RealtimeConfig::default()
        })
        .expect("valid config");
        Embedded::new(realtime, app_id)
    }

    fn event(channel: &str) -> Broadcast {
        Broadcast {
            channels: vec![channel.into()],
            event: "ChatMessageReceived".into(),
            data: "{}".into(),
            except_socket: None,
        }
    }

    #[tokio::test]
    async fn publishes_in_process_and_reports_refusals() {
        let driver = embedded("1");
        driver
            .broadcast(event("private-chat.conversation.1"))
            .await
            .expect("a valid event to a channel nobody holds is accepted");
        let refused = driver.broadcast(event("bad channel")).await;
        assert!(
            matches!(refused, Err(BroadcastError::Rejected(_))),
            "{refused:?}"
        );
        let unknown_app = embedded("2").broadcast(event("private-x")).await;
        assert!(
            matches!(unknown_app, Err(BroadcastError::Rejected(_))),
            "{unknown_app:?}"
        );
        assert_eq!(
            driver
                .occupied_channels("private-chat.")
                .await
                .expect("in process"),
            Vec::<String>::new()
        );
        assert_eq!(driver.name(), "reverb");
    }
}
