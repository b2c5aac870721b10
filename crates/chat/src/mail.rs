//! Email: agents' replies to visitors who are away, transcripts, and the team's invitation and
//! reset links, sent through SMTP (`PARLEY_SMTP_URL`) as durable jobs (`mail_jobs`).
//!
//! # Never twice
//! Every mail is queued under a unique key (`replies:{conversation}:{message}`,
//! `transcript:{conversation}:{last message}`, `account_link:{hash of the link}`), so a retried
//! request or a repeated close queues nothing new. A worker claims a job by moving it to
//! `sending` with a lease, and then:
//! - the mail server accepted the message (its reply to the end of the data was positive):
//!   `sent`;
//! - a failure that proves nothing was delivered: the connection, TLS or sign-in failed, or the
//!   server refused the sender, a recipient, the `DATA` command or, with a negative reply, the
//!   message itself. A temporary refusal (4xx, or no connection) is retried with back-off, a
//!   permanent one (5xx) or too many attempts ends `failed`;
//! - anything else may have delivered it: the connection broke or timed out after the message
//!   was written and before the server answered it. The job ends `unknown` and is never tried
//!   again. So does a job whose worker stopped while `sending` (its lease ran out): a lease is
//!   never taken over, because the dead worker may have sent the mail.
//!
//! A mail may thus be lost in those rare uncertain cases, never doubled.
//!
//! # Offline replies
//! The visitor is *connected* while their widget is heard from: every widget call about the
//! conversation, and the open widget's heartbeat (`POST …/seen`, every 60 s while the page is
//! visible), mark the conversation's `visitor_seen_at`. An agent's reply to a conversation with
//! an email queues one batch job per conversation, due `PARLEY_EMAIL_AFTER_SECS` after the reply.
//! When it runs: if the visitor was heard from within that time, it waits until they have been
//! away that long; otherwise it mails every agent reply since the last mail's that the visitor
//! has neither read nor been connected after, and notes the last one it covers. A reply that
//! arrives while a batch is being sent queues the next batch when that one ends.
//!
//! A conversation *waiting for email* (its visitor asked for a human while the widget's team was
//! away and left their email, see [`crate::availability`]) is the exception: the agent's reply
//! that ends the wait queues its batch due at once, and that batch mails the unread replies
//! whether or not the visitor is connected, since they asked for the reply by email. A batch
//! already queued for the conversation keeps its time.

mod compose;
mod links;
mod runner;
mod smtp;

use std::{fmt, time::Duration};

pub use compose::{locale_of, LOCALES};
pub use links::{reopen_key, resume_token, resume_token_matches, verify_reopen_key, LINK_DAYS};
use parley_store::{Conversation, LinkPurpose, MailKind, NewMailJob};
pub use runner::{start, RunnerConfig};
pub use smtp::{SmtpError, SmtpSettings, TlsMode};

use crate::{error::ApiError, service::ChatService};

/// How Parley sends mail; `None` in [`crate::ChatConfig::mail`] turns email off.
#[derive(Clone)]
pub struct MailConfig {
    /// The server (`PARLEY_SMTP_URL`).
    pub smtp: SmtpSettings,
    /// `From:` (`PARLEY_MAIL_FROM`), e.g. `Support <help@example.com>`.
    pub from: lettre::message::Mailbox,
    /// How long a visitor must be away before an agent's reply is emailed
    /// (`PARLEY_EMAIL_AFTER_SECS`, default 300).
    pub email_after: Duration,
}

impl fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailConfig")
            .field("smtp", &self.smtp)
            .field("from", &self.from.to_string())
            .field("email_after", &self.email_after)
            .finish()
    }
}

impl MailConfig {
    /// Reads `PARLEY_MAIL_FROM`: an address, with or without a display name.
    pub fn parse_from(text: &str) -> Result<lettre::message::Mailbox, String> {
        text.trim()
            .parse()
            .map_err(|_| "expected an address such as Support <help@example.com>".to_string())
    }
}

/// What a refused mail request answers when the server sends no email.
fn mail_off() -> ApiError {
    ApiError::Conflict("this server sends no email (PARLEY_SMTP_URL is not set)".into())
}

impl ChatService {
    /// Whether this server sends email.
    pub fn mail_enabled(&self) -> bool {
        self.config.mail.is_some()
    }

