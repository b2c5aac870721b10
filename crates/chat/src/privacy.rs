//! Privacy: each widget's retention (`settings.retention_days`), applied by a background job
//! every node runs, and exporting or erasing everything stored about one visitor or verified
//! user (the admin API and `parley visitor`).
//!
//! Erasing goes one conversation at a time, each in its own transaction, so a conversation is
//! erased whole or not at all; its files are removed once its erasure is committed, and the
//! conversation's channel and its widget's inbox are told (`ConversationErased`). The audit
//! log names the conversations erased and the counts, never the email or user id asked for.

use std::{path::Path, time::Duration};

use chrono::{DateTime, Utc};
use parley_store::{
    ConversationExport, Erased, ErasedConversation, NewAuditEntry, Store, StoreError,
    VisitorSelector,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{broadcast::Broadcast, error::ApiError, payload, uploads, ChatService};

/// Longest retention a widget may set: ten years.
pub const MAX_RETENTION_DAYS: i64 = 3650;
/// Conversations erased per transaction when expiring, so no lock is held for long.
pub const RETENTION_BATCH: i64 = 100;
/// How often each node looks for conversations to expire.
pub const RETENTION_EVERY: Duration = Duration::from_secs(3600);

/// A widget's retention in days (`settings.retention_days`); `None` keeps conversations.
/// Anything but a whole number of days from 1 to [`MAX_RETENTION_DAYS`] (or null) is refused.
pub fn retention_days(settings: &Value) -> Result<Option<i64>, ApiError> {
    match settings.get("retention_days") {
        None | Some(Value::Null) => Ok(None),
        Some(days) => days
            .as_i64()
            .filter(|days| (1..=MAX_RETENTION_DAYS).contains(days))
            .map(Some)
            .ok_or_else(|| {
                ApiError::Validation(format!(
                    "settings.retention_days must be a whole number of days from 1 to \
                     {MAX_RETENTION_DAYS}, or absent to keep conversations"
                ))
            }),
    }
}

/// What an export holds: the selection and, per conversation, everything stored about it.
pub async fn export(store: &dyn Store, who: &VisitorSelector) -> Result<Value, StoreError> {
    let mut conversations: Vec<ConversationExport> = Vec::new();
    for id in store.conversations_of_visitor(who).await? {
        // One erased meanwhile is simply not there any more.
        if let Some(export) = store.conversation_export(id).await? {
            conversations.push(export);
        }
    }
    Ok(json!({
        "exported_at": Utc::now(),
        "selector": selector_json(who),
        "conversations": conversations,
    }))
}

/// What [`erase`] did: what was erased (also when it stopped early), how many files were
/// removed from disk, and the failure that stopped it, if one did.
#[derive(Debug, Default)]
pub struct Erasure {
    /// The conversations erased and the rows that went with them.
    pub erased: Erased,
    /// Attachment files removed from disk.
    pub files_removed: usize,
    /// Why it stopped before the end; the conversations before it stay erased.
    pub error: Option<StoreError>,
}

impl Erasure {
    /// The counts as the API and the CLI print them.
    pub fn to_json(&self) -> Value {
        let mut counts = serde_json::to_value(&self.erased).expect("counts serialise");
        counts["files_removed"] = self.files_removed.into();
        counts
    }
}

/// Erases every conversation `who` names, each in its own transaction, removes their files
/// from `data_dir`, and tells `erased` about each conversation once it is gone.
pub async fn erase(
    store: &dyn Store,
    data_dir: &Path,
    who: &VisitorSelector,
    erased: &(dyn Fn(ErasedConversation) + Sync),
) -> Erasure {
    let mut outcome = Erasure::default();
    let ids = match store.conversations_of_visitor(who).await {
        Ok(ids) => ids,
        Err(error) => {
            outcome.error = Some(error);
            return outcome;
        }
    };
    for id in ids {
        match store.erase_conversation(id).await {
            Ok(Some(done)) => {
                outcome.files_removed += remove_files(data_dir, &done.files).await;
                for conversation in &done.conversations {
                    erased(*conversation);
                }
                outcome.erased.add(done);
            }
            // Erased meanwhile (by retention or another admin).
            Ok(None) => {}
            Err(error) => {
                outcome.error = Some(error);
                break;
            }
        }
    }
    if !outcome.erased.is_empty() {
        tracing::info!(
            conversations = outcome.erased.conversations.len(),
            messages = outcome.erased.messages,
            files = outcome.files_removed,
            "erased a visitor's conversations"
        );
    }
    outcome
}

/// Tells the conversation's channel (its widget) and its widget's inbox (the dashboards)
/// that a conversation was erased.
pub fn tell_erased(service: &ChatService, conversation: ErasedConversation) {
    service.broadcast_to(
        erased_channels(conversation),
        payload::ERASED_EVENT,
        &erased_json(conversation),
        None,
    );
}

/// The `ConversationErased` event for a conversation, for a process without a
/// [`ChatService`] (the command line) to publish.
pub fn erased_broadcast(conversation: ErasedConversation) -> Broadcast {
    Broadcast {
        channels: erased_channels(conversation),
        event: payload::ERASED_EVENT.into(),
        data: erased_json(conversation).to_string(),
        except_socket: None,
    }
}

fn erased_channels(conversation: ErasedConversation) -> Vec<String> {
    vec![
        payload::conversation_channel(conversation.id),
        payload::inbox_channel(conversation.widget_id),
    ]
}

fn erased_json(conversation: ErasedConversation) -> Value {
    json!({ "conversation_id": conversation.id, "widget_id": conversation.widget_id })
}

/// Removes erased attachments' files; how many were there to remove. A file already gone is
/// fine; one that cannot be removed is logged (its record is gone, so nothing serves it).
pub async fn remove_files(data_dir: &Path, names: &[String]) -> usize {
    let mut removed = 0;
    for name in names {
        match uploads::remove(data_dir, name).await {
            Ok(true) => removed += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, file = %name, "could not remove an erased attachment's file");
            }
        }
    }
    removed
}

