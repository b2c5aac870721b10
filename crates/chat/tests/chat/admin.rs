//! The admins' API: who is refused, invitations and reset links that work once, roles that
//! always leave an admin, disabling someone, and the audit log of it all.

use reqwest::header;
use serde_json::{json, Value};

use crate::support::*;

const PASSWORD: &str = "correct horse battery";

/// A signed-in browser: its cookie and CSRF token.
pub(crate) struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
    csrf: String,
}

impl Browser<'_> {
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.app
            .http
            .request(method, self.app.url(path))
            .header(header::COOKIE, &self.cookie)
            .header("X-CSRF-Token", &self.csrf)
    }

    /// Signs `channel` for `socket_id` as the dashboard does: the session cookie and the CSRF
    /// token, no bearer token.
    pub(crate) async fn sign(&self, socket_id: &str, channel: &str) -> (u16, Value) {
        let response = self
            .request(reqwest::Method::POST, "/api/agent/broadcasting/auth")
            .form(&[("socket_id", socket_id), ("channel_name", channel)])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// A new socket subscribed to `channel`, signed as the dashboard signs it.
    pub(crate) async fn subscriber(&self, channel: &str) -> Subscriber {
        let mut socket = Subscriber::connect(self.app.realtime_addr).await;
        let (status, auth) = self.sign(&socket.socket_id, channel).await;
        assert_eq!(status, 200, "{auth}");
        socket
            .send(json!({"event": "pusher:subscribe", "data": {"channel": channel, "auth": auth["auth"]}}))
            .await;
        assert_eq!(
            socket.recv().await["event"],
            "pusher_internal:subscription_succeeded"
        );
        socket
    }

    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.request(method, path);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

/// Signs in with a password.
async fn sign_in<'a>(app: &'a TestApp, email: &str, password: &str) -> Result<Browser<'a>, u16> {
    let response = app
        .http
        .post(app.url("/api/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    browser(app, response).await
}

async fn browser(app: &TestApp, response: reqwest::Response) -> Result<Browser<'_>, u16> {
    if !response.status().is_success() {
        return Err(response.status().as_u16());
    }
    let cookie = response.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body: Value = response.json().await.unwrap();
    Ok(Browser {
        app,
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_string(),
    })
}

async fn accept(app: &TestApp, path: &str, password: &str) -> reqwest::Response {
    let token = path.split_once('=').unwrap().1;
    app.http
        .post(app.url("/api/auth/accept"))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .unwrap()
}

pub(crate) async fn owner(app: &TestApp) -> Browser<'_> {
    parley_chat::accounts::create_admin(
        app.store.as_ref(),
        "owner@example.com",
        None,
        PASSWORD.into(),
    )
    .await
    .unwrap();
    sign_in(app, "owner@example.com", PASSWORD).await.unwrap()
}

