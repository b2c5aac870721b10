//! Subscribing: public, private, encrypted, presence and cache channels, and the handshake.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn handshake_gives_a_socket_id_and_activity_timeout() {
    let server = TestServer::default().await;
    let client = server.connect().await;
    let (a, b) = client.socket_id.split_once('.').unwrap();
    assert!(a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(client.handshake["activity_timeout"], 120);
    let other = server.connect().await;
    assert_ne!(client.socket_id, other.socket_id);
}

#[tokio::test]
async fn unknown_app_key_is_refused_with_4001() {
    let server = TestServer::default().await;
    let mut client = Client::open(server.addr, "no-such-key", None).await;
    let (code, frames) = client.closed().await;
    assert_eq!(code, Some(4001));
    assert_eq!(frames[0]["event"], "pusher:error");
    assert_eq!(frames[0]["data"]["code"], 4001);
}

#[tokio::test]
async fn public_channel_receives_published_events_except_the_excluded_socket() {
    let server = TestServer::default().await;
    let mut alice = server.connect().await;
    let mut bob = server.connect().await;
    for client in [&mut alice, &mut bob] {
        let ok = client.subscribe("news").await;
        assert_eq!(ok["event"], "pusher_internal:subscription_succeeded");
        assert_eq!(ok["channel"], "news");
    }
    let (status, body) = server.publish("news", "headline", r#"{"text":"hi"}"#).await;
    assert_eq!((status, body), (200, json!({})));
    for client in [&mut alice, &mut bob] {
        let event = client.recv().await;
        assert_eq!(
            event,
            json!({"event": "headline", "channel": "news", "data": r#"{"text":"hi"}"#})
        );
    }
    // toOthers: the socket named in socket_id is left out.
    let body =
        json!({"name": "second", "channel": "news", "data": "x", "socket_id": alice.socket_id});
    let (status, _) = server
        .api("POST", &format!("/apps/{APP_ID}/events"), &[], Some(body))
        .await;
    assert_eq!(status, 200);
    assert_eq!(bob.recv().await["event"], "second");
    assert!(
        alice.sync().await.is_empty(),
        "the excluded socket got the event"
    );
}

#[tokio::test]
async fn unsubscribed_sockets_stop_receiving() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "news"}}))
        .await;
    client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "news"}}))
        .await;
    client.sync().await;
    server.publish("news", "late", "x").await;
    assert!(client.sync().await.is_empty());
}

#[tokio::test]
async fn private_channels_need_a_valid_signature_and_a_failure_keeps_the_socket() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.send(json!({"event": "pusher:subscribe", "data": {"channel": "private-a", "auth": format!("{KEY}:{}", "0".repeat(64))}})).await;
    let error = client.recv().await;
    assert_eq!(error["event"], "pusher:subscription_error");
    assert_eq!(error["channel"], "private-a");
    assert_eq!(error["data"]["type"], "AuthError");
    assert_eq!(error["data"]["status"], 401);
    // No auth at all is a failure too, not a crash.
    client
        .send(json!({"event": "pusher:subscribe", "data": {"channel": "private-a"}}))
        .await;
    assert_eq!(client.recv().await["event"], "pusher:subscription_error");
    // The connection is still usable.
    let ok = client.subscribe_private("private-a").await;
    assert_eq!(ok["event"], "pusher_internal:subscription_succeeded");
    server.publish("private-a", "e", "1").await;
    assert_eq!(client.recv().await["event"], "e");
    // A signature for another socket does not work here.
    let other = server.connect().await;
    let stolen =
        parley_protocol::signature::channel_auth(KEY, SECRET, &other.socket_id, "private-b", None);
    client
        .send(
            json!({"event": "pusher:subscribe", "data": {"channel": "private-b", "auth": stolen}}),
        )
        .await;
    assert_eq!(client.recv().await["event"], "pusher:subscription_error");
}

#[tokio::test]
async fn encrypted_channels_relay_and_refuse_multi_channel_publishes() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    assert_eq!(
        client.subscribe_private("private-encrypted-x").await["event"],
        "pusher_internal:subscription_succeeded"
    );
    let sealed = r#"{"nonce":"bm9uY2U=","ciphertext":"c2VjcmV0"}"#;
    server.publish("private-encrypted-x", "e", sealed).await;
    assert_eq!(client.recv().await["data"], sealed);
    let body = json!({"name": "e", "channels": ["private-encrypted-x", "public"], "data": sealed});
    let (status, _) = server
        .api("POST", &format!("/apps/{APP_ID}/events"), &[], Some(body))
        .await;
    assert_eq!(status, 400);
    client
        .send(json!({"event": "client-x", "channel": "private-encrypted-x", "data": {}}))
        .await;
    let error = client.recv().await;
    assert_eq!(
        (error["event"].as_str(), error["data"]["code"].as_u64()),
        (Some("pusher:error"), Some(4301))
    );
}

