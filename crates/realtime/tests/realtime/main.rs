//! Integration tests: a real server on port 0, driven over real sockets.

mod support;

mod api;
mod channels;
mod client_events;
mod cluster;
mod lifecycle;
mod users;
mod webhooks;
