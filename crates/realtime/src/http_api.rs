//! The Pusher HTTP API (`/apps/{id}/…`): publish, batch publish, channel and presence queries,
//! and terminating a user's connections. Every request is signed; the [`Signed`] extractor
//! checks the signature before a handler sees the request.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use axum::{
    body::Bytes,
    extract::{FromRequest, MatchedPath, OriginalUri, Path, Request, State},
    http::StatusCode,
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use parley_protocol::{
    channel::is_cache_prefix,
    signature::{verify_api_request, ApiRequest},
    ChannelKind, ChannelName,
};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::{
    apps::App,
    cluster::{self, ChannelStat, Scope},
    facade::Shared,
    publish::{self, PublishError},
};

/// Largest request body: a full batch of maximum-size events with room for JSON overhead.
const MAX_BODY: usize = 1024 * 1024;

/// The HTTP API's routes.
pub fn router(shared: Arc<Shared>) -> Router<Arc<Shared>> {
    Router::new()
        .route("/apps/{app_id}/events", post(events))
        .route("/apps/{app_id}/batch_events", post(batch_events))
        .route("/apps/{app_id}/channels", get(channels))
        .route("/apps/{app_id}/channels/{channel}", get(channel))
        .route("/apps/{app_id}/channels/{channel}/users", get(users))
        .route("/apps/{app_id}/connections", get(connections))
        .route(
            "/apps/{app_id}/users/{user_id}/terminate_connections",
            post(terminate),
        )
        // The Python SDK posts here, without the `/apps/{id}` prefix; the app comes from the
        // signed auth_key.
        .route("/users/{user_id}/terminate_connections", post(terminate))
        .layer(middleware::from_fn_with_state(shared, count_requests))
}

/// An API error: a status and a message, as `{"error": "…"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            message: message.into(),
        }
    }
}

impl From<PublishError> for ApiError {
    fn from(error: PublishError) -> Self {
        Self::new(error.status(), error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// A request whose signature checked out, with its app, path parameters, query and body. The
/// path is read here, not by a separate `Path` extractor, so a path that cannot be decoded gets
/// this API's JSON error like every other refusal.
pub struct Signed {
    app: Arc<App>,
    path: HashMap<String, String>,
    params: Vec<(String, String)>,
    body: Bytes,
}

impl Signed {
    fn path(&self, name: &str) -> &str {
        self.path.get(name).map_or("", String::as_str)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn info(&self) -> Vec<&str> {
        split_info(self.param("info"))
    }
}

impl FromRequest<Arc<Shared>> for Signed {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let (mut parts, body) = request.into_parts();
        let path_params =
            <Path<HashMap<String, String>> as axum::extract::FromRequestParts<_>>::from_request_parts(&mut parts, shared)
                .await
                .map_err(|_| ApiError::new(400, "invalid path"))?;
        let params: Vec<(String, String)> =
            form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        let app = match path_params.get("app_id") {
            Some(id) => shared.apps.by_id(id),
            None => params
                .iter()
                .find(|(k, _)| k == "auth_key")
                .and_then(|(_, key)| shared.apps.by_key(key)),
        }
        .ok_or_else(|| ApiError::new(404, "Unknown app"))?
        .clone();
        if !app.config.enabled {
            return Err(ApiError::new(403, "App is disabled"));
        }
        let body = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
            ApiError::new(413, format!("Request body is larger than {MAX_BODY} bytes"))
        })?;
        let routed = parts.uri.path().to_string();
        let original = parts
            .extensions
            .get::<OriginalUri>()
            .map(|uri| uri.path().to_string());
        let mut paths = vec![routed.as_str()];
        if let Some(original) = original.as_deref().filter(|o| *o != routed) {
            paths.push(original);
        }
        let request = ApiRequest {
            method: parts.method.as_str(),
            paths: &paths,
            params: &params,
            body: &body,
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        verify_api_request(&app.config.key, &app.config.secret, &request, now)
            .map_err(|error| ApiError::new(401, error.to_string()))?;
        Ok(Self {
            app,
            path: path_params.0,
            params,
            body,
        })
    }
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|error| ApiError::new(400, format!("Invalid JSON body: {error}")))
}

/// An event as publishers send it. `data` should be a string; anything else is encoded to one.
#[derive(Deserialize)]
struct EventBody {
    name: String,
    data: Value,
    #[serde(default)]
    channels: Option<Vec<String>>,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    socket_id: Option<String>,
    #[serde(default)]
    info: Option<String>,
}

impl EventBody {
    fn validate(self, app: &App) -> Result<(publish::Event, Option<String>), ApiError> {
        let data = match self.data {
            Value::String(text) => text,
            other => other.to_string(),
        };
        let channels = match (self.channels, self.channel) {
            (Some(channels), _) => channels,
            (None, Some(channel)) => vec![channel],
            (None, None) => Vec::new(),
        };
        let event = publish::validate(app, self.name, data, &channels, self.socket_id.as_deref())?;
        Ok((event, self.info))
    }
}

/// The attributes an `info` parameter asks for.
fn split_info(info: Option<&str>) -> Vec<&str> {
    info.map(|info| info.split(',').map(str::trim).collect())
        .unwrap_or_default()
}

/// What the channels an `info` parameter is about are (all of them).
#[derive(Clone, Copy)]
struct Kinds {
    presence: bool,
    cache: bool,
}

impl Kinds {
    fn of(channel: &ChannelName) -> Self {
        Self {
            presence: channel.kind() == ChannelKind::Presence,
            cache: channel.is_cache(),
        }
    }

