//! Group commit for messages: concurrent [`crate::Store::insert_message`] calls are committed
//! together, in one transaction, by one writer task, and each caller is answered once its own
//! message has committed.
//!
//! A commit costs about the same whether it carries one message or fifty: SQLite writes the
//! changed pages to the WAL once per transaction, PostgreSQL flushes its WAL once per commit,
//! and both pay for `BEGIN` and `COMMIT`. A batch also needs few statements: one finds the
//! repeated `client_id`s, one touches (and on PostgreSQL first locks) the conversations, the
//! messages go in several to an `INSERT … RETURNING`, their bot turns likewise, and one
//! `INSERT … SELECT` queues their webhook deliveries. Each statement is a
//! round trip (to SQLite's connection thread, or to the PostgreSQL server), so under load that,
//! more than the commit, was most of a message's cost. At a low rate nothing changes: a message
//! that arrives while no commit is in flight is a batch of one, written at once by the same code
//! as before ([`insert_alone`]), with no waiting window.
//!
//! How a batch fails: a message whose conversation does not exist is answered `NotFound` and
//! writes nothing, so it does not disturb its neighbours; a repeated `client_id` is found before
//! anything is written and answered with the original, as before; a `client_id` that appears
//! twice in one batch waits for the next batch, where it is found as a repeat. Anything else
//! that fails inside the batch (a constraint, a repeat that another node inserted meanwhile, a
//! lost connection) rolls the batch back, and every message in it is then written alone, in its
//! own transaction, as before: only the message at fault fails. PostgreSQL aborts a transaction
//! at its first error, so this is cheaper than a `SAVEPOINT` per message (two more round trips
//! each) for a failure that is rare. A failed `COMMIT` is reported to every message that was
//! written in the batch, since whether it committed is then unknown; retrying them alone could
//! store them twice.
//!
//! `PARLEY_GROUP_COMMIT=0` (or `false`, `off`) turns it off: each message is written alone by
//! its caller, as before, which is how the benchmark compares the two in one run.

use std::{
    collections::{HashMap, HashSet},
    panic::AssertUnwindSafe,
    sync::Mutex,
};

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Encode, Executor, IntoArguments, Pool, Transaction, Type};
use tokio::sync::{mpsc, oneshot};

use super::{
    errors::{replicate, write_error},
    jobs, rows,
    rows::Columns,
    statements as sql, webhooks, Backend,
};
use crate::{AfterCommit, Inserted, Message, NewAttachment, NewMessage, Result, StoreError};

/// The most messages one transaction carries. Enough to absorb any burst the HTTP layer lets
/// through at once; small enough that one batch's row locks (PostgreSQL) are held briefly.
const MAX_BATCH: usize = 128;

/// The most `(conversation, client_id)` pairs one repeat-finding query names.
const MAX_PAIRS: usize = 64;

/// Whether the environment turns group commit off (`PARLEY_GROUP_COMMIT=0`, `false`, `off`,
/// `no`); on by default.
pub(crate) fn enabled_by_environment() -> bool {
    enabled(std::env::var("PARLEY_GROUP_COMMIT").ok().as_deref())
}

/// Whether a switch such as `PARLEY_GROUP_COMMIT` is on: anything but `0`, `false`, `off`, `no`.
pub(super) fn enabled(setting: Option<&str>) -> bool {
    setting.is_none_or(|value| {
        !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "0" | "false" | "off" | "no"
        )
    })
}

/// Write connections per lane of writers: a lane uses two at most (one batch writing, the one
/// before it committing), and reads need the rest. PostgreSQL's pool of ten gets two lanes;
/// SQLite's single write connection one.
const CONNECTIONS_PER_LANE: usize = 4;

/// The lane of a conversation's messages.
fn message_lane(conversation_id: i64, lanes: usize) -> usize {
    conversation_id.rem_euclid(lanes as i64) as usize
}

/// A message waiting for its batch.
struct Pending {
    message: NewMessage,
    after_commit: AfterCommit,
    answer: oneshot::Sender<Result<Inserted>>,
}

