//! The Pusher Channels protocol (v7) as plain data: no sockets, no clocks, no tasks.
//!
//! Everything a Pusher-compatible server, client or publisher must agree on lives here, with
//! test vectors: channel names and kinds ([`channel`]), the frames on the WebSocket
//! ([`frame`]), the error and close codes and how pusher-js reacts to each ([`close`]),
//! socket ids ([`socket_id`]), every HMAC the protocol uses ([`signature`]), and how an
//! `Origin` is checked against an allowlist ([`origin`]).

pub mod channel;
pub mod close;
pub mod frame;
pub mod origin;
pub mod signature;
pub mod socket_id;

pub use channel::{ChannelKind, ChannelName, ChannelNameError};
pub use close::ErrorCode;
pub use socket_id::SocketId;
