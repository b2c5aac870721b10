//! Property tests for the protocol's codecs: every encoding the server and its clients produce
//! decodes back to what was encoded, and every signature verifies until anything it covers changes.

use parley_protocol::{
    channel::SERVER_TO_USER_PREFIX,
    frame::{self, ClientFrame, ClientFrameError, Inbound, Signin, Subscribe, Unsubscribe},
    signature::{self, ApiAuthError, ApiRequest},
    ChannelKind, ChannelName, ChannelNameError, SocketId,
};
use proptest::prelude::*;
use serde_json::{json, value::RawValue, Value};

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";
/// A channel name's body, and a short run of the same alphabet.
const BODY: &str = "[-A-Za-z0-9_=@,.;]{1,60}";
const SOME: &str = "[-A-Za-z0-9_=@,.;]{0,20}";

fn prefix() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "private-",
        "private-encrypted-",
        "presence-",
        "cache-",
        "private-cache-",
        "private-encrypted-cache-",
        "presence-cache-",
        SERVER_TO_USER_PREFIX,
    ])
}

/// Any JSON value, nested a little.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn socket_id() -> impl Strategy<Value = String> {
    (
        0u64..10_000_000_000_000_000_000,
        0u64..10_000_000_000_000_000_000,
    )
        .prop_map(|(high, low)| format!("{high}.{low}"))
}

