//! Accounts: emails whatever their case, passwords, roles, first-run detection, sessions (idle
//! cut-off, revocation, with their agent), single-use links (also under concurrent use) and the
//! audit log.

use std::sync::Arc;

use chrono::{Duration, Utc};
use parley_store::{
    AgentAvailability, LinkPurpose, NewAccountLink, NewAgent, NewAuditEntry, NewSession, Role,
    Session, StoreError,
};

use crate::{
    support::{agent, on_both, token, Db},
    text::assert_refused,
};

on_both!(
    the_last_admin_keeps_their_rights,
    access_changes_are_noted_and_read_since,
    spending_an_agents_links,
    an_api_token_is_replaced,
    email_lookup_ignores_case,
    an_email_in_another_case_conflicts,
    passwords_roles_and_names,
    first_run_means_no_live_agent_has_a_password,
    sessions_are_found_until_idle_or_revoked,
    touching_a_session_keeps_it_alive,
    revoking_sessions_one_or_all,
    revoking_an_agent_ends_their_sessions,
    a_link_works_once_and_only_for_its_purpose,
    an_expired_link_or_a_revoked_agents_link_is_refused,
    concurrent_uses_of_a_link_have_one_winner,
    audit_log_pages_newest_first,
    nul_is_refused_in_account_text,
);

fn new_session(agent_id: i64) -> NewSession {
    NewSession {
        agent_id,
        token_hash: token(),
        csrf_token: token(),
        ip: Some("203.0.113.7".into()),
        user_agent: Some("Mozilla/5.0".into()),
    }
}

async fn session(db: &Db, agent_id: i64) -> Session {
    db.create_session(new_session(agent_id))
        .await
        .expect("create session")
}

fn link(agent_id: i64, purpose: LinkPurpose, expires_in: Duration) -> NewAccountLink {
    NewAccountLink {
        agent_id,
        purpose,
        token_hash: token(),
        expires_at: Utc::now() + expires_in,
    }
}

fn entry(actor_id: Option<i64>, action: &str) -> NewAuditEntry {
    NewAuditEntry {
        actor_id,
        action: action.into(),
        ..NewAuditEntry::default()
    }
}

async fn email_lookup_ignores_case(db: Db) {
    // Stored with ASCII letters lowercased, whatever case it was given in.
    let ada = agent(&db, "Ada.Lovelace@Example.COM").await;
    assert_eq!(ada.email, "ada.lovelace@example.com");
    for asked in [
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
        "Ada.Lovelace@example.Com",
    ] {
        assert_eq!(
            db.agent_by_email(asked).await.expect("by email"),
            Some(ada.clone()),
            "{asked}"
        );
    }
    assert_eq!(
        db.agent_by_email("ada@example.com")
            .await
            .expect("by email"),
        None
    );
    // Only ASCII letters are folded, alike on both databases: other letters match as given.
    let emile = agent(&db, "Émile@Example.com").await;
    assert_eq!(emile.email, "Émile@example.com");
    assert_eq!(
        db.agent_by_email("ÉMILE@EXAMPLE.COM")
            .await
            .expect("by email"),
        Some(emile.clone())
    );
    assert_eq!(
        db.agent_by_email("émile@example.com")
            .await
            .expect("by email"),
        None
    );
    // Revoked agents are found too: the caller refuses them.
    assert!(db.revoke_agent(ada.id).await.expect("revoke"));
    let found = db
        .agent_by_email("ADA.LOVELACE@example.com")
        .await
        .expect("by email")
        .expect("still found");
    assert!(found.revoked_at.is_some());
}

async fn an_email_in_another_case_conflicts(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let err = db
        .create_agent(NewAgent {
            name: "Other Ada".into(),
            email: "ADA@Example.com".into(),
            token_hash: token(),
            role: Role::Admin,
        })
        .await
        .expect_err("the same email in another case");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.agents().await.expect("list"), [ada]);
}