    fn of_prefix(prefix: &str) -> Self {
        Self {
            presence: prefix.starts_with("presence-"),
            cache: is_cache_prefix(prefix),
        }
    }
}

/// Refuses unknown attributes, and attributes the channels cannot have (`user_count` off
/// presence channels, `cache` off cache channels: the HTTP API reference answers 400 for "an
/// attribute which is not available for the requested channel"). Checked before anything is
/// published or counted, so a bad request does nothing.
fn check_info(info: &[&str], kinds: Kinds) -> Result<(), ApiError> {
    for attribute in info {
        match *attribute {
            "user_count" if !kinds.presence => {
                return Err(ApiError::new(
                    400,
                    "user_count is only available for presence channels",
                ))
            }
            "cache" if !kinds.cache => {
                return Err(ApiError::new(
                    400,
                    "cache is only available for cache channels",
                ))
            }
            "user_count" | "subscription_count" | "cache" | "" => {}
            other => {
                return Err(ApiError::new(
                    400,
                    format!("Unknown info attribute {other:?}"),
                ))
            }
        }
    }
    Ok(())
}

/// `info` attributes of the channels an event went to, counted across every node.
async fn channel_attributes(
    app: &App,
    channels: &[ChannelName],
    info: &[&str],
) -> Map<String, Value> {
    let mut out = Map::new();
    for channel in channels {
        let attributes = counted_attributes(app, channel, info).await;
        out.insert(channel.to_string(), Value::Object(attributes));
    }
    out
}

/// One channel's `info` attributes, counted across every node (only when counts are asked for).
async fn counted_attributes(app: &App, channel: &ChannelName, info: &[&str]) -> Map<String, Value> {
    if !info
        .iter()
        .any(|a| matches!(*a, "user_count" | "subscription_count"))
    {
        return attributes(app, channel, None, info);
    }
    let survey = cluster::survey(app, Scope::Exact(channel.to_string())).await;
    attributes(app, channel, survey.channels.get(channel.as_str()), info)
}

/// `info` attributes (already checked with [`check_info`]) from a channel's figures (`None`:
/// nobody there).
fn attributes(
    app: &App,
    channel: &ChannelName,
    stat: Option<&ChannelStat>,
    info: &[&str],
) -> Map<String, Value> {
    let (subscriptions, users) = stat.map_or((0, 0), |s| (s.subscriptions, s.members.len()));
    let mut out = Map::new();
    for attribute in info {
        match *attribute {
            "user_count" => {
                out.insert("user_count".into(), users.into());
            }
            "subscription_count" => {
                out.insert("subscription_count".into(), subscriptions.into());
            }
            "cache" => {
                out.insert("cache".into(), cache_attribute(app, channel));
            }
            _ => {}
        }
    }
    out
}

/// `{"data": …, "ttl": seconds left}`, or `null` when the cache is empty (the HTTP API
/// reference's channel information).
fn cache_attribute(app: &App, channel: &ChannelName) -> Value {
    let Some((frame, left)) = app.hub.cached(channel) else {
        return Value::Null;
    };
    let data = serde_json::from_slice::<Value>(&frame)
        .ok()
        .and_then(|mut event| event.get_mut("data").map(Value::take))
        .unwrap_or(Value::Null);
    // Rounded up: a cached event is never reported as already gone.
    let ttl = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    json!({ "data": data, "ttl": ttl })
}

/// The longest a publish's answer waits for the writes queued before it.
const PUBLISH_WAITS_AT_MOST: Duration = Duration::from_secs(1);

/// Publishes `events` and returns once the writes queued before them are done (see
/// [`crate::outbox::Flusher::written_up_to`]), so an API publisher is answered at the pace the
/// sockets are written. In-process publishes (`Realtime::publish`) do not wait.
async fn deliver_after_earlier_writes<'a>(
    shared: &Shared,
    app: &App,
    events: impl IntoIterator<Item = &'a publish::Event>,
) {
    let listed = shared.flusher.listed();
    for event in events {
        publish::deliver(app, event);
    }
    shared
        .flusher
        .written_up_to(listed, PUBLISH_WAITS_AT_MOST)
        .await;
}

