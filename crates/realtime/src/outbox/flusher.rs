//! The threads that write pushed frames to sockets: they take the sockets whose queue became
//! non-empty from one list, in the order they did, and write each one's whole queue with one
//! syscall. One thread writes while it keeps up; the others help only when it does not.

use std::{
    collections::VecDeque,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Condvar, Mutex, MutexGuard,
    },
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use tokio::sync::Notify;

use super::Outbox;

/// Sockets taken from the list at a time: the lock is taken once per turn, not per socket.
const WRITES_PER_TURN: usize = 64;

/// How long the first flusher writes without pause before the helpers may join it. A fan-out
/// that one core writes sooner (5 000 sockets take about 30 ms) gains less from a second core
/// than it costs: another thread is woken, the sockets' cache lines move between cores, and
/// whatever else runs on the machine (request handling, TLS, the app, a client on the same box)
/// loses its core meanwhile. (bench/js measured it: two flushers writing every fan-out made a
/// one-threaded client on the same two cores slower to read the same deliveries.)
const HELP_AFTER: Duration = Duration::from_millis(50);

/// Frames per socket below which a busy first flusher calls the helpers. A flusher that falls
/// behind a burst finds several frames waiting in each socket and writes them with one syscall,
/// so it catches up by itself, at a fraction of the cost per frame; helpers there would only
/// split those batches into more syscalls (bench/js burst: 35 % fewer deliveries per second at
/// three times the CPU per delivery with them). One frame per socket means every frame costs a
/// syscall and one core is what limits the fan-out: that is when the other cores help.
const BATCHED: usize = 2;

#[derive(Debug, Default)]
struct State {
    /// The sockets to write, in the order their queues became non-empty (an outbox is here at
    /// most once), so that a channel's subscribers are written in the order they joined.
    sockets: VecDeque<Arc<Outbox>>,
    /// The helpers are to write beside the first flusher: set and cleared after each of its
    /// turns (`State::decide_help`), and cleared when it finds the list empty. The helpers take
    /// no turn while it is false.
    help_wanted: bool,
    stop: bool,
    /// Sockets ever listed, and ever written: the list's position, for `written_up_to`.
    listed: u64,
    written: u64,
}

impl State {
    /// Decides, once the first flusher has taken a turn, whether the helpers write beside it,
    /// from whether its last turn found frames batched and whether it has been busy for longer
    /// than `HELP_AFTER`. They are called when sockets still wait and that turn wrote single
    /// frames, and they leave as soon as a turn finds batches again: a burst can keep the list
    /// full for seconds, and helpers that stayed for all of it would split every batch into more
    /// syscalls and take the core a client on the same machine reads with (`BATCHED`). Returns
    /// whether they were just called, so that the caller wakes them.
    fn decide_help(&mut self, last_turn_batched: bool, busy_long: bool) -> bool {
        let was_wanted = self.help_wanted;
        self.help_wanted =
            !last_turn_batched && (was_wanted || (busy_long && !self.sockets.is_empty()));
        self.help_wanted && !was_wanted
    }
}

/// What the flusher threads share.
#[derive(Debug)]
pub(crate) struct Dirty {
    // A std mutex: held only to push a socket or take a turn's sockets.
    state: Mutex<State>,
    /// Wakes the first flusher when the list gets its first socket.
    first: Condvar,
    /// Wakes the helpers when help is wanted.
    helpers: Condvar,
    /// Wakes those waiting in `written_up_to` after each turn.
    turn_done: Notify,
    /// `HELP_AFTER`, shorter in tests.
    help_after: Duration,
    /// Times the helpers were called, for the tests.
    help_calls: AtomicUsize,
}