async fn passwords_roles_and_names(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    assert_eq!(ada.role, Role::Agent);
    assert_eq!(ada.password_hash, None);

    assert!(db
        .set_password(ada.id, "$argon2id$v=19$first")
        .await
        .expect("set"));
    assert!(db
        .set_password(ada.id, "$argon2id$v=19$second")
        .await
        .expect("set again"));
    let stored = db.agent(ada.id).await.expect("get").expect("exists");
    assert_eq!(
        stored.password_hash.as_deref(),
        Some("$argon2id$v=19$second")
    );
    assert_eq!(
        db.agent_by_email("ada@example.com")
            .await
            .expect("by email")
            .and_then(|a| a.password_hash),
        Some("$argon2id$v=19$second".into())
    );
    assert!(!db.set_password(999_999, "x").await.expect("unknown"));

    assert_eq!(db.count_admins().await.expect("count"), 0);
    let admin = db
        .set_role(ada.id, Role::Admin)
        .await
        .expect("set role")
        .expect("exists");
    assert_eq!(admin.role, Role::Admin);
    assert_eq!(
        db.agent(ada.id).await.expect("get").expect("exists").role,
        Role::Admin
    );
    assert_eq!(db.count_admins().await.expect("count"), 1);
    let bob = db
        .create_agent(NewAgent {
            name: "Bob".into(),
            email: "bob@example.com".into(),
            token_hash: token(),
            role: Role::Admin,
        })
        .await
        .expect("create admin");
    assert_eq!(bob.role, Role::Admin);
    assert_eq!(
        db.count_admins().await.expect("count"),
        1,
        "an admin without a password cannot sign in, so does not count"
    );
    assert!(db
        .set_password(bob.id, "$argon2id$v=19$bob")
        .await
        .expect("set"));
    assert_eq!(db.count_admins().await.expect("count"), 2);
    let demoted = db
        .set_role(ada.id, Role::Agent)
        .await
        .expect("set role")
        .expect("exists");
    assert_eq!(demoted.role, Role::Agent);
    assert_eq!(db.count_admins().await.expect("count"), 1);
    // A revoked admin no longer counts (with another admin left, so the revocation is allowed),
    // and a revoked agent's account stays as it was.
    db.set_role(ada.id, Role::Admin)
        .await
        .expect("promote again");
    assert!(db.revoke_agent(bob.id).await.expect("revoke"));
    assert_eq!(db.count_admins().await.expect("count"), 1);
    assert_eq!(
        db.set_role(bob.id, Role::Agent).await.expect("set role"),
        None
    );
    assert!(!db.set_password(bob.id, "x").await.expect("revoked"));
    assert_eq!(
        db.set_role(999_999, Role::Admin).await.expect("unknown"),
        None
    );

    let renamed = db
        .set_agent_name(ada.id, "Ada Lovelace")
        .await
        .expect("rename")
        .expect("exists");
    assert_eq!(renamed.name, "Ada Lovelace");
    assert_eq!(db.agent(ada.id).await.expect("get"), Some(renamed.clone()));
    assert_eq!(
        db.set_agent_name(999_999, "Nobody").await.expect("unknown"),
        None
    );
}

async fn first_run_means_no_live_agent_has_a_password(db: Db) {
    assert!(!db.any_password_set().await.expect("empty store"));
    // Agents created with API tokens only (the CLI, the demo agent) are not users yet.
    let ada = agent(&db, "ada@example.com").await;
    assert!(!db.any_password_set().await.expect("no passwords"));
    assert!(db.set_password(ada.id, "hash").await.expect("set"));
    assert!(db.any_password_set().await.expect("one password"));
    assert!(db.revoke_agent(ada.id).await.expect("revoke"));
    assert!(
        !db.any_password_set().await.expect("only a revoked one"),
        "a revoked agent's password does not count"
    );
}

