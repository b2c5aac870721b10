//! Ratings: a visitor rates their conversation once (1-5, an optional comment); the agents
//! hear of it live and see it on the conversation; everyone else is refused.

use serde_json::{json, Value};

use crate::{
    agents::{agent, agent_subscriber, get},
    support::*,
};

async fn rate(app: &TestApp, id: i64, visitor: &str, body: Value) -> (u16, Value) {
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/rating"))
        .header("X-Visitor-Token", visitor)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_visitor_rates_once_and_the_agents_hear_of_it() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let ada = agent(&app, "Ada").await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let mut widget = app.subscriber(id, &visitor).await;

    for (body, expected) in [
        (json!({"score": 0}), 422),
        (json!({"score": 6}), 422),
        (json!({"score": "5"}), 422),
        (json!({"score": 5, "comment": "x\u{0}"}), 422),
        (json!({"score": 5, "comment": "y".repeat(1001)}), 422),
        (json!({"score": 5, "stars": 5}), 422),
    ] {
        let (status, answer) = rate(&app, id, &visitor, body.clone()).await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let (_, other_visitor) = app.conversation().await;
    let (status, _) = rate(&app, id, &other_visitor, json!({"score": 1})).await;
    assert_eq!(status, 403, "another visitor's conversation");
    let status = app
        .http
        .post(app.url(&format!("/api/chatbot/conversation/{id}/rating")))
        .header("X-Visitor-Token", &visitor)
        .json(&json!({"score": 1}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401, "no widget token");

    let (status, rated) = rate(
        &app,
        id,
        &visitor,
        json!({"score": 4, "comment": "  Helpful  "}),
    )
    .await;
    assert_eq!(status, 201, "{rated}");
    assert_eq!(rated["rating"]["score"], 4);
    assert_eq!(rated["rating"]["comment"], "Helpful");
    for socket in [&mut inbox, &mut widget] {
        let event = socket.event("ConversationRated").await;
        assert_eq!(event["conversation_id"], id);
        assert_eq!(event["score"], 4);
    }
    let (status, _) = rate(&app, id, &visitor, json!({"score": 1})).await;
    assert_eq!(status, 409, "once per conversation");

    let page: Value = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["rating"]["score"], 4);
    let (_, seen) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(seen["rating"]["comment"], "Helpful");
    let (other_id, _) = app.conversation().await;
    let (_, unrated) = get(&app, &format!("/api/agent/conversations/{other_id}"), &ada).await;
    assert_eq!(unrated["rating"], Value::Null);
}
