//! Widgets: creation, lookup by token hash and id, listing, revocation.

use chrono::Utc;
use parley_store::{NewWidget, StoreError};
use serde_json::json;

use crate::support::{conversation, on_both, token, widget, Db};

on_both!(
    create_and_find_widget,
    unknown_widget_is_absent,
    revoked_widget_is_not_found_by_token,
    repeated_token_conflicts,
    settings_can_be_replaced,
    rename_origins_and_new_token,
    widget_and_its_conversation_in_one_read,
);

async fn widget_and_its_conversation_in_one_read(db: Db) {
    let shop = widget(&db, "Shop").await;
    let other = widget(&db, "Other").await;
    let mine = conversation(&db, shop.id).await;
    let theirs = conversation(&db, other.id).await;
    assert_eq!(
        db.widget_and_conversation(&shop.token_hash, mine.id)
            .await
            .unwrap(),
        Some((shop.clone(), Some(mine.clone()))),
        "every column of both records, as their own reads give them"
    );
    // Another widget's conversation, or none at all: the widget alone.
    for id in [theirs.id, mine.id + theirs.id + 1000, -1] {
        assert_eq!(
            db.widget_and_conversation(&shop.token_hash, id)
                .await
                .unwrap(),
            Some((shop.clone(), None)),
            "conversation {id}"
        );
    }
    // An unknown, unstorable or revoked token: nothing.
    for hash in [token(), "\u{0}".to_string()] {
        assert_eq!(
            db.widget_and_conversation(&hash, mine.id).await.unwrap(),
            None
        );
    }
    db.revoke_widget(shop.id).await.unwrap();
    assert_eq!(
        db.widget_and_conversation(&shop.token_hash, mine.id)
            .await
            .unwrap(),
        None
    );
}

async fn rename_origins_and_new_token(db: Db) {
    let created = widget(&db, "Shop").await;
    let origins = vec!["https://shop.example".to_string()];
    let updated = db
        .update_widget(created.id, "Shop front", &origins)
        .await
        .unwrap()
        .expect("live widget");
    assert_eq!(updated.name, "Shop front");
    assert_eq!(updated.allowed_origins, origins);
    assert_eq!(db.widget(created.id).await.unwrap(), Some(updated.clone()));

    let fresh = token();
    assert!(db.set_widget_token(created.id, &fresh).await.unwrap());
    assert_eq!(
        db.widget_by_token_hash(&created.token_hash).await.unwrap(),
        None,
        "the old token stops working"
    );
    assert_eq!(
        db.widget_by_token_hash(&fresh).await.unwrap().map(|w| w.id),
        Some(created.id)
    );
    // Another widget's token cannot be taken.
    let other = widget(&db, "Other").await;
    let err = db
        .set_widget_token(created.id, &other.token_hash)
        .await
        .expect_err("taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    db.revoke_widget(created.id).await.unwrap();
    assert_eq!(db.update_widget(created.id, "X", &[]).await.unwrap(), None);
    assert!(!db.set_widget_token(created.id, &token()).await.unwrap());
    let err = db
        .update_widget(other.id, "bad\u{0}name", &[])
        .await
        .expect_err("refused text");
    assert!(matches!(err, StoreError::InvalidText { .. }), "{err:?}");
}

async fn settings_can_be_replaced(db: Db) {
    let created = widget(&db, "Settings").await;
    let settings = json!({"bot": {"kind": "knowledge"}, "colors": {"primary": "#123456"}});
    assert!(db
        .update_widget_settings(created.id, settings.clone())
        .await
        .unwrap());
    assert_eq!(
        db.widget(created.id).await.unwrap().unwrap().settings,
        settings
    );
    assert!(!db
        .update_widget_settings(created.id + 1000, settings)
        .await
        .unwrap());
}

async fn create_and_find_widget(db: Db) {
    let created = db
        .create_widget(NewWidget {
            name: "Shop".into(),
            token_hash: "ab".repeat(32),
            allowed_origins: vec![
                "https://shop.example".into(),
                "http://localhost:3000".into(),
            ],
            settings: json!({"colour": "#ff0000", "features": {"voice": true}, "greeting": "Hi"}),
            identity_secret: None,
        })
        .await
        .expect("create");
    assert_eq!(created.name, "Shop");
    assert_eq!(created.token_hash, "ab".repeat(32));
    assert_eq!(
        created.allowed_origins,
        ["https://shop.example", "http://localhost:3000"]
    );
    assert_eq!(created.settings["features"]["voice"], json!(true));
    assert_eq!(created.revoked_at, None);
    assert!(
        (Utc::now() - created.created_at).num_seconds().abs() < 60,
        "{}",
        created.created_at
    );

    // What is read back is exactly what was returned, timestamps included.
    assert_eq!(
        db.widget(created.id).await.expect("by id"),
        Some(created.clone())
    );
    let by_hash = db
        .widget_by_token_hash(&"ab".repeat(32))
        .await
        .expect("by hash");
    assert_eq!(by_hash, Some(created.clone()));

    let second = widget(&db, "Blog").await;
    assert!(second.id > created.id);
    assert_eq!(db.widgets().await.expect("list"), [created, second]);
}

async fn unknown_widget_is_absent(db: Db) {
    widget(&db, "Shop").await;
    assert_eq!(db.widget(999_999).await.expect("by id"), None);
    assert_eq!(
        db.widget_by_token_hash(&token()).await.expect("by hash"),
        None
    );
}

async fn revoked_widget_is_not_found_by_token(db: Db) {
    let revoked = widget(&db, "Old").await;
    let kept = widget(&db, "New").await;

    assert!(db.revoke_widget(revoked.id).await.expect("revoke"));
    assert_eq!(
        db.widget_by_token_hash(&revoked.token_hash)
            .await
            .expect("by hash"),
        None
    );
    // Still there by id, marked revoked.
    let stored = db
        .widget(revoked.id)
        .await
        .expect("by id")
        .expect("present");
    let revoked_at = stored.revoked_at.expect("revoked_at set");
    assert!(revoked_at >= stored.created_at);

    // A second revocation, and one of an unknown widget, change nothing.
    assert!(!db.revoke_widget(revoked.id).await.expect("revoke again"));
    assert_eq!(
        db.widget(revoked.id)
            .await
            .expect("by id")
            .expect("present")
            .revoked_at,
        Some(revoked_at)
    );
    assert!(!db.revoke_widget(999_999).await.expect("revoke unknown"));

    assert_eq!(
        db.widget_by_token_hash(&kept.token_hash)
            .await
            .expect("by hash"),
        Some(kept)
    );
}

async fn repeated_token_conflicts(db: Db) {
    let first = widget(&db, "Shop").await;
    let err = db
        .create_widget(NewWidget {
            name: "Copy".into(),
            token_hash: first.token_hash.clone(),
            allowed_origins: vec![],
            settings: json!({}),
            identity_secret: None,
        })
        .await
        .expect_err("same token hash");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.widgets().await.expect("list"), [first]);
}
