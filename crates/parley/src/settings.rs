//! Settings from the environment, named as in Laravel's `.env` so a Reverb user recognises
//! them (`REVERB_APP_KEY`, `REVERB_SERVER_PORT`, …), plus Parley's own `PARLEY_*`.
//!
//! Every variable is parsed here, once; a malformed value stops the program with the variable's
//! name, never a silent default.

use std::{path::PathBuf, str::FromStr, time::Duration};

use parley_realtime::{config::load_apps_file, AppConfig, ConfigError, RealtimeConfig};
use serde::{Deserialize, Serialize};

/// Why the settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable holds something that does not parse.
    #[error("{name}={value:?} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// Only some of the REVERB_APP_ID/KEY/SECRET triple is set.
    #[error("set all of REVERB_APP_ID, REVERB_APP_KEY and REVERB_APP_SECRET, or none")]
    PartialApp,
    /// The realtime configuration is invalid.
    #[error(transparent)]
    Realtime(#[from] ConfigError),
    /// The generated app credentials could not be read or written.
    #[error("cannot use {path}: {reason}")]
    DataDir {
        /// The file.
        path: String,
        /// Why.
        reason: std::io::Error,
    },
    /// `PARLEY_DATA_DIR` does not exist and cannot be created.
    #[error("cannot create the data directory {path}: {reason}")]
    CreateDataDir {
        /// The directory.
        path: String,
        /// Why (a regular file in the way, permission denied…).
        reason: std::io::Error,
    },
}

/// Where the realtime server's apps come from.
#[derive(Debug, Clone)]
pub enum AppsSource {
    /// `PARLEY_APPS_FILE`: many apps, each with its own settings.
    File(PathBuf),
    /// `REVERB_APP_ID`/`KEY`/`SECRET`: one app.
    Env(Box<AppConfig>),
    /// Nothing configured: a local app generated once and kept in the data directory.
    Generated,
}

/// Everything read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where Parley keeps its files.
    pub data_dir: PathBuf,
    /// Where the realtime server listens (`host:port`).
    pub realtime_bind: String,
    /// The realtime server's apps.
    pub apps: AppsSource,
    /// Server-wide realtime settings (apps filled in by [`Settings::realtime`]).
    realtime: RealtimeConfig,
    /// Where the chat API and pages listen (`PARLEY_HTTP_ADDR`).
    pub http_bind: String,
    /// `DATABASE_URL`: SQLite (default, a file in the data directory) or PostgreSQL.
    pub database_url: String,
    /// `BROADCAST_CONNECTION`.
    pub broadcast: BroadcastConnection,
    /// `PARLEY_EMBEDDED_REALTIME`: run the realtime server inside `parley serve` (default) or
    /// publish to an external Reverb-compatible one at `REVERB_HOST:REVERB_PORT`.
    pub embedded_realtime: bool,
    /// Where browsers and publishers reach the Reverb-compatible server.
    pub reverb_client: ClientEndpoint,
    /// Hosted Pusher, when `PUSHER_APP_*` are set.
    pub pusher: Option<PusherSettings>,
    /// `PARLEY_MAX_UPLOAD_BYTES`.
    pub max_upload_bytes: Option<usize>,
    /// `PARLEY_MAX_MESSAGE_CHARS`.
    pub max_message_chars: Option<usize>,
    /// `PARLEY_BOT_WORKER`: whether this process runs bot turns (default true). Turns queue in
    /// the database either way; nodes that do not run them leave them to nodes that do.
    pub bot_worker: bool,
    /// Per-minute rate limits (0 disables one): `PARLEY_RATE_CONVERSATIONS_PER_IP`,
    /// `PARLEY_RATE_CONVERSATIONS_PER_WIDGET`, `PARLEY_RATE_MESSAGES_PER_IP`,
    /// `PARLEY_RATE_MESSAGES_PER_WIDGET`.
    pub rate_limits: [Option<u32>; 4],
    /// `REDIS_URL`: this node joins the others that share the Redis (scale-out).
    pub cluster: Option<ClusterSettings>,
    /// `PARLEY_METRICS_ADDR`: serve the realtime server's `/metrics` there instead of on its port.
    pub metrics_bind: Option<String>,
    /// The chat port's edge: timeouts, connection cap, public address, test page, origins.
    pub http: HttpSettings,
    /// Email (`PARLEY_SMTP_URL`, `PARLEY_MAIL_FROM`, `PARLEY_EMAIL_AFTER_SECS`,
    /// `PARLEY_SMTP_CA_FILE`); `None`: no email.
    pub mail: Option<parley_chat::mail::MailConfig>,
}

