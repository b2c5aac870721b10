//! A Pusher Channels protocol v7 server: what Laravel Reverb, Soketi and Sockudo are, and what
//! pusher-js, laravel-echo and the Pusher server SDKs talk to unmodified.
//!
//! # Layout
//! - [`config`]: apps and server settings, validated up front.
//! - [`facade`]: [`Realtime`], the server as a library: publish in process, close sockets,
//!   join other nodes; and what every handler shares.
//! - [`server`]: the listener; WebSocket upgrade, HTTP API, `/up`, `/metrics`, shutdown.
//! - [`connection`]: one socket's task: frames in, outbox out, heartbeats.
//! - [`hub`]: one app's channels, presence members, signed-in users and cache.
//! - [`websocket`]: the RFC 6455 stack: handshake, frame codec, decoder, reading socket.
//! - [`outbox`]: a socket's write side: direct writes, then a bounded, never-blocking queue.
//! - [`publish`]: event validation and fan-out, shared by the HTTP API and embedders.
//! - [`http_api`]: the signed `/apps/{id}/…` endpoints.
//! - [`webhooks`]: batched, delayed, signed, retried lifecycle events.
//! - [`metrics`]: Prometheus counters and gauges.

pub mod apps;
pub mod cluster;
pub mod config;
pub mod connection;
pub mod facade;
pub mod http_api;
pub mod hub;
pub mod metrics;
pub mod outbox;
pub mod publish;
pub mod server;
pub mod webhooks;
pub mod websocket;

pub use config::{AppConfig, ConfigError, RealtimeConfig, WebhookConfig};
pub use facade::Realtime;
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
