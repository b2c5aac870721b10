//! The LLM bot: any OpenAI-compatible `POST {base_url}/chat/completions` (OpenAI, Ollama,
//! llama.cpp's server, vLLM, …), streamed, grounded in the widget's knowledge.
//!
//! Each turn sends the widget's system prompt plus the top-k knowledge passages retrieved for the
//! visitor's message, the recent history, and the message, with `stream: true`. The answer is
//! assembled from the SSE stream ([`sse`]); `on_delta` sees each piece as it arrives.
//!
//! Failures are errors, never half answers: an HTTP error, a malformed chunk, a stream that ends
//! before `[DONE]` or a finish reason, an empty answer, or silence longer than `timeout_secs`
//! (waiting for the response or between two pieces of it). The caller hands off on any of them.
//! The whole answer also has a deadline, four times `timeout_secs`, so a server that trickles
//! keep-alives cannot hold a turn forever. What the model says is not judged: its own "I don't
//! know" is an answer like any other.

mod sse;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::time::{timeout, timeout_at, Instant};

use crate::knowledge::{LiveKnowledge, Sources};
use crate::settings::non_empty;
use crate::{
    visitor_handoff, Bot, BotError, BotSettings, DeltaFn, HandoffReason, Reply, Role, Turn,
};
use sse::{parse_chunk, Chunk, SseParser};

const DEFAULT_TIMEOUT_SECS: f64 = 30.0;
const DEFAULT_SYSTEM_PROMPT: &str = "You are a friendly, concise support assistant on a website. \
     Answer the visitor's questions. If you do not know the answer, say so and offer to connect \
     them with a human.";
const DEFAULT_GREETING: &str = "Hi! How can I help you today?";
/// A generous bound on characters per token, to cap an answer whose server ignores `max_tokens`.
const CHARS_PER_TOKEN_CAP: usize = 16;

pub struct LlmBot {
    settings: BotSettings,
    endpoint: String,
    model: String,
    api_key: Option<String>,
    timeout: Duration,
    knowledge: LiveKnowledge,
    http: reqwest::Client,
}

impl LlmBot {
    pub fn new(
        settings: &BotSettings,
        knowledge_dir: &Path,
        widget_id: i64,
    ) -> Result<Self, BotError> {
        let base_url = non_empty(&settings.base_url)
            .ok_or_else(|| BotError::Config("the llm bot needs base_url".into()))?;
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(BotError::Config(format!(
                "base_url must start with http:// or https://, not {base_url:?}"
            )));
        }
        let model = non_empty(&settings.model)
            .ok_or_else(|| BotError::Config("the llm bot needs model".into()))?
            .to_owned();
        let timeout = settings.timeout(DEFAULT_TIMEOUT_SECS)?;
        if settings.max_tokens == 0 {
            return Err(BotError::Config("max_tokens must be at least 1".into()));
        }
        // No demo fallback: Parley's own FAQ must not ground someone else's assistant.
        let sources = Sources::new(knowledge_dir, widget_id, settings.knowledge.clone(), false);
        let knowledge = LiveKnowledge::load(sources, settings.reload_interval())?;
        let http = reqwest::Client::builder()
            .connect_timeout(timeout)
            .build()
            .map_err(|e| BotError::Config(format!("HTTP client: {e}")))?;
        Ok(LlmBot {
            endpoint: format!("{}/chat/completions", base_url.trim_end_matches('/')),
            model,
            api_key: settings.resolved_api_key()?,
            timeout,
            knowledge,
            http,
            settings: settings.clone(),
        })
    }

    /// The system message: the widget's prompt, then the passages that match the message.
    fn system_message(&self, turn: &Turn) -> Result<String, BotError> {
        let mut system = non_empty(&self.settings.system_prompt)
            .unwrap_or(DEFAULT_SYSTEM_PROMPT)
            .to_owned();
        if let Some(name) = turn
            .visitor_name
            .as_deref()
            .filter(|n| !n.trim().is_empty())
        {
            system.push_str(&format!("\n\nThe visitor's name is {}.", name.trim()));
        }
        let retriever = self.knowledge.current();
        let hits = retriever.search(&turn.message, self.settings.top_k)?;
        if !hits.is_empty() {
            system.push_str(
                "\n\nAnswer from the following knowledge base when it is relevant. \
                 Do not invent facts that it does not contain.\n",
            );
            for hit in hits {
                system.push_str(&format!(
                    "\n### {}\n{}\n",
                    hit.entry.questions.join(" / "),
                    hit.entry.answer
                ));
            }
        }
        Ok(system)
    }

    fn request_body(&self, turn: &Turn) -> Result<Value, BotError> {
        let mut messages = vec![json!({"role": "system", "content": self.system_message(turn)?})];
        let skip = turn.history.len().saturating_sub(self.settings.max_history);
        for entry in turn.history.iter().skip(skip) {
            let role = match entry.role {
                Role::Visitor => "user",
                // A human agent's words are the site's side of the conversation, like the bot's.
                Role::Bot | Role::Agent => "assistant",
                // Status notices ("an agent joined") are not dialogue.
                Role::System => continue,
            };
            messages.push(json!({"role": role, "content": entry.text}));
        }
        messages.push(json!({"role": "user", "content": turn.message}));
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "max_tokens": self.settings.max_tokens,
        });
        if let Some(temperature) = self.settings.temperature {
            body["temperature"] = json!(temperature);
        }
        Ok(body)
    }

    /// Sends the request and assembles the streamed answer.
    async fn complete(&self, turn: &Turn, on_delta: &DeltaFn<'_>) -> Result<String, BotError> {
        let deadline = Instant::now() + self.timeout * 4;
        let mut request = self
            .http
            .post(&self.endpoint)
            .json(&self.request_body(turn)?);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = timeout(self.timeout, request.send())
            .await
            .map_err(|_| BotError::Timeout)?
            .map_err(http_error)?;
        let status = response.status();
        if !status.is_success() {
            let body = timeout(self.timeout, response.text())
                .await
                .ok()
                .and_then(Result::ok);
            return Err(BotError::Upstream(status_error(status, body.as_deref())));
        }
        let is_json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if is_json {
            // A server that ignored `stream: true` and sent the whole completion.
            let body = timeout(self.timeout, response.bytes())
                .await
                .map_err(|_| BotError::Timeout)?
                .map_err(http_error)?;
            let text = whole_completion(&body)?;
            on_delta(&text);
            return non_empty_answer(text);
        }

        let cap = (self.settings.max_tokens as usize).saturating_mul(CHARS_PER_TOKEN_CAP);
        let mut stream = response.bytes_stream();
        let mut parser = SseParser::default();
        let mut answer = String::new();
        let mut finished = false;
        loop {
            let wait = (Instant::now() + self.timeout).min(deadline);
            let events = match timeout_at(wait, stream.next()).await {
                Err(_) => return Err(BotError::Timeout),
                Ok(Some(Ok(bytes))) => parser.push(&bytes)?,
                Ok(Some(Err(e))) => return Err(http_error(e)),
                Ok(None) => {
                    let events = parser.finish()?;
                    if !self.apply(events, &mut answer, &mut finished, on_delta)? && !finished {
                        return Err(BotError::Upstream("the stream ended before [DONE]".into()));
                    }
                    return non_empty_answer(answer);
                }
            };
            if self.apply(events, &mut answer, &mut finished, on_delta)? || answer.len() > cap {
                return non_empty_answer(answer);
            }
        }
    }

    /// Adds the events' text to `answer`; true once `[DONE]` arrived.
    fn apply(
        &self,
        events: Vec<String>,
        answer: &mut String,
        finished: &mut bool,
        on_delta: &DeltaFn<'_>,
    ) -> Result<bool, BotError> {
        for data in events {
            match parse_chunk(&data)? {
                Chunk::Done => return Ok(true),
                Chunk::Delta { text, finished: f } => {
                    *finished |= f;
                    if !text.is_empty() {
                        on_delta(&text);
                        answer.push_str(&text);
                    }
                }
            }
        }
        Ok(false)
    }
}

