//! The Pusher protocol's text codecs: client frames, channel names, and the signatures of
//! channel auth, sign-in and the HTTP API.

use parley_protocol::{
    channel::SERVER_TO_USER_PREFIX,
    frame::{
        self, ClientFrame, ClientFrameError, Inbound, PresenceChannelData, Signin, Subscribe,
        Unsubscribe, UserData,
    },
    signature::{self, ApiAuthError, ApiRequest},
    ChannelKind, ChannelName, ChannelNameError,
};
use serde_json::{value::RawValue, Value};

/// A client's text frame, parsed the way the server parses it ([`ClientFrame::parse`]), which
/// must agree with the envelope and each event's `data` read on their own; then what that data
/// names (channel, presence member, signed-in user). A frame that parses re-encodes (as the
/// server relays client events) to the same frame.
pub fn client_frame(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = ClientFrame::parse(text);
    if let Err(error) = &parsed {
        // The answer is a well-formed `pusher:error` carrying the message; only an unreadable
        // sign-in closes the connection.
        let code = error.close_code().map(|code| code.code());
        assert_eq!(code.is_some(), matches!(error, ClientFrameError::BadSignin));
        let reply: Value = serde_json::from_str(&frame::error(code, &error.to_string())).unwrap();
        assert_eq!(reply["data"]["message"], Value::String(error.to_string()));
    }
    let Ok(inbound) = Inbound::parse(text) else {
        assert!(matches!(parsed, Err(ClientFrameError::Malformed(_))));
        return;
    };
    match (inbound.event.as_str(), &parsed) {
        ("pusher:ping", Ok(ClientFrame::Ping)) | ("pusher:pong", Ok(ClientFrame::Pong)) => {}
        ("pusher:subscribe", Ok(ClientFrame::Subscribe(subscribe))) => {
            assert_eq!(
                inbound.data_as::<Subscribe>().ok().map(|s| s.channel),
                Some(subscribe.channel.clone())
            );
        }
        ("pusher:subscribe", Err(ClientFrameError::BadSubscribe)) => {
            assert!(inbound.data_as::<Subscribe>().is_err());
        }
        ("pusher:unsubscribe", Ok(ClientFrame::Unsubscribe(unsubscribe))) => {
            assert_eq!(
                inbound.data_as::<Unsubscribe>().ok().map(|u| u.channel),
                Some(unsubscribe.channel.clone())
            );
        }
        ("pusher:unsubscribe", Err(ClientFrameError::BadUnsubscribe)) => {
            assert!(inbound.data_as::<Unsubscribe>().is_err());
        }
        ("pusher:signin", Ok(ClientFrame::Signin(signin))) => {
            assert_eq!(
                inbound.data_as::<Signin>().ok().map(|s| s.user_data),
                Some(signin.user_data.clone())
            );
        }
        ("pusher:signin", Err(ClientFrameError::BadSignin)) => {
            assert!(inbound.data_as::<Signin>().is_err());
        }
        (event, Ok(ClientFrame::ClientEvent(client))) if event.starts_with("client-") => {
            assert_eq!(client.event, event);
            assert_eq!(client.channel, inbound.channel);
            assert_eq!(
                client.data.get(),
                inbound.data.map_or("null", RawValue::get)
            );
        }
        (event, Err(ClientFrameError::UnknownEvent(name))) => {
            assert_eq!(name, event);
            assert!(!event.starts_with("client-"));
        }
        (event, other) => panic!("{event:?} was read as {other:?}"),
    }
    if let Ok(subscribe) = inbound.data_as::<Subscribe>() {
        if let Ok(channel) = ChannelName::parse(&subscribe.channel, usize::MAX) {
            let _ = (
                channel.kind(),
                channel.is_cache(),
                channel.server_to_user_id(),
            );
        }
        if let Some(data) = subscribe.channel_data.as_deref() {
            if let Ok(member) = serde_json::from_str::<PresenceChannelData>(data) {
                if let Some(id) = member.user_id_string() {
                    assert!(!id.is_empty());
                }
            }
        }
    }
    let _ = inbound.data_as::<Unsubscribe>();
    if let Ok(signin) = inbound.data_as::<Signin>() {
        if let Ok(user) = serde_json::from_str::<UserData>(&signin.user_data) {
            assert!(user.id_string().is_none_or(|id| !id.is_empty()));
            let _ = user.watchlist_strings();
        }
    }
    let null = RawValue::from_string("null".into()).expect("null is JSON");
    let data = inbound.data.unwrap_or(&null);
    let channel = inbound.channel.as_deref().unwrap_or("");
    let relayed = frame::client_event(&inbound.event, channel, data, Some("u"));
    let again = Inbound::parse(&relayed).expect("a relayed frame parses");
    assert_eq!(again.event, inbound.event);
    assert_eq!(again.channel.as_deref(), Some(channel));
    // A `null` data reads as absent, which the server treats as `null`.
    assert_eq!(again.data.map_or("null", RawValue::get), data.get());
    // The frames built from client-chosen strings stay JSON with the strings intact.
    let error: Value = serde_json::from_str(&frame::error(Some(4009), &inbound.event)).unwrap();
    assert_eq!(
        error["data"]["message"],
        Value::String(inbound.event.clone())
    );
    let refused: Value =
        serde_json::from_str(&frame::subscription_error(channel, "AuthError", text, 401)).unwrap();
    assert_eq!(refused["channel"], channel);
    assert_eq!(refused["data"]["error"], text);
}

