//! A Pusher Channels protocol v7 server: what Laravel Reverb, Soketi and Sockudo are, and what
//! pusher-js, laravel-echo and the Pusher server SDKs talk to unmodified.
//!
//! # Layout
//! Public: the server as a library ([`Realtime`], [`run`], [`config`], and the errors
//! [`PublishError`] and [`ClusterError`] its methods return), and its WebSocket stack
//! ([`websocket`], [`outbox`]), which the Autobahn echo example, the property tests and the fuzz
//! targets drive on its own. The other modules are internal:
//!
//! - [`config`]: apps and server settings, validated up front.
//! - `facade`: [`Realtime`], the server as a library: publish in process, close sockets,
//!   join other nodes; and what every handler shares.
//! - `server`: the listener; WebSocket upgrade, HTTP API, `/up`, `/metrics`, shutdown.
//! - `apps`: the apps served, by key and by id, each with its hub, metrics, connection count
//!   and open sockets.
//! - `connection`: one socket's task: frames in (parsed once by the protocol crate's
//!   `ClientFrame`), outbox out, heartbeats.
//! - `hub`: one app's channels, presence members, signed-in users and cache.
//! - `publish`: event validation and fan-out, shared by the HTTP API and embedders.
//! - `cluster`: scale-out through Redis pub/sub, and the HTTP API's queries across nodes;
//!   `cluster::link` is the way out every app holds, and knows nothing of apps.
//! - `http_api`: the signed `/apps/{id}/…` endpoints.
//! - `webhooks`: batched, delayed, signed, retried lifecycle events.
//! - `metrics`: Prometheus counters and gauges.
//! - [`websocket`]: the RFC 6455 stack: handshake, frame codec, decoder, reading socket.
//! - [`outbox`]: a socket's write side: direct writes, then a bounded, never-blocking queue.

mod apps;
mod cluster;
pub mod config;
mod connection;
mod facade;
mod http_api;
mod hub;
mod metrics;
pub mod outbox;
mod publish;
mod server;
mod webhooks;
pub mod websocket;

pub use cluster::ClusterError;
pub use config::{AppConfig, ConfigError, RealtimeConfig, WebhookConfig};
pub use facade::Realtime;
pub use publish::PublishError;
pub use server::run;

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listener failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
