//! The records Parley keeps, as the rest of the program sees them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A widget: one embeddable chat for one site, identified by its `cbw_` token (stored hashed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Widget {
    /// Database id.
    pub id: i64,
    /// Shown in the widget header and the dashboard.
    pub name: String,
    /// SHA-256 (hex) of the widget token; the token itself is shown once and never stored.
    #[serde(skip)]
    pub token_hash: String,
    /// Origins allowed to use the widget (exact `scheme://host[:port]`); empty allows any.
    pub allowed_origins: Vec<String>,
    /// Free-form settings: colours, greeting, position, features, bot choice.
    pub settings: serde_json::Value,
    /// The secret that signs the site's user tokens; stored because verifying needs it.
    #[serde(skip)]
    pub identity_secret: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked widget's token no longer works.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What is needed to create a widget.
#[derive(Debug, Clone)]
pub struct NewWidget {
    /// Display name.
    pub name: String,
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// Allowed origins.
    pub allowed_origins: Vec<String>,
    /// Settings.
    pub settings: serde_json::Value,
    /// The secret that signs the site's user tokens, if it has one yet.
    pub identity_secret: Option<String>,
}

/// Who is answering a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// The bot answers.
    Bot,
    /// Waiting for, or handled by, a human agent.
    Human,
    /// Finished.
    Closed,
}

impl ConversationStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bot => "bot",
            Self::Human => "human",
            Self::Closed => "closed",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "bot" => Some(Self::Bot),
            "human" => Some(Self::Human),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// A conversation between one visitor and the bot or agents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Conversation {
    /// Database id.
    pub id: i64,
    /// The widget it started on.
    pub widget_id: i64,
    /// As the visitor gave it.
    pub visitor_name: Option<String>,
    /// As the visitor gave it.
    pub visitor_email: Option<String>,
    /// SHA-256 (hex) of the visitor token that proves a caller is this conversation's visitor.
    #[serde(skip)]
    pub visitor_token_hash: String,
    /// Bot, human or closed.
    pub status: ConversationStatus,
    /// The agent handling it, once one has taken it.
    pub assigned_agent_id: Option<i64>,
    /// The page the conversation started on.
    pub page_url: Option<String>,
    /// The visitor's browser.
    pub user_agent: Option<String>,
    /// The verified user's id (a user token's `sub`); `None` for an anonymous visitor.
    pub user_id: Option<String>,
    /// Whether the name came from a signed user token rather than from the visitor.
    pub name_verified: bool,
    /// Whether the email came from a signed user token rather than from the visitor.
    pub email_verified: bool,
    /// The pre-chat form's other answers, a JSON object.
    pub attributes: serde_json::Value,
    /// When the visitor ticked the pre-chat form's consent box.
    pub consent_at: Option<DateTime<Utc>>,
    /// The language the widget spoke (`en`, `es`, …).
    pub locale: Option<String>,
    /// Since when the visitor, who asked for a human while the team was away, waits for the
    /// reply by email (see [`crate::EmailWaits`]); `None` once an agent replied.
    pub waiting_for_email_at: Option<DateTime<Utc>>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed (a message, a status change).
    pub updated_at: DateTime<Utc>,
}

/// What is needed to start a conversation.
#[derive(Debug, Clone, Default)]
pub struct NewConversation {
    /// The widget.
    pub widget_id: i64,
    /// Optional visitor name.
    pub visitor_name: Option<String>,
    /// Optional visitor email.
    pub visitor_email: Option<String>,
    /// SHA-256 (hex) of the visitor token.
    pub visitor_token_hash: String,
    /// Page URL.
    pub page_url: Option<String>,
    /// User agent.
    pub user_agent: Option<String>,
    /// The verified user's id, when a user token was checked.
    pub user_id: Option<String>,
    /// The name came from a signed token.
    pub name_verified: bool,
    /// The email came from a signed token.
    pub email_verified: bool,
    /// The pre-chat form's other answers (a JSON object; `Null` stores `{}`).
    pub attributes: serde_json::Value,
    /// When consent was given.
    pub consent_at: Option<DateTime<Utc>>,
    /// The widget's language.
    pub locale: Option<String>,
}

