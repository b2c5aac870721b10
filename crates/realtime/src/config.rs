//! What the realtime server is told: the apps it serves (each with its own limits, origins and
//! webhooks) and the server-wide timings and limits. Parsed and validated up front; a bad
//! setting is an error at start, never a surprise later.

use std::{collections::HashSet, fmt, path::Path, time::Duration};

use serde::Deserialize;

/// One Pusher app: credentials plus everything that may differ between apps.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppConfig {
    /// The app id used in HTTP API paths. Numeric ids keep the Python SDK happy.
    pub id: String,
    /// The public key clients connect with.
    pub key: String,
    /// The secret that signs channel auth and API requests.
    pub secret: String,
    /// A disabled app refuses connections (4003) and API calls (403).
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Most simultaneous connections; beyond it new ones are closed with 4004.
    #[serde(default)]
    pub max_connections: Option<usize>,
    /// Origins browsers may connect from (`scheme://host[:port]`); empty allows any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Whether subscribers may send `client-` events.
    #[serde(default = "yes")]
    pub client_events: bool,
    /// Client events each connection may send per second.
    #[serde(default = "default_client_event_rate")]
    pub client_event_rate_limit: u32,
    /// Largest event `data`, in bytes, for API publishes and client events.
    #[serde(default = "default_max_payload")]
    pub max_event_payload_bytes: usize,
    /// Longest channel name.
    #[serde(default = "default_max_channel_name")]
    pub max_channel_name_length: usize,
    /// Most channels one API publish may name.
    #[serde(default = "default_max_channels_per_event")]
    pub max_channels_per_event: usize,
    /// Most events in one `batch_events` call.
    #[serde(default = "default_max_batch")]
    pub max_batch_size: usize,
    /// Longest event name.
    #[serde(default = "default_max_event_name")]
    pub max_event_name_length: usize,
    /// Most distinct members in one presence channel (Pusher: 100).
    #[serde(default = "default_max_members")]
    pub max_presence_members: usize,
    /// Largest presence user object (`{"user_id":…,"user_info":…}` as members receive it), in
    /// bytes (Pusher: 1 KB). The old name `max_presence_user_info_bytes` is still read.
    #[serde(
        default = "default_max_member_bytes",
        alias = "max_presence_user_info_bytes"
    )]
    pub max_presence_member_bytes: usize,
    /// Most user ids a sign-in's watchlist may hold; the rest are ignored and the client is told
    /// with error 4302 (Pusher: 100).
    #[serde(default = "default_max_watchlist")]
    pub max_watchlist_size: usize,
    /// When set, a connection that neither signs in nor joins a private or presence channel
    /// within this many seconds is closed with 4009 (Pusher's "authorized connections").
    #[serde(default)]
    pub user_authentication_timeout_secs: Option<u64>,
    /// Whether subscribers receive `pusher:subscription_count` as it changes.
    #[serde(default)]
    pub subscription_count_events: bool,
    /// Where lifecycle events are POSTed.
    #[serde(default)]
    pub webhooks: Vec<WebhookConfig>,
}

/// One webhook endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The URL that receives `{"time_ms":…,"events":[…]}`.
    pub url: String,
    /// Which events this endpoint wants; empty means all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Only events on channels starting with this prefix.
    #[serde(default)]
    pub channel_prefix: Option<String>,
}

/// The event types a webhook may ask for.
pub const WEBHOOK_EVENT_TYPES: [&str; 6] = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "cache_miss",
];

fn yes() -> bool {
    true
}
fn default_client_event_rate() -> u32 {
    10
}
fn default_max_payload() -> usize {
    10 * 1024
}
fn default_max_channel_name() -> usize {
    parley_protocol::channel::DEFAULT_MAX_CHANNEL_NAME
}
fn default_max_channels_per_event() -> usize {
    100
}
fn default_max_batch() -> usize {
    10
}
fn default_max_event_name() -> usize {
    200
}
fn default_max_members() -> usize {
    100
}
fn default_max_member_bytes() -> usize {
    1024
}
fn default_max_watchlist() -> usize {
    100
}

/// The longest presence user id (Pusher's presence channels page: 128 characters).
pub const MAX_PRESENCE_USER_ID_LENGTH: usize = 128;

