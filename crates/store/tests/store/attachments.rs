//! Attachments: recording uploads, and messages that carry one.

use parley_store::{Inserted, NewAttachment, StoreError};

use crate::support::{chat, on_both, text, Db};

on_both!(
    create_and_get_attachment,
    attachment_rules,
    message_shows_attachment_name
);

fn upload(conversation_id: i64, storage_name: &str) -> NewAttachment {
    NewAttachment {
        conversation_id,
        storage_name: storage_name.into(),
        original_name: "invoice march.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 48_213,
    }
}

async fn create_and_get_attachment(db: Db) {
    let chat = chat(&db).await;
    let created = db
        .create_attachment(upload(chat.id, "9f2c.pdf"))
        .await
        .expect("create");
    assert_eq!(created.conversation_id, chat.id);
    assert_eq!(created.storage_name, "9f2c.pdf");
    assert_eq!(created.original_name, "invoice march.pdf");
    assert_eq!(created.content_type, "application/pdf");
    assert_eq!(created.size_bytes, 48_213);
    assert_eq!(db.attachment(created.id).await.expect("get"), Some(created));
    assert_eq!(db.attachment(999_999).await.expect("get"), None);
}

async fn attachment_rules(db: Db) {
    let err = db
        .create_attachment(upload(999_999, "a.pdf"))
        .await
        .expect_err("unknown conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let chat = chat(&db).await;
    db.create_attachment(upload(chat.id, "a.pdf"))
        .await
        .expect("create");
    let err = db
        .create_attachment(upload(chat.id, "a.pdf"))
        .await
        .expect_err("same storage name");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
}

async fn message_shows_attachment_name(db: Db) {
    let chat = chat(&db).await;
    let voice = db
        .create_attachment(NewAttachment {
            original_name: "voice-note.ogg".into(),
            content_type: "audio/ogg".into(),
            ..upload(chat.id, "77aa.ogg")
        })
        .await
        .expect("create");
    let mut message = text(chat.id, "", Some("v1"));
    message.attachment_id = Some(voice.id);
    message.is_voice = true;
    let inserted = db.insert_message(message).await.expect("insert");
    let Inserted::Created(stored) = inserted else {
        panic!("not created: {inserted:?}")
    };
    assert_eq!(stored.attachment_id, Some(voice.id));
    assert_eq!(stored.attachment_name.as_deref(), Some("voice-note.ogg"));
    assert!(stored.is_voice);

    let plain = db
        .insert_message(text(chat.id, "and text", None))
        .await
        .expect("insert");
    let page = db.messages_after(chat.id, 0, 10).await.expect("page");
    assert_eq!(page, [stored.clone(), plain.message().clone()]);

    // A repeat returns the original with its attachment name, too.
    let mut again = text(chat.id, "", Some("v1"));
    again.attachment_id = Some(voice.id);
    assert_eq!(
        db.insert_message(again).await.expect("insert"),
        Inserted::Duplicate(stored)
    );
}
