//! Agents: creation, unique emails and tokens, lookup by token hash and id, availability and
//! heartbeats.

use chrono::Utc;
use parley_store::{AgentAvailability, ConversationQuery, NewAgent, Role, StoreError};

use crate::support::{agent, conversation, on_both, token, widget, Db};

on_both!(
    create_and_find_agent,
    used_email_or_token_conflicts,
    availability_and_heartbeat,
    revoked_agent_is_not_found_by_token,
    an_older_presence_update_changes_nothing,
    an_agent_sees_the_widgets_they_are_given,
);

async fn an_agent_sees_the_widgets_they_are_given(db: Db) {
    let shop = widget(&db, "Shop").await;
    let clinic = widget(&db, "Clinic").await;
    let at_shop = conversation(&db, shop.id).await;
    let at_clinic = conversation(&db, clinic.id).await;
    let ada = agent(&db, "ada@example.com").await;
    let visible = |agent_id: i64| ConversationQuery {
        visible_to: Some(agent_id),
        ..ConversationQuery::latest(10)
    };
    let ids = |found: Vec<parley_store::Conversation>| -> Vec<i64> {
        found.iter().map(|c| c.id).collect()
    };

    // Nothing set: every widget.
    assert!(db.agent_widgets(ada.id).await.unwrap().is_empty());
    assert_eq!(
        ids(db.conversations(&visible(ada.id)).await.unwrap()),
        [at_clinic.id, at_shop.id]
    );
    assert!(db.set_agent_widgets(ada.id, &[shop.id]).await.unwrap());
    assert_eq!(db.agent_widgets(ada.id).await.unwrap(), [shop.id]);
    assert_eq!(
        ids(db.conversations(&visible(ada.id)).await.unwrap()),
        [at_shop.id]
    );
    // Combined with the other filters, including search (parameters bound in order).
    let search = ConversationQuery {
        text: Some("vera".into()),
        widget_id: Some(shop.id),
        ..visible(ada.id)
    };
    assert_eq!(ids(db.conversations(&search).await.unwrap()), [at_shop.id]);

    // An unknown widget changes nothing.
    let err = db
        .set_agent_widgets(ada.id, &[clinic.id, 999_999])
        .await
        .expect_err("unknown widget");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(db.agent_widgets(ada.id).await.unwrap(), [shop.id]);

    // Back to every widget; a revoked agent's list cannot be set.
    assert!(db.set_agent_widgets(ada.id, &[]).await.unwrap());
    assert_eq!(
        ids(db.conversations(&visible(ada.id)).await.unwrap()).len(),
        2
    );
    db.revoke_agent(ada.id).await.unwrap();
    assert!(!db.set_agent_widgets(ada.id, &[shop.id]).await.unwrap());
    assert!(!db.set_agent_widgets(999_999, &[]).await.unwrap());
}

async fn create_and_find_agent(db: Db) {
    let hash = token();
    let ada = db
        .create_agent(NewAgent {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            token_hash: hash.clone(),
            role: Role::Agent,
        })
        .await
        .expect("create");
    assert_eq!(
        (
            ada.name.as_str(),
            ada.email.as_str(),
            ada.token_hash.as_str()
        ),
        ("Ada", "ada@example.com", hash.as_str())
    );
    // New agents start offline and unseen.
    assert_eq!(ada.availability, AgentAvailability::Offline);
    assert_eq!(ada.last_seen_at, None);
    assert!(
        (Utc::now() - ada.created_at).num_seconds().abs() < 60,
        "{}",
        ada.created_at
    );
    assert_eq!(
        db.agent_by_token_hash(&hash).await.expect("by hash"),
        Some(ada.clone())
    );
    assert_eq!(
        db.agent_by_token_hash(&token()).await.expect("by hash"),
        None
    );

    let bob = agent(&db, "bob@example.com").await;
    assert!(bob.id > ada.id);
    assert_eq!(db.agents().await.expect("list"), [ada, bob]);
}

