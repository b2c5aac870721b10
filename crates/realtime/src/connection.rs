//! One WebSocket connection, start to finish: the handshake frame, then a single task that
//! reads client frames, writes whatever its outbox holds, pings when the client goes quiet,
//! and on the way out leaves every channel and user index it joined.
//!
//! One task rather than a reader and a writer: it halves the per-connection tasks and needs no
//! lock around the socket. Writes never wait on other sockets: fan-out only fills outboxes.

use std::{collections::HashMap, sync::Arc, time::Duration};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use parley_protocol::{frame, ErrorCode, SocketId};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};
use tokio_websockets::{CloseCode, Message, Payload, WebSocketStream};

use crate::{
    apps::{App, ConnectionSlot},
    outbox::{Outbox, Verdict},
    server::Shared,
};

mod inbound;

/// Why a connection is refused right after the WebSocket handshake.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// The protocol code, sent in `pusher:error` and as the close code.
    pub code: ErrorCode,
    /// The human-readable reason.
    pub message: String,
}

/// The state a connection keeps about itself.
struct Session {
    app: Arc<App>,
    socket_id: SocketId,
    outbox: Arc<Outbox>,
    /// Channels joined, with the presence user id each was joined as.
    channels: HashMap<parley_protocol::ChannelName, Option<String>>,
    /// Set by `pusher:signin`.
    user: Option<SignedIn>,
    client_events: TokenBucket,
    /// Whether the connection has signed in or joined a private channel (for apps that
    /// require authorised connections).
    authorised: bool,
}

struct SignedIn {
    id: String,
    watchlist: Vec<String>,
}

