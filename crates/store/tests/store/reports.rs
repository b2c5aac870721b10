//! Reports: seeded conversations with known times give exact figures (medians of odd and even
//! counts, per widget, per agent, filtered, empty), local hours follow the offset, and status
//! changes stamp when a conversation went to a person and when it was closed.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use parley_store::{
    ConversationStatus, NewMessage, Report, ReportBucket, ReportFigures, ReportQuery, SenderType,
};
use sqlx::{Connection, Executor, PgConnection, SqliteConnection};

use crate::support::{agent, conversation, on_both, widget, Db, Fixture};

on_both!(fresh: figures_of_seeded_conversations, status_changes_stamp_handoff_and_close);

/// Runs statements on the test's database directly, to give records known times.
struct Raw(Arc<Fixture>);

impl Raw {
    async fn run(&self, statements: &[String]) {
        match &*self.0 {
            Fixture::Sqlite { dir } => {
                let url = format!("sqlite://{}", dir.join("parley.db").display());
                let mut conn = SqliteConnection::connect(&url).await.expect("connect");
                for statement in statements {
                    conn.execute(statement.as_str()).await.expect(statement);
                }
                conn.close().await.unwrap();
            }
            Fixture::Postgres { url, schema } => {
                let mut conn = PgConnection::connect(url).await.expect("connect");
                conn.execute(format!("SET search_path TO {schema}").as_str())
                    .await
                    .unwrap();
                for statement in statements {
                    conn.execute(statement.as_str()).await.expect(statement);
                }
                conn.close().await.unwrap();
            }
        }
    }

    /// One text column of one row, as text on either database.
    async fn text(&self, select: &str) -> Option<String> {
        match &*self.0 {
            Fixture::Sqlite { dir } => {
                let url = format!("sqlite://{}", dir.join("parley.db").display());
                let mut conn = SqliteConnection::connect(&url).await.expect("connect");
                let value: Option<String> = sqlx::query_scalar(select)
                    .fetch_one(&mut conn)
                    .await
                    .expect(select);
                conn.close().await.unwrap();
                value
            }
            Fixture::Postgres { url, schema } => {
                let mut conn = PgConnection::connect(url).await.expect("connect");
                conn.execute(format!("SET search_path TO {schema}").as_str())
                    .await
                    .unwrap();
                let select = select.replace(" AS v", "::text AS v");
                let value: Option<String> = sqlx::query_scalar(&select)
                    .fetch_one(&mut conn)
                    .await
                    .expect(&select);
                conn.close().await.unwrap();
                value
            }
        }
    }
}

/// An instant of May 2024 (UTC): "DD HH:MM:SS" or "DD HH:MM:SS.mmm".
fn at(when: &str) -> DateTime<Utc> {
    let (day, time) = when.split_once(' ').unwrap();
    format!("2024-05-{day}T{time}Z").parse().unwrap()
}

/// The SQL literal of an instant, as the store writes them.
fn lit(when: &str) -> String {
    format!("'{}'", at(when).to_rfc3339())
}

/// Stores a message in `conversation` and moves it to `when`.
async fn say(db: &Db, raw: &Raw, conversation: i64, sender: SenderType, when: &str) {
    let stored = db
        .insert_message(NewMessage {
            conversation_id: conversation,
            sender_type: sender,
            sender_name: None,
            message: format!("{sender:?} at {when}"),
            attachment: None,
            is_voice: false,
            client_id: None,
            bot_job: false,
        })
        .await
        .expect("insert message");
    let id = stored.message().id;
    raw.run(&[format!(
        "UPDATE messages SET created_at = {} WHERE id = {id}",
        lit(when)
    )])
    .await;
}

/// Gives a conversation its times (after its messages, which touch `updated_at`).
async fn times(
    raw: &Raw,
    id: i64,
    created: &str,
    updated: &str,
    handed_off: Option<&str>,
    closed: Option<&str>,
) {
    let or_null = |t: Option<&str>| t.map(lit).unwrap_or_else(|| "NULL".into());
    raw.run(&[format!(
        "UPDATE conversations SET created_at = {}, updated_at = {}, handed_off_at = {}, \
         closed_at = {} WHERE id = {id}",
        lit(created),
        lit(updated),
        or_null(handed_off),
        or_null(closed)
    )])
    .await;
}

struct Seeded {
    shop: i64,
    blog: i64,
    ada: i64,
    bob: i64,
}

