//! The widget's mode, from its business hours ([`crate::hours`]) and whether an agent is online
//! ([`crate::presence`]): `live` (open, an agent online), `bot` (open, nobody online: the bot
//! answers and a handoff waits for the next agent) or `away` (closed: the bot still answers,
//! and a visitor who asks for a human leaves an email for the reply). Also the away handoff's
//! words, in the conversation's language, and the conversation's wait for a reply by email
//! (marked when the email is left, ended by the agent's reply, which is emailed at once).

use chrono::{DateTime, SecondsFormat, Utc};
use parley_store::{Conversation, ConversationStatus, Widget};
use serde::Serialize;

use crate::{
    error::ApiError,
    hours::{Hours, Schedule},
    payload,
    service::ChatService,
};

/// What the widget is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Open and an agent is online.
    Live,
    /// Open, nobody online: the bot answers, a handoff waits for the next agent.
    Bot,
    /// Closed: the bot answers, asking for a human collects an email.
    Away,
}

/// The widget's availability as `GET /api/chatbot/config` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    /// `live`, `bot` or `away`.
    pub mode: Mode,
    /// Away: when the team opens next (`null` when no opening is ahead).
    #[serde(serialize_with = "rfc3339")]
    pub next_open_at: Option<DateTime<Utc>>,
    /// Open by the hours: when they close (`null` without hours, or none in sight).
    #[serde(serialize_with = "rfc3339")]
    pub closes_at: Option<DateTime<Utc>>,
    /// Away, whether a handoff asks the visitor for an email (the server sends email).
    pub asks_email: bool,
}

fn rfc3339<S: serde::Serializer>(at: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

/// The mode at `now` for hours `hours` (none: always open) and whether an agent is online.
pub fn decide(
    hours: Option<&Hours>,
    agents_online: bool,
    now: DateTime<Utc>,
    asks_email: bool,
) -> Availability {
    let schedule = hours.map_or(Schedule::Open { closes_at: None }, |h| h.at(now));
    let (mode, next_open_at, closes_at) = match schedule {
        Schedule::Closed { opens_at } => (Mode::Away, opens_at, None),
        Schedule::Open { closes_at } if agents_online => (Mode::Live, None, closes_at),
        Schedule::Open { closes_at } => (Mode::Bot, None, closes_at),
    };
    Availability {
        mode,
        next_open_at,
        closes_at,
        asks_email,
    }
}

/// A widget's hours as stored; settings that no longer parse (they were checked when saved)
/// count as none, and are logged.
pub fn hours_of(widget: &Widget) -> Option<Hours> {
    Hours::from_settings(&widget.settings).unwrap_or_else(|error| {
        tracing::warn!(widget = widget.id, %error, "the widget's hours are invalid; treated as always open");
        None
    })
}

impl ChatService {
    /// `widget`'s availability now.
    pub async fn availability(&self, widget: &Widget) -> Result<Availability, ApiError> {
        let online = self.agents_online().await?;
        Ok(decide(
            hours_of(widget).as_ref(),
            online,
            Utc::now(),
            self.mail_enabled(),
        ))
    }

    /// The visitor of `conversation`, handed over while the team is away, waits for the reply
    /// by email: at `email` when given (the email they left, unless the site signed theirs),
    /// else at the one they gave before. Tells the conversation's channel and its inbox.
    /// 409 when the server sends no email, the conversation is closed or not handed over yet.
    pub async fn wait_for_email(
        &self,
        conversation: &Conversation,
        email: Option<&str>,
    ) -> Result<Conversation, ApiError> {
        if !self.mail_enabled() {
            return Err(ApiError::Conflict(
                "this server sends no email (PARLEY_SMTP_URL is not set)".into(),
            ));
        }
        match conversation.status {
            ConversationStatus::Human => {}
            ConversationStatus::Closed => {
                return Err(ApiError::Conflict("this conversation is closed".into()))
            }
            ConversationStatus::Bot => {
                return Err(ApiError::Conflict(
                    "the bot is answering: an email is asked for once the visitor asks for a \
                     human"
                        .into(),
                ))
            }
        }
        if email.is_some() && conversation.email_verified {
            return Err(ApiError::Conflict(
                "the site signed this visitor's email; replies go there".into(),
            ));
        }
        if email.is_none() && conversation.visitor_email.is_none() {
            return Err(ApiError::Validation("email is required".into()));
        }
        let waiting = self
            .store
            .wait_for_email(conversation.id, email, Utc::now())
            .await?
            .ok_or(ApiError::NotFound("conversation"))?;
        self.conversation_changed(&waiting);
        Ok(waiting)
    }

    /// After an agent's reply to a conversation waiting for email (the reply was queued to be
    /// mailed at once): the wait is over. Failures are logged: the reply stands.
    pub(crate) async fn email_wait_answered(&self, conversation: &Conversation) {
        if conversation.waiting_for_email_at.is_none() {
            return;
        }
        match self.store.end_email_wait(conversation.id).await {
            Ok(Some(answered)) => self.conversation_changed(&answered),
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, conversation = conversation.id, "cannot end the wait for email")
            }
        }
    }

    /// `ConversationUpdated` with the wait for email to the conversation's channel, and the
    /// conversation to its inbox.
    fn conversation_changed(&self, conversation: &Conversation) {
        let json = serde_json::json!({
            "id": conversation.id,
            "status": conversation.status.as_str(),
            "assigned_agent_id": conversation.assigned_agent_id,
            "visitor_email": conversation.visitor_email,
            "waiting_for_email": conversation.waiting_for_email_at.is_some(),
        });
        self.broadcast(
            payload::conversation_channel(conversation.id),
            payload::CONVERSATION_EVENT,
            &json,
            None,
        );
        self.tell_inbox(conversation, None, None);
    }
}

