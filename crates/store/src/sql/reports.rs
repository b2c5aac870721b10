//! Reports on both databases: four statements read in one snapshot.
//!
//! Every statement starts from the same two common table expressions: `c`, the conversations
//! the report covers, and `g`, each of them three times over, tagged with the group it counts
//! in (`kind` 0: everything, 1: its widget, 2: its assigned agent), so one `GROUP BY kind, grp`
//! gives the totals and both breakdowns. Medians use what both databases have (SQLite has no
//! percentile function): each value's `ROW_NUMBER()` and the group's `COUNT(*)` as window
//! functions, keeping the middle row (odd counts) or the middle two (even counts), whose sum and
//! number come back for the caller to divide. Durations are whole milliseconds, computed with
//! `julianday` on SQLite and `EXTRACT(EPOCH …)` on PostgreSQL, the two spellings this file
//! differs in.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Encode, Executor, IntoArguments, Type};

use super::{rows::Columns, Backend, SqlStore};
use crate::{Report, ReportBucket, ReportFigures, ReportQuery, Reports, Result};

/// The two SQL spellings used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Sqlite,
    Postgres,
}

fn dialect<DB: Backend>() -> Dialect {
    if DB::NAME == "PostgreSQL" {
        Dialect::Postgres
    } else {
        Dialect::Sqlite
    }
}

impl Dialect {
    /// Milliseconds from `start` to `end` (timestamps), never negative (a reply stamped a
    /// moment before the handoff by another node's clock counts as immediate).
    fn millis_between(self, end: &str, start: &str) -> String {
        let millis = match self {
            Self::Sqlite => {
                format!(
                    "CAST(ROUND((julianday({end}) - julianday({start})) * 86400000.0) AS INTEGER)"
                )
            }
            Self::Postgres => {
                format!("CAST(ROUND(EXTRACT(EPOCH FROM ({end} - {start})) * 1000) AS BIGINT)")
            }
        };
        format!("CASE WHEN {end} <= {start} THEN 0 ELSE {millis} END")
    }

    /// Whole seconds since 1970 (UTC) of a timestamp.
    fn epoch_seconds(self, at: &str) -> String {
        match self {
            Self::Sqlite => format!("CAST(strftime('%s', {at}) AS INTEGER)"),
            Self::Postgres => format!("CAST(FLOOR(EXTRACT(EPOCH FROM {at})) AS BIGINT)"),
        }
    }
}

/// A value bound to a statement.
#[derive(Debug, Clone, Copy)]
enum Arg {
    Int(i64),
    Time(DateTime<Utc>),
}

/// A statement's values, numbered as they are added.
#[derive(Debug, Default)]
struct Args(Vec<Arg>);

impl Args {
    /// Adds `arg`; its placeholder.
    fn add(&mut self, arg: Arg) -> String {
        self.0.push(arg);
        format!("${}", self.0.len())
    }
}

/// `WITH c AS (…), g AS (…)` for `query`, its values added to `args`.
fn cohort(query: &ReportQuery, args: &mut Args) -> String {
    let from = args.add(Arg::Time(query.from));
    let to = args.add(Arg::Time(query.to));
    let mut filter = format!("created_at >= {from} AND created_at < {to}");
    match &query.widget_ids {
        None => {}
        Some(ids) if ids.is_empty() => filter.push_str(" AND 1 = 0"),
        Some(ids) => {
            let list: Vec<String> = ids.iter().map(|id| args.add(Arg::Int(*id))).collect();
            filter.push_str(&format!(" AND widget_id IN ({})", list.join(", ")));
        }
    }
    if let Some(agent_id) = query.agent_id {
        let agent = args.add(Arg::Int(agent_id));
        filter.push_str(&format!(" AND assigned_agent_id = {agent}"));
    }
    format!(
        "WITH c AS (SELECT id, widget_id, assigned_agent_id, status, created_at, updated_at, \
         handed_off_at, closed_at FROM conversations WHERE {filter}), \
         g AS (SELECT CAST(0 AS BIGINT) AS kind, CAST(0 AS BIGINT) AS grp, c.* FROM c \
         UNION ALL SELECT CAST(1 AS BIGINT), c.widget_id, c.* FROM c \
         UNION ALL SELECT CAST(2 AS BIGINT), c.assigned_agent_id, c.* FROM c \
         WHERE c.assigned_agent_id IS NOT NULL) "
    )
}

