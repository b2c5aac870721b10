//! The agents' inbox (`/api/agent/conversations…`): listing conversations, reading one,
//! answering, taking or handing back, closing, and read receipts.

use std::{collections::HashMap, sync::Arc};

use axum::{
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    Json,
};
use chrono::{DateTime, Utc};
use parley_store::{
    Agent, Assignee, Conversation, ConversationQuery, ConversationStatus, InboxPreview, Role,
};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{AgentAuth, ApiJson, ApiPath, ApiQuery},
    messages,
    widget::{React, Read},
    AppState,
};
use crate::{
    error::ApiError,
    payload::{AgentConversationJson, MessageJson},
    service::Author,
    text,
};

/// Query of `GET /api/agent/conversations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    #[serde(default)]
    status: Option<String>,
    /// `me` or `none`.
    #[serde(default)]
    assigned: Option<String>,
    #[serde(default)]
    widget_id: Option<i64>,
    #[serde(default)]
    before_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    limit: Option<i64>,
    /// Text to find in the visitor's name or email, or in any message.
    #[serde(default)]
    q: Option<String>,
    /// Only those carrying this label.
    #[serde(default)]
    label: Option<i64>,
    /// Only open conversations whose visitor waits for the reply by email.
    #[serde(default)]
    waiting_for_email: bool,
}

/// Longest search text accepted.
const MAX_SEARCH_CHARS: usize = 200;

/// `GET /api/agent/conversations`: most recently updated first, each with its last message, the
/// newest that is not a system line (`preview_message`) and, searching, the newest message
/// holding the text (`matched_message`).
pub async fn list(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiQuery(listing): ApiQuery<Listing>,
) -> Result<Json<Value>, ApiError> {
    let status = listing
        .status
        .as_deref()
        .map(|text| {
            ConversationStatus::parse(text)
                .ok_or_else(|| ApiError::Validation("status must be bot, human or closed".into()))
        })
        .transpose()?;
    let assignee = match listing.assigned.as_deref() {
        None => None,
        Some("me") => Some(Assignee::Agent(agent.id)),
        Some("none") => Some(Assignee::Nobody),
        Some(_) => return Err(ApiError::Validation("assigned must be me or none".into())),
    };
    let limit = listing.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::Validation("limit must be 1-200".into()));
    }
    if let Some(q) = &listing.q {
        text::check("q", q)?;
    }
    let text = listing
        .q
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty());
    if text
        .as_ref()
        .is_some_and(|q| q.chars().count() > MAX_SEARCH_CHARS)
    {
        return Err(ApiError::Validation(format!(
            "q must be at most {MAX_SEARCH_CHARS} characters"
        )));
    }
    let store = &state.service.store;
    let conversations = store
        .conversations(&ConversationQuery {
            widget_id: listing.widget_id,
            status,
            assignee,
            updated_before: listing.before_updated,
            text: text.clone(),
            visible_to: (agent.role != Role::Admin).then_some(agent.id),
            label_id: listing.label,
            waiting_for_email: listing.waiting_for_email,
            limit,
        })
        .await?;
    let ids: Vec<i64> = conversations.iter().map(|c| c.id).collect();
    let secret = &state.service.config.link_secret;
    // One statement for every row: its newest message, what it previews (not a system line),
    // and with a search the message that matched.
    let mut previews: HashMap<i64, InboxPreview> = store
        .inbox_previews(&ids, text.as_deref())
        .await?
        .into_iter()
        .map(|p| (p.conversation_id, p))
        .collect();
    let mut labels: HashMap<i64, Vec<i64>> = HashMap::new();
    for (conversation_id, label_id) in store.labels_of(&ids).await? {
        labels.entry(conversation_id).or_default().push(label_id);
    }
    let json = |m: &Option<parley_store::Message>| m.as_ref().map(|m| MessageJson::new(m, secret));
    let conversations: Vec<AgentConversationJson> = conversations
        .iter()
        .map(|c| {
            let preview = previews.remove(&c.id);
            let last = preview.as_ref().map(|p| MessageJson::new(&p.last, secret));
            let (shown, matched) = preview
                .map(|p| (json(&p.preview), json(&p.matched)))
                .unwrap_or_default();
            AgentConversationJson::new(c, last)
                .with_previews(shown, matched, text.is_some())
                .with_labels(labels.remove(&c.id).unwrap_or_default())
        })
        .collect();
    Ok(Json(
        json!({ "success": true, "conversations": conversations }),
    ))
}