/// The protocol's alphabet, written out again independently of the parser.
fn expected_channel(name: &str, max: usize) -> Result<(), ChannelNameError> {
    if name.is_empty() {
        return Err(ChannelNameError::Empty);
    }
    if name.len() > max {
        return Err(ChannelNameError::TooLong { max });
    }
    let body = if name.len() >= SERVER_TO_USER_PREFIX.len()
        && name.as_bytes()[..SERVER_TO_USER_PREFIX.len()] == *SERVER_TO_USER_PREFIX.as_bytes()
    {
        if name.len() == SERVER_TO_USER_PREFIX.len() {
            return Err(ChannelNameError::NoUser);
        }
        &name[SERVER_TO_USER_PREFIX.len()..]
    } else {
        name
    };
    if body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=@,.;".contains(c))
    {
        Ok(())
    } else {
        Err(ChannelNameError::BadCharacter)
    }
}

/// Channel names: accepted exactly when the protocol's alphabet and the limit allow, shown as
/// sent, and of the kind their prefix says.
pub fn channel_name(data: &[u8]) {
    let [limit, rest @ ..] = data else {
        return;
    };
    let Ok(name) = std::str::from_utf8(rest) else {
        return;
    };
    let max = usize::from(*limit);
    let parsed = ChannelName::parse(name, max);
    assert_eq!(
        parsed.as_ref().err(),
        expected_channel(name, max).err().as_ref(),
        "{name:?}"
    );
    let Ok(channel) = parsed else {
        return;
    };
    assert_eq!(channel.to_string(), name);
    assert_eq!(
        ChannelName::parse(&channel.to_string(), max).as_ref(),
        Ok(&channel)
    );
    let kind = channel.kind();
    let expected = if name.starts_with(SERVER_TO_USER_PREFIX) {
        ChannelKind::ServerToUser
    } else if name.starts_with("presence-") {
        ChannelKind::Presence
    } else if name.starts_with("private-encrypted-") {
        ChannelKind::PrivateEncrypted
    } else if name.starts_with("private-") {
        ChannelKind::Private
    } else {
        ChannelKind::Public
    };
    assert_eq!(kind, expected, "{name:?}");
    assert_eq!(
        channel.server_to_user_id().is_some(),
        kind == ChannelKind::ServerToUser
    );
    if channel.is_cache() {
        assert!(name.contains("cache-"));
    }
}

const KEY: &str = "fuzz-key";
const SECRET: &str = "fuzz-secret";

