//! A widget's bot settings: the `settings.bot` JSON object, typed, with defaults per kind.
//!
//! ```json
//! {"kind": "knowledge", "greeting": "Hi!", "threshold": 0.5,
//!  "knowledge": [{"question": "Do you ship abroad?", "answer": "Yes, worldwide."}]}
//! {"kind": "llm", "base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2",
//!  "api_key_env": "OPENAI_API_KEY", "system_prompt": "You answer for Acme.", "timeout_secs": 30}
//! {"kind": "webhook", "url": "https://bot.example.com/parley", "secret": "…", "timeout_secs": 10}
//! ```
//!
//! One flat struct rather than an enum per kind, so a caller can switch `kind` and keep the rest,
//! and so shared fields (greeting, texts, knowledge, time-out) are spelled once. Unknown fields are
//! rejected: a misspelt `treshold` must fail loudly rather than silently use the default.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use crate::knowledge::Entry;
use crate::phrases::{phrase, Phrase};
use crate::BotError;

/// Which bot a widget uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BotKind {
    /// Answers from the widget's knowledge; needs no external service.
    #[default]
    Knowledge,
    /// An OpenAI-compatible chat-completions endpoint.
    Llm,
    /// An external bot reached by signed webhooks.
    Webhook,
}

/// The `settings.bot` object of a widget. `BotSettings::default()` (a missing object) is the
/// knowledge bot with the built-in demo knowledge.
#[derive(Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BotSettings {
    pub kind: BotKind,
    /// Greeting for new conversations; `None` uses the kind's default, `""` disables it.
    pub greeting: Option<String>,
    /// Shown when handing off to a human.
    pub handoff_message: Option<String>,
    /// Shown when the knowledge bot is unsure.
    pub fallback: Option<String>,
    /// Inline question/answer entries, added to the widget's knowledge files.
    pub knowledge: Vec<Entry>,
    /// Knowledge bot: the confidence (0..1) below which it is unsure.
    pub threshold: f32,
    /// How often, at most, the knowledge files' modification times are checked; 0 checks on
    /// every turn.
    pub reload_secs: u64,

    /// LLM: the API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`.
    pub base_url: Option<String>,
    /// LLM: the bearer key (prefer `api_key_env`, so the key stays out of the database).
    pub api_key: Option<String>,
    /// LLM: the environment variable holding the key.
    pub api_key_env: Option<String>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub temperature: Option<f32>,
    /// LLM: the longest answer, in tokens, asked of the model.
    pub max_tokens: u32,
    /// LLM: bot replies per conversation before handing off.
    pub max_turns: u32,
    /// LLM: how many retrieved knowledge passages ground each answer.
    pub top_k: usize,
    /// LLM: how many earlier messages are sent with each request (bounds prompt tokens).
    pub max_history: usize,
    /// LLM (default 30) and webhook (default 10): the longest wait for the server to say
    /// anything, the response head or the next piece of a stream. Fractions are allowed.
    pub timeout_secs: Option<f64>,

    /// Webhook: where conversation events are POSTed.
    pub url: Option<String>,
    /// Webhook: the HMAC secret for `X-Parley-Signature`.
    pub secret: Option<String>,
    /// Webhook bot: the bearer token the external bot presents when it replies through
    /// `POST /api/bot/conversations/{id}/messages` (distinct from the signing secret).
    pub reply_token: Option<String>,
}

impl Default for BotSettings {
    fn default() -> Self {
        BotSettings {
            kind: BotKind::Knowledge,
            greeting: None,
            handoff_message: None,
            fallback: None,
            knowledge: Vec::new(),
            threshold: 0.5,
            reload_secs: 3,
            base_url: None,
            api_key: None,
            api_key_env: None,
            model: None,
            system_prompt: None,
            temperature: None,
            max_tokens: 512,
            max_turns: 20,
            top_k: 3,
            max_history: 20,
            timeout_secs: None,
            url: None,
            secret: None,
            reply_token: None,
        }
    }
}

impl BotSettings {
    /// Reads `settings.bot` out of a widget's whole settings object; a missing or null `bot`
    /// gives the default (the knowledge bot with the demo knowledge).
    pub fn from_widget_settings(widget_settings: &serde_json::Value) -> Result<Self, BotError> {
        match widget_settings.get("bot") {
            None | Some(serde_json::Value::Null) => Ok(BotSettings::default()),
            Some(bot) => BotSettings::deserialize(bot)
                .map_err(|e| BotError::Config(format!("settings.bot: {e}"))),
        }
    }

    /// The site's handoff message, else the built-in one in the conversation's language.
    pub(crate) fn handoff_text(&self, locale: Option<&str>) -> String {
        non_empty(&self.handoff_message)
            .unwrap_or_else(|| phrase(Phrase::Handoff, locale))
            .to_owned()
    }

    /// The site's fallback, else the built-in one in the conversation's language.
    pub(crate) fn fallback_text(&self, locale: Option<&str>) -> String {
        non_empty(&self.fallback)
            .unwrap_or_else(|| phrase(Phrase::Fallback, locale))
            .to_owned()
    }

    /// The configured greeting, else `default`; an explicit empty greeting means none.
    pub(crate) fn greeting_or(&self, default: &str) -> Option<String> {
        match self.greeting.as_deref() {
            Some("") => None,
            Some(text) => Some(text.to_owned()),
            None if default.is_empty() => None,
            None => Some(default.to_owned()),
        }
    }

    pub(crate) fn timeout(&self, default_secs: f64) -> Result<Duration, BotError> {
        let secs = self.timeout_secs.unwrap_or(default_secs);
        if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
            return Err(BotError::Config(format!(
                "timeout_secs must be between 0 and 3600, not {secs}"
            )));
        }
        Ok(Duration::from_secs_f64(secs))
    }

    pub(crate) fn reload_interval(&self) -> Duration {
        Duration::from_secs(self.reload_secs)
    }

    /// The LLM key: `api_key`, else the variable `api_key_env` names (which must then be set:
    /// a named but missing variable is a deployment mistake worth an error), else none (Ollama,
    /// llama.cpp and vLLM need none by default).
    pub(crate) fn resolved_api_key(&self) -> Result<Option<String>, BotError> {
        if let Some(key) = non_empty(&self.api_key) {
            return Ok(Some(key.to_owned()));
        }
        match non_empty(&self.api_key_env) {
            None => Ok(None),
            Some(var) => match std::env::var(var) {
                Ok(key) if !key.is_empty() => Ok(Some(key)),
                _ => Err(BotError::Config(format!(
                    "api_key_env names {var}, which is not set"
                ))),
            },
        }
    }
}

pub(crate) fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Secrets are shown only as whether they are set.
impl fmt::Debug for BotSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("BotSettings")
            .field("kind", &self.kind)
            .field("greeting", &self.greeting)
            .field("handoff_message", &self.handoff_message)
            .field("fallback", &self.fallback)
            .field("knowledge", &self.knowledge.len())
            .field("threshold", &self.threshold)
            .field("reload_secs", &self.reload_secs)
            .field("base_url", &self.base_url)
            .field("api_key", &redacted(&self.api_key))
            .field("api_key_env", &self.api_key_env)
            .field("model", &self.model)
            .field(
                "system_prompt",
                &self.system_prompt.as_ref().map(String::len),
            )
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("max_turns", &self.max_turns)
            .field("top_k", &self.top_k)
            .field("max_history", &self.max_history)
            .field("timeout_secs", &self.timeout_secs)
            .field("url", &self.url)
            .field("secret", &redacted(&self.secret))
            .finish()
    }
}
