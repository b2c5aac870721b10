//! Signing in with a password: the session cookie, CSRF on writes, throttling, signing out,
//! sessions ended by the person, by inactivity or by revoking them, and the first admin's
//! setup link.

use reqwest::{header, Response};
use serde_json::{json, Value};

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

async fn admin(app: &TestApp, email: &str) -> parley_store::Agent {
    parley_chat::accounts::create_admin(app.store.as_ref(), email, Some("Ada"), PASSWORD.into())
        .await
        .unwrap()
}

/// A request with no token: what a browser with only its cookie sends.
fn get(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.http.get(app.url(path))
}

fn post(app: &TestApp, path: &str) -> reqwest::RequestBuilder {
    app.http.post(app.url(path))
}

async fn login(app: &TestApp, email: &str, password: &str) -> Response {
    post(app, "/api/auth/login")
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap()
}

/// A signed-in browser: its cookie and CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn signed_in(app: &TestApp, email: &str) -> Browser {
    let response = login(app, email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    Browser {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    }
}

async fn status_of(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_password_signs_in_with_an_http_only_cookie_that_works_like_a_token() {
    let app = TestApp::start().await;
    let ada = admin(&app, "ada@example.com").await;
    // The email matches whatever its case.
    let response = login(&app, "  ADA@example.com", PASSWORD).await;
    assert_eq!(response.status(), 200);
    let set_cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set_cookie.starts_with("parley_session=pss_"),
        "{set_cookie}"
    );
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(
        !set_cookie.contains("Secure"),
        "plain http here: {set_cookie}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["id"], ada.id);
    assert_eq!(body["user"]["role"], "admin");
    assert!(body["csrf_token"].as_str().unwrap().len() >= 32);
    assert!(body.to_string().find("argon2").is_none(), "no hash leaks");

    let cookie = set_cookie.split(';').next().unwrap();
    let (status, me) = status_of(get(&app, "/api/agent/me").header(header::COOKIE, cookie)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["agent"]["email"], "ada@example.com");
    let (status, session) =
        status_of(get(&app, "/api/auth/session").header(header::COOKIE, cookie)).await;
    assert_eq!(status, 200);
    assert_eq!(session["csrf_token"], body["csrf_token"]);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    let wrong = login(&app, "ada@example.com", "not the password").await;
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(header::SET_COOKIE).is_none());
    let wrong: Value = wrong.json().await.unwrap();
    let unknown = login(&app, "nobody@example.com", PASSWORD).await;
    assert_eq!(unknown.status(), 401);
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["error"]["code"], "unauthorized");

    // A revoked person cannot sign in, with the same answer.
    let bea = admin(&app, "bea@example.com").await;
    app.store.revoke_agent(bea.id).await.unwrap();
    let revoked: Value = login(&app, "bea@example.com", PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(revoked, wrong);

    // Malformed bodies are the API's errors, not panics.
    let (status, _) = status_of(post(&app, "/api/auth/login").json(&json!({"email": "a"}))).await;
    assert_eq!(status, 422);
    let (status, _) = status_of(
        post(&app, "/api/auth/login")
            .json(&json!({"email": "a\u{0}b@example.com", "password": "x"})),
    )
    .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn writes_with_the_cookie_need_the_csrf_token() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    let heartbeat = || post(&app, "/api/agent/heartbeat").header(header::COOKIE, &browser.cookie);
    let (status, body) = status_of(heartbeat()).await;
    assert_eq!(status, 403, "no token: {body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("CSRF"));
    let (status, _) = status_of(heartbeat().header("X-CSRF-Token", "wrong")).await;
    assert_eq!(status, 403);
    let (status, body) = status_of(heartbeat().header("X-CSRF-Token", &browser.csrf)).await;
    assert_eq!(status, 200, "{body}");
    // Another session's token is not this one's.
    let other = signed_in(&app, "ada@example.com").await;
    let (status, _) = status_of(heartbeat().header("X-CSRF-Token", &other.csrf)).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn sign_ins_are_throttled_per_account_and_per_ip() {
    let app = TestApp::start_with(
        |config| {
            config.login_attempts_per_account_per_minute = 3;
            config.login_attempts_per_ip_per_minute = 6;
        },
        None,
    )
    .await;
    admin(&app, "ada@example.com").await;
    for _ in 0..3 {
        assert_eq!(login(&app, "ada@example.com", "guess").await.status(), 401);
    }
    // Past the account's limit even the right password waits.
    let throttled = login(&app, "Ada@Example.com", PASSWORD).await;
    assert_eq!(throttled.status(), 429);
    let retry: u64 = throttled.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    // Other emails from this IP: every attempt counts, so the IP's sixth is its last.
    for email in ["x@example.com", "y@example.com"] {
        assert_eq!(login(&app, email, "guess").await.status(), 401);
    }
    assert_eq!(login(&app, "z@example.com", "guess").await.status(), 429);
}

/// Attempts sent all at once count as they arrive, before any password is checked: a burst gets
/// no more tries than the limit.
#[tokio::test]
async fn a_burst_of_parallel_sign_ins_gets_no_more_tries_than_the_limit() {
    let app = TestApp::start_with(
        |config| config.login_attempts_per_account_per_minute = 5,
        None,
    )
    .await;
    admin(&app, "ada@example.com").await;
    let attempts = (0..20).map(|_| login(&app, "ada@example.com", "guess"));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session_and_clears_the_cookie() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    let (status, _) =
        status_of(post(&app, "/api/auth/logout").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(status, 403, "signing out is a write: CSRF applies");
    let response = app
        .post("/api/auth/logout")
        .header(header::COOKIE, &browser.cookie)
        .header("X-CSRF-Token", &browser.csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cleared = response.headers()[header::SET_COOKIE].to_str().unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn people_see_and_end_their_own_sessions_only() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    admin(&app, "bea@example.com").await;
    let laptop = signed_in(&app, "ada@example.com").await;
    let phone = signed_in(&app, "ada@example.com").await;
    let bea = signed_in(&app, "bea@example.com").await;

    let (status, listed) =
        status_of(get(&app, "/api/auth/sessions").header(header::COOKIE, &laptop.cookie)).await;
    assert_eq!(status, 200);
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{listed}");
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    let phone_id = sessions.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_i64()
        .unwrap();
    let (_, bea_listed) =
        status_of(get(&app, "/api/auth/sessions").header(header::COOKIE, &bea.cookie)).await;
    let bea_id = bea_listed["sessions"][0]["id"].as_i64().unwrap();

    let end = |id: i64| {
        app.http
            .delete(app.url(&format!("/api/auth/sessions/{id}")))
            .header(header::COOKIE, &laptop.cookie)
            .header("X-CSRF-Token", &laptop.csrf)
    };
    let (status, _) = status_of(end(bea_id)).await;
    assert_eq!(status, 404, "another person's session is not yours to end");
    let (status, _) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &bea.cookie)).await;
    assert_eq!(status, 200);
    let (status, _) = status_of(end(phone_id)).await;
    assert_eq!(status, 200);
    let (status, _) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &phone.cookie)).await;
    assert_eq!(status, 401, "the phone is signed out");
    let (status, _) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &laptop.cookie)).await;
    assert_eq!(status, 200);
    // Without a cookie there are no sessions to list (a bearer token is not a session).
    let (status, _) = status_of(get(&app, "/api/auth/sessions")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn revoking_a_person_ends_their_sessions_at_once() {
    let app = TestApp::start().await;
    // Another admin, so that Ada is not the last one (who cannot be revoked).
    admin(&app, "owner@example.com").await;
    let ada = admin(&app, "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    app.store.revoke_agent(ada.id).await.unwrap();
    let (status, _) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(status, 401);
    // The last admin who can sign in cannot be revoked.
    let owner = app
        .store
        .agent_by_email("owner@example.com")
        .await
        .unwrap()
        .unwrap();
    let err = app
        .store
        .revoke_agent(owner.id)
        .await
        .expect_err("last admin");
    assert!(
        matches!(err, parley_store::StoreError::LastAdmin),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_idle_session_ends() {
    let app = TestApp::start_with(
        |config| config.session_idle = chrono::Duration::milliseconds(1),
        None,
    )
    .await;
    admin(&app, "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, body) =
        status_of(get(&app, "/api/agent/me").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sign in again"));
}

#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = TestApp::start().await;
    let (status, state) = status_of(get(&app, "/api/auth/setup")).await;
    assert_eq!(status, 200);
    assert_eq!(state["needed"], true);
    let token = app.state.setup.offer();
    let form = |token: &str, password: &str| {
        post(&app, "/api/auth/setup").json(&json!({
            "token": token, "email": "Owner@Example.com", "name": "Owner", "password": password,
        }))
    };
    let (status, _) = status_of(form("psl_guess", PASSWORD)).await;
    assert_eq!(status, 401);
    let (status, body) = status_of(form(&token, "short")).await;
    assert_eq!(status, 422, "{body}");
    // The refused form left the link usable.
    let response = form(&token, PASSWORD).send().await.unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().get(header::SET_COOKIE).is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["role"], "admin");
    assert_eq!(body["user"]["email"], "owner@example.com");
    let (status, _) = status_of(form(&token, PASSWORD)).await;
    assert_eq!(status, 409, "Parley has an admin now");
    let (_, state) = status_of(get(&app, "/api/auth/setup")).await;
    assert_eq!(state["needed"], false);
    assert_eq!(
        login(&app, "owner@example.com", PASSWORD).await.status(),
        200
    );
    let log = app.store.audit_log(None, 10).await.unwrap();
    assert_eq!(log[0].action, "admin.setup");
}

#[tokio::test]
async fn other_sites_cannot_call_the_sign_in_api() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    let (status, _) = status_of(
        post(&app, "/api/auth/login")
            .header(header::ORIGIN, "https://evil.example")
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD })),
    )
    .await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn a_person_makes_and_revokes_their_own_api_token() {
    let app = TestApp::start().await;
    admin(&app, "ada@example.com").await;
    let browser = signed_in(&app, "ada@example.com").await;
    let me_with = |token: String| {
        let app = &app;
        async move {
            app.http
                .get(app.url("/api/agent/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (status, _) =
        status_of(post(&app, "/api/auth/token").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(status, 403, "a write: CSRF applies");
    let (status, made) = status_of(
        post(&app, "/api/auth/token")
            .header(header::COOKIE, &browser.cookie)
            .header("X-CSRF-Token", &browser.csrf),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let first = made["token"].as_str().unwrap().to_string();
    assert!(first.starts_with("cba_"));
    assert_eq!(me_with(first.clone()).await, 200);
    let (_, again) = status_of(
        post(&app, "/api/auth/token")
            .header(header::COOKIE, &browser.cookie)
            .header("X-CSRF-Token", &browser.csrf),
    )
    .await;
    let second = again["token"].as_str().unwrap().to_string();
    assert_eq!(me_with(first).await, 401, "the previous token stops");
    assert_eq!(me_with(second.clone()).await, 200);
    let (status, _) = status_of(
        app.http
            .delete(app.url("/api/auth/token"))
            .header(header::COOKIE, &browser.cookie)
            .header("X-CSRF-Token", &browser.csrf),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me_with(second.clone()).await, 401);
    // A bearer token cannot mint tokens: only a signed-in person can.
    let (status, _) = status_of(post(&app, "/api/auth/token").bearer_auth(&second)).await;
    assert_eq!(status, 401);
    let (_, session) =
        status_of(get(&app, "/api/auth/session").header(header::COOKIE, &browser.cookie)).await;
    assert_eq!(session["success"], true, "the session stays");
}
