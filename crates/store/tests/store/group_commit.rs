//! Group commit: messages inserted at the same time are committed together, and each is still
//! answered as if it had been inserted alone. Several tests make sure a batch forms: the first
//! message's `after_commit` holds its conversation's writer while the others queue up behind
//! it, so the messages of that conversation all go in the next batch (another conversation's
//! may take another writer).

use std::{
    future::Future,
    sync::{Arc, Mutex},
    task::Poll,
};

use parley_store::{Inserted, NewAttachment, NewMessage, NewWebhook, StoreError, MESSAGE_CREATED};
use tokio::task::JoinHandle;

use crate::support::{chat, conversation, on_both, text, Db};

on_both!(
    concurrent_messages_are_stored_once_in_order,
    each_message_of_a_batch_gets_its_own_answer,
    a_failing_message_fails_alone,
    a_batch_queues_bot_turns_and_webhook_deliveries,
);

/// Many senders at once on a few conversations: every message is stored once, each sender's
/// messages keep their order, and the `after_commit` actions (the chat service's broadcasts)
/// run in id order within each conversation.
async fn concurrent_messages_are_stored_once_in_order(db: Db) {
    let first = chat(&db).await;
    let mut conversations = vec![first.id];
    for _ in 0..3 {
        conversations.push(conversation(&db, first.widget_id).await.id);
    }
    let announced: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut senders = Vec::new();
    for &conversation_id in &conversations {
        for sender in 0..8 {
            let db = db.clone();
            let announced = announced.clone();
            senders.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for seq in 0..6 {
                    let client_id = format!("s{sender}-{seq}");
                    let announced = announced.clone();
                    let inserted = db
                        .insert_message_then(
                            text(conversation_id, &client_id, Some(&client_id)),
                            Box::new(move |inserted: &Inserted| {
                                let message = inserted.message();
                                let mut announced = announced.lock().unwrap();
                                announced.push((message.conversation_id, message.id));
                            }),
                        )
                        .await
                        .expect("insert");
                    assert!(matches!(inserted, Inserted::Created(_)), "{inserted:?}");
                    ids.push(inserted.message().id);
                }
                ids
            }));
        }
    }
    for sender in senders {
        let ids = sender.await.expect("sender");
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "a sender's order: {ids:?}"
        );
    }

    let announced = announced.lock().unwrap().clone();
    assert_eq!(announced.len(), conversations.len() * 8 * 6);
    for &conversation_id in &conversations {
        let stored = db
            .messages_after(conversation_id, 0, 500)
            .await
            .expect("page");
        assert_eq!(stored.len(), 8 * 6, "each message once");
        let mut client_ids: Vec<_> = stored.iter().filter_map(|m| m.client_id.clone()).collect();
        client_ids.sort();
        client_ids.dedup();
        assert_eq!(client_ids.len(), 8 * 6);
        let order: Vec<i64> = announced
            .iter()
            .filter(|(c, _)| *c == conversation_id)
            .map(|(_, id)| *id)
            .collect();
        let ids: Vec<i64> = stored.iter().map(|m| m.id).collect();
        assert_eq!(order, ids, "announced in id order");
    }
}

