//! Automatic assignment per widget (`settings.assignment`) and transfers between agents.
//!
//! A widget assigns `off` (agents take conversations themselves), `round_robin` or
//! `least_busy`, among the online agents who answer it, each up to `capacity` open
//! conversations (status `human`, every widget counted). The store decides, in one locking
//! transaction (see `parley_store::Assignments`), so nodes assigning at once agree. A pass runs
//! when something may have made room or work: a conversation changed status or assignee (a
//! handoff, a close, a hand-back, a transfer), an agent came online; and every
//! [`SWEEP_EVERY`] on every node as a safety net, which also takes back conversations whose
//! assignee has not replied within `unassign_after_mins` and offers them to someone else.
//!
//! Events: `ConversationUpdated` and `InboxUpdated` as for any change of assignee, and on the
//! agents' own channels `ConversationAssigned` (to whom it went) and `ConversationUnassigned`
//! (from whom it was taken).

use std::time::Duration;

use chrono::Utc;
use parley_store::{
    Agent, AssignmentMode, AssignmentRule, Conversation, NewNote, Note, Reassigned,
    TransferRefused, Transferred,
};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{
    error::ApiError,
    payload::{self, AgentConversationJson},
    presence::online_window,
    service::ChatService,
};

/// How often every node runs the sweep.
pub const SWEEP_EVERY: Duration = Duration::from_secs(15);
/// Open conversations per agent when a widget does not say.
pub const DEFAULT_CAPACITY: i64 = 5;
/// The largest capacity a widget may set.
const MAX_CAPACITY: i64 = 100;
/// The longest wait for a reply a widget may set: a day.
const MAX_UNASSIGN_MINS: i64 = 24 * 60;
/// Most conversations one store call assigns or takes back; the pass repeats until done.
const BATCH: i64 = 50;

/// A widget's `settings.assignment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentSettings {
    /// `None`: off.
    pub mode: Option<AssignmentMode>,
    /// Open conversations per agent.
    pub capacity: i64,
    /// Minutes an assignee has to reply before the conversation goes back to the queue.
    pub unassign_after_mins: Option<i64>,
}

impl Default for AssignmentSettings {
    fn default() -> Self {
        Self {
            mode: None,
            capacity: DEFAULT_CAPACITY,
            unassign_after_mins: None,
        }
    }
}

impl AssignmentSettings {
    /// Reads and checks `settings.assignment` (absent or null: off):
    /// `{mode: off|round_robin|least_busy, capacity: 1-100, unassign_after_mins: 1-1440|null}`.
    pub fn from_settings(settings: &Value) -> Result<Self, ApiError> {
        let invalid = |what: &str| Err(ApiError::Validation(format!("settings.assignment{what}")));
        let value = match settings.get("assignment") {
            None | Some(Value::Null) => return Ok(Self::default()),
            Some(value) => value,
        };
        let Some(object) = value.as_object() else {
            return invalid(" must be an object: {mode, capacity, unassign_after_mins}");
        };
        if let Some(key) = object
            .keys()
            .find(|k| !matches!(k.as_str(), "mode" | "capacity" | "unassign_after_mins"))
        {
            let key: String = key.chars().take(40).collect();
            return invalid(&format!(
                ".{key} is not a setting: use mode, capacity and unassign_after_mins"
            ));
        }
        let mode = match object.get("mode") {
            None | Some(Value::Null) => None,
            Some(Value::String(mode)) if mode == "off" => None,
            Some(Value::String(mode)) if mode == "round_robin" => Some(AssignmentMode::RoundRobin),
            Some(Value::String(mode)) if mode == "least_busy" => Some(AssignmentMode::LeastBusy),
            Some(_) => return invalid(".mode must be off, round_robin or least_busy"),
        };
        let capacity = match object.get("capacity") {
            None | Some(Value::Null) => DEFAULT_CAPACITY,
            Some(n) => match n.as_i64() {
                Some(n) if (1..=MAX_CAPACITY).contains(&n) => n,
                _ => {
                    return invalid(&format!(
                        ".capacity must be a whole number of open conversations from 1 to \
                         {MAX_CAPACITY}"
                    ))
                }
            },
        };
        let unassign_after_mins = match object.get("unassign_after_mins") {
            None | Some(Value::Null) => None,
            Some(n) => match n.as_i64() {
                Some(n) if (1..=MAX_UNASSIGN_MINS).contains(&n) => Some(n),
                _ => {
                    return invalid(&format!(
                        ".unassign_after_mins must be null (never) or a whole number of \
                         minutes from 1 to {MAX_UNASSIGN_MINS}"
                    ))
                }
            },
        };
        Ok(Self {
            mode,
            capacity,
            unassign_after_mins,
        })
    }
}

