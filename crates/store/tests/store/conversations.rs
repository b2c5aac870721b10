//! Conversations: creation, lookup, the filtered inbox listing, status and assignee changes.

use parley_store::{Assignee, ConversationQuery, ConversationStatus, NewConversation, StoreError};

use crate::support::{agent, chat, conversation, on_both, text, token, widget, Db};

on_both!(
    create_and_get_conversation,
    conversation_needs_a_widget,
    list_filters_orders_and_limits,
    message_moves_conversation_to_the_top,
    update_status_and_assignee,
    update_rejects_unknown_agent,
    list_by_assignee_and_page,
    search_by_visitor_and_message_text,
);

async fn create_and_get_conversation(db: Db) {
    let widget = widget(&db, "Shop").await;
    let created = db
        .create_conversation(NewConversation {
            widget_id: widget.id,
            visitor_token_hash: "cd".repeat(32),
            ..NewConversation::default()
        })
        .await
        .expect("create");
    assert_eq!(created.widget_id, widget.id);
    assert_eq!(created.status, ConversationStatus::Bot);
    assert_eq!(created.assigned_agent_id, None);
    assert_eq!(created.visitor_name, None);
    assert_eq!(created.visitor_token_hash, "cd".repeat(32));
    assert_eq!(created.created_at, created.updated_at);
    assert_eq!(
        db.conversation(created.id).await.expect("get"),
        Some(created.clone())
    );

    let full = conversation(&db, widget.id).await;
    assert_eq!(full.visitor_name.as_deref(), Some("Vera"));
    assert_eq!(full.visitor_email.as_deref(), Some("vera@example.com"));
    assert_eq!(full.page_url.as_deref(), Some("https://shop.example/cart"));
    assert_eq!(full.user_agent.as_deref(), Some("Mozilla/5.0"));
    assert_eq!(db.conversation(full.id).await.expect("get"), Some(full));
}

async fn conversation_needs_a_widget(db: Db) {
    let err = db
        .create_conversation(NewConversation {
            widget_id: 999_999,
            visitor_token_hash: token(),
            ..NewConversation::default()
        })
        .await
        .expect_err("unknown widget");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(db.conversation(999_999).await.expect("get"), None);
    assert!(db
        .conversations(&query(None, None, 10))
        .await
        .expect("list")
        .is_empty());
}

async fn list_filters_orders_and_limits(db: Db) {
    let shop = widget(&db, "Shop").await;
    let blog = widget(&db, "Blog").await;
    let first = conversation(&db, shop.id).await;
    let second = conversation(&db, shop.id).await;
    let third = conversation(&db, shop.id).await;
    let elsewhere = conversation(&db, blog.id).await;
    db.update_conversation(second.id, ConversationStatus::Human, None)
        .await
        .expect("update");
    db.update_conversation(first.id, ConversationStatus::Closed, None)
        .await
        .expect("update");

    let ids = |list: Vec<parley_store::Conversation>| list.iter().map(|c| c.id).collect::<Vec<_>>();
    // Most recently updated first.
    let shop_all = db
        .conversations(&query(Some(shop.id), None, 10))
        .await
        .expect("list");
    assert_eq!(ids(shop_all), [first.id, second.id, third.id]);
    let everything = db
        .conversations(&query(None, None, 10))
        .await
        .expect("list");
    assert_eq!(
        ids(everything),
        [first.id, second.id, elsewhere.id, third.id]
    );

    let human = db
        .conversations(&query(Some(shop.id), Some(ConversationStatus::Human), 10))
        .await;
    assert_eq!(ids(human.expect("list")), [second.id]);
    let bot = db
        .conversations(&query(None, Some(ConversationStatus::Bot), 10))
        .await
        .expect("list");
    assert_eq!(ids(bot), [elsewhere.id, third.id]);
    let none = db
        .conversations(&query(Some(blog.id), Some(ConversationStatus::Closed), 10))
        .await;
    assert!(none.expect("list").is_empty());
    assert!(db
        .conversations(&query(Some(999_999), None, 10))
        .await
        .expect("list")
        .is_empty());

    let top_two = db
        .conversations(&query(Some(shop.id), None, 2))
        .await
        .expect("list");
    assert_eq!(ids(top_two), [first.id, second.id]);
    assert!(db
        .conversations(&query(None, None, 0))
        .await
        .expect("list")
        .is_empty());
    assert!(db
        .conversations(&query(None, None, -1))
        .await
        .expect("list")
        .is_empty());
}

async fn message_moves_conversation_to_the_top(db: Db) {
    let older = chat(&db).await;
    let newer = conversation(&db, older.widget_id).await;
    let listed = db
        .conversations(&query(None, None, 10))
        .await
        .expect("list");
    assert_eq!(listed[0].id, newer.id);

    let inserted = db
        .insert_message(text(older.id, "hello?", None))
        .await
        .expect("insert");
    let bumped = db
        .conversation(older.id)
        .await
        .expect("get")
        .expect("present");
    assert_eq!(bumped.updated_at, inserted.message().created_at);
    assert!(bumped.updated_at > older.updated_at);
    let listed = db
        .conversations(&query(None, None, 10))
        .await
        .expect("list");
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        [older.id, newer.id]
    );
}