impl Dirty {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().expect("flusher lock poisoned")
    }

    /// Adds a socket whose queue just became non-empty.
    pub(crate) fn schedule(&self, outbox: Arc<Outbox>) {
        let mut state = self.lock();
        let was_empty = state.sockets.is_empty();
        state.sockets.push_back(outbox);
        state.listed += 1;
        drop(state);
        if was_empty {
            self.first.notify_one();
        }
    }

    /// Counts a turn's sockets as written and wakes who waits for them.
    fn turn_done(&self, sockets: usize) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        state.written += sockets as u64;
        self.turn_done.notify_waiters();
        state
    }

    fn run_first(&self) {
        let mut turn = Vec::with_capacity(WRITES_PER_TURN);
        loop {
            let mut state = self
                .first
                .wait_while(self.lock(), |s| s.sockets.is_empty() && !s.stop)
                .expect("flusher lock poisoned");
            if state.stop {
                return;
            }
            let started = Instant::now();
            // Whether the last turn found `BATCHED` frames or more per socket.
            let mut batched = true;
            loop {
                let sockets = take_turn(&mut state, &mut turn);
                if sockets == 0 {
                    state.help_wanted = false;
                    break;
                }
                if state.decide_help(batched, started.elapsed() >= self.help_after) {
                    self.help_calls.fetch_add(1, Ordering::Relaxed);
                    self.helpers.notify_all();
                }
                drop(state);
                batched = write_turn(&mut turn) >= BATCHED * sockets;
                state = self.turn_done(sockets);
            }
        }
    }

    fn run_helper(&self) {
        let mut turn = Vec::with_capacity(WRITES_PER_TURN);
        loop {
            let mut state = self
                .helpers
                .wait_while(self.lock(), |s| {
                    (!s.help_wanted || s.sockets.is_empty()) && !s.stop
                })
                .expect("flusher lock poisoned");
            if state.stop {
                return;
            }
            while state.help_wanted && !state.sockets.is_empty() {
                let sockets = take_turn(&mut state, &mut turn);
                drop(state);
                write_turn(&mut turn);
                state = self.turn_done(sockets);
            }
        }
    }
}

/// Moves the next turn's sockets from the list to `turn`; returns how many.
fn take_turn(state: &mut State, turn: &mut Vec<Arc<Outbox>>) -> usize {
    let take = state.sockets.len().min(WRITES_PER_TURN);
    turn.extend(state.sockets.drain(..take));
    take
}

/// Writes the turn's sockets and empties it; returns how many frames they had queued.
fn write_turn(turn: &mut Vec<Arc<Outbox>>) -> usize {
    turn.drain(..).map(|outbox| outbox.flush_scheduled()).sum()
}

/// The flusher threads of a server: as many as the cores it may use, so that writing scales
/// with cores when one is not enough. Threads rather than tokio tasks: the writing is all
/// non-blocking syscalls back to back, which a task would have to interrupt every few sockets
/// with a yield (each yield wakes an idle worker to steal it, moving the writing between
/// cores), while the kernel shares a core between a flusher thread and the workers without it.
/// The threads stop when the `Flusher` is dropped.
#[derive(Debug)]
pub struct Flusher {
    dirty: Arc<Dirty>,
    threads: Vec<JoinHandle<()>>,
}

impl Flusher {
    /// Starts `threads` flusher threads (at least one): the first and its helpers.
    pub fn start(threads: usize) -> Self {
        let mut flusher = Self::without_threads(HELP_AFTER);
        flusher.spawn(threads.max(1));
        flusher
    }

    fn without_threads(help_after: Duration) -> Self {
        let dirty = Arc::new(Dirty {
            state: Mutex::default(),
            first: Condvar::new(),
            helpers: Condvar::new(),
            turn_done: Notify::new(),
            help_after,
            help_calls: AtomicUsize::new(0),
        });
        Self {
            dirty,
            threads: Vec::new(),
        }
    }

    fn spawn(&mut self, threads: usize) {
        for index in 0..threads {
            let dirty = self.dirty.clone();
            let thread = thread::Builder::new()
                .name(format!("parley-flusher-{index}"))
                .spawn(move || {
                    if index == 0 {
                        dirty.run_first();
                    } else {
                        dirty.run_helper();
                    }
                })
                .expect("failed to start a flusher thread");
            self.threads.push(thread);
        }
    }

    /// One flusher thread per core the process may use.
    pub fn per_core() -> Self {
        Self::start(thread::available_parallelism().map_or(1, usize::from))
    }

    /// How far the list has been filled: give it to [`Flusher::written_up_to`].
    pub fn listed(&self) -> u64 {
        self.dirty.lock().listed
    }

    /// Waits until the sockets listed before `listed` (from [`Flusher::listed`]) have been
    /// written, or `at_most`. The HTTP API answers a publish after this, with the position taken
    /// before the publish: at once when the flusher has caught up, and otherwise when it has
    /// written what was waiting before, so publishers that send as fast as they are answered
    /// wait for the writes instead of piling frames up in the queues (where each event's
    /// latency would grow with the length of the burst).
    pub async fn written_up_to(&self, listed: u64, at_most: Duration) {
        let caught_up = async {
            loop {
                let turn_done = self.dirty.turn_done.notified();
                tokio::pin!(turn_done);
                turn_done.as_mut().enable();
                if self.is_written(listed) {
                    return;
                }
                turn_done.await;
            }
        };
        let _ = tokio::time::timeout(at_most, caught_up).await;
    }

