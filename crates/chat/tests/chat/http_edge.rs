//! The chat port's listener over real TCP: a silent or trickling client is cut at the header
//! deadline, a kept-alive connection at the idle timeout, the connection cap holds, and ordinary
//! requests (with the client's address) and graceful shutdown still work.

use std::{io, net::SocketAddr, time::Duration};

use axum::{extract::ConnectInfo, routing::get, Router};
use parley_chat::http_server::{serve, HttpLimits};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;

/// How long a test waits for what must happen; far above any limit the tests configure.
const BOUND: Duration = Duration::from_secs(30);
const REQUEST: &[u8] = b"GET /ping HTTP/1.1\r\nHost: test\r\n\r\n";

struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

async fn start(limits: HttpLimits) -> Server {
    let router = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route(
            "/ip",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.ip().to_string() }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let task = tokio::spawn(serve(
        listener,
        router,
        limits,
        stop.clone().cancelled_owned(),
    ));
    Server { addr, stop, task }
}

fn limits(header: u64, idle: u64, max_connections: usize) -> HttpLimits {
    HttpLimits {
        header_timeout: Duration::from_secs(header),
        idle_timeout: Duration::from_secs(idle),
        max_connections,
    }
}

/// Reads until the server closes the connection (EOF, or a reset when it closed with bytes of
/// ours unread); panics if that does not happen within [`BOUND`].
async fn assert_closed(stream: &mut TcpStream, what: &str) {
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "{what}: still open after {BOUND:?}");
}

/// Reads one response to [`REQUEST`] (its body is `pong`).
async fn read_pong(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"pong") {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed before the response was complete");
        response.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(response).unwrap()
}

async fn request_pong(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(REQUEST).await.unwrap();
    let response = tokio::time::timeout(BOUND, read_pong(&mut stream))
        .await
        .unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    stream
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_at_the_header_deadline() {
    let server = start(limits(1, 600, 100)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    assert_closed(&mut silent, "a silent connection").await;
}

#[tokio::test]
async fn trickled_headers_do_not_extend_the_header_deadline() {
    let server = start(limits(1, 600, 100)).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // One byte every 100 ms of a header that would take minutes to finish.
    let trickle = tokio::spawn(async move {
        let head = format!(
            "GET /ping HTTP/1.1\r\nHost: test\r\nX-Slow: {}\r\n\r\n",
            "a".repeat(5_000)
        );
        for byte in head.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        true
    });
    let closed = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 1024];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a trickling connection is still open");
    trickle.abort();
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_the_idle_timeout() {
    // The header deadline is long: only the idle timeout can close it.
    let server = start(limits(600, 1, 100)).await;
    let mut stream = request_pong(server.addr).await;
    assert_closed(&mut stream, "an idle kept-alive connection").await;
}

#[tokio::test]
async fn a_kept_alive_connection_serves_requests_until_it_idles() {
    let server = start(limits(600, 600, 100)).await;
    let mut stream = request_pong(server.addr).await;
    for _ in 0..3 {
        stream.write_all(REQUEST).await.unwrap();
        let response = tokio::time::timeout(BOUND, read_pong(&mut stream))
            .await
            .unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    }
}

#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let server = start(limits(600, 600, 2)).await;
    let first = request_pong(server.addr).await;
    let _second = request_pong(server.addr).await;

    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third.write_all(REQUEST).await.unwrap();
    // Both slots are held by kept-alive connections: the third is not even accepted.
    let early = tokio::time::timeout(Duration::from_millis(500), read_pong(&mut third)).await;
    assert!(early.is_err(), "answered past the cap: {early:?}");

    drop(first);
    let response = tokio::time::timeout(BOUND, read_pong(&mut third))
        .await
        .expect("served once a slot is free");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
}

#[tokio::test]
async fn handlers_see_the_client_address() {
    let server = start(HttpLimits::default()).await;
    let body = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("http://{}/ip", server.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "127.0.0.1");
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_returns() {
    let server = start(limits(600, 600, 100)).await;
    let mut idle = request_pong(server.addr).await;
    server.stop.cancel();
    assert_closed(&mut idle, "an idle connection at shutdown").await;
    tokio::time::timeout(BOUND, server.task)
        .await
        .expect("serve returns")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "no longer listening"
    );
}
