//! Migrations: running them again, and several nodes running them at once, is harmless.

use std::sync::Arc;

use crate::support::{chat, on_both, text, widget, Db, Fixture};

on_both!(migrating_again_keeps_data);
on_both!(fresh: nodes_migrate_together);

async fn migrating_again_keeps_data(db: Db) {
    let chat = chat(&db).await;
    db.insert_message(text(chat.id, "kept", Some("k")))
        .await
        .expect("insert");
    let before = db.conversation(chat.id).await.expect("get");

    db.migrate().await.expect("second run");
    let (a, b) = tokio::join!(db.migrate(), db.migrate());
    a.expect("concurrent run");
    b.expect("concurrent run");

    assert_eq!(db.conversation(chat.id).await.expect("get"), before);
    assert_eq!(
        db.messages_after(chat.id, 0, 10).await.expect("page").len(),
        1
    );
}

async fn nodes_migrate_together(fixture: Arc<Fixture>) {
    let (one, two) = tokio::join!(fixture.open(), fixture.open());
    let (a, b) = tokio::join!(one.migrate(), two.migrate());
    a.expect("node one migrates");
    b.expect("node two migrates");

    let created = widget(&one, "Shop").await;
    assert_eq!(two.widget(created.id).await.expect("get"), Some(created));
}
