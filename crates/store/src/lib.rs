//! Parley's storage behind one small trait, with SQLite (the embedded default, WAL) and
//! PostgreSQL implementations that pass the same behaviour tests.
//!
//! Queries are built at run time (`sqlx::query`), not checked against a live database at compile
//! time, so building Parley needs no database.

mod assignment;
mod mail_jobs;
pub mod model;
mod postgres;
mod previews;
mod privacy;
mod reports;
mod sql;
mod sqlite;
mod text;
mod waiting;
mod webhooks;

pub use assignment::*;
use async_trait::async_trait;
pub use mail_jobs::*;
pub use model::*;
#[doc(hidden)]
pub use postgres::connect_postgres_in_schema;
pub use previews::*;
pub use privacy::*;
pub use reports::*;
pub use waiting::*;
pub use webhooks::*;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. an agent email already in use).
    #[error("already exists: {0}")]
    Conflict(String),
    /// A referenced record does not exist (e.g. a message for an unknown conversation).
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The PostgreSQL server could not be reached at start: where (host and port, never the
    /// password) and why.
    #[error("cannot connect to PostgreSQL at {address}: {reason}")]
    Unreachable {
        /// `host:port`, or the socket path.
        address: String,
        /// Why (refused, timed out, authentication…).
        reason: sqlx::Error,
    },
    /// The SQLite database file could not be opened or created: which file and why.
    #[error("cannot open the SQLite database at {path}: {reason}")]
    CannotOpen {
        /// The file.
        path: String,
        /// Why (no such directory, permission denied…).
        reason: sqlx::Error,
    },
    /// The change would leave no admin who can sign in (demoting or revoking the last one).
    #[error("Parley needs at least one admin who can sign in; make someone else an admin first")]
    LastAdmin,
    /// A stored value could not be decoded (a bug or a hand-edited database).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Text holds a NUL (U+0000), which PostgreSQL cannot store; refused on every database
    /// so that both answer alike.
    #[error("{field} contains a NUL character")]
    InvalidText {
        /// Which value, e.g. `message` or `visitor name`.
        field: &'static str,
    },
}

impl StoreError {
    /// Whether the same call may well succeed in a moment: the connection was lost or cut (a
    /// restarted or failing-over server, `pg_terminate_backend`), no connection was free in
    /// time, or the database was busy or chose this transaction to abort. Callers answer
    /// "try again" rather than "internal error"; nothing was written.
    pub fn is_transient(&self) -> bool {
        let StoreError::Database(error) = self else {
            return false;
        };
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(error) => error.code().is_some_and(|code| transient_code(&code)),
            _ => false,
        }
    }
}

/// PostgreSQL's codes (SQLSTATEs, always five characters) for a lost connection (class 08), an
/// administrator or crash shutdown (57P01-57P03), a serialisation failure or deadlock (40001,
/// 40P01); SQLite's (numbers, at most four digits) for busy and locked (5, 6, with or without
/// extended bits).
fn transient_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("08")
            || matches!(code, "57P01" | "57P02" | "57P03" | "40001" | "40P01");
    }
    code.parse::<i32>()
        .is_ok_and(|code| matches!(code & 0xFF, 5 | 6))
}

/// The result type of every store call.
pub type Result<T> = std::result::Result<T, StoreError>;

/// What to do once a message has committed ([`Store::insert_message_then`]): short and
/// without waiting (it runs on the store's writer), such as queueing its broadcast.
pub type AfterCommit = Box<dyn FnOnce(&Inserted) + Send + 'static>;

/// A bot turn waiting to run: the visitor message it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotJob {
    /// Job id.
    pub id: i64,
    /// The conversation.
    pub conversation_id: i64,
    /// The visitor message to answer.
    pub message_id: i64,
    /// How many times it has been claimed, this time included.
    pub attempts: i32,
}

/// The durable queue of bot turns. A job is created with its visitor message, in the same
/// transaction ([`NewMessage::bot_job`]), so a message is never stored without its turn.
#[async_trait]
pub trait BotJobs: Send + Sync {
    /// Claims the oldest due job: pending and due, or running with an expired lease (its
    /// worker died). The job is leased until `now + lease`. Concurrent workers never get the
    /// same job.
    async fn claim_bot_job(&self, lease: std::time::Duration) -> Result<Option<BotJob>>;
    /// Marks a job done with its outcome (`answer`, `unsure`, `handoff`, `deferred`, `skipped`).
    async fn finish_bot_job(&self, id: i64, outcome: &str) -> Result<()>;
    /// Puts a job back to run at `retry_at` after a failure.
    async fn retry_bot_job(
        &self,
        id: i64,
        retry_at: chrono::DateTime<chrono::Utc>,
        error: &str,
    ) -> Result<()>;
    /// The outcomes of a conversation's finished jobs, newest first.
    async fn bot_outcomes(&self, conversation_id: i64, limit: i64) -> Result<Vec<String>>;
}

