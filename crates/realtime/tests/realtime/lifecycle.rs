//! Connection lifecycle and robustness: heartbeats, malformed input, size limits, quotas,
//! origins, slow consumers, slowloris, graceful shutdown, health and metrics.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_websockets::Message;

use crate::support::*;

#[tokio::test]
async fn silent_clients_are_pinged_and_closed_with_4201_if_they_never_answer() {
    let config = parley_realtime::RealtimeConfig {
        activity_timeout: Duration::from_secs(1),
        pong_timeout: Duration::from_secs(1),
        ..config_with(app())
    };
    let server = TestServer::start(config).await;
    let mut answering = server.connect().await;
    let mut silent = server.connect().await;
    assert_eq!(answering.recv().await["event"], "pusher:ping");
    answering
        .send(json!({"event": "pusher:pong", "data": {}}))
        .await;
    let (code, frames) = silent.closed().await;
    assert_eq!(code, Some(4201));
    assert_eq!(frames[0]["event"], "pusher:ping");
    // The one that answered is pinged again rather than closed.
    assert_eq!(answering.recv().await["event"], "pusher:ping");
}

#[tokio::test]
async fn clients_that_connected_together_are_pinged_apart_and_never_before_four_fifths_of_the_timeout(
) {
    let timeout = Duration::from_secs(2);
    let config = parley_realtime::RealtimeConfig {
        activity_timeout: timeout,
        pong_timeout: Duration::from_secs(30),
        ..config_with(app())
    };
    let server = TestServer::start(config).await;
    let started = tokio::time::Instant::now();
    let mut clients = futures_util::future::join_all((0..20).map(|_| server.connect())).await;
    let connected = started.elapsed();
    let pinged_at = futures_util::future::join_all(clients.iter_mut().map(|client| async {
        assert_eq!(client.recv().await["event"], "pusher:ping");
        started.elapsed()
    }))
    .await;
    let first = *pinged_at.iter().min().unwrap();
    let last = *pinged_at.iter().max().unwrap();
    // No socket is pinged before four fifths of the timeout after it connected.
    assert!(first >= timeout.mul_f64(0.8), "first ping after {first:?}");
    // Sockets that connected within `connected` of each other are pinged over a window of up to
    // a fifth of the timeout (400 ms): twenty draws spread far wider than they connected.
    assert!(
        last - first > connected + Duration::from_millis(100),
        "pings from {first:?} to {last:?}, connected within {connected:?}"
    );
}

#[tokio::test]
async fn malformed_frames_get_an_error_and_the_socket_stays() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.send_raw(Message::text("{not json")).await;
    let error = client.recv().await;
    assert_eq!(error["event"], "pusher:error");
    client
        .send(json!({"event": "pusher:subscribe", "data": "nonsense"}))
        .await;
    assert_eq!(client.recv().await["event"], "pusher:error");
    client.send(json!({"event": "pusher:made_up"})).await;
    assert_eq!(client.recv().await["event"], "pusher:error");
    client.send_raw(Message::binary(&b"\x00\x01"[..])).await;
    assert_eq!(client.recv().await["event"], "pusher:error");
    assert!(client.sync().await.is_empty());
}

#[tokio::test]
async fn websocket_pings_are_answered_and_the_socket_stays() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.send_raw(Message::ping(&b"are you there"[..])).await;
    assert_eq!(client.recv_pong().await, b"are you there");
    client.subscribe("news").await;
    server.publish("news", "still", "here").await;
    assert_eq!(client.recv().await["event"], "still");
}

#[tokio::test]
async fn a_protocol_violation_closes_with_1002_then_the_tcp_connection() {
    let server = TestServer::default().await;
    let mut bystander = server.connect().await;
    bystander.subscribe("news").await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let upgrade = format!(
        "GET /app/{KEY}?protocol=7 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    stream.write_all(upgrade.as_bytes()).await.unwrap();
    // A text frame with RSV1 set (no extension was negotiated), masked as clients must.
    stream
        .write_all(&[0xC1, 0x82, 0, 0, 0, 0, b'h', b'i'])
        .await
        .unwrap();
    let close_1002 = [0x88, 0x02, 0x03, 0xEA];
    let mut received = Vec::new();
    let mut buf = [0; 4096];
    while !received.ends_with(&close_1002) {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
            .await
            .expect("no close frame")
            .unwrap();
        assert!(n > 0, "closed without a close frame: {received:?}");
        received.extend_from_slice(&buf[..n]);
    }
    // Answer the close; the server then drops the TCP connection.
    stream
        .write_all(&[0x88, 0x82, 0, 0, 0, 0, 0x03, 0xEA])
        .await
        .unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut rest));
    assert!(
        read.await.is_ok(),
        "the server kept the connection after the close handshake"
    );
    assert!(rest.is_empty(), "{rest:?}");
    server.publish("news", "still", "here").await;
    assert_eq!(bystander.recv().await["event"], "still");
}

