//! The agents' API: identity, availability reaching visitors and the team, and channel
//! authorisation; the helpers the other agent tests share.

use parley_chat::tokens;
use parley_store::{AgentAvailability, NewAgent};
use serde_json::{json, Value};

use crate::support::{Subscriber, TestApp};

pub(crate) struct Agent {
    pub id: i64,
    pub token: String,
}

pub(crate) async fn agent(app: &TestApp, name: &str) -> Agent {
    let token = tokens::new_agent_token();
    let created = app
        .store
        .create_agent(NewAgent {
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
            token_hash: tokens::hash_token(&token),
            role: parley_store::Role::Agent,
        })
        .await
        .unwrap();
    Agent {
        id: created.id,
        token,
    }
}

/// An admin signed in with a bearer token (as scripts and the tests use the admin API).
pub(crate) async fn admin(app: &TestApp, name: &str) -> Agent {
    let token = tokens::new_agent_token();
    let created = app
        .store
        .create_agent(NewAgent {
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
            token_hash: tokens::hash_token(&token),
            role: parley_store::Role::Admin,
        })
        .await
        .unwrap();
    Agent {
        id: created.id,
        token,
    }
}

/// Calls the agents' API; returns (status, body).
pub(crate) async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.http.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

pub(crate) async fn get(app: &TestApp, path: &str, agent: &Agent) -> (u16, Value) {
    call(app, reqwest::Method::GET, path, &agent.token, None).await
}

pub(crate) async fn post(app: &TestApp, path: &str, agent: &Agent, body: Value) -> (u16, Value) {
    call(app, reqwest::Method::POST, path, &agent.token, Some(body)).await
}

async fn set_availability(app: &TestApp, agent: &Agent, availability: &str) -> (u16, Value) {
    call(
        app,
        reqwest::Method::PUT,
        "/api/agent/availability",
        &agent.token,
        Some(json!({ "availability": availability })),
    )
    .await
}

/// A socket subscribed to `channel` through the agents' auth endpoint.
pub(crate) async fn agent_subscriber(app: &TestApp, agent: &Agent, channel: &str) -> Subscriber {
    let mut subscriber = Subscriber::connect(app.realtime_addr).await;
    let (status, auth) = sign(app, agent, &subscriber.socket_id, channel).await;
    assert_eq!(status, 200, "{auth}");
    subscriber
        .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth["auth"]}}))
        .await;
    let ok = subscriber.recv().await;
    assert_eq!(
        ok["event"], "pusher_internal:subscription_succeeded",
        "{ok}"
    );
    subscriber
}

