//! The admins' privacy requests (`/api/admin/visitors/…`): everything stored about one visitor
//! or verified user, exported as JSON or erased (files included), selected by conversation, by
//! the email the visitor gave (on one widget or all) or by verified user id on a widget. Both
//! are audited; agents get 403.

use std::sync::Arc;

use axum::{extract::State, Json};
use parley_store::VisitorSelector;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    admin::{AdminAuth, AuditTarget},
    extract::{ApiJson, ApiQuery},
    AppState,
};
use crate::{error::ApiError, privacy, text};

/// Longest email or user id a selection may name.
const MAX_SELECTOR_CHARS: usize = 255;

/// Who a request is about: exactly one of `conversation_id`, `email` (with `widget_id` to
/// keep to one widget) or `user_id` (with its `widget_id`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default)]
    conversation_id: Option<i64>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    widget_id: Option<i64>,
}

impl Selection {
    async fn selector(self, state: &AppState) -> Result<VisitorSelector, ApiError> {
        let given = [
            self.conversation_id.is_some(),
            self.email.is_some(),
            self.user_id.is_some(),
        ];
        if given.iter().filter(|given| **given).count() != 1 {
            return Err(ApiError::Validation(
                "give exactly one of conversation_id, email or user_id".into(),
            ));
        }
        if let Some(widget_id) = self.widget_id {
            // Revoked widgets' visitors are still someone's data.
            if state.service.store.widget(widget_id).await?.is_none() {
                return Err(ApiError::NotFound("widget"));
            }
        }
        let checked = |name: &str, value: String| -> Result<String, ApiError> {
            let value = value.trim().to_string();
            if value.is_empty() || value.chars().count() > MAX_SELECTOR_CHARS {
                return Err(ApiError::Validation(format!(
                    "{name} must be 1-{MAX_SELECTOR_CHARS} characters"
                )));
            }
            text::check(name, &value)?;
            Ok(value)
        };
        match (self.conversation_id, self.email, self.user_id) {
            (Some(_), _, _) if self.widget_id.is_some() => Err(ApiError::Validation(
                "a conversation_id names its widget already; leave widget_id out".into(),
            )),
            (Some(id), _, _) => Ok(VisitorSelector::Conversation(id)),
            (_, Some(email), _) => Ok(VisitorSelector::Email {
                email: checked("email", email)?,
                widget_id: self.widget_id,
            }),
            (_, _, Some(user_id)) => Ok(VisitorSelector::User {
                user_id: checked("user_id", user_id)?,
                widget_id: self.widget_id.ok_or_else(|| {
                    ApiError::Validation(
                        "user_id needs the widget_id whose site named the user".into(),
                    )
                })?,
            }),
            (None, None, None) => unreachable!("one is given"),
        }
    }
}

/// A privacy request's target as the audit log names it.
struct Subject<'a>(&'a VisitorSelector);

impl AuditTarget for Subject<'_> {
    fn audit_name(&self) -> String {
        privacy::audit_target(self.0)
    }
}

/// `GET /api/admin/visitors/export?conversation_id=|email=[&widget_id=]|user_id=&widget_id=`:
/// everything stored about them: per conversation, the conversation (name, email, page,
/// browser, verified user, pre-chat answers), every message, the attachments' details, the
/// reactions, read marks and rating. Nothing found is an empty list.
pub async fn export(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiQuery(selection): ApiQuery<Selection>,
) -> Result<Json<Value>, ApiError> {
    let who = selection.selector(&state).await?;
    let mut export = privacy::export(state.service.store.as_ref(), &who).await?;
    let ids: Vec<i64> = export["conversations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["conversation"]["id"].as_i64())
        .collect();
    caller
        .audit(
            &state,
            "visitor.export",
            &Subject(&who),
            Some(privacy::audit_detail(&who, &ids, json!({}))),
        )
        .await?;
    export["success"] = true.into();
    Ok(Json(export))
}

/// `POST /api/admin/visitors/erase {conversation_id | email [widget_id] | user_id widget_id}`:
/// erases their conversations, each whole or not at all, with messages, attachments (files
/// too), reactions, read marks, ratings, bot turns and mails; open dashboards and widgets are
/// told (`ConversationErased`). Answers the counts; nothing found erases nothing.
pub async fn erase(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiJson(selection): ApiJson<Selection>,
) -> Result<Json<Value>, ApiError> {
    let who = selection.selector(&state).await?;
    let service = &state.service;
    let outcome = privacy::erase(
        service.store.as_ref(),
        &service.config.data_dir,
        &who,
        &|conversation| privacy::tell_erased(service, conversation),
    )
    .await;
    let counts = outcome.to_json();
    // What was erased is audited even when a failure stopped the rest.
    if !outcome.erased.is_empty() || outcome.error.is_none() {
        let ids: Vec<i64> = outcome.erased.conversations.iter().map(|c| c.id).collect();
        let mut extra = counts.clone();
        if let Some(extra) = extra.as_object_mut() {
            extra.remove("conversations");
        }
        caller
            .audit(
                &state,
                "visitor.erase",
                &Subject(&who),
                Some(privacy::audit_detail(&who, &ids, extra)),
            )
            .await?;
    }
    if let Some(error) = outcome.error {
        return Err(error.into());
    }
    Ok(Json(json!({ "success": true, "erased": counts })))
}
