//! One server-side WebSocket over a TCP stream: reading (decode into a per-thread buffer, hand
//! each message to the caller), answering pings, and the closing handshake. Writing is the
//! [`Outbox`]'s job.
//!
//! An idle connection owns no read buffer. Its task waits for readability, then reads into a
//! buffer shared by every connection on the thread and decodes in place; only the bytes of a
//! message that has not fully arrived are kept, by the [`Decoder`], until it completes.

use std::{cell::RefCell, io, ops::ControlFlow, sync::Arc, task::Poll, time::Duration};

use bytes::Bytes;

use super::{
    decoder::{Decoder, Incoming, ProtocolError},
    frame::{self, OpCode},
};
use crate::outbox::{Flush, Outbox};

/// The per-thread read buffer's size: large enough that a busy socket is drained in few reads.
const SCRATCH_BYTES: usize = 64 * 1024;

thread_local! {
    // One read buffer per worker thread instead of one per connection. It is borrowed only for
    // one synchronous read-and-decode (never across an `.await`), so every connection on the
    // thread can share it; a nested borrow (not expected) falls back to a temporary buffer.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; SCRATCH_BYTES].into_boxed_slice());
}

/// A complete message from the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message.
    Binary(&'a [u8]),
}

/// What a [`WebSocket::read`] came to.
#[derive(Debug)]
pub enum Read<B> {
    /// The connection is open. `heard`: whether any frame arrived (for heartbeats).
    Open {
        /// Whether any frame (data or control) arrived.
        heard: bool,
    },
    /// The message handler stopped reading with this value.
    Stopped(B),
    /// The connection is ending; call [`WebSocket::finish`].
    Ended(Ending),
}

/// Why a connection is ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The client sent a close frame (with this code); its echo is queued.
    Closed(Option<u16>),
    /// The client broke the protocol; a close frame with the matching code is queued.
    Violation(ProtocolError),
    /// The connection was lost (end of stream or an I/O error).
    Gone,
}

/// A server-side WebSocket whose handshake is done.
#[derive(Debug)]
pub struct WebSocket {
    outbox: Arc<Outbox>,
    decoder: Decoder,
    /// Bytes that arrived with the handshake, decoded before the socket is read.
    prefix: Vec<u8>,
    /// A close frame has been queued.
    close_sent: bool,
    /// The client's close frame has arrived.
    close_received: bool,
}

impl WebSocket {
    /// A WebSocket writing through `outbox`, with `prefix` (bytes already read past the
    /// handshake) to decode first, refusing messages over `max_message_bytes`.
    pub fn new(outbox: Outbox, prefix: &[u8], max_message_bytes: usize) -> Self {
        Self {
            outbox: Arc::new(outbox),
            decoder: Decoder::new(max_message_bytes),
            prefix: prefix.to_vec(),
            close_sent: false,
            close_received: false,
        }
    }

    /// The socket's write side, to share with whoever sends to it.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// Waits until [`WebSocket::read`] has something to read.
    /// Only the socket's own task may wait here (`poll_read_ready` keeps one waker, and its
    /// future is a fraction of `readable()`'s, which is part of every idle connection).
    pub async fn readable(&self) -> io::Result<()> {
        std::future::poll_fn(|cx| {
            if self.prefix.is_empty() {
                self.outbox.stream().poll_read_ready(cx)
            } else {
                Poll::Ready(Ok(()))
            }
        })
        .await
    }

