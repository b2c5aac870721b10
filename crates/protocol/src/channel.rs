//! Channel names, their kinds (public, private, presence, encrypted, server-to-user) and the
//! cache flag, parsed once so the rest of the server matches on an enum, never on prefixes.

use std::{borrow::Borrow, fmt, sync::Arc};

/// The prefix of the channel the server uses to reach one signed-in user.
pub const SERVER_TO_USER_PREFIX: &str = "#server-to-user-";

/// The prefixes of cache channels (Pusher's cache channels page: public, private, encrypted and
/// presence cache channels).
pub const CACHE_PREFIXES: [&str; 4] = [
    "cache-",
    "private-cache-",
    "private-encrypted-cache-",
    "presence-cache-",
];

/// Whether every channel whose name starts with `prefix` is a cache channel.
pub fn is_cache_prefix(prefix: &str) -> bool {
    CACHE_PREFIXES.iter().any(|p| prefix.starts_with(p))
}

/// The longest channel name accepted unless configured otherwise.
pub const DEFAULT_MAX_CHANNEL_NAME: usize = 200;

/// What kind of channel a name denotes, which decides its authorisation rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Anyone may subscribe.
    Public,
    /// `private-`: subscribing needs a signature over `socket_id:channel`.
    Private,
    /// `private-encrypted-`: signed like private; payloads are end-to-end encrypted, so the
    /// server only relays them and client events are refused.
    PrivateEncrypted,
    /// `presence-`: signed over `socket_id:channel:channel_data`; members are tracked.
    Presence,
    /// `#server-to-user-{id}`: only sockets signed in as that user.
    ServerToUser,
}

impl ChannelKind {
    /// Whether subscribing needs a channel signature.
    pub const fn needs_signature(self) -> bool {
        matches!(
            self,
            Self::Private | Self::PrivateEncrypted | Self::Presence
        )
    }

    /// Whether subscribers may send `client-` events on it.
    pub const fn allows_client_events(self) -> bool {
        matches!(self, Self::Private | Self::Presence)
    }
}

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelNameError {
    /// Empty names are not channels.
    #[error("channel name is empty")]
    Empty,
    /// Longer than the configured limit.
    #[error("channel name is longer than {max} characters")]
    TooLong {
        /// The limit in force.
        max: usize,
    },
    /// A character outside `[-A-Za-z0-9_=@,.;]`.
    #[error("channel name has a character outside [-A-Za-z0-9_=@,.;]")]
    BadCharacter,
    /// `#server-to-user-` with nothing after it.
    #[error("server-to-user channel names a user")]
    NoUser,
}

/// A validated channel name. Cheap to clone: the hub keeps many copies of hot names.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelName(Arc<str>);

impl ChannelName {
    /// Validates `name` against the protocol's alphabet and `max_len`.
    pub fn parse(name: &str, max_len: usize) -> Result<Self, ChannelNameError> {
        if name.is_empty() {
            return Err(ChannelNameError::Empty);
        }
        if name.len() > max_len {
            return Err(ChannelNameError::TooLong { max: max_len });
        }
        let body = match name.strip_prefix(SERVER_TO_USER_PREFIX) {
            Some("") => return Err(ChannelNameError::NoUser),
            Some(user) => user,
            None => name,
        };
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-_=@,.;".contains(&b);
        if !body.bytes().all(allowed) {
            return Err(ChannelNameError::BadCharacter);
        }
        Ok(Self(name.into()))
    }

    /// The name as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The channel's kind, from its prefix.
    pub fn kind(&self) -> ChannelKind {
        let name = self.as_str();
        if name.starts_with(SERVER_TO_USER_PREFIX) {
            ChannelKind::ServerToUser
        } else if name.starts_with("presence-") {
            ChannelKind::Presence
        } else if name.starts_with("private-encrypted-") {
            ChannelKind::PrivateEncrypted
        } else if name.starts_with("private-") {
            ChannelKind::Private
        } else {
            ChannelKind::Public
        }
    }

    /// Whether the server replays the last event to new subscribers (`cache-` channels).
    pub fn is_cache(&self) -> bool {
        is_cache_prefix(self.as_str())
    }

    /// For `#server-to-user-{id}`, the user id.
    pub fn server_to_user_id(&self) -> Option<&str> {
        self.as_str().strip_prefix(SERVER_TO_USER_PREFIX)
    }
}

// Lets maps keyed by channel be queried with the `&str` a client sent.
impl Borrow<str> for ChannelName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ChannelName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(name: &str) -> Result<ChannelName, ChannelNameError> {
        ChannelName::parse(name, DEFAULT_MAX_CHANNEL_NAME)
    }

    #[test]
    fn kinds_follow_prefixes() {
        let cases = [
            ("chat", ChannelKind::Public, false),
            ("cache-news", ChannelKind::Public, true),
            ("private-chat.conversation.7", ChannelKind::Private, false),
            ("private-cache-x", ChannelKind::Private, true),
            ("private-encrypted-x", ChannelKind::PrivateEncrypted, false),
            (
                "private-encrypted-cache-x",
                ChannelKind::PrivateEncrypted,
                true,
            ),
            ("presence-room", ChannelKind::Presence, false),
            ("presence-cache-room", ChannelKind::Presence, true),
            ("#server-to-user-42", ChannelKind::ServerToUser, false),
            // A prefix only counts at the start (Soketi's unanchored regex got this wrong).
            ("foo-private-x", ChannelKind::Public, false),
        ];
        for (name, kind, cache) in cases {
            let channel = parse(name).unwrap();
            assert_eq!(channel.kind(), kind, "{name}");
            assert_eq!(channel.is_cache(), cache, "{name}");
        }
        assert_eq!(
            parse("#server-to-user-42").unwrap().server_to_user_id(),
            Some("42")
        );
    }

    #[test]
    fn the_protocol_alphabet_is_enforced() {
        assert!(parse("a-b_c=d@e,f.g;h").is_ok());
        assert_eq!(parse(""), Err(ChannelNameError::Empty));
        assert_eq!(parse("with space"), Err(ChannelNameError::BadCharacter));
        assert_eq!(parse("a#b"), Err(ChannelNameError::BadCharacter));
        assert_eq!(parse("é"), Err(ChannelNameError::BadCharacter));
        assert_eq!(parse("#server-to-user-"), Err(ChannelNameError::NoUser));
        assert_eq!(
            parse(&"a".repeat(201)),
            Err(ChannelNameError::TooLong { max: 200 })
        );
        assert!(parse(&"a".repeat(200)).is_ok());
    }
}
