//! Channel authorisation and broadcasting through every driver that has a server to talk to.

use std::sync::Arc;

use parley_chat::broadcast::PusherHttp;
use parley_realtime::{AppConfig, Realtime, RealtimeConfig};
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn a_message_reaches_subscribers_with_the_seed_payload_except_the_sender_socket() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut sender_tab = app.subscriber(id, &visitor).await;
    let mut other_tab = app.subscriber(id, &visitor).await;
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-Visitor-Token", &visitor)
        .header("X-Socket-ID", &sender_tab.socket_id)
        .json(&json!({"message": "hi from tab 1", "client_id": "t1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let stored: Value = response.json().await.unwrap();
    let event = other_tab.event("ChatMessageReceived").await;
    assert_eq!(
        event, stored["message"],
        "the broadcast payload is the stored message"
    );
    for field in [
        "id",
        "sender_type",
        "sender_name",
        "message",
        "attachment_path",
        "attachment_name",
        "is_voice",
        "timestamp",
    ] {
        assert!(event.get(field).is_some(), "seed field {field} missing");
    }
    assert!(
        sender_tab
            .sync()
            .await
            .iter()
            .all(|f| f["event"] != "ChatMessageReceived"),
        "toOthers not honoured"
    );
}

#[tokio::test]
async fn channel_auth_is_for_the_conversations_own_visitor_only() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let (other_id, other_visitor) = app.conversation().await;
    let auth = |visitor: &str, channel: String, socket: &str| {
        app.post("/broadcasting/auth")
            .header("X-Visitor-Token", visitor)
            .form(&[("socket_id", socket.to_string()), ("channel_name", channel)])
            .send()
    };
    let ok = auth(&visitor, format!("private-chat.conversation.{id}"), "1.2")
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let body: Value = ok.json().await.unwrap();
    let expected = parley_protocol::signature::channel_auth(
        KEY,
        SECRET,
        "1.2",
        &format!("private-chat.conversation.{id}"),
        None,
    );
    assert_eq!(body["auth"], expected);
    // Another visitor of the same widget.
    assert_eq!(
        auth(
            &other_visitor,
            format!("private-chat.conversation.{id}"),
            "1.2"
        )
        .await
        .unwrap()
        .status(),
        403
    );
    assert_eq!(
        auth(
            &visitor,
            format!("private-chat.conversation.{other_id}"),
            "1.2"
        )
        .await
        .unwrap()
        .status(),
        403
    );
    assert_eq!(
        auth(&visitor, "private-admin".into(), "1.2")
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        auth(&visitor, format!("private-chat.conversation.{id}"), "bad")
            .await
            .unwrap()
            .status(),
        400
    );
    let no_widget = app
        .http
        .post(app.url("/broadcasting/auth"))
        .form(&[("socket_id", "1.2")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_widget.status(), 401);
    let json_body = app
        .post("/api/chatbot/broadcasting/auth")
        .header("X-Visitor-Token", &visitor)
        .json(
            &json!({"socket_id": "3.4", "channel_name": format!("private-chat.conversation.{id}")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(json_body.status(), 200);
    let _ = other_id;
}

#[tokio::test]
async fn a_broadcaster_that_is_down_loses_nothing() {
    // Nothing listens on this port: every publish fails.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let down = Arc::new(PusherHttp::new(
        "reverb",
        "http",
        "127.0.0.1",
        port,
        APP_ID,
        KEY,
        SECRET,
    ));
    let app = TestApp::start_with(|_| {}, Some(down)).await;
    let (id, visitor) = app.conversation().await;
    let (status, body) = app
        .send(
            id,
            &visitor,
            json!({"message": "still here", "client_id": "d1"}),
        )
        .await;
    assert_eq!(status, 201);
    let page: Value = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["messages"][0]["id"], body["message"]["id"]);
}

#[tokio::test]
async fn the_pusher_http_driver_publishes_to_another_server() {
    // A second, separate server stands in for hosted Pusher: the driver reaches it only over the
    // signed HTTP API.
    let remote_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let remote_addr = remote_listener.local_addr().unwrap();
    let remote = Realtime::new(RealtimeConfig {
        apps: vec![AppConfig::new("777", "remote-key", "remote-secret")],
        ..RealtimeConfig::default()
    })
    .unwrap();
    tokio::spawn(remote.serve(remote_listener, std::future::pending()));
    let driver = Arc::new(PusherHttp::new(
        "pusher",
        "http",
        "127.0.0.1",
        remote_addr.port(),
        "777",
        "remote-key",
        "remote-secret",
    ));
    let app = TestApp::start_with(|_| {}, Some(driver)).await;
    let (id, visitor) = app.conversation().await;

    let uri = format!("ws://{remote_addr}/app/remote-key?protocol=7");
    let (ws, _) = tokio_websockets::ClientBuilder::new()
        .uri(&uri)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut remote_client = RemoteClient(ws);
    let hello = remote_client.recv().await;
    let socket_id: String = serde_json::from_str::<Value>(hello["data"].as_str().unwrap()).unwrap()
        ["socket_id"]
        .as_str()
        .unwrap()
        .into();
    let channel = format!("private-chat.conversation.{id}");
    let auth = parley_protocol::signature::channel_auth(
        "remote-key",
        "remote-secret",
        &socket_id,
        &channel,
        None,
    );
    remote_client
        .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}}))
        .await;
    assert_eq!(
        remote_client.recv().await["event"],
        "pusher_internal:subscription_succeeded"
    );

    let (status, sent) = app
        .send(
            id,
            &visitor,
            json!({"message": "via http", "client_id": "p1"}),
        )
        .await;
    assert_eq!(status, 201);
    let event = remote_client.recv().await;
    assert_eq!(event["event"], "ChatMessageReceived");
    let data: Value = serde_json::from_str(event["data"].as_str().unwrap()).unwrap();
    assert_eq!(data, sent["message"]);
}

