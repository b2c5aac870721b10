//! `conversation_page`: one statement answers what `messages_after`, `reactions`,
//! `read_states` and `rating` answer one by one.

use parley_store::{ConversationPage, NewAttachment, SenderType};

use crate::support::{chat, conversation, on_both, text, Db};

on_both!(a_page_is_what_the_four_reads_say);

async fn a_page_is_what_the_four_reads_say(db: Db) {
    let chat = chat(&db).await;
    let other = conversation(&db, chat.widget_id).await;
    let empty = ConversationPage::default();
    assert_eq!(
        db.conversation_page(chat.id, 0, 100).await.expect("page"),
        empty
    );
    assert_eq!(
        db.conversation_page(999_999, 0, 100).await.expect("page"),
        empty
    );

    let mut ids = Vec::new();
    for i in 0..5 {
        let mut message = text(chat.id, &format!("message {i}"), Some(&format!("c{i}")));
        if i == 1 {
            message.sender_type = SenderType::Agent;
            message.sender_name = None;
            message.is_voice = true;
            message.attachment = Some(NewAttachment {
                storage_name: "0123456789abcdef".into(),
                original_name: "note.ogg".into(),
                content_type: "audio/ogg".into(),
                size_bytes: 3,
            });
        }
        ids.push(
            db.insert_message(message)
                .await
                .expect("insert")
                .message()
                .id,
        );
    }
    // Another conversation's records stay out of this one's page.
    let elsewhere = db
        .insert_message(text(other.id, "elsewhere", None))
        .await
        .expect("insert")
        .message()
        .id;
    db.set_reaction(elsewhere, "visitor", "👍", true)
        .await
        .expect("react");
    db.mark_read(other.id, "visitor", elsewhere)
        .await
        .expect("mark");
    db.rate(other.id, 2, None).await.expect("rate");

    for (message, reactor, emoji) in [
        (ids[3], "visitor", "👍"),
        (ids[1], "agent:7", "🎉"),
        (ids[1], "visitor", "🎉"),
        (ids[1], "visitor", "❤️"),
    ] {
        db.set_reaction(message, reactor, emoji, true)
            .await
            .expect("react");
    }
    db.mark_read(chat.id, "visitor", ids[2])
        .await
        .expect("mark");
    db.mark_read(chat.id, "agent:7", ids[4])
        .await
        .expect("mark");

    let separately = |after: i64, limit: i64| {
        let db = db.clone();
        async move {
            ConversationPage {
                messages: db
                    .messages_after(chat.id, after, limit)
                    .await
                    .expect("messages"),
                reactions: db.reactions(chat.id).await.expect("reactions"),
                read_states: db.read_states(chat.id).await.expect("read states"),
                rating: db.rating(chat.id).await.expect("rating"),
            }
        }
    };
    for (after, limit) in [(0, 100), (ids[1], 2), (ids[4], 100), (0, 0)] {
        let page = db
            .conversation_page(chat.id, after, limit)
            .await
            .expect("page");
        assert_eq!(
            page,
            separately(after, limit).await,
            "after {after}, limit {limit}"
        );
    }
    let page = db.conversation_page(chat.id, 0, 100).await.expect("page");
    assert_eq!(page.messages.len(), 5);
    assert_eq!(
        page.messages[1].attachment_name.as_deref(),
        Some("note.ogg")
    );
    assert!(page.messages[1].is_voice);
    assert_eq!(page.reactions.len(), 4);
    assert_eq!(page.read_states.len(), 2);
    assert_eq!(page.rating, None);

    db.rate(chat.id, 5, Some("Quick and kind"))
        .await
        .expect("rate");
    let page = db
        .conversation_page(chat.id, ids[4], 100)
        .await
        .expect("page");
    assert!(page.messages.is_empty());
    assert_eq!(page.rating, db.rating(chat.id).await.expect("rating"));
    assert_eq!(page, separately(ids[4], 100).await);
}
