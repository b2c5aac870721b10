//! What a delivery says: `{"event", "created_at", "data"}`, written from the store when it is
//! sent.
//!
//! `data.conversation` is the conversation as agents see it (`AgentConversationJson` without
//! its last message) as it is when the delivery is sent; the event's own facts are as they were
//! when it happened:
//! - `conversation.created`: `{conversation}`.
//! - `message.created`: `{conversation, message}`; the message as clients see it, its
//!   attachment's signed link absolute when `PARLEY_PUBLIC_URL` is set.
//! - `conversation.status_changed`: `{conversation, status, previous_status}`.
//! - `conversation.assigned`: `{conversation, assigned_agent_id, previous_agent_id, agent}`,
//!   `agent` being `{id, name}` of the new assignee (`null` when unassigned).
//! - `conversation.rated`: `{conversation, rating: {score, comment, created_at}}`.
//! - `ping`: `{webhook_id, message}`.

use parley_store::{
    Store, WebhookDelivery, CONVERSATION_ASSIGNED, CONVERSATION_RATED, CONVERSATION_STATUS_CHANGED,
    MESSAGE_CREATED, PING_EVENT,
};
use serde_json::{json, Map, Value};

use crate::{
    error::ApiError,
    payload::{AgentConversationJson, MessageJson},
};

/// A time as deliveries write it: RFC 3339 in UTC with milliseconds.
fn time(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The body of `delivery`, or `None` when what it is about no longer exists (the conversation
/// was erased while it was being sent).
pub async fn render(
    store: &dyn Store,
    delivery: &WebhookDelivery,
    link_secret: &str,
    public_url: Option<&str>,
) -> Result<Option<Value>, ApiError> {
    let Some(data) = data(store, delivery, link_secret, public_url).await? else {
        return Ok(None);
    };
    Ok(Some(json!({
        "event": delivery.event,
        "created_at": time(&delivery.created_at),
        "data": data,
    })))
}

async fn data(
    store: &dyn Store,
    delivery: &WebhookDelivery,
    link_secret: &str,
    public_url: Option<&str>,
) -> Result<Option<Value>, ApiError> {
    if delivery.event == PING_EVENT {
        return Ok(Some(json!({
            "webhook_id": delivery.webhook_id,
            "message": "This is a test delivery from Parley.",
        })));
    }
    let Some(conversation_id) = delivery.conversation_id else {
        return Ok(None);
    };
    let Some(conversation) = store.conversation(conversation_id).await? else {
        return Ok(None);
    };
    let mut shown = serde_json::to_value(AgentConversationJson::new(&conversation, None))
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    if let Some(object) = shown.as_object_mut() {
        object.remove("last_message");
    }
    let mut data = Map::new();
    data.insert("conversation".into(), shown);
    let fact = |key: &str| delivery.detail.get(key).cloned().unwrap_or(Value::Null);
    match delivery.event.as_str() {
        MESSAGE_CREATED => {
            let Some(id) = delivery.message_id else {
                return Ok(None);
            };
            let found = store.messages_after(conversation_id, id - 1, 1).await?;
            let Some(message) = found.into_iter().find(|m| m.id == id) else {
                return Ok(None);
            };
            let mut message = serde_json::to_value(MessageJson::new(&message, link_secret))
                .map_err(|e| ApiError::Internal(Box::new(e)))?;
            if let (Some(base), Some(Value::String(path))) =
                (public_url, message.get_mut("attachment_path"))
            {
                *path = format!("{}{path}", base.trim_end_matches('/'));
            }
            data.insert("message".into(), message);
        }
        CONVERSATION_STATUS_CHANGED => {
            data.insert("status".into(), fact("status"));
            data.insert("previous_status".into(), fact("previous_status"));
        }
        CONVERSATION_ASSIGNED => {
            let assigned = fact("assigned_agent_id");
            let agent = match assigned.as_i64() {
                Some(id) => store
                    .agent(id)
                    .await?
                    .map(|agent| json!({ "id": agent.id, "name": agent.name })),
                None => None,
            };
            data.insert("assigned_agent_id".into(), assigned);
            data.insert("previous_agent_id".into(), fact("previous_agent_id"));
            data.insert("agent".into(), agent.unwrap_or(Value::Null));
        }
        CONVERSATION_RATED => {
            let Some(rating) = store.rating(conversation_id).await? else {
                return Ok(None);
            };
            data.insert(
                "rating".into(),
                json!({
                    "score": rating.score,
                    "comment": rating.comment,
                    "created_at": time(&rating.created_at),
                }),
            );
        }
        _ => {}
    }
    Ok(Some(Value::Object(data)))
}
