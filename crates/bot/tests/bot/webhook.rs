//! The webhook bot against a local receiver that verifies each request's signature with
//! `verify_webhook`, and the signing helpers both ways.

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use parley_bot::{
    build, sign_webhook, verify_webhook, Bot, BotError, HandoffReason, HistoryEntry, Reply, Role,
    SIGNATURE_HEADER, TIMESTAMP_HEADER,
};
use serde_json::{json, Value};

use crate::support::{serve, settings, turn, TempDir};

const SECRET: &str = "whsec_receiver_secret";

/// What the receiver answers once the signature checks out.
#[derive(Clone, Copy)]
enum Answer {
    Accepted,
    Sync(&'static str),
    Fail,
    Silent,
}

#[derive(Clone)]
struct Receiver {
    answer: Answer,
    seen: Arc<Mutex<Vec<Value>>>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

async fn receive(
    State(receiver): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let timestamp: i64 = header(TIMESTAMP_HEADER).parse().unwrap_or(0);
    let signature = header(SIGNATURE_HEADER);
    if !signature.starts_with("sha256=")
        || !verify_webhook(SECRET, timestamp, &body, signature, now())
    {
        return (StatusCode::UNAUTHORIZED, "bad signature".into());
    }
    receiver
        .seen
        .lock()
        .expect("lock")
        .push(serde_json::from_slice(&body).expect("JSON event"));
    match receiver.answer {
        Answer::Accepted => (StatusCode::ACCEPTED, String::new()),
        Answer::Sync(reply) => (StatusCode::OK, json!({ "reply": reply }).to_string()),
        Answer::Fail => (StatusCode::INTERNAL_SERVER_ERROR, "receiver broke".into()),
        Answer::Silent => std::future::pending().await,
    }
}

async fn receiver(answer: Answer) -> (String, Arc<Mutex<Vec<Value>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new()
        .route("/hook", post(receive))
        .with_state(Receiver {
            answer,
            seen: seen.clone(),
        });
    (format!("{}/hook", serve(router).await), seen)
}

fn webhook_bot(url: &str, secret: &str) -> Arc<dyn Bot> {
    let settings = settings(json!({
        "kind": "webhook", "url": url, "secret": secret, "timeout_secs": 0.5,
    }));
    build(&settings, TempDir::new().path(), 2).expect("webhook bot")
}

#[tokio::test]
async fn a_signed_event_is_posted_and_the_reply_deferred() {
    let (url, seen) = receiver(Answer::Accepted).await;
    let bot = webhook_bot(&url, SECRET);
    let mut turn = turn(2, "Where is my order #123?");
    turn.conversation_id = 42;
    turn.history = vec![HistoryEntry {
        role: Role::Bot,
        text: "Hi!".into(),
    }];
    assert_eq!(bot.reply(&turn).await, Ok(Reply::Deferred));

    let seen = seen.lock().expect("lock");
    let event = &seen[0];
    assert_eq!(event["type"], "message.created");
    assert_eq!(event["conversation_id"], 42);
    assert_eq!(event["widget_id"], 2);
    assert_eq!(event["message"]["message"], "Where is my order #123?");
    assert_eq!(event["message"]["sender_type"], "visitor");
    assert_eq!(event["message"]["sender_name"], "Ada");
    assert_eq!(event["history"], json!([{"role": "bot", "text": "Hi!"}]));
}

#[tokio::test]
async fn a_json_reply_is_answered_at_once() {
    let (url, _) = receiver(Answer::Sync("Your order ships tomorrow.")).await;
    let reply = webhook_bot(&url, SECRET)
        .reply(&turn(2, "order status?"))
        .await;
    assert_eq!(
        reply,
        Ok(Reply::Answer {
            text: "Your order ships tomorrow.".into()
        })
    );
}

#[tokio::test]
async fn a_wrong_secret_fails_the_receivers_verification() {
    let (url, seen) = receiver(Answer::Accepted).await;
    let reply = webhook_bot(&url, "not-the-receivers-secret")
        .reply(&turn(2, "hello"))
        .await;
    assert!(
        matches!(reply, Err(BotError::Upstream(ref m)) if m.contains("401")),
        "{reply:?}"
    );
    assert!(seen.lock().expect("lock").is_empty());
}

#[tokio::test]
async fn receiver_failures_and_silence_are_errors() {
    let (url, _) = receiver(Answer::Fail).await;
    let reply = webhook_bot(&url, SECRET).reply(&turn(2, "hello")).await;
    assert!(
        matches!(reply, Err(BotError::Upstream(ref m)) if m.contains("500")),
        "{reply:?}"
    );

    let (url, _) = receiver(Answer::Silent).await;
    assert_eq!(
        webhook_bot(&url, SECRET).reply(&turn(2, "hello")).await,
        Err(BotError::Timeout)
    );
}

#[tokio::test]
async fn asking_for_a_human_hands_off_without_posting() {
    let (url, seen) = receiver(Answer::Accepted).await;
    match webhook_bot(&url, SECRET).reply(&turn(2, "/human")).await {
        Ok(Reply::Handoff { reason, .. }) => assert_eq!(reason, HandoffReason::VisitorAsked),
        other => panic!("expected a handoff, got {other:?}"),
    }
    assert!(seen.lock().expect("lock").is_empty());
}

#[test]
fn signatures_verify_both_ways() {
    // What an external bot does with Parley's requests, and what Parley does with its replies.
    let body = br#"{"reply":"hi"}"#;
    let ts = now();
    let signature = sign_webhook(SECRET, ts, body);
    assert!(verify_webhook(SECRET, ts, body, &signature, ts + 10));
    assert!(verify_webhook(
        SECRET,
        ts,
        body,
        &format!("sha256={signature}"),
        ts
    ));
    assert!(!verify_webhook("wrong", ts, body, &signature, ts));
    assert!(!verify_webhook(
        SECRET,
        ts,
        br#"{"reply":"hacked"}"#,
        &signature,
        ts
    ));
    assert!(
        !verify_webhook(SECRET, ts, body, &signature, ts + 301),
        "replayed too late"
    );
    assert!(
        !verify_webhook(SECRET, ts + 1, body, &signature, ts),
        "timestamp not signed over"
    );
}
