//! Client events (`client-*`): who may send them, who receives them, and the limits.

use serde_json::json;

use crate::support::*;

fn code(frame: &serde_json::Value) -> Option<u64> {
    frame["data"]["code"].as_u64()
}

#[tokio::test]
async fn client_events_reach_others_but_not_the_sender() {
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    let mut bob = server.connect().await;
    ann.subscribe_private("private-chat").await;
    bob.subscribe_private("private-chat").await;
    ann.send(
        json!({"event": "client-typing", "channel": "private-chat", "data": {"typing": true}}),
    )
    .await;
    let got = bob.recv().await;
    assert_eq!(
        got,
        json!({"event": "client-typing", "channel": "private-chat", "data": {"typing": true}})
    );
    assert!(
        ann.sync().await.is_empty(),
        "client event echoed to its sender"
    );
}

#[tokio::test]
async fn presence_client_events_carry_the_sender_user_id() {
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    let mut bob = server.connect().await;
    ann.subscribe_presence("presence-r", "ann").await;
    bob.subscribe_presence("presence-r", "bob").await;
    ann.sync().await;
    bob.send(json!({"event": "client-wave", "channel": "presence-r", "data": {}}))
        .await;
    let got = ann.recv_event("client-wave").await;
    assert_eq!(got["user_id"], "bob");
}

#[tokio::test]
async fn client_events_are_refused_where_the_rules_say() {
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    ann.subscribe("public").await;
    ann.send(json!({"event": "client-x", "channel": "public", "data": {}}))
        .await;
    assert_eq!(code(&ann.recv().await), Some(4301), "public channel");
    ann.send(json!({"event": "client-x", "channel": "private-not-joined", "data": {}}))
        .await;
    assert_eq!(code(&ann.recv().await), Some(4301), "not subscribed");
    ann.subscribe_private("private-a").await;
    let big = "x".repeat(11 * 1024);
    ann.send(json!({"event": "client-x", "channel": "private-a", "data": {"big": big}}))
        .await;
    assert_eq!(code(&ann.recv().await), Some(4301), "too large");
    // The connection survives all of that.
    assert!(ann.sync().await.is_empty());
}

#[tokio::test]
async fn client_events_can_be_disabled_per_app() {
    let mut app = app();
    app.client_events = false;
    let server = TestServer::start(config_with(app)).await;
    let mut ann = server.connect().await;
    ann.subscribe_private("private-a").await;
    ann.send(json!({"event": "client-x", "channel": "private-a", "data": {}}))
        .await;
    assert_eq!(code(&ann.recv().await), Some(4301));
}

#[tokio::test]
async fn client_events_are_rate_limited_per_connection() {
    let mut app = app();
    app.client_event_rate_limit = 5;
    let server = TestServer::start(config_with(app)).await;
    let mut ann = server.connect().await;
    let mut bob = server.connect().await;
    ann.subscribe_private("private-a").await;
    bob.subscribe_private("private-a").await;
    for i in 0..20 {
        ann.send(json!({"event": "client-n", "channel": "private-a", "data": {"i": i}}))
            .await;
    }
    let errors = ann
        .sync()
        .await
        .into_iter()
        .filter(|f| code(f) == Some(4301))
        .count();
    let delivered = bob
        .sync()
        .await
        .into_iter()
        .filter(|f| f["event"] == "client-n")
        .count();
    assert!(errors >= 1, "no event was rate limited");
    assert_eq!(
        delivered + errors,
        20,
        "every event was either delivered or refused"
    );
    assert!((5..20).contains(&delivered), "delivered {delivered}");
}
