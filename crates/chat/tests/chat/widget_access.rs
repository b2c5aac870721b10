//! Access per widget: an agent given some widgets sees and answers only their conversations,
//! in the inbox, the search, each conversation's calls, the channels they may join and the
//! inbox events they receive; admins see everything; only admins change who sees what.

use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    admin::{member, owner},
    agents::{agent, call, get, post, sign, Agent},
    support::*,
};

/// Two widgets with a conversation each (the app's token ends as the second's).
struct TwoShops {
    app: TestApp,
    shop: (i64, i64, String),
    clinic: (i64, i64, String),
}

async fn two_shops() -> TwoShops {
    let mut app = TestApp::start().await;
    let shop_widget = app.widget_id;
    let (shop_chat, shop_visitor) = app
        .conversation_as(json!({"visitor_name": "Shopper"}))
        .await;
    app.use_bot(json!({ "kind": "knowledge" })).await;
    let clinic_widget = app.widget_id;
    let (clinic_chat, clinic_visitor) = app
        .conversation_as(json!({"visitor_name": "Patient"}))
        .await;
    TwoShops {
        app,
        shop: (shop_widget, shop_chat, shop_visitor),
        clinic: (clinic_widget, clinic_chat, clinic_visitor),
    }
}

async fn only(app: &TestApp, agent: &Agent, widgets: &[i64]) {
    assert!(app
        .store
        .set_agent_widgets(agent.id, widgets)
        .await
        .unwrap());
}

#[tokio::test]
async fn an_agent_sees_only_the_widgets_they_answer() {
    let TwoShops { app, shop, clinic } = two_shops().await;
    let bea = agent(&app, "Bea").await;
    only(&app, &bea, &[shop.0]).await;

    let (_, me) = get(&app, "/api/agent/me", &bea).await;
    assert_eq!(me["widgets"], json!([shop.0]));
    let (_, listed) = get(&app, "/api/agent/conversations", &bea).await;
    let ids: Vec<i64> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [shop.1]);
    let (_, found) = get(&app, "/api/agent/conversations?q=patient", &bea).await;
    assert_eq!(
        found["conversations"],
        json!([]),
        "search stays within the widgets"
    );

    // Every call on the other widget's conversation is a 404, as for one that does not exist.
    let other = clinic.1;
    let (status, _) = get(&app, &format!("/api/agent/conversations/{other}"), &bea).await;
    assert_eq!(status, 404);
    for (path, body) in [
        (
            format!("/api/agent/conversations/{other}/messages"),
            json!({"message": "hi"}),
        ),
        (
            format!("/api/agent/conversations/{other}/assign"),
            json!({}),
        ),
        (
            format!("/api/agent/conversations/{other}/status"),
            json!({"status": "closed"}),
        ),
        (
            format!("/api/agent/conversations/{other}/read"),
            json!({"last_read_id": 1}),
        ),
    ] {
        let (status, answer) = post(&app, &path, &bea, body).await;
        assert_eq!(status, 404, "{path}: {answer}");
    }
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{}/messages", shop.1),
        &bea,
        json!({"message": "Hello from the shop"}),
    )
    .await;
    assert_eq!(status, 201);
    assert!(app
        .store
        .messages_after(other, 0, 10)
        .await
        .unwrap()
        .is_empty());

    // Channels: the other widget's conversation and inbox are refused.
    for (channel, expected) in [
        (format!("private-chat.conversation.{}", clinic.1), 403),
        (format!("private-agents.{}", clinic.0), 403),
        (format!("private-agents.{}", shop.0), 200),
        (format!("private-chat.conversation.{}", shop.1), 200),
        ("private-agents".to_string(), 200),
        (format!("private-agents.0{}", shop.0), 403),
    ] {
        let (status, _) = sign(&app, &bea, "1234.5678", &channel).await;
        assert_eq!(status, expected, "{channel}");
    }

    // An agent given no widgets (the default) sees both.
    let cleo = agent(&app, "Cleo").await;
    let (_, listed) = get(&app, "/api/agent/conversations", &cleo).await;
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 2);
    // A conversation cannot be handed to someone who does not answer its widget.
    let (status, answer) = post(
        &app,
        &format!("/api/agent/conversations/{}/assign", clinic.1),
        &cleo,
        json!({"agent_id": bea.id}),
    )
    .await;
    assert_eq!(status, 422, "{answer}");
}