    fn is_written(&self, listed: u64) -> bool {
        let state = self.dirty.lock();
        state.written >= listed || state.stop
    }

    /// The list a new socket's queue is handed to.
    pub(crate) fn handle(&self) -> Arc<Dirty> {
        self.dirty.clone()
    }
}

impl Drop for Flusher {
    /// Stops the threads and waits for them: a turn in progress ends with its last socket, and
    /// every write is non-blocking, so this is quick. Then lets go of the sockets still listed:
    /// each holds the list, so they would otherwise keep each other alive.
    fn drop(&mut self) {
        self.dirty.lock().stop = true;
        self.dirty.first.notify_all();
        self.dirty.helpers.notify_all();
        self.dirty.turn_done.notify_waiters();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.dirty.lock().sockets.clear();
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use tokio::{
        io::AsyncReadExt,
        net::{TcpListener, TcpStream},
    };

    use super::*;

    /// `count` connected pairs: outboxes on the server sides, written by `flusher`, and the
    /// client sides.
    async fn sockets(count: usize, flusher: &Flusher) -> (Vec<Arc<Outbox>>, Vec<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (mut outboxes, mut clients) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let client = TcpStream::connect(listener.local_addr().unwrap());
            let (client, accepted) = tokio::join!(client, listener.accept());
            outboxes.push(Arc::new(Outbox::new(
                accepted.unwrap().0,
                100_000,
                None,
                Some(flusher),
            )));
            clients.push(client.unwrap());
        }
        (outboxes, clients)
    }

    /// Pushes numbered frames `1..rounds` to every socket, one round after the other (frame 0
    /// is pushed by `first_round`), and checks that each client reads frames `read_from..rounds`
    /// in order.
    async fn every_frame_arrives_in_order(
        outboxes: &[Arc<Outbox>],
        clients: &mut [TcpStream],
        rounds: u32,
        read_from: u32,
    ) {
        for round in 1..rounds {
            let frame = Bytes::from(format!("{round:08}"));
            for outbox in outboxes {
                assert!(outbox.push(&frame));
            }
        }
        for client in clients {
            let mut read = vec![0; 8 * (rounds - read_from) as usize];
            client.read_exact(&mut read).await.unwrap();
            let expected: String = (read_from..rounds)
                .map(|round| format!("{round:08}"))
                .collect();
            assert_eq!(String::from_utf8(read).unwrap(), expected);
        }
    }

    /// Pushes frame 0 to every socket, in reverse order.
    fn first_round(outboxes: &[Arc<Outbox>]) {
        for outbox in outboxes.iter().rev() {
            assert!(outbox.push(&Bytes::from(format!("{:08}", 0))));
        }
    }

    #[tokio::test]
    async fn sockets_are_written_in_the_order_their_queues_filled() {
        // No thread takes from the list while it is looked at.
        let flusher = Flusher::without_threads(HELP_AFTER);
        let (outboxes, _clients) = sockets(5, &flusher).await;
        first_round(&outboxes);
        let state = flusher.dirty.lock();
        let order: Vec<_> = state.sockets.iter().map(Arc::as_ptr).collect();
        let expected: Vec<_> = outboxes.iter().rev().map(Arc::as_ptr).collect();
        assert_eq!(order, expected);
    }

