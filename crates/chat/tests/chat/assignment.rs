//! Automatic assignment and transfers over the API, with two or three agents: a handoff goes at
//! once to a free online agent, waits when everyone is full or away, and is given out when an
//! agent comes online or a slot frees; round-robin and least-busy order; a conversation nobody
//! answered in time goes to someone else; a transfer with a private note reaches the new agent;
//! the settings are checked; everything refused is refused.

use parley_chat::tokens;
use parley_store::{ConversationStatus, NewWidget};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    admin::owner,
    agents::{self, agent_subscriber, call, get, post, Agent},
    bot::{next_reply, start_runner},
    support::*,
};

/// Sets the test widget's `settings.assignment` (keeping a knowledge bot that hands off when
/// asked for a person).
async fn assigning(app: &TestApp, assignment: Value) {
    let settings = json!({
        "bot": {"kind": "knowledge", "knowledge": [{"question": "Opening hours?", "answer": "9 to 5."}]},
        "assignment": assignment,
    });
    assert!(app
        .store
        .update_widget_settings(app.widget_id, settings)
        .await
        .unwrap());
}

async fn set_availability(app: &TestApp, agent: &Agent, availability: &str) {
    let (status, body) = call(
        app,
        Method::PUT,
        "/api/agent/availability",
        &agent.token,
        Some(json!({ "availability": availability })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn online(app: &TestApp, name: &str) -> Agent {
    let agent = agents::agent(app, name).await;
    set_availability(app, &agent, "online").await;
    agent
}

/// A conversation the bot hands to a person because the visitor asked for one; `inbox` (the
/// widget's inbox channel) hears of the handoff once it is done, assignment included. The id
/// and the `InboxUpdated` events heard before.
async fn asks_for_a_person(app: &TestApp, inbox: &mut Subscriber) -> (i64, Vec<Value>) {
    let (id, visitor) = app.conversation().await;
    let mut socket = app.subscriber(id, &visitor).await;
    app.send(
        id,
        &visitor,
        json!({"message": "I want to talk to a human"}),
    )
    .await;
    let handoff = next_reply(&mut socket).await;
    assert_eq!(handoff["sender_type"], "system", "{handoff}");
    let mut updates = Vec::new();
    loop {
        let frame = inbox.recv().await;
        let data = || serde_json::from_str::<Value>(frame["data"].as_str().unwrap()).unwrap();
        if frame["event"] == "InboxUpdated" {
            updates.push(data());
        } else if frame["event"] == "ConversationNeedsHuman" && data()["conversation_id"] == id {
            return (id, updates);
        }
    }
}

/// A conversation handed to a person the way the bot does it.
async fn handed_off(app: &TestApp) -> i64 {
    let (id, _) = app.conversation().await;
    app.service
        .set_status(id, ConversationStatus::Human, None)
        .await
        .unwrap();
    id
}

async fn assignee(app: &TestApp, id: i64) -> Option<i64> {
    let conversation = app.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.status, ConversationStatus::Human);
    conversation.assigned_agent_id
}

async fn own_channel(app: &TestApp, agent: &Agent) -> Subscriber {
    agent_subscriber(app, agent, &format!("private-agent.{}", agent.id)).await
}

#[tokio::test]
async fn a_handoff_goes_to_a_free_agent_at_once_and_waits_when_nobody_has_room() {
    let app = TestApp::start().await;
    assigning(&app, json!({"mode": "round_robin", "capacity": 1})).await;
    let _runner = start_runner(&app);
    let ada = online(&app, "Ada").await;
    let bo = agents::agent(&app, "Bo").await; // offline
    let mut adas = own_channel(&app, &ada).await;
    let mut bos = own_channel(&app, &bo).await;
    let mut inbox = agent_subscriber(&app, &bo, &format!("private-agents.{}", app.widget_id)).await;

    let (first, updates) = asks_for_a_person(&app, &mut inbox).await;
    assert_eq!(assignee(&app, first).await, Some(ada.id));
    let told = adas.event("ConversationAssigned").await;
    assert_eq!(told["conversation_id"], first);
    assert_eq!(told["reason"], "automatic");
    assert_eq!(told["conversation"]["assigned_agent_id"], ada.id);
    // The inbox moves it to Ada's conversations at once, never showing it as waiting.
    assert!(
        !updates
            .iter()
            .any(|u| u["conversation"]["status"] == "human"
                && u["conversation"]["assigned_agent_id"].is_null()),
        "{updates:?}"
    );
    let last = updates.last().expect("inbox updates");
    assert_eq!(last["conversation"]["id"], first);
    assert_eq!(last["conversation"]["assigned_agent_id"], ada.id);
    let (_, mine) = get(&app, "/api/agent/conversations?assigned=me", &ada).await;
    assert_eq!(mine["conversations"][0]["id"], first);

    // Ada is at capacity and Bo is offline: the next one waits.
    let second = asks_for_a_person(&app, &mut inbox).await.0;
    assert_eq!(assignee(&app, second).await, None);
    // Bo comes online and gets it at once.
    set_availability(&app, &bo, "online").await;
    assert_eq!(assignee(&app, second).await, Some(bo.id));
    assert_eq!(
        bos.event("ConversationAssigned").await["conversation_id"],
        second
    );

    // Both full: the third waits until Ada closes hers.
    let third = asks_for_a_person(&app, &mut inbox).await.0;
    assert_eq!(assignee(&app, third).await, None);
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{first}/status"),
        &ada,
        json!({"status": "closed"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(assignee(&app, third).await, Some(ada.id));
    assert_eq!(
        adas.event("ConversationAssigned").await["conversation_id"],
        third
    );

    // Bo hands his back to the bot; then a fourth goes to him, Ada being full.
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{second}/status"),
        &bo,
        json!({"status": "bot"}),
    )
    .await;
    assert_eq!(status, 200);
    let fourth = handed_off(&app).await;
    assert_eq!(assignee(&app, fourth).await, Some(bo.id));

    // Away agents get nothing; coming back online takes the oldest waiting first.
    set_availability(&app, &ada, "away").await;
    set_availability(&app, &bo, "away").await;
    let fifth = handed_off(&app).await;
    let sixth = handed_off(&app).await;
    assert_eq!(assignee(&app, fifth).await, None);
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{third}/status"),
        &ada,
        json!({"status": "closed"}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(assignee(&app, fifth).await, None, "Ada is away");
    set_availability(&app, &ada, "online").await;
    assert_eq!(assignee(&app, fifth).await, Some(ada.id));
    assert_eq!(assignee(&app, sixth).await, None);
}

#[tokio::test]
async fn round_robin_takes_turns_and_least_busy_takes_the_idlest() {
    let app = TestApp::start().await;
    assigning(&app, json!({"mode": "round_robin"})).await;
    let ada = online(&app, "Ada").await;
    let bo = online(&app, "Bo").await;
    let cy = online(&app, "Cy").await;
    let mut got = Vec::new();
    for _ in 0..4 {
        let id = handed_off(&app).await;
        got.push(assignee(&app, id).await.unwrap());
    }
    assert_eq!(got, [ada.id, bo.id, cy.id, ada.id]);

    // Least busy: Ada has 2, Bo 1, Cy 1. Bo closes his: he has none, so he is next.
    assigning(&app, json!({"mode": "least_busy", "capacity": 5})).await;
    let (_, bos) = get(&app, "/api/agent/conversations?assigned=me", &bo).await;
    let bos = bos["conversations"][0]["id"].as_i64().unwrap();
    post(
        &app,
        &format!("/api/agent/conversations/{bos}/status"),
        &bo,
        json!({"status": "closed"}),
    )
    .await;
    let id = handed_off(&app).await;
    assert_eq!(assignee(&app, id).await, Some(bo.id));
    // Bo and Cy have one each, Ada two: Cy (after Bo in turn); Bo (the only one with one);
    // then all have two and Cy's turn comes after Bo's.
    let mut got = Vec::new();
    for _ in 0..3 {
        let id = handed_off(&app).await;
        got.push(assignee(&app, id).await.unwrap());
    }
    assert_eq!(got, [cy.id, bo.id, cy.id]);

    // Off: nobody is given anything.
    assigning(&app, json!({"mode": "off"})).await;
    let id = handed_off(&app).await;
    assert_eq!(assignee(&app, id).await, None);
}

#[tokio::test]
async fn an_unanswered_conversation_goes_to_someone_else() {
    let app = TestApp::start().await;
    assigning(
        &app,
        json!({"mode": "round_robin", "unassign_after_mins": 5}),
    )
    .await;
    let ada = online(&app, "Ada").await;
    let mut adas = own_channel(&app, &ada).await;
    let quiet = handed_off(&app).await;
    let answered = handed_off(&app).await;
    assert_eq!(assignee(&app, quiet).await, Some(ada.id));
    assert_eq!(assignee(&app, answered).await, Some(ada.id));
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{answered}/messages"),
        &ada,
        json!({"message": "Hello, I am looking into it"}),
    )
    .await;
    assert_eq!(status, 201);

    // Not yet due: the sweep leaves them.
    app.service.sweep_assignments().await.unwrap();
    assert_eq!(assignee(&app, quiet).await, Some(ada.id));

    // Ten minutes ago, as far as the store knows.
    let bo = online(&app, "Bo").await;
    let mut bos = own_channel(&app, &bo).await;
    let mut visitor_side =
        agent_subscriber(&app, &bo, &format!("private-chat.conversation.{quiet}")).await;
    let long_ago = "2020-01-01T00:00:00+00:00";
    app.sql(&[format!(
        "UPDATE conversations SET assigned_at = '{long_ago}' WHERE id IN ({quiet}, {answered})"
    )])
    .await;
    app.service.sweep_assignments().await.unwrap();
    let taken = adas.event("ConversationUnassigned").await;
    assert_eq!(taken["conversation_id"], quiet);
    assert_eq!(taken["reason"], "no_reply");
    assert_eq!(taken["minutes"], 5);
    let given = bos.event("ConversationAssigned").await;
    assert_eq!(given["conversation_id"], quiet);
    assert_eq!(assignee(&app, quiet).await, Some(bo.id));
    assert_eq!(assignee(&app, answered).await, Some(ada.id), "she replied");
    // The conversation's channel said so: first nobody, then Bo.
    let first = visitor_side.event("ConversationUpdated").await;
    assert_eq!(first["assigned_agent_id"], Value::Null);
    let then = visitor_side.event("ConversationUpdated").await;
    assert_eq!(then["assigned_agent_id"], bo.id);
}

#[tokio::test]
async fn a_transfer_with_a_note_reaches_the_new_agent_never_the_visitor() {
    let app = TestApp::start().await;
    assigning(&app, json!({"mode": "least_busy", "capacity": 1})).await;
    let ada = online(&app, "Ada").await;
    let bo = online(&app, "Bo").await;
    let mine = handed_off(&app).await;
    let bos_own = handed_off(&app).await;
    assert_eq!(assignee(&app, mine).await, Some(ada.id));
    assert_eq!(assignee(&app, bos_own).await, Some(bo.id));
    let waiting = handed_off(&app).await;
    assert_eq!(assignee(&app, waiting).await, None, "both full");

    // Another conversation, which Ada takes herself, with its visitor listening.
    let (id, visitor) = app.conversation().await;
    let mut visitor_socket = app.subscriber(id, &visitor).await;
    post(
        &app,
        &format!("/api/agent/conversations/{id}/assign"),
        &ada,
        json!({}),
    )
    .await;
    let mut bos = own_channel(&app, &bo).await;
    let mut adas = own_channel(&app, &ada).await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;

    // Who may take it: everyone who answers the widget but Ada, with their load.
    let (status, targets) = get(
        &app,
        &format!("/api/agent/conversations/{id}/transfer"),
        &ada,
    )
    .await;
    assert_eq!(status, 200, "{targets}");
    let names: Vec<&str> = targets["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Bo"]);
    assert_eq!(targets["agents"][0]["open_conversations"], 1);
    assert_eq!(targets["agents"][0]["online"], true);
    assert_eq!(
        targets["assignment"],
        json!({"mode": "least_busy", "capacity": 1})
    );

    // Past Bo's capacity: a person decided.
    let (status, moved) = post(
        &app,
        &format!("/api/agent/conversations/{id}/transfer"),
        &ada,
        json!({"agent_id": bo.id, "note": "  Wants a refund for order 1234, over to you  "}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(moved["conversation"]["assigned_agent_id"], bo.id);
    assert_eq!(moved["conversation"]["status"], "human");
    assert_eq!(
        moved["note"]["body"],
        "Wants a refund for order 1234, over to you"
    );
    assert_eq!(moved["note"]["mentions"], json!([bo.id]));
    assert_eq!(moved["note"]["agent_name"], "Ada");

    let told = bos.event("ConversationAssigned").await;
    assert_eq!(told["conversation_id"], id);
    assert_eq!(told["reason"], "transfer");
    assert_eq!(told["by"]["name"], "Ada");
    assert_eq!(told["note"]["body"], moved["note"]["body"]);
    let added = inbox.event("NoteAdded").await;
    assert_eq!(added["id"], moved["note"]["id"]);
    let (_, notes) = get(&app, &format!("/api/agent/conversations/{id}/notes"), &bo).await;
    assert_eq!(notes["notes"][0]["body"], moved["note"]["body"]);
    // Bo gives it back; Ada is told.
    let (status, back) = post(
        &app,
        &format!("/api/agent/conversations/{id}/transfer"),
        &bo,
        json!({"agent_id": ada.id}),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["note"], Value::Null);
    let told = adas.event("ConversationAssigned").await;
    assert_eq!(told["conversation_id"], id);
    assert_eq!(told["note"], Value::Null);
    // Ada's earlier conversation is still hers; the queue is still full.
    assert_eq!(assignee(&app, waiting).await, None);

    // The visitor heard the change of assignee, never the note.
    app.visitor_never_saw(id, &visitor, &mut visitor_socket, "refund")
        .await;

    // Ada passes both of hers to Bo: a slot frees and the waiting one comes to her.
    for passed in [mine, id] {
        let path = format!("/api/agent/conversations/{passed}/transfer");
        let (status, _) = post(&app, &path, &ada, json!({"agent_id": bo.id})).await;
        assert_eq!(status, 200);
    }
    assert_eq!(assignee(&app, waiting).await, Some(ada.id));
    assert_eq!(
        bos.event("ConversationAssigned").await["conversation_id"],
        mine
    );
    assert_eq!(
        adas.event("ConversationAssigned").await["conversation_id"],
        waiting
    );
}

#[tokio::test]
async fn transfers_refuse_what_they_should() {
    let app = TestApp::start().await;
    let ada = online(&app, "Ada").await;
    let bo = agents::agent(&app, "Bo").await;
    let gone = agents::agent(&app, "Gone").await;
    assert!(app.store.revoke_agent(gone.id).await.unwrap());
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
    let elsewhere = agents::agent(&app, "Elsewhere").await;
    app.store
        .set_agent_widgets(elsewhere.id, &[other.id])
        .await
        .unwrap();
    let id = handed_off(&app).await;
    let path = format!("/api/agent/conversations/{id}/transfer");

    for (body, status, says) in [
        (json!({"agent_id": 999_999}), 422, "there is no agent"),
        (json!({"agent_id": gone.id}), 422, "is revoked"),
        (json!({"agent_id": elsewhere.id}), 422, "does not answer"),
        (
            json!({"agent_id": bo.id, "note": "x".repeat(5001)}),
            422,
            "at most 5000",
        ),
        (json!({"agent_id": bo.id, "note": "a\u{7}b"}), 422, "note"),
        (json!({"note": "hi"}), 422, "agent_id"),
        (json!({"agent_id": bo.id, "extra": 1}), 422, "extra"),
    ] {
        let (got, answer) = post(&app, &path, &ada, body.clone()).await;
        assert_eq!(got, status, "{body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{body}: {message}");
    }
    assert_eq!(assignee(&app, id).await, None, "nothing moved");

    // Someone who does not answer the widget cannot see it, nor who may take it.
    let (status, _) = post(&app, &path, &elsewhere, json!({"agent_id": ada.id})).await;
    assert_eq!(status, 404);
    let (status, _) = get(&app, &path, &elsewhere).await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &app,
        "/api/agent/conversations/999999/transfer",
        &ada,
        json!({"agent_id": bo.id}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = call(
        &app,
        Method::POST,
        &path,
        "cba_nonsense",
        Some(json!({"agent_id": bo.id})),
    )
    .await;
    assert_eq!(status, 401);

    // Already theirs; closed.
    let (status, _) = post(&app, &path, &ada, json!({"agent_id": bo.id})).await;
    assert_eq!(status, 200);
    let (status, answer) = post(&app, &path, &ada, json!({"agent_id": bo.id})).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Bo's already"));
    post(
        &app,
        &format!("/api/agent/conversations/{id}/status"),
        &ada,
        json!({"status": "closed"}),
    )
    .await;
    let (status, answer) = post(&app, &path, &ada, json!({"agent_id": ada.id})).await;
    assert_eq!(status, 409, "{answer}");
    assert!(answer["error"]["message"]
        .as_str()
        .unwrap()
        .contains("closed"));
}

#[tokio::test]
async fn assignment_settings_are_checked_when_saved() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let path = format!("/api/admin/widgets/{}", app.widget_id);
    for (assignment, says) in [
        (
            json!("round_robin"),
            "settings.assignment must be an object",
        ),
        (
            json!({"mode": "randomly"}),
            "settings.assignment.mode must be off, round_robin or least_busy",
        ),
        (
            json!({"mode": "least_busy", "capacity": 0}),
            "settings.assignment.capacity must be a whole number",
        ),
        (
            json!({"capacity": 1000}),
            "settings.assignment.capacity must be",
        ),
        (
            json!({"unassign_after_mins": -5}),
            "settings.assignment.unassign_after_mins must be null",
        ),
        (
            json!({"unassign_after_mins": "10"}),
            "settings.assignment.unassign_after_mins must be null",
        ),
        (
            json!({"mode": "off", "capcity": 3}),
            "settings.assignment.capcity is not a setting",
        ),
    ] {
        let (status, answer) = admin
            .call(
                Method::PATCH,
                &path,
                Some(json!({"settings": {"assignment": assignment}})),
            )
            .await;
        assert_eq!(status, 422, "{assignment}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(says), "{message}");
    }
    // Saved, a waiting conversation is given out at once.
    let ada = online(&app, "Ada").await;
    let id = handed_off(&app).await;
    assert_eq!(assignee(&app, id).await, None, "off by default");
    let settings =
        json!({"assignment": {"mode": "round_robin", "capacity": 3, "unassign_after_mins": 15}});
    let (status, answer) = admin
        .call(Method::PATCH, &path, Some(json!({ "settings": settings })))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["widget"]["settings"], settings);
    assert_eq!(assignee(&app, id).await, Some(ada.id));
}
