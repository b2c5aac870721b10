//! The delivery worker every node runs: claims deliveries (a few at once), writes each body,
//! signs it, POSTs it, and records what happened by the rules in [`super`].

use std::{sync::Arc, time::Duration};

use chrono::Utc;
use parley_store::{DeliveryOutcome, DeliveryReport, WebhookDelivery, PING_EVENT};
use rand::Rng;
use tokio::{sync::Semaphore, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use super::body;
use crate::service::ChatService;

/// How the worker behaves; the defaults suit production, tests shorten the waits.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// How long a claimed delivery is held; past it, one still `sending` becomes `unknown`.
    /// Longer than `timeout`, so a live worker always records its answer in time.
    pub lease: Duration,
    /// The longest a POST may take, answer included.
    pub timeout: Duration,
    /// The longest connecting may take.
    pub connect_timeout: Duration,
    /// The first retry's delay; it doubles with each attempt.
    pub retry_base: Duration,
    /// The longest delay between two attempts.
    pub retry_max: Duration,
    /// How long after its event a delivery is still tried; then it is `failed`.
    pub max_age: Duration,
    /// How often the queue is looked at when nothing wakes the worker.
    pub poll: Duration,
    /// Deliveries sent at once by this node.
    pub concurrency: usize,
    /// How long finished deliveries stay in the log.
    pub keep_log: Duration,
    /// How much of an answer is kept, in bytes.
    pub snippet_bytes: usize,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(120),
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            retry_base: Duration::from_secs(10),
            retry_max: Duration::from_secs(3600),
            max_age: Duration::from_secs(24 * 3600),
            poll: Duration::from_secs(1),
            concurrency: 4,
            keep_log: Duration::from_secs(30 * 24 * 3600),
            snippet_bytes: 300,
        }
    }
}

/// How often finished deliveries past `keep_log` are deleted.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Starts the worker. When `shutdown` is cancelled it claims nothing more and ends once the
/// POSTs it started are over (each bounded by `timeout`); the handle ends with it.
pub fn start(
    service: ChatService,
    config: RunnerConfig,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let http = reqwest::Client::builder()
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Parley-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook HTTP client builds");
    let worker = Arc::new(Worker {
        slots: Arc::new(Semaphore::new(config.concurrency.max(1))),
        service,
        config,
        http,
    });
    tokio::spawn(worker.run(shutdown))
}

struct Worker {
    service: ChatService,
    config: RunnerConfig,
    http: reqwest::Client,
    slots: Arc<Semaphore>,
}

/// What a POST came to.
struct Attempt {
    code: Option<u16>,
    snippet: Option<String>,
    error: Option<String>,
}

