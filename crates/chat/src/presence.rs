//! Which agents are online, and telling those who care when that changes: the team on the
//! agents' channel (who is available), visitors on their conversations' channels (whether
//! anyone is, never who or how many).
//!
//! An agent is online when their availability is `online` and their dashboard was heard from
//! within [`online_window`]. The store is the truth, so every node agrees: a node re-reads it
//! after each change it makes and every few seconds (which catches dashboards that went quiet
//! and changes made on other nodes), and publishes only what differs from its last look.

use std::time::{Duration, Instant};

use chrono::Utc;
use parley_store::{Agent, Store};

use crate::{
    broadcast::{BroadcastQueue, Broadcaster, MAX_CHANNELS_PER_EVENT},
    error::ApiError,
    payload::{self, AgentJson},
};

/// How long an agent's dashboard may stay silent and still count as online: three missed
/// heartbeats (the dashboard sends one every 25 s).
pub fn online_window() -> chrono::Duration {
    chrono::Duration::seconds(75)
}

/// How long an agent whose dashboard said it is closing still counts as online: long enough for
/// a reloaded page to say hello again, so visitors do not see "away" flash by.
pub fn leaving_grace() -> chrono::Duration {
    chrono::Duration::seconds(10)
}

/// How long a visitor-facing answer is reused: the widget polls every 2 s per visitor, and
/// that should not become a query per poll.
const ANSWER_FRESH_FOR: Duration = Duration::from_secs(2);

/// What this node last saw and published.
#[derive(Debug, Default)]
pub struct AgentPresence {
    /// The team as last published. An async mutex held across the store read and the
    /// publishes, so two refreshes cannot publish their snapshots in the reverse order of
    /// reading them.
    published: tokio::sync::Mutex<Option<Published>>,
    /// The visitor-facing answer. A plain mutex: held for a copy only.
    answer: std::sync::Mutex<Answer>,
}

/// The last visitor-facing answer and when the read that gave it began.
///
/// Stamped with the read's start, not its end, and replaced only by a read that began later:
/// reads are not serialised (visitors' polls do not wait for each other), so one that began
/// before an agent's change can end after the read that followed the change, and must not put
/// the old answer back for the next visitors to be told.
#[derive(Debug, Default)]
struct Answer(Option<(Instant, bool)>);

impl Answer {
    /// The answer, if the read that gave it began less than [`ANSWER_FRESH_FOR`] before `now`.
    fn fresh(&self, now: Instant) -> Option<bool> {
        self.0
            .filter(|(began, _)| now.saturating_duration_since(*began) < ANSWER_FRESH_FOR)
            .map(|(_, online)| online)
    }

    /// Keeps what a read begun at `began` found, unless a later read's answer is here already.
    fn offer(&mut self, began: Instant, online: bool) {
        if self.0.is_none_or(|(kept, _)| kept <= began) {
            self.0 = Some((began, online));
        }
    }
}

#[derive(Debug, PartialEq)]
struct Published {
    /// Per agent: id, availability, online.
    team: Vec<(i64, parley_store::AgentAvailability, bool)>,
    any_online: bool,
}

/// The team at one instant: each agent with whether they count as online.
pub type Team = Vec<(Agent, bool)>;

impl AgentPresence {
    /// Whether any agent is online, as visitors are told (at most [`ANSWER_FRESH_FOR`] old).
    pub async fn visitors_answer(&self, store: &dyn Store) -> Result<bool, ApiError> {
        let cached = self
            .answer
            .lock()
            .expect("presence lock poisoned")
            .fresh(Instant::now());
        if let Some(online) = cached {
            return Ok(online);
        }
        Ok(self
            .read_team(store)
            .await?
            .iter()
            .any(|(_, online)| *online))
    }

