//! Scale-out through Redis: two nodes sharing one Redis deliver each other's events, client
//! events and terminations, and never deliver their own twice. Runs when
//! `PARLEY_TEST_REDIS_URL` names a Redis (`make test` sets it); each test has its own pub/sub
//! channel, so tests running at once never see each other's messages.

use parley_realtime::{ClusterError, Realtime};
use serde_json::json;

use crate::support::*;

fn redis_url() -> Option<String> {
    let url = std::env::var("PARLEY_TEST_REDIS_URL").ok();
    if url.is_none() {
        eprintln!("PARLEY_TEST_REDIS_URL is not set: the cluster tests have nothing to run on");
    }
    url
}

fn test_channel(test: &str) -> String {
    format!("parley-test:{test}:{}", std::process::id())
}

/// Two nodes on one Redis channel unique to the calling test, and what deletes the test's keys
/// from that Redis when it ends.
async fn two_nodes(test: &str) -> Option<(TestServer, TestServer, Cleanup)> {
    let url = redis_url()?;
    let channel = test_channel(test);
    let keys = Cleanup::new(&url, &channel);
    let a = TestServer::start_clustered(config_with(app()), &url, &channel).await;
    let b = TestServer::start_clustered(config_with(app()), &url, &channel).await;
    Some((a, b, keys))
}

/// Deletes the keys a test's nodes kept in the shared Redis (their presence state, under the
/// test's channel name) when the test ends, however it ends.
struct Cleanup {
    url: String,
    prefix: String,
}

impl Cleanup {
    fn new(url: &str, channel: &str) -> Cleanup {
        Cleanup {
            url: url.to_string(),
            prefix: channel.to_string(),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let Ok(client) = redis::Client::open(self.url.as_str()) else {
            return;
        };
        let Ok(mut connection) = client.get_connection() else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}:*", self.prefix))
            .query(&mut connection)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut connection);
        }
    }
}