/// Why a conversation came to an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Automatic,
    Transfer,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Automatic => "automatic",
            Reason::Transfer => "transfer",
        }
    }
}

/// Runs the sweep on this node every `every` until `shutdown`.
pub fn spawn_sweep(service: ChatService, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = service.sweep_assignments().await {
                tracing::warn!(%error, "automatic assignment: the sweep failed; next time");
            }
        }
    });
}

impl ChatService {
    /// Gives queued conversations to agents with room, on every live widget that assigns
    /// automatically, and tells everyone concerned. How many were assigned.
    pub async fn offer_queued(&self) -> Result<usize, ApiError> {
        let assigned = self.assign_waiting().await?;
        self.announce_automatic(&assigned, None);
        Ok(assigned.len())
    }

    /// [`Self::offer_queued`] where a failure must not fail the caller's change, which is
    /// committed already: logged, and the sweep tries again.
    pub(crate) async fn offer_queued_logged(&self) {
        if let Err(error) = self.offer_queued().await {
            tracing::warn!(%error, "automatic assignment failed; the sweep will try again");
        }
    }

    /// Gives queued conversations to agents with room, telling nobody yet (see
    /// [`Self::announce_automatic`]). A widget that fails is logged and left to the next pass.
    async fn assign_waiting(&self) -> Result<Vec<Reassigned>, ApiError> {
        let mut assigned = Vec::new();
        for (widget_id, settings) in self.assigning_widgets().await? {
            let Some(mode) = settings.mode else { continue };
            loop {
                let now = Utc::now();
                let rule = AssignmentRule {
                    widget_id,
                    mode,
                    capacity: settings.capacity,
                    online_since: now - online_window(),
                };
                let done = match self.store.assign_queued(&rule, now, BATCH).await {
                    Ok(done) => done,
                    Err(error) => {
                        tracing::warn!(%error, widget_id, "automatic assignment failed");
                        break;
                    }
                };
                let more = done.len() as i64 == BATCH;
                assigned.extend(done);
                if !more {
                    break;
                }
            }
        }
        Ok(assigned)
    }

    /// [`Self::assign_waiting`] for a caller whose own change is committed: a failure is logged
    /// and the sweep tries again.
    pub(crate) async fn assign_waiting_logged(&self) -> Vec<Reassigned> {
        self.assign_waiting().await.unwrap_or_else(|error| {
            tracing::warn!(%error, "automatic assignment failed; the sweep will try again");
            Vec::new()
        })
    }

    /// Tells everyone concerned about automatic assignments: each conversation's channel and
    /// inbox (except `told`'s, which its caller announces with its own change) and each new
    /// assignee's own channel.
    pub(crate) fn announce_automatic(&self, changes: &[Reassigned], told: Option<i64>) {
        for change in changes {
            if Some(change.conversation.id) != told {
                self.announce_change(&change.conversation);
            }
            self.tell_assignee(change, Reason::Automatic, None, None);
        }
        if !changes.is_empty() {
            self.wake_webhooks();
        }
    }

    /// The sweep: on every live widget with `unassign_after_mins`, takes back the conversations
    /// whose assignee has not replied in time (back to the queue, offered to someone else), then
    /// offers the queues.
    pub async fn sweep_assignments(&self) -> Result<(), ApiError> {
        let mut taken = 0;
        for (widget_id, settings) in self.assigning_widgets().await? {
            let Some(minutes) = settings.unassign_after_mins else {
                continue;
            };
            loop {
                let now = Utc::now();
                let cutoff = now - chrono::Duration::minutes(minutes);
                let done = self
                    .store
                    .unassign_unanswered(widget_id, cutoff, now, BATCH)
                    .await?;
                for change in &done {
                    self.announce_unanswered(change, minutes);
                }
                taken += done.len();
                if (done.len() as i64) < BATCH {
                    break;
                }
            }
        }
        if taken > 0 {
            self.wake_webhooks();
        }
        self.offer_queued().await?;
        Ok(())
    }

