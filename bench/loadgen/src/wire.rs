//! Pusher protocol v7 frames as the generator reads and writes them: just enough of the protocol
//! to connect, subscribe, answer pings and exchange benchmark events, independent of any server.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// An incoming frame. Fields borrow from the message text; `data` stays raw because the protocol
/// sends it either as a JSON-encoded string (server events) or as an object (client events).
#[derive(Debug, Deserialize)]
pub struct Frame<'a> {
    #[serde(borrow)]
    pub event: Cow<'a, str>,
    #[serde(borrow, default)]
    pub channel: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub data: Option<&'a RawValue>,
}

impl<'a> Frame<'a> {
    pub fn parse(text: &'a str) -> Option<Frame<'a>> {
        serde_json::from_str(text).ok()
    }

    /// The frame's `data` as JSON text: a string is unwrapped (its content is the JSON the
    /// publisher sent), anything else is returned as written.
    pub fn data_text(&self) -> Option<Cow<'a, str>> {
        let raw = self.data?.get();
        if raw.starts_with('"') {
            serde_json::from_str::<Cow<'a, str>>(raw).ok()
        } else {
            Some(Cow::Borrowed(raw))
        }
    }
}

/// The fields of `pusher:connection_established`'s data that matter to a client.
#[derive(Debug, Deserialize, PartialEq, Eq)]
pub struct Established {
    pub socket_id: String,
    #[serde(default)]
    pub activity_timeout: Option<u64>,
}

/// Decodes `pusher:connection_established`'s data, which servers send as a JSON string.
pub fn established(frame: &Frame<'_>) -> Option<Established> {
    serde_json::from_str(&frame.data_text()?).ok()
}

/// `pusher:subscribe`; `auth` is empty for public channels.
pub fn subscribe(channel: &str, auth: &str) -> String {
    serde_json::json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}})
        .to_string()
}

pub const PONG: &str = r#"{"event":"pusher:pong","data":{}}"#;
pub const PING: &str = r#"{"event":"pusher:ping","data":{}}"#;

/// A client event carrying `payload_json` (already JSON) as its `data` object, the way pusher-js
/// sends `channel.trigger(...)`.
pub fn client_event(event: &str, channel: &str, payload_json: &str) -> String {
    format!(
        r#"{{"event":{},"channel":{},"data":{payload_json}}}"#,
        serde_json::Value::from(event),
        serde_json::Value::from(channel)
    )
}

/// A short, single-line rendering of a frame for error reports: long frames are cut so a flood of
/// them cannot bloat the summary.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 300;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_connection_established_with_string_data() {
        let text = r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"1.2\",\"activity_timeout\":120}"}"#;
        let frame = Frame::parse(text).expect("valid frame");
        assert_eq!(frame.event, "pusher:connection_established");
        assert_eq!(
            established(&frame),
            Some(Established {
                socket_id: "1.2".into(),
                activity_timeout: Some(120)
            })
        );
    }

    #[test]
    fn data_text_unwraps_strings_and_keeps_objects() {
        let server = Frame::parse(r#"{"event":"bench","channel":"c","data":"{\"s\":1}"}"#).unwrap();
        assert_eq!(server.data_text().as_deref(), Some(r#"{"s":1}"#));
        assert_eq!(server.channel.as_deref(), Some("c"));
        let client =
            Frame::parse(r#"{"event":"client-bench","channel":"private-x","data":{"s":1}}"#)
                .unwrap();
        assert_eq!(client.data_text().as_deref(), Some(r#"{"s":1}"#));
        let none = Frame::parse(r#"{"event":"pusher:pong"}"#).unwrap();
        assert_eq!(none.data_text(), None);
    }

    #[test]
    fn subscribe_frame_shape() {
        let v: serde_json::Value = serde_json::from_str(&subscribe("private-a", "k:sig")).unwrap();
        assert_eq!(v["event"], "pusher:subscribe");
        assert_eq!(v["data"]["channel"], "private-a");
        assert_eq!(v["data"]["auth"], "k:sig");
    }

    #[test]
    fn client_event_embeds_object_data() {
        let text = client_event("client-bench", "private-x", r#"{"c":0,"s":1,"t":2}"#);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["event"], "client-bench");
        assert_eq!(v["channel"], "private-x");
        assert_eq!(v["data"]["s"], 1);
    }

    #[test]
    fn excerpt_cuts_on_char_boundary() {
        let long = "é".repeat(400);
        let cut = excerpt(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.len() <= 300 + '…'.len_utf8());
        assert_eq!(excerpt("short"), "short");
    }
}
