//! Bot turns through the whole stack: the visitor's message queues a durable job, the runner
//! shows the bot typing and posts the knowledge bot's answer, an unsure answer offers the
//! visitor a person (who decides: asked for a human, it hands off), a failing bot hands off
//! after its retries, and a crashed worker's job still yields exactly one reply.

use std::time::Duration;

use parley_chat::bot_runner::{self, RunnerConfig};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::support::*;

fn knowledge() -> Value {
    json!({
        "kind": "knowledge",
        "knowledge": [
            {"question": "What are your opening hours?", "answer": "We are open from 9 to 5, Monday to Friday."},
            {"question": "Do you ship abroad?", "answer": "Yes, we ship worldwide."}
        ]
    })
}

fn runner_config(app: &TestApp) -> RunnerConfig {
    RunnerConfig {
        retry_base: Duration::from_millis(20),
        max_attempts: 2,
        poll: Duration::from_millis(50),
        ..RunnerConfig::new(app.data_dir.join("knowledge"))
    }
}

pub(crate) fn start_runner(app: &TestApp) -> CancellationToken {
    let shutdown = CancellationToken::new();
    bot_runner::start(app.service.clone(), runner_config(app), shutdown.clone());
    shutdown
}

/// A conversation on a widget whose bot is `bot`, with a runner and a subscriber.
async fn with_bot(bot: Value) -> (TestApp, CancellationToken, i64, String, Subscriber) {
    let mut app = TestApp::start().await;
    app.use_bot(bot).await;
    let runner = start_runner(&app);
    let (id, visitor) = app.conversation().await;
    let subscriber = app.subscriber(id, &visitor).await;
    (app, runner, id, visitor, subscriber)
}

/// The next broadcast message not written by the visitor.
pub(crate) async fn next_reply(subscriber: &mut Subscriber) -> Value {
    loop {
        let data = subscriber.event("ChatMessageReceived").await;
        if data["sender_type"] != "visitor" {
            return data;
        }
    }
}

