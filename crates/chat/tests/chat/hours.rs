//! Business hours and the widget's mode through the API: `GET /api/chatbot/config` says live,
//! bot or away and when the team is back (hours written relative to now, so no test depends on
//! the clock); away, the bot's handoff asks for an email, the email left marks the conversation
//! as waiting for it, and the agent's reply reaches the SMTP server at once; who is refused.

use std::time::Duration;

use chrono::{Datelike, Days, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{json, Value};

use crate::{
    admin::owner,
    agents::{agent, call, get, post, Agent},
    bot::{next_reply, start_runner},
    identity::token_for,
    mail::{mail_app, plain},
    smtp_sink::SmtpSink,
    support::*,
};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_name(date: NaiveDate) -> &'static str {
    DAYS[date.weekday().num_days_from_monday() as usize]
}

/// Open all day today (UTC) only: open now, until midnight.
fn open_today() -> Value {
    let today = Utc::now().date_naive();
    json!({ "time_zone": "UTC", "weekly": { day_name(today): ["00:00-24:00"] } })
}

/// Closed now; open 10:00-11:00 in `time_zone` on the weekday three days ahead (UTC's date),
/// and that date.
fn open_in_three_days(time_zone: &str) -> (Value, NaiveDate) {
    let date = Utc::now().date_naive() + Days::new(3);
    (
        json!({ "time_zone": time_zone, "weekly": { day_name(date): ["10:00-11:00"] } }),
        date,
    )
}

async fn set_settings(app: &TestApp, settings: Value) {
    parley_chat::widgets::check_settings(&settings).expect("valid settings");
    assert!(app
        .store
        .update_widget_settings(app.widget_id, settings)
        .await
        .unwrap());
}

