//! Agents' private notes on a conversation (`/api/agent/conversations/{id}/notes`): visible to
//! the agents who may see the conversation, never to the visitor and never on the
//! conversation's channel. A note may mention other agents, each of whom must be able to see the
//! conversation; they hear of it on their own channel.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json};
use parley_store::{Agent, NewNote, Note};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{AgentAuth, ApiJson, ApiPath},
    AppState,
};
use crate::{error::ApiError, payload, text};

/// Longest note.
const MAX_NOTE_CHARS: usize = 5000;
/// Most agents one note may mention.
const MAX_MENTIONS: usize = 20;

/// A note as agents see it, with its author's name.
pub(crate) fn note_json(note: &Note, author: Option<&str>) -> Value {
    json!({
        "id": note.id,
        "conversation_id": note.conversation_id,
        "agent_id": note.agent_id,
        "agent_name": author,
        "body": note.body,
        "mentions": note.mentions,
        "created_at": note.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// `GET /api/agent/conversations/{id}/notes`: oldest first.
pub async fn list(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    state.service.conversation_for(&agent, id).await?;
    let store = &state.service.store;
    let team = store.agents().await?;
    let name = |agent_id: i64| {
        team.iter()
            .find(|a| a.id == agent_id)
            .map(|a| a.name.as_str())
    };
    let notes: Vec<Value> = store
        .notes(id)
        .await?
        .iter()
        .map(|n| note_json(n, name(n.agent_id)))
        .collect();
    Ok(Json(json!({ "success": true, "notes": notes })))
}

/// Body of `POST /api/agent/conversations/{id}/notes`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    body: String,
    /// The agents the note mentions (the dashboard's `@` list gives their ids).
    #[serde(default)]
    mention_ids: Vec<i64>,
}

/// `POST /api/agent/conversations/{id}/notes {body, mention_ids?}` → 201 with the note. The
/// agents who see the widget's inbox get `NoteAdded`; each mentioned agent `AgentMentioned` on
/// their own channel.
pub async fn write(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<Write>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let conversation = state.service.conversation_for(&agent, id).await?;
    text::check("body", &form.body)?;
    let body = form.body.trim().to_string();
    if body.is_empty() || body.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::Validation(format!(
            "body must be 1 to {MAX_NOTE_CHARS} characters"
        )));
    }
    let mentioned = mentioned(&state, &agent, conversation.widget_id, form.mention_ids).await?;
    let note = state
        .service
        .store
        .add_note(NewNote {
            conversation_id: id,
            agent_id: agent.id,
            body,
            mentions: mentioned.iter().map(|a| a.id).collect(),
        })
        .await?;
    let json = note_json(&note, Some(&agent.name));
    let service = &state.service;
    service.broadcast(
        payload::inbox_channel(conversation.widget_id),
        payload::NOTE_EVENT,
        &json,
        None,
    );
    for person in &mentioned {
        service.broadcast(
            payload::agent_channel(person.id),
            payload::MENTION_EVENT,
            &json!({ "conversation_id": id, "note": json, "by": {"id": agent.id, "name": agent.name} }),
            None,
        );
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "note": json })),
    ))
}

/// The agents a note mentions: each must exist, not be revoked, and see the widget; the author
/// and repeats are dropped.
async fn mentioned(
    state: &AppState,
    author: &Agent,
    widget_id: i64,
    mut ids: Vec<i64>,
) -> Result<Vec<Agent>, ApiError> {
    ids.sort_unstable();
    ids.dedup();
    ids.retain(|id| *id != author.id);
    if ids.len() > MAX_MENTIONS {
        return Err(ApiError::Validation(format!(
            "a note may mention at most {MAX_MENTIONS} agents"
        )));
    }
    let mut people = Vec::with_capacity(ids.len());
    for id in ids {
        let person = state
            .service
            .store
            .agent(id)
            .await?
            .filter(|a| a.revoked_at.is_none())
            .ok_or_else(|| ApiError::Validation(format!("mention_ids: no agent {id}")))?;
        if !state.service.agent_sees(&person, widget_id).await? {
            return Err(ApiError::Validation(format!(
                "mention_ids: {} does not answer this widget",
                person.name
            )));
        }
        people.push(person);
    }
    Ok(people)
}
