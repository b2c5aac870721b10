//! The JSON frames on the WebSocket: what clients send, parsed once into a [`ClientFrame`] (or a
//! [`ClientFrameError`] that is the server's answer); what the server sends, built by one
//! function each so the byte shapes pusher-js expects are written down in one place.
//!
//! Pusher's shape rule: `data` is a JSON-encoded *string* in `connection_established`, every
//! `pusher_internal:*` frame and HTTP-published events, and an *object* in `pusher:error`.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::ErrorCode;

/// A frame received from a client, with `data` left unparsed until the event is known.
#[derive(Debug, Deserialize)]
pub struct Inbound<'a> {
    /// The event name (`pusher:subscribe`, `client-typing`, …).
    pub event: String,
    /// The channel, on client events.
    #[serde(default)]
    pub channel: Option<String>,
    /// The payload, verbatim.
    #[serde(default, borrow)]
    pub data: Option<&'a RawValue>,
}

impl<'a> Inbound<'a> {
    /// Parses a text frame. Errors name what was wrong for the `pusher:error` reply.
    pub fn parse(text: &'a str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Decodes `data` as `T`, accepting it either as an object or as a JSON-encoded string (some
    /// clients encode it twice).
    pub fn data_as<T: for<'de> Deserialize<'de>>(&self) -> Result<T, serde_json::Error> {
        decode_data(self.data)
    }
}

fn decode_data<T: for<'de> Deserialize<'de>>(
    data: Option<&RawValue>,
) -> Result<T, serde_json::Error> {
    let raw = data.map(RawValue::get).unwrap_or("null");
    match serde_json::from_str::<T>(raw) {
        Ok(value) => Ok(value),
        Err(first) => match serde_json::from_str::<String>(raw) {
            Ok(inner) => serde_json::from_str(&inner),
            Err(_) => Err(first),
        },
    }
}

/// A client's frame, parsed once into what it asks for: the event name picks the variant and
/// `data` is decoded as that event's shape. What the server then allows (signatures, limits,
/// subscriptions) is the server's to judge; this is only what was asked.
#[derive(Debug)]
pub enum ClientFrame<'a> {
    /// `pusher:ping`: the server answers `pusher:pong`. Any `data` is ignored.
    Ping,
    /// `pusher:pong`: the answer to the server's ping. Any `data` is ignored.
    Pong,
    /// `pusher:subscribe`.
    Subscribe(Subscribe),
    /// `pusher:unsubscribe`.
    Unsubscribe(Unsubscribe),
    /// `pusher:signin`.
    Signin(Signin),
    /// A `client-*` event, to relay to the other subscribers of its channel.
    ClientEvent(ClientEvent<'a>),
}

/// A `client-*` event as the client sent it.
#[derive(Debug)]
pub struct ClientEvent<'a> {
    /// The event name, `client-` and whatever follows.
    pub event: String,
    /// The channel it is for, if the frame names one.
    pub channel: Option<String>,
    /// The payload, verbatim; JSON `null` when the frame has none (or `null`).
    pub data: &'a RawValue,
}

/// Why a client's frame is not taken. `Display` is the `message` of the `pusher:error` the
/// server answers with, word for word; [`ClientFrameError::close_code`] says whether the
/// connection then closes.
#[derive(Debug, thiserror::Error)]
pub enum ClientFrameError {
    /// Not JSON, not an object, no string `event`, or a `channel` that is not a string.
    #[error("Invalid message format: {0}")]
    Malformed(serde_json::Error),
    /// `pusher:subscribe` without a readable `{channel, auth?, channel_data?}`.
    #[error("pusher:subscribe needs data {{channel, auth?, channel_data?}}")]
    BadSubscribe,
    /// `pusher:unsubscribe` without a readable `{channel}`.
    #[error("pusher:unsubscribe needs data {{channel}}")]
    BadUnsubscribe,
    /// `pusher:signin` without a readable `{auth, user_data}`.
    #[error("pusher:signin needs data {{auth, user_data}}")]
    BadSignin,
    /// An event that is neither the protocol's nor a `client-*` event.
    #[error("Unknown event {0:?}")]
    UnknownEvent(String),
}

impl ClientFrameError {
    /// The code the server closes the connection with, after a `pusher:error` carrying it; `None`
    /// for errors after which the connection stays open (their `pusher:error` has `code: null`).
    pub const fn close_code(&self) -> Option<ErrorCode> {
        match self {
            // A sign-in that cannot be read is refused like one that does not verify: 4009,
            // which pusher-js does not retry.
            Self::BadSignin => Some(ErrorCode::Unauthorized),
            Self::Malformed(_)
            | Self::BadSubscribe
            | Self::BadUnsubscribe
            | Self::UnknownEvent(_) => None,
        }
    }
}

