//! A server per test on 127.0.0.1:0, a raw WebSocket client that speaks Pusher frames, and a
//! signed HTTP API caller. Nothing sleeps to wait: every wait is for a frame, with a deadline.

use std::{
    net::SocketAddr,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use futures_util::{SinkExt, StreamExt};
use parley_protocol::signature::{channel_auth, sign_api_request, user_auth};
use parley_realtime::{AppConfig, Realtime, RealtimeConfig};
use serde_json::{json, Value};
use tokio::{net::TcpStream, sync::oneshot, task::JoinHandle};
use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

pub const APP_ID: &str = "601452";
pub const KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";

/// How long any single expected frame may take before the test fails.
const WAIT: Duration = Duration::from_secs(10);

pub fn app() -> AppConfig {
    AppConfig::new(APP_ID, KEY, SECRET)
}

pub fn config_with(app: AppConfig) -> RealtimeConfig {
    RealtimeConfig {
        apps: vec![app],
        webhook_delay: Duration::from_millis(300),
        ..RealtimeConfig::default()
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(config: RealtimeConfig) -> Self {
        Self::serve(Realtime::new(config).unwrap()).await
    }

    /// A node of a cluster: joined to the others on `channel` of the Redis at `redis_url`.
    pub async fn start_clustered(config: RealtimeConfig, redis_url: &str, channel: &str) -> Self {
        let realtime = Realtime::new(config).unwrap();
        realtime.join_cluster(redis_url, channel).await.unwrap();
        Self::serve(realtime).await
    }

    pub async fn serve(realtime: Realtime) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let server = realtime;
        let task = tokio::spawn(async move {
            server
                .serve(listener, async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub async fn default() -> Self {
        Self::start(config_with(app())).await
    }

    /// Stops the server and waits until it has finished.
    pub async fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap();
    }

    pub async fn connect(&self) -> Client {
        Client::connect(self.addr, KEY, None).await
    }

    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// A signed API call; returns the status and JSON body.
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        self.api_as(KEY, SECRET, method, path, params, body, now())
            .await
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn api_as(
        &self,
        key: &str,
        secret: &str,
        method: &str,
        path: &str,
        params: &[(&str, &str)],
        body: Option<Value>,
        timestamp: u64,
    ) -> (u16, Value) {
        let body = body
            .map(|b| serde_json::to_vec(&b).unwrap())
            .unwrap_or_default();
        let extra: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let signed = sign_api_request(key, secret, method, path, &extra, &body, timestamp);
        let query: String = form_query(&signed);
        let client = reqwest_client();
        let request = client.request(
            method.parse().unwrap(),
            format!("{}?{query}", self.http(path)),
        );
        let request = if body.is_empty() {
            request
        } else {
            request
                .header("content-type", "application/json")
                .body(body)
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn publish(&self, channel: &str, event: &str, data: &str) -> (u16, Value) {
        self.api(
            "POST",
            &format!("/apps/{APP_ID}/events"),
            &[],
            Some(json!({"name": event, "channel": channel, "data": data})),
        )
        .await
    }
}

pub fn form_query(params: &[(String, String)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencoding::encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub socket_id: String,
    pub handshake: Value,
}

impl Client {
    /// Connects and reads `pusher:connection_established`.
    pub async fn connect(addr: SocketAddr, key: &str, origin: Option<&str>) -> Self {
        let mut client = Self::open(addr, key, origin).await;
        let frame = client.recv().await;
        assert_eq!(frame["event"], "pusher:connection_established", "{frame}");
        let data: Value = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
        client.socket_id = data["socket_id"].as_str().unwrap().to_string();
        client.handshake = data;
        client
    }

    /// Opens the socket without reading anything.
    pub async fn open(addr: SocketAddr, key: &str, origin: Option<&str>) -> Self {
        let uri = format!("ws://{addr}/app/{key}?protocol=7&client=js&version=8.4.0&flash=false");
        let mut builder = ClientBuilder::new().uri(&uri).unwrap();
        if let Some(origin) = origin {
            builder = builder
                .add_header("origin".parse().unwrap(), origin.parse().unwrap())
                .unwrap();
        }
        let (ws, _) = builder.connect().await.unwrap();
        Self {
            ws,
            socket_id: String::new(),
            handshake: Value::Null,
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, message: Message) {
        self.ws.send(message).await.unwrap();
    }

    /// Skips text frames until a WebSocket pong arrives; returns its payload.
    pub async fn recv_pong(&mut self) -> Vec<u8> {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a pong")
                .expect("socket closed while waiting for a pong")
                .expect("websocket error while waiting for a pong");
            if message.is_pong() {
                return message.as_payload().to_vec();
            }
        }
    }

    /// The next text frame, as JSON.
    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("socket closed while waiting for a frame")
                .expect("websocket error while waiting for a frame");
            if let Some(text) = message.as_text() {
                return serde_json::from_str(text).unwrap();
            }
            assert!(
                !message.is_close(),
                "closed while waiting for a frame: {:?}",
                message.as_close()
            );
        }
    }

    /// Skips frames until one with this event name.
    pub async fn recv_event(&mut self, event: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["event"] == event {
                return frame;
            }
        }
    }

    /// Reads until the server closes; returns the close code and every text frame seen.
    pub async fn closed(&mut self) -> (Option<u16>, Vec<Value>) {
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("timed out waiting for close")
            {
                Some(Ok(message)) if message.is_close() => {
                    return (message.as_close().map(|(code, _)| u16::from(code)), frames);
                }
                Some(Ok(message)) => {
                    if let Some(text) = message.as_text() {
                        frames.push(serde_json::from_str(text).unwrap());
                    }
                }
                Some(Err(_)) | None => return (None, frames),
            }
        }
    }

    pub async fn subscribe(&mut self, channel: &str) -> Value {
        self.send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": ""}}))
            .await;
        self.recv().await
    }

    pub async fn subscribe_private(&mut self, channel: &str) -> Value {
        let auth = channel_auth(KEY, SECRET, &self.socket_id, channel, None);
        self.send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth}}))
            .await;
        self.recv().await
    }

    pub async fn subscribe_presence(&mut self, channel: &str, user_id: &str) -> Value {
        let data = json!({"user_id": user_id, "user_info": {"name": format!("user {user_id}")}})
            .to_string();
        let auth = channel_auth(KEY, SECRET, &self.socket_id, channel, Some(&data));
        self.send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth, "channel_data": data}})).await;
        self.recv_event("pusher_internal:subscription_succeeded")
            .await
    }

    pub async fn sign_in(&mut self, user_id: &str, watchlist: &[&str]) -> Value {
        let user_data = json!({"id": user_id, "watchlist": watchlist}).to_string();
        let auth = user_auth(KEY, SECRET, &self.socket_id, &user_data);
        self.send(
            json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}}),
        )
        .await;
        self.recv_event("pusher:signin_success").await
    }

    /// A round trip through the server: everything it queued for us before the pong arrives
    /// first, so this proves what did *not* arrive.
    pub async fn sync(&mut self) -> Vec<Value> {
        self.send(json!({"event": "pusher:ping", "data": {}})).await;
        let mut before = Vec::new();
        loop {
            let frame = self.recv().await;
            if frame["event"] == "pusher:pong" {
                return before;
            }
            before.push(frame);
        }
    }
}

/// Decodes a frame's string `data`.
pub fn data(frame: &Value) -> Value {
    serde_json::from_str(frame["data"].as_str().expect("data is a string")).unwrap()
}