/// Counts and ratings per group.
fn counts(query: &ReportQuery, args: &mut Args) -> String {
    let with = cohort(query, args);
    let idle = args.add(Arg::Time(query.idle_before));
    format!(
        "{with}SELECT g.kind, g.grp, COUNT(*) AS conversations, \
         SUM(CASE WHEN g.handed_off_at IS NOT NULL THEN 1 ELSE 0 END) AS handoffs, \
         SUM(CASE WHEN g.closed_at IS NOT NULL THEN 1 ELSE 0 END) AS closed, \
         SUM(CASE WHEN g.handed_off_at IS NULL \
           AND (g.status = 'closed' OR (g.status = 'bot' AND g.updated_at < {idle})) \
           AND EXISTS (SELECT 1 FROM messages b WHERE b.conversation_id = g.id \
             AND b.sender_type = 'bot') \
           AND NOT EXISTS (SELECT 1 FROM messages a WHERE a.conversation_id = g.id \
             AND a.sender_type = 'agent') \
           THEN 1 ELSE 0 END) AS resolved_by_bot, \
         COUNT(r.score) AS ratings, \
         CAST(COALESCE(SUM(r.score), 0) AS BIGINT) AS rating_sum \
         FROM g LEFT JOIN ratings r ON r.conversation_id = g.id \
         GROUP BY g.kind, g.grp"
    )
}

/// The median of `durations` (a SELECT of `kind, grp, ms`) per group: how many values (`n`),
/// and the sum and number of the middle one or two (`middle`, `middles`).
fn median(with: &str, durations: &str) -> String {
    format!(
        "{with}, d AS ({durations}), \
         r AS (SELECT kind, grp, ms, \
           ROW_NUMBER() OVER (PARTITION BY kind, grp ORDER BY ms) AS rn, \
           COUNT(*) OVER (PARTITION BY kind, grp) AS n FROM d) \
         SELECT kind, grp, MAX(n) AS n, CAST(SUM(ms) AS BIGINT) AS middle, COUNT(*) AS middles \
         FROM r WHERE rn = (n + 1) / 2 OR rn = (n + 2) / 2 GROUP BY kind, grp"
    )
}

/// The median time from the handoff to the first agent message, per group.
fn first_response(query: &ReportQuery, dialect: Dialect, args: &mut Args) -> String {
    let with = cohort(query, args);
    let ms = dialect.millis_between("MIN(m.created_at)", "g.handed_off_at");
    median(
        with.trim_end(),
        &format!(
            "SELECT g.kind, g.grp, {ms} AS ms FROM g \
             JOIN messages m ON m.conversation_id = g.id AND m.sender_type = 'agent' \
             WHERE g.handed_off_at IS NOT NULL \
             GROUP BY g.kind, g.grp, g.id, g.handed_off_at"
        ),
    )
}

/// The median time from the start to closing, per group.
fn resolution(query: &ReportQuery, dialect: Dialect, args: &mut Args) -> String {
    let with = cohort(query, args);
    let ms = dialect.millis_between("g.closed_at", "g.created_at");
    median(
        with.trim_end(),
        &format!("SELECT g.kind, g.grp, {ms} AS ms FROM g WHERE g.closed_at IS NOT NULL"),
    )
}

/// Conversations and handoffs per local day and hour.
fn buckets(query: &ReportQuery, dialect: Dialect, args: &mut Args) -> String {
    let with = cohort(query, args);
    let epoch = dialect.epoch_seconds("created_at");
    let offset = if query.offset_changes.is_empty() {
        query.utc_offset.to_string()
    } else {
        let mut case = String::from("CASE");
        let mut current = query.utc_offset;
        for (at, next) in &query.offset_changes {
            let at = args.add(Arg::Time(*at));
            case.push_str(&format!(" WHEN created_at < {at} THEN {current}"));
            current = *next;
        }
        case.push_str(&format!(" ELSE {current} END"));
        case
    };
    format!(
        "{with}SELECT day, hour, COUNT(*) AS conversations, \
         SUM(CASE WHEN handed_off_at IS NOT NULL THEN 1 ELSE 0 END) AS handoffs \
         FROM (SELECT s / 86400 AS day, (s % 86400) / 3600 AS hour, handed_off_at \
           FROM (SELECT {epoch} + ({offset}) AS s, handed_off_at FROM c) t) u \
         GROUP BY day, hour ORDER BY day, hour"
    )
}

/// The groups' figures as they fill in.
#[derive(Debug, Default)]
struct Groups(BTreeMap<(i64, i64), ReportFigures>);

impl Groups {
    fn get(&mut self, row: &impl Columns) -> Result<&mut ReportFigures> {
        Ok(self
            .0
            .entry((row.int("kind")?, row.int("grp")?))
            .or_default())
    }

    fn into_report(mut self, buckets: Vec<ReportBucket>) -> Report {
        let totals = self.0.remove(&(0, 0)).unwrap_or_default();
        let mut report = Report {
            totals,
            buckets,
            ..Report::default()
        };
        for ((kind, id), figures) in self.0 {
            match kind {
                1 => report.by_widget.push((id, figures)),
                _ => report.by_agent.push((id, figures)),
            }
        }
        report
    }
}

