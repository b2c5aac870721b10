//! Group reads for what polling widgets ask over and over: concurrent reads of one kind (a
//! visitor's widget and conversation, a conversation's page) that arrive while that kind's
//! statements are all in flight wait, and are then answered together by one statement.
//!
//! 10 000 widgets polling every 2 s are 5 000 requests a second, each two tiny indexed reads.
//! Each read alone is a round trip (to SQLite's connection thread, or to a PostgreSQL backend)
//! and holds a pooled connection for it; under that load the pool, not the database, was what
//! polls queued for, and most of the database's work per read was the statement's own overhead.
//! One statement for many polls (`WITH q(n, …) AS (VALUES …)` joined to the tables, each result
//! row naming its request `n`) costs little more than one for a single poll.
//!
//! A read that arrives while fewer than the kind's limit are in flight runs at once, alone, by
//! its caller, with the same single-request statement as before this existed: at a modest rate
//! nothing waits, nothing changes hands, and nothing is read differently. Only when every slot is
//! busy does a read queue; the caller whose statement comes back first takes everything queued
//! (up to [`MAX_BATCH`]) onto a task of its own and returns its own answer meanwhile. Batches
//! thus grow with the load by themselves, with no timer, and a queued read waits at most for one
//! statement ahead of it.
//!
//! `PARLEY_GROUP_READ=0` (or `false`, `off`, `no`) lifts the limit: every read runs alone, as
//! it would without this, which is how the benchmark compares the two in one run.

use std::{
    future::Future,
    pin::Pin,
    sync::{Arc, Mutex, MutexGuard},
};

use sqlx::{Encode, Executor, IntoArguments, Pool, Type};
use tokio::sync::oneshot;

use super::{errors::replicate, rows, rows::Columns, statements as sql, Backend};
use crate::{Conversation, ConversationPage, Result, StoreError, Widget};

/// The most reads one statement answers; also the largest statement shape (see [`padded`]).
pub(crate) const MAX_BATCH: usize = 64;

/// Whether the environment turns group reads off (`PARLEY_GROUP_READ=0`); on by default.
pub(crate) fn enabled_by_environment() -> bool {
    super::group_commit::enabled(std::env::var("PARLEY_GROUP_READ").ok().as_deref())
}

/// The statement shape for a batch of `len` reads: the next power of two, so that a handful of
/// shapes (1, 2, 4 … [`MAX_BATCH`]) serve every batch and stay prepared on each connection. The
/// rows past `len` are filled with a request that matches nothing.
pub(crate) fn padded(len: usize) -> usize {
    len.clamp(1, MAX_BATCH).next_power_of_two()
}

/// Runs one batch of requests as one statement and answers each, in order. A batch of one
/// runs the single-request statement.
pub(crate) type Run<Q, A> =
    Arc<dyn Fn(Vec<Q>) -> Pin<Box<dyn Future<Output = Result<Vec<A>>> + Send>> + Send + Sync>;

/// The reads of one kind.
///
/// Concurrency: a mutex guards the count in flight and the queue; it is held only to count and
/// to push or take, never across a statement. Reads run on their callers' tasks; only a batch of
/// queued reads runs on a task of its own (spawned by the caller that hands its slot over), so
/// that the caller which happens to come back first is not kept waiting for others' answers.
pub(crate) struct GroupRead<Q, A> {
    run: Run<Q, A>,
    /// Whether two queued requests may share a statement (e.g. they ask for the same limit).
    same_batch: fn(&Q, &Q) -> bool,
    /// Statements in flight at most; `usize::MAX` when group reads are off.
    most_in_flight: usize,
    state: Mutex<State<Q, A>>,
}

struct State<Q, A> {
    in_flight: usize,
    waiting: Vec<Waiting<Q, A>>,
}

/// Whether a read runs now, on its caller's slot, or waits for a batch.
enum Turn<Q, A> {
    Now(Q),
    Queued(oneshot::Receiver<Result<A>>),
}

struct Waiting<Q, A> {
    request: Q,
    answer: oneshot::Sender<Result<A>>,
}

impl<Q, A> std::fmt::Debug for GroupRead<Q, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRead")
            .field("most_in_flight", &self.most_in_flight)
            .finish_non_exhaustive()
    }
}

