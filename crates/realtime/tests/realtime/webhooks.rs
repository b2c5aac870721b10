//! Webhooks, received by a real HTTP server on 127.0.0.1 and checked for their signature.

use std::{sync::Arc, time::Duration};

use axum::{body::Bytes, http::HeaderMap, routing::post, Router};
use parley_realtime::WebhookConfig;
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::support::*;

struct Receiver {
    events: mpsc::UnboundedReceiver<Value>,
    url: String,
}

impl Receiver {
    /// Starts a receiver that answers 500 to the first `failures` deliveries.
    async fn start(failures: usize) -> Self {
        let (sender, events) = mpsc::unbounded_channel();
        let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(failures));
        let app = Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: Bytes| {
                let sender = sender.clone();
                let remaining = remaining.clone();
                async move {
                    assert_eq!(headers["content-type"], "application/json");
                    assert_eq!(headers["x-pusher-key"], KEY);
                    let signature = headers["x-pusher-signature"].to_str().unwrap();
                    assert!(
                        parley_protocol::signature::verify_hmac_hex(SECRET, &body, signature),
                        "bad webhook signature"
                    );
                    if remaining.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                        remaining.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                        return axum::http::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let body: Value = serde_json::from_slice(&body).unwrap();
                    assert!(body["time_ms"].as_u64().unwrap() > 0);
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
        Self { events, url }
    }

    async fn next(&mut self) -> Value {
        tokio::time::timeout(Duration::from_secs(10), self.events.recv())
            .await
            .expect("no webhook arrived")
            .unwrap()
    }
}

async fn server_with_hooks(receiver: &Receiver, event_types: &[&str]) -> TestServer {
    let mut app = app();
    app.webhooks = vec![WebhookConfig {
        url: receiver.url.clone(),
        event_types: event_types.iter().map(|s| s.to_string()).collect(),
        channel_prefix: None,
    }];
    TestServer::start(config_with(app)).await
}

#[tokio::test]
async fn occupied_and_vacated_are_sent_and_a_quick_return_cancels_the_vacate() {
    let mut receiver = Receiver::start(0).await;
    let server = server_with_hooks(&receiver, &["channel_occupied", "channel_vacated"]).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;
    assert_eq!(
        receiver.next().await,
        json!({"name": "channel_occupied", "channel": "room"})
    );
    // Leave and come straight back (within the 300 ms delay the test config uses): no flap.
    client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "room"}}))
        .await;
    client.subscribe("room").await;
    // Now leave for good.
    client
        .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "room"}}))
        .await;
    client.subscribe("marker").await;
    let mut seen = Vec::new();
    loop {
        let event = receiver.next().await;
        let done = event["name"] == "channel_vacated" && event["channel"] == "room";
        seen.push(event);
        if done {
            break;
        }
    }
    let room_events: Vec<_> = seen.iter().filter(|e| e["channel"] == "room").collect();
    assert_eq!(
        room_events,
        [&json!({"name": "channel_vacated", "channel": "room"})],
        "{seen:?}"
    );
}

#[tokio::test]
async fn member_client_and_cache_miss_events() {
    let mut receiver = Receiver::start(0).await;
    let server = server_with_hooks(
        &receiver,
        &[
            "member_added",
            "member_removed",
            "client_event",
            "cache_miss",
        ],
    )
    .await;
    let mut ann = server.connect().await;
    ann.subscribe_presence("presence-r", "ann").await;
    assert_eq!(
        receiver.next().await,
        json!({"name": "member_added", "channel": "presence-r", "user_id": "ann"})
    );
    ann.send(json!({"event": "client-hi", "channel": "presence-r", "data": {"x": 1}}))
        .await;
    let event = receiver.next().await;
    assert_eq!(event["name"], "client_event");
    assert_eq!(event["event"], "client-hi");
    assert_eq!(event["user_id"], "ann");
    assert_eq!(event["socket_id"], ann.socket_id.as_str());
    assert_eq!(
        serde_json::from_str::<Value>(event["data"].as_str().unwrap()).unwrap(),
        json!({"x": 1})
    );
    ann.subscribe("cache-x").await;
    assert_eq!(
        receiver.next().await,
        json!({"name": "cache_miss", "channel": "cache-x"})
    );
    drop(ann);
    assert_eq!(
        receiver.next().await,
        json!({"name": "member_removed", "channel": "presence-r", "user_id": "ann"})
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried() {
    let mut receiver = Receiver::start(1).await;
    let server = server_with_hooks(&receiver, &[]).await;
    let mut client = server.connect().await;
    client.subscribe("room").await;
    assert_eq!(
        receiver.next().await,
        json!({"name": "channel_occupied", "channel": "room"})
    );
    let metrics = reqwest_client()
        .get(server.http("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "parley_realtime_webhook_failures_total{{app=\"{APP_ID}\"}} 1"
        )),
        "{metrics}"
    );
}

#[tokio::test]
async fn one_cache_miss_webhook_however_many_clients_find_the_channel_empty() {
    // Pusher's cache channels page: "Pusher handles de-duplication when multiple clients are
    // subscribed to an empty channel"; its webhooks page: a `cache_miss` "whenever one or more
    // than one client subscribe to an empty cache channel". Each client still gets
    // `pusher:cache_miss`.
    let mut receiver = Receiver::start(0).await;
    let server = server_with_hooks(&receiver, &["cache_miss"]).await;
    let miss = |channel: &str| json!({"name": "cache_miss", "channel": channel});
    let mut ann = server.connect().await;
    ann.subscribe("cache-x").await;
    assert_eq!(ann.recv().await["event"], "pusher:cache_miss");
    assert_eq!(receiver.next().await, miss("cache-x"));
    let mut bob = server.connect().await;
    bob.subscribe("cache-x").await;
    assert_eq!(bob.recv().await["event"], "pusher:cache_miss");
    // Another channel's miss is the marker: nothing about cache-x may come before it.
    let mut marker = server.connect().await;
    marker.subscribe("cache-marker").await;
    assert_eq!(receiver.next().await, miss("cache-marker"));

    // Once every subscriber has left, the next one to find it empty is reported again.
    for client in [&mut ann, &mut bob] {
        client
            .send(json!({"event": "pusher:unsubscribe", "data": {"channel": "cache-x"}}))
            .await;
        client.sync().await;
    }
    let mut carol = server.connect().await;
    carol.subscribe("cache-x").await;
    assert_eq!(receiver.next().await, miss("cache-x"));
}
