//! The tasks that write pushed frames to sockets: each takes the sockets whose queue became
//! non-empty, in the order they did, and writes each one's whole queue with one syscall.

use std::{
    mem,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
};

use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::Outbox;

/// Sockets written between two yields, so that a publish to many sockets does not hold a worker
/// thread for its whole length: requests (more publishes) are served in between, and their
/// frames join the queues not yet written.
const WRITES_PER_TURN: usize = 64;

/// One flusher task's list of sockets to write.
#[derive(Debug, Default)]
pub(crate) struct Shard {
    // A std mutex: held only to push to or swap the list, never across an `.await`.
    dirty: Mutex<Vec<Arc<Outbox>>>,
    notify: Notify,
}

impl Shard {
    /// Adds a socket whose queue just became non-empty (an outbox is in the list at most once).
    pub(crate) fn schedule(&self, outbox: Arc<Outbox>) {
        let mut dirty = self.dirty.lock().expect("flusher lock poisoned");
        let was_empty = dirty.is_empty();
        dirty.push(outbox);
        drop(dirty);
        if was_empty {
            self.notify.notify_one();
        }
    }

    async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut batch = Vec::new();
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = self.notify.notified() => {}
            }
            loop {
                mem::swap(
                    &mut batch,
                    &mut *self.dirty.lock().expect("flusher lock poisoned"),
                );
                if batch.is_empty() {
                    break;
                }
                for (index, outbox) in batch.drain(..).enumerate() {
                    outbox.flush_scheduled();
                    if index % WRITES_PER_TURN == WRITES_PER_TURN - 1 {
                        tokio::task::yield_now().await;
                    }
                }
            }
        }
    }
}

/// The flusher tasks of a server: one per worker thread, so that writing scales with cores.
/// Sockets are spread over them in turn. The tasks stop when the `Flusher` is dropped.
#[derive(Debug)]
pub struct Flusher {
    shards: Box<[Arc<Shard>]>,
    next: AtomicUsize,
    _stop: DropGuard,
}

impl Flusher {
    /// Starts `tasks` flusher tasks (at least one). Must be called inside a tokio runtime.
    pub fn start(tasks: usize) -> Self {
        let stop = CancellationToken::new();
        let shards: Box<[Arc<Shard>]> = (0..tasks.max(1))
            .map(|_| Arc::new(Shard::default()))
            .collect();
        for shard in shards.iter() {
            tokio::spawn(shard.clone().run(stop.clone()));
        }
        Self {
            shards,
            next: AtomicUsize::new(0),
            _stop: stop.drop_guard(),
        }
    }

    /// One flusher task per worker thread the machine offers.
    pub fn per_core() -> Self {
        Self::start(std::thread::available_parallelism().map_or(1, usize::from))
    }

    /// The shard a new socket is written by.
    pub(crate) fn assign(&self) -> Arc<Shard> {
        let index = self.next.fetch_add(1, Ordering::Relaxed) % self.shards.len();
        self.shards[index].clone()
    }
}
