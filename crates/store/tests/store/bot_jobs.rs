//! The bot-job queue: a job per visitor message queued atomically with it, claimed once even
//! by concurrent workers, re-claimed after its lease expires, retried, finished.

use std::{collections::HashSet, time::Duration};

use parley_store::{Inserted, NewMessage};

use crate::support::{chat, on_both, text, Db};

on_both!(
    a_job_is_queued_with_its_message_only_when_asked,
    concurrent_workers_never_claim_the_same_job,
    an_expired_lease_is_claimed_again,
    retries_wait_until_due_and_outcomes_are_kept,
);

fn with_job(message: NewMessage) -> NewMessage {
    NewMessage {
        bot_job: true,
        ..message
    }
}

async fn a_job_is_queued_with_its_message_only_when_asked(db: Db) {
    let chat = chat(&db).await;
    db.insert_message(text(chat.id, "no bot", None))
        .await
        .unwrap();
    assert_eq!(
        db.claim_bot_job(Duration::from_secs(30)).await.unwrap(),
        None
    );
    let Inserted::Created(message) = db
        .insert_message(with_job(text(chat.id, "hi bot", Some("k"))))
        .await
        .unwrap()
    else {
        panic!("not created")
    };
    // A retried send is a duplicate: no second job.
    db.insert_message(with_job(text(chat.id, "hi bot", Some("k"))))
        .await
        .unwrap();
    let job = db
        .claim_bot_job(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("a job");
    assert_eq!(
        (job.conversation_id, job.message_id, job.attempts),
        (chat.id, message.id, 1)
    );
    assert_eq!(
        db.claim_bot_job(Duration::from_secs(30)).await.unwrap(),
        None,
        "claimed twice"
    );
}

async fn concurrent_workers_never_claim_the_same_job(db: Db) {
    let chat = chat(&db).await;
    for i in 0..10 {
        db.insert_message(with_job(text(chat.id, &format!("m{i}"), None)))
            .await
            .unwrap();
    }
    let mut workers = Vec::new();
    for _ in 0..5 {
        let db = db.clone();
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(job) = db.claim_bot_job(Duration::from_secs(30)).await.unwrap() {
                got.push(job.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 10, "{all:?}");
    assert_eq!(unique.len(), 10, "a job was claimed twice: {all:?}");
}

async fn an_expired_lease_is_claimed_again(db: Db) {
    let chat = chat(&db).await;
    db.insert_message(with_job(text(chat.id, "m", None)))
        .await
        .unwrap();
    // A worker claims it with a lease that has already run out, then "dies".
    let first = db.claim_bot_job(Duration::ZERO).await.unwrap().unwrap();
    let again = db
        .claim_bot_job(Duration::from_secs(30))
        .await
        .unwrap()
        .expect("re-claimed");
    assert_eq!(again.id, first.id);
    assert_eq!(again.attempts, 2);
    db.finish_bot_job(again.id, "answer").await.unwrap();
    assert_eq!(
        db.claim_bot_job(Duration::ZERO).await.unwrap(),
        None,
        "a finished job came back"
    );
}

async fn retries_wait_until_due_and_outcomes_are_kept(db: Db) {
    let chat = chat(&db).await;
    db.insert_message(with_job(text(chat.id, "a", None)))
        .await
        .unwrap();
    db.insert_message(with_job(text(chat.id, "b", None)))
        .await
        .unwrap();
    let job = db
        .claim_bot_job(Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    db.retry_bot_job(
        job.id,
        chrono::Utc::now() + chrono::Duration::hours(1),
        "upstream 500",
    )
    .await
    .unwrap();
    let next = db
        .claim_bot_job(Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_ne!(next.id, job.id, "a job scheduled for later ran now");
    db.finish_bot_job(next.id, "unsure").await.unwrap();
    assert_eq!(
        db.claim_bot_job(Duration::from_secs(30)).await.unwrap(),
        None
    );
    db.retry_bot_job(
        job.id,
        chrono::Utc::now() - chrono::Duration::seconds(1),
        "again",
    )
    .await
    .unwrap();
    let due = db
        .claim_bot_job(Duration::from_secs(30))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((due.id, due.attempts), (job.id, 2));
    db.finish_bot_job(due.id, "answer").await.unwrap();
    // Newest message first, whatever order the jobs finished in.
    assert_eq!(
        db.bot_outcomes(chat.id, 10).await.unwrap(),
        ["unsure", "answer"]
    );
}
