//! The JSON shapes the chat API returns and broadcasts. The message shape is the seed's
//! `broadcastWith` plus `conversation_id` and `client_id`, so Laravel Echo listeners written for
//! the seed keep working.

use hmac_link::attachment_signature;
use parley_store::{Agent, Conversation, Message, Reaction, ReadState, SenderType};
use serde::Serialize;

/// The event a new message is broadcast as (`.ChatMessageReceived` in Echo).
pub const MESSAGE_EVENT: &str = "ChatMessageReceived";
/// A read receipt.
pub const READ_EVENT: &str = "MessageRead";
/// A message's reactions changed.
pub const REACTIONS_EVENT: &str = "ReactionsUpdated";
/// The conversation's status or assignee changed (handoff, closed).
pub const CONVERSATION_EVENT: &str = "ConversationUpdated";

/// Whether any agent is online changed (`{agents_online: bool}` to visitors; the team's
/// availability on the agents' channel).
pub const AVAILABILITY_EVENT: &str = "AgentAvailability";
/// Something in the inbox changed: a message, or a conversation's status or assignee.
pub const INBOX_EVENT: &str = "InboxUpdated";
/// Which widgets someone answers may have changed (a widget made or revoked, an agent's list
/// changed): `{}` on the team's channel; dashboards read `GET /api/agent/me` again and follow the
/// inbox channels it lists.
pub const WIDGETS_CHANGED_EVENT: &str = "WidgetsChanged";
/// The visitor rated the conversation (`{conversation_id, score, comment}`).
pub const RATED_EVENT: &str = "ConversationRated";
/// A conversation was erased (an admin's erasure or the widget's retention):
/// `{conversation_id, widget_id}` on its channel and its widget's inbox channel. Dashboards
/// drop it; the widget forgets it and starts afresh.
pub const ERASED_EVENT: &str = "ConversationErased";
/// A conversation needs a human (the bot handed over).
pub const HANDOFF_EVENT: &str = "ConversationNeedsHuman";
/// An agent's private note on a conversation, to its widget's inbox channel (never to the
/// conversation's own channel, which the visitor hears).
pub const NOTE_EVENT: &str = "NoteAdded";
/// A note mentions this agent, on their own channel: `{conversation_id, note, by}`.
pub const MENTION_EVENT: &str = "AgentMentioned";
/// A conversation came to this agent, on their own channel: `{conversation_id, widget_id,
/// visitor_name, reason: automatic|transfer, by, note, conversation}`.
pub const ASSIGNED_EVENT: &str = "ConversationAssigned";
/// A conversation was taken from this agent, on their own channel: `{conversation_id,
/// widget_id, visitor_name, reason: no_reply|transfer, …}`.
pub const UNASSIGNED_EVENT: &str = "ConversationUnassigned";
/// A conversation's labels changed, to its widget's inbox: `{conversation_id, label_ids}`.
pub const LABELS_EVENT: &str = "LabelsUpdated";
/// The labels themselves changed (made, renamed, deleted), on the team channel.
pub const LABELS_CHANGED_EVENT: &str = "LabelsChanged";
/// The team's channel, which every agent's dashboard subscribes to: who is available. Nothing
/// about conversations goes here, since agents may be limited to some widgets.
pub const AGENTS_CHANNEL: &str = "private-agents";
/// What each widget's inbox channel is named after: its conversations' `InboxUpdated` and
/// `ConversationNeedsHuman`, for the agents who may see that widget.
pub const INBOX_CHANNEL_PREFIX: &str = "private-agents.";
/// What each agent's own channel is named after: what concerns that agent alone (mentions,
/// conversations given to them or taken from them). Revoking the agent closes its sockets.
pub const AGENT_CHANNEL_PREFIX: &str = "private-agent.";
/// What every conversation's channel name starts with.
pub const CONVERSATION_CHANNEL_PREFIX: &str = "private-chat.conversation.";

