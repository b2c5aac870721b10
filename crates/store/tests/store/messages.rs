//! Messages: storing, paging with `messages_after`, the newest with `latest_messages` and
//! `last_messages`, and idempotency by `client_id`, also under
//! concurrent inserts.

use parley_store::{Inserted, NewAttachment, NewMessage, SenderType, StoreError};

use crate::support::{chat, conversation, on_both, text, Db};

on_both!(
    insert_and_page,
    repeated_client_id_returns_the_original,
    concurrent_repeats_create_one_message,
    client_id_is_scoped_to_its_conversation,
    messages_without_client_id_never_clash,
    message_needs_a_conversation_and_leaves_nothing_when_refused,
);

async fn insert_and_page(db: Db) {
    let chat = chat(&db).await;
    let other = conversation(&db, chat.widget_id).await;

    let mut stored = Vec::new();
    for (i, sender_type) in [
        SenderType::Visitor,
        SenderType::Bot,
        SenderType::Agent,
        SenderType::System,
        SenderType::Visitor,
    ]
    .into_iter()
    .enumerate()
    {
        let inserted = db
            .insert_message(NewMessage {
                conversation_id: chat.id,
                sender_type,
                sender_name: (i % 2 == 0).then(|| format!("sender {i}")),
                message: format!("message {i}"),
                attachment: None,
                is_voice: false,
                client_id: Some(format!("client-{i}")),
                bot_job: false,
            })
            .await
            .expect("insert");
        let Inserted::Created(message) = inserted else {
            panic!("not created: {inserted:?}")
        };
        assert_eq!(message.conversation_id, chat.id);
        assert_eq!(message.sender_type, sender_type);
        assert_eq!(message.message, format!("message {i}"));
        assert_eq!(message.client_id, Some(format!("client-{i}")));
        assert_eq!(
            (
                message.attachment_id,
                message.attachment_name.as_deref(),
                message.is_voice
            ),
            (None, None, false)
        );
        stored.push(message);
        // Another conversation's messages interleave and must not show up below.
        db.insert_message(text(other.id, "elsewhere", None))
            .await
            .expect("insert");
    }
    assert!(
        stored.windows(2).all(|pair| pair[0].id < pair[1].id),
        "ids increase"
    );

    assert_eq!(
        db.messages_after(chat.id, 0, 100).await.expect("page"),
        stored
    );
    assert_eq!(
        db.messages_after(chat.id, stored[1].id, 2)
            .await
            .expect("page"),
        stored[2..4]
    );
    assert_eq!(
        db.messages_after(chat.id, stored[3].id, 100)
            .await
            .expect("page"),
        stored[4..]
    );
    // The newest ones, still oldest first; and each conversation's last message.
    assert_eq!(
        db.latest_messages(chat.id, None, 2).await.expect("latest"),
        stored[3..]
    );
    assert_eq!(
        db.latest_messages(chat.id, None, 100)
            .await
            .expect("latest"),
        stored
    );
    assert!(db
        .latest_messages(chat.id, None, 0)
        .await
        .expect("latest")
        .is_empty());
    let mut last = db
        .last_messages(&[chat.id, other.id, 999_999])
        .await
        .expect("last");
    last.sort_by_key(|m| m.conversation_id);
    assert_eq!(last.len(), 2, "{last:?}");
    assert_eq!(last[0], stored[4]);
    assert_eq!(last[1].conversation_id, other.id);
    assert_eq!(last[1].message, "elsewhere");
    assert!(db.last_messages(&[]).await.expect("last").is_empty());
    assert!(db
        .messages_after(chat.id, stored[4].id, 100)
        .await
        .expect("page")
        .is_empty());
    assert!(db
        .messages_after(chat.id, 0, 0)
        .await
        .expect("page")
        .is_empty());
    assert!(db
        .messages_after(999_999, 0, 100)
        .await
        .expect("page")
        .is_empty());
    assert_eq!(
        db.messages_after(other.id, 0, 100)
            .await
            .expect("page")
            .len(),
        5
    );
}

