//! The server's own RFC 6455 WebSocket stack: the HTTP upgrade, a frame codec and incremental
//! decoder without I/O, and a socket that owns no read buffer while idle.
//!
//! - `handshake` ([`accept_websocket`], [`PendingSocket`]): validates the upgrade request,
//!   answers `101`, takes the TCP stream back.
//! - [`frame`]: header parsing, unmasking, encoding server frames, close-code rules.
//! - [`decoder`]: bytes to messages, with every rule a server enforces on what it receives.
//! - `socket` ([`WebSocket`]): reading, pings, the closing handshake; writing is
//!   [`crate::outbox`]'s.
//!
//! `frame` and `decoder` are public on their own, without I/O, for the property tests and the
//! fuzz targets; the handshake and the socket only through what is re-exported here.

pub mod decoder;
pub mod frame;
mod handshake;
mod socket;

pub use decoder::ProtocolError;
pub use handshake::{accept_websocket, Limits, PendingSocket};
pub use socket::{Ending, Message, Read, WebSocket};
