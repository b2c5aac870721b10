//! The agents' inbox: replies that take over from the bot, listing and filtering with live
//! updates, what a row previews (past handoff lines), why a search found it and the page its
//! visitor is on, closing, reopening and handing back, read receipts, and files agents send.

use parley_store::{NewMessage, SenderType};
use serde_json::{json, Value};

use crate::agents::{agent, agent_subscriber, call, get, post};
use crate::support::TestApp;

#[tokio::test]
async fn an_agent_reply_takes_over_from_the_bot() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let mut watching = app.subscriber(id, &visitor).await;
    let path = format!("/api/agent/conversations/{id}/messages");

    let (status, body) = post(
        &app,
        &path,
        &ada,
        json!({"message": "Hi, Ada here", "client_id": "r1"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["sender_type"], "agent");
    assert_eq!(body["message"]["sender_name"], "Ada");
    let update = watching.event("ConversationUpdated").await;
    assert_eq!(update["status"], "human");
    assert_eq!(update["assigned_agent_id"], ada.id);
    let seen = watching.event("ChatMessageReceived").await;
    assert_eq!(seen["message"], "Hi, Ada here");
    assert_eq!(seen["sender_type"], "agent");
    assert_eq!(seen["id"], body["message"]["id"]);

    // A retried send is the same message, broadcast once.
    let (status, again) = post(
        &app,
        &path,
        &ada,
        json!({"message": "Hi, Ada here", "client_id": "r1"}),
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["message"]["id"], body["message"]["id"]);
    let after = watching.sync().await;
    assert!(
        after.iter().all(|f| f["event"] != "ChatMessageReceived"),
        "{after:?}"
    );

    let (status, body) = post(&app, &path, &ada, json!({"message": "   "})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &app,
        &path,
        &ada,
        json!({"message": "x", "client_id": "no spaces"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &app,
        "/api/agent/conversations/999999/messages",
        &ada,
        json!({"message": "x"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // The visitor's history has it, and the bot no longer answers (status human).
    let (_, history) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(history["conversation"]["status"], "human");
    assert_eq!(history["messages"].as_array().unwrap().len(), 1);
    let (status, _) = app.send(id, &visitor, json!({"message": "thanks"})).await;
    assert_eq!(status, 201);
    let jobs = app
        .store
        .claim_bot_job(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        jobs.is_none(),
        "no bot turn while an agent has it: {jobs:?}"
    );
}

#[tokio::test]
async fn the_inbox_lists_filters_and_updates_live() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let mut team = agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let (first, first_visitor) = app.conversation().await;
    let (second, second_visitor) = app.conversation().await;

    let (status, _) = app
        .send(first, &first_visitor, json!({"message": "hello from one"}))
        .await;
    assert_eq!(status, 201);
    let update = team.event("InboxUpdated").await;
    assert_eq!(update["conversation"]["id"], first);
    assert_eq!(update["message"]["message"], "hello from one");
    let (status, _) = app
        .send(
            second,
            &second_visitor,
            json!({"message": "hello from two"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        team.event("InboxUpdated").await["conversation"]["id"],
        second
    );

    let (status, listing) = get(&app, "/api/agent/conversations?status=bot", &ada).await;
    assert_eq!(status, 200, "{listing}");
    let listed = listing["conversations"].as_array().unwrap();
    let ids: Vec<i64> = listed.iter().map(|c| c["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [second, first], "most recently updated first");
    assert_eq!(listed[0]["last_message"]["message"], "hello from two");
    assert_eq!(listed[1]["last_message"]["message"], "hello from one");
    assert_eq!(listed[0]["visitor_name"], "Vera");

    let (status, taken) = post(
        &app,
        &format!("/api/agent/conversations/{first}/assign"),
        &ada,
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{taken}");
    assert_eq!(taken["conversation"]["assigned_agent_id"], ada.id);
    assert_eq!(taken["conversation"]["status"], "human");
    let update = team.event("InboxUpdated").await;
    assert_eq!(update["conversation"]["id"], first);
    assert_eq!(update["message"], Value::Null);

    let ids = |body: Value| -> Vec<i64> {
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        ids(get(&app, "/api/agent/conversations?assigned=me", &ada)
            .await
            .1),
        [first]
    );
    assert_eq!(
        ids(get(&app, "/api/agent/conversations?assigned=none", &ada)
            .await
            .1),
        [second]
    );
    assert_eq!(
        ids(get(&app, "/api/agent/conversations?limit=1", &ada).await.1).len(),
        1
    );

    for bad in [
        "status=open",
        "assigned=bob",
        "limit=0",
        "limit=201",
        "before_updated=yesterday",
    ] {
        let (status, body) = get(&app, &format!("/api/agent/conversations?{bad}"), &ada).await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
        assert_eq!(body["success"], false);
    }
    let (status, body) = post(
        &app,
        &format!("/api/agent/conversations/{first}/assign"),
        &ada,
        json!({"agent_id": 999999}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(
        &app,
        &format!("/api/agent/conversations/{first}/assign"),
        &ada,
        json!({"agent_id": null}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["conversation"]["assigned_agent_id"], Value::Null);
}

#[tokio::test]
async fn closing_reopening_handing_back_and_read_receipts() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let (_, sent) = app.send(id, &visitor, json!({"message": "hello"})).await;
    let mut watching = app.subscriber(id, &visitor).await;
    let status_path = format!("/api/agent/conversations/{id}/status");

    let (status, body) = post(
        &app,
        &format!("/api/agent/conversations/{id}/read"),
        &ada,
        json!({"last_read_id": sent["message"]["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let receipt = watching.event("MessageRead").await;
    assert_eq!(receipt["reader"], "agent");
    assert_eq!(receipt["last_read_id"], sent["message"]["id"]);

    let (status, body) = post(&app, &status_path, &ada, json!({"status": "closed"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        watching.event("ConversationUpdated").await["status"],
        "closed"
    );
    let (status, _) = app
        .send(id, &visitor, json!({"message": "still there?"}))
        .await;
    assert_eq!(status, 409);
    let (status, body) = post(
        &app,
        &format!("/api/agent/conversations/{id}/messages"),
        &ada,
        json!({"message": "late"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");

    let (status, _) = post(&app, &status_path, &ada, json!({"status": "human"})).await;
    assert_eq!(status, 200);
    let (status, _) = app
        .send(id, &visitor, json!({"message": "still there?"}))
        .await;
    assert_eq!(status, 201);

    post(
        &app,
        &format!("/api/agent/conversations/{id}/assign"),
        &ada,
        json!({}),
    )
    .await;
    let (status, body) = post(&app, &status_path, &ada, json!({"status": "bot"})).await;
    assert_eq!(status, 200);
    assert_eq!(body["conversation"]["status"], "bot");
    assert_eq!(body["conversation"]["assigned_agent_id"], Value::Null);

    let (status, body) = post(&app, &status_path, &ada, json!({"status": "snoozed"})).await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(&app, &status_path, &ada, json!({"state": "closed"})).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn an_agent_sends_a_file_the_visitor_can_open() {
    use reqwest::multipart::{Form, Part};
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\x01\x01\x01\0\x18\xdd\x8d\xb0\0\0\0\0IEND\xaeB`\x82";
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let mut watching = app.subscriber(id, &visitor).await;
    let send = |form: Form| {
        app.http
            .post(app.url(&format!("/api/agent/conversations/{id}/messages")))
            .bearer_auth(&ada.token)
            .multipart(form)
            .send()
    };

    let form = Form::new()
        .text("message", "Here is the screenshot")
        .text("client_id", "f1")
        .part(
            "attachment",
            Part::bytes(PNG.to_vec()).file_name("shot.png"),
        );
    let response = send(form).await.unwrap();
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let seen = watching.event("ChatMessageReceived").await;
    assert_eq!(seen["sender_type"], "agent");
    assert_eq!(seen["attachment_name"], "shot.png");
    let link = seen["attachment_path"].as_str().expect("a link");
    assert_eq!(seen["id"], body["message"]["id"]);
    let file = app.http.get(app.url(link)).send().await.unwrap();
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().as_ref(), PNG);

    // The same checks as the widget's uploads: a disguised executable is refused.
    let form = Form::new().part(
        "attachment",
        Part::bytes(b"MZ\x90\0\x03\0\0\0".to_vec()).file_name("invoice.png"),
    );
    let response = send(form).await.unwrap();
    assert_eq!(response.status(), 415);
}

#[tokio::test]
async fn agents_search_the_inbox_by_visitor_and_message_text() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (grace, _) = app
        .conversation_as(json!({"visitor_name": "Grace", "visitor_email": "grace@example.com"}))
        .await;
    let (alan, alan_token) = app
        .conversation_as(json!({"visitor_name": "Alan", "visitor_email": "alan@example.com"}))
        .await;
    let (status, _) = app
        .send(alan, &alan_token, json!({"message": "Where is my refund?"}))
        .await;
    assert_eq!(status, 201);

    let ids = |body: &Value| -> Vec<i64> {
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_i64().unwrap())
            .collect()
    };
    let (status, body) = get(&app, "/api/agent/conversations?q=REFUND", &ada).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), [alan]);
    assert_eq!(
        body["conversations"][0]["last_message"]["message"],
        "Where is my refund?"
    );
    let (_, body) = get(&app, "/api/agent/conversations?q=grace%40example", &ada).await;
    assert_eq!(ids(&body), [grace]);
    // Blank text lists everything; with a filter it narrows further.
    let (_, body) = get(&app, "/api/agent/conversations?q=%20%20", &ada).await;
    assert_eq!(ids(&body).len(), 2);
    let (_, body) = get(
        &app,
        "/api/agent/conversations?q=refund&status=closed",
        &ada,
    )
    .await;
    assert_eq!(ids(&body), Vec::<i64>::new());

    let long = "x".repeat(201);
    let (status, body) = get(&app, &format!("/api/agent/conversations?q={long}"), &ada).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["success"], false);
}

#[tokio::test]
async fn inbox_rows_preview_past_handoff_lines_and_say_why_a_search_matched() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (grace, grace_token) = app
        .conversation_as(
            json!({"visitor_name": "Grace", "page_url": "https://shop.example/packs/trailhead-28"}),
        )
        .await;
    let (alan, alan_token) = app.conversation_as(json!({"visitor_name": "Alan"})).await;
    let say = |id: i64, sender_type: SenderType, text: &str| NewMessage {
        conversation_id: id,
        sender_type,
        sender_name: None,
        message: text.into(),
        attachment: None,
        is_voice: false,
        client_id: None,
        bot_job: false,
    };
    app.send(
        grace,
        &grace_token,
        json!({"message": "Do you ship abroad?"}),
    )
    .await;
    let store = &app.store;
    store
        .insert_message(say(grace, SenderType::Bot, "Yes, we ship worldwide."))
        .await
        .unwrap();
    app.send(
        grace,
        &grace_token,
        json!({"message": "Can I talk to someone?"}),
    )
    .await;
    // What the bot runner posts when it hands over.
    store
        .insert_message(say(
            grace,
            SenderType::System,
            "Let me get a human for you.",
        ))
        .await
        .unwrap();
    app.send(alan, &alan_token, json!({"message": "Where is my refund?"}))
        .await;
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{alan}/messages"),
        &ada,
        json!({"message": "Your refund left today."}),
    )
    .await;
    assert_eq!(status, 201);

    let row = |body: &Value, id: i64| -> Value {
        body["conversations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("conversation {id} not listed: {body}"))
    };
    let (status, body) = get(&app, "/api/agent/conversations", &ada).await;
    assert_eq!(status, 200, "{body}");
    let handed = row(&body, grace);
    // The newest message is still the handoff line (unread and times go by it); the row
    // previews what the visitor last said, and shows the page they are on.
    assert_eq!(handed["last_message"]["sender_type"], "system");
    assert_eq!(
        handed["preview_message"]["message"],
        "Can I talk to someone?"
    );
    assert_eq!(handed["preview_message"]["sender_type"], "visitor");
    assert_eq!(
        handed["page_url"],
        "https://shop.example/packs/trailhead-28"
    );
    assert!(handed.get("matched_message").is_none(), "{handed}");
    let answered = row(&body, alan);
    assert_eq!(
        answered["preview_message"]["message"],
        "Your refund left today."
    );

    // A search says which message matched, the newest holding the text, whatever its sender.
    let (_, body) = get(&app, "/api/agent/conversations?q=WORLDWIDE", &ada).await;
    let found = row(&body, grace);
    assert_eq!(
        found["matched_message"]["message"],
        "Yes, we ship worldwide."
    );
    assert_eq!(found["matched_message"]["sender_type"], "bot");
    assert_eq!(
        found["preview_message"]["message"],
        "Can I talk to someone?"
    );
    let (_, body) = get(&app, "/api/agent/conversations?q=refund", &ada).await;
    assert_eq!(
        row(&body, alan)["matched_message"]["message"],
        "Your refund left today."
    );
    // Found by the visitor's name: no message matched.
    let (_, body) = get(&app, "/api/agent/conversations?q=grac", &ada).await;
    assert_eq!(body["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(row(&body, grace)["matched_message"], Value::Null);
}

#[tokio::test]
async fn the_page_a_visitor_is_on_reaches_the_inbox() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let mut team = agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let (id, visitor) = app
        .conversation_as(json!({"page_url": "https://shop.example/"}))
        .await;
    let seen = |token: &str, body: Option<Value>| {
        let request = app
            .post(&format!("/api/chatbot/conversation/{id}/seen"))
            .header("X-Visitor-Token", token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    // The heartbeat alone, as before.
    assert_eq!(seen(&visitor, None).await.0, 200);
    // The visitor moves on: the inbox is told, and the listing says so.
    let page = "https://shop.example/packs/trailhead-28?colour=green";
    let (status, text) = seen(&visitor, Some(json!({"page_url": page}))).await;
    assert_eq!(status, 200, "{text}");
    let update = team.event("InboxUpdated").await;
    assert_eq!(update["conversation"]["page_url"], page);
    assert_eq!(update["message"], Value::Null);
    let (_, body) = get(&app, "/api/agent/conversations", &ada).await;
    assert_eq!(body["conversations"][0]["page_url"], page);
    // The same page again tells nobody.
    seen(&visitor, Some(json!({"page_url": page}))).await;
    let later = team.sync().await;
    assert!(
        later.iter().all(|f| f["event"] != "InboxUpdated"),
        "{later:?}"
    );
    // What is refused: another visitor, a page too long, an unknown field, not JSON.
    let (_, other) = app.conversation().await;
    let (status, _) = seen(&other, Some(json!({"page_url": "https://evil.example/"}))).await;
    assert_eq!(status, 403);
    for bad in [
        json!({"page_url": format!("https://shop.example/{}", "x".repeat(2000))}),
        json!({"page": "https://shop.example/"}),
        json!("https://shop.example/"),
    ] {
        let (status, text) = seen(&visitor, Some(bad)).await;
        assert_eq!(status, 422, "{text}");
    }
    let (_, body) = get(&app, "/api/agent/conversations", &ada).await;
    let listed = body["conversations"].as_array().unwrap();
    let mine = listed.iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(mine["page_url"], page, "refusals change nothing");
}

#[tokio::test]
async fn agents_react_to_messages_and_the_visitor_sees_it() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, visitor) = app.conversation().await;
    let (status, sent) = app
        .send(id, &visitor, json!({"message": "Thanks a lot!"}))
        .await;
    assert_eq!(status, 201);
    let message_id = sent["message"]["id"].as_i64().unwrap();
    let mut tab = app.subscriber(id, &visitor).await;
    let path = format!("/api/agent/conversations/{id}/messages/{message_id}/reactions");

    let (status, body) = post(&app, &path, &ada, json!({"emoji": "👍"})).await;
    assert_eq!(status, 200, "{body}");
    let expected = json!([{"emoji": "👍", "count": 1, "reactors": [format!("agent:{}", ada.id)]}]);
    assert_eq!(body["reactions"]["reactions"], expected);
    let event = tab.event("ReactionsUpdated").await;
    assert_eq!(event["message_id"], message_id);
    assert_eq!(event["reactions"], expected);

    let (status, body) = post(&app, &path, &ada, json!({"emoji": "👍", "on": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reactions"]["reactions"], json!([]));

    let (status, _) = post(&app, &path, &ada, json!({"emoji": "ok"})).await;
    assert_eq!(status, 422);
    // A message of another conversation is not this one's.
    let (other, _) = app.conversation().await;
    let wrong = format!("/api/agent/conversations/{other}/messages/{message_id}/reactions");
    let (status, _) = post(&app, &wrong, &ada, json!({"emoji": "👍"})).await;
    assert_eq!(status, 404);
    let missing = format!("/api/agent/conversations/999999/messages/{message_id}/reactions");
    let (status, _) = post(&app, &missing, &ada, json!({"emoji": "👍"})).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn saved_replies_are_kept_listed_replaced_and_deleted() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let grace = agent(&app, "Grace").await;
    let (status, body) = post(
        &app,
        "/api/agent/saved-replies",
        &ada,
        json!({"shortcut": "/Refund", "text": "  Refunds take 5 days.  "}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["saved_reply"]["shortcut"], "refund");
    assert_eq!(body["saved_reply"]["text"], "Refunds take 5 days.");
    let id = body["saved_reply"]["id"].as_i64().unwrap();

    // The whole team sees it.
    let (status, body) = get(&app, "/api/agent/saved-replies", &grace).await;
    assert_eq!(status, 200);
    assert_eq!(body["saved_replies"][0]["shortcut"], "refund");

    let (status, _) = post(
        &app,
        "/api/agent/saved-replies",
        &ada,
        json!({"shortcut": "refund", "text": "again"}),
    )
    .await;
    assert_eq!(status, 409);
    for bad in [
        json!({"shortcut": "two words", "text": "x"}),
        json!({"shortcut": "", "text": "x"}),
        json!({"shortcut": "ok", "text": "   "}),
        json!({"shortcut": "ok", "text": "x".repeat(5001)}),
        json!({"shortcut": "ok"}),
    ] {
        let (status, body) = post(&app, "/api/agent/saved-replies", &ada, bad.clone()).await;
        assert!(status == 422 || status == 400, "{bad}: {status} {body}");
        assert_eq!(body["success"], false);
    }

    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        &format!("/api/agent/saved-replies/{id}"),
        &ada.token,
        Some(json!({"shortcut": "refunds", "text": "Refunds take 3 days."})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["saved_reply"]["shortcut"], "refunds");
    let (status, _) = call(
        &app,
        reqwest::Method::PUT,
        "/api/agent/saved-replies/999999",
        &ada.token,
        Some(json!({"shortcut": "x", "text": "y"})),
    )
    .await;
    assert_eq!(status, 404);

    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/agent/saved-replies/{id}"),
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/api/agent/saved-replies/{id}"),
        &ada.token,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, body) = get(&app, "/api/agent/saved-replies", &ada).await;
    assert_eq!(body["saved_replies"], json!([]));
    // Visitors' tokens get nowhere.
    let response = app
        .http
        .get(app.url("/api/agent/saved-replies"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn a_conversation_cannot_be_assigned_to_a_revoked_agent() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let grace = agent(&app, "Grace").await;
    let (id, _visitor) = app.conversation().await;
    assert!(app.store.revoke_agent(grace.id).await.unwrap());
    let path = format!("/api/agent/conversations/{id}/assign");
    let (status, body) = post(&app, &path, &ada, json!({"agent_id": grace.id})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["success"], false);
    assert_eq!(body["error"]["code"], "validation_failed");
    assert_eq!(
        body["error"]["message"],
        format!("agent {} is revoked", grace.id)
    );
    // Nothing changed.
    let (_, page) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(page["conversation"]["assigned_agent_id"], Value::Null);
    assert_eq!(page["conversation"]["status"], "bot");
    let (status, body) = post(&app, &path, &ada, json!({"agent_id": ada.id})).await;
    assert_eq!(status, 200, "{body}");
}

/// An agent's reply whose file is refused changes nothing: the bot keeps the conversation.
#[tokio::test]
async fn a_refused_file_does_not_take_the_conversation() {
    let app = TestApp::start().await;
    let ada = agent(&app, "Ada").await;
    let (id, _) = app.conversation().await;
    let form = reqwest::multipart::Form::new().part(
        "attachment",
        reqwest::multipart::Part::bytes(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff".to_vec())
            .file_name("tool.exe"),
    );
    let status = app
        .http
        .post(app.url(&format!("/api/agent/conversations/{id}/messages")))
        .bearer_auth(&ada.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 415);
    let conversation = app.store.conversation(id).await.unwrap().unwrap();
    assert_eq!(conversation.status, parley_store::ConversationStatus::Bot);
    assert_eq!(conversation.assigned_agent_id, None);
}
