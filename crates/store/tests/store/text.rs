//! NUL (U+0000): PostgreSQL cannot store it in text or JSON, SQLite can. The store refuses it
//! on both with [`StoreError::InvalidText`] naming the field, so a caller that skipped the API's
//! checks gets the same typed answer from either database, never a database error. Lookups by
//! text that holds a NUL find nothing, as nothing stored can hold one.

use parley_store::{
    ConversationQuery, NewAgent, NewAttachment, NewConversation, NewSavedReply, NewWidget, Role,
    StoreError,
};

use crate::support::{chat, on_both, text, token, widget, Db};

on_both!(
    nul_is_refused_in_every_stored_text,
    nul_in_a_lookup_finds_nothing
);

const NUL: &str = "a\u{0}b";

#[track_caller]
pub(crate) fn assert_refused<T: std::fmt::Debug>(result: parley_store::Result<T>, field: &str) {
    match result {
        Err(StoreError::InvalidText { field: refused }) => assert_eq!(refused, field),
        other => panic!("{field}: expected InvalidText, got {other:?}"),
    }
}

async fn nul_is_refused_in_every_stored_text(db: Db) {
    let new_widget = |name: &str, origin: &str, settings: serde_json::Value| NewWidget {
        name: name.into(),
        token_hash: token(),
        allowed_origins: vec![origin.into()],
        settings,
        identity_secret: None,
    };
    let plain = serde_json::json!({"greeting": "Hi"});
    assert_refused(
        db.create_widget(new_widget(NUL, "https://a.test", plain.clone()))
            .await,
        "widget name",
    );
    assert_refused(
        db.create_widget(new_widget("Shop", NUL, plain.clone()))
            .await,
        "allowed origin",
    );
    assert_refused(
        db.create_widget(new_widget(
            "Shop",
            "https://a.test",
            serde_json::json!({"bot": {"prompt": NUL}}),
        ))
        .await,
        "widget settings",
    );
    assert_refused(
        db.create_widget(new_widget(
            "Shop",
            "https://a.test",
            serde_json::json!({ NUL: 1 }),
        ))
        .await,
        "widget settings",
    );
    let shop = widget(&db, "Shop").await;
    assert_refused(
        db.update_widget_settings(shop.id, serde_json::json!([NUL]))
            .await,
        "widget settings",
    );

    let new_conversation = |name: Option<&str>, email: Option<&str>| NewConversation {
        widget_id: shop.id,
        visitor_name: name.map(Into::into),
        visitor_email: email.map(Into::into),
        visitor_token_hash: token(),
        page_url: None,
        user_agent: None,
        ..Default::default()
    };
    assert_refused(
        db.create_conversation(new_conversation(Some(NUL), None))
            .await,
        "visitor name",
    );
    assert_refused(
        db.create_conversation(new_conversation(None, Some(NUL)))
            .await,
        "visitor email",
    );

    let chat = chat(&db).await;
    assert_refused(db.insert_message(text(chat.id, NUL, None)).await, "message");
    let mut named = text(chat.id, "hello", None);
    named.sender_name = Some(NUL.into());
    assert_refused(db.insert_message(named).await, "sender name");
    assert_refused(
        db.insert_message(text(chat.id, "hello", Some(NUL))).await,
        "client id",
    );
    let mut with_file = text(chat.id, "", None);
    with_file.attachment = Some(NewAttachment {
        storage_name: "0123abcd".into(),
        original_name: NUL.into(),
        content_type: "text/plain".into(),
        size_bytes: 3,
    });
    assert_refused(db.insert_message(with_file).await, "attachment name");

    let message = db
        .insert_message(text(chat.id, "hello", None))
        .await
        .expect("insert")
        .message()
        .clone();
    assert_refused(
        db.set_reaction(message.id, "visitor", NUL, true).await,
        "emoji",
    );
    assert_refused(
        db.set_reaction(message.id, NUL, "👍", true).await,
        "reactor",
    );
    assert_refused(db.mark_read(chat.id, NUL, message.id).await, "reader");

    assert_refused(
        db.create_agent(NewAgent {
            name: NUL.into(),
            email: "ada@example.com".into(),
            token_hash: token(),
            role: Role::Agent,
        })
        .await,
        "agent name",
    );
    assert_refused(
        db.create_saved_reply(NewSavedReply {
            shortcut: "hello".into(),
            text: NUL.into(),
        })
        .await,
        "saved reply text",
    );
    let saved = db
        .create_saved_reply(NewSavedReply {
            shortcut: "hello".into(),
            text: "Hi!".into(),
        })
        .await
        .expect("create");
    assert_refused(
        db.update_saved_reply(
            saved.id,
            NewSavedReply {
                shortcut: NUL.into(),
                text: "Hi!".into(),
            },
        )
        .await,
        "saved reply shortcut",
    );

    // Nothing was stored by the refused calls, and the store still works.
    let messages = db.messages_after(chat.id, 0, 10).await.expect("messages");
    assert_eq!(messages, [message]);
    assert_eq!(db.saved_replies().await.expect("list"), [saved]);
}

async fn nul_in_a_lookup_finds_nothing(db: Db) {
    let chat = chat(&db).await;
    db.insert_message(text(chat.id, "hello", None))
        .await
        .expect("insert");
    assert_eq!(db.widget_by_token_hash(NUL).await.expect("lookup"), None);
    assert_eq!(db.agent_by_token_hash(NUL).await.expect("lookup"), None);
    let found = db
        .conversations(&ConversationQuery {
            text: Some(format!("hel{NUL}")),
            ..ConversationQuery::latest(10)
        })
        .await
        .expect("search");
    assert!(found.is_empty(), "{found:?}");

    // A job's error text is a diagnostic: a NUL in it is replaced, never refused.
    let with_job = {
        let mut message = text(chat.id, "a question", None);
        message.bot_job = true;
        message
    };
    db.insert_message(with_job).await.expect("insert");
    let job = db
        .claim_bot_job(std::time::Duration::from_secs(30))
        .await
        .expect("claim")
        .expect("a job");
    db.retry_bot_job(job.id, chrono::Utc::now(), "upstream said \u{0}")
        .await
        .expect("an error text with NUL is recorded");
}