/// The selection as exports and audit entries describe it.
fn selector_json(who: &VisitorSelector) -> Value {
    match who {
        VisitorSelector::Conversation(id) => json!({ "by": "conversation", "conversation_id": id }),
        VisitorSelector::Email { email, widget_id } => {
            json!({ "by": "email", "email": email, "widget_id": widget_id })
        }
        VisitorSelector::User { user_id, widget_id } => {
            json!({ "by": "user", "user_id": user_id, "widget_id": widget_id })
        }
    }
}

/// What the audit log names as the target of a privacy request: the conversation, or the
/// widget the visitor was looked for on (`visitors` for every widget).
pub fn audit_target(who: &VisitorSelector) -> String {
    match who {
        VisitorSelector::Conversation(id) => format!("conversation:{id}"),
        VisitorSelector::Email {
            widget_id: Some(widget_id),
            ..
        }
        | VisitorSelector::User { widget_id, .. } => format!("widget:{widget_id}"),
        VisitorSelector::Email {
            widget_id: None, ..
        } => "visitors".into(),
    }
}

/// An audit entry's detail for a privacy request: how the visitor was selected (never the
/// email or user id themselves, which an erasure must not keep), the conversations, and
/// anything else (`extra`: counts, `via`).
pub fn audit_detail(who: &VisitorSelector, conversations: &[i64], extra: Value) -> Value {
    let by = match who {
        VisitorSelector::Conversation(_) => "conversation",
        VisitorSelector::Email { .. } => "email",
        VisitorSelector::User { .. } => "user",
    };
    let mut detail = json!({ "by": by, "conversations": conversations });
    if let (Some(detail), Value::Object(extra)) = (detail.as_object_mut(), extra) {
        detail.extend(extra);
    }
    detail
}

/// What one retention run erased on one widget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired {
    /// The widget.
    pub widget_id: i64,
    /// Its retention.
    pub days: i64,
    /// What was erased.
    pub erased: Erased,
    /// Files removed from disk.
    pub files_removed: usize,
}