/// The chat port's edge, read by [`http_settings`].
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// `PARLEY_HTTP_HEADER_TIMEOUT`, `PARLEY_HTTP_IDLE_TIMEOUT` (seconds) and
    /// `PARLEY_HTTP_MAX_CONNECTIONS`.
    pub limits: parley_chat::http_server::HttpLimits,
    /// `PARLEY_PUBLIC_URL`: where browsers reach the chat port, without a trailing slash (`None`:
    /// the bound address).
    pub public_url: Option<String>,
    /// `PARLEY_TEST_PAGE`: serve `/chatbot-test.html` (default: on, unless `APP_ENV=production`).
    pub test_page: bool,
    /// `PARLEY_AGENT_ALLOWED_ORIGINS`: browser origins besides the dashboard's own that may call
    /// the agents' API.
    pub agent_allowed_origins: Vec<String>,
    /// `PARLEY_RATE_AUTH_FAILURES_PER_IP`: refused tokens per minute per IP before 429.
    pub auth_failures_per_ip: Option<u32>,
    /// `PARLEY_TRUSTED_PROXIES`: addresses and ranges of reverse proxies whose
    /// `X-Forwarded-For` names the client.
    pub trusted_proxies: parley_chat::client_address::TrustedProxies,
}

/// Scale-out through Redis pub/sub.
#[derive(Clone)]
pub struct ClusterSettings {
    /// `REDIS_URL`, e.g. `redis://127.0.0.1:6379/`.
    pub redis_url: String,
    /// `PARLEY_CLUSTER_CHANNEL`: the pub/sub channel the nodes share (default
    /// `parley:realtime`); separate deployments on one Redis use different ones.
    pub channel: String,
}

impl std::fmt::Debug for ClusterSettings {
    // The URL may carry a password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSettings")
            .field("redis_url", &"[redacted]")
            .field("channel", &self.channel)
            .finish()
    }
}

/// `BROADCAST_CONNECTION`, as in Laravel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastConnection {
    /// The embedded server, or an external Reverb-compatible one.
    Reverb,
    /// Hosted Pusher.
    Pusher,
    /// Events go to the log.
    Log,
    /// Events are dropped.
    Null,
}

/// Where clients reach a realtime server (`REVERB_HOST`, `REVERB_PORT`, `REVERB_SCHEME`).
#[derive(Debug, Clone)]
pub struct ClientEndpoint {
    /// Host; `None` means "the host the browser used for the API".
    pub host: Option<String>,
    /// Port.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: String,
    /// Path before `/app/{key}` (`REVERB_SERVER_PATH`), without a trailing slash.
    pub path: String,
}

/// Hosted Pusher credentials (`PUSHER_APP_ID`, …).
#[derive(Clone)]
pub struct PusherSettings {
    /// App id.
    pub app_id: String,
    /// Key.
    pub key: String,
    /// Secret.
    pub secret: String,
    /// Cluster, e.g. `mt1`.
    pub cluster: String,
    /// `PUSHER_HOST`: a self-hosted Pusher-compatible server; `None` means hosted Pusher
    /// (`api-{cluster}.pusher.com` for the API, the cluster for browsers).
    pub host: Option<String>,
    /// API port.
    pub port: u16,
    /// `https` unless told otherwise.
    pub scheme: String,
}

impl std::fmt::Debug for PusherSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PusherSettings")
            .field("app_id", &self.app_id)
            .field("key", &self.key)
            .field("secret", &"<redacted>")
            .field("cluster", &self.cluster)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("scheme", &self.scheme)
            .finish()
    }
}

/// Credentials generated for a zero-configuration start.
#[derive(Debug, Serialize, Deserialize)]
struct GeneratedApp {
    id: String,
    key: String,
    secret: String,
}

fn parse<T: FromStr>(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    what: &str,
) -> Result<Option<T>, SettingsError> {
    match lookup(name).filter(|v| !v.trim().is_empty()) {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| SettingsError::Invalid {
                name,
                value,
                reason: format!("expected {what}"),
            }),
    }
}