impl<'a> ClientFrame<'a> {
    /// Parses a text frame: the envelope, then `data` as the event's shape (an object or a
    /// JSON-encoded string, see [`Inbound::data_as`]).
    pub fn parse(text: &'a str) -> Result<Self, ClientFrameError> {
        Self::from_inbound(Inbound::parse(text).map_err(ClientFrameError::Malformed)?)
    }

    /// Reads an envelope already parsed as the event it names.
    pub fn from_inbound(inbound: Inbound<'a>) -> Result<Self, ClientFrameError> {
        let Inbound {
            event,
            channel,
            data,
        } = inbound;
        Ok(match event.as_str() {
            "pusher:ping" => Self::Ping,
            "pusher:pong" => Self::Pong,
            "pusher:subscribe" => {
                Self::Subscribe(decode_data(data).map_err(|_| ClientFrameError::BadSubscribe)?)
            }
            "pusher:unsubscribe" => {
                Self::Unsubscribe(decode_data(data).map_err(|_| ClientFrameError::BadUnsubscribe)?)
            }
            "pusher:signin" => {
                Self::Signin(decode_data(data).map_err(|_| ClientFrameError::BadSignin)?)
            }
            name if name.starts_with("client-") => Self::ClientEvent(ClientEvent {
                event,
                channel,
                data: data.unwrap_or(RawValue::NULL),
            }),
            _ => return Err(ClientFrameError::UnknownEvent(event)),
        })
    }
}

/// `pusher:subscribe` data.
#[derive(Debug, Deserialize)]
pub struct Subscribe {
    /// The channel to join.
    pub channel: String,
    /// `key:signature` for private, presence and encrypted channels; `""` or absent otherwise.
    #[serde(default)]
    pub auth: Option<String>,
    /// For presence: the JSON string that was signed, `{"user_id":…,"user_info":…}`.
    #[serde(default)]
    pub channel_data: Option<String>,
}

/// `pusher:unsubscribe` data.
#[derive(Debug, Deserialize)]
pub struct Unsubscribe {
    /// The channel to leave.
    pub channel: String,
}

/// `pusher:signin` data.
#[derive(Debug, Deserialize)]
pub struct Signin {
    /// `key:signature` over `socket_id::user::user_data`.
    pub auth: String,
    /// The signed JSON string `{"id":"…","user_info":…,"watchlist":[…]}`.
    pub user_data: String,
}

/// The decoded `channel_data` of a presence subscription.
#[derive(Debug, Deserialize)]
pub struct PresenceChannelData {
    /// The member's id; Laravel sends numbers, pusher-js strings. Kept as a string.
    pub user_id: serde_json::Value,
    /// Anything the app wants other members to see.
    #[serde(default)]
    pub user_info: Option<Box<RawValue>>,
}

