//! Privacy: a visitor's conversations found by id, email or verified user; a conversation
//! exported whole; erased whole with everything that refers to it; and inactive conversations
//! expired in batches, also by two nodes at once and while messages are being stored.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use chrono::Utc;
use parley_store::{
    MailKind, NewAttachment, NewConversation, NewMailJob, StoreError, VisitorSelector,
};

use crate::support::{chat, conversation, on_both, text, token, widget, Db, Fixture};

on_both!(
    a_visitor_is_found_by_conversation_email_or_user,
    an_export_holds_everything_about_a_conversation,
    erasing_removes_a_conversation_and_all_that_refers_to_it,
    inactive_conversations_expire_oldest_first_in_batches,
    writes_racing_an_erasure_find_the_conversation_gone,
);
on_both!(fresh: two_nodes_expiring_at_once_share_the_work);

async fn visitor(db: &Db, widget_id: i64, email: Option<&str>, user: Option<&str>) -> i64 {
    db.create_conversation(NewConversation {
        widget_id,
        visitor_name: Some("Vera".into()),
        visitor_email: email.map(Into::into),
        visitor_token_hash: token(),
        user_id: user.map(Into::into),
        ..NewConversation::default()
    })
    .await
    .expect("create conversation")
    .id
}

async fn a_visitor_is_found_by_conversation_email_or_user(db: Db) {
    let shop = widget(&db, "Shop").await.id;
    let blog = widget(&db, "Blog").await.id;
    let first = visitor(&db, shop, Some("Vera@Example.com"), None).await;
    let second = visitor(&db, blog, Some("vera@example.com"), None).await;
    let signed = visitor(&db, shop, Some("VERA@example.COM"), Some("user-42")).await;
    let other = visitor(&db, shop, Some("otto@example.com"), Some("user-7")).await;
    let accented = visitor(&db, shop, Some("ÉLODIE@example.com"), None).await;
    let _anonymous = visitor(&db, shop, None, None).await;

    let find = |who: VisitorSelector| {
        let db = db.clone();
        async move { db.conversations_of_visitor(&who).await.expect("select") }
    };
    let email = |email: &str, widget_id| VisitorSelector::Email {
        email: email.into(),
        widget_id,
    };
    assert_eq!(find(VisitorSelector::Conversation(first)).await, [first]);
    assert_eq!(
        find(VisitorSelector::Conversation(999_999)).await,
        [0_i64; 0]
    );
    assert_eq!(
        find(email(" vera@EXAMPLE.com ", None)).await,
        [first, second, signed],
        "ASCII letters in any case, every widget, oldest first"
    );
    assert_eq!(
        find(email("vera@example.com", Some(shop))).await,
        [first, signed]
    );
    assert_eq!(find(email("vera@example.com", Some(blog))).await, [second]);
    assert_eq!(find(email("nobody@example.com", None)).await, [0_i64; 0]);
    assert_eq!(
        find(email("", None)).await,
        [0_i64; 0],
        "no email matches nothing"
    );
    assert_eq!(
        find(email("vera%", None)).await,
        [0_i64; 0],
        "not a pattern"
    );
    // Only ASCII letters fold, on both databases alike.
    assert_eq!(find(email("ÉLODIE@EXAMPLE.COM", None)).await, [accented]);
    assert_eq!(find(email("élodie@example.com", None)).await, [0_i64; 0]);

    let user = |user_id: &str, widget_id| VisitorSelector::User {
        user_id: user_id.into(),
        widget_id,
    };
    assert_eq!(find(user("user-42", shop)).await, [signed]);
    assert_eq!(find(user("user-7", shop)).await, [other]);
    assert_eq!(
        find(user("user-42", blog)).await,
        [0_i64; 0],
        "another site's user"
    );
    assert_eq!(find(user("", shop)).await, [0_i64; 0]);
}

fn upload(storage_name: &str) -> NewAttachment {
    NewAttachment {
        storage_name: storage_name.into(),
        original_name: "passport.png".into(),
        content_type: "image/png".into(),
        size_bytes: 1234,
    }
}

/// A conversation with a bit of everything: two messages (one with a file, one queued for the
/// bot), a reaction, read marks, a rating and a mail. Returns the file's storage name.
async fn busy(db: &Db, conversation_id: i64) -> String {
    let file = format!("{:032x}", rand::random::<u128>());
    let mut with_file = text(conversation_id, "my passport", Some("c1"));
    with_file.attachment = Some(upload(&file));
    let first = db.insert_message(with_file).await.expect("insert");
    let mut question = text(conversation_id, "is it fine?", Some("c2"));
    question.bot_job = true;
    let second = db.insert_message(question).await.expect("insert");
    db.set_reaction(first.message().id, "agent:1", "👍", true)
        .await
        .expect("react");
    db.mark_read(conversation_id, "visitor", second.message().id)
        .await
        .expect("mark");
    db.mark_read(conversation_id, "agent", first.message().id)
        .await
        .expect("mark");
    db.rate(conversation_id, 5, Some("thanks"))
        .await
        .expect("rate");
    db.enqueue_mail(NewMailJob {
        kind: MailKind::Transcript,
        dedupe_key: format!("transcript:{conversation_id}"),
        conversation_id: Some(conversation_id),
        recipient: "vera@example.com".into(),
        payload: serde_json::json!({}),
        up_to_message_id: Some(second.message().id),
        run_at: Utc::now(),
    })
    .await
    .expect("queue a mail")
    .expect("queued");
    file
}