/// Invites `email` as `role` and has them accept: their browser.
pub(crate) async fn member<'a>(
    app: &'a TestApp,
    admin: &Browser<'_>,
    email: &str,
    role: &str,
) -> (i64, Browser<'a>) {
    let (status, invited) = admin
        .call(
            reqwest::Method::POST,
            "/api/admin/users",
            Some(json!({ "email": email, "role": role })),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    let id = invited["user"]["id"].as_i64().unwrap();
    let path = invited["invite_path"].as_str().unwrap();
    (
        id,
        browser(app, accept(app, path, PASSWORD).await)
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn agents_and_strangers_are_refused() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (_, agent) = member(&app, &admin, "agent@example.com", "agent").await;
    for (method, path) in [
        (reqwest::Method::GET, "/api/admin/users"),
        (reqwest::Method::POST, "/api/admin/users"),
        (reqwest::Method::PATCH, "/api/admin/users/1"),
        (reqwest::Method::POST, "/api/admin/users/1/disable"),
        (reqwest::Method::POST, "/api/admin/users/1/reset-link"),
        (reqwest::Method::GET, "/api/admin/audit"),
    ] {
        let (status, body) = agent
            .call(
                method.clone(),
                path,
                Some(json!({ "email": "x@example.com" })),
            )
            .await;
        assert_eq!(status, 403, "an agent on {method} {path}: {body}");
        let status = app
            .http
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401, "nobody on {method} {path}");
    }
    // A bearer token is an agent's too: refused the same way.
    let agent_token = crate::agents::agent(&app, "Tokened").await;
    let status = app
        .http
        .get(app.url("/api/admin/users"))
        .bearer_auth(&agent_token.token)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    // A write with the cookie but no CSRF token is refused before the role is looked at.
    let status = app
        .http
        .post(app.url("/api/admin/users"))
        .header(header::COOKIE, &admin.cookie)
        .json(&json!({ "email": "y@example.com" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
}

#[tokio::test]
async fn an_invitation_sets_a_password_once_and_is_audited() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (status, invited) = admin
        .call(
            reqwest::Method::POST,
            "/api/admin/users",
            Some(json!({ "email": "Bea@Example.com", "name": "Bea" })),
        )
        .await;
    assert_eq!(status, 201, "{invited}");
    assert_eq!(invited["user"]["role"], "agent");
    assert_eq!(invited["user"]["has_password"], false);
    let path = invited["invite_path"].as_str().unwrap().to_string();
    assert!(path.starts_with("/dashboard#invite=psl_"), "{path}");
    // Not before the password is chosen.
    assert_eq!(
        sign_in(&app, "bea@example.com", PASSWORD).await.err(),
        Some(401)
    );

    let response = accept(&app, &path, "short").await;
    assert_eq!(
        response.status(),
        422,
        "a refused password leaves the link usable"
    );
    let response = accept(&app, &path, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let bea = browser(&app, response).await.unwrap();
    let (status, me) = bea.call(reqwest::Method::GET, "/api/agent/me", None).await;
    assert_eq!(status, 200);
    assert_eq!(me["agent"]["email"], "bea@example.com");
    assert_eq!(accept(&app, &path, PASSWORD).await.status(), 401, "used");
    assert!(sign_in(&app, "bea@example.com", PASSWORD).await.is_ok());

    // A second invitation for a taken email, a bad email, an unknown role.
    for (body, expected) in [
        (json!({ "email": "BEA@example.com" }), 409),
        (json!({ "email": "not an email" }), 422),
        (json!({ "email": "c@example.com", "role": "owner" }), 422),
    ] {
        let (status, answer) = admin
            .call(
                reqwest::Method::POST,
                "/api/admin/users",
                Some(body.clone()),
            )
            .await;
        assert_eq!(status, expected, "{body}: {answer}");
    }

    let (status, log) = admin
        .call(reqwest::Method::GET, "/api/admin/audit", None)
        .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["user.accept_invite", "user.invite"]);
    let invite = &log["entries"][1];
    assert_eq!(invite["target"], format!("agent:{}", invited["user"]["id"]));
    assert_eq!(invite["ip"], "127.0.0.1");
    assert!(invite["actor_id"].is_i64());
    let (status, _) = admin
        .call(reqwest::Method::GET, "/api/admin/audit?limit=0", None)
        .await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (id, _) = member(&app, &admin, "bea@example.com", "agent").await;
    let token = parley_chat::accounts::new_link_token();
    app.store
        .create_link(parley_store::NewAccountLink {
            agent_id: id,
            purpose: parley_store::LinkPurpose::Reset,
            token_hash: parley_chat::tokens::hash_token(&token),
            expires_at: chrono::Utc::now() - chrono::Duration::seconds(1),
        })
        .await
        .unwrap();
    let response = accept(&app, &format!("/dashboard#reset={token}"), "a new password").await;
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn there_is_always_an_admin() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (_, me) = admin
        .call(reqwest::Method::GET, "/api/agent/me", None)
        .await;
    let owner_id = me["agent"]["id"].as_i64().unwrap();
    let (status, body) = admin
        .call(
            reqwest::Method::PATCH,
            &format!("/api/admin/users/{owner_id}"),
            Some(json!({ "role": "agent", "name": "Renamed" })),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let unchanged = app.store.agent(owner_id).await.unwrap().unwrap();
    assert_ne!(unchanged.name, "Renamed", "a refused change writes nothing");
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{owner_id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 409);

    let (bea_id, bea) = member(&app, &admin, "bea@example.com", "agent").await;
    let (status, promoted) = admin
        .call(
            reqwest::Method::PATCH,
            &format!("/api/admin/users/{bea_id}"),
            Some(json!({ "role": "admin", "name": "Bea Admin" })),
        )
        .await;
    assert_eq!(status, 200, "{promoted}");
    assert_eq!(promoted["user"]["role"], "admin");
    assert_eq!(promoted["user"]["name"], "Bea Admin");
    // Bea's existing session has the new role at once.
    let (status, _) = bea
        .call(reqwest::Method::GET, "/api/admin/users", None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .call(
            reqwest::Method::PATCH,
            &format!("/api/admin/users/{owner_id}"),
            Some(json!({ "role": "agent" })),
        )
        .await;
    assert_eq!(status, 200, "another admin remains");
    let (status, _) = admin
        .call(reqwest::Method::GET, "/api/admin/users", None)
        .await;
    assert_eq!(status, 403, "the owner is an agent now");
    let (status, _) = bea
        .call(
            reqwest::Method::PATCH,
            "/api/admin/users/999999",
            Some(json!({ "name": "X" })),
        )
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn disabling_someone_ends_their_sessions_and_sign_ins() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (bea_id, bea) = member(&app, &admin, "bea@example.com", "agent").await;
    let (status, _) = bea.call(reqwest::Method::GET, "/api/agent/me", None).await;
    assert_eq!(status, 200);
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{bea_id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = bea.call(reqwest::Method::GET, "/api/agent/me", None).await;
    assert_eq!(status, 401);
    assert_eq!(
        sign_in(&app, "bea@example.com", PASSWORD).await.err(),
        Some(401)
    );
    let (_, users) = admin
        .call(reqwest::Method::GET, "/api/admin/users", None)
        .await;
    let listed = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == bea_id)
        .unwrap();
    assert!(listed["disabled_at"].is_string(), "{listed}");
    let (status, _) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{bea_id}/disable"),
            None,
        )
        .await;
    assert_eq!(status, 404, "already disabled");
}

#[tokio::test]
async fn a_reset_link_sets_a_new_password_and_signs_out_everywhere_else() {
    let app = TestApp::start().await;
    let admin = owner(&app).await;
    let (bea_id, old_session) = member(&app, &admin, "bea@example.com", "agent").await;
    let (status, reset) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{bea_id}/reset-link"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{reset}");
    let older = reset["reset_path"].as_str().unwrap().to_string();
    let (_, reset) = admin
        .call(
            reqwest::Method::POST,
            &format!("/api/admin/users/{bea_id}/reset-link"),
            None,
        )
        .await;
    let path = reset["reset_path"].as_str().unwrap();
    assert!(path.starts_with("/dashboard#reset=psl_"), "{path}");
    assert_eq!(
        accept(&app, &older, "an older link's password")
            .await
            .status(),
        401,
        "a new reset link replaces the older one"
    );
    let response = accept(&app, path, "a brand new password").await;
    assert_eq!(response.status(), 200);
    let new_session = browser(&app, response).await.unwrap();
    let (status, _) = old_session
        .call(reqwest::Method::GET, "/api/agent/me", None)
        .await;
    assert_eq!(status, 401, "the old session ended");
    let (status, _) = new_session
        .call(reqwest::Method::GET, "/api/agent/me", None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        sign_in(&app, "bea@example.com", PASSWORD).await.err(),
        Some(401)
    );
    assert!(sign_in(&app, "bea@example.com", "a brand new password")
        .await
        .is_ok());
    assert_eq!(accept(&app, path, "yet another one").await.status(), 401);
}
