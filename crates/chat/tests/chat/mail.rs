//! Email against a real SMTP server (aiosmtpd, started per test): agents' replies to a visitor
//! who is away, batched and sent once; nothing for a connected visitor; transcripts on request
//! and on close; the mailed link that reopens the conversation and who it refuses; the team's
//! account links; failures retried only when nothing was delivered; STARTTLS and TLS.

use std::time::Duration;

use parley_chat::mail::{MailConfig, RunnerConfig, SmtpSettings};
use parley_store::{MailKind, MailState};
use serde_json::{json, Value};

use crate::{
    agents::{agent, post},
    smtp_sink::{certificates, SmtpSink},
    support::TestApp,
};

const FROM: &str = "Parley Support <support@parley.test>";

/// A stack that mails through `url`, visitors counting as away after `after`.
pub(crate) async fn mail_app(
    url: &str,
    after: Duration,
    tweak: impl FnOnce(&mut SmtpSettings),
) -> TestApp {
    let mut smtp = SmtpSettings::parse(url).unwrap();
    smtp.timeout = Duration::from_secs(2);
    tweak(&mut smtp);
    let app = TestApp::start_with(
        |config| {
            config.mail = Some(MailConfig {
                smtp,
                from: MailConfig::parse_from(FROM).unwrap(),
                email_after: after,
            });
            config.public_url = Some("https://chat.parley.test".into());
        },
        None,
    )
    .await;
    parley_chat::mail::start(
        app.service.clone(),
        RunnerConfig {
            lease: Duration::from_secs(30),
            max_attempts: 3,
            retry_base: Duration::from_millis(300),
            poll: Duration::from_millis(100),
        },
        tokio_util::sync::CancellationToken::new(),
    );
    app
}

pub(crate) fn plain(port: u16) -> String {
    format!("smtp://127.0.0.1:{port}?tls=none")
}

async fn visitor(app: &TestApp, locale: &str) -> (i64, String) {
    app.conversation_as(json!({
        "visitor_name": "Vera",
        "visitor_email": "vera@example.com",
        "page_url": "https://shop.test/help?topic=1#old",
        "locale": locale,
    }))
    .await
}

/// The link a mail's text part carries, and its key.
fn link_of(mail: &Value) -> (String, String) {
    let text = mail["text"].as_str().unwrap();
    let start = text.find("https://shop.test/").expect("a link");
    let link: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let key = link
        .split_once("#parley_reopen=")
        .expect("a key")
        .1
        .to_string();
    (link, key)
}

