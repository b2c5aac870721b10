//! The inbox's previews: per conversation, the newest message, the newest that is not a system
//! line (what a row previews after a handoff), and with a search the newest message holding the
//! text, for a whole listing at once; and the page the visitor is on.

use parley_store::{Inserted, Message, NewMessage, SenderType};

use crate::support::{chat, conversation, on_both, text, Db};

on_both!(
    previews_skip_system_lines,
    a_search_names_the_newest_matching_message,
    a_whole_listing_in_one_call,
    the_page_follows_the_visitor,
);

async fn say(db: &Db, conversation_id: i64, sender_type: SenderType, message: &str) -> Message {
    let inserted = db
        .insert_message(NewMessage {
            sender_type,
            ..text(conversation_id, message, None)
        })
        .await
        .expect("insert");
    match inserted {
        Inserted::Created(message) => message,
        other => panic!("not created: {other:?}"),
    }
}

async fn previews_skip_system_lines(db: Db) {
    let handed = chat(&db).await;
    let widget_id = handed.widget_id;
    say(&db, handed.id, SenderType::Visitor, "Do you ship abroad?").await;
    say(&db, handed.id, SenderType::Bot, "Yes, worldwide.").await;
    let asked = say(
        &db,
        handed.id,
        SenderType::Visitor,
        "Can I pay with PayPal?",
    )
    .await;
    let notice = say(
        &db,
        handed.id,
        SenderType::System,
        "Let me get a human for you.",
    )
    .await;
    let answered = conversation(&db, widget_id).await;
    say(&db, answered.id, SenderType::Visitor, "Hello").await;
    let reply = say(&db, answered.id, SenderType::Agent, "Hi, Ada here.").await;
    let only_notice = conversation(&db, widget_id).await;
    let lone = say(&db, only_notice.id, SenderType::System, "Handed over.").await;
    let silent = conversation(&db, widget_id).await;

    let mut previews = db
        .inbox_previews(&[handed.id, answered.id, only_notice.id, silent.id], None)
        .await
        .expect("previews");
    previews.sort_by_key(|p| p.conversation_id);
    // A conversation without messages has none.
    let ids: Vec<i64> = previews.iter().map(|p| p.conversation_id).collect();
    assert_eq!(ids, [handed.id, answered.id, only_notice.id]);
    // After a handoff the row previews the visitor's question, not the notice; the newest
    // message is still the notice.
    assert_eq!(previews[0].last, notice);
    assert_eq!(previews[0].preview.as_ref(), Some(&asked));
    assert_eq!(previews[0].matched, None);
    assert_eq!(previews[1].last, reply);
    assert_eq!(previews[1].preview.as_ref(), Some(&reply));
    assert_eq!(previews[2].last, lone);
    assert_eq!(previews[2].preview, None);
    assert!(db.inbox_previews(&[], None).await.expect("none").is_empty());
}

async fn a_search_names_the_newest_matching_message(db: Db) {
    let found = chat(&db).await;
    say(&db, found.id, SenderType::Visitor, "My ORDER 1234 is late").await;
    let newest = say(&db, found.id, SenderType::Agent, "Order 1234 left today.").await;
    say(&db, found.id, SenderType::Visitor, "Thanks!").await;
    // Found by the visitor's details only: no message to show.
    let by_name = conversation(&db, found.widget_id).await;
    say(&db, by_name.id, SenderType::Visitor, "Hello").await;
    // LIKE's own characters are literal.
    let percent = conversation(&db, found.widget_id).await;
    say(&db, percent.id, SenderType::Visitor, "50 dollars").await;
    let literal = say(&db, percent.id, SenderType::Visitor, "50% off?").await;

    let ids = [found.id, by_name.id, percent.id];
    let mut previews = db
        .inbox_previews(&ids, Some("  order 1234 "))
        .await
        .expect("previews");
    previews.sort_by_key(|p| p.conversation_id);
    assert_eq!(previews[0].matched.as_ref(), Some(&newest));
    assert_eq!(previews[0].preview.as_ref().unwrap().message, "Thanks!");
    assert_eq!(previews[1].matched, None);
    assert_eq!(previews[2].matched, None);
    let mut previews = db
        .inbox_previews(&ids, Some("50%"))
        .await
        .expect("previews");
    previews.sort_by_key(|p| p.conversation_id);
    assert_eq!(previews[2].matched.as_ref(), Some(&literal));
    // Text no database could hold, or none at all, matches nothing.
    for search in ["a\0b", "   "] {
        let previews = db
            .inbox_previews(&ids, Some(search))
            .await
            .expect("previews");
        assert!(previews.iter().all(|p| p.matched.is_none()), "{search:?}");
    }
}

async fn a_whole_listing_in_one_call(db: Db) {
    let first = chat(&db).await;
    let mut ids = vec![first.id];
    say(&db, first.id, SenderType::Visitor, "first").await;
    // More than one statement's worth (200), in the order a listing gives them.
    for i in 0..230 {
        let c = conversation(&db, first.widget_id).await;
        say(&db, c.id, SenderType::Visitor, &format!("question {i}")).await;
        if i % 2 == 0 {
            say(&db, c.id, SenderType::System, "Handed over.").await;
        }
        ids.push(c.id);
    }
    ids.reverse();
    let previews = db
        .inbox_previews(&ids, Some("question"))
        .await
        .expect("previews");
    assert_eq!(previews.len(), ids.len());
    for p in &previews {
        let preview = p.preview.as_ref().expect("a visitor's message");
        assert_eq!(preview.sender_type, SenderType::Visitor);
        if p.conversation_id != first.id {
            assert_eq!(p.matched.as_ref(), Some(preview));
        } else {
            assert_eq!(p.matched, None);
        }
    }
}

async fn the_page_follows_the_visitor(db: Db) {
    let c = chat(&db).await;
    assert_eq!(c.page_url.as_deref(), Some("https://shop.example/cart"));
    let moved = db
        .note_page(c.id, "https://shop.example/packs/trailhead-28")
        .await
        .expect("note")
        .expect("changed");
    assert_eq!(
        moved.page_url.as_deref(),
        Some("https://shop.example/packs/trailhead-28")
    );
    // Moving around is not news: the inbox's order stays.
    assert_eq!(moved.updated_at, c.updated_at);
    // The same page again changes nothing; nor does an unknown conversation.
    let again = db
        .note_page(c.id, "https://shop.example/packs/trailhead-28")
        .await
        .expect("note");
    assert_eq!(again, None);
    assert_eq!(
        db.note_page(c.id + 1000, "https://shop.example/")
            .await
            .expect("note"),
        None
    );
    let stored = db.conversation(c.id).await.expect("read").expect("there");
    assert_eq!(
        stored.page_url.as_deref(),
        Some("https://shop.example/packs/trailhead-28")
    );
    // Text no database could hold is refused.
    assert!(db.note_page(c.id, "https://x.example/\0").await.is_err());
}
