//! Verified identity over the widget API: a site's signed user token opens the user's
//! conversations from any device, what fails to verify is a 401 `identity_invalid`, an
//! anonymous visitor who signs in keeps their conversation, and the pre-chat form's answers are
//! checked, stored and searchable.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use hmac::{Hmac, Mac};
use parley_chat::tokens;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{
    agents::{self, get},
    support::*,
};

/// A user token as a site's backend makes it with any JWT library.
fn user_token(secret: &str, claims: Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(json!({"alg": "HS256", "typ": "JWT"}).to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{head}.{body}").as_bytes());
    format!(
        "{head}.{body}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn in_an_hour() -> i64 {
    chrono::Utc::now().timestamp() + 3600
}

pub(crate) fn token_for(user: &str, extra: Value) -> String {
    let mut claims = json!({"sub": user, "exp": in_an_hour()});
    claims
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    user_token(IDENTITY_SECRET, claims)
}

async fn start(app: &TestApp, body: Value) -> (u16, Value) {
    let response = app
        .post("/api/chatbot/conversation")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A widget call with a user token and no visitor token.
async fn as_user(app: &TestApp, path: &str, token: &str) -> (u16, Value) {
    let response = app
        .get(path)
        .header("X-User-Token", token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_verified_user_finds_their_conversation_from_any_device() {
    let app = TestApp::start().await;
    let laptop = token_for(
        "u-42",
        json!({"name": "Ada Lovelace", "email": "ada@example.com"}),
    );
    let (status, started) = start(
        &app,
        json!({"user_token": laptop, "visitor_name": "Mallory", "locale": "fr"}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversation"]["id"].as_i64().unwrap();
    assert_eq!(started["conversation"]["verified"], true);
    assert_eq!(
        started["conversation"]["visitor_name"], "Ada Lovelace",
        "the signed name wins over a typed one"
    );
    let visitor = started["visitor_token"].as_str().unwrap().to_string();
    let (status, _) = app
        .send(id, &visitor, json!({"message": "Where is my order?"}))
        .await;
    assert_eq!(status, 201);

    // The phone gets a token of its own for the same user: the open conversation comes back.
    let phone = token_for("u-42", json!({}));
    let (status, again) = start(&app, json!({"user_token": phone})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["reopened"], true);
    assert_eq!(again["conversation"]["id"], id);
    assert_eq!(again["visitor_token"], Value::Null);
    let (status, read) = as_user(&app, &format!("/api/chatbot/conversation/{id}"), &phone).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read["messages"][0]["message"], "Where is my order?");
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/messages"))
        .header("X-User-Token", &phone)
        .json(&json!({"message": "From my phone"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);

    // The list: newest first, only this user's.
    start(&app, json!({"user_token": token_for("u-7", json!({}))})).await;
    let (status, listed) = as_user(&app, "/api/chatbot/conversations", &phone).await;
    assert_eq!(status, 200, "{listed}");
    let ids: Vec<i64> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id]);
    assert_eq!(
        listed["conversations"][0]["last_message"]["message"],
        "From my phone"
    );
    let (status, refused) = as_user(&app, "/api/chatbot/conversations", "").await;
    assert_eq!(status, 401, "no token: {refused}");
    assert_eq!(refused["error"]["code"], "identity_invalid");

    // Another user's token opens nothing of this user's, even with nothing else sent.
    let (status, _) = as_user(
        &app,
        &format!("/api/chatbot/conversation/{id}"),
        &token_for("u-7", json!({})),
    )
    .await;
    assert_eq!(status, 403);

    // Agents see who is verified, and what is only claimed.
    let ada = agents::agent(&app, "Ada").await;
    let (_, seen) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    let conversation = &seen["conversation"];
    assert_eq!(conversation["user_id"], "u-42", "{seen}");
    assert_eq!(conversation["name_verified"], true);
    assert_eq!(conversation["email_verified"], true);
    assert_eq!(conversation["locale"], "fr");
    let (_, claimed) = start(&app, json!({"visitor_name": "Claimed Carl"})).await;
    let claimed_id = claimed["conversation"]["id"].as_i64().unwrap();
    let (_, seen) = get(
        &app,
        &format!("/api/agent/conversations/{claimed_id}"),
        &ada,
    )
    .await;
    assert_eq!(seen["conversation"]["visitor_name"], "Claimed Carl");
    assert_eq!(seen["conversation"]["name_verified"], false);
    assert_eq!(seen["conversation"]["user_id"], Value::Null);
}

#[tokio::test]
async fn tokens_that_do_not_verify_are_refused_alike() {
    let app = TestApp::start().await;
    let now = chrono::Utc::now().timestamp();
    let refused = [
        (
            "another secret",
            user_token("cbi_other", json!({"sub": "u", "exp": now + 60})),
        ),
        (
            "expired",
            user_token(IDENTITY_SECRET, json!({"sub": "u", "exp": now - 3600})),
        ),
        (
            "two days ahead",
            user_token(IDENTITY_SECRET, json!({"sub": "u", "exp": now + 172_800})),
        ),
        ("no exp", user_token(IDENTITY_SECRET, json!({"sub": "u"}))),
        (
            "no sub",
            user_token(IDENTITY_SECRET, json!({"exp": now + 60})),
        ),
        ("not a token", "hello".to_string()),
    ];
    for (why, token) in &refused {
        let (status, body) = start(&app, json!({"user_token": token})).await;
        assert_eq!(status, 401, "{why}: {body}");
        assert_eq!(body["error"]["code"], "identity_invalid", "{why}");
        assert_eq!(
            body["error"]["message"], "the user's identity could not be verified",
            "{why}: one answer for every reason"
        );
    }
    // A header that does not verify is refused on any call, even with the right visitor token.
    let (id, visitor) = app.conversation().await;
    let response = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .header("X-User-Token", &refused[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    // A token signed for another widget does not verify on this one.
    app.store
        .create_widget(parley_store::NewWidget {
            name: "Other".into(),
            token_hash: tokens::hash_token(&tokens::new_widget_token()),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: Some("cbi_of_the_other_widget".into()),
        })
        .await
        .unwrap();
    let theirs = user_token(
        "cbi_of_the_other_widget",
        json!({"sub": "u", "exp": now + 60}),
    );
    let (status, _) = start(&app, json!({"user_token": theirs})).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_anonymous_visitor_who_signs_in_keeps_their_conversation() {
    let app = TestApp::start().await;
    let (id, visitor) = app
        .conversation_as(json!({"visitor_name": "Guest", "visitor_email": "guest@example.com"}))
        .await;
    let ada = agents::agent(&app, "Ada").await;
    let mut inbox =
        agents::agent_subscriber(&app, &ada, &format!("private-agents.{}", app.widget_id)).await;
    let signed = token_for("u-42", json!({"name": "Ada Lovelace"}));
    let response = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .header("X-User-Token", &signed)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let update = inbox.event("InboxUpdated").await;
    assert!(update.to_string().contains("Ada Lovelace"), "{update}");

    let (_, seen) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(seen["conversation"]["user_id"], "u-42");
    assert_eq!(seen["conversation"]["visitor_name"], "Ada Lovelace");
    assert_eq!(seen["conversation"]["name_verified"], true);
    assert_eq!(
        seen["conversation"]["visitor_email"], "guest@example.com",
        "the token had no email: the typed one stays, claimed"
    );
    assert_eq!(seen["conversation"]["email_verified"], false);

    // Now it is the user's: their token alone opens it, starting again reopens it, and
    // another signed-in user holding the old visitor token is refused.
    let (status, _) = as_user(&app, &format!("/api/chatbot/conversation/{id}"), &signed).await;
    assert_eq!(status, 200);
    let (status, again) = start(&app, json!({"user_token": token_for("u-42", json!({}))})).await;
    assert_eq!(
        (status, again["conversation"]["id"].as_i64()),
        (200, Some(id))
    );
    let response = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", &visitor)
        .header("X-User-Token", token_for("u-7", json!({})))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);

    // The widget's socket is authorised by the user token too.
    let mut socket = Subscriber::connect(app.realtime_addr).await;
    let channel = format!("private-chat.conversation.{id}");
    let response = app
        .post("/api/chatbot/broadcasting/auth")
        .header("X-User-Token", &signed)
        .form(&[
            ("socket_id", socket.socket_id.as_str()),
            ("channel_name", &channel),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let auth: Value = response.json().await.unwrap();
    socket
        .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth["auth"]}}))
        .await;
    assert_eq!(
        socket.recv().await["event"],
        "pusher_internal:subscription_succeeded"
    );
}

#[tokio::test]
async fn intercoms_static_hash_proves_the_id_only() {
    let app = TestApp::start().await;
    let hash = parley_protocol::signature::hmac_hex(IDENTITY_SECRET, b"u-42");
    let (status, started) = start(
        &app,
        json!({"user_id": "u-42", "user_hash": hash, "visitor_name": "Ada"}),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversation"]["id"].as_i64().unwrap();
    let ada = agents::agent(&app, "Ada").await;
    let (_, seen) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(seen["conversation"]["user_id"], "u-42");
    assert_eq!(
        seen["conversation"]["name_verified"], false,
        "the name was not signed"
    );
    let response = app
        .get("/api/chatbot/conversations")
        .header("X-User-Id", "u-42")
        .header("X-User-Hash", &hash)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for body in [
        json!({"user_id": "u-43", "user_hash": hash}),
        json!({"user_id": "u-42"}),
        json!({"user_id": "u-42", "user_hash": "00"}),
    ] {
        let (status, answer) = start(&app, body.clone()).await;
        assert_eq!(status, 401, "{body}: {answer}");
    }
}

#[tokio::test]
async fn a_widget_for_signed_in_users_refuses_anonymous_visitors() {
    let app = TestApp::start().await;
    app.store
        .update_widget_settings(app.widget_id, json!({"identity_required": true}))
        .await
        .unwrap();
    let (status, started) = start(&app, json!({})).await;
    assert_eq!(status, 401, "{started}");
    assert_eq!(started["error"]["code"], "identity_invalid");
    let (status, started) = start(&app, json!({"user_token": token_for("u-1", json!({}))})).await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversation"]["id"].as_i64().unwrap();
    let visitor = started["visitor_token"].as_str().unwrap();
    let (status, _) = app.send(id, visitor, json!({"message": "hello"})).await;
    assert_eq!(status, 401, "the visitor token alone is not enough here");
}

#[tokio::test]
async fn admins_rotate_the_identity_secret_and_agents_cannot() {
    let app = TestApp::start().await;
    let admin = agents::admin(&app, "Root").await;
    let agent = agents::agent(&app, "Ada").await;
    let path = format!("/api/admin/widgets/{}/identity-secret", app.widget_id);
    let (status, _) = agents::post(&app, &path, &agent, json!({})).await;
    assert_eq!(status, 403, "agents may not");
    let response = app.http.post(app.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), 401, "nobody may not");

    let old = token_for("u-1", json!({}));
    let (status, rotated) = agents::post(&app, &path, &admin, json!({})).await;
    assert_eq!(status, 200, "{rotated}");
    let secret = rotated["identity_secret"].as_str().unwrap();
    assert!(secret.starts_with("cbi_") && secret.len() > 40);
    let (status, _) = start(&app, json!({"user_token": old})).await;
    assert_eq!(status, 401, "signed with the old secret");
    let new = user_token(secret, json!({"sub": "u-1", "exp": in_an_hour()}));
    let (status, _) = start(&app, json!({"user_token": new})).await;
    assert_eq!(status, 201);
    let (_, listed) = get(&app, "/api/admin/widgets", &admin).await;
    let shown = listed.to_string();
    assert!(!shown.contains(secret), "never listed again");
    assert!(shown.contains("\"has_identity_secret\":true"), "{shown}");
    let (status, _) = agents::post(
        &app,
        "/api/admin/widgets/999999/identity-secret",
        &admin,
        json!({}),
    )
    .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pre_chat_answers_are_checked_stored_and_searchable() {
    let app = TestApp::start().await;
    let form = json!({"pre_chat": {
        "enabled": true,
        "fields": [
            {"key": "name", "required": true},
            {"key": "email", "required": true},
            {"key": "order", "label": "Order number", "required": true},
            {"key": "topic", "label": "Topic", "type": "select", "options": ["Billing", "Delivery"]}
        ],
        "consent": {"enabled": true, "text": "I agree to the privacy policy"}
    }});
    app.store
        .update_widget_settings(app.widget_id, form)
        .await
        .unwrap();
    let good = json!({
        "visitor_name": "Grace", "visitor_email": "grace@example.com",
        "attributes": {"order": "ZX-4471", "topic": "Delivery"}, "consent": true
    });
    let mut missing_order = good.clone();
    missing_order["attributes"] = json!({"topic": "Delivery"});
    let mut no_consent = good.clone();
    no_consent["consent"] = json!(false);
    let mut bad_choice = good.clone();
    bad_choice["attributes"]["topic"] = json!("Other");
    let mut unknown = good.clone();
    unknown["attributes"]["shoe_size"] = json!("42");
    for (why, body) in [
        ("order is required", missing_order),
        ("consent is required", no_consent),
        ("not a choice", bad_choice),
        ("not a question", unknown),
    ] {
        let (status, answer) = start(&app, body).await;
        assert_eq!(status, 422, "{why}: {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed");
    }
    let (status, started) = start(&app, good).await;
    assert_eq!(status, 201, "{started}");
    let id = started["conversation"]["id"].as_i64().unwrap();

    // A verified user skips the form.
    let (status, _) = start(
        &app,
        json!({"user_token": token_for("u-1", json!({"name": "Ada"}))}),
    )
    .await;
    assert_eq!(status, 201);

    let ada = agents::agent(&app, "Ada").await;
    let (_, seen) = get(&app, &format!("/api/agent/conversations/{id}"), &ada).await;
    assert_eq!(
        seen["conversation"]["attributes"],
        json!({"order": "ZX-4471", "topic": "Delivery"})
    );
    assert!(seen["conversation"]["consent_at"].is_string(), "{seen}");
    let (_, found) = get(&app, "/api/agent/conversations?q=zx-4471", &ada).await;
    let ids: Vec<i64> = found["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [id], "{found}");
}