/// Eight conversations in the first week of May 2024 (and two just outside it):
///
/// | conv | widget | created (UTC) | what happened                                    | rating |
/// |------|--------|---------------|--------------------------------------------------|--------|
/// | c1   | Shop   | 01 09:00:00   | the bot answered; idle since                     |        |
/// | c2   | Shop   | 01 09:30:00   | the bot answered; closed 09:40 (600 s)           | 5      |
/// | c3   | Shop   | 02 10:00:00   | handoff 10:01, Ada 10:03 (120 s), closed 10:30   | 4      |
/// | c4   | Shop   | 02 14:00:00   | handoff 14:00:30, Ada 14:01:30 (60 s), closed 15 | 2      |
/// | c5   | Blog   | 03 10:15:00   | handoff 10:16, Bob 10:20 (240 s), open           |        |
/// | c6   | Blog   | 03 23:30:00   | handoff at once, nobody replied yet              |        |
/// | c7   | Blog   | 04 08:00:00.5 | the bot answered; active yesterday               |        |
/// | c9   | Blog   | 05 12:00:00   | Bob took over 12:10, replied 12:10:00.250        |        |
async fn seed(db: &Db, raw: &Raw) -> Seeded {
    use ConversationStatus::{Closed, Human};
    use SenderType::{Agent, Bot, System, Visitor};
    let shop = widget(db, "Shop").await.id;
    let blog = widget(db, "Blog").await.id;
    let ada = agent(db, "ada@example.com").await.id;
    let bob = agent(db, "bob@example.com").await.id;
    let new = |widget: i64| {
        let db = db.clone();
        async move { conversation(&db, widget).await.id }
    };

    let c1 = new(shop).await;
    say(db, raw, c1, Visitor, "01 09:00:01").await;
    say(db, raw, c1, Bot, "01 09:00:05").await;
    times(raw, c1, "01 09:00:00", "01 09:00:05", None, None).await;

    let c2 = new(shop).await;
    say(db, raw, c2, Visitor, "01 09:30:01").await;
    say(db, raw, c2, Bot, "01 09:30:05").await;
    db.update_conversation(c2, Closed, None).await.unwrap();
    db.rate(c2, 5, None).await.unwrap();
    times(
        raw,
        c2,
        "01 09:30:00",
        "01 09:40:00",
        None,
        Some("01 09:40:00"),
    )
    .await;

    let c3 = new(shop).await;
    say(db, raw, c3, Visitor, "02 10:00:00").await;
    say(db, raw, c3, Bot, "02 10:00:02").await;
    say(db, raw, c3, System, "02 10:01:00").await;
    db.update_conversation(c3, Human, Some(ada)).await.unwrap();
    say(db, raw, c3, Agent, "02 10:03:00").await;
    say(db, raw, c3, Agent, "02 10:05:00").await;
    db.update_conversation(c3, Closed, Some(ada)).await.unwrap();
    db.rate(c3, 4, Some("fine")).await.unwrap();
    let (created, closed) = ("02 10:00:00", Some("02 10:30:00"));
    times(raw, c3, created, "02 10:30:00", Some("02 10:01:00"), closed).await;

    let c4 = new(shop).await;
    say(db, raw, c4, Visitor, "02 14:00:10").await;
    db.update_conversation(c4, Human, Some(ada)).await.unwrap();
    say(db, raw, c4, Agent, "02 14:01:30").await;
    db.update_conversation(c4, Closed, Some(ada)).await.unwrap();
    db.rate(c4, 2, None).await.unwrap();
    let (created, closed) = ("02 14:00:00", Some("02 15:00:00"));
    times(raw, c4, created, "02 15:00:00", Some("02 14:00:30"), closed).await;

    let c5 = new(blog).await;
    say(db, raw, c5, Visitor, "03 10:15:30").await;
    db.update_conversation(c5, Human, Some(bob)).await.unwrap();
    say(db, raw, c5, Agent, "03 10:20:00").await;
    times(
        raw,
        c5,
        "03 10:15:00",
        "03 10:20:00",
        Some("03 10:16:00"),
        None,
    )
    .await;

    let c6 = new(blog).await;
    say(db, raw, c6, Visitor, "03 23:30:00").await;
    db.update_conversation(c6, Human, None).await.unwrap();
    times(
        raw,
        c6,
        "03 23:30:00",
        "03 23:30:00",
        Some("03 23:30:00"),
        None,
    )
    .await;

    let c7 = new(blog).await;
    say(db, raw, c7, Visitor, "04 08:00:01").await;
    say(db, raw, c7, Bot, "04 08:00:03").await;
    times(raw, c7, "04 08:00:00.500", "09 12:00:00", None, None).await;

    let c9 = new(blog).await;
    say(db, raw, c9, Visitor, "05 12:00:01").await;
    say(db, raw, c9, Bot, "05 12:00:02").await;
    db.update_conversation(c9, Human, Some(bob)).await.unwrap();
    say(db, raw, c9, Agent, "05 12:10:00.250").await;
    let handed_off = Some("05 12:10:00");
    times(raw, c9, "05 12:00:00", "05 12:10:00.250", handed_off, None).await;

    // Just outside the first week: the second before it, and its end (exclusive).
    for created in ["2024-04-30T23:59:59+00:00", "2024-05-08T00:00:00+00:00"] {
        let outside = new(shop).await;
        db.update_conversation(outside, Closed, None).await.unwrap();
        db.rate(outside, 1, None).await.unwrap();
        raw.run(&[format!(
            "UPDATE conversations SET created_at = '{created}' WHERE id = {outside}"
        )])
        .await;
    }
    Seeded {
        shop,
        blog,
        ada,
        bob,
    }
}