/// The writers of one store.
///
/// Concurrency: one task per lane owns the lane's queue and writes one batch at a time; there
/// is no timer.
/// The first message to arrive while the task is idle is written at once (a batch of one);
/// those that arrive while a commit is in flight queue up and are all taken by the next batch,
/// so batches grow with the load by themselves and a message waits at most for the commit
/// ahead of it. A conversation's messages always take the same lane, and one task per lane
/// rather than one per request is what keeps the order clients see: ids are handed out in
/// queue order within a batch and batch after batch, and the task runs each message's
/// `after_commit` (the chat service's broadcast) right after its commit, in id order, before
/// any later batch's. So the broadcasts of one conversation leave in id order, which
/// concurrent writers, each waking its own caller, could not promise. SQLite has one write
/// connection, so one lane. PostgreSQL's pool gets a lane per four connections: lanes write
/// different conversations side by side (at a modest rate a message rarely waits behind
/// another conversation's), a batch's statements use one connection while the batch before it
/// commits on another ([`write_batches`]), and the rows a batch locks (each message's
/// conversation) are taken in conversation order, so two batches, or two nodes' batches,
/// cannot deadlock on each other.
///
/// The task is started on first use, on the caller's runtime, and started again if that
/// runtime has gone (a store may outlive the runtime that first used it, as in tests). It ends
/// when the store is dropped, after its last batch.
pub(crate) struct GroupCommit<DB: Backend> {
    pool: Pool<DB>,
    /// One writer per lane; a conversation's messages always take the same lane.
    lanes: Vec<Mutex<Option<mpsc::UnboundedSender<Pending>>>>,
}

impl<DB: Backend> std::fmt::Debug for GroupCommit<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<DB> GroupCommit<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    /// A writer for messages on `pool` (the store's write pool).
    pub(crate) fn new(pool: Pool<DB>) -> Self {
        let lanes = (pool.options().get_max_connections() as usize / CONNECTIONS_PER_LANE).max(1);
        Self {
            pool,
            lanes: (0..lanes).map(|_| Mutex::new(None)).collect(),
        }
    }

    /// Queues `message` for the next batch and waits for its outcome; `after_commit` runs on
    /// the writer once it has committed. The message's text has been checked.
    pub(crate) async fn insert(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> Result<Inserted> {
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            message,
            after_commit,
            answer,
        };
        {
            let lane = message_lane(pending.message.conversation_id, self.lanes.len());
            let mut queue = self.lanes[lane].lock().unwrap_or_else(|e| e.into_inner());
            let unsent = match queue.as_ref() {
                None => Some(pending),
                Some(sender) => match sender.send(pending) {
                    Ok(()) => None,
                    // The writer's runtime is gone; start another on this one.
                    Err(mpsc::error::SendError(back)) => Some(back),
                },
            };
            if let Some(pending) = unsent {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(write_batches(self.pool.clone(), receiver));
                // Once: a runtime that is shutting down drops a new task at once, and trying
                // again would spin for as long as the shutdown waits on this request.
                if sender.send(pending).is_err() {
                    return Err(StoreError::Database(sqlx::Error::WorkerCrashed));
                }
                *queue = Some(sender);
            }
        }
        // The writer dropped the message without answering only if its runtime shut down.
        answered
            .await
            .unwrap_or(Err(StoreError::Database(sqlx::Error::WorkerCrashed)))
    }
}

