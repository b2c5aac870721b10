//! One WebSocket connection, start to finish: the handshake frame, then a single task that
//! reads client frames, writes whatever its outbox holds, pings when the client goes quiet,
//! and on the way out leaves every channel and user index it joined.
//!
//! One task rather than a reader and a writer: it halves the per-connection tasks. The task is
//! not involved in most writes either: fan-out queues frames in the socket's [`Outbox`], a
//! flusher thread writes them, and this task only finishes writes the socket could not take at
//! once. An idle connection is this task waiting, a decoder's few bytes, and an empty outbox:
//! no read buffer, no write buffer.

use std::{ops::ControlFlow, sync::Arc, time::Duration};

use parley_protocol::{frame, ErrorCode, SocketId};
use tokio::time::Instant;

use crate::{
    apps::{App, ConnectionSlot},
    facade::Shared,
    outbox::{Flush, Outbox},
    websocket::{self, Ending, Message, PendingSocket, Read, WebSocket},
};

mod inbound;
mod joined;

use joined::Joined;

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
    channels: Joined,
    /// Most entries `channels` may hold.
    max_subscriptions: usize,
    /// Set by `pusher:signin`.
    user: Option<SignedIn>,
    client_events: TokenBucket,
    /// Whether the connection has signed in or joined a private channel (for apps that
    /// require authorised connections).
    authorised: bool,
}

struct SignedIn {
    id: String,
    /// From `user_data`: what presence channels joined without `channel_data` show.
    info: Option<Box<serde_json::value::RawValue>>,
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

/// How a connection's loop ended.
enum End {
    /// The server closes it: `pusher:error` and a close frame with this code.
    Refused(Refusal),
    /// The WebSocket layer is closing it (the client closed, or broke the protocol) or it is gone.
    Closing,
}

/// Runs a connection whose `101` is answered: once hyper hands it over, until it closes.
pub async fn run(
    pending: PendingSocket,
    admission: Result<(Arc<App>, ConnectionSlot), Refusal>,
    shared: Arc<Shared>,
) {
    // Boxed: the hand-over happens once, and would otherwise add its state to every
    // connection's task for the connection's whole life.
    let Some(mut ws) = Box::pin(pending.ready(&shared.flusher)).await else {
        return;
    };
    let (app, mut slot) = match admission {
        Ok(admitted) => admitted,
        Err(refusal) => {
            refuse(&mut ws, &refusal);
            return Box::pin(ws.finish(Duration::from_secs(5))).await;
        }
    };
    let socket_id = SocketId::random();
    let outbox = ws.outbox().clone();
    slot.track(socket_id, &outbox);
    let activity_timeout = shared.config.activity_timeout;
    outbox.send_now(&websocket::frame::text(&frame::connection_established(
        &socket_id.to_string(),
        activity_timeout.as_secs(),
    )));
    let mut session = Session {
        client_events: TokenBucket::new(app.config.client_event_rate_limit.max(1)),
        app,
        socket_id,
        outbox,
        channels: Joined::default(),
        max_subscriptions: shared.config.max_subscriptions_per_connection,
        user: None,
        authorised: false,
    };
    let end = session.pump(&mut ws, &shared).await;
    session.leave_everything();
    drop(slot);
    if let End::Refused(refusal) = end {
        if refusal.code == ErrorCode::OverCapacity {
            session.app.metrics.slow_consumers.inc();
        }
        refuse(&mut ws, &refusal);
    }
    // Boxed: the closing handshake's state is only needed at the end, and would otherwise make
    // every idle connection's task larger.
    Box::pin(ws.finish(shared.config.write_timeout)).await;
}

/// The largest share of the activity timeout a connection's keep-alive comes early by.
const KEEPALIVE_SPREAD: f64 = 0.2;

/// How long a quiet client is left before the server pings it: the activity timeout less a
/// random share of it (up to [`KEEPALIVE_SPREAD`]), drawn each time. Clients that connected
/// together (after a restart, a network blip, or a load test's ramp) would otherwise be pinged
/// together every cycle, tens of thousands of pings and pongs in the same instant, a latency
/// spike for every delivery around it; with random periods their keep-alives drift apart.
/// Never later than the activity timeout the client was told: only earlier pings, never a
/// longer silence than the protocol promises.
fn keepalive_interval(activity_timeout: Duration) -> Duration {
    activity_timeout.mul_f64(1.0 - rand::random_range(0.0..KEEPALIVE_SPREAD))
}

impl Session {
    /// The connection's loop, until the server or the client ends it.
    async fn pump(&mut self, ws: &mut WebSocket, shared: &Shared) -> End {
        let config = &shared.config;
        let connected_at = Instant::now();
        let auth_deadline = self
            .app
            .config
            .user_authentication_timeout_secs
            .map(|secs| connected_at + Duration::from_secs(secs));
        // When the server pings if it hears nothing before; drawn afresh each time the client is
        // heard rather than kept as a period, which would make every connection's task larger.
        let mut ping_at = connected_at + keepalive_interval(config.activity_timeout);
        let mut pinged_at: Option<Instant> = None;
        // Set while frames wait for a socket that does not take them: the last write progress.
        let mut write_stalled: Option<Instant> = None;
        // Both futures live across iterations: re-creating them per wake-up would register and
        // unregister a timer and a cancellation waiter each time.
        let shutdown = shared.shutdown.cancelled();
        tokio::pin!(shutdown);
        let timer = tokio::time::sleep_until(ping_at);
        tokio::pin!(timer);
        loop {
            let heartbeat = match pinged_at {
                Some(at) => at + config.pong_timeout,
                None => ping_at,
            };
            let mut deadline = match auth_deadline {
                Some(at) if !self.authorised => heartbeat.min(at),
                _ => heartbeat,
            };
            if let Some(at) = write_stalled {
                deadline = deadline.min(at + config.write_timeout);
            }
            if timer.deadline() != deadline {
                timer.as_mut().reset(deadline);
            }
            tokio::select! {
                _ = &mut shutdown => {
                    return End::Refused(Refusal { code: ErrorCode::Reconnect, message: "Server shutting down".into() });
                }
                // The flusher writes what fan-out queues; this task only takes over what the
                // socket did not accept at once, and close requests.
                _ = self.outbox.ready() => {
                    match self.outbox.flush() {
                        Flush::Done => write_stalled = None,
                        Flush::Waiting(progress_at) => write_stalled = Some(progress_at),
                        Flush::Close(code, message) => return End::Refused(Refusal { code, message }),
                        Flush::Broken => return End::Closing,
                    }
                }
                readable = ws.readable() => {
                    if readable.is_err() {
                        return End::Closing;
                    }
                    match ws.read(|message| self.on_message(message)) {
                        Read::Open { heard: false } => {}
                        Read::Open { heard: true } => {
                            ping_at = Instant::now() + keepalive_interval(config.activity_timeout);
                            pinged_at = None;
                        }
                        Read::Stopped(refusal) => return End::Refused(refusal),
                        Read::Ended(ending) => {
                            if let Ending::Violation(error) = ending {
                                tracing::debug!(socket_id = %self.socket_id, %error, "websocket protocol violation");
                            }
                            return End::Closing;
                        }
                    }
                }
                _ = &mut timer => {
                    let now = Instant::now();
                    if write_stalled.is_some_and(|at| now >= at + config.write_timeout) {
                        return End::Refused(Refusal { code: ErrorCode::OverCapacity, message: "Client too slow: write timed out".into() });
                    }
                    if auth_deadline.is_some_and(|at| now >= at) && !self.authorised {
                        return End::Refused(Refusal { code: ErrorCode::Unauthorized, message: "Connection not authorized within timeout".into() });
                    }
                    if pinged_at.is_some() && now >= heartbeat {
                        return End::Refused(Refusal { code: ErrorCode::PongTimeout, message: "Pong reply not received in time".into() });
                    }
                    if pinged_at.is_none() && now >= ping_at {
                        pinged_at = Some(now);
                        self.reply(frame::ping());
                    }
                }
            }
        }
    }

