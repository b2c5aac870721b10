//! Group reads: many polls at once are answered in a few statements, and each poll still gets
//! what it would have got alone. Far more reads are started together than a store lets run at
//! a time, so most wait and are answered in batches of every statement shape.

use parley_store::{ConversationPage, NewAttachment, SenderType};

use crate::support::{conversation, text, token, widget, Db};

use crate::support::on_both;

on_both!(
    pages_read_together_are_the_pages_read_alone,
    visitor_lookups_read_together_are_the_lookups_read_alone,
);

/// Pages of several conversations (messages, an attachment, reactions, read marks, a rating),
/// from several cursors and with several limits, and of a conversation that does not exist.
async fn pages_read_together_are_the_pages_read_alone(db: Db) {
    let shop = widget(&db, "Shop").await;
    let mut chats = Vec::new();
    for c in 0..5_i64 {
        let chat = conversation(&db, shop.id).await;
        let mut ids = Vec::new();
        for i in 0..(c * 3) {
            let mut message = text(chat.id, &format!("message {c}.{i}"), None);
            if i == 1 {
                message.sender_type = SenderType::Agent;
                message.attachment = Some(NewAttachment {
                    storage_name: format!("{c:016x}"),
                    original_name: format!("file-{c}.pdf"),
                    content_type: "application/pdf".into(),
                    size_bytes: 10,
                });
            }
            let id = db
                .insert_message(message)
                .await
                .expect("insert")
                .message()
                .id;
            ids.push(id);
        }
        if let Some(&first) = ids.first() {
            db.set_reaction(first, "visitor", "👍", true)
                .await
                .expect("react");
            db.mark_read(chat.id, "visitor", first).await.expect("mark");
        }
        if c % 2 == 0 {
            db.rate(chat.id, c + 1, Some("fine")).await.expect("rate");
        }
        chats.push((chat.id, ids));
    }

    let mut asked = Vec::new();
    for (id, ids) in &chats {
        for after in [
            0,
            ids.get(2).copied().unwrap_or(0),
            ids.last().copied().unwrap_or(0),
        ] {
            for limit in [100, 2] {
                asked.push((*id, after, limit));
            }
        }
    }
    asked.push((999_999, 0, 100));
    // Enough to fill the largest statement more than once.
    let asked: Vec<(i64, i64, i64)> = asked.iter().cycle().take(200).copied().collect();

    let mut alone = Vec::new();
    for &(id, after, limit) in &asked {
        alone.push(db.conversation_page(id, after, limit).await.expect("page"));
    }
    let together: Vec<_> = asked
        .iter()
        .map(|&(id, after, limit)| {
            let db = db.clone();
            tokio::spawn(async move { db.conversation_page(id, after, limit).await })
        })
        .collect();
    for ((asked, alone), together) in asked.iter().zip(&alone).zip(together) {
        let together = together.await.expect("task").expect("page");
        assert_eq!(&together, alone, "{asked:?}");
    }
    // The pages are not all alike, so a mix-up between requests would show.
    assert!(alone.iter().any(|page| page.messages.len() == 2));
    assert!(alone.iter().any(|page| page.rating.is_some()));
    assert!(alone
        .iter()
        .any(|page| *page == ConversationPage::default()));
    let (busiest, ids) = chats.last().expect("chats");
    let page = db.conversation_page(*busiest, 0, 100).await.expect("page");
    assert_eq!(page.messages.len(), ids.len());
    assert_eq!(
        page.messages[1].attachment_name.as_deref(),
        Some("file-4.pdf")
    );
}

/// A live widget's token with its own conversation, another widget's conversation, one that
/// does not exist, a revoked widget's token and a token no widget has.
async fn visitor_lookups_read_together_are_the_lookups_read_alone(db: Db) {
    let shop = widget(&db, "Shop").await;
    let cafe = widget(&db, "Cafe").await;
    let gone = widget(&db, "Gone").await;
    let at_shop = conversation(&db, shop.id).await;
    let at_cafe = conversation(&db, cafe.id).await;
    let at_gone = conversation(&db, gone.id).await;
    assert!(db.revoke_widget(gone.id).await.expect("revoke"));

    let stranger = token();
    let mut asked = Vec::new();
    for (token_hash, conversation_id) in [
        (&shop.token_hash, at_shop.id),
        (&shop.token_hash, at_cafe.id),
        (&cafe.token_hash, at_cafe.id),
        (&cafe.token_hash, 999_999),
        (&gone.token_hash, at_gone.id),
        (&stranger, at_shop.id),
    ] {
        asked.push((token_hash.clone(), conversation_id));
    }
    let asked: Vec<(String, i64)> = asked.iter().cycle().take(150).cloned().collect();

    let mut alone = Vec::new();
    for (token_hash, id) in &asked {
        alone.push(
            db.widget_and_conversation(token_hash, *id)
                .await
                .expect("lookup"),
        );
    }
    let together: Vec<_> = asked
        .iter()
        .map(|(token_hash, id)| {
            let (db, token_hash, id) = (db.clone(), token_hash.clone(), *id);
            tokio::spawn(async move { db.widget_and_conversation(&token_hash, id).await })
        })
        .collect();
    for ((asked, alone), together) in asked.iter().zip(&alone).zip(together) {
        let together = together.await.expect("task").expect("lookup");
        assert_eq!(together, *alone, "{asked:?}");
    }

    let found = |n: usize| alone[n].clone();
    let (widget, own) = found(0).expect("live widget");
    assert_eq!((widget.id, own.map(|c| c.id)), (shop.id, Some(at_shop.id)));
    assert_eq!(found(1).expect("live widget").1, None, "another widget's");
    assert_eq!(
        found(3).expect("live widget").1,
        None,
        "no such conversation"
    );
    assert_eq!(found(4), None, "revoked");
    assert_eq!(found(5), None, "unknown token");
}
