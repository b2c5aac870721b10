//! The widget's message endpoint with multipart bodies, driven through the chat service's real
//! router (SQLite store, uploads on disk) in the fuzzing process: axum's multipart parsing, the
//! field handling in `api/messages.rs`, file-name cleaning, type sniffing and storage.

use std::{net::SocketAddr, path::PathBuf, sync::Arc, sync::OnceLock};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Request, Response},
    Router,
};
use parley_chat::{
    broadcast::NullBroadcaster, tokens, AppState, ChatConfig, ChatService, Provider,
};
use parley_store::NewWidget;
use serde_json::{json, Value};
use tower::ServiceExt as _;

struct Chat {
    runtime: tokio::runtime::Runtime,
    router: Router,
    widget_token: String,
    conversation: i64,
    visitor_token: String,
}

/// Where the fuzzing process keeps its database and uploads (`PARLEY_FUZZ_DIR`, which
/// `fuzz/run.sh` sets and removes, or a fresh temporary directory).
fn work_dir() -> PathBuf {
    let dir = std::env::var_os("PARLEY_FUZZ_DIR").map_or_else(
        || std::env::temp_dir().join(format!("parley-fuzz-{}", std::process::id())),
        PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("a work directory");
    dir
}

fn send(
    chat_router: &Router,
    request: Request<Body>,
) -> impl std::future::Future<Output = (u16, Vec<u8>)> {
    let mut request = request;
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    let router = chat_router.clone();
    async move {
        let response: Response<Body> = router.oneshot(request).await.expect("infallible");
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body");
        (status, body.to_vec())
    }
}

fn chat() -> &'static Chat {
    static CHAT: OnceLock<Chat> = OnceLock::new();
    CHAT.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = work_dir();
        let (router, widget_token, conversation, visitor_token) = runtime.block_on(async {
            let url = format!("sqlite://{}?mode=rwc", dir.join("fuzz.db").display());
            let store = parley_store::connect(&url).await.expect("a SQLite store");
            store.migrate().await.expect("migrations");
            let widget_token = tokens::new_widget_token();
            store
                .create_widget(NewWidget {
                    name: "Fuzz".into(),
                    token_hash: tokens::hash_token(&widget_token),
                    allowed_origins: vec![],
                    settings: json!({}),
                    identity_secret: None,
                })
                .await
                .expect("a widget");
            let mut config = ChatConfig::new(dir.clone(), Provider::Polling, "link".into());
            config.max_upload_bytes = 64 * 1024;
            config.messages_per_ip_per_minute = u32::MAX;
            config.messages_per_widget_per_minute = u32::MAX;
            let service = ChatService::new(store, Arc::new(NullBroadcaster), config);
            let router = parley_chat::router(AppState::new(service));
            let request = Request::post("/api/chatbot/conversation")
                .header("authorization", format!("Bearer {widget_token}"))
                .header("content-type", "application/json")
                .body(Body::from(r#"{"visitor_name":"Fuzz"}"#))
                .expect("a request");
            let (status, body) = send(&router, request).await;
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
            let body: Value = serde_json::from_slice(&body).expect("JSON");
            let conversation = body["conversation"]["id"].as_i64().expect("an id");
            let visitor = body["visitor_token"].as_str().expect("a token").to_string();
            (router, widget_token, conversation, visitor)
        });
        Chat {
            runtime,
            router,
            widget_token,
            conversation,
            visitor_token,
        }
    })
}

/// One send: never a 5xx; errors in the API's JSON error shape; a stored message's file name is
/// one that is safe in a header.
///
/// The input is the `Content-Type` header's value, a line break, and the body.
pub fn multipart_upload(data: &[u8]) {
    let line_end = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let content_type = &data[..line_end];
    let body = data.get(line_end + 1..).unwrap_or_default().to_vec();
    let chat = chat();
    let Ok(request) = Request::post(format!(
        "/api/chatbot/conversation/{}/messages",
        chat.conversation
    ))
    .header("authorization", format!("Bearer {}", chat.widget_token))
    .header("x-visitor-token", &chat.visitor_token)
    .header("content-type", content_type)
    .body(Body::from(body)) else {
        return;
    };
    let (status, body) = chat.runtime.block_on(send(&chat.router, request));
    assert!(status < 500, "{status}: {}", String::from_utf8_lossy(&body));
    let value: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{status} without JSON: {}", String::from_utf8_lossy(&body)));
    if status >= 400 {
        assert_eq!(value["success"], false, "{value}");
        assert!(value["error"]["code"].is_string(), "{value}");
        assert!(value["error"]["message"].is_string(), "{value}");
        return;
    }
    assert!(matches!(status, 200 | 201), "{status}: {value}");
    let message = &value["message"];
    let text = message["message"].as_str().unwrap_or("");
    let name = message["attachment_name"].as_str();
    assert!(
        !text.is_empty() || name.is_some(),
        "an empty message was stored: {value}"
    );
    if let Some(name) = name {
        assert!(!name.is_empty() && name.chars().count() <= 200, "{name:?}");
        assert!(
            !name
                .chars()
                .any(|c| c.is_control() || matches!(c, '"' | ';' | '/' | '\\')),
            "an unsafe file name was stored: {name:?}"
        );
    }
}