fn secs(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<Duration>, SettingsError> {
    Ok(parse::<u64>(lookup, name, "a whole number of seconds")?.map(Duration::from_secs))
}

impl Settings {
    /// Reads the settings through `lookup` (the process environment in production).
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(get("PARLEY_DATA_DIR").unwrap_or_else(|| "data".into()));

        // Where to bind: Reverb's REVERB_SERVER_*, else where clients are told to connect.
        let host = get("REVERB_SERVER_HOST")
            .or_else(|| get("REVERB_HOST"))
            .unwrap_or_else(|| "127.0.0.1".into());
        let port = match parse::<u16>(&lookup, "REVERB_SERVER_PORT", "a port number")? {
            Some(port) => port,
            None => parse::<u16>(&lookup, "REVERB_PORT", "a port number")?.unwrap_or(8080),
        };
        let realtime_bind = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };

        let apps = match (
            get("PARLEY_APPS_FILE"),
            get("REVERB_APP_ID"),
            get("REVERB_APP_KEY"),
            get("REVERB_APP_SECRET"),
        ) {
            (Some(file), ..) => AppsSource::File(file.into()),
            (None, Some(id), Some(key), Some(secret)) => {
                let mut app = AppConfig::new(id, key, secret);
                app.max_connections = parse(&lookup, "REVERB_APP_MAX_CONNECTIONS", "a number")?;
                if let Some(origins) = get("PARLEY_ALLOWED_ORIGINS") {
                    app.allowed_origins = origins
                        .split(',')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect();
                }
                AppsSource::Env(Box::new(app))
            }
            (None, None, None, None) => AppsSource::Generated,
            _ => return Err(SettingsError::PartialApp),
        };

        let defaults = RealtimeConfig::default();
        let realtime = RealtimeConfig {
            apps: Vec::new(),
            activity_timeout: secs(&lookup, "PARLEY_ACTIVITY_TIMEOUT")?
                .or(secs(&lookup, "REVERB_APP_ACTIVITY_TIMEOUT")?)
                .unwrap_or(defaults.activity_timeout),
            pong_timeout: secs(&lookup, "PARLEY_PONG_TIMEOUT")?.unwrap_or(defaults.pong_timeout),
            handshake_timeout: secs(&lookup, "PARLEY_HANDSHAKE_TIMEOUT")?
                .unwrap_or(defaults.handshake_timeout),
            max_message_bytes: parse(&lookup, "PARLEY_MAX_MESSAGE_BYTES", "a number of bytes")?
                .or(parse(
                    &lookup,
                    "REVERB_APP_MAX_MESSAGE_SIZE",
                    "a number of bytes",
                )?)
                .unwrap_or(defaults.max_message_bytes),
            send_queue_frames: parse(&lookup, "PARLEY_SEND_QUEUE", "a number of frames")?
                .unwrap_or(defaults.send_queue_frames),
            write_timeout: secs(&lookup, "PARLEY_WRITE_TIMEOUT")?.unwrap_or(defaults.write_timeout),
            webhook_delay: parse::<u64>(&lookup, "PARLEY_WEBHOOK_DELAY_MS", "milliseconds")?
                .map_or(defaults.webhook_delay, Duration::from_millis),
            shutdown_grace: secs(&lookup, "PARLEY_SHUTDOWN_GRACE")?
                .unwrap_or(defaults.shutdown_grace),
            path_prefix: get("REVERB_SERVER_PATH")
                .map(|p| p.trim_end_matches('/').to_string())
                .unwrap_or_default(),
            cache_ttl: secs(&lookup, "PARLEY_CACHE_TTL")?.unwrap_or(defaults.cache_ttl),
            max_subscriptions_per_connection: parse(
                &lookup,
                "PARLEY_MAX_SUBSCRIPTIONS",
                "a number of channels",
            )?
            .unwrap_or(defaults.max_subscriptions_per_connection),
            metrics_token: get("PARLEY_METRICS_TOKEN").map(parley_realtime::config::Secret),
            metrics_separate: get("PARLEY_METRICS_ADDR").is_some(),
            cluster_node_timeout: secs(&lookup, "PARLEY_CLUSTER_NODE_TIMEOUT")?
                .unwrap_or(defaults.cluster_node_timeout),
        };
        let http_bind = get("PARLEY_HTTP_ADDR").unwrap_or_else(|| "127.0.0.1:8000".into());
        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("parley.db").display())
        });
        let broadcast = match get("BROADCAST_CONNECTION")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("reverb") => BroadcastConnection::Reverb,
            Some("pusher") => BroadcastConnection::Pusher,
            Some("log") => BroadcastConnection::Log,
            Some("null") => BroadcastConnection::Null,
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "BROADCAST_CONNECTION",
                    value: other.to_string(),
                    reason: "expected reverb, pusher, log or null".into(),
                })
            }
        };
        let embedded_realtime =
            parse::<bool>(&lookup, "PARLEY_EMBEDDED_REALTIME", "true or false")?.unwrap_or(true);
        let reverb_client = ClientEndpoint {
            host: get("REVERB_HOST"),
            port: parse::<u16>(&lookup, "REVERB_PORT", "a port number")?.unwrap_or(port),
            scheme: get("REVERB_SCHEME").unwrap_or_else(|| "http".into()),
            // Browsers connect where the server answers: the same prefix.
            path: realtime.path_prefix.clone(),
        };
        let pusher = pusher_settings(&lookup)?;
        if broadcast == BroadcastConnection::Pusher && pusher.is_none() {
            return Err(SettingsError::Invalid {
                name: "BROADCAST_CONNECTION",
                value: "pusher".into(),
                reason: "needs PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET".into(),
            });
        }
        let cluster = match get("REDIS_URL") {
            None => None,
            Some(url) if url.starts_with("redis://") || url.starts_with("redis+unix://") => {
                Some(ClusterSettings {
                    redis_url: url,
                    channel: get("PARLEY_CLUSTER_CHANNEL")
                        .unwrap_or_else(|| "parley:realtime".into()),
                })
            }
            Some(url) => {
                return Err(SettingsError::Invalid {
                    name: "REDIS_URL",
                    value: url,
                    reason: "expected redis://host:port/ or redis+unix:///path".into(),
                })
            }
        };
        Ok(Self {
            cluster,
            metrics_bind: get("PARLEY_METRICS_ADDR"),
            http: http_settings(&lookup)?,
            mail: mail_settings(&lookup)?,
            data_dir,
            realtime_bind,
            apps,
            realtime,
            http_bind,
            database_url,
            broadcast,
            embedded_realtime,
            reverb_client,
            pusher,
            max_upload_bytes: parse(&lookup, "PARLEY_MAX_UPLOAD_BYTES", "a number of bytes")?,
            max_message_chars: parse(
                &lookup,
                "PARLEY_MAX_MESSAGE_CHARS",
                "a number of characters",
            )?,
            bot_worker: parse::<bool>(&lookup, "PARLEY_BOT_WORKER", "true or false")?
                .unwrap_or(true),
            rate_limits: [
                parse(
                    &lookup,
                    "PARLEY_RATE_CONVERSATIONS_PER_IP",
                    "requests per minute",
                )?,
                parse(
                    &lookup,
                    "PARLEY_RATE_CONVERSATIONS_PER_WIDGET",
                    "requests per minute",
                )?,
                parse(
                    &lookup,
                    "PARLEY_RATE_MESSAGES_PER_IP",
                    "requests per minute",
                )?,
                parse(
                    &lookup,
                    "PARLEY_RATE_MESSAGES_PER_WIDGET",
                    "requests per minute",
                )?,
            ],
        })
    }

    /// The realtime configuration with its apps loaded (generating the local app if needed).
    pub fn realtime(&self) -> Result<RealtimeConfig, SettingsError> {
        let apps = match &self.apps {
            AppsSource::File(path) => load_apps_file(path)?,
            AppsSource::Env(app) => vec![(**app).clone()],
            AppsSource::Generated => vec![self.generated_app()?],
        };
        let config = RealtimeConfig {
            apps,
            ..self.realtime.clone()
        };
        config.validate()?;
        Ok(config)
    }

    /// Creates the data directory if it is missing, readable by its owner only (0700; an
    /// existing one is left as it is). Everything Parley keeps goes there, so this comes first.
    /// Files an earlier version left readable by others (tokens, secrets, the database) are
    /// made private (0600).
    pub fn prepare_data_dir(&self) -> Result<(), SettingsError> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&self.data_dir)
            .map_err(|reason| SettingsError::CreateDataDir {
                path: self.data_dir.display().to_string(),
                reason,
            })?;
        #[cfg(unix)]
        tighten_files(&self.data_dir).map_err(|reason| SettingsError::DataDir {
            path: self.data_dir.display().to_string(),
            reason,
        })?;
        Ok(())
    }

    /// A secret generated once and kept in the data directory (signs attachment links).
    pub fn local_secret(&self, name: &str) -> Result<String, SettingsError> {
        let path = self.data_dir.join(name);
        let io_error = |reason| SettingsError::DataDir {
            path: path.display().to_string(),
            reason,
        };
        let generate = || {
            self.prepare_data_dir()?;
            let secret = random_token(48);
            write_private(&path, &secret).map_err(io_error)?;
            Ok(secret)
        };
        match std::fs::read_to_string(&path) {
            Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_string()),
            Ok(_) => generate(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => generate(),
            Err(error) => Err(io_error(error)),
        }
    }

    fn generated_app(&self) -> Result<AppConfig, SettingsError> {
        let path = self.data_dir.join("realtime-app.json");
        let io_error = |reason| SettingsError::DataDir {
            path: path.display().to_string(),
            reason,
        };
        let app = match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str::<GeneratedApp>(&text)
                .map_err(|e| io_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let app = GeneratedApp {
                    id: rand::random_range(100_000..1_000_000u32).to_string(),
                    key: random_token(20),
                    secret: random_token(32),
                };
                self.prepare_data_dir()?;
                let text = serde_json::to_string_pretty(&app).expect("serialises");
                write_private(&path, &text).map_err(io_error)?;
                app
            }
            Err(error) => return Err(io_error(error)),
        };
        Ok(AppConfig::new(app.id, app.key, app.secret))
    }
}