async fn repeated_client_id_returns_the_original(db: Db) {
    let chat = chat(&db).await;
    let first = db
        .insert_message(text(chat.id, "first", Some("abc")))
        .await
        .expect("insert");
    let Inserted::Created(original) = first else {
        panic!("not created: {first:?}")
    };
    let updated_at = db
        .conversation(chat.id)
        .await
        .expect("get")
        .expect("present")
        .updated_at;

    let again = db
        .insert_message(text(chat.id, "different text", Some("abc")))
        .await;
    assert_eq!(
        again.expect("insert"),
        Inserted::Duplicate(original.clone())
    );
    assert_eq!(
        db.messages_after(chat.id, 0, 100).await.expect("page"),
        [original]
    );
    // Nothing stored means nothing changed, not even the conversation's clock.
    let after = db
        .conversation(chat.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(after.updated_at, updated_at);
}

async fn concurrent_repeats_create_one_message(db: Db) {
    let chat = chat(&db).await;
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.insert_message(text(chat.id, &format!("try {i}"), Some("same")))
                    .await
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("task").expect("insert"));
    }
    let created: Vec<_> = results
        .iter()
        .filter(|r| matches!(r, Inserted::Created(_)))
        .collect();
    assert_eq!(created.len(), 1, "{results:?}");
    let id = created[0].message().id;
    assert!(
        results.iter().all(|r| r.message() == created[0].message()),
        "{results:?}"
    );

    let stored = db.messages_after(chat.id, 0, 100).await.expect("page");
    assert_eq!(stored.iter().map(|m| m.id).collect::<Vec<_>>(), [id]);
}

async fn client_id_is_scoped_to_its_conversation(db: Db) {
    let one = chat(&db).await;
    let two = conversation(&db, one.widget_id).await;
    let a = db
        .insert_message(text(one.id, "hi", Some("k1")))
        .await
        .expect("insert");
    let b = db
        .insert_message(text(two.id, "hi", Some("k1")))
        .await
        .expect("insert");
    assert!(
        matches!(a, Inserted::Created(_)) && matches!(b, Inserted::Created(_)),
        "{a:?} {b:?}"
    );
    assert_ne!(a.message().id, b.message().id);
    assert_eq!(b.message().conversation_id, two.id);
}

async fn messages_without_client_id_never_clash(db: Db) {
    let chat = chat(&db).await;
    for _ in 0..3 {
        let inserted = db
            .insert_message(text(chat.id, "same text", None))
            .await
            .expect("insert");
        assert!(matches!(inserted, Inserted::Created(_)), "{inserted:?}");
    }
    assert_eq!(
        db.messages_after(chat.id, 0, 100)
            .await
            .expect("page")
            .len(),
        3
    );
}

async fn message_needs_a_conversation_and_leaves_nothing_when_refused(db: Db) {
    let err = db
        .insert_message(text(999_999, "lost", Some("x")))
        .await
        .expect_err("unknown conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");

    let chat = chat(&db).await;
    let file = |name: &str| NewAttachment {
        storage_name: name.into(),
        original_name: "a.pdf".into(),
        content_type: "application/pdf".into(),
        size_bytes: 3,
    };
    let mut first = text(chat.id, "see file", None);
    first.attachment = Some(file("taken.pdf"));
    let stored = db.insert_message(first).await.expect("insert");
    let chat = db
        .conversation(chat.id)
        .await
        .expect("get")
        .expect("present");
    // The attachment's row is written first in the transaction; its refusal must take the
    // conversation's touch with it.
    let mut clash = text(chat.id, "see file", None);
    clash.attachment = Some(file("taken.pdf"));
    let err = db
        .insert_message(clash)
        .await
        .expect_err("storage name taken");
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");

    assert_eq!(
        db.messages_after(chat.id, 0, 100).await.expect("page"),
        [stored.message().clone()]
    );
    let unchanged = db
        .conversation(chat.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(
        unchanged.updated_at, chat.updated_at,
        "a failed insert changes nothing"
    );
}