/// Who a signed user token says the visitor is, for attaching an anonymous conversation.
#[derive(Debug, Clone, Default)]
pub struct VerifiedUser {
    /// The user's id (the token's `sub`).
    pub id: String,
    /// The signed name, if the token carried one.
    pub name: Option<String>,
    /// The signed email, if the token carried one.
    pub email: Option<String>,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SenderType {
    /// The site's visitor.
    Visitor,
    /// The bot.
    Bot,
    /// A human agent.
    Agent,
    /// Parley itself (handoff notices and the like).
    System,
}

impl SenderType {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Bot => "bot",
            Self::Agent => "agent",
            Self::System => "system",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "visitor" => Some(Self::Visitor),
            "bot" => Some(Self::Bot),
            "agent" => Some(Self::Agent),
            "system" => Some(Self::System),
            _ => None,
        }
    }
}

/// One message. Ids increase within the whole store, so `id > after` is the polling cursor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Message {
    /// Database id, increasing.
    pub id: i64,
    /// Its conversation.
    pub conversation_id: i64,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Display name of the writer.
    pub sender_name: Option<String>,
    /// The text (may be empty when there is an attachment).
    pub message: String,
    /// The attachment, if any.
    pub attachment_id: Option<i64>,
    /// The attachment's original file name, if any.
    pub attachment_name: Option<String>,
    /// Whether the attachment is a voice note.
    pub is_voice: bool,
    /// The sender's idempotency key, unique per conversation.
    pub client_id: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// What is needed to store a message.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Its conversation.
    pub conversation_id: i64,
    /// Who wrote it.
    pub sender_type: SenderType,
    /// Display name.
    pub sender_name: Option<String>,
    /// The text.
    pub message: String,
    /// A file already on disk, recorded in the same transaction as the message: a message that
    /// turns out to be a duplicate records no attachment either.
    pub attachment: Option<NewAttachment>,
    /// Voice note?
    pub is_voice: bool,
    /// Idempotency key; a second insert with the same key returns the first message.
    pub client_id: Option<String>,
    /// Queue a bot turn for this message in the same transaction (visitor messages while the
    /// bot answers).
    pub bot_job: bool,
}

/// The result of inserting a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// A new message was stored.
    Created(Message),
    /// A message with the same `client_id` already existed in the conversation; nothing was
    /// stored and this is the original.
    Duplicate(Message),
}

impl Inserted {
    /// The message, new or original.
    pub fn message(&self) -> &Message {
        match self {
            Self::Created(message) | Self::Duplicate(message) => message,
        }
    }
}

/// A stored file: an upload or a voice note.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attachment {
    /// Database id.
    pub id: i64,
    /// The conversation it belongs to.
    pub conversation_id: i64,
    /// The generated file name on disk (never the uploader's name).
    #[serde(skip)]
    pub storage_name: String,
    /// The uploader's file name, for display and `Content-Disposition`.
    pub original_name: String,
    /// Sniffed from the bytes, not taken from the upload.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

/// What is needed to record an attachment (the file is already on disk); it belongs to the
/// message it is inserted with, and to that message's conversation.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    /// Generated file name.
    pub storage_name: String,
    /// Uploader's file name.
    pub original_name: String,
    /// Sniffed type.
    pub content_type: String,
    /// Size.
    pub size_bytes: i64,
}

/// Who has read up to where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadState {
    /// The conversation.
    pub conversation_id: i64,
    /// `visitor` or `agent:{id}`.
    pub reader: String,
    /// The highest message id read. Never decreases.
    pub last_read_id: i64,
}

/// One emoji on one message by one reactor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reaction {
    /// The message.
    pub message_id: i64,
    /// `visitor` or `agent:{id}`.
    pub reactor: String,
    /// The emoji.
    pub emoji: String,
}

/// A human agent who answers from the dashboard.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    /// Database id.
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Login email, unique whatever its case: stored with ASCII letters lowercased (see
    /// [`NewAgent::email`]).
    pub email: String,
    /// SHA-256 (hex) of the agent's API token.
    #[serde(skip)]
    pub token_hash: String,
    /// What the agent may do.
    pub role: Role,
    /// The password's hash, in the format its caller chose; `None` until a password is set.
    #[serde(skip)]
    pub password_hash: Option<String>,
    /// What the agent last said about themselves.
    pub availability: AgentAvailability,
    /// When their dashboard was last heard from (a heartbeat or a change of availability).
    pub last_seen_at: Option<DateTime<Utc>>,
    /// When created.
    pub created_at: DateTime<Utc>,
    /// When revoked; a revoked agent's token no longer works.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Agent {
    /// Whether the agent counts as online at `now`: available, and heard from within `window`
    /// (so a dashboard closed without saying goodbye drops out on its own).
    pub fn is_online(&self, now: DateTime<Utc>, window: chrono::Duration) -> bool {
        self.revoked_at.is_none()
            && self.availability == AgentAvailability::Online
            && self.last_seen_at.is_some_and(|seen| now - seen <= window)
    }
}