/// The writer task: takes everything queued, writes it as one batch, answers, repeats.
///
/// On PostgreSQL (a pool of several connections) a batch's `COMMIT`, which waits for the WAL to
/// reach the disk, runs while the next batch's statements run on another connection: the next
/// batch takes each conversation's row lock only once the previous batch that holds it has
/// committed, and a batch's callers are answered as soon as its commit is done, always before
/// the next batch's. SQLite has one write connection, so there each batch commits before the
/// next begins.
async fn write_batches<DB>(pool: Pool<DB>, mut queue: mpsc::UnboundedReceiver<Pending>)
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    let overlap = pool.options().get_max_connections() > 1;
    let mut waiting: Vec<Pending> = Vec::new();
    let mut committing: Option<Committing> = None;
    loop {
        if waiting.is_empty() {
            match committing.as_mut() {
                // Answer the batch in flight once it commits, unless messages come first.
                Some(batch) => tokio::select! {
                    committed = &mut batch.commit => {
                        if let Some(batch) = committing.take() {
                            batch.answer(committed);
                        }
                        continue;
                    }
                    pending = queue.recv() => match pending {
                        Some(pending) => waiting.push(pending),
                        None => {
                            if let Some(batch) = committing.take() {
                                batch.finish().await;
                            }
                            return;
                        }
                    },
                },
                None => match queue.recv().await {
                    Some(pending) => waiting.push(pending),
                    None => return,
                },
            }
        }
        while waiting.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(pending) => waiting.push(pending),
                Err(_) => break,
            }
        }
        // A caller that has gone (its request was cancelled) before its batch started is not
        // written, as its own transaction would not have been.
        let batch: Vec<Pending> = std::mem::take(&mut waiting)
            .into_iter()
            .filter(|pending| !pending.answer.is_closed())
            .collect();
        waiting = write_batch(&pool, batch, &mut committing, overlap).await;
    }
}

/// A batch whose statements have run and whose `COMMIT` is under way on its own task.
struct Committing {
    items: Vec<Pending>,
    steps: Vec<Step>,
    commit: tokio::task::JoinHandle<sqlx::Result<()>>,
}

impl Committing {
    /// Waits for the commit, then answers.
    async fn finish(mut self) {
        let committed = (&mut self.commit).await;
        self.answer(committed);
    }

    /// Answers every caller of the batch, in order, now that its commit has ended.
    fn answer(self, committed: std::result::Result<sqlx::Result<()>, tokio::task::JoinError>) {
        let committed = committed.unwrap_or(Err(sqlx::Error::WorkerCrashed));
        answer_batch(self.items, self.steps, &committed);
    }
}

/// Answers a batch's callers once its commit has ended (`committed`).
fn answer_batch(items: Vec<Pending>, steps: Vec<Step>, committed: &sqlx::Result<()>) {
    for (pending, step) in items.into_iter().zip(steps) {
        let outcome = match (step, committed) {
            (Step::Settled(outcome), _) => outcome,
            (Step::Written(message), Ok(())) => Ok(Inserted::Created(message)),
            (Step::Written(_), Err(error)) => Err(StoreError::Database(replicate(error))),
        };
        finish(pending, outcome);
    }
}

/// Writes one batch: its statements, then its commit (on its own task with `overlap`, left in
/// `committing`); answers the batch that was committing before it first. Returns the messages
/// put off to the next batch (a `client_id` repeated within this one).
async fn write_batch<DB>(
    pool: &Pool<DB>,
    batch: Vec<Pending>,
    committing: &mut Option<Committing>,
    overlap: bool,
) -> Vec<Pending>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    if batch.len() <= 1 && committing.is_none() {
        for pending in batch {
            let outcome = insert_alone(pool, &pending.message).await;
            finish(pending, outcome);
        }
        return Vec::new();
    }
    let mut keys = HashSet::new();
    let (mut items, later): (Vec<Pending>, Vec<Pending>) =
        batch
            .into_iter()
            .partition(|pending| match &pending.message.client_id {
                Some(client_id) => {
                    keys.insert((pending.message.conversation_id, client_id.clone()))
                }
                None => true,
            });
    // Row locks in one order (PostgreSQL); a stable sort keeps each conversation's messages in
    // the order they came.
    items.sort_by_key(|pending| pending.message.conversation_id);
    let prepared = {
        let messages: Vec<&NewMessage> = items.iter().map(|pending| &pending.message).collect();
        let prepare = prepare_batch(pool, &messages);
        tokio::pin!(prepare);
        // The batch before this one is answered as soon as its commit is done, even while this
        // one's statements run (they may be waiting for that commit's row locks).
        loop {
            match committing.as_mut() {
                Some(previous) => tokio::select! {
                    committed = &mut previous.commit => {
                        if let Some(previous) = committing.take() {
                            previous.answer(committed);
                        }
                    }
                    prepared = &mut prepare => break prepared,
                },
                None => break prepare.await,
            }
        }
    };
    if let Some(previous) = committing.take() {
        previous.finish().await;
    }
    match prepared {
        Prepared::Ready(tx, steps) if overlap => {
            *committing = Some(Committing {
                items,
                steps,
                commit: tokio::spawn(tx.commit()),
            });
        }
        Prepared::Ready(tx, steps) => {
            let committed = tx.commit().await;
            answer_batch(items, steps, &committed);
        }
        Prepared::NotStarted(error) => {
            for pending in items {
                finish(pending, Err(StoreError::Database(replicate(&error))));
            }
        }
        Prepared::RolledBack(error) => {
            tracing::debug!(%error, messages = items.len(), "batch rolled back; writing its messages one by one");
            for pending in items {
                let outcome = insert_alone(pool, &pending.message).await;
                finish(pending, outcome);
            }
        }
    }
    later
}