/// Makes every regular file directly in `dir` private (0600) where group or others could read
/// or write it. Everything Parley keeps there is a secret or the conversations; uploads sit in
/// a folder of their own and are written 0600 already.
#[cfg(unix)]
fn tighten_files(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        let mode = metadata.permissions().mode();
        if metadata.is_file() && mode & 0o077 != 0 {
            std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(0o600))?;
            tracing::warn!(
                path = %entry.path().display(),
                was = format!("{:o}", mode & 0o777),
                "made a data file private (0600)"
            );
        }
    }
    Ok(())
}

/// Writes a file only its owner may read (0600): tokens and secrets. An existing file is
/// replaced in place and keeps its permissions.
pub(crate) fn write_private(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

fn pusher_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<PusherSettings>, SettingsError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    match (
        get("PUSHER_APP_ID"),
        get("PUSHER_APP_KEY"),
        get("PUSHER_APP_SECRET"),
    ) {
        (Some(app_id), Some(key), Some(secret)) => {
            let cluster = get("PUSHER_APP_CLUSTER").unwrap_or_else(|| "mt1".into());
            Ok(Some(PusherSettings {
                host: get("PUSHER_HOST"),
                port: parse::<u16>(lookup, "PUSHER_PORT", "a port number")?.unwrap_or(443),
                scheme: get("PUSHER_SCHEME").unwrap_or_else(|| "https".into()),
                app_id,
                key,
                secret,
                cluster,
            }))
        }
        (None, None, None) => Ok(None),
        _ => Err(SettingsError::Invalid {
            name: "PUSHER_APP_ID",
            value: String::new(),
            reason: "set all of PUSHER_APP_ID, PUSHER_APP_KEY and PUSHER_APP_SECRET, or none"
                .into(),
        }),
    }
}

