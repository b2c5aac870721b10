//! Outbound webhooks: changes queue deliveries in their own transaction for the webhooks that
//! want them (events, widget, disabled); claims keep each conversation's deliveries to a
//! webhook in order and never overlap; a dead lease ends `unknown`; a 2xx is final; retries push
//! the conversation's later deliveries back; tests, the log, disabling, deleting, pruning and
//! erasure.

use std::time::Duration;

use chrono::Utc;
use parley_store::{
    ConversationStatus, DeliveryOutcome, DeliveryReport, DeliveryState, Inserted, NewWebhook,
    StoreError, Webhook, WebhookDelivery, CONVERSATION_ASSIGNED, CONVERSATION_CREATED,
    CONVERSATION_RATED, CONVERSATION_STATUS_CHANGED, MESSAGE_CREATED, PING_EVENT,
};
use serde_json::json;

use crate::support::{agent, conversation, on_both, text, widget, Db};

on_both!(
    changes_queue_deliveries_for_the_webhooks_that_want_them,
    claims_keep_each_conversation_in_order_and_never_overlap,
    dead_leases_end_unknown_and_a_2xx_is_final,
    tests_the_log_disabling_deleting_and_pruning,
    erasing_a_conversation_takes_its_deliveries,
);

const LEASE: Duration = Duration::from_secs(60);

async fn hook(db: &Db, events: &[&str], widget_id: Option<i64>) -> Webhook {
    db.create_webhook(NewWebhook {
        url: "https://crm.example/hooks/parley".into(),
        events: events.iter().map(|e| e.to_string()).collect(),
        widget_id,
        secret: format!("whsec_{}", crate::support::token()),
    })
    .await
    .expect("create webhook")
}

/// A webhook's deliveries, oldest first.
async fn log(db: &Db, webhook: &Webhook) -> Vec<WebhookDelivery> {
    let mut deliveries = db.webhook_deliveries(webhook.id, None, 100).await.unwrap();
    deliveries.reverse();
    deliveries
}

fn report(outcome: DeliveryOutcome, code: Option<u16>) -> DeliveryReport {
    DeliveryReport {
        outcome,
        response_code: code,
        response_snippet: code.map(|c| format!("answered {c}")),
        error: None,
        duration_ms: 12,
    }
}

async fn claim(db: &Db) -> Option<WebhookDelivery> {
    db.claim_webhook_delivery(LEASE).await.unwrap()
}