/// Runs the caller's `after_commit` (never letting its panic take the writer down) and
/// answers the caller.
fn finish(pending: Pending, outcome: Result<Inserted>) {
    let Pending {
        after_commit,
        answer,
        ..
    } = pending;
    if let Ok(inserted) = &outcome {
        if std::panic::catch_unwind(AssertUnwindSafe(|| after_commit(inserted))).is_err() {
            tracing::error!("a message's after-commit action panicked");
        }
    }
    let _ = answer.send(outcome);
}

/// A message's outcome inside a batch that has not committed yet.
enum Step {
    /// Decided without writing anything: the original of a repeat, or `NotFound`.
    Settled(Result<Inserted>),
    /// Written; created once the batch commits.
    Written(Message),
}

/// A batch after its statements.
enum Prepared<DB: Backend> {
    /// Written, to be committed.
    Ready(Transaction<'static, DB>, Vec<Step>),
    /// No transaction could be started: every message fails with this.
    NotStarted(sqlx::Error),
    /// A statement failed and the batch was rolled back: nothing of it was stored, and its
    /// messages should be written alone.
    RolledBack(StoreError),
}

/// Runs a batch's statements in a new transaction, leaving it to be committed.
async fn prepare_batch<DB>(pool: &Pool<DB>, items: &[&NewMessage]) -> Prepared<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    let mut tx = match pool.begin_with(DB::BEGIN_WRITE).await {
        Ok(tx) => tx,
        Err(error) => return Prepared::NotStarted(error),
    };
    match write_steps(&mut tx, items).await {
        Ok(steps) => Prepared::Ready(tx, steps),
        Err(error) => {
            let _ = tx.rollback().await;
            Prepared::RolledBack(error)
        }
    }
}

