//! The mail queue: a key queues once, one batch of replies per conversation at a time, claims
//! never overlap, a dead lease becomes `unknown` (never retried), retries and outcomes; and the
//! visitor's last-seen time.

use std::time::Duration;

use chrono::Utc;
use parley_store::{MailKind, MailOutcome, MailState, NewMailJob, StoreError};
use serde_json::json;

use crate::support::{chat, on_both, Db};

on_both!(
    a_key_queues_once_and_replies_batch_one_at_a_time,
    claims_never_overlap_and_dead_leases_are_unknown,
    outcomes_retries_and_account_links_forget_their_address,
    the_visitor_last_seen_only_moves_forward,
);

fn job(kind: MailKind, key: &str, conversation_id: Option<i64>) -> NewMailJob {
    NewMailJob {
        kind,
        dedupe_key: key.into(),
        conversation_id,
        recipient: "ada@example.com".into(),
        payload: json!({}),
        up_to_message_id: None,
        run_at: Utc::now(),
    }
}

async fn a_key_queues_once_and_replies_batch_one_at_a_time(db: Db) {
    let c = chat(&db).await;
    let first = db
        .enqueue_mail(job(MailKind::Transcript, "transcript:1:5", Some(c.id)))
        .await
        .unwrap()
        .expect("queued");
    assert_eq!(first.state, MailState::Pending);
    assert_eq!(first.kind, MailKind::Transcript);
    assert_eq!(first.attempts, 0);
    assert!(db
        .enqueue_mail(job(MailKind::Transcript, "transcript:1:5", Some(c.id)))
        .await
        .unwrap()
        .is_none());

    // One batch of replies pending per conversation, whatever its key.
    let batch = db
        .enqueue_mail(job(MailKind::Replies, "replies:a", Some(c.id)))
        .await
        .unwrap()
        .expect("first batch");
    assert!(db
        .enqueue_mail(job(MailKind::Replies, "replies:b", Some(c.id)))
        .await
        .unwrap()
        .is_none());
    // Another conversation has its own.
    let other = chat(&db).await;
    assert!(db
        .enqueue_mail(job(MailKind::Replies, "replies:c", Some(other.id)))
        .await
        .unwrap()
        .is_some());

    // While the batch is being sent, no second one; once it is over, the next may queue.
    db.claim_mail_job(Duration::from_secs(60)).await.unwrap(); // the transcript
    let claimed = db
        .claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, batch.id);
    assert!(db
        .enqueue_mail(job(MailKind::Replies, "replies:b", Some(c.id)))
        .await
        .unwrap()
        .is_none());
    db.finish_mail_job(batch.id, MailOutcome::Sent, None)
        .await
        .unwrap();
    assert!(db
        .enqueue_mail(job(MailKind::Replies, "replies:b", Some(c.id)))
        .await
        .unwrap()
        .is_some());
    assert_eq!(db.mail_jobs_of(c.id).await.unwrap().len(), 3);

    let err = db
        .enqueue_mail(job(MailKind::Transcript, "x", Some(999_999)))
        .await
        .expect_err("no such conversation");
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    // A mail without a conversation (an account link).
    assert!(db
        .enqueue_mail(job(MailKind::AccountLink, "link:1", None))
        .await
        .unwrap()
        .is_some());
}

async fn claims_never_overlap_and_dead_leases_are_unknown(db: Db) {
    let c = chat(&db).await;
    for n in 0..6 {
        db.enqueue_mail(job(MailKind::Transcript, &format!("t:{n}"), Some(c.id)))
            .await
            .unwrap()
            .unwrap();
    }
    let mut later = job(MailKind::Transcript, "t:later", Some(c.id));
    later.run_at = Utc::now() + chrono::Duration::hours(1);
    db.enqueue_mail(later).await.unwrap().unwrap();

    let claims = futures_claim(&db, 8).await;
    let mut ids: Vec<i64> = claims.iter().flatten().map(|j| j.id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), before, "no job claimed twice");
    assert_eq!(ids.len(), 6, "the one not due yet stays");
    assert!(claims
        .iter()
        .flatten()
        .all(|j| j.state == MailState::Sending && j.attempts == 1));

    // Leases that ran out: the jobs may have been sent, so they end unknown, not pending.
    assert!(db.expire_mail_jobs(Utc::now()).await.unwrap().is_empty());
    let expired = db
        .expire_mail_jobs(Utc::now() + chrono::Duration::minutes(5))
        .await
        .unwrap();
    assert_eq!(expired.len(), 6);
    assert!(expired.iter().all(|j| j.state == MailState::Unknown));
    assert!(db
        .claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .is_none());
}