impl PresenceChannelData {
    /// The user id as the string members are keyed by, if it is a string or a number.
    pub fn user_id_string(&self) -> Option<String> {
        match &self.user_id {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// The decoded `user_data` of a sign-in.
#[derive(Debug, Deserialize)]
pub struct UserData {
    /// pusher-js requires a non-empty string.
    pub id: serde_json::Value,
    /// What other members of presence channels see about this user when it joins them without
    /// `channel_data` of its own.
    #[serde(default)]
    pub user_info: Option<Box<RawValue>>,
    /// Users whose online/offline state this user wants to hear about.
    #[serde(default)]
    pub watchlist: Vec<serde_json::Value>,
}

impl UserData {
    /// The id, when it is the non-empty string the protocol requires.
    pub fn id_string(&self) -> Option<&str> {
        self.id.as_str().filter(|id| !id.is_empty())
    }

    /// The watchlist as strings (numbers accepted), others ignored.
    pub fn watchlist_strings(&self) -> Vec<String> {
        self.watchlist
            .iter()
            .filter_map(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect()
    }
}

#[derive(Serialize)]
struct Frame<'a, D: Serialize + ?Sized> {
    event: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    data: &'a D,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_id: Option<&'a str>,
}

fn frame<D: Serialize + ?Sized>(event: &str, channel: Option<&str>, data: &D) -> String {
    let frame = Frame {
        event,
        channel,
        data,
        user_id: None,
    };
    serde_json::to_string(&frame).expect("frames serialise")
}

/// `data` for frames whose data is a JSON-encoded string.
fn encoded(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("values serialise")
}

/// `pusher:connection_established`, the first frame on every socket.
pub fn connection_established(socket_id: &str, activity_timeout_secs: u64) -> String {
    let data = encoded(&serde_json::json!({
        "socket_id": socket_id,
        "activity_timeout": activity_timeout_secs,
    }));
    frame("pusher:connection_established", None, &data)
}

/// `pusher:error`, with an object `data` as Pusher sends it. `code` is `None` for errors that
/// have no protocol code (Pusher sends `null`).
pub fn error(code: Option<u16>, message: &str) -> String {
    frame(
        "pusher:error",
        None,
        &serde_json::json!({ "code": code, "message": message }),
    )
}

/// `pusher:ping`, sent by the server after a silence.
pub fn ping() -> String {
    frame("pusher:ping", None, &serde_json::json!({}))
}

/// `pusher:pong`, the reply to a client's ping.
pub fn pong() -> String {
    frame("pusher:pong", None, &serde_json::json!({}))
}

/// The member list in a presence `subscription_succeeded`.
#[derive(Debug, Serialize)]
pub struct PresenceSnapshot<'a> {
    /// Member ids, one per user however many sockets they have.
    pub ids: Vec<&'a str>,
    /// `user_id → user_info`.
    pub hash: serde_json::Map<String, serde_json::Value>,
    /// `ids.len()`.
    pub count: usize,
}

/// `pusher_internal:subscription_succeeded`; presence channels carry the member list.
pub fn subscription_succeeded(channel: &str, presence: Option<&PresenceSnapshot<'_>>) -> String {
    let data = match presence {
        Some(snapshot) => encoded(&serde_json::json!({ "presence": snapshot })),
        None => "{}".to_string(),
    };
    frame(
        "pusher_internal:subscription_succeeded",
        Some(channel),
        &data,
    )
}

/// `pusher:subscription_error` on one channel; the connection stays open. laravel-echo's
/// `.error()` receives `data`.
pub fn subscription_error(channel: &str, kind: &str, message: &str, status: u16) -> String {
    let data = serde_json::json!({ "type": kind, "error": message, "status": status });
    frame("pusher:subscription_error", Some(channel), &data)
}

/// `pusher_internal:member_added`, to the other members when a user's first socket joins.
pub fn member_added(channel: &str, user_id: &str, user_info: Option<&RawValue>) -> String {
    let data = match user_info {
        Some(info) => encoded(&serde_json::json!({ "user_id": user_id, "user_info": info })),
        None => encoded(&serde_json::json!({ "user_id": user_id })),
    };
    frame("pusher_internal:member_added", Some(channel), &data)
}

/// `pusher_internal:member_removed`, when a user's last socket leaves.
pub fn member_removed(channel: &str, user_id: &str) -> String {
    frame(
        "pusher_internal:member_removed",
        Some(channel),
        &encoded(&serde_json::json!({ "user_id": user_id })),
    )
}

/// `pusher_internal:subscription_count`, re-emitted by pusher-js as `pusher:subscription_count`.
pub fn subscription_count(channel: &str, count: usize) -> String {
    frame(
        "pusher_internal:subscription_count",
        Some(channel),
        &encoded(&serde_json::json!({ "subscription_count": count })),
    )
}

/// `pusher:cache_miss`, when a cache channel has nothing to replay.
pub fn cache_miss(channel: &str) -> String {
    #[derive(Serialize)]
    struct CacheMiss<'a> {
        event: &'a str,
        channel: &'a str,
    }
    serde_json::to_string(&CacheMiss {
        event: "pusher:cache_miss",
        channel,
    })
    .expect("serialises")
}

/// `pusher:signin_success`, echoing the signed `user_data` string.
pub fn signin_success(user_data: &str) -> String {
    frame(
        "pusher:signin_success",
        None,
        &serde_json::json!({ "user_data": user_data }),
    )
}

/// Whether a watched user came online or went offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchlistChange {
    /// The user's first signed-in socket connected.
    Online,
    /// The user's last signed-in socket left.
    Offline,
}

/// `pusher_internal:watchlist_events`, the wrapper pusher-js's `WatchlistFacade` listens for.
pub fn watchlist_events(change: WatchlistChange, user_ids: &[&str]) -> String {
    let name = match change {
        WatchlistChange::Online => "online",
        WatchlistChange::Offline => "offline",
    };
    let data = serde_json::json!({ "events": [{ "name": name, "user_ids": user_ids }] });
    frame("pusher_internal:watchlist_events", None, &data)
}

