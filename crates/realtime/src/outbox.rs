//! A socket's write side: the only way anything reaches a client.
//!
//! [`Outbox::push`] never waits: it queues an encoded WebSocket frame (a `Bytes` shared by every
//! subscriber) and, if the queue was empty, hands the socket to the [`Flusher`], threads that
//! write the sockets they are handed one after the other, each socket's whole queue in one
//! vectored write. A publish to many sockets therefore costs one syscall per socket and no task
//! wake-up per socket; and when publishes come faster than the writes, the frames of several publishes
//! leave in the same syscall (corking), because a socket's queue grows until the flusher reaches
//! it. A socket's own replies, and events on small channels ([`Outbox::send_now`]), are written
//! at once when nothing is queued.
//!
//! Whatever the kernel does not take (its send buffer is full) stays queued, and the socket's own
//! task finishes the job when the socket becomes writable. While anything is queued, later frames
//! queue behind it, so order is kept. A queue that reaches its capacity marks the socket as too
//! slow: it is closed with 4100.
//!
//! Why not a tokio `mpsc` per socket: its first block of slots is allocated up front, most of an
//! idle connection's memory. Here the first waiting frame is kept in the outbox itself and a
//! `VecDeque` allocates only for a second, so an idle socket owns no queue memory and a steady
//! fan-out touches no buffer besides the outbox.

mod flusher;

pub use flusher::Flusher;

use std::{
    collections::VecDeque,
    io::{self, IoSlice},
    sync::{Arc, Mutex, MutexGuard},
    task::{Context, Poll, Waker},
};

use bytes::Bytes;
use parley_protocol::ErrorCode;
use prometheus_client::metrics::counter::Counter;
use tokio::{net::TcpStream, time::Instant};

/// The most frames given to one vectored write.
const MAX_SLICES: usize = 64;

/// Frames behind the first that a written-out queue keeps room for: what `VecDeque` allocates
/// first (4 × 32 bytes). A socket that never had two frames waiting has no buffer at all.
const KEPT_QUEUE_CAPACITY: usize = 4;

/// What the socket's task must do after [`Outbox::flush`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flush {
    /// Everything queued is written.
    Done,
    /// Frames still wait for the socket to become writable; the last progress was at this time.
    Waiting(Instant),
    /// Send `pusher:error` with this code and message, then close with the same code.
    Close(ErrorCode, String),
    /// A write failed: the client is gone.
    Broken,
}

/// A socket's waiting frames and state. `#[repr(C)]`, hot fields first: a fan-out touches a
/// thousand outboxes that lie in memory among many idle ones, so every cache line a delivery
/// needs is a miss. With the outbox's own order, what a one-frame delivery reads and writes (the
/// lock, the first frame, the flags) lies in the allocation's first 128 bytes, and a socket that
/// never has more than one frame waiting has no buffer to miss at all.
#[derive(Debug)]
#[repr(C)]
struct Queue {
    /// The first waiting frame, which may be partly written. `None` when nothing waits.
    first: Option<Bytes>,
    /// Set when the socket was asked to close (by the app, or because its queue overflowed).
    /// Boxed: it is rare, and a pointer keeps the check beside the lock.
    close: Option<Box<(ErrorCode, String)>>,
    /// The socket is in its flusher's list.
    scheduled: bool,
    /// The socket's task was woken and has not looked yet.
    woken: bool,
    /// A close frame is queued: nothing may follow it.
    sealed: bool,
    /// A write failed.
    broken: bool,
    /// How much of the first frame is written. 32 bits, to stay in the first line: a frame is
    /// at most an event's size limit (megabytes, not gigabytes).
    written: u32,
    /// The frames waiting behind the first: allocated only while a second waits.
    more: VecDeque<Bytes>,
    /// When a write last made progress while frames were waiting.
    progress_at: Option<Instant>,
    /// The socket's task, waiting in [`Outbox::ready`]. (A waker here rather than a `Notify`,
    /// whose waiting future is much larger: that future is part of every idle connection.)
    waker: Option<Waker>,
}