impl<Q: Send + 'static, A: Send + 'static> GroupRead<Q, A> {
    /// Reads run by `run`, at most `most_in_flight` statements at a time (at least one).
    pub(crate) fn new(
        run: Run<Q, A>,
        same_batch: fn(&Q, &Q) -> bool,
        most_in_flight: usize,
    ) -> Self {
        Self {
            run,
            same_batch,
            most_in_flight: most_in_flight.max(1),
            state: Mutex::new(State {
                in_flight: 0,
                waiting: Vec::new(),
            }),
        }
    }

    /// Answers `request`: at once if a slot is free, else with the next batch.
    pub(crate) async fn read(self: &Arc<Self>, request: Q) -> Result<A> {
        let turn = {
            let mut state = self.lock();
            if state.in_flight < self.most_in_flight {
                state.in_flight += 1;
                Turn::Now(request)
            } else {
                let (answer, answered) = oneshot::channel();
                state.waiting.push(Waiting { request, answer });
                Turn::Queued(answered)
            }
        };
        match turn {
            // Dropped unanswered only when the task running the batch was cancelled, which
            // happens when its runtime shuts down.
            Turn::Queued(answered) => answered
                .await
                .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed))),
            Turn::Now(request) => {
                // Handed over (or given back) when this future ends, also if it is cancelled.
                let _slot = Slot {
                    reads: Arc::clone(self),
                    on_drop: OnDrop::HandOver,
                };
                let mut answers = (self.run)(vec![request]).await?;
                answers
                    .pop()
                    .ok_or_else(|| StoreError::Corrupt("a read returned no answer".into()))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<Q, A>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next batch from the queue, or gives the slot back when nothing waits.
    fn next_batch(&self) -> Option<Vec<Waiting<Q, A>>> {
        let mut state = self.lock();
        // A caller that has gone (its request was cancelled) is not read for.
        state.waiting.retain(|waiting| !waiting.answer.is_closed());
        if state.waiting.is_empty() {
            state.in_flight -= 1;
            return None;
        }
        let mut batch: Vec<Waiting<Q, A>> = Vec::new();
        for waiting in std::mem::take(&mut state.waiting) {
            let joins = batch.len() < MAX_BATCH
                && batch
                    .first()
                    .is_none_or(|first| (self.same_batch)(&first.request, &waiting.request));
            if joins {
                batch.push(waiting);
            } else {
                state.waiting.push(waiting);
            }
        }
        Some(batch)
    }
}

/// A statement slot held by a caller or by a batch task, and what becomes of it when its
/// holder ends.
struct Slot<Q: Send + 'static, A: Send + 'static> {
    reads: Arc<GroupRead<Q, A>>,
    on_drop: OnDrop,
}

enum OnDrop {
    /// A caller's: whatever queued meanwhile is taken to a batch task, which keeps the slot.
    HandOver,
    /// A batch task's, ended early (its runtime shut down): the slot goes back and the reads
    /// still queued are answered with an error rather than left waiting for nobody.
    GiveBack,
    /// Given back already.
    Nothing,
}

impl<Q: Send + 'static, A: Send + 'static> Drop for Slot<Q, A> {
    fn drop(&mut self) {
        match self.on_drop {
            OnDrop::Nothing => {}
            OnDrop::GiveBack => {
                let mut state = self.reads.lock();
                state.in_flight -= 1;
                state.waiting.clear();
            }
            OnDrop::HandOver => {
                let Some(batch) = self.reads.next_batch() else {
                    return;
                };
                // The batch task's slot, made here so that it comes back even if the task
                // never runs (a runtime that is shutting down drops a new task at once); it
                // gives back rather than handing over again, which could spin.
                let slot = Slot {
                    reads: Arc::clone(&self.reads),
                    on_drop: OnDrop::GiveBack,
                };
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => {
                        runtime.spawn(answer_batches(slot, batch));
                    }
                    // No runtime to answer on: the batch's callers get an error.
                    Err(_) => drop((slot, batch)),
                }
            }
        }
    }
}

