//! Config, authentication, starting and reading conversations.

use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn config_has_the_seed_shape_and_the_real_realtime_endpoint() {
    let app = TestApp::start().await;
    let response = app.get("/api/chatbot/config").send().await.unwrap();
    assert_eq!(response.status(), 200);
    let config: Value = response.json().await.unwrap();
    assert_eq!(config["success"], true);
    assert_eq!(config["realtimeProvider"], "reverb");
    assert_eq!(config["reverb"]["enabled"], true);
    assert_eq!(config["reverb"]["key"], KEY);
    assert_eq!(
        config["reverb"]["host"], "127.0.0.1",
        "the host the browser used"
    );
    assert_eq!(config["reverb"]["port"], app.realtime_addr.port());
    assert_eq!(config["reverb"]["scheme"], "http");
    assert_eq!(config["pusher"]["enabled"], false);
    assert_eq!(config["widget"]["settings"]["greeting"], "Hello");
}

/// The widget's token sits in every page that embeds it, so its config must not carry the bot's
/// secrets or knowledge.
#[tokio::test]
async fn the_public_config_leaves_the_bot_out() {
    let mut app = TestApp::start().await;
    app.use_bot(json!({
        "kind": "webhook",
        "url": "https://bot.example/parley",
        "secret": "signing-secret",
        "reply_token": "reply-secret",
        "knowledge": [{"question": "Internal?", "answer": "Internal answer"}],
    }))
    .await;
    let config: Value = app
        .get("/api/chatbot/config")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = config.to_string();
    for secret in [
        "signing-secret",
        "reply-secret",
        "Internal answer",
        "bot.example",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(config["widget"]["settings"].is_object(), "{config}");
}

#[tokio::test]
async fn widget_tokens_are_required_and_checked() {
    let app = TestApp::start().await;
    let missing = app
        .http
        .get(app.url("/api/chatbot/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = app
        .http
        .get(app.url("/api/chatbot/config"))
        .bearer_auth("cbw_nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    app.store.revoke_widget(app.widget_id).await.unwrap();
    let revoked = app.get("/api/chatbot/config").send().await.unwrap();
    assert_eq!(
        revoked.status(),
        401,
        "a revoked token stops working at once"
    );
}

#[tokio::test]
async fn origins_are_enforced_per_widget_and_preflight_is_answered() {
    let app = TestApp::start().await;
    let token = parley_chat::tokens::new_widget_token();
    app.store
        .create_widget(parley_store::NewWidget {
            name: "Shop".into(),
            token_hash: parley_chat::tokens::hash_token(&token),
            allowed_origins: vec!["https://shop.example".into()],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .unwrap();
    let request = |origin: &'static str| {
        app.http
            .get(app.url("/api/chatbot/config"))
            .bearer_auth(&token)
            .header("Origin", origin)
    };
    let allowed = request("https://shop.example").send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    assert_eq!(
        request("https://evil.example")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let preflight = app
        .http
        .request(
            reqwest::Method::OPTIONS,
            app.url("/api/chatbot/conversation"),
        )
        .header("Origin", "https://shop.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), 204);
    let allow_headers = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allow_headers.contains("authorization") && allow_headers.contains("x-visitor-token"));
}

#[tokio::test]
async fn starting_a_conversation_validates_input() {
    let app = TestApp::start().await;
    let created = app
        .post("/api/chatbot/conversation")
        .json(&json!({"visitor_name": "Vera", "visitor_email": "vera@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let body: Value = created.json().await.unwrap();
    assert_eq!(body["conversation"]["status"], "bot");
    assert!(body["visitor_token"].as_str().unwrap().len() > 30);

    let bad_email = app
        .post("/api/chatbot/conversation")
        .json(&json!({"visitor_email": "not an email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_email.status(), 422);
    let unknown_field = app
        .post("/api/chatbot/conversation")
        .json(&json!({"admin": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_field.status(), 422);
    let syntax = app
        .post("/api/chatbot/conversation")
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(syntax.status(), 400);
    assert_eq!(
        syntax.json::<Value>().await.unwrap()["error"]["code"],
        "bad_request"
    );
    let wrong_type = app
        .post("/api/chatbot/conversation")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);
}

#[tokio::test]
async fn only_the_visitor_reads_their_conversation() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let (_, other_visitor) = app.conversation().await;
    let path = format!("/api/chatbot/conversation/{id}");
    assert_eq!(
        app.get(&path)
            .header("X-Visitor-Token", &visitor)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.get(&path).send().await.unwrap().status(), 403);
    assert_eq!(
        app.get(&path)
            .header("X-Visitor-Token", &other_visitor)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.get("/api/chatbot/conversation/999999")
            .header("X-Visitor-Token", &visitor)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("/api/chatbot/conversation/abc")
            .header("X-Visitor-Token", &visitor)
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
}

/// The visitor endpoints read the widget and the conversation in one statement; what they refuse,
/// and in which order, is what the separate reads gave: the widget token (401), its Origin (403),
/// the path (404), the conversation (404 for another widget's), then the visitor (403).
#[tokio::test]
async fn visitor_endpoints_refuse_the_token_then_the_path_then_the_visitor() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let shop_token = parley_chat::tokens::new_widget_token();
    let shop = app
        .store
        .create_widget(parley_store::NewWidget {
            name: "Shop".into(),
            token_hash: parley_chat::tokens::hash_token(&shop_token),
            allowed_origins: vec!["https://shop.example".into()],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .unwrap();
    let status = |path: String, token: Option<&str>, origin: Option<&str>| {
        let mut request = app
            .http
            .get(app.url(&path))
            .header("X-Visitor-Token", &visitor);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let poll = |id: &str| format!("/api/chatbot/conversation/{id}");
    let ok = poll(&id.to_string());
    let unknown = parley_chat::tokens::new_widget_token();
    assert_eq!(status(ok.clone(), Some(&app.token), None).await, 200);
    assert_eq!(status(ok.clone(), None, None).await, 401);
    assert_eq!(status(poll("abc"), None, None).await, 401);
    assert_eq!(status(poll("abc"), Some(&unknown), None).await, 401);
    assert_eq!(status(ok.clone(), Some(&unknown), None).await, 401);
    assert_eq!(
        status(poll("abc"), Some(&shop_token), Some("https://evil.example")).await,
        403
    );
    assert_eq!(status(poll("abc"), Some(&app.token), None).await, 404);
    // The conversation is the demo widget's: the shop's token does not reach it.
    assert_eq!(
        status(ok.clone(), Some(&shop_token), Some("https://shop.example")).await,
        404
    );
    assert_eq!(status(poll("99999999"), Some(&app.token), None).await, 404);
    let stranger = app
        .http
        .get(app.url(&ok))
        .bearer_auth(&app.token)
        .header("X-Visitor-Token", "cbv_someone_else")
        .send()
        .await
        .unwrap();
    assert_eq!(stranger.status(), 403);
    // A revoked token stops at once, though the conversation is there.
    assert!(app.store.revoke_widget(shop.id).await.unwrap());
    assert_eq!(
        status(ok, Some(&shop_token), Some("https://shop.example")).await,
        401
    );
}

#[tokio::test]
async fn polling_pages_with_after_and_limit() {
    let app = TestApp::start().await;
    let (id, visitor) = app.conversation().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let (status, body) = app
            .send(
                id,
                &visitor,
                json!({"message": format!("m{i}"), "client_id": format!("c{i}")}),
            )
            .await;
        assert_eq!(status, 201);
        ids.push(body["message"]["id"].as_i64().unwrap());
    }
    let page = |after: i64, limit: i64| {
        app.get(&format!(
            "/api/chatbot/conversation/{id}?after={after}&limit={limit}"
        ))
        .header("X-Visitor-Token", &visitor)
        .send()
    };
    let first: Value = page(0, 2).await.unwrap().json().await.unwrap();
    let got: Vec<i64> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[..2]);
    assert_eq!(first["has_more"], true);
    let rest: Value = page(ids[1], 100).await.unwrap().json().await.unwrap();
    let got: Vec<i64> = rest["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, ids[2..]);
    assert_eq!(rest["has_more"], false);
    assert_eq!(page(0, 0).await.unwrap().status(), 422);
}

#[tokio::test]
async fn new_conversations_are_rate_limited_per_ip() {
    let app = TestApp::start_with(|config| config.conversations_per_ip_per_minute = 2, None).await;
    app.conversation().await;
    app.conversation().await;
    let limited = app
        .post("/api/chatbot/conversation")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        limited.json::<Value>().await.unwrap()["error"]["code"],
        "rate_limited"
    );
}