    /// Gives `conversation` to agent `to` at `by`'s request, with `note` (already checked)
    /// stored as a private note mentioning them; tells the conversation's channel, its inbox
    /// (the note too), `to` and whoever had it. A transfer may go past `to`'s capacity: a
    /// person decided. Then offers the queues (whoever had it has room now).
    pub async fn transfer(
        &self,
        by: &Agent,
        conversation: &Conversation,
        to: &Agent,
        note: Option<String>,
    ) -> Result<Transferred, ApiError> {
        let note = note.map(|body| NewNote {
            conversation_id: conversation.id,
            agent_id: by.id,
            body,
            mentions: if to.id == by.id { vec![] } else { vec![to.id] },
        });
        let transferred = match self
            .store
            .transfer(conversation.id, to.id, note, Utc::now())
            .await?
        {
            Ok(done) => done,
            Err(TransferRefused::NotFound) => return Err(ApiError::NotFound("conversation")),
            Err(TransferRefused::Closed) => {
                return Err(ApiError::Conflict(
                    "the conversation is closed; reopen it first".into(),
                ))
            }
            Err(TransferRefused::AlreadyTheirs) => {
                return Err(ApiError::Conflict(format!(
                    "the conversation is {}'s already",
                    to.name
                )))
            }
        };
        let note_json = transferred
            .note
            .as_ref()
            .map(|note| crate::api::note_json(note, Some(&by.name)));
        if let Some(json) = &note_json {
            self.broadcast(
                payload::inbox_channel(conversation.widget_id),
                payload::NOTE_EVENT,
                json,
                None,
            );
        }
        let change = Reassigned {
            conversation: transferred.conversation.clone(),
            previous_agent_id: transferred.previous_agent_id,
        };
        self.announce_change(&change.conversation);
        self.tell_assignee(&change, Reason::Transfer, Some(by), note_json.as_ref());
        if let Some(previous) = transferred.previous_agent_id.filter(|p| *p != by.id) {
            self.broadcast(
                payload::agent_channel(previous),
                payload::UNASSIGNED_EVENT,
                &json!({
                    "conversation_id": conversation.id,
                    "widget_id": conversation.widget_id,
                    "visitor_name": conversation.visitor_name,
                    "reason": "transfer",
                    "by": {"id": by.id, "name": by.name},
                    "to": {"id": to.id, "name": to.name},
                }),
                None,
            );
        }
        self.wake_webhooks();
        self.offer_queued_logged().await;
        Ok(transferred)
    }

    /// The live widgets and their assignment settings (a widget whose stored settings no longer
    /// read is skipped and logged: they were checked when saved).
    async fn assigning_widgets(&self) -> Result<Vec<(i64, AssignmentSettings)>, ApiError> {
        let widgets = self.store.widgets().await?;
        Ok(widgets
            .into_iter()
            .filter(|w| w.revoked_at.is_none())
            .filter_map(|w| match AssignmentSettings::from_settings(&w.settings) {
                Ok(settings) => Some((w.id, settings)),
                Err(error) => {
                    tracing::warn!(%error, widget_id = w.id, "automatic assignment skipped");
                    None
                }
            })
            .collect())
    }

    /// A conversation's new assignee, on the assignee's own channel.
    fn tell_assignee(
        &self,
        change: &Reassigned,
        reason: Reason,
        by: Option<&Agent>,
        note: Option<&Value>,
    ) {
        let conversation = &change.conversation;
        if let Some(agent_id) = conversation.assigned_agent_id {
            self.broadcast(
                payload::agent_channel(agent_id),
                payload::ASSIGNED_EVENT,
                &json!({
                    "conversation_id": conversation.id,
                    "widget_id": conversation.widget_id,
                    "visitor_name": conversation.visitor_name,
                    "reason": reason.as_str(),
                    "by": by.map(|a| json!({"id": a.id, "name": a.name})),
                    "note": note,
                    "conversation": AgentConversationJson::new(conversation, None),
                }),
                None,
            );
        }
    }

