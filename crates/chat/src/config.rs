//! What the chat service is configured with: where browsers reach the realtime server and how
//! channel auth is signed, limits on uploads and messages, and rate limits.

use std::{fmt, path::PathBuf};

/// Which realtime provider browsers should use (the seed's `realtimeProvider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// Parley's own server or any Reverb-compatible one.
    Reverb,
    /// Hosted Pusher (or a compatible service).
    Pusher,
    /// No realtime: browsers poll.
    Polling,
}

impl Provider {
    /// As the config endpoint spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reverb => "reverb",
            Self::Pusher => "pusher",
            Self::Polling => "polling",
        }
    }
}

/// Credentials for one realtime app, as the browser and the auth endpoint need them.
#[derive(Clone)]
pub struct RealtimeApp {
    /// Public key.
    pub key: String,
    /// Signs channel auth.
    pub secret: String,
    /// Host browsers connect to; `None` means "the host the browser used to reach the API".
    pub host: Option<String>,
    /// Port browsers connect to.
    pub port: u16,
    /// `http` or `https` (which makes pusher-js use `ws` or `wss`).
    pub scheme: String,
    /// Pusher cluster (hosted Pusher only).
    pub cluster: String,
    /// Path before `/app/{key}` (Reverb's `REVERB_SERVER_PATH`, e.g. `/ws` behind a proxy that
    /// routes by path); empty for none.
    pub path: String,
}

impl fmt::Debug for RealtimeApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RealtimeApp")
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// Everything the chat API is configured with.
#[derive(Debug, Clone)]
pub struct ChatConfig {
    /// Where attachments are stored (`attachments/` inside).
    pub data_dir: PathBuf,
    /// The provider browsers should use.
    pub provider: Provider,
    /// The Reverb-compatible app (the embedded server's, by default).
    pub reverb: Option<RealtimeApp>,
    /// The hosted Pusher app, when configured.
    pub pusher: Option<RealtimeApp>,
    /// Signs attachment links.
    pub link_secret: String,
    /// Largest upload, in bytes.
    pub max_upload_bytes: usize,
    /// Longest message text, in characters.
    pub max_message_chars: usize,
    /// New conversations per minute per client IP.
    pub conversations_per_ip_per_minute: u32,
    /// New conversations per minute per widget.
    pub conversations_per_widget_per_minute: u32,
    /// Messages per minute per client IP.
    pub messages_per_ip_per_minute: u32,
    /// Messages per minute per widget.
    pub messages_per_widget_per_minute: u32,
    /// Largest event data broadcast whole; a larger event goes out as a small `truncated` one
    /// that clients fetch (see [`crate::payload::fitted`]).
    pub max_event_bytes: usize,
    /// Refused tokens (widget, agent, visitor, bot) per minute per client IP; past them the IP's
    /// token-bearing requests get 429 until the window refills (0 disables).
    pub auth_failures_per_ip_per_minute: u32,
    /// Where the rate limits above are kept when the nodes of a cluster share them (Redis, with
    /// `REDIS_URL`); `None`: each node limits what it sees.
    pub shared_rate_limits: Option<crate::ratelimit::SharedLimits>,
    /// Browser origins allowed on `/api/agent/…` besides the API's own host (the dashboard's).
    pub agent_allowed_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client for the per-IP limits.
    pub trusted_proxies: crate::client_address::TrustedProxies,
    /// A session unused for this long is over; its next request must sign in again.
    pub session_idle: chrono::Duration,
    /// Mark the session cookie `Secure` (the public address is https).
    pub secure_cookies: bool,
    /// Sign-in attempts per minute per client IP before 429 (0 disables).
    pub login_attempts_per_ip_per_minute: u32,
    /// Sign-in attempts per minute per email before 429 (0 disables).
    pub login_attempts_per_account_per_minute: u32,
    /// Where browsers reach Parley (`PARLEY_PUBLIC_URL`), for the embed snippet; `None`: the
    /// host the request came to.
    pub public_url: Option<String>,
    /// The knowledge bot's files (`PARLEY_KNOWLEDGE_DIR`), for trying a widget's bot.
    pub knowledge_dir: PathBuf,
    /// Email through SMTP (`PARLEY_SMTP_URL`); `None`: no email.
    pub mail: Option<crate::mail::MailConfig>,
    /// The site's name (`PARLEY_APP_NAME`): what visitors see a widget called unless its
    /// `settings.display_name` says otherwise.
    pub app_name: Option<String>,
}

impl ChatConfig {
    /// Defaults that a busy office behind one address never hits.
    pub fn new(data_dir: PathBuf, provider: Provider, link_secret: String) -> Self {
        Self {
            knowledge_dir: data_dir.join("knowledge"),
            data_dir,
            provider,
            reverb: None,
            pusher: None,
            link_secret,
            max_upload_bytes: 10 * 1024 * 1024,
            max_message_chars: 5000,
            conversations_per_ip_per_minute: 60,
            conversations_per_widget_per_minute: 1200,
            messages_per_ip_per_minute: 600,
            messages_per_widget_per_minute: 12_000,
            max_event_bytes: crate::payload::MAX_EVENT_BYTES,
            auth_failures_per_ip_per_minute: 20,
            shared_rate_limits: None,
            agent_allowed_origins: Vec::new(),
            trusted_proxies: Default::default(),
            session_idle: chrono::Duration::hours(12),
            secure_cookies: false,
            login_attempts_per_ip_per_minute: 30,
            login_attempts_per_account_per_minute: 10,
            public_url: None,
            mail: None,
            app_name: None,
        }
    }

    /// The app whose secret signs channel auth for `provider`.
    pub fn app_for(&self, provider: Provider) -> Option<&RealtimeApp> {
        match provider {
            Provider::Reverb => self.reverb.as_ref(),
            Provider::Pusher => self.pusher.as_ref(),
            Provider::Polling => None,
        }
    }
}