/// What an agent may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages the team, widgets and settings, and answers conversations.
    Admin,
    /// Answers conversations.
    Agent,
}

impl Role {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Agent => "agent",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "agent" => Some(Self::Agent),
            _ => None,
        }
    }
}

/// Whether an agent takes conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentAvailability {
    /// Takes conversations.
    Online,
    /// At the desk but not taking new conversations.
    Away,
    /// Signed out.
    Offline,
}

impl AgentAvailability {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "online" => Some(Self::Online),
            "away" => Some(Self::Away),
            "offline" => Some(Self::Offline),
            _ => None,
        }
    }
}

/// Which conversations an inbox listing wants. Every filter left `None` matches everything.
#[derive(Debug, Clone, Default)]
pub struct ConversationQuery {
    /// Only this widget's.
    pub widget_id: Option<i64>,
    /// Only those with this status.
    pub status: Option<ConversationStatus>,
    /// Only those assigned to this agent, or to nobody.
    pub assignee: Option<Assignee>,
    /// Only those last updated before this instant (the next page of a listing).
    pub updated_before: Option<DateTime<Utc>>,
    /// Only those whose visitor name or email, pre-chat answer, label, or any message, contains
    /// this text (case is ignored; on SQLite only for ASCII letters). Empty matches everything.
    pub text: Option<String>,
    /// Only those of widgets this agent may see (see [`crate::Agents::agent_widgets`]).
    pub visible_to: Option<i64>,
    /// Only open ones whose visitor waits for the reply by email.
    pub waiting_for_email: bool,
    /// Only those carrying this label.
    pub label_id: Option<i64>,
    /// At most this many; 0 or less gives none.
    pub limit: i64,
}

impl ConversationQuery {
    /// Everything, at most `limit`.
    pub fn latest(limit: i64) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }
}

/// An assignee filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignee {
    /// Assigned to this agent.
    Agent(i64),
    /// Assigned to nobody.
    Nobody,
}

/// A reply agents keep for reuse, inserted by its shortcut.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedReply {
    /// Id.
    pub id: i64,
    /// What the agent types after `/` (lowercase letters, digits, `-` and `_`; unique).
    pub shortcut: String,
    /// The text inserted.
    pub text: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A saved reply's content, to create or replace one.
#[derive(Debug, Clone)]
pub struct NewSavedReply {
    /// Its shortcut.
    pub shortcut: String,
    /// Its text.
    pub text: String,
}

/// What is needed to create an agent (without a password: see [`crate::Accounts::set_password`]).
#[derive(Debug, Clone)]
pub struct NewAgent {
    /// Display name.
    pub name: String,
    /// Login email. Stored with its ASCII letters lowercased, so `Ada@Example.com` and
    /// `ada@example.com` are one account; other characters are kept as given.
    pub email: String,
    /// SHA-256 (hex) of the token.
    pub token_hash: String,
    /// What the agent may do.
    pub role: Role,
}

/// A signed-in browser: the cookie's hash, the CSRF token that goes with it, and when it was
/// last used (a session idle for too long no longer counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Session {
    /// Id.
    pub id: i64,
    /// Whose session it is.
    pub agent_id: i64,
    /// SHA-256 (hex) of the cookie value; the value itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    /// What the browser sends back with each change (the double-submit token).
    #[serde(skip)]
    pub csrf_token: String,
    /// The address it signed in from.
    pub ip: Option<String>,
    /// The browser it signed in with.
    pub user_agent: Option<String>,
    /// When it signed in.
    pub created_at: DateTime<Utc>,
    /// When it was last used.
    pub last_seen_at: DateTime<Utc>,
    /// When it was signed out or revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// What is needed to start a session; it starts, and is last seen, now.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Whose.
    pub agent_id: i64,
    /// SHA-256 (hex) of the cookie value, computed by the caller.
    pub token_hash: String,
    /// The CSRF token.
    pub csrf_token: String,
    /// The address.
    pub ip: Option<String>,
    /// The browser.
    pub user_agent: Option<String>,
}