async fn an_export_holds_everything_about_a_conversation(db: Db) {
    let chat = chat(&db).await;
    busy(&db, chat.id).await;
    let export = db
        .conversation_export(chat.id)
        .await
        .expect("export")
        .expect("found");
    assert_eq!(
        Some(&export.conversation),
        db.conversation(chat.id).await.unwrap().as_ref()
    );
    assert_eq!(
        export.conversation.visitor_email.as_deref(),
        Some("vera@example.com")
    );
    let texts: Vec<&str> = export.messages.iter().map(|m| m.message.as_str()).collect();
    assert_eq!(texts, ["my passport", "is it fine?"]);
    assert_eq!(export.attachments.len(), 1);
    assert_eq!(export.attachments[0].original_name, "passport.png");
    assert_eq!(
        Some(export.attachments[0].id),
        export.messages[0].attachment_id
    );
    assert_eq!(export.reactions.len(), 1);
    assert_eq!(export.reactions[0].emoji, "👍");
    let readers: Vec<&str> = export
        .read_states
        .iter()
        .map(|r| r.reader.as_str())
        .collect();
    assert_eq!(readers, ["agent", "visitor"]);
    assert_eq!(export.rating.as_ref().map(|r| r.score), Some(5));

    // What is exported serialises without the secrets: no token hash, no names on disk.
    let json = serde_json::to_string(&export).expect("serialise");
    assert!(!json.contains(&chat.visitor_token_hash));
    assert!(!json.contains("storage_name"));

    assert_eq!(db.conversation_export(999_999).await.expect("export"), None);
    let quiet = conversation(&db, chat.widget_id).await;
    let empty = db
        .conversation_export(quiet.id)
        .await
        .expect("export")
        .expect("found");
    assert!(empty.messages.is_empty() && empty.attachments.is_empty());
    assert_eq!(empty.rating, None);
}