/// What the bot says when it hands a conversation over while the team is away: whether the
/// visitor is asked for an email (`ask`), told the reply comes by email (`by_email`), or only
/// that the team is away; in the conversation's language.
pub fn away_handoff_text(conversation: &Conversation, ask: bool, by_email: bool) -> &'static str {
    let locale = crate::mail::locale_of(conversation);
    let [asking, emailing, plain] = match locale {
        "es" => [
            "Nuestro equipo no está disponible ahora. Déjanos tu correo y te responderemos allí.",
            "Nuestro equipo no está disponible ahora. Te responderemos por correo electrónico.",
            "Nuestro equipo no está disponible ahora. Te responderemos en cuanto volvamos.",
        ],
        "fr" => [
            "Notre équipe est absente pour le moment. Laissez-nous votre e-mail et nous vous répondrons.",
            "Notre équipe est absente pour le moment. Nous vous répondrons par e-mail.",
            "Notre équipe est absente pour le moment. Nous vous répondrons dès notre retour.",
        ],
        "de" => [
            "Unser Team ist gerade nicht da. Hinterlassen Sie Ihre E-Mail-Adresse, wir antworten dorthin.",
            "Unser Team ist gerade nicht da. Wir antworten Ihnen per E-Mail.",
            "Unser Team ist gerade nicht da. Wir antworten, sobald wir zurück sind.",
        ],
        "pt" => [
            "Nossa equipe não está disponível agora. Deixe seu e-mail e responderemos por lá.",
            "Nossa equipe não está disponível agora. Responderemos por e-mail.",
            "Nossa equipe não está disponível agora. Responderemos assim que voltarmos.",
        ],
        "ar" => [
            "فريقنا غير متاح الآن. اترك بريدك الإلكتروني وسنرد عليك هناك.",
            "فريقنا غير متاح الآن. سنرد عليك عبر البريد الإلكتروني.",
            "فريقنا غير متاح الآن. سنرد عليك فور عودتنا.",
        ],
        _ => [
            "Our team is away right now. Leave your email and we will reply to you there.",
            "Our team is away right now. We will reply to you by email.",
            "Our team is away right now. We will reply as soon as we are back.",
        ],
    };
    if ask {
        asking
    } else if by_email {
        emailing
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn hours_and_agents_decide_the_mode() {
        let now = Utc::now();
        assert_eq!(decide(None, true, now, true).mode, Mode::Live);
        assert_eq!(decide(None, false, now, true).mode, Mode::Bot);
        let closed = Hours::from_settings(&json!({"hours": {"time_zone": "UTC", "weekly": {}}}))
            .unwrap()
            .unwrap();
        let away = decide(Some(&closed), true, now, false);
        assert_eq!(away.mode, Mode::Away);
        assert_eq!(away.next_open_at, None);
        assert_eq!(
            serde_json::to_value(&away).unwrap(),
            json!({"mode": "away", "next_open_at": null, "closes_at": null, "asks_email": false})
        );
    }
}