impl Queue {
    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    fn push(&mut self, frame: Bytes) {
        if self.first.is_none() {
            self.first = Some(frame);
        } else {
            self.more.push_back(frame);
        }
    }

    fn frames(&self) -> impl Iterator<Item = &Bytes> {
        self.first.iter().chain(&self.more)
    }

    fn set_written(&mut self, bytes: usize) {
        self.written = u32::try_from(bytes).expect("a frame is smaller than 4 GiB");
    }

    /// Drops the first frame, written out.
    fn pop(&mut self) {
        self.first = self.more.pop_front();
        self.written = 0;
    }

    /// Drops the waiting frames but a partly written first one (or the stream would lose its
    /// framing).
    fn drop_unstarted(&mut self) {
        if self.written == 0 {
            self.first = None;
        }
        self.more.clear();
    }
}

/// One socket's write side. Shared (`Arc`) between the socket's task and every channel and
/// user index it is in.
///
/// `#[repr(C)]` so that what every delivery touches comes first: behind the `Arc`'s counts (the
/// flusher's list takes a reference), the stream and the counter fill the allocation's first 64
/// bytes, and the flusher handle, the lock and the queue's hot fields ([`Queue`]) the next 64.
#[derive(Debug)]
#[repr(C)]
pub struct Outbox {
    // The connection's stream. tokio's `try_read`, `try_write_vectored` and readiness all take
    // `&self`, so the socket's task reads it through here while any task may write it; writers
    // are serialised by `queue`'s lock.
    stream: TcpStream,
    sent: Option<Counter>,
    /// Who writes what [`Outbox::push`] queues; `None`: `push` writes at once, like `send_now`.
    flusher: Option<Arc<flusher::Dirty>>,
    // A std mutex, not tokio's: it is never held across an `.await`, only around a push or one
    // non-blocking write, and is uncontended except when a publish meets the socket's own task.
    queue: Mutex<Queue>,
    capacity: usize,
}

impl Outbox {
    /// The write side of `stream`, which holds at most `capacity` unsent frames before the
    /// socket is deemed too slow. Frames accepted are counted in `sent`. Pushed frames are
    /// written by `flusher`, or at once without one.
    pub fn new(
        stream: TcpStream,
        capacity: usize,
        sent: Option<Counter>,
        flusher: Option<&Flusher>,
    ) -> Self {
        Self {
            stream,
            sent,
            flusher: flusher.map(Flusher::handle),
            queue: Mutex::new(Queue {
                first: None,
                close: None,
                scheduled: false,
                woken: false,
                sealed: false,
                broken: false,
                written: 0,
                more: VecDeque::new(),
                progress_at: None,
                waker: None,
            }),
            capacity,
        }
    }

    /// The socket, for reading and for readiness.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Queues an encoded frame for the flusher. Returns `false` when the socket is closing,
    /// broken, or just overflowed (the frame is dropped; the client gap-fills after it
    /// reconnects).
    pub fn push(self: &Arc<Self>, frame: &Bytes) -> bool {
        self.enqueue(frame, false)
    }

    /// Sends an encoded frame now if nothing is queued and the socket takes it, else queues it
    /// behind what is (the socket's task writes the rest): for a socket's replies to its own
    /// client, and for channels too small for the flusher's batching to pay.
    pub fn send_now(self: &Arc<Self>, frame: &Bytes) -> bool {
        self.enqueue(frame, true)
    }

