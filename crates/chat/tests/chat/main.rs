//! Chat API integration tests: the real router on 127.0.0.1:0, a real SQLite store, and the
//! embedded realtime server with real WebSocket subscribers.

mod support;

mod accounts;
mod admin;
mod admin_widgets;
mod agent_inbox;
mod agents;
mod api_edge;
mod assignment;
mod bot;
mod broadcasting;
mod conversations;
mod health;
mod hours;
mod http_edge;
mod identity;
mod mail;
mod messages;
mod notes_labels;
mod polish;
mod privacy;
mod ratings;
mod reports;
mod revocation;
mod smtp_sink;
mod text;
mod uploads;
mod webhooks;
mod widget_access;