/// An event published through the HTTP API: `data` is the publisher's string, forwarded as is.
pub fn channel_event(event: &str, channel: &str, data: &str) -> String {
    frame(event, Some(channel), data)
}

/// A client event relayed to the other subscribers: `data` verbatim, `user_id` on presence.
pub fn client_event(event: &str, channel: &str, data: &RawValue, user_id: Option<&str>) -> String {
    serde_json::to_string(&Frame {
        event,
        channel: Some(channel),
        data,
        user_id,
    })
    .expect("frames serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parse(frame: &str) -> Value {
        serde_json::from_str(frame).unwrap()
    }

    #[test]
    fn handshake_data_is_a_string_holding_socket_id_and_timeout() {
        let frame = parse(&connection_established("123.456", 120));
        assert_eq!(frame["event"], "pusher:connection_established");
        let data: Value = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            json!({"socket_id": "123.456", "activity_timeout": 120})
        );
    }

    #[test]
    fn error_data_is_an_object() {
        let frame = parse(&error(Some(4001), "App key nope does not exist."));
        assert_eq!(
            frame["data"],
            json!({"code": 4001, "message": "App key nope does not exist."})
        );
        assert_eq!(parse(&error(None, "x"))["data"]["code"], Value::Null);
    }

    #[test]
    fn presence_success_lists_members_once() {
        let mut hash = serde_json::Map::new();
        hash.insert("1".into(), json!({"name": "Ann"}));
        let snapshot = PresenceSnapshot {
            ids: vec!["1"],
            hash,
            count: 1,
        };
        let frame = parse(&subscription_succeeded("presence-r", Some(&snapshot)));
        let data: Value = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            json!({"presence": {"ids": ["1"], "hash": {"1": {"name": "Ann"}}, "count": 1}})
        );
        assert_eq!(frame["channel"], "presence-r");
    }

    #[test]
    fn published_data_is_forwarded_verbatim_as_a_string() {
        let frame = parse(&channel_event(
            "ChatMessageReceived",
            "private-c",
            r#"{"id":1}"#,
        ));
        assert_eq!(frame["data"], r#"{"id":1}"#);
        let raw = RawValue::from_string(r#"{"typing":true}"#.into()).unwrap();
        let frame = parse(&client_event(
            "client-typing",
            "presence-r",
            &raw,
            Some("9"),
        ));
        assert_eq!(
            frame,
            json!({"event":"client-typing","channel":"presence-r","data":{"typing":true},"user_id":"9"})
        );
    }

    #[test]
    fn inbound_data_may_be_an_object_or_an_encoded_string() {
        let object =
            Inbound::parse(r#"{"event":"pusher:subscribe","data":{"channel":"a","auth":""}}"#)
                .unwrap();
        assert_eq!(object.data_as::<Subscribe>().unwrap().channel, "a");
        let string =
            Inbound::parse(r#"{"event":"pusher:subscribe","data":"{\"channel\":\"b\"}"}"#).unwrap();
        assert_eq!(string.data_as::<Subscribe>().unwrap().channel, "b");
        assert!(Inbound::parse(r#"{"event":"pusher:subscribe","data":{}}"#)
            .unwrap()
            .data_as::<Subscribe>()
            .is_err());
        assert!(Inbound::parse("not json").is_err());
        assert!(Inbound::parse(r#"{"data":1}"#).is_err());
    }

    #[test]
    fn watchlist_frame_has_the_wrapper_pusher_js_reads() {
        let frame = parse(&watchlist_events(WatchlistChange::Online, &["1", "2"]));
        assert_eq!(frame["event"], "pusher_internal:watchlist_events");
        assert_eq!(
            frame["data"],
            json!({"events": [{"name": "online", "user_ids": ["1", "2"]}]})
        );
    }

    #[test]
    fn cache_miss_and_member_frames() {
        assert_eq!(
            parse(&cache_miss("cache-x")),
            json!({"event":"pusher:cache_miss","channel":"cache-x"})
        );
        let added = parse(&member_added("presence-r", "5", None));
        assert_eq!(added["data"], r#"{"user_id":"5"}"#);
        let removed = parse(&member_removed("presence-r", "5"));
        assert_eq!(removed["data"], r#"{"user_id":"5"}"#);
    }
}