/// The statements of a batch, inside its transaction: a few for the whole batch rather than
/// several per message. Any error means the batch is rolled back.
async fn write_steps<DB>(tx: &mut Transaction<'_, DB>, items: &[&NewMessage]) -> Result<Vec<Step>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    // One time for the batch: its messages are committed at the same instant.
    let now = Utc::now();
    let mut steps: Vec<Option<Step>> = items.iter().map(|_| None).collect();

    let mut originals = originals(tx, items).await?;
    for (step, message) in steps.iter_mut().zip(items) {
        let key = message
            .client_id
            .clone()
            .map(|c| (message.conversation_id, c));
        if let Some(original) = key.and_then(|key| originals.remove(&key)) {
            *step = Some(Step::Settled(Ok(Inserted::Duplicate(original))));
        }
    }

    // As alone: the conversations' rows first, which proves they exist and (PostgreSQL) locks
    // them, so that their messages' ids follow their commit order across nodes too.
    let mut conversations: Vec<i64> = steps
        .iter()
        .zip(items)
        .filter(|(step, _)| step.is_none())
        .map(|(_, message)| message.conversation_id)
        .collect();
    conversations.dedup();
    let existing = touch_conversations(tx, &conversations, now).await?;
    for (step, message) in steps.iter_mut().zip(items) {
        if step.is_none() && !existing.contains(&message.conversation_id) {
            *step = Some(Step::Settled(Err(StoreError::NotFound(format!(
                "conversation {}",
                message.conversation_id
            )))));
        }
    }

    // The messages, in order: plain ones several to a statement, one with a file after its
    // attachment's row.
    let to_write: Vec<usize> = (0..items.len()).filter(|&i| steps[i].is_none()).collect();
    let mut run: Vec<usize> = Vec::new();
    for (n, &i) in to_write.iter().enumerate() {
        let has_file = items[i].attachment.is_some();
        if !has_file {
            run.push(i);
        }
        let run_ends = has_file || n + 1 == to_write.len();
        if run_ends && !run.is_empty() {
            let messages: Vec<&NewMessage> = run.iter().map(|&i| items[i]).collect();
            for (&i, stored) in run.iter().zip(insert_messages(tx, &messages, now).await?) {
                steps[i] = Some(Step::Written(stored));
            }
            run.clear();
        }
        if has_file {
            steps[i] = Some(Step::Written(insert_with_file(tx, items[i], now).await?));
        }
    }

    let written: Vec<(&NewMessage, &Message)> = steps
        .iter()
        .zip(items)
        .filter_map(|(step, message)| match step {
            Some(Step::Written(stored)) => Some((*message, stored)),
            _ => None,
        })
        .collect();
    let turns: Vec<(i64, i64)> = written
        .iter()
        .filter(|(message, _)| message.bot_job)
        .map(|(_, stored)| (stored.conversation_id, stored.id))
        .collect();
    let mut rest = turns.as_slice();
    while !rest.is_empty() {
        let (chunk, more) = rest.split_at(chunk_size(rest.len()));
        let statement = sql::insert_bot_jobs(chunk.len());
        let mut insert = sqlx::query(&statement).bind(now);
        for &(conversation_id, message_id) in chunk {
            insert = insert.bind(conversation_id).bind(message_id);
        }
        insert.execute(&mut **tx).await?;
        rest = more;
    }
    let ids: Vec<i64> = written.iter().map(|(_, stored)| stored.id).collect();
    for chunk in ids.chunks(MAX_PAIRS) {
        let size = chunk.len().next_power_of_two();
        let statement = sql::announce_messages(size);
        let event = crate::MESSAGE_CREATED;
        let mut announce = sqlx::query(&statement)
            .bind(event.to_owned())
            .bind(Value::Object(Default::default()))
            .bind(now)
            .bind(format!("%,{event},%"));
        for i in 0..size {
            announce = announce.bind(chunk[i.min(chunk.len() - 1)]);
        }
        announce.execute(&mut **tx).await?;
    }

    Ok(steps
        .into_iter()
        .map(|step| step.expect("every message of the batch has an outcome"))
        .collect())
}

/// The largest of [`sql::ROW_CHUNKS`] that `remaining` rows fill.
fn chunk_size(remaining: usize) -> usize {
    sql::ROW_CHUNKS
        .into_iter()
        .find(|&size| size <= remaining)
        .unwrap_or(1)
}

/// Moves these conversations' `updated_at` to `now` (on PostgreSQL locking their rows first, in
/// the order of their ids); the ids of those that exist. `ids` are sorted and distinct.
async fn touch_conversations<DB>(
    tx: &mut Transaction<'_, DB>,
    ids: &[i64],
    now: DateTime<Utc>,
) -> Result<HashSet<i64>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    let mut existing = HashSet::new();
    for chunk in ids.chunks(MAX_PAIRS) {
        // Padded to a power of two with the last id, as in `originals`.
        let size = chunk.len().next_power_of_two();
        let padded = (0..size).map(|i| chunk[i.min(chunk.len() - 1)]);
        let statement = if webhooks::for_update::<DB>().is_empty() {
            sql::touch_conversations(size)
        } else {
            sql::lock_and_touch_conversations(size)
        };
        let mut touch = sqlx::query(&statement).bind(now);
        for id in padded {
            touch = touch.bind(id);
        }
        for row in touch.fetch_all(&mut **tx).await? {
            existing.insert(row.int("id")?);
        }
    }
    Ok(existing)
}