/// The median a [`median`] row gives, in milliseconds.
fn middle(row: &impl Columns) -> Result<(i64, Option<f64>)> {
    let middles = row.int("middles")?;
    let median = (middles > 0).then(|| row.int("middle").map(|sum| sum as f64 / middles as f64));
    Ok((row.int("n")?, median.transpose()?))
}

#[async_trait]
impl<DB> Reports for SqlStore<DB>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    async fn report(&self, query: &ReportQuery) -> Result<Report> {
        let dialect = dialect::<DB>();
        // One snapshot: SQLite's first read fixes it, PostgreSQL's REPEATABLE READ does.
        let begin = match dialect {
            Dialect::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            Dialect::Sqlite => "BEGIN",
        };
        let mut tx = self.read.begin_with(begin).await?;
        let mut groups = Groups::default();

        let mut args = Args::default();
        let statement = counts(query, &mut args);
        for row in fetch(&mut tx, &statement, args).await? {
            let figures = groups.get(&row)?;
            figures.conversations = row.int("conversations")?;
            figures.handoffs = row.int("handoffs")?;
            figures.closed = row.int("closed")?;
            figures.resolved_by_bot = row.int("resolved_by_bot")?;
            figures.ratings = row.int("ratings")?;
            figures.rating_sum = row.int("rating_sum")?;
        }

        let mut args = Args::default();
        let statement = first_response(query, dialect, &mut args);
        for row in fetch(&mut tx, &statement, args).await? {
            let (n, median) = middle(&row)?;
            let figures = groups.get(&row)?;
            figures.first_responses = n;
            figures.median_first_response_ms = median;
        }

        let mut args = Args::default();
        let statement = resolution(query, dialect, &mut args);
        for row in fetch(&mut tx, &statement, args).await? {
            let (_, median) = middle(&row)?;
            groups.get(&row)?.median_resolution_ms = median;
        }

        let mut args = Args::default();
        let statement = buckets(query, dialect, &mut args);
        let mut hours = Vec::new();
        for row in fetch(&mut tx, &statement, args).await? {
            hours.push(ReportBucket {
                day: row.int("day")?,
                hour: u8::try_from(row.int("hour")?.rem_euclid(24)).unwrap_or_default(),
                conversations: row.int("conversations")?,
                handoffs: row.int("handoffs")?,
            });
        }
        tx.rollback().await?;
        Ok(groups.into_report(hours))
    }
}

/// Runs `statement` with `args` in the report's transaction.
async fn fetch<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    statement: &str,
    args: Args,
) -> Result<Vec<DB::Row>>
where
    DB: Backend,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> DateTime<Utc>: Encode<'q, DB> + Type<DB>,
{
    let mut select = sqlx::query(statement);
    for arg in args.0 {
        select = match arg {
            Arg::Int(value) => select.bind(value),
            Arg::Time(value) => select.bind(value),
        };
    }
    Ok(select.fetch_all(&mut **tx).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> ReportQuery {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        ReportQuery {
            from: at("2024-03-30T00:00:00Z"),
            to: at("2024-04-01T00:00:00Z"),
            widget_ids: Some(vec![4, 9]),
            agent_id: Some(2),
            idle_before: at("2024-04-02T00:00:00Z"),
            utc_offset: 3600,
            offset_changes: vec![(at("2024-03-31T01:00:00Z"), 7200)],
        }
    }

    #[test]
    fn values_are_numbered_in_order() {
        let mut args = Args::default();
        let statement = counts(&query(), &mut args);
        assert!(statement.contains("created_at >= $1 AND created_at < $2"));
        assert!(statement.contains("widget_id IN ($3, $4)"));
        assert!(statement.contains("assigned_agent_id = $5"));
        assert!(statement.contains("g.updated_at < $6"));
        assert_eq!(args.0.len(), 6);
    }

    #[test]
    fn local_time_follows_each_offset_change() {
        let mut args = Args::default();
        let statement = buckets(&query(), Dialect::Sqlite, &mut args);
        assert!(statement.contains("CASE WHEN created_at < $6 THEN 3600 ELSE 7200 END"));
        let mut none = query();
        none.widget_ids = Some(Vec::new());
        none.offset_changes.clear();
        let mut args = Args::default();
        let statement = buckets(&none, Dialect::Postgres, &mut args);
        assert!(statement.contains("AND 1 = 0"));
        assert!(statement.contains("+ (3600) AS s"));
        assert_eq!(args.0.len(), 3);
    }
}