    /// After an agent's reply: queues the conversation's batch of offline replies, due when the
    /// visitor will have been away long enough (nothing if one is already queued, the
    /// conversation has no email, or email is off). Failures are logged: the reply stands.
    pub(crate) async fn queue_offline_reply(&self, conversation: &Conversation, message_id: i64) {
        let (Some(mail), Some(email)) = (&self.config.mail, &conversation.visitor_email) else {
            return;
        };
        // A visitor who left their email while the team was away asked for the reply there:
        // it goes at once, connected or not (see "Offline replies").
        let immediate = conversation.waiting_for_email_at.is_some();
        let after = match immediate {
            true => chrono::Duration::zero(),
            false => chrono::Duration::from_std(mail.email_after).unwrap_or_default(),
        };
        let job = NewMailJob {
            kind: MailKind::Replies,
            dedupe_key: format!("replies:{}:{message_id}", conversation.id),
            conversation_id: Some(conversation.id),
            recipient: email.clone(),
            payload: serde_json::json!({ "immediate": immediate }),
            up_to_message_id: None,
            run_at: chrono::Utc::now() + after,
        };
        match self.store.enqueue_mail(job).await {
            Ok(Some(_)) => self.mail_wakeup.notify_one(),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, conversation = conversation.id, "cannot queue the reply mail")
            }
        }
    }

    /// Queues `conversation`'s transcript up to its latest message, to its visitor's email.
    /// `Ok(true)` when queued, `Ok(false)` when the same transcript was queued already. 409
    /// when email is off, 422 when the conversation has no email or no message.
    pub async fn queue_transcript(
        &self,
        conversation: &Conversation,
        reason: &str,
    ) -> Result<bool, ApiError> {
        if !self.mail_enabled() {
            return Err(mail_off());
        }
        let email = conversation.visitor_email.clone().ok_or_else(|| {
            ApiError::Validation("this conversation has no email address to send to".into())
        })?;
        let last = self
            .store
            .latest_messages(conversation.id, None, 1)
            .await?
            .pop()
            .ok_or_else(|| ApiError::Validation("this conversation has no message yet".into()))?;
        let job = NewMailJob {
            kind: MailKind::Transcript,
            dedupe_key: format!("transcript:{}:{}", conversation.id, last.id),
            conversation_id: Some(conversation.id),
            recipient: email,
            payload: serde_json::json!({ "reason": reason }),
            up_to_message_id: Some(last.id),
            run_at: chrono::Utc::now(),
        };
        let queued = self.store.enqueue_mail(job).await?.is_some();
        if queued {
            self.mail_wakeup.notify_one();
        }
        Ok(queued)
    }

    /// After a conversation is closed: its transcript, when its widget's settings ask for it
    /// (`email.transcript_on_close`) and it has an email. Failures are logged.
    pub(crate) async fn transcript_on_close(&self, conversation: &Conversation) {
        if !self.mail_enabled() || conversation.visitor_email.is_none() {
            return;
        }
        let wanted = match self.store.widget(conversation.widget_id).await {
            Ok(Some(widget)) => widget
                .settings
                .pointer("/email/transcript_on_close")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            Ok(None) => false,
            Err(error) => {
                tracing::warn!(%error, "cannot read the widget for the transcript on close");
                false
            }
        };
        if wanted {
            if let Err(error) = self.queue_transcript(conversation, "closed").await {
                tracing::warn!(%error, conversation = conversation.id, "no transcript on close");
            }
        }
    }

    /// Emails a person of the team their invitation or reset link (`url`, absolute), when email
    /// is on; whether it was queued.
    pub async fn mail_account_link(
        &self,
        email: &str,
        name: &str,
        purpose: LinkPurpose,
        url: &str,
    ) -> Result<bool, ApiError> {
        if !self.mail_enabled() {
            return Ok(false);
        }
        let job = NewMailJob {
            kind: MailKind::AccountLink,
            dedupe_key: format!("account_link:{}", crate::tokens::hash_token(url)),
            conversation_id: None,
            recipient: email.to_string(),
            payload: serde_json::json!({ "purpose": purpose.as_str(), "url": url, "name": name }),
            up_to_message_id: None,
            run_at: chrono::Utc::now(),
        };
        let queued = self.store.enqueue_mail(job).await?.is_some();
        if queued {
            self.mail_wakeup.notify_one();
        }
        Ok(queued)
    }

    /// Notes that a conversation's visitor was heard from now (when email is on), at most once
    /// per [`SEEN_EVERY`] (or a quarter of `PARLEY_EMAIL_AFTER_SECS`, if less) per conversation
    /// on this node.
    pub async fn visitor_seen(&self, conversation_id: i64) {
        let Some(mail) = &self.config.mail else {
            return;
        };
        if !self
            .seen
            .due(conversation_id, SEEN_EVERY.min(mail.email_after / 4))
        {
            return;
        }
        if let Err(error) = self
            .store
            .touch_visitor(conversation_id, chrono::Utc::now())
            .await
        {
            tracing::warn!(%error, conversation = conversation_id, "cannot note the visitor as seen");
        }
    }
}

/// How often one node writes a conversation's last-seen time at most.
pub const SEEN_EVERY: Duration = Duration::from_secs(20);

/// Which conversations' visitors this node noted as seen, and when, so that a busy widget does
/// not write on every call.
#[derive(Debug, Default)]
pub struct SeenThrottle(std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>);

impl SeenThrottle {
    /// Whether conversation `id` is due a write now (and if so, marks it written).
    fn due(&self, id: i64, every: Duration) -> bool {
        let now = std::time::Instant::now();
        let mut seen = self.0.lock().expect("seen throttle lock poisoned");
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at) < every);
        }
        match seen.get(&id) {
            Some(at) if now.duration_since(*at) < every => false,
            _ => {
                seen.insert(id, now);
                true
            }
        }
    }
}