/// Client events allowed per second, refilled continuously.
struct TokenBucket {
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(per_second: u32) -> Self {
        let per_second = f64::from(per_second);
        Self {
            tokens: per_second,
            per_second,
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.per_second);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Runs a connection whose WebSocket handshake is done.
pub async fn run<S>(
    mut ws: WebSocketStream<S>,
    admission: Result<(Arc<App>, ConnectionSlot), Refusal>,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (app, slot) = match admission {
        Ok(admitted) => admitted,
        Err(refusal) => return close(&mut ws, &refusal, Duration::from_secs(5)).await,
    };
    let socket_id = SocketId::random();
    let outbox = Arc::new(Outbox::new(shared.config.send_queue_frames));
    let activity_timeout = shared.config.activity_timeout;
    outbox.push(Bytes::from(frame::connection_established(
        &socket_id.to_string(),
        activity_timeout.as_secs(),
    )));
    let mut session = Session {
        client_events: TokenBucket::new(app.config.client_event_rate_limit.max(1)),
        app,
        socket_id,
        outbox,
        channels: HashMap::new(),
        user: None,
        authorised: false,
    };
    let verdict = session.pump(&mut ws, &shared).await;
    session.leave_everything();
    drop(slot);
    match verdict {
        Some(refusal) => {
            if refusal.code == ErrorCode::OverCapacity {
                session.app.metrics.slow_consumers.inc();
            }
            close(&mut ws, &refusal, shared.config.write_timeout).await;
        }
        // The client closed, vanished, or broke the protocol. Polling the stream to its end lets
        // tokio-websockets send the close frame it has queued (the echo of the client's close,
        // or 1002/1007/1009 for a violation).
        None => {
            let drain = async { while ws.next().await.is_some() {} };
            let _ = tokio::time::timeout(shared.config.write_timeout, drain).await;
        }
    }
}

impl Session {
    /// The connection's loop. Returns how to close, or `None` when the client went away.
    async fn pump<S>(&mut self, ws: &mut WebSocketStream<S>, shared: &Shared) -> Option<Refusal>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let config = &shared.config;
        let connected_at = Instant::now();
        let auth_deadline = self
            .app
            .config
            .user_authentication_timeout_secs
            .map(|secs| connected_at + Duration::from_secs(secs));
        let mut last_heard = connected_at;
        let mut pinged_at: Option<Instant> = None;
        // Both futures live across iterations: re-creating them per wake-up would register and
        // unregister a timer and a cancellation waiter for every event delivered, which is most
        // of the per-delivery cost on a busy channel.
        let shutdown = shared.shutdown.cancelled();
        tokio::pin!(shutdown);
        let timer = tokio::time::sleep_until(connected_at + config.activity_timeout);
        tokio::pin!(timer);
        loop {
            let heartbeat = match pinged_at {
                Some(at) => at + config.pong_timeout,
                None => last_heard + config.activity_timeout,
            };
            let deadline = match auth_deadline {
                Some(at) if !self.authorised => heartbeat.min(at),
                _ => heartbeat,
            };
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            tokio::select! {
                _ = &mut shutdown => {
                    return Some(Refusal { code: ErrorCode::Reconnect, message: "Server shutting down".into() });
                }
                _ = self.outbox.ready() => {
                    match tokio::time::timeout(config.write_timeout, self.flush(ws)).await {
                        Ok(Ok(Verdict::Open)) => {}
                        Ok(Ok(Verdict::Close(code, message))) => return Some(Refusal { code, message }),
                        Ok(Err(_)) => return None,
                        Err(_) => return Some(Refusal { code: ErrorCode::OverCapacity, message: "Client too slow: write timed out".into() }),
                    }
                }
                received = ws.next() => {
                    let message = match received {
                        Some(Ok(message)) => message,
                        // A protocol violation (tokio-websockets has already sent the close
                        // frame with the right code) or the client went away.
                        Some(Err(error)) => {
                            tracing::debug!(socket_id = %self.socket_id, %error, "websocket error");
                            return None;
                        }
                        None => return None,
                    };
                    last_heard = Instant::now();
                    pinged_at = None;
                    self.app.metrics.messages_in.inc();
                    if message.is_close() {
                        return None;
                    }
                    if let Some(text) = message.as_text() {
                        if let Some(refusal) = self.handle_text(text) {
                            return Some(refusal);
                        }
                    } else if message.is_binary() {
                        self.reply(frame::error(None, "Binary frames are not part of the Pusher protocol"));
                    }
                }
                _ = &mut timer => {
                    let now = Instant::now();
                    if auth_deadline.is_some_and(|at| now >= at) && !self.authorised {
                        return Some(Refusal { code: ErrorCode::Unauthorized, message: "Connection not authorized within timeout".into() });
                    }
                    if pinged_at.is_some() {
                        return Some(Refusal { code: ErrorCode::PongTimeout, message: "Pong reply not received in time".into() });
                    }
                    if now >= last_heard + config.activity_timeout {
                        pinged_at = Some(now);
                        self.reply(frame::ping());
                    }
                }
            }
        }
    }

    /// Writes everything queued with one flush.
    async fn flush<S>(
        &self,
        ws: &mut WebSocketStream<S>,
    ) -> Result<Verdict, tokio_websockets::Error>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (frames, verdict) = self.outbox.drain();
        if !frames.is_empty() {
            self.app.metrics.messages_out.inc_by(frames.len() as u64);
            for frame in frames {
                ws.feed(Message::text(Payload::from(frame))).await?;
            }
            ws.flush().await?;
        }
        Ok(verdict)
    }

    /// Queues a frame for this connection only.
    fn reply(&self, frame: String) {
        self.outbox.push(Bytes::from(frame));
    }

    /// Leaves every channel and the user index, so nothing refers to this socket any more.
    fn leave_everything(&mut self) {
        for (channel, _) in self.channels.drain() {
            self.app.hub.unsubscribe(&channel, self.socket_id);
            self.app.metrics.subscriptions.dec();
        }
        if let Some(user) = self.user.take() {
            self.app
                .hub
                .sign_out(&user.id, self.socket_id, &user.watchlist);
        }
    }
}

/// Sends `pusher:error` and closes with the same code, as pusher-js expects.
async fn close<S>(ws: &mut WebSocketStream<S>, refusal: &Refusal, write_timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let error = frame::error(Some(refusal.code.code()), &refusal.message);
    let code = CloseCode::try_from(refusal.code.code()).unwrap_or(CloseCode::POLICY_VIOLATION);
    // Close reasons are limited to 123 bytes by RFC 6455.
    let reason: String = refusal.message.chars().take(100).collect();
    let closing = async {
        ws.send(Message::text(error)).await?;
        ws.send(Message::close(Some(code), &reason)).await?;
        // Wait for the client's close frame so the TCP connection ends cleanly.
        while let Some(Ok(_)) = ws.next().await {}
        Ok::<_, tokio_websockets::Error>(())
    };
    let _ = tokio::time::timeout(write_timeout, closing).await;
}
