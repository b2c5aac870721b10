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

/// Two nodes on one Redis channel unique to the calling test.
async fn two_nodes(test: &str) -> Option<(TestServer, TestServer)> {
    let url = redis_url()?;
    let channel = test_channel(test);
    let a = TestServer::start_clustered(config_with(app()), &url, &channel).await;
    let b = TestServer::start_clustered(config_with(app()), &url, &channel).await;
    Some((a, b))
}

#[tokio::test]
async fn an_event_published_on_one_node_reaches_every_node_once() {
    let Some((a, b)) = two_nodes("publish").await else {
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
    let Some((a, b)) = two_nodes("client-events").await else {
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
    let Some((a, b)) = two_nodes("users").await else {
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
    let Some((a, b)) = two_nodes("queries").await else {
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
    let Some((a, b)) = two_nodes("silent").await else {
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
        let process = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
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
