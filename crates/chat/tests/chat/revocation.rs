//! Revoking a widget or an agent closes the sockets they have open, through the watcher that
//! `parley serve` runs, with revocations made straight in the store as another process would.

use serde_json::json;

use crate::agents::{agent, agent_subscriber, get, sign};
use crate::support::*;

/// The watcher as `parley serve` runs it, looking every 20 ms; cancel the token to stop it.
async fn watch_revocations(app: &TestApp) -> tokio_util::sync::CancellationToken {
    let shutdown = tokio_util::sync::CancellationToken::new();
    let realtime = app.realtime.clone();
    parley_chat::revocation::spawn_watcher(
        app.store.clone(),
        std::time::Duration::from_millis(20),
        move |channel, reason| {
            realtime.close_channel(APP_ID, channel, reason);
        },
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
