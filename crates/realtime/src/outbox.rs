//! A socket's outgoing queue: the only way anything reaches a client.
//!
//! Fan-out calls [`Outbox::push`], which never waits: it appends an already-encoded frame (a
//! `Bytes` shared by every subscriber) or, when the queue is full, marks the socket as too slow
//! so its task closes it with 4100. The socket's task drains everything queued in one go and
//! writes it with a single flush, so a burst costs one syscall per socket, not one per frame.
//!
//! Why not a tokio `mpsc`: its first block of slots is allocated up front for every channel,
//! which is most of an idle connection's memory. A `VecDeque` allocates only while frames are
//! waiting and is handed over whole (`mem::take`), so an idle socket owns no queue memory.

use std::{collections::VecDeque, sync::Mutex};

use bytes::Bytes;
use parley_protocol::ErrorCode;
use tokio::sync::Notify;

/// What the socket's task must do after sending what was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep going.
    Open,
    /// Send `pusher:error` with this code and message, then close with the same code.
    Close(ErrorCode, String),
}

#[derive(Debug)]
struct Queue {
    frames: VecDeque<Bytes>,
    verdict: Verdict,
}

/// One socket's queue. Shared (`Arc`) between the socket's task and every channel it is in.
#[derive(Debug)]
pub struct Outbox {
    // A std mutex: it is held only to push or swap a `VecDeque`, never across an `.await`, and
    // is uncontended except when a publish and the socket's task meet.
    queue: Mutex<Queue>,
    notify: Notify,
    capacity: usize,
}

impl Outbox {
    /// A queue that holds at most `capacity` frames before its socket is deemed too slow.
    pub fn new(capacity: usize) -> Self {
        Self {
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                verdict: Verdict::Open,
            }),
            notify: Notify::new(),
            capacity,
        }
    }

    /// Queues a frame. Returns `false` when the socket is closing or just overflowed (the frame
    /// is dropped; the client will gap-fill after it reconnects).
    pub fn push(&self, frame: Bytes) -> bool {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.verdict != Verdict::Open {
            return false;
        }
        if queue.frames.len() >= self.capacity {
            queue.frames.clear();
            queue.verdict = Verdict::Close(
                ErrorCode::OverCapacity,
                "Client too slow: send queue full".into(),
            );
            drop(queue);
            self.notify.notify_one();
            return false;
        }
        let was_empty = queue.frames.is_empty();
        queue.frames.push_back(frame);
        drop(queue);
        // Only the first frame of a batch needs to wake the task; later ones ride along.
        if was_empty {
            self.notify.notify_one();
        }
        true
    }

    /// Asks the socket's task to close with `code` after what is already queued.
    pub fn close(&self, code: ErrorCode, message: impl Into<String>) {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        if queue.verdict == Verdict::Open {
            queue.verdict = Verdict::Close(code, message.into());
        }
        drop(queue);
        self.notify.notify_one();
    }

    /// Waits until something was queued or a close was requested.
    pub async fn ready(&self) {
        self.notify.notified().await;
    }

    /// Takes everything queued, and what to do afterwards.
    pub fn drain(&self) -> (VecDeque<Bytes>, Verdict) {
        let mut queue = self.queue.lock().expect("outbox lock poisoned");
        (std::mem::take(&mut queue.frames), queue.verdict.clone())
    }

    /// Whether the socket has been told to close.
    pub fn is_closing(&self) -> bool {
        self.queue.lock().expect("outbox lock poisoned").verdict != Verdict::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_drops_the_backlog_and_closes_with_4100() {
        let outbox = Outbox::new(2);
        assert!(outbox.push(Bytes::from_static(b"1")));
        assert!(outbox.push(Bytes::from_static(b"2")));
        assert!(!outbox.push(Bytes::from_static(b"3")));
        assert!(!outbox.push(Bytes::from_static(b"4")));
        let (frames, verdict) = outbox.drain();
        assert!(frames.is_empty());
        assert!(matches!(
            verdict,
            Verdict::Close(ErrorCode::OverCapacity, _)
        ));
    }

    #[test]
    fn close_keeps_what_was_queued_and_refuses_more() {
        let outbox = Outbox::new(8);
        outbox.push(Bytes::from_static(b"a"));
        outbox.close(ErrorCode::Unauthorized, "bye");
        outbox.close(ErrorCode::Reconnect, "ignored: first verdict wins");
        assert!(!outbox.push(Bytes::from_static(b"b")));
        let (frames, verdict) = outbox.drain();
        assert_eq!(frames, [Bytes::from_static(b"a")]);
        assert_eq!(
            verdict,
            Verdict::Close(ErrorCode::Unauthorized, "bye".into())
        );
    }

    #[tokio::test]
    async fn a_push_wakes_the_waiting_task() {
        let outbox = std::sync::Arc::new(Outbox::new(8));
        let waiter = tokio::spawn({
            let outbox = outbox.clone();
            async move {
                outbox.ready().await;
                outbox.drain().0.len()
            }
        });
        outbox.push(Bytes::from_static(b"x"));
        assert_eq!(waiter.await.unwrap(), 1);
    }
}
