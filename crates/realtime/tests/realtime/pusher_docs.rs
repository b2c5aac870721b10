//! Expectations taken from Pusher's own documentation, each test naming the page it comes from:
//! cache channels, user sign-in, presence subscriptions by a signed-in user, presence limits,
//! and the per-connection subscription cap.

use parley_protocol::signature::{channel_auth, user_auth};
use serde_json::{json, Value};

use crate::support::*;

const CACHE_PAGE: &str = "https://pusher.com/docs/channels/using_channels/cache-channels/";
const PROTOCOL_PAGE: &str =
    "https://pusher.com/docs/channels/library_auth_reference/pusher-websockets-protocol/";
const PRESENCE_PAGE: &str = "https://pusher.com/docs/channels/using_channels/presence-channels/";

/// Sends `pusher:signin` for `user_data` and returns the server's answer (success or error).
async fn sign_in_with(client: &mut Client, user_data: &Value) -> Value {
    let user_data = user_data.to_string();
    let auth = user_auth(KEY, SECRET, &client.socket_id, &user_data);
    client
        .send(json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}))
        .await;
    loop {
        let frame = client.recv().await;
        if frame["event"] == "pusher:signin_success" || frame["event"] == "pusher:error" {
            return frame;
        }
    }
}

/// Subscribes to a presence channel with a signature over `socket_id:channel[:channel_data]`.
async fn join_presence(client: &mut Client, channel: &str, channel_data: Option<&Value>) -> Value {
    let channel_data = channel_data.map(Value::to_string);
    let auth = channel_auth(
        KEY,
        SECRET,
        &client.socket_id,
        channel,
        channel_data.as_deref(),
    );
    let mut data = json!({"channel": channel, "auth": auth});
    if let Some(channel_data) = channel_data {
        data["channel_data"] = channel_data.into();
    }
    client
        .send(json!({"event": "pusher:subscribe", "data": data}))
        .await;
    client.recv().await
}

#[tokio::test]
async fn client_events_never_fill_a_cache_channel() {
    // Cache channels page, FAQ "Are client events also supported?": "we do not cache client
    // events". Only the server's own events are replayed.
    let server = TestServer::default().await;
    let channel = "private-cache-board";
    let mut ann = server.connect().await;
    ann.subscribe_private(channel).await;
    assert_eq!(
        ann.recv().await["event"],
        "pusher:cache_miss",
        "{CACHE_PAGE}"
    );
    let mut bob = server.connect().await;
    bob.subscribe_private(channel).await;
    assert_eq!(bob.recv().await["event"], "pusher:cache_miss");
    ann.send(json!({"event": "client-move", "channel": channel, "data": {"x": 1}}))
        .await;
    assert_eq!(bob.recv().await["event"], "client-move");

    let mut late = server.connect().await;
    late.subscribe_private(channel).await;
    assert_eq!(
        late.recv().await,
        json!({"event": "pusher:cache_miss", "channel": channel}),
        "a client event is not what a new subscriber gets ({CACHE_PAGE})"
    );
    server.publish(channel, "board", "{\"x\":2}").await;
    let mut later = server.connect().await;
    later.subscribe_private(channel).await;
    assert_eq!(
        later.recv().await,
        json!({"event": "board", "channel": channel, "data": "{\"x\":2}"})
    );
}

#[tokio::test]
async fn channel_info_gives_the_cached_data_and_its_ttl_or_null() {
    // HTTP API reference, GET channel: `cache` is "Cached data and TTL (in seconds) for this
    // channel or null in case the cache is empty", e.g. {"cache": {"data": …, "ttl": 60}};
    // an attribute not available for the channel is an error (400).
    let mut config = config_with(app());
    config.cache_ttl = std::time::Duration::from_secs(600);
    let server = TestServer::start(config).await;
    let path = format!("/apps/{APP_ID}/channels/cache-price");
    let (status, empty) = server.api("GET", &path, &[("info", "cache")], None).await;
    assert_eq!(status, 200, "{empty}");
    assert_eq!(empty, json!({"occupied": false, "cache": null}));

    server.publish("cache-price", "price", "{\"eur\":3}").await;
    let (status, full) = server.api("GET", &path, &[("info", "cache")], None).await;
    assert_eq!(status, 200, "{full}");
    assert_eq!(full["cache"]["data"], "{\"eur\":3}", "{full}");
    let ttl = full["cache"]["ttl"]
        .as_u64()
        .expect("ttl is a number of seconds");
    assert!((1..=600).contains(&ttl), "{full}");

    let (status, body) = server
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/price"),
            &[("info", "cache")],
            None,
        )
        .await;
    assert_eq!(
        status, 400,
        "cache on a channel that is not a cache channel: {body}"
    );
}