    /// Handles one message from the client.
    fn on_message(&mut self, message: Message<'_>) -> ControlFlow<Refusal> {
        self.app.metrics.messages_in.inc();
        match message {
            Message::Text(text) => match self.handle_text(text) {
                Some(refusal) => ControlFlow::Break(refusal),
                None => ControlFlow::Continue(()),
            },
            Message::Binary(_) => {
                self.reply(frame::error(
                    None,
                    "Binary frames are not part of the Pusher protocol",
                ));
                ControlFlow::Continue(())
            }
        }
    }

    /// Sends a frame to this connection only.
    fn reply(&self, frame: String) {
        self.outbox.send_now(&websocket::frame::text(&frame));
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
fn refuse(ws: &mut WebSocket, refusal: &Refusal) {
    let error = websocket::frame::text(&frame::error(Some(refusal.code.code()), &refusal.message));
    // Close reasons are limited to 123 bytes by RFC 6455; `close` cuts longer ones.
    ws.close(Some(error), refusal.code.code(), &refusal.message);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalives_come_early_by_different_amounts_and_never_late() {
        let timeout = Duration::from_secs(120);
        let intervals: Vec<Duration> = (0..1000).map(|_| keepalive_interval(timeout)).collect();
        let earliest = timeout.mul_f64(1.0 - KEEPALIVE_SPREAD);
        assert!(intervals.iter().all(|i| *i <= timeout && *i >= earliest));
        // Spread over the window, not bunched: both halves of it are used.
        let middle = timeout.mul_f64(1.0 - KEEPALIVE_SPREAD / 2.0);
        assert!(intervals.iter().any(|i| *i < middle));
        assert!(intervals.iter().any(|i| *i > middle));
    }
}
