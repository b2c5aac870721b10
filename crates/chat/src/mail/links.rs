//! The link in a mail that reopens the conversation in the widget on any device, and the
//! visitor token the widget gets for it.
//!
//! The link is the conversation's page with `#parley_reopen={key}`, where the key is
//! `{conversation}.{expires}.{signature}`: an HMAC-SHA256, under the server's link secret, of the
//! conversation's id, the expiry and the hash of its visitor token. So a key cannot be made
//! without the secret, names one conversation only (another id breaks the signature), stops at
//! its expiry, and stops if the conversation's visitor token is ever replaced. The widget trades
//! it (`POST /api/chatbot/conversation/{id}/resume`) for a *resume token*,
//! `cbr_{conversation}_{expires}_{signature}` signed the same way under another purpose, which
//! the widget then sends as its `X-Visitor-Token`. A fragment is never sent to the host site's
//! server, so the key stays out of its logs and of `Referer` headers.

use chrono::{DateTime, Utc};
use parley_store::Conversation;

use crate::accounts::same_secret;

/// How long a mailed link, and the visitor token it gives, keep working.
pub const LINK_DAYS: i64 = 30;

/// Whom a key or token is for: a conversation's id and its visitor token's hash.
#[derive(Debug, Clone, Copy)]
struct Subject<'a> {
    id: i64,
    token_hash: &'a str,
}

impl<'a> From<&'a Conversation> for Subject<'a> {
    fn from(conversation: &'a Conversation) -> Self {
        Self {
            id: conversation.id,
            token_hash: &conversation.visitor_token_hash,
        }
    }
}

fn signature(secret: &str, purpose: &str, subject: Subject<'_>, expires: i64) -> String {
    let message = format!(
        "{purpose}\n{}\n{expires}\n{}",
        subject.id, subject.token_hash
    );
    parley_protocol::signature::hmac_hex(secret, message.as_bytes())
}

/// A key that reopens `conversation` until `expires`.
pub fn reopen_key(secret: &str, conversation: &Conversation, expires: DateTime<Utc>) -> String {
    key_for(secret, conversation.into(), expires)
}

fn key_for(secret: &str, subject: Subject<'_>, expires: DateTime<Utc>) -> String {
    let expires = expires.timestamp();
    let signature = signature(secret, "parley-reopen", subject, expires);
    format!("{}.{expires}.{signature}", subject.id)
}

/// Whether `key` reopens `conversation` at `now`.
pub fn verify_reopen_key(
    secret: &str,
    conversation: &Conversation,
    key: &str,
    now: DateTime<Utc>,
) -> bool {
    key_valid(secret, conversation.into(), key, now)
}

fn key_valid(secret: &str, subject: Subject<'_>, key: &str, now: DateTime<Utc>) -> bool {
    let mut parts = key.split('.');
    let (Some(id), Some(expires), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    valid(secret, "parley-reopen", subject, id, expires, given, now)
}

/// The visitor token the widget gets for a reopen key: valid for [`LINK_DAYS`] from `now`.
pub fn resume_token(secret: &str, conversation: &Conversation, now: DateTime<Utc>) -> String {
    token_for(secret, conversation.into(), now)
}

fn token_for(secret: &str, subject: Subject<'_>, now: DateTime<Utc>) -> String {
    let expires = (now + chrono::Duration::days(LINK_DAYS)).timestamp();
    let signature = signature(secret, "parley-resume", subject, expires);
    format!("cbr_{}_{expires}_{signature}", subject.id)
}

/// Whether `token` is a live resume token for `conversation`.
pub fn resume_token_matches(
    secret: &str,
    conversation: &Conversation,
    token: &str,
    now: DateTime<Utc>,
) -> bool {
    token_valid(secret, conversation.into(), token, now)
}

fn token_valid(secret: &str, subject: Subject<'_>, token: &str, now: DateTime<Utc>) -> bool {
    let Some(rest) = token.strip_prefix("cbr_") else {
        return false;
    };
    let mut parts = rest.split('_');
    let (Some(id), Some(expires), Some(given), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    valid(secret, "parley-resume", subject, id, expires, given, now)
}

fn valid(
    secret: &str,
    purpose: &str,
    subject: Subject<'_>,
    id: &str,
    expires: &str,
    given: &str,
    now: DateTime<Utc>,
) -> bool {
    // The id exactly as written for this conversation (no `065` or `+65`).
    if id != subject.id.to_string() {
        return false;
    }
    let Ok(expires) = expires.parse::<i64>() else {
        return false;
    };
    if expires <= now.timestamp() {
        return false;
    }
    same_secret(given, &signature(secret, purpose, subject, expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: i64, token_hash: &str) -> Subject<'_> {
        Subject { id, token_hash }
    }

    #[test]
    fn a_key_opens_its_conversation_only_until_it_expires() {
        let now = Utc::now();
        let key = key_for("s", c(65, "aa"), now + chrono::Duration::days(1));
        assert!(key_valid("s", c(65, "aa"), &key, now));
        assert!(!key_valid("other secret", c(65, "aa"), &key, now));
        assert!(!key_valid("s", c(66, "aa"), &key, now));
        assert!(
            !key_valid("s", c(65, "bb"), &key, now),
            "a replaced visitor token"
        );
        assert!(!key_valid(
            "s",
            c(65, "aa"),
            &key,
            now + chrono::Duration::days(2)
        ));
        let forged = key.replacen("65.", "065.", 1);
        assert!(!key_valid("s", c(65, "aa"), &forged, now));
        let (head, _) = key.rsplit_once('.').unwrap();
        assert!(!key_valid("s", c(65, "aa"), &format!("{head}.00"), now));
        assert!(!key_valid("s", c(65, "aa"), &format!("{key}.x"), now));
        // A later expiry with the old signature.
        let (id_expiry, signature) = key.rsplit_once('.').unwrap();
        let (id, expiry) = id_expiry.split_once('.').unwrap();
        let later = expiry.parse::<i64>().unwrap() + 86_400;
        assert!(!key_valid(
            "s",
            c(65, "aa"),
            &format!("{id}.{later}.{signature}"),
            now
        ));

        let token = token_for("s", c(65, "aa"), now);
        assert!(token.starts_with("cbr_65_"));
        assert!(token_valid("s", c(65, "aa"), &token, now));
        assert!(!token_valid("s", c(66, "aa"), &token, now));
        assert!(!token_valid(
            "s",
            c(65, "aa"),
            &token,
            now + chrono::Duration::days(31)
        ));
        // A reopen key is not a visitor token, nor the reverse.
        assert!(!token_valid("s", c(65, "aa"), &key, now));
        assert!(!key_valid("s", c(65, "aa"), &token, now));
    }
}
