//! Notes (oldest first, with their mentions, only on existing conversations) and labels (unique
//! names in any ASCII case, replaced whole on a conversation, deleted from every conversation,
//! filtering and searching the inbox).

use parley_store::{ConversationQuery, NewNote, StoreError};

use crate::support::{agent, chat, conversation, on_both, Db};

on_both!(notes_are_kept_in_order_with_their_mentions);
on_both!(labels_are_unique_and_replaced_whole);
on_both!(the_inbox_filters_and_searches_by_label);

async fn notes_are_kept_in_order_with_their_mentions(db: Db) {
    let chat = chat(&db).await;
    let ada = agent(&db, "ada@example.com").await;
    let bo = agent(&db, "bo@example.com").await;
    let first = db
        .add_note(NewNote {
            conversation_id: chat.id,
            agent_id: ada.id,
            body: "Asked about a refund, @Bo can you check?".into(),
            mentions: vec![bo.id],
        })
        .await
        .unwrap();
    assert_eq!(first.mentions, [bo.id]);
    let second = db
        .add_note(NewNote {
            conversation_id: chat.id,
            agent_id: bo.id,
            body: "Done.".into(),
            mentions: vec![],
        })
        .await
        .unwrap();
    assert_eq!(db.notes(chat.id).await.unwrap(), [first, second]);
    let other = conversation(&db, chat.widget_id).await;
    assert!(db.notes(other.id).await.unwrap().is_empty());

    let missing = db
        .add_note(NewNote {
            conversation_id: 999_999,
            agent_id: ada.id,
            body: "x".into(),
            mentions: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound(_)), "{missing:?}");
    let nul = db
        .add_note(NewNote {
            conversation_id: chat.id,
            agent_id: ada.id,
            body: "a\u{0}b".into(),
            mentions: vec![],
        })
        .await
        .unwrap_err();
    assert!(matches!(nul, StoreError::InvalidText { .. }), "{nul:?}");
    assert_eq!(
        db.notes(chat.id).await.unwrap().len(),
        2,
        "nothing half-written"
    );
}

async fn labels_are_unique_and_replaced_whole(db: Db) {
    let vip = db.create_label("VIP", "#b91c1c").await.unwrap();
    let refund = db.create_label("Refund", "#2563eb").await.unwrap();
    let taken = db.create_label(" vip ", "#000000").await.unwrap_err();
    assert!(matches!(taken, StoreError::Conflict(_)), "{taken:?}");
    let names: Vec<String> = db
        .labels()
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["Refund", "VIP"], "by name");

    let renamed = db
        .update_label(refund.id, "Refunds", "#1d4ed8")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.color.as_str()),
        ("Refunds", "#1d4ed8")
    );
    let clash = db
        .update_label(refund.id, "VIP", "#1d4ed8")
        .await
        .unwrap_err();
    assert!(matches!(clash, StoreError::Conflict(_)));
    assert_eq!(
        db.update_label(999_999, "X", "#000000").await.unwrap(),
        None
    );

    let chat = chat(&db).await;
    let set = db
        .set_conversation_labels(chat.id, &[vip.id, refund.id, vip.id])
        .await
        .unwrap();
    assert_eq!(set, {
        let mut ids = vec![vip.id, refund.id];
        ids.sort_unstable();
        ids
    });
    // An unknown label changes nothing.
    let unknown = db
        .set_conversation_labels(chat.id, &[vip.id, 999_999])
        .await
        .unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(_)), "{unknown:?}");
    assert_eq!(db.labels_of(&[chat.id]).await.unwrap().len(), 2);
    let gone = db
        .set_conversation_labels(999_999, &[vip.id])
        .await
        .unwrap_err();
    assert!(matches!(gone, StoreError::NotFound(_)));

    assert_eq!(
        db.set_conversation_labels(chat.id, &[refund.id])
            .await
            .unwrap(),
        [refund.id]
    );
    assert_eq!(
        db.labels_of(&[chat.id]).await.unwrap(),
        [(chat.id, refund.id)]
    );
    assert!(db.delete_label(refund.id).await.unwrap());
    assert!(
        db.labels_of(&[chat.id]).await.unwrap().is_empty(),
        "taken off"
    );
    assert!(!db.delete_label(refund.id).await.unwrap());
    assert!(db.labels_of(&[]).await.unwrap().is_empty());
}

async fn the_inbox_filters_and_searches_by_label(db: Db) {
    let first = chat(&db).await;
    let second = conversation(&db, first.widget_id).await;
    let billing = db.create_label("Billing", "#15803d").await.unwrap();
    db.set_conversation_labels(second.id, &[billing.id])
        .await
        .unwrap();
    let ids = |query: ConversationQuery| {
        let db = db.clone();
        async move {
            db.conversations(&query)
                .await
                .unwrap()
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    let by_label = ConversationQuery {
        label_id: Some(billing.id),
        ..ConversationQuery::latest(10)
    };
    assert_eq!(ids(by_label).await, [second.id]);
    let by_text = ConversationQuery {
        text: Some("BILL".into()),
        ..ConversationQuery::latest(10)
    };
    assert_eq!(ids(by_text).await, [second.id]);
}

on_both!(erasing_a_conversation_takes_its_notes_and_labels);

async fn erasing_a_conversation_takes_its_notes_and_labels(db: Db) {
    let chat = chat(&db).await;
    let kept = conversation(&db, chat.widget_id).await;
    let ada = agent(&db, "ada@example.com").await;
    let vip = db.create_label("VIP", "#b91c1c").await.unwrap();
    for id in [chat.id, kept.id] {
        db.add_note(NewNote {
            conversation_id: id,
            agent_id: ada.id,
            body: "Knows the owner".into(),
            mentions: vec![],
        })
        .await
        .unwrap();
        db.set_conversation_labels(id, &[vip.id]).await.unwrap();
    }
    let erased = db.erase_conversation(chat.id).await.unwrap().unwrap();
    assert_eq!(erased.notes, 1);
    assert!(db.notes(chat.id).await.unwrap().is_empty());
    assert_eq!(
        db.labels_of(&[chat.id, kept.id]).await.unwrap(),
        [(kept.id, vip.id)]
    );
    assert_eq!(db.notes(kept.id).await.unwrap().len(), 1, "another's stay");
    assert_eq!(
        db.labels().await.unwrap().len(),
        1,
        "the label itself stays"
    );
}
