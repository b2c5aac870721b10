//! Control characters in text people send: refused with 422 `invalid_text` wherever text enters
//! (visitor details, messages in JSON or multipart, agents' replies, saved replies, the inbox
//! search, external bots' replies), alike on SQLite and PostgreSQL, which cannot store NUL.
//! Newline, carriage return and tab are text.

use reqwest::multipart::Form;
use serde_json::{json, Value};

use crate::agents::{agent, call, post};
use crate::support::TestApp;

#[track_caller]
fn assert_invalid_text(status: u16, body: &Value, what: &str) {
    assert_eq!(status, 422, "{what}: {body}");
    assert_eq!(body["success"], false, "{what}: {body}");
    assert_eq!(body["error"]["code"], "invalid_text", "{what}: {body}");
}

#[tokio::test]
async fn visitors_cannot_send_control_characters() {
    let app = TestApp::start().await;
    for (visitor, what) in [
        (json!({"visitor_name": "Ve\u{0}ra"}), "NUL in the name"),
        (json!({"visitor_name": "Vera\u{1b}[31m"}), "ESC in the name"),
        (
            json!({"visitor_email": "vera\u{0}@example.com"}),
            "NUL in the email",
        ),
        (
            json!({"page_url": "https://shop.example/\u{7}"}),
            "BEL in the page URL",
        ),
    ] {
        let response = app
            .post("/api/chatbot/conversation")
            .json(&visitor)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_invalid_text(status, &response.json().await.unwrap(), what);
    }

    let (id, visitor) = app.conversation().await;
    for (text, what) in [
        ("hello\u{0}", "NUL"),
        ("\u{0}", "NUL alone"),
        ("bell\u{7}", "BEL"),
        ("del\u{7f}", "DEL"),
        ("next\u{85}line", "C1 NEL"),
    ] {
        let (status, body) = app.send(id, &visitor, json!({"message": text})).await;
        assert_invalid_text(status, &body, what);
    }
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-Visitor-Token", &visitor)
        .multipart(Form::new().text("message", "caption\u{0}"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_invalid_text(status, &response.json().await.unwrap(), "NUL in multipart");

    // Line breaks (as browsers send them in multipart, CRLF) and tabs are text.
    let (status, body) = app
        .send(id, &visitor, json!({"message": "one\r\ntwo\n\tthree"}))
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["message"], "one\r\ntwo\n\tthree");
    let stored = app.store.messages_after(id, 0, 10).await.unwrap();
    assert_eq!(stored.len(), 1, "only the valid message was stored");
}

#[tokio::test]
async fn agents_cannot_send_or_search_control_characters() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, _) = app.conversation().await;

    let (status, body) = post(
        &app,
        &format!("/api/agent/conversations/{id}/messages"),
        &ada,
        json!({"message": "on it\u{0}"}),
    )
    .await;
    assert_invalid_text(status, &body, "NUL in a reply");

    let (status, body) = post(
        &app,
        "/api/agent/saved-replies",
        &ada,
        json!({"shortcut": "hi", "text": "Hello\u{0}"}),
    )
    .await;
    assert_invalid_text(status, &body, "NUL in a saved reply");
    let (status, body) = post(
        &app,
        "/api/agent/saved-replies",
        &ada,
        json!({"shortcut": "hi", "text": "Hello"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let saved = body["saved_reply"]["id"].as_i64().unwrap();
    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        &format!("/api/agent/saved-replies/{saved}"),
        &ada.token,
        Some(json!({"shortcut": "hi", "text": "Hello\u{1}"})),
    )
    .await;
    assert_invalid_text(status, &body, "SOH in a saved reply update");

    for q in ["%00", "ve%00ra", "%1B"] {
        let (status, body) = call(
            &app,
            reqwest::Method::GET,
            &format!("/api/agent/conversations?q={q}"),
            &ada.token,
            None,
        )
        .await;
        assert_invalid_text(status, &body, &format!("q={q}"));
    }
    let (status, body) = call(
        &app,
        reqwest::Method::GET,
        "/api/agent/conversations?q=vera",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn external_bots_cannot_send_control_characters() {
    let mut app = TestApp::start().await;
    app.use_bot(json!({
        "kind": "webhook",
        "url": "http://127.0.0.1:9/hook",
        "secret": "hook-secret",
        "reply_token": "reply-token-1",
    }))
    .await;
    let (id, _) = app.conversation().await;
    let response = app
        .http
        .post(app.url(&format!("/api/bot/conversations/{id}/messages")))
        .bearer_auth("reply-token-1")
        .json(&json!({"message": "Your order\u{1b}[1m shipped"}))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert_invalid_text(
        status,
        &response.json().await.unwrap(),
        "ESC in a bot reply",
    );
    assert!(app
        .store
        .messages_after(id, 0, 10)
        .await
        .unwrap()
        .is_empty());
}