async fn changes_queue_deliveries_for_the_webhooks_that_want_them(db: Db) {
    let shop = widget(&db, "Shop").await;
    let blog = widget(&db, "Blog").await;
    let everything = hook(&db, &[], None).await;
    let shop_messages = hook(&db, &[MESSAGE_CREATED], Some(shop.id)).await;
    let disabled = hook(&db, &[], None).await;
    db.set_webhook_disabled(disabled.id, true, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(everything.events, Vec::<String>::new());
    assert_eq!(shop_messages.events, vec![MESSAGE_CREATED.to_string()]);
    assert_eq!(shop_messages.widget_id, Some(shop.id));
    assert!(shop_messages.wants(MESSAGE_CREATED) && !shop_messages.wants(CONVERSATION_RATED));

    let c = conversation(&db, shop.id).await;
    let Inserted::Created(message) = db
        .insert_message(text(c.id, "Hello", Some("m-1")))
        .await
        .unwrap()
    else {
        panic!("a new message")
    };
    // A repeated client id stores nothing and announces nothing.
    assert!(matches!(
        db.insert_message(text(c.id, "Hello", Some("m-1")))
            .await
            .unwrap(),
        Inserted::Duplicate(_)
    ));
    let ada = agent(&db, "ada@example.com").await;
    db.update_conversation(c.id, ConversationStatus::Human, Some(ada.id))
        .await
        .unwrap()
        .unwrap();
    // The same again changes nothing and announces nothing.
    db.update_conversation(c.id, ConversationStatus::Human, Some(ada.id))
        .await
        .unwrap()
        .unwrap();
    db.update_conversation(c.id, ConversationStatus::Closed, Some(ada.id))
        .await
        .unwrap()
        .unwrap();
    db.rate(c.id, 5, Some("Quick!")).await.unwrap();
    assert!(db
        .update_conversation(999_999, ConversationStatus::Closed, None)
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        db.rate(999_999, 4, None).await,
        Err(StoreError::NotFound(_))
    ));

    let got = log(&db, &everything).await;
    let events: Vec<&str> = got.iter().map(|d| d.event.as_str()).collect();
    assert_eq!(
        events,
        [
            CONVERSATION_CREATED,
            MESSAGE_CREATED,
            CONVERSATION_STATUS_CHANGED,
            CONVERSATION_ASSIGNED,
            CONVERSATION_STATUS_CHANGED,
            CONVERSATION_RATED,
        ]
    );
    assert!(got.iter().all(|d| d.conversation_id == Some(c.id)
        && d.state == DeliveryState::Pending
        && d.attempts == 0
        && d.webhook_id == everything.id));
    assert_eq!(got[1].message_id, Some(message.id));
    assert_eq!(
        got[2].detail,
        json!({"status": "human", "previous_status": "bot"})
    );
    assert_eq!(
        got[3].detail,
        json!({"assigned_agent_id": ada.id, "previous_agent_id": null})
    );
    assert_eq!(
        got[4].detail,
        json!({"status": "closed", "previous_status": "human"})
    );

    let got = log(&db, &shop_messages).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].event.as_str(), got[0].message_id),
        (MESSAGE_CREATED, Some(message.id))
    );
    assert!(log(&db, &disabled).await.is_empty());

    // Another widget's conversation: only the webhook for every widget hears of it.
    let other = conversation(&db, blog.id).await;
    db.insert_message(text(other.id, "Hi", None)).await.unwrap();
    assert_eq!(log(&db, &everything).await.len(), 8);
    assert_eq!(log(&db, &shop_messages).await.len(), 1);

    // An unknown widget is refused; so is an event name that would break the list.
    let mut bad = NewWebhook {
        url: "https://x.example".into(),
        events: vec![],
        widget_id: Some(999_999),
        secret: "s".into(),
    };
    assert!(matches!(
        db.create_webhook(bad.clone()).await,
        Err(StoreError::NotFound(_))
    ));
    bad.widget_id = None;
    bad.events = vec!["a,b".into()];
    assert!(db.create_webhook(bad).await.is_err());
}