/// A batch task: answers `batch`, then each next one queued meanwhile, until none waits.
async fn answer_batches<Q: Send + 'static, A: Send + 'static>(
    mut slot: Slot<Q, A>,
    mut batch: Vec<Waiting<Q, A>>,
) {
    let reads = Arc::clone(&slot.reads);
    loop {
        let (requests, answers): (Vec<Q>, Vec<_>) = batch
            .into_iter()
            .map(|waiting| (waiting.request, waiting.answer))
            .unzip();
        let asked = requests.len();
        match (reads.run)(requests).await {
            Ok(results) if results.len() == asked => {
                for (answer, result) in answers.into_iter().zip(results) {
                    let _ = answer.send(Ok(result));
                }
            }
            Ok(results) => {
                let error = StoreError::Corrupt(format!(
                    "a batch of {asked} reads returned {} answers",
                    results.len()
                ));
                for answer in answers {
                    let _ = answer.send(Err(copy(&error)));
                }
            }
            Err(error) => {
                for answer in answers {
                    let _ = answer.send(Err(copy(&error)));
                }
            }
        }
        match reads.next_batch() {
            Some(next) => batch = next,
            None => {
                slot.on_drop = OnDrop::Nothing;
                return;
            }
        }
    }
}

/// The same failure again, for each caller of a batch that one failure ended.
fn copy(error: &StoreError) -> StoreError {
    match error {
        StoreError::Database(error) => StoreError::Database(replicate(error)),
        StoreError::NotFound(what) => StoreError::NotFound(what.clone()),
        StoreError::Conflict(what) => StoreError::Conflict(what.clone()),
        StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
        other => StoreError::Database(sqlx::Error::Protocol(other.to_string())),
    }
}

/// What a visitor's request is checked against: the hash of its widget token and the
/// conversation it names.
pub(crate) type VisitorRequest = (String, i64);

/// The live widget with that token, and the conversation when it is that widget's.
pub(crate) type VisitorAnswer = Option<(Widget, Option<Conversation>)>;

/// A page of a conversation: its id, the message id to read after, and the most messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageRequest {
    pub(crate) conversation_id: i64,
    pub(crate) after: i64,
    pub(crate) limit: i64,
}

/// One statement per shape ([`padded`]): 1, 2, 4 … [`MAX_BATCH`] requests.
struct Shapes(Vec<String>);

impl Shapes {
    fn new(statement: impl Fn(usize) -> String) -> Self {
        Self(
            std::iter::successors(Some(1), |rows| (*rows < MAX_BATCH).then_some(rows * 2))
                .map(statement)
                .collect(),
        )
    }

    /// The statement for `rows` requests, and how many rows it has.
    fn of(&self, rows: usize) -> (&str, usize) {
        let shape = padded(rows);
        (&self.0[shape.trailing_zeros() as usize], shape)
    }
}

/// The group reads of widget-and-conversation lookups on `pool`.
pub(crate) fn visitor_reads<DB>(
    pool: Pool<DB>,
    most_in_flight: usize,
) -> GroupRead<VisitorRequest, VisitorAnswer>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let shapes = Arc::new(Shapes::new(sql::live_widgets_and_conversations));
    let run: Run<VisitorRequest, VisitorAnswer> = Arc::new(move |requests| {
        let (pool, shapes) = (pool.clone(), Arc::clone(&shapes));
        Box::pin(async move {
            if let [(token_hash, conversation_id)] = requests.as_slice() {
                let row = sqlx::query(sql::LIVE_WIDGET_AND_CONVERSATION)
                    .bind(token_hash.clone())
                    .bind(*conversation_id)
                    .fetch_optional(&pool)
                    .await?;
                return Ok(vec![row
                    .as_ref()
                    .map(rows::widget_and_conversation)
                    .transpose()?]);
            }
            let (statement, rows) = shapes.of(requests.len());
            let mut query = sqlx::query(statement);
            for (token_hash, conversation_id) in &requests {
                query = query.bind(token_hash.clone()).bind(*conversation_id);
            }
            // The padding asks for a token no widget has.
            for _ in requests.len()..rows {
                query = query.bind(String::new()).bind(0_i64);
            }
            let found = query.fetch_all(&pool).await?;
            let mut answers: Vec<VisitorAnswer> = requests.iter().map(|_| None).collect();
            for row in &found {
                if let Some(answer) = request_of(row, &mut answers)? {
                    *answer = Some(rows::widget_and_conversation(row)?);
                }
            }
            Ok(answers)
        })
    });
    GroupRead::new(run, |_, _| true, most_in_flight)
}