struct RemoteClient(
    tokio_websockets::WebSocketStream<tokio_websockets::MaybeTlsStream<tokio::net::TcpStream>>,
);

impl RemoteClient {
    async fn send(&mut self, frame: Value) {
        use futures_util::SinkExt;
        self.0
            .send(tokio_websockets::Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    async fn recv(&mut self) -> Value {
        use futures_util::StreamExt;
        loop {
            let message = tokio::time::timeout(std::time::Duration::from_secs(10), self.0.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if let Some(text) = message.as_text() {
                return serde_json::from_str(text).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn the_http_driver_lists_occupied_channels_and_publishes_to_many() {
    let app = TestApp::start().await;
    let (first, first_visitor) = app.conversation().await;
    let (second, second_visitor) = app.conversation().await;
    let (_unwatched, _) = app.conversation().await;
    let mut first_tab = app.subscriber(first, &first_visitor).await;
    let mut second_tab = app.subscriber(second, &second_visitor).await;
    // The embedded server's HTTP API, as an external Reverb or Pusher would be reached.
    let driver = PusherHttp::new(
        "reverb",
        "http",
        "127.0.0.1",
        app.realtime_addr.port(),
        APP_ID,
        KEY,
        SECRET,
    );
    use parley_chat::broadcast::{Broadcast, Broadcaster};
    let mut occupied = driver
        .occupied_channels("private-chat.conversation.")
        .await
        .unwrap();
    occupied.sort();
    let mut expected = vec![
        format!("private-chat.conversation.{first}"),
        format!("private-chat.conversation.{second}"),
    ];
    expected.sort();
    assert_eq!(occupied, expected);
    assert!(driver
        .occupied_channels("presence-")
        .await
        .unwrap()
        .is_empty());

    driver
        .broadcast(Broadcast {
            channels: expected,
            event: "AgentAvailability".into(),
            data: json!({"agents_online": true}).to_string(),
            except_socket: None,
        })
        .await
        .unwrap();
    for tab in [&mut first_tab, &mut second_tab] {
        assert_eq!(
            tab.event("AgentAvailability").await,
            json!({"agents_online": true})
        );
    }

    // A batch keeps its order: single-channel events go as one batch_events request, the
    // multi-channel one on its own in its place; the excepted socket is left out.
    let event = |name: &str, channels: Vec<String>, except: Option<String>| Broadcast {
        channels,
        event: name.into(),
        data: json!({ "n": name }).to_string(),
        except_socket: except,
    };
    let (first_channel, second_channel) = (
        format!("private-chat.conversation.{first}"),
        format!("private-chat.conversation.{second}"),
    );
    driver
        .broadcast_batch(vec![
            event("one", vec![first_channel.clone()], None),
            event("two", vec![second_channel.clone()], None),
            event(
                "both",
                vec![first_channel.clone(), second_channel.clone()],
                None,
            ),
            event(
                "three",
                vec![first_channel.clone()],
                Some(first_tab.socket_id.clone()),
            ),
            event("four", vec![first_channel.clone()], None),
        ])
        .await
        .unwrap();
    let names = |frames: Vec<Value>| -> Vec<String> {
        frames
            .iter()
            .filter(|f| {
                f["event"]
                    .as_str()
                    .is_some_and(|e| ["one", "two", "both", "three", "four"].contains(&e))
            })
            .map(|f| f["event"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(first_tab.sync().await), ["one", "both", "four"]);
    assert_eq!(names(second_tab.sync().await), ["two", "both"]);

    let wrong_secret = PusherHttp::new(
        "reverb",
        "http",
        "127.0.0.1",
        app.realtime_addr.port(),
        APP_ID,
        KEY,
        "not-the-secret",
    );
    let refused = wrong_secret.occupied_channels("private-").await;
    assert!(
        matches!(
            refused,
            Err(parley_chat::broadcast::BroadcastError::Rejected(_))
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn channel_auth_signs_only_the_canonical_channel_name() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let ada = crate::agents::agent(&app, "Ada").await;
    // Aliases of the same conversation: a socket on one would hear nothing Parley publishes and
    // be missed when the widget or agent is revoked.
    for alias in [
        format!("private-chat.conversation.0{id}"),
        format!("private-chat.conversation.+{id}"),
        format!("private-chat.conversation.{id} "),
        format!("private-chat.conversation.00{id}"),
    ] {
        let response = app
            .post("/api/chatbot/broadcasting/auth")
            .header("X-Visitor-Token", &visitor)
            .form(&[("socket_id", "1.2"), ("channel_name", alias.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "visitor: {alias}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "forbidden");
        let (status, body) = crate::agents::sign(&app, &ada, "1.2", &alias).await;
        assert_eq!(status, 403, "agent: {alias}: {body}");
    }
    let canonical = format!("private-chat.conversation.{id}");
    let (status, _) = crate::agents::sign(&app, &ada, "1.2", &canonical).await;
    assert_eq!(status, 200);
    let (status, _) = crate::agents::sign(&app, &ada, "1.2", "private-agent.0").await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_message_too_large_for_one_event_still_reaches_widgets_and_agents() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut tab = app.subscriber(id, &visitor).await;
    let ada = crate::agents::agent(&app, "Ada").await;
    let mut inbox =
        crate::agents::agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id))
            .await;
    // 2,600 emoji are 10,400 bytes of JSON; 5,000 quotes and backslashes, escaped, 10,000.
    let texts = ["😀".repeat(2600), "\"\\".repeat(2500)];
    for (n, text) in texts.iter().enumerate() {
        let client_id = format!("big-{n}");
        let (status, sent) = app
            .send(
                id,
                &visitor,
                json!({"message": text, "client_id": client_id}),
            )
            .await;
        assert_eq!(status, 201, "{sent}");
        let stored = &sent["message"];
        let frame = loop {
            let frame = tab.recv().await;
            if frame["event"] == "ChatMessageReceived" {
                break frame;
            }
        };
        assert!(frame["data"].as_str().unwrap().len() <= parley_chat::payload::MAX_EVENT_BYTES);
        let event: Value = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            event,
            json!({
                "id": stored["id"], "conversation_id": id, "sender_type": "visitor",
                "timestamp": stored["timestamp"], "client_id": client_id, "truncated": true,
            })
        );
        let update = inbox.event("InboxUpdated").await;
        assert_eq!(update["truncated"], true);
        assert_eq!(update["conversation"]["id"], id);
        assert_eq!(update["message"]["id"], stored["id"]);
        assert_eq!(update["message"]["truncated"], true);
        // What a client fetches on seeing the marker.
        let page: Value = app
            .get(&format!(
                "/api/chatbot/conversation/{id}?after={}&limit=1",
                stored["id"].as_i64().unwrap() - 1
            ))
            .header("X-Visitor-Token", &visitor)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(page["messages"][0]["message"], text.as_str());
    }
    // A message that fits still goes whole.
    let (status, sent) = app
        .send(
            id,
            &visitor,
            json!({"message": "small", "client_id": "small"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(tab.event("ChatMessageReceived").await, sent["message"]);
}