/// Inserts plain messages (no file), several to a statement; the stored messages, in the
/// order given. A message that is not inserted (its `client_id` taken since the batch looked)
/// fails the batch.
async fn insert_messages<DB>(
    tx: &mut Transaction<'_, DB>,
    messages: &[&NewMessage],
    now: DateTime<Utc>,
) -> Result<Vec<Message>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    let mut stored = Vec::with_capacity(messages.len());
    let mut rest = messages;
    while !rest.is_empty() {
        let (chunk, more) = rest.split_at(chunk_size(rest.len()));
        let statement = sql::insert_messages(chunk.len());
        let mut insert = sqlx::query(&statement);
        for message in chunk {
            insert = insert
                .bind(message.conversation_id)
                .bind(message.sender_type.as_str().to_owned())
                .bind(message.sender_name.clone())
                .bind(message.message.clone())
                .bind(None::<i64>)
                .bind(message.is_voice)
                .bind(message.client_id.clone())
                .bind(now);
        }
        let mut rows = insert
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|row| rows::message_with(row, None))
            .collect::<Result<Vec<_>>>()?;
        // Ids are handed out in the order of the rows; RETURNING's order is the database's.
        rows.sort_by_key(|message| message.id);
        let matches = rows.len() == chunk.len()
            && rows.iter().zip(chunk).all(|(row, message)| {
                row.conversation_id == message.conversation_id
                    && row.client_id == message.client_id
                    && row.message == message.message
            });
        if !matches {
            // As alone, a repeat must not move its conversation's `updated_at`: start over.
            return Err(StoreError::Conflict(
                "a client_id was taken while the batch was written".into(),
            ));
        }
        stored.extend(rows);
        rest = more;
    }
    Ok(stored)
}

/// Stores a message's file row; its id, for the message to point at.
async fn insert_attachment<DB>(
    tx: &mut Transaction<'_, DB>,
    conversation_id: i64,
    attachment: &NewAttachment,
    now: DateTime<Utc>,
) -> Result<i64>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    sqlx::query(sql::INSERT_ATTACHMENT)
        .bind(conversation_id)
        .bind(attachment.storage_name.clone())
        .bind(attachment.original_name.clone())
        .bind(attachment.content_type.clone())
        .bind(attachment.size_bytes)
        .bind(now)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| {
            write_error(
                e,
                || "an attachment with this storage name".into(),
                String::new,
            )
        })?
        .int("id")
}

/// Inserts a message with its file: the attachment's row, then the message.
async fn insert_with_file<DB>(
    tx: &mut Transaction<'_, DB>,
    message: &NewMessage,
    now: DateTime<Utc>,
) -> Result<Message>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    let conversation_id = message.conversation_id;
    let attachment = message
        .attachment
        .as_ref()
        .ok_or_else(|| StoreError::Corrupt("a message with a file has none".into()))?;
    let attachment_id = insert_attachment(tx, conversation_id, attachment, now).await?;
    let row = sqlx::query(&sql::insert_messages(1))
        .bind(conversation_id)
        .bind(message.sender_type.as_str().to_owned())
        .bind(message.sender_name.clone())
        .bind(message.message.clone())
        .bind(Some(attachment_id))
        .bind(message.is_voice)
        .bind(message.client_id.clone())
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?;
    let Some(row) = row else {
        return Err(StoreError::Conflict(
            "a client_id was taken while the batch was written".into(),
        ));
    };
    rows::message_with(&row, Some(attachment.original_name.clone()))
}

