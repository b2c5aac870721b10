//! What visitors see of the team's doings: a line in the thread when an agent closes or reopens
//! the conversation (live, in the history, in the visitor's language, once per change however
//! many agents close it at once), and the name the widget goes by (its display name, else the
//! site's, never the team's own name for it).

use parley_bot::{phrase, Phrase};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    admin::owner,
    agents::{agent, post},
    support::TestApp,
};

/// The conversation's messages as the visitor's widget reads them.
async fn history(app: &TestApp, id: i64, visitor: &str) -> Vec<Value> {
    let body: Value = app
        .get(&format!("/api/chatbot/conversation/{id}?after=0"))
        .header("X-Visitor-Token", visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"].as_array().unwrap().clone()
}

/// The system lines of a history, as text.
fn lines(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .filter(|m| m["sender_type"] == "system")
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn closing_and_reopening_are_said_in_the_thread_in_the_visitors_language() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app
        .conversation_as(json!({"visitor_name": "Vera", "locale": "de-AT"}))
        .await;
    app.send(id, &visitor, json!({"message": "Hallo"})).await;
    let mut watching = app.subscriber(id, &visitor).await;
    let status = format!("/api/agent/conversations/{id}/status");
    let closed = phrase(Phrase::Closed, Some("de"));
    let reopened = phrase(Phrase::Reopened, Some("de"));
    assert_eq!(closed, "Das Gespräch wurde beendet.");

    let (code, body) = post(&app, &status, &ada, json!({"status": "closed"})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        watching.event("ConversationUpdated").await["status"],
        "closed"
    );
    let line = watching.event("ChatMessageReceived").await;
    assert_eq!(line["sender_type"], "system");
    assert_eq!(line["message"], closed);
    assert_eq!(lines(&history(&app, id, &visitor).await), [closed]);

    // Closing what is closed says nothing more.
    let (code, _) = post(&app, &status, &ada, json!({"status": "closed"})).await;
    assert_eq!(code, 200);
    assert_eq!(
        watching.event("ConversationUpdated").await["status"],
        "closed"
    );
    assert_eq!(lines(&history(&app, id, &visitor).await), [closed]);

    // Reopened: said too, and the visitor may write again.
    let (code, body) = post(&app, &status, &ada, json!({"status": "human"})).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        watching.event("ConversationUpdated").await["status"],
        "human"
    );
    assert_eq!(
        watching.event("ChatMessageReceived").await["message"],
        reopened
    );
    let (code, _) = app.send(id, &visitor, json!({"message": "Noch da?"})).await;
    assert_eq!(code, 201);

    // Each later close has its own line, after what was said.
    post(&app, &status, &ada, json!({"status": "closed"})).await;
    let said: Vec<String> = history(&app, id, &visitor)
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(said, ["Hallo", closed, reopened, "Noch da?", closed]);

    // Giving a closed conversation to an agent reopens it, and says so.
    let (code, body) = post(
        &app,
        &format!("/api/agent/conversations/{id}/assign"),
        &ada,
        json!({}),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        lines(&history(&app, id, &visitor).await),
        [closed, reopened, closed, reopened]
    );
}

#[tokio::test]
async fn two_agents_closing_at_once_add_one_line_in_english_by_default() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let grace = agent(&app, "Grace").await;
    for _ in 0..5 {
        let (id, visitor) = app.conversation().await;
        app.send(id, &visitor, json!({"message": "hi"})).await;
        let status = format!("/api/agent/conversations/{id}/status");
        let (a, b) = tokio::join!(
            post(&app, &status, &ada, json!({"status": "closed"})),
            post(&app, &status, &grace, json!({"status": "closed"})),
        );
        assert_eq!((a.0, b.0), (200, 200));
        assert_eq!(
            lines(&history(&app, id, &visitor).await),
            ["The conversation was closed."]
        );
    }
}

/// The widget's configuration as a page reads it.
async fn widget_config(app: &TestApp) -> Value {
    app.get("/api/chatbot/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn visitors_see_the_display_name_else_the_sites_never_the_widgets_own() {
    let app = TestApp::start_with(|config| config.app_name = Some("Acme Shop".into()), None).await;
    let widget = &widget_config(&app).await["widget"];
    assert_eq!(widget["display_name"], "Acme Shop", "{widget}");
    assert_eq!(
        widget["bot_name"], "Acme Shop",
        "the bot speaks as the site"
    );

    let admin = owner(&app).await;
    let path = format!("/api/admin/widgets/{}", app.widget_id);
    let (_, listed) = admin.call(Method::GET, "/api/admin/widgets", None).await;
    assert_eq!(listed["site_name"], "Acme Shop");
    for bad in [
        json!(""),
        json!(42),
        json!("x".repeat(101)),
        json!("two\nlines"),
    ] {
        let (code, body) = admin
            .call(
                Method::PATCH,
                &path,
                Some(json!({"settings": {"display_name": bad}})),
            )
            .await;
        assert_eq!(code, 422, "{bad}: {body}");
    }
    let (code, body) = admin
        .call(
            Method::PATCH,
            &path,
            Some(json!({"settings": {"display_name": " Acme Help "}})),
        )
        .await;
    assert_eq!(code, 200, "{body}");
    let widget = &widget_config(&app).await["widget"];
    assert_eq!(widget["display_name"], "Acme Help");
    assert_eq!(widget["bot_name"], "Acme Help");

    // A bot name of its own wins for the bot; the title stays the display name.
    admin
        .call(
            Method::PATCH,
            &path,
            Some(json!({"settings": {"display_name": "Acme Help", "bot_name": "Robo"}})),
        )
        .await;
    let widget = &widget_config(&app).await["widget"];
    assert_eq!(
        (&widget["display_name"], &widget["bot_name"]),
        (&json!("Acme Help"), &json!("Robo"))
    );

    // Nothing set anywhere: no name (the widget says "Chat"), and the bot is the Assistant.
    let plain = TestApp::start().await;
    let widget = &widget_config(&plain).await["widget"];
    assert_eq!(widget["display_name"], Value::Null);
    assert_eq!(widget["bot_name"], "Assistant");
}
