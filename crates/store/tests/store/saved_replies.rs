//! Saved replies: created, listed by shortcut, replaced, deleted; shortcuts are unique.

use parley_store::{NewSavedReply, StoreError};

use crate::support::{on_both, Db};

on_both!(saved_replies_round_trip, shortcuts_are_unique);

fn reply(shortcut: &str, text: &str) -> NewSavedReply {
    NewSavedReply {
        shortcut: shortcut.into(),
        text: text.into(),
    }
}

async fn saved_replies_round_trip(db: Db) {
    assert!(db.saved_replies().await.expect("list").is_empty());
    let refund = db
        .create_saved_reply(reply("refund", "Refunds take 5 days."))
        .await
        .expect("create");
    let hello = db
        .create_saved_reply(reply("hello", "Hi! How can I help?"))
        .await
        .expect("create");
    assert_eq!(refund.created_at, refund.updated_at);
    let listed = db.saved_replies().await.expect("list");
    assert_eq!(listed, [hello.clone(), refund.clone()], "by shortcut");

    let changed = db
        .update_saved_reply(refund.id, reply("refunds", "Refunds take 3 days."))
        .await
        .expect("update")
        .expect("exists");
    assert_eq!(changed.id, refund.id);
    assert_eq!(changed.shortcut, "refunds");
    assert_eq!(changed.text, "Refunds take 3 days.");
    assert_eq!(changed.created_at, refund.created_at);
    assert!(changed.updated_at >= refund.updated_at);
    assert_eq!(
        db.update_saved_reply(999_999, reply("x", "y"))
            .await
            .expect("update"),
        None
    );

    assert!(db.delete_saved_reply(hello.id).await.expect("delete"));
    assert!(!db.delete_saved_reply(hello.id).await.expect("delete again"));
    assert_eq!(db.saved_replies().await.expect("list"), [changed]);
}

async fn shortcuts_are_unique(db: Db) {
    let first = db
        .create_saved_reply(reply("hello", "one"))
        .await
        .expect("create");
    let err = db
        .create_saved_reply(reply("hello", "two"))
        .await
        .expect_err("duplicate");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    let other = db
        .create_saved_reply(reply("bye", "three"))
        .await
        .expect("create");
    let err = db
        .update_saved_reply(other.id, reply("hello", "four"))
        .await
        .expect_err("renamed onto a taken shortcut");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // Nothing was half-written.
    assert_eq!(db.saved_replies().await.expect("list"), [other, first]);
}