async fn claims_keep_each_conversation_in_order_and_never_overlap(db: Db) {
    let shop = widget(&db, "Shop").await;
    let webhook = hook(&db, &[CONVERSATION_CREATED, MESSAGE_CREATED], None).await;
    let first = conversation(&db, shop.id).await;
    for n in 0..2 {
        db.insert_message(text(first.id, &format!("m{n}"), None))
            .await
            .unwrap();
    }
    let second = conversation(&db, shop.id).await;
    let queued = log(&db, &webhook).await;
    assert_eq!(queued.len(), 4);

    // The first conversation's first delivery; then, while it is out, only the other
    // conversation's.
    let one = claim(&db).await.unwrap();
    assert_eq!(one.id, queued[0].id);
    assert_eq!((one.state, one.attempts), (DeliveryState::Sending, 1));
    assert!(one.last_attempt_at.is_some());
    let two = claim(&db).await.unwrap();
    assert_eq!(two.conversation_id, Some(second.id));
    assert!(claim(&db).await.is_none(), "the rest wait for the first");

    // A failure: back to pending at its retry time, and the conversation's later deliveries
    // wait until then too.
    db.insert_message(text(second.id, "later", None))
        .await
        .unwrap();
    let at = Utc::now() + chrono::Duration::minutes(10);
    let mut failed = report(DeliveryOutcome::RetryAt(at), Some(500));
    failed.error = Some("HTTP 500".into());
    assert!(db
        .finish_webhook_delivery(two.id, two.attempts, &failed)
        .await
        .unwrap());
    let retried = db.webhook_delivery(two.id).await.unwrap().unwrap();
    assert_eq!(retried.state, DeliveryState::Pending);
    assert_eq!(retried.response_code, Some(500));
    assert_eq!(retried.response_snippet.as_deref(), Some("answered 500"));
    assert_eq!(retried.last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(retried.duration_ms, Some(12));
    assert!(claim(&db).await.is_none(), "not due yet");
    let waiting = log(&db, &webhook).await.pop().unwrap();
    assert_eq!(waiting.conversation_id, Some(second.id));
    assert!(waiting.next_attempt_at >= at - chrono::Duration::seconds(1));
    // An attempt that is over cannot be recorded again.
    let ok = report(DeliveryOutcome::Delivered, Some(200));
    assert!(!db.finish_webhook_delivery(two.id, 1, &ok).await.unwrap());

    // Due again at once: the same delivery, a second attempt, then the next in order.
    let now = report(DeliveryOutcome::RetryAt(Utc::now()), None);
    assert!(db.finish_webhook_delivery(one.id, 1, &now).await.unwrap());
    let again = claim(&db).await.unwrap();
    assert_eq!((again.id, again.attempts), (one.id, 2));
    assert!(claim(&db).await.is_none());
    assert!(db.finish_webhook_delivery(again.id, 2, &ok).await.unwrap());
    let done = db.webhook_delivery(one.id).await.unwrap().unwrap();
    assert_eq!(done.state, DeliveryState::Delivered);
    assert!(done.delivered_at.is_some());
    assert_eq!(done.last_error, None);
    assert_eq!(done.response_code, Some(200));
    assert_eq!(claim(&db).await.unwrap().id, queued[1].id);
    // A failure that gives up lets the next one go.
    let gave_up = report(DeliveryOutcome::Failed, None);
    assert!(db
        .finish_webhook_delivery(queued[1].id, 1, &gave_up)
        .await
        .unwrap());
    assert_eq!(claim(&db).await.unwrap().id, queued[2].id);

    // Many conversations, many workers at once: each delivery claimed once.
    let many = hook(&db, &[CONVERSATION_CREATED], Some(shop.id)).await;
    for _ in 0..12 {
        conversation(&db, shop.id).await;
    }
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(d) = db.claim_webhook_delivery(LEASE).await.unwrap() {
                got.push(d);
            }
            got
        }));
    }
    let mut claimed = Vec::new();
    for task in tasks {
        claimed.extend(task.await.unwrap());
    }
    let mut ids: Vec<i64> = claimed
        .iter()
        .filter(|d| d.webhook_id == many.id)
        .map(|d| d.id)
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((count, ids.len()), (12, 12), "each claimed exactly once");
}

async fn dead_leases_end_unknown_and_a_2xx_is_final(db: Db) {
    let shop = widget(&db, "Shop").await;
    let webhook = hook(&db, &[], None).await;
    let c = conversation(&db, shop.id).await;
    db.insert_message(text(c.id, "Hi", None)).await.unwrap();
    let queued = log(&db, &webhook).await;

    let out = db
        .claim_webhook_delivery(Duration::ZERO)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.id, queued[0].id);
    assert!(db
        .expire_webhook_deliveries(Utc::now() - chrono::Duration::minutes(1))
        .await
        .unwrap()
        .is_empty());
    // The worker stopped while sending: the receiver may have had it, so it is never sent
    // again; the conversation's next delivery goes.
    let expired = db.expire_webhook_deliveries(Utc::now()).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        (expired[0].id, expired[0].state),
        (out.id, DeliveryState::Unknown)
    );
    let next = claim(&db).await.unwrap();
    assert_eq!(next.id, queued[1].id);
    // A late failure cannot turn it back into pending; a late 2xx says what happened.
    let retry = report(DeliveryOutcome::RetryAt(Utc::now()), Some(503));
    assert!(!db.finish_webhook_delivery(out.id, 1, &retry).await.unwrap());
    assert_eq!(
        db.webhook_delivery(out.id).await.unwrap().unwrap().state,
        DeliveryState::Unknown
    );
    let ok = report(DeliveryOutcome::Delivered, Some(204));
    assert!(db.finish_webhook_delivery(out.id, 1, &ok).await.unwrap());
    assert_eq!(
        db.webhook_delivery(out.id).await.unwrap().unwrap().state,
        DeliveryState::Delivered
    );

    // Delivered is final: a repeated record changes nothing and nothing is claimed again.
    assert!(db.finish_webhook_delivery(next.id, 1, &ok).await.unwrap());
    assert!(!db
        .finish_webhook_delivery(
            next.id,
            1,
            &report(DeliveryOutcome::RetryAt(Utc::now()), None)
        )
        .await
        .unwrap());
    assert!(claim(&db).await.is_none());
    assert!(db
        .expire_webhook_deliveries(Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap()
        .is_empty());
    let states: Vec<DeliveryState> = log(&db, &webhook).await.iter().map(|d| d.state).collect();
    assert_eq!(states, [DeliveryState::Delivered, DeliveryState::Delivered]);
}