    fn enqueue(self: &Arc<Self>, frame: &Bytes, now: bool) -> bool {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.close.is_some() || queue.sealed || queue.broken {
            return false;
        }
        if let Some(counter) = &self.sent {
            counter.inc();
        }
        if queue.is_empty() && !now {
            if let Some(flusher) = &self.flusher {
                queue.push(frame.clone());
                if !queue.scheduled {
                    queue.scheduled = true;
                    drop(queue);
                    flusher.schedule(self.clone());
                }
                return true;
            }
        }
        if queue.is_empty() {
            let written = match self.write(&[IoSlice::new(frame)]) {
                Ok(n) if n == frame.len() => return true,
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
                Err(_) => {
                    queue.broken = true;
                    self.wake(queue);
                    return false;
                }
            };
            queue.push(frame.clone());
            queue.set_written(written);
            queue.progress_at = Some(Instant::now());
            // The socket's task takes over from here, when the socket is writable.
            self.wake(queue);
            return true;
        }
        if queue.len() >= self.capacity {
            queue.drop_unstarted();
            queue.close = Some(Box::new((
                ErrorCode::OverCapacity,
                "Client too slow: send queue full".into(),
            )));
            self.wake(queue);
            return false;
        }
        queue.push(frame.clone());
        true
    }

    /// Asks the socket's task to close with `code` after what is already queued.
    pub fn close(&self, code: ErrorCode, message: impl Into<String>) {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.close.is_none() {
            queue.close = Some(Box::new((code, message.into())));
        }
        self.wake(queue);
    }

    /// Queues the last frames (a close frame, and what must precede it) whatever the capacity,
    /// refuses anything after them, and writes what the socket takes now.
    pub fn seal(&self, last: &[Bytes]) {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.sealed || queue.broken {
            return;
        }
        queue.sealed = true;
        for frame in last {
            queue.push(frame.clone());
        }
        if self.write_queued(&mut queue).is_err() {
            queue.broken = true;
        }
    }

