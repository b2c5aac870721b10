//! Ratings: one per conversation, with or without a comment.

use parley_store::StoreError;

use crate::support::{chat, on_both, Db};

on_both!(a_conversation_is_rated_once);

async fn a_conversation_is_rated_once(db: Db) {
    let first = chat(&db).await;
    assert_eq!(db.rating(first.id).await.unwrap(), None);
    let rated = db
        .rate(first.id, 4, Some("Quick and kind"))
        .await
        .expect("rate");
    assert_eq!(rated.conversation_id, first.id);
    assert_eq!(rated.score, 4);
    assert_eq!(rated.comment.as_deref(), Some("Quick and kind"));
    assert_eq!(db.rating(first.id).await.unwrap(), Some(rated.clone()));

    let err = db.rate(first.id, 1, None).await.expect_err("second rating");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(db.rating(first.id).await.unwrap(), Some(rated), "unchanged");

    let second = chat(&db).await;
    let plain = db.rate(second.id, 5, None).await.expect("rate");
    assert_eq!(plain.comment, None);
    let err = db
        .rate(999_999, 3, None)
        .await
        .expect_err("no conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = db
        .rate(chat(&db).await.id, 3, Some("bad\u{0}"))
        .await
        .expect_err("refused text");
    assert!(matches!(err, StoreError::InvalidText { .. }), "{err:?}");
}
