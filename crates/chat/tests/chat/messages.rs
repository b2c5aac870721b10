//! Sending messages: validation, idempotency, read receipts, reactions.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn a_message_is_stored_and_returned_with_the_seed_fields() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let (status, body) = app
        .send(
            id,
            &visitor,
            json!({"message": "Hello there", "client_id": "abc-1"}),
        )
        .await;
    assert_eq!(status, 201);
    let message = &body["message"];
    let mut keys: Vec<&str> = message
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attachment_name",
            "attachment_path",
            "client_id",
            "conversation_id",
            "id",
            "is_voice",
            "message",
            "sender_name",
            "sender_type",
            "timestamp"
        ]
    );
    assert_eq!(message["sender_type"], "visitor");
    assert_eq!(message["sender_name"], "Vera");
    assert_eq!(message["message"], "Hello there");
    assert!(chrono::DateTime::parse_from_rfc3339(message["timestamp"].as_str().unwrap()).is_ok());
}

#[tokio::test]
async fn a_repeated_client_id_returns_the_first_message_and_stores_nothing() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    let (first_status, first) = app
        .send(
            id,
            &visitor,
            json!({"message": "once", "client_id": "retry-me"}),
        )
        .await;
    let (second_status, second) = app
        .send(
            id,
            &visitor,
            json!({"message": "once", "client_id": "retry-me"}),
        )
        .await;
    assert_eq!((first_status, second_status), (201, 200));
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(app.store.messages_after(id, 0, 10).await.unwrap().len(), 1);
    assert_eq!(
        subscriber.event("ChatMessageReceived").await["client_id"],
        "retry-me"
    );
    let later: Vec<_> = subscriber
        .sync()
        .await
        .into_iter()
        .filter(|f| f["event"] == "ChatMessageReceived")
        .collect();
    assert!(later.is_empty(), "the duplicate was broadcast");
}