#[tokio::test]
async fn an_event_published_on_one_node_reaches_every_node_once() {
    let Some((a, b, _keys)) = two_nodes("publish").await else {
        return;
    };
    let mut on_a = a.connect().await;
    let mut on_b = b.connect().await;
    on_a.subscribe("news").await;
    on_b.subscribe("news").await;

    let (status, _) = a.publish("news", "first", r#"{"n":1}"#).await;
    assert_eq!(status, 200);
    for client in [&mut on_a, &mut on_b] {
        let got = client.recv_event("first").await;
        assert_eq!(data(&got), json!({"n": 1}));
        assert_eq!(got["channel"], "news");
    }
    // Published from the other node: if either node had delivered "first" twice (its own echo
    // from Redis), the duplicate would arrive before this, as Redis keeps one channel in order.
    let (status, _) = b.publish("news", "second", r#"{"n":2}"#).await;
    assert_eq!(status, 200);
    for client in [&mut on_a, &mut on_b] {
        assert_eq!(client.recv().await["event"], "second");
    }
}

#[tokio::test]
async fn client_events_cross_nodes_but_never_come_back_to_the_sender() {
    let Some((a, b, _keys)) = two_nodes("client-events").await else {
        return;
    };
    let mut ann = a.connect().await;
    let mut bob = b.connect().await;
    ann.subscribe_private("private-chat").await;
    bob.subscribe_private("private-chat").await;

    let typing =
        json!({"event": "client-typing", "channel": "private-chat", "data": {"typing": true}});
    ann.send(typing.clone()).await;
    assert_eq!(bob.recv().await, typing);
    let reply =
        json!({"event": "client-typing", "channel": "private-chat", "data": {"typing": false}});
    bob.send(reply.clone()).await;
    // Ann's own event, echoed back through the other node, would come first.
    assert_eq!(ann.recv().await, reply);
    assert!(bob.sync().await.is_empty(), "bob got his own event back");
}

#[tokio::test]
async fn users_are_reached_and_terminated_on_any_node() {
    let Some((a, b, _keys)) = two_nodes("users").await else {
        return;
    };
    let mut ann = b.connect().await;
    ann.sign_in("ann", &[]).await;

    let (status, _) = a
        .publish("#server-to-user-ann", "hello", r#"{"to":"ann"}"#)
        .await;
    assert_eq!(status, 200);
    assert_eq!(data(&ann.recv_event("hello").await), json!({"to": "ann"}));

    let (status, body) = a
        .api(
            "POST",
            &format!("/apps/{APP_ID}/users/ann/terminate_connections"),
            &[],
            Some(json!({})),
        )
        .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(ann.closed().await.0, Some(4009));
}

#[tokio::test]
async fn joining_fails_clearly_without_a_reachable_redis() {
    let realtime = Realtime::new(config_with(app())).unwrap();
    assert!(matches!(
        realtime.join_cluster("not a url", "c").await,
        Err(ClusterError::BadUrl(_))
    ));
    // Port 1 on this host: nothing listens there.
    assert!(matches!(
        realtime.join_cluster("redis://127.0.0.1:1/", "c").await,
        Err(ClusterError::Unreachable(_))
    ));
    let Some(url) = redis_url() else {
        return;
    };
    let _keys = Cleanup::new(&url, "parley-test:join-twice");
    realtime
        .join_cluster(&url, "parley-test:join-twice")
        .await
        .unwrap();
    assert!(matches!(
        realtime.join_cluster(&url, "parley-test:join-twice").await,
        Err(ClusterError::AlreadyJoined)
    ));
}

#[tokio::test]
async fn channel_queries_count_every_node() {
    let Some((a, b, _keys)) = two_nodes("queries").await else {
        return;
    };
    let mut news_a = a.connect().await;
    news_a.subscribe("news").await;
    let mut news_b = b.connect().await;
    news_b.subscribe("news").await;
    let mut news_b2 = b.connect().await;
    news_b2.subscribe("news").await;
    // Ann on both nodes, Bob on one: two users, three sockets.
    let mut ann_a = a.connect().await;
    ann_a.subscribe_presence("presence-room", "ann").await;
    let mut ann_b = b.connect().await;
    ann_b.subscribe_presence("presence-room", "ann").await;
    let mut bob_b = b.connect().await;
    bob_b.subscribe_presence("presence-room", "bob").await;

    let (status, body) = a
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels"),
            &[("info", "subscription_count")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["channels"]["news"]["subscription_count"], 3);
    assert_eq!(body["channels"]["presence-room"]["subscription_count"], 3);

    let (status, body) = a
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/presence-room"),
            &[("info", "user_count,subscription_count")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"occupied": true, "user_count": 2, "subscription_count": 3})
    );

    let (_, body) = b
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/presence-room/users"),
            &[],
            None,
        )
        .await;
    assert_eq!(body, json!({"users": [{"id": "ann"}, {"id": "bob"}]}));

    let (_, body) = b
        .api("GET", &format!("/apps/{APP_ID}/connections"), &[], None)
        .await;
    assert_eq!(body, json!({"connections": 6}));

    // A channel only the other node has is occupied from here too; an empty one is not.
    let (_, body) = b
        .api("GET", &format!("/apps/{APP_ID}/channels/news"), &[], None)
        .await;
    assert_eq!(body["occupied"], true);
    let (_, body) = a
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/nobody-here"),
            &[],
            None,
        )
        .await;
    assert_eq!(body, json!({"occupied": false}));
}

#[tokio::test]
async fn a_node_that_never_answers_is_left_out_not_waited_for() {
    let Some((a, b, _keys)) = two_nodes("silent").await else {
        return;
    };
    // Something subscribed to the nodes' channel that never answers: a node going away.
    let client = redis::Client::open(redis_url().unwrap()).unwrap();
    let mut silent = client.get_async_pubsub().await.unwrap();
    silent.subscribe(test_channel("silent")).await.unwrap();

    let mut on_b = b.connect().await;
    on_b.subscribe("news").await;
    let (status, body) = a
        .api(
            "GET",
            &format!("/apps/{APP_ID}/channels/news"),
            &[("info", "subscription_count")],
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"occupied": true, "subscription_count": 1}));
}

/// A Redis of the test's own on a free port, so that it can be stopped and started again
/// without touching the Redis other tests share. `None` (saying why) without `redis-server`.
struct OwnRedis {
    port: u16,
    process: std::process::Child,
}

impl OwnRedis {
    fn start_on(port: u16) -> Option<OwnRedis> {
        Self::start_with(port, &["--save", "", "--appendonly", "no"])
    }