/// The group reads of conversation pages on `pool`. Requests share a statement when they ask
/// for the same limit (the widget always asks for the same).
pub(crate) fn page_reads<DB>(
    pool: Pool<DB>,
    most_in_flight: usize,
) -> GroupRead<PageRequest, ConversationPage>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let shapes = Arc::new(Shapes::new(|rows| {
        sql::conversation_pages(rows, DB::PAGE_MESSAGES)
    }));
    let run: Run<PageRequest, ConversationPage> = Arc::new(move |requests| {
        let (pool, shapes) = (pool.clone(), Arc::clone(&shapes));
        Box::pin(async move {
            if let [request] = requests.as_slice() {
                let found = sqlx::query(sql::CONVERSATION_PAGE)
                    .bind(request.conversation_id)
                    .bind(request.after)
                    .bind(request.limit.max(0))
                    .fetch_all(&pool)
                    .await?;
                return Ok(vec![rows::conversation_page(
                    &found,
                    request.conversation_id,
                )?]);
            }
            let (statement, rows) = shapes.of(requests.len());
            let limit = requests.first().map_or(0, |request| request.limit.max(0));
            let mut query = sqlx::query(statement).bind(limit);
            for request in &requests {
                query = query.bind(request.conversation_id).bind(request.after);
            }
            // The padding asks for a conversation that does not exist (ids start at 1).
            for _ in requests.len()..rows {
                query = query.bind(0_i64).bind(0_i64);
            }
            let found = query.fetch_all(&pool).await?;
            // Each request's rows come together, in request order.
            let mut pages = Vec::with_capacity(requests.len());
            let mut rest = found.as_slice();
            for (n, request) in requests.iter().enumerate() {
                let mut own = 0;
                while own < rest.len() && rest[own].int("n")? == n as i64 {
                    own += 1;
                }
                let (mine, later) = rest.split_at(own);
                pages.push(rows::conversation_page(mine, request.conversation_id)?);
                rest = later;
            }
            if let Some(stray) = rest.first() {
                return Err(StoreError::Corrupt(format!(
                    "a page row for request {} of {}",
                    stray.int("n")?,
                    requests.len()
                )));
            }
            Ok(pages)
        })
    });
    GroupRead::new(
        run,
        |first, other| first.limit == other.limit,
        most_in_flight,
    )
}

