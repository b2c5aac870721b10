//! The API's edge: who may call the agents' API from a browser, the security headers on every
//! answer, the per-IP throttle on refused tokens, and the bot reply endpoint answering every
//! unauthorised request alike.

use reqwest::{header, Method, StatusCode};
use serde_json::{json, Value};

use crate::{agents::agent, support::TestApp};

async fn agent_me(app: &TestApp, token: &str, origin: &str) -> reqwest::Response {
    app.http
        .get(app.url("/api/agent/me"))
        .bearer_auth(token)
        .header(header::ORIGIN, origin)
        .send()
        .await
        .unwrap()
}

fn allow_origin(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap())
}

#[tokio::test]
async fn the_agents_api_refuses_other_origins() {
    let app = TestApp::start_with(
        |config| config.agent_allowed_origins = vec!["https://desk.example".into()],
        None,
    )
    .await;
    let ada = agent(&app, "Ada").await;

    let preflight = app
        .http
        .request(Method::OPTIONS, app.url("/api/agent/me"))
        .header(header::ORIGIN, "https://evil.example")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(preflight.status(), StatusCode::FORBIDDEN);
    assert_eq!(allow_origin(&preflight), None);

    for origin in [
        "https://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
    ] {
        let refused = agent_me(&app, &ada.token, origin).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{origin}");
        assert_eq!(allow_origin(&refused), None, "{origin}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], "forbidden");
    }

    // The dashboard's own origin (the host the request is sent to) and the configured one.
    for origin in [app.base.as_str(), "https://desk.example"] {
        let allowed = agent_me(&app, &ada.token, origin).await;
        assert_eq!(allowed.status(), StatusCode::OK, "{origin}");
        assert_eq!(allow_origin(&allowed), Some(origin));
    }
    // No Origin: not a browser's cross-origin call (curl, the CLI).
    let plain = app
        .http
        .get(app.url("/api/agent/me"))
        .bearer_auth(&ada.token)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), StatusCode::OK);

    // The widget's API stays open to the widget's allowed origins (this one allows any).
    let widget = app
        .get("/api/chatbot/config")
        .header(header::ORIGIN, "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(widget.status(), StatusCode::OK);
    assert_eq!(allow_origin(&widget), Some("https://evil.example"));
}

#[tokio::test]
async fn api_answers_carry_security_headers() {
    let app = TestApp::start().await;
    let ok = app.get("/api/chatbot/config").send().await.unwrap();
    let refused = app
        .http
        .get(app.url("/api/chatbot/config"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    for response in [ok, refused] {
        let headers = response.headers();
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(csp.contains("default-src 'none'"), "{csp}");
    }
}

async fn throttled_app() -> TestApp {
    TestApp::start_with(|config| config.auth_failures_per_ip_per_minute = 3, None).await
}

fn assert_throttled(response: &reqwest::Response) {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
}

#[tokio::test]
async fn refused_widget_tokens_are_throttled_per_ip() {
    let app = throttled_app().await;
    let with_token = |token: &str| {
        app.http
            .get(app.url("/api/chatbot/config"))
            .bearer_auth(token)
            .send()
    };
    for _ in 0..3 {
        assert_eq!(
            with_token("cbw_guess").await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let throttled = with_token("cbw_guess").await.unwrap();
    assert_throttled(&throttled);
    let body: Value = throttled.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    // While throttled, tokens from that address are not even checked.
    assert_throttled(&with_token(&app.token).await.unwrap());
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance() {
    let guess_from = |app: &TestApp, client: &str| {
        app.http
            .get(app.url("/api/chatbot/config"))
            .bearer_auth("cbw_guess")
            .header("X-Forwarded-For", client)
            .send()
    };
    // The test client connects from 127.0.0.1: as the proxy, it is believed.
    let app = TestApp::start_with(
        |config| {
            config.auth_failures_per_ip_per_minute = 3;
            config.trusted_proxies =
                parley_chat::client_address::TrustedProxies::parse("127.0.0.1").unwrap();
        },
        None,
    )
    .await;
    for _ in 0..3 {
        let refused = guess_from(&app, "198.51.100.1").await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&guess_from(&app, "198.51.100.1").await.unwrap());
    // Another visitor behind the same proxy is not held to the guesser's count...
    let other = guess_from(&app, "198.51.100.2").await.unwrap();
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    // ...and the guesser cannot escape it by prepending a forged address.
    assert_throttled(&guess_from(&app, "203.0.113.9, 198.51.100.1").await.unwrap());

    // Without trusted proxies the header is anyone's to send, so it is ignored.
    let app = throttled_app().await;
    for n in 0..3 {
        let refused = guess_from(&app, &format!("198.51.100.{n}")).await.unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    assert_throttled(&guess_from(&app, "198.51.100.99").await.unwrap());
}

#[tokio::test]
async fn refused_agent_and_visitor_tokens_are_throttled_per_ip() {
    let app = throttled_app().await;
    for _ in 0..3 {
        assert_eq!(
            agent_me(&app, "cba_guess", &app.base).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_throttled(&agent_me(&app, "cba_guess", &app.base).await);

    let app = throttled_app().await;
    let (id, _visitor) = app.conversation().await;
    let read = || {
        app.get(&format!("/api/chatbot/conversation/{id}"))
            .header("X-Visitor-Token", "cbv_guess")
            .send()
    };
    for _ in 0..3 {
        assert_eq!(read().await.unwrap().status(), StatusCode::FORBIDDEN);
    }
    assert_throttled(&read().await.unwrap());
}

#[tokio::test]
async fn the_bot_reply_endpoint_answers_every_unauthorised_request_alike() {
    let mut app = TestApp::start().await;
    let (without_bot, _) = app.conversation().await;
    app.use_bot(json!({
        "kind": "webhook",
        "url": "http://127.0.0.1:9/hook",
        "secret": "hook-secret",
        "reply_token": "reply-token-1",
    }))
    .await;
    let (with_bot, _) = app.conversation().await;

    let reply = |token: Option<&str>, conversation: i64| {
        let request = app
            .http
            .post(app.url(&format!("/api/bot/conversations/{conversation}/messages")))
            .json(&json!({"message": "hi"}));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
        .send()
    };
    let mut answers = Vec::new();
    for (token, conversation, case) in [
        (Some("wrong"), with_bot, "a wrong token"),
        (None, with_bot, "no token"),
        (
            Some("reply-token-1"),
            without_bot,
            "a widget without an external bot",
        ),
        (Some("reply-token-1"), 987_654_321, "no such conversation"),
    ] {
        let response = reply(token, conversation).await.unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        answers.push((status, body.clone()));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{case}: {body}");
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "{answers:?}"
    );
    let accepted = reply(Some("reply-token-1"), with_bot).await.unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn an_agents_refusals_that_are_not_bad_tokens_do_not_throttle() {
    let app = throttled_app().await;
    let ada = agent(&app, "Ada").await;
    // A real agent asking for what is not theirs: refused, but not a guessed token.
    for _ in 0..6 {
        let refused = app
            .http
            .post(app.url("/api/agent/broadcasting/auth"))
            .bearer_auth(&ada.token)
            .form(&[
                ("socket_id", "123.456"),
                ("channel_name", "private-agent.999999"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(
        agent_me(&app, &ada.token, &app.base).await.status(),
        StatusCode::OK
    );
}
