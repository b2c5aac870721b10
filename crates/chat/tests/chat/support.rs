//! `TestApp`: a whole chat stack per test, and clients for it.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use parley_chat::{
    broadcast::{Broadcaster, PusherHttp},
    tokens, AppState, ChatConfig, ChatService, Provider, RealtimeApp,
};
use parley_realtime::{AppConfig, Realtime, RealtimeConfig};
use parley_store::{NewWidget, Store};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio_websockets::{ClientBuilder, MaybeTlsStream, Message, WebSocketStream};

pub const APP_ID: &str = "601452";
pub const KEY: &str = "chat-key";
pub const SECRET: &str = "chat-secret";

/// The identity secret of the test widgets, for signing user tokens.
pub const IDENTITY_SECRET: &str = "cbi_test_identity_secret";

pub struct TestApp {
    pub base: String,
    pub realtime_addr: SocketAddr,
    pub realtime: Realtime,
    pub store: Arc<dyn Store>,
    pub token: String,
    pub widget_id: i64,
    pub http: reqwest::Client,
    pub data_dir: PathBuf,
    pub service: ChatService,
    /// What the handlers share (the setup link, the limiters).
    pub state: Arc<AppState>,
    /// With `PARLEY_CHAT_TEST_POSTGRES_URL` set, the schema this test owns.
    postgres_schema: Option<(String, String)>,
}

/// The suite runs on SQLite by default and on PostgreSQL when `PARLEY_CHAT_TEST_POSTGRES_URL`
/// is set (CI runs it both ways); each test gets its own schema there.
async fn open_store(data_dir: &std::path::Path) -> (Arc<dyn Store>, Option<(String, String)>) {
    match std::env::var("PARLEY_CHAT_TEST_POSTGRES_URL") {
        Ok(url) => {
            let schema = format!("parley_chat_test_{:016x}", rand_suffix());
            admin(&url, &format!("CREATE SCHEMA {schema}")).await;
            let store = parley_store::connect_postgres_in_schema(&url, &schema)
                .await
                .unwrap();
            (store, Some((url, schema)))
        }
        Err(_) => {
            let url = format!("sqlite://{}?mode=rwc", data_dir.join("test.db").display());
            (parley_store::connect(&url).await.unwrap(), None)
        }
    }
}

async fn admin(url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    let mut connection = sqlx::PgConnection::connect(url)
        .await
        .expect("PARLEY_CHAT_TEST_POSTGRES_URL is set but unreachable");
    connection.execute(sql).await.unwrap();
    let _ = connection.close().await;
}