    /// Waits until the socket's task has something to do: frames were left to it, a close was
    /// requested, or the socket became writable while frames wait for it. Only the socket's own
    /// task may wait here (one waker is kept, the way tokio keeps one per direction).
    pub async fn ready(&self) {
        std::future::poll_fn(|cx| self.poll_ready(cx)).await;
    }

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if std::mem::take(&mut queue.woken) {
            return Poll::Ready(());
        }
        // Frames the flusher is about to write are not the task's business yet.
        if !queue.is_empty() && !queue.scheduled && self.stream.poll_write_ready(cx).is_ready() {
            return Poll::Ready(());
        }
        if !queue
            .waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            queue.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Wakes the socket's task (see [`Outbox::ready`]), releasing the lock first.
    fn wake(&self, mut queue: MutexGuard<'_, Queue>) {
        queue.woken = true;
        let waker = queue.waker.take();
        drop(queue);
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// The flusher's turn: writes what is queued; hands what the socket does not take to the
    /// socket's task. Returns how many frames were queued.
    fn flush_scheduled(&self) -> usize {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        queue.scheduled = false;
        let queued = queue.len();
        if queue.broken {
            return queued;
        }
        if self.write_queued(&mut queue).is_err() {
            queue.broken = true;
        } else if queue.is_empty() {
            return queued;
        }
        self.wake(queue);
        queued
    }

    /// Writes what is queued, as far as the socket takes it, and says what to do next.
    pub fn flush(&self) -> Flush {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.broken {
            return Flush::Broken;
        }
        match self.write_queued(&mut queue) {
            Err(_) => {
                queue.broken = true;
                Flush::Broken
            }
            Ok(()) => match (queue.close.as_deref(), queue.progress_at) {
                (Some((code, message)), _) => Flush::Close(*code, message.clone()),
                (None, Some(at)) if !queue.is_empty() => Flush::Waiting(at),
                (None, _) => Flush::Done,
            },
        }
    }

    /// Whether frames are waiting for the socket.
    pub fn has_backlog(&self) -> bool {
        !self.queue.lock().expect("outbox lock poisoned").is_empty()
    }

    /// Whether the socket has been told to close.
    pub fn is_closing(&self) -> bool {
        let queue = self.queue.lock().expect("outbox lock poisoned");
        queue.close.is_some() || queue.sealed
    }

    /// One non-blocking write of `slices`. It goes straight to the socket, not through tokio's
    /// `try_write`, which first reads the socket's readiness from its own allocation: one more
    /// cache miss per delivery, for a socket that is nearly always writable (a write is tried
    /// when frames arrive for an empty queue, or when tokio said writable). When the socket is
    /// full the same write is made through tokio, which then clears the readiness it holds, so
    /// that the socket's task waits in [`Outbox::ready`] for the next writable edge. (A write to
    /// a reset socket raises no SIGPIPE: Rust programs start with SIGPIPE ignored.)
    fn write(&self, slices: &[IoSlice<'_>]) -> io::Result<usize> {
        let socket = socket2::SockRef::from(&self.stream);
        // One frame (the usual case outside bursts) goes with `send`, which the kernel handles
        // with less work than `sendmsg`.
        let result = match slices {
            [one] => socket.send(one),
            _ => socket.send_vectored(slices),
        };
        match result {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => match slices {
                [one] => self.stream.try_write(one),
                _ => self.stream.try_write_vectored(slices),
            },
            other => other,
        }
    }

    /// Writes queued frames until they are all written or the socket is full.
    fn write_queued(&self, queue: &mut Queue) -> io::Result<()> {
        let mut progressed = false;
        while let Some(first) = &queue.first {
            let written = {
                let mut slices = [IoSlice::new(&[]); MAX_SLICES];
                let count = queue.len().min(MAX_SLICES);
                for (slot, frame) in slices.iter_mut().zip(queue.frames()) {
                    *slot = IoSlice::new(frame);
                }
                slices[0] = IoSlice::new(&first[queue.written as usize..]);
                match self.write(&slices[..count]) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                        // The clock is read only here, where frames are left waiting after
                        // progress: not once per delivery.
                        if progressed {
                            queue.progress_at = Some(Instant::now());
                        }
                        return Ok(());
                    }
                    Err(error) => return Err(error),
                }
            };
            progressed = true;
            let mut left = written + queue.written as usize;
            queue.written = 0;
            while let Some(front) = &queue.first {
                if left < front.len() {
                    queue.set_written(left);
                    break;
                }
                left -= front.len();
                queue.pop();
            }
        }
        queue.progress_at = None;
        // A small buffer (the first allocation's) is kept: in a burst every delivery would
        // otherwise allocate and free one, a few percent of the server's time. One a burst grew
        // is given back.
        if queue.more.capacity() > KEPT_QUEUE_CAPACITY {
            queue.more = VecDeque::new();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::{
        io::AsyncReadExt,
        net::{TcpListener, TcpStream},
    };

    use super::*;

    /// A connected pair: the server side (for the outbox) and the client side.
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (accepted.unwrap().0, client.unwrap())
    }

    async fn read_exactly(client: &mut TcpStream, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        client.read_exact(&mut buf).await.unwrap();
        buf
    }

    #[tokio::test]
    async fn what_a_one_frame_delivery_touches_lies_in_the_first_128_bytes() {
        let (server, _client) = pair().await;
        let outbox = Arc::new(Outbox::new(server, 8, None, None));
        let start = Arc::as_ptr(&outbox) as usize;
        let queue = {
            let guard = outbox.queue.lock().unwrap();
            &*guard as *const Queue as usize - start
        };
        // The `Arc`'s two counts come before the outbox in the allocation.
        let counts = 2 * std::mem::size_of::<usize>();
        let ends = [
            std::mem::offset_of!(Outbox, stream) + std::mem::size_of::<TcpStream>(),
            std::mem::offset_of!(Outbox, sent) + std::mem::size_of::<Option<Counter>>(),
            std::mem::offset_of!(Outbox, flusher) + std::mem::size_of::<usize>(),
            std::mem::offset_of!(Outbox, queue) + 4, // the lock's word
            queue + std::mem::offset_of!(Queue, first) + std::mem::size_of::<Option<Bytes>>(),
            queue + std::mem::offset_of!(Queue, close) + std::mem::size_of::<usize>(),
            queue + std::mem::offset_of!(Queue, scheduled) + 1,
            queue + std::mem::offset_of!(Queue, woken) + 1,
            queue + std::mem::offset_of!(Queue, sealed) + 1,
            queue + std::mem::offset_of!(Queue, broken) + 1,
            queue + std::mem::offset_of!(Queue, written) + std::mem::size_of::<u32>(),
        ];
        for end in ends {
            assert!(
                counts + end <= 128,
                "a hot field ends at byte {}",
                counts + end
            );
        }
    }

    #[tokio::test]
    async fn a_push_to_an_idle_socket_is_written_at_once() {
        let (server, mut client) = pair().await;
        let outbox = Arc::new(Outbox::new(server, 8, None, None));
        assert!(outbox.push(&Bytes::from_static(b"one")));
        assert!(!outbox.has_backlog());
        assert_eq!(outbox.flush(), Flush::Done);
        assert_eq!(read_exactly(&mut client, 3).await, b"one");
    }

    #[tokio::test]
    async fn a_full_socket_queues_then_overflows_with_4100_keeping_the_framing() {
        let (server, mut client) = pair().await;
        let outbox = Arc::new(Outbox::new(server, 4, None, None));
        let big = Bytes::from(vec![b'x'; 1 << 20]);
        // Fill the kernel's buffers until a frame is only partly taken or not at all.
        let mut pushed = 0;
        while !outbox.has_backlog() {
            assert!(outbox.push(&big));
            pushed += 1;
        }
        assert!(matches!(outbox.flush(), Flush::Waiting(_)));
        let mut accepted = 0;
        while outbox.push(&Bytes::from_static(b"small")) {
            accepted += 1;
        }
        assert_eq!(accepted, 3, "capacity 4 with one frame already queued");
        assert!(!outbox.push(&Bytes::from_static(b"refused")));
        let Flush::Close(code, _) = outbox.flush() else {
            panic!("expected a close verdict");
        };
        assert_eq!(code, ErrorCode::OverCapacity);
        // The close frame goes after the partly written frame, which is finished first.
        outbox.seal(&[Bytes::from_static(b"END")]);
        let writer = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                while outbox.has_backlog() {
                    outbox.ready().await;
                    outbox.flush();
                }
            }
        });
        let mut received = Vec::new();
        client.read_to_end_until(&mut received, b"END").await;
        writer.await.unwrap();
        let frames_seen = received.len() / big.len();
        assert!(frames_seen <= pushed, "{frames_seen} > {pushed}");
        assert_eq!(received.len() % big.len(), 3, "whole frames, then END");
    }

    #[tokio::test]
    async fn close_keeps_what_was_queued_and_refuses_more() {
        let (server, _client) = pair().await;
        let outbox = Arc::new(Outbox::new(server, 8, None, None));
        outbox.close(ErrorCode::Unauthorized, "bye");
        outbox.close(ErrorCode::Reconnect, "ignored: first verdict wins");
        assert!(!outbox.push(&Bytes::from_static(b"b")));
        assert_eq!(
            outbox.flush(),
            Flush::Close(ErrorCode::Unauthorized, "bye".into())
        );
        assert!(outbox.is_closing());
    }

    #[tokio::test]
    async fn a_close_request_wakes_the_waiting_task() {
        let (server, _client) = pair().await;
        let outbox = Arc::new(Outbox::new(server, 8, None, None));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                outbox.ready().await;
                outbox.flush()
            }
        });
        outbox.close(ErrorCode::Reconnect, "restart");
        assert!(matches!(
            waiter.await.unwrap(),
            Flush::Close(ErrorCode::Reconnect, _)
        ));
    }

    trait ReadUntil {
        async fn read_to_end_until(&mut self, into: &mut Vec<u8>, end: &[u8]);
    }

    impl ReadUntil for TcpStream {
        async fn read_to_end_until(&mut self, into: &mut Vec<u8>, end: &[u8]) {
            let mut buf = vec![0; 1 << 16];
            while !into.ends_with(end) {
                let n = self.read(&mut buf).await.unwrap();
                assert!(n > 0, "closed before {end:?}");
                into.extend_from_slice(&buf[..n]);
            }
        }
    }
}
