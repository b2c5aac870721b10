//! Sends queued mails: claims a job, writes its mail (for offline replies: which replies, now),
//! sends it, and records what happened by the rule in [`super`] (retry only what was certainly
//! not delivered).

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use parley_store::{
    Conversation, LinkPurpose, MailJob, MailKind, MailOutcome, MailState, Message, SenderType,
};
use tokio_util::sync::CancellationToken;

use super::{
    compose::{self, ConversationMail, Mail},
    links,
    smtp::{self, SmtpError},
    MailConfig,
};
use crate::{error::ApiError, service::ChatService};

/// How the sender behaves; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How long a claimed job is held; past it, a job still `sending` becomes `unknown`.
    pub lease: Duration,
    /// Tries before a mail that keeps failing is given up (`failed`).
    pub max_attempts: i32,
    /// First retry delay; doubles with each attempt, up to an hour.
    pub retry_base: Duration,
    /// How often the queue is looked at when nothing wakes the sender.
    pub poll: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            max_attempts: 8,
            retry_base: Duration::from_secs(30),
            poll: Duration::from_secs(5),
        }
    }
}

/// Most messages a transcript lists.
const TRANSCRIPT_MESSAGES: i64 = 1000;

/// Starts the sender when email is on; it stops when `shutdown` is cancelled.
pub fn start(service: ChatService, config: RunnerConfig, shutdown: CancellationToken) {
    let Some(mail) = service.config.mail.clone() else {
        return;
    };
    let sender = Arc::new(Sender {
        service,
        mail,
        config,
    });
    tokio::spawn(sender.run(shutdown));
}

struct Sender {
    service: ChatService,
    mail: MailConfig,
    config: RunnerConfig,
}

/// What running a job came to.
enum Step {
    Done(MailOutcome, Option<String>),
    RetryAt(chrono::DateTime<Utc>, String),
    /// The visitor is around: look again at this time, not counting an attempt.
    Postpone(chrono::DateTime<Utc>),
}