    /// One that writes every change to an append-only file in `dir` before answering, so that
    /// when killed and started again it has what it had.
    fn persistent(port: u16, dir: &std::path::Path) -> Option<OwnRedis> {
        let dir = dir.to_str().unwrap();
        Self::start_with(
            port,
            &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--dir",
                dir,
            ],
        )
    }

    fn start_with(port: u16, settings: &[&str]) -> Option<OwnRedis> {
        let process = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(settings)
            .stdout(std::process::Stdio::null())
            .spawn();
        match process {
            Ok(process) => Some(OwnRedis { port, process }),
            Err(error) => {
                eprintln!("cannot start redis-server ({error}): this test has nothing to run on");
                None
            }
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Waits until it answers PING.
    async fn ready(&self) {
        let client = redis::Client::open(self.url()).unwrap();
        for _ in 0..200 {
            if let Ok(mut connection) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<()>(&mut connection)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} never answered", self.port);
    }

    fn kill(&mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }

    /// Stops (`true`) or resumes it, as a Redis too busy to answer.
    fn pause(&self, paused: bool) {
        let signal = if paused { "-STOP" } else { "-CONT" };
        let status = std::process::Command::new("kill")
            .args([signal, &self.process.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn after_redis_comes_back_subscribed_sockets_are_sent_to_catch_up() {
    // Only where Redis is tested at all, so the skip is decided in one place.
    if redis_url().is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(mut redis) = OwnRedis::start_on(port) else {
        return;
    };
    redis.ready().await;
    let channel = test_channel("redis-restart");
    let a = TestServer::start_clustered(config_with(app()), &redis.url(), &channel).await;
    let b = TestServer::start_clustered(config_with(app()), &redis.url(), &channel).await;
    let mut subscribed = b.connect().await;
    subscribed.subscribe("news").await;
    let mut idle = b.connect().await;

    // Redis pub/sub keeps nothing: what node A publishes while it is away never reaches node
    // B, whose socket would miss it for good if nothing told its client to catch up.
    redis.kill();
    let (status, _) = a.publish("news", "missed", r#"{"n":1}"#).await;
    assert_eq!(status, 200);
    let redis = OwnRedis::start_on(port).unwrap();
    redis.ready().await;

    let (code, frames) = subscribed.closed().await;
    assert_eq!(code, Some(4200), "pusher-js reconnects at once on 4200");
    assert!(
        frames.iter().all(|frame| frame["event"] != "missed"),
        "the event could not have crossed: {frames:?}"
    );
    // A socket with no subscription missed nothing and stays.
    idle.send(json!({"event": "pusher:ping", "data": {}})).await;
    assert_eq!(idle.recv().await["event"], "pusher:pong");

    // Once Redis is back, events cross again.
    let mut again = b.connect().await;
    again.subscribe("news").await;
    let mut delivered = false;
    for n in 0..50 {
        a.publish("news", "after", &format!(r#"{{"n":{n}}}"#)).await;
        if let Ok(frame) =
            tokio::time::timeout(std::time::Duration::from_millis(200), again.recv()).await
        {
            if frame["event"] == "after" {
                delivered = true;
                break;
            }
        }
    }
    assert!(
        delivered,
        "events never crossed again after Redis came back"
    );
}

// ---------------------------------------------------------------------------------------------
// Presence, occupancy and their webhooks across nodes: the cluster's, exact.

use std::collections::BTreeSet;

use parley_realtime::{RealtimeConfig, WebhookConfig};

/// The member ids a `subscription_succeeded` frame lists.
fn members(frame: &serde_json::Value) -> BTreeSet<String> {
    assert_eq!(
        frame["event"], "pusher_internal:subscription_succeeded",
        "{frame}"
    );
    data(frame)["presence"]["ids"]
        .as_array()
        .expect("a presence list")
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

/// The user a member event is about, with whether it is `member_added`.
fn member_event(frame: &serde_json::Value) -> (bool, String) {
    let added = match frame["event"].as_str() {
        Some("pusher_internal:member_added") => true,
        Some("pusher_internal:member_removed") => false,
        _ => panic!("expected a member event, got {frame}"),
    };
    (added, data(frame)["user_id"].as_str().unwrap().to_string())
}

/// A presence subscriber's view: its list, kept by the member events it gets. Every event must
/// agree with the list (no `member_added` of a member, no `member_removed` of a stranger).
struct Watcher {
    client: Client,
    members: BTreeSet<String>,
    node: std::net::SocketAddr,
    channel: String,
    user: String,
}

impl Watcher {
    async fn join(node: std::net::SocketAddr, channel: &str, user: &str) -> Watcher {
        let mut client = Client::connect(node, KEY, None).await;
        let members = members(&client.subscribe_presence(channel, user).await);
        Watcher {
            client,
            members,
            node,
            channel: channel.to_string(),
            user: user.to_string(),
        }
    }

    /// Applies the next member event, checking it against the list.
    async fn next(&mut self) -> (bool, String) {
        let (added, user) = member_event(&self.client.recv().await);
        if added {
            assert!(
                self.members.insert(user.clone()),
                "member_added for {user}, already listed in {:?}",
                self.members
            );
        } else {
            assert!(
                self.members.remove(&user),
                "member_removed for {user}, not listed in {:?}",
                self.members
            );
        }
        (added, user)
    }

    /// Applies member events until the list is `expected`. Told to reconnect (4200), it does,
    /// as pusher-js would, and goes on from its new list.
    async fn until(&mut self, expected: &BTreeSet<String>) {
        while &self.members != expected {
            let frame = self.client.recv().await;
            if frame["event"] == "pusher:error" && frame["data"]["code"] == 4200 {
                eprintln!(
                    "{} told to reconnect: {}",
                    self.user, frame["data"]["message"]
                );
                *self = Watcher::join(self.node, &self.channel, &self.user).await;
                continue;
            }
            let (added, user) = member_event(&frame);
            if added {
                assert!(
                    self.members.insert(user.clone()),
                    "member_added for {user}, already listed in {:?}",
                    self.members
                );
            } else {
                assert!(
                    self.members.remove(&user),
                    "member_removed for {user}, not listed in {:?}",
                    self.members
                );
            }
        }
    }
}

/// Subscribes to a presence channel; returns the first answer, whatever it is.
async fn subscribe_presence_raw(
    client: &mut Client,
    channel: &str,
    user: &str,
) -> serde_json::Value {
    let channel_data =
        json!({"user_id": user, "user_info": {"name": format!("user {user}")}}).to_string();
    let auth = parley_protocol::signature::channel_auth(
        KEY,
        SECRET,
        &client.socket_id,
        channel,
        Some(&channel_data),
    );
    client
        .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth, "channel_data": channel_data}}))
        .await;
    client.recv().await
}

async fn clustered(config: RealtimeConfig, url: &str, channel: &str) -> TestServer {
    TestServer::start_clustered(config, url, channel).await
}

#[tokio::test]
async fn member_lists_hold_every_node_s_members_on_two_and_three_nodes() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("presence-lists");
    let _keys = Cleanup::new(&url, &channel);
    let room = "presence-room";
    let a = clustered(config_with(app()), &url, &channel).await;
    let b = clustered(config_with(app()), &url, &channel).await;

    let mut ann = Watcher::join(a.addr, room, "ann").await;
    assert_eq!(ann.members, set(&["ann"]));
    let mut bob = b.connect().await;
    let list = bob.subscribe_presence(room, "bob").await;
    assert_eq!(members(&list), set(&["ann", "bob"]));
    assert_eq!(data(&list)["presence"]["count"], 2);
    assert_eq!(
        data(&list)["presence"]["hash"]["ann"],
        json!({"name": "user ann"})
    );
    assert_eq!(ann.next().await, (true, "bob".to_string()));

    let mut cy = Watcher::join(a.addr, room, "cy").await;
    assert_eq!(cy.members, set(&["ann", "bob", "cy"]));
    // Across nodes the event carries the member's user_info, as on one node.
    let added = bob.recv().await;
    assert_eq!(added["event"], "pusher_internal:member_added");
    assert_eq!(
        data(&added),
        json!({"user_id": "cy", "user_info": {"name": "user cy"}})
    );
    assert_eq!(ann.next().await, (true, "cy".to_string()));
    cy.client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": room}}))
        .await;
    assert_eq!(ann.next().await, (false, "cy".to_string()));
    assert_eq!(member_event(&bob.recv().await), (false, "cy".to_string()));

    // A third node: its first subscriber gets the other two nodes' members.
    let c = clustered(config_with(app()), &url, &channel).await;
    let eve = Watcher::join(c.addr, room, "eve").await;
    assert_eq!(eve.members, set(&["ann", "bob", "eve"]));
    assert_eq!(ann.next().await, (true, "eve".to_string()));
    for node in [&a, &b, &c] {
        let ann_again = Watcher::join(node.addr, room, "ann").await;
        assert_eq!(ann_again.members, set(&["ann", "bob", "eve"]));
    }
    // Ann's extra sockets were news to nobody: the next event ann hears is this one.
    let _fay = Watcher::join(b.addr, room, "fay").await;
    assert_eq!(ann.next().await, (true, "fay".to_string()));
}

#[tokio::test]
async fn a_user_on_two_nodes_is_added_once_and_removed_once_everywhere() {
    let Some((a, b, _keys)) = two_nodes("presence-once").await else {
        return;
    };
    let room = "presence-room";
    let leave = json!({"event": "pusher:unsubscribe", "data": {"channel": room}});
    let mut on_a = Watcher::join(a.addr, room, "watcher-a").await;
    let mut on_b = Watcher::join(b.addr, room, "watcher-b").await;
    assert_eq!(on_a.next().await, (true, "watcher-b".to_string()));

    let mut ann_a = a.connect().await;
    ann_a.subscribe_presence(room, "ann").await;
    let mut ann_b = b.connect().await;
    let list = ann_b.subscribe_presence(room, "ann").await;
    assert_eq!(members(&list), set(&["watcher-a", "watcher-b", "ann"]));
    // A marker joining on node B after ann's second socket: a second member_added for ann
    // (from node B) would reach the watchers before it, as Redis keeps one order.
    let _m1 = Watcher::join(b.addr, room, "marker-1").await;
    for watcher in [&mut on_a, &mut on_b] {
        assert_eq!(watcher.next().await, (true, "ann".to_string()));
        assert_eq!(watcher.next().await, (true, "marker-1".to_string()));
    }

    // Ann's socket on A leaves (the pong proves node A took it in): she is still on B.
    ann_a.send(leave.clone()).await;
    ann_a.sync().await;
    let _m2 = Watcher::join(a.addr, room, "marker-2").await;
    for watcher in [&mut on_a, &mut on_b] {
        assert_eq!(watcher.next().await, (true, "marker-2".to_string()));
    }
    // Her last socket leaves: removed once, for the watchers of both nodes.
    ann_b.send(leave).await;
    ann_b.sync().await;
    let _m3 = Watcher::join(b.addr, room, "marker-3").await;
    for watcher in [&mut on_a, &mut on_b] {
        assert_eq!(watcher.next().await, (false, "ann".to_string()));
        assert_eq!(watcher.next().await, (true, "marker-3".to_string()));
    }
    // A socket closing (not unsubscribing) leaves too.
    drop(_m3);
    for watcher in [&mut on_a, &mut on_b] {
        assert_eq!(watcher.next().await, (false, "marker-3".to_string()));
    }
}

#[tokio::test]
async fn the_member_limit_is_the_cluster_s() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("presence-limit");
    let _keys = Cleanup::new(&url, &channel);
    let mut app = app();
    app.max_presence_members = 2;
    let a = clustered(config_with(app.clone()), &url, &channel).await;
    let b = clustered(config_with(app), &url, &channel).await;
    let mut ann = Watcher::join(a.addr, "presence-room", "ann").await;
    let mut bob = b.connect().await;
    bob.subscribe_presence("presence-room", "bob").await;

    let mut cy = a.connect().await;
    let refused = subscribe_presence_raw(&mut cy, "presence-room", "cy").await;
    assert_eq!(refused["event"], "pusher:subscription_error", "{refused}");
    assert_eq!(refused["data"]["type"], "LimitReached");
    // Refused for good: its client events go nowhere, and the members never heard of it.
    cy.send(json!({"event": "client-hi", "channel": "presence-room", "data": {}}))
        .await;
    assert_eq!(cy.recv().await["event"], "pusher:error");
    // Ann (already a member) may open another socket.
    let mut ann_again = b.connect().await;
    ann_again.subscribe_presence("presence-room", "ann").await;
    assert_eq!(ann.next().await, (true, "bob".to_string()));

    bob.send(json!({"event": "pusher:unsubscribe", "data": {"channel": "presence-room"}}))
        .await;
    assert_eq!(ann.next().await, (false, "bob".to_string()));
    let list = cy.subscribe_presence("presence-room", "cy").await;
    assert_eq!(members(&list), set(&["ann", "cy"]));
    assert_eq!(ann.next().await, (true, "cy".to_string()));
}

#[tokio::test]
async fn subscription_count_events_are_the_cluster_s_and_sent_once() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("counts");
    let _keys = Cleanup::new(&url, &channel);
    let mut app = app();
    app.subscription_count_events = true;
    let a = clustered(config_with(app.clone()), &url, &channel).await;
    let b = clustered(config_with(app), &url, &channel).await;
    let count = |frame: serde_json::Value| {
        assert_eq!(
            frame["event"], "pusher_internal:subscription_count",
            "{frame}"
        );
        data(&frame)["subscription_count"].as_u64().unwrap()
    };
    let mut watcher = a.connect().await;
    watcher.subscribe("counted").await;
    assert_eq!(count(watcher.recv().await), 1);
    let mut x = b.connect().await;
    x.subscribe("counted").await;
    assert_eq!(count(x.recv().await), 2);
    // Each change once: a node also broadcasting its own count would show up here as an extra
    // frame before the next one.
    assert_eq!(count(watcher.recv().await), 2);
    let mut y = b.connect().await;
    y.subscribe("counted").await;
    assert_eq!(count(watcher.recv().await), 3);
    x.send(json!({"event": "pusher:unsubscribe", "data": {"channel": "counted"}}))
        .await;
    assert_eq!(count(watcher.recv().await), 2);
    let mut z = a.connect().await;
    z.subscribe("counted").await;
    assert_eq!(count(watcher.recv().await), 3);
    let y_saw = [
        count(y.recv().await),
        count(y.recv().await),
        count(y.recv().await),
    ];
    assert_eq!(y_saw, [3, 2, 3]);
    let marker = a.publish("counted", "marker", "{}").await;
    assert_eq!(marker.0, 200);
    assert_eq!(watcher.recv().await["event"], "marker");
}

/// A receiver of webhooks: every event POSTed to it, in arrival order.
struct Hooks {
    events: tokio::sync::mpsc::UnboundedReceiver<serde_json::Value>,
    url: String,
}

impl Hooks {
    async fn start() -> Hooks {
        use axum::{body::Bytes, routing::post, Router};
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        let app = Router::new().route(
            "/hook",
            post(move |body: Bytes| {
                let sender = sender.clone();
                async move {
                    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    for event in body["events"].as_array().unwrap() {
                        let _ = sender.send(event.clone());
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Hooks { events, url }
    }

    async fn next(&mut self) -> serde_json::Value {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.events.recv())
            .await
            .expect("no webhook arrived")
            .unwrap()
    }

    /// Collects events until each of `until` has arrived; returns them all.
    async fn collect(&mut self, until: &[serde_json::Value]) -> Vec<serde_json::Value> {
        let mut seen = Vec::new();
        while !until.iter().all(|wanted| seen.contains(wanted)) {
            seen.push(self.next().await);
        }
        seen
    }

    fn app(&self) -> parley_realtime::AppConfig {
        let mut app = app();
        app.webhooks = vec![WebhookConfig {
            url: self.url.clone(),
            event_types: Vec::new(),
            channel_prefix: None,
        }];
        app
    }
}

fn hook(name: &str, channel: &str, user: Option<&str>) -> serde_json::Value {
    match user {
        Some(user) => json!({"name": name, "channel": channel, "user_id": user}),
        None => json!({"name": name, "channel": channel}),
    }
}

#[tokio::test]
async fn webhooks_go_out_once_for_the_cluster_and_a_return_on_another_node_cancels_the_leave() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("webhooks");
    let _keys = Cleanup::new(&url, &channel);
    let mut hooks = Hooks::start().await;
    // Long enough for the leave and the return below to happen within it on any machine.
    let config = RealtimeConfig {
        webhook_delay: std::time::Duration::from_secs(3),
        ..config_with(hooks.app())
    };
    let a = clustered(config.clone(), &url, &channel).await;
    let b = clustered(config, &url, &channel).await;
    let room = "presence-room";
    let leave = json!({"event": "pusher:unsubscribe", "data": {"channel": room}});

    let mut ann_a = a.connect().await;
    ann_a.subscribe_presence(room, "ann").await;
    let mut ann_b = b.connect().await;
    ann_b.subscribe_presence(room, "ann").await;
    ann_a.send(leave.clone()).await;
    ann_a.sync().await;
    // Her last socket leaves node B and she is straight back on node A: no webhook for that.
    ann_b.send(leave.clone()).await;
    ann_b.sync().await;
    ann_a.subscribe_presence(room, "ann").await;
    // Now she leaves for good.
    ann_a.send(leave).await;
    ann_a.sync().await;

    let mut marker_a = a.connect().await;
    marker_a.subscribe("marker-a").await;
    let mut marker_b = b.connect().await;
    marker_b.subscribe("marker-b").await;
    let seen = hooks
        .collect(&[
            hook("channel_vacated", room, None),
            hook("channel_occupied", "marker-a", None),
            hook("channel_occupied", "marker-b", None),
        ])
        .await;
    let mut about_room: Vec<String> = seen
        .iter()
        .filter(|event| event["channel"] == room)
        .map(|event| event.to_string())
        .collect();
    about_room.sort();
    let mut expected = vec![
        hook("channel_occupied", room, None).to_string(),
        hook("member_added", room, Some("ann")).to_string(),
        hook("member_removed", room, Some("ann")).to_string(),
        hook("channel_vacated", room, None).to_string(),
    ];
    expected.sort();
    assert_eq!(about_room, expected, "{seen:?}");
}

/// A node in a runtime of its own, so that it can die at once, as a killed process does: no
/// goodbye, no leaving, its tasks and sockets simply gone.
struct KillableNode {
    addr: std::net::SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl KillableNode {
    async fn start(config: RealtimeConfig, url: &str, channel: &str) -> KillableNode {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (ready, address) = tokio::sync::oneshot::channel();
        let (url, channel) = (url.to_string(), channel.to_string());
        runtime.spawn(async move {
            let realtime = Realtime::new(config).unwrap();
            realtime.join_cluster(&url, &channel).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready.send(listener.local_addr().unwrap()).unwrap();
            realtime
                .serve(listener, std::future::pending())
                .await
                .unwrap();
        });
        let addr = address.await.unwrap();
        KillableNode {
            addr,
            runtime: Some(runtime),
        }
    }

    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for KillableNode {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test]
async fn a_node_killed_without_goodbye_is_removed_by_the_survivors_within_the_timeout() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("node-killed");
    let _keys = Cleanup::new(&url, &channel);
    let mut hooks = Hooks::start().await;
    let timeout = std::time::Duration::from_secs(6);
    let config = RealtimeConfig {
        cluster_node_timeout: timeout,
        ..config_with(hooks.app())
    };
    let a = clustered(config.clone(), &url, &channel).await;
    let mut b = KillableNode::start(config, &url, &channel).await;
    let room = "presence-room";
    let mut watcher = Watcher::join(a.addr, room, "watcher").await;
    let mut bob = Client::connect(b.addr, KEY, None).await;
    bob.subscribe_presence(room, "bob").await;
    bob.subscribe("only-on-b").await;
    assert_eq!(watcher.next().await, (true, "bob".to_string()));
    hooks
        .collect(&[
            hook("member_added", room, Some("bob")),
            hook("channel_occupied", "only-on-b", None),
        ])
        .await;

    let killed = std::time::Instant::now();
    b.kill();
    // What the dead node owed, sent by the survivor within the configured time.
    let removed = tokio::time::timeout(timeout, watcher.next())
        .await
        .expect("no member_removed within the node timeout");
    assert_eq!(removed, (false, "bob".to_string()));
    let seen = tokio::time::timeout(
        timeout.saturating_sub(killed.elapsed()),
        hooks.collect(&[
            hook("member_removed", room, Some("bob")),
            hook("channel_vacated", "only-on-b", None),
        ]),
    )
    .await
    .expect("no webhooks within the node timeout");
    eprintln!(
        "the dead node's member was removed {:?} after it was killed",
        killed.elapsed()
    );
    assert!(
        !seen.contains(&hook("channel_vacated", room, None)),
        "the watcher is still in the room: {seen:?}"
    );
    let fresh = Watcher::join(a.addr, room, "fresh").await;
    assert_eq!(fresh.members, set(&["watcher", "fresh"]));
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn after_redis_restarts_presence_is_rebuilt_from_the_nodes_sockets() {
    if redis_url().is_none() {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "parley-redis-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let port = free_port();
    let Some(mut redis) = OwnRedis::persistent(port, &dir) else {
        return;
    };
    redis.ready().await;
    let channel = test_channel("presence-redis-restart");
    let a = clustered(config_with(app()), &redis.url(), &channel).await;
    let b = clustered(config_with(app()), &redis.url(), &channel).await;
    let room = "presence-room";
    let mut ann = Watcher::join(a.addr, room, "ann").await;
    let mut bob = b.connect().await;
    bob.subscribe_presence(room, "bob").await;
    assert_eq!(ann.next().await, (true, "bob".to_string()));

    redis.kill();
    // While Redis is away, local delivery goes on: Bob leaves node B, and Cy joins node A
    // without waiting for Redis, listed with what node A knows (Bob's leaving it cannot know).
    bob.send(json!({"event": "pusher:unsubscribe", "data": {"channel": room}}))
        .await;
    bob.sync().await;
    let mut cy = Watcher::join(a.addr, room, "cy").await;
    assert_eq!(cy.members, set(&["ann", "bob", "cy"]));
    assert_eq!(ann.next().await, (true, "cy".to_string()));

    // Redis comes back with what it had when it died: Ann and Bob, not Cy.
    let redis = OwnRedis::persistent(port, &dir).unwrap();
    redis.ready().await;
    // Every socket on a channel is sent to reconnect and catch up, as pusher-js then does.
    assert_eq!(ann.client.closed().await.0, Some(4200));
    assert_eq!(cy.client.closed().await.0, Some(4200));
    let mut ann = Watcher::join(a.addr, room, "ann").await;
    let _cy = Watcher::join(a.addr, room, "cy").await;
    // The nodes registered what their sockets hold again: Cy is in, Bob is gone, on both.
    let mut dee = Watcher::join(b.addr, room, "dee").await;
    let everyone = set(&["ann", "cy", "dee"]);
    dee.until(&everyone).await;
    ann.until(&everyone).await;
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_join_waits_for_a_slow_redis_only_so_long_then_catches_up() {
    if redis_url().is_none() {
        return;
    }
    let Some(redis) = OwnRedis::start_on(free_port()) else {
        return;
    };
    redis.ready().await;
    let channel = test_channel("presence-slow-redis");
    let a = clustered(config_with(app()), &redis.url(), &channel).await;
    let b = clustered(config_with(app()), &redis.url(), &channel).await;
    let room = "presence-room";
    let mut ann = Watcher::join(a.addr, room, "ann").await;
    let mut bob = b.connect().await;
    bob.subscribe_presence(room, "bob").await;
    assert_eq!(ann.next().await, (true, "bob".to_string()));

    redis.pause(true);
    // Redis does not answer: after a bounded wait Cy is served what node A knows, and the
    // members on node A hear of Cy at once.
    let mut cy = Watcher::join(a.addr, room, "cy").await;
    assert_eq!(cy.members, set(&["ann", "bob", "cy"]));
    assert_eq!(ann.next().await, (true, "cy".to_string()));
    redis.pause(false);
    // Once Redis answers, what was served without it reconnects for the exact state.
    assert_eq!(cy.client.closed().await.0, Some(4200));
    assert_eq!(ann.client.closed().await.0, Some(4200));
    let _cy = Watcher::join(a.addr, room, "cy").await;
    let mut dee = Watcher::join(b.addr, room, "dee").await;
    dee.until(&set(&["bob", "cy", "dee"])).await;
}

#[tokio::test]
async fn nodes_whose_state_redis_lost_register_it_again() {
    if redis_url().is_none() {
        return;
    }
    let Some(redis) = OwnRedis::start_on(free_port()) else {
        return;
    };
    redis.ready().await;
    let channel = test_channel("presence-flushed");
    // Beats every half second, so that the loss is noticed soon.
    let config = RealtimeConfig {
        cluster_node_timeout: std::time::Duration::from_secs(3),
        ..config_with(app())
    };
    let a = clustered(config.clone(), &redis.url(), &channel).await;
    let b = clustered(config, &redis.url(), &channel).await;
    let room = "presence-room";
    let mut ann = Watcher::join(a.addr, room, "ann").await;
    let mut bob = Watcher::join(b.addr, room, "bob").await;
    assert_eq!(ann.next().await, (true, "bob".to_string()));

    // Redis forgets everything but stays up (the nodes' subscription is not lost).
    let client = redis::Client::open(redis.url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("FLUSHALL")
        .query_async::<()>(&mut connection)
        .await
        .unwrap();
    // Each node finds its beat gone, registers what its sockets hold again, and sends its
    // presence sockets to reconnect, as their lists' numbering started afresh.
    assert_eq!(ann.client.closed().await.0, Some(4200));
    assert_eq!(bob.client.closed().await.0, Some(4200));
    let mut ann = Watcher::join(a.addr, room, "ann").await;
    let _bob = Watcher::join(b.addr, room, "bob").await;
    let mut cy = Watcher::join(b.addr, room, "cy").await;
    let everyone = set(&["ann", "bob", "cy"]);
    cy.until(&everyone).await;
    ann.until(&everyone).await;
}

#[tokio::test]
async fn a_node_shutting_down_leaves_at_once_and_the_others_send_its_webhooks() {
    let Some(url) = redis_url() else {
        return;
    };
    let channel = test_channel("goodbye");
    let _keys = Cleanup::new(&url, &channel);
    let mut hooks = Hooks::start().await;
    let a = clustered(config_with(hooks.app()), &url, &channel).await;
    let b = clustered(config_with(hooks.app()), &url, &channel).await;
    let room = "presence-room";
    let mut watcher = Watcher::join(a.addr, room, "watcher").await;
    let mut bob = b.connect().await;
    bob.subscribe_presence(room, "bob").await;
    bob.subscribe("only-on-b").await;
    assert_eq!(watcher.next().await, (true, "bob".to_string()));
    hooks
        .collect(&[
            hook("member_added", room, Some("bob")),
            hook("channel_occupied", "only-on-b", None),
        ])
        .await;

    // Long before its beat would be old (30 s by default), node B's members are gone, and
    // node A sends the webhooks B's own worker, stopping, could not.
    let bob_closed = async move {
        let (code, _) = bob.closed().await;
        drop(bob);
        code
    };
    let ((), code) = tokio::join!(b.shutdown(), bob_closed);
    assert_eq!(code, Some(4200));
    assert_eq!(watcher.next().await, (false, "bob".to_string()));
    hooks
        .collect(&[
            hook("member_removed", room, Some("bob")),
            hook("channel_vacated", "only-on-b", None),
        ])
        .await;
}
