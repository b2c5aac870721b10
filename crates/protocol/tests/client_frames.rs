//! Test vectors for the parser of clients' frames: each text a client may send, and what the
//! server reads it as, or the exact `pusher:error` message (and close code, if any) it answers
//! with. The messages are what clients see, so they are written out in full.

use parley_protocol::frame::{ClientFrame, ClientFrameError};

/// A parsed frame (or error) written as one line, so the vectors read as a table.
fn outcome(text: &str) -> String {
    match ClientFrame::parse(text) {
        Ok(ClientFrame::Ping) => "ping".into(),
        Ok(ClientFrame::Pong) => "pong".into(),
        Ok(ClientFrame::Subscribe(s)) => format!(
            "subscribe {:?} auth={:?} channel_data={:?}",
            s.channel, s.auth, s.channel_data
        ),
        Ok(ClientFrame::Unsubscribe(u)) => format!("unsubscribe {:?}", u.channel),
        Ok(ClientFrame::Signin(s)) => {
            format!("signin auth={:?} user_data={:?}", s.auth, s.user_data)
        }
        Ok(ClientFrame::ClientEvent(e)) => format!(
            "client-event {:?} channel={:?} data={}",
            e.event,
            e.channel,
            e.data.get()
        ),
        Err(error) => match error.close_code() {
            Some(code) => format!("close {}: {error}", code.code()),
            None => format!("error: {error}"),
        },
    }
}

fn check(vectors: &[(&str, &str)]) {
    let mut wrong = Vec::new();
    for (text, expected) in vectors {
        let got = outcome(text);
        if got != *expected {
            wrong.push(format!("{text}\n  expected {expected}\n  got      {got}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn protocol_events() {
    check(&[
        (r#"{"event":"pusher:ping","data":{}}"#, "ping"),
        (r#"{"event":"pusher:ping"}"#, "ping"),
        // A ping's data is not read.
        (r#"{"event":"pusher:ping","data":"not json {"}"#, "ping"),
        (r#"{"event":"pusher:pong","data":{}}"#, "pong"),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"my-channel"}}"#,
            r#"subscribe "my-channel" auth=None channel_data=None"#,
        ),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"private-c","auth":"key:abc"}}"#,
            r#"subscribe "private-c" auth=Some("key:abc") channel_data=None"#,
        ),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"presence-r","auth":"key:abc","channel_data":"{\"user_id\":1}"}}"#,
            r#"subscribe "presence-r" auth=Some("key:abc") channel_data=Some("{\"user_id\":1}")"#,
        ),
        // pusher-js sends `auth: ""` on public channels; `null` reads as absent.
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"a","auth":""}}"#,
            r#"subscribe "a" auth=Some("") channel_data=None"#,
        ),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"a","auth":null,"channel_data":null}}"#,
            r#"subscribe "a" auth=None channel_data=None"#,
        ),
        // Data encoded twice (a JSON string holding the object), as some clients send it.
        (
            r#"{"event":"pusher:subscribe","data":"{\"channel\":\"b\",\"auth\":\"k:s\"}"}"#,
            r#"subscribe "b" auth=Some("k:s") channel_data=None"#,
        ),
        // Unknown fields, field order, whitespace and escapes do not matter.
        (
            " \r\n\t{\"data\" : {\"extra\":[1,2],\"channel\":\"a\"} , \"id\":7, \"event\" : \"pusher:\\u0073ubscribe\"}\n",
            r#"subscribe "a" auth=None channel_data=None"#,
        ),
        (
            r#"{"event":"pusher:unsubscribe","data":{"channel":"a"}}"#,
            r#"unsubscribe "a""#,
        ),
        (
            r#"{"event":"pusher:unsubscribe","data":"{\"channel\":\"a\"}"}"#,
            r#"unsubscribe "a""#,
        ),
        (
            r#"{"event":"pusher:signin","data":{"auth":"key:abc","user_data":"{\"id\":\"1\"}"}}"#,
            r#"signin auth="key:abc" user_data="{\"id\":\"1\"}""#,
        ),
        (
            r#"{"event":"pusher:signin","data":"{\"auth\":\"k:s\",\"user_data\":\"{}\"}"}"#,
            r#"signin auth="k:s" user_data="{}""#,
        ),
        // serde reads a struct from an array of its fields in order too, the envelope included.
        (
            r#"{"event":"pusher:subscribe","data":["a", "k:s"]}"#,
            r#"subscribe "a" auth=Some("k:s") channel_data=None"#,
        ),
        (r#"["pusher:ping"]"#, "ping"),
        (
            r#"["client-x", "private-c", {"a":1}]"#,
            r#"client-event "client-x" channel=Some("private-c") data={"a":1}"#,
        ),
    ]);
}

