//! `/up` reports each dependency and answers 503 when one is down: a database that goes away
//! (PostgreSQL behind a TCP relay that is then cut), a realtime server that cannot be reached,
//! and Redis.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use parley_chat::{
    broadcast::{NullBroadcaster, PusherHttp},
    health::Health,
    http_server::{serve, HttpLimits},
    ChatConfig, ChatService, Provider,
};
use serde_json::{json, Value};
use tokio::{net::TcpListener, task::JoinHandle};

use crate::support::{temp_dir, TestApp, APP_ID, KEY, SECRET};

const BOUND: Duration = Duration::from_secs(30);

/// Serves `health` on its own port; returns the `/up` URL.
async fn serve_health(health: Health) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/up", listener.local_addr().unwrap());
    tokio::spawn(serve(
        listener,
        health.router(),
        HttpLimits::default(),
        std::future::pending(),
    ));
    url
}

async fn up(url: &str) -> (u16, Value) {
    let response = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Asks `/up` until it answers `status` (reports are reused for a second, and a dependency that
/// just went away may take its check's timeout to count as down).
async fn up_becomes(url: &str, status: u16) -> Value {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let (got, body) = up(url).await;
        if got == status {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/up still answers {got}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn up_reports_the_database_and_the_realtime_server() {
    let app = TestApp::start().await;
    let url = serve_health(Health::new(app.service.clone())).await;
    let (status, body) = up(&url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"health": "OK", "dependencies": {"database": "up", "realtime": "up"}})
    );
}

#[tokio::test]
async fn up_is_503_when_the_realtime_server_cannot_be_reached() {
    let port = closed_port().await;
    let unreachable = PusherHttp::new("reverb", "http", "127.0.0.1", port, APP_ID, KEY, SECRET);
    let app = TestApp::start_with(|_| {}, Some(Arc::new(unreachable))).await;
    let url = serve_health(Health::new(app.service.clone())).await;
    let (status, body) = up(&url).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(
        body,
        json!({"health": "DOWN", "dependencies": {"database": "up", "realtime": "down"}})
    );
}

#[tokio::test]
async fn up_reports_redis_when_the_node_is_in_a_cluster() {
    let app = TestApp::start().await;
    let port = closed_port().await;
    let health = Health::new(app.service.clone())
        .with_redis(&format!("redis://127.0.0.1:{port}/"))
        .unwrap();
    let (status, body) = up(&serve_health(health).await).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["dependencies"]["redis"], "down");
    assert_eq!(body["dependencies"]["database"], "up");

    let Ok(redis_url) = std::env::var("PARLEY_TEST_REDIS_URL") else {
        println!("skipped: /up with a running Redis (PARLEY_TEST_REDIS_URL is not set)");
        return;
    };
    let health = Health::new(app.service.clone())
        .with_redis(&redis_url)
        .unwrap();
    let (status, body) = up(&serve_health(health).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dependencies"]["redis"], "up");
}

/// A TCP relay to `target` that can be cut (listener and every relayed connection) and
/// started again on the same port.
struct Relay {
    port: u16,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Self {
        let mut relay = Self {
            port: 0,
            target,
            task: None,
        };
        relay.resume().await;
        relay
    }

    async fn resume(&mut self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).await.unwrap();
        self.port = listener.local_addr().unwrap().port();
        let target = self.target;
        self.task = Some(tokio::spawn(async move {
            // Dropping this set (when the task is aborted) cuts every relayed connection.
            let mut relayed = tokio::task::JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                relayed.spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

/// `postgres://user@host[:port]/db` → (the address, the URL with `relay_port` instead).
fn through_relay(url: &str, relay_port: u16) -> (SocketAddr, String) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:5432")
    };
    let address = std::net::ToSocketAddrs::to_socket_addrs(&authority)
        .unwrap()
        .next()
        .unwrap();
    let at = if user.is_empty() {
        String::new()
    } else {
        format!("{user}@")
    };
    (
        address,
        format!("{scheme}://{at}127.0.0.1:{relay_port}/{path}"),
    )
}

#[tokio::test]
async fn up_is_503_while_the_database_is_gone_and_200_once_it_is_back() {
    let Some(url) = std::env::var("PARLEY_CHAT_TEST_POSTGRES_URL")
        .or_else(|_| std::env::var("PARLEY_TEST_POSTGRES_URL"))
        .ok()
    else {
        println!("skipped: /up with a database that goes away (no PostgreSQL to test against)");
        return;
    };
    use sqlx::{Connection, Executor};
    let schema = format!("parley_health_test_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(&url).await.unwrap();
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await
        .unwrap();

    let (database, _) = through_relay(&url, 0);
    let mut relay = Relay::start(database).await;
    let (_, relayed_url) = through_relay(&url, relay.port);
    let store = parley_store::connect_postgres_in_schema(&relayed_url, &schema)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let config = ChatConfig::new(temp_dir(), Provider::Polling, "link-secret".into());
    let service = ChatService::new(store, Arc::new(NullBroadcaster), config);
    let url_up = serve_health(Health::new(service)).await;

    let body = up_becomes(&url_up, 200).await;
    assert_eq!(
        body,
        json!({"health": "OK", "dependencies": {"database": "up"}})
    );
    relay.cut().await;
    let body = up_becomes(&url_up, 503).await;
    assert_eq!(
        body,
        json!({"health": "DOWN", "dependencies": {"database": "down"}})
    );
    relay.resume().await;
    up_becomes(&url_up, 200).await;

    relay.cut().await;
    let _ = admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await;
}