/// The agents who answer from the dashboard, and whether they are available.
#[async_trait]
pub trait Agents: Send + Sync {
    /// Stores a new agent (offline, without a password); an email in use, in any case of its
    /// ASCII letters, is a [`StoreError::Conflict`].
    async fn create_agent(&self, agent: NewAgent) -> Result<Agent>;
    /// The agent with this token hash, unless revoked.
    async fn agent_by_token_hash(&self, token_hash: &str) -> Result<Option<Agent>>;
    /// An agent by id.
    async fn agent(&self, id: i64) -> Result<Option<Agent>>;
    /// Every agent, oldest first.
    async fn agents(&self) -> Result<Vec<Agent>>;
    /// Sets an agent's availability and marks them seen at `now`; `None` if there is no such
    /// agent. With a `sequence` (the dashboard's clock), an update older than the newest one
    /// already applied changes nothing and the agent is returned as stored.
    async fn set_agent_availability(
        &self,
        id: i64,
        availability: AgentAvailability,
        now: chrono::DateTime<chrono::Utc>,
        sequence: Option<i64>,
    ) -> Result<Option<Agent>>;
    /// Revokes an agent (sets them offline and revokes their sessions, in one transaction);
    /// `false` if there is no such agent or they were already revoked;
    /// [`StoreError::LastAdmin`] for the last admin who can sign in.
    async fn revoke_agent(&self, id: i64) -> Result<bool>;
    /// The widgets whose conversations an agent may see, by id; empty means every widget.
    async fn agent_widgets(&self, agent_id: i64) -> Result<Vec<i64>>;
    /// Replaces the widgets an agent may see (empty: every widget); `false` if there is no such
    /// live agent. An unknown widget id is a [`StoreError::NotFound`] and changes nothing.
    async fn set_agent_widgets(&self, agent_id: i64, widget_ids: &[i64]) -> Result<bool>;
    /// Marks an agent seen at `now` (a heartbeat); `None` if there is no such agent. The
    /// `sequence` rule is [`Agents::set_agent_availability`]'s.
    async fn touch_agent(
        &self,
        id: i64,
        now: chrono::DateTime<chrono::Utc>,
        sequence: Option<i64>,
    ) -> Result<Option<Agent>>;
}

/// Signing in: agents' emails, passwords and roles, their sessions, the single-use links that
/// set a password, and the audit log. Emails are matched with ASCII letters lowercased
/// ([`NewAgent::email`]); every token is stored as the SHA-256 (hex) its caller computed.
#[async_trait]
pub trait Accounts: Send + Sync {
    /// The agent with this email, whatever the case of its ASCII letters; revoked or not (a
    /// revoked agent must not sign in, and none of their sessions is ever found).
    async fn agent_by_email(&self, email: &str) -> Result<Option<Agent>>;
    /// Sets an agent's password hash; `false` if there is no such agent or they are revoked.
    /// Their sessions are left as they are ([`Accounts::revoke_sessions_of`] ends them).
    async fn set_password(&self, id: i64, password_hash: &str) -> Result<bool>;
    /// Changes an agent's role; `None` if there is no such agent or they are revoked;
    /// [`StoreError::LastAdmin`] for making the last admin who can sign in an agent.
    async fn set_role(&self, id: i64, role: Role) -> Result<Option<Agent>>;
    /// Renames an agent; `None` if there is no such agent or they are revoked.
    async fn set_agent_name(&self, id: i64, name: &str) -> Result<Option<Agent>>;
    /// Replaces a live agent's API token (its SHA-256); the old one stops working at once.
    /// `false` if there is no such live agent.
    async fn set_agent_token(&self, id: i64, token_hash: &str) -> Result<bool>;
    /// How many admins can sign in: not revoked, with a password (an invited admin who never
    /// chose one cannot administer anything).
    async fn count_admins(&self) -> Result<i64>;
    /// Whether any agent, not revoked, has a password: `false` means nobody can sign in yet (a
    /// new installation, which offers the first admin's setup).
    async fn any_password_set(&self) -> Result<bool>;

