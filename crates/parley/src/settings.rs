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
    #[error("cannot use {path}: {source}")]
    DataDir {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The listener could not bind.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: String,
        /// Why.
        source: std::io::Error,
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
        };
        Ok(Self {
            data_dir,
            realtime_bind,
            apps,
            realtime,
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

    fn generated_app(&self) -> Result<AppConfig, SettingsError> {
        let path = self.data_dir.join("realtime-app.json");
        let io_error = |source| SettingsError::DataDir {
            path: path.display().to_string(),
            source,
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
                std::fs::create_dir_all(&self.data_dir).map_err(io_error)?;
                let text = serde_json::to_string_pretty(&app).expect("serialises");
                std::fs::write(&path, text).map_err(io_error)?;
                app
            }
            Err(error) => return Err(io_error(error)),
        };
        Ok(AppConfig::new(app.id, app.key, app.secret))
    }
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
