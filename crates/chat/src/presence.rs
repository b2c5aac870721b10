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
use parley_store::Agent;
use tokio_util::sync::CancellationToken;

use crate::{
    broadcast::MAX_CHANNELS_PER_EVENT,
    error::ApiError,
    payload::{self, AgentJson},
    service::ChatService,
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
    /// The visitor-facing answer and when it was read. A plain mutex: held for a copy only.
    answer: std::sync::Mutex<Option<(Instant, bool)>>,
}

#[derive(Debug, PartialEq)]
struct Published {
    /// Per agent: id, availability, online.
    team: Vec<(i64, parley_store::AgentAvailability, bool)>,
    any_online: bool,
}

/// The team at one instant: each agent with whether they count as online.
pub type Team = Vec<(Agent, bool)>;

impl ChatService {
    /// Whether any agent is online, as visitors are told (at most [`ANSWER_FRESH_FOR`] old).
    pub async fn agents_online(&self) -> Result<bool, ApiError> {
        let cached = *self.presence.answer.lock().expect("presence lock poisoned");
        if let Some((read_at, online)) = cached {
            if read_at.elapsed() < ANSWER_FRESH_FOR {
                return Ok(online);
            }
        }
        Ok(self.read_team().await?.iter().any(|(_, online)| *online))
    }

    /// Reads the team, publishes what changed since this node's last look, and returns it.
    pub async fn refresh_presence(&self) -> Result<Team, ApiError> {
        let mut published = self.presence.published.lock().await;
        let team = self.read_team().await?;
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
        self.broadcast(
            payload::AGENTS_CHANNEL.into(),
            payload::AVAILABILITY_EVENT,
            &team_json(&team),
            None,
        );
        if visitors_changed {
            self.tell_visitors(now.any_online).await;
        }
        *published = Some(now);
        Ok(team)
    }

    async fn read_team(&self) -> Result<Team, ApiError> {
        let now = Utc::now();
        let team: Team = self
            .store
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
        *self.presence.answer.lock().expect("presence lock poisoned") =
            Some((Instant::now(), any_online));
        Ok(team)
    }

    /// Publishes `{agents_online}` to every conversation channel someone is listening on, as
    /// few events as the channel limit allows. Widgets without a socket learn it by polling.
    async fn tell_visitors(&self, any_online: bool) {
        let channels = match self
            .broadcaster
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
            self.broadcast_to(chunk.to_vec(), payload::AVAILABILITY_EVENT, &data, None);
        }
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

/// Re-reads the team every `every` until `shutdown`, so a dashboard that went quiet drops out
/// and changes made on other nodes reach this node's listeners.
pub fn spawn_watcher(service: ChatService, every: Duration, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(error) = service.refresh_presence().await {
                tracing::warn!(%error, "could not read agent availability");
            }
        }
    });
}
