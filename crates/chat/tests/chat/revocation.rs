//! Revoking a widget or an agent closes the sockets they have open, through the watcher that
//! `parley serve` runs, with revocations made straight in the store as another process would.

use parley_chat::revocation::SocketCloser;
use parley_protocol::SocketId;
use parley_realtime::Realtime;
use serde_json::json;

use crate::agents::{agent, agent_subscriber, get, sign};
use crate::support::*;

/// Closes sockets on the test's realtime server, as `parley serve`'s embedded driver does.
struct Closer(Realtime);

impl SocketCloser for Closer {
    fn close_channel(&self, channel: &str, reason: &str) {
        self.0.close_channel(APP_ID, channel, reason);
    }

    fn close_sockets(&self, sockets: &[SocketId], reason: &str) {
        self.0.close_sockets(APP_ID, sockets, reason);
    }

    fn reconnect_sockets(&self, sockets: &[SocketId], reason: &str) {
        self.0.reconnect_sockets(APP_ID, sockets, reason);
    }
}

/// The watcher as `parley serve` runs it, looking every 20 ms; cancel the token to stop it.
async fn watch_revocations(app: &TestApp) -> tokio_util::sync::CancellationToken {
    let shutdown = tokio_util::sync::CancellationToken::new();
    parley_chat::revocation::spawn_watcher(
        app.store.clone(),
        app.service.signed_sockets.clone(),
        std::time::Duration::from_millis(20),
        Closer(app.realtime.clone()),
        shutdown.clone(),
    )
    .await;
    shutdown
}

#[tokio::test]
async fn revoking_a_widget_closes_its_live_sockets() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    let shutdown = watch_revocations(&app).await;
    app.store.revoke_widget(app.widget_id).await.unwrap();
    assert_eq!(subscriber.closed().await, Some(4009));
    assert_eq!(
        app.get("/api/chatbot/config")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    shutdown.cancel();
}

#[tokio::test]
async fn revoking_an_agent_closes_their_dashboard_socket() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let grace = agent(&app, "Grace").await;
    let socket = Subscriber::connect(app.realtime_addr).await;
    // Each agent may listen on their own channel, and on nobody else's.
    let (status, body) = sign(
        &app,
        &ada,
        &socket.socket_id,
        &format!("private-agent.{}", grace.id),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = sign(&app, &ada, &socket.socket_id, "private-agent.x").await;
    assert_eq!(status, 403, "{body}");

    let mut ada_socket = agent_subscriber(&app, &ada, &format!("private-agent.{}", ada.id)).await;
    let mut grace_socket =
        agent_subscriber(&app, &grace, &format!("private-agent.{}", grace.id)).await;
    let shutdown = watch_revocations(&app).await;
    assert!(app.store.revoke_agent(ada.id).await.unwrap());
    assert_eq!(ada_socket.closed().await, Some(4009));
    let (status, _) = get(&app, "/api/agent/me", &ada).await;
    assert_eq!(status, 401);
    // Grace's dashboard is untouched: her socket is still open.
    grace_socket
        .send(json!({"event": "pusher:ping", "data": {}}))
        .await;
    assert_eq!(grace_socket.recv().await["event"], "pusher:pong");
    let (status, _) = get(&app, "/api/agent/me", &grace).await;
    assert_eq!(status, 200);
    shutdown.cancel();
}

/// Subscribes `socket` to one more channel, signed for `agent` as pusher-js would ask.
async fn also_subscribe(
    app: &TestApp,
    agent: &crate::agents::Agent,
    socket: &mut Subscriber,
    channel: &str,
) {
    let (status, auth) = sign(app, agent, &socket.socket_id, channel).await;
    assert_eq!(status, 200, "{auth}");
    socket
        .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth["auth"]}}))
        .await;
    assert_eq!(
        socket.recv().await["event"],
        "pusher_internal:subscription_succeeded"
    );
}

#[tokio::test]
async fn revoking_an_agent_closes_a_socket_that_never_joined_their_own_channel() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, _visitor) = app.conversation().await;
    // Everything a dashboard listens on except `private-agent.{id}`.
    let mut socket = agent_subscriber(&app, &ada, "private-agents").await;
    also_subscribe(
        &app,
        &ada,
        &mut socket,
        &format!("private-chat.conversation.{id}"),
    )
    .await;
    // One that left every channel again: its signatures would still let it back in.
    let mut idle = agent_subscriber(&app, &ada, "private-agents").await;
    idle.send(json!({"event": "pusher:unsubscribe", "data": {"channel": "private-agents"}}))
        .await;
    assert!(idle.sync().await.is_empty());
    let grace = agent(&app, "Grace").await;
    let mut other = agent_subscriber(&app, &grace, "private-agents").await;
    let shutdown = watch_revocations(&app).await;
    assert!(app.store.revoke_agent(ada.id).await.unwrap());
    assert_eq!(socket.closed().await, Some(4009));
    assert_eq!(idle.closed().await, Some(4009));
    // Another agent's socket on the same channels stays.
    assert!(other
        .sync()
        .await
        .iter()
        .all(|f| f["event"] != "pusher:error"));
    shutdown.cancel();
}

