//! Read marks and reactions: the small per-reader state on a conversation.

use parley_store::{Reaction, ReadState, StoreError};

use crate::support::{chat, conversation, on_both, text, Db};

on_both!(
    read_mark_never_moves_back,
    read_mark_needs_a_conversation,
    reactions_add_and_remove,
    reaction_needs_a_message,
);

fn state(conversation_id: i64, reader: &str, last_read_id: i64) -> ReadState {
    ReadState {
        conversation_id,
        reader: reader.into(),
        last_read_id,
    }
}

fn reaction(message_id: i64, reactor: &str, emoji: &str) -> Reaction {
    Reaction {
        message_id,
        reactor: reactor.into(),
        emoji: emoji.into(),
    }
}

async fn read_mark_never_moves_back(db: Db) {
    let chat = chat(&db).await;
    let other = conversation(&db, chat.widget_id).await;

    assert_eq!(
        db.mark_read(chat.id, "visitor", 5).await.expect("mark"),
        state(chat.id, "visitor", 5)
    );
    assert_eq!(
        db.mark_read(chat.id, "visitor", 3).await.expect("mark"),
        state(chat.id, "visitor", 5)
    );
    assert_eq!(
        db.mark_read(chat.id, "visitor", 5).await.expect("mark"),
        state(chat.id, "visitor", 5)
    );
    assert_eq!(
        db.mark_read(chat.id, "visitor", 8).await.expect("mark"),
        state(chat.id, "visitor", 8)
    );
    assert_eq!(
        db.mark_read(chat.id, "agent:1", 2).await.expect("mark"),
        state(chat.id, "agent:1", 2)
    );
    db.mark_read(other.id, "visitor", 1).await.expect("mark");

    // Sorted by reader, and only this conversation's.
    let states = db.read_states(chat.id).await.expect("states");
    assert_eq!(
        states,
        [state(chat.id, "agent:1", 2), state(chat.id, "visitor", 8)]
    );
    assert!(db.read_states(999_999).await.expect("states").is_empty());
}

async fn read_mark_needs_a_conversation(db: Db) {
    let err = db
        .mark_read(999_999, "visitor", 1)
        .await
        .expect_err("unknown conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn reactions_add_and_remove(db: Db) {
    let chat = chat(&db).await;
    let first = db
        .insert_message(text(chat.id, "hello", None))
        .await
        .expect("insert");
    let second = db
        .insert_message(text(chat.id, "there", None))
        .await
        .expect("insert");
    let (m1, m2) = (first.message().id, second.message().id);

    let thumbs = reaction(m1, "visitor", "👍");
    assert_eq!(
        db.set_reaction(m1, "visitor", "👍", true)
            .await
            .expect("add"),
        std::slice::from_ref(&thumbs)
    );
    // Adding again is a no-op.
    assert_eq!(
        db.set_reaction(m1, "visitor", "👍", true)
            .await
            .expect("add"),
        std::slice::from_ref(&thumbs)
    );
    let heart = reaction(m1, "agent:1", "❤️");
    let agent_thumbs = reaction(m1, "agent:1", "👍");
    db.set_reaction(m1, "agent:1", "👍", true)
        .await
        .expect("add");
    // Sorted by emoji, then reactor ("❤" sorts before "👍" by bytes).
    let all = db
        .set_reaction(m1, "agent:1", "❤️", true)
        .await
        .expect("add");
    assert_eq!(all, [heart.clone(), agent_thumbs.clone(), thumbs.clone()]);
    db.set_reaction(m2, "visitor", "🎉", true)
        .await
        .expect("add");

    let listed = db.reactions(chat.id).await.expect("list");
    assert_eq!(
        listed,
        [
            heart.clone(),
            agent_thumbs.clone(),
            thumbs.clone(),
            reaction(m2, "visitor", "🎉")
        ]
    );

    assert_eq!(
        db.set_reaction(m1, "visitor", "👍", false)
            .await
            .expect("remove"),
        [heart.clone(), agent_thumbs.clone()]
    );
    // Removing again is a no-op.
    assert_eq!(
        db.set_reaction(m1, "visitor", "👍", false)
            .await
            .expect("remove"),
        [heart, agent_thumbs]
    );
    assert!(db
        .set_reaction(m2, "visitor", "🎉", false)
        .await
        .expect("remove")
        .is_empty());
    assert_eq!(db.reactions(chat.id).await.expect("list").len(), 2);
    assert!(db.reactions(999_999).await.expect("list").is_empty());
}

async fn reaction_needs_a_message(db: Db) {
    for on in [true, false] {
        let err = db
            .set_reaction(999_999, "visitor", "👍", on)
            .await
            .expect_err("unknown message");
        assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    }
}