/// Splits an HTTP API input: `METHOD PATH?QUERY`, a line break, then the body.
pub fn split_request(data: &[u8]) -> Option<(&str, &str, &str, &[u8])> {
    let line_end = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let line = std::str::from_utf8(&data[..line_end]).ok()?;
    let body = data.get(line_end + 1..).unwrap_or_default();
    let (method, target) = line.split_once(' ').unwrap_or((line, ""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    Some((method, path, query, body))
}

/// Pusher's own example timestamp; each run checks the window around it.
const NOW: u64 = 1_353_088_179;

///
/// The input is `METHOD PATH?QUERY`, a line break, and the body; the query is parsed the way the
/// server parses it.
pub fn api_signature(data: &[u8]) {
    let Some((method, path, query, body)) = split_request(data) else {
        return;
    };
    let now = NOW;
    let params: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let paths = [path];
    let request = ApiRequest {
        method,
        paths: &paths,
        params: &params,
        body,
    };
    if signature::verify_api_request(KEY, SECRET, &request, now).is_ok() {
        // Only possible when the fuzzer wrote the right HMAC itself; check that it did.
        let message = signature::api_string_to_sign(method, path, &params);
        let sent = params.iter().find(|(k, _)| k == "auth_signature").unwrap();
        assert_eq!(
            sent.1.trim().to_ascii_lowercase(),
            signature::hmac_hex(SECRET, message.as_bytes())
        );
    }

    let extra: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| !k.starts_with("auth_") && k != "body_md5")
        .collect();
    let signed = signature::sign_api_request(KEY, SECRET, method, path, &extra, body, now);
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&signed)
        .finish();
    let received: Vec<(String, String)> = form_urlencoded::parse(encoded.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(received, signed);
    let request = ApiRequest {
        method,
        paths: &paths,
        params: &received,
        body,
    };
    assert_eq!(
        signature::verify_api_request(KEY, SECRET, &request, now),
        Ok(())
    );
    assert_eq!(
        signature::verify_api_request(KEY, SECRET, &request, now + 601),
        Err(ApiAuthError::StaleTimestamp)
    );
    let mut other_body = body.to_vec();
    other_body.push(b'!');
    let other_body_error = if body.is_empty() {
        ApiAuthError::Missing("body_md5")
    } else {
        ApiAuthError::BodyMd5Mismatch
    };
    assert_eq!(
        signature::verify_api_request(
            KEY,
            SECRET,
            &ApiRequest {
                body: &other_body,
                ..request
            },
            now
        ),
        Err(other_body_error)
    );
    let other_path = format!("{path}/");
    assert_eq!(
        signature::verify_api_request(
            KEY,
            SECRET,
            &ApiRequest {
                paths: &[&other_path],
                ..request
            },
            now
        ),
        Err(ApiAuthError::BadSignature)
    );
    if let Some((name, value)) = extra.first() {
        let mut changed = received.clone();
        changed[0] = (name.clone(), format!("{value}x"));
        assert_eq!(
            signature::verify_api_request(
                KEY,
                SECRET,
                &ApiRequest {
                    params: &changed,
                    ..request
                },
                now
            ),
            Err(ApiAuthError::BadSignature)
        );
    }

    // Channel and user auth, over the same strings.
    let socket_id = "1234.1234";
    let channel_data = (!query.is_empty()).then_some(query);
    let auth = signature::channel_auth(KEY, SECRET, socket_id, path, channel_data);
    assert!(signature::verify_channel_auth(
        KEY,
        SECRET,
        socket_id,
        path,
        channel_data,
        &auth
    ));
    assert!(!signature::verify_channel_auth(
        KEY,
        SECRET,
        "1234.1235",
        path,
        channel_data,
        &auth
    ));
    let user_data = String::from_utf8_lossy(body);
    let user = signature::user_auth(KEY, SECRET, socket_id, &user_data);
    assert!(signature::verify_user_auth(
        KEY, SECRET, socket_id, &user_data, &user
    ));
    assert!(!signature::verify_user_auth(
        KEY,
        SECRET,
        "1234.1235",
        &user_data,
        &user
    ));
}