impl Sender {
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let wakeup = self.service.mail_wakeup.clone();
        loop {
            self.expire().await;
            loop {
                match self.service.store.claim_mail_job(self.config.lease).await {
                    Ok(Some(job)) => self.process(job).await,
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim mail jobs");
                        break;
                    }
                }
                if shutdown.is_cancelled() {
                    return;
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Jobs whose worker stopped while sending: never sent again; a batch of replies that
    /// ended so lets the next one queue.
    async fn expire(&self) {
        match self.service.store.expire_mail_jobs(Utc::now()).await {
            Ok(expired) => {
                for job in expired {
                    tracing::warn!(job = job.id, kind = job.kind.as_str(), "a mail's worker stopped while sending; it may have been delivered and is not sent again");
                    self.follow_up(&job).await;
                }
            }
            Err(error) => tracing::warn!(%error, "cannot expire mail jobs"),
        }
    }

    async fn process(&self, job: MailJob) {
        let step = match self.step(&job).await {
            Ok(step) => step,
            Err(error) => {
                // Nothing was sent: the store failed before the mail server was reached.
                let at = Utc::now() + self.backoff(job.attempts);
                Step::RetryAt(at, format!("before sending: {error}"))
            }
        };
        let store = &self.service.store;
        let result = match step {
            Step::Done(outcome, error) => {
                if outcome == MailOutcome::Sent {
                    tracing::info!(job = job.id, kind = job.kind.as_str(), "mail sent");
                } else if let Some(error) = &error {
                    tracing::warn!(job = job.id, kind = job.kind.as_str(), %error, "mail not sent");
                }
                let result = store
                    .finish_mail_job(job.id, outcome, error.as_deref())
                    .await;
                self.follow_up(&job).await;
                result
            }
            Step::RetryAt(at, error) => {
                tracing::warn!(job = job.id, attempt = job.attempts, %error, "mail not sent; will retry");
                store.retry_mail_job(job.id, at, &error).await
            }
            Step::Postpone(at) => store.postpone_mail_job(job.id, at).await,
        };
        if let Err(error) = result {
            tracing::error!(%error, job = job.id, "cannot record a mail's outcome");
        }
    }

    fn backoff(&self, attempts: i32) -> chrono::Duration {
        let delay = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(attempts.max(1) as u32 - 1))
            .min(Duration::from_secs(3600));
        chrono::Duration::from_std(delay).unwrap_or_default()
    }

    async fn step(&self, job: &MailJob) -> Result<Step, ApiError> {
        let mail = match job.kind {
            MailKind::AccountLink => {
                let purpose = job
                    .payload
                    .get("purpose")
                    .and_then(|p| p.as_str())
                    .and_then(LinkPurpose::parse)
                    .unwrap_or(LinkPurpose::Invite);
                let text = |key: &str| {
                    job.payload
                        .get(key)
                        .and_then(|v| v.as_str())
                        .unwrap_or("")
                        .to_string()
                };
                let url = text("url");
                if url.is_empty() {
                    return Ok(Step::Done(
                        MailOutcome::Failed,
                        Some("the link is no longer known".into()),
                    ));
                }
                compose::account_link_mail(purpose, &text("name"), &url)
            }
            MailKind::Replies | MailKind::Transcript => match self.conversation_mail(job).await? {
                Ok(mail) => mail,
                Err(step) => return Ok(step),
            },
        };
        Ok(self.send(job, &mail).await)
    }

    /// The mail about a job's conversation, or what to do instead (nothing to say, wait).
    async fn conversation_mail(&self, job: &MailJob) -> Result<Result<Mail, Step>, ApiError> {
        let store = &self.service.store;
        let skipped = |why: &str| Ok(Err(Step::Done(MailOutcome::Skipped, Some(why.into()))));
        let conversation = match job.conversation_id {
            Some(id) => store.conversation(id).await?,
            None => None,
        };
        let Some(conversation) = conversation else {
            return skipped("no such conversation");
        };
        let Some(widget) = store.widget(conversation.widget_id).await? else {
            return skipped("no such widget");
        };
        if widget.revoked_at.is_some() {
            return skipped("the widget was revoked");
        }
        let (which, messages) = match job.kind {
            MailKind::Replies => match self.unseen_replies(job, &conversation).await? {
                Ok(replies) => (ConversationMail::Replies, replies),
                Err(step) => return Ok(Err(step)),
            },
            _ => {
                let up_to = job.up_to_message_id.unwrap_or(i64::MAX);
                let messages = store
                    .latest_messages(conversation.id, Some(up_to), TRANSCRIPT_MESSAGES)
                    .await?;
                (ConversationMail::Transcript, messages)
            }
        };
        let link = self.reopen_link(&widget, &conversation);
        // What visitors call the widget; its own name is the team's.
        let name =
            crate::widgets::display_name(&widget.settings, self.service.config.app_name.as_deref())
                .unwrap_or_else(|| widget.name.clone());
        Ok(Ok(compose::conversation_mail(
            which,
            &name,
            &conversation,
            &messages,
            link.as_deref(),
        )))
    }

    /// The agents' replies to mail now: after the last mail's, not read by the visitor, and
    /// posted after the visitor was last heard from. Fixes the last one in the job before the
    /// mail is sent.
    async fn unseen_replies(
        &self,
        job: &MailJob,
        conversation: &Conversation,
    ) -> Result<Result<Vec<Message>, Step>, ApiError> {
        let store = &self.service.store;
        let now = Utc::now();
        let after = chrono::Duration::from_std(self.mail.email_after).unwrap_or_default();
        // The reply to a visitor who asked for it by email goes whether they are here or not.
        let immediate = job.payload.get("immediate") == Some(&serde_json::Value::Bool(true));
        let seen = match immediate {
            true => None,
            false => store.visitor_seen_at(conversation.id).await?,
        };
        if let Some(seen) = seen {
            if now - seen < after {
                return Ok(Err(Step::Postpone(seen + after)));
            }
        }
        // What earlier batches covered, or may have: never mailed twice.
        let covered = store
            .mail_jobs_of(conversation.id)
            .await?
            .iter()
            .filter(|j| j.kind == MailKind::Replies && j.id != job.id)
            .filter(|j| {
                matches!(
                    j.state,
                    MailState::Sent | MailState::Unknown | MailState::Failed
                )
            })
            .filter_map(|j| j.up_to_message_id)
            .max()
            .unwrap_or(0);
        let read = store
            .read_states(conversation.id)
            .await?
            .iter()
            .find(|r| r.reader == "visitor")
            .map_or(0, |r| r.last_read_id);
        let mut replies = Vec::new();
        let mut cursor = covered.max(read);
        loop {
            let page = store.messages_after(conversation.id, cursor, 500).await?;
            let Some(last) = page.last() else { break };
            cursor = last.id;
            replies.extend(page.into_iter().filter(|m| {
                m.sender_type == SenderType::Agent && seen.is_none_or(|seen| m.created_at > seen)
            }));
        }
        let Some(last) = replies.last() else {
            return Ok(Err(Step::Done(
                MailOutcome::Skipped,
                Some("the visitor has seen every reply".into()),
            )));
        };
        store.cover_mail(job.id, last.id).await?;
        Ok(Ok(replies))
    }

    /// The conversation's page with a key that reopens it, when the page is one the widget may
    /// run on (an http(s) address of one of its allowed origins, or any when it has none).
    fn reopen_link(
        &self,
        widget: &parley_store::Widget,
        conversation: &Conversation,
    ) -> Option<String> {
        let page = conversation.page_url.as_deref()?;
        if !(page.starts_with("https://") || page.starts_with("http://")) {
            return None;
        }
        let origin = {
            let (scheme, rest) = page.split_once("://")?;
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        };
        if !widget.allowed_origins.is_empty()
            && !parley_protocol::origin::origin_matches(&widget.allowed_origins, &origin)
        {
            return None;
        }
        let expires = Utc::now() + chrono::Duration::days(links::LINK_DAYS);
        let key = links::reopen_key(&self.service.config.link_secret, conversation, expires);
        let page = page.split('#').next().unwrap_or(page);
        Some(format!("{page}#parley_reopen={key}"))
    }

    async fn send(&self, job: &MailJob, mail: &Mail) -> Step {
        let domain = self.mail.from.email.domain().to_string();
        let message_id = format!(
            "<parley.{}.{}@{domain}>",
            job.id,
            &crate::tokens::hash_token(&job.dedupe_key)[..16]
        );
        let message = match compose::message(&self.mail.from, &job.recipient, &message_id, mail) {
            Ok(message) => message,
            Err(error) => return Step::Done(MailOutcome::Failed, Some(error)),
        };
        let formatted = message.formatted();
        match smtp::deliver(&self.mail.smtp, &domain, message.envelope(), &formatted).await {
            Ok(()) => Step::Done(MailOutcome::Sent, None),
            Err(SmtpError::Uncertain(error)) => Step::Done(MailOutcome::Unknown, Some(error)),
            Err(SmtpError::Permanent(error)) => Step::Done(MailOutcome::Failed, Some(error)),
            Err(SmtpError::Temporary(error)) if job.attempts >= self.config.max_attempts => {
                Step::Done(MailOutcome::Failed, Some(format!("gave up: {error}")))
            }
            Err(SmtpError::Temporary(error)) => {
                Step::RetryAt(Utc::now() + self.backoff(job.attempts), error)
            }
        }
    }

    /// After a batch of replies ended: a reply that arrived while it was being sent (which
    /// could not queue its own batch then) gets the next one.
    async fn follow_up(&self, job: &MailJob) {
        if job.kind != MailKind::Replies {
            return;
        }
        let Some(id) = job.conversation_id else {
            return;
        };
        let store = &self.service.store;
        let conversation = match store.conversation(id).await {
            Ok(Some(conversation)) => conversation,
            _ => return,
        };
        // A skipped batch found nothing unseen; one that covered nothing sent nothing.
        let covered = match store.mail_job(job.id).await {
            Ok(Some(done)) if done.state != MailState::Skipped => match done.up_to_message_id {
                Some(up_to) => up_to,
                None => return,
            },
            _ => return,
        };
        let newer = match store.messages_after(id, covered, 500).await {
            Ok(messages) => messages,
            Err(_) => return,
        };
        if let Some(reply) = newer
            .iter()
            .rev()
            .find(|m| m.sender_type == SenderType::Agent)
        {
            self.service
                .queue_offline_reply(&conversation, reply.id)
                .await;
        }
    }
}