impl AppConfig {
    /// An app with these credentials and every other setting at its default.
    pub fn new(id: impl Into<String>, key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            key: key.into(),
            secret: secret.into(),
            enabled: true,
            max_connections: None,
            allowed_origins: Vec::new(),
            client_events: true,
            client_event_rate_limit: default_client_event_rate(),
            max_event_payload_bytes: default_max_payload(),
            max_channel_name_length: default_max_channel_name(),
            max_channels_per_event: default_max_channels_per_event(),
            max_batch_size: default_max_batch(),
            max_event_name_length: default_max_event_name(),
            max_presence_members: default_max_members(),
            max_presence_member_bytes: default_max_member_bytes(),
            max_watchlist_size: default_max_watchlist(),
            user_authentication_timeout_secs: None,
            subscription_count_events: false,
            webhooks: Vec::new(),
        }
    }

    /// Whether a browser at `origin` may connect. Exact match on `scheme://host[:port]`: no
    /// wildcards or substrings, so `https://example.com.evil.test` is not `https://example.com`.
    pub fn origin_allowed(&self, origin: Option<&str>) -> bool {
        match origin {
            _ if self.allowed_origins.is_empty() => true,
            // Non-browser clients send no Origin and could forge one anyway; the check exists to
            // stop other sites' pages, which always send it.
            None => true,
            Some(origin) => parley_protocol::origin::origin_matches(&self.allowed_origins, origin),
        }
    }
}

impl fmt::Debug for AppConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppConfig")
            .field("id", &self.id)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("enabled", &self.enabled)
            .field("max_connections", &self.max_connections)
            .field("allowed_origins", &self.allowed_origins)
            .field("client_events", &self.client_events)
            .field("webhooks", &self.webhooks)
            .finish_non_exhaustive()
    }
}

/// A credential that debug output (`parley check-config`, logs) shows as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Server-wide settings.
#[derive(Debug, Clone)]
pub struct RealtimeConfig {
    /// The apps served.
    pub apps: Vec<AppConfig>,
    /// Silence after which the server pings a client (up to a fifth sooner, at random, to keep
    /// clients that connected together from being pinged together); also sent to clients as
    /// `activity_timeout`.
    pub activity_timeout: Duration,
    /// How long a pinged client has to answer before it is closed with 4201.
    pub pong_timeout: Duration,
    /// How long a client has to finish the HTTP upgrade (slowloris guard).
    pub handshake_timeout: Duration,
    /// Largest WebSocket message accepted; larger closes the socket with 1009.
    pub max_message_bytes: usize,
    /// Frames queued for one socket before it is deemed too slow and closed with 4100.
    pub send_queue_frames: usize,
    /// How long one write to a socket may take before it is deemed stuck.
    pub write_timeout: Duration,
    /// Delay of `channel_vacated` and `member_removed` webhooks, cancelled by a quick return.
    pub webhook_delay: Duration,
    /// How long shutdown waits for sockets to close.
    pub shutdown_grace: Duration,
    /// A path prefix the server is mounted under behind a proxy (e.g. `/ws`); stripped before
    /// routing and signature checks.
    pub path_prefix: String,
    /// How long a cache channel keeps its last event.
    pub cache_ttl: Duration,
    /// Most channels one connection may be subscribed to at once; further subscriptions are
    /// refused with `pusher:subscription_error` and the socket stays open.
    pub max_subscriptions_per_connection: usize,
    /// When set, `/metrics` answers only requests with `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// When true, `/metrics` is not served on the main port: the embedding process serves
    /// [`crate::Realtime::metrics_router`] on a listen address of its own.
    pub metrics_separate: bool,
    /// In a cluster: within how long of a node dying without a goodbye (killed, cut off from
    /// Redis) the others remove its presence members and subscriptions and send the events and
    /// webhooks that makes. Nodes beat every sixth of it and count as dead after half of it
    /// without a beat.
    pub cluster_node_timeout: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            activity_timeout: Duration::from_secs(120),
            pong_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            max_message_bytes: 64 * 1024,
            send_queue_frames: 1024,
            write_timeout: Duration::from_secs(10),
            webhook_delay: Duration::from_secs(3),
            shutdown_grace: Duration::from_secs(5),
            path_prefix: String::new(),
            cache_ttl: Duration::from_secs(30 * 60),
            max_subscriptions_per_connection: 100,
            metrics_token: None,
            metrics_separate: false,
            cluster_node_timeout: Duration::from_secs(30),
        }
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The apps file could not be read.
    #[error("cannot read apps file {path}: {source}")]
    ReadAppsFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The apps file is not valid JSON of the expected shape.
    #[error("apps file {path} is invalid: {source}")]
    ParseAppsFile {
        /// The file.
        path: String,
        /// Where and why.
        source: serde_json::Error,
    },
    /// A setting has a value that cannot work.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AppsFile {
    apps: Vec<AppConfig>,
}

/// Reads an apps file: `{"apps":[{…}, …]}`.
pub fn load_apps_file(path: &Path) -> Result<Vec<AppConfig>, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadAppsFile {
        path: display.clone(),
        source,
    })?;
    let file: AppsFile =
        serde_json::from_str(&text).map_err(|source| ConfigError::ParseAppsFile {
            path: display,
            source,
        })?;
    Ok(file.apps)
}

