//! The benchmark payload carried inside every measured event, and the process-wide clock its
//! timestamps are read from.
//!
//! Sender and receiver live in the same process, so one monotonic [`Instant`] taken at start-up is
//! a shared epoch: latency is `now_ns() - payload.t` with no clock-sync error.

use std::sync::OnceLock;
use std::time::Instant;

use serde::Deserialize;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the generator's epoch (fixed on first call).
pub fn now_ns() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    // u64 nanoseconds overflow after 584 years: saturating is only a formality.
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// One measured event: which stream (channel index) it belongs to, its sequence number within that
/// stream, and when it was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Payload {
    /// Stream index: the channel's position in the scenario's channel list.
    pub c: u32,
    /// Sequence number within the stream, dense from 0, so receivers can spot gaps.
    pub s: u64,
    /// Send time in ns since [`now_ns`]'s epoch.
    pub t: u64,
}

impl Payload {
    /// The compact JSON text of the payload, followed by `pad` filler bytes so message size can be
    /// varied without changing anything else.
    pub fn encode(&self, pad: usize) -> String {
        let mut out = format!(r#"{{"c":{},"s":{},"t":{}"#, self.c, self.s, self.t);
        if pad > 0 {
            out.push_str(r#","p":""#);
            out.extend(std::iter::repeat_n('x', pad));
            out.push('"');
        }
        out.push('}');
        out
    }

    /// Parses the JSON text produced by [`Payload::encode`]; unknown fields (the padding) are
    /// ignored.
    pub fn decode(text: &str) -> Option<Payload> {
        serde_json::from_str(text).ok()
    }
}

/// What a receiver made of one event's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// A benchmark payload.
    Bench(Payload),
    /// A well-formed event that is not the benchmark's (a chat bot's reply, say): counted
    /// apart, neither a delivery nor an error.
    Foreign,
    /// Data the scenario cannot read: counted as a `bad_payload` error.
    Garbled,
}

/// How a scenario finds its payload in an event's data (the JSON text of `data`).
pub type Extract = fn(&str) -> Found;

/// What a receiver listens for on its channel.
#[derive(Debug, Clone, Copy)]
pub struct Listen {
    /// The event that carries benchmark payloads.
    pub event: &'static str,
    /// Finds the payload in that event's data.
    pub extract: Extract,
    /// Other events the application legitimately sends on the channel (a bot's typing
    /// indicator, a status change): counted as foreign, not as errors.
    pub also: &'static [&'static str],
}

impl Listen {
    /// `event`s whose whole data is the payload, and nothing else expected.
    pub const fn payload(event: &'static str) -> Listen {
        Listen {
            event,
            extract: whole_data,
            also: &[],
        }
    }
}

/// [`Extract`] for events whose whole data is the payload (HTTP publishes, client events).
pub fn whole_data(data: &str) -> Found {
    Payload::decode(data).map_or(Found::Garbled, Found::Bench)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let p = Payload {
            c: 7,
            s: 123_456,
            t: 9_876_543_210,
        };
        assert_eq!(p.encode(0), r#"{"c":7,"s":123456,"t":9876543210}"#);
        assert_eq!(Payload::decode(&p.encode(0)), Some(p));
    }

    #[test]
    fn padding_changes_size_not_content() {
        let p = Payload { c: 1, s: 2, t: 3 };
        let padded = p.encode(100);
        assert_eq!(padded.len(), p.encode(0).len() + 100 + r#","p":"""#.len());
        assert_eq!(Payload::decode(&padded), Some(p));
    }

    #[test]
    fn decode_rejects_foreign_data() {
        assert_eq!(Payload::decode(r#"{"hello":"world"}"#), None);
        assert_eq!(Payload::decode("not json"), None);
    }

    #[test]
    fn whole_data_extracts_or_reports_garbled() {
        assert_eq!(
            whole_data(r#"{"c":1,"s":2,"t":3}"#),
            Found::Bench(Payload { c: 1, s: 2, t: 3 })
        );
        assert_eq!(whole_data("{}"), Found::Garbled);
    }

    #[test]
    fn clock_is_monotonic() {
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = now_ns();
        assert!(b >= a + 2_000_000, "{a} -> {b}");
    }
}