impl Worker {
    async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let wakeup = self.service.webhook_wakeup.clone();
        let mut pruned_at: Option<tokio::time::Instant> = None;
        loop {
            self.expire().await;
            if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned_at = Some(tokio::time::Instant::now());
                self.prune().await;
            }
            while !shutdown.is_cancelled() {
                let Ok(slot) = self.slots.clone().acquire_owned().await else {
                    return;
                };
                match self
                    .service
                    .store
                    .claim_webhook_delivery(self.config.lease)
                    .await
                {
                    Ok(Some(delivery)) => {
                        let worker = self.clone();
                        tokio::spawn(async move {
                            worker.process(delivery).await;
                            drop(slot);
                        });
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "cannot claim webhook deliveries");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = wakeup.notified() => {}
                _ = tokio::time::sleep(self.config.poll) => {}
            }
        }
        // The POSTs under way finish and are recorded; each is bounded by the timeout.
        let all = u32::try_from(self.config.concurrency.max(1)).unwrap_or(u32::MAX);
        let _ = self.slots.acquire_many(all).await;
    }

    /// Deliveries whose worker stopped while sending: never sent again.
    async fn expire(&self) {
        match self
            .service
            .store
            .expire_webhook_deliveries(Utc::now())
            .await
        {
            Ok(expired) => {
                for delivery in expired {
                    tracing::warn!(
                        delivery = delivery.id,
                        webhook = delivery.webhook_id,
                        "a webhook delivery's worker stopped while sending; the receiver may have had it, so it is not sent again"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, "cannot expire webhook deliveries"),
        }
    }

    async fn prune(&self) {
        let keep = chrono::Duration::from_std(self.config.keep_log).unwrap_or_default();
        match self
            .service
            .store
            .prune_webhook_deliveries(Utc::now() - keep)
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old webhook deliveries removed from the log"),
            Err(error) => tracing::warn!(%error, "cannot prune webhook deliveries"),
        }
    }

    async fn process(&self, delivery: WebhookDelivery) {
        let store = &self.service.store;
        let started = std::time::Instant::now();
        let webhook = match store.webhook(delivery.webhook_id).await {
            // Deleted meanwhile: its deliveries went with it.
            Ok(None) => return,
            Ok(Some(webhook)) => Some(webhook),
            Err(error) => {
                tracing::warn!(%error, delivery = delivery.id, "cannot read a webhook");
                None
            }
        };
        let config = &self.service.config;
        let attempt = match webhook {
            None => Err("the database could not be read; nothing was sent".to_string()),
            Some(webhook) => {
                match body::render(
                    store.as_ref(),
                    &delivery,
                    &config.link_secret,
                    config.public_url.as_deref(),
                )
                .await
                {
                    Ok(Some(body)) => Ok(self.post(&webhook, &delivery, &body).await),
                    Ok(None) => {
                        // Erased while it was claimed: nothing to say, and nobody to retry for.
                        let report = DeliveryReport {
                            outcome: DeliveryOutcome::Failed,
                            response_code: None,
                            response_snippet: None,
                            error: Some("what it was about no longer exists".into()),
                            duration_ms: 0,
                        };
                        self.record(&delivery, &report).await;
                        return;
                    }
                    Err(error) => {
                        tracing::warn!(%error, delivery = delivery.id, "cannot write a webhook body");
                        Err("the database could not be read; nothing was sent".to_string())
                    }
                }
            }
        };
        let attempt = attempt.unwrap_or_else(|error| Attempt {
            code: None,
            snippet: None,
            error: Some(error),
        });
        let delivered = attempt.code.is_some_and(|code| (200..300).contains(&code));
        let outcome = if delivered {
            DeliveryOutcome::Delivered
        } else {
            self.after_failure(&delivery)
        };
        let error = match (&attempt.error, attempt.code) {
            (Some(error), _) => Some(error.clone()),
            (None, Some(code)) if !delivered => Some(format!("the receiver answered {code}")),
            _ => None,
        };
        match outcome {
            DeliveryOutcome::Delivered => tracing::info!(
                delivery = delivery.id,
                webhook = delivery.webhook_id,
                event = %delivery.event,
                "webhook delivered"
            ),
            DeliveryOutcome::RetryAt(at) => tracing::warn!(
                delivery = delivery.id,
                webhook = delivery.webhook_id,
                attempt = delivery.attempts,
                error = error.as_deref().unwrap_or_default(),
                retry_at = %at,
                "webhook not delivered; will retry"
            ),
            DeliveryOutcome::Failed => tracing::warn!(
                delivery = delivery.id,
                webhook = delivery.webhook_id,
                attempt = delivery.attempts,
                error = error.as_deref().unwrap_or_default(),
                "webhook not delivered; given up"
            ),
        }
        let report = DeliveryReport {
            outcome,
            response_code: attempt.code,
            response_snippet: attempt.snippet,
            error,
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        };
        self.record(&delivery, &report).await;
    }

    async fn record(&self, delivery: &WebhookDelivery, report: &DeliveryReport) {
        match self
            .service
            .store
            .finish_webhook_delivery(delivery.id, delivery.attempts, report)
            .await
        {
            Ok(true) => {
                // The conversation's next delivery may go now.
                self.service.wake_webhooks();
            }
            Ok(false) => {}
            Err(error) => {
                tracing::error!(%error, delivery = delivery.id, "cannot record a webhook delivery's outcome")
            }
        }
    }

    /// After a failed attempt: when to try again, or give up (a test, or the event is too old
    /// for the next try).
    fn after_failure(&self, delivery: &WebhookDelivery) -> DeliveryOutcome {
        if delivery.event == PING_EVENT {
            return DeliveryOutcome::Failed;
        }
        let exponent = u32::try_from(delivery.attempts.max(1) - 1)
            .unwrap_or(0)
            .min(30);
        let delay = self
            .config
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.config.retry_max);
        // Up to a tenth more, so that deliveries held back by one outage do not all return at
        // the same instant.
        let jitter = delay.mul_f64(rand::rng().random_range(0.0..0.1));
        let at = Utc::now() + chrono::Duration::from_std(delay + jitter).unwrap_or_default();
        let deadline = delivery.created_at
            + chrono::Duration::from_std(self.config.max_age).unwrap_or_default();
        if at > deadline {
            DeliveryOutcome::Failed
        } else {
            DeliveryOutcome::RetryAt(at)
        }
    }

    /// POSTs `body`, signed with the webhook's secret.
    async fn post(
        &self,
        webhook: &parley_store::Webhook,
        delivery: &WebhookDelivery,
        body: &serde_json::Value,
    ) -> Attempt {
        let failed = |error: String| Attempt {
            code: None,
            snippet: None,
            error: Some(error),
        };
        // Checked when made; checked again, so a hand-edited row cannot send elsewhere.
        if super::check_url(&webhook.url).is_err() {
            return failed("the webhook's URL is not an http(s) address".into());
        }
        let bytes = serde_json::to_vec(body).expect("a JSON value serialises");
        let timestamp = Utc::now().timestamp();
        let signature = parley_bot::sign_webhook(&webhook.secret, timestamp, &bytes);
        let request = self
            .http
            .post(&webhook.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(parley_bot::TIMESTAMP_HEADER, timestamp.to_string())
            .header(parley_bot::SIGNATURE_HEADER, format!("sha256={signature}"))
            .header("X-Parley-Event", &delivery.event)
            .header("X-Parley-Delivery", delivery.id.to_string())
            .body(bytes);
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return failed(self.describe(&error)),
        };
        let code = response.status().as_u16();
        // Only the start of the answer is read and kept.
        let mut snippet = Vec::new();
        let mut error = None;
        while snippet.len() < self.config.snippet_bytes {
            match response.chunk().await {
                Ok(Some(chunk)) => snippet.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = Some(self.describe(&e));
                    break;
                }
            }
        }
        snippet.truncate(self.config.snippet_bytes);
        let snippet = String::from_utf8_lossy(&snippet)
            .chars()
            .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
            .collect::<String>()
            .trim()
            .to_string();
        Attempt {
            code: Some(code),
            snippet: (!snippet.is_empty()).then_some(snippet),
            // A 2xx whose body broke off was still answered: delivered.
            error: error.filter(|_| !(200..300).contains(&code)),
        }
    }

    /// A failed request, for the log: what happened, without the URL (the log shows it).
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!(
                "no answer within {} s",
                self.config.timeout.as_secs_f64().ceil()
            );
        }
        let mut text = if error.is_connect() {
            "could not connect".to_string()
        } else {
            "the request failed".to_string()
        };
        let mut source = std::error::Error::source(error);
        let mut last = String::new();
        while let Some(cause) = source {
            let said = cause.to_string();
            if said != last {
                text.push_str(": ");
                text.push_str(&said);
                last = said;
            }
            source = cause.source();
        }
        text
    }
}