    /// A conversation taken back for want of a reply: to its channel, its inbox, and the agent
    /// who had it.
    fn announce_unanswered(&self, change: &Reassigned, minutes: i64) {
        let conversation = &change.conversation;
        self.announce_change(conversation);
        if let Some(previous) = change.previous_agent_id {
            self.broadcast(
                payload::agent_channel(previous),
                payload::UNASSIGNED_EVENT,
                &json!({
                    "conversation_id": conversation.id,
                    "widget_id": conversation.widget_id,
                    "visitor_name": conversation.visitor_name,
                    "reason": "no_reply",
                    "minutes": minutes,
                }),
                None,
            );
        }
    }

    /// What every change of status or assignee says: `ConversationUpdated` on the
    /// conversation's channel, `InboxUpdated` to its widget's agents.
    fn announce_change(&self, conversation: &Conversation) {
        self.broadcast(
            payload::conversation_channel(conversation.id),
            payload::CONVERSATION_EVENT,
            &json!({
                "id": conversation.id,
                "status": conversation.status.as_str(),
                "assigned_agent_id": conversation.assigned_agent_id,
            }),
            None,
        );
        self.tell_inbox(conversation, None, None);
    }
}

/// A transfer's answer: the conversation as agents see it and the note, if any.
pub fn transferred_json(transferred: &Transferred, by: &Agent) -> Value {
    json!({
        "success": true,
        "conversation": AgentConversationJson::new(&transferred.conversation, None),
        "note": transferred.note.as_ref().map(|n: &Note| crate::api::note_json(n, Some(&by.name))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(assignment: Value) -> Result<AssignmentSettings, String> {
        AssignmentSettings::from_settings(&json!({ "assignment": assignment })).map_err(|e| match e
        {
            ApiError::Validation(message) => message,
            other => panic!("{other:?}"),
        })
    }

    #[test]
    fn settings_default_to_off_with_five_each() {
        let none = AssignmentSettings::from_settings(&json!({})).unwrap();
        assert_eq!(none, AssignmentSettings::default());
        assert_eq!(none.mode, None);
        assert_eq!(none.capacity, 5);
        assert_eq!(read(json!({})).unwrap(), none);
        assert_eq!(read(Value::Null).unwrap(), none);
        let full = read(json!({"mode": "least_busy", "capacity": 3, "unassign_after_mins": 10}));
        assert_eq!(
            full.unwrap(),
            AssignmentSettings {
                mode: Some(AssignmentMode::LeastBusy),
                capacity: 3,
                unassign_after_mins: Some(10)
            }
        );
        let rr = read(json!({"mode": "round_robin", "unassign_after_mins": null})).unwrap();
        assert_eq!(rr.mode, Some(AssignmentMode::RoundRobin));
        assert_eq!(read(json!({"mode": "off"})).unwrap().mode, None);
    }

    #[test]
    fn wrong_settings_say_what_is_wrong() {
        for (bad, says) in [
            (
                json!("round_robin"),
                "settings.assignment must be an object",
            ),
            (
                json!({"mode": "random"}),
                "settings.assignment.mode must be",
            ),
            (json!({"mode": 1}), "settings.assignment.mode must be"),
            (
                json!({"capacity": 0}),
                "settings.assignment.capacity must be",
            ),
            (
                json!({"capacity": 101}),
                "settings.assignment.capacity must be",
            ),
            (
                json!({"capacity": 2.5}),
                "settings.assignment.capacity must be",
            ),
            (
                json!({"capacity": "5"}),
                "settings.assignment.capacity must be",
            ),
            (
                json!({"unassign_after_mins": 0}),
                "settings.assignment.unassign_after_mins must be null",
            ),
            (
                json!({"unassign_after_mins": 1441}),
                "settings.assignment.unassign_after_mins must be null",
            ),
            (
                json!({"modes": "off"}),
                "settings.assignment.modes is not a setting",
            ),
        ] {
            let message = read(bad.clone()).unwrap_err();
            assert!(message.starts_with(says), "{bad}: {message}");
        }
    }
}