async fn used_email_or_token_conflicts(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let err = db
        .create_agent(NewAgent {
            name: "Other Ada".into(),
            email: "ada@example.com".into(),
            token_hash: token(),
            role: Role::Agent,
        })
        .await
        .expect_err("email in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = db
        .create_agent(NewAgent {
            name: "Eve".into(),
            email: "eve@example.com".into(),
            token_hash: ada.token_hash.clone(),
            role: Role::Agent,
        })
        .await
        .expect_err("token in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.agents().await.expect("list"), [ada]);
}

async fn availability_and_heartbeat(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let bob = agent(&db, "bob@example.com").await;
    let window = chrono::Duration::seconds(75);
    let at = Utc::now() - chrono::Duration::seconds(30);

    let online = db
        .set_agent_availability(ada.id, AgentAvailability::Online, at, None)
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(online.availability, AgentAvailability::Online);
    let seen = online.last_seen_at.expect("seen");
    assert!((seen - at).num_milliseconds().abs() < 5, "{seen} vs {at}");
    assert!(online.is_online(Utc::now(), window));
    // Silent for longer than the window: no longer counted, though still "online" by choice.
    assert!(!online.is_online(at + chrono::Duration::seconds(76), window));
    assert_eq!(db.agent(ada.id).await.expect("get"), Some(online.clone()));
    assert_eq!(
        db.agent(bob.id)
            .await
            .expect("get")
            .expect("bob")
            .availability,
        AgentAvailability::Offline
    );

    let later = at + chrono::Duration::seconds(20);
    let touched = db
        .touch_agent(ada.id, later, None)
        .await
        .expect("touch")
        .expect("exists");
    assert_eq!(touched.availability, AgentAvailability::Online);
    assert!(touched.last_seen_at.expect("seen") > seen);

    let away = db
        .set_agent_availability(ada.id, AgentAvailability::Away, later, None)
        .await
        .expect("set")
        .expect("exists");
    assert!(!away.is_online(later, window));

    assert_eq!(db.agent(999_999).await.expect("get"), None);
    assert_eq!(
        db.touch_agent(999_999, later, None).await.expect("touch"),
        None
    );
    assert_eq!(
        db.set_agent_availability(999_999, AgentAvailability::Online, later, None)
            .await
            .expect("set"),
        None
    );
}

async fn revoked_agent_is_not_found_by_token(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let now = Utc::now();
    db.set_agent_availability(ada.id, AgentAvailability::Online, now, None)
        .await
        .expect("set");
    assert!(db.revoke_agent(ada.id).await.expect("revoke"));
    assert!(
        !db.revoke_agent(ada.id).await.expect("again"),
        "already revoked"
    );
    assert!(!db.revoke_agent(999_999).await.expect("unknown"));
    assert_eq!(
        db.agent_by_token_hash(&ada.token_hash)
            .await
            .expect("by hash"),
        None
    );
    let revoked = db.agent(ada.id).await.expect("get").expect("still listed");
    assert!(revoked.revoked_at.is_some());
    assert_eq!(revoked.availability, AgentAvailability::Offline);
    assert!(!revoked.is_online(now, chrono::Duration::seconds(75)));
}

async fn an_older_presence_update_changes_nothing(db: Db) {
    let ada = agent(&db, "ada@example.com").await;
    let now = Utc::now();
    // The reloaded page says "online" (sequence 200) before the closing page's "offline"
    // (sequence 100) arrives: the late one is ignored.
    let online = db
        .set_agent_availability(ada.id, AgentAvailability::Online, now, Some(200))
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(online.availability, AgentAvailability::Online);
    let late = db
        .set_agent_availability(ada.id, AgentAvailability::Offline, now, Some(100))
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(
        late.availability,
        AgentAvailability::Online,
        "older update ignored"
    );
    let late_beat = db
        .touch_agent(ada.id, now + chrono::Duration::seconds(5), Some(150))
        .await
        .expect("touch")
        .expect("exists");
    assert_eq!(
        late_beat.last_seen_at, online.last_seen_at,
        "older heartbeat ignored"
    );
    // Newer, equal, and unsequenced updates apply.
    let newer = db
        .set_agent_availability(ada.id, AgentAvailability::Away, now, Some(300))
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(newer.availability, AgentAvailability::Away);
    let script = db
        .set_agent_availability(ada.id, AgentAvailability::Offline, now, None)
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(script.availability, AgentAvailability::Offline);
    let same = db
        .set_agent_availability(ada.id, AgentAvailability::Online, now, Some(300))
        .await
        .expect("set")
        .expect("exists");
    assert_eq!(same.availability, AgentAvailability::Online);
    assert_eq!(
        db.set_agent_availability(999_999, AgentAvailability::Online, now, Some(1))
            .await
            .expect("set"),
        None
    );
}
