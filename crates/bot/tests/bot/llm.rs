//! The LLM bot against a local fake OpenAI-compatible server that speaks the real streaming wire
//! format: `text/event-stream`, chunked, `data: {chat.completion.chunk}` events, `data: [DONE]`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use futures_util::stream::{self, StreamExt};
use parley_bot::{build, BotError, HandoffReason, HistoryEntry, Reply, Role};
use serde_json::{json, Value};

use crate::support::{serve, settings, turn, TempDir};

/// What the fake server does with a request.
#[derive(Clone)]
enum Script {
    /// Sends these raw pieces of the body, each as its own chunk.
    Stream(Vec<String>),
    /// Sends these pieces, then nothing more while keeping the connection open.
    Stall(Vec<String>),
    /// Answers with this status and JSON body.
    Status(u16, &'static str),
    /// Never sends a response head.
    Silent,
    /// Ignores `stream: true`: one JSON completion.
    Whole(&'static str),
}

/// Each request the fake received: its `Authorization` header and JSON body.
type Seen = Arc<Mutex<Vec<(Option<String>, Value)>>>;

#[derive(Clone)]
struct Fake {
    script: Script,
    seen: Seen,
}

async fn completions(
    State(fake): State<Fake>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    fake.seen.lock().expect("lock").push((auth, body));
    let sse = |body: Body| {
        Response::builder()
            .header(header::CONTENT_TYPE, "text/event-stream")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(body)
            .expect("response")
    };
    let chunks = |pieces: Vec<String>| {
        stream::iter(
            pieces
                .into_iter()
                .map(|p| Ok::<_, std::convert::Infallible>(Bytes::from(p))),
        )
    };
    match fake.script {
        Script::Stream(pieces) => sse(Body::from_stream(chunks(pieces))),
        Script::Stall(pieces) => sse(Body::from_stream(chunks(pieces).chain(stream::pending()))),
        Script::Status(code, body) => Response::builder()
            .status(StatusCode::from_u16(code).expect("status"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("response"),
        Script::Silent => std::future::pending().await,
        Script::Whole(body) => Response::builder()
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("response"),
    }
}

/// Starts a fake server; returns its `/v1` base URL and what it received.
async fn fake(script: Script) -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(Fake {
            script,
            seen: seen.clone(),
        });
    (format!("{}/v1", serve(router).await), seen)
}

fn event(delta: Value, finish: Option<&str>) -> String {
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1_700_000_000,
        "model": "tiny", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    });
    format!("data: {chunk}\n\n")
}

/// A complete, well-formed stream of `pieces`.
fn stream_of(pieces: &[&str]) -> Vec<String> {
    let mut wire = vec![event(json!({"role": "assistant", "content": ""}), None)];
    wire.extend(pieces.iter().map(|p| event(json!({"content": p}), None)));
    wire.push(event(json!({}), Some("stop")));
    wire.push("data: [DONE]\n\n".into());
    wire
}

fn llm_settings(base_url: &str, extra: Value) -> parley_bot::BotSettings {
    let mut value = json!({
        "kind": "llm", "base_url": base_url, "model": "tiny", "api_key": "test-key",
        "timeout_secs": 5, "reload_secs": 0,
    });
    if let (Some(object), Value::Object(more)) = (value.as_object_mut(), extra) {
        object.extend(more);
    }
    settings(value)
}

#[tokio::test]
async fn streamed_answer_is_assembled_and_grounded_in_the_knowledge() {
    let dir = TempDir::new();
    dir.write(
        "9.md",
        "## What are your opening hours?\nWe open 9 to 5, Monday to Friday.\n\n\
         ## Do you ship abroad?\nYes, worldwide.\n",
        0,
    );
    let mut pieces = stream_of(&["We open ", "at 9", " on weekdays."]);
    // One event split across two network chunks, as proxies do.
    let split = pieces.remove(2);
    let (a, b) = split.split_at(20);
    pieces.insert(2, b.to_owned());
    pieces.insert(2, a.to_owned());
    let (base_url, seen) = fake(Script::Stream(pieces)).await;
    let bot = build(
        &llm_settings(
            &base_url,
            json!({"system_prompt": "You answer for Acme.", "temperature": 0.2}),
        ),
        dir.path(),
        9,
    )
    .expect("llm bot");

    let mut turn = turn(9, "What are your opening hours?");
    turn.history = vec![
        HistoryEntry {
            role: Role::Visitor,
            text: "hello".into(),
        },
        HistoryEntry {
            role: Role::Bot,
            text: "Hi! How can I help?".into(),
        },
        HistoryEntry {
            role: Role::System,
            text: "(status notice)".into(),
        },
    ];
    let deltas = Mutex::new(Vec::new());
    let reply = bot
        .reply_streaming(&turn, &|d: &str| {
            deltas.lock().expect("lock").push(d.to_owned())
        })
        .await
        .expect("answer");
    assert_eq!(
        reply,
        Reply::Answer {
            text: "We open at 9 on weekdays.".into()
        }
    );
    assert_eq!(
        *deltas.lock().expect("lock"),
        ["We open ", "at 9", " on weekdays."]
    );

    let seen = seen.lock().expect("lock");
    let (auth, body) = &seen[0];
    assert_eq!(auth.as_deref(), Some("Bearer test-key"));
    assert_eq!(body["stream"], true);
    assert_eq!(body["model"], "tiny");
    assert!(body["max_tokens"].as_u64().is_some());
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    let system = messages[0]["content"].as_str().expect("system text");
    assert!(system.starts_with("You answer for Acme."), "{system}");
    assert!(
        system.contains("We open 9 to 5, Monday to Friday."),
        "grounding missing: {system}"
    );
    assert!(system.contains("Ada"), "visitor name missing: {system}");
    assert_eq!(messages[3]["content"], "What are your opening hours?");
}

#[tokio::test]
async fn the_models_own_i_dont_know_is_still_an_answer() {
    let (base_url, _) = fake(Script::Stream(stream_of(&["I don't know, sorry."]))).await;
    let bot = build(
        &llm_settings(&base_url, json!({})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    let reply = bot
        .reply(&turn(1, "What is the meaning of life?"))
        .await
        .expect("answer");
    assert_eq!(
        reply,
        Reply::Answer {
            text: "I don't know, sorry.".into()
        }
    );
}

#[tokio::test]
async fn a_server_that_ignores_stream_true_still_works() {
    let whole = r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Whole answer."},"finish_reason":"stop"}]}"#;
    let (base_url, _) = fake(Script::Whole(whole)).await;
    let bot = build(
        &llm_settings(&base_url, json!({})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    let reply = bot.reply(&turn(1, "hello")).await.expect("answer");
    assert_eq!(
        reply,
        Reply::Answer {
            text: "Whole answer.".into()
        }
    );
}

#[tokio::test]
async fn http_errors_are_errors_with_the_servers_message() {
    let (base_url, _) = fake(Script::Status(
        500,
        r#"{"error":{"message":"model crashed","type":"server_error"}}"#,
    ))
    .await;
    let bot = build(
        &llm_settings(&base_url, json!({})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    match bot.reply(&turn(1, "hello")).await {
        Err(BotError::Upstream(m)) => {
            assert!(m.contains("500") && m.contains("model crashed"), "{m}")
        }
        other => panic!("expected an upstream error, got {other:?}"),
    }
}

#[tokio::test]
async fn broken_streams_are_errors() {
    let ok = event(json!({"content": "Hel"}), None);
    let cases = [
        (vec![ok.clone(), "data: {not json\n\n".into()], "malformed"),
        (vec![ok.clone()], "before [DONE]"),
        (stream_of(&[]), "empty answer"),
        (
            vec![
                ok,
                "data: {\"error\":{\"message\":\"overloaded\"}}\n\n".into(),
            ],
            "overloaded",
        ),
    ];
    for (pieces, needle) in cases {
        let (base_url, _) = fake(Script::Stream(pieces)).await;
        let bot = build(
            &llm_settings(&base_url, json!({})),
            TempDir::new().path(),
            1,
        )
        .expect("bot");
        match bot.reply(&turn(1, "hello")).await {
            Err(BotError::Upstream(m)) => assert!(m.contains(needle), "{needle}: {m}"),
            other => panic!("{needle}: expected an upstream error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_stream_that_stops_sending_times_out() {
    let (base_url, _) = fake(Script::Stall(vec![event(
        json!({"content": "Let me think"}),
        None,
    )]))
    .await;
    let bot = build(
        &llm_settings(&base_url, json!({"timeout_secs": 0.3})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    let started = Instant::now();
    assert_eq!(bot.reply(&turn(1, "hello")).await, Err(BotError::Timeout));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    let (base_url, _) = fake(Script::Silent).await;
    let bot = build(
        &llm_settings(&base_url, json!({"timeout_secs": 0.3})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    assert_eq!(bot.reply(&turn(1, "hello")).await, Err(BotError::Timeout));
}

#[tokio::test]
async fn turn_limit_and_human_requests_hand_off_without_calling_the_model() {
    let (base_url, seen) = fake(Script::Stream(stream_of(&["unused"]))).await;
    let bot = build(
        &llm_settings(&base_url, json!({"max_turns": 3})),
        TempDir::new().path(),
        1,
    )
    .expect("bot");
    let mut limited = turn(1, "one more question");
    limited.bot_turns = 3;
    match bot.reply(&limited).await.expect("reply") {
        Reply::Handoff { reason, .. } => assert_eq!(reason, HandoffReason::LimitReached),
        other => panic!("expected a handoff, got {other:?}"),
    }
    match bot
        .reply(&turn(1, "let me talk to a human"))
        .await
        .expect("reply")
    {
        Reply::Handoff { reason, .. } => assert_eq!(reason, HandoffReason::VisitorAsked),
        other => panic!("expected a handoff, got {other:?}"),
    }
    assert!(seen.lock().expect("lock").is_empty());
    // Under the limit the model is asked.
    limited.bot_turns = 2;
    assert!(matches!(
        bot.reply(&limited).await,
        Ok(Reply::Answer { .. })
    ));
}
