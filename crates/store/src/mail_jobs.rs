//! The durable queue of mails and when each conversation's visitor was last heard from.
//!
//! A mail is enqueued under a unique key, so the same mail is queued once whatever retries the
//! caller makes; a worker claims a job by moving it to `sending` with a lease; a job whose lease
//! runs out while `sending` may have been delivered, so it becomes `unknown` and is never sent
//! again (see `parley_chat::mail` for the whole rule).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// What a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// Agents' replies the visitor has not seen, batched.
    Replies,
    /// The conversation's transcript, asked for by the visitor or sent on close.
    Transcript,
    /// An invitation or a password reset link for a person of the team.
    AccountLink,
}

impl MailKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Replies => "replies",
            Self::Transcript => "transcript",
            Self::AccountLink => "account_link",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "replies" => Some(Self::Replies),
            "transcript" => Some(Self::Transcript),
            "account_link" => Some(Self::AccountLink),
            _ => None,
        }
    }
}

/// Where a mail job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MailState {
    /// Waiting for its time (first try or a retry).
    Pending,
    /// Claimed by a worker, which may be talking to the mail server.
    Sending,
    /// The mail server accepted it.
    Sent,
    /// Refused for good, or tried too often; nothing was delivered.
    Failed,
    /// It may or may not have been delivered (the connection broke after the message was
    /// sent, or the worker stopped while sending); never tried again.
    Unknown,
    /// Nothing to send by the time it ran (the visitor had seen the replies).
    Skipped,
}

impl MailState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
            Self::Skipped => "skipped",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(Self::Pending),
            "sending" => Some(Self::Sending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            "unknown" => Some(Self::Unknown),
            "skipped" => Some(Self::Skipped),
            _ => None,
        }
    }
}

/// A mail to send, as queued.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MailJob {
    /// Id.
    pub id: i64,
    /// What it is.
    pub kind: MailKind,
    /// The key it was queued under (unique).
    pub dedupe_key: String,
    /// The conversation it is about, if any.
    pub conversation_id: Option<i64>,
    /// The address it goes to.
    pub recipient: String,
    /// What the mail needs beyond the conversation (an account link's address, its purpose).
    /// Emptied once an account link's job is over, so the link is not kept in clear.
    pub payload: serde_json::Value,
    /// Where it is.
    pub state: MailState,
    /// How many times it has been claimed.
    pub attempts: i32,
    /// The last message a conversation mail covers, once fixed.
    pub up_to_message_id: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When the mail server accepted it.
    pub sent_at: Option<DateTime<Utc>>,
}

/// What is needed to queue a mail.
#[derive(Debug, Clone)]
pub struct NewMailJob {
    /// What it is.
    pub kind: MailKind,
    /// The key that makes it unique: a second job with the same key is not queued.
    pub dedupe_key: String,
    /// The conversation it is about.
    pub conversation_id: Option<i64>,
    /// The address.
    pub recipient: String,
    /// What the mail needs beyond the conversation.
    pub payload: serde_json::Value,
    /// The last message it covers, when known now (a transcript).
    pub up_to_message_id: Option<i64>,
    /// Not before.
    pub run_at: DateTime<Utc>,
}

/// How a claimed job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailOutcome {
    /// Accepted by the mail server.
    Sent,
    /// Refused for good; nothing was delivered.
    Failed,
    /// May have been delivered.
    Unknown,
    /// Nothing to send.
    Skipped,
}

/// The mail queue and the visitors' last-seen times.
#[async_trait]
pub trait MailJobs: Send + Sync {
    /// Queues a mail; `None` when a job with the same key exists, or (for
    /// [`MailKind::Replies`]) the conversation already has a batch pending or sending. An
    /// unknown conversation is a [`crate::StoreError::NotFound`].
    async fn enqueue_mail(&self, job: NewMailJob) -> Result<Option<MailJob>>;
    /// Ends the leases that ran out while sending (a worker stopped mid-way): those jobs become
    /// [`MailState::Unknown`] and are returned. Nothing is ever claimed from `sending` again.
    async fn expire_mail_jobs(&self, now: DateTime<Utc>) -> Result<Vec<MailJob>>;
    /// Claims the oldest pending job that is due, leased until `now + lease`; concurrent workers
    /// never get the same job.
    async fn claim_mail_job(&self, lease: std::time::Duration) -> Result<Option<MailJob>>;
    /// Fixes the last message a claimed job covers, before it is sent.
    async fn cover_mail(&self, id: i64, up_to_message_id: i64) -> Result<()>;
    /// Ends a claimed job.
    async fn finish_mail_job(
        &self,
        id: i64,
        outcome: MailOutcome,
        error: Option<&str>,
    ) -> Result<()>;
    /// Puts a claimed job back, to be tried at `retry_at`: only for a failure that proves
    /// nothing was delivered.
    async fn retry_mail_job(&self, id: i64, retry_at: DateTime<Utc>, error: &str) -> Result<()>;
    /// Puts a claimed job back to be looked at again at `run_at` without counting the claim as
    /// an attempt (nothing was tried: the visitor was around).
    async fn postpone_mail_job(&self, id: i64, run_at: DateTime<Utc>) -> Result<()>;
    /// A job by id.
    async fn mail_job(&self, id: i64) -> Result<Option<MailJob>>;
    /// A conversation's jobs, oldest first.
    async fn mail_jobs_of(&self, conversation_id: i64) -> Result<Vec<MailJob>>;
    /// Notes that the conversation's visitor was heard from at `now` (never moves back); `false`
    /// if there is no such conversation.
    async fn touch_visitor(&self, conversation_id: i64, now: DateTime<Utc>) -> Result<bool>;
    /// When the conversation's visitor was last heard from, if ever.
    async fn visitor_seen_at(&self, conversation_id: i64) -> Result<Option<DateTime<Utc>>>;
}