/// One batch with a new message, a repeat of a stored one, a message for a conversation that
/// does not exist, the same new `client_id` twice, and another conversation's message: each is
/// answered as alone.
async fn each_message_of_a_batch_gets_its_own_answer(db: Db) {
    let one = chat(&db).await;
    let two = conversation(&db, one.widget_id).await;
    let Inserted::Created(old) = db
        .insert_message(text(one.id, "old", Some("old")))
        .await
        .expect("insert")
    else {
        panic!("not created")
    };
    let before = db
        .conversation(one.id)
        .await
        .expect("get")
        .expect("present");

    let writer = Hold::writer(&db, text(one.id, "holds the writer", None)).await;
    let new = queue(&db, text(one.id, "new", Some("k1"))).await;
    let repeat = queue(&db, text(one.id, "old again", Some("old"))).await;
    let lost = queue(&db, text(999_999, "lost", Some("k1"))).await;
    let twice = queue(&db, text(one.id, "new again", Some("k1"))).await;
    let other = queue(&db, text(two.id, "other", Some("k1"))).await;
    let held = writer.release().await;

    let new = new.await.expect("task").expect("insert");
    let Inserted::Created(created) = &new else {
        panic!("not created: {new:?}")
    };
    assert_eq!(created.message, "new");
    assert_eq!(
        repeat.await.expect("task").expect("insert"),
        Inserted::Duplicate(old.clone())
    );
    let lost = lost.await.expect("task").expect_err("no such conversation");
    assert!(matches!(lost, StoreError::NotFound(_)), "{lost:?}");
    assert_eq!(
        twice.await.expect("task").expect("insert"),
        Inserted::Duplicate(created.clone())
    );
    let other = other.await.expect("task").expect("insert");
    assert!(matches!(other, Inserted::Created(_)), "{other:?}");

    assert_eq!(
        db.messages_after(one.id, 0, 100).await.expect("page"),
        [old, held, created.clone()]
    );
    assert_eq!(
        db.messages_after(two.id, 0, 100).await.expect("page").len(),
        1
    );
    let after = db
        .conversation(one.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(after.updated_at, created.created_at);
    assert!(after.updated_at >= before.updated_at);
}

/// A message that breaks a constraint inside a batch (an attachment's storage name already
/// taken) fails alone: its neighbours are stored, once, and nothing of it is.
async fn a_failing_message_fails_alone(db: Db) {
    let chat = chat(&db).await;
    let with_file = |text_: &str, storage_name: &str| NewMessage {
        attachment: Some(NewAttachment {
            storage_name: storage_name.into(),
            original_name: "a.pdf".into(),
            content_type: "application/pdf".into(),
            size_bytes: 3,
        }),
        ..text(chat.id, text_, None)
    };
    db.insert_message(with_file("first", "taken"))
        .await
        .expect("insert");

    let writer = Hold::writer(&db, text(chat.id, "holds the writer", None)).await;
    let before = queue(&db, text(chat.id, "before", Some("b"))).await;
    let bad = queue(&db, with_file("bad", "taken")).await;
    let filed = queue(&db, with_file("filed", "fresh")).await;
    let after = queue(&db, text(chat.id, "after", None)).await;
    writer.release().await;

    let bad = bad.await.expect("task").expect_err("storage name taken");
    assert!(matches!(bad, StoreError::Conflict(_)), "{bad:?}");
    for (task, expected) in [(before, "before"), (filed, "filed"), (after, "after")] {
        let inserted = task.await.expect("task").expect("insert");
        assert!(matches!(inserted, Inserted::Created(_)), "{inserted:?}");
        assert_eq!(inserted.message().message, expected);
    }
    let stored: Vec<String> = db
        .messages_after(chat.id, 0, 100)
        .await
        .expect("page")
        .into_iter()
        .map(|m| m.message)
        .collect();
    assert_eq!(
        stored,
        ["first", "holds the writer", "before", "filed", "after"]
    );
    let filed = db
        .messages_after(chat.id, 0, 100)
        .await
        .expect("page")
        .into_iter()
        .find(|m| m.message == "filed")
        .expect("stored");
    assert_eq!(filed.attachment_name.as_deref(), Some("a.pdf"));
    let attachment = db
        .attachment(filed.attachment_id.expect("attachment"))
        .await
        .expect("get")
        .expect("present");
    assert_eq!(attachment.storage_name, "fresh");
}

/// What a message brings along is written for each message of a batch: its bot turn when asked
/// for, and a delivery for each webhook that wants it (and for no other webhook).
async fn a_batch_queues_bot_turns_and_webhook_deliveries(db: Db) {
    let one = chat(&db).await;
    let other_widget = crate::support::widget(&db, "Blog").await;
    let two = conversation(&db, other_widget.id).await;
    let hook = |widget_id| NewWebhook {
        url: "https://crm.example/hooks/parley".into(),
        events: vec![MESSAGE_CREATED.into()],
        widget_id: Some(widget_id),
        secret: format!("whsec_{}", crate::support::token()),
    };
    let webhook = db
        .create_webhook(hook(one.widget_id))
        .await
        .expect("webhook");
    let turn = |conversation_id, body: &str| NewMessage {
        bot_job: true,
        ..text(conversation_id, body, Some(body))
    };

    let writer = Hold::writer(&db, text(one.id, "holds the writer", None)).await;
    let tasks = vec![
        queue(&db, turn(one.id, "a")).await,
        queue(&db, text(one.id, "b", Some("b"))).await,
        queue(&db, turn(two.id, "c")).await,
        queue(&db, turn(one.id, "d")).await,
    ];
    let held = writer.release().await;
    let mut stored = Vec::new();
    for task in tasks {
        let inserted = task.await.expect("task").expect("insert");
        assert!(matches!(inserted, Inserted::Created(_)), "{inserted:?}");
        stored.push(inserted.message().clone());
    }

    let mut turns = Vec::new();
    while let Some(job) = db
        .claim_bot_job(std::time::Duration::from_secs(60))
        .await
        .expect("claim")
    {
        turns.push((job.conversation_id, job.message_id));
    }
    turns.sort();
    let mut expected: Vec<(i64, i64)> = [0, 2, 3]
        .iter()
        .map(|&i| (stored[i].conversation_id, stored[i].id))
        .collect();
    expected.sort();
    assert_eq!(turns, expected, "a turn for each message that asked");

    let mut delivered: Vec<Option<i64>> = db
        .webhook_deliveries(webhook.id, None, 100)
        .await
        .expect("log")
        .into_iter()
        .map(|d| d.message_id)
        .collect();
    delivered.sort();
    let mut expected: Vec<Option<i64>> = stored
        .iter()
        .chain([&held])
        .filter(|m| m.conversation_id == one.id)
        .map(|m| Some(m.id))
        .collect();
    expected.sort();
    assert_eq!(delivered, expected, "the widget's messages only, once each");
}

/// A message whose `after_commit` holds its conversation's writer until released, so that
/// that conversation's messages queued meanwhile go in one batch.
struct Hold {
    release: std::sync::mpsc::Sender<()>,
    task: JoinHandle<parley_store::Result<Inserted>>,
}

impl Hold {
    async fn writer(db: &Db, message: NewMessage) -> Hold {
        let (held, holding) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let db = db.clone();
        let task = tokio::spawn(async move {
            db.insert_message_then(
                message,
                Box::new(move |_: &Inserted| {
                    let _ = held.send(());
                    // Off the runtime's worker, so that the tasks it would run go on.
                    tokio::task::block_in_place(|| {
                        let _ = released.recv();
                    });
                }),
            )
            .await
        });
        holding.await.expect("the message committed");
        Hold { release, task }
    }

    /// Lets the writer go on; the message that held it.
    async fn release(self) -> parley_store::Message {
        self.release.send(()).expect("still holding");
        let inserted = self.task.await.expect("task").expect("insert");
        assert!(matches!(inserted, Inserted::Created(_)), "{inserted:?}");
        inserted.message().clone()
    }
}

/// Starts inserting `message` and returns once it is queued: the insert has been polled once,
/// which hands it to the writer (or, with group commit off, starts its transaction).
async fn queue(db: &Db, message: NewMessage) -> JoinHandle<parley_store::Result<Inserted>> {
    let db = db.clone();
    started(async move { db.insert_message(message).await }).await
}

/// Polls `future` once here, then leaves the rest to a task.
async fn started<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> JoinHandle<T> {
    let mut future = Box::pin(future);
    let first = std::future::poll_fn(|cx| Poll::Ready(future.as_mut().poll(cx))).await;
    match first {
        Poll::Ready(output) => tokio::spawn(async move { output }),
        Poll::Pending => tokio::spawn(future),
    }
}