/// What a single-use link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkPurpose {
    /// The first admin's: choose a password on a new installation.
    Setup,
    /// A new agent's: join the team and choose a password.
    Invite,
    /// A forgotten password's: choose a new one.
    Reset,
}

impl LinkPurpose {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Invite => "invite",
            Self::Reset => "reset",
        }
    }

    /// Parses the stored text.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "setup" => Some(Self::Setup),
            "invite" => Some(Self::Invite),
            "reset" => Some(Self::Reset),
            _ => None,
        }
    }
}

/// A single-use link that lets one agent set a password, until it is used or expires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountLink {
    /// Id.
    pub id: i64,
    /// The agent it is for.
    pub agent_id: i64,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// SHA-256 (hex) of the link's token; the token itself is never stored.
    #[serde(skip)]
    pub token_hash: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// From when it no longer works.
    pub expires_at: DateTime<Utc>,
    /// When it was used; a used link never works again.
    pub used_at: Option<DateTime<Utc>>,
}

/// What is needed to make a link; it is made now.
#[derive(Debug, Clone)]
pub struct NewAccountLink {
    /// The agent it is for.
    pub agent_id: i64,
    /// What it is for.
    pub purpose: LinkPurpose,
    /// SHA-256 (hex) of the token, computed by the caller.
    pub token_hash: String,
    /// From when it no longer works.
    pub expires_at: DateTime<Utc>,
}

/// One thing done to accounts or settings, by whom, from where.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Id, increasing: the paging cursor.
    pub id: i64,
    /// The agent who acted; `None` for the CLI or Parley itself.
    pub actor_id: Option<i64>,
    /// What was done, e.g. `agent.invite`, `session.sign_in`.
    pub action: String,
    /// What it was done to, e.g. `agent:7`.
    pub target: Option<String>,
    /// The address it came from.
    pub ip: Option<String>,
    /// Anything else worth keeping (stored as JSON text).
    pub detail: Option<serde_json::Value>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What is needed to record an audit entry; it is recorded now.
#[derive(Debug, Clone, Default)]
pub struct NewAuditEntry {
    /// The agent who acted; `None` for the CLI or Parley itself.
    pub actor_id: Option<i64>,
    /// What was done.
    pub action: String,
    /// What it was done to.
    pub target: Option<String>,
    /// The address it came from.
    pub ip: Option<String>,
    /// Anything else worth keeping.
    pub detail: Option<serde_json::Value>,
}

/// What a client reading a conversation gets ([`crate::Store::conversation_page`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConversationPage {
    /// Messages with `id > after`, oldest first, at most the limit asked for.
    pub messages: Vec<Message>,
    /// Every reaction on the conversation's messages, by message, emoji, reactor.
    pub reactions: Vec<Reaction>,
    /// Every reader's mark, by reader.
    pub read_states: Vec<ReadState>,
    /// The visitor's rating, if given.
    pub rating: Option<Rating>,
}

/// A visitor's rating of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rating {
    /// The conversation rated.
    pub conversation_id: i64,
    /// 1 (bad) to 5 (excellent).
    pub score: i64,
    /// What the visitor added, if anything.
    pub comment: Option<String>,
    /// When it was given.
    pub created_at: DateTime<Utc>,
}

/// An agent's private note on a conversation: agents see it, the visitor never does.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Note {
    /// Id.
    pub id: i64,
    /// The conversation it is about.
    pub conversation_id: i64,
    /// Who wrote it.
    pub agent_id: i64,
    /// The text.
    pub body: String,
    /// The agents it mentions.
    pub mentions: Vec<i64>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// What is needed to write a note.
#[derive(Debug, Clone)]
pub struct NewNote {
    /// The conversation.
    pub conversation_id: i64,
    /// The author.
    pub agent_id: i64,
    /// The text.
    pub body: String,
    /// The agents mentioned.
    pub mentions: Vec<i64>,
}

/// A label admins define and agents put on conversations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Label {
    /// Id.
    pub id: i64,
    /// As the admin wrote it.
    pub name: String,
    /// A CSS hex colour, `#rrggbb`.
    pub color: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}