    #[tokio::test]
    async fn one_flusher_writes_every_frame_in_order() {
        let flusher = Flusher::start(1);
        let (outboxes, mut clients) = sockets(20, &flusher).await;
        first_round(&outboxes);
        every_frame_arrives_in_order(&outboxes, &mut clients, 200, 0).await;
        assert_eq!(flusher.dirty.help_calls.load(Ordering::Relaxed), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn helpers_that_join_keep_every_socket_in_order() {
        // The list holds 400 sockets with one frame each before the threads start, and the
        // helpers are called as soon as a turn of single frames leaves sockets waiting: from
        // the second turn on.
        let mut flusher = Flusher::without_threads(Duration::ZERO);
        let (outboxes, mut clients) = sockets(400, &flusher).await;
        first_round(&outboxes);
        flusher.spawn(3);
        for client in &mut clients {
            let mut read = [0; 8];
            client.read_exact(&mut read).await.unwrap();
            assert_eq!(&read, b"00000000");
        }
        assert_eq!(flusher.dirty.help_calls.load(Ordering::Relaxed), 1);
        // The rounds after it, with the helpers free to join.
        every_frame_arrives_in_order(&outboxes, &mut clients, 50, 1).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_that_finds_frames_waiting_is_left_to_the_first_flusher() {
        // Every socket has 20 frames queued before the threads start: each turn writes batches,
        // so the first flusher is not behind in a way helpers would mend.
        let mut flusher = Flusher::without_threads(Duration::ZERO);
        let (outboxes, mut clients) = sockets(400, &flusher).await;
        for round in 0..20 {
            for outbox in &outboxes {
                assert!(outbox.push(&Bytes::from(format!("{round:08}"))));
            }
        }
        flusher.spawn(3);
        for client in &mut clients {
            let mut read = vec![0; 8 * 20];
            client.read_exact(&mut read).await.unwrap();
        }
        assert_eq!(flusher.dirty.help_calls.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn helpers_are_called_for_single_frames_and_leave_when_batches_come_back() {
        let flusher = Flusher::without_threads(HELP_AFTER);
        let (outboxes, _clients) = sockets(1, &flusher).await;
        let waiting = || State {
            sockets: VecDeque::from([outboxes[0].clone()]),
            ..State::default()
        };
        // Not before the first flusher has been busy for `HELP_AFTER`, and not for batches.
        let mut state = waiting();
        assert!(!state.decide_help(false, false));
        assert!(!state.decide_help(true, true));
        assert!(!state.help_wanted);
        // Nor when nothing waits after the turn it took.
        let mut idle = State::default();
        assert!(!idle.decide_help(false, true));
        assert!(!idle.help_wanted);
        // Single frames, busy long, sockets waiting: called once, and staying while that lasts.
        assert!(state.decide_help(false, true));
        assert!(state.help_wanted);
        assert!(!state.decide_help(false, true));
        assert!(state.help_wanted);
        // Staying even if the list empties for a moment: the first flusher ends the busy spell.
        state.sockets.clear();
        assert!(!state.decide_help(false, true));
        assert!(state.help_wanted);
        // A batched turn sends them away, though sockets still wait.
        let mut state = waiting();
        assert!(state.decide_help(false, true));
        assert!(!state.decide_help(true, true));
        assert!(!state.help_wanted);
        // And single frames again call them again.
        assert!(state.decide_help(false, true));
    }

    #[tokio::test]
    async fn a_publish_waits_for_the_sockets_listed_before_it_not_for_its_own() {
        let mut flusher = Flusher::without_threads(HELP_AFTER);
        let (outboxes, mut clients) = sockets(3, &flusher).await;
        // Caught up: nothing to wait for.
        let before = flusher.listed();
        assert_eq!(before, 0);
        first_round(&outboxes[..2]);
        let mine = flusher.listed();
        assert_eq!(mine, 2);
        assert!(flusher.is_written(before));
        // Two sockets wait and no thread writes them: the wait ends at its limit.
        flusher.written_up_to(mine, Duration::from_millis(50)).await;
        assert!(!flusher.is_written(mine));
        // Once the flusher runs, the wait ends when those two are written.
        flusher.spawn(1);
        flusher.written_up_to(mine, Duration::from_secs(60)).await;
        assert!(flusher.is_written(mine));
        for client in &mut clients[..2] {
            let mut read = [0; 8];
            client.read_exact(&mut read).await.unwrap();
        }
    }

    #[tokio::test]
    async fn dropping_the_flusher_lets_go_of_the_sockets_still_listed() {
        let flusher = Flusher::without_threads(HELP_AFTER);
        let (outboxes, _clients) = sockets(3, &flusher).await;
        first_round(&outboxes);
        assert!(outboxes.iter().all(|outbox| Arc::strong_count(outbox) == 2));
        drop(flusher);
        assert!(outboxes.iter().all(|outbox| Arc::strong_count(outbox) == 1));
    }

    #[tokio::test]
    async fn dropping_the_flusher_stops_its_threads() {
        let flusher = Flusher::start(3);
        let dirty = flusher.handle();
        drop(flusher);
        assert_eq!(
            Arc::strong_count(&dirty),
            1,
            "a flusher thread still holds the list"
        );
    }
}