#[test]
fn client_events_keep_their_data_verbatim() {
    check(&[
        (
            r#"{"event":"client-typing","channel":"private-c","data":{"typing":true}}"#,
            r#"client-event "client-typing" channel=Some("private-c") data={"typing":true}"#,
        ),
        // Byte for byte: whitespace, escapes and number spellings are relayed as sent.
        (
            r#"{"event":"client-x","channel":"private-c","data": { "a" : 1.50e0, "b":"\u00e9\n" } }"#,
            r#"client-event "client-x" channel=Some("private-c") data={ "a" : 1.50e0, "b":"\u00e9\n" }"#,
        ),
        (
            r#"{"event":"client-x","channel":"private-c","data":"hi"}"#,
            r#"client-event "client-x" channel=Some("private-c") data="hi""#,
        ),
        (
            r#"{"event":"client-x","channel":"private-c","data":[1,"two",null]}"#,
            r#"client-event "client-x" channel=Some("private-c") data=[1,"two",null]"#,
        ),
        // No data, or null, is relayed as null.
        (
            r#"{"event":"client-x","channel":"private-c"}"#,
            r#"client-event "client-x" channel=Some("private-c") data=null"#,
        ),
        (
            r#"{"event":"client-x","channel":"private-c","data":null}"#,
            r#"client-event "client-x" channel=Some("private-c") data=null"#,
        ),
        // Whether the channel is one the socket may send to is the server's to judge.
        (
            r#"{"event":"client-x","data":{}}"#,
            r#"client-event "client-x" channel=None data={}"#,
        ),
        (
            r#"{"event":"client-x","channel":null,"data":{}}"#,
            r#"client-event "client-x" channel=None data={}"#,
        ),
        (
            r#"{"event":"client-","channel":""}"#,
            r#"client-event "client-" channel=Some("") data=null"#,
        ),
        (
            r#"{"event":"client-\u00e9\u0000","channel":"private-c","data":1}"#,
            r#"client-event "client-é\0" channel=Some("private-c") data=1"#,
        ),
    ]);
}

#[test]
fn frames_that_are_not_json_envelopes_are_malformed() {
    check(&[
        ("", "error: Invalid message format: EOF while parsing a value at line 1 column 0"),
        ("not json", "error: Invalid message format: expected ident at line 1 column 2"),
        (
            "[]",
            "error: Invalid message format: invalid length 0, expected struct Inbound with 3 elements at line 1 column 2",
        ),
        (
            r#""{\"event\":\"pusher:ping\"}""#,
            r#"error: Invalid message format: invalid type: string "{\"event\":\"pusher:ping\"}", expected struct Inbound at line 1 column 29"#,
        ),
        ("{}", "error: Invalid message format: missing field `event` at line 1 column 2"),
        (
            r#"{"data":{}}"#,
            "error: Invalid message format: missing field `event` at line 1 column 11",
        ),
        (
            r#"{"event":1}"#,
            "error: Invalid message format: invalid type: integer `1`, expected a string at line 1 column 10",
        ),
        (
            r#"{"event":null}"#,
            "error: Invalid message format: invalid type: null, expected a string at line 1 column 13",
        ),
        (
            r#"{"event":"client-x","channel":5}"#,
            "error: Invalid message format: invalid type: integer `5`, expected a string at line 1 column 31",
        ),
        (
            r#"{"event":"pusher:ping"} x"#,
            "error: Invalid message format: trailing characters at line 1 column 25",
        ),
        (
            r#"{"event":"pusher:ping","event":"pusher:pong"}"#,
            "error: Invalid message format: duplicate field `event` at line 1 column 30",
        ),
        (
            r#"{"event":"pusher:ping","data":{"#,
            "error: Invalid message format: EOF while parsing an object at line 1 column 31",
        ),
        (
            "{\"event\":\"a\u{0}b\"}",
            "error: Invalid message format: control character (\\u0000-\\u001F) found while parsing a string at line 1 column 12",
        ),
        (
            r#"{"event":"\ud800"}"#,
            "error: Invalid message format: unexpected end of hex escape at line 1 column 17",
        ),
    ]);
}

