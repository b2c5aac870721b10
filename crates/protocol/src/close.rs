//! Error and close codes, and what pusher-js does when it sees each.
//!
//! pusher-js (`Protocol.getCloseAction`) reads the close code's range: 4000-4099 it never
//! reconnects, 4100-4199 it backs off, 4200-4299 it reconnects at once. Choosing the wrong range
//! turns an auth failure into a reconnect loop, so every code the server uses is named here.

/// A Pusher protocol error code, sent in `pusher:error` and, when fatal, as the close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 4001: no app has this key. Never reconnect.
    AppNotFound,
    /// 4003: the app exists but is disabled. Never reconnect.
    AppDisabled,
    /// 4004: the app is over its connection quota. Never reconnect.
    OverQuota,
    /// 4005: the path is not `/app/{key}`.
    PathNotFound,
    /// 4007: the client speaks a protocol version this server does not.
    UnsupportedProtocol,
    /// 4009: not authorised (origin not allowed, sign-in failed, terminated by the app, or an
    /// authorised-connection deadline missed). Never reconnect.
    Unauthorized,
    /// 4100: over capacity, including a consumer too slow to keep up with its queue. Back off.
    OverCapacity,
    /// 4200: server going away (graceful shutdown). Reconnect at once.
    Reconnect,
    /// 4201: no pong arrived in time after a ping. Reconnect at once.
    PongTimeout,
    /// 4202: closed after inactivity. Reconnect at once.
    Inactivity,
    /// 4301: a client event was rejected (rate limit, disabled, too big, wrong channel). The
    /// connection stays open.
    ClientEventRejected,
    /// 4302: a sign-in's watchlist was longer than allowed; only its first ids were taken. The
    /// sign-in still succeeds and the connection stays open.
    WatchlistLimit,
}

/// What a pusher-js client does after the socket closes with a given code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectPolicy {
    /// 4000-4099 and 4300+: the client gives up.
    Never,
    /// 4100-4199: the client waits, then reconnects.
    Backoff,
    /// 4200-4299: the client reconnects immediately.
    Immediately,
}

impl ErrorCode {
    /// The numeric code on the wire.
    pub const fn code(self) -> u16 {
        match self {
            Self::AppNotFound => 4001,
            Self::AppDisabled => 4003,
            Self::OverQuota => 4004,
            Self::PathNotFound => 4005,
            Self::UnsupportedProtocol => 4007,
            Self::Unauthorized => 4009,
            Self::OverCapacity => 4100,
            Self::Reconnect => 4200,
            Self::PongTimeout => 4201,
            Self::Inactivity => 4202,
            Self::ClientEventRejected => 4301,
            Self::WatchlistLimit => 4302,
        }
    }

    /// How pusher-js reacts to this code as a close code.
    pub const fn reconnect_policy(self) -> ReconnectPolicy {
        policy_for(self.code())
    }
}

/// pusher-js's reading of any close code (`Protocol.getCloseAction`).
pub const fn policy_for(code: u16) -> ReconnectPolicy {
    match code {
        4000..=4099 => ReconnectPolicy::Never,
        4100..=4199 => ReconnectPolicy::Backoff,
        4200..=4299 => ReconnectPolicy::Immediately,
        4300.. => ReconnectPolicy::Never,
        1002..=1004 => ReconnectPolicy::Backoff,
        _ => ReconnectPolicy::Immediately,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_never_reconnect_and_shutdown_reconnects_at_once() {
        assert_eq!(
            ErrorCode::Unauthorized.reconnect_policy(),
            ReconnectPolicy::Never
        );
        assert_eq!(
            ErrorCode::AppNotFound.reconnect_policy(),
            ReconnectPolicy::Never
        );
        assert_eq!(
            ErrorCode::OverQuota.reconnect_policy(),
            ReconnectPolicy::Never
        );
        assert_eq!(
            ErrorCode::OverCapacity.reconnect_policy(),
            ReconnectPolicy::Backoff
        );
        assert_eq!(
            ErrorCode::Reconnect.reconnect_policy(),
            ReconnectPolicy::Immediately
        );
        assert_eq!(
            ErrorCode::PongTimeout.reconnect_policy(),
            ReconnectPolicy::Immediately
        );
        assert_eq!(ErrorCode::PongTimeout.code(), 4201);
        assert_eq!(ErrorCode::ClientEventRejected.code(), 4301);
        assert_eq!(ErrorCode::WatchlistLimit.code(), 4302);
    }
}
