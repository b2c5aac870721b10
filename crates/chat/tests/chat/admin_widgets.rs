//! The admins' widget pages through the API: a widget made, changed, given a new token and
//! revoked; its knowledge edited entry by entry, tried, and answered from by the running bot at
//! once.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    admin::{member, owner},
    bot::{next_reply, start_runner},
    support::*,
};

async fn config_status(app: &TestApp, token: &str) -> u16 {
    app.http
        .get(app.url("/api/chatbot/config"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_widget_is_made_changed_given_a_new_token_and_revoked() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (status, made) = admin
        .call(
            Method::POST,
            "/api/admin/widgets",
            Some(json!({
                "name": " Shop ",
                "allowed_origins": ["https://shop.example/"],
                "settings": {"greeting": "Hello!", "colors": {"primary": "#0a7"}},
            })),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["widget"]["id"].as_i64().unwrap();
    let token = made["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("cbw_"));
    assert_eq!(made["widget"]["name"], "Shop");
    assert_eq!(
        made["widget"]["allowed_origins"],
        json!(["https://shop.example"])
    );
    let snippet = made["snippet"].as_str().unwrap();
    assert!(
        snippet.contains(&format!("apiToken: '{token}'")),
        "{snippet}"
    );
    assert!(
        snippet.contains(&format!("{}/chatbot-widget.js", app.base)),
        "{snippet}"
    );
    assert_eq!(config_status(&app, &token).await, 200);

    let (_, listed) = admin.call(Method::GET, "/api/admin/widgets", None).await;
    assert!(
        !listed.to_string().contains(&token),
        "the token is shown only once"
    );

    // Refused changes write nothing.
    for body in [
        json!({ "allowed_origins": ["shop.example"] }),
        json!({ "name": "" }),
        json!({ "settings": {"bot": {"kind": "knowledge", "treshold": 0.3}} }),
        json!({ "settings": [1, 2] }),
        json!({ "colour": "red" }),
    ] {
        let (status, answer) = admin
            .call(
                Method::PATCH,
                &format!("/api/admin/widgets/{id}"),
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
    }
    let (status, changed) = admin
        .call(
            Method::PATCH,
            &format!("/api/admin/widgets/{id}"),
            Some(json!({ "name": "Shop front", "settings": {"greeting": "Hi there"} })),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["widget"]["name"], "Shop front");
    assert_eq!(
        changed["widget"]["allowed_origins"],
        json!(["https://shop.example"])
    );
    let stored = app.store.widget(id).await.unwrap().unwrap();
    assert_eq!(stored.settings, json!({"greeting": "Hi there"}));

    let (status, renewed) = admin
        .call(
            Method::POST,
            &format!("/api/admin/widgets/{id}/token"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let new_token = renewed["token"].as_str().unwrap();
    assert_ne!(new_token, token);
    assert_eq!(
        config_status(&app, &token).await,
        401,
        "the old token stops"
    );
    assert_eq!(config_status(&app, new_token).await, 200);

    let (status, _) = admin
        .call(
            Method::POST,
            &format!("/api/admin/widgets/{id}/revoke"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(config_status(&app, new_token).await, 401);
    let (status, _) = admin
        .call(
            Method::PATCH,
            &format!("/api/admin/widgets/{id}"),
            Some(json!({"name": "X"})),
        )
        .await;
    assert_eq!(status, 404, "a revoked widget is not edited");

    let log = app.store.audit_log(None, 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions[..4],
        [
            "widget.revoke",
            "widget.new_token",
            "widget.update",
            "widget.create"
        ]
    );
    assert_eq!(
        log[0].target.as_deref(),
        Some(format!("widget:{id}").as_str())
    );
}

#[tokio::test]
async fn agents_cannot_manage_widgets() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (_, agent) = member(&app, &admin, "agent@example.com", "agent").await;
    let id = app.widget_id;
    for (method, path) in [
        (Method::GET, "/api/admin/widgets".to_string()),
        (Method::POST, "/api/admin/widgets".to_string()),
        (Method::PATCH, format!("/api/admin/widgets/{id}")),
        (Method::POST, format!("/api/admin/widgets/{id}/token")),
        (Method::POST, format!("/api/admin/widgets/{id}/revoke")),
        (Method::GET, format!("/api/admin/widgets/{id}/knowledge")),
        (Method::POST, format!("/api/admin/widgets/{id}/knowledge")),
        (Method::PUT, format!("/api/admin/widgets/{id}/knowledge/0")),
        (
            Method::DELETE,
            format!("/api/admin/widgets/{id}/knowledge/0"),
        ),
        (Method::POST, format!("/api/admin/widgets/{id}/bot/try")),
    ] {
        let (status, _) = agent
            .call(method.clone(), &path, Some(json!({ "name": "x" })))
            .await;
        assert_eq!(status, 403, "{method} {path}");
    }
    assert_eq!(config_status(&app, &app.token).await, 200, "untouched");
}

#[tokio::test]
async fn knowledge_is_edited_tried_and_answered_from_at_once() {
    let mut app = TestApp::start().await;
    app.use_bot(json!({ "kind": "knowledge", "threshold": 0.3 }))
        .await;
    let admin = owner(&app).await;
    let id = app.widget_id;
    let knowledge = format!("/api/admin/widgets/{id}/knowledge");
    let (status, added) = admin
        .call(
            Method::POST,
            &knowledge,
            Some(json!({
                "questions": ["Do you deliver on Sundays?", " Sunday delivery? "],
                "answer": "Yes, on Sundays between 10 and 4.",
            })),
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["entry"]["index"], 0);
    assert_eq!(added["entry"]["questions"][1], "Sunday delivery?");
    let (status, _) = admin
        .call(
            Method::POST,
            &knowledge,
            Some(json!({ "questions": ["Where is the shop?"], "answer": "12 Harbour Street." })),
        )
        .await;
    assert_eq!(status, 201);
    for bad in [
        json!({ "questions": [], "answer": "x" }),
        json!({ "questions": ["q"], "answer": "  " }),
        json!({ "questions": ["q\u{0}"], "answer": "a" }),
        json!({ "question": "q", "answer": "a" }),
    ] {
        let (status, _) = admin
            .call(Method::POST, &knowledge, Some(bad.clone()))
            .await;
        assert_eq!(status, 422, "{bad}");
    }

    let (_, found) = admin
        .call(Method::GET, &format!("{knowledge}?q=HARBOUR"), None)
        .await;
    assert_eq!(found["total"], 2);
    assert_eq!(found["entries"].as_array().unwrap().len(), 1);
    assert_eq!(found["entries"][0]["index"], 1);

    let try_path = format!("/api/admin/widgets/{id}/bot/try");
    let try_bot = |message: &'static str| {
        admin.call(Method::POST, &try_path, Some(json!({ "message": message })))
    };
    let (status, tried) = try_bot("do you deliver on sundays").await;
    assert_eq!(status, 200, "{tried}");
    assert_eq!(
        tried["matched"]["answer"],
        "Yes, on Sundays between 10 and 4."
    );
    assert_eq!(tried["answers"], true);
    assert!(tried["score"].as_f64().unwrap() >= 0.3, "{tried}");
    let (_, unrelated) = try_bot("zebra quantum violin").await;
    assert_eq!(unrelated["answers"], false, "{unrelated}");

    // The running bot answers from an edit at once.
    let runner = start_runner(&app);
    let (status, _) = admin
        .call(
            Method::PUT,
            &format!("{knowledge}/0"),
            Some(json!({
                "questions": ["Do you deliver on Sundays?"],
                "answer": "Not any more: Monday to Saturday only.",
            })),
        )
        .await;
    assert_eq!(status, 200);
    let (conversation, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(conversation, &visitor).await;
    let (status, _) = app
        .send(
            conversation,
            &visitor,
            json!({ "message": "Do you deliver on Sundays?" }),
        )
        .await;
    assert_eq!(status, 201);
    let reply: Value = next_reply(&mut subscriber).await;
    assert_eq!(reply["message"], "Not any more: Monday to Saturday only.");
    runner.cancel();

    let (status, _) = admin
        .call(Method::DELETE, &format!("{knowledge}/5"), None)
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .call(Method::DELETE, &format!("{knowledge}/0"), None)
        .await;
    assert_eq!(status, 200);
    let (_, left) = admin.call(Method::GET, &knowledge, None).await;
    assert_eq!(left["total"], 1);
    assert_eq!(left["entries"][0]["answer"], "12 Harbour Street.");
    assert_eq!(left["entries"][0]["index"], 0, "later entries move up");
}
