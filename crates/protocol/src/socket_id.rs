//! Socket ids: `"<digits>.<digits>"`, the shape every server SDK validates with `^\d+\.\d+$`.

use std::fmt;

/// One connection's id, unique within a server and unguessable enough that a visitor cannot
/// name another's socket (the `socket_id` is signed into channel auth).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    high: u64,
    low: u64,
}

impl SocketId {
    /// A fresh random id.
    pub fn random() -> Self {
        // Ten digits each side, as Pusher issues them; ranges keep the text fixed-width enough to
        // stay short while leaving ~66 bits of randomness.
        Self {
            high: rand::random_range(1_000_000_000..10_000_000_000),
            low: rand::random_range(1_000_000_000..10_000_000_000),
        }
    }

    /// Parses `"123.456"`; anything else (signs, spaces, empty halves) is rejected.
    pub fn parse(text: &str) -> Option<Self> {
        let (high, low) = text.split_once('.')?;
        let digits =
            |s: &str| !s.is_empty() && s.len() <= 19 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(high) || !digits(low) {
            return None;
        }
        Some(Self {
            high: high.parse().ok()?,
            low: low.parse().ok()?,
        })
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.high, self.low)
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_have_the_sdk_shape_and_round_trip() {
        for _ in 0..100 {
            let id = SocketId::random();
            let text = id.to_string();
            let (a, b) = text.split_once('.').unwrap();
            assert!(a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()));
            assert_eq!(SocketId::parse(&text), Some(id));
        }
    }

    #[test]
    fn malformed_ids_are_rejected() {
        for bad in [
            "", ".", "1.", ".1", "1.2.3", "-1.2", "1.a", " 1.2", "1.2 ", "1",
        ] {
            assert_eq!(SocketId::parse(bad), None, "{bad:?}");
        }
    }
}