#[tokio::test]
async fn inbox_events_go_to_the_widget_s_own_channel() {
    let TwoShops { app, shop, clinic } = two_shops().await;
    let bea = agent(&app, "Bea").await;
    only(&app, &bea, &[shop.0]).await;
    let mut inbox =
        crate::agents::agent_subscriber(&app, &bea, &format!("private-agents.{}", shop.0)).await;
    let mut team = crate::agents::agent_subscriber(&app, &bea, "private-agents").await;
    // The clinic's visitor writes first; the shop's after: the shop's inbox hears only its own.
    let (status, _) = app
        .send(clinic.1, &clinic.2, json!({"message": "my appointment"}))
        .await;
    assert_eq!(status, 201);
    let response = app
        .http
        .post(app.url(&format!("/api/chatbot/conversation/{}/messages", shop.1)))
        .bearer_auth(&shop_widget_token(&app, shop.0).await)
        .header("X-Visitor-Token", &shop.2)
        .json(&json!({"message": "my order"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let update: Value = inbox.event("InboxUpdated").await;
    assert_eq!(update["conversation"]["id"], shop.1, "{update}");
    assert_eq!(update["message"]["message"], "my order");
    // Nothing about conversations reaches the team channel: the next thing there is a marker
    // published after both messages.
    app.service.broadcast(
        "private-agents".into(),
        "Marker",
        &json!({"after": "both messages"}),
        None,
    );
    let first = team.recv().await;
    assert_eq!(first["event"], "Marker", "{first}");
}

/// The shop widget's token: the test app made it first and replaced it in `app.token`, so a new
/// one is issued through the store for this test.
async fn shop_widget_token(app: &TestApp, widget_id: i64) -> String {
    let token = parley_chat::tokens::new_widget_token();
    assert!(app
        .store
        .set_widget_token(widget_id, &parley_chat::tokens::hash_token(&token))
        .await
        .unwrap());
    token
}

#[tokio::test]
async fn admins_choose_who_answers_which_widget() {
    let TwoShops { app, shop, clinic } = two_shops().await;
    let admin = owner(&app).await;
    let (bea_id, bea) = member(&app, &admin, "bea@example.com", "agent").await;
    let path = format!("/api/admin/users/{bea_id}/widgets");
    let (status, set) = admin
        .call(
            Method::PUT,
            &path,
            Some(json!({"widget_ids": [clinic.0, clinic.0]})),
        )
        .await;
    assert_eq!(status, 200, "{set}");
    assert_eq!(set["widget_ids"], json!([clinic.0]));
    let (_, listed) = bea
        .call(Method::GET, "/api/agent/conversations", None)
        .await;
    assert_eq!(listed["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(listed["conversations"][0]["id"], clinic.1);
    // The admin still sees both, whatever their own list says.
    let (_, everything) = admin
        .call(Method::GET, "/api/agent/conversations", None)
        .await;
    assert_eq!(everything["conversations"].as_array().unwrap().len(), 2);
    let (_, users) = admin.call(Method::GET, "/api/admin/users", None).await;
    let listed_bea = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == bea_id)
        .unwrap()
        .clone();
    assert_eq!(listed_bea["widget_ids"], json!([clinic.0]));

    let (status, _) = admin
        .call(Method::PUT, &path, Some(json!({"widget_ids": [999_999]})))
        .await;
    assert_eq!(status, 404, "an unknown widget changes nothing");
    assert_eq!(app.store.agent_widgets(bea_id).await.unwrap(), [clinic.0]);
    let (status, _) = bea
        .call(Method::PUT, &path, Some(json!({"widget_ids": []})))
        .await;
    assert_eq!(status, 403, "agents cannot widen their own access");
    let token_agent = agent(&app, "Tokened").await;
    let (status, _) = call(
        &app,
        Method::PUT,
        &path,
        &token_agent.token,
        Some(json!({"widget_ids": []})),
    )
    .await;
    assert_eq!(status, 403);
    let mut team = crate::agents::agent_subscriber(&app, &token_agent, "private-agents").await;
    let (status, _) = admin
        .call(Method::PUT, &path, Some(json!({"widget_ids": []})))
        .await;
    assert_eq!(status, 200);
    // Every dashboard is told to read its widgets again.
    assert_eq!(team.event("WidgetsChanged").await, json!({}));
    let (status, _) = admin
        .call(
            Method::POST,
            "/api/admin/widgets",
            Some(json!({"name": "Third"})),
        )
        .await;
    assert_eq!(status, 201);
    team.event("WidgetsChanged").await;
    let (_, listed) = bea
        .call(Method::GET, "/api/agent/conversations", None)
        .await;
    assert_eq!(
        listed["conversations"].as_array().unwrap().len(),
        2,
        "every widget again"
    );
    let _ = shop;
}