    /// Starts a session, created and last seen now; an unknown agent is
    /// [`StoreError::NotFound`], a token hash in use [`StoreError::Conflict`].
    async fn create_session(&self, session: NewSession) -> Result<Session>;
    /// The session with this token hash and its agent, if the session is not revoked, was
    /// last seen at or after `idle_since`, and its agent is not revoked.
    async fn session_by_token_hash(
        &self,
        token_hash: &str,
        idle_since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<(Session, Agent)>>;
    /// Marks a session seen at `now` (never earlier than it was); `false` if there is no such
    /// session or it is revoked.
    async fn touch_session(&self, id: i64, now: chrono::DateTime<chrono::Utc>) -> Result<bool>;
    /// An agent's sessions that are not revoked, newest first.
    async fn sessions_of(&self, agent_id: i64) -> Result<Vec<Session>>;
    /// Revokes a session, when `agent_id` is given only if it is that agent's; `false` if there
    /// is no such session (of that agent) or it was already revoked.
    async fn revoke_session(&self, id: i64, agent_id: Option<i64>) -> Result<bool>;
    /// Revokes every session of an agent; how many were live.
    async fn revoke_sessions_of(&self, agent_id: i64) -> Result<u64>;

    /// Makes a single-use link, created now; an unknown agent is [`StoreError::NotFound`], a
    /// token hash in use [`StoreError::Conflict`].
    async fn create_link(&self, link: NewAccountLink) -> Result<AccountLink>;
    /// Notes that an agent's rights shrank at `now` (see [`Accounts::access_changes_since`]).
    async fn note_access_change(
        &self,
        agent_id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<()>;
    /// The agents whose rights changed after `since`, with when (the latest change each).
    async fn access_changes_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(i64, chrono::DateTime<chrono::Utc>)>>;
    /// Spends every unused link of an agent at `now` (a link was used, or a new reset replaces
    /// the old ones), so a leaked older link no longer works. How many were spent.
    async fn spend_links_of(
        &self,
        agent_id: i64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64>;
    /// Uses a link: if one with this token hash and purpose is unused, expires after `now` and
    /// belongs to an agent who is not revoked, marks it used at `now` and returns it. In one
    /// statement, so of concurrent calls exactly one gets the link; later calls get `None`.
    async fn use_link(
        &self,
        token_hash: &str,
        purpose: LinkPurpose,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<AccountLink>>;

    /// Records an audit entry, at now; an unknown actor is [`StoreError::NotFound`].
    async fn record_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry>;
    /// Audit entries with `id < before_id` (all when `None`), newest first, at most `limit`.
    async fn audit_log(&self, before_id: Option<i64>, limit: i64) -> Result<Vec<AuditEntry>>;
}

/// Visitors' ratings of their conversations.
#[async_trait]
pub trait Ratings: Send + Sync {
    /// Records a conversation's rating (`score` 1-5, checked by the caller); a second rating of
    /// the same conversation is a [`StoreError::Conflict`], an unknown conversation
    /// [`StoreError::NotFound`].
    async fn rate(&self, conversation_id: i64, score: i64, comment: Option<&str>)
        -> Result<Rating>;
    /// A conversation's rating, if it has one.
    async fn rating(&self, conversation_id: i64) -> Result<Option<Rating>>;
}

/// The replies agents keep for reuse, shared by the team.
#[async_trait]
pub trait SavedReplies: Send + Sync {
    /// Every saved reply, by shortcut.
    async fn saved_replies(&self) -> Result<Vec<SavedReply>>;
    /// Stores a new one; a shortcut in use is a [`StoreError::Conflict`].
    async fn create_saved_reply(&self, reply: NewSavedReply) -> Result<SavedReply>;
    /// Replaces one's shortcut and text; `None` if there is no such reply.
    async fn update_saved_reply(&self, id: i64, reply: NewSavedReply)
        -> Result<Option<SavedReply>>;
    /// Deletes one; false if there was no such reply.
    async fn delete_saved_reply(&self, id: i64) -> Result<bool>;
}

/// Verified identity: widgets' identity secrets and verified users' conversations.
#[async_trait]
pub trait Identities: Send + Sync {
    /// Gives a live widget a new identity secret (tokens signed with the old one stop
    /// verifying at once); `false` if there is no such live widget.
    async fn set_identity_secret(&self, widget_id: i64, secret: &str) -> Result<bool>;
    /// The verified user's newest conversation on this widget that is not closed.
    async fn open_conversation_of_user(
        &self,
        widget_id: i64,
        user_id: &str,
    ) -> Result<Option<Conversation>>;
    /// The verified user's conversations on this widget, most recently updated first.
    async fn conversations_of_user(
        &self,
        widget_id: i64,
        user_id: &str,
        limit: i64,
    ) -> Result<Vec<Conversation>>;
    /// Attaches an anonymous conversation to a verified user, taking the token's name and
    /// email (marked verified) where it has them; `None` if the conversation does not exist or
    /// already belongs to a user.
    async fn attach_user(
        &self,
        conversation_id: i64,
        user: &VerifiedUser,
    ) -> Result<Option<Conversation>>;
}

/// Agents' private notes on conversations.
#[async_trait]
pub trait Notes: Send + Sync {
    /// Stores a note; `NotFound` if the conversation or the author does not exist.
    async fn add_note(&self, note: NewNote) -> Result<Note>;
    /// A conversation's notes, oldest first.
    async fn notes(&self, conversation_id: i64) -> Result<Vec<Note>>;
}

/// Labels and which conversations carry them.
#[async_trait]
pub trait Labels: Send + Sync {
    /// Every label, by name.
    async fn labels(&self) -> Result<Vec<Label>>;
    /// Makes a label; `Conflict` if one has the same name (ASCII letters in any case).
    async fn create_label(&self, name: &str, color: &str) -> Result<Label>;
    /// Renames or recolours a label; `None` if there is no such label, `Conflict` for a taken name.
    async fn update_label(&self, id: i64, name: &str, color: &str) -> Result<Option<Label>>;
    /// Deletes a label and takes it off every conversation, in one transaction; `false` if
    /// there was no such label.
    async fn delete_label(&self, id: i64) -> Result<bool>;
    /// Replaces a conversation's labels with `label_ids` in one transaction; `NotFound` (and
    /// nothing changed) for an unknown conversation or label.
    async fn set_conversation_labels(
        &self,
        conversation_id: i64,
        label_ids: &[i64],
    ) -> Result<Vec<i64>>;
    /// The labels of these conversations, as `(conversation_id, label_id)` pairs.
    async fn labels_of(&self, conversation_ids: &[i64]) -> Result<Vec<(i64, i64)>>;
}

/// Everything Parley persists. Implementations: [`connect`] picks one from the URL.
#[async_trait]
pub trait Store:
    BotJobs
    + Agents
    + Accounts
    + Assignments
    + SavedReplies
    + Ratings
    + Identities
    + Notes
    + Labels
    + Privacy
    + Reports
    + MailJobs
    + EmailWaits
    + Webhooks
    + InboxPreviews
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
    /// Creates the tables, or brings them up to date. Safe to run repeatedly and concurrently
    /// with other nodes.
    async fn migrate(&self) -> Result<()>;

    /// Stores a new widget.
    async fn create_widget(&self, widget: NewWidget) -> Result<Widget>;
    /// The widget with this token hash, unless revoked.
    async fn widget_by_token_hash(&self, token_hash: &str) -> Result<Option<Widget>>;
    /// The widget with this token hash, unless revoked, with its conversation `conversation_id`
    /// (`None` when the widget has no such conversation), read in one round trip.
    async fn widget_and_conversation(
        &self,
        token_hash: &str,
        conversation_id: i64,
    ) -> Result<Option<(Widget, Option<Conversation>)>>;
    /// A widget by id, revoked or not.
    async fn widget(&self, id: i64) -> Result<Option<Widget>>;
    /// Every widget, oldest first.
    async fn widgets(&self) -> Result<Vec<Widget>>;
    /// Replaces a widget's settings (colours, greeting, bot…); `false` if there is no such widget.
    async fn update_widget_settings(&self, id: i64, settings: serde_json::Value) -> Result<bool>;
    /// Renames a live widget and replaces its allowed origins; `None` if there is no such live
    /// widget.
    async fn update_widget(
        &self,
        id: i64,
        name: &str,
        allowed_origins: &[String],
    ) -> Result<Option<Widget>>;
    /// Gives a live widget a new token (the old one stops working at once); `false` if there is
    /// no such live widget.
    async fn set_widget_token(&self, id: i64, token_hash: &str) -> Result<bool>;
    /// Revokes a widget; `false` if there is no such widget or it was already revoked.
    async fn revoke_widget(&self, id: i64) -> Result<bool>;

    /// Starts a conversation (status `bot`).
    async fn create_conversation(&self, conversation: NewConversation) -> Result<Conversation>;
    /// A conversation by id.
    async fn conversation(&self, id: i64) -> Result<Option<Conversation>>;
    /// The conversations `query` asks for, most recently updated first.
    async fn conversations(&self, query: &ConversationQuery) -> Result<Vec<Conversation>>;
    /// Changes status and assignee; returns the updated conversation.
    async fn update_conversation(
        &self,
        id: i64,
        status: ConversationStatus,
        assigned_agent_id: Option<i64>,
    ) -> Result<Option<Conversation>>;

    /// Stores a message in one transaction (and bumps the conversation's `updated_at`). A
    /// repeated `client_id` in the same conversation stores nothing and returns the original,
    /// also under concurrent inserts.
    async fn insert_message(&self, message: NewMessage) -> Result<Inserted>;
    /// [`Store::insert_message`], then `after_commit` with what it stored (not when it fails),
    /// once the message has committed. With group commit on (the default), it runs before any
    /// message committed later through this store has its own, so announcements made from it
    /// leave in id order within each conversation.
    async fn insert_message_then(
        &self,
        message: NewMessage,
        after_commit: AfterCommit,
    ) -> Result<Inserted>;
    /// Messages of a conversation with `id > after`, oldest first, at most `limit`.
    async fn messages_after(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Message>>;
    /// In one statement, what a client polling a conversation reads: [`Store::messages_after`],
    /// [`Store::reactions`], [`Store::read_states`] and [`Ratings::rating`]. Each statement is a
    /// round trip (to SQLite's connection thread, to the PostgreSQL server), and a widget that
    /// polls asks for all four every few seconds.
    async fn conversation_page(
        &self,
        conversation_id: i64,
        after: i64,
        limit: i64,
    ) -> Result<ConversationPage>;
    /// The newest `limit` messages of a conversation with `id <= up_to` (all when `None`),
    /// oldest first: a bot turn's history, an inbox preview.
    async fn latest_messages(
        &self,
        conversation_id: i64,
        up_to: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Message>>;
    /// The last message of each of these conversations (those with any), in no set order.
    async fn last_messages(&self, conversation_ids: &[i64]) -> Result<Vec<Message>>;

    /// An attachment by id.
    async fn attachment(&self, id: i64) -> Result<Option<Attachment>>;

    /// Moves a reader's mark forward (never back); returns the resulting state.
    async fn mark_read(
        &self,
        conversation_id: i64,
        reader: &str,
        last_read_id: i64,
    ) -> Result<ReadState>;
    /// Every reader's mark in a conversation.
    async fn read_states(&self, conversation_id: i64) -> Result<Vec<ReadState>>;

    /// Adds (`on`) or removes a reaction; returns the message's reactions afterwards.
    async fn set_reaction(
        &self,
        message_id: i64,
        reactor: &str,
        emoji: &str,
        on: bool,
    ) -> Result<Vec<Reaction>>;
    /// Reactions on the messages of a conversation.
    async fn reactions(&self, conversation_id: i64) -> Result<Vec<Reaction>>;
}

/// Opens the store a URL names: `sqlite://path?mode=rwc` (or `sqlite:path`) or
/// `postgres://…`. Does not migrate.
pub async fn connect(url: &str) -> Result<std::sync::Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::SqliteStore::connect(url).await?,
        ))
    } else {
        Err(StoreError::Database(sqlx::Error::Configuration(
            format!("unsupported database URL {url:?}: use sqlite:… or postgres://…").into(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_and_busy_databases_are_transient() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        for error in [
            sqlx::Error::Io(io),
            sqlx::Error::PoolTimedOut,
            sqlx::Error::PoolClosed,
        ] {
            assert!(StoreError::Database(error).is_transient());
        }
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        assert!(!StoreError::Conflict("x".into()).is_transient());
        assert!(!StoreError::InvalidText { field: "message" }.is_transient());
    }

    #[test]
    fn transient_database_codes() {
        for code in ["08006", "08003", "57P01", "40001", "40P01", "5", "517", "6"] {
            assert!(transient_code(code), "{code}");
        }
        // 22021 and 22022 end in 5 and 6 as numbers; they are PostgreSQL's, not SQLite's busy.
        for code in ["23505", "22P02", "42P01", "22021", "22022", "19", "2067"] {
            assert!(!transient_code(code), "{code}");
        }
    }
}