async fn sessions_are_found_until_idle_or_revoked(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let before = Utc::now();
    let created = db
        .create_session(NewSession {
            agent_id: ada.id,
            token_hash: "cookie-hash".into(),
            csrf_token: "csrf".into(),
            ip: Some("203.0.113.7".into()),
            user_agent: None,
        })
        .await
        .expect("create");
    assert_eq!(created.agent_id, ada.id);
    assert_eq!(created.token_hash, "cookie-hash");
    assert_eq!(created.csrf_token, "csrf");
    assert_eq!(created.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(created.user_agent, None);
    assert_eq!(created.created_at, created.last_seen_at);
    assert!((created.created_at - before).num_seconds().abs() < 60);
    assert_eq!(created.revoked_at, None);

    let (found, owner) = db
        .session_by_token_hash("cookie-hash", before - Duration::hours(1))
        .await
        .expect("lookup")
        .expect("live");
    assert_eq!(found, created);
    assert_eq!(owner, ada);
    // Last seen exactly at the cut-off still counts; a moment earlier does not.
    assert!(db
        .session_by_token_hash("cookie-hash", created.last_seen_at)
        .await
        .expect("lookup")
        .is_some());
    assert_eq!(
        db.session_by_token_hash(
            "cookie-hash",
            created.last_seen_at + Duration::milliseconds(1)
        )
        .await
        .expect("lookup"),
        None,
        "idle past the cut-off"
    );
    assert_eq!(
        db.session_by_token_hash(&token(), before - Duration::hours(1))
            .await
            .expect("lookup"),
        None
    );
    let err = db
        .create_session(NewSession {
            token_hash: "cookie-hash".into(),
            ..new_session(ada.id)
        })
        .await
        .expect_err("token hash in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = db
        .create_session(new_session(999_999))
        .await
        .expect_err("unknown agent");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn touching_a_session_keeps_it_alive(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let created = session(&db, ada.id).await;
    let later = created.last_seen_at + Duration::minutes(10);
    let cut_off = created.last_seen_at + Duration::minutes(5);
    assert_eq!(
        db.session_by_token_hash(&created.token_hash, cut_off)
            .await
            .expect("lookup"),
        None
    );
    assert!(db.touch_session(created.id, later).await.expect("touch"));
    let (touched, _) = db
        .session_by_token_hash(&created.token_hash, cut_off)
        .await
        .expect("lookup")
        .expect("alive again");
    assert!(
        (touched.last_seen_at - later).num_milliseconds().abs() < 1,
        "{} vs {later}",
        touched.last_seen_at
    );
    assert_eq!(touched.created_at, created.created_at);
    // A late, older touch does not move it back.
    assert!(db
        .touch_session(created.id, created.last_seen_at)
        .await
        .expect("touch"));
    assert!(db
        .session_by_token_hash(&created.token_hash, cut_off)
        .await
        .expect("lookup")
        .is_some());
    assert!(!db.touch_session(999_999, later).await.expect("unknown"));
    assert!(db.revoke_session(created.id, None).await.expect("revoke"));
    assert!(
        !db.touch_session(created.id, later).await.expect("touch"),
        "a revoked session is not touched"
    );
}

async fn revoking_sessions_one_or_all(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let bob = agent(&db, "bob@example.com").await;
    let first = session(&db, ada.id).await;
    let second = session(&db, ada.id).await;
    let third = session(&db, ada.id).await;
    let bobs = session(&db, bob.id).await;
    assert_eq!(
        db.sessions_of(ada.id).await.expect("list"),
        [third.clone(), second.clone(), first.clone()],
        "newest first"
    );

    // Bob cannot sign out Ada's session; Ada can, once.
    assert!(!db
        .revoke_session(first.id, Some(bob.id))
        .await
        .expect("not his"));
    assert!(db
        .revoke_session(first.id, Some(ada.id))
        .await
        .expect("hers"));
    assert!(!db
        .revoke_session(first.id, Some(ada.id))
        .await
        .expect("again"));
    assert!(!db.revoke_session(999_999, None).await.expect("unknown"));
    let long_ago = first.created_at - Duration::hours(1);
    assert_eq!(
        db.session_by_token_hash(&first.token_hash, long_ago)
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        db.sessions_of(ada.id).await.expect("list"),
        [third.clone(), second.clone()]
    );

    assert_eq!(db.revoke_sessions_of(ada.id).await.expect("all"), 2);
    assert_eq!(db.revoke_sessions_of(ada.id).await.expect("again"), 0);
    assert!(db.sessions_of(ada.id).await.expect("list").is_empty());
    for gone in [&second, &third] {
        assert_eq!(
            db.session_by_token_hash(&gone.token_hash, long_ago)
                .await
                .expect("lookup"),
            None
        );
    }
    // Bob's session is untouched, and an administrator may end it without an owner check.
    assert_eq!(
        db.sessions_of(bob.id).await.expect("list"),
        std::slice::from_ref(&bobs)
    );
    assert!(db.revoke_session(bobs.id, None).await.expect("any"));
    assert!(db.sessions_of(bob.id).await.expect("list").is_empty());
}

async fn revoking_an_agent_ends_their_sessions(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let bob = agent(&db, "bob@example.com").await;
    let hers = session(&db, ada.id).await;
    let his = session(&db, bob.id).await;
    let long_ago = hers.created_at - Duration::hours(1);
    db.set_agent_availability(ada.id, AgentAvailability::Online, Utc::now(), None)
        .await
        .expect("online");

    assert!(db.revoke_agent(ada.id).await.expect("revoke"));
    assert!(db.sessions_of(ada.id).await.expect("list").is_empty());
    assert_eq!(
        db.session_by_token_hash(&hers.token_hash, long_ago)
            .await
            .expect("lookup"),
        None
    );
    assert!(db
        .session_by_token_hash(&his.token_hash, long_ago)
        .await
        .expect("lookup")
        .is_some());
    let revoked = db.agent(ada.id).await.expect("get").expect("listed");
    assert_eq!(revoked.availability, AgentAvailability::Offline);

    // A session made for an agent after they were revoked is never found either.
    let late = session(&db, ada.id).await;
    assert_eq!(
        db.session_by_token_hash(&late.token_hash, long_ago)
            .await
            .expect("lookup"),
        None
    );
}

async fn a_link_works_once_and_only_for_its_purpose(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let now = Utc::now();
    let made = db
        .create_link(link(ada.id, LinkPurpose::Invite, Duration::days(7)))
        .await
        .expect("create");
    assert_eq!(made.agent_id, ada.id);
    assert_eq!(made.purpose, LinkPurpose::Invite);
    assert_eq!(made.used_at, None);
    assert!(made.expires_at > made.created_at);

    assert_eq!(
        db.use_link(&made.token_hash, LinkPurpose::Reset, now)
            .await
            .expect("wrong purpose"),
        None
    );
    assert_eq!(
        db.use_link(&made.token_hash, LinkPurpose::Setup, now)
            .await
            .expect("wrong purpose"),
        None
    );
    assert_eq!(
        db.use_link(&token(), LinkPurpose::Invite, now)
            .await
            .expect("unknown"),
        None
    );
    // A wrong purpose did not spend it.
    let used = db
        .use_link(&made.token_hash, LinkPurpose::Invite, now)
        .await
        .expect("use")
        .expect("the link");
    assert_eq!(used.id, made.id);
    assert_eq!(used.agent_id, ada.id);
    let used_at = used.used_at.expect("marked used");
    assert!((used_at - now).num_milliseconds().abs() < 1, "{used_at}");
    assert_eq!(
        db.use_link(&made.token_hash, LinkPurpose::Invite, now)
            .await
            .expect("again"),
        None,
        "single use"
    );

    let err = db
        .create_link(NewAccountLink {
            token_hash: made.token_hash.clone(),
            ..link(ada.id, LinkPurpose::Reset, Duration::hours(1))
        })
        .await
        .expect_err("token hash in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = db
        .create_link(link(999_999, LinkPurpose::Setup, Duration::hours(1)))
        .await
        .expect_err("unknown agent");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn an_expired_link_or_a_revoked_agents_link_is_refused(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let expired = db
        .create_link(link(ada.id, LinkPurpose::Reset, -Duration::seconds(1)))
        .await
        .expect("create");
    assert_eq!(
        db.use_link(&expired.token_hash, LinkPurpose::Reset, Utc::now())
            .await
            .expect("expired"),
        None
    );
    // Expiry is exclusive: at `expires_at` it no longer works; just before, it does.
    let timed = db
        .create_link(link(ada.id, LinkPurpose::Reset, Duration::hours(1)))
        .await
        .expect("create");
    assert_eq!(
        db.use_link(&timed.token_hash, LinkPurpose::Reset, timed.expires_at)
            .await
            .expect("at expiry"),
        None
    );
    assert!(db
        .use_link(
            &timed.token_hash,
            LinkPurpose::Reset,
            timed.expires_at - Duration::milliseconds(1)
        )
        .await
        .expect("just before")
        .is_some());

    let bob = agent(&db, "bob@example.com").await;
    let invite = db
        .create_link(link(bob.id, LinkPurpose::Invite, Duration::days(1)))
        .await
        .expect("create");
    assert!(db.revoke_agent(bob.id).await.expect("revoke"));
    assert_eq!(
        db.use_link(&invite.token_hash, LinkPurpose::Invite, Utc::now())
            .await
            .expect("revoked agent"),
        None
    );
}

async fn concurrent_uses_of_a_link_have_one_winner(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    for _ in 0..10 {
        let made = db
            .create_link(link(ada.id, LinkPurpose::Reset, Duration::hours(1)))
            .await
            .expect("create");
        let attempt = |db: Db, token_hash: String| {
            tokio::spawn(async move {
                db.use_link(&token_hash, LinkPurpose::Reset, Utc::now())
                    .await
                    .expect("use")
            })
        };
        let (one, two) = tokio::join!(
            attempt(Arc::clone(&db), made.token_hash.clone()),
            attempt(Arc::clone(&db), made.token_hash.clone()),
        );
        let winners: Vec<_> = [one.expect("task"), two.expect("task")]
            .into_iter()
            .flatten()
            .collect();
        assert_eq!(winners.len(), 1, "{winners:?}");
        assert_eq!(winners[0].id, made.id);
    }
}

async fn audit_log_pages_newest_first(db: Db) {
    assert!(db.audit_log(None, 10).await.expect("empty").is_empty());
    let ada = agent(&db, "ada@example.com").await;
    let first = db
        .record_audit(NewAuditEntry {
            actor_id: None,
            action: "agent.create".into(),
            target: Some(format!("agent:{}", ada.id)),
            ip: None,
            detail: Some(serde_json::json!({"email": "ada@example.com", "via": "cli"})),
        })
        .await
        .expect("record");
    assert_eq!(first.actor_id, None);
    assert_eq!(first.action, "agent.create");
    assert_eq!(first.target, Some(format!("agent:{}", ada.id)));
    assert_eq!(
        first.detail,
        Some(serde_json::json!({"email": "ada@example.com", "via": "cli"}))
    );
    assert!((Utc::now() - first.created_at).num_seconds().abs() < 60);
    let second = db
        .record_audit(NewAuditEntry {
            ip: Some("203.0.113.7".into()),
            ..entry(Some(ada.id), "session.sign_in")
        })
        .await
        .expect("record");
    assert_eq!(second.actor_id, Some(ada.id));
    assert_eq!(second.ip.as_deref(), Some("203.0.113.7"));
    assert_eq!(second.detail, None);
    let third = db
        .record_audit(entry(Some(ada.id), "session.sign_out"))
        .await
        .expect("record");
    assert!(first.id < second.id && second.id < third.id);

    assert_eq!(
        db.audit_log(None, 10).await.expect("all"),
        [third.clone(), second.clone(), first.clone()]
    );
    assert_eq!(
        db.audit_log(None, 2).await.expect("first page"),
        [third.clone(), second.clone()]
    );
    assert_eq!(
        db.audit_log(Some(second.id), 2).await.expect("next page"),
        std::slice::from_ref(&first)
    );
    assert!(db
        .audit_log(Some(first.id), 2)
        .await
        .expect("past the end")
        .is_empty());
    assert!(db.audit_log(None, 0).await.expect("none").is_empty());
    assert!(db.audit_log(None, -1).await.expect("negative").is_empty());

    let err = db
        .record_audit(entry(Some(999_999), "agent.revoke"))
        .await
        .expect_err("unknown actor");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn nul_is_refused_in_account_text(db: Db) {
    const NUL: &str = "a\u{0}b";
    let ada = agent(&db, "ada@example.com").await;
    assert_refused(db.set_password(ada.id, NUL).await, "password hash");
    assert_refused(db.set_agent_name(ada.id, NUL).await, "agent name");
    assert_refused(
        db.create_agent(NewAgent {
            name: "Eve".into(),
            email: NUL.into(),
            token_hash: token(),
            role: Role::Agent,
        })
        .await,
        "agent email",
    );
    for (session, field) in [
        (
            NewSession {
                token_hash: NUL.into(),
                ..new_session(ada.id)
            },
            "session token hash",
        ),
        (
            NewSession {
                csrf_token: NUL.into(),
                ..new_session(ada.id)
            },
            "session csrf token",
        ),
        (
            NewSession {
                ip: Some(NUL.into()),
                ..new_session(ada.id)
            },
            "session ip",
        ),
        (
            NewSession {
                user_agent: Some(NUL.into()),
                ..new_session(ada.id)
            },
            "session user agent",
        ),
    ] {
        assert_refused(db.create_session(session).await, field);
    }
    assert_refused(
        db.create_link(NewAccountLink {
            token_hash: NUL.into(),
            ..link(ada.id, LinkPurpose::Invite, Duration::hours(1))
        })
        .await,
        "link token hash",
    );
    assert_refused(db.record_audit(entry(None, NUL)).await, "audit action");
    assert_refused(
        db.record_audit(NewAuditEntry {
            target: Some(NUL.into()),
            ..entry(None, "agent.revoke")
        })
        .await,
        "audit target",
    );
    assert_refused(
        db.record_audit(NewAuditEntry {
            ip: Some(NUL.into()),
            ..entry(None, "agent.revoke")
        })
        .await,
        "audit ip",
    );
    assert_refused(
        db.record_audit(NewAuditEntry {
            detail: Some(serde_json::json!({ "email": NUL })),
            ..entry(None, "agent.revoke")
        })
        .await,
        "audit detail",
    );

    // Lookups by such text find nothing; nothing was stored by the refused calls.
    assert_eq!(db.agent_by_email(NUL).await.expect("lookup"), None);
    assert_eq!(
        db.session_by_token_hash(NUL, Utc::now() - Duration::hours(1))
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(
        db.use_link(NUL, LinkPurpose::Invite, Utc::now())
            .await
            .expect("lookup"),
        None
    );
    let unchanged = db.agent(ada.id).await.expect("get").expect("exists");
    assert_eq!(unchanged, ada);
    assert!(db.sessions_of(ada.id).await.expect("list").is_empty());
    assert!(db.audit_log(None, 10).await.expect("list").is_empty());
}

async fn an_api_token_is_replaced(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let fresh = token();
    assert!(db.set_agent_token(ada.id, &fresh).await.unwrap());
    assert_eq!(db.agent_by_token_hash(&ada.token_hash).await.unwrap(), None);
    assert_eq!(
        db.agent_by_token_hash(&fresh).await.unwrap().map(|a| a.id),
        Some(ada.id)
    );
    let bea = agent(&db, "bea@example.com").await;
    let err = db
        .set_agent_token(ada.id, &bea.token_hash)
        .await
        .expect_err("another agent's token");
    assert!(
        matches!(err, parley_store::StoreError::Conflict(_)),
        "{err:?}"
    );
    db.revoke_agent(ada.id).await.unwrap();
    assert!(!db.set_agent_token(ada.id, &token()).await.unwrap());
}

async fn spending_an_agents_links(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let bea = agent(&db, "bea@example.com").await;
    let later = Utc::now() + chrono::Duration::hours(1);
    let mut tokens = Vec::new();
    for (who, purpose) in [
        (ada.id, LinkPurpose::Invite),
        (ada.id, LinkPurpose::Reset),
        (bea.id, LinkPurpose::Reset),
    ] {
        let hash = token();
        db.create_link(NewAccountLink {
            agent_id: who,
            purpose,
            token_hash: hash.clone(),
            expires_at: later,
        })
        .await
        .expect("link");
        tokens.push((hash, purpose));
    }
    assert_eq!(db.spend_links_of(ada.id, Utc::now()).await.unwrap(), 2);
    for (hash, purpose) in &tokens[..2] {
        assert_eq!(db.use_link(hash, *purpose, Utc::now()).await.unwrap(), None);
    }
    assert!(
        db.use_link(&tokens[2].0, LinkPurpose::Reset, Utc::now())
            .await
            .unwrap()
            .is_some(),
        "another agent's link is untouched"
    );
    assert_eq!(db.spend_links_of(ada.id, Utc::now()).await.unwrap(), 0);
}

async fn access_changes_are_noted_and_read_since(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let bea = agent(&db, "bea@example.com").await;
    let start = Utc::now() - chrono::Duration::seconds(1);
    assert!(db.access_changes_since(start).await.unwrap().is_empty());
    let first = Utc::now();
    db.note_access_change(ada.id, first).await.unwrap();
    let later = first + chrono::Duration::milliseconds(5);
    db.note_access_change(bea.id, later).await.unwrap();
    let seen = db.access_changes_since(start).await.unwrap();
    assert_eq!(
        seen.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [ada.id, bea.id]
    );
    assert_eq!(
        db.access_changes_since(first)
            .await
            .unwrap()
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        [bea.id],
        "strictly after"
    );
    // A second change of one agent moves their time.
    let again = later + chrono::Duration::seconds(1);
    db.note_access_change(ada.id, again).await.unwrap();
    let seen = db.access_changes_since(later).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, ada.id);
    assert_eq!(seen[0].1.timestamp_millis(), again.timestamp_millis());
    let err = db
        .note_access_change(999_999, Utc::now())
        .await
        .expect_err("no agent");
    assert!(
        matches!(err, parley_store::StoreError::NotFound(_)),
        "{err:?}"
    );
}

async fn the_last_admin_keeps_their_rights(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    db.set_role(ada.id, Role::Admin).await.unwrap();
    db.set_password(ada.id, "$argon2id$v=19$a").await.unwrap();
    let err = db
        .set_role(ada.id, Role::Agent)
        .await
        .expect_err("last admin");
    assert!(
        matches!(err, parley_store::StoreError::LastAdmin),
        "{err:?}"
    );
    let err = db.revoke_agent(ada.id).await.expect_err("last admin");
    assert!(
        matches!(err, parley_store::StoreError::LastAdmin),
        "{err:?}"
    );
    assert_eq!(db.agent(ada.id).await.unwrap().unwrap().role, Role::Admin);

    // An admin who never chose a password does not count, and is no obstacle.
    let bob = agent(&db, "bob@example.com").await;
    db.set_role(bob.id, Role::Admin).await.unwrap();
    assert!(db.set_role(ada.id, Role::Agent).await.is_err());
    assert!(db.set_role(bob.id, Role::Agent).await.unwrap().is_some());

    // Two admins demoting each other at once: exactly one succeeds.
    db.set_role(bob.id, Role::Admin).await.unwrap();
    db.set_password(bob.id, "$argon2id$v=19$b").await.unwrap();
    let (first, second) = tokio::join!(
        db.set_role(ada.id, Role::Agent),
        db.set_role(bob.id, Role::Agent)
    );
    let refused = [&first, &second]
        .iter()
        .filter(|r| matches!(r, Err(parley_store::StoreError::LastAdmin)))
        .count();
    assert_eq!(refused, 1, "{first:?} {second:?}");
    assert_eq!(db.count_admins().await.unwrap(), 1);
}
