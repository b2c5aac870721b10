//! Outbound webhooks against a receiver this test starts: signed events in order per
//! conversation, a failure retried and delivered once, a 2xx never sent again (also across a
//! restart, and a delivery a dead worker held is not re-sent), a dead receiver retried with
//! back-off until it fails, the test button, and who is refused on every admin endpoint.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    Router,
};
use parley_chat::webhooks::{self, RunnerConfig};
use reqwest::{header, Method};
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use crate::{
    admin::{member, owner, Browser},
    agents::{agent, post},
    support::*,
};

/// What the receiver got.
#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers[name].to_str().unwrap()
    }

    fn event(&self) -> String {
        self.json()["event"].as_str().unwrap().to_string()
    }

    fn conversation(&self) -> i64 {
        self.json()["data"]["conversation"]["id"].as_i64().unwrap()
    }

    /// Whether the signature verifies under `secret` (and its timestamp is fresh).
    fn signed_by(&self, secret: &str) -> bool {
        let timestamp: i64 = self.header("x-parley-timestamp").parse().unwrap();
        parley_bot::verify_webhook(
            secret,
            timestamp,
            &self.body,
            self.header("x-parley-signature"),
            chrono::Utc::now().timestamp(),
        )
    }
}

#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Received>>,
    /// Statuses to answer, in order; then 200.
    script: Mutex<VecDeque<u16>>,
    /// How long each answer takes.
    delay: Mutex<Duration>,
}

/// A webhook receiver on 127.0.0.1:0.
struct Receiver {
    url: String,
    shared: Arc<Shared>,
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    shared.got.lock().unwrap().push(Received {
        at: Instant::now(),
        headers,
        body,
    });
    let delay = *shared.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    let code = shared.script.lock().unwrap().pop_front().unwrap_or(200);
    StatusCode::from_u16(code).unwrap()
}

impl Receiver {
    async fn start() -> Self {
        let shared = Arc::new(Shared::default());
        let router = Router::new().fallback(receive).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/parley", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { url, shared }
    }

    fn answer(&self, codes: &[u16]) {
        self.shared.script.lock().unwrap().extend(codes);
    }

    fn received(&self) -> Vec<Received> {
        self.shared.got.lock().unwrap().clone()
    }

    /// Waits (10 s at most) until `n` requests arrived; all of them.
    async fn wait_for(&self, n: usize) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} deliveries arrived: {:?}",
                got.len(),
                got.iter().map(Received::event).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Short waits, so retries and give-ups happen within a test.
fn quick() -> RunnerConfig {
    RunnerConfig {
        lease: Duration::from_secs(5),
        timeout: Duration::from_secs(2),
        connect_timeout: Duration::from_secs(1),
        retry_base: Duration::from_millis(100),
        retry_max: Duration::from_millis(800),
        max_age: Duration::from_secs(60),
        poll: Duration::from_millis(50),
        ..RunnerConfig::default()
    }
}