/// The stored originals of the batch's `client_id`s that are already taken, by conversation
/// and `client_id`: a few queries for the whole batch instead of a failed insert each. The
/// lists are padded to a power of two (repeating the last pair), so a handful of statement
/// shapes serve every batch size and stay prepared.
async fn originals<DB>(
    tx: &mut Transaction<'_, DB>,
    items: &[&NewMessage],
) -> Result<HashMap<(i64, String), Message>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
{
    let keys: Vec<(i64, &String)> = items
        .iter()
        .filter_map(|m| Some((m.conversation_id, m.client_id.as_ref()?)))
        .collect();
    let mut found = HashMap::new();
    for chunk in keys.chunks(MAX_PAIRS) {
        let size = chunk.len().next_power_of_two();
        let statement = sql::messages_by_client_ids(size);
        let mut select = sqlx::query(&statement);
        for i in 0..size {
            let (conversation_id, client_id) = chunk[i.min(chunk.len() - 1)];
            select = select.bind(conversation_id).bind(client_id.clone());
        }
        for row in select.fetch_all(&mut **tx).await? {
            let message = rows::message(&row)?;
            if let Some(client_id) = message.client_id.clone() {
                found.insert((message.conversation_id, client_id), message);
            }
        }
    }
    Ok(found)
}

/// Stores one message in its own transaction: what every message did before group commit,
/// and what a batch of one, or each message of a batch that failed, still does.
pub(crate) async fn insert_alone<DB>(pool: &Pool<DB>, message: &NewMessage) -> Result<Inserted>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
    for<'q> Value: Encode<'q, DB> + Type<DB>,
{
    let conversation_id = message.conversation_id;
    let now = Utc::now();
    let mut tx = pool.begin_with(DB::BEGIN_WRITE).await?;

    // Touch the conversation first: it proves the conversation exists, and on PostgreSQL
    // its row lock makes concurrent inserts into one conversation take turns, so their ids
    // are handed out in commit order and a poller reading `id > after` never skips a
    // message that committed late.
    let touched = sqlx::query(sql::TOUCH_CONVERSATION)
        .bind(now)
        .bind(conversation_id)
        .fetch_optional(&mut *tx)
        .await?;
    if touched.is_none() {
        return Err(StoreError::NotFound(format!(
            "conversation {conversation_id}"
        )));
    }

    let attachment_id = match &message.attachment {
        Some(attachment) => {
            Some(insert_attachment(&mut tx, conversation_id, attachment, now).await?)
        }
        None => None,
    };

    let inserted = sqlx::query(sql::INSERT_MESSAGE)
        .bind(conversation_id)
        .bind(message.sender_type.as_str().to_owned())
        .bind(message.sender_name.clone())
        .bind(message.message.clone())
        .bind(attachment_id)
        .bind(message.is_voice)
        .bind(message.client_id.clone())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;

    if let Some(row) = inserted {
        let id = row.int("id")?;
        if message.bot_job {
            jobs::enqueue(&mut tx, conversation_id, id, now).await?;
        }
        let event = crate::MESSAGE_CREATED;
        let detail = Value::Object(Default::default());
        webhooks::announce(&mut tx, event, conversation_id, Some(id), detail, now).await?;
        let row = sqlx::query(sql::MESSAGE_BY_ID)
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let stored = rows::message(&row)?;
        tx.commit().await?;
        return Ok(Inserted::Created(stored));
    }

    let original = sqlx::query(sql::MESSAGE_BY_CLIENT_ID)
        .bind(conversation_id)
        .bind(message.client_id.clone())
        .fetch_optional(&mut *tx)
        .await?;
    // A duplicate changes nothing, not even the conversation's `updated_at`.
    tx.rollback().await?;
    // Rows are never deleted, so the message that conflicted is there to read.
    let original = original.ok_or_else(|| {
        StoreError::Corrupt(format!(
            "client_id {:?} in conversation {conversation_id} conflicted but is missing",
            message.client_id
        ))
    })?;
    Ok(Inserted::Duplicate(rows::message(&original)?))
}

#[cfg(test)]
mod tests {
    use super::enabled;

    #[test]
    fn on_unless_turned_off() {
        for on in [None, Some("1"), Some("true"), Some("on"), Some("")] {
            assert!(enabled(on), "{on:?}");
        }
        for off in ["0", "false", "OFF", " no "] {
            assert!(!enabled(Some(off)), "{off}");
        }
    }
}