async fn config(app: &TestApp) -> Value {
    let response = app.get("/api/chatbot/config").send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn go_online(app: &TestApp, agent: &Agent) {
    let (status, body) = call(
        app,
        Method::PUT,
        "/api/agent/availability",
        &agent.token,
        Some(json!({ "availability": "online" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

async fn leave_email(app: &TestApp, id: i64, visitor: Option<&str>, email: &str) -> (u16, Value) {
    let mut request = app
        .post(&format!("/api/chatbot/conversation/{id}/email"))
        .json(&json!({ "email": email }));
    if let Some(visitor) = visitor {
        request = request.header("X-Visitor-Token", visitor);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The widget's bot, which hands over when asked for a human.
fn knowledge() -> Value {
    json!({ "kind": "knowledge", "knowledge": [
        {"question": "Do you ship abroad?", "answer": "Yes, we ship worldwide."}
    ] })
}

/// Asks for a human and waits for the handoff: returns the bot's handoff text.
async fn ask_for_a_human(
    app: &TestApp,
    id: i64,
    visitor: &str,
    subscriber: &mut Subscriber,
) -> String {
    let (status, _) = app
        .send(
            id,
            visitor,
            json!({"message": "I want to talk to a human please"}),
        )
        .await;
    assert_eq!(status, 201);
    let reply = next_reply(subscriber).await;
    assert_eq!(reply["sender_type"], "system", "{reply}");
    loop {
        let update = subscriber.event("ConversationUpdated").await;
        if update["status"] == "human" {
            break;
        }
    }
    reply["message"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_config_says_the_mode_and_when_the_team_is_back() {
    let app = TestApp::start().await;
    // No hours: always open. Nobody online: the bot answers.
    let body = config(&app).await;
    assert_eq!(body["agents_online"], false);
    assert_eq!(
        body["availability"],
        json!({"mode": "bot", "next_open_at": null, "closes_at": null, "asks_email": false})
    );
    let ada = agent(&app, "Ada").await;
    go_online(&app, &ada).await;
    let body = config(&app).await;
    assert_eq!(body["agents_online"], true);
    assert_eq!(body["availability"]["mode"], "live");

    // Open today: live until midnight (UTC).
    set_settings(&app, json!({ "hours": open_today() })).await;
    let body = config(&app).await;
    let midnight = Utc::now().date_naive() + Days::new(1);
    assert_eq!(body["availability"]["mode"], "live");
    assert_eq!(
        body["availability"]["closes_at"],
        format!("{midnight}T00:00:00Z")
    );
    assert_eq!(body["widget"]["settings"]["hours"], open_today());

    // Closed now: away, whoever is online, and back on the next opening.
    let (hours, date) = open_in_three_days("UTC");
    set_settings(&app, json!({ "hours": hours })).await;
    let body = config(&app).await;
    assert_eq!(body["agents_online"], true, "kept as it is");
    assert_eq!(
        body["availability"],
        json!({"mode": "away", "next_open_at": format!("{date}T10:00:00Z"), "closes_at": null,
               "asks_email": false})
    );
    // The widget's time zone: 10:00 in Tokyo is 01:00 UTC.
    let (tokyo, date) = open_in_three_days("Asia/Tokyo");
    set_settings(&app, json!({ "hours": tokyo })).await;
    assert_eq!(
        config(&app).await["availability"]["next_open_at"],
        format!("{date}T01:00:00Z")
    );
    // That day a holiday: a week later.
    let (mut hours, date) = open_in_three_days("UTC");
    hours["holidays"] = json!([date.to_string()]);
    set_settings(&app, json!({ "hours": hours })).await;
    let later = date + Days::new(7);
    assert_eq!(
        config(&app).await["availability"]["next_open_at"],
        format!("{later}T10:00:00Z")
    );
    // No weekly hours at all: away, no opening ahead.
    set_settings(
        &app,
        json!({ "hours": { "time_zone": "Europe/Paris", "weekly": {} } }),
    )
    .await;
    assert_eq!(
        config(&app).await["availability"],
        json!({"mode": "away", "next_open_at": null, "closes_at": null, "asks_email": false})
    );

    // A polling widget learns the mode with its conversation.
    let (id, visitor) = app.conversation().await;
    let page: Value = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["availability"]["mode"], "away");
    assert_eq!(page["conversation"]["waiting_for_email"], false);
}

#[tokio::test]
async fn invalid_hours_are_refused_with_a_clear_message() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let path = format!("/api/admin/widgets/{}", app.widget_id);
    for (hours, says) in [
        (
            json!({"time_zone": "Mars/Base", "weekly": {}}),
            "not an IANA time zone",
        ),
        (
            json!({"time_zone": "UTC", "weekly": {"mon": ["10:00-10:00"]}}),
            "is empty",
        ),
        (
            json!({"time_zone": "UTC", "weekly": {"fri": ["22:00-02:00"]}}),
            "cannot run past midnight",
        ),
        (
            json!({"time_zone": "UTC", "weekly": {"mon": ["09:00-12:00", "11:00-14:00"]}}),
            "overlap",
        ),
        (
            json!({"time_zone": "UTC", "holidays": ["25/12/2026"]}),
            "is not a date",
        ),
    ] {
        let (status, body) = admin
            .call(
                Method::PATCH,
                &path,
                Some(json!({ "settings": { "hours": hours } })),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("settings.hours") && message.contains(says),
            "{message}"
        );
    }
    let (status, body) = admin
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "settings": { "hours": open_today() } })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["widget"]["settings"]["hours"], open_today());
}

#[tokio::test]
async fn away_the_email_left_gets_the_agents_reply_at_once() {
    let dir = temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    // An hour's wait for ordinary offline replies: this one must not wait for it.
    let mut app = mail_app(&plain(sink.port), Duration::from_secs(3600), |_| {}).await;
    app.use_bot(knowledge()).await;
    let (hours, date) = open_in_three_days("UTC");
    set_settings(&app, json!({ "bot": knowledge(), "hours": hours })).await;
    let _runner = start_runner(&app);
    let away = config(&app).await["availability"].clone();
    assert_eq!(
        away,
        json!({"mode": "away", "next_open_at": format!("{date}T10:00:00Z"), "closes_at": null,
               "asks_email": true})
    );

    let (id, visitor) = app
        .conversation_as(json!({"visitor_name": "Vera", "locale": "en"}))
        .await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    // Before the handoff the bot answers: no email is taken yet.
    let (status, body) = leave_email(&app, id, Some(&visitor), "vera@example.com").await;
    assert_eq!(status, 409, "{body}");
    let said = ask_for_a_human(&app, id, &visitor, &mut subscriber).await;
    assert_eq!(
        said,
        "Our team is away right now. Leave your email and we will reply to you there."
    );

    // Refused: no visitor token, another visitor's, not an email.
    let (status, _) = leave_email(&app, id, None, "vera@example.com").await;
    assert_eq!(status, 403);
    let (_, other) = app.conversation().await;
    let (status, _) = leave_email(&app, id, Some(&other), "vera@example.com").await;
    assert_eq!(status, 403);
    let (status, body) = leave_email(&app, id, Some(&visitor), "vera at example").await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("email"));

    let (status, body) = leave_email(&app, id, Some(&visitor), " vera@example.com ").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["waiting_for_email"], true);
    assert_eq!(body["conversation"]["visitor_email"], "vera@example.com");
    let update = subscriber.event("ConversationUpdated").await;
    assert_eq!(update["waiting_for_email"], true, "{update}");
    assert_eq!(update["visitor_email"], "vera@example.com");

    // The inbox shows it as waiting for email, and finds it by that filter.
    let ada = agent(&app, "Ada").await;
    let (status, listed) = get(
        &app,
        "/api/agent/conversations?waiting_for_email=true",
        &ada,
    )
    .await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed["conversations"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    assert!(listed[0]["waiting_for_email_at"].is_string());

    // The agent's reply (the visitor still connected) is mailed at once, not in an hour.
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{id}/messages"),
        &ada,
        json!({"message": "Hi Vera, your parcel left today."}),
    )
    .await;
    assert_eq!(status, 201);
    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail["rcpt_tos"], json!(["vera@example.com"]));
    assert!(
        mail["text"]
            .as_str()
            .unwrap()
            .contains("Hi Vera, your parcel left today."),
        "{mail}"
    );
    // The wait is over: the next reply follows the usual rule (the visitor away an hour).
    let conversation = app.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.waiting_for_email_at, None);
    let (_, listed) = get(
        &app,
        "/api/agent/conversations?waiting_for_email=true",
        &ada,
    )
    .await;
    assert_eq!(listed["conversations"], json!([]));

    // Closed, it takes no email.
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{id}/status"),
        &ada,
        json!({"status": "closed"}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = leave_email(&app, id, Some(&visitor), "vera@example.com").await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn a_known_email_is_not_asked_for_and_a_signed_one_not_replaced() {
    let dir = temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    let mut app = mail_app(&plain(sink.port), Duration::from_secs(3600), |_| {}).await;
    app.use_bot(knowledge()).await;
    let (hours, _) = open_in_three_days("UTC");
    set_settings(&app, json!({ "bot": knowledge(), "hours": hours })).await;
    let _runner = start_runner(&app);

    // A signed-in user whose token names their email: the handoff says the reply comes by
    // email and the conversation waits for it at once.
    let token = token_for("customer-9", json!({"email": "signed@example.com"}));
    let response = app
        .post("/api/chatbot/conversation")
        .json(&json!({ "user_token": token, "locale": "fr" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let started: Value = response.json().await.unwrap();
    let id = started["conversation"]["id"].as_i64().unwrap();
    let visitor = started["visitor_token"].as_str().unwrap().to_string();
    let mut subscriber = app.subscriber(id, &visitor).await;
    let said = ask_for_a_human(&app, id, &visitor, &mut subscriber).await;
    assert_eq!(
        said,
        "Notre équipe est absente pour le moment. Nous vous répondrons par e-mail."
    );
    let update = subscriber.event("ConversationUpdated").await;
    assert_eq!(update["waiting_for_email"], true, "{update}");
    // Its email is the site's to say: another is refused.
    let (status, body) = leave_email(&app, id, Some(&visitor), "typed@example.com").await;
    assert_eq!(status, 409, "{body}");
    let stored = app.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(stored.visitor_email.as_deref(), Some("signed@example.com"));
    assert!(stored.waiting_for_email_at.is_some());

    // Past a few a minute per conversation: 429.
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    ask_for_a_human(&app, id, &visitor, &mut subscriber).await;
    let mut statuses = Vec::new();
    for n in 0..6 {
        let (status, _) = leave_email(&app, id, Some(&visitor), &format!("v{n}@example.com")).await;
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    let _ = sink;
}

#[tokio::test]
async fn without_email_the_away_handoff_only_says_the_team_is_away() {
    let mut app = TestApp::start().await;
    app.use_bot(knowledge()).await;
    let (hours, _) = open_in_three_days("UTC");
    set_settings(&app, json!({ "bot": knowledge(), "hours": hours })).await;
    let _runner = start_runner(&app);
    assert_eq!(config(&app).await["availability"]["asks_email"], false);
    let (id, visitor) = app.conversation().await;
    let mut subscriber = app.subscriber(id, &visitor).await;
    let said = ask_for_a_human(&app, id, &visitor, &mut subscriber).await;
    assert_eq!(
        said,
        "Our team is away right now. We will reply as soon as we are back."
    );
    // The server sends no email: none is taken.
    let (status, body) = leave_email(&app, id, Some(&visitor), "vera@example.com").await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no email"));
    // Another widget's token does not find it.
    app.use_bot(knowledge()).await;
    let (status, _) = leave_email(&app, id, Some(&visitor), "vera@example.com").await;
    assert_eq!(status, 404);
}