/// The worker, stopped when the handle is dropped.
struct Worker {
    stop: CancellationToken,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Worker {
    fn start(app: &TestApp, config: RunnerConfig) -> Self {
        let stop = CancellationToken::new();
        let handle = webhooks::start(app.service.clone(), config, stop.clone());
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops it as a shutting-down node does: what it started is finished first.
    async fn stop(mut self) {
        self.stop.cancel();
        self.handle.take().unwrap().await.unwrap();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Makes a webhook through the admin API: (id, secret).
async fn create(admin: &Browser<'_>, body: Value) -> (i64, String) {
    let (status, made) = admin
        .call(Method::POST, "/api/admin/webhooks", Some(body))
        .await;
    assert_eq!(status, 201, "{made}");
    (
        made["webhook"]["id"].as_i64().unwrap(),
        made["secret"].as_str().unwrap().to_string(),
    )
}

async fn log(admin: &Browser<'_>, webhook: i64) -> Vec<Value> {
    let (status, page) = admin
        .call(
            Method::GET,
            &format!("/api/admin/webhooks/{webhook}/deliveries"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    page["deliveries"].as_array().unwrap().clone()
}

/// Waits (10 s at most) until every delivery in the log is in a final state.
async fn settled(admin: &Browser<'_>, webhook: i64) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries = log(admin, webhook).await;
        let done = deliveries.iter().all(|d| {
            matches!(
                d["state"].as_str(),
                Some("delivered" | "failed" | "unknown")
            )
        });
        if done {
            return deliveries;
        }
        assert!(Instant::now() < deadline, "still going: {deliveries:#?}");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

#[tokio::test]
async fn a_receiver_gets_signed_events_in_order_per_conversation() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let receiver = Receiver::start().await;
    // Slow answers, so that several deliveries are out at once.
    *receiver.shared.delay.lock().unwrap() = Duration::from_millis(30);
    let (webhook, secret) = create(&admin, json!({ "url": receiver.url })).await;
    let _worker = Worker::start(&app, quick());

    let ada = agent(&app, "Ada").await;
    let (first, first_visitor) = app
        .conversation_as(json!({"visitor_name": "Vera", "visitor_email": "vera@example.com"}))
        .await;
    let (second, second_visitor) = app.conversation().await;
    for n in 0..3 {
        for (id, visitor) in [(first, &first_visitor), (second, &second_visitor)] {
            let (status, body) = app
                .send(id, visitor, json!({"message": format!("question {n}")}))
                .await;
            assert_eq!(status, 201, "{body}");
        }
    }
    // An agent's reply takes the first conversation (status and assignee), then closes it; the
    // visitor rates it.
    let path = format!("/api/agent/conversations/{first}/messages");
    let (status, body) = post(&app, &path, &ada, json!({"message": "Ada here"})).await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/api/agent/conversations/{first}/status");
    let (status, body) = post(&app, &path, &ada, json!({"status": "closed"})).await;
    assert_eq!(status, 200, "{body}");
    let response = app
        .post(&format!("/api/chatbot/conversation/{first}/rating"))
        .header("X-Visitor-Token", &first_visitor)
        .json(&json!({"score": 5, "comment": "Quick"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    let got = receiver.wait_for(14).await;
    for request in &got {
        assert!(request.signed_by(&secret), "signed: {:?}", request.headers);
        assert!(!request.signed_by("whsec_another"));
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("x-parley-event"), request.event());
        let body = request.json();
        assert_eq!(
            body.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["created_at", "data", "event"]
        );
    }
    let of = |id: i64| -> Vec<Value> {
        got.iter()
            .filter(|r| r.conversation() == id)
            .map(Received::json)
            .collect()
    };
    let events = |bodies: &[Value]| -> Vec<String> {
        bodies
            .iter()
            .map(|b| b["event"].as_str().unwrap().to_string())
            .collect()
    };
    let firsts = of(first);
    assert_eq!(
        events(&firsts),
        [
            "conversation.created",
            "message.created",
            "message.created",
            "message.created",
            "conversation.status_changed",
            "conversation.assigned",
            "message.created",
            "conversation.status_changed",
            "message.created",
            "conversation.rated",
        ]
    );
    let texts: Vec<&str> = firsts
        .iter()
        .filter(|b| b["event"] == "message.created")
        .map(|b| b["data"]["message"]["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "question 0",
            "question 1",
            "question 2",
            "Ada here",
            "The conversation was closed."
        ]
    );
    assert_eq!(
        firsts[0]["data"]["conversation"]["visitor_email"],
        "vera@example.com"
    );
    assert_eq!(
        firsts[0]["data"]["conversation"]["widget_id"],
        app.widget_id
    );
    assert!(firsts[0]["data"]["conversation"]
        .get("last_message")
        .is_none());
    assert_eq!(firsts[1]["data"]["message"]["sender_type"], "visitor");
    assert_eq!(firsts[6]["data"]["message"]["sender_type"], "agent");
    assert_eq!(
        (
            &firsts[4]["data"]["status"],
            &firsts[4]["data"]["previous_status"]
        ),
        (&json!("human"), &json!("bot"))
    );
    assert_eq!(firsts[5]["data"]["assigned_agent_id"], ada.id);
    assert_eq!(firsts[5]["data"]["previous_agent_id"], Value::Null);
    assert_eq!(
        firsts[5]["data"]["agent"],
        json!({"id": ada.id, "name": "Ada"})
    );
    assert_eq!(firsts[7]["data"]["status"], "closed");
    assert_eq!(firsts[8]["data"]["message"]["sender_type"], "system");
    assert_eq!(firsts[9]["data"]["rating"]["score"], 5);
    assert_eq!(firsts[9]["data"]["rating"]["comment"], "Quick");
    let seconds = of(second);
    assert_eq!(
        events(&seconds),
        [
            "conversation.created",
            "message.created",
            "message.created",
            "message.created"
        ]
    );
    let ids: Vec<&str> = got.iter().map(|r| r.header("x-parley-delivery")).collect();
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "each delivery once");

    let deliveries = settled(&admin, webhook).await;
    assert_eq!(deliveries.len(), 14);
    assert!(deliveries
        .iter()
        .all(|d| d["state"] == "delivered" && d["response_code"] == 200 && d["attempts"] == 1));
}

#[tokio::test]
async fn a_failure_is_retried_and_the_next_event_waits_for_it() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let receiver = Receiver::start().await;
    let (webhook, secret) = create(
        &admin,
        json!({ "url": receiver.url, "events": ["message.created"] }),
    )
    .await;
    let (id, visitor) = app.conversation().await;
    receiver.answer(&[500]);
    app.send(id, &visitor, json!({"message": "one"})).await;
    app.send(id, &visitor, json!({"message": "two"})).await;
    let _worker = Worker::start(&app, quick());

    let got = receiver.wait_for(3).await;
    let texts: Vec<String> = got
        .iter()
        .map(|r| {
            r.json()["data"]["message"]["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        texts,
        ["one", "one", "two"],
        "the second waits for the first"
    );
    assert_eq!(
        got[0].header("x-parley-delivery"),
        got[1].header("x-parley-delivery"),
        "the same delivery, tried again"
    );
    assert!(got.iter().all(|r| r.signed_by(&secret)));
    assert!(
        got[1].at - got[0].at >= Duration::from_millis(90),
        "after the back-off"
    );

    let deliveries = settled(&admin, webhook).await;
    assert_eq!(deliveries.len(), 2);
    let first = &deliveries[1];
    assert_eq!(first["state"], "delivered");
    assert_eq!(first["attempts"], 2);
    assert_eq!(first["response_code"], 200);
    assert!(first["delivered_at"].is_string());
    // Nothing more arrives: delivered is final.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 3);
}

#[tokio::test]
async fn a_2xx_is_never_sent_again_even_after_a_restart() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let receiver = Receiver::start().await;
    let (webhook, _) = create(
        &admin,
        json!({ "url": receiver.url, "events": ["message.created"] }),
    )
    .await;
    let (id, visitor) = app.conversation().await;
    app.send(id, &visitor, json!({"message": "once"})).await;
    let worker = Worker::start(&app, quick());
    receiver.wait_for(1).await;
    settled(&admin, webhook).await;
    worker.stop().await;

    // A worker that died while sending leaves its delivery claimed: the receiver may have had
    // it, so no worker sends it again; the conversation's next event still goes.
    app.send(id, &visitor, json!({"message": "held by a dead worker"}))
        .await;
    let held = app
        .store
        .claim_webhook_delivery(Duration::ZERO)
        .await
        .unwrap()
        .expect("the dead worker's claim");
    app.send(id, &visitor, json!({"message": "after"})).await;

    let _restarted = Worker::start(&app, quick());
    let got = receiver.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let texts: Vec<String> = receiver
        .received()
        .iter()
        .map(|r| {
            r.json()["data"]["message"]["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(texts, ["once", "after"], "{got:?}");
    let deliveries = settled(&admin, webhook).await;
    let states: Vec<&str> = deliveries
        .iter()
        .map(|d| d["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["delivered", "unknown", "delivered"]);
    assert_eq!(deliveries[1]["id"], held.id);
    assert!(deliveries[1]["error"]
        .as_str()
        .unwrap()
        .contains("may have had it"));
}

#[tokio::test]
async fn a_dead_receiver_is_retried_with_back_off_and_ends_failed() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let failing = Receiver::start().await;
    failing.answer(&[503; 50]);
    let (failing_hook, _) = create(
        &admin,
        json!({ "url": failing.url, "events": ["conversation.created", "message.created"] }),
    )
    .await;
    // Nobody listens there.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nobody = format!("http://{}/hooks", closed.local_addr().unwrap());
    drop(closed);
    let (dead_hook, _) = create(
        &admin,
        json!({ "url": nobody, "events": ["conversation.created"] }),
    )
    .await;

    let (id, visitor) = app.conversation().await;
    app.send(id, &visitor, json!({"message": "waits"})).await;
    // Give up after 1.6 s: tries at about 0, 0.1, 0.3, 0.7 and 1.5 s, the next (3.1 s) is past it.
    let _worker = Worker::start(
        &app,
        RunnerConfig {
            max_age: Duration::from_millis(1600),
            ..quick()
        },
    );

    let dead = settled(&admin, dead_hook).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0]["state"], "failed");
    assert_eq!(dead[0]["response_code"], Value::Null);
    assert!(
        dead[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("could not connect"),
        "{}",
        dead[0]["error"]
    );
    assert!(dead[0]["attempts"].as_i64().unwrap() >= 3, "{dead:?}");

    let deliveries = settled(&admin, failing_hook).await;
    let created = &deliveries[1];
    assert_eq!(created["state"], "failed");
    assert_eq!(created["response_code"], 503);
    assert_eq!(created["error"], "the receiver answered 503");
    let attempts = created["attempts"].as_i64().unwrap() as usize;
    assert!((3..=6).contains(&attempts), "{attempts} attempts");
    // The message waited for the conversation's first event, then had its own tries.
    let got = failing.received();
    let firsts: Vec<&Received> = got
        .iter()
        .filter(|r| r.event() == "conversation.created")
        .collect();
    assert_eq!(firsts.len(), attempts);
    let gaps: Vec<Duration> = firsts.windows(2).map(|w| w[1].at - w[0].at).collect();
    for pair in gaps.windows(2) {
        assert!(
            pair[1] > pair[0] + Duration::from_millis(50),
            "growing: {gaps:?}"
        );
    }
    let first_message = got
        .iter()
        .position(|r| r.event() == "message.created")
        .expect("the message was tried");
    assert!(got[..first_message]
        .iter()
        .all(|r| r.event() == "conversation.created"));
    assert_eq!(deliveries[0]["event"], "message.created");
}

#[tokio::test]
async fn send_test_pings_once_and_shows_the_answer_in_the_log() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let receiver = Receiver::start().await;
    let (webhook, secret) = create(
        &admin,
        json!({ "url": receiver.url, "events": ["conversation.rated"] }),
    )
    .await;
    let _worker = Worker::start(&app, quick());

    let path = format!("/api/admin/webhooks/{webhook}/test");
    let (status, sent) = admin.call(Method::POST, &path, None).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["delivery"]["event"], "ping");
    let got = receiver.wait_for(1).await;
    assert!(got[0].signed_by(&secret));
    assert_eq!(got[0].json()["event"], "ping");
    assert_eq!(got[0].json()["data"]["webhook_id"], webhook);
    let deliveries = settled(&admin, webhook).await;
    assert_eq!(deliveries[0]["state"], "delivered");
    assert_eq!(deliveries[0]["response_code"], 200);
    assert!(deliveries[0]["last_attempt_at"].is_string());
    assert!(deliveries[0]["duration_ms"].is_i64());

    // A failing test is tried once.
    receiver.answer(&[404]);
    let (status, _) = admin.call(Method::POST, &path, None).await;
    assert_eq!(status, 202);
    let deliveries = settled(&admin, webhook).await;
    assert_eq!(
        (
            &deliveries[0]["state"],
            &deliveries[0]["attempts"],
            &deliveries[0]["response_code"]
        ),
        (&json!("failed"), &json!(1), &json!(404))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2);

    // Disabled: no test; enabled again, tests go.
    let hook = format!("/api/admin/webhooks/{webhook}");
    let (status, off) = admin
        .call(Method::PATCH, &hook, Some(json!({"enabled": false})))
        .await;
    assert_eq!((status, &off["webhook"]["enabled"]), (200, &json!(false)));
    let (status, _) = admin.call(Method::POST, &path, None).await;
    assert_eq!(status, 409);
    let (status, _) = admin
        .call(Method::PATCH, &hook, Some(json!({"enabled": true})))
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin.call(Method::POST, &path, None).await;
    assert_eq!(status, 202);
    receiver.wait_for(3).await;
}

#[tokio::test]
async fn admins_list_create_page_and_delete_webhooks() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (status, made) = admin
        .call(
            Method::POST,
            "/api/admin/webhooks",
            Some(json!({
                "url": " https://crm.example/in ",
                "events": ["conversation.rated", "message.created"],
                "widget_id": app.widget_id,
            })),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let secret = made["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let id = made["webhook"]["id"].as_i64().unwrap();
    assert_eq!(made["webhook"]["url"], "https://crm.example/in");
    assert_eq!(
        made["webhook"]["events"],
        json!(["message.created", "conversation.rated"])
    );
    assert_eq!(made["webhook"]["widget_id"], app.widget_id);
    assert_eq!(made["webhook"]["enabled"], true);

    let (status, listed) = admin.call(Method::GET, "/api/admin/webhooks", None).await;
    assert_eq!(status, 200);
    assert_eq!(listed["webhooks"][0]["id"], id);
    assert!(
        !listed.to_string().contains(secret),
        "the secret is shown once"
    );
    assert_eq!(listed["events"].as_array().unwrap().len(), 5);

    for (body, expected) in [
        (json!({"url": "ftp://crm.example"}), 422),
        (json!({"url": "https://u:p@crm.example"}), 422),
        (json!({"url": "not a url"}), 422),
        (
            json!({"url": "https://crm.example", "events": ["message.deleted"]}),
            422,
        ),
        (
            json!({"url": "https://crm.example", "widget_id": 999_999}),
            404,
        ),
        (json!({"url": "https://crm.example", "secret": "mine"}), 422),
        (json!({}), 422),
    ] {
        let (status, answer) = admin
            .call(Method::POST, "/api/admin/webhooks", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body}: {answer}");
    }

    // The log pages newest first.
    for _ in 0..3 {
        app.store.enqueue_webhook_ping(id).await.unwrap().unwrap();
    }
    let path = format!("/api/admin/webhooks/{id}/deliveries?limit=2");
    let (status, page) = admin.call(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["has_more"], true);
    let last = page["deliveries"][1]["id"].as_i64().unwrap();
    let (_, rest) = admin
        .call(
            Method::GET,
            &format!("/api/admin/webhooks/{id}/deliveries?before={last}"),
            None,
        )
        .await;
    assert_eq!(rest["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(rest["has_more"], false);
    for query in ["limit=0", "limit=201", "befor=1"] {
        let (status, _) = admin
            .call(
                Method::GET,
                &format!("/api/admin/webhooks/{id}/deliveries?{query}"),
                None,
            )
            .await;
        assert!(status == 422 || status == 400, "{query}: {status}");
    }

    let hook = format!("/api/admin/webhooks/{id}");
    let (status, _) = admin.call(Method::DELETE, &hook, None).await;
    assert_eq!(status, 200);
    for (method, path) in [
        (Method::DELETE, hook.clone()),
        (Method::PATCH, hook.clone()),
        (Method::GET, format!("{hook}/deliveries")),
        (Method::POST, format!("{hook}/test")),
    ] {
        let (status, _) = admin
            .call(method.clone(), &path, Some(json!({"enabled": true})))
            .await;
        assert_eq!(status, 404, "{method} {path}");
    }

    // Audited, by the admin.
    let (_, audit) = admin.call(Method::GET, "/api/admin/audit", None).await;
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"webhook.create") && actions.contains(&"webhook.delete"),
        "{actions:?}"
    );
}

#[tokio::test]
async fn only_admins_manage_webhooks() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (_, agent_browser) = member(&app, &admin, "agent@example.com", "agent").await;
    let tokened = agent(&app, "Tokened").await;
    let (id, _) = create(&admin, json!({ "url": "https://crm.example/in" })).await;
    let body = json!({ "url": "https://evil.example/in", "enabled": false });
    let endpoints = [
        (Method::GET, "/api/admin/webhooks".to_string()),
        (Method::POST, "/api/admin/webhooks".to_string()),
        (Method::PATCH, format!("/api/admin/webhooks/{id}")),
        (Method::DELETE, format!("/api/admin/webhooks/{id}")),
        (Method::GET, format!("/api/admin/webhooks/{id}/deliveries")),
        (Method::POST, format!("/api/admin/webhooks/{id}/test")),
    ];
    let cookie = admin_cookie(&app).await;
    for (method, path) in &endpoints {
        let (status, answer) = agent_browser
            .call(method.clone(), path, Some(body.clone()))
            .await;
        assert_eq!(status, 403, "an agent on {method} {path}: {answer}");
        let status = app
            .http
            .request(method.clone(), app.url(path))
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "nobody on {method} {path}");
        let status = app
            .http
            .request(method.clone(), app.url(path))
            .bearer_auth(&tokened.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "an agent's token on {method} {path}");
        if *method != Method::GET {
            // The admin's cookie without the CSRF token.
            let status = app
                .http
                .request(method.clone(), app.url(path))
                .header(header::COOKIE, &cookie)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 403, "no CSRF token on {method} {path}");
        }
    }
    // Nothing changed.
    let webhooks = app.store.webhooks().await.unwrap();
    assert_eq!(webhooks.len(), 1);
    assert_eq!(webhooks[0].url, "https://crm.example/in");
    assert!(webhooks[0].disabled_at.is_none());
    assert!(app
        .store
        .webhook_deliveries(id, None, 10)
        .await
        .unwrap()
        .is_empty());
}

/// A fresh session cookie of the owner (no CSRF token with it).
async fn admin_cookie(app: &TestApp) -> String {
    let login = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "owner@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string()
}