proptest! {
    #[test]
    fn a_valid_channel_name_parses_and_displays_as_sent(
        prefix in prefix(),
        body in BODY,
    ) {
        let name = format!("{prefix}{body}");
        let channel = ChannelName::parse(&name, 200).unwrap();
        prop_assert_eq!(channel.to_string(), name.clone());
        prop_assert_eq!(channel.as_str(), name.as_str());
        prop_assert_eq!(ChannelName::parse(&channel.to_string(), 200), Ok(channel.clone()));
        let kind = match prefix {
            "private-" | "private-cache-" => ChannelKind::Private,
            "private-encrypted-" | "private-encrypted-cache-" => ChannelKind::PrivateEncrypted,
            "presence-" | "presence-cache-" => ChannelKind::Presence,
            SERVER_TO_USER_PREFIX => ChannelKind::ServerToUser,
            // The body itself may spell a prefix.
            _ => ChannelName::parse(&body, 200).unwrap().kind(),
        };
        prop_assert_eq!(channel.kind(), kind);
        if prefix.contains("cache-") {
            prop_assert!(channel.is_cache());
        }
        prop_assert_eq!(
            channel.server_to_user_id(),
            (prefix == SERVER_TO_USER_PREFIX).then_some(body.as_str())
        );
    }

    #[test]
    fn a_name_with_one_character_outside_the_alphabet_is_refused(
        prefix in prefix(),
        before in SOME,
        bad in any::<char>().prop_filter("outside the alphabet", |c| {
            !(c.is_ascii_alphanumeric() || "-_=@,.;".contains(*c))
        }),
        after in SOME,
    ) {
        let name = format!("{prefix}{before}{bad}{after}");
        prop_assert_eq!(ChannelName::parse(&name, 200), Err(ChannelNameError::BadCharacter));
    }

    #[test]
    fn the_length_limit_is_exact(len in 1usize..300, max in 1usize..300) {
        let name = "a".repeat(len);
        let parsed = ChannelName::parse(&name, max);
        if len <= max {
            prop_assert!(parsed.is_ok());
        } else {
            prop_assert_eq!(parsed, Err(ChannelNameError::TooLong { max }));
        }
    }

    #[test]
    fn a_relayed_client_event_parses_back_to_the_same_frame(
        event in any::<String>(),
        channel in any::<String>(),
        data in json_value(),
        user_id in proptest::option::of(any::<String>()),
    ) {
        let raw = RawValue::from_string(data.to_string()).unwrap();
        let encoded = frame::client_event(&event, &channel, &raw, user_id.as_deref());
        let inbound = Inbound::parse(&encoded).unwrap();
        prop_assert_eq!(&inbound.event, &event);
        prop_assert_eq!(inbound.channel.as_deref(), Some(channel.as_str()));
        // A `null` data reads as absent, which the server treats as `null`.
        prop_assert_eq!(inbound.data.map_or("null", RawValue::get), raw.get());
        // The data is relayed verbatim (compared as parsed from the same text: serde_json
        // reads some subnormal floats back one ulp off, whoever wrote them).
        let value: Value = serde_json::from_str(&encoded).unwrap();
        prop_assert_eq!(&value["data"], &serde_json::from_str::<Value>(raw.get()).unwrap());
        prop_assert_eq!(value.get("user_id").and_then(Value::as_str), user_id.as_deref());
    }

    #[test]
    fn subscribe_data_reads_the_same_as_an_object_or_an_encoded_string(
        channel in any::<String>(),
        auth in proptest::option::of(any::<String>()),
        channel_data in proptest::option::of(any::<String>()),
    ) {
        let data = json!({ "channel": channel, "auth": auth, "channel_data": channel_data });
        for data in [data.clone(), Value::String(data.to_string())] {
            let text = json!({ "event": "pusher:subscribe", "data": data }).to_string();
            let inbound = Inbound::parse(&text).unwrap();
            let subscribe: Subscribe = inbound.data_as().unwrap();
            prop_assert_eq!(&subscribe.channel, &channel);
            prop_assert_eq!(&subscribe.auth, &auth);
            prop_assert_eq!(&subscribe.channel_data, &channel_data);
            let unsubscribe: Unsubscribe = inbound.data_as().unwrap();
            prop_assert_eq!(&unsubscribe.channel, &channel);
            prop_assert!(inbound.data_as::<Signin>().is_err());
        }
    }

    #[test]
    fn a_relayed_client_event_is_read_as_the_same_client_event(
        suffix in any::<String>(),
        channel in any::<String>(),
        data in json_value(),
    ) {
        let event = format!("client-{suffix}");
        let raw = RawValue::from_string(data.to_string()).unwrap();
        let encoded = frame::client_event(&event, &channel, &raw, None);
        let ClientFrame::ClientEvent(parsed) = ClientFrame::parse(&encoded).unwrap() else {
            return Err(TestCaseError::fail("not a client event"));
        };
        prop_assert_eq!(&parsed.event, &event);
        prop_assert_eq!(parsed.channel.as_deref(), Some(channel.as_str()));
        prop_assert_eq!(parsed.data.get(), raw.get());
    }

    #[test]
    fn an_event_neither_the_protocols_nor_a_client_event_is_unknown(
        event in any::<String>().prop_filter("not taken", |e| {
            !e.starts_with("client-") && !e.starts_with("pusher:")
        }),
        data in json_value(),
    ) {
        let text = json!({ "event": event, "data": data }).to_string();
        match ClientFrame::parse(&text) {
            Err(ClientFrameError::UnknownEvent(name)) => prop_assert_eq!(name, event),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        }
    }

    #[test]
    fn server_frames_keep_the_strings_they_carry(
        socket_id in socket_id(),
        timeout in any::<u64>(),
        channel in any::<String>(),
        message in any::<String>(),
        status in any::<u16>(),
    ) {
        let established: Value =
            serde_json::from_str(&frame::connection_established(&socket_id, timeout)).unwrap();
        let data: Value = serde_json::from_str(established["data"].as_str().unwrap()).unwrap();
        prop_assert_eq!(data, json!({ "socket_id": socket_id, "activity_timeout": timeout }));
        let error: Value = serde_json::from_str(&frame::error(Some(status), &message)).unwrap();
        prop_assert_eq!(&error["data"], &json!({ "code": status, "message": message }));
        let refused: Value = serde_json::from_str(
            &frame::subscription_error(&channel, "AuthError", &message, status),
        )
        .unwrap();
        prop_assert_eq!(&refused["channel"], &json!(channel));
        prop_assert_eq!(
            &refused["data"],
            &json!({ "type": "AuthError", "error": message, "status": status })
        );
        let event: Value =
            serde_json::from_str(&frame::channel_event("e", &channel, &message)).unwrap();
        prop_assert_eq!(&event["data"], &json!(message));
    }

    #[test]
    fn a_socket_id_displays_and_parses_back(high in 0u64..10_000_000_000_000_000_000, low in 0u64..10_000_000_000_000_000_000) {
        let text = format!("{high}.{low}");
        let id = SocketId::parse(&text).unwrap();
        prop_assert_eq!(id.to_string(), text);
        prop_assert_eq!(SocketId::parse(&id.to_string()), Some(id));
    }

    #[test]
    fn channel_and_user_auth_verify_until_anything_signed_changes(
        socket_id in socket_id(),
        channel in any::<String>(),
        channel_data in proptest::option::of(any::<String>()),
        other in any::<String>(),
    ) {
        let auth = signature::channel_auth(KEY, SECRET, &socket_id, &channel, channel_data.as_deref());
        prop_assert!(signature::verify_channel_auth(KEY, SECRET, &socket_id, &channel, channel_data.as_deref(), &auth));
        prop_assert!(!signature::verify_channel_auth("other-key", SECRET, &socket_id, &channel, channel_data.as_deref(), &auth));
        prop_assert!(!signature::verify_channel_auth(KEY, "other-secret", &socket_id, &channel, channel_data.as_deref(), &auth));
        let moved = format!("{socket_id}1");
        prop_assert!(!signature::verify_channel_auth(KEY, SECRET, &moved, &channel, channel_data.as_deref(), &auth));
        if other != channel {
            prop_assert!(!signature::verify_channel_auth(KEY, SECRET, &socket_id, &other, channel_data.as_deref(), &auth));
        }
        let user = signature::user_auth(KEY, SECRET, &socket_id, &other);
        prop_assert!(signature::verify_user_auth(KEY, SECRET, &socket_id, &other, &user));
        prop_assert!(!signature::verify_user_auth(KEY, SECRET, &moved, &other, &user));
        let longer = format!("{other} ");
        prop_assert!(!signature::verify_user_auth(KEY, SECRET, &socket_id, &longer, &user));
    }

    #[test]
    fn a_signed_api_request_verifies_after_its_trip_through_the_query_string(
        method in "(GET|POST|get|post)",
        path in "/[ -~]{0,40}",
        extra in prop::collection::btree_map("[a-z_]{1,8}", any::<String>(), 0..5),
        body in prop::collection::vec(any::<u8>(), 0..64),
        now in 0u64..4_000_000_000,
        skew in 0u64..=600,
        shuffle in any::<prop::sample::Index>(),
    ) {
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !k.starts_with("auth_") && k != "body_md5")
            .collect();
        let signed = signature::sign_api_request(KEY, SECRET, &method, &path, &extra, &body, now);
        let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(&signed).finish();
        let mut received: Vec<(String, String)> =
            form_urlencoded::parse(query.as_bytes()).into_owned().collect();
        prop_assert_eq!(&received, &signed);
        // The parameters may arrive in any order (the string to sign sorts them by key).
        let len = received.len();
        received.rotate_left(shuffle.index(len));
        let paths = [path.as_str()];
        let request = ApiRequest { method: &method, paths: &paths, params: &received, body: &body };
        prop_assert_eq!(signature::verify_api_request(KEY, SECRET, &request, now + skew), Ok(()));
        prop_assert_eq!(
            signature::verify_api_request(KEY, SECRET, &request, now.saturating_sub(skew)),
            Ok(())
        );
        prop_assert_eq!(
            signature::verify_api_request(KEY, SECRET, &request, now + 601),
            Err(ApiAuthError::StaleTimestamp)
        );
        prop_assert_eq!(
            signature::verify_api_request("other-key", SECRET, &request, now),
            Err(ApiAuthError::WrongKey)
        );
        prop_assert_eq!(
            signature::verify_api_request(KEY, "other-secret", &request, now),
            Err(ApiAuthError::BadSignature)
        );
        let other_path = format!("{path}/");
        prop_assert_eq!(
            signature::verify_api_request(KEY, SECRET, &ApiRequest { paths: &[&other_path], ..request }, now),
            Err(ApiAuthError::BadSignature)
        );
        let mut longer = body.clone();
        longer.push(0);
        prop_assert_eq!(
            signature::verify_api_request(KEY, SECRET, &ApiRequest { body: &longer, ..request }, now),
            Err(if body.is_empty() { ApiAuthError::Missing("body_md5") } else { ApiAuthError::BodyMd5Mismatch })
        );
        if let Some((name, value)) = extra.first() {
            let changed: Vec<(String, String)> = received
                .iter()
                .map(|(k, v)| if k == name && v == value { (k.clone(), format!("{v}x")) } else { (k.clone(), v.clone()) })
                .collect();
            prop_assert_eq!(
                signature::verify_api_request(KEY, SECRET, &ApiRequest { params: &changed, ..request }, now),
                Err(ApiAuthError::BadSignature)
            );
        }
    }
}
