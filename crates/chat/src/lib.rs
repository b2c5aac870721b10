//! Parley's chat service: the widget API (`/api/chatbot/…`), the agents' API (`/api/agent/…`), channel authorisation for Echo,
//! uploads, and broadcasting what changed after it is committed.
//!
//! # Layout
//! - [`api`]: routes, extractors (widget, visitor and agent identity), CORS; the widget's API
//!   and the agents' (`/api/agent/…`, see `docs/agent-api.md`).
//! - [`service`]: the operations; store first, then broadcast through an ordered queue.
//! - [`broadcast`]: the broadcaster drivers (`reverb` embedded or over HTTP, `pusher`, `log`, `null`).
//! - [`payload`]: the JSON shapes clients see and the event names.
//! - [`presence`]: which agents are online, published to the team and to visitors.
//! - [`assignment`]: automatic assignment per widget and transfers between agents.
//! - [`hours`]: a widget's business hours; [`availability`]: the widget's mode (live, bot, away).
//! - [`uploads`]: type sniffing, allowlist, storage.
//! - [`http_server`]: the port's listener (header and idle timeouts, connection cap); [`health`]:
//!   `/up`, dependency by dependency.
//! - [`text`]: what text people may send (no control characters), and what a reaction is.
//! - [`accounts`]: password hashes, email and password rules, session and link secrets.
//! - [`widgets`]: what a widget may be configured with, and its embed snippet.
//! - [`privacy`]: retention, and exporting or erasing one visitor's conversations.
//! - [`mail`]: email through SMTP as durable jobs: offline replies, transcripts, account links.
//! - [`webhooks`]: outbound webhooks, signed, delivered by a durable worker in order per
//!   conversation.
//! - [`ratelimit`], [`tokens`], [`config`], [`error`].

pub mod accounts;
pub mod api;
pub mod assignment;
pub mod availability;
pub mod bot_runner;
pub mod broadcast;
pub mod client_address;
pub mod config;
pub mod error;
pub mod health;
pub mod hours;
pub mod http_server;
pub mod identity;
pub mod mail;
pub mod payload;
pub mod prechat;
pub mod presence;
pub mod privacy;
pub mod ratelimit;
pub mod reports;
pub mod revocation;
pub mod service;
pub mod text;
pub mod tokens;
pub mod uploads;
pub mod webhooks;
pub mod widgets;

pub use api::{router, AppState};
pub use config::{ChatConfig, Provider, RealtimeApp};
pub use service::ChatService;