    /// Reads what has arrived and hands each complete message to `on_message`, until it breaks.
    /// Pings are answered; a close is echoed; a protocol violation queues the close frame.
    pub fn read<B>(
        &mut self,
        mut on_message: impl FnMut(Message<'_>) -> ControlFlow<B>,
    ) -> Read<B> {
        if !self.prefix.is_empty() {
            let mut prefix = std::mem::take(&mut self.prefix);
            return self.decode(&mut prefix, &mut on_message);
        }
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut buffer) => self.read_into(&mut buffer, &mut on_message),
            Err(_) => self.read_into(&mut vec![0; SCRATCH_BYTES], &mut on_message),
        })
    }

    fn read_into<B>(
        &mut self,
        buffer: &mut [u8],
        on_message: &mut impl FnMut(Message<'_>) -> ControlFlow<B>,
    ) -> Read<B> {
        match self.outbox.stream().try_read(buffer) {
            Ok(0) => Read::Ended(Ending::Gone),
            Ok(n) => self.decode(&mut buffer[..n], on_message),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => Read::Open { heard: false },
            Err(_) => Read::Ended(Ending::Gone),
        }
    }

    fn decode<B>(
        &mut self,
        input: &mut [u8],
        on_message: &mut impl FnMut(Message<'_>) -> ControlFlow<B>,
    ) -> Read<B> {
        let Self {
            outbox,
            decoder,
            close_sent,
            ..
        } = self;
        let mut heard = false;
        let mut violation = None;
        let mut peer_close = None;
        let flow = decoder.feed(input, &mut |incoming| {
            heard = true;
            match incoming {
                Incoming::Text(text) => on_message(Message::Text(text)).map_break(Some),
                Incoming::Binary(bytes) => on_message(Message::Binary(bytes)).map_break(Some),
                Incoming::Ping(payload) => {
                    outbox.send_now(&frame::encode(OpCode::Pong, payload));
                    ControlFlow::Continue(())
                }
                Incoming::Pong(_) => ControlFlow::Continue(()),
                Incoming::Close(close) => {
                    peer_close = Some(close.map(|(code, _)| code));
                    // Nothing after a close frame counts.
                    ControlFlow::Break(None)
                }
                Incoming::Violation(error) => {
                    if !*close_sent {
                        *close_sent = true;
                        outbox.seal(&[frame::close(error.close_code(), "")]);
                    }
                    violation = Some(error);
                    ControlFlow::Continue(())
                }
            }
        });
        if let Some(code) = peer_close {
            self.close_received = true;
            if !self.close_sent {
                self.close_sent = true;
                let echo = match code {
                    Some(code) => frame::close(code, ""),
                    None => frame::encode(OpCode::Close, b""),
                };
                self.outbox.seal(&[echo]);
            }
            return Read::Ended(match violation {
                Some(error) => Ending::Violation(error),
                None => Ending::Closed(code),
            });
        }
        if let Some(error) = violation {
            return Read::Ended(Ending::Violation(error));
        }
        match flow {
            ControlFlow::Break(Some(value)) => Read::Stopped(value),
            _ => Read::Open { heard },
        }
    }

    /// Queues `last` (e.g. a `pusher:error` frame) and a close frame with `code` and `reason`;
    /// nothing is sent after them.
    pub fn close(&mut self, last: Option<Bytes>, code: u16, reason: &str) {
        if self.close_sent {
            return;
        }
        self.close_sent = true;
        let close = frame::close(code, reason);
        match last {
            Some(last) => self.outbox.seal(&[last, close]),
            None => self.outbox.seal(&[close]),
        }
    }

    /// Ends the connection: writes what is queued, waits for the client's close frame if the
    /// server closed first, then drops the TCP connection. Gives up after `timeout`.
    pub async fn finish(mut self, timeout: Duration) {
        let closing = async {
            loop {
                match self.outbox.flush() {
                    Flush::Broken => return,
                    _ if self.outbox.has_backlog() => {
                        let stream = self.outbox.stream();
                        if std::future::poll_fn(|cx| stream.poll_write_ready(cx))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    _ => break,
                }
            }
            if !self.close_sent || self.close_received {
                return;
            }
            self.decoder.discard_data();
            loop {
                if self.readable().await.is_err() {
                    return;
                }
                if let Read::Ended(_) = self.read(|_| ControlFlow::<()>::Continue(())) {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(timeout, closing).await;
    }
}