#[tokio::test]
async fn revoking_a_widget_closes_a_visitor_socket_that_left_its_channel() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut socket = app.subscriber(id, &visitor).await;
    let channel = format!("private-chat.conversation.{id}");
    socket
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": channel}}))
        .await;
    assert!(socket.sync().await.is_empty());
    let shutdown = watch_revocations(&app).await;
    app.store.revoke_widget(app.widget_id).await.unwrap();
    assert_eq!(socket.closed().await, Some(4009));
    shutdown.cancel();
}

/// With `PARLEY_TEST_REDIS_URL` set (`make test` sets it): the chat service signs on one node
/// while the agent's socket is connected to another; revoking the agent closes it there.
#[tokio::test]
async fn revoking_an_agent_closes_their_socket_on_another_node() {
    let Ok(redis_url) = std::env::var("PARLEY_TEST_REDIS_URL") else {
        eprintln!("PARLEY_TEST_REDIS_URL is not set: nothing to run the two-node revocation on");
        return;
    };
    let app = TestApp::start().await;
    let channel = format!("parley-chat-test:revocation:{}", std::process::id());
    app.realtime
        .join_cluster(&redis_url, &channel)
        .await
        .unwrap();
    let other_node = parley_realtime::Realtime::new(parley_realtime::RealtimeConfig {
        apps: vec![parley_realtime::AppConfig::new(APP_ID, KEY, SECRET)],
        ..parley_realtime::RealtimeConfig::default()
    })
    .unwrap();
    other_node.join_cluster(&redis_url, &channel).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(other_node.serve(listener, stop.clone().cancelled_owned()));

    let ada = agent(&app, "Ada").await;
    let mut socket = Subscriber::connect(other_addr).await;
    also_subscribe(&app, &ada, &mut socket, "private-agents").await;
    let shutdown = watch_revocations(&app).await;
    assert!(app.store.revoke_agent(ada.id).await.unwrap());
    assert_eq!(socket.closed().await, Some(4009));
    shutdown.cancel();
    stop.cancel();
}

/// An admin disabling someone in the dashboard closes the sockets their password session had
/// signed, as revoking from the shell does.
#[tokio::test]
async fn disabling_a_person_closes_their_cookie_signed_socket() {
    let app = TestApp::start().await;
    let admin = crate::admin::owner(&app).await;
    let (bea_id, bea) = crate::admin::member(&app, &admin, "bea@example.com", "agent").await;
    let channel = format!("private-agents.{}", app.widget_id);
    let mut socket = bea.subscriber(&channel).await;
    let shutdown = watch_revocations(&app).await;
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{bea_id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(socket.closed().await, Some(4009));
    shutdown.cancel();
}

/// An admin narrowing someone's widgets has the sockets signed for them reconnect (4200): the
/// dashboard reconnects at once, and the channel it may no longer join is refused.
#[tokio::test]
async fn narrowing_someone_s_widgets_makes_their_socket_reconnect() {
    let mut app = TestApp::start().await;
    let shop = app.widget_id;
    app.use_bot(json!({ "kind": "knowledge" })).await;
    let clinic = app.widget_id;
    let admin = crate::admin::owner(&app).await;
    let (bea_id, bea) = crate::admin::member(&app, &admin, "bea@example.com", "agent").await;
    let channel = format!("private-agents.{shop}");
    let mut socket = bea.subscriber(&channel).await;
    // A colleague whose rights do not change keeps their socket.
    let (_, cleo) = crate::admin::member(&app, &admin, "cleo@example.com", "agent").await;
    let mut colleague = cleo.subscriber(&channel).await;

    let shutdown = watch_revocations(&app).await;
    let (status, _) = admin
        .call(
            reqwest::Method::PUT,
            &format!("/api/admin/users/{bea_id}/widgets"),
            Some(json!({ "widget_ids": [clinic] })),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(socket.closed().await, Some(4200), "reconnect, not give up");
    // Reconnected, the dashboard authorises again: the shop's inbox is refused now.
    let again = Subscriber::connect(app.realtime_addr).await;
    let (status, _) = bea.sign(&again.socket_id, &channel).await;
    assert_eq!(status, 403);
    let (status, _) = bea
        .sign(&again.socket_id, &format!("private-agents.{clinic}"))
        .await;
    assert_eq!(status, 200);
    assert!(colleague
        .sync()
        .await
        .iter()
        .all(|frame| frame["event"] != "pusher:error"));
    shutdown.cancel();
}
