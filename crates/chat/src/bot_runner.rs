//! Runs bot turns from the durable queue: for each visitor message that arrived while the bot
//! answers, shows the bot typing, asks the widget's bot, and posts its reply, or hands the
//! conversation to a human when the visitor asks or the bot keeps failing. An unsure reply is
//! marked so (its key), and the widget offers the visitor a person under it. While the widget's
//! team is away (its business hours), the handoff says so and the reply is to come by email (see
//! [`crate::availability`]).
//!
//! Exactly one reply per visitor message, also across crashes: a job is leased, not taken, so a
//! dead worker's job is claimed again; and the reply is stored with the idempotency key
//! `bot-{message_id}` (`bot-unsure-{message_id}` when unsure), so a job that ran twice still
//! stores one reply.

use std::{collections::HashMap, path::PathBuf, sync::Arc, time::Duration};

use parley_bot::{
    phrase, Bot, BotError, BotSettings, HandoffReason, HistoryEntry, Phrase, Reply, Role, Turn,
};
use parley_store::{BotJob, ConversationStatus, SenderType, Widget};
use tokio::sync::{Mutex, Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::{
    availability::{away_handoff_text, Mode},
    payload,
    ratelimit::RateLimiter,
    service::{Author, ChatService, Incoming, Posted},
};

/// How the runner behaves; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Where knowledge files live (`{widget_id}.md`, `.yaml`, `default.md`).
    pub knowledge_dir: PathBuf,
    /// How long a claimed job is held before another worker may take it over.
    pub lease: Duration,
    /// The longest one bot reply may take.
    pub reply_timeout: Duration,
    /// Attempts before a failing bot hands the conversation to a human.
    pub max_attempts: i32,
    /// First retry delay; doubles with each attempt.
    pub retry_base: Duration,
    /// Bot replies allowed in one conversation before it goes to a human (abuse limit).
    pub max_turns_per_conversation: u32,
    /// Bot turns per minute per widget (abuse limit; excess turns wait).
    pub turns_per_widget_per_minute: u32,
    /// Turns run at once.
    pub concurrency: usize,
    /// How often the queue is checked for retries and abandoned jobs when nothing wakes it.
    pub poll: Duration,
}

impl RunnerConfig {
    /// Production defaults.
    pub fn new(knowledge_dir: PathBuf) -> Self {
        Self {
            knowledge_dir,
            lease: Duration::from_secs(120),
            reply_timeout: Duration::from_secs(60),
            max_attempts: 3,
            retry_base: Duration::from_secs(2),
            max_turns_per_conversation: 50,
            turns_per_widget_per_minute: 600,
            concurrency: 8,
            poll: Duration::from_secs(1),
        }
    }
}

pub use crate::payload::{inbox_channel, HANDOFF_EVENT};

/// How many earlier messages a bot turn sees.
const HISTORY_TURNS: i64 = 20;
/// The bot is composing (`{typing: bool}`), on the conversation's channel.
pub const TYPING_EVENT: &str = "BotTyping";

/// Starts the runner; it stops when `shutdown` is cancelled.
pub fn start(service: ChatService, config: RunnerConfig, shutdown: CancellationToken) {
    let runner = Arc::new(Runner {
        widget_limiter: RateLimiter::new(config.turns_per_widget_per_minute).shared(
            service.config.shared_rate_limits.as_ref(),
            "bot_turns_widget",
        ),
        slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
        bots: Mutex::default(),
        service,
        config,
    });
    tokio::spawn(runner.run(shutdown));
}

struct Runner {
    service: ChatService,
    config: RunnerConfig,
    widget_limiter: RateLimiter,
    slots: Arc<Semaphore>,
    /// Bots by widget, rebuilt when the widget's bot settings change.
    bots: Mutex<HashMap<i64, CachedBot>>,
}

