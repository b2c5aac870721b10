//! `GET /up`: whether this node can serve, dependency by dependency (the database, the realtime
//! server when one is used, Redis when the node is in a cluster). 200 when all are up, 503 when
//! one is down, so a load balancer stops sending visitors to a node that would fail them.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{extract::State, http::StatusCode, routing::get, Json, Router};
use serde_json::{json, Map, Value};
use tokio::sync::Mutex;

use crate::{config::Provider, service::ChatService};

/// How long one dependency may take to answer before it counts as down: well under a load
/// balancer's probe timeout, and under the store's pool timeout (a database that is gone makes
/// every connection attempt wait for it).
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// How long a report is reused: `/up` is public, and a flood of probes must not become a flood
/// of queries and connections to the dependencies.
const REUSE_FOR: Duration = Duration::from_secs(1);

/// The checks of one node; cloning shares them.
#[derive(Debug, Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: ChatService,
    redis: Option<redis::Client>,
    /// The last report and when it was made; the lock also lets only one check run at a time.
    last: Mutex<Option<(Instant, StatusCode, Value)>>,
}

/// Why a Redis URL cannot be checked.
#[derive(Debug, thiserror::Error)]
#[error("invalid Redis URL for the health check: {0}")]
pub struct BadRedisUrl(#[source] redis::RedisError);

impl Health {
    /// Checks `service`'s database and realtime server.
    pub fn new(service: ChatService) -> Self {
        Self::build(service, None)
    }

    /// Also checks the Redis at `url` (the one the node's cluster runs through).
    pub fn with_redis(self, url: &str) -> Result<Self, BadRedisUrl> {
        let client = redis::Client::open(url).map_err(BadRedisUrl)?;
        let service = self.inner.service.clone();
        Ok(Self::build(service, Some(client)))
    }

    fn build(service: ChatService, redis: Option<redis::Client>) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                redis,
                last: Mutex::new(None),
            }),
        }
    }

    /// `GET /up`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/up", get(up))
            .layer(axum::middleware::from_fn(crate::api::security_headers))
            .with_state(self)
    }

    /// The status and the JSON `/up` answers:
    /// `{"health":"OK"|"DOWN","dependencies":{"database":"up"|"down",…}}`.
    pub async fn report(&self) -> (StatusCode, Value) {
        let mut last = self.inner.last.lock().await;
        if let Some((at, status, body)) = last.as_ref() {
            if at.elapsed() < REUSE_FOR {
                return (*status, body.clone());
            }
        }
        let (status, body) = self.check().await;
        *last = Some((Instant::now(), status, body.clone()));
        (status, body)
    }

    async fn check(&self) -> (StatusCode, Value) {
        let service = &self.inner.service;
        let database = async {
            // A primary-key lookup: the cheapest query every store answers, found or not.
            service
                .store
                .widget(0)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        };
        let realtime = async {
            if service.config.provider == Provider::Polling {
                return None;
            }
            // Embedded: an in-process call; over HTTP: the realtime server's channel query,
            // which needs it reachable and the app's credentials accepted.
            Some(
                service
                    .broadcaster
                    .occupied_channels("private-parley-up-")
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string()),
            )
        };
        let redis = async {
            let client = self.inner.redis.as_ref()?;
            Some(ping_redis(client).await)
        };
        let (database, realtime, redis) = tokio::join!(
            within(database),
            within_optional(realtime),
            within_optional(redis)
        );
        let mut dependencies = Map::new();
        let mut healthy = true;
        for (name, result) in [
            ("database", Some(database)),
            ("realtime", realtime),
            ("redis", redis),
        ] {
            let Some(result) = result else { continue };
            let state = match result {
                Ok(()) => "up",
                Err(error) => {
                    // The cause goes to the log, not to whoever asks `/up`.
                    tracing::warn!(dependency = name, %error, "health check failed");
                    healthy = false;
                    "down"
                }
            };
            dependencies.insert(name.into(), Value::from(state));
        }
        let body = json!({
            "health": if healthy { "OK" } else { "DOWN" },
            "dependencies": dependencies,
        });
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, body)
    }
}

async fn up(State(health): State<Health>) -> (StatusCode, Json<Value>) {
    let (status, body) = health.report().await;
    (status, Json(body))
}

async fn within(
    check: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::time::timeout(CHECK_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {CHECK_TIMEOUT:?}")))
}

async fn within_optional(
    check: impl std::future::Future<Output = Option<Result<(), String>>>,
) -> Option<Result<(), String>> {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(result) => result,
        Err(_) => Some(Err(format!("no answer within {CHECK_TIMEOUT:?}"))),
    }
}

/// A fresh connection and a PING: what a node needs of Redis is being able to reach it now.
async fn ping_redis(client: &redis::Client) -> Result<(), String> {
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .map_err(|e| e.to_string())?;
    redis::cmd("PING")
        .query_async::<()>(&mut connection)
        .await
        .map_err(|e| e.to_string())
}
