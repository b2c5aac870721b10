//! User sign-in, server-to-user delivery, watchlists and terminating a user's connections.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn server_to_user_reaches_only_that_users_signed_in_sockets() {
    let server = TestServer::default().await;
    let mut ann_phone = server.connect().await;
    let mut ann_laptop = server.connect().await;
    let mut bob = server.connect().await;
    for client in [&mut ann_phone, &mut ann_laptop] {
        let ok = client.sign_in("ann", &[]).await;
        assert!(ok["data"]["user_data"]
            .as_str()
            .unwrap()
            .contains("\"ann\""));
    }
    bob.sign_in("bob", &[]).await;
    // Only Ann may subscribe to her channel.
    assert_eq!(
        ann_phone.subscribe("#server-to-user-ann").await["event"],
        "pusher_internal:subscription_succeeded"
    );
    let refused = bob.subscribe("#server-to-user-ann").await;
    assert_eq!(refused["event"], "pusher:subscription_error");
    let mut anonymous = server.connect().await;
    assert_eq!(
        anonymous.subscribe("#server-to-user-ann").await["event"],
        "pusher:subscription_error"
    );

    server
        .publish("#server-to-user-ann", "notice", "for ann")
        .await;
    for client in [&mut ann_phone, &mut ann_laptop] {
        let got = client.recv_event("notice").await;
        assert_eq!(got["data"], "for ann");
    }
    assert!(bob.sync().await.is_empty());
}

#[tokio::test]
async fn a_bad_sign_in_closes_with_4009() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    let user_data = json!({"id": "ann"}).to_string();
    client.send(json!({"event": "pusher:signin", "data": {"auth": format!("{KEY}:{}", "ab".repeat(32)), "user_data": user_data}})).await;
    let (code, frames) = client.closed().await;
    assert_eq!(code, Some(4009));
    assert_eq!(frames.last().unwrap()["data"]["code"], 4009);

    // A numeric id is refused too: pusher-js requires a string.
    let mut client = server.connect().await;
    let user_data = json!({"id": 7}).to_string();
    let auth = parley_protocol::signature::user_auth(KEY, SECRET, &client.socket_id, &user_data);
    client
        .send(json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}))
        .await;
    assert_eq!(client.closed().await.0, Some(4009));
}

#[tokio::test]
async fn watchlists_hear_online_and_offline() {
    let server = TestServer::default().await;
    let mut bob = server.connect().await;
    bob.sign_in("bob", &[]).await;
    let mut ann = server.connect().await;
    ann.sign_in("ann", &["bob", "carol"]).await;
    let online = ann.recv_event("pusher_internal:watchlist_events").await;
    assert_eq!(
        online["data"],
        json!({"events": [{"name": "online", "user_ids": ["bob"]}]})
    );
    let mut carol = server.connect().await;
    carol.sign_in("carol", &[]).await;
    let online = ann.recv_event("pusher_internal:watchlist_events").await;
    assert_eq!(online["data"]["events"][0]["user_ids"], json!(["carol"]));
    drop(bob);
    let offline = ann.recv_event("pusher_internal:watchlist_events").await;
    assert_eq!(
        offline["data"],
        json!({"events": [{"name": "offline", "user_ids": ["bob"]}]})
    );
}

#[tokio::test]
async fn terminate_connections_closes_every_signed_in_socket_of_the_user_with_4009() {
    let server = TestServer::default().await;
    let mut signed_in = server.connect().await;
    signed_in.sign_in("42", &[]).await;
    let mut signed_in_too = server.connect().await;
    signed_in_too.sign_in("42", &[]).await;
    signed_in_too.subscribe_presence("presence-r", "42").await;
    // Pusher's "Terminating user connections" page: "Connections for users subscribed to
    // presence channels but that have not been authenticated via this flow will not be
    // terminated."
    let mut member = server.connect().await;
    member.subscribe_presence("presence-r", "42").await;
    let mut bystander = server.connect().await;
    bystander.sign_in("7", &[]).await;
    let (status, body) = server
        .api(
            "POST",
            &format!("/apps/{APP_ID}/users/42/terminate_connections"),
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    for client in [&mut signed_in, &mut signed_in_too] {
        let (code, frames) = client.closed().await;
        assert_eq!(code, Some(4009));
        assert_eq!(
            frames.last().unwrap()["data"]["message"],
            "You got disconnected by the app."
        );
    }
    assert!(bystander.sync().await.is_empty());
    // The member that never signed in stays, and user 42 stays a member through it.
    assert!(member.sync().await.is_empty());

    // The Python SDK's path, without /apps/{id}.
    let mut again = server.connect().await;
    again.sign_in("43", &[]).await;
    let (status, _) = server
        .api(
            "POST",
            "/users/43/terminate_connections",
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again.closed().await.0, Some(4009));
}