/// The answer slot a row's `n` names, if it names one of `answers` (padding names none).
fn request_of<'a, T>(row: &impl Columns, answers: &'a mut [T]) -> Result<Option<&'a mut T>> {
    let n = row.int("n")?;
    Ok(usize::try_from(n).ok().and_then(|n| answers.get_mut(n)))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    /// A fake statement: doubles each request, records the batch sizes and the most batches
    /// in flight, and waits for a permit from `gate` before answering.
    struct Fake {
        batches: Mutex<Vec<Vec<i64>>>,
        running: AtomicUsize,
        most_running: AtomicUsize,
        gate: Semaphore,
    }

    fn fake(
        most_in_flight: usize,
        same_batch: fn(&i64, &i64) -> bool,
    ) -> (Arc<Fake>, Arc<GroupRead<i64, i64>>) {
        let fake = Arc::new(Fake {
            batches: Mutex::default(),
            running: AtomicUsize::new(0),
            most_running: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        });
        let statement = Arc::clone(&fake);
        let run: Run<i64, i64> = Arc::new(move |requests: Vec<i64>| {
            let fake = Arc::clone(&statement);
            Box::pin(async move {
                let running = fake.running.fetch_add(1, Ordering::SeqCst) + 1;
                fake.most_running.fetch_max(running, Ordering::SeqCst);
                fake.batches.lock().unwrap().push(requests.clone());
                fake.gate.acquire().await.expect("gate").forget();
                fake.running.fetch_sub(1, Ordering::SeqCst);
                if requests.contains(&-1) {
                    return Err(StoreError::Corrupt("asked for -1".into()));
                }
                Ok(requests.iter().map(|r| r * 2).collect())
            })
        });
        (
            fake,
            Arc::new(GroupRead::new(run, same_batch, most_in_flight)),
        )
    }

    /// Lets tasks run until each has reached its first wait.
    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_beyond_the_limit_wait_and_share_one_statement() {
        let (fake, reads) = fake(2, |_, _| true);
        let tasks: Vec<_> = (1..=12)
            .map(|n| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(n).await })
            })
            .collect();
        settle().await;
        // Two run alone at once; the other ten wait.
        assert_eq!(*fake.batches.lock().unwrap(), vec![vec![1], vec![2]]);
        fake.gate.add_permits(100);
        for (n, task) in (1..=12).zip(tasks) {
            assert_eq!(task.await.expect("task").expect("read"), n * 2);
        }
        let batches = fake.batches.lock().unwrap().clone();
        assert_eq!(batches.len(), 3, "{batches:?}");
        assert_eq!(batches[2], (3..=12).collect::<Vec<_>>());
        assert_eq!(fake.most_running.load(Ordering::SeqCst), 2);
        assert_eq!(reads.lock().in_flight, 0, "every slot given back");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reads_that_cannot_share_a_statement_take_the_next_one() {
        let (fake, reads) = fake(1, |a, b| a % 2 == b % 2);
        let tasks: Vec<_> = (0..7)
            .map(|n| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(n).await })
            })
            .collect();
        settle().await;
        fake.gate.add_permits(100);
        for (n, task) in (0..7).zip(tasks) {
            assert_eq!(task.await.expect("task").expect("read"), n * 2);
        }
        let batches = fake.batches.lock().unwrap().clone();
        assert_eq!(batches, vec![vec![0], vec![1, 3, 5], vec![2, 4, 6]]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_statement_fails_each_of_its_reads_and_no_other() {
        let (fake, reads) = fake(1, |_, _| true);
        let tasks: Vec<_> = [5, 6, -1, 7]
            .into_iter()
            .map(|n| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(n).await })
            })
            .collect();
        settle().await;
        fake.gate.add_permits(100);
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("task").map_err(|e| e.to_string()));
        }
        assert_eq!(outcomes[0], Ok(10), "alone, before the failing batch");
        for outcome in &outcomes[1..] {
            assert_eq!(outcome, &Err("corrupt record: asked for -1".to_string()));
        }
        assert_eq!(reads.read(8).await.expect("read after"), 16);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_cancelled_caller_still_hands_the_queue_over() {
        let (fake, reads) = fake(1, |_, _| true);
        let first = {
            let reads = Arc::clone(&reads);
            tokio::spawn(async move { reads.read(1).await })
        };
        settle().await;
        let queued: Vec<_> = (2..=4)
            .map(|n| {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(n).await })
            })
            .collect();
        // One queued caller gives up: it is not read for.
        let gone = {
            let reads = Arc::clone(&reads);
            tokio::spawn(async move { reads.read(99).await })
        };
        settle().await;
        gone.abort();
        first.abort();
        settle().await;
        fake.gate.add_permits(100);
        for (n, task) in (2..=4).zip(queued) {
            assert_eq!(task.await.expect("task").expect("read"), n * 2);
        }
        let batches = fake.batches.lock().unwrap().clone();
        assert_eq!(batches, vec![vec![1], vec![2, 3, 4]]);
        assert_eq!(reads.lock().in_flight, 0);
    }

    #[test]
    fn a_runtime_that_shuts_down_mid_batch_leaves_the_reads_usable() {
        let (fake, reads) = fake(1, |_, _| true);
        let first = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        first.block_on(async {
            for n in 1..=3 {
                let reads = Arc::clone(&reads);
                tokio::spawn(async move { reads.read(n).await });
            }
            settle().await;
        });
        drop(first);
        assert_eq!(reads.lock().in_flight, 0, "the slot came back");
        let second = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        fake.gate.add_permits(100);
        assert_eq!(second.block_on(reads.read(21)).expect("read"), 42);
    }

    #[test]
    fn shapes_are_powers_of_two_up_to_the_largest_batch() {
        let shapes: Vec<usize> = [0, 1, 2, 3, 5, 33, 64, 65, 500].map(padded).to_vec();
        assert_eq!(shapes, vec![1, 1, 2, 4, 8, 64, 64, 64, 64]);
        let statements = Shapes::new(|rows| format!("{rows}"));
        assert_eq!(statements.0.len(), 7);
        assert_eq!(statements.of(3), ("4", 4));
        assert_eq!(statements.of(64), ("64", 64));
    }
}