impl Runner {
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let wakeup: Arc<Notify> = self.service.bot_wakeup();
        loop {
            // Claim while there is work and a free slot.
            loop {
                let Ok(slot) = self.slots.clone().acquire_owned().await else {
                    return;
                };
                match self.service.store.claim_bot_job(self.config.lease).await {
                    Ok(Some(job)) => {
                        let runner = self.clone();
                        tokio::spawn(async move {
                            runner.process(job).await;
                            drop(slot);
                        });
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim bot jobs");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    async fn process(&self, job: BotJob) {
        let outcome = match self.turn(&job).await {
            Ok(Step::Done(outcome)) => outcome,
            Ok(Step::RetryIn(delay, error)) => {
                let at = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
                if let Err(store_error) = self.service.store.retry_bot_job(job.id, at, &error).await
                {
                    tracing::error!(%store_error, job = job.id, "cannot reschedule bot job");
                }
                return;
            }
            Err(error) => {
                // The store failed; leave the job leased so it is retried after the lease.
                tracing::error!(%error, job = job.id, "bot turn failed");
                return;
            }
        };
        if let Err(error) = self.service.store.finish_bot_job(job.id, outcome).await {
            tracing::error!(%error, job = job.id, "cannot finish bot job");
        }
    }

    async fn turn(&self, job: &BotJob) -> Result<Step, crate::error::ApiError> {
        let store = &self.service.store;
        let Some(conversation) = store.conversation(job.conversation_id).await? else {
            return Ok(Step::Done("skipped"));
        };
        if conversation.status != ConversationStatus::Bot {
            return Ok(Step::Done("skipped"));
        }
        let Some(widget) = store.widget(conversation.widget_id).await? else {
            return Ok(Step::Done("skipped"));
        };
        if let Err(wait) = self.widget_limiter.check(&widget.id.to_string()).await {
            return Ok(Step::RetryIn(wait, "widget bot rate limit".into()));
        }
        // The visitor's message and the turns before it: what the bot sees as history.
        let messages = store
            .latest_messages(conversation.id, Some(job.message_id), HISTORY_TURNS + 1)
            .await?;
        let Some(position) = messages.iter().position(|m| m.id == job.message_id) else {
            return Ok(Step::Done("skipped"));
        };
        let outcomes = store.bot_outcomes(conversation.id, 100).await?;
        let turn = Turn {
            conversation_id: conversation.id,
            widget_id: widget.id,
            visitor_name: conversation.visitor_name.clone(),
            message: messages[position].message.clone(),
            history: messages[..position].iter().map(history_entry).collect(),
            unsure_count: outcomes.iter().take_while(|o| *o == "unsure").count() as u32,
            bot_turns: outcomes
                .iter()
                .filter(|o| matches!(o.as_str(), "answer" | "unsure"))
                .count() as u32,
            locale: conversation.locale.clone(),
        };
        let locale = conversation.locale.as_deref();
        let reply_key = format!("bot-{}", job.message_id);
        if turn.bot_turns >= self.config.max_turns_per_conversation {
            let text = phrase(Phrase::LimitReached, locale);
            return self
                .hand_off(
                    &conversation,
                    &widget,
                    &reply_key,
                    text,
                    HandoffReason::LimitReached,
                )
                .await;
        }
        let bot = match self.bot_for(&widget).await {
            Ok(bot) => bot,
            Err(error) => {
                tracing::error!(%error, widget = widget.id, "the widget's bot is misconfigured");
                let text = phrase(Phrase::Unavailable, locale);
                return self
                    .hand_off(
                        &conversation,
                        &widget,
                        &reply_key,
                        text,
                        HandoffReason::BotFailed,
                    )
                    .await;
            }
        };
        self.typing(conversation.id, true);
        let reply = tokio::time::timeout(self.config.reply_timeout, bot.reply(&turn)).await;
        let step = self
            .respond(job, &conversation, &widget, &reply_key, reply)
            .await;
        // After the reply is posted, so the dots give way to the message rather than vanish first.
        self.typing(conversation.id, false);
        step
    }

    async fn respond(
        &self,
        job: &BotJob,
        conversation: &parley_store::Conversation,
        widget: &Widget,
        reply_key: &str,
        reply: Result<Result<Reply, BotError>, tokio::time::error::Elapsed>,
    ) -> Result<Step, crate::error::ApiError> {
        let reply = match reply {
            Ok(Ok(reply)) => reply,
            Ok(Err(error)) => {
                return self
                    .failed(job, conversation, widget, reply_key, &error.to_string())
                    .await
            }
            Err(_) => {
                return self
                    .failed(
                        job,
                        conversation,
                        widget,
                        reply_key,
                        &BotError::Timeout.to_string(),
                    )
                    .await
            }
        };
        match reply {
            Reply::Answer { text } => {
                self.post(conversation, Author::Bot(widget), reply_key, text)
                    .await?;
                Ok(Step::Done("answer"))
            }
            Reply::Unsure { text } => {
                let key = payload::unsure_reply_key(job.message_id);
                self.post(conversation, Author::Bot(widget), &key, text)
                    .await?;
                Ok(Step::Done("unsure"))
            }
            Reply::Handoff { text, reason } => {
                self.hand_off(conversation, widget, reply_key, &text, reason)
                    .await
            }
            Reply::Deferred => Ok(Step::Done("deferred")),
        }
    }

    async fn failed(
        &self,
        job: &BotJob,
        conversation: &parley_store::Conversation,
        widget: &Widget,
        reply_key: &str,
        error: &str,
    ) -> Result<Step, crate::error::ApiError> {
        tracing::warn!(job = job.id, attempt = job.attempts, %error, "bot reply failed");
        if job.attempts < self.config.max_attempts {
            let delay =
                self.config.retry_base * 2u32.saturating_pow(job.attempts.max(1) as u32 - 1);
            return Ok(Step::RetryIn(delay, error.to_string()));
        }
        let text = phrase(Phrase::Trouble, conversation.locale.as_deref());
        self.hand_off(
            conversation,
            widget,
            reply_key,
            text,
            HandoffReason::BotFailed,
        )
        .await
    }

    async fn hand_off(
        &self,
        conversation: &parley_store::Conversation,
        widget: &Widget,
        reply_key: &str,
        text: &str,
        reason: HandoffReason,
    ) -> Result<Step, crate::error::ApiError> {
        // Away (the widget's hours are closed): the reply will come by email, to the email the
        // visitor gave (or the site signed), else to the one the widget now asks for.
        let away = self.service.availability(widget).await?.mode == Mode::Away;
        let by_email = away && self.service.mail_enabled();
        let known = conversation.visitor_email.is_some();
        let text = match away {
            true => away_handoff_text(conversation, by_email && !known, by_email && known),
            false => text,
        };
        self.post(conversation, Author::System, reply_key, text.to_string())
            .await?;
        let handed = self
            .service
            .set_status(conversation.id, ConversationStatus::Human, None)
            .await?;
        if by_email && known {
            self.service.wait_for_email(&handed, None).await?;
        }
        let notice = serde_json::json!({
            "conversation_id": conversation.id,
            "widget_id": widget.id,
            "reason": format!("{reason:?}"),
            "visitor_name": conversation.visitor_name,
            "away": away,
        });
        self.service
            .broadcast(inbox_channel(widget.id), HANDOFF_EVENT, &notice, None);
        Ok(Step::Done("handoff"))
    }

    async fn post(
        &self,
        conversation: &parley_store::Conversation,
        author: Author<'_>,
        reply_key: &str,
        text: String,
    ) -> Result<Posted, crate::error::ApiError> {
        let incoming = Incoming {
            text,
            client_id: Some(reply_key.to_string()),
            ..Incoming::default()
        };
        self.service.post(conversation, author, incoming).await
    }

    fn typing(&self, conversation_id: i64, typing: bool) {
        let channel = payload::conversation_channel(conversation_id);
        self.service.broadcast(
            channel,
            TYPING_EVENT,
            &serde_json::json!({ "typing": typing }),
            None,
        );
    }

    async fn bot_for(&self, widget: &Widget) -> Result<Arc<dyn Bot>, BotError> {
        let settings_json = widget
            .settings
            .get("bot")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let mut bots = self.bots.lock().await;
        if let Some((cached_settings, bot)) = bots.get(&widget.id) {
            if *cached_settings == settings_json {
                return Ok(bot.clone());
            }
        }
        let settings = BotSettings::from_widget_settings(&widget.settings)?;
        let bot = parley_bot::build(&settings, &self.config.knowledge_dir, widget.id)?;
        bots.insert(widget.id, (settings_json, bot.clone()));
        Ok(bot)
    }
}

/// A widget's bot and the `settings.bot` it was built from.
type CachedBot = (serde_json::Value, Arc<dyn Bot>);

enum Step {
    Done(&'static str),
    RetryIn(Duration, String),
}

fn history_entry(message: &parley_store::Message) -> HistoryEntry {
    let role = match message.sender_type {
        SenderType::Visitor => Role::Visitor,
        SenderType::Bot => Role::Bot,
        SenderType::Agent => Role::Agent,
        SenderType::System => Role::System,
    };
    HistoryEntry {
        role,
        text: message.message.clone(),
    }
}
