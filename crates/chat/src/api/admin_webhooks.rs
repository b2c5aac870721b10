//! The admins' webhook pages (`/api/admin/webhooks…`): list, create (the secret shown once),
//! enable or disable, delete, the delivery log, and a test delivery. Agents get 403; every
//! change is audited.

use std::sync::Arc;

use axum::{extract::State, http::StatusCode, Json};
use parley_store::Webhook;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    admin::{AdminAuth, AuditTarget},
    extract::{ApiJson, ApiPath, ApiQuery},
    AppState,
};
use crate::{
    error::ApiError,
    webhooks::{self, delivery_json, webhook_json},
};

impl AuditTarget for Webhook {
    fn audit_name(&self) -> String {
        format!("webhook:{}", self.id)
    }
}

/// Most deliveries one page of the log holds.
const MAX_LOG_PAGE: i64 = 200;

async fn found(state: &AppState, id: i64) -> Result<Webhook, ApiError> {
    state
        .service
        .store
        .webhook(id)
        .await?
        .ok_or(ApiError::NotFound("webhook"))
}

/// `GET /api/admin/webhooks`: every webhook, oldest first (never their secrets).
pub async fn list(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
) -> Result<Json<Value>, ApiError> {
    let webhooks = state.service.store.webhooks().await?;
    let listed: Vec<Value> = webhooks.iter().map(webhook_json).collect();
    Ok(Json(json!({
        "success": true,
        "webhooks": listed,
        "events": parley_store::WEBHOOK_EVENTS,
    })))
}

/// Body of `POST /api/admin/webhooks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWebhookForm {
    url: String,
    /// The events wanted; absent or empty: every event.
    #[serde(default)]
    events: Vec<String>,
    /// Only this widget's conversations.
    #[serde(default)]
    widget_id: Option<i64>,
}

/// `POST /api/admin/webhooks {url, events?, widget_id?}` → 201 with the webhook and its secret,
/// shown only now.
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiJson(form): ApiJson<NewWebhookForm>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (webhook, secret) = webhooks::create(
        state.service.store.as_ref(),
        &form.url,
        &form.events,
        form.widget_id,
    )
    .await?;
    caller
        .audit(
            &state,
            "webhook.create",
            &webhook,
            Some(json!({
                "url": webhook.url,
                "events": webhook.events,
                "widget_id": webhook.widget_id,
            })),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "success": true,
            "webhook": webhook_json(&webhook),
            "secret": secret,
        })),
    ))
}

/// Body of `PATCH /api/admin/webhooks/{id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeForm {
    enabled: bool,
}

/// `PATCH /api/admin/webhooks/{id} {enabled}`: a disabled webhook is given no deliveries and
/// sends none of those it has; enabled again, those it has go.
pub async fn change(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(form): ApiJson<ChangeForm>,
) -> Result<Json<Value>, ApiError> {
    let webhook = state
        .service
        .store
        .set_webhook_disabled(id, !form.enabled, chrono::Utc::now())
        .await?
        .ok_or(ApiError::NotFound("webhook"))?;
    let action = if form.enabled {
        "webhook.enable"
    } else {
        "webhook.disable"
    };
    caller.audit(&state, action, &webhook, None).await?;
    if form.enabled {
        state.service.wake_webhooks();
    }
    Ok(Json(
        json!({ "success": true, "webhook": webhook_json(&webhook) }),
    ))
}

/// `DELETE /api/admin/webhooks/{id}`: the webhook and its log; what it had not sent is dropped.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Value>, ApiError> {
    let webhook = found(&state, id).await?;
    if !state.service.store.delete_webhook(id).await? {
        return Err(ApiError::NotFound("webhook"));
    }
    caller
        .audit(
            &state,
            "webhook.delete",
            &webhook,
            Some(json!({ "url": webhook.url })),
        )
        .await?;
    Ok(Json(json!({ "success": true })))
}

/// Query of `GET /api/admin/webhooks/{id}/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    #[serde(default)]
    before: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

/// `GET /api/admin/webhooks/{id}/deliveries?before=&limit=`: the delivery log, newest first (50
/// by default, at most 200); `has_more` says whether older ones follow (ask with `before` = the
/// last id).
pub async fn deliveries(
    State(state): State<Arc<AppState>>,
    _: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LogQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_LOG_PAGE).contains(&limit) {
        return Err(ApiError::Validation(format!(
            "limit must be 1-{MAX_LOG_PAGE}"
        )));
    }
    found(&state, id).await?;
    let mut page = state
        .service
        .store
        .webhook_deliveries(id, query.before, limit + 1)
        .await?;
    let has_more = page.len() as i64 > limit;
    page.truncate(limit as usize);
    let listed: Vec<Value> = page.iter().map(delivery_json).collect();
    Ok(Json(json!({
        "success": true,
        "deliveries": listed,
        "has_more": has_more,
    })))
}

/// `POST /api/admin/webhooks/{id}/test` → 202 with a `ping` delivery, sent at once by the
/// worker and tried once; follow it in the log. A disabled webhook is 409.
pub async fn test(
    State(state): State<Arc<AppState>>,
    caller: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let webhook = found(&state, id).await?;
    let delivery = state
        .service
        .store
        .enqueue_webhook_ping(id)
        .await?
        .ok_or_else(|| ApiError::Conflict("the webhook is disabled; enable it first".into()))?;
    state.service.wake_webhooks();
    caller.audit(&state, "webhook.test", &webhook, None).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "success": true, "delivery": delivery_json(&delivery) })),
    ))
}
