//! The apps a server serves, looked up by key (WebSocket) or id (HTTP API), each with its live
//! hub, metrics, connection count and open sockets by id.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use parley_protocol::SocketId;
use tokio_util::sync::CancellationToken;

use crate::{
    cluster::link::ClusterSlot,
    config::{AppConfig, RealtimeConfig},
    hub::Hub,
    metrics::{AppMetrics, Metrics},
    outbox::Outbox,
    webhooks,
};

/// One app at run time.
#[derive(Debug)]
pub struct App {
    /// Its settings.
    pub config: AppConfig,
    /// Its channels, members and users.
    pub hub: Hub,
    /// Its metric handles.
    pub metrics: AppMetrics,
    /// The way to the other nodes, once the server has joined a cluster.
    pub cluster: ClusterSlot,
    connections: AtomicUsize,
    /// Every open socket by id, whatever it holds, so an app can close the sockets it granted
    /// something to (a revoked identity's) even after they left every channel. A std mutex:
    /// held only to insert, remove or look up.
    sockets: Mutex<HashMap<SocketId, Arc<Outbox>>>,
}

impl App {
    /// Claims a connection slot, or `None` when the app is at `max_connections`.
    pub fn try_connect(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let claimed = self.connections.fetch_add(1, Ordering::AcqRel) + 1;
        if self.config.max_connections.is_some_and(|max| claimed > max) {
            self.connections.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        self.metrics.connections.inc();
        self.metrics.connections_total.inc();
        Some(ConnectionSlot {
            app: self.clone(),
            socket: None,
        })
    }

    /// Open connections now.
    pub fn connection_count(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// The outboxes of those of `sockets` that are open here.
    pub fn outboxes_of(&self, sockets: &[SocketId]) -> Vec<(SocketId, Arc<Outbox>)> {
        let open = self.sockets.lock().expect("socket index poisoned");
        sockets
            .iter()
            .filter_map(|id| open.get(id).map(|outbox| (*id, outbox.clone())))
            .collect()
    }
}

/// A held connection slot; dropping it frees the slot (and the socket's place in the index),
/// however the connection ends.
#[derive(Debug)]
pub struct ConnectionSlot {
    app: Arc<App>,
    socket: Option<SocketId>,
}

impl ConnectionSlot {
    /// Lists the connection's socket under its id until the slot is dropped.
    pub fn track(&mut self, socket: SocketId, outbox: &Arc<Outbox>) {
        self.app
            .sockets
            .lock()
            .expect("socket index poisoned")
            .insert(socket, outbox.clone());
        self.socket = Some(socket);
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            self.app
                .sockets
                .lock()
                .expect("socket index poisoned")
                .remove(&socket);
        }
        self.app.connections.fetch_sub(1, Ordering::AcqRel);
        self.app.metrics.connections.dec();
    }
}

/// Every app, by key and by id.
#[derive(Debug, Clone)]
pub struct Apps {
    by_key: Arc<HashMap<String, Arc<App>>>,
    by_id: Arc<HashMap<String, Arc<App>>>,
}

impl Apps {
    /// Builds each app's hub and starts its webhook worker.
    pub fn start(
        config: &RealtimeConfig,
        metrics: &Metrics,
        cluster: &ClusterSlot,
        shutdown: &CancellationToken,
    ) -> Self {
        let client = reqwest::Client::builder()
            .user_agent(concat!("parley-realtime/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds with static settings");
        let mut by_key = HashMap::new();
        let mut by_id = HashMap::new();
        for app_config in &config.apps {
            let app_metrics = metrics.for_app(&app_config.id);
            let hooks = webhooks::start(
                app_config,
                config.webhook_delay,
                app_metrics.clone(),
                client.clone(),
                shutdown.child_token(),
            );
            let hub = Hub::new(
                config.cache_ttl,
                app_config.max_presence_members,
                app_config.subscription_count_events,
                hooks,
            );
            let app = Arc::new(App {
                config: app_config.clone(),
                hub,
                metrics: app_metrics,
                cluster: cluster.clone(),
                connections: AtomicUsize::new(0),
                sockets: Mutex::default(),
            });
            by_key.insert(app_config.key.clone(), app.clone());
            by_id.insert(app_config.id.clone(), app);
        }
        Self {
            by_key: Arc::new(by_key),
            by_id: Arc::new(by_id),
        }
    }

    /// The app with this key.
    pub fn by_key(&self, key: &str) -> Option<&Arc<App>> {
        self.by_key.get(key)
    }

    /// The app with this id.
    pub fn by_id(&self, id: &str) -> Option<&Arc<App>> {
        self.by_id.get(id)
    }

    /// Every app.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<App>> {
        self.by_id.values()
    }
}