async fn update_status_and_assignee(db: Db) {
    let created = chat(&db).await;
    let ada = agent(&db, "ada@example.com").await;

    let taken = db
        .update_conversation(created.id, ConversationStatus::Human, Some(ada.id))
        .await
        .expect("update")
        .expect("present");
    assert_eq!(taken.status, ConversationStatus::Human);
    assert_eq!(taken.assigned_agent_id, Some(ada.id));
    assert!(taken.updated_at > created.updated_at);
    assert_eq!(
        (taken.created_at, taken.visitor_token_hash.as_str()),
        (created.created_at, created.visitor_token_hash.as_str())
    );
    assert_eq!(
        db.conversation(created.id).await.expect("get"),
        Some(taken.clone())
    );

    let closed = db
        .update_conversation(created.id, ConversationStatus::Closed, None)
        .await
        .expect("update")
        .expect("present");
    assert_eq!(
        (closed.status, closed.assigned_agent_id),
        (ConversationStatus::Closed, None)
    );

    let missing = db
        .update_conversation(999_999, ConversationStatus::Human, None)
        .await;
    assert_eq!(missing.expect("update"), None);
}

async fn update_rejects_unknown_agent(db: Db) {
    let created = chat(&db).await;
    let err = db
        .update_conversation(created.id, ConversationStatus::Human, Some(999_999))
        .await
        .expect_err("unknown agent");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(
        db.conversation(created.id).await.expect("get"),
        Some(created)
    );
}

fn query(
    widget_id: Option<i64>,
    status: Option<ConversationStatus>,
    limit: i64,
) -> ConversationQuery {
    ConversationQuery {
        widget_id,
        status,
        limit,
        ..ConversationQuery::default()
    }
}

async fn list_by_assignee_and_page(db: Db) {
    let shop = widget(&db, "Shop").await;
    let ada = agent(&db, "ada@example.com").await;
    let bob = agent(&db, "bob@example.com").await;
    let unassigned = conversation(&db, shop.id).await;
    let adas = conversation(&db, shop.id).await;
    let bobs = conversation(&db, shop.id).await;
    db.update_conversation(adas.id, ConversationStatus::Human, Some(ada.id))
        .await
        .expect("assign");
    let bobs = db
        .update_conversation(bobs.id, ConversationStatus::Human, Some(bob.id))
        .await
        .expect("assign")
        .expect("exists");
    let ids = |list: Vec<parley_store::Conversation>| list.iter().map(|c| c.id).collect::<Vec<_>>();

    let mine = ConversationQuery {
        assignee: Some(Assignee::Agent(ada.id)),
        ..ConversationQuery::latest(10)
    };
    assert_eq!(ids(db.conversations(&mine).await.expect("list")), [adas.id]);
    let waiting = ConversationQuery {
        assignee: Some(Assignee::Nobody),
        ..ConversationQuery::latest(10)
    };
    assert_eq!(
        ids(db.conversations(&waiting).await.expect("list")),
        [unassigned.id]
    );
    let human_unassigned = ConversationQuery {
        status: Some(ConversationStatus::Human),
        assignee: Some(Assignee::Nobody),
        ..ConversationQuery::latest(10)
    };
    assert!(db
        .conversations(&human_unassigned)
        .await
        .expect("list")
        .is_empty());

    // The next page starts strictly before the last one seen.
    let page = ConversationQuery {
        updated_before: Some(bobs.updated_at),
        ..ConversationQuery::latest(10)
    };
    let rest = ids(db.conversations(&page).await.expect("list"));
    assert!(!rest.contains(&bobs.id), "{rest:?}");
    assert!(rest.contains(&unassigned.id), "{rest:?}");
}

async fn search_by_visitor_and_message_text(db: Db) {
    let shop = widget(&db, "Shop").await;
    let named = |name: &str, email: Option<&str>| NewConversation {
        widget_id: shop.id,
        visitor_name: Some(name.into()),
        visitor_email: email.map(Into::into),
        visitor_token_hash: token(),
        page_url: None,
        user_agent: None,
        ..Default::default()
    };
    let grace = db
        .create_conversation(named("Grace Hopper", Some("grace@navy.example")))
        .await
        .expect("create");
    let alan = db
        .create_conversation(named("Alan", None))
        .await
        .expect("create");
    db.insert_message(text(alan.id, "My REFUND for order 50% off_sale", None))
        .await
        .expect("message");
    let found = |needle: &str| {
        let db = db.clone();
        let query = ConversationQuery {
            text: Some(needle.into()),
            ..ConversationQuery::latest(10)
        };
        async move {
            db.conversations(&query)
                .await
                .expect("search")
                .iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("hopper").await, [grace.id], "by name, any case");
    assert_eq!(found("NAVY.example").await, [grace.id], "by email");
    assert_eq!(found("refund").await, [alan.id], "by message text");
    // LIKE's own characters are matched literally.
    assert_eq!(found("50%").await, [alan.id]);
    assert_eq!(found("0% o").await, [alan.id]);
    assert!(found("5_%").await.is_empty());
    assert_eq!(found("off_sale").await, [alan.id]);
    assert!(found("nobody").await.is_empty());
    // Combined with the other filters.
    let closed_only = ConversationQuery {
        text: Some("refund".into()),
        status: Some(ConversationStatus::Closed),
        ..ConversationQuery::latest(10)
    };
    assert!(db
        .conversations(&closed_only)
        .await
        .expect("search")
        .is_empty());
}
