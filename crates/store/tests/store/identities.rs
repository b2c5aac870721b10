//! Verified identity: identity secrets, a user's conversations, attaching an anonymous one, and
//! the pre-chat answers stored with a conversation.

use parley_store::{ConversationQuery, ConversationStatus, NewConversation, VerifiedUser};
use serde_json::json;

use crate::support::{conversation, on_both, token, widget, Db};

on_both!(identity_secrets_are_set_on_live_widgets_only);
on_both!(a_users_conversations_and_the_open_one);
on_both!(an_anonymous_conversation_is_attached_once);
on_both!(pre_chat_answers_are_stored_and_searchable);

async fn identity_secrets_are_set_on_live_widgets_only(db: Db) {
    let shop = widget(&db, "Shop").await;
    assert_eq!(shop.identity_secret, None);
    assert!(db.set_identity_secret(shop.id, "cbi_one").await.unwrap());
    let read = db.widget(shop.id).await.unwrap().unwrap();
    assert_eq!(read.identity_secret.as_deref(), Some("cbi_one"));
    assert!(db.revoke_widget(shop.id).await.unwrap());
    assert!(!db.set_identity_secret(shop.id, "cbi_two").await.unwrap());
    assert!(!db.set_identity_secret(999_999, "cbi_two").await.unwrap());
    assert!(db.set_identity_secret(shop.id, "bad\u{0}").await.is_err());
}

fn of_user(widget_id: i64, user: &str) -> NewConversation {
    NewConversation {
        widget_id,
        visitor_token_hash: token(),
        user_id: Some(user.into()),
        visitor_name: Some("Ada".into()),
        name_verified: true,
        locale: Some("fr".into()),
        ..Default::default()
    }
}

async fn a_users_conversations_and_the_open_one(db: Db) {
    let shop = widget(&db, "Shop").await;
    let other_shop = widget(&db, "Other").await;
    assert_eq!(
        db.open_conversation_of_user(shop.id, "u-1").await.unwrap(),
        None
    );
    let first = db
        .create_conversation(of_user(shop.id, "u-1"))
        .await
        .unwrap();
    assert_eq!(first.user_id.as_deref(), Some("u-1"));
    assert!(first.name_verified && !first.email_verified);
    assert_eq!(first.locale.as_deref(), Some("fr"));
    db.update_conversation(first.id, ConversationStatus::Closed, None)
        .await
        .unwrap();
    let second = db
        .create_conversation(of_user(shop.id, "u-1"))
        .await
        .unwrap();
    db.create_conversation(of_user(shop.id, "u-2"))
        .await
        .unwrap();
    db.create_conversation(of_user(other_shop.id, "u-1"))
        .await
        .unwrap();
    conversation(&db, shop.id).await;

    let open = db.open_conversation_of_user(shop.id, "u-1").await.unwrap();
    assert_eq!(
        open.map(|c| c.id),
        Some(second.id),
        "the closed one is not reopened"
    );
    let listed: Vec<i64> = db
        .conversations_of_user(shop.id, "u-1", 50)
        .await
        .unwrap()
        .iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(
        listed,
        [second.id, first.id],
        "newest first, this widget's only"
    );
    assert_eq!(
        db.conversations_of_user(shop.id, "u-1", 1)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(db
        .conversations_of_user(shop.id, "nobody", 50)
        .await
        .unwrap()
        .is_empty());
    assert!(db
        .conversations_of_user(shop.id, "a\u{0}", 50)
        .await
        .unwrap()
        .is_empty());
}

async fn an_anonymous_conversation_is_attached_once(db: Db) {
    let shop = widget(&db, "Shop").await;
    let anonymous = conversation(&db, shop.id).await;
    assert_eq!(anonymous.user_id, None);
    // A token without an email keeps the typed one, still unverified.
    let ada = VerifiedUser {
        id: "u-1".into(),
        name: Some("Ada Lovelace".into()),
        email: None,
    };
    let attached = db.attach_user(anonymous.id, &ada).await.unwrap().unwrap();
    assert_eq!(attached.user_id.as_deref(), Some("u-1"));
    assert_eq!(attached.visitor_name.as_deref(), Some("Ada Lovelace"));
    assert!(attached.name_verified);
    assert_eq!(attached.visitor_email, anonymous.visitor_email);
    assert!(!attached.email_verified);

    let mallory = VerifiedUser {
        id: "u-2".into(),
        ..Default::default()
    };
    assert_eq!(
        db.attach_user(anonymous.id, &mallory).await.unwrap(),
        None,
        "already someone's"
    );
    let read = db.conversation(anonymous.id).await.unwrap().unwrap();
    assert_eq!(read.user_id.as_deref(), Some("u-1"), "unchanged");
    assert_eq!(db.attach_user(999_999, &ada).await.unwrap(), None);
}

async fn pre_chat_answers_are_stored_and_searchable(db: Db) {
    let shop = widget(&db, "Shop").await;
    let consent_at = chrono::Utc::now();
    let asked = db
        .create_conversation(NewConversation {
            widget_id: shop.id,
            visitor_token_hash: token(),
            attributes: json!({"order": "ZX-4471", "company": "Zoë & Co"}),
            consent_at: Some(consent_at),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        asked.attributes,
        json!({"order": "ZX-4471", "company": "Zoë & Co"})
    );
    let stored = asked.consent_at.expect("consent time");
    assert!((stored - consent_at).num_milliseconds().abs() < 1000);
    let plain = conversation(&db, shop.id).await;
    assert_eq!(plain.attributes, json!({}), "no answers is an empty object");
    assert_eq!(plain.consent_at, None);

    for text in ["zx-4471", "ZOË"] {
        let found = db
            .conversations(&ConversationQuery {
                text: Some(text.into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|c| c.id).collect::<Vec<_>>(),
            [asked.id],
            "{text}"
        );
    }
    let refused = db
        .create_conversation(NewConversation {
            widget_id: shop.id,
            visitor_token_hash: token(),
            attributes: json!(["not", "an", "object"]),
            ..Default::default()
        })
        .await;
    assert!(refused.is_err());
}