fn http_settings(lookup: &impl Fn(&str) -> Option<String>) -> Result<HttpSettings, SettingsError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let defaults = parley_chat::http_server::HttpLimits::default();
    let at_least_one = |name: &'static str, value: Option<u64>| match value {
        Some(0) => Err(SettingsError::Invalid {
            name,
            value: "0".into(),
            reason: "expected at least 1".into(),
        }),
        other => Ok(other),
    };
    let seconds = |name| {
        at_least_one(name, parse(lookup, name, "a whole number of seconds")?)
            .map(|v| v.map(Duration::from_secs))
    };
    let limits = parley_chat::http_server::HttpLimits {
        header_timeout: seconds("PARLEY_HTTP_HEADER_TIMEOUT")?.unwrap_or(defaults.header_timeout),
        idle_timeout: seconds("PARLEY_HTTP_IDLE_TIMEOUT")?.unwrap_or(defaults.idle_timeout),
        max_connections: at_least_one(
            "PARLEY_HTTP_MAX_CONNECTIONS",
            parse(
                lookup,
                "PARLEY_HTTP_MAX_CONNECTIONS",
                "a number of connections",
            )?,
        )?
        .map_or(defaults.max_connections, |v| {
            usize::try_from(v).unwrap_or(usize::MAX)
        }),
    };
    let public_url = match get("PARLEY_PUBLIC_URL") {
        None => None,
        Some(url) => Some(public_url(&url).ok_or_else(|| SettingsError::Invalid {
            name: "PARLEY_PUBLIC_URL",
            value: url.clone(),
            reason: "expected http://host[:port][/path] or https://…".into(),
        })?),
    };
    let production = get("APP_ENV").is_some_and(|env| env.trim() == "production");
    Ok(HttpSettings {
        limits,
        public_url,
        test_page: parse::<bool>(lookup, "PARLEY_TEST_PAGE", "true or false")?
            .unwrap_or(!production),
        agent_allowed_origins: get("PARLEY_AGENT_ALLOWED_ORIGINS")
            .map(|origins| {
                origins
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default(),
        auth_failures_per_ip: parse(
            lookup,
            "PARLEY_RATE_AUTH_FAILURES_PER_IP",
            "failures per minute",
        )?,
        trusted_proxies: parley_chat::client_address::TrustedProxies::parse(
            &get("PARLEY_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|entry| SettingsError::Invalid {
            name: "PARLEY_TRUSTED_PROXIES",
            value: entry,
            reason: "expected addresses or ranges such as 127.0.0.1, 10.0.0.0/8".into(),
        })?,
    })
}

/// Email: `PARLEY_SMTP_URL` turns it on and then needs `PARLEY_MAIL_FROM`;
/// `PARLEY_EMAIL_AFTER_SECS` (default 300) is how long a visitor is away before an agent's reply
/// is emailed; `PARLEY_SMTP_CA_FILE` a PEM file of extra root certificates for a server with a
/// private CA. Every value is checked even while email is off.
fn mail_settings(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<parley_chat::mail::MailConfig>, SettingsError> {
    use parley_chat::mail::{MailConfig, SmtpSettings};
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let email_after = secs(lookup, "PARLEY_EMAIL_AFTER_SECS")?.unwrap_or(Duration::from_secs(300));
    let from = get("PARLEY_MAIL_FROM")
        .map(|from| {
            MailConfig::parse_from(&from).map_err(|reason| SettingsError::Invalid {
                name: "PARLEY_MAIL_FROM",
                value: from.clone(),
                reason,
            })
        })
        .transpose()?;
    let extra_roots = match get("PARLEY_SMTP_CA_FILE") {
        None => Vec::new(),
        Some(path) => {
            let pem = std::fs::read(path.trim()).map_err(|e| SettingsError::Invalid {
                name: "PARLEY_SMTP_CA_FILE",
                value: path.clone(),
                reason: format!("cannot read it: {e}"),
            })?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(SettingsError::Invalid {
                    name: "PARLEY_SMTP_CA_FILE",
                    value: path,
                    reason: "expected PEM certificates".into(),
                });
            }
            vec![pem]
        }
    };
    let Some(url) = get("PARLEY_SMTP_URL") else {
        return Ok(None);
    };
    let mut smtp = SmtpSettings::parse(&url).map_err(|reason| SettingsError::Invalid {
        name: "PARLEY_SMTP_URL",
        // The value may hold a password: only what comes after it is repeated.
        value: url
            .rsplit_once('@')
            .map_or_else(|| url.clone(), |(_, host)| format!("…@{host}")),
        reason,
    })?;
    smtp.extra_roots = extra_roots;
    let from = from.ok_or_else(|| SettingsError::Invalid {
        name: "PARLEY_MAIL_FROM",
        value: String::new(),
        reason: "PARLEY_SMTP_URL is set: say whom mail comes from, e.g. Support <help@example.com>"
            .into(),
    })?;
    Ok(Some(MailConfig {
        smtp,
        from,
        email_after,
    }))
}

/// `url` without its trailing slash, if it is an http(s) URL with a host and nothing a page
/// could not hold verbatim (it is written into the test page).
fn public_url(url: &str) -> Option<String> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))?;
    let host = rest.split('/').next().unwrap_or("");
    let clean = url
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:/[]%".contains(c));
    (!host.is_empty() && clean).then(|| url.to_string())
}