/// Erases, for every widget with a retention, the conversations last active more than its
/// retention before `now`, in batches of [`RETENTION_BATCH`] (each its own transaction),
/// removing their files and telling dashboards and widgets. Each widget's run is logged and,
/// when it erased anything, audited with the counts; a widget whose run fails is logged and
/// left to the next run. Nodes may run this at once: each erases different conversations.
pub async fn apply_retention(
    service: &ChatService,
    now: DateTime<Utc>,
) -> Result<Vec<Expired>, StoreError> {
    let store = service.store.as_ref();
    let mut report = Vec::new();
    for widget in store.widgets().await? {
        let days = match retention_days(&widget.settings) {
            Ok(Some(days)) => days,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!(widget = widget.id, %error, "widget retention ignored");
                continue;
            }
        };
        let before = now - chrono::Duration::days(days);
        let mut expired = Expired {
            widget_id: widget.id,
            days,
            erased: Erased::default(),
            files_removed: 0,
        };
        let outcome = loop {
            let batch = match store
                .erase_inactive(widget.id, before, RETENTION_BATCH)
                .await
            {
                Ok(batch) => batch,
                Err(error) => break Err(error),
            };
            let full = batch.conversations.len() as i64 >= RETENTION_BATCH;
            expired.files_removed += remove_files(&service.config.data_dir, &batch.files).await;
            for conversation in &batch.conversations {
                tell_erased(service, *conversation);
            }
            expired.erased.add(batch);
            if !full {
                break Ok(());
            }
            // Let other writers in between batches (SQLite has one writer).
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        if !expired.erased.is_empty() {
            record_expiry(store, &expired).await;
        }
        // One widget's failure (a lost connection) leaves the others to this run and itself
        // to the next.
        if let Err(error) = outcome {
            tracing::warn!(widget = widget.id, %error, "retention stopped for this widget");
        }
        report.push(expired);
    }
    Ok(report)
}

/// Logs and audits what retention erased on one widget.
async fn record_expiry(store: &dyn Store, expired: &Expired) {
    let erased = &expired.erased;
    tracing::info!(
        widget = expired.widget_id,
        days = expired.days,
        conversations = erased.conversations.len(),
        messages = erased.messages,
        attachments = erased.attachments,
        files = expired.files_removed,
        "retention erased inactive conversations"
    );
    let mut detail = serde_json::to_value(erased).expect("counts serialise");
    detail["conversations"] = erased.conversations.len().into();
    detail["retention_days"] = expired.days.into();
    detail["files_removed"] = expired.files_removed.into();
    if let Err(error) = store
        .record_audit(NewAuditEntry {
            actor_id: None,
            action: "retention.erase".into(),
            target: Some(format!("widget:{}", expired.widget_id)),
            ip: None,
            detail: Some(detail),
        })
        .await
    {
        tracing::warn!(%error, widget = expired.widget_id, "could not audit a retention run");
    }
}

/// Runs [`apply_retention`] every `every` until `shutdown`, the first time after a short
/// random delay (so nodes started together do not all start at once).
pub fn spawn_retention(service: ChatService, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let first = Duration::from_millis(rand::random_range(5_000..=60_000));
        let mut next = tokio::time::Instant::now() + first;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep_until(next) => {}
            }
            match apply_retention(&service, Utc::now()).await {
                Ok(report) => tracing::debug!(widgets = report.len(), "retention run finished"),
                Err(error) => tracing::warn!(%error, "retention run failed; will retry"),
            }
            next = tokio::time::Instant::now() + every;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_a_number_of_days_or_nothing() {
        assert_eq!(retention_days(&json!({})).unwrap(), None);
        assert_eq!(
            retention_days(&json!({"retention_days": null})).unwrap(),
            None
        );
        assert_eq!(
            retention_days(&json!({"retention_days": 30})).unwrap(),
            Some(30)
        );
        assert_eq!(
            retention_days(&json!({"retention_days": 3650})).unwrap(),
            Some(3650)
        );
        for bad in [
            json!(0),
            json!(-1),
            json!(3651),
            json!(1.5),
            json!("30"),
            json!(true),
        ] {
            assert!(
                retention_days(&json!({ "retention_days": bad })).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn audit_entries_never_keep_the_email_or_user() {
        let who = VisitorSelector::Email {
            email: "vera@example.com".into(),
            widget_id: Some(3),
        };
        assert_eq!(audit_target(&who), "widget:3");
        let detail = audit_detail(&who, &[4, 5], json!({ "via": "cli" }));
        assert_eq!(
            detail,
            json!({"by": "email", "conversations": [4, 5], "via": "cli"})
        );
        assert!(!detail.to_string().contains("vera"));
        let user = VisitorSelector::User {
            user_id: "user-42".into(),
            widget_id: 2,
        };
        assert_eq!(audit_target(&user), "widget:2");
        assert!(!audit_detail(&user, &[], json!({}))
            .to_string()
            .contains("user-42"));
        assert_eq!(
            audit_target(&VisitorSelector::Email {
                email: "x@example.com".into(),
                widget_id: None
            }),
            "visitors"
        );
        assert_eq!(
            audit_target(&VisitorSelector::Conversation(9)),
            "conversation:9"
        );
    }
}