async fn events(
    State(shared): State<Arc<Shared>>,
    signed: Signed,
) -> Result<Json<Value>, ApiError> {
    let (event, info) = parse_body::<EventBody>(&signed.body)?.validate(&signed.app)?;
    let info = split_info(info.as_deref());
    for channel in &event.channels {
        check_info(&info, Kinds::of(channel))?;
    }
    deliver_after_earlier_writes(&shared, &signed.app, [&event]).await;
    if info.is_empty() {
        return Ok(Json(json!({})));
    }
    Ok(Json(
        json!({ "channels": channel_attributes(&signed.app, &event.channels, &info).await }),
    ))
}

#[derive(Deserialize)]
struct BatchBody {
    batch: Vec<EventBody>,
}

async fn batch_events(
    State(shared): State<Arc<Shared>>,
    signed: Signed,
) -> Result<Json<Value>, ApiError> {
    let body: BatchBody = parse_body(&signed.body)?;
    let max = signed.app.config.max_batch_size;
    if body.batch.len() > max {
        return Err(ApiError::new(
            400,
            format!("A batch may hold at most {max} events"),
        ));
    }
    // Validate the whole batch first, its `info` too: a batch is published entirely or not at
    // all.
    let events = body
        .batch
        .into_iter()
        .map(|event| event.validate(&signed.app))
        .collect::<Result<Vec<_>, _>>()?;
    for (event, info) in &events {
        if let Some(channel) = event.channels.first() {
            check_info(&split_info(info.as_deref()), Kinds::of(channel))?;
        }
    }
    let any_info = events.iter().any(|(_, info)| info.is_some());
    deliver_after_earlier_writes(&shared, &signed.app, events.iter().map(|(event, _)| event)).await;
    if !any_info {
        return Ok(Json(json!({})));
    }
    let mut results = Vec::with_capacity(events.len());
    for (event, info) in &events {
        let info = split_info(info.as_deref());
        let attributes = match event.channels.first() {
            Some(channel) if !info.is_empty() => {
                counted_attributes(&signed.app, channel, &info).await
            }
            _ => Map::new(),
        };
        results.push(Value::Object(attributes));
    }
    Ok(Json(json!({ "batch": results })))
}

async fn channels(signed: Signed) -> Result<Json<Value>, ApiError> {
    let prefix = signed.param("filter_by_prefix").unwrap_or("");
    let info = signed.info();
    if info.contains(&"user_count") && !prefix.starts_with("presence-") {
        return Err(ApiError::new(
            400,
            "user_count needs filter_by_prefix=presence-",
        ));
    }
    check_info(&info, Kinds::of_prefix(prefix))?;
    let survey = cluster::survey(&signed.app, Scope::Prefix(prefix.to_string())).await;
    let mut out = Map::new();
    for (name, stat) in &survey.channels {
        let Ok(channel) = ChannelName::parse(name, usize::MAX) else {
            continue;
        };
        out.insert(
            name.clone(),
            Value::Object(attributes(&signed.app, &channel, Some(stat), &info)),
        );
    }
    Ok(Json(json!({ "channels": out })))
}

fn channel_name(app: &App, name: &str) -> Result<ChannelName, ApiError> {
    ChannelName::parse(name, app.config.max_channel_name_length)
        .map_err(|error| ApiError::new(400, format!("Invalid channel name: {error}")))
}

async fn channel(signed: Signed) -> Result<Json<Value>, ApiError> {
    let channel = channel_name(&signed.app, signed.path("channel"))?;
    let info = signed.info();
    check_info(&info, Kinds::of(&channel))?;
    let survey = cluster::survey(&signed.app, Scope::Exact(channel.to_string())).await;
    let stat = survey.channels.get(channel.as_str());
    let mut out = attributes(&signed.app, &channel, stat, &info);
    out.insert("occupied".into(), stat.is_some().into());
    Ok(Json(Value::Object(out)))
}

async fn users(signed: Signed) -> Result<Json<Value>, ApiError> {
    let channel = channel_name(&signed.app, signed.path("channel"))?;
    if channel.kind() != ChannelKind::Presence {
        return Err(ApiError::new(
            400,
            "Users are only listed for presence channels",
        ));
    }
    let survey = cluster::survey(&signed.app, Scope::Exact(channel.to_string())).await;
    let users: Vec<Value> = survey
        .channels
        .get(channel.as_str())
        .map(|stat| stat.members.iter().map(|id| json!({ "id": id })).collect())
        .unwrap_or_default();
    Ok(Json(json!({ "users": users })))
}

async fn connections(signed: Signed) -> Json<Value> {
    let survey = cluster::survey(&signed.app, Scope::Connections).await;
    Json(json!({ "connections": survey.connections }))
}

async fn terminate(signed: Signed) -> Json<Value> {
    crate::facade::terminate_user(&signed.app, signed.path("user_id"));
    Json(json!({}))
}

async fn count_requests(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |path| path.as_str().to_string());
    let response = next.run(request).await;
    shared
        .metrics
        .api_request(&endpoint, response.status().as_u16());
    response
}