/// Drops a test's schema. This runs while the test's runtime is blocked in `Drop`, so a
/// background task of the test (the bot runner, say) may sit in an open transaction holding
/// locks in the schema and never finish it: waiting for those locks would hang forever. Waits
/// briefly, then ends the sessions holding them.
async fn drop_schema(url: &str, schema: &str) {
    use sqlx::{Connection, Executor};
    let Ok(mut connection) = sqlx::PgConnection::connect(url).await else {
        return;
    };
    let _ = connection.execute("SET lock_timeout = '2s'").await;
    for _ in 0..3 {
        let drop = format!("DROP SCHEMA {schema} CASCADE");
        if connection.execute(drop.as_str()).await.is_ok() {
            break;
        }
        let _ = sqlx::query(
            "SELECT pg_terminate_backend(l.pid) FROM pg_locks l \
             JOIN pg_class c ON c.oid = l.relation \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND l.pid <> pg_backend_pid()",
        )
        .bind(schema)
        .execute(&mut connection)
        .await;
    }
    let _ = connection.close().await;
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some((url, schema)) = self.postgres_schema.take() {
            // Drop runs outside async; a short-lived runtime on its own thread cleans up.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(drop_schema(&url, &schema));
            })
            .join();
        }
    }
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "parley-chat-test-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
        ^ (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos() as u64)
            << 8
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}, None).await
    }

    /// Starts the stack; `tweak` adjusts the chat config; `broadcaster` replaces the embedded one.
    pub async fn start_with(
        tweak: impl FnOnce(&mut ChatConfig),
        broadcaster: Option<Arc<dyn Broadcaster>>,
    ) -> Self {
        let data_dir = temp_dir();
        let (store, postgres_schema) = open_store(&data_dir).await;
        store.migrate().await.unwrap();

        let realtime_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let realtime_addr = realtime_listener.local_addr().unwrap();
        let realtime = Realtime::new(RealtimeConfig {
            apps: vec![AppConfig::new(APP_ID, KEY, SECRET)],
            ..RealtimeConfig::default()
        })
        .unwrap();
        tokio::spawn(
            realtime
                .clone()
                .serve(realtime_listener, std::future::pending()),
        );

        let mut config = ChatConfig::new(data_dir.clone(), Provider::Reverb, "link-secret".into());
        config.reverb = Some(RealtimeApp {
            key: KEY.into(),
            secret: SECRET.into(),
            host: None,
            port: realtime_addr.port(),
            scheme: "http".into(),
            cluster: String::new(),
            path: String::new(),
        });
        tweak(&mut config);
        // The service reaches the realtime server as a separate Reverb would be reached: over
        // its signed HTTP API (the in-process driver belongs to `parley serve`).
        let broadcaster = broadcaster.unwrap_or_else(|| {
            Arc::new(PusherHttp::new(
                "reverb",
                "http",
                "127.0.0.1",
                realtime_addr.port(),
                APP_ID,
                KEY,
                SECRET,
            ))
        });
        let service = ChatService::new(store.clone(), broadcaster, config);
        let state = AppState::new(service.clone());
        let router = parley_chat::router(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(parley_chat::http_server::serve(
            listener,
            router,
            parley_chat::http_server::HttpLimits::default(),
            std::future::pending(),
        ));

        let token = tokens::new_widget_token();
        let widget = store
            .create_widget(NewWidget {
                name: "Test".into(),
                token_hash: tokens::hash_token(&token),
                allowed_origins: vec![],
                settings: json!({"greeting": "Hello"}),
                identity_secret: Some(IDENTITY_SECRET.into()),
            })
            .await
            .unwrap();
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        Self {
            base,
            realtime_addr,
            realtime,
            store,
            token,
            widget_id: widget.id,
            http,
            data_dir,
            service,
            state,
            postgres_schema,
        }
    }

    /// Runs statements on the test's database directly (to give records known times, say).
    pub async fn sql(&self, statements: &[String]) {
        use sqlx::{Connection, Executor};
        if let Some((url, schema)) = &self.postgres_schema {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            let path = format!("SET search_path TO {schema}");
            connection.execute(path.as_str()).await.unwrap();
            for statement in statements {
                connection
                    .execute(statement.as_str())
                    .await
                    .expect(statement);
            }
            let _ = connection.close().await;
        } else {
            let url = format!("sqlite://{}", self.data_dir.join("test.db").display());
            let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
            for statement in statements {
                connection
                    .execute(statement.as_str())
                    .await
                    .expect(statement);
            }
            let _ = connection.close().await;
        }
    }

    /// Switches this app to a new widget whose `settings.bot` is `bot`.
    pub async fn use_bot(&mut self, bot: Value) {
        let token = tokens::new_widget_token();
        let widget = self
            .store
            .create_widget(NewWidget {
                name: "Bot".into(),
                token_hash: tokens::hash_token(&token),
                allowed_origins: vec![],
                settings: json!({ "bot": bot }),
                identity_secret: Some(IDENTITY_SECRET.into()),
            })
            .await
            .unwrap();
        self.token = token;
        self.widget_id = widget.id;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(self.url(path)).bearer_auth(&self.token)
    }

    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).bearer_auth(&self.token)
    }

    /// Starts a conversation; returns (id, visitor token).
    pub async fn conversation(&self) -> (i64, String) {
        self.conversation_as(json!({"visitor_name": "Vera"})).await
    }

    /// Starts a conversation with these visitor details; returns (id, visitor token).
    pub async fn conversation_as(&self, visitor: Value) -> (i64, String) {
        let response = self
            .post("/api/chatbot/conversation")
            .json(&visitor)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        (
            body["conversation"]["id"].as_i64().unwrap(),
            body["visitor_token"].as_str().unwrap().to_string(),
        )
    }

    /// Sends a JSON message as the visitor; returns (status, body).
    pub async fn send(&self, id: i64, visitor: &str, body: Value) -> (u16, Value) {
        let response = self
            .post(&format!("/api/chatbot/conversation/{id}/messages"))
            .header("X-Visitor-Token", visitor)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Asserts that nothing containing `text` reached the visitor: not on their socket (up to
    /// now) and not in what the widget API gives them.
    pub async fn visitor_never_saw(
        &self,
        id: i64,
        visitor: &str,
        socket: &mut Subscriber,
        text: &str,
    ) {
        let heard = socket.sync().await;
        assert!(
            !heard.iter().any(|f| f.to_string().contains(text)),
            "the visitor's socket heard {text:?}: {heard:?}"
        );
        let page: Value = self
            .get(&format!("/api/chatbot/conversation/{id}"))
            .header("X-Visitor-Token", visitor)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            !page.to_string().contains(text),
            "the widget API gave {text:?}: {page}"
        );
    }

    /// A WebSocket subscribed to the conversation's private channel, authorised through the
    /// auth endpoint exactly as pusher-js does (form-encoded).
    pub async fn subscriber(&self, id: i64, visitor: &str) -> Subscriber {
        let mut subscriber = Subscriber::connect(self.realtime_addr).await;
        let channel = format!("private-chat.conversation.{id}");
        let response = self
            .post("/api/chatbot/broadcasting/auth")
            .header("X-Visitor-Token", visitor)
            .form(&[
                ("socket_id", subscriber.socket_id.as_str()),
                ("channel_name", channel.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let auth: Value = response.json().await.unwrap();
        subscriber.send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth["auth"]}})).await;
        let ok = subscriber.recv().await;
        assert_eq!(
            ok["event"], "pusher_internal:subscription_succeeded",
            "{ok}"
        );
        subscriber
    }
}

pub struct Subscriber {
    ws: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
    pub socket_id: String,
}

impl Subscriber {
    pub async fn connect(addr: SocketAddr) -> Self {
        let uri = format!("ws://{addr}/app/{KEY}?protocol=7");
        let (ws, _) = ClientBuilder::new()
            .uri(&uri)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut subscriber = Self {
            ws,
            socket_id: String::new(),
        };
        let hello = subscriber.recv().await;
        let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
        subscriber.socket_id = data["socket_id"].as_str().unwrap().to_string();
        subscriber
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn recv(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("no frame in time")
                .unwrap()
                .unwrap();
            if let Some(text) = message.as_text() {
                return serde_json::from_str(text).unwrap();
            }
        }
    }

    /// The next event with this name; its data decoded.
    pub async fn event(&mut self, name: &str) -> Value {
        loop {
            let frame = self.recv().await;
            if frame["event"] == name {
                return serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
            }
        }
    }

    /// Reads until the server closes; the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("not closed in time")
            {
                Some(Ok(message)) if message.is_close() => {
                    return message.as_close().map(|(code, _)| u16::from(code))
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Frames that arrived before a ping's pong: proves what did not arrive.
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