#[tokio::test]
async fn a_second_sign_in_as_another_user_fails_and_the_first_stays() {
    // Protocol page, pusher:signin: "It fails if the connection is already associated with a
    // different user id", and a failed sign-in is answered with `pusher:error`.
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    let first = sign_in_with(&mut client, &json!({"id": "ann"})).await;
    assert_eq!(first["event"], "pusher:signin_success");
    let second = sign_in_with(&mut client, &json!({"id": "bob"})).await;
    assert_eq!(second["event"], "pusher:error", "{PROTOCOL_PAGE}: {second}");
    // Still Ann, still connected: events for Ann arrive, events for Bob do not.
    server.publish("#server-to-user-bob", "for-bob", "b").await;
    server.publish("#server-to-user-ann", "for-ann", "a").await;
    let got = client.recv_event("for-ann").await;
    assert_eq!(got["data"], "a");
    let before = client.sync().await;
    assert!(before.iter().all(|f| f["event"] != "for-bob"), "{before:?}");
    // Signing in again as the same user is no conflict.
    let again = sign_in_with(&mut client, &json!({"id": "ann"})).await;
    assert_eq!(again["event"], "pusher:signin_success");
}

#[tokio::test]
async fn a_watchlist_over_100_keeps_the_first_100_and_reports_4302() {
    // Protocol page, pusher:signin: "If the provided Watchlist exceeds the limit of 100, the
    // first 100 user IDs will be accepted and the sign-in operation will succeed with
    // pusher:signin_success event. In addition to that, an pusher:error event will be sent with
    // code 4302 indicating the accepted user IDs."
    let server = TestServer::default().await;
    let watchlist: Vec<String> = (0..=100).map(|i| format!("friend-{i}")).collect();
    let mut watcher = server.connect().await;
    let reply = sign_in_with(&mut watcher, &json!({"id": "w", "watchlist": watchlist})).await;
    assert_eq!(reply["event"], "pusher:signin_success", "{reply}");
    let error = watcher.recv().await;
    assert_eq!(error["event"], "pusher:error", "{PROTOCOL_PAGE}: {error}");
    assert_eq!(error["data"]["code"], 4302, "{error}");
    let message = error["data"]["message"].as_str().unwrap();
    assert!(
        message.contains("friend-99") && !message.contains("friend-100"),
        "{message}"
    );

    // The 101st id is not watched; the 100th is.
    let mut last = server.connect().await;
    last.sign_in("friend-100", &[]).await;
    let mut kept = server.connect().await;
    kept.sign_in("friend-99", &[]).await;
    let online = watcher.recv_event("pusher_internal:watchlist_events").await;
    assert_eq!(
        online["data"],
        json!({"events": [{"name": "online", "user_ids": ["friend-99"]}]})
    );
    assert!(watcher.sync().await.is_empty());

    // At the limit nothing is reported.
    let mut exact = server.connect().await;
    let hundred: Vec<String> = (0..100).map(|i| format!("pal-{i}")).collect();
    let reply = sign_in_with(&mut exact, &json!({"id": "x", "watchlist": hundred})).await;
    assert_eq!(reply["event"], "pusher:signin_success");
    assert!(exact.sync().await.is_empty());
}

#[tokio::test]
async fn a_signed_in_user_joins_presence_without_channel_data() {
    // Authorizing users page: "providing the user object in presence channel authorization is
    // optional, if the user is already signed-in using User Authentication"; presence channels
    // page: the user object from user authentication is then shared with the other members.
    // pusher-js (PresenceChannel.authorize) waits for the sign-in and takes its id as `me`.
    let server = TestServer::default().await;
    let mut ann = server.connect().await;
    let ok = sign_in_with(
        &mut ann,
        &json!({"id": "ann", "user_info": {"name": "Ann"}}),
    )
    .await;
    assert_eq!(ok["event"], "pusher:signin_success");
    let joined = join_presence(&mut ann, "presence-team", None).await;
    assert_eq!(
        joined["event"], "pusher_internal:subscription_succeeded",
        "{PRESENCE_PAGE}: {joined}"
    );
    assert_eq!(
        data(&joined),
        json!({"presence": {"ids": ["ann"], "hash": {"ann": {"name": "Ann"}}, "count": 1}})
    );

    let mut bob = server.connect().await;
    sign_in_with(&mut bob, &json!({"id": "bob"})).await;
    join_presence(&mut bob, "presence-team", None).await;
    let added = ann.recv_event("pusher_internal:member_added").await;
    assert_eq!(data(&added), json!({"user_id": "bob"}));

    // The user object given at authorization overrides the signed-in one (presence page).
    let mut carol = server.connect().await;
    sign_in_with(&mut carol, &json!({"id": "carol"})).await;
    let custom = json!({"user_id": "carol-at-work", "user_info": {"desk": 4}});
    let joined = join_presence(&mut carol, "presence-team", Some(&custom)).await;
    assert_eq!(joined["event"], "pusher_internal:subscription_succeeded");
    let added = ann.recv_event("pusher_internal:member_added").await;
    assert_eq!(
        data(&added),
        json!({"user_id": "carol-at-work", "user_info": {"desk": 4}})
    );

    // Without a sign-in, channel_data is still required, and a signature still is.
    let mut anonymous = server.connect().await;
    let refused = join_presence(&mut anonymous, "presence-team", None).await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
    let mut forger = server.connect().await;
    sign_in_with(&mut forger, &json!({"id": "forger"})).await;
    forger
        .send(json!({"event": "pusher:subscribe", "data": {"channel": "presence-team", "auth": format!("{KEY}:{}", "00".repeat(32))}}))
        .await;
    let refused = forger.recv().await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
    assert_eq!(refused["data"]["status"], 401);
}

