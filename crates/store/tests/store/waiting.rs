//! Conversations waiting for a reply by email: marked with the email left (a verified email is
//! kept), found by the inbox filter while open, and ended by the agent's reply.

use chrono::{Duration, Utc};
use parley_store::{ConversationQuery, ConversationStatus, NewConversation, VerifiedUser};

use crate::support::{on_both, token, widget, Db};

on_both!(a_left_email_marks_the_conversation_waiting);
on_both!(a_verified_email_is_kept);
on_both!(the_inbox_filter_finds_open_waiting_conversations);

async fn anonymous(db: &Db, widget_id: i64) -> parley_store::Conversation {
    db.create_conversation(NewConversation {
        widget_id,
        visitor_token_hash: token(),
        ..Default::default()
    })
    .await
    .expect("create conversation")
}

async fn a_left_email_marks_the_conversation_waiting(db: Db) {
    let shop = widget(&db, "Shop").await;
    let conversation = anonymous(&db, shop.id).await;
    assert_eq!(conversation.waiting_for_email_at, None);
    let at = Utc::now();
    let waiting = db
        .wait_for_email(conversation.id, Some("ada@example.com"), at)
        .await
        .unwrap()
        .expect("waiting");
    assert_eq!(waiting.visitor_email.as_deref(), Some("ada@example.com"));
    assert!(!waiting.email_verified);
    let since = waiting.waiting_for_email_at.expect("marked");
    assert!((since - at).num_milliseconds().abs() < 1000);
    assert_eq!(
        db.conversation(conversation.id).await.unwrap(),
        Some(waiting.clone())
    );

    // Again, with a corrected email: the address changes, the wait keeps its start.
    let later = at + Duration::seconds(30);
    let again = db
        .wait_for_email(conversation.id, Some("ada@example.org"), later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.visitor_email.as_deref(), Some("ada@example.org"));
    assert_eq!(again.waiting_for_email_at, Some(since));
    // Without an email: the one given stays.
    let kept = db
        .wait_for_email(conversation.id, None, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.visitor_email.as_deref(), Some("ada@example.org"));

    // The agent's reply ends the wait, once.
    let ended = db
        .end_email_wait(conversation.id)
        .await
        .unwrap()
        .expect("was waiting");
    assert_eq!(ended.waiting_for_email_at, None);
    assert_eq!(ended.visitor_email.as_deref(), Some("ada@example.org"));
    assert_eq!(db.end_email_wait(conversation.id).await.unwrap(), None);

    assert_eq!(db.wait_for_email(999_999, None, at).await.unwrap(), None);
    assert!(db
        .wait_for_email(conversation.id, Some("a\u{0}@example.com"), at)
        .await
        .is_err());
}

async fn a_verified_email_is_kept(db: Db) {
    let shop = widget(&db, "Shop").await;
    let conversation = anonymous(&db, shop.id).await;
    let user = VerifiedUser {
        id: "customer-7".into(),
        name: None,
        email: Some("signed@example.com".into()),
    };
    db.attach_user(conversation.id, &user)
        .await
        .unwrap()
        .expect("attached");
    let waiting = db
        .wait_for_email(conversation.id, Some("typed@example.com"), Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.visitor_email.as_deref(), Some("signed@example.com"));
    assert!(waiting.email_verified);
    assert!(waiting.waiting_for_email_at.is_some());
}

async fn the_inbox_filter_finds_open_waiting_conversations(db: Db) {
    let shop = widget(&db, "Shop").await;
    let waiting = anonymous(&db, shop.id).await;
    let other = anonymous(&db, shop.id).await;
    let closed = anonymous(&db, shop.id).await;
    db.wait_for_email(waiting.id, Some("w@example.com"), Utc::now())
        .await
        .unwrap();
    db.wait_for_email(closed.id, Some("c@example.com"), Utc::now())
        .await
        .unwrap();
    db.update_conversation(closed.id, ConversationStatus::Closed, None)
        .await
        .unwrap();
    let query = ConversationQuery {
        waiting_for_email: true,
        widget_id: Some(shop.id),
        ..ConversationQuery::latest(50)
    };
    let found: Vec<i64> = db
        .conversations(&query)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(found, [waiting.id]);
    let all = db
        .conversations(&ConversationQuery::latest(50))
        .await
        .unwrap();
    assert!(all.iter().any(|c| c.id == other.id));
}
