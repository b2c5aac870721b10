//! Private notes and labels over the agents' API: a note reaches the widget's inbox and the
//! mentioned agent's own channel, never the conversation's channel or the visitor; labels are
//! admins' to define and agents' to put on conversations, and the inbox filters and searches by
//! them; everyone else is refused.

use parley_chat::tokens;
use parley_store::NewWidget;
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    agents::{self, agent_subscriber, call, get, post, Agent},
    support::*,
};

/// An agent who answers only a new, other widget.
async fn elsewhere(app: &TestApp, name: &str) -> Agent {
    let other = app
        .store
        .create_widget(NewWidget {
            name: "Other".into(),
            token_hash: tokens::hash_token(&tokens::new_widget_token()),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .unwrap();
    let person = agents::agent(app, name).await;
    app.store
        .set_agent_widgets(person.id, &[other.id])
        .await
        .unwrap();
    person
}

#[tokio::test]
async fn a_note_reaches_agents_and_the_mentioned_one_never_the_visitor() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut visitor_socket = app.subscriber(id, &visitor).await;
    let ada = agents::agent(&app, "Ada").await;
    let bo = agents::agent(&app, "Bo").await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let mut bos_own = agent_subscriber(&app, &bo, &format!("private-agent.{}", bo.id)).await;

    let path = format!("/api/agent/conversations/{id}/notes");
    let (status, written) = post(
        &app,
        &path,
        &ada,
        json!({"body": "  VIP customer, @Bo please call back  ", "mention_ids": [bo.id, bo.id, ada.id]}),
    )
    .await;
    assert_eq!(status, 201, "{written}");
    let note = &written["note"];
    assert_eq!(note["body"], "VIP customer, @Bo please call back");
    assert_eq!(
        note["mentions"],
        json!([bo.id]),
        "deduplicated, the author left out"
    );
    assert_eq!(note["agent_name"], "Ada");

    let added = inbox.event("NoteAdded").await;
    assert_eq!(added["id"], note["id"]);
    let mention = bos_own.event("AgentMentioned").await;
    assert_eq!(mention["conversation_id"], id);
    assert_eq!(mention["by"]["name"], "Ada");
    assert_eq!(mention["note"]["body"], note["body"]);

    // The visitor's channel and API know nothing of it.
    app.visitor_never_saw(id, &visitor, &mut visitor_socket, "VIP customer")
        .await;

    let (status, listed) = get(&app, &path, &bo).await;
    assert_eq!(status, 200);
    assert_eq!(listed["notes"].as_array().unwrap().len(), 1);
    assert_eq!(listed["notes"][0]["agent_name"], "Ada");
}

#[tokio::test]
async fn notes_refuse_what_they_should() {
    let app = TestApp::start().await;
    let (id, _) = app.conversation().await;
    let ada = agents::agent(&app, "Ada").await;
    let outsider = elsewhere(&app, "Cy").await;
    let path = format!("/api/agent/conversations/{id}/notes");
    for (body, why) in [
        (json!({"body": "   "}), "empty"),
        (json!({"body": "x".repeat(5001)}), "too long"),
        (json!({"body": "bad\u{1}text"}), "control character"),
        (
            json!({"body": "hi", "mention_ids": [999_999]}),
            "unknown agent",
        ),
        (
            json!({"body": "hi", "mention_ids": [outsider.id]}),
            "an agent who does not answer this widget",
        ),
        (json!({"body": "hi", "private": true}), "unknown field"),
    ] {
        let (status, answer) = post(&app, &path, &ada, body).await;
        assert_eq!(status, 422, "{why}: {answer}");
    }
    let (status, _) = post(&app, &path, &outsider, json!({"body": "hi"})).await;
    assert_eq!(
        status, 404,
        "another widget's conversation does not exist for them"
    );
    let (status, _) = get(&app, &path, &outsider).await;
    assert_eq!(status, 404);
    let status = app.http.get(app.url(&path)).send().await.unwrap().status();
    assert_eq!(status, 401);
    let (status, listed) = get(&app, &path, &ada).await;
    assert_eq!(
        (status, listed["notes"].as_array().unwrap().len()),
        (200, 0),
        "nothing written"
    );
}

#[tokio::test]
async fn labels_are_defined_by_admins_and_put_on_conversations_by_agents() {
    let app = TestApp::start().await;
    let root = agents::admin(&app, "Root").await;
    let ada = agents::agent(&app, "Ada").await;
    let mut team = agent_subscriber(&app, &ada, "private-agents").await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;

    let (status, _) = post(&app, "/api/admin/labels", &ada, json!({"name": "VIP"})).await;
    assert_eq!(status, 403, "agents do not define labels");
    let (status, made) = post(
        &app,
        "/api/admin/labels",
        &root,
        json!({"name": " VIP ", "color": "#B91C1C"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(
        (
            made["label"]["name"].as_str(),
            made["label"]["color"].as_str()
        ),
        (Some("VIP"), Some("#b91c1c"))
    );
    let vip = made["label"]["id"].as_i64().unwrap();
    team.event("LabelsChanged").await;
    let (status, _) = post(&app, "/api/admin/labels", &root, json!({"name": "vip"})).await;
    assert_eq!(status, 409, "the same name in another case");
    for bad in [
        json!({"name": ""}),
        json!({"name": "x", "color": "red"}),
        json!({"name": "a\nb"}),
    ] {
        let (status, _) = post(&app, "/api/admin/labels", &root, bad.clone()).await;
        assert_eq!(status, 422, "{bad}");
    }
    let (_, made) = post(&app, "/api/admin/labels", &root, json!({"name": "Billing"})).await;
    let billing = made["label"]["id"].as_i64().unwrap();
    let (status, listed) = get(&app, "/api/agent/labels", &ada).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = listed["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Billing", "VIP"]);

    let (first, _) = app.conversation().await;
    let (second, _) = app.conversation().await;
    let path = format!("/api/agent/conversations/{second}/labels");
    let (status, set) = call(
        &app,
        Method::PUT,
        &path,
        &ada.token,
        Some(json!({"label_ids": [vip, billing]})),
    )
    .await;
    assert_eq!(status, 200, "{set}");
    let update = inbox.event("LabelsUpdated").await;
    assert_eq!(update["conversation_id"], second);
    let (status, _) = call(
        &app,
        Method::PUT,
        &path,
        &ada.token,
        Some(json!({"label_ids": [vip, 999_999]})),
    )
    .await;
    assert_eq!(status, 422, "an unknown label");
    let (_, page) = get(&app, &format!("/api/agent/conversations/{second}"), &ada).await;
    let mut carried: Vec<i64> = page["conversation"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    carried.sort_unstable();
    let mut expected = vec![vip, billing];
    expected.sort_unstable();
    assert_eq!(carried, expected, "unchanged by the refused change");

    let ids = |listing: Value| -> Vec<i64> {
        listing["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (_, by_label) = get(&app, &format!("/api/agent/conversations?label={vip}"), &ada).await;
    assert_eq!(ids(by_label), [second]);
    let (_, by_text) = get(&app, "/api/agent/conversations?q=billing", &ada).await;
    assert_eq!(ids(by_text), [second]);
    let (_, everything) = get(&app, "/api/agent/conversations", &ada).await;
    let listed_first = everything["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == first)
        .unwrap()
        .clone();
    assert_eq!(listed_first["labels"], json!([]));

    let outsider = elsewhere(&app, "Cy").await;
    let (status, _) = call(
        &app,
        Method::PUT,
        &path,
        &outsider.token,
        Some(json!({"label_ids": []})),
    )
    .await;
    assert_eq!(status, 404);

    // Renamed, then deleted: off every conversation.
    let (status, renamed) = call(
        &app,
        Method::PATCH,
        &format!("/api/admin/labels/{vip}"),
        &root.token,
        Some(json!({"name": "Gold"})),
    )
    .await;
    assert_eq!(
        (status, renamed["label"]["color"].as_str()),
        (200, Some("#b91c1c")),
        "the colour kept"
    );
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/admin/labels/{vip}"),
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/admin/labels/{vip}"),
        &root.token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (_, page) = get(&app, &format!("/api/agent/conversations/{second}"), &ada).await;
    assert_eq!(page["conversation"]["labels"], json!([billing]));
    let (status, _) = call(
        &app,
        Method::DELETE,
        &format!("/api/admin/labels/{vip}"),
        &root.token,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, audit) = get(&app, "/api/admin/audit", &root).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"label.create") && actions.contains(&"label.delete"),
        "{actions:?}"
    );
}