pub(crate) async fn sign(
    app: &TestApp,
    agent: &Agent,
    socket_id: &str,
    channel: &str,
) -> (u16, Value) {
    let response = app
        .http
        .post(app.url("/api/agent/broadcasting/auth"))
        .bearer_auth(&agent.token)
        .form(&[("socket_id", socket_id), ("channel_name", channel)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn visitor_sees_agents_online(app: &TestApp) -> bool {
    let config: Value = app
        .get("/api/chatbot/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    config["agents_online"].as_bool().expect("agents_online")
}

#[tokio::test]
async fn agent_requests_need_an_agent_token() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    for token in ["", "cba_nonsense", app.token.as_str()] {
        let (status, body) = call(&app, reqwest::Method::GET, "/api/agent/me", token, None).await;
        assert_eq!(status, 401, "{token}: {body}");
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let (status, me) = get(&app, "/api/agent/me", &ada).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["agent"]["id"], ada.id);
    assert_eq!(me["agent"]["name"], "Ada");
    assert_eq!(me["agent"]["availability"], "offline");
    assert_eq!(me["agent"]["online"], false);
    // The dashboard connects with the same realtime settings as the widget.
    assert_eq!(me["realtimeProvider"], "reverb");
    assert_eq!(me["reverb"]["port"], app.realtime_addr.port());

    // A revoked agent's token stops working at once, and they leave the team.
    set_availability(&app, &ada, "online").await;
    let bob = agent(&app, "Bob").await;
    assert!(app.store.revoke_agent(ada.id).await.unwrap());
    let (status, body) = get(&app, "/api/agent/me", &ada).await;
    assert_eq!(status, 401, "{body}");
    let (_, team) = get(&app, "/api/agent/agents", &bob).await;
    assert_eq!(team["agents"].as_array().unwrap().len(), 1, "{team}");
    assert_eq!(team["agents"][0]["name"], "Bob");
    assert_eq!(team["agents_online"], 0);
}

#[tokio::test]
async fn availability_reaches_visitors_and_the_team() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let mut watching = app.subscriber(id, &visitor).await;
    let mut team = agent_subscriber(&app, &ada, "private-agents").await;
    assert!(!visitor_sees_agents_online(&app).await);

    let (status, body) = set_availability(&app, &ada, "online").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["online"], true);
    assert_eq!(
        watching.event("AgentAvailability").await,
        json!({ "agents_online": true })
    );
    let roster = team.event("AgentAvailability").await;
    assert_eq!(roster["agents_online"], 1, "{roster}");
    assert_eq!(roster["agents"][0]["name"], "Ada");
    assert_eq!(roster["agents"][0]["availability"], "online");
    assert!(visitor_sees_agents_online(&app).await);
    let polled: Value = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(polled["agents_online"], true, "{polled}");

    // Nothing changed: no second event for visitors.
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/agent/heartbeat",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let quiet = watching.sync().await;
    assert!(
        quiet.iter().all(|f| f["event"] != "AgentAvailability"),
        "{quiet:?}"
    );

    let (status, _) = set_availability(&app, &ada, "away").await;
    assert_eq!(status, 200);
    assert_eq!(
        watching.event("AgentAvailability").await,
        json!({ "agents_online": false })
    );
    assert!(!visitor_sees_agents_online(&app).await);

    // A closing page's "offline" that arrives after the reloaded page's "online" changes nothing.
    let (_, newer) = call(
        &app,
        reqwest::Method::PUT,
        "/api/agent/availability",
        &ada.token,
        Some(json!({"availability": "online", "seq": 2_000})),
    )
    .await;
    assert_eq!(newer["agent"]["availability"], "online");
    assert_eq!(
        watching.event("AgentAvailability").await,
        json!({ "agents_online": true })
    );
    let (status, late) = call(
        &app,
        reqwest::Method::PUT,
        "/api/agent/availability",
        &ada.token,
        Some(json!({"availability": "offline", "seq": 1_000})),
    )
    .await;
    assert_eq!(status, 200, "{late}");
    assert_eq!(late["agent"]["availability"], "online", "{late}");
    let (status, beat) = call(
        &app,
        reqwest::Method::POST,
        "/api/agent/heartbeat?seq=3000",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{beat}");
    assert_eq!(beat["agent"]["online"], true);
    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/api/agent/heartbeat?seq=soon",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 400);

    // A closing page says it is leaving: still online (visitors see no change) but only for the
    // grace, as if last heard from that long before the window ends.
    let (status, leaving) = call(
        &app,
        reqwest::Method::POST,
        "/api/agent/heartbeat?seq=4000&leaving=true",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{leaving}");
    assert_eq!(leaving["agent"]["online"], true);
    let stored = app.store.agent(ada.id).await.unwrap().unwrap();
    let silent_for = chrono::Utc::now() - stored.last_seen_at.unwrap();
    assert!(
        (60..=70).contains(&silent_for.num_seconds()),
        "seen {silent_for} ago"
    );
    assert!(!stored.is_online(
        chrono::Utc::now() + chrono::Duration::seconds(11),
        parley_chat::presence::online_window()
    ));
    let quiet = watching.sync().await;
    assert!(
        quiet.iter().all(|f| f["event"] != "AgentAvailability"),
        "{quiet:?}"
    );
    set_availability(&app, &ada, "away").await;
    assert_eq!(
        watching.event("AgentAvailability").await,
        json!({ "agents_online": false })
    );

    let (status, body) = set_availability(&app, &ada, "busy").await;
    assert_eq!(status, 422, "{body}");
    let (status, team_list) = get(&app, "/api/agent/agents", &ada).await;
    assert_eq!(status, 200);
    assert_eq!(team_list["agents"][0]["availability"], "away");
    assert_eq!(team_list["agents_online"], 0);
}

#[tokio::test]
async fn a_silent_dashboard_drops_out_and_a_heartbeat_brings_it_back() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let long_ago = chrono::Utc::now() - chrono::Duration::minutes(5);
    app.store
        .set_agent_availability(ada.id, AgentAvailability::Online, long_ago, None)
        .await
        .unwrap();
    app.service.refresh_presence().await.unwrap();
    assert!(!visitor_sees_agents_online(&app).await);

    let mut watching = app.subscriber(id, &visitor).await;
    let (status, body) = call(
        &app,
        reqwest::Method::POST,
        "/api/agent/heartbeat",
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["agent"]["online"], true);
    assert_eq!(
        watching.event("AgentAvailability").await,
        json!({ "agents_online": true })
    );
}

#[tokio::test]
async fn agents_authorise_the_team_channel_and_conversations_only() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let socket = Subscriber::connect(app.realtime_addr).await;

    let mut on_conversation =
        agent_subscriber(&app, &ada, &format!("private-chat.conversation.{id}")).await;
    let (status, _) = app
        .send(id, &visitor, json!({"message": "agents can read this"}))
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        on_conversation.event("ChatMessageReceived").await["message"],
        "agents can read this"
    );

    for channel in [
        "private-chat.conversation.999999",
        "private-chat.conversation.abc",
        "private-other",
        "presence-agents",
    ] {
        let (status, body) = sign(&app, &ada, &socket.socket_id, channel).await;
        assert_eq!(status, 403, "{channel}: {body}");
    }
    // A visitor's widget cannot listen to the team.
    let response = app
        .post("/api/chatbot/broadcasting/auth")
        .header("X-Visitor-Token", &visitor)
        .form(&[
            ("socket_id", socket.socket_id.as_str()),
            ("channel_name", "private-agents"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let (status, _) = sign(&app, &ada, "not-a-socket", "private-agents").await;
    assert_eq!(status, 400);
}
