//! Integration tests: a real server on port 0, driven over real sockets.

mod support;

mod api;
mod channels;
mod client_events;
mod cluster;
mod lifecycle;
mod metrics;
mod pusher_docs;
mod users;
mod webhooks;