async fn futures_claim(db: &Db, n: usize) -> Vec<Option<parley_store::MailJob>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.claim_mail_job(Duration::from_secs(60)).await.unwrap()
        }));
    }
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

async fn outcomes_retries_and_account_links_forget_their_address(db: Db) {
    let c = chat(&db).await;
    let queued = db
        .enqueue_mail(job(MailKind::Replies, "r:1", Some(c.id)))
        .await
        .unwrap()
        .unwrap();
    let claimed = db
        .claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, queued.id);
    db.cover_mail(claimed.id, 42).await.unwrap();
    // A failure that proves nothing was delivered: back to pending, at its time.
    let at = Utc::now() + chrono::Duration::seconds(30);
    db.retry_mail_job(claimed.id, at, "connection refused")
        .await
        .unwrap();
    let retried = db.mail_job(claimed.id).await.unwrap().unwrap();
    assert_eq!(retried.state, MailState::Pending);
    assert_eq!(retried.up_to_message_id, Some(42));
    assert_eq!(retried.last_error.as_deref(), Some("connection refused"));
    assert!(
        db.claim_mail_job(Duration::from_secs(60))
            .await
            .unwrap()
            .is_none(),
        "not due yet"
    );
    // Postponed (the visitor was around): pending again, the claim not counted.
    db.retry_mail_job(claimed.id, Utc::now(), "x")
        .await
        .unwrap(); // not sending: no-op
    let mut postponed = job(MailKind::Transcript, "t:postponed", Some(c.id));
    postponed.run_at = Utc::now();
    let postponed = db.enqueue_mail(postponed).await.unwrap().unwrap();
    let claimed_again = db
        .claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (claimed_again.id, claimed_again.attempts),
        (postponed.id, 1)
    );
    db.postpone_mail_job(postponed.id, Utc::now())
        .await
        .unwrap();
    let back = db.mail_job(postponed.id).await.unwrap().unwrap();
    assert_eq!((back.state, back.attempts), (MailState::Pending, 0));
    db.claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    db.finish_mail_job(postponed.id, MailOutcome::Skipped, None)
        .await
        .unwrap();

    // A retry or finish of a job no longer sending changes nothing.
    db.retry_mail_job(claimed.id, Utc::now(), "late")
        .await
        .unwrap();
    assert_eq!(
        db.mail_job(claimed.id)
            .await
            .unwrap()
            .unwrap()
            .last_error
            .as_deref(),
        Some("connection refused")
    );

    let mut link = job(MailKind::AccountLink, "link:abc", None);
    link.payload = json!({ "url": "https://chat.example.com/dashboard#invite=secret" });
    let link = db.enqueue_mail(link).await.unwrap().unwrap();
    assert_eq!(
        link.payload["url"],
        "https://chat.example.com/dashboard#invite=secret"
    );
    let claimed = db
        .claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.id, link.id);
    db.finish_mail_job(link.id, MailOutcome::Sent, None)
        .await
        .unwrap();
    let done = db.mail_job(link.id).await.unwrap().unwrap();
    assert_eq!(done.state, MailState::Sent);
    assert!(done.sent_at.is_some());
    assert_eq!(done.payload, json!({}), "the link is not kept");

    let mut transcript = job(MailKind::Transcript, "t:1", Some(c.id));
    transcript.payload = json!({ "reason": "request" });
    let transcript = db.enqueue_mail(transcript).await.unwrap().unwrap();
    db.claim_mail_job(Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    db.finish_mail_job(transcript.id, MailOutcome::Failed, Some("550 no such user"))
        .await
        .unwrap();
    let failed = db.mail_job(transcript.id).await.unwrap().unwrap();
    assert_eq!(failed.state, MailState::Failed);
    assert_eq!(failed.sent_at, None);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
    assert_eq!(failed.payload, json!({ "reason": "request" }), "kept");
}

async fn the_visitor_last_seen_only_moves_forward(db: Db) {
    let c = chat(&db).await;
    assert_eq!(db.visitor_seen_at(c.id).await.unwrap(), None);
    let now = Utc::now();
    assert!(db.touch_visitor(c.id, now).await.unwrap());
    let seen = db.visitor_seen_at(c.id).await.unwrap().unwrap();
    assert!((seen - now).num_milliseconds().abs() < 2);
    db.touch_visitor(c.id, now - chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(db.visitor_seen_at(c.id).await.unwrap(), Some(seen));
    assert!(!db.touch_visitor(999_999, now).await.unwrap());
    assert_eq!(db.visitor_seen_at(999_999).await.unwrap(), None);
}
