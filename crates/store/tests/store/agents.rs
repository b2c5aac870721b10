//! Agents: creation, unique emails and tokens, lookup by token hash.

use chrono::Utc;
use parley_store::{NewAgent, StoreError};

use crate::support::{agent, on_both, token, Db};

on_both!(create_and_find_agent, used_email_or_token_conflicts);

async fn create_and_find_agent(db: Db) {
    let hash = token();
    let ada = db
        .create_agent(NewAgent {
            name: "Ada".into(),
            email: "ada@example.com".into(),
            token_hash: hash.clone(),
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
        })
        .await
        .expect_err("email in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let err = db
        .create_agent(NewAgent {
            name: "Eve".into(),
            email: "eve@example.com".into(),
            token_hash: ada.token_hash.clone(),
        })
        .await
        .expect_err("token in use");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.agents().await.expect("list"), [ada]);
}
