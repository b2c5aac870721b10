//! The agent's own calls (`/api/agent/…`): who they are and where the realtime server is, their
//! availability and heartbeat, the team, and Echo's channel authorisation for the dashboard.

use std::sync::Arc;

use axum::{body::Bytes, extract::State, http::HeaderMap, Json};
use chrono::Utc;
use parley_store::{Agent, AgentAvailability};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    broadcasting::AuthRequest,
    extract::{AgentAuth, ApiJson, ApiQuery},
    widget::realtime_settings,
    AppState,
};
use crate::{
    error::ApiError,
    payload::{
        agent_channel, conversation_of_channel, widget_of_inbox_channel, AgentJson, AGENTS_CHANNEL,
        AGENT_CHANNEL_PREFIX,
    },
    presence::{leaving_grace, online_window, team_json},
    revocation::Holder,
};

/// `GET /api/agent/me`: the agent, and the realtime settings the dashboard connects with (the
/// widget config's `realtimeProvider`, `reverb` and `pusher`).
pub async fn me(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let mut body = realtime_settings(&state.service.config, &headers);
    body.insert("success".into(), true.into());
    body.insert("agent".into(), agent_json(&agent));
    // Whose inbox channels (`private-agents.{id}`) the dashboard subscribes to.
    body.insert(
        "widgets".into(),
        state.service.widgets_of(&agent).await?.into(),
    );
    Ok(Json(Value::Object(body)))
}

/// Body of `PUT /api/agent/availability`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetAvailability {
    availability: AgentAvailability,
    /// The dashboard's clock (ms) when it decided: an update older than one already applied
    /// (a closing page's "offline" arriving after the reloaded page's "online") is ignored.
    #[serde(default)]
    seq: Option<i64>,
}

/// Query of `POST /api/agent/heartbeat`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beat {
    /// As in [`SetAvailability`].
    #[serde(default)]
    seq: Option<i64>,
    /// The page is closing: keep counting the agent as online only for a short grace, so a
    /// reload (which says hello again at once) does not show visitors "away" for a moment.
    #[serde(default)]
    leaving: bool,
}

/// `PUT /api/agent/availability`: `{availability: online|away|offline, seq?}`; also a heartbeat.
pub async fn set_availability(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiJson(body): ApiJson<SetAvailability>,
) -> Result<Json<Value>, ApiError> {
    let was_online = agent.is_online(Utc::now(), online_window());
    let agent = state
        .service
        .store
        .set_agent_availability(agent.id, body.availability, Utc::now(), body.seq)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    published(&state, &agent, was_online).await
}

/// `POST /api/agent/heartbeat?seq=&leaving=`: the dashboard is still open (or, with
/// `leaving=true`, closing).
pub async fn heartbeat(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiQuery(beat): ApiQuery<Beat>,
) -> Result<Json<Value>, ApiError> {
    // Leaving: seen as long ago as leaves `leaving_grace` of the online window.
    let seen = if beat.leaving {
        Utc::now() - (online_window() - leaving_grace())
    } else {
        Utc::now()
    };
    let was_online = agent.is_online(Utc::now(), online_window());
    let agent = state
        .service
        .store
        .touch_agent(agent.id, seen, beat.seq)
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    published(&state, &agent, was_online).await
}

/// Tells listeners what changed (an agent coming back after going quiet changes "online" too)
/// and answers with the agent as stored. An agent who just came online is offered the
/// conversations waiting for someone.
async fn published(
    state: &AppState,
    agent: &Agent,
    was_online: bool,
) -> Result<Json<Value>, ApiError> {
    if let Err(error) = state.service.refresh_presence().await {
        // The change is stored; the watcher publishes it on its next look.
        tracing::warn!(%error, "could not publish agent availability");
    }
    if !was_online && agent.is_online(Utc::now(), online_window()) {
        state.service.offer_queued_logged().await;
    }
    Ok(Json(json!({ "success": true, "agent": agent_json(agent) })))
}

/// `GET /api/agent/agents`: the team and who is online.
pub async fn team(
    State(state): State<Arc<AppState>>,
    AgentAuth(_): AgentAuth,
) -> Result<Json<Value>, ApiError> {
    let team = state.service.refresh_presence().await?;
    let mut body = team_json(&team);
    body["success"] = true.into();
    Ok(Json(body))
}

/// `POST /api/agent/broadcasting/auth`: signs the agents' channel, the agent's own channel, and
/// any conversation's channel that exists (each spelled exactly so), for any agent; the socket is
/// remembered so that revoking the agent closes it.
pub async fn broadcasting_auth(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request = AuthRequest::parse(&headers, &body)?;
    let channel = request.channel_name.as_str();
    if channel.starts_with(AGENT_CHANNEL_PREFIX) {
        if channel != agent_channel(agent.id) {
            return Err(ApiError::Forbidden(format!(
                "cannot authorise another agent's channel {channel}"
            )));
        }
    } else if let Some(widget_id) = widget_of_inbox_channel(channel) {
        if !state.service.agent_sees(&agent, widget_id).await? {
            return Err(ApiError::Forbidden(format!(
                "you do not answer widget {widget_id}'s conversations"
            )));
        }
    } else if channel != AGENTS_CHANNEL {
        let id = conversation_of_channel(channel)
            .ok_or_else(|| ApiError::Forbidden(format!("cannot authorise channel {channel}")))?;
        // Refused alike whether it does not exist or is another widget's.
        if state.service.conversation_for(&agent, id).await.is_err() {
            return Err(ApiError::Forbidden(format!("no conversation {id}")));
        }
    }
    request.sign_for(&state.service, Holder::Agent(agent.id))
}

pub(super) fn agent_json(agent: &Agent) -> Value {
    let online = agent.is_online(Utc::now(), online_window());
    serde_json::to_value(AgentJson::new(agent, online)).expect("agents serialise")
}
