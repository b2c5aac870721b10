//! Reports: how a team is doing over a range of time, computed by the database.
//!
//! A report covers the conversations *started* in its range (`from` ≤ `created_at` < `to`), as
//! they stand when it is read. The figures (what each one means is in `docs/agent-api.md`):
//! how many there were, how many went to a person (`handed_off_at`), were closed (`closed_at`),
//! or were resolved by the bot alone, the median time to a person's first reply and to closing,
//! and the visitors' ratings; each for everything, per widget and per assigned agent, and the
//! conversations per local hour of the day and per local day.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::Result;

/// What a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// The range's start (inclusive).
    pub from: DateTime<Utc>,
    /// The range's end (exclusive).
    pub to: DateTime<Utc>,
    /// Only these widgets' conversations (`None`: every widget's; empty: none).
    pub widget_ids: Option<Vec<i64>>,
    /// Only the conversations assigned to this agent.
    pub agent_id: Option<i64>,
    /// A conversation the bot still has counts as resolved by it once nothing has happened in
    /// it since this instant (the caller's "now" less its idle time).
    pub idle_before: DateTime<Utc>,
    /// Local time for the hours and days: its offset from UTC (seconds east) at `from`, and
    /// each later change within the range (the instant, the new offset), oldest first.
    pub utc_offset: i32,
    /// See [`ReportQuery::utc_offset`].
    pub offset_changes: Vec<(DateTime<Utc>, i32)>,
}

/// The figures of one group of conversations (everything, one widget or one agent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFigures {
    /// Conversations started in the range.
    pub conversations: i64,
    /// Of those, how many went to a person.
    pub handoffs: i64,
    /// How many are closed.
    pub closed: i64,
    /// How many the bot resolved without a person: it answered, no person ever had the
    /// conversation, and it is closed or idle.
    pub resolved_by_bot: i64,
    /// How many went to a person and got a person's reply.
    pub first_responses: i64,
    /// The median time from the handoff to a person's first reply, in milliseconds.
    pub median_first_response_ms: Option<f64>,
    /// The median time from the start to closing, of the closed ones, in milliseconds.
    pub median_resolution_ms: Option<f64>,
    /// How many were rated.
    pub ratings: i64,
    /// The sum of their scores (1-5 each).
    pub rating_sum: i64,
}

/// How many conversations started in one local hour of one local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBucket {
    /// The local day, counted in days since 1970-01-01.
    pub day: i64,
    /// The local hour, 0-23.
    pub hour: u8,
    /// Conversations started then.
    pub conversations: i64,
    /// Of those, how many went to a person.
    pub handoffs: i64,
}

/// A report: the figures for everything, per widget and per agent, and the local hours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Every conversation the query covers.
    pub totals: ReportFigures,
    /// Per widget (those with conversations in the range), by widget id.
    pub by_widget: Vec<(i64, ReportFigures)>,
    /// Per assigned agent (those with conversations in the range), by agent id.
    pub by_agent: Vec<(i64, ReportFigures)>,
    /// The local hours that had conversations, in time order.
    pub buckets: Vec<ReportBucket>,
}

/// Reports, computed with SQL on either database.
#[async_trait]
pub trait Reports: Send + Sync {
    /// The report `query` asks for, read in one snapshot.
    async fn report(&self, query: &ReportQuery) -> Result<Report>;
}