#[tokio::test]
async fn oversized_messages_close_only_that_socket_with_1009() {
    let config = parley_realtime::RealtimeConfig {
        max_message_bytes: 4096,
        ..config_with(app())
    };
    let server = TestServer::start(config).await;
    let mut bystander = server.connect().await;
    bystander.subscribe("news").await;
    let mut big = server.connect().await;
    big.send_raw(Message::text("x".repeat(5000))).await;
    assert_eq!(big.closed().await.0, Some(1009));
    server.publish("news", "still", "here").await;
    assert_eq!(bystander.recv().await["event"], "still");
}

#[tokio::test]
async fn connections_beyond_the_app_quota_get_4004() {
    let mut app = app();
    app.max_connections = Some(2);
    let server = TestServer::start(config_with(app)).await;
    let first = server.connect().await;
    let _second = server.connect().await;
    let mut third = Client::open(server.addr, KEY, None).await;
    assert_eq!(third.closed().await.0, Some(4004));
    drop(first);
    // The slot frees when a connection ends; wait for the server to see it.
    let mut attempt = 0;
    loop {
        let mut client = Client::open(server.addr, KEY, None).await;
        let frame = client.recv().await;
        if frame["event"] == "pusher:connection_established" {
            break;
        }
        attempt += 1;
        assert!(attempt < 50, "slot never freed");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn disallowed_origins_get_4009() {
    let mut app = app();
    app.allowed_origins = vec!["https://shop.example".into()];
    let server = TestServer::start(config_with(app)).await;
    let mut evil = Client::open(server.addr, KEY, Some("https://evil.example")).await;
    assert_eq!(evil.closed().await.0, Some(4009));
    let ok = Client::connect(server.addr, KEY, Some("https://shop.example")).await;
    assert!(!ok.socket_id.is_empty());
}

#[tokio::test]
async fn unsupported_protocol_versions_get_4007() {
    let server = TestServer::default().await;
    let uri = format!("ws://{}/app/{KEY}?protocol=3", server.addr);
    let (ws, _) = tokio_websockets::ClientBuilder::new()
        .uri(&uri)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut ws = ws;
    use futures_util::StreamExt;
    let mut code = None;
    while let Some(Ok(message)) = ws.next().await {
        if let Some((close, _)) = message.as_close() {
            code = Some(u16::from(close));
        }
    }
    assert_eq!(code, Some(4007));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_cut_off_without_slowing_the_others() {
    let config = parley_realtime::RealtimeConfig {
        send_queue_frames: 256,
        write_timeout: Duration::from_secs(1),
        ..config_with(app())
    };
    let server = TestServer::start(config).await;
    let mut fast = server.connect().await;
    fast.subscribe("firehose").await;
    let mut slow = server.connect().await;
    slow.subscribe("firehose").await;
    // The slow client stops reading. Publish far more than socket buffers hold.
    let payload = "y".repeat(9000);
    let events = 2500;
    let reader = tokio::spawn(async move {
        let mut got = 0;
        while got < events {
            if fast.recv().await["event"] == "burst" {
                got += 1;
            }
        }
        got
    });
    for _ in 0..events {
        let (status, _) = server.publish("firehose", "burst", &payload).await;
        assert_eq!(status, 200);
    }
    assert_eq!(
        reader.await.unwrap(),
        events,
        "the fast subscriber lost events"
    );
    let (code, _) = slow.closed().await;
    assert!(
        matches!(code, Some(4100) | None),
        "slow consumer closed with {code:?}"
    );
    let metrics = reqwest_client()
        .get(server.http("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = metrics
        .lines()
        .find(|l| l.starts_with("parley_realtime_slow_consumers_disconnected_total"))
        .unwrap();
    assert!(line.ends_with(" 1"), "{line}");
}

#[tokio::test]
async fn a_slow_handshake_is_dropped() {
    let config = parley_realtime::RealtimeConfig {
        handshake_timeout: Duration::from_secs(1),
        ..config_with(app())
    };
    let server = TestServer::start(config).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /app/test-key HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Never finish the headers: the server must hang up on its own.
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "server kept a half-sent handshake open");
}

#[tokio::test]
async fn shutdown_tells_clients_to_reconnect_with_4200() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let addr = server.addr;
    let stopping = tokio::spawn(server.shutdown());
    let (code, _) = client.closed().await;
    assert_eq!(code, Some(4200));
    stopping.await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}

#[tokio::test]
async fn health_and_metrics_endpoints() {
    let server = TestServer::default().await;
    let mut client = server.connect().await;
    client.subscribe("news").await;
    let http = reqwest_client();
    let up = http.get(server.http("/up")).send().await.unwrap();
    assert_eq!(up.status(), 200);
    let metrics = http
        .get(server.http("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "parley_realtime_connections{{app=\"{APP_ID}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "parley_realtime_subscriptions{{app=\"{APP_ID}\"}} 1"
        )),
        "{metrics}"
    );
    let missing = http.get(server.http("/nope")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
