//! The listener: one port serving the WebSocket endpoint (`/app/{key}`), the HTTP API,
//! `/up` and `/metrics`, with slowloris protection on the handshake and a graceful shutdown that
//! tells every client to reconnect at once (4200).

use std::{future::Future, io, net::SocketAddr, pin::pin, sync::Arc, time::Duration};

use axum::{
    extract::{Path, Request, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use parley_protocol::ErrorCode;
use tokio::net::TcpListener;

use crate::{
    config::RealtimeConfig,
    connection::{self, Refusal},
    facade::{Realtime, Shared},
    http_api,
    websocket::{accept_websocket, Limits},
};

impl Realtime {
    /// The HTTP routes (WebSocket upgrade, API, health, metrics), under the configured prefix.
    /// WebSocket upgrades need HTTP/1 over a bare `TokioIo<TcpStream>`, as [`Realtime::serve`]
    /// serves them: the socket takes the TCP stream back from hyper.
    pub fn router(&self) -> Router {
        let mut routes = Router::new()
            .route("/app/{key}", get(upgrade))
            .route(
                "/up",
                get(|| async { Json(serde_json::json!({ "health": "OK" })) }),
            )
            .merge(http_api::router(self.shared.clone()));
        if !self.shared.config.metrics_separate {
            routes = routes.route("/metrics", get(metrics));
        }
        // A known path with another method gets a JSON error too, not an empty 405.
        let routes = routes.method_not_allowed_fallback(method_not_allowed);
        let prefix = &self.shared.config.path_prefix;
        let routes = if prefix.is_empty() {
            routes
        } else {
            Router::new().nest(prefix, routes)
        };
        routes.fallback(not_found).with_state(self.shared.clone())
    }

    /// `/metrics` alone, for a listen address of its own (when the configuration says
    /// `metrics_separate`, the main port does not serve it). The metrics token applies here too.
    pub fn metrics_router(&self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .fallback(not_found)
            .with_state(self.shared.clone())
    }

    /// Serves [`Realtime::metrics_router`] on `listener` until `shutdown` resolves.
    pub async fn serve_metrics(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        axum::serve(listener, self.metrics_router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves until `shutdown` resolves, then closes every socket with 4200 and waits (up to
    /// the configured grace) for them to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let shared = self.shared.clone();
        let router = self.router();
        let mut shutdown = pin!(shutdown);
        loop {
            tokio::select! {
                _ = &mut shutdown => break,
                accepted = listener.accept() => {
                    let (stream, peer) = match accepted {
                        Ok(accepted) => accepted,
                        Err(error) => {
                            // Out of file descriptors and the like: wait a moment rather than
                            // spin, and keep serving the connections we have.
                            tracing::warn!(%error, "accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    shared.tracker.spawn(serve_http(stream, peer, router.clone(), shared.clone()));
                }
            }
        }
        shared.shutdown.cancel();
        shared.tracker.close();
        let _ = tokio::time::timeout(shared.config.shutdown_grace, shared.tracker.wait()).await;
        // Without this, the other nodes would remove this one's presence members only once its
        // heartbeat is old.
        crate::cluster::leave(&shared.cluster).await;
        Ok(())
    }
}

/// Runs a realtime server on `listener` until `shutdown` resolves.
pub async fn run(
    config: RealtimeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), crate::Error> {
    Realtime::new(config)?.serve(listener, shutdown).await?;
    Ok(())
}

async fn serve_http(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    shared: Arc<Shared>,
) {
    let service = TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(shared.config.handshake_timeout);
    let connection = builder
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "http connection ended with an error");
            }
        }
        _ = shared.shutdown.cancelled() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// The metrics, to whoever presents the configured bearer token (anyone when none is set).
async fn metrics(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    if let Some(token) = &shared.config.metrics_token {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let accepted = presented.is_some_and(|presented| {
            parley_protocol::signature::constant_time_eq(
                presented.trim().as_bytes(),
                token.0.as_bytes(),
            )
        });
        if !accepted {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                Json(serde_json::json!({ "error": "The metrics need a valid bearer token" })),
            )
                .into_response();
        }
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        shared.metrics.render(),
    )
        .into_response()
}

async fn method_not_allowed() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(serde_json::json!({ "error": "Method not allowed" })),
    )
        .into_response()
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({ "error": "Not found" })),
    )
        .into_response()
}

/// Completes the HTTP upgrade on `/app/{key}`, then hands the socket to [`connection::run`].
/// Refusals (unknown app, quota, origin) are sent over the WebSocket as `pusher:error` + close,
/// because that is where pusher-js looks for them.
async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(key): Path<String>,
    mut request: Request,
) -> Response {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let protocol = form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "protocol")
        .map(|(_, v)| v.into_owned());
    let limits = Limits {
        max_message_bytes: shared.config.max_message_bytes,
        send_queue_frames: shared.config.send_queue_frames,
    };
    let (response, mut pending) = match accept_websocket(&mut request, limits) {
        Ok(accepted) => accepted,
        Err(response) => return *response,
    };
    let admission = admit(&shared, &key, protocol.as_deref(), origin.as_deref());
    if let Ok((app, _)) = &admission {
        pending.count_sent_frames(app.metrics.messages_out.clone());
    }
    let task_shared = shared.clone();
    shared
        .tracker
        .spawn(connection::run(pending, admission, task_shared));
    response
}

/// Decides whether a connection to `key` may proceed.
fn admit(
    shared: &Shared,
    key: &str,
    protocol: Option<&str>,
    origin: Option<&str>,
) -> Result<(Arc<crate::apps::App>, crate::apps::ConnectionSlot), Refusal> {
    let refuse = |code, message: String| Err(Refusal { code, message });
    let Some(app) = shared.apps.by_key(key) else {
        return refuse(
            ErrorCode::AppNotFound,
            format!("App key {key} does not exist."),
        );
    };
    if !app.config.enabled {
        return refuse(ErrorCode::AppDisabled, "Application is disabled".into());
    }
    if let Some(protocol) = protocol {
        if !protocol.parse::<u32>().is_ok_and(|v| (5..=7).contains(&v)) {
            return refuse(
                ErrorCode::UnsupportedProtocol,
                format!("Unsupported protocol version {protocol}"),
            );
        }
    }
    if !app.config.origin_allowed(origin) {
        return refuse(ErrorCode::Unauthorized, "Origin not allowed".into());
    }
    match app.try_connect() {
        Some(slot) => Ok((app.clone(), slot)),
        None => refuse(
            ErrorCode::OverQuota,
            "Application is over connection quota".into(),
        ),
    }
}