async fn tests_the_log_disabling_deleting_and_pruning(db: Db) {
    let shop = widget(&db, "Shop").await;
    let webhook = hook(&db, &[CONVERSATION_RATED], None).await;
    let ping = db.enqueue_webhook_ping(webhook.id).await.unwrap().unwrap();
    assert_eq!(
        (ping.event.as_str(), ping.conversation_id),
        (PING_EVENT, None)
    );
    let second = db.enqueue_webhook_ping(webhook.id).await.unwrap().unwrap();
    assert!(db.enqueue_webhook_ping(999_999).await.unwrap().is_none());
    assert_eq!(db.webhooks().await.unwrap(), vec![webhook.clone()]);
    assert_eq!(db.webhook(webhook.id).await.unwrap(), Some(webhook.clone()));

    // The log: newest first, paged by id.
    let page = db.webhook_deliveries(webhook.id, None, 1).await.unwrap();
    assert_eq!(page[0].id, second.id);
    let page = db
        .webhook_deliveries(webhook.id, Some(second.id), 10)
        .await
        .unwrap();
    assert_eq!(page.iter().map(|d| d.id).collect::<Vec<_>>(), [ping.id]);

    // Disabled: no tests, no deliveries go; enabled again, they do.
    let off = db
        .set_webhook_disabled(webhook.id, true, Utc::now())
        .await
        .unwrap()
        .unwrap();
    let first_time = off.disabled_at.unwrap();
    let again = db
        .set_webhook_disabled(webhook.id, true, Utc::now() + chrono::Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.disabled_at, Some(first_time), "disabled once");
    assert!(db.enqueue_webhook_ping(webhook.id).await.unwrap().is_none());
    assert!(claim(&db).await.is_none());
    let on = db
        .set_webhook_disabled(webhook.id, false, Utc::now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(on.disabled_at, None);
    let got = claim(&db).await.unwrap();
    assert_eq!(got.id, ping.id);
    // Tests are not ordered by conversation: both may be out at once.
    assert_eq!(claim(&db).await.unwrap().id, second.id);
    assert!(db
        .set_webhook_disabled(999_999, true, Utc::now())
        .await
        .unwrap()
        .is_none());

    // Pruning takes finished deliveries made before the time given, never waiting ones.
    db.finish_webhook_delivery(ping.id, 1, &report(DeliveryOutcome::Delivered, Some(200)))
        .await
        .unwrap();
    let c = conversation(&db, shop.id).await;
    db.rate(c.id, 3, None).await.unwrap();
    assert_eq!(
        db.prune_webhook_deliveries(Utc::now() - chrono::Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        db.prune_webhook_deliveries(Utc::now() + chrono::Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    let left: Vec<i64> = log(&db, &webhook).await.iter().map(|d| d.id).collect();
    assert_eq!(left.len(), 2, "the one sending and the rating's stay");
    assert!(!left.contains(&ping.id));

    // Deleted with its deliveries.
    assert!(db.delete_webhook(webhook.id).await.unwrap());
    assert!(!db.delete_webhook(webhook.id).await.unwrap());
    assert!(db.webhook(webhook.id).await.unwrap().is_none());
    assert!(db
        .webhook_deliveries(webhook.id, None, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(db.webhook_delivery(second.id).await.unwrap().is_none());
    assert!(claim(&db).await.is_none());
}

async fn erasing_a_conversation_takes_its_deliveries(db: Db) {
    let shop = widget(&db, "Shop").await;
    let webhook = hook(&db, &[], None).await;
    let c = conversation(&db, shop.id).await;
    db.insert_message(text(c.id, "Forget me", None))
        .await
        .unwrap();
    db.rate(c.id, 2, None).await.unwrap();
    let kept = conversation(&db, shop.id).await;
    assert_eq!(log(&db, &webhook).await.len(), 4);
    db.erase_conversation(c.id).await.unwrap().unwrap();
    let left = log(&db, &webhook).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].conversation_id, Some(kept.id));
}