#[tokio::test]
async fn bad_messages_get_clear_errors() {
    let app = TestApp::start_with(|config| config.max_message_chars = 10, None).await;
    let (id, visitor) = app.conversation().await;
    assert_eq!(
        app.send(id, &visitor, json!({"message": "   "})).await.0,
        422
    );
    assert_eq!(
        app.send(id, &visitor, json!({"message": "x".repeat(11)}))
            .await
            .0,
        422
    );
    assert_eq!(
        app.send(
            id,
            &visitor,
            json!({"message": "ok", "client_id": "has space"})
        )
        .await
        .0,
        422
    );
    let (status, body) = app
        .send(id, &visitor, json!({"message": "ok", "extra": 1}))
        .await;
    assert_eq!(status, 422, "{body}");
    let bad_socket = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-Visitor-Token", &visitor)
        .header("X-Socket-ID", "nope")
        .json(&json!({"message": "ok"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_socket.status(), 400);
    app.store
        .update_conversation(id, parley_store::ConversationStatus::Closed, None)
        .await
        .unwrap();
    assert_eq!(
        app.send(id, &visitor, json!({"message": "ok"})).await.0,
        409
    );
    assert!(
        app.store
            .messages_after(id, 0, 10)
            .await
            .unwrap()
            .is_empty(),
        "a refused message was stored"
    );
}

#[tokio::test]
async fn read_receipts_only_move_forward_and_are_broadcast() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let (_, first) = app.send(id, &visitor, json!({"message": "hi"})).await;
    let first_id = first["message"]["id"].as_i64().unwrap();
    let (_, sent) = app.send(id, &visitor, json!({"message": "there"})).await;
    let message_id = sent["message"]["id"].as_i64().unwrap();
    let mut subscriber = app.subscriber(id, &visitor).await;
    let read = |last: i64| {
        app.post(&format!("/api/chatbot/conversation/{id}/read"))
            .header("X-Visitor-Token", &visitor)
            .json(&json!({"last_read_id": last}))
            .send()
    };
    let body: Value = read(message_id).await.unwrap().json().await.unwrap();
    assert_eq!(body["read_state"]["last_read_id"], message_id);
    let event = subscriber.event("MessageRead").await;
    assert_eq!(
        event,
        json!({"conversation_id": id, "reader": "visitor", "last_read_id": message_id})
    );
    let body: Value = read(first_id).await.unwrap().json().await.unwrap();
    assert_eq!(
        body["read_state"]["last_read_id"], message_id,
        "the mark moved backwards"
    );
    assert_eq!(read(-1).await.unwrap().status(), 422);
}

/// Reads a conversation as the widget and as an agent; returns (status, body).
async fn mark_read(
    app: &TestApp,
    id: i64,
    visitor: &str,
    agent: &crate::agents::Agent,
    last: Value,
) -> [(u16, Value); 2] {
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/read"))
        .header("X-Visitor-Token", visitor)
        .json(&json!({ "last_read_id": last }))
        .send()
        .await
        .unwrap();
    let widget = (response.status().as_u16(), response.json().await.unwrap());
    let agent = crate::agents::post(
        app,
        &format!("/api/agent/conversations/{id}/read"),
        agent,
        json!({ "last_read_id": last }),
    )
    .await;
    [widget, agent]
}

#[tokio::test]
async fn a_read_receipt_names_a_message_of_its_conversation() {
    let app = TestApp::start().await;
    let ada = crate::agents::agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let (other, other_visitor) = app.conversation().await;
    let (_, mine) = app.send(id, &visitor, json!({"message": "hi"})).await;
    let mine = mine["message"]["id"].as_i64().unwrap();
    let (_, theirs) = app
        .send(
            other,
            &other_visitor,
            json!({"message": "later, elsewhere"}),
        )
        .await;
    let theirs = theirs["message"]["id"].as_i64().unwrap();
    assert!(theirs > mine);

    for (last, what) in [
        (json!(theirs), "another conversation's message"),
        (json!(i64::MAX), "2^63-1"),
        (json!(theirs + 1000), "no message yet"),
        (json!(0), "no message"),
    ] {
        for (reader, (status, body)) in ["widget", "agent"]
            .iter()
            .zip(mark_read(&app, id, &visitor, &ada, last.clone()).await)
        {
            assert_eq!(status, 422, "{reader}, {what}: {body}");
            assert_eq!(body["error"]["code"], "validation_failed", "{body}");
        }
    }
    assert!(
        app.store.read_states(id).await.unwrap().is_empty(),
        "a refused mark was stored"
    );

    // The conversation's own messages still move both marks, which later messages can pass.
    for (reader, (status, body)) in ["widget", "agent"]
        .iter()
        .zip(mark_read(&app, id, &visitor, &ada, json!(mine)).await)
    {
        assert_eq!(status, 200, "{reader}: {body}");
        assert_eq!(body["read_state"]["last_read_id"], mine);
    }
    let (_, next) = app.send(id, &visitor, json!({"message": "again"})).await;
    let next = next["message"]["id"].as_i64().unwrap();
    for (reader, (status, body)) in ["widget", "agent"]
        .iter()
        .zip(mark_read(&app, id, &visitor, &ada, json!(next)).await)
    {
        assert_eq!(status, 200, "{reader}: {body}");
        assert_eq!(body["read_state"]["last_read_id"], next);
    }
}

#[tokio::test]
async fn reactions_toggle_and_are_broadcast() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let (_, sent) = app.send(id, &visitor, json!({"message": "hi"})).await;
    let message_id = sent["message"]["id"].as_i64().unwrap();
    let mut subscriber = app.subscriber(id, &visitor).await;
    let react = |emoji: &str, on: bool| {
        app.post(&format!(
            "/api/chatbot/conversation/{id}/messages/{message_id}/reactions"
        ))
        .header("X-Visitor-Token", &visitor)
        .json(&json!({"emoji": emoji, "on": on}))
        .send()
    };
    let body: Value = react("👍", true).await.unwrap().json().await.unwrap();
    assert_eq!(
        body["reactions"]["reactions"],
        json!([{"emoji": "👍", "count": 1, "reactors": ["visitor"]}])
    );
    assert_eq!(
        subscriber.event("ReactionsUpdated").await["message_id"],
        message_id
    );
    let body: Value = react("👍", false).await.unwrap().json().await.unwrap();
    assert_eq!(body["reactions"]["reactions"], json!([]));
    assert_eq!(react("abc", true).await.unwrap().status(), 422);
    // One emoji, however many code points it takes; never two, a letter, or a lone half flag.
    for emoji in [
        "👍🏽",
        "🇫🇷",
        "👨‍👩‍👧",
        "1️⃣",
        "#⃣",
        "❤️",
        "🏳️‍🌈",
        "🧑🏻‍❤️‍💋‍🧑🏼",
        "🏴\u{e0067}\u{e0062}\u{e0065}\u{e006e}\u{e0067}\u{e007f}",
    ] {
        let response = react(emoji, true).await.unwrap();
        assert_eq!(response.status(), 200, "{emoji:?} is one emoji");
    }
    for emoji in [
        "👍👍",
        "🇫🇷🇩🇪",
        "👍 👍",
        "🇫",
        "a",
        "é",
        "1",
        "#",
        "👍a",
        "a👍",
        "\u{200d}👍",
        "👍\u{200d}",
        "\u{fe0f}",
        "🏴\u{e0067}\u{e0062}",
    ] {
        let response = react(emoji, true).await.unwrap();
        assert_eq!(response.status(), 422, "{emoji:?} is not one emoji");
    }
    let other = app
        .post(&format!(
            "/api/chatbot/conversation/{id}/messages/{}/reactions",
            message_id + 1000
        ))
        .header("X-Visitor-Token", &visitor)
        .json(&json!({"emoji": "👍"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}

#[tokio::test]
async fn reactions_to_impossible_message_ids_are_not_found() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    // The lowest id once overflowed while looking for the message (a panic, not an answer).
    for message_id in [i64::MIN, -1, 0] {
        let response = app
            .post(&format!(
                "/api/chatbot/conversation/{id}/messages/{message_id}/reactions"
            ))
            .header("X-Visitor-Token", &visitor)
            .json(&serde_json::json!({"emoji": "👍"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "message {message_id}");
    }
}
