//! Attachments: recorded with the message that carries them, in one transaction.

use parley_store::{Inserted, NewAttachment, StoreError};

use crate::support::{chat, on_both, text, Db};

on_both!(
    message_records_its_attachment,
    attachment_rules,
    duplicate_records_no_attachment
);

fn upload(storage_name: &str) -> NewAttachment {
    NewAttachment {
        storage_name: storage_name.into(),
        original_name: "invoice march.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 48_213,
    }
}

fn with_file(
    conversation_id: i64,
    storage_name: &str,
    client_id: Option<&str>,
) -> parley_store::NewMessage {
    let mut message = text(conversation_id, "", client_id);
    message.attachment = Some(upload(storage_name));
    message
}

async fn message_records_its_attachment(db: Db) {
    let chat = chat(&db).await;
    let mut message = with_file(chat.id, "77aa.ogg", Some("v1"));
    if let Some(file) = &mut message.attachment {
        file.original_name = "voice-note.ogg".into();
        file.content_type = "audio/ogg".into();
    }
    message.is_voice = true;
    let inserted = db.insert_message(message).await.expect("insert");
    let Inserted::Created(stored) = inserted else {
        panic!("not created: {inserted:?}")
    };
    let id = stored.attachment_id.expect("attachment recorded");
    assert_eq!(stored.attachment_name.as_deref(), Some("voice-note.ogg"));
    assert!(stored.is_voice);
    let recorded = db.attachment(id).await.expect("get").expect("exists");
    assert_eq!(recorded.conversation_id, chat.id);
    assert_eq!(recorded.storage_name, "77aa.ogg");
    assert_eq!(recorded.original_name, "voice-note.ogg");
    assert_eq!(recorded.content_type, "audio/ogg");
    assert_eq!(recorded.size_bytes, 48_213);
    assert_eq!(db.attachment(999_999).await.expect("get"), None);

    let plain = db
        .insert_message(text(chat.id, "and text", None))
        .await
        .expect("insert");
    assert_eq!(plain.message().attachment_id, None);
    let page = db.messages_after(chat.id, 0, 10).await.expect("page");
    assert_eq!(page, [stored.clone(), plain.message().clone()]);

    // A repeat returns the original with its attachment name, too.
    assert_eq!(
        db.insert_message(with_file(chat.id, "88bb.ogg", Some("v1")))
            .await
            .expect("insert"),
        Inserted::Duplicate(stored)
    );
}

async fn attachment_rules(db: Db) {
    let err = db
        .insert_message(with_file(999_999, "a.pdf", None))
        .await
        .expect_err("unknown conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let chat = chat(&db).await;
    db.insert_message(with_file(chat.id, "a.pdf", None))
        .await
        .expect("create");
    let err = db
        .insert_message(with_file(chat.id, "a.pdf", None))
        .await
        .expect_err("same storage name");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    // The refused message was not stored either.
    assert_eq!(
        db.messages_after(chat.id, 0, 10).await.expect("page").len(),
        1
    );
}

/// A retried upload (same `client_id`) leaves no second attachment behind: the store answers
/// with the original message and records nothing.
async fn duplicate_records_no_attachment(db: Db) {
    let chat = chat(&db).await;
    let first = db
        .insert_message(with_file(chat.id, "first.pdf", Some("retry-1")))
        .await
        .expect("insert");
    let first_id = first.message().attachment_id.expect("recorded");
    let again = db
        .insert_message(with_file(chat.id, "second.pdf", Some("retry-1")))
        .await
        .expect("insert");
    assert!(matches!(again, Inserted::Duplicate(_)), "{again:?}");
    assert_eq!(again.message().attachment_id, Some(first_id));
    // The next attachment id would have been taken by the duplicate's row had it been kept.
    let next = db
        .insert_message(with_file(chat.id, "third.pdf", None))
        .await
        .expect("insert");
    let next_id = next.message().attachment_id.expect("recorded");
    assert!(db.attachment(first_id).await.expect("get").is_some());
    // "second.pdf" was never recorded: its storage name is free to use.
    db.insert_message(with_file(chat.id, "second.pdf", None))
        .await
        .expect("the duplicate's storage name was not kept");
    assert!(next_id > first_id);
}
