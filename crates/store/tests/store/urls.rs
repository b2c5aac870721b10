//! The URL forms `connect` accepts. Not run on both databases: these are about SQLite's URL
//! shapes and rejecting unknown schemes.

use parley_store::{connect, StoreError};

use crate::support::widget;

#[tokio::test]
async fn memory_database_is_one_shared_database() {
    let db = connect("sqlite::memory:").await.expect("connect");
    db.migrate().await.expect("migrate");
    let created = widget(&db, "Shop").await;
    // Every later call sees the same database, so the single connection is reused.
    for _ in 0..3 {
        assert_eq!(
            db.widgets().await.expect("list"),
            std::slice::from_ref(&created)
        );
    }
}

#[tokio::test]
async fn path_url_without_slashes_creates_and_reopens_the_file() {
    let dir = std::env::temp_dir().join(format!("parley-store-url-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let url = format!("sqlite:{}", dir.join("nested.db").display());

    let db = connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let created = widget(&db, "Shop").await;
    drop(db);
    assert!(dir.join("nested.db").exists());

    let reopened = connect(&url).await.expect("reconnect");
    reopened.migrate().await.expect("migrate again");
    assert_eq!(
        reopened.widget(created.id).await.expect("get"),
        Some(created)
    );
    drop(reopened);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn unknown_scheme_is_rejected() {
    let err = connect("mysql://localhost/parley")
        .await
        .expect_err("unsupported");
    assert!(
        matches!(err, StoreError::Database(sqlx::Error::Configuration(_))),
        "{err:?}"
    );
}