fn random_token(len: usize) -> String {
    use rand::{distr::Alphanumeric, Rng};
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(|c| char::from(c).to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_env(move |name| vars.get(name).cloned())
    }

    #[test]
    fn defaults_bind_localhost_8080_with_a_generated_app() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.realtime_bind, "127.0.0.1:8080");
        assert!(matches!(s.apps, AppsSource::Generated));
    }

    #[test]
    fn metrics_token_address_and_subscription_cap() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.metrics_bind, None);
        assert!(s.realtime.metrics_token.is_none() && !s.realtime.metrics_separate);
        assert_eq!(s.realtime.max_subscriptions_per_connection, 100);
        let s = settings(&[
            ("PARLEY_METRICS_TOKEN", "t0ken"),
            ("PARLEY_METRICS_ADDR", "127.0.0.1:9601"),
            ("PARLEY_MAX_SUBSCRIPTIONS", "20"),
        ])
        .unwrap();
        assert_eq!(s.metrics_bind.as_deref(), Some("127.0.0.1:9601"));
        assert!(s.realtime.metrics_separate);
        let token = s.realtime.metrics_token.clone().unwrap();
        assert_eq!(token.0, "t0ken");
        assert!(!format!("{s:?}").contains("t0ken"), "the token is redacted");
        assert_eq!(s.realtime.max_subscriptions_per_connection, 20);
        let error = settings(&[("PARLEY_MAX_SUBSCRIPTIONS", "many")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("PARLEY_MAX_SUBSCRIPTIONS"), "{error}");
    }

    #[test]
    fn redis_url_joins_a_cluster_and_a_bad_one_is_refused() {
        assert!(settings(&[]).unwrap().cluster.is_none());
        let s = settings(&[("REDIS_URL", "redis://:hunter2@127.0.0.1:6379/")]).unwrap();
        let cluster = s.cluster.expect("REDIS_URL set");
        assert_eq!(cluster.channel, "parley:realtime");
        assert!(
            !format!("{cluster:?}").contains("hunter2"),
            "password in Debug"
        );
        let s = settings(&[
            ("REDIS_URL", "redis://127.0.0.1/"),
            ("PARLEY_CLUSTER_CHANNEL", "site-a"),
        ])
        .unwrap();
        assert_eq!(s.cluster.unwrap().channel, "site-a");
        assert_eq!(
            settings(&[]).unwrap().realtime.cluster_node_timeout,
            Duration::from_secs(30)
        );
        let s = settings(&[("PARLEY_CLUSTER_NODE_TIMEOUT", "5")]).unwrap();
        assert_eq!(s.realtime.cluster_node_timeout, Duration::from_secs(5));
        // An app from the environment: with none, `realtime()` would first write a generated
        // one into the default data directory, the working directory's `data/`.
        assert!(settings(&[
            ("PARLEY_CLUSTER_NODE_TIMEOUT", "0"),
            ("REVERB_APP_ID", "601452"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
        ])
        .unwrap()
        .realtime()
        .is_err());
        assert!(matches!(
            settings(&[("REDIS_URL", "127.0.0.1:6379")]),
            Err(SettingsError::Invalid {
                name: "REDIS_URL",
                ..
            })
        ));
    }

    #[test]
    fn server_host_and_port_win_over_client_facing_ones() {
        let s = settings(&[
            ("REVERB_HOST", "localhost"),
            ("REVERB_PORT", "443"),
            ("REVERB_SERVER_HOST", "0.0.0.0"),
            ("REVERB_SERVER_PORT", "6001"),
        ])
        .unwrap();
        assert_eq!(s.realtime_bind, "0.0.0.0:6001");
        let s = settings(&[("REVERB_HOST", "localhost"), ("REVERB_PORT", "9000")]).unwrap();
        assert_eq!(s.realtime_bind, "localhost:9000");
    }

    #[test]
    fn malformed_values_name_the_variable() {
        let error = settings(&[("REVERB_SERVER_PORT", "80a")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("REVERB_SERVER_PORT"), "{error}");
        let error = settings(&[("PARLEY_ACTIVITY_TIMEOUT", "soon")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("PARLEY_ACTIVITY_TIMEOUT"), "{error}");
        assert!(matches!(
            settings(&[("REVERB_APP_ID", "1")]),
            Err(SettingsError::PartialApp)
        ));
    }

    #[test]
    fn http_edge_settings() {
        let s = settings(&[]).unwrap();
        assert_eq!(
            s.http.limits,
            parley_chat::http_server::HttpLimits::default()
        );
        assert!(s.http.test_page, "on by default in development");
        assert_eq!(s.http.public_url, None);
        let s = settings(&[
            ("PARLEY_HTTP_HEADER_TIMEOUT", "3"),
            ("PARLEY_HTTP_IDLE_TIMEOUT", "7"),
            ("PARLEY_HTTP_MAX_CONNECTIONS", "50"),
            ("PARLEY_PUBLIC_URL", "https://chat.example.com/"),
            (
                "PARLEY_AGENT_ALLOWED_ORIGINS",
                "https://a.test/, https://b.test",
            ),
            ("APP_ENV", "production"),
        ])
        .unwrap();
        assert_eq!(s.http.limits.header_timeout, Duration::from_secs(3));
        assert_eq!(s.http.limits.idle_timeout, Duration::from_secs(7));
        assert_eq!(s.http.limits.max_connections, 50);
        assert_eq!(
            s.http.public_url.as_deref(),
            Some("https://chat.example.com")
        );
        assert_eq!(
            s.http.agent_allowed_origins,
            ["https://a.test", "https://b.test"]
        );
        assert!(!s.http.test_page, "off by default in production");
        let s = settings(&[("APP_ENV", "production"), ("PARLEY_TEST_PAGE", "true")]).unwrap();
        assert!(s.http.test_page);
        for (name, value) in [
            ("PARLEY_HTTP_HEADER_TIMEOUT", "0"),
            ("PARLEY_HTTP_MAX_CONNECTIONS", "many"),
            ("PARLEY_PUBLIC_URL", "chat.example.com"),
            ("PARLEY_PUBLIC_URL", "https://x.test/\"><script>"),
            ("PARLEY_TEST_PAGE", "yes"),
            ("PARLEY_TRUSTED_PROXIES", "127.0.0.1, nginx"),
        ] {
            let error = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
        }
        let s = settings(&[("PARLEY_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).unwrap();
        assert_eq!(
            s.http.trusted_proxies,
            parley_chat::client_address::TrustedProxies::parse("127.0.0.1,10.0.0.0/8").unwrap()
        );
    }

    #[test]
    fn mail_settings() {
        assert!(settings(&[]).unwrap().mail.is_none(), "off by default");
        assert!(settings(&[("PARLEY_MAIL_FROM", "a@b.test")])
            .unwrap()
            .mail
            .is_none());
        let s = settings(&[
            (
                "PARLEY_SMTP_URL",
                "smtp://ada:hunter2@mail.test:2525?tls=required",
            ),
            ("PARLEY_MAIL_FROM", "Support <help@example.com>"),
        ])
        .unwrap();
        let mail = s.mail.clone().expect("on");
        assert_eq!(mail.smtp.host, "mail.test");
        assert_eq!(mail.smtp.port, 2525);
        assert_eq!(mail.smtp.tls, parley_chat::mail::TlsMode::Required);
        assert_eq!(mail.from.email.to_string(), "help@example.com");
        assert_eq!(mail.email_after, Duration::from_secs(300));
        assert!(!format!("{s:?}").contains("hunter2"), "password redacted");
        let s = settings(&[
            ("PARLEY_SMTP_URL", "smtps://mail.test"),
            ("PARLEY_MAIL_FROM", "help@example.com"),
            ("PARLEY_EMAIL_AFTER_SECS", "60"),
        ])
        .unwrap();
        assert_eq!(s.mail.unwrap().email_after, Duration::from_secs(60));
        for (vars, name) in [
            (
                vec![("PARLEY_SMTP_URL", "smtp://mail.test")],
                "PARLEY_MAIL_FROM",
            ),
            (
                vec![
                    ("PARLEY_SMTP_URL", "smtp://u:hunter2@mail.test?tls=maybe"),
                    ("PARLEY_MAIL_FROM", "a@b.test"),
                ],
                "PARLEY_SMTP_URL",
            ),
            (
                vec![("PARLEY_MAIL_FROM", "not an address")],
                "PARLEY_MAIL_FROM",
            ),
            (
                vec![("PARLEY_EMAIL_AFTER_SECS", "soon")],
                "PARLEY_EMAIL_AFTER_SECS",
            ),
            (
                vec![("PARLEY_SMTP_CA_FILE", "/no/such/file.pem")],
                "PARLEY_SMTP_CA_FILE",
            ),
        ] {
            let error = settings(&vars).unwrap_err().to_string();
            assert!(error.contains(name), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn env_app_and_generated_app() {
        let s = settings(&[
            ("REVERB_APP_ID", "601452"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
            ("PARLEY_ALLOWED_ORIGINS", "https://a.test, https://b.test"),
        ])
        .unwrap();
        let config = s.realtime().unwrap();
        assert_eq!(config.apps[0].key, "k");
        assert_eq!(
            config.apps[0].allowed_origins,
            ["https://a.test", "https://b.test"]
        );

        let dir = std::env::temp_dir().join(format!("parley-settings-{}", rand::random::<u32>()));
        let dir_str = dir.display().to_string();
        let s = settings(&[("PARLEY_DATA_DIR", &dir_str)]).unwrap();
        let first = s.realtime().unwrap().apps[0].clone();
        let again = s.realtime().unwrap().apps[0].clone();
        assert_eq!(
            (first.id.clone(), first.key.clone(), first.secret.clone()),
            (again.id, again.key, again.secret)
        );
        assert!(
            first.id.parse::<u64>().is_ok(),
            "numeric app id for the Python SDK"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
