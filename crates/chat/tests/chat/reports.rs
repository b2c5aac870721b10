//! Reports: `GET /api/agent/reports` over seeded conversations of known times gives their
//! figures as JSON and CSV, in the asked time zone; bad dates, ranges and zones are 422; nobody
//! signed in gets 401, an agent only their own figures (403 for another's, 404 for a widget
//! they may not see), an admin everything.

use parley_chat::tokens;
use parley_store::{
    ConversationStatus, NewAgent, NewConversation, NewMessage, NewWidget, Role, SenderType,
};
use serde_json::{json, Value};

use crate::support::TestApp;

struct Person {
    id: i64,
    token: String,
}

async fn person(app: &TestApp, name: &str, role: Role) -> Person {
    let token = tokens::new_agent_token();
    let created = app
        .store
        .create_agent(NewAgent {
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
            token_hash: tokens::hash_token(&token),
            role,
        })
        .await
        .unwrap();
    Person {
        id: created.id,
        token,
    }
}

/// `GET path` as `who` (nobody when `None`), with `accept`: (status, headers, body).
async fn fetch(
    app: &TestApp,
    path: &str,
    who: Option<&Person>,
    accept: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.http.get(app.url(path)).header("Accept", accept);
    if let Some(who) = who {
        request = request.bearer_auth(&who.token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn report(app: &TestApp, query: &str, who: &Person) -> (u16, Value) {
    let path = format!("/api/agent/reports{query}");
    let (status, _, body) = fetch(app, &path, Some(who), "application/json").await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

struct Seeded {
    admin: Person,
    ada: Person,
    bob: Person,
    shop: i64,
    blog: i64,
}

/// The SQL literal of a time on the first days of May 2024 (UTC), "DD HH:MM:SS".
fn lit(when: &str) -> String {
    let (day, time) = when.split_once(' ').unwrap();
    format!("'2024-05-{day}T{time}+00:00'")
}

/// A conversation with these times and messages (sender, time); the statements that give them
/// their times, to run after every other change.
async fn conversation(
    app: &TestApp,
    widget_id: i64,
    created: &str,
    updated: &str,
    handed_off: Option<&str>,
    closed: Option<&str>,
    messages: Vec<(SenderType, &str)>,
) -> (i64, Vec<String>) {
    let or_null = |at: Option<&str>| at.map(lit).unwrap_or_else(|| "NULL".into());
    let id = app
        .store
        .create_conversation(NewConversation {
            widget_id,
            visitor_name: Some("Vera".into()),
            visitor_token_hash: tokens::hash_token(&tokens::new_widget_token()),
            ..NewConversation::default()
        })
        .await
        .unwrap()
        .id;
    let mut statements = vec![format!(
        "UPDATE conversations SET created_at = {}, updated_at = {}, handed_off_at = {}, \
         closed_at = {} WHERE id = {id}",
        lit(created),
        lit(updated),
        or_null(handed_off),
        or_null(closed),
    )];
    for (sender_type, at) in messages {
        let inserted = app
            .store
            .insert_message(NewMessage {
                conversation_id: id,
                sender_type,
                sender_name: None,
                message: "Hello".into(),
                attachment: None,
                is_voice: false,
                client_id: None,
                bot_job: false,
            })
            .await
            .unwrap();
        let message = inserted.message().id;
        statements.push(format!(
            "UPDATE messages SET created_at = {} WHERE id = {message}",
            lit(at)
        ));
    }
    (id, statements)
}

/// Four conversations (UTC):
///
/// | conv | widget   | created  | what happened                                  | rating |
/// |------|----------|----------|------------------------------------------------|--------|
/// | s1   | Test     | 01 08:00 | the bot answered; closed 08:10 (600 s)         | 5      |
/// | s2   | Test     | 01 09:00 | handoff 09:01, Ada 09:02 (60 s), closed 09:31  | 3      |
/// | b1   | Blog, EU | 02 22:30 | handoff at once, Bob 22:33 (180 s), open       |        |
/// | b2   | Blog, EU | 02 23:15 | the bot answered; idle since                   |        |
async fn seed(app: &TestApp) -> Seeded {
    use ConversationStatus::{Closed, Human};
    use SenderType::{Agent, Bot, System, Visitor};
    let store = &app.store;
    let admin = person(app, "Olive", Role::Admin).await;
    let ada = person(app, "Ada", Role::Agent).await;
    let bob = person(app, "Bob", Role::Agent).await;
    let shop = app.widget_id;
    let blog = store
        .create_widget(NewWidget {
            name: "Blog, EU".into(),
            token_hash: tokens::hash_token(&tokens::new_widget_token()),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .unwrap()
        .id;
    store.set_agent_widgets(bob.id, &[blog]).await.unwrap();

    let mut all = Vec::new();
    let (s1, sql) = conversation(
        app,
        shop,
        "01 08:00:00",
        "01 08:10:00",
        None,
        Some("01 08:10:00"),
        vec![(Visitor, "01 08:00:05"), (Bot, "01 08:00:07")],
    )
    .await;
    all.extend(sql);
    let (s2, sql) = conversation(
        app,
        shop,
        "01 09:00:00",
        "01 09:31:00",
        Some("01 09:01:00"),
        Some("01 09:31:00"),
        vec![
            (Visitor, "01 09:00:05"),
            (System, "01 09:01:00"),
            (Agent, "01 09:02:00"),
        ],
    )
    .await;
    all.extend(sql);
    let (b1, sql) = conversation(
        app,
        blog,
        "02 22:30:00",
        "02 22:33:00",
        Some("02 22:30:00"),
        None,
        vec![(Visitor, "02 22:30:00"), (Agent, "02 22:33:00")],
    )
    .await;
    all.extend(sql);
    let (_b2, sql) = conversation(
        app,
        blog,
        "02 23:15:00",
        "02 23:15:09",
        None,
        None,
        vec![(Visitor, "02 23:15:05"), (Bot, "02 23:15:09")],
    )
    .await;
    all.extend(sql);
    store.update_conversation(s1, Closed, None).await.unwrap();
    store
        .update_conversation(s2, Closed, Some(ada.id))
        .await
        .unwrap();
    store
        .update_conversation(b1, Human, Some(bob.id))
        .await
        .unwrap();
    store.rate(s1, 5, None).await.unwrap();
    store.rate(s2, 3, None).await.unwrap();
    // The times last, over what the calls above stamped.
    app.sql(&all).await;
    Seeded {
        admin,
        ada,
        bob,
        shop,
        blog,
    }
}

const MAY: &str = "?from=2024-05-01&to=2024-05-02";

#[tokio::test]
async fn figures_of_seeded_conversations() {
    let app = TestApp::start().await;
    let Seeded {
        admin,
        ada,
        bob,
        shop,
        blog,
    } = seed(&app).await;

    let (status, body) = report(&app, MAY, &admin).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["range"],
        json!({
            "from": "2024-05-01T00:00:00Z", "to": "2024-05-03T00:00:00Z", "tz": "UTC",
            "first_day": "2024-05-01", "last_day": "2024-05-02",
        })
    );
    assert_eq!(
        body["filters"],
        json!({"widget_id": null, "agent_id": null})
    );
    assert_eq!(body["choices"]["widgets"].as_array().unwrap().len(), 2);
    assert_eq!(
        body["choices"]["agents"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["Olive", "Ada", "Bob"]
    );
    assert_eq!(
        body["totals"],
        json!({
            "conversations": 4,
            "handoffs": 2, "handoff_rate": 0.5,
            "resolved_by_bot": 2, "bot_resolution_rate": 0.5,
            "closed": 2,
            "first_responses": 2, "median_first_response_seconds": 120.0,
            "median_resolution_seconds": 1230.0,
            "ratings": 2, "csat_average": 4.0,
        })
    );
    let widgets = body["by_widget"].as_array().unwrap();
    assert_eq!(widgets.len(), 2);
    assert_eq!(widgets[0]["widget_id"], shop);
    assert_eq!(widgets[0]["name"], "Test");
    assert_eq!(widgets[0]["conversations"], 2);
    assert_eq!(widgets[0]["median_resolution_seconds"], 1230.0);
    assert_eq!(widgets[1]["widget_id"], blog);
    assert_eq!(widgets[1]["bot_resolution_rate"], 0.5);
    assert_eq!(widgets[1]["csat_average"], Value::Null, "no ratings");
    let agents = body["by_agent"].as_array().unwrap();
    assert_eq!(
        agents
            .iter()
            .map(|a| (a["agent_id"].as_i64().unwrap(), a["name"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(ada.id, "Ada"), (bob.id, "Bob")]
    );
    assert_eq!(agents[0]["median_first_response_seconds"], 60.0);
    assert_eq!(agents[1]["median_first_response_seconds"], 180.0);
    let hours: Vec<i64> = body["busiest_hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["conversations"].as_i64().unwrap())
        .collect();
    assert_eq!(hours.len(), 24);
    assert_eq!((hours[8], hours[9], hours[22], hours[23]), (1, 1, 1, 1));
    assert_eq!(hours.iter().sum::<i64>(), 4);
    assert_eq!(
        body["by_day"],
        json!([
            {"date": "2024-05-01", "conversations": 2, "handoffs": 1},
            {"date": "2024-05-02", "conversations": 2, "handoffs": 1},
        ])
    );

    // The same days in Paris (two hours ahead) end before Blog's late conversations, and the
    // hours are Paris's.
    let (_, paris) = report(&app, &format!("{MAY}&tz=Europe/Paris"), &admin).await;
    assert_eq!(paris["range"]["from"], "2024-05-01T00:00:00+02:00");
    assert_eq!(paris["totals"]["conversations"], 2);
    assert_eq!(paris["busiest_hours"][10]["conversations"], 1);
    assert_eq!(paris["busiest_hours"][11]["conversations"], 1);
    // Instants are taken as given.
    let (_, evening) = report(
        &app,
        "?from=2024-05-02T22:00:00Z&to=2024-05-02T23:00:00Z",
        &admin,
    )
    .await;
    assert_eq!(evening["totals"]["conversations"], 1);

    // Admins narrow to a widget or an agent.
    let (_, one) = report(&app, &format!("{MAY}&widget_id={blog}"), &admin).await;
    assert_eq!(one["totals"]["conversations"], 2);
    assert_eq!(one["filters"]["widget_id"], blog);
    let (_, bobs) = report(&app, &format!("{MAY}&agent_id={}", bob.id), &admin).await;
    assert_eq!(bobs["totals"]["conversations"], 1);
    assert_eq!(bobs["totals"]["median_first_response_seconds"], 180.0);

    // An agent sees their own conversations only.
    let (status, own) = report(&app, MAY, &ada).await;
    assert_eq!(status, 200);
    assert_eq!(own["filters"]["agent_id"], ada.id);
    assert_eq!(own["totals"]["conversations"], 1);
    assert_eq!(own["totals"]["csat_average"], 3.0);
    assert_eq!(own["by_agent"].as_array().unwrap().len(), 1);
    let (status, _) = report(&app, &format!("{MAY}&agent_id={}", ada.id), &ada).await;
    assert_eq!(status, 200, "naming oneself is fine");
    let (_, bobs) = report(&app, MAY, &bob).await;
    assert_eq!(bobs["totals"]["conversations"], 1);
    assert_eq!(
        bobs["choices"],
        json!({
            "widgets": [{"id": blog, "name": "Blog, EU", "revoked": false}],
            "agents": [{"id": bob.id, "name": "Bob"}],
        }),
        "Bob may narrow to his widget and himself"
    );
    assert_eq!(bobs["by_widget"][0]["widget_id"], blog);

    // Nothing in the last 30 days: zeros and no medians, every day listed.
    let (status, recent) = report(&app, "", &admin).await;
    assert_eq!(status, 200);
    assert_eq!(recent["totals"]["conversations"], 0);
    assert_eq!(recent["totals"]["handoff_rate"], Value::Null);
    assert_eq!(
        recent["totals"]["median_first_response_seconds"],
        Value::Null
    );
    assert_eq!(recent["by_day"].as_array().unwrap().len(), 30);
}

#[tokio::test]
async fn the_same_figures_as_csv() {
    let app = TestApp::start().await;
    let Seeded {
        admin, shop, blog, ..
    } = seed(&app).await;
    for (query, accept) in [
        (format!("{MAY}&format=csv"), "application/json"),
        (MAY.to_string(), "text/csv"),
    ] {
        let path = format!("/api/agent/reports{query}");
        let (status, headers, body) = fetch(&app, &path, Some(&admin), accept).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
        assert_eq!(
            headers["content-disposition"],
            "attachment; filename=\"parley-report-2024-05-01-2024-05-02.csv\""
        );
        let lines: Vec<&str> = body.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "scope,id,name,conversations,handoffs,handoff_rate,resolved_by_bot,\
             bot_resolution_rate,closed,first_responses,median_first_response_seconds,\
             median_resolution_seconds,ratings,csat_average"
        );
        assert_eq!(lines[1], "all,,All,4,2,0.5,2,0.5,2,2,120.0,1230.0,2,4.0");
        assert_eq!(
            lines[2],
            format!("widget,{shop},Test,2,1,0.5,1,0.5,2,1,60.0,1230.0,2,4.0")
        );
        assert_eq!(
            lines[3],
            format!("widget,{blog},\"Blog, EU\",2,1,0.5,1,0.5,0,1,180.0,,0,")
        );
        assert!(lines.contains(&"hour,8,08:00,1,0,,,,,,,,,"), "{body}");
        assert!(lines.contains(&"hour,22,22:00,1,1,,,,,,,,,"));
        assert!(lines.contains(&"day,,2024-05-02,2,1,,,,,,,,,"));
        assert_eq!(lines.last(), Some(&""), "ends with a line break");
    }
}

#[tokio::test]
async fn who_may_see_what() {
    let app = TestApp::start().await;
    let Seeded {
        admin,
        ada,
        bob,
        shop,
        ..
    } = seed(&app).await;

    let (status, _, body) = fetch(&app, "/api/agent/reports", None, "application/json").await;
    assert_eq!(status, 401, "{body}");
    let (status, _, _) = fetch(&app, "/api/agent/reports?format=csv", None, "text/csv").await;
    assert_eq!(status, 401);

    // Agents: another's figures are refused, a widget they may not see does not exist.
    let (status, body) = report(&app, &format!("{MAY}&agent_id={}", bob.id), &ada).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = report(&app, &format!("{MAY}&widget_id={shop}"), &bob).await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = report(&app, &format!("{MAY}&widget_id={shop}"), &ada).await;
    assert_eq!(status, 200, "Ada answers every widget");

    // Admins: unknown widgets and agents are 404.
    let (status, _) = report(&app, &format!("{MAY}&widget_id=999999"), &admin).await;
    assert_eq!(status, 404);
    let (status, _) = report(&app, &format!("{MAY}&agent_id=999999"), &admin).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_dates_ranges_and_zones_are_refused() {
    let app = TestApp::start().await;
    let admin = person(&app, "Olive", Role::Admin).await;
    for query in [
        "?from=yesterday",
        "?to=2024-02-30",
        "?from=2024-05-01T10:00",
        "?from=2024-05-02&to=2024-05-01",
        "?from=2024-05-01T10:00:00Z&to=2024-05-01T10:00:00Z",
        "?from=2023-01-01&to=2024-01-02",
        "?tz=Mars/Olympus",
        "?tz=",
        "?widget_id=abc",
        "?agent_id=-3",
        "?format=xml",
    ] {
        let (status, body) = report(&app, query, &admin).await;
        assert_eq!(status, 422, "{query}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed", "{query}");
    }
    let (status, _) = report(&app, "?colour=blue", &admin).await;
    assert_eq!(status, 400, "an unknown parameter");
    let (status, body) = report(
        &app,
        "?from=2024-01-01&to=2024-12-31&tz=Asia/Kolkata",
        &admin,
    )
    .await;
    assert_eq!(status, 200, "a whole leap year: {body}");
    assert_eq!(body["by_day"].as_array().unwrap().len(), 366);
}