async fn resume(app: &TestApp, id: i64, key: &str) -> (u16, Value) {
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/resume"))
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn jobs(app: &TestApp, id: i64) -> Vec<parley_store::MailJob> {
    app.store.mail_jobs_of(id).await.unwrap()
}

/// Waits until every job of conversation `id` is over (but batches of replies not due for
/// minutes); returns them.
async fn settled(app: &TestApp, id: i64) -> Vec<parley_store::MailJob> {
    for _ in 0..200 {
        let jobs = jobs(app, id).await;
        let over = |j: &parley_store::MailJob| {
            !matches!(j.state, MailState::Pending | MailState::Sending)
                || (j.kind == MailKind::Replies && j.attempts == 0 && j.state == MailState::Pending)
        };
        if jobs.iter().all(over) {
            return jobs;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("jobs still running: {:#?}", jobs(app, id).await);
}

#[tokio::test]
async fn an_offline_reply_is_emailed_once_batched_in_the_visitors_language() {
    let dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    let app = mail_app(&plain(sink.port), Duration::from_secs(1), |_| {}).await;
    let (id, _token) = visitor(&app, "es").await;
    let ada = agent(&app, "Ada").await;
    let path = format!("/api/agent/conversations/{id}/messages");
    let (status, _) = post(
        &app,
        &path,
        &ada,
        json!({"message": "Hola Vera <b>Tom & Jerry</b>"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = post(&app, &path, &ada, json!({"message": "¿Sigues ahí?"})).await;
    assert_eq!(status, 201);

    // One mail for both replies, a second after the visitor has been away for a second.
    let mails = sink.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.mails().len(), 1, "batched: {mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail["rcpt_tos"], json!(["vera@example.com"]));
    assert_eq!(mail["mail_from"], "support@parley.test");
    assert_eq!(mail["content_type"], "multipart/alternative");
    let headers = &mail["headers"];
    assert_eq!(headers["From"], "Parley Support <support@parley.test>");
    assert_eq!(headers["To"], "vera@example.com");
    assert_eq!(headers["Subject"], "Nueva respuesta de Test");
    assert!(!headers["Date"].as_str().unwrap().is_empty());
    let message_id = headers["Message-ID"].as_str().unwrap();
    assert!(
        message_id.starts_with("<parley.") && message_id.ends_with("@parley.test>"),
        "{message_id}"
    );
    let text = mail["text"].as_str().unwrap();
    assert!(text.contains("Esto es lo que Test te escribió"), "{text}");
    assert!(
        text.contains("Hola Vera <b>Tom & Jerry</b>") && text.contains("¿Sigues ahí?"),
        "{text}"
    );
    assert!(text.contains("Continuar la conversación"), "{text}");
    let html = mail["html"].as_str().unwrap();
    assert!(html.contains("lang=\"es\""), "{html}");
    assert!(
        html.contains("Hola Vera &lt;b&gt;Tom &amp; Jerry&lt;/b&gt;"),
        "escaped: {html}"
    );
    assert!(!html.contains("<b>Tom"), "{html}");
    assert!(html.contains("¿Sigues ahí?"));

    // The link reopens the conversation: its page (without the old fragment) and a key that
    // the widget trades for a visitor token.
    let (link, key) = link_of(mail);
    assert!(
        link.starts_with("https://shop.test/help?topic=1#parley_reopen="),
        "{link}"
    );
    assert!(html.contains(&link.replace('&', "&amp;")));
    let (status, body) = resume(&app, id, &key).await;
    assert_eq!(status, 200, "{body}");
    let token = body["visitor_token"].as_str().unwrap();
    assert_eq!(body["conversation"]["id"], id);
    let response = app
        .get(&format!("/api/chatbot/conversation/{id}"))
        .header("X-Visitor-Token", token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let history: Value = response.json().await.unwrap();
    assert_eq!(history["messages"].as_array().unwrap().len(), 2);
    let (status, _) = app
        .send(id, token, json!({"message": "Sí, aquí estoy"}))
        .await;
    assert_eq!(status, 201, "the resumed visitor can write");

    let done = settled(&app, id).await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].kind, MailKind::Replies);
    assert_eq!(done[0].state, MailState::Sent);

    // A later reply, while the visitor is away again, is the next mail, with only that reply.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, _) = post(&app, &path, &ada, json!({"message": "Gracias, Vera"})).await;
    assert_eq!(status, 201);
    let mails = sink.wait_for(2).await;
    let text = mails[1]["text"].as_str().unwrap();
    assert!(
        text.contains("Gracias, Vera") && !text.contains("Sigues"),
        "{text}"
    );
    assert_eq!(settled(&app, id).await.len(), 2);
    assert_eq!(sink.mails().len(), 2);
}

#[tokio::test]
async fn a_connected_visitor_is_not_emailed_and_english_is_the_default() {
    let dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    let app = mail_app(&plain(sink.port), Duration::from_secs(2), |_| {}).await;
    let (id, token) = visitor(&app, "xx").await;
    let ada = agent(&app, "Ada").await;
    let path = format!("/api/agent/conversations/{id}/messages");
    // The open widget's heartbeat while the agent answers.
    let heartbeat = |app: &TestApp| {
        app.post(&format!("/api/chatbot/conversation/{id}/seen"))
            .header("X-Visitor-Token", &token)
            .send()
    };
    assert_eq!(heartbeat(&app).await.unwrap().status(), 200);
    post(&app, &path, &ada, json!({"message": "Seen live"})).await;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(heartbeat(&app).await.unwrap().status(), 200);
    }
    // The batch waits while the visitor is around, then finds every reply seen.
    let mut done = jobs(&app, id).await;
    for _ in 0..200 {
        if done
            .iter()
            .all(|j| !matches!(j.state, MailState::Pending | MailState::Sending))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        done = jobs(&app, id).await;
    }
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].state, MailState::Skipped, "{done:#?}");
    assert!(sink.mails().is_empty());

    // Gone quiet: the next reply is mailed, in English (the widget spoke an unknown language).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    post(&app, &path, &ada, json!({"message": "Are you there?"})).await;
    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0]["headers"]["Subject"], "New reply from Test");
    let text = mails[0]["text"].as_str().unwrap();
    assert!(
        text.contains("Are you there?") && !text.contains("Seen live"),
        "{text}"
    );

    // A stranger's heartbeat does not count.
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/seen"))
        .header("X-Visitor-Token", "cbv_wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn transcripts_on_request_and_on_close_and_who_is_refused() {
    let dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    let app = mail_app(&plain(sink.port), Duration::from_secs(300), |_| {}).await;
    app.store
        .update_widget_settings(
            app.widget_id,
            json!({"email": {"transcript_on_close": true}}),
        )
        .await
        .unwrap();
    let (id, token) = visitor(&app, "fr").await;
    let transcript = |token: &str| {
        app.post(&format!("/api/chatbot/conversation/{id}/transcript"))
            .header("X-Visitor-Token", token)
            .send()
    };
    // Nothing to send yet.
    assert_eq!(transcript(&token).await.unwrap().status(), 422);
    app.send(id, &token, json!({"message": "Bonjour, j'ai une question"}))
        .await;
    let response = transcript(&token).await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["queued"], true);
    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail["headers"]["Subject"], "Votre conversation avec Test");
    assert!(mail["text"].as_str().unwrap().contains("Vous ("));
    assert!(mail["text"]
        .as_str()
        .unwrap()
        .contains("Bonjour, j'ai une question"));
    assert!(mail["html"]
        .as_str()
        .unwrap()
        .contains("Bonjour, j&#39;ai une question"));
    let (_, key) = link_of(mail);
    assert_eq!(resume(&app, id, &key).await.0, 200);

    // The same transcript again is not sent twice; past three a minute, 429.
    let response = transcript(&token).await.unwrap();
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap()["queued"], false);
    assert_eq!(transcript(&token).await.unwrap().status(), 429);
    // Another visitor's token; no token.
    assert_eq!(transcript("cbv_wrong").await.unwrap().status(), 403);

    // Closing sends the transcript (the widget asks for it), with the agent's last word.
    let ada = agent(&app, "Ada").await;
    post(
        &app,
        &format!("/api/agent/conversations/{id}/messages"),
        &ada,
        json!({"message": "Au revoir"}),
    )
    .await;
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{id}/status"),
        &ada,
        json!({"status": "closed"}),
    )
    .await;
    assert_eq!(status, 200);
    let mails = sink.wait_for(2).await;
    assert!(mails[1]["text"].as_str().unwrap().contains("Au revoir"));
    let done = settled(&app, id).await;
    let transcripts: Vec<_> = done
        .iter()
        .filter(|j| j.kind == MailKind::Transcript)
        .collect();
    assert_eq!(transcripts.len(), 2);
    assert!(transcripts.iter().all(|j| j.state == MailState::Sent));

    // A conversation without an email: 422.
    let (anonymous, anonymous_token) = app.conversation().await;
    app.send(anonymous, &anonymous_token, json!({"message": "hi"}))
        .await;
    let response = app
        .post(&format!("/api/chatbot/conversation/{anonymous}/transcript"))
        .header("X-Visitor-Token", &anonymous_token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no email"),
        "{body}"
    );
}