/// The private channel of one conversation (Echo: `Echo.private('chat.conversation.' + id)`).
pub fn conversation_channel(conversation_id: i64) -> String {
    format!("{CONVERSATION_CHANNEL_PREFIX}{conversation_id}")
}

/// The conversation a channel name belongs to, if it is a conversation's channel spelled the one
/// way Parley publishes to: `065` or `+65` would name another channel, which no event and no
/// revocation reaches, so such names are not a conversation's.
pub fn conversation_of_channel(channel: &str) -> Option<i64> {
    let id = channel
        .strip_prefix(CONVERSATION_CHANNEL_PREFIX)?
        .parse()
        .ok()
        .filter(|id: &i64| *id > 0)?;
    (conversation_channel(id) == channel).then_some(id)
}

/// One widget's inbox channel.
pub fn inbox_channel(widget_id: i64) -> String {
    format!("{INBOX_CHANNEL_PREFIX}{widget_id}")
}

/// The widget an inbox channel belongs to, if the name is spelled the one way Parley publishes.
pub fn widget_of_inbox_channel(channel: &str) -> Option<i64> {
    let id = channel
        .strip_prefix(INBOX_CHANNEL_PREFIX)?
        .parse()
        .ok()
        .filter(|id: &i64| *id > 0)?;
    (inbox_channel(id) == channel).then_some(id)
}

/// One agent's own channel.
pub fn agent_channel(agent_id: i64) -> String {
    format!("{AGENT_CHANNEL_PREFIX}{agent_id}")
}

/// Most bytes of event data Parley broadcasts by default: Pusher takes 10 KB and Reverb 10,000
/// bytes, so an event this size reaches browsers through every driver.
pub const MAX_EVENT_BYTES: usize = 10_000;

/// What a message keeps when its event is cut down: ids and short fixed values, never user text.
const MESSAGE_STUB_FIELDS: [&str; 5] = [
    "id",
    "conversation_id",
    "sender_type",
    "timestamp",
    "client_id",
];
/// What a conversation keeps when its event is cut down.
const CONVERSATION_STUB_FIELDS: [&str; 6] = [
    "id",
    "widget_id",
    "status",
    "assigned_agent_id",
    "created_at",
    "updated_at",
];

/// `data` as an event's JSON, if it is at most `max_bytes`; otherwise a small stand-in marked
/// `"truncated": true` that names what changed (a message's id, conversation and sender; a
/// conversation's id and status; the message of a reactions event; the number of agents
/// online), for clients to fetch the rest over HTTP. Text a visitor or an agent wrote can make
/// an event larger than any realtime server takes (a 5,000-character message of emoji is 20 KB),
/// and a refused event would reach nobody.
pub fn fitted(event: &str, data: &impl Serialize, max_bytes: usize) -> String {
    let whole = serde_json::to_string(data).expect("payloads serialise");
    if whole.len() <= max_bytes {
        return whole;
    }
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&whole) else {
        return whole;
    };
    let stub = stub(event, &value).to_string();
    tracing::info!(
        event,
        bytes = whole.len(),
        max_bytes,
        "event too large to broadcast whole: sent as truncated, clients fetch it"
    );
    stub
}

