//! The chat port's HTTP/1 server. It serves a router as `axum::serve` does (the client's address
//! as `ConnectInfo<SocketAddr>`, graceful shutdown) and adds what a port open to the internet
//! needs and `axum::serve` lacks: a deadline for a request's headers, an idle timeout, and a cap
//! on open connections, so slow or silent clients cannot hold the process's file descriptors.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    pin::{pin, Pin},
    sync::{Arc, Mutex, PoisonError},
    task::{Context, Poll},
    time::Duration,
};

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, Request};
use hyper_util::rt::TokioIo;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{Notify, OwnedSemaphorePermit, Semaphore},
    time::Instant,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// The limits of one listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// From a connection's opening, or the first byte of a later request, until the request's
    /// headers are complete. Bytes arriving do not extend it, so trickling does not help.
    pub header_timeout: Duration,
    /// How long a kept-alive connection may wait for its next request, and how long a request
    /// or its response may go without a byte moving either way.
    pub idle_timeout: Duration,
    /// Open connections at most. Further clients wait in the listen backlog, not accepted (so
    /// holding no descriptor of this process), until a connection closes.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 2048,
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets requests
/// in progress finish (idle connections close at once) and returns when every connection has.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let closing = CancellationToken::new();
    let tracker = TaskTracker::new();
    let mut shutdown = pin!(shutdown);
    loop {
        // A slot first, then accept: at the cap, clients stay in the kernel's backlog.
        let slot = tokio::select! {
            () = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: pause rather than spin, and keep
                    // serving the connections we have.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tracker.spawn(connection(
            stream,
            peer,
            router.clone(),
            limits,
            closing.clone(),
            slot,
        ));
    }
    // Clients still in the backlog are refused rather than left waiting for nothing.
    drop(listener);
    closing.cancel();
    tracker.close();
    tracker.wait().await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    limits: HttpLimits,
    closing: CancellationToken,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_request = InRequest::start(requests.clone());
        // `Router` is always ready, so calling it without `poll_ready` is allowed.
        let response = tower::Service::call(&mut router.clone(), request);
        async move {
            let response = response.await;
            drop(in_request);
            response
        }
    });
    // The deadlines are kept here, not by hyper's header timer: that timer also runs while a
    // kept-alive connection waits for its next request, so it cannot give the two their own
    // limits.
    let connection = hyper::server::conn::http1::Builder::new().serve_connection(io, service);
    let mut connection = pin!(connection);
    let mut draining = false;
    loop {
        let deadline = activity.deadline(&limits);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "http connection ended with an error");
                }
                return;
            }
            () = tokio::time::sleep_until(deadline) => {
                if Instant::now() >= activity.deadline(&limits) {
                    // Dropping the connection closes the socket.
                    tracing::debug!(%peer, "closing an http connection that timed out");
                    return;
                }
            }
            // The deadline moved (a request began or ended): compute it again.
            () = activity.changed.notified() => {}
            () = closing.cancelled(), if !draining => {
                connection.as_mut().graceful_shutdown();
                draining = true;
            }
        }
    }
}

/// What a connection is doing, as far as its deadline is concerned.
#[derive(Debug)]
struct Activity {
    state: Mutex<State>,
    /// Woken when the deadline's rule changes (not on every byte, which only pushes it later).
    changed: Notify,
}

#[derive(Debug)]
struct State {
    /// Requests handed to the router and not answered yet.
    in_flight: usize,
    /// When the first byte of the next request's headers arrived, while no request is in
    /// flight.
    head_since: Option<Instant>,
    /// Since when the connection has waited for a request (accepted, or last answered).
    waiting_since: Instant,
    /// Whether a request has been answered: before that, waiting counts against the header
    /// deadline (a client that connects and says nothing is not keeping a connection alive).
    answered_one: bool,
    /// When a byte last moved either way.
    last_progress: Instant,
}

impl Activity {
    fn new() -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                head_since: None,
                waiting_since: now,
                answered_one: false,
                last_progress: now,
            }),
            changed: Notify::new(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // Held for a few assignments, never across an await: a poisoned lock still holds a
        // usable state.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deadline(&self, limits: &HttpLimits) -> Instant {
        let state = self.state();
        if state.in_flight > 0 {
            state.last_progress + limits.idle_timeout
        } else if let Some(since) = state.head_since {
            since + limits.header_timeout
        } else if !state.answered_one {
            state.waiting_since + limits.header_timeout
        } else {
            state.waiting_since.max(state.last_progress) + limits.idle_timeout
        }
    }

    fn read(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        let now = Instant::now();
        let mut state = self.state();
        state.last_progress = now;
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(now);
            drop(state);
            self.changed.notify_one();
        }
    }

    fn wrote(&self, bytes: usize) {
        if bytes > 0 {
            self.state().last_progress = Instant::now();
        }
    }
}

/// A request between being handed to the router and its response being ready.
struct InRequest(Arc<Activity>);

impl InRequest {
    fn start(activity: Arc<Activity>) -> Self {
        {
            let mut state = activity.state();
            state.in_flight += 1;
            state.head_since = None;
        }
        activity.changed.notify_one();
        Self(activity)
    }
}

impl Drop for InRequest {
    fn drop(&mut self) {
        {
            let mut state = self.0.state();
            state.in_flight = state.in_flight.saturating_sub(1);
            if state.in_flight == 0 {
                state.waiting_since = Instant::now();
                state.answered_one = true;
            }
        }
        self.0.changed.notify_one();
    }
}

/// The TCP stream, telling [`Activity`] when bytes move.
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.activity.read(buf.filled().len() - before);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            self.activity.wrote(written);
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled {
            self.activity.wrote(written);
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