async fn erasing_removes_a_conversation_and_all_that_refers_to_it(db: Db) {
    let chat = chat(&db).await;
    let kept = conversation(&db, chat.widget_id).await;
    let file = busy(&db, chat.id).await;
    let kept_file = busy(&db, kept.id).await;
    let attachment = db.messages_after(chat.id, 0, 10).await.unwrap()[0]
        .attachment_id
        .expect("attachment");

    let erased = db
        .erase_conversation(chat.id)
        .await
        .expect("erase")
        .expect("found");
    assert_eq!(erased.conversations.len(), 1);
    assert_eq!(erased.conversations[0].id, chat.id);
    assert_eq!(erased.conversations[0].widget_id, chat.widget_id);
    assert_eq!(erased.messages, 2);
    assert_eq!(erased.attachments, 1);
    assert_eq!(erased.files, [file]);
    assert_eq!(erased.reactions, 1);
    assert_eq!(erased.read_states, 2);
    assert_eq!(erased.ratings, 1);
    assert_eq!(erased.bot_jobs, 1);
    assert_eq!(erased.mail_jobs, 1);
    assert!(db.mail_jobs_of(chat.id).await.unwrap().is_empty());
    assert_eq!(db.mail_jobs_of(kept.id).await.unwrap().len(), 1);

    assert_eq!(db.conversation(chat.id).await.unwrap(), None);
    assert!(db.messages_after(chat.id, 0, 10).await.unwrap().is_empty());
    assert_eq!(db.attachment(attachment).await.unwrap(), None);
    assert!(db.reactions(chat.id).await.unwrap().is_empty());
    assert!(db.read_states(chat.id).await.unwrap().is_empty());
    assert_eq!(db.rating(chat.id).await.unwrap(), None);
    assert_eq!(db.conversation_export(chat.id).await.unwrap(), None);

    // The other conversation keeps everything; its bot turn is the only one left.
    let other = db
        .conversation_export(kept.id)
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(other.messages.len(), 2);
    assert_eq!(other.reactions.len(), 1);
    assert!(other.rating.is_some());
    assert_eq!(
        db.attachment(other.attachments[0].id)
            .await
            .unwrap()
            .map(|a| a.storage_name),
        Some(kept_file)
    );
    let job = db
        .claim_bot_job(Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the kept conversation's turn");
    assert_eq!(job.conversation_id, kept.id);
    assert_eq!(
        db.claim_bot_job(Duration::from_secs(60)).await.unwrap(),
        None
    );

    // Gone is gone: erasing again finds nothing, and nothing can be added to it.
    assert_eq!(db.erase_conversation(chat.id).await.unwrap(), None);
    let err = db
        .insert_message(text(chat.id, "hello?", None))
        .await
        .expect_err("erased");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = db
        .mark_read(chat.id, "visitor", 1)
        .await
        .expect_err("erased");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    let err = db.rate(chat.id, 3, None).await.expect_err("erased");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    // Ids are never handed out again.
    assert!(conversation(&db, chat.widget_id).await.id > kept.id);
}

async fn inactive_conversations_expire_oldest_first_in_batches(db: Db) {
    let shop = widget(&db, "Shop").await.id;
    let blog = widget(&db, "Blog").await.id;
    let mut old = Vec::new();
    for _ in 0..5 {
        old.push(visitor(&db, shop, Some("a@example.com"), None).await);
    }
    busy(&db, old[1]).await;
    let elsewhere = visitor(&db, blog, None, None).await;
    let cutoff = Utc::now();
    // A new conversation, and an old one that is active again, are kept.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let fresh = visitor(&db, shop, None, None).await;
    db.insert_message(text(old[4], "still here", None))
        .await
        .expect("insert");

    let first = db.erase_inactive(shop, cutoff, 2).await.expect("expire");
    let ids: Vec<i64> = first.conversations.iter().map(|c| c.id).collect();
    assert_eq!(
        ids,
        [old[0], old[2]],
        "oldest activity first: the second was active later"
    );
    let second = db.erase_inactive(shop, cutoff, 2).await.expect("expire");
    let ids: Vec<i64> = second.conversations.iter().map(|c| c.id).collect();
    assert_eq!(ids, [old[3], old[1]]);
    assert_eq!(second.messages, 2);
    assert_eq!(second.files.len(), 1);
    assert_eq!(second.ratings, 1);
    let third = db.erase_inactive(shop, cutoff, 2).await.expect("expire");
    assert!(third.is_empty(), "{third:?}");

    for id in [old[4], fresh, elsewhere] {
        assert!(db.conversation(id).await.unwrap().is_some(), "{id} is kept");
    }
    for id in &old[..4] {
        assert_eq!(db.conversation(*id).await.unwrap(), None, "{id} expired");
    }
    assert!(db.erase_inactive(shop, cutoff, 0).await.unwrap().is_empty());
}

async fn two_nodes_expiring_at_once_share_the_work(fixture: Arc<Fixture>) {
    let one = fixture.open().await;
    one.migrate().await.expect("migrate");
    let two = fixture.open().await;
    let shop = widget(&one, "Shop").await.id;
    let mut all = BTreeSet::new();
    for n in 0..24 {
        let id = visitor(&one, shop, None, None).await;
        one.insert_message(text(id, &format!("message {n}"), None))
            .await
            .expect("insert");
        all.insert(id);
    }
    let cutoff = Utc::now();
    let node = |db: Db| {
        tokio::spawn(async move {
            let mut erased = Vec::new();
            loop {
                let batch = db.erase_inactive(shop, cutoff, 3).await.expect("expire");
                if batch.is_empty() {
                    return erased;
                }
                erased.extend(batch.conversations.iter().map(|c| c.id));
            }
        })
    };
    let (a, b) = (node(one.clone()), node(two.clone()));
    let (a, b) = (a.await.expect("node one"), b.await.expect("node two"));
    let mut together: Vec<i64> = a.iter().chain(&b).copied().collect();
    together.sort_unstable();
    assert_eq!(
        together,
        all.into_iter().collect::<Vec<_>>(),
        "each erased once: {a:?} {b:?}"
    );
}

async fn writes_racing_an_erasure_find_the_conversation_gone(db: Db) {
    for round in 0..3 {
        let chat = chat(&db).await;
        db.insert_message(text(chat.id, "first", None))
            .await
            .expect("insert");
        let mut writers = Vec::new();
        for n in 0..8 {
            let db = db.clone();
            writers.push(tokio::spawn(async move {
                let sent = db
                    .insert_message(text(chat.id, &format!("racing {n}"), None))
                    .await
                    .map(|_| ());
                let read = db.mark_read(chat.id, "visitor", 1).await.map(|_| ());
                [sent, read]
            }));
        }
        let erased = db
            .erase_conversation(chat.id)
            .await
            .expect("erase")
            .expect("found");
        assert_eq!(erased.conversations.len(), 1, "round {round}");
        for writer in writers {
            for outcome in writer.await.expect("writer") {
                if let Err(err) = outcome {
                    assert!(
                        matches!(err, StoreError::NotFound(_)),
                        "round {round}: {err:?}"
                    );
                }
            }
        }
        // Whatever got in before the erasure went with it; nothing got in after.
        assert!(db.messages_after(chat.id, 0, 100).await.unwrap().is_empty());
        assert!(db.read_states(chat.id).await.unwrap().is_empty());
        assert_eq!(db.conversation(chat.id).await.unwrap(), None);
    }
}