#[tokio::test]
async fn presence_user_ids_up_to_128_characters_and_user_objects_up_to_1_kb() {
    // Presence channels page: "100 members maximum, 1KB limit for user object, and maximum
    // 128 characters for user id".
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    let long_id = "u".repeat(129);
    let refused = join_presence(
        &mut client,
        "presence-a",
        Some(&json!({"user_id": long_id})),
    )
    .await;
    assert_eq!(
        refused["event"], "pusher:subscription_error",
        "{PRESENCE_PAGE}: {refused}"
    );
    assert_eq!(refused["data"]["type"], "LimitReached");
    let fits = join_presence(
        &mut client,
        "presence-a",
        Some(&json!({"user_id": "u".repeat(128)})),
    )
    .await;
    assert_eq!(fits["event"], "pusher_internal:subscription_succeeded");

    // {"user_id":"big","user_info":{"bio":"…"}} is 40 bytes plus the bio.
    let object = |bio: usize| json!({"user_id": "big", "user_info": {"bio": "b".repeat(bio)}});
    assert_eq!(object(984).to_string().len(), 1024);
    let mut big = server.connect().await;
    let refused = join_presence(&mut big, "presence-b", Some(&object(985))).await;
    assert_eq!(
        refused["event"], "pusher:subscription_error",
        "{PRESENCE_PAGE}: {refused}"
    );
    assert_eq!(refused["data"]["type"], "LimitReached");
    let fits = join_presence(&mut big, "presence-b", Some(&object(984))).await;
    assert_eq!(fits["event"], "pusher_internal:subscription_succeeded");

    // A signed-in user's object counts the same way.
    let mut signed = server.connect().await;
    sign_in_with(
        &mut signed,
        &json!({"id": "big", "user_info": {"bio": "b".repeat(985)}}),
    )
    .await;
    let refused = join_presence(&mut signed, "presence-c", None).await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
}

#[tokio::test]
async fn a_connection_holds_at_most_100_subscriptions_by_default() {
    // Pusher documents no per-connection cap; an unbounded one lets one socket pin any amount
    // of server memory, so Parley refuses the 101st subscription and keeps the socket open.
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    for i in 0..100 {
        let reply = client.subscribe(&format!("room-{i}")).await;
        assert_eq!(
            reply["event"], "pusher_internal:subscription_succeeded",
            "{reply}"
        );
    }
    let refused = client.subscribe("room-100").await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
    assert_eq!(refused["channel"], "room-100");
    assert_eq!(refused["data"]["type"], "LimitReached");
    assert!(
        refused["data"]["error"]
            .as_str()
            .unwrap()
            .contains("at most 100"),
        "{refused}"
    );
    assert!(client.sync().await.is_empty(), "the socket stays open");
}

#[tokio::test]
async fn the_subscription_cap_is_configurable_and_leaving_makes_room() {
    let mut config = config_with(app());
    config.max_subscriptions_per_connection = 3;
    let server = TestServer::start(config).await;
    let mut client = server.connect().await;
    for name in ["a", "b", "c"] {
        assert_eq!(
            client.subscribe(name).await["event"],
            "pusher_internal:subscription_succeeded"
        );
    }
    let refused = client.subscribe("d").await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
    assert!(
        refused["data"]["error"]
            .as_str()
            .unwrap()
            .contains("at most 3"),
        "{refused}"
    );
    // Subscribing again to a channel it holds is no new subscription; leaving one makes room.
    assert_eq!(
        client.subscribe("a").await["event"],
        "pusher_internal:subscription_succeeded"
    );
    client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "b"}}))
        .await;
    assert_eq!(
        client.subscribe("d").await["event"],
        "pusher_internal:subscription_succeeded"
    );
    server.publish("d", "news", "1").await;
    assert_eq!(client.recv_event("news").await["channel"], "d");
}