fn stub(event: &str, full: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let pick = |value: &Value, fields: &[&str]| -> Value {
        Value::Object(
            fields
                .iter()
                .filter_map(|field| Some((field.to_string(), value.get(*field)?.clone())))
                .collect(),
        )
    };
    let mut stub = match event {
        MESSAGE_EVENT => pick(full, &MESSAGE_STUB_FIELDS),
        INBOX_EVENT => serde_json::json!({
            "conversation": pick(&full["conversation"], &CONVERSATION_STUB_FIELDS),
            "message": match &full["message"] {
                message @ Value::Object(_) => stub(MESSAGE_EVENT, message),
                _ => Value::Null,
            },
        }),
        // Numbers and flags only (ids, counts, `agents_online`): lists and text are what grows.
        _ => Value::Object(
            full.as_object()
                .into_iter()
                .flatten()
                .filter(|(_, v)| v.is_number() || v.is_boolean() || v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
    };
    stub["truncated"] = true.into();
    stub
}

/// Where the idempotency key of a bot's unsure reply starts (the bot runner stores unsure
/// replies as `bot-unsure-{message_id}`, answers as `bot-{message_id}`).
const UNSURE_REPLY_PREFIX: &str = "bot-unsure-";

/// The key a bot's unsure reply to visitor message `message_id` is stored with: clients see it
/// as `offers_human`.
pub fn unsure_reply_key(message_id: i64) -> String {
    format!("{UNSURE_REPLY_PREFIX}{message_id}")
}

/// A message as clients see it.
#[derive(Debug, Serialize)]
pub struct MessageJson {
    id: i64,
    conversation_id: i64,
    sender_type: &'static str,
    sender_name: Option<String>,
    message: String,
    attachment_path: Option<String>,
    attachment_name: Option<String>,
    is_voice: bool,
    timestamp: String,
    client_id: Option<String>,
    /// A bot's unsure answer: the widget offers the visitor a person under it (only when true).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    offers_human: bool,
}

impl MessageJson {
    /// Builds the client view; attachment links are signed with `link_secret`.
    pub fn new(message: &Message, link_secret: &str) -> Self {
        Self {
            id: message.id,
            conversation_id: message.conversation_id,
            sender_type: message.sender_type.as_str(),
            sender_name: message.sender_name.clone(),
            message: message.message.clone(),
            attachment_path: message.attachment_id.map(|id| {
                format!(
                    "/api/chatbot/attachments/{id}?sig={}",
                    attachment_signature(link_secret, id)
                )
            }),
            attachment_name: message.attachment_name.clone(),
            is_voice: message.is_voice,
            timestamp: message
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            client_id: message.client_id.clone(),
            offers_human: message.sender_type == SenderType::Bot
                && message
                    .client_id
                    .as_deref()
                    .is_some_and(|key| key.starts_with(UNSURE_REPLY_PREFIX)),
        }
    }
}

/// A conversation as its visitor sees it (no token hash, no internal fields).
#[derive(Debug, Serialize)]
pub struct ConversationJson {
    id: i64,
    status: &'static str,
    assigned_agent_id: Option<i64>,
    visitor_name: Option<String>,
    visitor_email: Option<String>,
    /// Whether the site signed who the visitor is.
    verified: bool,
    /// Whether the visitor, who asked for a human while the team was away, waits for the
    /// reply by email.
    waiting_for_email: bool,
    created_at: String,
    updated_at: String,
}

impl From<&Conversation> for ConversationJson {
    fn from(c: &Conversation) -> Self {
        Self {
            id: c.id,
            status: c.status.as_str(),
            assigned_agent_id: c.assigned_agent_id,
            visitor_name: c.visitor_name.clone(),
            visitor_email: c.visitor_email.clone(),
            verified: c.user_id.is_some(),
            waiting_for_email: c.waiting_for_email_at.is_some(),
            created_at: c
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            updated_at: c
                .updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// A conversation as agents see it: everything but the visitor's token, with its last message.
#[derive(Debug, Serialize)]
pub struct AgentConversationJson {
    id: i64,
    widget_id: i64,
    status: &'static str,
    assigned_agent_id: Option<i64>,
    visitor_name: Option<String>,
    visitor_email: Option<String>,
    page_url: Option<String>,
    user_agent: Option<String>,
    /// The verified user's id, when the site signed who the visitor is.
    user_id: Option<String>,
    /// Whether the name and the email came from the site's signature (else the visitor typed
    /// them: claimed, not proven).
    name_verified: bool,
    email_verified: bool,
    /// The pre-chat form's other answers.
    attributes: serde_json::Value,
    consent_at: Option<String>,
    locale: Option<String>,
    /// Since when the visitor waits for the reply by email (they asked for a human while the
    /// team was away); the next agent reply is emailed at once.
    waiting_for_email_at: Option<String>,
    created_at: String,
    updated_at: String,
    last_message: Option<MessageJson>,
    /// In listings: the newest message that is not a system line, which the inbox row previews
    /// (after a handoff every conversation's newest message is the same notice).
    #[serde(skip_serializing_if = "Option::is_none")]
    preview_message: Option<Option<MessageJson>>,
    /// In a search's listing: the newest message holding the searched text (null when the
    /// visitor's details or a label matched instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    matched_message: Option<Option<MessageJson>>,
    /// The labels' ids, where the caller read them (listings and a conversation's page; events
    /// leave them out and `LabelsUpdated` carries changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<Vec<i64>>,
}

impl AgentConversationJson {
    /// The agents' view of `conversation`, whose latest message is `last_message`.
    pub fn new(conversation: &Conversation, last_message: Option<MessageJson>) -> Self {
        let time = |t: &chrono::DateTime<chrono::Utc>| {
            t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        };
        Self {
            id: conversation.id,
            widget_id: conversation.widget_id,
            status: conversation.status.as_str(),
            assigned_agent_id: conversation.assigned_agent_id,
            visitor_name: conversation.visitor_name.clone(),
            visitor_email: conversation.visitor_email.clone(),
            page_url: conversation.page_url.clone(),
            user_agent: conversation.user_agent.clone(),
            user_id: conversation.user_id.clone(),
            name_verified: conversation.name_verified,
            email_verified: conversation.email_verified,
            attributes: conversation.attributes.clone(),
            consent_at: conversation.consent_at.as_ref().map(time),
            locale: conversation.locale.clone(),
            waiting_for_email_at: conversation.waiting_for_email_at.as_ref().map(time),
            created_at: time(&conversation.created_at),
            updated_at: time(&conversation.updated_at),
            last_message,
            preview_message: None,
            matched_message: None,
            labels: None,
        }
    }

    /// The same, with what a listing's row previews, and with a search (`searching`) the
    /// message that matched.
    pub fn with_previews(
        mut self,
        preview: Option<MessageJson>,
        matched: Option<MessageJson>,
        searching: bool,
    ) -> Self {
        self.preview_message = Some(preview);
        self.matched_message = searching.then_some(matched);
        self
    }

    /// The same, with the conversation's labels.
    pub fn with_labels(mut self, labels: Vec<i64>) -> Self {
        self.labels = Some(labels);
        self
    }
}

/// An agent as the team sees them.
#[derive(Debug, Serialize)]
pub struct AgentJson {
    id: i64,
    name: String,
    email: String,
    /// `admin` or `agent`.
    role: &'static str,
    availability: parley_store::AgentAvailability,
    /// Available and heard from recently: what counts for "agents online".
    online: bool,
}

impl AgentJson {
    /// `agent`'s view, `online` as the presence rules decided it.
    pub fn new(agent: &Agent, online: bool) -> Self {
        Self {
            id: agent.id,
            name: agent.name.clone(),
            email: agent.email.clone(),
            role: agent.role.as_str(),
            availability: agent.availability,
            online,
        }
    }
}

/// A read receipt as broadcast.
pub fn read_json(state: &ReadState) -> serde_json::Value {
    serde_json::json!({
        "conversation_id": state.conversation_id,
        "reader": state.reader,
        "last_read_id": state.last_read_id,
    })
}

/// A message's reactions, grouped by emoji.
pub fn reactions_json(message_id: i64, reactions: &[Reaction]) -> serde_json::Value {
    let mut grouped: Vec<(String, Vec<String>)> = Vec::new();
    for reaction in reactions.iter().filter(|r| r.message_id == message_id) {
        match grouped
            .iter_mut()
            .find(|(emoji, _)| *emoji == reaction.emoji)
        {
            Some((_, reactors)) => reactors.push(reaction.reactor.clone()),
            None => grouped.push((reaction.emoji.clone(), vec![reaction.reactor.clone()])),
        }
    }
    let reactions: Vec<_> = grouped
        .into_iter()
        .map(|(emoji, reactors)| serde_json::json!({ "emoji": emoji, "count": reactors.len(), "reactors": reactors }))
        .collect();
    serde_json::json!({ "message_id": message_id, "reactions": reactions })
}

/// Signatures on attachment links, so `<img src>` works without headers yet links cannot be
/// guessed.
pub mod hmac_link {
    /// The signature for attachment `id`.
    pub fn attachment_signature(secret: &str, id: i64) -> String {
        parley_protocol::signature::hmac_hex(secret, format!("attachment:{id}").as_bytes())[..32]
            .to_string()
    }

    /// Whether `signature` is right for attachment `id` (constant-time compare).
    pub fn verify_attachment(secret: &str, id: i64, signature: &str) -> bool {
        let expected = attachment_signature(secret, id);
        expected.len() == signature.len()
            && expected
                .bytes()
                .zip(signature.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn only_the_canonical_spelling_names_a_conversation() {
        assert_eq!(
            conversation_of_channel("private-chat.conversation.65"),
            Some(65)
        );
        for alias in ["065", "+65", "65 ", " 65", "0", "-1", "6_5", ""] {
            let channel = format!("private-chat.conversation.{alias}");
            assert_eq!(conversation_of_channel(&channel), None, "{channel}");
        }
    }

    #[test]
    fn events_that_fit_are_sent_whole() {
        let data = json!({"message_id": 3, "reactions": []});
        assert_eq!(fitted(REACTIONS_EVENT, &data, 100), data.to_string());
    }

    #[test]
    fn oversized_events_shrink_to_ids_and_a_marker() {
        let message = json!({
            "id": 9, "conversation_id": 4, "sender_type": "visitor", "sender_name": "Vera",
            "message": "😀".repeat(2600), "attachment_path": null, "attachment_name": null,
            "is_voice": false, "timestamp": "2026-01-01T00:00:00Z", "client_id": "c1",
        });
        let small: Value =
            serde_json::from_str(&fitted(MESSAGE_EVENT, &message, MAX_EVENT_BYTES)).unwrap();
        assert_eq!(
            small,
            json!({"id": 9, "conversation_id": 4, "sender_type": "visitor",
                   "timestamp": "2026-01-01T00:00:00Z", "client_id": "c1", "truncated": true})
        );
        let inbox = json!({
            "conversation": {"id": 4, "widget_id": 1, "status": "bot", "assigned_agent_id": null,
                             "visitor_name": "Vera", "page_url": "\"".repeat(3000),
                             "created_at": "t0", "updated_at": "t1", "last_message": null},
            "message": message,
        });
        let small: Value =
            serde_json::from_str(&fitted(INBOX_EVENT, &inbox, MAX_EVENT_BYTES)).unwrap();
        assert_eq!(small["truncated"], true);
        assert_eq!(
            small["conversation"],
            json!({"id": 4, "widget_id": 1, "status": "bot", "assigned_agent_id": null,
                   "created_at": "t0", "updated_at": "t1"})
        );
        assert_eq!(small["message"]["id"], 9);
        assert_eq!(small["message"]["truncated"], true);
        assert!(small["message"].get("message").is_none());
        let team =
            json!({"agents_online": 2, "agents": vec![json!({"name": "x".repeat(200)}); 100]});
        let small: Value =
            serde_json::from_str(&fitted(AVAILABILITY_EVENT, &team, MAX_EVENT_BYTES)).unwrap();
        assert_eq!(small, json!({"agents_online": 2, "truncated": true}));
    }
}