fn non_empty_answer(answer: String) -> Result<String, BotError> {
    let trimmed = answer.trim();
    if trimmed.is_empty() {
        return Err(BotError::Upstream(
            "the model returned an empty answer".into(),
        ));
    }
    Ok(trimmed.to_owned())
}

fn http_error(e: reqwest::Error) -> BotError {
    if e.is_timeout() {
        BotError::Timeout
    } else {
        BotError::Upstream(format!("request failed: {e}"))
    }
}

/// `HTTP 401: Incorrect API key provided`, with the server's own message when it sent one in
/// OpenAI's error shape, else the start of its body.
pub(crate) fn status_error(status: reqwest::StatusCode, body: Option<&str>) -> String {
    let detail = body
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .and_then(|v| {
            let message = v.pointer("/error/message").or_else(|| v.get("error"))?;
            Some(
                message
                    .as_str()
                    .map_or_else(|| message.to_string(), str::to_owned),
            )
        })
        .or_else(|| body.map(|b| b.chars().take(200).collect()))
        .unwrap_or_default();
    format!("HTTP {}: {}", status.as_u16(), detail.trim())
}

fn whole_completion(body: &[u8]) -> Result<String, BotError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| BotError::Upstream(format!("malformed completion: {e}")))?;
    value
        .pointer("/choices/0/message/content")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            BotError::Upstream("the completion has no choices[0].message.content".into())
        })
}

#[async_trait]
impl Bot for LlmBot {
    async fn reply(&self, turn: &Turn) -> Result<Reply, BotError> {
        self.reply_streaming(turn, &|_| {}).await
    }

    async fn reply_streaming(
        &self,
        turn: &Turn,
        on_delta: &DeltaFn<'_>,
    ) -> Result<Reply, BotError> {
        if let Some(handoff) = visitor_handoff(&self.settings, turn) {
            return Ok(handoff);
        }
        if turn.bot_turns >= self.settings.max_turns {
            return Ok(Reply::Handoff {
                text: self.settings.handoff_text(turn.locale.as_deref()),
                reason: HandoffReason::LimitReached,
            });
        }
        let text = self.complete(turn, on_delta).await?;
        Ok(Reply::Answer { text })
    }

    fn greeting(&self) -> Option<String> {
        self.settings.greeting_or(DEFAULT_GREETING)
    }
}

impl fmt::Debug for LlmBot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmBot")
            .field("endpoint", &self.endpoint)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .field("knowledge", &self.knowledge)
            .finish_non_exhaustive()
    }
}