/// Query of `GET /api/agent/conversations/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/agent/conversations/{id}?after=&limit=`: the conversation, its messages with
/// `id > after` (oldest first), read marks and reactions.
pub async fn conversation(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(page): ApiQuery<Page>,
) -> Result<Json<Value>, ApiError> {
    let conversation = find(&state, &agent, id).await?;
    let mut body = state
        .service
        .history_page(id, page.after, page.limit.unwrap_or(200))
        .await?;
    body.insert("success".into(), true.into());
    body.insert(
        "conversation".into(),
        serde_json::to_value(
            AgentConversationJson::new(&conversation, None).with_labels(
                state
                    .service
                    .store
                    .labels_of(&[id])
                    .await?
                    .into_iter()
                    .map(|(_, label)| label)
                    .collect(),
            ),
        )
        .expect("serialises"),
    );
    body.insert(
        "rating".into(),
        serde_json::to_value(state.service.store.rating(id).await?).expect("serialises"),
    );
    Ok(Json(Value::Object(body)))
}

/// `POST /api/agent/conversations/{id}/messages`: the agent answers, as JSON
/// `{message, client_id?}` or multipart with an `attachment` (as the widget sends). A
/// conversation the bot was answering becomes the agent's, so the bot stays quiet from here on.
pub async fn reply(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let conversation = find(&state, &agent, id).await?;
    state.service.admit(&conversation, Author::Agent(&agent))?;
    let incoming = messages::read(request, &state).await?;
    let posted = state
        .service
        .post(&conversation, Author::Agent(&agent), incoming)
        .await?;
    Ok(messages::answer(posted))
}

/// Body of `POST /api/agent/conversations/{id}/assign`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assign {
    /// Absent: the caller. `null`: nobody.
    #[serde(default = "caller", deserialize_with = "nullable")]
    agent_id: Option<Option<i64>>,
}

fn caller() -> Option<Option<i64>> {
    None
}

fn nullable<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// `POST /api/agent/conversations/{id}/assign`: takes a conversation (or gives it to another
/// agent who is not revoked, or to nobody); it becomes `human`.
pub async fn assign(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Assign>,
) -> Result<Json<Value>, ApiError> {
    let conversation = find(&state, &agent, id).await?;
    let assignee = body.agent_id.unwrap_or(Some(agent.id));
    if let Some(other) = assignee {
        match state.service.store.agent(other).await? {
            None => return Err(ApiError::Validation(format!("there is no agent {other}"))),
            // Nobody could answer it: the agent can no longer sign in.
            Some(found) if found.revoked_at.is_some() => {
                return Err(ApiError::Validation(format!("agent {other} is revoked")))
            }
            Some(found) => {
                if !state
                    .service
                    .agent_sees(&found, conversation.widget_id)
                    .await?
                {
                    return Err(ApiError::Validation(format!(
                        "agent {other} does not answer this widget's conversations"
                    )));
                }
            }
        }
    }
    let conversation = state
        .service
        .set_status(id, ConversationStatus::Human, assignee)
        .await?;
    Ok(Json(json!({
        "success": true,
        "conversation": AgentConversationJson::new(&conversation, None),
    })))
}

/// Body of `POST /api/agent/conversations/{id}/status`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetStatus {
    status: String,
}

/// `POST /api/agent/conversations/{id}/status`: close, reopen for humans, or hand back to the
/// bot (which unassigns it).
pub async fn set_status(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<SetStatus>,
) -> Result<Json<Value>, ApiError> {
    let current = find(&state, &agent, id).await?;
    let status = ConversationStatus::parse(&body.status)
        .ok_or_else(|| ApiError::Validation("status must be bot, human or closed".into()))?;
    let assignee = match status {
        ConversationStatus::Bot => None,
        ConversationStatus::Human | ConversationStatus::Closed => current.assigned_agent_id,
    };
    let conversation = state.service.set_status(id, status, assignee).await?;
    Ok(Json(json!({
        "success": true,
        "conversation": AgentConversationJson::new(&conversation, None),
    })))
}

/// `POST /api/agent/conversations/{id}/read`: the agents' read receipt (reader `agent`, which
/// the visitor's widget shows as "Seen").
pub async fn read(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Read>,
) -> Result<Json<Value>, ApiError> {
    find(&state, &agent, id).await?;
    body.apply(&state, id, "agent", &headers).await
}

/// `POST /api/agent/conversations/{id}/messages/{message_id}/reactions`: adds (or with
/// `on:false` removes) this agent's emoji reaction; the reactor is `agent:{id}`.
pub async fn react(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath((id, message_id)): ApiPath<(i64, i64)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<React>,
) -> Result<Json<Value>, ApiError> {
    find(&state, &agent, id).await?;
    body.apply(
        &state,
        id,
        message_id,
        &format!("agent:{}", agent.id),
        &headers,
    )
    .await
}

async fn find(state: &AppState, agent: &Agent, id: i64) -> Result<Conversation, ApiError> {
    state.service.conversation_for(agent, id).await
}