/// The first week of May 2024 in UTC, read on the 10th (so "idle" means before the 9th).
fn week() -> ReportQuery {
    ReportQuery {
        from: at("01 00:00:00"),
        to: at("08 00:00:00"),
        widget_ids: None,
        agent_id: None,
        idle_before: at("09 00:00:00"),
        utc_offset: 0,
        offset_changes: Vec::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn figures(
    conversations: i64,
    handoffs: i64,
    closed: i64,
    resolved_by_bot: i64,
    (first_responses, median_first_response_ms): (i64, Option<f64>),
    median_resolution_ms: Option<f64>,
    (ratings, rating_sum): (i64, i64),
) -> ReportFigures {
    ReportFigures {
        conversations,
        handoffs,
        closed,
        resolved_by_bot,
        first_responses,
        median_first_response_ms,
        median_resolution_ms,
        ratings,
        rating_sum,
    }
}

/// Days since 1970-01-01 of a day of May 2024.
fn day(d: u32) -> i64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    (NaiveDate::from_ymd_opt(2024, 5, d).unwrap() - epoch).num_days()
}

fn bucket(d: u32, hour: u8, conversations: i64, handoffs: i64) -> ReportBucket {
    ReportBucket {
        day: day(d),
        hour,
        conversations,
        handoffs,
    }
}

async fn figures_of_seeded_conversations(fixture: Arc<Fixture>) {
    let db = fixture.open().await;
    db.migrate().await.expect("migrate");
    let raw = Raw(fixture.clone());
    let Seeded {
        shop,
        blog,
        ada,
        bob,
    } = seed(&db, &raw).await;

    // Shop: first replies 60 s and 120 s (even: 90 s), closed after 600, 1,800 and 3,600 s
    // (odd: 1,800 s). Blog: first replies 0.25 s and 240 s (even: 120.125 s), none closed.
    let shop_figures = figures(4, 2, 3, 2, (2, Some(90_000.0)), Some(1_800_000.0), (3, 11));
    let blog_figures = figures(4, 3, 0, 0, (2, Some(120_125.0)), None, (0, 0));
    let ada_figures = figures(2, 2, 2, 0, (2, Some(90_000.0)), Some(2_700_000.0), (2, 6));
    let bob_figures = figures(2, 2, 0, 0, (2, Some(120_125.0)), None, (0, 0));
    let report = db.report(&week()).await.expect("report");
    assert_eq!(
        report.totals,
        // First replies 0.25, 60, 120, 240 s: the middle two average 90 s.
        figures(8, 5, 3, 2, (4, Some(90_000.0)), Some(1_800_000.0), (3, 11)),
    );
    assert_eq!(
        report.by_widget,
        [(shop, shop_figures.clone()), (blog, blog_figures.clone())]
    );
    assert_eq!(
        report.by_agent,
        [(ada, ada_figures.clone()), (bob, bob_figures)]
    );
    assert_eq!(
        report.buckets,
        [
            bucket(1, 9, 2, 0),
            bucket(2, 10, 1, 1),
            bucket(2, 14, 1, 1),
            bucket(3, 10, 1, 1),
            bucket(3, 23, 1, 1),
            bucket(4, 8, 1, 0),
            bucket(5, 12, 1, 1),
        ]
    );

    // An odd number of first replies: the 2nd and 3rd of May (60, 120 and 240 s).
    let mid = db
        .report(&ReportQuery {
            from: at("02 00:00:00"),
            to: at("04 00:00:00"),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(
        mid.totals,
        figures(4, 4, 2, 0, (3, Some(120_000.0)), Some(2_700_000.0), (2, 6))
    );

    // One widget, one agent, both.
    let report = db
        .report(&ReportQuery {
            widget_ids: Some(vec![blog]),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(report.totals, blog_figures);
    assert_eq!(report.by_widget, [(blog, blog_figures.clone())]);
    assert_eq!(report.by_agent.len(), 1, "Bob only");
    let report = db
        .report(&ReportQuery {
            agent_id: Some(ada),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(report.totals, ada_figures);
    assert_eq!(report.by_widget, [(shop, ada_figures.clone())]);
    assert_eq!(report.by_agent, [(ada, ada_figures)]);
    assert_eq!(report.buckets, [bucket(2, 10, 1, 1), bucket(2, 14, 1, 1)]);
    let report = db
        .report(&ReportQuery {
            widget_ids: Some(vec![blog]),
            agent_id: Some(ada),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(report, Report::default(), "Ada answered no Blog visitor");

    // Read a day earlier, c1 is not idle yet; c7 became idle by the 10th.
    let report = db
        .report(&ReportQuery {
            idle_before: at("01 09:00:00"),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(report.totals.resolved_by_bot, 1, "only the closed c2");
    let report = db
        .report(&ReportQuery {
            idle_before: at("10 00:00:00"),
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(report.totals.resolved_by_bot, 3, "c1, c2 and c7");

    // Nothing in range, or no widget allowed: empty figures.
    for empty in [
        ReportQuery {
            from: at("20 00:00:00"),
            to: at("27 00:00:00"),
            ..week()
        },
        ReportQuery {
            widget_ids: Some(Vec::new()),
            ..week()
        },
    ] {
        let report = db.report(&empty).await.unwrap();
        assert_eq!(report, Report::default());
        assert_eq!(report.totals.median_first_response_ms, None);
    }

    // Local time two hours ahead of UTC until the 3rd at 00:00 UTC, then three: c1 started at
    // 11:00, c6 at 02:30 on the 4th, c9 at 15:00.
    let report = db
        .report(&ReportQuery {
            utc_offset: 7200,
            offset_changes: vec![(at("03 00:00:00"), 10_800)],
            ..week()
        })
        .await
        .unwrap();
    assert_eq!(
        report.buckets,
        [
            bucket(1, 11, 2, 0),
            bucket(2, 12, 1, 1),
            bucket(2, 16, 1, 1),
            bucket(3, 13, 1, 1),
            bucket(4, 2, 1, 1),
            bucket(4, 11, 1, 0),
            bucket(5, 15, 1, 1),
        ]
    );
}

async fn status_changes_stamp_handoff_and_close(fixture: Arc<Fixture>) {
    use ConversationStatus::{Bot, Closed, Human};
    let db = fixture.open().await;
    db.migrate().await.expect("migrate");
    let raw = Raw(fixture.clone());
    let shop = widget(&db, "Shop").await.id;
    let ada = agent(&db, "ada@example.com").await.id;
    let id = conversation(&db, shop).await.id;
    let stamp = |column: &str| {
        let raw = &raw;
        let select = format!("SELECT {column} AS v FROM conversations WHERE id = {id}");
        async move { raw.text(&select).await }
    };
    assert_eq!(stamp("handed_off_at").await, None, "a new conversation");
    assert_eq!(stamp("closed_at").await, None);

    db.update_conversation(id, Human, None).await.unwrap();
    let handed_off = stamp("handed_off_at").await.expect("stamped");
    db.update_conversation(id, Bot, None).await.unwrap();
    db.update_conversation(id, Human, Some(ada)).await.unwrap();
    assert_eq!(
        stamp("handed_off_at").await.as_ref(),
        Some(&handed_off),
        "the first handoff is kept"
    );
    db.update_conversation(id, Closed, Some(ada)).await.unwrap();
    let closed = stamp("closed_at").await.expect("closed");
    db.update_conversation(id, Closed, Some(ada)).await.unwrap();
    assert_eq!(stamp("closed_at").await.as_ref(), Some(&closed), "kept");
    db.update_conversation(id, Human, Some(ada)).await.unwrap();
    assert_eq!(stamp("closed_at").await, None, "reopened");
    assert_eq!(stamp("handed_off_at").await, Some(handed_off));

    // A conversation closed straight from the bot never went to a person.
    let by_bot = conversation(&db, shop).await.id;
    db.update_conversation(by_bot, Closed, None).await.unwrap();
    let select = format!("SELECT handed_off_at AS v FROM conversations WHERE id = {by_bot}");
    assert_eq!(raw.text(&select).await, None);
}
