//! The realtime server as a library: [`Realtime`] is built from a configuration and handed to
//! [`crate::server`] to listen; an embedding process (`parley serve`) keeps a clone to publish
//! in process, close sockets it revoked, and join other nodes. [`Shared`] is what every
//! connection and request handler holds.

use std::sync::Arc;

use parley_protocol::{ErrorCode, SocketId};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    apps::{App, Apps},
    cluster::{self, link::ClusterSlot, ClusterError},
    config::{ConfigError, RealtimeConfig},
    metrics::Metrics,
    outbox::Flusher,
    publish::{self, PublishError},
};

/// What every connection and request handler shares.
#[derive(Debug)]
pub struct Shared {
    /// Server settings.
    pub config: RealtimeConfig,
    /// The apps.
    pub apps: Arc<Apps>,
    /// The way to the other nodes, once joined (every app holds the same slot).
    pub(crate) cluster: ClusterSlot,
    /// Metrics.
    pub metrics: Metrics,
    /// Cancelled when the server shuts down; every connection watches it.
    pub shutdown: CancellationToken,
    /// Every connection task, so shutdown can wait for them.
    pub(crate) tracker: TaskTracker,
    /// Writes what fan-out queues to sockets.
    pub(crate) flusher: Flusher,
}

/// A realtime server: built from a configuration, then served on a listener. Cloning gives
/// another handle to the same server (for in-process publishing).
#[derive(Debug, Clone)]
pub struct Realtime {
    pub(crate) shared: Arc<Shared>,
}

impl Realtime {
    /// Validates the configuration and starts the apps' webhook workers. Must be called inside
    /// a tokio runtime.
    pub fn new(config: RealtimeConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let metrics = Metrics::new();
        let shutdown = CancellationToken::new();
        let cluster = ClusterSlot::default();
        let apps = Arc::new(Apps::start(&config, &metrics, &cluster, &shutdown));
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                apps,
                cluster,
                metrics,
                shutdown,
                tracker: TaskTracker::new(),
                flusher: Flusher::per_core(),
            }),
        })
    }

    /// Publishes an event as the HTTP API would, without the HTTP: for an embedding process.
    pub fn publish(
        &self,
        app_id: &str,
        channels: &[String],
        event: &str,
        data: String,
        except_socket: Option<&str>,
    ) -> Result<usize, PublishError> {
        let app = self
            .shared
            .apps
            .by_id(app_id)
            .ok_or_else(|| PublishError::UnknownApp(app_id.to_string()))?;
        let event = publish::validate(app, event.to_string(), data, channels, except_socket)?;
        Ok(publish::deliver(app, &event))
    }

    /// Closes every connection of `user_id` in `app_id` with 4009, as the HTTP API's
    /// `terminate_connections` does.
    pub fn terminate_user(&self, app_id: &str, user_id: &str) {
        if let Some(app) = self.shared.apps.by_id(app_id) {
            terminate_user(app, user_id);
        }
    }

    /// Joins the other nodes that share Redis at `url` on the pub/sub channel `channel`: from
    /// then on, what this server delivers reaches their sockets and theirs reaches this one's,
    /// and presence, occupancy and their webhooks are the cluster's (kept in Redis under keys
    /// that start with `channel`). Returns once the subscription is live. Joining twice is
    /// refused.
    pub async fn join_cluster(&self, url: &str, channel: &str) -> Result<(), ClusterError> {
        if self.shared.cluster.get().is_some() {
            return Err(ClusterError::AlreadyJoined);
        }
        cluster::join(
            self.shared.apps.clone(),
            &self.shared.cluster,
            url,
            channel.to_string(),
            cluster::JoinSettings {
                dropped: self.shared.metrics.cluster_dropped(),
                webhook_delay: self.shared.config.webhook_delay,
                node_timeout: self.shared.config.cluster_node_timeout,
                shutdown: self.shared.shutdown.clone(),
            },
        )
        .await
    }

    /// Closes (with 4009 and `reason`) every socket subscribed to `channel` in `app_id`: for
    /// revoking access that was granted by a channel signature. Returns how many were closed.
    pub fn close_channel(&self, app_id: &str, channel: &str, reason: &str) -> usize {
        let Some(app) = self.shared.apps.by_id(app_id) else {
            return 0;
        };
        let Ok(channel) =
            parley_protocol::ChannelName::parse(channel, app.config.max_channel_name_length)
        else {
            return 0;
        };
        cluster::forward_close_channel(app, &channel, reason);
        let outboxes = app.hub.subscriber_outboxes(&channel);
        for outbox in &outboxes {
            outbox.close(ErrorCode::Unauthorized, reason);
        }
        outboxes.len()
    }

    /// Closes (with 4009 and `reason`) the sockets of `app_id` with these ids, here and on every
    /// other node, whatever channels they hold: for revoking an identity whose channel
    /// signatures were granted to those sockets. Returns how many were open here.
    pub fn close_sockets(&self, app_id: &str, sockets: &[SocketId], reason: &str) -> usize {
        let Some(app) = self.shared.apps.by_id(app_id) else {
            return 0;
        };
        close_sockets(app, sockets, reason, false)
    }

    /// Closes the sockets of `app_id` with these ids with 4200, here and on every other node, so
    /// that their clients reconnect at once and authorise their channels again: for an identity
    /// whose rights shrank (what it may still join, it joins again). Returns how many were open
    /// here.
    pub fn reconnect_sockets(&self, app_id: &str, sockets: &[SocketId], reason: &str) -> usize {
        let Some(app) = self.shared.apps.by_id(app_id) else {
            return 0;
        };
        close_sockets(app, sockets, reason, true)
    }

    /// The channels of `app_id` starting with `prefix` that have subscribers on this server.
    pub fn occupied_channels(&self, app_id: &str, prefix: &str) -> Vec<String> {
        self.shared
            .apps
            .by_id(app_id)
            .map(|app| {
                app.hub
                    .occupied(prefix)
                    .into_iter()
                    .map(|(channel, _)| channel.to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Closes the sockets with these ids with 4009 (or 4200 to have them `reconnect`): those open
/// here at once, the others on whichever node holds them.
pub(crate) fn close_sockets(
    app: &App,
    sockets: &[SocketId],
    reason: &str,
    reconnect: bool,
) -> usize {
    let here = app.outboxes_of(sockets);
    let code = if reconnect {
        ErrorCode::Reconnect
    } else {
        ErrorCode::Unauthorized
    };
    for (_, outbox) in &here {
        outbox.close(code, reason);
    }
    let elsewhere: Vec<SocketId> = sockets
        .iter()
        .filter(|id| !here.iter().any(|(open, _)| open == *id))
        .copied()
        .collect();
    cluster::forward_close_sockets(app, &elsewhere, reason, reconnect);
    here.len()
}

/// Closes `user_id`'s sockets here and on every other node with 4009.
pub(crate) fn terminate_user(app: &App, user_id: &str) {
    cluster::forward_terminate(app, user_id);
    for outbox in app.hub.signed_in_outboxes(user_id) {
        outbox.close(ErrorCode::Unauthorized, "You got disconnected by the app.");
    }
}