#[test]
fn protocol_events_with_unreadable_data() {
    const SUBSCRIBE: &str = "error: pusher:subscribe needs data {channel, auth?, channel_data?}";
    const UNSUBSCRIBE: &str = "error: pusher:unsubscribe needs data {channel}";
    // A sign-in that cannot be read closes the connection, like one that does not verify.
    const SIGNIN: &str = "close 4009: pusher:signin needs data {auth, user_data}";
    check(&[
        (r#"{"event":"pusher:subscribe"}"#, SUBSCRIBE),
        (r#"{"event":"pusher:subscribe","data":null}"#, SUBSCRIBE),
        (r#"{"event":"pusher:subscribe","data":{}}"#, SUBSCRIBE),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":5}}"#,
            SUBSCRIBE,
        ),
        (
            r#"{"event":"pusher:subscribe","data":{"channel":"a","auth":5}}"#,
            SUBSCRIBE,
        ),
        (
            r#"{"event":"pusher:subscribe","data":"not json"}"#,
            SUBSCRIBE,
        ),
        (
            r#"{"event":"pusher:subscribe","data":"\"{\\\"channel\\\":\\\"a\\\"}\""}"#,
            SUBSCRIBE,
        ),
        // Subscribe's data is not unsubscribe's, and the other way round.
        (
            r#"{"event":"pusher:subscribe","data":{"chan":"a"}}"#,
            SUBSCRIBE,
        ),
        (r#"{"event":"pusher:unsubscribe"}"#, UNSUBSCRIBE),
        (r#"{"event":"pusher:unsubscribe","data":[]}"#, UNSUBSCRIBE),
        (
            r#"{"event":"pusher:unsubscribe","data":{"channel":null}}"#,
            UNSUBSCRIBE,
        ),
        (r#"{"event":"pusher:signin"}"#, SIGNIN),
        (r#"{"event":"pusher:signin","data":{"auth":"k:s"}}"#, SIGNIN),
        (
            r#"{"event":"pusher:signin","data":{"user_data":"{}"}}"#,
            SIGNIN,
        ),
        // `user_data` is the signed string, not an object.
        (
            r#"{"event":"pusher:signin","data":{"auth":"k:s","user_data":{"id":"1"}}}"#,
            SIGNIN,
        ),
        (r#"{"event":"pusher:signin","data":"{"}"#, SIGNIN),
    ]);
}

#[test]
fn other_events_are_unknown() {
    check(&[
        (
            r#"{"event":"pusher:hello"}"#,
            r#"error: Unknown event "pusher:hello""#,
        ),
        (
            r#"{"event":"pusher:PING"}"#,
            r#"error: Unknown event "pusher:PING""#,
        ),
        (
            r#"{"event":"Client-x","channel":"private-c"}"#,
            r#"error: Unknown event "Client-x""#,
        ),
        (r#"{"event":"client"}"#, r#"error: Unknown event "client""#),
        (
            r#"{"event":"pusher_internal:subscription_succeeded","channel":"a"}"#,
            r#"error: Unknown event "pusher_internal:subscription_succeeded""#,
        ),
        (
            r#"{"event":"MyEvent","channel":"a","data":{}}"#,
            r#"error: Unknown event "MyEvent""#,
        ),
        (r#"{"event":""}"#, r#"error: Unknown event """#),
        (
            r#"{"event":"a\"b\u0000\n"}"#,
            r#"error: Unknown event "a\"b\0\n""#,
        ),
    ]);
}

#[test]
fn only_an_unreadable_sign_in_closes_the_connection() {
    let frames = [
        "not json",
        r#"{"event":"pusher:subscribe"}"#,
        r#"{"event":"pusher:unsubscribe"}"#,
        r#"{"event":"nope"}"#,
        r#"{"event":"pusher:signin"}"#,
    ];
    let codes: Vec<Option<u16>> = frames
        .iter()
        .map(|text| {
            let error = ClientFrame::parse(text).unwrap_err();
            error.close_code().map(|code| code.code())
        })
        .collect();
    assert_eq!(codes, [None, None, None, None, Some(4009)]);
    assert!(matches!(
        ClientFrame::parse(r#"{"event":"pusher:signin"}"#),
        Err(ClientFrameError::BadSignin)
    ));
}