async fn messages(app: &TestApp, id: i64, visitor: &str) -> Vec<Value> {
    let page: Value = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_known_question_is_answered_with_typing_shown_first() {
    let (app, _runner, id, visitor, mut subscriber) = with_bot(knowledge()).await;
    let (status, _) = app
        .send(
            id,
            &visitor,
            json!({"message": "when are you open? opening hours", "client_id": "q1"}),
        )
        .await;
    assert_eq!(status, 201);
    let mut order = Vec::new();
    let answer = loop {
        let frame = subscriber.recv().await;
        let event = frame["event"].as_str().unwrap_or("").to_string();
        if event == "BotTyping" || event == "ChatMessageReceived" {
            let data: Value = serde_json::from_str(frame["data"].as_str().unwrap()).unwrap();
            order.push((event.clone(), data.clone()));
            if event == "ChatMessageReceived" && data["sender_type"] == "bot" {
                break data;
            }
        }
    };
    assert!(
        answer["message"].as_str().unwrap().contains("9 to 5"),
        "{answer}"
    );
    let typing_at = order
        .iter()
        .position(|(e, d)| e == "BotTyping" && d["typing"] == true);
    let answer_at = order.len() - 1;
    assert!(
        typing_at.is_some_and(|t| t < answer_at),
        "no typing before the answer: {order:?}"
    );
    assert_eq!(subscriber.event("BotTyping").await["typing"], false);
}

#[tokio::test]
async fn unsure_replies_offer_a_person_and_the_visitor_decides() {
    let (app, _runner, id, visitor, mut subscriber) = with_bot(knowledge()).await;
    // Unsure, and unsure again: each reply is the bot's and offers a person; nobody is handed
    // over unasked.
    for (i, text) in ["zebra quantum flux", "purple elephant modem"]
        .iter()
        .enumerate()
    {
        let (_, sent) = app
            .send(
                id,
                &visitor,
                json!({"message": text, "client_id": format!("u{i}")}),
            )
            .await;
        let asked = sent["message"]["id"].as_i64().unwrap();
        let unsure = next_reply(&mut subscriber).await;
        assert_eq!(unsure["sender_type"], "bot", "{unsure}");
        assert_eq!(unsure["offers_human"], true, "{unsure}");
        assert_eq!(unsure["client_id"], format!("bot-unsure-{asked}"));
    }
    assert_eq!(
        app.store.conversation(id).await.unwrap().unwrap().status,
        parley_store::ConversationStatus::Bot
    );
    // A known question is answered, with no offer.
    app.send(
        id,
        &visitor,
        json!({"message": "Do you ship abroad?", "client_id": "u3"}),
    )
    .await;
    let answer = next_reply(&mut subscriber).await;
    assert!(
        answer["message"].as_str().unwrap().contains("worldwide"),
        "{answer}"
    );
    assert!(answer.get("offers_human").is_none(), "{answer}");
    // The history (a reload, a polling widget) says the same.
    let all = messages(&app, id, &visitor).await;
    let offers: Vec<bool> = all
        .iter()
        .filter(|m| m["sender_type"] == "bot")
        .map(|m| m["offers_human"] == true)
        .collect();
    assert_eq!(offers, [true, true, false], "{all:?}");
    assert!(all
        .iter()
        .filter(|m| m["sender_type"] != "bot")
        .all(|m| m.get("offers_human").is_none()));

    // The widget's "Talk to a person" button sends /human: handed over at once.
    app.send(
        id,
        &visitor,
        json!({"message": "/human", "client_id": "u4"}),
    )
    .await;
    let update = subscriber.event("ConversationUpdated").await;
    assert_eq!(update["status"], "human");
    let all = messages(&app, id, &visitor).await;
    assert_eq!(all.last().unwrap()["sender_type"], "system", "{all:?}");
    // A human has the conversation now: the bot answers nothing more.
    app.send(
        id,
        &visitor,
        json!({"message": "What are your opening hours?", "client_id": "u5"}),
    )
    .await;
    let later = subscriber.sync().await;
    let typing_again = later
        .iter()
        .any(|f| f["event"] == "BotTyping" && f["data"].as_str() == Some(r#"{"typing":true}"#));
    assert!(!typing_again, "the bot came back: {later:?}");
    let bot_replies = messages(&app, id, &visitor)
        .await
        .iter()
        .filter(|m| m["sender_type"] == "bot")
        .count();
    assert_eq!(bot_replies, 3);
}

#[tokio::test]
async fn asking_for_a_human_hands_off_at_once() {
    let (app, _runner, id, visitor, mut subscriber) = with_bot(knowledge()).await;
    app.send(
        id,
        &visitor,
        json!({"message": "I want to talk to a human please", "client_id": "h1"}),
    )
    .await;
    assert_eq!(
        subscriber.event("ConversationUpdated").await["status"],
        "human"
    );
    let conversation = app.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.status, parley_store::ConversationStatus::Human);
}

#[tokio::test]
async fn a_failing_bot_hands_off_after_its_retries() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let bot = json!({"kind": "llm", "base_url": format!("http://127.0.0.1:{port}/v1"), "model": "m", "timeout_secs": 2});
    let (app, _runner, id, visitor, mut subscriber) = with_bot(bot).await;
    app.send(
        id,
        &visitor,
        json!({"message": "hello?", "client_id": "f1"}),
    )
    .await;
    assert_eq!(
        subscriber.event("ConversationUpdated").await["status"],
        "human"
    );
    let all = messages(&app, id, &visitor).await;
    assert_eq!(all.last().unwrap()["sender_type"], "system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_worker_still_yields_exactly_one_reply() {
    let mut app = TestApp::start().await;
    app.use_bot(knowledge()).await;
    let (id, visitor) = app.conversation().await;
    // The message is stored with its job while no runner runs.
    let (status, _) = app
        .send(
            id,
            &visitor,
            json!({"message": "Do you ship abroad?", "client_id": "c1"}),
        )
        .await;
    assert_eq!(status, 201);
    // A worker claims the job and dies at once: its lease has already run out.
    let claimed = app
        .store
        .claim_bot_job(Duration::ZERO)
        .await
        .unwrap()
        .expect("the job was queued");
    assert_eq!(claimed.attempts, 1);
    // Two runners start (a restart, plus another node): the job runs again, once.
    let first = start_runner(&app);
    let second = start_runner(&app);
    let mut subscriber = app.subscriber(id, &visitor).await;
    let mut replies = 0;
    for _ in 0..50 {
        replies = messages(&app, id, &visitor)
            .await
            .iter()
            .filter(|m| m["sender_type"] == "bot")
            .count();
        if replies > 0 {
            break;
        }
        let _ = tokio::time::timeout(
            Duration::from_millis(200),
            subscriber.event("ChatMessageReceived"),
        )
        .await;
    }
    assert_eq!(replies, 1);
    // Let both runners poll again; still one reply.
    subscriber.sync().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let all = messages(&app, id, &visitor).await;
    assert_eq!(
        all.iter().filter(|m| m["sender_type"] == "bot").count(),
        1,
        "{all:?}"
    );
    assert!(all
        .iter()
        .any(|m| m["message"].as_str().unwrap_or("").contains("worldwide")));
    first.cancel();
    second.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_bot_is_called_signed_and_replies_through_the_api() {
    use axum::{body::Bytes, http::HeaderMap, routing::post, Router};

    // The external bot: checks Parley's signature, then answers later through the reply API.
    let (tx, mut calls) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let receiver = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let timestamp: i64 = headers["x-parley-timestamp"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                let signature = headers["x-parley-signature"]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("sha256=")
                    .to_string();
                let now = chrono::Utc::now().timestamp();
                let valid =
                    parley_bot::verify_webhook("hook-secret", timestamp, &body, &signature, now);
                let forged =
                    parley_bot::verify_webhook("other-secret", timestamp, &body, &signature, now);
                let mut call: Value = serde_json::from_slice(&body).unwrap();
                call["signature_valid"] = json!(valid && !forged);
                let _ = tx.send(call);
                axum::http::StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });

    let mut app = TestApp::start().await;
    let (other_id, _) = app.conversation().await;
    app.use_bot(json!({"kind": "webhook", "url": hook, "secret": "hook-secret", "reply_token": "reply-token-1"})).await;
    let _runner = start_runner(&app);
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    app.send(
        id,
        &visitor,
        json!({"message": "Where is my order 42?", "client_id": "w1"}),
    )
    .await;
    let call = tokio::time::timeout(Duration::from_secs(10), calls.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(call["signature_valid"], true, "{call}");
    assert_eq!(call["conversation_id"], id);

    let reply = |token: &str, conversation: i64, body: Value| {
        app.http
            .post(app.url(&format!("/api/bot/conversations/{conversation}/messages")))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    assert_eq!(
        reply("wrong", id, json!({"message": "hi"}))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        reply("reply-token-1", other_id, json!({"message": "hi"}))
            .await
            .unwrap()
            .status(),
        401,
        "a widget without an external bot: refused like a wrong token"
    );
    let sent = reply(
        "reply-token-1",
        id,
        json!({"message": "Order 42 ships tomorrow.", "client_id": "r1"}),
    )
    .await
    .unwrap();
    assert_eq!(sent.status(), 201);
    let event = next_reply(&mut subscriber).await;
    assert_eq!(event["sender_type"], "bot");
    assert_eq!(event["message"], "Order 42 ships tomorrow.");
    let again = reply(
        "reply-token-1",
        id,
        json!({"message": "Order 42 ships tomorrow.", "client_id": "r1"}),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), 200, "a retried reply is not stored twice");
    let handed = reply(
        "reply-token-1",
        id,
        json!({"message": "Passing you to a colleague.", "handoff": true}),
    )
    .await
    .unwrap();
    assert_eq!(handed.status(), 201);
    assert_eq!(
        subscriber.event("ConversationUpdated").await["status"],
        "human"
    );
    assert_eq!(
        reply("reply-token-1", id, json!({"message": "late"}))
            .await
            .unwrap()
            .status(),
        409
    );
}

#[tokio::test]
async fn the_bot_speaks_the_visitors_language() {
    let mut app = TestApp::start().await;
    app.use_bot(knowledge()).await;
    let _runner = start_runner(&app);
    let (id, visitor) = app
        .conversation_as(json!({"visitor_name": "Lucía", "locale": "es-MX"}))
        .await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    app.send(id, &visitor, json!({"message": "zebra quantum flux"}))
        .await;
    let unsure = next_reply(&mut subscriber).await;
    assert!(
        unsure["message"]
            .as_str()
            .unwrap()
            .starts_with("No estoy seguro de haberte entendido"),
        "{unsure}"
    );
    assert_eq!(unsure["offers_human"], true, "{unsure}");
    // The widget's button (or the word) hands over, said in Spanish.
    app.send(id, &visitor, json!({"message": "/human"})).await;
    let handoff = next_reply(&mut subscriber).await;
    assert_eq!(handoff["sender_type"], "system");
    assert_eq!(
        handoff["message"],
        parley_bot::phrase(parley_bot::Phrase::Handoff, Some("es"))
    );

    // Asked in French, a French conversation goes to a person at once, told so in French.
    let (id, visitor) = app.conversation_as(json!({"locale": "fr"})).await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    app.send(
        id,
        &visitor,
        json!({"message": "Je veux parler à une personne"}),
    )
    .await;
    let handoff = next_reply(&mut subscriber).await;
    assert!(
        handoff["message"]
            .as_str()
            .unwrap()
            .starts_with("Je vous mets en relation"),
        "{handoff}"
    );
}
