//! Privacy: who may export or erase a visitor (admins only; agents 403, nobody 401, no CSRF
//! 403), an export of everything stored about a visitor, an erasure that removes it all with
//! the files and tells open dashboards and widgets, and retention by the widget's setting.

use chrono::Utc;
use reqwest::{
    header,
    multipart::{Form, Part},
    Method,
};
use serde_json::{json, Value};

use crate::{
    admin::{member, owner},
    agents::{agent, agent_subscriber},
    support::*,
};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\0\x01\x01\x01\0\x18\xdd\x8d\xb0\0\0\0\0IEND\xaeB`\x82";

/// Files in the attachments directory.
fn files_in(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir.join("attachments"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// A visitor who gave `email`, with a text, a picture, a reaction, a read mark and a rating:
/// their conversation id and visitor token.
async fn chatty_visitor(app: &TestApp, email: &str) -> (i64, String) {
    let (id, visitor) = app
        .conversation_as(json!({"visitor_name": "Vera", "visitor_email": email}))
        .await;
    let (status, sent) = app
        .send(
            id,
            &visitor,
            json!({"message": "my order", "client_id": "t1"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    let message_id = sent["message"]["id"].as_i64().unwrap();
    let form = Form::new().text("client_id", "f1").part(
        "attachment",
        Part::bytes(PNG.to_vec()).file_name("receipt.png"),
    );
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-Visitor-Token", &visitor)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    for (path, body) in [
        (
            format!("/api/chatbot/conversation/{id}/messages/{message_id}/reactions"),
            json!({"emoji": "👍"}),
        ),
        (
            format!("/api/chatbot/conversation/{id}/read"),
            json!({"last_read_id": message_id}),
        ),
        (
            format!("/api/chatbot/conversation/{id}/rating"),
            json!({"score": 4, "comment": "quick"}),
        ),
    ] {
        let response = app
            .post(&path)
            .header("X-Visitor-Token", &visitor)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }
    (id, visitor)
}

#[tokio::test]
async fn only_admins_export_and_erase() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (_, agent_browser) = member(&app, &admin, "agent@example.com", "agent").await;
    let token_agent = agent(&app, "Tokened").await;
    let (id, _) = app.conversation().await;
    let export = format!("/api/admin/visitors/export?conversation_id={id}");
    let erase = "/api/admin/visitors/erase";
    let body = json!({ "conversation_id": id });

    let (status, answer) = agent_browser.call(Method::GET, &export, None).await;
    assert_eq!(status, 403, "{answer}");
    let (status, answer) = agent_browser
        .call(Method::POST, erase, Some(body.clone()))
        .await;
    assert_eq!(status, 403, "{answer}");
    for (method, path) in [(Method::GET, export.as_str()), (Method::POST, erase)] {
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
            .bearer_auth(&token_agent.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 403, "an agent's token on {method} {path}");
    }

    // The admin's own cookie without the CSRF token: refused before anything is erased.
    let login = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "owner@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 200);
    let cookie = login.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let status = app
        .http
        .post(app.url(erase))
        .header(header::COOKIE, &cookie)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403, "no CSRF token");
    assert!(app.store.conversation(id).await.unwrap().is_some());

    // Exactly one selection, and a widget that exists.
    for (query, expected) in [
        ("", 422),
        (&*format!("conversation_id={id}&email=a@example.com"), 422),
        (
            &*format!("conversation_id={id}&widget_id={}", app.widget_id),
            422,
        ),
        ("user_id=user-1", 422),
        ("email=", 422),
        ("email=a@example.com&widget_id=999999", 404),
        ("emial=a@example.com", 400),
    ] {
        let (status, answer) = admin
            .call(
                Method::GET,
                &format!("/api/admin/visitors/export?{query}"),
                None,
            )
            .await;
        assert_eq!(status, expected, "{query}: {answer}");
    }
    let (status, answer) = admin
        .call(
            Method::POST,
            erase,
            Some(json!({"user_id": "u", "email": "a@b.c"})),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert!(app.store.conversation(id).await.unwrap().is_some());
}

#[tokio::test]
async fn an_admin_exports_a_visitor_then_erases_them_with_their_files() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (id, visitor) = chatty_visitor(&app, "Vera@Example.com").await;
    let (second, _) = app
        .conversation_as(json!({"visitor_email": "vera@example.com"}))
        .await;
    let (other, other_visitor) = chatty_visitor(&app, "otto@example.com").await;
    assert_eq!(files_in(&app), 2);

    let (status, export) = admin
        .call(
            Method::GET,
            "/api/admin/visitors/export?email=VERA%40example.com",
            None,
        )
        .await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["selector"]["by"], "email");
    let conversations = export["conversations"].as_array().unwrap();
    let ids: Vec<i64> = conversations
        .iter()
        .map(|c| c["conversation"]["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id, second], "both of hers, oldest first, not Otto's");
    let first = &conversations[0];
    assert_eq!(first["conversation"]["visitor_email"], "Vera@Example.com");
    let texts: Vec<&str> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["message"].as_str())
        .collect();
    assert!(texts.contains(&"my order"), "{texts:?}");
    assert_eq!(first["attachments"][0]["original_name"], "receipt.png");
    assert_eq!(first["attachments"][0]["content_type"], "image/png");
    assert_eq!(first["reactions"][0]["emoji"], "👍");
    assert_eq!(first["read_states"][0]["reader"], "visitor");
    assert_eq!(first["rating"]["score"], 4);
    let text = export.to_string();
    assert!(
        !text.contains("storage_name") && !text.contains("token_hash"),
        "{text}"
    );

    // Open pages: the agents' inbox of the widget, and the visitor's widget.
    let ada = agent(&app, "Ada").await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let mut widget = app.subscriber(id, &visitor).await;

    let (status, answer) = admin
        .call(
            Method::POST,
            "/api/admin/visitors/erase",
            Some(json!({"email": "vera@example.com", "widget_id": app.widget_id})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    let erased = &answer["erased"];
    let erased_ids: Vec<i64> = erased["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(erased_ids, [id, second]);
    assert_eq!(erased["messages"], 2);
    assert_eq!(erased["attachments"], 1);
    assert_eq!(erased["files_removed"], 1);
    assert_eq!(erased["reactions"], 1);
    assert_eq!(erased["ratings"], 1);
    assert_eq!(files_in(&app), 1, "her file is gone, Otto's stays");

    let told = widget.event("ConversationErased").await;
    assert_eq!(
        told,
        json!({"conversation_id": id, "widget_id": app.widget_id})
    );
    let mut dropped = vec![
        inbox.event("ConversationErased").await["conversation_id"]
            .as_i64()
            .unwrap(),
        inbox.event("ConversationErased").await["conversation_id"]
            .as_i64()
            .unwrap(),
    ];
    dropped.sort_unstable();
    assert_eq!(dropped, [id, second]);

    // Gone for the visitor, the agents and the channel auth.
    let status = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
    let (status, _) =
        crate::agents::get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(status, 404);
    let (status, _) = app
        .send(
            id,
            &visitor,
            json!({"message": "hello?", "client_id": "t9"}),
        )
        .await;
    assert_eq!(status, 404, "a send to an erased conversation");

    // Otto keeps everything.
    let status = app
        .get(&format!("/api/chatbot/conversation/{other}"))
        .header("X-Visitor-Token", &other_visitor)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let (_, again) = admin
        .call(
            Method::GET,
            "/api/admin/visitors/export?email=vera%40example.com",
            None,
        )
        .await;
    assert_eq!(again["conversations"], json!([]), "nothing left about her");

    // Audited with the counts, never with her email.
    let (_, audit) = admin.call(Method::GET, "/api/admin/audit", None).await;
    let entries = audit["entries"].as_array().unwrap();
    let erase = entries
        .iter()
        .find(|e| e["action"] == "visitor.erase")
        .expect("audited");
    assert_eq!(erase["target"], format!("widget:{}", app.widget_id));
    assert_eq!(erase["detail"]["by"], "email");
    assert_eq!(erase["detail"]["conversations"], json!([id, second]));
    assert_eq!(erase["detail"]["messages"], 2);
    assert!(entries.iter().any(|e| e["action"] == "visitor.export"));
    assert!(
        !audit.to_string().to_lowercase().contains("vera@"),
        "{audit}"
    );

    // A verified user, by the id their site gave them on this widget.
    let signed = app
        .store
        .create_conversation(parley_store::NewConversation {
            widget_id: app.widget_id,
            visitor_token_hash: parley_chat::tokens::hash_token("signed visitor"),
            user_id: Some("user-42".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let query = format!(
        "/api/admin/visitors/export?user_id=user-42&widget_id={}",
        app.widget_id
    );
    let (status, export) = admin.call(Method::GET, &query, None).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["conversations"][0]["conversation"]["id"], signed.id);
    assert_eq!(
        export["conversations"][0]["conversation"]["user_id"],
        "user-42"
    );
    let (status, answer) = admin
        .call(
            Method::POST,
            "/api/admin/visitors/erase",
            Some(json!({"user_id": "user-42", "widget_id": app.widget_id})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["erased"]["conversations"][0]["id"], signed.id);
    assert_eq!(app.store.conversation(signed.id).await.unwrap(), None);

    // Erasing nothing is fine, and audited too.
    let (status, answer) = admin
        .call(
            Method::POST,
            "/api/admin/visitors/erase",
            Some(json!({"conversation_id": id})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["erased"]["conversations"], json!([]));
}

#[tokio::test]
async fn retention_erases_conversations_inactive_longer_than_the_widget_keeps_them() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let path = format!("/api/admin/widgets/{}", app.widget_id);
    for bad in [json!(0), json!(3651), json!(1.5), json!("30")] {
        let (status, answer) = admin
            .call(
                Method::PATCH,
                &path,
                Some(json!({"settings": {"retention_days": bad}})),
            )
            .await;
        assert_eq!(status, 422, "{bad}: {answer}");
        assert!(answer.to_string().contains("retention_days"), "{answer}");
    }
    let (status, answer) = admin
        .call(
            Method::PATCH,
            &path,
            Some(json!({"settings": {"greeting": "Hello", "retention_days": 30}})),
        )
        .await;
    assert_eq!(status, 200, "{answer}");

    let (id, visitor) = chatty_visitor(&app, "vera@example.com").await;
    // Another widget keeps its conversations forever.
    let keep = app
        .store
        .create_widget(parley_store::NewWidget {
            name: "Forever".into(),
            token_hash: parley_chat::tokens::hash_token("cbw_forever"),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .unwrap();
    let kept = app
        .store
        .create_conversation(parley_store::NewConversation {
            widget_id: keep.id,
            visitor_token_hash: parley_chat::tokens::hash_token("visitor"),
            ..Default::default()
        })
        .await
        .unwrap();
    let ada = agent(&app, "Ada").await;
    let mut inbox =
        agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let mut widget = app.subscriber(id, &visitor).await;

    // 29 days on, nothing is old enough.
    let soon = Utc::now() + chrono::Duration::days(29);
    let report = parley_chat::privacy::apply_retention(&app.service, soon)
        .await
        .unwrap();
    assert!(report.iter().all(|r| r.erased.is_empty()), "{report:?}");
    assert!(app.store.conversation(id).await.unwrap().is_some());

    let later = Utc::now() + chrono::Duration::days(31);
    let report = parley_chat::privacy::apply_retention(&app.service, later)
        .await
        .unwrap();
    let ours = report
        .iter()
        .find(|r| r.widget_id == app.widget_id)
        .expect("the widget with a retention");
    assert_eq!(ours.days, 30);
    assert_eq!(ours.erased.conversations.len(), 1);
    assert_eq!(ours.erased.messages, 2);
    assert_eq!(ours.files_removed, 1);
    assert_eq!(files_in(&app), 0);
    assert_eq!(app.store.conversation(id).await.unwrap(), None);
    assert!(
        app.store.conversation(kept.id).await.unwrap().is_some(),
        "no retention, kept"
    );
    assert_eq!(
        widget.event("ConversationErased").await["conversation_id"],
        id
    );
    assert_eq!(
        inbox.event("ConversationErased").await["conversation_id"],
        id
    );

    // Audited as Parley's own act, with the counts.
    let (_, audit) = admin.call(Method::GET, "/api/admin/audit", None).await;
    let entry = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "retention.erase")
        .cloned()
        .expect("audited");
    assert_eq!(entry["actor_id"], Value::Null);
    assert_eq!(entry["target"], format!("widget:{}", app.widget_id));
    assert_eq!(entry["detail"]["conversations"], 1);
    assert_eq!(entry["detail"]["messages"], 2);
    assert_eq!(entry["detail"]["files_removed"], 1);
    assert_eq!(entry["detail"]["retention_days"], 30);

    // A second run finds nothing more.
    let report = parley_chat::privacy::apply_retention(&app.service, later)
        .await
        .unwrap();
    assert!(report.iter().all(|r| r.erased.is_empty()));
}