#[tokio::test]
async fn presence_members_are_deduplicated_by_user() {
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    let joined = ann.subscribe_presence("presence-room", "1").await;
    assert_eq!(
        data(&joined)["presence"]["ids"],
        json!(["1"]),
        "the subscriber is in its own list"
    );

    let mut bob = server.connect().await;
    let joined = bob.subscribe_presence("presence-room", "2").await;
    let presence = &data(&joined)["presence"];
    assert_eq!(presence["count"], 2);
    assert_eq!(presence["hash"]["1"]["name"], "user 1");
    let added = ann.recv().await;
    assert_eq!(added["event"], "pusher_internal:member_added");
    assert_eq!(
        data(&added),
        json!({"user_id": "2", "user_info": {"name": "user 2"}})
    );

    // Bob's second tab: no member_added, count stays 2.
    let mut bob_tab = server.connect().await;
    let joined = bob_tab.subscribe_presence("presence-room", "2").await;
    assert_eq!(data(&joined)["presence"]["count"], 2);
    assert!(
        ann.sync().await.is_empty(),
        "member_added sent for a user already present"
    );
    let (_, users) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/presence-room/users"),
            &[],
            None,
        )
        .await;
    assert_eq!(users["users"].as_array().unwrap().len(), 2);

    // Closing one of Bob's tabs is not Bob leaving; closing the last is.
    drop(bob_tab);
    assert!(ann
        .sync()
        .await
        .iter()
        .all(|f| f["event"] != "pusher_internal:member_removed"));
    drop(bob);
    let removed = ann.recv_event("pusher_internal:member_removed").await;
    assert_eq!(data(&removed), json!({"user_id": "2"}));
}

#[tokio::test]
async fn presence_needs_signed_channel_data_and_respects_the_member_limit() {
    let mut app = app();
    app.max_presence_members = 1;
    let server = TestServer::start(config_with(app)).await;
    let mut ann = server.connect().await;
    ann.send(
        json!({"event": "pusher:subscribe", "data": {"channel": "presence-r", "auth": "x:y"}}),
    )
    .await;
    assert_eq!(ann.recv().await["data"]["status"], 401);
    ann.subscribe_presence("presence-r", "1").await;
    let mut bob = server.connect().await;
    let data_json = json!({"user_id": "2"}).to_string();
    let auth = parley_protocol::signature::channel_auth(
        KEY,
        SECRET,
        &bob.socket_id,
        "presence-r",
        Some(&data_json),
    );
    bob.send(json!({"event": "pusher:subscribe", "data": {"channel": "presence-r", "auth": auth, "channel_data": data_json}})).await;
    let error = bob.recv().await;
    assert_eq!(error["event"], "pusher:subscription_error");
    assert_eq!(error["data"]["type"], "LimitReached");
}

#[tokio::test]
async fn cache_channels_replay_the_last_event_or_report_a_miss() {
    let server = TestServer::default().await;
    let mut first = server.connect().await;
    first.subscribe("cache-scores").await;
    assert_eq!(
        first.recv().await,
        json!({"event": "pusher:cache_miss", "channel": "cache-scores"})
    );
    server.publish("cache-scores", "score", "1-0").await;
    server.publish("cache-scores", "score", "2-0").await;
    let mut late = server.connect().await;
    late.subscribe("cache-scores").await;
    assert_eq!(
        late.recv().await,
        json!({"event": "score", "channel": "cache-scores", "data": "2-0"})
    );
    let (_, info) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/cache-scores"),
            &[("info", "cache")],
            None,
        )
        .await;
    assert_eq!(info["cache"]["data"], "2-0");
}

#[tokio::test]
async fn invalid_channel_names_are_refused_on_that_channel_only() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    let error = client.subscribe("bad name").await;
    assert_eq!(error["event"], "pusher:subscription_error");
    let error = client.subscribe(&"a".repeat(201)).await;
    assert_eq!(error["event"], "pusher:subscription_error");
    assert_eq!(
        client.subscribe("fine").await["event"],
        "pusher_internal:subscription_succeeded"
    );
}