#[tokio::test]
async fn without_smtp_mail_endpoints_say_so_and_the_rest_works() {
    let app = TestApp::start().await;
    let (id, token) = visitor(&app, "en").await;
    app.send(id, &token, json!({"message": "hi"})).await;
    let response = app
        .post(&format!("/api/chatbot/conversation/{id}/transcript"))
        .header("X-Visitor-Token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("PARLEY_SMTP_URL"),
        "{body}"
    );
    let ada = agent(&app, "Ada").await;
    let (status, _) = post(
        &app,
        &format!("/api/agent/conversations/{id}/messages"),
        &ada,
        json!({"message": "hello"}),
    )
    .await;
    assert_eq!(status, 201);
    assert!(jobs(&app, id).await.is_empty(), "nothing queued");
}

#[tokio::test]
async fn a_reopen_key_is_refused_when_forged_expired_or_for_another_conversation() {
    let app = TestApp::start().await;
    let (first, _) = visitor(&app, "en").await;
    let (second, second_token) = visitor(&app, "en").await;
    let conversation = app.store.conversation(first).await.unwrap().unwrap();
    let secret = "link-secret";
    let now = chrono::Utc::now();
    let key = parley_chat::mail::reopen_key(secret, &conversation, now + chrono::Duration::days(1));
    // The right key works; for another conversation, forged, expired or empty it does not.
    assert_eq!(resume(&app, first, &key).await.0, 200);
    assert_eq!(resume(&app, second, &key).await.0, 403);
    let forged = parley_chat::mail::reopen_key(
        "guessed secret",
        &conversation,
        now + chrono::Duration::days(1),
    );
    assert_eq!(resume(&app, first, &forged).await.0, 403);
    let expired =
        parley_chat::mail::reopen_key(secret, &conversation, now - chrono::Duration::seconds(1));
    assert_eq!(resume(&app, first, &expired).await.0, 403);
    assert_eq!(resume(&app, first, "").await.0, 403);
    assert_eq!(resume(&app, 999_999, &key).await.0, 404);
    // No widget token: 401.
    let response = app
        .http
        .post(app.url(&format!("/api/chatbot/conversation/{first}/resume")))
        .json(&json!({ "key": key }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    // The token it gives opens that conversation only.
    let (_, body) = resume(&app, first, &key).await;
    let token = body["visitor_token"].as_str().unwrap().to_string();
    let get = |id: i64, token: &str| {
        app.get(&format!("/api/chatbot/conversation/{id}"))
            .header("X-Visitor-Token", token.to_string())
            .send()
    };
    assert_eq!(get(first, &token).await.unwrap().status(), 200);
    assert_eq!(get(second, &token).await.unwrap().status(), 403);
    assert_eq!(get(second, &second_token).await.unwrap().status(), 200);
    // A key is not a visitor token.
    assert_eq!(get(first, &key).await.unwrap().status(), 403);

    // Another widget's token: not its conversation.
    let mut app = app;
    app.use_bot(json!({})).await;
    assert_eq!(resume(&app, first, &key).await.0, 404);
}

#[tokio::test]
async fn invitations_and_reset_links_are_emailed_and_still_shown() {
    let dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&dir, &[]);
    let app = mail_app(&plain(sink.port), Duration::from_secs(300), |_| {}).await;
    let owner = crate::admin::owner(&app).await;
    let (status, invited) = owner
        .call(
            reqwest::Method::POST,
            "/api/admin/users",
            Some(json!({"email": "Bea@Example.com", "name": "Bea"})),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["emailed"], true);
    let path = invited["invite_path"].as_str().unwrap();
    let mails = sink.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail["rcpt_tos"], json!(["bea@example.com"]));
    assert_eq!(
        mail["headers"]["Subject"],
        "You are invited to answer chats on Parley"
    );
    let url = format!("https://chat.parley.test{path}");
    assert!(mail["text"].as_str().unwrap().contains(&url), "{mail}");
    assert!(mail["html"].as_str().unwrap().contains(&url));
    // The mailed link is the one that works.
    let token = url.split_once("#invite=").unwrap().1;
    let response = app
        .http
        .post(app.url("/api/auth/accept"))
        .json(&json!({"token": token, "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let id = invited["user"]["id"].as_i64().unwrap();
    let (status, reset) = owner
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{id}/reset-link"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{reset}");
    assert_eq!(reset["emailed"], true);
    let mails = sink.wait_for(2).await;
    assert_eq!(
        mails[1]["headers"]["Subject"],
        "Choose a new Parley password"
    );
    assert!(mails[1]["text"]
        .as_str()
        .unwrap()
        .contains(reset["reset_path"].as_str().unwrap()));
}

#[tokio::test]
async fn a_refused_mail_is_retried_and_a_mail_that_may_have_gone_is_not() {
    // The server answers the first message 451: nothing delivered, tried again.
    let dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&dir, &["--refuse-first", "1"]);
    let app = mail_app(&plain(sink.port), Duration::from_secs(300), |_| {}).await;
    let (id, token) = visitor(&app, "en").await;
    app.send(id, &token, json!({"message": "hello"})).await;
    app.post(&format!("/api/chatbot/conversation/{id}/transcript"))
        .header("X-Visitor-Token", &token)
        .send()
        .await
        .unwrap();
    sink.wait_for(1).await;
    let done = settled(&app, id).await;
    assert_eq!(
        (done[0].state, done[0].attempts),
        (MailState::Sent, 2),
        "{done:#?}"
    );
    assert!(
        done[0].last_error.as_deref().unwrap_or("").contains("451"),
        "{done:#?}"
    );

    // The server takes the message and never answers: it may have been delivered, so it is
    // not sent again.
    let dir = crate::support::temp_dir();
    let hanging = SmtpSink::start(&dir, &["--hang-after-data"]);
    let app = mail_app(&plain(hanging.port), Duration::from_secs(300), |smtp| {
        smtp.timeout = Duration::from_millis(500)
    })
    .await;
    let (id, token) = visitor(&app, "en").await;
    app.send(id, &token, json!({"message": "hello"})).await;
    app.post(&format!("/api/chatbot/conversation/{id}/transcript"))
        .header("X-Visitor-Token", &token)
        .send()
        .await
        .unwrap();
    let done = settled(&app, id).await;
    assert_eq!(
        (done[0].state, done[0].attempts),
        (MailState::Unknown, 1),
        "{done:#?}"
    );
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(hanging.mails().len(), 1, "received once, never again");

    // Nobody listening: not delivered, retried, then given up.
    let app = mail_app(
        "smtp://127.0.0.1:9?tls=none",
        Duration::from_secs(300),
        |_| {},
    )
    .await;
    let (id, token) = visitor(&app, "en").await;
    app.send(id, &token, json!({"message": "hello"})).await;
    app.post(&format!("/api/chatbot/conversation/{id}/transcript"))
        .header("X-Visitor-Token", &token)
        .send()
        .await
        .unwrap();
    let done = settled(&app, id).await;
    assert_eq!(
        (done[0].state, done[0].attempts),
        (MailState::Failed, 3),
        "{done:#?}"
    );
}

#[tokio::test]
async fn starttls_and_implicit_tls() {
    let dir = crate::support::temp_dir();
    let (ca, cert, key) = certificates(&dir);
    let ca = std::fs::read(ca).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let with_ca = |smtp: &mut SmtpSettings| smtp.extra_roots = vec![ca.clone()];

    for (options, url) in [
        (
            vec!["--starttls", cert, key],
            "smtp://localhost:{port}?tls=required",
        ),
        (vec!["--tls", cert, key], "smtps://localhost:{port}"),
    ] {
        let sink_dir = crate::support::temp_dir();
        let sink = SmtpSink::start(&sink_dir, &options);
        let url = url.replace("{port}", &sink.port.to_string());
        let app = mail_app(&url, Duration::from_secs(300), with_ca).await;
        let (id, token) = visitor(&app, "de").await;
        app.send(id, &token, json!({"message": "Hallo"})).await;
        let response = app
            .post(&format!("/api/chatbot/conversation/{id}/transcript"))
            .header("X-Visitor-Token", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 202);
        let mails = sink.wait_for(1).await;
        assert_eq!(mails[0]["tls"], true, "{url}");
        assert_eq!(mails[0]["headers"]["Subject"], "Ihre Unterhaltung mit Test");
    }

    // tls=required and a server without STARTTLS: never sent in clear, retried, given up.
    let sink_dir = crate::support::temp_dir();
    let sink = SmtpSink::start(&sink_dir, &[]);
    let url = format!("smtp://127.0.0.1:{}?tls=required", sink.port);
    let app = mail_app(&url, Duration::from_secs(300), |_| {}).await;
    let (id, token) = visitor(&app, "en").await;
    app.send(id, &token, json!({"message": "hi"})).await;
    app.post(&format!("/api/chatbot/conversation/{id}/transcript"))
        .header("X-Visitor-Token", &token)
        .send()
        .await
        .unwrap();
    let done = settled(&app, id).await;
    assert_eq!(done[0].state, MailState::Failed);
    assert!(
        done[0].last_error.as_deref().unwrap().contains("STARTTLS"),
        "{done:#?}"
    );
    assert!(sink.mails().is_empty());
}