impl RealtimeConfig {
    /// Checks what serde cannot: at least one app, unique ids and keys, sane limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |msg: String| Err(ConfigError::Invalid(msg));
        if self.apps.is_empty() {
            return invalid(
                "no apps configured: set REVERB_APP_ID/KEY/SECRET or an apps file".into(),
            );
        }
        let (mut ids, mut keys) = (HashSet::new(), HashSet::new());
        for app in &self.apps {
            if app.id.is_empty() || app.key.is_empty() || app.secret.is_empty() {
                return invalid(format!(
                    "app {:?}: id, key and secret must be non-empty",
                    app.id
                ));
            }
            if !ids.insert(&app.id) {
                return invalid(format!("app id {:?} appears twice", app.id));
            }
            if !keys.insert(&app.key) {
                return invalid(format!("app key {:?} appears twice", app.key));
            }
            if app.client_event_rate_limit == 0 && app.client_events {
                return invalid(format!(
                    "app {:?}: client_event_rate_limit must be at least 1",
                    app.id
                ));
            }
            for hook in &app.webhooks {
                if !(hook.url.starts_with("http://") || hook.url.starts_with("https://")) {
                    return invalid(format!(
                        "app {:?}: webhook url {:?} is not http(s)",
                        app.id, hook.url
                    ));
                }
                if let Some(bad) = hook
                    .event_types
                    .iter()
                    .find(|t| !WEBHOOK_EVENT_TYPES.contains(&t.as_str()))
                {
                    return invalid(format!(
                        "app {:?}: unknown webhook event type {bad:?}",
                        app.id
                    ));
                }
            }
        }
        if self.activity_timeout.is_zero() {
            return invalid("activity timeout must be at least 1 second".into());
        }
        if self.max_message_bytes < 1024 {
            return invalid("max message size must be at least 1024 bytes".into());
        }
        if self.send_queue_frames == 0 {
            return invalid("send queue must hold at least one frame".into());
        }
        if self.cluster_node_timeout < Duration::from_secs(1) {
            return invalid("the cluster node timeout must be at least 1 second".into());
        }
        if self.max_subscriptions_per_connection == 0 {
            return invalid("a connection must be allowed at least one subscription".into());
        }
        if self
            .metrics_token
            .as_ref()
            .is_some_and(|token| token.0.trim().is_empty())
        {
            return invalid("the metrics token must not be empty".into());
        }
        if !self.path_prefix.is_empty()
            && (!self.path_prefix.starts_with('/') || self.path_prefix.ends_with('/'))
        {
            return invalid("path prefix must start with / and not end with /".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_exactly() {
        let mut app = AppConfig::new("1", "k", "s");
        assert!(app.origin_allowed(Some("https://anything.test")));
        app.allowed_origins = vec!["https://example.com".into()];
        assert!(app.origin_allowed(Some("https://example.com")));
        assert!(app.origin_allowed(Some("https://EXAMPLE.com/")));
        assert!(!app.origin_allowed(Some("https://example.com.evil.test")));
        assert!(!app.origin_allowed(Some("http://example.com")));
        assert!(app.origin_allowed(None));
    }

    #[test]
    fn validation_catches_duplicates_and_bad_webhooks() {
        let mut config = RealtimeConfig::default();
        assert!(config.validate().is_err());
        config.apps = vec![
            AppConfig::new("1", "k", "s"),
            AppConfig::new("1", "k2", "s"),
        ];
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("appears twice"));
        config.apps = vec![AppConfig::new("1", "k", "s")];
        config.apps[0].webhooks = vec![WebhookConfig {
            url: "http://127.0.0.1/h".into(),
            event_types: vec!["channel_exploded".into()],
            channel_prefix: None,
        }];
        assert!(config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("channel_exploded"));
        config.apps[0].webhooks.clear();
        assert!(config.validate().is_ok());
    }

    #[test]
    fn apps_file_rejects_unknown_fields() {
        let dir = std::env::temp_dir().join(format!("parley-apps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("apps.json");
        std::fs::write(
            &path,
            r#"{"apps":[{"id":"1","key":"k","secret":"s","max_conections":3}]}"#,
        )
        .unwrap();
        let err = load_apps_file(&path).unwrap_err().to_string();
        assert!(err.contains("max_conections"), "{err}");
        std::fs::write(
            &path,
            r#"{"apps":[{"id":"1","key":"k","secret":"s","max_connections":3}]}"#,
        )
        .unwrap();
        assert_eq!(load_apps_file(&path).unwrap()[0].max_connections, Some(3));
    }
}
