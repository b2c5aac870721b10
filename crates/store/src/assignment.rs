//! Automatic assignment: a widget's queue of open conversations nobody has, handed to online
//! agents who answer the widget and have room, in round-robin or least-busy order; taking a
//! conversation back from an assignee who did not reply in time; and transfers between agents
//! with a private note.
//!
//! The decisions are made in the database, in one transaction that locks what it counts (the
//! queued conversations, `SKIP LOCKED`, and then the candidates' agent rows on PostgreSQL;
//! SQLite's single writer), so two nodes assigning at once never give an agent more than the
//! capacity or one conversation to two agents.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::{Conversation, NewNote, Note, Result};

/// How a widget hands out its queued conversations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentMode {
    /// Each agent in turn (by id, after the one who got the widget's last conversation),
    /// skipping those at capacity.
    RoundRobin,
    /// The agent with the fewest open conversations; ties go in round-robin order.
    LeastBusy,
}

/// What one widget's automatic assignment needs to decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentRule {
    /// The widget whose queue is served.
    pub widget_id: i64,
    /// The order agents are chosen in.
    pub mode: AssignmentMode,
    /// Most open conversations (status `human`, on any widget) an agent may have for automatic
    /// assignment to give them another.
    pub capacity: i64,
    /// Agents whose availability is `online` and who were heard from at or after this instant
    /// count as online; only they are chosen.
    pub online_since: DateTime<Utc>,
}

/// A conversation whose assignee changed without anyone asking.
#[derive(Debug, Clone, PartialEq)]
pub struct Reassigned {
    /// The conversation as it is now.
    pub conversation: Conversation,
    /// Who had it before.
    pub previous_agent_id: Option<i64>,
}

/// A transfer's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Transferred {
    /// The conversation as it is now (status `human`, assigned to the target).
    pub conversation: Conversation,
    /// Who had it before.
    pub previous_agent_id: Option<i64>,
    /// The note stored with it, if one was given.
    pub note: Option<Note>,
}

/// Why a transfer did not happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRefused {
    /// No such conversation.
    NotFound,
    /// The conversation is closed.
    Closed,
    /// The target has it already.
    AlreadyTheirs,
}

/// Automatic assignment and transfers.
#[async_trait]
pub trait Assignments: Send + Sync {
    /// Gives the widget's queued conversations (status `human`, nobody assigned), oldest handoff
    /// first and at most `limit` of them, to the online agents who answer the widget, are not
    /// revoked and have fewer than `rule.capacity` open conversations, never to the agent a
    /// conversation was taken back from for not replying. Conversations no one has room for stay
    /// queued. Remembers the widget's round-robin turn. What was assigned, in order.
    async fn assign_queued(
        &self,
        rule: &AssignmentRule,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reassigned>>;

    /// Takes back the widget's open conversations whose assignee got them at or before `cutoff`
    /// and that no agent has replied to since: each goes back to the queue, remembering whom it
    /// was taken from. At most `limit`; what was taken back.
    async fn unassign_unanswered(
        &self,
        widget_id: i64,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Reassigned>>;

    /// Gives a conversation to agent `to` (it becomes `human`) and stores `note`, if any, in the
    /// same transaction. Capacity is not checked: a person decided. Who may receive it is the
    /// caller's to check.
    async fn transfer(
        &self,
        conversation_id: i64,
        to: i64,
        note: Option<NewNote>,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<Transferred, TransferRefused>>;

    /// How many open conversations (status `human`) each agent has, for the agents with any.
    async fn open_conversation_counts(&self) -> Result<Vec<(i64, i64)>>;

    /// The agent who got the widget's last automatic assignment.
    async fn assignment_turn(&self, widget_id: i64) -> Result<Option<i64>>;
}

/// The candidate automatic assignment picks: `candidates` are `(agent id, open conversations)`
/// ordered by id; the turn goes to the first after `last` (wrapping around); agents at
/// `capacity` and `excluded` are skipped; least-busy takes the fewest open conversations first.
pub fn pick_agent(
    mode: AssignmentMode,
    candidates: &[(i64, i64)],
    capacity: i64,
    last: Option<i64>,
    excluded: Option<i64>,
) -> Option<i64> {
    let start = last
        .and_then(|last| candidates.iter().position(|(id, _)| *id > last))
        .unwrap_or(0);
    let in_turn = candidates[start..]
        .iter()
        .chain(&candidates[..start])
        .filter(|(id, open)| *open < capacity && Some(*id) != excluded);
    match mode {
        AssignmentMode::RoundRobin => in_turn.map(|(id, _)| *id).next(),
        // `min_by_key` keeps the first of equals: the one whose turn comes first.
        AssignmentMode::LeastBusy => in_turn.min_by_key(|(_, open)| *open).map(|(id, _)| *id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AssignmentMode::*;

    #[test]
    fn round_robin_goes_to_the_next_agent_with_room() {
        let team = [(1, 0), (4, 0), (7, 0)];
        assert_eq!(pick_agent(RoundRobin, &team, 5, None, None), Some(1));
        assert_eq!(pick_agent(RoundRobin, &team, 5, Some(1), None), Some(4));
        assert_eq!(pick_agent(RoundRobin, &team, 5, Some(4), None), Some(7));
        assert_eq!(pick_agent(RoundRobin, &team, 5, Some(7), None), Some(1));
        // The last one left the team: the next id after them.
        assert_eq!(pick_agent(RoundRobin, &team, 5, Some(5), None), Some(7));
        let full = [(1, 0), (4, 2), (7, 1)];
        assert_eq!(pick_agent(RoundRobin, &full, 2, Some(1), None), Some(7));
        assert_eq!(pick_agent(RoundRobin, &full, 2, Some(1), Some(7)), Some(1));
        assert_eq!(
            pick_agent(RoundRobin, &[(1, 2), (4, 2)], 2, None, None),
            None
        );
        assert_eq!(pick_agent(RoundRobin, &[], 2, None, None), None);
    }

    #[test]
    fn least_busy_takes_the_fewest_open_then_the_turn() {
        let team = [(1, 3), (4, 1), (7, 1), (9, 0)];
        assert_eq!(pick_agent(LeastBusy, &team, 5, None, None), Some(9));
        assert_eq!(pick_agent(LeastBusy, &team, 5, None, Some(9)), Some(4));
        assert_eq!(pick_agent(LeastBusy, &team, 5, Some(4), Some(9)), Some(7));
        assert_eq!(pick_agent(LeastBusy, &team, 1, Some(4), None), Some(9));
        assert_eq!(pick_agent(LeastBusy, &[(1, 1)], 1, None, None), None);
    }
}