    /// Reads the team, publishes what changed since this node's last look (the team to the
    /// agents' channel; whether anyone is online to every listened-to conversation), and
    /// returns it.
    pub async fn refresh(
        &self,
        store: &dyn Store,
        queue: &BroadcastQueue,
        broadcaster: &dyn Broadcaster,
    ) -> Result<Team, ApiError> {
        let mut published = self.published.lock().await;
        let team = self.read_team(store).await?;
        let now = Published {
            team: team
                .iter()
                .map(|(agent, online)| (agent.id, agent.availability, *online))
                .collect(),
            any_online: team.iter().any(|(_, online)| *online),
        };
        if published.as_ref() == Some(&now) {
            return Ok(team);
        }
        let visitors_changed = published.as_ref().map(|p| p.any_online) != Some(now.any_online);
        queue.send(
            vec![payload::AGENTS_CHANNEL.into()],
            payload::AVAILABILITY_EVENT,
            &team_json(&team),
            None,
        );
        if visitors_changed {
            tell_visitors(queue, broadcaster, now.any_online).await;
        }
        *published = Some(now);
        Ok(team)
    }

    async fn read_team(&self, store: &dyn Store) -> Result<Team, ApiError> {
        let began = Instant::now();
        let now = Utc::now();
        let team: Team = store
            .agents()
            .await?
            .into_iter()
            .filter(|agent| agent.revoked_at.is_none())
            .map(|agent| {
                let online = agent.is_online(now, online_window());
                (agent, online)
            })
            .collect();
        let any_online = team.iter().any(|(_, online)| *online);
        self.answer
            .lock()
            .expect("presence lock poisoned")
            .offer(began, any_online);
        Ok(team)
    }
}

/// Publishes `{agents_online}` to every conversation channel someone is listening on, as few
/// events as the channel limit allows. Widgets without a socket learn it by polling.
async fn tell_visitors(queue: &BroadcastQueue, broadcaster: &dyn Broadcaster, any_online: bool) {
    let channels = match broadcaster
        .occupied_channels(payload::CONVERSATION_CHANNEL_PREFIX)
        .await
    {
        Ok(channels) => channels,
        Err(error) => {
            tracing::warn!(%error, "cannot list conversation channels; widgets will learn agent availability by polling");
            return;
        }
    };
    let data = serde_json::json!({ "agents_online": any_online });
    for chunk in channels.chunks(MAX_CHANNELS_PER_EVENT) {
        queue.send(chunk.to_vec(), payload::AVAILABILITY_EVENT, &data, None);
    }
}

/// The team as the agents' channel and `GET /api/agent/agents` show it.
pub fn team_json(team: &Team) -> serde_json::Value {
    let agents: Vec<AgentJson> = team
        .iter()
        .map(|(agent, online)| AgentJson::new(agent, *online))
        .collect();
    let online = team.iter().filter(|(_, online)| *online).count();
    serde_json::json!({ "agents_online": online, "agents": agents })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_began_earlier_does_not_replace_a_later_ones_answer() {
        let start = Instant::now();
        let mut answer = Answer::default();
        // Read A begins (an agent is still online), the agent goes offline, read B begins after
        // the change and ends first; A ends last.
        let (a_began, b_began) = (start, start + Duration::from_millis(5));
        answer.offer(b_began, false);
        answer.offer(a_began, true);
        assert_eq!(answer.fresh(b_began), Some(false));
        // A later read replaces it.
        answer.offer(b_began + Duration::from_millis(1), true);
        assert_eq!(answer.fresh(b_began), Some(true));
    }

    #[test]
    fn an_answer_is_reused_for_its_freshness_counted_from_when_its_read_began() {
        let began = Instant::now();
        let mut answer = Answer::default();
        assert_eq!(answer.fresh(began), None);
        answer.offer(began, true);
        assert_eq!(answer.fresh(began + ANSWER_FRESH_FOR / 2), Some(true));
        assert_eq!(answer.fresh(began + ANSWER_FRESH_FOR), None);
    }
}
