//! Transferring a conversation to another agent (`/api/agent/conversations/{id}/transfer`):
//! who may take it, and the transfer itself with an optional private note.

use std::{collections::HashMap, sync::Arc};

use axum::{extract::State, Json};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    extract::{AgentAuth, ApiJson, ApiPath},
    AppState,
};
use crate::{
    assignment::{transferred_json, AssignmentSettings},
    error::ApiError,
    presence::online_window,
    text,
};

/// Longest transfer note (as a private note's).
const MAX_NOTE_CHARS: usize = 5000;

/// `GET /api/agent/conversations/{id}/transfer`: the agents the conversation may go to (not
/// revoked, answering its widget, not its assignee), each with whether they are online and how
/// many open conversations they have; and the widget's automatic assignment, for its capacity.
pub async fn targets(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let service = &state.service;
    let conversation = service.conversation_for(&agent, id).await?;
    let open: HashMap<i64, i64> = service
        .store
        .open_conversation_counts()
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let mut agents = Vec::new();
    for person in service.store.agents().await? {
        if person.revoked_at.is_some()
            || Some(person.id) == conversation.assigned_agent_id
            || !service.agent_sees(&person, conversation.widget_id).await?
        {
            continue;
        }
        agents.push(json!({
            "id": person.id,
            "name": person.name,
            "availability": person.availability,
            "online": person.is_online(now, online_window()),
            "open_conversations": open.get(&person.id).copied().unwrap_or(0),
        }));
    }
    let widget = service.store.widget(conversation.widget_id).await?;
    let settings = widget
        .map(|w| AssignmentSettings::from_settings(&w.settings).unwrap_or_default())
        .unwrap_or_default();
    let mode = match settings.mode {
        None => "off",
        Some(parley_store::AssignmentMode::RoundRobin) => "round_robin",
        Some(parley_store::AssignmentMode::LeastBusy) => "least_busy",
    };
    Ok(Json(json!({
        "success": true,
        "agents": agents,
        "assignment": {"mode": mode, "capacity": settings.capacity},
    })))
}

/// Body of `POST /api/agent/conversations/{id}/transfer`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    agent_id: i64,
    /// A private note for the new assignee (and the team); never shown to the visitor.
    #[serde(default)]
    note: Option<String>,
}

/// `POST /api/agent/conversations/{id}/transfer {agent_id, note?}`: gives the conversation to
/// another agent who answers its widget and is not revoked, whatever their capacity (a person
/// decided); it becomes `human`. The note is stored as a private note mentioning them. 409 for a
/// closed conversation or one that is theirs already.
pub async fn transfer(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<Transfer>,
) -> Result<Json<Value>, ApiError> {
    let service = &state.service;
    let conversation = service.conversation_for(&agent, id).await?;
    let target = match service.store.agent(body.agent_id).await? {
        None => {
            return Err(ApiError::Validation(format!(
                "there is no agent {}",
                body.agent_id
            )))
        }
        Some(found) if found.revoked_at.is_some() => {
            return Err(ApiError::Validation(format!(
                "agent {} is revoked",
                body.agent_id
            )))
        }
        Some(found) => found,
    };
    if !service.agent_sees(&target, conversation.widget_id).await? {
        return Err(ApiError::Validation(format!(
            "{} does not answer this widget's conversations",
            target.name
        )));
    }
    let note = match body.note {
        Some(note) => {
            text::check("note", &note)?;
            let note = note.trim().to_string();
            if note.chars().count() > MAX_NOTE_CHARS {
                return Err(ApiError::Validation(format!(
                    "note must be at most {MAX_NOTE_CHARS} characters"
                )));
            }
            Some(note).filter(|n| !n.is_empty())
        }
        None => None,
    };
    let transferred = service
        .transfer(&agent, &conversation, &target, note)
        .await?;
    Ok(Json(transferred_json(&transferred, &agent)))
}
