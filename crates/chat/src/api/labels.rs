//! Labels: admins define them (`/api/admin/labels`, audited), every agent reads them
//! (`GET /api/agent/labels`) and puts them on the conversations they may see
//! (`PUT /api/agent/conversations/{id}/labels`). A change of the definitions tells every
//! dashboard on the team channel (`LabelsChanged`); a conversation's new labels go to its
//! widget's inbox (`LabelsUpdated`).

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json};
use parley_store::Label;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    admin::{AdminAuth, AuditTarget},
    extract::{AgentAuth, ApiJson, ApiPath},
    AppState,
};
use crate::{error::ApiError, payload, text};

/// Longest label name.
const MAX_NAME_CHARS: usize = 40;
/// Most labels one conversation may carry.
const MAX_LABELS_PER_CONVERSATION: usize = 20;

impl AuditTarget for Label {
    fn audit_name(&self) -> String {
        format!("label:{}", self.id)
    }
}

/// `GET /api/agent/labels`: every label, by name.
pub async fn list(
    State(state): State<Arc<AppState>>,
    AgentAuth(_agent): AgentAuth,
) -> Result<Json<Value>, ApiError> {
    let labels = state.service.store.labels().await?;
    Ok(Json(json!({ "success": true, "labels": labels })))
}

/// Body of `POST /api/admin/labels` and `PATCH /api/admin/labels/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelForm {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    color: Option<String>,
}

fn check_name(name: &str) -> Result<String, ApiError> {
    text::check("name", name)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS || name.contains(['\n', '\r']) {
        return Err(ApiError::Validation(format!(
            "name must be one line of 1 to {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

/// `#rrggbb`, lowercased.
fn check_color(color: &str) -> Result<String, ApiError> {
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Validation(
            "color must be a hex colour such as #2563eb".into(),
        ));
    }
    Ok(format!("#{}", hex.to_ascii_lowercase()))
}

/// `POST /api/admin/labels {name, color}` → 201 `{label}`; a taken name (in any case) is 409.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiJson(form): ApiJson<LabelForm>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let name = check_name(form.name.as_deref().unwrap_or(""))?;
    let color = check_color(form.color.as_deref().unwrap_or("#64748b"))?;
    let label = state.service.store.create_label(&name, &color).await?;
    caller.audit(&state, "label.create", &label, None).await?;
    labels_changed(&state);
    Ok((
        StatusCode::CREATED,
        Json(json!({ "success": true, "label": label })),
    ))
}

/// `PATCH /api/admin/labels/{id} {name?, color?}` → `{label}`.
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<LabelForm>,
) -> Result<Json<Value>, ApiError> {
    let store = &state.service.store;
    let current = store
        .labels()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(ApiError::NotFound("label"))?;
    let name = match &form.name {
        Some(name) => check_name(name)?,
        None => current.name.clone(),
    };
    let color = match &form.color {
        Some(color) => check_color(color)?,
        None => current.color.clone(),
    };
    let label = store
        .update_label(id, &name, &color)
        .await?
        .ok_or(ApiError::NotFound("label"))?;
    caller.audit(&state, "label.update", &label, None).await?;
    labels_changed(&state);
    Ok(Json(json!({ "success": true, "label": label })))
}

/// `DELETE /api/admin/labels/{id}`: the label goes, and off every conversation.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let store = &state.service.store;
    let label = store
        .labels()
        .await?
        .into_iter()
        .find(|l| l.id == id)
        .ok_or(ApiError::NotFound("label"))?;
    if !store.delete_label(id).await? {
        return Err(ApiError::NotFound("label"));
    }
    caller.audit(&state, "label.delete", &label, None).await?;
    labels_changed(&state);
    Ok(Json(json!({ "success": true })))
}

fn labels_changed(state: &AppState) {
    state.service.broadcast(
        payload::AGENTS_CHANNEL.into(),
        payload::LABELS_CHANGED_EVENT,
        &json!({}),
        None,
    );
}

/// Body of `PUT /api/agent/conversations/{id}/labels`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetLabels {
    label_ids: Vec<i64>,
}

/// `PUT /api/agent/conversations/{id}/labels {label_ids}` → `{label_ids}`: the conversation's
/// labels, replaced whole; an unknown label is 422 and changes nothing.
pub async fn set(
    State(state): State<Arc<AppState>>,
    AgentAuth(agent): AgentAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<SetLabels>,
) -> Result<Json<Value>, ApiError> {
    let conversation = state.service.conversation_for(&agent, id).await?;
    if form.label_ids.len() > MAX_LABELS_PER_CONVERSATION {
        return Err(ApiError::Validation(format!(
            "a conversation may carry at most {MAX_LABELS_PER_CONVERSATION} labels"
        )));
    }
    let label_ids = state
        .service
        .store
        .set_conversation_labels(id, &form.label_ids)
        .await
        .map_err(|error| match error {
            parley_store::StoreError::NotFound(what) if what.starts_with("label") => {
                ApiError::Validation(format!("label_ids: no {what}"))
            }
            other => other.into(),
        })?;
    state.service.broadcast(
        payload::inbox_channel(conversation.widget_id),
        payload::LABELS_EVENT,
        &json!({ "conversation_id": id, "label_ids": label_ids }),
        None,
    );
    Ok(Json(json!({ "success": true, "label_ids": label_ids })))
}
