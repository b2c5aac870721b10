//! Posting a message: the one way a visitor's, an agent's or a bot's message enters a
//! conversation. It checks that the conversation takes messages from this author, stores the
//! file with the message, decides whether the bot gets a turn, and announces the message.
//!
//! Handlers only authenticate, rate-limit, call [`ChatService::admit`] (so a closed
//! conversation is refused before a large body is read), read the body into an [`Incoming`],
//! and call [`ChatService::post`].

use parley_store::{
    Agent, Conversation, ConversationStatus, Inserted, NewAttachment, NewMessage, SenderType,
    Widget,
};

use super::ChatService;
use crate::{
    error::ApiError,
    payload::{self, MessageJson},
    text, uploads,
};

/// Who is posting.
#[derive(Debug, Clone, Copy)]
pub enum Author<'a> {
    /// The conversation's visitor, through the widget.
    Visitor,
    /// An agent, through the dashboard. A conversation nobody attends becomes theirs.
    Agent(&'a Agent),
    /// The widget's external bot, through the bot reply API.
    ExternalBot(&'a Widget),
    /// The bot runner answering a turn. Its text is a model's and is cleaned, not refused.
    Bot(&'a Widget),
    /// Parley itself (the handoff notice), on the bot runner's behalf.
    System,
}

/// A message as it arrived, before it is checked.
#[derive(Debug, Default)]
pub struct Incoming {
    /// The text (may be empty when there is a file).
    pub text: String,
    /// The sender's idempotency key: a repeat returns the first message.
    pub client_id: Option<String>,
    /// A file sent with it.
    pub upload: Option<Upload>,
    /// The sender's socket, left out of the broadcast (`X-Socket-ID`).
    pub socket: Option<String>,
}

/// A file sent with a message, not yet stored.
#[derive(Debug)]
pub struct Upload {
    /// The bytes as sent.
    pub bytes: bytes::Bytes,
    /// The uploader's file name, already made safe ([`uploads::clean_file_name`]).
    pub file_name: String,
    /// Sent as a voice note (only audio is then accepted).
    pub is_voice: bool,
}

/// A posted message as clients see it.
#[derive(Debug)]
pub struct Posted {
    /// The message: the new one, or the original when `client_id` repeated one.
    pub message: MessageJson,
    /// Whether this call stored it (`false`: a repeat, nothing stored or broadcast).
    pub created: bool,
}

/// A bot's display name: the widget's `bot_name`, else what visitors call the widget
/// ([`crate::widgets::display_name`]: its `display_name`, else the site's name), else "Assistant".
pub fn bot_name(widget: &Widget, app_name: Option<&str>) -> String {
    widget
        .settings
        .get("bot_name")
        .and_then(|v| v.as_str())
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .or_else(|| crate::widgets::display_name(&widget.settings, app_name))
        .unwrap_or_else(|| "Assistant".to_string())
}

impl ChatService {
    /// Whether `conversation` takes a message from `author` now. Checked again by [`Self::post`];
    /// handlers ask first so that a refused message's body is never read.
    pub fn admit(&self, conversation: &Conversation, author: Author<'_>) -> Result<(), ApiError> {
        let status = conversation.status;
        match author {
            Author::Visitor if status == ConversationStatus::Closed => {
                Err(ApiError::Conflict("the conversation is closed".into()))
            }
            Author::Agent(_) if status == ConversationStatus::Closed => Err(ApiError::Conflict(
                "the conversation is closed; reopen it first".into(),
            )),
            // Once a human has it, the external bot stays quiet, as the built-in one does.
            Author::ExternalBot(_) if status != ConversationStatus::Bot => Err(ApiError::Conflict(
                format!("the conversation is {}", status.as_str()),
            )),
            _ => Ok(()),
        }
    }

    /// Posts `incoming` to `conversation` as `author`: checks it, stores it with its file (and,
    /// for a visitor's message while the bot answers, the bot's turn) in one transaction, and
    /// broadcasts it to the conversation's channel and the agents' inbox. A repeated
    /// `client_id` returns the original and stores and broadcasts nothing.
    pub async fn post(
        &self,
        conversation: &Conversation,
        author: Author<'_>,
        incoming: Incoming,
    ) -> Result<Posted, ApiError> {
        self.admit(conversation, author)?;
        let Incoming {
            text,
            client_id,
            upload,
            socket,
        } = incoming;
        let text = match author {
            Author::Bot(_) | Author::System => text::without_refused(&text).into_owned(),
            Author::Visitor | Author::Agent(_) | Author::ExternalBot(_) => {
                self.checked_text(&text, upload.is_some(), client_id.as_deref())?
            }
        };

        // The file is checked and written before anything changes, so a refused file leaves
        // the conversation as it was.
        let (file, attachment, is_voice) = match upload {
            Some(upload) => {
                let (file, attachment) = self.store_file(&upload).await?;
                (Some(file), Some(attachment), upload.is_voice)
            }
            None => (None, None, false),
        };
        let mut conversation = conversation.clone();
        if let Author::Agent(agent) = author {
            let unattended = conversation.status == ConversationStatus::Bot
                || conversation.assigned_agent_id.is_none();
            if unattended {
                conversation = self
                    .set_status(conversation.id, ConversationStatus::Human, Some(agent.id))
                    .await?;
            }
        }

        let (sender_type, sender_name, client_id) = match author {
            Author::Visitor => (
                SenderType::Visitor,
                conversation.visitor_name.clone(),
                client_id,
            ),
            // Scoped per agent, so two agents' dashboards never collide on an id.
            Author::Agent(agent) => (
                SenderType::Agent,
                Some(agent.name.clone()),
                client_id.map(|c| format!("agent-{}-{c}", agent.id)),
            ),
            Author::ExternalBot(widget) => (
                SenderType::Bot,
                Some(bot_name(widget, self.config.app_name.as_deref())),
                client_id.map(|c| format!("ext-{c}")),
            ),
            Author::Bot(widget) => (
                SenderType::Bot,
                Some(bot_name(widget, self.config.app_name.as_deref())),
                client_id,
            ),
            Author::System => (SenderType::System, None, client_id),
        };
        // While the bot answers, each visitor message gets one bot turn, queued with it.
        let bot_turn =
            matches!(author, Author::Visitor) && conversation.status == ConversationStatus::Bot;
        // What must follow the commit runs on the store's writer right after it, in the order
        // of the messages' ids (group commit answers a batch's callers together, and their
        // tasks could otherwise announce out of order): the file kept, the bot and the webhooks
        // woken, the broadcast queued. A repeat or a failure keeps no file.
        let after_commit = {
            let service = self.clone();
            let conversation = conversation.clone();
            Box::new(move |inserted: &Inserted| {
                let Inserted::Created(stored) = inserted else {
                    return;
                };
                if let Some(file) = file {
                    file.keep();
                }
                if bot_turn {
                    service.bot_wakeup.notify_one();
                }
                service.wake_webhooks();
                let message = MessageJson::new(stored, &service.config.link_secret);
                service.announce(&conversation, stored.created_at, &message, socket);
            })
        };
        let inserted = self
            .store
            .insert_message_then(
                NewMessage {
                    conversation_id: conversation.id,
                    sender_type,
                    sender_name,
                    message: text,
                    attachment,
                    is_voice,
                    client_id,
                    bot_job: bot_turn,
                },
                after_commit,
            )
            .await?;
        let message = MessageJson::new(inserted.message(), &self.config.link_secret);
        let Inserted::Created(stored) = &inserted else {
            return Ok(Posted {
                message,
                created: false,
            });
        };
        if let Author::Agent(_) = author {
            self.queue_offline_reply(&conversation, stored.id).await;
            self.email_wait_answered(&conversation).await;
        }
        Ok(Posted {
            message,
            created: true,
        })
    }

    /// Posts Parley's own line (`client_id` makes it once) to `conversation`: stored and
    /// announced like any message, with no turn for anyone. For the service's lines about the
    /// conversation itself (closed, reopened), which must not go through [`Self::post`]'s
    /// rules for people.
    pub(super) async fn post_system_line(
        &self,
        conversation: &Conversation,
        text: &str,
        client_id: String,
    ) -> Result<(), ApiError> {
        // Announced from the store's writer, in id order, as in [`Self::post`].
        let after_commit = {
            let service = self.clone();
            let conversation = conversation.clone();
            Box::new(move |inserted: &Inserted| {
                if let Inserted::Created(stored) = inserted {
                    let message = MessageJson::new(stored, &service.config.link_secret);
                    service.wake_webhooks();
                    service.announce(&conversation, stored.created_at, &message, None);
                }
            })
        };
        self.store
            .insert_message_then(
                NewMessage {
                    conversation_id: conversation.id,
                    sender_type: SenderType::System,
                    sender_name: None,
                    message: text::without_refused(text).into_owned(),
                    attachment: None,
                    is_voice: false,
                    client_id: Some(client_id),
                    bot_job: false,
                },
                after_commit,
            )
            .await?;
        Ok(())
    }

    /// Checks text people (and external bots) send: no refused characters, within the length
    /// limit, not empty unless a file comes with it; and a valid `client_id`.
    fn checked_text(
        &self,
        text: &str,
        has_file: bool,
        client_id: Option<&str>,
    ) -> Result<String, ApiError> {
        text::check("message", text)?;
        let text = text.trim();
        if text.is_empty() && !has_file {
            return Err(ApiError::Validation(
                "a message needs text or an attachment".into(),
            ));
        }
        let max = self.config.max_message_chars;
        if text.chars().count() > max {
            return Err(ApiError::Validation(format!(
                "message is longer than {max} characters"
            )));
        }
        if let Some(client_id) = client_id {
            valid_client_id(client_id)?;
        }
        Ok(text.to_string())
    }

    /// Writes an upload's file (removed again unless its message is committed) and describes it
    /// for the store.
    async fn store_file(
        &self,
        upload: &Upload,
    ) -> Result<(uploads::StoredFile, NewAttachment), ApiError> {
        let content_type =
            uploads::sniff(&upload.bytes, upload.is_voice).map_err(|error| match error {
                uploads::UploadError::Empty => ApiError::Validation(error.to_string()),
                uploads::UploadError::TypeNotAllowed => {
                    ApiError::UnsupportedMediaType(error.to_string())
                }
            })?;
        let file = uploads::store(&self.config.data_dir, &upload.bytes)
            .await
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        let attachment = NewAttachment {
            storage_name: file.name().to_string(),
            original_name: upload.file_name.clone(),
            content_type: content_type.to_string(),
            size_bytes: upload.bytes.len() as i64,
        };
        Ok((file, attachment))
    }

    /// Broadcasts a new message to its conversation's channel and, with the conversation, to
    /// the agents' inbox.
    fn announce(
        &self,
        conversation: &Conversation,
        created_at: chrono::DateTime<chrono::Utc>,
        message: &MessageJson,
        socket: Option<String>,
    ) {
        self.broadcast(
            payload::conversation_channel(conversation.id),
            payload::MESSAGE_EVENT,
            message,
            socket.clone(),
        );
        // The insert moved the conversation's `updated_at` to the message's time.
        let mut conversation = conversation.clone();
        conversation.updated_at = created_at;
        self.tell_inbox(&conversation, Some(message), socket);
    }
}

/// A sender's id for a message, which makes a retried send idempotent.
fn valid_client_id(client_id: &str) -> Result<(), ApiError> {
    let valid = !client_id.is_empty()
        && client_id.len() <= 64
        && client_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::Validation(
            "client_id must be 1-64 characters of [A-Za-z0-9_-]".into(),
        ))
    }
}
